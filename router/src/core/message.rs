//! One message, in memory: envelope and headers parsed, recipients routed, one output per
//! channel built, or the reason it must be parked. No files here (the runner does those), so
//! this is the routing hot path the benches measure.
//!
//! What is at stake decides what a header fault does (SPEC section 5):
//! - A cap or the arena exhausted in any field: parked, always (the hostile class).
//! - An interoperability length (a local part over 64, a domain over 255, a line over
//!   `line_bytes_max` inside the header block's cap): logged, never parked. A recipient the
//!   router routes with a long local part is routed; with an over-long domain it goes to
//!   `error` (see [`super::route`]).
//! - A syntax error in a field the router needs (To, Cc, Bcc when the envelope has no `to`
//!   line): parked with the error's kind.
//! - A syntax error elsewhere: routed with the headers untouched, the fault reported for the
//!   log; `header_errors = "defer"` parks these too.
//! - More `Received:` fields than `max_hops`: parked (`hop-limit`).
//!
//! Every address-bearing field is parsed (From, Sender, Reply-To, To, Cc, Bcc, the Resent-
//! fields, Return-Path), all inside the one arena the caller owns and this function resets.
//! With recipients from the headers, the Bcc fields are removed from the copies.

use std::ops::Range;

use mailaddr::{parse_header_block, AddressField, Arena, Options};

use super::envelope::{self, Rcpt};
use super::route::{Expansion, Routing};
use super::table::{TableError, TableSource};
use crate::config::{Config, HeaderErrors};
use crate::limits::{ENVELOPE_LINE_BYTES_MAX, HEADER_FAULTS_MAX};
use crate::reason::ParkReason;

/// Everything needed to route a message, built once from a configuration.
#[derive(Debug, Clone)]
pub struct Processor {
    pub routing: Routing,
    pub opts: Options,
    pub hops_max: usize,
    pub header_errors: HeaderErrors,
    /// ZMailer mode's settings (`[zmailer]`), when it is on.
    pub zmailer: Option<super::zmailer::Settings>,
}

/// A message's fate, with what the log line needs.
#[derive(Debug)]
pub struct Processed {
    pub outcome: Outcome,
    /// The envelope sender as written (empty when the envelope did not parse).
    pub from: String,
    /// The recipients as given (envelope `to` values, or the header addresses).
    pub rcpts: Vec<String>,
    /// Faults in fields the router did not need, logged and passed (`header_errors = "pass"`).
    pub header_faults: Vec<String>,
}

impl Processed {
    /// Notes a header fault for the log; past [`HEADER_FAULTS_MAX`] only that more were seen
    /// (a field of 8 192 addresses must not make 8 192 log lines).
    fn header_fault(&mut self, text: String) {
        match self.header_faults.len() {
            n if n < HEADER_FAULTS_MAX => self.header_faults.push(text),
            HEADER_FAULTS_MAX => self.header_faults.push(format!(
                "more than {HEADER_FAULTS_MAX} header faults; the rest not logged"
            )),
            _ => {}
        }
    }
}

#[derive(Debug)]
pub enum Outcome {
    /// One output file per channel, in order of first appearance.
    Route(Vec<(String, Vec<u8>)>),
    /// ZMailer mode: the control file for `transport/<H1>/<H2>/<ino>`, and the channels of
    /// its recipients (for the log).
    Control {
        control: Vec<u8>,
        channels: Vec<String>,
    },
    Park(ParkReason),
}

impl Processor {
    /// The processor a configuration describes; loads its tables.
    pub fn from_config(c: &Config, src: &dyn TableSource) -> Result<Processor, TableError> {
        Ok(Processor {
            routing: Routing::load(&c.routing, c.parser_options(), src)?,
            opts: c.parser_options(),
            hops_max: c.limits.hops_max,
            header_errors: c.routing.header_errors,
            zmailer: c
                .zmailer
                .enabled
                .then(|| super::zmailer::Settings::from_config(c)),
        })
    }

    /// An arena of the capacity this processor's limits ask for: one per worker, reused.
    pub fn arena(&self) -> Arena {
        Arena::for_limits(&self.opts.limits)
    }

    /// Routes one message (router input bytes) named `id`.
    pub fn process(&self, id: &str, bytes: &[u8], arena: &mut Arena) -> Processed {
        let mut p = Processed {
            outcome: Outcome::Route(Vec::new()),
            from: String::new(),
            rcpts: Vec::new(),
            header_faults: Vec::new(),
        };
        p.outcome = match self.route(id, bytes, arena, &mut p) {
            Ok(outputs) => Outcome::Route(outputs),
            Err(r) => Outcome::Park(r),
        };
        p
    }

