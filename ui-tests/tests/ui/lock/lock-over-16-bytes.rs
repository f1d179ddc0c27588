use slab_core::{LockTrait, SpinLock, slab_cached};
slab_core::slab_hooks!(global);

/// A lock with 24 bytes of statistics next to it.
struct FatLock {
    inner: SpinLock,
    stats: [u64; 3],
}

// SAFETY: every operation forwards to `SpinLock`, which upholds the contract.
unsafe impl LockTrait for FatLock {
    const INIT: Self = FatLock { inner: SpinLock::INIT, stats: [0; 3] };
    fn lock(&self) {
        self.inner.lock();
    }
    unsafe fn unlock(&self) {
        // SAFETY: the caller holds this lock, so it holds `inner`, locked by `lock` above.
        unsafe { self.inner.unlock() }
    }
}

#[slab_cached(lock = FatLock)]
struct Packet {
    data: [u8; 64],
}

fn main() {
    let _ = FatLock::INIT.stats;
}
