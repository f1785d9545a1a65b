//! The common mailbox shapes in one pass: `local@domain`, `<local@domain>`,
//! `Display Name <local@domain>` and `"Display Name" <local@domain>`, where the local part and
//! the domain are plain dot-atoms and the name is atoms joined by single spaces (or one quoted
//! string with nothing to unquote). Nearly every address in real mail has one of these shapes.
//!
//! The general path ([`address_list`](crate::address_list)) scans a run of words, then reads it
//! again as a name or a local part, then parses the angle address token by token. Here each
//! byte is read once and every string is borrowed, and a list's run of such addresses, with
//! the commas and white space between them, is read in one loop ([`Cursor::common_run`]); a
//! value that is one such address and nothing else, as most fields are, is taken whole before
//! any list is set up, and, given alone, before its line breaks are checked
//! ([`Cursor::lone_common`]). The result is exactly the general path's: the same mailboxes,
//! the same tokens and addresses counted, the same depth checked, the same trailing CFWS
//! consumed. Anything else (comments, folds inside an address, quoted pairs, encoded words,
//! dots in a name, an empty atom, a limit that would be crossed, bytes that are not UTF-8)
//! stops the run at the byte where that address starts ([`Stop::Declined`]), and the general
//! path takes it from there, so every error is the general path's too.
//! `Options::general_path_only` turns this off; the tests and the fuzz targets compare both
//! ways on every input.

use crate::address::{Address, Mailbox};
use crate::address_list::Addresses;
use crate::cursor::{run_end, stop_bits, Cursor, StopBits, ATEXT};
use crate::error::Result;

/// Where a run of common addresses stopped ([`Cursor::common_run`]); the cursor is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// At the end of the input: the list is complete.
    End,
    /// After a `,` and the white space after it, at something for the top of the list loop
    /// (another `,`, or a comment).
    Top,
    /// At an element that is not of a common shape: the general path reads it from here.
    Declined,
    /// Just after an address and its trailing white space, at something that is neither `,`
    /// nor the end (a comment, or an error): the list loop goes on as after any address.
    AfterAddress,
}

/// A common mailbox, scanned but not yet counted.
struct Common<'a> {
    mailbox: Mailbox<'a>,
    /// Just after it: after `>` when angled; otherwise after the domain and the white space
    /// after it, which [`Cursor::unangled`] reads to see where the element ends.
    end: usize,
    /// Its tokens: the name's words, `<` and `>`, the local part's and the domain's atoms and
    /// dots, and `@`.
    tokens: u32,
    angled: bool,
    local_bytes: usize,
    domain_bytes: usize,
}

/// The end of the atext run starting at `i` (`i` itself if there is none), eight bytes a
/// turn with no branch per byte ([`run_end`]).
#[inline(always)]
fn atext_end(input: &[u8], i: usize) -> usize {
    run_end(input, i, &NOT_ATEXT_AT)
}

/// Bit `k` of `NOT_ATEXT_AT[k][b]` is set if `b` is not atext.
static NOT_ATEXT_AT: StopBits = stop_bits(&ATEXT);

/// The end of a display name's plain quoted text starting at `open`: the first quote,
/// backslash, NUL, CR or LF. The first 16 bytes by the eight-byte scan (a display name is
/// short); past them memchr, for the quote, backslash or NUL and then for a fold before it
/// (so an unterminated quote in a long field costs a vector scan, not eight lookups a word:
/// the `unbalanced-quote-early` shape went from 0.97 to 4.05 instructions a byte at 1 MiB
/// with the eight-byte scan alone).
#[inline(always)]
fn plain_quoted_end(input: &[u8], open: usize) -> usize {
    let head_end = open.saturating_add(16).min(input.len());
    let Some(head) = input.get(..head_end) else {
        return input.len();
    };
    let k = run_end(head, open, &NOT_PLAIN_QTEXT_AT);
    if k < head_end {
        return k;
    }
    let rest = &input[head_end..];
    let stop = memchr::memchr3(b'"', b'\\', 0, rest).unwrap_or(rest.len());
    head_end + memchr::memchr2(b'\r', b'\n', &rest[..stop]).unwrap_or(stop)
}

