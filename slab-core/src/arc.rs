//! [`SlabArc`] and [`SlabWeak`]: a thread-safe reference-counted pointer whose counts and
//! value share one slab slot ([`ArcInner`]), with the count protocol of `std::sync::Arc`.
//!
//! # Where the slots come from
//! A `#[slab_cached]` type's own cache has slots of `size_of::<T>()`, too small for the
//! counts. So `#[slab_cached]` also emits a second `static` cache, of `ArcInner<T>`, with its
//! own thread-local magazines ([`ArcCached`], through `__slab_arc_impl!`). Like the first,
//! it allocates nothing before first use: a program that never calls `T::new_arc` pays one
//! `static` handle (a few words) and a thread-local that is never touched. An opt-in
//! argument (`#[slab_cached(arc)]`) would save those words at the price of a second
//! thing to remember, and of a compile error far from the attribute when it is forgotten.
//! Runtime caches need nothing new: a `SlabCache<ArcInner<T>, L, SIZE>` hands out arcs
//! with [`SlabCache::alloc_arc`].
//!
//! # The count protocol (I17 of `IMPLEMENTATION.md`)
//! `strong` counts the `SlabArc`s; `weak` counts the `SlabWeak`s plus one held by all the
//! strong ones together. The value is dropped when `strong` goes to zero, the slot is
//! given back when `weak` goes to zero. Every decrement is `Release`, and whoever takes a
//! count to zero issues an `Acquire` fence before touching the value or the slot, so every
//! use by another holder happens before the drop. `upgrade` increments `strong` only from
//! a non-zero value (a compare-exchange loop), so a dropped value never comes back.
//! `get_mut` and `make_mut` decide uniqueness by locking `weak` (swapping 1 for
//! `usize::MAX`, which `downgrade` waits out) before reading `strong`, so no `SlabWeak` can
//! be made or upgraded between the two reads. These are `alloc::sync::Arc`'s orderings.
//!
//! This module talks to `boxed` (pools, `SlabBox` for `from_raw`'s checks), `typed` (the
//! sealed magazine entry points, as `typed` does for boxes), `clone` (`Refill`),
//! `cache` (`SlabCache::raw_alloc`, `class_of`, `alloc_failed`) and `sync`.

use core::borrow::Borrow;
use core::cmp::Ordering as CmpOrdering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::pin::Pin;
use core::ptr::{self, NonNull};

use crate::boxed::{BoxPool, Pool, SlabBox, typed_meta};
use crate::clone::Refill;
use crate::coerce::check_same;
use crate::coerce::sealed::{Coerce, Retarget};
use crate::control::class_of;
use crate::error::alloc_failed;
use crate::error::{AllocError, SlabError};
use crate::geometry::MAX_SLAB_SIZE;
use crate::handle::SlabCache;
use crate::lock::LockTrait;
use crate::source::SlabSource;
use crate::sync::{AtomicUsize, Ordering, fence, spin_loop};
use crate::typed::CacheOf;
use crate::typed::sealed::Sealed as _;

/// The counts above this abort the program, as `std::sync::Arc`'s do: far below the
/// wrap-around, so that threads racing past the check cannot reach it.
const MAX_REFCOUNT: usize = isize::MAX as usize;

/// The slot of a [`SlabArc`]: the strong and weak counts, then the value. Public so that a
/// runtime cache of arcs can be named, `SlabCache<ArcInner<T>>`; its fields are private.
///
/// ```
/// use slab_core::{ArcInner, SlabArc, SlabCache};
/// slab_core::slab_hooks!(global);
/// let cache: SlabCache<ArcInner<String>> = SlabCache::new();
/// let a: SlabArc<String> = cache.alloc_arc("shared".to_string());
/// assert_eq!(*a, "shared");
/// ```
#[repr(C)]
pub struct ArcInner<T: ?Sized> {
    strong: AtomicUsize,
    weak: AtomicUsize,
    data: T,
}

/// A thread-safe reference-counted pointer to a `T` in a slab slot, like
/// `std::sync::Arc<T>`: the counts live in the slot beside the value, clones share it, the
/// value is dropped with the last `SlabArc` and the slot goes back to its cache with the
/// last [`SlabWeak`], from any thread.
///
/// `C` names the cache of `ArcInner<T>` slots: a runtime `SlabCache<ArcInner<T>, L, SIZE>`
/// (the default, [`SlabCache::alloc_arc`]), the arc cache of a `#[slab_cached]` type
/// ([`CachedArc<T>`], `T::new_arc`), or [`Erased`](crate::Erased) after a
/// [`coerce!`](crate::coerce) to a `dyn Trait`.
///
/// `Send` and `Sync` exactly when `std::sync::Arc<T>` is: `T: Send + Sync` (and a cache
/// lock that is `Send + Sync`).
///
/// ```
/// use slab_core::{slab_cached, CachedArc};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached]
/// struct Config { name: String, limit: u32 }
///
/// let a: CachedArc<Config> = Config::new_arc(Config { name: "main".into(), limit: 8 });
/// let b = CachedArc::clone(&a);
/// let t = std::thread::spawn(move || b.limit * 2);
/// assert_eq!(t.join().unwrap(), 16);
/// assert_eq!(CachedArc::strong_count(&a), 1);
/// ```
pub struct SlabArc<T: ?Sized, C: BoxPool = SlabCache<ArcInner<T>>> {
    ptr: NonNull<ArcInner<T>>,
    meta: C::Meta,
    _owns: PhantomData<ArcInner<T>>,
    _pool: PhantomData<fn() -> C>,
}

/// A weak reference to a [`SlabArc`]'s value, like `std::sync::Weak`: it keeps the slot
/// (not the value) alive, and [`upgrade`](Self::upgrade)s to a `SlabArc` while any strong
/// reference is left.
///
/// ```
/// use slab_core::{ArcInner, SlabArc, SlabCache};
/// slab_core::slab_hooks!(global);
/// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
/// let a = cache.alloc_arc(5);
/// let w = SlabArc::downgrade(&a);
/// assert_eq!(w.upgrade().map(|a| *a), Some(5));
/// drop(a);
/// assert!(w.upgrade().is_none());
/// drop(w);
/// assert_eq!(cache.stats().in_use, 0);
/// ```
pub struct SlabWeak<T: ?Sized, C: BoxPool = SlabCache<ArcInner<T>>> {
    ptr: NonNull<ArcInner<T>>,
    meta: C::Meta,
    _owns: PhantomData<ArcInner<T>>,
    _pool: PhantomData<fn() -> C>,
}

