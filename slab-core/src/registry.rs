//! The registry of every live cache: an intrusive list through the caches' control blocks
//! under one static spin lock, so registering allocates nothing (`no_std`). A cache joins
//! when its master is created (the first use of a `#[slab_cached]` type or a runtime
//! cache) and leaves when it is destroyed (its last handle and box gone); a `static` cache
//! never leaves. [`for_each_cache`] reads every cache's [`SlabStats`], and [`slabinfo`]
//! prints them as a table like `/proc/slabinfo`.
//!
//! Lock order (I22): the registry lock, then a cache's depot lock, never the other way:
//! [`for_each_cache`] locks each depot while it holds the registry lock, and a cache joins
//! (after its master is published) and leaves (before it is destroyed) holding no depot
//! lock.
//!
//! This module knows nodes only: what a node reports is a function the cache's layer
//! (`control`) stores in it. It talks to `stats`.

use core::cell::UnsafeCell;
use core::fmt;
use core::ptr::{self, NonNull};

use crate::stats::SlabStats;

/// A cache's entry in the registry, inside its control block.
///
/// Its links are read and written under the registry lock only; everything is
/// interior-mutable, because other threads hold `&Control` while a node is linked.
pub(crate) struct Node {
    next: UnsafeCell<*const Node>,
    prev: UnsafeCell<*const Node>,
    /// Fills the stats of the cache that holds this node, locking its depot.
    report: unsafe fn(NonNull<Node>, &mut SlabStats),
}

impl Node {
    /// A node on no list, reporting through `report`.
    pub(crate) const fn new(report: unsafe fn(NonNull<Node>, &mut SlabStats)) -> Node {
        Node {
            next: UnsafeCell::new(ptr::null()),
            prev: UnsafeCell::new(ptr::null()),
            report,
        }
    }
}

/// The node at `n`, for its links.
///
/// # Safety
/// `n` is a node that stays alive for `'a` (linked, or being linked by its owner), and the
/// registry lock is held, which guards its links (I22).
unsafe fn node<'a>(n: *const Node) -> &'a Node {
    // SAFETY: alive (contract); every field is interior-mutable or never written, so a
    // shared reference allows the link writes below.
    unsafe { &*n }
}

impl Node {
    /// # Safety
    /// The registry lock is held (I22).
    unsafe fn next(&self) -> *const Node {
        // SAFETY: links are read and written under the registry lock only (contract).
        unsafe { *self.next.get() }
    }
    /// # Safety
    /// The registry lock is held (I22).
    unsafe fn prev(&self) -> *const Node {
        // SAFETY: links are read and written under the registry lock only (contract).
        unsafe { *self.prev.get() }
    }
    /// # Safety
    /// The registry lock is held (I22).
    unsafe fn set_next(&self, n: *const Node) {
        // SAFETY: links are read and written under the registry lock only (contract), and
        // no reference into them is alive.
        unsafe { *self.next.get() = n };
    }
    /// # Safety
    /// The registry lock is held (I22).
    unsafe fn set_prev(&self, n: *const Node) {
        // SAFETY: as `set_next`.
        unsafe { *self.prev.get() = n };
    }
}

/// The head of the list.
struct Head(*const Node);

// SAFETY: the head and every link are reached only under `REGISTRY`'s lock (I22); the
// nodes live in control blocks that stay alive while linked.
unsafe impl Send for Head {}

static REGISTRY: spin::Mutex<Head> = spin::Mutex::new(Head(ptr::null()));

/// Links `node` into the registry.
///
/// # Safety
/// `node` is on no list, stays at its address and alive until [`unregister`]ed, and its
/// `report` may be called with it from any thread until then (I22). The caller holds no
/// depot lock.
pub(crate) unsafe fn register(node: NonNull<Node>) {
    if cfg!(loom) {
        return; // the loom models never list caches; keep the static lock out of them
    }
    let mut head = REGISTRY.lock();
    let n = node.as_ptr().cast_const();
    // SAFETY: `node` is alive and ours to link (contract); the lock is held.
    let me = unsafe { self::node(n) };
    // SAFETY: the registry lock is held (I22).
    unsafe { me.set_next(head.0) };
    // SAFETY: the registry lock is held (I22).
    unsafe { me.set_prev(ptr::null()) };
    if !head.0.is_null() {
        // SAFETY: the head is a linked node, alive while linked (I22); the lock is held.
        let old = unsafe { self::node(head.0) };
        // SAFETY: the registry lock is held (I22).
        unsafe { old.set_prev(n) };
    }
    head.0 = n;
}

