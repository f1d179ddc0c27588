//! Many annotated types in one crate, each with its own cache.
use slab_core::slab_cached;

slab_core::slab_hooks!(global);

#[slab_cached]
struct A(u8);
#[slab_cached]
struct B(u16);
#[slab_cached]
struct C(u32);
#[slab_cached]
struct D(u64);
#[slab_cached]
struct E([u64; 4]);
#[slab_cached]
#[allow(non_camel_case_types)]
struct r#match(u32);

mod nested {
    #[slab_core::slab_cached]
    pub struct A(pub i8);
}

fn main() {
    let boxes = (
        A::new_boxed(A(1)),
        B::new_boxed(B(2)),
        C::new_boxed(C(3)),
        D::new_boxed(D(4)),
        E::new_boxed(E([5; 4])),
        r#match::new_boxed(r#match(6)),
        nested::A::new_boxed(nested::A(7)),
    );
    assert_eq!(A::slab_cache().stats().in_use, 1);
    assert_eq!(nested::A::slab_cache().stats().in_use, 1);
    assert_eq!(r#match::slab_cache().stats().in_use, 1);
    let sum = u64::from(boxes.0.0)
        + u64::from(boxes.1.0)
        + u64::from(boxes.2.0)
        + boxes.3.0
        + boxes.4.0[3]
        + u64::from(boxes.5.0);
    assert_eq!(sum, 21);
    assert_eq!(boxes.6.0, 7);
}
