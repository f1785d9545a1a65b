//! The trust model (docs/trust.md) through the real binary: modes that do not depend on the
//! umask, a non-root member of the postoffice's group submitting, a user outside it refused
//! with a clear line, and the router routing as an unprivileged user.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::*;

const ROUTER_UID: u32 = 65534;
const MAIL_GID: u32 = 65533;
const MEMBER_UID: u32 = 1000;
const OUTSIDER_UID: u32 = 1001;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The documented modes, checked on every directory of the postoffice at `root`.
fn assert_modes(root: &Path, why: &str) {
    assert_eq!(
        mode(root),
        router::spool::layout::ROOT_MODE,
        "{why}: the root"
    );
    for (d, m) in router::spool::layout::MODES {
        assert_eq!(
            mode(&root.join(d)),
            m,
            "{why}: {d}/ is {:o}",
            mode(&root.join(d))
        );
    }
}

fn sh(umask: &str, args: &str, stdin: &[u8]) -> std::process::Output {
    Command::new("sh")
        .args(["-c", &format!("umask {umask}; exec {BIN} {args}")])
        .output_with_stdin(stdin)
}

fn shared_tmp() -> tempfile::TempDir {
    let tmp = tempfile::Builder::new()
        .prefix("router-trust-")
        .tempdir()
        .unwrap();
    // The test's directory is private to root: let the other users through.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    tmp
}

#[test]
fn modes_do_not_depend_on_the_umask() {
    for umask in ["000", "077", "022"] {
        let tmp = shared_tmp();
        let root = tmp.path().join("po");
        let out = sh(umask, &format!("init {}", root.display()), b"");
        assert!(out.status.success(), "{out:?}");
        assert_modes(&root, &format!("umask {umask}"));
        // A submission and a pass under the same umask: the message, the channel directory
        // and the outputs get the documented modes, not the umask's.
        let out = sh(
            umask,
            &format!(
                "-p {} submit -f a@example.org b@example.net",
                root.display()
            ),
            b"Subject: s\n\nbody\n",
        );
        assert!(out.status.success(), "{out:?}");
        let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert_eq!(mode(&root.join("router").join(&id)), 0o640, "umask {umask}");
        let out = sh(
            umask,
            &format!("-p {} run --once --inline", root.display()),
            b"",
        );
        assert!(out.status.success(), "{out:?}");
        assert_eq!(mode(&root.join("queue/smtp")), 0o700, "umask {umask}");
        assert_eq!(
            mode(&root.join("queue/smtp").join(&id)),
            0o640,
            "umask {umask}"
        );
        assert_modes(&root, &format!("umask {umask}, after a pass"));
    }
}

#[test]
fn a_group_member_submits_an_outsider_is_refused_and_an_unprivileged_router_routes() {
    if !rustix::process::geteuid().is_root() {
        cannot_run_here("needs root to act as several users");
        return;
    }
    let tmp = shared_tmp();
    let root = tmp.path().join("po");
    let out = Command::new(BIN)
        .arg("init")
        .arg(&root)
        .args(["--owner", &ROUTER_UID.to_string()])
        .args(["--group", &MAIL_GID.to_string()])
        .output_within();
    assert!(out.status.success(), "{out:?}");
    assert_modes(&root, "init --owner --group");
    for d in ["", "public", "router", "work", "queue", "deferred"] {
        let m = std::fs::metadata(root.join(d)).unwrap();
        assert_eq!((m.uid(), m.gid()), (ROUTER_UID, MAIL_GID), "{d}");
    }
    let as_user = |uid: u32, groups: &str, args: &[&str], stdin: &[u8]| {
        Command::new("setpriv")
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={uid}"))
            .arg(groups)
            .arg(BIN)
            .arg("-p")
            .arg(&root)
            .args(args)
            .output_with_stdin(stdin)
    };
    let member = format!("--groups={MAIL_GID}");
    // A member of the group, not root, submits.
    let out = as_user(
        MEMBER_UID,
        &member,
        &["submit", "-f", "member@example.org", "to@example.net"],
        b"Subject: from a member\n\nhello\n",
    );
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let m = std::fs::metadata(root.join("router").join(&id)).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.permissions().mode() & 0o777),
        (MEMBER_UID, MAIL_GID, 0o640),
        "the submitter's file, the postoffice's group, readable by the router"
    );
    // A user outside the group is refused, with a line that says why, and leaves nothing.
    let out = as_user(
        OUTSIDER_UID,
        "--clear-groups",
        &["submit", "-f", "outsider@example.org", "to@example.net"],
        b"Subject: from outside\n\nhello\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "EX_NOPERM: {err}");
    assert!(
        err.contains("you may not submit to this postoffice"),
        "{err}"
    );
    // The member cannot read the router's own directories.
    for d in ["work", "queue", "deferred"] {
        let out = Command::new("setpriv")
            .args([
                &format!("--reuid={MEMBER_UID}"),
                &format!("--regid={MEMBER_UID}"),
                &member,
                "ls",
            ])
            .arg(root.join(d))
            .output_within();
        assert!(!out.status.success(), "a submitter could list {d}/");
    }
    // The router, as its own unprivileged user in the group, routes the member's message.
    let out = as_user(ROUTER_UID, &member, &["run", "--once", "--inline"], b"");
    assert!(out.status.success(), "{out:?}");
    let routed = std::fs::read(root.join("queue/smtp").join(&id)).unwrap();
    assert!(routed.ends_with(b"Subject: from a member\n\nhello\n"));
    assert_eq!(std::fs::read_dir(root.join("router")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(root.join("public")).unwrap().count(), 0);
}
