//! The registry of magazine holders, so that `stats()` counts the free slots they hold
//! (I8, I14): the thread caches' nodes, linked into a list under the lock, and the
//! master's handle counters, claimed by handles under the lock.
//!
//! A holder's count `held` is the one count written outside the lock: by its owner alone,
//! with a plain load and store ([`add_owned`]); whole magazines moving between a holder and
//! the depot change it under the lock (`exchange.rs`).

use core::cell::UnsafeCell;
use core::marker::PhantomPinned;
use core::ptr::{self, NonNull};

use super::Depot;
use crate::geometry::HANDLE_COUNTERS;
use crate::sync::{AtomicU32, Ordering};

/// Adds `delta` (wrapping) to a slot count that only its owner writes outside the lock:
/// a plain load and store, no atomic read-modify-write. Readers hold the lock, and every
/// write under the lock is the owner's too (moving a whole magazine, I8).
#[inline(always)]
pub(crate) fn add_owned(count: &AtomicU32, delta: u32) {
    count.store(
        count.load(Ordering::Relaxed).wrapping_add(delta),
        Ordering::Relaxed,
    );
}

/// The part of a thread cache the depot sees: registry links (touched only under the
/// lock) and the slot counts (written by the owner, read by `stats` under the lock).
///
/// # Aliasing
/// Other threads write a registered node's links (unlinking a neighbour) and read its
/// counts while the owner does not hold the lock, so the owner must never hold a
/// *unique* reference to the memory of its node: every field is interior-mutable (so
/// `&ThreadCache` is fine), and the node is `!Unpin` through `PhantomPinned`, so the
/// `&mut ThreadCache` that the thread-local's destructor makes (`drop_in_place`, then
/// `Drop::drop`) is not unique either (rust-lang/rust#82834: `&mut` to a `!Unpin` type is
/// not `noalias`; the intrusive-list pattern of tokio's `linked_list::Pointers`). With
/// `core::pin::UnsafePinned` (RFC 3467) stable, that type should replace the marker.
/// `!Unpin` also states the other requirement: a registered node must not move, as the
/// registry holds its address (a thread-local never moves, I14).
#[repr(C)]
pub(crate) struct MagNode {
    next: UnsafeCell<*const MagNode>,
    prev: UnsafeCell<*const MagNode>,
    /// Slots in both magazines of this thread. Written by the owner (plain load + store)
    /// for single pushes and pops, and under the lock when a whole magazine moves between
    /// the thread and the depot, so a reader holding the lock never counts a slot twice.
    pub(crate) held: AtomicU32,
    _pinned: PhantomPinned,
}

/// The value of an unregistered node (one body for the `const` and the loom constructor).
macro_rules! unregistered {
    () => {
        MagNode {
            next: UnsafeCell::new(ptr::null()),
            prev: UnsafeCell::new(ptr::null()),
            held: AtomicU32::new(0),
            _pinned: PhantomPinned,
        }
    };
}

impl MagNode {
    /// A node on no registry, counting no slot.
    #[cfg(not(loom))]
    #[cfg_attr(
        not(feature = "std"),
        allow(dead_code, reason = "thread caches are made in `std` builds only")
    )]
    pub(crate) const fn new() -> MagNode {
        unregistered!()
    }

    /// `new` under the loom model checker, whose atomics cannot be built in `const`.
    #[cfg(loom)]
    pub(crate) fn new() -> MagNode {
        unregistered!()
    }
}

impl Depot {
    /// Slots held by every registered thread cache of this depot (read under the lock).
    pub(super) fn thread_held(&self) -> usize {
        let mut n = 0;
        let mut cur = self.threads;
        while !cur.is_null() {
            // SAFETY: `cur` is a registered node (the registry is walked under the lock:
            // `&Depot` is only reached through the guard, I9): it stays alive until it
            // unregisters, which takes that lock (I14). Every field of `MagNode` is
            // interior-mutable (atomics, `UnsafeCell`), so a shared reference allows the
            // owning thread's concurrent stores to `held`.
            let node = unsafe { &*cur };
            n += node.held.load(Ordering::Relaxed) as usize;
            // SAFETY: registry links are written only under the lock, which we hold (I14),
            // so this read of `next` races with no write.
            cur = unsafe { *node.next.get() };
        }
        n
    }

