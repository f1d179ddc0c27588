//! The master's control block: the cache's lock and its depot, at a fixed offset in the
//! master slab, and everything that needs the two together: the lock guard, the creation
//! and publication of a master, its destruction, and the depot paths that call the hooks
//! (growth before the lock, freeing retired slabs after it).
//!
//! The first slab a cache allocates is its **master**: besides slots it holds the
//! [`Control`] block and the handle counters. Every other slab is a **slave** whose header
//! points at the master's control block, so an object finds its cache by masking its
//! address to its slab header and following one pointer (I1).
//!
//! The control block also holds the cache's memory source (I19): growth takes slabs from
//! it, and the slabs a depot operation or the destruction retires go back to a copy of it
//! taken before the lock is released (after that, the control block may be gone).
//!
//! This module talks to `depot`, `slab`, `geometry`, `hardening`, `source`, `lock`, `error`
//! and `sync`.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};

use crate::depot::{Depot, Retired};
use crate::error::SlabError;
use crate::geometry::{Class, HANDLE_COUNTERS, LayoutError, Spec};
use crate::hardening;
use crate::lock::LockTrait;
use crate::registry::{self, Node};
use crate::slab::{self, SlabHeader};
use crate::source::{SlabSource, alloc_slab, free_slab};
use crate::sync::{AtomicPtr, AtomicU32, Ordering};

/// The control block inside the master slab.
#[repr(C)]
pub(crate) struct Control<L, S> {
    lock: L,
    depot: UnsafeCell<Depot>,
    /// Where the cache's slabs come from and go back to (I19). Written once, by
    /// `init_master`, and never changed: read without the lock while the control block is
    /// alive. A zero-sized source takes no room.
    source: S,
    /// The cache's entry in the registry of every cache (I22).
    node: Node,
}

impl<L, S> Control<L, S> {
    /// The control block that holds registry node `node`.
    ///
    /// # Safety
    /// `node` is the `node` field of a `Control<L, S>`.
    #[inline]
    pub(crate) unsafe fn of_node(node: NonNull<Node>) -> NonNull<Self> {
        // SAFETY: `node` lies `offset_of!(Self, node)` bytes into its control block
        // (contract), so stepping back stays in the same allocation, with its provenance.
        unsafe { node.byte_sub(core::mem::offset_of!(Self, node)) }.cast()
    }
}

/// The registry node of the control block `ctrl` (no reference made).
#[inline]
fn node_of<L, S>(ctrl: NonNull<Control<L, S>>) -> NonNull<Node> {
    // SAFETY: a projection to a field of the control block, in bounds of it; no reference.
    let p = unsafe { &raw mut (*ctrl.as_ptr()).node };
    // SAFETY: derived from a non-null pointer.
    unsafe { NonNull::new_unchecked(p) }
}

/// A copy of the source of the control block `ctrl`.
///
/// # Safety
/// `ctrl` is an initialised control block that stays alive during the call (I4).
#[inline]
pub(crate) unsafe fn source_of<L, S: Copy>(ctrl: NonNull<Control<L, S>>) -> S {
    // SAFETY: alive and initialised (contract, I4); `source` is written once before the
    // master is published and never after (I15, I19), so a copy races with no write. No
    // reference is made.
    unsafe { (*ctrl.as_ptr()).source }
}

/// The geometry of `SlabCache<T, L, SIZE, S>`, or the reason it is invalid.
pub(crate) const fn class_of<T, L, S: SlabSource>(slab_size: usize) -> Result<Class, LayoutError> {
    class_with::<T, L, S>(slab_size, hardening::CHECKS)
}

/// The geometry with or without the hardening canary. Choices that must not depend on the
/// build profile (the automatic slab size) use `checks = false`.
pub(crate) const fn class_with<T, L, S: SlabSource>(
    slab_size: usize,
    checks: bool,
) -> Result<Class, LayoutError> {
    Class::new(Spec {
        object: Layout::new::<T>(),
        slab_size,
        header: Layout::new::<SlabHeader>(),
        control: Layout::new::<Control<L, S>>(),
        lock_size: size_of::<L>(),
        checks,
        kept: S::__KEPT,
    })
}

/// Guard for the depot of one control block: locks on creation, unlocks on drop. The only
/// way to the depot (I9).
pub(crate) struct DepotGuard<'a, L: LockTrait, S> {
    ctrl: &'a Control<L, S>,
}

