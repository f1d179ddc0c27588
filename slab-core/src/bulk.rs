//! Bulk allocation and free, like the kernel's `kmem_cache_alloc_bulk` and
//! `kmem_cache_free_bulk`: an array of values into an array of boxes in the caller's
//! frame, all or nothing, and a batch of boxes back in one trip.
//!
//! An allocation of `N` values (an array in, an array of boxes out, in the caller's frame)
//! takes `N` slots at once: cut off the holder's loaded magazine when it holds that many
//! (no lock, one update of its count), or after readying it with one depot trip, else from
//! the depot in one critical section, after growing the cache by every slab it lacks (all
//! taken from the hook before any is used, so a failing hook leaves nothing taken and the
//! values come back in the error). The `_with` forms take a function of the index instead
//! of an array: the slots are taken (all or nothing, the function not called on failure)
//! and taken off their holder first, then each value is built straight into its slot; a
//! panic drops what was made and gives every other slot back. A free drops the values,
//! links the slots into one chain, and splices it onto the holder's loaded magazine when
//! there is room for all of it (one update of its count), else gives it to the depot in one
//! critical section.
//!
//! The holders are those of the single paths: the calling thread's magazines for a
//! runtime cache's `&self` methods and for a `#[slab_cached]` type, a handle's own for the
//! `_mut` methods; without `std`, the depot.
//!
//! This module talks to `typed`, `thread_table`, `boxed`, `handle`, `chain`, `control`,
//! `slab`, `hardening`, `lock` and `error`.

use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::NonNull;

use crate::boxed::{Pool, SlabBox, SlotGuard};
use crate::chain::Chain;
use crate::control::Control;
use crate::error::{AllocError, SlabError, alloc_failed};
use crate::handle::SlabCache;
use crate::hardening;
use crate::lock::LockTrait;
use crate::magazine::Batch;
use crate::slab;
use crate::source::SlabSource;
#[cfg(all(feature = "std", not(loom)))]
use crate::thread_table;
use crate::typed::{SlabCached, TypePool, sealed::Sealed as _};

/// Moves the `N` values out of `values` into the first `N` slots of the chain at `head`, in
/// order, and returns their boxes (the boxes of a bulk allocation) and the link of the
/// last slot used. Nothing here calls user code, so nothing unwinds midway (a hardening
/// check that finds the chain corrupted panics, and what it has not reached is lost to the
/// panic).
///
/// # Safety
/// `head` heads a chain of at least `N` free slots of `C`'s cache whose first `N` are the
/// caller's, given up to the boxes (I2, I5); every slot of that cache is sized and aligned
/// for `T`. The values are moved out: the caller does not use or drop `values` again.
#[inline(always)]
unsafe fn fill<T, C: Pool, const N: usize>(
    head: *mut u8,
    values: &ManuallyDrop<[T; N]>,
) -> ([SlabBox<T, C>; N], *mut u8) {
    let class = C::CLASS;
    let name = core::any::type_name::<T>();
    let mut boxes: [MaybeUninit<SlabBox<T, C>>; N] = [const { MaybeUninit::uninit() }; N];
    let mut next = head;
    for (value, out) in values.iter().zip(&mut boxes) {
        // SAFETY: the chain holds at least `N` slots (contract), so each of the first `N`
        // positions, this one included, is a slot, which is non-null.
        let slot = unsafe { NonNull::new_unchecked(next) };
        // SAFETY: a free slot of the chain, ours (contract): its first word is its link
        // (I5), read before the slot is written.
        next = unsafe { hardening::read_link(slot, &class, name) };
        // SAFETY: a free slot of `C`'s cache, taken for this batch and ours (I2).
        unsafe { hardening::on_handout(slot, &class, name) };
        // SAFETY: each value is read once, here: a move out of the array, which the caller
        // does not use again (contract).
        let value = unsafe { core::ptr::read(value) };
        // SAFETY: the slot is ours, sized and aligned for `T` (contract, I5); `C` is its
        // pool.
        out.write(unsafe { SlabBox::new_in(slot, value) });
    }
    // SAFETY: every element was written above (`zip` of two arrays of `N`), and
    // `[MaybeUninit<X>; N]` has the layout of `[X; N]`.
    let boxes = unsafe { (&raw const boxes).cast::<[SlabBox<T, C>; N]>().read() };
    (boxes, next)
}

/// Where a bulk allocation takes its slots: a holder's magazines, or the depot.
trait Holder {
    /// `n > 0` free slots, all or nothing: lent by the loaded magazine, or a chain of its
    /// own.
    fn take(&mut self, n: u32) -> Result<Batch, SlabError>;

