//! The file-system seam: every system call the spool makes goes through this module.
//!
//! Each call is one numbered *step* with a label (`claim.rename`, `commit.plan.fsync`, ...).
//! Tests drive faults through it from outside the process, with environment variables:
//!
//! - `ROUTER_FAULT=crash@N`: the process sends itself SIGKILL just before step N (a real kill:
//!   no destructors, no flush, locks released by the kernel). `crash-after@N` kills just after
//!   step N has taken effect.
//! - `ROUTER_FAULT=enospc@N` (or `edquot@N`, `eio@N`): step N fails with that error instead of
//!   running; `enospc@N+` fails it and every later step. `eio-after@N`: step N takes effect,
//!   then reports EIO (an ambiguous result, as a rename over a flaky disk can give).
//! - `ROUTER_FAULT=stop@N`: the process sends itself SIGSTOP just before step N (a writer
//!   frozen mid-file, for seed 001); it goes on when sent SIGCONT.
//! - Instead of a number, N may be a step label (`crash-after@commit.publish`): the first step
//!   with that label.
//! - `ROUTER_FAULT=poison@MARKER`: the process SIGKILLs itself whenever a read through the
//!   seam returns bytes containing MARKER: a message that kills its router every time it is
//!   read, as a parser bug would (seed 004). `stall@MARKER`: the process sleeps forever
//!   instead (a message that hangs its router: the wall-clock limit's test).
//! - `ROUTER_FAULT_TRACE=FILE`: appends `N label` for every step, so a test can enumerate the
//!   crash points of a scenario.
//!
//! Without those variables the seam costs one relaxed atomic increment per call.
//! Directories are handles (`Dir`) opened once; names are plain file names within them, never
//! paths, so nothing follows a symlink or escapes the postoffice.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rustix::fs::{self as rfs, AtFlags, FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

/// An open directory of the postoffice.
#[derive(Debug)]
pub struct Dir {
    fd: File,
    /// For messages only.
    pub path: std::path::PathBuf,
}

impl Dir {
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rfs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd: File::from(fd),
            path: path.to_path_buf(),
        })
    }

    /// The device number, for the one-file-system check.
    pub fn dev(&self) -> io::Result<u64> {
        Ok(rfs::fstat(&self.fd)?.st_dev)
    }
}

/// What a no-replace rename did, after looking at both names when the answer was ambiguous.
#[derive(Debug, PartialEq, Eq)]
pub enum Renamed {
    /// The source is now at the destination.
    Done,
    /// The source was not there (another process moved it first).
    SourceGone,
    /// The destination exists and the source is still there: nothing was moved.
    DestinationExists,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultKind {
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
    kind: FaultKind,
    at: At,
    sticky: bool,
}

fn fault() -> Option<&'static Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    FAULT
        .get_or_init(|| {
            let spec = std::env::var("ROUTER_FAULT").ok()?;
            let (kind, n) = spec.split_once('@')?;
            let (n, sticky) = match n.strip_suffix('+') {
                Some(n) => (n, true),
                None => (n, false),
            };
            // `poison` and `stall` are placed by a marker in the bytes read, not by a step.
            let by_content = kind == "poison" || kind == "stall";
            let kind = match kind {
                "crash" | "poison" => FaultKind::Crash,
                "stall" => FaultKind::Stall,
                "crash-after" => FaultKind::CrashAfter,
                "stop" => FaultKind::Stop,
                "enospc" => FaultKind::Error(libc_errno::ENOSPC),
                "edquot" => FaultKind::Error(libc_errno::EDQUOT),
                "eio" => FaultKind::Error(libc_errno::EIO),
                "eio-after" => FaultKind::ErrorAfter(libc_errno::EIO),
                _ => return None,
            };
            let at = match n.parse() {
                _ if by_content => At::Content(n.to_string()),
                Ok(step) => At::Step(step),
                Err(_) => At::Label(n.to_string()),
            };
            Some(Fault { kind, at, sticky })
        })
        .as_ref()
}

