//! S2 (allocate N 64-byte objects, then free them all) split into its two phases, for
//! mimalloc and both forms of ours: where the S2 time of `docs/BENCHMARKS.md` goes.
//!
//! ```sh
//! cargo run -p slab-bench --release --bin s2-phases [mimalloc|macro|runtime] [in-order|shuffled]
//! ```
//!
//! Prints the median of 15 rounds of each phase in ns per object. Every implementation
//! runs in this one process, one after the other, on the same permutation. N is
//! `SLAB_BENCH_S2_N` (default 1 000 000). `SLAB_BENCH_KEEP_EMPTY=n` sets
//! [`keep_empty(n)`](slab_core::SlabCache::keep_empty) on both of our caches (default 2),
//! to measure what retaining empty slabs instead of returning them to the hook saves.

use slab_bench::{
    Cached64, Imp, Mi, OURS_SLAB_64, Obj, Obj64, OursMacro, OursRuntime, in_order, shuffled,
};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 15;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run<A: Imp<Obj64>>(name: &str, a: &mut A, order: &[usize]) {
    let n = order.len();
    let mut store: Vec<Option<A::Handle>> = Vec::with_capacity(n);
    let (mut alloc, mut free) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        store.clear();
        let t0 = Instant::now();
        for i in 0..n {
            store.push(Some(a.alloc(Obj64::make(black_box(i)))));
        }
        black_box(&mut store);
        let t1 = Instant::now();
        for &k in order {
            let h = store[k].take().expect("live");
            a.free(black_box(h));
        }
        let t2 = Instant::now();
        alloc.push((t1 - t0).as_secs_f64() * 1e9 / n as f64);
        free.push((t2 - t1).as_secs_f64() * 1e9 / n as f64);
    }
    println!(
        "{name:9} alloc {:6.2}  free {:6.2}  ns per object",
        median(alloc),
        median(free)
    );
}

fn main() {
    let n = std::env::var("SLAB_BENCH_S2_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000usize);
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let only = args.next().unwrap_or_default();
    if let Ok(k) = std::env::var("SLAB_BENCH_KEEP_EMPTY") {
        let k = k.parse().expect("SLAB_BENCH_KEEP_EMPTY is a slab count");
        Cached64::slab_cache().keep_empty(k);
        slab_bench::OURS_64.keep_empty(k);
    }
    for (order_name, order) in [("in-order", in_order(n)), ("shuffled", shuffled(n))] {
        if !only.is_empty() && only != order_name {
            continue;
        }
        println!("-- S2 {order_name}, N = {n}");
        if which.is_empty() || which == "mimalloc" {
            run("mimalloc", &mut Mi, order);
        }
        if which.is_empty() || which == "macro" {
            run("macro", &mut OursMacro::<Cached64>::new(), order);
        }
        if which.is_empty() || which == "runtime" {
            run(
                "runtime",
                &mut OursRuntime::<Obj64, { OURS_SLAB_64 }>::new(),
                order,
            );
        }
    }
}
