//! The fault-planning seam (cargo feature `fault-injection`, for tests): [`Os`] with the
//! faults `ROUTER_FAULT` plans, and a trace of every step (`ROUTER_FAULT_TRACE`). The
//! grammar of both is in [`super::seam`]'s header.
//!
//! It is compiled only into test builds: a release binary never reads these variables, so no
//! one who can set a submitter's environment can make it append to a file of their choosing
//! or kill itself at a chosen step (docs/spool.md, "The seam").

use std::io::{self, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use rustix::io::Errno;

use super::seam::{Dir, File, Meta, Os, Replace, Seam, Step};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Crash,
    CrashAfter,
    Stop,
    /// For `stall@MARKER`: sleep forever on reading the marker.
    Stall,
    Error(i32),
    /// The step takes effect, then reports the error: an ambiguous result.
    ErrorAfter(i32),
}

#[derive(Clone, Debug)]
enum At {
    Step(u64),
    Label(String),
    /// For `poison` and `stall`: the marker.
    Content(String),
}

#[derive(Clone, Debug)]
struct Fault {
    kind: Kind,
    at: At,
    sticky: bool,
}

const ENOSPC: i32 = Errno::NOSPC.raw_os_error();
const EDQUOT: i32 = Errno::DQUOT.raw_os_error();
const EIO: i32 = Errno::IO.raw_os_error();

impl Fault {
    /// `kind@N`, `kind@N+`, `kind@LABEL`, `poison@MARKER`, `stall@MARKER`.
    fn parse(spec: &str) -> Option<Fault> {
        let (kind, n) = spec.split_once('@')?;
        let (n, sticky) = match n.strip_suffix('+') {
            Some(n) => (n, true),
            None => (n, false),
        };
        let by_content = kind == "poison" || kind == "stall";
        let kind = match kind {
            "crash" | "poison" => Kind::Crash,
            "stall" => Kind::Stall,
            "crash-after" => Kind::CrashAfter,
            "stop" => Kind::Stop,
            "enospc" => Kind::Error(ENOSPC),
            "edquot" => Kind::Error(EDQUOT),
            "eio" => Kind::Error(EIO),
            "eio-after" => Kind::ErrorAfter(EIO),
            _ => return None,
        };
        let at = match n.parse() {
            _ if by_content => At::Content(n.to_string()),
            Ok(step) => At::Step(step),
            Err(_) => At::Label(n.to_string()),
        };
        Some(Fault { kind, at, sticky })
    }
}

/// [`Os`], with planned faults and a step trace.
#[derive(Debug)]
pub struct Faulty {
    /// The faults planned, in the order given; at one step the first that hits acts.
    faults: Vec<Planned>,
    trace: Option<Mutex<std::fs::File>>,
    step: AtomicU64,
}

#[derive(Debug)]
struct Planned {
    fault: Fault,
    /// For label faults: whether the label has been met (sticky faults fire from then on).
    label_met: AtomicBool,
}

fn die() -> ! {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    // SIGKILL cannot be caught; this is not reached.
    std::process::abort()
}

impl Faulty {
    /// `None` when neither variable is set (the caller then uses [`Os`] itself). A fault
    /// spec that does not parse is a test's bug: it panics, loudly.
    pub fn from_env() -> Option<Faulty> {
        let spec = std::env::var("ROUTER_FAULT").ok();
        let trace = std::env::var_os("ROUTER_FAULT_TRACE");
        if spec.is_none() && trace.is_none() {
            return None;
        }
        // Several faults: `stop@C3.read,stop@C5.publish` (each label met once).
        let faults = spec
            .iter()
            .flat_map(|s| s.split(','))
            .map(|one| match Fault::parse(one) {
                Some(fault) => Planned {
                    fault,
                    label_met: AtomicBool::new(false),
                },
                None => panic!("ROUTER_FAULT part {one:?} is not a fault plan"),
            })
            .collect();
        let trace = trace.and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
                .map(Mutex::new)
        });
        Some(Faulty {
            faults,
            trace,
            step: AtomicU64::new(0),
        })
    }

    /// Runs one step: counts it, traces it, and applies any fault planned for it.
    fn step<T>(&self, step: Step, op: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        let label = step.label();
        let n = self.step.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(t) = &self.trace {
            if let Ok(mut f) = t.lock() {
                let _ = writeln!(f, "{n} {label}");
            }
        }
        // Every plan sees the step (a label is met once per plan), the first hit acts.
        let mut acting = None;
        for p in &self.faults {
            let f = &p.fault;
            let hit = match &f.at {
                At::Step(s) => n == *s || (f.sticky && n > *s),
                At::Label(l) => {
                    let first = l == label && !p.label_met.swap(true, Ordering::Relaxed);
                    first || (f.sticky && p.label_met.load(Ordering::Relaxed))
                }
                At::Content(_) => false,
            };
            if hit && acting.is_none() {
                acting = Some(f.kind);
            }
        }
        let Some(kind) = acting else { return op() };
        match kind {
            Kind::Crash => die(),
            Kind::Stop => {
                let _ = rustix::process::kill_process(
                    rustix::process::getpid(),
                    rustix::process::Signal::STOP,
                );
                op()
            }
            Kind::Error(e) => Err(io::Error::from_raw_os_error(e)),
            Kind::ErrorAfter(e) => {
                let _ = op();
                Err(io::Error::from_raw_os_error(e))
            }
            Kind::CrashAfter => {
                let _ = op();
                die()
            }
            // Content faults act on reads (`inspect`), not at steps.
            Kind::Stall => op(),
        }
    }

    /// `poison@MARKER` and `stall@MARKER`: act on what a read returned.
    fn inspect(&self, bytes: &[u8]) {
        for p in &self.faults {
            if let Fault {
                at: At::Content(marker),
                kind,
                ..
            } = &p.fault
            {
                if memchr::memmem::find(bytes, marker.as_bytes()).is_some() {
                    if *kind == Kind::Stall {
                        loop {
                            std::thread::sleep(std::time::Duration::from_secs(3600));
                        }
                    }
                    die();
                }
            }
        }
    }
}

