//! `SlabStats::peak` against the `in_use` that `stats()` reports, on every allocation
//! path: a `#[slab_cached]` type (per-thread magazines), a handle's `&mut self` magazines,
//! and the locked path. `peak` may miss objects that came and went between two depot
//! operations, but it is never below an `in_use` that a `stats()` call has reported.

use std::sync::mpsc;

use slab_core::{SlabCache, SpinLock, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached(size = 4096)]
struct Shot([u64; 4]);

/// Checks `peak >= in_use` for this call, and `peak >= every in_use reported before`.
#[track_caller]
fn check(stats: slab_core::SlabStats, highest_reported: &mut usize) {
    *highest_reported = (*highest_reported).max(stats.in_use);
    assert!(
        stats.peak >= *highest_reported,
        "peak {} is below an in_use of {} that stats() reported ({stats:?})",
        stats.peak,
        *highest_reported
    );
}

#[test]
fn peak_is_never_below_an_in_use_that_stats_reported_thread_magazines() {
    let mut highest = 0;
    let mut live = Vec::new();
    // Fewer objects than a magazine holds: every one comes from this thread's magazine,
    // with no depot operation after the first refill.
    for i in 0..5 {
        live.push(Shot::new_boxed(Shot([i; 4])));
        let s = Shot::slab_cache().stats();
        assert_eq!(s.in_use, live.len());
        check(s, &mut highest);
    }
    assert_eq!(live[4].0, [4; 4]);
    // Freed on another thread, into that thread's magazine.
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || drop(rx.recv().unwrap()));
    tx.send(live).unwrap();
    worker.join().unwrap();
    let s = Shot::slab_cache().stats();
    assert_eq!(s.in_use, 0);
    check(s, &mut highest);
    assert_eq!(
        s.peak, 5,
        "five boxes were live at once, and stats() saw them"
    );
}

#[test]
fn peak_is_never_below_an_in_use_that_stats_reported_handle_magazines() {
    let mut cache: SlabCache<[u64; 4], SpinLock, 4096> = SlabCache::new();
    let mut highest = 0;
    let mut live = Vec::new();
    for i in 0..5 {
        live.push(cache.alloc_mut([i; 4]));
        check(cache.stats(), &mut highest);
    }
    for b in live.drain(..) {
        cache.free(b);
        check(cache.stats(), &mut highest);
    }
    assert_eq!(cache.stats().peak, 5);
}

#[test]
fn peak_is_never_below_an_in_use_that_stats_reported_shared_magazines() {
    // `alloc(&self)` and dropping a box: this thread's magazines of a runtime cache.
    let cache: SlabCache<[u64; 4], SpinLock, 4096> = SlabCache::new();
    let mut highest = 0;
    let mut live = Vec::new();
    for i in 0..300 {
        live.push(cache.alloc([i; 4]));
        if i % 7 == 0 {
            check(cache.stats(), &mut highest);
        }
    }
    check(cache.stats(), &mut highest);
    assert_eq!(cache.stats().peak, 300, "stats() saw all 300");
    while let Some(b) = live.pop() {
        drop(b);
        check(cache.stats(), &mut highest);
    }
    assert_eq!(cache.stats().in_use, 0);
}

#[test]
fn peak_is_exact_on_the_locked_path() {
    // A handle that finds no free magazine counter allocates through the lock, where every
    // allocation updates the peak.
    let cache: SlabCache<[u64; 4], SpinLock, 4096> = SlabCache::new();
    let mut handles: Vec<_> = (0..9).map(|_| cache.clone()).collect();
    for h in &mut handles[..8] {
        let b = h.alloc_mut([0; 4]);
        h.free(b);
    }
    let ninth = &mut handles[8];
    let live: Vec<_> = (0..300).map(|i| ninth.alloc_mut([i; 4])).collect();
    for b in live {
        ninth.free(b);
    }
    // No `stats()` call while they were live.
    let s = cache.stats();
    assert_eq!((s.in_use, s.peak), (0, 300));
}
