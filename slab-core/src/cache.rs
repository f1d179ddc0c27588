//! The depot: the master control block, slab lists, growth and release, and the
//! Master-Slave lifecycle behind [`SlabCache`].
//!
//! The first slab a cache allocates is its **master**: besides slots it holds the
//! [`Control`] block (the lock and the depot state). Every other slab is a **slave** whose
//! header points at the master's control block, so an object finds its cache by masking
//! its address to its slab header and following one pointer.
//!
//! # Lifecycle
//! - `SlabCache::new` is `const` and allocates nothing; the master is allocated on first
//!   use and published with a compare-exchange (a racing loser returns its block).
//! - `handles` counts live `SlabCache` values (a `static` counts as one forever) and
//!   `in_use` counts slots handed out. Both change only under the lock; whoever brings
//!   both to zero releases every slab after unlocking. Boxes may outlive every handle.
//! - Empty slaves are kept up to `keep_empty`, so alloc/free at a slab boundary does
//!   not call the hooks each time; `shrink` returns the rest.
//!
//! This module uses `slab` (slot mechanics), `hooks` (raw memory) and `lock`.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use crate::boxed::{Pool, SlabBox};
use crate::error::{AllocError, SlabError};
use crate::geometry::{Class, HANDLE_COUNTERS, LayoutError, Spec};
use crate::hardening;
use crate::hooks;
use crate::lock::{LockTrait, SpinLock};
use crate::magazine::{self, Chain, DEPOT_MAGS, HandleMags, MagNode};
use crate::slab::{self, ListId, SlabHeader, check_header};
use crate::stats::SlabStats;
use crate::sync::{AtomicPtr, AtomicU32, Ordering};

/// Default number of empty slave slabs a cache keeps for reuse.
pub const DEFAULT_KEEP_EMPTY: usize = 2;

/// The depot state, guarded by the lock.
pub(crate) struct Depot {
    pub(crate) handles: usize,
    /// Slots handed out of slabs: to boxes, raw pointers and magazines.
    pub(crate) in_use: usize,
    /// Of `in_use`, slots sitting free in magazines (reported as free by `stats`).
    pub(crate) in_magazines: usize,
    pub(crate) peak: usize,
    pub(crate) capacity: usize,
    pub(crate) slabs: usize,
    /// Empty slaves (the master is never counted).
    pub(crate) empty_slaves: usize,
    pub(crate) keep_empty: usize,
    pub(crate) partial: *mut SlabHeader,
    /// Linked only when [`LIST_FULL`]; otherwise always null, and full slabs are counted
    /// in `unlisted_full` instead.
    pub(crate) full: *mut SlabHeader,
    pub(crate) empty: *mut SlabHeader,
    /// Full slabs on no list (master included), when not [`LIST_FULL`].
    pub(crate) unlisted_full: usize,
    pub(crate) master: NonNull<SlabHeader>,
    pub(crate) hook_allocs: usize,
    pub(crate) hook_frees: usize,
    /// Full magazines parked in the depot (chains of free slots), `mag_count` of them:
    /// heads and counts in two arrays, which pack tighter than `[Chain; _]` (the control
    /// block takes room from the master slab's objects). Use `park`/`unpark`/`parked`.
    mag_heads: [*mut u8; DEPOT_MAGS],
    mag_counts: [u32; DEPOT_MAGS],
    mag_count: u32,
    /// Registry of the thread caches that hold slots of this cache (for exact stats).
    pub(crate) threads: *const MagNode,
    /// Which of the master's handle-magazine counters are claimed (bit `i` for counter
    /// `i`).
    pub(crate) handle_claims: u32,
    /// The master's first handle-magazine counter; counter `i` is `counter_stride * i`
    /// bytes further (see `Class::counters_offset`). Written by the owning handle outside
    /// the lock (plain load and store), and under the lock when a whole magazine moves;
    /// read by `stats` under the lock.
    pub(crate) counters: NonNull<AtomicU32>,
    pub(crate) counter_stride: usize,
    /// `type_name` of the object type, for messages.
    pub(crate) name: &'static str,
    /// Lowest and highest base address of any slab this cache ever held (for the O(1)
    /// ownership check of `from_raw` in release builds).
    pub(crate) lo: usize,
    pub(crate) hi: usize,
}

impl Depot {
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
        // SAFETY: called with the lock held (we have `&Depot` through the guard), which
        // keeps every registered node alive and its links stable.
        let in_threads = unsafe { magazine::thread_held(self) };
        let in_handles: usize = (0..HANDLE_COUNTERS)
            .map(|i| self.counter(i).load(Ordering::Relaxed) as usize)
            .sum();
        in_threads + in_handles
    }

    /// Handle-magazine counter `i` (`i < HANDLE_COUNTERS`).
    pub(crate) fn counter(&self, i: usize) -> &AtomicU32 {
        assert!(i < HANDLE_COUNTERS);
        // SAFETY: counter `i` (below `HANDLE_COUNTERS`) lies in the master slab
        // (`Class::counters_offset`), in bounds of the block `counters` was derived from.
        let c = unsafe { self.counters.byte_add(i * self.counter_stride) };
        // SAFETY: initialised with the depot and alive as long as it; atomics may be
        // shared while their owners store.
        unsafe { c.as_ref() }
    }

    /// The index of handle counter `c` (one that [`counter`](Self::counter) returned).
    pub(crate) fn counter_index(&self, c: &AtomicU32) -> usize {
        let i = (core::ptr::from_ref(c).addr() - self.counters.addr().get()) / self.counter_stride;
        debug_assert!(core::ptr::eq(self.counter(i), c), "a counter of this depot");
        i
    }

    /// Parks a full magazine, or hands it back if the depot is full.
    pub(crate) fn park(&mut self, chain: Chain) -> Result<(), Chain> {
        let i = self.mag_count as usize;
        if i == DEPOT_MAGS {
            return Err(chain);
        }
        self.mag_heads[i] = chain.head;
        self.mag_counts[i] = chain.count;
        self.mag_count += 1;
        self.in_magazines += chain.count as usize;
        Ok(())
    }

    /// Takes the last parked magazine.
    pub(crate) fn unpark(&mut self) -> Option<Chain> {
        self.mag_count = self.mag_count.checked_sub(1)?;
        let i = self.mag_count as usize;
        let chain = Chain {
            head: self.mag_heads[i],
            count: self.mag_counts[i],
        };
        self.in_magazines -= chain.count as usize;
        Some(chain)
    }

    /// The parked magazines.
    pub(crate) fn parked(&self) -> impl Iterator<Item = Chain> + '_ {
        let n = self.mag_count as usize;
        self.mag_heads[..n]
            .iter()
            .zip(&self.mag_counts[..n])
            .map(|(&head, &count)| Chain { head, count })
    }

    /// Whether a slab based at `base` is on one of the lists (every slab is, when
    /// [`LIST_FULL`]; else the full ones are not). A walk: O(slabs), for hardening only.
    pub(crate) fn holds_slab(&self, base: usize, slab_size: usize) -> bool {
        [self.partial, self.full, self.empty]
            .into_iter()
            .any(|mut cur| {
                while !cur.is_null() {
                    // A header lies inside its slab: masking finds the slab's base (I1).
                    if cur.addr() & !(slab_size - 1) == base {
                        return true;
                    }
                    // SAFETY: `cur` is on one of this depot's lists, so a live header; the
                    // caller holds the lock (`&Depot` is only reached through the guard), so
                    // its `state` is not written concurrently. The read is a copy.
                    cur = unsafe { (*cur).state.next };
                }
                false
            })
    }

    pub(crate) fn update_peak(&mut self) {
        let live = self.live_objects();
        if live > self.peak {
            self.peak = live;
        }
    }
}

