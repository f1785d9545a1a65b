//! ```text
//! NAME
//!     router - a hardened mail router for a spool directory
//!
//! SYNOPSIS
//!     router [-c FILE] [-p DIR] COMMAND
//!
//! DESCRIPTION
//!     A thin shell: parses the command line, runs the library, and maps what comes back to
//!     a sysexits(3) exit code. See `router --help` and README.md.
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use router::exit;

/// jemalloc: steady fragmentation behaviour for long-running workers, and its allocation
/// failures under `RLIMIT_AS` are clean (the allocator returns null; Rust aborts the worker).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "router",
    version,
    about = "A hardened mail router for a spool directory"
)]
struct Cli {
    /// Configuration file (also from $ROUTER_CONFIG).
    #[arg(
        short = 'c',
        long = "config",
        global = true,
        env = "ROUTER_CONFIG",
        default_value = "/etc/router/router.toml"
    )]
    config: std::path::PathBuf,
    /// Postoffice directory (overrides the configuration's).
    #[arg(short = 'p', long = "postoffice", global = true)]
    postoffice: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a postoffice (the directories of SPEC section 2) under DIR.
    Init { dir: std::path::PathBuf },
    /// Submit a message from stdin (sendmail-compatible). Returns once it is safely in
    /// router/; never waits for routing.
    Submit {
        /// Envelope sender (`<>` for none).
        #[arg(short = 'f', value_name = "SENDER")]
        from: Option<String>,
        /// Take recipients from the To, Cc and Bcc headers (not supported yet: refused with
        /// EX_UNAVAILABLE).
        #[arg(short = 't')]
        from_headers: bool,
        /// Do not treat a line with a single `.` as the end of the message.
        #[arg(short = 'i', visible_short_alias = 'I')]
        ignore_dots: bool,
        /// sendmail's -o options (only `-oi` has a meaning here).
        #[arg(short = 'o', value_name = "OPTION")]
        options: Vec<String>,
        /// Recipients.
        recipients: Vec<String>,
    },
    /// Route mail: a supervisor and worker processes (SPEC section 6). SIGTERM drains and
    /// exits; SIGHUP reloads the configuration and tables (a bad one is refused).
    Run {
        #[command(flatten)]
        pass: PassArgs,
        /// Override `workers` (0: one per CPU).
        #[arg(long)]
        workers: Option<usize>,
        /// Route in this process, without workers: no memory or time limit (for tests of the
        /// spool protocol, debugging, and scripts that want one process).
        #[arg(long)]
        inline: bool,
    },
    /// A worker process, started by `router run` (not for use by hand).
    #[command(hide = true)]
    Worker {
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Build a demo postoffice in a temporary directory, feed it messages from corpus/,
    /// route them, and show where each went and why.
    Demo {
        /// The corpus directory (default: ./corpus, else the one this program was built from).
        #[arg(long)]
        corpus: Option<std::path::PathBuf>,
        /// Keep the demo postoffice instead of removing it.
        #[arg(long)]
        keep: bool,
    },
    /// Parked messages: list, show, release (route again), remove.
    Deferred {
        #[command(subcommand)]
        action: DeferredCmd,
    },
    /// Counts per postoffice directory and per deferral reason.
    Status {
        /// Prometheus text format, for a node-exporter textfile collector.
        #[arg(long)]
        prometheus: bool,
    },
    /// Check the configuration, its tables and the postoffice layout; exit 0 if all is well.
    Check,
    /// Write the man pages (router.1, router-run.1, ...) into DIR.
    #[command(hide = true)]
    Man { dir: std::path::PathBuf },
    /// Parse address fields from stdin, one per line (`Name<TAB>value` or a bare list); JSON
    /// lines out (SPEC section 4).
    Parse {
        /// Print a human diagnostic with a caret under each error instead of JSON.
        #[arg(long)]
        explain: bool,
    },
}

