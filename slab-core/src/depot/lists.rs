//! The depot's slab lists (partial, full, empty: intrusive and doubly linked through the
//! headers' `state`, I11) and the slab counts that move with them: adopting a new slab,
//! taking and returning single slots, retiring an empty slave.

use core::ptr::{self, NonNull};

use super::{Depot, Retired};
use crate::geometry::Class;
use crate::hardening;
use crate::slab::{self, ListId, SlabHeader};

/// Whether full slabs are linked on the depot's full list. Only walks look for them there
/// (the exact ownership check of hardened [`SlabBox::from_raw`](crate::SlabBox::from_raw)
/// and [`SlabCache::scan`](crate::SlabCache::scan)), so builds without hardening checks
/// keep full slabs on no list and count them in `Depot::unlisted_full`: a slab that fills,
/// or gets its first slot back, then writes no neighbour's header. In a burst of frees
/// across many slabs (S2 of `docs/BENCHMARKS.md`), each neighbour is a cold cache line:
/// 1.5 ns per freed object in order, 2 to 4 shuffled.
pub(crate) const LIST_FULL: bool = hardening::CHECKS;

impl Depot {
    fn head_of(&mut self, list: ListId) -> &mut *mut SlabHeader {
        match list {
            ListId::Partial => &mut self.partial,
            ListId::Full => &mut self.full,
            ListId::Empty => &mut self.empty,
        }
    }

    /// Puts `h` at the head of `list` (or, a full slab without [`LIST_FULL`], counts it).
    ///
    /// # Safety
    /// `h` is a live header of this depot, on no list; the lock is held (I9).
    pub(super) unsafe fn link(&mut self, h: NonNull<SlabHeader>, list: ListId) {
        let hp = h.as_ptr();
        // A full slab is on no list without `LIST_FULL`: no head and no neighbour.
        let listed = list != ListId::Full || LIST_FULL;
        let old = if listed {
            *self.head_of(list)
        } else {
            self.unlisted_full += 1;
            ptr::null_mut()
        };
        {
            // SAFETY: `h` is a live header (contract), so `state` is in bounds and aligned;
            // the lock is held and `SlabState` is only accessed under it (I12), so nothing
            // else touches these bytes. `h` is on no list, so it is not `old`, and no other
            // reference to its state exists; this one ends with the block.
            let st = unsafe { &mut (*hp).state };
            st.list = list;
            st.prev = ptr::null_mut();
            st.next = old;
        }
        if !listed {
            return;
        }
        if let Some(old) = NonNull::new(old) {
            // SAFETY: `old` is the head of one of this depot's lists, so a live header
            // (I11); the lock is held, which guards its `state` (I12). The reference to
            // `h`'s state above has ended, and `old != h`, so this single write aliases
            // nothing.
            unsafe { (*old.as_ptr()).state.prev = hp };
        }
        *self.head_of(list) = hp;
    }

    /// Takes `h` off its list (or, a full slab without [`LIST_FULL`], off the count).
    ///
    /// # Safety
    /// `h` is a live header on the list its `list` field names; the lock is held (I9).
    unsafe fn unlink(&mut self, h: NonNull<SlabHeader>) {
        let hp = h.as_ptr();
        let (prev, next, list) = {
            // SAFETY: `h` is a live header of this depot (contract), so `state` is in
            // bounds and aligned; the lock is held, so nothing else touches it (I12). The
            // reference ends with this block, before the neighbours are written.
            let st = unsafe { &(*hp).state };
            (st.prev, st.next, st.list)
        };
        if list == ListId::Full && !LIST_FULL {
            // On no list (see `link`): its links are null, and no neighbour refers to it.
            self.unlisted_full -= 1;
            return;
        }
        if prev.is_null() {
            *self.head_of(list) = next;
        } else {
            // SAFETY: `prev` is `h`'s neighbour on a list of this depot, so a live header
            // distinct from `h` (I11); its `state` is guarded by the lock we hold (I12), and
            // no reference to any header's state is live here.
            unsafe { (*prev).state.next = next };
        }
        if !next.is_null() {
            // SAFETY: `next` is `h`'s other neighbour on a list of this depot, so a live
            // header distinct from `h` (I11); its state is guarded by the lock we hold
            // (I12), and no reference to any header's state is live here.
            unsafe { (*next).state.prev = prev };
        }
        // SAFETY: `h` is live and its state is guarded by the lock we hold (I12); the
        // writes to the neighbours above went through their own pointers and no reference
        // is live.
        let st = unsafe { &mut (*hp).state };
        st.prev = ptr::null_mut();
        st.next = ptr::null_mut();
    }

