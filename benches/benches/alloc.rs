//! Issue 5 scenarios S1-S4 and S6 for every implementation, in one criterion run.
//!
//! Every benchmark reports time per criterion iteration and declares how many
//! alloc+free pairs an iteration holds (`Throughput::Elements`), so
//! `benches/report.py` divides to get (aggregate) ns per pair:
//! - S1: one pair per iteration, one thread.
//! - S2: an iteration allocates N objects, then frees all N (in order or in a fixed
//!   shuffled order); N pairs.
//! - S3 / S6: every one of 2 / 8 threads does one S1 pair per iteration; the time is the
//!   wall time from the first thread's start to the last thread's end, so an iteration
//!   holds 2 / 8 pairs and the result is aggregate time per pair.
//! - S4: one packet per iteration, allocated on a producer thread, sent over a bounded
//!   channel and freed on a consumer thread; wall time per packet.
//! - S7 (issue 17): steady-state churn. N objects live (`SLAB_BENCH_S7_N`, default 100 000
//!   for 64 B; `SLAB_BENCH_S7_PACKETS`, default 10 000 packets); one iteration frees the
//!   object at the next index of a fixed pseudo-random sequence and allocates its
//!   replacement there. One pair per iteration, one thread.
//! - S1 call shapes (issue 17): S1 of a 1500-byte header packet built as a struct literal,
//!   an `#[inline(always)]` constructor, a newtype wrap, a closure, and `init_with`; with
//!   the byte at a fixed place and at a run-time one (`benches/asm_check.py` reads each
//!   shape's machine code).
//! - Bulk (issue 18): per object, batches of 16 64-byte objects allocated (from an array, and
//!   built in place by `_with`) and freed in bulk,
//!   beside the floor's and `new_boxed`'s single pair.
//! - Refill (issue 17): `alloc_mut` from fragmented caches of 16 KiB, 1 MiB and 16 MiB slabs.
//!
//! Threads are spawned once per sample batch (`iter_custom` + `std::thread::scope`) and
//! start together on a barrier; spawning and joining are outside the timed span.
//!
//! - Arc (issue 18): `Arc-64B`, one iteration makes an arc of a 64-byte object, clones it
//!   and drops both (one slot in and out, three count updates); `Arc-clone-64B`, one
//!   iteration clones a live arc and drops the clone. `std::sync::Arc` here is on glibc;
//!   `benches/arc_mimalloc.rs` adds the same rows on mimalloc.
//! - Bytes (issue 18): `Bytes-packet`, one iteration takes a 1500-byte buffer, writes a
//!   64-byte header, hands it to `bytes::Bytes` and drops that: a pooled `ByteBuf` through
//!   `into_bytes` (zero-copy, `Bytes::from_owner`) against `BytesMut::freeze` on the global
//!   allocator.
//! - pooled-vec (issue 19): one object-pool round trip per iteration, one thread: take a
//!   `Vec<u8>` of 1500 bytes' capacity from the pool, fill it with 1500 bytes, give it
//!   back (reset: cleared, capacity kept); ours (`ObjectCache`, a handle's magazines)
//!   against `object-pool`, `opool` (its thread-local pool) and `lifeguard`.
//!
//! Environment: `SLAB_BENCH_S2_N` (default 1 000 000) and `SLAB_BENCH_S2_PACKETS`
//! (default 100 000: 1M packets would be 1.5 GB per implementation and blow the time
//! budget) set N for S2.

use std::hint::black_box;

use bytes::{BufMut, Bytes, BytesMut};
use std::sync::Barrier;
use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use slab_core::{SlabBox, SlabCache, SpinLock};

use slab_bench::{
    Cached64, CachedHdr, CachedPacket, Floor, HdrPacket, Heapless, HeaplessPool64,
    HeaplessPoolPacket, Imp, Mi, MiBox, OURS_HDR, Obj, Obj64, ObjPool, OursMacro, OursRuntime,
    OursShared, Packet, Seed, SeedNoLock, SeedSpinLock, Sharded, SysBox, WrapHdr, in_order,
    shuffled,
};

/// Capacity of the S4 channel.
const CHANNEL_CAP: usize = 128;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn s2_n<T: Obj>() -> usize {
    if T::NAME == "packet" {
        env_usize("SLAB_BENCH_S2_PACKETS", 100_000)
    } else {
        env_usize("SLAB_BENCH_S2_N", 1_000_000)
    }
}

// ---------------------------------------------------------------------------------------
// The loops.

/// S1: `iters` times allocate-and-write, then free.
#[inline(never)]
fn s1_loop<T: Obj, A: Imp<T>>(a: &mut A, iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        // `make` writes the whole object from an opaque counter; the handle goes through
        // `black_box`, so the object escapes and the write cannot be dropped.
        let h = a.alloc(T::make(black_box(i as usize)));
        a.free(black_box(h));
    }
    start.elapsed()
}

