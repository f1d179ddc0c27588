//! A runtime handle: what a [`SlabCache`] value is (a pointer to its master's control block,
//! published on first use, and the handle's own magazines), how one is made and cloned,
//! and the magazine mechanics behind its `&mut self` methods.
//!
//! The struct lives here, below `boxed`, because [`SlabBox`](crate::SlabBox) names it as
//! its default pool; what a handle does (`alloc`, `stats`, `reserve`, the `&mut self` fast
//! path, `Drop`) is in `cache`, above `boxed`.
//!
//! A handle carries a loaded + previous [`Pair`] for `alloc_mut`/`free` (std and no_std).
//! Its count is one of `HANDLE_COUNTERS` counters in the master slab (a cache line each
//! where the master has room; handles move, so they cannot register their own address),
//! claimed under the lock on first use (I14); the handle keeps the master alive (I4).
//! Dropping or flushing the handle gives its magazines back, and the last handle drains
//! the parked magazines so that the last box can release the cache.
//!
//! This module talks to `magazine`, `control`, `depot`, `geometry`, `hardening`, `lock`,
//! `error` and `sync`.

use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use crate::chain::Chain;
use crate::control::{Control, DepotGuard, class_of, create_master, depot_alloc, depot_free};
use crate::depot::{Depot, Retired};
use crate::error::{SlabError, alloc_failed};
use crate::geometry::{Class, layout_message};
use crate::hardening;
use crate::lock::{LockTrait, SpinLock};
use crate::magazine::{Batch, Pair, Popped, depot_give_chain, depot_take_exact, rounds_for};
use crate::source::{DefaultSource, Hooks, SlabSource};
use crate::sync::{AtomicPtr, AtomicU32, Ordering};

/// A typed object cache: slabs of `SIZE` bytes holding values of `T`, guarded by `L`,
/// taken from the memory source `S`.
///
/// `new` is `const` and allocates nothing, so a cache can be a `static`; the master slab
/// comes from the source on first use. Handles are `Clone` and share one master; boxes
/// may outlive every handle, and when the last handle and the last box are gone, every
/// slab is back with the source.
///
/// The source defaults to [`Hooks`], the program's `slab_hooks!`; [`Global`](crate::Global)
/// takes slabs from Rust's global allocator with no `slab_hooks!` at all, and any `Copy`
/// [`SlabSource`] works (a `&'static Capped<_>` byte cap, your own memory):
/// `SlabCache<T, SpinLock, 4096, Global>`. See [`with_source`](Self::with_source).
///
/// `SIZE` is a power of two from 512 bytes to 1 GiB, and two values of `T` must fit in
/// the master slab; both are checked at compile time.
///
/// ```
/// use slab_core::{SlabBox, SlabCache, SpinLock};
/// slab_core::slab_hooks!(global);
///
/// #[derive(Debug, PartialEq)]
/// struct Particle { pos: [f32; 3], ttl: u16 }
///
/// static PARTICLES: SlabCache<Particle, SpinLock, 4096> = SlabCache::new();
///
/// let p: SlabBox<Particle, _> = PARTICLES.alloc(Particle { pos: [0.0; 3], ttl: 60 });
/// assert_eq!(p.ttl, 60);
/// assert_eq!(PARTICLES.stats().in_use, 1);
/// drop(p);
/// assert_eq!(PARTICLES.stats().in_use, 0);
/// ```
pub struct SlabCache<
    T,
    L: LockTrait = SpinLock,
    const SIZE: usize = 4096,
    S: SlabSource + Copy = Hooks,
> {
    /// The master's control block, null until first use (I15).
    pub(crate) ctrl: AtomicPtr<Control<L, S>>,
    /// This handle's own magazines, for the `&mut self` fast path.
    pub(crate) mags: HandleMags,
    /// Where the master comes from; the master keeps a copy for its slabs (I19).
    pub(crate) source: S,
    _marker: Marker<T, L>,
}

