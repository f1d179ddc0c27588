use slab_core::{NoLock, SlabCache};
slab_core::slab_hooks!(global);

static CACHE: SlabCache<u32, NoLock> = SlabCache::new();

fn main() {
    let _ = CACHE.alloc(1);
}
