use core::alloc::Layout;
use core::ptr::NonNull;

unsafe fn my_alloc(_layout: Layout) -> Option<NonNull<u8>> {
    None
}

unsafe fn my_free(_ptr: NonNull<u8>, _layout: Layout) {}

slab_core::slab_hooks!(unsafe my_alloc, my_free, my_free);

fn main() {}