impl<'a, L: LockTrait, S> DepotGuard<'a, L, S> {
    /// # Safety
    /// `ctrl` points to an initialised control block that stays alive while the guard
    /// lives (the caller holds a handle or an outstanding slot of the cache, I4).
    #[inline]
    pub(crate) unsafe fn lock(ctrl: NonNull<Control<L, S>>) -> Self {
        // SAFETY: alive by the caller's contract (I4); only `lock` (a `Sync`-safe type by
        // its own contract, I9) and the `UnsafeCell` are reached through this shared
        // reference.
        let ctrl = unsafe { ctrl.as_ref() };
        ctrl.lock.lock();
        DepotGuard { ctrl }
    }

    /// Shared view of the depot (for the scanner).
    pub(crate) fn depot_ref(&self) -> &Depot {
        // SAFETY: the lock is held for the guard's whole life (I9); `&self` excludes
        // `depot()`.
        unsafe { &*self.ctrl.depot.get() }
    }

    #[inline]
    pub(crate) fn depot(&mut self) -> &mut Depot {
        // SAFETY: the lock is held for the guard's whole life, so this is the only access
        // to the depot (I9); `&mut self` prevents two live borrows through one guard.
        unsafe { &mut *self.ctrl.depot.get() }
    }
}

impl<L: LockTrait, S> Drop for DepotGuard<'_, L, S> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: acquired in `DepotGuard::lock` and not released since (I9).
        unsafe { self.ctrl.lock.unlock() }
    }
}

/// Allocates a master slab, builds its control block and publishes it in `published`
/// (null until then) with a compare-exchange; if another thread published one first, this
/// one goes back to the hook and the winner's is returned (I15).
#[cold]
pub(crate) fn create_master<L: LockTrait, S: SlabSource + Copy>(
    published: &AtomicPtr<Control<L, S>>,
    class: &Class,
    name: &'static str,
    source: S,
    report: unsafe fn(NonNull<Node>, &mut crate::stats::SlabStats),
) -> Result<NonNull<Control<L, S>>, SlabError> {
    let block = alloc_slab(&source, class.layout())?;
    // SAFETY: `block` is a fresh, exclusively owned slab-sized block from `source` (I1,
    // I6), of this cache's layout.
    let ctrl = unsafe { init_master::<L, S>(block, class, name, source, report) };
    match published.compare_exchange(
        ptr::null_mut(),
        ctrl.as_ptr(),
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            // SAFETY: the node of the control block just published, on no list; it stays
            // put until `destroy` unregisters it, and its `report` locks this cache's depot
            // (I22). No depot lock is held here.
            unsafe { registry::register(node_of(ctrl)) };
            Ok(ctrl)
        }
        Err(winner) => {
            // Another thread published its master first: ours was never shared (I15).
            // SAFETY: `ctrl` was written in bounds of `block` by `init_master` (I1), so
            // projecting to `lock` stays in bounds; no reference is created.
            let lock = unsafe { &raw mut (*ctrl.as_ptr()).lock };
            // SAFETY: the lock was initialised by `init_master`, never locked, and nobody
            // else saw it (I15); this is its only drop.
            unsafe { ptr::drop_in_place(lock) };
            // SAFETY: `block` came from `source` with this layout, nobody else saw it (I15),
            // and nothing in it is used again (I6).
            unsafe { free_slab(&source, block, class.layout()) };
            // SAFETY: `compare_exchange` failed, so `winner` is the non-null pointer
            // another thread published, with its control block complete (I15).
            Ok(unsafe { NonNull::new_unchecked(winner) })
        }
    }
}

