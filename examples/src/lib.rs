//! Shared helpers of the runnable examples of slab-core (the programs are in `src/bin/`).
//!
//! | binary | what it shows |
//! |---|---|
//! | `demo` | the README's tour: a `#[slab_cached]` type, allocation, a free on another thread, stats, `try_new_boxed` |
//! | `game` | a frame loop spawning and despawning thousands of entities of three types, against `Box` |
//! | `game` (mixed scene) | one `Vec<SlabBox<dyn Entity, Erased>>` of three entity types, beside `Vec<Box<dyn Entity>>` |
//! | `packets` | a UDP exchange over 127.0.0.1 into pooled `ByteBuf<1500>` buffers, freed by a worker thread |
//! | `tokio_udp` | tokio UDP over 127.0.0.1: pooled buffers received without zeroing, handed to tasks as `bytes::Bytes` |
//! | `arena` | two memory sources and no hooks: DMA frames in a static "device memory" arena with a tiny page allocator, tasks on the global allocator; exhaustion and recovery |
//! | `runtime` | runtime `SlabCache` handles cloned across threads, boxes outliving every handle |
//!
//! Run one with `cargo run -p examples --release --bin <name>`; add `--quick` (or set
//! `SLAB_EXAMPLES_QUICK=1`) to scale the work down to about a second in a debug build.
//!
//! This library defines **no** allocation hooks: the hooks are link-time symbols defined
//! once per final binary, so every binary that uses them calls `slab_core::slab_hooks!`
//! itself (`runtime` with its own functions, `demo`, `game` and `packets` with `global`);
//! `arena` names a memory source for each of its caches and needs none. The closing
//! reports list the program's caches from slab-core's registry ([`all_caches`]).

use std::time::Duration;

use slab_core::SlabStats;

/// The environment variable that selects quick mode when set to `1`.
pub const QUICK_ENV: &str = "SLAB_EXAMPLES_QUICK";

/// Whether the program runs in quick mode: `SLAB_EXAMPLES_QUICK=1` or a `--quick` argument.
///
/// Quick mode scales every count down so a debug build finishes in about a second; the
/// integration test `tests/run_examples.rs` runs every binary this way.
#[must_use]
pub fn quick_mode() -> bool {
    std::env::var_os(QUICK_ENV).is_some_and(|v| v == "1")
        || std::env::args().any(|a| a == "--quick")
}

/// `full` normally, `quick` in quick mode.
#[must_use]
pub fn scaled(full: usize, quick: usize) -> usize {
    if quick_mode() { quick } else { full }
}

/// Prints a stats table: [`SlabStats::HEADER`] and one [`SlabStats`] line per cache.
pub fn print_stats(rows: &[SlabStats]) {
    println!("{}", SlabStats::HEADER);
    for row in rows {
        println!("{row}");
    }
}

/// Every live cache of the program, from slab-core's registry
/// ([`slab_core::for_each_cache`]), sorted by name: the examples list no type by hand.
#[must_use]
pub fn all_caches() -> Vec<SlabStats> {
    let mut rows = Vec::new();
    slab_core::for_each_cache(|s| rows.push(*s));
    rows.sort_by_key(|s| short_name(s.name).to_string());
    rows
}

/// Prints the closing report of an example from the registry of every cache: the stats
/// table, one line per cache with the numbers a reader looks for and its fast-path
/// counters, and a total line `in use N across K types ...`.
///
/// The integration test looks for `in use 0 across` in the output of every example.
pub fn print_report() {
    let rows = all_caches();
    let rows = rows.as_slice();
    println!("== report ==");
    print_stats(rows);
    for s in rows {
        println!(
            "  {:<12} in use {}, peak {}, slabs {} of {} B, bytes from the hooks {}; \
             magazine hits {}, depot exchanges {}, refills {}",
            short_name(s.name),
            s.in_use,
            s.peak,
            s.slabs,
            s.slab_size,
            s.bytes,
            s.magazine_hits,
            s.depot_exchanges,
            s.refills
        );
    }
    let in_use: usize = rows.iter().map(|s| s.in_use).sum();
    let slabs: usize = rows.iter().map(|s| s.slabs).sum();
    let bytes: usize = rows.iter().map(|s| s.bytes).sum();
    println!(
        "in use {in_use} across {} types, slabs {slabs}, bytes from the hooks {bytes} ({})",
        rows.len(),
        human_bytes(bytes)
    );
}

/// The last path segment of a type name: `game::Npc` → `Npc`.
#[must_use]
pub fn short_name(type_name: &str) -> &str {
    type_name.rsplit("::").next().unwrap_or(type_name)
}

/// `1536` → `1.5 KiB`, `3145728` → `3.0 MiB`.
#[must_use]
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    #[allow(
        clippy::cast_precision_loss,
        reason = "a human-readable size needs no exact digits"
    )]
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A duration in milliseconds with three decimals: `1.234 ms`.
#[must_use]
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// A small deterministic generator (xorshift64*), so runs are repeatable and both sides of
/// a comparison see the same sequence.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed (zero is replaced by a constant).
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        debug_assert!(hi > lo);
        let span = u64::from(hi - lo);
        // The remainder is below `span`, which fits in a `u32`.
        lo + u32::try_from(self.next_u64() % span).unwrap_or(0)
    }

    /// A float in `-1.0..1.0`.
    pub fn unit(&mut self) -> f32 {
        #[allow(
            clippy::cast_precision_loss,
            reason = "24 random bits are exactly representable in an f32"
        )]
        let bits = (self.next_u64() >> 40) as f32;
        bits / (1u64 << 23) as f32 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_format_and_generate() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(short_name("a::b::Npc"), "Npc");
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let x = r.range(5, 9);
            assert!((5..9).contains(&x));
            let u = r.unit();
            assert!((-1.0..1.0).contains(&u));
        }
    }
}

/// The Rust examples of the workspace's `README.md`, as doctests: `cargo test` builds,
/// links and runs each one as the whole program a user would paste into a new crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
