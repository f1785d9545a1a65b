//! ZMailer's router input envelope (`po/router/<inode>`), as its smtpserver, its `sendmail`,
//! its scheduler (DSNs, bounces) and its hold and errormail agents write it (ZMailer 3.0.1,
//! router/libdb/header.c:97-119, router/rfc822.c:340-400, 2013-2030).
//!
//! Lines are `keyword<SP or TAB>value`. The envelope ends at `env-end` or `env-eof`, or at the
//! first line that looks like a header field (`Name:`), because `env-end` is optional. Known
//! keywords and what they mean here:
//!
//! | keyword | meaning |
//! |---|---|
//! | `from`, `user` | the envelope sender (`user` only when there is no `from`) |
//! | `channel error` | the null sender (a bounce or a DSN); any other channel is refused |
//! | `to` | a recipient |
//! | `todsn` | the DSN parameters of the **next** `to` (`NOTIFY=`, `ORCPT=`, ...), passed on raw |
//! | `envid`, `notaryret` | the message's DSN `ENVID` and `RET`, passed on raw |
//! | `rcvdfrom` | the client, for the `Received:` field; the last one wins |
//! | `with`, `via` | the protocol and path, for the `Received:` field |
//! | `errormsg` | this message is itself an error report |
//! | `external`, `comment`, `identinfo`, `authinfo`, `bodytype`, `fullname`, `loginname`, `verbose` | accepted, not used |
//!
//! An unknown keyword is a bad submission (ZMailer moves such a file to `postman/`): here it
//! is [`EnvelopeError::BadLine`], and the message is parked as `malformed-envelope`. The same
//! limits as the router's own envelope hold: `ENVELOPE_BYTES_MAX`, `ENVELOPE_LINE_BYTES_MAX`,
//! `ENVELOPE_RECIPIENTS_MAX`; a control byte other than the TAB separator is refused.

use super::envelope::EnvelopeError;
use crate::limits::{ENVELOPE_BYTES_MAX, ENVELOPE_LINE_BYTES_MAX, ENVELOPE_RECIPIENTS_MAX};

/// One recipient and the DSN parameters bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZRcpt<'a> {
    /// The address as written (`<bob@example.net>`, `<nobody>`, `root`).
    pub address: &'a str,
    /// The `todsn` line before it, raw (`NOTIFY=... ORCPT=...`).
    pub dsn: Option<&'a str>,
}

/// A parsed ZMailer envelope, borrowing the message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZEnvelope<'a> {
    /// The sender as written; `None` for the null sender (`channel error`, or `from <>`).
    pub from: Option<&'a str>,
    pub to: Vec<ZRcpt<'a>>,
    pub rcvdfrom: Option<&'a str>,
    pub with: Option<&'a str>,
    pub via: Option<&'a str>,
    pub envid: Option<&'a str>,
    pub notaryret: Option<&'a str>,
    pub errormsg: bool,
    /// Where the RFC 822 header starts.
    pub message_offset: usize,
}

/// The keywords ZMailer's router knows (header.c:97-119).
const KNOWN: [&str; 21] = [
    "authinfo",
    "bodytype",
    "channel",
    "comment",
    "env-end",
    "env-eof",
    "envid",
    "errormsg",
    "external",
    "from",
    "fullname",
    "identinfo",
    "loginname",
    "notaryret",
    "rcvdfrom",
    "to",
    "todsn",
    "user",
    "verbose",
    "via",
    "with",
];

/// True if `line` looks like the first line of a header field: a field name and a colon.
fn is_header_line(line: &[u8]) -> bool {
    match memchr::memchr(b':', line) {
        Some(0) | None => false,
        Some(i) => line[..i].iter().all(|&b| b.is_ascii_graphic()),
    }
}

/// The line at `pos` (without its LF or CRLF) and where the next one starts, within the line
/// limit.
fn next_line(msg: &[u8], pos: usize) -> Result<(&[u8], usize), EnvelopeError> {
    let rest = &msg[pos..];
    let window = &rest[..rest.len().min(ENVELOPE_LINE_BYTES_MAX + 2)];
    let (mut line, next) = match memchr::memchr(b'\n', window) {
        Some(lf) => (&rest[..lf], pos + lf + 1),
        None if window.len() > ENVELOPE_LINE_BYTES_MAX => {
            return Err(EnvelopeError::LineTooLong {
                offset: pos,
                limit: ENVELOPE_LINE_BYTES_MAX,
            })
        }
        None => (rest, msg.len()),
    };
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    if line.len() > ENVELOPE_LINE_BYTES_MAX {
        return Err(EnvelopeError::LineTooLong {
            offset: pos,
            limit: ENVELOPE_LINE_BYTES_MAX,
        });
    }
    Ok((line, next))
}

