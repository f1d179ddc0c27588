//! `Box` parity beyond the basics: [`Clone`] (a new slot of the same cache),
//! [`SlabBox::try_clone`], [`Default`] and [`SlabBox::pin`] for `#[slab_cached]` types.
//!
//! A clone needs a slot "of the same cache" as the original. A `#[slab_cached]` type names
//! its cache; a box of a runtime `SlabCache` does not hold a handle, but its slot does
//! lead to its cache: masking the slot's address finds its slab header (I1), whose
//! `master` field is the cache's control block, kept alive by the outstanding slot (I4).
//! [`Refill`] is that capability, per pool type.
//!
//! This module talks to `boxed`, `typed`, and, for the runtime path, to `cache`
//! (`Control`, `depot_alloc`), `slab` (`header_of`) and `debug` (`on_handout`).

use core::pin::Pin;
use core::ptr::NonNull;

use crate::boxed::{Pool, SlabBox, SlotGuard};
use crate::control::{Control, depot_alloc};
use crate::error::SlabError;
use crate::error::alloc_failed;
use crate::handle::SlabCache;
use crate::hardening;
use crate::lock::LockTrait;
use crate::slab::check_header;
use crate::source::SlabSource;
use crate::typed::{Boxed, SlabCached, TypePool};

pub(crate) mod sealed {
    use core::ptr::NonNull;

    use crate::error::SlabError;

    /// Takes a fresh slot from the cache that owns a given slot. Sealed.
    ///
    /// # Safety
    /// `alloc_like(slot)` returns a free slot of the very cache that handed out `slot`,
    /// now owned by the caller, with the hardening checks of a handout done.
    pub unsafe trait AllocLike {
        /// A free slot of the cache that handed out `slot`.
        ///
        /// # Safety
        /// `slot` was handed out by a cache of this pool type and is still outstanding (so
        /// its cache is alive, I4).
        unsafe fn alloc_like(slot: NonNull<u8>) -> Result<NonNull<u8>, SlabError>;
    }
}

/// A [`Pool`] whose boxes can take another slot from their own cache: what
/// [`SlabBox::try_clone`] and `Clone` need. Implemented by every pool named by its type
/// (runtime `SlabCache`s and `#[slab_cached]` types' pools); sealed.
pub trait Refill: Pool + sealed::AllocLike {}

impl<C: Pool + sealed::AllocLike> Refill for C {}

// SAFETY: the new slot comes from the depot of the control block that the given slot's
// slab header names, which is the cache that handed that slot out (I1); a box of
// `SlabCache<T, L, SIZE, S>` holds only slots of such a cache.
unsafe impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> sealed::AllocLike
    for SlabCache<T, L, SIZE, S>
{
    unsafe fn alloc_like(slot: NonNull<u8>) -> Result<NonNull<u8>, SlabError> {
        let class = Self::CLASS;
        let name = core::any::type_name::<T>();
        let h = crate::slab::header_of(slot, &class);
        if hardening::CHECKS {
            check_header(h, name);
        }
        // SAFETY: `slot` is outstanding (contract), so `h` is the live header of its slab
        // (I1); `master` is written once at init and read through the raw pointer.
        let ctrl = unsafe { (*h.as_ptr()).master }.cast::<Control<L, S>>();
        // SAFETY: the outstanding slot keeps its cache's control block alive (I4); the
        // geometry is this cache type's.
        let new = unsafe { depot_alloc::<L, S>(ctrl, &class) }?;
        // SAFETY: a free slot of this cache, just taken for us (I2).
        unsafe { hardening::on_handout(new, &class, name) };
        Ok(new)
    }
}

// SAFETY: `T`'s boxes hold only slots of `T::slab_cache()`, and the new slot comes from
// that same cache (through this thread's magazines).
unsafe impl<T: SlabCached> sealed::AllocLike for TypePool<T> {
    #[inline]
    unsafe fn alloc_like(_slot: NonNull<u8>) -> Result<NonNull<u8>, SlabError> {
        let b = crate::typed::try_new_uninit_boxed::<T>()?;
        Ok(SlabBox::into_parts(b).0.cast())
    }
}

