//! No one message or file stops the mail of the others (G9, seed 004's "it tied up all our
//! router processes and stopped all mail"). Each test puts one bad thing beside innocent mail,
//! through the real binary, and checks that the innocent mail is routed, that the bad thing
//! ends where the fault model says (docs/architecture.md, "Who is at fault"), that nothing
//! is lost or replaced, and that the router keeps routing on later passes.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::*;

fn msg(to: &str, body: &str) -> Vec<u8> {
    format!("from <a@b.c>\nto <{to}>\nenv-end\nSubject: {body}\n\n{body}\n").into_bytes()
}

fn keys(po: &Po) -> Vec<String> {
    snapshot(po).into_keys().collect()
}

/// An injector reuses an id while the first copy still waits in `queue/smtp/` and another id
/// while its first copy is parked in `deferred/`. Before: publishing failed after the commit
/// point, every later pass failed in recovery, batch-mates stayed in work/, and the parked
/// copy's reason file was overwritten by the newcomer's.
#[test]
fn an_id_used_twice_stops_no_one_and_replaces_nothing() {
    let po = new_po();
    let q = po.root.join("queue/smtp");
    std::fs::create_dir_all(&q).unwrap();
    std::fs::write(q.join("dup"), b"the earlier copy, not yet delivered").unwrap();
    let d = po.root.join("deferred");
    std::fs::write(d.join("dup2"), b"the earlier parked message").unwrap();
    std::fs::write(
        d.join("dup2.reason"),
        b"Reason: hop-limit\nDetail: the first\n",
    )
    .unwrap();
    put(&po, "dup", &msg("x@example.net", "newcomer"));
    put(
        &po,
        "dup2",
        b"from <a@b.c>\nbogus\nenv-end\n\nnewcomer, malformed\n",
    );
    for i in 0..3 {
        put(
            &po,
            &format!("ok{i}"),
            &msg(&format!("u{i}@example.net"), "innocent"),
        );
    }
    let out = command(&po, RUN).output_within();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("dup: id used twice: queue/smtp/dup exists already"),
        "{log}"
    );
    assert!(
        log.contains("dup2: id used twice: deferred/dup2 exists already"),
        "{log}"
    );
    let snap = snapshot(&po);
    for i in 0..3 {
        assert!(
            snap.contains_key(&format!("queue/smtp/ok{i}")),
            "{:?}",
            snap.keys()
        );
    }
    assert_eq!(
        snap["queue/smtp/dup"],
        b"the earlier copy, not yet delivered"
    );
    assert_eq!(snap["deferred/dup2"], b"the earlier parked message");
    assert_eq!(
        snap["deferred/dup2.reason"],
        b"Reason: hop-limit\nDetail: the first\n"
    );
    // The routers go on: a later pass routes new mail, and reports the newcomers again.
    put(&po, "ok3", &msg("u3@example.net", "innocent"));
    let out = command(&po, RUN).output_within();
    assert!(out.status.success());
    assert!(
        snapshot(&po).contains_key("queue/smtp/ok3"),
        "{:?}",
        keys(&po)
    );
    // The newcomer waits past its commit point, its batch's plan kept for it: no router died
    // of it, so no attempt is counted (with the plan removed, recovery took it for a dead
    // router's message and counted one per pass until it was parked).
    assert!(
        !snapshot(&po).contains_key("work/dup#attempts") && po.root.join("work/dup#plan").exists(),
        "{:?}",
        keys(&po)
    );
    // Once the agent has taken the earlier copy, the newcomer is delivered: nothing lost.
    std::fs::remove_file(q.join("dup")).unwrap();
    let out = command(&po, RUN).output_within();
    assert!(out.status.success());
    let snap = snapshot(&po);
    let dup = String::from_utf8_lossy(&snap["queue/smtp/dup"]).into_owned();
    assert!(
        dup.starts_with("id dup\n") && dup.ends_with("newcomer\n"),
        "{dup}"
    );
    assert!(
        !snap
            .keys()
            .any(|k| k.starts_with("work/dup#") || k == "work/dup"),
        "{:?}",
        snap.keys()
    );
    // The parked newcomer is still not parked over the first (it waits, reported).
    assert_eq!(
        snap["deferred/dup2.reason"],
        b"Reason: hop-limit\nDetail: the first\n"
    );
}

