//! The planted-bug suite (after GrapheneOS hardened_malloc's test suite): each test plants
//! one bug through the public `unsafe` API and asserts the exact panic of the hardening
//! checks. Debug builds (or the `debug-checks` feature) only; the always-on checks of
//! `from_raw` are at the top and run in every build.

mod common;

use slab_core::{SlabBox, SlabCache};

// ---- always on ----

#[test]
#[should_panic(expected = "`from_raw` of a `u64` got a null pointer")]
fn from_raw_rejects_null() {
    // SAFETY: planted bug: null is not from `into_raw`.
    let _ = unsafe { SlabBox::<u64>::from_raw(std::ptr::null_mut()) };
}

#[test]
#[should_panic(expected = "which is not aligned to 8: not a pointer from `into_raw`")]
fn from_raw_rejects_a_misaligned_pointer() {
    let cache: SlabCache<u64> = SlabCache::new();
    let raw = SlabBox::into_raw(cache.alloc(1));
    common::leak_on_purpose(raw); // the panic leaves the slot in use
    // SAFETY: planted bug: a pointer one byte into the slot.
    let _ = unsafe { SlabBox::<u64>::from_raw(raw.cast::<u8>().wrapping_add(1).cast()) };
}

#[test]
#[should_panic(expected = "which is not the start of a slot (an interior pointer")]
fn from_raw_rejects_an_interior_pointer() {
    let cache: SlabCache<[u64; 4]> = SlabCache::new();
    let raw = SlabBox::into_raw(cache.alloc([1; 4]));
    common::leak_on_purpose(raw); // the panic leaves the slot in use
    // SAFETY: planted bug: a pointer to the second element, aligned but inside the slot.
    let _ = unsafe { SlabBox::<[u64; 4]>::from_raw(raw.cast::<u64>().wrapping_add(1).cast()) };
}

#[allow(dead_code, reason = "only the layout matters")]
struct Stacked([u64; 2]);
slab_core::__private::slab_cached_impl!(Stacked, slab_core::SpinLock, 4096);

#[test]
#[should_panic(expected = "which does not belong to the cache of `hardening::Stacked`")]
fn a_stack_pointer_is_rejected_before_anything_is_read_in_every_build() {
    let _live = slab_core::__private::new_boxed(Stacked([1; 2]));
    let mut on_stack = Stacked([0; 2]);
    // SAFETY: planted bug: a pointer to a local, not from `into_raw`.
    let _ =
        unsafe { SlabBox::<Stacked, slab_core::TypePool<Stacked>>::from_raw(&raw mut on_stack) };
}

// ---- hardening checks ----

#[cfg(any(debug_assertions, feature = "debug-checks"))]
mod checked {
    use super::*;
    use slab_core::{Boxed, SpinLock};

    /// A `#[slab_cached]`-style type (through the macro's runtime half).
    macro_rules! cached {
        ($name:ident, $inner:ty) => {
            #[allow(dead_code, reason = "only the layout matters")]
            struct $name($inner);
            slab_core::__private::slab_cached_impl!($name, SpinLock, 4096);
        };
    }

    #[test]
    #[should_panic(expected = "double free of a `u64`")]
    fn from_raw_twice_is_a_double_free() {
        let cache: SlabCache<u64> = SlabCache::new();
        let raw = SlabBox::into_raw(cache.alloc(7));
        // SAFETY: the first `from_raw` is legitimate.
        drop(unsafe { SlabBox::<u64>::from_raw(raw) });
        // SAFETY: planted bug: the second one is a double free.
        let _ = unsafe { SlabBox::<u64>::from_raw(raw) };
    }

    cached!(Left, [u64; 4]);
    cached!(Right, [u64; 4]);

    #[test]
    #[should_panic(expected = "does not belong to the cache of `hardening::checked::Right`")]
    fn a_pointer_of_another_types_cache_is_rejected() {
        let left: Boxed<Left> = slab_core::__private::new_boxed(Left([1; 4]));
        let _right = slab_core::__private::new_boxed(Right([2; 4])); // Right's cache exists
        let raw = SlabBox::into_raw(left).cast::<Right>();
        // SAFETY: planted bug: a `Left` slot claimed as a `Right` box.
        let _ = unsafe { SlabBox::<Right, slab_core::TypePool<Right>>::from_raw(raw) };
    }

    cached!(Owned, [u64; 8]);

    #[test]
    #[should_panic(expected = "does not belong to the cache of `hardening::checked::Owned`")]
    fn foreign_memory_is_rejected_before_anything_is_read() {
        let _b = slab_core::__private::new_boxed(Owned([0; 8]));
        let foreign = Box::into_raw(Box::new(Owned([0; 8])));
        common::leak_on_purpose(foreign); // the panic comes before it could be freed
        // SAFETY: planted bug: a pointer from another allocator.
        let _ = unsafe { SlabBox::<Owned, slab_core::TypePool<Owned>>::from_raw(foreign) };
    }

    #[test]
    #[should_panic(expected = "is corrupted (its magic is gone)")]
    fn a_slab_whose_header_magic_is_gone_is_reported_on_free() {
        // Never dropped: while the panic unwinds, dropping the handle would give this
        // thread's magazine of the cache back to the corrupted slab, a second panic.
        let cache = std::mem::ManuallyDrop::new(SlabCache::<[u8; 32], SpinLock, 4096>::new());
        let b = cache.alloc([0; 32]);
        let header = slab_core::__private::header_address::<_, SpinLock, 4096>(SlabBox::as_ptr(&b));
        common::leak_on_purpose(header); // a slab with a broken header is never released
        // SAFETY: planted bug: overwrite the slab header's first word (the magic).
        unsafe { header.cast::<usize>().write(0) };
        drop(b);
    }

