//! A stateful source (a byte cap) is not `Copy`: a cache cannot hold it by value (its
//! master keeps a copy of the source). Share it through a `&'static` reference instead.
use slab_core::{Capped, Global, SlabCache, SpinLock};

fn main() {
    let _cache: SlabCache<u32, SpinLock, 4096, Capped<Global>> =
        SlabCache::with_source(Capped::new(Global, 1 << 20));
}
