//! Address lists (RFC 5322 `address-list`, `group`, `mailbox-list`, with `obs-addr-list` and
//! `obs-group-list`: empty elements between commas are allowed and dropped), and the return path.
//!
//! One forward pass: each address starts with a run of words ([`WordRun`]); the byte after it
//! says what the run was: `<` a display name, `:` a group name, `@` a local part. A group
//! counts one level of depth and may not contain a group. Every address counts against
//! `addresses_max`; the output array grows in the arena with `try_reserve`.
//!
//! [`WordRun`]: crate::word_run::WordRun

use bumpalo::collections::Vec as BumpVec;

use crate::address::{Address, AddressList, Group, Mailbox};
use crate::arena::Arena;
use crate::common_mailbox::{
    Stop, LONE_ALONE_BYTES_MAX, LONE_FIELD_BYTES_MAX, LONE_PATH_BYTES_MAX,
};
use crate::cursor::Cursor;
use crate::error::{ErrorKind, Result};
use crate::limits::Options;

/// Parses an address list (the value of To, Cc, Bcc, From, Reply-To, Resent-*, ...).
///
/// An empty or all-CFWS input is an empty list (`Bcc:` may be empty); a list of only commas is
/// an error (obs-addr-list needs one address). The result borrows
/// `input` and `arena`; the arena must be reset before it is used for the next message.
#[inline]
pub fn parse_address_list<'a>(
    input: &'a [u8],
    arena: &'a Arena,
    opts: &Options,
) -> Result<AddressList<'a>> {
    address_list_in(input, None, false, arena, opts)
}

/// [`parse_address_list`], given the input as text if the caller has checked it already, and
/// `folds_checked` if every line break in it is known to be a fold (a header block's field
/// without a bare CR).
pub(crate) fn address_list_in<'a>(
    input: &'a [u8],
    text: Option<&'a str>,
    folds_checked: bool,
    arena: &'a Arena,
    opts: &Options,
) -> Result<AddressList<'a>> {
    let mut c = Cursor::new(input, text, arena, opts)?;
    // One address alone first (see `lone_common`): for a value given alone, before its line
    // breaks are checked; for a header block's field (checked already) only when it is short.
    let lone_max = if folds_checked {
        LONE_FIELD_BYTES_MAX
    } else {
        LONE_ALONE_BYTES_MAX
    };
    if let Some(m) = c.lone_common(lone_max) {
        // Where the general path would be when it puts the list in the arena.
        c.pos = input.len();
        let addresses = c.arena_ok(one_in(arena, Address::Mailbox(m)))?;
        return Ok(AddressList { addresses });
    }
    let mut list = Addresses::new(arena);
    // A value given alone has its line breaks checked only when the general path is about to
    // read it: the one-pass path checks the folds it takes (`fws_end`), so a list of common
    // addresses is read with one look at each byte. Until then, every line break before the
    // cursor is a good fold, and the check runs from the cursor.
    let mut unchecked = !folds_checked;
    let read = if folds_checked {
        read_list::<false>(&mut c, &mut list, &mut unchecked)
    } else {
        read_list::<true>(&mut c, &mut list, &mut unchecked)
    };
    if read.is_err() && unchecked {
        // Checked up front, a bad line break anywhere would have been the error.
        crate::cfws::check_folds(input, 0)?;
    }
    if let (true, Some(at)) = (list.is_empty(), read?) {
        // obs-addr-list allows empty elements but still needs one address; a field that is
        // empty or only CFWS is another matter (an empty `Bcc:` is common and harmless).
        return Err(c.err_at(ErrorKind::UnexpectedChar { byte: b',' }, at));
    }
    let addresses = c.arena_ok(list.finish())?;
    Ok(AddressList { addresses })
}

