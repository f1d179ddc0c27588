//! The invariant scanner: walks every slab and parked magazine of a cache under its lock
//! and checks magic, list membership, counts and free lists ([`SlabCache::scan`]).
//!
//! Used by the tests after every step and available to applications (a hardening mode
//! can call it periodically, like talc's `scan_for_errors`). It reads only memory the
//! cache owns, and reports the first broken invariant with its address.
//!
//! This module talks to `handle` (the `SlabCache` it adds `scan` to), `control` (the lock
//! guard), `depot` (read-only views), `slab`, `geometry`, `hardening`, `lock` and `sync`.

use core::fmt;
use core::ptr::NonNull;

use crate::control::DepotGuard;
use crate::depot::Depot;
use crate::geometry::Class;
use crate::handle::SlabCache;
use crate::hardening::{self, SlotState};
use crate::lock::LockTrait;
use crate::slab::{self, ListId, SlabHeader, SlabState};
use crate::source::SlabSource;
use crate::sync::Ordering;

/// What the scanner counted in a healthy cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanReport {
    /// Slabs, master included: every one walked, except that builds without hardening
    /// checks keep full slabs (which hold no free slot) on no list, and count them.
    pub slabs: usize,
    /// Slots handed out of slabs (to users and magazines).
    pub in_use_slots: usize,
    /// Free slots on slab free lists.
    pub free_listed: usize,
    /// Slots never handed out yet (without hardening checks: not since their slab was
    /// last empty, as an empty slab forgets its free list and starts again from its first
    /// slot).
    pub never_used: usize,
    /// Slots in magazines parked in the depot.
    pub parked: usize,
    /// Free slots in thread caches' and handles' own magazines (counted, not walked:
    /// their owners use them without the lock). `in_use_slots - parked - held` is what
    /// [`stats`](SlabCache::stats) reports as `in_use`.
    pub held: usize,
}

/// A broken invariant found by [`SlabCache::scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanError {
    /// `type_name` of the cache's objects.
    pub name: &'static str,
    /// What is wrong.
    pub problem: &'static str,
    /// Where (a slab header or slot address).
    pub addr: usize,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "slab cache of `{}`: {} at {:#x}",
            self.name, self.problem, self.addr
        )
    }
}

impl core::error::Error for ScanError {}

struct Scan<'a> {
    d: &'a Depot,
    class: Class,
    ctrl: NonNull<u8>,
    report: ScanReport,
}

