//! The library's own hooks need no promise from the user.
slab_core::slab_hooks!(unsafe global);

fn main() {}
