//! Large values are built in place: a 64 KiB value is constructed in a thread whose
//! whole stack is smaller than the value.

mod common;

use std::ptr::addr_of_mut;

use slab_core::{SlabBox, SlabCache, SpinLock};

/// A 64 KiB frame buffer with a header.
struct Frame {
    id: u32,
    len: usize,
    data: [u8; 65536],
}

static FRAMES: SlabCache<Frame, SpinLock, { 1 << 18 }> = SlabCache::new();

#[test]
fn a_64k_value_is_built_in_a_thread_with_a_32k_stack() {
    let t = common::Tracker::new();
    let id = t.id();
    let b = std::thread::Builder::new()
        .stack_size(32 * 1024)
        .spawn(move || {
            id.enter();
            let mut uninit = FRAMES.alloc_uninit();
            let p = SlabBox::as_mut_ptr(&mut uninit).cast::<Frame>();
            // SAFETY: `p` points to a slot valid for writes of one `Frame`; each field is
            // written through a raw place, so no reference to uninitialised memory exists.
            unsafe {
                addr_of_mut!((*p).id).write(7);
                addr_of_mut!((*p).len).write(65536);
                addr_of_mut!((*p).data)
                    .cast::<u8>()
                    .write_bytes(0x5A, 65536);
            }
            // SAFETY: every field was written above.
            unsafe { uninit.assume_init() }
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!((b.id, b.len), (7, 65536));
    assert!(b.data.iter().all(|&x| x == 0x5A));
    assert!(size_of::<Frame>() > 32 * 1024);
    drop(b);
    assert_eq!(FRAMES.stats().in_use, 0);
}
