//! Header blocks (RFC 5322 section 2.2 and 3.6, with obs-fields of 4.5): split a message's
//! header into fields, find the end of the header, and say which fields carry addresses.
//!
//! Line ends may be LF or CRLF. A field is `name: value`, the name printable ASCII without
//! `:`, optionally followed by white space before the colon (obsolete syntax). Continuation
//! lines start with a space or tab. The header ends at the first empty line, or at the end of
//! the input. Values are returned raw, folds included: the address parser reads a fold as the
//! white space it is, so nothing is copied and offsets stay offsets into the message.
//!
//! Caps: `header_bytes_max` ([`ErrorKind::HeaderTooLarge`]), `fields_max`
//! ([`ErrorKind::TooManyFields`]). A length: `line_bytes_max` ([`ErrorKind::LineTooLong`], or
//! counted in [`HeaderBlock::long_lines`] with `allow_long_lines`). Syntax faults:
//! [`ErrorKind::MalformedField`] (a line that is neither a field nor a continuation) and
//! [`ErrorKind::InvalidFieldName`]. With `allow_mbox_from_line`, an mbox `From ` line at the
//! very start is skipped.

use bumpalo::collections::Vec as BumpVec;

use crate::arena::Arena;
use crate::cursor::{below_0e, printable_except, run_end, stop_bits, sub_str, Exhausted, StopBits};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Options;

/// One header field, borrowed from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name as written (ASCII), without trailing white space.
    pub name: &'a str,
    /// The raw value: everything after the colon up to the end of its last line, folds kept,
    /// final line end removed.
    pub value: &'a [u8],
    /// Offset of the name in the message.
    pub offset: usize,
    /// Offset of the value in the message (just after the colon).
    pub value_offset: usize,
    /// The value as text, when the whole header block is UTF-8 (checked once, for every
    /// field): the address parser then slices it instead of validating each field again.
    pub text: Option<&'a str>,
    /// A CR not followed by LF is somewhere in the value. Without one, every line break in the
    /// value is a fold by construction (each inner line end is followed by a continuation line,
    /// which starts with a space or tab), and the address parser skips its own check of them.
    bare_cr: bool,
}

impl<'a> Field<'a> {
    /// Which address-bearing field this is, if any.
    #[inline]
    pub fn address_field(&self) -> Option<AddressField> {
        AddressField::from_name(self.name)
    }

    /// [`parse_address_list`](crate::parse_address_list) of the value, reusing the block's
    /// UTF-8 check.
    ///
    /// ```
    /// use mailaddr::{parse_header_block, Arena, Options};
    /// let arena = Arena::new(64 * 1024);
    /// let head = b"To: Joe <joe@example.com>, team:;\r\n\r\nbody";
    /// let block = parse_header_block(head, &arena, &Options::DEFAULT).unwrap();
    /// assert_eq!(block.fields[0].text, Some(" Joe <joe@example.com>, team:;"));
    /// let list = block.fields[0].parse_address_list(&arena, &Options::DEFAULT).unwrap();
    /// assert_eq!(list.mailboxes().next().map(|m| m.local), Some("joe"));
    /// ```
    #[inline]
    pub fn parse_address_list<'b>(
        &self,
        arena: &'b Arena,
        opts: &Options,
    ) -> Result<crate::AddressList<'b>>
    where
        'a: 'b,
    {
        crate::address_list::address_list_in(self.value, self.text, !self.bare_cr, arena, opts)
    }

    /// [`parse_path`](crate::parse_path) of the value, reusing the block's UTF-8 check.
    #[inline]
    pub fn parse_path<'b>(
        &self,
        arena: &'b Arena,
        opts: &Options,
    ) -> Result<Option<crate::Mailbox<'b>>>
    where
        'a: 'b,
    {
        crate::address_list::path_in(self.value, self.text, !self.bare_cr, arena, opts)
    }
}

/// The fields that carry addresses, by their grammar in RFC 5322 section 3.6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressField {
    From,
    Sender,
    ReplyTo,
    To,
    Cc,
    Bcc,
    ResentFrom,
    ResentSender,
    ResentTo,
    ResentCc,
    ResentBcc,
    /// A `path`: `<>` or one angle address. Parse with [`parse_path`](crate::parse_path).
    ReturnPath,
}

