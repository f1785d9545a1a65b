//! Durable routing side by side, in one run, on the same messages (research-grade; needs root,
//! the shared ZMailer build and Debian's `postfix` package):
//!
//! `cargo run --release -p benches --bin side-by-side [PREFIX] [N] [ROUNDS]`
//!
//! Each round fills a spool with N (default 5 000) messages, each to one local and one remote
//! recipient, ~900 bytes, and times how long each system takes to empty it, durably:
//! - ZMailer's router as its pipeline runs it, a daemon with 2 children (`router -dWkn 2`),
//!   on ZMailer's `po/router/` as its smtpserver writes it (owner daemon, mode 0600, named by
//!   inode number), until N control files are in `transport/`; CPU from /proc for its
//!   process group. PREFIX (default `$ZMAILER_PREFIX`, else `/var/tmp/zmailer-router-interop`)
//!   is a build of `../shared/interop/zmailer/build.sh`; its pipeline is brought down so that
//!   no scheduler takes the output away;
//! - this router in ZMailer mode, `router run --once` with 2 workers, on the same spool;
//! - this router in its own format, `router run --once` with 2 workers, on a postoffice of
//!   the same messages (its envelope instead of ZMailer's);
//! - Postfix (Debian's package, its own instance under `/var/tmp/side-by-side-postfix`, set up
//!   by this bench: no SMTP listener, every recipient to the `discard` transport): the
//!   maildrop pre-filled (the `sendmail` command once, then a copy of its files each round),
//!   `postfix start`, until maildrop, incoming, active and deferred are empty (pickup,
//!   cleanup, qmgr and discard: cleanup fsyncs every queue file); CPU from /proc for the
//!   master's process group (the master reaps its children, so their CPU is in its own).
//!
//! CPU of this router from `getrusage` of its children (the supervisor and its workers).
//! ROUNDS (default 3) rounds, the order rotated each round; medians reported, with the
//! no-fsync and fsync ceilings of the same disk measured in the same run.
//! `SIDE_MESSAGE_BYTES=N` pads every message's body to about N bytes (Postfix's maildrop
//! template is kept per N and size).
//! `SIDE_DIR=DIR` puts this router's postoffice, Postfix's instance and the ceilings' files on
//! DIR's file system (to compare file systems: ZMailer's spool stays in PREFIX, so mount the
//! same file system on `PREFIX/po` too).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use benches::{children_cpu, median, stat_fields};

/// One system under test.
enum Who {
    Zmailer,
    /// This router (a binary, for a before/after in the same run): in ZMailer mode on
    /// ZMailer's spool, or in its own format with this many workers.
    Ours {
        bin: PathBuf,
        zmailer: bool,
        workers: usize,
        label: String,
    },
    Postfix,
}

impl Who {
    fn label(&self) -> &str {
        match self {
            Who::Zmailer => "ZMailer's router (2)",
            Who::Ours { label, .. } => label,
            Who::Postfix => "Postfix 3.7 drain",
        }
    }
}

