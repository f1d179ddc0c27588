//! One slab: a `SIZE`-byte block aligned to `SIZE`: a header, then slots, rotated by the
//! slab's colour (see `geometry::Colours`).
//!
//! Free slots form a singly linked list threaded through the slots themselves (the link
//! is stored unaligned, so byte buffers need no padding beyond pointer size); slots that
//! were never handed out are taken from a bump index, so a new slab costs O(1) however
//! many slots it has. Pop and push are O(1).
//!
//! This module knows nothing of locks or caches: every function takes raw pointers whose
//! exclusive access the caller (the depot) guarantees by holding the master's lock.
//!
//! # Invariants
//! - A live slab's header stores `MAGIC ^ header_address`; the value is cleared when the
//!   slab goes back to the free hook. Any object address masked with `!(SIZE - 1)` finds
//!   its slab's base, and the base's colour offset its header ([`header_of`], I1).
//! - `first + capacity * stride <= SIZE`; slot `i` is at `first + i * stride` in the
//!   unrotated layout, which starts at the header and wraps around the end of the block
//!   ([`at_offset`]); no slot straddles the wrap (I1).
//! - Every slot index is in exactly one of: handed out (`in_use` counts them), on the
//!   free list, or at or above `bump` in bump order (never used; see `SlabState::rot`).
//!
//! This module talks to `geometry` (addresses) and `hardening` (links, canaries).

use core::num::NonZeroUsize;
use core::ptr::{self, NonNull};

use crate::geometry::Class;
use crate::hardening;

/// The header magic of a live slab (XORed with the header's address).
pub(crate) const MAGIC: usize = 0x5ab1_c0de_u32 as usize;

/// Which list of the depot a slab is on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum ListId {
    /// Some slots free, some in use.
    Partial = 0,
    /// No slot free.
    Full = 1,
    /// No slot in use.
    Empty = 2,
}

/// The header of every slab, at the slab's colour offset ([`Colours`]).
///
/// # Aliasing
/// `magic` and `master` are read without the depot lock: a free reads `master` to find
/// its cache before locking, and the hardening checks read `magic` of a header reached by
/// masking a slot address. So while a cache is shared, no reference to a whole
/// `SlabHeader` may be mutable, and these two fields are only ever accessed through raw
/// pointers. Everything else is in [`SlabState`], which is touched only with the lock held
/// (or by the slab's sole owner before it is published or after it is retired), so code
/// holding the lock may take a `&mut SlabState`.
#[repr(C)]
pub(crate) struct SlabHeader {
    /// `MAGIC ^ header address` while the slab is live, 0 once it is released.
    pub(crate) magic: usize,
    /// The cache's control block, inside the master slab. Written once, by [`init`].
    pub(crate) master: NonNull<u8>,
    /// The lock-guarded rest of the header.
    pub(crate) state: SlabState,
}

/// The part of a [`SlabHeader`] guarded by the depot lock (see its aliasing note).
///
/// `#[repr(C)]` and nested at offset 16, so every field sits where it would in a flat
/// header: the whole header is still one 64-byte cache line.
#[repr(C)]
pub(crate) struct SlabState {
    /// Head of the free list of previously used slots, or null.
    pub(crate) free: *mut u8,
    /// Neighbours on the depot list named by `list`.
    pub(crate) next: *mut SlabHeader,
    pub(crate) prev: *mut SlabHeader,
    /// Slots handed out of this slab (to boxes, raw pointers or magazines).
    pub(crate) in_use: u32,
    /// Slots at or above this index (in bump order, see `rot`) have never been handed out.
    pub(crate) bump: u32,
    /// The slot index that bump index 0 names: bump index `b` is slot `(b + rot) %
    /// capacity`. The slots that the colour rotation wrapped to the start of the block come
    /// first, so fresh slots are handed out in address order (hardware prefetchers follow
    /// ascending addresses; a wrap in the middle of a slab restarts them).
    pub(crate) rot: u32,
    /// Number of slots in this slab.
    pub(crate) capacity: u32,
    /// Offset of slot 0 from the header, in the unrotated layout ([`at_offset`]).
    pub(crate) first: u32,
    pub(crate) list: ListId,
    /// Whether this slab is the master (holds the control block).
    pub(crate) is_master: bool,
}

