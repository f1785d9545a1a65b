//! The router's own limits: every number it will not go past, in one place (the parser's are
//! `mailaddr::Limits`; those an administrator may change are in `router.toml`, see
//! [`crate::config`]).
//!
//! Naming: units last (`envelope_line_bytes_max`, in constants `ENVELOPE_LINE_BYTES_MAX`). Each
//! constant's doc says the number, why that number, and what happens when input crosses it.
//! Relations between them are checked at compile time at the bottom of this file; relations
//! with configured values by [`crate::config::Config::check`].

/// Bytes in an envelope, up to and including `env-end`. 1 MiB: room for
/// [`ENVELOPE_RECIPIENTS_MAX`] long addresses. Crossing it: the message is parked
/// (`malformed-envelope`, "no env-end line within ...").
pub const ENVELOPE_BYTES_MAX: usize = 1 << 20;

/// Bytes in one envelope line, line end excluded. 4 KiB: an address is at most
/// 64 + 1 + 255 bytes, and every line the router writes (a `rcpt`, an `error` reason) is built
/// to fit (see the relations below). Crossing it on input: parked (`malformed-envelope`); on
/// output: parked (`output-line-too-long`), never written unreadable.
pub const ENVELOPE_LINE_BYTES_MAX: usize = 4096;

/// Header faults logged for one message (syntax errors in fields the router does not need,
/// interoperability lengths crossed). 16: enough to diagnose; past it one line says more were
/// seen, so no message can make its log thousands of lines long.
pub const HEADER_FAULTS_MAX: usize = 16;

/// `to` lines in one envelope. 10 000: a large list explosion still fits; more is an attack.
/// Crossing it: parked (`too-many-recipients`).
pub const ENVELOPE_RECIPIENTS_MAX: usize = 10_000;

/// Bytes of a reason written on an `error` line. 512: a sentence, with room on an envelope
/// line. Longer reasons are cut at a character boundary and end in `...`.
pub const ERROR_REASON_BYTES_MAX: usize = 512;

/// Bytes in a next hop (`[host]:port`), from the transport table or `relay_host`. 300: a domain
/// is at most 255 bytes. Crossing it: the table or configuration is refused at load.
pub const NEXTHOP_BYTES_MAX: usize = 300;

/// Bytes in one alias name or member (an address, a command, a path). 1 KiB: each is written
/// on one envelope line. Crossing it: the aliases table is refused at load.
pub const ALIAS_ITEM_BYTES_MAX: usize = 1024;

/// Bytes in an aliases file. 16 MiB: a million short aliases. Crossing it: refused at load.
pub const ALIASES_FILE_BYTES_MAX: u64 = 16 << 20;

/// Bytes in one `:include:` file. 4 MiB: a list of ~100 000 members. Crossing it: refused.
pub const INCLUDE_FILE_BYTES_MAX: u64 = 4 << 20;

/// Distinct `:include:` files in one aliases table. 1 000. Crossing it: refused at load.
pub const INCLUDE_FILES_MAX: usize = 1000;

/// Bytes in a transport table. 16 MiB. Crossing it: refused at load.
pub const TRANSPORT_FILE_BYTES_MAX: u64 = 16 << 20;

/// Bytes in a file name on the file systems the postoffice may live on (Linux `NAME_MAX`).
pub const NAME_BYTES_MAX: usize = 255;

/// Bytes in a channel name. 64: a word, not a sentence.
pub const CHANNEL_BYTES_MAX: usize = 64;

/// The longest suffix the spool adds to an id in `work/` or `deferred/`: `@<channel>`.
/// (`#attempts` and `#plan.tmp` are 9 bytes, `.reason` 7.)
pub const ID_SUFFIX_BYTES_MAX: usize = 1 + CHANNEL_BYTES_MAX;