/// The control block inside the master slab.
#[repr(C)]
pub(crate) struct Control<L> {
    pub(crate) lock: L,
    pub(crate) depot: UnsafeCell<Depot>,
}

/// The geometry of `SlabCache<T, L, SIZE>`, or the reason it is invalid.
pub(crate) const fn class_of<T, L>(slab_size: usize) -> Result<Class, LayoutError> {
    class_with::<T, L>(slab_size, hardening::CHECKS)
}

/// The geometry with or without the hardening canary. Choices that must not depend on the
/// build profile (the automatic slab size) use `checks = false`.
pub(crate) const fn class_with<T, L>(slab_size: usize, checks: bool) -> Result<Class, LayoutError> {
    Class::new(Spec {
        object: Layout::new::<T>(),
        slab_size,
        header: Layout::new::<SlabHeader>(),
        control: Layout::new::<Control<L>>(),
        lock_size: size_of::<L>(),
        checks,
    })
}

/// The address of the header of the slab holding `p`, a slot of a
/// `SlabCache<T, L, SIZE>` (nothing is read). Not public API: for tests that plant header
/// corruption.
pub fn header_address<T, L: LockTrait, const SIZE: usize>(p: *const T) -> *mut u8
where
    SlabSize<SIZE>: ValidSlabSize,
{
    let Some(p) = NonNull::new(p.cast_mut().cast::<u8>()) else {
        return ptr::null_mut();
    };
    slab::header_of(p, &SlabCache::<T, L, SIZE>::CLASS)
        .cast()
        .as_ptr()
}

/// Guard for the depot of one control block: locks on creation, unlocks on drop.
pub(crate) struct DepotGuard<'a, L: LockTrait> {
    ctrl: &'a Control<L>,
}

impl<'a, L: LockTrait> DepotGuard<'a, L> {
    /// # Safety
    /// `ctrl` points to an initialised control block that stays alive while the guard
    /// lives (the caller holds a handle or an outstanding slot of the cache).
    #[inline]
    pub(crate) unsafe fn lock(ctrl: NonNull<Control<L>>) -> Self {
        // SAFETY: alive by the caller's contract; only `lock` (a `Sync`-safe type by its
        // own contract) and the `UnsafeCell` are reached through this shared reference.
        let ctrl = unsafe { ctrl.as_ref() };
        ctrl.lock.lock();
        DepotGuard { ctrl }
    }

    /// Shared view of the depot (for the scanner).
    pub(crate) fn depot_ref(&self) -> &Depot {
        // SAFETY: the lock is held for the guard's whole life; `&self` excludes `depot()`.
        unsafe { &*self.ctrl.depot.get() }
    }

    #[inline]
    pub(crate) fn depot(&mut self) -> &mut Depot {
        // SAFETY: the lock is held for the guard's whole life, so this is the only access
        // to the depot; `&mut self` prevents two live borrows through one guard.
        unsafe { &mut *self.ctrl.depot.get() }
    }
}

impl<L: LockTrait> Drop for DepotGuard<'_, L> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: acquired in `DepotGuard::lock` and not released since.
        unsafe { self.ctrl.lock.unlock() }
    }
}

// ---- intrusive doubly linked slab lists (all under the lock) ----

/// Whether full slabs are linked on the depot's full list. Only walks look for them there
/// (the exact ownership check of hardened [`SlabBox::from_raw`](crate::SlabBox::from_raw)
/// and [`SlabCache::scan`]), so builds without hardening checks keep full slabs on no
/// list and count them in [`Depot::unlisted_full`]: a slab that fills, or gets its first
/// slot back, then writes no neighbour's header. In a burst of frees across many slabs
/// (S2 of `docs/BENCHMARKS.md`), each neighbour is a cold cache line: 1.5 ns per freed
/// object in order, 2 to 4 shuffled.
pub(crate) const LIST_FULL: bool = hardening::CHECKS;

fn head_of(d: &mut Depot, list: ListId) -> &mut *mut SlabHeader {
    match list {
        ListId::Partial => &mut d.partial,
        ListId::Full => &mut d.full,
        ListId::Empty => &mut d.empty,
    }
}

/// # Safety
/// `h` is a live header of this depot, on no list; the lock is held.
unsafe fn link(d: &mut Depot, h: NonNull<SlabHeader>, list: ListId) {
    let hp = h.as_ptr();
    // A full slab is on no list without `LIST_FULL`: no head and no neighbour.
    let listed = list != ListId::Full || LIST_FULL;
    let old = if listed {
        *head_of(d, list)
    } else {
        d.unlisted_full += 1;
        ptr::null_mut()
    };
    {
        // SAFETY: `h` is a live header (contract), so `state` is in bounds and aligned;
        // the lock is held and `SlabState` is only accessed under it, so nothing else
        // touches these bytes. `h` is on no list, so it is not `old`, and no other
        // reference to its state exists; this one ends with the block.
        let st = unsafe { &mut (*hp).state };
        st.list = list;
        st.prev = ptr::null_mut();
        st.next = old;
    }
    if !listed {
        return;
    }
    if let Some(old) = NonNull::new(old) {
        // SAFETY: `old` is the head of one of this depot's lists, so a live header; the
        // lock is held, which guards its `state`. The reference to `h`'s state above has
        // ended, and `old != h`, so this single write aliases nothing.
        unsafe { (*old.as_ptr()).state.prev = hp };
    }
    *head_of(d, list) = hp;
}