/// A file in router/ the router may not open (another user's 0600 file: `router submit` run
/// with umask 077 makes exactly that when router/ is group-writable). Before: every pass
/// failed. The router runs as an unprivileged user here, as it does in service.
#[test]
fn a_file_the_router_cannot_open_is_left_alone() {
    if !rustix::process::geteuid().is_root() {
        cannot_run_here("needs root to run the router as another user");
        return;
    }
    let po = new_po();
    let nobody = 65534;
    // The test's directory is private to root: let the router's user through.
    std::fs::set_permissions(po._tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    put(&po, "theirs", &msg("t@example.net", "someone else's"));
    for i in 0..2 {
        put(
            &po,
            &format!("ok{i}"),
            &msg(&format!("u{i}@example.net"), "innocent"),
        );
    }
    let chown = |p: &std::path::Path| {
        std::os::unix::fs::chown(p, Some(nobody), Some(nobody)).unwrap();
    };
    chown(&po.root);
    for d in ["public", "router", "work", "queue", "deferred"] {
        chown(&po.root.join(d));
    }
    for i in 0..2 {
        chown(&po.root.join(format!("router/ok{i}")));
    }
    let theirs = po.root.join("router/theirs");
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = || {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
            .arg("-p")
            .arg(&po.root)
            .args(RUN)
            .stdout(Stdio::null())
            .output_within()
    };
    let out = run();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {log}", out.status);
    assert!(
        log.contains("router/theirs cannot be opened by this router"),
        "{log}"
    );
    let snap = snapshot(&po);
    assert!(snap.contains_key("queue/smtp/ok0") && snap.contains_key("queue/smtp/ok1"));
    assert!(snap.contains_key("router/theirs"), "left where it was");
    // And again: the next pass is not stopped either.
    put(&po, "ok2", &msg("u2@example.net", "innocent"));
    chown(&po.root.join("router/ok2"));
    let out = run();
    assert!(out.status.success());
    assert!(snapshot(&po).contains_key("queue/smtp/ok2"));
}

/// Few file descriptors (a low `ulimit -n`): each claimed message holds one, so a batch of
/// 64 cannot be held open. Before: EMFILE on every pass, and the release itself failed for
/// want of a descriptor, leaving the batch claimed in work/. Now the batch shrinks until it
/// fits, and everything is routed.
#[test]
fn a_low_open_files_limit_shrinks_batches_and_routes_everything() {
    let po = new_po();
    for i in 0..100 {
        put(
            &po,
            &format!("m{i:03}"),
            format!("from <a@b.c>\nto <u{i}@example.net>\nto <v{i}@local.test>\nenv-end\n\nx\n")
                .as_bytes(),
        );
    }
    let out = Command::new("prlimit")
        .arg("--nofile=16:16")
        .arg(BIN)
        .arg("-p")
        .arg(&po.root)
        .args(RUN)
        .output_within();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let snap = snapshot(&po);
    let smtp = snap.keys().filter(|k| k.starts_with("queue/smtp/")).count();
    let local = snap
        .keys()
        .filter(|k| k.starts_with("queue/local/"))
        .count();
    assert_eq!(
        (smtp, local, snap.len()),
        (100, 100, 200),
        "{:?}",
        snap.keys().take(8).collect::<Vec<_>>()
    );
}

/// A FIFO or a symlink where the administrator's commands expect a reason file: `status` and
/// `deferred list` neither wait on it nor follow it (before: a FIFO hung `router status`).
#[test]
fn the_admin_commands_neither_wait_on_nor_follow_a_planted_reason_file() {
    let po = new_po();
    let d = po.root.join("deferred");
    std::fs::write(d.join("fifo"), b"parked").unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        d.join("fifo.reason"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    std::fs::write(po._tmp.path().join("secret"), b"Reason: not-yours\n").unwrap();
    std::fs::write(d.join("link"), b"parked").unwrap();
    std::os::unix::fs::symlink(po._tmp.path().join("secret"), d.join("link.reason")).unwrap();
    std::fs::write(d.join("good"), b"parked").unwrap();
    std::fs::write(d.join("good.reason"), b"Reason: hop-limit\nDetail: x\n").unwrap();
    let out = command(&po, &["status"]).output_within();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("hop-limit") && text.contains("unknown"),
        "{text}"
    );
    assert!(!text.contains("not-yours"), "{text}");
    let out = command(&po, &["deferred", "list"]).output_within();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
}

/// A message in router/ with a second name (a hard link from a directory its writer keeps):
/// the writer could change it after it was published, so it is reported and left alone; the
/// rest is routed.
#[test]
fn a_hard_linked_message_is_left_alone() {
    let po = new_po();
    let outside = po._tmp.path().join("kept-by-the-writer");
    std::fs::write(&outside, msg("x@example.net", "changeable")).unwrap();
    std::fs::hard_link(&outside, po.root.join("router/linked")).unwrap();
    put(&po, "ok", &msg("u@example.net", "innocent"));
    let out = command(&po, RUN).output_within();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("router/linked has a second name"), "{log}");
    let snap = snapshot(&po);
    assert!(snap.contains_key("queue/smtp/ok") && snap.contains_key("router/linked"));
    assert!(!snap.contains_key("queue/smtp/linked"));
}

