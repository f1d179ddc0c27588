//! A runtime cache used through `&self` (a `static`, or one shared by reference or `Arc`):
//! `alloc` and the drops of its boxes go through the calling thread's magazines of the
//! cache (I23 of `IMPLEMENTATION.md`). `stats()` stays exact while slots sit there, a
//! thread's magazines keep a dropped cache alive until that thread gives them back (when
//! it exits, drops a handle, evicts the entry or calls `flush_thread_caches`), every hook
//! block comes back, and hooks that re-enter the table, panicking hooks, and boxes dropped
//! while the thread is ending all keep the books.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};

use common::{DropCounter, Tracker, check_books as check, scaled};
use slab_core::{SlabBox, SlabCache, SpinLock, flush_thread_caches};

type Small = SlabCache<u64, SpinLock, 1024>;

#[test]
fn a_static_cache_keeps_its_slots_in_this_threads_magazine() {
    static POOL: SlabCache<[u64; 4], SpinLock, 4096> = SlabCache::new();
    // 49 boxes: fewer than one slab holds and an odd number, so in every build (magazines
    // of 2 under `slab_small`) the last refill leaves spares.
    let boxes: Vec<_> = (0..49).map(|i| POOL.alloc([i; 4])).collect();
    check(&POOL, 49);
    let r = POOL.scan().unwrap();
    assert!(
        r.held > 0,
        "the last refill's spare slots sit in the magazine: {r:?}"
    );
    assert!(boxes.iter().enumerate().all(|(i, b)| **b == [i as u64; 4]));
    drop(boxes);
    check(&POOL, 0);
    let calls = POOL.stats().hook_allocs;
    // LIFO: the last box freed is the next one handed out, without the lock or the hook.
    let a = POOL.alloc([7; 4]);
    let pa = SlabBox::as_ptr(&a);
    drop(a);
    assert_eq!(SlabBox::as_ptr(&POOL.alloc([8; 4])), pa);
    assert_eq!(POOL.stats().hook_allocs, calls);
    flush_thread_caches();
    let r = POOL.scan().unwrap();
    assert_eq!(r.held, 0, "flushed: {r:?}");
}

#[test]
fn a_cache_made_used_and_dropped_on_one_thread_returns_every_block() {
    let t = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cache: SlabCache<DropCounter, SpinLock, 1024> = SlabCache::new();
    let boxes: Vec<_> = (0..scaled(500) as u64)
        .map(|i| cache.alloc(DropCounter(drops.clone(), i)))
        .collect();
    drop(boxes);
    check(&cache, 0);
    assert!(t.live_blocks() > 0);
    drop(cache);
    assert_eq!(
        t.live_blocks(),
        0,
        "the last handle took this thread's magazines back"
    );
    assert_eq!(drops.load(Ordering::SeqCst), scaled(500));
}

#[test]
fn boxes_that_outlive_the_cache_go_home_and_the_last_one_releases_it() {
    let t = Tracker::new();
    let cache = Small::new();
    let boxes: Vec<_> = (0..300).map(|i| cache.alloc(i)).collect();
    drop(cache);
    assert!(t.live_blocks() > 0, "the boxes keep the cache");
    let mut boxes = boxes;
    let last = boxes.pop().unwrap();
    drop(boxes);
    assert!(t.live_blocks() > 0);
    assert_eq!(*last, 299);
    drop(last);
    assert_eq!(t.live_blocks(), 0, "the last box returned every slab");
}

#[test]
fn another_threads_magazine_keeps_a_dropped_cache_until_that_thread_exits() {
    let t = Tracker::new();
    let id = t.id();
    let cache = Arc::new(Small::new());
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let used = Arc::new(Barrier::new(2));
    let worker = {
        let cache = Arc::clone(&cache);
        let used = Arc::clone(&used);
        std::thread::spawn(move || {
            id.enter();
            for i in 0..scaled(300) as u64 {
                let b = cache.alloc(i);
                assert_eq!(*b, i);
            }
            // Only a reference: this thread holds no handle of its own to drop.
            let shared: &Small = &cache;
            let b = shared.alloc(1);
            drop(b);
            drop(cache); // the Arc, not the last: no handle is dropped here
            used.wait();
            go_rx.recv().unwrap();
            // Exits holding a magazine of a cache whose last handle is gone.
        })
    };
    used.wait();
    check(&cache, 0);
    assert!(cache.scan().unwrap().held > 0, "the worker's magazine");
    let cache = Arc::into_inner(cache).expect("the worker dropped its Arc");
    drop(cache);
    assert!(
        t.live_blocks() > 0,
        "the worker's magazine keeps the cache (its slots are out of the slabs)"
    );
    go_tx.send(()).unwrap();
    worker.join().unwrap();
    assert_eq!(t.live_blocks(), 0, "the worker's exit gave the rest back");
}

