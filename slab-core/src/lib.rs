//! Typed object pools on size-aligned slabs.
//!
//! `slab-core` keeps values of one type in **slabs**: power-of-two blocks aligned to their
//! size, so any object finds its slab header by masking its address. The first slab of a
//! cache is the **master** (it holds the lock and reference counts); **slave** slabs
//! extend it. Raw slab memory comes from two **allocation hooks** the application defines
//! once with [`slab_hooks!`] (heap, static arena, kernel pages).
//!
//! ```
//! use slab_core::{SlabBox, SlabCache};
//!
//! // Once per program: where slab memory comes from.
//! slab_core::slab_hooks!(global);
//!
//! static NAMES: SlabCache<String> = SlabCache::new();
//!
//! let a: SlabBox<String> = NAMES.alloc("Ada".to_string());
//! let b = std::thread::spawn(move || a.len()).join().unwrap(); // freed on another thread
//! assert_eq!(b, 3);
//! assert_eq!(NAMES.stats().in_use, 0);
//! ```
//!
//! # Layers
//! Bottom up, each module talking only to those below it: `hooks` (raw memory) →
//! `geometry` (slab layout, pure arithmetic) → `hardening` (canaries, poison, encoded
//! links) → `slab` (one slab: header, free list, pop and push) → `chain` (free slots
//! linked through their first word) → `depot` (slab lists, parked magazines, the registry
//! of magazine holders, every count) → `control` (the master's control block: lock guard,
//! creation, growth, destruction) → `magazine` (the loaded + previous pair) → `handle`
//! ([`SlabCache`]'s value and its magazines) → `boxed` ([`SlabBox`]) → `cache` (what a
//! [`SlabCache`] does) → `thread_cache` (per-thread magazines, the exit list) → `typed`
//! ([`SlabCached`], [`Boxed`]) and `scan`. Beside them: `lock` ([`LockTrait`],
//! [`SpinLock`], [`TicketLock`], [`NoLock`]), `error`, `stats`. `IMPLEMENTATION.md` in the
//! crate's repository describes each layer, the fast path and the numbered invariants.
//!
//! # Magazines
//! Most allocations and frees touch no lock: `#[slab_cached]` types keep per-thread
//! magazines of free slots (in `std` builds), and every [`SlabCache`] handle carries its
//! own pair for its `&mut self` methods, in `no_std` too (one handle per thread, or per
//! CPU in a kernel):
//!
//! ```
//! use slab_core::SlabCache;
//! # slab_core::slab_hooks!(global);
//! let cache: SlabCache<[u8; 256]> = SlabCache::new();
//! let workers: Vec<_> = (0..2u8)
//!     .map(|id| {
//!         let mut mine = cache.clone(); // a handle, with its own magazine
//!         std::thread::spawn(move || {
//!             for _ in 0..1000 {
//!                 let b = mine.alloc_mut([id; 256]); // no lock
//!                 mine.free(b); // no lock: the slot stays in the magazine
//!             }
//!         }) // dropping `mine` gives its slots back
//!     })
//!     .collect();
//! workers.into_iter().for_each(|w| w.join().unwrap());
//! assert_eq!(cache.stats().in_use, 0);
//! ```
//!
//! # Features
//! - `std` (default): yielding spin locks; implies `alloc`.
//! - `alloc`: `slab_hooks!(global)`, hooks on Rust's global allocator.
//! - `derive` (default): re-exports `#[slab_cached]` and `slab_hooks!` from `slab-derive`.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets `::slab_core::..` paths emitted by the macros resolve inside this crate.
#[allow(
    unused_extern_crates,
    reason = "used by macro expansions in unit tests"
)]
extern crate self as slab_core;

#[cfg(feature = "std")]
extern crate std;

// One module per layer; each imports only layers below it. The layers, in order, and the
// imports each may make are the table in `tests/architecture.rs`, which checks them;
// `IMPLEMENTATION.md` describes them.
mod boxed;
mod cache;
mod chain;
mod control;
mod depot;
mod error;
mod geometry;
mod handle;
mod hardening;
mod hooks;
mod lock;
mod magazine;
#[cfg(feature = "alloc")]
mod pages;
mod scan;
mod slab;
mod stats;
mod sync;
mod thread_cache;
mod typed;

pub use boxed::{Pool, SlabBox};
pub use depot::DEFAULT_KEEP_EMPTY;
pub use error::{AllocError, SlabError};
pub use geometry::{LayoutError, MAX_SLAB_SIZE, MIN_SLAB_SIZE};
pub use handle::{SlabCache, SlabSize, ValidSlabSize};
#[cfg(feature = "alloc")]
pub use hooks::global;
pub use hooks::{AllocHook, FreeHook};
pub use lock::{LockTrait, NoLock, SpinLock, TicketLock};
pub use scan::{ScanError, ScanReport};
pub use stats::SlabStats;
pub use typed::{Boxed, CacheOf, SlabCached, TypePool, UninitBoxed, flush_thread_cache};

#[cfg(feature = "derive")]
pub use slab_derive::{slab_cached, slab_hooks};

#[cfg(all(test, feature = "std"))]
#[path = "../tests/common/mod.rs"]
mod common;

#[cfg(all(test, feature = "std"))]
mod tests;

/// Not public API: the thread cache that the loom models (`tests/loom.rs`) drive by hand,
/// because loom cannot model `std` thread-locals. Exists only under `--cfg loom`; every
/// entry point is an `unsafe fn`.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::thread_cache::ThreadCache;
}

/// Not public API: the paths that `#[slab_cached]` and `slab_hooks!` expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::__slab_cached_impl as slab_cached_impl;
    pub use crate::hooks::{ALLOC_SYMBOL, FREE_SYMBOL};
    pub use crate::typed::{
        ConstMsg, Magazines, SendValue, ThreadSafeLock, assert_lock, assert_send_value,
        assert_thread_safe_lock, auto_slab_size, check_layout, new_boxed, new_uninit_boxed,
        try_new_boxed, try_new_uninit_boxed,
    };
    pub use core;

    pub use crate::cache::header_address;
    pub use crate::thread_cache::ThreadCache;
    pub use core::mem::ManuallyDrop;
    #[cfg(feature = "std")]
    pub use std::thread::LocalKey;
    #[cfg(feature = "std")]
    pub use std::thread_local;

    #[cfg(feature = "alloc")]
    pub use crate::hooks::global;
}
