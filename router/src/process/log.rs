//! The log: one Postfix-like line per message, never waited for (G4, seed 003).
//!
//! Lines go through `tracing` to a non-blocking writer (`tracing-appender`): the routing
//! thread hands a line to a bounded in-memory queue of [`LOG_QUEUE_LINES_MAX`](crate::limits::LOG_QUEUE_LINES_MAX) lines and goes on; a
//! background thread writes the queue to stderr. If stderr stalls (a full pipe nobody reads,
//! a stopped terminal), the queue fills and further lines are dropped and counted, never
//! waited for. The thread writes what it finds queued in one `write` and flushes whenever
//! the queue is empty. The count is reported when the process ends (the `dropped` figure of
//! `router run --once`, a worker's report line), and the next line written after a drop says
//! how many went missing. At exit the queue gets at most ~1.1 s to drain (tracing-appender's
//! bound), so even exit does not wait on a stalled sink for longer.
//!
//! A line, for a routed and a parked message:
//!
//! ```text
//! 2026-11-23T23:59:01.123Z router[4242]: 0019A2.4242.1: from=<a@example.org>, to=<b@example.net>,<c@example.org>, channels=smtp,local, size=1042, delay=0.12, status=routed
//! 2026-11-23T23:59:01.125Z router[4242]: 0019A2.4242.2: from=<x@example.com>, to=<y@example.org>, size=70231, delay=0.03, status=parked (depth-exceeded: Cc: nesting deeper than 32 at byte 2210)
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

use super::pass::Record;
use crate::limits::{LOG_QUEUE_LINES_MAX, LOG_RCPTS_PER_LINE_MAX, LOG_WRITE_BYTES};

/// The running log; dropping it gives the queue its bounded time to drain.
pub struct Log {
    _guard: WorkerGuard,
    dropped: ErrorCounter,
    reported: AtomicUsize,
    /// This process's id, read once: a line per message paid a `getpid` each. A `Log` never
    /// crosses a fork (workers are new programs, started by `exec`), so it cannot go stale.
    pid: u32,
}

impl Log {
    /// Starts the log on stderr. `Err` when its thread cannot be started (a process or
    /// thread limit): the caller says so and exits, where a panic would have been.
    pub fn start() -> std::io::Result<Log> {
        // tracing-appender panics when it cannot spawn its thread; find out first, with a
        // thread that ends at once. (A limit reached between the two is a race left open.)
        std::thread::Builder::new()
            .name("router-log-probe".into())
            .spawn(|| {})?
            .join()
            .map_err(|_| std::io::Error::other("the log probe thread panicked"))?;
        let (writer, guard) = NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(LOG_QUEUE_LINES_MAX)
            .thread_name("router-log")
            .finish(std::io::BufWriter::with_capacity(
                LOG_WRITE_BYTES,
                std::io::stderr(),
            ));
        let dropped = writer.error_counter();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .with_target(false)
            .with_level(false)
            .finish();
        // Only the first start in a process installs itself (tests may start twice).
        let _ = tracing::subscriber::set_global_default(subscriber);
        Ok(Log {
            _guard: guard,
            dropped,
            reported: AtomicUsize::new(0),
            pid: std::process::id(),
        })
    }

    /// Lines dropped so far because the sink was not keeping up.
    pub fn dropped(&self) -> usize {
        self.dropped.dropped_lines()
    }

    /// Writes one line, prefixed with the program and pid; first a note of any lines
    /// dropped since the last note.
    pub fn line(&self, text: std::fmt::Arguments<'_>) {
        let d = self.dropped();
        let before = self.reported.swap(d, Ordering::Relaxed);
        let pid = self.pid;
        if d > before {
            tracing::info!(
                "router[{pid}]: log: {} lines dropped (the log sink was not keeping up)",
                d - before
            );
        }
        tracing::info!("router[{pid}]: {text}");
    }

    /// The line for one message.
    pub fn message(&self, r: &Record) {
        self.line(format_args!("{}", message_line(r)));
        for f in &r.header_faults {
            self.line(format_args!(
                "{}: header fault passed on: {}",
                r.id,
                clean(f)
            ));
        }
    }
}

/// The text of a message's line (without the time and program prefix). Every value taken
/// from mail is escaped ([`clean`]): a line is one line, whatever the message holds.
pub fn message_line(r: &Record) -> String {
    let mut to = r
        .rcpts
        .iter()
        .take(LOG_RCPTS_PER_LINE_MAX)
        .map(|a| clean(a))
        .collect::<Vec<_>>()
        .join(",");
    if r.rcpts.len() > LOG_RCPTS_PER_LINE_MAX {
        to += &format!(" (+{} more)", r.rcpts.len() - LOG_RCPTS_PER_LINE_MAX);
    }
    let mut s = format!("{}: from={}, to={to}", r.id, clean(or_dash(&r.from)));
    if !r.channels.is_empty() {
        s += &format!(", channels={}", r.channels.join(","));
    }
    s += &format!(", size={}, delay={:.2}, status=", r.size, r.delay);
    match &r.parked {
        None => s += "routed",
        Some(why) => s += &format!("parked ({}: {})", why.code(), clean(&why.detail())),
    }
    s
}

/// `s` with control characters written as `\xNN`: a value from mail can never start a new
/// log line or move the cursor of whoever reads the log (log injection).
pub fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out += &format!("\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::ParkReason;

    #[test]
    fn a_line_says_id_from_recipients_channels_size_delay_outcome() {
        let mut r = Record {
            id: "0019A2.42.1".into(),
            from: "<a@example.org>".into(),
            rcpts: vec!["<b@example.net>".into(), "<c@example.org>".into()],
            channels: vec!["smtp".into(), "local".into()],
            size: 1042,
            delay: 0.123,
            parked: None,
            header_faults: vec![],
        };
        assert_eq!(
            message_line(&r),
            "0019A2.42.1: from=<a@example.org>, to=<b@example.net>,<c@example.org>, channels=smtp,local, size=1042, delay=0.12, status=routed"
        );
        r.channels.clear();
        r.parked = Some(ParkReason::HopLimit {
            hops: 51,
            limit: 50,
        });
        r.rcpts = (0..12).map(|i| format!("<u{i}@x.test>")).collect();
        let l = message_line(&r);
        assert!(
            l.ends_with(
                "(+2 more), size=1042, delay=0.12, status=parked (hop-limit: 51 Received fields: the message is looping between mail systems)"
            ),
            "{l}"
        );
    }
}
