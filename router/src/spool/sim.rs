//! A simulated disk behind the [`Seam`]: the postoffice in memory, with two views, as redb's
//! crash tests and ALICE (OSDI 2014) keep them: the **live** view the process sees, and the
//! **durable** view a power cut would leave. `fsync`, directory `fsync` and `syncfs` move
//! changes from one to the other; everything else stays volatile. Feature `fault-injection`
//! only: it is how the structure-aware fuzz target (`fuzz/fuzz_targets/spool.rs`) drives the
//! spool's own code in-process through random submits, batches, recoveries, releases, process
//! crashes and power cuts (docs/spool.md, "Power loss").
//!
//! The two models are those of the journal replay the power-loss tests use
//! (`router/tests/common/powercut.rs`), written down in docs/spool.md:
//!
//! - [`Model::Ext4Ordered`]: metadata changes (create, mkdir, rename, unlink) reach the disk
//!   in the order they were made, so a cut keeps a **prefix** of the pending ones; any `fsync`
//!   or directory `fsync` commits all of them (one journal).
//! - [`Model::Weak`]: the weakest reading of POSIX: pending metadata changes persist in **any
//!   subset**; `fsync` of a file persists its data only; a directory `fsync` persists the
//!   pending changes up to the last one that touches that directory.
//!
//! In both, a file written since it was last synced has, after a cut, its old contents, its
//! new contents, or its new size with zeros in every 4 KiB block the writes changed.
//!
//! A **process crash** is [`SimDisk::crash_at`]: from that step on every call fails and changes
//! nothing, as if the process had been killed just before it; what it did before stays in the
//! live view (the kernel has it). Locks die with the handles, as a killed process's do.
//!
//! What is not modelled: symlinks, FIFOs, hard links and other users' files (the attack tests
//! use the real file system for those), permissions, and more than one process at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rustix::io::Errno;

use super::seam::{self, Dir, File, Meta, Replace, Seam, Step};

/// How a power cut treats what was not synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Ext4Ordered,
    Weak,
}

/// One metadata change, pending until a sync makes it durable (paths relative to the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create { ino: u64, path: String },
    Mkdir { path: String },
    Rename { from: String, to: String },
    Unlink { path: String },
}

impl Change {
    /// True if the change adds or removes an entry of directory `dir`.
    fn touches(&self, dir: &str) -> bool {
        match self {
            Change::Create { path, .. } | Change::Mkdir { path } | Change::Unlink { path } => {
                parent(path) == dir
            }
            Change::Rename { from, to } => parent(from) == dir || parent(to) == dir,
        }
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A file system state: names and contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// Path → inode number (files) or `None` (directories). The root is not an entry.
    pub entries: BTreeMap<String, Option<u64>>,
    pub data: HashMap<u64, Vec<u8>>,
}

impl Tree {
    fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.entries.get(path) == Some(&None)
    }

    /// Applies a change; one whose precondition does not hold in this state (its source gone,
    /// its directory not made) leaves it as it is.
    pub fn apply(&mut self, c: &Change) {
        match c {
            Change::Create { ino, path }
                if self.is_dir(parent(path)) && !self.entries.contains_key(path) =>
            {
                self.entries.insert(path.clone(), Some(*ino));
                self.data.entry(*ino).or_default();
            }
            Change::Mkdir { path } if self.is_dir(parent(path)) => {
                self.entries.entry(path.clone()).or_insert(None);
            }
            Change::Rename { from, to } => {
                if let Some(Some(ino)) = self.entries.get(from).copied() {
                    if self.is_dir(parent(to)) {
                        self.entries.remove(from);
                        self.entries.insert(to.clone(), Some(ino));
                    }
                }
            }
            Change::Unlink { path } => {
                self.entries.remove(path);
            }
            _ => {}
        }
    }

