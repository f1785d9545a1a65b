//! The router as a drop-in for ZMailer's router, against ZMailer 3.0.1 itself: its real
//! smtpserver, scheduler and transport agents, built and run by the shared scripts in
//! `../shared/interop/zmailer/` (docs/zmailer.md).
//!
//! - `end_to_end`: mail sent over SMTP (local, remote, both, null sender, DSN requests) is
//!   delivered by ZMailer's scheduler exactly once to the mailbox and the sink, the success
//!   DSNs included, with this router in place of ZMailer's.
//! - `differential`: the same 401 real messages (../shared/corpus-sample) with the same
//!   envelopes, routed by ZMailer's router and by this one: the same recipients go to the
//!   same channel, host and user.
//! - `poison`: seed 004's message (an address field of unbalanced quotes and brackets) given
//!   to ZMailer's router under a memory limit and to this one: what each does to the rest of
//!   the mail.
//!
//! They need root and a ZMailer build: `$ZMAILER_PREFIX` (default
//! `/var/tmp/zmailer-router-interop`) made by `../shared/interop/zmailer/build.sh`, which
//! `.ci/run` runs (cached). Elsewhere they say why they cannot run; under CI that fails.
//! The pipeline's ports (2525-2527) are fixed, so the three run one at a time.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{cannot_run_here, Guard, Within, BIN};
use router::core::control_file::recipients_of;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop/zmailer")
}

/// The ZMailer build to test against, or why there is none.
fn prefix() -> Option<PathBuf> {
    let p = std::env::var_os("ZMAILER_PREFIX").map_or_else(
        || PathBuf::from("/var/tmp/zmailer-router-interop"),
        PathBuf::from,
    );
    if !rustix::process::geteuid().is_root() {
        cannot_run_here("the ZMailer pipeline needs root (its daemons change uid)");
        return None;
    }
    if !p.join(".zmailer-build.stamp").is_file() || !shared().join("pipeline.sh").is_file() {
        cannot_run_here(&format!(
            "no ZMailer build at {} (run ../shared/interop/zmailer/build.sh PREFIX and set ZMAILER_PREFIX)",
            p.display()
        ));
        return None;
    }
    Some(p)
}

/// `pipeline.sh PREFIX args...`, which must succeed.
fn pipeline(prefix: &Path, args: &[&str]) -> String {
    let out = Command::new(shared().join("pipeline.sh"))
        .arg(prefix)
        .args(args)
        .output_within();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pipeline.sh {args:?}: {text}");
    text
}

/// Brings the pipeline down and empties the spool, the mailboxes and the sink (the build
/// itself is kept).
fn clean(prefix: &Path) {
    let _ = Command::new(shared().join("pipeline.sh"))
        .arg(prefix)
        .arg("down")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status_within();
    kill_zmailer_router(prefix);
    let po = prefix.join("po");
    for dir in ["router", "transport", "queue"] {
        remove_files_below(&po.join(dir));
    }
    for dir in ["deferred", "postman", "work"] {
        remove_files_below(&po.join(dir));
    }
    remove_files_below(&prefix.join("mail"));
    remove_files_below(&prefix.join("sink"));
}

fn remove_files_below(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => remove_files_below(&p),
            Ok(_) => {
                let _ = std::fs::remove_file(&p);
            }
            Err(_) => {}
        }
    }
}