/// A symlink or a hard link planted where a message's attempt counter goes
/// (`work/<id>#attempts`): never followed or written (the file it names is untouched) and never
/// removed; that message waits in router/, reported; the others are routed. Before: the
/// symlink's open failed with ELOOP as a disk fault and every pass stopped; the hard link had
/// a byte appended to a file outside the spool on every attempt.
#[test]
fn a_symlink_at_a_counter_stops_only_its_message() {
    for hard in [false, true] {
        let po = new_po();
        let target = po._tmp.path().join("victim");
        std::fs::write(&target, b"not the router's").unwrap();
        let counter = po.root.join("work/bad#attempts");
        if hard {
            std::fs::hard_link(&target, &counter).unwrap();
        } else {
            std::os::unix::fs::symlink(&target, &counter).unwrap();
        }
        put(
            &po,
            "bad",
            &msg("x@example.net", "its counter is not the router's"),
        );
        put(&po, "ok", &msg("u@example.net", "innocent"));
        for _ in 0..2 {
            let out = command(&po, RUN).output_within();
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{log}");
            assert!(
                log.contains("work/bad#attempts is not the router's"),
                "hard link {hard}: {log}"
            );
        }
        let snap = snapshot(&po);
        assert!(snap.contains_key("queue/smtp/ok") && snap.contains_key("router/bad"));
        assert!(std::fs::symlink_metadata(&counter).is_ok());
        assert_eq!(
            std::fs::read(&target).unwrap(),
            b"not the router's",
            "hard link {hard}"
        );
    }
}

/// A release racing a re-park: `deferred release` puts the message back in router/, a router
/// claims it at once and parks it again with a new reason file; the release must not then
/// delete that reason (it unlinked the reason after the rename, and about 1 release in 450
/// took the new one). Made deterministic: the release is stopped right after its rename.
#[test]
fn a_release_racing_a_re_park_keeps_the_new_reason() {
    let po = new_po();
    let poison = format!(
        "from <a@example.org>\nto <b@example.net>\nenv-end\nReply-To: {}a@b.c\n\nx\n",
        "(".repeat(40) + &")".repeat(40)
    );
    put(&po, "poison", poison.as_bytes());
    put(&po, "ok", &msg("u@example.net", "innocent"));
    assert!(command(&po, RUN).status_within().success());
    let reason = po.root.join("deferred/poison.reason");
    assert!(reason.exists(), "parked with its reason");
    let mut release = command(&po, &["deferred", "release", "poison"])
        .env("ROUTER_FAULT", "stop@D3.fsync-router")
        .guard();
    wait_stopped(release.id());
    assert!(
        po.root.join("router/poison").exists(),
        "released, not yet done"
    );
    // A router takes it now and parks it again, with a new reason file.
    assert!(command(&po, RUN).status_within().success());
    assert!(reason.exists(), "parked again");
    release.signal(rustix::process::Signal::CONT);
    assert!(release.wait().success());
    assert!(po.root.join("deferred/poison").exists());
    assert!(reason.exists(), "the release took the new reason file");
    assert!(snapshot(&po).contains_key("queue/smtp/ok"));
}

