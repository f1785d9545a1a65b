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

/// Every spool input the fuzz target once failed on (`corpus/regressions/spool-*`), replayed
/// by every `cargo test`, not only by the fuzz run.
#[test]
fn the_spool_regressions_replay() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/regressions");
    let mut ran = 0;
    for e in std::fs::read_dir(&dir).expect("corpus/regressions") {
        let path = e.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("spool-") {
            eprintln!("{name}");
            Run::run(&Sequence::from_bytes(&std::fs::read(&path).expect("read")));
            ran += 1;
        }
    }
    assert!(
        ran >= 5,
        "only {ran} spool regressions found in {}",
        dir.display()
    );
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

/// B1.fsync-work, shown needed: a recovery rolling back a message with a staged output and
/// half a plan is cut by the power just before `B3.fsync-router`, and the cut keeps the rename
/// back to `router/` (B2) and none of B1's unlinks, as the weakest model allows unless B1's
/// removals were synced first. The next recovery must find nothing of the message in `work/`
/// (left there, the staged output outlives a message that is later parked or routed elsewhere).
#[test]
fn a_roll_back_cut_by_the_power_leaves_nothing_behind_in_work() {
    use router::spool::seam::{Seam, Step};
    use router::spool::sim::{Change, DataFate, Fault, Model, SimDisk};
    use router::spool::{recover, Postoffice};
    use std::path::Path;
    use std::sync::Arc;

    let root = Path::new(spool_ops::ROOT);
    let disk = SimDisk::new(
        root,
        &["public", "router", "work", "queue", "deferred"],
        Model::Weak,
    );
    let po = Postoffice::open_with(root, Arc::new(disk.clone())).unwrap();
    for (name, bytes) in [
        ("m1", &b"message"[..]),
        ("m1@smtp", b"output"),
        ("m1#plan.tmp", b"id m1\n"),
    ] {
        let f = disk
            .create_excl(Step::C3StageCreate, &po.work, name)
            .unwrap();
        disk.write_all(Step::C3StageWrite, &f, bytes).unwrap();
    }
    disk.syncfs(Step::S2, &po.work).unwrap();
    // Where B3 is, from a recovery of a copy.
    let copy = disk.fork();
    copy.plan(Fault::CrashBefore(u64::MAX));
    recover::recover_all(&Postoffice::open_with(root, Arc::new(copy.clone())).unwrap()).unwrap();
    let b3 = copy
        .trace()
        .iter()
        .position(|l| *l == "B3.fsync-router")
        .unwrap() as u64
        + 1;
    disk.plan(Fault::CrashBefore(b3));
    assert!(recover::recover_all(&po).is_err(), "the process dies at B3");
    drop(po);
    let keep: Vec<bool> = disk
        .pending()
        .iter()
        .map(|c| matches!(c, Change::Rename { .. }))
        .collect();
    assert!(
        keep.contains(&true),
        "B2's rename is pending: {:?}",
        disk.pending()
    );
    let (_, dirty) = disk.unsynced();
    disk.power_cut(&keep, &vec![DataFate::New; dirty]);
    let po = Postoffice::open_with(root, Arc::new(disk.clone())).unwrap();
    recover::recover_all(&po).unwrap();
    let t = disk.live();
    assert!(t.file("router/m1").is_some(), "{:?}", t.entries.keys());
    let left: Vec<String> = t
        .names("work")
        .into_iter()
        .filter(|n| !n.ends_with("#attempts"))
        .collect();
    assert!(
        left.is_empty(),
        "left in work/ after the cut and recovery: {left:?}"
    );
}
