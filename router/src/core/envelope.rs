//! The envelope: reading router input (`router/<id>`) and writing channel output
//! (`queue/<channel>/<id>`), both ZMailer's `keyword SP value` lines up to `env-end` (SPEC
//! section 3). LF and CRLF line ends are accepted.
//!
//! Limits: `ENVELOPE_BYTES_MAX` (the envelope, up to and including `env-end`),
//! `ENVELOPE_LINE_BYTES_MAX`, `ENVELOPE_RECIPIENTS_MAX`. Faults are [`EnvelopeError`]s with the byte
//! offset; their reason kinds are `malformed-envelope` and `too-many-recipients`.
//! Unknown keywords are kept, in order, and passed on to every output.

use crate::limits::{ENVELOPE_BYTES_MAX, ENVELOPE_LINE_BYTES_MAX, ENVELOPE_RECIPIENTS_MAX};
use crate::reason::ParkReason;

/// A parsed envelope, borrowing the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The `from` value as written (`<alice@example.org>`, `<>`).
    pub from: &'a str,
    /// The `to` values as written, in order.
    pub to: Vec<&'a str>,
    /// Other lines (`keyword value`), in order, passed on.
    pub extra: Vec<&'a str>,
    /// Where the RFC 822 message starts.
    pub message_offset: usize,
}

/// Why an envelope was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("no env-end line within {limit} bytes")]
    NoEnd { limit: usize },
    #[error("envelope line over {limit} bytes at byte {offset}")]
    LineTooLong { offset: usize, limit: usize },
    #[error("envelope line is not `keyword value` at byte {offset}")]
    BadLine { offset: usize },
    #[error("no `from` line")]
    NoFrom,
    #[error("more than one `from` line at byte {offset}")]
    TwoFroms { offset: usize },
    #[error("more than {limit} recipients at byte {offset}")]
    TooManyRecipients { offset: usize, limit: usize },
    #[error("envelope keyword reserved for the channel output (id, channel, rcpt, error) at byte {offset}")]
    Reserved { offset: usize },
}

impl EnvelopeError {
    /// The offset of the fault in the input, where there is one.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            EnvelopeError::LineTooLong { offset, .. }
            | EnvelopeError::BadLine { offset }
            | EnvelopeError::TwoFroms { offset }
            | EnvelopeError::TooManyRecipients { offset, .. }
            | EnvelopeError::Reserved { offset } => Some(offset),
            EnvelopeError::NoEnd { .. } | EnvelopeError::NoFrom => None,
        }
    }

    /// Why the message is parked: `too-many-recipients` for the recipient cap,
    /// `malformed-envelope` for the rest.
    pub fn park_reason(&self) -> ParkReason {
        match *self {
            EnvelopeError::TooManyRecipients { offset, limit } => {
                ParkReason::TooManyRecipients { offset, limit }
            }
            EnvelopeError::NoEnd { limit } | EnvelopeError::LineTooLong { limit, .. } => {
                ParkReason::MalformedEnvelope {
                    detail: self.to_string(),
                    offset: self.offset(),
                    limit: Some(limit),
                }
            }
            EnvelopeError::BadLine { .. }
            | EnvelopeError::NoFrom
            | EnvelopeError::TwoFroms { .. }
            | EnvelopeError::Reserved { .. } => ParkReason::MalformedEnvelope {
                detail: self.to_string(),
                offset: self.offset(),
                limit: None,
            },
        }
    }
}

/// Keywords of the channel output format that an input envelope may not carry.
const RESERVED: [&str; 4] = ["id", "channel", "rcpt", "error"];

/// Parses the router input envelope at the start of `msg` (`router/<id>`): the channel
/// output's own keywords are refused.
pub fn parse(msg: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    parse_as(msg, false)
}

/// Parses a channel output's envelope (`queue/<channel>/<id>`), as its agent reads it: the
/// same lines, with `id`, `channel`, `rcpt` and `error` among the passed-on keywords.
pub fn parse_output(msg: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    parse_as(msg, true)
}

