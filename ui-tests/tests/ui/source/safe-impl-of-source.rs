//! `SlabSource` is an `unsafe trait`: its promise (unique blocks of the layout asked for,
//! each taken back once) is the implementer's, so safe code cannot implement it.
use core::alloc::Layout;
use core::ptr::NonNull;

use slab_core::SlabSource;

struct Arena;

impl SlabSource for Arena {
    unsafe fn alloc(&self, _layout: Layout) -> Option<NonNull<u8>> {
        None
    }
    unsafe fn free(&self, _block: NonNull<u8>, _layout: Layout) {}
}

fn main() {}
