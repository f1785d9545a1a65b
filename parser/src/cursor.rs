//! The parse state every grammar module shares: the input, the position, and the counters that
//! enforce the limits (tokens, depth, addresses), plus the arena buffer type.
//!
//! Everything that can fail here fails with the offset of the cursor at that moment, or of the
//! construct that opened, as the caller chooses. Nothing here recurses or allocates outside the
//! arena.

use crate::arena::Arena;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Options;

/// RFC 5322 `atext`, plus every byte >= 0x80 (RFC 6532: UTF-8 is checked per token later).
pub(crate) const ATEXT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b >= 0x80;
        i += 1;
    }
    let extra = b"!#$%&'*+-/=?^_`{|}~";
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
};

/// A byte class: printable ASCII (0x21 to 0x7E) but the bytes of `except` (a field name's
/// bytes, RFC 2047's `token`).
pub(crate) const fn printable_except(except: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0x21;
    while b < 0x7F {
        t[b] = true;
        b += 1;
    }
    let mut k = 0;
    while k < except.len() {
        t[except[k] as usize] = false;
        k += 1;
    }
    t
}

#[inline]
pub(crate) fn is_atext(b: u8) -> bool {
    ATEXT[b as usize]
}

/// Folding white space bytes: WSP, and the CR and LF of a fold.
#[inline]
pub(crate) fn is_fws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Per place in an eight-byte word, per byte: the place's bit if the byte ends a run
/// ([`stop_bits`], [`run_end`]).
pub(crate) type StopBits = [[u8; 256]; 8];

/// The [`StopBits`] of a class of bytes: bit `k` of `[k][b]` set where `member[b]` is false.
pub(crate) const fn stop_bits(member: &[bool; 256]) -> StopBits {
    let mut t = [[0u8; 256]; 8];
    let mut k = 0;
    while k < 8 {
        let mut b = 0;
        while b < 256 {
            if !member[b] {
                t[k][b] = 1 << k;
            }
            b += 1;
        }
        k += 1;
    }
    t
}

/// The end of the run of class members that starts at `i` (`i` itself if there is none), the
/// class given by its [`StopBits`]. Eight bytes a turn: each byte's stop bit is one table
/// lookup and one OR, and the run ends at the mask's lowest set bit, so there is no branch per
/// byte. (A loop that leaves at the first byte outside the class mispredicts that exit once a
/// run; on real address fields those were most of the clock's difference to mail-parser,
/// `--branch-sim=yes`.) Fewer than eight bytes from the end, the input's last eight are read,
/// shifted so that bit 0 is `i`, with the end of the input as one more stop.
#[inline(always)]
pub(crate) fn run_end(input: &[u8], mut i: usize, stops: &StopBits) -> usize {
    while let Some(c) = input.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let stop = word_stops(c, stops);
        if stop != 0 {
            return i + stop.trailing_zeros() as usize;
        }
        i += 8;
    }
    let len = input.len();
    match input
        .get(len.wrapping_sub(8)..)
        .and_then(|r| r.first_chunk::<8>())
    {
        Some(c) if i <= len => {
            let stop = (u32::from(word_stops(c, stops)) >> (i + 8 - len)) | (1 << (len - i));
            i + stop.trailing_zeros() as usize
        }
        // An input shorter than eight bytes.
        _ => {
            while input.get(i).is_some_and(|&b| stops[0][b as usize] == 0) {
                i += 1;
            }
            i
        }
    }
}

/// The stop bits of eight bytes, one lookup each ([`run_end`]). A function of its own, always
/// inlined: as a closure, the compiler once left it out of line in a large caller.
#[inline(always)]
fn word_stops(c: &[u8; 8], stops: &StopBits) -> u8 {
    let mut stop = 0u8;
    for (k, &b) in c.iter().enumerate() {
        stop |= stops[k][b as usize];
    }
    stop
}

/// The high bit of each byte of `w` that is below 0x0E, exactly (the byte's low seven bits
/// plus 0x72 do not carry into its high bit, and its own high bit is clear).
#[inline(always)]
pub(crate) fn below_0e(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    !(((w & LOW7) + LO * 0x72) | w) & HIGH
}

/// Length of the longest prefix of `input` whose bytes satisfy `f`. (nom's `take_while` does
/// the same; this plain loop is the hottest code in the crate: 2.9 % fewer instructions on the
/// valid corpus under callgrind. nom matches the grammar with structure: encoded words.)
#[inline(always)]
pub(crate) fn span_while(input: &[u8], f: impl Fn(u8) -> bool) -> usize {
    input.iter().position(|&b| !f(b)).unwrap_or(input.len())
}

