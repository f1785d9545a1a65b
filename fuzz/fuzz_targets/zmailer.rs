//! Fuzz ZMailer mode's message path in memory (`Processor::process_zmailer`: ZMailer's
//! envelope, every address header in the arena, routing through the corpus tables, the
//! control file written). Oracles beyond "no panic":
//! - the arena never holds more than its capacity, and the same arena gives the same result;
//! - a parked message has a kebab-case reason kind, and an offset, if any, inside the input;
//! - a control file reads back whole (`control_file::parse`, the strict reader recovery
//!   trusts): its `i` line is the file's inode number, its `o` line an offset inside the
//!   input at which the input's body starts, every recipient on a channel ZMailer's
//!   scheduler is configured for here (`local`, `smtp`, `relay`, `error`), and its header
//!   block has no empty line (the scheduler would cut it there).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use router::core::control_file;
use router::core::message::{Outcome, Processor};
use router::core::zmailer::FileFacts;

fn processor() -> &'static Processor {
    static P: OnceLock<(tempfile::TempDir, Processor)> = OnceLock::new();
    &P.get_or_init(|| {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = router::corpus::corpus_config(&corpus, dir.path()).expect("corpus tables");
        c.zmailer.enabled = true;
        c.zmailer.hostname = "mx.example.org".into();
        let p = Processor::from_config(&c, &router::process::tables::Files).expect("tables");
        (dir, p)
    })
    .1
}

const CHANNELS: &[&str] = &["local", "smtp", "relay", "error"];

const FACTS: FileFacts<'static> = FileFacts {
    ino: 2_171_421,
    mtime: 1_796_015_430,
    now: 1_796_015_431,
    sender_override: None,
};

fuzz_target!(|data: &[u8]| {
    let p = processor();
    thread_local!(static ARENA: std::cell::RefCell<Option<mailaddr::Arena>> = const { std::cell::RefCell::new(None) });
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        let arena = a.get_or_insert_with(|| p.arena());
        let first = p.process_zmailer(&FACTS, data, arena);
        assert!(arena.allocated_bytes() <= arena.capacity_bytes());
        let second = p.process_zmailer(&FACTS, data, arena);
        match (&first.outcome, &second.outcome) {
            (Outcome::Control { control: a, .. }, Outcome::Control { control: b, .. }) => {
                assert_eq!(a, b, "arena reuse changed the control file")
            }
            (Outcome::Park(a), Outcome::Park(b)) => assert_eq!(a, b),
            _ => panic!("arena reuse changed the outcome"),
        }
        match first.outcome {
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
            Outcome::Control { control, channels } => {
                let c = control_file::parse(&control).unwrap_or_else(|e| {
                    panic!(
                        "the control file does not read back: {e}\n{}",
                        String::from_utf8_lossy(&control)
                    )
                });
                assert_eq!(c.ino, FACTS.ino);
                assert!(
                    c.body_offset <= data.len(),
                    "o {} past the input",
                    c.body_offset
                );
                // The body starts after an empty line, or at the end of a bodiless input.
                let before = &data[..c.body_offset];
                assert!(
                    c.body_offset == data.len()
                        || before.ends_with(b"\n\n")
                        || before.ends_with(b"\n\r\n"),
                    "o {} is not after an empty line",
                    c.body_offset
                );
                assert!(!c.rcpts.is_empty(), "a control file with no recipient");
                for r in &c.rcpts {
                    assert!(
                        CHANNELS.contains(&r.line.channel.as_str()),
                        "unknown channel {}",
                        r.line.channel
                    );
                }
                for ch in &channels {
                    assert!(CHANNELS.contains(&ch.as_str()), "unknown channel {ch}");
                }
                assert!(!c.header.windows(2).any(|w| w == b"\n\n"));
            }
            Outcome::Route(_) => panic!("ZMailer mode wrote the router's own outputs"),
        }
    });
});