/// What `run` and its workers share.
#[derive(clap::Args)]
struct PassArgs {
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

#[derive(Subcommand)]
enum DeferredCmd {
    /// One line per parked message: id, reason, date, detail (tab-separated).
    List {
        /// Only this reason kind (e.g. hop-limit).
        #[arg(long)]
        reason: Option<String>,
    },
    /// The reason file, the envelope and the headers of one parked message.
    Show { id: String },
    /// Put messages back into router/ to be routed again (after fixing the cause).
    Release {
        ids: Vec<String>,
        /// Every parked message of this reason kind.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete parked messages and their reason files.
    Remove {
        ids: Vec<String>,
        /// Every parked message of this reason kind.
        #[arg(long)]
        reason: Option<String>,
    },
}

fn main() -> ExitCode {
    // Invoked as `sendmail` (a symlink), the arguments are `router submit`'s: -f, -t, -i,
    // -oi, --, recipients. The configuration comes from $ROUTER_CONFIG or the default path.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if invoked_as.as_deref() == Some("sendmail") {
        args.insert(1, "submit".into());
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let config = || match router::config::Config::load(&cli.config, cli.postoffice.as_deref()) {
        Ok(c) => Ok(c),
        Err(e) => {
            eprintln!("router: {e}");
            Err(exit::CONFIG)
        }
    };
    // Each command gives its exit code; `Err` is an exit code from a step that refused
    // (a configuration that does not load, a postoffice that does not open).
    let code = (|| -> Result<u8, u8> {
        Ok(match cli.command {
            Command::Init { dir } => match router::postoffice::Postoffice::init(&dir) {
                Ok(()) => exit::OK,
                Err(e) => {
                    eprintln!("router init: {}: {e}", dir.display());
                    exit::CANTCREAT
                }
            },
            Command::Submit {
                from,
                from_headers,
                ignore_dots,
                options,
                recipients,
            } => {
                let ignore_dots = ignore_dots || options.iter().any(|o| o == "i");
                let c = config()?;
                let max = c.limits.max_message_bytes;
                submit_cmd(
                    &c.postoffice,
                    max,
                    from,
                    from_headers,
                    ignore_dots,
                    &recipients,
                )
            }
            Command::Run {
                pass:
                    PassArgs {
                        once,
                        local_domains,
                        public_max_age,
                    },
                workers,
                inline,
            } => {
                let mut c = config()?;
                c.routing
                    .local_domains
                    .extend(local_domains.iter().cloned());
                let max_age = public_max_age.unwrap_or(c.limits.public_max_age.as_secs());
                if inline {
                    return Ok(inline_cmd(&c, once, max_age));
                }
                let workers = workers.unwrap_or(c.workers as usize);
                let mut worker_args: Vec<std::ffi::OsString> = vec![
                    "-c".into(),
                    cli.config.clone().into(),
                    "-p".into(),
                    c.postoffice.clone().into(),
                    "worker".into(),
                    "--public-max-age".into(),
                    max_age.to_string().into(),
                ];
                if once {
                    worker_args.push("--once".into());
                }
                for d in &local_domains {
                    worker_args.push("--local-domain".into());
                    worker_args.push(d.into());
                }
                supervised_cmd(
                    &cli.config,
                    cli.postoffice.as_deref(),
                    &c,
                    once,
                    workers,
                    worker_args,
                    &local_domains,
                )
            }
            Command::Worker {
                pass:
                    PassArgs {
                        once,
                        local_domains,
                        public_max_age,
                    },
            } => {
                let mut c = config()?;
                c.routing.local_domains.extend(local_domains);
                let max_age = public_max_age.unwrap_or(c.limits.public_max_age.as_secs());
                worker_cmd(&c, once, max_age)
            }
            Command::Deferred { action } => {
                let c = config()?;
                deferred_cmd(&c, action)
            }
            Command::Status { prometheus } => {
                let c = config()?;
                let po = open_po(&c.postoffice, "status")?;
                let mut out = std::io::stdout().lock();
                let r = router::admin::status(&po).and_then(|s| {
                    if prometheus {
                        s.write_prometheus(&mut out)
                    } else {
                        s.write_text(&mut out)
                    }
                });
                match r {
                    Ok(()) => exit::OK,
                    Err(e) => {
                        eprintln!("router status: {e}");
                        exit::IOERR
                    }
                }
            }
            Command::Check => {
                let c = config()?;
                let s = match router::runner::Settings::from_config(&c) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("router check: {e}");
                        return Err(exit::CONFIG);
                    }
                };
                println!(
                    "configuration: ok ({} local domains, {} aliases, {} transport entries)",
                    s.processor.routing.local_domains.len(),
                    s.processor.routing.aliases.len(),
                    s.processor.routing.transport.len()
                );
                match router::postoffice::Postoffice::open(&c.postoffice) {
                    Ok(_) => {
                        println!(
                            "postoffice {}: ok (layout, one file system)",
                            c.postoffice.display()
                        );
                        exit::OK
                    }
                    Err(e) => {
                        eprintln!("router check: postoffice: {e}");
                        exit::TEMPFAIL
                    }
                }
            }
            Command::Man { dir } => match write_man_pages(&dir) {
                Ok(n) => {
                    println!("{n} man pages in {}", dir.display());
                    exit::OK
                }
                Err(e) => {
                    eprintln!("router man: {}: {e}", dir.display());
                    exit::CANTCREAT
                }
            },
            Command::Demo { corpus, keep } => router::demo::run(corpus.as_deref(), keep),
            Command::Parse { explain } => {
                let stdin = std::io::stdin().lock();
                let stdout = std::io::stdout().lock();
                match router::parse_cmd::run(stdin, stdout, explain, &mailaddr::Options::DEFAULT) {
                    Ok(code) => code,
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
                    Err(e) => {
                        eprintln!("router parse: {e}");
                        exit::IOERR
                    }
                }
            }
        })
    })()
    .unwrap_or_else(|code| code);
    ExitCode::from(code)
}