    /// Takes the `n` slots that `take` just lent out of the loaded magazine.
    ///
    /// # Safety
    /// `take(n)` just returned `Batch::Lent`, nothing used the holder since, and `rest` is
    /// the link the `n`-th slot held.
    unsafe fn settle(&mut self, rest: *mut u8, n: u32);
}

/// The calling thread's magazines of a runtime cache (`&self`; without `std`, the depot).
struct Shared<'c, T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
    &'c SlabCache<T, L, SIZE, S>,
);

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> Holder
    for Shared<'_, T, L, SIZE, S>
{
    #[inline(always)]
    fn take(&mut self, n: u32) -> Result<Batch, SlabError> {
        #[cfg(all(feature = "std", not(loom)))]
        {
            thread_table::with(|t| t.take_bulk(self.0, n))
        }
        #[cfg(not(all(feature = "std", not(loom))))]
        {
            self.0.take_bulk_depot(n).map(Batch::Own)
        }
    }

    #[inline(always)]
    unsafe fn settle(&mut self, rest: *mut u8, n: u32) {
        // SAFETY: this function's contract is `Table::settle_bulk`'s.
        #[cfg(all(feature = "std", not(loom)))]
        thread_table::with(|t| unsafe { t.settle_bulk(self.0, rest, n) });
        #[cfg(not(all(feature = "std", not(loom))))]
        let _ = (rest, n); // the depot lends nothing
    }
}

/// A handle's own magazines.
struct Handle<'c, T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
    &'c mut SlabCache<T, L, SIZE, S>,
);

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> Holder
    for Handle<'_, T, L, SIZE, S>
{
    #[inline(always)]
    fn take(&mut self, n: u32) -> Result<Batch, SlabError> {
        self.0.mag_take_bulk(n)
    }

    #[inline(always)]
    unsafe fn settle(&mut self, rest: *mut u8, n: u32) {
        // SAFETY: this function's contract is `mag_settle_bulk`'s.
        unsafe { self.0.mag_settle_bulk(rest, n) };
    }
}

/// The calling thread's magazines of a `#[slab_cached]` type (without `std`, the depot).
struct Typed<T>(core::marker::PhantomData<fn() -> T>);

impl<T: SlabCached> Holder for Typed<T> {
    #[inline(always)]
    fn take(&mut self, n: u32) -> Result<Batch, SlabError> {
        let cache = T::slab_cache();
        #[cfg(feature = "std")]
        {
            // SAFETY: `T::__magazines()` are the magazines of `T::Cache`'s type (I10).
            T::__magazines().with(|m| unsafe { cache.take_bulk(Some(m), n) })
        }
        #[cfg(not(feature = "std"))]
        // SAFETY: no magazines: the depot.
        unsafe {
            cache.take_bulk(None, n)
        }
    }

    #[inline(always)]
    unsafe fn settle(&mut self, rest: *mut u8, n: u32) {
        // SAFETY: `T::__magazines()` are the magazines that lent the slots (I10); the rest
        // of the contract is `settle_bulk`'s, as this function's.
        #[cfg(feature = "std")]
        T::__magazines().with(|m| unsafe { T::Cache::settle_bulk(m, rest, n) });
        #[cfg(not(feature = "std"))]
        let _ = (rest, n); // the depot lends nothing
    }
}

/// What a bulk allocation of `N` values gives: the boxes, or the values and why not.
type Bulk<T, C, const N: usize> = Result<[SlabBox<T, C>; N], ([T; N], SlabError)>;

/// A bulk allocation of `N` values from `holder`: `N` slots at once (all or nothing), and
/// on failure the values come back with the error.
#[inline(always)]
fn alloc_array<T, C: Pool, const N: usize>(
    values: [T; N],
    mut holder: impl Holder,
) -> Bulk<T, C, N> {
    let Ok(n) = u32::try_from(N) else {
        return Err((values, SlabError::CapacityOverflow));
    };
    let batch = if n == 0 {
        Batch::Own(Chain::EMPTY)
    } else {
        match holder.take(n) {
            Ok(batch) => batch,
            Err(e) => return Err((values, e)),
        }
    };
    let values = ManuallyDrop::new(values);
    // SAFETY: the batch's first `n = N` slots are free slots of `C`'s cache, ours (I2);
    // `values` is not used again.
    let (boxes, rest) = unsafe { fill(batch.chain().head, &values) };
    if let Batch::Lent(_) = batch {
        // SAFETY: the holder lent them just now, nothing used it since (`fill` runs no
        // user code), and `rest` is the link of the `N`-th.
        unsafe { holder.settle(rest, n) };
    }
    Ok(boxes)
}