/// # Safety
/// `h` is a live header on the list its `list` field names; the lock is held.
unsafe fn unlink(d: &mut Depot, h: NonNull<SlabHeader>) {
    let hp = h.as_ptr();
    let (prev, next, list) = {
        // SAFETY: `h` is a live header of this depot (contract), so `state` is in bounds
        // and aligned; the lock is held, so nothing else touches it. The reference ends
        // with this block, before the neighbours are written.
        let st = unsafe { &(*hp).state };
        (st.prev, st.next, st.list)
    };
    if list == ListId::Full && !LIST_FULL {
        // On no list (see `link`): its links are null, and no neighbour refers to it.
        d.unlisted_full -= 1;
        return;
    }
    if prev.is_null() {
        *head_of(d, list) = next;
    } else {
        // SAFETY: `prev` is `h`'s neighbour on a list of this depot, so a live header
        // distinct from `h`; its `state` is guarded by the lock we hold, and no reference
        // to any header's state is live here.
        unsafe { (*prev).state.next = next };
    }
    if !next.is_null() {
        // SAFETY: as for `prev`: `next` is a live neighbour of `h` on a list of this
        // depot, its state guarded by the lock; no reference to any state is live.
        unsafe { (*next).state.prev = prev };
    }
    // SAFETY: `h` is live and its state is guarded by the lock we hold; the writes to the
    // neighbours above went through their own pointers and no reference is live.
    let st = unsafe { &mut (*hp).state };
    st.prev = ptr::null_mut();
    st.next = ptr::null_mut();
}

/// Puts `h` on the list that matches its fill level, if it is not there already.
///
/// # Safety
/// As [`unlink`].
pub(crate) unsafe fn relist(d: &mut Depot, h: NonNull<SlabHeader>) {
    let (in_use, cap, list, master) = {
        // SAFETY: `h` is a live header of this depot (contract), so `state` is in bounds
        // and aligned; the lock is held, so nothing writes it concurrently. The shared
        // reference ends with this block, before `unlink`/`link` write through `h`.
        let st = unsafe { &(*h.as_ptr()).state };
        (st.in_use, st.capacity, st.list, st.is_master)
    };
    let want = if in_use == 0 {
        ListId::Empty
    } else if in_use == cap {
        ListId::Full
    } else {
        ListId::Partial
    };
    if want != list {
        // SAFETY: `h` is live and on the list its `list` field names (our contract), and
        // the lock is held.
        unsafe { unlink(d, h) };
        // SAFETY: `h` is live and, just unlinked, on no list; the lock is held.
        unsafe { link(d, h, want) };
        if want == ListId::Empty && !hardening::CHECKS {
            // Every slot is free, so the free list says nothing the bump index does not:
            // forget it, and the slab serves its slots in address order again, as a new
            // one does (one sequential sweep the prefetcher follows, instead of a walk of
            // links in the order the slots came back). With hardening checks the list
            // stays, so each slot's poison is still checked when it is reused.
            // SAFETY: `h` is a live slab of this depot and the lock is held; no other
            // reference to its state is alive here.
            let st = unsafe { &mut (*h.as_ptr()).state };
            st.free = ptr::null_mut();
            st.bump = 0;
        }
        if !master {
            if want == ListId::Empty {
                d.empty_slaves += 1;
            } else if list == ListId::Empty {
                d.empty_slaves -= 1;
            }
        }
    }
}

/// Pops one slot from the first partial (else empty) slab.
///
/// # Safety
/// The lock of this depot is held; `class` is its geometry.
pub(crate) unsafe fn pop_slot(d: &mut Depot, class: &Class) -> Option<NonNull<u8>> {
    let h = NonNull::new(d.partial).or(NonNull::new(d.empty))?;
    // SAFETY: `h` is a live header on one of our lists; the lock is held.
    let slot = unsafe { slab::pop(h, class, d.name) }?;
    // SAFETY: `h` is a live header on the list its `list` field names (lists are
    // consistent whenever the lock is free, and `pop` does not touch them); the lock is
    // held (I8).
    unsafe { relist(d, h) };
    d.in_use += 1;
    Some(slot)
}

/// Adds a freshly allocated slave slab to the depot's empty list.
///
/// # Safety
/// The lock is held; `block` is a slab-sized, slab-aligned block from the hook that nothing
/// else uses; `ctrl` is this depot's control block.
pub(crate) unsafe fn adopt(d: &mut Depot, block: NonNull<u8>, class: &Class, ctrl: NonNull<u8>) {
    if hardening::CHECKS && d.holds_slab(block.addr().get(), class.slab_size) {
        panic!(
            "slab_core: the allocation hook returned {block:p}, which is already a live slab of \
             the `{}` cache: the hook handed one block out twice, breaking the promise of its \
             `unsafe` in `slab_hooks!`",
            d.name
        );
    }
    // SAFETY: `block` is a slab-sized, slab-aligned block from the hook that nothing else
    // uses (contract, I6), and `ctrl` is this depot's control block: what `init` needs.
    let h = unsafe { slab::init(block, class, ctrl, false) };
    // SAFETY: `h` is live and on no list yet.
    unsafe { link(d, h, ListId::Empty) };
    d.empty_slaves += 1;
    d.slabs += 1;
    d.capacity += class.slave_slots;
    d.hook_allocs += 1;
    d.lo = d.lo.min(block.addr().get());
    d.hi = d.hi.max(block.addr().get());
}

/// Takes an empty slave out of the depot so it can be freed after unlocking.
///
/// # Safety
/// The lock is held; `h` is an empty slave on the empty list.
unsafe fn retire(d: &mut Depot, h: NonNull<SlabHeader>, class: &Class) {
    // SAFETY: `h` is a live header on the empty list, which its `list` field names, and
    // the lock is held (this function's contract): what `unlink` needs.
    unsafe { unlink(d, h) };
    d.empty_slaves -= 1;
    d.slabs -= 1;
    d.capacity -= class.slave_slots;
    d.hook_frees += 1;
    // SAFETY: `h` is a live header (contract), so `magic` is in bounds and aligned; the
    // lock is held. The slab is empty, so no outstanding slot can lead a lock-free reader
    // here: clearing the magic marks the slab dead before it is freed.
    unsafe { (*h.as_ptr()).magic = 0 };
}

/// Returns a retired slab to the free hook.
///
/// # Safety
/// `h` was retired (or is a master being destroyed) and nothing references it.
pub(crate) unsafe fn free_block(h: NonNull<SlabHeader>, class: &Class) {
    let base = slab::base_of(h, class);
    hardening::asan_unpoison_slab(base, class);
    // SAFETY: the block at `base` came from `hooks::alloc_slab` with `class.layout()`.
    unsafe { hooks::free_slab(base, class.layout()) }
}