/// Bit `k` of `NOT_PLAIN_QTEXT_AT[k][b]` is set if `b` ends a display name's quoted text on
/// the one-pass path: the quote, a backslash (a quoted pair), NUL, CR or LF.
static NOT_PLAIN_QTEXT_AT: StopBits = stop_bits(&{
    let mut t = [true; 256];
    t[b'"' as usize] = false;
    t[b'\\' as usize] = false;
    t[0] = false;
    t[b'\r' as usize] = false;
    t[b'\n' as usize] = false;
    t
});

/// The end of the run of white space starting at `i`, folds included: usually none or one
/// byte. A line break is taken only as a fold (CR LF or LF, then a space or tab, as
/// [`check_folds`](crate::cfws::check_folds) has it), so that the one-pass path checks the
/// line breaks it takes itself; any other ends the run, at it, and the fold check finds it
/// there before the general path reads on. (`cursor::span_while` over the rest of the input,
/// a new slice and iterator each time, cost 72 K instructions a pass more on the real-mail
/// fields here.)
#[inline(always)]
fn fws_end(input: &[u8], mut i: usize) -> usize {
    loop {
        match input.get(i) {
            Some(b' ' | b'\t') => i += 1,
            Some(b'\r') if input.get(i + 1) == Some(&b'\n') && is_wsp(input.get(i + 2)) => i += 3,
            Some(b'\n') if is_wsp(input.get(i + 1)) => i += 2,
            _ => return i,
        }
    }
}

/// A space or a tab.
#[inline(always)]
fn is_wsp(b: Option<&u8>) -> bool {
    matches!(b, Some(b' ' | b'\t'))
}

/// An address list given alone up to this length is looked at whole first
/// ([`Cursor::lone_common`]). A look that fails is work done twice: the list loop scans the
/// first address again (and a quote that never closes would be scanned to the end once more:
/// `unbalanced-quote-early` went from 1.20 to 1.80 instructions a byte at 1 MiB with no
/// bound). Past 64 bytes a real value is more often a list than one address (of the 125
/// real-mail values over 64 bytes, 50 are one address): on the 1 597 values, 1.663 M
/// instructions a pass with the look up to 1 KiB, 1.651 M to 128 bytes, 1.649 M to 96,
/// 1.647 M to 64, 1.653 M to 48.
pub(crate) const LONE_ALONE_BYTES_MAX: usize = 64;

/// A path given alone up to this length is looked at whole first. A path is one address or
/// an error, so the look seldom fails, and a VERP return path runs to 100 bytes: the real
/// values 1.647 M a pass with paths bounded as lists are, 1.643 M with this.
pub(crate) const LONE_PATH_BYTES_MAX: usize = 1024;

/// A header block's field up to this length is looked at whole first. Its folds are checked
/// already, so the look saves only the list's set-up, and a look that fails, at a list, costs
/// a scan: only a short field is nearly always one address (real-mail fields: 2.274 M
/// instructions a pass with no look, 2.235 M with it up to 40 bytes, 2.244 M up to 96; the
/// valid corpus, which has short lists, 106.7 K, 106.7 K, 111.0 K).
pub(crate) const LONE_FIELD_BYTES_MAX: usize = 40;

/// The end of the run of spaces and tabs starting at `i` (no line break).
#[inline(always)]
fn wsp_end(input: &[u8], mut i: usize) -> usize {
    while is_wsp(input.get(i)) {
        i += 1;
    }
    i
}