/// The slots of a bulk allocation by a function, and the boxes made so far. Dropped
/// before it is spent (the function panicked), it drops those boxes and gives the other
/// slots back one by one, through their cache, as a dropped box would.
struct Building<T, C: Pool, const N: usize> {
    /// The batch's slots, handed out (I2) and settled off their holder.
    slots: [NonNull<u8>; N],
    /// `boxes[..done]` are written.
    boxes: [MaybeUninit<SlabBox<T, C>>; N],
    done: usize,
}

impl<T, C: Pool, const N: usize> Drop for Building<T, C, N> {
    fn drop(&mut self) {
        for b in &mut self.boxes[..self.done] {
            // SAFETY: the first `done` boxes were written and nothing moved them out (a
            // spent guard is forgotten, not dropped).
            unsafe { b.assume_init_drop() };
        }
        for &slot in &self.slots[self.done..] {
            // SAFETY: a slot of the batch, handed out, ours, and holding no value (the
            // function never returned one for it, I2, I3): it goes back to its cache
            // exactly once, here.
            drop(unsafe { SlotGuard::<T, C>::new(slot.cast()) });
        }
    }
}

/// A bulk allocation of `N` values that `make(0)`, `make(1)`, … build, each written
/// straight into its slot: the `N` slots are taken at once (all or nothing, and `make`
/// is not called on failure) and taken off their holder before `make` first runs, so
/// `make` may allocate from the same cache. If `make` panics, the boxes made so far are
/// dropped and every other slot goes back.
#[inline(always)]
fn alloc_array_with<T, C: Pool, const N: usize>(
    mut make: impl FnMut(usize) -> T,
    mut holder: impl Holder,
) -> Result<[SlabBox<T, C>; N], SlabError> {
    let n = u32::try_from(N).map_err(|_| SlabError::CapacityOverflow)?;
    let batch = if n == 0 {
        Batch::Own(Chain::EMPTY)
    } else {
        holder.take(n)?
    };
    let class = C::CLASS;
    let name = core::any::type_name::<T>();
    let mut slots = [NonNull::<u8>::dangling(); N];
    let mut next = batch.chain().head;
    for s in &mut slots {
        // SAFETY: the batch's chain holds at least `N` slots, so each of its first `N`
        // positions is a slot, which is non-null.
        let slot = unsafe { NonNull::new_unchecked(next) };
        // SAFETY: a free slot of the chain, ours (I2): its first word is its link (I5),
        // read before anything writes the slot.
        next = unsafe { hardening::read_link(slot, &class, name) };
        // SAFETY: a free slot of `C`'s cache, taken for this batch and ours (I2).
        unsafe { hardening::on_handout(slot, &class, name) };
        *s = slot;
    }
    if let Batch::Lent(_) = batch {
        // SAFETY: the holder lent them just now, nothing used it since (no user code has
        // run), and `next` is the link of the `N`-th.
        unsafe { holder.settle(next, n) };
    }
    let mut building = Building::<T, C, N> {
        slots,
        boxes: [const { MaybeUninit::uninit() }; N],
        done: 0,
    };
    while building.done < N {
        let k = building.done;
        let slot = building.slots[k];
        let value = make(k);
        // SAFETY: slot `k` of the batch is ours and holds no value (I2); every slot of
        // `C`'s cache is sized and aligned for `T` (I5).
        building.boxes[k].write(unsafe { SlabBox::new_in(slot, value) });
        building.done = k + 1;
    }
    let building = ManuallyDrop::new(building);
    // SAFETY: all `N` boxes were written (`done == N`), and the guard is not dropped, so
    // they are moved out once; `[MaybeUninit<X>; N]` has the layout of `[X; N]`.
    Ok(unsafe {
        (&raw const building.boxes)
            .cast::<[SlabBox<T, C>; N]>()
            .read()
    })
}

/// The slots of a bulk free so far: a null-terminated chain linked through their first
/// words, from `head` (the last slot added) to the first slot added, its `tail`. Only the
/// head lives in the guard, which must be in memory where the loop can unwind (a value's
/// destructor, the iterator, a box of another cache); the count and the tail stay in
/// registers. Dropped unspent (a panic), it counts the chain by walking it and gives it
/// back with `spill`.
struct Gather<'c, S: FnMut(Chain)> {
    head: *mut u8,
    class: &'c crate::geometry::Class,
    name: &'static str,
    spill: S,
}

