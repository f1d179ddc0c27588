//! The default source, [`Hooks`]: two link-time symbols the application defines once.
//!
//! The application names an allocate and a free function with `slab_hooks!(alloc, free)`
//! (or `slab_hooks!(global)` for Rust's global allocator). The macro type-checks them and
//! exports them under the symbol names below. A program that forgets the macro fails to
//! link with an undefined reference whose name says what to do; a program that calls it
//! twice fails with a duplicate definition of the same name.
//!
//! The symbols are referenced only from the `#[inline]` methods of `Hooks`, which are
//! compiled into a program only where a cache uses `Hooks`: a program whose caches all
//! take another source (`Global`, its own) links without `slab_hooks!`.

use core::alloc::Layout;
use core::ptr::NonNull;

use super::{DefaultSource, SlabSource};

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

/// The default source of every cache: the program's two link-time hooks, defined once per
/// program with [`slab_hooks!`](crate::slab_hooks) (`slab_hooks!(global)`, or your own
/// functions with `slab_hooks!(unsafe my_alloc, my_free)`).
///
/// `SlabCache<T>`, `SlabCache<T, L>`, `SlabCache<T, L, SIZE>` and `#[slab_cached]` without
/// `source` all use it. A program in which no cache uses it needs no `slab_hooks!`.
///
/// ```
/// use slab_core::{Hooks, SlabCache, SpinLock};
/// slab_core::slab_hooks!(global); // what `Hooks` calls
///
/// let a: SlabCache<u64> = SlabCache::new();
/// let b: SlabCache<u64, SpinLock, 4096, Hooks> = SlabCache::new(); // the same type
/// let _ = [a, b];
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hooks;

// SAFETY: the promise is the program's: `slab_hooks!` defines both symbols, either with
// the library's global-allocator hooks (`slab_hooks!(global)`, which keep it) or with the
// user's functions behind the user's own `unsafe` token, which promises exactly this
// trait's contract (unique blocks of the layout asked for, each taken back once). `Hooks`
// is a unit: every copy calls the same two functions.
unsafe impl SlabSource for Hooks {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: the symbol is defined by `slab_hooks!`, which checks the user function
        // against `AllocHook` (the signature declared above) before forwarding to it;
        // `layout` is a slab layout (this method's contract), the hook's contract (I6).
        unsafe { slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro(layout) }
    }

    #[inline]
    unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
        // SAFETY: `block` came from the allocation hook with this `layout` and nothing uses
        // it any more (this method's contract), which is what the free hook asks (I6); the
        // symbol is type-checked by `slab_hooks!` against `FreeHook`.
        unsafe { slab_core_0_1__free_hook__define_it_once_with_slab_hooks_macro(block, layout) }
    }
}

impl DefaultSource for Hooks {
    const DEFAULT: Self = Hooks;
}
