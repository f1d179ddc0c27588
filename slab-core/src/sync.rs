//! Atomics used by the lock-free parts (the lazy publication of a cache's master), in one
//! place so a model checker can swap them.

pub(crate) use core::sync::atomic::{AtomicPtr, Ordering};
