//! ZMailer mode: one message of ZMailer's `router/` in, one control file out (docs/zmailer.md).
//!
//! The same parsing, caps, header policy and routing as the router's own format
//! ([`super::message`]); only the envelope read ([`super::zmailer_envelope`]) and the output
//! written ([`super::control_file`]) differ. The message file itself is not copied: the spool
//! moves it unchanged into `queue/<H1>/<H2>/<ino>`, and the control file's `o` line says where
//! its body starts.
//!
//! Mapping of the router's destinations to ZMailer's address lines (as ZMailer's own router
//! writes them for the same tables; see the differential test):
//!
//! | destination | `channel host user privilege` |
//! |---|---|
//! | `local`, `<u@d>` | `local <recipient as given> u@d <p>` |
//! | `pipe` (an alias's `\|cmd`) | `local pipe.<recipient> "\|cmd" <p>` |
//! | `file` (an alias's `/path`) | `local file.<recipient> /path <p>` |
//! | `error` | `error unresolvable <address> 65534` |
//! | any other channel, next hop `h` | `<channel> h <address> 65534` |
//!
//! `<p>` is the aliases file's owner for what an alias expanded into (ZMailer's rule: the
//! privilege of the database an address came from), else 65534 (`nobody`, the network's).
//! A bare name (`root`, `<nobody>`) is qualified with `routing.origin`, as ZMailer qualifies
//! it with its own host.

use mailaddr::Arena;

use super::control_file::{self, Civil, ControlFile, Line, Recipient, NOBODY};
use super::message::{Outcome, Processed, Processor};
use super::route::{dedup_key, Expansion};
use super::zmailer_envelope::{self, ZRcpt};
use crate::config::Config;
use crate::reason::ParkReason;

/// `[zmailer]` as the core needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// This host in the `Received:` field and in a made `Message-Id:`.
    pub hostname: String,
    /// The domain of bare names.
    pub origin: String,
    /// The privilege of addresses an alias expanded into: the aliases file's owner. Set by
    /// the process layer, which may look at files; 0 until then.
    pub alias_privilege: i64,
}

impl Settings {
    pub fn from_config(c: &Config) -> Settings {
        let origin = c.routing.origin();
        Settings {
            hostname: if c.zmailer.hostname.is_empty() {
                origin.clone()
            } else {
                c.zmailer.hostname.clone()
            },
            origin,
            alias_privilege: 0,
        }
    }
}

/// What the spool knows of the message file, which the control file names.
#[derive(Debug, Clone, Copy)]
pub struct FileFacts<'a> {
    /// Its inode number: the control file's and the queue file's name.
    pub ino: u64,
    /// Its modification time (the spool id is made of it).
    pub mtime: i64,
    /// The time now, for a `Date:` the message lacks.
    pub now: i64,
    /// The sender to use instead of the envelope's: the file's owner, when it is not a
    /// trusted writer (ZMailer trusts root, daemon and uucp: router/conf.c:9-13).
    pub sender_override: Option<&'a str>,
}

/// Fields ZMailer's router drops from the copies (header.c:70-89).
const DROPPED: [&str; 6] = [
    "bcc",
    "return-path",
    "x-orcpt",
    "x-envid",
    "envelope-id",
    "original-recipient",
];

impl Processor {
    /// Routes one message of ZMailer's `router/` into a control file, or a park reason.
    /// Needs ZMailer mode on (`self.zmailer`): calling it otherwise is a bug.
    pub fn process_zmailer(&self, f: &FileFacts<'_>, bytes: &[u8], arena: &mut Arena) -> Processed {
        let mut p = Processed {
            outcome: Outcome::Park(ParkReason::NoRecipients),
            from: String::new(),
            rcpts: Vec::new(),
            header_faults: Vec::new(),
        };
        p.outcome = match self.route_zmailer(f, bytes, arena, &mut p) {
            Ok((control, channels)) => Outcome::Control { control, channels },
            Err(r) => Outcome::Park(r),
        };
        p
    }