/// Frees every slab of a cache whose last handle and last slot are gone: the master, then
/// the slaves (a free hook that panics does not strand the others, see
/// [`free_retired`](magazine::free_retired)).
///
/// # Safety
/// `ctrl` is the control block of a cache with `handles == 0` and `in_use == 0`, its lock
/// released; nothing else can reach it any more.
unsafe fn destroy<L: LockTrait>(ctrl: NonNull<Control<L>>, class: &Class) {
    // SAFETY: `ctrl` points to an initialised control block (contract) that nobody else
    // can reach any more, so a shared reference to it is valid until its memory goes back
    // below; it is last used to reach the depot.
    let control = unsafe { ctrl.as_ref() };
    // SAFETY: nobody else can reach the control block, so this is the only access to the
    // depot through its `UnsafeCell`; `control` is not used to reach it again.
    let d = unsafe { &mut *control.depot.get() };
    let master = d.master;
    debug_assert!(
        d.partial.is_null() && d.full.is_null() && d.unlisted_full == 0,
        "destroying a cache in use"
    );
    // Every empty slave onto the chain, walking the list before any link is reused.
    let mut chain = ptr::null_mut();
    let mut cur = d.empty;
    while let Some(h) = NonNull::new(cur) {
        // SAFETY: `h` is on the empty list, so a live header of this cache; no one else can
        // reach the cache, so no one else touches it. The read is a copy, taken before
        // `link_retired` reuses the link.
        cur = unsafe { (*h.as_ptr()).state.next };
        if h != master {
            // SAFETY: `h` is a live slave header that only we can reach; clearing the magic
            // marks it dead before its memory goes back.
            unsafe { (*h.as_ptr()).magic = 0 };
            // SAFETY: `h` is off the walk (its `next` was read above), reachable only by us.
            unsafe { magazine::link_retired(&mut chain, h) };
        }
    }
    // The master last onto the chain, so first to go back: the chain's links live in the
    // slaves' headers, and nothing reads the depot (inside the master) after this.
    // SAFETY: the master header is live and reachable only by us, and the walk above is
    // done, so its `next` link is ours to reuse.
    unsafe { magazine::link_retired(&mut chain, master) };
    // SAFETY: `ctrl` is in bounds of the master slab (contract), so projecting to `lock`
    // stays in bounds; no reference is created.
    let lock = unsafe { &raw mut (*ctrl.as_ptr()).lock };
    // SAFETY: the lock is initialised and unlocked, and unreachable by anyone else;
    // dropping it in place before the master's memory goes back is its last use (`d` and
    // `control` are not used again).
    unsafe { ptr::drop_in_place(lock) };
    // SAFETY: `master` is the live master header, reachable by nobody else now.
    unsafe { (*master.as_ptr()).magic = 0 };
    // SAFETY: every slab on the chain came from the hook with `class.layout()`, is dead
    // (magic cleared) and unreachable; the master's control block was dropped above.
    unsafe { magazine::free_retired(chain, class) };
}

/// Destroys a cache when dropped, if armed: the last step of a free or a handle's drop,
/// which must happen even if freeing a retired slab before it panics in the hook.
pub(crate) struct DestroyOnDrop<'c, L: LockTrait> {
    ctrl: Option<NonNull<Control<L>>>,
    class: &'c Class,
}

impl<'c, L: LockTrait> DestroyOnDrop<'c, L> {
    /// # Safety
    /// If `destroy_now`, `ctrl` is the control block of a cache with no handle and no slot
    /// left, its lock released, that nothing else can reach.
    #[inline]
    pub(crate) unsafe fn new(
        destroy_now: bool,
        ctrl: NonNull<Control<L>>,
        class: &'c Class,
    ) -> Self {
        DestroyOnDrop {
            ctrl: destroy_now.then_some(ctrl),
            class,
        }
    }
}

impl<L: LockTrait> Drop for DestroyOnDrop<'_, L> {
    #[inline]
    fn drop(&mut self) {
        if let Some(ctrl) = self.ctrl.take() {
            // SAFETY: armed only for a cache with no handle and no slot left, its lock
            // released, unreachable by anyone else (`new`'s contract).
            unsafe { destroy(ctrl, self.class) };
        }
    }
}

/// Puts a slot back into its slab under the lock; if that leaves one empty slave too many,
/// the slave is retired and returned, to be freed after unlocking.
///
/// # Safety
/// The lock of the slot's cache is held (`d` is its depot); `slot` was handed out by this
/// depot and holds no value.
pub(crate) unsafe fn return_slot(
    d: &mut Depot,
    slot: NonNull<u8>,
    class: &Class,
) -> Option<NonNull<SlabHeader>> {
    let h = slab::header_of(slot, class);
    if hardening::CHECKS {
        check_header(h, d.name);
    }
    // SAFETY: `slot` was handed out by this depot (contract), so `h` is the live header of
    // its slab and `slot` came from `slab::pop` on it; it holds no value and the caller
    // gives it up; the lock is held.
    unsafe { slab::push(h, slot, class) };
    // SAFETY: one slot of `h` was pushed back just now, under the lock we hold.
    unsafe { settle(d, h, 1, class) }
}

/// Brings the depot up to date after `n` slots of slab `h` went back onto its free list
/// (`slab::push`): relists it, counts the slots, and retires it if it is an empty slave
/// beyond `keep_empty` (returned, to be freed after unlocking).
///
/// # Safety
/// The lock of this depot is held; `h` is a live slab of it, on the list its `list` field
/// names, and exactly `n` of its slots were pushed back since it was last relisted.
pub(crate) unsafe fn settle(
    d: &mut Depot,
    h: NonNull<SlabHeader>,
    n: usize,
    class: &Class,
) -> Option<NonNull<SlabHeader>> {
    // SAFETY: `h` is a live header of this depot, on the list its `list` field names (the
    // lists are consistent whenever the lock is free, and `push` does not touch them); the
    // lock is held.
    unsafe { relist(d, h) };
    d.in_use -= n;
    let empty_slave = {
        // SAFETY: `h` is live, its state guarded by the lock we hold; the shared reference
        // ends with this block, before `retire` writes through `h`.
        let st = unsafe { &(*h.as_ptr()).state };
        st.in_use == 0 && !st.is_master
    };
    if empty_slave && d.empty_slaves > d.keep_empty {
        // SAFETY: `h` is an empty slave on the empty list.
        unsafe { retire(d, h, class) };
        return Some(h);
    }
    None
}

/// Returns a slot to its slab (the depot path of every free).
///
/// # Safety
/// `slot` was handed out by the depot of a live cache of geometry `class` and lock `L`,
/// holds no value, and is not used again.
pub(crate) unsafe fn depot_free<L: LockTrait>(slot: NonNull<u8>, class: &Class, name: &str) {
    let h = slab::header_of(slot, class);
    if hardening::CHECKS {
        check_header(h, name);
    }
    // SAFETY: `h` is the live header of the slot's slab (the slot is outstanding, so the
    // slab and its master are alive); `master` is written once at init.
    let ctrl = unsafe { (*h.as_ptr()).master }.cast::<Control<L>>();
    let retired;
    let destroy_now;
    {
        // SAFETY: the outstanding slot keeps the control block alive.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        let d = g.depot();
        // SAFETY: lock held; the slot is ours and empty.
        retired = unsafe { return_slot(d, slot, class) };
        destroy_now = d.in_use == 0 && d.handles == 0;
    }
    // SAFETY: armed only when no handle and no slot is left; the lock is released.
    let _destroy = unsafe { DestroyOnDrop::new(destroy_now, ctrl, class) };
    if let Some(h) = retired {
        // SAFETY: retired under the lock, unreachable from the depot now.
        unsafe { free_block(h, class) };
    }
}