    /// Puts `h` on the list that matches its fill level, if it is not there already.
    ///
    /// # Safety
    /// As [`unlink`](Self::unlink): `h` is a live header of this depot on the list its
    /// `list` field names (the lists are consistent whenever the lock is free, I11, and
    /// `slab::pop`/`push` do not touch them); the lock is held.
    pub(super) unsafe fn relist(&mut self, h: NonNull<SlabHeader>, class: &Class) {
        let (in_use, cap, list, master) = {
            // SAFETY: `h` is a live header of this depot (contract), so `state` is in
            // bounds and aligned; the lock is held, so nothing writes it concurrently
            // (I12). The shared reference ends with this block, before `unlink`/`link`
            // write through `h`.
            let st = unsafe { &(*h.as_ptr()).state };
            (st.in_use, st.capacity, st.list, st.is_master)
        };
        let want = if in_use == 0 {
            ListId::Empty
        } else if in_use == cap {
            ListId::Full
        } else {
            ListId::Partial
        };
        if want != list {
            // SAFETY: `h` is live and on the list its `list` field names (our contract,
            // I11), and the lock is held (I9).
            unsafe { self.unlink(h) };
            // SAFETY: `h` is live and, just unlinked, on no list; the lock is held (I9).
            unsafe { self.link(h, want) };
            // An object cache's slab keeps its bump index: the slots below it may hold
            // values, which `drop_kept` finds there (I21).
            if want == ListId::Empty && !hardening::CHECKS && class.kept.is_none() {
                // Every slot is free, so the free list says nothing the bump index does
                // not: forget it, and the slab serves its slots in address order again, as
                // a new one does (one sequential sweep the prefetcher follows, instead of a
                // walk of links in the order the slots came back). With hardening checks
                // the list stays, so each slot's poison is still checked when it is reused.
                // SAFETY: `h` is a live slab of this depot and the lock is held (I12); no
                // other reference to its state is alive here.
                let st = unsafe { &mut (*h.as_ptr()).state };
                st.free = ptr::null_mut();
                st.bump = 0;
            }
            if !master {
                if want == ListId::Empty {
                    self.empty_slaves += 1;
                } else if list == ListId::Empty {
                    self.empty_slaves -= 1;
                }
            }
        }
    }

    /// Takes one slot from the first partial (else empty) slab, or `None` if every slab
    /// is full; samples the peak.
    ///
    /// # Safety
    /// The lock of this depot is held; `class` is its geometry.
    pub(crate) unsafe fn alloc_slot(&mut self, class: &Class) -> Option<NonNull<u8>> {
        let h = NonNull::new(self.partial).or(NonNull::new(self.empty))?;
        // SAFETY: `h` heads one of our lists, so it is a live header of this depot (I11);
        // the lock is held (contract), which `pop` needs for its state (I12).
        let slot = unsafe { slab::pop(h, class, self.name) }?;
        // SAFETY: `h` is a live header on the list its `list` field names (I11: `pop` does
        // not touch the lists); the lock is held.
        unsafe { self.relist(h, class) };
        self.in_use += 1;
        self.update_peak();
        Some(slot)
    }

    /// Adds a freshly allocated slave slab to the depot's empty list.
    ///
    /// # Safety
    /// The lock is held; `block` is a slab-sized, slab-aligned block from the hook that
    /// nothing else uses (I6); `ctrl` is this depot's control block.
    pub(crate) unsafe fn adopt(&mut self, block: NonNull<u8>, class: &Class, ctrl: NonNull<u8>) {
        if hardening::CHECKS && self.holds_slab(block.addr().get(), class.slab_size) {
            panic!(
                "slab_core: the memory source returned {block:p}, which is already a live \
                 slab of the `{}` cache: the source handed one block out twice, breaking the \
                 promise of its `unsafe impl SlabSource` (or its `unsafe` in `slab_hooks!`)",
                self.name
            );
        }
        // SAFETY: `block` is a slab-sized, slab-aligned block from the hook that nothing
        // else uses (contract, I1, I6), and `ctrl` is this depot's control block: what
        // `init` needs.
        let h = unsafe { slab::init(block, class, ctrl, false) };
        // SAFETY: `h` is live (just initialised, I12) and on no list yet; the lock is held
        // (I9).
        unsafe { self.link(h, ListId::Empty) };
        self.empty_slaves += 1;
        self.slabs += 1;
        self.capacity += class.slave_slots;
        self.hook_allocs += 1;
        self.lo = self.lo.min(block.addr().get());
        self.hi = self.hi.max(block.addr().get());
    }

