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
    let _ = (&cli.config, &cli.postoffice);
    let code = match cli.command {
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
