//! `#[slab_cached(recycle)]`: a type whose `static` cache is an [`ObjectCache`], with
//! per-thread magazines like a `#[slab_cached]` type's. `T::take()` hands out a kept
//! object ([`Recycled<T>`]); dropping it resets the object into the calling thread's
//! magazine (in `std` builds), else into the type's cache.
//!
//! The thread-local magazines are those of the slab cache behind the object cache (a
//! `SlabCache` of kept slots, I21), so the thread-cache machinery (I10, I14) is unchanged.

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::sealed::Sealed as _;
use crate::boxed::Pool;
use crate::error::{SlabError, alloc_failed};
use crate::lock::LockTrait;
use crate::objcache::{ObjectCache, Objects, Pooled, Recycle, Slot};
use crate::source::SlabSource;

/// The slab cache behind the object cache of a `#[slab_cached(recycle)]` type.
type InnerOf<T, L, const SIZE: usize, S> = crate::SlabCache<Slot<T>, L, SIZE, Objects<T, S>>;

/// The per-thread magazines of a `#[slab_cached(recycle)]` type's `thread_local!`. Not
/// public API.
#[doc(hidden)]
pub type ObjMagazines<T, L, const SIZE: usize, S> =
    super::Magazines<Slot<T>, L, SIZE, Objects<T, S>>;

pub(crate) mod sealed {
    /// What `typed::objects` needs of a `#[slab_cached(recycle)]` type's cache: the slab
    /// cache of kept slots behind it. In a private module: code outside the crate can
    /// neither implement it nor call it.
    pub trait ObjectsOf<T> {
        /// The slab cache of kept slots.
        type Inner: crate::typed::sealed::Sealed<crate::objcache::Slot<T>>
            + crate::boxed::sealed::Sealed
            + 'static;
        /// It.
        fn inner(&'static self) -> &'static Self::Inner;
    }
}

/// The cache type of a `#[slab_cached(recycle)]` type: an [`ObjectCache<T, L, SIZE, S>`].
///
/// Not public API: sealed, and its working methods live in a supertrait that code outside
/// this crate cannot name.
#[doc(hidden)]
pub trait ObjectCacheOf<T>: Pool + sealed::ObjectsOf<T> + Sized + Sync + 'static {}

impl<T, L, const SIZE: usize, S> sealed::ObjectsOf<T> for ObjectCache<T, L, SIZE, S>
where
    T: Recycle + Send + 'static,
    L: LockTrait + Send + Sync + 'static,
    S: SlabSource + Copy + Send + Sync + 'static,
{
    type Inner = InnerOf<T, L, SIZE, S>;
    fn inner(&'static self) -> &'static Self::Inner {
        ObjectCache::inner(self)
    }
}

impl<T, L, const SIZE: usize, S> ObjectCacheOf<T> for ObjectCache<T, L, SIZE, S>
where
    T: Recycle + Send + 'static,
    L: LockTrait + Send + Sync + 'static,
    S: SlabSource + Copy + Send + Sync + 'static,
{
}

/// The kept-slot cache of `T`.
type Inner<T> = <<T as ObjectCached>::Cache as sealed::ObjectsOf<T>>::Inner;

/// A type whose objects stay constructed in its own `static` [`ObjectCache`], implemented
/// by `#[slab_cached(recycle)]` (the type implements [`Recycle`]).
///
/// ```
/// use slab_core::{Global, Recycle, Recycled, slab_cached};
///
/// #[slab_cached(recycle, source = Global)]
/// struct Frame(Vec<u8>);
///
/// impl Recycle for Frame {
///     fn fresh() -> Self {
///         Frame(Vec::with_capacity(1500))
///     }
///     fn reset(&mut self) {
///         self.0.clear();
///     }
/// }
///
/// let mut f: Recycled<Frame> = Frame::take(); // from this thread's magazine
/// f.0.extend_from_slice(b"payload");
/// drop(f); // reset into this thread's magazine, capacity kept
/// assert!(Frame::take().0.capacity() >= 1500);
/// ```
///
/// # Safety
/// Do not implement this trait: write `#[slab_cached(recycle)]`, which emits the one
/// implementation this crate trusts: `object_cache()` returns one `static` on every call,
/// and in `std` builds one thread-local set of magazines serves it alone (I10).
pub unsafe trait ObjectCached: Recycle + Sized + 'static {
    /// The cache: `ObjectCache<Self, L, SIZE, S>` with the attribute's lock, size and
    /// source.
    type Cache: ObjectCacheOf<Self>;
    /// The type's `static` object cache (allocates nothing before first use).
    fn object_cache() -> &'static Self::Cache;
    /// This thread's magazines for the type (`std` builds).
    #[cfg(feature = "std")]
    #[doc(hidden)]
    fn __magazines() -> &'static std::thread::LocalKey<
        <Inner<Self> as crate::typed::sealed::Sealed<Slot<Self>>>::Magazines,
    >;
}

/// The pool of a `#[slab_cached(recycle)]` type: its boxes reset into the calling thread's
/// magazine (in `std` builds), else into the type's `static` cache.
///
/// Not public API: `pub` because [`Recycled<T>`] names it.
#[doc(hidden)]
pub struct TypeObjects<T>(PhantomData<fn() -> T>);

impl<T: ObjectCached> Pool for TypeObjects<T> {
    type Lock = <T::Cache as Pool>::Lock;
    const SLAB_SIZE: usize = <T::Cache as Pool>::SLAB_SIZE;
}

// SAFETY: `Recycled<T>` boxes are made only from slots of `T::object_cache()`'s kept-slot
// cache (`take` below), so `CLASS` is their geometry (I1); `release` gives the slot, its
// value kept (I21), to this thread's magazine of that cache (I10), or to its depot (I2).
unsafe impl<T: ObjectCached> crate::boxed::sealed::Sealed for TypeObjects<T> {
    const CLASS: crate::geometry::Class = <Inner<T> as crate::boxed::sealed::Sealed>::CLASS;

