//! Claiming bytes as filled without writing them is the caller's promise: `set_len` and
//! `SlabArc::from_raw` are `unsafe fn`s.
use slab_core::{ArcInner, ByteBuf, SlabArc, SlabCache};
slab_core::slab_hooks!(global);

fn main() {
    let mut b = ByteBuf::<16>::new();
    b.set_len(16);
    let cache: SlabCache<ArcInner<u8>> = SlabCache::new();
    let raw = SlabArc::into_raw(cache.alloc_arc(1));
    let _a: SlabArc<u8> = SlabArc::from_raw(raw);
}
