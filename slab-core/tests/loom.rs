//! Loom models of slab-core's concurrent protocols, run with
//! `RUSTFLAGS="--cfg loom" cargo test -p slab-core --features loom --test loom --release`
//! (`LOOM_MAX_PREEMPTIONS` bounds the search; CI uses 3).
//!
//! - lazy master publication: racing first uses of one cache publish one master, and the
//!   losers' blocks go back to the free hook;
//! - release: the last handle and the last box dropped on different threads release every
//!   slab exactly once, whichever goes last;
//! - magazine exchange: two threads' magazines refill from, swap at their boundaries, park
//!   in, and flush back to one depot while a third thread reads `stats()`: no slot is lost
//!   or counted twice (run with `--cfg slab_small` too, so every exchange path is taken);
//! - handle magazines: a cloned handle fills, drains and drops its magazine on one thread
//!   while the first handle reads `stats()` and allocates through its own magazine; the
//!   counts stay exact, and the last box (not the last handle) returns every slab;
//! - thread tables (I23): a thread's entry for a runtime cache, registered through a
//!   handle, keeps the cache alive while another thread drops the last handle and box, and
//!   whichever goes last releases every slab once; a box freed through a thread table
//!   races the last handle's drop (an entry is registered only while a handle is left);
//! - `SlabArc` counts (I17): the last strong and the last weak reference dropped on two
//!   threads (the value dropped once, the slot given back once), `upgrade` racing the
//!   last strong drop, `get_mut` and `make_mut` racing a weak reference's upgrade and
//!   drop. The value is a loom `UnsafeCell`, so loom also checks that every write through
//!   `get_mut`/`make_mut`/`drop` is ordered after every read through another reference.
//!
//! The lock is a loom-visible spin lock, so loom explores every interleaving of the
//! critical sections too. The magazines are built explicitly on each thread (loom cannot
//! model `std` thread-locals); their slot counts are loom atomics under `cfg(loom)`.
#![cfg(loom)]

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use slab_core::__loom::{Table, ThreadCache};
use slab_core::{ArcInner, LockTrait, SlabArc, SlabCache};

/// Live blocks of the current model iteration (loom runs iterations one at a time).
static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe fn hook_alloc(layout: Layout) -> Option<NonNull<u8>> {
    LIVE.fetch_add(1, StdOrdering::SeqCst);
    ALLOCS.fetch_add(1, StdOrdering::SeqCst);
    // SAFETY: slab layouts have a non-zero size.
    NonNull::new(unsafe { std::alloc::alloc(layout) })
}
unsafe fn hook_free(p: NonNull<u8>, layout: Layout) {
    LIVE.fetch_sub(1, StdOrdering::SeqCst);
    // SAFETY: allocated by `hook_alloc` with this layout.
    unsafe { std::alloc::dealloc(p.as_ptr(), layout) }
}
// SAFETY: the hooks hand out blocks of the global allocator, each once, and take each
// back once with its layout.
slab_core::slab_hooks!(unsafe hook_alloc, hook_free);

/// A test-and-set lock on loom's atomics.
struct LoomLock(AtomicBool);

// SAFETY: exclusion by the compare-exchange on one atomic flag (acquire on success),
// release by a release store, after which `self` is not touched; `__fresh` is unlocked.
unsafe impl LockTrait for LoomLock {
    const INIT: Self = panic!("LoomLock is built with `__fresh` (loom atomics are not const)");

    fn __fresh() -> Self {
        LoomLock(AtomicBool::new(false))
    }

    fn lock(&self) {
        while self
            .0
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            loom::thread::yield_now();
        }
    }

    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

type Cache = SlabCache<u64, LoomLock, 512>;

/// Prints how many interleavings the model explored, when the test ends.
struct Report;
impl Drop for Report {
    fn drop(&mut self) {
        let n = ITERATIONS.swap(0, StdOrdering::SeqCst);
        eprintln!("loom: {n} interleavings explored");
    }
}

/// The models share the hook counters, so they run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Model iterations run by the current test (printed at its end).
static ITERATIONS: AtomicUsize = AtomicUsize::new(0);

