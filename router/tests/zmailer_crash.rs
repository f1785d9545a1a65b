//! ZMailer mode, crashed at every step (G1–G3, G6 for the handoff of docs/spool.md, "ZMailer
//! mode"). For each step N of a pass, a child router kills itself with a real SIGKILL just
//! before N or just after N; then recovery runs, itself killed at each of its own steps; then
//! a clean pass. The end state must be: every message either handed to ZMailer's scheduler
//! exactly once (a control file `transport/<H1>/<H2>/<ino>` that reads back whole, naming a
//! queue file `queue/<H1>/<H2>/<ino>` holding the original bytes, with the recipients of the
//! fault-free run) or parked with its reason, never both, never neither; no control file
//! without its queue file; nothing else.
//!
//! The names depend on inode numbers, and each run works on a copy (new inodes), so messages
//! are matched by their bytes, and outputs by the inode number the plan recorded.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use common::zmailer_mode::{config, outcome, run_args, zmailer_po};
use common::*;

fn run(po: &Po, args: &[String], fault: Option<String>) -> std::process::ExitStatus {
    let mut c = command(po, &[]);
    c.args(args).stderr(std::process::Stdio::null());
    if let Some(f) = fault {
        c.env("ROUTER_FAULT", f);
    }
    c.status_within()
}

fn steps(po: &Po, args: &[String]) -> usize {
    let copy = copy_po(po);
    let trace = po._tmp.path().join("zm-trace");
    let _ = std::fs::remove_file(&trace);
    let mut c = command(&copy, &[]);
    c.args(args)
        .stderr(std::process::Stdio::null())
        .env("ROUTER_FAULT_TRACE", &trace);
    c.status_within();
    let n = std::fs::read_to_string(&trace).map_or(0, |t| t.lines().count());
    let _ = std::fs::remove_file(&trace);
    n
}

#[test]
fn crash_at_every_step_of_a_zmailer_mode_pass_and_of_its_recovery() {
    let (po, originals) = zmailer_po();
    let cfg = config(&po);
    let args = run_args(&cfg);
    let clean = copy_po(&po);
    assert!(run(&clean, &args, None).success());
    let want = outcome(&clean, &originals).unwrap_or_else(|e| panic!("fault-free run: {e}"));
    assert!(want["m1"].starts_with("handed over to error "), "{want:?}");
    assert!(
        want["m1"].contains("local c@local.test c@local.test"),
        "{want:?}"
    );
    assert!(
        want["m1"].contains("smtp example.net b@example.net"),
        "{want:?}"
    );
    assert!(want["m2"].starts_with("handed over to smtp"), "{want:?}");
    assert_eq!(want["m3"], "parked: malformed-envelope");
    assert_eq!(want["m4"], "parked: attempts-exhausted");
    let n = steps(&po, &args);
    assert!(n > 30, "only {n} steps traced");
    let labels = {
        let trace = po._tmp.path().join("labels");
        let copy = copy_po(&po);
        let mut c = command(&copy, &[]);
        c.args(&args)
            .stderr(std::process::Stdio::null())
            .env("ROUTER_FAULT_TRACE", &trace);
        c.status_within();
        std::fs::read_to_string(&trace).unwrap_or_default()
    };
    for step in [
        "H3.control-create",
        "H5.message",
        "H5.control",
        "C4.plan-rename",
    ] {
        assert!(
            labels.contains(step),
            "the pass never took {step}:\n{labels}"
        );
    }
    let (mut kills, mut recovery_kills, mut shorter) = (0, 0, 0);
    for kind in ["crash", "crash-after"] {
        for k in 1..=n {
            let crashed = copy_po(&po);
            // Traced too: a copy has new inode numbers, so ZMailer's hash directories, and
            // the steps that make them, may differ from the traced run's. A run that ends
            // before step k was not killed, and must show that it took fewer than k steps;
            // its end state is checked all the same.
            let trace = crashed._tmp.path().join("crash-trace");
            let st = {
                let mut c = command(&crashed, &[]);
                c.args(&args)
                    .stderr(std::process::Stdio::null())
                    .env("ROUTER_FAULT", format!("{kind}@{k}"))
                    .env("ROUTER_FAULT_TRACE", &trace);
                c.status_within()
            };
            let taken = std::fs::read_to_string(&trace).map_or(0, |t| t.lines().count());
            let _ = std::fs::remove_file(&trace);
            if st.signal() == Some(9) {
                kills += 1;
            } else {
                assert!(
                    st.success() && taken < k,
                    "{kind}@{k} did not kill the router, and it took {taken} steps: {st}"
                );
                shorter += 1;
            }
            let rsteps = steps(&crashed, &args);
            // Every eighth step of recovery, the offset turning with k: each recovery step is
            // still killed in some crash state (the full cross product took 75 s).
            for m in ((1 + k % 8)..=rsteps).step_by(8) {
                let again = copy_po(&crashed);
                if run(&again, &args, Some(format!("crash@{m}"))).signal() == Some(9) {
                    recovery_kills += 1;
                }
                assert!(run(&again, &args, None).success());
                let got = outcome(&again, &originals)
                    .unwrap_or_else(|e| panic!("{e}\nreproduce: {kind}@{k}, then crash@{m}"));
                assert_eq!(got, want, "{kind}@{k}, then crash@{m}");
            }
            assert!(run(&crashed, &args, None).success());
            let got = outcome(&crashed, &originals)
                .unwrap_or_else(|e| panic!("{e}\nreproduce: {kind}@{k}"));
            assert_eq!(got, want, "{kind}@{k}");
        }
    }
    // Only the last few steps can be missing from a copy (a hash directory already made).
    assert!(shorter <= 4, "{shorter} crash points were never reached");
    eprintln!(
        "ZMailer mode: {n} steps; {kills} kills in the pass ({shorter} points past a copy's last step), {recovery_kills} in recovery; every end state checked: each message handed over once or parked"
    );
}

/// The queue file goes before the control file (the scheduler takes a message the moment
/// its control file appears, and reads the queue file it names): stopped between the two, the
/// control file is not yet visible, and a recovery finishes the handoff.
#[test]
fn the_queue_file_is_in_place_before_the_control_file_appears() {
    let (po, originals) = zmailer_po();
    let cfg = config(&po);
    let args = run_args(&cfg);
    let st = run(&po, &args, Some("crash@H5.control".into()));
    assert_eq!(st.signal(), Some(9));
    let snap = snapshot(&po);
    let queued: Vec<&String> = snap.keys().filter(|p| p.starts_with("queue/")).collect();
    let controls: Vec<&String> = snap
        .keys()
        .filter(|p| p.starts_with("transport/"))
        .collect();
    assert_eq!(queued.len(), 1, "{:?}", snap.keys());
    assert!(controls.is_empty(), "{controls:?}");
    assert!(
        snap.keys().any(|p| p.ends_with("#control")) && snap.keys().any(|p| p.ends_with("#plan")),
        "{:?}",
        snap.keys()
    );
    assert!(run(&po, &args, None).success());
    let fate = outcome(&po, &originals).unwrap();
    assert_eq!(fate.len(), 4);
    assert!(Path::new(&po.root.join("work"))
        .read_dir()
        .unwrap()
        .next()
        .is_none());
}
