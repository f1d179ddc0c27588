//! [`SlabBox`]: the owning pointer users hold, and [`Pool`], the type-level name of the
//! cache a box returns its slot to.
//!
//! A box is one pointer wide (`Option<SlabBox<..>>` too). Dropping it runs `T`'s
//! destructor once and hands the slot to `C::release`, from any thread (I2, I3).
//!
//! This module reaches caches only through the [`Pool`] trait, which `cache` and `typed`
//! implement above it; it names `handle`'s `SlabCache` as the default pool of
//! [`SlabBox`], and talks to `slab`, `geometry` and `hardening` for `from_raw`'s checks and
//! to `lock` for `Pool::Lock`.

use core::borrow::{Borrow, BorrowMut};
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::ptr::NonNull;

use crate::handle::SlabCache;
use crate::hardening;
use crate::lock::LockTrait;

pub(crate) mod sealed {
    use core::ptr::NonNull;

    /// What a box needs of its pool. In a private module: code outside this crate can
    /// neither implement it nor name its items.
    ///
    /// # Safety
    /// `release` accepts exactly the slots that the implementing pool's cache hands out,
    /// and `CLASS` is that cache's geometry.
    pub unsafe trait Sealed {
        /// The geometry of the pool's slabs.
        const CLASS: crate::geometry::Class;

        /// Whether the slab at `slab` belongs to this pool's cache, if the pool type names
        /// a single cache (hardening; reads nothing at `slab`).
        fn owns(slab: NonNull<u8>) -> Option<bool>;

        /// Returns a slot to its cache.
        ///
        /// # Safety
        /// `slot` was handed out by a cache of this type, its value has been dropped or
        /// moved out, and nothing uses it afterwards (I2).
        unsafe fn release(slot: NonNull<u8>);
    }

    /// What every box needs of the place its slot goes back to: a [`Pool`](super::Pool)
    /// named by the box's type, or [`Erased`](crate::Erased), whose boxes carry their
    /// pool's release function. Private like [`Sealed`].
    ///
    /// # Safety
    /// `give_back` returns a slot to the cache that `meta` and the implementing type
    /// describe, and `Sharing` is `Send + Sync` only if that may happen on any thread.
    pub unsafe trait Home {
        /// What a box carries besides its pointer: `()` for a pool named by its type.
        type Meta: Copy;
        /// `Send + Sync` exactly when a slot may be given back on any thread.
        type Sharing: ?Sized;

        /// Runs the hardening checks of a slot leaving its owner and returns it to its
        /// cache.
        ///
        /// # Safety
        /// `slot` was handed out by the cache that `meta` (with the implementing type)
        /// describes, its value has been dropped or moved out, and nothing uses it
        /// afterwards (I2).
        unsafe fn give_back(meta: Self::Meta, slot: NonNull<u8>, name: &'static str);
    }
}

/// The cache a [`SlabBox`] returns its slot to, named as a type: the `C` of
/// `SlabBox<T, C>`.
///
/// You never implement or create a `Pool`; it only appears in box types. For a runtime or
/// `static` cache it is the cache type itself, [`SlabCache<T, L, SIZE>`](crate::SlabCache)
/// (slots go back to the cache's slab through its lock); for a `#[slab_cached]` type,
/// [`Boxed<T>`](crate::Boxed) names it for you (slots go to the thread's magazine).
/// Sealed: the crate alone implements it.
pub trait Pool: sealed::Sealed {
    /// The lock of the cache; a box crosses threads only if this is `Sync`.
    type Lock: LockTrait;
    /// The slab size of the cache, in bytes (`SIZE`). For a `#[slab_cached]` type, read
    /// it as [`SlabCached::SLAB_SIZE`](crate::SlabCached::SLAB_SIZE).
    const SLAB_SIZE: usize;
}

/// Where a box's slot goes back: a [`Pool`] named by the box's type, or
/// [`Erased`](crate::Erased), whose boxes carry their pool's release function (a box of a
/// `dyn Trait` made by [`coerce!`](crate::coerce) from boxes of several types). Sealed:
/// the crate alone implements it.
///
/// ```
/// use std::fmt::Debug;
/// use slab_core::{coerce, BoxPool, Erased, SlabBox, SlabCache};
/// slab_core::slab_hooks!(global);
///
/// fn show<T: Debug + ?Sized, C: BoxPool>(b: &SlabBox<T, C>) -> String {
///     format!("{b:?}")
/// }
/// let cache: SlabCache<u8> = SlabCache::new();
/// let typed = cache.alloc(1);
/// let erased: SlabBox<dyn Debug, Erased> = coerce!(cache.alloc(2));
/// assert_eq!(show(&typed) + &show(&erased), "12");
/// ```
pub trait BoxPool: sealed::Home {}

impl<C: Pool> BoxPool for C {}

/// The release word of a box of a pool named by its type: `()`, as a `C::Meta` in code
/// whose bounds also say `C: BoxPool` (where the compiler does not see that it is `()`).
#[inline(always)]
pub(crate) fn typed_meta<C: Pool>() -> <C as sealed::Home>::Meta {}

// SAFETY: a pool named by its type gives a slot back through `C::release`, the release
// path of the one cache type `C` names, after its hardening checks; `Sharing` is the
// cache's lock, which is `Send + Sync` only if it excludes across threads (I9).
unsafe impl<C: Pool> sealed::Home for C {
    type Meta = ();
    type Sharing = C::Lock;

