//! Per-thread magazines of runtime caches used through `&self` (`std` builds): a small
//! table per thread, keyed by the address of a cache's control block, whose entries are
//! the thread's loaded + previous [`Pair`] for that cache, registered with its depot so
//! that `stats()` counts their slots as free (I14).
//!
//! `SlabCache::alloc(&self, v)` on a `static`, on a cache shared by reference or `Arc`,
//! and the drop of a box of a runtime cache, take a slot from or give it to the calling
//! thread's entry for that cache: no lock, no atomic read-modify-write. A runtime cache,
//! unlike a `#[slab_cached]` type's `static`, can be dropped, and the magazines of other
//! threads are theirs alone (plain cells: no one else may touch them), so an entry keeps
//! its cache alive while it is registered (I4, I23), and its own thread releases it
//! (gives both magazines back and unregisters it, under the cache's lock):
//!
//! - when the thread exits (the table's exit guard, a thread-local with a destructor),
//! - when the thread drops a handle of the cache,
//! - when the table is full and the entry is evicted for another cache (round robin),
//! - when the thread calls [`flush_thread_caches`].
//!
//! A box dropped on a thread without an entry for its cache gets one only while the cache
//! has a handle; after that it goes back through the lock. So once the last handle and
//! the last box are gone, the cache's memory goes back when the last thread still holding
//! an entry for it releases it (I6).
//!
//! Hooks may re-enter: a refill or a flush can call the allocation or free hook, which
//! may allocate or free through this same table. An entry is *busy* while a frame of its
//! thread is inside such a call for it; a busy entry is never evicted or released (except
//! by the thread's exit, which no frame can be inside of), and every entry is released
//! with its key cleared under the lock, before any hook runs.
//!
//! This module talks to `handle` (the cache's geometry), `magazine`, `control`, `depot`,
//! `geometry`, `hardening`, `lock`, `error` and `sync`.
#![cfg_attr(
    not(all(feature = "std", not(loom))),
    allow(
        dead_code,
        reason = "the thread-local table exists in `std` builds; loom drives one by hand"
    )
)]

use core::cell::Cell;
use core::ptr::{self, NonNull};

use crate::chain::Chain;
use crate::control::{Control, DepotGuard, DestroyOnDrop, depot_alloc, depot_free, with_retiring};
use crate::depot::{Depot, MagNode, Retired};
use crate::error::SlabError;
use crate::geometry::Class;
use crate::handle::SlabCache;
use crate::hardening;
use crate::lock::LockTrait;
use crate::magazine::{Batch, Pair, Popped, depot_give_chain, rounds_for};
use crate::source::SlabSource;

/// Entries per thread: runtime caches a thread can use through `&self` at once without
/// evicting one (eviction gives the evicted entry's magazines back, under its lock).
pub(crate) const ENTRIES: usize = 8;

/// The key of a free entry: never the address of a control block (those are aligned, and
/// non-null), and never null either, so a cache whose master is not yet made (its control
/// pointer null) matches no entry.
const FREE: usize = 1;

/// Releases entry `i` of a table: gives its magazines back and unregisters it under the
/// lock of its cache, then destroys the cache if that was all that kept it (monomorphised
/// for the cache's type, which the table does not know).
type ReleaseFn = unsafe fn(&Table, usize);

/// One thread's magazines for one runtime cache. A cache line of its own: the fast paths
/// read `mags.loaded`, `mags.previous_n` and `node.held` of one entry.
#[repr(C, align(64))]
pub(crate) struct Entry {
    /// Registered with the depot of `ctrl` while the entry is in use (I14, I23).
    node: MagNode,
    mags: Pair,
    /// The control block this entry is registered with, null while it is free.
    ctrl: Cell<*const ()>,
}

/// A thread's table of [`Entry`]s, in a thread-local without drop glue (std), or made by
/// hand for the loom models. Only its thread touches it.
#[allow(
    unreachable_pub,
    reason = "public for the loom models' `__loom` re-export; private to the crate otherwise"
)]
pub struct Table {
    /// `entries[i].ctrl`'s address, or [`FREE`]: what the fast paths compare, in one line.
    keys: [Cell<usize>; ENTRIES],
    entries: [Entry; ENTRIES],
    /// How to release each entry in use.
    release: [Cell<Option<ReleaseFn>>; ENTRIES],
    /// Frames of this thread inside a call that may run a hook, per entry.
    busy: [Cell<u32>; ENTRIES],
    /// The next entry to evict when the table is full.
    victim: Cell<usize>,
    /// The table has joined its thread's exit (std: the exit guard is armed).
    joined: Cell<bool>,
    /// The thread is ending: no entry is registered any more, every call takes the lock.
    exited: Cell<bool>,
}

