//! One fast path in a loop, for instruction counts under callgrind (deterministic, unlike
//! wall-clock figures on a shared machine):
//!
//! ```sh
//! cargo build -p slab-bench --release --bin fastpath
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/fastpath shared-64 1000000
//! ```
//!
//! Runs `iters` alloc + write + free pairs (S1) of one implementation after a warm-up of
//! 10 000; divide the instruction count of two runs (`iters` and `2 * iters`) by `iters` to
//! get instructions per pair.

use std::hint::black_box;

use slab_bench::{
    Cached64, CachedPacket, Floor, Imp, Mi, Obj, Obj64, OursMacro, OursRuntime, OursShared, Packet,
};

fn run<T: Obj, A: Imp<T>>(a: &mut A, iters: usize) {
    for i in 0..10_000 + iters {
        let h = a.alloc(T::make(black_box(i)));
        a.free(black_box(h));
    }
}

/// `iters` batches of 16: allocate in bulk, free in bulk (instructions per object: divide
/// by 16).
fn bulk(which: &str, iters: usize) {
    let values = |base: usize| core::array::from_fn::<_, 16, _>(|k| <Obj64 as Obj>::make(base + k));
    match which {
        "bulk-macro-64" => {
            for i in 0..10_000 + iters {
                let base = black_box(i);
                let v: [Cached64; 16] =
                    core::array::from_fn(|k| Cached64(<Obj64 as Obj>::make(base + k)));
                let b = slab_core::Boxed::new_bulk(v);
                slab_core::Boxed::free_bulk(black_box(b));
            }
        }
        "bulk-macro-with-64" => {
            for i in 0..10_000 + iters {
                let base = black_box(i);
                let b: [slab_core::Boxed<Cached64>; 16] =
                    slab_core::Boxed::new_bulk_with(|k| Cached64(<Obj64 as Obj>::make(base + k)));
                slab_core::Boxed::free_bulk(black_box(b));
            }
        }
        "bulk-shared-64" => {
            let pool = &slab_bench::OURS_SHARED_64;
            for i in 0..10_000 + iters {
                let b = pool.alloc_bulk(values(black_box(i)));
                pool.free_bulk(black_box(b));
            }
        }
        _ => {
            let mut h = slab_bench::OURS_64.clone();
            for i in 0..10_000 + iters {
                let b = h.alloc_bulk_mut(values(black_box(i)));
                h.free_bulk_mut(black_box(b));
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let iters: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    match which.as_str() {
        "floor-64" => run::<Obj64, _>(&mut Floor::new(), iters),
        "mimalloc-64" => run::<Obj64, _>(&mut Mi, iters),
        "macro-64" => run::<Obj64, _>(&mut OursMacro::<Cached64>::new(), iters),
        "runtime-64" => run::<Obj64, _>(
            &mut OursRuntime::<Obj64, { slab_bench::OURS_SLAB_64 }>::new(),
            iters,
        ),
        "shared-64" => run::<Obj64, _>(
            &mut OursShared::<Obj64, { slab_bench::OURS_SLAB_64 }>::new(),
            iters,
        ),
        "floor-packet" => run::<Packet, _>(&mut Floor::new(), iters),
        "macro-packet" => run::<Packet, _>(&mut OursMacro::<CachedPacket>::new(), iters),
        "runtime-packet" => run::<Packet, _>(
            &mut OursRuntime::<Packet, { slab_bench::OURS_SLAB_PACKET }>::new(),
            iters,
        ),
        "shared-packet" => run::<Packet, _>(
            &mut OursShared::<Packet, { slab_bench::OURS_SLAB_PACKET }>::new(),
            iters,
        ),
        "bulk-macro-64" | "bulk-macro-with-64" | "bulk-shared-64" | "bulk-runtime-64" => {
            bulk(&which, iters)
        }
        _ => {
            eprintln!(
                "usage: fastpath <floor|mimalloc|macro|runtime|shared>-<64|packet> [iters], \
                 or bulk-<macro|macro-with|shared|runtime>-64 [batches]"
            );
            std::process::exit(2);
        }
    }
}
