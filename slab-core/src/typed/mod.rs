//! Per-type caches: what `#[slab_cached]` plugs into.
//!
//! The attribute emits an `unsafe impl SlabCached for T` (through `__private::slab_cached_impl!`,
//! so the runtime shape lives here and not in generated code), compile-time layout checks
//! whose messages are formatted at compile time (`checks.rs`), and inherent constructors
//! that forward to the functions at the bottom of this file.
//!
//! This module talks to `thread_cache` (the per-thread magazines), `handle` (the `static`
//! cache), `boxed`, `control` (the geometry), `geometry`, `hardening`, `lock` and `error`.

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use crate::boxed::{Pool, SlabBox};
use crate::chain::Chain;
use crate::error::{AllocError, SlabError, alloc_failed};
use crate::handle::SlabCache;
use crate::lock::LockTrait;
use crate::magazine::{Batch, Popped};
use crate::source::SlabSource;
use crate::thread_cache::ThreadCache;
use sealed::Sealed as _;

mod checks;
mod objects;

pub use checks::{
    ConstMsg, SendValue, ThreadSafeLock, assert_lock, assert_send_value, assert_source,
    assert_thread_safe_lock, auto_slab_size, check_layout,
};
pub use objects::{
    ObjMagazines, ObjectCacheOf, ObjectCached, RecycleValue, Recycled, TypeObjects, assert_recycle,
    auto_object_slab_size, check_object_layout, flush_thread_objects, take, try_take,
};

pub(crate) mod sealed {
    use core::ptr::NonNull;

    use crate::chain::Chain;
    use crate::error::SlabError;
    use crate::magazine::{Batch, Popped};

    /// What `typed` needs of a `#[slab_cached]` type's cache. In a private module, so code
    /// outside this crate can neither implement it nor name (and so call) its methods: the
    /// thread-local entry points below trust their arguments.
    pub trait Sealed<T> {
        /// The per-thread magazines of this cache.
        type Magazines: 'static;

