//! `SlabArc` and `SlabWeak`: the count protocol of `std::sync::Arc` (the value dropped with
//! the last strong reference, the slot given back with the last weak one), `get_mut`,
//! `make_mut`, `try_unwrap`, `into_inner`, `into_raw`/`from_raw`, frees from other threads,
//! trait objects, and a proptest model of the counts. The values carry padding (`Padded`),
//! so Miri checks that nothing reads it.

mod common;

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::Tracker;
use proptest::prelude::*;
use slab_core::{
    ArcInner, CachedArc, CachedWeak, Erased, SlabArc, SlabCache, SlabWeak, coerce, slab_cached,
};

/// Padding at bytes 1..8 (`repr(C)`).
#[repr(C)]
#[derive(Clone, Debug, Default, PartialEq)]
struct Padded {
    flag: u8,
    value: u64,
}

fn padded(value: u64) -> Padded {
    Padded { flag: 7, value }
}

#[slab_cached]
#[derive(Clone, Debug, Default, PartialEq)]
struct Config {
    p: Padded,
    name: String,
}

/// A padded value that counts its drops (clones count too, when they drop).
#[derive(Clone, Debug)]
struct Val {
    p: Padded,
    drops: Arc<AtomicUsize>,
}
impl Drop for Val {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

type Cache = SlabCache<ArcInner<Val>>;

fn counted(c: &Cache, drops: &Arc<AtomicUsize>, v: u64) -> SlabArc<Val> {
    c.alloc_arc(Val {
        p: padded(v),
        drops: drops.clone(),
    })
}

#[test]
fn the_value_goes_with_the_last_strong_and_the_slot_with_the_last_weak() {
    let t = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cache = Cache::new();
    let a = counted(&cache, &drops, 1);
    let b = SlabArc::clone(&a);
    let w = SlabArc::downgrade(&a);
    let w2 = w.clone();
    assert_eq!((SlabArc::strong_count(&a), SlabArc::weak_count(&a)), (2, 2));
    assert_eq!((w.strong_count(), w.weak_count()), (2, 2));
    assert!(SlabArc::ptr_eq(&a, &b) && w.ptr_eq(&w2));
    assert_eq!(cache.stats().in_use, 1);
    drop(a);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(b);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "dropped with the last strong"
    );
    assert!(w.upgrade().is_none());
    assert_eq!((w.strong_count(), w.weak_count()), (0, 0));
    assert_eq!(cache.stats().in_use, 1, "the weak references keep the slot");
    drop(w);
    drop(w2);
    assert_eq!(cache.stats().in_use, 0);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn upgrade_shares_the_value_while_a_strong_reference_is_left() {
    let a = Config::new_arc(Config {
        p: padded(3),
        name: "main".into(),
    });
    let w: CachedWeak<Config> = CachedArc::downgrade(&a);
    let b = w.upgrade().unwrap();
    assert_eq!(b.name, "main");
    assert_eq!(CachedArc::strong_count(&a), 2);
    drop((a, b));
    assert!(w.upgrade().is_none());
    drop(w);
    assert_eq!(Config::arc_cache().stats().in_use, 0);
}

#[test]
fn get_mut_needs_the_only_reference_of_either_kind() {
    let cache: SlabCache<ArcInner<Padded>> = SlabCache::new();
    let mut a = cache.alloc_arc(padded(1));
    SlabArc::get_mut(&mut a).unwrap().value = 2;
    let w = SlabArc::downgrade(&a);
    assert!(
        SlabArc::get_mut(&mut a).is_none(),
        "a weak reference could upgrade"
    );
    drop(w);
    let b = SlabArc::clone(&a);
    assert!(SlabArc::get_mut(&mut a).is_none());
    drop(b);
    assert_eq!(SlabArc::get_mut(&mut a).map(|p| p.value), Some(2));
}

#[test]
fn make_mut_clones_shared_values_and_parts_weak_references() {
    let cache: SlabCache<ArcInner<Padded>> = SlabCache::new();
    // Unique: in place.
    let mut a = cache.alloc_arc(padded(1));
    let before = SlabArc::as_ptr(&a);
    SlabArc::make_mut(&mut a).value = 10;
    assert_eq!(SlabArc::as_ptr(&a), before);
    // Shared: a clone in a new slot of the same cache.
    let b = SlabArc::clone(&a);
    SlabArc::make_mut(&mut a).value = 11;
    assert_eq!((a.value, b.value), (11, 10));
    assert_eq!(cache.stats().in_use, 2);
    drop(b);
    // Only weak references share it: the value moves, they can no longer upgrade.
    let w = SlabArc::downgrade(&a);
    SlabArc::make_mut(&mut a).value = 12;
    assert!(w.upgrade().is_none());
    assert_eq!(a.value, 12);
    assert_eq!(
        cache.stats().in_use,
        2,
        "the weak reference keeps the old slot"
    );
    drop(w);
    assert_eq!(cache.stats().in_use, 1);
    // Typed arcs take their new slot from the type's arc cache.
    let mut c = Config::new_arc(Config::default());
    let d = c.clone();
    CachedArc::make_mut(&mut c).name.push('x');
    assert_eq!((c.name.as_str(), d.name.as_str()), ("x", ""));
}

#[test]
fn make_mut_that_cannot_get_a_slot_leaves_the_arc_as_it_was() {
    let t = Tracker::new();
    let cache: SlabCache<ArcInner<[u64; 100]>, slab_core::SpinLock, 4096> = SlabCache::new();
    let mut a = cache.alloc_arc([7; 100]);
    let capacity = cache.stats().capacity;
    let rest: Vec<_> = (1..capacity).map(|_| cache.alloc_arc([0; 100])).collect();
    let w = SlabArc::downgrade(&a); // only a weak reference shares it: the value would move
    common::fail_on_call(1);
    let r = catch_unwind(AssertUnwindSafe(|| SlabArc::make_mut(&mut a)[0] = 8));
    common::no_failures();
    assert!(
        r.is_err(),
        "no slab for the new slot: make_mut panics like `Arc` on OOM"
    );
    assert_eq!((SlabArc::strong_count(&a), SlabArc::weak_count(&a)), (1, 1));
    assert_eq!(
        w.upgrade().map(|x| x[0]),
        Some(7),
        "the value stayed, still shared"
    );
    SlabArc::make_mut(&mut a)[0] = 9; // now there is memory: the value moves
    assert!(w.upgrade().is_none());
    assert_eq!(a[0], 9);
    drop((a, w, rest, cache));
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn try_unwrap_into_inner_and_unwrap_or_clone_move_the_value_out_once() {
    let t = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cache = Cache::new();
    let a = counted(&cache, &drops, 5);
    let b = SlabArc::clone(&a);
    let a = SlabArc::try_unwrap(a).unwrap_err();
    let w = SlabArc::downgrade(&b);
    assert!(SlabArc::into_inner(b).is_none());
    let d = SlabArc::try_unwrap(a).unwrap();
    assert_eq!(d.p, padded(5));
    assert!(w.upgrade().is_none());
    assert_eq!(cache.stats().in_use, 1);
    drop(w);
    assert_eq!(cache.stats().in_use, 0);
    drop(d);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "moved out, dropped once, by us"
    );
    let plain: SlabCache<ArcInner<Padded>> = SlabCache::new();
    let x = plain.alloc_arc(padded(8));
    let y = SlabArc::clone(&x);
    assert_eq!(SlabArc::unwrap_or_clone(x), padded(8));
    assert_eq!(SlabArc::unwrap_or_clone(y), padded(8));
    assert_eq!(plain.stats().in_use, 0);
    drop((cache, plain));
    assert_eq!(t.live_blocks(), 0);
}

#[test]
fn into_raw_and_from_raw_round_trip_and_refuse_a_wrong_pointer() {
    let cache: SlabCache<ArcInner<u64>> = SlabCache::new();
    let a = cache.alloc_arc(41);
    let w = SlabArc::downgrade(&a);
    let raw = SlabArc::into_raw(a);
    // SAFETY: `raw` is from `into_raw`, passed back once.
    let a: SlabArc<u64> = unsafe { SlabArc::from_raw(raw) };
    assert_eq!(*a, 41);
    assert_eq!(w.upgrade().map(|x| *x), Some(41));
    let raw = SlabArc::into_raw(a);
    let r = catch_unwind(|| {
        // SAFETY: deliberately wrong (misaligned): `from_raw` panics before reading it.
        drop(unsafe { SlabArc::<u64>::from_raw(raw.wrapping_byte_add(1)) })
    });
    assert!(r.is_err());
    // SAFETY: the right pointer, passed back once.
    drop(unsafe { SlabArc::<u64>::from_raw(raw) });
    drop(w);
    assert_eq!(cache.stats().in_use, 0);
}

#[test]
fn arcs_and_weak_references_are_freed_from_any_thread() {
    let t = Tracker::new();
    let id = t.id();
    let drops = Arc::new(AtomicUsize::new(0));
    let cache = Cache::new();
    let n = common::scaled(200);
    let arcs: Vec<_> = (0..n as u64).map(|i| counted(&cache, &drops, i)).collect();
    let handles: Vec<_> = (0..2)
        .map(|k| {
            let mine: Vec<_> = arcs.iter().map(SlabArc::clone).collect();
            let weak: Vec<_> = arcs.iter().map(SlabArc::downgrade).collect();
            std::thread::spawn(move || {
                id.enter();
                let sum: u64 = mine.iter().map(|a| a.p.value).sum();
                drop(mine);
                let alive = weak.iter().filter(|w| w.upgrade().is_some()).count();
                drop(weak);
                (sum, alive, k)
            })
        })
        .collect();
    drop(arcs);
    for h in handles {
        let (sum, alive, _) = h.join().unwrap();
        assert_eq!(sum, (0..n as u64).sum::<u64>());
        assert!(alive <= n);
    }
    assert_eq!(drops.load(Ordering::SeqCst), n);
    assert_eq!(cache.stats().in_use, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

/// Panics in its destructor.
struct Bomb(#[allow(dead_code, reason = "gives the value a size")] u64);
impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("boom");
    }
}

#[test]
fn a_panicking_destructor_still_gives_the_slot_back() {
    let cache: SlabCache<ArcInner<Bomb>> = SlabCache::new();
    let a = cache.alloc_arc(Bomb(1));
    assert!(catch_unwind(AssertUnwindSafe(move || drop(a))).is_err());
    assert_eq!(cache.stats().in_use, 0);
    let a = cache.alloc_arc(Bomb(2));
    let w = SlabArc::downgrade(&a);
    assert!(catch_unwind(AssertUnwindSafe(move || drop(a))).is_err());
    assert!(w.upgrade().is_none());
    assert_eq!(cache.stats().in_use, 1);
    drop(w);
    assert_eq!(cache.stats().in_use, 0);
}

trait Shape: Send + Sync {
    fn area(&self) -> u64;
}
impl Shape for Padded {
    fn area(&self) -> u64 {
        self.value * 2
    }
}
impl Shape for Config {
    fn area(&self) -> u64 {
        self.p.value
    }
}

#[test]
fn arcs_of_several_caches_share_one_dyn_type() {
    let runtime: SlabCache<ArcInner<Padded>> = SlabCache::new();
    let a: SlabArc<dyn Shape, Erased> = coerce!(runtime.alloc_arc(padded(4)));
    let b: SlabArc<dyn Shape, Erased> = coerce!(Config::new_arc(Config {
        p: padded(5),
        name: String::new()
    }));
    let w: SlabWeak<dyn Shape, Erased> = SlabArc::downgrade(&b);
    let shapes = vec![a.clone(), a, b];
    assert_eq!(shapes.iter().map(|s| s.area()).sum::<u64>(), 8 + 8 + 5);
    let typed = runtime.alloc_arc(padded(6));
    let tw = SlabArc::downgrade(&typed);
    let dw: SlabWeak<dyn Debug + Send + Sync, Erased> = coerce!(tw);
    assert!(dw.upgrade().is_some());
    std::thread::spawn(move || drop(shapes)).join().unwrap();
    assert!(w.upgrade().is_none());
    drop((w, typed, dw));
    assert_eq!(runtime.stats().in_use, 0);
}

#[test]
fn typed_arcs_default_and_pin() {
    let a: CachedArc<Config> = CachedArc::default();
    assert_eq!(a.p, Padded::default());
    let p = CachedArc::pin(Config::default());
    assert_eq!(p.name, "");
}

/// One step of the model test.
#[derive(Clone, Debug)]
enum Op {
    Clone(usize),
    Drop(usize),
    Downgrade(usize),
    Upgrade(usize),
    DropWeak(usize),
    GetMut(usize),
    MakeMut(usize),
    TryUnwrap(usize),
    IntoInner(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..8usize).prop_map(Op::Clone),
        (0..8usize).prop_map(Op::Drop),
        (0..8usize).prop_map(Op::Downgrade),
        (0..8usize).prop_map(Op::Upgrade),
        (0..8usize).prop_map(Op::DropWeak),
        (0..8usize).prop_map(Op::GetMut),
        (0..8usize).prop_map(Op::MakeMut),
        (0..8usize).prop_map(Op::TryUnwrap),
        (0..8usize).prop_map(Op::IntoInner),
    ]
}

/// The model of one slot: its counts and whether its value is alive.
#[derive(Clone, Debug, Default)]
struct Slot {
    strong: usize,
    weak: usize,
    value: u64,
}

type A = SlabArc<Val>;
type W = SlabWeak<Val>;

/// Runs `ops` on arcs of three initial values, checking every count against the model.
fn run(ops: Vec<Op>) {
    let t = Tracker::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let cache = Cache::new();
    let mut made = 0u64;
    let mut slots: Vec<Slot> = Vec::new();
    let mut arcs: Vec<(A, usize)> = Vec::new();
    let mut weaks: Vec<(W, usize)> = Vec::new();
    let mut moved_out = 0usize;
    for v in 0..3 {
        arcs.push((counted(&cache, &drops, v), slots.len()));
        slots.push(Slot {
            strong: 1,
            weak: 0,
            value: v,
        });
        made += 1;
    }
    for op in ops {
        match op {
            Op::Clone(i) if !arcs.is_empty() => {
                let (a, s) = &arcs[i % arcs.len()];
                let s = *s;
                arcs.push((SlabArc::clone(a), s));
                slots[s].strong += 1;
            }
            Op::Drop(i) if !arcs.is_empty() => {
                let (_, s) = arcs.swap_remove(i % arcs.len());
                slots[s].strong -= 1;
            }
            Op::Downgrade(i) if !arcs.is_empty() => {
                let (a, s) = &arcs[i % arcs.len()];
                let s = *s;
                weaks.push((SlabArc::downgrade(a), s));
                slots[s].weak += 1;
            }
            Op::Upgrade(i) if !weaks.is_empty() => {
                let (w, s) = &weaks[i % weaks.len()];
                let s = *s;
                match w.upgrade() {
                    Some(a) => {
                        assert!(slots[s].strong > 0, "upgraded a dropped value");
                        assert_eq!(a.p.value, slots[s].value);
                        arcs.push((a, s));
                        slots[s].strong += 1;
                    }
                    None => assert_eq!(slots[s].strong, 0, "upgrade failed while alive"),
                }
            }
            Op::DropWeak(i) if !weaks.is_empty() => {
                let (_, s) = weaks.swap_remove(i % weaks.len());
                slots[s].weak -= 1;
            }
            Op::GetMut(i) if !arcs.is_empty() => {
                let k = i % arcs.len();
                let s = arcs[k].1;
                let unique = slots[s].strong == 1 && slots[s].weak == 0;
                match SlabArc::get_mut(&mut arcs[k].0) {
                    Some(v) => {
                        assert!(unique);
                        v.p.value += 100;
                        slots[s].value += 100;
                    }
                    None => assert!(!unique),
                }
            }
            Op::MakeMut(i) if !arcs.is_empty() => {
                let k = i % arcs.len();
                let s = arcs[k].1;
                let (strong, weak) = (slots[s].strong, slots[s].weak);
                let v = SlabArc::make_mut(&mut arcs[k].0);
                v.p.value += 1;
                if strong == 1 && weak == 0 {
                    slots[s].value += 1;
                } else {
                    // A new slot: a clone (strong > 1, one more value) or the value moved
                    // (only weak references were left on the old slot).
                    let value = slots[s].value + 1;
                    slots[s].strong -= 1;
                    if strong > 1 {
                        made += 1;
                    }
                    arcs[k].1 = slots.len();
                    slots.push(Slot {
                        strong: 1,
                        weak: 0,
                        value,
                    });
                }
            }
            Op::TryUnwrap(i) if !arcs.is_empty() => {
                let (a, s) = arcs.swap_remove(i % arcs.len());
                match SlabArc::try_unwrap(a) {
                    Ok(v) => {
                        assert_eq!(slots[s].strong, 1);
                        assert_eq!(v.p.value, slots[s].value);
                        slots[s].strong = 0;
                        moved_out += 1;
                        drop(v);
                    }
                    Err(a) => {
                        assert!(slots[s].strong > 1);
                        arcs.push((a, s));
                    }
                }
            }
            Op::IntoInner(i) if !arcs.is_empty() => {
                let (a, s) = arcs.swap_remove(i % arcs.len());
                let last = slots[s].strong == 1;
                slots[s].strong -= 1;
                match SlabArc::into_inner(a) {
                    Some(v) => {
                        assert!(last);
                        assert_eq!(v.p.value, slots[s].value);
                        moved_out += 1;
                    }
                    None => assert!(!last),
                }
            }
            _ => {}
        }
        for (a, s) in &arcs {
            assert_eq!(SlabArc::strong_count(a), slots[*s].strong);
            assert_eq!(SlabArc::weak_count(a), slots[*s].weak);
        }
        for (w, s) in &weaks {
            assert_eq!(w.strong_count(), slots[*s].strong);
            let expect = if slots[*s].strong == 0 {
                0
            } else {
                slots[*s].weak
            };
            assert_eq!(w.weak_count(), expect);
        }
        let live_slots = slots.iter().filter(|s| s.strong + s.weak > 0).count();
        assert_eq!(
            cache.stats().in_use,
            live_slots,
            "one slot per live value or weak"
        );
        let live_values = slots.iter().filter(|s| s.strong > 0).count();
        assert_eq!(
            drops.load(Ordering::SeqCst),
            made as usize - live_values,
            "every value dropped once: with its last strong reference, or moved out ({moved_out})"
        );
    }
    drop((arcs, weaks));
    assert_eq!(drops.load(Ordering::SeqCst), made as usize);
    assert_eq!(cache.stats().in_use, 0);
    drop(cache);
    assert_eq!(t.live_blocks(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_count_operations_agree_with_the_model(
        ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 30 } else { 200 })
    ) {
        run(ops);
    }
}
