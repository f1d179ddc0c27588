//! Atomics used by the lock-free parts (the lazy publication of a cache's master, the
//! per-thread magazine counts read by `stats`, the counts of a `SlabArc`), in one
//! place so the loom model checker can swap them (`RUSTFLAGS="--cfg loom"`, see
//! `tests/loom.rs`).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence};

/// A pause in a spin loop; under loom, a yield, so the model checker lets the thread
/// being waited for run.
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}
