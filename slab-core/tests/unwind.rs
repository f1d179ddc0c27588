//! Panics and broken hooks lose nothing: a destructor that panics still returns its slot,
//! a free hook that panics strands no slab, and a hook that breaks its alignment promise
//! makes an allocation fail with the value handed back.
//!
//! Before the fix: after a panicking drop `stats().in_use` stayed 1 (and the master of a
//! runtime cache never went back); one panicking free call in `shrink` left 125 slabs out
//! with `stats().slabs == 1`; a misaligned block made `try_alloc` panic and drop the value.

mod common;

use common::{Tracker, must_panic};
use slab_core::{SlabBox, SlabCache, SlabError, SpinLock, flush_thread_cache, slab_cached};

/// Its destructor panics when `.0` is true.
struct Bomb(bool, u64);

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.0 {
            panic!("a planted panic in Bomb::drop");
        }
    }
}

#[slab_cached]
struct CachedBomb(Bomb);

#[test]
fn a_panicking_drop_still_returns_the_slot_of_a_runtime_box() {
    let t = Tracker::new();
    let cache: SlabCache<Bomb> = SlabCache::new();
    let b = cache.alloc(Bomb(true, 1));
    let slot = SlabBox::as_ptr(&b);
    must_panic(|| drop(b));
    assert_eq!(cache.stats().in_use, 0);
    // The slot is free again, and reused first.
    let again = cache.alloc(Bomb(false, 2));
    assert_eq!(SlabBox::as_ptr(&again), slot);
    assert_eq!(cache.stats().in_use, 1);
    drop(again);
    drop(cache);
    assert_eq!(t.live_blocks(), 0, "the master went back to the free hook");
}

