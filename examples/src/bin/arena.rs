//! Two memory sources in one program: DMA frames in a static "device memory" arena, and
//! everything else on the global allocator, the way a kernel or firmware keeps packet
//! buffers in memory a device can reach beside its ordinary objects. No `slab_hooks!`:
//! every cache here names its source (`#[slab_cached(source = ..)]`).
//!
//! The arena is 256 KiB: 64 pages of 4 KiB, tracked by one `AtomicU64` bitmap, behind
//! `DeviceMemory`, a zero-sized `SlabSource`. slab-core asks a source for one slab at a
//! time with `Layout` size == align == the slab size, so the allocator looks for a run of
//! `size / 4096` free pages starting at a multiple of that run (a buddy-style placement,
//! which keeps every slab aligned to its size).
//!
//! The program fills the arena with 16 KiB slabs of DMA `Frame`s until `try_new_boxed`
//! fails and hands the frame back (`AllocError::into_inner`); shows that a `Task`, whose
//! slabs come from the `Global` source, is not affected; frees frames, `shrink`s the
//! cache, and allocates again. The frames are handled on a driver thread: while it lives,
//! its per-thread magazines of free slots pin a few slabs; when it exits they go back and
//! `shrink` returns the rest.
//!
//! ```sh
//! cargo run -p examples --release --bin arena       # instant: the arena is small
//! cargo run -p examples --bin arena -- --quick      # one round instead of two
//! ```

use std::alloc::Layout;
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use examples::{all_caches, print_report, print_stats, quick_mode};
use slab_core::{AllocError, Boxed, DefaultSource, Global, SlabError, SlabSource, slab_cached};

/// Bytes per page of the arena.
const PAGE: usize = 4096;
/// Pages in the arena: one bit each in [`BITMAP`].
const PAGES: usize = 64;
/// Bytes in the arena.
const ARENA_SIZE: usize = PAGE * PAGES;

/// The memory slab-core may use: 256 KiB, aligned to its size so that any power-of-two
/// slab up to the whole arena can be placed aligned to its size.
#[repr(C, align(262144))]
struct Arena(UnsafeCell<[u8; ARENA_SIZE]>);

// SAFETY: the bytes are handed out in disjoint page runs by `arena_alloc`, whose bitmap
// update is atomic; nobody reads or writes the array except through those blocks.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_SIZE]));
/// Bit `i` set: page `i` is handed out.
static BITMAP: AtomicU64 = AtomicU64::new(0);
/// Hook calls, for the report.
static HOOK_ALLOCS: AtomicUsize = AtomicUsize::new(0);
static HOOK_FAILS: AtomicUsize = AtomicUsize::new(0);
static HOOK_FREES: AtomicUsize = AtomicUsize::new(0);

/// The pages a block of `layout` takes, as a mask at page 0, and the run length.
fn run_of(layout: Layout) -> (u64, usize) {
    // Slabs smaller than a page take a whole page (still aligned to their size).
    let pages = layout
        .size()
        .max(layout.align())
        .div_ceil(PAGE)
        .next_power_of_two();
    let mask = if pages >= 64 {
        u64::MAX
    } else {
        (1u64 << pages) - 1
    };
    (mask, pages)
}

/// A free run of pages, aligned to the slab size, or `None` (safe with any layout).
fn arena_alloc(layout: Layout) -> Option<NonNull<u8>> {
    let (mask, pages) = run_of(layout);
    if pages > PAGES {
        HOOK_FAILS.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    let mut used = BITMAP.load(Ordering::Relaxed);
    'retry: loop {
        for first in (0..PAGES).step_by(pages) {
            let want = mask << first;
            if used & want != 0 {
                continue;
            }
            match BITMAP.compare_exchange_weak(
                used,
                used | want,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    HOOK_ALLOCS.fetch_add(1, Ordering::Relaxed);
                    let base = ARENA.0.get().cast::<u8>();
                    // The run lies inside the arena: `first + pages <= PAGES`.
                    return NonNull::new(base.wrapping_add(first * PAGE));
                }
                Err(now) => {
                    used = now;
                    continue 'retry;
                }
            }
        }
        HOOK_FAILS.fetch_add(1, Ordering::Relaxed);
        return None;
    }
}

/// Marks the block's pages free again.
///
/// # Safety
/// `ptr` came from [`arena_alloc`] with this `layout` and is not used any more.
unsafe fn arena_free(ptr: NonNull<u8>, layout: Layout) {
    let (mask, _) = run_of(layout);
    let offset = ptr.as_ptr() as usize - ARENA.0.get() as usize;
    debug_assert!(
        offset.is_multiple_of(PAGE) && offset < ARENA_SIZE,
        "not an arena block"
    );
    let first = offset / PAGE;
    let was = BITMAP.fetch_and(!(mask << first), Ordering::AcqRel);
    debug_assert_eq!(
        was & (mask << first),
        mask << first,
        "double free of arena pages"
    );
    HOOK_FREES.fetch_add(1, Ordering::Relaxed);
}

/// The "device memory": slabs from the static arena. Zero-sized, so a cache that names it
/// costs nothing to hold it, and `DefaultSource` lets `#[slab_cached(source = ..)]` name
/// it by its type.
#[derive(Clone, Copy)]
struct DeviceMemory;

