//! ZMailer's control file (`po/transport/<H1>/<H2>/<ino>`): what its scheduler and transport
//! agents read (ZMailer 3.0.1, router/rfc822.c:2250-2525, include/mail.h.in:68-76,
//! scheduler/scheduler.c:2230-2360, libta/ctlopen.c).
//!
//! ```text
//! @ 0x00000007                                    format bits
//! i <ino>                                         the message file in queue/<H1>/<H2>/
//! o <offset>                                      where the body starts in that file
//! l <message-id>
//! e <errors-to>                                   not for the null sender
//! s <channel> <host> <user> <privilege>           the sender (`s error <> <> 1`: null)
//! r           <channel> <host> <user> <privilege> a recipient: tag, 6+4 slot bytes
//! N <todsn>  R <notaryret>  n <envid>             after a recipient with DSN data
//! m                                               then the rewritten header, one empty line
//! ```
//!
//! A field is printed as it is, `"..."` (with `\` before `"` and `\`) if it has a blank or a
//! quote outside quotes, `-` if empty. The header block must hold no empty line and ends with
//! one (the scheduler takes everything after `m` up to `\n\n`). [`parse`] reads back what
//! [`ControlFile::write`] writes, for recovery's check and the differential tests.

use std::fmt::Write as _;

/// The format bits ZMailer 3.0.1's router writes and its scheduler accepts.
pub const FORMAT: &str = "@ 0x00000007";

/// The privilege field's value for a recipient from the network (ZMailer's `nobody`).
pub const NOBODY: i64 = 65534;

/// One address line: `s` or `r`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub channel: String,
    pub host: String,
    pub user: String,
    pub privilege: i64,
}

/// One recipient and its DSN data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub line: Line,
    /// The `todsn` payload, verbatim.
    pub dsn: Option<String>,
}

/// A control file to write.
#[derive(Debug, Clone)]
pub struct ControlFile<'a> {
    pub ino: u64,
    pub body_offset: usize,
    pub message_id: Option<&'a str>,
    /// The sender without angle brackets; `None`: the null sender.
    pub sender: Option<&'a str>,
    pub notaryret: Option<&'a str>,
    pub envid: Option<&'a str>,
    pub rcpts: &'a [Recipient],
    /// The rewritten header: LF line ends, no empty line, ends in `\n`.
    pub header: &'a [u8],
}

impl ControlFile<'_> {
    pub fn write(&self, out: &mut Vec<u8>) {
        // Framing: an empty line in the header would end the `m` block early, and every
        // other line is one line. Whoever built these broke the format: a bug.
        assert!(
            self.header.ends_with(b"\n") && memchr::memmem::find(self.header, b"\n\n").is_none(),
            "control file header block with an empty line"
        );
        let mut s = String::with_capacity(256 + 96 * self.rcpts.len());
        let _ = writeln!(s, "{FORMAT}");
        let _ = writeln!(s, "i {}", self.ino);
        let _ = writeln!(s, "o {}", self.body_offset);
        if let Some(id) = self.message_id {
            let _ = writeln!(s, "l {}", one_line(id));
        }
        match self.sender {
            Some(from) => {
                let _ = writeln!(s, "e {}", one_line(from));
                let f = field(from);
                let _ = writeln!(s, "s local {f} {f} 1");
            }
            None => s.push_str("s error <> <> 1\n"),
        }
        for r in self.rcpts {
            let l = &r.line;
            let _ = writeln!(
                s,
                "r           {} {} {} {}",
                field(&l.channel),
                field(&l.host),
                field(&l.user),
                l.privilege
            );
            if let Some(d) = &r.dsn {
                let _ = writeln!(s, "N {}", one_line(d));
                if let Some(ret) = self.notaryret {
                    let _ = writeln!(s, "R {}", one_line(ret));
                }
                if let Some(id) = self.envid {
                    let _ = writeln!(s, "n {}", one_line(id));
                }
            }
        }
        s.push_str("m\n");
        out.extend_from_slice(s.as_bytes());
        out.extend_from_slice(self.header);
        out.push(b'\n');
    }
}

/// A value on a line of its own: line ends cannot occur (every value comes from one envelope
/// or header line), and are asserted away.
fn one_line(s: &str) -> &str {
    assert!(
        !s.contains(['\n', '\r']),
        "control file value with a line end"
    );
    s
}

