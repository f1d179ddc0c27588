//! The fast path: per-thread magazines of free slots (Bonwick & Adams 2001), exchanged
//! with the depot under the lock, so most alloc/free pairs take no lock and no atomic
//! read-modify-write.
//!
//! A magazine is a [`Chain`]: free slots linked through their first word, like a slab's
//! free list, so a pop is one load and one store (the floor of any pool), plus one plain
//! update of the owner's slot count (the loaded magazine's count is derived from it and
//! the previous magazine's, see [`Pair`]). Each thread keeps
//! two per `#[slab_cached]` type, *loaded* and *previous*: a thread at a magazine boundary
//! swaps them instead of going to the depot (the two-magazine trick). Only when both are
//! empty (alloc) or both full (free) does it lock the depot, which parks up to
//! [`DEPOT_MAGS`] full magazines and exchanges a whole one in O(1); beyond that, slots go
//! back to their slabs.
//!
//! Thread caches register with their cache's depot, so `stats()` counts the slots they
//! hold as free; the counts are atomics written only by the owning thread (plain loads and
//! stores) and read under the lock. A thread's magazines go back to the depot when it
//! exits. Thread caches serve only `static` caches (which live forever), so a thread cache
//! never outlives its depot.
//!
//! A [`SlabCache`] handle carries the same pair ([`HandleMags`]) for its `&mut self`
//! methods. Its count is one of [`HANDLE_COUNTERS`] counters in the master slab (a cache
//! line each where the master has room; handles move, so they cannot register their own
//! address), and the handle keeps the
//! master alive; dropping the handle gives its magazines back, and the last handle drains
//! the parked magazines so that the last box can release the cache.
//!
//! This module uses `cache` (the depot) and `slab` (headers).

use crate::sync::{AtomicU32, Ordering};
use core::cell::{Cell, UnsafeCell};
use core::marker::{PhantomData, PhantomPinned};
use core::ptr::{self, NonNull};

use crate::boxed::{SlabBox, SlotGuard};
use crate::cache::{
    Control, Depot, DepotGuard, Marker, SlabCache, adopt, alloc_failed, depot_alloc, depot_free,
    free_block, relist,
};
use crate::error::AllocError;
use crate::error::SlabError;
use crate::geometry::{Class, HANDLE_COUNTERS};
use crate::hardening;
use crate::hooks;
use crate::lock::LockTrait;
use crate::slab::SlabHeader;

/// Full magazines the depot parks before sending slots back to their slabs.
#[cfg(not(slab_small))]
pub(crate) const DEPOT_MAGS: usize = 8;
#[cfg(slab_small)]
pub(crate) const DEPOT_MAGS: usize = 2;

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

/// A chain of free slots linked through their first word (stored unaligned).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chain {
    pub(crate) head: *mut u8,
    pub(crate) count: u32,
}

impl Chain {
    pub(crate) const EMPTY: Chain = Chain {
        head: ptr::null_mut(),
        count: 0,
    };
}

/// Reads the link stored in a free slot (and, with hardening checks, checks it).
///
/// # Safety
/// `slot` is a free slot of geometry `class` on a chain owned by the caller.
#[inline(always)]
unsafe fn next_of(slot: NonNull<u8>, class: &Class, name: &str) -> *mut u8 {
    // SAFETY: `slot` is a free slot of geometry `class` on a chain the caller owns (this
    // function's contract), so its first word is its link (I5): `read_link`'s contract.
    unsafe { hardening::read_link(slot, class, name) }
}

/// Stores the link of a free slot.
///
/// # Safety
/// `slot` is a free slot of geometry `class` owned by the caller, holding no value.
#[inline(always)]
unsafe fn set_next(slot: NonNull<u8>, next: *mut u8, class: &Class) {
    // SAFETY: `slot` is free, holds no value and is the caller's (this function's
    // contract), so its first word is the allocator's to write (I5).
    unsafe { hardening::write_link(slot, next, class) }
}

/// Adds `delta` (wrapping) to a slot count that only its owner writes outside the lock:
/// a plain load and store, no atomic read-modify-write. Readers hold the lock, and every
/// write under the lock is the owner's too (moving a whole magazine).
#[inline(always)]
fn add_owned(count: &AtomicU32, delta: u32) {
    count.store(
        count.load(Ordering::Relaxed).wrapping_add(delta),
        Ordering::Relaxed,
    );
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
}

impl Pair {
    /// Two empty magazines.
    pub(crate) const fn new() -> Pair {
        Pair {
            loaded: Cell::new(ptr::null_mut()),
            previous: Cell::new(ptr::null_mut()),
            previous_n: Cell::new(0),
        }
    }

    /// Slots in the loaded magazine, for the owner's count `held`.
    #[inline(always)]
    fn loaded_n(&self, held: &AtomicU32) -> u32 {
        held.load(Ordering::Relaxed) - self.previous_n.get()
    }

    /// Takes the first slot of the loaded magazine, if it holds one. It leaves `held` one
    /// too high: the caller follows with [`settle_pop`](Self::settle_pop) (at once, or
    /// after building a value in the slot).
    #[inline(always)]
    fn pop(&self, class: &Class, name: &str) -> Option<NonNull<u8>> {
        let slot = NonNull::new(self.loaded.get())?;
        // SAFETY: `slot` heads the loaded chain, which only the owner touches (a non-empty
        // chain links `loaded_n` free slots and ends in null).
        self.loaded.set(unsafe { next_of(slot, class, name) });
        Some(slot)
    }

    /// Takes a popped slot off the owner's count `held`.
    #[inline(always)]
    fn settle_pop(held: &AtomicU32) {
        add_owned(held, u32::MAX); // -1
    }

    /// Whether the loaded magazine has room for another slot.
    #[inline(always)]
    fn has_room(&self, rounds: u32, held: &AtomicU32) -> bool {
        self.loaded_n(held) < rounds
    }