/// Runs `body` under `loom::model`: one test at a time, with the hook counters reset
/// before every iteration, and the number of interleavings printed when it ends.
fn model(body: impl Fn() + Sync + Send + 'static) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _report = Report;
    loom::model(move || {
        ITERATIONS.fetch_add(1, StdOrdering::SeqCst);
        LIVE.store(0, StdOrdering::SeqCst);
        ALLOCS.store(0, StdOrdering::SeqCst);
        body();
    });
}

#[test]
fn racing_first_uses_publish_one_master_and_return_the_losers() {
    model(|| {
        let cache = Arc::new(Cache::new());
        let c2 = cache.clone();
        let t = loom::thread::spawn(move || *c2.alloc(1));
        let mine = cache.alloc(2);
        assert_eq!(t.join().unwrap(), 1);
        assert_eq!(*mine, 2);
        assert_eq!(cache.stats().slabs, 1, "one master published");
        assert_eq!(
            LIVE.load(StdOrdering::SeqCst),
            1,
            "a losing master went back"
        );
        drop(mine);
        drop(cache);
        assert_eq!(LIVE.load(StdOrdering::SeqCst), 0);
    });
}

#[test]
fn last_handle_and_last_box_on_two_threads_release_everything_once() {
    model(|| {
        let cache = Cache::new();
        let b = cache.alloc(7);
        let clone = cache.clone();
        let t = loom::thread::spawn(move || {
            assert_eq!(*b, 7);
            drop(b);
        });
        drop(cache);
        drop(clone);
        t.join().unwrap();
        assert_eq!(
            LIVE.load(StdOrdering::SeqCst),
            0,
            "every slab back exactly once"
        );
        assert_eq!(ALLOCS.load(StdOrdering::SeqCst), 1);
    });
}

#[test]
fn a_cloned_handle_dropped_on_another_thread_keeps_boxes_valid() {
    model(|| {
        let cache = Cache::new();
        let a = cache.alloc(1);
        let clone = cache.clone();
        let t = loom::thread::spawn(move || {
            let b = clone.alloc(2);
            drop(clone);
            *b
        });
        assert_eq!(*a, 1);
        drop(a); // races with the other thread's allocation and handle drop
        let got = t.join().unwrap();
        assert_eq!(got, 2);
        assert_eq!(
            LIVE.load(StdOrdering::SeqCst),
            1,
            "the first handle still holds the master"
        );
        drop(cache);
        assert_eq!(LIVE.load(StdOrdering::SeqCst), 0);
    });
}

#[test]
fn magazine_exchange_loses_no_slot_and_never_double_counts() {
    model(|| {
        // Magazines need a cache that is never dropped, like the `static` of a
        // `#[slab_cached]` type: leak one per iteration.
        let cache: &'static Cache = Box::leak(Box::new(Cache::new()));
        let worker = move || {
            // SAFETY: used with the one leaked `cache` only, and never moved: it stays in
            // this stack slot until it is dropped in place at the end of the closure.
            let mags = unsafe { ThreadCache::<u64, LoomLock, 512>::new() };
            // SAFETY: `cache` is leaked, so never dropped; `mags` stays in this stack slot
            // until it is dropped in place at the end of the closure.
            let slots: Vec<_> = (0..3)
                .map(|_| unsafe { mags.model_pop(cache) }.unwrap())
                .collect();
            for slot in slots {
                // SAFETY: popped above from this cache, holds no value, not used again.
                unsafe { mags.model_push(slot) };
            }
        };
        let t1 = loom::thread::spawn(worker);
        let t2 = loom::thread::spawn(worker);
        let seen = cache.stats().in_use;
        assert!(seen <= 6, "in_use {seen} counts magazine slots as in use");
        t1.join().unwrap();
        t2.join().unwrap();
        let s = cache.stats();
        assert_eq!(s.in_use, 0, "every slot came back");
        let scan = cache.scan().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            scan.in_use_slots, scan.parked,
            "slots out of slabs are all parked"
        );
    });
}