/// An empty table (one body for the `const` and the loom constructor).
macro_rules! empty_table {
    ($entry:expr) => {
        Table {
            keys: [const { Cell::new(FREE) }; ENTRIES],
            entries: $entry,
            release: [const { Cell::new(None) }; ENTRIES],
            busy: [const { Cell::new(0) }; ENTRIES],
            victim: Cell::new(0),
            joined: Cell::new(false),
            exited: Cell::new(false),
        }
    };
}

impl Entry {
    #[cfg(not(loom))]
    const fn new() -> Entry {
        Entry {
            node: MagNode::new(),
            mags: Pair::new(),
            ctrl: Cell::new(ptr::null()),
        }
    }

    #[cfg(loom)]
    fn new() -> Entry {
        Entry {
            node: MagNode::new(),
            mags: Pair::new(),
            ctrl: Cell::new(ptr::null()),
        }
    }
}

/// Marks an entry busy while alive (a call that may run a hook is in progress for it), and
/// unmarks it when dropped, also while unwinding from a panicking hook.
struct Busy<'t> {
    count: &'t Cell<u32>,
}

impl<'t> Busy<'t> {
    fn new(count: &'t Cell<u32>) -> Self {
        count.set(count.get() + 1);
        Busy { count }
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.count.set(self.count.get() - 1);
    }
}

