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

#[derive(Parser)]
#[command(
    name = "router",
    version,
    about = "A hardened mail router for a spool directory"
)]
struct Cli {
    /// Configuration file.
    #[arg(
        short = 'c',
        long = "config",
        global = true,
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
    /// Route what is in router/ (and recover what dead routers left in work/).
    Run {
        /// Route what is there now and exit.
        #[arg(long)]
        once: bool,
        /// Local domains (their recipients go to the `local` channel).
        #[arg(long = "local-domain", value_name = "DOMAIN")]
        local_domains: Vec<String>,
        /// Remove unlocked files older than this many seconds from public/ (overrides
        /// limits.public_max_age).
        #[arg(long)]
        public_max_age: Option<u64>,
    },
    /// Parse address fields, one per line on stdin (`Name<TAB>value` or a bare list), and
    /// print one JSON object per line.
    Parse {
        /// Print a human diagnostic with a caret under each error instead of JSON.
        #[arg(long)]
        explain: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
    let code = match cli.command {
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
            let c = match config() {
                Ok(c) => c,
                Err(code) => return ExitCode::from(code),
            };
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
            once,
            local_domains,
            public_max_age,
        } => {
            let c = match config() {
                Ok(c) => c,
                Err(code) => return ExitCode::from(code),
            };
            let po = match router::postoffice::Postoffice::open(&c.postoffice) {
                Ok(po) => po,
                Err(e) => {
                    eprintln!("router run: {e}");
                    return ExitCode::from(exit::TEMPFAIL);
                }
            };
            let mut domains = c.routing.local_domains.clone();
            domains.extend(local_domains);
            let settings = router::runner::Settings {
                max_attempts: c.limits.max_attempts,
                max_message_bytes: c.limits.max_message_bytes,
                local_domains: domains,
                ..Default::default()
            };
            let max_age = public_max_age.unwrap_or(c.limits.public_max_age.as_secs());
            run_cmd(&po, &settings, once, max_age)
        }
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
    };
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
    let po = match router::postoffice::Postoffice::open(po) {
        Ok(po) => po,
        Err(e) => {
            eprintln!("router submit: {e}");
            return exit::TEMPFAIL;
        }
    };
    if from_headers {
        // Taking recipients from To/Cc/Bcc (and removing Bcc) comes with the routing work;
        // until then the router would park such a message, so it is refused here instead.
        eprintln!("router submit: -t (recipients from the headers) is not supported yet; give the recipients as arguments");
        return exit::UNAVAILABLE;
    }
    if recipients.is_empty() {
        eprintln!("router submit: no recipients");
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

fn run_cmd(
    po: &router::postoffice::Postoffice,
    s: &router::runner::Settings,
    once: bool,
    public_max_age: u64,
) -> u8 {
    let mut backoff_ms = 100u64;
    loop {
        if let Err(e) = router::reaper::reap_public(po, public_max_age) {
            eprintln!("router run: reaping public/: {e}");
        }
        match router::runner::run_once(po, s) {
            Ok(pass) => {
                for (id, chans) in &pass.routed {
                    println!("{id} routed to {}", chans.join(","));
                }
                for (id, why) in &pass.deferred {
                    println!("{id} deferred: {why}");
                }
                for n in &pass.bad_names {
                    eprintln!("router run: router/{n} is not a message id; left alone");
                }
                backoff_ms = 100;
                if once {
                    return exit::OK;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => {
                let full = router::fs::is_disk_full(&e);
                eprintln!(
                    "router run: spool {}: {e}; backing off {backoff_ms} ms",
                    if full { "full" } else { "I/O error" }
                );
                if once {
                    return exit::TEMPFAIL;
                }
                std::thread::sleep(std::time::Duration::from_millis(backoff_ms));
                backoff_ms = (backoff_ms * 2).min(30_000);
            }
        }
    }
}