// SAFETY: as `std::sync::Arc`: an arc moved to another thread may be the last one, dropping
// the `T` there (`T: Send`), and clones share `&T` across threads (`T: Sync`); the last
// holder may give the slot back on any thread, which needs a lock that excludes across
// threads (`C::Sharing: Send + Sync`, as for `SlabBox`).
unsafe impl<T: ?Sized + Send + Sync, C: BoxPool> Send for SlabArc<T, C> where C::Sharing: Send + Sync
{}
// SAFETY: `&SlabArc` clones into a `SlabArc` on another thread: the bounds of `Send`.
unsafe impl<T: ?Sized + Send + Sync, C: BoxPool> Sync for SlabArc<T, C> where C::Sharing: Send + Sync
{}
// SAFETY: a weak reference upgrades into a `SlabArc` on its thread: the bounds of `SlabArc`.
unsafe impl<T: ?Sized + Send + Sync, C: BoxPool> Send for SlabWeak<T, C> where
    C::Sharing: Send + Sync
{
}
// SAFETY: as for `Send`.
unsafe impl<T: ?Sized + Send + Sync, C: BoxPool> Sync for SlabWeak<T, C> where
    C::Sharing: Send + Sync
{
}

/// Ends the program on a reference count overflow, as `std::sync::Arc` does: unwinding
/// would leave the count raised, and a loop of such panics could wrap it.
#[cold]
#[inline(never)]
fn refcount_overflow() -> ! {
    #[cfg(feature = "std")]
    std::process::abort();
    #[cfg(not(feature = "std"))]
    {
        /// Panics while the first panic unwinds, which aborts.
        struct Abort;
        impl Drop for Abort {
            fn drop(&mut self) {
                panic!("slab_core: SlabArc reference count overflow");
            }
        }
        let _abort = Abort;
        panic!("slab_core: SlabArc reference count overflow");
    }
}

/// The acquire side of a count that a release decrement took to zero: a fence, as in
/// `alloc::sync::Arc`. ThreadSanitizer does not model fences, so under `--cfg slab_tsan`
/// (the CI's TSan stage) it is an acquire load of that count, which synchronises with the
/// same release decrements (`std` does the same under `cfg(sanitize = "thread")`).
#[inline(always)]
fn acquire_after_zero(count: &AtomicUsize) {
    #[cfg(not(slab_tsan))]
    {
        let _ = count;
        fence(Ordering::Acquire);
    }
    #[cfg(slab_tsan)]
    let _ = count.load(Ordering::Acquire);
}

/// Sets a strong count back to 1 when dropped: `make_mut` holds one at zero while it takes
/// a new slot, and must not leave it there if that panics.
struct RestoreStrong<'a>(&'a AtomicUsize);

impl Drop for RestoreStrong<'_> {
    fn drop(&mut self) {
        self.0.store(1, Ordering::Release);
    }
}

/// The two counts of a slot, reached without a reference to the value (which may be
/// dropped while weak references read them).
struct Counts<'a> {
    strong: &'a AtomicUsize,
    weak: &'a AtomicUsize,
}

/// # Safety
/// `ptr` is the slot of a live arc (its weak count is not zero) for as long as `'a`.
#[inline(always)]
unsafe fn counts<'a, T: ?Sized>(ptr: NonNull<ArcInner<T>>) -> Counts<'a> {
    let p = ptr.as_ptr();
    // SAFETY: `p` points at a live `ArcInner` (contract); the projection makes no
    // reference to the value, which may be gone.
    let strong = unsafe { &raw const (*p).strong };
    // SAFETY: as for `strong`.
    let weak = unsafe { &raw const (*p).weak };
    // SAFETY: the slot holds initialised counts while its weak count is not zero (I17),
    // and the atomics are only ever shared.
    let strong = unsafe { &*strong };
    // SAFETY: as for `strong`.
    let weak = unsafe { &*weak };
    Counts { strong, weak }
}

/// The value's place in the slot (no reference is made).
///
/// # Safety
/// `ptr` points at a live `ArcInner` (its weak count is not zero).
#[inline(always)]
unsafe fn data<T: ?Sized>(ptr: NonNull<ArcInner<T>>) -> *mut T {
    // SAFETY: in bounds of the live slot (contract); a raw projection makes no reference.
    unsafe { &raw mut (*ptr.as_ptr()).data }
}

/// Gives the implicit weak reference of the strong ones (or a `SlabWeak`) back: the last
/// one returns the slot. A guard, so that a panicking `T::drop` still returns it (I3).
struct WeakRelease<T: ?Sized, C: BoxPool> {
    ptr: NonNull<ArcInner<T>>,
    meta: C::Meta,
}

impl<T: ?Sized, C: BoxPool> Drop for WeakRelease<T, C> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we hold one weak count, so the slot is live.
        let c = unsafe { counts(self.ptr) };
        if c.weak.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Every other holder's last use happens before their decrement, which this
        // acquire fence orders before the slot goes back.
        acquire_after_zero(c.weak);
        // SAFETY: the weak count is zero, so the value was dropped (the strong ones hold a
        // weak count until they are gone) and nobody else can reach the slot; it came from
        // the cache that `meta` and `C` describe (I2, I17).
        unsafe {
            C::give_back(
                self.meta,
                self.ptr.cast(),
                core::any::type_name::<ArcInner<T>>(),
            )
        };
    }
}

impl<T: ?Sized, C: BoxPool> SlabArc<T, C> {
    /// # Safety
    /// `ptr` is a slot of the cache `meta` and `C` describe, holding an initialised
    /// `ArcInner<T>`, and the caller gives up one strong count of it.
    #[inline(always)]
    unsafe fn from_inner(ptr: NonNull<ArcInner<T>>, meta: C::Meta) -> Self {
        SlabArc {
            ptr,
            meta,
            _owns: PhantomData,
            _pool: PhantomData,
        }
    }

