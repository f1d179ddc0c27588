use slab_core::{SlabCache, SpinLock};
slab_core::slab_hooks!(global);

fn main() {
    let cache = SlabCache::<u64, SpinLock, 3000>::new();
    let _ = cache.alloc(1);
}
