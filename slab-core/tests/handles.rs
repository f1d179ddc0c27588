//! The `&mut self` fast path of runtime `SlabCache` handles: `alloc_mut`, `try_alloc_mut`,
//! `free` and `flush`, with their own magazines, beside the calling thread's magazines that
//! `alloc` and box drops use. `stats()` and `scan()` stay exact while
//! slots sit in handle magazines and in the depot (after every step, across many
//! magazine boundaries), more handles than there are magazine counters fall back to the
//! locked path, foreign boxes go home, and every hook block comes back.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use common::{DropCounter, Msg, Tracker, check_books as check, scaled};
use slab_core::{SlabBox, SlabCache, SpinLock, TicketLock, flush_thread_caches};

/// Handles of one cache that can carry magazines (`HANDLE_MAGS` in the crate).
const HANDLE_MAGS: usize = 8;

type Small = SlabCache<u64, SpinLock, 1024>;
type SmallBox = SlabBox<u64, Small>;

/// A xorshift stream for deterministic shuffles.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How a test gives a batch of boxes back.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// Oldest first.
    Fifo,
    /// Newest first.
    Lifo,
    /// Even positions, then odd ones.
    Interleaved,
    /// A seeded shuffle.
    Random(u64),
}

fn reorder<B>(mut boxes: Vec<B>, order: Order) -> Vec<B> {
    match order {
        Order::Fifo => boxes,
        Order::Lifo => {
            boxes.reverse();
            boxes
        }
        Order::Interleaved => {
            let mut odd = Vec::new();
            let mut even = Vec::new();
            for (i, b) in boxes.into_iter().enumerate() {
                if i % 2 == 0 { &mut even } else { &mut odd }.push(b);
            }
            even.extend(odd);
            even
        }
        Order::Random(seed) => {
            let mut rng = Rng(seed | 1);
            for i in (1..boxes.len()).rev() {
                boxes.swap(i, rng.below(i + 1));
            }
            boxes
        }
    }
}

/// More objects than two full magazines plus a full depot hold (64-slot magazines for
/// `u64`, 8 parked), so freeing them all parks magazines and overflows the depot.
fn many() -> usize {
    if cfg!(miri) { 150 } else { 2000 }
}

#[test]
fn stats_stay_exact_while_slots_sit_in_magazines() {
    let t = Tracker::new();
    let n = many();
    for order in [
        Order::Fifo,
        Order::Lifo,
        Order::Interleaved,
        Order::Random(7),
        Order::Random(0xDEAD_BEEF),
    ] {
        let mut c = Small::new();
        let mut boxes: Vec<SmallBox> = Vec::new();
        for i in 0..n as u64 {
            boxes.push(c.alloc_mut(i * 3));
            check(&c, boxes.len());
        }
        assert!(boxes.iter().enumerate().all(|(i, b)| **b == i as u64 * 3));
        let mut left = n;
        let mut saw_parked = false;
        let mut saw_held = false;
        for b in reorder(boxes, order) {
            assert_eq!(*b % 3, 0, "value intact when freed");
            c.free(b);
            left -= 1;
            let r = check(&c, left);
            saw_parked |= r.parked > 0;
            saw_held |= r.held > 0;
        }
        assert!(
            saw_held,
            "{order:?}: freed slots went into the handle magazine"
        );
        assert!(
            saw_parked,
            "{order:?}: {n} frees filled both magazines and parked one in the depot"
        );
        let r = check(&c, 0);
        assert_eq!(r.in_use_slots, r.parked + r.held);

        // Reuse: allocations come back out of the magazines and the depot without the hook.
        let calls = c.stats().hook_allocs;
        let again: Vec<_> = (0..r.parked as u64 + r.held as u64)
            .map(|i| c.alloc_mut(i))
            .collect();
        assert_eq!(
            c.stats().hook_allocs,
            calls,
            "{order:?}: magazine slots were reused"
        );
        check(&c, again.len());
        // Dropping (not `free`) goes to this thread's magazine of the cache; the books still agree.
        let mut again = reorder(again, order);
        let half = again.len() / 2;
        for b in again.drain(..half) {
            drop(b);
        }
        check(&c, again.len());
        for b in again {
            c.free(b);
        }
        check(&c, 0);
        drop(c);
        assert_eq!(t.live_blocks(), 0, "{order:?}: every hook block returned");
    }
}

type TicketCache = SlabCache<[u32; 5], TicketLock, 2048>;
type TicketBox = SlabBox<[u32; 5], TicketCache>;

