//! Mailboxes (RFC 5322 `mailbox`, `name-addr`, `angle-addr`, `addr-spec`, with `obs-route` and
//! `obs-angle-addr`), and the return path of RFC 5322 `path`.
//!
//! An angle address counts one level of depth. Errors: [`ErrorKind::UnbalancedAngle`] (a `<`
//! that never closes, at the `<`), [`ErrorKind::EmptyAddress`] (`<>` where a mailbox is
//! needed), [`ErrorKind::MissingAt`], and whatever the parts report.

use crate::address::Mailbox;
use crate::cursor::Cursor;
use crate::error::{ErrorKind, Result};
use crate::word_run::WordRun;

impl<'a> Cursor<'a, '_> {
    /// The rest of an addr-spec whose local-part run has been scanned and whose `@` is at the
    /// cursor. Consumes trailing CFWS.
    pub fn addr_spec_after_run(&mut self, run: &WordRun) -> Result<(&'a str, &'a str)> {
        let local = self.local_part(run)?;
        self.count_token()?;
        self.pos += 1; // '@'
        self.skip_cfws()?;
        let domain = self.domain()?;
        Ok((local, domain))
    }

    /// An angle address; the cursor is on `<`. Returns `None` for `<>`. Consumes trailing CFWS.
    pub fn angle_addr(&mut self) -> Result<Option<(Option<&'a str>, &'a str, &'a str)>> {
        let open = self.pos;
        self.count_token()?;
        self.enter()?;
        self.pos += 1;
        self.skip_cfws()?;
        let route = match self.peek() {
            Some(b'@') | Some(b',') => Some(self.obs_route()?),
            _ => None,
        };
        let run = self.scan_word_run()?;
        let spec = match self.peek() {
            Some(b'@') => Some(self.addr_spec_after_run(&run)?),
            Some(b'>') if run.is_empty() && route.is_none() => None,
            Some(b'>') if run.is_empty() => return Err(self.err(ErrorKind::MissingLocalPart)),
            Some(b'>') | Some(b',') | Some(b';') => {
                return Err(self.err_at(ErrorKind::MissingAt, run.start))
            }
            None => return Err(self.err_at(ErrorKind::UnbalancedAngle, open)),
            _ => return Err(self.unexpected_in_angle(open)),
        };
        match self.peek() {
            Some(b'>') => {
                self.count_token()?;
                self.pos += 1;
            }
            None => return Err(self.err_at(ErrorKind::UnbalancedAngle, open)),
            _ => return Err(self.unexpected_in_angle(open)),
        }
        self.leave();
        self.skip_cfws()?;
        Ok(spec.map(|(local, domain)| (route, local, domain)))
    }

    fn unexpected_in_angle(&self, open: usize) -> crate::Error {
        match self.peek() {
            // A second '<' before the first closed: the first one is the unbalanced one.
            Some(b'<') => self.err_at(ErrorKind::UnbalancedAngle, open),
            _ => self.unexpected(),
        }
    }

    /// obs-route: `*([CFWS] ",") [CFWS] "@" domain *("," [CFWS] ["@" domain]) ":"`.
    /// Returns it canonical: `@a,@b`.
    fn obs_route(&mut self) -> Result<&'a str> {
        let start = self.pos;
        let mut out = self.buf();
        loop {
            self.skip_cfws()?;
            match self.peek() {
                Some(b',') => {
                    self.count_token()?;
                    self.pos += 1;
                }
                Some(b'@') => {
                    self.count_token()?;
                    self.pos += 1;
                    self.skip_cfws()?;
                    let d = self.domain()?;
                    if out.len() > 0 {
                        self.arena_ok(out.push_byte(b','))?;
                    }
                    self.arena_ok(out.push_byte(b'@'))?;
                    self.arena_ok(out.push(d.as_bytes()))?;
                }
                Some(b':') if out.len() > 0 => {
                    self.count_token()?;
                    self.pos += 1;
                    self.skip_cfws()?;
                    return self.finish_str(out, start);
                }
                // `<@example.com>`: a domain and no local part (it read as a route that never
                // reached its `:`); "unbalanced angle" named the wrong fault.
                Some(b'>') if out.len() > 0 => return Err(self.err(ErrorKind::MissingLocalPart)),
                None => return Err(self.err(ErrorKind::UnbalancedAngle)),
                _ => return Err(self.unexpected()),
            }
        }
    }

    /// A mailbox whose leading run is scanned and whose next byte is `<` or `@`.
    pub fn mailbox_after_run(&mut self, run: &WordRun) -> Result<Mailbox<'a>> {
        let offset = run.start;
        match self.peek() {
            Some(b'<') => {
                let name = self.phrase(run)?;
                let at = self.pos;
                match self.angle_addr()? {
                    Some((route, local, domain)) => Ok(Mailbox {
                        name,
                        route,
                        local,
                        domain,
                        offset,
                    }),
                    None => Err(self.err_at(ErrorKind::EmptyAddress, at)),
                }
            }
            _ => {
                let (local, domain) = self.addr_spec_after_run(run)?;
                Ok(Mailbox {
                    name: None,
                    route: None,
                    local,
                    domain,
                    offset,
                })
            }
        }
    }
}