#[test]
fn handle_magazines_lose_no_slot_and_release_the_master_once() {
    model(|| {
        let mut cache = Cache::new();
        // The worker owns a cloned handle: fills and drains its magazine (across its
        // boundary under `slab_small`), keeps one box, and drops the handle, which gives
        // the magazines back, while this thread reads `stats()` and uses its own handle's
        // magazine on the same depot.
        let mut h = cache.clone();
        let t = loom::thread::spawn(move || {
            let boxes: Vec<_> = (0..3).map(|i| h.alloc_mut(i)).collect();
            for (i, b) in boxes.into_iter().enumerate() {
                assert_eq!(*b, i as u64);
                h.free(b);
            }
            let kept = h.alloc_mut(9);
            drop(h);
            kept
        });
        let seen = cache.stats().in_use;
        assert!(seen <= 3, "in_use {seen} counts magazine slots as in use");
        let mine = cache.alloc_mut(5);
        let kept = t.join().unwrap();
        assert_eq!((*kept, *mine), (9, 5));
        assert_eq!(cache.stats().in_use, 2, "exactly the two boxes are in use");
        cache.free(mine);
        let scan = cache.scan().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scan.in_use_slots - scan.parked - scan.held, 1);
        drop(cache);
        assert_ne!(
            LIVE.load(StdOrdering::SeqCst),
            0,
            "the box keeps the master"
        );
        drop(kept);
        assert_eq!(
            LIVE.load(StdOrdering::SeqCst),
            0,
            "the last box returned every slab"
        );
    });
}

/// A slot pointer moved to another model thread.
struct SendSlot(NonNull<u8>);

// SAFETY: the slot is owned by whoever holds the wrapper (I2); moving it moves ownership.
unsafe impl Send for SendSlot {}

#[test]
fn a_thread_table_entry_keeps_a_dropped_cache_until_its_thread_releases_it() {
    model(|| {
        let cache = Cache::new();
        let b = cache.alloc(7);
        let clone = cache.clone();
        let t = loom::thread::spawn(move || {
            // SAFETY: the table stays in this stack slot, on this thread, until it is
            // dropped at the end of the closure.
            let table = unsafe { Table::new() };
            // SAFETY: the table is used on this thread only and does not move.
            let slot = unsafe { table.model_alloc(&clone) }.unwrap();
            // SAFETY: as above; `slot` came from this cache, holds no value, not used again.
            unsafe { table.model_free::<u64, LoomLock, 512, slab_core::Hooks>(slot) };
            drop(clone);
            // Dropping the table releases its entry: magazine back, unregistered, and the
            // cache destroyed if the other thread is done with it.
            drop(table);
        });
        drop(cache); // races the other thread's registration, free and release
        assert_eq!(*b, 7);
        drop(b);
        t.join().unwrap();
        assert_eq!(
            LIVE.load(StdOrdering::SeqCst),
            0,
            "every slab back exactly once"
        );
    });
}

#[test]
fn a_box_freed_through_a_thread_table_races_the_last_handle() {
    model(|| {
        let cache = Cache::new();
        let slot = SendSlot(
            NonNull::new(slab_core::SlabBox::into_raw(cache.alloc(3)))
                .unwrap()
                .cast(),
        );
        let t = loom::thread::spawn(move || {
            let slot = slot;
            // SAFETY: the table stays in this stack slot, on this thread, until it is
            // dropped at the end of the closure.
            let table = unsafe { Table::new() };
            // SAFETY: `slot` came from a `Cache` (a `u64` needs no drop), is given up here
            // and not used again; the table is used on this thread only.
            unsafe { table.model_free::<u64, LoomLock, 512, slab_core::Hooks>(slot.0) };
        });
        drop(cache); // before the free: no entry, the lock; after it: the entry's release
        t.join().unwrap();
        assert_eq!(
            LIVE.load(StdOrdering::SeqCst),
            0,
            "the last slot released the cache once"
        );
    });
}

/// Drops of [`Shared`] values in the current model iteration.
static DROPS: AtomicUsize = AtomicUsize::new(0);

/// A value whose reads and writes loom checks for races; counts its drops.
struct Shared(loom::cell::UnsafeCell<u64>);

// SAFETY: the claim under test: reads go through shared `SlabArc`s, writes only through
// `get_mut`/`make_mut` (which need the only reference) and `drop` (after the last one);
// loom reports any read and write that are not ordered.
unsafe impl Sync for Shared {}

