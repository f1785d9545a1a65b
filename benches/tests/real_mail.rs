//! Every address-bearing field of the shared real-mail sample (read in place; skipped when
//! ../shared is absent). The failures are pinned to the kinds judged the mail's fault (see
//! docs/parser.md): a regression in the parser shows up as a new kind or a lower count.

use mailaddr::{parse_address_list, parse_header_block, parse_path, AddressField, Arena, Options};

#[test]
fn real_mail_address_fields() {
    let heads = benches::real_mail_heads();
    if heads.is_empty() {
        eprintln!("skipped: ../shared/corpus-sample/messages not found");
        return;
    }
    let opts = Options::DEFAULT;
    let mut arena = Arena::new(256 << 10);
    let mut field_arena = Arena::for_limits(&opts.limits);
    let (mut fields, mut parsed) = (0, 0);
    let mut failures = Vec::new();
    for (i, head) in heads.iter().enumerate() {
        arena.reset();
        let block = parse_header_block(head, &arena, &opts)
            .unwrap_or_else(|e| panic!("message {i}: header block: {e}"));
        for f in block.fields {
            let Some(kind) = f.address_field() else {
                continue;
            };
            fields += 1;
            field_arena.reset();
            let r = match kind {
                AddressField::ReturnPath => parse_path(f.value, &field_arena, &opts).map(|_| ()),
                _ => parse_address_list(f.value, &field_arena, &opts).map(|_| ()),
            };
            match r {
                Ok(()) => parsed += 1,
                Err(e) => failures.push((i, e.kind.name())),
            }
        }
    }
    eprintln!(
        "{} messages, {fields} address fields, {parsed} parsed, failures {failures:?}",
        heads.len()
    );
    // Judged the mail's fault: unqualified or junk addresses, `<>` in To, raw 8-bit bytes in a
    // local part, a redaction marker `[removed]` where an address should be.
    let mail_at_fault = [
        "missing-at",
        "empty-address",
        "invalid-utf8",
        "unexpected-character",
    ];
    for (i, kind) in &failures {
        assert!(
            mail_at_fault.contains(kind),
            "message {i}: {kind} is not a known mail fault"
        );
    }
    assert!(
        fields >= 1_500 && failures.len() <= 9,
        "{parsed}/{fields} parsed"
    );
}
