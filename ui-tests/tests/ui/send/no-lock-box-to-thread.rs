use slab_core::{NoLock, SlabCache};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<u32, NoLock> = SlabCache::new();
    let b = cache.alloc(7);
    std::thread::spawn(move || drop(b));
}
