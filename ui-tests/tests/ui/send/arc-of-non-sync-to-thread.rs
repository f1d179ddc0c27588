//! `SlabArc<T>` is `Send` only when `T: Send + Sync`, as `std::sync::Arc`: clones on two
//! threads would share a `Cell`.
use std::cell::Cell;

use slab_core::{ArcInner, SlabArc, SlabCache};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<ArcInner<Cell<u32>>> = SlabCache::new();
    let a = cache.alloc_arc(Cell::new(1));
    let b = SlabArc::clone(&a);
    std::thread::spawn(move || b.set(2));
    a.set(3);
}
