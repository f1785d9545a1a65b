//! Every cap at its limit (parses) and one past it (the named error), and the arena bound:
//! a parse never touches the global heap and never holds more than the arena's capacity.

mod common;

use common::{heap_allocations_during, CountingAlloc};
use mailaddr::{parse_address_list, parse_header_block, Arena, ErrorKind, Limits, Options};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn opts(f: impl FnOnce(&mut Limits)) -> Options {
    let mut o = Options::DEFAULT;
    f(&mut o.limits);
    o
}

fn kind(input: &[u8], o: &Options) -> Result<usize, ErrorKind> {
    let arena = Arena::new(4 << 20);
    parse_address_list(input, &arena, o)
        .map(|l| l.mailboxes().count())
        .map_err(|e| e.kind)
}

#[test]
fn input_bytes_max() {
    let o = opts(|l| l.input_bytes_max = 100);
    let at = format!("{}@b.c", "a".repeat(60)).into_bytes();
    let at = [at.as_slice(), &b" ".repeat(100 - at.len())].concat();
    assert_eq!(at.len(), 100);
    assert_eq!(kind(&at, &o), Ok(1));
    let over = [at.as_slice(), b" "].concat();
    assert_eq!(
        kind(&over, &o),
        Err(ErrorKind::InputTooLarge {
            len: 101,
            limit: 100
        })
    );
}

#[test]
fn depth_max_comments() {
    let o = opts(|l| l.depth_max = 8);
    let nest = |d: usize| format!("a@b.c {}{}", "(".repeat(d), ")".repeat(d));
    assert_eq!(kind(nest(8).as_bytes(), &o), Ok(1));
    assert_eq!(
        kind(nest(9).as_bytes(), &o),
        Err(ErrorKind::DepthExceeded { depth: 9, limit: 8 })
    );
    // Inside an angle address and a group, the structure counts too.
    let deep = format!("g: <a@b.c {}{}>;", "(".repeat(6), ")".repeat(6));
    assert_eq!(kind(deep.as_bytes(), &o), Ok(1));
    let deeper = format!("g: <a@b.c {}{}>;", "(".repeat(7), ")".repeat(7));
    assert_eq!(
        kind(deeper.as_bytes(), &o),
        Err(ErrorKind::DepthExceeded { depth: 9, limit: 8 })
    );
}

#[test]
fn depth_default_holds_against_a_megabyte_of_parens() {
    let input = "(".repeat(1 << 20);
    let o = opts(|l| l.input_bytes_max = 2 << 20);
    assert_eq!(
        kind(input.as_bytes(), &o),
        Err(ErrorKind::DepthExceeded {
            depth: 33,
            limit: 32
        })
    );
}

#[test]
fn tokens_max() {
    let o = Options::DEFAULT;
    assert_eq!(o.limits.tokens_max, 65_536);
    // `g:` commas `;`: three tokens plus one per comma, and no address.
    let group = |tokens: usize| format!("g:{};", ",".repeat(tokens - 3));
    assert_eq!(kind(group(65_536).as_bytes(), &o), Ok(0));
    assert_eq!(
        kind(group(65_537).as_bytes(), &o),
        Err(ErrorKind::TooManyTokens { limit: 65_536 })
    );
}

#[test]
fn addresses_max() {
    let o = Options::DEFAULT;
    assert_eq!(o.limits.addresses_max, 8_192);
    let list = |n: usize| "a@b,".repeat(n);
    assert_eq!(kind(list(8_192).as_bytes(), &o), Ok(8_192));
    assert_eq!(
        kind(list(8_193).as_bytes(), &o),
        Err(ErrorKind::TooManyAddresses { limit: 8_192 })
    );
    // Group members count too.
    let group = |n: usize| format!("g:{};", "a@b,".repeat(n - 1));
    assert_eq!(kind(group(8_192).as_bytes(), &o), Ok(8_191));
    assert_eq!(
        kind(group(8_193).as_bytes(), &o),
        Err(ErrorKind::TooManyAddresses { limit: 8_192 })
    );
}

