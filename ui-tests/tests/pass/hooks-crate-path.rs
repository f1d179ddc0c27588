//! `slab_hooks!` with `crate = path`, and closures as hooks.
extern crate slab_core as slab;

slab::slab_hooks!(
    unsafe |layout| {
        // SAFETY: slab layouts are never zero-sized.
        core::ptr::NonNull::new(unsafe { std::alloc::alloc(layout) })
    },
    |ptr, layout| {
        // SAFETY: `ptr` came from the closure above with this `layout`.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    },
    crate = slab,
);

fn main() {
    let cache: slab::SlabCache<u64> = slab::SlabCache::new();
    assert_eq!(*cache.alloc(3), 3);
}
