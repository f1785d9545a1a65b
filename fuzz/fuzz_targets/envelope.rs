//! Fuzz the router-input envelope reader: no panic; offsets inside the input; the limits hold;
//! and an envelope written back out as channel output (when the router would write it: every
//! line within the limit) reads again with the same sender, the
//! passed-on keywords in order, and the message bytes untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use router::core::envelope::{self, Rcpt};
use router::limits::{
    ENVELOPE_BYTES_MAX, ENVELOPE_LINE_BYTES_MAX, ENVELOPE_RECIPIENTS_MAX as RECIPIENTS_MAX,
};

fuzz_target!(|data: &[u8]| {
    let env = match envelope::parse(data) {
        Ok(e) => e,
        Err(e) => {
            if let Some(o) = e.offset() {
                assert!(o <= data.len(), "offset {o} past {}", data.len());
            }
            return;
        }
    };
    // A line that starts under the cap may run one line past it.
    assert!(env.message_offset <= data.len());
    assert!(env.message_offset <= ENVELOPE_BYTES_MAX + ENVELOPE_LINE_BYTES_MAX + 2);
    assert!(env.to.len() <= RECIPIENTS_MAX);
    let message = &data[env.message_offset..];
    let rcpts: Vec<Rcpt> = env
        .to
        .iter()
        .map(|t| Rcpt {
            host: "-".into(),
            address: (*t).to_string(),
            error: None,
        })
        .collect();
    // The writer refuses a line over the reader's limit (the router then parks the message:
    // `output-line-too-long`). Everything it does write must read back.
    let mut out = Vec::new();
    if let Err(n) = envelope::write_output(&mut out, "fuzz-id", "smtp", &env, &rcpts, message) {
        assert!(n > ENVELOPE_LINE_BYTES_MAX);
        return;
    }
    let again = envelope::parse_output(&out).expect("channel output must read as an envelope");
    assert_eq!(again.from, env.from);
    assert_eq!(
        &out[again.message_offset..],
        message,
        "message bytes changed"
    );
    // id, channel and the rcpt lines come first among the passed-on keywords, then ours.
    assert!(
        again.extra.ends_with(&env.extra),
        "passed-on keywords lost or reordered"
    );
});