/// Symlinks and hard links planted in every spool directory, under names the router reads
/// (ids in public/, router/, work/, queue/<channel>/ and deferred/, a reason file): none is
/// followed (the files they name are unchanged), none is deleted, innocent mail is routed,
/// and the admin commands answer.
#[test]
fn links_planted_in_every_spool_directory_are_never_followed_or_deleted() {
    let po = new_po();
    let secret = po._tmp.path().join("secret");
    let hard = po._tmp.path().join("hard");
    std::fs::write(&secret, b"secret").unwrap();
    std::fs::write(&hard, msg("h@example.net", "a hard link's data")).unwrap();
    std::fs::create_dir(po.root.join("queue/smtp")).unwrap();
    let dirs = ["public", "router", "work", "queue/smtp", "deferred"];
    let mut planted = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let sym = po.root.join(d).join(format!("1700000000.{i}-1-1"));
        std::os::unix::fs::symlink(&secret, &sym).unwrap();
        let link = po.root.join(d).join(format!("1700000000.{i}-2-2"));
        std::fs::hard_link(&hard, &link).unwrap();
        planted.push(sym);
        planted.push(link);
    }
    let reason = po.root.join("deferred/1700000000.4-1-1.reason");
    std::os::unix::fs::symlink(&secret, &reason).unwrap();
    planted.push(reason);
    put(&po, "ok", &msg("u@example.net", "innocent"));
    for _ in 0..2 {
        let out = command(&po, RUN).output_within();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
    }
    for args in [
        &["status"][..],
        &["deferred", "list"],
        &["deferred", "show", "1700000000.4-1-1"],
    ] {
        let out = command(&po, args).output_within();
        assert!(
            out.status.code().is_some(),
            "{args:?} did not answer: {out:?}"
        );
    }
    assert!(
        snapshot(&po).contains_key("queue/smtp/ok"),
        "innocent mail routed"
    );
    assert_eq!(std::fs::read(&secret).unwrap(), b"secret");
    assert_eq!(
        std::fs::read(&hard).unwrap(),
        msg("h@example.net", "a hard link's data")
    );
    for p in &planted {
        // Recovery may hand a planted work/<id> back to router/ (a rename moves the link,
        // never what it names); nothing may delete it.
        let name = p.file_name().unwrap();
        let back = po.root.join("router").join(name);
        assert!(
            std::fs::symlink_metadata(p).is_ok() || std::fs::symlink_metadata(&back).is_ok(),
            "{} was deleted",
            p.display()
        );
    }
}

/// Names that always fit: the longest id the router takes (190 bytes) gets every derived name
/// (`work/<id>@<channel>`, `<id>#attempts`, `deferred/<id>.reason`) under NAME_MAX and is
/// routed; a longer name in router/ (still a legal file name) is not an id: reported and left,
/// and the innocent mail beside it is routed. Before: an id of legal length plus a channel
/// name made a staged name over 255 bytes, and every pass failed.
#[test]
fn the_longest_ids_fit_and_longer_names_are_left_alone() {
    let po = new_po();
    let longest = "i".repeat(router::limits::ID_BYTES_MAX);
    let too_long = "t".repeat(250);
    put(&po, &longest, &msg("u@example.net", "the longest id"));
    put(&po, &too_long, &msg("v@example.net", "not an id"));
    put(&po, "ok", &msg("w@example.net", "innocent"));
    for _ in 0..2 {
        let out = command(&po, RUN).output_within();
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
        assert!(
            log.contains(&format!("router/{too_long} is not a message id")),
            "{log}"
        );
    }
    // `status` and `check` show it; neither fails for it.
    for args in [&["status"][..], &["check"]] {
        let out = command(&po, args).stdout(Stdio::piped()).output_within();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            text.contains(&format!("router/{too_long}")),
            "{args:?}: {text}"
        );
    }
    let snap = snapshot(&po);
    assert!(snap.contains_key(&format!("queue/smtp/{longest}")));
    assert!(snap.contains_key("queue/smtp/ok"));
    assert!(
        snap.contains_key(&format!("router/{too_long}")),
        "left, never deleted"
    );
}