impl<'c, S: FnMut(Chain)> Gather<'c, S> {
    fn new(class: &'c crate::geometry::Class, name: &'static str, spill: S) -> Self {
        Gather {
            head: core::ptr::null_mut(),
            class,
            name,
            spill,
        }
    }

    /// Drops the value of the box at `p` (if `T` needs it) and links its slot onto the
    /// chain; if the value's destructor panics, the slot goes back through the box's pool.
    ///
    /// # Safety
    /// `p` is a box's pointer (`into_raw`) to an initialised `T`, given up by the caller,
    /// in a slot of the cache the chain collects (of geometry `class`).
    #[inline(always)]
    unsafe fn take<T, C: Pool>(&mut self, p: NonNull<T>) -> NonNull<u8> {
        if core::mem::needs_drop::<T>() {
            // SAFETY: the box owned this slot of `C`'s cache; the guard is dropped only
            // while `T::drop` unwinds, after the value is gone, and disarmed otherwise (I2).
            let guard = unsafe { SlotGuard::<T, C>::new(p) };
            // SAFETY: the box owned an initialised `T` here, dropped exactly once (I3).
            unsafe { p.drop_in_place() };
            guard.disarm();
        }
        let slot = p.cast::<u8>();
        // SAFETY: a slot of a live slab of this cache (it keeps it alive, I4), whose value
        // is gone (I3); ours now.
        unsafe { hardening::on_release(slot, self.class, self.name) };
        // SAFETY: a free slot, ours, holding no value: its first word is the allocator's
        // link word (I5).
        unsafe { hardening::write_link(slot, self.head, self.class) };
        hardening::asan_poison(slot, self.class);
        self.head = slot.as_ptr();
        slot
    }

    /// Gives the chain so far (`count` slots) back with `spill` and starts a new one.
    fn spill(&mut self, count: u32) {
        let head = core::mem::replace(&mut self.head, core::ptr::null_mut());
        if count > 0 {
            (self.spill)(Chain { head, count });
        }
    }

    /// The chain of `count` slots, leaving nothing to spill.
    fn finish(mut self, count: u32) -> Chain {
        let head = core::mem::replace(&mut self.head, core::ptr::null_mut());
        Chain { head, count }
    }
}

impl<S: FnMut(Chain)> Drop for Gather<'_, S> {
    /// A panic: count the chain by walking it (it ends in null) and give it back.
    fn drop(&mut self) {
        let mut count = 0;
        let mut cur = self.head;
        while let Some(slot) = NonNull::new(cur) {
            // SAFETY: a free slot of the chain this guard owns, linked by `take` (I2, I5).
            cur = unsafe { hardening::read_link(slot, self.class, self.name) };
            count += 1;
        }
        self.spill(count);
    }
}

/// The loop of a bulk free: every box of `boxes` for which `mine` (given its address) is
/// true has its value dropped and its slot linked onto the chain, the others are dropped
/// one by one. Returns the chain and its tail (its first slot).
#[inline(always)]
fn gather_loop<T, C: Pool, S: FnMut(Chain)>(
    boxes: impl IntoIterator<Item = SlabBox<T, C>>,
    mut mine: impl FnMut(NonNull<u8>) -> bool,
    spill: S,
) -> Option<(Chain, NonNull<u8>)> {
    let class = C::CLASS;
    let mut gather = Gather::new(&class, core::any::type_name::<T>(), spill);
    let mut count: u32 = 0;
    let mut tail = None;
    for b in boxes {
        // A box's pointer is non-null.
        let at = NonNull::new(SlabBox::as_ptr(&b).cast_mut()).unwrap_or(NonNull::dangling());
        if !mine(at.cast()) {
            drop_elsewhere(b); // another cache of the same type: home by its own way
            continue;
        }
        let (p, ()) = SlabBox::into_parts(b);
        // SAFETY: a live box's pointer to an initialised `T` in a slot of the cache the
        // chain collects (`mine`), given up to us.
        let slot = unsafe { gather.take::<T, C>(p) };
        if count == 0 {
            tail = Some(slot);
        }
        count += 1;
        if count == u32::MAX {
            gather.spill(count);
            count = 0;
            tail = None;
        }
    }
    let chain = gather.finish(count);
    tail.map(|tail| (chain, tail))
}

/// Drops a box of a bulk free that belongs to another cache: out of the batch's loop.
#[cold]
#[inline(never)]
fn drop_elsewhere<B>(b: B) {
    drop(b);
}

