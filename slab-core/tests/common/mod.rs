//! Test hooks shared by slab-core's unit and integration tests: they count every block
//! per test (blocks are tagged with the test's [`Tracker`], so tests can run in
//! parallel), and fail on demand (the k-th call, or at random with a seed).
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part"
)]

use std::alloc::Layout;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::format;
use std::ptr::NonNull;
use std::string::String;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::vec::Vec;

/// Live blocks: address -> (layout, tag of the tracker that was current at allocation).
static LIVE: Mutex<BTreeMap<usize, (Layout, usize)>> = Mutex::new(BTreeMap::new());
static NEXT_TAG: AtomicUsize = AtomicUsize::new(1);

/// Blocks that tests leak on purpose (see [`leak_on_purpose`]); never read.
static LEAKED: Mutex<Vec<LeakedPtr>> = Mutex::new(Vec::new());

/// A pointer kept only so that its allocation stays reachable.
struct LeakedPtr(*const u8);

// SAFETY: the pointer is never dereferenced, so moving it across threads shares nothing.
unsafe impl Send for LeakedPtr {}

/// Marks the allocation behind `p` as leaked on purpose: a test that keeps a slot in use
/// for ever (`SlabBox::leak`), or that panics on a planted bug while a slot is still out.
///
/// Miri reports leaked memory unless it is reachable from a `static`; keeping `p` (with
/// its provenance) in one says the leak is intended, so `bash .ci/miri` still fails on
/// any leak that is not. The trackers' own counts are unaffected.
pub fn leak_on_purpose<T>(p: *const T) {
    LEAKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(LeakedPtr(p.cast()));
}

std::thread_local! {
    static TAG: Cell<usize> = const { Cell::new(0) };
    /// Calls left before the allocation hook fails (per thread); `usize::MAX` = never.
    static FAIL_IN: Cell<usize> = const { Cell::new(usize::MAX) };
    /// A xorshift state for random failures: fail with probability 1/`RANDOM_ODDS`.
    static RANDOM: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// Runs once, inside the next call of the allocation hook on this thread.
    static ON_NEXT_ALLOC: Cell<Option<fn()>> = const { Cell::new(None) };
    /// Calls left before the free hook panics (per thread); `usize::MAX` = never.
    static PANIC_FREE_IN: Cell<usize> = const { Cell::new(usize::MAX) };
    /// Allocation-hook calls left that return a block misaligned for its layout.
    static MISALIGN: Cell<usize> = const { Cell::new(0) };
}

/// The free hook on this thread panics on its `k`-th call from now (k >= 1), *after* it
/// has taken the block back: that block counts as given back, so the books are exact
/// when `stats().slabs` equals the tracker's live blocks.
pub fn panic_on_free(k: usize) {
    PANIC_FREE_IN.with(|c| c.set(k));
}

/// The next `k` calls of the allocation hook on this thread return a block aligned to 8
/// but not to the slab size (the hook contract broken); the free hook takes such a block
/// back too.
pub fn misalign_next(k: usize) {
    MISALIGN.with(|c| c.set(k));
}

/// How far a misaligned block lies past the start of its allocation.
const MISALIGN_BY: usize = 64;

/// Misaligned blocks handed out: address -> (layout asked for, tag).
static MISALIGNED: Mutex<BTreeMap<usize, (Layout, usize)>> = Mutex::new(BTreeMap::new());

/// Runs `f` inside the next call of the allocation hook on this thread (a hook that
/// re-enters the caches).
pub fn on_next_alloc(f: fn()) {
    ON_NEXT_ALLOC.with(|c| c.set(Some(f)));
}

/// Counts the blocks of one test.
pub struct Tracker {
    tag: usize,
}

impl Tracker {
    /// A tracker, current on this thread.
    pub fn new() -> Tracker {
        let t = Tracker {
            tag: NEXT_TAG.fetch_add(1, Ordering::Relaxed),
        };
        t.enter();
        t
    }

    /// Makes this tracker current on the calling thread (call it in spawned threads).
    pub fn enter(&self) {
        TAG.with(|c| c.set(self.tag));
    }

    /// A handle that can be moved to other threads.
    pub fn id(&self) -> TrackerId {
        TrackerId(self.tag)
    }

    /// Blocks allocated under this tracker and not freed yet.
    pub fn live_blocks(&self) -> usize {
        LIVE.lock()
            .unwrap()
            .values()
            .filter(|(_, t)| *t == self.tag)
            .count()
    }

