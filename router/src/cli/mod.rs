//! The command line: the arguments (clap), one module per command, and the only place where
//! an outcome becomes a `sysexits(3)` exit code ([`exit`]).
//!
//! Every command takes `-c/--config FILE` (default `/etc/router/router.toml`, also from
//! `$ROUTER_CONFIG`) and `-p/--postoffice DIR`, which overrides the configuration's
//! postoffice (SPEC section 6). Invoked as `sendmail` (a symlink), the arguments are
//! `router submit`'s.

mod check;
mod deferred;
mod demo;
pub mod exit;
mod init;
mod man;
mod parse;
mod run;
mod status;
mod submit;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use router::config::Config;
use router::spool::Postoffice;

#[derive(Parser)]
#[command(
    name = "router",
    version,
    about = "A hardened mail router for a spool directory"
)]
pub struct Cli {
    /// Configuration file (also from $ROUTER_CONFIG; default /etc/router/router.toml). A file
    /// named here must exist; the default may be missing when -p is given.
    #[arg(short = 'c', long = "config", global = true, env = "ROUTER_CONFIG")]
    config: Option<PathBuf>,
    /// Postoffice directory (overrides the configuration's).
    #[arg(short = 'p', long = "postoffice", global = true)]
    postoffice: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a postoffice (the directories of SPEC section 2) under DIR, with the owners and
    /// modes of the trust model whatever the umask.
    Init(init::Args),
    /// Submit a message from stdin (sendmail-compatible). Returns once it is safely in
    /// router/; never waits for routing.
    Submit(submit::Args),
    /// Route mail: a supervisor and worker processes (SPEC section 6). SIGTERM drains and
    /// exits; SIGHUP reloads the configuration and tables (a bad one is refused).
    Run(run::RunArgs),
    /// A worker process, started by `router run` (not for use by hand).
    #[command(hide = true)]
    Worker {
        #[command(flatten)]
        pass: run::PassArgs,
    },
    /// Build a demo postoffice in a temporary directory, feed it messages from corpus/,
    /// route them, and show where each went and why.
    Demo(demo::Args),
    /// Parked messages: list, show, release (route again), remove.
    Deferred {
        #[command(subcommand)]
        action: deferred::Action,
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
    Man { dir: PathBuf },
    /// Parse address fields from stdin, one per line (`Name<TAB>value` or a bare list); JSON
    /// lines out (SPEC section 4).
    Parse {
        /// Print a human diagnostic with a caret under each error instead of JSON.
        #[arg(long)]
        explain: bool,
    },
}

/// Runs the command line `args` (the program's name first); returns the exit code.
pub fn main(mut args: Vec<OsString>) -> u8 {
    // Every file and directory is made with an explicit mode (0640, 0700; docs/trust.md): a
    // fixed umask makes those the modes, whatever the caller's umask was (000 would make the
    // spool world-writable, 077 would keep the router from reading what a submitter wrote).
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o027));
    let invoked_as = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let as_sendmail = invoked_as.as_deref() == Some("sendmail");
    // The names a sendmail installation has: `sendmail` submits, `mailq` lists the queue,
    // `newaliases` checks the aliases (they are read at start and on SIGHUP, not compiled).
    match invoked_as.as_deref() {
        Some("sendmail") => args.insert(1, "submit".into()),
        Some("mailq") => args.insert(1, "status".into()),
        Some("newaliases") => args.insert(1, "check".into()),
        _ => {}
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    dispatch(cli, as_sendmail).unwrap_or_else(|code| code)
}

/// Each command gives its exit code; `Err` is an exit code from a step that refused (a
/// configuration that does not load, a postoffice that does not open), already explained on
/// stderr.
fn dispatch(cli: Cli, as_sendmail: bool) -> Result<u8, u8> {
    let g = Globals {
        config: cli.config.as_deref().unwrap_or(Path::new(DEFAULT_CONFIG)),
        config_explicit: cli.config.is_some(),
        postoffice: cli.postoffice.as_deref(),
        as_sendmail,
    };
    match cli.command {
        Command::Init(a) => Ok(init::run(a)),
        Command::Submit(a) => submit::run(&g, a),
        Command::Run(a) => run::run(&g, a),
        Command::Worker { pass } => run::worker(&g, pass),
        Command::Demo(a) => Ok(demo::run(a)),
        Command::Deferred { action } => deferred::run(&g, action),
        Command::Status { prometheus } => status::run(&g, prometheus),
        Command::Check => check::run(&g),
        Command::Man { dir } => Ok(man::run(&dir)),
        Command::Parse { explain } => Ok(parse::run(explain)),
    }
}

/// Where the configuration is when neither `-c` nor `$ROUTER_CONFIG` says.
pub const DEFAULT_CONFIG: &str = "/etc/router/router.toml";

/// The global options every command shares.
pub struct Globals<'a> {
    pub config: &'a Path,
    /// Named by `-c` or `$ROUTER_CONFIG`: then it must exist.
    pub config_explicit: bool,
    pub postoffice: Option<&'a Path>,
    /// Invoked as `sendmail`: `submit` is silent on success, as sendmail is.
    pub as_sendmail: bool,
}

impl Globals<'_> {
    /// The configuration, or EX_CONFIG with the reason on stderr.
    pub fn config(&self) -> Result<Config, u8> {
        Config::load(self.config, self.config_explicit, self.postoffice).map_err(|e| {
            eprintln!("router: {e}");
            exit::CONFIG
        })
    }
}

/// Opens the postoffice for `router <cmd>`; a fault is said on stderr and is EX_TEMPFAIL.
pub fn open_po(path: &Path, cmd: &str) -> Result<Postoffice, u8> {
    Postoffice::open(path).map_err(|e| {
        eprintln!("router {cmd}: {e}{}", init_hint(path));
        exit::TEMPFAIL
    })
}

/// What to do when there is no postoffice where the configuration says.
pub fn init_hint(path: &Path) -> String {
    if path.exists() {
        String::new()
    } else {
        format!(
            " (no postoffice there: create it with `router init {}`)",
            path.display()
        )
    }
}

/// The exit code for how a supervisor or worker ended.
pub fn ended_code(e: router::process::Ended) -> u8 {
    use router::process::Ended;
    match e {
        Ended::Done => exit::OK,
        Ended::SpoolFault => exit::TEMPFAIL,
        Ended::CannotStart => exit::OSERR,
    }
}
