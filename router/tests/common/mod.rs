//! Test support for the spool: postoffices in a temporary directory (on tmpfs when there is
//! one, so syncfs is cheap), the router binary run as a child with faults planned through the
//! file-system seam, and the invariant checker.
#![allow(dead_code)]

pub mod powercut;
pub mod zmailer_mode;

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
    c.status_within()
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
                if !expected_parked {
                    return Err(format!("{id} is parked, but the fault-free run routed it"));
                }
                if bytes != orig {
                    return Err(format!("deferred/{id} is not the original message"));
                }
                let code = |snap: &BTreeMap<String, Vec<u8>>| {
                    snap.get(&format!("deferred/{id}.reason")).and_then(|r| {
                        String::from_utf8_lossy(r)
                            .lines()
                            .find_map(|l| l.strip_prefix("Reason: ").map(str::to_string))
                    })
                };
                if code(&snap) != code(expected) {
                    return Err(format!(
                        "{id} parked as {:?}, the fault-free run parked it as {:?}",
                        code(&snap),
                        code(expected)
                    ));
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

/// Every child process a test starts has a deadline: past it, the child is killed and the
/// test fails, instead of hanging the suite (a supervisor that never kills a stalled worker,
/// a log writer that blocks). Two minutes: the slowest child (a 20 000-message soak router)
/// takes seconds.
pub const CHILD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// A child that is killed (and reaped) when dropped: a test that fails leaves no router
/// running behind it.
pub struct Guard(pub std::process::Child);

impl Guard {
    /// Sends the child `sig` (SIGCONT to a stopped one, SIGTERM to drain, ...).
    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.0.id() as i32).expect("a child's pid");
        rustix::process::kill_process(pid, sig).expect("signal the child");
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Waits for the child at most `limit`; past it, kills it and panics.
    pub fn wait_within(&mut self, limit: std::time::Duration) -> ExitStatus {
        let start = std::time::Instant::now();
        loop {
            if let Some(st) = self.0.try_wait().expect("try_wait") {
                return st;
            }
            if start.elapsed() > limit {
                let _ = self.0.kill();
                let _ = self.0.wait();
                panic!(
                    "child {} still running after {limit:?}: killed",
                    self.0.id()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// [`Guard::wait_within`] with [`CHILD_DEADLINE`].
    pub fn wait(&mut self) -> ExitStatus {
        self.wait_within(CHILD_DEADLINE)
    }

    /// Collects what the child writes to its piped stdout and stderr, waiting at most
    /// `limit` for it to end.
    pub fn output_within(mut self, limit: std::time::Duration) -> std::process::Output {
        use std::io::Read;
        fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut v);
                }
                v
            })
        }
        let out = drain(self.0.stdout.take());
        let err = drain(self.0.stderr.take());
        let status = self.wait_within(limit);
        std::process::Output {
            status,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        }
    }

    pub fn output(self) -> std::process::Output {
        self.output_within(CHILD_DEADLINE)
    }
}

impl std::ops::Deref for Guard {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Running a command with a deadline (the test suite's `output`, `status` and `spawn`).
pub trait Within {
    /// Spawns it as a [`Guard`].
    fn guard(&mut self) -> Guard;
    /// Like `Command::output`, with [`CHILD_DEADLINE`].
    fn output_within(&mut self) -> std::process::Output;
    /// Like `Command::status`, with [`CHILD_DEADLINE`].
    fn status_within(&mut self) -> ExitStatus;
    /// [`output_within`](Within::output_within) with `stdin` written to the child first (a
    /// child that exits without reading it is not an error).
    fn output_with_stdin(&mut self, stdin: &[u8]) -> std::process::Output;
}

impl Within for Command {
    fn guard(&mut self) -> Guard {
        Guard(self.spawn().expect("spawn"))
    }
    fn output_within(&mut self) -> std::process::Output {
        self.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.guard().output()
    }
    fn status_within(&mut self) -> ExitStatus {
        self.guard().wait()
    }
    fn output_with_stdin(&mut self, stdin: &[u8]) -> std::process::Output {
        use std::io::Write;
        self.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.guard();
        if let Some(mut pipe) = child.0.stdin.take() {
            let _ = pipe.write_all(stdin);
        }
        child.output()
    }
}

/// Under CI (`CI=true`) a check that cannot run here fails the test instead of passing with
/// a "skipped" note (shared with the benches' tests; not every test file calls it).
#[allow(unused_imports)]
pub use benches::cannot_run_here;

/// Waits until process `pid` is stopped (a `stop@STEP` fault sent it SIGSTOP).
pub fn wait_stopped(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('T'))
        {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "writer never stopped");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The routing scenario: a fan-out to three channels (smtp, local, error), a message for one
/// channel, a malformed one that is parked, and one that has already used up its attempts.
pub fn routing_scenario() -> (Po, BTreeMap<String, Vec<u8>>) {
    scenario(
        new_po(),
        b"from <a@example.org>\nto <b@example.net>\nto <c@local.test>\nto <bad@>\nx-trace 42\nenv-end\nSubject: fan-out\n\nbody 1\n",
        b"from <>\nto <d@example.com>\nenv-end\nSubject: bounce\n\nbody 2\n",
    )
}

/// A scenario's postoffice: `m1` and `m2` as given (their envelopes differ by mode), `m3`
/// malformed, `m4` with its attempts used up; and the messages as put.
pub fn scenario(po: Po, m1: &[u8], m2: &[u8]) -> (Po, BTreeMap<String, Vec<u8>>) {
    let msgs: [(&str, &[u8]); 4] = [
        ("m1", m1),
        ("m2", m2),
        (
            "m3",
            b"from <a@example.org>\nbogus line\nenv-end\n\nbody 3\n",
        ),
        (
            "m4",
            b"from <a@example.org>\nto <e@example.net>\nenv-end\n\nbody 4\n",
        ),
    ];
    let mut originals = BTreeMap::new();
    for (id, m) in msgs {
        put(&po, id, m);
        originals.insert(id.to_string(), m.to_vec());
    }
    std::fs::write(po.root.join("work/m4#attempts"), b"xxx").unwrap();
    (po, originals)
}
