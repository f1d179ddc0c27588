//! Per-type caches: what `#[slab_cached]` plugs into.
//!
//! The attribute emits an `unsafe impl SlabCached for T` (through `__private::slab_cached_impl!`,
//! so the runtime shape lives here and not in generated code), compile-time layout checks
//! whose messages are formatted at compile time, and inherent constructors that forward
//! to the functions at the bottom of this file. This module talks to `cache` and `boxed`.

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use crate::boxed::{Pool, SlabBox};
use crate::cache::{SlabCache, class_of, class_with};
use crate::error::{AllocError, SlabError};
use crate::lock::LockTrait;
use crate::magazine::ThreadCache;
use crate::slab::{LayoutError, MAX_SLAB_SIZE, MIN_SLAB_SIZE};
use sealed::Sealed as _;

pub(crate) mod sealed {
    use core::ptr::NonNull;

    use crate::error::SlabError;

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

        /// One slot from the loaded magazine, if it holds one.
        ///
        /// # Safety
        /// As [`pop_local`](Self::pop_local): `mags` belongs to this cache's type.
        unsafe fn pop_loaded(mags: &Self::Magazines) -> Option<NonNull<u8>>;

        /// Gives a free slot to `mags`.
        ///
        /// # Safety
        /// `mags` is the thread-local magazines of the type whose `slab_cache()` is `self` (I10); `slot` was handed out by this
        /// cache, holds no value and is not used again (I2).
        unsafe fn push_local(mags: &Self::Magazines, slot: NonNull<u8>);

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

/// The cache type of a `#[slab_cached]` type: a [`SlabCache<T, L, SIZE>`].
///
/// Public because it bounds [`SlabCached::Cache`]; sealed, and its working methods live in
/// a supertrait that code outside this crate cannot name, so it gives safe code nothing to
/// call.
pub trait CacheOf<T>: Pool + sealed::Sealed<T> + Sized + Sync + 'static {}

impl<T: Send + 'static, L: LockTrait + Send + Sync + 'static, const SIZE: usize> CacheOf<T>
    for SlabCache<T, L, SIZE>
{
}

/// The per-thread magazines of a `SlabCache<T, L, SIZE>` in a `#[slab_cached]` type's
/// `thread_local!`. Not public API.
#[doc(hidden)]
pub type Magazines<T, L, const SIZE: usize> = core::mem::ManuallyDrop<ThreadCache<T, L, SIZE>>;

impl<T: Send + 'static, L: LockTrait + Send + Sync + 'static, const SIZE: usize> sealed::Sealed<T>
    for SlabCache<T, L, SIZE>
{
    type Magazines = Magazines<T, L, SIZE>;

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
    unsafe fn pop_loaded(mags: &Self::Magazines) -> Option<NonNull<u8>> {
        mags.pop_loaded()
    }
    #[inline]
    unsafe fn push_local(mags: &Self::Magazines, slot: NonNull<u8>) {
        // SAFETY: `slot` is a free slot of this cache, given up by the caller, and `mags`
        // serves this cache (contract, I2 and I10): what `ThreadCache::push` needs.
        unsafe { mags.push(slot) }
    }
    fn owns(&'static self, slab: NonNull<u8>) -> bool {
        // Exact (a walk of the slab lists) with hardening checks; O(1) by address range
        // otherwise.
        self.owns_slab(slab, crate::debug::CHECKS)
    }
    fn flush_local(mags: &Self::Magazines) {
        mags.flush();
    }
    #[inline]
    unsafe fn handout(slot: NonNull<u8>) {
        // SAFETY: a free slot of this cache, of geometry `Self::CLASS`, now owned by the
        // caller (contract).
        unsafe { crate::debug::on_handout(slot, &Self::CLASS, core::any::type_name::<T>()) }
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
/// Write `#[slab_cached]` instead of an impl: the attribute emits the one implementation
/// this crate trusts, and safe code cannot implement the trait by hand. An `unsafe impl`
/// written by hand promises what that one does (I10 of `IMPLEMENTATION.md`):
/// - `slab_cache()` returns a reference to the same `static` on every call;
/// - `__magazines()` returns the same `thread_local!`, initialised with
///   `ManuallyDrop::new(ThreadCache::new_tls())` in a `const` block, used for this type
///   alone.
///
/// The allocation paths trust both: boxes of `T` free into this thread's magazines, and
/// those refill from and flush to `slab_cache()`'s depot.
pub unsafe trait SlabCached: Sized + 'static {
    /// The cache: `SlabCache<Self, L, SIZE>` with the attribute's lock and size.
    type Cache: CacheOf<Self>;
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
pub struct TypePool<T>(PhantomData<fn() -> T>);

/// Public because [`Boxed<T>`] names it; it has no value and no method of its own.
impl<T: SlabCached> Pool for TypePool<T> {
    type Lock = <T::Cache as Pool>::Lock;
    const SLAB_SIZE: usize = <T::Cache as Pool>::SLAB_SIZE;
}

// SAFETY: boxes typed `SlabBox<_, TypePool<T>>` are made only from slots of `T::slab_cache()`
// (by the functions below, or `from_raw`, whose contract demands it); `release` gives the
// slot to this thread's magazine of that same cache type, or to its depot.
unsafe impl<T: SlabCached> crate::boxed::sealed::Sealed for TypePool<T> {
    const CLASS: crate::slab::Class = <T::Cache as crate::boxed::sealed::Sealed>::CLASS;

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
        // `T::Cache` (contract).
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

/// One free slot of `T`'s cache: from this thread's loaded magazine when it holds one.
///
/// The fast path makes no call, so the compiler can build the caller's value straight
/// into the slot instead of on the stack first (one pass over a 1500-byte packet, not two).
#[inline(always)]
fn typed_slot<T: SlabCached>() -> Result<NonNull<u8>, SlabError> {
    #[cfg(feature = "std")]
    // SAFETY: `T::__magazines()` are the magazines of `T::Cache`'s type (I10).
    if let Some(slot) = T::__magazines().with(|m| unsafe { T::Cache::pop_loaded(m) }) {
        // SAFETY: a free slot of `T`'s cache, just taken from our magazine, so ours.
        unsafe { T::Cache::handout(slot) };
        return Ok(slot);
    }
    typed_slot_slow::<T>()
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
        // SAFETY: a free slot of `T`'s cache, just taken for us, so ours.
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

/// A message formatted at compile time (const fns cannot format numbers with `panic!`).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct ConstMsg {
    buf: [u8; 480],
    len: usize,
}

impl ConstMsg {
    const fn new() -> Self {
        ConstMsg {
            buf: [0; 480],
            len: 0,
        }
    }

    const fn s(mut self, s: &str) -> Self {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && self.len < self.buf.len() {
            self.buf[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn n(mut self, mut n: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while k > 0 && self.len < self.buf.len() {
            k -= 1;
            self.buf[self.len] = digits[k];
            self.len += 1;
        }
        self
    }

    /// The message.
    pub const fn as_str(&self) -> &str {
        let (head, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(head) {
            Ok(s) => s,
            Err(_) => "slab_core: layout check failed",
        }
    }
}

/// The smallest valid slab size above `from` for `T` and `L`, or 0.
const fn smallest_valid<T, L>(mut from: usize) -> usize {
    if from < MIN_SLAB_SIZE {
        from = MIN_SLAB_SIZE;
    }
    let mut s = from.next_power_of_two();
    while s <= MAX_SLAB_SIZE {
        if class_of::<T, L>(s).is_ok() {
            return s;
        }
        s *= 2;
    }
    0
}

/// The smallest slab size `#[slab_cached]` picks on its own. Not 4096: a 64-byte object
/// then shares its slab with 254 others instead of 62, so a cache has a quarter of the
/// slabs, headers and control overhead per object, and refills and flushes run four times
/// longer before they cross to another slab. Header colouring (`slab::Colours`) keeps the
/// fewer, larger slabs' headers apart in the caches; without it, 16 KiB-aligned headers
/// would fall into a quarter of the cache sets 4 KiB ones do.
pub(crate) const AUTO_MIN_SLAB: usize = 16384;

/// The slab size `#[slab_cached]` uses when `size` is not given: the smallest power of two
/// from `AUTO_MIN_SLAB` (16384) up whose slabs hold at least 8 objects and waste at most
/// 1/64 of their bytes (16384 for 64-byte objects, 131072 for a 1500-byte packet: 87 per
/// slab, about 1507 bytes each); failing that, the smallest size that holds two. Untouched
/// slab pages are not resident, so a large slab costs little until it fills.
#[doc(hidden)]
pub const fn auto_slab_size<T, L>() -> usize {
    let mut s = AUTO_MIN_SLAB;
    while s <= 1 << 24 {
        // Release geometry: the size must not change with the build profile.
        if let Ok(c) = class_with::<T, L>(s, false) {
            let waste = s - c.slave_slots * c.stride;
            if c.master_slots >= 8 && waste * 64 <= s {
                return s;
            }
        }
        s *= 2;
    }
    match smallest_valid::<T, L>(4096) {
        0 => 4096,
        s => s,
    }
}

/// Checks that `T` can live in `size`-byte slabs guarded by `L`, with a message that
/// names the type, the numbers and the fix.
#[doc(hidden)]
#[allow(
    clippy::result_large_err,
    reason = "the error is a message built in const evaluation, where nothing can be boxed \
              (no allocator in const fns, and this crate is `no_std`), and `#[slab_cached]` \
              only ever calls this in a `const` item, so the size costs nothing at run time"
)]
pub const fn check_layout<T, L>(
    type_name: &'static str,
    lock_name: &'static str,
    size: usize,
) -> Result<(), ConstMsg> {
    let m = ConstMsg::new();
    match class_of::<T, L>(size) {
        Ok(_) => Ok(()),
        Err(LayoutError::BadSlabSize) => Err(m
            .s("`size = ")
            .n(size)
            .s("` for `")
            .s(type_name)
            .s("` is not a power of two from 512 to 1073741824 (1 << 30)")),
        Err(LayoutError::ZeroSized) => Err(m
            .s("`")
            .s(type_name)
            .s("` is zero-sized: a slab cache of zero-sized values needs no memory; remove `#[slab_cached]`")),
        Err(LayoutError::LockTooLarge) => Err(m
            .s("the lock `")
            .s(lock_name)
            .s("` of `")
            .s(type_name)
            .s("` is ")
            .n(size_of::<L>())
            .s(" bytes; a slab lock must be at most 16 bytes: store a pointer to a larger lock")),
        Err(LayoutError::AlignTooLarge) => {
            let better = smallest_valid::<T, L>(align_of::<T>() * 4);
            let m = m
                .s("`")
                .s(type_name)
                .s("` needs alignment ")
                .n(align_of::<T>())
                .s("; a ")
                .n(size)
                .s("-byte slab allows at most ")
                .n(size / 4);
            Err(if better == 0 {
                m.s(": no slab size fits it")
            } else {
                m.s(": use size = ").n(better)
            })
        }
        Err(LayoutError::TooLarge) => {
            let better = smallest_valid::<T, L>(size * 2);
            let m = m
                .s("`")
                .s(type_name)
                .s("` is ")
                .n(size_of::<T>())
                .s(" bytes; a ")
                .n(size)
                .s("-byte slab must hold at least two");
            Err(if better == 0 {
                m.s(": no slab size up to 1 GiB does; allocate it with `Box` instead")
            } else {
                m.s(": use size = ").n(better)
            })
        }
    }
}

/// Implemented for every `Send` type: the values of a shared `static` cache.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be `#[slab_cached]`: its cache is a `static` shared by every thread, so the type must be `Send`",
    label = "`{Self}` is not `Send`",
    note = "use a runtime `SlabCache<T, NoLock>` owned by one thread for values that are not `Send`"
)]
pub trait SendValue {}
impl<T: Send> SendValue for T {}

/// Implemented for locks that can guard a cache shared across threads.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot guard a `#[slab_cached]` cache: the cache is a `static` shared by every thread",
    label = "this lock is not `Send + Sync`",
    note = "use `lock = SpinLock` or `lock = TicketLock`; `NoLock` is for a runtime `SlabCache` owned by one thread"
)]
pub trait ThreadSafeLock {}
impl<L: Send + Sync> ThreadSafeLock for L {}

/// Compile-time check that `T` is `Send` (reported at the caller's span).
#[doc(hidden)]
pub const fn assert_send_value<T: SendValue>() {}
/// Compile-time check that `L` can guard a shared cache.
#[doc(hidden)]
pub const fn assert_thread_safe_lock<L: ThreadSafeLock>() {}
/// Compile-time check that `L` is a lock.
#[doc(hidden)]
pub const fn assert_lock<L: LockTrait>() {}

/// `T::new_boxed`.
#[doc(hidden)]
#[inline(always)]
pub fn new_boxed<T: SlabCached>(value: T) -> Boxed<T> {
    // The value goes straight from the argument into the slot: no `Result` carrying a
    // (possibly kilobytes large) `T` in between.
    match typed_slot::<T>() {
        // SAFETY: a free slot of `T`'s cache, owned by us; `TypePool<T>` is where its
        // slots return.
        Ok(slot) => unsafe { SlabBox::new_in(slot, value) },
        Err(e) => crate::cache::alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e),
    }
}

/// `T::try_new_boxed`.
#[doc(hidden)]
#[inline(always)]
pub fn try_new_boxed<T: SlabCached>(value: T) -> Result<Boxed<T>, AllocError<T>> {
    match typed_slot::<T>() {
        // SAFETY: a free slot of `T`'s cache, owned by us; `TypePool<T>` is where its
        // slots return.
        Ok(slot) => Ok(unsafe { SlabBox::new_in(slot, value) }),
        Err(e) => Err(AllocError::new(value, e)),
    }
}

/// `T::new_uninit_boxed`.
#[doc(hidden)]
pub fn new_uninit_boxed<T: SlabCached>() -> UninitBoxed<T> {
    match try_new_uninit_boxed::<T>() {
        Ok(b) => b,
        Err(e) => crate::cache::alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e),
    }
}

