//! The router process end to end, through the real binary: `router run` as a supervisor with
//! worker processes, on postoffices fed from corpus/.
//!
//! - corpus/messages: every message where corpus/messages/expect says (queue channels or a
//!   reason), with the copies and reason files checked in detail; the alias loop among them.
//! - corpus/malformed (plus 1 MiB versions of every hostile shape): each message in exactly
//!   one place, every parked one with a parser reason, no worker lost, and the worker's peak
//!   RSS (VmHWM, reported by the worker at exit) under 32 MiB.
//! - G7: a message that exhausts memory outside the arena (an alias fan-out with the cap
//!   raised) kills only its worker under RLIMIT_AS; it is parked after max_attempts, counted
//!   across a full restart of `router run`. A message that stalls its worker (injected through
//!   the file-system seam: `ROUTER_FAULT=stall@MARKER`) is killed at message_time_limit and
//!   parked the same way.
//! - G4: with stderr a pipe nobody reads, routing goes on; lines are dropped and counted.
//! - inotify, SIGHUP (a bad configuration refused, a good one taken), SIGTERM (drain, exit 0).

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

/// A router.toml in the test's temporary directory, for `po`, with `extra` appended to its
/// sections (`[limits]` and `[routing]` lines given as `limits.x = y` / `routing.x = y`).
fn config(po: &Po, limits: &str, routing: &str) -> PathBuf {
    let c = po._tmp.path().join(format!("router-{}.toml", unique()));
    std::fs::write(
        &c,
        format!(
            "postoffice = {:?}\nworkers = 2\n[limits]\n{limits}\n[routing]\nlocal_domains = [\"example.org\"]\n{routing}\n",
            po.root
        ),
    )
    .unwrap();
    c
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The corpus tables, copied beside the postoffice; returns the `[routing]` lines naming them.
fn corpus_tables(po: &Po) -> String {
    let mut lines = String::new();
    for t in ["aliases", "transport"] {
        let to = po._tmp.path().join(t);
        std::fs::copy(corpus().join("messages").join(t), &to).unwrap();
        lines += &format!("{t} = {:?}\n", to);
    }
    lines
}

fn run_once(cfg: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("-c").arg(cfg).args(["run", "--once"]).args(extra);
    c.env_remove("ROUTER_FAULT");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output_within()
}

/// `routed N parked N worker-restarts N time-kills N max-worker-rss-kib N dropped-log-lines N`
fn summary(out: &Output) -> BTreeMap<String, u64> {
    let s = String::from_utf8_lossy(&out.stdout);
    let line = s.lines().last().unwrap_or("");
    let w: Vec<&str> = line.split_whitespace().collect();
    w.chunks(2)
        .filter_map(|p| Some((p[0].to_string(), p.get(1)?.parse().ok()?)))
        .collect()
}

/// Where each id is: channels it is queued for, or its deferral reason file.
fn fates(root: &Path) -> BTreeMap<String, (Vec<String>, Option<String>)> {
    let mut m: BTreeMap<String, (Vec<String>, Option<String>)> = BTreeMap::new();
    for ch in std::fs::read_dir(root.join("queue")).unwrap().flatten() {
        let chn = ch.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(ch.path()).unwrap().flatten() {
            let id = f.file_name().to_string_lossy().into_owned();
            m.entry(id).or_default().0.push(chn.clone());
        }
    }
    for f in std::fs::read_dir(root.join("deferred")).unwrap().flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".reason") {
            let text = std::fs::read_to_string(f.path()).unwrap();
            assert!(
                root.join("deferred").join(id).exists(),
                "reason without message: {id}"
            );
            m.entry(id.to_string()).or_default().1 = Some(text);
        }
    }
    for v in m.values_mut() {
        v.0.sort();
    }
    m
}

fn field<'a>(reason: &'a str, name: &str) -> Option<&'a str> {
    reason
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
}

