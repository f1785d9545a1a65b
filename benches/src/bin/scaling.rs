//! How the cost per byte grows with the size of two hostile shapes, with every cap but the
//! arena raised: a long list of addresses, and one long local part. Prints ns/byte (best of
//! N runs, so the shared machine's noise is mostly gone), the 1 MiB / 16 KiB ratio, and the
//! arena bytes used per address; mail-parser 0.11 beside on the same bytes.
//!
//! `cargo run --release -p benches --bin scaling`
use std::time::Instant;

fn best_ns_per_byte(input: &[u8], mut f: impl FnMut(&[u8]) -> usize) -> f64 {
    let runs = (64 << 20) / input.len().max(1);
    let mut best = f64::MAX;
    for _ in 0..runs.clamp(5, 400) {
        let t = Instant::now();
        std::hint::black_box(f(std::hint::black_box(input)));
        best = best.min(t.elapsed().as_nanos() as f64);
    }
    best / input.len() as f64
}

/// A shape's generator: the input of about `n` bytes.
type Generator = fn(usize) -> Vec<u8>;

fn main() {
    let opts = mailaddr::Options {
        allow_long_addresses: true,
        ..benches::raised_options()
    };
    let mut arena = mailaddr::Arena::for_limits(&opts.limits);
    let shapes: [(&str, Generator); 2] = [
        ("long-list", |n| {
            let mut v = b"a@example.org, ".repeat(n / 15);
            v.extend_from_slice(b"z@example.org");
            v
        }),
        ("long-local-part", |n| {
            let mut v = b"a".repeat(n.saturating_sub(12));
            v.extend_from_slice(b"@example.org");
            v
        }),
    ];
    for (name, make) in shapes {
        let mut row = Vec::new();
        for size in [16 << 10, 1 << 20] {
            let input = make(size);
            let ours = best_ns_per_byte(&input, |i| {
                arena.reset();
                mailaddr::parse_address_list(i, &arena, &opts).map_or(0, |l| l.len())
            });
            let used = arena.used_bytes();
            let mut head = b"To: ".to_vec();
            head.extend_from_slice(&input);
            head.extend_from_slice(b"\r\n\r\n");
            let peer = best_ns_per_byte(&head, |m| {
                mail_parser::MessageParser::new()
                    .parse_headers(m)
                    .map_or(0, |x| x.headers().len())
            });
            let addresses = input.iter().filter(|&&b| b == b'@').count();
            println!(
                "{name:16} {:>5} KiB: ours {ours:6.2} ns/byte, arena {:6.1} bytes/address; mail-parser {peer:6.2} ns/byte",
                size >> 10,
                used as f64 / addresses as f64
            );
            row.push(ours);
        }
        println!("{name:16} 1 MiB / 16 KiB: {:.2}", row[1] / row[0]);
    }
}
