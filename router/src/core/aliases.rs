//! The aliases table, in sendmail's `aliases(5)` format, read once when the tables are loaded
//! (at start and on `SIGHUP`), never while a message is routed.
//!
//! ```text
//! # comment
//! postmaster: root
//! staff:      alice, bob@example.net,
//!             "carol"                      <- a line starting with white space continues
//! archive:    /var/mail/archive            <- the `file` channel
//! bugs:       "|/usr/bin/bug-tracker --new"  <- the `pipe` channel
//! list:       :include:/etc/router/list.members
//! bob:        \bob, bob-archive            <- `\name`: the user itself, no further aliasing
//! ```
//!
//! Decisions (an administrator's expectations, written down):
//! - Names are matched case-insensitively; a name listed twice is an error that names both
//!   lines (sendmail warns and keeps the last; silently losing one list is worse).
//! - `:include:` files are read when the table is loaded, so routing never touches the file
//!   system (G4: no wait that is not bounded). After editing one, send `SIGHUP`.
//! - `|command` and `/file` are honoured only in the aliases file itself, which the
//!   administrator owns; in an `:include:` file (often kept by a list owner) they are an error.
//! - The router never runs a command and never writes a file: it routes those recipients to
//!   the `pipe` and `file` channels, whose agents do, with the alias name as the next hop.
//! - Every size is capped: the file (`ALIASES_FILE_BYTES_MAX`), each include (`INCLUDE_FILE_BYTES_MAX`),
//!   the number of includes (`INCLUDE_FILES_MAX`). A non-regular file (a FIFO, a device) is refused
//!   without being opened for reading, so loading cannot block.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::table::{TableError, TableSource};
use crate::limits::{
    ALIASES_FILE_BYTES_MAX, ALIAS_ITEM_BYTES_MAX, INCLUDE_FILES_MAX, INCLUDE_FILE_BYTES_MAX,
};

/// One right-hand-side element of an alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An address, parsed when the table is loaded: `user` (a bare local name: `domain` is
    /// empty, and the name is qualified with the domain of the alias it belongs to),
    /// `user@domain`, or `Name <user@domain>`.
    Address { local: String, domain: String },
    /// `|command`: routed to the `pipe` channel.
    Pipe(String),
    /// `/path`: routed to the `file` channel.
    File(String),
    /// `:include:path`: the members of that file (see [`Aliases::include_members`]).
    Include(usize),
    /// `\user`: the local user, no further aliasing.
    NoAlias(String),
}

/// A loaded aliases table.
#[derive(Debug, Default, Clone)]
pub struct Aliases {
    map: HashMap<String, Vec<Target>>,
    includes: Vec<(PathBuf, Vec<Target>)>,
}

impl Aliases {
    /// Loads an aliases file and every file it includes.
    pub fn load(path: &Path, src: &dyn TableSource) -> Result<Aliases, TableError> {
        let text = src.read(path, ALIASES_FILE_BYTES_MAX)?;
        let mut a = Aliases::default();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        for (line, entry) in logical_lines(&text) {
            let err = |message: String| TableError {
                path: path.into(),
                line,
                message,
            };
            let (name, rhs) = entry
                .split_once(':')
                .ok_or_else(|| err("no `:` after the alias name".into()))?;
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty()
                || name.contains(char::is_whitespace)
                || name.len() > ALIAS_ITEM_BYTES_MAX
            {
                return Err(err(format!("bad alias name {name:?}")));
            }
            if let Some(prev) = first_line.insert(name.clone(), line) {
                return Err(err(format!(
                    "alias {name:?} is defined twice (first on line {prev})"
                )));
            }
            let mut targets = Vec::new();
            for item in split_items(rhs).map_err(err)? {
                let t = match classify(item).map_err(err)? {
                    Incl(p) => Target::Include(a.include(src, path, line, &p)?),
                    Other(t) => t,
                };
                targets.push(t);
            }
            if targets.is_empty() {
                return Err(err(format!("alias {name:?} has no members")));
            }
            a.map.insert(name, targets);
        }
        Ok(a)
    }

