//! Magazines (Bonwick & Adams 2001): a holder's loaded + previous pair of chains of free
//! slots, exchanged with the depot under the lock a whole magazine at a time, so most
//! alloc/free pairs take no lock and no atomic read-modify-write.
//!
//! A magazine is a [`Chain`]: free slots linked through their first word, like a slab's
//! free list, so a pop is one load and one store (the floor of any pool), plus one plain
//! update of the owner's slot count (the loaded magazine's count is derived from it and
//! the previous magazine's, see [`Pair`]). A holder at a magazine boundary swaps its two
//! magazines instead of going to the depot (the two-magazine trick). Only when both are
//! empty (alloc) or both full (free) does it lock the depot, which parks up to
//! `DEPOT_MAGS` full magazines and exchanges a whole one in O(1); beyond that, slots go
//! back to their slabs.
//!
//! Two kinds of holder carry a pair: a thread's cache of a `#[slab_cached]` type
//! (`thread_cache`) and a runtime handle (`handle`). Each has a count `held` that the depot
//! reads for `stats` (I8, I14); the pair is told which.
//!
//! This module talks to `control` (the lock, growth), `depot`, `chain`, `geometry`,
//! `hardening`, `lock`, `error` and `sync`.

use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use crate::chain::Chain;
use crate::control::{Control, DepotGuard, grow, take_or_grow, with_retiring};
use crate::depot::{Depot, Retired, add_owned};
use crate::error::SlabError;
use crate::geometry::Class;
use crate::hardening;
use crate::lock::LockTrait;
use crate::source::SlabSource;
use crate::sync::{AtomicU32, Ordering};

/// Rounds per magazine for a slot stride: about 32 KiB of objects, from 8 to 64 slots
/// (2 under `cfg(slab_small)`, to make every exchange path run often in tests).
pub(crate) const fn rounds_for(stride: usize) -> u32 {
    if cfg!(slab_small) {
        return 2;
    }
    let r = 32 * 1024 / stride;
    if r < 8 {
        8
    } else if r > 64 {
        64
    } else {
        r as u32
    }
}

/// A slot just popped from a holder's loaded magazine, still counted in the holder's
/// `held`: [`settle`](Self::settle) takes it off once the slot is used.
///
/// The order is the point: a caller that builds a value in the slot settles after writing
/// it, because an atomic store between building a value and writing it keeps the compiler
/// from building it in place (a reader of the count sees the pop a moment late, before the
/// allocation returns, which `stats` tolerates: I8). A token dropped unsettled (a
/// hardening check that panics on the popped slot) settles all the same, so the count
/// never names a slot that left the chain (the slot itself is lost to the panic).
#[must_use = "the slot stays counted in its holder's magazines until it is settled"]
#[allow(
    unreachable_pub,
    reason = "named by `typed`'s sealed trait (`pub` in a private module); nothing outside the crate can name it"
)]
pub struct Popped<'h> {
    slot: NonNull<u8>,
    /// The holder's count, or null for a slot that no holder counts (one from the depot).
    held: *const AtomicU32,
    _held: PhantomData<&'h AtomicU32>,
}

impl Popped<'_> {
    /// A slot from the depot, which no holder counts: settling it changes nothing.
    #[inline(always)]
    pub(crate) fn uncounted(slot: NonNull<u8>) -> Popped<'static> {
        Popped {
            slot,
            held: ptr::null(),
            _held: PhantomData,
        }
    }

    /// The slot.
    #[inline(always)]
    pub(crate) fn slot(&self) -> NonNull<u8> {
        self.slot
    }

    /// Takes the slot off its holder's count, and returns it.
    #[inline(always)]
    pub(crate) fn settle(self) -> NonNull<u8> {
        let me = core::mem::ManuallyDrop::new(self);
        me.uncount();
        me.slot
    }

    #[inline(always)]
    fn uncount(&self) {
        // SAFETY: `held` is null or the count of the holder whose magazine gave the slot,
        // alive for `'h` (`Pair::pop`'s contract, I14); atomics may be shared.
        if let Some(held) = unsafe { self.held.as_ref() } {
            add_owned(held, u32::MAX); // -1
        }
    }
}

impl Drop for Popped<'_> {
    /// Unsettled (a panic between the pop and the write): the slot leaves the count.
    #[inline]
    fn drop(&mut self) {
        self.uncount();
    }
}

