//! `router submit` (also `sendmail`): read a message on stdin, give it an envelope, and
//! publish it into `router/`. Returns once the message is safely there; never waits for
//! routing (G4).

use std::io::Read;

use super::{exit, Globals};
use router::spool::submit::{publish, Dropbox};

#[derive(clap::Args)]
pub struct Args {
    /// Envelope sender (`<>` for none). Default: the invoking user at the origin domain.
    #[arg(short = 'f', value_name = "SENDER")]
    from: Option<String>,
    /// The same as -f (older sendmail).
    #[arg(short = 'r', value_name = "SENDER", conflicts_with = "from")]
    from_r: Option<String>,
    /// Take the recipients from the To, Cc and Bcc headers (Bcc is removed from the copies
    /// when the router routes the message); give no recipient arguments with it.
    #[arg(short = 't')]
    from_headers: bool,
    /// Do not treat a line with a single `.` as the end of the message.
    #[arg(short = 'i', visible_short_alias = 'I')]
    ignore_dots: bool,
    /// sendmail's -o options: `-oi` is -i; the others (`-oem`, `-odi`, `-odb`, ...) are
    /// accepted and have no effect here.
    #[arg(short = 'o', value_name = "OPTION")]
    options: Vec<String>,
    /// The sender's full name (cron passes `-FCronDaemon`): accepted, not used (the message's
    /// own From field is left as it is).
    #[arg(short = 'F', value_name = "NAME")]
    full_name: Option<String>,
    /// Body type (`-B8BITMIME`, `-B7BIT`): accepted; the router passes bodies unchanged.
    #[arg(short = 'B', value_name = "TYPE")]
    body_type: Option<String>,
    /// DSN notification (`-N never`, ...): accepted, not used.
    #[arg(short = 'N', value_name = "DSN")]
    notify: Option<String>,
    /// Verbose: accepted, no effect.
    #[arg(short = 'v')]
    verbose: bool,
    /// Mode: `-bm` (the default: read a message) is accepted; `-bp` lists the queue (as
    /// `mailq`: `router status`), `-bi` checks the aliases (as `newaliases`: `router check`);
    /// `-bs` (SMTP on stdin) and the others are refused with a line saying so.
    #[arg(short = 'b', value_name = "MODE")]
    mode: Option<String>,
    /// Recipients. A bare name (`root`) gets the origin domain.
    recipients: Vec<String>,
}

/// What `-b MODE` asks for.
pub enum Mode {
    Submit,
    ListQueue,
    CheckAliases,
}

impl Args {
    /// The mode asked for, or the line refusing it.
    pub fn mode(&self) -> Result<Mode, String> {
        match self.mode.as_deref() {
            None | Some("m") => Ok(Mode::Submit),
            Some("p") => Ok(Mode::ListQueue),
            Some("i") => Ok(Mode::CheckAliases),
            Some("s") => Err("-bs (SMTP on standard input) is not supported: hand mail to an SMTP server, or pipe the message to `sendmail RECIPIENT...`".into()),
            Some(m) => Err(format!("-b{m} is not supported (only -bm, -bp and -bi)")),
        }
    }
}

/// `address` with `@origin` added when it is a bare name (`root`, `<root>`); `<>` and
/// qualified addresses unchanged.
pub fn qualified(address: &str, origin: &str) -> String {
    let inner = address
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(address);
    if inner.is_empty() || inner.contains('@') {
        address.to_string()
    } else {
        format!("{inner}@{origin}")
    }
}

/// The name of the user this process runs as (the real uid, from /etc/passwd), else $USER or
/// $LOGNAME: the default sender's local part, as sendmail and Postfix take it.
fn invoking_user() -> Option<String> {
    let uid = rustix::process::getuid().as_raw();
    router::accounts::name_of(uid, std::path::Path::new(router::accounts::PASSWD))
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|u| !u.is_empty())
}

/// True if the header block of `message` names a recipient in To, Cc or Bcc (what `-t`
/// needs); a header that does not parse counts as none.
fn has_header_recipient(message: &[u8]) -> bool {
    let opts = mailaddr::Options::ROUTING;
    // One arena for the block and its fields: a submission parses one header, once.
    let arena = mailaddr::Arena::for_limits(&opts.limits);
    let Ok(block) = mailaddr::parse_header_block(message, &arena, &opts) else {
        return false;
    };
    block.fields.iter().any(|f| {
        f.address_field().is_some_and(|k| k.is_recipient())
            && f.parse_address_list(&arena, &opts)
                .is_ok_and(|l| l.mailboxes().next().is_some())
    })
}

/// sendmail's rule without `-i`: a line holding a single `.` ends the message; it and
/// everything after it are dropped.
pub fn end_at_dot_line(body: &mut Vec<u8>) {
    let mut pos = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        if line == b".\n" || line == b".\r\n" {
            break;
        }
        pos += line.len();
    }
    body.truncate(pos);
}

/// An address as an envelope value: in angle brackets, added if missing.
pub fn bracketed(address: &str) -> String {
    if address.starts_with('<') {
        address.to_string()
    } else {
        format!("<{address}>")
    }
}

