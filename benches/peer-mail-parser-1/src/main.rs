//! The `profile-valid` workload with mail-parser 1.0.1 and 0.11 as the peers, for callgrind
//! and for the clock: `N ours|mail-parser-1|mail-parser-0.11|both|all valid|real-fields|real-values [time]`.
//!
//! Without `time`, runs N passes once and prints the answer (for callgrind: the difference of
//! N passes and zero passes is the work). With `time`, 30 rounds of N passes: for one parser,
//! the best ns per byte; for `both` (ours and mail-parser 1.0.1) or `all` (and 0.11), each
//! round times the parsers back to back, so that they see the same machine (this one is
//! shared, and its load changes between runs by more than the difference being measured),
//! and prints each one's best, and for each peer the ratio of the bests and the median and
//! range of the 30 rounds' own ratios.
//!
//! `real-fields` gives each parser the heads of the real-mail sample's address fields (the
//! header block is split, then each address field parsed); `real-values` gives it each of
//! those fields' values alone (ours: `parse_address_list` or `parse_path`; mail-parser 1.0.1:
//! `HeaderForm::Addresses.parse`; 0.11: `MessageStream::parse_address`).

/// What `benches::ours` counts, the same way: every address of every address field, found by
/// walking the result (`benches::count_mail_parser` for mail-parser 0.11).
fn count(m: &mail_parser::Message<'_>) -> usize {
    m.headers()
        .iter()
        .filter_map(|h| h.value().as_address())
        .map(|a| a.iter().count())
        .sum()
}

/// One pass of a workload by one parser, adding what it found to the total.
type Pass<'a> = Box<dyn FnMut(&mut usize) + 'a>;

/// The inputs of a workload: message heads, or values with their field kinds.
enum Inputs {
    Heads(Vec<Vec<u8>>),
    Values(Vec<(mailaddr::AddressField, Vec<u8>)>),
}

impl Inputs {
    fn load(workload: &str) -> Inputs {
        match workload {
            "real-values" => Inputs::Values(benches::real_mail_address_values()),
            "real-fields" => Inputs::Heads(benches::real_mail_address_fields()),
            "valid" => Inputs::Heads(vec![benches::valid_message()]),
            other => benches::refuse(&format!(
                "no workload {other}: valid, real-fields or real-values"
            )),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Inputs::Heads(h) => h.iter().map(Vec::len).sum(),
            Inputs::Values(v) => v.iter().map(|(_, v)| v.len()).sum(),
        }
    }

    /// A pass of these inputs by `which` (`mail-parser-1`, `mail-parser-0.11`, or ours),
    /// with its own arenas.
    fn pass<'a>(&'a self, which: &str) -> Pass<'a> {
        let opts = mailaddr::Options::DEFAULT;
        match (self, which) {
            (Inputs::Heads(heads), "mail-parser-1") => Box::new(move |total| {
                for m in heads {
                    *total += mail_parser::MessageParser::new()
                        .parse_headers(std::hint::black_box(m))
                        .map_or(0, |x| count(&x));
                }
            }),
            (Inputs::Heads(heads), "mail-parser-0.11") => Box::new(move |total| {
                for m in heads {
                    *total += benches::mail_parser_011_head(std::hint::black_box(m));
                }
            }),
            (Inputs::Heads(heads), _) => {
                let mut arena = mailaddr::Arena::new(64 << 10);
                let mut field_arena = mailaddr::Arena::for_limits(&opts.limits);
                Box::new(move |total| {
                    for m in heads {
                        let m = std::hint::black_box(m);
                        *total += benches::ours(m, &mut arena, &mut field_arena, &opts).0;
                    }
                })
            }
            (Inputs::Values(values), "mail-parser-1") => Box::new(move |total| {
                for (_, v) in values {
                    *total += mail_parser::HeaderForm::Addresses
                        .parse(std::hint::black_box(v.as_slice()))
                        .value()
                        .as_address()
                        .map_or(0, |a| a.iter().count());
                }
            }),
            (Inputs::Values(values), "mail-parser-0.11") => Box::new(move |total| {
                for (_, v) in values {
                    *total += benches::mail_parser_011_value(std::hint::black_box(v.as_slice()));
                }
            }),
            (Inputs::Values(values), _) => {
                let mut arena = mailaddr::Arena::for_limits(&opts.limits);
                Box::new(move |total| {
                    for (kind, v) in values {
                        let v = std::hint::black_box(v.as_slice());
                        *total += benches::ours_value(*kind, v, &mut arena, &opts).unwrap_or(0);
                    }
                })
            }
        }
    }
}

const ROUNDS: usize = 30;

/// N passes timed: ns per byte.
fn timed(n: usize, bytes: usize, pass: &mut Pass<'_>, total: &mut usize) -> f64 {
    let t = std::time::Instant::now();
    for _ in 0..n {
        pass(total);
    }
    t.elapsed().as_nanos() as f64 / (n * bytes) as f64
}

fn main() {
    let arg = |i: usize| std::env::args().nth(i);
    let n: usize = arg(1).and_then(|v| v.parse().ok()).unwrap_or(100);
    let which = arg(2).unwrap_or_else(|| "ours".into());
    let workload = arg(3).unwrap_or_else(|| "valid".into());
    let time = arg(4).as_deref() == Some("time");
    let inputs = Inputs::load(&workload);
    let bytes = inputs.bytes();
    let sides: &[&str] = match which.as_str() {
        "both" => &["ours", "mail-parser-1"],
        "all" => &["ours", "mail-parser-1", "mail-parser-0.11"],
        one @ ("ours" | "mail-parser-1" | "mail-parser-0.11") => &[one][..],
        other => benches::refuse(&format!(
            "no parser {other}: ours, mail-parser-1, mail-parser-0.11, both or all"
        )),
    };
    let mut passes: Vec<Pass<'_>> = sides.iter().map(|w| inputs.pass(w)).collect();
    let mut total = 0;
    if !time {
        for _ in 0..n {
            for pass in &mut passes {
                pass(&mut total);
            }
        }
        println!("{which}: {bytes} bytes x {n}, answer {total}");
        return;
    }
    // Each round: every side's ns per byte, back to back.
    let rounds: Vec<Vec<f64>> = (0..ROUNDS)
        .map(|_| {
            let mut round = Vec::new();
            for pass in &mut passes {
                round.push(timed(n, bytes, pass, &mut total));
            }
            round
        })
        .collect();
    let best = |side: usize| rounds.iter().map(|r| r[side]).fold(f64::MAX, f64::min);
    let mut line = format!(
        "{workload}: best of {ROUNDS} rounds of {n} passes over {bytes} bytes{}: ",
        if sides.len() > 1 { ", alternated" } else { "" }
    );
    let bests: Vec<String> = (0..sides.len())
        .map(|k| format!("{} {:.3} ns/byte", sides[k], best(k)))
        .collect();
    line += &bests.join(", ");
    for (k, peer) in sides.iter().enumerate().skip(1) {
        let mut ratios: Vec<f64> = rounds.iter().map(|r| r[k] / r[0]).collect();
        ratios.sort_by(f64::total_cmp);
        line += &format!(
            "; {peer}/ours {:.2}x (the rounds' own ratios: median {:.2}x, {:.2}x-{:.2}x)",
            best(k) / best(0),
            ratios[ROUNDS / 2],
            ratios[0],
            ratios[ROUNDS - 1],
        );
    }
    println!("{line}");
}