/// The slots of a bulk allocation: lent by a holder's loaded magazine (the holder settles
/// them once they are used, `Pair::settle_lent`), or a chain of its own from the depot.
#[derive(Clone, Copy)]
#[allow(
    unreachable_pub,
    reason = "named by `typed`'s sealed trait (`pub` in a private module); nothing outside the crate can name it"
)]
pub enum Batch {
    /// The first `count` slots of the loaded magazine, from its head.
    Lent(Chain),
    /// A chain taken from the depot, exactly `count` slots, null-terminated.
    Own(Chain),
}

impl Batch {
    /// The batch's chain (its first `count` slots are the batch's).
    #[inline(always)]
    pub(crate) fn chain(self) -> Chain {
        match self {
            Batch::Lent(c) | Batch::Own(c) => c,
        }
    }
}

/// A loaded + previous pair of magazines (Bonwick & Adams 2001): what a thread cache and a
/// handle hold. Only its owner touches it.
///
/// The owner's count `held` (the one the depot reads for `stats`, passed to every method
/// that needs it) counts the slots in both magazines; the pair keeps only the previous
/// magazine's count, and the loaded one holds the rest. So a pop or a push updates one
/// counter. A chain is null-terminated, so the loaded magazine is empty exactly when its
/// head is null.
pub(crate) struct Pair {
    loaded: Cell<*mut u8>,
    previous: Cell<*mut u8>,
    previous_n: Cell<u32>,
    /// Pops served since the last exchange with the depot, which adds them to the cache's
    /// `magazine_hits` (a plain count beside the head, no atomic).
    hits: Cell<usize>,
}

impl Pair {
    /// Two empty magazines.
    pub(crate) const fn new() -> Pair {
        Pair {
            loaded: Cell::new(ptr::null_mut()),
            previous: Cell::new(ptr::null_mut()),
            previous_n: Cell::new(0),
            hits: Cell::new(0),
        }
    }

    /// The hits since the last call, for the depot's total (under its lock).
    fn take_hits(&self) -> usize {
        self.hits.replace(0)
    }

    /// Slots in the loaded magazine, for the owner's count `held`.
    #[inline(always)]
    fn loaded_n(&self, held: &AtomicU32) -> u32 {
        held.load(Ordering::Relaxed) - self.previous_n.get()
    }

