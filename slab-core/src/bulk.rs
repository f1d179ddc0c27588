//! Bulk allocation and free, like the kernel's `kmem_cache_alloc_bulk` and
//! `kmem_cache_free_bulk`: a batch of values into boxes appended to the caller's buffer,
//! all or nothing, and a batch of boxes back in one trip.
//!
//! An allocation of `n` takes `n` slots at once: cut off the holder's loaded magazine
//! when it holds that many (no lock, one update of its count), else from the depot in one
//! critical section, after growing the cache by every slab it lacks (all taken from the
//! hook before any is used, so a failing hook leaves nothing taken and the values come
//! back in the error). A free drops the values, links the slots into one chain, and
//! splices it onto the holder's loaded magazine when there is room for all of it (one
//! update of its count), else gives it to the depot in one critical section.
//!
//! The holders are those of the single paths: the calling thread's magazines for a
//! runtime cache's `&self` methods and for a `#[slab_cached]` type, a handle's own for the
//! `_mut` methods; without `std`, the depot.
//!
//! This module talks to `typed`, `thread_table`, `boxed`, `handle`, `chain`, `control`,
//! `slab`, `hardening`, `lock` and `error`.

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use crate::boxed::{Pool, SlabBox, SlotGuard};
use crate::chain::{Chain, Drain};
use crate::control::Control;
use crate::error::{AllocError, SlabError, alloc_failed};
use crate::handle::SlabCache;
use crate::hardening;
use crate::lock::LockTrait;
use crate::slab;
#[cfg(all(feature = "std", not(loom)))]
use crate::thread_table;
use crate::typed::{SlabCached, TypePool, sealed::Sealed as _};

/// The boxes of a bulk allocation, made as `Extend` asks for them: each takes the next slot
/// of the batch and the next value. Slots left when the values run out (an iterator whose
/// `size_hint` promised more), or when the buffer stops asking, go back to their cache when
/// this is dropped.
struct Fill<'a, T, C: Pool, I> {
    slots: Drain<'a>,
    left: usize,
    values: &'a mut I,
    name: &'static str,
    _pool: PhantomData<fn() -> SlabBox<T, C>>,
}

