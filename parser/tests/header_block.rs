//! The header-block splitter against a naive reference: lines split at LF, one CR dropped, a
//! line starting with white space continues the field, the first empty line ends the header.
//! The reference is written the obvious way, line by line; the splitter must give the same
//! fields (names, raw values, offsets, the value as text when the whole block is UTF-8) and the
//! same body offset, or the same error at the same offset. (Line and size caps are tested in
//! `limits.rs`; these inputs stay far below them.)

use mailaddr::{parse_header_block, Arena, Options};
use proptest::prelude::*;

#[path = "common/naive_header_block.rs"]
mod naive_header_block;
use naive_header_block::{in_reference_shape, naive};

/// A parse's answer as the tests compare it: the value, or the error's kind and offset.
fn answer<T>(r: Result<T, mailaddr::Error>) -> Result<T, (&'static str, usize)> {
    r.map_err(|e| (e.kind.name(), e.offset))
}

fn check(m: &[u8]) -> Result<(), TestCaseError> {
    let arena = Arena::new(1 << 20);
    let block = parse_header_block(m, &arena, &Options::DEFAULT);
    prop_assert_eq!(
        in_reference_shape(&block),
        naive(m),
        "input {:?}",
        String::from_utf8_lossy(m)
    );
    // Through the field (the block's own knowledge of its line breaks and UTF-8) or from the
    // value's bytes alone (every check made again): the same answer, bare CRs included.
    for f in block.map(|b| b.fields).unwrap_or_default() {
        let (a1, a2) = (Arena::new(1 << 16), Arena::new(1 << 16));
        let opts = &Options::DEFAULT;
        let list = (
            answer(f.parse_address_list(&a1, opts).map(|l| l.to_string())),
            answer(mailaddr::parse_address_list(f.value, &a2, opts).map(|l| l.to_string())),
        );
        let path = (
            answer(f.parse_path(&a1, opts).map(|p| p.map(|m| m.to_string()))),
            answer(mailaddr::parse_path(f.value, &a2, opts).map(|p| p.map(|m| m.to_string()))),
        );
        let value = String::from_utf8_lossy(f.value);
        prop_assert_eq!(&list.0, &list.1, "field {:?}", value);
        prop_assert_eq!(&path.0, &path.1, "path {:?}", value);
    }
    Ok(())
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec![
        "From",
        "To",
        "x-y",
        "Return-Path",
        "Bad Name",
        "",
        " ",
        "Sub\u{1}",
        "Résumé",
        "To ",
        "Cc\t",
        ":",
    ]);
    let value = prop::collection::vec(
        prop::sample::select(b"ab <>@,:\t\"\x80\xc3\xa9\r".to_vec()),
        0..12,
    );
    let end = prop::sample::select(vec!["\r\n", "\n", "\r\r\n", ""]);
    (0..4u8, name, value, end).prop_map(|(kind, name, value, end)| {
        let mut l = Vec::new();
        match kind {
            0 => l.extend_from_slice(b" "),
            1 => l.extend_from_slice(b"\t"),
            2 => {
                l.extend_from_slice(name.as_bytes());
            }
            _ => {
                l.extend_from_slice(name.as_bytes());
                l.push(b':');
            }
        }
        l.extend_from_slice(&value);
        l.extend_from_slice(end.as_bytes());
        l
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn header_blocks_split_as_the_naive_reference_splits_them(
        lines in prop::collection::vec(line(), 0..8),
        blank in any::<bool>(),
        body in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut m: Vec<u8> = lines.concat();
        if blank {
            m.extend_from_slice(b"\r\n");
            m.extend_from_slice(&body);
        }
        check(&m)?;
    }
}

#[test]
fn a_block_that_is_not_utf8_leaves_every_value_to_be_checked_alone() {
    let m = b"From: a@b\r\nSubject: caf\xe9\r\nTo: c@d\r\n\r\nbody";
    let arena = Arena::new(1 << 16);
    let b = parse_header_block(m, &arena, &Options::DEFAULT).unwrap();
    let names: Vec<_> = b.fields.iter().map(|f| f.name).collect();
    assert_eq!(names, ["From", "Subject", "To"]);
    assert!(b.fields.iter().all(|f| f.text.is_none()));
    // The values still parse; each is checked on its own.
    let to = b.fields[2]
        .parse_address_list(&arena, &Options::DEFAULT)
        .unwrap();
    assert_eq!(to.mailboxes().next().map(|m| m.local), Some("c"));
    let ok = b"From: a@b\r\nTo: c@d\r\n\r\n\xff body is not the header";
    let b = parse_header_block(ok, &arena, &Options::DEFAULT).unwrap();
    assert_eq!(b.fields[1].text, Some(" c@d"));
}

/// Every byte, at the start, inside and at the end of a field name, and alone as one, in a
/// block between two good fields: split as the naive reference splits it (a byte outside
/// `ftext` is `invalid-field-name` at that byte, or the line is malformed). The property test
/// draws its names from a short list; this covers the class of a name byte, byte by byte.
#[test]
fn every_byte_in_a_field_name_splits_as_the_naive_reference() {
    let mut tried = 0;
    for b in 0..=255u8 {
        for (before, after) in [("", "bc"), ("Ab", "cd"), ("Abcdefghij", ""), ("", "")] {
            let mut m = b"Subject: x\r\n".to_vec();
            m.extend_from_slice(before.as_bytes());
            m.push(b);
            m.extend_from_slice(after.as_bytes());
            m.extend_from_slice(b": a@b\r\nTo: c@d\r\n\r\nbody");
            if let Err(e) = check(&m) {
                panic!("{e}");
            }
            tried += 1;
        }
    }
    assert_eq!(tried, 1024);
}
