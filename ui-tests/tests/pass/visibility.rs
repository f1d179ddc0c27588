//! The constructors take the visibility of the type.
mod outer {
    use slab_core::slab_cached;

    #[slab_cached]
    pub struct Public(pub u32);

    #[slab_cached]
    pub(crate) struct Crate(pub u32);

    pub mod inner {
        use slab_core::slab_cached;

        #[slab_cached]
        pub(super) struct Super(pub u32);

        #[slab_cached]
        pub(in crate::outer) struct InPath(pub u32);
    }

    #[slab_cached]
    struct Private(u32);

    pub fn private_and_restricted() -> u32 {
        Private::new_boxed(Private(1)).0
            + inner::Super::new_boxed(inner::Super(2)).0
            + inner::InPath::new_boxed(inner::InPath(3)).0
    }
}

slab_core::slab_hooks!(global);

fn main() {
    let a = outer::Public::new_boxed(outer::Public(10));
    let b = outer::Crate::new_boxed(outer::Crate(20));
    assert_eq!(a.0 + b.0 + outer::private_and_restricted(), 36);
}