/// The first slot (by index) that the colour rotation of the slab at `base` with header `h`
/// wrapped to the start of the block, or 0 if none was.
fn first_wrapped(
    base: NonNull<u8>,
    h: NonNull<SlabHeader>,
    first: usize,
    capacity: usize,
    class: &Class,
) -> usize {
    // The unrotated offset that lands on the block's base.
    let cut = class.slab_size - (h.addr().get() - base.addr().get());
    let k = cut.saturating_sub(first).div_ceil(class.stride);
    if k >= capacity { 0 } else { k }
}

/// The address of the slot with bump index `b` (`b < capacity`) of slab `h`.
#[inline(always)]
fn bump_slot(h: NonNull<SlabHeader>, st: &SlabState, b: usize, class: &Class) -> NonNull<u8> {
    let mut i = b + st.rot as usize;
    if i >= st.capacity as usize {
        i -= st.capacity as usize;
    }
    at_offset(h, st.first as usize + i * class.stride, class)
}

/// Finds the header of the slab holding `p` (any address inside the slab): masks the
/// address to the slab's base and adds the base's colour offset (`Class::header_addr`).
///
/// The result keeps `p`'s provenance (strict provenance: no integer-to-pointer cast).
#[inline(always)]
pub(crate) fn header_of(p: NonNull<u8>, class: &Class) -> NonNull<SlabHeader> {
    // A slab's base is aligned to `slab_size` and non-null, so it is at least `slab_size`,
    // and the header lies inside the slab: the address is non-zero.
    p.map_addr(|a| NonZeroUsize::new(class.header_addr(a.get())).unwrap_or(a))
        .cast()
}

/// The base address of the slab whose header is `h` (the block the hooks handed out).
#[inline(always)]
pub(crate) fn base_of(h: NonNull<SlabHeader>, class: &Class) -> NonNull<u8> {
    // A slab's base is non-null (see `header_of`).
    h.cast::<u8>()
        .map_addr(|a| NonZeroUsize::new(class.base_addr(a.get())).unwrap_or(a))
}

/// The address `offset` bytes into the unrotated layout of the slab whose header is `h`:
/// `h + offset`, wrapped around the end of the slab to its base.
///
/// The result keeps `h`'s provenance, which covers the whole slab; `offset < slab_size`.
#[inline(always)]
pub(crate) fn at_offset(h: NonNull<SlabHeader>, offset: usize, class: &Class) -> NonNull<u8> {
    // Non-null: the base part is non-null (see `header_of`).
    h.cast::<u8>()
        .map_addr(|a| NonZeroUsize::new(class.wrap(a.get(), offset)).unwrap_or(a))
}

/// Writes a fresh header into the slab at `base` (at its colour offset, see
/// [`header_of`]) and returns it.
///
/// # Safety
/// `base` is a block of `class.slab_size` bytes, aligned to that size, owned exclusively
/// by the caller; `master` is the control block this slab will belong to.
pub(crate) unsafe fn init(
    base: NonNull<u8>,
    class: &Class,
    master: NonNull<u8>,
    is_master: bool,
) -> NonNull<SlabHeader> {
    let (first, capacity) = if is_master {
        (class.master_first, class.master_slots)
    } else {
        (class.slave_first, class.slave_slots)
    };
    let h = header_of(base, class);
    // SAFETY:
    // - `h` lies at a colour offset `c` of the block with `c + size_of::<SlabHeader>() <=
    //   slab_size` (the cut of the rotated layout is past the header, see `Colours`), so
    //   it is valid for writes of a header; `c` is a multiple of the header's alignment
    //   and so is the block's base;
    // - `first` and `capacity` fit `u32` because `slab_size <= MAX_SLAB_SIZE = 2^30` (I1);
    // - the block is the caller's alone (contract, I6), so nothing reads the header while
    //   it is written (I12).
    unsafe {
        h.write(SlabHeader {
            magic: MAGIC ^ h.addr().get(),
            master,
            state: SlabState {
                free: ptr::null_mut(),
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                in_use: 0,
                bump: 0,
                rot: first_wrapped(base, h, first, capacity, class) as u32,
                capacity: capacity as u32,
                first: first as u32,
                list: ListId::Empty,
                is_master,
            },
        })
    };
    h
}

