//! Fuzz the header-block splitter and, through it, the address parser on every
//! address-bearing field: no panic, arena caps hold, fields are in order inside the header,
//! and each address field passes the address-list oracle; a field's text is its value when
//! the block is UTF-8, and parsing through the field gives what parsing its bytes gives. The
//! split itself is the naive reference's (`parser/tests/common/naive_header_block.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailaddr::{parse_address_list, parse_header_block, parse_path, AddressField, Arena, Options};

#[path = "common.rs"]
mod common;
#[path = "../../parser/tests/common/naive_header_block.rs"]
mod naive_header_block;

fuzz_target!(|data: &[u8]| {
    let message = common::shape(data);
    let arena = Arena::new(32 * 1024);
    let mut field_arena = Arena::new(16 * 1024);
    let split = parse_header_block(&message, &arena, &Options::DEFAULT);
    // The split is the naive reference's, field by field, or the same error at the same
    // offset, wherever no cap is met (the reference has none).
    if !split.as_ref().is_err_and(|e| e.kind.limit().is_some()) {
        assert_eq!(
            naive_header_block::in_reference_shape(&split),
            naive_header_block::naive(&message),
            "the split differs"
        );
    }
    let Ok(block) = split else {
        assert!(arena.allocated_bytes() <= arena.capacity_bytes());
        return;
    };
    assert!(block.body_offset <= message.len());
    let mut last = 0;
    // A field's text is its value, there exactly when the whole block is UTF-8.
    let block_is_text = std::str::from_utf8(&message[..block.body_offset]).is_ok();
    for f in block.fields {
        assert!(
            f.offset >= last && f.value_offset > f.offset && f.value_offset <= block.body_offset
        );
        last = f.value_offset;
        assert_eq!(f.text.is_some(), block_is_text, "text present or not");
        assert!(
            f.text.is_none_or(|t| t.as_bytes() == f.value),
            "text is not the value"
        );
        // Parsed through the field (reusing the block's check) or from the bare bytes: the same.
        if f.address_field().is_some() {
            common::BIG.with_borrow_mut(|big| {
                let [a, b, _] = &mut *big;
                a.reset();
                b.reset();
                let opts = Options::DEFAULT;
                if f.address_field() == Some(AddressField::ReturnPath) {
                    let x = f.parse_path(a, &opts).map(|m| format!("{m:?}"));
                    let y = parse_path(f.value, b, &opts).map(|m| format!("{m:?}"));
                    assert_eq!(x, y, "Field::parse_path differs");
                } else {
                    let x = f
                        .parse_address_list(a, &opts)
                        .map(|l| format!("{:?}", l.addresses));
                    let y =
                        parse_address_list(f.value, b, &opts).map(|l| format!("{:?}", l.addresses));
                    assert_eq!(x, y, "Field::parse_address_list differs");
                }
            });
        }
        field_arena.reset();
        match f.address_field() {
            Some(AddressField::ReturnPath) => {
                let _ = parse_path(f.value, &field_arena, &Options::DEFAULT);
            }
            Some(_) => common::BIG
                .with_borrow_mut(|big| common::check_address_list(f.value, &field_arena, big)),
            None => {}
        }
        assert!(field_arena.allocated_bytes() <= field_arena.capacity_bytes());
    }
});