/// Bytes in a message id. 190: every name the spool derives from an id
/// (`work/<id>@<channel>`, `work/<id>#attempts`, `deferred/<id>.reason`) then fits
/// [`NAME_BYTES_MAX`] (with 200, a long id and a long channel made a staged name the kernel
/// refused, and every pass failed). A longer name in `router/` is not an id: reported and
/// left alone.
pub const ID_BYTES_MAX: usize = NAME_BYTES_MAX - ID_SUFFIX_BYTES_MAX;

/// Bytes of a parked message that `router deferred show` prints (its envelope and header
/// block). 64 KiB: a screenful many times over; more is cut with a note.
pub const SHOW_BYTES_MAX: usize = 64 << 10;

/// Bytes of a reason file read back (by the admin commands). 64 KiB: a reason file is a few
/// hundred bytes; a larger one is not the router's and is reported, not read.
pub const REASON_FILE_BYTES_MAX: usize = 64 << 10;

/// Bytes of a batch's plan, written at C4 and read back by recovery. 1 MiB: a batch writes
/// as many plan files as its records need (usually one: a record is a few dozen bytes), and
/// one record always fits (below).
pub const PLAN_BYTES_MAX: usize = 1 << 20;

/// Distinct channels one message may go to: one plan record names them all. 4 096: far past
/// any real configuration (a handful of transports); a message over it is parked
/// `too-many-channels`, never a plan recovery could not read back.
pub const PLAN_CHANNELS_MAX: usize = 4096;

/// The largest plan record: `id <id>`, a `channel <name>` line per channel, `end`.
pub const PLAN_RECORD_BYTES_MAX: usize = "id \n".len()
    + ID_BYTES_MAX
    + PLAN_CHANNELS_MAX * ("channel \n".len() + CHANNEL_BYTES_MAX)
    + "end\n".len();
const _: () = assert!(PLAN_RECORD_BYTES_MAX <= PLAN_BYTES_MAX);

/// Messages per batch (group commit: the batch shares its four syncs). A batch is what a pass
/// finds in `router/`, halved past [`BATCH_HALVED_MIN`] (two workers share a backlog), up to
/// this many and up to [`BATCH_BYTES_MAX`], so a lone message is routed at once and only a
/// backlog fills it. 256: on ext4 with a journal a `syncfs` costs about 9 ms whatever it
/// flushes, and one worker spent 40 % of its time in them at 64 (10 000 messages, two
/// workers: 64 4.2 s, 128 3.3 s, 256 2.7 s, 512 2.7 s); past 256 the directory work is the
/// bound. Memory does not
/// grow with it (a batch holds one message's output bytes at a time, and one open file per
/// message: `route_chunk` halves a batch that meets the open-files limit).
pub const BATCH_MESSAGES_MAX: usize = 256;

/// A pass holding more names than this shares them out in halves (so that a second worker
/// finds half of a backlog of a few hundred to route, instead of one worker taking it as one
/// batch); up to this many are one batch, as all batches were before they grew to 256.
pub const BATCH_HALVED_MIN: usize = 64;

/// Bytes of messages per batch: a batch stops claiming once its messages hold this many (it
/// always takes one). 200 messages of 1 MB to two channels in one batch wrote 400 MB of
/// outputs before its `S2`, and the kernel's dirty-page throttling had the router flush them
/// itself (side-by-side: 0.64x the throughput of batches of 64, up to 3.4x the CPU per
/// message). 64 MiB: what a batch of 64 one-megabyte messages held before.
pub const BATCH_BYTES_MAX: u64 = 64 << 20;

/// Names of `router/` a pass holds at once. A pass reads the directory as a stream, this
/// many names at a time (each chunk sorted, so oldest first within it), and routes each
/// chunk before it reads the next: a backlog of millions of messages (a flood from one local
/// user, or an outage's queue) costs a worker a few MiB of names, not hundreds of MiB under
/// its `RLIMIT_AS` (measured: 300 000 junk names took a pass to 63 MB of resident memory,
/// about 175 bytes a name with its report, so some three million filled the 512 MiB default,
/// and a worker that dies while listing stops every message's routing; now 14 MB). Below this
/// many names, one sorted chunk: the same order as listing the whole directory.
pub const LIST_NAMES_MAX: usize = 65_536;