impl Scan<'_> {
    fn fail<T>(&self, problem: &'static str, addr: usize) -> Result<T, ScanError> {
        Err(ScanError {
            name: self.d.name(),
            problem,
            addr,
        })
    }

    /// Checks a free slot's canary and poison.
    fn free_slot(&self, slot: NonNull<u8>) -> Result<(), ScanError> {
        if !hardening::CHECKS || cfg!(slab_asan) {
            return Ok(());
        }
        // SAFETY: `slot` is a slot of a live slab of this cache (checked by the caller, I1,
        // I12); `state` reads only its canary (I7).
        match unsafe { hardening::state(slot, &self.class) } {
            SlotState::Free | SlotState::Unknown => {}
            SlotState::Live => {
                return self.fail("a slot on a free list is marked in use", slot.addr().get());
            }
            SlotState::Smashed => {
                return self.fail("a free slot's red zone is overwritten", slot.addr().get());
            }
        }
        let w = size_of::<usize>();
        let end = self.class.poison_end();
        for i in w..end {
            // SAFETY: `i < poison_end <= stride` (I5), so the offset stays inside the slot.
            let byte = unsafe { slot.add(i) };
            // SAFETY: `byte` is inside a free slot of a live slab of this cache, so an
            // allocator byte (I7), initialised with `POISON`, and readable under the lock we
            // hold (I2, I9); any byte is a valid `u8`.
            if unsafe { byte.read() } != hardening::POISON {
                return self.fail(
                    "a free slot was written after it was freed",
                    slot.addr().get(),
                );
            }
        }
        Ok(())
    }

    fn slab(&mut self, h: NonNull<SlabHeader>, list: ListId) -> Result<(), ScanError> {
        let at = h.addr().get();
        // SAFETY: `h` is on one of the depot's lists, so a live header (I11); a corrupted
        // list could point anywhere, so only the magic is trusted before the other fields
        // (I12).
        if !unsafe { slab::is_live(h) } {
            return self.fail("slab header magic is gone", at);
        }
        // SAFETY: the magic says `h` is a live slab header, so `master` is initialised; it is
        // read through the raw pointer, as `master` is everywhere (I12).
        let master = unsafe { (*h.as_ptr()).master };
        if master != self.ctrl {
            return self.fail("slab belongs to another cache", at);
        }
        // SAFETY: `h` is a live header of this cache (magic and `master` checked), so
        // `state` is in bounds, aligned and initialised; the lock is held (we are inside
        // `DepotGuard`), so no thread writes it while this shared reference lives (I9,
        // I12).
        let hd = unsafe { &(*h.as_ptr()).state };
        if hd.list != list {
            return self.fail("slab is on the wrong list", at);
        }
        let cap = if hd.is_master {
            self.class.master_slots
        } else {
            self.class.slave_slots
        };
        if hd.capacity as usize != cap || hd.bump > hd.capacity || hd.in_use > hd.bump {
            return self.fail("slab counts are out of range", at);
        }
        let want = if hd.in_use == 0 {
            ListId::Empty
        } else if hd.in_use == hd.capacity {
            ListId::Full
        } else {
            ListId::Partial
        };
        if want != list {
            return self.fail("slab fill level does not match its list", at);
        }
        let free = self.free_list(h, hd)?;
        if free + hd.in_use as usize != hd.bump as usize {
            return self.fail("free list length does not match the slab's counts", at);
        }
        self.report.slabs += 1;
        self.report.in_use_slots += hd.in_use as usize;
        self.report.free_listed += free;
        self.report.never_used += (hd.capacity - hd.bump) as usize;
        Ok(())
    }

    /// Walks the free list of the live slab `h` (whose state is `hd`): every link inside
    /// the slab and at a slot, no cycle, every slot still free and poisoned. Returns its
    /// length.
    fn free_list(&self, h: NonNull<SlabHeader>, hd: &SlabState) -> Result<usize, ScanError> {
        let mut free = 0usize;
        let mut cur = hd.free;
        while let Some(slot) = NonNull::new(cur) {
            if slab::header_of(slot, &self.class) != h || !self.class.starts_slot(slot.addr().get())
            {
                return self.fail("free list link points outside its slab", slot.addr().get());
            }
            free += 1;
            if free > hd.capacity as usize {
                return self.fail("free list has a cycle", h.addr().get());
            }
            self.free_slot(slot)?;
            // SAFETY: `slot` starts a slot of this live slab (checked above) on its free
            // list, which the lock we hold makes ours to read (I9, I11): its first word is
            // its link (I5), read without trusting it (`try_read_link` checks it).
            cur = match unsafe { hardening::try_read_link(slot, &self.class) } {
                Some(next) => next,
                None => return self.fail("a free slot's link was overwritten", slot.addr().get()),
            };
        }
        Ok(free)
    }

    /// Whether `slot`, taken from a parked magazine, starts a slot of a live slab of this
    /// cache. Checks in the order that keeps every read in bounds: the offset first
    /// (nothing is read), then the header's magic, then its `master`.
    fn parked_slot_is_ours(&self, slot: NonNull<u8>) -> bool {
        if !hardening::plausible_slot(slot.as_ptr(), &self.class) {
            return false;
        }
        let h = slab::header_of(slot, &self.class);
        // SAFETY: `slot` was reached through a parked chain of this cache, so unless a link
        // is corrupted it is a slot of one of this cache's slabs (I2) and `h` that slab's
        // mapped header (I1; with hardening checks, `try_read_link` has already rejected a
        // link that is not at a slot offset). Only the magic is read until it proves the
        // header live (I12).
        if !unsafe { slab::is_live(h) } {
            return false;
        }
        // SAFETY: the magic says `h` is a live slab header, so `master` is initialised;
        // it is read through the raw pointer, as `master` is everywhere (I12).
        let master = unsafe { (*h.as_ptr()).master };
        master == self.ctrl
    }

    /// Runs the three checks in turn: the slab lists, the totals, the parked magazines.
    fn run(&mut self) -> Result<(), ScanError> {
        self.lists()?;
        self.totals()?;
        self.parked()
    }

    /// Walks the three slab lists: every slab (`slab`), its back link, and no cycle.
    fn lists(&mut self) -> Result<(), ScanError> {
        for (head, list) in self.d.lists() {
            let mut prev: *mut SlabHeader = core::ptr::null_mut();
            let mut cur = head;
            let mut steps = 0;
            while let Some(h) = NonNull::new(cur) {
                steps += 1;
                if steps > self.d.slabs() {
                    return self.fail(
                        "slab list is longer than the slab count (a cycle?)",
                        h.addr().get(),
                    );
                }
                self.slab(h, list)?;
                // SAFETY: `slab` above checked that `h` is a live header of this cache, so
                // `state` is in bounds and initialised; the lock is held (we are inside
                // `DepotGuard`), so nothing writes it while this shared reference lives
                // (I12).
                let hd = unsafe { &(*h.as_ptr()).state };
                if hd.prev != prev {
                    return self.fail("slab list back link is broken", h.addr().get());
                }
                prev = cur;
                cur = hd.next;
            }
        }
        Ok(())
    }

    /// Adds the full slabs on no list and compares the slab and slot totals with the
    /// depot's counts.
    fn totals(&mut self) -> Result<(), ScanError> {
        let d = self.d;
        // Without hardening checks, full slabs are on no list (`depot::LIST_FULL`): they
        // hold no free slot, so counting them is all there is to check.
        let unlisted_full = d.unlisted_full();
        if unlisted_full > 0 {
            // SAFETY: the master lives as long as the depot (I4); the lock is held, so
            // nothing writes its state while this copy is read (I12).
            let master_full = unsafe { (*d.master().as_ptr()).state.list } == ListId::Full;
            let m = usize::from(master_full);
            if m > unlisted_full {
                return self.fail("unlisted full slab count is wrong", self.ctrl.addr().get());
            }
            self.report.slabs += unlisted_full;
            self.report.in_use_slots +=
                (unlisted_full - m) * self.class.slave_slots + m * self.class.master_slots;
        }
        if self.report.slabs != d.slabs() || self.report.in_use_slots != d.in_use() {
            return self.fail(
                "slab or slot totals disagree with the depot",
                self.ctrl.addr().get(),
            );
        }
        Ok(())
    }

    /// Walks the parked magazines: every slot one of ours and still free, the lengths as
    /// counted; then counts the holders' slots.
    fn parked(&mut self) -> Result<(), ScanError> {
        let d = self.d;
        let mut parked = 0;
        for chain in d.parked() {
            let mut cur = chain.head;
            for _ in 0..chain.count {
                let Some(slot) = NonNull::new(cur) else {
                    return self.fail(
                        "parked magazine is shorter than its count",
                        self.ctrl.addr().get(),
                    );
                };
                if !self.parked_slot_is_ours(slot) {
                    return self.fail(
                        "parked magazine holds a slot of no slab of this cache",
                        slot.addr().get(),
                    );
                }
                self.free_slot(slot)?;
                parked += 1;
                // SAFETY: a free slot of this cache holding its chain link (I5), on a
                // parked chain the lock makes ours to read (I2, I9).
                cur = match unsafe { hardening::try_read_link(slot, &self.class) } {
                    Some(next) => next,
                    None => {
                        return self
                            .fail("a parked slot's link was overwritten", slot.addr().get());
                    }
                };
            }
        }
        if parked != d.in_magazines() {
            return self.fail(
                "parked magazine counts disagree with the depot",
                self.ctrl.addr().get(),
            );
        }
        self.report.parked = parked;
        self.report.held = d.held_outside();
        Ok(())
    }
}