    fn route(
        &self,
        id: &str,
        bytes: &[u8],
        arena: &mut Arena,
        p: &mut Processed,
    ) -> Result<Vec<(String, Vec<u8>)>, ParkReason> {
        let env = envelope::parse(bytes).map_err(|e| e.park_reason())?;
        p.from = env.from.to_string();
        let base = env.message_offset;
        let message = &bytes[base..];
        let from_headers = env.to.is_empty();
        arena.reset();
        let headers = self.headers(message, base, from_headers, arena, p)?;
        if from_headers {
            p.rcpts = headers
                .rcpts
                .iter()
                .map(|(l, d)| format!("<{l}@{d}>"))
                .collect();
            if p.rcpts.is_empty() {
                return Err(ParkReason::NoRecipients);
            }
        } else {
            p.rcpts = env.to.iter().map(|s| s.to_string()).collect();
        }
        // Route every recipient; a loop, a chain too deep or too many destinations park it.
        let mut x = Expansion::default();
        let r = if from_headers {
            headers
                .rcpts
                .iter()
                .try_for_each(|(l, d)| self.routing.route_mailbox(l, d, &mut x))
        } else {
            env.to
                .iter()
                .try_for_each(|to| self.routing.route_path(to, arena, &mut x))
        };
        r?;
        // Group by channel, in order of first appearance.
        let mut by_channel: Vec<(String, Vec<Rcpt>)> = Vec::new();
        for d in x.finish() {
            let rcpt = Rcpt {
                host: d.host,
                address: d.address,
                error: d.error,
            };
            match by_channel.iter_mut().find(|(c, _)| *c == d.channel) {
                Some((_, v)) => v.push(rcpt),
                None => by_channel.push((d.channel, vec![rcpt])),
            }
        }
        let stripped;
        let copy: &[u8] = if headers.bcc.is_empty() {
            message
        } else {
            stripped = without(message, &headers.bcc);
            &stripped
        };
        by_channel
            .into_iter()
            .map(|(ch, rcpts)| {
                let mut out = Vec::with_capacity(copy.len() + 64 * rcpts.len() + 128);
                match envelope::write_output(&mut out, id, &ch, &env, &rcpts, copy) {
                    Ok(()) => Ok((ch, out)),
                    Err(bytes) => Err(ParkReason::OutputLineTooLong {
                        channel: ch,
                        bytes,
                        limit: ENVELOPE_LINE_BYTES_MAX,
                    }),
                }
            })
            .collect()
    }

    /// Parses the header block and every address-bearing field. `base` is the message's
    /// offset in the input, so that reason offsets point into the file as stored.
    pub(super) fn headers(
        &self,
        message: &[u8],
        base: usize,
        from_headers: bool,
        arena: &Arena,
        p: &mut Processed,
    ) -> Result<Headers, ParkReason> {
        let mut h = Headers::default();
        let defer = self.header_errors == HeaderErrors::Defer;
        let block = match parse_header_block(message, arena, &self.opts) {
            Ok(b) => b,
            Err(e) => {
                let r = parser_reason(&e, "header block", base + e.offset);
                if e.kind.is_limit() || from_headers || defer {
                    return Err(r);
                }
                // The block is passed untouched, but a loop must still be caught: a message
                // whose header the parser refuses would otherwise never meet the hop limit,
                // and two mail systems could pass it back and forth for ever.
                let hops = received_lines(message, self.opts.limits.header_bytes_max);
                if hops > self.hops_max {
                    return Err(ParkReason::HopLimit {
                        hops,
                        limit: self.hops_max,
                    });
                }
                p.header_fault(format!(
                    "header block: {} at byte {}",
                    e.kind.name(),
                    base + e.offset
                ));
                return Ok(h);
            }
        };
        if let Some(at) = block.first_long_line {
            // A length, not a cap (the header block's cap bounds the work): logged, passed.
            p.header_fault(format!(
                "header block: {} line(s) over {} bytes, the first at byte {} (passed)",
                block.long_lines,
                self.opts.limits.line_bytes_max,
                base + at
            ));
        }
        let hops = block
            .fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case("received"))
            .count();
        if hops > self.hops_max {
            return Err(ParkReason::HopLimit {
                hops,
                limit: self.hops_max,
            });
        }
        for f in block.fields {
            let Some(kind) = f.address_field() else {
                continue;
            };
            let needed = from_headers && kind.is_recipient();
            let parsed = if kind == AddressField::ReturnPath {
                f.parse_path(arena, &self.opts).map(|m| {
                    if let Some(m) = m {
                        self.lengths(f, &m, base, p);
                    }
                    None
                })
            } else {
                f.parse_address_list(arena, &self.opts).map(|list| {
                    for m in list.mailboxes() {
                        self.lengths(f, m, base, p);
                    }
                    Some(list)
                })
            };
            match parsed {
                Ok(Some(list)) if needed => {
                    for m in list.mailboxes() {
                        h.rcpts.push((m.local.to_string(), m.domain.to_string()));
                    }
                    if kind == AddressField::Bcc {
                        h.bcc
                            .push(f.offset..line_end(message, f.value_offset + f.value.len()));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let at = base + f.value_offset + e.offset;
                    if e.kind.is_limit() || needed || defer {
                        return Err(parser_reason(&e, f.name, at));
                    }
                    p.header_faults
                        .push(format!("{}: {} at byte {at}", f.name, e.kind.name()));
                }
            }
        }
        Ok(h)
    }
}