mod libc_errno {
    pub const ENOSPC: i32 = 28;
    pub const EDQUOT: i32 = 122;
    pub const EIO: i32 = 5;
}

fn trace_file() -> Option<&'static std::sync::Mutex<File>> {
    static TRACE: OnceLock<Option<std::sync::Mutex<File>>> = OnceLock::new();
    TRACE
        .get_or_init(|| {
            let p = std::env::var_os("ROUTER_FAULT_TRACE")?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
                .map(std::sync::Mutex::new)
        })
        .as_ref()
}

static STEP: AtomicU64 = AtomicU64::new(0);
/// For label faults: whether the label has been met (sticky faults fire from then on).
static LABEL_MET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn die() -> ! {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    // SIGKILL cannot be caught; this is not reached.
    std::process::abort()
}

/// Runs one step: counts it, traces it, and applies any fault planned for it.
fn step<T>(label: &str, op: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let n = STEP.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some(t) = trace_file() {
        if let Ok(mut f) = t.lock() {
            let _ = writeln!(f, "{n} {label}");
        }
    }
    let Some(f) = fault() else { return op() };
    let hit = match &f.at {
        At::Step(s) => n == *s || (f.sticky && n > *s),
        At::Label(l) => {
            let first = l == label && !LABEL_MET.swap(true, Ordering::Relaxed);
            first || (f.sticky && LABEL_MET.load(Ordering::Relaxed))
        }
        At::Content(_) => false,
    };
    match f.kind {
        FaultKind::Crash if hit => die(),
        FaultKind::Stop if hit => {
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::STOP,
            );
            op()
        }
        FaultKind::Error(e) if hit => Err(io::Error::from_raw_os_error(e)),
        FaultKind::ErrorAfter(e) if hit => {
            let _ = op();
            Err(io::Error::from_raw_os_error(e))
        }
        FaultKind::CrashAfter if hit => {
            let _ = op();
            die()
        }
        _ => op(),
    }
}

/// True for the errors that mean "the disk is full", which are never the message's fault.
pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc_errno::ENOSPC) | Some(libc_errno::EDQUOT)
    )
}

fn errno(e: &io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno::from_raw_os_error)
}

/// Opens `name` in `dir` for writing with `flags` (never following a symlink), mode 0640.
fn open_for_write(label: &str, dir: &Dir, name: &str, flags: OFlags) -> io::Result<File> {
    step(label, || {
        let flags = flags | OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&dir.fd, name, flags, Mode::from_raw_mode(0o640))?;
        Ok(File::from(fd))
    })
}

/// Creates `name` in `dir` exclusively (`O_EXCL|O_NOFOLLOW`), for writing.
pub fn create_excl(label: &str, dir: &Dir, name: &str) -> io::Result<File> {
    open_for_write(label, dir, name, OFlags::EXCL)
}

/// Opens `name` in `dir` for reading; `None` if it is not there.
/// Opens a file for reading without following a symlink and without waiting (`O_NONBLOCK`:
/// opening a FIFO with no writer would block; on a regular file the flag changes nothing).
/// `None` if it does not exist.
pub fn open_read(label: &str, dir: &Dir, name: &str) -> io::Result<Option<File>> {
    step(label, || {
        match rfs::openat(
            &dir.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(File::from(fd))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
}

/// Opens `name` for appending, creating it if needed.
pub fn open_append(label: &str, dir: &Dir, name: &str) -> io::Result<File> {
    open_for_write(label, dir, name, OFlags::APPEND)
}

pub fn write_all(label: &str, mut f: &File, bytes: &[u8]) -> io::Result<()> {
    step(label, || f.write_all(bytes))
}

/// Reads the whole file, refusing more than `max_bytes`.
pub fn read_all(label: &str, mut f: &File, max_bytes: usize) -> io::Result<Vec<u8>> {
    step(label, || {
        let mut buf = Vec::new();
        (&mut f).take(max_bytes as u64 + 1).read_to_end(&mut buf)?;
        if buf.len() > max_bytes {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("over {max_bytes} bytes"),
            ));
        }
        if let Some(Fault {
            at: At::Content(marker),
            kind,
            ..
        }) = fault()
        {
            if memchr::memmem::find(&buf, marker.as_bytes()).is_some() {
                if matches!(kind, FaultKind::Stall) {
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(3600));
                    }
                }
                die();
            }
        }
        Ok(buf)
    })
}

