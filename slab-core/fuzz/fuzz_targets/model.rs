//! Model-based fuzzing of slab-core: random alloc / free / reserve / shrink / into_raw /
//! from_raw / cross-thread free sequences on several types, and the runtime handles' own
//! magazines (alloc_mut / free / flush, a cloned handle freeing on another thread),
//! checked against a model (values intact, stats equal to the model, the invariant
//! scanner clean and reconciled with the stats after every operation, every hook block
//! returned when the caches and boxes are gone).
//!
//! Run: `cargo +nightly fuzz run model -- -max_total_time=60` from `slab-core/`.
//! It prints the running number of operations checked every 2^16 operations.
#![no_main]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use slab_core::{SlabBox, SlabCache, SpinLock, TicketLock};

static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);
static OPS: AtomicU64 = AtomicU64::new(0);

unsafe fn hook_alloc(layout: std::alloc::Layout) -> Option<std::ptr::NonNull<u8>> {
    LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: slab layouts have a non-zero size.
    std::ptr::NonNull::new(unsafe { std::alloc::alloc(layout) })
}
unsafe fn hook_free(p: std::ptr::NonNull<u8>, layout: std::alloc::Layout) {
    LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    // SAFETY: allocated by `hook_alloc` with this layout.
    unsafe { std::alloc::dealloc(p.as_ptr(), layout) }
}
slab_core::slab_hooks!(unsafe hook_alloc, hook_free);

struct Big([u64; 300]);

#[slab_core::slab_cached(size = 8192)]
struct Tagged {
    seed: u64,
    pad: [u8; 40],
}

enum Live {
    Small(SlabBox<u8, SlabCache<u8, SpinLock, 512>>, u64),
    Mid(SlabBox<[u16; 9], SlabCache<[u16; 9], TicketLock, 1024>>, u64),
    Large(SlabBox<Big, SlabCache<Big, SpinLock, 8192>>, u64),
    Typed(slab_core::Boxed<Tagged>, u64),
}