impl<T, C: Pool, I: Iterator<Item = T>> Iterator for Fill<'_, T, C, I> {
    type Item = SlabBox<T, C>;

    #[inline]
    fn next(&mut self) -> Option<SlabBox<T, C>> {
        if self.left == 0 {
            return None;
        }
        let value = self.values.next()?;
        // The chain holds `left > 0` more slots; its link is read before it is yielded.
        let slot = self.slots.next()?;
        self.left -= 1;
        // SAFETY: a free slot of `C`'s cache, taken for this batch and ours (I2).
        unsafe { hardening::on_handout(slot, &C::CLASS, self.name) };
        // SAFETY: the same slot, ours, sized and aligned for `T` (I5); `C` is its pool.
        Some(unsafe { SlabBox::new_in(slot, value) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

impl<T, C: Pool, I> Drop for Fill<'_, T, C, I> {
    fn drop(&mut self) {
        while self.left > 0 {
            let Some(slot) = self.slots.next() else { break };
            self.left -= 1;
            // SAFETY: a free slot of `C`'s cache, taken for this batch and not used (I2).
            unsafe { hardening::on_handout(slot, &C::CLASS, self.name) };
            // SAFETY: the same slot, as an uninitialised box of its pool, which gives it
            // back when dropped; a `MaybeUninit` needs no value (I3).
            drop(unsafe { SlabBox::<MaybeUninit<T>, C>::from_slot(slot.cast()) });
        }
    }
}

/// Takes as many slots as `values` says it holds at least (`size_hint().0`) with `take`,
/// all or nothing, and appends a box of each value to `out`. Returns the values beyond
/// that for the caller to allocate one by one; on failure, every value, in the error.
fn alloc_into<T, C: Pool, I, E>(
    values: I,
    out: &mut E,
    take: impl FnOnce(u32) -> Result<Chain, SlabError>,
) -> Result<I::IntoIter, AllocError<I::IntoIter>>
where
    I: IntoIterator<Item = T>,
    E: Extend<SlabBox<T, C>>,
{
    let mut values = values.into_iter();
    let n = values.size_hint().0;
    if n == 0 {
        return Ok(values);
    }
    let Ok(count) = u32::try_from(n) else {
        return Err(AllocError::new(values, SlabError::CapacityOverflow));
    };
    let chain = match take(count) {
        Ok(chain) => chain,
        Err(e) => return Err(AllocError::new(values, e)),
    };
    let class = C::CLASS;
    let name = core::any::type_name::<T>();
    // SAFETY: `take` hands out a chain of `count` free slots of `C`'s cache, now ours
    // (I2, I5); each link is read before its slot is used.
    let slots = unsafe { chain.drain(&class, name) };
    out.extend(Fill::<T, C, _> {
        slots,
        left: n,
        values: &mut values,
        name,
        _pool: PhantomData,
    });
    Ok(values)
}

/// The slots of a bulk free so far, linked through their first words (the chain's first
/// slot, `tail`, ends it). If dropped unspent (a value's destructor panicked), it gives
/// them back with `spill`.
struct Gather<'c, S: FnMut(Chain)> {
    chain: Chain,
    tail: Option<NonNull<u8>>,
    class: &'c crate::geometry::Class,
    spill: S,
}

impl<S: FnMut(Chain)> Gather<'_, S> {
    /// Drops the value of the box at `p` and links its slot onto the chain; if the value's
    /// destructor panics, the slot goes back through the box's pool.
    ///
    /// # Safety
    /// `p` is a box's pointer (`into_raw`) to an initialised `T`, given up by the caller,
    /// in a slot of the cache the chain collects (of geometry `class`).
    #[inline]
    unsafe fn take<T, C: Pool>(&mut self, p: NonNull<T>) {
        // SAFETY: the box owned this slot of `C`'s cache; the guard is dropped only while
        // `T::drop` unwinds, after the value is gone, and disarmed otherwise (I2).
        let guard = unsafe { SlotGuard::<T, C>::new(p) };
        // SAFETY: the box owned an initialised `T` here, dropped exactly once (I3).
        unsafe { p.drop_in_place() };
        guard.disarm();
        let slot = p.cast::<u8>();
        // SAFETY: a slot of a live slab of this cache (it keeps it alive, I4), whose value
        // is gone (I3); ours now.
        unsafe { hardening::on_release(slot, self.class, core::any::type_name::<T>()) };
        if self.chain.count == u32::MAX {
            self.spill_now();
        }
        // SAFETY: a free slot, ours, holding no value: its first word is the allocator's
        // link word (I5).
        unsafe { hardening::write_link(slot, self.chain.head, self.class) };
        hardening::asan_poison(slot, self.class);
        if self.chain.count == 0 {
            self.tail = Some(slot);
        }
        self.chain.head = slot.as_ptr();
        self.chain.count += 1;
    }

    /// The chain and its tail, leaving nothing to spill.
    fn finish(mut self) -> Option<(Chain, NonNull<u8>)> {
        let chain = core::mem::replace(&mut self.chain, Chain::EMPTY);
        self.tail.take().map(|tail| (chain, tail))
    }

    fn spill_now(&mut self) {
        let chain = core::mem::replace(&mut self.chain, Chain::EMPTY);
        self.tail = None;
        if chain.count > 0 {
            (self.spill)(chain);
        }
    }
}

impl<S: FnMut(Chain)> Drop for Gather<'_, S> {
    fn drop(&mut self) {
        self.spill_now();
    }
}

