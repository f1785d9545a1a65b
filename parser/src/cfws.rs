//! CFWS: folding white space and comments (RFC 5322 section 3.2.2, with obs-FWS of 4.2).
//!
//! Comments nest; the nesting is tracked by a counter, not by recursion, and capped by
//! `Limits::depth_max` (the structural depth of the enclosing group or angle counts too).
//! An unterminated comment is [`ErrorKind::UnbalancedParen`] at the opening `(`. Comment text
//! is skipped, never kept: a comment is not a display name.

use crate::cursor::{find3, is_fws, span_while, Cursor};
use crate::error::{ErrorKind, Result};

impl Cursor<'_, '_> {
    /// Skips any CFWS at the cursor. Returns true if anything was skipped.
    #[inline(always)]
    pub fn skip_cfws(&mut self) -> Result<bool> {
        // Most calls find a token, not white space: answer those without a call.
        match self.input.get(self.pos) {
            // One space before a token (`a@b, c@d`): the usual case, answered here too.
            Some(b' ')
                if !self
                    .input
                    .get(self.pos + 1)
                    .is_some_and(|&b| is_fws(b) || b == b'(') =>
            {
                self.pos += 1;
                Ok(true)
            }
            Some(&b) if is_fws(b) || b == b'(' => self.skip_cfws_slow(),
            _ => Ok(false),
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
