//! Memory sources: allocation failure injected at every call of each source the library
//! ships (the link-time hooks, the global allocator, a byte cap), the cap honoured by
//! eight threads at once, a source of the user's own behind `#[slab_cached(source = ..)]`,
//! and every block back with the source it came from once the last box is gone.

mod common;

use core::alloc::Layout;
use core::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use common::scaled;
use slab_core::{
    Capped, DefaultSource, Global, Hooks, SlabCache, SlabError, SlabSource, SpinLock, slab_cached,
};

/// A source that forwards to `inner`, fails its `fail_at`-th allocation (1-based; 0:
/// never), and counts what is out.
struct Faulty<S> {
    inner: S,
    fail_at: AtomicUsize,
    calls: AtomicUsize,
    live_blocks: AtomicUsize,
    live_bytes: AtomicUsize,
    peak_bytes: AtomicUsize,
    /// Hand out the next allocation 64 bytes past an aligned block (contract broken).
    misalign: AtomicUsize,
}

impl<S> Faulty<S> {
    const fn new(inner: S) -> Self {
        Faulty {
            inner,
            fail_at: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            live_blocks: AtomicUsize::new(0),
            live_bytes: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
            misalign: AtomicUsize::new(0),
        }
    }

    fn failing_at(inner: S, k: usize) -> Self {
        let f = Faulty::new(inner);
        f.fail_at.store(k, Relaxed);
        f
    }

    fn live(&self) -> usize {
        self.live_blocks.load(Relaxed)
    }
}

const MISALIGN_BY: usize = 64;

// SAFETY: forwards to `inner` (a source, by its own `unsafe impl`); a misaligned block is
// an offset into a block of twice the size from `inner`, taken back whole in `free`.
unsafe impl<S: SlabSource> SlabSource for Faulty<S> {
    unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let n = self.calls.fetch_add(1, Relaxed) + 1;
        if n == self.fail_at.load(Relaxed) {
            return None;
        }
        let misalign = self.misalign.swap(0, Relaxed) != 0;
        let asked = if misalign {
            Layout::from_size_align(layout.size() * 2, layout.align()).unwrap()
        } else {
            layout
        };
        // SAFETY: a slab layout, or twice one with the same alignment (contract).
        let block = unsafe { self.inner.alloc(asked) }?;
        self.live_blocks.fetch_add(1, Relaxed);
        let now = self.live_bytes.fetch_add(layout.size(), Relaxed) + layout.size();
        self.peak_bytes.fetch_max(now, Relaxed);
        if misalign {
            // SAFETY: `MISALIGN_BY` is within the doubled block.
            return Some(unsafe { block.add(MISALIGN_BY) });
        }
        Some(block)
    }

    unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
        self.live_blocks.fetch_sub(1, Relaxed);
        self.live_bytes.fetch_sub(layout.size(), Relaxed);
        if block.addr().get() % layout.align() == MISALIGN_BY {
            // SAFETY: the block handed out misaligned, `MISALIGN_BY` into a doubled block.
            let base = unsafe { block.sub(MISALIGN_BY) };
            let doubled = Layout::from_size_align(layout.size() * 2, layout.align()).unwrap();
            // SAFETY: `base` came from `inner` with `doubled` (see `alloc`).
            return unsafe { self.inner.free(base, doubled) };
        }
        // SAFETY: `block` came from `inner` with `layout` (contract).
        unsafe { self.inner.free(block, layout) }
    }
}

type Value = (u64, String);

