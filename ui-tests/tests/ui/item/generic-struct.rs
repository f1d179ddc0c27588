use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached]
struct Wrapper<T> {
    value: T,
}

fn main() {
    // No "no function named `new_boxed`" error here: only the attribute is reported.
    let w = Wrapper::<u32>::new_boxed(Wrapper { value: 1 });
    let _ = w.value;
}
