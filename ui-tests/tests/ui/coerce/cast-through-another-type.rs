//! An `as` cast to another type is no coercion, inside `coerce!` or before it.
use slab_core::{SlabBox, SlabCache, coerce};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<[u8; 8]> = SlabCache::new();
    let _d: SlabBox<u64, SlabCache<[u8; 8]>> = coerce!(cache.alloc([0; 8]) as SlabBox<u64, _>);
}
