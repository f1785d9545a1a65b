//! `router run`: the supervisor. It routes nothing itself; it keeps N worker processes
//! ([`super::worker`]) running, and bounds each one's time on a message.
//!
//! - Each worker is this program run as `router worker`, with stdin and stdout as pipes
//!   (the protocol is in [`super::protocol`]). A reader thread per worker turns its lines into events.
//! - Time: a worker that said `busy <id>` and has said nothing since for longer than
//!   `message_time_limit` is killed (`SIGKILL`). Its message's attempt is already on disk.
//! - Death: a worker that dies (killed, out of memory under `RLIMIT_AS`, a crash) is restarted
//!   after a back-off that doubles per consecutive death of that slot (100 ms to 10 s) and
//!   resets when a worker of the slot finishes a pass. The attempt counter parks the message
//!   that keeps killing workers; the supervisor never needs to know which one it was.
//! - New mail: inotify on `router/` wakes idle workers; a rescan every [`RESCAN`] wakes them
//!   anyway (a missed event, a message put back by recovery).
//! - `SIGTERM`/`SIGINT`: workers are told to finish the batch in hand and exit; after
//!   `message_time_limit` + [`DRAIN_GRACE`] any still running is killed (recovery finishes
//!   its work at the next start). `SIGHUP`: the configuration and tables are loaded again and
//!   checked; if they are good, workers are replaced (each finishes its batch first); if not,
//!   the old ones keep running and the refusal is logged.
//! - Nothing here waits without a bound: the event loop ticks every [`TICK`], writes to worker
//!   pipes are non-blocking, and the log is non-blocking.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::log::Log;
use super::protocol::Report;
use super::Ended;
use crate::limits::PROTOCOL_LINE_BYTES_MAX;

/// The event loop's tick: the resolution of the time limit and of signal handling.
pub const TICK: Duration = Duration::from_millis(50);
/// Idle workers are woken this often even without an inotify event.
pub const RESCAN: Duration = Duration::from_secs(5);
/// After `SIGTERM`, how much longer than `message_time_limit` workers get to finish.
pub const DRAIN_GRACE: Duration = Duration::from_secs(5);
/// Restart back-off bounds.
pub const RESTART_BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(10);

/// How to start a worker and how long a message may take.
pub struct Args {
    pub once: bool,
    pub workers: usize,
    pub time_limit: Duration,
    /// The arguments for a worker: everything after the program name (`-c F -p D worker ...`).
    pub worker_args: Vec<OsString>,
    /// `router/`, for inotify.
    pub router_dir: std::path::PathBuf,
}

/// What a run did, for `router run --once`'s summary and the tests.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub routed: u64,
    pub parked: u64,
    /// Workers that died or were killed and were restarted.
    pub restarts: u64,
    /// Of those, killed for the time limit.
    pub time_kills: u64,
    /// The largest peak RSS a worker reported at its exit, KiB.
    pub max_worker_rss_kib: u64,
    /// Log lines the workers dropped.
    pub dropped: u64,
    /// A worker ended a pass on a spool fault (disk full, I/O).
    pub spool_fault: bool,
    /// Lines from workers that were not reports (a bug): counted, dropped.
    pub malformed_reports: u64,
}

enum Msg {
    /// Lines a worker wrote, in order: what one read of its pipe held.
    Lines {
        slot: usize,
        gen: u64,
        lines: Vec<String>,
    },
    /// A worker's stdout closed: every line it wrote has been delivered.
    Eof {
        slot: usize,
        gen: u64,
    },
    Wake,
}

struct Slot {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    gen: u64,
    busy: Option<(String, Instant)>,
    /// The worker has been sent SIGKILL for the time limit (it is killed once).
    killed: bool,
    /// Since when the worker has been committing a batch, and whether that was logged as slow.
    committing: Option<(Instant, bool)>,
    idle: bool,
    /// New mail was announced while the worker was busy: wake it as soon as it is idle.
    wake_pending: bool,
    /// The current worker's stdout has closed (it is reaped only then, so that the message
    /// it was on is known when it dies).
    eof: bool,
    /// The current worker reported a spool fault in its pass.
    faulted: bool,
    restart: Backoff,
    restart_at: Option<Instant>,
    done: bool,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            child: None,
            stdin: None,
            gen: 0,
            busy: None,
            killed: false,
            committing: None,
            idle: false,
            wake_pending: false,
            eof: false,
            faulted: false,
            restart: Backoff::new(RESTART_BACKOFF_MIN, RESTART_BACKOFF_MAX),
            restart_at: None,
            done: false,
        }
    }
}

