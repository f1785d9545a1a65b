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

use crate::cursor::{Buf, Exhausted};

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

fn is_token_char(b: u8) -> bool {
    // RFC 2047 `token`: any CHAR except SPACE, CTLs and especials.
    b.is_ascii_graphic() && !b"()<>@,;:\"/[]?.=*".contains(&b)
}

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
    let Some(encoding) = encoding_rs::Encoding::for_label_no_replacement(parts.charset) else {
        return Ok(false);
    };
    // Undo the transfer encoding. The raw bytes are at most as long as the text.
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
    let mut decoder = encoding.new_decoder_without_bom_handling();
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
