//! Every argument mistake is reported at once, and none of them cascades: the type still
//! gets its constructors (with the default for each bad argument).
use slab_core::{Boxed, slab_cached};
slab_core::slab_hooks!(global);

#[slab_cached(sise = 4096, size = 3000, lock, size = 8192, crate)]
struct Packet {
    data: [u8; 64],
}

fn main() {
    let p: Boxed<Packet> = Packet::new_boxed(Packet { data: [0; 64] });
    assert_eq!(p.data[0], 0);
    assert_eq!(Packet::slab_cache().stats().in_use, 1);
}