/// Runs the supervisor until `--once` is done or a `SIGTERM` drain ends. `reload` is called
/// on `SIGHUP`: `Ok` with a note if the new configuration and tables are good.
pub fn run(
    args: &Args,
    log: &Log,
    reload: &mut dyn FnMut() -> Result<String, String>,
) -> (Ended, Summary) {
    let term = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [
        (signal_hook::consts::SIGTERM, &term),
        (signal_hook::consts::SIGINT, &term),
        (signal_hook::consts::SIGHUP, &hup),
    ] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(flag)) {
            log.line(format_args!("supervisor: cannot handle signal {sig}: {e}"));
            return (Ended::CannotStart, Summary::default());
        }
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    if !args.once {
        watch(&args.router_dir, tx.clone(), log);
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            log.line(format_args!("supervisor: cannot find my own program: {e}"));
            return (Ended::CannotStart, Summary::default());
        }
    };
    let mut sum = Summary::default();
    let mut slots: Vec<Slot> = (0..args.workers.max(1)).map(|_| Slot::default()).collect();
    let mut readers = Vec::new();
    for (i, s) in slots.iter_mut().enumerate() {
        spawn(&exe, args, i, s, &tx, log, &mut readers);
    }
    let mut draining: Option<Instant> = None;
    let mut last_rescan = Instant::now();
    loop {
        if let Ok(m) = rx.recv_timeout(TICK) {
            on_msg(&mut slots, m, &mut sum, log);
        }
        let now = Instant::now();
        if term.swap(false, Ordering::Relaxed) && draining.is_none() {
            log.line(format_args!(
                "supervisor: draining: workers finish their batch and exit"
            ));
            draining = Some(now + args.time_limit + DRAIN_GRACE);
            slots.iter_mut().for_each(stop);
        }
        if hup.swap(false, Ordering::Relaxed) && draining.is_none() {
            on_hup(&mut slots, now, log, reload);
        }
        reap(&mut slots, args.once, now, log, &mut sum);
        enforce_time_limit(&mut slots, args.time_limit, log, &mut sum);
        report_slow_commits(&mut slots, args.time_limit, log);
        // Drain: done when every worker is gone; past the deadline, kill what is left.
        if let Some(deadline) = draining {
            if slots.iter().all(|s| s.child.is_none()) {
                break;
            }
            if now > deadline {
                for s in &mut slots {
                    if let Some(c) = s.child.as_mut() {
                        let _ = c.kill();
                    }
                }
            }
            continue;
        }
        if args.once && slots.iter().all(|s| s.done) {
            break;
        }
        for (i, s) in slots.iter_mut().enumerate() {
            if s.child.is_none() && !s.done && s.restart_at.is_some_and(|t| t <= now) {
                spawn(&exe, args, i, s, &tx, log, &mut readers);
            }
        }
        if now.duration_since(last_rescan) >= RESCAN {
            last_rescan = now;
            wake_idle(&mut slots);
        }
    }
    // Every worker is gone, so every reader thread reaches end of file: join them, then take
    // the last lines (the exit reports).
    for h in readers.drain(..) {
        let _ = h.join();
    }
    while let Ok(m) = rx.try_recv() {
        on_msg(&mut slots, m, &mut sum, log);
    }
    let ended = if sum.spool_fault {
        Ended::SpoolFault
    } else {
        Ended::Done
    };
    (ended, sum)
}

/// One message from a reader or the inotify thread.
fn on_msg(slots: &mut [Slot], m: Msg, sum: &mut Summary, log: &Log) {
    match m {
        Msg::Lines { slot, gen, lines } => {
            if let Some(s) = slots.get_mut(slot) {
                for line in &lines {
                    on_line(s, gen, line, sum, log);
                }
            }
        }
        Msg::Eof { slot, gen } => {
            if let Some(s) = slots.get_mut(slot).filter(|s| s.gen == gen) {
                s.eof = true;
            }
        }
        Msg::Wake => wake_idle(slots),
    }
}

