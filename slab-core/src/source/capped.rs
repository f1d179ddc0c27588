//! [`Capped`]: a byte cap around any source, like bumpalo's allocation limit. The count of
//! bytes outstanding is reserved with a compare-exchange before the inner source is asked,
//! so the cap holds under any number of threads (I20).

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::SlabSource;

/// A source that gives out at most `cap` bytes of slabs at a time from the source it
/// wraps: past the cap, allocation fails cleanly ([`SlabError::OutOfMemory`], the value
/// handed back by `try_*`), and works again once slabs go back.
///
/// `Capped` counts in a field of its own, so a cache holds it by reference (a cache's
/// source is `Copy`): one `static` cap shared by every cache that names
/// `&'static Capped<S>`.
///
/// ```
/// use slab_core::{Capped, Global, SlabCache, SlabError, SpinLock};
///
/// // At most 64 KiB of slabs for connections, whatever the load.
/// static CONNECTIONS: Capped<Global> = Capped::new(Global, 64 << 10);
///
/// type Conn = [u8; 1000];
/// let cache: SlabCache<Conn, SpinLock, 16384, &'static Capped<Global>> =
///     SlabCache::with_source(&CONNECTIONS);
/// let mut held = Vec::new();
/// let err = loop {
///     match cache.try_alloc([0; 1000]) {
///         Ok(b) => held.push(b),
///         Err(e) => break e,
///     }
/// };
/// assert_eq!(err.error(), SlabError::OutOfMemory); // the value comes back: `err.into_inner()`
/// assert_eq!(CONNECTIONS.used(), 64 << 10); // four 16 KiB slabs
/// drop(held);
/// cache.shrink(); // empty slabs go back: the cap has room again
/// assert!(cache.try_alloc([1; 1000]).is_ok());
/// ```
///
/// [`SlabError::OutOfMemory`]: crate::SlabError::OutOfMemory
pub struct Capped<S> {
    source: S,
    cap: usize,
    /// Bytes handed out and not yet given back (I20: never above `cap`).
    used: AtomicUsize,
}

impl<S> Capped<S> {
    /// `source`, giving out at most `cap_bytes` bytes at a time.
    pub const fn new(source: S, cap_bytes: usize) -> Self {
        Capped {
            source,
            cap: cap_bytes,
            used: AtomicUsize::new(0),
        }
    }

    /// Bytes handed out now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The cap, in bytes.
    pub const fn cap(&self) -> usize {
        self.cap
    }

    /// The source it wraps.
    pub const fn inner(&self) -> &S {
        &self.source
    }
}

impl<S> fmt::Debug for Capped<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capped")
            .field("used", &self.used())
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

// SAFETY: every block comes from the wrapped source `S` and goes back to it, with the same
// layout, once: `S`'s own `unsafe impl` keeps the promise, and this wrapper only refuses
// some requests (returning `None`) and counts. `Capped` is not `Clone`, so it is one
// source wherever it is reached from.
unsafe impl<S: SlabSource> SlabSource for Capped<S> {
    unsafe fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let size = layout.size();
        // Reserve the bytes first: two threads racing for the last room cannot both get it.
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(size).filter(|&n| n <= self.cap)
            })
            .ok()?;
        // SAFETY: a slab layout (this method's contract, passed on).
        let block = unsafe { self.source.alloc(layout) };
        if block.is_none() {
            self.used.fetch_sub(size, Ordering::Relaxed);
        }
        block
    }

    unsafe fn free(&self, block: NonNull<u8>, layout: Layout) {
        /// Counts the block out once it is back (or once the inner `free` panicked: the
        /// source had it then, I6), so the bytes outstanding never exceed the cap, not
        /// even for a moment (I20).
        struct Release<'a>(&'a AtomicUsize, usize);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(self.1, Ordering::Relaxed);
            }
        }
        let _release = Release(&self.used, layout.size());
        // SAFETY: `block` came from `alloc` above, so from `self.source`, with this
        // `layout`, and is given back once (this method's contract).
        unsafe { self.source.free(block, layout) };
    }
}
