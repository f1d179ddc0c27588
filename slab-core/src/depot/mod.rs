//! The depot: the state of one cache that lives in its master's control block, behind its
//! lock (I9). It holds
//!
//! - the slab lists (partial, full, empty) and their counts (`lists.rs`),
//! - the parked magazines and the moves of whole chains between slabs, the depot and the
//!   magazine holders (`exchange.rs`),
//! - the registry of magazine holders: the thread caches' nodes and the handles' counters
//!   (`registry.rs`),
//! - the list of slabs retired under the lock, freed after it (`retired.rs`),
//!
//! and what [`SlabStats`] sums. Every field is private to this module: the counts (`in_use`,
//! `in_magazines`, `capacity`, `slabs`, `empty_slaves`, `handles`, the hook counts)
//! change here and nowhere else (I8), through methods that take `&mut Depot`, which only
//! the lock guard (`control::DepotGuard`) hands out. The one count written outside is a
//! holder's own `held`, by its owner (I8).
//!
//! This module talks to `slab` (headers, pop and push), `chain`, `geometry`, `hardening`,
//! `source` (to give retired slabs back), `stats` and `sync`.

use core::ptr::{self, NonNull};

use crate::geometry::{Class, HANDLE_COUNTERS};
use crate::slab::{self, ListId, SlabHeader};
use crate::stats::SlabStats;
use crate::sync::{AtomicU32, Ordering};

mod exchange;
mod lists;
mod registry;
mod retired;

#[cfg(test)]
pub(crate) use lists::LIST_FULL;
pub(crate) use registry::{MagNode, add_owned};
pub(crate) use retired::Retired;

/// Default number of empty slave slabs a cache keeps for reuse.
pub const DEFAULT_KEEP_EMPTY: usize = 2;

/// Full magazines the depot parks before sending slots back to their slabs.
#[cfg(not(slab_small))]
pub(crate) const DEPOT_MAGS: usize = 8;
#[cfg(slab_small)]
pub(crate) const DEPOT_MAGS: usize = 2;

/// The depot state, guarded by the lock.
pub(crate) struct Depot {
    handles: usize,
    /// Slots handed out of slabs: to boxes, raw pointers and magazines.
    in_use: usize,
    /// Of `in_use`, slots sitting free in magazines (reported as free by `stats`).
    in_magazines: usize,
    peak: usize,
    capacity: usize,
    slabs: usize,
    /// Empty slaves (the master is never counted).
    empty_slaves: usize,
    keep_empty: usize,
    partial: *mut SlabHeader,
    /// Linked only when [`LIST_FULL`](lists::LIST_FULL); otherwise always null, and full slabs are counted
    /// in `unlisted_full` instead.
    full: *mut SlabHeader,
    empty: *mut SlabHeader,
    /// Full slabs on no list (master included), when not [`LIST_FULL`](lists::LIST_FULL).
    unlisted_full: usize,
    master: NonNull<SlabHeader>,
    hook_allocs: usize,
    hook_frees: usize,
    /// Fast-path counters (`SlabStats::magazine_hits`, `depot_exchanges`, `refills`); the
    /// two rare ones are `u32`s (wrapping) packed beside `mag_count`, to keep the control
    /// block, which takes room from the master's slots, small.
    mag_hits: usize,
    /// Full magazines parked in the depot (chains of free slots), `mag_count` of them:
    /// heads and counts in two arrays, which pack tighter than `[Chain; _]` (the control
    /// block takes room from the master slab's objects). Use `park`/`unpark`/`parked`.
    mag_heads: [*mut u8; DEPOT_MAGS],
    mag_counts: [u32; DEPOT_MAGS],
    mag_count: u32,
    exchanges: u32,
    refills: u32,
    /// Registry of the thread caches that hold slots of this cache (for exact stats).
    threads: *const MagNode,
    /// Which of the master's handle-magazine counters are claimed (bit `i` for counter
    /// `i`).
    handle_claims: u32,
    /// The master's first handle-magazine counter; counter `i` is `counter_stride * i`
    /// bytes further (see `Class::counters_offset`). Written by the owning handle outside
    /// the lock (plain load and store), and under the lock when a whole magazine moves;
    /// read by `stats` under the lock.
    counters: NonNull<AtomicU32>,
    counter_stride: usize,
    /// `type_name` of the object type, for messages.
    name: &'static str,
    /// Lowest and highest base address of any slab this cache ever held (for the O(1)
    /// ownership check of `from_raw` in release builds).
    lo: usize,
    hi: usize,
}

