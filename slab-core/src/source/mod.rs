//! Where slab memory comes from: the [`SlabSource`] trait a cache takes its slabs from, the
//! sources this crate ships, and the two functions every other layer calls to take a slab
//! ([`alloc_slab`], which refuses misaligned blocks) and give it back ([`free_slab`]).
//!
//! | source | where the memory comes from |
//! |---|---|
//! | [`Hooks`] (the default) | the two link-time hooks the program defines once with `slab_hooks!` (`hooks.rs`) |
//! | [`Global`] (`alloc` feature) | Rust's global allocator, through the 1 MiB regions of `pages.rs` (`heap.rs`); no `slab_hooks!` needed |
//! | [`Capped<S>`] | any source, with a byte cap (`capped.rs`) |
//! | `&S` | the source `S` refers to: one stateful source (a cap) shared by several caches |
//! | your own | an `unsafe impl SlabSource` (DMA memory, a static arena, kernel pages) |
//!
//! A cache holds its source by value, in the handle (to make its master) and in the
//! master's control block (to give slabs back after every handle is gone, I19), so a
//! cache's source is `Copy`: a zero-sized type, or a shared reference to a stateful one.
//!
//! This module talks to `error` and, for `Global`, `pages`; its callers are `control` (new
//! slabs, destruction) and `depot` (retired slabs).

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::error::SlabError;
use crate::geometry::Kept;

mod capped;
#[cfg(feature = "alloc")]
mod heap;
mod hooks;

pub use capped::Capped;
#[cfg(feature = "alloc")]
pub use heap::{Global, global};
pub use hooks::{ALLOC_SYMBOL, AllocHook, FREE_SYMBOL, FreeHook, Hooks};

/// Where a cache takes its slabs from, and gives them back to.
///
/// A slab is one block of `layout.size()` bytes aligned to `layout.align()`; both are the
/// cache's slab size, a power of two from 512 bytes to 1 GiB. A cache asks its source
/// for a block only when it grows by a slab, and gives a block back only when it releases
/// a slab (`shrink`, an empty slab beyond `keep_empty`, the last handle and box gone): the
/// fast paths never call it.
///
/// A cache's source type parameter (`SlabCache<T, L, SIZE, S>`, `#[slab_cached(source =
/// S)]`) must also be `Copy`: the cache keeps a copy in its master slab, to give slabs
/// back when the last box goes after every handle. Share a stateful source (a byte cap, a
/// pool with a free list) through a reference: `&'static S` is a source whenever `S` is.
///
/// ```
/// use core::alloc::Layout;
/// use core::ptr::NonNull;
/// use slab_core::{SlabCache, SlabSource, SpinLock};
///
/// /// Slabs from the system allocator, counted.
/// struct Counted(std::sync::atomic::AtomicUsize);
///
/// // SAFETY: `alloc` returns a fresh block of the global allocator with exactly the layout
/// // asked for (or `None`), and `free` gives such a block back to it with that layout.
/// unsafe impl SlabSource for Counted {
///     unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         // SAFETY: a slab layout is never zero-sized (this method's contract).
///         NonNull::new(unsafe { std::alloc::alloc(layout) })
///     }
///     unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
///         // SAFETY: `block` came from `alloc` above with this `layout` (contract).
///         unsafe { std::alloc::dealloc(block.as_ptr(), layout) }
///     }
/// }
///
/// static COUNTED: Counted = Counted(std::sync::atomic::AtomicUsize::new(0));
///
/// // No `slab_hooks!`: this cache takes its slabs from `COUNTED` alone.
/// let cache: SlabCache<u64, SpinLock, 4096, &'static Counted> = SlabCache::with_source(&COUNTED);
/// let b = cache.alloc(7);
/// assert_eq!((*b, COUNTED.0.load(std::sync::atomic::Ordering::Relaxed)), (7, 1));
/// ```
///
/// # Safety
/// Implementing this trait is a promise that slab-core relies on for soundness:
/// - [`alloc`](Self::alloc) returns `None`, or a block of at least `layout.size()` bytes,
///   aligned to `layout.align()`, valid for reads and writes, that nothing else uses until
///   it is given back through [`free`](Self::free) (two calls never return overlapping
///   blocks that are both outstanding). A block that is not aligned is caught and given
///   straight back, but an overlapping one would hand one slot to two owners.
/// - [`free`](Self::free) takes back any block `alloc` returned, with the same layout,
///   once.
/// - If the type is `Clone` or `Copy` (as a cache's source must be), every copy is the same
///   source: a block from one copy may be given back through another. A reference to a
///   source is, trivially.
/// - Both methods may be called from any thread that can reach the cache, with no cache
///   lock held; they may allocate from slab caches themselves (even the cache they grow).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a slab memory source",
    label = "not a `SlabSource`",
    note = "a cache takes its slabs from a `slab_core::SlabSource`: `Hooks` (the program's `slab_hooks!`), `Global` (Rust's global allocator), `&'static Capped<_>` (a byte cap), or your own type with `unsafe impl slab_core::SlabSource for {Self}`"
)]
pub unsafe trait SlabSource {
    /// Takes a block of `layout.size()` bytes aligned to `layout.align()`, or `None` when
    /// there is no memory.
    ///
    /// # Safety
    /// `layout` is a slab layout: its size is a power of two from 512 bytes to 1 GiB, equal
    /// to its alignment.
    unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>>;

