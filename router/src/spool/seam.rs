//! The file-system seam: every system call the spool makes on the postoffice goes through the
//! [`Seam`] trait (the only exceptions: `router init` making the root's own path, which is the
//! administrator's, and reading the routing tables, which are not in the spool).
//!
//! Each call is one [`Step`] of docs/spool.md. [`Os`] is the real implementation. With the
//! cargo feature `fault-injection` (on in the tests' build of the binary, never in a release
//! build: see docs/spool.md, "The seam") [`from_env`] may instead return a seam that plans
//! faults from the environment:
//!
//! - `ROUTER_FAULT=crash@N`: the process sends itself SIGKILL just before step N (a real kill:
//!   no destructors, no flush, locks released by the kernel). `crash-after@N` kills just after
//!   step N has taken effect.
//! - `ROUTER_FAULT=enospc@N` (or `edquot@N`, `eio@N`): step N fails with that error instead of
//!   running; `enospc@N+` fails it and every later step. `eio-after@N`: step N takes effect,
//!   then reports EIO (an ambiguous result, as a rename over a flaky disk can give).
//! - `ROUTER_FAULT=stop@N`: the process sends itself SIGSTOP just before step N (a writer
//!   frozen mid-file, for seed 001); it goes on when sent SIGCONT.
//! - Instead of a number, N may be a step label (`crash-after@C5.publish`): the first step
//!   with that label.
//! - `ROUTER_FAULT=poison@MARKER`: the process SIGKILLs itself whenever a read through the
//!   seam returns bytes containing MARKER: a message that kills its router every time it is
//!   read, as a parser bug would (seed 004). `stall@MARKER`: the process sleeps forever
//!   instead (a message that hangs its router: the wall-clock limit's test).
//! - Several plans, comma-separated (`stop@C3.read,stop@C5.publish`): each sees every step;
//!   at a step the first that hits acts. A test can so stop a router twice (after its claim,
//!   after its plan) and arrange what another process does in between.
//! - `ROUTER_FAULT_TRACE=FILE`: appends `N label` for every step, so a test can enumerate the
//!   crash points of a scenario.
//! - `ROUTER_FAULT_JOURNAL=FILE`: appends one line per change the file system is asked to make
//!   (`create`, `append`, `data` with the file's whole contents after a write, `mkdir`,
//!   `rename`, `unlink`, `fsync`, `fsyncdir`, `syncfs`; inode numbers and absolute paths), so
//!   the power-loss tests can replay a run against a model of what a power cut may keep
//!   (docs/spool.md, "Power loss").
//! - `ROUTER_FAULT=nosync@LABEL` (or `nosync@S3+`): the sync of that step is skipped (and not
//!   journaled): how the power-loss tests show that each sync is needed.
//!
//! Directories are handles ([`Dir`]) opened once; names are plain file names within them,
//! never paths, so nothing follows a symlink or escapes the postoffice. Files are [`File`]
//! handles. Both are opaque so that another implementation (a simulated disk with a durable
//! and a live view, for power-loss tests) can stand behind the same trait.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

pub use super::steps::Step;

/// What stands behind a [`Dir`] or a [`File`]: a descriptor of the real file system, or (in
/// the tests' build) a handle on the simulated disk of [`super::sim`]. Giving one seam the
/// other's handle is a bug, and asserted.
#[derive(Debug)]
pub(super) enum Handle {
    Os(std::fs::File),
    #[cfg(feature = "fault-injection")]
    Sim(super::sim::Handle),
}

impl Handle {
    /// The real descriptor.
    pub(super) fn os(&self) -> &std::fs::File {
        match self {
            Handle::Os(f) => f,
            #[cfg(feature = "fault-injection")]
            Handle::Sim(_) => panic!("a simulated disk's handle given to the real file system"),
        }
    }

    /// The simulated disk's handle.
    #[cfg(feature = "fault-injection")]
    pub(super) fn sim(&self) -> &super::sim::Handle {
        match self {
            Handle::Sim(h) => h,
            Handle::Os(_) => panic!("a real descriptor given to the simulated disk"),
        }
    }
}

impl AsFd for Handle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.os().as_fd()
    }
}

/// An open directory of the postoffice.
#[derive(Debug)]
pub struct Dir {
    pub(super) fd: Handle,
    pub(super) path: PathBuf,
}