impl Depot {
    /// The depot of a new cache whose master slab has header `master`, with one handle,
    /// the master on the empty list and the handle counters at `counters` (initialised).
    ///
    /// # Safety
    /// `master` is the live, freshly initialised header of a master slab of geometry
    /// `class` (I1), on no list and seen by nobody else; `counters` points to the master's
    /// [`HANDLE_COUNTERS`] initialised counters, `class.counters_stride` bytes apart.
    pub(crate) unsafe fn new(
        master: NonNull<SlabHeader>,
        class: &Class,
        counters: NonNull<AtomicU32>,
        name: &'static str,
    ) -> Depot {
        let base = slab::base_of(master, class).addr().get();
        let mut depot = Depot {
            handles: 1,
            in_use: 0,
            in_magazines: 0,
            peak: 0,
            capacity: class.master_slots,
            slabs: 1,
            empty_slaves: 0,
            keep_empty: DEFAULT_KEEP_EMPTY,
            partial: ptr::null_mut(),
            full: ptr::null_mut(),
            empty: ptr::null_mut(),
            unlisted_full: 0,
            master,
            hook_allocs: 1,
            hook_frees: 0,
            mag_hits: 0,
            mag_heads: [ptr::null_mut(); DEPOT_MAGS],
            mag_counts: [0; DEPOT_MAGS],
            mag_count: 0,
            exchanges: 0,
            refills: 0,
            threads: ptr::null(),
            handle_claims: 0,
            counters,
            counter_stride: class.counters_stride,
            name,
            lo: base,
            hi: base,
        };
        // SAFETY: `master` is live and on no list (contract); nothing else sees `depot` yet,
        // so this is the only access to the lists it is linked into (I11).
        unsafe { depot.link(master, ListId::Empty) };
        depot
    }

    /// `type_name` of the object type.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// Objects held by users: handed out and not sitting free in any magazine.
    pub(crate) fn live_objects(&self) -> usize {
        // Saturating: a magazine moving between depot and holder is counted once, under
        // the lock, but a release build must never wrap even if that were to slip.
        self.in_use
            .saturating_sub(self.in_magazines)
            .saturating_sub(self.held_outside())
    }

    /// Free slots held in thread caches' and handles' magazines (read under the lock).
    pub(crate) fn held_outside(&self) -> usize {
        let in_handles: usize = (0..HANDLE_COUNTERS)
            .map(|i| self.counter(i).load(Ordering::Relaxed) as usize)
            .sum();
        self.thread_held() + in_handles
    }

    fn update_peak(&mut self) {
        let live = self.live_objects();
        if live > self.peak {
            self.peak = live;
        }
    }

    /// Fills the counters of `s` (whose `slab_size` is set) from the depot, sampling the
    /// peak first.
    pub(crate) fn report(&mut self, s: &mut SlabStats) {
        self.update_peak();
        s.in_use = self.live_objects();
        s.peak = self.peak;
        s.capacity = self.capacity;
        s.slabs = self.slabs;
        s.empty_slabs = self.empty_slaves;
        s.bytes = self.slabs * s.slab_size;
        s.hook_allocs = self.hook_allocs;
        s.hook_frees = self.hook_frees;
        s.magazine_hits = self.mag_hits;
        s.depot_exchanges = self.exchanges as usize;
        s.refills = self.refills as usize;
    }

    /// Adds a holder's magazine hits since its last exchange (I8: under the lock).
    pub(crate) fn add_hits(&mut self, n: usize) {
        self.mag_hits = self.mag_hits.wrapping_add(n);
    }

    /// Slots in the cache's slabs that are not handed out.
    pub(crate) fn free_slots(&self) -> usize {
        self.capacity - self.in_use
    }

    /// How many empty slaves to keep for reuse.
    pub(crate) fn set_keep_empty(&mut self, n: usize) {
        self.keep_empty = n;
    }

    /// Counts one more handle (a clone).
    pub(crate) fn add_handle(&mut self) {
        self.handles += 1;
    }

    /// Counts one handle less; true if it was the last.
    pub(crate) fn drop_handle(&mut self) -> bool {
        self.handles -= 1;
        self.handles == 0
    }

    /// Whether a handle is left (a `static` counts as one forever).
    pub(crate) fn has_handles(&self) -> bool {
        self.handles > 0
    }

    /// Whether no handle, no slot and no registered magazine holder are left: the cache
    /// can be destroyed (I4). A thread's entry for a runtime cache stays registered, and
    /// keeps the cache alive, until its thread releases it (I23).
    pub(crate) fn is_unused(&self) -> bool {
        self.handles == 0 && self.in_use == 0 && !self.has_registered()
    }

    /// Whether address `a` lies within the range of slab bases this cache ever held (O(1);
    /// a foreign address between two slabs passes).
    pub(crate) fn within_range(&self, a: usize) -> bool {
        self.lo <= a && a <= self.hi
    }

    // ---- read-only views for the scanner ----

    /// The heads of the three slab lists, each with its id.
    pub(crate) fn lists(&self) -> [(*mut SlabHeader, ListId); 3] {
        [
            (self.partial, ListId::Partial),
            (self.full, ListId::Full),
            (self.empty, ListId::Empty),
        ]
    }

    /// Slabs held, master included.
    pub(crate) fn slabs(&self) -> usize {
        self.slabs
    }

    /// Slots handed out of slabs (to users and magazines).
    pub(crate) fn in_use(&self) -> usize {
        self.in_use
    }

    /// Of `in_use`, slots in parked magazines.
    pub(crate) fn in_magazines(&self) -> usize {
        self.in_magazines
    }

    /// Full slabs on no list (master included), when not [`LIST_FULL`](lists::LIST_FULL).
    pub(crate) fn unlisted_full(&self) -> usize {
        self.unlisted_full
    }

    /// The master slab's header.
    pub(crate) fn master(&self) -> NonNull<SlabHeader> {
        self.master
    }
}
