//! `router parse` through the real binary: the JSON-lines contract of SPEC section 4, the
//! whole valid corpus, every malformed shape, and `--explain`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::Within;

use serde_json::Value;

fn run(args: &[&str], input: &[u8]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .guard();
    let mut stdin = child.0.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.output();
    writer.join().expect("join").expect("write stdin");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8 output"),
    )
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn contract_example() {
    let (code, out) = run(
        &["parse"],
        b"To\t\"Joe Q. Public\" <john.q.public@example.com>, Undisclosed recipients:;\nJoe <\"unclosed@x.y>\n",
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"ok":true,"addresses":[{"kind":"mailbox","name":"Joe Q. Public","local":"john.q.public","domain":"example.com"},{"kind":"group","name":"Undisclosed recipients","members":[]}]}"#
    );
    let err: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(err["ok"], false);
    assert_eq!(err["error"]["kind"], "unbalanced-quote");
    assert_eq!(err["error"]["offset"], 5);
    assert!(err["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

#[test]
fn route_and_return_path() {
    let (_, out) = run(
        &["parse"],
        b"Mary <@node.test,@b.test:mary@example.net>\nReturn-Path\t<>\nReturn-Path\t<a@b.c>\n",
    );
    let v = json_lines(&out);
    assert_eq!(v[0]["addresses"][0]["route"], "@node.test,@b.test");
    assert_eq!(v[1], serde_json::json!({"ok": true, "addresses": []}));
    assert_eq!(v[2]["addresses"][0]["local"], "a");
}

#[test]
fn whole_valid_corpus_parses() {
    let fields = benches::valid_fields(&benches::corpus_dir()).expect("corpus/valid");
    assert!(fields.len() > 40);
    let mut input = Vec::new();
    for (name, value) in &fields {
        if !name.is_empty() {
            input.extend_from_slice(name.as_bytes());
            input.push(b'\t');
        }
        input.extend_from_slice(value);
        input.push(b'\n');
    }
    let (code, out) = run(&["parse"], &input);
    assert_eq!(code, 0);
    let v = json_lines(&out);
    assert_eq!(v.len(), fields.len());
    for (i, line) in v.iter().enumerate() {
        assert_eq!(
            line["ok"],
            true,
            "{:?}: {line}",
            String::from_utf8_lossy(&fields[i].1)
        );
    }
}

/// What each malformed shape gives at 1 KiB, 64 KiB and 1 MiB with the default limits: the
/// fault itself at 1 KiB and 64 KiB (offsets checked against each shape's tail; the per-field
/// caps sit above a header block's worth of real list addresses, so no shape meets one this
/// small), the input cap at 1 MiB. Some "shapes" are valid (a long list, a name of escaped
/// backslashes). Each cap at its limit and one past it: `parser/tests/limits.rs`.
const EXPECTED: &[(&str, [&str; 3])] = &[
    (
        "unbalanced-quote",
        [
            "unbalanced-quote@999",
            "unbalanced-quote@65511",
            "input-too-large@102400",
        ],
    ),
    (
        "unbalanced-quote-early",
        [
            "unbalanced-quote@0",
            "unbalanced-quote@0",
            "input-too-large@102400",
        ],
    ),
    (
        "unbalanced-angle",
        [
            "unbalanced-angle@1008",
            "unbalanced-angle@65520",
            "input-too-large@102400",
        ],
    ),
    (
        "unbalanced-bracket",
        [
            "unbalanced-bracket@1014",
            "unbalanced-bracket@65526",
            "input-too-large@102400",
        ],
    ),
    (
        "unbalanced-paren",
        [
            "unbalanced-paren@1020",
            "unbalanced-paren@65532",
            "input-too-large@102400",
        ],
    ),
    ("deep-comments", ["ok", "ok", "input-too-large@102400"]),
    (
        "deep-comment-open",
        [
            "depth-exceeded@32",
            "depth-exceeded@32",
            "input-too-large@102400",
        ],
    ),
    (
        "deep-angles",
        [
            "unbalanced-angle@0",
            "unbalanced-angle@0",
            "input-too-large@102400",
        ],
    ),
    (
        "deep-groups",
        ["nested-group@4", "nested-group@4", "input-too-large@102400"],
    ),
    ("long-list", ["ok", "ok", "input-too-large@102400"]),
    // A long local part is a length, not a cap: it parses (bounded by the input cap).
    ("quoted-pairs", ["ok", "ok", "input-too-large@102400"]),
    (
        "at-flood",
        [
            "missing-local-part@0",
            "missing-local-part@0",
            "input-too-large@102400",
        ],
    ),
    ("backslash-flood", ["ok", "ok", "input-too-large@102400"]),
    ("encoded-words", ["ok", "ok", "input-too-large@102400"]),
];

#[test]
fn every_malformed_shape_gets_its_typed_error() {
    assert_eq!(EXPECTED.len(), benches::SHAPES.len());
    for (shape, (name, expected)) in benches::SHAPES.iter().zip(EXPECTED) {
        assert_eq!(shape.name, *name);
        let mut input = Vec::new();
        for (size, _) in benches::SIZES {
            input.extend(shape.generate(*size));
            input.push(b'\n');
        }
        let (code, out) = run(&["parse"], &input);
        assert_eq!(code, 0);
        let got: Vec<String> = json_lines(&out)
            .iter()
            .map(|v| match v["ok"].as_bool() {
                Some(true) => "ok".to_string(),
                _ => format!(
                    "{}@{}",
                    v["error"]["kind"].as_str().unwrap(),
                    v["error"]["offset"]
                ),
            })
            .collect();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn explain_puts_a_caret_under_the_offset() {
    let (code, out) = run(
        &["parse", "--explain"],
        b"To\tAnn <ann@x.y>, \"Joe <joe@x.y\n",
    );
    assert_eq!(code, 65, "EX_DATAERR when a line fails");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].contains("error[unbalanced-quote]"), "{out}");
    let text_col = lines[2].find('A').unwrap();
    let caret_col = lines[3].find('^').unwrap();
    assert_eq!(caret_col - text_col, 15, "{out}");
    let (code, _) = run(&["parse", "--explain"], b"a@b.c\n");
    assert_eq!(code, 0);
}

/// The interoperability lengths are not errors (RFC 5322 sets none): a VERP-style local part
/// of 83 octets and a domain of 256 parse, whole, as do their quoted and Return-Path forms;
/// `--explain` says which RFC 5321 length each crosses.
#[test]
fn long_local_parts_and_domains_parse_and_explain_says_so() {
    let local = format!("list-bounces+{}=example.org", "u".repeat(58));
    let domain = format!("{}.example", "d".repeat(248));
    assert_eq!((local.len(), domain.len()), (83, 256));
    let input = format!(
        "{local}@lists.example.net\nReturn-Path\t<{local}@lists.example.net>\nx@{domain}\n\"{local} x\"@y.z\n"
    );
    let (code, out) = run(&["parse"], input.as_bytes());
    assert_eq!(code, 0);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    for v in &lines {
        assert_eq!(v["ok"], true, "{v}");
    }
    assert_eq!(lines[0]["addresses"][0]["local"], local.as_str());
    assert_eq!(lines[1]["addresses"][0]["local"], local.as_str());
    assert_eq!(lines[2]["addresses"][0]["domain"], domain.as_str());
    assert_eq!(
        lines[3]["addresses"][0]["local"],
        format!("\"{local} x\"").as_str()
    );
    let (code, out) = run(&["parse", "--explain"], input.as_bytes());
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.matches("local part of 83 bytes, over RFC 5321's 64")
            .count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.matches("domain of 256 bytes, over RFC 5321's 255")
            .count(),
        1,
        "{out}"
    );
    assert_eq!(out.matches("local part of 87 bytes").count(), 1, "{out}");
}
