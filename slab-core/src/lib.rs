//! Typed object pools on size-aligned slabs.
//!
//! `slab-core` keeps values of one type in **slabs**: power-of-two blocks aligned to their
//! size, so any object finds its slab header by masking its address. You get a `Box`-like
//! owner ([`SlabBox`]), O(1) allocation and free from any thread, per-thread magazines
//! that make most alloc/free pairs touch no lock, per-type statistics, and slab memory
//! from where you say (the heap, a static arena, kernel pages). It is `#![no_std]`.
//!
//! # Quick start
//! Put `#[slab_cached]` on a type, and say once per program where slab memory comes from:
//!
//! ```
//! use slab_core::{Boxed, slab_cached};
//!
//! slab_core::slab_hooks!(global); // once per program: slab memory from the global allocator
//!
//! #[slab_cached] // a `static` cache for `Bullet`, with per-thread magazines
//! struct Bullet {
//!     pos: [f32; 2],
//!     ttl: u16,
//! }
//!
//! fn main() {
//!     let b: Boxed<Bullet> = Bullet::new_boxed(Bullet { pos: [0.0; 2], ttl: 90 });
//!     assert_eq!((b.pos, b.ttl), ([0.0; 2], 90));
//!     println!("{}", Bullet::slab_cache().stats()); // in_use 1 … peak 1
//!     std::thread::spawn(move || drop(b)).join().unwrap(); // free from any thread
//!     println!("{}", Bullet::slab_cache().stats()); // in_use 0 … peak 1
//! }
//! ```
//!
//! # Which one do I use?
//!
//! | you have | write | allocation takes |
//! |---|---|---|
//! | a type of your own, allocated anywhere in the program | [`#[slab_cached]`](macro@slab_cached) on it: `T::new_boxed(v)` gives a [`Boxed<T>`] | no lock: the calling thread's magazines (with `std`); the lock without `std` |
//! | a pool made at run time, one per subsystem or per connection, a type you do not own, or a generic `T` | a [`SlabCache<T, L, SIZE>`](SlabCache), as a `static` or a value shared by reference or `Arc`: `cache.alloc(v)` gives a [`SlabBox<T, _>`](SlabBox) | no lock: the calling thread's magazines of that cache (with `std`, see [`flush_thread_caches`]); the cache's lock, O(1), without `std` |
//! | a hot loop on one thread (or one CPU, in a kernel) over such a cache | a handle of your own, `let mut h = cache.clone()`, and its `&mut self` methods: [`h.alloc_mut(v)`](SlabCache::alloc_mut), [`h.free(b)`](SlabCache::free) | no lock: the handle's magazines, also without `std` |
//!
//! All three hand out boxes that free themselves on drop, from any thread, and report
//! [`stats`](SlabCache::stats). The runtime cache and its handles:
//!
//! ```
//! use slab_core::SlabCache;
//!
//! slab_core::slab_hooks!(global);
//!
//! fn main() {
//!     let cache: SlabCache<[u8; 256]> = SlabCache::new();
//!     let a = cache.alloc([1; 256]); // this thread's magazine of `cache` (std)
//!     let workers: Vec<_> = (0..2u8)
//!         .map(|id| {
//!             let mut mine = cache.clone(); // a handle, with its own magazines
//!             std::thread::spawn(move || {
//!                 for _ in 0..1000 {
//!                     let b = mine.alloc_mut([id; 256]); // no lock
//!                     mine.free(b); // no lock: the slot stays in the magazine
//!                 }
//!             }) // dropping `mine` gives its slots back
//!         })
//!         .collect();
//!     workers.into_iter().for_each(|w| w.join().unwrap());
//!     drop(a);
//!     assert_eq!(cache.stats().in_use, 0);
//! }
//! ```
//!
//! # Slab memory: `slab_hooks!`, once per program
//! Slab memory comes from two functions that the *program* names once, with
//! [`slab_hooks!`]: `slab_hooks!(global)` for Rust's global allocator, or
//! `slab_hooks!(unsafe my_alloc, my_free)` for your own (an arena, kernel pages). They are
//! link-time symbols, so the program links only if exactly one crate in it calls the macro.
//!
//! **Missing** (no crate calls it): the build fails at the link step. The linker's command
//! line fills the screen first; the lines that matter name
//! `define_it_once_with_slab_hooks_macro` (here `rust-lld`; GNU `ld` says
//! `undefined reference to` instead):
//!
//! ```text
//! error: linking with `cc` failed: exit status: 1
//!   = note: rust-lld: error: undefined symbol: slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro
//!           >>> referenced by hooks.rs:58 (src/hooks.rs:58)
//!           rust-lld: error: undefined symbol: slab_core_0_1__free_hook__define_it_once_with_slab_hooks_macro
//! ```
//!
//! Fix: add `slab_core::slab_hooks!(global);` (or your own hooks) to the binary crate, at
//! the top level of `main.rs`. Doctests and each file in `tests/` are programs of their
//! own: each needs the line too.
//!
//! **Twice**: in one crate, the second call is a compile error; in two crates of one
//! program (a library that calls it, and the binary), a link error:
//!
//! ```text
//! error: symbol `slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro` is already defined
//!
//!   = note: rust-lld: error: duplicate symbol: slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro
//!           >>> defined at main.rs:1 (src/main.rs:1)
//!           >>> defined at lib.rs:1 (src/lib.rs:1)
//! ```
//!
//! Fix: keep one call, in the binary. A library never calls `slab_hooks!` for its users.
//!
//! **A library's own tests.** A library that uses slab-core leaves the hooks to the
//! program, and gives its tests their own: unit tests through a `#[cfg(test)]` call in
//! `lib.rs` (test builds only, so programs that use the library see none), integration
//! tests and doctests with a call in each file or example, since they link the library
//! built without `cfg(test)`:
//!
//! ```
//! // lib.rs of a library: hooks for its own unit tests only.
//! #[cfg(test)]
//! slab_core::slab_hooks!(global);
//!
//! #[slab_core::slab_cached]
//! pub struct Node {
//!     pub id: u32,
//! }
//!
//! #[cfg(test)]
//! mod tests {
//!     #[test]
//!     fn allocates() {
//!         assert_eq!(super::Node::new_boxed(super::Node { id: 1 }).id, 1);
//!     }
//! }
//! ```
//!
//! ```
//! // tests/nodes.rs of that library (`mylib`): a program of its own.
//! slab_core::slab_hooks!(global);
//!
//! #[test]
//! fn from_outside() {
//!     assert_eq!(mylib::Node::new_boxed(mylib::Node { id: 2 }).id, 2);
//! }
//! ```
//!
//! # Memory sources: one per cache
//! The hooks are the default **source** of every cache. A cache can name another as its
//! last type parameter, `SlabCache<T, L, SIZE, S>`, or with `#[slab_cached(source = S)]`:
//! [`Global`] (Rust's global allocator), a byte cap shared by several caches
//! (`&'static` [`Capped<S>`]), or your own memory (an `unsafe impl` [`SlabSource`]). A
//! program whose caches all name such sources needs **no** `slab_hooks!`, which is how a
//! library keeps its own types (and its own tests) off its users' hooks:
//!
//! ```
//! use slab_core::{Capped, Global, SlabCache, SlabError, SpinLock, slab_cached};
//!
//! // No `slab_hooks!` in this program.
//! #[slab_cached(source = Global)]
//! pub struct Node {
//!     pub id: u32,
//! }
//!
//! static POOL: Capped<Global> = Capped::new(Global, 16 << 10); // at most 16 KiB
//!
//! fn main() {
//!     assert_eq!(Node::new_boxed(Node { id: 1 }).id, 1);
//!     let capped: SlabCache<[u8; 1000], SpinLock, 4096, &'static Capped<Global>> =
//!         SlabCache::with_source(&POOL);
//!     let mut held = Vec::new();
//!     let e = loop {
//!         match capped.try_alloc([0; 1000]) {
//!             Ok(b) => held.push(b),
//!             Err(e) => break e,
//!         }
//!     };
//!     assert_eq!(e.error(), SlabError::OutOfMemory); // past the cap; `e.into_inner()`
//!     assert_eq!(POOL.used(), 16 << 10); // four 4 KiB slabs, and not one more
//! }
//! ```
//!
//! See [`SlabSource`] for the promise a source makes, and the README's "Memory sources"
//! for two sources in one program.
//!
//! # Object caching: objects that stay constructed
//! An [`ObjectCache<T, L, SIZE, S>`](ObjectCache) keeps its objects constructed between
//! uses (Bonwick 1994): dropping a [`Pooled`] box [resets](Recycle::reset) the value and
//! keeps it in its slot, and the next [`take`](ObjectCache::take) hands it out again. A
//! pooled `Vec<u8>` keeps its capacity. Values are dropped for real only when their slab
//! goes back to its source.
//!
//! ```
//! use slab_core::{Global, ObjectCache, SpinLock};
//!
//! let mut pool: ObjectCache<Vec<u8>, SpinLock, 16384, Global> = ObjectCache::new();
//! let mut v = pool.take_mut();
//! v.extend_from_slice(&[0; 1500]);
//! pool.give(v); // cleared, not dropped
//! assert!(pool.take_mut().capacity() >= 1500);
//! ```
//!
//! # Every cache of the program
//! [`slabinfo()`] prints every live cache as a `/proc/slabinfo`-style table, and
//! [`for_each_cache`] hands each cache's [`SlabStats`] (with the fast path's counters) to
//! a metrics exporter. `#[slab_cached]` types join on first use; runtime caches when their
//! master is made, and leave when it is released. Registering allocates nothing.
//!
//! ```
//! use slab_core::{Global, SlabCache, SpinLock};
//!
//! let cache: SlabCache<u64, SpinLock, 4096, Global> = SlabCache::new();
//! let b = cache.alloc(1);
//! println!("{}", slab_core::slabinfo());
//! let mut caches = 0;
//! slab_core::for_each_cache(|_| caches += 1);
//! assert!(caches >= 1);
//! # drop(b);
//! ```
//!
//! # `no_std`, and small memories
//! Without `std` there are no per-thread magazines: `#[slab_cached]` types, `alloc(&self)`
//! and plain box drops take the cache's lock (O(1)); a handle's `&mut self` methods still use its own
//! magazines (one handle per CPU in a kernel). With the `alloc` feature,
//! `slab_hooks!(global)` takes slabs from the global allocator; otherwise write your own
//! hooks.
//!
//! **Slab sizes.** A `#[slab_cached]` type without `size = N` gets slabs of at least
//! **16 KiB** (16384 bytes, more for large types), and each slab is one block from the
//! hook, aligned to its size. An arena that hands out 1 KiB pages cannot give that: the
//! hook returns `None`, and `new_boxed` panics with a message that names the slab size
//! and `size =`. Read the size a type got with [`SlabCached::SLAB_SIZE`], and choose
//! smaller slabs where memory is small:
//!
//! ```
//! use slab_core::{SlabCached, slab_cached};
//!
//! slab_core::slab_hooks!(global);
//!
//! #[slab_cached] // 16 KiB slabs
//! struct Sample(u16);
//!
//! #[slab_cached(size = 1024)] // 1 KiB slabs: fits a 1 KiB-page arena
//! struct Event(u16);
//!
//! fn main() {
//!     assert_eq!(Sample::SLAB_SIZE, 16384);
//!     assert_eq!(Event::SLAB_SIZE, 1024);
//!     let (s, e) = (Sample::new_boxed(Sample(1)), Event::new_boxed(Event(2)));
//!     assert_eq!(s.0 + e.0, 3);
//! }
//! ```
//!
//! A runtime `SlabCache<T>` uses 4096-byte slabs unless its `SIZE` says otherwise.
//!
//! # Architecture
//! Bottom up, each module talking only to those below it: `source` (raw memory: the
//! hooks, the global allocator, caps) →
//! `geometry` (slab layout, pure arithmetic) → `hardening` (canaries, poison, encoded
//! links) → `slab` (one slab: header, free list, pop and push) → `chain` (free slots
//! linked through their first word) → `depot` (slab lists, parked magazines, the registry
//! of magazine holders, every count) → `control` (the master's control block: lock guard,
//! creation, growth, destruction) → `magazine` (the loaded + previous pair) → `handle`
//! ([`SlabCache`]'s value and its magazines) → `thread_table` (a thread's magazines of the
//! runtime caches it uses through `&self`) → `boxed` ([`SlabBox`]) → `cache` (what a
//! [`SlabCache`] does) → `thread_cache` (per-thread magazines, the exit list) → `typed`
//! ([`SlabCached`], [`Boxed`], [`ObjectCached`]) and `scan`; `objcache` ([`ObjectCache`])
//! sits above `cache`, and `registry` (the list of every cache) beside the leaves, below
//! `control`. On top of the boxes: `coerce` ([`coerce!`] to `dyn Trait`, [`Erased`]),
//! `clone` (`Clone`, `Default`, pins), `arc` ([`SlabArc`], [`SlabWeak`]) and `buf`
//! ([`ByteBuf`], the `bytes::Bytes` hand-off). Beside them: `lock` ([`LockTrait`],
//! [`SpinLock`], [`TicketLock`], [`NoLock`]), `error`, `stats`. `IMPLEMENTATION.md` in the
//! crate's repository describes each layer, the fast path and the numbered invariants.
//!
//! # Features
//! - `std` (default): per-thread magazines for `#[slab_cached]` types and for runtime
//!   caches used through `&self` (the lock-free fast paths), locks that yield the CPU after
//!   a short spin; implies `alloc`.
//! - `alloc`: `slab_hooks!(global)`, hooks on Rust's global allocator, in `no_std` crates
//!   that have an allocator.
//! - `derive` (default): re-exports `#[slab_cached]` and `slab_hooks!` from `slab-derive`.
//! - `debug-checks`: the hardening checks (canaries, poisoned free slots, encoded
//!   free-list links, ownership checks in [`SlabBox::from_raw`]) in release builds too;
//!   debug builds always have them.
//! - `asan-poison`: free slots are marked unaddressable for AddressSanitizer, in builds
//!   with `-Zsanitizer=address` (nightly); elsewhere the feature does nothing.
//! - `loom`: internal, for slab-core's own model tests (with `--cfg loom`); does nothing
//!   otherwise.
//!
//! # Minimum Rust version
//! - `bytes`: `SlabBox::into_bytes`, a zero-copy hand-off of a pooled buffer to
//!   `bytes::Bytes`, and `bytes::BufMut` for [`ByteBuf`].
//!
//! # Minimum Rust version
//! Rust 1.88, checked in CI.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![allow(
    clippy::test_attr_in_doctest,
    reason = "the crate docs show the files of a library's own tests; `.ci/downstream` runs them"
)]

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
mod arc;
mod boxed;
mod buf;
mod bulk;
mod cache;
mod chain;
mod clone;
mod coerce;
mod control;
mod depot;
mod error;
mod geometry;
mod handle;
mod hardening;
mod inplace;
mod lock;
mod magazine;
mod objcache;
#[cfg(feature = "alloc")]
mod pages;
mod registry;
mod scan;
mod slab;
mod source;
mod stats;
mod sync;
mod thread_cache;
mod thread_table;
mod typed;

