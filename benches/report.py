#!/usr/bin/env python3
"""Writes docs/BENCHMARKS.md and docs/benchmarks.svg from one benchmark run.

Inputs (written by `bash benches/run.sh`):
  <target>/criterion/<group>/<impl>/new/{benchmark,estimates,sample}.json  (S1-S4, S6)
  <target>/slab-bench/s5.jsonl   (S5, one JSON line per implementation and object)
  <target>/slab-bench/meta.json  (wall times of the run)

Every criterion benchmark declares how many alloc+free pairs one iteration holds
(`Throughput::Elements`); times here are per pair: median of the samples' per-iteration
times (criterion's estimate), and the fastest / slowest sample.

Standard library only.
"""

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

IMPLS = [
    ("box", "Box (glibc)", "`Box::new` / drop on the system allocator (glibc malloc)"),
    ("mimalloc", "mimalloc", "`GlobalAlloc::alloc` / `dealloc` on `mimalloc::MiMalloc`, called directly"),
    ("seed-spin", "seed SpinLock", "attachable-slab-allocator 0.1.0, `SpinLock`, 4 KiB slabs from glibc"),
    ("seed-nolock", "seed NoLock", "attachable-slab-allocator 0.1.0, `NoLock` (single thread only)"),
    ("heapless", "heapless pool", "heapless 0.9 `box_pool!` (lock-free Treiber stack, fixed block array)"),
    ("sharded-slab", "sharded-slab", "sharded-slab 0.1 `Slab::insert` / `remove` (key handles)"),
    ("object-pool", "object-pool", "object-pool 0.6 `Pool<Box<T>>::pull` / drop (a `Mutex<Vec>` of boxes)"),
    ("floor", "floor", "bare single-threaded intrusive free list: one load + one store per pop/push"),
    ("ours-macro", "ours #[slab_cached]", "`T::new_boxed` on a `#[slab_cached]` type"),
    ("ours-runtime", "ours SlabCache", "a cloned handle of `static CACHE: SlabCache<T, SpinLock, SIZE>` per thread; `h.alloc_mut(v)` / `h.free(b)` (the handle's own magazine)"),
    ("ours-shared", "ours SlabCache &self", "one `static POOL: SlabCache<T, SpinLock, SIZE>` shared by every thread; `POOL.alloc(v)` / a plain drop (the calling thread's magazines of the cache)"),
]
NAME = {i: n for i, n, _ in IMPLS}
ORDER = [i for i, _, _ in IMPLS]
OURS = ["ours-macro", "ours-runtime", "ours-shared"]

# (column key, criterion group or S5 key, short label, long label, unit)
COLUMNS = [
    ("S1-64B", "S1 64B", "S1: alloc + write + free, one thread, 64 B", "ns/pair"),
    ("S1-packet", "S1 pkt", "S1: alloc + write + free, one thread, 1500 B packets", "ns/pair"),
    ("S2-in-order-64B", "S2 in-order 64B", "S2: allocate N then free all in order, 64 B", "ns/pair"),
    ("S2-shuffled-64B", "S2 shuffled 64B", "S2: allocate N then free all shuffled, 64 B", "ns/pair"),
    ("S2-in-order-packet", "S2 in-order pkt", "S2: allocate N then free all in order, packets", "ns/pair"),
    ("S2-shuffled-packet", "S2 shuffled pkt", "S2: allocate N then free all shuffled, packets", "ns/pair"),
    ("S3-64B", "S3 64B", "S3: two threads doing S1 on one type, 64 B (aggregate)", "ns/pair"),
    ("S3-packet", "S3 pkt", "S3: two threads doing S1 on one type, packets (aggregate)", "ns/pair"),
    ("S4-packet", "S4 pkt", "S4: producer -> bounded channel -> consumer frees, packets", "ns/packet"),
    ("S6-64B", "S6 64B", "S6: eight threads doing S1 on one type, 2 cores, 64 B (aggregate)", "ns/pair"),
    ("S6-packet", "S6 pkt", "S6: eight threads doing S1 on one type, 2 cores, packets (aggregate)", "ns/pair"),
    ("S7-64B", "S7 64B", "S7: steady-state churn (N live, free one at a random index, allocate its replacement), 64 B", "ns/step"),
    ("S7-packet", "S7 pkt", "S7: steady-state churn (N live, free one at a random index, allocate its replacement), packets", "ns/step"),
    ("S5-64B", "S5 64B", "S5: resident bytes per live object at 1M objects, 64 B", "B/object"),
    ("S5-packet", "S5 pkt", "S5: resident bytes per live packet at 1M packets", "B/object"),
]

# Issue 18: the pooled Arc and the hand-off of pooled buffers to `bytes::Bytes`, each against its
# own peers, in their own section (criterion group, long label, unit, reference implementation).
SHARED_IMPLS = [
    ("std-arc", "std Arc (glibc)", "`std::sync::Arc::new` / `clone` / drop on the global allocator, glibc (`benches/alloc.rs`)"),
    ("std-arc-mimalloc", "std Arc (mimalloc)", "the same with mimalloc as the global allocator (`benches/arc_mimalloc.rs`)"),
    ("heapless-arc", "heapless arc_pool", "heapless 0.9 `arc_pool!` (lock-free Treiber stack, fixed block array, no `Weak`)"),
    ("ours-arc-macro", "ours CachedArc", "`T::new_arc` on a `#[slab_cached]` type (its arc cache, thread-local magazines)"),
    ("ours-arc-runtime", "ours SlabArc (runtime)", "`static CACHE: SlabCache<ArcInner<T>, SpinLock, SIZE>`; `CACHE.alloc_arc(v)` (the depot path)"),
    ("bytesmut-freeze", "BytesMut::freeze", "`BytesMut::with_capacity(1500)`, `put_slice`, `freeze` on the global allocator (glibc)"),
    ("ours-bytes-macro", "ours Boxed -> Bytes", "a `#[slab_cached]` `ByteBuf<1500>` wrapper, `put_slice`, `into_bytes` (`Bytes::from_owner`)"),
    ("ours-bytes-runtime", "ours SlabCache -> Bytes", "a handle of `static SlabCache<ByteBuf<1500>>`: `alloc_mut`, `put_slice`, `into_bytes`"),
]
SHARED_NAME = {i: n for i, n, _ in SHARED_IMPLS}
SHARED_GROUPS = [
    ("Arc-64B", "Arc: new, clone, drop both (one 64-byte object in and out of its pool, three count updates)", "ns/arc", "std-arc"),
    ("Arc-clone-64B", "Arc: clone a live arc and drop the clone (count updates only), 64 B", "ns/clone", "std-arc"),
    ("Bytes-packet", "Bytes: a 1500-byte buffer, a 64-byte header written, made `Bytes`, dropped", "ns/buffer", "bytesmut-freeze"),
]
# The object pools of issue 19 ("pooled-vec": take a `Vec<u8>` of 1500 bytes' capacity,
# fill it, give it back), and its target: ours at most 0.5x the best of the others.
POOLED = [
    ("ours", "ours ObjectCache", "`ObjectCache<Buf, SpinLock, 65536, Global>`: `take_mut` / `give` on a handle (its own magazines); `Buf::reset` clears"),
    ("object-pool", "object-pool", "object-pool 0.6 `Pool::pull` / drop (a `Mutex<Vec>`); cleared on take, as it does not reset"),
    ("opool", "opool", "opool 0.2 `LocalPool::get` / drop (thread-local); `PoolAllocator::reset` clears"),
    ("lifeguard", "lifeguard", "lifeguard 0.6 `Pool::new` / drop (single-threaded); `Recycleable::reset` clears"),
]
POOLED_TARGET = 0.5


