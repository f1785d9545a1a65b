//! The transport table, in the style of Postfix's `transport(5)`: which channel and next hop
//! a recipient domain goes to.
//!
//! ```text
//! # pattern          channel:nexthop
//! example.com        smtp:[mx.example.com]:25
//! .example.com       smtp:[mx.example.com]      <- any subdomain of example.com
//! lists.example.org  lists:
//! legacy.example     error:this domain no longer accepts mail
//! *                  smtp:[relay.example.net]   <- everything else
//! ```
//!
//! Lookup order for a domain `a.b.example.com`: the domain itself, then `.b.example.com`,
//! `.example.com`, `.com`, then `*`; the first match wins. As in Postfix, a bare `example.com`
//! does not match its subdomains (that is what the leading dot is for). The value is
//! `channel:nexthop`; an empty channel means the default channel, an empty next hop means the
//! relay host if one is set, else the domain. The `error` channel's next hop is the reason
//! given to the sender. Patterns are case-insensitive; a pattern listed twice is an error.

use std::collections::HashMap;
use std::path::Path;

use super::table::{TableError, TableSource};
use crate::limits::{NEXTHOP_BYTES_MAX, TRANSPORT_FILE_BYTES_MAX};
use crate::names::{is_channel, is_next_hop};

/// One entry's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Empty: the default channel.
    pub channel: String,
    /// Empty: the relay host or the domain.
    pub nexthop: String,
}

/// A loaded transport table.
#[derive(Debug, Default, Clone)]
pub struct Transport {
    map: HashMap<String, Entry>,
}

impl Transport {
    pub fn load(path: &Path, src: &dyn TableSource) -> Result<Transport, TableError> {
        let text = src.read(path, TRANSPORT_FILE_BYTES_MAX)?;
        let mut map = HashMap::new();
        let mut first: HashMap<String, usize> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let err = |message: String| TableError {
                path: path.into(),
                line: line_no,
                message,
            };
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (pattern, value) = l
                .split_once(char::is_whitespace)
                .ok_or_else(|| err("a pattern and a `channel:nexthop` value are needed".into()))?;
            let pattern = pattern.to_ascii_lowercase();
            let value = value.trim();
            let (channel, nexthop) = value.split_once(':').unwrap_or((value, ""));
            if !channel.is_empty() && !is_channel(channel) {
                return Err(err(format!(
                    "{channel:?} is not a channel name (lower-case letters, digits, - and _)"
                )));
            }
            let nexthop = nexthop.trim();
            if channel != "error" && !nexthop.is_empty() && !is_next_hop(nexthop) {
                return Err(err(format!(
                    "next hop {nexthop:?} has a space, an angle bracket or a control character"
                )));
            }
            if channel != "error" && nexthop.len() > NEXTHOP_BYTES_MAX {
                return Err(err(format!(
                    "next hop of {} bytes, over the limit of {NEXTHOP_BYTES_MAX}",
                    nexthop.len()
                )));
            }
            if let Some(prev) = first.insert(pattern.clone(), line_no) {
                return Err(err(format!(
                    "{pattern:?} is listed twice (first on line {prev})"
                )));
            }
            map.insert(
                pattern,
                Entry {
                    channel: channel.into(),
                    nexthop: nexthop.into(),
                },
            );
        }
        Ok(Transport { map })
    }

    /// The entry for a (lower-case) domain, by the lookup order above.
    pub fn lookup(&self, domain: &str) -> Option<&Entry> {
        if self.map.is_empty() {
            return None;
        }
        if let Some(e) = self.map.get(domain) {
            return Some(e);
        }
        let mut rest = domain;
        while let Some(dot) = rest.find('.') {
            if let Some(e) = self.map.get(&rest[dot..]) {
                return Some(e);
            }
            rest = &rest[dot + 1..];
        }
        self.map.get("*")
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Transport, TableError> {
        let src = crate::core::table::InMemory::default().with("/t/transport", text);
        Transport::load(Path::new("/t/transport"), &src)
    }

    #[test]
    fn parent_domains_match_only_with_a_leading_dot() {
        let t = load(
            "# t\nexample.com smtp:[mx.example.com]:25\n.example.com   relay:[sub-mx]\n\
             Lists.Example.org lists:\nold.example error:no longer accepts mail\n",
        )
        .unwrap();
        let get = |d: &str| {
            t.lookup(d)
                .map(|e| (e.channel.as_str(), e.nexthop.as_str()))
        };
        assert_eq!(get("example.com"), Some(("smtp", "[mx.example.com]:25")));
        assert_eq!(get("a.b.example.com"), Some(("relay", "[sub-mx]")));
        assert_eq!(get("lists.example.org"), Some(("lists", "")));
        assert_eq!(get("example.org"), None);
        assert_eq!(
            get("old.example"),
            Some(("error", "no longer accepts mail"))
        );
        let t = load("* :[relay]\n").unwrap();
        assert_eq!(
            t.lookup("anything.test")
                .map(|e| (e.channel.as_str(), e.nexthop.as_str())),
            Some(("", "[relay]"))
        );
    }

    #[test]
    fn faults_name_their_line() {
        for (text, line, what) in [
            ("a.com smtp:\nb.com\n", 2, "pattern and"),
            ("a.com Bad:x\n", 1, "not a channel"),
            (
                "a.com smtp:\nA.com local:\n",
                2,
                "listed twice (first on line 1)",
            ),
        ] {
            let e = load(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.to_string().contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_next_hop_that_would_change_an_output_line_is_refused() {
        for bad in ["smtp:relay <x@y>", "smtp:[a] [b]"] {
            let e = load(&format!("example.com {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("angle bracket") || e.contains("space"),
                "{bad}: {e}"
            );
        }
        assert!(load("example.com error:no longer <here>\n").is_ok());
    }
}