    #[inline(always)]
    unsafe fn give_back((): (), slot: NonNull<u8>, name: &'static str) {
        // SAFETY: `slot` is a slot of a live slab of `C`'s cache (contract), so of
        // geometry `C::CLASS`; the caller gives it up.
        unsafe { hardening::on_release(slot, &C::CLASS, name) };
        // SAFETY: a slot handed out by a cache of type `C` whose value is gone (contract),
        // not used after this.
        unsafe { C::release(slot) };
    }
}

/// An owning pointer to a `T` in a slab, like `Box<T>`; `C` names the cache the slot
/// returns to when the box is dropped (from any thread).
///
/// A box owns one slot of a cache of type `C`, holding an initialised `T` (I2, I3 of
/// `IMPLEMENTATION.md`); the slot keeps its slab and its cache alive (I4).
///
/// For a runtime or `static` [`SlabCache<T, L, SIZE>`](crate::SlabCache) the box type is
/// `SlabBox<T, SlabCache<T, L, SIZE>>`; with the defaults (`SpinLock`, 4096) that is just
/// `SlabBox<T>`.
///
/// ```
/// use slab_core::{SlabBox, SlabCache};
/// slab_core::slab_hooks!(global);
/// let cache: SlabCache<Vec<u8>> = SlabCache::new();
/// let mut b: SlabBox<Vec<u8>> = cache.alloc(vec![1, 2]);
/// b.push(3);
/// assert_eq!(*b, [1, 2, 3]);
/// assert_eq!(size_of::<Option<SlabBox<Vec<u8>>>>(), size_of::<usize>());
/// ```
pub struct SlabBox<T: ?Sized, C: BoxPool = SlabCache<T>> {
    ptr: NonNull<T>,
    /// How the slot goes back: `()` unless `C` is [`Erased`](crate::Erased).
    meta: C::Meta,
    _owns: PhantomData<T>,
    _pool: PhantomData<fn() -> C>,
}

// SAFETY: a box owns its `T` (so moving it moves a `T`: `T: Send`), and dropping it on
// another thread locks the cache's depot there, which needs a lock that excludes across
// threads (`Sync`) and may be reached from any of them (`Send`): `C::Sharing` is that lock
// (or, for `Erased`, a type that is `Send + Sync` because only such pools are erased).
unsafe impl<T: ?Sized + Send, C: BoxPool> Send for SlabBox<T, C> where C::Sharing: Send + Sync {}
// SAFETY: `&SlabBox` gives only `&T`; it cannot free the slot.
unsafe impl<T: ?Sized + Sync, C: BoxPool> Sync for SlabBox<T, C> {}

impl<T: ?Sized, C: BoxPool> SlabBox<T, C> {
    /// A box of `ptr` that gives its slot back through `meta`.
    ///
    /// # Safety
    /// `ptr` is a slot handed out by the cache that `meta` and `C` describe, holding an
    /// initialised `T`, owned by nobody else.
    #[inline(always)]
    pub(crate) unsafe fn from_parts(ptr: NonNull<T>, meta: C::Meta) -> Self {
        SlabBox {
            ptr,
            meta,
            _owns: PhantomData,
            _pool: PhantomData,
        }
    }

