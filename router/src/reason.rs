//! Why a message is parked: one enum, one table of stable codes.
//!
//! Every reason a message can be parked for is a variant of [`ParkReason`]; its stable
//! kebab-case code (what `deferred/<id>.reason` says after `Reason:`, what `router deferred
//! list --reason` and the Prometheus labels match) comes from one `match` in
//! [`ParkReason::code`], and [`CODES`] lists every code the router itself defines with what it
//! means, as Postfix's `cleanup_strerror` table does for its status codes. Faults of a header
//! field carry the parser's own kind, whose code is the parser's stable name
//! (`mailaddr::ErrorKind::name`): the parser owns that table.
//!
//! A code, once written to a reason file, never changes meaning: scripts and alerts match on
//! it. Each variant says what the reason file's `Field:`, `Offset:` and `Limit:` lines hold.

/// Why a message is parked in `deferred/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParkReason {
    /// The envelope (`router/<id>` up to `env-end`) does not parse: a line is not
    /// `keyword value`, there is no `from`, two `from`s, a line or the envelope over its cap,
    /// a control character. `Offset:` where it was found, `Limit:` for a cap.
    MalformedEnvelope {
        detail: String,
        offset: Option<usize>,
        limit: Option<usize>,
    },
    /// More `to` lines than the envelope allows (`limits::ENVELOPE_RECIPIENTS_MAX`).
    TooManyRecipients { offset: usize, limit: usize },
    /// Alias expansion produced more destinations than `routing.alias_max_fanout`
    /// (duplicates included: each is work). Until this table existed this was written as
    /// `too-many-recipients`, the envelope cap's code; the two are now told apart.
    TooManyDestinations { limit: usize },
    /// Its recipients go to more distinct channels than one plan record may name
    /// (`limits::PLAN_CHANNELS_MAX`): the batch's plan must stay within what recovery reads.
    TooManyChannels { limit: usize },
    /// An alias names itself through a chain (`a -> b -> a`).
    AliasLoop { chain: String },
    /// An alias chain deeper than `routing.alias_max_depth`.
    AliasTooDeep { chain: String, limit: usize },
    /// A recipient holds a control character (a domain literal or quoted pair can carry
    /// one): it cannot be written on an envelope line, so the message is parked, not mangled.
    ControlCharacter { address: String, byte: u8 },
    /// No `to` line in the envelope and no recipient in To, Cc or Bcc.
    NoRecipients,
    /// More `Received:` fields than `limits.max_hops`: a mail loop.
    HopLimit { hops: usize, limit: usize },
    /// A channel output line would be longer than the envelope line limit, so the channel's
    /// agent could not read it back.
    OutputLineTooLong {
        channel: String,
        bytes: usize,
        limit: usize,
    },
    /// The message is over `limits.max_message_bytes`.
    MessageTooLarge { limit: usize },
    /// The message's router died (crash, out of memory, time limit, kill) `attempts` times;
    /// at `limits.max_attempts` it is parked without being parsed again (seed 004).
    AttemptsExhausted { attempts: u64, limit: u64 },
    /// A header field (or the header block) the message cannot be routed with: a parser cap
    /// in any field, or a syntax error in a field the router needs. The code is the
    /// parser's (`unbalanced-quote`, `depth-exceeded`, `arena-exhausted`, ...).
    Header {
        kind: mailaddr::ErrorKind,
        /// The field's name as written, or `header block`.
        field: String,
        /// Where in the stored file (`deferred/<id>`) the fault was found.
        offset: usize,
        /// The parser's sentence.
        detail: String,
    },
}

/// Every code the router defines (the parser's header codes are its own), with its meaning.
/// docs/router.md prints this table; a test checks that each variant's code is in it.
pub const CODES: &[(&str, &str)] = &[
    ("malformed-envelope", "the envelope does not parse"),
    (
        "too-many-recipients",
        "more `to` lines than the envelope allows",
    ),
    (
        "too-many-destinations",
        "alias expansion went over routing.alias_max_fanout",
    ),
    (
        "too-many-channels",
        "the recipients go to more distinct channels than a plan names (4 096)",
    ),
    ("alias-loop", "an alias names itself through a chain"),
    (
        "alias-too-deep",
        "an alias chain deeper than routing.alias_max_depth",
    ),
    ("control-character", "a recipient holds a control character"),
    (
        "no-recipients",
        "no recipient in the envelope or in To, Cc, Bcc",
    ),
    (
        "hop-limit",
        "more Received fields than limits.max_hops: a mail loop",
    ),
    (
        "output-line-too-long",
        "a channel output line would be over the envelope line limit",
    ),
    (
        "message-too-large",
        "the message is over limits.max_message_bytes",
    ),
    (
        "attempts-exhausted",
        "its router died limits.max_attempts times on it",
    ),
];