fn parse_as(msg: &[u8], output: bool) -> Result<Envelope<'_>, EnvelopeError> {
    let mut env = Envelope {
        from: "",
        to: Vec::new(),
        extra: Vec::new(),
        message_offset: 0,
    };
    let mut have_from = false;
    let mut pos = 0;
    loop {
        if pos >= ENVELOPE_BYTES_MAX || pos >= msg.len() {
            return Err(EnvelopeError::NoEnd {
                limit: ENVELOPE_BYTES_MAX,
            });
        }
        let rest = &msg[pos..];
        let window = &rest[..rest.len().min(ENVELOPE_LINE_BYTES_MAX + 2)];
        let Some(lf) = memchr::memchr(b'\n', window) else {
            if window.len() > ENVELOPE_LINE_BYTES_MAX {
                return Err(EnvelopeError::LineTooLong {
                    offset: pos,
                    limit: ENVELOPE_LINE_BYTES_MAX,
                });
            }
            return Err(EnvelopeError::NoEnd {
                limit: ENVELOPE_BYTES_MAX,
            });
        };
        let mut line = &rest[..lf];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.len() > ENVELOPE_LINE_BYTES_MAX {
            return Err(EnvelopeError::LineTooLong {
                offset: pos,
                limit: ENVELOPE_LINE_BYTES_MAX,
            });
        }
        let line_start = pos;
        pos += lf + 1;
        // A control character in an envelope line (a stray CR, a NUL) would be written into
        // every output and change what the next reader sees (found by fuzzing: `from <>\r\r\n`).
        if let Some(i) = line.iter().position(|&b| b < 0x20 || b == 0x7f) {
            return Err(EnvelopeError::BadLine {
                offset: line_start + i,
            });
        }
        let line =
            std::str::from_utf8(line).map_err(|_| EnvelopeError::BadLine { offset: line_start })?;
        if line == "env-end" {
            env.message_offset = pos;
            break;
        }
        let (kw, value) = line
            .split_once(' ')
            .ok_or(EnvelopeError::BadLine { offset: line_start })?;
        if kw.is_empty()
            || !kw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || value.is_empty()
        {
            return Err(EnvelopeError::BadLine { offset: line_start });
        }
        match kw {
            "from" if have_from => return Err(EnvelopeError::TwoFroms { offset: line_start }),
            "from" => {
                env.from = value;
                have_from = true;
            }
            "to" => {
                if env.to.len() == ENVELOPE_RECIPIENTS_MAX {
                    return Err(EnvelopeError::TooManyRecipients {
                        offset: line_start,
                        limit: ENVELOPE_RECIPIENTS_MAX,
                    });
                }
                env.to.push(value);
            }
            // The channel output's own keywords: passed on, one would give the agent an id, a
            // channel, a recipient or an error the router never chose.
            _ if !output && RESERVED.iter().any(|r| kw.eq_ignore_ascii_case(r)) => {
                return Err(EnvelopeError::Reserved { offset: line_start })
            }
            _ => env.extra.push(line),
        }
    }
    if !have_from {
        return Err(EnvelopeError::NoFrom);
    }
    Ok(env)
}

/// Writes router input (`router/<id>`): `from <sender>`, one `to <recipient>` per recipient,
/// `env-end`, the message. The reader above is its inverse.
pub fn write_input(out: &mut Vec<u8>, from: &str, to: &[&str], message: &[u8]) {
    use std::io::Write;
    let _ = writeln!(out, "from {from}");
    for t in to {
        let _ = writeln!(out, "to {t}");
    }
    out.extend_from_slice(b"env-end\n");
    out.extend_from_slice(message);
}

/// One recipient of a channel output: the next hop (`-` for none) and the address as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rcpt {
    pub host: String,
    pub address: String,
    /// For the `error` channel: why it cannot be routed.
    pub error: Option<String>,
}

