//! ZMailer's router and this router side by side, in one run, on the same messages in ZMailer's
//! `po/router/` (research-grade; needs root and a ZMailer build, see docs/zmailer.md).
//!
//! `cargo run --release -p benches --bin zmailer-side-by-side [PREFIX] [N] [ROUNDS]`
//!
//! PREFIX (default `$ZMAILER_PREFIX`, else `/var/tmp/zmailer-router-interop`) is a build of
//! `../shared/interop/zmailer/build.sh`; its pipeline is brought down so that no scheduler
//! takes the output away. Each round writes N (default 5 000) messages into `po/router/` as
//! ZMailer's smtpserver does (owner daemon, mode 0600, named by inode number), each to one
//! local and one remote recipient, ~900 bytes (the pipeline's "both" kind), then routes them
//! with one router and counts until `po/router/` is empty and N control files are in
//! `transport/`:
//! - ZMailer's router as its pipeline runs it, a daemon with 2 children (`router -dWkn 2`),
//!   CPU from /proc for its process group;
//! - this router, `router run --once` with 2 workers in ZMailer mode, CPU from `getrusage`
//!   of its children (the supervisor and its workers).
//!
//! Both are durable per message (ZMailer fsyncs each control file; this router syncs per
//! batch). ROUNDS (default 3) rounds with the order alternated; medians reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prefix = args.get(1).map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("ZMAILER_PREFIX")
            .map_or_else(|| "/var/tmp/zmailer-router-interop".into(), PathBuf::from)
    });
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let rounds: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(3);
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/router");
    assert!(
        bin.exists(),
        "build the router first: cargo build --release -p router"
    );
    assert!(
        prefix.join(".zmailer-build.stamp").is_file(),
        "no ZMailer build at {} (../shared/interop/zmailer/build.sh PREFIX)",
        prefix.display()
    );
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop/zmailer");
    let _ = Command::new(shared.join("pipeline.sh"))
        .arg(&prefix)
        .arg("down")
        .stdout(Stdio::null())
        .status();
    let work = tempfile::tempdir().unwrap();
    let cfg = configure(&prefix, work.path(), &bin);
    let mut results: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for k in 0..2 {
            let who = (k + round) % 2;
            clean(&prefix);
            fill(&prefix, n);
            let (secs, cpu) = if who == 0 {
                zmailer(&prefix, n)
            } else {
                ours(&prefix, &bin, &cfg, n)
            };
            println!(
                "round {round}: {:<22} {n} messages in {secs:.2} s: {:.0} msg/s, {:.3} ms CPU per message",
                label(who),
                n as f64 / secs,
                cpu * 1000.0 / n as f64
            );
            results[who].push((n as f64 / secs, cpu * 1000.0 / n as f64));
        }
    }
    clean(&prefix);
    println!();
    let mut medians = Vec::new();
    for (who, r) in results.iter().enumerate() {
        let mut rate: Vec<f64> = r.iter().map(|x| x.0).collect();
        let mut cpu: Vec<f64> = r.iter().map(|x| x.1).collect();
        rate.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let (mr, mc) = (rate[rate.len() / 2], cpu[cpu.len() / 2]);
        medians.push((mr, mc));
        println!(
            "{:<22} median {mr:>6.0} msg/s, {mc:.3} ms CPU per message (rounds: {})",
            label(who),
            r.iter()
                .map(|x| format!("{:.0}", x.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "this router / ZMailer's: {:.2}x the messages per second, {:.2}x less CPU per message",
        medians[1].0 / medians[0].0,
        medians[0].1 / medians[1].1
    );
}

fn label(who: usize) -> &'static str {
    ["ZMailer's router (2)", "this router (2)"][who]
}

fn configure(prefix: &Path, dir: &Path, bin: &Path) -> PathBuf {
    std::fs::write(
        dir.join("aliases"),
        "postmaster: root\nMAILER-DAEMON: root\n",
    )
    .unwrap();
    std::fs::write(dir.join("transport"), "sink.test smtp:[127.0.0.1]\n").unwrap();
    let cfg = dir.join("router.toml");
    std::fs::write(
        &cfg,
        format!(
            "workers = 2\n[routing]\nlocal_domains = [\"zm.test\", \"mx.zm.test\", \"localhost\"]\n\
             aliases = \"aliases\"\ntransport = \"transport\"\n\
             [zmailer]\nenabled = true\nzconfig = \"{}\"\nhostname = \"mx.zm.test\"\n",
            prefix.join("zmailer.conf").display()
        ),
    )
    .unwrap();
    let st = Command::new(bin)
        .args(["init", "--zmailer"])
        .arg(prefix.join("po"))
        .status()
        .unwrap();
    assert!(st.success());
    cfg
}

fn remove_files_below(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => remove_files_below(&e.path()),
            Ok(_) => {
                let _ = std::fs::remove_file(e.path());
            }
            Err(_) => {}
        }
    }
}