    /// Whether any thread node is registered.
    pub(crate) fn has_registered(&self) -> bool {
        !self.threads.is_null()
    }

    /// Links `node` into the registry.
    ///
    /// # Safety
    /// The lock is held; `node` is on no registry, and stays at its address and alive
    /// until it [unregisters](Self::unregister) from this depot (I14).
    pub(crate) unsafe fn register(&mut self, node: &MagNode) {
        let me: *const MagNode = node;
        // SAFETY: registry links are read and written only under the lock, which we hold
        // (I14), and nothing holds a reference into the `UnsafeCell`.
        unsafe { *node.next.get() = self.threads };
        // SAFETY: registry links are read and written only under the lock, which we hold
        // (I14), and nothing holds a reference into the `UnsafeCell`.
        unsafe { *node.prev.get() = ptr::null() };
        if let Some(head) = NonNull::new(self.threads.cast_mut()) {
            // SAFETY: `head` is a registered node: alive until it unregisters, which takes
            // the lock we hold (I14). `MagNode`'s fields are all interior-mutable, so a
            // shared reference is fine while its owner stores to `held`.
            let head = unsafe { head.as_ref() };
            // SAFETY: registry links are accessed only under the lock, which we hold (I14).
            unsafe { *head.prev.get() = me };
        }
        self.threads = me;
    }

    /// Unlinks `node` from the registry.
    ///
    /// # Safety
    /// The lock is held; `node` is registered with this depot.
    pub(crate) unsafe fn unregister(&mut self, node: &MagNode) {
        // SAFETY: registry links are accessed only under the lock, which we hold (I14).
        let prev = unsafe { *node.prev.get() };
        // SAFETY: registry links are accessed only under the lock, which we hold (I14).
        let next = unsafe { *node.next.get() };
        if let Some(prev) = NonNull::new(prev.cast_mut()) {
            // SAFETY: `prev` is our neighbour in the registry, so a registered node: alive
            // until it unregisters, which takes the lock we hold (I14). All of `MagNode`'s
            // fields are interior-mutable, so a shared reference is fine.
            let prev = unsafe { prev.as_ref() };
            // SAFETY: registry links are accessed only under the lock, which we hold (I14).
            unsafe { *prev.next.get() = next };
        } else {
            self.threads = next;
        }
        if let Some(next) = NonNull::new(next.cast_mut()) {
            // SAFETY: `next` is our other neighbour in the registry, so a registered node,
            // alive until it unregisters under the lock we hold (I14); its fields are all
            // interior-mutable, so a shared reference is fine.
            let next = unsafe { next.as_ref() };
            // SAFETY: registry links are accessed only under the lock, which we hold (I14).
            unsafe { *next.prev.get() = prev };
        }
    }

    /// Handle-magazine counter `i` (`i < HANDLE_COUNTERS`).
    pub(super) fn counter(&self, i: usize) -> &AtomicU32 {
        assert!(i < HANDLE_COUNTERS);
        // SAFETY: counter `i` (below `HANDLE_COUNTERS`) lies in the master slab
        // (`Class::counters_offset`, I1), in bounds of the block `counters` was derived
        // from.
        let c = unsafe { self.counters.byte_add(i * self.counter_stride) };
        // SAFETY: initialised with the depot and alive as long as it (I4); atomics may be
        // shared while their owners store.
        unsafe { c.as_ref() }
    }

    /// Claims a free handle counter of this depot, if one is left; it stays the caller's
    /// until [`release_counter`](Self::release_counter) (I14).
    ///
    /// The lock is held: `&mut Depot` is only reached through the guard (I9).
    pub(crate) fn claim_counter(&mut self) -> Option<NonNull<AtomicU32>> {
        let free = !self.handle_claims;
        if free.trailing_zeros() as usize >= HANDLE_COUNTERS {
            return None;
        }
        let i = free.trailing_zeros();
        self.handle_claims |= 1 << i;
        Some(NonNull::from(self.counter(i as usize)))
    }

    /// Releases handle counter `c`, claimed by [`claim_counter`](Self::claim_counter).
    pub(crate) fn release_counter(&mut self, c: &AtomicU32) {
        let i = (ptr::from_ref(c).addr() - self.counters.addr().get()) / self.counter_stride;
        debug_assert!(ptr::eq(self.counter(i), c), "a counter of this depot");
        self.handle_claims &= !(1 << i);
    }
}
