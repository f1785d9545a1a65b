//! The worker → supervisor protocol: one line per [`Report`] on the worker's stdout.
//!
//! ```text
//! busy <id>                 about to read and route <id>: the time limit's clock starts
//! commit                    the batch is being committed: no clock (the disk is not the
//!                           message's fault)
//! idle                      the pass is over
//! done <routed> <parked>    what the pass routed and parked
//! fault                     the pass ended on a spool fault (disk full, I/O); it backs off
//! rss <KiB>                 at exit: the worker's peak resident set (VmHWM)
//! dropped <lines>           at exit: log lines it dropped
//! ```
//!
//! Supervisor → worker is simpler and not a type: any line on the worker's stdin means "look
//! again"; end of file means "finish and exit".
//!
//! A line that does not decode is a bug on one side: the supervisor counts it
//! (`malformed-reports` in `run --once`'s summary) and drops it; it never reads as a zero.

use crate::limits::PROTOCOL_LINE_BYTES_MAX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Busy(String),
    Commit,
    Idle,
    Done { routed: u64, parked: u64 },
    Fault,
    Rss(u64),
    Dropped(u64),
}

/// A line that is not a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed worker report {0:?}")]
pub struct Malformed(pub String);

impl Report {
    /// The line, without its line end.
    pub fn encode(&self) -> String {
        let line = match self {
            Report::Busy(id) => format!("busy {id}"),
            Report::Commit => "commit".into(),
            Report::Idle => "idle".into(),
            Report::Done { routed, parked } => format!("done {routed} {parked}"),
            Report::Fault => "fault".into(),
            Report::Rss(k) => format!("rss {k}"),
            Report::Dropped(n) => format!("dropped {n}"),
        };
        assert!(
            line.len() <= PROTOCOL_LINE_BYTES_MAX && !line.contains('\n'),
            "report line {line:?} breaks the protocol"
        );
        line
    }

    pub fn decode(line: &str) -> Result<Report, Malformed> {
        let bad = || Malformed(line.chars().take(80).collect());
        if line.len() > PROTOCOL_LINE_BYTES_MAX {
            return Err(bad());
        }
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        // Exactly `n` numbers after the word.
        let nums = |n: usize| -> Result<Vec<u64>, Malformed> {
            let v: Option<Vec<u64>> = rest.split(' ').map(|x| x.parse().ok()).collect();
            v.filter(|v| v.len() == n).ok_or_else(bad)
        };
        Ok(match (word, rest) {
            ("busy", id) if crate::names::is_id(id) => Report::Busy(id.into()),
            ("commit", "") => Report::Commit,
            ("idle", "") => Report::Idle,
            ("fault", "") => Report::Fault,
            ("done", _) => {
                let v = nums(2)?;
                Report::Done {
                    routed: v[0],
                    parked: v[1],
                }
            }
            ("rss", _) => Report::Rss(nums(1)?[0]),
            ("dropped", _) => Report::Dropped(nums(1)?[0]),
            _ => return Err(bad()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_round_trips() {
        for r in [
            Report::Busy("1795477940.003446577-12740-3".into()),
            Report::Commit,
            Report::Idle,
            Report::Done {
                routed: 12,
                parked: 0,
            },
            Report::Fault,
            Report::Rss(13880),
            Report::Dropped(0),
        ] {
            assert_eq!(Report::decode(&r.encode()), Ok(r));
        }
    }

    #[test]
    fn malformed_lines_are_errors_never_zeros() {
        for bad in [
            "",
            "done",
            "done x 3",
            "done 1",
            "done 1 2 3",
            "rss -5",
            "dropped",
            "busy ../etc",
            "busy ",
            "idle now",
            "hello",
        ] {
            assert!(Report::decode(bad).is_err(), "{bad:?}");
        }
        assert!(Report::decode(&format!("rss {}", "9".repeat(600))).is_err());
    }
}
