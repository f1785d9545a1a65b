//! Real mail always flows (SPEC section 5, revised): every message of the shared real-mail
//! sample, given an envelope that names its recipient as an SMTP server would, is routed.
//! Read in place from ../shared/corpus-sample (never copied here); skipped when it is absent,
//! except under CI, where it is always beside the checkout.

use router::core::envelope;
use router::core::message::Outcome;

/// The sample's messages, by name; `None` (a failure under CI) when it is absent.
fn sample() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus-sample/messages");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        benches::cannot_run_here("../shared/corpus-sample/messages not found");
        return None;
    };
    let mut out: Vec<(String, Vec<u8>)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            std::fs::read(e.path()).ok().map(|b| (name, b))
        })
        .collect();
    out.sort();
    Some(out)
}

#[test]
fn every_sample_message_is_routed_with_envelope_recipients() {
    let Some(messages) = sample() else {
        return;
    };
    assert!(
        messages.len() >= 400,
        "the sample lost messages: {}",
        messages.len()
    );
    // The envelope an SMTP server writes: the sender as given in MAIL FROM (here a VERP bounce
    // address, the longest kind real lists use) and the one recipient it accepted.
    // Passed untouched: one output, to `local`, ending with the message exactly as it came.
    benches::route_with_one_recipient(&messages, "list-bounces+user=example.org@lists.example.net")
        .assert_all_routed_untouched(messages.len());
}

/// Company-wide mail (SPEC section 5, revised; the report's "company-wide mail"): the sample
/// message with the longest `To:` list (an Enron announcement to 500 addresses), its list
/// repeated until the header block nearly fills its 100 KiB cap, is routed untouched, given
/// its envelope recipient; and with no `to` lines, its recipients taken from that `To:`, it is
/// routed too, to each of them once. Per-field caps that park sit above what such a field
/// reaches: with the parser's former 10 240 tokens and 2 048 addresses, 2 000 of these
/// addresses (39 KB) were parked `too-many-tokens`.
#[test]
fn company_wide_mail_that_fills_the_header_block_is_routed() {
    let Some(messages) = sample() else {
        return;
    };
    // The message whose `To:` has the most addresses: that field's extent (name to the line
    // end that closes it, folds included), and the header block's length (its empty line too).
    let to_field = |m: &[u8]| -> Option<(usize, usize, usize)> {
        let head = &m[..m.windows(4).position(|w| w == b"\r\n\r\n")? + 2];
        let start = head.windows(5).position(|w| w == b"\nTo: ")? + 1;
        let mut end = start;
        loop {
            end += head[end..].windows(2).position(|w| w == b"\r\n")? + 2;
            if !matches!(head.get(end), Some(b' ' | b'\t')) {
                return Some((start, end, head.len() + 2));
            }
        }
    };
    let (name, bytes, (start, end, head_len)) = messages
        .iter()
        .filter_map(|(n, b)| Some((n, b, to_field(b)?)))
        .max_by_key(|(_, b, (s, e, _))| b[*s..*e].iter().filter(|&&c| c == b'@').count())
        .expect("a message with a To: field");
    let list = bytes[start + 4..end - 2].to_vec();
    let per = list.iter().filter(|&&c| c == b'@').count();
    assert!(per >= 400, "{name}: the longest To: has {per} addresses");
    let (c, p) = benches::test_processor();
    let cap = c.limits.parser.header_bytes_max;
    // As many copies as fit the header block, joined by a comma and a fold.
    let copies = (cap - head_len) / (list.len() + 4) + 1;
    let mut to = b"To: ".to_vec();
    for k in 0..copies {
        if k > 0 {
            to.extend_from_slice(b",\r\n\t");
        }
        to.extend_from_slice(&list);
    }
    to.extend_from_slice(b"\r\n");
    let message = [&bytes[..start], &to[..], &bytes[end..]].concat();
    let new_head = head_len - (end - start) + to.len();
    assert!(
        new_head <= cap && new_head + list.len() > cap,
        "{new_head} bytes of header"
    );
    let addresses = per * copies;
    // The list's distinct addresses (plain `local@domain`, comma-separated, as this one is).
    let distinct = String::from_utf8_lossy(&list)
        .split(',')
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let mut arena = p.arena();
    for envelope in [&b"to <user@example.org>\n"[..], b""] {
        let mut input = b"from <announcements@example.net>\n".to_vec();
        input.extend_from_slice(envelope);
        input.extend_from_slice(b"env-end\n");
        input.extend_from_slice(&message);
        let r = p.process("company-wide", &input, &mut arena);
        let outputs = match r.outcome {
            Outcome::Route(o) => o,
            Outcome::Park(reason) => panic!(
                "{name} with {addresses} addresses in To: ({new_head} bytes of header): parked {}",
                reason.code()
            ),
            Outcome::Control { .. } => panic!("a control file with ZMailer mode off"),
        };
        assert!(
            outputs.iter().all(|(_, o)| o.ends_with(&message)),
            "the message was changed"
        );
        // Each output's `rcpt` lines, read from its envelope as its agent reads it.
        let rcpts: usize = outputs
            .iter()
            .map(|(_, o)| {
                let env = envelope::parse_output(o).expect("an output reads as an envelope");
                env.extra.iter().filter(|l| l.starts_with("rcpt ")).count()
            })
            .sum();
        if envelope.is_empty() {
            // Each address once: the copies repeat the same list.
            assert_eq!(
                rcpts, distinct,
                "every address of the To: is a recipient, once"
            );
        } else {
            assert_eq!(rcpts, 1);
        }
        eprintln!(
            "{name}, To: {addresses} addresses, {} bytes, header {new_head} of {cap} bytes: routed to {rcpts} recipient(s) in {} output(s)",
            to.len(),
            outputs.len()
        );
    }
}