def pooled_section(data, w):
    """The issue 19 object-pool benchmark: a table and its target."""
    w("## Object pools (issue 19)")
    w("")
    g = data.get("pooled-vec")
    if not g:
        w("Not in this run (`pooled-vec`).")
        w("")
        return
    w("One round trip per iteration, one thread: take a `Vec<u8>` with 1500 bytes of capacity from")
    w("the pool, fill it with 1500 bytes, give it back (cleared, capacity kept).")
    w("")
    fill = g.get("fill-only", {}).get("median")
    if fill is not None:
        w("*fill only* keeps one `Vec` and fills and clears it, with no pool: the part of every round trip")
        w("that no pool can remove. *pool's own* is a pool's median less that one.")
        w("")
    w("| pool | median | min | max | pool's own | what |")
    w("|---|---:|---:|---:|---:|---|")
    rows = ([("fill-only", "fill only (no pool)", "`v.extend_from_slice(&payload)` + `v.clear()` on a kept `Vec`")]
            if fill is not None else []) + POOLED
    for key, name, what in rows:
        r = g.get(key)
        if r:
            own = fmt(r["median"] - fill) if fill is not None and key != "fill-only" else "—"
            w("| %s | %s | %s | %s | %s | %s |" % (name, fmt(r["median"]), fmt(r["min"]), fmt(r["max"]), own, what))
    w("")
    others = [g[k]["median"] for k, _, _ in POOLED[1:] if k in g]
    ours = g.get("ours", {}).get("median")
    limit = POOLED_TARGET * min(others) if others else None
    v, _ = verdict(ours, limit)
    w("| target | ours | limit | result |")
    w("|---|---:|---:|---|")
    w("| pooled `Vec<u8>` ≤ %s× the best other pool | %s ns | %s ns (%s × best) | %s |"
      % (POOLED_TARGET, fmt(ours), fmt(limit), POOLED_TARGET, v))
    if fill is not None and others and ours is not None:
        best_own = min(others) - fill
        ours_own = ours - fill
        w("| the same, each pool's own cost (less the fill) | %s ns | %s ns (%s × best) | %s |"
          % (fmt(ours_own), fmt(POOLED_TARGET * best_own), POOLED_TARGET, verdict(ours_own, POOLED_TARGET * best_own)[0]))
    w("")


# Issue 5's reference figures ("Today"), for a sanity check of this machine and harness.
REFERENCE = [
    ("S1-64B", {"box": 8.5, "mimalloc": 4.5, "seed-spin": 12.0, "floor": 1.6}),
    ("S2-in-order-64B", {"box": 54, "mimalloc": 9.6, "seed-spin": 88}),
    ("S2-shuffled-64B", {"box": 74, "mimalloc": 24, "seed-spin": 225}),
    ("S3-64B", {"box": 4.4, "mimalloc": 2.5, "seed-spin": 99}),
    ("S6-64B", {"box": 4.5, "mimalloc": 2.7, "seed-spin": 335}),
    ("S4-packet", {"box": 315, "heapless": 244}),
    ("S5-64B", {"box": 80, "mimalloc": 67, "seed-spin": 132}),
    ("S5-packet", {"seed-spin": 4096}),
]


DESIGN_NOTES = """\
## Design measurements

Measured while the engine was built (criterion and `perf stat` on the development machine; this
section is kept as written by `benches/report.py`, not regenerated), each with the choice it
justified. `slab-core/IMPLEMENTATION.md` describes the mechanisms.

- **Header colouring.** Slabs are aligned to their size, so headers at offset 0 would all fall in
  the same few cache sets (every 4 KiB slab's header in one L1 set, every 128 KiB slab's in one L2
  set), and freeing objects of many slabs would miss on every header; each slab's layout is rotated
  by a colour taken from its address. Allocating 1M 64-byte objects and freeing them in shuffled
  order (S2) went from 52–54 to 48–49 ns per pair for `#[slab_cached]` and from 54–63 to 48–49 ns
  for the runtime handle (two alternating criterion runs each, against 4 KiB slabs without
  colouring), with S1, S2 in order, S3 and S6 unchanged or faster. Colouring is what makes the
  16 KiB default for small objects pay.
- **The 16 KiB default slab.** A 64-byte object shares its slab with 254 others instead of 62, so a
  cache has a quarter of the slabs, headers and control overhead per object, and refills and
  flushes run four times longer before they cross to another slab; colouring keeps the fewer
  headers apart in the caches.
- **Values built in place.** Every fast path makes no call and no atomic operation at all (not even
  a relaxed load) between the caller's value and its write into the slot: the magazine pop is
  settled after the write, and `alloc(&self)` reads the cache's control pointer with
  `sync::relaxed_addr`, a single-copy-atomic load in a read-only `asm!` block on x86_64. An atomic
  operation is a barrier to LLVM's memory optimisations, and with one in between, a packet with a
  header, a zeroed payload and a byte store was zeroed on the stack and copied (issue 17; callgrind,
  S1 of a 1500-byte packet through `&self`: 332 instructions per pair before, 153 after, the floor
  117). `benches/asm_check.py` checks every call shape in the bench binary.
- **Thread tables for `&self`.** A runtime cache used through `&self` gets the calling thread's
  magazines from a table of 8 entries keyed by the control block's address (a thread-local cannot
  be generic). The keys share one cache line and a hit is found with a few compares; a free reads
  the slot's slab header for its cache. Callgrind, S1 64 B: 60 instructions per pair against 32 for
  `#[slab_cached]` and 52 for a handle's `alloc_mut`; the depot path it replaces took the lock on
  every allocation and every drop.
- **A prefetch bounded by the batch.** A refill that walks a long free list first prefetches the
  link lines below the slab's bump index, one per line, and only when that is at most 16 per slot
  the batch takes: a 16 KiB or 64 KiB slab of 64-byte objects and a 128 KiB slab of packets keep
  it, a 1 MiB slab of `u64`s does not (before, every slot below bump: 131,072 prefetches per
  64-slot batch, 3.7 µs per allocation in issue 17's fragmented workload).
- **Full slabs on no list (without hardening checks).** A slab that fills, or gets its first slot
  back, then writes no neighbour's header. In a burst of frees across many slabs (S2), each
  neighbour is a cold cache line: 1.5 ns per freed object in order, 2 to 4 shuffled.
- **The global hook's region budget.** S2 with packets, 5 s under `perf stat`: 428 k page faults
  and 0.76 s of system time when every empty 1 MiB region went straight back to the global
  allocator, 94 k and 0.34 s when empty regions are kept (up to 256 MiB), as many faults as a bare
  free list makes.
"""


