//! RFC 2047 encoded words in display names: `=?charset[*lang]?B|Q?text?=`.
//!
//! The word's grammar is matched with nom; the transfer encoding (base64 or Q) is undone into
//! the arena, and the charset is decoded with `encoding_rs` (the WHATWG label set: UTF-8,
//! US-ASCII, ISO-8859-x, windows-125x, KOI8, the CJK sets, ...) straight into the caller's
//! buffer, with no heap allocation. Malformed bytes of a known charset become U+FFFD.
//!
//! A word that does not match the grammar, names an unknown charset or has bad base64 is not
//! decoded: the caller keeps its text as written, as RFC 2047 section 6.3 recommends.
//!
//! Adjacent words of one charset share a decoder ([`Run`]): a character an encoder split
//! across two words (RFC 2047 section 5 forbids it) is decoded whole.

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::combinator::{eof, opt};
use nom::sequence::preceded;
use nom::Parser;

use crate::cursor::{printable_except, Buf, Exhausted};

/// Cheap test: could `atom` be an encoded word at all?
#[inline]
pub(crate) fn looks_encoded(atom: &[u8]) -> bool {
    atom.len() >= 8 && atom.starts_with(b"=?") && atom.ends_with(b"?=")
}

struct Parts<'a> {
    charset: &'a [u8],
    encoding: u8,
    text: &'a [u8],
}

/// RFC 2047 `token`: any CHAR except SPACE, CTLs and especials. A table: `contains` on the
/// especials was a `memchr` call a byte, a tenth of an encoded word's cost.
#[inline]
fn is_token_char(b: u8) -> bool {
    TOKEN[b as usize]
}

static TOKEN: [bool; 256] = printable_except(b"()<>@,;:\"/[]?.=*");

/// The encoding a charset label names (`encoding_rs`'s WHATWG lookup, without the
/// replacement encoding). The labels most mail uses are compared first, in any case: the
/// lookup sorts and searches some 200 labels, about 560 instructions a word, where the
/// comparison costs a few dozen (`known_labels_name_what_encoding_rs_says`).
fn encoding_for(label: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    for (name, encoding) in COMMON_LABELS {
        if label.eq_ignore_ascii_case(name) {
            return Some(encoding);
        }
    }
    encoding_rs::Encoding::for_label_no_replacement(label)
}

/// The labels of [`encoding_for`]'s first look, and what WHATWG says each names (ISO-8859-1
/// and US-ASCII name windows-1252 there).
static COMMON_LABELS: [(&[u8], &encoding_rs::Encoding); 6] = [
    (b"utf-8", encoding_rs::UTF_8),
    (b"iso-8859-1", encoding_rs::WINDOWS_1252),
    (b"us-ascii", encoding_rs::WINDOWS_1252),
    (b"windows-1252", encoding_rs::WINDOWS_1252),
    (b"iso-8859-15", encoding_rs::ISO_8859_15),
    (b"iso-8859-2", encoding_rs::ISO_8859_2),
];

fn split(atom: &[u8]) -> Option<Parts<'_>> {
    let mut word = (
        tag::<_, _, ()>(&b"=?"[..]),
        take_while1(is_token_char),
        opt(preceded(tag(&b"*"[..]), take_while1(is_token_char))),
        tag(&b"?"[..]),
        take_while1(|b: u8| matches!(b, b'B' | b'b' | b'Q' | b'q')),
        tag(&b"?"[..]),
        take_while(|b: u8| b != b'?' && b.is_ascii_graphic()),
        tag(&b"?="[..]),
        eof,
    );
    let (_, (_, charset, _lang, _, enc, _, text, _, _)) = word.parse(atom).ok()?;
    if enc.len() != 1 {
        return None;
    }
    Some(Parts {
        charset,
        encoding: enc[0].to_ascii_uppercase(),
        text,
    })
}

