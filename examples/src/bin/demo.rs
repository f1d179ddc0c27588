//! The main demo, the README's first command: slab-core in about thirty lines of output.
//!
//! A `#[slab_cached]` type gets its own pool; boxes are allocated from it, handed to another
//! thread and freed there; the stats show what the pool holds; `try_new_boxed` shows the
//! fallible path. It runs in well under a second. For timings against `Box`, see
//! `--bin game` and the benchmarks.
//!
//! ```sh
//! cargo run -p examples --release --bin demo
//! cargo run -p examples --bin demo -- --quick     # smaller counts (also SLAB_EXAMPLES_QUICK=1)
//! ```

use std::thread;
use std::time::Instant;

use examples::{human_bytes, print_report, print_stats, scaled};
use slab_core::{Boxed, SlabStats, slab_cached};

// Once per program: slab memory comes from Rust's global allocator.
slab_core::slab_hooks!(global);

/// A user session: the kind of object a server creates and drops by the thousand.
#[slab_cached]
#[derive(Debug)]
struct Session {
    id: u64,
    user: String,
    last_seen_ms: u64,
}

fn session(id: u64) -> Session {
    Session {
        id,
        user: format!("user{id}"),
        last_seen_ms: id * 7,
    }
}

fn stats() -> SlabStats {
    Session::slab_cache().stats()
}

fn main() {
    let n = scaled(100_000, 20_000);
    let s = stats();
    println!("slab-core demo: typed object pools on size-aligned slabs");
    println!("1. #[slab_cached] struct Session {{ id: u64, user: String, last_seen_ms: u64 }}");
    println!(
        "   {} bytes, {} per {}-byte slab; nothing allocated yet ({} slabs)",
        s.object_size, s.objects_per_slab, s.slab_size, s.slabs
    );

    let one: Boxed<Session> = Session::new_boxed(session(1));
    println!("2. Session::new_boxed -> {one:?} at {one:p}");

    let t = Instant::now();
    let sessions: Vec<Boxed<Session>> = (0..n as u64)
        .map(|i| Session::new_boxed(session(i)))
        .collect();
    let last = sessions.last().map_or("", |s| s.user.as_str());
    println!(
        "3. {n} more sessions allocated in {:.1} ms (last: {last}, seen at {} ms); the pool holds:",
        t.elapsed().as_secs_f64() * 1e3,
        sessions.last().map_or(0, |s| s.last_seen_ms)
    );
    print_stats(&[stats()]);

    // Boxes are `Send`: another thread frees them, the slots go back to the same pool.
    let freed = thread::spawn(move || {
        let count = sessions.len();
        drop(sessions);
        count
    })
    .join()
    .expect("the freeing thread panicked");
    let s = stats();
    println!(
        "4. {freed} sessions freed on another thread: in use {}, {} slabs kept for reuse ({})",
        s.in_use,
        s.slabs,
        human_bytes(s.bytes)
    );

    // The fallible path hands the value back instead of panicking.
    match Session::try_new_boxed(session(2)) {
        Ok(b) => println!(
            "5. Session::try_new_boxed -> Ok(id {}); on exhaustion it is Err(e) and \
             e.into_inner() returns the Session (see --bin arena)",
            b.id
        ),
        Err(e) => {
            let why = e.to_string();
            println!(
                "5. try_new_boxed failed ({why}); value back: {:?}",
                e.into_inner()
            );
        }
    }

    drop(one);
    let returned = Session::slab_cache().shrink();
    let s = stats();
    println!(
        "6. all freed; shrink() gave {returned} empty slabs back to the hooks; {} left ({}): the master \
         and any slab with free slots in this thread's magazines",
        s.slabs,
        human_bytes(s.bytes)
    );
    print_report();
    println!(
        "more: cargo run -p examples --release --bin game | packets | arena | runtime (see examples/README.md)"
    );
}
