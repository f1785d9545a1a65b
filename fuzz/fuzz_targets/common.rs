// Shared by the fuzz targets: the byte mapping and the address-list oracle.

use mailaddr::{parse_address_list, parse_path, Address, Arena, ErrorKind, Options};

/// The RFC 822 specials, white space and a few atext bytes. When the first input byte is odd,
/// the rest is mapped through this table so the fuzzer spends its time where the grammar is.
const ALPHABET: &[u8; 32] = b"()<>@,;:\\\".[] \t\r\na.b=?Q_B-\x80\xc3\xa9\"\x00x";

pub fn shape(data: &[u8]) -> Vec<u8> {
    match data.split_first() {
        Some((mode, rest)) if mode & 1 == 1 => {
            rest.iter().map(|b| ALPHABET[(b & 31) as usize]).collect()
        }
        Some((_, rest)) => rest.to_vec(),
        None => Vec::new(),
    }
}

/// The oracle. Parse in a small arena and in big ones; check the arena bounds and error
/// offsets. The small arena may only change the answer into `ArenaExhausted`. A success must
/// print canonically and reparse to the same values. Strict success implies lenient success
/// with the same values (the relaxations only add). The one-pass path for common shapes gives
/// what the general path gives.
pub fn check_address_list(input: &[u8], small: &Arena, big: &mut [Arena; 3]) {
    for a in big.iter_mut() {
        a.reset();
    }
    let [big1, big2, big3] = &mut *big;
    let in_small = parse_address_list(input, small, &Options::DEFAULT);
    let lenient = parse_address_list(input, big1, &Options::DEFAULT);
    assert!(
        small.allocated_bytes() <= small.capacity_bytes(),
        "arena grew past its cap"
    );
    match (&in_small, &lenient) {
        (Err(e), _) if matches!(e.kind, ErrorKind::ArenaExhausted { .. }) => {}
        (Ok(x), Ok(y)) => assert!(
            same(x.addresses, y.addresses),
            "small arena changed the values"
        ),
        (Err(x), Err(y)) => assert_eq!(x, y, "small arena changed the error"),
        (x, y) => panic!("small arena changed the outcome: {x:?} vs {y:?}"),
    }
    match &lenient {
        Err(e) => assert!(
            e.offset <= input.len(),
            "offset {} past {}",
            e.offset,
            input.len()
        ),
        Ok(list) => {
            let printed = list.to_string();
            let again = parse_address_list(printed.as_bytes(), big2, &Options::DEFAULT)
                .unwrap_or_else(|e| panic!("canonical form {printed:?} does not reparse: {e}"));
            assert_eq!(printed, again.to_string());
            assert!(
                same(list.addresses, again.addresses),
                "{printed:?} reparsed differently"
            );
        }
    }
    if let Ok(strict) = parse_address_list(input, big3, &Options::STRICT) {
        let lenient = lenient
            .as_ref()
            .expect("strict accepted what lenient refused");
        assert!(same(strict.addresses, lenient.addresses));
    }
    // The one-pass path for common shapes against the general path alone: the same values,
    // or the same error at the same offset (so the same limits were counted).
    big3.reset();
    let general = Options {
        general_path_only: true,
        ..Options::DEFAULT
    };
    match (&lenient, parse_address_list(input, big3, &general)) {
        (Ok(x), Ok(y)) => assert!(same(x.addresses, y.addresses), "the two paths differ"),
        (Err(x), Err(y)) => assert_eq!(*x, y, "the two paths fail differently"),
        (x, y) => panic!("the two paths differ: {x:?} vs {y:?}"),
    }
    // Again with the address lengths enforced (DEFAULT leaves them to the caller): both paths
    // must report a long local part or domain at the same offset.
    let enforce = |general_path_only| Options {
        allow_long_addresses: false,
        general_path_only,
        ..Options::DEFAULT
    };
    big1.reset();
    big3.reset();
    let fast = parse_address_list(input, big1, &enforce(false)).map(|l| l.to_string());
    let slow = parse_address_list(input, big3, &enforce(true)).map(|l| l.to_string());
    assert_eq!(fast, slow, "the two paths differ with the lengths enforced");
    // And a return path, which takes the one-pass path for `<local@domain>` too.
    big1.reset();
    big3.reset();
    let fast = parse_path(input, big1, &Options::DEFAULT).map(|m| format!("{m:?}"));
    let slow = parse_path(input, big3, &general).map(|m| format!("{m:?}"));
    assert_eq!(fast, slow, "the two paths differ on a return path");
    for a in big.iter() {
        assert!(a.allocated_bytes() <= a.capacity_bytes());
    }
}

thread_local! {
    /// Three 1 MiB arenas for the oracle, built once per thread and reset per input.
    pub static BIG: std::cell::RefCell<[Arena; 3]> =
        std::cell::RefCell::new([Arena::new(1 << 20), Arena::new(1 << 20), Arena::new(1 << 20)]);
}

fn same(a: &[Address<'_>], b: &[Address<'_>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Address::Mailbox(m), Address::Mailbox(n)) => {
                (m.name, m.route, m.local, m.domain) == (n.name, n.route, n.local, n.domain)
            }
            (Address::Group(g), Address::Group(h)) => {
                g.name == h.name
                    && g.members.len() == h.members.len()
                    && g.members.iter().zip(h.members).all(|(m, n)| {
                        (m.name, m.route, m.local, m.domain) == (n.name, n.route, n.local, n.domain)
                    })
            }
            _ => false,
        })
}
