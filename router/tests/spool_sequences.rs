//! Random sequences of submits, batches, recoveries, releases, reaper runs, process crashes,
//! disk faults, poison messages and power cuts, run by the spool's own code on the simulated
//! disk and checked after every operation (`common/spool_ops.rs` says what is checked). The
//! `spool` fuzz target runs the same driver on inputs libFuzzer chooses; this test runs a
//! fixed set of pseudo-random ones under both disk models, so every `cargo test` does too.

#[path = "common/spool_ops.rs"]
mod spool_ops;

use spool_ops::{Run, Sequence, Stats};

/// Sequences per model.
const SEQUENCES: u64 = 250;

fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// SPOOL_INPUT=FILE runs one input (a fuzz artifact) here, where SPOOL_OPS_VERBOSE=1 can show
/// every step and change.
#[test]
fn one_input_from_a_file() {
    if let Some(f) = std::env::var_os("SPOOL_INPUT") {
        let raw = std::fs::read(f).expect("SPOOL_INPUT");
        Run::run(&Sequence::from_bytes(&raw));
    }
}

#[test]
fn random_sequences_of_spool_operations_keep_every_invariant() {
    let mut stats = Stats::default();
    let only: Option<u64> = std::env::var("SPOOL_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    for seed in 0..SEQUENCES * 2 {
        if only.is_some_and(|o| o != seed) {
            continue;
        }
        eprintln!("seed {seed}");
        let raw = bytes(seed, 600);
        // SPOOL_DUMP=DIR writes the inputs out (the fuzz target's seeds, corpus/spool/).
        if let Some(dir) = std::env::var_os("SPOOL_DUMP") {
            std::fs::write(std::path::Path::new(&dir).join(format!("seq-{seed}")), &raw)
                .expect("SPOOL_DUMP");
        }
        let mut seq = Sequence::from_bytes(&raw);
        seq.weak = seed % 2 == 1;
        stats += Run::run(&seq);
    }
    assert!(
        only.is_some()
            || stats.ops > SEQUENCES as usize * 4 && stats.cut_changes > 0 && stats.routed > 0,
        "the sequences did little: {stats:?}"
    );
    eprintln!("{} sequences: {stats:?}", SEQUENCES * 2);
}