/// Takes one slot from the depot, growing the cache by a slave slab if needed.
///
/// # Safety
/// `ctrl` is an initialised control block of geometry `class`, kept alive by the caller.
pub(crate) unsafe fn depot_alloc<L: LockTrait>(
    ctrl: NonNull<Control<L>>,
    class: &Class,
) -> Result<NonNull<u8>, SlabError> {
    {
        // SAFETY: alive by contract.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        let d = g.depot();
        // SAFETY: lock held.
        if let Some(slot) = unsafe { pop_slot(d, class) } {
            d.update_peak();
            return Ok(slot);
        }
    }
    // Call the hook without the lock, then adopt the slab.
    let block = hooks::alloc_slab(class.layout())?;
    // SAFETY: alive by contract.
    let mut g = unsafe { DepotGuard::lock(ctrl) };
    let d = g.depot();
    // SAFETY: lock held; `block` is fresh from the hook.
    unsafe { adopt(d, block, class, ctrl.cast()) };
    // SAFETY: lock held; a slab with free slots is on a list now.
    let slot = unsafe { pop_slot(d, class) }.expect("a freshly adopted slab has free slots");
    d.update_peak();
    Ok(slot)
}

/// Blocks fresh from the allocation hook, not yet adopted, linked through their first
/// word. Dropping the list (an error, or a panic in the hook) gives every block back.
struct Blocks {
    head: *mut u8,
    layout: Layout,
}

impl Blocks {
    fn new(layout: Layout) -> Self {
        Blocks {
            head: ptr::null_mut(),
            layout,
        }
    }

    fn push(&mut self, block: NonNull<u8>) {
        // SAFETY: `block` is fresh from the hook with `self.layout` (at least 512 bytes,
        // aligned to its size), so its first word is writable and ours; no slab lives in
        // it yet.
        unsafe { block.cast::<*mut u8>().write(self.head) };
        self.head = block.as_ptr();
    }

    fn pop(&mut self) -> Option<NonNull<u8>> {
        let block = NonNull::new(self.head)?;
        // SAFETY: every block on the list had its first word set by `push`, and nothing
        // else writes a listed block.
        self.head = unsafe { block.cast::<*mut u8>().read() };
        Some(block)
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        while let Some(block) = self.pop() {
            // SAFETY: the block came from the hook with `self.layout`, was never adopted,
            // and is off the list now, so nothing uses it (I6).
            unsafe { hooks::free_slab(block, self.layout) };
        }
    }
}

/// A typed object cache: slabs of `SIZE` bytes holding values of `T`, guarded by `L`.
///
/// `new` is `const` and allocates nothing, so a cache can be a `static`; the master slab
/// comes from the allocation hook on first use. Handles are `Clone` and share one master;
/// boxes may outlive every handle, and when the last handle and the last box are gone,
/// every slab is back with the free hook.
///
/// `SIZE` is a power of two from 512 bytes to 1 GiB, and two values of `T` must fit in
/// the master slab; both are checked at compile time.
///
/// ```
/// use slab_core::{SlabBox, SlabCache, SpinLock};
/// slab_core::slab_hooks!(global);
///
/// #[derive(Debug, PartialEq)]
/// struct Particle { pos: [f32; 3], ttl: u16 }
///
/// static PARTICLES: SlabCache<Particle, SpinLock, 4096> = SlabCache::new();
///
/// let p: SlabBox<Particle, _> = PARTICLES.alloc(Particle { pos: [0.0; 3], ttl: 60 });
/// assert_eq!(p.ttl, 60);
/// assert_eq!(PARTICLES.stats().in_use, 1);
/// drop(p);
/// assert_eq!(PARTICLES.stats().in_use, 0);
/// ```
pub struct SlabCache<T, L: LockTrait = SpinLock, const SIZE: usize = 4096> {
    pub(crate) ctrl: AtomicPtr<Control<L>>,
    /// This handle's own magazines, for the `&mut self` fast path.
    pub(crate) mags: HandleMags,
    pub(crate) _marker: Marker<T, L>,
}

/// The marker of a cache of `T` locked by `L`: invariant in `T` without owning one
/// (`fn(T) -> T`), and neither `Send` nor `Sync` by default (`*const L`), so those are
/// granted only by the explicit `unsafe impl`s.
pub(crate) type Marker<T, L> = PhantomData<(fn(T) -> T, *const L)>;

// SAFETY: handles only reach `T` by moving values into slots and handing boxes out, so
// sharing a handle across threads needs `T: Send`; all depot state is behind `L`, which
// must exclude across threads (`Sync`) and be droppable on another thread (`Send`). A
// handle's own magazines are reached only through `&mut self`, never through `&self`.
unsafe impl<T: Send, L: LockTrait + Send + Sync, const SIZE: usize> Sync for SlabCache<T, L, SIZE> {}
// SAFETY: as for `Sync`: a moved handle shares the master with its clones on other threads.
// Its magazines move with it: free slots holding no value, and a pointer to its counter,
// an atomic in the master that only the handle's owner writes outside the lock.
unsafe impl<T: Send, L: LockTrait + Send + Sync, const SIZE: usize> Send for SlabCache<T, L, SIZE> {}

/// Marker for the slab sizes a [`SlabCache`] accepts: powers of two from 512 bytes to
/// 1 GiB.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid slab size",
    label = "slab sizes are powers of two from 512 bytes to 1 GiB",
    note = "pick a power of two such as 4096, 16384 or 65536 for `SIZE`"
)]
pub trait ValidSlabSize {}

/// A slab size as a type, for [`ValidSlabSize`] bounds.
pub struct SlabSize<const N: usize>;

macro_rules! valid_sizes {
    ($($shift:literal)*) => { $(impl ValidSlabSize for SlabSize<{ 1usize << $shift }> {})* };
}
valid_sizes!(9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30);

/// A handle on control block `$ctrl` (null: not yet allocated), with empty magazines: one
/// body for the `const`, loom and `static` constructors and `clone`.
macro_rules! handle {
    ($ctrl:expr) => {
        SlabCache {
            ctrl: AtomicPtr::new($ctrl),
            mags: HandleMags::new(),
            _marker: PhantomData,
        }
    };
}

impl<T, L: LockTrait, const SIZE: usize> SlabCache<T, L, SIZE> {
    pub(crate) const CLASS: Class = match class_of::<T, L>(SIZE) {
        Ok(c) => c,
        Err(e) => panic!("{}", crate::layout_message(e)),
    };

