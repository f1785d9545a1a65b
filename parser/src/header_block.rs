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
use crate::cursor::Exhausted;
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
}

impl Field<'_> {
    /// Which address-bearing field this is, if any.
    pub fn address_field(&self) -> Option<AddressField> {
        AddressField::from_name(self.name)
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

    /// Case-insensitive lookup of a field name.
    pub fn from_name(name: &str) -> Option<AddressField> {
        Self::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
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
    // The field being read: (name, name offset, value offset), and where its text ends so far.
    let mut open: Option<(&'a str, usize, usize)> = None;
    let mut value_end = pos;
    let mut count = 0u32;
    let mut long_lines = 0u32;
    let mut first_long_line = None;
    let body_offset = loop {
        if pos >= message.len() {
            break message.len();
        }
        let rest = &message[pos..];
        let lf = memchr::memchr(b'\n', rest);
        let line_len_with_end = lf.map_or(rest.len(), |i| i + 1);
        let mut content_len = lf.unwrap_or(rest.len());
        if content_len > 0 && rest[content_len - 1] == b'\r' {
            content_len -= 1;
        }
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
        let next = pos + line_len_with_end;
        if next > limits.header_bytes_max {
            return Err(err(
                ErrorKind::HeaderTooLarge {
                    limit: limits.header_bytes_max,
                },
                limits.header_bytes_max.max(pos),
            ));
        }
        let line = &rest[..content_len];
        match line.first() {
            None => break next,
            Some(b' ') | Some(b'\t') => {
                if open.is_none() {
                    return Err(err(ErrorKind::MalformedField, pos));
                }
            }
            Some(_) => {
                if let Some((name, off, voff)) = open.take() {
                    push_field(&mut fields, message, name, off, voff, value_end)
                        .map_err(|_| exhausted(arena, off))?;
                }
                let colon = memchr::memchr(b':', line)
                    .ok_or_else(|| err(ErrorKind::MalformedField, pos))?;
                let raw_name = &line[..colon];
                let trimmed = raw_name
                    .iter()
                    .rposition(|&b| b != b' ' && b != b'\t')
                    .map_or(&raw_name[..0], |i| &raw_name[..=i]);
                if trimmed.is_empty() {
                    return Err(err(ErrorKind::MalformedField, pos));
                }
                if let Some(i) = trimmed.iter().position(|&b| !(33..=126).contains(&b)) {
                    return Err(err(ErrorKind::InvalidFieldName, pos + i));
                }
                count += 1;
                if count > limits.fields_max {
                    return Err(err(
                        ErrorKind::TooManyFields {
                            limit: limits.fields_max,
                        },
                        pos,
                    ));
                }
                // Printable ASCII was just checked, so this cannot fail.
                let name = core::str::from_utf8(trimmed)
                    .map_err(|_| err(ErrorKind::InvalidFieldName, pos))?;
                open = Some((name, pos, pos + colon + 1));
            }
        }
        value_end = pos + content_len;
        pos = next;
    };
    if let Some((name, off, voff)) = open {
        push_field(&mut fields, message, name, off, voff, value_end)
            .map_err(|_| exhausted(arena, off))?;
    }
    Ok(HeaderBlock {
        fields: fields.into_bump_slice(),
        body_offset,
        long_lines,
        first_long_line,
    })
}

fn exhausted(arena: &Arena, offset: usize) -> Error {
    Error {
        kind: ErrorKind::ArenaExhausted {
            limit: arena.capacity_bytes(),
        },
        offset,
    }
}

fn push_field<'a>(
    fields: &mut BumpVec<'a, Field<'a>>,
    message: &'a [u8],
    name: &'a str,
    offset: usize,
    value_offset: usize,
    value_end: usize,
) -> core::result::Result<(), Exhausted> {
    if fields.len() == fields.capacity() {
        // Double (at least 16): one reservation per doubling, not a call per field.
        fields
            .try_reserve(fields.len().max(16))
            .map_err(|_| Exhausted)?;
    }
    fields.push(Field {
        name,
        value: &message[value_offset..value_end.max(value_offset)],
        offset,
        value_offset,
    });
    Ok(())
}
