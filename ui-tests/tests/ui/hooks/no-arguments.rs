slab_core::slab_hooks!();

fn main() {}