    fn owns(_slab: NonNull<u8>) -> Option<bool> {
        None
    }

    #[inline]
    unsafe fn release(slot: NonNull<u8>) {
        // SAFETY: `slot` is a free slot of `T`'s kept-slot cache that the caller gives up
        // (`release`'s contract), and `T::__magazines()` are the magazines of that cache
        // (`ObjectCached`'s contract, I10).
        #[cfg(feature = "std")]
        T::__magazines().with(|m| unsafe { Inner::<T>::push_local(m, slot) });
        // SAFETY: `slot` is a free slot of `T`'s kept-slot cache (contract, I2, I10).
        #[cfg(not(feature = "std"))]
        unsafe {
            <Inner<T> as crate::boxed::sealed::Sealed>::release(slot)
        }
    }
}

/// The box of a `#[slab_cached(recycle)]` type `T`: what `T::take` returns.
pub type Recycled<T> = Pooled<T, TypeObjects<T>>;

/// One free slot of `T`'s kept-slot cache: from this thread's loaded magazine when it holds
/// one, else the slow path.
#[inline(always)]
fn object_slot<T: ObjectCached>() -> Result<NonNull<u8>, SlabError> {
    #[cfg(feature = "std")]
    // SAFETY: `T::__magazines()` are the magazines of `T`'s kept-slot cache (I10).
    if let Some(popped) = T::__magazines().with(|m| unsafe { Inner::<T>::pop_loaded(m) }) {
        // No value is built in the slot here (the kept value is reused or built later),
        // so the pop is settled at once.
        let slot = popped.settle();
        // SAFETY: a free slot of `T`'s cache, just taken from our magazine, ours (I2).
        unsafe { Inner::<T>::handout(slot) };
        return Ok(slot);
    }
    object_slot_slow::<T>()
}

/// [`object_slot`] past the loaded magazine.
#[inline(never)]
fn object_slot_slow<T: ObjectCached>() -> Result<NonNull<u8>, SlabError> {
    let cache = sealed::ObjectsOf::inner(T::object_cache());
    #[cfg(feature = "std")]
    {
        // SAFETY: `T::__magazines()` are the magazines of the cache `cache` (I10).
        let slot = T::__magazines().with(|m| unsafe { cache.pop_local(m) })?;
        // SAFETY: a free slot of `T`'s cache, just taken for us, ours (I2).
        unsafe { Inner::<T>::handout(slot) };
        Ok(slot)
    }
    #[cfg(not(feature = "std"))]
    cache.raw_alloc()
}

/// `T::try_take`.
#[doc(hidden)]
#[inline]
pub fn try_take<T: ObjectCached>() -> Result<Recycled<T>, SlabError> {
    let slot = object_slot::<T>()?;
    // SAFETY: a slot of `T`'s kept-slot cache, ours (I2), out of the bump region (I21);
    // `TypeObjects<T>` is where its box returns it.
    Ok(unsafe { Pooled::build(slot.cast()) })
}

/// `T::take`.
#[doc(hidden)]
#[inline]
pub fn take<T: ObjectCached>() -> Recycled<T> {
    match try_take::<T>() {
        Ok(p) => p,
        Err(e) => alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e),
    }
}