impl Processor {
    /// Logs an address over an interoperability length. It is not refused: a long local part
    /// is routed (VERP return paths run to 80 octets), an over-long domain in a recipient the
    /// router needs goes to `error` when it is routed, and elsewhere the field passes untouched.
    fn lengths(&self, f: &mailaddr::Field, m: &mailaddr::Mailbox, base: usize, p: &mut Processed) {
        let l = &self.opts.limits;
        let at = base + f.value_offset + m.offset;
        for (what, len, max) in [
            ("local part", m.local.len(), l.local_part_bytes_max),
            ("domain", m.domain.len(), l.domain_bytes_max),
        ] {
            if len > max {
                p.header_fault(format!(
                    "{}: {what} of {len} bytes over {max} at byte {at} (passed)",
                    f.name
                ));
            }
        }
    }
}

/// What the headers gave: recipients (when needed) and the Bcc fields to remove.
#[derive(Default)]
pub(super) struct Headers {
    pub(super) rcpts: Vec<(String, String)>,
    bcc: Vec<Range<usize>>,
}

fn parser_reason(e: &mailaddr::Error, field: &str, offset: usize) -> ParkReason {
    ParkReason::Header {
        kind: e.kind,
        field: field.into(),
        offset,
        detail: e.to_string(),
    }
}

/// Just past the line end at or after `i` (LF or CRLF), or the end.
fn line_end(m: &[u8], i: usize) -> usize {
    match memchr::memchr(b'\n', &m[i.min(m.len())..]) {
        Some(n) => i + n + 1,
        None => m.len(),
    }
}

/// The `Received:` lines of a header the parser refused, counted leniently: every line up to
/// the first empty one (or `bytes_max` bytes) whose name, before its colon and any white
/// space, is `Received`. Linear, and bounded by the header cap.
fn received_lines(message: &[u8], bytes_max: usize) -> usize {
    let head = &message[..message.len().min(bytes_max)];
    let mut hops = 0;
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if let Some(colon) = memchr::memchr(b':', line) {
            let name = line[..colon].trim_ascii_end();
            hops += usize::from(name.eq_ignore_ascii_case(b"received"));
        }
    }
    hops
}