    /// Takes back a block.
    ///
    /// # Safety
    /// `block` was returned by [`alloc`](Self::alloc) of this source (or of a copy of it)
    /// with this same `layout`, is given back once, and is not used afterwards.
    unsafe fn free(&self, block: NonNull<u8>, layout: Layout);

    /// Not public API: what the slots of an object cache keep (the crate's own wrapper
    /// source sets it; its type cannot be named outside the crate).
    #[doc(hidden)]
    const __KEPT: Option<Kept> = None;
}

// SAFETY: forwards both calls to the source `S` that the reference names, which keeps
// `SlabSource`'s promise (its own `unsafe impl`); every copy of the reference names that
// one source, so a block from one copy goes back to the same `S`.
unsafe impl<S: SlabSource + ?Sized> SlabSource for &S {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: the caller passes a slab layout (this method's contract, the same).
        unsafe { (**self).alloc(layout) }
    }

    #[inline]
    unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
        // SAFETY: `block` came from `alloc` of this same `S` with `layout`, once (contract).
        unsafe { (**self).free(block, layout) }
    }
}

/// A source with a value known at compile time, so that a cache can name it by its type
/// alone: [`SlabCache::new`](crate::SlabCache::new) (rather than
/// [`with_source`](crate::SlabCache::with_source)) and `#[slab_cached(source = S)]`.
///
/// [`Hooks`] and [`Global`] implement it. For a zero-sized source of your own, it is one
/// line. A stateful source (a [`Capped`] budget) has no value known at compile time: a
/// runtime cache takes it with [`SlabCache::with_source(&STATIC)`](crate::SlabCache::with_source),
/// and a `#[slab_cached]` type names a zero-sized type whose `unsafe impl SlabSource`
/// forwards both calls to that `static` (one `static`, so every copy is the same source).
///
/// ```
/// use core::alloc::Layout;
/// use core::ptr::NonNull;
/// use slab_core::{DefaultSource, SlabSource, slab_cached};
///
/// #[derive(Clone, Copy)]
/// struct System;
///
/// // SAFETY: fresh blocks of the global allocator with the layout asked for, each given
/// // back once with that layout.
/// unsafe impl SlabSource for System {
///     unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
///         // SAFETY: slab layouts are never zero-sized (contract).
///         NonNull::new(unsafe { std::alloc::alloc(layout) })
///     }
///     unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
///         // SAFETY: `block` came from `alloc` with this `layout` (contract).
///         unsafe { std::alloc::dealloc(block.as_ptr(), layout) }
///     }
/// }
///
/// impl DefaultSource for System {
///     const DEFAULT: Self = System;
/// }
///
/// #[slab_cached(source = System)] // no `slab_hooks!` in this program
/// struct Job(u32);
///
/// assert_eq!(Job::new_boxed(Job(3)).0, 3);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a slab memory source that a cache can name by its type",
    label = "not a `DefaultSource`",
    note = "`#[slab_cached(source = S)]` and `SlabCache::new()` need `S: DefaultSource` (with `unsafe impl SlabSource for S`, and `S: Copy`): use `slab_core::Hooks` or `slab_core::Global`, implement both traits for a zero-sized type of your own, or give a runtime cache its source with `SlabCache::with_source(source)`"
)]
pub trait DefaultSource: SlabSource + Copy {
    /// The source's value.
    const DEFAULT: Self;
}

/// Takes one slab of `layout` (size = alignment = the slab size) from `source`.
///
/// A source that reports exhaustion gives [`SlabError::OutOfMemory`]. A source that
/// returns a misaligned block would break the masking invariant (I1), so the block goes
/// straight back to it and the caller gets [`SlabError::AlignmentMismatch`].
#[inline]
pub(crate) fn alloc_slab<S: SlabSource>(
    source: &S,
    layout: Layout,
) -> Result<NonNull<u8>, SlabError> {
    // SAFETY: `layout` is a slab layout (the callers pass `Class::layout()`: a power of two
    // from 512 to 2^30, equal to its alignment, I1): `SlabSource::alloc`'s contract.
    let block = unsafe { source.alloc(layout) }.ok_or(SlabError::OutOfMemory)?;
    if block.addr().get() & (layout.align() - 1) != 0 {
        // SAFETY: `block` came from this source with this `layout` and is not used anywhere
        // else; giving it back is the source's contract (I6).
        unsafe { source.free(block, layout) };
        return Err(SlabError::AlignmentMismatch);
    }
    Ok(block)
}

/// Gives one slab back to `source`.
///
/// # Safety
/// `block` was returned by [`alloc_slab`] with this same `layout`, from this source (or a
/// copy of it), and nothing uses it any more.
#[inline]
pub(crate) unsafe fn free_slab<S: SlabSource>(source: &S, block: NonNull<u8>, layout: Layout) {
    // SAFETY: `block` came from this source with this `layout` and nothing uses it any more
    // (this function's contract), which is what `SlabSource::free` asks (I6, I19).
    unsafe { source.free(block, layout) }
}
