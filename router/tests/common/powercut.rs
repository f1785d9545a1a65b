//! A model of what a power cut may leave of a run, replayed from the journal the
//! fault-planning seam writes (`ROUTER_FAULT_JOURNAL`), in the manner of ALICE (OSDI 2014) and
//! redb's crash tests: a live view (what the process saw) and a durable view (what is on the
//! platter); `fsync`, `fsyncdir` and `syncfs` move changes from one to the other, everything
//! else stays volatile until then. At every point of the journal the states a cut may leave are
//! enumerated under one of two models (docs/spool.md, "Power loss"):
//!
//! - [`Model::Ext4Ordered`]: ext4 with `data=ordered` (its default): metadata changes (create,
//!   mkdir, rename, unlink) reach the disk in the order they were made, as journal
//!   transactions, so a cut keeps a **prefix** of the pending ones; any `fsync` or directory
//!   `fsync` commits all of them (one journal); file data is written back on its own
//!   (delayed allocation, no `auto_da_alloc` for the renames here, which do not replace), so
//!   each file not synced since its last write has its old contents, its new contents, or its
//!   new size with zeros in every 4 KiB block the write changed.
//! - [`Model::Weak`]: the weakest reading of POSIX: pending metadata changes persist in **any
//!   subset**, each one atomic; `fsync` of a file persists its data only; a directory `fsync`
//!   persists the pending changes up to the last one that touches that directory; data as
//!   above.
//!
//! Each state is materialised as a real directory tree, for the router to recover.

#![allow(dead_code)]

use router::spool::sim::{Change, DataFate, Views};
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One change the journal recorded (paths relative to the postoffice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create { ino: u64, path: String },
    Append { ino: u64, path: String },
    Data { ino: u64, bytes: Vec<u8> },
    Mkdir { path: String },
    Rename { from: String, to: String },
    Unlink { path: String },
    Fsync { ino: u64 },
    FsyncDir { path: String },
    Syncfs,
}

/// The disk models and the file-system state are the simulated disk's (`router::spool::sim`):
/// one copy of the rules, for the replay and the simulator alike.
pub use router::spool::sim::{Model, Tree};

/// Reads a journal; `root` is stripped from its paths.
pub fn read_journal(text: &str, root: &Path) -> Vec<Op> {
    let root = root.display().to_string();
    let rel = |p: &str| {
        p.strip_prefix(&root)
            .unwrap_or(p)
            .trim_start_matches('/')
            .trim_end_matches("/.")
            .to_string()
    };
    let mut ops = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ' ');
        let (kind, a, b) = (
            f.next().unwrap_or(""),
            f.next().unwrap_or(""),
            f.next().unwrap_or(""),
        );
        let ino = || a.parse::<u64>().expect("an inode number");
        ops.push(match kind {
            "create" => Op::Create {
                ino: ino(),
                path: rel(b),
            },
            "append" => Op::Append {
                ino: ino(),
                path: rel(b),
            },
            "data" => Op::Data {
                ino: ino(),
                bytes: (0..b.len() / 2)
                    .map(|i| u8::from_str_radix(&b[2 * i..2 * i + 2], 16).expect("hex"))
                    .collect(),
            },
            "mkdir" => Op::Mkdir { path: rel(a) },
            "rename" => Op::Rename {
                from: rel(a),
                to: rel(b),
            },
            "unlink" => Op::Unlink { path: rel(a) },
            "fsync" => Op::Fsync { ino: ino() },
            "fsyncdir" => Op::FsyncDir { path: rel(a) },
            "syncfs" => Op::Syncfs,
            other => panic!("journal line {other:?}"),
        });
    }
    ops
}

/// A state on the real disk: loaded from it, written out to it, told apart from another.
pub trait OnDisk {
    /// The tree under `root` as it is now (taken as durable: the scenario's starting point).
    fn load(root: &Path) -> Tree;
    /// Writes the tree out under `root` (which must not exist).
    fn materialise(&self, root: &Path);
    fn fingerprint(&self) -> u64;
}

impl OnDisk for Tree {
    fn load(root: &Path) -> Tree {
        let mut t = Tree::default();
        fn walk(root: &Path, dir: &Path, t: &mut Tree) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                if p.is_dir() {
                    t.entries.insert(rel, None);
                    walk(root, &p, t);
                } else {
                    let ino = std::fs::metadata(&p).unwrap().ino();
                    t.entries.insert(rel, Some(ino));
                    t.data.insert(ino, std::fs::read(&p).unwrap());
                }
            }
        }
        walk(root, root, &mut t);
        t
    }

    fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (p, e) in &self.entries {
            p.hash(&mut h);
            match e {
                Some(ino) => self
                    .data
                    .get(ino)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .hash(&mut h),
                None => 0u8.hash(&mut h),
            }
        }
        h.finish()
    }

    fn materialise(&self, root: &Path) {
        std::fs::create_dir_all(root).unwrap();
        for (p, e) in &self.entries {
            let path = root.join(p);
            match e {
                None => std::fs::create_dir_all(&path).unwrap(),
                Some(ino) => {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).unwrap();
                    }
                    std::fs::write(&path, self.data.get(ino).map(Vec::as_slice).unwrap_or(&[]))
                        .unwrap();
                }
            }
        }
    }
}