fn submit_cmd(
    po: &std::path::Path,
    max: usize,
    from: Option<String>,
    from_headers: bool,
    ignore_dots: bool,
    recipients: &[String],
) -> u8 {
    use std::io::Read;
    let po = match open_po(po, "submit") {
        Ok(po) => po,
        Err(code) => return code,
    };
    if from_headers && !recipients.is_empty() {
        // sendmail 8 drops argument recipients under -t, Postfix adds them: ambiguous, so
        // refused rather than guessed.
        eprintln!("router submit: -t takes the recipients from To/Cc/Bcc; give no recipient arguments with it (sendmail and Postfix disagree on what they would mean)");
        return exit::USAGE;
    }
    if recipients.is_empty() && !from_headers {
        eprintln!("router submit: no recipients (give them as arguments, or use -t)");
        return exit::USAGE;
    }
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin()
        .lock()
        .take(max as u64 + 1)
        .read_to_end(&mut body)
    {
        eprintln!("router submit: reading stdin: {e}");
        return exit::IOERR;
    }
    if body.len() > max {
        eprintln!("router submit: message over {max} bytes (limits.max_message_bytes)");
        return exit::DATAERR;
    }
    if !ignore_dots {
        router::submit::end_at_dot_line(&mut body);
    }
    use router::submit::bracketed;
    let sender = from.unwrap_or_else(|| {
        std::env::var("USER")
            .map(|u| format!("{u}@localhost"))
            .unwrap_or_else(|_| "<>".into())
    });
    // A line end in the sender or a recipient would add lines to the envelope (injection).
    if let Some(r) = std::iter::once(&sender)
        .chain(recipients)
        .find(|r| r.contains(['\n', '\r']))
    {
        eprintln!("router submit: bad address {r:?} (line ends are not allowed)");
        return exit::USAGE;
    }
    let to: Vec<String> = recipients.iter().map(|r| bracketed(r)).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let mut msg = Vec::with_capacity(body.len() + 64 * (to.len() + 1));
    router::envelope::write_input(&mut msg, &bracketed(&sender), &to, &body);
    match router::submit::publish(&po, &msg) {
        Ok(id) => {
            println!("{id}");
            exit::OK
        }
        Err(e) => {
            eprintln!("router submit: {e}");
            exit::TEMPFAIL
        }
    }
}

