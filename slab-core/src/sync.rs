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

/// The address an [`AtomicPtr`] holds, read with a relaxed atomic load that the optimiser
/// does not treat as ordering the memory operations around it, for fast paths that only
/// compare the address (never follow it).
///
/// An atomic load, even a relaxed one, is a barrier to LLVM's memory optimisations: a
/// value the caller built on the stack before the load is not built in the slot it is
/// written to after it (`SlabCache::alloc(v)` loads the control pointer between the two,
/// see `cache.rs`). On x86_64 the load is one aligned 8-byte `mov` in an `asm!` block that
/// only reads memory: a single-copy-atomic load, which is what a relaxed load compiles to
/// (the way `portable-atomic` implements atomic loads), but opaque to the optimiser, which
/// sees a read and no ordering. Elsewhere, and under Miri and loom, it is
/// `load(Relaxed)`.
#[cfg_attr(
    not(any(feature = "std", loom)),
    allow(dead_code, reason = "the thread tables that use it are `std`'s")
)]
#[inline(always)]
pub(crate) fn relaxed_addr<T>(p: &AtomicPtr<T>) -> usize {
    #[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
    {
        let addr: usize;
        // SAFETY: `p.as_ptr()` points to the pointer inside the `AtomicPtr`: valid for
        // reads, 8-byte aligned, for as long as `p` is borrowed. An aligned 8-byte `mov` on
        // x86_64 is single-copy atomic, so this is a relaxed atomic load of it: every write
        // to an `AtomicPtr` is atomic too, so it races with no non-atomic access. The block
        // reads only that word (`readonly`), writes nothing, uses no stack and keeps the
        // flags; its result depends only on that memory (`pure`).
        unsafe {
            core::arch::asm!(
                "mov {addr}, qword ptr [{p}]",
                p = in(reg) p.as_ptr(),
                addr = lateout(reg) addr,
                options(pure, readonly, nostack, preserves_flags),
            );
        }
        addr
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri), not(loom))))]
    {
        p.load(Ordering::Relaxed).addr()
    }
}