    /// Takes the first slot of the loaded magazine, if it holds one, still counted in
    /// `held` until the caller [settles](Popped::settle) it.
    ///
    /// # Safety
    /// `held` is the owner's count whenever the loaded magazine holds a slot (a holder
    /// with slots has a count, I14), alive for `'h`.
    #[inline(always)]
    pub(crate) unsafe fn pop<'h>(
        &self,
        held: *const AtomicU32,
        class: &Class,
        name: &str,
    ) -> Option<Popped<'h>> {
        let slot = NonNull::new(self.loaded.get())?;
        // SAFETY: `slot` heads the loaded chain, which only the owner touches (I2): a
        // non-empty chain links `loaded_n` free slots of geometry `class` and ends in null,
        // and the first word of each is its link (I5).
        self.loaded
            .set(unsafe { hardening::read_link(slot, class, name) });
        self.hits.set(self.hits.get().wrapping_add(1));
        Some(Popped {
            slot,
            held,
            _held: PhantomData,
        })
    }

    /// Whether the loaded magazine has room for another slot.
    #[inline(always)]
    pub(crate) fn has_room(&self, rounds: u32, held: &AtomicU32) -> bool {
        self.loaded_n(held) < rounds
    }

    /// Chains a slot onto the loaded magazine and counts it in `held`.
    ///
    /// # Safety
    /// `slot` is a free slot of geometry `class` of the owner's cache, holding no value and
    /// given up by the caller (I2); the loaded magazine has room; `held` is the owner's
    /// count.
    #[inline(always)]
    pub(crate) unsafe fn push(&self, slot: NonNull<u8>, class: &Class, held: &AtomicU32) {
        // SAFETY: the slot is free, holds no value and is ours (contract, I2), so its first
        // word is the allocator's link word to write (I5).
        unsafe { hardening::write_link(slot, self.loaded.get(), class) };
        hardening::asan_poison(slot, class);
        self.loaded.set(slot.as_ptr());
        add_owned(held, 1);
    }

    /// Whether the loaded magazine has room for `n` more slots.
    #[inline(always)]
    pub(crate) fn has_room_for(&self, n: u32, rounds: u32, held: &AtomicU32) -> bool {
        self.loaded_n(held) + n <= rounds
    }

    /// Makes the loaded magazine hold at least `n` slots (`n <= rounds`) if it can with one
    /// trip to the depot at most: swaps in the previous magazine if that holds enough, or
    /// refills an empty loaded magazine; true if the loaded magazine then holds `n`.
    ///
    /// # Safety
    /// As [`refill`](Self::refill).
    pub(crate) unsafe fn ready<L: LockTrait, S: SlabSource + Copy>(
        &self,
        n: u32,
        ctrl: NonNull<Control<L, S>>,
        class: &Class,
        rounds: u32,
        held: &AtomicU32,
    ) -> Result<bool, SlabError> {
        if self.loaded_n(held) < n && self.previous_n.get() >= n {
            self.swap(held);
        }
        if self.loaded.get().is_null() {
            // SAFETY: this function's contract is `refill`'s.
            unsafe { self.refill::<L, S>(ctrl, class, rounds, held) }?;
        }
        Ok(self.loaded_n(held) >= n)
    }

    /// Makes room for `n` slots (`n <= rounds`) in the loaded magazine if it lacks it, as
    /// [`make_room`](Self::make_room) does (one trip to the depot at most); true if there
    /// is room then.
    ///
    /// # Safety
    /// As [`make_room`](Self::make_room).
    pub(crate) unsafe fn room_for<L: LockTrait, S: SlabSource + Copy>(
        &self,
        n: u32,
        ctrl: NonNull<Control<L, S>>,
        class: &Class,
        rounds: u32,
        held: &AtomicU32,
    ) -> bool {
        if !self.has_room_for(n, rounds, held) {
            // SAFETY: this function's contract is `make_room`'s.
            unsafe { self.make_room::<L, S>(ctrl, class, held) };
        }
        self.has_room_for(n, rounds, held)
    }

    /// Lends the loaded magazine's first `n` slots (`n > 0`) for a bulk allocation, if it
    /// holds that many: the returned chain starts at the loaded head and runs on into the
    /// rest of the magazine, which is left as it is (no walk: the batch's links are read
    /// once, by the caller, which then calls [`settle_lent`](Self::settle_lent) with the
    /// link of the `n`-th slot). The slots stay counted in `held` until then, as a popped
    /// slot does until it is settled (I8). Nothing may use these magazines in between.
    #[inline(always)]
    pub(crate) fn lend_loaded(&self, n: u32, held: &AtomicU32) -> Option<Chain> {
        if n == 0 || self.loaded_n(held) < n {
            return None;
        }
        Some(Chain {
            head: self.loaded.get(),
            count: n,
        })
    }

    /// Takes the `n` slots lent by [`lend_loaded`](Self::lend_loaded) out of the loaded
    /// magazine and off the owner's count: `rest` is the link of the last of them.
    ///
    /// # Safety
    /// A `lend_loaded(n, held)` just returned a chain, nothing used these magazines since,
    /// and `rest` is the link the `n`-th slot of that chain held.
    #[inline(always)]
    pub(crate) unsafe fn settle_lent(&self, rest: *mut u8, n: u32, held: &AtomicU32) {
        self.loaded.set(rest);
        add_owned(held, n.wrapping_neg());
    }

    /// Splices `chain` (free slots of the owner's cache, `tail` its last) onto the loaded
    /// magazine and counts it in `held`, if the magazine has room for all of it (a bulk
    /// free's fast path); hands the chain back otherwise.
    ///
    /// # Safety
    /// As [`push`](Self::push), for every slot of the chain (a null-terminated chain the
    /// caller built with [`hardening::write_link`]); `tail` is its last slot.
    pub(crate) unsafe fn give_loaded(
        &self,
        chain: Chain,
        tail: NonNull<u8>,
        rounds: u32,
        held: &AtomicU32,
        class: &Class,
    ) -> Result<(), Chain> {
        if chain.count == 0 || self.loaded_n(held) + chain.count > rounds {
            return Err(chain);
        }
        // SAFETY: `tail` is the chain's last slot, free and given up by the caller (I2), so
        // its first word is the allocator's link word (I5).
        unsafe { hardening::write_link(tail, self.loaded.get(), class) };
        self.loaded.set(chain.head);
        add_owned(held, chain.count);
        Ok(())
    }

    fn swap(&self, held: &AtomicU32) {
        let loaded_n = self.loaded_n(held);
        self.loaded.swap(&self.previous);
        self.previous_n.set(loaded_n);
    }

    /// Refills an empty loaded magazine: swaps in the previous one if it holds slots, else
    /// takes a full one from the depot of `ctrl` (entering the owner's count `held`).
    ///
    /// # Safety
    /// `ctrl` is a live control block of geometry `class` (I4); `held` is the owner's
    /// count there (a registered thread node's, or a claimed handle counter, I14).
    pub(crate) unsafe fn refill<L: LockTrait, S: SlabSource + Copy>(
        &self,
        ctrl: NonNull<Control<L, S>>,
        class: &Class,
        rounds: u32,
        held: &AtomicU32,
    ) -> Result<(), SlabError> {
        if !self.loaded.get().is_null() {
            // Refilled since the caller found it empty, by an allocation hook that
            // re-entered this pair (while a thread registered and allocated the master).
            return Ok(());
        }
        debug_assert_eq!(
            self.loaded_n(held),
            0,
            "an empty loaded magazine counts no slot"
        );
        if self.previous_n.get() > 0 {
            self.swap(held);
            return Ok(());
        }
        // SAFETY: `ctrl` is a live control block of geometry `class` (I4), and `held` this
        // holder's registered count there (`refill`'s contract, I14): what `take_full`
        // needs.
        let chain = unsafe { take_full::<L, S>(ctrl, class, rounds, held, self.take_hits()) }?;
        // `take_full` may call the allocation hook, and a hook that allocates or frees
        // this type on this thread re-enters this pair: what it left in either magazine
        // stays there, and the new chain goes into an empty magazine, or back to the depot.
        // (`held` counts the chain already.)
        if self.loaded.get().is_null() {
            self.loaded.set(chain.head);
        } else if self.previous_n.get() == 0 {
            self.previous.set(chain.head);
            self.previous_n.set(chain.count);
        } else {
            // SAFETY: `ctrl` is live and `held` registered there (`refill`'s contract,
            // I14); the chain's slots are free slots of that cache, entered in `held` by
            // `take_full`, given to the depot now (I2, I8).
            unsafe { park_full::<L, S>(ctrl, class, chain, held, self.take_hits()) };
        }
        Ok(())
    }

    /// Makes room in a full loaded magazine: swaps with an empty previous one, else parks
    /// the previous one in the depot of `ctrl` (leaving the owner's count `held`) and
    /// starts an empty one.
    ///
    /// # Safety
    /// As [`refill`](Self::refill); the magazines hold free slots of that cache (I14).
    pub(crate) unsafe fn make_room<L: LockTrait, S: SlabSource + Copy>(
        &self,
        ctrl: NonNull<Control<L, S>>,
        class: &Class,
        held: &AtomicU32,
    ) {
        if self.previous_n.get() == 0 {
            self.swap(held);
            return;
        }
        let loaded_n = self.loaded_n(held);
        let full = Chain {
            head: self.previous.replace(self.loaded.replace(ptr::null_mut())),
            count: self.previous_n.replace(loaded_n),
        };
        // SAFETY: `ctrl` is live and `held` registered there (`make_room`'s contract,
        // I14); the chain's slots are this holder's free slots of that cache, given to the
        // depot now (I2, I8).
        unsafe { park_full::<L, S>(ctrl, class, full, held, self.take_hits()) };
    }

    /// Empties both magazines and returns their chains (the caller zeroes `held`, in the
    /// same critical section that gives them to the depot: `Depot::give_back`).
    fn take_all(&self, held: &AtomicU32) -> [Chain; 2] {
        [
            Chain {
                head: self.loaded.replace(ptr::null_mut()),
                count: self.loaded_n(held),
            },
            Chain {
                head: self.previous.replace(ptr::null_mut()),
                count: self.previous_n.replace(0),
            },
        ]
    }

    /// Gives both magazines back to the depot `d` (parked, or returned to their slabs) and
    /// zeroes `held`, in the caller's critical section.
    ///
    /// # Safety
    /// `d` is locked (reached through its guard, I9) and is the depot of the cache whose
    /// free slots the magazines hold; `class` is its geometry; `held` is the owner's
    /// registered count there (I14).
    pub(crate) unsafe fn give_back(
        &self,
        d: &mut Depot,
        class: &Class,
        held: &AtomicU32,
        retired: &mut Retired,
    ) {
        let chains = self.take_all(held);
        d.add_hits(self.take_hits());
        // SAFETY: the lock of `d` is held and `class` is its geometry (contract); the
        // chains are this holder's free slots of that depot (I2, I14), and `held` is its
        // registered count, which counts exactly them (I8).
        unsafe { d.give_back(chains, held, class, retired) };
    }
}