impl AddressField {
    /// Every name in lower case (the tests' naive lookup).
    #[cfg(test)]
    const NAMES: [(&'static str, AddressField); 12] = [
        ("from", AddressField::From),
        ("sender", AddressField::Sender),
        ("reply-to", AddressField::ReplyTo),
        ("to", AddressField::To),
        ("cc", AddressField::Cc),
        ("bcc", AddressField::Bcc),
        ("resent-from", AddressField::ResentFrom),
        ("resent-sender", AddressField::ResentSender),
        ("resent-to", AddressField::ResentTo),
        ("resent-cc", AddressField::ResentCc),
        ("resent-bcc", AddressField::ResentBcc),
        ("return-path", AddressField::ReturnPath),
    ];

    /// Case-insensitive lookup of a field name. The length picks the names it can be; each is
    /// compared as two words with 0x20 set where that name has a letter (`same_name`). A
    /// match arm per name, not a walk of a table of names: in an arm the length and the name
    /// are constants, and the words are built for them at compile time (the walk built
    /// them for each candidate: 137 K instructions a pass on the real-mail fields against
    /// 30 K; `eq_ignore_ascii_case` with each name in turn, 95 K).
    pub fn from_name(name: &str) -> Option<AddressField> {
        use AddressField::*;
        let b = name.as_bytes();
        let is = |lower: &[u8]| same_name(b, lower);
        let f = match b.len() {
            2 if is(b"to") => To,
            2 if is(b"cc") => Cc,
            3 if is(b"bcc") => Bcc,
            4 if is(b"from") => From,
            6 if is(b"sender") => Sender,
            8 if is(b"reply-to") => ReplyTo,
            9 if is(b"resent-to") => ResentTo,
            9 if is(b"resent-cc") => ResentCc,
            10 if is(b"resent-bcc") => ResentBcc,
            11 if is(b"resent-from") => ResentFrom,
            11 if is(b"return-path") => ReturnPath,
            13 if is(b"resent-sender") => ResentSender,
            _ => return None,
        };
        Some(f)
    }

    /// The name in its usual spelling.
    pub fn name(self) -> &'static str {
        match self {
            AddressField::From => "From",
            AddressField::Sender => "Sender",
            AddressField::ReplyTo => "Reply-To",
            AddressField::To => "To",
            AddressField::Cc => "Cc",
            AddressField::Bcc => "Bcc",
            AddressField::ResentFrom => "Resent-From",
            AddressField::ResentSender => "Resent-Sender",
            AddressField::ResentTo => "Resent-To",
            AddressField::ResentCc => "Resent-Cc",
            AddressField::ResentBcc => "Resent-Bcc",
            AddressField::ReturnPath => "Return-Path",
        }
    }

    /// To, Cc and Bcc: where recipients come from when the envelope names none.
    pub fn is_recipient(self) -> bool {
        matches!(
            self,
            AddressField::To | AddressField::Cc | AddressField::Bcc
        )
    }
}

/// Up to 16 bytes as two little-endian words (zero past the end).
#[inline(always)]
const fn words(b: &[u8]) -> [u64; 2] {
    let mut w = [0u64; 2];
    let mut k = 0;
    while k < b.len() && k < 16 {
        w[k / 8] |= (b[k] as u64) << (8 * (k % 8));
        k += 1;
    }
    w
}

/// [`words`] with 0x20 where `lower` (a name in lower case) has a letter: a name equals
/// `lower` in any case exactly when its words, with those bits set, equal `lower`'s. (A
/// letter's two cases differ in that bit alone; `-` is compared as it is, since CR | 0x20 is
/// `-`.)
#[inline(always)]
fn same_name(name: &[u8], lower: &[u8]) -> bool {
    let mut case = [0u8; 16];
    let mut k = 0;
    while k < lower.len() && k < 16 {
        case[k] = if lower[k].is_ascii_lowercase() {
            0x20
        } else {
            0
        };
        k += 1;
    }
    let (w, l, c) = (words(name), words(lower), words(&case));
    name.len() == lower.len() && (w[0] | c[0]) == l[0] && (w[1] | c[1]) == l[1]
}

/// A split header block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderBlock<'a> {
    /// The fields, in order.
    pub fields: &'a [Field<'a>],
    /// Offset of the body: just after the empty line, or the input's length if there is none.
    pub body_offset: usize,
    /// Lines over `line_bytes_max` (only with `allow_long_lines`; without it the first one is
    /// an error), and the offset of the first.
    pub long_lines: u32,
    pub first_long_line: Option<usize>,
}