    /// Bytes allocated under this tracker and not freed yet.
    pub fn live_bytes(&self) -> usize {
        LIVE.lock()
            .unwrap()
            .values()
            .filter(|(_, t)| *t == self.tag)
            .map(|(l, _)| l.size())
            .sum()
    }
}

/// A `Copy` name of a tracker, for spawned threads.
#[derive(Clone, Copy)]
pub struct TrackerId(usize);

impl TrackerId {
    /// Makes the tracker current on the calling thread.
    pub fn enter(self) {
        TAG.with(|c| c.set(self.0));
    }
}

/// The allocation hook on this thread fails on its `k`-th call from now (k >= 1).
pub fn fail_on_call(k: usize) {
    FAIL_IN.with(|c| c.set(k));
}

/// The allocation hook on this thread fails with probability `1/odds`, from `seed`.
pub fn fail_randomly(seed: u64, odds: u64) {
    RANDOM.with(|c| c.set((seed | 1, odds)));
}

/// Counts its drops, to check that destructors run exactly once; the `u64` tells values
/// apart.
#[derive(Debug)]
pub struct DropCounter(pub Arc<AtomicUsize>, pub u64);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs `scenario(tracker, k)` for k = 1, 2, … , each under a fresh [`Tracker`], where the
/// scenario makes the allocation hook fail at its k-th call (`fail_on_call(k)`) and
/// returns how many failures it met. Every run must leak no block and meet exactly the
/// injected failure, until a run meets none (k is past the scenario's last hook call):
/// returns that k, or `None` if `max_k` runs all failed.
#[track_caller]
pub fn fail_at_every_hook_call(
    max_k: usize,
    mut scenario: impl FnMut(&Tracker, usize) -> usize,
) -> Option<usize> {
    for k in 1..=max_k {
        let t = Tracker::new();
        let failures = scenario(&t, k);
        assert_eq!(t.live_blocks(), 0, "leak after a failure at hook call {k}");
        if failures == 0 {
            return Some(k);
        }
        assert_eq!(
            failures, 1,
            "exactly the injected failure was seen at k = {k}"
        );
    }
    None
}

/// Asserts that a failed `try_*` allocation is the out-of-memory error and hands `value`
/// back intact.
#[track_caller]
pub fn assert_value_back<T: PartialEq + core::fmt::Debug>(e: slab_core::AllocError<T>, value: T) {
    assert_eq!(e.error(), slab_core::SlabError::OutOfMemory);
    assert_eq!(e.into_inner(), value, "value handed back intact");
}

/// No more injected failures on this thread.
pub fn no_failures() {
    FAIL_IN.with(|c| c.set(usize::MAX));
    RANDOM.with(|c| c.set((0, 0)));
}

