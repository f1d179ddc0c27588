//! `#[slab_cached]` generates no unsafe code: it compiles where unsafe code is forbidden.
//! `slab_hooks!` exports symbols, which is unsafe, so it sits outside the forbidding module
//! (a crate-wide `#![forbid(unsafe_code)]` cannot be lifted; such a crate calls
//! `slab_hooks!` from another crate of the program).
#![deny(unsafe_code)]

mod model {
    #![forbid(unsafe_code)]

    use slab_core::{SpinLock, slab_cached};

    #[slab_cached]
    pub struct Particle {
        pub pos: [f32; 3],
    }

    #[slab_cached(size = 8192, lock = SpinLock)]
    pub enum Event {
        Spawn(u32),
    }
}

slab_core::slab_hooks!(global);

fn main() {
    let p = model::Particle::new_boxed(model::Particle { pos: [1.0; 3] });
    let e = model::Event::new_boxed(model::Event::Spawn(2));
    let model::Event::Spawn(n) = *e;
    assert_eq!(p.pos[0] as u32 + n, 3);
}
