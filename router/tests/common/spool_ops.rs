//! Random sequences of spool operations on the simulated disk (`router::spool::sim`), checked
//! against a model of the postoffice: the driver of the `spool` fuzz target and of
//! `tests/spool_sequences.rs` (one file, included by both).
//!
//! A sequence is submits, passes (batches), recoveries, releases, reaper runs, process
//! crashes planned at a step, disk faults (`ENOSPC`, `EIO`, once or from then on), messages
//! that kill their router when read (seed 004), clock ticks and power cuts whose every choice
//! (which pending metadata changes persist, which unsynced files keep old, new or torn
//! contents) comes from the input. The spool's own code runs in-process on the simulated disk.
//!
//! After every operation the state is checked twice: as the process left it (a kill now) and
//! as the durable view alone (the worst power cut now), each after recovery on a copy:
//! - every acknowledged submission is in exactly one place: `router/`, `deferred/`, or
//!   `queue/<ch>/` for each and only the channels its route names; one not acknowledged is in
//!   at most one; nothing is in two;
//! - every file under a final name is whole: a message's bytes, a channel's output of them, a
//!   reason file that reads back;
//! - nothing stray: `work/` holds only the attempt counters of messages in `router/`;
//! - a message routed in the durable view stays routed for the rest of the sequence (nothing
//!   routed twice), and one the route parks is never routed;
//! - a message parked for its attempts was in a router that died that many times;
//! - recovery itself succeeds on every state.
//!
//! At the end the spool is drained (passes until `router/` is empty, a bounded number): every
//! acknowledged message is then routed or parked, so no message stopped the others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arbitrary::Arbitrary;
use router::reason::ParkReason;
use router::spool::batch::{self, Event, Route, Routed, Settings};
use router::spool::seam::Meta;
use router::spool::sim::{DataFate, Fault, Model, SimDisk, Tree};
use router::spool::submit::{self, Dropbox};
use router::spool::{parked, reaper, reason_file, recover, Postoffice};

pub const ROOT: &str = "/sim/po";
const DAEMON: u64 = 1;
const OTHER: u64 = 2;
const CHANNELS: [&str; 3] = ["local", "smtp", "uucp"];
const ENOSPC: i32 = 28;
const EIO: i32 = 5;
/// Operations per sequence.
const OPS_MAX: usize = 48;

/// A whole input: the disk model, `limits.max_attempts`, the operations.
#[derive(Debug)]
pub struct Sequence {
    pub weak: bool,
    pub attempts: u8,
    pub ops: Vec<Op>,
}

