use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached(size = 1000)]
struct Packet {
    data: [u8; 64],
}

fn main() {
    let _ = Packet::new_boxed(Packet { data: [0; 64] }).data;
}
