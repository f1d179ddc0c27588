//! Large values are built in place: a 64 KiB value is constructed in a thread whose
//! whole stack is smaller than the value. The closure constructors (`alloc_with`,
//! `alloc_mut_with`, `new_boxed_with`, their `try_` forms) build the value they are given,
//! give the slot back when the closure panics, and do not call it without a slot;
//! `SlabBox::init_with` writes in the slot and refuses a reference to anything else.

mod common;

use slab_core::{SlabBox, SlabCache, SpinLock};

/// A 64 KiB frame buffer with a header.
struct Frame {
    id: u32,
    len: usize,
    data: [u8; 65536],
}

static FRAMES: SlabCache<Frame, SpinLock, { 1 << 18 }> = SlabCache::new();

#[test]
fn a_64k_value_is_built_in_a_thread_with_a_32k_stack() {
    let t = common::Tracker::new();
    let id = t.id();
    let b = std::thread::Builder::new()
        .stack_size(32 * 1024)
        .spawn(move || {
            id.enter();
            let mut uninit = FRAMES.alloc_uninit();
            let p = SlabBox::as_mut_ptr(&mut uninit).cast::<Frame>();
            // Each field is written through a raw place, so no reference to uninitialised
            // memory exists.
            // SAFETY: `p` points to a slot valid for one `Frame` (in bounds and aligned), so
            // the projection to a field stays in bounds; no reference is created.
            let id_field = unsafe { &raw mut (*p).id };
            // SAFETY: `p` points to a slot valid for one `Frame`; the field projection stays
            // in bounds and creates no reference.
            let len_field = unsafe { &raw mut (*p).len };
            // SAFETY: `p` points to a slot valid for one `Frame`; the field projection stays
            // in bounds and creates no reference.
            let data_field = unsafe { &raw mut (*p).data };
            // SAFETY: `id_field` is a field of the slot: valid for writes and aligned for `u32`,
            // and nothing else refers to the slot.
            unsafe { id_field.write(7) };
            // SAFETY: `len_field` is a field of the slot: valid for writes and aligned for
            // `usize`, and nothing else refers to the slot.
            unsafe { len_field.write(65536) };
            // SAFETY: `data_field` is 65536 bytes of the slot, valid for writes; `u8` needs no
            // alignment beyond 1.
            unsafe { data_field.cast::<u8>().write_bytes(0x5A, 65536) };
            // SAFETY: every field was written above.
            unsafe { uninit.assume_init() }
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!((b.id, b.len), (7, 65536));
    assert!(b.data.iter().all(|&x| x == 0x5A));
    assert!(size_of::<Frame>() > 32 * 1024);
    drop(b);
    assert_eq!(FRAMES.stats().in_use, 0);
}

// ---- the closure constructors and `SlabBox::init_with` ----

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropCounter, Tracker, must_panic};
use slab_core::{Boxed, SlabError, slab_cached};

/// A packet-shaped value: a header and a payload.
#[derive(Debug)]
struct Pkt {
    seq: u64,
    len: u16,
    payload: [u8; 1400],
}

fn pkt(seq: u64) -> Pkt {
    let mut p = Pkt {
        seq,
        len: 1400,
        payload: [0; 1400],
    };
    p.payload[seq as usize % 1400] = 0xab;
    p
}

fn is_pkt(p: &Pkt, seq: u64) -> bool {
    p.seq == seq
        && p.len == 1400
        && p.payload
            .iter()
            .enumerate()
            .all(|(i, &b)| b == if i == seq as usize % 1400 { 0xab } else { 0 })
}

#[slab_cached]
struct CachedPkt(Pkt);

// One type per test: tests run in parallel, and each checks its type's `in_use`.
#[slab_cached]
struct PanickyPkt(#[allow(dead_code, reason = "never built: its closure panics")] Pkt);

#[slab_cached]
struct InitPkt(Pkt);

#[test]
fn every_closure_constructor_builds_the_value_it_is_given() {
    let t = Tracker::new();
    let cache: SlabCache<Pkt, SpinLock, 8192> = SlabCache::new();
    let a = cache.alloc_with(|| pkt(1));
    let b = cache.try_alloc_with(|| pkt(2)).unwrap();
    let mut h = cache.clone();
    let c = h.alloc_mut_with(|| pkt(3));
    let d = h.try_alloc_mut_with(|| pkt(4)).unwrap();
    assert!(is_pkt(&a, 1) && is_pkt(&b, 2) && is_pkt(&c, 3) && is_pkt(&d, 4));
    assert_eq!(cache.stats().in_use, 4);
    h.free(c);
    h.free(d);
    drop((a, b, h));
    let e: Boxed<CachedPkt> = CachedPkt::new_boxed_with(|| CachedPkt(pkt(5)));
    let f = CachedPkt::try_new_boxed_with(|| CachedPkt(pkt(6))).unwrap();
    let g: Boxed<CachedPkt> = Boxed::new_with(|| CachedPkt(pkt(7)));
    let k = Boxed::<CachedPkt>::try_new_with(|| CachedPkt(pkt(8))).unwrap();
    assert!(is_pkt(&e.0, 5) && is_pkt(&f.0, 6) && is_pkt(&g.0, 7) && is_pkt(&k.0, 8));
    drop((e, f, g, k));
    assert_eq!(CachedPkt::slab_cache().stats().in_use, 0);
    assert_eq!(cache.stats().in_use, 0);
    drop(cache);
    // A `static` cache keeps its slabs.
    assert_eq!(t.live_blocks(), CachedPkt::slab_cache().stats().slabs);
}

#[test]
fn a_panicking_closure_returns_the_slot_and_drops_nothing() {
    let t = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cache: SlabCache<DropCounter, SpinLock, 1024> = SlabCache::new();
    let first = cache.alloc(DropCounter(drops.clone(), 0));
    let slot = SlabBox::as_ptr(&first).addr();
    drop(first);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // The value is never built: nothing to drop, and the slot goes back (LIFO: the same
    // slot is handed out next).
    must_panic(|| {
        let _ = cache.alloc_with(|| -> DropCounter { panic!("make fails") });
    });
    let again = cache.alloc(DropCounter(drops.clone(), 1));
    assert_eq!(
        SlabBox::as_ptr(&again).addr(),
        slot,
        "the slot is reused first"
    );
    drop(again);
    let mut h = cache.clone();
    must_panic(|| {
        let _ = h.alloc_mut_with(|| -> DropCounter { panic!("make fails") });
    });
    assert_eq!(
        drops.load(Ordering::SeqCst),
        2,
        "no value was built, none dropped"
    );
    assert_eq!(cache.stats().in_use, 0, "the slots went back");
    drop(h);
    // Built values are dropped exactly once as usual.
    let held = DropCounter(drops.clone(), 2);
    let b = cache.alloc_with(move || held);
    assert_eq!(b.1, 2);
    drop(b);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    must_panic(|| {
        let _ = PanickyPkt::new_boxed_with(|| panic!("make fails"));
    });
    assert_eq!(PanickyPkt::slab_cache().stats().in_use, 0);
    drop(cache);
    // A `static` cache keeps its slabs.
    assert_eq!(t.live_blocks(), PanickyPkt::slab_cache().stats().slabs);
}

#[test]
fn without_memory_the_closure_is_not_called() {
    let t = Tracker::new();
    let cache: SlabCache<u64, SpinLock, 1024> = SlabCache::new();
    let called = Cell::new(false);
    common::fail_on_call(1);
    let e = cache.try_alloc_with(|| {
        called.set(true);
        1
    });
    assert_eq!(e.err(), Some(SlabError::OutOfMemory));
    let mut h = SlabCache::<u64, SpinLock, 1024>::new();
    common::fail_on_call(1);
    let e = h.try_alloc_mut_with(|| {
        called.set(true);
        2
    });
    assert_eq!(e.err(), Some(SlabError::OutOfMemory));
    assert!(!called.get(), "no slot, no call");
    common::no_failures();
    assert_eq!(*cache.alloc_with(|| 3), 3);
    drop((cache, h));
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn init_with_writes_in_the_slot_and_patches_it_there() {
    let _t = Tracker::new();
    let seq = 777u64;
    let p = SlabBox::init_with(InitPkt::new_uninit_boxed(), |slot| {
        let p = slot.write(InitPkt(Pkt {
            seq,
            len: 1400,
            payload: [0; 1400],
        }));
        p.0.payload[seq as usize % 1400] = 0xab;
        p
    });
    assert!(is_pkt(&p.0, seq));
    let frames: SlabCache<Frame, SpinLock, { 1 << 18 }> = SlabCache::new();
    let b = SlabBox::init_with(frames.alloc_uninit(), |slot| {
        let f = slot.write(Frame {
            id: 1,
            len: 0,
            data: [0; 65536],
        });
        f.data[65535] = 9;
        f
    });
    assert_eq!((b.id, b.data[65535]), (1, 9));
}

#[test]
fn init_with_returns_the_slot_if_the_closure_panics_or_cheats() {
    let t = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cache: SlabCache<DropCounter, SpinLock, 1024> = SlabCache::new();
    // Panics before writing: nothing to drop.
    must_panic(|| {
        let _ = SlabBox::init_with(cache.alloc_uninit(), |_| panic!("init fails"));
    });
    // Panics after writing: the value stays unseen and undropped (as a `MaybeUninit`
    // would), the slot goes back.
    let d = drops.clone();
    must_panic(|| {
        let _ = SlabBox::init_with(cache.alloc_uninit(), |slot| {
            slot.write(DropCounter(d, 1));
            panic!("init fails after writing")
        });
    });
    // Returns a reference to a value elsewhere: refused, the slot goes back.
    let elsewhere: &'static mut DropCounter = Box::leak(Box::new(DropCounter(drops.clone(), 2)));
    common::leak_on_purpose(std::ptr::from_ref(elsewhere));
    let c = &cache;
    let msg = must_panic(move || {
        let _ = SlabBox::init_with(c.alloc_uninit(), |_| elsewhere);
    });
    assert!(msg.contains("not in the slot it was given"), "{msg}");
    assert_eq!(drops.load(Ordering::SeqCst), 0, "nothing dropped");
    assert_eq!(cache.stats().in_use, 0, "every slot went back");
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}
