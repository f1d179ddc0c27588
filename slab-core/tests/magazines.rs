//! The per-type fast path: thread-local magazines of `#[slab_cached]` types (driven here
//! through the macro's runtime half, `__private::slab_cached_impl!`).

mod common;

use std::sync::mpsc;

use common::{Tracker, scaled};
use slab_core::{Boxed, SlabBox, SlabCached, SpinLock};

/// Declares a cached particle type per test: tests run in parallel, and each asserts on
/// its own type's counters.
macro_rules! particle_type {
    ($name:ident, $new:ident) => {
        #[derive(Debug, PartialEq)]
        struct $name {
            id: u64,
            pos: [f32; 3],
        }
        slab_core::__private::slab_cached_impl!($name, SpinLock, 1024);
        impl $name {
            fn make(id: u64) -> Self {
                $name {
                    id,
                    pos: [id as f32; 3],
                }
            }
        }
        #[allow(dead_code, reason = "not every test allocates through the helper")]
        fn $new(id: u64) -> Boxed<$name> {
            slab_core::__private::new_boxed($name::make(id))
        }
    };
}

particle_type!(PA, new_a);

#[test]
fn stats_count_magazine_slots_as_free_and_stay_exact() {
    let _t = Tracker::new();
    std::thread::spawn(|| {
        let before = PA::slab_cache().stats().in_use;
        let boxes: Vec<_> = (0..scaled(1000) as u64).map(new_a).collect();
        assert_eq!(PA::slab_cache().stats().in_use, before + boxes.len());
        assert!(
            boxes
                .iter()
                .enumerate()
                .all(|(i, b)| **b == PA::make(i as u64))
        );
        let n = boxes.len();
        drop(boxes);
        let s = PA::slab_cache().stats();
        assert_eq!(
            s.in_use, before,
            "freed boxes sit in magazines, counted as free"
        );
        assert!(s.peak >= before + n);
    })
    .join()
    .unwrap();
}

particle_type!(PB, new_b);

#[test]
fn an_exiting_thread_gives_its_magazines_back() {
    let _t = Tracker::new();
    for _ in 0..scaled(20) {
        std::thread::spawn(|| {
            let v: Vec<_> = (0..100).map(new_b).collect();
            drop(v);
            let b = new_b(5);
            assert_eq!(b.id, 5);
        })
        .join()
        .unwrap();
    }
    assert_eq!(PB::slab_cache().stats().in_use, 0);
    let scan = PB::slab_cache().scan().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.held, 0, "no exited thread still holds a magazine");
    assert_eq!(scan.in_use_slots, scan.parked);
}

particle_type!(PC, new_c);

#[test]
fn a_consumer_thread_frees_what_a_producer_allocates() {
    let _t = Tracker::new();
    let (tx, rx) = mpsc::sync_channel::<Boxed<PC>>(256);
    let n = scaled(50_000) as u64;
    let producer = std::thread::spawn(move || {
        for i in 0..n {
            tx.send(new_c(i)).unwrap();
        }
    });
    let consumer = std::thread::spawn(move || {
        let mut next = 0;
        for b in rx {
            assert_eq!(*b, PC::make(next));
            next += 1;
        }
        next
    });
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), n);
}

particle_type!(PD, new_d);

#[test]
fn uninit_boxes_and_raw_round_trips_use_the_same_pool() {
    let _t = Tracker::new();
    let u = slab_core::__private::new_uninit_boxed::<PD>();
    let b = SlabBox::write(u, PD::make(3));
    let raw = SlabBox::into_raw(b);
    // SAFETY: `raw` came from `into_raw` of a `Boxed<PD>`, once.
    let b: Boxed<PD> = unsafe { SlabBox::from_raw(raw) };
    assert_eq!(b.id, 3);
}

struct DropsBoxInTls(Option<Boxed<PE>>);
thread_local! {
    static LATE: std::cell::RefCell<DropsBoxInTls> = const { std::cell::RefCell::new(DropsBoxInTls(None)) };
}

particle_type!(PE, new_e);

#[test]
fn boxes_dropped_after_the_magazines_are_gone_go_to_the_depot() {
    let _t = Tracker::new();
    std::thread::spawn(|| {
        let b = new_e(11);
        // Registered after the magazines, so destroyed after them at thread exit.
        LATE.with(|l| l.borrow_mut().0 = Some(b));
    })
    .join()
    .unwrap();
    assert_eq!(PE::slab_cache().stats().in_use, 0);
}

particle_type!(PF, new_f);

#[test]
fn a_box_allocated_on_one_thread_can_be_the_first_free_of_another() {
    let _t = Tracker::new();
    let boxes: Vec<_> = (0..scaled(300) as u64).map(new_f).collect();
    std::thread::spawn(move || drop(boxes)).join().unwrap();
    assert_eq!(PF::slab_cache().stats().in_use, 0);
}

particle_type!(PG, new_g);

#[test]
fn peak_counts_objects_not_magazine_slots() {
    let _t = Tracker::new();
    std::thread::spawn(|| {
        let one = new_g(1);
        let s = PG::slab_cache().stats();
        assert_eq!(
            (s.in_use, s.peak),
            (1, 1),
            "a refilled magazine is not in use"
        );
        let many: Vec<_> = (0..100).map(new_g).collect();
        let s = PG::slab_cache().stats();
        assert_eq!((s.in_use, s.peak), (101, 101));
        drop((one, many));
        slab_core::flush_thread_cache::<PG>();
        let s = PG::slab_cache().stats();
        assert_eq!((s.in_use, s.peak), (0, 101));
        PG::slab_cache().shrink();
        assert_eq!(
            PG::slab_cache().stats().slabs,
            1,
            "flushed magazines let shrink release slabs"
        );
    })
    .join()
    .unwrap();
}

