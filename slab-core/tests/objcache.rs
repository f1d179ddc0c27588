//! Object caches (Bonwick's object caching) against a model: every value constructed is
//! dropped exactly once, and only when its slab goes back (or `into_inner` takes it out);
//! a value given back is reset, not dropped, and comes back with its capacity; a
//! constructor or a `reset` that panics loses no slot; thread and handle paths agree.

mod common;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use slab_core::{Global, ObjectCache, Pooled, Recycle, SpinLock};

std::thread_local! {
    /// Constructions, resets and drops of `Tracked` values on this thread (each test runs
    /// on its own thread, so the counts are its own).
    static COUNTS: Cell<(u64, u64, u64)> = const { Cell::new((0, 0, 0)) };
    /// The next `fresh` panics.
    static FAIL_FRESH: Cell<bool> = const { Cell::new(false) };
}

fn counts() -> (u64, u64, u64) {
    COUNTS.with(Cell::get)
}

fn bump(i: usize) {
    COUNTS.with(|c| {
        let mut v = c.get();
        match i {
            0 => v.0 += 1,
            1 => v.1 += 1,
            _ => v.2 += 1,
        }
        c.set(v);
    });
}

/// A pooled buffer with an identity, whose `reset` panics on request. Its bytes include
/// padding (a `u8` field before the `u64`).
#[derive(Debug)]
struct Tracked {
    tag: u8,
    id: u64,
    data: Vec<u8>,
    panic_on_reset: bool,
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Recycle for Tracked {
    fn fresh() -> Self {
        if FAIL_FRESH.with(|f| f.replace(false)) {
            panic!("fresh failed on purpose");
        }
        bump(0);
        Tracked {
            tag: 7,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            data: Vec::with_capacity(64),
            panic_on_reset: false,
        }
    }
    fn reset(&mut self) {
        bump(1);
        if std::mem::take(&mut self.panic_on_reset) {
            panic!("reset failed on purpose");
        }
        self.data.clear();
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        bump(2);
    }
}

type Cache = ObjectCache<Tracked, SpinLock, 1024, Global>;
type Obj = Pooled<Tracked, Cache>;

#[derive(Debug, Clone)]
enum Op {
    Take,
    TakeMut,
    Fill(usize, u8),
    Drop(usize),
    Give(usize),
    IntoInner(usize),
    ResetPanics(usize),
    FreshPanics,
    Shrink,
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Take),
        4 => Just(Op::TakeMut),
        3 => (any::<usize>(), 1..200u8).prop_map(|(i, n)| Op::Fill(i, n)),
        3 => any::<usize>().prop_map(Op::Drop),
        3 => any::<usize>().prop_map(Op::Give),
        1 => any::<usize>().prop_map(Op::IntoInner),
        1 => any::<usize>().prop_map(Op::ResetPanics),
        1 => Just(Op::FreshPanics),
        1 => Just(Op::Shrink),
        1 => Just(Op::Flush),
    ]
}

