//! Where slab memory comes from: two link-time symbols the application defines once.
//!
//! The application names an allocate and a free function with `slab_hooks!(alloc, free)`
//! (or `slab_hooks!(global)` for Rust's global allocator). The macro type-checks them and
//! exports them under the symbol names below. A program that forgets the macro fails to
//! link with an undefined reference whose name says what to do; a program that calls it
//! twice fails with a duplicate definition of the same name.
//!
//! This module talks to `error` and, for `global`, `pages`; its callers are `control`
//! (new slabs) and `depot` (retired slabs).

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::error::SlabError;

/// The signature of the allocation hook: returns a block of `layout.size()` bytes aligned
/// to `layout.align()` (both are the slab size), or `None` when memory is exhausted.
///
/// It is called with no cache lock held, so it may allocate from slab caches itself, even
/// the type whose cache it is growing, on the same thread.
pub type AllocHook = unsafe fn(Layout) -> Option<NonNull<u8>>;

/// The signature of the free hook: takes back a block returned by the allocation hook,
/// with the same layout.
pub type FreeHook = unsafe fn(NonNull<u8>, Layout);

/// Symbol of the allocation hook. Keep in sync with `slab-derive/src/hooks.rs`.
#[doc(hidden)]
pub const ALLOC_SYMBOL: &str = "slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro";
/// Symbol of the free hook. Keep in sync with `slab-derive/src/hooks.rs`.
#[doc(hidden)]
pub const FREE_SYMBOL: &str = "slab_core_0_1__free_hook__define_it_once_with_slab_hooks_macro";

unsafe extern "Rust" {
    // These names are the link error a user sees when the hooks are missing or doubled;
    // `slab_hooks!` defines them with exactly these signatures (checked against
    // `AllocHook`/`FreeHook` at the user's tokens before forwarding).
    fn slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro(
        layout: Layout,
    ) -> Option<NonNull<u8>>;
    fn slab_core_0_1__free_hook__define_it_once_with_slab_hooks_macro(
        ptr: NonNull<u8>,
        layout: Layout,
    );
}

/// Takes one slab of `size` bytes aligned to `size` from the application's hook.
///
/// A hook that reports exhaustion gives [`SlabError::OutOfMemory`]. A hook that returns a
/// misaligned block would break the masking invariant (I1), so the block goes straight
/// back to the free hook and the caller gets [`SlabError::AlignmentMismatch`].
pub(crate) fn alloc_slab(layout: Layout) -> Result<NonNull<u8>, SlabError> {
    // SAFETY:
    // - the symbol is defined by `slab_hooks!`, which checks the user function against
    //   `AllocHook` (the signature declared above) before forwarding to it;
    // - `layout` has a non-zero, power-of-two size equal to its alignment, which is the
    //   documented contract of the hook (I1, I6).
    let block = unsafe { slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro(layout) }
        .ok_or(SlabError::OutOfMemory)?;
    if block.addr().get() & (layout.align() - 1) != 0 {
        // SAFETY: `block` came from the allocation hook with this `layout` and is not used
        // anywhere else; returning it is the hook's contract (I6).
        unsafe { free_slab(block, layout) };
        return Err(SlabError::AlignmentMismatch);
    }
    Ok(block)
}

/// Returns one slab to the application's free hook.
///
/// # Safety
/// `block` was returned by [`alloc_slab`] with this same `layout`, and nothing uses it
/// any more.
pub(crate) unsafe fn free_slab(block: NonNull<u8>, layout: Layout) {
    // SAFETY: `block` came from the allocation hook with this `layout` and nothing uses it
    // any more (this function's contract), which is what the free hook asks (I6); the
    // symbol is type-checked by `slab_hooks!` against `FreeHook`.
    unsafe { slab_core_0_1__free_hook__define_it_once_with_slab_hooks_macro(block, layout) }
}

/// Hooks that route slab memory to Rust's global allocator (`slab_hooks!(global)`).
#[cfg(feature = "alloc")]
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
    /// slab_core::slab_hooks!(global);
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
    /// use slab_core::SlabCache;
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<[u8; 1000], slab_core::SpinLock, 65536> = SlabCache::new();
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
