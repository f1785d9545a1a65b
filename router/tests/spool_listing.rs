//! `router/` and `public/` read as streams of bounded chunks (`LIST_NAMES_MAX` names at a
//! time), and the names left alone reported up to `LEFT_ALONE_REPORTED_MAX`: any member of the
//! postoffice's group may create names in both directories. A pass held them all and searched
//! its reports linearly for duplicates: 300 000 junk names in `router/` took one pass 276 s and
//! 63 MB (about three million would have filled a worker's 512 MiB, and a worker dying at
//! every pass stops everyone's mail); now 1.3 s and 14 MB. Here with chunks of a few names,
//! against the real file system.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::OpenOptionsExt;

use router::limits::LEFT_ALONE_REPORTED_MAX;
use router::spool::batch::{self, Event, Route, Routed};
use router::spool::seam::{Meta, Step};
use router::spool::{reaper, LeftAlone, Postoffice};

/// Routes every message to `local`, its bytes as they are.
struct ToLocal(Vec<String>);

impl Route for ToLocal {
    fn route(&mut self, id: &str, _: &Meta, bytes: &[u8]) -> Routed {
        self.0.push(id.to_string());
        Routed::Outputs(vec![("local".to_string(), bytes.to_vec())])
    }
    fn event(&mut self, _: Event<'_>) {}
}

fn settings(list_names_max: usize) -> batch::Settings {
    batch::Settings {
        attempts_max: 3,
        message_bytes_max: 1 << 20,
        batch_messages_max: 4,
        batch_bytes_max: u64::MAX,
        list_names_max,
    }
}

fn names(dir: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// The stream itself: every name once, in chunks of at most `max`, each sorted; names the
/// caller removes between chunks (as a pass does, claiming) do not disturb the rest.
#[test]
fn the_listing_streams_every_name_once_in_sorted_chunks() {
    let po = common::new_po();
    let dir = po.root.join("router");
    let all: BTreeSet<String> = (0..1000)
        .map(|i| format!("m{:04}", (i * 7919) % 1000))
        .collect();
    for n in &all {
        std::fs::write(dir.join(n), b"x").unwrap();
    }
    let handle = Postoffice::open(&po.root).unwrap();
    for max in [1, 7, 64, 999, 1000, 5000] {
        let mut seen = Vec::new();
        let mut chunks = 0;
        handle
            .fs
            .list_chunks(Step::C0List, &handle.router, max, &mut |chunk| {
                assert!(
                    !chunk.is_empty() && chunk.len() <= max,
                    "{max}: {}",
                    chunk.len()
                );
                assert!(chunk.windows(2).all(|w| w[0] < w[1]), "{max}: unsorted");
                chunks += 1;
                seen.extend(chunk);
                Ok(true)
            })
            .unwrap();
        assert_eq!(seen.len(), all.len(), "{max}: a name seen twice or missed");
        assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), all);
        assert_eq!(chunks, all.len().div_ceil(max), "{max}");
    }
    // Removing each chunk's names as it comes (the claims of a pass): nothing else missed.
    let mut seen = BTreeSet::new();
    handle
        .fs
        .list_chunks(Step::C0List, &handle.router, 33, &mut |chunk| {
            for n in chunk {
                std::fs::remove_file(dir.join(&n)).unwrap();
                assert!(seen.insert(n));
            }
            Ok(true)
        })
        .unwrap();
    assert_eq!(seen, all);
    // Stopping: the callback's false ends the stream.
    std::fs::write(dir.join("a"), b"x").unwrap();
    std::fs::write(dir.join("b"), b"x").unwrap();
    let mut calls = 0;
    handle
        .fs
        .list_chunks(Step::C0List, &handle.router, 1, &mut |_| {
            calls += 1;
            Ok(false)
        })
        .unwrap();
    assert_eq!(calls, 1);
}

/// A pass over a backlog many chunks long routes all of it, and what it leaves alone (foreign
/// names, a message its writer still locks) does not stop it, in any chunk.
#[test]
fn a_backlog_many_chunks_long_is_routed_in_one_pass() {
    let po = common::new_po();
    let dir = po.root.join("router");
    for i in 0..50 {
        common::put(
            &po,
            &format!("m{i:03}"),
            format!("message {i}\n").as_bytes(),
        );
    }
    for bad in [".a", "b c", "d.reason", "e;f"] {
        std::fs::write(dir.join(bad), b"junk").unwrap();
    }
    // A submission its writer still holds: skipped, pass after pass, never waited for.
    let held = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(dir.join("m999"))
        .unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let handle = Postoffice::open(&po.root).unwrap();
    for max in [1, 3, 7, 64] {
        let mut route = ToLocal(Vec::new());
        let (pass, r) = batch::pass(
            &handle,
            &settings(max),
            &mut route,
            &|| false,
            &mut Vec::new(),
        );
        r.unwrap();
        if max == 1 {
            assert_eq!(pass.routed, 50, "chunks of {max}");
            let order: Vec<_> = (0..50).map(|i| format!("m{i:03}")).collect();
            let mut got = route.0.clone();
            got.sort();
            assert_eq!(got, order);
            let left: BTreeSet<String> = pass
                .left_alone
                .iter()
                .map(|x| match x {
                    LeftAlone::NotAnId(n) => n.clone(),
                    x => panic!("unexpected {x}"),
                })
                .collect();
            assert_eq!(
                left,
                [".a", "b c", "d.reason", "e;f"].map(String::from).into()
            );
        } else {
            assert_eq!(pass.routed, 0, "everything was routed already");
        }
        assert_eq!(pass.left_alone_more, 0);
        assert_eq!(names(&po.root.join("queue/local")).len(), 50);
        assert_eq!(
            names(&dir),
            [".a", "b c", "d.reason", "e;f", "m999"]
                .map(String::from)
                .into()
        );
    }
    drop(held);
}

/// Junk names past `LEFT_ALONE_REPORTED_MAX` are counted, not listed: in router/ (the pass)
/// and in public/ (the reaper, reading public/ in chunks too).
#[test]
fn names_left_alone_are_reported_up_to_a_bound_and_counted_past_it() {
    let po = common::new_po();
    let extra = 25;
    for i in 0..LEFT_ALONE_REPORTED_MAX + extra {
        std::fs::write(po.root.join("router").join(format!(".junk{i}")), b"").unwrap();
        std::fs::write(po.root.join("public").join(format!(".junk{i}")), b"").unwrap();
    }
    common::put(&po, "m1", b"one\n");
    let handle = Postoffice::open(&po.root).unwrap();
    let mut route = ToLocal(Vec::new());
    let (pass, r) = batch::pass(
        &handle,
        &settings(100),
        &mut route,
        &|| false,
        &mut Vec::new(),
    );
    r.unwrap();
    assert_eq!(pass.routed, 1);
    assert_eq!(pass.left_alone.len(), LEFT_ALONE_REPORTED_MAX);
    // Each junk name is met in one chunk per listing; the pass lists router/ twice (the
    // second time to see that nothing is left), so the names past the bound count twice
    // and those within it once.
    assert!(pass.left_alone_more >= extra, "{}", pass.left_alone_more);
    let reaped = reaper::reap_public_with(&handle, 0, 64).unwrap();
    assert_eq!(reaped.foreign.len(), LEFT_ALONE_REPORTED_MAX);
    assert_eq!(reaped.foreign_more, extra);
    assert_eq!(reaped.removed, 0);
    assert_eq!(
        names(&po.root.join("public")).len(),
        LEFT_ALONE_REPORTED_MAX + extra
    );
}
