//! Object caching (Bonwick 1994): caches whose objects stay constructed between uses. A
//! value given back is reset ([`Recycle::reset`]), not dropped; its slot keeps it, and the
//! next [`take`](ObjectCache::take) hands it out again, ready to fill: a pooled `Vec<u8>`
//! keeps its capacity. Values are dropped for real only when their slab goes back to its
//! source (`shrink`, an empty slab beyond `keep_empty`, the last handle and box gone), so
//! `Drop` runs exactly once per value constructed.
//!
//! # How the slots keep their values
//! An object cache is a [`SlabCache`] of [`Slot<T>`]: the allocator's link word first (the
//! engine's I5 is unchanged), then a "constructed" word, then the value. The cache's
//! source is wrapped in [`Objects`], whose `__KEPT` tells the engine (through its
//! geometry, `Class::kept`) three things (I21): a free slot is the allocator's in its first
//! word only (so hardening poisons only the link, and ASan leaves the value addressable);
//! a slot leaving the bump region is marked unconstructed (no user code); and a slab going
//! back drops the values its slots below `bump` hold (which is why an object cache's slabs
//! never forget their bump index).
//!
//! Values are built lazily, at the first `take` of a slot, not when a slab joins the cache
//! as in Bonwick's design. That needs one word per slot, and buys: no user code when a
//! cache grows (a constructor that panics or allocates there would strand a half-built
//! slab), no objects built for slots that are never used (a 128 KiB slab of pooled packet
//! buffers would allocate 87 buffers at once), and clean answers to panics: a constructor
//! that panics leaves its slot unconstructed and gives it back; a `reset` that panics drops
//! the value for real (it counts as dropped) and gives the slot back unconstructed.
//!
//! This module talks to `boxed` (the `Pool` a [`Pooled`] returns to), `handle` (the slab
//! cache it wraps), `control`, `geometry`, `hardening`, `slab`, `source`, `lock`, `error`
//! and `stats`.

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use crate::geometry::Kept;
use crate::source::SlabSource;

mod cache;
mod pooled;

pub use cache::ObjectCache;
pub use pooled::Pooled;

/// How an object cache builds a value and makes a used one ready for the next user.
///
/// ```
/// use slab_core::{Global, ObjectCache, Recycle, SpinLock};
///
/// /// A packet buffer that keeps its 1500 bytes of capacity between uses.
/// struct Buf(Vec<u8>);
///
/// impl Recycle for Buf {
///     fn fresh() -> Self {
///         Buf(Vec::with_capacity(1500))
///     }
///     fn reset(&mut self) {
///         self.0.clear(); // the capacity stays
///     }
/// }
///
/// let mut pool: ObjectCache<Buf, SpinLock, 65536, Global> = ObjectCache::new();
/// let mut b = pool.take_mut();
/// b.0.extend_from_slice(b"hello");
/// pool.give(b); // reset, not dropped
/// let b = pool.take_mut(); // the same buffer, empty, its capacity kept
/// assert!(b.0.is_empty() && b.0.capacity() >= 1500);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `slab_core::Recycle`, which an object cache needs",
    label = "no `impl Recycle for {Self}`",
    note = "an object cache builds each object with `Recycle::fresh` and resets it with `Recycle::reset` when it comes back: implement both for `{Self}` (or, for `#[slab_cached]`, drop `recycle` for a cache whose objects are dropped)"
)]
pub trait Recycle: Sized {
    /// Builds a value, the first time its slot is taken (not when the slab joins).
    fn fresh() -> Self;

    /// Makes a value given back ready for the next [`take`](ObjectCache::take), on the
    /// thread that gives it back. If it panics, the value is dropped for real and its slot
    /// goes back empty; the next taker gets a [`fresh`](Self::fresh) one.
    fn reset(&mut self);
}

#[cfg(feature = "alloc")]
mod std_impls {
    extern crate alloc;
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::Recycle;

    /// An empty vector; `reset` clears it and keeps its capacity.
    impl<T> Recycle for Vec<T> {
        fn fresh() -> Self {
            Vec::new()
        }
        fn reset(&mut self) {
            self.clear();
        }
    }

    /// An empty string; `reset` clears it and keeps its capacity.
    impl Recycle for String {
        fn fresh() -> Self {
            String::new()
        }
        fn reset(&mut self) {
            self.clear();
        }
    }
}

/// "Constructed" word of a slot that holds no value.
const EMPTY: usize = 0;
/// "Constructed" word of a slot that holds a value.
const BUILT: usize = 0x0b1e_c7ed;

/// A slot of an object cache: the allocator's link word (I5), the "constructed" word,
/// then the value (I21).
///
/// Not public API: `pub` only because the thread-local magazines of a
/// `#[slab_cached(recycle)]` type name it, in a module no one outside the crate can reach.
#[doc(hidden)]
#[repr(C)]
pub struct Slot<T> {
    /// The free-list link while the slot is free; unused while it is out.
    _link: MaybeUninit<usize>,
    /// `BUILT` when `value` holds a value, `EMPTY` otherwise (written when the slot leaves
    /// the bump region, so never read uninitialised).
    built: usize,
    value: MaybeUninit<T>,
}

