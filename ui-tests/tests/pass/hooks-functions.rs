//! `slab_hooks!(alloc, free)` with safe and unsafe functions, in other modules.
use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use slab_core::slab_cached;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static FREES: AtomicUsize = AtomicUsize::new(0);

mod memory {
    use super::*;

    /// A safe function coerces to the `unsafe fn` hook type.
    pub fn alloc(layout: Layout) -> Option<NonNull<u8>> {
        super::ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: slab layouts are never zero-sized.
        NonNull::new(unsafe { std::alloc::alloc(layout) })
    }
}

/// # Safety
/// `ptr` came from `memory::alloc` with this `layout`.
unsafe fn free(ptr: NonNull<u8>, layout: Layout) {
    FREES.fetch_add(1, Ordering::Relaxed);
    // SAFETY: this function's contract: `ptr` came from `memory::alloc`, a global-allocator
    // block of this `layout`.
    unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
}

// SAFETY: blocks of the global allocator with the layout asked for, each handed out once
// and freed once with that layout.
slab_core::slab_hooks!(unsafe memory::alloc, free);

#[slab_cached]
struct Item(u64);

fn main() {
    let cache: slab_core::SlabCache<u64> = slab_core::SlabCache::new();
    let b = cache.alloc(5);
    assert_eq!(*b + Item::new_boxed(Item(1)).0, 6);
    assert_eq!(ALLOCS.load(Ordering::Relaxed), 2);
    drop(b);
    drop(cache);
    assert_eq!(FREES.load(Ordering::Relaxed), 1);
}
