//! Test support for the spool: postoffices in a temporary directory (on tmpfs when there is
//! one, so syncfs is cheap), the router binary run as a child with faults planned through the
//! file-system seam, and the invariant checker.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_router");

pub struct Po {
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
}

pub fn new_po() -> Po {
    let base = if Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    };
    let tmp = tempfile::Builder::new()
        .prefix("router-test-")
        .tempdir_in(base)
        .expect("tempdir");
    let root = tmp.path().join("po");
    router::spool::Postoffice::init(&root).expect("init");
    Po { _tmp: tmp, root }
}

/// A message written straight into router/ under a fixed id (setup, not under test).
pub fn put(po: &Po, id: &str, bytes: &[u8]) {
    std::fs::write(po.root.join("router").join(id), bytes).expect("put");
}

/// The router binary on `po` with `args`: no planned fault inherited, stdout discarded,
/// stderr captured (a caller may set either again).
pub fn command(po: &Po, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("-p")
        .arg(&po.root)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_remove("ROUTER_FAULT")
        .env_remove("ROUTER_FAULT_TRACE");
    c
}

pub fn router(po: &Po, args: &[&str], env: &[(&str, String)]) -> ExitStatus {
    let mut c = command(po, args);
    c.stderr(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.status().expect("run router")
}

/// One pass in one process (`--inline`): the spool tests count and fault the seam's steps,
/// which needs a single process. The supervisor has its own tests (router_e2e.rs).
pub const RUN: &[&str] = &[
    "run",
    "--once",
    "--inline",
    "--local-domain",
    "local.test",
    "--public-max-age",
    "0",
];

/// How many seam steps `args` takes on a copy of the postoffice as it is now.
pub fn count_steps(po: &Po, args: &[&str], extra_env: &[(&str, String)]) -> usize {
    let trace = po._tmp.path().join(format!("trace-{}", rand_suffix()));
    let copy = copy_po(po);
    let mut env = extra_env.to_vec();
    env.push(("ROUTER_FAULT_TRACE", trace.display().to_string()));
    router(&copy, args, &env);
    let n = std::fs::read_to_string(&trace)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let _ = std::fs::remove_file(&trace);
    n
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 1_000_000
}

/// A copy of a postoffice (regular files only, which is all a postoffice holds).
pub fn copy_po(po: &Po) -> Po {
    let new = new_po();
    copy_tree(&po.root, &new.root);
    new
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

/// Every file under the postoffice, relative path → bytes.
pub fn snapshot(po: &Po) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    walk(&po.root, &po.root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.insert(
                p.strip_prefix(root).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            );
        }
    }
}

/// The final-state invariant, after a clean pass: every message is either routed (exactly its
/// expected outputs, byte for byte, and nothing else of it) or parked (its original bytes in
/// deferred/ with a reason), never both, never neither; router/, work/ and public/ are empty;
/// no other file exists.
pub fn check_final(
    po: &Po,
    originals: &BTreeMap<String, Vec<u8>>,
    expected: &BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    let snap = snapshot(po);
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for path in snap.keys() {
        let ok = path.starts_with("queue/") || path.starts_with("deferred/");
        if !ok {
            return Err(format!("stray file {path}"));
        }
    }
    for (id, orig) in originals {
        let outputs: Vec<&String> = expected
            .keys()
            .filter(|p| p.ends_with(&format!("/{id}")) && p.starts_with("queue/"))
            .collect();
        let parked = snap.get(&format!("deferred/{id}"));
        let expected_parked = expected.contains_key(&format!("deferred/{id}"));
        let have: Vec<&String> = snap
            .keys()
            .filter(|p| p.starts_with("queue/") && p.ends_with(&format!("/{id}")))
            .collect();
        match parked {
            Some(bytes) => {
                if bytes != orig {
                    return Err(format!("deferred/{id} is not the original message"));
                }
                if !snap.contains_key(&format!("deferred/{id}.reason")) {
                    return Err(format!("deferred/{id} has no reason file"));
                }
                if !have.is_empty() {
                    return Err(format!("{id} is both parked and routed: {have:?}"));
                }
                seen.insert(id, "deferred");
            }
            None => {
                if expected_parked {
                    return Err(format!("{id} should be parked"));
                }
                if have.len() != outputs.len() {
                    return Err(format!("{id}: outputs {have:?}, expected {outputs:?}"));
                }
                for p in outputs {
                    if snap.get(p) != expected.get(p) {
                        return Err(format!("{p} differs from the fault-free run"));
                    }
                }
                seen.insert(id, "routed");
            }
        }
    }
    let reasons_without_message = snap
        .keys()
        .filter(|p| p.ends_with(".reason") && !snap.contains_key(p.trim_end_matches(".reason")))
        .count();
    if reasons_without_message > 0 {
        return Err("a reason file without its message".into());
    }
    Ok(())
}
