//! Building a value in its slot: constructors that take a closure, called once the slot is
//! known (`alloc_with`, `alloc_mut_with`, `new_boxed_with`), and an initialiser that
//! writes into the slot itself ([`SlabBox::init_with`]).
//!
//! `cache.alloc(make())` evaluates `make()` before the slot is known, so the compiler must
//! keep the value somewhere across the magazine pop (and its slow path): whether it then
//! builds the value in the slot depends on the optimiser and on the shape of the call. A
//! closure is called after the pop, with nothing between its result and the write but a
//! copy that the optimiser removes whenever the value is built by plain field stores and
//! fills (a header, a zeroed payload, a byte at a fixed place): measured in
//! `docs/BENCHMARKS.md`, "S1 call shapes". A value whose construction writes at a place
//! known only at run time (`payload[i % n] = x` inside the closure) is still built beside
//! the slot and copied; [`SlabBox::init_with`] writes such a value into the slot in every
//! case, with no `unsafe`: the closure gets the slot as `&mut MaybeUninit<T>` and returns
//! the `&mut T` that `MaybeUninit::write` gives, after which it can patch the value in
//! place.
//!
//! Every closure here is panic-safe: the slot is owned by an uninitialised box while the
//! closure runs, so a panic returns the slot to its cache, drops nothing that was not
//! built, and loses nothing but what the closure itself leaked.
//!
//! This module talks to `typed` (the slot of a `#[slab_cached]` type), `boxed`, `handle`
//! (the runtime cache) and `error`.

use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use crate::boxed::{BoxPool, Pool, SlabBox};
use crate::error::{SlabError, alloc_failed};
use crate::handle::SlabCache;
use crate::lock::LockTrait;
use crate::source::SlabSource;
use crate::typed::{Boxed, SlabCached, typed_slot};

impl<T, C: BoxPool> SlabBox<MaybeUninit<T>, C> {
    /// Initialises the slot in place: `init` gets the slot as `&mut MaybeUninit<T>` and
    /// returns the `&mut T` of the value it wrote there (what [`MaybeUninit::write`]
    /// returns); the box is then a box of `T`.
    ///
    /// Unlike [`SlabBox::write`] and the `_with` constructors ([`SlabCache::alloc_with`]),
    /// whose value is built first and moved into the slot (a copy the optimiser removes
    /// for values built by plain stores and fills), everything the closure does after
    /// `write` happens in the slot itself: a large value patched at a place known only at
    /// run time is never built twice.
    ///
    /// ```
    /// use slab_core::{SlabBox, slab_cached};
    /// slab_core::slab_hooks!(global);
    ///
    /// #[slab_cached]
    /// struct Packet {
    ///     len: u16,
    ///     payload: [u8; 1498],
    /// }
    ///
    /// let seq = 1234usize;
    /// let p = SlabBox::init_with(Packet::new_uninit_boxed(), |slot| {
    ///     let p = slot.write(Packet { len: 1498, payload: [0; 1498] }); // one fill, in the slot
    ///     p.payload[seq % 1498] = 0xff; // and one byte, in the slot too
    ///     p
    /// });
    /// assert_eq!((p.len, p.payload[1234]), (1498, 0xff));
    /// ```
    ///
    /// # Panics
    /// If `init` returns a reference to anything but the slot it was given (the value then
    /// is not in the slot: the slot goes back to its cache, and whatever `init` wrote into
    /// it is not dropped). A panic inside `init` returns the slot the same way.
    #[inline]
    pub fn init_with(
        b: Self,
        init: impl for<'a> FnOnce(&'a mut MaybeUninit<T>) -> &'a mut T,
    ) -> SlabBox<T, C> {
        let mut b = b;
        let slot: *mut MaybeUninit<T> = SlabBox::as_mut_ptr(&mut b);
        // SAFETY: the box owns the slot, valid and aligned for a `MaybeUninit<T>` (I2, I5),
        // and nothing else refers to it while the closure holds this reference; a
        // `MaybeUninit` may be uninitialised (I3).
        let value: *mut T = init(unsafe { &mut *slot });
        // Safe code can make a `&mut T` at the slot's address only through the slot itself,
        // and only by initialising it (`MaybeUninit::write`): no other object lives there.
        assert!(
            ptr::eq(value, slot.cast::<T>()),
            "slab_core: the closure of `SlabBox::init_with` returned a reference to a `{}` \
             that is not in the slot it was given (return what `slot.write(..)` returns)",
            core::any::type_name::<T>()
        );
        // SAFETY: `init` returned a `&mut T` to the slot, so a valid `T` is there (above).
        unsafe { b.assume_init() }
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> SlabCache<T, L, SIZE, S> {
    /// Like [`alloc`](Self::alloc), but builds the value once the slot is known: `make` is
    /// called after the slot is taken from the calling thread's magazine, so a large value
    /// is built next to its write into the slot, which the optimiser then does in place
    /// (see [`SlabBox::init_with`] for values it cannot).
    ///
    /// ```
    /// use slab_core::{SlabCache, SpinLock};
    /// slab_core::slab_hooks!(global);
    ///
    /// struct Frame {
    ///     id: u32,
    ///     pixels: [u8; 4096],
    /// }
    /// static FRAMES: SlabCache<Frame, SpinLock, 65536> = SlabCache::new();
    ///
    /// let f = FRAMES.alloc_with(|| Frame { id: 7, pixels: [0; 4096] });
    /// assert_eq!((f.id, f.pixels[4095]), (7, 0));
    /// ```
    ///
    /// If `make` panics, the slot goes back to the cache.
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T` (`make` is not called); see
    /// [`try_alloc_with`](Self::try_alloc_with).
    #[inline(always)]
    pub fn alloc_with(&self, make: impl FnOnce() -> T) -> SlabBox<T, Self> {
        match self.try_alloc_with(make) {
            Ok(b) => b,
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// Like [`alloc_with`](Self::alloc_with), or says why there is no slot (and does not
    /// call `make`).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<[u64; 64]> = SlabCache::new();
    /// let b = cache.try_alloc_with(|| [3; 64]).unwrap();
    /// assert_eq!(b[63], 3);
    /// ```
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] when the allocation hook has no memory for a new slab.
    #[inline(always)]
    pub fn try_alloc_with(&self, make: impl FnOnce() -> T) -> Result<SlabBox<T, Self>, SlabError> {
        let slot = self.pop_shared()?.settle();
        // SAFETY: a free slot of this cache, ours now (I2).
        Ok(unsafe { fill(slot, make) })
    }

    /// Like [`alloc_mut`](Self::alloc_mut), but builds the value once the slot is known (see
    /// [`alloc_with`](Self::alloc_with)).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<[u32; 256]> = SlabCache::new();
    /// for i in 0..100 {
    ///     let b = cache.alloc_mut_with(|| [i; 256]);
    ///     assert_eq!(b[255], i);
    ///     cache.free(b);
    /// }
    /// ```
    ///
    /// If `make` panics, the slot goes back to the cache.
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T` (`make` is not called); see
    /// [`try_alloc_mut_with`](Self::try_alloc_mut_with).
    #[inline(always)]
    pub fn alloc_mut_with(&mut self, make: impl FnOnce() -> T) -> SlabBox<T, Self> {
        match self.try_alloc_mut_with(make) {
            Ok(b) => b,
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// Like [`alloc_mut_with`](Self::alloc_mut_with), or says why there is no slot (and does
    /// not call `make`).
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let mut cache: SlabCache<String> = SlabCache::new();
    /// let b = cache.try_alloc_mut_with(|| "pooled".to_string()).unwrap();
    /// assert_eq!(*b, "pooled");
    /// ```
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] when the allocation hook has no memory for a new slab.
    #[inline(always)]
    pub fn try_alloc_mut_with(
        &mut self,
        make: impl FnOnce() -> T,
    ) -> Result<SlabBox<T, Self>, SlabError> {
        let slot = self.mag_pop()?.settle();
        // SAFETY: a free slot of this cache, ours now (I2).
        Ok(unsafe { fill(slot, make) })
    }
}

