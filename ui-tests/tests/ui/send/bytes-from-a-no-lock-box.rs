//! `Bytes` may drop its owner on any thread, so a box of a `NoLock` cache cannot become one.
use slab_core::{ByteBuf, NoLock, SlabCache};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<ByteBuf<64>, NoLock> = SlabCache::new();
    let _bytes = cache.alloc(ByteBuf::new()).into_bytes();
}