    /// Chains a slot onto the loaded magazine and counts it in `held`.
    ///
    /// # Safety
    /// `slot` is a free slot of geometry `class` of the owner's cache, holding no value and
    /// given up by the caller; the loaded magazine has room; `held` is the owner's count.
    #[inline(always)]
    unsafe fn push(&self, slot: NonNull<u8>, class: &Class, held: &AtomicU32) {
        // SAFETY: the free, empty slot is ours (contract).
        unsafe { set_next(slot, self.loaded.get(), class) };
        hardening::asan_poison(slot, class);
        self.loaded.set(slot.as_ptr());
        add_owned(held, 1);
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
    /// `ctrl` is a live control block of geometry `class`; `held` is the owner's count
    /// there (a registered thread node's, or a claimed handle counter).
    unsafe fn refill<L: LockTrait>(
        &self,
        ctrl: NonNull<Control<L>>,
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
        // SAFETY: `ctrl` is a live control block of geometry `class`, and `held` this
        // holder's registered count there (`refill`'s contract): what `take_full` needs.
        let chain = unsafe { take_full::<L>(ctrl, class, rounds, held) }?;
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
            // SAFETY: `ctrl` is live and `held` registered there (`refill`'s contract);
            // the chain's slots are free slots of that cache, entered in `held` by
            // `take_full`, given to the depot now (I2, I8).
            unsafe { park_full::<L>(ctrl, class, chain, held) };
        }
        Ok(())
    }

    /// Makes room in a full loaded magazine: swaps with an empty previous one, else parks
    /// the previous one in the depot of `ctrl` (leaving the owner's count `held`) and
    /// starts an empty one.
    ///
    /// # Safety
    /// As [`refill`](Self::refill); the magazines hold free slots of that cache.
    unsafe fn make_room<L: LockTrait>(
        &self,
        ctrl: NonNull<Control<L>>,
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
        // SAFETY: `ctrl` is live and `held` registered there (`make_room`'s contract);
        // the chain's slots are this holder's free slots of that cache, given to the
        // depot now (I2, I8).
        unsafe { park_full::<L>(ctrl, class, full, held) };
    }

    /// Empties both magazines and returns their chains (the caller zeroes `held`).
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
}

/// The part of a thread cache the depot sees: registry links (touched only under the
/// lock) and the slot counts (written by the owner, read by `stats` under the lock).
///
/// # Aliasing
/// Other threads write a registered node's links (unlinking a neighbour) and read its
/// counts while the owner does not hold the lock, so the owner must never hold a
/// *unique* reference to the memory of its node: every field is interior-mutable (so
/// `&ThreadCache` is fine), and the node is `!Unpin` through `PhantomPinned`, so the
/// `&mut ThreadCache` that the thread-local's destructor makes (`drop_in_place`, then
/// `Drop::drop`) is not unique either (rust-lang/rust#82834: `&mut` to a `!Unpin` type is
/// not `noalias`; the intrusive-list pattern of tokio's `linked_list::Pointers`). With
/// `core::pin::UnsafePinned` (RFC 3467) stable, that type should replace the marker.
/// `!Unpin` also states the other requirement: a registered node must not move, as the
/// registry holds its address (a thread-local never moves).
#[repr(C)]
pub(crate) struct MagNode {
    next: UnsafeCell<*const MagNode>,
    prev: UnsafeCell<*const MagNode>,
    /// Slots in both magazines of this thread. Written by the owner (plain load + store)
    /// for single pushes and pops, and under the lock when a whole magazine moves between
    /// the thread and the depot, so a reader holding the lock never counts a slot twice.
    held: AtomicU32,
    _pinned: PhantomPinned,
}

/// Slots held by every registered thread cache of this depot.
///
/// # Safety
/// The depot's lock is held.
pub(crate) unsafe fn thread_held(d: &Depot) -> usize {
    let mut n = 0;
    let mut cur = d.threads;
    while !cur.is_null() {
        // SAFETY: `cur` is a registered node (the registry is walked under the lock we
        // hold): it stays alive until it unregisters, which takes that lock. Every field of
        // `MagNode` is interior-mutable (atomics, `UnsafeCell`), so a shared reference
        // allows the owning thread's concurrent stores to `held`.
        let node = unsafe { &*cur };
        n += node.held.load(Ordering::Relaxed) as usize;
        // SAFETY: registry links are written only under the lock, which we hold, so this
        // read of `next` races with no write.
        cur = unsafe { *node.next.get() };
    }
    n
}

/// Moves every parked magazine back to its slabs (for `shrink`), pushing slabs that this
/// retires onto `retired` (linked through `next`), to be freed after unlocking.
///
/// # Safety
/// The lock is held; `class` is the depot's geometry.
pub(crate) unsafe fn drain_depot(d: &mut Depot, class: &Class, retired: &mut *mut SlabHeader) {
    while let Some(chain) = d.unpark() {
        // SAFETY: the lock is held and `class` is the depot's geometry (contract); a
        // parked chain holds free slots of this depot, now ours (I2).
        unsafe { chain_to_slabs(d, chain, class, retired) };
    }
}

/// Returns every slot of `chain` to its slab. Consecutive slots of one slab (a magazine
/// freed in allocation order) go back as a run: the slab is relisted and counted once.
///
/// # Safety
/// The lock is held; `chain` holds free slots handed out by this depot.
unsafe fn chain_to_slabs(
    d: &mut Depot,
    chain: Chain,
    class: &Class,
    retired: &mut *mut SlabHeader,
) {
    let mut run: Option<(NonNull<SlabHeader>, usize)> = None;
    let mut settle_run = |d: &mut Depot, run: Option<(NonNull<SlabHeader>, usize)>| {
        let Some((h, n)) = run else { return };
        // SAFETY: the lock is held; exactly `n` slots of `h`, a live slab of this depot,
        // were pushed back below since it was last relisted.
        if let Some(h) = unsafe { crate::cache::settle(d, h, n, class) } {
            // SAFETY: just retired, freed only after unlocking.
            unsafe { link_retired(retired, h) };
        }
    };
    let mut cur = chain.head;
    for _ in 0..chain.count {
        // SAFETY: a chain links `count` free slots, so each of the first `count` positions
        // (this one included) is a slot, which is non-null.
        let slot = unsafe { NonNull::new_unchecked(cur) };
        // SAFETY: `slot` is a free slot of this depot on `chain`, which the caller gives to
        // us; its link is read before `slab::push` reuses the word for the slab's list.
        cur = unsafe { next_of(slot, class, d.name) };
        let h = crate::slab::header_of(slot, class);
        if hardening::CHECKS {
            crate::slab::check_header(h, d.name);
        }
        match &mut run {
            Some((rh, n)) if *rh == h => *n += 1,
            _ => {
                settle_run(d, run.take());
                run = Some((h, 1));
            }
        }
        // SAFETY: `slot` was handed out by this depot, so `h` is the live header of its
        // slab (not retired: this slot was still out); it holds no value (it sat in a
        // magazine) and is not used again here; the lock is held.
        unsafe { crate::slab::push(h, slot, class) };
    }
    settle_run(d, run);
}

