//! Crash at every step (G2, G3, G6; seeds 001, 002). For each step N of a scenario, a child
//! router process kills itself with a real SIGKILL just before N, or just after N, through
//! the file-system seam. Then recovery runs, itself killed at each of its own steps, then a
//! clean pass; the final state must satisfy `check_final`. Failures print how to reproduce.

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;

use common::*;

fn expected(po: &Po) -> BTreeMap<String, Vec<u8>> {
    let clean = copy_po(po);
    let st = router(&clean, RUN, &[]);
    assert!(st.success(), "fault-free run failed: {st:?}");
    let snap = snapshot(&clean);
    assert!(
        snap.keys()
            .all(|p| p.starts_with("queue/") || p.starts_with("deferred/")),
        "{:?}",
        snap.keys()
    );
    snap
}

fn crash(po: &Po, args: &[&str], kind: &str, n: usize) -> bool {
    let st = router(po, args, &[("ROUTER_FAULT", format!("{kind}@{n}"))]);
    st.signal() == Some(9)
}

#[test]
fn crash_at_every_step_of_routing_and_of_recovery() {
    let (po, originals) = routing_scenario();
    let want = expected(&po);
    // The expected end state, as a person would read it.
    assert!(
        want.contains_key("queue/smtp/m1")
            && want.contains_key("queue/local/m1")
            && want.contains_key("queue/error/m1")
    );
    assert!(want.contains_key("deferred/m3") && want.contains_key("deferred/m4"));
    let m4_reason = String::from_utf8_lossy(&want["deferred/m4.reason"]).into_owned();
    assert!(
        m4_reason.contains("Reason: attempts-exhausted"),
        "{m4_reason}"
    );

    let steps = count_steps(&po, RUN, &[]);
    assert!(
        steps > 40,
        "only {steps} steps traced (0: is {BIN} built without the fault-injection feature, by a \
         plain `cargo build` while the tests ran?)"
    );
    let (mut kills, mut recovery_kills) = (0, 0);
    for kind in ["crash", "crash-after"] {
        for n in 1..=steps {
            let run = copy_po(&po);
            assert!(
                crash(&run, RUN, kind, n),
                "{kind}@{n} did not kill the router"
            );
            kills += 1;
            // Recovery (the next pass) killed at each of its own steps, on copies.
            let rsteps = count_steps(&run, RUN, &[]);
            for m in (1..=rsteps).step_by(if rsteps > 60 { 3 } else { 1 }) {
                let again = copy_po(&run);
                if crash(&again, RUN, "crash", m) {
                    recovery_kills += 1;
                }
                let st = router(&again, RUN, &[]);
                assert!(
                    st.success(),
                    "{kind}@{n} then recovery crash@{m}: clean pass failed {st:?}"
                );
                check_final(&again, &originals, &want).unwrap_or_else(|e| {
                    panic!("{e}\nreproduce: {kind}@{n}, then recovery crash@{m}")
                });
            }
            let st = router(&run, RUN, &[]);
            assert!(st.success());
            check_final(&run, &originals, &want)
                .unwrap_or_else(|e| panic!("{e}\nreproduce: {kind}@{n}"));
        }
    }
    eprintln!("routing scenario: {steps} steps; {kills} kills in routing, {recovery_kills} kills in recovery; every end state checked");
}

/// Submission: killed at every step, the message is either in router/ complete (and then
/// routed) or absent; public/ leftovers are reaped once unlocked; nothing else appears.
#[test]
fn crash_at_every_step_of_submission() {
    let po = new_po();
    let args = ["submit", "-f", "a@example.org", "b@example.net"];
    let trace = po._tmp.path().join("submit-trace");
    let mut c = std::process::Command::new(BIN);
    c.arg("-p")
        .arg(&po.root)
        .args(args)
        .env("ROUTER_FAULT_TRACE", &trace)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = c.guard();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Subject: s\n\nbody\n")
        .unwrap();
    assert!(child.wait().success());
    let steps = std::fs::read_to_string(&trace).unwrap().lines().count();
    assert!(steps >= 6, "{steps}");
    let (mut routed, mut absent) = (0, 0);
    for kind in ["crash", "crash-after"] {
        for n in 1..=steps {
            let p = new_po();
            let mut child = std::process::Command::new(BIN)
                .arg("-p")
                .arg(&p.root)
                .args(args)
                .env("ROUTER_FAULT", format!("{kind}@{n}"))
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .guard();
            let _ = child
                .stdin
                .take()
                .unwrap()
                .write_all(b"Subject: s\n\nbody\n");
            let st = child.wait();
            assert_eq!(st.signal(), Some(9), "{kind}@{n}");
            // Whatever is in router/ is complete.
            for e in std::fs::read_dir(p.root.join("router")).unwrap().flatten() {
                let b = std::fs::read(e.path()).unwrap();
                assert!(
                    b.ends_with(b"Subject: s\n\nbody\n"),
                    "{kind}@{n}: partial file visible in router/"
                );
            }
            assert!(router(&p, RUN, &[]).success());
            let snap = snapshot(&p);
            let stray: Vec<&String> = snap
                .keys()
                .filter(|k| !k.starts_with("queue/smtp/"))
                .collect();
            assert!(stray.is_empty(), "{kind}@{n}: {stray:?}");
            if snap.is_empty() {
                absent += 1
            } else {
                routed += 1
            }
        }
    }
    eprintln!("submission: {steps} steps; killed at each (before and after): {routed} runs ended routed, {absent} with nothing visible");
    assert!(routed > 0 && absent > 0);
}
