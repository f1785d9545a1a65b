//! Peak heap of one parse, measured with a counting allocator, for every malformed shape at
//! 1 KiB, 64 KiB and 1 MiB: ours (default limits, and with every cap but the arena lifted)
//! must make no heap allocation at all and keep the arena within its capacity ("arena after"
//! is what the arena holds when the parse returns: on an error path the output array has been
//! given back, so it is not a peak; the arena cannot exceed its capacity either way). The peers
//! peak heap is measured the same way and printed for comparison (`--nocapture`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use mailaddr::{parse_address_list, Arena, Options};

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

fn grew(by: isize) {
    LIVE.with(|l| {
        let now = l.get() + by;
        l.set(now);
        PEAK.with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)] // test-only: a GlobalAlloc cannot be implemented without it
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        grew(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grew(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        grew(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// (allocations, peak bytes above the starting level) while `f` runs.
fn measure<T>(f: impl FnOnce() -> T) -> (usize, usize, T) {
    let base = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(base));
    let c0 = COUNT.with(|c| c.get());
    let r = f();
    let peak = PEAK.with(|p| p.get()) - base;
    (COUNT.with(|c| c.get()) - c0, peak.max(0) as usize, r)
}

#[test]
fn no_heap_and_arena_bound_for_every_malformed_shape() {
    let default = Options::DEFAULT;
    let raised = benches::raised_options();
    let mut arena = Arena::for_limits(&default.limits);
    let mut big = Arena::for_limits(&raised.limits);
    println!(
        "{:24} {:>6} {:>10} {:>12} {:>14} {:>14}",
        "shape", "size", "arena after", "raised after", "mail-parser", "mailparse"
    );
    for shape in benches::SHAPES {
        for (size, label) in benches::SIZES {
            let input = shape.generate(*size);
            arena.reset();
            let (n, peak, _) =
                measure(|| parse_address_list(&input, &arena, &default).map(|l| l.len()));
            assert_eq!(
                (n, peak),
                (0, 0),
                "{} {label}: heap used by the parse",
                shape.name
            );
            assert!(arena.used_bytes() <= arena.capacity_bytes());
            let used = arena.used_bytes();
            big.reset();
            let (n, peak, _) =
                measure(|| parse_address_list(&input, &big, &raised).map(|l| l.len()));
            assert_eq!(
                (n, peak),
                (0, 0),
                "{} {label}: heap used by the parse (raised caps)",
                shape.name
            );
            assert!(big.used_bytes() <= big.capacity_bytes());
            let raised_used = big.used_bytes();
            let mut msg = b"To: ".to_vec();
            msg.extend(&input);
            msg.extend(b"\r\n\r\n");
            // The peers are measured for comparison only; in a debug build their big inputs
            // take minutes (mailparse is quadratic on encoded words), so those are skipped.
            let (mp, mps) = if cfg!(debug_assertions) && *size > 64 << 10 {
                ("-".to_string(), "-".to_string())
            } else {
                let (_, mp, _) = measure(|| {
                    mail_parser::MessageParser::new()
                        .parse_headers(&msg)
                        .map(|m| m.headers().len())
                });
                let (_, mps, _) = measure(|| {
                    mailparse::parse_headers(&msg)
                        .ok()
                        .and_then(|(h, _)| mailparse::addrparse_header(&h[0]).ok())
                        .map(|l| l.len())
                });
                (mp.to_string(), mps.to_string())
            };
            println!(
                "{:24} {:>6} {:>10} {:>12} {:>14} {:>14}",
                shape.name, label, used, raised_used, mp, mps
            );
        }
    }
}

/// The benches' workload itself (split the header block, parse every address field through
/// `Field::parse_address_list` and `Field::parse_path`, walk the result): no heap either, on
/// every head of the shared real-mail sample and on the valid-corpus message.
#[test]
fn no_heap_on_real_mail_heads_and_the_valid_corpus() {
    let opts = Options::DEFAULT;
    let mut arena = Arena::new(256 << 10);
    let mut field_arena = Arena::for_limits(&opts.limits);
    let mut heads = benches::real_mail_heads();
    heads.push(benches::valid_message());
    let mut found = 0;
    for head in &heads {
        let (n, peak, (f, _)) =
            measure(|| benches::ours(head, &mut arena, &mut field_arena, &opts));
        assert_eq!(
            (n, peak),
            (0, 0),
            "heap used on a head of {} bytes",
            head.len()
        );
        found += f;
    }
    assert!(found > 0);
    println!(
        "{} heads, {found} mailboxes, 0 heap allocations",
        heads.len()
    );
}
