//! Random alloc/free/reserve/shrink/raw round-trips on several types (1 to 5000 bytes,
//! alignment 1 to 64) against a model, through the thread's magazines (`alloc`, dropping a
//! box, `flush_thread_caches`) and the handles' own (`alloc_mut`, `free`, `flush`): values intact, stats
//! agree with the model (slots in magazines count as free), and every hook byte is back
//! when the caches and boxes are gone.

mod common;

use common::Tracker;
use proptest::prelude::*;
use slab_core::{SlabBox, SlabCache, SpinLock};

/// A value that can be rebuilt from a seed and checked against it.
trait Sample: Sized {
    fn make(seed: u64) -> Self;
    fn check(&self, seed: u64) -> bool;
}

impl Sample for u8 {
    fn make(seed: u64) -> Self {
        seed as u8
    }
    fn check(&self, seed: u64) -> bool {
        *self == seed as u8
    }
}

impl Sample for [u16; 3] {
    fn make(seed: u64) -> Self {
        [seed as u16, (seed >> 16) as u16, 7]
    }
    fn check(&self, seed: u64) -> bool {
        *self == Self::make(seed)
    }
}

#[repr(align(64))]
struct Aligned64([u8; 40]);
impl Sample for Aligned64 {
    fn make(seed: u64) -> Self {
        Aligned64([seed as u8; 40])
    }
    fn check(&self, seed: u64) -> bool {
        (self as *const Self).addr().is_multiple_of(64) && self.0 == [seed as u8; 40]
    }
}

impl Sample for Vec<u64> {
    fn make(seed: u64) -> Self {
        (0..seed % 7).map(|i| i ^ seed).collect()
    }
    fn check(&self, seed: u64) -> bool {
        *self == Self::make(seed)
    }
}

impl Sample for [u8; 1500] {
    fn make(seed: u64) -> Self {
        let mut a = [seed as u8; 1500];
        a[1499] = !(seed as u8);
        a
    }
    fn check(&self, seed: u64) -> bool {
        self[0] == seed as u8 && self[1499] == !(seed as u8) && self[750] == seed as u8
    }
}

struct Big([u64; 625]); // 5000 bytes
impl Sample for Big {
    fn make(seed: u64) -> Self {
        Big([seed; 625])
    }
    fn check(&self, seed: u64) -> bool {
        self.0.iter().all(|&x| x == seed)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        kind: usize,
        seed: u64,
    },
    Free {
        index: usize,
    },
    /// `alloc_mut`: from the handle's magazine.
    AllocMut {
        kind: usize,
        seed: u64,
    },
    /// `free` through the box's own cache: into its handle's magazine.
    FreeMut {
        index: usize,
    },
    /// The handle's magazines back to the depot.
    Flush {
        kind: usize,
    },
    RawRoundTrip {
        index: usize,
    },
    Reserve {
        kind: usize,
        n: usize,
    },
    Shrink {
        kind: usize,
    },
    Check,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..KINDS, any::<u64>()).prop_map(|(kind, seed)| Op::Alloc { kind, seed }),
        4 => any::<usize>().prop_map(|index| Op::Free { index }),
        6 => (0..KINDS, any::<u64>()).prop_map(|(kind, seed)| Op::AllocMut { kind, seed }),
        4 => any::<usize>().prop_map(|index| Op::FreeMut { index }),
        1 => (0..KINDS).prop_map(|kind| Op::Flush { kind }),
        1 => any::<usize>().prop_map(|index| Op::RawRoundTrip { index }),
        1 => (0..KINDS, 0..200usize).prop_map(|(kind, n)| Op::Reserve { kind, n }),
        1 => (0..KINDS).prop_map(|kind| Op::Shrink { kind }),
        1 => Just(Op::Check),
    ]
}

const KINDS: usize = 6;

/// One cache per kind, its live boxes with their seeds.
struct Pools {
    c0: SlabCache<u8, SpinLock, 512>,
    c1: SlabCache<[u16; 3], SpinLock, 1024>,
    c2: SlabCache<Aligned64, SpinLock, 4096>,
    c3: SlabCache<Vec<u64>, SpinLock, 2048>,
    c4: SlabCache<[u8; 1500], SpinLock, 8192>,
    c5: SlabCache<Big, SpinLock, 16384>,
    live: Vec<Live>,
}

enum Live {
    K0(SlabBox<u8, SlabCache<u8, SpinLock, 512>>, u64),
    K1(SlabBox<[u16; 3], SlabCache<[u16; 3], SpinLock, 1024>>, u64),
    K2(
        SlabBox<Aligned64, SlabCache<Aligned64, SpinLock, 4096>>,
        u64,
    ),
    K3(SlabBox<Vec<u64>, SlabCache<Vec<u64>, SpinLock, 2048>>, u64),
    K4(
        SlabBox<[u8; 1500], SlabCache<[u8; 1500], SpinLock, 8192>>,
        u64,
    ),
    K5(SlabBox<Big, SlabCache<Big, SpinLock, 16384>>, u64),
}