fn nothing_left(root: &Path) {
    for d in ["router", "work"] {
        let left: Vec<_> = std::fs::read_dir(root.join(d))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "{d}/ not empty: {left:?}");
    }
}

#[test]
fn corpus_messages_and_the_alias_loop_end_where_expected() {
    let po = new_po();
    let tables = corpus_tables(&po);
    let cfg = config(&po, "", &tables);
    let expect = std::fs::read_to_string(corpus().join("messages/expect")).unwrap();
    let mut want = BTreeMap::new();
    for line in expect
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut w = line.split_whitespace();
        let (file, outcome) = (w.next().unwrap(), w.next().unwrap());
        let id = file.trim_end_matches(".eml").to_string();
        put(
            &po,
            &id,
            &std::fs::read(corpus().join("messages").join(file)).unwrap(),
        );
        want.insert(id, outcome.to_string());
    }
    assert_eq!(want.len(), 15);
    let out = run_once(&cfg, &[], &[]);
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{log}");
    let s = summary(&out);
    assert_eq!(
        (s["routed"], s["parked"], s["worker-restarts"]),
        (9, 6, 0),
        "{log}"
    );
    let got = fates(&po.root);
    for (id, outcome) in &want {
        let (chans, reason) = &got[id];
        let have = match reason {
            Some(r) => format!("deferred:{}", field(r, "Reason").unwrap()),
            None => format!("queue:{}", chans.join(",")),
        };
        assert_eq!(&have, outcome, "{id}");
        // One log line per message, with its outcome.
        let line = log
            .lines()
            .find(|l| l.contains(&format!("]: {id}: from=")))
            .unwrap_or_else(|| panic!("no log line for {id}\n{log}"));
        assert!(
            line.contains(if reason.is_some() {
                "status=parked ("
            } else {
                "status=routed"
            }),
            "{line}"
        );
    }
    nothing_left(&po.root);
    let read = |p: &str| std::fs::read_to_string(po.root.join(p)).unwrap();
    // Bcc: both recipients routed, the field gone from every copy.
    for ch in ["local", "smtp"] {
        let copy = read(&format!("queue/{ch}/headers-bcc"));
        let (_, msg) = copy.split_once("env-end\n").unwrap();
        assert!(!msg.contains("\nBcc:") && !msg.contains("secret"), "{copy}");
    }
    assert!(
        read("queue/smtp/headers-bcc").contains("rcpt [mx.example.net]:25 <secret@example.net>\n")
    );
    // Aliases: pipe and file with the alias as next hop; \carol not aliased further.
    assert!(
        read("queue/pipe/alias-pipe-file").contains("rcpt bugs /usr/local/bin/bug-tracker --new\n")
    );
    assert!(read("queue/file/alias-pipe-file").contains("rcpt archive /var/mail/archive\n"));
    assert!(read("queue/local/alias-staff")
        .contains("rcpt - <alice@example.org>\nrcpt - <carol@example.org>\n"));
    assert!(read("queue/error/transport-error")
        .contains("error <someone@old.example> old.example stopped accepting mail in 2020\n"));
    // The passed header fault is logged, the headers untouched.
    let passed = "broken-from-passed: header fault passed on: From: missing-domain";
    assert!(log.contains(passed), "{log}");
    assert!(read("queue/smtp/broken-from-passed").contains("\nFrom: alice@@example.org\n"));
    // Reason files: the loop's chain, the field and the offset into the stored file.
    let r = read("deferred/alias-loop.reason");
    assert_eq!(
        field(&r, "Detail"),
        Some("alias loop: loop-a -> loop-b -> loop-c -> loop-a")
    );
    let r = read("deferred/bad-to-needed.reason");
    assert_eq!(field(&r, "Field"), Some("To"));
    let off: usize = field(&r, "Offset").unwrap().parse().unwrap();
    let raw = std::fs::read(po.root.join("deferred/bad-to-needed")).unwrap();
    assert_eq!(
        &raw[off - 9..=off],
        b"To: Dave <",
        "offset {off}: the unbalanced `<` as stored"
    );
    let r = read("deferred/hop-limit.reason");
    assert_eq!(
        (field(&r, "Field"), field(&r, "Limit")),
        (Some("Received"), Some("50"))
    );
    let r = read("deferred/deep-cc.reason");
    assert_eq!(
        (field(&r, "Field"), field(&r, "Limit")),
        (Some("Cc"), Some("32"))
    );
    // Parked messages are stored untouched.
    assert_eq!(
        std::fs::read(po.root.join("deferred/alias-loop")).unwrap(),
        std::fs::read(corpus().join("messages/alias-loop.eml")).unwrap()
    );
}

