//! Per-thread caches of `#[slab_cached]` types: a thread's magazines for one type
//! ([`ThreadCache`], in a `thread_local!` the attribute generates), registered with the
//! type's depot so `stats()` counts their slots as free (I14), and the thread's exit list
//! that gives them back when the thread ends.
//!
//! Thread caches serve only `static` caches (which live forever), so a thread cache never
//! outlives its depot (I10). They live in thread-locals without drop glue (no "destroyed
//! yet?" check per access) and join the thread's exit list before they register; after
//! the list has run, a thread's remaining frees and allocations take the depot path.
//!
//! This module talks to `handle` (the `static` cache), `magazine`, `control`, `depot`,
//! `geometry`, `slab`, `lock` and `error`.
#![cfg_attr(
    not(any(feature = "std", loom)),
    allow(
        dead_code,
        unused_imports,
        unused_macros,
        reason = "without `std` no thread-local makes a thread cache (`new_tls` needs `std`)"
    )
)]

use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use crate::chain::Chain;
use crate::control::{Control, DepotGuard, depot_alloc, depot_free, with_retiring};
use crate::depot::{Depot, MagNode, Retired};
use crate::error::SlabError;
use crate::geometry::Class;
use crate::handle::{Marker, SlabCache};
use crate::lock::LockTrait;
use crate::magazine::{Batch, Pair, Popped, depot_give_chain, depot_take_exact, rounds_for};
use crate::slab;
use crate::source::{Hooks, SlabSource};

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
        // a thread-local without drop glue (I10), so it stays valid until this thread's
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
            // (see `push`); its memory outlives this destructor (I10).
            let link = unsafe { &*cur };
            cur = link.next.get();
            // SAFETY: `owner` is the live cache (above, I10) that holds `link`, of the type
            // whose `exit_of` it holds.
            unsafe { (link.run)(link.owner.get()) };
        }
    }
}

#[cfg(all(feature = "std", not(loom)))]
std::thread_local! {
    /// This thread's exit list: its destructor gives every `tls` thread cache back.
    static EXIT_LIST: ExitList = const { ExitList { head: Cell::new(ptr::null()) } };
}

/// One thread's magazines for one `#[slab_cached]` type (`SlabCache<T, L, SIZE, S>`).
///
/// Lives in a `thread_local!` that `#[slab_cached]` generates; the owning thread alone
/// touches `mags`. Not public API: `pub` only because that `thread_local!` is expanded in
/// the user's crate, and the only thing it can do there is [`new_tls`](Self::new_tls),
/// which is `unsafe`; every other method is private to this crate.
#[doc(hidden)]
#[repr(C)]
pub struct ThreadCache<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy = Hooks> {
    node: MagNode,
    mags: Pair,
    /// The control block this cache registered with, or null before first use.
    ctrl: Cell<*const Control<L, S>>,
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
            node: MagNode::new(),
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

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> ThreadCache<T, L, SIZE, S> {
    const ROUNDS: u32 = rounds_for(SlabCache::<T, L, SIZE, S>::CLASS.stride);

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
        cache: &SlabCache<T, L, SIZE, S>,
    ) -> Result<NonNull<u8>, SlabError> {
        // SAFETY: `cache` is never dropped and `self` does not move from its first use
        // (this function's contract, the one `pop` needs: I10, I14).
        unsafe { self.pop(cache) }
    }

    /// [`push`](Self::push), for the loom models.
    ///
    /// # Safety
    /// As [`push`](Self::push).
    #[cfg(loom)]
    pub unsafe fn model_push(&self, slot: NonNull<u8>) {
        // SAFETY: `slot` was handed out by this type's cache, holds no value and is not used
        // again (this function's contract, the one `push` needs: I2, I3).
        unsafe { self.push(slot) }
    }

    /// Calls [`exit`](Self::exit) on `me` (the exit list's entry point, monomorphised
    /// per cache type).
    ///
    /// # Safety
    /// `me` points to a live `ThreadCache<T, L, SIZE, S>`.
    unsafe fn exit_of(me: *const ()) {
        // SAFETY: a live cache (contract, I10); `exit` takes `&self`, and every field it
        // writes is interior-mutable, so no unique reference is made (I14).
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
        cache: &SlabCache<T, L, SIZE, S>,
    ) -> Result<NonNull<u8>, SlabError> {
        match self.pop_loaded() {
            Some(popped) => Ok(popped.settle()),
            // SAFETY: `cache` is never dropped and `self` does not move (this function's
            // contract, I10), which is `pop_slow`'s contract.
            None => unsafe { self.pop_slow(cache) },
        }
    }