        /// One slot from the depot (the locked path; no magazine).
        fn raw_alloc(&'static self) -> Result<NonNull<u8>, SlabError>;

        /// One slot from `mags`, refilling it from this cache's depot.
        ///
        /// # Safety
        /// `mags` is the thread-local magazines of the `SlabCached` type whose
        /// `slab_cache()` is `self` (I10).
        unsafe fn pop_local(
            &'static self,
            mags: &Self::Magazines,
        ) -> Result<NonNull<u8>, SlabError>;

        /// One slot from the loaded magazine, if it holds one, still counted there until
        /// it is settled (after the caller wrote its value).
        ///
        /// # Safety
        /// As [`pop_local`](Self::pop_local): `mags` belongs to this cache's type.
        unsafe fn pop_loaded(mags: &Self::Magazines) -> Option<Popped<'static>>;

        /// Gives a free slot to `mags`.
        ///
        /// # Safety
        /// `mags` is the thread-local magazines of the type whose `slab_cache()` is `self` (I10); `slot` was handed out by this
        /// cache, holds no value and is not used again (I2).
        unsafe fn push_local(mags: &Self::Magazines, slot: NonNull<u8>);

        /// `n > 0` free slots for a bulk allocation, lent by `mags` (a thread's magazines
        /// of this cache, `std`) or taken from this cache's depot; all or nothing, still
        /// free and linked.
        ///
        /// # Safety
        /// As [`pop_local`](Self::pop_local), for `mags` when it is given.
        unsafe fn take_bulk(
            &'static self,
            mags: Option<&Self::Magazines>,
            n: u32,
        ) -> Result<Batch, SlabError>;

        /// Takes the `n` slots that `take_bulk` lent from `mags` out of its loaded
        /// magazine: `rest` is the link of the last of them.
        ///
        /// # Safety
        /// `take_bulk(Some(mags), n)` just lent them, nothing used `mags` since, and `rest`
        /// is the link the `n`-th slot held.
        unsafe fn settle_bulk(mags: &Self::Magazines, rest: *mut u8, n: u32);

        /// Gives a bulk free's chain (`tail` its last slot) to `mags` or this cache's
        /// depot.
        ///
        /// # Safety
        /// As [`push_local`](Self::push_local), for every slot of the chain.
        unsafe fn give_bulk(
            &'static self,
            mags: Option<&Self::Magazines>,
            chain: Chain,
            tail: NonNull<u8>,
        );

        /// Whether the slab at `slab` belongs to this cache (reads nothing at `slab`).
        fn owns(&'static self, slab: NonNull<u8>) -> bool;

        /// Gives both magazines of `mags` back to the depot.
        fn flush_local(mags: &Self::Magazines);

        /// The hardening checks of a slot leaving the pool.
        ///
        /// # Safety
        /// `slot` is a free slot of this cache, now owned by the caller (I2).
        unsafe fn handout(slot: NonNull<u8>);
    }
}

/// The cache type of a `#[slab_cached]` type: a [`SlabCache<T, L, SIZE, S>`].
///
/// Not public API: `pub` because it bounds [`SlabCached::Cache`]; sealed, and its working
/// methods live in a supertrait that code outside this crate cannot name, so it gives safe
/// code nothing to call.
#[doc(hidden)]
pub trait CacheOf<T>: Pool + sealed::Sealed<T> + Sized + Sync + 'static {}

impl<T: Send + 'static, L: LockTrait + Send + Sync + 'static, const SIZE: usize, S> CacheOf<T>
    for SlabCache<T, L, SIZE, S>
where
    S: SlabSource + Copy + Send + Sync + 'static,
{
}

/// The per-thread magazines of a `SlabCache<T, L, SIZE, S>` in a `#[slab_cached]` type's
/// `thread_local!`. Not public API.
#[doc(hidden)]
pub type Magazines<T, L, const SIZE: usize, S = crate::source::Hooks> =
    core::mem::ManuallyDrop<ThreadCache<T, L, SIZE, S>>;

impl<T: Send + 'static, L: LockTrait + Send + Sync + 'static, const SIZE: usize, S>
    sealed::Sealed<T> for SlabCache<T, L, SIZE, S>
where
    S: SlabSource + Copy + Send + Sync + 'static,
{
    type Magazines = Magazines<T, L, SIZE, S>;

    #[inline]
    fn raw_alloc(&'static self) -> Result<NonNull<u8>, SlabError> {
        SlabCache::raw_alloc(self)
    }
    #[inline]
    unsafe fn pop_local(&'static self, mags: &Self::Magazines) -> Result<NonNull<u8>, SlabError> {
        // SAFETY: `self` is `&'static`, so the cache is never dropped; `mags` is the
        // thread-local of this cache's type (contract), made by `new_tls` in a
        // `thread_local!`, which does not move until the thread exits (I10).
        unsafe { mags.pop(self) }
    }
    #[inline(always)]
    unsafe fn pop_loaded(mags: &Self::Magazines) -> Option<Popped<'static>> {
        mags.pop_loaded()
    }
    #[inline]
    unsafe fn push_local(mags: &Self::Magazines, slot: NonNull<u8>) {
        // SAFETY: `slot` is a free slot of this cache, given up by the caller, and `mags`
        // serves this cache (contract, I2 and I10): what `ThreadCache::push` needs.
        unsafe { mags.push(slot) }
    }
    unsafe fn take_bulk(
        &'static self,
        mags: Option<&Self::Magazines>,
        n: u32,
    ) -> Result<Batch, SlabError> {
        match mags {
            Some(m) => m.take_bulk(self, n),
            None => self.take_bulk_depot(n).map(Batch::Own),
        }
    }
    #[inline(always)]
    unsafe fn settle_bulk(mags: &Self::Magazines, rest: *mut u8, n: u32) {
        // SAFETY: this function's contract is `ThreadCache::settle_bulk`'s.
        unsafe { mags.settle_bulk(rest, n) };
    }
    unsafe fn give_bulk(
        &'static self,
        mags: Option<&Self::Magazines>,
        chain: Chain,
        tail: NonNull<u8>,
    ) {
        match mags {
            // SAFETY: free slots of this cache given up by the caller, and `mags` serves
            // this cache (contract, I2, I10).
            Some(m) => unsafe { m.give_bulk(self, chain, tail) },
            // SAFETY: the same, to the depot.
            None => unsafe { self.give_bulk_depot(chain) },
        }
    }
    fn owns(&'static self, slab: NonNull<u8>) -> bool {
        // Exact (a walk of the slab lists) with hardening checks; O(1) by address range
        // otherwise.
        self.owns_slab(slab, crate::hardening::CHECKS)
    }
    fn flush_local(mags: &Self::Magazines) {
        mags.flush();
    }
    #[inline]
    unsafe fn handout(slot: NonNull<u8>) {
        // SAFETY: a free slot of a live slab of this cache, of geometry `Self::CLASS`, now
        // owned by the caller (contract, I2).
        unsafe { crate::hardening::on_handout(slot, &Self::CLASS, core::any::type_name::<T>()) }
    }
}

/// A type with its own `static` slab cache, implemented by `#[slab_cached]`.
///
/// ```
/// use slab_core::{slab_cached, Boxed};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached]
/// struct Npc { name: String, hp: u32 }
///
/// let npc: Boxed<Npc> = Npc::new_boxed(Npc { name: "Guard".into(), hp: 30 });
/// assert_eq!(npc.hp, 30);
/// assert_eq!(Npc::slab_cache().stats().in_use, 1);
/// ```
///
/// # Safety
/// Do not implement this trait: write `#[slab_cached]`, which emits the one
/// implementation this crate trusts (safe code cannot implement the trait at all). That
/// implementation returns one `static` cache from `slab_cache()` on every call, and in
/// `std` builds one thread-local set of magazines for this type alone, from a hidden
/// method whose contract is part of slab-core's internals, not of its API; boxes of `T`
/// free into those magazines, which refill from and flush to `slab_cache()`'s depot.
pub unsafe trait SlabCached: Sized + 'static {
    /// The cache: `SlabCache<Self, L, SIZE, S>` with the attribute's lock, size and source.
    type Cache: CacheOf<Self>;
    /// The slab size of the type's cache, in bytes: the attribute's `size = N`, or the
    /// size it picked (at least 16384 bytes, see `#[slab_cached]`). Every block the cache
    /// asks its allocation hook for is this large and aligned to it. For reading only
    /// (slab-core never reads it back): do not override it.
    ///
    /// ```
    /// use slab_core::{SlabCached, slab_cached};
    /// slab_core::slab_hooks!(global);
    ///
    /// #[slab_cached]
    /// struct Sensor(u16);
    /// #[slab_cached(size = 1024)]
    /// struct Reading(u32);
    ///
    /// assert_eq!(Sensor::SLAB_SIZE, 16384); // picked by the attribute
    /// assert_eq!(<Reading as SlabCached>::SLAB_SIZE, 1024);
    /// let r = Reading::new_boxed(Reading(7));
    /// assert_eq!(Reading::slab_cache().stats().slab_size, 1024); // the same, at run time
    /// assert_eq!(r.0 + u32::from(Sensor::new_boxed(Sensor(1)).0), 8);
    /// ```
    const SLAB_SIZE: usize = <Self::Cache as Pool>::SLAB_SIZE;
    /// The type's `static` cache (allocates nothing before first use).
    fn slab_cache() -> &'static Self::Cache;
    /// This thread's magazines for the type (`std` builds).
    #[cfg(feature = "std")]
    #[doc(hidden)]
    fn __magazines()
    -> &'static std::thread::LocalKey<<Self::Cache as sealed::Sealed<Self>>::Magazines>;
}

