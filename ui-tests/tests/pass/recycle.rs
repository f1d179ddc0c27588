//! `#[slab_cached(recycle)]`: objects that stay constructed, through thread magazines.
use slab_core::{Global, Recycle, Recycled, slab_cached};

#[slab_cached(recycle, source = Global)]
pub struct Buffer(Vec<u8>);

impl Recycle for Buffer {
    fn fresh() -> Self {
        Buffer(Vec::with_capacity(256))
    }
    fn reset(&mut self) {
        self.0.clear();
    }
}

fn main() {
    let mut b: Recycled<Buffer> = Buffer::take();
    b.0.extend_from_slice(&[1; 256]);
    drop(b);
    let b = Buffer::try_take().unwrap();
    assert!(b.0.is_empty() && b.0.capacity() >= 256);
    assert_eq!(Buffer::object_cache().stats().in_use, 1);
}