macro_rules! each_kind {
    ($pools:expr, $kind:expr, |$c:ident| $body:expr) => {
        match $kind {
            0 => {
                let $c = &$pools.c0;
                $body
            }
            1 => {
                let $c = &$pools.c1;
                $body
            }
            2 => {
                let $c = &$pools.c2;
                $body
            }
            3 => {
                let $c = &$pools.c3;
                $body
            }
            4 => {
                let $c = &$pools.c4;
                $body
            }
            _ => {
                let $c = &$pools.c5;
                $body
            }
        }
    };
}

/// As `each_kind!`, with `&mut` access to the cache.
macro_rules! each_kind_mut {
    ($pools:expr, $kind:expr, |$c:ident| $body:expr) => {
        match $kind {
            0 => {
                let $c = &mut $pools.c0;
                $body
            }
            1 => {
                let $c = &mut $pools.c1;
                $body
            }
            2 => {
                let $c = &mut $pools.c2;
                $body
            }
            3 => {
                let $c = &mut $pools.c3;
                $body
            }
            4 => {
                let $c = &mut $pools.c4;
                $body
            }
            _ => {
                let $c = &mut $pools.c5;
                $body
            }
        }
    };
}

impl Live {
    fn kind(&self) -> usize {
        match self {
            Live::K0(..) => 0,
            Live::K1(..) => 1,
            Live::K2(..) => 2,
            Live::K3(..) => 3,
            Live::K4(..) => 4,
            Live::K5(..) => 5,
        }
    }

    fn check(&self) -> bool {
        match self {
            Live::K0(b, s) => b.check(*s),
            Live::K1(b, s) => b.check(*s),
            Live::K2(b, s) => b.check(*s),
            Live::K3(b, s) => b.check(*s),
            Live::K4(b, s) => b.check(*s),
            Live::K5(b, s) => b.check(*s),
        }
    }

    /// `into_raw` then `from_raw`: the value must survive.
    fn round_trip(self) -> Live {
        macro_rules! rt {
            ($v:ident, $b:expr, $s:expr) => {{
                let raw = SlabBox::into_raw($b);
                // SAFETY: `raw` came from `into_raw` of this very box type, once.
                Live::$v(unsafe { SlabBox::from_raw(raw) }, $s)
            }};
        }
        match self {
            Live::K0(b, s) => rt!(K0, b, s),
            Live::K1(b, s) => rt!(K1, b, s),
            Live::K2(b, s) => rt!(K2, b, s),
            Live::K3(b, s) => rt!(K3, b, s),
            Live::K4(b, s) => rt!(K4, b, s),
            Live::K5(b, s) => rt!(K5, b, s),
        }
    }
}

impl Pools {
    fn new() -> Self {
        Pools {
            c0: SlabCache::new(),
            c1: SlabCache::new(),
            c2: SlabCache::new(),
            c3: SlabCache::new(),
            c4: SlabCache::new(),
            c5: SlabCache::new(),
            live: Vec::new(),
        }
    }

    fn alloc(&mut self, kind: usize, seed: u64) {
        let l = match kind {
            0 => Live::K0(self.c0.alloc(Sample::make(seed)), seed),
            1 => Live::K1(self.c1.alloc(Sample::make(seed)), seed),
            2 => Live::K2(self.c2.alloc(Sample::make(seed)), seed),
            3 => Live::K3(self.c3.alloc(Sample::make(seed)), seed),
            4 => Live::K4(self.c4.alloc(Sample::make(seed)), seed),
            _ => Live::K5(self.c5.alloc(Sample::make(seed)), seed),
        };
        self.live.push(l);
    }

    fn alloc_mut(&mut self, kind: usize, seed: u64) {
        let l = match kind {
            0 => Live::K0(self.c0.alloc_mut(Sample::make(seed)), seed),
            1 => Live::K1(self.c1.alloc_mut(Sample::make(seed)), seed),
            2 => Live::K2(self.c2.alloc_mut(Sample::make(seed)), seed),
            3 => Live::K3(self.c3.alloc_mut(Sample::make(seed)), seed),
            4 => Live::K4(self.c4.alloc_mut(Sample::make(seed)), seed),
            _ => Live::K5(self.c5.alloc_mut(Sample::make(seed)), seed),
        };
        self.live.push(l);
    }

    /// Frees `l` through its own cache's `free`: the slot goes into that handle's
    /// magazine (the only handle of its cache, so it always gets a counter).
    fn free_mut(&mut self, l: Live) {
        let kind = l.kind();
        match l {
            Live::K0(b, _) => self.c0.free(b),
            Live::K1(b, _) => self.c1.free(b),
            Live::K2(b, _) => self.c2.free(b),
            Live::K3(b, _) => self.c3.free(b),
            Live::K4(b, _) => self.c4.free(b),
            Live::K5(b, _) => self.c5.free(b),
        }
        let held = each_kind!(self, kind, |c| c.scan())
            .unwrap_or_else(|e| panic!("{e}"))
            .held;
        assert!(held > 0, "a freed slot of kind {kind} went into its handle");
    }