/// The systems: ZMailer's router, this router in ZMailer mode and in its own format (2
/// workers), Postfix; then this router in its own format with each worker count of
/// `SIDE_WORKERS` (e.g. `1,4`), and, with `ROUTER_BEFORE=<a router binary>`, that binary in
/// both modes (a before/after in the same run).
fn contestants(bin: &Path) -> Vec<Who> {
    let ours = |bin: &Path, zmailer: bool, workers: usize, tag: &str| Who::Ours {
        bin: bin.to_path_buf(),
        zmailer,
        workers,
        label: format!(
            "this router{tag}{} ({workers})",
            if zmailer { ", ZMailer mode" } else { "" }
        ),
    };
    // `SIDE_ONLY=ours` leaves ZMailer and Postfix out: for trying a change of this router
    // quickly against `ROUTER_BEFORE`; the figures for a note come from the full run.
    let only_ours = std::env::var("SIDE_ONLY").is_ok_and(|v| v == "ours");
    let mut v = vec![ours(bin, true, 2, ""), ours(bin, false, 2, "")];
    if !only_ours {
        v.insert(0, Who::Zmailer);
        v.push(Who::Postfix);
    }
    let workers = std::env::var("SIDE_WORKERS").unwrap_or_default();
    for w in workers.split(',').filter_map(|w| w.trim().parse().ok()) {
        v.push(ours(bin, false, w, ""));
    }
    if let Some(before) = std::env::var_os("ROUTER_BEFORE") {
        v.push(ours(Path::new(&before), true, 2, " before"));
        v.push(ours(Path::new(&before), false, 2, " before"));
    }
    v
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prefix = args.get(1).map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("ZMAILER_PREFIX")
            .map_or_else(|| "/var/tmp/zmailer-router-interop".into(), PathBuf::from)
    });
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let rounds: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(3);
    let bin = benches::release_router();
    assert!(
        prefix.join(".zmailer-build.stamp").is_file(),
        "no ZMailer build at {} (../shared/interop/zmailer/build.sh PREFIX)",
        prefix.display()
    );
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop/zmailer");
    let _ = Command::new(shared.join("pipeline.sh"))
        .arg(&prefix)
        .arg("down")
        .stdout(Stdio::null())
        .status();
    // On the disk under test (ZMailer's spool's), not a tmpfs /tmp; or on SIDE_DIR's.
    let side_dir = std::env::var_os("SIDE_DIR").map(PathBuf::from);
    let base = side_dir
        .clone()
        .unwrap_or_else(|| prefix.parent().unwrap_or(Path::new("/var/tmp")).into());
    let work = tempfile::tempdir_in(&base).unwrap();
    let cfg = configure(&prefix, work.path(), &bin);
    let native = configure_native(work.path(), &bin);
    let who = contestants(&bin);
    // Only when it runs: `SIDE_ONLY=ours` needs no Postfix on the machine.
    let postfix = who.iter().any(|w| matches!(w, Who::Postfix)).then(|| {
        Postfix::setup(
            &side_dir
                .unwrap_or_else(|| "/var/tmp".into())
                .join("side-by-side-postfix"),
            n,
        )
    });
    let mut results: Vec<Vec<(f64, f64)>> = who.iter().map(|_| Vec::new()).collect();
    let mut ceilings = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for k in 0..who.len() {
            let i = (k + round) % who.len();
            let (secs, cpu) = match &who[i] {
                // Each arm fills its spool, lets the disk settle, then times.
                Who::Zmailer => {
                    clean(&prefix);
                    fill(&prefix, n);
                    zmailer(&prefix, n)
                }
                Who::Ours {
                    bin, zmailer: true, ..
                } => {
                    clean(&prefix);
                    fill(&prefix, n);
                    ours(bin, &cfg, None, || {
                        wait_done(&prefix, n, Duration::from_secs(1));
                    })
                }
                Who::Ours { bin, workers, .. } => {
                    fill_native(&native.0, n);
                    ours(bin, &native.1, Some(*workers), || {
                        assert_eq!(count_files(&native.0.join("router")), 0);
                        assert_eq!(count_files(&native.0.join("queue")), 2 * n);
                    })
                }
                Who::Postfix => postfix.as_ref().expect("set up when it runs").run(n),
            };
            println!(
                "round {round}: {:<36} {n} messages in {secs:.2} s: {:.0} msg/s, {:.3} ms CPU per message",
                who[i].label(),
                n as f64 / secs,
                cpu * 1000.0 / n as f64
            );
            results[i].push((n as f64 / secs, cpu * 1000.0 / n as f64));
        }
        settle();
        let (c0, c1) = benches::ceilings(work.path(), n, 1200);
        println!("round {round}: ceilings: no fsync {c0:.0} files/s, fsync of file and directory {c1:.0} files/s");
        ceilings.0.push(c0);
        ceilings.1.push(c1);
    }
    clean(&prefix);
    report(&who, &results, ceilings);
}

