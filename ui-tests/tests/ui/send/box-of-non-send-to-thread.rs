use std::rc::Rc;

use slab_core::SlabCache;
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<Rc<u32>> = SlabCache::new();
    let b = cache.alloc(Rc::new(1));
    std::thread::spawn(move || drop(b));
}