impl Sequence {
    /// Two bytes of settings, then operations until the bytes run out (at most
    /// [`OPS_MAX`]).
    pub fn from_bytes(bytes: &[u8]) -> Sequence {
        let mut u = arbitrary::Unstructured::new(bytes);
        let weak = u.arbitrary::<bool>().unwrap_or(false);
        let attempts = u.arbitrary::<u8>().unwrap_or(0);
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < OPS_MAX {
            match Op::arbitrary(&mut u) {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        Sequence {
            weak,
            attempts,
            ops,
        }
    }
}

/// What a process does: each runs the spool's own code on the simulated disk.
#[derive(Debug, Clone)]
pub enum Action {
    /// A submission; its route is `fate` (see [`Fate`]), its size `size` × 97 bytes.
    Submit { fate: u8, size: u8 },
    /// One pass (recovery, then every message in `router/` in batches of `batch`).
    Pass { batch: u8 },
    /// Recovery alone, by the routing process (as every pass begins).
    Recover,
    /// `deferred release` of the `which`-th parked message.
    Release { which: u8 },
    /// `deferred remove` of the `which`-th parked message (the administrator deletes it).
    Remove { which: u8 },
    /// The public/ reaper with this maximum age.
    Reap { age: u8 },
}

/// Submits and passes weigh most: they are what fills and empties the spool.
impl<'a> Arbitrary<'a> for Action {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Action> {
        Ok(match u.arbitrary::<u8>()? % 16 {
            0..=5 => Action::Submit {
                fate: u.arbitrary()?,
                size: u.arbitrary()?,
            },
            6..=10 => Action::Pass {
                batch: u.arbitrary()?,
            },
            11 => Action::Recover,
            12 => Action::Release {
                which: u.arbitrary()?,
            },
            13 => Action::Remove {
                which: u.arbitrary()?,
            },
            _ => Action::Reap {
                age: u.arbitrary()?,
            },
        })
    }
}

/// One operation of a sequence.
#[derive(Debug, Clone, Arbitrary)]
pub enum Op {
    Run(Action),
    /// The action's process is killed just before its step `at`.
    Crash {
        during: Action,
        at: u8,
    },
    /// The action's step `at` fails (`ENOSPC` or `EIO`), and with `sticky` every step after
    /// it.
    DiskFault {
        during: Action,
        at: u8,
        full: bool,
        sticky: bool,
    },
    /// The power fails during the action, just before its step `at`; the seed chooses what
    /// survives.
    CutDuring {
        during: Action,
        at: u8,
        seed: u64,
    },
    /// The power fails between two actions.
    PowerCut {
        seed: u64,
    },
    Tick {
        secs: u8,
    },
}

/// What the route does with a message, from its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// To these channels (a non-empty subset of [`CHANNELS`]).
    Route(u8),
    /// Parked by the route (no recipients).
    Park,
    /// Kills the router that reads it.
    Poison,
}

impl Fate {
    fn of(byte: u8) -> Fate {
        match byte % 10 {
            8 => Fate::Park,
            9 => Fate::Poison,
            n => Fate::Route(n % 7 + 1),
        }
    }

    fn channels(self) -> BTreeSet<&'static str> {
        match self {
            Fate::Route(mask) => CHANNELS
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, c)| *c)
                .collect(),
            _ => BTreeSet::new(),
        }
    }
}

fn message(serial: usize, fate: u8, size: u8) -> Vec<u8> {
    let mut m = format!("serial {serial} fate {fate}\n").into_bytes();
    for i in 0..usize::from(size) * 97 {
        m.push(b'a' + (i % 26) as u8);
    }
    m.push(b'\n');
    m
}

fn serial_and_fate(bytes: &[u8]) -> Option<(usize, u8)> {
    let line = bytes.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut w = line.split(' ');
    match (w.next(), w.next(), w.next(), w.next()) {
        (Some("serial"), Some(s), Some("fate"), Some(f)) => {
            Some((s.parse().ok()?, f.parse().ok()?))
        }
        _ => None,
    }
}

fn output(channel: &str, bytes: &[u8]) -> Vec<u8> {
    let mut o = format!("{channel}\n").into_bytes();
    o.extend_from_slice(bytes);
    o
}

/// The routing core's stand-in: routes by the message's first line.
struct Router<'a> {
    disk: &'a SimDisk,
}

impl Route for Router<'_> {
    fn route(&mut self, _: &str, _: &Meta, bytes: &[u8]) -> Routed {
        let Some((_, fate)) = serial_and_fate(bytes) else {
            panic!("the spool handed the route bytes that are no message: {bytes:?}");
        };
        match Fate::of(fate) {
            Fate::Route(_) => Routed::Outputs(
                Fate::of(fate)
                    .channels()
                    .into_iter()
                    .map(|c| (c.to_string(), output(c, bytes)))
                    .collect(),
            ),
            Fate::Park => Routed::Park(ParkReason::NoRecipients),
            Fate::Poison => {
                self.disk.kill();
                Routed::Park(ParkReason::NoRecipients)
            }
        }
    }

    fn event(&mut self, _: Event<'_>) {}
}

#[derive(Debug)]
struct Submitted {
    bytes: Vec<u8>,
    fate: Fate,
    acked: bool,
    /// The administrator asked for it to be removed (it may be gone).
    removed: bool,
}

/// Where one message is, in a checked state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Places {
    router: Vec<String>,
    deferred: Vec<(String, Option<String>)>,
    queued: BTreeMap<&'static str, Vec<String>>,
}

impl Places {
    fn count(&self) -> usize {
        self.router.len() + self.deferred.len() + usize::from(!self.queued.is_empty())
    }
}