impl<T: SlabCached> SlabBox<T, crate::typed::TypePool<T>> {
    /// `T::new_boxed_with(make)`, usable in code generic over `T: SlabCached`: allocates in
    /// `T`'s cache and builds the value once the slot is known.
    ///
    /// ```
    /// use slab_core::{Boxed, SlabCached, slab_cached};
    /// slab_core::slab_hooks!(global);
    ///
    /// #[slab_cached]
    /// struct Tile([u16; 256]);
    ///
    /// fn fresh<T: SlabCached + Default>() -> Boxed<T> {
    ///     Boxed::new_with(T::default)
    /// }
    /// # impl Default for Tile { fn default() -> Self { Tile([9; 256]) } }
    /// assert_eq!(fresh::<Tile>().0[255], 9);
    /// ```
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T` (`make` is not called).
    #[must_use]
    #[inline(always)]
    pub fn new_with(make: impl FnOnce() -> T) -> Self {
        new_boxed_with(make)
    }

    /// [`new_with`](Self::new_with), or says why there is no slot (and does not call
    /// `make`).
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] when the allocation hook has no memory for a new slab.
    #[inline(always)]
    pub fn try_new_with(make: impl FnOnce() -> T) -> Result<Self, SlabError> {
        try_new_boxed_with(make)
    }
}

/// Moves the value `make` returns into `slot` and returns its box; if `make` panics, the
/// slot goes back to its cache.
///
/// # Safety
/// `slot` is a free slot of `C`'s cache, owned by the caller and given up to the box; every
/// slot of that cache is sized and aligned for `T`.
#[inline(always)]
unsafe fn fill<T, C: Pool>(slot: NonNull<u8>, make: impl FnOnce() -> T) -> SlabBox<T, C> {
    // SAFETY: a free slot of `C`'s cache, ours (contract), valid for a `MaybeUninit<T>`,
    // which needs no initialisation (I3). While `make` runs the uninitialised box owns the
    // slot, and returns it if `make` panics.
    let b: SlabBox<MaybeUninit<T>, C> = unsafe { SlabBox::from_slot(slot.cast()) };
    SlabBox::write(b, make())
}

/// `T::new_boxed_with`.
#[doc(hidden)]
#[inline(always)]
pub fn new_boxed_with<T: SlabCached>(make: impl FnOnce() -> T) -> Boxed<T> {
    match try_new_boxed_with(make) {
        Ok(b) => b,
        Err(e) => alloc_failed::<T>(<T::Cache as Pool>::SLAB_SIZE, e),
    }
}

/// `T::try_new_boxed_with`.
#[doc(hidden)]
#[inline(always)]
pub fn try_new_boxed_with<T: SlabCached>(make: impl FnOnce() -> T) -> Result<Boxed<T>, SlabError> {
    let slot = typed_slot::<T>()?.settle();
    // SAFETY: a free slot of `T`'s cache, ours (I2); `TypePool<T>` is where its slots
    // return.
    Ok(unsafe { fill::<T, crate::typed::TypePool<T>>(slot, make) })
}