/// The control block of the cache that `slot`, a live box's, belongs to (one read of its
/// slab header).
#[inline(always)]
fn master_of<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
    slot: NonNull<u8>,
) -> NonNull<Control<L, S>> {
    let class = SlabCache::<T, L, SIZE, S>::CLASS;
    let h = slab::header_of(slot, &class);
    if hardening::CHECKS {
        slab::check_header(h, core::any::type_name::<T>());
    }
    // SAFETY: the slot is outstanding (its box is alive), so `h` is the live header of its
    // slab (I1, I4); `master` is written once at init and read through the raw pointer
    // (I12).
    unsafe { (*h.as_ptr()).master }.cast()
}

/// A bulk free's chain, its last slot, and the control block of the cache it belongs to.
type Gathered<L, S> = (Chain, NonNull<u8>, NonNull<Control<L, S>>);

/// Drops the values of `boxes` and collects the slots of the cache of `key` into one chain
/// (boxes of other caches go back one by one, as dropped), returning it with its tail and
/// that cache's control block; a panic leaves nothing behind (the slots collected so far
/// go to the depot, the rest of the boxes are dropped).
#[inline(always)]
fn gather_runtime<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>(
    boxes: impl IntoIterator<Item = SlabBox<T, SlabCache<T, L, SIZE, S>>>,
    key: *mut Control<L, S>,
) -> Option<Gathered<L, S>> {
    let class = SlabCache::<T, L, SIZE, S>::CLASS;
    let master = NonNull::new(key)?;
    let spill = |chain: Chain| {
        // SAFETY: free slots of the cache of `master` (they keep it alive, I4), given up.
        unsafe { crate::magazine::depot_give_chain(master, &class, chain) };
    };
    // The slab of the last box checked: a batch's boxes mostly share a few slabs, and two
    // slots in one slab-sized, slab-aligned block are in one slab (I1), so one header read
    // per slab, not per box.
    let mut last_slab = 0;
    let mine = |slot: NonNull<u8>| {
        let slab = slot.addr().get() & !(SIZE - 1);
        if slab == last_slab {
            return true;
        }
        let ours = master_of::<T, L, SIZE, S>(slot) == master;
        if ours {
            last_slab = slab;
        }
        ours
    };
    gather_loop(boxes, mine, spill).map(|(chain, tail)| (chain, tail, master))
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> SlabCache<T, L, SIZE, S> {
    /// Allocates a box for each of `N` values, all or nothing, as one batch: the `N` slots
    /// are taken at once, from the calling thread's magazine of this cache when it holds
    /// that many (no lock), else from the depot in one trip, and the boxes come back in an
    /// array in the caller's frame (like the kernel's `kmem_cache_alloc_bulk`, which fills
    /// the caller's array of pointers).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    ///
    /// static PACKETS: SlabCache<[u8; 1500]> = SlabCache::new();
    /// let batch = PACKETS.alloc_bulk(std::array::from_fn::<_, 16, _>(|i| [i as u8; 1500]));
    /// assert_eq!(batch[15][0], 15);
    /// PACKETS.free_bulk(batch); // one trip back
    /// assert_eq!(PACKETS.stats().in_use, 0);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T` (nothing is allocated); see
    /// [`try_alloc_bulk`](Self::try_alloc_bulk).
    #[inline]
    pub fn alloc_bulk<const N: usize>(&self, values: [T; N]) -> [SlabBox<T, Self>; N] {
        match alloc_array(values, Shared(self)) {
            Ok(boxes) => boxes,
            Err((values, e)) => {
                drop(values);
                alloc_failed::<T>(SIZE, e)
            }
        }
    }

    /// Like [`alloc_bulk`](Self::alloc_bulk), or hands every value back: on failure nothing
    /// is allocated.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<u64> = SlabCache::new();
    /// let boxes = cache.try_alloc_bulk([1, 2, 3]).unwrap();
    /// assert_eq!(boxes.iter().map(|b| **b).sum::<u64>(), 6);
    /// ```
    ///
    /// # Errors
    /// [`AllocError`] with [`SlabError::OutOfMemory`] when the hook has no memory for the
    /// slabs the batch needs (those it gave go back), or [`SlabError::CapacityOverflow`]
    /// for more than `u32::MAX` values; `into_inner` returns the values, untouched.
    #[inline]
    pub fn try_alloc_bulk<const N: usize>(
        &self,
        values: [T; N],
    ) -> Result<[SlabBox<T, Self>; N], AllocError<[T; N]>> {
        alloc_array(values, Shared(self)).map_err(|(v, e)| AllocError::new(v, e))
    }

    /// Like [`alloc_bulk`](Self::alloc_bulk), with each value built by `make(k)` for
    /// `k` in `0..N` straight into its slot (as `core::array::from_fn` would build an
    /// array), so no array of values passes through the caller's frame: the form for
    /// large values, whose array would be copied (and could overflow the stack); for small
    /// values the array form is faster (this one walks the batch's links before `make`
    /// first runs, which the array form does while it writes). `make` runs only once all
    /// `N` slots are taken, and may allocate from this cache; if it panics, the boxes made
    /// so far are dropped and every slot goes back.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    ///
    /// static PACKETS: SlabCache<[u8; 1500]> = SlabCache::new();
    /// let batch = PACKETS.alloc_bulk_with::<16>(|k| [k as u8; 1500]);
    /// assert_eq!(batch[15][1499], 15);
    /// PACKETS.free_bulk(batch);
    /// assert_eq!(PACKETS.stats().in_use, 0);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T` (`make` is not called); see
    /// [`try_alloc_bulk_with`](Self::try_alloc_bulk_with).
    #[inline]
    pub fn alloc_bulk_with<const N: usize>(
        &self,
        make: impl FnMut(usize) -> T,
    ) -> [SlabBox<T, Self>; N] {
        alloc_array_with(make, Shared(self)).unwrap_or_else(|e| alloc_failed::<T>(SIZE, e))
    }

    /// Like [`alloc_bulk_with`](Self::alloc_bulk_with), or says why there are no slots
    /// (and does not call `make`).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<u64> = SlabCache::new();
    /// let boxes = cache.try_alloc_bulk_with::<4>(|k| k as u64 * 10).unwrap();
    /// assert_eq!(*boxes[3], 30);
    /// ```
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] when the hook has no memory for the slabs the batch
    /// needs (those it gave go back), or [`SlabError::CapacityOverflow`] for more than
    /// `u32::MAX` values.
    #[inline]
    pub fn try_alloc_bulk_with<const N: usize>(
        &self,
        make: impl FnMut(usize) -> T,
    ) -> Result<[SlabBox<T, Self>; N], SlabError> {
        alloc_array_with(make, Shared(self))
    }

    /// Drops the values of `boxes` and gives their slots back in one trip: onto the calling
    /// thread's magazine of this cache when it has room for the whole batch, else to the
    /// depot under one lock (like the kernel's `kmem_cache_free_bulk`). Boxes of another
    /// cache of the same type go back as if dropped.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<String> = SlabCache::new();
    /// let names: Vec<_> = ["a", "b", "c"].iter().map(|s| cache.alloc(s.to_string())).collect();
    /// cache.free_bulk(names);
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    ///
    /// A destructor that panics gives its slot back, and the rest of the batch with it.
    #[inline]
    pub fn free_bulk(&self, boxes: impl IntoIterator<Item = SlabBox<T, Self>>) {
        let key = self.ctrl.load(crate::sync::Ordering::Acquire);
        let Some((chain, tail, master)) = gather_runtime::<T, L, SIZE, S>(boxes, key) else {
            return;
        };
        // SAFETY: the chain holds free slots of the cache of `master`, holding no value,
        // given up (gathered above, I2); `tail` is its last slot.
        #[cfg(all(feature = "std", not(loom)))]
        thread_table::with(|t| unsafe { t.give_bulk::<T, L, SIZE, S>(master, chain, tail) });
        #[cfg(not(all(feature = "std", not(loom))))]
        {
            let _ = (tail, master);
            // SAFETY: free slots of this cache, holding no value, given up (I2).
            unsafe { self.give_bulk_depot(chain) };
        }
    }

    /// Like [`alloc_bulk`](Self::alloc_bulk), through this handle's own magazine (see
    /// [`alloc_mut`](Self::alloc_mut)).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<[u64; 8]> = SlabCache::new();
    /// for round in 0..100 {
    ///     let batch = cache.alloc_bulk_mut([[round; 8]; 16]);
    ///     cache.free_bulk_mut(batch); // back into the handle's magazine
    /// }
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`; see
    /// [`try_alloc_bulk_mut`](Self::try_alloc_bulk_mut).
    #[inline]
    pub fn alloc_bulk_mut<const N: usize>(&mut self, values: [T; N]) -> [SlabBox<T, Self>; N] {
        match alloc_array(values, Handle(self)) {
            Ok(boxes) => boxes,
            Err((values, e)) => {
                drop(values);
                alloc_failed::<T>(SIZE, e)
            }
        }
    }

    /// Like [`try_alloc_bulk`](Self::try_alloc_bulk), through this handle's own magazine.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<u32> = SlabCache::new();
    /// let boxes = cache.try_alloc_bulk_mut([5; 10]).unwrap();
    /// assert_eq!(*boxes[9], 5);
    /// ```
    ///
    /// # Errors
    /// As [`try_alloc_bulk`](Self::try_alloc_bulk).
    #[inline]
    pub fn try_alloc_bulk_mut<const N: usize>(
        &mut self,
        values: [T; N],
    ) -> Result<[SlabBox<T, Self>; N], AllocError<[T; N]>> {
        alloc_array(values, Handle(self)).map_err(|(v, e)| AllocError::new(v, e))
    }

    /// Like [`alloc_bulk_with`](Self::alloc_bulk_with), through this handle's own
    /// magazine.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<[u64; 8]> = SlabCache::new();
    /// for round in 0..100 {
    ///     let batch = cache.alloc_bulk_mut_with::<16>(|k| [round * 16 + k as u64; 8]);
    ///     assert_eq!(batch[15][7], round * 16 + 15);
    ///     cache.free_bulk_mut(batch);
    /// }
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    ///
    /// # Panics
    /// As [`alloc_bulk_with`](Self::alloc_bulk_with).
    #[inline]
    pub fn alloc_bulk_mut_with<const N: usize>(
        &mut self,
        make: impl FnMut(usize) -> T,
    ) -> [SlabBox<T, Self>; N] {
        alloc_array_with(make, Handle(self)).unwrap_or_else(|e| alloc_failed::<T>(SIZE, e))
    }

    /// Like [`try_alloc_bulk_with`](Self::try_alloc_bulk_with), through this handle's own
    /// magazine.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<u32> = SlabCache::new();
    /// let boxes = cache.try_alloc_bulk_mut_with::<10>(|k| k as u32).unwrap();
    /// assert_eq!(*boxes[9], 9);
    /// ```
    ///
    /// # Errors
    /// As [`try_alloc_bulk_with`](Self::try_alloc_bulk_with).
    #[inline]
    pub fn try_alloc_bulk_mut_with<const N: usize>(
        &mut self,
        make: impl FnMut(usize) -> T,
    ) -> Result<[SlabBox<T, Self>; N], SlabError> {
        alloc_array_with(make, Handle(self))
    }

    /// Like [`free_bulk`](Self::free_bulk), into this handle's own magazine (see
    /// [`free`](Self::free)) when it has room for the batch.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<u64> = SlabCache::new();
    /// let boxes: Vec<_> = (0..32).map(|i| cache.alloc_mut(i)).collect();
    /// cache.free_bulk_mut(boxes); // a `Vec`, an array, any iterator of boxes
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    #[inline]
    pub fn free_bulk_mut(&mut self, boxes: impl IntoIterator<Item = SlabBox<T, Self>>) {
        let key = self.ctrl.load(crate::sync::Ordering::Acquire);
        let Some((chain, tail, master)) = gather_runtime::<T, L, SIZE, S>(boxes, key) else {
            return;
        };
        // SAFETY: the chain holds free slots of the cache of `master`, holding no value,
        // given up (gathered above, I2); `tail` is its last slot.
        unsafe { self.mag_give_bulk(chain, tail, master) };
    }
}