def load_criterion(target):
    """{group: {impl: {median, min, max, n, elements}}} from target/criterion."""
    res = {}
    root = target / "criterion"
    if not root.is_dir():
        return res
    for bench in sorted(root.glob("*/*/new/benchmark.json")):
        d = bench.parent
        meta = json.loads(bench.read_text())
        est = json.loads((d / "estimates.json").read_text())
        sample = json.loads((d / "sample.json").read_text())
        elements = (meta.get("throughput") or {}).get("Elements", 1)
        per = [t / i / elements for t, i in zip(sample["times"], sample["iters"])]
        res.setdefault(meta["group_id"], {})[meta["function_id"]] = {
            "median": est["median"]["point_estimate"] / elements,
            "min": min(per),
            "max": max(per),
            "samples": len(per),
            "elements": elements,
        }
    return res


def load_s5(target):
    res = {}
    p = target / "slab-bench" / "s5.jsonl"
    if not p.exists():
        return res, None
    count = None
    for line in p.read_text().splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        v = r["bytes_per_object"]
        res.setdefault("S5-" + r["object"], {})[r["impl"]] = {
            "median": v, "min": v, "max": v, "samples": 1, "elements": r["count"],
        }
        count = r["count"]
    return res, count


def sh(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine(root):
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
                break
    except OSError:
        pass
    commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=root)
    if commit and sh(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root):
        commit += " + uncommitted changes"
    return {
        "nproc": sh(["nproc"]) or str(os.cpu_count()),
        "cpu": cpu or platform.processor() or "unknown",
        "mem": mem,
        "kernel": platform.system() + " " + platform.release(),
        "rustc": sh(["rustc", "-V"], cwd=root),
        "commit": commit or "unknown",
    }


def fmt(v, unit="ns/pair"):
    if v is None:
        return "—"
    if unit == "B/object":
        return "%.0f" % v if v >= 100 else "%.1f" % v
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def get(data, group, impl):
    return data.get(group, {}).get(impl, {}).get("median")


def targets(data, ours):
    """(label, value, limit, how the limit is made) for the issue 5 targets."""
    g = lambda group, impl: get(data, group, impl)  # noqa: E731
    mul = lambda k, v: None if v is None else k * v  # noqa: E731
    return [
        ("S1 64 B ≤ 2× the floor", g("S1-64B", ours), mul(2, g("S1-64B", "floor")), "2 × floor"),
        ("S1 64 B ≤ 0.7× mimalloc", g("S1-64B", ours), mul(0.7, g("S1-64B", "mimalloc")), "0.7 × mimalloc"),
        ("S1 packets ≤ 1.3× the floor", g("S1-packet", ours), mul(1.3, g("S1-packet", "floor")), "1.3 × floor"),
        ("S2 64 B in order ≤ 1.2× mimalloc", g("S2-in-order-64B", ours), mul(1.2, g("S2-in-order-64B", "mimalloc")), "1.2 × mimalloc"),
        ("S2 64 B shuffled ≤ 1.2× mimalloc", g("S2-shuffled-64B", ours), mul(1.2, g("S2-shuffled-64B", "mimalloc")), "1.2 × mimalloc"),
        ("S2 packets in order ≤ 0.3× Box", g("S2-in-order-packet", ours), mul(0.3, g("S2-in-order-packet", "box")), "0.3 × Box"),
        ("S2 packets shuffled ≤ 0.3× Box", g("S2-shuffled-packet", ours), mul(0.3, g("S2-shuffled-packet", "box")), "0.3 × Box"),
        ("S3 64 B ≤ 0.6× our own S1", g("S3-64B", ours), mul(0.6, g("S1-64B", ours)), "0.6 × our S1"),
        ("S3 64 B ≤ mimalloc", g("S3-64B", ours), g("S3-64B", "mimalloc"), "mimalloc S3"),
        ("S4 packets ≤ 0.8× Box", g("S4-packet", ours), mul(0.8, g("S4-packet", "box")), "0.8 × Box"),
        ("S5 64 B ≤ 66 B per live object", g("S5-64B", ours), 66.0, "66 B"),
        ("S5 packets ≤ 1530 B per live packet", g("S5-packet", ours), 1530.0, "1530 B"),
        ("S6 64 B ≤ 1.2× our S3", g("S6-64B", ours), mul(1.2, g("S3-64B", ours)), "1.2 × our S3"),
    ]