pub use arc::{ArcCached, ArcInner, ArcPool, CachedArc, CachedWeak, SlabArc, SlabWeak};
pub use boxed::{BoxPool, Pool, SlabBox};
pub use buf::{ByteBuf, ByteBuffer, CapacityError};
pub use clone::Refill;
pub use coerce::Erased;
pub use depot::DEFAULT_KEEP_EMPTY;
pub use error::{AllocError, SlabError};
pub use geometry::{MAX_SLAB_SIZE, MIN_SLAB_SIZE};
pub use handle::{SlabCache, SlabSize, ValidSlabSize};
pub use lock::{LockTrait, NoLock, SpinLock, TicketLock};
pub use objcache::{ObjectCache, Pooled, Recycle};
pub use registry::{SlabInfo, for_each_cache, slabinfo};
pub use scan::{ScanError, ScanReport};
pub use source::{AllocHook, Capped, DefaultSource, FreeHook, Hooks, SlabSource};
#[cfg(feature = "alloc")]
pub use source::{Global, global};
pub use stats::SlabStats;
pub use thread_table::flush_thread_caches;
pub use typed::{
    Boxed, ObjectCached, Recycled, SlabCached, UninitBoxed, flush_thread_cache,
    flush_thread_objects,
};
// Not public API: `pub` because public items name them (`Boxed<T>` is a box of
// `TypePool<T>`, `SlabCached::Cache` is bounded by `CacheOf`), but nothing to use directly.
#[doc(hidden)]
pub use geometry::LayoutError;
#[doc(hidden)]
pub use typed::{CacheOf, ObjectCacheOf, TypeObjects, TypePool};