/// Puts a just-retired slab on the list `retired` (linked through `state.next`), to be
/// freed by [`free_retired`] after unlocking.
///
/// # Safety
/// `h` was just retired under the lock: still mapped, off every list, reachable only by
/// the caller.
pub(crate) unsafe fn link_retired(retired: &mut *mut SlabHeader, h: NonNull<SlabHeader>) {
    // SAFETY: off every list and reachable only from here (contract), so its `next` is
    // free to link the retired slabs.
    unsafe { (*h.as_ptr()).state.next = *retired };
    *retired = h.as_ptr();
}

/// Frees the slabs collected by [`link_retired`] and says how many.
///
/// A free hook that panics does not strand the rest: they still go back while the panic
/// unwinds (a second panic in the hook then aborts, as in `Vec`'s drop). The slab whose
/// hook call panicked counts as given back: the hook had it.
///
/// # Safety
/// Every slab on the list was retired and is unreachable; the lock is released.
pub(crate) unsafe fn free_retired(retired: *mut SlabHeader, class: &Class) -> usize {
    /// The rest of the list; its `Drop` frees whatever a panic left on it.
    struct Rest<'c> {
        head: *mut SlabHeader,
        class: &'c Class,
        count: usize,
    }
    impl Rest<'_> {
        fn free_all(&mut self) {
            while let Some(h) = NonNull::new(self.head) {
                // SAFETY: `h` was retired (`free_retired`'s contract): still mapped, off
                // every list and reachable only through this chain, which we own. The read
                // is a copy, taken before the slab goes back.
                self.head = unsafe { (*h.as_ptr()).state.next };
                self.count += 1;
                // SAFETY: `h` heads a retired slab from the hook with `class.layout()`;
                // it is off the chain now and nothing references it any more (I6).
                unsafe { free_block(h, self.class) };
            }
        }
    }
    impl Drop for Rest<'_> {
        fn drop(&mut self) {
            self.free_all(); // empty unless a free hook panicked
        }
    }
    let mut rest = Rest {
        head: retired,
        class,
        count: 0,
    };
    rest.free_all();
    rest.count
}

/// An entry of a thread's exit list: a `tls` [`ThreadCache`] to give back when the thread
/// ends. Only the owning thread touches it.
#[cfg_attr(
    any(loom, not(feature = "std")),
    allow(
        dead_code,
        reason = "loom and no_std builds have no thread-local exit list"
    )
)]
pub(crate) struct ExitLink {
    next: Cell<*const ExitLink>,
    /// The cache that holds this link (set when it joins the list, from a pointer to the
    /// whole cache, so its provenance covers every field).
    owner: Cell<*const ()>,
    /// Calls `exit` on `owner`.
    run: unsafe fn(*const ()),
}

/// The thread caches of one thread made with `new_tls`, given back when the thread ends.
#[cfg(all(feature = "std", not(loom)))]
struct ExitList {
    head: Cell<*const ExitLink>,
}

#[cfg(all(feature = "std", not(loom)))]
impl ExitList {
    fn push(&self, link: *const ExitLink) {
        // SAFETY: `link` is the `exit_link` of a `tls` cache of this thread, which lives in
        // a thread-local without drop glue, so it stays valid until this thread's
        // thread-local destructors (this list's among them) have run; only this thread
        // touches it.
        unsafe { (*link).next.set(self.head.get()) };
        self.head.set(link);
    }
}

#[cfg(all(feature = "std", not(loom)))]
impl Drop for ExitList {
    fn drop(&mut self) {
        let mut cur = self.head.replace(ptr::null());
        while !cur.is_null() {
            // SAFETY: every link on the list belongs to a live `tls` cache of this thread
            // (see `push`); its memory outlives this destructor.
            let link = unsafe { &*cur };
            cur = link.next.get();
            // SAFETY: `owner` is the live cache (above) that holds `link`, of the type whose
            // `exit_of` it holds.
            unsafe { (link.run)(link.owner.get()) };
        }
    }
}

#[cfg(all(feature = "std", not(loom)))]
std::thread_local! {
    /// This thread's exit list: its destructor gives every `tls` thread cache back.
    static EXIT_LIST: ExitList = const { ExitList { head: Cell::new(ptr::null()) } };
}

/// One thread's magazines for one `#[slab_cached]` type (`SlabCache<T, L, SIZE>`).
///
/// Lives in a `thread_local!` that `#[slab_cached]` generates; the owning thread alone
/// touches `mags`. Not public API: `pub` only because that `thread_local!` is expanded in
/// the user's crate, and the only thing it can do there is [`new_tls`](Self::new_tls),
/// which is `unsafe`; every other method is private to this crate.
#[doc(hidden)]
#[repr(C)]
pub struct ThreadCache<T, L: LockTrait, const SIZE: usize> {
    node: MagNode,
    mags: Pair,
    /// The control block this cache registered with, or null before first use.
    ctrl: Cell<*const Control<L>>,
    /// Set by [`exit`](Self::exit): the thread is ending, so every later call goes straight
    /// to the depot and the cache never registers again.
    exited: Cell<bool>,
    /// Made by [`new_tls`](Self::new_tls): lives in a thread-local without drop glue, and
    /// joins this thread's exit list (which calls `exit`) before it registers.
    tls: bool,
    /// Its link in this thread's exit list (for `tls` caches).
    exit_link: ExitLink,
    _marker: Marker<T, L>,
}

/// The value of an empty `ThreadCache` (one body for the `const` and the loom constructor).
macro_rules! empty_thread_cache {
    ($tls:expr) => {
        ThreadCache {
            node: MagNode {
                next: UnsafeCell::new(ptr::null()),
                prev: UnsafeCell::new(ptr::null()),
                held: AtomicU32::new(0),
                _pinned: PhantomPinned,
            },
            mags: Pair::new(),
            ctrl: Cell::new(ptr::null()),
            exited: Cell::new(false),
            tls: $tls,
            exit_link: ExitLink {
                next: Cell::new(ptr::null()),
                owner: Cell::new(ptr::null()),
                run: Self::exit_of,
            },
            _marker: PhantomData,
        }
    };
}

impl<T, L: LockTrait, const SIZE: usize> ThreadCache<T, L, SIZE> {
    const ROUNDS: u32 = rounds_for(SlabCache::<T, L, SIZE>::CLASS.stride);

    /// Empty magazines (under loom, whose atomics cannot be built in `const`), for the loom
    /// models in `tests/loom.rs`.
    ///
    /// # Safety
    /// The cache is used with one `static` (or leaked) `SlabCache` only, and does not move
    /// from its first use until it is dropped (its address is registered with the depot).
    #[cfg(loom)]
    pub unsafe fn new() -> Self {
        empty_thread_cache!(false)
    }

