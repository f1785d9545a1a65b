//! Errors: one flat, `Copy` kind enum and the byte offset where the fault was detected.
//!
//! Kinds fall in three classes ([`ErrorKind::class`]): a cap that bounds work was crossed (the
//! hostile class: a router parks such a message), an interoperability length was crossed (a
//! local part, a domain or a line longer than RFC 5321/5322 ask a receiver to accept: real mail
//! has them, so they are not evidence of hostility), or the input is not valid syntax.
//! [`ErrorKind::name`] gives each kind a stable kebab-case name for the CLI and reason files.

/// A parse failure: what went wrong and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset into the input where it was detected. For an unterminated construct
    /// (quote, comment, angle, literal, group) this is where the construct opened.
    pub offset: usize,
}

/// What went wrong. Limit kinds carry the number crossed; syntax kinds name the grammar element.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    // Caps that bound work (the hostile class) and interoperability lengths; see `class`.
    /// The field is longer than `Limits::input_bytes_max`.
    #[error("input of {len} bytes is over the limit of {limit}")]
    InputTooLarge { len: usize, limit: usize },
    /// Comments, groups and angles nest deeper than `Limits::depth_max`.
    #[error("nesting depth {depth} is over the limit of {limit}")]
    DepthExceeded { depth: u32, limit: u32 },
    /// More lexical tokens than `Limits::tokens_max`.
    #[error("more than {limit} tokens in one field")]
    TooManyTokens { limit: u32 },
    /// More addresses than `Limits::addresses_max`.
    #[error("more than {limit} addresses in one field")]
    TooManyAddresses { limit: u32 },
    /// A local part longer than `Limits::local_part_bytes_max`.
    #[error("local part of {len} bytes is over the limit of {limit}")]
    LocalPartTooLong { len: usize, limit: usize },
    /// A domain longer than `Limits::domain_bytes_max`.
    #[error("domain of {len} bytes is over the limit of {limit}")]
    DomainTooLong { len: usize, limit: usize },
    /// The arena's fixed capacity is used up.
    #[error("arena of {limit} bytes exhausted")]
    ArenaExhausted { limit: usize },
    /// The header block is longer than `Limits::header_bytes_max`.
    #[error("header block is over the limit of {limit} bytes")]
    HeaderTooLarge { limit: usize },
    /// A header line is longer than `Limits::line_bytes_max`.
    #[error("header line is over the limit of {limit} bytes")]
    LineTooLong { limit: usize },
    /// More header fields than `Limits::fields_max`.
    #[error("more than {limit} header fields")]
    TooManyFields { limit: u32 },

    // Syntax.
    /// A quoted string that never closes.
    #[error("quoted string is not closed")]
    UnbalancedQuote,
    /// A comment that never closes, or a `)` with no comment open.
    #[error("unbalanced parenthesis")]
    UnbalancedParen,
    /// An angle address that never closes, or a `>` with none open.
    #[error("unbalanced angle bracket")]
    UnbalancedAngle,
    /// A domain literal that never closes, or a stray `]`.
    #[error("unbalanced square bracket")]
    UnbalancedBracket,
    /// A group inside a group.
    #[error("group inside a group")]
    NestedGroup,
    /// A group with no `;` (only when `allow_unterminated_group` is off).
    #[error("group is not closed with ';'")]
    UnterminatedGroup,
    /// A byte that cannot start or continue anything here.
    #[error("unexpected character {byte:#04x}")]
    UnexpectedChar { byte: u8 },
    /// Words where an address should be, with no `@`.
    #[error("address has no '@'")]
    MissingAt,
    /// `@domain` with nothing before it.
    #[error("address has no local part")]
    MissingLocalPart,
    /// `local@` with nothing after it, or a dot with no label after it.
    #[error("address has no domain")]
    MissingDomain,
    /// Words in a local part not joined by dots (`john doe@x`), or an empty atom where the
    /// relaxation is off.
    #[error("local part is not a dot-separated list of words")]
    InvalidLocalPart,
    /// `<>` where a mailbox is required (only a return path may be null).
    #[error("empty angle address")]
    EmptyAddress,
    /// A group with no display name (`:;`).
    #[error("group has no name")]
    MissingGroupName,
    /// Bytes that are not UTF-8 in a local part or domain (or anywhere, when strict).
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A header line that is neither `name: value` nor a continuation.
    #[error("header line is not a field")]
    MalformedField,
    /// A header field name with a byte outside printable ASCII.
    #[error("invalid character in a header field name")]
    InvalidFieldName,
}