/// The end of a plain dot-atom starting at `i` (atext runs joined by single dots, no dot first
/// or last), and its token count (atoms and dots); `None` if there is none there.
#[inline(always)]
fn dot_atom(input: &[u8], i: usize) -> Option<(usize, u32)> {
    let mut from = i;
    let mut tokens = 1;
    loop {
        let end = atext_end(input, from);
        if end == from {
            return None;
        }
        if input.get(end) != Some(&b'.') {
            return Some((end, tokens));
        }
        from = end + 1;
        tokens += 2;
    }
}

impl<'a> Cursor<'a, '_> {
    /// Reads addresses of the common shapes and the separators between them, from an element
    /// at the cursor (past CFWS, not at `,` or the end), pushing each to `list`, until the
    /// input ends or something the one-pass path does not read. Counts what the general path
    /// counts, and leaves the cursor where the list loop goes on ([`Stop`]).
    #[inline(always)]
    pub(crate) fn common_run(&mut self, list: &mut Addresses<'a>) -> Result<Stop> {
        if self.opts.general_path_only {
            return Ok(Stop::Declined);
        }
        let input = self.input;
        let mut i = self.pos;
        loop {
            let Some(m) = self.scan_common(i) else {
                self.pos = i;
                return Ok(Stop::Declined);
            };
            if !self.within_limits(&m) {
                // The general path reports the limit with its exact offset.
                self.pos = i;
                return Ok(Stop::Declined);
            }
            self.tokens += m.tokens;
            self.addresses += 1;
            // An unangled address's end is past its white space already.
            let mut j = if m.angled {
                fws_end(input, m.end)
            } else {
                m.end
            };
            self.pos = j;
            list.push(self, Address::Mailbox(m.mailbox))?;
            match input.get(j) {
                None => return Ok(Stop::End),
                Some(b',') => {
                    self.count_token()?;
                    j += 1;
                }
                Some(_) => return Ok(Stop::AfterAddress),
            }
            j = fws_end(input, j);
            match input.get(j) {
                None => {
                    self.pos = j;
                    return Ok(Stop::End);
                }
                Some(b',') | Some(b'(') => {
                    self.pos = j;
                    return Ok(Stop::Top);
                }
                Some(_) => i = j,
            }
        }
    }

    /// A return path of a common shape (`<local@domain>` or `local@domain`, no display name)
    /// that is all of the input after CFWS, or `Ok(None)` with nothing consumed.
    #[inline(always)]
    pub(crate) fn common_path(&mut self) -> Result<Option<Mailbox<'a>>> {
        if self.opts.general_path_only {
            return Ok(None);
        }
        let Some(m) = self.scan_common(self.pos) else {
            return Ok(None);
        };
        if m.mailbox.name.is_some() || !self.within_limits(&m) {
            return Ok(None);
        }
        let j = fws_end(self.input, m.end);
        if j < self.input.len() {
            return Ok(None);
        }
        self.tokens += m.tokens;
        self.addresses += 1;
        self.pos = j;
        Ok(Some(m.mailbox))
    }

    /// A value that is one address of a common shape and nothing else but spaces and tabs
    /// around it, as most address fields are: its mailbox (the whole value read), or `None`.
    /// Looked for in a value of up to `bytes_max` ([`LONE_ALONE_BYTES_MAX`] for a list given
    /// alone, [`LONE_PATH_BYTES_MAX`] for a path given alone, [`LONE_FIELD_BYTES_MAX`] for a
    /// header block's field), before any list is set up, and for a value given alone before
    /// its line breaks are checked ([`check_folds`](crate::cfws::check_folds)): a value it
    /// takes holds no CR or LF (the shapes have none inside, and only spaces and tabs are
    /// taken around them), so that check could find nothing, and the general path would give
    /// the same one mailbox (`Options::general_path_only` turns this off with the rest).
    #[inline(always)]
    pub(crate) fn lone_common(&self, bytes_max: usize) -> Option<Mailbox<'a>> {
        if self.opts.general_path_only || self.input.len() > bytes_max {
            return None;
        }
        let input = self.input;
        let start = wsp_end(input, 0);
        let m = self.scan_common(start)?;
        // Where the address itself ends: an unangled one's `end` is past the white space
        // (folds too) after its domain.
        let after = if m.angled {
            m.end
        } else {
            start + m.local_bytes + 1 + m.domain_bytes
        };
        if wsp_end(input, after) != input.len() || !self.within_limits(&m) {
            return None;
        }
        Some(m.mailbox)
    }

    /// Whether counting `m` stays within every cap and length the general path checks.
    #[inline(always)]
    fn within_limits(&self, m: &Common<'a>) -> bool {
        let l = &self.opts.limits;
        let over_length = !self.opts.allow_long_addresses
            && (m.local_bytes > l.local_part_bytes_max || m.domain_bytes > l.domain_bytes_max);
        !over_length
            && self.tokens + m.tokens <= l.tokens_max
            && self.addresses < l.addresses_max
            && !(m.angled && self.depth + 1 > l.depth_max)
    }

    /// One mailbox of a common shape at `start`, or `None`.
    #[inline(always)]
    fn scan_common(&self, start: usize) -> Option<Common<'a>> {
        let input = self.input;
        let mut i = start;
        let mut tokens = 0u32;
        let mut name = None;
        // The display name, if any, up to the `<`.
        match *input.get(i)? {
            b'<' => {}
            b'"' => {
                // Plain quoted text up to the closing quote: no quoted pair, no NUL, no fold.
                let (open, close) = (i + 1, plain_quoted_end(input, i + 1));
                if input.get(close) != Some(&b'"') || close == open {
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
                let end = atext_end(input, i);
                if end == i {
                    return None;
                }
                if matches!(input.get(end), Some(b'@') | Some(b'.')) {
                    return self.unangled(start, end);
                }
                // A name: atoms joined by single spaces, no dot, no encoded word.
                let mut at = end;
                tokens = 1;
                loop {
                    match input.get(at) {
                        Some(b' ') if input.get(at + 1) == Some(&b'<') => break,
                        Some(b' ') => {
                            let end = atext_end(input, at + 1);
                            if end == at + 1 {
                                return None;
                            }
                            at = end;
                            tokens += 1;
                        }
                        Some(b'<') => break,
                        _ => return None,
                    }
                }
                let raw = &input[i..at];
                // No encoded word (`=?`): a name's bytes are few, so a branch-free look at
                // every byte for `=` costs less than a search call (`=` is rare in a name).
                let has_equals = raw.iter().fold(false, |seen, &b| seen | (b == b'='));
                if has_equals && memchr::memmem::find(raw, b"=?").is_some() {
                    return None;
                }
                name = Some(self.text_at(i, at)?);
                i = at + usize::from(input[at] == b' ');
            }
        }
        // `<local@domain>`.
        debug_assert_eq!(input.get(i), Some(&b'<'));
        let local = i + 1;
        let (at, local_tokens) = dot_atom(input, local)?;
        if input.get(at) != Some(&b'@') {
            return None;
        }
        let (end, domain_tokens) = dot_atom(input, at + 1)?;
        if input.get(end) != Some(&b'>') {
            return None;
        }
        let (local_str, domain) = self.spec_at(local, at, end)?;
        Some(Common {
            mailbox: Mailbox {
                name,
                route: None,
                local: local_str,
                domain,
                offset: start,
            },
            end: end + 1,
            tokens: tokens + local_tokens + domain_tokens + 3,
            angled: true,
            local_bytes: at - local,
            domain_bytes: end - (at + 1),
        })
    }

    /// `local@domain` at `start`, its first atom ending at `first_end`, then the end of the
    /// element: the end of the field or `,`, after white space at most. Not a comment: the
    /// obsolete domain may go on after one (`example (c) .com`), which is the general path's
    /// to read.
    #[inline(always)]
    fn unangled(&self, start: usize, first_end: usize) -> Option<Common<'a>> {
        let input = self.input;
        let (at, local_tokens) = if input[first_end] == b'.' {
            let (at, t) = dot_atom(input, first_end + 1)?;
            (at, t + 2)
        } else {
            (first_end, 1)
        };
        if input.get(at) != Some(&b'@') {
            return None;
        }
        let (end, domain_tokens) = dot_atom(input, at + 1)?;
        let next = fws_end(input, end);
        if !matches!(input.get(next), None | Some(b',')) {
            return None;
        }
        let (local, domain) = self.spec_at(start, at, end)?;
        Some(Common {
            mailbox: Mailbox {
                name: None,
                route: None,
                local,
                domain,
                offset: start,
            },
            // Past the white space after it, already read.
            end: next,
            tokens: local_tokens + 1 + domain_tokens,
            angled: false,
            local_bytes: at - start,
            domain_bytes: end - (at + 1),
        })
    }

    /// The local part `input[local..at]` and the domain `input[at + 1..end]` as text: one
    /// slice of the field's text split at its `@` (two boundary checks fewer than two slices).
    #[inline(always)]
    fn spec_at(&self, local: usize, at: usize, end: usize) -> Option<(&'a str, &'a str)> {
        let spec = self.text_at(local, end)?;
        let (local, domain) = spec.split_at_checked(at - local)?;
        Some((local, domain.get(1..)?))
    }
}

