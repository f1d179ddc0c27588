//! Expansions are warning-free under strict lints (clippy pedantic is checked on the
//! types in `ui-tests/src/lib.rs`, which `cargo clippy` lints).
#![deny(warnings, missing_docs, unreachable_pub, unused_qualifications, unused_results)]
#![deny(rust_2018_idioms, single_use_lifetimes, trivial_casts, unused_lifetimes)]
#![deny(clippy::pedantic)]

use slab_core::{SpinLock, slab_cached};

slab_core::slab_hooks!(global);

/// Never boxed: the constructors are not dead code warnings.
#[slab_cached]
pub struct Unused(pub u32);

mod private {
    use slab_core::slab_cached;

    /// `pub` in a private module: `unreachable_pub` is the user's business, not ours.
    #[allow(unreachable_pub)]
    #[slab_cached]
    pub struct Hidden(pub u32);

    /// Private and never boxed.
    #[allow(dead_code)]
    #[slab_cached]
    struct NeverUsed(u32);
}

/// Used.
#[slab_cached(size = 4096, lock = SpinLock)]
pub struct Used(pub u32);

fn main() {
    let b = Used::new_boxed(Used(1));
    assert_eq!(b.0, 1);
    let _ = Unused(0).0;
    let _ = private::Hidden(0).0;
}
