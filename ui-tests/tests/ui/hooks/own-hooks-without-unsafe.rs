//! Hooks written by the user make a promise only the user can make: the macro asks for the
//! user's own `unsafe` token instead of writing it for them.
use core::alloc::Layout;
use core::ptr::NonNull;

fn my_alloc(_: Layout) -> Option<NonNull<u8>> {
    None
}
fn my_free(_: NonNull<u8>, _: Layout) {}

slab_core::slab_hooks!(my_alloc, my_free);

fn main() {}