    /// Takes an empty slave out of the depot and onto `retired`, to be freed after
    /// unlocking (I13).
    ///
    /// # Safety
    /// The lock is held; `h` is an empty slave on the empty list.
    unsafe fn retire(&mut self, h: NonNull<SlabHeader>, class: &Class, retired: &mut Retired) {
        // SAFETY: `h` is a live header on the empty list, which its `list` field names (I11),
        // and the lock is held (this function's contract, I9): what `unlink` needs.
        unsafe { self.unlink(h) };
        self.empty_slaves -= 1;
        self.slabs -= 1;
        self.capacity -= class.slave_slots;
        self.hook_frees += 1;
        // SAFETY: `h` is a live header (contract), so `magic` is in bounds and aligned; the
        // lock is held. The slab is empty, so no outstanding slot can lead a lock-free
        // reader here (I12): clearing the magic marks the slab dead before it is freed.
        unsafe { (*h.as_ptr()).magic = 0 };
        // SAFETY: just retired under the lock: off every list, counted out, magic cleared,
        // reachable only from here (I13).
        unsafe { retired.push(h) };
    }

    /// Retires every empty slave (for `shrink`); the master stays.
    ///
    /// # Safety
    /// The lock is held; `class` is the depot's geometry.
    pub(crate) unsafe fn retire_empty(&mut self, class: &Class, retired: &mut Retired) {
        let mut cur = self.empty;
        while let Some(h) = NonNull::new(cur) {
            let (next, is_master) = {
                // SAFETY: `h` is on the empty list, so a live header (I11); the lock is held
                // (contract), which guards its `state` (I12). The shared reference ends
                // with this block, before `retire` writes through `h`.
                let st = unsafe { &(*h.as_ptr()).state };
                (st.next, st.is_master)
            };
            cur = next;
            if !is_master {
                // SAFETY: the lock is held (I9); `h` is an empty slave on the empty list
                // (I11).
                unsafe { self.retire(h, class, retired) };
            }
        }
    }

    /// Puts a slot back into its slab; if that leaves one empty slave too many, the slave
    /// is retired onto `retired`, to be freed after unlocking.
    ///
    /// # Safety
    /// The lock of the slot's cache is held (this is its depot); `slot` was handed out by
    /// this depot and holds no value (I2, I3).
    pub(crate) unsafe fn return_slot(
        &mut self,
        slot: NonNull<u8>,
        class: &Class,
        retired: &mut Retired,
    ) {
        let h = slab::header_of(slot, class);
        if hardening::CHECKS {
            slab::check_header(h, self.name);
        }
        // SAFETY: `slot` was handed out by this depot (contract), so `h` is the live header
        // of its slab (I1, I4) and `slot` came from `slab::pop` on it; it holds no value and
        // the caller gives it up (I2); the lock is held.
        unsafe { slab::push(h, slot, class) };
        // SAFETY: one slot of `h`, a live slab of this depot on the list its `list` field
        // names (I11), was pushed back just now, under the lock we hold (I9).
        unsafe { self.settle(h, 1, class, retired) }
    }

    /// Brings the depot up to date after `n` slots of slab `h` went back onto its free list
    /// (`slab::push`): relists it, counts the slots, and retires it onto `retired` if it is
    /// an empty slave beyond `keep_empty`.
    ///
    /// # Safety
    /// The lock of this depot is held; `h` is a live slab of it, on the list its `list`
    /// field names, and exactly `n` of its slots were pushed back since it was last
    /// relisted.
    pub(super) unsafe fn settle(
        &mut self,
        h: NonNull<SlabHeader>,
        n: usize,
        class: &Class,
        retired: &mut Retired,
    ) {
        // SAFETY: `h` is a live header of this depot, on the list its `list` field names
        // (the lists are consistent whenever the lock is free, I11, and `push` does not
        // touch them); the lock is held.
        unsafe { self.relist(h, class) };
        self.in_use -= n;
        let empty_slave = {
            // SAFETY: `h` is live, its state guarded by the lock we hold (I12); the shared
            // reference ends with this block, before `retire` writes through `h`.
            let st = unsafe { &(*h.as_ptr()).state };
            st.in_use == 0 && !st.is_master
        };
        if empty_slave && self.empty_slaves > self.keep_empty {
            // SAFETY: `h` is an empty slave on the empty list (just relisted, I11); the lock is
            // held (I9).
            unsafe { self.retire(h, class, retired) };
        }
    }

    /// Whether a slab based at `base` is on one of the lists (every slab is, when
    /// [`LIST_FULL`]; else the full ones are not). A walk: O(slabs), for hardening only.
    pub(crate) fn holds_slab(&self, base: usize, slab_size: usize) -> bool {
        [self.partial, self.full, self.empty]
            .into_iter()
            .any(|mut cur| {
                while !cur.is_null() {
                    // A header lies inside its slab: masking finds the slab's base (I1).
                    if cur.addr() & !(slab_size - 1) == base {
                        return true;
                    }
                    // SAFETY: `cur` is on one of this depot's lists, so a live header
                    // (I11); the caller holds the lock (`&Depot` is only reached through
                    // the guard, I9), so its `state` is not written concurrently (I12).
                    // The read is a copy.
                    cur = unsafe { (*cur).state.next };
                }
                false
            })
    }
}