impl ParkReason {
    /// The stable kebab-case code written after `Reason:`.
    pub fn code(&self) -> &'static str {
        match self {
            ParkReason::MalformedEnvelope { .. } => "malformed-envelope",
            ParkReason::TooManyRecipients { .. } => "too-many-recipients",
            ParkReason::TooManyDestinations { .. } => "too-many-destinations",
            ParkReason::TooManyChannels { .. } => "too-many-channels",
            ParkReason::AliasLoop { .. } => "alias-loop",
            ParkReason::AliasTooDeep { .. } => "alias-too-deep",
            ParkReason::ControlCharacter { .. } => "control-character",
            ParkReason::NoRecipients => "no-recipients",
            ParkReason::HopLimit { .. } => "hop-limit",
            ParkReason::OutputLineTooLong { .. } => "output-line-too-long",
            ParkReason::MessageTooLarge { .. } => "message-too-large",
            ParkReason::AttemptsExhausted { .. } => "attempts-exhausted",
            ParkReason::Header { kind, .. } => kind.name(),
        }
    }

    /// One human sentence (`Detail:`).
    pub fn detail(&self) -> String {
        match self {
            ParkReason::MalformedEnvelope { detail, .. } => detail.clone(),
            ParkReason::TooManyRecipients { offset, limit } => {
                format!("more than {limit} recipients at byte {offset}")
            }
            ParkReason::TooManyDestinations { limit } => {
                format!("more than {limit} destinations after alias expansion")
            }
            ParkReason::TooManyChannels { limit } => {
                format!("more than {limit} distinct channels")
            }
            ParkReason::AliasLoop { chain } => format!("alias loop: {chain}"),
            ParkReason::AliasTooDeep { chain, limit } => {
                format!("alias chain deeper than {limit}: {chain}")
            }
            ParkReason::ControlCharacter { address, byte } => {
                format!("recipient {address:?} contains the control character 0x{byte:02x}")
            }
            ParkReason::NoRecipients => {
                "no `to` line in the envelope and no recipient in To, Cc or Bcc".into()
            }
            ParkReason::HopLimit { hops, .. } => {
                format!("{hops} Received fields: the message is looping between mail systems")
            }
            ParkReason::OutputLineTooLong {
                channel,
                bytes,
                limit,
            } => format!(
                "a {channel} recipient needs an envelope line of {bytes} bytes, over the limit of {limit}"
            ),
            ParkReason::MessageTooLarge { limit } => {
                format!("the message is over max_message_bytes ({limit})")
            }
            ParkReason::AttemptsExhausted { attempts, .. } => format!(
                "{attempts} attempts to route this message did not finish (its router crashed, \
                 ran out of memory or time, or was killed)"
            ),
            ParkReason::Header { field, detail, .. } => format!("{field}: {detail}"),
        }
    }

    /// The header field to blame (`Field:`).
    pub fn field(&self) -> Option<&str> {
        match self {
            ParkReason::Header { field, .. } => Some(field),
            ParkReason::HopLimit { .. } => Some("Received"),
            _ => None,
        }
    }

    /// Where in the stored message the fault is (`Offset:`).
    pub fn offset(&self) -> Option<usize> {
        match *self {
            ParkReason::MalformedEnvelope { offset, .. } => offset,
            ParkReason::TooManyRecipients { offset, .. } | ParkReason::Header { offset, .. } => {
                Some(offset)
            }
            _ => None,
        }
    }

    /// The cap that was hit (`Limit:`).
    pub fn limit(&self) -> Option<u64> {
        match self {
            ParkReason::MalformedEnvelope { limit, .. } => limit.map(|l| l as u64),
            ParkReason::TooManyRecipients { limit, .. }
            | ParkReason::TooManyDestinations { limit }
            | ParkReason::TooManyChannels { limit }
            | ParkReason::AliasTooDeep { limit, .. }
            | ParkReason::HopLimit { limit, .. }
            | ParkReason::OutputLineTooLong { limit, .. }
            | ParkReason::MessageTooLarge { limit } => Some(*limit as u64),
            ParkReason::AttemptsExhausted { limit, .. } => Some(*limit),
            ParkReason::Header { kind, .. } => kind.limit().map(|l| l as u64),
            ParkReason::AliasLoop { .. }
            | ParkReason::ControlCharacter { .. }
            | ParkReason::NoRecipients => None,
        }
    }

    /// The attempts on record when it was parked (`Attempts:`); 0 unless its router died.
    pub fn attempts(&self) -> u64 {
        match self {
            ParkReason::AttemptsExhausted { attempts, .. } => *attempts,
            _ => 0,
        }
    }
}

impl std::fmt::Display for ParkReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.detail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<ParkReason> {
        vec![
            ParkReason::MalformedEnvelope {
                detail: "x".into(),
                offset: Some(1),
                limit: None,
            },
            ParkReason::TooManyRecipients {
                offset: 1,
                limit: 2,
            },
            ParkReason::TooManyDestinations { limit: 3 },
            ParkReason::TooManyChannels { limit: 3 },
            ParkReason::AliasLoop { chain: "a".into() },
            ParkReason::AliasTooDeep {
                chain: "a".into(),
                limit: 4,
            },
            ParkReason::ControlCharacter {
                address: "a".into(),
                byte: 1,
            },
            ParkReason::NoRecipients,
            ParkReason::HopLimit { hops: 6, limit: 5 },
            ParkReason::OutputLineTooLong {
                channel: "smtp".into(),
                bytes: 5000,
                limit: 4096,
            },
            ParkReason::MessageTooLarge { limit: 7 },
            ParkReason::AttemptsExhausted {
                attempts: 3,
                limit: 3,
            },
        ]
    }

    #[test]
    fn every_code_is_in_the_table_once_and_kebab_case() {
        let all = every_variant();
        assert_eq!(
            all.len(),
            CODES.len(),
            "a variant is missing from the test or table"
        );
        for r in &all {
            let n = CODES.iter().filter(|(c, _)| *c == r.code()).count();
            assert_eq!(n, 1, "{} appears {n} times in CODES", r.code());
            assert!(r
                .code()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-'));
        }
        // The envelope cap and the alias fan-out cap are told apart.
        assert_ne!(all[1].code(), all[2].code());
    }

    #[test]
    fn header_faults_use_the_parsers_codes_and_numbers() {
        let kind = mailaddr::ErrorKind::DepthExceeded {
            depth: 33,
            limit: 32,
        };
        let r = ParkReason::Header {
            kind,
            field: "To".into(),
            offset: 40,
            detail: "deep".into(),
        };
        assert_eq!(
            (r.code(), r.field(), r.offset(), r.limit()),
            ("depth-exceeded", Some("To"), Some(40), Some(32))
        );
    }
}
