//! Runtime caches: `SlabCache` values created at run time (not `static`), their handles
//! cloned into worker threads, and boxes that outlive every handle.
//!
//! A `SlabCache` handle is cheap to clone: clones share one master slab, which counts the
//! handles and the objects in use. When the last handle *and* the last box are gone, every
//! slab goes back to the free hook, whichever of the two goes last. `stats()` needs a
//! handle, so this program measures the bytes held with **counting hooks** (per slab size,
//! which here is per type) and prints them before, during, and after: they end at zero.
//!
//! ```sh
//! cargo run -p examples --release --bin runtime      # 4 threads x 200 000 orders
//! cargo run -p examples --bin runtime -- --quick     # 2 threads x 20 000 orders
//! ```

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use examples::{human_bytes, print_stats, scaled};
use slab_core::{NoLock, SlabBox, SlabCache, SlabStats, SpinLock, TicketLock};

/// Bytes held from the hooks, per slab size (index: log2 of the size).
static HELD: [AtomicUsize; 31] = [const { AtomicUsize::new(0) }; 31];
static HOOK_ALLOCS: AtomicUsize = AtomicUsize::new(0);
static HOOK_FREES: AtomicUsize = AtomicUsize::new(0);

/// Allocation hook: the global allocator, counted.
///
/// # Safety
/// `layout` has a non-zero size (slab layouts always do).
unsafe fn counting_alloc(layout: Layout) -> Option<NonNull<u8>> {
    // SAFETY: the caller guarantees a non-zero size.
    let block = NonNull::new(unsafe { std::alloc::alloc(layout) })?;
    HELD[layout.size().trailing_zeros() as usize].fetch_add(layout.size(), Ordering::Relaxed);
    HOOK_ALLOCS.fetch_add(1, Ordering::Relaxed);
    Some(block)
}

/// Free hook: the global allocator, counted.
///
/// # Safety
/// `ptr` came from [`counting_alloc`] with this `layout`.
unsafe fn counting_free(ptr: NonNull<u8>, layout: Layout) {
    HELD[layout.size().trailing_zeros() as usize].fetch_sub(layout.size(), Ordering::Relaxed);
    HOOK_FREES.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the caller's contract: `ptr` came from `counting_alloc`, which made it with
    // `std::alloc::alloc` and this `layout`.
    unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
}

// SAFETY: `counting_alloc` hands out blocks of the global allocator with the layout asked
// for, each once; `counting_free` takes each back once with that layout.
slab_core::slab_hooks!(unsafe counting_alloc, counting_free);

/// A limit order, in 16 KiB slabs.
#[derive(Debug)]
struct Order {
    id: u64,
    symbol: [u8; 8],
    qty: u32,
    price_cents: u64,
}

/// The order cache: a runtime cache with 16 KiB slabs.
type Orders = SlabCache<Order, SpinLock, 16384>;
/// The client-name cache: `String`s, 4 KiB slabs, a fair lock.
type Names = SlabCache<String, TicketLock, 4096>;
/// A short-lived event of one request, in a single-threaded cache with 8 KiB slabs.
type Events = SlabCache<[u64; 8], NoLock, 8192>;

/// Bytes held from the hooks for slabs of `size` bytes.
fn held(size: usize) -> usize {
    HELD[size.trailing_zeros() as usize].load(Ordering::Relaxed)
}

/// Bytes held from the hooks in total.
fn held_total() -> usize {
    HELD.iter().map(|h| h.load(Ordering::Relaxed)).sum()
}

fn say(step: &str, what: &str) {
    println!(
        "[{step}] {what}\n      bytes held from the hooks: {} (orders {}, names {}); hook calls {} allocs, {} frees",
        held_total(),
        held(16384),
        held(4096),
        HOOK_ALLOCS.load(Ordering::Relaxed),
        HOOK_FREES.load(Ordering::Relaxed)
    );
}

