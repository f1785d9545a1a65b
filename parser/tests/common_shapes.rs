//! The one-pass path for common mailbox shapes against the general path: on every input, with
//! the default limits and with tight ones, both give the same list or the same error at the
//! same offset (so the same tokens, addresses and depth were counted); and the same for a
//! return path.

use mailaddr::{parse_address_list, parse_header_block, parse_path, Arena, Options};
use proptest::prelude::*;

fn both(input: &[u8], opts: Options) {
    let general = Options {
        general_path_only: true,
        ..opts
    };
    let (a1, a2) = (Arena::new(1 << 20), Arena::new(1 << 20));
    let fast = parse_address_list(input, &a1, &opts).map(|l| format!("{:?}", l.addresses));
    let slow = parse_address_list(input, &a2, &general).map(|l| format!("{:?}", l.addresses));
    assert_eq!(fast, slow, "input {:?}", String::from_utf8_lossy(input));
    // The return path takes the same one-pass path for `<local@domain>`.
    let (a1, a2) = (Arena::new(1 << 20), Arena::new(1 << 20));
    let fast = parse_path(input, &a1, &opts).map(|m| format!("{m:?}"));
    let slow = parse_path(input, &a2, &general).map(|m| format!("{m:?}"));
    assert_eq!(fast, slow, "path {:?}", String::from_utf8_lossy(input));
    // As a header block's field, whose folds the split has checked (a short one is looked at
    // whole first there too).
    let mut message = b"To:".to_vec();
    message.extend_from_slice(input);
    message.extend_from_slice(b"\r\n\r\n");
    let block_arena = Arena::new(1 << 20);
    let Ok(block) = parse_header_block(&message, &block_arena, &Options::DEFAULT) else {
        return;
    };
    let Some(field) = block.fields.first().filter(|f| f.value == input) else {
        return;
    };
    let (a1, a2) = (Arena::new(1 << 20), Arena::new(1 << 20));
    let fast = field
        .parse_address_list(&a1, &opts)
        .map(|l| format!("{:?}", l.addresses));
    let slow = field
        .parse_address_list(&a2, &general)
        .map(|l| format!("{:?}", l.addresses));
    assert_eq!(fast, slow, "field {:?}", String::from_utf8_lossy(input));
    let (a1, a2) = (Arena::new(1 << 20), Arena::new(1 << 20));
    let fast = field.parse_path(&a1, &opts).map(|m| format!("{m:?}"));
    let slow = field.parse_path(&a2, &general).map(|m| format!("{m:?}"));
    assert_eq!(
        fast,
        slow,
        "field path {:?}",
        String::from_utf8_lossy(input)
    );
}

fn tight(tokens: u32, addresses: u32, depth: u32, local: usize, domain: usize) -> Options {
    // The lengths are enforced here (DEFAULT leaves them to the caller), so that both paths
    // are held to report them the same way.
    let mut o = Options {
        allow_long_addresses: false,
        ..Options::DEFAULT
    };
    o.limits.tokens_max = tokens;
    o.limits.addresses_max = addresses;
    o.limits.depth_max = depth;
    o.limits.local_part_bytes_max = local;
    o.limits.domain_bytes_max = domain;
    o
}

fn check(input: &[u8]) {
    both(input, Options::DEFAULT);
    both(input, Options::ROUTING);
    both(input, Options::STRICT);
    for t in [1, 2, 3, 5, 8, 13] {
        both(input, tight(t, 2048.min(t), 32, 64, 255));
    }
    for a in [1, 2, 3] {
        both(input, tight(10_240, a, 32, 64, 255));
    }
    both(input, tight(10_240, 2048, 1, 64, 255));
    both(input, tight(10_240, 2048, 32, 3, 5));
}

/// Every line of the project's corpus of valid fields and of the fixture file.
#[test]
fn the_corpus_and_the_fixtures_parse_the_same_both_ways() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    let files = [
        root.join("../corpus/valid/realistic.txt"),
        root.join("../corpus/valid/rfc5322-appendix-a.txt"),
        root.join("tests/fixtures/address_lists.txt"),
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            let value = line
                .split_once('\t')
                .map_or(line.strip_prefix("< ").unwrap_or(line), |(_, v)| v);
            check(value.as_bytes());
            n += 1;
        }
    }
    assert!(n > 100, "{n} lines");
}

fn common_shapes() -> impl Strategy<Value = Vec<u8>> {
    let atom = "[a-zA-Z0-9!#=?+_-]{1,6}";
    let dot_atom = prop::collection::vec(atom, 1..3).prop_map(|v| v.join("."));
    let name = prop::collection::vec(atom, 1..3).prop_map(|v| v.join(" "));
    let mailbox = (
        dot_atom.clone(),
        dot_atom,
        prop::option::of(name),
        0..4usize,
        "[ \t(),;<>@.\"\\\\:\r\n]{0,2}",
    )
        .prop_map(|(l, d, n, shape, junk)| match (shape, n) {
            (0, _) | (_, None) => format!("{l}@{d}{junk}"),
            (1, _) => format!("<{l}@{d}>{junk}"),
            (2, Some(n)) => format!("{n} <{l}@{d}>{junk}"),
            (_, Some(n)) => format!("\"{n}\" <{l}@{d}>{junk}"),
        });
    // What comes before the first address: nothing, white space, a fold (good or bad), a
    // comment. One address alone is the usual field, and is read by a path of its own.
    let lead = prop::sample::select(vec!["", " ", "\t ", "\r\n ", "\r\n", "\n\t", "(c) "]);
    (lead, prop::collection::vec(mailbox, 1..5))
        .prop_map(|(lead, v)| format!("{lead}{}", v.join(", ")).into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn common_shapes_parse_the_same_both_ways(input in common_shapes()) {
        check(&input);
    }

    #[test]
    fn any_bytes_parse_the_same_both_ways(input in prop::collection::vec(
        prop::sample::select(b"ab.@<> \"\t,;:()\\=?\x00\xc3\xa9\r\n".to_vec()), 0..60)) {
        check(&input);
    }
}

/// An arena too small for one address: both paths fail alike, at the same offset (the one-pass
/// paths put the address in the arena where the general path puts its list). Arenas of every
/// size from nothing to past one address.
#[test]
fn an_arena_too_small_fails_the_same_both_ways() {
    let general = Options {
        general_path_only: true,
        ..Options::DEFAULT
    };
    let mut exhausted = 0;
    for cap in [0, 1, 8, 16, 32, 48, 64, 80, 96, 128, 256] {
        for input in [
            &b"a@b.c"[..],
            b" <a@b.c>\t",
            b"Name <a@b.c>",
            b"a@b.c, d@e.f",
        ] {
            let (a1, a2) = (Arena::new(cap), Arena::new(cap));
            let fast = parse_address_list(input, &a1, &Options::DEFAULT).map(|l| l.addresses.len());
            let slow = parse_address_list(input, &a2, &general).map(|l| l.addresses.len());
            assert_eq!(fast, slow, "cap {cap}, input {input:?}");
            exhausted += usize::from(fast.is_err());
        }
    }
    assert!(exhausted > 0, "no arena was too small");
}