particle_type!(PH, new_h);

#[test]
fn generic_code_allocates_through_boxed_new() {
    fn make<T: SlabCached>(v: T) -> Boxed<T> {
        Boxed::new(v)
    }
    let b = make(PH::make(4));
    assert_eq!(b.id, 4);
    let c = Boxed::<PH>::try_new(PH::make(5)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.id, 5);
}

particle_type!(PI, new_i);

/// Set by `Early`'s destructor: what it saw of the thread's magazines.
static EARLY_SAW_HELD: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(usize::MAX);

struct Early(Option<Boxed<PI>>);
impl Drop for Early {
    fn drop(&mut self) {
        // Runs at thread exit, after the exit list gave this thread's magazines back
        // (destructors run in reverse order of registration, and `EARLY` registered
        // first): freeing and allocating now must take the depot path.
        EARLY_SAW_HELD.store(
            PI::slab_cache().scan().map_or(usize::MAX - 1, |r| r.held),
            std::sync::atomic::Ordering::SeqCst,
        );
        drop(self.0.take());
        let late = new_i(77);
        assert_eq!(late.id, 77);
    }
}
thread_local! {
    static EARLY: std::cell::RefCell<Early> = const { std::cell::RefCell::new(Early(None)) };
}

#[test]
fn after_the_exit_list_ran_frees_and_allocations_take_the_depot_path() {
    let _t = Tracker::new();
    std::thread::spawn(|| {
        EARLY.with(|_| ()); // its destructor registers before the exit list's
        let keep = new_i(1);
        let churn: Vec<_> = (0..50).map(new_i).collect();
        drop(churn); // leaves slots in this thread's magazines
        EARLY.with(|e| e.borrow_mut().0 = Some(keep));
    })
    .join()
    .unwrap();
    let s = PI::slab_cache().stats();
    assert_eq!(
        s.in_use, 0,
        "the late free and the late allocation both went back"
    );
    let scan = PI::slab_cache().scan().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.held, 0, "no slot stranded in a dead thread's magazine");
    let saw = EARLY_SAW_HELD.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        saw == 0,
        "the late destructor ran after the magazines went back (held {saw})"
    );
}

particle_type!(PJ, new_j);

/// Called inside the allocation hook: allocates and frees a `PJ` on the hook's thread.
fn hook_allocates_a_pj() {
    let b = new_j(1000);
    assert_eq!(b.id, 1000);
}

#[test]
fn a_hook_that_allocates_the_type_it_is_growing_registers_the_thread_once() {
    let t = Tracker::new();
    let id = t.id();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        id.enter();
        // The first allocation registers this thread, which allocates the master; the hook
        // then allocates a `PJ` on this thread, which registers it from inside.
        common::on_next_alloc(hook_allocates_a_pj);
        let v: Vec<_> = (0..200).map(new_j).collect();
        assert!(v.iter().enumerate().all(|(i, b)| b.id == i as u64));
        drop(v);
        // `stats` walks the registry: a node linked twice points at itself.
        tx.send(PJ::slab_cache().stats().in_use).unwrap();
    });
    let in_use = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("stats() returns: the registry has no cycle");
    assert_eq!(in_use, 0);
    thread.join().unwrap();
    // The thread's exit gave its magazines back and unlinked its node.
    let scan = PJ::slab_cache().scan().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.held, 0);
    assert_eq!(scan.in_use_slots, scan.parked);
    assert_eq!(PJ::slab_cache().stats().in_use, 0);
}

particle_type!(PK, new_k);

/// Called inside the allocation hook while a refill waits for it: allocates and frees
/// `PK`s on the same thread, which refills the same magazines from inside.
fn hook_allocates_and_frees_pks() {
    let v: Vec<_> = (0..3).map(|i| new_k(2000 + i)).collect();
    assert!(v.iter().enumerate().all(|(i, b)| b.id == 2000 + i as u64));
}

#[test]
fn a_hook_that_allocates_the_type_it_is_refilling_strands_no_slot() {
    let _t = Tracker::new();
    std::thread::spawn(|| {
        let mut keep: Vec<_> = (0..10).map(new_k).collect();
        for round in 0..scaled(20) as u64 {
            common::on_next_alloc(hook_allocates_and_frees_pks);
            let grown = PK::slab_cache().stats().hook_allocs;
            while PK::slab_cache().stats().hook_allocs == grown {
                keep.push(new_k(round));
            }
            assert_eq!(keep.last().map(|b| b.id), Some(round));
        }
        let n = keep.len();
        assert_eq!(PK::slab_cache().stats().in_use, n);
        drop(keep);
        assert_eq!(PK::slab_cache().stats().in_use, 0);
    })
    .join()
    .unwrap();
    assert_eq!(
        PK::slab_cache().stats().in_use,
        0,
        "every slot came back: none was stranded in an overwritten magazine"
    );
    let scan = PK::slab_cache().scan().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.held, 0);
    assert_eq!(scan.in_use_slots, scan.parked);
}