    #[inline(always)]
    fn counts(&self) -> Counts<'_> {
        // SAFETY: a strong reference keeps the slot live (I17).
        unsafe { counts(self.ptr) }
    }

    /// The value's place (a raw pointer with the slot's provenance).
    #[inline(always)]
    fn data(&self) -> *mut T {
        // SAFETY: a strong reference keeps the slot live (I17).
        unsafe { data(self.ptr) }
    }

    /// A new weak reference to this value.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(1);
    /// let w = SlabArc::downgrade(&a);
    /// assert_eq!(SlabArc::weak_count(&a), 1);
    /// assert_eq!(w.upgrade().as_deref(), Some(&1));
    /// ```
    #[must_use = "this returns a new `SlabWeak` pointer, without modifying the original `SlabArc`"]
    pub fn downgrade(this: &Self) -> SlabWeak<T, C> {
        let weak = this.counts().weak;
        let mut cur = weak.load(Ordering::Relaxed);
        loop {
            // `usize::MAX` means `get_mut`/`make_mut` holds the weak count locked.
            if cur == usize::MAX {
                spin_loop();
                cur = weak.load(Ordering::Relaxed);
                continue;
            }
            if cur > MAX_REFCOUNT {
                refcount_overflow();
            }
            // Acquire pairs with the release in `is_unique`, so the weak reference is
            // made after a `get_mut` that saw none.
            match weak.compare_exchange_weak(cur, cur + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    return SlabWeak {
                        ptr: this.ptr,
                        meta: this.meta,
                        _owns: PhantomData,
                        _pool: PhantomData,
                    };
                }
                Err(old) => cur = old,
            }
        }
    }

    /// How many `SlabArc`s share this value (a snapshot: other threads may change it).
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(1);
    /// let b = SlabArc::clone(&a);
    /// assert_eq!(SlabArc::strong_count(&a), 2);
    /// drop(b);
    /// assert_eq!(SlabArc::strong_count(&a), 1);
    /// ```
    #[must_use]
    pub fn strong_count(this: &Self) -> usize {
        this.counts().strong.load(Ordering::Relaxed)
    }

    /// How many [`SlabWeak`]s point at this value (a snapshot).
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(1);
    /// let (w1, w2) = (SlabArc::downgrade(&a), SlabArc::downgrade(&a));
    /// assert_eq!(SlabArc::weak_count(&a), 2);
    /// # drop((w1, w2));
    /// ```
    #[must_use]
    pub fn weak_count(this: &Self) -> usize {
        let n = this.counts().weak.load(Ordering::Relaxed);
        // Locked by `get_mut`: there were no weak references then.
        if n == usize::MAX { 0 } else { n - 1 }
    }

    /// Whether both point at the same value (like `std::sync::Arc::ptr_eq`).
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(1);
    /// let b = SlabArc::clone(&a);
    /// let c = cache.alloc_arc(1);
    /// assert!(SlabArc::ptr_eq(&a, &b));
    /// assert!(!SlabArc::ptr_eq(&a, &c)); // equal values, two slots
    /// ```
    #[must_use]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// The raw pointer to the value, without consuming the arc.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(9);
    /// let p = SlabArc::as_ptr(&a);
    /// assert_eq!(p, &*a as *const u32);
    /// ```
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const T {
        this.data().cast_const()
    }

    /// Whether this is the only reference of either kind; if so, no other can appear
    /// until `&mut self` ends (only this one could make one).
    fn is_unique(&mut self) -> bool {
        let c = self.counts();
        // Lock the weak count if we are its only holder, so no `downgrade` runs (and no
        // `SlabWeak` exists to upgrade) while `strong` is read.
        if c.weak
            .compare_exchange(1, usize::MAX, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            // Acquire pairs with the release decrements of other strong references, so
            // their uses happen before ours.
            let unique = c.strong.load(Ordering::Acquire) == 1;
            // Release pairs with the acquire of `downgrade`.
            c.weak.store(1, Ordering::Release);
            unique
        } else {
            false
        }
    }

    /// A mutable reference to the value if no other `SlabArc` or `SlabWeak` points at it.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let mut a = cache.alloc_arc(1);
    /// *SlabArc::get_mut(&mut a).unwrap() += 1;
    /// let b = SlabArc::clone(&a);
    /// assert!(SlabArc::get_mut(&mut a).is_none());
    /// drop(b);
    /// assert_eq!(*a, 2);
    /// ```
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        if this.is_unique() {
            // SAFETY: no other reference of either kind exists, and none can be made while
            // `this` is borrowed mutably (I17).
            Some(unsafe { &mut *this.data() })
        } else {
            None
        }
    }
}

impl<T, C: BoxPool> SlabArc<T, C> {
    /// Writes a fresh `ArcInner` into `slot`.
    ///
    /// # Safety
    /// `slot` is a free slot of the cache `meta` and `C` describe, owned by the caller,
    /// sized and aligned for `ArcInner<T>`.
    #[inline(always)]
    unsafe fn new_in(slot: NonNull<u8>, value: T, meta: C::Meta) -> Self {
        let ptr = slot.cast::<ArcInner<T>>();
        // SAFETY: a free slot, sized and aligned for an `ArcInner<T>`, ours (contract).
        unsafe {
            ptr.write(ArcInner {
                strong: AtomicUsize::new(1),
                weak: AtomicUsize::new(1),
                data: value,
            });
        }
        // SAFETY: the slot now holds an initialised `ArcInner<T>`; its one strong count is
        // the new arc's.
        unsafe { Self::from_inner(ptr, meta) }
    }

    /// The value, if this is the only `SlabArc` (weak references then fail to upgrade);
    /// otherwise the arc back.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<String>> = SlabCache::new();
    /// let a = cache.alloc_arc("x".to_string());
    /// let b = SlabArc::clone(&a);
    /// let a = SlabArc::try_unwrap(a).unwrap_err(); // `b` still shares it
    /// drop(b);
    /// assert_eq!(SlabArc::try_unwrap(a).unwrap(), "x");
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    ///
    /// # Errors
    /// The arc itself, when another `SlabArc` shares the value.
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if this
            .counts()
            .strong
            .compare_exchange(1, 0, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return Err(this);
        }
        // Other strong references' uses (before their release decrements) happen before
        // the value is moved out.
        acquire_after_zero(this.counts().strong);
        let this = ManuallyDrop::new(this);
        // SAFETY: the strong count went from 1 to 0 by our hand: the value is ours alone
        // and is moved out once; it is never dropped in place (I3, I17).
        let value = unsafe { ptr::read(this.data()) };
        drop(WeakRelease::<T, C> {
            ptr: this.ptr,
            meta: this.meta,
        });
        Ok(value)
    }

    /// The value if this was the last `SlabArc`, else `None` (the arc is dropped either
    /// way). Unlike `try_unwrap`, two threads calling it on the last two arcs cannot both
    /// get `None`.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u8>> = SlabCache::new();
    /// let a = cache.alloc_arc(3);
    /// let b = SlabArc::clone(&a);
    /// assert_eq!(SlabArc::into_inner(a), None);
    /// assert_eq!(SlabArc::into_inner(b), Some(3));
    /// ```
    #[must_use]
    pub fn into_inner(this: Self) -> Option<T> {
        let this = ManuallyDrop::new(this);
        if this.counts().strong.fetch_sub(1, Ordering::Release) != 1 {
            return None;
        }
        acquire_after_zero(this.counts().strong);
        // SAFETY: we took the strong count to zero, so the value is ours alone, moved out
        // once and never dropped in place (I3, I17).
        let value = unsafe { ptr::read(this.data()) };
        drop(WeakRelease::<T, C> {
            ptr: this.ptr,
            meta: this.meta,
        });
        Some(value)
    }

    /// The value if this is the only `SlabArc`, else a clone of it.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(4);
    /// let b = SlabArc::clone(&a);
    /// assert_eq!(SlabArc::unwrap_or_clone(a), 4); // cloned: `b` shares it
    /// assert_eq!(SlabArc::unwrap_or_clone(b), 4); // moved out: the last one
    /// assert_eq!(cache.stats().in_use, 0);
    /// ```
    #[must_use]
    pub fn unwrap_or_clone(this: Self) -> T
    where
        T: Clone,
    {
        Self::try_unwrap(this).unwrap_or_else(|a| T::clone(&a))
    }
}