fn main() {
    let threads = scaled(4, 2);
    let per_thread = scaled(200_000, 20_000);
    let keep_every = 10;
    let started = Instant::now();

    let orders = Orders::new();
    let names = Names::new();
    say(
        "1",
        "SlabCache::new() for Order and String: nothing is allocated before first use",
    );

    // Workers allocate through their cloned handles' own magazines (`alloc_mut`, no lock on
    // most calls) and send one order in ten (and its client's name) back; the rest go back
    // into the worker's magazine with `free`. Each worker's handles, and the slots in their
    // magazines, go back to the cache when it ends.
    let (tx, rx) = mpsc::channel::<(SlabBox<Order, Orders>, SlabBox<String, Names>)>();
    let workers: Vec<_> = (0..threads)
        .map(|w| {
            let (mut orders, mut names, tx) = (orders.clone(), names.clone(), tx.clone());
            thread::spawn(move || {
                for i in 0..per_thread {
                    let id = (w * per_thread + i) as u64;
                    let order = orders.alloc_mut(Order {
                        id,
                        symbol: *b"SLAB    ",
                        qty: 1 + (i % 100) as u32,
                        price_cents: 10_000 + (id % 977),
                    });
                    if i % keep_every == 0 {
                        let name = names.alloc_mut(format!("client-{w}-{i}"));
                        tx.send((order, name)).expect("main is listening");
                    } else {
                        orders.free(order);
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let kept: Vec<_> = rx.iter().collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
    say(
        "2",
        &format!(
            "{threads} workers allocated {} orders with cloned handles and exited ({:.1} ms); \
             main keeps {} orders and names",
            threads * per_thread,
            started.elapsed().as_secs_f64() * 1e3,
            kept.len()
        ),
    );
    let last: [SlabStats; 2] = [orders.stats(), names.stats()];
    print_stats(&last);

    // Drop the last handles: the caches live on in their master slabs while boxes remain.
    drop(orders);
    drop(names);
    let qty: u64 = kept.iter().map(|(o, _)| u64::from(o.qty)).sum();
    let cents: u64 = kept.iter().map(|(o, _)| o.price_cents).sum();
    let (first, name) = &kept[0];
    say(
        "3",
        &format!(
            "every handle dropped; {} boxes still alive and usable: total qty {qty}, \
             notional {} cents, first {:?} of {name}",
            kept.len() * 2,
            cents,
            (
                first.id,
                std::str::from_utf8(&first.symbol).unwrap_or("?").trim_end()
            )
        ),
    );

    // The last boxes go on another thread; the last free destroys each cache.
    thread::spawn(move || drop(kept))
        .join()
        .expect("dropping thread panicked");
    say(
        "4",
        "the last boxes were dropped on another thread: both caches gave every slab back",
    );

    // Short-lived runtime caches, one per request: created, used, dropped.
    let requests = scaled(2_000, 200);
    let mut max_held = 0;
    for r in 0..requests {
        let events = Events::new();
        let batch: Vec<_> = (0..300u64)
            .map(|i| events.alloc([r as u64 ^ i; 8]))
            .collect();
        max_held = max_held.max(held(8192));
        let check: u64 = batch.iter().map(|e| e[0]).fold(0, |a, b| a ^ b);
        std::hint::black_box(check);
        // `batch` then `events` drop here (reverse order of declaration).
    }
    say(
        "5",
        &format!(
            "{requests} per-request NoLock caches of 300 events each came and went (at most {} held at once)",
            human_bytes(max_held)
        ),
    );

    println!("== report ==");
    println!("last stats, taken while handles still existed:");
    print_stats(&last);
    for (s, size) in last.iter().zip([16384, 4096]) {
        println!(
            "  {:<12} in use {} then; now: slabs {}, bytes from the hooks {}",
            examples::short_name(s.name),
            s.in_use,
            held(size) / size,
            held(size)
        );
    }
    let total = held_total();
    println!(
        "in use 0 across 3 types, slabs 0, bytes from the hooks {total} ({}); hook allocs {} = frees {}; {:.2} s",
        human_bytes(total),
        HOOK_ALLOCS.load(Ordering::Relaxed),
        HOOK_FREES.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(total, 0, "every slab went back to the hooks");
    assert_eq!(
        HOOK_ALLOCS.load(Ordering::Relaxed),
        HOOK_FREES.load(Ordering::Relaxed)
    );
}
