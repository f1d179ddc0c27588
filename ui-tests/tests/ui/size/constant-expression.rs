use slab_core::slab_cached;
slab_core::slab_hooks!(global);

const PAGE: usize = 4096;

#[slab_cached(size = 4 * PAGE)]
struct Packet {
    data: [u8; 64],
}

fn main() {}