/// This router's configuration for the pipeline: ZMailer's postoffice, the pipeline's
/// routing (zm.test local, sink.test to smtp ![127.0.0.1]) and the aliases of ZMailer's
/// db/aliases that route mail here.
fn configure(prefix: &Path, dir: &Path, workers: u32, memory: &str) -> PathBuf {
    std::fs::write(
        dir.join("aliases"),
        "postmaster: root\npostoffice: root\nMAILER-DAEMON: root\nmailer: postmaster\n\
         postmast: postmaster\nproto: postmaster\nsync: postmaster\nsys: postmaster\n\
         daemon: postmaster\nbin: postmaster\nuucp: postmaster\ningress: postmaster\n\
         audit: postmaster\nnobody: /dev/null\nno-one: /dev/null\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("transport"),
        "sink.test smtp:[127.0.0.1]\n.sink.test smtp:[127.0.0.1]\n",
    )
    .unwrap();
    let cfg = dir.join("router.toml");
    std::fs::write(
        &cfg,
        format!(
            "workers = {workers}\n[limits]\nworker_memory_limit = \"{memory}\"\n\
             [routing]\nlocal_domains = [\"zm.test\", \"mx.zm.test\", \"localhost\"]\n\
             aliases = \"aliases\"\ntransport = \"transport\"\n\
             [zmailer]\nenabled = true\nzconfig = \"{}\"\nhostname = \"mx.zm.test\"\n",
            prefix.join("zmailer.conf").display()
        ),
    )
    .unwrap();
    let st = Command::new(BIN)
        .args(["init", "--zmailer"])
        .arg(prefix.join("po"))
        .status_within();
    assert!(st.success(), "router init --zmailer");
    cfg
}

/// This router running on the pipeline's postoffice, its log in `dir/router.log`.
fn start_router(dir: &Path, cfg: &Path) -> Guard {
    let log = std::fs::File::create(dir.join("router.log")).unwrap();
    Command::new(BIN)
        .arg("-c")
        .arg(cfg)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(log)
        .guard()
}

/// `send.py -n N --check PREFIX --tag TAG`: its exit status and transcript.
fn send(prefix: &Path, n: usize, tag: &str, timeout: u64) -> (bool, String) {
    let out = Command::new(shared().join("send.py"))
        .args([
            "-n",
            &n.to_string(),
            "--tag",
            tag,
            "--timeout",
            &timeout.to_string(),
        ])
        .arg("--check")
        .arg(prefix)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .guard()
        // Beyond send.py's own timeout: it reports what it still waits for, and that
        // transcript is the failure's explanation (a deadline equal to it killed send.py
        // first and left none).
        .output_within(std::time::Duration::from_secs(timeout + 60));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// How often each `Message-ID:` of run `tag` is in the mailbox and in the sink.
fn deliveries(prefix: &Path, tag: &str) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let needle = format!("<zmtest-{tag}-");
    // The top-level header of each message only: a DSN quotes the original's header.
    let count = |text: &str, into: &mut BTreeMap<String, usize>| {
        let mut in_header = true;
        for l in text.lines() {
            if l.starts_with("From ") {
                in_header = true;
            } else if l.is_empty() {
                in_header = false;
            } else if in_header && l.to_ascii_lowercase().starts_with("message-id:") {
                if let Some(i) = l.find(&needle) {
                    let id = l[i..].split('>').next().unwrap_or("").to_string();
                    *into.entry(id).or_default() += 1;
                }
            }
        }
    };
    let mut mailbox = BTreeMap::new();
    let mbox = std::fs::read(prefix.join("mail/root")).unwrap_or_default();
    count(&String::from_utf8_lossy(&mbox), &mut mailbox);
    let mut sink = BTreeMap::new();
    for e in std::fs::read_dir(prefix.join("sink")).unwrap().flatten() {
        let t = std::fs::read(e.path()).unwrap_or_default();
        count(&String::from_utf8_lossy(&t), &mut sink);
    }
    (mailbox, sink)
}

/// Files (not directories) below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_below(&e.path())),
            Ok(_) => out.push(e.path()),
            Err(_) => {}
        }
    }
    out
}

