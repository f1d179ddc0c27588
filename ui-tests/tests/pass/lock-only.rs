//! `lock = X` takes any path to a `LockTrait` type that is `Send + Sync`.
use slab_core::{LockTrait, SpinLock, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached(lock = SpinLock)]
struct A(u32);

#[slab_cached(lock = slab_core::TicketLock)]
struct B(u32);

#[slab_cached(lock = ::slab_core::SpinLock)]
struct C(u32);

mod locks {
    use slab_core::{LockTrait, SpinLock};

    /// A user-defined lock: forwards to `SpinLock`, with a 16-byte budget left over.
    pub struct Counted {
        inner: SpinLock,
        pub spare: [u8; 8],
    }

    // SAFETY: every operation forwards to `SpinLock`, which upholds the contract.
    unsafe impl LockTrait for Counted {
        const INIT: Self = Counted { inner: SpinLock::INIT, spare: [0; 8] };
        fn lock(&self) {
            self.inner.lock();
        }
        unsafe fn unlock(&self) {
            // SAFETY: the caller holds this lock, so it holds `inner`, locked by `lock`.
            unsafe { self.inner.unlock() }
        }
    }
}

#[slab_cached(lock = locks::Counted)]
struct D(u32);

fn main() {
    assert_eq!(A::new_boxed(A(1)).0 + B::new_boxed(B(2)).0 + C::new_boxed(C(3)).0, 6);
    assert_eq!(D::new_boxed(D(4)).0, 4);
    assert_eq!(locks::Counted::INIT.spare, [0; 8]);
}
