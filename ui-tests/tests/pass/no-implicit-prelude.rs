//! Generated code depends on nothing in the caller's scope.
#![no_implicit_prelude]

extern crate slab_core;
extern crate std;

::slab_core::slab_hooks!(global);

#[::slab_core::slab_cached]
struct Defaults {
    x: u32,
}

#[::slab_core::slab_cached(size = 8192, lock = ::slab_core::TicketLock)]
enum Both {
    A(u64),
}

#[::slab_core::slab_cached(crate = ::slab_core)]
pub struct Public(pub u8);

mod shadowing {
    #![no_implicit_prelude]
    // Names that generated code must not pick up by accident.
    #[allow(dead_code)]
    pub struct Option;
    #[allow(dead_code)]
    pub struct Result;
    #[allow(dead_code, non_camel_case_types)]
    pub struct core;
    #[allow(dead_code, non_camel_case_types)]
    pub struct slab_core;

    #[::slab_core::slab_cached]
    pub struct Shadowed(pub u16);
}

fn main() {
    let a = Defaults::new_boxed(Defaults { x: 1 });
    let b = Both::new_boxed(Both::A(2));
    let c = Public::new_boxed(Public(3));
    let d = shadowing::Shadowed::new_boxed(shadowing::Shadowed(4));
    let Both::A(two) = *b;
    ::std::assert_eq!(a.x as u64 + two + c.0 as u64 + d.0 as u64, 10);
    ::std::assert!(Defaults::try_new_boxed(Defaults { x: 5 }).is_ok());
}
