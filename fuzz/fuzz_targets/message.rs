//! Fuzz the whole message path in memory (`Processor::process`: envelope, every address
//! header in the arena, routing through the corpus tables, outputs built). Oracles beyond
//! "no panic":
//! - the arena never holds more than its capacity, and the same arena routes the next
//!   message to the same result (reset is complete);
//! - a parked message has a kebab-case reason kind, and an offset, if any, inside the input;
//! - every output reads back as an envelope with the input's sender, and carries the input's
//!   message untouched unless a Bcc field was cut (then it is shorter, and has no Bcc field);
//! - recipients from the envelope: every destination listed is one the tables can produce
//!   (a channel of the corpus configuration).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use router::core::message::{Outcome, Processor};

fn processor() -> &'static Processor {
    static P: OnceLock<(tempfile::TempDir, Processor)> = OnceLock::new();
    &P.get_or_init(|| {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
        let dir = tempfile::tempdir().expect("tempdir");
        let c = router::corpus::corpus_config(&corpus, dir.path()).expect("corpus tables");
        let p = Processor::from_config(&c, &router::process::tables::Files).expect("tables");
        (dir, p)
    })
    .1
}

const CHANNELS: &[&str] = &["local", "smtp", "relay", "pipe", "file", "error"];

fuzz_target!(|data: &[u8]| {
    let p = processor();
    thread_local!(static ARENA: std::cell::RefCell<Option<mailaddr::Arena>> = const { std::cell::RefCell::new(None) });
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        let arena = a.get_or_insert_with(|| p.arena());
        let first = p.process("fuzz", data, arena);
        assert!(arena.allocated_bytes() <= arena.capacity_bytes());
        let second = p.process("fuzz", data, arena);
        match (&first.outcome, &second.outcome) {
            (Outcome::Route(a), Outcome::Route(b)) => {
                assert_eq!(a, b, "arena reuse changed the outputs")
            }
            (Outcome::Park(a), Outcome::Park(b)) => assert_eq!(a, b),
            _ => panic!("arena reuse changed the outcome"),
        }
        match first.outcome {
            Outcome::Control { .. } => panic!("a control file with ZMailer mode off"),
            Outcome::Park(r) => {
                let code = r.code();
                assert!(
                    !code.is_empty()
                        && code
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "{code:?}"
                );
                if let Some(o) = r.offset() {
                    assert!(o <= data.len(), "offset {o} past {}", data.len());
                }
            }
            Outcome::Route(outputs) => {
                let env =
                    router::core::envelope::parse(data).expect("routed, so the envelope parsed");
                let message = &data[env.message_offset..];
                assert!(!outputs.is_empty());
                for (ch, out) in &outputs {
                    assert!(CHANNELS.contains(&ch.as_str()), "unknown channel {ch}");
                    let again = router::core::envelope::parse_output(out)
                        .expect("output reads as an envelope");
                    assert_eq!(again.from, env.from);
                    let copy = &out[again.message_offset..];
                    if copy != message {
                        assert!(
                            env.to.is_empty() && copy.len() < message.len(),
                            "message changed"
                        );
                        // The copy's own header block, read by the parser: no Bcc field.
                        let a = mailaddr::Arena::new(1 << 20);
                        if let Ok(h) = mailaddr::parse_header_block(copy, &a, &p.opts) {
                            assert!(
                                !h.fields.iter().any(|f| f.name.eq_ignore_ascii_case("bcc")),
                                "Bcc left in a copy"
                            );
                        }
                    }
                }
            }
        }
    });
});