#[test]
fn flush_thread_caches_lets_a_dropped_cache_go_without_the_thread_exiting() {
    let t = Tracker::new();
    let id = t.id();
    let cache = Arc::new(Small::new());
    let (to_worker, rx) = mpsc::channel::<&'static str>();
    let (tx, from_worker) = mpsc::channel::<()>();
    let worker = {
        let cache = Arc::clone(&cache);
        std::thread::spawn(move || {
            id.enter();
            let b = cache.alloc(5);
            drop(b);
            drop(cache);
            tx.send(()).unwrap();
            assert_eq!(rx.recv().unwrap(), "flush");
            flush_thread_caches();
            tx.send(()).unwrap();
            assert_eq!(rx.recv().unwrap(), "exit");
        })
    };
    from_worker.recv().unwrap();
    let cache = Arc::into_inner(cache).expect("the worker dropped its Arc");
    drop(cache);
    assert!(t.live_blocks() > 0);
    to_worker.send("flush").unwrap();
    from_worker.recv().unwrap();
    assert_eq!(t.live_blocks(), 0, "the flush released the cache");
    to_worker.send("exit").unwrap();
    worker.join().unwrap();
}

#[test]
fn a_thread_that_drops_its_handle_gives_its_magazines_back() {
    let t = Tracker::new();
    let id = t.id();
    let cache = Small::new();
    std::thread::scope(|s| {
        for th in 0..4u64 {
            let mine = cache.clone();
            s.spawn(move || {
                id.enter();
                let mut kept = Vec::new();
                for i in 0..scaled(1000) as u64 {
                    kept.push(mine.alloc(i ^ th));
                    if i % 3 != 0 {
                        kept.swap_remove((i as usize * 7) % kept.len());
                    }
                }
                drop(kept);
                drop(mine); // before the scope ends: this thread's magazines go back now
            });
        }
    });
    let r = cache.scan().unwrap();
    assert_eq!(r.held, 0, "every worker dropped its handle: {r:?}");
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn a_box_dropped_on_a_thread_without_a_handle_after_the_cache_is_gone_takes_the_lock() {
    let t = Tracker::new();
    let id = t.id();
    let cache = Small::new();
    let boxes: Vec<_> = (0..100).map(|i| cache.alloc(i)).collect();
    drop(cache);
    let slabs_before = t.live_blocks();
    assert!(slabs_before > 0);
    std::thread::spawn(move || {
        id.enter();
        // No handle is left: this thread gets no magazine for the cache, each box goes
        // back through the lock, and the last one releases the cache.
        drop(boxes);
    })
    .join()
    .unwrap();
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn more_caches_than_table_entries_evict_and_stay_exact() {
    let t = Tracker::new();
    let caches: Vec<Small> = (0..12).map(|_| Small::new()).collect();
    let mut live = Vec::new();
    for round in 0..scaled(200) as u64 {
        for (k, c) in caches.iter().enumerate() {
            live.push((c.alloc(round * 100 + k as u64), k));
            if round % 2 == 1 {
                live.swap_remove((round as usize * 13 + k) % live.len());
            }
        }
    }
    for (k, c) in caches.iter().enumerate() {
        let mine = live.iter().filter(|(_, j)| *j == k).count();
        check(c, mine);
    }
    drop(live);
    for c in &caches {
        check(c, 0);
    }
    drop(caches);
    assert_eq!(
        t.live_blocks(),
        0,
        "evicted and owned entries all went back"
    );
}

static REENTERED: Small = Small::new();
static OTHERS: [Small; 10] = [const { Small::new() }; 10];

/// Allocates and frees through this thread's table from inside the allocation hook:
/// `REENTERED` itself (whose entry is busy refilling), then ten other caches, more than
/// the table holds, so entries are evicted while one is busy.
fn reenter() {
    let kept: Vec<_> = (0..100).map(|i| REENTERED.alloc(i)).collect();
    for (k, c) in OTHERS.iter().enumerate() {
        let b = c.alloc(k as u64);
        assert_eq!(*b, k as u64);
    }
    drop(kept);
}

#[test]
fn hooks_that_reenter_the_table_keep_the_books() {
    let _t = Tracker::new();
    // The first refill of this thread's entry calls the hook for the master.
    common::on_next_alloc(reenter);
    let boxes: Vec<_> = (0..300).map(|i| REENTERED.alloc(i)).collect();
    assert!(boxes.iter().enumerate().all(|(i, b)| **b == i as u64));
    check(&REENTERED, 300);
    // And a refill that grows the cache, in the middle of a run.
    common::on_next_alloc(reenter);
    let more: Vec<_> = (0..300).map(|i| REENTERED.alloc(i)).collect();
    check(&REENTERED, 600);
    drop((boxes, more));
    check(&REENTERED, 0);
    for c in &OTHERS {
        check(c, 0);
    }
    flush_thread_caches();
    for c in OTHERS.iter().chain([&REENTERED]) {
        assert_eq!(c.scan().unwrap().held, 0);
    }
}

#[test]
fn a_failing_or_panicking_hook_leaves_the_table_usable() {
    let t = Tracker::new();
    let cache = Small::new();
    let mut boxes = Vec::new();
    // Every refill that needs a slab fails once; the value comes back intact.
    for i in 0..scaled(2000) as u64 {
        if i % 97 == 0 {
            common::fail_on_call(1);
        }
        match cache.try_alloc(i) {
            Ok(b) => boxes.push(b),
            Err(e) => assert_eq!(e.into_inner(), i),
        }
    }
    common::no_failures();
    check(&cache, boxes.len());
    // A hook that panics in a refill: the entry is not left busy, the books stay exact.
    fn boom() {
        panic!("planted panic in the allocation hook");
    }
    let more = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        common::on_next_alloc(boom);
        // More than the free slots: a slab is needed, and its hook call panics.
        (0..2000).map(|i| cache.alloc(i)).collect::<Vec<_>>()
    }));
    assert!(more.is_err());
    check(&cache, boxes.len());
    drop(boxes);
    check(&cache, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

static AT_EXIT: Small = Small::new();

struct DropsABoxAtExit(Option<SlabBox<u64, Small>>);

impl Drop for DropsABoxAtExit {
    fn drop(&mut self) {
        // Runs while the thread's thread-locals are destroyed, possibly after the table's
        // exit guard: then the box goes back through the lock, and an allocation too.
        drop(self.0.take());
        let b = AT_EXIT.alloc(2);
        assert_eq!(*b, 2);
    }
}

std::thread_local! {
    static HOLDER: std::cell::RefCell<DropsABoxAtExit> =
        const { std::cell::RefCell::new(DropsABoxAtExit(None)) };
}

#[test]
fn boxes_dropped_while_a_thread_ends_keep_the_books() {
    for order in 0..2 {
        std::thread::spawn(move || {
            if order == 0 {
                // The holder's destructor is registered first, so it runs last (after the
                // table's exit guard, on glibc).
                HOLDER.with(|h| h.borrow_mut().0 = Some(AT_EXIT.alloc(1)));
                drop(AT_EXIT.alloc(0));
            } else {
                drop(AT_EXIT.alloc(0));
                HOLDER.with(|h| h.borrow_mut().0 = Some(AT_EXIT.alloc(1)));
            }
        })
        .join()
        .unwrap();
        check(&AT_EXIT, 0);
        let r = AT_EXIT.scan().unwrap();
        assert_eq!(r.held, 0, "the thread gave everything back: {r:?}");
    }
}

#[test]
fn threads_sharing_one_static_stay_exact() {
    static SHARED: SlabCache<[u64; 2], SpinLock, 2048> = SlabCache::new();
    let (tx, rx) = mpsc::channel::<SlabBox<[u64; 2], SlabCache<[u64; 2], SpinLock, 2048>>>();
    let consumer = std::thread::spawn(move || {
        let mut n = 0;
        for b in rx {
            assert_eq!(b[0], b[1]);
            n += 1;
        }
        n
    });
    std::thread::scope(|s| {
        for th in 0..3u64 {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..scaled(3000) as u64 {
                    let b = SHARED.alloc([i * 4 + th; 2]);
                    if i % 4 == 0 {
                        tx.send(b).unwrap();
                    }
                }
                flush_thread_caches();
            });
        }
    });
    drop(tx);
    let sent = consumer.join().unwrap();
    assert_eq!(sent, 3 * scaled(3000).div_ceil(4));
    check(&SHARED, 0);
}