    fn route_zmailer(
        &self,
        f: &FileFacts<'_>,
        bytes: &[u8],
        arena: &mut Arena,
        p: &mut Processed,
    ) -> Result<(Vec<u8>, Vec<String>), ParkReason> {
        let z = self
            .zmailer
            .as_ref()
            .expect("process_zmailer without [zmailer] settings");
        let env = zmailer_envelope::parse(bytes).map_err(|e| e.park_reason())?;
        let sender = match f.sender_override {
            Some(s) => Some(qualify(s, &z.origin)),
            None => env.from.map(|s| qualify(s, &z.origin)),
        }
        .filter(|s| !s.is_empty());
        p.from = format!("<{}>", sender.as_deref().unwrap_or(""));
        let base = env.message_offset;
        let message = &bytes[base..];
        let from_headers = env.to.is_empty();
        arena.reset();
        let headers = self.headers(message, base, from_headers, arena, p)?;
        // The recipients as given, with their DSN data.
        let given: Vec<(String, Option<&str>)> = if from_headers {
            headers
                .rcpts
                .iter()
                .map(|(l, d)| (format!("{l}@{d}"), None))
                .collect()
        } else {
            env.to
                .iter()
                .map(|ZRcpt { address, dsn }| (unbracket(address).to_string(), *dsn))
                .collect()
        };
        if given.is_empty() {
            return Err(ParkReason::NoRecipients);
        }
        p.rcpts = given.iter().map(|(a, _)| format!("<{a}>")).collect();
        let mut x = Expansion::default();
        let mut starts = Vec::with_capacity(given.len());
        for (address, _) in &given {
            starts.push(x.len());
            let path = format!("<{}>", qualify(address, &z.origin));
            self.routing.route_path(&path, arena, &mut x)?;
        }
        // One line per destination of each recipient given: two recipients an alias sends to
        // the same user are two lines, as in ZMailer's own output (each has its DSN).
        let mut seen = std::collections::HashSet::new();
        let rcpts: Vec<Recipient> = x
            .into_raw()
            .into_iter()
            .enumerate()
            .filter(|(i, (_, d))| {
                let who = starts.partition_point(|&s| s <= *i) - 1;
                seen.insert((
                    given[who].0.to_ascii_lowercase(),
                    d.channel.clone(),
                    dedup_key(&d.address),
                ))
            })
            .map(|(i, (aliased, d))| {
                let who = starts.partition_point(|&s| s <= i) - 1;
                let (given, dsn) = &given[who];
                let privilege = if aliased { z.alias_privilege } else { NOBODY };
                Recipient {
                    line: address_line(d, given, privilege),
                    dsn: dsn.map(str::to_string),
                }
            })
            .collect();
        let spool_id = control_file::spool_id(f.ino, f.mtime);
        let h = rewrite_header(message, &env, z, &spool_id, sender.as_deref(), f.now);
        let mut out = Vec::with_capacity(h.header.len() + 256 + 96 * rcpts.len());
        ControlFile {
            ino: f.ino,
            body_offset: base + h.body_offset,
            message_id: Some(&h.message_id),
            sender: sender.as_deref(),
            notaryret: env.notaryret,
            envid: env.envid,
            rcpts: &rcpts,
            header: &h.header,
        }
        .write(&mut out);
        let mut channels: Vec<String> = Vec::new();
        for r in &rcpts {
            if !channels.contains(&r.line.channel) {
                channels.push(r.line.channel.clone());
            }
        }
        Ok((out, channels))
    }
}

/// The control file's line for destination `d` of recipient `given` (the table in the module
/// documentation).
fn address_line(d: super::route::Dest, given: &str, privilege: i64) -> Line {
    let user = unbracket(&d.address).to_string();
    match d.channel.as_str() {
        "local" => Line {
            channel: "local".into(),
            host: given.into(),
            user,
            privilege,
        },
        "pipe" => Line {
            channel: "local".into(),
            host: format!("pipe.{given}"),
            user: format!("|{}", d.address),
            privilege,
        },
        "file" => Line {
            channel: "local".into(),
            host: format!("file.{given}"),
            user: d.address,
            privilege,
        },
        "error" => Line {
            channel: "error".into(),
            host: "unresolvable".into(),
            user,
            privilege: NOBODY,
        },
        _ => Line {
            channel: d.channel,
            host: if d.host == "-" { String::new() } else { d.host },
            user,
            privilege: NOBODY,
        },
    }
}

/// `<a@b>` → `a@b`; anything else as it is.
fn unbracket(s: &str) -> &str {
    s.trim()
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s.trim())
}

/// A bare name gets the origin domain: `root` → `root@origin`. `<>` and empty stay empty.
fn qualify(s: &str, origin: &str) -> String {
    let a = unbracket(s);
    if a.is_empty() || a.contains('@') {
        a.to_string()
    } else {
        format!("{a}@{origin}")
    }
}

