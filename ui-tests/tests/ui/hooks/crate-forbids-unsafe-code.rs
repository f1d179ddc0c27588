//! Exporting the hook symbols is unsafe; a crate-wide `forbid(unsafe_code)` cannot be
//! lifted, so such a crate calls `slab_hooks!` from another crate of the program (or
//! forbids unsafe code per module, see `tests/pass/forbid-unsafe-code.rs`).
#![forbid(unsafe_code)]

slab_core::slab_hooks!(global);

fn main() {}