/// The elements of a list, from the cursor to the end of the input, into `list`; the offset
/// of its first empty element, if any. While `unchecked`, the line breaks from the cursor on
/// are not checked yet ([`address_list_in`]): they are before any CFWS that is more than one
/// space, and before whatever the one-pass path does not read. `LAZY` is whether they can be
/// (a value given alone): a header block's field is read by a copy without those branches
/// (with them, 17 K instructions a pass more on the real-mail fields).
#[inline(always)]
fn read_list<'a, const LAZY: bool>(
    c: &mut Cursor<'a, '_>,
    list: &mut Addresses<'a>,
    unchecked: &mut bool,
) -> Result<Option<usize>> {
    let mut first_comma = None;
    loop {
        if LAZY && *unchecked && !c.at_plain_cfws() {
            c.check_folds_here(unchecked)?;
        }
        c.skip_cfws()?;
        match c.peek() {
            None => break,
            Some(b',') => {
                // An empty element (obs-addr-list).
                first_comma.get_or_insert(c.pos);
                c.count_token()?;
                c.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        match c.common_run(list)? {
            Stop::End => break,
            Stop::Top => continue,
            Stop::AfterAddress => {
                if LAZY && *unchecked {
                    c.check_folds_here(unchecked)?;
                }
                c.skip_cfws().map(drop)?
            }
            Stop::Declined => {
                if LAZY && *unchecked {
                    c.check_folds_here(unchecked)?;
                }
                if let Some(addr) = c.address()? {
                    list.push(c, addr)?;
                }
            }
        }
        match c.peek() {
            None => break,
            Some(b',') => {
                c.count_token()?;
                c.pos += 1;
            }
            Some(_) => return Err(c.unexpected()),
        }
    }
    Ok(first_comma)
}

impl Cursor<'_, '_> {
    /// Checks the line breaks from the cursor on; they are checked from then on.
    #[cold]
    fn check_folds_here(&self, unchecked: &mut bool) -> Result<()> {
        crate::cfws::check_folds(self.input, self.pos)?;
        *unchecked = false;
        Ok(())
    }
}

/// The list being built. Its first address is held aside until a second one comes: most
/// fields hold one address, which then costs one arena allocation of its exact size instead of
/// a growable vector's reservation (143 instructions a field on the real-mail sample).
pub(crate) struct Addresses<'a> {
    arena: &'a Arena,
    first: Option<Address<'a>>,
    /// Every address once there are two or more (the first moved in), else empty.
    all: BumpVec<'a, Address<'a>>,
}

impl<'a> Addresses<'a> {
    pub(crate) fn new(arena: &'a Arena) -> Self {
        Addresses {
            arena,
            first: None,
            all: BumpVec::new_in(arena.bump()),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none() && self.all.is_empty()
    }

    /// Appends `addr`, growing the list in the arena when it is full.
    #[inline(always)]
    pub(crate) fn push(&mut self, c: &Cursor<'a, '_>, addr: Address<'a>) -> Result<()> {
        if self.all.len() == self.all.capacity() {
            if self.all.is_empty() && self.first.is_none() {
                self.first = Some(addr);
                return Ok(());
            }
            reserve(c, &mut self.all, c.input)?;
            if let Some(first) = self.first.take() {
                self.all.push(first);
            }
        }
        // Capacity was ensured just above (room for two at least when the first moves in):
        // this push cannot allocate (bumpalo's push would panic at the arena's limit).
        assert!(
            self.all.len() < self.all.capacity(),
            "a list push past its reservation"
        );
        self.all.push(addr);
        Ok(())
    }

    /// The addresses, in the arena.
    pub(crate) fn finish(
        self,
    ) -> core::result::Result<&'a [Address<'a>], crate::cursor::Exhausted> {
        match self.first {
            None => Ok(self.all.into_bump_slice()),
            Some(a) => one_in(self.arena, a),
        }
    }
}

/// A list of one address, allocated in the arena at its exact size.
#[inline(always)]
fn one_in<'a>(
    arena: &'a Arena,
    a: Address<'a>,
) -> core::result::Result<&'a [Address<'a>], crate::cursor::Exhausted> {
    match arena.bump().try_alloc(a) {
        Ok(one) => Ok(core::slice::from_ref(one)),
        Err(_) => Err(crate::cursor::Exhausted),
    }
}

/// Grows a full list. For a long field, the first growth reserves at once for every address
/// it can hold (one `@` or `:` each, at most `addresses_max`): the arena grows downward, so
/// each doubling copies the list and leaves the old one behind (135 arena bytes per address
/// in a 1 MiB list, against 72 for the address itself). If that much does not fit, doubling
/// as usual: the arena decides, not the guess.
#[inline(never)]
fn reserve<'a>(
    c: &Cursor<'a, '_>,
    list: &mut BumpVec<'a, Address<'a>>,
    input: &[u8],
) -> Result<()> {
    if list.is_empty() && input.len() > LIST_GUESS_BYTES_MIN {
        // Two counts, each a vector loop (one iterator over both bytes stopped at every one:
        // 5 000 instructions a long list on the real-mail sample).
        let count = |b| memchr::memchr_iter(b, input).count();
        let bound = count(b'@') + count(b':');
        let bound = bound.clamp(2, c.opts.limits.addresses_max.max(2) as usize);
        if list.try_reserve_exact(bound).is_ok() {
            return Ok(());
        }
    }
    if list.capacity() == 0 && list.try_reserve_exact(LIST_FIRST).is_ok() {
        return Ok(());
    }
    // Two: room for a first address held aside and the one that made the list grow.
    c.arena_ok(list.try_reserve(2).map_err(|_| crate::cursor::Exhausted))
}

/// Room for this many addresses when the list takes its second one: most lists of more than
/// one are short, and each growth in a bump arena is a copy.
const LIST_FIRST: usize = 4;
// The first address held aside and the one that made the list grow.
const _: () = assert!(LIST_FIRST >= 2);

/// Fields longer than this get their list reserved at once ([`reserve`]); shorter ones grow
/// by doubling, which costs less than counting for a handful of addresses.
const LIST_GUESS_BYTES_MIN: usize = 1024;

