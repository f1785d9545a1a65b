//! RFC 2047 encoded words in display names: `=?charset[*lang]?B|Q?text?=`.
//!
//! The word's grammar is matched with nom; the transfer encoding (base64 or Q) is undone into
//! the arena, and the charset is decoded with `encoding_rs` (the WHATWG label set: UTF-8,
//! US-ASCII, ISO-8859-x, windows-125x, KOI8, the CJK sets, ...) straight into the caller's
//! buffer, with no heap allocation. Malformed bytes of a known charset become U+FFFD.
//!
//! A word that does not match the grammar, names an unknown charset or has bad base64 is not
//! decoded: the caller keeps its text as written, as RFC 2047 section 6.3 recommends.

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

/// Decodes `atom` into `out` if it is a decodable encoded word. Returns false (and leaves `out`
/// as it was) if it is not.
pub(crate) fn decode_into(atom: &[u8], out: &mut Buf<'_>) -> Result<bool, Exhausted> {
    let Some(parts) = split(atom) else {
        return Ok(false);
    };
    let Some(encoding) = encoding_for(parts.charset) else {
        return Ok(false);
    };
    // Room for the raw bytes (at most as long as the text) and their decoding after them, in
    // one reservation (growing as the bytes came cost two or three copies a word). Not an
    // exact one: a name of many words would be copied whole for each (`encoded-words` at
    // 1 MiB: 5 492 instructions a byte, against 85 at 1 KiB).
    let mut decoder = encoding.new_decoder_without_bom_handling();
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
        return Ok(false);
    }
    // Decode the charset. The raw bytes sit at out[mark..]; copy them aside within the arena
    // by decoding them after themselves, then move the result down.
    let raw_len = out.len() - mark;
    let Some(max) = decoder.max_utf8_buffer_length(raw_len) else {
        return Err(Exhausted);
    };
    let dst_start = out.len();
    out.extend_zeroed(max)?;
    let written = {
        let (src, dst) = split_buf(out, mark, dst_start);
        let (_result, _read, written, _replaced) = decoder.decode_to_utf8(src, dst, true);
        written
    };
    // Move the decoded text down over the raw bytes.
    let decoded_end = dst_start + written;
    shift_down(out, dst_start, decoded_end, mark);
    out.truncate(mark + written);
    Ok(true)
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
