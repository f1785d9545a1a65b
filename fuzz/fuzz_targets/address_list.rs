//! Fuzz the address-list parser: no panic, the arena cap holds, errors point inside the input,
//! and every success survives print-and-reparse unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailaddr::Arena;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let input = common::shape(data);
    // A small arena, so exhaustion paths are exercised too.
    let arena = Arena::new(16 * 1024);
    common::BIG.with_borrow_mut(|big| common::check_address_list(&input, &arena, big));
});