/// Runs `ops` against the cache and checks it against the model after each step.
fn run(ops: &[Op]) {
    let start = counts();
    let mut cache: Cache = ObjectCache::new();
    let mut held: Vec<Obj> = Vec::new();
    // The model: the capacity each value id had when it was last given back.
    let mut kept_capacity: BTreeMap<u64, usize> = BTreeMap::new();
    let (mut gives, mut taken_out) = (0u64, 0u64);
    let check_taken = |p: &Obj, kept: &BTreeMap<u64, usize>| {
        assert!(p.data.is_empty(), "a value comes back reset");
        assert_eq!(p.tag, 7);
        if let Some(&cap) = kept.get(&p.id) {
            assert!(p.data.capacity() >= cap, "the capacity is kept");
        }
    };
    for op in ops {
        match op.clone() {
            Op::Take => {
                let p = cache.take();
                check_taken(&p, &kept_capacity);
                held.push(p);
            }
            Op::TakeMut => {
                let p = cache.take_mut();
                check_taken(&p, &kept_capacity);
                held.push(p);
            }
            Op::Fill(i, n) if !held.is_empty() => {
                let n_held = held.len();
                let p = &mut held[i % n_held];
                p.data.extend(std::iter::repeat_n(n, n as usize * 4));
            }
            Op::Drop(i) if !held.is_empty() => {
                let p = held.swap_remove(i % held.len());
                kept_capacity.insert(p.id, p.data.capacity());
                drop(p);
                gives += 1;
            }
            Op::Give(i) if !held.is_empty() => {
                let p = held.swap_remove(i % held.len());
                kept_capacity.insert(p.id, p.data.capacity());
                cache.give(p);
                gives += 1;
            }
            Op::IntoInner(i) if !held.is_empty() => {
                let p = held.swap_remove(i % held.len());
                kept_capacity.remove(&p.id);
                let v = Pooled::into_inner(p);
                drop(v);
                taken_out += 1;
            }
            Op::ResetPanics(i) if !held.is_empty() => {
                let mut p = held.swap_remove(i % held.len());
                p.panic_on_reset = true;
                kept_capacity.remove(&p.id);
                let in_use = cache.stats().in_use;
                let r = catch_unwind(AssertUnwindSafe(|| drop(p)));
                assert!(r.is_err(), "the reset panicked");
                assert_eq!(cache.stats().in_use, in_use - 1, "the slot went back");
                gives += 1;
                taken_out += 1; // dropped for real
            }
            Op::FreshPanics => {
                let in_use = cache.stats().in_use;
                FAIL_FRESH.with(|f| f.set(true));
                let r = catch_unwind(AssertUnwindSafe(|| {
                    // Keep taking until a slot without a value comes up.
                    let mut got = Vec::new();
                    loop {
                        got.push(cache.take());
                    }
                }));
                FAIL_FRESH.with(|f| f.set(false));
                assert!(r.is_err());
                assert_eq!(cache.stats().in_use, in_use, "no slot was lost");
                // The values taken before the panic were reset by the unwinding `Vec`.
            }
            Op::Shrink => {
                cache.shrink();
            }
            Op::Flush => cache.flush(),
            _ => {}
        }
        let (built, resets, drops) = counts();
        let (built, resets, drops) = (built - start.0, resets - start.1, drops - start.2);
        assert!(drops <= built, "dropped more than built");
        assert_eq!(cache.stats().in_use, held.len());
        assert!(resets >= gives, "every return resets");
        assert!(drops >= taken_out);
    }
    drop(held);
    drop(cache); // the last handle and box: every slab goes back
    let (built, _, drops) = counts();
    assert_eq!(
        drops - start.2,
        built - start.0,
        "Drop ran exactly once per value built"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 128 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn an_object_cache_matches_its_model(
        ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 40 } else { 300 })
    ) {
        run(&ops);
    }
}

/// The pooled `Vec<u8>` of issue 19: its capacity survives every return.
#[derive(Debug)]
struct Packet(Vec<u8>);

impl Recycle for Packet {
    fn fresh() -> Self {
        Packet(Vec::with_capacity(1500))
    }
    fn reset(&mut self) {
        self.0.clear();
    }
}

