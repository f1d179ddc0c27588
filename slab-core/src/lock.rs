//! The lock that guards a cache's depot: [`LockTrait`] and the locks shipped with the crate.
//!
//! The lock lives in the master slab's control block and is taken only on the depot path
//! (magazine exchange, slab growth and release, `stats`, `reserve`, `shrink`). It is raw:
//! `lock`/`unlock` without a guard, like `lock_api::RawMutex`, so it can sit in memory
//! that the cache manages itself.
//!
//! This module talks to nothing else in the crate.

use core::marker::PhantomData;

/// A raw mutual-exclusion lock that can guard a slab cache.
///
/// # Safety
/// Implementors promise:
/// - **Exclusion**: between a return from [`lock`](Self::lock) and the matching
///   [`unlock`](Self::unlock), no other call to `lock` on the same value returns, from
///   any thread that can reach the value (if the type is `Sync`, that is every thread).
/// - **Ordering**: `unlock` has release semantics and `lock` acquire semantics, so the
///   memory effects of one critical section are visible to the next.
/// - **No access after release**: `unlock` touches `self` no more after the operation
///   that makes the lock available (the next owner may free the memory holding it).
/// - **`INIT` is unlocked**, and moving an unlocked lock is allowed.
///
/// A safe trait would let a do-nothing "lock" cause data races from safe code, which is
/// why this one is `unsafe` to implement.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a slab cache lock",
    label = "this type does not implement `slab_core::LockTrait`",
    note = "use `slab_core::SpinLock`, `TicketLock`, `NoLock` (single thread only), or implement the unsafe trait `LockTrait` for your own raw lock"
)]
pub unsafe trait LockTrait {
    /// An unlocked lock, usable in `static` and `const` items.
    const INIT: Self;

    /// Acquires the lock, waiting as long as needed.
    fn lock(&self);

    /// Releases the lock.
    ///
    /// # Safety
    /// The caller holds the lock (acquired by [`lock`](Self::lock) in the same context and
    /// not yet released).
    unsafe fn unlock(&self);

    /// A new unlocked lock, written into each cache's control block. Defaults to `INIT`;
    /// a lock that cannot be built in `const` (a model checker's) overrides it.
    #[doc(hidden)]
    fn __fresh() -> Self
    where
        Self: Sized,
    {
        Self::INIT
    }
}

/// How many `spin_loop` hints a waiter issues before it starts yielding the CPU (std only).
const SPINS_BEFORE_YIELD: u32 = 64;

#[inline]
fn backoff(spins: &mut u32) {
    if *spins < SPINS_BEFORE_YIELD {
        *spins += 1;
        core::hint::spin_loop();
    } else {
        #[cfg(feature = "std")]
        std::thread::yield_now();
        #[cfg(not(feature = "std"))]
        core::hint::spin_loop();
    }
}

/// A test-and-test-and-set spin lock built on [`spin::mutex::SpinMutex`] (1 byte).
///
/// In `std` builds a waiter yields its time slice after a short spin, so a preempted
/// holder does not make the other threads burn whole time slices when threads outnumber
/// cores. The default lock of [`SlabCache`](crate::SlabCache) and `#[slab_cached]`.
///
/// ```
/// use slab_core::{LockTrait, SpinLock};
/// static LOCK: SpinLock = SpinLock::INIT;
/// LOCK.lock();
/// // SAFETY: locked just above on this thread.
/// unsafe { LOCK.unlock() };
/// ```
pub struct SpinLock(spin::mutex::SpinMutex<()>);

// SAFETY: `SpinMutex` provides exclusion with acquire (on `try_lock`'s successful
// compare-exchange) and release (on `force_unlock`'s store) ordering; `force_unlock` is a
// single store, after which `self` is not touched; `SpinMutex::new(())` is unlocked (I9).
unsafe impl LockTrait for SpinLock {
    const INIT: Self = SpinLock(spin::mutex::SpinMutex::new(()));