/// Grows a cache on `source`, frees half, reserves, shrinks, clones, runs a handle's
/// magazines, then drops everything. Returns the failures met; each hands the value back.
fn scenario<S: SlabSource + Copy + Send + Sync>(source: S) -> usize {
    let mut failures = 0;
    let cache: SlabCache<Value, SpinLock, 1024, S> = SlabCache::with_source(source);
    let mut boxes = Vec::new();
    // Enough for a few slabs even under Miri.
    let n = if cfg!(miri) { 60 } else { 200 };
    for i in 0..n {
        match cache.try_alloc((i, i.to_string())) {
            Ok(b) => boxes.push(b),
            Err(e) => {
                common::assert_value_back(e, (i, i.to_string()));
                failures += 1;
            }
        }
    }
    boxes.retain(|b| b.0 % 2 == 0);
    if let Err(e) = cache.reserve(n as usize) {
        assert_eq!(e, SlabError::OutOfMemory);
        failures += 1;
    }
    cache.shrink();
    let mut handle = cache.clone();
    for i in 0..n / 2 {
        match handle.try_alloc_mut((i, "h".into())) {
            Ok(b) => handle.free(b),
            Err(e) => {
                common::assert_value_back(e, (i, "h".into()));
                failures += 1;
            }
        }
    }
    for b in &boxes {
        assert_eq!(b.1, b.0.to_string());
    }
    drop(handle);
    drop(cache); // the boxes outlive every handle: the last one releases the cache
    drop(boxes);
    failures
}

/// Runs `scenario` on `make(k)` for k = 1, 2, … until a run meets no failure: every run
/// meets exactly the injected one and gives every block back.
fn fail_at_every_call<S: SlabSource + Sync>(make: impl Fn(usize) -> Faulty<S>) {
    for k in 1..=64 {
        let source = make(k);
        let failures = scenario(&source);
        assert_eq!(
            source.live(),
            0,
            "a block was not given back after failing call {k}"
        );
        if failures == 0 {
            assert!(k > 2, "the scenario calls its source more than twice");
            return;
        }
        assert_eq!(failures, 1, "exactly the injected failure at call {k}");
    }
    panic!("the scenario kept failing");
}

#[test]
fn the_global_source_fails_cleanly_at_every_call() {
    fail_at_every_call(|k| Faulty::failing_at(Global, k));
}

#[test]
fn a_capped_source_fails_cleanly_at_every_call_of_its_inner_source() {
    static CAP: Capped<Global> = Capped::new(Global, 1 << 30);
    fail_at_every_call(|k| Faulty::failing_at(&CAP, k));
    assert_eq!(CAP.used(), 0);
}

#[test]
fn the_hook_source_fails_cleanly_at_every_call() {
    let ok_at = common::fail_at_every_hook_call(64, |t, k| {
        t.enter();
        common::fail_on_call(k);
        let failures = scenario(Hooks);
        common::no_failures();
        failures
    });
    assert!(ok_at.is_some_and(|k| k > 2), "{ok_at:?}");
}

#[test]
fn a_cap_fails_cleanly_and_recovers_when_slabs_go_back() {
    let inner = Faulty::new(Global);
    let cap = Capped::new(&inner, 4 * 1024);
    let cache: SlabCache<Value, SpinLock, 1024, &Capped<&Faulty<Global>>> =
        SlabCache::with_source(&cap);
    let mut held = Vec::new();
    let err = loop {
        match cache.try_alloc((1, "x".into())) {
            Ok(b) => held.push(b),
            Err(e) => break e,
        }
    };
    common::assert_value_back(err, (1, "x".into()));
    assert_eq!((cap.used(), inner.live()), (4 * 1024, 4));
    assert_eq!(cache.reserve(1000), Err(SlabError::OutOfMemory));
    assert_eq!(inner.live(), 4, "a failed reserve gives back what it took");
    drop(held);
    cache.shrink();
    assert_eq!(cap.used(), 1024, "only the master is left");
    assert!(cache.try_alloc((2, "y".into())).is_ok());
    drop(cache);
    assert_eq!((cap.used(), inner.live()), (0, 0));
}

