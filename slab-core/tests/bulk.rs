//! Bulk allocation and free (`alloc_bulk`, `try_alloc_bulk`, `free_bulk`, their `_mut`
//! forms on a handle, and `Boxed::new_bulk`/`try_new_bulk`/`free_bulk`): every value in
//! its box, in order; all or nothing when the hook fails at any of its calls (the values
//! come back untouched, no block is kept); the books exact; destructors run once even
//! when one panics in a bulk free; boxes of another cache go home. The `_with` forms
//! (`alloc_bulk_with`, `alloc_bulk_mut_with`, `Boxed::new_bulk_with`, their `try_`s) build
//! each value in its slot, call the builder in order, drop what it made if it panics and
//! lose no slot, let it allocate from the cache it fills, and never call it on failure.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{
    DropCounter, Tracker, check_books as check, fail_at_every_hook_call, must_panic, scaled,
};
use slab_core::{Boxed, SlabCache, SlabError, SpinLock, slab_cached};

type Small = SlabCache<u64, SpinLock, 1024>;

#[test]
fn a_batch_through_self_is_the_values_in_order_and_goes_back_in_one_trip() {
    let t = Tracker::new();
    let cache = Small::new();
    let one = cache.alloc(99);
    for round in 0..scaled(50) as u64 {
        let base = round * 1000;
        let batch = cache.alloc_bulk(std::array::from_fn::<_, 16, _>(|i| base + i as u64));
        assert!(
            batch
                .iter()
                .enumerate()
                .all(|(i, b)| **b == base + i as u64)
        );
        check(&cache, 17);
        cache.free_bulk(batch);
        check(&cache, 1);
    }
    // Batches larger than a magazine, and than a slab, through the depot.
    let calls = cache.stats().hook_allocs;
    let big = cache.alloc_bulk(std::array::from_fn::<_, 500, _>(|i| i as u64));
    assert!(
        cache.stats().hook_allocs > calls,
        "the batch grew the cache"
    );
    assert!(big.iter().enumerate().all(|(i, b)| **b == i as u64));
    check(&cache, 501);
    // A `Vec` of boxes, and an empty batch.
    let mut all: Vec<_> = big.into_iter().collect();
    all.push(one);
    cache.free_bulk(all);
    let none: [_; 0] = cache.alloc_bulk([]);
    cache.free_bulk(none);
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn a_batch_through_a_handle_uses_its_magazine() {
    let t = Tracker::new();
    let mut cache = Small::new();
    // One value: a batch smaller than a magazine in every build (2 slots under
    // `slab_small`), so the refill that readied it leaves spares there.
    let first = cache.try_alloc_bulk_mut([1]).unwrap();
    let r = cache.scan().unwrap();
    assert!(r.held > 0, "the handle readied its magazine: {r:?}");
    for _ in 0..scaled(100) {
        let batch = cache.alloc_bulk_mut([7; 16]);
        assert!(batch.iter().all(|b| **b == 7));
        cache.free_bulk_mut(batch);
        check(&cache, 1);
    }
    let big = cache.alloc_bulk_mut([5; 300]);
    check(&cache, 301);
    cache.free_bulk_mut(big);
    cache.free_bulk_mut(first);
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[slab_cached(size = 1024)]
#[derive(Debug, PartialEq)]
struct Shot(u64);

#[test]
fn a_batch_of_a_slab_cached_type() {
    for round in 0..scaled(100) as u64 {
        let volley: [Boxed<Shot>; 16] =
            Boxed::new_bulk(std::array::from_fn(|i| Shot(round + i as u64)));
        assert!(
            volley
                .iter()
                .enumerate()
                .all(|(i, b)| b.0 == round + i as u64)
        );
        assert_eq!(Shot::slab_cache().stats().in_use, 16);
        Boxed::free_bulk(volley);
        assert_eq!(Shot::slab_cache().stats().in_use, 0);
    }
    let volley: [Boxed<Shot>; 300] =
        Boxed::try_new_bulk(std::array::from_fn(|i| Shot(i as u64))).unwrap();
    assert_eq!(Shot::slab_cache().stats().in_use, 300);
    // Boxes freed one by one and in bulk mix.
    let mut kept = Vec::new();
    for b in volley {
        if b.0 % 2 == 0 {
            drop(b);
        } else {
            kept.push(b);
        }
    }
    assert!(
        kept.iter()
            .enumerate()
            .all(|(i, b)| b.0 == 2 * i as u64 + 1)
    );
    Boxed::free_bulk(kept);
    assert_eq!(Shot::slab_cache().stats().in_use, 0);
    let r = Shot::slab_cache().scan().unwrap();
    assert_eq!(r.in_use_slots, r.parked + r.held);
}

#[test]
fn a_failing_hook_at_any_call_allocates_nothing_and_hands_every_value_back() {
    let last = fail_at_every_hook_call(64, |t, k| {
        let drops = Arc::new(AtomicUsize::new(0));
        let cache: SlabCache<DropCounter, SpinLock, 1024> = SlabCache::new();
        let one = cache.alloc(DropCounter(drops.clone(), 1000));
        let mut h = cache.clone();
        common::fail_on_call(k);
        let mut failures = 0;
        let mut first_failed = false;
        let mut kept = Vec::new();
        // BIG values: several slabs' worth, so the batch grows the cache by many at once.
        let values: [DropCounter; BIG] =
            std::array::from_fn(|i| DropCounter(drops.clone(), i as u64));
        match cache.try_alloc_bulk(values) {
            Ok(boxes) => kept.extend(boxes),
            Err(e) => {
                failures += 1;
                first_failed = true;
                assert_eq!(e.error(), SlabError::OutOfMemory);
                let back = e.into_inner();
                assert!(
                    back.iter().enumerate().all(|(i, v)| v.1 == i as u64),
                    "every value back, in order"
                );
                assert_eq!(drops.load(Ordering::SeqCst), 0, "none dropped");
                check(&cache, 1);
            }
        }
        // The handle's form too, when the first one went through.
        if failures == 0 {
            let values: [DropCounter; BIG] =
                std::array::from_fn(|i| DropCounter(drops.clone(), i as u64));
            match h.try_alloc_bulk_mut(values) {
                Ok(boxes) => h.free_bulk_mut(boxes),
                Err(e) => {
                    failures += 1;
                    assert_eq!(e.into_inner().len(), BIG);
                    check(&cache, 1 + BIG);
                }
            }
        }
        common::no_failures();
        kept.push(one);
        cache.free_bulk(kept);
        check(&cache, 0);
        // `one`, the first batch (kept or handed back), and the handle's batch if it ran.
        let expected = if first_failed { 1 + BIG } else { 1 + BIG + BIG };
        assert_eq!(
            drops.load(Ordering::SeqCst),
            expected,
            "every value dropped once"
        );
        drop((cache, h));
        assert_eq!(t.live_blocks(), 0);
        failures
    });
    assert!(last.is_some(), "the scenario ran out of hook calls to fail");
}

#[test]
fn a_failing_hook_hands_a_slab_cached_batch_back() {
    #[slab_cached(size = 512)]
    #[derive(Debug)]
    struct Tiny(u32);
    let before = Tiny::slab_cache().stats();
    common::fail_on_call(1);
    let e = Boxed::try_new_bulk(std::array::from_fn::<_, 200, _>(|i| Tiny(i as u32))).unwrap_err();
    common::no_failures();
    assert!(
        e.into_inner()
            .iter()
            .enumerate()
            .all(|(i, v)| v.0 == i as u32)
    );
    let after = Tiny::slab_cache().stats();
    assert_eq!((after.in_use, after.slabs), (before.in_use, before.slabs));
}

#[test]
fn free_bulk_sends_boxes_of_another_cache_home() {
    let t = Tracker::new();
    let a = Small::new();
    let b = Small::new();
    let mut boxes = Vec::new();
    for i in 0..100 {
        boxes.push(if i % 3 == 0 { b.alloc(i) } else { a.alloc(i) });
    }
    a.free_bulk(boxes);
    check(&a, 0);
    check(&b, 0);
    let mut h = a.clone();
    let mixed = [a.alloc(1), b.alloc(2), h.alloc_mut(3)];
    h.free_bulk_mut(mixed);
    check(&a, 0);
    check(&b, 0);
    drop((a, b, h));
    assert_eq!(t.live_blocks(), 0);
}

/// Panics when its value is `PANIC_AT`.
struct Grenade(u64, Arc<AtomicUsize>);

const PANIC_AT: u64 = 7;

impl Drop for Grenade {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
        if self.0 == PANIC_AT {
            panic!("planted panic in a destructor");
        }
    }
}

#[test]
fn a_panicking_destructor_in_a_bulk_free_loses_no_slot() {
    let t = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cache: SlabCache<Grenade, SpinLock, 1024> = SlabCache::new();
    let boxes = cache.alloc_bulk(std::array::from_fn::<_, 20, _>(|i| {
        Grenade(i as u64, drops.clone())
    }));
    must_panic(|| cache.free_bulk(boxes));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        20,
        "every destructor ran once"
    );
    check(&cache, 0);
    let mut h = cache.clone();
    let boxes = h.alloc_bulk_mut(std::array::from_fn::<_, 20, _>(|i| {
        Grenade(i as u64, drops.clone())
    }));
    must_panic(|| h.free_bulk_mut(boxes));
    assert_eq!(drops.load(Ordering::SeqCst), 40);
    check(&cache, 0);
    drop((cache, h));
    assert_eq!(t.live_blocks(), 0);
}

