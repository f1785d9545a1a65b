//! The `profile-valid` workload with mail-parser 1.0.1 as the peer, for callgrind and for
//! the clock: `N ours|mail-parser-1|both valid|real-fields|real-values [time]`.
//!
//! Without `time`, runs N passes once and prints the answer (for callgrind: the difference of
//! N passes and zero passes is the work). With `time`, 30 rounds of N passes: for one parser,
//! the best ns per byte; for `both`, each round times ours then mail-parser's, back to back,
//! so that the two see the same machine (this one is shared, and its load changes between
//! runs by more than the difference being measured), and prints each side's best, the ratio
//! of the bests, and the median and range of the 30 rounds' own ratios.
//!
//! `real-fields` gives each parser the heads of the real-mail sample's address fields (the
//! header block is split, then each address field parsed); `real-values` gives it each of
//! those fields' values alone (ours: `parse_address_list` or `parse_path`; mail-parser:
//! `HeaderForm::Addresses.parse`).

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
            _ => Inputs::Heads(vec![benches::valid_message()]),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Inputs::Heads(h) => h.iter().map(Vec::len).sum(),
            Inputs::Values(v) => v.iter().map(|(_, v)| v.len()).sum(),
        }
    }

    /// A pass of these inputs by `which` (`mail-parser-1`, or ours), with its own arenas.
    fn pass<'a>(&'a self, which: &str) -> Pass<'a> {
        let opts = mailaddr::Options::DEFAULT;
        let theirs = which == "mail-parser-1";
        match self {
            Inputs::Heads(heads) if theirs => Box::new(move |total| {
                for m in heads {
                    *total += mail_parser::MessageParser::new()
                        .parse_headers(std::hint::black_box(m))
                        .map_or(0, |x| count(&x));
                }
            }),
            Inputs::Heads(heads) => {
                let mut arena = mailaddr::Arena::new(64 << 10);
                let mut field_arena = mailaddr::Arena::for_limits(&opts.limits);
                Box::new(move |total| {
                    for m in heads {
                        let m = std::hint::black_box(m);
                        *total += benches::ours(m, &mut arena, &mut field_arena, &opts).0;
                    }
                })
            }
            Inputs::Values(values) if theirs => Box::new(move |total| {
                for (_, v) in values {
                    *total += mail_parser::HeaderForm::Addresses
                        .parse(std::hint::black_box(v.as_slice()))
                        .value()
                        .as_address()
                        .map_or(0, |a| a.iter().count());
                }
            }),
            Inputs::Values(values) => {
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
    let mut total = 0;
    if which == "both" {
        let (mut ours, mut theirs) = (inputs.pass("ours"), inputs.pass("mail-parser-1"));
        if !time {
            for _ in 0..n {
                ours(&mut total);
                theirs(&mut total);
            }
            println!("both: {bytes} bytes x {n}, answer {total}");
            return;
        }
        let rounds: Vec<(f64, f64)> = (0..ROUNDS)
            .map(|_| {
                let o = timed(n, bytes, &mut ours, &mut total);
                (o, timed(n, bytes, &mut theirs, &mut total))
            })
            .collect();
        let best = |side: fn(&(f64, f64)) -> f64| rounds.iter().map(side).fold(f64::MAX, f64::min);
        let (o, t) = (best(|r| r.0), best(|r| r.1));
        let mut ratios: Vec<f64> = rounds.iter().map(|(o, t)| t / o).collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "{workload}: ours {o:.3} ns/byte, mail-parser-1 {t:.3} (best of {ROUNDS} rounds of \
             {n} passes over {bytes} bytes, alternated): {:.2}x; the rounds' own ratios: median \
             {:.2}x, {:.2}x-{:.2}x",
            t / o,
            ratios[ROUNDS / 2],
            ratios[0],
            ratios[ROUNDS - 1],
        );
        return;
    }
    let mut pass = inputs.pass(&which);
    if time {
        let best = (0..ROUNDS)
            .map(|_| timed(n, bytes, &mut pass, &mut total))
            .fold(f64::MAX, f64::min);
        println!(
            "{which}: {best:.3} ns/byte (best of {ROUNDS} rounds of {n} passes over {bytes} bytes)"
        );
    } else {
        for _ in 0..n {
            pass(&mut total);
        }
        println!("{which}: {bytes} bytes x {n}, answer {total}");
    }
}
