//! A worker process: routes passes over the postoffice under a memory limit, telling its
//! supervisor what it is doing.
//!
//! It sets its own `RLIMIT_AS` first (`worker_memory_limit`, in `main` before anything else
//! is mapped: see `worker_cmd`), builds its one arena, and then runs passes ([`runner::run_once`]). It talks to the supervisor over two pipes:
//!
//! - stdout, worker to supervisor, one line per event: `busy <id>` before it reads and routes
//!   a message (the supervisor's clock for `message_time_limit` starts), `commit` when a batch
//!   is being committed (no clock: a slow disk is not the message's fault), `idle` after a pass,
//!   `done <routed> <parked>` per pass, and at exit `rss <KiB>` (its peak resident set,
//!   `VmHWM`) and `dropped <lines>` (log lines dropped).
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

use crate::config::Config;
use crate::exit;
use crate::log::Log;
use crate::postoffice::Postoffice;
use crate::runner::{self, Event, Settings};

/// What the worker needs from its command line.
pub struct WorkerArgs {
    pub once: bool,
    pub public_max_age: u64,
}

/// Runs a worker until told to stop; returns its exit code.
pub fn run(po: &Postoffice, s: &Settings, args: &WorkerArgs, log: &Log) -> u8 {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            log.line(format_args!("worker: cannot handle signal {sig}: {e}"));
            return exit::OSERR;
        }
    }
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    let mut arena = s.processor.arena();
    let mut out = std::io::stdout().lock();
    let mut stdin = std::io::stdin().lock();
    let mut code = exit::OK;
    let mut backoff = Backoff::default();
    loop {
        let mut report = |ev: Event<'_>| {
            let _ = match ev {
                Event::Busy(id) => writeln!(out, "busy {id}"),
                Event::Committing => writeln!(out, "commit"),
                Event::Done(_) => Ok(()),
            };
            let _ = out.flush();
        };
        let stopping = || stop.load(Ordering::Relaxed);
        match pass(
            po,
            s,
            &mut arena,
            log,
            args.public_max_age,
            &mut report,
            &stopping,
        ) {
            Ok(p) => {
                let _ = writeln!(out, "done {} {}", p.routed, p.deferred);
                backoff = Backoff::default();
            }
            Err(e) => {
                let wait = backoff.spool_fault(log, &e);
                code = exit::TEMPFAIL;
                if !args.once {
                    std::thread::sleep(wait);
                }
            }
        }
        let _ = writeln!(out, "idle");
        let _ = out.flush();
        if args.once || stop.load(Ordering::Relaxed) {
            break;
        }
        // Wait to be told to look again; end of file is the supervisor saying stop.
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => code = exit::OK,
        }
    }
    let _ = writeln!(out, "rss {}", peak_rss_kib().unwrap_or(0));
    let _ = writeln!(out, "dropped {}", log.dropped());
    let _ = out.flush();
    code
}

/// What a routing process needs before its first pass: the postoffice opened and checked,
/// the configuration's tables loaded. `Err` has the exit code and why.
pub fn open(c: &Config) -> Result<(Postoffice, Settings), (u8, String)> {
    let po = Postoffice::open(&c.postoffice).map_err(|e| (exit::TEMPFAIL, e.to_string()))?;
    let s = Settings::from_config(c).map_err(|e| (exit::CONFIG, e.to_string()))?;
    Ok((po, s))
}

/// One pass as a routing process (a worker, or `run --inline`) runs it: abandoned
/// submissions reaped, everything in router/ routed, each message's line logged, every name
/// left alone reported. Other events go to `report`.
pub fn pass(
    po: &Postoffice,
    s: &Settings,
    arena: &mut mailaddr::Arena,
    log: &Log,
    public_max_age: u64,
    report: &mut dyn FnMut(Event<'_>),
    stop: &dyn Fn() -> bool,
) -> std::io::Result<runner::Pass> {
    if let Err(e) = crate::reaper::reap_public(po, public_max_age) {
        log.line(format_args!("reaping public/: {e}"));
    }
    let mut events = |ev: Event<'_>| {
        if let Event::Done(r) = ev {
            log.message(r);
        }
        report(ev);
    };
    let pass = runner::run_once(po, s, arena, &mut events, stop)?;
    for n in &pass.not_files {
        log.line(format_args!("router/{n} is not a regular file; left alone"));
    }
    for n in &pass.bad_names {
        log.line(format_args!(
            "router/{} is not a message id; left alone",
            crate::log::clean(n)
        ));
    }
    Ok(pass)
}

/// The wait after a spool fault (disk full, I/O error): 100 ms, doubling to 30 s; a
/// successful pass starts it again (`Backoff::default()`).
pub struct Backoff(std::time::Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(std::time::Duration::from_millis(100))
    }
}

impl Backoff {
    /// Logs the fault with the wait it calls for, and doubles the next wait.
    pub fn spool_fault(&mut self, log: &Log, e: &std::io::Error) -> std::time::Duration {
        let wait = self.0;
        log.line(format_args!(
            "spool {}: {e}; backing off {} ms",
            if crate::fs::is_disk_full(e) {
                "full"
            } else {
                "I/O error"
            },
            wait.as_millis()
        ));
        self.0 = (wait * 2).min(std::time::Duration::from_secs(30));
        wait
    }
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
