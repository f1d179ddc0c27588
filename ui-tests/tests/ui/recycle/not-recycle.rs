//! `recycle` on a type that does not implement `Recycle`: the error is at `recycle` and
//! says what to implement.
use slab_core::slab_cached;

#[slab_cached(recycle, source = slab_core::Global)]
struct Buffer(Vec<u8>);

fn main() {
    let _ = Buffer::take();
}
