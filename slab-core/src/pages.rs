//! The slab pages behind `slab_hooks!(global)`: slabs carved from large regions of the
//! global allocator, so size-aligned slabs do not pay the allocator's alignment padding.
//!
//! glibc serves a 4 KiB block aligned to 4 KiB by over-allocating and splitting, which
//! costs about twice the slab in resident memory. Here slabs of up to [`MAX_BATCHED`]
//! bytes come from 1 MiB regions (one allocation each, aligned to the slab size): a region
//! hands out slabs by bump index and keeps freed ones on its own free list, and goes back
//! to the global allocator when its last slab does. Larger slabs are allocated directly
//! (the allocator maps them, and untouched padding is not resident).
//!
//! This module uses only `alloc` and `spin`; `hooks::global` is its only caller.

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

/// Slabs up to this size are carved from regions.
pub(crate) const MAX_BATCHED: usize = 256 * 1024;
/// Bytes per region.
const REGION: usize = 1024 * 1024;

struct Region {
    base: NonNull<u8>,
    slab: usize,
    /// Slabs never handed out start at this index.
    bump: usize,
    /// Freed slabs, linked through their first word.
    free: *mut u8,
    live: usize,
}

impl Region {
    fn contains(&self, p: NonNull<u8>) -> bool {
        let (b, a) = (self.base.addr().get(), p.addr().get());
        a >= b && a < b + REGION
    }
}

/// All regions, sorted by base address.
struct Pages {
    regions: Vec<Region>,
}

// SAFETY: the raw pointers in `Region` name memory owned by the page allocator, touched
// only under the `PAGES` lock.
unsafe impl Send for Pages {}

static PAGES: spin::Mutex<Pages> = spin::Mutex::new(Pages {
    regions: Vec::new(),
});

/// Takes one slab of `layout.size()` bytes aligned to it.
///
/// # Safety
/// `layout.size() == layout.align()`, a power of two no larger than [`MAX_BATCHED`].
pub(crate) unsafe fn alloc(layout: Layout) -> Option<NonNull<u8>> {
    let slab = layout.size();
    let mut pages = PAGES.lock();
    for r in pages.regions.iter_mut().filter(|r| r.slab == slab) {
        if let Some(p) = NonNull::new(r.free) {
            // SAFETY: `p` is a freed slab of this region: its first word is the link.
            r.free = unsafe { p.cast::<*mut u8>().read() };
            r.live += 1;
            return Some(p);
        }
        if r.bump < REGION / slab {
            // SAFETY: `bump * slab < REGION`: inside the region.
            let p = unsafe { r.base.add(r.bump * slab) };
            r.bump += 1;
            r.live += 1;
            return Some(p);
        }
    }
    let region_layout = Layout::from_size_align(REGION, slab).ok()?;
    // SAFETY: `REGION` is non-zero.
    let base = NonNull::new(unsafe { alloc::alloc::alloc(region_layout) })?;
    let at = pages.regions.partition_point(|r| r.base < base);
    pages.regions.insert(
        at,
        Region {
            base,
            slab,
            bump: 1,
            free: core::ptr::null_mut(),
            live: 1,
        },
    );
    Some(base)
}

/// Returns a slab; its region goes back to the global allocator when it was the last one.
///
/// # Safety
/// `ptr` came from [`alloc`] with this `layout` and is not used any more.
pub(crate) unsafe fn free(ptr: NonNull<u8>, layout: Layout) {
    let mut pages = PAGES.lock();
    let at = pages
        .regions
        .partition_point(|r| r.base <= ptr)
        .wrapping_sub(1);
    let r = match pages.regions.get_mut(at) {
        Some(r) if r.contains(ptr) && r.slab == layout.size() => r,
        _ => panic!(
            "slab_core: the global slab hook was asked to free {ptr:p}, which it did not allocate"
        ),
    };
    r.live -= 1;
    if r.live == 0 {
        let base = r.base;
        pages.regions.remove(at);
        let region_layout = Layout::from_size_align(REGION, layout.size())
            .expect("the same layout was valid at allocation");
        // SAFETY: the region was allocated with this layout and none of its slabs is live.
        unsafe { alloc::alloc::dealloc(base.as_ptr(), region_layout) };
    } else {
        // SAFETY: the slab is ours again; its first word becomes the free-list link.
        unsafe { ptr.cast::<*mut u8>().write(r.free) };
        r.free = ptr.as_ptr();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_regions() -> usize {
        PAGES.lock().regions.len()
    }

    #[test]
    fn slabs_are_aligned_distinct_reused_and_regions_go_back_when_empty() {
        // Other unit tests never use these hooks, so the region count is ours to assert.
        let layout = Layout::from_size_align(8192, 8192).unwrap();
        let before = live_regions();
        let n = REGION / 8192 * 3 + 5; // four regions' worth
        // SAFETY: a slab layout no larger than `MAX_BATCHED`.
        let mut slabs: Vec<_> = (0..n).map(|_| unsafe { alloc(layout) }.unwrap()).collect();
        assert!(slabs.iter().all(|p| p.addr().get() % 8192 == 0));
        let mut addrs: Vec<_> = slabs.iter().map(|p| p.addr().get()).collect();
        addrs.sort_unstable();
        addrs.dedup();
        assert_eq!(addrs.len(), n, "no slab handed out twice");
        assert_eq!(live_regions(), before + 4);
        let last = slabs.pop().unwrap();
        // SAFETY: from `alloc` with this layout, not used again.
        unsafe { free(last, layout) };
        // SAFETY: as above.
        let again = unsafe { alloc(layout) }.unwrap();
        assert_eq!(again, last, "a freed slab is reused first");
        slabs.push(again);
        for p in slabs {
            // SAFETY: from `alloc` with this layout, freed once.
            unsafe { free(p, layout) };
        }
        assert_eq!(
            live_regions(),
            before,
            "every region went back with its last slab"
        );
    }

    #[test]
    #[should_panic(expected = "which it did not allocate")]
    fn freeing_a_foreign_block_is_caught() {
        let layout = Layout::from_size_align(4096, 4096).unwrap();
        let mut stack = [0u8; 16];
        // SAFETY: planted bug: the check fires before the block is touched.
        unsafe { free(NonNull::new(stack.as_mut_ptr()).unwrap(), layout) };
    }
}