impl Dir {
    /// Where it is, for messages only: the spool never opens anything by this path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// An open file of the postoffice. An exclusive lock taken on it ([`Seam::try_lock`]) lasts
/// as long as the handle.
#[derive(Debug)]
pub struct File(pub(super) Handle);

impl File {
    /// The standard file, for the fault-planning seam's journal (it reads the contents back).
    #[cfg(feature = "fault-injection")]
    pub(super) fn std(&self) -> &std::fs::File {
        self.0.os()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// What one `fstat` says about an open file or directory.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub regular: bool,
    pub len: u64,
    /// Hard links to it (a message in `router/` with more than one is refused: another
    /// name for it may be outside the spool and in someone else's hands).
    pub links: u64,
    /// Seconds since it was last modified, with the fraction (0 if its time is ahead).
    pub age_secs: f64,
    pub dev: u64,
    /// The inode number: ZMailer names its output after it (`transport/<H1>/<H2>/<ino>`).
    pub ino: u64,
    /// The owner: ZMailer mode trusts a message's envelope by who wrote the file.
    pub uid: u32,
    /// The modification time, seconds since the epoch (ZMailer's spool id is made of it).
    pub mtime: i64,
}

impl Meta {
    /// A regular file with one name: the only thing a router or a submitter makes. Anything
    /// else under a name the spool uses (a FIFO, a second name of some other file) was planted.
    pub fn is_plain_file(&self) -> bool {
        self.regular && self.links == 1
    }
}

/// How a rename treats an existing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// `renameat2(RENAME_NOREPLACE)`: fail with `EEXIST`.
    No,
    /// Plain `rename`: replace it. Only for the router's own private files.
    Yes,
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

/// The system calls of the spool. Every method that changes or reads the postoffice's
/// contents takes the [`Step`] it is.
pub trait Seam: Send + Sync + std::fmt::Debug {
    /// Opens the directory at `path` (the postoffice's root: its path is the administrator's).
    fn open_root(&self, path: &Path) -> io::Result<Dir>;
    /// Opens the directory `name` inside `dir`, never following a symlink.
    fn open_dir(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Dir>;
    /// Creates the directory `name` in `dir` (mode 0700); false if it was there.
    fn mkdir(&self, step: Step, dir: &Dir, name: &str) -> io::Result<bool>;
    /// Sets an open directory's owner and group (when given) and then its mode, special bits
    /// included (`router init`: the modes of the trust model, whatever the umask was).
    fn set_mode(
        &self,
        step: Step,
        d: &Dir,
        mode: u32,
        owner: Option<u32>,
        group: Option<u32>,
    ) -> io::Result<()>;
    /// Creates `name` in `dir` exclusively (`O_EXCL|O_NOFOLLOW`), for writing, mode 0640.
    fn create_excl(&self, step: Step, dir: &Dir, name: &str) -> io::Result<File>;
    /// Opens `name` for appending, creating it if needed, never following a symlink.
    fn open_append(&self, step: Step, dir: &Dir, name: &str) -> io::Result<File>;
    /// Opens `name` for reading without following a symlink and without waiting
    /// (`O_NONBLOCK`: a FIFO with no writer would block). `None` if it does not exist.
    fn open_read(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Option<File>>;
    fn write_all(&self, step: Step, f: &File, bytes: &[u8]) -> io::Result<()>;
    /// Reads the whole file, refusing more than `max_bytes` (`FileTooLarge`).
    fn read_all(&self, step: Step, f: &File, max_bytes: usize) -> io::Result<Vec<u8>> {
        let buf = self.read_head(step, f, max_bytes.saturating_add(1))?;
        if buf.len() > max_bytes {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("over {max_bytes} bytes"),
            ));
        }
        Ok(buf)
    }
    /// Reads at most `max_bytes` from the start of the file: what fits, never an error for more.
    fn read_head(&self, step: Step, f: &File, max_bytes: usize) -> io::Result<Vec<u8>>;
    fn fsync(&self, step: Step, f: &File) -> io::Result<()>;
    fn fsync_dir(&self, step: Step, d: &Dir) -> io::Result<()>;
    /// Flushes the whole file system holding `d`: one call makes every earlier write, rename
    /// and unlink on it durable. Group commit uses it in place of per-file fsyncs.
    fn syncfs(&self, step: Step, d: &Dir) -> io::Result<()>;
    fn ftruncate(&self, step: Step, f: &File, len: u64) -> io::Result<()>;
    fn meta(&self, f: &File) -> io::Result<Meta>;
    fn dir_meta(&self, d: &Dir) -> io::Result<Meta>;
    /// Takes an exclusive lock without waiting. False if another process holds one.
    fn try_lock(&self, step: Step, f: &File) -> io::Result<bool>;
    /// One rename, as the kernel answers it.
    fn rename(
        &self,
        step: Step,
        from: &Dir,
        from_name: &str,
        to: &Dir,
        to_name: &str,
        replace: Replace,
    ) -> io::Result<()>;
    /// Removes `name`; false if it was not there.
    fn unlink(&self, step: Step, dir: &Dir, name: &str) -> io::Result<bool>;
    /// What `name` in `dir` is (a symlink is described, not followed); `None` if it is not
    /// there.
    fn meta_at(&self, dir: &Dir, name: &str) -> io::Result<Option<Meta>>;
    /// [`meta_at`](Seam::meta_at) as a step of the protocol (the claim's check, `C1.check`):
    /// counted, traced and faulted like any other step by the seams that do that.
    fn meta_at_step(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Option<Meta>> {
        let _ = step;
        self.meta_at(dir, name)
    }
    /// Whether `name` exists in `dir` (a symlink counts as existing; it is not followed).
    fn exists(&self, dir: &Dir, name: &str) -> io::Result<bool> {
        Ok(self.meta_at(dir, name)?.is_some())
    }
    /// The names in a directory, sorted (oldest ids first, since ids start with the time).
    /// Names that are not UTF-8 are returned lossily converted, so that they are reported.
    fn list(&self, step: Step, dir: &Dir) -> io::Result<Vec<String>>;
    /// The names in a directory, handed to `f` in chunks of at most `max`, each sorted, as
    /// they are read, so that no more than `max` names are held at once; `f` returns false to
    /// stop. A name added or removed while the stream is read may or may not be seen (POSIX
    /// `readdir`); every other name is seen exactly once. This default lists the whole
    /// directory and cuts it: right for a simulated disk, where the directory is in memory.
    fn list_chunks(
        &self,
        step: Step,
        dir: &Dir,
        max: usize,
        f: &mut dyn FnMut(Vec<String>) -> io::Result<bool>,
    ) -> io::Result<()> {
        for chunk in self.list(step, dir)?.chunks(max.max(1)) {
            if !f(chunk.to_vec())? {
                break;
            }
        }
        Ok(())
    }

    /// Renames without replacing. An ambiguous failure (not `ENOENT`, not `EEXIST`) is
    /// settled by looking at both names; the destination is never deleted to make room.
    fn rename_noreplace(
        &self,
        step: Step,
        from: &Dir,
        from_name: &str,
        to: &Dir,
        to_name: &str,
    ) -> io::Result<Renamed> {
        match self.rename(step, from, from_name, to, to_name, Replace::No) {
            Ok(()) => Ok(Renamed::Done),
            Err(e) => match errno(&e) {
                Some(Errno::NOENT) => Ok(Renamed::SourceGone),
                Some(Errno::EXIST) => Ok(Renamed::DestinationExists),
                _ => {
                    let src = self.exists(from, from_name)?;
                    let dst = self.exists(to, to_name)?;
                    match (src, dst) {
                        (false, true) => Ok(Renamed::Done),
                        _ => Err(e),
                    }
                }
            },
        }
    }
}

/// True when an `O_NOFOLLOW` open met a symlink (`ELOOP`): the name is not the spool's.
pub fn is_symlink(e: &io::Error) -> bool {
    errno(e) == Some(Errno::LOOP)
}

/// True when an open met an entry no router or submitter makes: a symlink, something that
/// is not a file to read, one this user may not open. Never followed, never deleted.
pub fn is_foreign(e: &io::Error) -> bool {
    is_symlink(e) || is_not_a_file(e) || is_denied(e)
}

/// True when an open met something that is not a file to read (`ENXIO`: a socket).
pub fn is_not_a_file(e: &io::Error) -> bool {
    errno(e) == Some(Errno::NXIO)
}

/// True when this process may not open the name (`EACCES`, `EPERM`): another user's file.
pub fn is_denied(e: &io::Error) -> bool {
    matches!(errno(e), Some(Errno::ACCESS) | Some(Errno::PERM))
}

/// True for the errors that mean "this process has too many files open" (`EMFILE`, `ENFILE`):
/// a smaller batch holds fewer; never the message's fault.
pub fn is_out_of_files(e: &io::Error) -> bool {
    matches!(errno(e), Some(Errno::MFILE) | Some(Errno::NFILE))
}

/// True for the errors that mean "the disk is full", which are never the message's fault.
pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(errno(e), Some(Errno::NOSPC) | Some(Errno::DQUOT))
}

fn errno(e: &io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno::from_raw_os_error)
}

/// The seam a process uses: [`Os`], or with the `fault-injection` feature and `ROUTER_FAULT`
/// or `ROUTER_FAULT_TRACE` set, the fault-planning seam around it.
pub fn from_env() -> Arc<dyn Seam> {
    #[cfg(feature = "fault-injection")]
    if let Some(f) = super::faults::Faulty::from_env() {
        return Arc::new(f);
    }
    Arc::new(Os)
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Os;

const FILE_MODE: u32 = 0o640;
/// Directories the router makes after `router init` (`queue/<channel>`): its own, private.
/// Exact whatever the caller's umask: the binary sets its umask to 027 first (docs/trust.md).
const DIR_MODE: u32 = 0o700;

/// Every name of `dir`, one at a time, read [`Seam::list_chunks`]-wise (at most `max` held at
/// once); the first error from `f` ends the reading and is returned.
pub fn for_each_name(
    fs: &dyn Seam,
    step: Step,
    dir: &Dir,
    max: usize,
    f: &mut dyn FnMut(String) -> io::Result<()>,
) -> io::Result<()> {
    fs.list_chunks(step, dir, max, &mut |names| {
        for name in names {
            f(name)?;
        }
        Ok(true)
    })
}

fn meta_of(st: &rfs::Stat) -> Meta {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mtime = st.st_mtime as f64 + st.st_mtime_nsec as f64 / 1e9;
    Meta {
        regular: rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::RegularFile,
        len: st.st_size as u64,
        #[allow(clippy::unnecessary_cast)] // u32 on some targets
        links: st.st_nlink as u64,
        age_secs: (now - mtime).max(0.0),
        dev: st.st_dev,
        ino: st.st_ino,
        uid: st.st_uid,
        #[allow(clippy::unnecessary_cast)] // i64 on 64-bit targets
        mtime: st.st_mtime as i64,
    }
}

impl Os {
    fn open_for_write(dir: &Dir, name: &str, flags: OFlags) -> io::Result<File> {
        let flags = flags | OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&dir.fd, name, flags, Mode::from_raw_mode(FILE_MODE))?;
        Ok(File(Handle::Os(std::fs::File::from(fd))))
    }
}

impl Seam for Os {
    fn open_root(&self, path: &Path) -> io::Result<Dir> {
        let fd = rfs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd: Handle::Os(std::fs::File::from(fd)),
            path: path.to_path_buf(),
        })
    }

    fn open_dir(&self, _: Step, dir: &Dir, name: &str) -> io::Result<Dir> {
        let fd = rfs::openat(
            &dir.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd: Handle::Os(std::fs::File::from(fd)),
            path: dir.path.join(name),
        })
    }

    fn mkdir(&self, _: Step, dir: &Dir, name: &str) -> io::Result<bool> {
        match rfs::mkdirat(&dir.fd, name, Mode::from_raw_mode(DIR_MODE)) {
            Ok(()) => Ok(true),
            Err(Errno::EXIST) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn set_mode(
        &self,
        _: Step,
        d: &Dir,
        mode: u32,
        owner: Option<u32>,
        group: Option<u32>,
    ) -> io::Result<()> {
        if owner.is_some() || group.is_some() {
            rfs::fchown(
                &d.fd,
                owner.map(rustix::process::Uid::from_raw),
                group.map(rustix::process::Gid::from_raw),
            )?;
        }
        // After the chown, which clears the set-group-id bit.
        rfs::fchmod(&d.fd, Mode::from_raw_mode(mode))?;
        Ok(())
    }

    fn create_excl(&self, _: Step, dir: &Dir, name: &str) -> io::Result<File> {
        Os::open_for_write(dir, name, OFlags::EXCL)
    }

    fn open_append(&self, _: Step, dir: &Dir, name: &str) -> io::Result<File> {
        Os::open_for_write(dir, name, OFlags::APPEND)
    }

    fn open_read(&self, _: Step, dir: &Dir, name: &str) -> io::Result<Option<File>> {
        match rfs::openat(
            &dir.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(File(Handle::Os(std::fs::File::from(fd))))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn write_all(&self, _: Step, f: &File, bytes: &[u8]) -> io::Result<()> {
        f.0.os().write_all(bytes)
    }

    fn read_head(&self, _: Step, f: &File, max_bytes: usize) -> io::Result<Vec<u8>> {
        // Sized by the file's length: `read_to_end` from an empty buffer reads 32 bytes, then
        // 32, 64, ... (eight reads for a 1 KiB message; 6 % of the durable bench's system
        // time). The length is a hint only: the cap still holds if the file grows.
        let len = usize::try_from(rfs::fstat(f.0.os())?.st_size).unwrap_or(0);
        let mut buf = Vec::with_capacity(len.min(max_bytes).saturating_add(1));
        f.0.os().take(max_bytes as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn fsync(&self, _: Step, f: &File) -> io::Result<()> {
        Ok(rfs::fsync(f.0.os())?)
    }

    fn fsync_dir(&self, _: Step, d: &Dir) -> io::Result<()> {
        Ok(rfs::fsync(&d.fd)?)
    }

    fn syncfs(&self, _: Step, d: &Dir) -> io::Result<()> {
        Ok(rfs::syncfs(&d.fd)?)
    }

    fn ftruncate(&self, _: Step, f: &File, len: u64) -> io::Result<()> {
        Ok(rfs::ftruncate(f.0.os(), len)?)
    }

    fn meta(&self, f: &File) -> io::Result<Meta> {
        Ok(meta_of(&rfs::fstat(f.0.os())?))
    }

    fn dir_meta(&self, d: &Dir) -> io::Result<Meta> {
        Ok(meta_of(&rfs::fstat(&d.fd)?))
    }

    fn try_lock(&self, _: Step, f: &File) -> io::Result<bool> {
        match rfs::flock(f.0.os(), FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn rename(
        &self,
        _: Step,
        from: &Dir,
        from_name: &str,
        to: &Dir,
        to_name: &str,
        replace: Replace,
    ) -> io::Result<()> {
        let flags = match replace {
            Replace::No => RenameFlags::NOREPLACE,
            Replace::Yes => RenameFlags::empty(),
        };
        Ok(rfs::renameat_with(
            &from.fd, from_name, &to.fd, to_name, flags,
        )?)
    }

    fn unlink(&self, _: Step, dir: &Dir, name: &str) -> io::Result<bool> {
        match rfs::unlinkat(&dir.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn meta_at(&self, dir: &Dir, name: &str) -> io::Result<Option<Meta>> {
        match rfs::statat(&dir.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(meta_of(&st))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn list(&self, step: Step, dir: &Dir) -> io::Result<Vec<String>> {
        // One chunk with no bound: the whole directory, already sorted.
        let mut names = Vec::new();
        self.list_chunks(step, dir, usize::MAX, &mut |chunk| {
            names = chunk;
            Ok(true)
        })?;
        Ok(names)
    }

    fn list_chunks(
        &self,
        _: Step,
        dir: &Dir,
        max: usize,
        f: &mut dyn FnMut(Vec<String>) -> io::Result<bool>,
    ) -> io::Result<()> {
        let max = max.max(1);
        // A stream of its own (read_from opens the directory again): its position does not
        // move under the renames and unlinks the caller makes between chunks.
        let mut chunk = Vec::new();
        for entry in rfs::Dir::read_from(&dir.fd)? {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            chunk.push(String::from_utf8_lossy(name).into_owned());
            if chunk.len() == max {
                chunk.sort();
                if !f(std::mem::take(&mut chunk))? {
                    return Ok(());
                }
            }
        }
        if !chunk.is_empty() {
            chunk.sort();
            f(chunk)?;
        }
        Ok(())
    }
}