impl<T> Slot<T> {
    /// The value's place in `slot` (no reference made).
    #[inline(always)]
    pub(crate) fn value(slot: NonNull<Slot<T>>) -> NonNull<T> {
        // SAFETY: a projection to a field of a slot (in bounds of it); no reference is made.
        let p = unsafe { &raw mut (*slot.as_ptr()).value };
        // SAFETY: derived from a non-null slot pointer.
        unsafe { NonNull::new_unchecked(p) }.cast()
    }

    /// The "constructed" word's place in `slot`.
    #[inline(always)]
    pub(crate) fn built(slot: NonNull<Slot<T>>) -> *mut usize {
        // SAFETY: a projection to a field of a slot (in bounds of it); no reference is made.
        unsafe { &raw mut (*slot.as_ptr()).built }
    }

    /// Whether `slot` holds a value.
    ///
    /// # Safety
    /// `slot` is a slot of an object cache that left the bump region (I21) and is owned by
    /// the caller.
    #[inline(always)]
    pub(crate) unsafe fn is_built(slot: NonNull<Slot<T>>) -> bool {
        // SAFETY: written when the slot left the bump region (I21), and the slot is ours.
        unsafe { Self::built(slot).read() == BUILT }
    }

    /// Marks `slot` as holding a value, or not.
    ///
    /// # Safety
    /// As [`is_built`](Self::is_built), and the mark is true.
    #[inline(always)]
    pub(crate) unsafe fn set_built(slot: NonNull<Slot<T>>, built: bool) {
        // SAFETY: in bounds of the slot, which is ours (contract); a plain word.
        unsafe { Self::built(slot).write(if built { BUILT } else { EMPTY }) };
    }
}

/// `Kept::fresh` of `Slot<T>`: a slot leaving the bump region holds no value.
///
/// # Safety
/// `slot` is a fresh slot of an object cache of `T`, owned by the caller.
unsafe fn mark_fresh<T>(slot: NonNull<u8>) {
    // SAFETY: a slot of `Slot<T>`s, ours (contract).
    unsafe { Slot::<T>::set_built(slot.cast(), false) };
}

/// `Kept::retire` of `Slot<T>`: drops a free slot's value, if it holds one.
///
/// # Safety
/// `slot` is a free slot of an object cache of `T` below its slab's bump index, whose slab
/// goes back now (I21).
unsafe fn drop_value<T>(slot: NonNull<u8>) {
    let slot = slot.cast::<Slot<T>>();
    // SAFETY: below `bump`, so its word was written (I21); the slab is ours (contract).
    if unsafe { Slot::is_built(slot) } {
        // SAFETY: ours (contract); marked first, so a panicking `Drop` (which counts as run,
        // I3) leaves no value behind to drop twice.
        unsafe { Slot::set_built(slot, false) };
        // SAFETY: the slot held a constructed `T` (`BUILT`), dropped once, here (I3, I21).
        unsafe { Slot::value(slot).drop_in_place() };
    }
}

/// The source of an object cache: its user's source `S`, and the layout of its slots
/// (`__KEPT`, I21). Not public API, and not nameable outside the crate (`pub` in an
/// unreachable module, for the same alias as `Slot`), and it has no public constructor:
/// no one else can make a cache whose slots keep values.
#[doc(hidden)]
pub struct Objects<T, S> {
    source: S,
    _values: PhantomData<fn() -> T>,
}

impl<T, S> Objects<T, S> {
    pub(crate) const fn new(source: S) -> Self {
        Objects {
            source,
            _values: PhantomData,
        }
    }
}

impl<T, S: Copy> Clone for Objects<T, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, S: Copy> Copy for Objects<T, S> {}

// SAFETY: forwards both calls to `S`, a source by its own `unsafe impl`; copies forward to
// copies of `S`, one source. `__KEPT` describes `Slot<T>`, the slot type of every cache
// that names this source (only `ObjectCache`, which wraps `SlabCache<Slot<T>, ..>`).
#[diagnostic::do_not_recommend]
unsafe impl<T, S: SlabSource> SlabSource for Objects<T, S> {
    const __KEPT: Option<Kept> = Some(Kept {
        fresh: mark_fresh::<T>,
        retire: drop_value::<T>,
        name: core::any::type_name::<T>,
        value_size: size_of::<T>(),
    });

    #[inline]
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> Option<NonNull<u8>> {
        // SAFETY: a slab layout (this method's contract, passed on).
        unsafe { self.source.alloc(layout) }
    }

    #[inline]
    unsafe fn free(&self, block: NonNull<u8>, layout: core::alloc::Layout) {
        // SAFETY: `block` came from `alloc` above, so from `self.source`, with `layout`,
        // once (this method's contract).
        unsafe { self.source.free(block, layout) }
    }
}
