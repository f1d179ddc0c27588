//! An arc of a `NoLock` cache stays on its thread: its last holder would give the slot back
//! there.
use slab_core::{ArcInner, NoLock, SlabCache};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<ArcInner<u32>, NoLock> = SlabCache::new();
    let a = cache.alloc_arc(1);
    std::thread::spawn(move || drop(a));
}