/// The pool of a `#[slab_cached]` type: its boxes free into the calling thread's
/// magazine (in `std` builds), else into the type's `static` cache.
///
/// Not public API: `pub` because [`Boxed<T>`] names it; write `Boxed<T>` instead.
#[doc(hidden)]
pub struct TypePool<T>(PhantomData<fn() -> T>);

/// Public because [`Boxed<T>`] names it; it has no value and no method of its own.
impl<T: SlabCached> Pool for TypePool<T> {
    type Lock = <T::Cache as Pool>::Lock;
    const SLAB_SIZE: usize = <T::Cache as Pool>::SLAB_SIZE;
}

// SAFETY: boxes typed `SlabBox<_, TypePool<T>>` are made only from slots of `T::slab_cache()`
// (by the functions below, or `from_raw`, whose contract demands it), so `CLASS` is their
// geometry (I1); `release` gives the slot to this thread's magazine of that same cache type
// (I10), or to its depot (I2).
unsafe impl<T: SlabCached> crate::boxed::sealed::Sealed for TypePool<T> {
    const CLASS: crate::geometry::Class = <T::Cache as crate::boxed::sealed::Sealed>::CLASS;

    fn owns(slab: NonNull<u8>) -> Option<bool> {
        Some(T::slab_cache().owns(slab))
    }

    #[inline]
    unsafe fn release(slot: NonNull<u8>) {
        // The magazines' thread-local has no drop glue, so it is never gone; once the
        // thread's exit list has run, `push_local` itself takes the depot path.
        // SAFETY: `slot` is a free slot of `T::slab_cache()` that the caller gives up
        // (`release`'s contract), and `T::__magazines()` are the magazines of that cache's
        // type (`SlabCached`'s contract, I10).
        #[cfg(feature = "std")]
        T::__magazines().with(|m| unsafe { T::Cache::push_local(m, slot) });
        // SAFETY: `slot` is a free slot of `T::slab_cache()`, whose pool type is
        // `T::Cache` (contract, I2, I10).
        #[cfg(not(feature = "std"))]
        unsafe {
            <T::Cache as crate::boxed::sealed::Sealed>::release(slot)
        }
    }
}

