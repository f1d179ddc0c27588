use slab_core::{NoLock, slab_cached};
slab_core::slab_hooks!(global);

#[slab_cached(lock = NoLock)]
struct Packet {
    data: [u8; 64],
}

fn main() {}
