//! Every generated constructor, and the box type names.
use slab_core::{AllocError, Boxed, SlabBox, SlabError, UninitBoxed, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached(size = 65536)]
struct Frame {
    bytes: [u8; 4096],
    len: usize,
}

fn main() {
    let a: Boxed<Frame> = Frame::new_boxed(Frame { bytes: [1; 4096], len: 1 });
    let b: Result<Boxed<Frame>, AllocError<Frame>> =
        Frame::try_new_boxed(Frame { bytes: [2; 4096], len: 2 });
    let b = b.unwrap_or_else(|e| panic!("{e}"));

    // In place, without a 4 KiB value on the stack.
    let mut c: UninitBoxed<Frame> = Frame::new_uninit_boxed();
    let p = SlabBox::as_mut_ptr(&mut c).cast::<Frame>();
    let _ = p;
    let c: Boxed<Frame> = SlabBox::write(c, Frame { bytes: [3; 4096], len: 3 });

    let d: Result<UninitBoxed<Frame>, SlabError> = Frame::try_new_uninit_boxed();
    let d: UninitBoxed<Frame> = d.unwrap();

    assert_eq!(a.len + b.len + c.len, 6);
    assert_eq!(usize::from(a.bytes[0] + b.bytes[1] + c.bytes[4095]), 6);
    assert_eq!(Frame::slab_cache().stats().in_use, 4);
    drop((a, b, c, d));
    assert_eq!(Frame::slab_cache().stats().in_use, 0);
    let _ = Frame::slab_cache().shrink();
    Frame::slab_cache().reserve(10).unwrap();
    assert!(Frame::slab_cache().stats().capacity >= 10);
}