impl ErrorKind {
    /// The stable kebab-case name printed by the CLI and in reason files.
    pub const fn name(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            InputTooLarge { .. } => "input-too-large",
            DepthExceeded { .. } => "depth-exceeded",
            TooManyTokens { .. } => "too-many-tokens",
            TooManyAddresses { .. } => "too-many-addresses",
            LocalPartTooLong { .. } => "local-part-too-long",
            DomainTooLong { .. } => "domain-too-long",
            ArenaExhausted { .. } => "arena-exhausted",
            HeaderTooLarge { .. } => "header-too-large",
            LineTooLong { .. } => "line-too-long",
            TooManyFields { .. } => "too-many-fields",
            UnbalancedQuote => "unbalanced-quote",
            UnbalancedParen => "unbalanced-paren",
            UnbalancedAngle => "unbalanced-angle",
            UnbalancedBracket => "unbalanced-bracket",
            NestedGroup => "nested-group",
            UnterminatedGroup => "unterminated-group",
            UnexpectedChar { .. } => "unexpected-character",
            MissingAt => "missing-at",
            MissingLocalPart => "missing-local-part",
            MissingDomain => "missing-domain",
            InvalidLocalPart => "invalid-local-part",
            EmptyAddress => "empty-address",
            MissingGroupName => "missing-group-name",
            InvalidUtf8 => "invalid-utf8",
            MalformedField => "malformed-field",
            InvalidFieldName => "invalid-field-name",
        }
    }

    /// Which class of fault this is.
    pub const fn class(&self) -> ErrorClass {
        use ErrorKind::*;
        match self {
            InputTooLarge { .. }
            | DepthExceeded { .. }
            | TooManyTokens { .. }
            | TooManyAddresses { .. }
            | ArenaExhausted { .. }
            | HeaderTooLarge { .. }
            | TooManyFields { .. } => ErrorClass::Cap,
            LocalPartTooLong { .. } | DomainTooLong { .. } | LineTooLong { .. } => {
                ErrorClass::Length
            }
            _ => ErrorClass::Syntax,
        }
    }

    /// True when a cap that bounds work was crossed (the hostile class).
    pub const fn is_limit(&self) -> bool {
        matches!(self.class(), ErrorClass::Cap)
    }

    /// The number of the cap crossed, for a limit kind.
    pub const fn limit(&self) -> Option<usize> {
        use ErrorKind::*;
        match *self {
            InputTooLarge { limit, .. }
            | LocalPartTooLong { limit, .. }
            | DomainTooLong { limit, .. }
            | ArenaExhausted { limit }
            | HeaderTooLarge { limit }
            | LineTooLong { limit } => Some(limit),
            DepthExceeded { limit, .. } | TooManyTokens { limit } | TooManyAddresses { limit } => {
                Some(limit as usize)
            }
            TooManyFields { limit } => Some(limit as usize),
            _ => None,
        }
    }
}

/// The three classes of [`ErrorKind`], by what a crossing says about the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// A cap that bounds the parser's work or memory (input bytes, depth, tokens, addresses,
    /// the arena, header bytes, fields). No legitimate message needs more: hostile or broken.
    Cap,
    /// An interoperability length (local part, domain, header line). RFC 5321 and 5322 set
    /// what a receiver must accept, not what a sender may write; real mail crosses them (VERP
    /// return paths, unfolded recipient lists). The caps above still bound the work.
    Length,
    /// The input is not valid syntax.
    Syntax,
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