/// A field as ZMailer prints it (rfc822.c:2724-2825).
pub fn field(s: &str) -> String {
    let s = one_line(s);
    if s.is_empty() {
        return "-".into();
    }
    let mut quoted = false;
    let mut escaped = false;
    let mut needs = false;
    for c in s.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => needs = true,
            _ => {}
        }
    }
    // A quote left open, or a backslash at the end, would swallow the blank after the field.
    let wrapped = s.len() >= 2 && s.starts_with('"') && s.ends_with('"');
    if !needs && !quoted && !escaped && !wrapped && s != "-" {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 4);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

const SPOOLID_CHARS: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123abcdefghijklmnopqrstuvwxyz4567890-";

/// ZMailer's spool id of a message file: `S<ino>`, then its time in its own base 64
/// (lib/taspoolid.c).
pub fn spool_id(ino: u64, mtime: i64) -> String {
    let t = Civil::from_unix(mtime);
    let c = |n: i64| char::from(SPOOLID_CHARS[(n & 63) as usize]);
    let mut s = format!("S{ino}");
    for n in [
        t.year >> 12,
        t.year >> 6,
        t.year,
        t.month - 1,
        t.day - 1,
        t.hour,
        t.minute,
        t.second,
    ] {
        s.push(c(n));
    }
    s
}

/// A UTC time broken down, for the spool id and the `Date:` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    /// 0 = Sunday.
    pub weekday: i64,
}

impl Civil {
    /// From seconds since the epoch (Howard Hinnant's days-to-civil).
    pub fn from_unix(t: i64) -> Civil {
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: (days + 4).rem_euclid(7),
        }
    }

    /// RFC 5322 `date-time` in UTC: `Mon, 30 Nov 2026 05:10:30 +0000`.
    pub fn rfc5322(&self) -> String {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
            DAYS[self.weekday as usize],
            self.day,
            MONTHS[(self.month - 1) as usize],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// What [`parse`] reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub ino: u64,
    pub body_offset: usize,
    pub sender: Option<Line>,
    pub rcpts: Vec<Recipient>,
    pub header: Vec<u8>,
}

/// Why bytes are not a whole control file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no `{FORMAT}` line first")]
    Format,
    #[error("line {0} is not a control file line")]
    BadLine(usize),
    #[error("no `i` or `o` line")]
    Missing,
    #[error("no header block ending in an empty line (cut short)")]
    Cut,
}

/// Reads a control file back: strict, so that a file cut short is never taken for whole.
pub fn parse(bytes: &[u8]) -> Result<Parsed, ControlError> {
    // The header block is the message's bytes (8-bit, perhaps not UTF-8); the lines before it
    // are the router's own, UTF-8.
    let m = memchr::memmem::find(bytes, b"\nm\n").ok_or(ControlError::Cut)?;
    let lines = std::str::from_utf8(&bytes[..m]).map_err(|_| ControlError::BadLine(0))?;
    let header = bytes[m + 3..]
        .strip_suffix(b"\n")
        .ok_or(ControlError::Cut)?;
    if !header.ends_with(b"\n") || memchr::memmem::find(header, b"\n\n").is_some() {
        return Err(ControlError::Cut);
    }
    let mut it = lines.lines().enumerate();
    if it.next().map(|(_, l)| l) != Some(FORMAT) {
        return Err(ControlError::Format);
    }
    let (mut ino, mut body_offset, mut sender) = (None, None, None);
    let mut rcpts: Vec<Recipient> = Vec::new();
    for (n, l) in it {
        let bad = || ControlError::BadLine(n + 1);
        let (key, rest) = l.split_at(l.len().min(2));
        match key {
            "i " => ino = Some(rest.parse().map_err(|_| bad())?),
            "o " => body_offset = Some(rest.parse().map_err(|_| bad())?),
            "s " => sender = Some(address_line(rest).ok_or_else(bad)?),
            "r " => {
                let rest = rest.get(10..).ok_or_else(bad)?;
                rcpts.push(Recipient {
                    line: address_line(rest).ok_or_else(bad)?,
                    dsn: None,
                });
            }
            "N " => rcpts.last_mut().ok_or_else(bad)?.dsn = Some(rest.into()),
            "l " | "e " | "R " | "n " | "v " | "x " | "T " => {}
            _ => return Err(bad()),
        }
    }
    Ok(Parsed {
        ino: ino.ok_or(ControlError::Missing)?,
        body_offset: body_offset.ok_or(ControlError::Missing)?,
        sender,
        rcpts,
        header: header.to_vec(),
    })
}