/// S3 / S6: `threads` threads each run [`s1_loop`] on their own clone of `a`.
fn mt_loop<T: Obj, A: Imp<T> + Clone + Sync>(a: &A, threads: usize, iters: u64) -> Duration {
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = a.clone();
                    barrier.wait();
                    let t0 = Instant::now();
                    let d = s1_loop::<T, A>(&mut mine, iters);
                    (t0, t0 + d)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect()
    });
    let start = spans.iter().map(|s| s.0).min().expect("threads");
    let end = spans.iter().map(|s| s.1).max().expect("threads");
    end - start
}

/// S2: allocate `order.len()` objects, then free them in `order`; `iters` times.
fn s2_loop<T: Obj, A: Imp<T>>(
    a: &mut A,
    order: &[usize],
    store: &mut Vec<Option<A::Handle>>,
    iters: u64,
) -> Duration {
    let n = order.len();
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        store.clear();
        let t0 = Instant::now();
        for i in 0..n {
            store.push(Some(a.alloc(T::make(black_box(i)))));
        }
        black_box(&mut *store);
        for &k in order {
            let h = store[k].take().expect("live");
            a.free(black_box(h));
        }
        total += t0.elapsed();
    }
    store.clear();
    total
}

/// S4: a producer allocates and sends `iters` objects; a consumer receives and frees.
fn s4_loop<T: Obj, A>(a: &A, iters: u64) -> Duration
where
    A: Imp<T> + Clone + Sync,
    A::Handle: Send,
{
    let (tx, rx) = sync_channel::<A::Handle>(CHANNEL_CAP);
    let barrier = &Barrier::new(2);
    let (t0, t1) = thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut mine = a.clone();
            barrier.wait();
            let t0 = Instant::now();
            for i in 0..iters {
                let h = mine.alloc(T::make(black_box(i as usize)));
                tx.send(h).expect("consumer alive");
            }
            drop(tx);
            t0
        });
        let consumer = s.spawn(move || {
            let mut mine = a.clone();
            barrier.wait();
            for h in rx.iter() {
                mine.free(black_box(h));
            }
            Instant::now()
        });
        (
            producer.join().expect("producer"),
            consumer.join().expect("consumer"),
        )
    });
    t1 - t0
}

/// S7: `iters` steady-state steps on `store` (N live objects): free the object at the next
/// pseudo-random index of `idx` and allocate its replacement there.
#[inline(never)]
fn s7_loop<T: Obj, A: Imp<T>>(
    a: &mut A,
    store: &mut [Option<A::Handle>],
    idx: &[u32],
    pos: &mut usize,
    iters: u64,
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let k = idx[*pos] as usize;
        *pos = if *pos + 1 == idx.len() { 0 } else { *pos + 1 };
        let slot = &mut store[k];
        if let Some(h) = slot.take() {
            a.free(black_box(h));
        }
        *slot = Some(a.alloc(T::make(black_box(k))));
    }
    start.elapsed()
}

// ---------------------------------------------------------------------------------------
// Registration.

fn group<'a>(c: &'a mut Criterion, name: String, elements: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(elements));
    g
}

fn bench_s1<T: Obj, A: Imp<T>>(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, mut a: A) {
    g.bench_function(id, |b| b.iter_custom(|n| s1_loop::<T, A>(&mut a, n)));
}

fn bench_mt<T: Obj, A: Imp<T> + Clone + Sync>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    a: A,
    threads: usize,
) {
    g.bench_function(id, |b| b.iter_custom(|n| mt_loop::<T, A>(&a, threads, n)));
}

fn bench_s2<T: Obj, A: Imp<T>>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    mut a: A,
    order: &[usize],
) {
    let mut store: Vec<Option<A::Handle>> = Vec::with_capacity(order.len());
    g.bench_function(id, |b| {
        b.iter_custom(|n| s2_loop::<T, A>(&mut a, order, &mut store, n))
    });
}

/// Live objects in S7.
fn s7_n<T: Obj>() -> usize {
    if T::NAME == "packet" {
        env_usize("SLAB_BENCH_S7_PACKETS", 10_000)
    } else {
        env_usize("SLAB_BENCH_S7_N", 100_000)
    }
}

/// A fixed pseudo-random sequence of 2^20 indices below `n` (xorshift), the same for every
/// implementation.
fn s7_indices(n: usize) -> Vec<u32> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as u32
        })
        .collect()
}