// ---------------------------------------------------------------------------------------
// The `_with` forms: each value built by `make(k)` straight into its slot. Each test has a
// `#[slab_cached]` type of its own: tests run on parallel threads, and a type's stats are
// global.

/// A batch larger than a slab of `Small` (several hook calls), smaller under Miri.
const BIG: usize = if cfg!(miri) { 160 } else { 300 };

#[slab_cached(size = 1024)]
struct Built(u64);

#[slab_cached(size = 1024)]
struct Nested(u64);

#[test]
fn a_batch_built_by_a_function_is_its_values_in_order_through_every_holder() {
    let t = Tracker::new();
    let calls = std::cell::Cell::new(0usize);
    let make = |base: u64| {
        let calls = &calls;
        move |k: usize| {
            assert_eq!(k, calls.get() % 16, "called in order, once per slot");
            calls.set(calls.get() + 1);
            base + k as u64
        }
    };
    let mut cache = Small::new();
    for round in 0..scaled(50) as u64 {
        let batch = cache.alloc_bulk_with::<16>(make(round * 100));
        assert!(
            batch
                .iter()
                .enumerate()
                .all(|(i, b)| **b == round * 100 + i as u64)
        );
        check(&cache, 16);
        cache.free_bulk(batch);
        let batch = cache.alloc_bulk_mut_with::<16>(make(round * 100 + 50));
        assert!(
            batch
                .iter()
                .enumerate()
                .all(|(i, b)| **b == round * 100 + 50 + i as u64)
        );
        check(&cache, 16);
        cache.free_bulk_mut(batch);
        check(&cache, 0);
    }
    assert_eq!(calls.get(), 32 * scaled(50));
    // Larger than a magazine and than a slab: through the depot, growing the cache.
    let big = cache.try_alloc_bulk_with::<BIG>(|k| k as u64).unwrap();
    assert!(big.iter().enumerate().all(|(i, b)| **b == i as u64));
    let big2 = cache
        .try_alloc_bulk_mut_with::<BIG>(|k| k as u64 + 1)
        .unwrap();
    check(&cache, 2 * BIG);
    cache.free_bulk(big);
    cache.free_bulk_mut(big2);
    let none: [_; 0] = cache.alloc_bulk_with(|_| unreachable!("no slot, no call"));
    cache.free_bulk(none);
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);

    for round in 0..scaled(50) as u64 {
        let volley: [Boxed<Built>; 16] = Boxed::new_bulk_with(|k| Built(round + k as u64));
        assert!(
            volley
                .iter()
                .enumerate()
                .all(|(i, b)| b.0 == round + i as u64)
        );
        assert_eq!(Built::slab_cache().stats().in_use, 16);
        Boxed::free_bulk(volley);
    }
    let volley: [Boxed<Built>; BIG] = Boxed::try_new_bulk_with(|k| Built(k as u64)).unwrap();
    assert!(volley.iter().enumerate().all(|(i, b)| b.0 == i as u64));
    Boxed::free_bulk(volley);
    assert_eq!(Built::slab_cache().stats().in_use, 0);
}