    /// The names directly in directory `dir`, sorted.
    pub fn names(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.entries
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| {
                let rest = &p[prefix.len()..];
                (!rest.contains('/')).then(|| rest.to_string())
            })
            .collect()
    }

    /// The contents of file `path`, if it is one.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        match self.entries.get(path) {
            Some(Some(ino)) => Some(self.data.get(ino).map_or(&[][..], Vec::as_slice)),
            _ => None,
        }
    }

    /// Every file, with its contents.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().filter_map(|(p, e)| {
            e.map(|ino| {
                (
                    p.as_str(),
                    self.data.get(&ino).map_or(&[][..], Vec::as_slice),
                )
            })
        })
    }
}

/// The new size with the old blocks: each 4 KiB block that the writes changed reads as zeros
/// (the size reached the disk, the data did not).
pub fn torn(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = new.to_vec();
    for (i, block) in out.chunks_mut(4096).enumerate() {
        let at = i * 4096;
        let before = old
            .get(at..(at + block.len()).min(old.len()))
            .unwrap_or(&[]);
        if before != &*block {
            block.fill(0);
        }
    }
    out
}

/// What a cut does with one file written since its last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFate {
    New,
    Old,
    Torn,
}

/// The live and the durable view, and what is pending between them.
#[derive(Debug, Clone)]
pub struct Views {
    pub model: Model,
    pub live: Tree,
    pub durable: Tree,
    /// Metadata changes not yet durable, in the order they were made.
    pub pending: Vec<Change>,
    /// Files written since they were last synced.
    pub dirty: BTreeSet<u64>,
}

impl Views {
    /// Both views `start`, nothing pending.
    pub fn new(start: Tree, model: Model) -> Views {
        Views {
            model,
            live: start.clone(),
            durable: start,
            pending: Vec::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// A metadata change, made live.
    pub fn change(&mut self, c: Change) {
        self.live.apply(&c);
        self.pending.push(c);
    }

    /// A file's new contents, live.
    pub fn write(&mut self, ino: u64, bytes: Vec<u8>) {
        self.live.data.insert(ino, bytes);
        self.dirty.insert(ino);
    }

    fn commit(&mut self, upto: usize) {
        for c in self.pending.drain(..upto) {
            self.durable.apply(&c);
        }
    }

    fn sync_data(&mut self, ino: u64) {
        let d = self.live.data.get(&ino).cloned().unwrap_or_default();
        self.durable.data.insert(ino, d);
        self.dirty.remove(&ino);
    }

    pub fn fsync(&mut self, ino: u64) {
        self.sync_data(ino);
        if self.model == Model::Ext4Ordered {
            self.commit(self.pending.len());
        }
    }

    pub fn fsync_dir(&mut self, dir: &str) {
        let upto = match self.model {
            Model::Ext4Ordered => self.pending.len(),
            Model::Weak => self
                .pending
                .iter()
                .rposition(|c| c.touches(dir))
                .map_or(0, |i| i + 1),
        };
        self.commit(upto);
    }

    pub fn syncfs(&mut self) {
        self.commit(self.pending.len());
        for ino in std::mem::take(&mut self.dirty) {
            self.sync_data(ino);
        }
    }

    /// The state a cut leaves when it keeps the pending changes `keep` says (under
    /// [`Model::Ext4Ordered`] the caller must give a prefix) and treats each dirty file, in
    /// inode order, as `data` says.
    pub fn cut(&self, keep: &[bool], data: &[DataFate]) -> Tree {
        assert_eq!(
            keep.len(),
            self.pending.len(),
            "one choice per pending change"
        );
        assert_eq!(data.len(), self.dirty.len(), "one choice per dirty file");
        if self.model == Model::Ext4Ordered {
            assert!(
                keep.windows(2).all(|w| w[0] || !w[1]),
                "ext4 keeps a prefix of the pending changes"
            );
        }
        let mut t = self.durable.clone();
        for (c, k) in self.pending.iter().zip(keep) {
            if *k {
                t.apply(c);
            }
        }
        for (ino, how) in self.dirty.iter().zip(data) {
            let old = self.durable.data.get(ino).map_or(&[][..], Vec::as_slice);
            let new = self.live.data.get(ino).map_or(&[][..], Vec::as_slice);
            let v = match how {
                DataFate::New => new.to_vec(),
                DataFate::Old => old.to_vec(),
                DataFate::Torn => torn(old, new),
            };
            t.data.insert(*ino, v);
        }
        t
    }
}

/// A handle on the simulated disk: a directory (its path) or an open file. Dropping a file
/// handle releases its lock, as closing the last descriptor does.
#[derive(Debug)]
pub struct Handle {
    disk: Arc<Mutex<State>>,
    id: u64,
    /// The directory's path, for a directory handle.
    dir: Option<String>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut st = self.disk.lock().unwrap_or_else(|p| p.into_inner());
        st.open.remove(&self.id);
        st.locks.retain(|_, holder| *holder != self.id);
    }
}

#[derive(Debug)]
struct Open {
    ino: u64,
    /// The offset of the next read or write.
    pos: usize,
    append: bool,
    /// The process that opened it, and that process's epoch then: a handle from before the
    /// process was restarted (or the power failed) is dead.
    process: u64,
    epoch: u64,
}

/// A fault planned at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The process dies just before step N (counted from when it was planned).
    CrashBefore(u64),
    /// Step N fails with this errno and changes nothing; with `sticky`, every later one too.
    Fail { at: u64, errno: i32, sticky: bool },
}