#[cfg(feature = "derive")]
pub use slab_derive::{slab_cached, slab_hooks};

#[cfg(all(test, feature = "std"))]
#[path = "../tests/common/mod.rs"]
mod common;

#[cfg(all(test, feature = "std"))]
mod tests;

/// The Rust examples of this package's `README.md` (its crates.io page), as doctests: each
/// one builds, links and runs as the program a user would paste into a new crate.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

/// Not public API: the thread cache that the loom models (`tests/loom.rs`) drive by hand,
/// because loom cannot model `std` thread-locals. Exists only under `--cfg loom`; every
/// entry point is an `unsafe fn`.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::thread_cache::ThreadCache;
    pub use crate::thread_table::Table;
}

/// Not public API: the paths that `#[slab_cached]` and `slab_hooks!` expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::__object_cached_impl as object_cached_impl;
    pub use crate::__slab_arc_impl as slab_arc_impl;
    pub use crate::__slab_cached_impl as slab_cached_impl;
    pub use crate::arc::arc_slab_size;
    pub use crate::coerce::Coerce;
    pub use crate::inplace::{new_boxed_with, try_new_boxed_with};
    pub use crate::source::{ALLOC_SYMBOL, FREE_SYMBOL};
    pub use crate::typed::{
        ConstMsg, Magazines, ObjMagazines, RecycleValue, SendValue, ThreadSafeLock, assert_lock,
        assert_recycle, assert_send_value, assert_source, assert_thread_safe_lock,
        auto_object_slab_size, auto_slab_size, check_layout, check_object_layout, new_boxed,
        new_uninit_boxed, take, try_new_boxed, try_new_uninit_boxed, try_take,
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
    pub use crate::source::global;
}
