use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached(size = 4096)]
#[repr(align(2048))]
struct Page {
    data: [u8; 16],
}

fn main() {}