#[derive(Debug)]
struct State {
    views: Views,
    next_ino: u64,
    next_handle: u64,
    open: HashMap<u64, Open>,
    /// Inode → the handle holding its lock.
    locks: HashMap<u64, u64>,
    /// The process now making calls, and each process's epoch (bumped when it restarts).
    process: u64,
    epochs: HashMap<u64, u64>,
    /// Steps since the fault was planned.
    steps: u64,
    fault: Option<Fault>,
    /// The process is dead: every call fails until [`SimDisk::restart`].
    dead: bool,
    /// The clock, in seconds; each file's modification time on it.
    clock: f64,
    mtimes: HashMap<u64, f64>,
    /// The labels of the steps since the last restart, for a failure's report.
    trace: Vec<&'static str>,
    /// With [`SimDisk::set_tracing`]: every step and change, for a person debugging.
    log: Option<Vec<String>>,
}

impl State {
    /// A disk with these contents and no process on it.
    fn fresh(views: Views, next_ino: u64, clock: f64, mtimes: HashMap<u64, f64>) -> State {
        State {
            views,
            next_ino,
            next_handle: 1,
            open: HashMap::new(),
            locks: HashMap::new(),
            process: 0,
            epochs: HashMap::new(),
            steps: 0,
            fault: None,
            dead: false,
            clock,
            mtimes,
            trace: Vec::new(),
            log: None,
        }
    }

    fn change(&mut self, c: Change) {
        if let Some(log) = self.log.as_mut() {
            log.push(format!("   {c:?}"));
        }
        self.views.change(c);
    }

    fn note(&mut self, what: impl FnOnce(&Views) -> String) {
        if self.log.is_some() {
            let line = what(&self.views);
            if let Some(log) = self.log.as_mut() {
                log.push(format!("   {line}"));
            }
        }
    }
}

/// The simulated disk (a [`Seam`]). Cheap to clone: clones share the disk.
#[derive(Debug, Clone)]
pub struct SimDisk {
    st: Arc<Mutex<State>>,
    root: PathBuf,
}

fn err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// What a dead process's calls return.
fn killed() -> io::Error {
    io::Error::other("the simulated process was killed")
}

