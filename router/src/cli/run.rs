//! `router run` (the supervisor, or `--inline` one process) and `router worker` (a worker,
//! started by the supervisor).

use std::ffi::OsString;

use super::{ended_code, exit, Globals};
use router::config::Config;
use router::process::worker::{self, OpenFault};
use router::process::{log::Log, pass, supervisor};

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pass: PassArgs,
    /// Override `workers` (0: one per CPU).
    #[arg(long)]
    workers: Option<usize>,
    /// Route in this process, without workers: no memory or time limit (for tests of the
    /// spool protocol, debugging, and scripts that want one process).
    #[arg(long)]
    inline: bool,
}

/// What `run` and its workers share.
#[derive(clap::Args)]
pub struct PassArgs {
    /// Route what is in router/ now, then exit.
    #[arg(long)]
    once: bool,
    /// Add a local domain to the configuration's.
    #[arg(long = "local-domain", value_name = "DOMAIN")]
    local_domains: Vec<String>,
    /// Override limits.public_max_age, in seconds.
    #[arg(long)]
    public_max_age: Option<u64>,
}

impl PassArgs {
    /// The configuration with these overrides; and public_max_age in seconds.
    fn apply(&self, mut c: Config) -> (Config, u64) {
        c.routing
            .local_domains
            .extend(self.local_domains.iter().cloned());
        let max_age = self
            .public_max_age
            .unwrap_or(c.limits.public_age_max.as_secs());
        (c, max_age)
    }
}

/// The exit code for a routing process that could not open what it needs, said on `say`.
fn open_fault_code(e: &OpenFault, say: impl FnOnce(&str)) -> u8 {
    say(&e.to_string());
    match e {
        OpenFault::Postoffice(_) => exit::TEMPFAIL,
        OpenFault::Tables(_) => exit::CONFIG,
    }
}

pub fn run(g: &Globals<'_>, a: RunArgs) -> Result<u8, u8> {
    let (c, max_age) = a.pass.apply(g.config()?);
    if a.inline {
        return Ok(inline(&c, a.pass.once, max_age));
    }
    let workers = a.workers.unwrap_or(c.workers as usize);
    if workers > router::limits::WORKERS_MAX as usize {
        eprintln!(
            "router run: --workers {workers} is over {} (0 means one per CPU)",
            router::limits::WORKERS_MAX
        );
        return Ok(exit::USAGE);
    }
    // The workers read the same file; with no file (the default path missing, -p given) they
    // take the defaults too.
    let mut worker_args: Vec<OsString> = Vec::new();
    if g.config_explicit || g.config.exists() {
        worker_args.extend(["-c".into(), g.config.into()]);
    }
    worker_args.extend([
        "-p".into(),
        c.postoffice.clone().into(),
        "worker".into(),
        "--public-max-age".into(),
        max_age.to_string().into(),
    ]);
    if a.pass.once {
        worker_args.push("--once".into());
    }
    for d in &a.pass.local_domains {
        worker_args.push("--local-domain".into());
        worker_args.push(d.into());
    }
    Ok(supervised(
        g,
        &c,
        a.pass.once,
        workers,
        worker_args,
        &a.pass.local_domains,
    ))
}

/// How often `run --inline` looks at router/ again (it has no inotify: it is for tests and
/// scripts).
const INLINE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// `router run --inline`: the routing loop in this process.
fn inline(c: &Config, once: bool, public_max_age: u64) -> u8 {
    let log = match Log::start() {
        Ok(log) => log,
        Err(e) => {
            eprintln!("router run: cannot start the log thread: {e}");
            return exit::OSERR;
        }
    };
    let (po, s) = match worker::open(c) {
        Ok(x) => x,
        Err(e) => return open_fault_code(&e, |w| eprintln!("router run: {w}")),
    };
    let mut kept = pass::Kept::new(s.processor.arena());
    let mut backoff = worker::spool_backoff();
    loop {
        let (p, result) = pass::pass(
            &po,
            &s,
            &mut kept,
            &log,
            public_max_age,
            &mut |_| {},
            &|| false,
        );
        match result {
            Ok(()) => {
                backoff.reset();
                if once {
                    println!(
                        "routed {} parked {} dropped-log-lines {}",
                        p.routed,
                        p.deferred,
                        log.dropped()
                    );
                    return exit::OK;
                }
                std::thread::sleep(INLINE_POLL);
            }
            Err(e) => {
                let wait = worker::spool_fault(&mut backoff, &log, &e);
                if once {
                    return exit::TEMPFAIL;
                }
                std::thread::sleep(wait);
            }
        }
    }
}

