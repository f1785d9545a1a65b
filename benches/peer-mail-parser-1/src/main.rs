//! The `profile-valid` workload with mail-parser 1.0.1 as the peer, for callgrind and for
//! the clock: `N ours|mail-parser-1 valid|real-fields|real-values [time]`. With `time`,
//! prints the best ns per byte of 30 rounds of N passes.
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

fn main() {
    let arg = |i: usize| std::env::args().nth(i);
    let n: usize = arg(1).and_then(|v| v.parse().ok()).unwrap_or(100);
    let which = arg(2).unwrap_or_else(|| "ours".into());
    let time = arg(4).as_deref() == Some("time");
    if arg(3).as_deref() == Some("real-values") {
        return values(n, &which, time);
    }
    let heads = match arg(3).as_deref() {
        Some("real-fields") => benches::real_mail_address_fields(),
        _ => vec![benches::valid_message()],
    };
    let opts = mailaddr::Options::DEFAULT;
    let mut arena = mailaddr::Arena::new(64 << 10);
    let mut field_arena = mailaddr::Arena::for_limits(&opts.limits);
    let mut pass = |total: &mut usize| {
        for m in &heads {
            *total += match which.as_str() {
                "mail-parser-1" => mail_parser::MessageParser::new()
                    .parse_headers(std::hint::black_box(m))
                    .map_or(0, |x| count(&x)),
                _ => benches::ours(std::hint::black_box(m), &mut arena, &mut field_arena, &opts).0,
            };
        }
    };
    let bytes: usize = heads.iter().map(Vec::len).sum();
    report(n, &which, bytes, time, &mut pass);
}

/// The `real-values` workload: every address field's value alone.
fn values(n: usize, which: &str, time: bool) {
    let values = benches::real_mail_address_values();
    let opts = mailaddr::Options::DEFAULT;
    let mut arena = mailaddr::Arena::for_limits(&opts.limits);
    let mut pass = |total: &mut usize| {
        for (kind, v) in &values {
            let v = std::hint::black_box(v.as_slice());
            *total += match which {
                "mail-parser-1" => mail_parser::HeaderForm::Addresses
                    .parse(v)
                    .value()
                    .as_address()
                    .map_or(0, |a| a.iter().count()),
                _ => benches::ours_value(*kind, v, &mut arena, &opts).unwrap_or(0),
            };
        }
    };
    let bytes: usize = values.iter().map(|(_, v)| v.len()).sum();
    report(n, which, bytes, time, &mut pass);
}

/// Runs `pass` N times: once, printing the answer (for callgrind), or 30 rounds, printing the
/// best ns per byte (`time`).
fn report(n: usize, which: &str, bytes: usize, time: bool, pass: &mut dyn FnMut(&mut usize)) {
    let mut total = 0;
    if time {
        let mut best = f64::MAX;
        for _ in 0..30 {
            let t = std::time::Instant::now();
            for _ in 0..n {
                pass(&mut total);
            }
            best = best.min(t.elapsed().as_nanos() as f64 / (n * bytes) as f64);
        }
        println!("{which}: {best:.3} ns/byte (best of 30 rounds of {n} passes over {bytes} bytes)");
    } else {
        for _ in 0..n {
            pass(&mut total);
        }
        println!("{which}: {bytes} bytes x {n}, answer {total}");
    }
}
