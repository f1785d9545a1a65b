//! End-to-end: `router run --once` on a postoffice of N messages (default 20 000), timed
//! from start to exit, with full durability (the runner's group commit: four syncfs per
//! batch of 64).
//!
//! `cargo run --release -p benches --bin run-once-bench [DIR] [N] [WORKERS] [ROUNDS]`
//!
//! DIR (default: a fresh directory under target/) must be on the disk to measure; the
//! messages cycle through the demo's corpus mix (`router::corpus::corpus_messages`: 62 valid,
//! 42 hostile), each under its own id, with the corpus tables. The same postoffice is routed
//! three ways, each from a fresh copy: the supervisor with WORKERS (default 2) workers, the
//! supervisor with one worker, and `--inline` (one process, no supervisor), so the cost of
//! the process model shows next to the work itself. ROUNDS (default 3) rounds, the order of
//! the three rotated each round (on a shared disk the run after a large delete is slowed by
//! the file system's own writeback); the median of each is reported with all the figures, and
//! the median CPU per message (the router's processes, reaped: /proc/self/stat).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/run-once-bench"));
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let workers: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(2);
    let rounds: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(3);
    let bin = benches::release_router();
    let corpus = benches::corpus_dir();
    let msgs = router::corpus::corpus_messages(&corpus).expect("corpus");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = router::corpus::corpus_config(&corpus, &dir).expect("tables");
    let bytes: usize = (0..n).map(|i| msgs[i % msgs.len()].bytes.len()).sum();
    println!(
        "{n} messages ({:.1} MB, cycling {} corpus messages), dir {}",
        bytes as f64 / 1e6,
        msgs.len(),
        dir.display()
    );
    let modes: Vec<(String, Vec<String>)> = vec![
        (
            format!("supervisor, {workers} workers"),
            vec!["--workers".to_string(), workers.to_string()],
        ),
        (
            "supervisor, 1 worker".to_string(),
            vec!["--workers".into(), "1".into()],
        ),
        (
            "--inline (one process)".to_string(),
            vec!["--inline".into()],
        ),
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut cpus: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut last_summary = vec![String::new(); modes.len()];
    for round in 0..rounds {
        for k in 0..modes.len() {
            let m = (k + round) % modes.len();
            let (rate, cpu, summary) = run(&dir, &bin, &mut c, &msgs, n, &modes[m].1);
            rates[m].push(rate);
            cpus[m].push(cpu);
            last_summary[m] = summary;
        }
    }
    for (m, (label, _)) in modes.iter().enumerate() {
        let all: Vec<String> = rates[m].iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "{label:<28} {:>8.0} msgs/s median (all: {}), {:.3} ms CPU per message  {}",
            benches::median(rates[m].clone()),
            all.join(", "),
            benches::median(cpus[m].clone()),
            last_summary[m]
        );
    }
}

fn run(
    dir: &Path,
    bin: &Path,
    c: &mut router::config::Config,
    msgs: &[router::corpus::CorpusMessage],
    n: usize,
    extra: &[String],
) -> (f64, f64, String) {
    let root = dir.join("po");
    let _ = std::fs::remove_dir_all(&root);
    router::spool::Postoffice::init(&root).unwrap();
    for i in 0..n {
        std::fs::write(
            root.join("router").join(format!("m{i:06}")),
            &msgs[i % msgs.len()].bytes,
        )
        .unwrap();
    }
    c.postoffice = root.clone();
    let cfg = dir.join("router.toml");
    std::fs::write(
        &cfg,
        format!(
            "postoffice = {:?}\n[routing]\nlocal_domains = [\"example.org\"]\naliases = {:?}\ntransport = {:?}\n",
            c.postoffice, c.routing.aliases, c.routing.transport
        ),
    )
    .unwrap();
    // The setup's writes (and the last round's deletes) are flushed before the clock starts.
    let po = router::spool::Postoffice::open(&root).unwrap();
    {
        use router::spool::seam::Step;
        po.fs.syncfs(Step::S1, &po.router).unwrap();
    }
    let (t, cpu0) = (Instant::now(), benches::children_cpu());
    let out = Command::new(bin)
        .arg("-c")
        .arg(&cfg)
        .args(["run", "--once"])
        .args(extra)
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let cpu = benches::children_cpu() - cpu0;
    assert!(out.status.success());
    let left = std::fs::read_dir(root.join("router")).unwrap().count();
    assert_eq!(left, 0, "messages left in router/");
    (
        n as f64 / secs,
        cpu * 1000.0 / n as f64,
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}