# Issue 17 and issue 18 item 5: the call shapes of a large value, the big-slab refill, bulk.
SHAPE_NAMES = [
    ("floor", "floor", "`Floor::alloc(HdrPacket::make(i))` (the value written into the popped slot)"),
    ("floor-newtype", "floor, newtype", "`Floor::alloc(WrapHdr(HdrPacket::make(i)))`"),
    ("mimalloc", "mimalloc", "`MiBox::new(HdrPacket::make(i))`"),
    ("ours-macro-literal", "ours #[slab_cached], struct literal", "`CachedHdr::new_boxed(CachedHdr { hdr, payload: { .. } })`"),
    ("ours-macro-ctor", "ours #[slab_cached], constructor", "`CachedHdr::new_boxed(CachedHdr::make(i))`, an `#[inline(always)]` constructor"),
    ("ours-macro-newtype", "ours #[slab_cached], newtype", "`WrapHdr::new_boxed(WrapHdr(HdrPacket::make(i)))`"),
    ("ours-macro-ctor-closure", "ours #[slab_cached], constructor in a closure", "`CachedHdr::new_boxed_with(|| CachedHdr::make(i))`"),
    ("ours-macro-closure", "ours #[slab_cached], newtype in a closure", "`WrapHdr::new_boxed_with(|| WrapHdr(HdrPacket::make(i)))`"),
    ("ours-macro-init", "ours #[slab_cached], init_with", "`SlabBox::init_with(WrapHdr::new_uninit_boxed(), |s| { let p = s.write(..); p.0.payload[k] = x; p })`"),
    ("ours-runtime", "ours handle, value", "`h.alloc_mut(HdrPacket::make(i))`"),
    ("ours-runtime-closure", "ours handle, closure", "`h.alloc_mut_with(|| HdrPacket::make(i))`"),
    ("ours-shared", "ours &self, value", "`POOL.alloc(HdrPacket::make(i))`"),
    ("ours-shared-closure", "ours &self, closure", "`POOL.alloc_with(|| HdrPacket::make(i))`"),
]
SHAPE_NAME = {i: n for i, n, _ in SHAPE_NAMES}
SHAPE_FN = {
    ("S1-shapes-packet", "floor"): "shape_floor", ("S1-shapes-packet", "mimalloc"): "shape_mimalloc",
    ("S1-shapes-packet", "ours-macro-literal"): "shape_macro_literal",
    ("S1-shapes-packet", "ours-macro-ctor"): "shape_macro_ctor",
    ("S1-shapes-packet", "ours-macro-newtype"): "shape_macro_newtype",
    ("S1-shapes-packet", "ours-macro-closure"): "shape_macro_closure",
    ("S1-shapes-packet", "ours-macro-init"): "shape_macro_init",
    ("S1-shapes-packet", "ours-runtime"): "shape_runtime",
    ("S1-shapes-packet", "ours-runtime-closure"): "shape_runtime_closure",
    ("S1-shapes-packet", "ours-shared"): "shape_shared",
    ("S1-shapes-packet", "ours-shared-closure"): "shape_shared_closure",
    ("S1-shapes-dyn-packet", "floor"): "shape_dyn_floor",
    ("S1-shapes-dyn-packet", "floor-newtype"): "shape_dyn_floor_newtype",
    ("S1-shapes-dyn-packet", "ours-macro-ctor"): "shape_dyn_macro_ctor",
    ("S1-shapes-dyn-packet", "ours-macro-ctor-closure"): "shape_dyn_macro_ctor_closure",
    ("S1-shapes-dyn-packet", "ours-macro-newtype"): "shape_dyn_macro_newtype",
    ("S1-shapes-dyn-packet", "ours-macro-closure"): "shape_dyn_macro_closure",
    ("S1-shapes-dyn-packet", "ours-macro-init"): "shape_dyn_macro_init",
    ("S1-shapes-dyn-packet", "ours-runtime"): "shape_dyn_runtime",
    ("S1-shapes-dyn-packet", "ours-runtime-closure"): "shape_dyn_runtime_closure",
    ("S1-shapes-dyn-packet", "ours-shared"): "shape_dyn_shared",
    ("S1-shapes-dyn-packet", "ours-shared-closure"): "shape_dyn_shared_closure",
}
# The shapes that wrap the packet in a newtype: compared with the floor doing the same wrap
# (where the group has that row), since the wrap's move is the caller's code, not the pool's.
NEWTYPE_SHAPES = ("ours-macro-newtype", "ours-macro-closure")


def shape_floor(group, impl):
    """The floor row a shape is compared with: the floor of the same shape."""
    if impl in NEWTYPE_SHAPES and group and "floor-newtype" in group:
        return "floor-newtype"
    return "floor"
BULK_NAMES = [
    ("floor", "floor, single pair", "one pop + push of the bare free list (S1)"),
    ("ours-macro", "ours #[slab_cached], single pair", "`T::new_boxed` + drop (S1)"),
    ("ours-macro-bulk16", "ours #[slab_cached], bulk of 16", "`Boxed::new_bulk([v; 16])` + `Boxed::free_bulk(boxes)`"),
    ("ours-runtime-bulk16", "ours handle, bulk of 16", "`h.alloc_bulk_mut([v; 16])` + `h.free_bulk_mut(boxes)`"),
    ("ours-shared-bulk16", "ours &self, bulk of 16", "`POOL.alloc_bulk([v; 16])` + `POOL.free_bulk(boxes)`"),
    ("ours-macro-bulk16-with", "ours #[slab_cached], bulk of 16 built in place", "`Boxed::new_bulk_with(|k| v(k))` + `Boxed::free_bulk(boxes)`"),
    ("ours-runtime-bulk16-with", "ours handle, bulk of 16 built in place", "`h.alloc_bulk_mut_with::<16>(|k| v(k))` + `h.free_bulk_mut(boxes)`"),
    ("ours-shared-bulk16-with", "ours &self, bulk of 16 built in place", "`POOL.alloc_bulk_with::<16>(|k| v(k))` + `POOL.free_bulk(boxes)`"),
]
REFILL_NAMES = [("16KiB", "16 KiB slabs"), ("1MiB", "1 MiB slabs"), ("16MiB", "16 MiB slabs")]


