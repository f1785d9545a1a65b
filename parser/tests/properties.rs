//! Properties over generated inputs.
//!
//! 1. Any bytes: `Ok` or a typed error, never a panic; no heap allocation; the arena never
//!    grows past its capacity; an `Ok` result prints to a form that parses to the same values.
//! 2. A reference model: address lists are generated as values, written out with random but
//!    legal decoration (comments, folding, quoting, obsolete spacing), and the parser must give
//!    back exactly the generated values.

mod common;

use common::{heap_allocations_during, CountingAlloc};
use mailaddr::{parse_address_list, parse_header_block, Address, Arena, Options};
use proptest::prelude::*;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Bytes drawn mostly from the grammar's specials, so generated inputs reach deep states.
fn grammar_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: &[u8] = b"()<>@,;:\\\".[] \t\r\nab=?Q_\x80\xc3\xa9";
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(alphabet.to_vec()),
            1 => any::<u8>(),
        ],
        0..400,
    )
}

fn check_any(input: &[u8], arena_bytes: usize) {
    let arena = Arena::new(arena_bytes);
    let (allocs, r) = heap_allocations_during(|| {
        parse_address_list(input, &arena, &Options::DEFAULT).map(|l| l.to_string())
    });
    // to_string allocates on success; count only failures' allocations as the parse's.
    assert!(arena.allocated_bytes() <= arena.capacity_bytes());
    match r {
        Err(e) => {
            assert_eq!(allocs, 0, "heap allocation on the error path");
            assert!(
                e.offset <= input.len(),
                "offset {} past input {}",
                e.offset,
                input.len()
            );
            assert!(!e.kind.name().is_empty());
        }
        Ok(printed) => {
            let arena2 = Arena::new(1 << 20);
            let again = parse_address_list(printed.as_bytes(), &arena2, &Options::DEFAULT)
                .unwrap_or_else(|e| panic!("{printed:?} does not reparse: {e}"));
            assert_eq!(printed, again.to_string());
            let first = parse_address_list(input, &arena, &Options::DEFAULT).unwrap();
            assert!(values(first.addresses) == values(again.addresses));
            counts_as_walked(&first);
        }
    }
}

/// `mailboxes().count()` (which counts an address at a time) is the number a walk finds, from
/// the start and from every step of the walk (inside a group too).
fn counts_as_walked(list: &mailaddr::AddressList<'_>) {
    let walked = list.mailboxes().fold(0, |n, _| n + 1);
    let mut it = list.mailboxes();
    for left in (0..=walked).rev() {
        assert_eq!(it.clone().count(), left);
        assert!(it.size_hint().0 <= left);
        it.next();
    }
    assert!(it.next().is_none());
}

#[test]
fn mailboxes_count_as_walked_with_groups() {
    let arena = Arena::new(1 << 16);
    let input = b"a@b, G: c@d, e@f;, Empty:;, g@h, H: i@j;";
    let list = parse_address_list(input, &arena, &Options::DEFAULT).unwrap();
    assert_eq!(list.mailboxes().count(), 5);
    counts_as_walked(&list);
}