/// Message `i` as every system gets it: the header block and body, after any envelope; with
/// `SIDE_MESSAGE_BYTES=N`, its body padded with lines of text to about N bytes.
fn message(i: usize) -> String {
    let mut m = format!(
        "From: \"ZM test\" <root@zm.test>\nTo: postmaster@zm.test, Carol <carol@sink.test>\n\
         Subject: side by side {i}\nDate: Mon, 30 Nov 2026 05:10:30 -0000\n\
         Message-ID: <bench-{i}@client.example>\n\n\
         This is test message {i}, kind both.\n.A line that starts with a dot.\n"
    );
    let line = "The quick brown fox jumps over the lazy dog, and the dog sleeps on, unbothered.\n";
    let want = message_bytes();
    while m.len() + line.len() < want {
        m.push_str(line);
    }
    m.push_str("Last line.\n");
    m
}

/// `SIDE_MESSAGE_BYTES`, or 0: the messages as short as they come (about 300 bytes of text).
fn message_bytes() -> usize {
    std::env::var("SIDE_MESSAGE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn report(who: &[Who], results: &[Vec<(f64, f64)>], ceilings: (Vec<f64>, Vec<f64>)) {
    println!();
    println!("messages of {} bytes", message(0).len());
    let mut medians = Vec::new();
    println!("| system | msg/s (median) | CPU per message | rounds |");
    println!("|---|---|---|---|");
    for (w, r) in who.iter().zip(results) {
        let mr = median(r.iter().map(|x| x.0).collect());
        let mc = median(r.iter().map(|x| x.1).collect());
        medians.push((mr, mc));
        println!(
            "| {} | {mr:.0} | {mc:.3} ms | {} |",
            w.label(),
            r.iter()
                .map(|x| format!("{:.0}", x.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "| ceiling: create+write+rename, no fsync | {:.0} files/s | | |",
        median(ceilings.0)
    );
    println!(
        "| ceiling: the same with fsync of file and directory | {:.0} files/s | | |",
        median(ceilings.1)
    );
    let at = |label: &str| who.iter().position(|w| w.label() == label);
    let pairs = [
        ("this router (2)", "Postfix 3.7 drain"),
        ("this router (2)", "ZMailer's router (2)"),
        ("this router, ZMailer mode (2)", "ZMailer's router (2)"),
        ("this router (2)", "this router before (2)"),
        (
            "this router, ZMailer mode (2)",
            "this router before, ZMailer mode (2)",
        ),
    ];
    for (a, b) in pairs {
        let (Some(a), Some(b)) = (at(a), at(b)) else {
            continue;
        };
        println!(
            "{} / {}: {:.2}x the messages per second, {:.2}x less CPU per message",
            who[a].label(),
            who[b].label(),
            medians[a].0 / medians[b].0,
            medians[b].1 / medians[a].1
        );
    }
}

fn configure(prefix: &Path, dir: &Path, bin: &Path) -> PathBuf {
    std::fs::write(
        dir.join("aliases"),
        "postmaster: root\nMAILER-DAEMON: root\n",
    )
    .unwrap();
    std::fs::write(dir.join("transport"), "sink.test smtp:[127.0.0.1]\n").unwrap();
    let cfg = dir.join("router.toml");
    std::fs::write(
        &cfg,
        format!(
            "workers = 2\n[routing]\nlocal_domains = [\"zm.test\", \"mx.zm.test\", \"localhost\"]\n\
             aliases = \"aliases\"\ntransport = \"transport\"\n\
             [zmailer]\nenabled = true\nzconfig = \"{}\"\nhostname = \"mx.zm.test\"\n",
            prefix.join("zmailer.conf").display()
        ),
    )
    .unwrap();
    let st = Command::new(bin)
        .args(["init", "--zmailer"])
        .arg(prefix.join("po"))
        .status()
        .unwrap();
    assert!(st.success());
    cfg
}

fn remove_files_below(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => remove_files_below(&e.path()),
            Ok(_) => {
                let _ = std::fs::remove_file(e.path());
            }
            Err(_) => {}
        }
    }
}

fn count_files(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

fn clean(prefix: &Path) {
    for d in [
        "router",
        "transport",
        "queue",
        "deferred",
        "postman",
        "work",
    ] {
        remove_files_below(&prefix.join("po").join(d));
    }
    // Let the file system's writeback of the deletes settle before the next timed run.
    let _ = Command::new("sync").status();
}

/// N messages into po/router/, as smtpserver writes them.
fn fill(prefix: &Path, n: usize) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let router = prefix.join("po/router");
    let daemon = router::accounts::id_of("daemon", Path::new(router::accounts::PASSWD))
        .expect("a daemon user");
    for i in 0..n {
        let m = format!(
            "external\nrcvdfrom localhost ([127.0.0.1]:40064 \"ehlo client.example\" rhost-flags-OK-OK-OK-FAIL)\n\
             with ESMTP\nfrom <root@zm.test>\n\
             todsn NOTIFY=FAILURE,DELAY ORCPT=rfc822;postmaster@zm.test\nto <postmaster@zm.test>\n\
             todsn NOTIFY=FAILURE,DELAY ORCPT=rfc822;carol@sink.test\nto <carol@sink.test>\nenv-end\n{}",
            message(i)
        );
        let tmp = router.join(".bench-tmp");
        std::fs::write(&tmp, m).unwrap();
        std::os::unix::fs::chown(&tmp, Some(daemon), None).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ino = std::fs::metadata(&tmp).unwrap().ino();
        std::fs::rename(&tmp, router.join(ino.to_string())).unwrap();
    }
    settle();
}

/// Waits for the disk to be quiet before a timed run: `sync`, then until the kernel's I/O
/// pressure (`/proc/pressure/io`, `some avg10`) is under 2 %, at most 60 s. The file system
/// here is mounted with `discard`: the deletes of the run before go on costing for seconds
/// after it (found when the no-fsync ceiling fell from 16 000 to 1 500 files/s after the
/// first round of a run).
fn settle() {
    let _ = Command::new("sync").status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let psi = std::fs::read_to_string("/proc/pressure/io").unwrap_or_default();
        let avg10 = psi
            .lines()
            .find(|l| l.starts_with("some"))
            .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("avg10=")))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if avg10 < 2.0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until router/ is empty and `n` control files are in transport/.
fn wait_done(prefix: &Path, n: usize, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if count_files(&prefix.join("po/router")) == 0
            && count_files(&prefix.join("po/transport")) >= n
        {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "not done after {limit:?}");
        // Not faster: a listing of thousands of files takes CPU from the system under test.
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn zmailer(prefix: &Path, n: usize) -> (f64, f64) {
    let po = prefix.join("po");
    let _ = std::fs::remove_file(po.join(".pid.router"));
    let start = Instant::now();
    let st = Command::new(prefix.join("bin/router"))
        .arg("-dWkn")
        .arg("2")
        .current_dir(&po)
        .env("ZCONFIG", prefix.join("zmailer.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    wait_done(prefix, n, Duration::from_secs(600));
    let secs = start.elapsed().as_secs_f64();
    let pgid = std::fs::read_to_string(po.join(".pid.router")).unwrap();
    let cpu = group_cpu(pgid.trim());
    // ZMailer's router calls setsid: its pid is its group's, and its children are in it.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", pgid.trim())])
        .status();
    std::thread::sleep(Duration::from_millis(300));
    (secs, cpu)
}

fn ours(bin: &Path, cfg: &Path, workers: Option<usize>, check: impl FnOnce()) -> (f64, f64) {
    let before = children_cpu();
    let start = Instant::now();
    let mut c = Command::new(bin);
    c.arg("-c").arg(cfg).args(["run", "--once"]);
    if let Some(w) = workers {
        c.arg("--workers").arg(w.to_string());
    }
    let st = c.stderr(Stdio::null()).status().unwrap();
    assert!(st.success());
    let secs = start.elapsed().as_secs_f64();
    check();
    (secs, children_cpu() - before)
}

/// A postoffice in the router's own format, and its configuration: the same recipients as
/// ZMailer's messages (a local one, and a remote one through the transport table).
fn configure_native(dir: &Path, bin: &Path) -> (PathBuf, PathBuf) {
    let po = dir.join("po");
    let cfg = dir.join("native.toml");
    std::fs::write(
        &cfg,
        format!(
            "postoffice = \"{}\"\nworkers = 2\n[routing]\nlocal_domains = [\"zm.test\", \"mx.zm.test\", \"localhost\"]\n\
             aliases = \"aliases\"\ntransport = \"transport\"\n",
            po.display()
        ),
    )
    .unwrap();
    let st = Command::new(bin).arg("init").arg(&po).status().unwrap();
    assert!(st.success());
    (po, cfg)
}

/// The same messages as [`fill`]'s, in the router's own envelope.
fn fill_native(po: &Path, n: usize) {
    remove_files_below(&po.join("queue"));
    let router = po.join("router");
    for i in 0..n {
        let m = format!(
            "from <root@zm.test>\nto <postmaster@zm.test>\nto <carol@sink.test>\nenv-end\n\
             Received: from localhost ([127.0.0.1]) by mx.zm.test with ESMTP; Mon, 30 Nov 2026 05:10:30 -0000\n{}",
            message(i)
        );
        std::fs::write(router.join(format!("bench-{i:06}")), m).unwrap();
    }
    settle();
}

/// A Postfix instance of its own, and a maildrop of N messages to copy into it each round.
struct Postfix {
    base: PathBuf,
    template: PathBuf,
}

impl Postfix {
    fn etc(&self) -> PathBuf {
        self.base.join("etc")
    }
    fn spool(&self) -> PathBuf {
        self.base.join("spool")
    }

    fn setup(base: &Path, n: usize) -> Postfix {
        assert!(
            Path::new("/usr/sbin/postfix").exists(),
            "Postfix is not installed: apt-get install postfix (\"No configuration\")"
        );
        let p = Postfix {
            base: base.to_path_buf(),
            // Kept between runs: dropping N messages through sendmail takes minutes.
            template: base.with_file_name(match message_bytes() {
                0 => format!("side-by-side-postfix-maildrop-{n}"),
                size => format!("side-by-side-postfix-maildrop-{n}-{size}"),
            }),
        };
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(p.etc())
            .arg("stop")
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(base);
        for d in ["etc", "spool", "data"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        let postfix_uid = router::accounts::id_of("postfix", Path::new(router::accounts::PASSWD))
            .expect("a postfix user (apt-get install postfix)");
        std::os::unix::fs::chown(base.join("data"), Some(postfix_uid), None).unwrap();
        let b = base.display();
        std::fs::write(
            p.etc().join("main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {b}/spool\ndata_directory = {b}/data\n\
                 command_directory = /usr/sbin\ndaemon_directory = /usr/lib/postfix/sbin\n\
                 mail_owner = postfix\nsetgid_group = postdrop\nmyhostname = mx.zm.test\n\
                 mydomain = zm.test\nmyorigin = zm.test\nmydestination = zm.test, mx.zm.test, localhost\n\
                 inet_interfaces = loopback-only\ninet_protocols = ipv4\n\
                 default_transport = discard:bench\nlocal_transport = discard:bench\n\
                 relay_transport = discard:bench\nalias_maps =\nalias_database =\n\
                 local_recipient_maps =\nbiff = no\n"
            ),
        )
        .unwrap();
        // Postfix's own master.cf less every listener: only what a drain of the maildrop uses.
        std::fs::write(
            p.etc().join("master.cf"),
            "pickup unix n - n 60 1 pickup\ncleanup unix n - n - 0 cleanup\n\
             qmgr unix n - n 300 1 qmgr\nrewrite unix - - n - - trivial-rewrite\n\
             bounce unix - - n - 0 bounce\ndefer unix - - n - 0 bounce\n\
             trace unix - - n - 0 bounce\nverify unix - - n - 1 verify\n\
             flush unix n - n 1000? 0 flush\nproxymap unix - - n - - proxymap\n\
             anvil unix - - n - 1 anvil\nscache unix - - n - 1 scache\n\
             discard unix - - n - - discard\npostlog unix-dgram n - n - 1 postlogd\n",
        )
        .unwrap();
        let st = Command::new("postfix")
            .arg("-c")
            .arg(p.etc())
            .arg("check")
            .status()
            .unwrap();
        assert!(st.success(), "postfix check");
        if count_files(&p.template) != n {
            p.drop_template(n);
        }
        p
    }

    /// The maildrop, once, by Postfix's own sendmail (with Postfix down it only drops).
    fn drop_template(&self, n: usize) {
        let t = Instant::now();
        for i in 0..n {
            let mut c = Command::new("/usr/sbin/sendmail")
                .arg("-C")
                .arg(self.etc())
                .args([
                    "-f",
                    "root@zm.test",
                    "postmaster@zm.test",
                    "carol@sink.test",
                ])
                .stdin(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let m = message(i);
            use std::io::Write;
            c.stdin.take().unwrap().write_all(m.as_bytes()).unwrap();
            assert!(c.wait().unwrap().success(), "sendmail");
        }
        let _ = std::fs::remove_dir_all(&self.template);
        let st = Command::new("cp")
            .arg("-a")
            .arg(self.spool().join("maildrop"))
            .arg(&self.template)
            .status()
            .unwrap();
        assert!(st.success());
        remove_files_below(&self.spool().join("maildrop"));
        assert_eq!(count_files(&self.template), n);
        println!(
            "Postfix: {n} messages dropped by sendmail in {:.1} s (kept in {}; each round copies them)",
            t.elapsed().as_secs_f64(),
            self.template.display()
        );
    }

    fn queued(&self) -> usize {
        ["maildrop", "incoming", "active", "deferred", "hold"]
            .iter()
            .map(|d| count_files(&self.spool().join(d)))
            .sum()
    }

    fn run(&self, n: usize) -> (f64, f64) {
        let drop = self.spool().join("maildrop");
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cp -a {}/. {}/",
                self.template.display(),
                drop.display()
            ))
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(count_files(&drop), n);
        // A queue file's name holds its inode number: the copies are renamed to match before
        // the clock starts (`postfix start` would otherwise do it, timed).
        let st = Command::new("postsuper")
            .arg("-c")
            .arg(self.etc())
            .arg("-s")
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "postsuper -s");
        settle();
        let start = Instant::now();
        self.ctl("start");
        let limit = Duration::from_secs(600);
        while self.queued() > 0 {
            assert!(
                start.elapsed() < limit,
                "Postfix not drained after {limit:?}"
            );
            // Not faster: a listing of thousands of files takes CPU from the system under test.
            std::thread::sleep(Duration::from_millis(100));
        }
        let secs = start.elapsed().as_secs_f64();
        let pid = std::fs::read_to_string(self.spool().join("pid/master.pid")).unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap();
        let cpu = group_cpu(&stat_fields(&stat, &[]).1);
        self.ctl("stop");
        std::thread::sleep(Duration::from_millis(500));
        (secs, cpu)
    }

    /// `postfix -c ETC <verb>`, which must succeed.
    fn ctl(&self, verb: &str) {
        let st = Command::new("postfix")
            .arg("-c")
            .arg(self.etc())
            .arg(verb)
            .status()
            .unwrap();
        assert!(st.success(), "postfix {verb}");
    }
}

/// CPU seconds of the processes in a process group (utime, stime, and the children's they
/// reaped), from /proc.
fn group_cpu(pgid: &str) -> f64 {
    let mut ticks = 0u64;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let (t, group) = stat_fields(&stat, &[11, 12, 13, 14]);
        if group == pgid {
            ticks += t;
        }
    }
    ticks as f64 / 100.0
}
