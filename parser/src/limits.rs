//! Limits and relaxations: every number the parser will not go past, and every leniency it
//! allows, in one place.
//!
//! Each limit has a default, a reason for that number, and the [`ErrorKind`] that fires when
//! input crosses it. A limit is inclusive: input *at* the limit parses, input one past it is an
//! error (tests check both sides). Relations between limits are checked at compile time below.
//!
//! [`ErrorKind`]: crate::ErrorKind

/// The numbers one parse will not go past. With the `serde` feature it reads from a
/// configuration: every field optional (the default), unknown ones refused.
///
/// Each is of one of two classes ([`ErrorClass`](crate::ErrorClass)):
/// - **cap** (bounds work and memory; crossing it is the hostile class): `input_bytes_max`,
///   `depth_max`, `tokens_max`, `addresses_max`, `header_bytes_max`, `fields_max`,
///   `arena_bytes_max`;
/// - **length** (interoperability: what RFC 5321/5322 ask a receiver to accept; real mail
///   crosses them, and the caps still bound the work): `local_part_bytes_max`,
///   `domain_bytes_max`, `line_bytes_max`. [`Options::allow_long_addresses`] and
///   [`Options::allow_long_lines`] let a caller apply these itself instead of refusing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct Limits {
    /// Cap. Bytes in one field value handed to the address parser. Default 102 400: no field can be
    /// longer than the whole header block (Postfix's `header_size_limit`).
    /// Crossing it: [`ErrorKind::InputTooLarge`](crate::ErrorKind::InputTooLarge), before any work.
    pub input_bytes_max: usize,
    /// Cap. Nesting depth: comments inside comments, plus one inside a group, plus one inside an
    /// angle address. Default 32: real mail nests comments two or three deep; 32 leaves room and
    /// still keeps any per-level state tiny. Crossing it:
    /// [`ErrorKind::DepthExceeded`](crate::ErrorKind::DepthExceeded).
    pub depth_max: u32,
    /// Cap. Lexical tokens (atoms, quoted strings, comments, specials, literals) in one field.
    /// Default 65 536: a header block's worth of real list addresses passes. Company-wide mail
    /// lists its recipients in `To:` at about 20 bytes and 5 tokens an address (500 in 10 KB
    /// in the shared sample), so a list that fills the 100 KiB header block is about 26 000
    /// tokens, and the densest plausible one (`j.doe@enron.com, `: 8 tokens in 17 bytes) about
    /// 49 000. (Postfix's `header_address_token_limit`, 10 240, was the default here: a
    /// 2 000-address `To:` of 39 KB crossed it and was parked. Postfix stops rewriting a
    /// field there; it does not refuse the mail.) The work stays bounded by the bytes.
    /// Crossing it: [`ErrorKind::TooManyTokens`](crate::ErrorKind::TooManyTokens).
    pub tokens_max: u32,
    /// Cap. Addresses (mailboxes and groups) in one field. Default 8 192: a header block's
    /// worth (100 KiB) of the shortest addresses real lists carry (`bob@acme.io, `, 13 bytes:
    /// 7 876) passes; more in one field is a list explosion, not a message. (It was 2 048: a
    /// company-wide `To:` of 2 500 addresses, 49 KB, crossed it.)
    /// Crossing it: [`ErrorKind::TooManyAddresses`](crate::ErrorKind::TooManyAddresses).
    pub addresses_max: u32,
    /// Length. Bytes in a local part, in canonical form. Default 64, RFC 5321 section
    /// 4.5.3.1.1 (what a server must accept; VERP bounce addresses are longer).
    /// Crossing it: [`ErrorKind::LocalPartTooLong`](crate::ErrorKind::LocalPartTooLong).
    pub local_part_bytes_max: usize,
    /// Length. Bytes in a domain, in canonical form. Default 255, RFC 5321 section 4.5.3.1.2
    /// (and the DNS: a longer name cannot be looked up).
    /// Crossing it: [`ErrorKind::DomainTooLong`](crate::ErrorKind::DomainTooLong).
    pub domain_bytes_max: usize,
    /// Cap. Bytes in a header block, up to and including the empty line that ends it. Default
    /// 102 400, Postfix's `header_size_limit`. Crossing it:
    /// [`ErrorKind::HeaderTooLarge`](crate::ErrorKind::HeaderTooLarge).
    pub header_bytes_max: usize,
    /// Cap. Header fields in one block. Default 1 000: ten times what a heavily relayed message
    /// carries. Crossing it: [`ErrorKind::TooManyFields`](crate::ErrorKind::TooManyFields).
    pub fields_max: u32,
    /// Length. Bytes in one physical header line, without its line end. Default 32 768: RFC 5322 says
    /// 998, but real mail breaks it (an unfolded 9 489-byte `X-To:` recipient list in the
    /// shared real-mail sample), a router must not rewrite headers to fix it, and
    /// `header_bytes_max` already bounds the total work; 32 KiB still bounds one line.
    /// Crossing it: [`ErrorKind::LineTooLong`](crate::ErrorKind::LineTooLong).
    pub line_bytes_max: usize,
    /// Cap. Capacity of the arena a caller should build with [`Arena::for_limits`](crate::Arena::for_limits).
    /// Default 1 MiB: a field of `addresses_max` of the smallest addresses (`a@b,` 8 192
    /// times, 32 KiB) takes 576 KiB (72 bytes an address, reserved at once), the densest
    /// shape in arena bytes found (`g:a@b;,`: a group of one, 4 096 of each) 864 KiB, and a
    /// whole header block of real list addresses (7 876 of `bob@acme.io, `) 554 KiB: 1 MiB
    /// holds any one field that passes the other caps, and is small next to a worker's memory
    /// limit. Crossing it: [`ErrorKind::ArenaExhausted`](crate::ErrorKind::ArenaExhausted).
    pub arena_bytes_max: usize,
}