/// The first of `a`, `b` or `c` in `hay`: a plain loop over the first 16 bytes, where the next
/// one usually is (in a quoted string or a comment of real mail, or right after a quoted pair),
/// then memchr for the rest. Each byte is looked at once. A memchr call per quoted pair cost
/// about 80 instructions a pair on a flood of them.
#[inline]
pub(crate) fn find3(a: u8, b: u8, c: u8, hay: &[u8]) -> Option<usize> {
    let head = hay.len().min(16);
    match hay[..head].iter().position(|&x| x == a || x == b || x == c) {
        Some(i) => Some(i),
        None => memchr::memchr3(a, b, c, &hay[head..]).map(|i| i + head),
    }
}

/// `t[start..end]` if both ends are character boundaries. Two half-open slices: each is one
/// boundary check, inlined (`t.get(start..end)` is a call of its own: 4 % of the instructions
/// on real address fields).
#[inline(always)]
pub(crate) fn sub_str(t: &str, start: usize, end: usize) -> Option<&str> {
    t.get(start..)?.get(..end.checked_sub(start)?)
}

pub(crate) struct Cursor<'a, 'o> {
    pub input: &'a [u8],
    /// The input as text, when all of it is UTF-8 (checked once, up front): then a token's
    /// text is a slice of it, with no further validation.
    text: Option<&'a str>,
    pub pos: usize,
    pub arena: &'a Arena,
    pub opts: &'o Options,
    /// Tokens counted so far (limit: `tokens_max`).
    pub tokens: u32,
    /// Structural depth: 1 inside a group, +1 inside an angle address (limit: `depth_max`).
    pub depth: u32,
    /// Addresses counted so far (limit: `addresses_max`).
    pub addresses: u32,
}

/// `input` as text, or `None` if it is not UTF-8. Mail is nearly all ASCII: a field of up to
/// 64 bytes is first looked at a word at a time for a byte above 0x7F (`ascii`), and meets the
/// UTF-8 validator only if there is one; a longer one goes to simdutf8 at once, whose vector
/// loop passes ASCII faster than the word loop (0.38 against 0.44 instructions a byte on the
/// shapes refused at once, at 1 MiB; on the real-mail values, 1.7360 M instructions a pass
/// with the look up to 64 bytes, 1.7363 M to 128, 1.7388 M to 256, 1.7415 M to 1 KiB).
#[inline(always)]
fn as_text(input: &[u8]) -> Option<&str> {
    if input.len() <= ASCII_LOOK_BYTES_MAX {
        if let Ok(text) = ascii::AsAsciiStr::as_ascii_str(input) {
            return Some(text.as_str());
        }
    }
    simdutf8::basic::from_utf8(input).ok()
}

/// Up to this length a field's text is looked for as ASCII first ([`as_text`]).
const ASCII_LOOK_BYTES_MAX: usize = 64;