/// A process limit (RLIMIT_NPROC for the router's user, which counts threads too): with
/// room for the supervisor and its threads but not for workers (3), every worker start fails;
/// with room for the workers but not for their reader threads (4), every reader start fails.
/// Either way the supervisor logs it, backs off and keeps running (before: it panicked and the
/// daemon was gone); once the limit is raised, the mail waiting is routed. With no room even
/// for the log thread (1) it refuses to start with a clear line and EX_OSERR, not a panic.
#[test]
fn a_process_limit_delays_the_workers_and_never_kills_the_supervisor() {
    if !rustix::process::geteuid().is_root() {
        cannot_run_here("needs root to run the router as a user with a process limit");
        return;
    }
    let start = |po: &Po, nproc: u32| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg("prlimit")
            .arg(format!("--nproc={nproc}:64"))
            .arg(BIN)
            .arg("-p")
            .arg(&po.root)
            .args(["run", "--workers", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .guard()
    };
    let shared_po = || {
        let po = new_po();
        std::fs::set_permissions(po._tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        put(&po, "ok", &msg("u@example.net", "innocent"));
        let status = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(&po.root)
            .status()
            .unwrap();
        assert!(status.success());
        po
    };
    let po = shared_po();
    let out = start(&po, 1).output_within(CHILD_DEADLINE);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(71), "{err}");
    assert!(err.contains("cannot start the log thread"), "{err}");
    for (nproc, expect) in [(3, "cannot start worker"), (4, "cannot start a reader")] {
        let po = shared_po();
        let mut sup = start(&po, nproc);
        let stderr = sup.0.stderr.take().unwrap();
        let log = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert!(
            sup.try_wait().unwrap().is_none(),
            "nproc {nproc}: the supervisor died"
        );
        assert!(
            !snapshot(&po).contains_key("queue/smtp/ok"),
            "nproc {nproc}: routed although no worker could run"
        );
        // Raise the (soft) limit of the running supervisor, as its own user (root may lack
        // CAP_SYS_RESOURCE in a container): a later restart succeeds.
        let status = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "prlimit",
            ])
            .args(["--pid", &sup.id().to_string(), "--nproc=64:64"])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !snapshot(&po).contains_key("queue/smtp/ok") {
            assert!(
                std::time::Instant::now() < deadline,
                "nproc {nproc}: never routed after the limit was raised"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(
            sup.try_wait().unwrap().is_none(),
            "nproc {nproc}: the supervisor died"
        );
        sup.signal(rustix::process::Signal::TERM);
        sup.wait();
        let log = log.join().unwrap();
        assert!(log.contains(expect), "nproc {nproc}: {log}");
    }
}

/// Runs `router` stopped just before its claim's rename of `x`, renames `newcomer` over
/// `router/x` meanwhile (as its writer may), resumes it, and checks that the pass succeeded
/// and reported the replacement.
fn replace_x_mid_claim(po: &Po, router: &mut Command, newcomer: &[u8]) {
    let first = router
        .env("ROUTER_FAULT", "stop@C1.rename")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .guard();
    wait_stopped(first.id());
    assert!(
        po.root.join("router/x").exists(),
        "opened and locked, not yet moved"
    );
    let outside = po._tmp.path().join("newcomer");
    std::fs::write(&outside, newcomer).unwrap();
    std::fs::rename(&outside, po.root.join("router/x")).unwrap();
    first.signal(rustix::process::Signal::CONT);
    let out = first.output();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("router/x was replaced by another file while it was being claimed"),
        "{log}"
    );
}

