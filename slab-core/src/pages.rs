//! The slab pages behind `slab_hooks!(global)`: slabs carved from large regions of the
//! global allocator, so size-aligned slabs do not pay the allocator's alignment padding.
//!
//! glibc serves a 4 KiB block aligned to 4 KiB by over-allocating and splitting, which
//! costs about twice the slab in resident memory. Here slabs of up to [`MAX_BATCHED`]
//! bytes come from 1 MiB regions (one allocation each, aligned to the slab size): a region
//! hands out slabs by bump index and keeps freed ones on its own free list. A region whose
//! last slab comes back is kept for reuse while the empty regions stay within the retain
//! budget ([`set_retain`], 256 MiB by default), so a burst that frees and reallocates does
//! not pay for unmapping, remapping and page-faulting the same memory each time (as
//! allocator caches keep memory too); beyond the budget, and on [`trim`], empty regions go
//! back to the global allocator. Larger slabs are allocated directly (the allocator maps
//! them, and untouched padding is not resident).
//!
//! This module uses only `alloc` and `spin`; `hooks::global` is its only caller.

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Slabs up to this size are carved from regions.
pub(crate) const MAX_BATCHED: usize = 256 * 1024;
/// Bytes per region.
pub(crate) const REGION: usize = 1024 * 1024;
/// Default retain budget: bytes of empty regions kept for reuse.
pub(crate) const DEFAULT_RETAIN: usize = 256 * REGION;

/// The retain budget in bytes (see [`set_retain`]).
static RETAIN: AtomicUsize = AtomicUsize::new(DEFAULT_RETAIN);

/// Sets the retain budget: how many bytes of empty regions are kept for reuse. Takes
/// effect as regions empty; [`trim`] releases what is kept now.
pub(crate) fn set_retain(bytes: usize) {
    RETAIN.store(bytes, Ordering::Relaxed);
}

/// Returns every empty region to the global allocator; returns the bytes released.
pub(crate) fn trim() -> usize {
    let mut pages = PAGES.lock();
    let mut released = 0;
    for r in pages.regions.extract_if(.., |r| r.live == 0) {
        // SAFETY: none of its slabs is handed out (`live == 0`), and it is off the list
        // (I16).
        unsafe { r.release() };
        released += REGION;
    }
    pages.empty = 0;
    released
}

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
    /// The layout of a region of `slab`-byte slabs (aligned to the slab size).
    fn layout(slab: usize) -> Option<Layout> {
        Layout::from_size_align(REGION, slab).ok()
    }

    /// Returns the region to the global allocator.
    ///
    /// # Safety
    /// None of its slabs is live, and nothing refers to the region any more.
    unsafe fn release(self) {
        let layout = Self::layout(self.slab).expect("the same layout was valid at allocation");
        // SAFETY: the region was allocated with this layout (`alloc`) and is unused
        // (contract, I16).
        unsafe { alloc::alloc::dealloc(self.base.as_ptr(), layout) };
    }

    fn contains(&self, p: NonNull<u8>) -> bool {
        let (b, a) = (self.base.addr().get(), p.addr().get());
        a >= b && a < b + REGION
    }
}

/// All regions, sorted by base address.
struct Pages {
    regions: Vec<Region>,
    /// Index of the region the last slab came from (a starting point for the next search;
    /// indices shift as regions come and go, so it is only a hint).
    hint: usize,
    /// Regions with no live slab, kept for reuse.
    empty: usize,
}

// SAFETY: the raw pointers in `Region` name memory owned by the page allocator, touched
// only under the `PAGES` lock (I16).
unsafe impl Send for Pages {}

static PAGES: spin::Mutex<Pages> = spin::Mutex::new(Pages {
    regions: Vec::new(),
    hint: 0,
    empty: 0,
});

/// Takes one slab of `layout.size()` bytes aligned to it.
///
/// # Safety
/// `layout.size() == layout.align()`, a power of two no larger than [`MAX_BATCHED`].
pub(crate) unsafe fn alloc(layout: Layout) -> Option<NonNull<u8>> {
    let slab = layout.size();
    let mut guard = PAGES.lock();
    let pages = &mut *guard;
    // Start where the last slab came from: in steady state that region still has room, so
    // a burst of slab allocations does not rescan every full region each time.
    let n = pages.regions.len();
    let start = if pages.hint < n { pages.hint } else { 0 };
    for k in 0..n {
        let i = (start + k) % n;
        let r = &mut pages.regions[i];
        if r.slab != slab {
            continue;
        }
        let revived = r.live == 0;
        let p = if let Some(p) = NonNull::new(r.free) {
            // SAFETY: `p` heads this region's free list, so it is a freed slab whose first
            // word is the link (I16), read under the `PAGES` lock we hold.
            r.free = unsafe { p.cast::<*mut u8>().read() };
            p
        } else if r.bump < REGION / slab {
            // SAFETY: `bump * slab < REGION`: inside the region's one allocation (I16).
            let p = unsafe { r.base.add(r.bump * slab) };
            r.bump += 1;
            p
        } else {
            continue;
        };
        r.live += 1;
        if revived {
            pages.empty -= 1;
        }
        pages.hint = i;
        return Some(p);
    }
    let region_layout = Region::layout(slab)?;
    // SAFETY: `REGION` is non-zero, the only precondition; the region joins the list, which
    // owns it from now on (I16).
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
    pages.hint = at;
    Some(base)
}