    /// The pointer and the release word, without dropping anything: the box is gone.
    #[inline(always)]
    pub(crate) fn into_parts(b: Self) -> (NonNull<T>, C::Meta) {
        let b = ManuallyDrop::new(b);
        (b.ptr, b.meta)
    }
}

impl<T: ?Sized, C: BoxPool> SlabBox<T, C> {
    /// # Safety
    /// `ptr` is a slot handed out by a cache of type `C`, holding an initialised `T`,
    /// owned by nobody else.
    #[inline]
    pub(crate) unsafe fn from_slot(ptr: NonNull<T>) -> Self
    where
        T: Sized,
        C: Pool,
    {
        // SAFETY: a slot of `C`'s cache holding an initialised `T`, owned by nobody else
        // (contract); `C` names its cache, so the release word is `()`.
        unsafe { Self::from_parts(ptr, typed_meta::<C>()) }
    }

    /// Moves `value` into a free slot and owns it: the one place a box is made from a value.
    ///
    /// # Safety
    /// `slot` is a free slot of `C`'s cache, owned by nobody else; every slot of that cache
    /// is sized and aligned for `T`.
    #[inline(always)]
    pub(crate) unsafe fn new_in(slot: NonNull<u8>, value: T) -> Self
    where
        T: Sized,
        C: Pool,
    {
        let slot = slot.cast::<T>();
        // SAFETY: a free slot, owned by us (contract, I2), sized and aligned for `T` (the
        // stride is a multiple of `align_of::<T>()` and at least `size_of::<T>()`, I5).
        unsafe { slot.write(value) };
        // SAFETY: the slot now holds an initialised `T` (I3) and is ours, a slot of `C`'s
        // cache (contract, I2): what a box owns.
        unsafe { Self::from_slot(slot) }
    }

    /// Consumes the box and returns the value; the slot goes back to the cache.
    ///
    /// ```
    /// slab_core::slab_hooks!(global);
    /// let cache: slab_core::SlabCache<String> = slab_core::SlabCache::new();
    /// let s = slab_core::SlabBox::into_inner(cache.alloc("x".to_string()));
    /// assert_eq!(s, "x");
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    pub fn into_inner(b: Self) -> T
    where
        T: Sized,
    {
        let (ptr, meta) = Self::into_parts(b);
        // SAFETY: the slot holds an initialised, aligned `T` that the box owned; the box is
        // gone without dropping it, so this read is the value's only move out.
        let value = unsafe { ptr.read() };
        // SAFETY: the value was moved out above and the slot is not used again.
        unsafe { Self::release_slot(ptr, meta) };
        value
    }

    /// Consumes the box without freeing it and returns a reference that lives as long as
    /// the caller wants; the slot is never returned, so the cache keeps its slab.
    pub fn leak<'a>(b: Self) -> &'a mut T
    where
        T: 'a,
    {
        let b = ManuallyDrop::new(b);
        // SAFETY: the slot holds an initialised `T` owned by the box (I2, I3), which is
        // forgotten, so this is the only access path from now on; the slot is never
        // returned, so its slab lives as long as the program (I4).
        unsafe { &mut *b.ptr.as_ptr() }
    }

    /// Consumes the box and returns its raw pointer; [`from_raw`](Self::from_raw) turns it
    /// back into a box. Until then the value is not dropped and the slot stays in use.
    #[must_use = "losing the pointer will leak memory"]
    pub fn into_raw(b: Self) -> *mut T
    where
        T: Sized,
        C: Pool,
    {
        ManuallyDrop::new(b).ptr.as_ptr()
    }