impl Table {
    /// An empty table.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Table {
        empty_table!([const { Entry::new() }; ENTRIES])
    }

    /// An empty table, for the loom models in `tests/loom.rs` (loom's atomics cannot be
    /// built in `const`).
    ///
    /// # Safety
    /// The table does not move from its first use until it is dropped (its entries'
    /// addresses are registered with depots), and is used on one thread only.
    #[cfg(loom)]
    pub unsafe fn new() -> Table {
        empty_table!(core::array::from_fn(|_| Entry::new()))
    }

    /// The entry of the cache whose control block is at `key`, if this thread has one.
    #[inline(always)]
    fn find(&self, key: usize) -> Option<usize> {
        (0..ENTRIES).find(|&i| self.keys[i].get() == key)
    }

    /// A slot of the cache whose control block is at address `ctrl` (0: not made yet)
    /// from this thread's loaded magazine of it, if it holds one, still counted in the
    /// entry until the caller settles it ([`Popped`]). No call and no atomic operation:
    /// the caller can build a value straight into the slot.
    #[inline(always)]
    pub(crate) fn pop<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        ctrl: usize,
    ) -> Option<Popped<'static>> {
        let i = self.find(ctrl)?;
        let e = &self.entries[i];
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let name = core::any::type_name::<T>();
        // SAFETY: entry `i` is registered with the cache of `ctrl` (its key, I23): its
        // magazines hold free slots of that cache, of geometry `class` (the cache is a
        // `SlabCache<T, L, SIZE, S>`: a control block serves one cache type), counted in its
        // `held`. The table is a thread-local of this thread (or the loom model's, used on
        // one thread), so `held` lives as long as any caller on this thread, which settles
        // the `Popped` before the thread ends (`Popped` is not `Send`).
        let popped = unsafe { e.mags.pop(&e.node.held, &class, name) }?;
        // SAFETY: a free slot of this cache, ours now (I2).
        unsafe { hardening::on_handout(popped.slot(), &class, name) };
        Some(popped)
    }

    /// [`pop`](Self::pop) when the loaded magazine is empty or this thread has no entry
    /// for the cache: registers one, refills it, or takes the locked path.
    #[cold]
    #[inline(never)]
    pub(crate) fn pop_slow<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        cache: &SlabCache<T, L, SIZE, S>,
    ) -> Result<Popped<'static>, SlabError> {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        loop {
            let ctrl = cache.control()?;
            if let Some(p) = self.pop::<T, L, SIZE, S>(ctrl.addr().get()) {
                // Filled while `control` allocated the master: its hook allocated this
                // type on this thread.
                return Ok(p);
            }
            // SAFETY: `ctrl` is kept alive by `cache`, a handle of it (I4), and is the
            // control block of a `SlabCache<T, L, SIZE, S>`.
            let Some(i) = (unsafe { self.entry_for::<T, L, SIZE, S>(ctrl) }) else {
                // The thread is ending, or every entry is busy: the locked path.
                // SAFETY: `ctrl` is initialised and kept alive by `cache` (I4).
                let slot = unsafe { depot_alloc(ctrl, &class) }?;
                // SAFETY: a free slot of this cache, ours now (I2).
                unsafe { hardening::on_handout(slot, &class, core::any::type_name::<T>()) };
                return Ok(Popped::uncounted(slot));
            };
            let e = &self.entries[i];
            let _busy = Busy::new(&self.busy[i]);
            // SAFETY: `ctrl` is alive (a handle, I4) and entry `i` is registered with it,
            // so `held` is a registered count there (I14, I23); a busy entry is not
            // released by a hook that re-enters the table (I23).
            unsafe {
                e.mags
                    .refill::<L, S>(ctrl, &class, rounds_for(class.stride), &e.node.held)
            }?;
        }
    }

    /// Gives a free slot of the cache of `master` to this thread's entry for it, if it has
    /// one with room; false (and the slot is still the caller's) otherwise.
    ///
    /// # Safety
    /// `slot` is a free slot of the `SlabCache<T, L, SIZE, S>` whose control block is `master`,
    /// holding no value, given up by the caller (I2) if this returns true.
    #[inline(always)]
    pub(crate) unsafe fn push<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        slot: NonNull<u8>,
        master: NonNull<Control<L, S>>,
    ) -> bool {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let Some(i) = self.find(master.addr().get()) else {
            return false;
        };
        let e = &self.entries[i];
        if !e.mags.has_room(rounds_for(class.stride), &e.node.held) {
            return false;
        }
        // SAFETY: the slot is a free slot of the cache entry `i` is registered with (its
        // key is `master`, I23), holding no value, given up by the caller (contract, I2);
        // there is room, and `held` is the entry's registered count (I14).
        unsafe { e.mags.push(slot, &class, &e.node.held) };
        true
    }

    /// Gives a free slot of the cache of `master` back: to this thread's entry for it,
    /// else as [`push_slow`](Self::push_slow) does.
    ///
    /// # Safety
    /// `slot` is a free slot of the `SlabCache<T, L, SIZE, S>` whose control block is `master`,
    /// holding no value, given up by the caller (I2).
    #[inline(always)]
    pub(crate) unsafe fn give<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        slot: NonNull<u8>,
        master: NonNull<Control<L, S>>,
    ) {
        // SAFETY: this function's contract is `push`'s.
        if !unsafe { self.push::<T, L, SIZE, S>(slot, master) } {
            // SAFETY: `push` declined, so the slot is still the caller's: `push_slow`'s
            // contract, as ours.
            unsafe { self.push_slow::<T, L, SIZE, S>(slot, master) };
        }
    }

    /// [`push`](Self::push) past a full loaded magazine, or without an entry: makes room,
    /// registers an entry (only while the cache has a handle), or gives the slot back
    /// through the lock.
    ///
    /// # Safety
    /// `slot` is a free slot of the `SlabCache<T, L, SIZE, S>` whose control block is `master`,
    /// holding no value, given up by the caller (I2).
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn push_slow<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        slot: NonNull<u8>,
        master: NonNull<Control<L, S>>,
    ) {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        for _ in 0..2 {
            // SAFETY: the slot keeps `master` alive (I4); it is the control block of a
            // `SlabCache<T, L, SIZE, S>` (contract).
            let Some(i) = (unsafe { self.entry_for::<T, L, SIZE, S>(master) }) else {
                break;
            };
            let e = &self.entries[i];
            if !e.mags.has_room(rounds_for(class.stride), &e.node.held) {
                let _busy = Busy::new(&self.busy[i]);
                // SAFETY: `master` is alive (the slot, I4) and entry `i` is registered with
                // it; its magazines hold free slots of that cache (I14, I23).
                unsafe { e.mags.make_room::<L, S>(master, &class, &e.node.held) };
            }
            // SAFETY: as this function's contract; a hook that ran while making room may
            // have filled the magazine again, so `push` checks.
            if unsafe { self.push::<T, L, SIZE, S>(slot, master) } {
                return;
            }
        }
        // SAFETY: a slot of the live cache of `master` (it keeps it alive, I4), holding no
        // value, given up by the caller (I2).
        unsafe { depot_free::<L, S>(slot, &class, core::any::type_name::<T>()) };
    }

    /// `n > 0` free slots of `cache` for a bulk allocation: lent by this thread's loaded
    /// magazine of it when it holds that many (no lock; settle them with
    /// [`settle_bulk`](Self::settle_bulk)), or after readying it with one trip to the
    /// depot, else taken from its depot in one critical section, growing the cache first if
    /// needed. All or nothing; the slots are still free, linked, and not yet handed out.
    pub(crate) fn take_bulk<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        cache: &SlabCache<T, L, SIZE, S>,
        n: u32,
    ) -> Result<Batch, SlabError> {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let rounds = rounds_for(class.stride);
        if let Some(i) = self.find(crate::sync::relaxed_addr(&cache.ctrl)) {
            let e = &self.entries[i];
            // SAFETY: entry `i` is registered with this cache (its key, I23): its magazines
            // hold free slots of it, counted in its `held`; only this thread touches them.
            if let Some(chain) = e.mags.lend_loaded(n, &e.node.held) {
                return Ok(Batch::Lent(chain));
            }
        }
        if n <= rounds {
            let ctrl = cache.control()?;
            // SAFETY: `ctrl` is kept alive by `cache`, a handle of it (I4).
            if let Some(i) = unsafe { self.entry_for::<T, L, SIZE, S>(ctrl) } {
                let e = &self.entries[i];
                let _busy = Busy::new(&self.busy[i]);
                // SAFETY: `ctrl` is alive and entry `i` registered with it (I4, I14, I23).
                if unsafe { e.mags.ready::<L, S>(n, ctrl, &class, rounds, &e.node.held) }? {
                    // SAFETY: entry `i` is registered with this cache (I23): its magazines
                    // hold free slots of it, counted in its `held` (I14); only this thread
                    // touches them.
                    if let Some(chain) = e.mags.lend_loaded(n, &e.node.held) {
                        return Ok(Batch::Lent(chain));
                    }
                }
            }
        }
        cache.take_bulk_depot(n).map(Batch::Own)
    }

    /// Takes the `n` slots lent by [`take_bulk`](Self::take_bulk) for `cache` out of this
    /// thread's loaded magazine of it: `rest` is the link of the last of them.
    ///
    /// # Safety
    /// `take_bulk` just lent them (`Batch::Lent`), nothing used this table since, and `rest`
    /// is the link the `n`-th slot held.
    #[inline(always)]
    pub(crate) unsafe fn settle_bulk<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        cache: &SlabCache<T, L, SIZE, S>,
        rest: *mut u8,
        n: u32,
    ) {
        // The entry that lent them is still there: nothing ran since.
        if let Some(i) = self.find(crate::sync::relaxed_addr(&cache.ctrl)) {
            let e = &self.entries[i];
            // SAFETY: this function's contract is `settle_lent`'s, for the entry's count.
            unsafe { e.mags.settle_lent(rest, n, &e.node.held) };
        }
    }

    /// Gives a bulk free's chain (free slots of the `SlabCache<T, L, SIZE, S>` of `master`,
    /// `tail` its last, counted by no holder) to this thread's entry for that cache when it
    /// has room for all of it, else to the cache's depot in one critical section.
    ///
    /// # Safety
    /// The chain holds free slots of that cache, holding no value, given up by the caller
    /// (I2); `tail` is its last slot.
    pub(crate) unsafe fn give_bulk<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        master: NonNull<Control<L, S>>,
        chain: Chain,
        tail: NonNull<u8>,
    ) {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let rounds = rounds_for(class.stride);
        let mut chain = chain;
        if let Some(i) = self.find(master.addr().get()) {
            let e = &self.entries[i];
            // SAFETY: entry `i` is registered with the cache of `master` (its key, I23);
            // the chain's slots are free slots of it, given up by the caller (contract).
            match unsafe {
                e.mags
                    .give_loaded(chain, tail, rounds, &e.node.held, &class)
            } {
                Ok(()) => return,
                Err(back) => chain = back,
            }
        }
        // SAFETY: the chain's slots keep `master` alive (I4); it is the control block of a
        // `SlabCache<T, L, SIZE, S>` (contract).
        let entry = (chain.count <= rounds)
            .then(|| unsafe { self.entry_for::<T, L, SIZE, S>(master) })
            .flatten();
        if let Some(i) = entry {
            let e = &self.entries[i];
            let _busy = Busy::new(&self.busy[i]);
            // SAFETY: `master` is alive and entry `i` registered with it; its magazines
            // hold free slots of that cache (I4, I14, I23).
            if unsafe {
                e.mags
                    .room_for::<L, S>(chain.count, master, &class, rounds, &e.node.held)
            } {
                // SAFETY: as the fast path above.
                match unsafe {
                    e.mags
                        .give_loaded(chain, tail, rounds, &e.node.held, &class)
                } {
                    Ok(()) => return,
                    Err(back) => chain = back,
                }
            }
        }
        // SAFETY: the chain's slots keep `master` alive (I4); they are its free slots,
        // given up by the caller (contract, I2).
        unsafe { depot_give_chain(master, &class, chain) };
    }

    /// This thread's entry for the cache of `ctrl`, registering one (and evicting another
    /// if the table is full); `None` if the thread is ending, every entry is busy, or the
    /// cache has no handle left (a cache whose handles are gone gains no entry).
    ///
    /// # Safety
    /// `ctrl` is the initialised control block of a `SlabCache<T, L, SIZE, S>`, kept alive by
    /// the caller (a handle or an outstanding slot, I4).
    unsafe fn entry_for<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        ctrl: NonNull<Control<L, S>>,
    ) -> Option<usize> {
        // Evicting runs hooks, which may take the free entry again: a few tries.
        for _ in 0..3 {
            if let Some(i) = self.find(ctrl.addr().get()) {
                return Some(i);
            }
            if !self.join() {
                return None;
            }
            let Some(i) = self.find(FREE) else {
                let v = self.pick_victim()?;
                // SAFETY: `v` is an entry in use and not busy (`pick_victim`), and no
                // frame of this thread is inside a call for it.
                unsafe { self.release(v) };
                continue;
            };
            let e = &self.entries[i];
            // SAFETY: alive by contract (I4).
            let mut g = unsafe { DepotGuard::lock(ctrl) };
            let d = g.depot();
            if !d.has_handles() {
                return None;
            }
            // SAFETY: the lock is held; the entry is free, so its node is on no registry
            // (I23), and it stays at its address until it unregisters: the table lives in a
            // thread-local (or the loom model's stack) and never moves (I14).
            unsafe { d.register(&e.node) };
            e.ctrl.set(ctrl.as_ptr().cast_const().cast());
            self.release[i].set(Some(release_of::<T, L, SIZE, S>));
            self.keys[i].set(ctrl.addr().get());
            return Some(i);
        }
        None
    }

    /// An entry in use and not busy to evict, round robin; `None` if every entry is busy.
    fn pick_victim(&self) -> Option<usize> {
        let start = self.victim.get();
        (0..ENTRIES)
            .map(|k| (start + k) % ENTRIES)
            .find(|&i| self.busy[i].get() == 0 && self.keys[i].get() != FREE)
            .inspect(|&i| self.victim.set((i + 1) % ENTRIES))
    }

    /// Releases entry `i`: its magazines go back to its cache and it unregisters, under
    /// that cache's lock; the cache is destroyed if that was all that kept it (I4).
    ///
    /// # Safety
    /// Entry `i` is in use, and no frame of this thread is inside a call for it (it is not
    /// busy), except the thread's exit, which no frame can be inside of.
    unsafe fn release(&self, i: usize) {
        if let Some(f) = self.release[i].get() {
            // SAFETY: `f` was stored with the entry's registration, for its cache's type
            // (I23); the entry is in use and free to release (contract).
            unsafe { f(self, i) };
        }
    }

    /// Gives entry `i`'s magazines back to `d`, unregisters it and frees the entry, in the
    /// caller's critical section (so before any hook can run).
    ///
    /// # Safety
    /// `d` is locked (reached through its guard, I9) and is the depot entry `i` is
    /// registered with; `class` is its geometry; the entry is not busy.
    unsafe fn detach(&self, i: usize, d: &mut Depot, class: &Class, retired: &mut Retired) {
        let e = &self.entries[i];
        // SAFETY: the lock of `d` is held and `class` is its geometry (contract); the
        // magazines hold free slots of that cache, counted in `held`, the entry's registered
        // count there (I14, I23).
        unsafe { e.mags.give_back(d, class, &e.node.held, retired) };
        // SAFETY: the lock is held, and the entry's node is registered with `d` (contract).
        unsafe { d.unregister(&e.node) };
        self.keys[i].set(FREE);
        self.release[i].set(None);
        e.ctrl.set(ptr::null());
    }

    /// When a thread drops a handle of the cache of `d`, under its lock: releases this
    /// thread's entry for it, if it has one that is not busy, so a thread that drops its
    /// handle when it is done holds nothing of the cache any more, and a cache made, used
    /// and dropped on one thread gives its memory back at once.
    ///
    /// # Safety
    /// `d` is locked (reached through its guard, I9), is the depot of the control block at
    /// `key`, and `class` is its geometry.
    pub(crate) unsafe fn detach_own(
        &self,
        key: usize,
        d: &mut Depot,
        class: &Class,
        retired: &mut Retired,
    ) {
        if let Some(i) = self.find(key)
            && self.busy[i].get() == 0
        {
            // SAFETY: the lock of `d` is held, entry `i` is registered with it (its key,
            // I23), `class` is its geometry, and the entry is not busy (checked).
            unsafe { self.detach(i, d, class, retired) };
        }
    }

    /// Joins this thread's exit (arms the exit guard) before the first registration; false
    /// if the thread is ending.
    fn join(&self) -> bool {
        if self.exited.get() {
            return false;
        }
        if !self.joined.get() {
            if !arm_exit() {
                self.exited.set(true);
                return false;
            }
            self.joined.set(true);
        }
        true
    }

    /// Releases every entry that is not busy (all of them, at the thread's exit).
    fn release_all(&self) {
        for i in 0..ENTRIES {
            if self.keys[i].get() != FREE && self.busy[i].get() == 0 {
                // SAFETY: entry `i` is in use and not busy.
                unsafe { self.release(i) };
            }
        }
    }

    /// The thread is ending: every entry is released, and every later call on this thread
    /// takes the lock. Idempotent.
    pub(crate) fn exit(&self) {
        self.exited.set(true);
        for i in 0..ENTRIES {
            if self.keys[i].get() != FREE {
                // SAFETY: entry `i` is in use; no frame of this thread is inside a call for
                // it, since no frame can be inside the thread's exit.
                unsafe { self.release(i) };
            }
        }
    }
}