/// Names left alone that one pass reports by name (foreign names in `router/` and
/// `public/`, ids used twice, ...); past it they are counted, and the count is reported.
/// Group members may create any names in those directories (docs/trust.md): a million junk
/// names must not become a million-entry list in a worker, nor a quadratic search for
/// duplicates in it (measured: 300 000 junk names in `router/` made one pass take 276 s, no
/// mail routed meanwhile; now 1.3 s).
pub const LEFT_ALONE_REPORTED_MAX: usize = 1_000;

/// Log lines held in memory when the log's sink is slow. 4 096 lines of ~200 bytes: under
/// 1 MiB. Past it lines are dropped and counted, never waited for (G4).
pub const LOG_QUEUE_LINES_MAX: usize = 4096;

/// The log thread's write buffer: the lines it finds queued go out in one `write` (it
/// flushes whenever the queue is empty, so no line waits for the next). A batch's 64 lines
/// were 64 writes.
pub const LOG_WRITE_BYTES: usize = 64 * 1024;

/// Recipients listed in one log line (the rest are counted), so a line stays bounded.
pub const LOG_RCPTS_PER_LINE_MAX: usize = 10;

/// Bytes in one line a worker writes to its supervisor. A longer one is a bug: counted as
/// malformed and dropped.
pub const PROTOCOL_LINE_BYTES_MAX: usize = 512;

/// The most worker processes `workers` may ask for. 256: far more than the cores of any
/// machine this runs on; more is a typo (`workers = 10000`), refused at load, not a fork bomb.
pub const WORKERS_MAX: u32 = 256;

/// The smallest `worker_memory_limit` accepted. 32 MiB: an idle worker maps about 24 MiB
/// (its program, jemalloc, the log thread); under this it could not start. Below it
/// `router.toml` is refused.
pub const WORKER_MEMORY_BYTES_MIN: u64 = 32 << 20;

/// The arena an alias item is parsed in when the table is loaded: an item is at most
/// [`ALIAS_ITEM_BYTES_MAX`] bytes, and the parser's arena needs at most a few times that.
pub const ALIAS_ARENA_BYTES: usize = 64 << 10;

// Relations that must hold between the constants above.
const _: () = assert!(ALIAS_ARENA_BYTES >= 8 * ALIAS_ITEM_BYTES_MAX);
const _: () = assert!(ENVELOPE_RECIPIENTS_MAX * 8 <= ENVELOPE_BYTES_MAX);
// An `error` line: `error <address> <reason>`, the address itself at most one envelope-read
// line (checked when written), the reason capped here.
const _: () = assert!(ERROR_REASON_BYTES_MAX + 7 < ENVELOPE_LINE_BYTES_MAX);
// `rcpt <nexthop> <address>`: the next hop and a member or address always fit.
const _: () = assert!(NEXTHOP_BYTES_MAX + ALIAS_ITEM_BYTES_MAX + 8 < ENVELOPE_LINE_BYTES_MAX);
// A `pipe`/`file` destination's next hop is the alias name, itself an item.
const _: () = assert!(2 * ALIAS_ITEM_BYTES_MAX + 8 < ENVELOPE_LINE_BYTES_MAX);
const _: () = assert!(ID_BYTES_MAX + ID_SUFFIX_BYTES_MAX <= NAME_BYTES_MAX);
const _: () = assert!(ID_BYTES_MAX + "#attempts".len() <= NAME_BYTES_MAX);
const _: () = assert!(ID_BYTES_MAX + "#plan.tmp".len() <= NAME_BYTES_MAX);
const _: () = assert!(ID_BYTES_MAX + ".reason".len() <= NAME_BYTES_MAX);
// An id fits on an `id` output line.
const _: () = assert!(ID_BYTES_MAX + 3 < ENVELOPE_LINE_BYTES_MAX);
// A worker's `busy <id>` line fits the protocol's line limit.
const _: () = assert!(ID_BYTES_MAX + 5 < PROTOCOL_LINE_BYTES_MAX);