// SAFETY: `arena_alloc` hands out each arena page once, in runs aligned to the slab size,
// until `arena_free` takes the run back; every copy of `DeviceMemory` is the same arena.
unsafe impl SlabSource for DeviceMemory {
    unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        arena_alloc(layout)
    }

    unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
        // SAFETY: `block` came from `alloc` above, so from `arena_alloc`, with this
        // `layout`, and is given back once (the trait's contract).
        unsafe { arena_free(block, layout) }
    }
}

impl DefaultSource for DeviceMemory {
    const DEFAULT: Self = DeviceMemory;
}

/// A DMA buffer: 2 KiB of data with a tag, in 16 KiB slabs (7 per slab) of device memory.
#[slab_cached(size = 16384, source = DeviceMemory)]
struct Frame {
    tag: u32,
    data: [u8; 2048],
}

/// A small control block of another subsystem, in 4 KiB slabs from the global allocator.
#[slab_cached(size = 4096, source = Global)]
#[derive(Debug)]
struct Task {
    id: u32,
    name: &'static str,
    priority: u8,
}

/// The page map: `#` for a page in use, `.` for a free one.
fn page_map() -> String {
    let used = BITMAP.load(Ordering::Relaxed);
    (0..PAGES)
        .map(|i| if used >> i & 1 == 1 { '#' } else { '.' })
        .collect()
}

fn pages_used() -> u32 {
    BITMAP.load(Ordering::Relaxed).count_ones()
}

fn frame(tag: u32) -> Frame {
    Frame {
        tag,
        data: [tag.to_le_bytes()[0]; 2048],
    }
}

/// One round of the DMA driver, on its own thread: fill the arena, hit exhaustion, free,
/// recover. Returns the task that could not be placed while the arena was full.
fn driver_round() -> Task {
    // 1. Fill the arena with frames until the hook says no.
    let mut frames: Vec<Boxed<Frame>> = Vec::new();
    let mut tag = 0;
    let back = loop {
        match Frame::try_new_boxed(frame(tag)) {
            Ok(b) => frames.push(b),
            Err(e) => break e,
        }
        tag += 1;
    };
    let err: SlabError = back.error();
    println!(
        "{} frames allocated; frame {tag}: try_new_boxed -> Err({err:?})",
        frames.len()
    );
    println!("  {back}");
    let f = AllocError::into_inner(back);
    println!(
        "  into_inner() handed frame {} back intact (data[0] = {}); the caller still owns it",
        f.tag, f.data[0]
    );
    println!("pages [{}] {} used", page_map(), pages_used());

    // 2. Another type, on another source, does not notice: its slabs come from the
    //    global allocator.
    let task = Task {
        id: 7,
        name: "net-rx",
        priority: 3,
    };
    let task = match Task::try_new_boxed(task) {
        Ok(b) => {
            println!(
                "Task::try_new_boxed -> Ok while device memory is full: its slabs come from \
                 the Global source"
            );
            Boxed::into_inner(b)
        }
        Err(e) => panic!("the global allocator refused a Task slab: {e}"),
    };

    // 3. Free half the frames: their slots are reused at once by the same type.
    let freed = frames.len() / 2;
    frames.truncate(frames.len() - freed);
    let retry = Frame::try_new_boxed(f).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "freed {freed} frames; retrying frame {} now succeeds (a freed slot is reused)",
        retry.tag
    );
    frames.push(retry);

    // 4. Free them all and give the pages back to the arena.
    frames.clear();
    let shrunk = Frame::slab_cache().shrink();
    let s = Frame::slab_cache().stats();
    println!(
        "freed every frame; shrink() returned {shrunk} slabs; {} stay, pinned by the master and \
         by free slots cached in this thread's magazines",
        s.slabs
    );
    println!("pages [{}] {} used", page_map(), pages_used());
    task
}

fn main() {
    let rounds = if quick_mode() { 1 } else { 2 };
    let base = ARENA.0.get() as usize;
    println!(
        "arena: {} KiB static at {base:#x} (aligned to {} KiB), {PAGES} pages of {} KiB",
        ARENA_SIZE / 1024,
        align_of::<Arena>() / 1024,
        PAGE / 1024
    );
    println!("pages [{}] {} used", page_map(), pages_used());

    let mut tasks = Vec::new();
    for round in 1..=rounds {
        println!("-- round {round}: DMA driver thread --");
        let task = std::thread::Builder::new()
            .name("dma-driver".into())
            .spawn(driver_round)
            .expect("spawn the driver thread")
            .join()
            .expect("the driver thread panicked");
        // The driver thread has exited: its magazines went back to the depot.
        let shrunk = Frame::slab_cache().shrink();
        println!(
            "driver thread exited; shrink() returned {shrunk} more slabs; only the master stays"
        );
        println!("pages [{}] {} used", page_map(), pages_used());
        let task = Task::try_new_boxed(task).unwrap_or_else(|e| panic!("{e}"));
        println!("Task::try_new_boxed -> Ok({task:?})");
        tasks.push(task);
        print_stats(&all_caches());
    }
    for (round, t) in tasks.iter().enumerate() {
        println!(
            "round {}: ran task {} '{}' (priority {})",
            round + 1,
            t.id,
            t.name,
            t.priority
        );
    }
    drop(tasks);

    println!(
        "device memory: {} allocations ({} refused), {} frees; {} of {PAGES} pages in use",
        HOOK_ALLOCS.load(Ordering::Relaxed),
        HOOK_FAILS.load(Ordering::Relaxed),
        HOOK_FREES.load(Ordering::Relaxed),
        pages_used()
    );
    print_report();
}
