use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached]
fn make() -> u32 {
    1
}

fn main() {
    let _ = make();
}
