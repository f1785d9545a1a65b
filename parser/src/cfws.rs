//! CFWS: folding white space and comments (RFC 5322 section 3.2.2, with obs-FWS of 4.2).
//!
//! Comments nest; the nesting is tracked by a counter, not by recursion, and capped by
//! `Limits::depth_max` (the structural depth of the enclosing group or angle counts too).
//! An unterminated comment is [`ErrorKind::UnbalancedParen`] at the opening `(`. Comment text
//! is skipped, never kept: a comment is not a display name.
//!
//! A line break is white space only as part of a fold: CR only before LF, and a line break
//! only before a space or tab ([`check_folds`]: one scan of the input before the general path
//! reads it, skipped for a header block's field that the block found free of bare CRs; the
//! one-pass path for common shapes takes a line break only as a fold). Read as
//! plain white space, a bare CR turned `"\rtest"@x` into the address `test@x`, and some mail
//! software downstream ends a line at a bare CR (header injection).

use crate::cursor::{below_0e, find3, is_fws, span_while, Cursor};
use crate::error::{Error, ErrorKind, Result};

impl Cursor<'_, '_> {
    /// Skips any CFWS at the cursor. Returns true if anything was skipped.
    #[inline(always)]
    pub fn skip_cfws(&mut self) -> Result<bool> {
        // Most calls find a token, not white space: answer those without a call.
        match self.input.get(self.pos) {
            // One space before a token (`a@b, c@d`): the usual case, answered here too.
            Some(b' ') if !starts_cfws(self.input.get(self.pos + 1)) => {
                self.pos += 1;
                Ok(true)
            }
            b if starts_cfws(b) => self.skip_cfws_slow(),
            _ => Ok(false),
        }
    }

    /// Whether [`skip_cfws`](Self::skip_cfws) answers without its slow path: it takes
    /// nothing, or one space alone, so no line break either way.
    #[inline(always)]
    pub(crate) fn at_plain_cfws(&self) -> bool {
        match self.input.get(self.pos) {
            Some(b' ') => !starts_cfws(self.input.get(self.pos + 1)),
            b => !starts_cfws(b),
        }
    }

    #[inline(never)]
    fn skip_cfws_slow(&mut self) -> Result<bool> {
        let start = self.pos;
        loop {
            self.pos += span_while(self.rest(), is_fws);
            if self.peek() == Some(b'(') {
                self.skip_comment()?;
            } else {
                return Ok(self.pos > start);
            }
        }
    }

    /// Skips one comment, nested comments and quoted pairs included. The cursor is on `(`.
    fn skip_comment(&mut self) -> Result<()> {
        let open = self.pos;
        let base = self.depth;
        let mut depth = base;
        loop {
            let rest = self.rest();
            match find3(b'(', b')', b'\\', rest) {
                None => return Err(self.err_at(ErrorKind::UnbalancedParen, open)),
                Some(i) => {
                    // ctext and obs-ctext exclude NUL (a quoted pair may carry one).
                    if let Some(nul) = memchr::memchr(0, &rest[..i]) {
                        self.pos += nul;
                        return Err(self.err(ErrorKind::UnexpectedChar { byte: 0 }));
                    }
                    self.pos += i;
                    match self.input[self.pos] {
                        b'(' => {
                            self.count_token()?;
                            depth += 1;
                            self.check_depth(depth)?;
                            self.pos += 1;
                        }
                        b')' => {
                            // The opening `(` made depth > base; a `)` at base ended the
                            // comment on the turn before.
                            debug_assert!(depth > base, "comment depth below its base");
                            depth -= 1;
                            self.pos += 1;
                            if depth == base {
                                return Ok(());
                            }
                        }
                        // A quoted pair: the next byte, whatever it is, is text.
                        _ => {
                            if self.pos + 1 >= self.input.len() {
                                return Err(self.err_at(ErrorKind::UnbalancedParen, open));
                            }
                            self.pos += 2;
                        }
                    }
                }
            }
        }
    }
}