#[test]
fn a_panicking_builder_drops_what_it_made_and_loses_no_slot() {
    let t = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut cache: SlabCache<DropCounter, SpinLock, 1024> = SlabCache::new();
    // A panic at the first value, in the middle, at the last; a batch within a magazine
    // and one larger than a slab.
    for at in [0, 5, 15] {
        let before = drops.load(Ordering::SeqCst);
        let build = |k: usize| {
            assert!(k != at, "planted panic in a builder");
            DropCounter(drops.clone(), k as u64)
        };
        must_panic(|| drop(cache.alloc_bulk_with::<16>(build)));
        assert_eq!(
            drops.load(Ordering::SeqCst) - before,
            at,
            "the {at} made, dropped once"
        );
        check(&cache, 0);
        must_panic(|| drop(cache.clone().alloc_bulk_mut_with::<16>(build)));
        assert_eq!(drops.load(Ordering::SeqCst) - before, 2 * at);
        check(&cache, 0);
        let mut h = cache.clone();
        must_panic(|| drop(h.alloc_bulk_mut_with::<16>(build)));
        assert_eq!(drops.load(Ordering::SeqCst) - before, 3 * at);
        check(&cache, 0);
        must_panic(|| {
            drop(cache.alloc_bulk_with::<BIG>(|k| {
                assert!(k != at * 10, "planted panic in a builder");
                DropCounter(drops.clone(), k as u64)
            }))
        });
        assert_eq!(drops.load(Ordering::SeqCst) - before, 3 * at + 10 * at);
        check(&cache, 0);
        // The cache still works, and hands out every slot it has.
        let b = cache.alloc_bulk_mut_with::<40>(|k| DropCounter(drops.clone(), k as u64));
        cache.free_bulk_mut(b);
        check(&cache, 0);
    }
    cache.shrink();
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn a_builder_may_allocate_from_the_cache_it_fills() {
    let t = Tracker::new();
    let cache = Small::new();
    let mut inner = Vec::new();
    for round in 0..scaled(20) as u64 {
        // Every call of the builder takes a slot of the same cache through the same
        // thread's magazine that lent the batch.
        let batch = cache.alloc_bulk_with::<16>(|k| {
            inner.push(cache.alloc(round * 1000 + k as u64));
            k as u64
        });
        assert!(batch.iter().enumerate().all(|(i, b)| **b == i as u64));
        check(&cache, 16 * (round as usize + 1) + 16);
        cache.free_bulk(batch);
    }
    let mut seen: Vec<u64> = inner.iter().map(|b| **b).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen.len(),
        16 * scaled(20),
        "every inner box is its own slot"
    );
    cache.free_bulk(inner);
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);

    let mut inner = Vec::new();
    let volley: [Boxed<Nested>; 16] = Boxed::new_bulk_with(|k| {
        inner.push(Nested::new_boxed(Nested(100 + k as u64)));
        Nested(k as u64)
    });
    assert!(volley.iter().enumerate().all(|(i, b)| b.0 == i as u64));
    assert!(inner.iter().enumerate().all(|(i, b)| b.0 == 100 + i as u64));
    assert_eq!(Nested::slab_cache().stats().in_use, 32);
    Boxed::free_bulk(volley);
    Boxed::free_bulk(inner);
    assert_eq!(Nested::slab_cache().stats().in_use, 0);
}

