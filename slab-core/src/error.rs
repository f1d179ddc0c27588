//! Errors: [`SlabError`] for the low-level API and [`AllocError<T>`], which hands the value
//! back when an allocation fails.

use core::fmt;

/// Why an allocation or a reservation failed. Every variant is produced; each says what to
/// change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SlabError {
    /// The cache's memory source (the allocation hook, by default) returned `None`: no
    /// memory for a new slab, or a [`Capped`](crate::Capped) source at its cap.
    OutOfMemory,
    /// The cache's memory source returned a block that is not aligned to the slab size,
    /// which the source's contract requires (an object finds its slab header by masking
    /// its address with the slab size). The block went straight back to the source.
    AlignmentMismatch,
    /// A [`reserve`](crate::SlabCache::reserve) for more objects than the address space
    /// can hold (its slabs would need more than `isize::MAX` bytes), refused before any
    /// hook call, like `Vec::try_reserve`.
    CapacityOverflow,
}

impl fmt::Display for SlabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutOfMemory => {
                "out of memory: the cache's memory source (the allocation hook, by default) \
                 returned no block"
            }
            Self::AlignmentMismatch => {
                "the cache's memory source returned a block that is not aligned to the slab \
                 size; slab hooks and sources must honour `layout.align()`"
            }
            Self::CapacityOverflow => {
                "capacity overflow: the requested number of objects needs more than \
                 `isize::MAX` bytes of slabs"
            }
        })
    }
}

impl core::error::Error for SlabError {}

/// A failed allocation: the value that could not be placed, and why.
///
/// Nothing is lost: [`into_inner`](Self::into_inner) gives the value back.
///
/// ```
/// use slab_core::{AllocError, SlabError};
/// slab_core::slab_hooks!(global);
/// let err = AllocError::new(String::from("packet"), SlabError::OutOfMemory);
/// assert!(err.to_string().contains("alloc::string::String"));
/// assert_eq!(err.into_inner(), "packet");
/// ```
pub struct AllocError<T> {
    value: T,
    error: SlabError,
}

impl<T> AllocError<T> {
    /// Wraps a value that could not be allocated.
    pub const fn new(value: T, error: SlabError) -> Self {
        AllocError { value, error }
    }

    /// Gives the value back.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The reason of the failure.
    pub const fn error(&self) -> SlabError {
        self.error
    }
}

impl<T> fmt::Debug for AllocError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllocError")
            .field("type", &core::any::type_name::<T>())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for AllocError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not allocate a `{}` from its slab cache: {}",
            core::any::type_name::<T>(),
            self.error
        )
    }
}

impl<T> core::error::Error for AllocError<T> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Panics for a failed allocation of a `T` from a `size`-byte slab cache, naming both: what
/// `alloc` and `new_boxed` do where `try_alloc` and `try_new_boxed` return the error.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn alloc_failed<T>(size: usize, e: SlabError) -> ! {
    let (name, bytes) = (core::any::type_name::<T>(), size_of::<T>());
    if e == SlabError::OutOfMemory {
        // The usual cause on a small target: a hook that cannot give a block this large.
        panic!(
            "slab_core: could not allocate a `{name}` ({bytes} bytes) from its {size}-byte slab \
             cache: {e} (it asked for {size} bytes aligned to {size}). If your memory comes \
             in smaller blocks, choose smaller slabs: `#[slab_cached(size = 1024)]`, or \
             `SlabCache<T, L, 1024>` (a power of two from 512). `try_new_boxed`/`try_alloc` \
             hand the value back instead of panicking"
        )
    }
    panic!(
        "slab_core: could not allocate a `{name}` ({bytes} bytes) from its {size}-byte slab \
         cache: {e}; use `try_alloc`/`try_new_boxed` to get the value back instead"
    )
}
