//! Power loss (G9; seed 002's question: "How does Postfix recover if the system crashes while
//! it is recovering without sending duplicate messages and without losing mail?").
//!
//! Each scenario runs once with the seam's journal on (`ROUTER_FAULT_JOURNAL`); the journal
//! is replayed against a model of the disk (`common/powercut.rs`: a live and a durable view,
//! two models, ext4 `data=ordered` and the weakest POSIX reading); at every point of the run
//! every state a power cut may leave is materialised, recovered by the router (the next
//! pass), and checked with the invariants of docs/spool.md: every message routed exactly once
//! with exactly the fault-free outputs, or parked with its reason; nothing partial under a
//! final name; nothing stray; nothing lost.
//!
//! Then each sync is removed in turn (`nosync@LABEL`) and the same generator must find a
//! state that breaks an invariant: the sync is needed.

mod common;

use std::collections::BTreeMap;

use common::powercut::{live_at, read_journal, states, states_at, Model, OnDisk, Op, Tree};
use common::*;

/// Runs `args` on a copy of `po` with the journal on (and `fault`, if any): the copy's state
/// before the run, and the journal.
fn journaled(po: &Po, args: &[&str], fault: Option<&str>) -> (Tree, Vec<Op>) {
    let copy = copy_po(po);
    let start = Tree::load(&copy.root);
    let journal = copy._tmp.path().join("journal");
    let mut c = command(&copy, args);
    c.env("ROUTER_FAULT_JOURNAL", &journal);
    if let Some(f) = fault {
        c.env("ROUTER_FAULT", f);
    }
    let st = c.status_within();
    assert!(st.success(), "journaled run: {st:?}");
    let text = std::fs::read_to_string(&journal).unwrap_or_default();
    (start, read_journal(&text, &copy.root))
}

/// A state materialised as a postoffice of its own.
fn materialise(t: &Tree) -> Po {
    let tmp = tempfile::Builder::new()
        .prefix("router-powercut-")
        .tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        })
        .unwrap();
    let root = tmp.path().join("po");
    t.materialise(&root);
    for d in ["public", "router", "work", "queue", "deferred"] {
        // A directory is in every state: the scenario starts from an initialised postoffice.
        assert!(root.join(d).is_dir(), "{d}/ lost");
    }
    Po { _tmp: tmp, root }
}

/// Cut states checked at most per model (all of them with `POWERCUT_ALL=1`): a spread over
/// the whole run, every k-th.
fn budget() -> usize {
    if std::env::var_os("POWERCUT_ALL").is_some() {
        usize::MAX
    } else {
        400
    }
}