#[test]
fn eight_threads_never_take_more_than_the_cap() {
    const SLAB: usize = 1024;
    const SLABS: usize = if cfg!(miri) { 4 } else { 12 };
    let inner = Faulty::new(Global);
    let cap = Capped::new(&inner, SLABS * SLAB);
    let failures = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (cap, failures) = (&cap, &failures);
            s.spawn(move || {
                // Each thread its own cache, all on one cap.
                let cache: SlabCache<Value, SpinLock, SLAB, &Capped<&Faulty<Global>>> =
                    SlabCache::with_source(cap);
                let mut held = Vec::new();
                for i in 0..scaled(600) as u64 {
                    match cache.try_alloc((t, i.to_string())) {
                        Ok(b) => held.push(b),
                        Err(e) => {
                            common::assert_value_back(e, (t, i.to_string()));
                            failures.fetch_add(1, Relaxed);
                            // Give some back, so this thread and the others go on.
                            held.truncate(held.len() / 2);
                            cache.shrink();
                        }
                    }
                }
                for b in &held {
                    assert_eq!(b.0, t);
                }
            });
        }
    });
    assert!(
        inner.peak_bytes.load(Relaxed) <= SLABS * SLAB,
        "the cap was exceeded"
    );
    // 600 values take more than 12 slabs on one thread alone (Miri's runs are shorter).
    assert!(
        cfg!(miri) || failures.load(Relaxed) > 0,
        "the cap was reached"
    );
    assert_eq!((cap.used(), inner.live()), (0, 0), "every block went back");
}

#[test]
fn a_misaligned_block_from_a_source_goes_back_to_it() {
    let source = Faulty::new(Global);
    let cache: SlabCache<u64, SpinLock, 4096, &Faulty<Global>> = SlabCache::with_source(&source);
    source.misalign.store(1, Relaxed);
    let e = cache.try_alloc(5).unwrap_err();
    assert_eq!(
        (e.error(), e.into_inner()),
        (SlabError::AlignmentMismatch, 5)
    );
    assert_eq!(source.live(), 0);
    assert_eq!(*cache.alloc(6), 6);
    drop(cache);
    assert_eq!(source.live(), 0);
}

/// A zero-sized source of the user's own, on a counted `static`.
#[derive(Clone, Copy)]
struct Counted;

static COUNTED: Faulty<Global> = Faulty::new(Global);

// SAFETY: forwards to `COUNTED`, one `static` source, whatever the copy of `Counted`.
unsafe impl SlabSource for Counted {
    unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: a slab layout (contract).
        unsafe { COUNTED.alloc(layout) }
    }
    unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
        // SAFETY: `block` came from `COUNTED` through `alloc` with `layout` (contract).
        unsafe { COUNTED.free(block, layout) }
    }
}

impl DefaultSource for Counted {
    const DEFAULT: Self = Counted;
}

#[slab_cached(size = 1024, source = Counted)]
struct Job(u64);

#[test]
fn a_slab_cached_type_takes_its_slabs_from_its_source() {
    let n: u64 = if cfg!(miri) { 150 } else { 300 };
    let jobs: Vec<_> = (0..n).map(|i| Job::new_boxed(Job(i))).collect();
    let slabs = Job::slab_cache().stats().slabs;
    assert!(slabs > 1);
    assert_eq!(
        COUNTED.live(),
        slabs,
        "every slab of `Job` came from `Counted`"
    );
    assert_eq!(jobs.iter().map(|j| j.0).sum::<u64>(), (0..n).sum());
    drop(jobs);
    slab_core::flush_thread_cache::<Job>();
    Job::slab_cache().shrink();
    assert_eq!(COUNTED.live(), 1, "the master stays");
}

#[test]
fn caches_on_one_source_and_the_hooks_keep_their_blocks_apart() {
    let t = common::Tracker::new();
    t.enter();
    let source = Faulty::new(Global);
    let on_source: SlabCache<u64, SpinLock, 4096, &Faulty<Global>> =
        SlabCache::with_source(&source);
    let on_hooks: SlabCache<u64> = SlabCache::new();
    let a: Vec<_> = (0..scaled(2000) as u64)
        .map(|i| on_source.alloc(i))
        .collect();
    let b: Vec<_> = (0..scaled(1000) as u64)
        .map(|i| on_hooks.alloc(i))
        .collect();
    assert_eq!(source.live(), on_source.stats().slabs);
    assert_eq!(t.live_blocks(), on_hooks.stats().slabs);
    drop((on_source, on_hooks));
    drop((a, b));
    assert_eq!((source.live(), t.live_blocks()), (0, 0));
}