/// A writer renames a file of its own over its message `x` between the claim's open and the
/// claim's rename (the sticky `router/` lets a writer rename its own files). The name the
/// claim moves into `work/` is then the newcomer, while the router holds the replaced file.
/// Before: the router routed the replaced file's bytes as `x` and removed `work/x` at C6,
/// so the newcomer was deleted without ever being read. Now the claim checks that `work/x`
/// is the file it holds; the newcomer is put back, reported, and routed by the next pass; the
/// replaced file, which its writer took out of the spool, is not routed.
#[test]
fn a_message_replaced_under_its_claim_is_put_back_never_deleted() {
    let po = new_po();
    put(&po, "x", &msg("first@example.net", "the replaced x"));
    put(&po, "y", &msg("other@example.net", "another writer's y"));
    replace_x_mid_claim(
        &po,
        &mut command(&po, RUN),
        &msg("second@example.net", "the newcomer"),
    );
    assert!(
        snapshot(&po).contains_key("queue/smtp/y"),
        "the others go on"
    );
    // The newcomer was put back, and routed as x by a later sweep of the same pass (the pass
    // routed y, so it swept again) or by the next pass; the replaced bytes reach no queue.
    assert!(command(&po, RUN).status_within().success());
    let snap = snapshot(&po);
    let routed = String::from_utf8_lossy(&snap["queue/smtp/x"]).into_owned();
    assert!(routed.contains("the newcomer"), "{routed}");
    assert!(
        !snap
            .values()
            .any(|b| String::from_utf8_lossy(b).contains("the replaced x")),
        "{:?}",
        snap.keys()
    );
    assert!(
        !snap.keys().any(|k| k.starts_with("work/")),
        "{:?}",
        snap.keys()
    );
}

/// The same in ZMailer mode, where the message file itself is handed on and the control file
/// is named after the inode the claim holds: without the check, ZMailer's scheduler got the
/// replaced message's recipients beside the newcomer's bytes. Every control file must name its
/// own message's recipients (checked by `outcome`, which matches messages by their bytes).
#[test]
fn in_zmailer_mode_a_replaced_message_is_handed_over_with_its_own_envelope() {
    use common::zmailer_mode::{config, outcome, run_args};
    let po = new_po();
    std::fs::create_dir(po.root.join("transport")).unwrap();
    let replaced = b"from <a@example.org>\nto <replaced@example.net>\nenv-end\n\nthe replaced x\n";
    let newcomer = b"from <a@example.org>\nto <newcomer@example.net>\nenv-end\n\nthe newcomer\n";
    let other = b"from <a@example.org>\nto <other@example.net>\nenv-end\n\nanother y\n";
    put(&po, "x", replaced);
    put(&po, "y", other);
    let cfg = config(&po);
    let args = run_args(&cfg);
    replace_x_mid_claim(&po, command(&po, &[]).args(&args), newcomer);
    assert!(command(&po, &[]).args(&args).status_within().success());
    let originals = [("x", &newcomer[..]), ("y", &other[..])]
        .iter()
        .map(|(id, b)| (id.to_string(), b.to_vec()))
        .collect();
    let fate = outcome(&po, &originals).unwrap_or_else(|e| panic!("{e}: {:?}", keys(&po)));
    assert!(
        fate["x"].contains("newcomer@example.net") && !fate["x"].contains("replaced@"),
        "{fate:?}"
    );
    assert!(fate["y"].contains("other@example.net"), "{fate:?}");
}

