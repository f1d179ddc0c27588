//! `ThreadCache` has no safe constructor and no `Default`.
use slab_core::SpinLock;
use slab_core::__private::ThreadCache;

slab_core::slab_hooks!(global);

fn main() {
    let _a = ThreadCache::<u64, SpinLock, 4096>::new();
    let _b: ThreadCache<u64, SpinLock, 4096> = Default::default();
}
