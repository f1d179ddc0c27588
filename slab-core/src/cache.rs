//! What a [`SlabCache`] handle does: allocation through the depot (`alloc`, `try_alloc`,
//! the uninitialised forms), statistics, `reserve`, `shrink` and `keep_empty`, the
//! `&mut self` fast path through the handle's own magazines (`alloc_mut`, `free`,
//! `flush`), the handle's `Drop`, and the [`Pool`] a box of the cache returns to.
//!
//! The handle itself (its fields, constructors, `Clone` and magazine mechanics) is in
//! `handle`. This module talks to `boxed`, `handle`, `control`, `depot`, `slab`,
//! `geometry`, `hardening`, `lock`, `error`, `stats` and `sync`.

use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use crate::boxed::{Pool, SlabBox, SlotGuard};
use crate::control::{Control, DepotGuard, DestroyOnDrop, grow, with_retiring};
#[cfg(not(all(feature = "std", not(loom))))]
use crate::control::{depot_alloc, depot_free};
use crate::depot::{Depot, Retired};
use crate::error::{AllocError, SlabError, alloc_failed};
use crate::geometry::Class;
use crate::handle::{SlabCache, SlabSize, ValidSlabSize};
use crate::hardening;
use crate::lock::LockTrait;
use crate::magazine::Popped;
use crate::slab;
use crate::source::{DefaultSource, SlabSource};
use crate::stats::SlabStats;
use crate::sync::Ordering;
#[cfg(all(feature = "std", not(loom)))]
use crate::thread_table;