/// Returns the calling thread's magazines of the `#[slab_cached(recycle)]` type `T` to its
/// cache (see [`flush_thread_cache`](crate::flush_thread_cache)).
pub fn flush_thread_objects<T: ObjectCached>() {
    #[cfg(feature = "std")]
    T::__magazines().with(Inner::<T>::flush_local);
}

/// The layout check of `#[slab_cached(recycle)]`: that of its kept slots.
#[doc(hidden)]
#[allow(
    clippy::result_large_err,
    reason = "as `check_layout`: a message built in const evaluation, only ever in a `const`"
)]
pub const fn check_object_layout<T, L, S: SlabSource>(
    type_name: &'static str,
    lock_name: &'static str,
    size: usize,
) -> Result<(), super::ConstMsg> {
    super::check_layout::<Slot<T>, L, Objects<T, S>>(type_name, lock_name, size)
}

/// The slab size `#[slab_cached(recycle)]` picks when `size` is not given.
#[doc(hidden)]
pub const fn auto_object_slab_size<T, L, S: SlabSource>() -> usize {
    super::auto_slab_size::<Slot<T>, L, Objects<T, S>>()
}

/// Implemented for every type that implements [`Recycle`]: what `recycle` needs.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be `#[slab_cached(recycle)]`: it does not implement `slab_core::Recycle`",
    label = "no `impl Recycle for {Self}`",
    note = "an object cache builds each object with `Recycle::fresh` and resets it with `Recycle::reset` when it comes back: implement both for `{Self}`, or drop `recycle` for a cache whose objects are dropped"
)]
pub trait RecycleValue {}
impl<T: Recycle> RecycleValue for T {}

/// Compile-time check that `T` implements `Recycle` (reported at the caller's span).
#[doc(hidden)]
pub const fn assert_recycle<T: RecycleValue>() {}

/// Expands to `impl ObjectCached for $ty` with its `static` object cache and, in `std`
/// builds, its thread-local magazines. Not public API: emitted by
/// `#[slab_cached(recycle)]`.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __object_cached_impl {
    ($ty:ty, $lock:ty, $size:expr, $source:ty) => {
        const _: () = {
            type __ObjectCache = $crate::ObjectCache<$ty, $lock, { $size }, $source>;
            type __ObjMagazines = $crate::__private::ObjMagazines<$ty, $lock, { $size }, $source>;
            // SAFETY: `object_cache` returns one `static` and `__magazines` one
            // `thread_local!` made by `new_tls`, for this type alone (I10).
            unsafe impl $crate::ObjectCached for $ty {
                type Cache = __ObjectCache;
                #[inline]
                fn object_cache() -> &'static __ObjectCache {
                    static __OBJECT_CACHE: __ObjectCache = __ObjectCache::__new_static();
                    &__OBJECT_CACHE
                }
                #[inline]
                fn __magazines() -> &'static $crate::__private::LocalKey<__ObjMagazines> {
                    $crate::__private::thread_local! {
                        static __SLAB_MAGAZINES: __ObjMagazines = const {
                            $crate::__private::ManuallyDrop::new(
                                // SAFETY: the one `thread_local!` of this type's
                                // magazines, never moved, serving its `static` cache (I10).
                                unsafe { $crate::__private::ThreadCache::new_tls() },
                            )
                        };
                    }
                    &__SLAB_MAGAZINES
                }
            }
        };
    };
}

/// Expands to `impl ObjectCached for $ty` with its `static` object cache. Not public API:
/// emitted by `#[slab_cached(recycle)]`.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __object_cached_impl {
    ($ty:ty, $lock:ty, $size:expr, $source:ty) => {
        const _: () = {
            type __ObjectCache = $crate::ObjectCache<$ty, $lock, { $size }, $source>;
            // SAFETY: `object_cache` returns one `static` (I10).
            unsafe impl $crate::ObjectCached for $ty {
                type Cache = __ObjectCache;
                #[inline]
                fn object_cache() -> &'static __ObjectCache {
                    static __OBJECT_CACHE: __ObjectCache = __ObjectCache::__new_static();
                    &__OBJECT_CACHE
                }
            }
        };
    };
}