#[test]
fn end_to_end() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(prefix) = prefix() else { return };
    clean(&prefix);
    pipeline(&prefix, &["up", "--no-router"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = configure(&prefix, dir.path(), 2, "512MiB");
    let mut router = start_router(dir.path(), &cfg);
    let tag = format!("e2e{}", std::process::id());
    let n = 40;
    // send.py waits until every message is delivered, up to this bound (it polls: a passing
    // run takes seconds). The bound is ZMailer's, not this router's: its scheduler retries a
    // delivery that failed for the moment after 1, 1, 2, 3... minutes (`interval=1m`,
    // `retries="1 1 2 3 5 8 ..."` in its scheduler.conf), and on a busy machine one local
    // delivery once came after 120 s although this router had routed the message in 0.2 s.
    // 300 s covers three retries; what this router did is checked from its own log below.
    let (ok, transcript) = send(&prefix, n, &tag, 300);
    let (mailbox, sink) = deliveries(&prefix, &tag);
    router.signal(rustix::process::Signal::TERM);
    router.wait();
    let status = pipeline(&prefix, &["status"]);
    pipeline(&prefix, &["down"]);
    let log = std::fs::read_to_string(dir.path().join("router.log")).unwrap();
    assert!(
        ok,
        "send.py --check failed:\n{transcript}\nrouter log:\n{log}\n{status}"
    );
    // Kinds i % 4: local, remote-dsn, both, both-null. Every message once where it belongs.
    let per_kind = n / 4;
    assert_eq!(mailbox.len(), 3 * per_kind, "{mailbox:?}");
    assert_eq!(sink.len(), 3 * per_kind, "{sink:?}");
    let twice: Vec<_> = mailbox
        .iter()
        .chain(&sink)
        .filter(|(_, &c)| c != 1)
        .collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let dsns = transcript
        .lines()
        .find(|l| l.contains("success DSNs"))
        .unwrap_or("")
        .to_string();
    assert!(
        dsns.contains(&format!("{per_kind}/{per_kind}")),
        "{transcript}"
    );
    // What the router routed: the messages and the DSNs; nothing parked; nothing left.
    let routed = log.matches("status=routed").count();
    assert!(routed >= n + per_kind, "{routed} routed:\n{log}");
    assert!(!log.contains("status=deferred"), "{log}");
    let left: Vec<_> = ["router", "transport", "queue", "work", "deferred"]
        .iter()
        .flat_map(|d| files_below(&prefix.join("po").join(d)))
        .collect();
    assert!(left.is_empty(), "left in the spool: {left:?}");
    eprintln!(
        "end to end: {n} messages sent over SMTP; mailbox {} and sink {} distinct, each exactly once; {dsns}; this router routed {routed} files (messages and DSNs), parked none",
        mailbox.len(),
        sink.len()
    );
}

/// Stops a ZMailer router this file started by hand (its pid in `po/.pid.router`; it calls
/// `setsid`, so its children are in its process group), checking that the pid is ZMailer's.
fn kill_zmailer_router(prefix: &Path) {
    let pidfile = prefix.join("po/.pid.router");
    let Ok(text) = std::fs::read_to_string(&pidfile) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return;
    };
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    if exe.starts_with(prefix.join("bin")) {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::fs::remove_file(pidfile);
}

/// Puts `bytes` into `po/router/` as ZMailer's writers do: written under a temporary name,
/// owned by `daemon` (a trusted writer, as smtpserver), mode 0600, then renamed to its inode
/// number. Returns the inode number.
fn submit_as_smtpserver(prefix: &Path, bytes: &[u8]) -> u64 {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let router = prefix.join("po/router");
    let tmp = router.join(".interop-tmp");
    std::fs::write(&tmp, bytes).unwrap();
    let daemon = router::accounts::id_of("daemon", Path::new(router::accounts::PASSWD))
        .expect("a daemon user");
    std::os::unix::fs::chown(&tmp, Some(daemon), None).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ino = std::fs::metadata(&tmp).unwrap().ino();
    std::fs::rename(&tmp, router.join(ino.to_string())).unwrap();
    ino
}

/// Every control file under `transport/`, by inode number, with its recipients as
/// `channel host user privilege dsn` (lower-cased: ZMailer's scheduler lower-cases them too).
fn control_files(prefix: &Path) -> BTreeMap<u64, Vec<String>> {
    let mut out = BTreeMap::new();
    for p in files_below(&prefix.join("po/transport")) {
        let Some(ino) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        let bytes = std::fs::read(&p).unwrap();
        let mut rcpts: Vec<String> = recipients_of(&bytes)
            .into_iter()
            .map(|r| {
                let l = &r.line;
                format!(
                    "{} {} {} {} {}",
                    l.channel,
                    l.host,
                    l.user,
                    l.privilege,
                    r.dsn.unwrap_or_default()
                )
                .to_ascii_lowercase()
            })
            .collect();
        rcpts.sort();
        out.insert(ino, rcpts);
    }
    out
}

/// The recipients the differential test gives message `i`: local names, aliases (to a user,
/// to a file), the sink's domain and a subdomain of it, quoted and upper-case forms.
fn envelope(i: usize) -> String {
    const RCPTS: [&str; 12] = [
        "<root@zm.test>",
        "<postmaster@zm.test>",
        "<ROOT@ZM.TEST>",
        "<root@mx.zm.test>",
        "<MAILER-DAEMON@zm.test>",
        "<bob@sink.test>",
        "<carol@SINK.test>",
        "<\"quoted user\"@sink.test>",
        "<x@sub.sink.test>",
        "<nobody@zm.test>",
        "<daemon@localhost>",
        "<bin@zm.test>",
    ];
    let mut e = format!(
        "external\nrcvdfrom client.example ([127.0.0.1]:4{i:04} \"ehlo client.example\")\nwith ESMTP\nfrom <sender{i}@sink.test>\n"
    );
    for k in 0..=(i % 3) {
        let r = RCPTS[(i * 5 + k * 7) % RCPTS.len()];
        e += &format!(
            "todsn NOTIFY=FAILURE ORCPT=rfc822;{}\nto {r}\n",
            r.trim_matches(['<', '>'])
        );
    }
    e + "env-end\n"
}

#[test]
fn differential() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(prefix) = prefix() else { return };
    clean(&prefix);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus-sample/messages");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    assert!(
        names.len() >= 400,
        "corpus sample: {} messages",
        names.len()
    );
    let inputs: Vec<Vec<u8>> = names
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut m = envelope(i).into_bytes();
            // smtpserver turns CRLF into LF and cuts no line here; the corpus is as received.
            m.extend(std::fs::read(p).unwrap());
            m
        })
        .collect();
    // ZMailer's router, run by hand on the files (its README's reference recipe).
    let mut zm_inos = Vec::new();
    for m in &inputs {
        zm_inos.push(submit_as_smtpserver(&prefix, m));
    }
    let started = Instant::now();
    for chunk in zm_inos.chunks(100) {
        let st = Command::new(prefix.join("bin/router"))
            .args(chunk.iter().map(u64::to_string))
            .current_dir(prefix.join("po/router"))
            .env("ZCONFIG", prefix.join("zmailer.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status_within();
        assert!(st.success(), "ZMailer's router: {st}");
    }
    let zm_time = started.elapsed();
    let zm = control_files(&prefix);
    let zm_postman = files_below(&prefix.join("po/postman")).len();
    clean(&prefix);
    // This router on the same inputs.
    let dir = tempfile::tempdir().unwrap();
    let cfg = configure(&prefix, dir.path(), 2, "512MiB");
    let mut our_inos = Vec::new();
    for m in &inputs {
        our_inos.push(submit_as_smtpserver(&prefix, m));
    }
    let started = Instant::now();
    let out = Command::new(BIN)
        .arg("-c")
        .arg(&cfg)
        .args(["run", "--once"])
        .output_within();
    let our_time = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = control_files(&prefix);
    let parked = files_below(&prefix.join("po/deferred")).len() / 2;
    clean(&prefix);
    // Compare message by message.
    let (mut same_msgs, mut same_rcpts, mut diff_rcpts) = (0, 0, 0);
    let (mut only_zm, mut only_ours) = (0, 0);
    let mut diffs = Vec::new();
    for (i, (z, o)) in zm_inos.iter().zip(&our_inos).enumerate() {
        match (zm.get(z), ours.get(o)) {
            (Some(a), Some(b)) => {
                let common = a.iter().filter(|r| b.contains(r)).count();
                same_rcpts += common;
                diff_rcpts += a.len() + b.len() - 2 * common;
                if a == b {
                    same_msgs += 1;
                } else if diffs.len() < 10 {
                    diffs.push(format!("{}: ZMailer {a:?}, ours {b:?}", names[i].display()));
                }
            }
            (Some(_), None) => only_zm += 1,
            (None, Some(_)) => only_ours += 1,
            (None, None) => {}
        }
    }
    eprintln!(
        "differential: {} messages; ZMailer's router wrote {} control files ({zm_postman} copies in postman/) in {zm_time:.2?}, this router {} ({parked} parked) in {our_time:.2?}; {same_msgs} routed identically, {same_rcpts} recipients the same, {diff_rcpts} different; routed only by ZMailer's: {only_zm}, only by ours: {only_ours}",
        inputs.len(),
        zm.len(),
        ours.len()
    );
    assert!(
        diffs.is_empty(),
        "recipients routed differently:\n{}",
        diffs.join("\n")
    );
    assert_eq!(diff_rcpts, 0);
    assert!(
        same_msgs >= inputs.len() * 9 / 10,
        "only {same_msgs} the same"
    );
}

/// Sends one message over SMTP to the pipeline's smtpserver; panics unless it is accepted.
fn smtp_send(from: &str, to: &[&str], message: &str) {
    let port: u16 = std::env::var("ZM_SMTP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2525);
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to smtpserver");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let reply = |r: &mut BufReader<TcpStream>, want: char| {
        let mut all = String::new();
        loop {
            let mut l = String::new();
            r.read_line(&mut l).expect("smtp reply");
            all += &l;
            if l.len() < 4 || l.as_bytes()[3] != b'-' {
                break;
            }
        }
        assert!(all.starts_with(want), "smtp: {all}");
    };
    reply(&mut r, '2');
    let cmd = |w: &mut TcpStream, r: &mut BufReader<TcpStream>, c: &str, want: char| {
        w.write_all(format!("{c}\r\n").as_bytes()).unwrap();
        reply(r, want);
    };
    cmd(&mut w, &mut r, "EHLO client.example", '2');
    cmd(&mut w, &mut r, &format!("MAIL FROM:<{from}>"), '2');
    for t in to {
        cmd(&mut w, &mut r, &format!("RCPT TO:<{t}>"), '2');
    }
    cmd(&mut w, &mut r, "DATA", '3');
    let mut data = String::with_capacity(message.len() + 1024);
    for l in message.lines() {
        if l.starts_with('.') {
            data.push('.');
        }
        data += l;
        data += "\r\n";
    }
    data += ".";
    cmd(&mut w, &mut r, &data, '2');
    cmd(&mut w, &mut r, "QUIT", '2');
}

/// Seed 004's poison: an address field of unbalanced quotes and brackets (200 000 of them,
/// folded, 4.3 MB: each header line is short, so smtpserver passes it whole).
fn poison_message(n: usize) -> String {
    let to: Vec<String> = (0..n).map(|i| format!("\"u{i} <\"@zm.test")).collect();
    format!(
        "From: a@sink.test\nTo: {}\nSubject: seed 004\nMessage-ID: <poison@client.example>\n\nx\n",
        to.join(",\n ")
    )
}

/// What ZMailer's router did with the poison and the innocent mail behind it.
struct ZmailerRun {
    ok: bool,
    mailbox: usize,
    sink: usize,
    waiting: usize,
    cpu: f64,
}

/// ZMailer's router as seed 004's site ran it: a memory limit (ulimit -v 128 MB), here with
/// one child so that the test is not a race; two poison messages, then 8 innocent ones 2 s
/// later; looked at 30 s after those, then stopped.
fn zmailer_on_poison(prefix: &Path, poison: &str, tag: &str) -> ZmailerRun {
    let po = prefix.join("po");
    let zm = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 131072 && exec {} -dWkn 1",
            prefix.join("bin/router").display()
        ))
        .current_dir(&po)
        .env("ZCONFIG", prefix.join("zmailer.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status_within();
    assert!(zm.success(), "ZMailer's router did not start");
    for _ in 0..2 {
        smtp_send("a@sink.test", &["root@zm.test"], poison);
    }
    std::thread::sleep(Duration::from_secs(2));
    let (ok, _) = send(prefix, 8, tag, 30);
    let (mailbox, sink) = deliveries(prefix, tag);
    let run = ZmailerRun {
        ok,
        mailbox: mailbox.len(),
        sink: sink.len(),
        waiting: files_below(&po.join("router")).len(),
        cpu: zmailer_router_cpu(prefix),
    };
    kill_zmailer_router(prefix);
    run
}

#[test]
fn poison() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(prefix) = prefix() else { return };
    clean(&prefix);
    pipeline(&prefix, &["up", "--no-router"]);
    let po = prefix.join("po");
    let poison = poison_message(200_000);
    let tag = format!("zmpoison{}", std::process::id());
    let zm = zmailer_on_poison(&prefix, &poison, &tag);
    // This router in its place, on what ZMailer's left, under a limit of the same size.
    let dir = tempfile::tempdir().unwrap();
    let cfg = configure(&prefix, dir.path(), 1, "128MiB");
    let started = Instant::now();
    let mut ours = start_router(dir.path(), &cfg);
    // What ZMailer's left: the poison messages it had not finished, and anything behind them.
    let reasons_in = |po: &Path| {
        files_below(&po.join("deferred"))
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "reason"))
            .count()
    };
    let mut waited = None;
    while started.elapsed() < Duration::from_secs(60) {
        if reasons_in(&po) >= 2 && files_below(&po.join("router")).is_empty() {
            waited = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // And the same again, now with this router alone.
    for _ in 0..2 {
        smtp_send("a@sink.test", &["root@zm.test"], &poison);
    }
    let tag2 = format!("ourpoison{}", std::process::id());
    let sent2 = Instant::now();
    let (our_ok, our_transcript) = send(&prefix, 8, &tag2, 30);
    let our_time = sent2.elapsed();
    ours.signal(rustix::process::Signal::TERM);
    ours.wait();
    pipeline(&prefix, &["down"]);
    let log = std::fs::read_to_string(dir.path().join("router.log")).unwrap();
    let reasons: Vec<String> = files_below(&po.join("deferred"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "reason"))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    let (m, k) = deliveries(&prefix, &tag);
    eprintln!(
        "poison, ZMailer's router (one child, ulimit -v 128 MB): 2 poison messages, then 8 innocent ones 2 s later; 30 s after those: innocent delivered to mailbox {}/6 and sink {}/6 (send.py --check {}); still in router/: {} files; its processes had used {:.1} s of CPU",
        zm.mailbox,
        zm.sink,
        if zm.ok { "passed" } else { "failed" },
        zm.waiting,
        zm.cpu
    );
    eprintln!(
        "poison, this router in its place (one worker, 128 MiB): what ZMailer's router left was finished in {waited:.1?} (innocent now: mailbox {}/6, sink {}/6); then 2 more poison messages and 8 more innocent ones: send.py --check {} in {our_time:.1?}; parked: {} ({})",
        m.len(),
        k.len(),
        if our_ok { "passed" } else { "failed" },
        reasons.len(),
        reasons
            .iter()
            .map(|r| r.lines().next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // ZMailer's router had not finished the poison in 30 s: it spends minutes of CPU on each
    // copy, or, once under the limit, sits in its malloc-sleep loop (seed 004's report). Which
    // of the two it shows in 30 s varies from run to run (27.3 s of CPU in one, 0.3 s in a CI
    // run whose child met the limit at once), so its CPU is reported above, not asserted.
    assert!(
        zm.waiting >= 2,
        "ZMailer's router finished the poison within 30 s"
    );
    let waited =
        waited.unwrap_or_else(|| panic!("this router did not finish what ZMailer's left:\n{log}"));
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!((m.len(), k.len()), (6, 6), "{log}");
    assert!(our_ok, "{our_transcript}\n{log}");
    assert_eq!(reasons.len(), 4, "{log}");
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("Reason: header-too-large")),
        "{reasons:?}"
    );
}

/// CPU seconds used so far by the processes of the ZMailer router this file started.
fn zmailer_router_cpu(prefix: &Path) -> f64 {
    let Ok(text) = std::fs::read_to_string(prefix.join("po/.pid.router")) else {
        return 0.0;
    };
    let pgid = text.trim();
    let mut ticks = 0u64;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        // After the command: state ppid pgrp ... utime(12) stime(13), counting from state = 0.
        if fields.get(2) == Some(&pgid) {
            ticks += fields
                .get(11)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0)
                + fields
                    .get(12)
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(0);
        }
    }
    ticks as f64 / 100.0
}