/// Generates the cut states of a journaled run, recovers each (one in eight with recovery
/// killed once on the way), checks each. Returns (states generated, states checked, the first
/// failure).
fn check_states(
    start: &Tree,
    ops: &[Op],
    model: Model,
    originals: &BTreeMap<String, Vec<u8>>,
    want: &BTreeMap<String, Vec<u8>>,
) -> (usize, usize, Option<String>) {
    let all = states(start, ops, model);
    let every = all.len().div_ceil(budget()).max(1);
    let mut checked = 0;
    for (i, (at, t)) in all.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        checked += 1;
        let po = materialise(t);
        // For one state in eight, recovery is itself killed first, at a step that turns with
        // the state (a power cut, then a crash inside recovery), before the clean pass.
        if checked % 8 == 0 {
            let st = router(
                &po,
                RUN,
                &[("ROUTER_FAULT", format!("crash@{}", 1 + checked / 8 % 24))],
            );
            if !st.success() && st.code().is_some() {
                return (
                    all.len(),
                    checked,
                    Some(format!(
                        "cut after journal entry {at}, then a crash in recovery: {st:?}"
                    )),
                );
            }
        }
        let out = command(&po, RUN).output_within();
        if !out.status.success() {
            let left: Vec<String> = snapshot(&po).into_keys().collect();
            return (
                all.len(),
                checked,
                Some(format!(
                    "cut after journal entry {at}: recovery failed: {:?}: {}\nthe state: {left:?}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                )),
            );
        }
        let killed = checked % 8 == 0;
        if let Err(e) = check_final(&po, originals, &allowing_exhausted(&po, want, killed)) {
            return (
                all.len(),
                checked,
                Some(format!(
                    "cut after journal entry {at} ({:?}): {e}",
                    ops.get(at.wrapping_sub(1))
                )),
            );
        }
    }
    (all.len(), checked, None)
}

/// The fault-free end state, except that a message the state shows parked for
/// `attempts-exhausted` is taken as parked when recovery was killed on the way (`killed`): each
/// router that died holding it counted one attempt (the first kill, the power cut, the kill in
/// recovery: three deaths make `max_attempts`), and parking it then is G6, not a loss.
fn allowing_exhausted(
    po: &Po,
    want: &BTreeMap<String, Vec<u8>>,
    killed: bool,
) -> BTreeMap<String, Vec<u8>> {
    let mut want = want.clone();
    if !killed {
        return want;
    }
    let snap = snapshot(po);
    for (path, reason) in &snap {
        let Some(id) = path
            .strip_prefix("deferred/")
            .and_then(|p| p.strip_suffix(".reason"))
        else {
            continue;
        };
        if !String::from_utf8_lossy(reason).contains("Reason: attempts-exhausted") {
            continue;
        }
        want.retain(|k, _| !(k.starts_with("queue/") && k.ends_with(&format!("/{id}"))));
        for k in [format!("deferred/{id}"), path.clone()] {
            if let Some(v) = snap.get(&k) {
                want.insert(k, v.clone());
            }
        }
    }
    want
}

fn expected(po: &Po) -> BTreeMap<String, Vec<u8>> {
    let clean = copy_po(po);
    assert!(router(&clean, RUN, &[]).success());
    snapshot(&clean)
}

#[test]
fn a_power_cut_at_any_point_of_a_batch_loses_and_duplicates_nothing() {
    let (po, originals) = routing_scenario();
    let want = expected(&po);
    let (start, ops) = journaled(&po, RUN, None);
    assert!(ops.len() > 30, "{} journal entries", ops.len());
    // Two batches (m4, with an attempt on record, goes alone), each with S1, S2, S3, S5.
    assert_eq!(ops.iter().filter(|o| **o == Op::Syncfs).count(), 8);
    for model in [Model::Ext4Ordered, Model::Weak] {
        let (n, checked, failure) = check_states(&start, &ops, model, &originals, &want);
        eprintln!(
            "batch, {model:?}: {} journal entries, {n} distinct power-cut states, {checked} recovered and checked: 0 lost, 0 duplicated, 0 partial",
            ops.len()
        );
        assert!(failure.is_none(), "{model:?}: {}", failure.unwrap());
    }
}

#[test]
fn a_power_cut_during_recovery_loses_and_duplicates_nothing() {
    let (po, originals) = routing_scenario();
    let want = expected(&po);
    let steps = count_steps(&po, RUN, &[]);
    let mut total = (0, 0);
    // A router killed at points across the batch; then the recovery pass, journaled and cut.
    for k in (5..steps).step_by(steps / 6) {
        let crashed = copy_po(&po);
        let st = router(&crashed, RUN, &[("ROUTER_FAULT", format!("crash@{k}"))]);
        assert!(!st.success());
        let (start, ops) = journaled(&crashed, RUN, None);
        for model in [Model::Ext4Ordered, Model::Weak] {
            let (n, checked, failure) = check_states(&start, &ops, model, &originals, &want);
            total.0 += n;
            total.1 += checked;
            assert!(
                failure.is_none(),
                "crash@{k}, then a cut in recovery, {model:?}: {}",
                failure.unwrap()
            );
        }
    }
    eprintln!(
        "recovery after a kill at 6 points of the batch: {} distinct power-cut states, {} recovered and checked: 0 lost, 0 duplicated, 0 partial",
        total.0, total.1
    );
}

/// G6 against a machine that dies while parsing (seed 004: a message that "will bring down
/// the whole UNIX system"): at the moment a message is parsed (just before its first staged
/// file is created), every cut state must hold every message the router has claimed in
/// `work/`, where the next recovery counts the attempt (`R3.count`), or a message that kills
/// the machine is retried forever.
fn claims_durable_when_parsing(start: &Tree, ops: &[Op], model: Model) -> Result<usize, String> {
    let mut points = 0;
    for (i, op) in ops.iter().enumerate() {
        let Op::Create { path, .. } = op else {
            continue;
        };
        if !(path.contains('@') || path.ends_with("#reason") || path.ends_with("#control")) {
            continue;
        }
        points += 1;
        let live = live_at(start, ops, i);
        let claimed: Vec<&String> = live
            .entries
            .iter()
            .filter(|(p, e)| {
                e.is_some()
                    && p.strip_prefix("work/")
                        .is_some_and(|n| !n.contains(['#', '@']))
            })
            .map(|(p, _)| p)
            .collect();
        for s in states_at(start, ops, model, i) {
            if let Some(p) = claimed.iter().find(|p| !s.entries.contains_key(p.as_str())) {
                return Err(format!("parsing before journal entry {i} ({path}): after a cut {p} may not be claimed, and its attempt is never counted"));
            }
        }
    }
    Ok(points)
}

#[test]
fn every_claim_is_durable_before_a_message_is_parsed() {
    let (po, _) = routing_scenario();
    let (start, ops) = journaled(&po, RUN, None);
    for model in [Model::Ext4Ordered, Model::Weak] {
        let points = claims_durable_when_parsing(&start, &ops, model)
            .unwrap_or_else(|e| panic!("{model:?}: {e}"));
        assert!(points >= 4, "{points} parse points");
    }
}

/// Each sync of the batch, removed, lets a power cut break an invariant: the generator finds a
/// state that loses, duplicates or half-publishes a message, or a counter not durable when a
/// message is parsed (S1). A sync it cannot break is not needed and goes (S4 went: docs/spool.md,
/// "Power loss").
#[test]
fn every_sync_of_the_batch_is_needed() {
    let (po, originals) = routing_scenario();
    let want = expected(&po);
    let mut report = Vec::new();
    for sync in ["S1", "S2", "S3", "S5"] {
        let (start, ops) = journaled(&po, RUN, Some(&format!("nosync@{sync}")));
        let mut found = None;
        for model in [Model::Ext4Ordered, Model::Weak] {
            if let Err(e) = claims_durable_when_parsing(&start, &ops, model) {
                found = Some(format!("{model:?}: {e}"));
                break;
            }
            if let (_, _, Some(f)) = check_states(&start, &ops, model, &originals, &want) {
                found = Some(format!("{model:?}: {f}"));
                break;
            }
        }
        let f = found.unwrap_or_else(|| panic!("without {sync} no power cut breaks an invariant"));
        report.push(format!(
            "without {sync}: {}",
            f.lines().next().unwrap_or("")
        ));
    }
    eprintln!("{}", report.join("\n"));
}

/// What a state holds once recovered and routed: the files of `queue/`, or why it is wrong
/// (anything left in `router/`, `work/` or `public/`, a reason without its message).
fn settled(po: &Po) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let out = command(po, RUN).output_within();
    if !out.status.success() {
        return Err(format!(
            "the pass failed: {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let snap = snapshot(po);
    if let Some(stray) = snap
        .keys()
        .find(|k| !k.starts_with("queue/") && !k.starts_with("deferred/"))
    {
        return Err(format!("stray file {stray}"));
    }
    if let Some(r) = snap
        .keys()
        .find(|k| k.ends_with(".reason") && !snap.contains_key(k.trim_end_matches(".reason")))
    {
        return Err(format!("{r} without its message"));
    }
    Ok(snap)
}

/// Submission (P1–P5) cut anywhere: the message is routed once, whole, or was never
/// submitted; and once `submit` has returned, it is routed.
#[test]
fn a_power_cut_during_submission_loses_a_submitted_message_never() {
    let po = new_po();
    let start = Tree::load(&po.root);
    let journal = po._tmp.path().join("journal");
    let out = command(&po, &["submit", "-f", "a@example.org", "b@example.net"])
        .env("ROUTER_FAULT_JOURNAL", &journal)
        .output_with_stdin(b"Subject: s\n\nbody\n");
    assert!(out.status.success());
    let ops = read_journal(&std::fs::read_to_string(&journal).unwrap(), &po.root);
    assert!(ops.iter().any(|o| matches!(o, Op::Fsync { .. })), "{ops:?}");
    // The outputs of the submitted message, from the state submit left.
    let want = settled(&po).unwrap();
    assert_eq!(want.len(), 1, "{:?}", want.keys());
    let mut counts = (0, 0, 0);
    for model in [Model::Ext4Ordered, Model::Weak] {
        for (at, t) in states(&start, &ops, model) {
            counts.0 += 1;
            let p = materialise(&t);
            let got = settled(&p).unwrap_or_else(|e| panic!("{model:?}, cut at {at}: {e}"));
            if got.is_empty() {
                assert!(
                    at < ops.len(),
                    "{model:?}: submit returned, and the message is lost"
                );
                counts.1 += 1;
            } else {
                assert_eq!(
                    got, want,
                    "{model:?}, cut at {at}: not the message submitted"
                );
                counts.2 += 1;
            }
        }
    }
    eprintln!(
        "submission: {} journal entries, {} distinct power-cut states (both models): {} never submitted (cut before submit returned), {} routed once and whole; 0 partial, 0 lost after submit returned",
        ops.len(),
        counts.0,
        counts.1,
        counts.2
    );
}

/// `deferred release` (D1–D5) cut anywhere: the message stays parked (maybe without its
/// reason, and then it can be released again) or is routed once; once release has returned,
/// it is routed.
#[test]
fn a_power_cut_during_a_release_loses_and_duplicates_nothing() {
    let po = new_po();
    let m = b"from <a@example.org>\nto <b@example.net>\nenv-end\nSubject: r\n\nbody\n";
    put(&po, "r1", m);
    std::fs::write(po.root.join("work/r1#attempts"), b"xxx").unwrap();
    assert!(router(&po, RUN, &[]).success());
    assert!(po.root.join("deferred/r1").is_file(), "parked");
    let before = copy_po(&po);
    let start = Tree::load(&po.root);
    let journal = po._tmp.path().join("journal");
    let st = command(&po, &["deferred", "release", "r1"])
        .env("ROUTER_FAULT_JOURNAL", &journal)
        .status_within();
    assert!(st.success());
    let ops = read_journal(&std::fs::read_to_string(&journal).unwrap(), &po.root);
    let want = settled(&po).unwrap();
    assert!(want.contains_key("queue/smtp/r1"), "{:?}", want.keys());
    let (mut n, mut parked, mut routed) = (0, 0, 0);
    for model in [Model::Ext4Ordered, Model::Weak] {
        for (at, t) in states(&start, &ops, model) {
            n += 1;
            let p = materialise(&t);
            let got = settled(&p).unwrap_or_else(|e| panic!("{model:?}, cut at {at}: {e}"));
            if got.contains_key("deferred/r1") {
                assert!(
                    at < ops.len(),
                    "{model:?}: release returned, the message is still parked"
                );
                assert!(
                    !got.keys().any(|k| k.starts_with("queue/")),
                    "both parked and routed"
                );
                assert_eq!(got["deferred/r1"], m.to_vec(), "the parked message changed");
                parked += 1;
            } else {
                assert_eq!(got, want, "{model:?}, cut at {at}");
                routed += 1;
            }
        }
    }
    eprintln!(
        "release: {} journal entries, {n} distinct power-cut states (both models): {parked} still parked (cut before release returned), {routed} routed once; 0 lost, 0 duplicated",
        ops.len()
    );
    // The sync between the reason's unlink and the message's rename is needed.
    let (start, ops) = {
        let again = copy_po(&before);
        let start = Tree::load(&again.root);
        let journal = again._tmp.path().join("journal");
        let st = command(&again, &["deferred", "release", "r1"])
            .env("ROUTER_FAULT_JOURNAL", &journal)
            .env("ROUTER_FAULT", "nosync@D4.fsync-deferred")
            .status_within();
        assert!(st.success());
        let ops = read_journal(&std::fs::read_to_string(&journal).unwrap(), &again.root);
        (start, ops)
    };
    let broken = states(&start, &ops, Model::Weak)
        .into_iter()
        .find_map(|(at, t)| {
            let p = materialise(&t);
            settled(&p).err().map(|e| format!("cut at {at}: {e}"))
        });
    let broken = broken.expect("without D4.fsync-deferred no power cut breaks an invariant");
    eprintln!("release without D4.fsync-deferred: {broken}");
}

/// ZMailer mode's handoff cut anywhere: each message handed to the scheduler once (a control
/// file that reads back whole, its queue file beside it) or parked; never a control file
/// without its queue file.
#[test]
fn a_power_cut_during_a_zmailer_mode_pass_loses_and_duplicates_nothing() {
    use common::zmailer_mode::{config, outcome, run_args, zmailer_po};
    let (po, originals) = zmailer_po();
    let cfg = config(&po);
    let args = run_args(&cfg);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let clean = copy_po(&po);
    assert!(command(&clean, &args).status_within().success());
    let want = outcome(&clean, &originals).unwrap();
    let (start, ops) = journaled(&po, &args, None);
    let mut n = 0;
    for model in [Model::Ext4Ordered, Model::Weak] {
        let all = states(&start, &ops, model);
        let every = all.len().div_ceil(budget()).max(1);
        for (i, (at, t)) in all.iter().enumerate() {
            if i % every != 0 {
                continue;
            }
            n += 1;
            let p = materialise(t);
            let st = command(&p, &args).status_within();
            assert!(st.success(), "{model:?}, cut at {at}: {st:?}");
            let got = outcome(&p, &originals).unwrap_or_else(|e| {
                panic!(
                    "{model:?}, cut at {at} ({:?}): {e}",
                    ops.get(at.wrapping_sub(1))
                )
            });
            assert_eq!(got, want, "{model:?}, cut at {at}");
        }
    }
    eprintln!(
        "ZMailer mode: {} journal entries, {n} power-cut states recovered and checked (both models): each message handed over once or parked",
        ops.len()
    );
}
