//! A worker process: routes passes over the postoffice under a memory limit, telling its
//! supervisor what it is doing.
//!
//! It sets its own `RLIMIT_AS` first (`worker_memory_limit`, before anything else is mapped:
//! see [`set_memory_limit`]), builds its one arena, and then runs passes ([`super::pass::pass`]). It talks to the supervisor over two pipes:
//!
//! - stdout, worker to supervisor: one [`Report`] per line (the protocol is in
//!   [`super::protocol`]);
//! - stdin, supervisor to worker: any line means "look again" (inotify saw a new file, or the
//!   rescan timer fired); end of file means "finish and exit".
//!
//! `SIGTERM` (or `SIGINT`) makes it finish the batch in hand and exit: a drain. If the
//! supervisor dies, the kernel sends it `SIGTERM` (`PR_SET_PDEATHSIG`) and stdin reaches end
//! of file, so no worker outlives its supervisor for longer than a batch.
//!
//! A worker that runs out of memory under its limit aborts (Rust's allocation-failure
//! handler); one that stalls is killed by the supervisor. Either way the message it was on
//! has its attempt counted on disk already, and the next pass routes it alone; after
//! `max_attempts` it is parked.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::backoff::Backoff;
use super::log::Log;
use super::pass::{self, Settings};
use super::protocol::Report;
use super::Ended;
use crate::config::Config;
use crate::core::table::TableError;
use crate::spool::batch::Event;
use crate::spool::layout::OpenError;
use crate::spool::{self, Postoffice};

/// The wait after a spool fault: 100 ms, doubling to 30 s; a good pass starts it again.
pub const SPOOL_BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const SPOOL_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// A fresh back-off for spool faults.
pub fn spool_backoff() -> Backoff {
    Backoff::new(SPOOL_BACKOFF_MIN, SPOOL_BACKOFF_MAX)
}

/// What the worker needs from its command line.
pub struct WorkerArgs {
    pub once: bool,
    pub public_max_age: u64,
}

/// Runs a worker until told to stop.
pub fn run(po: &Postoffice, s: &Settings, args: &WorkerArgs, log: &Log) -> Ended {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            log.line(format_args!("worker: cannot handle signal {sig}: {e}"));
            return Ended::CannotStart;
        }
    }
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    let mut kept = pass::Kept::new(s.processor.arena());
    let mut out = std::io::stdout().lock();
    let mut stdin = std::io::stdin().lock();
    let mut ended = Ended::Done;
    let mut backoff = spool_backoff();
    let send = |out: &mut std::io::StdoutLock<'_>, r: Report| {
        let _ = writeln!(out, "{}", r.encode());
        let _ = out.flush();
    };
    loop {
        let mut report = |ev: Event<'_>| match ev {
            Event::Busy(id) => send(&mut out, Report::Busy(id.into())),
            Event::Committing => send(&mut out, Report::Commit),
            Event::Done(_) => {}
        };
        let stopping = || stop.load(Ordering::Relaxed);
        let (p, result) = pass::pass(
            po,
            s,
            &mut kept,
            log,
            args.public_max_age,
            &mut report,
            &stopping,
        );
        send(
            &mut out,
            Report::Done {
                routed: p.routed as u64,
                parked: p.deferred as u64,
            },
        );
        match result {
            Ok(()) => backoff.reset(),
            Err(e) => {
                send(&mut out, Report::Fault);
                let wait = spool_fault(&mut backoff, log, &e);
                ended = Ended::SpoolFault;
                if !args.once {
                    std::thread::sleep(wait);
                }
            }
        }
        send(&mut out, Report::Idle);
        if args.once || stop.load(Ordering::Relaxed) {
            break;
        }
        // Wait to be told to look again; end of file is the supervisor saying stop.
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => ended = Ended::Done,
        }
    }
    send(&mut out, Report::Rss(peak_rss_kib().unwrap_or(0)));
    send(&mut out, Report::Dropped(log.dropped() as u64));
    ended
}

/// Why a routing process could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenFault {
    /// The postoffice is missing or broken: the administrator's, or a moment's (75).
    #[error("{0}")]
    Postoffice(#[from] OpenError),
    /// A table does not load: the administrator's (78).
    #[error("{0}")]
    Tables(#[from] TableError),
}

/// What a routing process needs before its first pass: the postoffice opened and checked,
/// the configuration's tables loaded.
pub fn open(c: &Config) -> Result<(Postoffice, Settings), OpenFault> {
    let mut po = Postoffice::open(&c.postoffice)?;
    if c.zmailer.enabled {
        let notify = &c.zmailer.scheduler_notify;
        po.enable_handoff(
            c.zmailer.dirhash(),
            (!notify.as_os_str().is_empty()).then(|| notify.clone()),
        )?;
    }
    let s = Settings::from_config(c)?;
    Ok((po, s))
}

/// Logs a spool fault with the wait it calls for, and returns the wait.
pub fn spool_fault(backoff: &mut Backoff, log: &Log, e: &spool::Error) -> Duration {
    let wait = backoff.fail();
    let what = match e {
        e if e.is_disk_full() => "full",
        spool::Error::Disk(_) => "I/O error",
        spool::Error::IdReused { .. } => "conflict",
    };
    log.line(format_args!(
        "spool {what}: {e}; backing off {} ms",
        wait.as_millis()
    ));
    wait
}

/// Sets `RLIMIT_AS` (soft and hard: the worker cannot raise it again). Call it before any
/// thread starts: glibc reserves 128 MiB of address space for a thread's first malloc arena,
/// and a limit set below what is already mapped makes every later mapping fail.
pub fn set_memory_limit(bytes: u64) -> std::io::Result<()> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    setrlimit(
        Resource::As,
        Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        },
    )?;
    Ok(())
}

/// This process's peak resident set (`VmHWM` in /proc/self/status), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
