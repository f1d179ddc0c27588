use slab_core::{SlabCache, SpinLock};
slab_core::slab_hooks!(global);

static CACHE: SlabCache<u64, SpinLock, 1000> = SlabCache::new();

fn main() {
    let _ = CACHE.alloc(1);
}