/// Parses a return path (RFC 5322 `path`, the value of Return-Path): `<>` gives `None`.
/// The angle brackets may be left out, as many mailers do; the address is the same either way.
#[inline]
pub fn parse_path<'a>(
    input: &'a [u8],
    arena: &'a Arena,
    opts: &Options,
) -> Result<Option<Mailbox<'a>>> {
    path_in(input, None, false, arena, opts)
}

/// [`parse_path`], as [`address_list_in`].
pub(crate) fn path_in<'a>(
    input: &'a [u8],
    text: Option<&'a str>,
    folds_checked: bool,
    arena: &'a Arena,
    opts: &Options,
) -> Result<Option<Mailbox<'a>>> {
    let mut c = Cursor::new(input, text, arena, opts)?;
    if !folds_checked {
        // As in a list; a display name is not a path's, and the general path reports it.
        if let Some(m) = c
            .lone_common(LONE_PATH_BYTES_MAX)
            .filter(|m| m.name.is_none())
        {
            return Ok(Some(m));
        }
        crate::cfws::check_folds(input, 0)?;
    }
    c.skip_cfws()?;
    let offset = c.pos;
    // `<local@domain>` or `local@domain` alone: one pass, as in a list (the same value, or
    // the general path's error from the same byte).
    if let Some(m) = c.common_path()? {
        return Ok(Some(m));
    }
    let mailbox = if c.peek() == Some(b'<') {
        c.angle_addr()?.map(|(route, local, domain)| Mailbox {
            name: None,
            route,
            local,
            domain,
            offset,
        })
    } else {
        let run = c.scan_word_run()?;
        if c.peek() != Some(b'@') {
            return Err(c.err_at(ErrorKind::MissingAt, run.start));
        }
        let (local, domain) = c.addr_spec_after_run(&run)?;
        Some(Mailbox {
            name: None,
            route: None,
            local,
            domain,
            offset,
        })
    };
    if !c.at_end() {
        return Err(c.unexpected());
    }
    Ok(mailbox)
}

impl<'a> Cursor<'a, '_> {
    /// One address at the cursor (past CFWS, not at `,`) that is not of a common shape (the
    /// caller tried [`common_mailbox`](Cursor::common_mailbox) first). `None` for an element
    /// that is only CFWS. Leaves the cursor after trailing CFWS.
    #[inline(never)]
    fn address(&mut self) -> Result<Option<Address<'a>>> {
        let run = self.scan_word_run()?;
        match self.peek() {
            Some(b':') => self.group(&run).map(|g| Some(Address::Group(g))),
            Some(b'<') | Some(b'@') => {
                self.count_address(run.start)?;
                self.mailbox_after_run(&run)
                    .map(|m| Some(Address::Mailbox(m)))
            }
            _ if run.is_empty() => Err(self.unexpected()),
            _ => Err(self.err_at(ErrorKind::MissingAt, run.start)),
        }
    }

    /// A group; its name is scanned and the cursor is on `:`.
    fn group(&mut self, run: &crate::word_run::WordRun) -> Result<Group<'a>> {
        if run.is_empty() {
            return Err(self.err(ErrorKind::MissingGroupName));
        }
        if self.depth > 0 {
            return Err(self.err(ErrorKind::NestedGroup));
        }
        self.count_address(run.start)?;
        let name = self.phrase(run)?.unwrap_or("");
        let colon = self.pos;
        self.count_token()?;
        self.enter()?;
        self.pos += 1;
        let mut members: BumpVec<'a, Mailbox<'a>> = BumpVec::new_in(self.arena.bump());
        loop {
            self.skip_cfws()?;
            match self.peek() {
                Some(b';') => {
                    self.count_token()?;
                    self.pos += 1;
                    break;
                }
                Some(b',') => {
                    self.count_token()?;
                    self.pos += 1;
                    continue;
                }
                None if self.opts.allow_unterminated_group => break,
                None => return Err(self.err_at(ErrorKind::UnterminatedGroup, colon)),
                Some(_) => {}
            }
            let member_run = self.scan_word_run()?;
            match self.peek() {
                Some(b'<') | Some(b'@') => {
                    self.count_address(member_run.start)?;
                    let m = self.mailbox_after_run(&member_run)?;
                    if members.len() == members.capacity() {
                        self.arena_ok(
                            members.try_reserve(1).map_err(|_| crate::cursor::Exhausted),
                        )?;
                    }
                    // Capacity was ensured just above: this push cannot allocate.
                    members.push(m);
                }
                Some(b':') if !member_run.is_empty() => {
                    return Err(self.err(ErrorKind::NestedGroup))
                }
                _ if member_run.is_empty() => return Err(self.unexpected()),
                _ => return Err(self.err_at(ErrorKind::MissingAt, member_run.start)),
            }
            match self.peek() {
                Some(b',') | Some(b';') => {}
                None if self.opts.allow_unterminated_group => {}
                None => return Err(self.err_at(ErrorKind::UnterminatedGroup, colon)),
                Some(_) => return Err(self.unexpected()),
            }
        }
        self.leave();
        self.skip_cfws()?;
        Ok(Group {
            name,
            members: members.into_bump_slice(),
            offset: run.start,
        })
    }
}
