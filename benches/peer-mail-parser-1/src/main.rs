//! The `profile-valid` workload with mail-parser 1.0.1 as the peer, for callgrind and for
//! the clock: `N ours|mail-parser-1 valid|real-fields [time]`. With `time`, prints the best
//! ns per byte of 30 rounds of N passes.
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
    let mut total = 0;
    if arg(4).as_deref() == Some("time") {
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
