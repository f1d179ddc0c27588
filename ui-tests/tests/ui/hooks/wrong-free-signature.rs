use core::alloc::Layout;
use core::ptr::NonNull;

unsafe fn my_alloc(_layout: Layout) -> Option<NonNull<u8>> {
    None
}

unsafe fn my_free(_ptr: *mut u8) {}

slab_core::slab_hooks!(unsafe my_alloc, my_free);

fn main() {}