impl Live {
    fn ok(&self) -> bool {
        match self {
            Live::Small(b, s) => **b == *s as u8,
            Live::Mid(b, s) => **b == [*s as u16; 9],
            Live::Large(b, s) => b.0.iter().all(|x| x == s),
            Live::Typed(b, s) => b.seed == *s && b.pad == [*s as u8; 40],
        }
    }
    fn kind(&self) -> usize {
        match self {
            Live::Small(..) => 0,
            Live::Mid(..) => 1,
            Live::Large(..) => 2,
            Live::Typed(..) => 3,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut small: SlabCache<u8, SpinLock, 512> = SlabCache::new();
    let mut mid: SlabCache<[u16; 9], TicketLock, 1024> = SlabCache::new();
    let mut large: SlabCache<Big, SpinLock, 8192> = SlabCache::new();
    let typed_before = Tagged::slab_cache().stats().in_use;
    let mut live: Vec<Live> = Vec::new();
    let mut bytes = data.chunks_exact(3);
    let mut ops = 0u64;
    for op in &mut bytes {
        let (code, a, b) = (op[0], op[1] as usize, op[2] as u64);
        let seed = b | ((a as u64) << 8);
        match code % 12 {
            0 | 1 => live.push(match a % 4 {
                0 => Live::Small(small.alloc(seed as u8), seed),
                1 => Live::Mid(mid.alloc([seed as u16; 9]), seed),
                2 => Live::Large(large.alloc(Big([seed; 300])), seed),
                _ => Live::Typed(Tagged::new_boxed(Tagged { seed, pad: [seed as u8; 40] }), seed),
            }),
            2 if !live.is_empty() => {
                let l = live.swap_remove(a % live.len());
                assert!(l.ok());
            }
            3 if !live.is_empty() => {
                // into_raw / from_raw round trip
                let i = a % live.len();
                let l = live.swap_remove(i);
                live.push(match l {
                    // SAFETY: each pointer comes from `into_raw` of the same box type, once.
                    Live::Small(x, s) => Live::Small(unsafe { SlabBox::from_raw(SlabBox::into_raw(x)) }, s),
                    Live::Mid(x, s) => Live::Mid(unsafe { SlabBox::from_raw(SlabBox::into_raw(x)) }, s),
                    Live::Large(x, s) => Live::Large(unsafe { SlabBox::from_raw(SlabBox::into_raw(x)) }, s),
                    Live::Typed(x, s) => Live::Typed(unsafe { SlabBox::from_raw(SlabBox::into_raw(x)) }, s),
                });
            }
            4 => match a % 3 {
                0 => small.reserve(b as usize).unwrap(),
                1 => mid.reserve(b as usize).unwrap(),
                _ => large.reserve(b as usize % 16).unwrap(),
            },
            5 => {
                small.shrink();
                mid.shrink();
                large.shrink();
            }
            6 if !live.is_empty() => {
                // free a batch on another thread
                let n = (a % live.len()).max(1);
                let batch: Vec<Live> = live.drain(..n).collect();
                std::thread::spawn(move || assert!(batch.iter().all(Live::ok))).join().unwrap();
            }
            7 | 8 => live.push(match a % 4 {
                0 => Live::Small(small.alloc_mut(seed as u8), seed),
                1 => Live::Mid(mid.alloc_mut([seed as u16; 9]), seed),
                2 => Live::Large(large.alloc_mut(Big([seed; 300])), seed),
                _ => Live::Typed(Tagged::new_boxed(Tagged { seed, pad: [seed as u8; 40] }), seed),
            }),
            9 if !live.is_empty() => {
                // free through the box's own cache: into that handle's magazine
                let l = live.swap_remove(a % live.len());
                assert!(l.ok());
                match l {
                    Live::Small(x, _) => small.free(x),
                    Live::Mid(x, _) => mid.free(x),
                    Live::Large(x, _) => large.free(x),
                    Live::Typed(x, _) => drop(x),
                }
            }
            10 => match a % 4 {
                0 => small.flush(),
                1 => mid.flush(),
                2 => large.flush(),
                _ => {
                    small.flush();
                    mid.flush();
                    large.flush();
                }
            },
            11 if !live.is_empty() => {
                // free a batch on another thread, through cloned handles (same caches)
                let n = (a % live.len()).max(1);
                let batch: Vec<Live> = live.drain(..n).collect();
                let (mut s2, mut m2, mut l2) = (small.clone(), mid.clone(), large.clone());
                std::thread::spawn(move || {
                    for l in batch {
                        assert!(l.ok());
                        match l {
                            Live::Small(x, _) => s2.free(x),
                            Live::Mid(x, _) => m2.free(x),
                            Live::Large(x, _) => l2.free(x),
                            Live::Typed(x, _) => drop(x),
                        }
                    }
                    if b % 2 == 0 {
                        s2.flush();
                    }
                    // dropping the clones gives their magazines back
                })
                .join()
                .unwrap();
            }
            _ => {}
        }
        ops += 1;
        let count = |k| live.iter().filter(|l| l.kind() == k).count();
        let reconcile = |r: slab_core::ScanReport, n: usize| {
            assert!(r.in_use_slots >= r.parked + r.held, "{r:?}");
            assert_eq!(r.in_use_slots - r.parked - r.held, n, "{r:?}");
        };
        assert_eq!(small.stats().in_use, count(0));
        assert_eq!(mid.stats().in_use, count(1));
        assert_eq!(large.stats().in_use, count(2));
        reconcile(small.scan().unwrap(), count(0));
        reconcile(mid.scan().unwrap(), count(1));
        reconcile(large.scan().unwrap(), count(2));
        Tagged::slab_cache().scan().unwrap();
    }
    assert!(live.iter().all(Live::ok));
    drop(live);
    drop((small, mid, large));
    // Runtime caches are gone: every block they took is back (the typed cache is static).
    let typed_now = Tagged::slab_cache().stats();
    assert_eq!(typed_now.in_use, typed_before);
    assert_eq!(LIVE_BLOCKS.load(Ordering::Relaxed), typed_now.slabs, "runtime caches returned every block");
    let total = OPS.fetch_add(ops, Ordering::Relaxed) + ops;
    if (total >> 16) != ((total - ops) >> 16) {
        eprintln!("slab-core fuzz: {total} operations checked against the model");
    }
});