    /// Empty magazines for a `thread_local!` that wraps them in `ManuallyDrop` (what
    /// `#[slab_cached]` generates): a thread-local without drop glue is reached with no
    /// "destroyed yet?" check on every access, which is most of the cost of the fast path.
    /// Such a cache joins the thread's exit list before it first registers with a depot,
    /// and the list gives its magazines back when the thread ends; if the thread is
    /// already ending, it never registers and works on the depot path.
    ///
    /// # Safety
    /// The value is the initialiser of the one `thread_local!` that `__magazines()` of an
    /// `unsafe impl SlabCached` returns, inside `ManuallyDrop`: it is never moved out, used
    /// for that type's `static` cache alone, and dropped never (I10).
    #[cfg(all(feature = "std", not(loom)))]
    pub const unsafe fn new_tls() -> Self {
        empty_thread_cache!(true)
    }

    /// [`pop`](Self::pop), for the loom models (`tests/loom.rs`), which drive a thread
    /// cache by hand because loom cannot model `std` thread-locals.
    ///
    /// # Safety
    /// As [`pop`](Self::pop).
    #[cfg(loom)]
    pub unsafe fn model_pop(
        &self,
        cache: &SlabCache<T, L, SIZE>,
    ) -> Result<NonNull<u8>, SlabError> {
        // SAFETY: this function's contract is `pop`'s.
        unsafe { self.pop(cache) }
    }

    /// [`push`](Self::push), for the loom models.
    ///
    /// # Safety
    /// As [`push`](Self::push).
    #[cfg(loom)]
    pub unsafe fn model_push(&self, slot: NonNull<u8>) {
        // SAFETY: this function's contract is `push`'s.
        unsafe { self.push(slot) }
    }

    /// Calls [`exit`](Self::exit) on `me` (the exit list's entry point, monomorphised
    /// per cache type).
    ///
    /// # Safety
    /// `me` points to a live `ThreadCache<T, L, SIZE>`.
    unsafe fn exit_of(me: *const ()) {
        // SAFETY: a live cache (contract); `exit` takes `&self`, and every field it writes
        // is interior-mutable.
        unsafe { (*me.cast::<Self>()).exit() };
    }

    /// Takes a free slot: from the loaded magazine, else the previous one, else the depot.
    ///
    /// # Safety
    /// `cache` is never dropped (a `static`, or leaked), and `self` does not move from the
    /// first call on (it registers its address with the cache) until it is dropped.
    #[inline]
    pub(crate) unsafe fn pop(
        &self,
        cache: &SlabCache<T, L, SIZE>,
    ) -> Result<NonNull<u8>, SlabError> {
        match self.pop_loaded() {
            Some(slot) => Ok(slot),
            // SAFETY: `cache` is never dropped and `self` does not move (this function's
            // contract, I10), which is `pop_slow`'s contract.
            None => unsafe { self.pop_slow(cache) },
        }
    }

    /// Takes a free slot from the loaded magazine, if it holds one (the whole fast path:
    /// no call, so a caller can build a large value straight into the slot).
    #[inline(always)]
    pub(crate) fn pop_loaded(&self) -> Option<NonNull<u8>> {
        let class = SlabCache::<T, L, SIZE>::CLASS;
        let slot = self.mags.pop(&class, core::any::type_name::<T>())?;
        Pair::settle_pop(&self.node.held);
        Some(slot)
    }

    #[cold]
    #[inline(never)]
    /// # Safety
    /// As [`pop`](Self::pop).
    unsafe fn pop_slow(&self, cache: &SlabCache<T, L, SIZE>) -> Result<NonNull<u8>, SlabError> {
        let class = SlabCache::<T, L, SIZE>::CLASS;
        let Some(ctrl) = self.register(cache)? else {
            // The thread is ending: no magazines any more, take a slot from the depot.
            let ctrl = cache.control()?;
            // SAFETY: the `static` cache's control block lives forever.
            return unsafe { depot_alloc(ctrl, &class) };
        };
        // SAFETY: `ctrl` is the live control block of a `static` cache; `self.node` is our
        // registered node there.
        unsafe {
            self.mags
                .refill::<L>(ctrl, &class, Self::ROUNDS, &self.node.held)
        }?;
        // SAFETY: `cache` is never dropped and `self` does not move (this function's
        // contract, I10), which is `pop`'s contract.
        unsafe { self.pop(cache) }
    }

    /// Gives back a free slot of this cache.
    ///
    /// # Safety
    /// `slot` was handed out by this type's cache, holds no value and is not used again.
    #[inline]
    pub(crate) unsafe fn push(&self, slot: NonNull<u8>) {
        if self.mags.has_room(Self::ROUNDS, &self.node.held) && !self.ctrl.get().is_null() {
            // SAFETY: the caller gives us the free, empty slot of this cache (contract);
            // there is room; `held` is our count.
            unsafe {
                self.mags
                    .push(slot, &SlabCache::<T, L, SIZE>::CLASS, &self.node.held)
            };
            return;
        }
        // SAFETY: `slot` was handed out by this type's cache, holds no value and is not
        // used again (this function's contract, I2): `push_slow`'s contract.
        unsafe { self.push_slow(slot) }
    }

    #[cold]
    #[inline(never)]
    unsafe fn push_slow(&self, slot: NonNull<u8>) {
        let class = SlabCache::<T, L, SIZE>::CLASS;
        // Registered, this cache serves one `static` cache, which every slot pushed here
        // belongs to (`push`'s contract): no need to read the slot's (likely cold) header.
        let ctrl = match NonNull::new(self.ctrl.get().cast_mut()) {
            Some(ctrl) => ctrl,
            None => {
                let h = crate::slab::header_of(slot, &class);
                // SAFETY: the slot is outstanding, so `h` is the live header of its slab;
                // `master` is written once at init, and is read through the raw pointer
                // (no reference to the header, whose state another thread may be writing
                // under the lock).
                let ctrl = unsafe { (*h.as_ptr()).master }.cast::<Control<L>>();
                // This thread never allocated this type (or it is ending): register with
                // the slot's cache, or, if the thread is ending, give the slot straight back.
                // SAFETY: live control block (the slot keeps it).
                if !unsafe { self.register_ctrl(ctrl) } {
                    // SAFETY: a slot handed out by the live cache whose control block is
                    // `ctrl`, holding no value, given up by the caller (I2, I4).
                    unsafe { depot_free::<L>(slot, &class, core::any::type_name::<T>()) };
                    return;
                }
                ctrl
            }
        };
        if !self.mags.has_room(Self::ROUNDS, &self.node.held) {
            // SAFETY: `ctrl` is the live control block of our `static` cache, `self.node`
            // our registered node there, and the magazines hold its free slots.
            unsafe { self.mags.make_room::<L>(ctrl, &class, &self.node.held) };
        }
        // SAFETY: `slot` is still the caller's free slot of this cache (I2); there is
        // room now, so `push` takes it into the loaded magazine.
        unsafe { self.push(slot) }
    }