/// Arms the calling thread's exit guard, which releases the table's entries when the
/// thread ends; false if the thread is ending already. (The loom models release their
/// tables themselves, by dropping them.)
fn arm_exit() -> bool {
    #[cfg(all(feature = "std", not(loom)))]
    {
        EXIT.try_with(|_| ()).is_ok()
    }
    #[cfg(not(all(feature = "std", not(loom))))]
    {
        cfg!(loom)
    }
}

/// Releases entry `i` of `table`, which is registered with a `SlabCache<T, L, SIZE, S>` (the
/// [`ReleaseFn`] of such an entry).
///
/// # Safety
/// Entry `i` is in use, registered with a cache of this type, and not busy.
unsafe fn release_of<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
    table: &Table,
    i: usize,
) {
    let class = SlabCache::<T, L, SIZE, S>::CLASS;
    let raw = table.entries[i]
        .ctrl
        .get()
        .cast::<Control<L, S>>()
        .cast_mut();
    // SAFETY: an entry in use holds its cache's control block (I23).
    let ctrl = unsafe { NonNull::new_unchecked(raw) };
    let mut destroy = DestroyOnDrop::new(ctrl, &class);
    let detach = |d: &mut Depot, retired: &mut Retired| {
        // SAFETY: the lock is held (`d` comes from the guard, I9); the entry is registered
        // with `d`, of geometry `class`, and not busy (contract).
        unsafe { table.detach(i, d, &class, retired) };
        if d.is_unused() {
            // SAFETY: under the lock, no handle, no slot and no registered holder is left;
            // `destroy` is dropped after `with_retiring` has released the lock (I4).
            unsafe { destroy.arm() };
        }
    };
    // SAFETY: the registered entry keeps the control block alive (I4, I23); `class` is
    // its geometry.
    unsafe { with_retiring(ctrl, &class, detach) };
}

