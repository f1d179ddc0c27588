use std::rc::Rc;

use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached]
struct Node {
    parent: Rc<u32>,
}

fn main() {}
