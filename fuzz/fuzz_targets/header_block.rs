//! Fuzz the header-block splitter and, through it, the address parser on every
//! address-bearing field: no panic, arena caps hold, fields are in order inside the header,
//! and each address field passes the address-list oracle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailaddr::{parse_header_block, parse_path, AddressField, Arena, Options};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let message = common::shape(data);
    let arena = Arena::new(32 * 1024);
    let mut field_arena = Arena::new(16 * 1024);
    let Ok(block) = parse_header_block(&message, &arena, &Options::DEFAULT) else {
        assert!(arena.allocated_bytes() <= arena.capacity_bytes());
        return;
    };
    assert!(block.body_offset <= message.len());
    let mut last = 0;
    for f in block.fields {
        assert!(
            f.offset >= last && f.value_offset > f.offset && f.value_offset <= block.body_offset
        );
        last = f.value_offset;
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