/// The control block of the cache the slot at `p` belongs to (one read of its slab header).
#[inline(always)]
fn master_of<T, L: LockTrait, const SIZE: usize>(p: *const T) -> NonNull<Control<L>> {
    let class = SlabCache::<T, L, SIZE>::CLASS;
    // A box's pointer is non-null.
    let slot = NonNull::new(p.cast_mut())
        .unwrap_or(NonNull::dangling())
        .cast::<u8>();
    let h = slab::header_of(slot, &class);
    if hardening::CHECKS {
        slab::check_header(h, core::any::type_name::<T>());
    }
    // SAFETY: the slot is outstanding (its box is alive), so `h` is the live header of its
    // slab (I1, I4); `master` is written once at init and read through the raw pointer
    // (I12).
    unsafe { (*h.as_ptr()).master }.cast()
}

/// Drops the values of `boxes` and collects the slots of the cache of `key` into one chain
/// (boxes of other caches go back one by one, as dropped), returning it with its tail and
/// that cache's control block; a panicking destructor leaves nothing behind (the slots
/// collected so far go to the depot, the rest of the boxes are dropped).
fn gather_runtime<T, L: LockTrait, const SIZE: usize>(
    boxes: impl IntoIterator<Item = SlabBox<T, SlabCache<T, L, SIZE>>>,
    key: *mut Control<L>,
) -> Option<(Chain, NonNull<u8>, NonNull<Control<L>>)> {
    let class = SlabCache::<T, L, SIZE>::CLASS;
    let master = NonNull::new(key)?;
    let spill = |chain: Chain| {
        // SAFETY: free slots of the cache of `master` (they keep it alive, I4), given up.
        unsafe { crate::magazine::depot_give_chain(master, &class, chain) };
    };
    let mut gather = Gather {
        chain: Chain::EMPTY,
        tail: None,
        class: &class,
        spill,
    };
    for b in boxes {
        if master_of::<T, L, SIZE>(SlabBox::as_ptr(&b)) != master {
            drop(b); // another cache of the same type: home by its own way
            continue;
        }
        let (p, ()) = SlabBox::into_parts(b);
        // SAFETY: a live box's pointer to an initialised `T` in a slot of the cache of
        // `master` (checked), given up to us.
        unsafe { gather.take::<T, SlabCache<T, L, SIZE>>(p) };
    }
    gather.finish().map(|(chain, tail)| (chain, tail, master))
}

