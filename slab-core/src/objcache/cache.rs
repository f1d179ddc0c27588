//! [`ObjectCache`]: the runtime object cache, a [`SlabCache`] of kept slots, with the
//! locked path (`take`) and the handle's own magazines (`take_mut`, `give`).

use core::ptr::NonNull;

use super::{Objects, Pooled, Recycle, Slot};
use crate::boxed::Pool;
use crate::control::{Control, depot_free};
use crate::error::{SlabError, alloc_failed};
use crate::geometry::Class;
use crate::handle::{SlabCache, SlabSize, ValidSlabSize};
use crate::hardening;
use crate::lock::{LockTrait, SpinLock};
use crate::slab;
use crate::source::{DefaultSource, Hooks, SlabSource};
use crate::stats::SlabStats;

/// A cache of objects that stay constructed between uses (Bonwick's object caching): a
/// value given back is [reset](Recycle::reset), not dropped, and the next
/// [`take`](Self::take) hands it out again, ready to fill.
///
/// The parameters are [`SlabCache`]'s: slabs of `SIZE` bytes guarded by `L` from source
/// `S`. Values are built ([`Recycle::fresh`]) the first time their slot is taken and
/// dropped for real only when their slab goes back to the source ([`shrink`](Self::shrink),
/// an empty slab beyond [`keep_empty`](Self::keep_empty), the last handle and box gone):
/// `Drop` runs exactly once per value built. Handles are `Clone`; like a `SlabCache`
/// handle, each carries its own magazines for [`take_mut`](Self::take_mut) and
/// [`give`](Self::give), which take no lock.
///
/// ```
/// use slab_core::{Global, ObjectCache, SpinLock};
///
/// // No `slab_hooks!`: this cache takes its slabs from the global allocator.
/// let mut pool: ObjectCache<Vec<u8>, SpinLock, 16384, Global> = ObjectCache::new();
/// let mut buf = pool.take_mut(); // a `Pooled<Vec<u8>, _>`: `&mut Vec<u8>` through `DerefMut`
/// buf.extend_from_slice(&[7; 1500]);
/// pool.give(buf); // cleared, capacity kept
/// let buf = pool.take_mut();
/// assert!(buf.is_empty() && buf.capacity() >= 1500);
/// drop(buf); // a plain drop resets it too, through the cache's lock
/// assert_eq!(pool.stats().in_use, 0);
/// ```
pub struct ObjectCache<
    T,
    L: LockTrait = SpinLock,
    const SIZE: usize = 4096,
    S: SlabSource + Copy = Hooks,
> {
    inner: SlabCache<Slot<T>, L, SIZE, Objects<T, S>>,
}

/// The slab cache behind an `ObjectCache`.
type Inner<T, L, const SIZE: usize, S> = SlabCache<Slot<T>, L, SIZE, Objects<T, S>>;

impl<T: Recycle, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> ObjectCache<T, L, SIZE, S> {
    /// An object cache on the source's default value. Allocates nothing, so it can be a
    /// `static`.
    #[cfg(not(loom))]
    pub const fn new() -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
        S: DefaultSource,
    {
        Self::with_source(S::DEFAULT)
    }

    /// An object cache whose slabs come from `source` (see
    /// [`SlabCache::with_source`]). Allocates nothing.
    #[cfg(not(loom))]
    pub const fn with_source(source: S) -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
    {
        ObjectCache {
            inner: SlabCache::with_source(Objects::new(source)),
        }
    }

    /// `new` under the loom model checker.
    #[cfg(loom)]
    pub fn new() -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
        S: DefaultSource,
    {
        Self::with_source(S::DEFAULT)
    }

    /// `with_source` under the loom model checker.
    #[cfg(loom)]
    pub fn with_source(source: S) -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
    {
        ObjectCache {
            inner: SlabCache::with_source(Objects::new(source)),
        }
    }

    const CLASS: Class = Inner::<T, L, SIZE, S>::CLASS;

    /// `new` for the `static` of a `#[slab_cached(recycle)]` type, which emits the layout
    /// checks itself at the user's tokens. Not public API.
    #[doc(hidden)]
    #[cfg(not(loom))]
    pub const fn __new_static() -> Self
    where
        S: DefaultSource,
    {
        ObjectCache {
            inner: SlabCache::__new_static_with(Objects::new(S::DEFAULT)),
        }
    }

    /// The slab cache of kept slots behind this object cache.
    pub(crate) fn inner(&self) -> &Inner<T, L, SIZE, S> {
        &self.inner
    }

