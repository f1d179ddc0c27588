//! Trait objects: [`coerce!`](crate::coerce) turns a `SlabBox<U, C>` (or a `SlabArc`,
//! `SlabWeak`) into a box of `dyn Trait` by an unsizing coercion that the compiler checks,
//! and [`Erased`], the pool of a box whose type no longer names its cache.
//!
//! # How it stays sound on stable Rust
//! Stable Rust has no `CoerceUnsized` for our pointer types, so the coercion is done on the
//! raw pointer: the macro reads the box's pointer (`*mut U`) into a local that only the
//! macro can name, and passes it, untouched, where a `*mut V` is expected. The only
//! conversions the compiler applies there implicitly are unsizing coercions (`U: Unsize<V>`:
//! to a `dyn Trait` that `U` implements, an array to a slice, a `dyn` to a supertrait `dyn`,
//! dropping auto traits or shortening lifetimes), each of which keeps the address and
//! attaches metadata that is right for the value. An `as` cast is never written, and the
//! `unsafe fn` that takes the coerced pointer checks that the address did not change. The
//! `unsafe` lives in the macro's expansion: the promise ("this pointer is the box's own,
//! coerced") is the macro's, not the caller's.
//!
//! # How an erased box finds its cache
//! A box of a pool named by its type (`TypePool<U>`, `SlabCache<U, L, SIZE>`) needs no more
//! than its pointer: the type says how to mask the address (the slab size and colours) and
//! where the slot goes (this thread's magazines of `U`, or the cache's depot). A box whose
//! pointee is `dyn Trait` may come from any of them, so an [`Erased`] box carries one more
//! word: the release function of its concrete pool, monomorphised when the box was erased
//! (`release_as::<U, C>`). Dropping it runs the value's destructor through the vtable, then
//! calls that function, which does exactly what dropping the typed box would have done
//! (hardening checks included). Only pools whose lock is `Send + Sync` are erased, so an
//! erased box crosses threads whenever its pointee does.
//!
//! This module talks to `boxed` (the box's parts and the `Home` trait) only.

use core::ptr::NonNull;

use crate::boxed::sealed::Home;
use crate::boxed::{BoxPool, Pool, SlabBox};

/// The pool of a box (or `SlabArc`) whose type does not name its cache: each such box
/// carries its cache's release function (one more word), so boxes of values of different
/// types and caches, coerced to one `dyn Trait`, share one type.
///
/// ```
/// use std::fmt::Debug;
/// use slab_core::{coerce, slab_cached, Erased, SlabBox, SlabCache};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached]
/// #[derive(Debug)]
/// struct Npc { hp: u32 }
///
/// let strings: SlabCache<String> = SlabCache::new();
/// let all: Vec<SlabBox<dyn Debug + Send, Erased>> = vec![
///     coerce!(Npc::new_boxed(Npc { hp: 7 })),
///     coerce!(strings.alloc("a string".to_string())),
/// ];
/// assert_eq!(format!("{:?}", all[0]), "Npc { hp: 7 }");
/// std::thread::spawn(move || drop(all)).join().unwrap(); // each slot goes home
/// assert_eq!(strings.stats().in_use, 0);
/// assert_eq!(Npc::slab_cache().stats().in_use, 0);
/// ```
pub enum Erased {}

/// The release word of an [`Erased`] box. Not public API: unnameable outside the crate.
pub(crate) mod release {
    use core::ptr::NonNull;

    /// The release path of an erased box's concrete pool.
    #[derive(Clone, Copy)]
    pub struct ReleaseFn(pub(crate) unsafe fn(NonNull<u8>));
}
use release::ReleaseFn;

/// Gives a slot of pool `C` back, as dropping a typed box of `U` would.
///
/// # Safety
/// `slot` was handed out by a cache of type `C`, its value is gone, and it is not used
/// again (I2).
unsafe fn release_as<U: ?Sized, C: Pool>(slot: NonNull<u8>) {
    // SAFETY: the caller's contract is `give_back`'s for a pool named by its type.
    unsafe { <C as Home>::give_back((), slot, core::any::type_name::<U>()) }
}

