//! The pointer `coerce!` passes on cannot be swapped for a cast one from safe code: the
//! entry point behind the macro is an `unsafe fn` (its promise is the macro's).
use slab_core::__private::Coerce;
use slab_core::{SlabBox, SlabCache};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<[u8; 8]> = SlabCache::new();
    let b = cache.alloc([0; 8]);
    let raw = b.__slab_raw() as *mut u64;
    let _c: SlabBox<u64, SlabCache<[u8; 8]>> = b.__slab_coerce(raw);
}