    fn include(
        &mut self,
        src: &dyn TableSource,
        from: &Path,
        line: usize,
        p: &Path,
    ) -> Result<usize, TableError> {
        if let Some(i) = self.includes.iter().position(|(q, _)| q == p) {
            return Ok(i);
        }
        if self.includes.len() >= INCLUDE_FILES_MAX {
            return Err(TableError {
                path: from.into(),
                line,
                message: format!("more than {INCLUDE_FILES_MAX} :include: files"),
            });
        }
        let text = src.read_include(p, INCLUDE_FILE_BYTES_MAX)?;
        let mut members = Vec::new();
        for (line, entry) in text.lines().enumerate() {
            let err = |message: String| TableError {
                path: p.into(),
                line: line + 1,
                message,
            };
            if entry.trim_start().starts_with('#') {
                continue;
            }
            for item in split_items(entry).map_err(err)? {
                match classify(item).map_err(err)? {
                    Other(t @ (Target::Address { .. } | Target::NoAlias(_))) => members.push(t),
                    _ => {
                        return Err(err(format!(
                            "{item:?}: only addresses are allowed in an :include: file \
                             (commands, files and nested includes belong in the aliases file)"
                        )))
                    }
                }
            }
        }
        self.includes.push((p.into(), members));
        Ok(self.includes.len() - 1)
    }

    /// The members of alias `name` (lower-case), if there is one.
    pub fn get(&self, name: &str) -> Option<&[Target]> {
        self.map.get(name).map(Vec::as_slice)
    }

    /// The members of an included file.
    pub fn include_members(&self, i: usize) -> &[Target] {
        // Indexes come from this table's own loader: one that does not exist is a bug, never
        // an empty list that would silently drop a mailing list's members.
        match self.includes.get(i) {
            Some((_, m)) => m,
            None => panic!("include index {i} of {}", self.includes.len()),
        }
    }

    /// Number of aliases.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

enum Classified {
    Incl(PathBuf),
    Other(Target),
}
use Classified::{Incl, Other};

fn classify(item: &str) -> Result<Classified, String> {
    // Whatever an item becomes is written to an envelope line by the router.
    if item.is_empty() || item.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(format!("bad item {item:?} (empty, or a control character)"));
    }
    if item.len() > ALIAS_ITEM_BYTES_MAX {
        return Err(format!(
            "an item of {} bytes, over the limit of {ALIAS_ITEM_BYTES_MAX}",
            item.len()
        ));
    }
    let unquoted = match item.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(s) if item.len() >= 2 => s,
        _ => item,
    };
    if let Some(cmd) = unquoted.strip_prefix('|') {
        if cmd.trim().is_empty() {
            return Err("empty |command".into());
        }
        return Ok(Other(Target::Pipe(cmd.trim().into())));
    }
    if unquoted.starts_with('/') {
        return Ok(Other(Target::File(unquoted.into())));
    }
    const INCLUDE: &str = ":include:";
    let n = INCLUDE.len();
    if unquoted.len() > n && unquoted[..n].eq_ignore_ascii_case(INCLUDE) {
        let p = unquoted[n..].trim();
        if !p.starts_with('/') {
            return Err(format!(":include:{p}: the path must be absolute"));
        }
        return Ok(Incl(p.into()));
    }
    if let Some(user) = unquoted.strip_prefix('\\') {
        if user.is_empty() || user.contains(char::is_whitespace) {
            return Err(format!("bad \\user {item:?}"));
        }
        return Ok(Other(Target::NoAlias(user.to_ascii_lowercase())));
    }
    if !item.contains(['@', '<']) {
        // A bare local name; quotes around it are only quoting.
        if unquoted.is_empty() || unquoted.contains(char::is_whitespace) {
            return Err(format!("bad local name {item:?}"));
        }
        return Ok(Other(Target::Address {
            local: unquoted.to_ascii_lowercase(),
            domain: String::new(),
        }));
    }
    let arena = mailaddr::Arena::new(crate::limits::ALIAS_ARENA_BYTES);
    let list = mailaddr::parse_address_list(item.as_bytes(), &arena, &mailaddr::Options::DEFAULT)
        .map_err(|e| format!("bad address {item:?}: {e}"))?;
    let mut boxes = list.mailboxes();
    match (boxes.next(), boxes.next()) {
        (Some(m), None) => Ok(Other(Target::Address {
            local: m.local.into(),
            domain: m.domain.to_ascii_lowercase(),
        })),
        _ => Err(format!("{item:?}: one address expected")),
    }
}

