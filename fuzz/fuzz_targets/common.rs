// Shared by the fuzz targets: the byte mapping and the address-list oracle.

use mailaddr::{parse_address_list, Address, Arena, Options};

/// The RFC 822 specials, white space and a few atext bytes. When the first input byte is odd,
/// the rest is mapped through this table so the fuzzer spends its time where the grammar is.
const ALPHABET: &[u8; 32] = b"()<>@,;:\\\".[] \t\r\na.b=?Q_B-\x80\xc3\xa9\"\x00x";

pub fn shape(data: &[u8]) -> Vec<u8> {
    match data.split_first() {
        Some((mode, rest)) if mode & 1 == 1 => rest.iter().map(|b| ALPHABET[(b & 31) as usize]).collect(),
        Some((_, rest)) => rest.to_vec(),
        None => Vec::new(),
    }
}

/// Parse; check the arena bound and the error offset; on success print canonically, reparse,
/// and require the same values; strict success implies lenient success with the same values.
pub fn check_address_list(input: &[u8], arena: &Arena, arena2: &Arena) {
    let lenient = parse_address_list(input, arena, &Options::DEFAULT);
    assert!(arena.allocated_bytes() <= arena.capacity_bytes(), "arena grew past its cap");
    match &lenient {
        Err(e) => assert!(e.offset <= input.len(), "offset {} past {}", e.offset, input.len()),
        Ok(list) => {
            let printed = list.to_string();
            let again = parse_address_list(printed.as_bytes(), arena2, &Options::DEFAULT)
                .unwrap_or_else(|e| panic!("canonical form {printed:?} does not reparse: {e}"));
            assert_eq!(printed, again.to_string());
            assert!(same(list.addresses, again.addresses), "{printed:?} reparsed differently");
        }
    }
    if let Ok(strict) = parse_address_list(input, arena2, &Options::STRICT) {
        let lenient = lenient.expect("strict accepted what lenient refused");
        assert!(same(strict.addresses, lenient.addresses));
    }
    assert!(arena2.allocated_bytes() <= arena2.capacity_bytes());
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