#[allow(
    clippy::unit_arg,
    reason = "the release word of a pool named by its type is `()`; it is passed all the same, so the code reads as for any pool"
)]
impl<T, C: Pool> SlabArc<T, C> {
    /// Consumes the arc and returns the pointer to its value; the count stays taken until
    /// [`from_raw`](Self::from_raw).
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let raw = SlabArc::into_raw(cache.alloc_arc(3));
    /// // SAFETY: `raw` came from `into_raw` of an arc of this very type, once.
    /// assert_eq!(*unsafe { SlabArc::<u32>::from_raw(raw) }, 3);
    /// ```
    #[must_use = "losing the pointer will leak memory"]
    pub fn into_raw(this: Self) -> *const T {
        let this = ManuallyDrop::new(this);
        Self::as_ptr(&this)
    }

    /// Rebuilds an arc from [`into_raw`](Self::into_raw).
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u64>> = SlabCache::new();
    /// let raw = SlabArc::into_raw(cache.alloc_arc(7));
    /// // SAFETY: `raw` came from `into_raw` of an arc of this very type, once.
    /// let a: SlabArc<u64> = unsafe { SlabArc::from_raw(raw) };
    /// assert_eq!(*a, 7);
    /// ```
    ///
    /// # Safety
    /// `ptr` was returned by `SlabArc::<T, C>::into_raw` (same `T` and `C`), and each such
    /// pointer is passed to `from_raw` once per `into_raw`.
    ///
    /// # Panics
    /// As [`SlabBox::from_raw`], before anything at the pointer is read: on a null,
    /// misaligned, interior or (for `#[slab_cached]` types, or with hardening checks)
    /// foreign pointer.
    #[must_use = "call `drop(SlabArc::from_raw(ptr))` if you intend to drop the arc"]
    pub unsafe fn from_raw(ptr: *const T) -> Self {
        let Some(data) = NonNull::new(ptr.cast_mut()) else {
            panic!(
                "slab_core: `SlabArc::from_raw` of a `{}` got a null pointer",
                core::any::type_name::<T>()
            )
        };
        // The slot starts `offset_of!(data)` bytes before the value; `wrapping_byte_sub`
        // keeps the provenance of the slot that `into_raw` handed out.
        let inner = data
            .as_ptr()
            .wrapping_byte_sub(core::mem::offset_of!(ArcInner<T>, data))
            .cast::<ArcInner<T>>();
        // The slot checks of a box (alignment, slot start, cache ownership) panic on a
        // pointer that `into_raw` cannot have returned, before reading it.
        // SAFETY: `inner` is the slot of a live arc of pool `C` (contract), which holds a
        // live `ArcInner<T>`; the box is taken apart at once, never dropped.
        let b = unsafe { SlabBox::<ArcInner<T>, C>::from_raw(inner) };
        let (inner, ()) = SlabBox::into_parts(b);
        // SAFETY: the slot of an arc of pool `C` whose strong count `into_raw` kept for us.
        unsafe { Self::from_inner(inner, typed_meta::<C>()) }
    }
}

#[allow(
    clippy::unit_arg,
    reason = "the release word of a pool named by its type is `()`; it is passed all the same, so the code reads as for any pool"
)]
impl<T: Clone, C: Refill> SlabArc<T, C> {
    /// A mutable reference to the value, cloning it into a new slot of the same cache
    /// first if other `SlabArc`s share it (clone-on-write); weak references to a value
    /// that only they still see are parted from it.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<Vec<u8>>> = SlabCache::new();
    /// let mut a = cache.alloc_arc(vec![1]);
    /// let b = SlabArc::clone(&a);
    /// SlabArc::make_mut(&mut a).push(2); // `a` gets its own copy
    /// assert_eq!((a.as_slice(), b.as_slice()), (&[1, 2][..], &[1][..]));
    /// assert_eq!(cache.stats().in_use, 2);
    /// ```
    ///
    /// # Panics
    /// When a new slot is needed and the allocation hook has no memory.
    pub fn make_mut(this: &mut Self) -> &mut T {
        let unique_strong = this
            .counts()
            .strong
            .compare_exchange(1, 0, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        if !unique_strong {
            // Another strong reference: clone into a slot of our own.
            let fresh = match Self::clone_in_new_slot(this) {
                Ok(a) => a,
                Err(e) => alloc_failed::<ArcInner<T>>(C::SLAB_SIZE, e),
            };
            *this = fresh;
        } else if this.counts().weak.load(Ordering::Relaxed) != 1 {
            // We were the only strong reference, but weak ones remain: move the value to a
            // new slot and leave them the old one, whose value is now gone (strong = 0).
            // Until the value has moved, a failed or panicking allocation gives it its
            // strong count back (nothing moved yet), so `this` stays a valid arc.
            let restore = RestoreStrong(this.counts().strong);
            // SAFETY: our arc keeps its slot outstanding (I2).
            let slot = match unsafe { C::alloc_like(this.ptr.cast()) } {
                Ok(s) => s,
                Err(e) => {
                    drop(restore);
                    alloc_failed::<ArcInner<T>>(C::SLAB_SIZE, e)
                }
            };
            core::mem::forget(restore);
            // SAFETY: the strong count is zero by our hand, so the value is ours alone: it
            // is moved out once, and the old slot never drops it (I3, I17).
            let value = unsafe { ptr::read(this.data()) };
            // SAFETY: a free slot of the same cache, owned by us (`AllocLike`).
            let fresh = unsafe { Self::new_in(slot, value, this.meta) };
            let old = ManuallyDrop::new(core::mem::replace(this, fresh));
            // The strong references' implicit weak count on the old slot goes with them.
            drop(WeakRelease::<T, C> {
                ptr: old.ptr,
                meta: old.meta,
            });
        } else {
            // The only reference of either kind: restore the strong count.
            this.counts().strong.store(1, Ordering::Release);
        }
        // SAFETY: `this` is now the only reference to its value: a fresh slot, or one whose
        // counts were 1 and 1 with no way to make another while `this` is borrowed.
        unsafe { &mut *this.data() }
    }

    /// A new arc in a new slot of this arc's cache, holding a clone of the value.
    fn clone_in_new_slot(this: &Self) -> Result<Self, SlabError> {
        // SAFETY: our arc keeps its slot outstanding (I2).
        let slot = unsafe { C::alloc_like(this.ptr.cast()) }?;
        // SAFETY: a free slot of `C`'s cache, ours, holding no value: given back if `f`
        // panics, disarmed otherwise.
        let guard = unsafe { crate::boxed::SlotGuard::<ArcInner<T>, C>::new(slot.cast()) };
        let value = T::clone(this);
        guard.disarm();
        // SAFETY: a free slot of `C`'s cache, sized for `ArcInner<T>`, owned by us.
        Ok(unsafe { Self::new_in(slot, value, typed_meta::<C>()) })
    }
}

impl<T: ?Sized, C: BoxPool> Clone for SlabArc<T, C> {
    /// Another strong reference to the same value (no allocation).
    #[inline]
    fn clone(&self) -> Self {
        // Relaxed, as `std`: a new reference needs no ordering with the value, only a
        // count; whoever drops to zero synchronises through release/acquire.
        let old = self.counts().strong.fetch_add(1, Ordering::Relaxed);
        if old > MAX_REFCOUNT {
            refcount_overflow();
        }
        // SAFETY: the same slot, whose strong count we just raised for the new arc.
        unsafe { Self::from_inner(self.ptr, self.meta) }
    }
}

impl<T: ?Sized, C: BoxPool> Drop for SlabArc<T, C> {
    #[inline]
    fn drop(&mut self) {
        if self.counts().strong.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Every other strong reference's use happens before its release decrement, which
        // this fence orders before the value's destructor.
        acquire_after_zero(self.counts().strong);
        // The strong references' implicit weak count goes back after the value, even if
        // its destructor panics (I3).
        let _weak = WeakRelease::<T, C> {
            ptr: self.ptr,
            meta: self.meta,
        };
        // SAFETY: we took the strong count to zero: no `SlabArc` is left and no `SlabWeak`
        // can upgrade, so the value is dropped exactly once, here, with nobody else
        // reading it (I3, I17).
        unsafe { ptr::drop_in_place(self.data()) };
    }
}

impl<T: ?Sized, C: BoxPool> SlabWeak<T, C> {
    #[inline(always)]
    fn counts(&self) -> Counts<'_> {
        // SAFETY: a weak reference keeps the slot live (I17).
        unsafe { counts(self.ptr) }
    }

