//! A program whose caches all take their slabs from `Global` (or sources of their own)
//! links and runs without any `slab_hooks!`: the hook symbols are referenced only from
//! `Hooks`, which no cache here uses.
use slab_core::{Capped, Global, SlabCache, SpinLock, slab_cached};

#[slab_cached(source = Global)]
struct Node {
    id: u32,
}

static BUDGET: Capped<Global> = Capped::new(Global, 1 << 20);

fn main() {
    let n = Node::new_boxed(Node { id: 1 });
    let cache: SlabCache<String, SpinLock, 4096, Global> = SlabCache::new();
    let capped: SlabCache<u64, SpinLock, 4096, &'static Capped<Global>> =
        SlabCache::with_source(&BUDGET);
    let s = cache.alloc("two".to_string());
    let x = capped.alloc(3);
    assert_eq!((n.id, s.as_str(), *x), (1, "two", 3));
    assert_eq!(BUDGET.used(), 4096);
    drop(x);
    drop(capped);
    assert_eq!(BUDGET.used(), 0);
}