/// Splits the header block at the start of `message`.
pub fn parse_header_block<'a>(
    message: &'a [u8],
    arena: &'a Arena,
    opts: &Options,
) -> Result<HeaderBlock<'a>> {
    let limits = &opts.limits;
    let err = |kind, offset| Error { kind, offset };
    let mut fields: BumpVec<'a, Field<'a>> = BumpVec::new_in(arena.bump());
    let mut pos = 0usize;
    if opts.allow_mbox_from_line && message.starts_with(b"From ") {
        pos = memchr::memchr(b'\n', message).map_or(message.len(), |i| i + 1);
    }
    // The field being read: (name offset, value offset), and where its text ends so far.
    let mut open: Option<(usize, usize)> = None;
    let mut value_end = pos;
    let mut count = 0u32;
    let mut long_lines = 0u32;
    let mut first_long_line = None;
    // A CR not followed by LF in the field being read (see `Field::bare_cr`).
    let mut bare_cr = false;
    let body_offset = loop {
        if pos >= message.len() {
            break message.len();
        }
        let (content_end, next, line_bare_cr) = line_end(message, pos);
        let content_len = content_end - pos;
        if content_len > limits.line_bytes_max {
            if opts.allow_long_lines {
                long_lines = long_lines.saturating_add(1);
                first_long_line.get_or_insert(pos);
            } else {
                return Err(err(
                    ErrorKind::LineTooLong {
                        limit: limits.line_bytes_max,
                    },
                    pos,
                ));
            }
        }
        if next > limits.header_bytes_max {
            return Err(err(
                ErrorKind::HeaderTooLarge {
                    limit: limits.header_bytes_max,
                },
                limits.header_bytes_max.max(pos),
            ));
        }
        let line = &message[pos..content_end];
        match line.first() {
            None => break next,
            Some(b' ') | Some(b'\t') => {
                if open.is_none() {
                    return Err(err(ErrorKind::MalformedField, pos));
                }
            }
            Some(_) => {
                if let Some((off, voff)) = open.take() {
                    push_field(&mut fields, message, (off, voff, value_end), bare_cr)
                        .map_err(|_| exhausted(arena, off))?;
                }
                bare_cr = false;
                // The usual line: printable name bytes, then the colon.
                let n = name_end(message, pos, line.len());
                let colon = if n > 0 && line.get(n) == Some(&b':') {
                    n
                } else {
                    name_end_slow(line).map_err(|(kind, at)| err(kind, pos + at))?
                };
                count += 1;
                if count > limits.fields_max {
                    return Err(err(
                        ErrorKind::TooManyFields {
                            limit: limits.fields_max,
                        },
                        pos,
                    ));
                }
                open = Some((pos, pos + colon + 1));
            }
        }
        value_end = content_end;
        bare_cr |= line_bare_cr;
        pos = next;
    };
    if let Some((off, voff)) = open {
        push_field(&mut fields, message, (off, voff, value_end), bare_cr)
            .map_err(|_| exhausted(arena, off))?;
    }
    name_fields(message, &mut fields, body_offset)?;
    Ok(HeaderBlock {
        fields: fields.into_bump_slice(),
        body_offset,
        long_lines,
        first_long_line,
    })
}

/// The last pass over a split block: one UTF-8 check for the whole block, then each field's
/// name and its value as text are slices of it. A block with a byte that is not UTF-8
/// somewhere leaves each value to be checked on its own (`text` stays `None`).
fn name_fields<'a>(message: &'a [u8], fields: &mut [Field<'a>], body_offset: usize) -> Result<()> {
    let text = simdutf8::basic::from_utf8(&message[..body_offset]).ok();
    for f in fields.iter_mut() {
        let name = trim_name(&message[f.offset..f.value_offset - 1]);
        f.name = match text.and_then(|t| sub_str(t, f.offset, f.offset + name.len())) {
            Some(name) => name,
            // Printable ASCII was checked when the line was read, so this cannot fail.
            None => core::str::from_utf8(name).map_err(|_| Error {
                kind: ErrorKind::InvalidFieldName,
                offset: f.offset,
            })?,
        };
        f.text = text.and_then(|t| sub_str(t, f.value_offset, f.value_offset + f.value.len()));
    }
    Ok(())
}