    /// A `SlabArc` to the value if any strong reference is left, else `None`.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(2);
    /// let w = SlabArc::downgrade(&a);
    /// assert_eq!(w.upgrade().map(|a| *a), Some(2));
    /// drop(a);
    /// assert!(w.upgrade().is_none()); // the value is gone; `w` still holds the slot
    /// ```
    #[must_use = "this returns a new `SlabArc`, without modifying the original weak pointer"]
    pub fn upgrade(&self) -> Option<SlabArc<T, C>> {
        // Never from zero to one: a dropped value stays dropped. Acquire on success, so
        // the value's initialisation and earlier writes are seen.
        self.counts()
            .strong
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| {
                if n == 0 {
                    return None;
                }
                if n > MAX_REFCOUNT {
                    refcount_overflow();
                }
                Some(n + 1)
            })
            .ok()?;
        // SAFETY: the same slot, whose strong count we raised from a non-zero value.
        Some(unsafe { SlabArc::from_inner(self.ptr, self.meta) })
    }

    /// How many `SlabArc`s point at the value (0 once it was dropped).
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(2);
    /// let w = SlabArc::downgrade(&a);
    /// assert_eq!(w.strong_count(), 1);
    /// drop(a);
    /// assert_eq!(w.strong_count(), 0);
    /// ```
    #[must_use]
    pub fn strong_count(&self) -> usize {
        self.counts().strong.load(Ordering::Relaxed)
    }

    /// How many `SlabWeak`s point at the value, 0 once no strong reference is left (a
    /// snapshot).
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(2);
    /// let w = SlabArc::downgrade(&a);
    /// let w2 = w.clone();
    /// assert_eq!(w.weak_count(), 2);
    /// drop(a);
    /// assert_eq!(w2.weak_count(), 0);
    /// ```
    #[must_use]
    pub fn weak_count(&self) -> usize {
        let c = self.counts();
        let weak = c.weak.load(Ordering::Acquire);
        let strong = c.strong.load(Ordering::Relaxed);
        if strong == 0 {
            0
        } else {
            // The strong references hold one weak count together. `get_mut` cannot hold
            // it locked here: it locks only while there is no `SlabWeak`, and we are one.
            weak - 1
        }
    }

    /// Whether both point at the same slot.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.alloc_arc(2);
    /// let (w1, w2) = (SlabArc::downgrade(&a), SlabArc::downgrade(&a));
    /// assert!(w1.ptr_eq(&w2));
    /// ```
    #[must_use]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        ptr::addr_eq(self.ptr.as_ptr(), other.ptr.as_ptr())
    }
}

impl<T: ?Sized, C: BoxPool> Clone for SlabWeak<T, C> {
    #[inline]
    fn clone(&self) -> Self {
        // A `SlabWeak` exists, so `get_mut` cannot hold the count locked.
        let old = self.counts().weak.fetch_add(1, Ordering::Relaxed);
        if old > MAX_REFCOUNT {
            refcount_overflow();
        }
        SlabWeak {
            ptr: self.ptr,
            meta: self.meta,
            _owns: PhantomData,
            _pool: PhantomData,
        }
    }
}

impl<T: ?Sized, C: BoxPool> Drop for SlabWeak<T, C> {
    #[inline]
    fn drop(&mut self) {
        drop(WeakRelease::<T, C> {
            ptr: self.ptr,
            meta: self.meta,
        });
    }
}

// ---- constructors ----

