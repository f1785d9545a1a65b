//! The arena: a `bumpalo::Bump` whose capacity is fixed when it is built and really holds.
//!
//! All the memory the arena will ever use is allocated up front, by [`Arena::new`]; parsing
//! itself never touches the global heap. An allocation that does not fit returns an error, which
//! the parser turns into [`ErrorKind::ArenaExhausted`]; it never panics, never retries.
//!
//! The trap this module exists for: `Bump::set_allocation_limit(Some(n))` has no effect on the
//! chunk already allocated, and `Bump::with_capacity(c)` rounds `c` up (4 096 becomes 8 128).
//! So the limit is set to `max(cap, allocated_bytes())`: the first chunk is all there is, and
//! any request for a second chunk fails. [`Arena::capacity_bytes`] reports the real figure.
//!
//! [`ErrorKind::ArenaExhausted`]: crate::ErrorKind::ArenaExhausted

use bumpalo::Bump;

/// A fixed-capacity arena, reset (not reallocated) between messages.
pub struct Arena {
    bump: Bump,
    capacity_bytes: usize,
}

impl Arena {
    /// Builds an arena of at least `bytes_max` bytes, allocating all of it now.
    pub fn new(bytes_max: usize) -> Arena {
        let bump = Bump::with_capacity(bytes_max);
        let capacity_bytes = bytes_max.max(bump.allocated_bytes());
        bump.set_allocation_limit(Some(capacity_bytes));
        Arena {
            bump,
            capacity_bytes,
        }
    }

    /// Builds an arena of `limits.arena_bytes_max` bytes.
    pub fn for_limits(limits: &crate::Limits) -> Arena {
        Arena::new(limits.arena_bytes_max)
    }

    /// Forgets everything allocated, keeping the memory for the next message.
    #[inline]
    pub fn reset(&mut self) {
        self.bump.reset();
    }

    /// The capacity that really holds: allocation past it fails.
    pub fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
    }

    /// Bytes the arena holds from the global heap (its chunks). Never above
    /// [`capacity_bytes`](Arena::capacity_bytes); tests check it.
    pub fn allocated_bytes(&self) -> usize {
        self.bump.allocated_bytes()
    }

    /// Bytes handed out since the last reset (chunk size minus what is still free).
    pub fn used_bytes(&self) -> usize {
        self.bump.allocated_bytes() - self.bump.chunk_capacity()
    }

    pub(crate) fn bump(&self) -> &Bump {
        &self.bump
    }
}

impl core::fmt::Debug for Arena {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Arena")
            .field("capacity_bytes", &self.capacity_bytes)
            .field("used_bytes", &self.used_bytes())
            .finish()
    }
}