/// The marker of a cache of `T` locked by `L`: invariant in `T` without owning one
/// (`fn(T) -> T`), and neither `Send` nor `Sync` by default (`*const L`), so those are
/// granted only by the explicit `unsafe impl`s.
pub(crate) type Marker<T, L> = PhantomData<(fn(T) -> T, *const L)>;

// SAFETY: handles only reach `T` by moving values into slots and handing boxes out, so
// sharing a handle across threads needs `T: Send`; all depot state is behind `L`, which
// must exclude across threads (`Sync`, I9) and be droppable on another thread (`Send`). A
// handle's own magazines are reached only through `&mut self`, never through `&self`. The
// source is used from any thread that grows or shrinks the cache, through copies (I19), so
// it must be `Send + Sync` itself.
unsafe impl<T: Send, L: LockTrait + Send + Sync, const SIZE: usize, S> Sync
    for SlabCache<T, L, SIZE, S>
where
    S: SlabSource + Copy + Send + Sync,
{
}
// SAFETY: a moved handle shares the master with its clones on other threads, so it needs
// what `Sync` needs: `T: Send`, a lock that excludes across threads (I9) and a source
// usable from any of them (I19). Its magazines move with it: free slots holding no value
// (I2), and a pointer to its counter, an atomic in the master that only the handle's
// owner writes outside the lock (I8).
unsafe impl<T: Send, L: LockTrait + Send + Sync, const SIZE: usize, S> Send
    for SlabCache<T, L, SIZE, S>
where
    S: SlabSource + Copy + Send + Sync,
{
}

/// Marker for the slab sizes a [`SlabCache`] accepts: powers of two from 512 bytes to
/// 1 GiB.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid slab size",
    label = "slab sizes are powers of two from 512 bytes to 1 GiB",
    note = "pick a power of two such as 4096, 16384 or 65536 for `SIZE`"
)]
pub trait ValidSlabSize {}

/// A slab size as a type, for [`ValidSlabSize`] bounds.
pub struct SlabSize<const N: usize>;

macro_rules! valid_sizes {
    ($($shift:literal)*) => { $(impl ValidSlabSize for SlabSize<{ 1usize << $shift }> {})* };
}
valid_sizes!(9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30);

