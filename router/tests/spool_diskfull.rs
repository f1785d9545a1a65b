//! Disk full (SPEC section 2): the input stays where it was, nothing half-visible appears, the
//! router backs off and says so, and no message is parked for it.
//!
//! Two ways: ENOSPC injected through the seam from every step of a routing pass on; and a real
//! tmpfs filled by routing, when this machine lets the test mount one (it says so when it
//! cannot, and the seam test still runs): once out of bytes (256 KiB), once out of inodes (28).

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn scenario() -> (Po, BTreeMap<String, Vec<u8>>) {
    let po = new_po();
    let msgs: [(&str, &[u8]); 3] = [
        (
            "m1",
            b"from <a@example.org>\nto <b@example.net>\nto <c@local.test>\nenv-end\n\nbody 1\n",
        ),
        (
            "m2",
            b"from <a@example.org>\nto <d@example.com>\nenv-end\n\nbody 2\n",
        ),
        (
            "m3",
            b"from <a@example.org>\nnot an envelope line\nenv-end\n\nbody 3\n",
        ),
    ];
    let mut o = BTreeMap::new();
    for (id, m) in msgs {
        put(&po, id, m);
        o.insert(id.to_string(), m.to_vec());
    }
    (po, o)
}

#[test]
fn enospc_from_every_step_on() {
    let (po, originals) = scenario();
    let clean = copy_po(&po);
    assert!(router(&clean, RUN, &[]).success());
    let want = snapshot(&clean);
    let steps = count_steps(&po, RUN, &[]);
    for kind in ["enospc", "edquot"] {
        for n in 1..=steps {
            let run = copy_po(&po);
            let st = router(&run, RUN, &[("ROUTER_FAULT", format!("{kind}@{n}+"))]);
            let snap = snapshot(&run);
            // Nothing half-visible, nothing parked for the disk's fault.
            for (path, bytes) in &snap {
                if path.starts_with("queue/") {
                    assert_eq!(
                        Some(bytes),
                        want.get(path),
                        "{kind}@{n}+: {path} is not a complete output"
                    );
                }
                if path.starts_with("deferred/") {
                    assert!(
                        path.starts_with("deferred/m3"),
                        "{kind}@{n}+: {path} parked for a full disk"
                    );
                }
            }
            if !st.success() {
                assert_eq!(
                    st.code(),
                    Some(75),
                    "{kind}@{n}+: EX_TEMPFAIL when the spool is full"
                );
            }
            // Space comes back: a clean pass finishes the job with nothing lost.
            assert!(router(&run, RUN, &[]).success());
            check_final(&run, &originals, &want)
                .unwrap_or_else(|e| panic!("{e}\nreproduce: {kind}@{n}+"));
        }
    }
    eprintln!("disk full injected from each of {steps} steps on (ENOSPC and EDQUOT): nothing lost, nothing parked, nothing partial");
}

struct Mount(std::path::PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn real_full_tmpfs_router_keeps_running() {
    // 12 messages of 10 KiB, each to two channels: the outputs need twice the space the inputs
    // take, and the inputs already take half the file system.
    fill_and_drain("size=256k", 10_000, "real tmpfs of 256 KiB");
}

/// A full inode table is a full disk: ENOSPC with bytes to spare. The layout, 12 inputs and the
/// two channel directories take 21 of 28 inodes; a batch needs a counter, a plan and two
/// outputs per message, so the table fills mid-batch. What the batch took (counters, staged
/// files) must be given back, or the freed inodes stay pinned and routing never resumes.
#[test]
fn a_full_inode_table_is_a_full_disk() {
    fill_and_drain("size=64m,nr_inodes=28", 100, "real tmpfs of 28 inodes");
}

fn fill_and_drain(mount_options: &str, body_bytes: usize, what: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("fs");
    std::fs::create_dir(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", mount_options, "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        cannot_run_here("cannot mount a tmpfs here (not root?); disk full is covered through the seam by enospc_from_every_step_on");
        return;
    }
    let _m = Mount(mnt.clone());
    let root = mnt.join("po");
    router::spool::Postoffice::init(&root).unwrap();
    let body = "x".repeat(body_bytes);
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = format!("big{i:02}");
        let m = format!("from <a@example.org>\nto <b{i}@example.net>\nto <c{i}@local.test>\nenv-end\n\n{body}\nend {i}\n");
        std::fs::write(root.join("router").join(&id), m).unwrap();
        ids.push(id);
    }
    let mut child = Command::new(BIN)
        .arg("-p")
        .arg(&root)
        .args(["run", "--local-domain", "local.test"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .guard();
    let stderr = child.0.stderr.take().unwrap();
    let log = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    // Let it fill the disk and back off.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the router died on a full disk"
    );
    let check_no_partial = |root: &std::path::Path| {
        for ch in ["smtp", "local"] {
            if let Ok(rd) = std::fs::read_dir(root.join("queue").join(ch)) {
                for e in rd.flatten() {
                    let b = std::fs::read(e.path()).unwrap();
                    assert!(
                        b.ends_with(b"\n") && b.windows(4).any(|w| w == b"end "),
                        "partial output {:?}",
                        e.path()
                    );
                }
            }
        }
        assert_eq!(
            std::fs::read_dir(root.join("deferred")).unwrap().count(),
            0,
            "a message was parked for a full disk"
        );
    };
    check_no_partial(&root);
    let routed_before = std::fs::read_dir(root.join("queue/smtp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        routed_before < 12,
        "the disk never filled ({routed_before} routed)"
    );
    // The agents deliver: outputs are consumed, space comes back, routing goes on.
    let mut delivered = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while delivered.len() < 24 {
        check_no_partial(&root);
        for ch in ["smtp", "local"] {
            if let Ok(rd) = std::fs::read_dir(root.join("queue").join(ch)) {
                for e in rd.flatten() {
                    delivered.insert(format!("{ch}/{}", e.file_name().to_string_lossy()));
                    std::fs::remove_file(e.path()).unwrap();
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "routing did not resume: {} of 24 delivered",
            delivered.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = log.join().unwrap();
    assert!(
        log.contains("spool full"),
        "the router did not say it backed off:\n{log}"
    );
    for id in &ids {
        assert!(
            delivered.contains(&format!("smtp/{id}")) && delivered.contains(&format!("local/{id}")),
            "{id} lost"
        );
    }
    eprintln!("{what}: {routed_before} of 12 routed before the disk filled; the router backed off ({} log lines), kept running, and routed all 12 once space came back", log.lines().count());
}