/// `SIGHUP`: a good new configuration replaces every worker (each finishes its batch
/// first); a bad one is refused and the old workers go on.
fn on_hup(
    slots: &mut [Slot],
    now: Instant,
    log: &Log,
    reload: &mut dyn FnMut() -> Result<String, String>,
) {
    match reload() {
        Ok(note) => {
            log.line(format_args!(
                "supervisor: configuration reloaded ({note}); replacing workers"
            ));
            for s in slots {
                stop(s);
                s.restart_at = Some(now);
                s.restart.reset();
            }
        }
        Err(e) => log.line(format_args!(
            "supervisor: reload refused, keeping the old configuration: {e}"
        )),
    }
}

/// Reaps the workers that have exited (only once their stdout is closed, so the message a
/// worker was on is known), deciding for each slot whether and when to start another.
fn reap(slots: &mut [Slot], once: bool, now: Instant, log: &Log, sum: &mut Summary) {
    for (i, s) in slots.iter_mut().enumerate() {
        let Some(child) = s.child.as_mut().filter(|_| s.eof) else {
            continue;
        };
        let Ok(Some(status)) = child.try_wait() else {
            continue;
        };
        let pid = child.id();
        s.child = None;
        s.stdin = None;
        let on = s.busy.take().map(|(id, _)| id);
        s.idle = false;
        match status.code() {
            Some(0) => {
                s.done = once;
                if s.restart_at.is_none() && !once {
                    s.restart_at = Some(now);
                }
            }
            // Under --once a worker whose pass ended on a spool fault has done what it can.
            Some(_) if once && s.faulted => s.done = true,
            _ => {
                sum.restarts += 1;
                let wait = s.failed(now);
                log.line(format_args!(
                    "supervisor: worker {i} (pid {pid}) {}{}; restarting in {} ms",
                    describe(&status),
                    on.map(|id| format!(" while routing {id}"))
                        .unwrap_or_default(),
                    wait.as_millis()
                ));
            }
        }
    }
}

/// Kills (once) every worker busy on one message for longer than the limit.
fn enforce_time_limit(slots: &mut [Slot], limit: Duration, log: &Log, sum: &mut Summary) {
    for (i, s) in slots.iter_mut().enumerate() {
        let (Some((id, since)), Some(child)) = (&s.busy, s.child.as_mut()) else {
            continue;
        };
        if s.killed || since.elapsed() <= limit {
            continue;
        }
        log.line(format_args!(
            "supervisor: worker {i} (pid {}) killed: message {id} over message_time_limit ({limit:?})",
            child.id()
        ));
        let _ = child.kill();
        sum.time_kills += 1;
        s.killed = true;
    }
}

/// A batch's commit is the disk's work, not a message's: it is never killed for time (that
/// would count attempts against innocent messages), but a slow one is reported, once.
fn report_slow_commits(slots: &mut [Slot], limit: Duration, log: &Log) {
    for (i, s) in slots.iter_mut().enumerate() {
        if let Some((since, false)) = s.committing {
            if since.elapsed() > limit {
                log.line(format_args!(
                    "supervisor: worker {i} has been committing a batch for over {limit:?}: the disk is slow or hung"
                ));
                s.committing = Some((since, true));
            }
        }
    }
}

impl Slot {
    /// Tells an idle worker to look again.
    fn wake(&mut self) {
        if let Some(w) = self.stdin.as_mut() {
            // Non-blocking, and at most one byte is ever outstanding per idle period.
            let _ = w.write_all(b"\n");
        }
        self.idle = false;
    }

    /// Counts a failure of this slot and schedules its restart after the back-off; returns
    /// the wait.
    fn failed(&mut self, now: Instant) -> Duration {
        let wait = self.restart.fail();
        self.restart_at = Some(now + wait);
        wait
    }
}

/// A worker's line. Counters are taken from any worker of the slot, current or past (its
/// last lines may arrive after it was reaped); state only from the current one.
fn on_line(s: &mut Slot, gen: u64, line: &str, sum: &mut Summary, log: &Log) {
    let report = match Report::decode(line) {
        Ok(r) => r,
        Err(e) => {
            sum.malformed_reports += 1;
            log.line(format_args!("supervisor: {e}; dropped"));
            return;
        }
    };
    let current = gen == s.gen && s.child.is_some();
    match report {
        Report::Busy(_) | Report::Commit | Report::Idle | Report::Fault if !current => {}
        Report::Busy(id) => {
            s.busy = Some((id, Instant::now()));
            s.committing = None;
        }
        Report::Commit => {
            s.busy = None;
            s.committing = Some((Instant::now(), false));
        }
        Report::Idle => {
            s.busy = None;
            s.committing = None;
            s.idle = true;
            s.restart.reset();
            if std::mem::take(&mut s.wake_pending) {
                s.wake();
            }
        }
        Report::Fault => {
            s.faulted = true;
            sum.spool_fault = true;
        }
        Report::Done { routed, parked } => {
            sum.routed += routed;
            sum.parked += parked;
        }
        Report::Rss(kib) => sum.max_worker_rss_kib = sum.max_worker_rss_kib.max(kib),
        Report::Dropped(n) => sum.dropped += n,
    }
}

