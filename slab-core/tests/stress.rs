//! Eight threads allocate, pass their boxes to the next thread, which checks and frees
//! them: every free happens on another thread than its allocation.

mod common;

use std::sync::mpsc;

use common::{Msg, Tracker, scaled};
use slab_core::{SlabBox, SlabCache, SpinLock, TicketLock};

const THREADS: usize = 8;

fn ring<C>(alloc: impl Fn(Msg) -> SlabBox<Msg, C> + Send + Sync + Copy, t: &Tracker) -> usize
where
    C: slab_core::Pool,
    SlabBox<Msg, C>: Send,
{
    let per_thread = scaled(20_000);
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..THREADS)
        .map(|_| mpsc::channel::<SlabBox<Msg, C>>())
        .unzip();
    let id = t.id();
    std::thread::scope(|s| {
        let mut rxs = rxs.into_iter();
        let mut handles = Vec::new();
        for me in 0..THREADS {
            let tx = txs[(me + 1) % THREADS].clone();
            let rx = rxs.next().unwrap();
            handles.push(s.spawn(move || {
                id.enter();
                let mut received = 0;
                let mut kept: Vec<SlabBox<Msg, C>> = Vec::new();
                for seq in 0..per_thread as u64 {
                    kept.push(alloc(Msg::new(me, seq)));
                    if kept.len() > 16 {
                        tx.send(kept.remove(0)).unwrap();
                    }
                    while let Ok(b) = rx.try_recv() {
                        assert!(b.valid(), "{b:?}");
                        assert_ne!(b.from, me);
                        received += 1;
                    }
                }
                for b in kept {
                    tx.send(b).unwrap();
                }
                drop(tx);
                (rx, received)
            }));
        }
        drop(txs);
        let mut total = 0;
        for h in handles {
            let (rx, mut received) = h.join().unwrap();
            for b in rx.iter() {
                assert!(b.valid());
                received += 1;
            }
            total += received;
        }
        assert_eq!(total, THREADS * per_thread);
        total
    })
}

static SHARED: SlabCache<Msg, SpinLock, 2048> = SlabCache::new();

#[test]
fn eight_threads_free_each_others_boxes_from_a_static_cache() {
    let t = Tracker::new();
    ring(|m| SHARED.alloc(m), &t);
    let s = SHARED.stats();
    assert_eq!(s.in_use, 0);
    assert!(s.peak >= 8);
}

#[test]
fn eight_threads_share_a_runtime_cache_with_a_fair_lock_and_release_it() {
    let t = Tracker::new();
    let raw: *mut SlabCache<Msg, TicketLock, 1024> = Box::into_raw(Box::new(SlabCache::new()));
    // SAFETY: `raw` is a live, initialised box allocation until it is reclaimed below,
    // after the last use of this reference.
    let cache: &'static SlabCache<Msg, TicketLock, 1024> = unsafe { &*raw };
    ring(|m| cache.alloc(m), &t);
    assert_eq!(cache.stats().in_use, 0);
    // SAFETY: `raw` came from `Box::into_raw` above (the pointer with the box's own
    // permission, not one derived from the shared reference) and `cache` is not used after.
    drop(unsafe { Box::from_raw(raw) });
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn handles_cloned_into_threads_release_everything_when_the_last_goes() {
    let t = Tracker::new();
    let cache: SlabCache<Msg, SpinLock, 1024> = SlabCache::new();
    let id = t.id();
    let boxes: Vec<Vec<_>> = (0..THREADS)
        .map(|me| {
            let c = cache.clone();
            std::thread::spawn(move || {
                id.enter();
                (0..scaled(2000) as u64)
                    .map(|i| c.alloc(Msg::new(me, i)))
                    .collect::<Vec<_>>()
            })
        })
        .map(|h| h.join().unwrap())
        .collect();
    drop(cache);
    assert!(t.live_blocks() > 0);
    std::thread::scope(|s| {
        for v in boxes {
            s.spawn(move || {
                id.enter();
                assert!(v.iter().all(|b| b.valid()));
            });
        }
    });
    assert_eq!(t.live_blocks(), 0);
}
