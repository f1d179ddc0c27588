slab_core::slab_hooks!(global);

mod again {
    slab_core::slab_hooks!(global);
}

fn main() {
    let cache: slab_core::SlabCache<u64> = slab_core::SlabCache::new();
    assert_eq!(*cache.alloc(1), 1);
}