/// Makes `block` a master slab: its header, its handle counters, and its control block
/// with a new depot (one handle, the master on the empty list) and `source`, which it
/// returns.
///
/// # Safety
/// `block` is a fresh slab-sized, slab-aligned block from `source` with `class.layout()`,
/// owned by the caller alone (I1, I6).
unsafe fn init_master<L: LockTrait, S>(
    block: NonNull<u8>,
    class: &Class,
    name: &'static str,
    source: S,
    report: unsafe fn(NonNull<Node>, &mut crate::stats::SlabStats),
) -> NonNull<Control<L, S>> {
    // The control block and the counters lie before `master_first` in the unrotated
    // layout, which the colour rotation never cuts (`geometry::Colours`): they are
    // contiguous from the header (I1).
    let header = slab::header_of(block, class).cast::<u8>();
    // SAFETY: `control_offset + size_of::<Control<L>>() <= master_first`, and the
    // unrotated layout up to `master_first` lies inside the block after the header (I1),
    // so the control block does; aligned (the offset is rounded to its alignment, and the
    // header's colour offset is a multiple of it).
    let ctrl = unsafe { header.add(class.control_offset) }.cast::<Control<L, S>>();
    // SAFETY: `block` is a fresh, exclusively owned slab-sized block from the hook
    // (contract, I1, I6), and `ctrl` is where this master's control block goes.
    let h = unsafe { slab::init(block, class, ctrl.cast(), true) };
    // SAFETY: the counters end at or before `master_first` (`Class::new`): in bounds of
    // the fresh block (above, I1), 4-aligned (offsets and stride are multiples of 4).
    let counters = unsafe { header.add(class.counters_offset) }.cast::<AtomicU32>();
    for i in 0..HANDLE_COUNTERS {
        // SAFETY: counter `i` lies in bounds of the block (above, I1).
        let c = unsafe { counters.byte_add(i * class.counters_stride) };
        // SAFETY: in bounds and aligned (above, I1), not yet initialised, seen by nobody else
        // (the master is not published yet, I15).
        unsafe { c.write(AtomicU32::new(0)) };
    }
    // SAFETY: `h` is the live header of this fresh master of geometry `class` (I1), on no
    // list and seen by nobody else (I15); the counters were initialised above.
    let depot = unsafe { Depot::new(h, class, counters, name) };
    // SAFETY: `ctrl` is in bounds and aligned (above, I1) and not yet initialised; nobody
    // else sees it before it is published (I15).
    unsafe {
        ctrl.write(Control {
            lock: L::__fresh(),
            depot: UnsafeCell::new(depot),
            source,
            node: Node::new(report),
        })
    };
    ctrl
}

/// Frees every slab of a cache whose last handle and last slot are gone: the master, then
/// the slaves (a free hook that panics does not strand the others, see [`Retired::free`]).
///
/// # Safety
/// `ctrl` is the control block of a cache with `handles == 0` and `in_use == 0`, its lock
/// released; nothing else can reach it any more (I4).
unsafe fn destroy<L: LockTrait, S: SlabSource + Copy>(ctrl: NonNull<Control<L, S>>, class: &Class) {
    // SAFETY: the node of this cache's control block, linked at its creation (I22); no
    // depot lock is held (contract). After this no lister can reach the cache.
    unsafe { registry::unregister(node_of(ctrl)) };
    // SAFETY: `ctrl` points to an initialised control block (contract) that nobody else
    // can reach any more (I4, and unlisted above, I22), so a shared reference to it is
    // valid until its memory goes back below; it is last used to reach the depot.
    let control = unsafe { ctrl.as_ref() };
    // The source lives in the master, which goes back first: copy it out (I19).
    let source = control.source;
    // SAFETY: nobody else can reach the control block (I4), so this is the only access to
    // the depot through its `UnsafeCell`; `control` is not used to reach it again.
    let d = unsafe { &mut *control.depot.get() };
    // SAFETY: no handle and no slot is left and nothing else can reach the cache
    // (contract, I4); `d` is not used again.
    let retired = unsafe { d.retire_all() };
    // SAFETY: `ctrl` is in bounds of the master slab (contract, I1), so projecting to `lock`
    // stays in bounds; no reference is created.
    let lock = unsafe { &raw mut (*ctrl.as_ptr()).lock };
    // SAFETY: the lock is initialised and unlocked, and unreachable by anyone else (I4);
    // dropping it in place before the master's memory goes back is its last use (`d` and
    // `control` are not used again).
    unsafe { ptr::drop_in_place(lock) };
    // SAFETY: every slab on the list came from `source` with `class.layout()`, is dead
    // (magic cleared) and unreachable (I13, I19); the master's control block was dropped
    // above, and no lock is held.
    unsafe { retired.free(class, &source) };
}

/// Destroys a cache when dropped, if armed: the last step of a free or a handle's drop,
/// which must happen even if freeing a retired slab before it panics in the hook (I6).
pub(crate) struct DestroyOnDrop<'c, L: LockTrait, S: SlabSource + Copy> {
    ctrl: NonNull<Control<L, S>>,
    armed: bool,
    class: &'c Class,
}

impl<'c, L: LockTrait, S: SlabSource + Copy> DestroyOnDrop<'c, L, S> {
    /// A disarmed guard for the cache of `ctrl`.
    #[inline]
    pub(crate) fn new(ctrl: NonNull<Control<L, S>>, class: &'c Class) -> Self {
        DestroyOnDrop {
            ctrl,
            armed: false,
            class,
        }
    }