    /// Creates a cache handle. Allocates nothing: the master slab is taken from the hook
    /// on first use, so this works in a `static`.
    ///
    /// Fails to compile if `SIZE` is not a power of two from 512 to 2^30, if `T` is
    /// zero-sized, if two `T`s do not fit a slab, if `align_of::<T>() > SIZE / 4`, or if
    /// `L` is over 16 bytes.
    #[cfg(not(loom))]
    pub const fn new() -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
    {
        let _ = Self::CLASS;
        handle!(ptr::null_mut())
    }

    /// `new` under the loom model checker, whose atomics cannot be built in `const`.
    #[cfg(loom)]
    pub fn new() -> Self
    where
        SlabSize<SIZE>: ValidSlabSize,
    {
        let _ = Self::CLASS;
        handle!(ptr::null_mut())
    }

    pub(crate) fn ctrl_ptr(&self) -> &AtomicPtr<Control<L>> {
        &self.ctrl
    }

    /// `new` without the compile-time checks, for `#[slab_cached]`, which emits them
    /// itself at the user's tokens (so a mistake is reported once, there). Not public API.
    #[doc(hidden)]
    #[cfg(not(loom))]
    pub const fn __new_static() -> Self {
        handle!(ptr::null_mut())
    }

    /// The control block, allocating the master slab on first use.
    #[inline]
    pub(crate) fn control(&self) -> Result<NonNull<Control<L>>, SlabError> {
        match NonNull::new(self.ctrl.load(Ordering::Acquire)) {
            Some(c) => Ok(c),
            None => self.init_master(),
        }
    }

    #[cold]
    fn init_master(&self) -> Result<NonNull<Control<L>>, SlabError> {
        let class = Self::CLASS;
        let block = hooks::alloc_slab(class.layout())?;
        // The control block and the counters lie before `master_first` in the unrotated
        // layout, which the colour rotation never cuts (`slab::Colours`): they are
        // contiguous from the header.
        let header = slab::header_of(block, &class).cast::<u8>();
        // SAFETY: `control_offset + size_of::<Control<L>>() <= master_first`, and the
        // unrotated layout up to `master_first` lies inside the block after the header, so
        // the control block does; aligned (the offset is rounded to its alignment, and the
        // header's colour offset is a multiple of it).
        let ctrl = unsafe { header.add(class.control_offset) }.cast::<Control<L>>();
        // SAFETY: `block` is a fresh, exclusively owned slab-sized block.
        let h = unsafe { slab::init(block, &class, ctrl.cast(), true) };
        // SAFETY: the counters end at or before `master_first` (`Class::new`): in bounds
        // of the fresh block (above), 4-aligned (offsets and stride are multiples of 4).
        let counters = unsafe { header.add(class.counters_offset) }.cast::<AtomicU32>();
        for i in 0..HANDLE_COUNTERS {
            // SAFETY: counter `i` lies in bounds of the block (above).
            let c = unsafe { counters.byte_add(i * class.counters_stride) };
            // SAFETY: in bounds and aligned, not yet initialised, seen by nobody else.
            unsafe { c.write(AtomicU32::new(0)) };
        }
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
            master: h,
            hook_allocs: 1,
            hook_frees: 0,
            mag_heads: [ptr::null_mut(); DEPOT_MAGS],
            mag_counts: [0; DEPOT_MAGS],
            mag_count: 0,
            threads: ptr::null(),
            handle_claims: 0,
            counters,
            counter_stride: class.counters_stride,
            name: core::any::type_name::<T>(),
            lo: block.addr().get(),
            hi: block.addr().get(),
        };
        // SAFETY: `h` is live and on no list; nothing else sees `depot` yet.
        unsafe { link(&mut depot, h, ListId::Empty) };
        // SAFETY: `ctrl` is in bounds and aligned (above) and not yet initialised.
        unsafe {
            ctrl.write(Control {
                lock: L::__fresh(),
                depot: UnsafeCell::new(depot),
            })
        };
        match self.ctrl.compare_exchange(
            ptr::null_mut(),
            ctrl.as_ptr(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(ctrl),
            Err(winner) => {
                // Another thread published its master first: ours was never shared.
                // SAFETY: `ctrl` was written in bounds of `block` above, so projecting to
                // `lock` stays in bounds; no reference is created.
                let lock = unsafe { &raw mut (*ctrl.as_ptr()).lock };
                // SAFETY: the lock was initialised above, never locked, and nobody else
                // saw it; this is its only drop.
                unsafe { ptr::drop_in_place(lock) };
                // SAFETY: `block` came from the hook with this layout, nobody else saw it,
                // and nothing in it is used again.
                unsafe { hooks::free_slab(block, class.layout()) };
                // SAFETY: `compare_exchange` failed, so `winner` is the non-null pointer
                // another thread published.
                Ok(unsafe { NonNull::new_unchecked(winner) })
            }
        }
    }

    /// Places `value` in the cache and returns its box, or hands the value back.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// # slab_core::slab_hooks!(global);
    /// let cache: SlabCache<String> = SlabCache::new();
    /// let b = cache.try_alloc(String::from("hello")).unwrap_or_else(|e| panic!("{e}"));
    /// assert_eq!(*b, "hello");
    /// ```
    ///
    /// # Errors
    /// [`AllocError`] with [`SlabError::OutOfMemory`] when the allocation hook has no
    /// memory for a new slab; `into_inner` returns `value`.
    #[inline]
    pub fn try_alloc(&self, value: T) -> Result<SlabBox<T, Self>, AllocError<T>> {
        match self.raw_alloc() {
            // SAFETY: a fresh slot of this cache, owned by nobody else.
            Ok(slot) => Ok(unsafe { SlabBox::new_in(slot, value) }),
            Err(e) => Err(AllocError::new(value, e)),
        }
    }

