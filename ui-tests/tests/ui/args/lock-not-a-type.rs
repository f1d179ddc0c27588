use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached(lock = 42)]
struct Packet {
    data: [u8; 64],
}

fn main() {}