    /// The control block this cache is registered with, registering on first use;
    /// `None` once the thread is ending.
    fn register(
        &self,
        cache: &SlabCache<T, L, SIZE>,
    ) -> Result<Option<NonNull<Control<L>>>, SlabError> {
        if let Some(c) = NonNull::new(self.ctrl.get().cast_mut()) {
            return Ok(Some(c));
        }
        let ctrl = cache.control()?;
        // SAFETY: the static cache's control block lives forever.
        Ok(unsafe { self.register_ctrl(ctrl) }.then_some(ctrl))
    }

    /// Registers with the depot of `ctrl`; false (and no registration) if the thread is
    /// ending.
    ///
    /// # Safety
    /// `ctrl` is the control block of a `static` cache (never released).
    unsafe fn register_ctrl(&self, ctrl: NonNull<Control<L>>) -> bool {
        if !self.ctrl.get().is_null() {
            // Registered while `register` was allocating the master: its allocation hook
            // allocated this type on this thread. Linking the node twice would corrupt the
            // registry.
            return true;
        }
        if self.exited.get() || !self.join_exit_list() {
            return false;
        }
        // SAFETY: live by contract.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        let d = g.depot();
        let me: *const MagNode = &self.node;
        // SAFETY: registry links are read and written only under the lock, which we hold,
        // and nothing holds a reference into the `UnsafeCell`.
        unsafe { *self.node.next.get() = d.threads };
        // SAFETY: registry links are read and written only under the lock, which we hold
        // (I8), and nothing holds a reference into the `UnsafeCell`.
        unsafe { *self.node.prev.get() = ptr::null() };
        if let Some(head) = NonNull::new(d.threads.cast_mut()) {
            // SAFETY: `head` is a registered node: alive until it unregisters, which takes
            // the lock we hold. `MagNode`'s fields are all interior-mutable, so a shared
            // reference is fine while its owner stores to `held`.
            let head = unsafe { head.as_ref() };
            // SAFETY: registry links are accessed only under the lock, which we hold.
            unsafe { *head.prev.get() = me };
        }
        d.threads = me;
        self.ctrl.set(ctrl.as_ptr());
        true
    }

    /// A `tls` cache joins this thread's exit list (false if the thread is ending, and the
    /// cache is marked exited); other caches are given back by their `Drop`.
    fn join_exit_list(&self) -> bool {
        if !self.tls {
            return true;
        }
        #[cfg(all(feature = "std", not(loom)))]
        {
            self.exit_link.owner.set((self as *const Self).cast::<()>());
            let link: *const ExitLink = &self.exit_link;
            if EXIT_LIST.try_with(|list| list.push(link)).is_ok() {
                return true;
            }
        }
        self.exited.set(true);
        false
    }
}

impl<T, L: LockTrait, const SIZE: usize> ThreadCache<T, L, SIZE> {
    /// Gives both magazines back to the depot (parked, or returned to their slabs); the
    /// thread stays registered.
    pub(crate) fn flush(&self) {
        let Some(ctrl) = NonNull::new(self.ctrl.get().cast_mut()) else {
            return;
        };
        let class = SlabCache::<T, L, SIZE>::CLASS;
        let mut retired = ptr::null_mut();
        {
            // SAFETY: a static cache's control block lives forever.
            let mut g = unsafe { DepotGuard::lock(ctrl) };
            // SAFETY: the lock is held; `g` guards this cache's depot.
            unsafe { self.give_back(g.depot(), &class, &mut retired) };
        }
        // SAFETY: retired under the lock, released now.
        unsafe { free_retired(retired, &class) };
    }

    /// Hands both magazines to the depot (parked, or returned to their slabs) and zeroes
    /// this thread's count, in the caller's critical section.
    ///
    /// # Safety
    /// The lock of this cache's depot `d` is held; `class` is its geometry.
    unsafe fn give_back(&self, d: &mut Depot, class: &Class, retired: &mut *mut SlabHeader) {
        let chains = self.mags.take_all(&self.node.held);
        // SAFETY: the lock of `d` is held and `class` is its geometry (this function's
        // contract); the chains are this thread's free slots of that depot (I2), and
        // `held` is our registered count (I8).
        unsafe { return_chains(d, chains, &self.node.held, class, retired) };
    }
}

impl<T, L: LockTrait, const SIZE: usize> Drop for ThreadCache<T, L, SIZE> {
    /// Both magazines go back to the depot, and the cache leaves the registry.
    fn drop(&mut self) {
        self.exit();
    }
}

impl<T, L: LockTrait, const SIZE: usize> ThreadCache<T, L, SIZE> {
    /// The thread is ending: both magazines go back to the depot, the cache leaves the
    /// registry, and every later call on this thread takes the depot path. Idempotent.
    fn exit(&self) {
        self.exited.set(true);
        // With `ctrl` null, pushes and pops take their slow paths, which check `exited`.
        let Some(ctrl) = NonNull::new(self.ctrl.replace(ptr::null()).cast_mut()) else {
            return;
        };
        let class = SlabCache::<T, L, SIZE>::CLASS;
        let mut retired = ptr::null_mut();
        {
            // SAFETY: a static cache's control block lives forever.
            let mut g = unsafe { DepotGuard::lock(ctrl) };
            let d = g.depot();
            // SAFETY: the lock is held; `d` is this cache's depot.
            unsafe { self.give_back(d, &class, &mut retired) };
            // Unlink our node from the registry.
            // SAFETY: registry links are accessed only under the lock, which we hold.
            let prev = unsafe { *self.node.prev.get() };
            // SAFETY: registry links are accessed only under the lock, which we hold (I8).
            let next = unsafe { *self.node.next.get() };
            if let Some(prev) = NonNull::new(prev.cast_mut()) {
                // SAFETY: `prev` is our neighbour in the registry, so a registered node:
                // alive until it unregisters, which takes the lock we hold. All of
                // `MagNode`'s fields are interior-mutable, so a shared reference is fine.
                let prev = unsafe { prev.as_ref() };
                // SAFETY: registry links are accessed only under the lock, which we hold.
                unsafe { *prev.next.get() = next };
            } else {
                d.threads = next;
            }
            if let Some(next) = NonNull::new(next.cast_mut()) {
                // SAFETY: as for `prev`: a registered neighbour, alive under the lock.
                let next = unsafe { next.as_ref() };
                // SAFETY: registry links are accessed only under the lock, which we hold.
                unsafe { *next.prev.get() = prev };
            }
        }
        // SAFETY: retired under the lock, released now.
        unsafe { free_retired(retired, &class) };
    }
}