    /// Arms the guard.
    ///
    /// # Safety
    /// Under the cache's lock, its depot says no handle and no slot is left
    /// (`Depot::is_unused`): nothing else can reach the cache any more (I4). The guard is
    /// dropped after that lock is released.
    #[inline]
    pub(crate) unsafe fn arm(&mut self) {
        self.armed = true;
    }
}

impl<L: LockTrait, S: SlabSource + Copy> Drop for DestroyOnDrop<'_, L, S> {
    #[inline]
    fn drop(&mut self) {
        if self.armed {
            // SAFETY: armed only for a cache with no handle and no slot left, and dropped
            // after its lock was released (`arm`'s contract): unreachable by anyone else
            // (I4).
            unsafe { destroy(self.ctrl, self.class) };
        }
    }
}

/// Locks the depot of `ctrl`, runs `f` on it with a list for the slabs it retires, and
/// after unlocking gives those slabs back to the cache's source (I13): the one way a
/// depot operation that can empty slabs ends.
///
/// # Safety
/// `ctrl` is an initialised control block of geometry `class`, kept alive by the caller
/// until the lock is released (I4).
#[inline]
pub(crate) unsafe fn with_retiring<L: LockTrait, S: SlabSource + Copy, R>(
    ctrl: NonNull<Control<L, S>>,
    class: &Class,
    f: impl FnOnce(&mut Depot, &mut Retired) -> R,
) -> R {
    let mut retired = Retired::new();
    let (r, source) = {
        // SAFETY: alive by contract (I4).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        let r = f(g.depot(), &mut retired);
        // Once the lock is released, another thread may destroy the cache, so the slabs go
        // back through a copy of its source, taken now, and only when there are any: the
        // paths that retire nothing never read the source (I19).
        // SAFETY: alive while the lock is held (contract, I4).
        let source = (retired.len() != 0).then(|| unsafe { source_of(ctrl) });
        (r, source)
    };
    if let Some(source) = source {
        // SAFETY: retired under the lock (I13), which is released now; `class` is their
        // geometry and `source` a copy of the source they came from (I19).
        unsafe { retired.free(class, &source) };
    }
    r
}

/// Takes something from the depot of `ctrl` with `take`, growing the cache by one slab
/// when `take` finds nothing: the hook is called without the lock, then the new slab is
/// adopted and `take` retried in one critical section (another thread may have returned
/// slots meanwhile: they go first, and the new slab stays listed).
///
/// # Safety
/// `ctrl` is an initialised control block of geometry `class`, kept alive by the caller
/// (I4).
pub(crate) unsafe fn take_or_grow<L: LockTrait, S: SlabSource + Copy, R>(
    ctrl: NonNull<Control<L, S>>,
    class: &Class,
    mut take: impl FnMut(&mut Depot) -> Option<R>,
) -> Result<R, SlabError> {
    {
        // SAFETY: alive by contract (I4).
        let mut g = unsafe { DepotGuard::lock(ctrl) };
        if let Some(r) = take(g.depot()) {
            return Ok(r);
        }
    }
    let retake = |d: &mut Depot| take(d).expect("a freshly adopted slab has free slots");
    // SAFETY: alive by contract (I4), of geometry `class`.
    unsafe { grow(ctrl, class, 1, retake) }
}

/// Grows the cache by `slabs` slave slabs: takes them all from the allocation hook without
/// the lock (a hook may allocate from slab caches, this one included), then adopts them
/// and runs `then` in one critical section. All or nothing: if the hook fails or panics
/// midway, the slabs taken so far go back to it (I6).
///
/// # Safety
/// `ctrl` is an initialised control block of geometry `class`, kept alive by the caller
/// (I4).
pub(crate) unsafe fn grow<L: LockTrait, S: SlabSource + Copy, R>(
    ctrl: NonNull<Control<L, S>>,
    class: &Class,
    slabs: usize,
    then: impl FnOnce(&mut Depot) -> R,
) -> Result<R, SlabError> {
    // SAFETY: alive by contract (I4).
    let source = unsafe { source_of(ctrl) };
    let mut taken = Blocks::new(class.layout(), source);
    for _ in 0..slabs {
        taken.push(alloc_slab(&source, class.layout())?);
    }
    // SAFETY: alive by contract (I4).
    let mut g = unsafe { DepotGuard::lock(ctrl) };
    let d = g.depot();
    while let Some(block) = taken.pop() {
        // SAFETY: the lock is held (the guard); `block` is fresh from the hook with this
        // cache's layout, and off the list, so nothing else uses it (I6); `ctrl` is this
        // depot's control block.
        unsafe { d.adopt(block, class, ctrl.cast()) };
    }
    Ok(then(d))
}

