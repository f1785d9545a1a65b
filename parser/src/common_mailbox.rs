//! The common mailbox shapes in one pass: `local@domain`, `<local@domain>`,
//! `Display Name <local@domain>` and `"Display Name" <local@domain>`, where the local part and
//! the domain are plain dot-atoms and the name is atoms joined by single spaces (or one quoted
//! string with nothing to unquote). Nearly every address in real mail has one of these shapes.
//!
//! The general path ([`address_list`](crate::address_list)) scans a run of words, then reads it
//! again as a name or a local part, then parses the angle address token by token. Here each
//! byte is read once and every string is borrowed. The result is exactly the general path's:
//! the same mailbox, the same tokens and addresses counted, the same depth checked, the same
//! trailing CFWS consumed. Anything else (comments, folds, quoted pairs, encoded words, dots
//! in a name, an empty atom, a limit that would be crossed, bytes that are not UTF-8) returns
//! `Ok(None)` with the cursor untouched, and the general path takes it from the same byte, so
//! every error is the general path's too. `Options::general_path_only` turns this off; the
//! tests and the fuzz targets compare both ways on every input.

use crate::address::Mailbox;
use crate::cursor::{is_atext, span_while, Cursor};
use crate::error::Result;

/// The end of a plain dot-atom starting at `i` (atext runs joined by single dots, no dot first
/// or last), and its token count (atoms and dots); `None` if there is none there.
fn dot_atom(input: &[u8], mut i: usize) -> Option<(usize, u32)> {
    let mut tokens = 0u32;
    loop {
        let n = span_while(input.get(i..)?, is_atext);
        if n == 0 {
            return None;
        }
        i += n;
        tokens += 1;
        if input.get(i) == Some(&b'.') {
            i += 1;
            tokens += 1;
        } else {
            return Some((i, tokens));
        }
    }
}

impl<'a> Cursor<'a, '_> {
    /// One address of a common shape at the cursor (past CFWS, not at `,`), or `Ok(None)` with
    /// nothing consumed. An error can come only from the trailing CFWS, as on the general path.
    #[inline(always)]
    pub(crate) fn common_mailbox(&mut self) -> Result<Option<Mailbox<'a>>> {
        if self.opts.general_path_only {
            return Ok(None);
        }
        let Some(m) = self.scan_common() else {
            return Ok(None);
        };
        self.skip_cfws()?;
        Ok(Some(m))
    }

    /// A return path of a common shape (`<local@domain>` or `local@domain`, no display name)
    /// that is all of the input after CFWS, or `Ok(None)` with nothing consumed.
    pub(crate) fn common_path(&mut self) -> Result<Option<Mailbox<'a>>> {
        if self.opts.general_path_only {
            return Ok(None);
        }
        let before = self.save();
        let Some(m) = self.scan_common() else {
            return Ok(None);
        };
        if m.name.is_none() {
            self.skip_cfws()?;
            if self.at_end() {
                return Ok(Some(m));
            }
        }
        self.restore(before);
        Ok(None)
    }

    #[inline(always)]
    fn scan_common(&mut self) -> Option<Mailbox<'a>> {
        let input = self.input;
        let start = self.pos;
        let mut i = start;
        let mut tokens = 0u32;
        let mut name = None;
        // The display name, if any, up to the `<`.
        match *input.get(i)? {
            b'<' => {}
            b'"' => {
                let len = memchr::memchr3(b'"', b'\\', 0, &input[i + 1..])?;
                let (open, close) = (i + 1, i + 1 + len);
                if input[close] != b'"'
                    || len == 0
                    || input[open..close].iter().any(|&b| b == b'\r' || b == b'\n')
                {
                    return None;
                }
                name = Some(self.text_at(open, close)?);
                tokens += 1;
                i = close + 1;
                if input.get(i) == Some(&b' ') {
                    i += 1;
                }
                if input.get(i) != Some(&b'<') {
                    return None;
                }
            }
            _ => {
                let (end, t) = dot_atom(input, i)?;
                if input.get(end) == Some(&b'@') {
                    // `local@domain`.
                    return self.commit_spec(start, i, end, t, None);
                }
                // A name: atoms joined by single spaces, no dot, no encoded word.
                let mut at = i;
                loop {
                    let n = span_while(&input[at..], is_atext);
                    if n == 0 {
                        return None;
                    }
                    at += n;
                    tokens += 1;
                    match input.get(at) {
                        Some(b' ') if input.get(at + 1) == Some(&b'<') => break,
                        Some(b' ') => at += 1,
                        Some(b'<') => break,
                        _ => return None,
                    }
                }
                let raw = &input[i..at];
                if memchr::memmem::find(raw, b"=?").is_some() {
                    return None;
                }
                name = Some(self.text_at(i, at)?);
                i = at + usize::from(input[at] == b' ');
            }
        }
        // `<local@domain>`.
        debug_assert_eq!(input.get(i), Some(&b'<'));
        let local = i + 1;
        let (end, t) = dot_atom(input, local)?;
        if input.get(end) != Some(&b'@') {
            return None;
        }
        self.commit_spec(start, local, end, tokens + t + 2, name)
    }

    /// The rest of a common mailbox: `@domain` at `at`, then `>` if the local part opened
    /// with one. `tokens` so far (the name's, the local part's, and `<` `>` when angled).
    #[inline(always)]
    fn commit_spec(
        &mut self,
        start: usize,
        local: usize,
        at: usize,
        tokens: u32,
        name: Option<&'a str>,
    ) -> Option<Mailbox<'a>> {
        let input = self.input;
        let angled = local > start && input[local - 1] == b'<';
        let (end, t) = dot_atom(input, at + 1)?;
        let next = input.get(end).copied();
        let after = if angled {
            if next != Some(b'>') {
                return None;
            }
            end + 1
        } else {
            // The end of the field or of the element. Not CFWS: the obsolete domain may go on
            // after it (`example . com`), which is the general path's to read.
            if !matches!(next, None | Some(b',')) {
                return None;
            }
            end
        };
        let tokens = tokens + t + 1;
        let l = &self.opts.limits;
        let over_length = !self.opts.allow_long_addresses
            && (at - local > l.local_part_bytes_max || end - (at + 1) > l.domain_bytes_max);
        if over_length
            || self.tokens + tokens > l.tokens_max
            || self.addresses >= l.addresses_max
            || (angled && self.depth + 1 > l.depth_max)
        {
            // The general path reports the limit with its exact offset.
            return None;
        }
        let local_str = self.text_at(local, at)?;
        let domain = self.text_at(at + 1, end)?;
        self.tokens += tokens;
        self.addresses += 1;
        self.pos = after;
        Some(Mailbox {
            name,
            route: None,
            local: local_str,
            domain,
            offset: start,
        })
    }
}