/// Whether the header's magic says the slab is live.
///
/// # Safety
/// `h` points to readable memory of at least a header's size.
#[inline]
pub(crate) unsafe fn is_live(h: NonNull<SlabHeader>) -> bool {
    // SAFETY: readable by the caller's contract; `magic` is a plain `usize`, read through
    // the raw pointer without the lock (I12).
    let magic = unsafe { (*h.as_ptr()).magic };
    magic == MAGIC ^ h.addr().get()
}

/// Panics if a slab header's magic is gone (hardening).
#[track_caller]
pub(crate) fn check_header(h: NonNull<SlabHeader>, name: &str) {
    // SAFETY: callers reach `h` by masking a slot they own (I1, I2), so the slab is mapped
    // (I4).
    if !unsafe { is_live(h) } {
        panic!(
            "slab_core: the slab header of `{name}` at {h:p} is corrupted (its magic is gone): \
             a write before the first object, a freed slab, or a pointer from another allocator"
        );
    }
}

/// Unlinks the head of the slab's free list (with hardening checks, after checking that
/// its link stays inside the slab); `None` if the list is empty. Does not count the slot.
///
/// # Safety
/// `st` is the state of the live slab `h`, and the caller holds its lock.
#[inline(always)]
unsafe fn take_free(
    st: &mut SlabState,
    h: NonNull<SlabHeader>,
    class: &Class,
    name: &str,
) -> Option<NonNull<u8>> {
    let slot = NonNull::new(st.free)?;
    // SAFETY: `slot` is the head of this slab's free list: a free slot of this slab whose
    // first word holds the (possibly null, encoded) next link written by `push` (I5); the
    // lock makes the list, and so the slot, ours (I2, I9).
    let next = unsafe { hardening::read_link(slot, class, name) };
    if hardening::CHECKS
        && !(next.is_null()
            || next.addr() & !(class.slab_size - 1) == base_of(h, class).addr().get())
    {
        hardening::corrupted_link(slot.as_ptr(), name);
    }
    st.free = next;
    Some(slot)
}

/// Takes one free slot out of the slab, or `None` if it is full.
///
/// # Safety
/// `h` is a live slab header and the caller has exclusive access to it (holds the lock).
#[inline]
pub(crate) unsafe fn pop(h: NonNull<SlabHeader>, class: &Class, name: &str) -> Option<NonNull<u8>> {
    // SAFETY: `h` points to a live, initialised header (caller's contract), so the place
    // `state` is in bounds and aligned. The caller holds the lock, and `SlabState` is only
    // accessed under it (I12), so no other thread reads or writes these bytes while `st`
    // lives; this function makes no other reference to this header.
    let st = unsafe { &mut (*h.as_ptr()).state };
    // SAFETY: `st` is `h`'s state, guarded by the lock the caller holds (I9, I12).
    if let Some(slot) = unsafe { take_free(st, h, class, name) } {
        st.in_use += 1;
        return Some(slot);
    }
    if st.bump < st.capacity {
        let index = st.bump as usize;
        st.bump += 1;
        st.in_use += 1;
        // `index < capacity` and `first + capacity * stride <= slab_size` (the header
        // invariant), so the slot lies inside the slab's block.
        let slot = bump_slot(h, st, index, class);
        // SAFETY: `slot` starts slot `index` of this live slab; it was at or above `bump`,
        // so it was never handed out and nothing else refers to it: it is ours now (I2,
        // I11).
        unsafe { hardening::on_fresh(slot, class) };
        // SAFETY: the same fresh slot, ours, of a slab of geometry `class` (I21).
        unsafe { mark_fresh(slot, class) };
        return Some(slot);
    }
    None
}