type Values = Vec<(
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
)>;
fn values(list: &[Address<'_>]) -> Values {
    let mut v = Vec::new();
    for a in list {
        match a {
            Address::Mailbox(m) => v.push((
                None,
                m.name.map(Into::into),
                m.local.into(),
                m.domain.into(),
                m.route.map(Into::into),
            )),
            Address::Group(g) => {
                v.push((
                    Some(g.name.into()),
                    None,
                    String::new(),
                    String::new(),
                    None,
                ));
                for m in g.members {
                    v.push((
                        Some(g.name.into()),
                        m.name.map(Into::into),
                        m.local.into(),
                        m.domain.into(),
                        m.route.map(Into::into),
                    ));
                }
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, .. ProptestConfig::default() })]

    #[test]
    fn any_bytes_give_ok_or_a_typed_error(input in grammar_bytes()) {
        check_any(&input, 64 * 1024);
    }

    #[test]
    fn any_bytes_in_a_tiny_arena(input in grammar_bytes()) {
        check_any(&input, 512);
    }

    #[test]
    fn any_header_block(input in grammar_bytes()) {
        let arena = Arena::new(64 * 1024);
        let (allocs, r) = heap_allocations_during(|| parse_header_block(&input, &arena, &Options::DEFAULT).map(|h| h.fields.len()));
        prop_assert_eq!(allocs, 0);
        if let Err(e) = r { prop_assert!(e.offset <= input.len()); }
    }
}

// ---- The reference model ----

#[derive(Clone, Debug)]
struct GenMailbox {
    name: Option<String>,
    local: String,
    domain: String,
}

#[derive(Clone, Debug)]
enum GenAddress {
    Mailbox(GenMailbox),
    Group(String, Vec<GenMailbox>),
}

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,8}".prop_filter("no =?", |w| !w.contains("=?"))
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(word(), 1..4).prop_map(|w| w.join(" ")),
        // Names that must be quoted: specials, dots, quotes, backslashes, UTF-8.
        "[A-Za-z .,;:<>@()\\[\\]\"\\\\é用]{1,12}".prop_filter("no edge spaces or doubles", |s| {
            !s.starts_with(' ') && !s.ends_with(' ') && !s.contains("  ")
        }),
    ]
}

fn local() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(word(), 1..4).prop_map(|w| w.join(".")),
        "[a-z @\"\\\\,]{1,10}",
    ]
}

fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9-]{1,10}", 1..4).prop_map(|l| l.join("."))
}

fn mailbox() -> impl Strategy<Value = GenMailbox> {
    (prop::option::of(name()), local(), domain()).prop_map(|(name, local, domain)| GenMailbox {
        name,
        local,
        domain,
    })
}

fn address() -> impl Strategy<Value = GenAddress> {
    prop_oneof![
        3 => mailbox().prop_map(GenAddress::Mailbox),
        1 => (name(), prop::collection::vec(mailbox(), 0..4)).prop_map(|(n, m)| GenAddress::Group(n, m)),
    ]
}

/// Random legal CFWS: nothing, spaces, a fold, a (nested) comment.
fn cfws(r: &mut impl FnMut() -> u32) -> String {
    match r() % 6 {
        0 | 1 => String::new(),
        2 => " ".into(),
        3 => "\r\n ".into(),
        4 => " (a comment) ".into(),
        _ => "(nested (comment \\) here))".into(),
    }
}

fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|a| {
            !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b))
        })
}

fn render_local(l: &str, r: &mut impl FnMut() -> u32) -> String {
    if is_dot_atom(l) {
        match r() % 3 {
            0 => l.to_string(),
            // Obsolete: CFWS around the dots.
            1 => l
                .split('.')
                .collect::<Vec<_>>()
                .join(&format!("{}.{}", cfws(r), cfws(r))),
            // Quoted although it need not be.
            _ => quote(l),
        }
    } else {
        quote(l)
    }
}

fn render_domain(d: &str, r: &mut impl FnMut() -> u32) -> String {
    if r().is_multiple_of(2) {
        d.to_string()
    } else {
        d.split('.')
            .collect::<Vec<_>>()
            .join(&format!("{}.{}", cfws(r), cfws(r)))
    }
}

fn render_name(n: &str, r: &mut impl FnMut() -> u32) -> String {
    let bare = n.split(' ').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b))
    });
    if bare && r().is_multiple_of(2) {
        n.to_string()
    } else {
        quote(n)
    }
}

fn render_mailbox(m: &GenMailbox, r: &mut impl FnMut() -> u32) -> String {
    let spec = format!(
        "{}{}@{}{}",
        render_local(&m.local, r),
        cfws(r),
        cfws(r),
        render_domain(&m.domain, r)
    );
    match &m.name {
        Some(n) => format!(
            "{}{}<{}{}{}>{}",
            render_name(n, r),
            cfws(r),
            cfws(r),
            spec,
            cfws(r),
            cfws(r)
        ),
        None if r().is_multiple_of(3) => format!("<{spec}>"),
        None => spec,
    }
}

