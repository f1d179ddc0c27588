//! An erased box is `Send` exactly when its `dyn` type is: `dyn Debug` does not say `Send`.
use std::fmt::Debug;

use slab_core::{Erased, SlabBox, SlabCache, coerce};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<u32> = SlabCache::new();
    let b: SlabBox<dyn Debug, Erased> = coerce!(cache.alloc(1));
    std::thread::spawn(move || drop(b));
}