/// The claim's rename never replaces: a live router holds `work/x` (stopped right after its
/// claim, lock held), a newcomer of the same id arrives in router/, and a second router's
/// pass leaves the newcomer where it is, reported. When the first router resumes, the first
/// `x` is routed and the newcomer still waits (the id-reuse rule): nothing lost. With a plain rename the newcomer
/// replaced `work/x` under the live router, which then removed it as its own at C6 (no other
/// test failed with a plain rename).
#[test]
fn a_claim_never_replaces_a_message_a_live_router_holds() {
    let po = new_po();
    put(&po, "x", &msg("first@example.net", "the first x"));
    let mut first = command(&po, RUN)
        .env("ROUTER_FAULT", "stop@C3.read")
        .guard();
    wait_stopped(first.id());
    assert!(po.root.join("work/x").exists(), "claimed, then stopped");
    put(&po, "x", &msg("second@example.net", "the second x"));
    let out = command(&po, RUN).output_within();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("x: id used twice: work/x exists already"),
        "{log}"
    );
    first.signal(rustix::process::Signal::CONT);
    assert!(first.wait().success());
    let snap = snapshot(&po);
    let routed = String::from_utf8_lossy(&snap["queue/smtp/x"]).into_owned();
    assert!(
        routed.contains("the first x") && routed.contains("first@example.net"),
        "{routed}"
    );
    // The newcomer waits: in router/, or claimed by the resumed router and held in work/
    // because queue/smtp/x is the first one's (the id-reuse rule: nothing replaced).
    let waiting = ["router/x", "work/x"]
        .iter()
        .filter_map(|k| snap.get(*k))
        .any(|b| String::from_utf8_lossy(b).contains("the second x"));
    assert!(
        waiting,
        "the newcomer is lost: {:?}",
        snap.keys().collect::<Vec<_>>()
    );
    // Taken later, once the first is gone from the queue (its agent delivered it), it goes too.
    std::fs::remove_file(po.root.join("queue/smtp/x")).unwrap();
    assert!(command(&po, RUN).status_within().success());
    let routed = String::from_utf8_lossy(&snapshot(&po)["queue/smtp/x"]).into_owned();
    assert!(routed.contains("the second x"), "{routed}");
}

/// Recovery racing a live router, made deterministic. Router A claims `x` and stops (after its
/// claim); router B's recovery lists work/ (seeing only `x`) and stops before taking `x`'s
/// lock; A goes on, stages both outputs (and, in the second round, writes its plan), stops
/// again and is killed; B goes on. B must act on what is there when it holds the lock, not on
/// its first listing: roll back and remove both staged outputs (no plan), or roll forward and
/// publish what the plan names. Either way `x` ends in each queue once and nothing is left
/// in work/. (Taking the staged outputs or the roll-forward from the first listing survived
/// every test but the soak, and there only by its timeout.)
#[test]
fn recovery_acts_on_what_is_there_once_it_holds_the_lock() {
    for a_dies_at in ["C4.plan-create", "C5.publish"] {
        let po = new_po();
        put(
            &po,
            "x",
            b"from <a@b.c>\nto <r@example.net>\nto <s@local.test>\nenv-end\nSubject: x\n\nx\n",
        );
        let mut a = command(&po, RUN)
            .env("ROUTER_FAULT", format!("stop@C3.read,stop@{a_dies_at}"))
            .guard();
        wait_stopped(a.id());
        let mut b = command(&po, RUN)
            .env("ROUTER_FAULT", "stop@R1.lock")
            .guard();
        wait_stopped(b.id());
        a.signal(rustix::process::Signal::CONT);
        wait_stopped(a.id());
        let staged: Vec<String> = keys(&po)
            .into_iter()
            .filter(|k| k.starts_with("work/x@"))
            .collect();
        assert_eq!(
            staged.len(),
            2,
            "{a_dies_at}: A staged both outputs: {:?}",
            keys(&po)
        );
        a.signal(rustix::process::Signal::KILL);
        let _ = a.wait();
        b.signal(rustix::process::Signal::CONT);
        assert!(b.wait().success(), "{a_dies_at}");
        let left = keys(&po);
        assert_eq!(
            left,
            ["queue/local/x", "queue/smtp/x"],
            "{a_dies_at}: x in each queue once, nothing else"
        );
    }
}