#[cfg(test)]
mod tests {
    use super::{atext_end, dot_atom, plain_quoted_end};
    use crate::cursor::is_atext;

    fn naive_quoted_end(input: &[u8], i: usize) -> usize {
        i + input[i..]
            .iter()
            .take_while(|&&b| !matches!(b, b'"' | b'\\' | 0 | b'\r' | b'\n'))
            .count()
    }

    fn naive_atext_end(input: &[u8], i: usize) -> usize {
        i + input[i..].iter().take_while(|&&b| is_atext(b)).count()
    }

    fn naive_dot_atom(input: &[u8], i: usize) -> Option<(usize, u32)> {
        let end = i + input[i..]
            .iter()
            .take_while(|&&b| is_atext(b) || b == b'.')
            .count();
        let run = &input[i..end];
        let ok = !run.is_empty()
            && run[0] != b'.'
            && run[run.len() - 1] != b'.'
            && !run.windows(2).any(|w| w == b"..");
        let dots = run.iter().filter(|&&b| b == b'.').count() as u32;
        ok.then_some((end, 2 * dots + 1))
    }

    /// Every start in inputs of every length to past two chunks (and past the quoted text's
    /// 16-byte head), made of atext, dots and stops in a fixed pseudo-random mix (so runs end
    /// inside a chunk, on its edge, in the last bytes of the input and at its end): the plain
    /// loops' answers.
    #[test]
    fn the_chunked_scans_find_what_plain_loops_find() {
        let alphabet = b"ab.@ <\xc3\xa9-.\"\\\r\n\0";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut tried = 0;
        for len in 0..48 {
            for _ in 0..60 {
                let input: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly atext, so that runs are long enough to cross chunks.
                        if !seed.is_multiple_of(3) {
                            b'x'
                        } else {
                            alphabet[(seed >> 8) as usize % alphabet.len()]
                        }
                    })
                    .collect();
                for i in 0..=len {
                    assert_eq!(
                        atext_end(&input, i),
                        naive_atext_end(&input, i),
                        "{input:?} {i}"
                    );
                    assert_eq!(
                        dot_atom(&input, i),
                        naive_dot_atom(&input, i),
                        "{input:?} {i}"
                    );
                    assert_eq!(
                        plain_quoted_end(&input, i),
                        naive_quoted_end(&input, i),
                        "{input:?} {i}"
                    );
                    tried += 1;
                }
            }
        }
        assert!(tried > 40_000, "{tried}");
    }
}
