use slab_core::slab_cached;
slab_core::slab_hooks!(global);

struct Packet {
    data: [u8; 64],
}

#[slab_cached]
impl Packet {}

fn main() {
    let _ = Packet { data: [0; 64] }.data;
}
