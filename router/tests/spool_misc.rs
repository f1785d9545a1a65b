//! The smaller rules of SPEC section 2: the reaper's two conditions, names that are not ids,
//! the one-file-system check, an ambiguous rename settled by looking at both names.

mod common;

use std::process::{Command, Stdio};

use common::*;

#[test]
fn reaper_removes_only_unlocked_old_files() {
    let po = new_po();
    let public = po.root.join("public");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    // Abandoned: unlocked and old.
    std::fs::write(public.join("abandoned"), b"half a message").unwrap();
    std::fs::File::options()
        .write(true)
        .open(public.join("abandoned"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    // Young: unlocked, but its writer may be between create and lock.
    std::fs::write(public.join("young"), b"x").unwrap();
    // Old but locked by a live writer.
    std::fs::write(public.join("locked"), b"x").unwrap();
    let held = std::fs::File::open(public.join("locked")).unwrap();
    held.set_modified(old).ok();
    std::fs::File::options()
        .write(true)
        .open(public.join("locked"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let handle = router::spool::Postoffice::open(&po.root).unwrap();
    let r = router::spool::reaper::reap_public(&handle, 3600).unwrap();
    assert_eq!((r.removed, r.locked, r.young), (1, 1, 1));
    assert!(
        !public.join("abandoned").exists()
            && public.join("young").exists()
            && public.join("locked").exists()
    );
}

#[test]
fn names_that_are_not_ids_are_reported_and_left_alone() {
    let po = new_po();
    for bad in [".hidden", "has space", "x.reason", "semi;colon"] {
        std::fs::write(
            po.root.join("router").join(bad),
            b"from <a@b.c>\nto <d@e.f>\nenv-end\n\n",
        )
        .unwrap();
    }
    put(&po, "good", b"from <a@b.c>\nto <d@e.f>\nenv-end\n\nbody\n");
    let out = command(&po, RUN).output_within();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for bad in [".hidden", "has space", "x.reason", "semi;colon"] {
        assert!(
            po.root.join("router").join(bad).exists(),
            "{bad} was touched"
        );
        assert!(
            err.contains(&format!("router/{bad} is not a message id")),
            "{bad} not reported:\n{err}"
        );
    }
    assert!(po.root.join("queue/smtp/good").exists());
}

#[test]
fn ambiguous_rename_is_settled_by_looking_at_both_names() {
    for label in ["C1.rename", "C5.publish", "C4.defer-message"] {
        let po = new_po();
        put(&po, "m1", b"from <a@b.c>\nto <d@e.f>\nenv-end\n\nbody\n");
        put(&po, "m2", b"from <a@b.c>\nnot envelope\nenv-end\n\nbody\n");
        // The rename happens, then reports EIO.
        let st = router(&po, RUN, &[("ROUTER_FAULT", format!("eio-after@{label}"))]);
        assert!(st.success(), "{label}: {st:?}");
        let snap = snapshot(&po);
        let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["deferred/m2", "deferred/m2.reason", "queue/smtp/m1"],
            "{label}"
        );
    }
}

#[test]
fn refuses_a_postoffice_spanning_two_file_systems() {
    let po = new_po();
    let q = po.root.join("queue");
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&q)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        cannot_run_here("cannot mount a tmpfs here (not root?)");
        return;
    }
    let out = Command::new(BIN)
        .arg("-p")
        .arg(&po.root)
        .args(RUN)
        .output_within();
    let _ = Command::new("umount").arg(&q).status();
    assert_eq!(out.status.code(), Some(75));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another file system"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Regression (found by the soak): recovery rolls forward the channels the plan names, even
/// when a listing of work/ does not show them all; and a staged output with neither message
/// nor plan is reported and left alone, never deleted.
#[test]
fn roll_forward_follows_the_plan_and_orphan_outputs_are_never_deleted() {
    let po = new_po();
    let w = po.root.join("work");
    std::fs::write(
        w.join("x"),
        b"from <a@b.c>\nto <d@e.f>\nto <g@local.test>\nenv-end\n\nbody\n",
    )
    .unwrap();
    std::fs::write(w.join("x@smtp"), b"smtp copy").unwrap();
    std::fs::write(w.join("x@local"), b"local copy").unwrap();
    std::fs::write(
        w.join("x#plan"),
        b"id x\nchannel smtp\nchannel local\nend\n",
    )
    .unwrap();
    std::fs::write(w.join("y@smtp"), b"orphan").unwrap();
    let handle = router::spool::Postoffice::open(&po.root).unwrap();
    let r = router::spool::recover::recover_all(&handle).unwrap();
    assert_eq!((r.rolled_forward, r.anomalies.len()), (1, 1));
    let snap = snapshot(&po);
    let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
    assert_eq!(keys, ["queue/local/x", "queue/smtp/x", "work/y@smtp"]);
}

/// sendmail-style submission: recipients as arguments, a lone `.` ends the message unless
/// `-i`/`-oi`, and `-t` is refused with EX_UNAVAILABLE until headers-as-recipients exists
/// (rather than accepting mail the router would park).
#[test]
fn submit_like_sendmail() {
    use std::io::Write;
    let po = new_po();
    let submit = |args: &[&str], input: &[u8]| {
        let mut c = Command::new(BIN)
            .arg("-p")
            .arg(&po.root)
            .arg("submit")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .guard();
        // A submit that refuses its arguments exits before reading: the write may then
        // meet a closed pipe, which is no failure of the test.
        let _ = c.0.stdin.take().unwrap().write_all(input);
        c.output()
    };
    let dot = submit(
        &["-f", "a@example.org", "b@example.net"],
        b"Subject: 1\n\nline\n.\nafter the dot\n",
    );
    assert!(dot.status.success());
    let keep = submit(
        &["-oi", "-f", "a@example.org", "--", "c@example.net"],
        b"Subject: 2\n\nline\n.\nafter the dot\n",
    );
    assert!(keep.status.success());
    // -t: no `to` lines; the router takes the recipients from the headers.
    let t = submit(
        &["-t", "-f", "a@example.org"],
        b"To: d@example.net\nBcc: e@example.net\n\nbody\n",
    );
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let t_both = submit(&["-t", "x@example.net"], b"To: d@example.net\n\nbody\n");
    assert_eq!(t_both.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&t_both.stderr).contains("-t"));
    let none = submit(&["-f", "a@example.org"], b"body\n");
    assert_eq!(none.status.code(), Some(64));
    let id = |o: &std::process::Output| {
        String::from_utf8(o.stdout.clone())
            .unwrap()
            .trim()
            .to_string()
    };
    let (d, k) = (id(&dot), id(&keep));
    let d_msg = std::fs::read(po.root.join("router").join(&d)).unwrap();
    let k_msg = std::fs::read(po.root.join("router").join(&k)).unwrap();
    assert_eq!(
        d_msg,
        b"from <a@example.org>\nto <b@example.net>\nenv-end\nSubject: 1\n\nline\n"
    );
    assert_eq!(k_msg, b"from <a@example.org>\nto <c@example.net>\nenv-end\nSubject: 2\n\nline\n.\nafter the dot\n");
    let t_msg = std::fs::read(po.root.join("router").join(id(&t))).unwrap();
    assert_eq!(
        t_msg,
        b"from <a@example.org>\nenv-end\nTo: d@example.net\nBcc: e@example.net\n\nbody\n"
    );
    // Routed: both recipients get it, neither copy shows the Bcc.
    let st = router(&po, RUN, &[]);
    assert!(st.success());
    let copy = std::fs::read_to_string(po.root.join("queue/smtp").join(id(&t))).unwrap();
    assert!(
        copy.contains("rcpt example.net <d@example.net>\nrcpt example.net <e@example.net>\n")
            && copy.ends_with("env-end\nTo: d@example.net\n\nbody\n"),
        "{copy}"
    );
}

/// router.toml through the real binary: its keys are used, `-p` overrides its postoffice, a
/// misspelt key is refused with EX_CONFIG (78) and named, and with neither a file nor `-p`
/// the router refuses to guess.
#[test]
fn configuration_file() {
    let po = new_po();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("router.toml");
    std::fs::write(
        &good,
        format!(
            "postoffice = \"{}\"\n[routing]\nlocal_domains = [\"cfg.test\"]\n",
            po.root.display()
        ),
    )
    .unwrap();
    put(
        &po,
        "m",
        b"from <a@b.c>\nto <u@cfg.test>\nenv-end\n\nbody\n",
    );
    let out = Command::new(BIN)
        .arg("-c")
        .arg(&good)
        .args(["run", "--once"])
        .output_within();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        po.root.join("queue/local/m").exists(),
        "local_domains from the file not used"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[limits]\nmax_atempts = 2\n").unwrap();
    let out = Command::new(BIN)
        .arg("-c")
        .arg(&bad)
        .arg("-p")
        .arg(&po.root)
        .args(["run", "--once"])
        .output_within();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_atempts"));
    let out = Command::new(BIN)
        .arg("-c")
        .arg(dir.path().join("absent.toml"))
        .args(["run", "--once"])
        .output_within();
    assert_eq!(out.status.code(), Some(78));
}

/// A line end in `-f` must not add lines to the envelope (it was accepted before: only the
/// recipients were checked). Refused with EX_USAGE, and nothing reaches router/.
#[test]
fn submit_refuses_line_ends_in_the_sender() {
    use std::io::Write;
    let po = new_po();
    let mut c = Command::new(BIN)
        .arg("-p")
        .arg(&po.root)
        .args([
            "submit",
            "-f",
            "a@example.org>\nto <victim@example.net",
            "b@example.net",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .guard();
    // Refused before stdin is read: the write may meet a closed pipe.
    let _ = c.0.stdin.take().unwrap().write_all(b"body\n");
    let out = c.output();
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        std::fs::read_dir(po.root.join("router")).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(po.root.join("public")).unwrap().count(),
        0
    );
}

/// A FIFO, a directory and a symlink under message names in router/: reported and left
/// alone, and the pass neither blocks (opening a FIFO with no writer would wait forever,
/// before any time limit starts) nor fails (a symlink made every pass an I/O error, and a
/// directory was claimed into work/).
#[test]
fn odd_files_under_message_names_are_left_alone() {
    let po = new_po();
    let r = po.root.join("router");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        r.join("fifo1"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    std::fs::create_dir(r.join("dir1")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", r.join("link1")).unwrap();
    put(
        &po,
        "m1",
        b"from <a@b.c>\nto <d@local.test>\nenv-end\n\nx\n",
    );
    let mut child = command(&po, RUN).guard();
    let t = std::time::Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the pass blocked");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let log = std::io::read_to_string(child.0.stderr.take().unwrap()).unwrap();
    assert!(st.success(), "{st:?}\n{log}");
    assert!(po.root.join("queue/local/m1").exists());
    for n in ["fifo1", "dir1", "link1"] {
        assert!(
            std::fs::symlink_metadata(r.join(n)).is_ok(),
            "{n} moved or deleted"
        );
        assert!(
            log.contains(&format!("router/{n} is not a regular file; left alone")),
            "{log}"
        );
    }
    let work: Vec<_> = std::fs::read_dir(po.root.join("work")).unwrap().collect();
    assert!(work.is_empty(), "work/ not empty: {work:?}");
}

/// The spool's directories are opened without following a symlink: a `queue/` that is a
/// symlink would put every output outside the spool. Refused at start, nothing written.
#[test]
fn a_symlinked_spool_directory_is_refused() {
    let po = new_po();
    let elsewhere = po._tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::remove_dir(po.root.join("queue")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, po.root.join("queue")).unwrap();
    put(&po, "m1", b"from <a@b.c>\nto <d@e.f>\nenv-end\n\nbody\n");
    let out = command(&po, RUN).output_within();
    assert_eq!(out.status.code(), Some(75), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("queue"), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert!(po.root.join("router/m1").exists());
}

/// A plan cut short (a power cut before S3 on a file system that renames before it writes)
/// is no plan: recovery rolls the message back and it is routed again to every channel.
/// The first version read only `channel` lines and rolled forward to fewer channels.
#[test]
fn a_torn_plan_rolls_back_and_the_message_is_routed_whole() {
    let po = new_po();
    let w = po.root.join("work");
    let msg = b"from <a@b.c>\nto <d@e.f>\nto <g@local.test>\nenv-end\n\nbody\n";
    std::fs::write(w.join("x"), msg).unwrap();
    std::fs::write(w.join("x@smtp"), b"id x\nchannel smtp\n...staged").unwrap();
    std::fs::write(w.join("x@local"), b"id x\nchannel local\n...staged").unwrap();
    for torn in ["id x\nchannel smtp\n", "id x\nchan", ""] {
        std::fs::write(w.join("x#plan"), torn).unwrap();
        let copy = copy_po(&po);
        let handle = router::spool::Postoffice::open(&copy.root).unwrap();
        let r = router::spool::recover::recover_all(&handle).unwrap();
        assert_eq!((r.rolled_back, r.rolled_forward), (1, 0), "{torn:?}");
        let snap = snapshot(&copy);
        let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
        // Its router died with it claimed: recovery counted the attempt.
        assert_eq!(keys, ["router/x", "work/x#attempts"], "{torn:?}");
        assert!(router(&copy, RUN, &[]).success());
        let snap = snapshot(&copy);
        let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
        assert_eq!(keys, ["queue/local/x", "queue/smtp/x"], "{torn:?}");
    }
}

/// A fault while a batch is being claimed releases every message claimed so far, and
/// charges none of them an attempt: the fault is the disk's. (The first version left them
/// in work/ for recovery, which rolled them back with their attempt counted.)
#[test]
fn a_fault_during_the_claims_releases_the_batch_uncharged() {
    // The third message's open.
    eio_during_the_claims_charges_nothing("C1.open", 2);
}

/// The same class at the claim's last step: the check that the name moved is the file held
/// (`C1.check`, an `fstatat` of `work/<id>`) fails with EIO. The message goes back to
/// `router/`, uncharged. (Before, it stayed in work/ with its lock dropped, and the next run's
/// recovery counted a death that did not happen: `work/m2#attempts`.)
#[test]
fn a_fault_in_the_claims_check_puts_the_message_back_uncharged() {
    // The second claim's check.
    eio_during_the_claims_charges_nothing("C1.check", 1);
}

/// Three messages; EIO at the `nth` (from 0) step labelled `label`, found by its number in a
/// trace of a clean run on a copy: the pass ends with the disk's exit code, every message is
/// back in `router/` with no attempt counted, and the next run routes each once.
fn eio_during_the_claims_charges_nothing(label: &str, nth: usize) {
    let po = new_po();
    for id in ["m1", "m2", "m3"] {
        put(&po, id, b"from <a@b.c>\nto <d@e.f>\nenv-end\n\nbody\n");
    }
    let trace = po._tmp.path().join("trace");
    let copy = copy_po(&po);
    router(
        &copy,
        RUN,
        &[("ROUTER_FAULT_TRACE", trace.display().to_string())],
    );
    let suffix = format!(" {label}");
    let step = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(&suffix))
        .nth(nth)
        .and_then(|l| l.split(' ').next()?.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{label} #{nth} not traced"));
    let st = router(&po, RUN, &[("ROUTER_FAULT", format!("eio@{step}"))]);
    assert_eq!(st.code(), Some(75));
    let snap = snapshot(&po);
    let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
    assert_eq!(keys, ["router/m1", "router/m2", "router/m3"]);
    // The next run's recovery finds nothing to count, and each is routed once.
    assert!(router(&po, RUN, &[]).success());
    let snap = snapshot(&po);
    let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
    assert_eq!(keys, ["queue/smtp/m1", "queue/smtp/m2", "queue/smtp/m3"]);
}

/// A batch's plan names several messages. Cut short by a power cut before `S3`, its whole
/// records still hold (their outputs were durable at `S2`) and roll forward; the message whose
/// record was cut rolls back, counted; the plan goes once nothing it names is left.
#[test]
fn a_batch_plan_cut_short_rolls_forward_its_whole_records_and_back_the_rest() {
    let po = new_po();
    let w = po.root.join("work");
    let msg = b"from <a@b.c>\nto <d@e.f>\nto <g@local.test>\nenv-end\n\nbody\n";
    for id in ["x", "y", "z"] {
        std::fs::write(w.join(id), msg).unwrap();
        std::fs::write(w.join(format!("{id}@smtp")), format!("{id} smtp copy")).unwrap();
        std::fs::write(w.join(format!("{id}@local")), format!("{id} local copy")).unwrap();
    }
    let whole = "id x\nchannel smtp\nchannel local\nend\nid y\nchannel smtp\nchannel local\nend\n";
    // z's record cut after its first channel: z has no commit point.
    std::fs::write(w.join("x#plan"), format!("{whole}id z\nchannel smtp\n")).unwrap();
    let handle = router::spool::Postoffice::open(&po.root).unwrap();
    let r = router::spool::recover::recover_all(&handle).unwrap();
    assert_eq!((r.rolled_forward, r.rolled_back), (2, 1), "{r:?}");
    assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
    let snap = snapshot(&po);
    let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "queue/local/x",
            "queue/local/y",
            "queue/smtp/x",
            "queue/smtp/y",
            "router/z",
            "work/z#attempts"
        ]
    );
    assert_eq!(snap["queue/local/y"], b"y local copy");
    // z is routed whole on the next pass.
    assert!(router(&po, RUN, &[]).success());
    let snap = snapshot(&po);
    assert_eq!(snap.keys().filter(|k| k.starts_with("queue/")).count(), 6);
    assert!(!snap
        .keys()
        .any(|k| k.starts_with("work/") || k.starts_with("router/")));
}

/// Recovery beside a live router: a plan whose messages a live router holds is that router's.
/// Recovery neither publishes from it nor removes it, and finishes only what is its own: a
/// message of the plan whose router already removed it (C6) is finished again harmlessly.
#[test]
fn recovery_leaves_a_live_routers_plan_to_it() {
    let po = new_po();
    let w = po.root.join("work");
    let msg = b"from <a@b.c>\nto <d@e.f>\nenv-end\n\nbody\n";
    std::fs::write(w.join("x"), msg).unwrap();
    std::fs::write(w.join("x@smtp"), b"x smtp copy").unwrap();
    // y: its router passed C6 already (published, message removed).
    std::fs::create_dir_all(po.root.join("queue/smtp")).unwrap();
    std::fs::write(po.root.join("queue/smtp/y"), b"y smtp copy").unwrap();
    let plan = "id x\nchannel smtp\nend\nid y\nchannel smtp\nend\n";
    std::fs::write(w.join("x#plan"), plan).unwrap();
    // The live router holds x.
    let held = std::fs::File::open(w.join("x")).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let handle = router::spool::Postoffice::open(&po.root).unwrap();
    let r = router::spool::recover::recover_all(&handle).unwrap();
    assert_eq!(
        (r.rolled_forward, r.rolled_back, r.busy),
        (0, 0, 1),
        "{r:?}"
    );
    let snap = snapshot(&po);
    let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["queue/smtp/y", "work/x", "work/x#plan", "work/x@smtp"]
    );
    // Its router dies: the next recovery finishes x from the plan, and removes the plan.
    drop(held);
    let r = router::spool::recover::recover_all(&handle).unwrap();
    assert_eq!((r.rolled_forward, r.rolled_back), (1, 0), "{r:?}");
    let snap = snapshot(&po);
    let keys: Vec<&str> = snap.keys().map(String::as_str).collect();
    assert_eq!(keys, ["queue/smtp/x", "queue/smtp/y"]);
}

/// The plan's cap and the channel cap: a message to exactly `PLAN_CHANNELS_MAX` channels is
/// routed, one to one more is parked `too-many-channels`, and the batch-mates of both are
/// routed (a batch of three, in one plan; the parked one commits by its move).
#[test]
fn a_message_to_more_channels_than_a_plan_names_is_parked_alone() {
    let max = router::limits::PLAN_CHANNELS_MAX;
    let po = new_po();
    let dir = po._tmp.path();
    let transport: String = (0..=max).map(|i| format!("d{i}.test c{i}:\n")).collect();
    std::fs::write(dir.join("transport"), transport).unwrap();
    let cfg = dir.join("router.toml");
    std::fs::write(
        &cfg,
        format!(
            "postoffice = \"{}\"\n[routing]\ntransport = \"transport\"\n",
            po.root.display()
        ),
    )
    .unwrap();
    let env = |n: usize| -> Vec<u8> {
        let mut m = String::from("from <a@b.c>\n");
        for i in 0..n {
            m += &format!("to <r@d{i}.test>\n");
        }
        m += "env-end\n\nbody\n";
        m.into_bytes()
    };
    put(&po, "a-at", &env(max));
    put(&po, "b-past", &env(max + 1));
    put(
        &po,
        "c-small",
        b"from <a@b.c>\nto <r@d7.test>\nenv-end\n\nbody\n",
    );
    let out = Command::new(BIN)
        .arg("-c")
        .arg(&cfg)
        .args(RUN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_remove("ROUTER_FAULT")
        .output_within();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q = po.root.join("queue");
    let routed_to = |id: &str| {
        (0..=max)
            .filter(|i| q.join(format!("c{i}")).join(id).exists())
            .count()
    };
    assert_eq!(routed_to("a-at"), max);
    assert_eq!(routed_to("c-small"), 1);
    assert_eq!(routed_to("b-past"), 0);
    let reason = std::fs::read_to_string(po.root.join("deferred/b-past.reason")).unwrap();
    assert!(reason.contains("too-many-channels"), "{reason}");
    assert!(std::fs::read_dir(po.root.join("work"))
        .unwrap()
        .next()
        .is_none());
}