impl<T: SlabCached> SlabBox<T, TypePool<T>> {
    /// Allocates a box of `T`'s cache for each of `N` values, all or nothing, as one batch:
    /// the slots are taken at once, from this thread's magazine of `T` when it holds that
    /// many, else from the depot in one trip (see [`SlabCache::alloc_bulk`]).
    ///
    /// ```
    /// use slab_core::{Boxed, slab_cached};
    /// slab_core::slab_hooks!(global);
    ///
    /// #[slab_cached]
    /// struct Bullet {
    ///     pos: [f32; 2],
    /// }
    ///
    /// let volley: [Boxed<Bullet>; 16] =
    ///     Boxed::new_bulk(std::array::from_fn(|i| Bullet { pos: [i as f32, 0.0] }));
    /// assert_eq!(volley[15].pos[0], 15.0);
    /// Boxed::free_bulk(volley);
    /// assert_eq!(Bullet::slab_cache().stats().in_use, 0);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`; see
    /// [`try_new_bulk`](Self::try_new_bulk).
    #[inline]
    pub fn new_bulk<const N: usize>(values: [T; N]) -> [Self; N] {
        match alloc_array(values, Typed::<T>(core::marker::PhantomData)) {
            Ok(boxes) => boxes,
            Err((values, e)) => {
                drop(values);
                alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e)
            }
        }
    }

    /// Like [`new_bulk`](Self::new_bulk), or hands every value back: on failure nothing is
    /// allocated.
    ///
    /// ```
    /// use slab_core::{Boxed, slab_cached};
    /// slab_core::slab_hooks!(global);
    /// #[slab_cached]
    /// struct Id(u32);
    /// let ids = Boxed::try_new_bulk([Id(1), Id(2)]).unwrap_or_else(|e| panic!("{e}"));
    /// assert_eq!(ids[1].0, 2);
    /// ```
    ///
    /// # Errors
    /// As [`SlabCache::try_alloc_bulk`].
    #[inline]
    pub fn try_new_bulk<const N: usize>(values: [T; N]) -> Result<[Self; N], AllocError<[T; N]>> {
        alloc_array(values, Typed::<T>(core::marker::PhantomData))
            .map_err(|(v, e)| AllocError::new(v, e))
    }

    /// Like [`new_bulk`](Self::new_bulk), with each value built by `make(k)` for `k` in
    /// `0..N` straight into its slot (see [`SlabCache::alloc_bulk_with`]): no array of
    /// values passes through the caller's frame.
    ///
    /// ```
    /// use slab_core::{Boxed, slab_cached};
    /// slab_core::slab_hooks!(global);
    ///
    /// #[slab_cached]
    /// struct Bullet {
    ///     pos: [f32; 2],
    /// }
    ///
    /// let volley: [Boxed<Bullet>; 16] = Boxed::new_bulk_with(|k| Bullet { pos: [k as f32, 0.0] });
    /// assert_eq!(volley[15].pos[0], 15.0);
    /// Boxed::free_bulk(volley);
    /// assert_eq!(Bullet::slab_cache().stats().in_use, 0);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T` (`make` is not called); see
    /// [`try_new_bulk_with`](Self::try_new_bulk_with).
    #[inline]
    pub fn new_bulk_with<const N: usize>(make: impl FnMut(usize) -> T) -> [Self; N] {
        alloc_array_with(make, Typed::<T>(core::marker::PhantomData))
            .unwrap_or_else(|e| alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e))
    }

    /// Like [`new_bulk_with`](Self::new_bulk_with), or says why there are no slots (and
    /// does not call `make`).
    ///
    /// ```
    /// use slab_core::{Boxed, slab_cached};
    /// slab_core::slab_hooks!(global);
    /// #[slab_cached]
    /// struct Id(u32);
    /// let ids: [Boxed<Id>; 3] = Boxed::try_new_bulk_with(|k| Id(k as u32)).unwrap();
    /// assert_eq!(ids[2].0, 2);
    /// ```
    ///
    /// # Errors
    /// As [`SlabCache::try_alloc_bulk_with`].
    #[inline]
    pub fn try_new_bulk_with<const N: usize>(
        make: impl FnMut(usize) -> T,
    ) -> Result<[Self; N], SlabError> {
        alloc_array_with(make, Typed::<T>(core::marker::PhantomData))
    }

    /// Drops the values of `boxes` and gives their slots back in one trip: onto this
    /// thread's magazine of `T` when it has room for the whole batch, else to the depot
    /// under one lock.
    ///
    /// ```
    /// use slab_core::{Boxed, slab_cached};
    /// slab_core::slab_hooks!(global);
    /// #[slab_cached]
    /// struct Spark(u8);
    /// let sparks: Vec<Boxed<Spark>> = (0..40).map(|i| Spark::new_boxed(Spark(i))).collect();
    /// Boxed::free_bulk(sparks);
    /// assert_eq!(Spark::slab_cache().stats().in_use, 0);
    /// ```
    #[inline]
    pub fn free_bulk(boxes: impl IntoIterator<Item = Self>) {
        let class = <TypePool<T> as crate::boxed::sealed::Sealed>::CLASS;
        let cache = T::slab_cache();
        let spill = |chain: Chain| {
            // SAFETY: free slots of `T`'s cache, given up, to its depot.
            unsafe { cache.give_bulk(None, chain, NonNull::dangling()) };
        };
        let _ = class;
        // Every `Boxed<T>` holds a slot of `T`'s cache (I10).
        let Some((chain, tail)) = gather_loop(boxes, |_| true, spill) else {
            return;
        };
        // SAFETY: `T::__magazines()` are the magazines of `T::Cache`'s type (I10); the
        // chain holds free slots of `T`'s cache, holding no value, given up; `tail` is its
        // last slot.
        #[cfg(feature = "std")]
        T::__magazines().with(|m| unsafe { cache.give_bulk(Some(m), chain, tail) });
        // SAFETY: the same, to the depot.
        #[cfg(not(feature = "std"))]
        unsafe {
            cache.give_bulk(None, chain, tail)
        };
    }
}
