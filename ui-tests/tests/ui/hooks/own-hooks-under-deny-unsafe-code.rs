//! A crate that denies unsafe code is told where it vouches for its hooks: at its `unsafe`.
#![deny(unsafe_code)]
use core::alloc::Layout;
use core::ptr::NonNull;

fn my_alloc(_: Layout) -> Option<NonNull<u8>> {
    None
}
fn my_free(_: NonNull<u8>, _: Layout) {}

slab_core::slab_hooks!(unsafe my_alloc, my_free);

fn main() {}
