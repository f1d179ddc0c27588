//! `#[slab_cached]` in a `#![no_std]` crate (std linked only for `main` and the heap).
#![no_std]

extern crate std;

use slab_core::{Boxed, slab_cached};

slab_core::slab_hooks!(global);

mod driver {
    use slab_core::{TicketLock, slab_cached};

    #[slab_cached(lock = TicketLock)]
    pub struct Frame {
        pub bytes: [u8; 256],
    }
}

#[slab_cached]
struct Descriptor {
    addr: usize,
    len: u32,
}

fn main() {
    let d: Boxed<Descriptor> = Descriptor::new_boxed(Descriptor { addr: 0x1000, len: 64 });
    let f = driver::Frame::new_boxed(driver::Frame { bytes: [9; 256] });
    assert_eq!(d.addr + d.len as usize + usize::from(f.bytes[0]), 0x1000 + 64 + 9);
}