    /// Places `value` in the cache and returns its box.
    ///
    /// # Panics
    /// When the allocation hook has no memory, like `Box::new`, with a message that names
    /// `T`. Use [`try_alloc`](Self::try_alloc) to get the value back instead.
    #[inline(always)]
    pub fn alloc(&self, value: T) -> SlabBox<T, Self> {
        // The value goes straight into the slot: no `Result` carrying a `T` in between.
        match self.raw_alloc() {
            // SAFETY: a fresh slot of this cache, owned by nobody else.
            Ok(slot) => unsafe { SlabBox::new_in(slot, value) },
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// A box of uninitialised memory for a `T`, to build large values in place without
    /// putting them on the stack; finish with [`SlabBox::write`] or
    /// [`SlabBox::assume_init`].
    ///
    /// ```
    /// use slab_core::{SlabBox, SlabCache};
    /// # slab_core::slab_hooks!(global);
    /// static BUFFERS: SlabCache<[u8; 65536], slab_core::SpinLock, { 1 << 18 }> = SlabCache::new();
    /// let mut b = BUFFERS.try_alloc_uninit().unwrap();
    /// // SAFETY: the slot is valid for writes of one `[u8; 65536]`.
    /// unsafe { SlabBox::as_mut_ptr(&mut b).cast::<u8>().write_bytes(0xAB, 65536) };
    /// // SAFETY: every byte was written above.
    /// let b = unsafe { b.assume_init() };
    /// assert!(b.iter().all(|&x| x == 0xAB));
    /// ```
    ///
    /// # Errors
    /// [`SlabError::OutOfMemory`] when the allocation hook has no memory.
    pub fn try_alloc_uninit(&self) -> Result<SlabBox<MaybeUninit<T>, Self>, SlabError> {
        let slot = self.raw_alloc()?.cast::<MaybeUninit<T>>();
        // SAFETY: a `MaybeUninit<T>` needs no initialisation; the slot is fresh and ours.
        Ok(unsafe { SlabBox::from_slot(slot) })
    }

    /// Like [`try_alloc_uninit`](Self::try_alloc_uninit), panicking on exhaustion.
    ///
    /// # Panics
    /// When the allocation hook has no memory, naming `T`.
    pub fn alloc_uninit(&self) -> SlabBox<MaybeUninit<T>, Self> {
        match self.try_alloc_uninit() {
            Ok(b) => b,
            Err(e) => alloc_failed::<T>(SIZE, e),
        }
    }

    /// One slot, uninitialised, from the depot.
    #[inline]
    pub(crate) fn raw_alloc(&self) -> Result<NonNull<u8>, SlabError> {
        let ctrl = self.control()?;
        // SAFETY: `ctrl` is initialised and kept alive by this handle.
        let slot = unsafe { depot_alloc(ctrl, &Self::CLASS) }?;
        // SAFETY: a free slot of this cache, ours now.
        unsafe { hardening::on_handout(slot, &Self::CLASS, core::any::type_name::<T>()) };
        Ok(slot)
    }

    /// Whether the slab at `base` belongs to this cache (walks the slab lists: hardening
    /// only, O(slabs); nothing at `base` is read).
    ///
    /// With `exact == false` it only checks that `base` lies within the address range of
    /// the slabs this cache ever held: O(1), and it rejects most foreign pointers (stack,
    /// other heaps, other caches' regions) but not one that falls between its slabs.
    pub(crate) fn owns_slab(&self, base: NonNull<u8>, exact: bool) -> bool {
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return false;
        };
        // SAFETY: alive: this handle (a `static`) counts in `handles`.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        let d = g.depot();
        let a = base.addr().get();
        if a < d.lo || a > d.hi {
            return false;
        }
        !exact || d.holds_slab(a, SIZE)
    }

    /// Runs `f` on the locked depot (allocating the master if needed).
    pub(crate) fn with_depot<R>(&self, f: impl FnOnce(&mut Depot) -> R) -> Result<R, SlabError> {
        let ctrl = self.control()?;
        // SAFETY: alive: this handle counts in `handles`.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        Ok(f(g.depot()))
    }

    /// Counters of this cache, read under the lock. Allocates nothing: a cache that was
    /// never used reports zeros.
    pub fn stats(&self) -> SlabStats {
        let class = Self::CLASS;
        let mut s = SlabStats {
            name: core::any::type_name::<T>(),
            object_size: class.obj_size,
            slot_size: class.stride,
            slab_size: SIZE,
            objects_per_slab: class.slave_slots,
            in_use: 0,
            peak: 0,
            capacity: 0,
            slabs: 0,
            empty_slabs: 0,
            bytes: 0,
            hook_allocs: 0,
            hook_frees: 0,
        };
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return s;
        };
        // SAFETY: alive: this handle counts in `handles`.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        let d = g.depot();
        d.update_peak();
        s.in_use = d.live_objects();
        s.peak = d.peak;
        s.capacity = d.capacity;
        s.slabs = d.slabs;
        s.empty_slabs = d.empty_slaves;
        s.bytes = d.slabs * SIZE;
        s.hook_allocs = d.hook_allocs;
        s.hook_frees = d.hook_frees;
        s
    }

    /// Grows the cache so that the next `n` allocations need no hook call (unless other
    /// threads take the slots first, or frees release slabs in between).
    ///
    /// All or nothing: the slabs are taken from the hook first, and if the hook runs out
    /// midway every one of them goes back before the error is returned, so a failed
    /// `reserve` leaves the cache as it found it.
    ///
    /// ```
    /// use slab_core::{SlabCache, SlabError};
    /// slab_core::slab_hooks!(global);
    /// let cache: SlabCache<u64> = SlabCache::new();
    /// cache.reserve(10_000).unwrap();
    /// let calls = cache.stats().hook_allocs;
    /// let boxes: Vec<_> = (0..10_000).map(|i| cache.alloc(i)).collect();
    /// assert_eq!(cache.stats().hook_allocs, calls);
    /// // An impossible request fails at once, without calling the hook.
    /// assert_eq!(cache.reserve(usize::MAX), Err(SlabError::CapacityOverflow));
    /// assert_eq!(cache.stats().hook_allocs, calls);
    /// # drop(boxes);
    /// ```
    ///
    /// # Errors
    /// - [`SlabError::CapacityOverflow`] if the slabs for `n` objects would take more than
    ///   `isize::MAX` bytes; no hook is called.
    /// - [`SlabError::OutOfMemory`] or [`SlabError::AlignmentMismatch`] if the hook fails;
    ///   the slabs taken before that are given back.
    pub fn reserve(&self, n: usize) -> Result<(), SlabError> {
        let class = Self::CLASS;
        let ctrl = self.control()?;
        let missing = self.with_depot(|d| n.saturating_sub(d.capacity - d.in_use))?;
        if missing == 0 {
            return Ok(());
        }
        let slabs = missing.div_ceil(class.slave_slots);
        if slabs
            .checked_mul(SIZE)
            .is_none_or(|bytes| bytes > isize::MAX as usize)
        {
            return Err(SlabError::CapacityOverflow);
        }
        // Take every slab before adopting any: on failure (or a panicking hook) the guard
        // gives back what was taken.
        let mut taken = Blocks::new(class.layout());
        for _ in 0..slabs {
            taken.push(hooks::alloc_slab(class.layout())?);
        }
        self.with_depot(|d| {
            while let Some(block) = taken.pop() {
                // SAFETY: lock held by `with_depot`; `block` is fresh from the hook, with
                // this cache's layout, and off the guard's list, so nothing else uses it.
                unsafe { adopt(d, block, &class, ctrl.cast()) };
            }
        })
    }

