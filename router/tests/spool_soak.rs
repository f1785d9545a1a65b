//! Concurrency soak (G1, G3): 8 router processes on one postoffice, 20 000 messages submitted
//! while routers are killed with SIGKILL at random and restarted. At the end: 0 lost, 0
//! duplicated, 0 stray files. `SOAK_MESSAGES` and `SOAK_SEED` change the run.

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn start(po: &Po) -> Child {
    Command::new(BIN)
        .arg("-p")
        .arg(&po.root)
        .args([
            "run",
            "--local-domain",
            "local.test",
            "--public-max-age",
            "3600",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start router")
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn eight_routers_twenty_thousand_messages_random_kills() {
    let total: usize = std::env::var("SOAK_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_0001);
    let po = new_po();
    let handle = router::postoffice::Postoffice::open(&po.root).unwrap();
    let mut routers: Vec<Child> = (0..8).map(|_| start(&po)).collect();
    let mut rng = Rng(seed | 1);
    let mut ids = Vec::with_capacity(total);
    let mut kills = 0usize;
    let started = Instant::now();
    let mut next_kill = Instant::now() + Duration::from_millis(30);
    let mut submitted = 0;
    while submitted < total || count(&po.root.join("queue/smtp")) < total {
        // Submit in slices, so kills land while mail is flowing.
        for _ in 0..200.min(total - submitted) {
            let n = submitted;
            let to_local = if n % 2 == 0 {
                format!("to <u{n}@local.test>\n")
            } else {
                String::new()
            };
            let m = format!("from <s@example.org>\nto <u{n}@example.net>\n{to_local}env-end\nSubject: {n}\n\nbody {n}\n");
            ids.push((
                router::submit::publish(&handle, m.as_bytes()).expect("submit"),
                n,
            ));
            submitted += 1;
        }
        if Instant::now() >= next_kill {
            let i = (rng.next() % 8) as usize;
            let _ = routers[i].kill();
            let _ = routers[i].wait();
            routers[i] = start(&po);
            kills += 1;
            next_kill = Instant::now() + Duration::from_millis(20 + rng.next() % 80);
        }
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "soak did not finish: seed {seed}"
        );
    }
    for mut r in routers {
        let _ = r.kill();
        let _ = r.wait();
    }
    // Whatever the last kills left in work/ is recovered by one more pass.
    assert!(router(&po, RUN, &[]).success());
    let elapsed = started.elapsed();

    let mut expected: BTreeSet<String> = BTreeSet::new();
    for (id, n) in &ids {
        expected.insert(format!("queue/smtp/{id}"));
        if n % 2 == 0 {
            expected.insert(format!("queue/local/{id}"));
        }
    }
    let snap = snapshot(&po);
    let have: BTreeSet<String> = snap.keys().cloned().collect();
    let lost: Vec<_> = expected.difference(&have).take(5).collect();
    let stray: Vec<_> = have.difference(&expected).take(5).collect();
    let lost_n = expected.difference(&have).count();
    let stray_n = have.difference(&expected).count();
    for (id, n) in &ids {
        let out = &snap[&format!("queue/smtp/{id}")];
        assert!(
            out.starts_with(format!("id {id}\n").as_bytes())
                && out.ends_with(format!("body {n}\n").as_bytes()),
            "output of {id} is not complete"
        );
    }
    eprintln!(
        "soak: {total} messages, 8 routers, {kills} SIGKILLs, {:.1} s; lost {lost_n}, stray {stray_n}; duplicates are impossible by name (one queue file per id and channel) and checked as content",
        elapsed.as_secs_f64()
    );
    assert!(
        lost.is_empty() && stray.is_empty(),
        "seed {seed}: lost {lost_n} (e.g. {lost:?}), stray {stray_n} (e.g. {stray:?})"
    );
    assert!(kills >= 20, "too few kills ({kills}) to mean anything");
}
