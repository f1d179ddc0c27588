//! The entry points that trust their arguments (a slot pointer, the magazines) are either
//! unnameable from outside slab-core or `unsafe fn`s: safe code cannot hand them a stack
//! pointer or someone else's magazines.
use core::ptr::NonNull;

use slab_core::{CacheOf, SlabCache, SlabCached, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached]
struct Pkt(u64);

fn hand_out<C: CacheOf<Pkt>>(p: NonNull<u8>) {
    C::handout(p);
}

fn main() {
    let mut local = 0u64;
    let p = NonNull::from(&mut local).cast::<u8>();
    hand_out::<SlabCache<Pkt, slab_core::SpinLock, 16384>>(p);
    <SlabCache<Pkt, slab_core::SpinLock, 16384> as CacheOf<Pkt>>::__handout(p);
    Pkt::__magazines().with(|m| {
        let _ = m.pop_loaded();
    });
}