/// Gives a full magazine to the depot: it leaves the holder's count `held` and enters the
/// depot in one critical section (I8).
///
/// # Safety
/// `ctrl` is a live control block (I4); `chain` holds free slots of its cache, counted in
/// `held`, the holder's registered count there (I14).
unsafe fn park_full<L: LockTrait, S: SlabSource + Copy>(
    ctrl: NonNull<Control<L, S>>,
    class: &Class,
    chain: Chain,
    held: &AtomicU32,
    hits: usize,
) {
    let give = |d: &mut Depot, retired: &mut Retired| {
        d.add_hits(hits);
        // SAFETY: the lock is held (`d` comes from the guard, I9); the chain holds free
        // slots of this depot, given up by the caller and counted in `held`, its
        // registered count (contract, I2, I14).
        unsafe { d.give_magazine(chain, held, class, retired) }
    };
    // SAFETY: `ctrl` is live (contract, I4), of geometry `class`.
    unsafe { with_retiring(ctrl, class, give) };
}

/// Takes exactly `n` free slots of the cache of `ctrl` as one chain, in one critical
/// section (the slabs' free slots, after the parked magazines if the slabs are short), or
/// grows the cache by the slabs it lacks first (all of them from the hook before any is
/// adopted, so a failing hook leaves nothing taken). The slots are counted as handed out
/// and belong to no holder; they are still free, linked: the caller hands each out
/// (`hardening::on_handout`) as it takes it off the chain.
///
/// # Safety
/// `ctrl` is a live control block of geometry `class` (I4).
pub(crate) unsafe fn depot_take_exact<L: LockTrait, S: SlabSource + Copy>(
    ctrl: NonNull<Control<L, S>>,
    class: &Class,
    n: u32,
) -> Result<Chain, SlabError> {
    // SAFETY: `d` is locked (reached through the guard, I9) and `class` is its geometry.
    let take = |d: &mut Depot| unsafe { d.take_exact(class, n) };
    // SAFETY: `ctrl` is live (contract, I4), of geometry `class`.
    let chain = match unsafe { with_lock(ctrl, take) } {
        Ok(chain) => chain,
        Err(missing) => {
            let mut missing = missing;
            loop {
                let slabs = missing.div_ceil(class.slave_slots);
                // SAFETY: live (contract, I4); the closure runs under the lock.
                match unsafe { grow(ctrl, class, slabs, take) }? {
                    Ok(chain) => break chain,
                    // Other threads took the new slots first: grow again.
                    Err(still) => missing = still,
                }
            }
        }
    };
    Ok(chain)
}

