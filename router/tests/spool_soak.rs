//! Concurrency soak (G1, G3): 8 router processes on one postoffice, 20 000 messages submitted
//! while routers are killed with SIGKILL at random and restarted. At the end: 0 lost, 0
//! duplicated, 0 stray files. A message whose router is killed `max_attempts` times is parked
//! (G6 cannot tell an outside kill from a message that kills its router): such messages are
//! counted and must be in deferred/ with `attempts-exhausted`, none of their outputs
//! published. The channel agents are played by the test, consuming outputs as they appear, so
//! a message routed twice would be seen twice. `SOAK_MESSAGES`, `SOAK_SEED`, `SOAK_TIMEOUT`.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The soak's configuration: `max_attempts` far above the number of kills any one message
/// can meet, so that every message must end routed. A parked message is then a failure (a
/// router that parked after one attempt, or charged a kill to the wrong message, is caught),
/// not an outcome to count as accounted for. G6's parking is tested where the killer is
/// known (seeds.rs 004, router_e2e.rs).
fn soak_config(po: &Po) -> std::path::PathBuf {
    let cfg = po._tmp.path().join("soak.toml");
    std::fs::write(
        &cfg,
        format!(
            "postoffice = {:?}
[limits]
max_attempts = 1000
",
            po.root
        ),
    )
    .unwrap();
    cfg
}

