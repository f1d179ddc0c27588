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
//! `hooks` (raw memory) → `slab` (one slab, its free list) → `cache` (the depot:
//! master control block, lists, Master-Slave lifecycle) → `boxed` ([`SlabBox`]) and
//! `lock` ([`LockTrait`], [`SpinLock`], [`TicketLock`], [`NoLock`]). On top of the boxes:
//! `coerce` ([`coerce!`] to `dyn Trait`, [`Erased`]), `clone` (`Clone`, `Default`, pins),
//! `arc` ([`SlabArc`], [`SlabWeak`]) and `buf` ([`ByteBuf`], `bytes::Bytes` hand-off).
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
//! - `bytes`: `SlabBox::into_bytes`, a zero-copy hand-off of a pooled buffer to
//!   `bytes::Bytes`, and `bytes::BufMut` for [`ByteBuf`].
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

mod arc;
mod boxed;
mod buf;
mod cache;
mod clone;
mod coerce;
mod debug;
mod error;
mod hooks;
mod lock;
mod magazine;
#[cfg(feature = "alloc")]
mod pages;
mod scan;
mod slab;
mod stats;
mod sync;
mod typed;

pub use arc::{ArcCached, ArcInner, ArcPool, CachedArc, CachedWeak, SlabArc, SlabWeak};
pub use boxed::{BoxPool, Pool, SlabBox};
pub use buf::{ByteBuf, ByteBuffer, CapacityError};
pub use cache::{DEFAULT_KEEP_EMPTY, SlabCache, SlabSize, ValidSlabSize};
pub use clone::Refill;
pub use coerce::Erased;
pub use error::{AllocError, SlabError};
#[cfg(feature = "alloc")]
pub use hooks::global;
pub use hooks::{AllocHook, FreeHook};
pub use lock::{LockTrait, NoLock, SpinLock, TicketLock};
pub use scan::{ScanError, ScanReport};
pub use slab::{LayoutError, MAX_SLAB_SIZE, MIN_SLAB_SIZE};
pub use stats::SlabStats;
pub use typed::{Boxed, CacheOf, SlabCached, TypePool, UninitBoxed, flush_thread_cache};

#[cfg(feature = "derive")]
pub use slab_derive::{slab_cached, slab_hooks};

#[cfg(all(test, feature = "std"))]
#[path = "../tests/common/mod.rs"]
mod common;

#[cfg(all(test, feature = "std"))]
mod tests;

/// The message of a compile-time layout check that fails for a runtime `SlabCache`.
pub(crate) const fn layout_message(e: LayoutError) -> &'static str {
    match e {
        LayoutError::BadSlabSize => {
            "slab_core: SlabCache<T, L, SIZE>: SIZE must be a power of two from 512 to 1 GiB (1 << 30)"
        }
        LayoutError::ZeroSized => {
            "slab_core: SlabCache<T, L, SIZE>: T is zero-sized; a pool of zero-sized values needs no memory, use the value itself"
        }
        LayoutError::AlignTooLarge => {
            "slab_core: SlabCache<T, L, SIZE>: align_of::<T>() is over SIZE / 4; use a larger SIZE"
        }
        LayoutError::TooLarge => {
            "slab_core: SlabCache<T, L, SIZE>: two values of T do not fit in one SIZE-byte slab; use a SIZE of at least the next power of two above 2 * size_of::<T>() + 512"
        }
        LayoutError::LockTooLarge => {
            "slab_core: SlabCache<T, L, SIZE>: the lock type L is over 16 bytes; keep the lock small or store a pointer to a larger one"
        }
    }
}

/// Not public API: the thread cache that the loom models (`tests/loom.rs`) drive by hand,
/// because loom cannot model `std` thread-locals. Exists only under `--cfg loom`; every
/// entry point is an `unsafe fn`.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::magazine::ThreadCache;
}

/// Not public API: the paths that `#[slab_cached]` and `slab_hooks!` expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::__slab_arc_impl as slab_arc_impl;
    pub use crate::__slab_cached_impl as slab_cached_impl;
    pub use crate::arc::arc_slab_size;
    pub use crate::coerce::Coerce;
    pub use crate::hooks::{ALLOC_SYMBOL, FREE_SYMBOL};
    pub use crate::typed::{
        ConstMsg, Magazines, SendValue, ThreadSafeLock, assert_lock, assert_send_value,
        assert_thread_safe_lock, auto_slab_size, check_layout, new_boxed, new_uninit_boxed,
        try_new_boxed, try_new_uninit_boxed,
    };
    pub use core;

    pub use crate::cache::header_address;
    pub use crate::magazine::ThreadCache;
    pub use core::mem::ManuallyDrop;
    #[cfg(feature = "std")]
    pub use std::thread::LocalKey;
    #[cfg(feature = "std")]
    pub use std::thread_local;

    #[cfg(feature = "alloc")]
    pub use crate::hooks::global;
}