/// The header block as the control file carries it, and what was learnt on the way.
struct Rewritten {
    header: Vec<u8>,
    /// Offset of the body in `message` (past the empty line; the end when there is none).
    body_offset: usize,
    /// The `Message-Id` the message has, or the one made for it.
    message_id: String,
}

/// ZMailer's header rewriting, the part that matters to its agents: a `Received:` field
/// first, the fields in their order with LF line ends (Bcc and the envelope-only fields
/// dropped), and `Message-Id:`, `Date:`, `From:` and `To:` added when missing
/// (rfc822.c:1431-1505, 1860-1985).
fn rewrite_header(
    message: &[u8],
    env: &zmailer_envelope::ZEnvelope<'_>,
    z: &Settings,
    spool_id: &str,
    sender: Option<&str>,
    now: i64,
) -> Rewritten {
    let date = Civil::from_unix(now).rfc5322();
    let mut out = Vec::with_capacity(message.len().min(64 << 10) + 512);
    out.extend_from_slice(b"Received: ");
    if let Some(r) = env.rcvdfrom {
        out.extend_from_slice(format!("from {r}\n\t").as_bytes());
    }
    out.extend_from_slice(format!("by {}", z.hostname).as_bytes());
    if let Some(w) = env.with {
        out.extend_from_slice(format!(" with {w}").as_bytes());
    }
    if let Some(v) = env.via {
        out.extend_from_slice(format!(" via {v}").as_bytes());
    }
    out.extend_from_slice(format!("\n\tid {spool_id}; {date}\n").as_bytes());
    let (mut has_id, mut has_date, mut has_from, mut has_to) = (None, false, false, false);
    let mut keep = true;
    let mut pos = 0;
    let body_offset = loop {
        if pos >= message.len() {
            break message.len();
        }
        let end = memchr::memchr(b'\n', &message[pos..]).map_or(message.len(), |i| pos + i + 1);
        let mut line = &message[pos..end];
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break end;
        }
        pos = end;
        if !matches!(line[0], b' ' | b'\t') {
            // The field name, compared without case and without allocating (one per line).
            let colon = line.iter().position(|&b| b == b':');
            let name = colon.map_or(&[][..], |i| line[..i].trim_ascii());
            let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            keep = !DROPPED.iter().any(|d| is(d));
            if is("message-id") {
                let v = &line[colon.map_or(0, |i| i + 1)..];
                has_id = Some(String::from_utf8_lossy(v).trim().to_string());
            }
            has_date |= is("date");
            has_from |= is("from");
            has_to |= is("to");
        }
        if keep {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    };
    let made = || format!("<{spool_id}@{}>", z.hostname);
    let message_id = match has_id {
        // The `l` line is one line: an id with a control byte (a stray CR) is not used there.
        Some(id) if !id.is_empty() && !id.chars().any(char::is_control) => id,
        Some(_) => made(),
        None => {
            let id = made();
            out.extend_from_slice(format!("Message-Id: {id}\n").as_bytes());
            id
        }
    };
    if !has_date {
        out.extend_from_slice(format!("Date: {date}\n").as_bytes());
    }
    if !has_from {
        let from = sender.unwrap_or("MAILER-DAEMON");
        out.extend_from_slice(format!("From: {from}\n").as_bytes());
    }
    if !has_to {
        out.extend_from_slice(b"To: unlisted-recipients:; (no To-header on input)\n");
    }
    Rewritten {
        header: out,
        body_offset,
        message_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::control_file::parse;
    use crate::core::table::InMemory;

    fn processor() -> Processor {
        let mut c = Config::default();
        c.routing.local_domains = vec!["zm.test".into(), "mx.zm.test".into()];
        c.routing.aliases = "aliases".into();
        c.routing.transport = "transport".into();
        c.zmailer.enabled = true;
        c.zmailer.hostname = "mx.zm.test".into();
        let mut t = InMemory::default();
        t.0.insert(
            "aliases".into(),
            "postmaster: root\nautoanswer: \"|/bin/autoanswer.pl\"\nnobody: /dev/null\n".into(),
        );
        t.0.insert(
            "transport".into(),
            "sink.test smtp:[127.0.0.1]\n.sink.test smtp:[127.0.0.1]\n".into(),
        );
        Processor::from_config(&c, &t).unwrap()
    }

    fn facts() -> FileFacts<'static> {
        FileFacts {
            ino: 2_171_421,
            mtime: 1_796_015_430,
            now: 1_796_015_431,
            sender_override: None,
        }
    }

    fn control(p: &Processed) -> String {
        match &p.outcome {
            Outcome::Control { control, .. } => String::from_utf8(control.clone()).unwrap(),
            o => panic!("{o:?}"),
        }
    }

    /// The README's example input (../shared/interop/zmailer), byte for byte, gives the
    /// recipients, DSN lines and body offset ZMailer's router wrote for it.
    #[test]
    fn the_interop_example() {
        let input = "external\nrcvdfrom localhost ([127.0.0.1]:40064 \"ehlo client.example\" rhost-flags-OK-OK-OK-FAIL)\ncomment localhost [127.0.0.1]:40064 \"ehlo client.example\" smtp-auth: <none> rhost-flags-OK-OK-OK-FAIL)\nwith ESMTP\nfrom <root@zm.test>\nenvid 6b0d054666c0-2\nnotaryret FULL\ntodsn NOTIFY=FAILURE,DELAY ORCPT=rfc822;postmaster@zm.test INRCPT=rfc822;postmaster@zm.test INFROM=rfc822;root@zm.test\nto <postmaster@zm.test>\ntodsn NOTIFY=FAILURE,DELAY ORCPT=rfc822;carol@sink.test INRCPT=rfc822;carol@sink.test INFROM=rfc822;root@zm.test\nto <carol@sink.test>\nenv-end\nFrom: \"ZM test\" <root@zm.test>\nTo: postmaster@zm.test, Carol <carol@sink.test>\nSubject: zmtest 6b0d054666c0 2 (both)\nDate: Mon, 30 Nov 2026 05:10:30 -0000\nMessage-ID: <zmtest-6b0d054666c0-2@client.example>\n\nThis is test message 2 of run 6b0d054666c0, kind both.\n.A line that starts with a dot (dot-stuffing check).\nLast line.\n";
        assert_eq!(input.len(), 877);
        let p = processor();
        let r = p.process_zmailer(&facts(), input.as_bytes(), &mut p.arena());
        let c = control(&r);
        assert!(c.starts_with("@ 0x00000007\ni 2171421\no 758\nl <zmtest-6b0d054666c0-2@client.example>\ne root@zm.test\ns local root@zm.test root@zm.test 1\n"), "{c}");
        assert!(c.contains("r           local postmaster@zm.test root@zm.test 0\nN NOTIFY=FAILURE,DELAY ORCPT=rfc822;postmaster@zm.test INRCPT=rfc822;postmaster@zm.test INFROM=rfc822;root@zm.test\nR FULL\nn 6b0d054666c0-2\n"), "{c}");
        assert!(
            c.contains("r           smtp [127.0.0.1] carol@sink.test 65534\nN NOTIFY"),
            "{c}"
        );
        assert!(c.contains("m\nReceived: from localhost ([127.0.0.1]:40064 \"ehlo client.example\" rhost-flags-OK-OK-OK-FAIL)\n\tby mx.zm.test with ESMTP\n\tid S2171421AbmK3FKa; Mon, 30 Nov 2026 05:10:31 +0000\nFrom: \"ZM test\" <root@zm.test>\n"), "{c}");
        assert!(
            c.ends_with("Message-ID: <zmtest-6b0d054666c0-2@client.example>\n\n"),
            "{c}"
        );
        assert!(input[758..].starts_with("This is test message 2"));
        let back = parse(c.as_bytes()).unwrap();
        assert_eq!((back.ino, back.rcpts.len()), (2_171_421, 2));
    }

    #[test]
    fn a_dsn_from_the_scheduler_aliases_pipes_files_and_errors() {
        let p = processor();
        let dsn = "rcvdfrom STDIN (\"??\"@vm)\nchannel error\nerrormsg\ntodsn ORCPT=rfc822;root@zm.test\nto <root@zm.test>\ntodsn ORCPT=rfc822;nobody\nto <nobody>\nto <autoanswer@zm.test>\nto <bad@@x>\nto <Root@ZM.test>\nenv-end\nTo: root@zm.test\nFrom: The Post Office <postmaster>\nSender:\tmailer-daemon\nSubject: Returned mail\n\nbody\n";
        let c = control(&p.process_zmailer(&facts(), dsn.as_bytes(), &mut p.arena()));
        assert!(c.contains("\ns error <> <> 1\n"), "{c}");
        assert!(!c.contains("\ne "), "{c}");
        let back = parse(c.as_bytes()).unwrap();
        let lines: Vec<(&str, &str, &str, i64)> = back
            .rcpts
            .iter()
            .map(|r| {
                let l = &r.line;
                (
                    l.channel.as_str(),
                    l.host.as_str(),
                    l.user.as_str(),
                    l.privilege,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("local", "root@zm.test", "root@zm.test", 65534),
                ("local", "file.nobody", "/dev/null", 0),
                ("local", "pipe.autoanswer@zm.test", "|/bin/autoanswer.pl", 0),
                ("error", "unresolvable", "bad@@x", 65534),
                // A local part keeps its case, as in ZMailer's `local ROOT@ZM.TEST ROOT@zm.test`.
                ("local", "Root@ZM.test", "Root@zm.test", 65534),
            ],
            "{c}"
        );
        assert_eq!(back.rcpts[1].dsn.as_deref(), Some("ORCPT=rfc822;nobody"));
        assert!(c.contains("Message-Id: <S2171421AbmK3FKa@mx.zm.test>\nDate: Mon, 30 Nov 2026 05:10:31 +0000\n\n"), "{c}");
    }

    #[test]
    fn missing_fields_are_added_and_bcc_dropped() {
        let p = processor();
        let m = "from <bob@sink.test>\nto <root>\nenv-end\r\nBcc: hidden@zm.test,\r\n secret@zm.test\r\nReturn-Path: <x@y>\r\nSubject: s\r\n\r\nbody\r\n";
        let r = p.process_zmailer(&facts(), m.as_bytes(), &mut p.arena());
        let c = control(&r);
        let header = c.split_once("\nm\n").unwrap().1;
        assert!(
            !header.contains("Bcc")
                && !header.contains("secret")
                && !header.contains("Return-Path"),
            "{header}"
        );
        assert!(!header.contains('\r'), "{header}");
        assert!(
            header.contains("Subject: s\nMessage-Id: <S2171421AbmK3FKa@mx.zm.test>\nDate: "),
            "{header}"
        );
        assert!(
            header.ends_with(
                "From: bob@sink.test\nTo: unlisted-recipients:; (no To-header on input)\n\n"
            ),
            "{header}"
        );
        assert!(
            c.contains("r           local root root@zm.test 65534\n"),
            "{c}"
        );
        let o = parse(c.as_bytes()).unwrap().body_offset;
        assert_eq!(&m[o..], "body\r\n");
    }

    #[test]
    fn an_untrusted_owner_is_the_sender() {
        let p = processor();
        let f = FileFacts {
            sender_override: Some("mallory"),
            ..facts()
        };
        let m = "from <ceo@bank.example>\nto <root@zm.test>\nenv-end\nSubject: s\n\nx\n";
        let r = p.process_zmailer(&f, m.as_bytes(), &mut p.arena());
        assert_eq!(r.from, "<mallory@zm.test>");
        assert!(control(&r).contains("s local mallory@zm.test mallory@zm.test 1\n"));
    }

    #[test]
    fn the_caps_and_a_bad_envelope_still_park() {
        let p = processor();
        let park = |m: &str| match p
            .process_zmailer(&facts(), m.as_bytes(), &mut p.arena())
            .outcome
        {
            Outcome::Park(r) => r.code().to_string(),
            o => panic!("{o:?}"),
        };
        assert_eq!(
            park("from <a@b>\nbogus x\nenv-end\n\nx\n"),
            "malformed-envelope"
        );
        let deep = format!(
            "from <a@b>\nto <root@zm.test>\nenv-end\nReply-To: {}a@b.c\n\nx\n",
            "(".repeat(40) + &")".repeat(40)
        );
        assert_eq!(park(&deep), "depth-exceeded");
        // The seed 004 shape: unbalanced quotes and brackets in a field the router needs.
        assert_eq!(
            park("from <a@b>\nenv-end\nTo: \"unbalanced <<a@b\n\nx\n"),
            "unbalanced-quote"
        );
        assert_eq!(
            park("from <a@b>\nenv-end\nSubject: no recipients\n\nx\n"),
            "no-recipients"
        );
    }
}