fn exhausted(arena: &Arena, offset: usize) -> Error {
    Error {
        kind: ErrorKind::ArenaExhausted {
            limit: arena.capacity_bytes(),
        },
        offset,
    }
}

/// A field name without the white space between it and its colon (obsolete syntax).
fn trim_name(raw: &[u8]) -> &[u8] {
    let len = raw
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    &raw[..len]
}

/// The bytes of a field name: printable ASCII but `:` (RFC 5322 `ftext`).
const NAME_BYTE: [bool; 256] = printable_except(b":");

/// Where the name of an unusual field line ends (its colon), or the fault and its offset in
/// the line: no colon, or no name ([`ErrorKind::MalformedField`] at the line), or a byte that
/// may not be in a name before the colon ([`ErrorKind::InvalidFieldName`] at it). White space
/// between the name and the colon is obsolete syntax, and allowed.
#[cold]
fn name_end_slow(line: &[u8]) -> core::result::Result<usize, (ErrorKind, usize)> {
    let colon = memchr::memchr(b':', line).ok_or((ErrorKind::MalformedField, 0))?;
    let trimmed = trim_name(&line[..colon]);
    if trimmed.is_empty() {
        return Err((ErrorKind::MalformedField, 0));
    }
    if let Some(i) = trimmed.iter().position(|&b| !(33..=126).contains(&b)) {
        return Err((ErrorKind::InvalidFieldName, i));
    }
    Ok(colon)
}

/// The line starting at `from`: where its content ends (before its CRLF or LF, or a CR the
/// input ends with), where the next line starts, and whether a CR that does not end the line
/// comes before that. One scan for both bytes, sixteen at a time ([`next_control`]): the
/// bytes below 0x0E (CR, LF, and the rarer tab and controls) are found together, then looked
/// at one by one. (A `memchr2` call per line cost 81 instructions a line on real address
/// fields, one `memchr` iterator over the block with a count of its CRs 87; this, 53 with the
/// word scan, less with SSE2.)
#[inline(always)]
fn line_end(message: &[u8], from: usize) -> (usize, usize, bool) {
    let mut bare_cr = false;
    let mut at = from;
    while let Some(i) = next_control(message, at) {
        match message[i] {
            b'\n' => return (i, i + 1, bare_cr),
            b'\r' if message.get(i + 1) == Some(&b'\n') => return (i, i + 2, bare_cr),
            b'\r' => bare_cr = true,
            _ => {}
        }
        at = i + 1;
    }
    // No line end: the input ends the line, and a CR it ends with is not part of its content
    // (it was bare all the same).
    let end = message.len();
    let content_end = if end > from && message[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    (content_end, end, bare_cr)
}

/// The first byte below 0x0E at or after `from`: [`next_control_sse2`] where the target has
/// SSE2 (every x86-64), [`next_control_words`] elsewhere. Both are built and tested on x86-64.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use next_control_sse2 as next_control;
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use next_control_words as next_control;

/// [`next_control`] by SSE2, from safe code (`safe_arch`): a byte is below 0x0E exactly where
/// its unsigned minimum with 0x0D is itself, one compare for sixteen bytes (the word scan
/// below needs five for each of its two words). Sixteen bytes a turn; then the last bytes as
/// part of the message's last sixteen (`hay` is all of it), shifted, and a byte at a time
/// only in a message shorter than that. The header block alone, against the word scan: 778 K
/// -> 692 K instructions a pass on the real-mail sample's address fields, 4.46 M -> 3.83 M on
/// its whole heads, 14 % and 18 % less time; the last bytes read so, not by a byte loop whose
/// exit mispredicted about once a header that ends the input (the benches' heads, a message
/// with no body): the real fields 2.125 M -> 2.119 M, 1.4 K fewer mispredicted branches a
/// pass (callgrind's simulation).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn next_control_sse2(hay: &[u8], from: usize) -> Option<usize> {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let top = set_splat_i8_m128i(0x0D);
    // Bit `i` set where byte `i` of the sixteen is below 0x0E.
    let below = |c: &[u8; 16]| {
        let v = load_unaligned_m128i(c);
        move_mask_i8_m128i(cmp_eq_mask_i8_m128i(min_u8_m128i(v, top), v)) as u32
    };
    let rest = hay.get(from..)?;
    let (chunks, tail) = rest.as_chunks::<16>();
    for (n, c) in chunks.iter().enumerate() {
        let bits = below(c);
        if bits != 0 {
            return Some(from + 16 * n + bits.trailing_zeros() as usize);
        }
    }
    if tail.is_empty() {
        return None;
    }
    let k = rest.len() - tail.len();
    if let Some(last) = hay.last_chunk::<16>() {
        let bits = below(last) >> (16 - tail.len());
        return (bits != 0).then(|| from + k + bits.trailing_zeros() as usize);
    }
    tail.iter().position(|&b| b < 0x0E).map(|i| from + k + i)
}

