use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached(size = 2147483648)]
struct Packet {
    data: [u8; 64],
}

fn main() {}