impl Shared {
    fn new(v: u64) -> Self {
        Shared(loom::cell::UnsafeCell::new(v))
    }
    fn read(&self) -> u64 {
        // SAFETY: a shared read; loom checks it against every write.
        self.0.with(|p| unsafe { *p })
    }
    fn write(&mut self, v: u64) {
        self.0.with_mut(|p| {
            // SAFETY: `&mut self`: exclusive, and loom checks it.
            unsafe { *p = v }
        });
    }
}
impl Clone for Shared {
    fn clone(&self) -> Self {
        Shared::new(self.read())
    }
}
impl Drop for Shared {
    fn drop(&mut self) {
        self.write(u64::MAX);
        DROPS.fetch_add(1, StdOrdering::SeqCst);
    }
}

type ArcCache = SlabCache<ArcInner<Shared>, LoomLock, 1024>;

/// Checks that every value was dropped once and every slot and slab went back.
fn all_released(cache: ArcCache, values: usize) {
    assert_eq!(
        DROPS.load(StdOrdering::SeqCst),
        values,
        "each value dropped once"
    );
    assert_eq!(cache.stats().in_use, 0, "every slot back once");
    drop(cache);
    assert_eq!(LIVE.load(StdOrdering::SeqCst), 0);
}

#[test]
fn arc_last_strong_and_last_weak_on_two_threads_release_once() {
    model(|| {
        DROPS.store(0, StdOrdering::SeqCst);
        let cache = ArcCache::new();
        let a = cache.alloc_arc(Shared::new(1));
        let b = SlabArc::clone(&a);
        let w = SlabArc::downgrade(&a);
        let t = loom::thread::spawn(move || {
            assert_eq!(b.read(), 1);
            drop(b);
            drop(w);
        });
        assert_eq!(a.read(), 1);
        drop(a);
        t.join().unwrap();
        all_released(cache, 1);
    });
}

#[test]
fn arc_upgrade_races_the_last_strong_drop() {
    model(|| {
        DROPS.store(0, StdOrdering::SeqCst);
        let cache = ArcCache::new();
        let a = cache.alloc_arc(Shared::new(2));
        let w = SlabArc::downgrade(&a);
        let t = loom::thread::spawn(move || {
            // Either the value is still there (and stays until `b` goes), or it is gone
            // for good.
            let got = w.upgrade().map(|b| b.read());
            assert!(w.upgrade().is_none() || got.is_some());
            got
        });
        drop(a);
        let got = t.join().unwrap();
        assert!(got.is_none() || got == Some(2));
        all_released(cache, 1);
    });
}

#[test]
fn arc_get_mut_races_a_weak_reference_s_upgrade_and_drop() {
    model(|| {
        DROPS.store(0, StdOrdering::SeqCst);
        let cache = ArcCache::new();
        let mut a = cache.alloc_arc(Shared::new(3));
        let w = SlabArc::downgrade(&a);
        let t = loom::thread::spawn(move || {
            let b = w.upgrade();
            drop(w);
            b.map(|b| b.read())
        });
        // Unique only once the other thread dropped both its references; the write then
        // happens after its read (loom checks).
        if let Some(v) = SlabArc::get_mut(&mut a) {
            v.write(4);
        }
        let read = t.join().unwrap();
        assert!(matches!(read, None | Some(3) | Some(4)));
        assert!(SlabArc::get_mut(&mut a).is_some(), "unique after the join");
        drop(a);
        all_released(cache, 1);
    });
}

#[test]
fn arc_make_mut_races_a_weak_reference() {
    model(|| {
        DROPS.store(0, StdOrdering::SeqCst);
        let cache = ArcCache::new();
        let mut a = cache.alloc_arc(Shared::new(5));
        let w = SlabArc::downgrade(&a);
        let t = loom::thread::spawn(move || w.upgrade().map(|b| b.read()));
        // In place, cloned (the other thread holds a strong reference) or moved (it holds
        // only the weak one): the write never races its read.
        let before = SlabArc::as_ptr(&a);
        SlabArc::make_mut(&mut a).write(6);
        let in_place = SlabArc::as_ptr(&a) == before;
        let read = t.join().unwrap();
        assert!(matches!(read, None | Some(5)));
        assert_eq!(a.read(), 6);
        drop(a);
        // A clone made a second value; a move or an in-place write did not.
        let values = DROPS.load(StdOrdering::SeqCst);
        assert!(values == 1 || values == 2);
        if in_place {
            assert_eq!(values, 1, "written in place: one value");
        }
        all_released(cache, values);
    });
}