/// Tells a worker to finish its batch and exit: end of file on stdin, and `SIGTERM`.
fn stop(s: &mut Slot) {
    s.stdin = None;
    if let Some(c) = &s.child {
        if let Some(pid) = rustix::process::Pid::from_raw(c.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

/// New mail: every idle worker looks again; a busy one will when its pass is over (a wake
/// that arrived while it was busy is kept, not lost: the mail that caused it may have come
/// after the pass listed router/, and would otherwise wait for the rescan).
fn wake_idle(slots: &mut [Slot]) {
    for s in slots.iter_mut() {
        if s.idle {
            s.wake();
        } else {
            s.wake_pending = true;
        }
    }
}

fn describe(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (_, Some(s)) if s == rustix::process::Signal::KILL.as_raw() => {
            "was killed (SIGKILL)".into()
        }
        (_, Some(s)) if s == rustix::process::Signal::ABORT.as_raw() => {
            "aborted (SIGABRT: out of memory under RLIMIT_AS, or a panic)".into()
        }
        (_, Some(s)) => format!("died on signal {s}"),
        _ => "ended".into(),
    }
}

fn spawn(
    exe: &Path,
    args: &Args,
    i: usize,
    s: &mut Slot,
    tx: &mpsc::Sender<Msg>,
    log: &Log,
    readers: &mut Vec<std::thread::JoinHandle<()>>,
) {
    s.restart_at = None;
    s.gen += 1;
    s.busy = None;
    s.killed = false;
    s.committing = None;
    s.idle = false;
    s.eof = false;
    s.faulted = false;
    // A new worker's first pass lists router/ anyway.
    s.wake_pending = false;
    let mut cmd = Command::new(exe);
    cmd.args(&args.worker_args)
        // One glibc malloc arena: libc's own allocations in a worker's threads must not
        // reserve 128 MiB of address space each under RLIMIT_AS (Rust's go to jemalloc).
        .env("MALLOC_ARENA_MAX", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let wait = s.failed(Instant::now());
            log.line(format_args!(
                "supervisor: cannot start worker {i}: {e}; retrying in {} ms",
                wait.as_millis()
            ));
            return;
        }
    };
    if let Some(stdin) = child.stdin.take() {
        let _ = rustix::fs::fcntl_setfl(&stdin, rustix::fs::OFlags::NONBLOCK);
        s.stdin = Some(stdin);
    }
    if let Some(out) = child.stdout.take() {
        let (tx, gen) = (tx.clone(), s.gen);
        readers.retain(|h| !h.is_finished());
        let reader = std::thread::Builder::new()
            .name(format!("worker-{i}-reader"))
            .spawn(move || read_reports(out, i, gen, &tx));
        match reader {
            Ok(h) => readers.push(h),
            Err(e) => {
                // A thread limit: without its reader the worker cannot be supervised. Stop it
                // and try again later; the other workers go on.
                let _ = child.kill();
                let _ = child.wait();
                let wait = s.failed(Instant::now());
                log.line(format_args!(
                    "supervisor: cannot start a reader for worker {i}: {e}; retrying in {} ms",
                    wait.as_millis()
                ));
                return;
            }
        }
    } else {
        s.eof = true;
    }
    s.child = Some(child);
}

/// How long a reader waits after delivering what a worker's pipe held before it reads again.
/// A worker writes a line per message (`busy <id>`, the time limit's clock); a reader woken
/// for each one, and the supervisor after it, cost about a tenth of the routing's CPU
/// (`perf sched`, 5 000 messages: the readers and the supervisor 175 ms against the workers'
/// 1 456 ms). Lines written while the reader waits stay in the pipe (64 KiB, some 1 500
/// lines) without waking anyone, and are delivered together, in order; so the supervisor
/// learns each at most this late: the time limit (seconds) and the reports of a dead worker
/// (read to end of file before it is reaped) are unchanged.
pub const READ_PACE: Duration = Duration::from_millis(5);

/// A worker's reports, delivered to the supervisor a pipe's read at a time (see
/// [`READ_PACE`]); then end of file.
fn read_reports(out: impl std::io::Read, slot: usize, gen: u64, tx: &mpsc::Sender<Msg>) {
    use std::io::Read as _;
    // A longer line is not a report (a bug in the worker): its first bytes are delivered, to
    // be counted malformed, and the rest is skipped, so that no worker can grow the
    // supervisor's memory.
    const CAP: u64 = PROTOCOL_LINE_BYTES_MAX as u64 + 1;
    let mut r = BufReader::with_capacity(64 << 10, out);
    let mut lines = Vec::new();
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match (&mut r).take(CAP).read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        } else if bytes.len() as u64 == CAP && r.skip_until(b'\n').is_err() {
            break;
        }
        lines.push(String::from_utf8_lossy(&bytes).into_owned());
        if r.buffer().is_empty() {
            let batch = std::mem::take(&mut lines);
            if tx
                .send(Msg::Lines {
                    slot,
                    gen,
                    lines: batch,
                })
                .is_err()
            {
                return;
            }
            std::thread::sleep(READ_PACE);
        }
    }
    if !lines.is_empty() {
        let _ = tx.send(Msg::Lines { slot, gen, lines });
    }
    let _ = tx.send(Msg::Eof { slot, gen });
}