    /// Rebuilds a box from [`into_raw`](Self::into_raw).
    ///
    /// ```
    /// slab_core::slab_hooks!(global);
    /// use slab_core::{SlabBox, SlabCache};
    /// let cache: SlabCache<u32> = SlabCache::new();
    /// let raw = SlabBox::into_raw(cache.alloc(9));
    /// // SAFETY: `raw` came from `into_raw` of a box of this very type, once.
    /// let b: SlabBox<u32> = unsafe { SlabBox::from_raw(raw) };
    /// assert_eq!(*b, 9);
    /// ```
    ///
    /// # Safety
    /// `ptr` was returned by `SlabBox::<T, C>::into_raw` (same `T` and `C`) and is passed
    /// to `from_raw` once.
    ///
    /// # Panics
    /// Always, before reading any memory at the pointer: on a null pointer, a pointer
    /// misaligned for `T`, one that is not at the start of a slot of a slab of this geometry
    /// (an interior pointer), and, for `#[slab_cached]` types, one outside the address range
    /// of the type's slabs (an O(1) check). With hardening checks (debug builds, or the
    /// `debug-checks` feature), also on a pointer into a slab that the type's cache does
    /// not own (an exact check), a slab whose header is corrupted, and a slot that is not in
    /// use (a double free). A runtime `SlabCache` box names no particular cache, so its
    /// ownership is checked through the slab header's magic and the slot's canary.
    #[must_use = "call `drop(SlabBox::from_raw(ptr))` if you intend to drop the box"]
    pub unsafe fn from_raw(ptr: *mut T) -> Self
    where
        T: Sized,
        C: Pool,
    {
        let name = core::any::type_name::<T>();
        let Some(ptr) = NonNull::new(ptr) else {
            panic!("slab_core: `from_raw` of a `{name}` got a null pointer")
        };
        let class = C::CLASS;
        let slot = ptr.cast::<u8>();
        if ptr.addr().get() % align_of::<T>() != 0 {
            panic!(
                "slab_core: `from_raw` of a `{name}` got {ptr:p}, which is not aligned to {}: \
                 not a pointer from `into_raw`",
                align_of::<T>()
            );
        }
        let h = crate::slab::header_of(slot, &class);
        let base = crate::slab::base_of(h, &class);
        if C::owns(base) == Some(false) {
            panic!(
                "slab_core: `from_raw` of a `{name}` got {ptr:p}, which does not belong to the \
                 cache of `{name}` (another cache, another type, or foreign memory)"
            );
        }
        if !class.starts_slot(slot.addr().get()) {
            panic!(
                "slab_core: `from_raw` of a `{name}` got {ptr:p}, which is not the start of a slot \
                 (an interior pointer, or not a pointer from `into_raw`)"
            );
        }
        if hardening::CHECKS {
            crate::slab::check_header(h, name);
            // SAFETY: `slot` starts a slot (`starts_slot`, above) of a live slab (its magic
            // was checked above, I12) of geometry `class` (I1): what `state` needs; it reads
            // only the canary (I7).
            let state = unsafe { hardening::state(slot, &class) };
            hardening::check_live(state, slot, name, "passed to `from_raw`");
        }
        // SAFETY: a slot of `C`'s cache holding a `T` that `into_raw` gave up (contract).
        unsafe { Self::from_slot(ptr) }
    }
}

impl<T: ?Sized, C: BoxPool> SlabBox<T, C> {
    /// Returns the bare slot to its cache, after the hardening checks.
    ///
    /// # Safety
    /// `ptr` and `meta` are a box's; the slot's value was dropped or moved out; the slot is
    /// not used again.
    #[inline]
    unsafe fn release_slot(ptr: NonNull<T>, meta: C::Meta) {
        // SAFETY: a slot handed out by the cache `meta` and `C` describe (the box's
        // invariant), whose value is gone and which the caller gives up (contract).
        unsafe { C::give_back(meta, ptr.cast(), core::any::type_name::<T>()) };
    }

    /// Pins the value: slab slots never move, so this is free.
    pub fn into_pin(b: Self) -> Pin<Self> {
        // SAFETY: the value lives in its slot until the box is dropped (slots never move:
        // I2 keeps the slot the box's) and is never moved out through a pinned box (`Pin`
        // hides `into_inner` and `DerefMut` for `!Unpin`).
        unsafe { Pin::new_unchecked(b) }
    }

    /// The raw pointer to the value, without consuming the box.
    #[must_use]
    pub fn as_ptr(b: &Self) -> *const T {
        b.ptr.as_ptr()
    }

    /// The raw mutable pointer to the value, without consuming the box.
    #[must_use]
    pub fn as_mut_ptr(b: &mut Self) -> *mut T {
        b.ptr.as_ptr()
    }
}

impl<T, C: BoxPool> SlabBox<MaybeUninit<T>, C> {
    /// Writes `value` into the slot and returns the initialised box.
    #[inline]
    pub fn write(b: Self, value: T) -> SlabBox<T, C> {
        let (ptr, meta) = Self::into_parts(b);
        // SAFETY: the slot is valid for a `T` (`MaybeUninit<T>` has its layout) and ours.
        unsafe { ptr.cast::<T>().write(value) };
        // SAFETY: the box's slot, now holding an initialised `T`, with its release word.
        unsafe { SlabBox::from_parts(ptr.cast(), meta) }
    }

