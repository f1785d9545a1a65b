//! Every address-bearing field of the shared real-mail sample (read in place; skipped when
//! ../shared is absent). The failures are pinned to the kinds judged the mail's fault (see
//! docs/parser.md): a regression in the parser shows up as a new kind or a lower count.

#[test]
fn real_mail_address_fields() {
    let heads = benches::real_mail_heads();
    if heads.is_empty() {
        // Under CI ../shared is always beside the checkout: its absence is a failure there.
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("../shared/corpus-sample/messages not found under CI");
        }
        eprintln!("skipped: ../shared/corpus-sample/messages not found");
        return;
    }
    let t = benches::tally_real_mail(&heads, &mailaddr::Options::DEFAULT);
    let kinds: Vec<(usize, &str)> = t.failures.iter().map(|f| (f.message, f.kind)).collect();
    eprintln!(
        "{} messages, {} address fields, {} parsed, failures {kinds:?}",
        t.messages, t.fields, t.parsed
    );
    assert!(
        t.blocks_refused.is_empty(),
        "header blocks refused: {:?}",
        t.blocks_refused
    );
    // Judged the mail's fault: unqualified or junk addresses, `<>` in To, raw 8-bit bytes in a
    // local part, a redaction marker `[removed]` where an address should be.
    let mail_at_fault = [
        "missing-at",
        "empty-address",
        "invalid-utf8",
        "unexpected-character",
    ];
    for (i, kind) in &kinds {
        assert!(
            mail_at_fault.contains(kind),
            "message {i}: {kind} is not a known mail fault"
        );
    }
    assert!(
        t.fields >= 1_500 && t.failures.len() <= 9,
        "{}/{} parsed",
        t.parsed,
        t.fields
    );
}
