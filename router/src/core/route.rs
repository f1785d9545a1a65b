//! Routing: one recipient address in, its destinations (channel, next hop, address) out.
//! No files, no I/O: the tables were loaded before (see [`Routing::load`]).
//!
//! For a recipient `local@domain`, in this order (SPEC section 5):
//! 1. `domain` is a local domain: `\user` is the user itself; else the alias `local`, or, for
//!    `user+detail` with no alias of that name, the alias `user`; else the `local` channel.
//!    Alias members are routed the same way, recursively; a bare name in an alias takes the
//!    domain of the alias. `|command` goes to `pipe` and `/file` to `file`, with the alias
//!    name as the next hop. An alias that lists itself means its user (sendmail's rule).
//! 2. Otherwise the transport table (exact domain, `.parent` domains, `*`); the `error` channel
//!    there carries its text as the reason.
//! 3. Otherwise the default channel, with the relay host as next hop if one is set, else the
//!    domain.
//! 4. An address that does not parse, or whose domain is over `domain_bytes_max`, goes to
//!    `error` with the reason. A local part over `local_part_bytes_max` is routed (RFC 5321's
//!    64 is what a server must accept; VERP return paths are longer).
//!
//! Alias expansion is bounded: a chain deeper than `alias_max_depth` and a loop (a name that
//! reappears in its own chain) stop the message with [`ParkReason`], which parks it; every
//! destination produced, duplicates included, counts against `alias_max_fanout`, so the work
//! and the memory one message can cause are capped. Duplicates are removed at the end, keeping
//! the first.

use std::collections::HashSet;

use mailaddr::{parse_path, Arena, Options};

use super::aliases::{Aliases, Target};
use super::table::{TableError, TableSource};
use super::transport::Transport;
use crate::config::RoutingConfig;
use crate::limits::ERROR_REASON_BYTES_MAX;
use crate::reason::ParkReason;

/// Where one recipient goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dest {
    pub channel: String,
    /// The next hop; `-` for none.
    pub host: String,
    /// The address as the channel's agent needs it: `<user@domain>`, the command, the file.
    pub address: String,
    /// For the `error` channel: why.
    pub error: Option<String>,
}

/// The routing tables and rules of one configuration.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// Lower-case.
    pub local_domains: Vec<String>,
    pub aliases: Aliases,
    pub transport: Transport,
    pub default_channel: String,
    pub relay_host: String,
    pub alias_depth_max: usize,
    pub alias_fanout_max: usize,
    /// How envelope recipients are parsed, and the domain length past which a recipient goes
    /// to `error` (an interoperability length: a long local part is routed, as Postfix does).
    pub addresses: Options,
}

impl Routing {
    /// Builds the routing of a configuration, loading its tables.
    pub fn load(
        c: &RoutingConfig,
        addresses: Options,
        src: &dyn TableSource,
    ) -> Result<Routing, TableError> {
        let aliases = if c.aliases.as_os_str().is_empty() {
            Aliases::default()
        } else {
            Aliases::load(&c.aliases, src)?
        };
        let transport = if c.transport.as_os_str().is_empty() {
            Transport::default()
        } else {
            Transport::load(&c.transport, src)?
        };
        Ok(Routing {
            local_domains: c
                .local_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            aliases,
            transport,
            default_channel: c.default_channel.clone(),
            relay_host: c.relay_host.clone(),
            alias_depth_max: c.alias_depth_max,
            alias_fanout_max: c.alias_fanout_max,
            addresses,
        })
    }

