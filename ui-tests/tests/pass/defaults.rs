//! No arguments: `SpinLock` and a slab size chosen for the type.
use slab_core::{Boxed, SlabCached, SlabCache, SpinLock, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached]
struct Small {
    id: u64,
}

#[slab_cached]
struct Packet {
    len: u16,
    data: [u8; 1500],
}

fn main() {
    let a: Boxed<Small> = Small::new_boxed(Small { id: 7 });
    assert_eq!(a.id, 7);
    let stats = Small::slab_cache().stats();
    assert_eq!((stats.in_use, stats.slab_size), (1, 16384));
    drop(a);
    assert_eq!(Small::slab_cache().stats().in_use, 0);

    let p = Packet::new_boxed(Packet { len: 2, data: [1; 1500] });
    assert_eq!(p.len + u16::from(p.data[1499]), 3);
    assert_eq!(Packet::slab_cache().stats().slab_size, 65536);

    // The cache type is `SlabCache<T, SpinLock, SIZE>`.
    let _: &'static SlabCache<Small, SpinLock, 16384> = <Small as SlabCached>::slab_cache();
}