impl Seam for Faulty {
    fn open_root(&self, path: &Path) -> io::Result<Dir> {
        Os.open_root(path)
    }
    fn open_dir(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Dir> {
        // Opening a directory changes nothing on disk: not a counted step.
        Os.open_dir(step, dir, name)
    }
    fn mkdir(&self, step: Step, dir: &Dir, name: &str) -> io::Result<bool> {
        self.step(step, || Os.mkdir(step, dir, name))
    }
    fn set_mode(
        &self,
        step: Step,
        d: &Dir,
        mode: u32,
        owner: Option<u32>,
        group: Option<u32>,
    ) -> io::Result<()> {
        self.step(step, || Os.set_mode(step, d, mode, owner, group))
    }
    fn create_excl(&self, step: Step, dir: &Dir, name: &str) -> io::Result<File> {
        self.step(step, || Os.create_excl(step, dir, name))
    }
    fn open_append(&self, step: Step, dir: &Dir, name: &str) -> io::Result<File> {
        self.step(step, || Os.open_append(step, dir, name))
    }
    fn open_read(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Option<File>> {
        self.step(step, || Os.open_read(step, dir, name))
    }
    fn write_all(&self, step: Step, f: &File, bytes: &[u8]) -> io::Result<()> {
        self.step(step, || Os.write_all(step, f, bytes))
    }
    fn read_all(&self, step: Step, f: &File, max_bytes: usize) -> io::Result<Vec<u8>> {
        let buf = self.step(step, || Os.read_all(step, f, max_bytes))?;
        self.inspect(&buf);
        Ok(buf)
    }
    fn read_head(&self, step: Step, f: &File, max_bytes: usize) -> io::Result<Vec<u8>> {
        self.step(step, || Os.read_head(step, f, max_bytes))
    }
    fn fsync(&self, step: Step, f: &File) -> io::Result<()> {
        self.step(step, || Os.fsync(step, f))
    }
    fn fsync_dir(&self, step: Step, d: &Dir) -> io::Result<()> {
        self.step(step, || Os.fsync_dir(step, d))
    }
    fn syncfs(&self, step: Step, d: &Dir) -> io::Result<()> {
        self.step(step, || Os.syncfs(step, d))
    }
    fn ftruncate(&self, step: Step, f: &File, len: u64) -> io::Result<()> {
        self.step(step, || Os.ftruncate(step, f, len))
    }
    fn meta(&self, f: &File) -> io::Result<Meta> {
        Os.meta(f)
    }
    fn dir_meta(&self, d: &Dir) -> io::Result<Meta> {
        Os.dir_meta(d)
    }
    fn try_lock(&self, step: Step, f: &File) -> io::Result<bool> {
        self.step(step, || Os.try_lock(step, f))
    }
    fn rename(
        &self,
        step: Step,
        from: &Dir,
        from_name: &str,
        to: &Dir,
        to_name: &str,
        replace: Replace,
    ) -> io::Result<()> {
        self.step(step, || {
            Os.rename(step, from, from_name, to, to_name, replace)
        })
    }
    fn unlink(&self, step: Step, dir: &Dir, name: &str) -> io::Result<bool> {
        self.step(step, || Os.unlink(step, dir, name))
    }
    fn exists(&self, dir: &Dir, name: &str) -> io::Result<bool> {
        Os.exists(dir, name)
    }
    fn list(&self, step: Step, dir: &Dir) -> io::Result<Vec<String>> {
        // Listing was not a counted step before the seam became a trait; it stays uncounted,
        // so the step numbers the crash tests enumerate mean what they meant.
        Os.list(step, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_plans_parse() {
        let f = Fault::parse("crash-after@C5.publish").unwrap();
        assert!(
            matches!((f.kind, &f.at, f.sticky), (Kind::CrashAfter, At::Label(l), false) if l == "C5.publish")
        );
        let f = Fault::parse("enospc@12+").unwrap();
        assert!(matches!(
            (f.kind, &f.at, f.sticky),
            (Kind::Error(ENOSPC), At::Step(12), true)
        ));
        let f = Fault::parse("poison@X-Poison: 1").unwrap();
        assert!(matches!((f.kind, &f.at), (Kind::Crash, At::Content(m)) if m == "X-Poison: 1"));
        assert!(Fault::parse("explode@3").is_none());
        assert!(Fault::parse("crash").is_none());
    }
}
