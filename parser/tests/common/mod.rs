//! Test support: a global allocator that counts allocations per thread, so a test can prove
//! that a parse never touches the heap.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

pub struct CountingAlloc;

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)] // test-only: a GlobalAlloc cannot be implemented without it
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns how many heap allocations this thread made while it ran.
pub fn heap_allocations_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(|c| c.get());
    let r = f();
    let after = ALLOCATIONS.with(|c| c.get());
    (after - before, r)
}