    /// Declares the slot initialised.
    ///
    /// # Safety
    /// The slot holds a valid `T` (every byte a `T` needs was written).
    pub unsafe fn assume_init(self) -> SlabBox<T, C> {
        let (ptr, meta) = Self::into_parts(self);
        // SAFETY: the box's slot, holding a valid `T` (contract), with its release word.
        unsafe { SlabBox::from_parts(ptr.cast(), meta) }
    }
}

impl<T: ?Sized, C: BoxPool> Drop for SlabBox<T, C> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the box owns its slot (I2), and the guard is dropped only after the value
        // is gone: below, or while `T::drop` unwinds.
        let slot = unsafe { SlotGuard::<T, C>::with_meta(self.ptr, self.meta) };
        // SAFETY: the box owns an initialised, aligned `T` (boxes of `MaybeUninit<T>` drop
        // a `MaybeUninit`, which is a no-op) and drops it exactly once, here (I3).
        unsafe { self.ptr.drop_in_place() };
        drop(slot);
    }
}

/// Gives a slot back to its cache when dropped. Armed across a value's destructor, it
/// returns the slot even if `T::drop` panics, as `Box` frees its memory when the
/// destructor unwinds (the value counts as dropped: it is never dropped again).
pub(crate) struct SlotGuard<T: ?Sized, C: BoxPool> {
    ptr: NonNull<T>,
    meta: C::Meta,
    _marker: PhantomData<fn() -> C>,
}

impl<T: ?Sized, C: Pool> SlotGuard<T, C> {
    /// # Safety
    /// `ptr` is a slot handed out by a cache of type `C`, owned by the caller, whose value
    /// is dropped or moved out before the guard is dropped (or [`disarm`](Self::disarm)ed),
    /// and which is not used after that.
    #[inline(always)]
    pub(crate) unsafe fn new(ptr: NonNull<T>) -> Self {
        // SAFETY: the same contract; `C` names its cache, so the release word is `()`.
        unsafe { Self::with_meta(ptr, ()) }
    }
}

impl<T: ?Sized, C: BoxPool> SlotGuard<T, C> {
    /// # Safety
    /// As [`new`](Self::new), for the cache that `meta` and `C` describe.
    #[inline(always)]
    pub(crate) unsafe fn with_meta(ptr: NonNull<T>, meta: C::Meta) -> Self {
        SlotGuard {
            ptr,
            meta,
            _marker: PhantomData,
        }
    }

    /// Keeps the slot: the caller returns it another way.
    #[inline(always)]
    pub(crate) fn disarm(self) {
        core::mem::forget(self);
    }
}

impl<T: ?Sized, C: BoxPool> Drop for SlotGuard<T, C> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the slot's value is gone and the slot is not used again (the guard's
        // contract); it goes back to the cache it came from.
        unsafe { SlabBox::<T, C>::release_slot(self.ptr, self.meta) };
    }
}

impl<T: ?Sized, C: BoxPool> Deref for SlabBox<T, C> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the slot holds an initialised `T` owned by this box for its whole life
        // (I2, I3); `&self` allows shared access only.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ?Sized, C: BoxPool> DerefMut for SlabBox<T, C> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the slot holds an initialised `T` owned by this box (I2, I3), and
        // `&mut self` makes the access unique.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T: ?Sized, C: BoxPool> AsRef<T> for SlabBox<T, C> {
    fn as_ref(&self) -> &T {
        self
    }
}
impl<T: ?Sized, C: BoxPool> AsMut<T> for SlabBox<T, C> {
    fn as_mut(&mut self) -> &mut T {
        self
    }
}
impl<T: ?Sized, C: BoxPool> Borrow<T> for SlabBox<T, C> {
    fn borrow(&self) -> &T {
        self
    }
}
impl<T: ?Sized, C: BoxPool> BorrowMut<T> for SlabBox<T, C> {
    fn borrow_mut(&mut self) -> &mut T {
        self
    }
}
impl<T: ?Sized + fmt::Debug, C: BoxPool> fmt::Debug for SlabBox<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
impl<T: ?Sized + fmt::Display, C: BoxPool> fmt::Display for SlabBox<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
impl<T: ?Sized, C: BoxPool> fmt::Pointer for SlabBox<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr, f)
    }
}
impl<T: ?Sized + PartialEq, C: BoxPool> PartialEq for SlabBox<T, C> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
impl<T: ?Sized + Eq, C: BoxPool> Eq for SlabBox<T, C> {}
impl<T: ?Sized + PartialOrd, C: BoxPool> PartialOrd for SlabBox<T, C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}
impl<T: ?Sized + Ord, C: BoxPool> Ord for SlabBox<T, C> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}
impl<T: ?Sized + Hash, C: BoxPool> Hash for SlabBox<T, C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}
impl<T: ?Sized, C: BoxPool> Unpin for SlabBox<T, C> {}
