use slab_core::{Boxed, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached(size = 16384)]
struct Packet {
    data: [u8; 5000],
}

#[slab_cached(size = 0x200)]
struct Tiny(u8);

#[slab_cached(size = 1_048_576usize)]
struct Mega(u64);

fn main() {
    let p: Boxed<Packet> = Packet::new_boxed(Packet { data: [3; 5000] });
    assert_eq!(p.data[4999], 3);
    assert_eq!(Packet::slab_cache().stats().slab_size, 16384);
    assert_eq!(Tiny::new_boxed(Tiny(1)).0, 1);
    assert_eq!(Tiny::slab_cache().stats().slab_size, 512);
    assert_eq!(Mega::new_boxed(Mega(2)).0, 2);
    assert_eq!(Mega::slab_cache().stats().slab_size, 1 << 20);
}
