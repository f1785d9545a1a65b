//! Structure-aware fuzzing of the spool: the input is a sequence of submits, passes,
//! recoveries, releases, removes, reaper runs, process crashes at a step, disk faults
//! (`ENOSPC`, `EIO`), messages that kill their router, clock ticks and power cuts (what
//! survives chosen by the input, under ext4's ordered model or the weakest POSIX reading),
//! run by the spool's own code on the simulated disk (`router::spool::sim`).
//!
//! Oracles (`router/tests/common/spool_ops.rs`, shared with `tests/spool_sequences.rs`), after
//! every operation, both as the process left the disk and as a power cut now would, each
//! after recovery: every acknowledged message in exactly one place and whole, no message
//! routed twice or partly, nothing stray, recovery never failing; at the end a drain in which
//! every message is routed or parked.
#![no_main]

#[path = "../../router/tests/common/spool_ops.rs"]
mod spool_ops;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    spool_ops::Run::run(&spool_ops::Sequence::from_bytes(data));
});