/// The box of a `#[slab_cached]` type `T`: what `T::new_boxed` returns.
pub type Boxed<T> = SlabBox<T, TypePool<T>>;

/// An uninitialised box of a `#[slab_cached]` type: what `T::new_uninit_boxed` returns.
pub type UninitBoxed<T> = SlabBox<MaybeUninit<T>, TypePool<T>>;

/// One free slot of `T`'s cache: from this thread's loaded magazine when it holds one,
/// still counted there until the caller settles it, after writing its value.
///
/// The fast path makes no call and no atomic operation (settling is one), so the compiler
/// can build the caller's value straight into the slot instead of on the stack first (one
/// pass over a 1500-byte packet, not two): an atomic operation between the caller building
/// its value and the write keeps it from doing so.
#[inline(always)]
pub(crate) fn typed_slot<T: SlabCached>() -> Result<Popped<'static>, SlabError> {
    #[cfg(feature = "std")]
    // SAFETY: `T::__magazines()` are the magazines of `T::Cache`'s type (I10).
    if let Some(popped) = T::__magazines().with(|m| unsafe { T::Cache::pop_loaded(m) }) {
        // SAFETY: a free slot of `T`'s cache, just taken from our magazine, so ours (I2).
        unsafe { T::Cache::handout(popped.slot()) };
        return Ok(popped);
    }
    typed_slot_slow::<T>().map(Popped::uncounted)
}

/// [`typed_slot`] past the loaded magazine: the previous one, the depot, or (once the
/// thread's exit list has run, or without `std`) the locked path.
#[inline(never)]
fn typed_slot_slow<T: SlabCached>() -> Result<NonNull<u8>, SlabError> {
    let cache = T::slab_cache();
    #[cfg(feature = "std")]
    {
        // SAFETY: `T::__magazines()` are the magazines of the type whose cache is
        // `T::slab_cache()` (I10).
        let slot = T::__magazines().with(|m| unsafe { cache.pop_local(m) })?;
        // SAFETY: a free slot of `T`'s cache, just taken for us, so ours (I2).
        unsafe { T::Cache::handout(slot) };
        Ok(slot)
    }
    #[cfg(not(feature = "std"))]
    cache.raw_alloc()
}

impl<T: SlabCached> SlabBox<T, TypePool<T>> {
    /// Allocates `value` in `T`'s cache: `Boxed::<T>::new(v)` is `T::new_boxed(v)`, usable
    /// in code generic over `T: SlabCached`.
    ///
    /// ```
    /// use slab_core::{slab_cached, Boxed, SlabCached};
    /// slab_core::slab_hooks!(global);
    ///
    /// #[slab_cached] struct A(u32);
    /// #[slab_cached] struct B(u64);
    ///
    /// fn spawn_many<T: SlabCached>(make: impl Fn(usize) -> T) -> Vec<Boxed<T>> {
    ///     (0..10).map(|i| Boxed::new(make(i))).collect()
    /// }
    /// assert_eq!(spawn_many(|i| A(i as u32)).len(), 10);
    /// assert_eq!(spawn_many(|i| B(i as u64))[9].0, 9);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`.
    #[must_use]
    #[inline(always)]
    pub fn new(value: T) -> Self {
        new_boxed(value)
    }

    /// Allocates `value` in `T`'s cache, or hands it back.
    ///
    /// # Errors
    /// [`AllocError`] when the allocation hook has no memory; `into_inner` returns `value`.
    #[inline(always)]
    pub fn try_new(value: T) -> Result<Self, AllocError<T>> {
        try_new_boxed(value)
    }
}

/// Returns the calling thread's magazines of `T` to the cache's depot, so that a following
/// `shrink()` can give their slabs back (a thread's magazines otherwise go back when it
/// exits). No-op without `std` (there are no magazines then).
///
/// ```
/// use slab_core::{slab_cached, flush_thread_cache};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached(size = 4096)] struct Bullet([f32; 4]);
///
/// let many: Vec<_> = (0..10_000).map(|_| Bullet::new_boxed(Bullet([0.0; 4]))).collect();
/// drop(many);
/// flush_thread_cache::<Bullet>();
/// Bullet::slab_cache().shrink();
/// assert_eq!(Bullet::slab_cache().stats().slabs, 1); // only the master is left
/// ```
pub fn flush_thread_cache<T: SlabCached>() {
    #[cfg(feature = "std")]
    T::__magazines().with(|m| T::Cache::flush_local(m));
}

