//! The per-thread magazines that `#[slab_cached]` declares cannot be made by safe code: a
//! stray one registered with a cache would leave a dangling node when its frame ends.
use slab_core::SpinLock;
use slab_core::__private::ThreadCache;

slab_core::slab_hooks!(global);

fn main() {
    let _stray = ThreadCache::<u64, SpinLock, 4096>::new_tls();
}