    #[inline]
    fn lock(&self) {
        let mut spins = 0;
        loop {
            if let Some(guard) = self.0.try_lock() {
                // Keep the lock held past the guard; `unlock` releases it.
                core::mem::forget(guard);
                return;
            }
            while self.0.is_locked() {
                backoff(&mut spins);
            }
        }
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock (`unlock`'s contract), acquired by `lock`, whose
        // guard was forgotten (I9).
        unsafe { self.0.force_unlock() }
    }
}

/// Relax strategy of [`TicketLock`]: yield the time slice in `std` builds (a FIFO lock
/// whose next owner is preempted would otherwise make every waiter spin a whole slice),
/// a `spin_loop` hint otherwise.
pub(crate) struct YieldRelax;

impl spin::RelaxStrategy for YieldRelax {
    #[inline]
    fn relax() {
        #[cfg(feature = "std")]
        std::thread::yield_now();
        #[cfg(not(feature = "std"))]
        core::hint::spin_loop();
    }
}

/// A fair FIFO ticket lock built on [`spin::mutex::TicketMutex`]: waiters are served in
/// arrival order, so no thread starves under heavy contention. In `std` builds waiters
/// yield their time slice, so it stays usable when threads outnumber cores.
///
/// ```
/// use slab_core::{SlabCache, TicketLock};
/// slab_core::slab_hooks!(global);
/// static CACHE: SlabCache<[u8; 64], TicketLock> = SlabCache::new();
/// assert_eq!(CACHE.alloc([7; 64])[63], 7);
/// ```
pub struct TicketLock(spin::mutex::TicketMutex<(), YieldRelax>);

// SAFETY: `TicketMutex` grants the lock to one ticket at a time, acquiring on the load
// that observes its ticket served and releasing on `force_unlock`'s single `fetch_add`,
// after which `self` is not touched; `TicketMutex::new(())` is unlocked (I9).
unsafe impl LockTrait for TicketLock {
    const INIT: Self = TicketLock(spin::mutex::TicketMutex::<(), YieldRelax>::new(()));

    #[inline]
    fn lock(&self) {
        core::mem::forget(self.0.lock());
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock (`unlock`'s contract), acquired by `lock`, whose
        // guard was forgotten (I9).
        unsafe { self.0.force_unlock() }
    }
}

/// No lock at all, for caches used by one thread only.
///
/// `NoLock` is neither `Send` nor `Sync`, so a cache or box that uses it cannot leave the
/// thread that made it; the compiler rejects a `static` cache with `NoLock` (statics are
/// shared by every thread).
///
/// ```
/// use slab_core::{NoLock, SlabCache};
/// slab_core::slab_hooks!(global);
/// let cache: SlabCache<u32, NoLock> = SlabCache::new();
/// let b = cache.alloc(5);
/// assert_eq!(*b, 5);
/// ```
///
/// ```compile_fail
/// use slab_core::{NoLock, SlabCache};
/// let cache: SlabCache<u32, NoLock> = SlabCache::new();
/// std::thread::spawn(move || drop(cache)); // `NoLock` cannot cross threads
/// ```
pub struct NoLock(PhantomData<*mut ()>);

// SAFETY: `NoLock` is `!Send` and `!Sync`, so only the thread that created it can reach
// it, and that thread runs one critical section at a time (the cache never re-enters
// its lock). Ordering within one thread is program order. `unlock` touches nothing (I9).
unsafe impl LockTrait for NoLock {
    const INIT: Self = NoLock(PhantomData);

    #[inline]
    fn lock(&self) {}

    #[inline]
    unsafe fn unlock(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excludes<L: LockTrait + Sync>() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let lock = L::INIT;
        let inside = AtomicUsize::new(0);
        let total = AtomicUsize::new(0);
        let rounds = if cfg!(miri) { 20 } else { 2000 };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..rounds {
                        lock.lock();
                        assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0, "two holders");
                        total.fetch_add(1, Ordering::Relaxed);
                        inside.fetch_sub(1, Ordering::Relaxed);
                        // SAFETY: locked above on this thread (I9).
                        unsafe { lock.unlock() };
                    }
                });
            }
        });
        assert_eq!(total.into_inner(), 4 * rounds);
    }

    #[test]
    fn spin_lock_excludes_concurrent_holders() {
        excludes::<SpinLock>();
    }

    #[test]
    fn ticket_lock_excludes_concurrent_holders() {
        excludes::<TicketLock>();
    }

    #[test]
    fn shipped_locks_fit_the_sixteen_byte_rule() {
        assert!(size_of::<SpinLock>() <= 16);
        assert!(size_of::<TicketLock>() <= 16);
        assert_eq!(size_of::<NoLock>(), 0);
    }
}
