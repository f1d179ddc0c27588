use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached(4096)]
struct Packet {
    data: [u8; 64],
}

fn main() {}
