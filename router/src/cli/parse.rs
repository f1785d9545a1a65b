//! ```text
//! NAME
//!     router parse - parse address fields, one per line, and print what they hold
//!
//! SYNOPSIS
//!     router parse [--explain] < fields
//!
//! DESCRIPTION
//!     Reads one field value per line on standard input. A line `Name<TAB>value` names the
//!     field (Return-Path is read as a path, `<>` allowed; every other name as an address
//!     list); a line with no tab is an address list. A CR before the LF is dropped.
//!
//!     Writes one JSON object per line (the stable contract of SPEC section 4):
//!         {"ok":true,"addresses":[{"kind":"mailbox","name":..,"local":..,"domain":..}, ..]}
//!         {"ok":false,"error":{"kind":"unbalanced-quote","offset":17,"message":".."}}
//!     `name` is absent when there is none; a mailbox with a source route has `"route"`;
//!     a group is {"kind":"group","name":..,"members":[mailboxes]}. Offsets count bytes of
//!     the value (after the tab).
//!
//!     With --explain, writes a human diagnostic instead: each address, or the error with a
//!     caret under the offending byte.
//!
//! DIAGNOSTICS
//!     Exit 0 when every line was read, whatever the lines held (errors are data). With
//!     --explain, exit 65 (EX_DATAERR) if any line failed to parse. Exit 74 (EX_IOERR) if
//!     reading or writing fails.
//!
//! SEE ALSO
//!     mailaddr (the parser crate), SPEC section 4.
//! ```

use std::io::{self, BufRead, Write};

use mailaddr::{parse_address_list, parse_path, Address, Arena, Error, Mailbox, Options};
use serde_json::{json, Map, Value};

use super::exit;

/// One parsed line: the addresses, or the error.
enum Parsed<'a> {
    List(&'a [Address<'a>]),
    Path(Option<Mailbox<'a>>),
}

fn parse_line<'a>(
    name: Option<&str>,
    value: &'a [u8],
    arena: &'a Arena,
    opts: &Options,
) -> Result<Parsed<'a>, Error> {
    match name {
        Some(n) if n.eq_ignore_ascii_case("return-path") => {
            parse_path(value, arena, opts).map(Parsed::Path)
        }
        _ => parse_address_list(value, arena, opts).map(|l| Parsed::List(l.addresses)),
    }
}

fn mailbox_json(m: &Mailbox<'_>) -> Value {
    let mut o = Map::new();
    o.insert("kind".into(), "mailbox".into());
    if let Some(n) = m.name {
        o.insert("name".into(), n.into());
    }
    if let Some(r) = m.route {
        o.insert("route".into(), r.into());
    }
    o.insert("local".into(), m.local.into());
    o.insert("domain".into(), m.domain.into());
    Value::Object(o)
}

fn address_json(a: &Address<'_>) -> Value {
    match a {
        Address::Mailbox(m) => mailbox_json(m),
        Address::Group(g) => json!({
            "kind": "group",
            "name": g.name,
            "members": g.members.iter().map(mailbox_json).collect::<Vec<_>>(),
        }),
    }
}

/// The JSON object for one line.
pub fn line_json(parsed: Result<&[Value], &Error>) -> Value {
    match parsed {
        Ok(addrs) => json!({"ok": true, "addresses": addrs}),
        Err(e) => json!({"ok": false, "error": {
            "kind": e.kind.name(), "offset": e.offset, "message": e.kind.to_string(),
        }}),
    }
}

/// Splits `Name<TAB>value`; a line without a tab is all value.
fn split_line(line: &[u8]) -> (Option<&str>, &[u8]) {
    match line.iter().position(|&b| b == b'\t') {
        Some(i) => match std::str::from_utf8(&line[..i]) {
            Ok(name) => (Some(name), &line[i + 1..]),
            Err(_) => (None, line),
        },
        None => (None, line),
    }
}

