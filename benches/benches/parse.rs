//! Parser throughput, ours next to mail-parser 0.11 and mailparse in the same groups.
//!
//! Every parser gets the same job: a message head (header block), split into fields, every
//! address field parsed. Each iteration checks its answer (mailboxes found) against the one
//! computed before timing. Arenas are built outside the timing and reset inside, as the
//! router does. `mailaddr` runs with the default limits (what the router does: a 1 MiB field
//! is refused unread); `mailaddr-raised` lifts every cap but the arena to show the worst-case
//! work is linear.
//!
//! Run: `cargo bench -p benches --bench parse`; then `cargo run -p benches --bin bench-report`
//! prints ns/byte and the ratios.

use std::hint::black_box;
use std::time::Duration;

use benches::{ours, raised_options, real_mail_heads, valid_message, SHAPES, SIZES};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mailaddr::{Arena, Options};

fn mail_parser(m: &[u8]) -> usize {
    let Some(msg) = mail_parser::MessageParser::new().parse_headers(m) else {
        return 0;
    };
    msg.headers()
        .iter()
        .filter_map(|h| h.value().as_address())
        .map(|a| a.iter().count())
        .sum()
}

fn mailparse(m: &[u8]) -> usize {
    let Ok((headers, _)) = mailparse::parse_headers(m) else {
        return 0;
    };
    headers
        .iter()
        .filter(|h| mailaddr::AddressField::from_name(&h.get_key()).is_some())
        .filter_map(|h| mailparse::addrparse_header(h).ok())
        .map(|l| {
            l.iter()
                .map(|a| match a {
                    mailparse::MailAddr::Single(_) => 1,
                    mailparse::MailAddr::Group(g) => g.addrs.len(),
                })
                .sum::<usize>()
        })
        .sum()
}

/// A peer parser: message head in, mailboxes found out.
type Peer = fn(&[u8]) -> usize;

fn group(c: &mut Criterion, name: &str, inputs: &[Vec<u8>], with_raised: bool) {
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let mut run_ours = |label: &str, opts: Options| {
        let mut arena = Arena::new(64 << 10);
        let mut field_arena = Arena::for_limits(&opts.limits);
        let expected: Vec<(usize, usize)> = inputs
            .iter()
            .map(|m| ours(m, &mut arena, &mut field_arena, &opts))
            .collect();
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                for (m, want) in inputs.iter().zip(&expected) {
                    let got = ours(black_box(m), &mut arena, &mut field_arena, &opts);
                    assert_eq!(got, *want);
                }
            })
        });
    };
    run_ours("mailaddr", Options::DEFAULT);
    if with_raised {
        run_ours("mailaddr-raised", raised_options());
    }
    let peers: [(&str, Peer); 2] = [("mail-parser", mail_parser), ("mailparse", mailparse)];
    for (label, f) in peers {
        let expected: Vec<usize> = inputs.iter().map(|m| f(m)).collect();
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                for (m, want) in inputs.iter().zip(&expected) {
                    assert_eq!(f(black_box(m)), *want);
                }
            })
        });
    }
    g.finish();
}

fn valid(c: &mut Criterion) {
    group(c, "valid-corpus", &[valid_message()], false);
    let real = real_mail_heads();
    if !real.is_empty() {
        group(c, "real-mail-heads", &real, false);
        // Only the address fields: every parser reads the same address bytes and nothing else.
        group(
            c,
            "real-mail-address-fields",
            &benches::real_mail_address_fields(),
            false,
        );
    }
}

fn malformed(c: &mut Criterion) {
    let only = std::env::var("SHAPES").ok();
    for shape in SHAPES {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|s| s == shape.name))
        {
            continue;
        }
        for (size, label) in SIZES {
            let mut m = b"To: ".to_vec();
            m.extend(shape.generate(*size));
            m.extend_from_slice(b"\r\n\r\n");
            group(c, &format!("malformed/{}/{label}", shape.name), &[m], true);
        }
    }
}

criterion_group!(benches, valid, malformed);
criterion_main!(benches);
