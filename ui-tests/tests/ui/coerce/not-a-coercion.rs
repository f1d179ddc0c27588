//! `coerce!` applies only implicit unsizing coercions: a box of `u32` is no box of `u64`.
use slab_core::{SlabBox, SlabCache, coerce};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<u32> = SlabCache::new();
    let _b: SlabBox<u64, SlabCache<u32>> = coerce!(cache.alloc(1));
}