/// Hands a holder's two magazines to the depot (parked, or returned to their slabs) and
/// zeroes the holder's count, in one critical section, so `stats` never counts a slot twice.
///
/// # Safety
/// The lock of depot `d` is held; `class` is its geometry; the chains hold free slots of
/// this depot that the caller gives up, and `held` is the caller's registered count.
unsafe fn return_chains(
    d: &mut Depot,
    chains: [Chain; 2],
    held: &AtomicU32,
    class: &Class,
    retired: &mut *mut SlabHeader,
) {
    held.store(0, Ordering::Relaxed);
    for chain in chains {
        if chain.count > 0 {
            // SAFETY: lock held; the chain's slots are free slots of this depot.
            unsafe { park_or_return(d, chain, class, retired) };
        }
    }
}

/// Parks `chain` in the depot if there is room, else returns its slots to their slabs.
///
/// # Safety
/// The lock is held; `chain` holds free slots of this depot.
unsafe fn park_or_return(
    d: &mut Depot,
    chain: Chain,
    class: &Class,
    retired: &mut *mut SlabHeader,
) {
    if let Err(chain) = d.park(chain) {
        // SAFETY: the lock is held and `chain` holds free slots of this depot (this
        // function's contract, I2): what `chain_to_slabs` needs.
        unsafe { chain_to_slabs(d, chain, class, retired) };
    }
}

/// Gives a full magazine to the depot.
///
/// # Safety
/// `ctrl` is a live control block; `chain` holds free slots of its cache.
unsafe fn park_full<L: LockTrait>(
    ctrl: NonNull<Control<L>>,
    class: &Class,
    chain: Chain,
    held: &AtomicU32,
) {
    let mut retired = ptr::null_mut();
    {
        // SAFETY: live by contract.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        // The chain leaves the thread's count and enters the depot's in one critical section.
        debug_assert!(
            held.load(Ordering::Relaxed) >= chain.count,
            "a parked magazine was counted"
        );
        add_owned(held, chain.count.wrapping_neg());
        // SAFETY: the lock is held; the chain holds free slots of this depot, given up by
        // the caller (contract, I2) and no longer in its count.
        unsafe { park_or_return(g.depot(), chain, class, &mut retired) };
    }
    // SAFETY: released the lock; these slabs were retired under it.
    unsafe { free_retired(retired, class) };
}

/// Takes a full magazine from the depot, or builds one of up to `rounds` slots from the
/// slabs (growing by one slab if none is free).
///
/// # Safety
/// `ctrl` is a live control block of geometry `class`.
unsafe fn take_full<L: LockTrait>(
    ctrl: NonNull<Control<L>>,
    class: &Class,
    rounds: u32,
    held: &AtomicU32,
) -> Result<Chain, SlabError> {
    // The chain enters the thread's count in the same critical section that takes it, so
    // the peak (and `stats`) never count it as handed out to users.
    let adopt_chain = |d: &mut Depot, chain: Chain| {
        add_owned(held, chain.count);
        d.update_peak();
        chain
    };
    {
        // SAFETY: live by contract.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        let d = g.depot();
        // SAFETY: lock held; `class` is this depot's geometry.
        if let Some(chain) = unsafe { take_chain(d, class, rounds) } {
            return Ok(adopt_chain(d, chain));
        }
    }
    // Call the hook without the lock, then adopt the slab and take the magazine from the
    // depot in the same critical section (another thread may have parked one meanwhile:
    // that one goes first, and the new slab stays listed).
    let block = hooks::alloc_slab(class.layout())?;
    // SAFETY: live by contract.
    let mut g = unsafe { DepotGuard::lock(ctrl) };
    let d = g.depot();
    // SAFETY: lock held; `block` is fresh from the hook.
    unsafe { adopt(d, block, class, ctrl.cast()) };
    // SAFETY: lock held; `class` is this depot's geometry.
    let chain =
        unsafe { take_chain(d, class, rounds) }.expect("a freshly adopted slab has free slots");
    Ok(adopt_chain(d, chain))
}

/// Takes a parked magazine, else builds one of up to `rounds` slots from the slabs; `None`
/// if the depot holds no free slot.
///
/// # Safety
/// The lock is held (`d` is its depot); `class` is its geometry.
unsafe fn take_chain(d: &mut Depot, class: &Class, rounds: u32) -> Option<Chain> {
    if let Some(chain) = d.unpark() {
        return Some(chain);
    }
    // SAFETY: the lock of `d` is held and `class` is its geometry (this function's
    // contract).
    let chain = unsafe { pop_chain(d, class, rounds) };
    (chain.count > 0).then_some(chain)
}

/// Takes up to `rounds` free slots out of the slabs as one chain, a slab at a time (each
/// slab is relisted once, not once per slot).
///
/// # Safety
/// The lock is held (`d` is its depot); `class` is its geometry.
unsafe fn pop_chain(d: &mut Depot, class: &Class, rounds: u32) -> Chain {
    let mut chain = Chain::EMPTY;
    while chain.count < rounds {
        let Some(h) = NonNull::new(d.partial).or(NonNull::new(d.empty)) else {
            break;
        };
        // SAFETY: `h` is a live slab on one of this depot's lists; the lock is held; the
        // chain holds free slots that only we refer to.
        let taken = unsafe {
            crate::slab::pop_batch(h, class, d.name, rounds - chain.count, &mut chain.head)
        };
        debug_assert!(
            taken > 0,
            "a slab on the partial or empty list has a free slot"
        );
        chain.count += taken;
        d.in_use += taken as usize;
        // SAFETY: lock held; `h` is live and its fill level changed.
        unsafe { relist(d, h) };
    }
    chain
}

/// The magazines a [`SlabCache`] handle carries for its `&mut self` methods
/// ([`alloc_mut`](SlabCache::alloc_mut), [`free`](SlabCache::free)): the same
/// loaded + previous [`Pair`] as a thread's, reached only through `&mut self` (so never
/// shared, although `SlabCache` is `Sync`).
///
/// For exact `stats`, the slots they hold are counted in one of the master's
/// [`HANDLE_COUNTERS`] counters, claimed under the lock on first use and released when the
/// handle flushes or drops; a handle that finds none free works on the locked path.
pub(crate) struct HandleMags {
    mags: Pair,
    /// The claimed counter in the master slab, or null.
    held: *const AtomicU32,
}

