//! `router deferred list|show|release|remove`, `router status [--prometheus]` and
//! `router check`, through the binary, on a postoffice routed from corpus/messages.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/messages")
}

fn cmd(cfg: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("-c")
        .arg(cfg)
        .args(args)
        .output_within()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn deferred_status_and_check() {
    let po = new_po();
    let dir = po._tmp.path();
    for t in ["aliases", "transport"] {
        std::fs::copy(corpus().join(t), dir.join(t)).unwrap();
    }
    let cfg = dir.join("router.toml");
    std::fs::write(
        &cfg,
        format!(
            "postoffice = {:?}\n[routing]\nlocal_domains = [\"example.org\"]\naliases = {:?}\ntransport = {:?}\n",
            po.root,
            dir.join("aliases"),
            dir.join("transport")
        ),
    )
    .unwrap();
    for f in [
        "plain.eml",
        "alias-loop.eml",
        "hop-limit.eml",
        "bad-envelope.eml",
    ] {
        put(
            &po,
            f.trim_end_matches(".eml"),
            &std::fs::read(corpus().join(f)).unwrap(),
        );
    }
    let o = cmd(&cfg, &["check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text(&o).contains("configuration: ok (1 local domains, 8 aliases, 3 transport entries)"),
        "{}",
        text(&o)
    );
    assert!(cmd(&cfg, &["run", "--once", "--inline"]).status.success());

    // status, for people and for Prometheus.
    let s = text(&cmd(&cfg, &["status"]));
    assert!(
        s.contains("router/           0")
            && s.contains("queue/smtp        1")
            && s.contains("deferred/         3"),
        "{s}"
    );
    assert!(s.contains("  alias-loop                       1"), "{s}");
    let p = text(&cmd(&cfg, &["status", "--prometheus"]));
    for line in [
        "router_messages{dir=\"deferred\"} 3",
        "router_messages{dir=\"queue\",channel=\"smtp\"} 1",
        "router_deferred_messages{reason=\"hop-limit\"} 1",
        "router_deferred_messages{reason=\"malformed-envelope\"} 1",
    ] {
        assert!(p.lines().any(|l| l == line), "{line} not in\n{p}");
    }

    // list, filtered; show.
    let l = text(&cmd(&cfg, &["deferred", "list"]));
    assert_eq!(l.lines().count(), 3, "{l}");
    let l = text(&cmd(&cfg, &["deferred", "list", "--reason", "alias-loop"]));
    assert!(
        l.starts_with("alias-loop\talias-loop\t20") && l.contains("loop-a -> loop-b"),
        "{l}"
    );
    let sh = text(&cmd(&cfg, &["deferred", "show", "alias-loop"]));
    assert!(
        sh.starts_with("Reason: alias-loop\n")
            && sh.contains("\nto <loop-a@example.org>\nenv-end\nSubject: alias-loop")
            && !sh.contains("Round and round"),
        "{sh}"
    );

    // Fix the table, release by reason, route again: delivered this time.
    let aliases = std::fs::read_to_string(dir.join("aliases")).unwrap();
    std::fs::write(
        dir.join("aliases"),
        aliases.replace("loop-c:     loop-a", "loop-c:     carol"),
    )
    .unwrap();
    let r = cmd(&cfg, &["deferred", "release", "--reason", "alias-loop"]);
    assert_eq!(text(&r), "alias-loop: released\n");
    assert!(
        po.root.join("router/alias-loop").exists()
            && !po.root.join("deferred/alias-loop.reason").exists()
    );
    assert!(cmd(&cfg, &["run", "--once", "--inline"]).status.success());
    let q = std::fs::read_to_string(po.root.join("queue/local/alias-loop")).unwrap();
    assert!(q.contains("rcpt - <carol@example.org>\n"), "{q}");

    // remove; unknown ids; nothing named.
    assert_eq!(
        text(&cmd(&cfg, &["deferred", "remove", "hop-limit"])),
        "hop-limit: removed\n"
    );
    assert!(
        !po.root.join("deferred/hop-limit").exists()
            && !po.root.join("deferred/hop-limit.reason").exists()
    );
    assert_eq!(
        cmd(&cfg, &["deferred", "release", "nosuch"]).status.code(),
        Some(65)
    );
    assert_eq!(
        cmd(&cfg, &["deferred", "show", "../etc"]).status.code(),
        Some(65)
    );
    assert_eq!(cmd(&cfg, &["deferred", "remove"]).status.code(), Some(64));
    assert_eq!(text(&cmd(&cfg, &["deferred", "list"])).lines().count(), 1);

    // check names a broken table by file and line, with EX_CONFIG.
    std::fs::write(dir.join("aliases"), "a: b\nbroken line\n").unwrap();
    let o = cmd(&cfg, &["check"]);
    assert_eq!(o.status.code(), Some(78));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("aliases:2: no `:`"), "{e}");
}

/// Invoked as `sendmail` (a symlink), the arguments are submit's; the configuration comes
/// from $ROUTER_CONFIG.
#[test]
fn invoked_as_sendmail() {
    use std::io::Write;
    let po = new_po();
    let dir = po._tmp.path();
    let cfg = dir.join("router.toml");
    std::fs::write(&cfg, format!("postoffice = {:?}\n", po.root)).unwrap();
    let sendmail = dir.join("sendmail");
    std::os::unix::fs::symlink(BIN, &sendmail).unwrap();
    let mut c = Command::new(&sendmail)
        .args(["-oi", "-f", "alice@example.org", "-t"])
        .env("ROUTER_CONFIG", &cfg)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .guard();
    c.0.stdin
        .take()
        .unwrap()
        .write_all(b"To: bob@example.net\n\nhi\n.\nstill the body\n")
        .unwrap();
    let o = c.output();
    assert!(o.status.success());
    // Silent on success, as sendmail is (cron mails whatever a job prints).
    assert_eq!(text(&o), "");
    let ids: Vec<_> = std::fs::read_dir(po.root.join("router"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = &ids[0];
    assert_eq!(
        std::fs::read(po.root.join("router").join(id)).unwrap(),
        b"from <alice@example.org>\nenv-end\nTo: bob@example.net\n\nhi\n.\nstill the body\n"
    );
}

/// Once the message is published, `submit` exits 0 even if its id cannot be printed (stdout
/// closed): a failure there made the caller retry, and the mail went twice. Arguments with a
/// control character are refused at once (64), not parked by the router later.
#[test]
fn submit_tells_the_truth() {
    use std::io::Write;
    let po = new_po();
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let mut c = Command::new(BIN)
        .arg("-p")
        .arg(&po.root)
        .args(["submit", "-f", "a@example.org", "b@example.net"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::from(writer))
        .stderr(std::process::Stdio::piped())
        .guard();
    c.0.stdin
        .take()
        .unwrap()
        .write_all(b"Subject: x\n\nbody\n")
        .unwrap();
    let o = c.output();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_dir(po.root.join("router")).unwrap().count(),
        1
    );
    for bad in ["b\u{1}@example.net", "b@exa\u{7f}mple.net", "b\t@x.y"] {
        let o = Command::new(BIN)
            .arg("-p")
            .arg(&po.root)
            .args(["submit", "-f", "a@example.org", bad])
            .stdin(std::process::Stdio::null())
            .output_within();
        assert_eq!(o.status.code(), Some(64), "{bad:?}");
    }
    assert_eq!(
        std::fs::read_dir(po.root.join("router")).unwrap().count(),
        1
    );
}

#[test]
fn man_pages() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN).arg("man").arg(dir.path()).output_within();
    assert!(o.status.success());
    for page in [
        "router",
        "router-run",
        "router-submit",
        "router-deferred",
        "router-demo",
    ] {
        let t = std::fs::read_to_string(dir.path().join(format!("{page}.1"))).unwrap();
        assert!(
            t.starts_with(".ie \\n(.g .ds Aq") && t.contains(".SH NAME"),
            "{page}"
        );
        for section in [".SH FILES", ".SH \"EXIT STATUS\"", ".SH \"SEE ALSO\""] {
            assert!(t.contains(section), "{page}: no {section}");
        }
        assert_eq!(
            t.contains(".SH SIGNALS"),
            page == "router" || page == "router-run",
            "{page}"
        );
    }
    // One page per command, and each named in router.1's SEE ALSO.
    let router = std::fs::read_to_string(dir.path().join("router.1")).unwrap();
    for page in [
        "router-status",
        "router-check",
        "router-parse",
        "router-init",
    ] {
        assert!(dir.path().join(format!("{page}.1")).exists(), "{page}");
        assert!(router.contains(&format!(".BR {page} (1)")), "{page}");
    }
}

/// Service readiness: a configuration file named with `-c` must exist even beside `-p` (a
/// mistyped name never routes with defaults); relative paths in it are the file's; a
/// postoffice that is not there says how to make one.
#[test]
fn an_explicit_config_must_exist_relative_paths_are_the_files_and_a_missing_postoffice_says_init() {
    let po = new_po();
    let dir = po._tmp.path();
    let out = Command::new(BIN)
        .arg("-c")
        .arg(dir.join("typo.toml"))
        .arg("-p")
        .arg(&po.root)
        .arg("status")
        .output_within();
    assert_eq!(out.status.code(), Some(78), "{out:?}");
    // Relative paths, from another working directory.
    std::fs::write(dir.join("aliases"), "team: a@example.org\n").unwrap();
    std::fs::write(
        dir.join("router.toml"),
        "postoffice = \"po\"\n[routing]\nlocal_domains = [\"example.org\"]\naliases = \"aliases\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .current_dir("/")
        .arg("-c")
        .arg(dir.join("router.toml"))
        .arg("check")
        .output_within();
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out).contains("1 aliases"), "{}", text(&out));
    let out = Command::new(BIN)
        .args(["-p", "/nonexistent/postoffice", "status"])
        .output_within();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(err.contains("router init /nonexistent/postoffice"), "{err}");
}

