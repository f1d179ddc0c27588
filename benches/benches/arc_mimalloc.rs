//! The `std::sync::Arc` rows of `Arc-64B` and `Arc-clone-64B` (see `alloc.rs`) with mimalloc
//! as the global allocator: `alloc.rs` runs on glibc, and a process has one global
//! allocator, so this binary holds the mimalloc rows; criterion puts them in the same
//! groups, and `benches/report.py` shows them beside the others.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A 64-byte object, as `slab_bench::Obj64`.
type Obj64 = [u64; 8];

fn main() {
    let mut c = Criterion::default()
        .without_plots()
        .nresamples(20_000)
        .configure_from_args();
    let mut g = c.benchmark_group("Arc-64B");
    g.throughput(Throughput::Elements(1))
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    g.bench_function("std-arc-mimalloc", |b| {
        b.iter_custom(|n| {
            let start = Instant::now();
            for i in 0..n {
                let a = Arc::new([i; 8] as Obj64);
                let b = black_box(&a).clone();
                drop(black_box(a));
                drop(black_box(b));
            }
            start.elapsed()
        })
    });
    g.finish();
    c.final_summary();
}
