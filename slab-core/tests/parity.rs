//! `Box` parity: `Clone` gives a box in a new slot of the same cache (not the bare value),
//! `try_clone` reports a failed allocation, a panicking `clone` returns its slot, and
//! `Default`, `Boxed::pin` and `T::pin_boxed` work for `#[slab_cached]` types. The values
//! carry padding (`Padded`), so Miri checks that no byte of it is read.

mod common;

use std::marker::PhantomPinned;
use std::panic::{AssertUnwindSafe, catch_unwind};

use common::Tracker;
use slab_core::{Boxed, SlabBox, SlabCache, SlabError, SpinLock, slab_cached};

/// Padding at bytes 1..8 (`repr(C)`).
#[repr(C)]
#[derive(Clone, Debug, Default, PartialEq)]
struct Padded {
    flag: u8,
    value: u64,
    name: String,
}

fn padded(n: u64) -> Padded {
    Padded {
        flag: 1,
        value: n,
        name: format!("#{n}"),
    }
}

#[slab_cached]
#[derive(Clone, Debug, Default, PartialEq)]
struct Npc(Padded);

#[test]
fn clone_of_a_typed_box_is_a_box_in_a_new_slot_of_the_same_cache() {
    let a = Npc::new_boxed(Npc(padded(1)));
    let b: Boxed<Npc> = a.clone();
    assert_eq!(a, b);
    assert_ne!(SlabBox::as_ptr(&a), SlabBox::as_ptr(&b));
    assert_eq!(Npc::slab_cache().stats().in_use, 2);
    let c = SlabBox::try_clone(&b).unwrap();
    drop((a, b));
    assert_eq!(c.0.name, "#1");
    drop(c);
    assert_eq!(Npc::slab_cache().stats().in_use, 0);
}

#[test]
fn clone_of_a_runtime_box_takes_its_slot_from_the_box_s_own_cache() {
    let t = Tracker::new();
    let one: SlabCache<Padded> = SlabCache::new();
    let other: SlabCache<Padded> = SlabCache::new();
    let a = one.alloc(padded(2));
    let _b = other.alloc(padded(3));
    let c = a.clone();
    assert_eq!((one.stats().in_use, other.stats().in_use), (2, 1));
    // Boxes outlive every handle; a clone still finds the cache through the slab header.
    drop(one);
    let d = c.clone();
    assert_eq!(*d, padded(2));
    drop((a, c, d, _b, other));
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn try_clone_reports_a_failed_allocation_and_clones_nothing() {
    let t = Tracker::new();
    let cache: SlabCache<[u64; 100], SpinLock, 4096> = SlabCache::new();
    let first = cache.alloc([7; 100]);
    let capacity = cache.stats().capacity;
    let rest: Vec<_> = (1..capacity).map(|_| cache.alloc([0; 100])).collect();
    common::fail_on_call(1);
    assert_eq!(
        SlabBox::try_clone(&first).map(drop),
        Err(SlabError::OutOfMemory)
    );
    common::no_failures();
    assert_eq!(cache.stats().in_use, capacity);
    let copy = SlabBox::try_clone(&first).unwrap();
    assert_eq!(copy[99], 7);
    drop((first, rest, copy, cache));
    assert_eq!(t.live_blocks(), 0);
}

/// Panics in `clone`.
#[derive(Debug)]
struct BadClone(u32);
impl Clone for BadClone {
    fn clone(&self) -> Self {
        panic!("no clone for {}", self.0)
    }
}

#[test]
fn a_panicking_clone_gives_its_new_slot_back() {
    let cache: SlabCache<BadClone> = SlabCache::new();
    let a = cache.alloc(BadClone(1));
    let r = catch_unwind(AssertUnwindSafe(|| a.clone()));
    assert!(r.is_err());
    assert_eq!(cache.stats().in_use, 1);
    drop(a);
    assert_eq!(cache.stats().in_use, 0);
}

#[slab_cached]
#[derive(Default)]
struct Score {
    points: u64,
    tag: u8,
}

#[test]
fn default_boxes_come_from_the_type_s_cache() {
    let s: Boxed<Score> = Boxed::default();
    assert_eq!((s.points, s.tag), (0, 0));
    assert_eq!(Score::slab_cache().stats().in_use, 1);
}

#[slab_cached]
struct Node {
    value: Padded,
    _pin: PhantomPinned,
}

#[test]
fn pinned_boxes_stay_in_their_slot() {
    let a = Boxed::pin(Node {
        value: padded(4),
        _pin: PhantomPinned,
    });
    let b = Node::pin_boxed(Node {
        value: padded(5),
        _pin: PhantomPinned,
    });
    assert_eq!(a.value.value + b.value.value, 9);
    assert_eq!(Node::slab_cache().stats().in_use, 2);
    drop((a, b));
    assert_eq!(Node::slab_cache().stats().in_use, 0);
}