/// Every hostile shape as a message: from corpus/malformed, and generated at 1 MiB; each in
/// To with no `to` line (needed: parked if it does not parse) and in Reply-To beside a `to`
/// line (not needed: routed unless it hits a cap). One worker routes them all; its peak RSS
/// is what it reports at exit (VmHWM from /proc/self/status).
#[test]
fn the_malformed_corpus_is_parked_with_reasons_and_a_worker_stays_under_32_mib() {
    let po = new_po();
    let cfg = config(&po, "", "");
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for f in std::fs::read_dir(corpus().join("malformed"))
        .unwrap()
        .flatten()
    {
        inputs.push((
            f.file_name().to_string_lossy().replace(".txt", ""),
            std::fs::read(f.path()).unwrap(),
        ));
    }
    for s in benches::SHAPES {
        inputs.push((format!("{}-1m", s.name), s.generate(1 << 20)));
    }
    assert!(inputs.len() >= 42 + 14, "{}", inputs.len());
    for (n, (name, value)) in inputs.iter().enumerate() {
        // Folded every 1 000 bytes, as a hostile sender would, so that the line cap does not
        // stop it before the parser sees it.
        let mut one_line = Vec::with_capacity(value.len() + value.len() / 500);
        for (i, &b) in value.iter().enumerate() {
            if i > 0 && i % 1000 == 0 {
                one_line.extend_from_slice(b"\n ");
            }
            one_line.push(if b == b'\n' || b == b'\r' { b' ' } else { b });
        }
        let mut to = b"from <x@example.org>\nenv-end\nTo: ".to_vec();
        to.extend_from_slice(&one_line);
        to.extend_from_slice(b"\n\nbody\n");
        put(&po, &format!("to-{n}"), &to);
        let mut reply = b"from <x@example.org>\nto <y@example.org>\nenv-end\nReply-To: ".to_vec();
        reply.extend_from_slice(&one_line);
        reply.extend_from_slice(b"\n\nbody\n");
        put(&po, &format!("reply-{n}"), &reply);
        let _ = name;
    }
    let out = run_once(&cfg, &["--workers", "1"], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let s = summary(&out);
    let total = 2 * inputs.len() as u64;
    assert_eq!(s["routed"] + s["parked"], total, "{log}");
    assert_eq!(s["worker-restarts"], 0, "{log}");
    let got = fates(&po.root);
    assert_eq!(got.len() as u64, total);
    let mut kinds = BTreeMap::<String, usize>::new();
    for (id, (chans, reason)) in &got {
        assert!(chans.is_empty() != reason.is_none(), "{id} in two places");
        if let Some(r) = reason {
            let k = field(r, "Reason").unwrap().to_string();
            assert!(
                !["attempts-exhausted", "malformed-envelope"].contains(&k.as_str()),
                "{id}: {r}"
            );
            *kinds.entry(k).or_default() += 1;
        }
    }
    nothing_left(&po.root);
    let rss = s["max-worker-rss-kib"];
    eprintln!(
        "malformed corpus: {total} messages, {} routed, {} parked {kinds:?}; worker peak RSS {rss} KiB",
        s["routed"], s["parked"]
    );
    assert!(rss > 0 && rss < 32 << 10, "worker peak RSS {rss} KiB");
}

/// The alias fan-out bomb: 32^5 destinations, each a heap allocation outside the arena.
fn bomb_aliases(po: &Po) -> String {
    let mut a = String::from("bomb: ") + &vec!["l1"; 32].join(", ") + "\n";
    for i in 1..5 {
        a += &format!("l{i}: {}\n", vec![format!("l{}", i + 1); 32].join(", "));
    }
    a += "l5: leaf\n";
    let p = po._tmp.path().join("bomb-aliases");
    std::fs::write(&p, a).unwrap();
    format!("aliases = {p:?}\n")
}

fn innocents(po: &Po, n: usize) {
    for i in 0..n {
        put(po, &format!("ok{i:02}"), format!("from <a@example.org>\nto <u{i}@example.org>\nto <v{i}@example.net>\nenv-end\nSubject: {i}\n\nbody\n").as_bytes());
    }
}

#[test]
fn a_memory_bomb_kills_only_its_worker_and_is_parked_across_a_full_restart() {
    let po = new_po();
    let aliases = bomb_aliases(&po);
    // First with the fan-out cap at its default: parked at once, no worker harmed.
    let capped = config(&po, "", &aliases);
    put(
        &po,
        "bomb",
        b"from <a@example.org>\nto <bomb@example.org>\nenv-end\nSubject: bomb\n\nx\n",
    );
    let out = run_once(&capped, &[], &[]);
    assert!(out.status.success());
    let r = std::fs::read_to_string(po.root.join("deferred/bomb.reason")).unwrap();
    assert_eq!(
        (field(&r, "Reason"), field(&r, "Limit")),
        (Some("too-many-destinations"), Some("1000"))
    );
    assert_eq!(summary(&out)["worker-restarts"], 0);
    std::fs::remove_file(po.root.join("deferred/bomb.reason")).unwrap();
    std::fs::rename(po.root.join("deferred/bomb"), po.root.join("router/bomb")).unwrap();

    // Cap raised: the expansion grows until RLIMIT_AS (64 MiB) stops it.
    let raised = config(
        &po,
        "worker_memory_limit = \"64MiB\"",
        &(aliases + "alias_max_fanout = 100000000\n"),
    );
    innocents(&po, 20);
    // A daemon until its worker has died once, then killed outright (supervisor and all).
    let mut daemon =
        spawn_logged(
            Command::new(BIN)
                .arg("-c")
                .arg(&raised)
                .args(["run", "--workers", "1"]),
        );
    daemon.wait_for("aborted", 60);
    daemon.child.kill().unwrap();
    daemon.finish(30);
    let first_log = daemon.text();
    // The deaths so far: those recovery has counted, and the one that left the bomb claimed
    // in work/ (the next recovery counts it).
    let counted = std::fs::metadata(po.root.join("work/bomb#attempts")).map_or(0, |m| m.len());
    let pending = u64::from(po.root.join("work/bomb").exists());
    let before = counted + pending;
    assert!(before >= 1, "{first_log}");
    assert!(
        first_log.contains("memory allocation of") && first_log.contains("while routing bomb"),
        "{first_log}"
    );
    // A fresh `router run --once` goes on counting from the disk.
    let out = run_once(&raised, &[], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let s = summary(&out);
    let r = std::fs::read_to_string(po.root.join("deferred/bomb.reason")).unwrap();
    assert_eq!(
        (field(&r, "Reason"), field(&r, "Attempts")),
        (Some("attempts-exhausted"), Some("3")),
        "{r}"
    );
    assert_eq!(
        before + s["worker-restarts"],
        3,
        "deaths before the restart ({before}) and after must add up to max_attempts\n{log}"
    );
    let got = fates(&po.root);
    for i in 0..20 {
        assert_eq!(got[&format!("ok{i:02}")].0, ["local", "smtp"], "ok{i:02}");
    }
    nothing_left(&po.root);
    eprintln!("memory bomb: {before} worker death(s) before the restart, {} after; parked with Attempts: 3; 20 innocent messages routed", s["worker-restarts"]);
}

/// A child whose stderr is collected by a thread, so a test can wait for a log line.
struct Logged {
    child: Guard,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

fn spawn_logged(cmd: &mut Command) -> Logged {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).guard();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (mut err, l) = (child.0.stderr.take().unwrap(), log.clone());
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            l.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    Logged {
        child,
        log,
        reader: Some(reader),
    }
}

impl Logged {
    fn has(&self, what: &str) -> bool {
        self.log.lock().unwrap().contains(what)
    }

    fn wait_for(&self, what: &str, secs: u64) {
        let t = Instant::now();
        while !self.has(what) {
            assert!(
                t.elapsed() < Duration::from_secs(secs),
                "{what:?} never logged:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn text(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for the exit (and the end of its stderr), up to `secs`.
    fn finish(&mut self, secs: u64) -> std::process::ExitStatus {
        let t = Instant::now();
        let st = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                t.elapsed() < Duration::from_secs(secs),
                "no exit:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        st
    }
}

#[test]
fn a_stalled_message_is_killed_at_the_time_limit_and_parked() {
    let po = new_po();
    let cfg = config(&po, "message_time_limit = \"1s\"", "");
    innocents(&po, 10);
    put(
        &po,
        "stall",
        b"from <a@example.org>\nto <b@example.org>\nenv-end\nSubject: STALL-HERE\n\nx\n",
    );
    let t = Instant::now();
    let out = run_once(&cfg, &[], &[("ROUTER_FAULT", "stall@STALL-HERE")]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let s = summary(&out);
    assert_eq!((s["time-kills"], s["worker-restarts"]), (3, 3), "{log}");
    assert_eq!(
        log.matches("killed: message stall over message_time_limit (1s)")
            .count(),
        3,
        "{log}"
    );
    let r = std::fs::read_to_string(po.root.join("deferred/stall.reason")).unwrap();
    assert_eq!(
        (field(&r, "Reason"), field(&r, "Attempts")),
        (Some("attempts-exhausted"), Some("3"))
    );
    let got = fates(&po.root);
    for i in 0..10 {
        assert_eq!(got[&format!("ok{i:02}")].0, ["local", "smtp"]);
    }
    nothing_left(&po.root);
    eprintln!(
        "stall: 3 kills at the 1 s limit, parked; 10 innocent messages routed; {:.1} s in all",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn a_log_sink_nobody_reads_does_not_stop_routing() {
    let po = new_po();
    let cfg = config(&po, "", "");
    let n = 12_000;
    for i in 0..n {
        put(
            &po,
            &format!("m{i:05}"),
            format!("from <a@example.org>\nto <u{i}@example.org>\nenv-end\nSubject: {i}\n\nbody\n")
                .as_bytes(),
        );
    }
    // stderr is a pipe that is never read (its 64 KiB fill after ~300 lines); stdout is read.
    let (never_read, writer) = rustix::pipe::pipe().unwrap();
    let t = Instant::now();
    let out = Command::new(BIN)
        .arg("-c")
        .arg(&cfg)
        .args(["run", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(writer))
        .guard()
        .output();
    let took = t.elapsed();
    drop(never_read);
    assert!(out.status.success());
    let s = summary(&out);
    assert_eq!(s["routed"], n, "{s:?}");
    assert!(
        s["dropped-log-lines"] > 0,
        "no line was dropped: was the pipe read? {s:?}"
    );
    assert_eq!(fates(&po.root).len() as u64, n);
    nothing_left(&po.root);
    eprintln!(
        "unread stderr: {n} messages routed in {:.1} s, {} log lines dropped and counted",
        took.as_secs_f64(),
        s["dropped-log-lines"]
    );
}

#[test]
fn inotify_sighup_and_sigterm() {
    let po = new_po();
    let cfg = config(&po, "", "");
    let mut d = spawn_logged(Command::new(BIN).arg("-c").arg(&cfg).arg("run"));
    let wait_for = |p: &Path| {
        let t = Instant::now();
        while !p.exists() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "{} never appeared",
                p.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        t.elapsed()
    };
    std::thread::sleep(Duration::from_millis(500));
    // inotify: a published message is routed well before the 5 s rescan would find it.
    let submit = |to: &str| {
        // Defaults and -p (no -c: a file named with -c must exist): submission does not
        // depend on the (sometimes broken) file.
        let o = Command::new(BIN)
            .env_remove("ROUTER_CONFIG")
            .arg("-p")
            .arg(&po.root)
            .args(["submit", "-f", "a@example.org", to])
            .stdin(Stdio::null())
            .output_within();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let id = submit("b@example.org");
    let took = wait_for(&po.root.join("queue/local").join(&id));
    assert!(
        took < Duration::from_secs(3),
        "routed after {took:?}: inotify not working?"
    );
    // SIGHUP with a broken configuration: refused, the old one kept, routing goes on.
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, "[limits]\nmax_atempts = 2\n").unwrap();
    let pid = rustix::process::Pid::from_raw(d.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::HUP).unwrap();
    d.wait_for("reload refused", 10);
    assert!(d.has("max_atempts"), "{}", d.text());
    let id = submit("c@new.test");
    wait_for(&po.root.join("queue/smtp").join(&id));
    // SIGHUP with a good new configuration: new.test is now local.
    std::fs::write(
        &cfg,
        good.replace("[\"example.org\"]", "[\"example.org\", \"new.test\"]"),
    )
    .unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::HUP).unwrap();
    d.wait_for("configuration reloaded", 10);
    let id = submit("d@new.test");
    wait_for(&po.root.join("queue/local").join(&id));
    // SIGTERM: drained, exit 0, nothing left behind.
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let st = d.finish(40);
    assert!(st.success(), "{st:?}\n{}", d.text());
    assert!(d.has("draining"));
    nothing_left(&po.root);
}

/// A batch of large, innocent messages must fit a worker's memory limit: output bytes live
/// only from routing to staging (a batch once held all of its outputs: 30 messages of 2 MB to
/// two channels were 120 MB, over this 64 MiB limit, and innocent mail was parked).
#[test]
fn a_batch_of_large_messages_fits_the_memory_limit() {
    let po = new_po();
    let cfg = config(&po, "worker_memory_limit = \"64MiB\"", "");
    let body = "0123456789abcdef".repeat(2_000_000 / 16);
    for i in 0..30 {
        put(&po, &format!("big{i:02}"), format!("from <a@example.org>\nto <u{i}@example.org>\nto <v{i}@example.net>\nenv-end\nSubject: {i}\n\n{body}\n").as_bytes());
    }
    let out = run_once(&cfg, &["--workers", "1"], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let s = summary(&out);
    assert_eq!((s["routed"], s["worker-restarts"]), (30, 0), "{log}");
    eprintln!(
        "30 x 2 MB messages to 2 channels under a 64 MiB limit: worker peak RSS {} KiB",
        s["max-worker-rss-kib"]
    );
}

/// A worker stuck committing (stopped with SIGSTOP just before the batch's second sync, as a
/// hung disk would hold it) is reported, not killed: a kill would count attempts against the
/// whole batch. Once it goes on, everything is routed, with no restart and no parking.
#[test]
fn a_slow_commit_is_reported_not_killed() {
    let po = new_po();
    let cfg = config(&po, "message_time_limit = \"1s\"", "");
    innocents(&po, 5);
    let mut c = Command::new(BIN);
    c.arg("-c")
        .arg(&cfg)
        .args(["run", "--once", "--workers", "1"])
        .env("ROUTER_FAULT", "stop@S2");
    let mut run = spawn_logged(&mut c);
    run.wait_for("has been committing a batch for over 1s", 20);
    // Wake the worker: the supervisor's child that is stopped.
    let sup = run.child.id();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit_once(") ")
            .map_or(vec![], |(_, r)| r.split(' ').collect());
        if fields.get(1) == Some(&sup.to_string().as_str()) {
            let pid: i32 = e.file_name().to_string_lossy().parse().unwrap();
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).unwrap(),
                rustix::process::Signal::CONT,
            );
        }
    }
    let st = run.finish(30);
    assert!(st.success(), "{}", run.text());
    assert!(!run.text().contains("killed"), "{}", run.text());
    let got = fates(&po.root);
    for i in 0..5 {
        assert_eq!(got[&format!("ok{i:02}")].0, ["local", "smtp"]);
    }
    nothing_left(&po.root);
}

/// G7's memory limit, read where the kernel keeps it: every worker's `/proc/<pid>/limits`
/// says its address space is capped at `worker_memory_limit`, soft and hard (so it cannot
/// raise it), and the supervisor itself is not capped.
#[test]
fn every_worker_runs_under_its_address_space_limit() {
    let po = new_po();
    let cfg = config(&po, "worker_memory_limit = \"96MiB\"", "");
    let mut d = spawn_logged(Command::new(BIN).arg("-c").arg(&cfg).arg("run"));
    let sup = d.child.id();
    let children_of = |pid: u32| -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    let t = Instant::now();
    let workers = loop {
        let w = children_of(sup);
        if w.len() == 2 {
            break w;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "workers: {w:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let address_space = |pid: u32| -> (String, String) {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max address space"))
            .unwrap()
            .to_string();
        let w: Vec<&str> = line.split_whitespace().collect();
        (w[3].to_string(), w[4].to_string())
    };
    // A worker sets its limit first thing; give it a moment to have started.
    std::thread::sleep(Duration::from_millis(300));
    let want = (96u64 << 20).to_string();
    for w in &workers {
        assert_eq!(
            address_space(*w),
            (want.clone(), want.clone()),
            "worker {w}"
        );
    }
    assert_eq!(
        address_space(sup).0,
        "unlimited",
        "the supervisor is not capped"
    );
    let pid = rustix::process::Pid::from_raw(sup as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(d.finish(20).success());
}

/// A message that does not fit the worker's memory at the documented minimum limit (32 MiB;
/// 9.5 MB read, then copied for two channels): each worker that reads it aborts, the attempts
/// are counted, and it is parked after max_attempts while the mail beside it is routed.
/// Before: the read's out-of-memory error went the disk-fault path ("spool I/O error: out of
/// memory; backing off"), uncounted, retried forever, and its batch-mates waited with it.
#[test]
fn a_message_too_big_for_the_worker_memory_is_counted_and_parked() {
    let po = new_po();
    let cfg = config(&po, "worker_memory_limit = \"32MiB\"", "");
    let line = format!("{}\n", "x".repeat(80));
    let big = format!(
        "from <a@example.org>\nto <b@example.net>\nto <c@example.org>\nenv-end\nSubject: big\n\n{}",
        line.repeat(9_500_000 / line.len())
    );
    put(&po, "big", big.as_bytes());
    innocents(&po, 5);
    let out = run_once(&cfg, &[], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("spool I/O error"), "{log}");
    let r = std::fs::read_to_string(po.root.join("deferred/big.reason")).unwrap();
    assert_eq!(field(&r, "Reason"), Some("attempts-exhausted"), "{r}");
    assert_eq!(summary(&out)["worker-restarts"], 3, "{log}");
    let f = fates(&po.root);
    for i in 0..5 {
        assert_eq!(f[&format!("ok{i:02}")].0, ["local", "smtp"], "{f:?}");
    }
}