/// Gives `chain` (free slots of the cache of `ctrl`, counted as handed out and by no
/// holder) to its depot in one critical section: parked, or returned to their slabs.
///
/// # Safety
/// `ctrl` is a live control block of geometry `class` (I4); the chain holds free slots of
/// its cache that the caller gives up (I2).
pub(crate) unsafe fn depot_give_chain<L: LockTrait, S: SlabSource + Copy>(
    ctrl: NonNull<Control<L, S>>,
    class: &Class,
    chain: Chain,
) {
    let give = |d: &mut Depot, retired: &mut Retired| {
        // SAFETY: the lock is held (`d` comes from the guard, I9); the chain holds free
        // slots of this depot, given up by the caller (contract, I2).
        unsafe { d.give_chain(chain, class, retired) }
    };
    // SAFETY: `ctrl` is live (contract, I4), of geometry `class`.
    unsafe { with_retiring(ctrl, class, give) };
}

/// Runs `f` on the depot of `ctrl` under its lock.
///
/// # Safety
/// `ctrl` is a live control block (I4).
unsafe fn with_lock<L: LockTrait, S: SlabSource + Copy, R>(
    ctrl: NonNull<Control<L, S>>,
    f: impl FnOnce(&mut Depot) -> R,
) -> R {
    // SAFETY: live by contract (I4).
    let mut g = unsafe { DepotGuard::lock(ctrl) };
    f(g.depot())
}

/// Takes a full magazine from the depot, or builds one of up to `rounds` slots from the
/// slabs (growing by one slab if none is free); it enters `held` in the same critical
/// section (I8).
///
/// # Safety
/// `ctrl` is a live control block of geometry `class` (I4); `held` is a registered count
/// there (I14).
unsafe fn take_full<L: LockTrait, S: SlabSource + Copy>(
    ctrl: NonNull<Control<L, S>>,
    class: &Class,
    rounds: u32,
    held: &AtomicU32,
    hits: usize,
) -> Result<Chain, SlabError> {
    let mut hits = Some(hits);
    let take = |d: &mut Depot| {
        if let Some(n) = hits.take() {
            d.add_hits(n);
        }
        // SAFETY: `d` is locked (reached through the guard, I9), `class` is its geometry and
        // `held` a count registered with it (contract, I14).
        unsafe { d.take_magazine(class, rounds, held) }
    };
    // SAFETY: `ctrl` is live (contract, I4), of geometry `class`.
    unsafe { take_or_grow(ctrl, class, take) }
}