/// `m` with the ranges (sorted, disjoint) cut out.
fn without(m: &[u8], cut: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len());
    let mut at = 0;
    for r in cut {
        out.extend_from_slice(&m[at..r.start]);
        at = r.end;
    }
    out.extend_from_slice(&m[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processor(header_errors: HeaderErrors) -> Processor {
        let mut c = Config::default();
        c.routing.local_domains = vec!["example.org".into()];
        c.routing.header_errors = header_errors;
        c.limits.hops_max = 3;
        Processor::from_config(&c, &crate::core::table::InMemory::default()).unwrap()
    }

    fn run(p: &Processor, input: &str) -> Processed {
        let mut arena = p.arena();
        p.process("m1", input.as_bytes(), &mut arena)
    }

    fn outputs(p: &Processed) -> Vec<(String, String)> {
        match &p.outcome {
            Outcome::Route(o) => o
                .iter()
                .map(|(c, b)| (c.clone(), String::from_utf8_lossy(b).into_owned()))
                .collect(),
            o => panic!("not routed: {o:?}"),
        }
    }

    fn reason(p: &Processed) -> &ParkReason {
        match &p.outcome {
            Outcome::Park(r) => r,
            o => panic!("not parked: {o:?}"),
        }
    }

    #[test]
    fn recipients_from_headers_and_bcc_removed() {
        let p = processor(HeaderErrors::Pass);
        let r = run(
            &p,
            "from <a@example.org>\nenv-end\nFrom: A <a@example.org>\nTo: b@example.org, \
             Team: c@example.net;\r\nBcc: secret@example.com,\n hidden@example.org\nCc: d@example.net\n\nbody\n",
        );
        assert_eq!(
            r.rcpts,
            [
                "<b@example.org>",
                "<c@example.net>",
                "<secret@example.com>",
                "<hidden@example.org>",
                "<d@example.net>"
            ]
        );
        let o = outputs(&r);
        let chans: Vec<&str> = o.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(chans, ["local", "smtp"]);
        for (_, text) in &o {
            let (_, message) = text.split_once("env-end\n").unwrap();
            assert!(
                !message.contains("Bcc") && !message.contains("hidden@"),
                "{text}"
            );
            assert!(text.contains("Cc: d@example.net\n\nbody\n"), "{text}");
        }
        assert!(o[1].1.contains("rcpt example.com <secret@example.com>\n"));
    }

    #[test]
    fn what_is_at_stake_decides() {
        let pass = processor(HeaderErrors::Pass);
        let defer = processor(HeaderErrors::Defer);
        // A syntax error in a field not needed: routed untouched (pass), parked (defer).
        let m = "from <a@example.org>\nto <b@example.org>\nenv-end\nFrom: a@@example.org\n\nx\n";
        let r = run(&pass, m);
        assert_eq!(r.header_faults, ["From: missing-domain at byte 56"]);
        assert!(outputs(&r)[0].1.ends_with("From: a@@example.org\n\nx\n"));
        let r = run(&defer, m);
        assert_eq!(
            (reason(&r).code(), reason(&r).field(), reason(&r).offset()),
            ("missing-domain", Some("From"), Some(56))
        );
        assert_eq!(&m.as_bytes()[55..57], b"@@");
        // The same error in a needed field parks even with "pass".
        let r = run(
            &pass,
            "from <a@example.org>\nenv-end\nTo: b@@example.org\n\nx\n",
        );
        assert_eq!(reason(&r).code(), "missing-domain");
        // A cap in any field parks, needed or not.
        let deep = format!(
            "from <a@example.org>\nto <b@example.org>\nenv-end\nReply-To: {}\n\nx\n",
            "(".repeat(40) + &")".repeat(40) + "a@b.c"
        );
        let r = run(&pass, &deep);
        assert_eq!(
            (reason(&r).code(), reason(&r).limit()),
            ("depth-exceeded", Some(32))
        );
        // Hop limit.
        let hops = "from <a@example.org>\nto <b@example.org>\nenv-end\nReceived: x\nReceived: x\nreceived: x\nReceived: x\n\nx\n";
        let r = run(&pass, hops);
        assert_eq!(
            (reason(&r).code(), reason(&r).limit()),
            ("hop-limit", Some(3))
        );
        // The hop limit holds when the header block itself is refused (a line that is not a
        // field): counted leniently, parked past the limit, routed below it.
        let broken = |n: usize| {
            format!(
                "from <a@example.org>\nto <b@example.org>\nenv-end\n{}not a field\nRECEIVED : x\n\nx\n",
                "Received: x\r\n".repeat(n)
            )
        };
        let r = run(&pass, &broken(3));
        assert_eq!(
            (reason(&r).code(), reason(&r).limit()),
            ("hop-limit", Some(3))
        );
        let r = run(&pass, &broken(2));
        assert_eq!(outputs(&r).len(), 1);
        assert_eq!(r.header_faults.len(), 1, "{:?}", r.header_faults);
        assert!(r.header_faults[0].starts_with("header block: malformed-field"));
        // No recipients anywhere.
        let r = run(
            &pass,
            "from <a@example.org>\nenv-end\nTo: undisclosed-recipients:;\n\nx\n",
        );
        assert_eq!(reason(&r).code(), "no-recipients");
        // Found by fuzzing: an unparseable 4 KB recipient goes to `error`, but its lines
        // would not fit an envelope: parked, never written unreadable.
        let long = format!(
            "from <a@example.org>\nto <{}@@x>\nenv-end\n\nx\n",
            "a".repeat(4060)
        );
        let r = run(&pass, &long);
        assert_eq!(
            (reason(&r).code(), reason(&r).limit()),
            ("output-line-too-long", Some(4096))
        );
        // A bad envelope.
        let r = run(&pass, "to <b@example.org>\nenv-end\n\nx\n");
        assert_eq!(reason(&r).code(), "malformed-envelope");
    }

    /// SPEC section 5: interoperability lengths are logged or routed, never parked, in every
    /// kind of field; the work caps beside them still park.
    #[test]
    fn lengths_are_not_caps() {
        let p = processor(HeaderErrors::Pass);
        let verp = format!(
            "list-bounces+{}=example.net@lists.example.com",
            "u".repeat(60)
        );
        let long_domain = format!("a@{}.example", "d".repeat(260));
        let x_to = format!("X-To: {}\n", "someone@example.com, ".repeat(2400));
        assert!(x_to.len() > 48_000 && x_to.len() < 100_000);
        // Not needed (envelope recipients): a VERP Return-Path, a long domain in Reply-To, an
        // unfolded 48 KB X-To: routed untouched, each logged.
        let m = format!(
            "from <{verp}>\nto <b@example.org>\nenv-end\nReturn-Path: <{verp}>\nReply-To: {long_domain}\n{x_to}Subject: s\n\nx\n"
        );
        let r = run(&p, &m);
        let o = outputs(&r);
        assert_eq!(o.len(), 1);
        assert!(o[0].1.ends_with(&m[m.find("Return-Path").unwrap()..]));
        let faults = r.header_faults.join("\n");
        assert!(
            faults.contains("Return-Path: local part of 85 bytes over 64"),
            "{faults}"
        );
        assert!(
            faults.contains("Reply-To: domain of 268 bytes over 255"),
            "{faults}"
        );
        assert!(
            faults.contains("header block: 1 line(s) over 32768 bytes"),
            "{faults}"
        );
        // Needed (recipients from the headers): the long local part is routed, the long domain
        // goes to `error` with its reason, the others are routed beside it.
        let m = format!(
            "from <a@example.org>\nenv-end\nTo: {verp}, {long_domain}, c@example.org\n\nx\n"
        );
        let r = run(&p, &m);
        let o = outputs(&r);
        let chans: Vec<&str> = o.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(chans, ["smtp", "error", "local"]);
        assert!(o[0].1.contains(&format!("<{verp}>")), "{}", o[0].1);
        assert!(o[1].1.contains("domain-too-long"), "{}", o[1].1);
        // The same as envelope recipients.
        let m = format!(
            "from <a@example.org>\nto <{verp}>\nto <{long_domain}>\nenv-end\nSubject: s\n\nx\n"
        );
        let chans: Vec<String> = outputs(&run(&p, &m)).into_iter().map(|(c, _)| c).collect();
        assert_eq!(chans, ["smtp", "error"]);
        // The caps still park: a header block over 100 KiB, in lines of any length.
        let big = format!(
            "from <a@example.org>\nto <b@example.org>\nenv-end\n{}\n\nx\n",
            x_to.repeat(3)
        );
        assert_eq!(reason(&run(&p, &big)).code(), "header-too-large");
        // The log stays bounded: a field of 100 long local parts makes 17 lines, not 100.
        let many = (0..100)
            .map(|i| format!("{}{i}@example.net", "l".repeat(70)))
            .collect::<Vec<_>>()
            .join(", ");
        let m = format!("from <a@example.org>\nto <b@example.org>\nenv-end\nCc: {many}\n\nx\n");
        let r = run(&p, &m);
        assert_eq!(outputs(&r).len(), 1);
        assert_eq!(r.header_faults.len(), HEADER_FAULTS_MAX + 1);
    }

    #[test]
    fn the_arena_is_reused_and_its_exhaustion_parks() {
        let mut c = Config::default();
        c.limits.parser.arena_bytes_max = 16 << 10;
        c.limits.parser.input_bytes_max = 100_000;
        let p = Processor::from_config(&c, &crate::core::table::InMemory::default()).unwrap();
        let mut arena = p.arena();
        let big = format!(
            "from <a@x.test>\nto <b@x.test>\nenv-end\nCc: {}\n\nx\n",
            "a@b.c,\n ".repeat(5000)
        );
        let r = p.process("m", big.as_bytes(), &mut arena);
        assert_eq!(reason(&r).code(), "arena-exhausted");
        // The same arena routes the next message.
        let r = p.process(
            "m",
            b"from <a@x.test>\nto <b@x.test>\nenv-end\nCc: a@b.c\n\nx\n",
            &mut arena,
        );
        assert_eq!(outputs(&r).len(), 1);
        assert!(arena.allocated_bytes() <= arena.capacity_bytes());
    }
}