    /// Returns every empty slave slab to the free hook and says how many went back.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// # slab_core::slab_hooks!(global);
    /// let cache: SlabCache<u64> = SlabCache::new();
    /// cache.reserve(5_000).unwrap();
    /// assert!(cache.shrink() > 0);
    /// assert_eq!(cache.stats().slabs, 1); // the master stays
    /// ```
    pub fn shrink(&self) -> usize {
        let class = Self::CLASS;
        if self.ctrl.load(Ordering::Acquire).is_null() {
            return 0;
        }
        let mut chain: *mut SlabHeader = ptr::null_mut();
        let _ = self.with_depot(|d| {
            // Parked magazines go back to their slabs first, so their slabs can empty.
            // SAFETY: lock held by `with_depot`.
            unsafe { magazine::drain_depot(d, &class, &mut chain) };
            let mut cur = d.empty;
            while let Some(h) = NonNull::new(cur) {
                let (next, is_master) = {
                    // SAFETY: `h` is on the empty list, so a live header; the lock is held
                    // (inside `with_depot`), which guards its `state`. The shared reference
                    // ends with this block, before `retire` writes through `h`.
                    let st = unsafe { &(*h.as_ptr()).state };
                    (st.next, st.is_master)
                };
                cur = next;
                if !is_master {
                    // SAFETY: the lock is held; `h` is an empty slave on the empty list.
                    unsafe { retire(d, h, &class) };
                    // SAFETY: just retired, freed only after unlocking.
                    unsafe { magazine::link_retired(&mut chain, h) };
                }
            }
        });
        // SAFETY: retired under the lock, which `with_depot` released.
        unsafe { magazine::free_retired(chain, &class) }
    }

    /// Sets how many empty slave slabs the cache keeps for reuse (default
    /// [`DEFAULT_KEEP_EMPTY`]); frees beyond that return empty slabs to the hook at once.
    ///
    /// The default keeps alloc/free at a slab boundary off the hooks. A workload that
    /// frees a whole burst and allocates it again can keep its peak instead, with
    /// `keep_empty(usize::MAX)`, and hand it back with [`shrink`](Self::shrink) when it
    /// chooses: the next burst then takes no hook call and no new slab header
    /// (`SLAB_BENCH_KEEP_EMPTY` in the `s2-phases` benchmark measures the difference).
    /// Memory is then held at the peak; with the default, it goes back to the hooks.
    ///
    /// ```
    /// use slab_core::SlabCache;
    /// # slab_core::slab_hooks!(global);
    /// let cache: SlabCache<[u64; 8]> = SlabCache::new();
    /// cache.keep_empty(usize::MAX);
    /// let burst: Vec<_> = (0..1_000).map(|i| cache.alloc([i; 8])).collect();
    /// let (slabs, hook_allocs) = (cache.stats().slabs, cache.stats().hook_allocs);
    /// drop(burst);
    /// assert_eq!(cache.stats().slabs, slabs); // every slab kept, now empty
    /// let burst: Vec<_> = (0..1_000).map(|i| cache.alloc([i; 8])).collect();
    /// assert_eq!(cache.stats().hook_allocs, hook_allocs); // the hook was not called
    /// drop(burst);
    /// assert_eq!(cache.shrink(), slabs - 1); // all but the master go back on request
    /// ```
    pub fn keep_empty(&self, n: usize) {
        let _ = self.with_depot(|d| d.keep_empty = n);
    }
}

impl<T, L: LockTrait, const SIZE: usize> Default for SlabCache<T, L, SIZE>
where
    SlabSize<SIZE>: ValidSlabSize,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<T, L: LockTrait, const SIZE: usize> Clone for SlabCache<T, L, SIZE> {
    /// Another handle to the same master (allocating it if this handle has not yet).
    ///
    /// # Panics
    /// If the master slab cannot be allocated.
    fn clone(&self) -> Self {
        let ctrl = match self.control() {
            Ok(c) => c,
            Err(e) => alloc_failed::<T>(SIZE, e),
        };
        // SAFETY: alive: `self` counts in `handles`.
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        g.depot().handles += 1;
        handle!(ctrl.as_ptr())
    }
}

impl<T, L: LockTrait, const SIZE: usize> Drop for SlabCache<T, L, SIZE> {
    fn drop(&mut self) {
        let Some(ctrl) = NonNull::new(self.ctrl.load(Ordering::Acquire)) else {
            return;
        };
        let class = Self::CLASS;
        let mut retired = ptr::null_mut();
        let destroy_now = {
            // SAFETY: alive: this handle still counts in `handles`.
            let mut g = unsafe { DepotGuard::lock(ctrl) };
            let d = g.depot();
            // SAFETY: the lock is held and `d` is the depot of the master this handle's
            // magazines came from.
            unsafe { self.mags.give_back(d, &class, &mut retired) };
            d.handles -= 1;
            if d.handles == 0 {
                // No handle is left to allocate, so magazines parked by handles would
                // keep their slabs (and the master) forever: send them back now.
                // SAFETY: the lock is held; `class` is this depot's geometry.
                unsafe { magazine::drain_depot(d, &class, &mut retired) };
            }
            d.handles == 0 && d.in_use == 0
        };
        // SAFETY: armed only when no handle and no slot is left; the lock is released.
        let _destroy = unsafe { DestroyOnDrop::new(destroy_now, ctrl, &class) };
        // SAFETY: retired under the lock, which is released now.
        unsafe { magazine::free_retired(retired, &class) };
    }
}

impl<T, L: LockTrait, const SIZE: usize> core::fmt::Debug for SlabCache<T, L, SIZE> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SlabCache").field(&self.stats()).finish()
    }
}

impl<T, L: LockTrait, const SIZE: usize> Pool for SlabCache<T, L, SIZE> {
    type Lock = L;
    const SLAB_SIZE: usize = SIZE;
}

// SAFETY: `release` returns a slot of this cache's geometry to its own slab through the
// depot; boxes typed `SlabBox<T, SlabCache<T, L, SIZE>>` are only made from slots of a
// cache with this `T`, `L` and `SIZE` (or by `from_raw`, whose contract demands it).
unsafe impl<T, L: LockTrait, const SIZE: usize> crate::boxed::sealed::Sealed
    for SlabCache<T, L, SIZE>
{
    const CLASS: Class = Self::CLASS;

    fn owns(_slab: NonNull<u8>) -> Option<bool> {
        None // a type names many runtime caches; which one is unknown here
    }

    #[inline]
    unsafe fn release(slot: NonNull<u8>) {
        // SAFETY: `slot` was handed out by a cache of this type and holds no value
        // (`release`'s contract), so it belongs to the depot of a live cache (the slot
        // keeps it alive, I4) of geometry `Self::CLASS` and lock `L`.
        unsafe { depot_free::<L>(slot, &Self::CLASS, core::any::type_name::<T>()) }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn alloc_failed<T>(size: usize, e: SlabError) -> ! {
    panic!(
        "slab_core: could not allocate a `{}` ({} bytes) from its {size}-byte slab cache: {e}; \
         use `try_alloc`/`try_new_boxed` to get the value back instead",
        core::any::type_name::<T>(),
        size_of::<T>()
    )
}