/// Writes a channel output file: `id`, `channel`, `from`, one `rcpt host address` per
/// recipient (and `error address reason` after it on the error channel), the passed-on
/// keywords, `env-end`, the message.
///
/// It never writes what the reader above would refuse: a `rcpt` or `error` line over
/// `ENVELOPE_LINE_BYTES_MAX` (line end excluded) is `Err` with its length, and `out` is then
/// incomplete; the caller parks the message (found by fuzzing: a 4 KB unparseable recipient
/// became a `rcpt` and an `error` line of over 4 KB on the error channel). The other lines
/// are within the limit by construction: `from` and the passed-on keywords are input lines
/// read under the same limit.
pub fn write_output(
    out: &mut Vec<u8>,
    id: &str,
    channel: &str,
    env: &Envelope<'_>,
    rcpts: &[Rcpt],
    message: &[u8],
) -> Result<(), usize> {
    use std::io::Write;
    let _ = writeln!(out, "id {id}");
    let _ = writeln!(out, "channel {channel}");
    let _ = writeln!(out, "from {}", env.from);
    let fits = |out: &Vec<u8>, start: usize| match out.len() - start - 1 {
        n if n > ENVELOPE_LINE_BYTES_MAX => Err(n),
        _ => Ok(()),
    };
    for r in rcpts {
        let start = out.len();
        let _ = writeln!(out, "rcpt {} {}", r.host, r.address);
        fits(out, start)?;
        if let Some(e) = &r.error {
            let start = out.len();
            let _ = writeln!(out, "error {} {}", r.address, e);
            fits(out, start)?;
        }
    }
    for x in &env.extra {
        let _ = writeln!(out, "{x}");
    }
    out.extend_from_slice(b"env-end\n");
    out.extend_from_slice(message);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example() {
        let m = b"from <alice@example.org>\nto <bob@example.net>\nto <carol@example.com>\nenv-end\nFrom: A\n\nbody\n";
        let e = parse(m).unwrap();
        assert_eq!(e.from, "<alice@example.org>");
        assert_eq!(e.to, vec!["<bob@example.net>", "<carol@example.com>"]);
        assert_eq!(&m[e.message_offset..], b"From: A\n\nbody\n");
    }

    #[test]
    fn crlf_unknown_keywords_and_null_sender() {
        let m = b"from <>\r\nx-trace abc def\r\nto <b@c.d>\r\nenv-end\r\nmsg";
        let e = parse(m).unwrap();
        assert_eq!((e.from, e.extra.clone()), ("<>", vec!["x-trace abc def"]));
        assert_eq!(&m[e.message_offset..], b"msg");
    }

    #[test]
    fn faults() {
        assert_eq!(parse(b"to <a@b>\nenv-end\n"), Err(EnvelopeError::NoFrom));
        assert_eq!(
            parse(b"from <a@b>\nto <x>\n"),
            Err(EnvelopeError::NoEnd {
                limit: ENVELOPE_BYTES_MAX
            })
        );
        assert_eq!(
            parse(b"from <a@b>\nbogus\nenv-end\n"),
            Err(EnvelopeError::BadLine { offset: 11 })
        );
        assert_eq!(
            parse(b"from <a@b>\nfrom <c@d>\nenv-end\n"),
            Err(EnvelopeError::TwoFroms { offset: 11 })
        );
        let long = format!("from <{}>\nenv-end\n", "a".repeat(ENVELOPE_LINE_BYTES_MAX));
        assert!(matches!(
            parse(long.as_bytes()),
            Err(EnvelopeError::LineTooLong { offset: 0, .. })
        ));
    }

    #[test]
    fn control_characters_in_a_line_are_refused() {
        // Found by fuzzing: the value kept a CR, which the output would not have carried.
        assert_eq!(
            parse(b"from <>\r\r\nenv-end\r\nmsg"),
            Err(EnvelopeError::BadLine { offset: 7 })
        );
        assert_eq!(
            parse(b"from <a@b>\nto <c\0@d>\nenv-end\n"),
            Err(EnvelopeError::BadLine { offset: 16 })
        );
        assert_eq!(
            parse(b"from <a@b>\tx\nenv-end\n"),
            Err(EnvelopeError::BadLine { offset: 10 })
        );
    }

    #[test]
    fn recipients_at_the_limit_and_one_past() {
        let mk = |n: usize| {
            let mut m = b"from <a@b.c>\n".to_vec();
            for _ in 0..n {
                m.extend_from_slice(b"to <x@y.z>\n");
            }
            m.extend_from_slice(b"env-end\n");
            m
        };
        assert_eq!(
            parse(&mk(ENVELOPE_RECIPIENTS_MAX)).map(|e| e.to.len()),
            Ok(ENVELOPE_RECIPIENTS_MAX)
        );
        assert!(matches!(
            parse(&mk(ENVELOPE_RECIPIENTS_MAX + 1)),
            Err(EnvelopeError::TooManyRecipients { .. })
        ));
    }

    #[test]
    fn the_outputs_own_keywords_are_refused_in_any_case() {
        for kw in ["id", "channel", "rcpt", "error", "RCPT", "Channel"] {
            let m = format!("from <a@b>\n{kw} x y\nto <c@d>\nenv-end\n");
            assert_eq!(
                parse(m.as_bytes()),
                Err(EnvelopeError::Reserved { offset: 11 }),
                "{kw}"
            );
        }
        assert!(parse(b"from <a@b>\nx-id 1\nenv-end\n").is_ok());
    }
}