impl<T: Clone, C: Refill> SlabBox<T, C> {
    /// A new box in a new slot of the same cache, holding a clone of the value, or the
    /// reason there is no slot (the value is not cloned then).
    ///
    /// ```
    /// use slab_core::{SlabBox, SlabCache};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<Vec<u8>> = SlabCache::new();
    /// let a = cache.alloc(vec![1, 2, 3]);
    /// let b = SlabBox::try_clone(&a).unwrap();
    /// assert_eq!(*a, *b);
    /// assert_ne!(SlabBox::as_ptr(&a), SlabBox::as_ptr(&b)); // two slots
    /// assert_eq!(cache.stats().in_use, 2);
    /// ```
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] (or another [`SlabError`]) when the cache needs a new
    /// slab and the allocation hook cannot provide it.
    pub fn try_clone(b: &Self) -> Result<Self, SlabError> {
        // SAFETY: a box's pointer is never null.
        let own = unsafe { NonNull::new_unchecked(SlabBox::as_ptr(b).cast_mut()) };
        // SAFETY: `b` owns an outstanding slot of a cache of type `C` (I2).
        let slot = unsafe { C::alloc_like(own.cast()) }?;
        // SAFETY: a free slot of `C`'s cache owned by us, holding no value: if `T::clone`
        // panics, the guard gives it back; otherwise it is disarmed below.
        let guard = unsafe { SlotGuard::<T, C>::new(slot.cast()) };
        let value = T::clone(b);
        guard.disarm();
        // SAFETY: a free slot of `C`'s cache (sized and aligned for `T`), owned by us.
        Ok(unsafe { SlabBox::new_in(slot, value) })
    }
}

/// A clone in a new slot of the same cache (not the bare value, as auto-deref would give).
///
/// ```
/// use slab_core::{slab_cached, Boxed};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached]
/// #[derive(Clone, Debug, PartialEq)]
/// struct Npc { name: String }
///
/// let a = Npc::new_boxed(Npc { name: "Ada".into() });
/// let b: Boxed<Npc> = a.clone(); // a box, from `Npc`'s cache
/// assert_eq!(a, b);
/// assert_eq!(Npc::slab_cache().stats().in_use, 2);
/// ```
///
/// # Panics
/// When the allocation hook has no memory, like `Box::clone`; see
/// [`SlabBox::try_clone`].
impl<T: Clone, C: Refill> Clone for SlabBox<T, C> {
    fn clone(&self) -> Self {
        match Self::try_clone(self) {
            Ok(b) => b,
            Err(e) => alloc_failed::<T>(C::SLAB_SIZE, e),
        }
    }
}

/// `T::default()` in a slot of `T`'s cache.
///
/// ```
/// use slab_core::{slab_cached, Boxed};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached]
/// #[derive(Default)]
/// struct Score { points: u64 }
///
/// let s: Boxed<Score> = Default::default();
/// assert_eq!(s.points, 0);
/// ```
///
/// # Panics
/// When the allocation hook has no memory, naming `T`.
impl<T: SlabCached + Default> Default for Boxed<T> {
    fn default() -> Self {
        Boxed::new(T::default())
    }
}

impl<T: SlabCached> Boxed<T> {
    /// Allocates `value` in `T`'s cache, pinned: `Boxed::pin(v)` is `T::pin_boxed(v)`.
    /// Slab slots never move, so pinning costs nothing.
    ///
    /// ```
    /// use std::marker::PhantomPinned;
    /// use slab_core::{slab_cached, Boxed};
    /// slab_core::slab_hooks!(global);
    ///
    /// #[slab_cached]
    /// struct Node { value: u32, _pin: PhantomPinned }
    ///
    /// let n = Boxed::pin(Node { value: 3, _pin: PhantomPinned });
    /// assert_eq!(n.value, 3);
    /// let m = Node::pin_boxed(Node { value: 4, _pin: PhantomPinned });
    /// assert_eq!(m.as_ref().get_ref().value, 4);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`.
    #[must_use]
    #[inline]
    pub fn pin(value: T) -> Pin<Self> {
        SlabBox::into_pin(Boxed::new(value))
    }
}