/// Parses the envelope at the start of `msg`.
pub fn parse(msg: &[u8]) -> Result<ZEnvelope<'_>, EnvelopeError> {
    let mut env = ZEnvelope::default();
    let mut have_sender = false;
    let mut user = None;
    let mut pending_dsn = None;
    let mut pos = 0;
    loop {
        if pos >= ENVELOPE_BYTES_MAX {
            return Err(EnvelopeError::NoEnd {
                limit: ENVELOPE_BYTES_MAX,
            });
        }
        if pos >= msg.len() {
            // An envelope with no header and no body: the file ends in the envelope.
            env.message_offset = msg.len();
            break;
        }
        let (line, next) = next_line(msg, pos)?;
        let start = pos;
        if line.is_empty() || is_header_line(line) {
            // The header starts here (env-end is optional); an empty line is an empty header.
            env.message_offset = start;
            break;
        }
        pos = next;
        if let Some(i) = line
            .iter()
            .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(EnvelopeError::BadLine { offset: start + i });
        }
        let line =
            std::str::from_utf8(line).map_err(|_| EnvelopeError::BadLine { offset: start })?;
        let (kw, value) = match line.find([' ', '\t']) {
            Some(i) => (&line[..i], line[i + 1..].trim_matches([' ', '\t'])),
            None => (line, ""),
        };
        if !KNOWN.contains(&kw) {
            return Err(EnvelopeError::BadLine { offset: start });
        }
        match kw {
            "env-end" | "env-eof" => {
                env.message_offset = pos;
                break;
            }
            "from" if have_sender => return Err(EnvelopeError::TwoFroms { offset: start }),
            "from" => {
                have_sender = true;
                env.from = (value != "<>" && !value.is_empty()).then_some(value);
            }
            "channel" if value == "error" => {
                if have_sender {
                    return Err(EnvelopeError::TwoFroms { offset: start });
                }
                have_sender = true;
                env.from = None;
            }
            "channel" => return Err(EnvelopeError::BadLine { offset: start }),
            "user" => user = Some(value),
            "to" if value.is_empty() => return Err(EnvelopeError::BadLine { offset: start }),
            "to" => {
                if env.to.len() == ENVELOPE_RECIPIENTS_MAX {
                    return Err(EnvelopeError::TooManyRecipients {
                        offset: start,
                        limit: ENVELOPE_RECIPIENTS_MAX,
                    });
                }
                env.to.push(ZRcpt {
                    address: value,
                    dsn: pending_dsn.take(),
                });
            }
            "todsn" => pending_dsn = Some(value),
            "rcvdfrom" => env.rcvdfrom = Some(value),
            "with" => env.with = Some(value),
            "via" => env.via = Some(value),
            "envid" => env.envid = Some(value),
            "notaryret" => env.notaryret = Some(value),
            "errormsg" => env.errormsg = true,
            _ => {}
        }
    }
    if !have_sender {
        match user {
            Some(u) if !u.is_empty() => env.from = Some(u),
            _ => return Err(EnvelopeError::NoFrom),
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example input of ../shared/interop/zmailer/README.md, as smtpserver wrote it.
    const SMTPSERVER: &str = "external\nrcvdfrom localhost ([127.0.0.1]:40064 \"ehlo client.example\" rhost-flags-OK-OK-OK-FAIL)\ncomment localhost [127.0.0.1]:40064 \"ehlo client.example\" smtp-auth: <none> rhost-flags-OK-OK-OK-FAIL)\nwith ESMTP\nfrom <root@zm.test>\nenvid 6b0d054666c0-2\nnotaryret FULL\ntodsn NOTIFY=FAILURE,DELAY ORCPT=rfc822;postmaster@zm.test INRCPT=rfc822;postmaster@zm.test INFROM=rfc822;root@zm.test\nto <postmaster@zm.test>\ntodsn NOTIFY=FAILURE,DELAY ORCPT=rfc822;carol@sink.test\nto <carol@sink.test>\nenv-end\nFrom: \"ZM test\" <root@zm.test>\n\nbody\n";

    #[test]
    fn what_smtpserver_writes() {
        let e = parse(SMTPSERVER.as_bytes()).unwrap();
        assert_eq!(e.from, Some("<root@zm.test>"));
        assert_eq!(e.with, Some("ESMTP"));
        assert_eq!(e.envid, Some("6b0d054666c0-2"));
        assert_eq!(e.notaryret, Some("FULL"));
        assert!(e
            .rcvdfrom
            .unwrap()
            .starts_with("localhost ([127.0.0.1]:40064"));
        assert_eq!(e.to.len(), 2);
        assert_eq!(e.to[1].address, "<carol@sink.test>");
        assert_eq!(
            e.to[1].dsn,
            Some("NOTIFY=FAILURE,DELAY ORCPT=rfc822;carol@sink.test")
        );
        assert!(SMTPSERVER[e.message_offset..].starts_with("From: \"ZM test\""));
    }

    #[test]
    fn what_the_scheduler_writes_for_a_dsn() {
        let m = "rcvdfrom STDIN (\"??\"@vm)\nchannel error\nerrormsg\ntodsn ORCPT=rfc822;root@zm.test\nto <root@zm.test>\ntodsn ORCPT=rfc822;nobody\nto <nobody>\nenv-end\nTo: root@zm.test\nSender:\tmailer-daemon\n\nx\n";
        let e = parse(m.as_bytes()).unwrap();
        assert_eq!((e.from, e.errormsg), (None, true));
        assert_eq!(e.to[1].address, "<nobody>");
        assert_eq!(e.to[1].dsn, Some("ORCPT=rfc822;nobody"));
    }

    #[test]
    fn a_todsn_binds_to_the_next_to_only() {
        let e = parse(b"from <a@b>\ntodsn NOTIFY=NEVER\nto <x@y>\nto <z@y>\nenv-end\n").unwrap();
        assert_eq!(e.to[0].dsn, Some("NOTIFY=NEVER"));
        assert_eq!(e.to[1].dsn, None);
    }

    #[test]
    fn env_end_is_optional_and_tabs_separate() {
        let m = b"from\t<a@b>\r\nto\t<c@d>\r\nSubject: x\r\n\r\nbody";
        let e = parse(m).unwrap();
        assert_eq!((e.from, e.to[0].address), (Some("<a@b>"), "<c@d>"));
        assert_eq!(&m[e.message_offset..e.message_offset + 8], b"Subject:");
        // `env-eof`, and a file that ends in its envelope.
        assert_eq!(
            parse(b"from <a@b>\nto <c@d>\nenv-eof\n")
                .unwrap()
                .message_offset,
            28
        );
        assert_eq!(parse(b"from <a@b>\nto <c@d>").unwrap().message_offset, 19);
    }

    #[test]
    fn faults_are_typed_with_offsets() {
        // An unknown keyword is a bad submission.
        assert_eq!(
            parse(b"from <a@b>\nbogus x\nenv-end\n"),
            Err(EnvelopeError::BadLine { offset: 11 })
        );
        assert_eq!(
            parse(b"from <a@b>\nchannel smtp\nenv-end\n"),
            Err(EnvelopeError::BadLine { offset: 11 })
        );
        assert_eq!(parse(b"to <a@b>\nenv-end\n"), Err(EnvelopeError::NoFrom));
        assert_eq!(
            parse(b"from <a@b>\nchannel error\nenv-end\n"),
            Err(EnvelopeError::TwoFroms { offset: 11 })
        );
        assert_eq!(
            parse(b"from <a@b>\nto <c\x00@d>\nenv-end\n"),
            Err(EnvelopeError::BadLine { offset: 16 })
        );
        let long = format!("from <{}>\nenv-end\n", "a".repeat(ENVELOPE_LINE_BYTES_MAX));
        assert!(matches!(
            parse(long.as_bytes()),
            Err(EnvelopeError::LineTooLong { offset: 0, .. })
        ));
        let many = format!(
            "from <a@b>\n{}env-end\n",
            "to <x@y>\n".repeat(ENVELOPE_RECIPIENTS_MAX + 1)
        );
        assert!(matches!(
            parse(many.as_bytes()),
            Err(EnvelopeError::TooManyRecipients { .. })
        ));
        // `user` stands for a missing `from` (ZMailer's compat sendmail).
        assert_eq!(
            parse(b"user joe\nto <a@b>\nenv-end\n").unwrap().from,
            Some("joe")
        );
    }

    #[test]
    fn the_envelope_cap_holds_without_an_end() {
        let m = "comment x\n".repeat(ENVELOPE_BYTES_MAX / 10 + 2);
        let m = format!("from <a@b>\n{m}");
        assert!(matches!(
            parse(m.as_bytes()),
            Err(EnvelopeError::NoEnd { .. })
        ));
    }
}