#[test]
fn a_failing_hook_calls_no_builder_and_keeps_nothing() {
    let last = fail_at_every_hook_call(64, |t, k| {
        let cache: SlabCache<u64, SpinLock, 1024> = SlabCache::new();
        let one = cache.alloc(1);
        let mut h = cache.clone();
        let called = std::cell::Cell::new(0);
        let make = |k: usize| {
            called.set(called.get() + 1);
            k as u64
        };
        common::fail_on_call(k);
        let mut failures = 0;
        match cache.try_alloc_bulk_with::<BIG>(make) {
            Ok(b) => cache.free_bulk(b),
            Err(e) => {
                failures += 1;
                assert_eq!(e, SlabError::OutOfMemory);
                assert_eq!(called.get(), 0, "no builder call without the slots");
                check(&cache, 1);
            }
        }
        if failures == 0 {
            called.set(0);
            match h.try_alloc_bulk_mut_with::<BIG>(make) {
                Ok(b) => h.free_bulk_mut(b),
                Err(_) => {
                    failures += 1;
                    assert_eq!(called.get(), 0);
                    check(&cache, 1);
                }
            }
        }
        common::no_failures();
        drop(one);
        check(&cache, 0);
        drop((cache, h));
        assert_eq!(t.live_blocks(), 0);
        failures
    });
    assert!(last.is_some(), "the scenario ran out of hook calls to fail");
}
