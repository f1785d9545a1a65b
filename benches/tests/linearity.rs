//! The parser's work per byte does not grow with the input (a guarantee: no input may make it
//! use unbounded time). `tools/linearity` runs every malformed shape of `benches::SHAPES`
//! under callgrind at 1 KiB and 256 KiB, every cap but the arena raised, and fails if the
//! instructions per byte grow more than 1.5 times; instruction counts do not drift on a shared
//! machine, so this is a check, not a timing. It needs valgrind and an optimized build (the
//! README's `cargo test --workspace --release`); elsewhere it says why it cannot run, and
//! under CI that fails.

use std::process::Command;

use benches::cannot_run_here;

#[test]
fn work_per_byte_does_not_grow_with_the_input() {
    if cfg!(debug_assertions) {
        return cannot_run_here(
            "the linearity check: a debug build (run the tests with --release)",
        );
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        return cannot_run_here("the linearity check: valgrind is not installed");
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/linearity");
    let out = Command::new(script)
        .arg(env!("CARGO_BIN_EXE_profile-valid"))
        .output()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every shape was measured (a script that measured nothing would pass).
    let shapes = report.lines().filter(|l| l.ends_with(" ok")).count();
    assert_eq!(shapes, benches::SHAPES.len(), "{report}");
}
