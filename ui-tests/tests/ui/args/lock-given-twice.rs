use slab_core::{SpinLock, slab_cached};
slab_core::slab_hooks!(global);

#[slab_cached(lock = SpinLock, lock = slab_core::TicketLock)]
struct Packet {
    data: [u8; 64],
}

fn main() {}