/// [`next_control`] in plain words: sixteen bytes a turn while they last, as two words whose
/// masks are looked at together, then a byte at a time (only the message's last bytes).
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2", not(test)),
    allow(dead_code)
)]
#[inline(always)]
fn next_control_words(hay: &[u8], from: usize) -> Option<usize> {
    let rest = hay.get(from..)?;
    let mut k = 0;
    while let Some(pair) = rest.get(k..k + 16) {
        let (a, b) = pair.split_at(8);
        let (Ok(a), Ok(b)) = (<[u8; 8]>::try_from(a), <[u8; 8]>::try_from(b)) else {
            break;
        };
        let (a, b) = (
            below_0e(u64::from_le_bytes(a)),
            below_0e(u64::from_le_bytes(b)),
        );
        if a | b != 0 {
            let bits = if a != 0 {
                a.trailing_zeros()
            } else {
                64 + b.trailing_zeros()
            };
            return Some(from + k + (bits / 8) as usize);
        }
        k += 16;
    }
    rest.get(k..)?
        .iter()
        .position(|&b| b < 0x0E)
        .map(|i| from + k + i)
}

/// The length of the run of field-name bytes (printable ASCII but `:`) that starts the line
/// at `from` (of `len` bytes): [`name_end_sse2`] where the target has SSE2, else
/// [`name_end_words`] (chosen as [`next_control`] is).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use name_end_sse2 as name_end;
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use name_end_words as name_end;

/// [`name_end`] by SSE2, sixteen bytes a turn: a byte is a name byte where clamping it to
/// 0x21..=0x7E leaves it as it is and it is not `:`. The turns read the message past the
/// line, which is safe to read and cannot lengthen the run (the line ends at a CR or LF, or
/// with the input); with fewer than sixteen bytes left in the message, the words finish.
/// (Against the words alone: 692 K instructions a pass on the real-mail sample's address
/// fields' header blocks against 690 K, 3.83 M on its whole heads against 3.69 M, and 10 %
/// less time on the clock there.)
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn name_end_sse2(message: &[u8], from: usize, len: usize) -> usize {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, max_u8_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let (lo, hi, colon) = (
        set_splat_i8_m128i(0x21),
        set_splat_i8_m128i(0x7E),
        set_splat_i8_m128i(b':' as i8),
    );
    let mut k = 0;
    while let Some(c) = message.get(from + k..).and_then(|r| r.first_chunk::<16>()) {
        let v = load_unaligned_m128i(c);
        let printable = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(
            min_u8_m128i(max_u8_m128i(v, lo), hi),
            v,
        ));
        let stops = !printable | move_mask_i8_m128i(cmp_eq_mask_i8_m128i(v, colon));
        if stops & 0xFFFF != 0 {
            return (k + stops.trailing_zeros() as usize).min(len);
        }
        if k + 16 >= len {
            return len;
        }
        k += 16;
    }
    name_end_words(message, from + k, len - k) + k
}

/// [`name_end`] eight bytes a turn with no branch per byte ([`run_end`]: a loop that leaves at
/// the colon mispredicts that exit once a field).
#[inline(always)]
fn name_end_words(message: &[u8], from: usize, len: usize) -> usize {
    message
        .get(from..from + len)
        .map_or(0, |line| run_end(line, 0, &NOT_NAME_AT))
}

/// Bit `k` of `NOT_NAME_AT[k][b]` is set if `b` is not a field-name byte.
static NOT_NAME_AT: StopBits = stop_bits(&NAME_BYTE);