impl<T, L: LockTrait, const SIZE: usize> SlabCache<T, L, SIZE> {
    /// Allocates a box for each value, all or nothing, and appends them to `out` (a `Vec`,
    /// a `VecDeque`, a `heapless::Vec`, anything that is `Extend`): the batch's slots are
    /// taken at once, from the calling thread's magazine of this cache when it holds that
    /// many, else from the depot in one trip (like the kernel's `kmem_cache_alloc_bulk`).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    ///
    /// static PACKETS: SlabCache<[u8; 1500]> = SlabCache::new();
    /// let mut batch = Vec::with_capacity(16);
    /// PACKETS.alloc_bulk((0..16).map(|i| [i as u8; 1500]), &mut batch);
    /// assert_eq!((batch.len(), batch[15][0]), (16, 15));
    /// PACKETS.free_bulk(batch); // one trip back
    /// assert_eq!(PACKETS.stats().in_use, 0);
    /// ```
    ///
    /// The batch is as large as the iterator says it is at least (its `size_hint`, exact
    /// for arrays, `Vec`s, ranges and their `map`s); values beyond that are allocated one
    /// by one, as [`alloc`](Self::alloc) does, and slots the iterator does not fill go
    /// back.
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T` (nothing is allocated and the
    /// values are dropped); see [`try_alloc_bulk`](Self::try_alloc_bulk).
    pub fn alloc_bulk<I>(&self, values: I, out: &mut impl Extend<SlabBox<T, Self>>)
    where
        I: IntoIterator<Item = T>,
    {
        if let Err(e) = self.try_alloc_bulk(values, out) {
            alloc_failed::<T>(SIZE, e.error())
        }
    }

    /// Like [`alloc_bulk`](Self::alloc_bulk), or hands every value back: on failure
    /// nothing is allocated and `out` is unchanged. (All or nothing for the values the
    /// iterator's `size_hint` counts; any beyond them are allocated one by one, as
    /// [`alloc`](Self::alloc) does.)
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<u64> = SlabCache::new();
    /// let mut boxes = Vec::new();
    /// cache.try_alloc_bulk([1, 2, 3], &mut boxes).unwrap();
    /// assert_eq!(boxes.iter().map(|b| **b).sum::<u64>(), 6);
    /// ```
    ///
    /// # Errors
    /// [`AllocError`] with [`SlabError::OutOfMemory`] when the hook has no memory for the
    /// slabs the batch needs (those it gave are returned), or
    /// [`SlabError::CapacityOverflow`] for more than `u32::MAX` values; `into_inner`
    /// returns the values' iterator, untouched.
    pub fn try_alloc_bulk<I>(
        &self,
        values: I,
        out: &mut impl Extend<SlabBox<T, Self>>,
    ) -> Result<(), AllocError<I::IntoIter>>
    where
        I: IntoIterator<Item = T>,
    {
        let take = |n| {
            #[cfg(all(feature = "std", not(loom)))]
            {
                thread_table::with(|t| t.take_bulk(self, n))
            }
            #[cfg(not(all(feature = "std", not(loom))))]
            {
                self.take_bulk_depot(n)
            }
        };
        let rest = alloc_into(values, out, take)?;
        out.extend(rest.map(|v| self.alloc(v)));
        Ok(())
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
    pub fn free_bulk(&self, boxes: impl IntoIterator<Item = SlabBox<T, Self>>) {
        let key = self.ctrl.load(crate::sync::Ordering::Acquire);
        let Some((chain, tail, master)) = gather_runtime::<T, L, SIZE>(boxes, key) else {
            return;
        };
        // SAFETY: the chain holds free slots of the cache of `master`, holding no value,
        // given up (gathered above, I2); `tail` is its last slot.
        #[cfg(all(feature = "std", not(loom)))]
        thread_table::with(|t| unsafe { t.give_bulk::<T, L, SIZE>(master, chain, tail) });
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
    /// let mut batch = Vec::new();
    /// for round in 0..100 {
    ///     cache.alloc_bulk_mut([[round; 8]; 16], &mut batch);
    ///     cache.free_bulk_mut(batch.drain(..)); // back into the handle's magazine
    /// }
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`; see
    /// [`try_alloc_bulk_mut`](Self::try_alloc_bulk_mut).
    pub fn alloc_bulk_mut<I>(&mut self, values: I, out: &mut impl Extend<SlabBox<T, Self>>)
    where
        I: IntoIterator<Item = T>,
    {
        if let Err(e) = self.try_alloc_bulk_mut(values, out) {
            alloc_failed::<T>(SIZE, e.error())
        }
    }

    /// Like [`try_alloc_bulk`](Self::try_alloc_bulk), through this handle's own magazine.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<u32> = SlabCache::new();
    /// let mut boxes = Vec::new();
    /// cache.try_alloc_bulk_mut(0..10, &mut boxes).unwrap();
    /// assert_eq!(*boxes[9], 9);
    /// ```
    ///
    /// # Errors
    /// As [`try_alloc_bulk`](Self::try_alloc_bulk).
    pub fn try_alloc_bulk_mut<I>(
        &mut self,
        values: I,
        out: &mut impl Extend<SlabBox<T, Self>>,
    ) -> Result<(), AllocError<I::IntoIter>>
    where
        I: IntoIterator<Item = T>,
    {
        let rest = alloc_into(values, out, |n| self.mag_take_bulk(n))?;
        for v in rest {
            out.extend(Some(self.alloc_mut(v)));
        }
        Ok(())
    }

    /// Like [`free_bulk`](Self::free_bulk), into this handle's own magazine (see
    /// [`free`](Self::free)) when it has room for the batch.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<u64> = SlabCache::new();
    /// let mut boxes = Vec::new();
    /// cache.alloc_bulk_mut([7; 32], &mut boxes);
    /// cache.free_bulk_mut(boxes);
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    pub fn free_bulk_mut(&mut self, boxes: impl IntoIterator<Item = SlabBox<T, Self>>) {
        let key = self.ctrl.load(crate::sync::Ordering::Acquire);
        let Some((chain, tail, master)) = gather_runtime::<T, L, SIZE>(boxes, key) else {
            return;
        };
        // SAFETY: the chain holds free slots of the cache of `master`, holding no value,
        // given up (gathered above, I2); `tail` is its last slot.
        unsafe { self.mag_give_bulk(chain, tail, master) };
    }
}

impl<T: SlabCached> SlabBox<T, TypePool<T>> {
    /// Allocates a box of `T`'s cache for each value, all or nothing, and appends them to
    /// `out`: the batch's slots are taken at once, from this thread's magazine of `T` when
    /// it holds that many, else from the depot in one trip. The batch is sized as for
    /// [`SlabCache::alloc_bulk`].
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
    /// let mut volley: Vec<Boxed<Bullet>> = Vec::with_capacity(16);
    /// Boxed::new_bulk((0..16).map(|i| Bullet { pos: [i as f32, 0.0] }), &mut volley);
    /// assert_eq!(volley[15].pos[0], 15.0);
    /// Boxed::free_bulk(volley);
    /// assert_eq!(Bullet::slab_cache().stats().in_use, 0);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`; see
    /// [`try_new_bulk`](Self::try_new_bulk).
    pub fn new_bulk<I>(values: I, out: &mut impl Extend<Self>)
    where
        I: IntoIterator<Item = T>,
    {
        if let Err(e) = Self::try_new_bulk(values, out) {
            alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e.error())
        }
    }

    /// Like [`new_bulk`](Self::new_bulk), or hands every value back: on failure nothing is
    /// allocated and `out` is unchanged.
    ///
    /// ```
    /// use slab_core::{Boxed, slab_cached};
    /// slab_core::slab_hooks!(global);
    /// #[slab_cached]
    /// struct Id(u32);
    /// let mut ids: Vec<Boxed<Id>> = Vec::new();
    /// Boxed::try_new_bulk([Id(1), Id(2)], &mut ids).unwrap_or_else(|e| panic!("{e}"));
    /// assert_eq!(ids[1].0, 2);
    /// ```
    ///
    /// # Errors
    /// As [`SlabCache::try_alloc_bulk`].
    pub fn try_new_bulk<I>(
        values: I,
        out: &mut impl Extend<Self>,
    ) -> Result<(), AllocError<I::IntoIter>>
    where
        I: IntoIterator<Item = T>,
    {
        let cache = T::slab_cache();
        let take = |n| {
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
        };
        let rest = alloc_into(values, out, take)?;
        out.extend(rest.map(Self::new));
        Ok(())
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
    pub fn free_bulk(boxes: impl IntoIterator<Item = Self>) {
        let class = <TypePool<T> as crate::boxed::sealed::Sealed>::CLASS;
        let cache = T::slab_cache();
        let spill = |chain: Chain| {
            // SAFETY: free slots of `T`'s cache, given up, to its depot.
            unsafe { cache.give_bulk(None, chain, NonNull::dangling()) };
        };
        let mut gather = Gather {
            chain: Chain::EMPTY,
            tail: None,
            class: &class,
            spill,
        };
        for b in boxes {
            let (p, ()) = SlabBox::into_parts(b);
            // SAFETY: a live box's pointer to an initialised `T` in a slot of `T`'s cache
            // (every `Boxed<T>` is one, I10), given up to us.
            unsafe { gather.take::<T, TypePool<T>>(p) };
        }
        let Some((chain, tail)) = gather.finish() else {
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
