//! Large values are built in place: a 64 KiB value is constructed in a thread whose
//! whole stack is smaller than the value.

mod common;

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
            // Each field is written through a raw place, so no reference to uninitialised
            // memory exists.
            // SAFETY: `p` points to a slot valid for one `Frame` (in bounds and aligned), so
            // the projection to a field stays in bounds; no reference is created.
            let id_field = unsafe { &raw mut (*p).id };
            // SAFETY: `p` points to a slot valid for one `Frame`; the field projection stays
            // in bounds and creates no reference.
            let len_field = unsafe { &raw mut (*p).len };
            // SAFETY: `p` points to a slot valid for one `Frame`; the field projection stays
            // in bounds and creates no reference.
            let data_field = unsafe { &raw mut (*p).data };
            // SAFETY: `id_field` is a field of the slot: valid for writes and aligned for `u32`,
            // and nothing else refers to the slot.
            unsafe { id_field.write(7) };
            // SAFETY: `len_field` is a field of the slot: valid for writes and aligned for
            // `usize`, and nothing else refers to the slot.
            unsafe { len_field.write(65536) };
            // SAFETY: `data_field` is 65536 bytes of the slot, valid for writes; `u8` needs no
            // alignment beyond 1.
            unsafe { data_field.cast::<u8>().write_bytes(0x5A, 65536) };
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