    fn is_local(&self, domain: &str) -> bool {
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// Routes an envelope recipient (`<user@domain>`), appending to `out`. `arena` is reset.
    pub fn route_path(
        &self,
        rcpt: &str,
        arena: &mut Arena,
        out: &mut Expansion,
    ) -> Result<(), ParkReason> {
        arena.reset();
        match parse_path(rcpt.as_bytes(), arena, &self.addresses) {
            Ok(Some(m)) => self.route_mailbox(m.local, m.domain, out),
            Ok(None) => out.push(
                Dest {
                    channel: "error".into(),
                    host: "-".into(),
                    address: rcpt.into(),
                    error: Some("null recipient <>".into()),
                },
                None,
            ),
            Err(e) => out.push(
                Dest {
                    channel: "error".into(),
                    host: "-".into(),
                    address: rcpt.into(),
                    error: Some(capped(format!("{}: {}", e.kind.name(), e))),
                },
                None,
            ),
        }
    }

    /// Routes a parsed recipient (canonical local part, domain), appending to `out`.
    pub fn route_mailbox(
        &self,
        local: &str,
        domain: &str,
        out: &mut Expansion,
    ) -> Result<(), ParkReason> {
        if let Some(&byte) = local
            .as_bytes()
            .iter()
            .chain(domain.as_bytes())
            .find(|&&b| b < 0x20 || b == 0x7f)
        {
            return Err(ParkReason::ControlCharacter {
                address: format!("{local}@{domain}"),
                byte,
            });
        }
        let limit = self.addresses.limits.domain_bytes_max;
        if domain.len() > limit {
            // No DNS name is that long: the recipient cannot be delivered, the others can.
            return out.push(
                Dest {
                    channel: "error".into(),
                    host: "-".into(),
                    address: format!("<{local}@{domain}>"),
                    error: Some(format!(
                        "domain-too-long: domain of {} bytes is over the limit of {limit}",
                        domain.len()
                    )),
                },
                None,
            );
        }
        let domain = domain.to_ascii_lowercase();
        let mut chain = Vec::new();
        self.expand(local, &domain, &mut chain, out)
    }

    fn expand(
        &self,
        local: &str,
        domain: &str,
        chain: &mut Vec<String>,
        out: &mut Expansion,
    ) -> Result<(), ParkReason> {
        // A recipient given directly (no alias chain yet) is bounded by the envelope's or the
        // headers' own caps; only what aliases expand into counts against the fan-out cap.
        let cap = (!chain.is_empty()).then_some(self.alias_fanout_max);
        if !self.is_local(domain) {
            return out.push(self.remote(local, domain), cap);
        }
        let mut key = local.to_ascii_lowercase();
        let members = match self.aliases.get(&key) {
            Some(m) => Some(m),
            None => match key.split_once('+') {
                Some((user, _)) => {
                    let m = self.aliases.get(user);
                    if m.is_some() {
                        key = user.to_string();
                    }
                    m
                }
                None => None,
            },
        };
        let Some(members) = members else {
            return out.push(local_dest(local, domain), cap);
        };
        if chain.contains(&key) {
            chain.push(key);
            return Err(ParkReason::AliasLoop {
                chain: chain.join(" -> "),
            });
        }
        if chain.len() >= self.alias_depth_max {
            chain.push(key);
            return Err(ParkReason::AliasTooDeep {
                chain: chain.join(" -> "),
                limit: self.alias_depth_max,
            });
        }
        chain.push(key);
        for m in members {
            self.member(m, domain, chain, out)?;
        }
        chain.pop();
        Ok(())
    }

    fn member(
        &self,
        m: &Target,
        domain: &str,
        chain: &mut Vec<String>,
        out: &mut Expansion,
    ) -> Result<(), ParkReason> {
        let cap = Some(self.alias_fanout_max);
        let name = chain.last().map_or("-", String::as_str);
        match m {
            Target::Address { local, domain: d } => {
                let d = if d.is_empty() { domain } else { d.as_str() };
                if chain.last() == Some(local) && self.is_local(d) {
                    // `bob: bob, bob-archive`: the alias names its own user.
                    out.push(local_dest(local, d), cap)
                } else {
                    self.expand(local, d, chain, out)
                }
            }
            Target::NoAlias(user) => out.push(local_dest(user, domain), cap),
            Target::Pipe(cmd) => out.push(
                Dest {
                    channel: "pipe".into(),
                    host: name.into(),
                    address: cmd.clone(),
                    error: None,
                },
                cap,
            ),
            Target::File(path) => out.push(
                Dest {
                    channel: "file".into(),
                    host: name.into(),
                    address: path.clone(),
                    error: None,
                },
                cap,
            ),
            Target::Include(i) => {
                for m in self.aliases.include_members(*i) {
                    self.member(m, domain, chain, out)?;
                }
                Ok(())
            }
        }
    }

    /// A recipient outside the local domains: the transport table, else the default channel.
    fn remote(&self, local: &str, domain: &str) -> Dest {
        let address = format!("<{local}@{domain}>");
        let hop = |nexthop: &str| {
            if !nexthop.is_empty() {
                nexthop.to_string()
            } else if !self.relay_host.is_empty() {
                self.relay_host.clone()
            } else {
                domain.to_string()
            }
        };
        match self.transport.lookup(domain) {
            Some(e) if e.channel == "error" => Dest {
                channel: "error".into(),
                host: "-".into(),
                address,
                error: Some(capped(if e.nexthop.is_empty() {
                    format!("the transport table refuses mail for {domain}")
                } else {
                    e.nexthop.clone()
                })),
            },
            Some(e) => Dest {
                channel: if e.channel.is_empty() {
                    self.default_channel.clone()
                } else {
                    e.channel.clone()
                },
                host: hop(&e.nexthop),
                address,
                error: None,
            },
            None => Dest {
                channel: self.default_channel.clone(),
                host: hop(""),
                address,
                error: None,
            },
        }
    }
}

fn capped(mut s: String) -> String {
    if s.len() > ERROR_REASON_BYTES_MAX {
        let mut end = ERROR_REASON_BYTES_MAX - 3;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

fn local_dest(local: &str, domain: &str) -> Dest {
    Dest {
        channel: "local".into(),
        host: "-".into(),
        address: format!("<{local}@{domain}>"),
        error: None,
    }
}

/// The destinations of one message, as they are produced: duplicates are kept until
/// [`Expansion::finish`], and every one an alias expanded into counts against the fan-out
/// cap (recipients given directly are bounded by the envelope's and the headers' caps).
#[derive(Debug, Default)]
pub struct Expansion {
    dests: Vec<Dest>,
    /// Per destination: true when an alias expanded into it (ZMailer mode gives such a
    /// destination the aliases file's privilege, not the network's).
    aliased: Vec<bool>,
    /// Destinations produced by alias expansion, duplicates included.
    expanded: usize,
}

impl Expansion {
    /// Adds a destination; `cap` is `Some(alias_fanout_max)` inside an alias expansion.
    fn push(&mut self, d: Dest, cap: Option<usize>) -> Result<(), ParkReason> {
        if let Some(cap) = cap {
            if self.expanded >= cap {
                return Err(ParkReason::TooManyDestinations { limit: cap });
            }
            self.expanded += 1;
        }
        self.dests.push(d);
        self.aliased.push(cap.is_some());
        Ok(())
    }

    /// Destinations produced so far, duplicates included: where the next recipient's start.
    pub fn len(&self) -> usize {
        self.dests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dests.is_empty()
    }

    /// Every destination as produced, duplicates kept, each with whether an alias expanded
    /// into it: for a caller that removes duplicates by a key of its own (ZMailer mode keeps
    /// one line per recipient given, as its DSNs are per recipient).
    pub fn into_raw(self) -> Vec<(bool, Dest)> {
        self.aliased.into_iter().zip(self.dests).collect()
    }

    /// The destinations, duplicates removed (the first kept), in order. Two destinations are
    /// the same when their channel and address are: an address's domain compared without
    /// case (RFC 5321 section 2.4), its local part, a command or a file name exactly.
    pub fn finish(self) -> Vec<Dest> {
        let mut seen = HashSet::with_capacity(self.dests.len());
        self.dests
            .into_iter()
            .filter(|d| seen.insert((d.channel.clone(), dedup_key(&d.address))))
            .collect()
    }
}

/// The address with its domain lower-cased, for `<local@domain>`; anything else as it is.
pub fn dedup_key(address: &str) -> String {
    match address
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .and_then(|a| a.rsplit_once('@'))
    {
        Some((local, domain)) => format!("<{local}@{}>", domain.to_ascii_lowercase()),
        None => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(aliases: &str, transport: &str) -> ((), Routing) {
        let src = crate::core::table::InMemory::default()
            .with("/t/aliases", aliases)
            .with("/t/transport", transport);
        let mut c = RoutingConfig {
            local_domains: vec!["Example.ORG".into(), "lists.example.org".into()],
            ..RoutingConfig::default()
        };
        if !aliases.is_empty() {
            c.aliases = "/t/aliases".into();
        }
        if !transport.is_empty() {
            c.transport = "/t/transport".into();
        }
        ((), Routing::load(&c, Options::ROUTING, &src).unwrap())
    }

    fn route(r: &Routing, rcpt: &str) -> Result<Vec<(String, String, String)>, ParkReason> {
        let mut arena = Arena::new(64 << 10);
        let mut x = Expansion::default();
        r.route_path(rcpt, &mut arena, &mut x)?;
        Ok(x.finish()
            .into_iter()
            .map(|d| (d.channel, d.host, d.error.unwrap_or(d.address)))
            .collect())
    }

    fn t(c: &str, h: &str, a: &str) -> (String, String, String) {
        (c.into(), h.into(), a.into())
    }

    #[test]
    fn every_rule_of_section_5() {
        let (_d, r) = routing(
            "staff: alice, bob@example.net, \\carol, staff-archive\nstaff-archive: /var/mail/staff\n\
             bugs: \"|/usr/bin/bt\"\nbob: bob, bob@elsewhere.example\n",
            "example.net smtp:[mx.example.net]\n.example.com relay:\nold.example error:gone since 2020\n",
        );
        assert_eq!(
            route(&r, "<Staff@example.org>").unwrap(),
            vec![
                t("local", "-", "<alice@example.org>"),
                t("smtp", "[mx.example.net]", "<bob@example.net>"),
                t("local", "-", "<carol@example.org>"),
                t("file", "staff-archive", "/var/mail/staff"),
            ]
        );
        assert_eq!(
            route(&r, "<bugs@example.org>").unwrap(),
            vec![t("pipe", "bugs", "/usr/bin/bt")]
        );
        // An alias naming its own user delivers to it.
        assert_eq!(
            route(&r, "<bob@example.org>").unwrap(),
            vec![
                t("local", "-", "<bob@example.org>"),
                t("smtp", "elsewhere.example", "<bob@elsewhere.example>")
            ]
        );
        // user+detail: the exact name first, then the user's alias, else local as written.
        assert_eq!(
            route(&r, "<bugs+urgent@example.org>").unwrap(),
            vec![t("pipe", "bugs", "/usr/bin/bt")]
        );
        assert_eq!(
            route(&r, "<dave+x@example.org>").unwrap(),
            vec![t("local", "-", "<dave+x@example.org>")]
        );
        // Transport: parent domains with a leading dot, the error channel, the default.
        assert_eq!(
            route(&r, "<x@a.b.example.com>").unwrap(),
            vec![t("relay", "a.b.example.com", "<x@a.b.example.com>")]
        );
        assert_eq!(
            route(&r, "<x@example.com>").unwrap(),
            vec![t("smtp", "example.com", "<x@example.com>")]
        );
        assert_eq!(
            route(&r, "<x@old.example>").unwrap(),
            vec![t("error", "-", "gone since 2020")]
        );
        // Unparseable and null recipients go to error with the parser's reason.
        let e = route(&r, "<x@@example.com>").unwrap();
        assert_eq!(e[0].0, "error");
        assert!(e[0].2.starts_with("missing-domain"), "{e:?}");
        assert_eq!(
            route(&r, "<>").unwrap(),
            vec![t("error", "-", "null recipient <>")]
        );
        // A relay host is the next hop for everything without its own.
        let mut r2 = r.clone();
        r2.relay_host = "[relay.example.net]:25".into();
        assert_eq!(
            route(&r2, "<x@example.com>").unwrap(),
            vec![t("smtp", "[relay.example.net]:25", "<x@example.com>")]
        );
        assert_eq!(
            route(&r2, "<x@a.example.com>").unwrap(),
            vec![t("relay", "[relay.example.net]:25", "<x@a.example.com>")]
        );
        assert_eq!(
            route(&r2, "<x@example.net>").unwrap(),
            vec![t("smtp", "[mx.example.net]", "<x@example.net>")]
        );
        assert_eq!(
            route(&r2, "<x@other.test>").unwrap(),
            vec![t("smtp", "[relay.example.net]:25", "<x@other.test>")]
        );
    }

    #[test]
    fn loops_depth_and_fan_out_are_caught() {
        let (_d, r) = routing(
            "a: b\nb: c@lists.example.org\nc: a, x\nd1: d2\nd2: d3\nd3: d4\nd4: d5\nd5: end\n\
             wide: w1, w1, w1, w1\nw1: u1, u2, u3, u4\n",
            "",
        );
        assert_eq!(
            route(&r, "<A@example.org>"),
            Err(ParkReason::AliasLoop {
                chain: "a -> b -> c -> a".into()
            })
        );
        let mut shallow = r.clone();
        shallow.alias_depth_max = 3;
        assert_eq!(
            route(&shallow, "<d1@example.org>"),
            Err(ParkReason::AliasTooDeep {
                chain: "d1 -> d2 -> d3 -> d4".into(),
                limit: 3
            })
        );
        // Duplicates count against the cap (they are work) and are removed at the end.
        let mut r = r;
        r.alias_fanout_max = 16;
        assert_eq!(route(&r, "<wide@example.org>").unwrap().len(), 4);
        r.alias_fanout_max = 15;
        assert_eq!(
            route(&r, "<wide@example.org>"),
            Err(ParkReason::TooManyDestinations { limit: 15 })
        );
    }

    #[test]
    fn plain_recipients_are_not_counted_against_the_alias_fan_out_cap() {
        // Found by a real-mail run: 1 001 envelope recipients were parked by the alias cap,
        // though the envelope allows 10 000. Only what aliases expand into counts.
        let (_d, mut r) = routing("team: a, b, c\n", "");
        r.alias_fanout_max = 3;
        let mut arena = Arena::new(64 << 10);
        let mut x = Expansion::default();
        for i in 0..1001 {
            r.route_path(&format!("<u{i}@example.net>"), &mut arena, &mut x)
                .unwrap();
        }
        r.route_path("<team@example.org>", &mut arena, &mut x)
            .unwrap();
        assert_eq!(x.finish().len(), 1004);
        let mut x = Expansion::default();
        r.alias_fanout_max = 2;
        assert_eq!(
            r.route_path("<team@example.org>", &mut arena, &mut x),
            Err(ParkReason::TooManyDestinations { limit: 2 })
        );
    }

    #[test]
    fn duplicates_compare_the_domain_without_case_and_the_rest_exactly() {
        let (_d, r) = routing("", "");
        let mut arena = Arena::new(64 << 10);
        let mut x = Expansion::default();
        for rcpt in [
            "<Bob@example.net>",
            "<bob@example.net>",
            "<bob@EXAMPLE.net>",
            "<Bob@Example.NET>",
        ] {
            r.route_path(rcpt, &mut arena, &mut x).unwrap();
        }
        let got: Vec<String> = x.finish().into_iter().map(|d| d.address).collect();
        assert_eq!(got, ["<Bob@example.net>", "<bob@example.net>"]);
        assert_eq!(dedup_key("/var/Mail/X"), "/var/Mail/X");
        assert_eq!(dedup_key("<A@B.C>"), "<A@b.c>");
    }
}