/// A postoffice, a configuration with an origin domain, and a `sendmail` link to the binary.
fn sendmail_setup() -> (Po, std::path::PathBuf, std::path::PathBuf) {
    let po = new_po();
    let dir = po._tmp.path();
    let cfg = dir.join("router.toml");
    std::fs::write(
        &cfg,
        format!(
            "postoffice = {:?}\n[routing]\nlocal_domains = [\"example.org\"]\norigin = \"host.example.org\"\n",
            po.root
        ),
    )
    .unwrap();
    let sendmail = dir.join("sendmail");
    std::os::unix::fs::symlink(BIN, &sendmail).unwrap();
    (po, cfg, sendmail)
}

/// `program args` with `stdin`, the configuration from $ROUTER_CONFIG.
fn run_with(program: &Path, cfg: &Path, args: &[&str], stdin: &[u8]) -> Output {
    Command::new(program)
        .args(args)
        .env("ROUTER_CONFIG", cfg)
        .output_with_stdin(stdin)
}

/// The sendmail invocations real callers make, through a `sendmail` link: each is accepted,
/// the message lands in router/ with the envelope the caller meant, and nothing is printed.
/// Bare names get the origin domain; with no -f the sender is the invoking user there.
#[test]
fn the_sendmail_invocations_of_cron_mailx_mutt_and_php() {
    let (po, cfg, sendmail) = sendmail_setup();
    let user = Command::new("id").arg("-un").output().unwrap();
    let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
    let me = format!("<{user}@host.example.org>");
    let cases: [(&str, &[&str], &str, &str); 6] = [
        // cronie: MAILCMD "-FCronDaemon -i -B8BITMIME -oem"
        (
            "cronie",
            &["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
            "<root@host.example.org>",
            &me,
        ),
        // Debian's cron: "-i -FCronDaemon -B8BITMIME -oem"
        (
            "debian cron",
            &["-i", "-FCronDaemon", "-B8BITMIME", "-oem", "alice"],
            "<alice@host.example.org>",
            &me,
        ),
        // bsd-mailx and s-nail: "-i -- rcpt"
        (
            "mailx",
            &["-i", "--", "bob@example.net"],
            "<bob@example.net>",
            &me,
        ),
        // mutt: "-oem -oi -- rcpt", with -f from its configuration
        (
            "mutt",
            &[
                "-oem",
                "-oi",
                "-f",
                "me@example.org",
                "--",
                "bob@example.net",
            ],
            "<bob@example.net>",
            "<me@example.org>",
        ),
        // PHP's mail(): sendmail_path "sendmail -t -i"
        ("php", &["-t", "-i"], "", &me),
        // older sendmail's -r, -odi, -v
        (
            "sendmail -r",
            &["-r", "daemon@example.org", "-odi", "-v", "carol"],
            "<carol@host.example.org>",
            "<daemon@example.org>",
        ),
    ];
    for (who, args, to, from) in cases {
        for e in std::fs::read_dir(po.root.join("router")).unwrap().flatten() {
            std::fs::remove_file(e.path()).unwrap();
        }
        let o = run_with(
            &sendmail,
            &cfg,
            args,
            b"To: dave@example.net\nSubject: job\n\nhello\n",
        );
        assert!(o.status.success(), "{who}: {o:?}");
        assert_eq!(text(&o), "", "{who}: silent on success");
        let files: Vec<_> = std::fs::read_dir(po.root.join("router"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(files.len(), 1, "{who}");
        let stored = String::from_utf8(std::fs::read(files[0].path()).unwrap()).unwrap();
        assert!(
            stored.starts_with(&format!("from {from}\n")),
            "{who}: {stored}"
        );
        if to.is_empty() {
            assert!(
                !stored.contains("\nto "),
                "{who}: -t takes the headers: {stored}"
            );
        } else {
            assert!(stored.contains(&format!("\nto {to}\n")), "{who}: {stored}");
        }
    }
}

/// What a sendmail caller is refused, with a line: `-t` with no recipient in the headers
/// (nothing queued), `-bs`; and what the other names do: `mailq` lists the queue.
#[test]
fn sendmail_refusals_and_mailq() {
    let (po, cfg, sendmail) = sendmail_setup();
    let o = run_with(&sendmail, &cfg, &["-t", "-i"], b"Subject: nobody\n\nx\n");
    assert_eq!(o.status.code(), Some(65), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no recipient"));
    assert_eq!(
        std::fs::read_dir(po.root.join("router")).unwrap().count(),
        0
    );
    let o = run_with(&sendmail, &cfg, &["-bs"], b"");
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("-bs"));
    let mailq = po._tmp.path().join("mailq");
    std::os::unix::fs::symlink(BIN, &mailq).unwrap();
    let o = run_with(&mailq, &cfg, &[], b"");
    assert!(o.status.success() && text(&o).contains("router/"), "{o:?}");
}

/// The service unit in dist/ passes `systemd-analyze verify`, with its binary paths pointed
/// at this build (and its man pages, which a test machine has not installed, left out).
#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/router.service"),
    )
    .unwrap();
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        cannot_run_here("systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit: String = unit
        .lines()
        .filter(|l| !l.starts_with("Documentation="))
        .map(|l| l.replace("/usr/local/bin/router", BIN) + "\n")
        .collect();
    assert!(unit.contains("NoNewPrivileges=yes") && unit.contains("MemoryMax="));
    let path = dir.path().join("router.service");
    std::fs::write(&path, unit).unwrap();
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output_within();
    // A bad value is only a warning to systemd-analyze: no output at all is the pass.
    assert!(o.status.success() && o.stderr.is_empty(), "{o:?}");
}