/// The recipients of any control file, as ZMailer's own router writes them too (several
/// sender groups, each with its `m` block): every `r` line and the `N` after it. Lenient: for
/// comparing outputs, not for deciding what is committed (that is [`parse`]).
pub fn recipients_of(bytes: &[u8]) -> Vec<Recipient> {
    let text = String::from_utf8_lossy(bytes);
    let mut out: Vec<Recipient> = Vec::new();
    let mut in_header = false;
    for l in text.lines() {
        if in_header {
            in_header = !l.is_empty();
            continue;
        }
        if l == "m" {
            in_header = true;
        } else if let Some(rest) = l.strip_prefix('r').and_then(|r| r.get(11..)) {
            if let Some(line) = address_line(rest) {
                out.push(Recipient { line, dsn: None });
            }
        } else if let Some(d) = l.strip_prefix("N ") {
            if let Some(r) = out.last_mut() {
                r.dsn = Some(d.into());
            }
        }
    }
    out
}

/// `<channel> <host> <user> <privilege>`, fields as [`field`] prints them: a field ends at a
/// blank outside quotes (`"quoted user"@x` is one field); one wholly in quotes is unquoted.
fn address_line(s: &str) -> Option<Line> {
    let mut fields = Vec::with_capacity(4);
    let mut rest = s.trim_start_matches(' ');
    while !rest.is_empty() {
        let (mut quoted, mut escaped, mut end) = (false, false, rest.len());
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let f = &rest[..end];
        let f = match f.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
            Some(inner) if f.len() >= 2 => {
                let mut out = String::with_capacity(inner.len());
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    out.push(if c == '\\' { chars.next()? } else { c });
                }
                out
            }
            _ if f == "-" => String::new(),
            _ => f.to_string(),
        };
        fields.push(f);
        rest = rest[end..].trim_start_matches(' ');
    }
    let [channel, host, user, privilege] = <[String; 4]>::try_from(fields).ok()?;
    Some(Line {
        channel,
        host,
        user,
        privilege: privilege.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_ids_as_zmailer_makes_them() {
        // From a real run of ZMailer's router: inode 2171421, Mon, 30 Nov 2026 05:10:30 UTC.
        let t = 1_796_015_430;
        assert_eq!(
            Civil::from_unix(t).rfc5322(),
            "Mon, 30 Nov 2026 05:10:30 +0000"
        );
        assert_eq!(spool_id(2_171_421, t), "S2171421AbmK3FKa");
        assert_eq!(
            Civil::from_unix(0).rfc5322(),
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
        assert_eq!(
            Civil::from_unix(951_782_400).rfc5322(),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
    }

    /// Every string of up to 5 characters from an alphabet of the bytes that matter reads back
    /// as itself, in every position of a line.
    #[test]
    fn every_field_reads_back_as_written() {
        let alphabet = ['a', '"', '\\', ' ', '-', '@'];
        let mut words = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for w in &words {
                for c in alphabet {
                    next.push(format!("{w}{c}"));
                }
            }
            words.extend(next.iter().cloned());
            words.dedup();
            if words.len() > 10_000 {
                break;
            }
        }
        words.sort();
        words.dedup();
        assert!(words.len() > 9000, "{}", words.len());
        for w in &words {
            let line = format!("{} {} {} 7", field(w), field("h"), field(w));
            let back = address_line(&line).unwrap_or_else(|| panic!("{w:?} as {line:?}"));
            assert_eq!(
                (&back.channel, &back.user, back.privilege),
                (w, w, 7),
                "{line:?}"
            );
        }
    }

    #[test]
    fn fields_quote_blanks_and_open_quotes() {
        assert_eq!(field(""), "-");
        assert_eq!(field("bob@x"), "bob@x");
        assert_eq!(field("\"quoted user\"@x"), "\"quoted user\"@x");
        assert_eq!(field("|/bin/prog -x"), "\"|/bin/prog -x\"");
        assert_eq!(field("a\"b"), "\"a\\\"b\"");
        assert_eq!(field("a\\"), "\"a\\\\\"");
        assert_eq!(
            address_line(&format!("error x {} 1", field("a\\"))).map(|l| l.user),
            Some("a\\".into())
        );
    }

    fn example() -> Vec<u8> {
        let rcpts = [
            Recipient {
                line: Line {
                    channel: "local".into(),
                    host: "postmaster@zm.test".into(),
                    user: "root@zm.test".into(),
                    privilege: 0,
                },
                dsn: Some("NOTIFY=FAILURE ORCPT=rfc822;postmaster@zm.test".into()),
            },
            Recipient {
                line: Line {
                    channel: "local".into(),
                    host: "pipe.x@zm.test".into(),
                    user: "|/bin/prog -x".into(),
                    privilege: 0,
                },
                dsn: None,
            },
        ];
        let mut out = Vec::new();
        ControlFile {
            ino: 2_171_421,
            body_offset: 758,
            message_id: Some("<m@x>"),
            sender: Some("root@zm.test"),
            notaryret: Some("FULL"),
            envid: Some("E1"),
            rcpts: &rcpts,
            header: b"Received: by x\n\tid S1; date\nSubject: s\n",
        }
        .write(&mut out);
        out
    }

    #[test]
    fn it_reads_back_and_a_cut_one_never_does() {
        let out = example();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("@ 0x00000007\ni 2171421\no 758\nl <m@x>\ne root@zm.test\ns local root@zm.test root@zm.test 1\nr           local postmaster@zm.test root@zm.test 0\nN NOTIFY=FAILURE ORCPT=rfc822;postmaster@zm.test\nR FULL\nn E1\nr           local pipe.x@zm.test \"|/bin/prog -x\" 0\nm\nReceived:"), "{text}");
        assert!(text.ends_with("Subject: s\n\n"));
        let p = parse(&out).unwrap();
        assert_eq!((p.ino, p.body_offset, p.rcpts.len()), (2_171_421, 758, 2));
        assert_eq!(p.rcpts[1].line.user, "|/bin/prog -x");
        assert_eq!(
            address_line("smtp [mx]:25 \"eri.\"@example.net 65534").map(|l| l.user),
            Some("\"eri.\"@example.net".into())
        );
        assert_eq!(
            address_line("error unresolvable \"<frank@se: one l\" 65534").map(|l| l.user),
            Some("<frank@se: one l".into())
        );
        assert_eq!(p.sender.unwrap().channel, "local");
        for cut in 0..out.len() {
            assert!(parse(&out[..cut]).is_err(), "cut at {cut} parsed");
        }
    }

    #[test]
    fn what_zmailers_router_wrote_parses() {
        let real = "@ 0x00000007\ni 836008\no 295\nl <S836008AbmK3LqRrpSIe/20261130114619Z+3@mx.zm.test>\ne <bob@sink.test>\ne bob@sink.test\ns local bob@sink.test bob@sink.test 1\nr           local pipe.autoanswer@zm.test \"|/var/tmp/zmailer-router-interop/bin/autoanswer.pl\" 0\nr           local file.nobody@zm.test /dev/null 0\nr           error nosuchuser x@mx.zm.test 65534\nm\nReceived: from localhost\n\tid S836008AbmK3LqRrpSIe; Mon, 30 Nov 2026 11:46:17 +0000\nTo:\ta@zm.test\n\n";
        let p = parse(real.as_bytes()).unwrap();
        let chans: Vec<(&str, &str)> = p
            .rcpts
            .iter()
            .map(|r| (r.line.channel.as_str(), r.line.host.as_str()))
            .collect();
        assert_eq!(
            chans,
            [
                ("local", "pipe.autoanswer@zm.test"),
                ("local", "file.nobody@zm.test"),
                ("error", "nosuchuser")
            ]
        );
        assert_eq!(
            p.rcpts[0].line.user,
            "|/var/tmp/zmailer-router-interop/bin/autoanswer.pl"
        );
    }

    #[test]
    #[should_panic(expected = "empty line")]
    fn an_empty_line_in_the_header_block_is_a_bug() {
        let mut out = Vec::new();
        ControlFile {
            ino: 1,
            body_offset: 0,
            message_id: None,
            sender: None,
            notaryret: None,
            envid: None,
            rcpts: &[],
            header: b"A: b\n\nC: d\n",
        }
        .write(&mut out);
    }
}