impl SimDisk {
    /// An empty disk whose root is called `root`, with the directories `dirs` made and durable.
    pub fn new(root: &Path, dirs: &[&str], model: Model) -> SimDisk {
        let mut t = Tree::default();
        for d in dirs {
            t.entries.insert((*d).to_string(), None);
        }
        SimDisk {
            st: Arc::new(Mutex::new(State::fresh(
                Views::new(t, model),
                1,
                1_000_000.0,
                HashMap::new(),
            ))),
            root: root.to_path_buf(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of this disk, independent from now on (no handle is open on it).
    pub fn fork(&self) -> SimDisk {
        let st = self.state();
        SimDisk {
            st: Arc::new(Mutex::new(State::fresh(
                st.views.clone(),
                st.next_ino,
                st.clock,
                st.mtimes.clone(),
            ))),
            root: self.root.clone(),
        }
    }

    /// Plans a fault; steps are counted from now.
    pub fn plan(&self, f: Fault) {
        let mut st = self.state();
        st.fault = Some(f);
        st.steps = 0;
    }

    /// Kills the process now (a message that kills its router, seed 004).
    pub fn kill(&self) {
        self.state().dead = true;
    }

    pub fn is_dead(&self) -> bool {
        self.state().dead
    }

    /// The fault plan is over; the process lives on, its handles and locks with it.
    pub fn clear_fault(&self) {
        let mut st = self.state();
        st.fault = None;
        st.trace.clear();
    }

    /// Which process makes the calls from now on (each has its own handles and locks: a
    /// router that lives on keeps them while a submitter dies). Process 0 by default.
    pub fn set_process(&self, process: u64) {
        self.state().process = process;
    }

    pub fn process(&self) -> u64 {
        self.state().process
    }

    /// The current process is restarted: the fault plan is gone, every handle it had is dead
    /// and its locks are released. Other processes' are not touched.
    pub fn restart(&self) {
        let mut st = self.state();
        st.dead = false;
        st.fault = None;
        let p = st.process;
        *st.epochs.entry(p).or_default() += 1;
        let open = std::mem::take(&mut st.open);
        st.locks
            .retain(|_, h| open.get(h).is_some_and(|o| o.process != p));
        st.open = open;
        st.trace.clear();
    }

    /// The power fails: the disk is left as `keep` and `data` say (see [`Views::cut`]),
    /// and a new process starts on it.
    pub fn power_cut(&self, keep: &[bool], data: &[DataFate]) {
        let mut st = self.state();
        let t = st.views.cut(keep, data);
        let model = st.views.model;
        st.views = Views::new(t, model);
        // Every process dies.
        let processes: BTreeSet<u64> = st.open.values().map(|o| o.process).collect();
        for p in processes {
            *st.epochs.entry(p).or_default() += 1;
        }
        st.locks.clear();
        drop(st);
        self.restart();
    }

    /// The metadata changes a cut now would choose among, in the order they were made.
    pub fn pending(&self) -> Vec<Change> {
        self.state().views.pending.clone()
    }

    /// How many metadata changes and dirty files a cut now would choose for.
    pub fn unsynced(&self) -> (usize, usize) {
        let st = self.state();
        (st.views.pending.len(), st.views.dirty.len())
    }

    pub fn model(&self) -> Model {
        self.state().views.model
    }

    /// The live view.
    pub fn live(&self) -> Tree {
        self.state().views.live.clone()
    }

    /// The steps since the last restart, for a failure's report.
    pub fn trace(&self) -> Vec<&'static str> {
        self.state().trace.clone()
    }

    /// Records every step and change from now on (or not), for [`SimDisk::take_log`].
    pub fn set_tracing(&self, on: bool) {
        self.state().log = on.then(Vec::new);
    }

    /// What was recorded since the last call.
    pub fn take_log(&self) -> Vec<String> {
        let mut st = self.state();
        st.log.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Moves the clock on.
    pub fn advance(&self, secs: f64) {
        self.state().clock += secs;
    }

    /// One step: counted, traced, failed if planned or if the process is dead.
    fn step(&self, step: Step) -> io::Result<MutexGuard<'_, State>> {
        let mut st = self.state();
        if st.dead {
            return Err(killed());
        }
        st.steps += 1;
        let n = st.steps;
        st.trace.push(step.label());
        if let Some(log) = st.log.as_mut() {
            log.push(format!("{n} {}", step.label()));
        }
        match st.fault {
            Some(Fault::CrashBefore(at)) if n >= at => {
                st.dead = true;
                Err(killed())
            }
            Some(Fault::Fail { at, errno, sticky }) if n == at || (sticky && n > at) => {
                Err(io::Error::from_raw_os_error(errno))
            }
            _ => Ok(st),
        }
    }

    /// A call that is not a step (opening a directory, a stat): it fails only if dead.
    fn alive(&self) -> io::Result<MutexGuard<'_, State>> {
        let st = self.state();
        if st.dead {
            return Err(killed());
        }
        Ok(st)
    }

    fn handle(&self, dir: Option<String>, st: &mut State, open: Option<Open>) -> seam::Handle {
        let id = st.next_handle;
        st.next_handle += 1;
        if let Some(o) = open {
            st.open.insert(id, o);
        }
        seam::Handle::Sim(Handle {
            disk: self.st.clone(),
            id,
            dir,
        })
    }

    fn open_file(&self, st: &mut State, ino: u64, append: bool) -> File {
        let process = st.process;
        let epoch = st.epochs.get(&process).copied().unwrap_or(0);
        File(self.handle(
            None,
            st,
            Some(Open {
                ino,
                pos: 0,
                append,
                process,
                epoch,
            }),
        ))
    }

    fn create(&self, st: &mut State, path: String) -> u64 {
        let ino = st.next_ino;
        st.next_ino += 1;
        st.change(Change::Create { ino, path });
        let now = st.clock;
        st.mtimes.insert(ino, now);
        ino
    }
}

fn dir_path(d: &Dir) -> &str {
    d.fd.sim().dir.as_deref().unwrap_or_else(|| {
        panic!("a file handle given where a directory was expected");
    })
}

/// The open file behind a handle, if it is of this process.
fn file<'a>(st: &'a mut State, f: &File) -> io::Result<&'a mut Open> {
    let epochs = &st.epochs;
    match st.open.get_mut(&f.0.sim().id) {
        Some(o) if o.epoch == epochs.get(&o.process).copied().unwrap_or(0) => Ok(o),
        _ => Err(err(Errno::BADF)),
    }
}

