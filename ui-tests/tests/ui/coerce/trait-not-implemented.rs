//! A box coerces only to a `dyn Trait` that its value implements.
use std::fmt::Display;

use slab_core::{Erased, SlabBox, SlabCache, coerce};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<Vec<u8>> = SlabCache::new();
    let _b: SlabBox<dyn Display, Erased> = coerce!(cache.alloc(vec![1]));
}