fn start(po: &Po) -> Guard {
    Command::new(BIN)
        .arg("-c")
        .arg(soak_config(po))
        .arg("-p")
        .arg(&po.root)
        .args([
            "run",
            "--inline",
            "--local-domain",
            "local.test",
            "--public-max-age",
            "3600",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .guard()
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

/// Plays the channel agents: reads and removes every output, counting each (channel, id).
/// A message routed twice would be counted twice here, even after its first copy was gone.
fn consume(po: &Po, seen: &mut BTreeMap<String, usize>) {
    for ch in ["smtp", "local"] {
        let Ok(rd) = std::fs::read_dir(po.root.join("queue").join(ch)) else {
            continue;
        };
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(e.path()).expect("read output");
            assert!(
                bytes.starts_with(format!("id {id}\n").as_bytes()),
                "output {ch}/{id} is not complete"
            );
            std::fs::remove_file(e.path()).unwrap();
            *seen.entry(format!("{ch}/{id}")).or_default() += 1;
        }
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
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
    let handle = router::spool::submit::Dropbox::open(&po.root).unwrap();
    let mut routers: Vec<Guard> = (0..8).map(|_| start(&po)).collect();
    let mut rng = Rng(seed | 1);
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let (mut kills, mut kills_mid_work) = (0usize, 0usize);
    let started = Instant::now();
    let mut next_kill = Instant::now() + Duration::from_millis(20);
    let mut next_submit = Instant::now();
    let mut submitted = 0;
    loop {
        // Submit in small slices, paced, so kills land while mail is flowing.
        if submitted < total && Instant::now() >= next_submit {
            for _ in 0..20.min(total - submitted) {
                let n = submitted;
                let to_local = if n % 2 == 0 {
                    format!("to <u{n}@local.test>\n")
                } else {
                    String::new()
                };
                let m = format!("from <s@example.org>\nto <u{n}@example.net>\n{to_local}env-end\nSubject: {n}\n\nbody {n}\n");
                let id = router::spool::submit::publish(&handle, m.as_bytes()).expect("submit");
                expected.insert(format!("smtp/{id}"), 1);
                if n % 2 == 0 {
                    expected.insert(format!("local/{id}"), 1);
                }
                submitted += 1;
            }
            next_submit = Instant::now() + Duration::from_millis(10);
        }
        // Kill when a router has a message claimed (work/ holds one), else now and then anyway:
        // a random half of the routers, restarted at once.
        let now = Instant::now();
        let busy = std::fs::read_dir(po.root.join("work"))
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if now >= next_kill && (busy || now >= next_kill + Duration::from_millis(200)) {
            if busy {
                kills_mid_work += 1;
            }
            for (i, r) in routers.iter_mut().enumerate() {
                if rng.next().is_multiple_of(2) || i == (rng.next() % 8) as usize {
                    let _ = r.kill();
                    let _ = r.wait();
                    *r = start(&po);
                    kills += 1;
                }
            }
            next_kill = now + Duration::from_millis(20 + rng.next() % 40);
        }
        consume(&po, &mut seen);
        if submitted == total
            && count(&po.root.join("work")) == 0
            && count(&po.root.join("router")) == 0
        {
            let parked = count(&po.root.join("deferred")) / 2;
            if seen.len() + parked * 2 >= expected.len() || seen.len() == expected.len() {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
        let limit: u64 = std::env::var("SOAK_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600);
        if started.elapsed() > Duration::from_secs(limit) {
            let ls = |d: &str| {
                std::fs::read_dir(po.root.join(d))
                    .map(|r| {
                        r.flatten()
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            };
            panic!(
                "soak did not finish: seed {seed}; submitted {submitted}, outputs seen {} of {}; router/ {:?}; work/ {:?}; public/ {:?}; deferred/ {:?}; queue/ {:?}; missing {:?}",
                seen.len(),
                expected.len(),
                ls("router"),
                ls("work"),
                ls("public"),
                ls("deferred"),
                snapshot(&po).keys().filter(|k| k.starts_with("queue/")).collect::<Vec<_>>(),
                expected.keys().filter(|k| !seen.contains_key(*k)).take(4).collect::<Vec<_>>()
            );
        }
    }
    for mut r in routers {
        let _ = r.kill();
        let _ = r.wait();
    }
    // Whatever the last kills left in work/ is recovered by one more pass.
    let last = Command::new(BIN)
        .arg("-c")
        .arg(soak_config(&po))
        .args(RUN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status_within();
    assert!(last.success());
    consume(&po, &mut seen);
    let elapsed = started.elapsed();
    // With max_attempts at 1000 no message may be parked: each one in deferred/ is a failure.
    let mut parked = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(po.root.join("deferred"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".reason") {
            let reason = std::fs::read_to_string(e.path()).unwrap();
            assert!(
                reason.contains("Reason: attempts-exhausted"),
                "{id}: {reason}"
            );
            assert!(
                po.root.join("deferred").join(id).exists(),
                "{id}: reason without message"
            );
            for ch in ["smtp", "local"] {
                assert!(
                    !seen.contains_key(&format!("{ch}/{id}")),
                    "{id} parked after an output was published"
                );
            }
            parked.insert(id.to_string());
        }
    }
    let accounted = |k: &String| seen.contains_key(k);
    let lost: Vec<_> = expected.keys().filter(|k| !accounted(k)).take(5).collect();
    let lost_n = expected.keys().filter(|k| !accounted(k)).count();
    let dup: Vec<_> = seen
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(k, _)| k)
        .take(5)
        .collect();
    let dup_n = seen.values().filter(|&&n| n > 1).count();
    let unknown_n = seen.keys().filter(|k| !expected.contains_key(*k)).count();
    let stray: BTreeMap<String, Vec<u8>> = snapshot(&po)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("deferred/"))
        .collect();
    eprintln!(
        "soak: {total} messages ({} outputs), 8 routers, {kills} SIGKILLs in {kills_mid_work} rounds that struck with a message claimed (and more between), {:.1} s; parked (must be 0): {}; lost {lost_n}, duplicated {dup_n}, unknown {unknown_n}, stray files {}",
        expected.len(),
        elapsed.as_secs_f64(),
        parked.len(),
        stray.len()
    );
    assert!(
        lost.is_empty() && dup.is_empty() && unknown_n == 0 && parked.is_empty(),
        "seed {seed}: lost {lost:?}, duplicated {dup:?}, parked {:?}",
        parked.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        stray.is_empty(),
        "stray files: {:?}",
        stray.keys().take(10).collect::<Vec<_>>()
    );
    assert!(kills >= 100, "too few kills ({kills}) to mean anything");
}