fn meta(st: &State, ino: u64) -> Meta {
    let live = &st.views.live;
    let links = live.entries.values().filter(|e| **e == Some(ino)).count() as u64;
    let mtime = st.mtimes.get(&ino).copied().unwrap_or(0.0);
    Meta {
        regular: true,
        len: live.data.get(&ino).map_or(0, Vec::len) as u64,
        links,
        age_secs: (st.clock - mtime).max(0.0),
        dev: 1,
        ino,
        uid: 0,
        mtime: mtime as i64,
    }
}

/// Every directory of the simulated disk: not a regular file, so never taken for one.
fn dir_meta(st: &State) -> Meta {
    Meta {
        regular: false,
        len: 0,
        links: 2,
        age_secs: 0.0,
        dev: 1,
        ino: 0,
        uid: 0,
        mtime: st.clock as i64,
    }
}

impl Seam for SimDisk {
    fn open_root(&self, path: &Path) -> io::Result<Dir> {
        let mut st = self.alive()?;
        if path != self.root {
            return Err(err(Errno::NOENT));
        }
        Ok(Dir {
            fd: self.handle(Some(String::new()), &mut st, None),
            path: path.to_path_buf(),
        })
    }

    fn open_dir(&self, _: Step, dir: &Dir, name: &str) -> io::Result<Dir> {
        let mut st = self.alive()?;
        let p = join(dir_path(dir), name);
        match st.views.live.entries.get(&p) {
            Some(None) => Ok(Dir {
                fd: self.handle(Some(p), &mut st, None),
                path: dir.path.join(name),
            }),
            Some(Some(_)) => Err(err(Errno::NOTDIR)),
            None => Err(err(Errno::NOENT)),
        }
    }

