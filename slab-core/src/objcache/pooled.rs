//! [`Pooled`]: the box of an object cache. It derefs to the kept value; dropping it (or
//! [`ObjectCache::give`](super::ObjectCache::give)) resets the value and returns the slot
//! with the value still in it (I21).

use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use super::{Recycle, Slot};
use crate::boxed::Pool;
use crate::hardening;

/// An object taken from an [`ObjectCache`](super::ObjectCache): like a `Box<T>`, but
/// dropping it [resets](Recycle::reset) the value and keeps it in the cache for the next
/// taker instead of dropping it.
///
/// `C` names the cache (`ObjectCache<T, L, SIZE, S>`); the box is one pointer wide.
pub struct Pooled<T: Recycle, C: Pool> {
    ptr: NonNull<Slot<T>>,
    _marker: PhantomData<(T, fn() -> C)>,
}

// SAFETY: a `Pooled` owns its `T` (moving it moves a `T`, and dropping it resets the `T`
// on the dropping thread: `T: Send`), and dropping it may lock the cache's depot on
// another thread (I9), which needs a lock that excludes across threads.
unsafe impl<T: Recycle + Send, C: Pool> Send for Pooled<T, C> where C::Lock: Send + Sync {}
// SAFETY: `&Pooled` gives only `&T`; resetting and returning the slot take the box itself.
unsafe impl<T: Recycle + Sync, C: Pool> Sync for Pooled<T, C> {}

/// Gives a slot back to cache `C` (after the hardening checks), its value kept or gone.
///
/// # Safety
/// `slot` is a slot of a cache of type `C`, owned by the caller, holding a reset value or
/// none (its "constructed" word says which, I21); it is not used again.
unsafe fn release<T: Recycle, C: Pool>(slot: NonNull<Slot<T>>) {
    let slot = slot.cast::<u8>();
    // SAFETY: a slot of a live slab of `C`'s cache (ours, I2; it keeps its slab alive, I4),
    // of geometry `C::CLASS`; the caller gives it up. Only its link word is poisoned (I21).
    unsafe { hardening::on_release(slot, &C::CLASS, core::any::type_name::<T>()) };
    // SAFETY: handed out by a cache of type `C`, given up by the caller (contract, I2).
    unsafe { C::release(slot) };
}

/// On unwinding out of `T::fresh` or `T::reset`: drops the value if the slot holds one
/// (a value whose `reset` panicked is dropped for real; it counts as dropped, I3), marks
/// the slot empty and gives it back (I21).
struct Unbuild<T: Recycle, C: Pool>(NonNull<Slot<T>>, PhantomData<fn() -> C>);

impl<T: Recycle, C: Pool> Drop for Unbuild<T, C> {
    fn drop(&mut self) {
        let slot = self.0;
        // SAFETY: the slot is ours and left the bump region (the guard's users, I21).
        if unsafe { Slot::is_built(slot) } {
            // SAFETY: ours; marked empty before the drop, so a panic in it leaves nothing
            // to drop twice.
            unsafe { Slot::set_built(slot, false) };
            // SAFETY: a constructed `T` (`BUILT`), dropped once, here (I3).
            unsafe { Slot::value(slot).drop_in_place() };
        }
        // SAFETY: a slot of a cache of type `C`, ours, now holding no value (I21).
        unsafe { release::<T, C>(slot) };
    }
}

impl<T: Recycle, C: Pool> Pooled<T, C> {
    /// The box of `slot`, building its value first if it holds none.
    ///
    /// # Safety
    /// `slot` is a slot of a cache of type `C`, just handed to the caller (I2), that left
    /// the bump region (I21).
    #[inline(always)]
    pub(crate) unsafe fn build(slot: NonNull<Slot<T>>) -> Self {
        // SAFETY: ours, out of the bump region (contract).
        if !unsafe { Slot::is_built(slot) } {
            let guard = Unbuild::<T, C>(slot, PhantomData);
            let value = T::fresh(); // a panic here gives the empty slot back
            // SAFETY: the slot holds no value (checked above): nothing is overwritten.
            unsafe { Slot::value(slot).write(value) };
            // SAFETY: ours, and it holds a value now.
            unsafe { Slot::set_built(slot, true) };
            core::mem::forget(guard);
        }
        Pooled {
            ptr: slot,
            _marker: PhantomData,
        }
    }

    /// Resets the value and gives up the box, returning its slot (value kept, I21). If
    /// `reset` panics, the value is dropped for real and the slot goes back empty.
    #[inline(always)]
    pub(crate) fn reset_and_leave(p: Self) -> NonNull<u8> {
        let p = ManuallyDrop::new(p);
        // SAFETY: the box owns its slot and its constructed value (I2, I21).
        unsafe { reset::<T, C>(p.ptr) };
        p.ptr.cast()
    }

    /// Takes the value out of the cache: the slot goes back empty, and the next taker
    /// gets a [fresh](Recycle::fresh) value there.
    ///
    /// ```
    /// use slab_core::{Global, ObjectCache, Pooled, SpinLock};
    /// let pool: ObjectCache<String, SpinLock, 4096, Global> = ObjectCache::new();
    /// let mut s = pool.take();
    /// s.push_str("mine now");
    /// let s: String = Pooled::into_inner(s);
    /// assert_eq!(s, "mine now");
    /// ```
    pub fn into_inner(p: Self) -> T {
        let p = ManuallyDrop::new(p);
        // SAFETY: the box owns its slot, which holds a constructed value (I2, I21); it is
        // marked empty, then moved out once.
        unsafe { Slot::set_built(p.ptr, false) };
        // SAFETY: the slot holds a constructed `T` (I21) owned by this box (I2), read once
        // here: the value's only move out (the slot was just marked empty).
        let value = unsafe { Slot::value(p.ptr).read() };
        // SAFETY: a slot of `C`'s cache, ours, holding no value now (I21), not used again.
        unsafe { release::<T, C>(p.ptr) };
        value
    }
}

/// Resets the value in `slot`, or, if `reset` panics, drops it and gives the slot back.
///
/// # Safety
/// `slot` is a slot of `C`'s cache, owned by the caller, holding a constructed value.
#[inline(always)]
unsafe fn reset<T: Recycle, C: Pool>(slot: NonNull<Slot<T>>) {
    let guard = Unbuild::<T, C>(slot, PhantomData);
    // SAFETY: a constructed value (contract), ours alone (I2): a unique reference for
    // the call.
    unsafe { Slot::value(slot).as_mut() }.reset();
    core::mem::forget(guard);
}

impl<T: Recycle, C: Pool> Drop for Pooled<T, C> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the box owns its slot and its constructed value (I2, I21).
        unsafe { reset::<T, C>(self.ptr) };
        // SAFETY: a slot of `C`'s cache, ours, its value kept and reset (I21); the box is
        // being dropped, so it is not used again.
        unsafe { release::<T, C>(self.ptr) };
    }
}

impl<T: Recycle, C: Pool> Deref for Pooled<T, C> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the slot holds a constructed `T` owned by this box (I2, I21).
        unsafe { Slot::value(self.ptr).as_ref() }
    }
}

impl<T: Recycle, C: Pool> DerefMut for Pooled<T, C> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the slot holds a constructed `T` owned by this box, and `&mut self` makes
        // the access unique (I2, I21).
        unsafe { Slot::value(self.ptr).as_mut() }
    }
}

impl<T: Recycle + fmt::Debug, C: Pool> fmt::Debug for Pooled<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