fn bench_s7<T: Obj, A: Imp<T>>(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, mut a: A) {
    let n = s7_n::<T>();
    let idx = s7_indices(n);
    let mut store: Vec<Option<A::Handle>> = (0..n).map(|i| Some(a.alloc(T::make(i)))).collect();
    let mut pos = 0;
    g.bench_function(id, |b| {
        b.iter_custom(|iters| s7_loop::<T, A>(&mut a, &mut store, &idx, &mut pos, iters))
    });
    for h in store.drain(..).flatten() {
        a.free(h);
    }
}

fn bench_s4<T: Obj, A>(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, a: A)
where
    A: Imp<T> + Clone + Sync,
    A::Handle: Send,
{
    g.bench_function(id, |b| b.iter_custom(|n| s4_loop::<T, A>(&a, n)));
}

/// The thread-safe implementations of one object type, for S3, S4 and S6.
macro_rules! for_shared_impls {
    ($T:ty, $heapless:expr, $ours:expr, $shared:expr, $macro:ty, |$id:ident, $a:ident| $body:expr) => {{
        {
            let ($id, $a) = ("box", SysBox);
            $body;
        }
        {
            let ($id, $a) = ("mimalloc", Mi);
            $body;
        }
        {
            let ($id, $a) = ("seed-spin", Seed::<$T, SeedSpinLock>::new());
            $body;
        }
        {
            let ($id, $a) = ("heapless", $heapless);
            $body;
        }
        {
            let ($id, $a) = ("sharded-slab", Sharded::<$T>::new());
            $body;
        }
        {
            let ($id, $a) = ("object-pool", ObjPool::<$T>::new());
            $body;
        }
        {
            let ($id, $a) = ("ours-macro", OursMacro::<$macro>::new());
            $body;
        }
        {
            let ($id, $a) = ("ours-runtime", $ours);
            $body;
        }
        {
            let ($id, $a) = ("ours-shared", $shared);
            $body;
        }
    }};
}

/// Every implementation of one object type, for S1 and S2.
macro_rules! for_all_impls {
    ($T:ty, $heapless:expr, $ours:expr, $shared:expr, $macro:ty, |$id:ident, $a:ident| $body:expr) => {{
        for_shared_impls!($T, $heapless, $ours, $shared, $macro, |$id, $a| $body);
        {
            let ($id, $a) = ("seed-nolock", Seed::<$T, SeedNoLock>::new());
            $body;
        }
        {
            let ($id, $a) = ("floor", Floor::<$T>::new());
            $body;
        }
    }};
}

macro_rules! scenarios {
    ($fn_name:ident, $T:ty, $heapless:expr, $ours:expr, $shared:expr, $macro:ty) => {
        fn $fn_name(c: &mut Criterion) {
            let name = <$T as Obj>::NAME;
            let n = s2_n::<$T>();

            let mut g = group(c, format!("S1-{name}"), 1);
            g.sample_size(30)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_millis(1500));
            for_all_impls!(
                $T,
                $heapless(1),
                $ours,
                $shared,
                $macro,
                |id, a| bench_s1::<$T, _>(&mut g, id, a)
            );
            g.finish();

            for (order_name, order) in [("in-order", in_order(n)), ("shuffled", shuffled(n))] {
                let mut g = group(c, format!("S2-{order_name}-{name}"), n as u64);
                g.sampling_mode(SamplingMode::Flat)
                    .sample_size(10)
                    .warm_up_time(Duration::from_millis(300))
                    .measurement_time(Duration::from_secs(2));
                for_all_impls!(
                    $T,
                    $heapless(n),
                    $ours,
                    $shared,
                    $macro,
                    |id, a| bench_s2::<$T, _>(&mut g, id, a, order)
                );
                g.finish();
            }

            let mut g = group(c, format!("S7-{name}"), 1);
            g.sample_size(20)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_millis(1500));
            let n7 = s7_n::<$T>();
            for_all_impls!($T, $heapless(n7 + 64), $ours, $shared, $macro, |id, a| {
                bench_s7::<$T, _>(&mut g, id, a)
            });
            g.finish();

            for (scenario, threads) in [("S3", 2), ("S6", 8)] {
                let mut g = group(c, format!("{scenario}-{name}"), threads as u64);
                g.sample_size(20)
                    .warm_up_time(Duration::from_millis(500))
                    .measurement_time(Duration::from_millis(1500));
                for_shared_impls!(
                    $T,
                    $heapless(1),
                    $ours,
                    $shared,
                    $macro,
                    |id, a| bench_mt::<$T, _>(&mut g, id, a, threads)
                );
                g.finish();
            }
        }
    };
}