    #[test]
    #[should_panic(expected = "the free list of `[u64; 2]` is corrupted")]
    fn a_write_after_free_into_the_link_corrupts_the_slab_free_list_and_is_caught() {
        let cache: SlabCache<[u64; 2]> = SlabCache::new();
        let keep = cache.alloc([1; 2]);
        let raw = SlabBox::into_raw(cache.alloc([2; 2]));
        // SAFETY: legitimate free.
        drop(unsafe { SlabBox::<[u64; 2]>::from_raw(raw) });
        // The freed slot went into this thread's magazine: send it to its slab's free list.
        slab_core::flush_thread_caches();
        cache.shrink();
        // SAFETY: planted bug: write through a dangling pointer into the free slot's link.
        unsafe { raw.cast::<usize>().write(0x1234_5678) };
        let _again = cache.alloc([3; 2]);
        drop(keep);
    }

    cached!(Chained, [u64; 2]);

    #[test]
    #[should_panic(expected = "the free list of `hardening::checked::Chained` is corrupted")]
    fn a_write_after_free_into_a_magazine_link_is_caught() {
        let a = slab_core::__private::new_boxed(Chained([1; 2]));
        let b = slab_core::__private::new_boxed(Chained([2; 2]));
        let raw = SlabBox::into_raw(b);
        drop(a);
        // SAFETY: legitimate free: `b` goes on top of the magazine, linking to `a`.
        drop(unsafe { SlabBox::<Chained, slab_core::TypePool<Chained>>::from_raw(raw) });
        // SAFETY: planted bug: scribble over the freed slot's link.
        unsafe { raw.cast::<usize>().write(0x0bad_f00d) };
        let _x = slab_core::__private::new_boxed(Chained([3; 2]));
    }

    #[test]
    #[should_panic(expected = "a write past the end of the `[u8; 24]`")]
    fn a_write_past_the_end_into_the_red_zone_is_caught_on_free() {
        let cache: SlabCache<[u8; 24]> = SlabCache::new();
        let mut b = cache.alloc([0; 24]);
        let p = SlabBox::as_mut_ptr(&mut b).cast::<u8>();
        common::leak_on_purpose(p); // the panic on free leaves the slot in use
        // SAFETY: offset 24 is the canary word after the 24-byte object, inside the 32-byte
        // slot and so inside the slab's allocation.
        let past_end = unsafe { p.add(24) };
        // SAFETY: planted bug: one byte past the end of the object (inside the slot's red
        // zone, so inside the live slab: the overflow the check is for, not UB).
        unsafe { past_end.write(0xff) };
        drop(b);
    }

    #[test]
    #[should_panic(expected = "was written after it was freed (byte 12 changed)")]
    fn a_write_after_free_into_the_object_is_caught_when_the_slot_is_reused() {
        let cache: SlabCache<[u32; 8]> = SlabCache::new();
        let raw = SlabBox::into_raw(cache.alloc([0; 8]));
        common::leak_on_purpose(raw); // the panic on reuse leaves the slot in use
        // SAFETY: legitimate free.
        drop(unsafe { SlabBox::<[u32; 8]>::from_raw(raw) });
        // SAFETY: element 3 of a `[u32; 8]` slot: in bounds of the slot, inside the slab.
        let fourth = unsafe { raw.cast::<u32>().add(3) };
        // SAFETY: planted bug: write the fourth element of a freed value (the slab stays
        // allocated while `cache` lives, so the write is in bounds and aligned).
        unsafe { fourth.write(9) };
        let _reused = cache.alloc([1; 8]);
    }

    #[test]
    fn the_scanner_reports_a_corrupted_free_list_without_panicking() {
        let cache: SlabCache<[u64; 2]> = SlabCache::new();
        let v: Vec<_> = (0..10).map(|i| cache.alloc([i; 2])).collect();
        let r = cache.scan().unwrap();
        assert_eq!(r.in_use_slots - r.parked - r.held, 10);
        let raw = SlabBox::into_raw(cache.alloc([0; 2]));
        // SAFETY: legitimate free.
        drop(unsafe { SlabBox::<[u64; 2]>::from_raw(raw) });
        // The scanner walks the slabs and the depot: park this thread's magazines there.
        slab_core::flush_thread_caches();
        // SAFETY: element 1 of a `[u64; 2]` slot: in bounds of the slot, inside the slab.
        let second = unsafe { raw.cast::<u64>().add(1) };
        // SAFETY: planted bug: write after free into the object bytes past the link (the
        // slab stays allocated while `cache` and `v` live, so the write is in bounds).
        unsafe { second.write(1) };
        let err = cache.scan().unwrap_err();
        assert_eq!(err.problem, "a free slot was written after it was freed");
        assert_eq!(err.addr, raw.addr());
        assert!(
            err.to_string().starts_with("slab cache of `[u64; 2]`: "),
            "{err}"
        );
        drop(v);
    }

    #[test]
    fn freed_slots_are_poisoned() {
        let cache: SlabCache<[u8; 64]> = SlabCache::new();
        let raw = SlabBox::into_raw(cache.alloc([7; 64]));
        // SAFETY: legitimate free.
        drop(unsafe { SlabBox::<[u8; 64]>::from_raw(raw) });
        // SAFETY: offset 8 of a 64-byte slot: in bounds of the slot, inside the slab.
        let past_link = unsafe { raw.cast::<u8>().add(8) };
        // SAFETY: reading a freed slot inside a live slab (test of the poisoning itself):
        // bytes 8..64 of the slot are initialised (poisoned) and nothing writes them while
        // `bytes` lives.
        let bytes = unsafe { std::slice::from_raw_parts(past_link, 56) };
        assert!(bytes.iter().all(|&b| b == 0xde));
    }
}
