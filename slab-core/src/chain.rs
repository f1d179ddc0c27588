//! Chains: free slots linked through their first word (I5), null-terminated, with their
//! count. A magazine is a chain; the depot parks chains; `slab::pop_batch` builds one from
//! a slab's free list and bump region in one pass.
//!
//! The links are the hardening layer's: stored encoded and checked when read
//! (`hardening::write_link`, `hardening::read_link`), exactly as a slab's own free list
//! stores them, so a slot moves between a slab's list and a chain without being rewritten.
//!
//! This module talks to `geometry` and `hardening` only.

use core::ptr::{self, NonNull};

use crate::geometry::Class;
use crate::hardening;

/// A chain of `count` free slots linked through their first word (stored unaligned, I5).
///
/// A `Chain` value is a description, not an owner: whoever holds it (a magazine, the depot
/// under its lock) owns the slots (I2), and only the owner follows the links.
#[derive(Clone, Copy, Debug)]
#[allow(
    unreachable_pub,
    reason = "named by `typed`'s sealed trait (`pub` in a private module); nothing outside the crate can name it"
)]
pub struct Chain {
    pub(crate) head: *mut u8,
    pub(crate) count: u32,
}

impl Chain {
    pub(crate) const EMPTY: Chain = Chain {
        head: ptr::null_mut(),
        count: 0,
    };

    /// The chain's slots, first to last. Each slot's link is read before the slot is
    /// yielded, so the caller may reuse the slot's first word at once (a slab's free list
    /// does: `slab::push`).
    ///
    /// # Safety
    /// The chain links `count` free slots of geometry `class` (I5), owned by the caller
    /// (I2), who gives them up to the iteration: a yielded slot's link is not read again.
    pub(crate) unsafe fn drain<'a>(self, class: &'a Class, name: &'a str) -> Drain<'a> {
        Drain {
            next: self.head,
            left: self.count,
            class,
            name,
        }
    }
}

/// The slots of a [`Chain`], from [`Chain::drain`].
pub(crate) struct Drain<'a> {
    next: *mut u8,
    left: u32,
    class: &'a Class,
    name: &'a str,
}

impl Iterator for Drain<'_> {
    type Item = NonNull<u8>;

    #[inline]
    fn next(&mut self) -> Option<NonNull<u8>> {
        self.left = self.left.checked_sub(1)?;
        // SAFETY: a chain links `count` free slots (`drain`'s contract, I5), so each of the
        // first `count` positions, this one included, is a slot, which is non-null.
        let slot = unsafe { NonNull::new_unchecked(self.next) };
        // SAFETY: `slot` is a free slot of geometry `class` on a chain the caller gave to
        // this iteration (`drain`'s contract), so its first word is its link (I5); it is
        // read before the caller gets the slot and may reuse the word.
        self.next = unsafe { hardening::read_link(slot, self.class, self.name) };
        Some(slot)
    }
}