impl Drop for Table {
    /// Every entry is released (the loom models' tables; a thread-local table is never
    /// dropped, its exit guard releases it).
    fn drop(&mut self) {
        self.exit();
    }
}

#[cfg(all(feature = "std", not(loom)))]
std::thread_local! {
    /// This thread's table: no drop glue, so reaching it costs no "destroyed yet?" check;
    /// [`EXIT`] releases its entries when the thread ends.
    static TABLE: core::mem::ManuallyDrop<Table> = const {
        core::mem::ManuallyDrop::new(Table::new())
    };
    /// Armed before the first entry registers; its destructor releases every entry.
    static EXIT: ExitGuard = const { ExitGuard };
}

/// The destructor of [`TABLE`], as a thread-local of its own.
#[cfg(all(feature = "std", not(loom)))]
struct ExitGuard;

#[cfg(all(feature = "std", not(loom)))]
impl Drop for ExitGuard {
    fn drop(&mut self) {
        TABLE.with(|t| t.exit());
    }
}

/// Runs `f` on the calling thread's table.
#[cfg(all(feature = "std", not(loom)))]
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&Table) -> R) -> R {
    TABLE.with(|t| f(t))
}

/// Gives back every magazine the calling thread holds of runtime caches, the ones that
/// [`SlabCache::alloc`](crate::SlabCache::alloc) and the drops of their boxes use in `std`
/// builds, and lets go of those caches, so that `stats()` sees their slots in the slabs
/// and a cache whose handles are all gone can give its memory back now rather than when
/// this thread exits. No-op without `std`. The next `&self` allocation of a cache on this
/// thread takes a magazine again.
///
/// Those magazines are per thread and per cache: up to
/// 8 caches on one thread at a time (beyond that, the least recently registered goes
/// back), each holding up to two magazines (about 32 KiB of objects each). They go back
/// on their own when the thread exits, and when it drops a handle of the cache; a
/// long-lived thread (a pool's worker) that used a cache another thread dropped keeps
/// that cache's master slab, and the slabs of the slots it holds, until it calls this.
///
/// ```
/// use slab_core::{SlabCache, flush_thread_caches};
/// slab_core::slab_hooks!(global);
///
/// let cache: SlabCache<[u64; 8]> = SlabCache::new();
/// let b = cache.alloc([1; 8]); // the first magazine comes from a slab
/// drop(b); // back into this thread's magazine
/// assert_eq!(cache.stats().in_use, 0); // slots in magazines count as free
/// flush_thread_caches();
/// cache.shrink();
/// assert_eq!(cache.stats().slabs, 1); // only the master is left
/// ```
pub fn flush_thread_caches() {
    #[cfg(all(feature = "std", not(loom)))]
    TABLE.with(|t| t.release_all());
}