/// The replay: the simulated disk's two views, fed from the journal.
struct Replay(Views);

/// The random subsets' seed: the same states on every run.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

impl Replay {
    /// The replay of `ops` from `start`, nothing synced that the journal did not sync.
    fn upto(start: &Tree, ops: &[Op], model: Model) -> Replay {
        let mut r = Replay(Views::new(start.clone(), model));
        for op in ops {
            r.step(op);
        }
        r
    }

    fn step(&mut self, op: &Op) {
        let v = &mut self.0;
        match op {
            Op::Create { ino, path } => v.change(Change::Create {
                ino: *ino,
                path: path.clone(),
            }),
            // An append to a file that is there changes no name.
            Op::Append { ino, path } if !v.live.entries.contains_key(path) => {
                v.change(Change::Create {
                    ino: *ino,
                    path: path.clone(),
                })
            }
            Op::Append { .. } => {}
            Op::Mkdir { path } => v.change(Change::Mkdir { path: path.clone() }),
            Op::Rename { from, to } => v.change(Change::Rename {
                from: from.clone(),
                to: to.clone(),
            }),
            Op::Unlink { path } => v.change(Change::Unlink { path: path.clone() }),
            Op::Data { ino, bytes } => v.write(*ino, bytes.clone()),
            Op::Fsync { ino } => v.fsync(*ino),
            Op::FsyncDir { path } => v.fsync_dir(path),
            Op::Syncfs => v.syncfs(),
        }
    }

    /// The states a cut now may leave.
    fn cut_states(&self, sample: &mut u64, out: &mut Vec<Tree>) {
        let v = &self.0;
        let n = v.pending.len();
        let mut metas: Vec<Vec<bool>> = Vec::new();
        match v.model {
            Model::Ext4Ordered => {
                for p in 0..=n {
                    metas.push((0..n).map(|i| i < p).collect());
                }
            }
            Model::Weak if n <= 8 => {
                for mask in 0u32..(1 << n) {
                    metas.push((0..n).map(|i| mask & (1 << i) != 0).collect());
                }
            }
            Model::Weak => {
                for p in 0..=n {
                    metas.push((0..n).map(|i| i < p).collect());
                }
                for drop in 0..n {
                    metas.push((0..n).map(|i| i != drop).collect());
                }
                for _ in 0..64 {
                    metas.push((0..n).map(|_| next(sample).is_multiple_of(2)).collect());
                }
            }
        }
        // Data: every dirty file new, old or torn together, and each one alone old or torn
        // (the full product when there are few).
        let k = v.dirty.len();
        let mut datas: Vec<Vec<DataFate>> = Vec::new();
        const FATES: [DataFate; 3] = [DataFate::New, DataFate::Old, DataFate::Torn];
        if k <= 4 {
            for code in 0..3usize.pow(k as u32) {
                datas.push(
                    (0..k)
                        .map(|i| FATES[code / 3usize.pow(i as u32) % 3])
                        .collect(),
                );
            }
        } else {
            for all in FATES {
                datas.push(vec![all; k]);
            }
            for one in 0..k {
                for f in [DataFate::Old, DataFate::Torn] {
                    datas.push(
                        (0..k)
                            .map(|i| if i == one { f } else { DataFate::New })
                            .collect(),
                    );
                }
            }
        }
        for m in &metas {
            for d in &datas {
                out.push(v.cut(m, d));
            }
        }
    }
}

fn next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Every distinct state a power cut may leave at any point of the run the journal describes,
/// starting from `start`, with the index of the journal entry it was cut after (0: before
/// the first).
pub fn states(start: &Tree, ops: &[Op], model: Model) -> Vec<(usize, Tree)> {
    let mut r = Replay::upto(start, &[], model);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut sample = SEED;
    for at in 0..=ops.len() {
        if at > 0 {
            r.step(&ops[at - 1]);
        }
        let mut here = Vec::new();
        r.cut_states(&mut sample, &mut here);
        for t in here {
            if seen.insert(t.fingerprint()) {
                out.push((at, t));
            }
        }
    }
    out
}

/// The states a cut may leave just before journal entry `at` (no deduplication).
pub fn states_at(start: &Tree, ops: &[Op], model: Model, at: usize) -> Vec<Tree> {
    let r = Replay::upto(start, &ops[..at], model);
    let mut out = Vec::new();
    r.cut_states(&mut { SEED }, &mut out);
    out
}

/// The live contents of every file at journal entry `at` (what the process saw).
pub fn live_at(start: &Tree, ops: &[Op], at: usize) -> Tree {
    Replay::upto(start, &ops[..at], Model::Ext4Ordered).0.live
}