scenarios!(
    scenarios_64,
    Obj64,
    Heapless::<HeaplessPool64>::with_blocks,
    OursRuntime::<Obj64, { slab_bench::OURS_SLAB_64 }>::new(),
    OursShared::<Obj64, { slab_bench::OURS_SLAB_64 }>::new(),
    Cached64
);
scenarios!(
    scenarios_packet,
    Packet,
    Heapless::<HeaplessPoolPacket>::with_blocks,
    OursRuntime::<Packet, { slab_bench::OURS_SLAB_PACKET }>::new(),
    OursShared::<Packet, { slab_bench::OURS_SLAB_PACKET }>::new(),
    CachedPacket
);

fn scenario_s4(c: &mut Criterion) {
    let mut g = group(c, "S4-packet".to_string(), 1);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(2000));
    for_shared_impls!(
        Packet,
        Heapless::<HeaplessPoolPacket>::with_blocks(CHANNEL_CAP + 8),
        OursRuntime::<Packet, { slab_bench::OURS_SLAB_PACKET }>::new(),
        OursShared::<Packet, { slab_bench::OURS_SLAB_PACKET }>::new(),
        CachedPacket,
        |id, a| bench_s4::<Packet, _>(&mut g, id, a)
    );
    g.finish();
}

/// `iters` times: make an arc with `new`, clone it, drop both.
#[inline(never)]
fn arc_loop<A: Clone>(iters: u64, mut new: impl FnMut(u64) -> A) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let a = new(i);
        let b = black_box(&a).clone();
        drop(black_box(a));
        drop(black_box(b));
    }
    start.elapsed()
}

/// `iters` times: clone `live` and drop the clone.
#[inline(never)]
fn clone_loop<A: Clone>(iters: u64, live: &A) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        drop(black_box(black_box(live).clone()));
    }
    start.elapsed()
}

/// `iters` times: `one` takes a 1500-byte buffer, writes the 64-byte header into it and
/// makes it `Bytes`, which is dropped.
#[inline(never)]
fn bytes_loop(iters: u64, mut one: impl FnMut(&[u8]) -> Bytes) -> Duration {
    let header = [0x5a_u8; 64];
    let start = Instant::now();
    for _ in 0..iters {
        drop(black_box(one(black_box(&header))));
    }
    start.elapsed()
}

