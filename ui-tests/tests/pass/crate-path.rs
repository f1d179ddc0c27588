//! `crate = path` for a renamed dependency, in every spelling.
#![allow(unused_extern_crates)]

extern crate slab_core as slab;

mod vendored {
    pub use ::slab_core as slab_runtime;
}

slab::slab_hooks!(global, crate = slab);

#[slab::slab_cached(crate = slab)]
struct Bare(u32);

#[slab::slab_cached(crate = "slab", size = 4096)]
struct Quoted(u32);

#[slab::slab_cached(lock = slab::TicketLock, crate = ::slab_core)]
struct Absolute(u32);

#[slab::slab_cached(crate = vendored::slab_runtime)]
struct Nested(u32);

#[slab::slab_cached(crate = self::vendored::slab_runtime)]
struct SelfPath(u32);

fn main() {
    let sum = Bare::new_boxed(Bare(1)).0
        + Quoted::new_boxed(Quoted(2)).0
        + Absolute::new_boxed(Absolute(3)).0
        + Nested::new_boxed(Nested(4)).0
        + SelfPath::new_boxed(SelfPath(5)).0;
    assert_eq!(sum, 15);
}