def targets17(data):
    """(section, label, value, limit, how) for the targets of issue 17 and issue 18 item 5."""
    g = lambda group, impl: get(data, group, impl)  # noqa: E731
    mul = lambda k, v: None if v is None else k * v  # noqa: E731
    out = []
    for grp in ("S1-shapes-packet", "S1-shapes-dyn-packet"):
        for i, n, _ in SHAPE_NAMES:
            if i.startswith("ours-macro") and g(grp, i) is not None:
                kind = "byte at a run-time index" if "dyn" in grp else "byte at a fixed index"
                fl = shape_floor(data.get(grp), i)
                what = "the floor" if fl == "floor" else "the floor doing the same wrap"
                out.append(("1. call shapes", "S1 packets (%s), %s ≤ 1.3× %s" % (kind, n.split(", ")[1], what),
                            g(grp, i), mul(1.3, g(grp, fl)), "1.3 × " + SHAPE_NAME[fl]))
    out += [
        ("2. &self", "S1 64 B ≤ 1.5× the #[slab_cached] figure", g("S1-64B", "ours-shared"), mul(1.5, g("S1-64B", "ours-macro")), "1.5 × #[slab_cached]"),
        ("2. &self", "S3 64 B (two threads) ≤ 0.6× its own S1", g("S3-64B", "ours-shared"), mul(0.6, g("S1-64B", "ours-shared")), "0.6 × its S1"),
        ("2. &self", "S3 64 B ≤ mimalloc", g("S3-64B", "ours-shared"), g("S3-64B", "mimalloc"), "mimalloc S3"),
        ("2. &self", "S6 64 B (eight threads, two cores) ≤ 1.2× its own S3", g("S6-64B", "ours-shared"), mul(1.2, g("S3-64B", "ours-shared")), "1.2 × its S3"),
        ("3. refill", "fragmented refill, 1 MiB slabs ≤ 2× 16 KiB", g("Refill-u64", "1MiB"), mul(2, g("Refill-u64", "16KiB")), "2 × 16 KiB"),
        ("3. refill", "fragmented refill, 16 MiB slabs ≤ 2× 16 KiB", g("Refill-u64", "16MiB"), mul(2, g("Refill-u64", "16KiB")), "2 × 16 KiB"),
    ]
    for o in OURS:
        out += [
            ("4. churn", "S7 packets, %s ≤ 1.3× the floor" % NAME[o], g("S7-packet", o), mul(1.3, g("S7-packet", "floor")), "1.3 × floor"),
            ("4. churn", "S7 64 B, %s ≤ 2× the floor" % NAME[o], g("S7-64B", o), mul(2, g("S7-64B", "floor")), "2 × floor"),
            ("4. churn", "S7 packets, %s ahead of mimalloc" % NAME[o], g("S7-packet", o), g("S7-packet", "mimalloc"), "mimalloc"),
            ("4. churn", "S7 64 B, %s ahead of mimalloc" % NAME[o], g("S7-64B", o), g("S7-64B", "mimalloc"), "mimalloc"),
        ]
    for o in OURS:
        out.append(("5. keep", "S2 64 B shuffled, %s ≤ 1.2× mimalloc" % NAME[o], g("S2-shuffled-64B", o), mul(1.2, g("S2-shuffled-64B", "mimalloc")), "1.2 × mimalloc"))
    for order in ("in-order", "shuffled"):
        grp = "S2-%s-packet" % order
        fl, mi = mul(1.1, g(grp, "floor")), mul(0.9, g(grp, "mimalloc"))
        lim = max(fl, mi) if fl is not None and mi is not None else None
        how = "1.1 × floor" if lim is not None and lim == fl else "0.9 × mimalloc"
        for o in OURS:
            out.append(("5. keep", "S2 packets %s, %s ≤ 1.1× floor or 0.9× mimalloc (the larger)" % (order.replace("-", " "), NAME[o]),
                        g(grp, o), lim, how))
    for i, n, _ in BULK_NAMES:
        if "bulk16" in i:
            form = " (built in place)" if i.endswith("-with") else " (from an array)"
            out.append(("6. bulk", "bulk, per object in batches of 16, %s%s ≤ 1.5× the floor's single pair" % (n.split(", ")[0], form),
                        g("Bulk-64B", i), mul(1.5, g("Bulk-64B", "floor")), "1.5 × floor"))
    return out


def verdict(value, limit):
    if value is None or limit is None:
        return "not measured", None
    r = value / limit
    def pct(x):
        return ("%.1f%%" if x < 10 else "%.0f%%") % x

    if r <= 1.0:
        return "✅ pass (%s under the limit)" % pct((1 - r) * 100), True
    return "❌ miss: %s× the limit (must drop %s)" % (
        ("%.3f" if r < 1.1 else "%.2f") % r, pct((1 - 1 / r) * 100)), False


# ---------------------------------------------------------------------------------------
# Chart: one small panel per scenario, horizontal bars (median) with min-max whiskers.

COLORS = {
    "box": "#4e79a7", "mimalloc": "#59a14f", "seed-spin": "#b07aa1", "seed-nolock": "#d4a6c8",
    "heapless": "#76b7b2", "sharded-slab": "#edc948", "object-pool": "#9c755f",
    "floor": "#8c8c8c", "ours-macro": "#e15759", "ours-runtime": "#f28e2b", "ours-shared": "#ff9da7",
}


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ticks(lo, hi):
    """1-2-5 tick values between lo and hi."""
    out = []
    k = math.floor(math.log10(lo))
    while 10 ** k <= hi * 10:
        for m in (1, 2, 5):
            v = m * 10 ** k
            if lo <= v <= hi:
                out.append(v)
        k += 1
    return out


def floor125(v):
    """The largest 1-2-5 value not above v."""
    k = math.floor(math.log10(v))
    return max(m * 10 ** k for m in (1, 2, 5) if m * 10 ** k <= v * 1.000001)


def tick_label(v):
    if v >= 1000:
        return "%gk" % (v / 1000)
    return "%g" % v