/// The per-field caps that park sit above what real lists reach within a header block: a
/// field of list addresses as dense as real ones (the shortest, `bob@acme.io, `; an Enron
/// company-wide `To:`; names and angles) that fills the whole header block (100 KiB) is
/// within `tokens_max`, `addresses_max` and the arena. (With Postfix's 10 240 tokens and 2 048
/// addresses, a 39 KB `To:` of 2 000 Enron addresses was parked.)
#[test]
fn a_header_block_of_real_list_addresses_is_within_every_cap() {
    let o = Options::DEFAULT;
    let room = o.limits.header_bytes_max - "To: \r\n\r\n".len();
    for unit in [
        "bob@acme.io, ",
        "aborgatt@azurix.com, ",
        "j.doe@enron.com, ",
        "jeff.skilling@enron.com,\r\n\t",
        "Alice Example <alice@example.org>, ",
        "\"Doe, Jane\" <jane.doe@corp.example.com>, ",
    ] {
        let n = room / unit.len();
        let value = unit.repeat(n);
        // The arena a caller builds for these limits, not the tests' larger one.
        let arena = Arena::for_limits(&o.limits);
        let got = parse_address_list(value.as_bytes(), &arena, &o)
            .map(|l| l.mailboxes().count())
            .map_err(|e| e.kind);
        assert_eq!(got, Ok(n), "{n} of {unit:?} in {} bytes", value.len());
    }
}

#[test]
fn local_part_bytes_max() {
    // A length is enforced where the caller asks for it (STRICT, or DEFAULT without
    // allow_long_addresses); DEFAULT, like RFC 5322, sets none (below).
    let o = Options {
        allow_long_addresses: false,
        ..Options::DEFAULT
    };
    assert_eq!(
        kind(format!("{}@b.c", "a".repeat(64)).as_bytes(), &o),
        Ok(1)
    );
    assert_eq!(
        kind(format!("{}@b.c", "a".repeat(65)).as_bytes(), &o),
        Err(ErrorKind::LocalPartTooLong { len: 65, limit: 64 })
    );
    // Measured in canonical form: the quotes a local part needs count.
    assert_eq!(
        kind(format!("\"{} \"@b.c", "a".repeat(61)).as_bytes(), &o),
        Ok(1)
    );
    assert_eq!(
        kind(format!("\"{} \"@b.c", "a".repeat(62)).as_bytes(), &o),
        Err(ErrorKind::LocalPartTooLong { len: 65, limit: 64 })
    );
    // A length, not a cap: with allow_long_addresses (DEFAULT and ROUTING) the caller applies
    // it (a VERP bounce address of 83 octets parses, whole).
    let verp = format!(
        "list-bounces+{}=example.org@lists.example.net",
        "u".repeat(58)
    );
    assert!(verp.find('@').is_some_and(|at| at > 64));
    for o in [Options::DEFAULT, Options::ROUTING] {
        let arena = Arena::new(1 << 20);
        let list = parse_address_list(verp.as_bytes(), &arena, &o).expect("long addresses allowed");
        let m = list.mailboxes().next().expect("one mailbox");
        assert_eq!(format!("{}@{}", m.local, m.domain), verp);
    }
    assert_eq!(
        ErrorKind::LocalPartTooLong { len: 65, limit: 64 }.class(),
        mailaddr::ErrorClass::Length
    );
}

#[test]
fn domain_bytes_max() {
    let o = Options {
        allow_long_addresses: false,
        ..Options::DEFAULT
    };
    let exact = format!("a@{}", "x".repeat(255));
    assert_eq!(kind(exact.as_bytes(), &o), Ok(1));
    let over = format!("a@{}", "x".repeat(256));
    assert_eq!(
        kind(over.as_bytes(), &o),
        Err(ErrorKind::DomainTooLong {
            len: 256,
            limit: 255
        })
    );
    // The obsolete spaced form is measured after the spaces are gone.
    let spaced = format!("a@{} . {}", "x".repeat(127), "y".repeat(127));
    assert_eq!(kind(spaced.as_bytes(), &o), Ok(1));
    // A length: the caller may take it over, and does by default.
    assert_eq!(kind(over.as_bytes(), &Options::ROUTING), Ok(1));
    assert_eq!(kind(over.as_bytes(), &Options::DEFAULT), Ok(1));
    assert!(kind(over.as_bytes(), &Options::STRICT).is_err());
}