impl HandleMags {
    /// No magazines, no counter.
    pub(crate) const fn new() -> HandleMags {
        HandleMags {
            mags: Pair::new(),
            held: ptr::null(),
        }
    }

    /// The claimed counter.
    ///
    /// # Safety
    /// A counter is claimed (`held` is non-null), so the master, which the handle keeps
    /// alive, holds it.
    #[inline(always)]
    unsafe fn counter(&self) -> &AtomicU32 {
        // SAFETY: non-null by contract, pointing into the live master slab.
        unsafe { &*self.held }
    }

    /// Claims a free counter of depot `d`, if one is left.
    ///
    /// # Safety
    /// The lock of `d` is held; no counter is claimed by this handle.
    unsafe fn claim(&mut self, d: &mut Depot) -> bool {
        let free = !d.handle_claims;
        if free.trailing_zeros() as usize >= HANDLE_COUNTERS {
            return false;
        }
        let i = free.trailing_zeros();
        d.handle_claims |= 1 << i;
        self.held = d.counter(i as usize);
        true
    }

    /// Hands both magazines to depot `d` and releases the claimed counter (nothing to do
    /// if none is claimed).
    ///
    /// # Safety
    /// The lock of `d` is held, and `d` is the depot of this handle's master.
    pub(crate) unsafe fn give_back(
        &mut self,
        d: &mut Depot,
        class: &Class,
        retired: &mut *mut SlabHeader,
    ) {
        if self.held.is_null() {
            return;
        }
        // SAFETY: claimed, so the counter lives in `d`'s master slab.
        let held = unsafe { self.counter() };
        let chains = self.mags.take_all(held);
        // SAFETY: the lock is held and the chains hold free slots of this depot, which the
        // handle gives up; `held` is its counter.
        unsafe { return_chains(d, chains, held, class, retired) };
        d.handle_claims &= !(1 << d.counter_index(held));
        self.held = ptr::null();
    }
}

impl<T, L: LockTrait, const SIZE: usize> SlabCache<T, L, SIZE> {
    const ROUNDS: u32 = rounds_for(Self::CLASS.stride);

    /// Like [`alloc`](Self::alloc), through this handle's own magazine: most calls take
    /// no lock and no atomic read-modify-write.
    ///
    /// A handle refills its magazine from the cache (under the lock) a batch at a time;
    /// the slots it holds count as free in [`stats`](Self::stats), and go back when the
    /// handle is [flushed](Self::flush) or dropped. Give boxes back with
    /// [`free`](Self::free) to keep them in the magazine (a box that is simply dropped
    /// returns its slot through the lock). Up to 8 handles of one cache carry a magazine
    /// at a time; further handles allocate on the locked path.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// # slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<[u64; 8]> = SlabCache::new();
    /// for i in 0..1000 {
    ///     let b = cache.alloc_mut([i; 8]); // from the handle's magazine
    ///     assert_eq!(b[7], i);
    ///     cache.free(b); // back into the magazine
    /// }
    /// assert_eq!(cache.stats().in_use, 0); // slots in the magazine count as free
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`; see
    /// [`try_alloc_mut`](Self::try_alloc_mut).
    #[inline(always)]
    pub fn alloc_mut(&mut self, value: T) -> SlabBox<T, Self> {
        match self.mag_pop() {
            Ok(slot) => {
                // SAFETY: a fresh slot of this cache, owned by nobody else.
                let b = unsafe { SlabBox::new_in(slot, value) };
                self.settle_pop();
                b
            }
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// Like [`try_alloc`](Self::try_alloc), through this handle's own magazine (see
    /// [`alloc_mut`](Self::alloc_mut)).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// # slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<String> = SlabCache::new();
    /// let b = cache.try_alloc_mut("pooled".to_string()).unwrap_or_else(|e| panic!("{e}"));
    /// assert_eq!(*b, "pooled");
    /// cache.free(b);
    /// ```
    ///
    /// # Errors
    /// [`AllocError`] with [`SlabError::OutOfMemory`] when the hook has no memory for a
    /// new slab; `into_inner` returns `value`.
    #[inline]
    pub fn try_alloc_mut(&mut self, value: T) -> Result<SlabBox<T, Self>, AllocError<T>> {
        match self.mag_pop() {
            Ok(slot) => {
                // SAFETY: a fresh slot of this cache, owned by nobody else.
                let b = unsafe { SlabBox::new_in(slot, value) };
                self.settle_pop();
                Ok(b)
            }
            Err(e) => Err(AllocError::new(value, e)),
        }
    }

    /// Drops the box's value and keeps its slot in this handle's magazine for the next
    /// [`alloc_mut`](Self::alloc_mut). A box of another cache of the same type goes back
    /// to its own cache, as if dropped.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// # slab_core::slab_hooks!(global);
    /// let mut a: SlabCache<u32> = SlabCache::new();
    /// let b: SlabCache<u32> = SlabCache::new();
    /// let x = a.alloc_mut(1);
    /// let y = b.alloc(2);
    /// a.free(x);
    /// a.free(y); // not `a`'s: returned to `b`
    /// assert_eq!((a.stats().in_use, b.stats().in_use), (0, 0));
    /// ```
    #[inline]
    pub fn free(&mut self, b: SlabBox<T, Self>) {
        let value = SlabBox::into_raw(b);
        // SAFETY: `into_raw` returns the box's non-null slot pointer.
        let value = unsafe { NonNull::new_unchecked(value) };
        // SAFETY: the box owned this slot of a cache of this type (I2); the guard is
        // dropped only while `T::drop` unwinds, after the value is gone, and disarmed
        // otherwise.
        let guard = unsafe { SlotGuard::<T, Self>::new(value) };
        // SAFETY: the box owned an initialised `T` at `value` (into_raw gave up the box
        // without dropping it), dropped exactly once here (I3). If `T::drop` panics, the
        // guard returns the slot through the depot, like a box's drop.
        unsafe { value.drop_in_place() };
        guard.disarm();
        let slot = value.cast::<u8>();
        let class = Self::CLASS;
        let name = core::any::type_name::<T>();
        // SAFETY: a slot of a live slab of this cache type, whose value is gone; ours now.
        unsafe { hardening::on_release(slot, &class, name) };
        let h = crate::slab::header_of(slot, &class);
        if hardening::CHECKS {
            crate::slab::check_header(h, name);
        }
        // SAFETY: the slot is outstanding, so `h` is the live header of its slab; `master`
        // is written once at init and read through the raw pointer (another thread may be
        // writing the header's state under the lock).
        let master = unsafe { (*h.as_ptr()).master }.cast::<Control<L>>();
        if !self.mags.held.is_null()
            // SAFETY: claimed (checked just before).
            && self.mags.mags.has_room(Self::ROUNDS, unsafe { self.mags.counter() })
            && master.as_ptr() == self.ctrl.load(Ordering::Relaxed)
        {
            // SAFETY: a free slot of our master's cache holding no value, ours to chain;
            // a counter is claimed and there is room.
            unsafe { self.mag_push(slot) };
            return;
        }
        // SAFETY: the slot was handed out by the cache whose control block is `master`
        // (read from its live header), its value is gone, and we own it (I2, I4).
        unsafe { self.free_slow(slot, master) };
    }

