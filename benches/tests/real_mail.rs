//! Every address-bearing field of the shared real-mail sample (read in place; skipped when
//! ../shared is absent). The failures are pinned to the kinds judged the mail's fault (see
//! docs/parser.md): a regression in the parser shows up as a new kind or a lower count.

#[test]
fn real_mail_address_fields() {
    let heads = benches::real_mail_heads();
    if heads.is_empty() {
        // Under CI ../shared is always beside the checkout: its absence is a failure there.
        return benches::cannot_run_here("../shared/corpus-sample/messages not found");
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

/// The two real-mail workloads of the benches read the same addresses: each address field
/// parsed from its header block (`real-fields`) and its value given alone (`real-values`,
/// where the value's UTF-8 and folds are checked again) find the same mailboxes, and the
/// same fields fail.
#[test]
fn the_values_alone_give_what_their_fields_give() {
    let heads = benches::real_mail_address_fields();
    if heads.is_empty() {
        return benches::cannot_run_here("../shared/corpus-sample/messages not found");
    }
    let opts = mailaddr::Options::DEFAULT;
    let (mut arena, mut field_arena) = (
        mailaddr::Arena::new(1 << 20),
        mailaddr::Arena::for_limits(&opts.limits),
    );
    let (mut found, mut failed) = (0, 0);
    for h in &heads {
        let (f, e) = benches::ours(h, &mut arena, &mut field_arena, &opts);
        (found, failed) = (found + f, failed + e);
    }
    let values = benches::real_mail_address_values();
    let alone: Vec<_> = values
        .iter()
        .map(|(kind, v)| benches::ours_value(*kind, v, &mut field_arena, &opts))
        .collect();
    assert!(values.len() >= 1_500, "{}", values.len());
    assert_eq!(alone.iter().flatten().sum::<usize>(), found);
    assert_eq!(alone.iter().filter(|r| r.is_none()).count(), failed);
    assert!(found > 3_000, "{found}");
}