/// `T::new_boxed`.
#[doc(hidden)]
#[inline(always)]
pub fn new_boxed<T: SlabCached>(value: T) -> Boxed<T> {
    // The value goes straight from the argument into the slot: no `Result` carrying a
    // (possibly kilobytes large) `T` in between, and the slot is settled after the write.
    match typed_slot::<T>() {
        Ok(popped) => {
            // SAFETY: a free slot of `T`'s cache, owned by us (I2), sized and aligned for
            // `T` (I5); `TypePool<T>` is where its slots return.
            let b = unsafe { SlabBox::new_in(popped.slot(), value) };
            popped.settle();
            b
        }
        Err(e) => alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e),
    }
}

/// `T::try_new_boxed`.
#[doc(hidden)]
#[inline(always)]
pub fn try_new_boxed<T: SlabCached>(value: T) -> Result<Boxed<T>, AllocError<T>> {
    match typed_slot::<T>() {
        Ok(popped) => {
            // SAFETY: a free slot of `T`'s cache, owned by us (I2), sized and aligned for
            // `T` (I5); `TypePool<T>` is where its slots return.
            let b = unsafe { SlabBox::new_in(popped.slot(), value) };
            popped.settle();
            Ok(b)
        }
        Err(e) => Err(AllocError::new(value, e)),
    }
}

/// `T::new_uninit_boxed`.
#[doc(hidden)]
#[inline(always)]
pub fn new_uninit_boxed<T: SlabCached>() -> UninitBoxed<T> {
    match try_new_uninit_boxed::<T>() {
        Ok(b) => b,
        Err(e) => alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e),
    }
}

/// `T::try_new_uninit_boxed`.
#[doc(hidden)]
#[inline(always)]
pub fn try_new_uninit_boxed<T: SlabCached>() -> Result<UninitBoxed<T>, SlabError> {
    let slot = typed_slot::<T>()?.settle().cast::<MaybeUninit<T>>();
    // SAFETY: a `MaybeUninit` needs no initialisation (I3); the slot is a free slot of `T`'s
    // cache, ours (I2).
    Ok(unsafe { SlabBox::from_slot(slot) })
}

/// Expands to `impl SlabCached for $ty` with its `static` cache and, in `std` builds, its
/// thread-local magazines. Not public API: emitted by `#[slab_cached]`.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __slab_cached_impl {
    ($ty:ty, $lock:ty, $size:expr) => {
        $crate::__slab_cached_impl!($ty, $lock, $size, $crate::Hooks);
    };
    ($ty:ty, $lock:ty, $size:expr, $source:ty) => {
        const _: () = {
            type __SlabCache = $crate::SlabCache<$ty, $lock, { $size }, $source>;
            type __SlabMagazines = $crate::__private::Magazines<$ty, $lock, { $size }, $source>;
            // SAFETY: `slab_cache` returns one `static` and `__magazines` one
            // `thread_local!` made by `new_tls`, for this type alone (I10).
            unsafe impl $crate::SlabCached for $ty {
                type Cache = __SlabCache;
                #[inline]
                fn slab_cache() -> &'static __SlabCache {
                    static __SLAB_CACHE: __SlabCache = __SlabCache::__new_static();
                    &__SLAB_CACHE
                }
                #[inline]
                fn __magazines() -> &'static $crate::__private::LocalKey<__SlabMagazines> {
                    $crate::__private::thread_local! {
                        static __SLAB_MAGAZINES: __SlabMagazines = const {
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

/// Expands to `impl SlabCached for $ty` with its `static` cache. Not public API: emitted by
/// `#[slab_cached]`.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __slab_cached_impl {
    ($ty:ty, $lock:ty, $size:expr) => {
        $crate::__slab_cached_impl!($ty, $lock, $size, $crate::Hooks);
    };
    ($ty:ty, $lock:ty, $size:expr, $source:ty) => {
        const _: () = {
            type __SlabCache = $crate::SlabCache<$ty, $lock, { $size }, $source>;
            // SAFETY: `slab_cache` returns one `static` (I10).
            unsafe impl $crate::SlabCached for $ty {
                type Cache = __SlabCache;
                #[inline]
                fn slab_cache() -> &'static __SlabCache {
                    static __SLAB_CACHE: __SlabCache = __SlabCache::__new_static();
                    &__SLAB_CACHE
                }
            }
        };
    };
}