fn canonical_local(l: &str) -> String {
    if is_dot_atom(l) {
        l.to_string()
    } else {
        quote(l)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    #[test]
    fn generated_lists_parse_to_their_values(list in prop::collection::vec(address(), 0..6), seed in any::<u64>()) {
        let text = render_list(&list, seed);
        let arena = Arena::new(1 << 20);
        let got = parse_address_list(text.as_bytes(), &arena, &Options::STRICT)
            .map_err(|e| format!("{e} in {text:?}"));
        let got = match got { Ok(g) => g, Err(e) => { prop_assert!(false, "{}", e); unreachable!() } };
        let mut want: Values = Vec::new();
        for a in &list {
            let mb = |m: &GenMailbox| (m.name.clone(), canonical_local(&m.local), m.domain.clone());
            match a {
                GenAddress::Mailbox(m) => { let (n, l, d) = mb(m); want.push((None, n, l, d, None)); }
                GenAddress::Group(g, ms) => {
                    want.push((Some(g.clone()), None, String::new(), String::new(), None));
                    for m in ms { let (n, l, d) = mb(m); want.push((Some(g.clone()), n, l, d, None)); }
                }
            }
        }
        prop_assert_eq!(values(got.addresses), want, "input {:?}", text);
    }
}

/// A generated list written out with random legal decoration (folds among it).
fn render_list(list: &[GenAddress], seed: u64) -> String {
    let mut state = seed | 1;
    let mut r = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 32) as u32
    };
    let mut text = cfws(&mut r);
    for (i, a) in list.iter().enumerate() {
        if i > 0 {
            text += &format!(",{}", cfws(&mut r));
        }
        if r() % 8 == 0 {
            text += ", "; // an empty element
        }
        match a {
            GenAddress::Mailbox(m) => text += &render_mailbox(m, &mut r),
            GenAddress::Group(n, members) => {
                text += &format!(
                    "{}{}:{}",
                    render_name(n, &mut r),
                    cfws(&mut r),
                    cfws(&mut r)
                );
                let ms: Vec<String> = members.iter().map(|m| render_mailbox(m, &mut r)).collect();
                text += &ms.join(",");
                text += &format!(";{}", cfws(&mut r));
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    /// The class of the bare line break: a CR not before LF, or a line break not before a space
    /// or tab, put anywhere in a legal list (but as the second byte of a quoted pair, where it
    /// is obs-qp) is refused at that very byte, parsed alone or as a header block's field.
    #[test]
    fn a_line_break_that_is_not_a_fold_is_refused_wherever_it_lands(
        list in prop::collection::vec(address(), 1..5),
        seed in any::<u64>(),
        at in any::<prop::sample::Index>(),
        kind in 0..3u8,
    ) {
        let text = render_list(&list, seed).into_bytes();
        let p = at.index(text.len() + 1);
        let escaped = text[..p].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1;
        let before_wsp = matches!(text.get(p), Some(b' ' | b'\t'));
        let insert: &[u8] = match kind {
            0 => b"\r",
            1 => b"\r\n",
            _ => b"\n",
        };
        // A CR right before an LF of the text would make a CRLF: still bare if the LF is not
        // followed by white space, but a legal fold if it is. Keep to the plainly bad cases.
        let makes_crlf = kind == 0 && text.get(p) == Some(&b'\n');
        // Inside a fold (after its CR or its LF), the fold itself breaks first.
        let splits_crlf = p > 0 && matches!(text[p - 1], b'\r' | b'\n');
        prop_assume!(!(escaped || makes_crlf || splits_crlf || (kind > 0 && before_wsp)));
        let mut bad = text[..p].to_vec();
        bad.extend_from_slice(insert);
        bad.extend_from_slice(&text[p..]);
        let arena = Arena::new(1 << 20);
        let e = parse_address_list(&bad, &arena, &Options::DEFAULT).err();
        prop_assert_eq!(
            e.map(|e| (e.kind.name(), e.offset)),
            Some(("unexpected-character", p)),
            "input {:?}", String::from_utf8_lossy(&bad)
        );
        if kind == 0 {
            // A bare CR stays inside its header line: the field must say the same.
            let mut m = b"To:".to_vec();
            m.extend_from_slice(&bad);
            m.extend_from_slice(b"\r\n\r\n");
            let block = parse_header_block(&m, &arena, &Options::DEFAULT).unwrap();
            let e = block.fields[0].parse_address_list(&arena, &Options::DEFAULT).err();
            prop_assert_eq!(e.map(|e| (e.kind.name(), e.offset)), Some(("unexpected-character", p)));
        }
    }
}

/// Plain base64 (RFC 4648, with padding): the reference encoder for the encoded-word tests.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for k in 0..4 {
            out.push(if k <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// `bytes` as one encoded word of `label`, in B or in Q (every byte as `=XX`).
fn encoded_word(label: &str, bytes: &[u8], b: bool) -> String {
    if b {
        format!("=?{label}?B?{}?=", base64(bytes))
    } else {
        let q: String = bytes.iter().map(|b| format!("={b:02X}")).collect();
        format!("=?{label}?q?{q}?=")
    }
}

/// The display name the parser gives for `name <a@b.c>`.
fn decoded_name(name: &str) -> Option<String> {
    let arena = Arena::new(64 << 10);
    let input = format!("{name} <a@b.c>");
    let list = parse_address_list(input.as_bytes(), &arena, &Options::DEFAULT).ok()?;
    let m = list.mailboxes().next()?;
    Some(m.name.unwrap_or("").to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    /// The class of a character split across encoded words (RFC 2047 forbids it; encoders do
    /// it): any text, its UTF-8 bytes cut at any points into adjacent words of one charset
    /// (B or Q, the label in any case, white space, a fold or a comment between), decodes to
    /// the text itself. And with one word of another charset put between two pieces, each
    /// run is decoded on its own: the reference is the pieces' lossy UTF-8, the other word
    /// decoded between them.
    #[test]
    fn text_cut_anywhere_into_encoded_words_decodes_whole(
        text in "\\PC{1,12}",
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        b in prop::collection::vec(any::<bool>(), 5),
        seps in prop::collection::vec(prop::sample::select(vec![" ", "  ", "\t", " (c) ", "\r\n "]), 5),
        label in prop::sample::select(vec!["utf-8", "UTF-8", "Utf-8", "utf8"]),
        other_at in any::<prop::sample::Index>(),
    ) {
        let bytes = text.as_bytes();
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len())).filter(|&i| i > 0).collect();
        at.sort_unstable();
        at.dedup();
        let mut pieces = Vec::new();
        let mut from = 0;
        for &to in at.iter().chain([bytes.len()].iter()) {
            pieces.push(&bytes[from..to]);
            from = to;
        }
        let words: Vec<String> = pieces
            .iter()
            .enumerate()
            .map(|(i, p)| encoded_word(label, p, b[i]))
            .collect();
        let mut name = String::new();
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                name.push_str(seps[i]);
            }
            name.push_str(w);
        }
        prop_assert_eq!(decoded_name(&name), Some(text.clone()), "{}", name);

        // Another charset between two pieces ends the run: each side decoded alone.
        if pieces.len() >= 2 {
            let k = 1 + other_at.index(pieces.len() - 1);
            let other = encoded_word("iso-8859-1", b"\xe9", b[0]);
            let mut name = String::new();
            for (i, w) in words.iter().enumerate() {
                if i == k {
                    name.push(' ');
                    name.push_str(&other);
                }
                if i > 0 {
                    name.push(' ');
                }
                name.push_str(w);
            }
            let before: Vec<u8> = pieces[..k].concat();
            let after: Vec<u8> = pieces[k..].concat();
            let want = format!(
                "{}é{}",
                String::from_utf8_lossy(&before),
                String::from_utf8_lossy(&after)
            );
            prop_assert_eq!(decoded_name(&name), Some(want), "{}", name);
        }
    }
}
