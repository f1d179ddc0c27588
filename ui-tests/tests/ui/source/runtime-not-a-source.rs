//! A runtime cache whose source parameter is not a memory source.
use slab_core::{SlabCache, SpinLock};

fn main() {
    let _cache: SlabCache<u32, SpinLock, 4096, String> = SlabCache::with_source(String::new());
}