    fn mkdir(&self, step: Step, dir: &Dir, name: &str) -> io::Result<bool> {
        let mut st = self.step(step)?;
        let p = join(dir_path(dir), name);
        if st.views.live.entries.contains_key(&p) {
            return Ok(false);
        }
        st.change(Change::Mkdir { path: p });
        Ok(true)
    }

    fn set_mode(
        &self,
        step: Step,
        _: &Dir,
        _: u32,
        _: Option<u32>,
        _: Option<u32>,
    ) -> io::Result<()> {
        self.step(step).map(drop)
    }

    fn create_excl(&self, step: Step, dir: &Dir, name: &str) -> io::Result<File> {
        let mut st = self.step(step)?;
        let p = join(dir_path(dir), name);
        if st.views.live.entries.contains_key(&p) {
            return Err(err(Errno::EXIST));
        }
        let ino = self.create(&mut st, p);
        Ok(self.open_file(&mut st, ino, false))
    }

    fn open_append(&self, step: Step, dir: &Dir, name: &str) -> io::Result<File> {
        let mut st = self.step(step)?;
        let p = join(dir_path(dir), name);
        let ino = match st.views.live.entries.get(&p) {
            Some(Some(ino)) => *ino,
            Some(None) => return Err(err(Errno::ISDIR)),
            None => self.create(&mut st, p),
        };
        Ok(self.open_file(&mut st, ino, true))
    }

