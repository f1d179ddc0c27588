//! Only boxes of caches whose lock is `Send + Sync` are erased: an `Erased` box may be
//! freed on any thread, and a `NoLock` cache must not be.
use std::fmt::Debug;

use slab_core::{Erased, NoLock, SlabBox, SlabCache, coerce};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<u32, NoLock> = SlabCache::new();
    let _b: SlabBox<dyn Debug, Erased> = coerce!(cache.alloc(1));
}
