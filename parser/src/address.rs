//! The parsed values. Every string borrows the input where the input already holds it in
//! canonical form, and the arena otherwise; nothing here owns heap memory.

/// One mailbox: `name <local@domain>` or `local@domain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mailbox<'a> {
    /// The decoded display name, if there is one (comments are not names).
    pub name: Option<&'a str>,
    /// An obsolete source route, canonical (`@a.example,@b.example`), if there is one.
    pub route: Option<&'a str>,
    /// The local part in canonical form: quoted only if it must be.
    pub local: &'a str,
    /// The domain in canonical form: atoms joined by dots, or a `[literal]`.
    pub domain: &'a str,
    /// Byte offset in the input where this mailbox starts.
    pub offset: usize,
}

/// A named group of mailboxes (possibly empty: `Undisclosed recipients:;`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group<'a> {
    /// The decoded group name.
    pub name: &'a str,
    /// The members, in order.
    pub members: &'a [Mailbox<'a>],
    /// Byte offset in the input where this group starts.
    pub offset: usize,
}

/// One element of an address list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address<'a> {
    Mailbox(Mailbox<'a>),
    Group(Group<'a>),
}

/// A parsed address list: its addresses in order, empty elements dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AddressList<'a> {
    pub addresses: &'a [Address<'a>],
}

impl<'a> AddressList<'a> {
    /// Every mailbox, group members included, in order.
    pub fn mailboxes(&self) -> impl Iterator<Item = &'a Mailbox<'a>> + 'a {
        self.addresses.iter().flat_map(|a| match a {
            Address::Mailbox(m) => core::slice::from_ref(m),
            Address::Group(g) => g.members,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }
}