#[test]
fn a_pooled_vec_keeps_its_capacity_through_both_paths() {
    let mut pool: ObjectCache<Packet, SpinLock, 65536, Global> = ObjectCache::new();
    for round in 0..common::scaled(1000) {
        let mut p = if round % 2 == 0 {
            pool.take_mut()
        } else {
            pool.take()
        };
        assert!(p.0.is_empty());
        assert!(p.0.capacity() >= 1500, "capacity kept: {}", p.0.capacity());
        p.0.extend_from_slice(&[round as u8; 1500]);
        if round % 3 == 0 {
            drop(p);
        } else {
            pool.give(p);
        }
    }
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn values_are_dropped_only_when_their_slab_goes_back() {
    let start = counts();
    let pool: Cache = ObjectCache::new();
    pool.keep_empty(0);
    let n = if cfg!(miri) { 120 } else { 500 };
    let many: Vec<_> = (0..n).map(|_| pool.take()).collect();
    let built = counts().0 - start.0;
    assert_eq!(built as usize, many.len());
    drop(many); // reset and kept; the emptied slaves go back at once (keep_empty(0))
    let (_, resets, drops) = counts();
    assert_eq!((resets - start.1) as usize, n);
    assert!(
        drops - start.2 > 0,
        "slabs retired beyond keep_empty drop their values"
    );
    assert!(drops - start.2 < built, "the master keeps its values");
    drop(pool); // what the master kept is dropped when the cache goes
    assert_eq!(counts().2 - start.2, counts().0 - start.0);
}

#[test]
fn threads_share_an_object_cache_and_each_value_is_dropped_once() {
    static DROPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    static BUILT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    struct Shared(Vec<u64>);
    impl Recycle for Shared {
        fn fresh() -> Self {
            BUILT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Shared(Vec::new())
        }
        fn reset(&mut self) {
            self.0.clear();
        }
    }
    impl Drop for Shared {
        fn drop(&mut self) {
            DROPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let pool: ObjectCache<Shared, SpinLock, 4096, Global> = ObjectCache::new();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let mut mine = pool.clone();
            s.spawn(move || {
                let mut held = Vec::new();
                for i in 0..common::scaled(2000) as u64 {
                    let mut p = mine.take_mut();
                    assert!(p.0.is_empty());
                    p.0.push(t * 1_000_000 + i);
                    if i % 3 == 0 {
                        held.push(p);
                    } else {
                        mine.give(p);
                    }
                    if held.len() > 50 {
                        held.clear(); // dropped: reset through the lock
                    }
                }
            });
        }
    });
    assert_eq!(pool.stats().in_use, 0);
    drop(pool);
    let ord = std::sync::atomic::Ordering::Relaxed;
    assert_eq!(
        DROPS.load(ord),
        BUILT.load(ord),
        "Drop once per value built"
    );
}

static FRAMES_BUILT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static FRAMES_DROPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A `#[slab_cached(recycle)]` type: its objects stay constructed, with per-thread
/// magazines.
#[slab_core::slab_cached(recycle, size = 16384, source = Global)]
struct Frame {
    bytes: Vec<u8>,
}

impl Recycle for Frame {
    fn fresh() -> Self {
        FRAMES_BUILT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Frame {
            bytes: Vec::with_capacity(1500),
        }
    }
    fn reset(&mut self) {
        self.bytes.clear();
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        FRAMES_DROPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn a_recycled_type_keeps_its_objects_through_thread_magazines() {
    use slab_core::{ObjectCached, Recycled};
    let ord = std::sync::atomic::Ordering::Relaxed;
    std::thread::scope(|s| {
        for t in 0..3u8 {
            s.spawn(move || {
                let mut held: Vec<Recycled<Frame>> = Vec::new();
                for i in 0..common::scaled(1000) {
                    let mut f = Frame::take();
                    assert!(f.bytes.is_empty() && f.bytes.capacity() >= 1500);
                    f.bytes.extend_from_slice(&[t; 1500]);
                    if i % 4 == 0 {
                        held.push(f); // freed later, maybe on another thread's magazine
                    }
                }
                drop(held);
                slab_core::flush_thread_objects::<Frame>();
            });
        }
    });
    let cache = Frame::object_cache();
    assert_eq!(cache.stats().in_use, 0);
    let built = FRAMES_BUILT.load(ord);
    assert!(built > 0 && FRAMES_DROPPED.load(ord) <= built);
    // The objects of emptied slabs are dropped when those slabs go back; the master keeps
    // its own for ever (a `static` cache is never released).
    cache.shrink();
    assert!(FRAMES_DROPPED.load(ord) <= built, "never dropped twice");
    assert!(<Frame as ObjectCached>::object_cache().stats().slabs >= 1);
}