pub fn run(g: &Globals<'_>, a: Args) -> Result<u8, u8> {
    match a.mode() {
        Ok(Mode::Submit) => {}
        Ok(Mode::ListQueue) => return super::status::run(g, false),
        Ok(Mode::CheckAliases) => return super::check::run(g),
        Err(why) => {
            eprintln!("router submit: {why}");
            return Ok(exit::USAGE);
        }
    }
    // Accepted for the callers that pass them (cron, mailers), with no effect here.
    let _ = (&a.full_name, &a.body_type, &a.notify, a.verbose);
    let ignore_dots = a.ignore_dots || a.options.iter().any(|o| o == "i");
    let c = g.config()?;
    let origin = c.routing.origin();
    let max = c.limits.message_bytes_max;
    let po = match Dropbox::open(&c.postoffice) {
        Ok(po) => po,
        Err(e) if router::spool::seam::is_denied(&e.source) => {
            // The administrator's decision, not a passing fault: retrying will not help.
            eprintln!(
                "router submit: {e}: you may not submit to this postoffice (its group may: see `ls -ld {}/public`, and docs/trust.md)",
                c.postoffice.display()
            );
            return Ok(exit::NOPERM);
        }
        Err(e) => {
            eprintln!("router submit: {e}");
            return Ok(exit::TEMPFAIL);
        }
    };
    if a.from_headers && !a.recipients.is_empty() {
        // sendmail 8 drops argument recipients under -t, Postfix adds them: ambiguous, so
        // refused rather than guessed.
        eprintln!("router submit: -t takes the recipients from To/Cc/Bcc; give no recipient arguments with it (sendmail and Postfix disagree on what they would mean)");
        return Ok(exit::USAGE);
    }
    if a.recipients.is_empty() && !a.from_headers {
        eprintln!("router submit: no recipients (give them as arguments, or use -t)");
        return Ok(exit::USAGE);
    }
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin()
        .lock()
        .take(max as u64 + 1)
        .read_to_end(&mut body)
    {
        eprintln!("router submit: reading stdin: {e}");
        return Ok(exit::IOERR);
    }
    if body.len() > max {
        eprintln!("router submit: message over {max} bytes (limits.max_message_bytes)");
        return Ok(exit::DATAERR);
    }
    if !ignore_dots {
        end_at_dot_line(&mut body);
    }
    if a.from_headers && !has_header_recipient(&body) {
        eprintln!("router submit: -t: no recipient in the To, Cc or Bcc fields of the message; nothing was queued");
        return Ok(exit::DATAERR);
    }
    let sender = match a.from.or(a.from_r) {
        Some(f) => qualified(&f, &origin),
        None => invoking_user().map_or_else(|| "<>".into(), |u| format!("{u}@{origin}")),
    };
    // A line end in the sender or a recipient would add lines to the envelope (injection);
    // any other control character would be parked later by the router: refused now, where
    // the caller can see it.
    if let Some(r) = std::iter::once(&sender)
        .chain(&a.recipients)
        .find(|r| r.chars().any(char::is_control))
    {
        eprintln!(
            "router submit: bad address {r:?} (line ends and other control characters are not allowed)"
        );
        return Ok(exit::USAGE);
    }
    let to: Vec<String> = a
        .recipients
        .iter()
        .map(|r| bracketed(&qualified(r, &origin)))
        .collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let mut msg = Vec::with_capacity(body.len() + 64 * (to.len() + 1));
    router::core::envelope::write_input(&mut msg, &bracketed(&sender), &to, &body);
    Ok(match publish(&po, &msg) {
        Ok(id) => {
            // Published: the message is the router's now, whatever happens to this line. A
            // failure to print it (stdout closed) must not make the caller submit it again;
            // and as `sendmail`, success is silent.
            if !g.as_sendmail {
                use std::io::Write;
                let _ = writeln!(std::io::stdout(), "{id}");
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("router submit: {e}");
            exit::TEMPFAIL
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_dot_ends_the_message_and_brackets_are_added_once() {
        let mut b = b"a\n.\nb\n".to_vec();
        end_at_dot_line(&mut b);
        assert_eq!(b, b"a\n");
        let mut b = b"a\n..\n.x\n".to_vec();
        end_at_dot_line(&mut b);
        assert_eq!(b, b"a\n..\n.x\n");
        assert_eq!(
            (bracketed("a@b"), bracketed("<a@b>")),
            ("<a@b>".into(), "<a@b>".into())
        );
    }

    #[test]
    fn bare_names_get_the_origin() {
        assert_eq!(qualified("root", "example.org"), "root@example.org");
        assert_eq!(qualified("<root>", "example.org"), "root@example.org");
        assert_eq!(qualified("a@b.c", "example.org"), "a@b.c");
        assert_eq!(qualified("<>", "example.org"), "<>");
        assert!(has_header_recipient(b"To: a@b.c\n\nx\n"));
        assert!(has_header_recipient(b"Subject: s\nBcc: x@y.z\n\nx\n"));
        assert!(!has_header_recipient(
            b"Subject: s\nTo: undisclosed-recipients:;\n\nx\n"
        ));
        assert!(!has_header_recipient(b"From: a@b.c\n\nx\n"));
    }
}
