//! The registry of every cache: `#[slab_cached]` types join on first use and stay, runtime
//! caches join when their master is made and leave when it is released, the listing is
//! exact while other threads make and drop caches, and the fast-path counters count.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use common::scaled;
use slab_core::{Global, SlabCache, SlabStats, SpinLock, for_each_cache, slab_cached};

/// The stats of every listed cache named `name`.
fn listed(name: &str) -> Vec<SlabStats> {
    let mut found = Vec::new();
    for_each_cache(|s| {
        if s.name == name {
            found.push(*s);
        }
    });
    found
}

#[slab_cached(source = Global)]
struct Sprite(#[allow(dead_code, reason = "a payload")] [u32; 4]);

#[test]
fn a_slab_cached_type_joins_on_first_use_and_stays() {
    let name = std::any::type_name::<Sprite>();
    assert!(listed(name).is_empty(), "not before its first use");
    let s = Sprite::new_boxed(Sprite([1; 4]));
    let rows = listed(name);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].in_use, rows[0].object_size), (1, 16));
    drop(s);
    slab_core::flush_thread_cache::<Sprite>();
    let rows = listed(name);
    assert_eq!(
        (rows.len(), rows[0].in_use),
        (1, 0),
        "a static cache stays listed"
    );
}

#[test]
fn a_runtime_cache_leaves_when_its_last_handle_and_box_are_gone() {
    struct Conn(#[allow(dead_code, reason = "a payload")] u64);
    let name = std::any::type_name::<Conn>();
    let cache: SlabCache<Conn, SpinLock, 4096, Global> = SlabCache::new();
    assert!(listed(name).is_empty(), "no master yet");
    let b = cache.alloc(Conn(1));
    assert_eq!(listed(name).len(), 1);
    let other: SlabCache<Conn, SpinLock, 4096, Global> = SlabCache::new();
    let c = other.alloc(Conn(2));
    assert_eq!(listed(name).len(), 2, "two caches of one type, two rows");
    drop(cache);
    assert_eq!(listed(name).len(), 2, "the box keeps its cache");
    drop(b);
    assert_eq!(listed(name).len(), 1, "the last box released it");
    drop((other, c));
    assert!(listed(name).is_empty());
}

#[test]
fn the_listing_is_exact_while_threads_make_and_drop_caches() {
    struct Job(#[allow(dead_code, reason = "a payload")] [u64; 2]);
    let name = std::any::type_name::<Job>();
    let done = AtomicBool::new(false);
    const THREADS: usize = 3;
    std::thread::scope(|s| {
        let lister = s.spawn(|| {
            let mut lists = 0;
            while !done.load(Relaxed) || lists == 0 {
                let rows = listed(name);
                assert!(rows.len() <= THREADS, "at most one live cache per thread");
                for r in &rows {
                    assert!(r.in_use <= 64 && r.slabs >= 1 && r.bytes == r.slabs * 4096);
                }
                lists += 1;
            }
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    for round in 0..scaled(200) {
                        let cache: SlabCache<Job, SpinLock, 4096, Global> = SlabCache::new();
                        let boxes: Vec<_> = (0..(round % 64) as u64 + 1)
                            .map(|i| cache.alloc(Job([i; 2])))
                            .collect();
                        drop(cache);
                        drop(boxes); // the last box releases the cache
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Relaxed);
        lister.join().unwrap();
    });
    assert!(listed(name).is_empty(), "every cache left the registry");
}

#[test]
fn the_fast_path_counters_count_hits_exchanges_and_refills() {
    struct Tick(#[allow(dead_code, reason = "a payload")] u64);
    let name = std::any::type_name::<Tick>();
    let mut cache: SlabCache<Tick, SpinLock, 4096, Global> = SlabCache::new();
    let n = scaled(10_000);
    for i in 0..n as u64 {
        let b = cache.alloc_mut(Tick(i));
        cache.free(b);
    }
    let many: Vec<_> = (0..scaled(1000) as u64)
        .map(|i| cache.alloc_mut(Tick(i)))
        .collect();
    for b in many {
        cache.free(b);
    }
    cache.flush();
    let s = listed(name)[0];
    assert_eq!(s, cache.stats(), "the registry reads what `stats` reads");
    assert!(s.magazine_hits >= n, "{s:?}");
    assert!(s.refills >= 1 && s.depot_exchanges >= s.refills, "{s:?}");
    assert!(s.hook_allocs >= 1);
}

#[test]
fn slabinfo_prints_a_header_and_a_line_per_cache() {
    struct Row(#[allow(dead_code, reason = "a payload")] u8);
    let cache: SlabCache<Row, SpinLock, 4096, Global> = SlabCache::new();
    let r = cache.alloc(Row(1));
    let table = slab_core::slabinfo().to_string();
    assert!(table.starts_with(SlabStats::HEADER), "{table}");
    let line = table
        .lines()
        .find(|l| l.starts_with("Row "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains(" : hits "), "{line}");
    drop(r);
}

#[test]
fn an_object_cache_is_listed_under_its_value_type() {
    struct Scratch(Vec<u8>);
    impl slab_core::Recycle for Scratch {
        fn fresh() -> Self {
            Scratch(Vec::new())
        }
        fn reset(&mut self) {
            self.0.clear();
        }
    }
    let pool: slab_core::ObjectCache<Scratch, SpinLock, 4096, Global> =
        slab_core::ObjectCache::new();
    let s = pool.take();
    let rows = listed(std::any::type_name::<Scratch>());
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].in_use, rows[0].object_size),
        (1, size_of::<Scratch>())
    );
    assert_eq!(rows[0], pool.stats());
    drop(s);
}
