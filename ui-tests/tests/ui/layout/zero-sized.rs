use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached]
struct Marker;

fn main() {}
