use core::alloc::Layout;
use core::ptr::NonNull;

unsafe fn my_alloc(_layout: Layout) -> Option<NonNull<u8>> {
    None
}

slab_core::slab_hooks!(unsafe my_alloc);

fn main() {
    let _ = NonNull::<u8>::dangling();
}