#[allow(
    clippy::unit_arg,
    reason = "the release word of a pool named by its type is `()`; it is passed all the same, so the code reads as for any pool"
)]
impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> SlabCache<ArcInner<T>, L, SIZE, S> {
    /// Places `value` in a slot of this cache of arcs and returns the first `SlabArc`.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// static NAMES: SlabCache<ArcInner<String>> = SlabCache::new();
    /// let a: SlabArc<String> = NAMES.alloc_arc("Ada".to_string());
    /// let b = SlabArc::clone(&a);
    /// assert_eq!(NAMES.stats().in_use, 1); // one slot for both
    /// # drop((a, b));
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming the type.
    #[must_use]
    #[inline]
    pub fn alloc_arc(&self, value: T) -> SlabArc<T, Self> {
        match self.raw_alloc() {
            // SAFETY: a fresh slot of this cache, sized for `ArcInner<T>`, owned by us.
            Ok(slot) => unsafe { SlabArc::new_in(slot, value, typed_meta::<Self>()) },
            Err(e) => alloc_failed::<ArcInner<T>>(SIZE, e),
        }
    }

    /// Like [`alloc_arc`](Self::alloc_arc), or hands the value back.
    ///
    /// ```
    /// use slab_core::{ArcInner, SlabArc, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<ArcInner<u32>> = SlabCache::new();
    /// let a = cache.try_alloc_arc(5).unwrap_or_else(|e| panic!("{e}"));
    /// assert_eq!(*a, 5);
    /// ```
    ///
    /// # Errors
    /// [`AllocError`] when the allocation hook has no memory; `into_inner` returns `value`.
    #[inline]
    pub fn try_alloc_arc(&self, value: T) -> Result<SlabArc<T, Self>, AllocError<T>> {
        match self.raw_alloc() {
            // SAFETY: a fresh slot of this cache, sized for `ArcInner<T>`, owned by us.
            Ok(slot) => Ok(unsafe { SlabArc::new_in(slot, value, typed_meta::<Self>()) }),
            Err(e) => Err(AllocError::new(value, e)),
        }
    }
}

/// A type whose `ArcInner` has its own `static` slab cache, implemented by
/// `#[slab_cached]` beside [`SlabCached`](crate::SlabCached): what `T::new_arc` and
/// [`CachedArc<T>`] use.
///
/// ```
/// use slab_core::{slab_cached, ArcCached, CachedArc};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached]
/// struct Texture { id: u32 }
///
/// fn share<T: ArcCached>(v: T) -> (CachedArc<T>, CachedArc<T>) {
///     let a = CachedArc::new(v);
///     (a.clone(), a)
/// }
/// let (a, b) = share(Texture { id: 7 });
/// assert_eq!(a.id + b.id, 14);
/// assert_eq!(Texture::arc_cache().stats().in_use, 1); // one slot for both
/// ```
///
/// # Safety
/// Write `#[slab_cached]` instead of an impl. An `unsafe impl` written by hand promises what
/// that one does (I10 of `IMPLEMENTATION.md`, for the arc cache): `arc_cache()` returns the
/// same `static` on every call, and `__arc_magazines()` the same `thread_local!`, initialised
/// with `ManuallyDrop::new(ThreadCache::new_tls())` in a `const` block, used for this
/// type's arc cache alone.
pub unsafe trait ArcCached: Sized + 'static {
    /// The cache of `ArcInner<Self>`: `SlabCache<ArcInner<Self>, L, SIZE>`.
    type ArcCache: CacheOf<ArcInner<Self>>;
    /// The type's `static` cache of arcs (allocates nothing before first use).
    fn arc_cache() -> &'static Self::ArcCache;
    /// This thread's magazines for the type's arcs (`std` builds).
    #[cfg(feature = "std")]
    #[doc(hidden)]
    fn __arc_magazines() -> &'static std::thread::LocalKey<
        <Self::ArcCache as crate::typed::sealed::Sealed<ArcInner<Self>>>::Magazines,
    >;
}

/// The pool of a `#[slab_cached]` type's arcs: slots go to this thread's magazines of its
/// arc cache (in `std` builds), else to that cache's depot.
///
/// ```
/// use slab_core::{slab_cached, ArcPool, SlabArc};
/// slab_core::slab_hooks!(global);
/// #[slab_cached] struct Sprite(u16);
/// let a: SlabArc<Sprite, ArcPool<Sprite>> = Sprite::new_arc(Sprite(1));
/// assert_eq!(a.0, 1);
/// ```
pub struct ArcPool<T>(PhantomData<fn() -> T>);

/// Public because [`CachedArc<T>`] names it; it has no value and no method of its own.
impl<T: ArcCached> Pool for ArcPool<T> {
    type Lock = <T::ArcCache as Pool>::Lock;
    const SLAB_SIZE: usize = <T::ArcCache as Pool>::SLAB_SIZE;
}

// SAFETY: arcs typed `SlabArc<_, ArcPool<T>>` are made only from slots of `T::arc_cache()`
// (by `arc_slot` below, or `from_raw`, whose contract demands it); `release` gives the
// slot to this thread's magazine of that same cache, or to its depot.
unsafe impl<T: ArcCached> crate::boxed::sealed::Sealed for ArcPool<T> {
    const CLASS: crate::geometry::Class = <T::ArcCache as crate::boxed::sealed::Sealed>::CLASS;

    fn owns(slab: NonNull<u8>) -> Option<bool> {
        Some(T::arc_cache().owns(slab))
    }

    #[inline]
    unsafe fn release(slot: NonNull<u8>) {
        // SAFETY: `slot` is a free slot of `T::arc_cache()` that the caller gives up
        // (`release`'s contract), and `T::__arc_magazines()` are the magazines of that
        // cache (`ArcCached`'s contract, I10).
        #[cfg(feature = "std")]
        T::__arc_magazines().with(|m| unsafe { T::ArcCache::push_local(m, slot) });
        // SAFETY: `slot` is a free slot of `T::arc_cache()`, whose pool type is
        // `T::ArcCache` (contract).
        #[cfg(not(feature = "std"))]
        unsafe {
            <T::ArcCache as crate::boxed::sealed::Sealed>::release(slot)
        }
    }
}

// SAFETY: the new slot comes from `T::arc_cache()`, the cache of every `ArcPool<T>` slot.
unsafe impl<T: ArcCached> crate::clone::sealed::AllocLike for ArcPool<T> {
    #[inline]
    unsafe fn alloc_like(_slot: NonNull<u8>) -> Result<NonNull<u8>, SlabError> {
        arc_slot::<T>()
    }
}

/// The arc of a `#[slab_cached]` type `T`: what `T::new_arc` returns.
///
/// ```
/// use slab_core::{slab_cached, CachedArc};
/// slab_core::slab_hooks!(global);
/// #[slab_cached] struct Faction { name: String }
/// let f: CachedArc<Faction> = Faction::new_arc(Faction { name: "Guild".into() });
/// let members: Vec<CachedArc<Faction>> = (0..3).map(|_| CachedArc::clone(&f)).collect();
/// assert_eq!(CachedArc::strong_count(&f), 4);
/// assert_eq!(members[2].name, "Guild");
/// ```
pub type CachedArc<T> = SlabArc<T, ArcPool<T>>;