/// Takes up to `max` free slots out of the slab onto the front of the chain `head`
/// (free slots linked through their first word, as [`hardening::write_link`] stores them) and
/// returns how many it took: the free list first, then never-used slots, linked in address
/// order in one tight loop (no per-slot header update, and no reads of cold memory).
///
/// # Safety
/// As [`pop`]; `head` is null or heads a chain of free slots owned by the caller.
pub(crate) unsafe fn pop_batch(
    h: NonNull<SlabHeader>,
    class: &Class,
    name: &str,
    max: u32,
    head: &mut *mut u8,
) -> u32 {
    // SAFETY: `h` is a live, initialised header (caller's contract), so `state` is in bounds
    // and aligned; the caller holds the lock, which alone guards `SlabState` (I12), so no
    // other thread touches these bytes while `st` lives. The slots written below lie past
    // the header in the unrotated layout (`first >= size_of::<SlabHeader>()`, I1), so they
    // never overlap `st`.
    let st = unsafe { &mut (*h.as_ptr()).state };
    prefetch_free_list(h, st, class, max);
    let mut taken = 0;
    while taken < max {
        // SAFETY: `st` is `h`'s state, guarded by the lock the caller holds (I9, I12).
        let Some(slot) = (unsafe { take_free(st, h, class, name) }) else {
            break;
        };
        // SAFETY: `slot` left the free list above: a free slot, ours, holding no value (I2,
        // I3), whose first word is the link word (I5).
        unsafe { hardening::write_link(slot, *head, class) };
        *head = slot.as_ptr();
        taken += 1;
    }
    let fresh = (max - taken).min(st.capacity - st.bump);
    if fresh > 0 {
        // `bump + fresh <= capacity` and `first + capacity * stride <= slab_size` (the
        // header invariant), so slots `bump..bump + fresh` lie inside the slab.
        let bump = st.bump as usize;
        let slot_at = |i: usize| bump_slot(h, st, bump + i, class);
        for i in 0..fresh as usize {
            let slot = slot_at(i);
            let next = if i + 1 < fresh as usize {
                slot_at(i + 1).as_ptr()
            } else {
                *head
            };
            // SAFETY: a never-used slot at or above `bump`: nothing refers to it, ours now
            // (I2, I11).
            unsafe { hardening::on_fresh(slot, class) };
            // SAFETY: the same fresh slot, ours, of a slab of geometry `class` (I21).
            unsafe { mark_fresh(slot, class) };
            // SAFETY: the same never-used slot, ours and holding no value, so its first
            // word is the allocator's link word (I5).
            unsafe { hardening::write_link(slot, next, class) };
        }
        *head = slot_at(0).as_ptr();
        st.bump += fresh;
        taken += fresh;
    }
    st.in_use += taken;
    taken
}

/// Prefetches a batch may issue per slot it takes (see [`prefetch_free_list`]).
#[cfg(target_arch = "x86_64")]
const PREFETCHES_PER_SLOT: usize = 16;