/// The decoder of a run of adjacent encoded words of one charset ([`decode_into`]): a
/// character split across two words (RFC 2047 forbids it; some encoders do it, and
/// mail-parser and others join the words' bytes) is decoded whole, not as two U+FFFD.
/// `finish` it where the run ends: an incomplete character left then becomes U+FFFD.
#[derive(Default)]
pub(crate) struct Run {
    decoder: Option<(&'static encoding_rs::Encoding, encoding_rs::Decoder)>,
}

impl Run {
    /// Ends the run: whatever its decoder still holds (the start of a character no later word
    /// finished) is written to `out` as U+FFFD.
    #[inline]
    pub(crate) fn finish(&mut self, out: &mut Buf<'_>) -> Result<(), Exhausted> {
        let Some((_, mut decoder)) = self.decoder.take() else {
            return Ok(());
        };
        decode_tail(&mut decoder, out, out.len(), true)
    }
}

/// Decodes the encoded word `atom` onto `out`, continuing `run` when the word's charset is the
/// run's (the caller calls this only for a word adjacent to the run's last one) and starting
/// a new run otherwise, the old one finished first. `Ok(false)` if the word cannot be
/// decoded: nothing of it is written, and the caller ends the run and writes the word as it
/// is.
pub(crate) fn decode_into(
    atom: &[u8],
    out: &mut Buf<'_>,
    run: &mut Run,
) -> Result<bool, Exhausted> {
    let Some(parts) = split(atom) else {
        return Ok(false);
    };
    let Some(encoding) = encoding_for(parts.charset) else {
        return Ok(false);
    };
    let mut decoder = match run.decoder.take() {
        Some((e, d)) if e == encoding => d,
        other => {
            run.decoder = other;
            run.finish(out)?;
            encoding.new_decoder_without_bom_handling()
        }
    };
    // Room for the raw bytes (at most as long as the text) and their decoding after them, in
    // one reservation (growing as the bytes came cost two or three copies a word). Not an
    // exact one: a name of many words would be copied whole for each (`encoded-words` at
    // 1 MiB: 5 492 instructions a byte, against 85 at 1 KiB).
    let Some(room) = decoder
        .max_utf8_buffer_length(parts.text.len())
        .and_then(|max| max.checked_add(parts.text.len()))
    else {
        return Err(Exhausted);
    };
    out.make_room(room)?;
    // Undo the transfer encoding.
    let mark = out.len();
    let raw_ok = match parts.encoding {
        b'B' => base64_into(parts.text, out)?,
        _ => {
            q_into(parts.text, out)?;
            true
        }
    };
    if !raw_ok {
        out.truncate(mark);
        // The run is left as it was, for the caller to end.
        run.decoder = Some((encoding, decoder));
        return Ok(false);
    }
    // The last bytes, before they are decoded over: whether the decoder may be left holding
    // the start of a character.
    let holds = may_hold_bytes(encoding, &out.as_slice()[mark..]);
    decode_tail(&mut decoder, out, mark, false)?;
    // A decoder that holds nothing is dropped: a new one for the next word decodes the same,
    // and the run's end then costs no flush (a decode call a word on the valid corpus).
    run.decoder = holds.then_some((encoding, decoder));
    Ok(true)
}

/// Whether a decoder of `encoding` that has just been given `raw` (not as the last input) may
/// hold the start of a character: never for a single-byte encoding; for UTF-8 when a lead
/// byte among the last three wants more bytes than follow it, or when `raw` is one or two
/// continuation bytes (of a character begun in an earlier word); for any other encoding, maybe.
/// It may say yes where the decoder holds nothing (the flush then writes nothing); it must
/// never say no where it holds something (`text_cut_anywhere_into_encoded_words_decodes_whole`).
fn may_hold_bytes(encoding: &'static encoding_rs::Encoding, raw: &[u8]) -> bool {
    if encoding.is_single_byte() {
        return false;
    }
    if encoding != encoding_rs::UTF_8 {
        return true;
    }
    for back in 1..=raw.len().min(3) {
        let b = raw[raw.len() - back];
        if b < 0x80 {
            return false;
        }
        if b >= 0xC0 {
            let wants = if b >= 0xF0 {
                4
            } else if b >= 0xE0 {
                3
            } else {
                2
            };
            return wants > back;
        }
    }
    // Only continuation bytes: fewer than three may finish a character the decoder held from
    // the words before; after three, any character is complete or refused.
    raw.len() < 3
}

/// Decodes the raw bytes at `out[mark..]` with `decoder` (`last`: no more bytes follow, so
/// an incomplete character becomes U+FFFD) and leaves the UTF-8 in their place: decoded after
/// themselves within the arena, then moved down.
#[inline(always)]
fn decode_tail(
    decoder: &mut encoding_rs::Decoder,
    out: &mut Buf<'_>,
    mark: usize,
    last: bool,
) -> Result<(), Exhausted> {
    let raw_len = out.len() - mark;
    let Some(max) = decoder.max_utf8_buffer_length(raw_len) else {
        return Err(Exhausted);
    };
    let dst_start = out.len();
    out.extend_zeroed(max)?;
    let written = {
        let (src, dst) = split_buf(out, mark, dst_start);
        let (_result, _read, written, _replaced) = decoder.decode_to_utf8(src, dst, last);
        written
    };
    // Move the decoded text down over the raw bytes.
    let decoded_end = dst_start + written;
    shift_down(out, dst_start, decoded_end, mark);
    out.truncate(mark + written);
    Ok(())
}

fn split_buf<'b>(out: &'b mut Buf<'_>, mark: usize, dst_start: usize) -> (&'b [u8], &'b mut [u8]) {
    let all = out.as_mut_slice();
    let (head, dst) = all.split_at_mut(dst_start);
    (&head[mark..], dst)
}