#[test]
fn depth_max_counts_an_angle_inside_a_group() {
    // A group is one level and its angle address another: at depth_max 2 the pair fits, at 1
    // the angle is one too deep; outside a group an angle alone fits in 1.
    let o = |d: u32| opts(|l| l.depth_max = d);
    assert_eq!(kind(b"g: <a@b.c>;", &o(2)), Ok(1));
    assert_eq!(
        kind(b"g: <a@b.c>;", &o(1)),
        Err(ErrorKind::DepthExceeded { depth: 2, limit: 1 })
    );
    assert_eq!(kind(b"g: a@b.c;", &o(1)), Ok(1));
    assert_eq!(kind(b"<a@b.c>", &o(1)), Ok(1));
    // A comment inside the angle inside the group is the third level.
    assert_eq!(kind(b"g: <a@b.c (c)>;", &o(3)), Ok(1));
    assert_eq!(
        kind(b"g: <a@b.c (c)>;", &o(2)),
        Err(ErrorKind::DepthExceeded { depth: 3, limit: 2 })
    );
}

#[test]
fn header_caps() {
    let arena = Arena::new(1 << 20);
    let o = opts(|l| {
        l.header_bytes_max = 2000;
        l.fields_max = 10;
        l.line_bytes_max = 100;
    });
    let block = |fields: usize, line: usize, pad: usize| {
        let mut s = String::new();
        for i in 0..fields {
            let v = format!("X-{i}: ");
            s += &v;
            s += &"v".repeat(line - v.len());
            s += "\n";
        }
        s += &" ".repeat(0);
        s += "\n";
        let mut s = s.into_bytes();
        s.extend(std::iter::repeat_n(b'b', pad));
        s
    };
    let ok = block(10, 100, 5);
    let hb = parse_header_block(&ok, &arena, &o).expect("at the caps");
    assert_eq!(hb.fields.len(), 10);
    assert_eq!(hb.body_offset, 10 * 101 + 1);
    let e = parse_header_block(&block(11, 20, 0), &arena, &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooManyFields { limit: 10 });
    let e = parse_header_block(&block(1, 101, 0), &arena, &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LineTooLong { limit: 100 });
    // 1000 bytes exactly, blank line included, then one more.
    let o2 = opts(|l| {
        l.header_bytes_max = 1000;
        l.line_bytes_max = 1000;
    });
    let mut exact = b"Subject: ".to_vec();
    exact.extend(std::iter::repeat_n(b'x', 1000 - exact.len() - 2));
    exact.extend(b"\n\nbody");
    assert!(parse_header_block(&exact, &arena, &o2).is_ok());
    let mut over = b"Subject: x".to_vec();
    over.extend(std::iter::repeat_n(b'x', 1000 - over.len() - 1));
    over.extend(b"\n\nbody");
    let e = parse_header_block(&over, &arena, &o2).unwrap_err();
    assert_eq!(e.kind, ErrorKind::HeaderTooLarge { limit: 1000 });
}

/// bumpalo's trap: with_capacity rounds up, and a limit under allocated_bytes() is ignored.
/// The arena must report the capacity that really holds and never allocate past it.
#[test]
fn arena_cap_really_holds() {
    for cap in [1usize, 100, 4096, 65_536, 1 << 20] {
        let arena = Arena::new(cap);
        assert!(arena.capacity_bytes() >= cap);
        let before = arena.allocated_bytes();
        // A list far bigger than any of these arenas.
        let o = opts(|l| {
            l.input_bytes_max = 8 << 20;
            l.tokens_max = u32::MAX / 2;
            l.addresses_max = u32::MAX / 2;
        });
        let input = "Some Name <someone@example.com>, ".repeat(100_000);
        let r = parse_address_list(input.as_bytes(), &arena, &o);
        assert!(
            matches!(r, Err(e) if e.kind == ErrorKind::ArenaExhausted { limit: arena.capacity_bytes() })
        );
        assert_eq!(
            arena.allocated_bytes(),
            before,
            "cap {cap}: a second chunk was allocated"
        );
        assert!(arena.allocated_bytes() <= arena.capacity_bytes());
    }
}

