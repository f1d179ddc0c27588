use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached]
struct Buffer<const N: usize> {
    data: [u8; N],
}

fn main() {}