    /// Takes a free slot from the loaded magazine, if it holds one, still counted until
    /// the caller settles it (the whole fast path: no call and no atomic operation, so a
    /// caller that settles after writing can build a large value straight into the slot).
    #[inline(always)]
    pub(crate) fn pop_loaded(&self) -> Option<Popped<'static>> {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        // SAFETY: `held` is this thread cache's own count, alive as long as it (I14): the
        // cache lives in a thread-local that is never dropped (I10), and the token is
        // settled on this thread (`Popped` is not `Send`). Only this thread touches the
        // magazines (I2).
        unsafe {
            self.mags
                .pop(&self.node.held, &class, core::any::type_name::<T>())
        }
    }

    #[cold]
    #[inline(never)]
    /// # Safety
    /// As [`pop`](Self::pop).
    unsafe fn pop_slow(&self, cache: &SlabCache<T, L, SIZE, S>) -> Result<NonNull<u8>, SlabError> {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let Some(ctrl) = self.register(cache)? else {
            // The thread is ending: no magazines any more, take a slot from the depot.
            let ctrl = cache.control()?;
            // SAFETY: the `static` cache's control block lives forever (I4, I10).
            return unsafe { depot_alloc(ctrl, &class) };
        };
        // SAFETY: `ctrl` is the live control block of a `static` cache (I4, I10); `held` is
        // our registered node's count there (I14).
        unsafe {
            self.mags
                .refill::<L, S>(ctrl, &class, Self::ROUNDS, &self.node.held)
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
            // SAFETY: the caller gives us the free, empty slot of this cache (contract, I2,
            // I3); there is room; `held` is our registered count (I14).
            unsafe {
                self.mags
                    .push(slot, &SlabCache::<T, L, SIZE, S>::CLASS, &self.node.held)
            };
            return;
        }
        // SAFETY: `slot` was handed out by this type's cache, holds no value and is not
        // used again (this function's contract, I2): `push_slow`'s contract.
        unsafe { self.push_slow(slot) }
    }

    /// [`push`](Self::push) past a full loaded magazine, or before registering.
    ///
    /// # Safety
    /// As [`push`](Self::push).
    #[cold]
    #[inline(never)]
    unsafe fn push_slow(&self, slot: NonNull<u8>) {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        // Registered, this cache serves one `static` cache, which every slot pushed here
        // belongs to (`push`'s contract): no need to read the slot's (likely cold) header.
        let ctrl = match NonNull::new(self.ctrl.get().cast_mut()) {
            Some(ctrl) => ctrl,
            None => {
                let h = slab::header_of(slot, &class);
                // SAFETY: the slot is outstanding, so `h` is the live header of its slab (I1,
                // I4); `master` is written once at init, and is read through the raw pointer
                // (no reference to the header, whose state another thread may be writing
                // under the lock: I12).
                let ctrl = unsafe { (*h.as_ptr()).master }.cast::<Control<L, S>>();
                // This thread never allocated this type (or it is ending): register with
                // the slot's cache, or, if the thread is ending, give the slot straight back.
                // SAFETY: the slot was handed out by this type's `static` cache (`push`'s
                // contract), so `ctrl` is that cache's control block, which lives forever
                // (I4, I10).
                if !unsafe { self.register_ctrl(ctrl) } {
                    // SAFETY: a slot handed out by the live cache whose control block is
                    // `ctrl`, holding no value, given up by the caller (I2, I4).
                    unsafe { depot_free::<L, S>(slot, &class, core::any::type_name::<T>()) };
                    return;
                }
                ctrl
            }
        };
        if !self.mags.has_room(Self::ROUNDS, &self.node.held) {
            // SAFETY: `ctrl` is the live control block of our `static` cache (I4, I10), `held`
            // our registered node's count there, and the magazines hold its free slots
            // (I14).
            unsafe { self.mags.make_room::<L, S>(ctrl, &class, &self.node.held) };
        }
        // SAFETY: `slot` is still the caller's free slot of this cache (I2); there is
        // room now, so `push` takes it into the loaded magazine.
        unsafe { self.push(slot) }
    }

    /// The control block this cache is registered with, registering on first use;
    /// `None` once the thread is ending.
    fn register(
        &self,
        cache: &SlabCache<T, L, SIZE, S>,
    ) -> Result<Option<NonNull<Control<L, S>>>, SlabError> {
        if let Some(c) = NonNull::new(self.ctrl.get().cast_mut()) {
            return Ok(Some(c));
        }
        let ctrl = cache.control()?;
        // SAFETY: the static cache's control block lives forever (I4, I10).
        Ok(unsafe { self.register_ctrl(ctrl) }.then_some(ctrl))
    }

    /// Registers with the depot of `ctrl`; false (and no registration) if the thread is
    /// ending.
    ///
    /// # Safety
    /// `ctrl` is the control block of a `static` cache (never released).
    unsafe fn register_ctrl(&self, ctrl: NonNull<Control<L, S>>) -> bool {
        if !self.ctrl.get().is_null() {
            // Registered while `register` was allocating the master: its allocation hook
            // allocated this type on this thread. Linking the node twice would corrupt the
            // registry.
            return true;
        }
        if self.exited.get() || !self.join_exit_list() {
            return false;
        }
        // SAFETY: live by contract (I4, I10).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        // SAFETY: the lock is held; our node is on no registry (`ctrl` was null), and it
        // stays at its address until `exit` unregisters it: a thread cache lives in a
        // thread-local (or, under loom, a stack slot) and never moves (I10, I14).
        unsafe { g.depot().register(&self.node) };
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

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> ThreadCache<T, L, SIZE, S> {
    /// Gives both magazines back to the depot (parked, or returned to their slabs); the
    /// thread stays registered.
    pub(crate) fn flush(&self) {
        let Some(ctrl) = NonNull::new(self.ctrl.get().cast_mut()) else {
            return;
        };
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let give_back = |d: &mut Depot, retired: &mut Retired| {
            // SAFETY: the lock is held (`d` comes from the guard, I9); `d` is this cache's
            // depot and `class` its geometry.
            unsafe { self.give_back(d, &class, retired) };
        };
        // SAFETY: a static cache's control block lives forever (I4, I10).
        unsafe { with_retiring(ctrl, &class, give_back) };
    }

    /// Hands both magazines to the depot (parked, or returned to their slabs) and zeroes
    /// this thread's count, in the caller's critical section.
    ///
    /// # Safety
    /// The lock of this cache's depot `d` is held; `class` is its geometry.
    unsafe fn give_back(&self, d: &mut Depot, class: &Class, retired: &mut Retired) {
        // SAFETY: the lock of `d` is held and `class` is its geometry (this function's
        // contract); the magazines hold this thread's free slots of that depot (I2), and
        // `held` is our registered count there (I8, I14).
        unsafe { self.mags.give_back(d, class, &self.node.held, retired) };
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> Drop for ThreadCache<T, L, SIZE, S> {
    /// Both magazines go back to the depot, and the cache leaves the registry.
    fn drop(&mut self) {
        self.exit();
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> ThreadCache<T, L, SIZE, S> {
    /// The thread is ending: both magazines go back to the depot, the cache leaves the
    /// registry, and every later call on this thread takes the depot path. Idempotent.
    fn exit(&self) {
        self.exited.set(true);
        // With `ctrl` null, pushes and pops take their slow paths, which check `exited`.
        let Some(ctrl) = NonNull::new(self.ctrl.replace(ptr::null()).cast_mut()) else {
            return;
        };
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let leave = |d: &mut Depot, retired: &mut Retired| {
            // SAFETY: the lock is held (`d` comes from the guard, I9); `d` is this cache's
            // depot and `class` its geometry.
            unsafe { self.give_back(d, &class, retired) };
            // SAFETY: the lock is held, and our node is registered with `d` (`ctrl` was
            // set by `register_ctrl`, I14).
            unsafe { d.unregister(&self.node) };
        };
        // SAFETY: a static cache's control block lives forever (I4, I10).
        unsafe { with_retiring(ctrl, &class, leave) };
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> ThreadCache<T, L, SIZE, S> {
    /// `n > 0` free slots of `cache` for a bulk allocation: lent by this thread's loaded
    /// magazine when it holds that many (no lock; settle them with
    /// [`settle_bulk`](Self::settle_bulk)), or after readying it with one trip to the depot
    /// (a batch no larger than a magazine: swap, or refill an empty one), else taken from
    /// the depot in one critical section, growing the cache first if needed. All or
    /// nothing; the slots are still free, linked, and not yet handed out.
    pub(crate) fn take_bulk(
        &self,
        cache: &SlabCache<T, L, SIZE, S>,
        n: u32,
    ) -> Result<Batch, SlabError> {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        if !self.ctrl.get().is_null() {
            // SAFETY: `held` is this thread cache's registered count (I14); only this
            // thread touches the magazines (I2), which hold free slots of `cache`.
            if let Some(chain) = self.mags.lend_loaded(n, &self.node.held) {
                return Ok(Batch::Lent(chain));
            }
        }
        if n <= Self::ROUNDS
            && let Some(ctrl) = self.register(cache)?
        {
            // SAFETY: `ctrl` is the live control block of our `static` cache (I4, I10),
            // and `held` our registered count there (I14).
            let ready = unsafe {
                self.mags
                    .ready::<L, S>(n, ctrl, &class, Self::ROUNDS, &self.node.held)
            }?;
            if ready {
                // SAFETY: only this thread touches the magazines (I2), which hold free
                // slots of `cache`, counted in our registered `held` (I14).
                if let Some(chain) = self.mags.lend_loaded(n, &self.node.held) {
                    return Ok(Batch::Lent(chain));
                }
            }
        }
        let ctrl = cache.control()?;
        // SAFETY: the control block of a `static` cache lives forever (I4, I10).
        unsafe { depot_take_exact(ctrl, &class, n) }.map(Batch::Own)
    }

    /// Takes the `n` slots lent by [`take_bulk`](Self::take_bulk) out of the loaded
    /// magazine: `rest` is the link of the last of them.
    ///
    /// # Safety
    /// `take_bulk` just lent them (`Batch::Lent`), nothing used these magazines since, and
    /// `rest` is the link the `n`-th slot held.
    #[inline(always)]
    pub(crate) unsafe fn settle_bulk(&self, rest: *mut u8, n: u32) {
        // SAFETY: this function's contract is `settle_lent`'s, for our count (I14).
        unsafe { self.mags.settle_lent(rest, n, &self.node.held) };
    }

    /// Gives a bulk free's chain (free slots of `cache`, `tail` its last, counted by no
    /// holder) to this thread's loaded magazine when it has room for all of it, or after
    /// making room with one trip to the depot (a batch no larger than a magazine), else to
    /// the depot in one critical section.
    ///
    /// # Safety
    /// The chain holds free slots of `cache`, holding no value, given up by the caller
    /// (I2); `tail` is its last slot.
    pub(crate) unsafe fn give_bulk(
        &self,
        cache: &SlabCache<T, L, SIZE, S>,
        chain: Chain,
        tail: NonNull<u8>,
    ) {
        let class = SlabCache::<T, L, SIZE, S>::CLASS;
        let mut chain = chain;
        if !self.ctrl.get().is_null() {
            // SAFETY: registered, so `held` is our count there (I14) and the magazines hold
            // free slots of this `static` cache, which every slot of the chain belongs to
            // (contract, I10).
            let given = unsafe {
                self.mags
                    .give_loaded(chain, tail, Self::ROUNDS, &self.node.held, &class)
            };
            match given {
                Ok(()) => return,
                Err(back) => chain = back,
            }
        }
        if chain.count <= Self::ROUNDS
            && let Ok(Some(ctrl)) = self.register(cache)
        {
            // SAFETY: `ctrl` is the live control block of our `static` cache (I4, I10),
            // `held` our registered count there, and the magazines hold its free slots
            // (I14).
            let room = unsafe {
                self.mags
                    .room_for::<L, S>(chain.count, ctrl, &class, Self::ROUNDS, &self.node.held)
            };
            if room {
                // SAFETY: as the fast path above.
                let given = unsafe {
                    self.mags
                        .give_loaded(chain, tail, Self::ROUNDS, &self.node.held, &class)
                };
                match given {
                    Ok(()) => return,
                    Err(back) => chain = back,
                }
            }
        }
        // An outstanding slot of the chain has published the master (I15).
        let Some(ctrl) = NonNull::new(cache.ctrl.load(crate::sync::Ordering::Acquire)) else {
            unreachable!("the slots of a bulk free come from a published cache")
        };
        // SAFETY: the chain's slots keep the control block alive (a `static`'s anyway,
        // I4, I10); they are its free slots, given up by the caller (contract, I2).
        unsafe { depot_give_chain(ctrl, &class, chain) };
    }
}