/// A handle on control block `$ctrl` (null: not yet allocated) and source `$source`, with
/// empty magazines: one body for the `const`, loom and `static` constructors and `clone`.
macro_rules! handle {
    ($ctrl:expr, $source:expr) => {
        SlabCache {
            ctrl: AtomicPtr::new($ctrl),
            mags: HandleMags::new(),
            source: $source,
            _marker: PhantomData,
        }
    };
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> SlabCache<T, L, SIZE, S> {
    pub(crate) const CLASS: Class = match class_of::<T, L, S>(SIZE) {
        Ok(c) => c,
        Err(e) => panic!("{}", layout_message(e)),
    };

    const ROUNDS: u32 = rounds_for(Self::CLASS.stride);

    /// Creates a cache handle on the source's default value (the program's `slab_hooks!`
    /// for the default source, [`Hooks`]). Allocates nothing: the master slab is taken
    /// from the source on first use, so this works in a `static`.
    ///
    /// Fails to compile if `SIZE` is not a power of two from 512 to 2^30, if `T` is
    /// zero-sized, if two `T`s do not fit a slab, if `align_of::<T>() > SIZE / 4`, or if
    /// `L` is over 16 bytes.
    #[cfg(not(loom))]
    pub const fn new() -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
        S: DefaultSource,
    {
        Self::with_source(S::DEFAULT)
    }

    /// `new` under the loom model checker, whose atomics cannot be built in `const`.
    #[cfg(loom)]
    pub fn new() -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
        S: DefaultSource,
    {
        Self::with_source(S::DEFAULT)
    }

    /// Creates a cache handle whose slabs come from `source`: for a source without a
    /// [`DefaultSource`] value, such as a `&'static Capped<_>` shared by several caches or
    /// a reference to a pool of your own. Allocates nothing, so this works in a `static`.
    ///
    /// ```
    /// use slab_core::{Capped, Global, SlabCache, SpinLock};
    ///
    /// static BUDGET: Capped<Global> = Capped::new(Global, 1 << 20); // 1 MiB for both
    /// static A: SlabCache<[u8; 64], SpinLock, 4096, &Capped<Global>> =
    ///     SlabCache::with_source(&BUDGET);
    /// static B: SlabCache<[u8; 32], SpinLock, 4096, &Capped<Global>> =
    ///     SlabCache::with_source(&BUDGET);
    ///
    /// let (a, b) = (A.alloc([1; 64]), B.alloc([2; 32]));
    /// assert_eq!(BUDGET.used(), 2 * 4096); // one master slab each, from one budget
    /// # drop((a, b));
    /// ```
    #[cfg(not(loom))]
    pub const fn with_source(source: S) -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
    {
        let _ = Self::CLASS;
        handle!(ptr::null_mut(), source)
    }

    /// `with_source` under the loom model checker, whose atomics cannot be built in
    /// `const`.
    #[cfg(loom)]
    pub fn with_source(source: S) -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
    {
        let _ = Self::CLASS;
        handle!(ptr::null_mut(), source)
    }

    /// `new` without the compile-time checks, for `#[slab_cached]`, which emits them
    /// itself at the user's tokens (so a mistake is reported once, there). Not public API.
    #[doc(hidden)]
    #[cfg(not(loom))]
    pub const fn __new_static() -> Self
    where
        S: DefaultSource,
    {
        handle!(ptr::null_mut(), S::DEFAULT)
    }

    /// `__new_static` with a source value (for the object cache of a
    /// `#[slab_cached(recycle)]` type).
    #[cfg(not(loom))]
    pub(crate) const fn __new_static_with(source: S) -> Self {
        handle!(ptr::null_mut(), source)
    }

    /// The control block, allocating the master slab on first use.
    #[inline]
    pub(crate) fn control(&self) -> Result<NonNull<Control<L, S>>, SlabError> {
        match NonNull::new(self.ctrl.load(Ordering::Acquire)) {
            Some(c) => Ok(c),
            None => create_master(
                &self.ctrl,
                &Self::CLASS,
                core::any::type_name::<T>(),
                self.source,
                Self::report_node,
            ),
        }
    }

    /// One slot for `alloc_mut`: from the loaded magazine, else the slow path. The fast
    /// path makes no call, so the caller's value can be built straight into the slot; the
    /// caller settles the slot after writing it ([`Popped`]).
    #[inline(always)]
    pub(crate) fn mag_pop(&mut self) -> Result<Popped<'_>, SlabError> {
        let class = Self::CLASS;
        let name = core::any::type_name::<T>();
        // SAFETY: the handle's counter, when one is claimed, lives in the master, which the
        // handle keeps alive (I4); a loaded magazine holds slots only while it is claimed
        // (I14).
        if let Some(popped) = unsafe { self.mags.mags.pop(self.mags.held, &class, name) } {
            // SAFETY: a free slot of this cache, ours now (I2).
            unsafe { hardening::on_handout(popped.slot(), &class, name) };
            return Ok(popped);
        }
        self.mag_pop_slow()
    }

    /// `mag_pop` with an empty loaded magazine: swap, refill, or the locked path.
    #[cold]
    #[inline(never)]
    fn mag_pop_slow(&mut self) -> Result<Popped<'_>, SlabError> {
        let class = Self::CLASS;
        let ctrl = self.control()?;
        if self.mags.held.is_null() && !self.claim_counter(ctrl) {
            // Every counter is claimed by other handles: take the locked path.
            // SAFETY: `ctrl` is initialised and kept alive by this handle (I4).
            let slot = unsafe { depot_alloc(ctrl, &class) }?;
            // SAFETY: a free slot of this cache, ours now (I2).
            unsafe { hardening::on_handout(slot, &class, core::any::type_name::<T>()) };
            return Ok(Popped::uncounted(slot));
        }
        // SAFETY: claimed above or before, in this same master, which the handle keeps
        // alive (I4, I14).
        let held = unsafe { self.mags.counter() };
        // SAFETY: `ctrl` is kept alive by this handle (I4); `held` is its claimed counter
        // there (I14).
        unsafe {
            self.mags
                .mags
                .refill::<L, S>(ctrl, &class, Self::ROUNDS, held)
        }?;
        self.mag_pop()
    }

    /// Claims one of the master's magazine counters for this handle.
    fn claim_counter(&mut self, ctrl: NonNull<Control<L, S>>) -> bool {
        // SAFETY: alive: this handle counts in `handles` (I4).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        match g.depot().claim_counter() {
            Some(c) => {
                self.mags.held = c.as_ptr();
                true
            }
            None => false,
        }
    }

    /// Whether `free` can keep a slot of the cache of `master` in this handle's loaded
    /// magazine: it is this handle's cache, a counter is claimed, and there is room.
    #[inline(always)]
    pub(crate) fn mag_has_room(&self, master: NonNull<Control<L, S>>) -> bool {
        !self.mags.held.is_null()
            // SAFETY: claimed (checked just before), in the master the handle keeps alive
            // (I4, I14).
            && self.mags.mags.has_room(Self::ROUNDS, unsafe { self.mags.counter() })
            && master.as_ptr() == self.ctrl.load(Ordering::Relaxed)
    }

    /// Chains a slot onto the loaded magazine.
    ///
    /// # Safety
    /// `slot` is a free slot of this handle's cache holding no value, given up by the
    /// caller (I2); a counter is claimed and the loaded magazine has room.
    #[inline(always)]
    pub(crate) unsafe fn mag_push(&mut self, slot: NonNull<u8>) {
        // SAFETY: claimed (contract), in the master the handle keeps alive (I4, I14).
        let held = unsafe { self.mags.counter() };
        // SAFETY: the free, empty slot is ours (I2), there is room, and `held` is our count
        // (contract).
        unsafe { self.mags.mags.push(slot, &Self::CLASS, held) };
    }

    /// `free` when the slot is another cache's, or the loaded magazine is full, or this
    /// handle has no counter yet.
    ///
    /// # Safety
    /// `slot` is a free slot, holding no value, of the cache whose control block is
    /// `master`; the caller gives it up (I2).
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn free_slow(&mut self, slot: NonNull<u8>, master: NonNull<Control<L, S>>) {
        let class = Self::CLASS;
        let name = core::any::type_name::<T>();
        let ours = master.as_ptr() == self.ctrl.load(Ordering::Relaxed);
        if !ours || (self.mags.held.is_null() && !self.claim_counter(master)) {
            // SAFETY: a slot of the live cache whose control block is `master` (the slot
            // keeps it alive, I4), holding no value, given up by the caller (I2): it goes
            // back through its lock.
            unsafe { depot_free::<L, S>(slot, &class, name) };
            return;
        }
        // SAFETY: claimed (checked above), in the master the handle keeps alive (I4, I14).
        let held = unsafe { self.mags.counter() };
        if !self.mags.mags.has_room(Self::ROUNDS, held) {
            // SAFETY: our master (checked above) is alive while this handle is (I4), `held`
            // is this handle's counter there (I14), and the magazines hold its free slots.
            unsafe { self.mags.mags.make_room::<L, S>(master, &class, held) };
        }
        // SAFETY: a free slot of our master's cache holding no value, ours to chain (I2);
        // a counter is claimed, and the loaded magazine has room now.
        unsafe { self.mag_push(slot) };
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> Clone for SlabCache<T, L, SIZE, S> {
    /// Another handle to the same master (allocating it if this handle has not yet).
    ///
    /// # Panics
    /// If the master slab cannot be allocated.
    fn clone(&self) -> Self {
        let ctrl = match self.control() {
            Ok(c) => c,
            Err(e) => alloc_failed::<T>(SIZE, e),
        };
        // SAFETY: alive: `self` counts in `handles` (I4).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        g.depot().add_handle();
        handle!(ctrl.as_ptr(), self.source)
    }
}

/// The magazines a [`SlabCache`] handle carries for its `&mut self` methods
/// ([`alloc_mut`](SlabCache::alloc_mut), [`free`](SlabCache::free)): the same
/// loaded + previous [`Pair`] as a thread's, reached only through `&mut self` (so never
/// shared, although `SlabCache` is `Sync`).
///
/// For exact `stats`, the slots they hold are counted in one of the master's
/// `HANDLE_COUNTERS` counters, claimed under the lock on first use and released when the
/// handle flushes or drops (I14); a handle that finds none free works on the locked path.
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
    /// alive, holds it (I4, I14).
    #[inline(always)]
    unsafe fn counter(&self) -> &AtomicU32 {
        // SAFETY: non-null by contract, pointing into the live master slab (I4, I14).
        unsafe { &*self.held }
    }

    /// Hands both magazines to depot `d` and releases the claimed counter (nothing to do
    /// if none is claimed).
    ///
    /// # Safety
    /// `d` is locked (reached through its guard, I9) and is the depot of this handle's
    /// master; `class` is its geometry.
    pub(crate) unsafe fn give_back(&mut self, d: &mut Depot, class: &Class, retired: &mut Retired) {
        if self.held.is_null() {
            return;
        }
        // SAFETY: claimed, so the counter lives in `d`'s master slab (I14).
        let held = unsafe { self.counter() };
        // SAFETY: `d` is locked and is the depot of our master (contract), `class` its
        // geometry; the magazines hold free slots of that cache, counted in `held`, our
        // claimed counter there (I14).
        unsafe { self.mags.give_back(d, class, held, retired) };
        d.release_counter(held);
        self.held = ptr::null();
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> SlabCache<T, L, SIZE, S> {
    /// `n > 0` free slots for a bulk allocation from the depot, in one critical section,
    /// growing the cache first if needed; all or nothing, still free and linked.
    pub(crate) fn take_bulk_depot(&self, n: u32) -> Result<Chain, SlabError> {
        let ctrl = self.control()?;
        // SAFETY: `ctrl` is initialised and kept alive by this handle (I4).
        unsafe { depot_take_exact(ctrl, &Self::CLASS, n) }
    }

    /// Gives a bulk free's chain to this cache's depot in one critical section.
    ///
    /// # Safety
    /// The chain holds free slots of this cache (so its master is published), holding no
    /// value, given up by the caller (I2).
    pub(crate) unsafe fn give_bulk_depot(&self, chain: Chain) {
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            unreachable!("the slots of a bulk free come from a published cache")
        };
        // SAFETY: the chain's slots keep `ctrl` alive (I4); they are its free slots,
        // given up by the caller (contract, I2).
        unsafe { depot_give_chain(ctrl, &Self::CLASS, chain) };
    }

    /// `n > 0` free slots for a bulk allocation through this handle: lent by its loaded
    /// magazine when it holds that many (no lock; settle them with
    /// [`mag_settle_bulk`](Self::mag_settle_bulk)), or after readying it with one trip to
    /// the depot (a batch no larger than a magazine), else taken from the depot in one
    /// critical section, growing the cache first if needed. All or nothing; the slots are
    /// still free, linked, and not yet handed out (`hardening::on_handout`).
    pub(crate) fn mag_take_bulk(&mut self, n: u32) -> Result<Batch, SlabError> {
        let class = Self::CLASS;
        if !self.mags.held.is_null() {
            // SAFETY: a claimed counter lives in the master, which the handle keeps alive
            // (I4, I14); the loaded magazine holds free slots of this cache counted there.
            let held = unsafe { self.mags.counter() };
            // SAFETY: the magazines are this handle's alone (`&mut self`, I2), of geometry
            // `class`, counted in `held`.
            if let Some(chain) = self.mags.mags.lend_loaded(n, held) {
                return Ok(Batch::Lent(chain));
            }
        }
        let ctrl = self.control()?;
        if n <= Self::ROUNDS && (!self.mags.held.is_null() || self.claim_counter(ctrl)) {
            // SAFETY: claimed, in the master the handle keeps alive (I4, I14).
            let held = unsafe { self.mags.counter() };
            // SAFETY: `ctrl` is kept alive by this handle (I4), `held` its claimed counter
            // there (I14).
            let ready = unsafe {
                self.mags
                    .mags
                    .ready::<L, S>(n, ctrl, &class, Self::ROUNDS, held)
            }?;
            if ready {
                // SAFETY: as the fast path above.
                if let Some(chain) = self.mags.mags.lend_loaded(n, held) {
                    return Ok(Batch::Lent(chain));
                }
            }
        }
        // SAFETY: `ctrl` is initialised and kept alive by this handle (I4).
        unsafe { depot_take_exact(ctrl, &class, n) }.map(Batch::Own)
    }

    /// Takes the `n` slots lent by [`mag_take_bulk`](Self::mag_take_bulk) out of this
    /// handle's loaded magazine: `rest` is the link of the last of them.
    ///
    /// # Safety
    /// `mag_take_bulk` just lent them (`Batch::Lent`), nothing used this handle since, and
    /// `rest` is the link the `n`-th slot held.
    #[inline(always)]
    pub(crate) unsafe fn mag_settle_bulk(&mut self, rest: *mut u8, n: u32) {
        // SAFETY: it lent from its magazine, so a counter is claimed, in the master the
        // handle keeps alive (I4, I14).
        let held = unsafe { self.mags.counter() };
        // SAFETY: this function's contract is `settle_lent`'s, for the claimed counter.
        unsafe { self.mags.mags.settle_lent(rest, n, held) };
    }

    /// Gives a bulk free's chain (free slots of the cache of `master`, `tail` its last,
    /// counted by no holder) to this handle's loaded magazine if it is this handle's cache
    /// and there is room for all of it, or after making room with one trip to the depot (a
    /// batch no larger than a magazine), else to that cache's depot in one critical
    /// section.
    ///
    /// # Safety
    /// The chain holds free slots of the cache whose control block is `master`, holding no
    /// value, given up by the caller (I2); `tail` is its last slot.
    pub(crate) unsafe fn mag_give_bulk(
        &mut self,
        chain: Chain,
        tail: NonNull<u8>,
        master: NonNull<Control<L, S>>,
    ) {
        let class = Self::CLASS;
        let mut chain = chain;
        let ours = master.as_ptr() == self.ctrl.load(Ordering::Relaxed);
        if ours
            && chain.count <= Self::ROUNDS
            && (!self.mags.held.is_null() || self.claim_counter(master))
        {
            // SAFETY: claimed, in the master the handle keeps alive (I4, I14).
            let held = unsafe { self.mags.counter() };
            let room = if self.mags.mags.has_room_for(chain.count, Self::ROUNDS, held) {
                true
            } else {
                // SAFETY: `master` is this handle's (checked), alive while it is (I4);
                // `held` its claimed counter there, and the magazines hold its free slots
                // (I14).
                unsafe {
                    self.mags
                        .mags
                        .room_for::<L, S>(chain.count, master, &class, Self::ROUNDS, held)
                }
            };
            if room {
                // SAFETY: free slots of this handle's cache, given up by the caller
                // (contract), spliced onto its own loaded magazine (I2, I14).
                match unsafe {
                    self.mags
                        .mags
                        .give_loaded(chain, tail, Self::ROUNDS, held, &class)
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
}
