//! `source = T` names a type that is not a memory source: the error is at `T` and says
//! what to implement (or which source to use instead).
use slab_core::slab_cached;

/// Just a type: neither `SlabSource` nor `DefaultSource`.
#[derive(Clone, Copy)]
struct DeviceMemory;

#[slab_cached(source = DeviceMemory)]
struct Frame([u8; 64]);

fn main() {
    let _ = Frame::new_boxed(Frame([0; 64]));
}