/// Returns a slab; its region goes back to the global allocator when it was the last one.
///
/// # Safety
/// `ptr` came from [`alloc`] with this `layout` and is not used any more.
pub(crate) unsafe fn free(ptr: NonNull<u8>, layout: Layout) {
    let mut guard = PAGES.lock();
    let pages = &mut *guard;
    let at = pages
        .regions
        .partition_point(|r| r.base <= ptr)
        .wrapping_sub(1);
    let retain = (pages.empty + 1) * REGION <= RETAIN.load(Ordering::Relaxed);
    let r = match pages.regions.get_mut(at) {
        Some(r) if r.contains(ptr) && r.slab == layout.size() => r,
        _ => panic!(
            "slab_core: the global slab hook was asked to free {ptr:p}, which it did not allocate"
        ),
    };
    r.live -= 1;
    if r.live > 0 {
        // SAFETY: the slab is ours again (contract, I6) and inside this region; its first word
        // becomes the free-list link (I16), written under the `PAGES` lock we hold.
        unsafe { ptr.cast::<*mut u8>().write(r.free) };
        r.free = ptr.as_ptr();
    } else if retain {
        // Keep the region for reuse: all its slabs are free, handed out from the start.
        r.bump = 0;
        r.free = core::ptr::null_mut();
        pages.empty += 1;
    } else {
        // SAFETY: its last slab just came back, and it is off the list now (I16).
        unsafe { pages.regions.remove(at).release() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests count regions, and `trim` releases everyone's empty ones: one at a time.
    static SERIAL: spin::Mutex<()> = spin::Mutex::new(());

    fn live_regions() -> usize {
        PAGES.lock().regions.len()
    }

    #[test]
    fn slabs_are_aligned_distinct_reused_and_empty_regions_are_kept_for_reuse() {
        let _serial = SERIAL.lock();
        // Other unit tests never use these hooks, so the region count is ours to assert.
        let layout = Layout::from_size_align(8192, 8192).unwrap();
        let before = live_regions();
        let n = REGION / 8192 * 3 + 5; // four regions' worth
        // SAFETY: a slab layout no larger than `MAX_BATCHED` (I16).
        let mut slabs: Vec<_> = (0..n).map(|_| unsafe { alloc(layout) }.unwrap()).collect();
        assert!(slabs.iter().all(|p| p.addr().get() % 8192 == 0));
        let mut addrs: Vec<_> = slabs.iter().map(|p| p.addr().get()).collect();
        addrs.sort_unstable();
        addrs.dedup();
        assert_eq!(addrs.len(), n, "no slab handed out twice");
        assert_eq!(live_regions(), before + 4);
        let last = slabs.pop().unwrap();
        // SAFETY: from `alloc` with this layout, not used again (I6).
        unsafe { free(last, layout) };
        // SAFETY: `layout` is a slab layout no larger than `MAX_BATCHED` (I16).
        let again = unsafe { alloc(layout) }.unwrap();
        assert_eq!(again, last, "a freed slab is reused first");
        slabs.push(again);
        for p in slabs {
            // SAFETY: from `alloc` with this layout, freed once (I6).
            unsafe { free(p, layout) };
        }
        assert_eq!(
            live_regions(),
            before + 4,
            "empty regions are kept for reuse"
        );
        assert!(PAGES.lock().empty * REGION <= DEFAULT_RETAIN);
        // SAFETY: a slab layout no larger than `MAX_BATCHED` (I16).
        let again: Vec<_> = (0..n).map(|_| unsafe { alloc(layout) }.unwrap()).collect();
        assert_eq!(
            live_regions(),
            before + 4,
            "the kept regions were reused, no new one"
        );
        for p in again {
            // SAFETY: from `alloc` with this layout, freed once (I6).
            unsafe { free(p, layout) };
        }
    }

    #[test]
    fn empty_regions_are_kept_within_the_budget_and_trim_releases_them() {
        let _serial = SERIAL.lock();
        // 64 KiB slabs: no other test uses this size, so these regions are ours.
        let layout = Layout::from_size_align(65536, 65536).unwrap();
        let count = |pages: &Pages| pages.regions.iter().filter(|r| r.slab == 65536).count();
        let n = REGION / 65536 * 2; // two regions' worth
        // SAFETY: a slab layout no larger than `MAX_BATCHED` (I16).
        let slabs: Vec<_> = (0..n).map(|_| unsafe { alloc(layout) }.unwrap()).collect();
        assert_eq!(count(&PAGES.lock()), 2);
        for p in slabs {
            // SAFETY: from `alloc` with this layout, freed once (I6).
            unsafe { free(p, layout) };
        }
        assert_eq!(count(&PAGES.lock()), 2, "kept within the default budget");
        assert!(trim() >= 2 * REGION);
        assert_eq!(count(&PAGES.lock()), 0, "trim released them");
    }

    #[test]
    #[should_panic(expected = "which it did not allocate")]
    fn freeing_a_foreign_block_is_caught() {
        let layout = Layout::from_size_align(4096, 4096).unwrap();
        let mut stack = [0u8; 16];
        // SAFETY: a planted bug (not from `alloc`, against I6): the check fires before the
        // block is touched.
        unsafe { free(NonNull::new(stack.as_mut_ptr()).unwrap(), layout) };
    }
}