/// The driver: the disk, what was submitted, what must stay.
pub struct Run {
    disk: SimDisk,
    settings: Settings,
    subs: Vec<Submitted>,
    /// Serials routed in the durable view: they stay routed.
    routed: BTreeSet<usize>,
    /// Times a router died (a planned crash that hit, a poison, a power cut).
    deaths: u64,
    /// Per message, the deaths that left it claimed in work/: the most attempts it may be
    /// charged.
    charged: BTreeMap<usize, u64>,
    /// The routing process's memory between passes (`batch::pass`): lost when it dies.
    held: Vec<batch::Unreleased>,
    /// The operations so far, for a failure's report.
    log: Vec<String>,
    pub stats: Stats,
}

/// What a run did, for the test's report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub ops: usize,
    /// States recovered and checked.
    pub checked: usize,
    /// Power cuts, and how many metadata changes and dirty files they chose among.
    pub cuts: usize,
    pub cut_changes: usize,
    pub cut_files: usize,
    pub deaths: u64,
    pub routed: usize,
    pub parked: usize,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.ops += o.ops;
        self.checked += o.checked;
        self.cuts += o.cuts;
        self.cut_changes += o.cut_changes;
        self.cut_files += o.cut_files;
        self.deaths += o.deaths;
        self.routed += o.routed;
        self.parked += o.parked;
    }
}

fn open(disk: &SimDisk) -> Option<Postoffice> {
    Postoffice::open_with(Path::new(ROOT), std::sync::Arc::new(disk.clone())).ok()
}

impl Run {
    pub fn new(seq: &Sequence) -> Run {
        let model = if seq.weak {
            Model::Weak
        } else {
            Model::Ext4Ordered
        };
        Run {
            disk: SimDisk::new(
                Path::new(ROOT),
                &["public", "router", "work", "queue", "deferred"],
                model,
            ),
            settings: Settings {
                attempts_max: u64::from(seq.attempts % 3 + 1),
                message_bytes_max: 1 << 20,
                batch_messages_max: 64,
                // Batches cut by bytes too: a message each, a few, or no cut.
                batch_bytes_max: [1, 120, 400, u64::MAX][usize::from(seq.attempts / 5 % 4)],
                // Small chunks of router/'s names, so that the sequences cross the chunked
                // listing's seams (a pass reads one chunk, routes it, reads the next).
                list_names_max: 1 + usize::from(seq.attempts % 5),
            },
            subs: Vec::new(),
            routed: BTreeSet::new(),
            deaths: 0,
            charged: BTreeMap::new(),
            held: Vec::new(),
            log: Vec::new(),
            stats: Stats::default(),
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\nmodel {:?}, max_attempts {}, deaths {}, charged {:?}, operations:\n  {}",
            self.disk.model(),
            self.settings.attempts_max,
            self.deaths,
            self.charged,
            self.log.join("\n  ")
        )
    }

    /// Runs the whole sequence, checking after each operation, then drains.
    pub fn run(seq: &Sequence) -> Stats {
        let mut r = Run::new(seq);
        let verbose = std::env::var_os("SPOOL_OPS_VERBOSE").is_some();
        for op in seq.ops.iter().take(OPS_MAX) {
            r.log.push(format!("{op:?}"));
            if verbose {
                eprintln!("== {op:?}");
                r.disk.set_tracing(true);
            }
            r.step(op);
            if verbose {
                eprintln!("{}", r.disk.take_log().join("\n"));
            }
            r.check();
            r.stats.ops += 1;
        }
        r.drain();
        r.stats.deaths = r.deaths;
        r.stats
    }

    fn pass(&mut self, batch: usize) {
        self.disk.set_process(DAEMON);
        let Some(po) = open(&self.disk) else { return };
        let mut s = self.settings.clone();
        s.batch_messages_max = batch;
        let mut route = Router { disk: &self.disk };
        let _ = batch::pass(&po, &s, &mut route, &|| false, &mut self.held);
    }

