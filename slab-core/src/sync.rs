//! Atomics used by the lock-free parts (the lazy publication of a cache's master, the
//! per-thread magazine counts read by `stats`), in one
//! place so the loom model checker can swap them (`RUSTFLAGS="--cfg loom"`, see
//! `tests/loom.rs`).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
