//! The routing hot path, in memory: envelope and headers parsed, every recipient routed
//! through the corpus tables (aliases, transport), the channel outputs built. This is
//! `Processor::process`, what a worker runs per message between reading the file and
//! staging the outputs. No file system.
//!
//! Inputs are the demo's messages (`router::corpus::corpus_messages`): "valid" is
//! corpus/messages and corpus/valid (62 messages, most routed, a few parked by rule),
//! "malformed" is corpus/malformed (42 hostile messages, most parked). For scale, the same
//! messages' header blocks parsed by mail-parser 0.11 (`parse_headers`, no routing, no output)
//! run in the same group.
//!
//! Run: `cargo bench -p benches --bench route`; messages per second is criterion's
//! "thrpt" (elements/s).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use router::core::message::{Outcome, Processor};
use router::corpus::{corpus_config, corpus_messages, Class};

fn bench(c: &mut Criterion) {
    let corpus = benches::corpus_dir();
    let tables = tempfile::tempdir().expect("tempdir");
    let config = corpus_config(&corpus, tables.path()).expect("corpus tables");
    let p = Processor::from_config(&config, &router::process::tables::Files).expect("tables load");
    let all = corpus_messages(&corpus).expect("corpus");
    for (name, pick) in [
        ("route/valid", &[Class::Rules, Class::Valid][..]),
        ("route/malformed", &[Class::Malformed][..]),
    ] {
        let msgs: Vec<&[u8]> = all
            .iter()
            .filter(|m| pick.contains(&m.class))
            .map(|m| m.bytes.as_slice())
            .collect();
        let mut arena = p.arena();
        // The answer every timed iteration must give again.
        let count = |arena: &mut mailaddr::Arena| {
            msgs.iter()
                .map(|m| match p.process("bench", m, arena).outcome {
                    Outcome::Route(o) => o.len(),
                    Outcome::Control { channels, .. } => channels.len(),
                    Outcome::Park(_) => 1000,
                })
                .sum::<usize>()
        };
        let expected = count(&mut arena);
        let heads: Vec<&[u8]> = msgs
            .iter()
            .map(|m| match memchr::memmem::find(m, b"env-end\n") {
                Some(i) => &m[i + 8..],
                None => m,
            })
            .collect();
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(msgs.len() as u64));
        g.sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        g.bench_function("router-process", |b| {
            b.iter(|| assert_eq!(black_box(count(&mut arena)), expected))
        });
        g.bench_function("mail-parser-headers-only", |b| {
            b.iter(|| {
                heads
                    .iter()
                    .map(|h| {
                        mail_parser::MessageParser::new()
                            .parse_headers(black_box(*h))
                            .map_or(0, |m| m.headers().len())
                    })
                    .sum::<usize>()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