/// The address of the header of the slab holding `p`, a slot of a
/// `SlabCache<T, L, SIZE>` (nothing is read). Not public API: for tests that plant header
/// corruption.
pub fn header_address<T, L: LockTrait, const SIZE: usize>(p: *const T) -> *mut u8
where
    SlabSize<SIZE>: ValidSlabSize,
{
    let Some(p) = NonNull::new(p.cast_mut().cast::<u8>()) else {
        return ptr::null_mut();
    };
    slab::header_of(p, &SlabCache::<T, L, SIZE>::CLASS)
        .cast()
        .as_ptr()
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> SlabCache<T, L, SIZE, S> {
    /// Places `value` in the cache and returns its box, or hands the value back.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<String> = SlabCache::new();
    /// let b = cache.try_alloc(String::from("hello")).unwrap_or_else(|e| panic!("{e}"));
    /// assert_eq!(*b, "hello");
    /// ```
    ///
    /// # Errors
    /// [`AllocError`] with [`SlabError::OutOfMemory`] when the allocation hook has no
    /// memory for a new slab; `into_inner` returns `value`.
    #[inline]
    pub fn try_alloc(&self, value: T) -> Result<SlabBox<T, Self>, AllocError<T>> {
        match self.pop_shared() {
            Ok(popped) => {
                // SAFETY: a free slot of this cache, just handed to us and owned by nobody
                // else (I2); every slot of this cache is sized and aligned for `T` (I5).
                let b = unsafe { SlabBox::new_in(popped.slot(), value) };
                popped.settle();
                Ok(b)
            }
            Err(e) => Err(AllocError::new(value, e)),
        }
    }

    /// Places `value` in the cache and returns its box.
    ///
    /// The box owns the value, like `Box::new(value)`, and frees it when dropped; it is
    /// not a reference, as the `alloc` of an arena crate returns.
    ///
    /// # Panics
    /// When the allocation hook has no memory, like `Box::new`, with a message that names
    /// `T`. Use [`try_alloc`](Self::try_alloc) to get the value back instead.
    #[doc(alias("new", "box"))]
    #[inline(always)]
    pub fn alloc(&self, value: T) -> SlabBox<T, Self> {
        // The value goes straight into the slot: no `Result` carrying a `T` in between, and
        // the slot is settled after the write (see `Popped`).
        match self.pop_shared() {
            Ok(popped) => {
                // SAFETY: a free slot of this cache, just handed to us and owned by nobody
                // else (I2); every slot of this cache is sized and aligned for `T` (I5).
                let b = unsafe { SlabBox::new_in(popped.slot(), value) };
                popped.settle();
                b
            }
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// A box of uninitialised memory for a `T`, to build large values in place without
    /// putting them on the stack; finish with [`SlabBox::write`] or
    /// [`SlabBox::assume_init`].
    ///
    /// ```
    /// use slab_core::{SlabBox, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// static BUFFERS: SlabCache<[u8; 65536], slab_core::SpinLock, { 1 << 18 }> = SlabCache::new();
    /// let mut b = BUFFERS.try_alloc_uninit().unwrap();
    /// // SAFETY: the slot is valid for writes of one `[u8; 65536]`.
    /// unsafe { SlabBox::as_mut_ptr(&mut b).cast::<u8>().write_bytes(0xAB, 65536) };
    /// // SAFETY: every byte was written above.
    /// let b = unsafe { b.assume_init() };
    /// assert!(b.iter().all(|&x| x == 0xAB));
    /// ```
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] when the allocation hook has no memory.
    pub fn try_alloc_uninit(&self) -> Result<SlabBox<MaybeUninit<T>, Self>, SlabError> {
        let slot = self.raw_alloc()?.cast::<MaybeUninit<T>>();
        // SAFETY: a `MaybeUninit<T>` needs no initialisation (I3); the slot is a free slot of
        // this cache, ours now (I2).
        Ok(unsafe { SlabBox::from_slot(slot) })
    }

    /// Like [`try_alloc_uninit`](Self::try_alloc_uninit), panicking on exhaustion.
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`.
    pub fn alloc_uninit(&self) -> SlabBox<MaybeUninit<T>, Self> {
        match self.try_alloc_uninit() {
            Ok(b) => b,
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// One slot, uninitialised: from the calling thread's magazine of this cache (`std`),
    /// else from the depot.
    #[inline]
    pub(crate) fn raw_alloc(&self) -> Result<NonNull<u8>, SlabError> {
        self.pop_shared().map(Popped::settle)
    }

    /// [`pop_shared`](Self::pop_shared) past the loaded magazine.
    #[cfg(all(feature = "std", not(loom)))]
    #[cold]
    #[inline(never)]
    fn pop_shared_slow(&self) -> Result<Popped<'static>, SlabError> {
        thread_table::with(|t| t.pop_slow(self))
    }

    /// One slot for the `&self` methods, still counted in the calling thread's magazine
    /// until the caller settles it after writing it: from the thread's entry for this
    /// cache (`std`, I23), else through the lock. The fast path makes no call, so the
    /// caller's value can be built straight into the slot.
    #[inline(always)]
    pub(crate) fn pop_shared(&self) -> Result<Popped<'static>, SlabError> {
        #[cfg(all(feature = "std", not(loom)))]
        {
            // Relaxed: the address is only compared with the keys of this thread's table,
            // never followed here; an entry keyed by it was registered by this thread,
            // which saw the control block published then (I15, I23). `relaxed_addr`, not
            // `load`: an atomic load between the caller building its value and the write
            // below keeps the compiler from building the value in the slot.
            let ctrl = crate::sync::relaxed_addr(&self.ctrl);
            if let Some(popped) = thread_table::with(|t| t.pop::<T, L, SIZE, S>(ctrl)) {
                return Ok(popped);
            }
            self.pop_shared_slow()
        }
        #[cfg(not(all(feature = "std", not(loom))))]
        {
            let ctrl = self.control()?;
            // SAFETY: `ctrl` is initialised (I15) and kept alive by this handle (I4).
            let slot = unsafe { depot_alloc(ctrl, &Self::CLASS) }?;
            // SAFETY: a free slot of a live slab of this cache, ours now (I2).
            unsafe { hardening::on_handout(slot, &Self::CLASS, core::any::type_name::<T>()) };
            Ok(Popped::uncounted(slot))
        }
    }

    /// Whether the slab at `base` belongs to this cache (walks the slab lists: hardening
    /// only, O(slabs); nothing at `base` is read).
    ///
    /// With `exact == false` it only checks that `base` lies within the address range of
    /// the slabs this cache ever held: O(1), and it rejects most foreign pointers (stack,
    /// other heaps, other caches' regions) but not one that falls between its slabs.
    pub(crate) fn owns_slab(&self, base: NonNull<u8>, exact: bool) -> bool {
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return false;
        };
        // SAFETY: alive: this handle (a `static`) counts in `handles` (I4), and the control
        // block was published complete (I15).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        let d = g.depot();
        let a = base.addr().get();
        if !d.within_range(a) {
            return false;
        }
        !exact || d.holds_slab(a, SIZE)
    }

    /// Runs `f` on the locked depot (allocating the master if needed).
    pub(crate) fn with_depot<R>(&self, f: impl FnOnce(&mut Depot) -> R) -> Result<R, SlabError> {
        let ctrl = self.control()?;
        // SAFETY: alive: this handle counts in `handles` (I4).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        Ok(f(g.depot()))
    }

    /// Counters of this cache, read under the lock. Allocates nothing: a cache that was
    /// never used reports zeros.
    pub fn stats(&self) -> SlabStats {
        let mut s = Self::static_stats();
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return s;
        };
        // SAFETY: alive: this handle counts in `handles` (I4).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        g.depot().report(&mut s);
        s
    }

    /// The figures of this cache type that no depot holds (an object cache's name its
    /// value's type, not its slot's).
    fn static_stats() -> SlabStats {
        let class = Self::CLASS;
        let (name, object_size) = match class.kept {
            Some(kept) => ((kept.name)(), kept.value_size),
            None => (core::any::type_name::<T>(), class.obj_size),
        };
        SlabStats {
            name,
            object_size,
            slot_size: class.stride,
            slab_size: SIZE,
            objects_per_slab: class.slave_slots,
            ..SlabStats::EMPTY
        }
    }

    /// The registry's `report` of a cache of this type: its stats, read under its lock.
    ///
    /// # Safety
    /// `node` is the registry node of a live control block of this cache type (I22).
    pub(crate) unsafe fn report_node(node: NonNull<crate::registry::Node>, s: &mut SlabStats) {
        *s = Self::static_stats();
        // SAFETY: the node lies in a `Control<L, S>` of this cache type (contract).
        let ctrl = unsafe { Control::<L, S>::of_node(node) };
        // SAFETY: alive while its node is listed, which the caller's registry lock keeps
        // (I22).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        g.depot().report(s);
    }

    /// Grows the cache so that the next `n` allocations need no hook call (unless other
    /// threads take the slots first, or frees release slabs in between).
    ///
    /// `n` counts like `Vec::reserve`'s `additional` (room for `n` more objects than are
    /// in use), and failure is an error, as from `Vec::try_reserve`.
    ///
    /// All or nothing: the slabs are taken from the hook first, and if the hook runs out
    /// midway every one of them goes back before the error is returned, so a failed
    /// `reserve` leaves the cache as it found it.
    ///
    /// ```
    /// use slab_core::{SlabCache, SlabError};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<u64> = SlabCache::new();
    /// cache.reserve(10_000).unwrap();
    /// let calls = cache.stats().hook_allocs;
    /// let boxes: Vec<_> = (0..10_000).map(|i| cache.alloc(i)).collect();
    /// assert_eq!(cache.stats().hook_allocs, calls);
    /// // An impossible request fails at once, without calling the hook.
    /// assert_eq!(cache.reserve(usize::MAX), Err(SlabError::CapacityOverflow));
    /// assert_eq!(cache.stats().hook_allocs, calls);
    /// # drop(boxes);
    /// ```
    ///
    /// # Errors
    /// - [`SlabError::CapacityOverflow`] if the slabs for `n` objects would take more than
    ///   `isize::MAX` bytes; no hook is called.
    /// - [`SlabError::OutOfMemory`] or [`SlabError::AlignmentMismatch`] if the hook fails;
    ///   the slabs taken before that are given back.
    #[doc(alias("try_reserve", "prealloc"))]
    pub fn reserve(&self, n: usize) -> Result<(), SlabError> {
        let class = Self::CLASS;
        let ctrl = self.control()?;
        let missing = self.with_depot(|d| n.saturating_sub(d.free_slots()))?;
        if missing == 0 {
            return Ok(());
        }
        let slabs = missing.div_ceil(class.slave_slots);
        if slabs
            .checked_mul(SIZE)
            .is_none_or(|bytes| bytes > isize::MAX as usize)
        {
            return Err(SlabError::CapacityOverflow);
        }
        // Every slab is taken before any is adopted: on failure (or a panicking hook)
        // `grow` gives back what was taken.
        // SAFETY: `ctrl` is initialised and kept alive by this handle (I4), of geometry
        // `class`.
        unsafe { grow(ctrl, &class, slabs, |_| ()) }
    }

    /// Returns every empty slave slab to the free hook and says how many went back: the
    /// cache's `shrink_to_fit`. The calling thread's own magazines of this cache (what its
    /// `&self` allocations and box drops keep, `std` builds) go back to their slabs first;
    /// other threads keep theirs until they exit or call
    /// [`flush_thread_caches`](crate::flush_thread_caches).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<u64> = SlabCache::new();
    /// cache.reserve(5_000).unwrap();
    /// assert!(cache.shrink() > 0);
    /// assert_eq!(cache.stats().slabs, 1); // the master stays
    /// ```
    #[doc(alias("shrink_to_fit", "trim"))]
    pub fn shrink(&self) -> usize {
        let class = Self::CLASS;
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return 0;
        };
        let give_back = |d: &mut Depot, retired: &mut Retired| {
            // The calling thread's own magazines of this cache (its `&self` path) go back
            // first, as on the drop of a handle: a thread that shrinks the cache it uses
            // holds no slot of it back. Other threads' magazines are theirs (I23).
            // SAFETY: the lock is held (`d` comes from the guard, I9), `d` is the depot of
            // the control block at `ctrl`, and `class` is its geometry.
            #[cfg(all(feature = "std", not(loom)))]
            thread_table::with(|t| unsafe { t.detach_own(ctrl.addr().get(), d, &class, retired) });
            // Parked magazines go back to their slabs first, so their slabs can empty.
            // SAFETY: the lock is held (`d` comes from the guard, I9); `class` is the
            // depot's geometry.
            unsafe { d.drain_parked(&class, retired) };
            // SAFETY: the lock is held (`d` comes from the guard, I9), and `class` is the
            // depot's geometry; the parked slots are back in their slabs, so every empty
            // slave is on the empty list (I11).
            unsafe { d.retire_empty(&class, retired) };
            retired.len()
        };
        // SAFETY: alive: this handle counts in `handles` (I4); `class` is its geometry.
        unsafe { with_retiring(ctrl, &class, give_back) }
    }

    /// Sets how many empty slave slabs the cache keeps for reuse (default
    /// [`DEFAULT_KEEP_EMPTY`](crate::DEFAULT_KEEP_EMPTY)); frees beyond that return empty
    /// slabs to the hook at once.
    ///
    /// The default keeps alloc/free at a slab boundary off the hooks. A workload that
    /// frees a whole burst and allocates it again can keep its peak instead, with
    /// `keep_empty(usize::MAX)`, and hand it back with [`shrink`](Self::shrink) when it
    /// chooses: the next burst then takes no hook call and no new slab header
    /// (`SLAB_BENCH_KEEP_EMPTY` in the `s2-phases` benchmark measures the difference).
    /// Memory is then held at the peak; with the default, it goes back to the hooks.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<[u64; 8]> = SlabCache::new();
    /// cache.keep_empty(usize::MAX);
    /// let burst: Vec<_> = (0..1_000).map(|i| cache.alloc([i; 8])).collect();
    /// let (slabs, hook_allocs) = (cache.stats().slabs, cache.stats().hook_allocs);
    /// drop(burst);
    /// assert_eq!(cache.stats().slabs, slabs); // every slab kept, now empty
    /// let burst: Vec<_> = (0..1_000).map(|i| cache.alloc([i; 8])).collect();
    /// assert_eq!(cache.stats().hook_allocs, hook_allocs); // the hook was not called
    /// drop(burst);
    /// slab_core::flush_thread_caches(); // this thread's magazines of the cache, too
    /// assert_eq!(cache.shrink(), slabs - 1); // all but the master go back on request
    /// ```
    pub fn keep_empty(&self, n: usize) {
        let _ = self.with_depot(|d| d.set_keep_empty(n));
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: DefaultSource> Default for SlabCache<T, L, SIZE, S>
where
    SlabSize<SIZE>: ValidSlabSize,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> SlabCache<T, L, SIZE, S> {
    /// Like [`alloc`](Self::alloc), through this handle's own magazine: most calls take
    /// no lock and no atomic read-modify-write.
    ///
    /// Returns an owning [`SlabBox`], like `alloc`, not a `&mut T`: the `_mut` is the
    /// receiver. `&mut self` is what makes the magazine this handle's alone, so give each
    /// thread (or CPU) its own handle, a [`clone`](Clone::clone) of the cache.
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
    /// slab_core::slab_hooks!(global);
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
    #[doc(alias("alloc_local", "alloc_fast", "magazine"))]
    #[inline(always)]
    pub fn alloc_mut(&mut self, value: T) -> SlabBox<T, Self> {
        match self.mag_pop() {
            Ok(popped) => {
                // SAFETY: a free slot of this cache, owned by nobody else (I2).
                let b = unsafe { SlabBox::new_in(popped.slot(), value) };
                popped.settle();
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
    /// slab_core::slab_hooks!(global);
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
            Ok(popped) => {
                // SAFETY: a free slot of this cache, owned by nobody else (I2).
                let b = unsafe { SlabBox::new_in(popped.slot(), value) };
                popped.settle();
                Ok(b)
            }
            Err(e) => Err(AllocError::new(value, e)),
        }
    }

    /// Drops the box's value and keeps its slot in this handle's magazine for the next
    /// [`alloc_mut`](Self::alloc_mut). A box of another cache of the same type goes back
    /// to its own cache, as if dropped.
    ///
    /// Optional: dropping a box frees it too, from any thread, through the cache's lock;
    /// `free` is the lock-free way back into this handle's magazine.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut a: SlabCache<u32> = SlabCache::new();
    /// let b: SlabCache<u32> = SlabCache::new();
    /// let x = a.alloc_mut(1);
    /// let y = b.alloc(2);
    /// a.free(x);
    /// a.free(y); // not `a`'s: returned to `b`
    /// assert_eq!((a.stats().in_use, b.stats().in_use), (0, 0));
    /// ```
    #[doc(alias("dealloc", "release"))]
    #[inline]
    pub fn free(&mut self, b: SlabBox<T, Self>) {
        let value = SlabBox::into_raw(b);
        // SAFETY: `into_raw` returns the box's slot pointer, which is non-null: a box owns a
        // slot (I2).
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
        // SAFETY: a slot of a live slab of this cache type (the box owned it, I2; it keeps
        // its slab alive, I4), whose value is gone (I3); ours now.
        unsafe { hardening::on_release(slot, &class, name) };
        let h = slab::header_of(slot, &class);
        if hardening::CHECKS {
            slab::check_header(h, name);
        }
        // SAFETY: the slot is outstanding, so `h` is the live header of its slab (I1, I4);
        // `master` is written once at init and read through the raw pointer (another
        // thread may be writing the header's state under the lock, I12).
        let master = unsafe { (*h.as_ptr()).master }.cast::<Control<L, S>>();
        if self.mag_has_room(master) {
            // SAFETY: a free slot of our master's cache holding no value, ours to chain
            // (I2); a counter is claimed and there is room (`mag_has_room`).
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
    /// slab_core::slab_hooks!(global);
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
        let give_back = |d: &mut Depot, retired: &mut Retired| {
            // SAFETY: the lock is held (`d` comes from the guard, I9), and `d` is the depot
            // of this handle's master.
            unsafe { self.mags.give_back(d, &class, retired) };
        };
        // SAFETY: alive: this handle counts in `handles` (I4); `class` is its geometry.
        unsafe { with_retiring(ctrl, &class, give_back) };
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> Drop for SlabCache<T, L, SIZE, S> {
    fn drop(&mut self) {
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return;
        };
        let class = Self::CLASS;
        let mut destroy = DestroyOnDrop::new(ctrl, &class);
        let give_back = |d: &mut Depot, retired: &mut Retired| {
            // SAFETY: the lock is held (`d` comes from the guard, I9) and `d` is the depot
            // of the master this handle's magazines came from.
            unsafe { self.mags.give_back(d, &class, retired) };
            // The calling thread's own magazines of the cache go back with any of its
            // handles, so a thread that drops its handle when it is done has given back
            // everything (other threads give theirs back themselves, I23).
            // SAFETY: the lock is held (`d` comes from the guard, I9), `d` is the depot of
            // the control block at `ctrl`, and `class` is its geometry.
            #[cfg(all(feature = "std", not(loom)))]
            thread_table::with(|t| unsafe { t.detach_own(ctrl.addr().get(), d, &class, retired) });
            if d.drop_handle() {
                // No handle is left to allocate, so magazines parked by handles would
                // keep their slabs (and the master) forever: send them back now.
                // SAFETY: the lock is held (`d` comes from the guard, I9); `class` is this
                // depot's geometry.
                unsafe { d.drain_parked(&class, retired) };
            }
            if d.is_unused() {
                // SAFETY: under the lock, no handle and no slot is left; `destroy` is
                // dropped after `with_retiring` has released the lock (I4).
                unsafe { destroy.arm() };
            }
        };
        // SAFETY: alive: this handle still counts in `handles` (I4); `class` is its
        // geometry.
        unsafe { with_retiring(ctrl, &class, give_back) };
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> core::fmt::Debug
    for SlabCache<T, L, SIZE, S>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SlabCache").field(&self.stats()).finish()
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> Pool for SlabCache<T, L, SIZE, S> {
    type Lock = L;
    const SLAB_SIZE: usize = SIZE;
}

// SAFETY: `release` returns a slot of this cache's geometry to its own slab through the
// depot; boxes typed `SlabBox<T, SlabCache<T, L, SIZE, S>>` are only made from slots of a
// cache with this `T`, `L` and `SIZE` (or by `from_raw`, whose contract demands it), so
// `CLASS` is their geometry (I1) and the cache they return to is alive (I2, I4).
unsafe impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> crate::boxed::sealed::Sealed
    for SlabCache<T, L, SIZE, S>
{
    const CLASS: Class = Self::CLASS;

    fn owns(_slab: NonNull<u8>) -> Option<bool> {
        None // a type names many runtime caches; which one is unknown here
    }

    #[inline]
    unsafe fn release(slot: NonNull<u8>) {
        #[cfg(all(feature = "std", not(loom)))]
        {
            let class = Self::CLASS;
            let h = slab::header_of(slot, &class);
            if hardening::CHECKS {
                slab::check_header(h, core::any::type_name::<T>());
            }
            // SAFETY: the slot is outstanding, so `h` is the live header of its slab (I1,
            // I4); `master` is written once at init and read through the raw pointer
            // (another thread may be writing the header's state under the lock, I12).
            let master = unsafe { (*h.as_ptr()).master }.cast::<Control<L, S>>();
            // SAFETY: `slot` was handed out by the cache whose control block is `master`, a
            // `SlabCache<T, L, SIZE, S>` (`release`'s contract: a box of this type holds a slot
            // of a cache of this type), holds no value and is given up (I2).
            thread_table::with(|t| unsafe { t.give::<T, L, SIZE, S>(slot, master) });
        }
        // SAFETY: `slot` was handed out by a cache of this type and holds no value
        // (`release`'s contract), so it belongs to the depot of a live cache (the slot
        // keeps it alive, I4) of geometry `Self::CLASS` and lock `L`.
        #[cfg(not(all(feature = "std", not(loom))))]
        unsafe {
            depot_free::<L, S>(slot, &Self::CLASS, core::any::type_name::<T>())
        }
    }
}