    /// Gives this handle's magazines back to the cache (parked in its depot, or returned
    /// to their slabs), so other handles and [`shrink`](Self::shrink) can use the slots,
    /// and releases its magazine counter; the next `alloc_mut` claims one again.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// # slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<u64> = SlabCache::new();
    /// let b = cache.alloc_mut(7);
    /// cache.free(b);
    /// cache.flush();
    /// cache.shrink();
    /// assert_eq!(cache.stats().slabs, 1); // only the master is left
    /// ```
    pub fn flush(&mut self) {
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return;
        };
        let class = Self::CLASS;
        let mut retired = ptr::null_mut();
        {
            // SAFETY: alive: this handle counts in `handles`.
            let mut g = unsafe { DepotGuard::lock(ctrl) };
            // SAFETY: the lock is held; `g` guards the depot of this handle's master.
            unsafe { self.mags.give_back(g.depot(), &class, &mut retired) };
        }
        // SAFETY: retired under the lock, released now.
        unsafe { free_retired(retired, &class) };
    }

    /// One slot for `alloc_mut`: from the loaded magazine, else the slow path. The fast
    /// path makes no call, so the caller's value can be built straight into the slot.
    ///
    /// A slot from a magazine leaves the counter one too high: the caller calls
    /// [`settle_pop`](Self::settle_pop) after writing the value. (An atomic store between
    /// building the value and writing it keeps the compiler from building it in place; a
    /// reader of the counter sees the pop a moment late, before it returns.)
    #[inline(always)]
    fn mag_pop(&mut self) -> Result<NonNull<u8>, SlabError> {
        let class = Self::CLASS;
        let name = core::any::type_name::<T>();
        if let Some(slot) = self.mags.mags.pop(&class, name) {
            // SAFETY: a free slot of this cache, ours now.
            unsafe { hardening::on_handout(slot, &class, name) };
            return Ok(slot);
        }
        self.mag_pop_slow()
    }

    /// Takes the slot handed out by `mag_pop` off this handle's counter, if it came from
    /// a magazine (it did whenever a counter is claimed).
    #[inline(always)]
    fn settle_pop(&mut self) {
        if !self.mags.held.is_null() {
            // SAFETY: claimed (checked).
            Pair::settle_pop(unsafe { self.mags.counter() });
        }
    }

    /// `mag_pop` with an empty loaded magazine: swap, refill, or the locked path.
    #[cold]
    #[inline(never)]
    fn mag_pop_slow(&mut self) -> Result<NonNull<u8>, SlabError> {
        let class = Self::CLASS;
        let ctrl = self.control()?;
        if self.mags.held.is_null() && !self.claim_counter(ctrl) {
            // Every counter is claimed by other handles: take the locked path.
            // SAFETY: `ctrl` is initialised and kept alive by this handle.
            let slot = unsafe { depot_alloc(ctrl, &class) }?;
            // SAFETY: a free slot of this cache, ours now.
            unsafe { hardening::on_handout(slot, &class, core::any::type_name::<T>()) };
            return Ok(slot);
        }
        // SAFETY: claimed above or before, in this same master.
        let held = unsafe { self.mags.counter() };
        // SAFETY: `ctrl` is kept alive by this handle; `held` is its counter there.
        unsafe { self.mags.mags.refill::<L>(ctrl, &class, Self::ROUNDS, held) }?;
        self.mag_pop()
    }

    /// Claims one of the master's magazine counters for this handle.
    fn claim_counter(&mut self, ctrl: NonNull<Control<L>>) -> bool {
        // SAFETY: alive: this handle counts in `handles`.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        // SAFETY: the lock is held, and this handle has no counter (callers check).
        unsafe { self.mags.claim(g.depot()) }
    }

    /// Chains a slot onto the loaded magazine.
    ///
    /// # Safety
    /// `slot` is a free slot of this handle's cache holding no value, given up by the
    /// caller; a counter is claimed and the loaded magazine has room.
    #[inline(always)]
    unsafe fn mag_push(&mut self, slot: NonNull<u8>) {
        // SAFETY: claimed (contract).
        let held = unsafe { self.mags.counter() };
        // SAFETY: the free, empty slot is ours, there is room, and `held` is our count
        // (contract).
        unsafe { self.mags.mags.push(slot, &Self::CLASS, held) };
    }

    /// `free` when the slot is another cache's, or the loaded magazine is full, or this
    /// handle has no counter yet.
    ///
    /// # Safety
    /// `slot` is a free slot, holding no value, of the cache whose control block is
    /// `master`; the caller gives it up.
    #[cold]
    #[inline(never)]
    unsafe fn free_slow(&mut self, slot: NonNull<u8>, master: NonNull<Control<L>>) {
        let class = Self::CLASS;
        let name = core::any::type_name::<T>();
        let ours = master.as_ptr() == self.ctrl.load(Ordering::Relaxed);
        if !ours || (self.mags.held.is_null() && !self.claim_counter(master)) {
            // SAFETY: a slot of the live cache whose control block is `master`, holding no
            // value, given up by the caller (I2, I4): it goes back through its lock.
            unsafe { depot_free::<L>(slot, &class, name) };
            return;
        }
        // SAFETY: claimed (checked above).
        let held = unsafe { self.mags.counter() };
        if !self.mags.mags.has_room(Self::ROUNDS, held) {
            // SAFETY: our master (checked above) is alive while this handle is, `held` is
            // this handle's counter there, and the magazines hold its free slots.
            unsafe { self.mags.mags.make_room::<L>(master, &class, held) };
        }
        // SAFETY: a free slot of our master's cache holding no value, ours to chain (I2);
        // a counter is claimed, and the loaded magazine has room now.
        unsafe { self.mag_push(slot) };
    }
}