/// The weak reference of a [`CachedArc<T>`].
///
/// ```
/// use slab_core::{slab_cached, CachedArc, CachedWeak};
/// slab_core::slab_hooks!(global);
/// #[slab_cached] struct Node { parent: Option<CachedWeak<Node>>, depth: u8 }
/// let root = Node::new_arc(Node { parent: None, depth: 0 });
/// let child = Node::new_arc(Node { parent: Some(CachedArc::downgrade(&root)), depth: 1 });
/// let up = child.parent.as_ref().and_then(|w| w.upgrade()).unwrap();
/// assert_eq!(up.depth, 0);
/// ```
pub type CachedWeak<T> = SlabWeak<T, ArcPool<T>>;

/// One free slot of `T`'s arc cache, from this thread's magazine when it holds one.
#[inline(always)]
fn arc_slot<T: ArcCached>() -> Result<NonNull<u8>, SlabError> {
    // SAFETY: `T::__arc_magazines()` are the magazines of `T::ArcCache`'s type (I10).
    #[cfg(feature = "std")]
    let popped = T::__arc_magazines().with(|m| unsafe { T::ArcCache::pop_loaded(m) });
    #[cfg(feature = "std")]
    if let Some(slot) = popped.map(|p| p.settle()) {
        // SAFETY: a free slot of `T`'s arc cache, just taken from our magazine, so ours.
        unsafe { T::ArcCache::handout(slot) };
        return Ok(slot);
    }
    arc_slot_slow::<T>()
}

/// [`arc_slot`] past the loaded magazine.
#[inline(never)]
fn arc_slot_slow<T: ArcCached>() -> Result<NonNull<u8>, SlabError> {
    let cache = T::arc_cache();
    #[cfg(feature = "std")]
    {
        // SAFETY: `T::__arc_magazines()` are the magazines of the type whose arc cache is
        // `T::arc_cache()` (I10).
        let slot = T::__arc_magazines().with(|m| unsafe { cache.pop_local(m) })?;
        // SAFETY: a free slot of `T`'s arc cache, just taken for us, so ours.
        unsafe { T::ArcCache::handout(slot) };
        Ok(slot)
    }
    #[cfg(not(feature = "std"))]
    cache.raw_alloc()
}

#[allow(
    clippy::unit_arg,
    reason = "the release word of a pool named by its type is `()`; it is passed all the same, so the code reads as for any pool"
)]
impl<T: ArcCached> SlabArc<T, ArcPool<T>> {
    /// Allocates `value` in `T`'s arc cache: `CachedArc::<T>::new(v)` is `T::new_arc(v)`.
    ///
    /// ```
    /// use slab_core::{slab_cached, CachedArc};
    /// slab_core::slab_hooks!(global);
    /// #[slab_cached] struct Mesh { vertices: Vec<[f32; 3]> }
    /// let m = CachedArc::new(Mesh { vertices: vec![[0.0; 3]; 3] });
    /// let shared = CachedArc::clone(&m);
    /// assert_eq!(shared.vertices.len(), 3);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming the type.
    #[must_use]
    #[inline(always)]
    pub fn new(value: T) -> Self {
        match arc_slot::<T>() {
            // SAFETY: a free slot of `T`'s arc cache, owned by us; `ArcPool<T>` is where
            // its slots return.
            Ok(slot) => unsafe { SlabArc::new_in(slot, value, typed_meta::<ArcPool<T>>()) },
            Err(e) => alloc_failed::<ArcInner<T>>(<T::ArcCache as Pool>::SLAB_SIZE, e),
        }
    }

    /// Allocates `value` in `T`'s arc cache, or hands it back.
    ///
    /// ```
    /// use slab_core::{slab_cached, CachedArc};
    /// slab_core::slab_hooks!(global);
    /// #[slab_cached] struct Job(u64);
    /// let a = CachedArc::try_new(Job(3)).unwrap_or_else(|e| panic!("{e}"));
    /// assert_eq!(a.0, 3);
    /// ```
    ///
    /// # Errors
    /// [`AllocError`] when the allocation hook has no memory; `into_inner` returns `value`.
    #[inline(always)]
    pub fn try_new(value: T) -> Result<Self, AllocError<T>> {
        match arc_slot::<T>() {
            // SAFETY: as in `new`.
            Ok(slot) => Ok(unsafe { SlabArc::new_in(slot, value, typed_meta::<ArcPool<T>>()) }),
            Err(e) => Err(AllocError::new(value, e)),
        }
    }

    /// Allocates `value` in `T`'s arc cache, pinned (slab slots never move).
    ///
    /// ```
    /// use std::marker::PhantomPinned;
    /// use slab_core::{slab_cached, CachedArc};
    /// slab_core::slab_hooks!(global);
    /// #[slab_cached] struct Waiter { id: u32, _pin: PhantomPinned }
    /// let w = CachedArc::pin(Waiter { id: 1, _pin: PhantomPinned });
    /// let w2 = w.clone(); // `Pin<CachedArc<_>>` clones like `Pin<Arc<_>>`
    /// assert_eq!(w2.id, 1);
    /// ```
    #[must_use]
    pub fn pin(value: T) -> Pin<Self> {
        // SAFETY: the value lives in its slot until the last arc is gone, and `Pin` hides
        // every way to move it out (`get_mut`, `try_unwrap` need an unpinned arc).
        unsafe { Pin::new_unchecked(Self::new(value)) }
    }
}

/// `T::default()` in a slot of `T`'s arc cache.
///
/// ```
/// use slab_core::{slab_cached, CachedArc};
/// slab_core::slab_hooks!(global);
/// #[slab_cached] #[derive(Default)] struct Stats { hits: u64 }
/// let s: CachedArc<Stats> = CachedArc::default();
/// assert_eq!(s.hits, 0);
/// ```
impl<T: ArcCached + Default> Default for SlabArc<T, ArcPool<T>> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// The slab size of `T`'s arc cache: `size` (the size of `T`'s own cache) if `ArcInner<T>`
/// fits it, else the next power of two that does. Not public API.
#[doc(hidden)]
pub const fn arc_slab_size<T, L, S: SlabSource>(size: usize) -> usize {
    let mut s = size;
    while s <= MAX_SLAB_SIZE {
        if class_of::<ArcInner<T>, L, S>(s).is_ok() {
            return s;
        }
        s *= 2;
    }
    size
}