#[test]
fn mixed_steps_stay_exact_at_every_step() {
    let t = Tracker::new();
    let mut rng = Rng(0x1234_5678);
    let mut c = TicketCache::new();
    let mut live: Vec<(TicketBox, u32)> = Vec::new();
    for step in 0..scaled(6000) as u32 {
        match rng.below(16) {
            0..=6 => live.push((c.alloc_mut([step; 5]), step)),
            7 => live.push((c.alloc([step; 5]), step)),
            8..=12 if !live.is_empty() => {
                let (b, v) = live.swap_remove(rng.below(live.len()));
                assert_eq!(*b, [v; 5]);
                c.free(b);
            }
            13 if !live.is_empty() => {
                let (b, v) = live.swap_remove(rng.below(live.len()));
                assert_eq!(*b, [v; 5]);
                drop(b);
            }
            14 => {
                c.flush();
                // `alloc` and dropping a box use this thread's magazines of the cache.
                flush_thread_caches();
                let r = check(&c, live.len());
                assert_eq!(r.held, 0, "a flushed handle holds nothing");
            }
            15 => {
                c.shrink();
                let s = c.stats();
                let r = check(&c, live.len());
                assert_eq!(
                    (s.empty_slabs, r.parked),
                    (0, 0),
                    "shrink drained the depot"
                );
            }
            _ => {}
        }
        check(&c, live.len());
    }
    assert!(live.iter().all(|(b, v)| **b == [*v; 5]));
    drop(c);
    assert!(t.live_blocks() > 0, "live boxes keep their slabs");
    drop(live);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn more_handles_than_magazine_counters_stay_exact() {
    let t = Tracker::new();
    let handles_n = HANDLE_MAGS + 4;
    let base = Small::new();
    let mut hs: Vec<Small> = (0..handles_n).map(|_| base.clone()).collect();

    // Each of the first eight handles claims a counter and keeps a magazine.
    for h in &mut hs[..HANDLE_MAGS] {
        let b = h.alloc_mut(1);
        h.free(b);
    }
    let held8 = check(&base, 0).held;
    assert!(held8 >= HANDLE_MAGS, "eight handles hold magazine slots");

    // The ninth has no counter: it allocates and frees on the locked path, holding nothing.
    let b = hs[HANDLE_MAGS].alloc_mut(9);
    assert_eq!(*b, 9);
    assert_eq!(
        check(&base, 1).held,
        held8,
        "the ninth handle took no magazine"
    );
    hs[HANDLE_MAGS].free(b);
    assert_eq!(check(&base, 0).held, held8, "its free went straight back");

    // A flush releases a counter, which the ninth handle then claims.
    hs[0].flush();
    let after_flush = check(&base, 0).held;
    assert!(after_flush < held8);
    let b = hs[HANDLE_MAGS].alloc_mut(10);
    let r = check(&base, 1);
    hs[HANDLE_MAGS].free(b);
    let r2 = check(&base, 0);
    assert!(
        r2.held > after_flush && r2.held >= r.held,
        "the ninth handle claimed the released counter: {after_flush} -> {r2:?}"
    );
    // Now the flushed handle is the one without a counter.
    let b = hs[0].alloc_mut(11);
    hs[0].free(b);
    assert_eq!(
        check(&base, 0).held,
        r2.held,
        "the first handle found no counter"
    );

    // All of them at once, boxes freed by other handles than their own.
    let mut rng = Rng(99);
    let mut live: Vec<(SmallBox, u64)> = Vec::new();
    for round in 0..scaled(400) as u64 {
        for (i, h) in hs.iter_mut().enumerate() {
            let v = round * 100 + i as u64;
            live.push((h.alloc_mut(v), v));
        }
        for _ in 0..hs.len() - 1 {
            let (b, v) = live.swap_remove(rng.below(live.len()));
            assert_eq!(*b, v);
            let h = rng.below(hs.len());
            hs[h].free(b);
        }
        if round % 50 == 49 {
            let h = rng.below(hs.len());
            hs[h].flush();
        }
        check(&base, live.len());
    }
    // Dropping handles gives their magazines back and frees counters for the rest.
    let mut hs = reorder(hs, Order::Random(5));
    while let Some(h) = hs.pop() {
        drop(h);
        let r = check(&base, live.len());
        if hs.is_empty() {
            assert_eq!(r.held, 0, "only `base`, which never claimed, is left");
        }
    }
    for (b, v) in live.drain(..) {
        assert_eq!(*b, v);
    }
    // The dropped boxes went into this thread's magazine of the cache.
    flush_thread_caches();
    let r = check(&base, 0);
    assert_eq!(r.in_use_slots, r.parked);
    drop(base);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn free_sends_a_box_of_another_cache_home() {
    let ta = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut a: SlabCache<DropCounter, SpinLock, 1024> = SlabCache::new();
    let x = a.alloc_mut(DropCounter(drops.clone(), 1));
    a.free(x);
    assert_eq!(
        drops.load(Ordering::Relaxed),
        1,
        "free drops the value once"
    );
    let held_a = check(&a, 0).held;
    assert!(held_a > 0);

    // `b`'s blocks are tagged with their own tracker.
    let tb = Tracker::new();
    let b: SlabCache<DropCounter, SpinLock, 1024> = SlabCache::new();
    let mut mine = SlabCache::<DropCounter, SpinLock, 1024>::new(); // never used: no master
    let ys: Vec<_> = (0..scaled(200) as u64)
        .map(|i| b.alloc(DropCounter(drops.clone(), i)))
        .collect();
    // `alloc` took its slots a magazine at a time into this thread's magazine of `b`.
    flush_thread_caches();
    ta.enter();
    check(&b, ys.len());
    let mut left = ys.len();
    for (i, y) in ys.into_iter().enumerate() {
        assert_eq!(y.1, i as u64);
        if i % 3 == 0 {
            mine.free(y); // a handle without a master
        } else {
            a.free(y);
        }
        left -= 1;
        assert_eq!(check(&b, left).held, 0, "nothing of `b` sits in a magazine");
        assert_eq!(check(&a, 0).held, held_a, "`a` kept none of `b`'s slots");
    }
    assert_eq!(drops.load(Ordering::Relaxed), 1 + scaled(200));
    assert_eq!(
        mine.stats().slabs,
        0,
        "freeing a foreign box allocated nothing"
    );

    // A box that outlives its cache goes home through `free` of another cache too, and
    // the home cache's last slab goes back with it.
    tb.enter();
    let y = b.alloc(DropCounter(drops.clone(), 7));
    let z = {
        let mut b2 = b.clone();
        b2.alloc_mut(DropCounter(drops.clone(), 8))
    };
    drop(b);
    ta.enter();
    assert!(tb.live_blocks() > 0, "two boxes keep `b`'s master");
    a.free(y);
    assert!(tb.live_blocks() > 0);
    a.free(z);
    assert_eq!(tb.live_blocks(), 0, "the last box of `b` freed its slabs");
    check(&a, 0);
    drop((a, mine));
    assert_eq!(ta.live_blocks(), 0);
    assert_eq!(drops.load(Ordering::Relaxed), 3 + scaled(200));
}

#[test]
fn a_handle_dropped_while_its_boxes_live_returns_everything_later() {
    for order in [Order::Fifo, Order::Lifo, Order::Random(3)] {
        for keep_other_handle in [false, true] {
            let t = Tracker::new();
            let mut c = Small::new();
            let other = keep_other_handle.then(|| c.clone());
            let n = 2 * many() as u64;
            let mut boxes: Vec<SmallBox> = (0..n).map(|i| c.alloc_mut(i)).collect();
            // Half go back into magazines and the depot (more than two magazines' worth),
            // half stay live.
            let rest = boxes.split_off(boxes.len() / 2);
            for b in reorder(rest, order) {
                c.free(b);
            }
            let r = check(&c, boxes.len());
            assert!(r.held > 0 && r.parked > 0, "{r:?}");
            drop(c);
            assert!(boxes.iter().enumerate().all(|(i, b)| **b == i as u64));
            if let Some(o) = &other {
                let r = check(o, boxes.len());
                assert_eq!(r.held, 0, "the dropped handle gave its magazines back");
            }
            assert!(t.live_blocks() > 0);
            let mut left = boxes.len();
            for b in reorder(boxes, order) {
                drop(b);
                left -= 1;
                // (A scan is slow under Miri: sample there.)
                if let Some(o) = &other
                    && (!cfg!(miri) || left.is_multiple_of(16))
                {
                    check(o, left);
                }
            }
            if let Some(o) = other {
                check(&o, 0);
                assert!(t.live_blocks() > 0, "a handle keeps the master");
                drop(o);
            }
            assert_eq!(
                t.live_blocks(),
                0,
                "{order:?}, other handle {keep_other_handle}: every block returned"
            );
        }
    }
}

#[test]
fn dropping_the_last_handle_with_parked_magazines_returns_every_block() {
    // No box outlives the handle: its magazines, and the depot they filled, must go back
    // when it drops.
    for flush_first in [false, true] {
        let t = Tracker::new();
        let mut c = Small::new();
        let boxes: Vec<SmallBox> = (0..many() as u64).map(|i| c.alloc_mut(i)).collect();
        for b in boxes {
            c.free(b);
        }
        if flush_first {
            c.flush();
        }
        let r = check(&c, 0);
        assert!(r.parked > 0, "{r:?}");
        drop(c);
        assert_eq!(
            t.live_blocks(),
            0,
            "flush first: {flush_first}: parked magazines kept slabs after the last handle"
        );
    }
    // Same with the last box outliving the last handle.
    let t = Tracker::new();
    let mut c = Small::new();
    let mut boxes: Vec<SmallBox> = (0..many() as u64).map(|i| c.alloc_mut(i)).collect();
    let last = boxes.pop().unwrap();
    for b in boxes {
        c.free(b);
    }
    drop(c);
    assert!(t.live_blocks() > 0);
    assert_eq!(*last, many() as u64 - 1);
    drop(last);
    assert_eq!(t.live_blocks(), 0, "the last box returned every block");
}

#[test]
fn flush_then_shrink_returns_slabs() {
    let t = Tracker::new();
    let mut c = Small::new();
    let boxes: Vec<SmallBox> = (0..many() as u64).map(|i| c.alloc_mut(i)).collect();
    assert!(c.stats().slabs > 2);
    for b in boxes {
        c.free(b);
    }
    let r = check(&c, 0);
    assert!(r.held > 0);
    // (Magazines that overflowed the depot went back to their slabs, which may have
    // released some already.)
    let grown = c.stats().slabs;

    // Without a flush, the handle's slots keep their slabs.
    let freed = c.shrink();
    let s = c.stats();
    let r = check(&c, 0);
    assert_eq!(r.parked, 0, "shrink drained the depot");
    assert!(r.held > 0, "shrink does not touch a handle's magazines");
    assert_eq!(s.slabs, grown - freed);
    assert!(s.slabs > 1, "held slots keep their slabs");

    c.flush();
    let r = check(&c, 0);
    assert_eq!(r.held, 0);
    let freed2 = c.shrink();
    assert!(freed2 > 0, "the flushed slots' slabs went back");
    let s = c.stats();
    let r = check(&c, 0);
    assert_eq!((s.slabs, s.empty_slabs, r.parked, r.held), (1, 0, 0, 0));
    assert_eq!(freed + freed2, grown - 1);
    assert_eq!(t.live_bytes(), 1024, "only the master is left");

    // The handle works after a flush: it claims a counter again.
    let b = c.alloc_mut(5);
    c.free(b);
    assert!(check(&c, 0).held > 0);
    drop(c);
    assert_eq!(t.live_blocks(), 0);
}

type MsgCache = SlabCache<Msg, SpinLock, 2048>;
type MsgBox = SlabBox<Msg, MsgCache>;

#[test]
fn threads_with_cloned_handles_pass_boxes_around() {
    const THREADS: usize = 4;
    let t = Tracker::new();
    let id = t.id();
    let per_thread = scaled(5000) as u64;
    let cache = MsgCache::new();
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..THREADS).map(|_| mpsc::channel::<MsgBox>()).unzip();
    let kept: Vec<Vec<MsgBox>> = std::thread::scope(|s| {
        let mut joins = Vec::new();
        for (me, rx) in rxs.into_iter().enumerate() {
            let tx = txs[(me + 1) % THREADS].clone();
            let mut h = cache.clone();
            joins.push(s.spawn(move || {
                id.enter();
                let mut rng = Rng(me as u64 * 77 + 1);
                let mut mine: Vec<MsgBox> = Vec::new();
                let mut received = 0u64;
                let mut take = |h: &mut MsgCache, b: MsgBox, rng: &mut Rng| {
                    assert!(b.valid());
                    assert_ne!(b.from, me, "came from the previous thread");
                    received += 1;
                    // The same cache: `free` keeps the slot in this thread's handle.
                    if rng.below(3) == 0 {
                        drop(b);
                    } else {
                        h.free(b);
                    }
                };
                for seq in 0..per_thread {
                    mine.push(h.alloc_mut(Msg::new(me, seq)));
                    match rng.below(8) {
                        0..=2 => {
                            let b = mine.swap_remove(rng.below(mine.len()));
                            tx.send(b).unwrap();
                        }
                        3..=5 => {
                            let b = mine.swap_remove(rng.below(mine.len()));
                            assert!(b.valid());
                            h.free(b);
                        }
                        6 if seq % 64 == 0 => h.flush(),
                        _ => {}
                    }
                    while let Ok(b) = rx.try_recv() {
                        take(&mut h, b, &mut rng);
                    }
                }
                drop(tx);
                // The previous thread may still be sending: drain until it is done.
                while let Ok(b) = rx.recv() {
                    take(&mut h, b, &mut rng);
                }
                assert!(received > 0 || cfg!(miri));
                assert!(mine.iter().all(|b| b.valid() && b.from == me));
                mine.truncate(8);
                drop(h); // gives the magazines back while other threads still run
                mine
            }));
        }
        drop(txs);
        joins.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let n_kept: usize = kept.iter().map(Vec::len).sum();
    let r = check(&cache, n_kept);
    assert_eq!(r.held, 0, "every thread's handle is gone");
    assert_eq!(r.in_use_slots - r.parked, n_kept);
    drop(cache);
    assert!(t.live_blocks() > 0, "kept boxes keep their slabs");
    assert!(kept.iter().flatten().all(|b| b.valid()));
    drop(kept);
    assert_eq!(t.live_blocks(), 0, "every hook block returned");
}

/// `try_alloc_mut` / `free` / `flush` with the k-th hook call failing. Returns the number
/// of failures seen.
fn fail_scenario(fail_at: usize) -> usize {
    common::fail_on_call(fail_at);
    let mut failures = 0;
    let mut cache: SlabCache<(u64, String), SpinLock, 1024> = SlabCache::new();
    let mut boxes = Vec::new();
    let n = if cfg!(miri) { 150 } else { 400 };
    for i in 0..n {
        match cache.try_alloc_mut((i, i.to_string())) {
            Ok(b) => boxes.push(b),
            Err(e) => {
                common::assert_value_back(e, (i, i.to_string()));
                failures += 1;
            }
        }
        if i % 3 == 2 {
            let b = boxes.swap_remove((i as usize * 7) % boxes.len());
            assert_eq!(b.1, b.0.to_string());
            cache.free(b);
        }
        if i == n / 2 {
            cache.flush();
            cache.shrink();
        }
        check(&cache, boxes.len());
    }
    common::no_failures();
    check(&cache, boxes.len());
    // Usable afterwards, through both paths.
    boxes.push(cache.alloc_mut((u64::MAX, u64::MAX.to_string())));
    boxes.push(cache.alloc((0, "0".into())));
    check(&cache, boxes.len());
    for b in boxes.drain(..) {
        assert_eq!(b.1, b.0.to_string());
        cache.free(b);
    }
    check(&cache, 0);
    failures
}

#[test]
fn try_alloc_mut_hands_the_value_back_on_a_failure_at_every_hook_call() {
    // Under Miri the first three hook calls (master, slave, slave) are enough.
    let max_k = if cfg!(miri) { 3 } else { usize::MAX };
    let done = common::fail_at_every_hook_call(max_k, |_, k| fail_scenario(k));
    if !cfg!(miri) {
        let k = done.expect("the scenario makes finitely many hook calls");
        assert!(k > 4, "the scenario calls the hook several times ({k})");
    }
}

#[test]
fn random_failures_with_handles_on_threads_keep_the_books_balanced() {
    // (Which thread grows the cache, and so meets the failures, depends on scheduling.)
    let mut total_failures = 0;
    for seed in 1..=if cfg!(miri) { 1 } else { 4 } {
        let t = Tracker::new();
        let id = t.id();
        let cache: SlabCache<[u64; 6], SpinLock, 1024> = SlabCache::new();
        std::thread::scope(|s| {
            let joins: Vec<_> = (0..3u64)
                .map(|th| {
                    let mut h = cache.clone();
                    s.spawn(move || {
                        id.enter();
                        common::fail_randomly(seed * 31 + th, 4);
                        let mut live = Vec::new();
                        let mut failures = 0;
                        for i in 0..scaled(1500) as u64 {
                            match h.try_alloc_mut([i ^ th; 6]) {
                                Ok(b) => live.push(b),
                                Err(e) => {
                                    assert_eq!(e.into_inner(), [i ^ th; 6]);
                                    failures += 1;
                                }
                            }
                            if i % 3 == 0
                                && let Some(b) = live.pop()
                            {
                                h.free(b);
                            }
                            if i % 400 == 399 {
                                h.flush();
                                h.shrink();
                            }
                        }
                        common::no_failures();
                        assert!(live.iter().all(|b| b.iter().all(|&x| x == b[0])));
                        // The handle drops first, the boxes after it.
                        drop(h);
                        drop(live);
                        failures
                    })
                })
                .collect();
            for j in joins {
                total_failures += j.join().unwrap();
            }
        });
        let r = check(&cache, 0);
        assert_eq!(r.held, 0);
        drop(cache);
        assert_eq!(t.live_blocks(), 0, "seed {seed}");
    }
    assert!(total_failures > 0 || cfg!(miri), "failures were injected");
}