    /// The postoffice, and the `which`-th parked message's id.
    fn parked(&self, which: u8) -> Option<(Postoffice, String)> {
        let po = open(&self.disk)?;
        let list = parked::parked(&po).ok()?;
        if list.is_empty() {
            return None;
        }
        let id = list[usize::from(which) % list.len()].id.clone();
        Some((po, id))
    }

    fn step(&mut self, op: &Op) {
        let at = |a: &u8| u64::from(*a % 96) + 1;
        match op {
            Op::Run(a) => self.act(a),
            Op::Crash { during, at: n } => {
                self.disk.plan(Fault::CrashBefore(at(n)));
                self.act(during);
            }
            Op::DiskFault {
                during,
                at: n,
                full,
                sticky,
            } => {
                self.disk.plan(Fault::Fail {
                    at: at(n),
                    errno: if *full { ENOSPC } else { EIO },
                    sticky: *sticky,
                });
                self.act(during);
            }
            Op::CutDuring {
                during,
                at: n,
                seed,
            } => {
                self.disk.plan(Fault::CrashBefore(at(n)));
                self.act(during);
                if self.disk.is_dead() {
                    self.power_cut(*seed);
                    return;
                }
            }
            Op::PowerCut { seed } => {
                self.power_cut(*seed);
                return;
            }
            Op::Tick { secs } => self.disk.advance(f64::from(*secs)),
        }
        // The action is over; the plan ends with it. A router that was killed restarts (its
        // locks, those it kept `held` among them, die with it); one that was not lives on.
        if self.disk.is_dead() {
            self.restart();
        } else {
            self.disk.clear_fault();
        }
    }

    /// The process that was killed starts again (the daemon forgets what it held).
    fn restart(&mut self) {
        if self.disk.process() == DAEMON {
            self.held.clear();
        }
        self.disk.restart();
        self.died();
    }

    /// A process died (or the power): each message left claimed in work/ and not held by a
    /// live daemon, which the next recovery counts, may be charged one attempt.
    fn died(&mut self) {
        self.deaths += 1;
        let t = self.disk.live();
        let mut claimed = BTreeSet::new();
        for (path, bytes) in t.files() {
            if let Some(name) = path.strip_prefix("work/") {
                if !name.contains(['#', '@']) && !self.held.iter().any(|h| h.id() == name) {
                    claimed.extend(serial_and_fate(bytes).map(|(s, _)| s));
                }
            }
        }
        for s in claimed {
            *self.charged.entry(s).or_default() += 1;
        }
    }

    fn act(&mut self, a: &Action) {
        // The routing daemon is one process that lives on between its passes; every other
        // action is a process of its own (a submitter, an administrator's command).
        self.disk.set_process(match a {
            Action::Pass { .. } | Action::Recover => DAEMON,
            _ => OTHER,
        });
        match a {
            Action::Submit { fate, size } => {
                let serial = self.subs.len();
                let bytes = message(serial, *fate, *size);
                self.subs.push(Submitted {
                    bytes: bytes.clone(),
                    fate: Fate::of(*fate),
                    acked: false,
                    removed: false,
                });
                let fs = std::sync::Arc::new(self.disk.clone());
                if let Ok(d) = Dropbox::open_with(Path::new(ROOT), fs) {
                    if submit::publish(&d, &bytes).is_ok() {
                        self.subs[serial].acked = true;
                    }
                }
            }
            Action::Pass { batch } => self.pass(usize::from(*batch % 8) + 1),
            Action::Recover => {
                if let Some(po) = open(&self.disk) {
                    let r = recover::recover_keeping(&po, &mut self.held);
                    if std::env::var_os("SPOOL_OPS_VERBOSE").is_some() {
                        eprintln!("recovery: {r:?}");
                    }
                }
            }
            Action::Release { which } => {
                if let Some((po, id)) = self.parked(*which) {
                    let _ = parked::release(&po, &id);
                }
            }
            Action::Remove { which } => {
                if let Some((po, id)) = self.parked(*which) {
                    let live = self.disk.live();
                    if let Some((s, _)) = live
                        .file(&format!("deferred/{id}"))
                        .and_then(serial_and_fate)
                    {
                        self.subs[s].removed = true;
                    }
                    let _ = parked::remove(&po, &id);
                }
            }
            Action::Reap { age } => {
                if let Some(po) = open(&self.disk) {
                    let _ = reaper::reap_public(&po, u64::from(*age));
                }
            }
        }
    }