    fn open_read(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Option<File>> {
        let mut st = self.step(step)?;
        let p = join(dir_path(dir), name);
        match st.views.live.entries.get(&p) {
            Some(Some(ino)) => {
                let ino = *ino;
                Ok(Some(self.open_file(&mut st, ino, false)))
            }
            Some(None) => Err(err(Errno::ISDIR)),
            None => Ok(None),
        }
    }

    fn write_all(&self, step: Step, f: &File, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.step(step)?;
        let o = file(&mut st, f)?;
        let (ino, append, pos) = (o.ino, o.append, o.pos);
        let mut data = st.views.live.data.get(&ino).cloned().unwrap_or_default();
        let at = if append { data.len() } else { pos };
        if data.len() < at + bytes.len() {
            data.resize(at + bytes.len(), 0);
        }
        data[at..at + bytes.len()].copy_from_slice(bytes);
        file(&mut st, f)?.pos = at + bytes.len();
        st.views.write(ino, data);
        let now = st.clock;
        st.mtimes.insert(ino, now);
        Ok(())
    }

    fn read_head(&self, step: Step, f: &File, max_bytes: usize) -> io::Result<Vec<u8>> {
        let mut st = self.step(step)?;
        let o = file(&mut st, f)?;
        let (ino, pos) = (o.ino, o.pos);
        let data = st.views.live.data.get(&ino).map_or(&[][..], Vec::as_slice);
        let from = pos.min(data.len());
        let to = from.saturating_add(max_bytes).min(data.len());
        let buf = data[from..to].to_vec();
        file(&mut st, f)?.pos = to;
        Ok(buf)
    }

    fn fsync(&self, step: Step, f: &File) -> io::Result<()> {
        let mut st = self.step(step)?;
        let ino = file(&mut st, f)?.ino;
        st.views.fsync(ino);
        st.note(|v| format!("fsync {ino}: {} pending", v.pending.len()));
        Ok(())
    }

    fn fsync_dir(&self, step: Step, d: &Dir) -> io::Result<()> {
        let mut st = self.step(step)?;
        st.views.fsync_dir(dir_path(d));
        st.note(|v| format!("fsync {:?}: {} pending", dir_path(d), v.pending.len()));
        Ok(())
    }

    fn syncfs(&self, step: Step, _: &Dir) -> io::Result<()> {
        let mut st = self.step(step)?;
        st.views.syncfs();
        st.note(|_| "syncfs".into());
        Ok(())
    }

    fn ftruncate(&self, step: Step, f: &File, len: u64) -> io::Result<()> {
        let mut st = self.step(step)?;
        let ino = file(&mut st, f)?.ino;
        let mut data = st.views.live.data.get(&ino).cloned().unwrap_or_default();
        data.resize(len as usize, 0);
        st.views.write(ino, data);
        Ok(())
    }

    fn meta(&self, f: &File) -> io::Result<Meta> {
        let mut st = self.alive()?;
        let ino = file(&mut st, f)?.ino;
        Ok(meta(&st, ino))
    }

    fn dir_meta(&self, _: &Dir) -> io::Result<Meta> {
        Ok(dir_meta(&*self.alive()?))
    }

    fn try_lock(&self, step: Step, f: &File) -> io::Result<bool> {
        let mut st = self.step(step)?;
        let id = f.0.sim().id;
        let ino = file(&mut st, f)?.ino;
        match st.locks.get(&ino) {
            Some(holder) if *holder != id => Ok(false),
            _ => {
                st.locks.insert(ino, id);
                Ok(true)
            }
        }
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
        let mut st = self.step(step)?;
        let (src, dst) = (join(dir_path(from), from_name), join(dir_path(to), to_name));
        let live = &st.views.live;
        match live.entries.get(&src) {
            None => return Err(err(Errno::NOENT)),
            // The spool never renames a directory.
            Some(None) => return Err(err(Errno::INVAL)),
            Some(Some(_)) => {}
        }
        match live.entries.get(&dst) {
            Some(_) if replace == Replace::No => return Err(err(Errno::EXIST)),
            Some(None) => return Err(err(Errno::ISDIR)),
            _ => {}
        }
        if src != dst {
            st.change(Change::Rename { from: src, to: dst });
        }
        Ok(())
    }

    fn unlink(&self, step: Step, dir: &Dir, name: &str) -> io::Result<bool> {
        let mut st = self.step(step)?;
        let p = join(dir_path(dir), name);
        match st.views.live.entries.get(&p) {
            None => Ok(false),
            Some(None) => Err(err(Errno::ISDIR)),
            Some(Some(_)) => {
                st.change(Change::Unlink { path: p });
                Ok(true)
            }
        }
    }

    // Not the trait's default through `meta_at`: no link count (a scan of every entry) to
    // answer a yes or no.
    fn exists(&self, dir: &Dir, name: &str) -> io::Result<bool> {
        let st = self.alive()?;
        Ok(st
            .views
            .live
            .entries
            .contains_key(&join(dir_path(dir), name)))
    }

    fn meta_at(&self, dir: &Dir, name: &str) -> io::Result<Option<Meta>> {
        let st = self.alive()?;
        Ok(
            match st.views.live.entries.get(&join(dir_path(dir), name)) {
                None => None,
                Some(Some(ino)) => Some(meta(&st, *ino)),
                Some(None) => Some(dir_meta(&st)),
            },
        )
    }

    fn list(&self, step: Step, dir: &Dir) -> io::Result<Vec<String>> {
        let st = self.step(step)?;
        Ok(st.views.live.names(dir_path(dir)))
    }

    fn meta_at_step(&self, step: Step, dir: &Dir, name: &str) -> io::Result<Option<Meta>> {
        drop(self.step(step)?);
        self.meta_at(dir, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(model: Model) -> (SimDisk, Dir) {
        let d = SimDisk::new(Path::new("/po"), &["a", "b"], model);
        let root = d.open_root(Path::new("/po")).unwrap();
        (d, root)
    }

    #[test]
    fn a_write_not_synced_may_be_lost_torn_or_kept_and_a_synced_one_stays() {
        let (d, root) = disk(Model::Weak);
        let a = d.open_dir(Step::O1Open, &root, "a").unwrap();
        let f = d.create_excl(Step::P1Create, &a, "m").unwrap();
        d.write_all(Step::P2Write, &f, b"hello").unwrap();
        assert_eq!(d.unsynced(), (1, 1));
        d.fsync(Step::P2Fsync, &f).unwrap();
        // Weak: the data is durable, the name is not.
        assert_eq!(d.unsynced(), (1, 0));
        let lost = d.fork();
        lost.power_cut(&[false], &[]);
        assert_eq!(lost.live().file("a/m"), None);
        d.fsync_dir(Step::P4FsyncRouter, &a).unwrap();
        d.write_all(Step::P2Write, &f, b" world").unwrap();
        let torn = d.fork();
        torn.power_cut(&[], &[DataFate::Torn]);
        assert_eq!(torn.live().file("a/m"), Some(&[0u8; 11][..]));
        let old = d.fork();
        old.power_cut(&[], &[DataFate::Old]);
        assert_eq!(old.live().file("a/m"), Some(&b"hello"[..]));
    }

    #[test]
    fn ext4_commits_every_pending_change_on_any_fsync_and_weak_does_not() {
        for (model, kept) in [(Model::Ext4Ordered, true), (Model::Weak, false)] {
            let (d, root) = disk(model);
            let a = d.open_dir(Step::O1Open, &root, "a").unwrap();
            let b = d.open_dir(Step::O1Open, &root, "b").unwrap();
            let f = d.create_excl(Step::P1Create, &a, "m").unwrap();
            d.fsync_dir(Step::P4FsyncRouter, &a).unwrap();
            drop(d.create_excl(Step::P1Create, &b, "other").unwrap());
            d.fsync(Step::P2Fsync, &f).unwrap();
            let (pending, _) = d.unsynced();
            let cut = d.fork();
            cut.power_cut(&vec![false; pending], &[]);
            assert!(cut.live().file("a/m").is_some(), "{model:?}");
            assert_eq!(cut.live().file("b/other").is_some(), kept, "{model:?}");
        }
    }

    #[test]
    fn a_lock_is_held_until_its_handle_is_dropped_or_its_process_dies() {
        let (d, root) = disk(Model::Weak);
        let a = d.open_dir(Step::O1Open, &root, "a").unwrap();
        let f = d.create_excl(Step::P1Create, &a, "m").unwrap();
        assert!(d.try_lock(Step::P1Lock, &f).unwrap());
        let g = d.open_read(Step::X1Open, &a, "m").unwrap().unwrap();
        assert!(!d.try_lock(Step::X1Lock, &g).unwrap());
        drop(f);
        assert!(d.try_lock(Step::X1Lock, &g).unwrap());
        d.restart();
        let h = d.open_read(Step::X1Open, &a, "m").unwrap().unwrap();
        assert!(d.try_lock(Step::X1Lock, &h).unwrap());
        assert!(d.meta(&g).is_err(), "a dead process's handle");
    }

    #[test]
    fn a_planned_crash_stops_every_later_step_and_changes_nothing() {
        let (d, root) = disk(Model::Weak);
        let a = d.open_dir(Step::O1Open, &root, "a").unwrap();
        d.plan(Fault::CrashBefore(2));
        drop(d.create_excl(Step::P1Create, &a, "m").unwrap());
        assert!(d.create_excl(Step::P1Create, &a, "n").is_err());
        assert!(d.unlink(Step::X2Unlink, &a, "m").is_err());
        d.restart();
        assert_eq!(d.live().names("a"), vec!["m".to_string()]);
        assert_eq!(d.trace(), Vec::<&str>::new());
    }

    #[test]
    fn a_no_replace_rename_refuses_an_existing_name() {
        let (d, root) = disk(Model::Weak);
        let a = d.open_dir(Step::O1Open, &root, "a").unwrap();
        drop(d.create_excl(Step::P1Create, &a, "x").unwrap());
        drop(d.create_excl(Step::P1Create, &a, "y").unwrap());
        let e = d
            .rename(Step::C1Rename, &a, "x", &a, "y", Replace::No)
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(Errno::EXIST.raw_os_error()));
        d.rename(Step::C1Rename, &a, "x", &a, "y", Replace::Yes)
            .unwrap();
        assert_eq!(d.live().names("a"), vec!["y".to_string()]);
    }
}