def chart(data, path, impls):
    cols = [c for c in COLUMNS if data.get(c[0])]
    ncol = 3
    label_w, bar_w, pad = 132, 200, 16
    panel_w = label_w + bar_w + 62
    row_h = 15
    panel_h = 58 + row_h * len(impls)
    nrow = (len(cols) + ncol - 1) // ncol
    W = ncol * panel_w + (ncol + 1) * pad
    H = 70 + nrow * (panel_h + pad)
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11">' % (W, H, W, H),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="%d" y="24" font-size="16" font-weight="bold">slab-core vs peers: median per alloc+free pair '
        '(lower is better)</text>' % pad,
        '<text x="%d" y="44" fill="#555">log scale per panel; bars: median; whiskers: fastest..slowest '
        'sample; S5 in resident bytes per live object</text>' % pad,
    ]
    for k, (key, short, long, unit) in enumerate(cols):
        px = pad + (k % ncol) * (panel_w + pad)
        py = 60 + (k // ncol) * (panel_h + pad)
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafa" stroke="#ddd"/>'
                   % (px, py, panel_w, panel_h))
        out.append('<text x="%d" y="%d" font-weight="bold">%s <tspan font-weight="normal" '
                   'fill="#666">(%s)</tspan></text>' % (px + 6, py + 16, esc(short), unit))
        rows = [(i, data[key][i]) for i in impls if i in data[key]]
        lo = min(min(r["min"], r["median"]) for _, r in rows) / 1.6
        hi = max(max(r["max"], r["median"]) for _, r in rows) * 1.05
        lo = floor125(lo)  # bars start at a labelled tick
        span = math.log(hi) - math.log(lo) or 1.0
        bx = px + label_w

        def x(v):
            return (math.log(max(v, lo)) - math.log(lo)) / span * bar_w

        top = py + 26
        bottom = py + 28 + row_h * len(rows)
        wide = math.log10(hi / lo) > 2.2  # label only the powers of ten
        for t in ticks(lo, hi):
            tx = bx + x(t)
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e2e2e2"/>' % (tx, top, tx, bottom))
            if not wide or abs(math.log10(t) - round(math.log10(t))) < 1e-9:
                out.append('<text x="%.1f" y="%d" fill="#777" font-size="9" text-anchor="middle">%s</text>'
                           % (tx, bottom + 11, tick_label(t)))
        for j, (i, r) in enumerate(rows):
            y = py + 28 + j * row_h
            w = x(r["median"])
            weight = "bold" if i in OURS else "normal"
            out.append('<text x="%d" y="%d" text-anchor="end" font-weight="%s">%s</text>'
                       % (bx - 5, y + 10, weight, esc(NAME.get(i, i))))
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                       % (bx, y + 2, max(w, 0.5), row_h - 4, COLORS.get(i, "#888")))
            right = w
            if r["samples"] > 1:
                lo_x, hi_x = x(r["min"]), x(r["max"])
                cy = y + row_h / 2
                out.append('<path d="M%.1f %.1f H%.1f M%.1f %.1f v6 M%.1f %.1f v6" stroke="#222" '
                           'stroke-width="1"/>' % (bx + lo_x, cy, bx + hi_x, bx + lo_x, cy - 3, bx + hi_x, cy - 3))
                right = max(right, hi_x)
            out.append('<text x="%.1f" y="%d" fill="#222">%s</text>'
                       % (bx + right + 4, y + 10, fmt(r["median"], unit)))
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


# ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    here = Path(__file__).resolve().parent.parent
    ap.add_argument("--target", type=Path, default=here / "target")
    ap.add_argument("--out", type=Path, default=here / "docs")
    args = ap.parse_args()

    data = load_criterion(args.target)
    s5, s5_count = load_s5(args.target)
    data.update(s5)
    if not data:
        sys.exit("no results under %s: run `bash benches/run.sh` first" % args.target)
    meta = {}
    mp = args.target / "slab-bench" / "meta.json"
    if mp.exists():
        meta = json.loads(mp.read_text())
    m = machine(here)
    present = set()
    for g in data.values():
        present.update(g)
    impls = [i for i in ORDER if i in present]
    ours = [i for i in OURS if i in present]

    args.out.mkdir(parents=True, exist_ok=True)
    svg = args.out / "benchmarks.svg"
    chart(data, svg, impls)

    n64 = data.get("S2-in-order-64B", {}).get("box", {}).get("elements")
    npk = data.get("S2-in-order-packet", {}).get("box", {}).get("elements")
    date = meta.get("started") or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    L = []
    w = L.append
    w("# Benchmarks")
    w("")
    w("Regenerate everything (the criterion run, the S5 processes, this file and the chart) with one command")
    w("from the workspace root:")
    w("")
    w("```sh")
    w("bash benches/run.sh            # full run, about 5 minutes on 2 cores")
    w("bash benches/run.sh --report   # only rewrite this file and the chart from the results on disk")
    w("SLAB_BENCH_PRIORITY=1 bash benches/run.sh   # on a shared machine: run at raised priority (root)")
    w("```")
    w("")
    w("Written by `benches/report.py`; the harness is the `slab-bench` crate in `benches/` (issue 5).")
    w("`cargo run -p slab-bench --release --bin s2-phases` splits S2 (64 B) into its alloc and free phases")
    w("for mimalloc and ours, to see where the S2 time goes.")
    w("")
    w("| | |")
    w("|---|---|")
    w("| date (UTC) | %s |" % date)
    w("| machine | %s cores, %s, %s RAM, %s |" % (m["nproc"], m["cpu"], m["mem"], m["kernel"]))
    w("| toolchain | %s |" % m["rustc"])
    w("| commit | %s |" % m["commit"])
    if "bench_wall_s" in meta:
        w("| wall time | `cargo bench -p slab-bench` %.0f s (build included); S5 processes %.0f s |"
          % (meta["bench_wall_s"], meta.get("s5_wall_s", 0)))
    if "others_cpu_share" in meta:
        share = meta["others_cpu_share"] * 100
        w("| other processes | used %.1f%% of the machine's CPU time during the run%s (load average %s before it) |"
          % (share, " (**figures skewed**: rerun on a quiet machine)" if share > 5 else "",
             meta.get("loadavg_start", "?")))
    if meta.get("priority", "none") != "none":
        w("| priority | %s: the run had its own scheduler autogroup at raised priority (`SLAB_BENCH_PRIORITY=1`), so other jobs on the machine yielded most of the CPU to it |"
          % meta["priority"])
    w("")
    w("Figures are ns per alloc+free pair (S3 and S6: aggregate, i.e. wall time divided by the pairs of")
    w("all threads; S4: per packet), the median of criterion's samples; S5 is resident bytes per live")
    w("object. Ratios compare medians within this one run. S2 uses N = %s for 64-byte objects and N = %s"
      % ("{:,}".format(n64) if n64 else "?", "{:,}".format(npk) if npk else "?"))
    if npk and npk < 1_000_000:
        w("for packets (**fewer than the issue's 1M**: a million packets is 1.5 GB per implementation and")
        w("would take the run far past its 10-minute budget; set `SLAB_BENCH_S2_PACKETS` to change it).")
    else:
        w("for packets.")
    if "ours-macro" not in present:
        w("")
        w("`#[slab_cached]` (`T::new_boxed`) is **not in this run**: the build had no `slab_core::slab_cached`")
        w("yet; `ours SlabCache` is the runtime cache.")
    w("")

    # Targets.
    w("## Targets (issue 5)")
    w("")
    for o in ours:
        w("### %s" % NAME[o])
        w("")
        w("| target | ours | limit | result |")
        w("|---|---:|---:|---|")
        npass = nall = 0
        for label, value, limit, how in targets(data, o):
            unit = "B" if label.startswith("S5") else "ns"
            v, ok = verdict(value, limit)
            if ok is not None:
                nall += 1
                npass += ok
            w("| %s | %s %s | %s %s (%s) | %s |" % (label, fmt(value), unit, fmt(limit), unit, how, v))
        w("")
        w("%d of %d targets met." % (npass, nall))
        w("")

    # Issue 17 targets.
    t17 = [t for t in targets17(data) if t[1] is not None or t[2] is not None]
    if any(v is not None for _, _, v, _, _ in t17):
        w("## Targets (issue 17; issue 18, item 5)")
        w("")
        w("Every way a user allocates: the call shapes of a large value (item 1), a runtime cache through")
        w("`&self` (item 2), refills from big slabs (item 3), steady-state churn (item 4), what passed before")
        w("(item 5), and bulk allocation (issue 18, item 5). Units as in the sections below.")
        w("")
        w("| item | target | ours | limit | result |")
        w("|---|---|---:|---:|---|")
        npass = nall = 0
        for section, label, value, limit, how in t17:
            v, ok = verdict(value, limit)
            if ok is not None:
                nall += 1
                npass += ok
            w("| %s | %s | %s | %s (%s) | %s |" % (section, label, fmt(value), fmt(limit), how, v))
        w("")
        w("%d of %d targets met." % (npass, nall))
        w("")

    pooled_section(data, w)

    # Summary table.
    w("## All results (median)")
    w("")
    cols = [c for c in COLUMNS if data.get(c[0])]
    w("| implementation | " + " | ".join(c[1] for c in cols) + " |")
    w("|---|" + "---:|" * len(cols))
    for i in impls:
        cells = []
        for key, _, _, unit in cols:
            v = get(data, key, i)
            cells.append(("**%s**" % fmt(v, unit)) if (v is not None and i in OURS) else fmt(v, unit))
        w("| %s | %s |" % (NAME[i], " | ".join(cells)))
    w("")
    w("Units: ns per pair (S4: per packet; S7: per step); S5: bytes per live object. — : not applicable (the floor and")
    w("the seed's `NoLock` are single-threaded) or not measured.")
    w("")
    w("![median per pair, per scenario and implementation](%s)" % svg.name)
    w("")

    # Per scenario.
    w("## Per scenario")
    w("")
    for key, short, long, unit in cols:
        g = data[key]
        box = g.get("box", {}).get("median")
        w("### %s" % long)
        w("")
        if key.startswith("S5"):
            w("| implementation | %s | × Box |" % unit)
            w("|---|---:|---:|")
            for i in impls:
                if i in g:
                    v = g[i]["median"]
                    w("| %s | %s | %s |" % (NAME[i], fmt(v, unit), ("%.2f" % (v / box)) if box else "—"))
        else:
            w("| implementation | median %s | fastest sample | slowest sample | × Box |" % unit)
            w("|---|---:|---:|---:|---:|")
            for i in impls:
                if i in g:
                    r = g[i]
                    w("| %s | %s | %s | %s | %s |" % (
                        NAME[i], fmt(r["median"]), fmt(r["min"]), fmt(r["max"]),
                        ("%.2f" % (r["median"] / box)) if box else "—"))
        w("")

    # Issue 17: call shapes, bulk, refill.
    asm = {}
    ap = args.target / "slab-bench" / "asm.json"
    if ap.exists():
        asm = json.loads(ap.read_text())
    shape_groups = [
        ("S1-shapes-packet", "S1 of a 1500-byte packet by call shape (a 16-byte header, a zeroed payload, one byte stored at a fixed index)"),
        ("S1-shapes-dyn-packet", "S1 of a 1500-byte packet by call shape, the byte stored at a run-time index (`i % 1484`)"),
    ]
    if any(data.get(k) for k, _ in shape_groups):
        w("## S1 call shapes of a large value (issue 17, item 1)")
        w("")
        w("Each shape is an `#[inline(never)]` loop of its own in `benches/benches/alloc.rs`;")
        w("`benches/asm_check.py` reads its machine code from the bench binary: *in place* means the")
        w("packet is zeroed and written in its slot (one `memset`, no `memcpy`), *copied* that it is built")
        w("apart (on the stack) and copied in. A byte stored at an index known only at run time into a value")
        w("built apart from its slot keeps every compiler pass from building it in place, for the floor too,")
        w("and a newtype wrap around such a value is one more copy (the caller's move, the floor's too: *floor,")
        w("newtype*); each shape is compared with the floor of the same shape. `SlabBox::init_with` writes")
        w("such a value in the slot. Descriptions show the fixed-index constructor (`make`); the run-time")
        w("index shapes call `make_dyn`.")
        w("")
        for i, n, d in SHAPE_NAMES:
            w("- **%s**: %s" % (n, d))
        w("")
        for key, long in shape_groups:
            g = data.get(key)
            if not g:
                continue
            w("### %s" % long)
            w("")
            w("| shape | median ns/pair | fastest sample | slowest sample | × floor of the shape | machine code |")
            w("|---|---:|---:|---:|---:|---|")
            for i, n, _ in SHAPE_NAMES:
                if i in g:
                    r = g[i]
                    fl = g.get(shape_floor(g, i), {}).get("median")
                    fn = SHAPE_FN.get((key, i))
                    code = asm.get(fn) if fn else None
                    how = "—" if code is None else ("in place" if code["in_place"] else "copied (memcpy)")
                    w("| %s | %s | %s | %s | %s | %s |" % (
                        n, fmt(r["median"]), fmt(r["min"]), fmt(r["max"]),
                        ("%.2f" % (r["median"] / fl)) if fl else "—", how))
            w("")
    if data.get("Bulk-64B"):
        g = data["Bulk-64B"]
        fl = g.get("floor", {}).get("median")
        w("## Bulk allocation and free (issue 18, item 5)")
        w("")
        w("Per object: a batch of 16 64-byte objects allocated with one call and freed with one call,")
        w("beside one pair of the floor and of `new_boxed`.")
        w("")
        w("| implementation | median ns/object | fastest sample | slowest sample | × floor |")
        w("|---|---:|---:|---:|---:|")
        for i, n, _ in BULK_NAMES:
            if i in g:
                r = g[i]
                w("| %s | %s | %s | %s | %s |" % (n, fmt(r["median"]), fmt(r["min"]), fmt(r["max"]),
                                                 ("%.2f" % (r["median"] / fl)) if fl else "—"))
        w("")
    if data.get("Refill-u64"):
        g = data["Refill-u64"]
        base = g.get("16KiB", {}).get("median")
        w("## Refill from fragmented slabs (issue 17, item 3)")
        w("")
        w("`SlabCache<u64, SpinLock, SIZE>`: 65,536 objects allocated, every other one freed to its slab's free")
        w("list, then `alloc_mut` of the holes through a fresh handle (every magazine refill walks a free list);")
        w("ns per allocation.")
        w("")
        w("| slabs | median ns/alloc | fastest sample | slowest sample | × 16 KiB |")
        w("|---|---:|---:|---:|---:|")
        for i, n in REFILL_NAMES:
            if i in g:
                r = g[i]
                w("| %s | %s | %s | %s | %s |" % (n, fmt(r["median"]), fmt(r["min"]), fmt(r["max"]),
                                                 ("%.2f" % (r["median"] / base)) if base else "—"))
        w("")

    # Issue 18.
    shared = [grp for grp in SHARED_GROUPS if data.get(grp[0])]
    if shared:
        w("## Arc and Bytes (issue 18)")
        w("")
        w("A pooled `Arc` against `std::sync::Arc` and heapless's `arc_pool!`, and the hand-off of a pooled")
        w("buffer to `bytes::Bytes` against `BytesMut::freeze`; one thread, medians of this run.")
        w("")
        for i, n, desc in SHARED_IMPLS:
            if any(i in data[grp[0]] for grp in shared):
                w("- **%s**: %s" % (n, desc))
        w("")
        for key, long, unit, ref in shared:
            g = data[key]
            base = g.get(ref, {}).get("median")
            w("### %s" % long)
            w("")
            w("| implementation | median %s | fastest sample | slowest sample | × %s |" % (unit, SHARED_NAME[ref]))
            w("|---|---:|---:|---:|---:|")
            for i, n, _ in SHARED_IMPLS:
                if i in g:
                    r = g[i]
                    w("| %s | %s | %s | %s | %s |" % (
                        n, fmt(r["median"]), fmt(r["min"]), fmt(r["max"]),
                        ("%.2f" % (r["median"] / base)) if base else "—"))
            w("")

    # Reference.
    w("## Against issue 5's reference figures")
    w("")
    w("The issue measured the peers on its own quiet 2-core machine; the same peers here show how this")
    w("machine and harness compare (the targets themselves are ratios within one run).")
    w("")
    w("| scenario | implementation | issue 5 | this run |")
    w("|---|---|---:|---:|")
    for key, ref in REFERENCE:
        for i, v in ref.items():
            w("| %s | %s | %s | %s |" % (key, NAME[i], fmt(v), fmt(get(data, key, i))))
    w("")

    # Measurements behind design choices: fixed text, not regenerated by a run.
    for line in DESIGN_NOTES.splitlines():
        w(line)
    w("")

    # Method.
    w("## Method")
    w("")
    w("Implementations (all in one binary; no `#[global_allocator]`, so Rust's global allocator is glibc):")
    w("")
    for i, n, d in IMPLS:
        if i in present:
            w("- **%s**: %s." % (n, d))
    w("")
    w("- Objects: `[u64; 8]` (64 B) and a 1500-byte packet (`#[repr(align(4))] struct Packet([u8; 1500])`:")
    w("  the seed rejects 1-byte alignment; the size stays 1500). Every allocation moves in a whole object")
    w("  built from an opaque counter (`black_box(i)`), and every handle passes through `black_box`")
    w("  before it is freed, so neither the write nor the allocation can be optimised away.")
    w("- Slab sizes: the seed 4 KiB (as in its README); ours 4 KiB for 64 B and 64 KiB for packets (what")
    w("  `#[slab_cached]` picks by default). Slab memory for both comes from the global allocator (glibc),")
    w("  i.e. the hooks a user gets by default (`slab_hooks!(global)`).")
    w("- S1 runs one pair per iteration. S2 allocates N objects into a pre-allocated vector and then frees")
    w("  them in index order or in one fixed pseudo-random permutation (same for every implementation);")
    w("  criterion's flat sampling, 10 samples. Each iteration starts from the state the previous one")
    w("  left (steady state): after a shuffled free, the next iteration's allocations follow the")
    w("  scrambled free lists. Allocators with one LIFO list over all memory (glibc's tcache and")
    w("  fastbins, heapless, the floor) then touch 64 MB in random order, one cache and TLB miss per")
    w("  object, while those with per-page or per-slab lists (mimalloc, ours) keep locality; that is why")
    w("  the floor is not the fastest in shuffled S2. Issue 5's glibc figures (54 / 74) look like")
    w("  cycles without that carried-over state (the first cycle on a fresh heap). S3 / S6 spawn 2 / 8 threads once per sample batch")
    w("  (`iter_custom` + `std::thread::scope`); each clones the implementation handle, waits on a")
    w("  barrier and runs the S1 loop; the time is from the first thread's start to the last thread's")
    w("  end, divided by the pairs of all threads. S4: one producer allocates and sends over")
    w("  `std::sync::mpsc::sync_channel(128)`, one consumer receives and frees; wall time per packet.")
    w("- S7 (issue 17): N objects live (100,000 of 64 B, 10,000 packets; `SLAB_BENCH_S7_N`,")
    w("  `SLAB_BENCH_S7_PACKETS`); an iteration frees the object at the next index of one fixed")
    w("  pseudo-random sequence (the same for every implementation) and allocates its replacement there.")
    w("  The set is built once per implementation, outside the timing.")
    w("- S1 call shapes, bulk and refill (issue 17, issue 18 item 5): see their sections.")
    w("- S5: `slab-rss <impl> <object>` in a fresh process per implementation: the handle vector is")
    w("  allocated and touched first, then `VmRSS` is read before and after allocating %s live objects"
      % ("{:,}".format(s5_count) if s5_count else "1M"))
    w("  (setup such as heapless's block array or a master slab counts).")
    w("- Criterion's console output (and `target/criterion`) is per iteration; this file divides by the")
    w("  pairs per iteration (S2: N; S3: 2; S6: 8; bulk: 16).")
    w("- Criterion 0.7 without plots; S1 30 samples over 1.5 s, S3/S6 20 over 1.5 s, S4 20 over 2 s,")
    w("  S2 10 samples (flat) over 2 s; 0.3–0.5 s warm-up each.")
    w("")
    (args.out / "BENCHMARKS.md").write_text("\n".join(L))
    print("wrote %s and %s" % (args.out / "BENCHMARKS.md", svg))


if __name__ == "__main__":
    main()