fn count_files(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

fn clean(prefix: &Path) {
    for d in [
        "router",
        "transport",
        "queue",
        "deferred",
        "postman",
        "work",
    ] {
        remove_files_below(&prefix.join("po").join(d));
    }
    // Let the file system's writeback of the deletes settle before the next timed run.
    let _ = Command::new("sync").status();
}

/// N messages into po/router/, as smtpserver writes them.
fn fill(prefix: &Path, n: usize) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let router = prefix.join("po/router");
    let daemon = router::accounts::id_of("daemon", Path::new(router::accounts::PASSWD))
        .expect("a daemon user");
    for i in 0..n {
        let m = format!(
            "external\nrcvdfrom localhost ([127.0.0.1]:40064 \"ehlo client.example\" rhost-flags-OK-OK-OK-FAIL)\n\
             with ESMTP\nfrom <root@zm.test>\n\
             todsn NOTIFY=FAILURE,DELAY ORCPT=rfc822;postmaster@zm.test\nto <postmaster@zm.test>\n\
             todsn NOTIFY=FAILURE,DELAY ORCPT=rfc822;carol@sink.test\nto <carol@sink.test>\nenv-end\n\
             From: \"ZM test\" <root@zm.test>\nTo: postmaster@zm.test, Carol <carol@sink.test>\n\
             Subject: side by side {i}\nDate: Mon, 30 Nov 2026 05:10:30 -0000\n\
             Message-ID: <bench-{i}@client.example>\n\n\
             This is test message {i}, kind both.\n.A line that starts with a dot.\nLast line.\n"
        );
        let tmp = router.join(".bench-tmp");
        std::fs::write(&tmp, m).unwrap();
        std::os::unix::fs::chown(&tmp, Some(daemon), None).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ino = std::fs::metadata(&tmp).unwrap().ino();
        std::fs::rename(&tmp, router.join(ino.to_string())).unwrap();
    }
    let _ = Command::new("sync").status();
}

/// Waits until router/ is empty and `n` control files are in transport/.
fn wait_done(prefix: &Path, n: usize, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if count_files(&prefix.join("po/router")) == 0
            && count_files(&prefix.join("po/transport")) >= n
        {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "not done after {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn zmailer(prefix: &Path, n: usize) -> (f64, f64) {
    let po = prefix.join("po");
    let _ = std::fs::remove_file(po.join(".pid.router"));
    let start = Instant::now();
    let st = Command::new(prefix.join("bin/router"))
        .arg("-dWkn")
        .arg("2")
        .current_dir(&po)
        .env("ZCONFIG", prefix.join("zmailer.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    wait_done(prefix, n, Duration::from_secs(600));
    let secs = start.elapsed().as_secs_f64();
    let pgid = std::fs::read_to_string(po.join(".pid.router")).unwrap();
    let cpu = group_cpu(pgid.trim());
    // ZMailer's router calls setsid: its pid is its group's, and its children are in it.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", pgid.trim())])
        .status();
    std::thread::sleep(Duration::from_millis(300));
    (secs, cpu)
}

fn ours(prefix: &Path, bin: &Path, cfg: &Path, n: usize) -> (f64, f64) {
    let before = children_cpu();
    let start = Instant::now();
    let st = Command::new(bin)
        .arg("-c")
        .arg(cfg)
        .args(["run", "--once"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let secs = start.elapsed().as_secs_f64();
    wait_done(prefix, n, Duration::from_secs(1));
    (secs, children_cpu() - before)
}

/// The sum of fields `at` (counted from the state field, 0) of a `/proc/<pid>/stat` text, and
/// its process group.
fn stat_fields(stat: &str, at: &[usize]) -> (u64, String) {
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let sum = at
        .iter()
        .filter_map(|&i| f.get(i).and_then(|t| t.parse::<u64>().ok()))
        .sum();
    (sum, f.get(2).unwrap_or(&"").to_string())
}

/// CPU seconds of the processes in a process group (utime, stime, and the children's they
/// reaped), from /proc.
fn group_cpu(pgid: &str) -> f64 {
    let mut ticks = 0u64;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let (t, group) = stat_fields(&stat, &[11, 12, 13, 14]);
        if group == pgid {
            ticks += t;
        }
    }
    ticks as f64 / 100.0
}

/// CPU seconds of this process's reaped children (cutime and cstime of /proc/self/stat).
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    stat_fields(&stat, &[13, 14]).0 as f64 / 100.0
}