    fn power_cut(&mut self, seed: u64) {
        let (pending, dirty) = self.disk.unsynced();
        let mut s = seed | 1;
        let mut c = std::iter::from_fn(move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            Some(s >> 11)
        });
        let mut next = || c.next().unwrap_or(0);
        let keep: Vec<bool> = match self.disk.model() {
            Model::Ext4Ordered => {
                let p = (next() % (pending as u64 + 1)) as usize;
                (0..pending).map(|i| i < p).collect()
            }
            Model::Weak => (0..pending).map(|_| next() % 2 == 1).collect(),
        };
        let data: Vec<DataFate> = (0..dirty)
            .map(|_| match next() % 3 {
                0 => DataFate::New,
                1 => DataFate::Old,
                _ => DataFate::Torn,
            })
            .collect();
        self.log
            .push(format!("  cut keeps {keep:?}, data {data:?}"));
        self.held.clear();
        self.disk.power_cut(&keep, &data);
        self.died();
        self.stats.cuts += 1;
        self.stats.cut_changes += pending;
        self.stats.cut_files += dirty;
    }

    /// The two checks: the state as the process left it, and the durable view alone.
    fn check(&mut self) {
        let live = self.disk.fork();
        self.check_state(&live, "after a kill now");
        let durable = self.disk.fork();
        let (pending, dirty) = durable.unsynced();
        durable.power_cut(&vec![false; pending], &vec![DataFate::Old; dirty]);
        let routed = self.check_state(&durable, "after a power cut now (the durable view)");
        for s in &self.routed {
            if !routed.contains(s) {
                self.fail(&format!(
                    "message {s} was routed in the durable view and is no longer (routed twice?)"
                ));
            }
        }
        self.routed = routed;
    }

    /// Recovers a copy of the disk and checks it; returns the serials routed in it.
    fn check_state(&mut self, disk: &SimDisk, when: &str) -> BTreeSet<usize> {
        self.stats.checked += 1;
        let Some(po) = open(disk) else {
            self.fail(&format!("{when}: the postoffice does not open"))
        };
        if let Err(e) = recover::recover_all(&po) {
            self.fail(&format!("{when}: recovery failed: {e}"));
        }
        let mut places = self.places(&disk.live(), when);
        let mut routed = BTreeSet::new();
        for (serial, m) in self.subs.iter().enumerate() {
            if self.judge(serial, m, places.remove(&serial).unwrap_or_default(), when) {
                routed.insert(serial);
            }
        }
        if let Some((s, p)) = places.into_iter().next() {
            self.fail(&format!(
                "{when}: message {s}, never submitted, is in {p:?}"
            ));
        }
        routed
    }

    /// Where each message is in `t`; every file whole, nothing stray.
    fn places(&self, t: &Tree, when: &str) -> BTreeMap<usize, Places> {
        let mut places: BTreeMap<usize, Places> = BTreeMap::new();
        let whose = |bytes: &[u8], what: &str| -> usize {
            match serial_and_fate(bytes) {
                Some((s, _)) if self.subs.get(s).is_some_and(|m| m.bytes == bytes) => s,
                _ => self.fail(&format!(
                    "{when}: {what} is not a whole message: {:?}",
                    String::from_utf8_lossy(bytes)
                )),
            }
        };
        for (path, bytes) in t.files() {
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            match dir {
                "public" => {}
                "router" => places
                    .entry(whose(bytes, path))
                    .or_default()
                    .router
                    .push(name.into()),
                "deferred" if name.ends_with(".reason") => {
                    let id = &name[..name.len() - ".reason".len()];
                    if t.file(&format!("deferred/{id}")).is_none() {
                        self.fail(&format!("{when}: {path} without its message"));
                    }
                }
                "deferred" => {
                    let reason = t.file(&format!("deferred/{name}.reason")).map(|r| {
                        match reason_file::ReasonFile::parse(&String::from_utf8_lossy(r)) {
                            Some(rf) => rf.code,
                            None => self.fail(&format!("{when}: {path}.reason does not read back")),
                        }
                    });
                    places
                        .entry(whose(bytes, path))
                        .or_default()
                        .deferred
                        .push((name.into(), reason));
                }
                "work" => {
                    let counted = name
                        .strip_suffix("#attempts")
                        .is_some_and(|id| t.file(&format!("router/{id}")).is_some());
                    if !counted {
                        self.fail(&format!("{when}: stray file {path} after recovery"));
                    }
                }
                q if q.starts_with("queue/") => {
                    let ch = &q["queue/".len()..];
                    let Some(ch) = CHANNELS.iter().find(|c| **c == ch) else {
                        self.fail(&format!("{when}: {path} in an unknown channel"));
                    };
                    let body = bytes
                        .strip_prefix(format!("{ch}\n").as_bytes())
                        .unwrap_or(b"");
                    places
                        .entry(whose(body, path))
                        .or_default()
                        .queued
                        .entry(ch)
                        .or_default()
                        .push(name.into());
                }
                _ => self.fail(&format!("{when}: stray file {path}")),
            }
        }
        places
    }

    /// Whether message `serial` is where it may be; true if it is routed.
    fn judge(&self, serial: usize, m: &Submitted, p: Places, when: &str) -> bool {
        let say = |what: &str| -> ! {
            self.fail(&format!(
                "{when}: message {serial} ({:?}, {}): {what}: {p:?}",
                m.fate,
                if m.acked {
                    "acknowledged"
                } else {
                    "not acknowledged"
                }
            ))
        };
        match p.count() {
            0 if m.acked && !m.removed => say("lost"),
            0 => return false,
            1 => {}
            _ => say("in two places"),
        }
        if !p.queued.is_empty() {
            let chans: BTreeSet<&str> = p.queued.keys().copied().collect();
            if chans != m.fate.channels() {
                say("queued for the wrong channels (partly routed?)");
            }
            let ids: BTreeSet<&String> = p.queued.values().flatten().collect();
            if ids.len() != 1 || p.queued.values().any(|v| v.len() != 1) {
                say("queued twice");
            }
            return true;
        }
        for (_, reason) in &p.deferred {
            match (m.fate, reason.as_deref()) {
                (_, Some("attempts-exhausted"))
                    if self.charged.get(&serial).copied().unwrap_or(0)
                        >= self.settings.attempts_max => {}
                (_, Some("attempts-exhausted")) => say("parked for attempts no router died of"),
                (Fate::Park, Some("no-recipients")) => {}
                // A release cut between its two steps leaves a message without its reason.
                (_, None) => {}
                _ => say("parked, and its route does not park it"),
            }
        }
        false
    }

    /// Passes until router/ is empty: each acknowledged message is then routed or parked.
    fn drain(&mut self) {
        self.disk.clear_fault();
        // Each poison may take a pass per attempt before it is parked, killing the pass: the
        // bound is that, whatever the number of poisons (a cap of 64 passes was found short by
        // the fuzz target: 29 poisons unparked at the drain, with router/ read in chunks of a
        // few names). The drain stops after a pass that lived and left router/ empty (its
        // recovery finished whatever an earlier death left in work/).
        let poisons = self.subs.iter().filter(|m| m.fate == Fate::Poison).count() as u64;
        for _ in 0..((poisons + 1) * (self.settings.attempts_max + 1) + 2) {
            self.pass(8);
            let died = self.disk.is_dead();
            if died {
                self.restart();
            } else {
                self.disk.clear_fault();
            }
            self.check();
            if !died && self.held.is_empty() && self.disk.live().names("router").is_empty() {
                break;
            }
        }
        let t = self.disk.live();
        let waiting = t.names("router");
        if !waiting.is_empty() {
            self.fail(&format!("after the drain, still in router/: {waiting:?}"));
        }
        self.stats.routed = self.routed.len();
        self.stats.parked = t.names("deferred").len();
    }
}
