use core::alloc::Layout;
use core::ptr::NonNull;

fn my_alloc(size: usize) -> *mut u8 {
    let _ = size;
    core::ptr::null_mut()
}

unsafe fn my_free(_ptr: NonNull<u8>, _layout: Layout) {}

slab_core::slab_hooks!(unsafe my_alloc, my_free);

fn main() {}
