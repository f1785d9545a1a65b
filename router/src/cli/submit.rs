//! `router submit` (also `sendmail`): read a message on stdin, give it an envelope, and
//! publish it into `router/`. Returns once the message is safely there; never waits for
//! routing (G4).

use std::io::Read;

use super::{exit, Globals};
use router::spool::submit::{publish, Dropbox};

#[derive(clap::Args)]
pub struct Args {
    /// Envelope sender (`<>` for none).
    #[arg(short = 'f', value_name = "SENDER")]
    from: Option<String>,
    /// Take the recipients from the To, Cc and Bcc headers (Bcc is removed from the copies
    /// when the router routes the message); give no recipient arguments with it.
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
    let ignore_dots = a.ignore_dots || a.options.iter().any(|o| o == "i");
    let c = g.config()?;
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
    let sender = a.from.unwrap_or_else(|| {
        std::env::var("USER")
            .map(|u| format!("{u}@localhost"))
            .unwrap_or_else(|_| "<>".into())
    });
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
    let to: Vec<String> = a.recipients.iter().map(|r| bracketed(r)).collect();
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
}
