//! `router man DIR`: router.1 and one page per command (clap_mangen).

use std::path::Path;

use super::{exit, Cli};

pub fn run(dir: &Path) -> u8 {
    match write_man_pages(dir) {
        Ok(n) => {
            println!("{n} man pages in {}", dir.display());
            exit::OK
        }
        Err(e) => {
            eprintln!("router man: {}: {e}", dir.display());
            exit::CANTCREAT
        }
    }
}

fn write_man_pages(dir: &Path) -> std::io::Result<usize> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir)?;
    let cmd = Cli::command();
    let mut n = 0;
    let pages: Vec<String> = std::iter::once("router".to_string())
        .chain(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("router-{}", s.get_name())),
        )
        .collect();
    let mut write = |name: String, c: clap::Command| -> std::io::Result<()> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        buf.extend_from_slice(epilogue(&name, &pages).as_bytes());
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

/// The sections clap does not write: FILES, EXIT STATUS, SIGNALS (for the pages of commands
/// that take signals), SEE ALSO (every other page, and the formats it reads).
fn epilogue(name: &str, pages: &[String]) -> String {
    let mut t = String::from(FILES_AND_STATUS);
    if name == "router" || name == "router-run" {
        t.push_str(SIGNALS);
    }
    t.push_str(".SH \"SEE ALSO\"\n");
    let mut refs: Vec<String> = pages
        .iter()
        .filter(|p| p.as_str() != name)
        .map(|p| format!(".BR {p} (1)"))
        .collect();
    refs.extend(
        [
            "sendmail (8)",
            "aliases (5)",
            "transport (5)",
            "sysexits (3)",
            "systemd.service (5)",
        ]
        .map(|r| format!(".BR {r}")),
    );
    t.push_str(&refs.join(",\n"));
    t.push('\n');
    t
}

const FILES_AND_STATUS: &str = r#".SH FILES
.TP
.I /etc/router/router.toml
The configuration (\fB-c\fR, \fB$ROUTER_CONFIG\fR). Relative paths in it are the file's.
.TP
.I /var/spool/postoffice
The postoffice (\fBpostoffice\fR, \fB-p\fR): \fIpublic/\fR and \fIrouter/\fR take new mail,
\fIwork/\fR holds what is being routed, \fIqueue/<channel>/\fR what the delivery agents take,
\fIdeferred/\fR parked messages with their \fI.reason\fR files.
.TP
.I aliases, transport
The routing tables the configuration names (aliases(5), transport(5) formats).
.SH "EXIT STATUS"
.TP
.B 0
Done.
.TP
.B 64
Usage: a bad option or argument (EX_USAGE).
.TP
.B 65
Bad input data, such as \fB-t\fR with no recipient (EX_DATAERR).
.TP
.B 70
An internal error (EX_SOFTWARE).
.TP
.B 71
A limit, a thread or a signal handler could not be had (EX_OSERR).
.TP
.B 73
A file or directory could not be created (EX_CANTCREAT).
.TP
.B 74
An I/O error on a stream (EX_IOERR).
.TP
.B 75
Try again later: the spool is unavailable or full (EX_TEMPFAIL).
.TP
.B 77
Not allowed: not in the postoffice's group (EX_NOPERM).
.TP
.B 78
The configuration or a table is missing or wrong (EX_CONFIG).
"#;

const SIGNALS: &str = r#".SH SIGNALS
.TP
.B SIGTERM, SIGINT
\fBrouter run\fR stops taking new messages, lets the workers finish the one they are on, and
exits; whatever is cut short is finished or undone by the next start (nothing is lost).
.TP
.B SIGHUP
Reload the configuration and tables; a configuration that does not load is refused and the
old one kept.
.TP
.B SIGKILL
Loses nothing: the next start recovers what was in \fIwork/\fR.
"#;
