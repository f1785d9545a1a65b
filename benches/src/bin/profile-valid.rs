//! A fixed workload for `valgrind --tool=callgrind` (instruction counts do not drift on a
//! shared machine): a parser over the valid corpus message, N times (default 2000), or over
//! the heads of the shared real-mail sample (third argument `real`), or their address fields
//! only (`real-fields`).
//!
//! `profile-valid N ours|mail-parser [valid|real|real-fields]`
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "ours".into());
    let heads = match std::env::args().nth(3).as_deref() {
        Some("real") => benches::real_mail_heads(),
        Some("real-fields") => benches::real_mail_address_fields(),
        _ => vec![benches::valid_message()],
    };
    // A fourth argument `general` turns the one-pass path for common shapes off (before/after).
    let opts = mailaddr::Options {
        general_path_only: std::env::args().nth(4).as_deref() == Some("general"),
        ..mailaddr::Options::DEFAULT
    };
    let mut arena = mailaddr::Arena::new(64 << 10);
    let mut field_arena = mailaddr::Arena::for_limits(&opts.limits);
    let mut total = 0;
    for _ in 0..n {
        for m in &heads {
            total += match which.as_str() {
                "mail-parser" => mail_parser::MessageParser::new()
                    .parse_headers(m)
                    .map_or(0, |x| benches::count_mail_parser(&x)),
                _ => benches::ours(std::hint::black_box(m), &mut arena, &mut field_arena, &opts).0,
            };
        }
    }
    let bytes: usize = heads.iter().map(Vec::len).sum();
    println!("{which}: {bytes} bytes x {n}, answer {total}");
}
