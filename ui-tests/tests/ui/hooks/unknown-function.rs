use core::alloc::Layout;
use core::ptr::NonNull;

unsafe fn my_free(_ptr: NonNull<u8>, _layout: Layout) {}

slab_core::slab_hooks!(unsafe my_aloc, my_free);

fn main() {
    let _ = Layout::new::<u8>();
}
