use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached]
union Bits {
    int: u64,
    float: f64,
}

fn main() {
    let _ = Bits::new_boxed(Bits { int: 1 });
}
