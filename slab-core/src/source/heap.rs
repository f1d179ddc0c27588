//! [`Global`]: slabs from Rust's global allocator, and the functions behind
//! `slab_hooks!(global)` ([`global`]). Slabs of up to 256 KiB are carved from 1 MiB
//! regions (`pages.rs`, I16).

use core::alloc::Layout;
use core::ptr::NonNull;

use super::{DefaultSource, SlabSource};

/// A source on Rust's global allocator, for a cache that should not depend on the
/// program's `slab_hooks!`: a library's own types and tests, or one pool beside others.
///
/// A program whose caches all use `Global` (or sources of their own) needs **no**
/// `slab_hooks!`. It shares the 1 MiB regions of `slab_hooks!(global)` (see
/// [`global::set_retain`] and [`global::trim`]).
///
/// ```
/// use slab_core::{Global, SlabCache, SpinLock, slab_cached};
///
/// // No `slab_hooks!` anywhere in this program.
/// #[slab_cached(source = Global)]
/// pub struct Node {
///     pub id: u32,
/// }
///
/// let n = Node::new_boxed(Node { id: 1 });
/// let cache: SlabCache<String, SpinLock, 4096, Global> = SlabCache::new();
/// let s = cache.alloc("two".to_string());
/// assert_eq!((n.id, s.as_str()), (1, "two"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Global;

// SAFETY: `global::alloc` returns fresh blocks of the layout asked for (a 1 MiB region's
// unused slab, I16, or the global allocator's own block), each once, and `global::free`
// takes each back with its layout; `Global` is a unit, so every copy is the same source.
unsafe impl SlabSource for Global {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: a slab layout (this method's contract), which `global::alloc` needs.
        unsafe { global::alloc(layout) }
    }

    #[inline]
    unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
        // SAFETY: `block` came from `global::alloc` (through `alloc` above) with this
        // `layout`, once (this method's contract).
        unsafe { global::free(block, layout) }
    }
}

impl DefaultSource for Global {
    const DEFAULT: Self = Global;
}

/// Hooks that route slab memory to Rust's global allocator (`slab_hooks!(global)`, and
/// the [`Global`] source).
pub mod global {
    use core::alloc::Layout;
    use core::ptr::NonNull;

    use crate::pages;

    extern crate alloc;

    /// Allocation hook on Rust's global allocator. Slabs up to 256 KiB are carved from
    /// 1 MiB regions (see the `pages` module: size-aligned blocks straight from an
    /// allocator such as glibc cost about twice their size in resident memory); larger
    /// slabs are allocated directly.
    ///
    /// # Safety
    /// `layout` is a slab layout: a non-zero power-of-two size equal to its alignment.
    pub unsafe fn alloc(layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() <= pages::MAX_BATCHED && layout.size() == layout.align() {
            // SAFETY: a slab layout no larger than `MAX_BATCHED`, checked above: what
            // `pages::alloc` serves (I16).
            return unsafe { pages::alloc(layout) };
        }
        // SAFETY: the caller passes a slab layout (contract), whose size is non-zero (I1):
        // the only precondition.
        NonNull::new(unsafe { alloc::alloc::alloc(layout) })
    }

    /// Sets how many bytes of empty 1 MiB regions the global hook keeps for reuse (256 MiB
    /// by default), so that a burst that frees and reallocates does not unmap, remap and
    /// page-fault the same memory each time. Takes effect as regions empty; [`trim`]
    /// releases what is kept now. `0` returns every region as soon as it empties.
    ///
    /// ```
    /// slab_core::global::set_retain(16 << 20); // keep at most 16 MiB
    /// ```
    pub fn set_retain(bytes: usize) {
        pages::set_retain(bytes);
    }

    /// Returns every empty region the global hook keeps to the global allocator (like
    /// `malloc_trim`), and says how many bytes went back. Slabs that caches still hold
    /// stay; call [`SlabCache::shrink`](crate::SlabCache::shrink) first to free those.
    ///
    /// ```
    /// use slab_core::{Global, SlabCache, SpinLock};
    /// let cache: SlabCache<[u8; 1000], SpinLock, 65536, Global> = SlabCache::new();
    /// let burst: Vec<_> = (0..10_000).map(|_| cache.alloc([0; 1000])).collect();
    /// drop(burst);
    /// cache.shrink();
    /// assert!(slab_core::global::trim() > 0);
    /// ```
    pub fn trim() -> usize {
        pages::trim()
    }

    /// Free hook matching [`alloc`](self::alloc()).
    ///
    /// # Safety
    /// `ptr` was returned by [`alloc`](self::alloc()) with the same `layout`.
    pub unsafe fn free(ptr: NonNull<u8>, layout: Layout) {
        if layout.size() <= pages::MAX_BATCHED && layout.size() == layout.align() {
            // SAFETY: `ptr` came from `alloc` with this `layout` (contract, I6), which for a
            // slab layout up to `MAX_BATCHED` is `pages::alloc` (I16).
            return unsafe { pages::free(ptr, layout) };
        }
        // SAFETY: `ptr` came from `alloc` with this `layout` (contract, I6), which for any
        // other layout is `alloc::alloc::alloc`.
        unsafe { alloc::alloc::dealloc(ptr.as_ptr(), layout) }
    }
}