/// Expands to `impl ArcCached for $ty` with its `static` arc cache and, in `std` builds,
/// its thread-local magazines. Not public API: emitted by `#[slab_cached]`.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __slab_arc_impl {
    ($ty:ty, $lock:ty, $size:expr) => {
        $crate::__slab_arc_impl!($ty, $lock, $size, $crate::Hooks);
    };
    ($ty:ty, $lock:ty, $size:expr, $source:ty) => {
        const _: () = {
            type __SlabArcCache = $crate::SlabCache<
                $crate::ArcInner<$ty>,
                $lock,
                { $crate::__private::arc_slab_size::<$ty, $lock, $source>($size) },
                $source,
            >;
            type __SlabArcMagazines = $crate::__private::Magazines<
                $crate::ArcInner<$ty>,
                $lock,
                { $crate::__private::arc_slab_size::<$ty, $lock, $source>($size) },
                $source,
            >;
            // SAFETY: `arc_cache` returns one `static` and `__arc_magazines` one
            // `thread_local!` made by `new_tls`, for this type's arcs alone (I10).
            unsafe impl $crate::ArcCached for $ty {
                type ArcCache = __SlabArcCache;
                #[inline]
                fn arc_cache() -> &'static __SlabArcCache {
                    static __SLAB_ARC_CACHE: __SlabArcCache = __SlabArcCache::__new_static();
                    &__SLAB_ARC_CACHE
                }
                #[inline]
                fn __arc_magazines() -> &'static $crate::__private::LocalKey<__SlabArcMagazines> {
                    $crate::__private::thread_local! {
                        static __SLAB_ARC_MAGAZINES: __SlabArcMagazines = const {
                            $crate::__private::ManuallyDrop::new(
                                // SAFETY: the one `thread_local!` of this type's arc
                                // magazines, never moved, serving its `static` arc cache
                                // (I10).
                                unsafe { $crate::__private::ThreadCache::new_tls() },
                            )
                        };
                    }
                    &__SLAB_ARC_MAGAZINES
                }
            }
        };
    };
}

/// Expands to `impl ArcCached for $ty` with its `static` arc cache. Not public API: emitted
/// by `#[slab_cached]`.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __slab_arc_impl {
    ($ty:ty, $lock:ty, $size:expr) => {
        $crate::__slab_arc_impl!($ty, $lock, $size, $crate::Hooks);
    };
    ($ty:ty, $lock:ty, $size:expr, $source:ty) => {
        const _: () = {
            type __SlabArcCache = $crate::SlabCache<
                $crate::ArcInner<$ty>,
                $lock,
                { $crate::__private::arc_slab_size::<$ty, $lock, $source>($size) },
                $source,
            >;
            // SAFETY: `arc_cache` returns one `static` (I10).
            unsafe impl $crate::ArcCached for $ty {
                type ArcCache = __SlabArcCache;
                #[inline]
                fn arc_cache() -> &'static __SlabArcCache {
                    static __SLAB_ARC_CACHE: __SlabArcCache = __SlabArcCache::__new_static();
                    &__SLAB_ARC_CACHE
                }
            }
        };
    };
}

// ---- trait objects ----

impl<U: ?Sized, C: BoxPool> Coerce for SlabArc<U, C> {
    type Raw<V: ?Sized> = ArcInner<V>;
    type Pointee = U;
    type Pool = C;
    type Out<V: ?Sized, C2: BoxPool> = SlabArc<V, C2>;

    #[inline(always)]
    fn __slab_raw(&self) -> *mut ArcInner<U> {
        self.ptr.as_ptr()
    }

    #[inline(always)]
    unsafe fn __slab_coerce<V: ?Sized, C2: BoxPool>(self, raw: *mut ArcInner<V>) -> SlabArc<V, C2>
    where
        C: Retarget<U, C2>,
    {
        let this = ManuallyDrop::new(self);
        check_same(this.ptr.as_ptr(), raw);
        // SAFETY: `raw` is the arc's own non-null slot pointer (same address, checked
        // above) with metadata from an unsizing coercion (contract).
        let ptr = unsafe { NonNull::new_unchecked(raw) };
        // SAFETY: the same slot; our strong count moves to the new arc, which gives the
        // slot back where the old one would have (`Retarget`).
        unsafe { SlabArc::from_inner(ptr, C::retarget(this.meta)) }
    }
}

impl<U: ?Sized, C: BoxPool> Coerce for SlabWeak<U, C> {
    type Raw<V: ?Sized> = ArcInner<V>;
    type Pointee = U;
    type Pool = C;
    type Out<V: ?Sized, C2: BoxPool> = SlabWeak<V, C2>;

    #[inline(always)]
    fn __slab_raw(&self) -> *mut ArcInner<U> {
        self.ptr.as_ptr()
    }

    #[inline(always)]
    unsafe fn __slab_coerce<V: ?Sized, C2: BoxPool>(self, raw: *mut ArcInner<V>) -> SlabWeak<V, C2>
    where
        C: Retarget<U, C2>,
    {
        let this = ManuallyDrop::new(self);
        check_same(this.ptr.as_ptr(), raw);
        SlabWeak {
            // SAFETY: the weak reference's own non-null slot pointer, coerced (contract).
            ptr: unsafe { NonNull::new_unchecked(raw) },
            meta: C::retarget(this.meta),
            _owns: PhantomData,
            _pool: PhantomData,
        }
    }
}

// ---- forwarding impls ----

impl<T: ?Sized, C: BoxPool> Deref for SlabArc<T, C> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a strong reference keeps the value alive and initialised, and it is only
        // mutated through `get_mut`/`make_mut`, which need it unique (I17).
        unsafe { &*self.data() }
    }
}
impl<T: ?Sized, C: BoxPool> AsRef<T> for SlabArc<T, C> {
    fn as_ref(&self) -> &T {
        self
    }
}
impl<T: ?Sized, C: BoxPool> Borrow<T> for SlabArc<T, C> {
    fn borrow(&self) -> &T {
        self
    }
}
impl<T: ?Sized + fmt::Debug, C: BoxPool> fmt::Debug for SlabArc<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
impl<T: ?Sized + fmt::Display, C: BoxPool> fmt::Display for SlabArc<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
impl<T: ?Sized, C: BoxPool> fmt::Pointer for SlabArc<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Self::as_ptr(self), f)
    }
}
impl<T: ?Sized, C: BoxPool> fmt::Debug for SlabWeak<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(SlabWeak)")
    }
}
impl<T: ?Sized + PartialEq, C: BoxPool> PartialEq for SlabArc<T, C> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
impl<T: ?Sized + Eq, C: BoxPool> Eq for SlabArc<T, C> {}
impl<T: ?Sized + PartialOrd, C: BoxPool> PartialOrd for SlabArc<T, C> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        (**self).partial_cmp(&**other)
    }
}
impl<T: ?Sized + Ord, C: BoxPool> Ord for SlabArc<T, C> {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (**self).cmp(&**other)
    }
}
impl<T: ?Sized + Hash, C: BoxPool> Hash for SlabArc<T, C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}
impl<T: ?Sized, C: BoxPool> Unpin for SlabArc<T, C> {}
impl<T: ?Sized, C: BoxPool> Unpin for SlabWeak<T, C> {}
