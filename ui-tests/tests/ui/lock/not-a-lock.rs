use slab_core::slab_cached;
slab_core::slab_hooks!(global);

struct MyMutex;

#[slab_cached(lock = MyMutex)]
struct Packet {
    data: [u8; 64],
}

fn main() {}