    /// Takes an object through the cache's lock: a kept one, reset when it was given
    /// back, or a [fresh](Recycle::fresh) one the first time its slot is used.
    ///
    /// # Panics
    /// When the source has no memory for a new slab, naming `T`; and if
    /// [`Recycle::fresh`] panics (the slot goes back first).
    pub fn take(&self) -> Pooled<T, Self> {
        match self.try_take() {
            Ok(p) => p,
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// Like [`take`](Self::take), or the reason it cannot.
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] when the source has no memory for a new slab.
    pub fn try_take(&self) -> Result<Pooled<T, Self>, SlabError> {
        let slot = self.inner.raw_alloc()?;
        // SAFETY: a slot of this cache just handed to us (I2), which left the bump region
        // (I21); `Self` is where its box returns it.
        Ok(unsafe { Pooled::build(slot.cast()) })
    }

    /// Like [`take`](Self::take), through this handle's own magazine: most calls take no
    /// lock and no atomic read-modify-write. Give the object back with
    /// [`give`](Self::give) to keep its slot in the magazine.
    ///
    /// # Panics
    /// As [`take`](Self::take).
    #[inline]
    pub fn take_mut(&mut self) -> Pooled<T, Self> {
        match self.try_take_mut() {
            Ok(p) => p,
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// Like [`take_mut`](Self::take_mut), or the reason it cannot.
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] when the source has no memory for a new slab.
    #[inline]
    pub fn try_take_mut(&mut self) -> Result<Pooled<T, Self>, SlabError> {
        let slot = self.inner.mag_pop()?.settle();
        // SAFETY: a slot of this cache just taken from our magazine (or the depot), ours
        // (I2), which left the bump region (I21); `Self` is where its box returns it.
        Ok(unsafe { Pooled::build(slot.cast()) })
    }

    /// Resets the object and keeps its slot in this handle's magazine for the next
    /// [`take_mut`](Self::take_mut). An object of another cache of the same type goes back
    /// to its own cache, as if dropped.
    #[inline]
    pub fn give(&mut self, p: Pooled<T, Self>) {
        // If `reset` panics, its guard drops the value and gives the slot back.
        let slot = Pooled::reset_and_leave(p);
        let class = Self::CLASS;
        let name = core::any::type_name::<T>();
        // SAFETY: a slot of a live slab of this cache type (the box owned it, I2; it keeps
        // its slab alive, I4), its value kept and reset (I21); ours now.
        unsafe { hardening::on_release(slot, &class, name) };
        let h = slab::header_of(slot, &class);
        if hardening::CHECKS {
            slab::check_header(h, name);
        }
        // SAFETY: the slot is outstanding, so `h` is the live header of its slab (I1, I4);
        // `master` is written once at init and read through the raw pointer (I12).
        let master = unsafe { (*h.as_ptr()).master }.cast::<Control<L, Objects<T, S>>>();
        if self.inner.mag_has_room(master) {
            // SAFETY: a free slot of our master's cache, its value kept (I21), ours to chain
            // (I2); a counter is claimed and there is room.
            unsafe { self.inner.mag_push(slot) };
            return;
        }
        // SAFETY: the slot was handed out by the cache whose control block is `master`,
        // its value kept and reset (I21), and we own it (I2, I4).
        unsafe { self.inner.free_slow(slot, master) };
    }

    /// Gives this handle's magazines back to the cache (see [`SlabCache::flush`]).
    pub fn flush(&mut self) {
        self.inner.flush();
    }

    /// Counters of this cache (see [`SlabCache::stats`]); objects kept in free slots count
    /// as free.
    pub fn stats(&self) -> SlabStats {
        self.inner.stats()
    }

    /// Returns every empty slave slab to the source, dropping the objects it kept (see
    /// [`SlabCache::shrink`]); says how many slabs went back.
    pub fn shrink(&self) -> usize {
        self.inner.shrink()
    }

    /// Grows the cache so that the next `n` takes need no new slab (see
    /// [`SlabCache::reserve`]). Builds no object: objects are built when first taken.
    ///
    /// # Errors
    /// As [`SlabCache::reserve`].
    pub fn reserve(&self, n: usize) -> Result<(), SlabError> {
        self.inner.reserve(n)
    }

    /// Sets how many empty slave slabs, with the objects they keep, the cache holds on to
    /// (see [`SlabCache::keep_empty`]).
    pub fn keep_empty(&self, n: usize) {
        self.inner.keep_empty(n);
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> Clone
    for ObjectCache<T, L, SIZE, S>
{
    /// Another handle to the same cache, with magazines of its own.
    fn clone(&self) -> Self {
        ObjectCache {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Recycle, L: LockTrait, const SIZE: usize, S: DefaultSource> Default
    for ObjectCache<T, L, SIZE, S>
where
    SlabSize<SIZE>: ValidSlabSize,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Recycle, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> core::fmt::Debug
    for ObjectCache<T, L, SIZE, S>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("ObjectCache").field(&self.stats()).finish()
    }
}

impl<T: Recycle, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> Pool
    for ObjectCache<T, L, SIZE, S>
{
    type Lock = L;
    const SLAB_SIZE: usize = SIZE;
}

// SAFETY: `release` returns a slot of this cache's geometry to its own slab through the
// depot, its value kept (I21); `Pooled<T, ObjectCache<T, L, SIZE, S>>` boxes are only made
// from slots of such a cache (`Pooled::build`), so `CLASS` is their geometry (I1) and the
// cache they return to is alive (I2, I4).
unsafe impl<T: Recycle, L: LockTrait, const SIZE: usize, S: SlabSource + Copy>
    crate::boxed::sealed::Sealed for ObjectCache<T, L, SIZE, S>
{
    const CLASS: Class = Self::CLASS;

    fn owns(_slab: NonNull<u8>) -> Option<bool> {
        None
    }

    #[inline]
    unsafe fn release(slot: NonNull<u8>) {
        // SAFETY: a slot handed out by a cache of this type, its value kept or gone
        // (`release`'s contract, I21): it belongs to the depot of a live cache (the slot
        // keeps it alive, I4) of geometry `Self::CLASS` and lock `L`.
        unsafe { depot_free::<L, Objects<T, S>>(slot, &Self::CLASS, core::any::type_name::<T>()) }
    }
}
