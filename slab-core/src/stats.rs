//! [`SlabStats`]: counters of one cache, printed as a `/proc/slabinfo`-style line.

use core::fmt;

/// A snapshot of one cache's counters, taken under its lock.
///
/// Objects sitting free in magazines count as free, not in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlabStats {
    /// `core::any::type_name` of the object type.
    pub name: &'static str,
    /// `size_of::<T>()`.
    pub object_size: usize,
    /// Bytes per slot (the object padded to its alignment and to a pointer).
    pub slot_size: usize,
    /// Bytes per slab.
    pub slab_size: usize,
    /// Slots per slave slab (the master holds a few fewer).
    pub objects_per_slab: usize,
    /// Objects handed out and not yet freed.
    pub in_use: usize,
    /// Highest `in_use` seen. Sampled at every depot operation (magazine refills and
    /// returns, depot allocations) and every `stats()` call, so with magazines (per thread,
    /// or a handle's) it can read up to one magazine per holder low; without magazines it
    /// is exact.
    pub peak: usize,
    /// Slots in all slabs.
    pub capacity: usize,
    /// Slabs held, master included.
    pub slabs: usize,
    /// Empty slave slabs kept for reuse.
    pub empty_slabs: usize,
    /// Bytes held from the allocation hook (`slabs * slab_size`).
    pub bytes: usize,
    /// Calls to the allocation hook so far.
    pub hook_allocs: usize,
    /// Calls to the free hook so far.
    pub hook_frees: usize,
}

impl fmt::Display for SlabStats {
    /// `name in_use capacity objsize objperslab slabsize : peak P slabs S empty E bytes B`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.rsplit("::").next().unwrap_or(self.name);
        write!(
            f,
            "{name:<20} {:>8} {:>8} {:>6} {:>5} {:>8} : peak {} slabs {} empty {} bytes {}",
            self.in_use,
            self.capacity,
            self.object_size,
            self.objects_per_slab,
            self.slab_size,
            self.peak,
            self.slabs,
            self.empty_slabs,
            self.bytes
        )
    }
}

impl SlabStats {
    /// The header line matching [`Display`](fmt::Display).
    pub const HEADER: &'static str =
        "# name               in_use capacity objsz  /slab slabsize : peak slabs empty bytes";
}
