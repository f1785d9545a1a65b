//! Durable routing throughput, next to the no-fsync ceiling on the same disk, in one run.
//!
//! `cargo run --release -p benches --bin spool-bench [DIR] [MESSAGES] [ROUNDS] [BATCH]`
//! DIR (default: a fresh directory under target/) must be on the disk to measure.
//!
//! - ceiling: per message, create a file, write the bytes one channel output takes, rename it
//!   into another directory; no fsync at all. What the disk gives with no durability.
//! - routed: `runner::run_once` on a postoffice holding the same number of messages, each to
//!   one channel: claim, attempt counter, read, parse, stage, plan, publish, clean up, with the
//!   batch's four syncfs calls (group commit) for full durability.
//!
//! Each is run ROUNDS times (default 3), alternating; the median of each is reported.

use router::core::message::Outcome;
use router::spool::batch::{Event, Route, Routed};
use router::spool::seam::Step;
use std::time::Instant;

fn message(i: usize) -> Vec<u8> {
    format!("from <sender@example.org>\nto <rcpt{i}@example.net>\nenv-end\nFrom: Sender <sender@example.org>\nTo: <rcpt{i}@example.net>\nSubject: message {i}\n\n{}\n", "body line\n".repeat(100)).into_bytes()
}

/// The routing core as the batch's router, without a log (the log is not what is measured).
struct Quiet<'a> {
    arena: mailaddr::Arena,
    processor: &'a router::core::message::Processor,
}

impl Route for Quiet<'_> {
    fn route(&mut self, id: &str, _: &router::spool::seam::Meta, bytes: &[u8]) -> Routed {
        match self.processor.process(id, bytes, &mut self.arena).outcome {
            Outcome::Route(o) => Routed::Outputs(o),
            Outcome::Control { control, channels } => Routed::Control { control, channels },
            Outcome::Park(r) => Routed::Park(r),
        }
    }
    fn event(&mut self, _: Event<'_>) {}
}

fn routed(dir: &std::path::Path, n: usize, batch: usize) -> (f64, usize) {
    let root = dir.join("po");
    let _ = std::fs::remove_dir_all(&root);
    router::spool::Postoffice::init(&root).unwrap();
    for i in 0..n {
        std::fs::write(root.join("router").join(format!("{:08}", i)), message(i)).unwrap();
    }
    let po = router::spool::Postoffice::open(&root).unwrap();
    // The setup's writes are flushed before the clock starts, or the first timed sync would
    // pay for them.
    po.fs.syncfs(Step::S1, &po.router).unwrap();
    let mut s =
        router::process::pass::Settings::from_config(&router::config::Config::default()).unwrap();
    s.batch.batch_messages_max = batch;
    let mut route = Quiet {
        arena: s.processor.arena(),
        processor: &s.processor,
    };
    let t = Instant::now();
    let (pass, r) =
        router::spool::batch::pass(&po, &s.batch, &mut route, &|| false, &mut Vec::new());
    r.unwrap();
    let rate = n as f64 / t.elapsed().as_secs_f64();
    assert_eq!(pass.routed, n, "every message routed");
    let out_len = std::fs::metadata(root.join("queue/smtp/00000000"))
        .unwrap()
        .len() as usize;
    (rate, out_len)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/spool-bench")
        });
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(5000);
    let rounds: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(3);
    let batch: usize = args
        .get(4)
        .and_then(|v| v.parse().ok())
        .unwrap_or(router::limits::BATCH_MESSAGES_MAX);
    std::fs::create_dir_all(&dir).unwrap();
    let (mut c, mut r) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (rate, out_len) = routed(&dir, n, batch);
        r.push(rate);
        c.push(benches::ceilings(&dir, n, out_len).0);
    }
    let (c, r) = (benches::median(c), benches::median(r));
    println!(
        "dir {} ({n} messages, batch {batch}, median of {rounds})",
        dir.display()
    );
    println!("no-fsync ceiling (create+write+rename): {c:>10.0} msg/s");
    println!("routed, fully durable (group commit):   {r:>10.0} msg/s");
    println!("ratio: {:.0} % of the ceiling", 100.0 * r / c);
}