/// Before a batch walks a long free list, asks the CPU to load the link words of the slots
/// below `bump` (where all free-listed slots lie), so that the walk's dependent loads
/// (freed in any order, the list jumps around the slab) hit the cache instead of each
/// waiting for the one before.
///
/// One prefetch per cache line (several small slots share one), and only where that
/// comes to at most `PREFETCHES_PER_SLOT` (16) per slot the batch takes: a 64 KiB slab of
/// 64-byte objects (1023 lines for a 64-slot batch) or a 128 KiB slab of packets (87 for
/// 21) is prefetched, a 1 MiB slab of `u64`s (16,384 lines) is not, so a batch costs what
/// its own slots cost, never what the slab holds; an unprefetched walk is the dependent
/// chain, at most `max` long.
#[inline(always)]
fn prefetch_free_list(h: NonNull<SlabHeader>, st: &SlabState, class: &Class, max: u32) {
    #[cfg(target_arch = "x86_64")]
    {
        const LINE: usize = 64;
        // Saturating: a corrupted header is reported by the walk, not here.
        let listed = st.bump.saturating_sub(st.in_use);
        if st.free.is_null() || listed.min(max) < 16 {
            return;
        }
        // Bump order is address order, except that the slots the colour rotation wrapped
        // to the block's start come first: walk the bump indices at most a line apart (at
        // least one slot), which visits the line of every slot's link word.
        let step = (LINE / class.stride).max(1);
        let prefetches = (st.bump as usize).div_ceil(step);
        if prefetches > PREFETCHES_PER_SLOT * max as usize {
            return;
        }
        for i in (0..st.bump as usize).step_by(step) {
            let p = bump_slot(h, st, i, class).as_ptr();
            // SAFETY: a prefetch is a hint: it never faults and changes no memory; `p` is a
            // slot address inside this slab anyway (I1).
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (h, st, class, max);
}

/// An object cache's slot leaves the bump region: it holds no value yet (I21).
///
/// # Safety
/// `slot` is a never-used slot of a live slab of geometry `class`, owned by the caller.
#[inline(always)]
unsafe fn mark_fresh(slot: NonNull<u8>, class: &Class) {
    if let Some(kept) = class.kept {
        // SAFETY: a fresh slot of an object cache's slab, ours (contract): `fresh` writes
        // its "constructed" word, past the link and inside the slot (I21).
        unsafe { (kept.fresh)(slot) };
    }
}

/// Drops the values an object cache's slab keeps, before the slab goes back to its
/// source: every slot below `bump` (the ones ever handed out; the others never held a
/// value, and an object cache's slab never forgets its bump index, I21) whose value is
/// constructed. A `Drop` that panics does not stop the others: they are still dropped
/// while the panic unwinds (a second panic aborts, as in `Vec`'s drop).
///
/// # Safety
/// `h` heads a retired (or destroyed) slab of geometry `class`, every slot free, reachable
/// only by the caller (I13).
pub(crate) unsafe fn drop_kept(h: NonNull<SlabHeader>, class: &Class) {
    let Some(kept) = class.kept else { return };
    /// The slots left to drop; its `Drop` goes on if one of them panicked.
    struct Rest<'c> {
        h: NonNull<SlabHeader>,
        class: &'c Class,
        next: usize,
        bump: usize,
        retire: unsafe fn(NonNull<u8>),
    }
    impl Rest<'_> {
        fn run(&mut self) {
            while self.next < self.bump {
                // SAFETY: the slab is ours alone (`drop_kept`'s contract, I13), so reading
                // its state races with nothing; a copy, no reference is kept.
                let st = unsafe { &(*self.h.as_ptr()).state };
                let slot = bump_slot(self.h, st, self.next, self.class);
                self.next += 1;
                // SAFETY: a slot below `bump` of this free slab (I11): its "constructed"
                // word was written when it left the bump region, and the value it marks
                // is dropped once, here, as the slab goes back (I3, I21).
                unsafe { (self.retire)(slot) };
            }
        }
    }
    impl Drop for Rest<'_> {
        fn drop(&mut self) {
            self.run(); // nothing left unless a `Drop` panicked
        }
    }
    // SAFETY: ours alone (contract, I13); the read is a copy.
    let bump = unsafe { (*h.as_ptr()).state.bump } as usize;
    let mut rest = Rest {
        h,
        class,
        next: 0,
        bump,
        retire: kept.retire,
    };
    rest.run();
}

/// Returns a slot to the slab's free list.
///
/// # Safety
/// `slot` was handed out by [`pop`] on this slab, is not handed out again until popped,
/// holds no value any more, and the caller has exclusive access to the header.
#[inline]
pub(crate) unsafe fn push(h: NonNull<SlabHeader>, slot: NonNull<u8>, class: &Class) {
    // SAFETY: `h` is a live header (its slot is outstanding, I4), so `state` is in bounds
    // and aligned; the caller holds the lock, which guards every access to `SlabState`
    // (I12), and this function makes no other reference to this header.
    let st = unsafe { &mut (*h.as_ptr()).state };
    // SAFETY: `slot` is a slot of this slab (at least a pointer wide: `stride >= link
    // size`, I5) that holds no value and that the caller gives up (I2, I3), so nothing
    // else reads or writes it; it does not overlap the header (I1).
    unsafe { hardening::write_link(slot, st.free, class) };
    st.free = slot.as_ptr();
    st.in_use -= 1;
    hardening::asan_poison(slot, class);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fits_one_cache_line() {
        assert!(size_of::<SlabHeader>() <= 64);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn geometry_tests_use_the_real_header_layout() {
        // `geometry`'s tests model the header as 64 bytes, 8-aligned.
        assert_eq!((size_of::<SlabHeader>(), align_of::<SlabHeader>()), (64, 8));
    }
}