fn shift_down(out: &mut Buf<'_>, from: usize, to: usize, dest: usize) {
    out.as_mut_slice().copy_within(from..to, dest);
}

fn base64_into(text: &[u8], out: &mut Buf<'_>) -> Result<bool, Exhausted> {
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return Ok(false),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push_byte((acc >> bits) as u8)?;
            acc &= (1 << bits) - 1;
        }
    }
    Ok(true)
}

fn q_into(text: &[u8], out: &mut Buf<'_>) -> Result<(), Exhausted> {
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        match c {
            b'_' => out.push_byte(b' ')?,
            b'=' => {
                let hex = text.get(i + 1..i + 3).and_then(|h| {
                    let hi = (h[0] as char).to_digit(16)?;
                    let lo = (h[1] as char).to_digit(16)?;
                    Some((hi * 16 + lo) as u8)
                });
                match hex {
                    Some(b) => {
                        out.push_byte(b)?;
                        i += 3;
                        continue;
                    }
                    // A lone '=' is kept as written.
                    None => out.push_byte(b'=')?,
                }
            }
            _ => out.push_byte(c)?,
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{encoding_for, is_token_char, COMMON_LABELS};

    /// Each label of the first look, in several cases, and labels near them: what
    /// `encoding_rs` says.
    #[test]
    fn known_labels_name_what_encoding_rs_says() {
        let mut labels: Vec<Vec<u8>> = Vec::new();
        for (name, _) in COMMON_LABELS {
            labels.push(name.to_vec());
            labels.push(name.to_ascii_uppercase());
            labels.push(
                name.iter()
                    .enumerate()
                    .map(|(i, b)| {
                        if i % 2 == 0 {
                            b.to_ascii_uppercase()
                        } else {
                            *b
                        }
                    })
                    .collect(),
            );
            labels.push([name, &b"x"[..]].concat());
            labels.push(name[..name.len() - 1].to_vec());
        }
        for other in [
            &b"koi8-r"[..],
            b"latin1",
            b"ascii",
            b"utf8",
            b"x-unknown",
            b"",
            b"replacement",
            b"iso-2022-kr",
        ] {
            labels.push(other.to_vec());
        }
        for label in &labels {
            assert_eq!(
                encoding_for(label),
                encoding_rs::Encoding::for_label_no_replacement(label),
                "{}",
                String::from_utf8_lossy(label)
            );
        }
    }

    /// Every byte: printable ASCII but the especials.
    #[test]
    fn token_bytes_are_the_rfcs() {
        for b in 0..=255u8 {
            let naive = b.is_ascii_graphic() && !b"()<>@,;:\"/[]?.=*".contains(&b);
            assert_eq!(is_token_char(b), naive, "{b:#x}");
        }
    }
}