/// `router parse`: stdin to stdout, with the default limits.
pub fn run(explain: bool) -> u8 {
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    match parse_lines(stdin, stdout, explain, &Options::DEFAULT) {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("router parse: {e}");
            exit::IOERR
        }
    }
}

/// Runs the command over `input`, writing to `out`. Returns the exit code.
pub fn parse_lines(
    input: impl BufRead,
    out: impl Write,
    explain: bool,
    opts: &Options,
) -> io::Result<u8> {
    let mut out = io::BufWriter::new(out);
    let mut arena = Arena::for_limits(&opts.limits);
    let mut failed = 0usize;
    for (n, line) in input.split(b'\n').enumerate() {
        let mut line = line?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        arena.reset();
        let (name, value) = split_line(&line);
        let parsed = parse_line(name, value, &arena, opts);
        if parsed.is_err() {
            failed += 1;
        }
        if explain {
            explain_line(&mut out, n + 1, name, value, &parsed)?;
        } else {
            let addrs: Result<Vec<Value>, &Error> = match &parsed {
                Ok(Parsed::List(l)) => Ok(l.iter().map(address_json).collect()),
                Ok(Parsed::Path(p)) => Ok(p.iter().map(mailbox_json).collect()),
                Err(e) => Err(e),
            };
            serde_json::to_writer(&mut out, &line_json(addrs.as_deref().map_err(|e| *e)))?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(if explain && failed > 0 {
        exit::DATAERR
    } else {
        exit::OK
    })
}

fn explain_line(
    out: &mut impl Write,
    n: usize,
    name: Option<&str>,
    value: &[u8],
    parsed: &Result<Parsed<'_>, Error>,
) -> io::Result<()> {
    let shown = printable(value);
    let label = name.map(|n| format!("{n}: ")).unwrap_or_default();
    writeln!(out, "line {n}: {label}{shown}")?;
    match parsed {
        Ok(Parsed::Path(None)) => writeln!(out, "  null return path <>")?,
        Ok(Parsed::Path(Some(m))) => writeln!(out, "  {}", describe(m))?,
        Ok(Parsed::List([])) => writeln!(out, "  empty list")?,
        Ok(Parsed::List(list)) => {
            for a in list.iter() {
                match a {
                    Address::Mailbox(m) => writeln!(out, "  {}", describe(m))?,
                    Address::Group(g) => {
                        writeln!(
                            out,
                            "  group {:?} with {} member(s)",
                            g.name,
                            g.members.len()
                        )?;
                        for m in g.members {
                            writeln!(out, "    {}", describe(m))?;
                        }
                    }
                }
            }
        }
        Err(e) => {
            writeln!(
                out,
                "  error[{}]: {} at byte {}",
                e.kind.name(),
                e.kind,
                e.offset
            )?;
            let col = printable(&value[..e.offset.min(value.len())])
                .chars()
                .count();
            writeln!(out, "  | {shown}")?;
            writeln!(out, "  | {}^", " ".repeat(col))?;
        }
    }
    Ok(())
}

fn describe(m: &Mailbox<'_>) -> String {
    let mut s = format!("mailbox {}@{}", m.local, m.domain);
    if let Some(n) = m.name {
        s += &format!("  name {n:?}");
    }
    if let Some(r) = m.route {
        s += &format!("  route {r}");
    }
    // The interoperability lengths: not errors (RFC 5322 sets none), but what the router does
    // with such an address differs, so say so.
    let l = mailaddr::Limits::DEFAULT;
    if m.local.len() > l.local_part_bytes_max {
        s += &format!(
            "  (local part of {} bytes, over RFC 5321's {}: routed all the same)",
            m.local.len(),
            l.local_part_bytes_max
        );
    }
    if m.domain.len() > l.domain_bytes_max {
        s += &format!(
            "  (domain of {} bytes, over RFC 5321's {}: the router sends it to `error`)",
            m.domain.len(),
            l.domain_bytes_max
        );
    }
    s
}

/// The value as one line of text: bad UTF-8 as U+FFFD, control characters as spaces.
fn printable(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