/// Splits a right-hand side at commas outside double quotes and angle brackets.
fn split_items(rhs: &str) -> Result<Vec<&str>, String> {
    let mut items = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, 0u32, 0usize);
    let b = rhs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle += 1,
            b'>' if !quoted => angle = angle.saturating_sub(1),
            b',' if !quoted && angle == 0 => {
                items.push(rhs[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if quoted {
        return Err("unbalanced double quote".into());
    }
    items.push(rhs[start.min(rhs.len())..].trim());
    items.retain(|s| !s.is_empty());
    Ok(items)
}

/// The logical lines of an aliases file: comments and blank lines dropped, continuation lines
/// (starting with white space) joined to the line before, each with its first line number.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((_, prev)) if line.starts_with([' ', '\t']) => {
                prev.push(' ');
                prev.push_str(line.trim());
            }
            _ => out.push((i + 1, line.trim_end().to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::core::table::InMemory;

    fn load(text: &str) -> Result<Aliases, TableError> {
        let src = InMemory::default().with("/t/aliases", text);
        Aliases::load(Path::new("/t/aliases"), &src)
    }

    #[test]
    fn the_format_of_aliases_5() {
        let a = load(
            "# c\nPostmaster: root\nstaff: alice, bob@example.net,\n  \"carol\"\n\n\
             archive: /var/mail/archive\nbugs: \"|/usr/bin/bt --new, now\"\nbob: \\Bob, bob-archive\n\
             owner: \"Owner, The\" <o@example.org>\n",
        )
        .unwrap();
        let addr = |l: &str, d: &str| Target::Address {
            local: l.into(),
            domain: d.into(),
        };
        assert_eq!(a.get("postmaster"), Some(&[addr("root", "")][..]));
        assert_eq!(
            a.get("staff").unwrap(),
            &[
                addr("alice", ""),
                addr("bob", "example.net"),
                addr("carol", "")
            ]
        );
        assert_eq!(
            a.get("archive").unwrap(),
            &[Target::File("/var/mail/archive".into())]
        );
        assert_eq!(
            a.get("bugs").unwrap(),
            &[Target::Pipe("/usr/bin/bt --new, now".into())]
        );
        assert_eq!(
            a.get("bob").unwrap(),
            &[Target::NoAlias("bob".into()), addr("bob-archive", "")]
        );
        assert_eq!(a.get("owner").unwrap(), &[addr("o", "example.org")]);
        assert_eq!(a.len(), 6);
    }

    #[test]
    fn includes_are_read_at_load_and_may_not_hold_commands() {
        let p = Path::new("/t/aliases");
        let list = PathBuf::from("/t/list");
        let text = "l: :include:/t/list\nm: :INCLUDE:/t/list\n";
        let src = InMemory::default()
            .with("/t/aliases", text)
            .with("/t/list", "# members\na@example.org, b@example.org\nc\n");
        let a = Aliases::load(p, &src).unwrap();
        let Some([Target::Include(i)]) = a.get("l") else {
            panic!()
        };
        assert_eq!(a.get("m"), a.get("l"), "one file read once");
        assert_eq!(a.include_members(*i).len(), 3);
        let src = src.with("/t/list", "a@example.org\n|/bin/sh -c evil\n");
        let e = Aliases::load(p, &src).unwrap_err();
        assert_eq!((e.path.clone(), e.line), (list, 2), "{e}");
    }

    #[test]
    fn faults_name_their_line() {
        for (text, line, what) in [
            ("a: b\nnocolon\n", 2, "no `:`"),
            ("a: b\nA: c\n", 2, "defined twice (first on line 1)"),
            ("a:\n", 1, "no members"),
            ("a: \"b\n", 1, "unbalanced"),
            ("a: :include:rel/path\n", 1, "absolute"),
            ("a: |\n", 1, "empty |command"),
            ("a: b@, c\n", 1, "bad address"),
            ("a: \"|x\u{1}y\"\n", 1, "control character"),
            ("a: x@y.z w@v.u\n", 1, "bad address"),
        ] {
            let e = load(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.to_string().contains(what), "{text:?}: {e}");
        }
    }
}
