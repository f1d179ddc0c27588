//! Allocation failure injected at every hook call in turn (k = 1, 2, ...), and at random
//! across threads: each failure is a clean error that hands the value back, nothing
//! leaks, nothing deadlocks (a watchdog), and the cache works afterwards.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{Tracker, TrackerId, scaled};
use slab_core::{SlabCache, SlabError, SpinLock};

/// Runs `f` on a thread and fails the test if it does not finish in time.
fn watchdog<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || tx.send(f()).unwrap());
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(r) => {
            h.join().unwrap();
            r
        }
        Err(_) => panic!("scenario deadlocked (no result within 60 s)"),
    }
}

/// A scenario that grows a cache, frees half, reserves, shrinks and clones. Returns the
/// number of injected failures it observed; every failure must hand the value back.
fn scenario(id: TrackerId, fail_at: usize) -> usize {
    id.enter();
    common::fail_on_call(fail_at);
    let mut failures = 0;
    let cache: SlabCache<(u64, String), SpinLock, 1024> = SlabCache::new();
    let mut boxes = Vec::new();
    for i in 0..scaled(300) as u64 {
        match cache.try_alloc((i, i.to_string())) {
            Ok(b) => boxes.push(b),
            Err(e) => {
                common::assert_value_back(e, (i, i.to_string()));
                failures += 1;
            }
        }
    }
    boxes.retain(|b| b.0 % 2 == 0);
    if cache.reserve(200).is_err() {
        failures += 1;
    }
    cache.shrink();
    let clone = cache.clone();
    if let Err(e) = clone.try_alloc_uninit() {
        assert_eq!(e, SlabError::OutOfMemory);
        failures += 1;
    }
    for b in &boxes {
        assert_eq!(b.1, b.0.to_string());
    }
    // The cache is usable after every failure.
    common::no_failures();
    boxes.push(cache.alloc((u64::MAX, "after".into())));
    assert_eq!(cache.stats().in_use, boxes.len());
    failures
}

#[test]
fn a_failure_at_every_hook_call_is_clean_and_leaks_nothing() {
    let k = common::fail_at_every_hook_call(usize::MAX, |t, k| {
        let id = t.id();
        watchdog(move || scenario(id, k))
    })
    .expect("the scenario makes finitely many hook calls");
    assert!(k > 5, "the scenario calls the hook several times ({k})");
}

#[test]
fn random_failures_on_many_threads_keep_the_books_balanced() {
    for seed in 1..=scaled(8) as u64 {
        let t = Tracker::new();
        let id = t.id();
        watchdog(move || {
            id.enter();
            let cache: SlabCache<[u64; 16], SpinLock, 1024> = SlabCache::new();
            std::thread::scope(|s| {
                for th in 0..4u64 {
                    let c = cache.clone();
                    s.spawn(move || {
                        id.enter();
                        common::fail_randomly(seed * 31 + th, 3);
                        let mut kept = Vec::new();
                        for i in 0..scaled(2000) as u64 {
                            match c.try_alloc([i ^ th; 16]) {
                                Ok(b) => kept.push(b),
                                Err(e) => assert_eq!(e.into_inner(), [i ^ th; 16]),
                            }
                            if i % 3 == 0 {
                                kept.pop();
                            }
                            if i % 500 == 0 {
                                let _ = c.reserve(50);
                                c.shrink();
                            }
                        }
                        common::no_failures();
                        assert!(kept.iter().all(|b| b.iter().all(|&x| x == b[0])));
                    });
                }
            });
            assert_eq!(cache.stats().in_use, 0);
        });
        assert_eq!(t.live_blocks(), 0, "seed {seed}");
    }
}