/// `router run`: the supervisor.
fn supervised(
    g: &Globals<'_>,
    c: &Config,
    once: bool,
    workers: usize,
    worker_args: Vec<OsString>,
    extra_domains: &[String],
) -> u8 {
    let log = match Log::start() {
        Ok(log) => log,
        Err(e) => {
            eprintln!("router run: cannot start the log thread: {e}");
            return exit::OSERR;
        }
    };
    // Check everything a worker will need before starting any: the postoffice and the tables.
    if let Err(e) = worker::open(c) {
        return open_fault_code(&e, |w| eprintln!("router run: {w}"));
    }
    let workers = if workers == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        workers
    };
    let args = supervisor::Args {
        once,
        workers,
        time_limit: c.limits.message_time_max,
        worker_args,
        router_dir: c.postoffice.join("router"),
    };
    log.line(format_args!(
        "supervisor: {} workers on {}, memory limit {} MiB each, {:?} per message",
        workers,
        c.postoffice.display(),
        c.limits.worker_memory_bytes_max >> 20,
        c.limits.message_time_max
    ));
    let mut reload = || {
        let mut n =
            Config::load(g.config, g.config_explicit, g.postoffice).map_err(|e| e.to_string())?;
        n.routing
            .local_domains
            .extend(extra_domains.iter().cloned());
        let s = pass::Settings::from_config(&n).map_err(|e| e.to_string())?;
        Ok(format!(
            "{} aliases, {} transport entries",
            s.processor.routing.aliases.len(),
            s.processor.routing.transport.len()
        ))
    };
    let (ended, sum) = supervisor::run(&args, &log, &mut reload);
    if once {
        println!(
            "routed {} parked {} worker-restarts {} time-kills {} max-worker-rss-kib {} dropped-log-lines {} malformed-reports {}",
            sum.routed, sum.parked, sum.restarts, sum.time_kills, sum.max_worker_rss_kib, sum.dropped, sum.malformed_reports
        );
    }
    ended_code(ended)
}

/// `router worker`: one worker process.
pub fn worker(g: &Globals<'_>, a: PassArgs) -> Result<u8, u8> {
    let (c, max_age) = a.apply(g.config()?);
    // The limit comes first, before any thread or table exists: whatever the worker maps
    // later (the log thread, the tables, the arena) is inside it. Set after, it would be
    // silently exceeded already (a thread's first glibc malloc reserves 128 MiB of address
    // space), and every later allocation would fail.
    if let Err(e) = worker::set_memory_limit(c.limits.worker_memory_bytes_max) {
        eprintln!("router worker: cannot set RLIMIT_AS: {e}");
        return Ok(exit::OSERR);
    }
    let log = match Log::start() {
        Ok(log) => log,
        Err(e) => {
            eprintln!("router run: cannot start the log thread: {e}");
            return Ok(exit::OSERR);
        }
    };
    let (po, s) = match worker::open(&c) {
        Ok(x) => x,
        Err(e) => {
            return Ok(open_fault_code(&e, |w| {
                log.line(format_args!("worker: {w}"))
            }))
        }
    };
    let args = worker::WorkerArgs {
        once: a.once,
        public_max_age: max_age,
    };
    Ok(ended_code(worker::run(&po, &s, &args, &log)))
}
