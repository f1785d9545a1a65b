//! The five failure stories of ../shared/seeds, reproduced against this router. Each test
//! sets up the story's conditions for real (processes racing, a writer frozen with SIGSTOP, a
//! kill in the middle of a fan-out and again in recovery, a message that kills its router
//! every time) and checks that the story's failure cannot happen here. Seed 003 (a program
//! frozen by its own log output) is tested with the router process, in router_e2e.rs:
//! `a_log_sink_nobody_reads_does_not_stop_routing`.

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn msg(n: usize) -> Vec<u8> {
    format!("from <a@example.org>\nto <u{n}@example.net>\nto <u{n}@local.test>\nenv-end\nSubject: {n}\n\nbody {n}\n").into_bytes()
}

/// Seed 000 (ZMailer): two router processes routed the same message. Here two routers race
/// for each of 200 messages, started together; each message must be routed exactly once.
#[test]
fn seed_000_two_routers_race_for_one_file() {
    for round in 0..40 {
        let po = new_po();
        let mut originals = BTreeMap::new();
        for i in 0..5 {
            let id = format!("r{round}m{i}");
            put(&po, &id, &msg(i));
            originals.insert(id, msg(i));
        }
        let spawn = || command(&po, RUN).guard();
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.output(), b.output());
        assert!(a.status.success() && b.status.success());
        // Each message routed by exactly one of the two: one log line between them.
        let said =
            String::from_utf8_lossy(&a.stderr).to_string() + &String::from_utf8_lossy(&b.stderr);
        for id in originals.keys() {
            assert_eq!(
                said.matches(&format!("{id}: from=<a@example.org>, to="))
                    .count(),
                1,
                "round {round}: {id}\n{said}"
            );
        }
        let snap = snapshot(&po);
        assert_eq!(snap.len(), 10, "round {round}: {:?}", snap.keys());
        for id in originals.keys() {
            assert!(
                snap.contains_key(&format!("queue/smtp/{id}"))
                    && snap.contains_key(&format!("queue/local/{id}"))
            );
        }
    }
}

/// Seed 001 (Mailman): a cleanup pass took a file still being written for an orphan and
/// deleted it. Here a writer is frozen (SIGSTOP) in the middle of its file in public/, every
/// cleanup path runs (the reaper with public_max_age 0, recovery, routing passes), and the
/// file survives; resumed, the writer publishes it and it is routed.
#[test]
fn seed_001_writer_stopped_mid_file_survives_every_cleanup() {
    let po = new_po();
    let mut child = Command::new(BIN)
        .arg("-p")
        .arg(&po.root)
        .args(["submit", "-f", "a@example.org", "b@example.net"])
        .env("ROUTER_FAULT", "stop@P2.write")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .guard();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"Subject: frozen\n\nbody\n")
            .unwrap();
    }
    wait_stopped(child.id());
    let public: Vec<_> = std::fs::read_dir(po.root.join("public"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(public.len(), 1, "the writer's file is in public/");
    let name = public[0].file_name();
    // Make it look old as well: age alone must not be enough to delete it.
    let old = std::time::SystemTime::now() - Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(public[0].path())
        .unwrap()
        .set_modified(old)
        .unwrap();
    for _ in 0..3 {
        assert!(router(&po, RUN, &[]).success());
        assert!(
            po.root.join("public").join(&name).exists(),
            "a cleanup path deleted a file its writer still owns"
        );
    }
    child.signal(rustix::process::Signal::CONT);
    let out = child.output();
    assert!(out.status.success(), "the resumed writer failed");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(router(&po, RUN, &[]).success());
    let snap = snapshot(&po);
    assert_eq!(
        snap.keys().cloned().collect::<Vec<_>>(),
        vec![format!("queue/smtp/{id}")]
    );
}

/// Seed 002 (Postfix list): a crash after some of a fan-out's queues were written and before
/// the others. Here the router is killed just after its first publish of a three-channel
/// fan-out, and recovery is killed just after its own first publish; the end state has every
/// copy exactly once.
#[test]
fn seed_002_crash_between_fan_out_outputs_and_inside_recovery() {
    let po = new_po();
    let m = b"from <a@example.org>\nto <b@example.net>\nto <c@local.test>\nto <broken@>\nenv-end\n\nbody\n";
    put(&po, "fan", m);
    let st = router(
        &po,
        RUN,
        &[("ROUTER_FAULT", "crash-after@C5.publish".into())],
    );
    assert_eq!(st.signal(), Some(9));
    let snap = snapshot(&po);
    let published: Vec<_> = snap.keys().filter(|k| k.starts_with("queue/")).collect();
    let staged: Vec<_> = snap.keys().filter(|k| k.starts_with("work/fan@")).collect();
    assert_eq!(
        (published.len(), staged.len()),
        (1, 2),
        "half a fan-out on disk: {:?}",
        snap.keys()
    );
    assert!(snap.contains_key("work/fan#plan"));
    let st = router(
        &po,
        RUN,
        &[("ROUTER_FAULT", "crash-after@C5.publish".into())],
    );
    assert_eq!(
        st.signal(),
        Some(9),
        "recovery killed after its first publish"
    );
    assert!(router(&po, RUN, &[]).success());
    let snap = snapshot(&po);
    let keys: Vec<_> = snap.keys().cloned().collect();
    assert_eq!(
        keys,
        vec!["queue/error/fan", "queue/local/fan", "queue/smtp/fan"]
    );
}

/// Seed 004 (ZMailer): a message that crashes the router is put back and crashes every
/// restarted router, forever. Here such a message kills its router each time it is parsed;
/// after max_attempts (3) restarts it is parked unparsed, and the mail batched with it when it
/// first struck is routed, not parked.
#[test]
fn seed_004_message_that_kills_its_router_is_parked_after_max_attempts() {
    let po = new_po();
    let poison =
        b"from <a@example.org>\nto <b@example.net>\nenv-end\nX-Test-Poison: kill\n\nbody\n"
            .to_vec();
    put(&po, "m0-poison", &poison);
    for i in 1..6 {
        put(&po, &format!("m{i}"), &msg(i));
    }
    let env = [("ROUTER_FAULT", "poison@X-Test-Poison: kill".to_string())];
    let mut kills = 0;
    for _ in 0..10 {
        let st = router(&po, RUN, &env);
        if st.signal() == Some(9) {
            kills += 1;
            continue;
        }
        assert!(st.success());
        break;
    }
    assert_eq!(kills, 3, "killed once per attempt, then parked");
    let snap = snapshot(&po);
    assert_eq!(
        snap.get("deferred/m0-poison"),
        Some(&poison),
        "parked, bytes untouched"
    );
    let reason = String::from_utf8_lossy(&snap["deferred/m0-poison.reason"]).into_owned();
    assert!(
        reason.contains("Reason: attempts-exhausted") && reason.contains("Attempts: 3"),
        "{reason}"
    );
    for i in 1..6 {
        assert!(
            snap.contains_key(&format!("queue/smtp/m{i}")),
            "innocent m{i} was not routed: {:?}",
            snap.keys()
        );
    }
    assert!(!snap
        .keys()
        .any(|k| k.starts_with("work/") || k.starts_with("router/")));
}
