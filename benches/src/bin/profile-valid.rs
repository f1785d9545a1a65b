//! A fixed workload for `valgrind --tool=callgrind` (instruction counts do not drift on a
//! shared machine): our parser over the valid corpus message, N times (default 2000).
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "ours".into());
    let m = benches::valid_message();
    let opts = mailaddr::Options::DEFAULT;
    let mut arena = mailaddr::Arena::new(64 << 10);
    let mut field_arena = mailaddr::Arena::for_limits(&opts.limits);
    let mut total = 0;
    for _ in 0..n {
        total += match which.as_str() {
            "mail-parser" => mail_parser::MessageParser::new()
                .parse_headers(&m)
                .map_or(0, |x| x.headers().len()),
            _ => {
                benches::ours(
                    std::hint::black_box(&m),
                    &mut arena,
                    &mut field_arena,
                    &opts,
                )
                .0
            }
        };
    }
    println!("{which}: {} bytes x {n}, answer {total}", m.len());
}
