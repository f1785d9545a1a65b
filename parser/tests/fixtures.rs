//! Table-driven cases from `fixtures/address_lists.txt`: RFC 5322 Appendix A and the corner
//! cases of the grammar, each an input and its expected canonical value or error.

use mailaddr::{parse_address_list, Arena, Options};

struct Case {
    line: usize,
    input: String,
    expected: String,
}

fn cases() -> Vec<Case> {
    let text = include_str!("fixtures/address_lists.txt");
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix('<') {
            assert!(
                pending.is_none(),
                "line {}: input without expectation",
                i + 1
            );
            let input = rest
                .strip_prefix(' ')
                .unwrap_or(rest)
                .replace("{CRLF}", "\r\n")
                .replace("{CR}", "\r")
                .replace("{LF}", "\n")
                .replace("{NUL}", "\0");
            pending = Some((i + 1, input));
        } else if line.starts_with('>') || line.starts_with('!') {
            let (line_no, input) = pending.take().expect("expectation without input");
            out.push(Case {
                line: line_no,
                input,
                expected: line
                    .replace("{CR}", "\r")
                    .replace("{LF}", "\n")
                    .replace("{NUL}", "\0"),
            });
        }
    }
    assert!(pending.is_none());
    out
}

fn render(input: &str, arena: &Arena) -> String {
    match parse_address_list(input.as_bytes(), arena, &Options::DEFAULT) {
        Ok(list) if list.is_empty() => ">".to_string(),
        Ok(list) => format!("> {list}"),
        Err(e) => format!("! {} @{}", e.kind.name(), e.offset),
    }
}

#[test]
fn fixture_cases() {
    let mut arena = Arena::new(64 * 1024);
    let cases = cases();
    assert!(
        cases.len() > 60,
        "fixture file lost its cases: {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        arena.reset();
        let got = render(&case.input, &arena);
        if got != case.expected {
            failures.push(format!(
                "line {}: {:?}\n   expected {}\n   got      {}",
                case.line, case.input, case.expected, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The printed form of every valid case parses back to the same values.
#[test]
fn canonical_form_round_trips() {
    let arena = Arena::new(64 * 1024);
    let arena2 = Arena::new(64 * 1024);
    for case in cases() {
        let Ok(list) = parse_address_list(case.input.as_bytes(), &arena, &Options::DEFAULT) else {
            continue;
        };
        let printed = list.to_string();
        let again = parse_address_list(printed.as_bytes(), &arena2, &Options::DEFAULT)
            .unwrap_or_else(|e| panic!("line {}: {printed:?} does not reparse: {e}", case.line));
        assert_eq!(printed, again.to_string(), "line {}", case.line);
    }
}
