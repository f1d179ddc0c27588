use slab_core::slab_cached;
slab_core::slab_hooks!(global);

#[slab_cached]
struct Name<'a> {
    text: &'a str,
}

fn main() {
    let _ = Name::new_boxed(Name { text: "x" }).text;
}
