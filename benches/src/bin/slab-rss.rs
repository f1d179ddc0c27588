//! S5: resident bytes per live object, one implementation per process.
//!
//! `slab-rss <impl> <64B|packet> [count]` allocates `count` (default 1 000 000) live
//! objects with the named implementation and prints one JSON line with `VmRSS` (from
//! `/proc/self/status`) before and after, and the difference per object. The vector that
//! holds the handles is allocated and touched before the first reading, so it is not
//! counted; everything the implementation sets up (pools, masters, heaps) is.

use std::hint::black_box;
use std::mem::MaybeUninit;

use slab_bench::{
    Cached64, CachedPacket, Floor, Heapless, HeaplessPool64, HeaplessPoolPacket, IMPLS, Imp, Mi,
    Obj, Obj64, ObjPool, OursMacro, OursRuntime, OursShared, Packet, Seed, SeedNoLock,
    SeedSpinLock, Sharded, SysBox, vm_rss_bytes,
};

/// Allocates `count` live objects with `make()` and prints the line.
fn measure<T: Obj, A: Imp<T>>(id: &str, count: usize, make: impl FnOnce() -> A) {
    // The holder of the handles, allocated and touched before the first reading.
    let mut holder: Vec<A::Handle> = Vec::with_capacity(count);
    for slot in holder.spare_capacity_mut() {
        // Touch every page of the holder (zeroes, never read as handles).
        // SAFETY: writing zero bytes into uninitialised spare capacity of our own vector.
        unsafe {
            slot.as_mut_ptr()
                .cast::<u8>()
                .write_bytes(0, size_of::<A::Handle>())
        };
        black_box(&mut *slot as *mut MaybeUninit<A::Handle>);
    }
    let before = vm_rss_bytes();
    let mut a = make();
    for i in 0..count {
        holder.push(a.alloc(T::make(i)));
    }
    black_box(&mut holder);
    let after = vm_rss_bytes();
    let per = (after as f64 - before as f64) / count as f64;
    println!(
        "{{\"impl\":\"{id}\",\"object\":\"{}\",\"object_size\":{},\"count\":{count},\"rss_before\":{before},\"rss_after\":{after},\"bytes_per_object\":{per:.2}}}",
        T::NAME,
        size_of::<T>()
    );
    for h in holder.drain(..) {
        a.free(h);
    }
}

fn run<T: Obj>(id: &str, count: usize) -> bool {
    match id {
        "box" => measure::<T, _>(id, count, || SysBox),
        "mimalloc" => measure::<T, _>(id, count, || Mi),
        "seed-spin" => measure::<T, _>(id, count, Seed::<T, SeedSpinLock>::new),
        "seed-nolock" => measure::<T, _>(id, count, Seed::<T, SeedNoLock>::new),
        "sharded-slab" => measure::<T, _>(id, count, Sharded::<T>::new),
        "object-pool" => measure::<T, _>(id, count, ObjPool::<T>::new),
        "floor" => measure::<T, _>(id, count, Floor::<T>::new),
        _ => return false,
    }
    true
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        let ids: Vec<&str> = IMPLS.iter().map(|i| i.0).collect();
        eprintln!(
            "usage: slab-rss <impl> <64B|packet> [count] | slab-rss --list\n  impl: {}",
            ids.join(" | ")
        );
        std::process::exit(2)
    };
    if args.get(1).map(String::as_str) == Some("--list") {
        for (id, _) in IMPLS {
            println!("{id}");
        }
        return;
    }
    if args.len() < 3 {
        usage();
    }
    let id = args[1].as_str();
    let count: usize = match args.get(3) {
        Some(c) => c.replace('_', "").parse().unwrap_or_else(|_| usage()),
        None => 1_000_000,
    };
    let done = match (args[2].as_str(), id) {
        ("64B", "heapless") => {
            measure::<Obj64, _>(id, count, || Heapless::<HeaplessPool64>::with_blocks(count));
            true
        }
        ("packet", "heapless") => {
            measure::<Packet, _>(id, count, || {
                Heapless::<HeaplessPoolPacket>::with_blocks(count)
            });
            true
        }
        ("64B", "ours-runtime") => {
            measure::<Obj64, _>(
                id,
                count,
                OursRuntime::<Obj64, { slab_bench::OURS_SLAB_64 }>::new,
            );
            true
        }
        ("packet", "ours-runtime") => {
            measure::<Packet, _>(
                id,
                count,
                OursRuntime::<Packet, { slab_bench::OURS_SLAB_PACKET }>::new,
            );
            true
        }
        ("64B", "ours-shared") => {
            measure::<Obj64, _>(
                id,
                count,
                OursShared::<Obj64, { slab_bench::OURS_SLAB_64 }>::new,
            );
            true
        }
        ("packet", "ours-shared") => {
            measure::<Packet, _>(
                id,
                count,
                OursShared::<Packet, { slab_bench::OURS_SLAB_PACKET }>::new,
            );
            true
        }
        ("64B", "ours-macro") => {
            measure::<Obj64, _>(id, count, OursMacro::<Cached64>::new);
            true
        }
        ("packet", "ours-macro") => {
            measure::<Packet, _>(id, count, OursMacro::<CachedPacket>::new);
            true
        }
        ("64B", _) => run::<Obj64>(id, count),
        ("packet", _) => run::<Packet>(id, count),
        _ => false,
    };
    if !done {
        usage();
    }
}
