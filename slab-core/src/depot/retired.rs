//! Retired slabs: taken out of the depot under the lock, given back to the cache's source
//! after it (I13), so a source never runs under a cache lock and a slow one holds up no
//! thread.

use core::ptr::{self, NonNull};

use super::Depot;
use crate::geometry::Class;
use crate::hardening;
use crate::slab::{self, SlabHeader};
use crate::source::{SlabSource, free_slab};

/// Slabs retired under the lock, linked through `state.next`, to be given back to the free
/// hook by [`free`](Self::free) once the lock is released.
///
/// Every slab on the list is off every depot list, counted out of the depot, its magic
/// cleared, and reachable only through this list (I13).
pub(crate) struct Retired {
    head: *mut SlabHeader,
    len: usize,
}

impl Retired {
    /// An empty list.
    #[inline]
    pub(crate) const fn new() -> Retired {
        Retired {
            head: ptr::null_mut(),
            len: 0,
        }
    }

    /// Slabs on the list.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Puts a just-retired slab on the list.
    ///
    /// # Safety
    /// `h` was just retired (I13): still mapped, off every list, reachable only by the
    /// caller.
    pub(crate) unsafe fn push(&mut self, h: NonNull<SlabHeader>) {
        // SAFETY: off every list and reachable only from here (contract, I13), so its
        // `next` is free to link the retired slabs; its state is ours (I12).
        unsafe { (*h.as_ptr()).state.next = self.head };
        self.head = h.as_ptr();
        self.len += 1;
    }

    /// Gives every slab on the list back to `source`.
    ///
    /// A free hook that panics does not strand the rest: they still go back while the
    /// panic unwinds (a second panic in the hook then aborts, as in `Vec`'s drop). The
    /// slab whose hook call panicked counts as given back: the hook had it (I6).
    ///
    /// # Safety
    /// The lock of the depot the slabs came from is released, `class` is their geometry,
    /// and `source` the source they came from (or a copy of it, I19).
    #[inline]
    pub(crate) unsafe fn free<S: SlabSource>(self, class: &Class, source: &S) {
        /// The rest of the list; its `Drop` frees whatever a panic left on it.
        struct Rest<'c, S: SlabSource> {
            head: *mut SlabHeader,
            class: &'c Class,
            source: &'c S,
        }
        impl<S: SlabSource> Rest<'_, S> {
            fn free_all(&mut self) {
                while let Some(h) = NonNull::new(self.head) {
                    // SAFETY: `h` was retired (I13): still mapped, off every list and
                    // reachable only through this chain, which we own. The read is a copy,
                    // taken before the slab goes back.
                    self.head = unsafe { (*h.as_ptr()).state.next };
                    // SAFETY: `h` heads a retired slab from the hook with `class.layout()`;
                    // it is off the chain now and nothing references it any more (I6,
                    // I13); the lock is released (`free`'s contract).
                    unsafe { free_block(h, self.class, self.source) };
                }
            }
        }
        impl<S: SlabSource> Drop for Rest<'_, S> {
            fn drop(&mut self) {
                self.free_all(); // empty unless a free hook panicked
            }
        }
        if self.head.is_null() {
            return;
        }
        let mut rest = Rest {
            head: self.head,
            class,
            source,
        };
        rest.free_all();
    }
}

/// Returns a retired slab to its source.
///
/// # Safety
/// `h` was retired (or is a master being destroyed) and nothing references it (I13);
/// `source` is the source its block came from (or a copy of it, I19).
pub(crate) unsafe fn free_block<S: SlabSource>(h: NonNull<SlabHeader>, class: &Class, source: &S) {
    /// Gives the block back, even if dropping a kept value panicked (I6).
    struct GiveBack<'a, S: SlabSource> {
        base: NonNull<u8>,
        class: &'a Class,
        source: &'a S,
    }
    impl<S: SlabSource> Drop for GiveBack<'_, S> {
        fn drop(&mut self) {
            hardening::asan_unpoison_slab(self.base, self.class);
            // SAFETY: the block at `base` came from `source` through `source::alloc_slab`
            // with `class.layout()` (`free_block`'s contract, I6, I19), its kept values are
            // dropped (or their `Drop` panicked, which counts as run, I3), and nothing
            // references it any more.
            unsafe { free_slab(self.source, self.base, self.class.layout()) }
        }
    }
    let _give_back = GiveBack {
        base: slab::base_of(h, class),
        class,
        source,
    };
    // SAFETY: retired or destroyed, every slot free, reachable only by us (contract, I13).
    unsafe { slab::drop_kept(h, class) };
}

impl Depot {
    /// Retires every slab of a cache whose last handle and last slot are gone: the empty
    /// slaves, then the master, last onto the list so first to go back (the list's links
    /// live in the slaves' headers, and nothing reads the depot, inside the master, after
    /// this). Clears every magic.
    ///
    /// # Safety
    /// No handle and no slot of the cache is left, and nothing else can reach it any more
    /// (I4): this is the last access to the depot.
    pub(crate) unsafe fn retire_all(&mut self) -> Retired {
        let master = self.master;
        debug_assert!(
            self.partial.is_null() && self.full.is_null() && self.unlisted_full == 0,
            "destroying a cache in use"
        );
        // Every empty slave onto the list, walking the depot's list before any link is
        // reused.
        let mut retired = Retired::new();
        let mut cur = self.empty;
        while let Some(h) = NonNull::new(cur) {
            // SAFETY: `h` is on the empty list, so a live header of this cache (I11); no one
            // else can reach the cache (contract), so no one else touches it. The read is a
            // copy, taken before `push` reuses the link.
            cur = unsafe { (*h.as_ptr()).state.next };
            if h != master {
                // SAFETY: `h` is a live slave header that only we can reach (contract);
                // clearing the magic marks it dead before its memory goes back (I12).
                unsafe { (*h.as_ptr()).magic = 0 };
                // SAFETY: `h` is off the walk (its `next` was read above), dead, and
                // reachable only by us (I13).
                unsafe { retired.push(h) };
            }
        }
        // SAFETY: the master header is live and reachable only by us (contract), and the
        // walk above is done, so its `next` link is ours to reuse (I13).
        unsafe { retired.push(master) };
        // SAFETY: `master` is the live master header, reachable by nobody else now; the
        // magic is cleared before the master's memory goes back (I12).
        unsafe { (*master.as_ptr()).magic = 0 };
        retired
    }
}