/// `T::try_new_uninit_boxed`.
#[doc(hidden)]
pub fn try_new_uninit_boxed<T: SlabCached>() -> Result<UninitBoxed<T>, SlabError> {
    let slot = typed_slot::<T>()?.cast::<MaybeUninit<T>>();
    // SAFETY: a `MaybeUninit` needs no initialisation; the slot is a free slot of `T`'s cache.
    Ok(unsafe { SlabBox::from_slot(slot) })
}

/// Expands to `impl SlabCached for $ty` with its `static` cache and, in `std` builds, its
/// thread-local magazines. Not public API: emitted by `#[slab_cached]`.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __slab_cached_impl {
    ($ty:ty, $lock:ty, $size:expr) => {
        const _: () = {
            type __SlabCache = $crate::SlabCache<$ty, $lock, { $size }>;
            type __SlabMagazines = $crate::__private::Magazines<$ty, $lock, { $size }>;
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
        const _: () = {
            type __SlabCache = $crate::SlabCache<$ty, $lock, { $size }>;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SpinLock;

    #[test]
    fn auto_size_starts_at_16_kib_and_wastes_little_on_packets() {
        assert_eq!(auto_slab_size::<[u64; 8], SpinLock>(), AUTO_MIN_SLAB);
        assert_eq!(auto_slab_size::<u8, SpinLock>(), AUTO_MIN_SLAB);
        // Mid-sized objects too: 16 KiB already wastes at most 1/64 of the slab on them.
        assert_eq!(auto_slab_size::<[u8; 256], SpinLock>(), AUTO_MIN_SLAB);
        assert_eq!(auto_slab_size::<[u8; 1500], SpinLock>(), 131_072);
        let big = auto_slab_size::<[u8; 100_000], SpinLock>();
        assert!(class_of::<[u8; 100_000], SpinLock>(big).is_ok());
    }

    #[test]
    fn layout_messages_name_the_type_and_the_fix() {
        let e = check_layout::<[u8; 5000], SpinLock>("Packet", "SpinLock", 4096).unwrap_err();
        assert_eq!(
            e.as_str(),
            "`Packet` is 5000 bytes; a 4096-byte slab must hold at least two: use size = 16384"
        );
        let e = check_layout::<(), SpinLock>("Unit", "SpinLock", 4096).unwrap_err();
        assert!(e.as_str().starts_with("`Unit` is zero-sized"));
        let e = check_layout::<u8, [u64; 3]>("Byte", "Big", 4096).unwrap_err();
        assert!(
            e.as_str().contains("the lock `Big` of `Byte` is 24 bytes"),
            "{}",
            e.as_str()
        );
        assert!(check_layout::<u64, SpinLock>("Word", "SpinLock", 4096).is_ok());
    }
}