// SAFETY: an erased box's `ReleaseFn` is `release_as::<U, C>` for the pool `C` its slot came
// from (only `Retarget` below makes one), so calling it gives the slot back to that cache.
// Erasure requires `C::Lock: Send + Sync`, so any erased slot may go back from any thread:
// `Sharing` is `()`.
unsafe impl Home for Erased {
    type Meta = ReleaseFn;
    type Sharing = ();

    #[inline]
    unsafe fn give_back(meta: ReleaseFn, slot: NonNull<u8>, _name: &'static str) {
        // SAFETY: `meta` is `release_as::<U, C>` for the slot's own pool (the impl's
        // argument above), and the caller's contract is that function's.
        unsafe { (meta.0)(slot) }
    }
}

impl BoxPool for Erased {}

pub(crate) mod sealed {
    use crate::boxed::BoxPool;

    /// How a box's release word changes when its pool type changes from `Self` to `C2`
    /// (`U` is the pointee type before the change, for messages). Sealed.
    ///
    /// # Safety
    /// `retarget(m)` makes a box of pool `C2` give its slot back where a box of pool `Self`
    /// with release word `m` would, and only if `C2::Sharing` allows it on any thread when
    /// `Self::Sharing` does not, never.
    #[diagnostic::on_unimplemented(
        message = "a box of pool `{Self}` cannot become a box of pool `{C2}`",
        label = "`coerce!` keeps the pool, or erases one whose lock is `Send + Sync`",
        note = "an `Erased` box may be dropped on any thread, so only caches whose lock is `Send + Sync` are erased; keep the pool in the target type instead"
    )]
    pub unsafe trait Retarget<U: ?Sized, C2: BoxPool>: BoxPool {
        /// The release word of the same slot as a box of `C2`.
        fn retarget(meta: Self::Meta) -> C2::Meta;
    }

    /// A pointer type that [`coerce!`](crate::coerce) converts. Sealed.
    pub trait Coerce: Sized {
        /// What the pointer points at, as a function of the pointee: `V` for a box,
        /// `ArcInner<V>` for an `Arc`.
        type Raw<V: ?Sized>: ?Sized;
        /// The pointee type now.
        type Pointee: ?Sized;
        /// The pool type now.
        type Pool: BoxPool;
        /// The same kind of pointer to `V`, from pool `C2`.
        type Out<V: ?Sized, C2: BoxPool>;

        /// The pointer the coercion acts on.
        fn __slab_raw(&self) -> *mut Self::Raw<Self::Pointee>;

        /// The same pointer to `V` in pool `C2`.
        ///
        /// # Safety
        /// `raw` is `self.__slab_raw()` converted to `*mut Self::Raw<V>` by an implicit
        /// unsizing coercion alone (no cast), so it has the same address and metadata
        /// that is valid for the value.
        unsafe fn __slab_coerce<V: ?Sized, C2: BoxPool>(
            self,
            raw: *mut Self::Raw<V>,
        ) -> Self::Out<V, C2>
        where
            Self::Pool: Retarget<Self::Pointee, C2>;
    }
}
pub use sealed::Coerce;
use sealed::Retarget;

// SAFETY: the pool and its release word stay the same.
unsafe impl<U: ?Sized, C: Pool> Retarget<U, C> for C {
    #[inline(always)]
    fn retarget((): ()) {}
}

// SAFETY: `release_as::<U, C>` gives a slot back exactly as a box of pool `C` does; `C`'s lock
// is `Send + Sync`, so that may happen on any thread, as `Erased::Sharing = ()` says.
unsafe impl<U: ?Sized, C: Pool> Retarget<U, Erased> for C
where
    C::Lock: Send + Sync,
{
    #[inline(always)]
    fn retarget((): ()) -> ReleaseFn {
        ReleaseFn(release_as::<U, C>)
    }
}

// SAFETY: the pool and its release word stay the same.
unsafe impl<U: ?Sized> Retarget<U, Erased> for Erased {
    #[inline(always)]
    fn retarget(meta: ReleaseFn) -> ReleaseFn {
        meta
    }
}

/// Panics unless a coerced pointer kept its address (the macro never changes it).
#[inline(always)]
pub(crate) fn check_same<A: ?Sized, B: ?Sized>(from: *mut A, to: *mut B) {
    assert!(
        core::ptr::addr_eq(from, to),
        "slab_core: `coerce!` got a pointer that is not the one it read"
    );
}