/// Pushes the field at `(name offset, value offset, value end)`.
#[inline(always)]
fn push_field<'a>(
    fields: &mut BumpVec<'a, Field<'a>>,
    message: &'a [u8],
    (offset, value_offset, value_end): (usize, usize, usize),
    bare_cr: bool,
) -> core::result::Result<(), Exhausted> {
    if fields.len() == fields.capacity() {
        // Double (at least 16): one reservation per doubling, not a call per field.
        fields
            .try_reserve(fields.len().max(16))
            .map_err(|_| Exhausted)?;
    }
    fields.push(Field {
        // Named once the block is read ([`parse_header_block`]'s last pass).
        name: "",
        text: None,
        value: &message[value_offset..value_end.max(value_offset)],
        offset,
        value_offset,
        bare_cr,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::AddressField;

    /// Both name scans find the run a byte-by-byte walk finds: every byte value at every
    /// place of lines from 0 to 40 bytes long, the message ending with the line or going on
    /// past it (with a name byte, which must not lengthen the run), from every start.
    #[test]
    fn the_name_scans_find_what_a_naive_walk_finds() {
        let naive = |line: &[u8]| {
            line.iter()
                .position(|&b| !(0x21..=0x7E).contains(&b) || b == b':')
                .unwrap_or(line.len())
        };
        let mut tried = 0u32;
        for len in 0..=40usize {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    for after in [&b""[..], b"\r\nX", b"xxxxxxxxxxxxxxxxxxxxxxxx"] {
                        for from in [0, 1, 3] {
                            let mut m = vec![b'Q'; from];
                            let mut line = vec![b'a'; len];
                            if let Some(x) = line.get_mut(at) {
                                *x = b;
                            }
                            m.extend_from_slice(&line);
                            m.extend_from_slice(after);
                            let want = naive(&line);
                            assert_eq!(super::name_end_words(&m, from, len), want);
                            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                            assert_eq!(super::name_end_sse2(&m, from, len), want, "{m:?}");
                            tried += 1;
                        }
                    }
                }
            }
        }
        assert!(tried > 1_000_000, "{tried}");
    }

    /// Both scans for a byte below 0x0E find what a byte-by-byte search finds: every byte
    /// value at every place of inputs from 0 to 40 bytes long (so the sixteen-byte turns, the
    /// byte-at-a-time tail and the seam between them are all met), alone and with a second
    /// control after it, from every start.
    #[test]
    fn the_control_scans_find_what_a_naive_search_finds() {
        let naive = |hay: &[u8], from: usize| (from..hay.len()).find(|&i| hay[i] < 0x0E);
        let mut tried = 0u32;
        for len in 0..=40usize {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    for second in [None, Some(b'\n'), Some(0u8)] {
                        let mut hay = vec![b'a'; len];
                        if let Some(x) = hay.get_mut(at) {
                            *x = b;
                        }
                        if let (Some(c), Some(x)) = (second, hay.get_mut(at + 5)) {
                            *x = c;
                        }
                        for from in [0, 1, at, at + 1, 15, 16, 17, len, len + 1] {
                            let want = naive(&hay, from);
                            assert_eq!(super::next_control_words(&hay, from), want);
                            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                            assert_eq!(super::next_control_sse2(&hay, from), want);
                            tried += 1;
                        }
                    }
                }
            }
        }
        assert!(tried > 3_000_000, "{tried}");
    }

    /// The naive lookup: each name compared in turn, case-insensitively.
    fn naive(name: &str) -> Option<AddressField> {
        AddressField::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
    }

    /// Every name in several cases, each with every byte changed in turn to a neighbour that
    /// differs in the 0x20 bit or not at all like a letter, and names of every length with no
    /// meaning: the same answer as the naive lookup.
    #[test]
    fn from_name_finds_what_the_naive_lookup_finds() {
        let mut tried = 0;
        for (n, f) in AddressField::NAMES {
            for name in [n.to_string(), n.to_uppercase(), f.name().to_string()] {
                assert_eq!(AddressField::from_name(&name), Some(f), "{name}");
                for i in 0..name.len() {
                    for sub in [b'\r', b'@', b'[', b'{', b'^', b'~', b'-', b'0', b'M', b'_'] {
                        let mut b = name.clone().into_bytes();
                        b[i] = sub;
                        let Ok(m) = String::from_utf8(b) else {
                            continue;
                        };
                        assert_eq!(AddressField::from_name(&m), naive(&m), "{m:?}");
                        tried += 1;
                    }
                }
            }
        }
        for len in 0..20 {
            for c in ["x", "-", "T", "r"] {
                let m = c.repeat(len);
                assert_eq!(AddressField::from_name(&m), naive(&m), "{m:?}");
            }
        }
        assert!(tried > 1000, "{tried}");
    }
}