/// The proof: a 1 MiB hostile input with a 64 KiB arena ends in ArenaExhausted (or an
/// earlier cap), with no heap allocation at all during the parse.
#[test]
fn megabyte_hostile_input_with_64k_arena_never_touches_the_heap() {
    let arena = Arena::new(64 * 1024);
    let raised = opts(|l| {
        l.input_bytes_max = 2 << 20;
        l.tokens_max = u32::MAX / 2;
        l.addresses_max = u32::MAX / 2;
    });
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        ("many addresses", b"a@b,".repeat(1 << 18)),
        (
            "quoted pairs",
            [b"\"".as_slice(), &b"\\x".repeat(1 << 19), b"\"@x.y"].concat(),
        ),
        (
            "long names",
            b"=?utf-8?q?=C3=A9?= "
                .repeat(56_000)
                .into_iter()
                .chain(*b"<a@b>")
                .collect(),
        ),
        (
            "folded names",
            b"a\r\n b "
                .repeat(180_000)
                .into_iter()
                .chain(*b"<a@b>")
                .collect(),
        ),
    ];
    for (what, input) in shapes {
        assert!(input.len() >= 1 << 20, "{what}: {}", input.len());
        for o in [&Options::DEFAULT, &raised] {
            let (allocs, r) =
                heap_allocations_during(|| parse_address_list(&input, &arena, o).map(|l| l.len()));
            let e = r.expect_err(what);
            assert!(e.kind.is_limit(), "{what}: {e}");
            if o.limits.input_bytes_max > input.len() {
                assert!(
                    matches!(e.kind, ErrorKind::ArenaExhausted { .. }),
                    "{what}: {e}"
                );
            }
            assert_eq!(allocs, 0, "{what}: heap allocations during parse");
            assert!(arena.allocated_bytes() <= arena.capacity_bytes());
        }
    }
}

#[test]
fn a_successful_parse_does_not_touch_the_heap_either() {
    let arena = Arena::new(64 * 1024);
    let input = b"=?utf-8?q?J=C3=B6rg?= <j@x.test>, \"a b\"@c.d, g: (c) x . y @ z . w ;";
    let (allocs, r) = heap_allocations_during(|| {
        parse_address_list(input, &arena, &Options::DEFAULT).map(|l| l.mailboxes().count())
    });
    assert_eq!(r, Ok(3));
    assert_eq!(allocs, 0);
}

/// A long list costs the arena its addresses and no more: the list is reserved once for a long
/// field, not doubled (each doubling in a downward-growing arena copies and leaves the old
/// list behind: 135 bytes per address before, for a 72-byte address).
#[test]
fn a_long_list_costs_the_arena_one_address_each() {
    let o = opts(|l| {
        l.addresses_max = 100_000;
        l.tokens_max = 1_000_000;
        l.input_bytes_max = 1 << 20;
        l.header_bytes_max = 1 << 20;
        l.line_bytes_max = 1 << 20;
        l.arena_bytes_max = 16 << 20;
    });
    let arena = Arena::for_limits(&o.limits);
    let input = "a@example.org, ".repeat(20_000);
    let list = parse_address_list(input.as_bytes(), &arena, &o).unwrap();
    assert_eq!(list.len(), 20_000);
    let per = arena.used_bytes() as f64 / 20_000.0;
    let size = std::mem::size_of::<mailaddr::Address>() as f64;
    assert!(
        per <= size * 1.01,
        "{per} arena bytes per address of {size}"
    );
}
