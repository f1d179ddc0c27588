use slab_core::{SpinLock, TicketLock, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached(size = 8192, lock = SpinLock)]
struct SizeFirst(u64);

#[slab_cached(lock = TicketLock, size = 8192)]
struct LockFirst(u64);

#[slab_cached(size = 8192, lock = SpinLock,)]
struct TrailingComma(u64);

fn main() {
    let a = SizeFirst::new_boxed(SizeFirst(1));
    let b = LockFirst::new_boxed(LockFirst(2));
    let c = TrailingComma::new_boxed(TrailingComma(3));
    assert_eq!(a.0 + b.0 + c.0, 6);
    assert_eq!(SizeFirst::slab_cache().stats().slab_size, 8192);
    assert_eq!(LockFirst::slab_cache().stats().slab_size, 8192);
}
