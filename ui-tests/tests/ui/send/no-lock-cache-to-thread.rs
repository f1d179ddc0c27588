use slab_core::{NoLock, SlabCache};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<u32, NoLock> = SlabCache::new();
    std::thread::spawn(move || drop(cache));
}