impl<U: ?Sized, C: BoxPool> Coerce for SlabBox<U, C> {
    type Raw<V: ?Sized> = V;
    type Pointee = U;
    type Pool = C;
    type Out<V: ?Sized, C2: BoxPool> = SlabBox<V, C2>;

    #[inline(always)]
    fn __slab_raw(&self) -> *mut U {
        SlabBox::as_ptr(self).cast_mut()
    }

    #[inline(always)]
    unsafe fn __slab_coerce<V: ?Sized, C2: BoxPool>(self, raw: *mut V) -> SlabBox<V, C2>
    where
        C: Retarget<U, C2>,
    {
        let (ptr, meta) = SlabBox::into_parts(self);
        check_same(ptr.as_ptr(), raw);
        // SAFETY: `raw` is the box's own non-null pointer (same address, checked above),
        // with metadata from an unsizing coercion (contract), so it points at the same
        // initialised value, seen as a `V`.
        let ptr = unsafe { NonNull::new_unchecked(raw) };
        // SAFETY: the slot the box owned, now owned by the new box alone (the old one is
        // gone), which gives it back where the old one would have (`Retarget`).
        unsafe { SlabBox::from_parts(ptr, C::retarget(meta)) }
    }
}

/// Converts a [`SlabBox`] (or a `SlabArc`, `SlabWeak`) of `U` into one of `V` where `U`
/// coerces to `V` — a `dyn Trait` that `U` implements, a slice from an array, a supertrait
/// `dyn` from a `dyn` — keeping its pool or moving it to [`Erased`], as the target type says.
///
/// The target type must be known from the context (a `let` with a type, a function
/// argument, a `Vec` being pushed to). Dropping the result runs the value's destructor
/// through the vtable and returns the slot to its own cache, from any thread that may hold
/// the box.
///
/// ```
/// use std::any::Any;
/// use std::fmt::Display;
/// use slab_core::{coerce, slab_cached, Boxed, Erased, SlabBox, TypePool};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached]
/// struct Meters(f64);
/// impl Display for Meters {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "{} m", self.0)
///     }
/// }
///
/// // Keep the pool: still one pointer plus the vtable.
/// let d: SlabBox<dyn Display, TypePool<Meters>> = coerce!(Meters::new_boxed(Meters(2.5)));
/// assert_eq!(d.to_string(), "2.5 m");
/// // Or erase it, to mix boxes of several types in one collection.
/// let e: SlabBox<dyn Any + Send, Erased> = coerce!(Meters::new_boxed(Meters(1.0)));
/// assert!(e.is::<Meters>());
/// // A slice from an array.
/// let cache: slab_core::SlabCache<[u8; 4]> = slab_core::SlabCache::new();
/// let s: SlabBox<[u8], slab_core::SlabCache<[u8; 4]>> = coerce!(cache.alloc([1, 2, 3, 4]));
/// assert_eq!(s.len(), 4);
/// ```
///
/// Only real coercions compile; a box of a type that does not implement the trait, or a
/// target of another type, is a type error:
///
/// ```compile_fail
/// use slab_core::{coerce, SlabBox, SlabCache};
/// slab_core::slab_hooks!(global);
/// let cache: SlabCache<u32> = SlabCache::new();
/// let b: SlabBox<u64, _> = coerce!(cache.alloc(1)); // not a coercion
/// ```
///
/// The expansion holds an `unsafe` block (the promise that the pointer is the box's own is
/// the macro's, not yours) under `#[allow(unsafe_code)]`, so it works in crates that
/// `deny(unsafe_code)`, but not in those that `forbid` it.
#[macro_export]
macro_rules! coerce {
    ($from:expr $(,)?) => {{
        use $crate::__private::Coerce as _;
        let __slab_from = $from;
        let __slab_raw = __slab_from.__slab_raw();
        // SAFETY: `__slab_raw` is the pointer read from `__slab_from` just above, passed on
        // untouched: only an implicit unsizing coercion can give it the argument's type.
        #[allow(unsafe_code)]
        unsafe {
            __slab_from.__slab_coerce(__slab_raw)
        }
    }};
}