/// Blocks fresh from the source, not yet adopted. The newest is held aside, the others
/// linked through their first word. Dropping the list (an error, or a panic in the
/// source) gives every block back (I6).
struct Blocks<S: SlabSource> {
    newest: Option<NonNull<u8>>,
    older: *mut u8,
    layout: Layout,
    source: S,
}

impl<S: SlabSource> Blocks<S> {
    fn new(layout: Layout, source: S) -> Self {
        Blocks {
            newest: None,
            older: ptr::null_mut(),
            layout,
            source,
        }
    }

    fn push(&mut self, block: NonNull<u8>) {
        let Some(older) = self.newest.replace(block) else {
            return;
        };
        // SAFETY: `older` is fresh from the hook with `self.layout` (at least 512 bytes,
        // aligned to its size), so its first word is writable and ours (I6); no slab lives
        // in it yet.
        unsafe { older.cast::<*mut u8>().write(self.older) };
        self.older = older.as_ptr();
    }

    fn pop(&mut self) -> Option<NonNull<u8>> {
        if let Some(block) = self.newest.take() {
            return Some(block);
        }
        let block = NonNull::new(self.older)?;
        // SAFETY: every block on the list had its first word set by `push`, and nothing
        // else writes a listed block (I6).
        self.older = unsafe { block.cast::<*mut u8>().read() };
        Some(block)
    }
}

impl<S: SlabSource> Drop for Blocks<S> {
    fn drop(&mut self) {
        while let Some(block) = self.pop() {
            // SAFETY: the block came from `self.source` with `self.layout`, was never
            // adopted, and is off the list now, so nothing uses it (I6).
            unsafe { free_slab(&self.source, block, self.layout) };
        }
    }
}

/// Takes one slot from the depot of `ctrl`, growing the cache by a slave slab if needed.
///
/// # Safety
/// `ctrl` is an initialised control block of geometry `class`, kept alive by the caller
/// (I4).
pub(crate) unsafe fn depot_alloc<L: LockTrait, S: SlabSource + Copy>(
    ctrl: NonNull<Control<L, S>>,
    class: &Class,
) -> Result<NonNull<u8>, SlabError> {
    // SAFETY: `d` is locked (reached through the guard, I9) and `class` is its geometry.
    let take = |d: &mut Depot| unsafe { d.alloc_slot(class) };
    // SAFETY: alive by contract (I4), of geometry `class`.
    unsafe { take_or_grow(ctrl, class, take) }
}

/// Returns a slot to its slab (the depot path of every free), and destroys the cache if
/// that was its last slot and no handle is left.
///
/// # Safety
/// `slot` was handed out by the depot of a live cache of geometry `class` and lock `L`,
/// holds no value, and is not used again (I2, I3).
pub(crate) unsafe fn depot_free<L: LockTrait, S: SlabSource + Copy>(
    slot: NonNull<u8>,
    class: &Class,
    name: &str,
) {
    let h = slab::header_of(slot, class);
    if hardening::CHECKS {
        slab::check_header(h, name);
    }
    // SAFETY: `h` is the live header of the slot's slab (the slot is outstanding, so the
    // slab and its master are alive, I4); `master` is written once at init and read
    // through the raw pointer (I12).
    let ctrl = unsafe { (*h.as_ptr()).master }.cast::<Control<L, S>>();
    let mut destroy = DestroyOnDrop::new(ctrl, class);
    let give = |d: &mut Depot, retired: &mut Retired| {
        // SAFETY: the lock is held (`d` comes from the guard, I9); the slot was handed out
        // by this depot and is ours and empty (contract, I2).
        unsafe { d.return_slot(slot, class, retired) };
        if d.is_unused() {
            // SAFETY: under the lock, no handle and no slot is left; `destroy` is dropped
            // after `with_retiring` has released the lock (I4).
            unsafe { destroy.arm() };
        }
    };
    // SAFETY: the outstanding slot keeps the control block alive (I4).
    unsafe { with_retiring(ctrl, class, give) };
}
