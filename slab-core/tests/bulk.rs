//! Bulk allocation and free (`alloc_bulk`, `try_alloc_bulk`, `free_bulk`, their `_mut`
//! forms on a handle, and `Boxed::new_bulk`/`try_new_bulk`/`free_bulk`): every value in
//! its box, all or nothing when the hook fails at any of its calls (the values come back
//! untouched, the buffer is unchanged, no block is kept), the books exact, destructors run
//! once even when one panics, and iterators whose `size_hint` is wrong or buffers that
//! panic lose nothing.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropCounter, Tracker, fail_at_every_hook_call, scaled};
use slab_core::{Boxed, SlabBox, SlabCache, SlabError, SpinLock, flush_thread_caches, slab_cached};

type Small = SlabCache<u64, SpinLock, 1024>;
type SmallBox = SlabBox<u64, Small>;

/// `stats().in_use` is `expect`, and the scanner agrees once magazine slots are counted.
#[track_caller]
fn check<T, L: slab_core::LockTrait, const S: usize>(c: &SlabCache<T, L, S>, expect: usize) {
    let s = c.stats();
    let r = c.scan().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.in_use, expect, "stats().in_use");
    assert_eq!(r.in_use_slots - r.parked - r.held, expect, "{r:?}");
    assert_eq!(r.in_use_slots + r.free_listed + r.never_used, s.capacity);
}

/// Runs `f`, which must panic, with the panic message silenced.
fn must_panic(f: impl FnOnce()) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    assert!(r.is_err(), "expected a panic");
}