impl Limits {
    /// The documented defaults.
    pub const DEFAULT: Limits = Limits {
        input_bytes_max: 102_400,
        depth_max: 32,
        tokens_max: 65_536,
        addresses_max: 8_192,
        local_part_bytes_max: 64,
        domain_bytes_max: 255,
        header_bytes_max: 102_400,
        fields_max: 1_000,
        line_bytes_max: 32_768,
        arena_bytes_max: 1 << 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

impl Limits {
    /// Checks the relations the parser relies on between limits: for the defaults when the
    /// crate compiles, and for limits a program reads from its configuration. `Err` names the
    /// relation that does not hold.
    pub const fn check(&self) -> Result<(), &'static str> {
        // Every address is at least one token.
        if self.addresses_max > self.tokens_max {
            return Err("addresses_max must not be over tokens_max (every address is a token)");
        }
        // A field is part of a header block; a line is part of a header block.
        if self.input_bytes_max > self.header_bytes_max {
            return Err("input_bytes_max must not be over header_bytes_max (a field is part of the header block)");
        }
        if self.line_bytes_max > self.header_bytes_max {
            return Err("line_bytes_max must not be over header_bytes_max (a line is part of the header block)");
        }
        // The longest legal address fits in one field.
        if self.local_part_bytes_max + 1 + self.domain_bytes_max + 2 > self.input_bytes_max {
            return Err(
                "input_bytes_max must hold the longest address (local part, @, domain, <>)",
            );
        }
        // The arena can hold a full field several times over (copies, decoding, the output).
        if self.arena_bytes_max < 8 * self.input_bytes_max {
            return Err("arena_bytes_max must be at least 8 times input_bytes_max");
        }
        // The depth counter can never overflow; a depth of 0 would refuse every group.
        if self.depth_max == 0 || self.depth_max >= u32::MAX / 2 {
            return Err("depth_max must be between 1 and 2^31");
        }
        if self.tokens_max == 0 || self.addresses_max == 0 || self.fields_max == 0 {
            return Err("tokens_max, addresses_max and fields_max must be at least 1");
        }
        Ok(())
    }
}

// Relations between the defaults, checked when the crate compiles.
const _: () = assert!(Limits::DEFAULT.check().is_ok());

/// Limits plus the named relaxations of the grammar. Each `allow_*` flag accepts something RFC
/// 5322 forbids but real mail carries; none of them changes what an address *means*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The caps.
    pub limits: Limits,
    /// Accept a group whose `;` is missing at the end of the field (`To: undisclosed-recipients:`).
    /// The group ends where the field ends; nothing is guessed. Off by default: on a corpus of
    /// real mail it rescued one field, spam, and read it as a group.
    pub allow_unterminated_group: bool,
    /// Accept empty atoms in a local part (`john..doe@x`, `.a@x`, `a.@x`). The local part is
    /// kept as written; its canonical form is quoted (`"john..doe"`), as RFC 5321 requires.
    pub allow_empty_local_atom: bool,
    /// Accept bytes that are not UTF-8 in display names and comments, replacing each bad
    /// sequence with U+FFFD in the decoded name. Local parts and domains stay strict: an
    /// address is never guessed.
    pub allow_8bit_display_name: bool,
    /// Skip an mbox `From ` line at the start of a header block.
    pub allow_mbox_from_line: bool,
    /// Do not refuse a local part over `local_part_bytes_max` or a domain over
    /// `domain_bytes_max`: the caller applies those lengths itself (a router routes a long
    /// local part, as Postfix does, and sends a recipient with an over-long domain to its error
    /// channel). Every cap still holds.
    pub allow_long_addresses: bool,
    /// Do not refuse a header line over `line_bytes_max` (inside `header_bytes_max`): count it
    /// in [`HeaderBlock::long_lines`](crate::HeaderBlock::long_lines) instead, for the caller
    /// to log.
    pub allow_long_lines: bool,
    /// Parse every address with the general path only, never the one-pass path for the
    /// common shapes (`common_mailbox.rs`). The results are the same either way, only slower:
    /// this is for the tests and fuzz targets that check exactly that.
    pub general_path_only: bool,
}