impl<'a, 'o> Cursor<'a, 'o> {
    /// A cursor at the start of `input`; `text` is the input as text when the caller has
    /// checked it (it must be the same bytes), else it is checked here. The input's line
    /// breaks are the caller's to check ([`check_folds`](crate::cfws::check_folds)), after
    /// its look for one common address, which takes none.
    pub fn new(
        input: &'a [u8],
        text: Option<&'a str>,
        arena: &'a Arena,
        opts: &'o Options,
    ) -> Result<Self> {
        debug_assert!(
            text.is_none_or(|t| t.as_bytes() == input),
            "text is not the input"
        );
        let limit = opts.limits.input_bytes_max;
        if input.len() > limit {
            return Err(Error {
                kind: ErrorKind::InputTooLarge {
                    len: input.len(),
                    limit,
                },
                offset: limit,
            });
        }
        Ok(Cursor {
            input,
            text: text.or_else(|| as_text(input)),
            pos: 0,
            arena,
            opts,
            tokens: 0,
            depth: 0,
            addresses: 0,
        })
    }

    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        // pos never passes input.len(): every advance is bounded by a scan of the input.
        debug_assert!(
            self.pos <= self.input.len(),
            "cursor at {} past the input's {} bytes",
            self.pos,
            self.input.len()
        );
        self.input.get(self.pos..).unwrap_or(&[])
    }

    #[inline]
    pub fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    pub fn err(&self, kind: ErrorKind) -> Error {
        Error {
            kind,
            offset: self.pos,
        }
    }

    pub fn err_at(&self, kind: ErrorKind, offset: usize) -> Error {
        Error { kind, offset }
    }

    pub fn unexpected(&self) -> Error {
        match self.peek() {
            Some(b')') => self.err(ErrorKind::UnbalancedParen),
            Some(b'>') => self.err(ErrorKind::UnbalancedAngle),
            Some(b']') => self.err(ErrorKind::UnbalancedBracket),
            Some(byte) => self.err(ErrorKind::UnexpectedChar { byte }),
            None => self.err(ErrorKind::UnexpectedChar { byte: 0 }),
        }
    }

    pub fn exhausted(&self) -> Error {
        self.err(ErrorKind::ArenaExhausted {
            limit: self.arena.capacity_bytes(),
        })
    }

    /// Counts one lexical token against `tokens_max`.
    #[inline]
    pub fn count_token(&mut self) -> Result<()> {
        self.tokens += 1;
        let limit = self.opts.limits.tokens_max;
        if self.tokens > limit {
            return Err(self.err(ErrorKind::TooManyTokens { limit }));
        }
        Ok(())
    }

    /// Counts one address against `addresses_max`.
    pub fn count_address(&mut self, offset: usize) -> Result<()> {
        self.addresses += 1;
        let limit = self.opts.limits.addresses_max;
        if self.addresses > limit {
            return Err(self.err_at(ErrorKind::TooManyAddresses { limit }, offset));
        }
        Ok(())
    }

    /// Checks that `depth` is within `depth_max`.
    #[inline]
    pub fn check_depth(&self, depth: u32) -> Result<()> {
        let limit = self.opts.limits.depth_max;
        if depth > limit {
            return Err(self.err(ErrorKind::DepthExceeded { depth, limit }));
        }
        Ok(())
    }

    /// Enters an angle address or a group.
    pub fn enter(&mut self) -> Result<()> {
        self.check_depth(self.depth + 1)?;
        self.depth += 1;
        Ok(())
    }

    pub fn leave(&mut self) {
        debug_assert!(self.depth > 0, "leave() without enter()");
        self.depth = self.depth.saturating_sub(1);
    }

    pub fn buf(&self) -> Buf<'a> {
        Buf {
            v: bumpalo::collections::Vec::new_in(self.arena.bump()),
        }
    }

    /// Runs `f` on a second pass over already-validated input: tokens are not counted again.
    pub fn replay<T>(&mut self, from: usize, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        // A replay re-reads what was scanned: it starts behind the cursor, never past it
        // (past it, tokens would be read that were never counted against tokens_max).
        assert!(
            from <= self.pos && self.pos <= self.input.len(),
            "replay from {from} with the cursor at {} of {}",
            self.pos,
            self.input.len()
        );
        let (pos, tokens) = (self.pos, self.tokens);
        self.pos = from;
        let r = f(self);
        self.pos = pos;
        self.tokens = tokens;
        r
    }

    /// `input[start..end]` as text: a slice of the validated input when there is one, else
    /// validated here ([`ErrorKind::InvalidUtf8`] at the first bad byte).
    #[inline]
    pub fn str_at(&self, start: usize, end: usize) -> Result<&'a str> {
        debug_assert!(
            start <= end && end <= self.input.len(),
            "str_at({start}, {end})"
        );
        if let Some(s) = self.text.and_then(|t| sub_str(t, start, end)) {
            return Ok(s);
        }
        let raw = self.input.get(start..end).unwrap_or(&[]);
        core::str::from_utf8(raw)
            .map_err(|e| self.err_at(ErrorKind::InvalidUtf8, start + e.valid_up_to()))
    }

    /// `input[start..end]` as text, or `None` if it is not UTF-8: [`str_at`](Self::str_at)
    /// without the error, for the one-pass path (the general path reports it).
    #[inline(always)]
    pub fn text_at(&self, start: usize, end: usize) -> Option<&'a str> {
        match self.text {
            Some(t) => sub_str(t, start, end),
            None => core::str::from_utf8(self.input.get(start..end)?).ok(),
        }
    }

    /// Moves bytes into the arena as a `&str`, checking UTF-8.
    pub fn finish_str(&self, buf: Buf<'a>, offset: usize) -> Result<&'a str> {
        let bytes = buf.finish();
        core::str::from_utf8(bytes).map_err(|_| self.err_at(ErrorKind::InvalidUtf8, offset))
    }
}

/// A growable byte buffer in the arena. Only `try_reserve` allocates; nothing panics at the cap.
pub(crate) struct Buf<'a> {
    v: bumpalo::collections::Vec<'a, u8>,
}