/// Unlinks `node` from the registry.
///
/// # Safety
/// `node` was [`register`]ed and is still linked; the caller holds no depot lock.
pub(crate) unsafe fn unregister(node: NonNull<Node>) {
    if cfg!(loom) {
        return;
    }
    let mut head = REGISTRY.lock();
    // SAFETY: a linked node, alive (contract); the lock is held.
    let me = unsafe { self::node(node.as_ptr()) };
    // SAFETY: the registry lock is held (I22).
    let prev = unsafe { me.prev() };
    // SAFETY: the registry lock is held (I22).
    let next = unsafe { me.next() };
    if prev.is_null() {
        head.0 = next;
    } else {
        // SAFETY: `prev` is a linked neighbour, alive while linked; the lock is held (I22).
        let p = unsafe { self::node(prev) };
        // SAFETY: the registry lock is held (I22).
        unsafe { p.set_next(next) };
    }
    if !next.is_null() {
        // SAFETY: `next` is a linked neighbour, alive while linked; the lock is held (I22).
        let n = unsafe { self::node(next) };
        // SAFETY: the registry lock is held (I22).
        unsafe { n.set_prev(prev) };
    }
}

/// Calls `f` with the [`SlabStats`] of every live cache of the program: each
/// `#[slab_cached]` type used so far, and each runtime [`SlabCache`](crate::SlabCache)
/// (or [`ObjectCache`](crate::ObjectCache)) whose master exists, newest first. Each
/// cache's figures are read under its lock, as [`SlabCache::stats`](crate::SlabCache::stats)
/// reads them; a cache made or released meanwhile is listed or not, never half.
///
/// For a metrics exporter: the fields of `SlabStats` are the numbers, `name` the type.
///
/// `f` runs under the registry's lock: it must not make or release a cache (the first use
/// of a `#[slab_cached]` type, the last drop of a runtime cache), or it deadlocks.
///
/// ```
/// use slab_core::{Global, SlabCache, SpinLock};
///
/// let cache: SlabCache<[u8; 100], SpinLock, 4096, Global> = SlabCache::new();
/// let b = cache.alloc([0; 100]);
/// let mut found = 0;
/// slab_core::for_each_cache(|s| {
///     if s.name == "[u8; 100]" {
///         found += s.in_use;
///     }
/// });
/// assert_eq!(found, 1);
/// # drop(b);
/// ```
pub fn for_each_cache(mut f: impl FnMut(&SlabStats)) {
    let head = REGISTRY.lock();
    let mut cur = head.0;
    while let Some(node) = NonNull::new(cur.cast_mut()) {
        let mut s = SlabStats::EMPTY;
        // SAFETY: a linked node, alive while linked: a cache leaves before it is
        // destroyed, which needs the lock we hold (I22).
        let n = unsafe { self::node(node.as_ptr()) };
        // SAFETY: `report` is its cache's, which is alive while listed (I22).
        unsafe { (n.report)(node, &mut s) };
        f(&s);
        // SAFETY: the registry lock is held (I22).
        cur = unsafe { n.next() };
    }
    drop(head);
}

/// Every live cache as a table like `/proc/slabinfo`: [`SlabStats::HEADER`] and one
/// [`SlabStats`] line per cache, then the fast-path counters. Formatting it reads the
/// registry ([`for_each_cache`]); write it where nothing makes or releases a cache.
///
/// ```
/// use slab_core::{Global, slab_cached};
///
/// #[slab_cached(source = Global)]
/// struct Particle([f32; 4]);
///
/// let p = Particle::new_boxed(Particle([0.0; 4]));
/// let table = slab_core::slabinfo().to_string();
/// assert!(table.lines().any(|l| l.starts_with("Particle") && l.contains(" 1 ")), "{table}");
/// # drop(p);
/// ```
pub fn slabinfo() -> SlabInfo {
    SlabInfo(())
}

/// The table of [`slabinfo`] (`Display`).
#[derive(Clone, Copy, Debug)]
pub struct SlabInfo(());

impl fmt::Display for SlabInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", SlabStats::HEADER)?;
        let mut r = Ok(());
        for_each_cache(|s| {
            if r.is_ok() {
                r = writeln!(
                    f,
                    "{s} : hits {} exchanges {} refills {} hooks {}/{}",
                    s.magazine_hits, s.depot_exchanges, s.refills, s.hook_allocs, s.hook_frees
                );
            }
        });
        r
    }
}