/// Every CR and LF of `input` from `from` on, outside a quoted pair, belongs to a fold (RFC 5322 FWS and
/// obs-FWS): CR is followed by LF, and a line break by a space or tab. The first that is not
/// is `unexpected-character` at the line break's first byte. A lone LF with its space counts
/// as a fold: messages stored with LF line ends fold that way. A CR or LF right after an odd
/// run of backslashes is the second byte of a quoted pair (obs-qp: legal in quoted strings,
/// comments and domain literals; anywhere else the backslash is the error). A header block's
/// field needs no such check unless it holds a bare CR (`Field`): its line ends are folds by
/// construction.
///
/// A field given alone is often short, and almost none has a line break (63 of the 1 597
/// address fields of the real-mail sample): up to 64 bytes, a first look at every byte, a word
/// at a time, finds whether any is below 0x0E (CR, LF, tab, the rarer controls) before
/// `memchr2` is called (its call cost 145 instructions on a 13-byte field, most of it before
/// the first byte). Past 64 bytes memchr2's vector loop wins: the word loop costs about one
/// instruction a byte (the sample's values alone: 1.993 M instructions a pass with the look up
/// to 32 bytes, 1.983 M up to 64 or 128, 1.985 M up to 256).
#[inline(never)]
pub(crate) fn check_folds(input: &[u8], mut from: usize) -> Result<(), Error> {
    let Some(rest) = input.get(from..) else {
        return Ok(());
    };
    if rest.len() <= 64 && !has_control(rest) {
        return Ok(());
    }
    while let Some(i) = memchr::memchr2(b'\r', b'\n', &input[from..]) {
        let at = from + i;
        let backslashes = input[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 1 {
            from = at + 1;
            continue;
        }
        let lf = match input[at] {
            b'\r' if input.get(at + 1) == Some(&b'\n') => at + 1,
            b'\r' => return Err(bad_break(input, at)),
            _ => at,
        };
        if !matches!(input.get(lf + 1), Some(b' ' | b'\t')) {
            return Err(bad_break(input, at));
        }
        from = lf + 2;
    }
    Ok(())
}

/// Whether any byte of `input` is below 0x0E: each word's mask (the last word read so that it
/// ends with the input; an input under eight bytes read as one word padded with spaces), ORed
/// together and looked at once.
#[inline(always)]
fn has_control(input: &[u8]) -> bool {
    let (words, _) = input.as_chunks::<8>();
    let last = match input.len().checked_sub(8) {
        Some(from) => input[from..].first_chunk::<8>().copied(),
        None => None,
    };
    let last = last.unwrap_or_else(|| {
        let mut w = [b' '; 8];
        w[..input.len()].copy_from_slice(input);
        w
    });
    let mut any = below_0e(u64::from_le_bytes(last));
    for w in words {
        any |= below_0e(u64::from_le_bytes(*w));
    }
    any != 0
}

/// White space or a comment starts at this byte.
#[inline(always)]
fn starts_cfws(b: Option<&u8>) -> bool {
    b.is_some_and(|&b| is_fws(b) || b == b'(')
}

#[cold]
fn bad_break(input: &[u8], at: usize) -> Error {
    Error {
        kind: ErrorKind::UnexpectedChar { byte: input[at] },
        offset: at,
    }
}

#[cfg(test)]
mod tests {
    use super::has_control;

    /// Every length to past the 64 bytes where it is used, each byte below 0x0E and around it
    /// put at every place in turn among plain bytes (the last word read overlaps the others;
    /// an input under eight bytes is padded): the plain loop's answer.
    #[test]
    fn the_first_look_finds_what_a_plain_loop_finds() {
        let mut tried = 0;
        for len in 0..72 {
            for b in 0u8..=0x20 {
                for at in 0..len {
                    let mut input = vec![b'x'; len];
                    input[at] = b;
                    let naive = input.iter().any(|&b| b < 0x0E);
                    assert_eq!(has_control(&input), naive, "{input:?}");
                    tried += 1;
                }
            }
            assert!(!has_control(&vec![b'x'; len]));
        }
        assert!(tried > 10_000, "{tried}");
    }
}