/// The arena said no.
#[derive(Debug)]
pub(crate) struct Exhausted;

impl<'a> Buf<'a> {
    #[inline]
    pub fn push(&mut self, bytes: &[u8]) -> core::result::Result<(), Exhausted> {
        if self.v.capacity() - self.v.len() < bytes.len() {
            self.v.try_reserve(bytes.len()).map_err(|_| Exhausted)?;
        }
        self.v.extend_from_slice_copy(bytes);
        Ok(())
    }

    #[inline]
    pub fn push_byte(&mut self, b: u8) -> core::result::Result<(), Exhausted> {
        if self.v.len() == self.v.capacity() {
            self.v.try_reserve(1).map_err(|_| Exhausted)?;
        }
        // Capacity was ensured just above: this push cannot allocate (a one-byte slice
        // pushed through `push` was a memcpy call per byte).
        self.v.push(b);
        Ok(())
    }

    /// Makes room for `n` more bytes at once, exactly (for a buffer that will not grow again).
    pub fn reserve(&mut self, n: usize) -> core::result::Result<(), Exhausted> {
        self.v.try_reserve_exact(n).map_err(|_| Exhausted)
    }

    /// Makes room for `n` more bytes at once, growing as pushes do (at least doubling), so
    /// that a buffer made room in again and again is still copied a bounded number of times
    /// a byte.
    pub fn make_room(&mut self, n: usize) -> core::result::Result<(), Exhausted> {
        self.v.try_reserve(n).map_err(|_| Exhausted)
    }

    /// Appends `n` zero bytes and returns them for a decoder to write into.
    pub fn extend_zeroed(&mut self, n: usize) -> core::result::Result<&mut [u8], Exhausted> {
        self.v.try_reserve(n).map_err(|_| Exhausted)?;
        let start = self.v.len();
        self.v.resize(start + n, 0);
        Ok(&mut self.v[start..])
    }

    pub fn truncate(&mut self, len: usize) {
        self.v.truncate(len);
    }

    pub fn len(&self) -> usize {
        self.v.len()
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.v
    }

    pub fn finish(self) -> &'a [u8] {
        self.v.into_bump_slice()
    }
}

impl Cursor<'_, '_> {
    /// Turns an arena refusal into [`ErrorKind::ArenaExhausted`] at the cursor.
    #[inline]
    pub fn arena_ok<T>(&self, r: core::result::Result<T, Exhausted>) -> Result<T> {
        r.map_err(|Exhausted| self.exhausted())
    }
}

impl Buf<'_> {
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.v
    }
}

#[cfg(test)]
mod tests {
    use super::{as_text, find3};

    /// ASCII, UTF-8 of every width and bytes that are not UTF-8, at every place in inputs of
    /// every length to past the 64 bytes where the ASCII look stops: the validator's answer.
    #[test]
    fn as_text_gives_what_the_validator_gives() {
        let pieces: [&[u8]; 7] = [
            b"\xc3\xa9",
            b"\xe2\x82\xac",
            b"\xf0\x9f\x93\xa7",
            b"\x80",
            b"\xc3",
            b"\xff",
            b"\x7f",
        ];
        let mut tried = 0;
        for len in 0..80 {
            for at in 0..=len {
                for piece in pieces {
                    let mut input = vec![b'a'; len];
                    input.splice(at..at, piece.iter().copied());
                    assert_eq!(
                        as_text(&input),
                        core::str::from_utf8(&input).ok(),
                        "{input:?}"
                    );
                    tried += 1;
                }
            }
            let plain = vec![b'x'; len];
            assert_eq!(as_text(&plain), core::str::from_utf8(&plain).ok());
        }
        assert!(tried > 5000, "{tried}");
    }

    /// Every length to well past the inline head, the first special byte at every place (or
    /// none), each of the three, with a second one after it: the plain search's answer.
    #[test]
    fn find3_finds_what_a_plain_search_finds() {
        let naive = |h: &[u8]| h.iter().position(|&x| x == b'"' || x == b'\\' || x == 0);
        let mut tried = 0;
        for len in 0..80 {
            for at in 0..=len {
                for first in [b'"', b'\\', 0] {
                    let mut hay = vec![b'a'; len];
                    if at < len {
                        hay[at] = first;
                        if at + 3 < len {
                            hay[at + 3] = b'"';
                        }
                    }
                    assert_eq!(find3(b'"', b'\\', 0, &hay), naive(&hay), "{len} {at}");
                    tried += 1;
                }
            }
        }
        assert!(tried > 9000);
    }
}