impl Options {
    /// Limits at their defaults, with the relaxations real mail needs. RFC 5322 sets no length
    /// on a local part or a domain, and real mail crosses RFC 5321's (VERP bounce addresses of
    /// 67 to 83 octets): the lengths are the caller's to apply (`allow_long_addresses`); the
    /// caps all hold. [`STRICT`](Self::STRICT) refuses them.
    pub const DEFAULT: Options = Options {
        limits: Limits::DEFAULT,
        allow_unterminated_group: false,
        allow_empty_local_atom: true,
        allow_8bit_display_name: true,
        allow_mbox_from_line: true,
        allow_long_addresses: true,
        allow_long_lines: false,
        general_path_only: false,
    };
    /// [`DEFAULT`](Self::DEFAULT) with long header lines left to the caller too, as a router
    /// wants them (interoperability lengths are logged or routed around, not refused).
    pub const ROUTING: Options = Options {
        allow_long_addresses: true,
        allow_long_lines: true,
        ..Options::DEFAULT
    };
    /// Limits at their defaults, RFC 5322 to the letter (obsolete syntax included), and RFC
    /// 5321's lengths refused: an address that an SMTP server need not accept is an error.
    pub const STRICT: Options = Options {
        limits: Limits::DEFAULT,
        allow_unterminated_group: false,
        allow_empty_local_atom: false,
        allow_8bit_display_name: false,
        allow_mbox_from_line: false,
        allow_long_addresses: false,
        allow_long_lines: false,
        general_path_only: false,
    };
}

impl Default for Options {
    fn default() -> Self {
        Options::DEFAULT
    }
}