#[test]
fn a_batch_through_self_is_the_values_in_order_and_goes_back_in_one_trip() {
    let t = Tracker::new();
    let cache = Small::new();
    let mut out: Vec<SmallBox> = vec![cache.alloc(99)];
    for round in 0..scaled(50) as u64 {
        let base = round * 1000;
        cache.alloc_bulk((0..16).map(|i| base + i), &mut out);
        assert_eq!(out.len(), 17);
        assert!(
            out[1..]
                .iter()
                .enumerate()
                .all(|(i, b)| **b == base + i as u64)
        );
        check(&cache, 17);
        cache.free_bulk(out.drain(1..));
        check(&cache, 1);
    }
    // Batches larger than a magazine, and than a slab, through the depot.
    let calls = cache.stats().hook_allocs;
    cache.alloc_bulk(0..1000, &mut out);
    assert!(
        cache.stats().hook_allocs > calls,
        "the batch grew the cache"
    );
    assert!(out[1..].iter().enumerate().all(|(i, b)| **b == i as u64));
    check(&cache, 1001);
    cache.free_bulk(out);
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn a_batch_through_a_handle_uses_its_magazine() {
    let t = Tracker::new();
    let mut cache = Small::new();
    let mut out = Vec::new();
    cache.try_alloc_bulk_mut([1, 2, 3], &mut out).unwrap();
    let r = cache.scan().unwrap();
    assert!(r.held > 0, "the handle refilled its magazine: {r:?}");
    for _ in 0..scaled(100) {
        cache.alloc_bulk_mut([7; 16], &mut out);
        assert!(out[3..].iter().all(|b| **b == 7));
        cache.free_bulk_mut(out.drain(3..));
        check(&cache, 3);
    }
    cache.alloc_bulk_mut(0..500, &mut out);
    check(&cache, 503);
    cache.free_bulk_mut(out);
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[slab_cached(size = 1024)]
#[derive(Debug, PartialEq)]
struct Shot(u64);

#[test]
fn a_batch_of_a_slab_cached_type() {
    let mut volley: Vec<Boxed<Shot>> = Vec::new();
    for round in 0..scaled(100) as u64 {
        Boxed::new_bulk((0..16).map(|i| Shot(round + i)), &mut volley);
        assert!(
            volley
                .iter()
                .enumerate()
                .all(|(i, b)| b.0 == round + i as u64)
        );
        assert_eq!(Shot::slab_cache().stats().in_use, 16);
        Boxed::free_bulk(volley.drain(..));
        assert_eq!(Shot::slab_cache().stats().in_use, 0);
    }
    Boxed::try_new_bulk((0..300).map(Shot), &mut volley).unwrap();
    assert_eq!(Shot::slab_cache().stats().in_use, 300);
    // Boxes freed one by one and in bulk mix.
    let odd: Vec<_> = volley.iter().skip(1).step_by(2).map(|b| b.0).collect();
    let mut kept = Vec::new();
    for b in volley.drain(..) {
        if b.0 % 2 == 0 {
            drop(b);
        } else {
            kept.push(b);
        }
    }
    assert_eq!(kept.iter().map(|b| b.0).collect::<Vec<_>>(), odd);
    Boxed::free_bulk(kept);
    let s = Shot::slab_cache().stats();
    assert_eq!(s.in_use, 0);
    let r = Shot::slab_cache().scan().unwrap();
    assert_eq!(r.in_use_slots, r.parked + r.held);
}

#[test]
fn a_failing_hook_at_any_call_allocates_nothing_and_hands_every_value_back() {
    let last = fail_at_every_hook_call(64, |t, k| {
        let drops = Arc::new(AtomicUsize::new(0));
        let cache: SlabCache<DropCounter, SpinLock, 1024> = SlabCache::new();
        let mut out = vec![cache.alloc(DropCounter(drops.clone(), 1000))];
        let mut h = cache.clone();
        common::fail_on_call(k);
        let mut failures = 0;
        // 300 values: several slabs' worth, so the batch grows the cache by many at once.
        let values: Vec<_> = (0..300).map(|i| DropCounter(drops.clone(), i)).collect();
        match cache.try_alloc_bulk(values, &mut out) {
            Ok(()) => assert_eq!(out.len(), 301),
            Err(e) => {
                failures += 1;
                assert_eq!(e.error(), SlabError::OutOfMemory);
                assert_eq!(out.len(), 1, "nothing appended");
                let back: Vec<_> = e.into_inner().collect();
                assert!(back.iter().enumerate().all(|(i, v)| v.1 == i as u64));
                assert_eq!(back.len(), 300, "every value back");
                assert_eq!(drops.load(Ordering::SeqCst), 0, "none dropped");
                check(&cache, 1);
            }
        }
        // The handle's form too, when the first one went through.
        if failures == 0 {
            let values: Vec<_> = (0..300).map(|i| DropCounter(drops.clone(), i)).collect();
            let mut mine = Vec::new();
            if let Err(e) = h.try_alloc_bulk_mut(values, &mut mine) {
                failures += 1;
                assert!(mine.is_empty());
                assert_eq!(e.into_inner().len(), 300);
            }
            h.free_bulk_mut(mine);
        }
        common::no_failures();
        let n = out.len();
        cache.free_bulk(out);
        check(&cache, 0);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            n + if failures == 0 { 300 } else { 300 * failures },
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
    struct Tiny(u32);
    let mut out: Vec<Boxed<Tiny>> = Vec::new();
    let before = Tiny::slab_cache().stats();
    common::fail_on_call(1);
    let e = Boxed::try_new_bulk((0..200).map(Tiny), &mut out).unwrap_err();
    common::no_failures();
    assert!(out.is_empty());
    assert!(e.into_inner().enumerate().all(|(i, v)| v.0 == i as u32));
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
    drop((a, b));
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
    let mut boxes = Vec::new();
    cache.alloc_bulk((0..20).map(|i| Grenade(i, drops.clone())), &mut boxes);
    must_panic(|| cache.free_bulk(boxes));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        20,
        "every destructor ran once"
    );
    check(&cache, 0);
    let mut h = cache.clone();
    let mut boxes = Vec::new();
    h.alloc_bulk_mut((0..20).map(|i| Grenade(i, drops.clone())), &mut boxes);
    must_panic(|| h.free_bulk_mut(boxes));
    assert_eq!(drops.load(Ordering::SeqCst), 40);
    check(&cache, 0);
    drop((cache, h));
    assert_eq!(t.live_blocks(), 0);
}

/// An iterator whose `size_hint` is wrong (yields `n`, claims exactly `claim`).
struct Liar {
    next: u64,
    n: u64,
    claim: usize,
}

impl Iterator for Liar {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        (self.next < self.n).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.claim.saturating_sub(self.next as usize);
        (left, Some(left))
    }
}

#[test]
fn an_iterator_with_a_wrong_size_hint_loses_no_value_and_no_slot() {
    let t = Tracker::new();
    let cache = Small::new();
    let mut out = Vec::new();
    // Claims 10, yields 25: the rest are allocated one by one.
    cache.alloc_bulk(
        Liar {
            next: 0,
            n: 25,
            claim: 10,
        },
        &mut out,
    );
    assert_eq!(
        out.iter().map(|b| **b).collect::<Vec<_>>(),
        (0..25).collect::<Vec<_>>()
    );
    // Claims 40, yields 5: the unused slots go back.
    cache.alloc_bulk(
        Liar {
            next: 0,
            n: 5,
            claim: 40,
        },
        &mut out,
    );
    assert_eq!(out.len(), 30);
    check(&cache, 30);
    cache.free_bulk(out);
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

/// A buffer that panics on its `k`-th element.
struct Brittle {
    kept: Vec<SmallBox>,
    k: usize,
}

impl Extend<SmallBox> for Brittle {
    fn extend<I: IntoIterator<Item = SmallBox>>(&mut self, iter: I) {
        for b in iter {
            assert!(self.kept.len() + 1 < self.k, "planted panic in Extend");
            self.kept.push(b);
        }
    }
}

#[test]
fn a_buffer_that_panics_midway_loses_no_slot() {
    let t = Tracker::new();
    let cache = Small::new();
    let mut out = Brittle {
        kept: Vec::new(),
        k: 6,
    };
    must_panic(|| cache.alloc_bulk(0..16, &mut out));
    assert_eq!(out.kept.len(), 5, "what was appended stays");
    check(&cache, 5);
    cache.free_bulk(out.kept);
    check(&cache, 0);
    // An empty batch takes nothing.
    let mut none: Vec<SmallBox> = Vec::new();
    cache.alloc_bulk(std::iter::empty(), &mut none);
    cache.free_bulk(none);
    check(&cache, 0);
    drop(cache);
    flush_thread_caches();
    assert_eq!(t.live_blocks(), 0);
}