#[test]
fn a_panicking_drop_still_returns_the_slot_through_a_handles_free() {
    let t = Tracker::new();
    let mut cache: SlabCache<Bomb> = SlabCache::new();
    let b = cache.alloc_mut(Bomb(true, 1));
    must_panic(|| cache.free(b));
    assert_eq!(cache.stats().in_use, 0);
    let b = cache.alloc_mut(Bomb(false, 2));
    cache.free(b);
    assert_eq!(cache.stats().in_use, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn a_panicking_drop_still_returns_the_slot_of_a_slab_cached_box() {
    let b = CachedBomb::new_boxed(CachedBomb(Bomb(true, 1)));
    must_panic(|| drop(b));
    flush_thread_cache::<CachedBomb>();
    assert_eq!(CachedBomb::slab_cache().stats().in_use, 0);
    let b = CachedBomb::new_boxed(CachedBomb(Bomb(false, 2)));
    assert_eq!(b.0.1, 2);
    drop(b);
    flush_thread_cache::<CachedBomb>();
    assert_eq!(CachedBomb::slab_cache().stats().in_use, 0);
}

#[test]
fn the_last_box_of_a_cache_releases_everything_even_if_its_drop_panics() {
    let t = Tracker::new();
    let cache: SlabCache<Bomb> = SlabCache::new();
    let b = cache.alloc(Bomb(true, 1));
    drop(cache);
    assert_eq!(t.live_blocks(), 1, "the box keeps the master");
    must_panic(|| drop(b));
    assert_eq!(t.live_blocks(), 0);
}

/// Slabs of a cache of `u64` in 512-byte slabs, so a few hundred objects span many slabs.
type Small = SlabCache<u64, SpinLock, 512>;

/// Books are exact when the cache counts exactly the blocks the hook still has out. A
/// block whose free call panicked counts as given back: the planted hook took it first.
fn books_exact(cache: &Small, t: &Tracker) {
    assert_eq!(
        cache.stats().slabs,
        t.live_blocks(),
        "stats and the hook agree"
    );
}

#[test]
fn a_free_hook_that_panics_in_shrink_strands_no_slab() {
    let t = Tracker::new();
    let cache = Small::new();
    cache.keep_empty(usize::MAX);
    let boxes: Vec<_> = (0..400).map(|i| cache.alloc(i)).collect();
    drop(boxes);
    // The slots in this thread's magazine go back to their slabs too.
    slab_core::flush_thread_caches();
    let slabs = cache.stats().slabs;
    assert!(slabs > 3, "{slabs}");
    common::panic_on_free(1);
    let msg = must_panic(|| {
        cache.shrink();
    });
    assert!(msg.contains("planted"), "{msg}");
    books_exact(&cache, &t);
    assert_eq!(
        t.live_blocks(),
        1,
        "every slave went back, the master stays"
    );
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn a_free_hook_that_panics_when_the_last_handle_goes_strands_no_slab() {
    let t = Tracker::new();
    let cache = Small::new();
    cache.keep_empty(usize::MAX);
    let boxes: Vec<_> = (0..400).map(|i| cache.alloc(i)).collect();
    drop(boxes);
    assert!(t.live_blocks() > 3);
    common::panic_on_free(2);
    must_panic(|| drop(cache));
    assert_eq!(
        t.live_blocks(),
        0,
        "the slaves after the panic and the master went back"
    );
}

#[test]
fn a_free_hook_that_panics_on_the_last_boxs_free_still_releases_the_cache() {
    let t = Tracker::new();
    let cache = Small::new();
    cache.keep_empty(0);
    let master_slots = cache.stats().objects_per_slab;
    // Fill the master, then one box in a slave: freeing it retires the slave (keep 0).
    let mut boxes: Vec<_> = (0..master_slots as u64 + 8)
        .map(|i| cache.alloc(i))
        .collect();
    let last = boxes.pop().unwrap();
    drop(boxes);
    drop(cache);
    assert!(t.live_blocks() >= 2);
    common::panic_on_free(1);
    must_panic(|| drop(last));
    assert_eq!(
        t.live_blocks(),
        0,
        "the master went back after the panicking free"
    );
}

#[test]
fn a_misaligned_block_from_the_hook_fails_the_allocation_and_hands_the_value_back() {
    let t = Tracker::new();
    let cache: SlabCache<String, SpinLock, 512> = SlabCache::new();
    common::misalign_next(1);
    let e = cache.try_alloc("kept".to_string()).unwrap_err();
    assert_eq!(e.error(), SlabError::AlignmentMismatch);
    assert!(e.to_string().contains("aligned"), "{e}");
    assert_eq!(e.into_inner(), "kept");
    assert_eq!(
        t.live_blocks(),
        0,
        "the misaligned block went straight back"
    );

    common::misalign_next(1);
    let msg = must_panic(|| {
        let _ = cache.alloc("lost?".to_string());
    });
    assert!(msg.contains("not aligned to the slab size"), "{msg}");

    let mut handle = cache.clone();
    let b = handle.alloc_mut("master".to_string()); // the master, well aligned
    let slots = handle.stats().objects_per_slab;
    let mut more: Vec<_> = (1..slots)
        .map(|i| handle.alloc_mut(i.to_string()))
        .collect();
    common::misalign_next(1);
    let e = loop {
        match handle.try_alloc_mut("next".to_string()) {
            Ok(b) => more.push(b),
            Err(e) => break e,
        }
    };
    assert_eq!(e.error(), SlabError::AlignmentMismatch);
    assert_eq!(e.into_inner(), "next");
    more.push(b);
    drop(more);
    drop(handle);
    assert_eq!(cache.stats().in_use, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[slab_cached(size = 512)]
struct Tiny(u64);

#[test]
fn a_misaligned_block_fails_a_slab_cached_allocation_with_the_value_back() {
    // Drain the thread's magazines and the depot, so the next allocation calls the hook.
    let mut held = Vec::new();
    loop {
        let before = Tiny::slab_cache().stats().hook_allocs;
        common::misalign_next(1);
        match Tiny::try_new_boxed(Tiny(7)) {
            Ok(b) => {
                held.push(b);
                common::misalign_next(0);
                assert_eq!(Tiny::slab_cache().stats().hook_allocs, before);
            }
            Err(e) => {
                assert_eq!(e.error(), SlabError::AlignmentMismatch);
                assert_eq!(e.into_inner().0, 7);
                break;
            }
        }
    }
    common::misalign_next(0);
    let b = Tiny::new_boxed(Tiny(8));
    assert_eq!(b.0, 8);
}

#[test]
fn reserve_refuses_the_impossible_and_rolls_back_a_partial_reservation() {
    let t = Tracker::new();
    let cache = Small::new();
    cache.reserve(1).unwrap();
    let before = (cache.stats().slabs, cache.stats().capacity, t.live_blocks());
    assert_eq!(cache.reserve(usize::MAX), Err(SlabError::CapacityOverflow));
    common::fail_on_call(5);
    assert_eq!(cache.reserve(10_000), Err(SlabError::OutOfMemory));
    common::no_failures();
    common::misalign_next(1);
    assert_eq!(cache.reserve(10_000), Err(SlabError::AlignmentMismatch));
    let after = (cache.stats().slabs, cache.stats().capacity, t.live_blocks());
    assert_eq!(
        before, after,
        "a failed reserve leaves the cache as it found it"
    );
}

#[test]
fn a_cache_whose_master_empties_last_gives_every_slab_back() {
    let t = Tracker::new();
    let cache = Small::new();
    cache.keep_empty(usize::MAX);
    let mut boxes: Vec<_> = (0..200u64).map(|i| cache.alloc(i)).collect();
    // Free from the newest slabs back to the master, so the master heads the empty list.
    while let Some(b) = boxes.pop() {
        drop(b);
    }
    assert!(t.live_blocks() > 3);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}
