//! `SlabWeak<T>` is `Send` only when `T: Send + Sync`: it upgrades to a `SlabArc` there.
use std::cell::Cell;

use slab_core::{ArcInner, SlabArc, SlabCache};
slab_core::slab_hooks!(global);

fn main() {
    let cache: SlabCache<ArcInner<Cell<u32>>> = SlabCache::new();
    let a = cache.alloc_arc(Cell::new(1));
    let w = SlabArc::downgrade(&a);
    std::thread::spawn(move || w.upgrade().map(|a| a.set(2)));
}