pub fn fsync(label: &str, f: &File) -> io::Result<()> {
    step(label, || Ok(rfs::fsync(f)?))
}

pub fn fsync_dir(label: &str, d: &Dir) -> io::Result<()> {
    step(label, || Ok(rfs::fsync(&d.fd)?))
}

/// Flushes the whole file system holding `d`: one call makes every earlier write, rename and
/// unlink on it durable. Group commit uses it in place of per-file and per-directory fsyncs.
pub fn syncfs(label: &str, d: &Dir) -> io::Result<()> {
    step(label, || Ok(rfs::syncfs(&d.fd)?))
}

pub fn ftruncate(label: &str, f: &File, len: u64) -> io::Result<()> {
    step(label, || Ok(rfs::ftruncate(f, len)?))
}

pub fn file_len(f: &File) -> io::Result<u64> {
    Ok(rfs::fstat(f)?.st_size as u64)
}

/// What one `fstat` says about an open file.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub regular: bool,
    pub len: u64,
    /// Seconds since it was last modified, with the fraction (0 if its time is ahead).
    pub age_secs: f64,
}

pub fn meta(f: &File) -> io::Result<Meta> {
    let st = rfs::fstat(f)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mtime = st.st_mtime as f64 + st.st_mtime_nsec as f64 / 1e9;
    Ok(Meta {
        regular: rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::RegularFile,
        len: st.st_size as u64,
        age_secs: (now - mtime).max(0.0),
    })
}

/// Tries to take an exclusive lock without waiting. False if another process holds one.
pub fn try_lock(label: &str, f: &impl AsFd) -> io::Result<bool> {
    step(label, || {
        match rfs::flock(f, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(e.into()),
        }
    })
}

/// Renames without replacing. An ambiguous failure is resolved by looking at both names;
/// the destination is never deleted to make room.
pub fn rename_noreplace(
    label: &str,
    from: &Dir,
    from_name: &str,
    to: &Dir,
    to_name: &str,
) -> io::Result<Renamed> {
    let r = step(label, || {
        Ok(rfs::renameat_with(
            &from.fd,
            from_name,
            &to.fd,
            to_name,
            RenameFlags::NOREPLACE,
        )?)
    });
    match r {
        Ok(()) => Ok(Renamed::Done),
        Err(e) => match errno(&e) {
            Some(Errno::NOENT) => Ok(Renamed::SourceGone),
            Some(Errno::EXIST) => Ok(Renamed::DestinationExists),
            _ => {
                // Ambiguous (EIO, ...): learn what happened from the names themselves.
                let src = exists(from, from_name)?;
                let dst = exists(to, to_name)?;
                match (src, dst) {
                    (false, true) => Ok(Renamed::Done),
                    _ => Err(e),
                }
            }
        },
    }
}

/// Renames, replacing the destination. Only for the router's own private files.
pub fn rename_replace(
    label: &str,
    from: &Dir,
    from_name: &str,
    to: &Dir,
    to_name: &str,
) -> io::Result<()> {
    step(label, || {
        Ok(rfs::renameat(&from.fd, from_name, &to.fd, to_name)?)
    })
}

/// Removes `name`; false if it was not there.
pub fn unlink(label: &str, dir: &Dir, name: &str) -> io::Result<bool> {
    step(label, || {
        match rfs::unlinkat(&dir.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    })
}

pub fn exists(dir: &Dir, name: &str) -> io::Result<bool> {
    match rfs::statat(&dir.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(_) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The names in a directory, sorted (oldest ids first, since ids start with the time).
pub fn list(dir: &Dir) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(&dir.path)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}
