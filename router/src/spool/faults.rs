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
    /// A sync step is skipped: it returns at once, syncing nothing.
    NoSync,
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
            "nosync" => Kind::NoSync,
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
    journal: Option<Mutex<std::fs::File>>,
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
        let journal = std::env::var_os("ROUTER_FAULT_JOURNAL");
        if spec.is_none() && trace.is_none() && journal.is_none() {
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
        let append = |p: std::ffi::OsString| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
                .map(Mutex::new)
        };
        Some(Faulty {
            faults,
            trace: trace.and_then(append),
            journal: journal.and_then(append),
            step: AtomicU64::new(0),
        })
    }

    /// Appends a line to the journal, if there is one.
    fn journal(&self, line: impl FnOnce() -> String) {
        if let Some(j) = &self.journal {
            if let Ok(mut f) = j.lock() {
                let _ = writeln!(f, "{}", line());
            }
        }
    }

    /// `data <ino> <hex of the whole file>`: what a write left in the file.
    fn journal_data(&self, f: &File) {
        if self.journal.is_none() {
            return;
        }
        use std::os::fd::AsRawFd;
        let Ok(m) = Os.meta(f) else { return };
        // The handle may be write-only: read the file again through /proc.
        let Ok(buf) = std::fs::read(format!("/proc/self/fd/{}", f.std().as_raw_fd())) else {
            return;
        };
        let mut hex = String::with_capacity(buf.len() * 2);
        for b in &buf {
            hex.push_str(&format!("{b:02x}"));
        }
        self.journal(|| format!("data {} {hex}", m.ino));
    }

    /// Whether the sync of `step` is planned away (`nosync@LABEL`).
    fn skips_sync(&self, step: Step) -> bool {
        let label = step.label();
        self.faults.iter().any(|p| {
            p.fault.kind == Kind::NoSync
                && match &p.fault.at {
                    At::Label(l) => l == label || (p.fault.sticky && label.starts_with(l.as_str())),
                    _ => false,
                }
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
            // Acted on by the sync methods themselves.
            Kind::NoSync => op(),
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
        let made = self.step(step, || Os.mkdir(step, dir, name))?;
        if made {
            self.journal(|| format!("mkdir {}", dir.path().join(name).display()));
        }
        Ok(made)
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
        let f = self.step(step, || Os.create_excl(step, dir, name))?;
        if let Ok(m) = Os.meta(&f) {
            self.journal(|| format!("create {} {}", m.ino, dir.path().join(name).display()));
        }
        Ok(f)
    }
    fn open_append(&self, step: Step, dir: &Dir, name: &str) -> io::Result<File> {
        let f = self.step(step, || Os.open_append(step, dir, name))?;
        if let Ok(m) = Os.meta(&f) {
            self.journal(|| format!("append {} {}", m.ino, dir.path().join(name).display()));
        }
        Ok(f)
    }
    fn open_read(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Option<File>> {
        self.step(step, || Os.open_read(step, dir, name))
    }
    fn write_all(&self, step: Step, f: &File, bytes: &[u8]) -> io::Result<()> {
        self.step(step, || Os.write_all(step, f, bytes))?;
        self.journal_data(f);
        Ok(())
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
        if self.skips_sync(step) {
            return self.step(step, || Ok(()));
        }
        self.step(step, || Os.fsync(step, f))?;
        if let Ok(m) = Os.meta(f) {
            self.journal(|| format!("fsync {}", m.ino));
        }
        Ok(())
    }
    fn fsync_dir(&self, step: Step, d: &Dir) -> io::Result<()> {
        if self.skips_sync(step) {
            return self.step(step, || Ok(()));
        }
        self.step(step, || Os.fsync_dir(step, d))?;
        self.journal(|| format!("fsyncdir {}", d.path().display()));
        Ok(())
    }
    fn syncfs(&self, step: Step, d: &Dir) -> io::Result<()> {
        if self.skips_sync(step) {
            return self.step(step, || Ok(()));
        }
        self.step(step, || Os.syncfs(step, d))?;
        self.journal(|| "syncfs".into());
        Ok(())
    }
    fn ftruncate(&self, step: Step, f: &File, len: u64) -> io::Result<()> {
        self.step(step, || Os.ftruncate(step, f, len))?;
        self.journal_data(f);
        Ok(())
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
        })?;
        self.journal(|| {
            format!(
                "rename {} {}",
                from.path().join(from_name).display(),
                to.path().join(to_name).display()
            )
        });
        Ok(())
    }
    fn unlink(&self, step: Step, dir: &Dir, name: &str) -> io::Result<bool> {
        let gone = self.step(step, || Os.unlink(step, dir, name))?;
        if gone {
            self.journal(|| format!("unlink {}", dir.path().join(name).display()));
        }
        Ok(gone)
    }
    fn meta_at(&self, dir: &Dir, name: &str) -> io::Result<Option<Meta>> {
        Os.meta_at(dir, name)
    }
    fn meta_at_step(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Option<Meta>> {
        self.step(step, || Os.meta_at(dir, name))
    }
    fn list(&self, step: Step, dir: &Dir) -> io::Result<Vec<String>> {
        // Listing was not a counted step before the seam became a trait; it stays uncounted,
        // so the step numbers the crash tests enumerate mean what they meant.
        Os.list(step, dir)
    }
    fn list_chunks(
        &self,
        step: Step,
        dir: &Dir,
        max: usize,
        f: &mut dyn FnMut(Vec<String>) -> io::Result<bool>,
    ) -> io::Result<()> {
        Os.list_chunks(step, dir, max, f)
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