    fn check(&self, t: &Tracker) {
        let mut bytes = 0;
        for kind in 0..KINDS {
            let expect = self.live.iter().filter(|l| l.kind() == kind).count();
            let s = each_kind!(self, kind, |c| c.stats());
            let scan = each_kind!(self, kind, |c| c.scan()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.in_use, expect, "in_use of kind {kind}");
            assert!(scan.in_use_slots >= scan.parked + scan.held, "{scan:?}");
            assert_eq!(
                scan.in_use_slots - scan.parked - scan.held,
                expect,
                "scanned slots of kind {kind} less magazine slots: {scan:?}"
            );
            assert_eq!(scan.slabs, s.slabs);
            assert_eq!(
                scan.in_use_slots + scan.free_listed + scan.never_used,
                s.capacity
            );
            assert!(s.peak >= s.in_use && s.capacity >= s.in_use);
            assert_eq!(s.bytes, s.slabs * s.slab_size);
            assert!(s.empty_slabs < s.slabs.max(1));
            assert_eq!(s.hook_allocs - s.hook_frees, s.slabs);
            bytes += s.bytes;
        }
        assert_eq!(t.live_bytes(), bytes, "hook bytes match the caches' stats");
        for l in &self.live {
            assert!(l.check(), "a value changed while it was live");
        }
    }
}

fn run(ops: Vec<Op>) {
    let t = Tracker::new();
    let mut p = Pools::new();
    for op in ops {
        match op {
            Op::Alloc { kind, seed } => p.alloc(kind, seed),
            Op::Free { index } if !p.live.is_empty() => {
                let l = p.live.swap_remove(index % p.live.len());
                assert!(l.check(), "value intact when freed");
            }
            Op::AllocMut { kind, seed } => p.alloc_mut(kind, seed),
            Op::FreeMut { index } if !p.live.is_empty() => {
                let l = p.live.swap_remove(index % p.live.len());
                assert!(l.check(), "value intact when freed");
                p.free_mut(l);
            }
            Op::Flush { kind } => {
                each_kind_mut!(p, kind, |c| {
                    let before = c.scan().unwrap_or_else(|e| panic!("{e}"));
                    c.flush();
                    slab_core::flush_thread_caches();
                    let after = c.scan().unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(after.held, 0, "a flushed handle and thread hold nothing");
                    // Its slots are parked or back on their slabs, none lost or added.
                    assert_eq!(
                        before.in_use_slots - before.parked - before.held,
                        after.in_use_slots - after.parked
                    );
                });
            }
            Op::RawRoundTrip { index } if !p.live.is_empty() => {
                let i = index % p.live.len();
                let l = p.live.swap_remove(i);
                p.live.push(l.round_trip());
            }
            Op::Reserve { kind, n } => {
                each_kind!(p, kind, |c| {
                    let before = c.stats();
                    c.reserve(n).unwrap();
                    assert!(c.stats().capacity - before.in_use >= n);
                });
            }
            Op::Shrink { kind } => {
                each_kind!(p, kind, |c| {
                    let before = c.stats();
                    let scan = c.scan().unwrap_or_else(|e| panic!("{e}"));
                    let freed = c.shrink();
                    let after = c.stats();
                    let scan_after = c.scan().unwrap_or_else(|e| panic!("{e}"));
                    // The calling thread's own `&self` magazines go back too (a handle's
                    // stay, and keep their slots): what left `held` is what this thread held.
                    assert!(scan_after.held <= scan.held, "shrink took no slot out");
                    let own = scan.held - scan_after.held;
                    if scan.parked == 0 && own == 0 {
                        // Exactly the empty slabs that stats reported.
                        assert_eq!(freed, before.empty_slabs);
                    } else {
                        // Parked and own magazines go back to their slabs first, which may
                        // empty more of them.
                        assert!(freed >= before.empty_slabs);
                    }
                    assert_eq!(after.empty_slabs, 0);
                    assert_eq!(after.slabs, before.slabs - freed);
                    assert_eq!(after.in_use, before.in_use);
                    assert_eq!(scan_after.parked, 0, "shrink drained the depot");
                    assert_eq!(
                        scan_after.in_use_slots,
                        scan.in_use_slots - scan.parked - own
                    );
                });
            }
            _ => {}
        }
        p.check(&t);
    }
    p.check(&t);
    drop(p);
    assert_eq!(
        t.live_blocks(),
        0,
        "every hook block returned once the caches and boxes are gone"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_operation_sequences_agree_with_the_model(
        ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 40 } else { 400 })
    ) {
        run(ops);
    }
}

#[test]
fn boxes_dropped_after_their_caches_still_return_every_byte() {
    let t = Tracker::new();
    let mut p = Pools::new();
    for i in 0..common::scaled(300) as u64 {
        p.alloc((i % KINDS as u64) as usize, i);
    }
    let live = std::mem::take(&mut p.live);
    drop(p);
    assert!(t.live_blocks() > 0);
    assert!(live.iter().all(Live::check));
    drop(live);
    assert_eq!(t.live_blocks(), 0);
}