/// `router run --inline`: the routing loop in this process.
fn inline_cmd(c: &router::config::Config, once: bool, public_max_age: u64) -> u8 {
    let log = router::log::Log::start();
    let (po, s) = match router::worker::open(c) {
        Ok(x) => x,
        Err((code, why)) => {
            eprintln!("router run: {why}");
            return code;
        }
    };
    let mut arena = s.processor.arena();
    let mut backoff = router::worker::Backoff::default();
    loop {
        let pass = router::worker::pass(
            &po,
            &s,
            &mut arena,
            &log,
            public_max_age,
            &mut router::runner::quiet,
            &|| false,
        );
        match pass {
            Ok(pass) => {
                backoff = router::worker::Backoff::default();
                if once {
                    println!(
                        "routed {} parked {} dropped-log-lines {}",
                        pass.routed,
                        pass.deferred,
                        log.dropped()
                    );
                    return exit::OK;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => {
                let wait = backoff.spool_fault(&log, &e);
                if once {
                    return exit::TEMPFAIL;
                }
                std::thread::sleep(wait);
            }
        }
    }
}

/// `router run`: the supervisor.
fn supervised_cmd(
    file: &std::path::Path,
    po_override: Option<&std::path::Path>,
    c: &router::config::Config,
    once: bool,
    workers: usize,
    worker_args: Vec<std::ffi::OsString>,
    extra_domains: &[String],
) -> u8 {
    let log = router::log::Log::start();
    // Check everything a worker will need before starting any: the postoffice and the tables.
    if let Err((code, why)) = router::worker::open(c) {
        eprintln!("router run: {why}");
        return code;
    }
    let workers = if workers == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        workers
    };
    let args = router::supervisor::Args {
        once,
        workers,
        time_limit: c.limits.message_time_limit,
        worker_args,
        router_dir: c.postoffice.join("router"),
    };
    log.line(format_args!(
        "supervisor: {} workers on {}, memory limit {} MiB each, {:?} per message",
        workers,
        c.postoffice.display(),
        c.limits.worker_memory_limit >> 20,
        c.limits.message_time_limit
    ));
    let mut reload = || {
        let mut n = router::config::Config::load(file, po_override).map_err(|e| e.to_string())?;
        n.routing
            .local_domains
            .extend(extra_domains.iter().cloned());
        let s = router::runner::Settings::from_config(&n).map_err(|e| e.to_string())?;
        Ok(format!(
            "{} aliases, {} transport entries",
            s.processor.routing.aliases.len(),
            s.processor.routing.transport.len()
        ))
    };
    let (code, sum) = router::supervisor::run(&args, &log, &mut reload);
    if once {
        println!(
            "routed {} parked {} worker-restarts {} time-kills {} max-worker-rss-kib {} dropped-log-lines {}",
            sum.routed, sum.parked, sum.restarts, sum.time_kills, sum.max_worker_rss_kib, sum.dropped
        );
    }
    code
}

/// `router worker`: one worker process.
fn worker_cmd(c: &router::config::Config, once: bool, public_max_age: u64) -> u8 {
    // The limit comes first, before any thread or table exists: whatever the worker maps
    // later (the log thread, the tables, the arena) is inside it. Set after, it would be
    // silently exceeded already (a thread's first glibc malloc reserves 128 MiB of address
    // space), and every later allocation would fail.
    if let Err(e) = router::worker::set_memory_limit(c.limits.worker_memory_limit) {
        eprintln!("router worker: cannot set RLIMIT_AS: {e}");
        return exit::OSERR;
    }
    let log = router::log::Log::start();
    let (po, s) = match router::worker::open(c) {
        Ok(x) => x,
        Err((code, why)) => {
            log.line(format_args!("worker: {why}"));
            return code;
        }
    };
    let args = router::worker::WorkerArgs {
        once,
        public_max_age,
    };
    router::worker::run(&po, &s, &args, &log)
}

/// `router deferred ...`.
fn deferred_cmd(c: &router::config::Config, action: DeferredCmd) -> u8 {
    use router::admin::{self, Done};
    let po = match open_po(&c.postoffice, "deferred") {
        Ok(po) => po,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    let io_err = |e: std::io::Error| {
        eprintln!("router deferred: {e}");
        exit::IOERR
    };
    // The ids named, plus every parked message of `reason`.
    let select = |ids: Vec<String>, reason: Option<String>| -> std::io::Result<Vec<String>> {
        let mut v = ids;
        if let Some(k) = reason {
            v.extend(
                admin::parked(&po)?
                    .into_iter()
                    .filter(|p| p.kind == k)
                    .map(|p| p.id),
            );
        }
        Ok(v)
    };
    let each = |ids: Vec<String>, what: &str, f: &dyn Fn(&str) -> std::io::Result<Done>| -> u8 {
        if ids.is_empty() {
            eprintln!("router deferred {what}: no message named (give ids, or --reason KIND)");
            return exit::USAGE;
        }
        let mut code = exit::OK;
        for id in &ids {
            match f(id) {
                Ok(Done::Done) => println!("{id}: {what}d"),
                Ok(Done::Missing) => {
                    eprintln!("router deferred {what}: {id}: no such parked message");
                    code = exit::DATAERR;
                }
                Ok(Done::Conflict) => {
                    eprintln!("router deferred {what}: {id}: router/{id} exists; left as it is");
                    code = exit::DATAERR;
                }
                Err(e) => {
                    eprintln!("router deferred {what}: {id}: {e}");
                    return exit::TEMPFAIL;
                }
            }
        }
        code
    };
    match action {
        DeferredCmd::List { reason } => match admin::list(&po, reason.as_deref(), &mut out) {
            Ok(_) => exit::OK,
            Err(e) => io_err(e),
        },
        DeferredCmd::Show { id } => match admin::show(&po, &id, &mut out) {
            Ok(true) => exit::OK,
            Ok(false) => {
                eprintln!("router deferred show: {id}: no such parked message");
                exit::DATAERR
            }
            Err(e) => io_err(e),
        },
        DeferredCmd::Release { ids, reason } => match select(ids, reason) {
            Ok(ids) => each(ids, "release", &|id| admin::release(&po, id)),
            Err(e) => io_err(e),
        },
        DeferredCmd::Remove { ids, reason } => match select(ids, reason) {
            Ok(ids) => each(ids, "remove", &|id| admin::remove(&po, id)),
            Err(e) => io_err(e),
        },
    }
}

/// Opens the postoffice for `router <cmd>`; a fault is said on stderr and is EX_TEMPFAIL.
fn open_po(path: &std::path::Path, cmd: &str) -> Result<router::postoffice::Postoffice, u8> {
    router::postoffice::Postoffice::open(path).map_err(|e| {
        eprintln!("router {cmd}: {e}");
        exit::TEMPFAIL
    })
}

/// `router man DIR`: router.1 and one page per command (clap_mangen).
fn write_man_pages(dir: &std::path::Path) -> std::io::Result<usize> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir)?;
    let cmd = Cli::command();
    let mut n = 0;
    let mut write = |name: String, c: clap::Command| -> std::io::Result<()> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        std::fs::write(dir.join(format!("{name}.1")), buf)?;
        n += 1;
        Ok(())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("router-{}", sub.get_name());
        write(name.clone(), sub.clone().name(name))?;
    }
    write("router".into(), cmd)?;
    Ok(n)
}
