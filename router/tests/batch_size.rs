//! How a pass cuts a backlog into batches (group commit shares a batch's four syncs): what a
//! chunk of `router/` holds, halved past `BATCH_HALVED_MIN` (64) names so that two workers
//! share a backlog of a few hundred, up to `batch_messages_max`; and no more than `batch_bytes_max` bytes of messages, so that a
//! backlog of large messages does not put hundreds of megabytes of outputs in the page cache
//! before one sync (measured: 200 messages of 1 MB, CPU per message 4.2 ms in one batch
//! against 1.25 ms in batches of 64). A batch always takes at least one message.

mod common;

use router::spool::batch::{self, Event, Route, Routed};
use router::spool::seam::Meta;
use router::spool::Postoffice;

/// Routes every message to `local`, and writes down where each batch's commit starts.
#[derive(Default)]
struct Batches {
    current: Vec<String>,
    done: Vec<Vec<String>>,
}

impl Route for Batches {
    fn route(&mut self, id: &str, _: &Meta, bytes: &[u8]) -> Routed {
        self.current.push(id.to_string());
        Routed::Outputs(vec![("local".to_string(), bytes.to_vec())])
    }
    fn event(&mut self, e: Event<'_>) {
        if let Event::Committing = e {
            self.done.push(std::mem::take(&mut self.current));
        }
    }
}

/// The sizes of the batches one pass makes of `sizes.len()` messages of those sizes.
fn batches(sizes: &[usize], messages_max: usize, bytes_max: u64) -> Vec<usize> {
    let po = common::new_po();
    for (i, n) in sizes.iter().enumerate() {
        common::put(&po, &format!("m{i:03}"), &vec![b'x'; *n]);
    }
    let handle = Postoffice::open(&po.root).unwrap();
    let settings = batch::Settings {
        attempts_max: 3,
        message_bytes_max: 1 << 20,
        batch_messages_max: messages_max,
        batch_bytes_max: bytes_max,
        list_names_max: 1000,
    };
    let mut route = Batches::default();
    let (pass, r) = batch::pass(&handle, &settings, &mut route, &|| false, &mut Vec::new());
    r.unwrap();
    assert_eq!(pass.routed, sizes.len());
    let all: Vec<String> = route.done.concat();
    let want: Vec<String> = (0..sizes.len()).map(|i| format!("m{i:03}")).collect();
    assert_eq!(all, want, "every message once, oldest first");
    route.done.iter().map(Vec::len).collect()
}

#[test]
fn a_backlog_is_cut_by_half_its_length_up_to_the_maximum() {
    // Ten messages, at most 4 a batch.
    assert_eq!(batches(&[100; 10], 4, u64::MAX), [4, 4, 2]);
    // Up to 64: one batch, at once (a lone message too).
    assert_eq!(batches(&[10; 6], 256, u64::MAX), [6]);
    assert_eq!(batches(&[10], 256, u64::MAX), [1]);
    // Past 64, halves, but not below 64.
    assert_eq!(batches(&[10; 100], 256, u64::MAX), [64, 36]);
    assert_eq!(batches(&[10; 200], 256, u64::MAX), [100, 100]);
    // Past 512, the maximum.
    assert_eq!(batches(&[10; 600], 256, u64::MAX), [256, 256, 88]);
}

#[test]
fn a_batch_stops_claiming_at_its_bytes_and_always_takes_one() {
    // Messages of 100 bytes, 250 bytes a batch: a
    // batch claims until it holds 250 or more, so three, and the chunk's rest follows.
    let sizes = [100; 10];
    let cut = batches(&sizes, 4, 250);
    assert_eq!(cut, [3, 1, 3, 1, 2], "{cut:?}");
    // A message larger than the bound is still routed, alone.
    assert_eq!(batches(&[1000, 1000, 10], 256, 250), [1, 1, 1]);
    // A bound of nothing still lets each batch take one (no batch of none, no loop).
    assert_eq!(batches(&[10; 3], 256, 0), [1, 1, 1]);
    // No bound: one batch.
    assert_eq!(batches(&sizes, 256, u64::MAX), [10]);
}