impl<T, L: LockTrait, const SIZE: usize, S: SlabSource + Copy> SlabCache<T, L, SIZE, S> {
    /// Walks every slab and parked magazine under the lock and checks the cache's
    /// invariants: header magic, list membership and back links, per-slab counts, free lists
    /// (links inside their slab, no cycles, lengths), totals against the depot, and, with
    /// hardening checks, that every free slot is still poisoned and marked free.
    ///
    /// Without hardening checks (release builds without the `debug-checks` feature), full
    /// slabs are on no list, which saves every slab that fills or starts emptying two cold
    /// header writes; they hold no free slot, and the scan counts them instead of walking
    /// them.
    ///
    /// ```
    /// slab_core::slab_hooks!(global);
    /// let cache: slab_core::SlabCache<[u8; 48]> = slab_core::SlabCache::new();
    /// let v: Vec<_> = (0..100).map(|i| cache.alloc([i as u8; 48])).collect();
    /// let report = cache.scan().unwrap();
    /// // Slots out of the slabs: the 100 boxes, and free slots in magazines.
    /// assert_eq!(report.in_use_slots - report.parked - report.held, 100);
    /// # drop(v);
    /// ```
    ///
    /// # Errors
    /// The first broken invariant, with its address.
    pub fn scan(&self) -> Result<ScanReport, ScanError> {
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return Ok(ScanReport::default());
        };
        // SAFETY: alive: this handle counts in `handles` (I4).
        let g = unsafe { DepotGuard::lock(ctrl) };
        let mut s = Scan {
            d: g.depot_ref(),
            class: Self::CLASS,
            ctrl: ctrl.cast(),
            report: ScanReport::default(),
        };
        s.run()?;
        Ok(s.report)
    }
}