/// Watches `router/` with inotify; every event batch wakes idle workers. Without inotify
/// (a file system or limit that refuses it) the rescan timer alone does the job, and the
/// log says so.
fn watch(dir: &Path, tx: mpsc::Sender<Msg>, log: &Log) {
    use rustix::fs::inotify;
    let fd = match inotify::init(inotify::CreateFlags::CLOEXEC).and_then(|fd| {
        inotify::add_watch(
            &fd,
            dir,
            inotify::WatchFlags::MOVED_TO
                | inotify::WatchFlags::CLOSE_WRITE
                | inotify::WatchFlags::CREATE,
        )
        .map(|_| fd)
    }) {
        Ok(fd) => fd,
        Err(e) => {
            log.line(format_args!(
                "supervisor: inotify on {} unavailable ({e}); rescanning every {:?}",
                dir.display(),
                RESCAN
            ));
            return;
        }
    };
    let watcher = std::thread::Builder::new()
        .name("inotify".into())
        .spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match rustix::io::read(&fd, &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {
                        if tx.send(Msg::Wake).is_err() {
                            break;
                        }
                    }
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(_) => break,
                }
            }
        });
    if let Err(e) = watcher {
        log.line(format_args!(
            "supervisor: cannot start the inotify thread ({e}); rescanning every {RESCAN:?}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line arrives, in order, whatever the reads cut it into, the last one even without
    /// its line end (a worker killed mid-line), one past the protocol's length cut to just over
    /// it (to be counted malformed, its rest skipped); then end of file, once.
    #[test]
    fn reports_are_delivered_whole_in_order_then_end_of_file() {
        /// A pipe that returns at most `step` bytes per read, as a pipe read mid-write does.
        struct Trickle<'a>(&'a [u8], usize);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("busy m{i}\n"));
        }
        let long = "x".repeat(3 * PROTOCOL_LINE_BYTES_MAX);
        text.push_str(&format!("{long}\nidle\nrss 12"));
        for step in [1, 7, 4096, 1 << 20] {
            let (tx, rx) = mpsc::channel();
            read_reports(Trickle(text.as_bytes(), step), 3, 9, &tx);
            drop(tx);
            let mut got = Vec::new();
            let mut eofs = 0;
            for m in rx {
                match m {
                    Msg::Lines { slot, gen, lines } => {
                        assert_eq!((slot, gen, eofs), (3, 9, 0), "step {step}");
                        got.extend(lines);
                    }
                    Msg::Eof { slot, gen } => {
                        assert_eq!((slot, gen), (3, 9));
                        eofs += 1;
                    }
                    Msg::Wake => panic!("a reader never wakes"),
                }
            }
            let want: Vec<&str> = text
                .split('\n')
                .map(|l| &l[..l.len().min(PROTOCOL_LINE_BYTES_MAX + 1)])
                .collect();
            assert_eq!(got, want, "step {step}");
            assert_eq!(eofs, 1, "step {step}");
        }
    }
}