fn scenario_arc_and_bytes(c: &mut Criterion) {
    use std::sync::Arc;

    use slab_bench::shared::{
        ArcObj64, HeaplessArc64, OURS_ARC_64, OURS_BUFS, PooledBuf, heapless_arc_blocks,
    };
    use slab_core::{ByteBuf, SlabArc};

    let settings = |g: &mut BenchmarkGroup<'_, WallTime>| {
        g.sample_size(30)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_millis(1500));
    };
    heapless_arc_blocks(64);
    let obj = |i: u64| -> Obj64 { <Obj64 as Obj>::make(i as usize) };

    let mut g = group(c, "Arc-64B".to_string(), 1);
    settings(&mut g);
    g.bench_function("std-arc", |b| {
        b.iter_custom(|n| arc_loop(n, |i| Arc::new(obj(i))))
    });
    g.bench_function("heapless-arc", |b| {
        b.iter_custom(|n| {
            arc_loop(n, |i| match HeaplessArc64.alloc(obj(i)) {
                Ok(a) => a,
                Err(_) => panic!("heapless arc pool exhausted"),
            })
        })
    });
    g.bench_function("ours-arc-macro", |b| {
        b.iter_custom(|n| arc_loop(n, |i| ArcObj64::new_arc(ArcObj64(obj(i)))))
    });
    g.bench_function("ours-arc-runtime", |b| {
        b.iter_custom(|n| arc_loop(n, |i| OURS_ARC_64.alloc_arc(obj(i))))
    });
    g.finish();

    let mut g = group(c, "Arc-clone-64B".to_string(), 1);
    settings(&mut g);
    let std_live = Arc::new(obj(1));
    g.bench_function("std-arc", |b| b.iter_custom(|n| clone_loop(n, &std_live)));
    let heapless_live = match HeaplessArc64.alloc(obj(1)) {
        Ok(a) => a,
        Err(_) => panic!("heapless arc pool exhausted"),
    };
    g.bench_function("heapless-arc", |b| {
        b.iter_custom(|n| clone_loop(n, &heapless_live))
    });
    let ours_live = ArcObj64::new_arc(ArcObj64(obj(1)));
    g.bench_function("ours-arc-macro", |b| {
        b.iter_custom(|n| clone_loop(n, &ours_live))
    });
    let runtime_live = OURS_ARC_64.alloc_arc(obj(1));
    g.bench_function("ours-arc-runtime", |b| {
        b.iter_custom(|n| clone_loop::<SlabArc<Obj64, _>>(n, &runtime_live))
    });
    g.finish();

    let mut g = group(c, "Bytes-packet".to_string(), 1);
    settings(&mut g);
    g.bench_function("bytesmut-freeze", |b| {
        b.iter_custom(|n| {
            bytes_loop(n, |h| {
                let mut buf = BytesMut::with_capacity(1500);
                buf.put_slice(h);
                buf.freeze()
            })
        })
    });
    g.bench_function("ours-bytes-macro", |b| {
        b.iter_custom(|n| {
            bytes_loop(n, |h| {
                let mut p = PooledBuf::new_boxed(PooledBuf(ByteBuf::new()));
                p.0.put_slice(h);
                p.into_bytes()
            })
        })
    });
    let mut handle = OURS_BUFS.clone();
    g.bench_function("ours-bytes-runtime", |b| {
        b.iter_custom(|n| {
            bytes_loop(n, |h| {
                let mut buf = handle.alloc_mut(ByteBuf::new());
                buf.put_slice(h);
                buf.into_bytes()
            })
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// S1 call shapes of a 1500-byte packet (issue 17, item 1).

/// Defines `$name(iters)`: S1 of one call shape, `iters` times allocate packet `i` with
/// `$alloc` and free it with `$free`. Each shape is a function of its own, not inlined into
/// criterion's closure, so `benches/asm_check.py` can read its machine code: a shape that
/// builds the packet in its slot calls `memset` once and `memcpy` never.
macro_rules! shape {
    ($name:ident, { $($setup:tt)* }, |$i:ident| $alloc:expr, |$h:ident| $free:expr) => {
        #[inline(never)]
        fn $name(iters: u64) -> Duration {
            $($setup)*
            let start = Instant::now();
            for n in 0..iters {
                let $i = black_box(n as usize);
                let $h = black_box($alloc);
                $free;
            }
            start.elapsed()
        }
    };
}

shape!(
    shape_floor,
    {
        let mut f = Floor::<HdrPacket>::new();
    },
    |i| f.alloc(HdrPacket::make(i)),
    |h| f.free(h)
);
shape!(
    shape_mimalloc,
    {},
    |i| MiBox::new(HdrPacket::make(i)),
    |h| drop(h)
);
shape!(
    shape_macro_literal,
    {},
    |i| CachedHdr::new_boxed(CachedHdr {
        hdr: HdrPacket::header(i),
        payload: {
            // Byte 1, not 0 as in `CachedHdr::make`: with the same byte the two shapes
            // compile to the same code and LLVM merges them into one function, which
            // leaves `asm_check.py` nothing to read for this one.
            let mut p = [0; 1484];
            p[1] = i as u8;
            p
        },
    }),
    |h| drop(h)
);
shape!(
    shape_macro_ctor,
    {},
    |i| CachedHdr::new_boxed(CachedHdr::make(i)),
    |h| drop(h)
);
shape!(
    shape_macro_newtype,
    {},
    |i| WrapHdr::new_boxed(WrapHdr(HdrPacket::make(i))),
    |h| drop(h)
);
shape!(
    shape_macro_closure,
    {},
    |i| WrapHdr::new_boxed_with(|| WrapHdr(HdrPacket::make(i))),
    |h| drop(h)
);
shape!(
    shape_macro_init,
    {},
    |i| SlabBox::init_with(WrapHdr::new_uninit_boxed(), |s| {
        let p = s.write(WrapHdr(HdrPacket {
            hdr: HdrPacket::header(i),
            payload: [0; 1484],
        }));
        p.0.payload[0] = i as u8;
        p
    }),
    |h| drop(h)
);
shape!(
    shape_runtime,
    {
        let mut c = OURS_HDR.clone();
    },
    |i| c.alloc_mut(HdrPacket::make(i)),
    |h| c.free(h)
);
shape!(
    shape_runtime_closure,
    {
        let mut c = OURS_HDR.clone();
    },
    |i| c.alloc_mut_with(|| HdrPacket::make(i)),
    |h| c.free(h)
);
shape!(
    shape_shared,
    {},
    |i| OURS_HDR.alloc(HdrPacket::make(i)),
    |h| drop(h)
);
shape!(
    shape_shared_closure,
    {},
    |i| OURS_HDR.alloc_with(|| HdrPacket::make(i)),
    |h| drop(h)
);
// The byte at a place known only at run time.
shape!(
    shape_dyn_floor,
    {
        let mut f = Floor::<HdrPacket>::new();
    },
    |i| f.alloc(HdrPacket::make_dyn(i)),
    |h| f.free(h)
);
shape!(
    shape_dyn_floor_newtype,
    {
        let mut f = Floor::<WrapHdr>::new();
    },
    |i| f.alloc(WrapHdr(HdrPacket::make_dyn(i))),
    |h| f.free(h)
);
shape!(
    shape_dyn_macro_ctor,
    {},
    |i| CachedHdr::new_boxed(CachedHdr::make_dyn(i)),
    |h| drop(h)
);
shape!(
    shape_dyn_macro_ctor_closure,
    {},
    |i| CachedHdr::new_boxed_with(|| CachedHdr::make_dyn(i)),
    |h| drop(h)
);
shape!(
    shape_dyn_runtime,
    {
        let mut c = OURS_HDR.clone();
    },
    |i| c.alloc_mut(HdrPacket::make_dyn(i)),
    |h| c.free(h)
);
shape!(
    shape_dyn_runtime_closure,
    {
        let mut c = OURS_HDR.clone();
    },
    |i| c.alloc_mut_with(|| HdrPacket::make_dyn(i)),
    |h| c.free(h)
);
shape!(
    shape_dyn_shared,
    {},
    |i| OURS_HDR.alloc(HdrPacket::make_dyn(i)),
    |h| drop(h)
);
shape!(
    shape_dyn_shared_closure,
    {},
    |i| OURS_HDR.alloc_with(|| HdrPacket::make_dyn(i)),
    |h| drop(h)
);
shape!(
    shape_dyn_macro_newtype,
    {},
    |i| WrapHdr::new_boxed(WrapHdr(HdrPacket::make_dyn(i))),
    |h| drop(h)
);
shape!(
    shape_dyn_macro_closure,
    {},
    |i| WrapHdr::new_boxed_with(|| WrapHdr(HdrPacket::make_dyn(i))),
    |h| drop(h)
);
shape!(
    shape_dyn_macro_init,
    {},
    |i| SlabBox::init_with(WrapHdr::new_uninit_boxed(), |s| {
        let p = s.write(WrapHdr(HdrPacket {
            hdr: HdrPacket::header(i),
            payload: [0; 1484],
        }));
        p.0.payload[i % 1484] = 1;
        p
    }),
    |h| drop(h)
);

fn scenario_shapes(c: &mut Criterion) {
    type Shape = (&'static str, fn(u64) -> Duration);
    let groups: [(&str, &[Shape]); 2] = [
        (
            "S1-shapes-packet",
            &[
                ("floor", shape_floor),
                ("mimalloc", shape_mimalloc),
                ("ours-macro-literal", shape_macro_literal),
                ("ours-macro-ctor", shape_macro_ctor),
                ("ours-macro-newtype", shape_macro_newtype),
                ("ours-macro-closure", shape_macro_closure),
                ("ours-macro-init", shape_macro_init),
                ("ours-runtime", shape_runtime),
                ("ours-runtime-closure", shape_runtime_closure),
                ("ours-shared", shape_shared),
                ("ours-shared-closure", shape_shared_closure),
            ],
        ),
        (
            "S1-shapes-dyn-packet",
            &[
                ("floor", shape_dyn_floor),
                ("floor-newtype", shape_dyn_floor_newtype),
                ("ours-macro-ctor", shape_dyn_macro_ctor),
                ("ours-macro-ctor-closure", shape_dyn_macro_ctor_closure),
                ("ours-macro-newtype", shape_dyn_macro_newtype),
                ("ours-macro-closure", shape_dyn_macro_closure),
                ("ours-macro-init", shape_dyn_macro_init),
                ("ours-runtime", shape_dyn_runtime),
                ("ours-runtime-closure", shape_dyn_runtime_closure),
                ("ours-shared", shape_dyn_shared),
                ("ours-shared-closure", shape_dyn_shared_closure),
            ],
        ),
    ];
    for (name, shapes) in groups {
        let mut g = group(c, name.to_string(), 1);
        g.sample_size(30)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1000));
        for &(id, f) in shapes {
            g.bench_function(id, |b| b.iter_custom(f));
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------
// Bulk allocation and free (issue 18, item 5).

/// Objects per batch in the bulk rows.
const BATCH: usize = 16;

/// The values of batch `base`: [`BATCH`] 64-byte objects.
#[inline(always)]
fn batch(base: usize) -> [Obj64; BATCH] {
    core::array::from_fn(|k| <Obj64 as Obj>::make(base + k))
}

#[inline(never)]
fn bulk_macro(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let base = black_box(i as usize);
        let values: [Cached64; BATCH] =
            core::array::from_fn(|k| Cached64(<Obj64 as Obj>::make(base + k)));
        let boxes = slab_core::Boxed::new_bulk(values);
        slab_core::Boxed::free_bulk(black_box(boxes));
    }
    start.elapsed()
}

#[inline(never)]
fn bulk_runtime(iters: u64) -> Duration {
    let mut h = slab_bench::OURS_64.clone();
    let start = Instant::now();
    for i in 0..iters {
        let boxes = h.alloc_bulk_mut(batch(black_box(i as usize)));
        h.free_bulk_mut(black_box(boxes));
    }
    start.elapsed()
}

#[inline(never)]
fn bulk_shared(iters: u64) -> Duration {
    let pool = &slab_bench::OURS_SHARED_64;
    let start = Instant::now();
    for i in 0..iters {
        let boxes = pool.alloc_bulk(batch(black_box(i as usize)));
        pool.free_bulk(black_box(boxes));
    }
    start.elapsed()
}

#[inline(never)]
fn bulk_macro_with(iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let base = black_box(i as usize);
        let boxes: [slab_core::Boxed<Cached64>; BATCH] =
            slab_core::Boxed::new_bulk_with(|k| Cached64(<Obj64 as Obj>::make(base + k)));
        slab_core::Boxed::free_bulk(black_box(boxes));
    }
    start.elapsed()
}

#[inline(never)]
fn bulk_runtime_with(iters: u64) -> Duration {
    let mut h = slab_bench::OURS_64.clone();
    let start = Instant::now();
    for i in 0..iters {
        let base = black_box(i as usize);
        let boxes = h.alloc_bulk_mut_with::<BATCH>(|k| <Obj64 as Obj>::make(base + k));
        h.free_bulk_mut(black_box(boxes));
    }
    start.elapsed()
}

#[inline(never)]
fn bulk_shared_with(iters: u64) -> Duration {
    let pool = &slab_bench::OURS_SHARED_64;
    let start = Instant::now();
    for i in 0..iters {
        let base = black_box(i as usize);
        let boxes = pool.alloc_bulk_with::<BATCH>(|k| <Obj64 as Obj>::make(base + k));
        pool.free_bulk(black_box(boxes));
    }
    start.elapsed()
}

fn scenario_bulk(c: &mut Criterion) {
    let settings = |g: &mut BenchmarkGroup<'_, WallTime>| {
        g.sample_size(30)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1000));
    };
    // Per object: singles are one pair per iteration, batches `BATCH` per iteration.
    let mut g = group(c, "Bulk-64B".to_string(), 1);
    settings(&mut g);
    g.bench_function("floor", |b| {
        let mut f = Floor::<Obj64>::new();
        b.iter_custom(|n| s1_loop::<Obj64, _>(&mut f, n))
    });
    g.bench_function("ours-macro", |b| {
        let mut a = OursMacro::<Cached64>::new();
        b.iter_custom(|n| s1_loop::<Obj64, _>(&mut a, n))
    });
    g.finish();
    let mut g = group(c, "Bulk-64B".to_string(), BATCH as u64);
    settings(&mut g);
    g.bench_function("ours-macro-bulk16", |b| b.iter_custom(bulk_macro));
    g.bench_function("ours-runtime-bulk16", |b| b.iter_custom(bulk_runtime));
    g.bench_function("ours-shared-bulk16", |b| b.iter_custom(bulk_shared));
    g.bench_function("ours-macro-bulk16-with", |b| b.iter_custom(bulk_macro_with));
    g.bench_function("ours-runtime-bulk16-with", |b| {
        b.iter_custom(bulk_runtime_with)
    });
    g.bench_function("ours-shared-bulk16-with", |b| {
        b.iter_custom(bulk_shared_with)
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Refill from fragmented slabs of every size (issue 17, item 3).

/// Objects allocated per round of the refill scenario; every other one is freed.
const REFILL_N: usize = 1 << 16;

/// `iters` allocations from a fragmented cache: each round allocates [`REFILL_N`] `u64`s,
/// frees every other one back to its slab's free list (untimed), then times `alloc_mut`
/// of up to `REFILL_N / 2` objects through a fresh handle, whose magazine refills walk
/// those free lists, and frees everything (untimed).
fn refill_loop<const SIZE: usize>(cache: &SlabCache<u64, SpinLock, SIZE>, iters: u64) -> Duration
where
    slab_core::SlabSize<SIZE>: slab_core::ValidSlabSize,
{
    let mut total = Duration::ZERO;
    let mut left = iters as usize;
    let mut taken = Vec::with_capacity(REFILL_N / 2);
    while left > 0 {
        let mut live: Vec<_> = (0..REFILL_N as u64).map(|i| cache.alloc(i)).collect();
        let mut k = 0;
        live.retain(|_| {
            k += 1;
            k % 2 == 0
        });
        // Parked magazines go back to their slabs: the holes are on the free lists.
        cache.shrink();
        let mut h = cache.clone();
        let n = left.min(REFILL_N / 2);
        let t0 = Instant::now();
        for i in 0..n {
            taken.push(h.alloc_mut(black_box(i as u64)));
        }
        total += t0.elapsed();
        black_box(&mut taken);
        for b in taken.drain(..) {
            h.free(b);
        }
        drop(h);
        drop(live);
        cache.shrink();
        left -= n;
    }
    total
}

fn scenario_refill(c: &mut Criterion) {
    use slab_bench::{REFILL_1M, REFILL_16K, REFILL_16M};
    let mut g = group(c, "Refill-u64".to_string(), 1);
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("16KiB", |b| b.iter_custom(|n| refill_loop(&REFILL_16K, n)));
    g.bench_function("1MiB", |b| b.iter_custom(|n| refill_loop(&REFILL_1M, n)));
    g.bench_function("16MiB", |b| b.iter_custom(|n| refill_loop(&REFILL_16M, n)));
    g.finish();
}

// ---------------------------------------------------------------------------------------
// pooled-vec: object pools of `Vec<u8>` with 1500 bytes of capacity (issue 19).

/// Bytes a pooled buffer holds.
const BUF: usize = 1500;

/// The payload every round trip copies in.
static PAYLOAD: [u8; BUF] = [0x5a; BUF];

/// Our pooled buffer: built with its capacity, cleared on return.
struct OursBuf(Vec<u8>);

impl slab_core::Recycle for OursBuf {
    fn fresh() -> Self {
        OursBuf(Vec::with_capacity(BUF))
    }
    fn reset(&mut self) {
        self.0.clear();
    }
}

/// A buffer for `lifeguard`, whose `Recycleable` is its own trait.
struct LifeguardBuf(Vec<u8>);

impl lifeguard::Recycleable for LifeguardBuf {
    fn new() -> Self {
        LifeguardBuf(Vec::with_capacity(BUF))
    }
    fn reset(&mut self) {
        self.0.clear();
    }
}

/// `opool`'s allocator: builds with the capacity, clears on return.
struct OpoolBufs;

impl opool::PoolAllocator<Vec<u8>> for OpoolBufs {
    fn allocate(&self) -> Vec<u8> {
        Vec::with_capacity(BUF)
    }
    fn reset(&self, v: &mut Vec<u8>) {
        v.clear();
    }
}

/// Times `iters` round trips of `round`.
#[inline(never)]
fn pooled_loop(iters: u64, mut round: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        round();
    }
    start.elapsed()
}

fn pooled_vec(c: &mut Criterion) {
    let mut g = group(c, "pooled-vec".to_string(), 1);
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));

    // The work every pool's round trip includes and no pool can remove: fill a kept
    // buffer and clear it. Each pool's own cost is its figure less this one.
    let mut kept = Vec::with_capacity(BUF);
    g.bench_function("fill-only", |b| {
        b.iter_custom(|n| {
            pooled_loop(n, || {
                kept.extend_from_slice(black_box(&PAYLOAD));
                black_box(&mut kept);
                kept.clear();
            })
        })
    });

    let mut ours: slab_core::ObjectCache<
        OursBuf,
        slab_core::SpinLock,
        { 1 << 16 },
        slab_core::Global,
    > = slab_core::ObjectCache::new();
    g.bench_function("ours", |b| {
        b.iter_custom(|n| {
            pooled_loop(n, || {
                let mut buf = ours.take_mut();
                buf.0.extend_from_slice(black_box(&PAYLOAD));
                black_box(&mut buf.0);
                ours.give(buf);
            })
        })
    });

    let op = object_pool::Pool::new(1, || Vec::with_capacity(BUF));
    g.bench_function("object-pool", |b| {
        b.iter_custom(|n| {
            pooled_loop(n, || {
                let mut buf = op.pull(|| Vec::with_capacity(BUF));
                buf.clear(); // `object-pool` does not reset: its users clear on take
                buf.extend_from_slice(black_box(&PAYLOAD));
                black_box(&mut *buf);
            })
        })
    });

    let local = opool::LocalPool::new_prefilled(1, OpoolBufs);
    g.bench_function("opool", |b| {
        b.iter_custom(|n| {
            pooled_loop(n, || {
                let mut buf = local.get();
                buf.extend_from_slice(black_box(&PAYLOAD));
                black_box(&mut *buf);
            })
        })
    });

    let life: lifeguard::Pool<LifeguardBuf> = lifeguard::Pool::with_size(1);
    g.bench_function("lifeguard", |b| {
        b.iter_custom(|n| {
            pooled_loop(n, || {
                let mut buf = life.new();
                buf.0.extend_from_slice(black_box(&PAYLOAD));
                black_box(&mut buf.0);
            })
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .without_plots()
        .nresamples(20_000)
        .configure_from_args()
}

fn main() {
    let mut c = config();
    scenarios_64(&mut c);
    scenarios_packet(&mut c);
    scenario_s4(&mut c);
    scenario_arc_and_bytes(&mut c);
    scenario_shapes(&mut c);
    scenario_bulk(&mut c);
    scenario_refill(&mut c);
    pooled_vec(&mut c);
    c.final_summary();
}