fn should_fail() -> bool {
    let nth = FAIL_IN.with(|c| {
        let left = c.get();
        if left == usize::MAX {
            return false;
        }
        c.set(left - 1);
        if left == 1 {
            c.set(usize::MAX);
            true
        } else {
            false
        }
    });
    let random = RANDOM.with(|c| {
        let (mut x, odds) = c.get();
        if odds == 0 {
            return false;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set((x, odds));
        x % odds == 0
    });
    nth || random
}

/// The counting allocation hook.
///
/// # Safety
/// `layout` has a non-zero size.
pub unsafe fn counting_alloc(layout: Layout) -> Option<NonNull<u8>> {
    assert_eq!(
        layout.size(),
        layout.align(),
        "slab layouts are size-aligned"
    );
    if should_fail() {
        return None;
    }
    if let Some(f) = ON_NEXT_ALLOC.with(Cell::take) {
        f();
    }
    let tag = TAG.with(Cell::get);
    if MISALIGN.with(|c| c.replace(c.get().saturating_sub(1))) > 0 {
        let wide = Layout::from_size_align(layout.size() + layout.align(), layout.align()).unwrap();
        // SAFETY: non-zero size.
        let base = NonNull::new(unsafe { std::alloc::alloc(wide) })?;
        // SAFETY: `MISALIGN_BY < layout.align()`, inside the wider allocation.
        let p = unsafe { base.add(MISALIGN_BY) };
        MISALIGNED
            .lock()
            .unwrap()
            .insert(p.addr().get(), (layout, tag));
        LIVE.lock().unwrap().insert(p.addr().get(), (layout, tag));
        return Some(p);
    }
    // SAFETY: non-zero size by the caller's contract.
    let p = NonNull::new(unsafe { std::alloc::alloc(layout) })?;
    let old = LIVE.lock().unwrap().insert(p.addr().get(), (layout, tag));
    assert!(
        old.is_none(),
        "the global allocator returned a live block twice"
    );
    Some(p)
}

/// The counting free hook: panics on a block it did not hand out or a layout mismatch.
///
/// # Safety
/// `ptr` came from [`counting_alloc`] with `layout`.
pub unsafe fn counting_free(ptr: NonNull<u8>, layout: Layout) {
    let entry = LIVE.lock().unwrap().remove(&ptr.addr().get());
    match entry {
        Some((l, _)) => assert_eq!(l, layout, "block freed with another layout"),
        None => panic!("free hook called on {ptr:p}, which is not a live block (double free?)"),
    }
    if MISALIGNED
        .lock()
        .unwrap()
        .remove(&ptr.addr().get())
        .is_some()
    {
        let wide = Layout::from_size_align(layout.size() + layout.align(), layout.align()).unwrap();
        // SAFETY: `ptr` is `MISALIGN_BY` bytes into an allocation made by `counting_alloc`
        // (provenance kept), so stepping back stays inside it.
        let base = unsafe { ptr.as_ptr().sub(MISALIGN_BY) };
        // SAFETY: `base` is the start of that allocation, made with `wide`.
        unsafe { std::alloc::dealloc(base, wide) }
    } else {
        // SAFETY: allocated by `counting_alloc` with this layout (checked above).
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }
    let panic_now = PANIC_FREE_IN.with(|c| {
        let left = c.get();
        if left == usize::MAX {
            return false;
        }
        c.set(if left == 1 { usize::MAX } else { left - 1 });
        left == 1
    });
    if panic_now {
        panic!("the free hook panics (planted), after taking {ptr:p} back");
    }
}

// SAFETY: `counting_alloc` hands out blocks of the global allocator (or, on request, a
// planted misaligned one, which slab-core must refuse), each once, and `counting_free`
// takes each back once with its layout.
slab_core::slab_hooks!(unsafe counting_alloc, counting_free);

/// Scales iteration counts down under Miri.
pub const fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        if n / 100 > 2 { n / 100 } else { 2 }
    } else {
        n
    }
}

/// A message passed between threads: its fields check each other, and its heap-allocated
/// name makes dropping it do real work, so a slot that is freed twice, or read after it
/// was reused, shows up as an invalid message or a double free.
#[derive(Debug, PartialEq)]
pub struct Msg {
    pub from: usize,
    pub seq: u64,
    pub check: u64,
    pub name: String,
}

impl Msg {
    pub fn new(from: usize, seq: u64) -> Msg {
        Msg {
            from,
            seq,
            check: seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ from as u64,
            name: format!("{from}:{seq}"),
        }
    }

    /// Whether the fields still agree with each other.
    pub fn valid(&self) -> bool {
        *self == Msg::new(self.from, self.seq)
    }
}

/// Checks the books of `c` with `expect` objects held by users, and returns the scan.
///
/// `stats().in_use` is exact, the scanner is clean, its slot count reconciles with the
/// stats through `parked` and `held`, and its capacity identity holds.
#[track_caller]
pub fn check_books<T, L: slab_core::LockTrait, const S: usize>(
    c: &slab_core::SlabCache<T, L, S>,
    expect: usize,
) -> slab_core::ScanReport {
    let s = c.stats();
    let r = c.scan().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.in_use, expect, "stats().in_use");
    assert!(
        r.in_use_slots >= r.parked + r.held,
        "more magazine slots than handed-out slots: {r:?}"
    );
    assert_eq!(
        r.in_use_slots - r.parked - r.held,
        expect,
        "in_use_slots - parked - held: {r:?}"
    );
    assert_eq!(
        r.in_use_slots + r.free_listed + r.never_used,
        s.capacity,
        "capacity identity: {r:?} {s:?}"
    );
    assert_eq!(r.slabs, s.slabs);
    assert_eq!(s.hook_allocs - s.hook_frees, s.slabs);
    assert!(s.peak >= s.in_use);
    r
}

/// Runs `f`, which must panic, without printing the panic, and returns its message.
pub fn must_panic(f: impl FnOnce()) -> String {
    let hook = std::panic::take_hook();
    std::panic::set_hook(std::boxed::Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    match r {
        Ok(()) => panic!("expected a panic"),
        Err(e) => e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| String::from(*s)))
            .unwrap_or_default(),
    }
}
