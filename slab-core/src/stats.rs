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
    /// The highest `in_use` the cache has seen.
    ///
    /// Measured under the lock: at every depot operation (an allocation through the lock,
    /// a magazine refill) and at every `stats()` call, which raises it to the `in_use` it
    /// reports. So `peak` is never below an `in_use` that any `stats()` call returned, and
    /// where every allocation takes the lock (`SlabCache::alloc(&self)`, and
    /// `#[slab_cached]` types without `std`) it is the true peak.
    ///
    /// Allocations served from a magazine (a thread's, for `#[slab_cached]` types with
    /// `std`; a handle's, for `alloc_mut`) take no lock and are not measured one by one:
    /// between two measurements the true peak can exceed `peak` by at most the free slots
    /// that the magazines held at the first of them, which is two magazines per thread or
    /// handle of 8 to 64 slots each (32 KiB of slots, rounded into that range). A program
    /// whose objects come and go inside one magazine can read `peak 0`; call `stats()`
    /// where you want the figure measured. Measuring every magazine allocation would take
    /// an atomic read-modify-write on a shared counter per allocation, the cost the
    /// magazines exist to avoid.
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
    /// Allocations served by a magazine (a thread's or a handle's) without the lock: the
    /// fast path. Each holder counts its own (a plain count, no atomic) and adds it to the
    /// cache's total when it next exchanges a magazine with the depot or gives its
    /// magazines back, so the figure lags by at most two magazines per holder.
    pub magazine_hits: usize,
    /// Whole magazines exchanged between a holder and the depot (taken, or given back).
    pub depot_exchanges: usize,
    /// Magazines built from the slabs' free lists (a refill the depot had no full
    /// magazine for).
    pub refills: usize,
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
    /// No cache: every count zero, no name.
    pub const EMPTY: SlabStats = SlabStats {
        name: "",
        object_size: 0,
        slot_size: 0,
        slab_size: 0,
        objects_per_slab: 0,
        in_use: 0,
        peak: 0,
        capacity: 0,
        slabs: 0,
        empty_slabs: 0,
        bytes: 0,
        hook_allocs: 0,
        hook_frees: 0,
        magazine_hits: 0,
        depot_exchanges: 0,
        refills: 0,
    };

    /// The header line matching [`Display`](fmt::Display).
    pub const HEADER: &'static str =
        "# name               in_use capacity objsz  /slab slabsize : peak slabs empty bytes";
}