/// Every `&self` allocation and box drop of runtime caches on the calling thread takes the
/// lock from now on, for the unit tests of the depot's own mechanics (which the
/// magazines would hide). Each test runs on a thread of its own.
#[cfg(all(test, feature = "std", not(loom)))]
pub(crate) fn locked_path_only() {
    TABLE.with(|t| t.exit());
}

/// The loom models' entry points (`tests/loom.rs`), which drive a table by hand because
/// loom cannot model `std` thread-locals.
#[cfg(loom)]
impl Table {
    /// Takes a slot of `cache` through this table, as `cache.alloc(..)` would.
    ///
    /// # Safety
    /// As [`Table::new`]: the table is used on one thread and does not move.
    pub unsafe fn model_alloc<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        cache: &SlabCache<T, L, SIZE, S>,
    ) -> Result<NonNull<u8>, SlabError> {
        let p = match self.pop::<T, L, SIZE, S>(crate::sync::relaxed_addr(&cache.ctrl)) {
            Some(p) => p,
            None => self.pop_slow(cache)?,
        };
        Ok(p.settle())
    }

    /// Gives a slot back through this table, as dropping its box would.
    ///
    /// # Safety
    /// As [`Table::new`]; `slot` was handed out by a `SlabCache<T, L, SIZE, S>`, holds no
    /// value and is not used again.
    pub unsafe fn model_free<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
        &self,
        slot: NonNull<u8>,
    ) {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let h = crate::slab::header_of(slot, &class);
        // SAFETY: the slot is outstanding, so its header is live (I1, I4); `master` is
        // read through the raw pointer (I12).
        let master = unsafe { (*h.as_ptr()).master }.cast::<Control<L, S>>();
        // SAFETY: a free slot of the cache of `master`, given up (contract).
        unsafe { self.give::<T, L, SIZE, S>(slot, master) };
    }
}
