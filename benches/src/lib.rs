//! The implementations that the slab-core benchmarks compare (issue 5), behind one small
//! interface, [`Imp`], so every scenario runs the same loop on each of them.
//!
//! - [`SysBox`]: `Box` on the system allocator (glibc malloc; this crate sets no
//!   `#[global_allocator]`).
//! - [`Mi`]: mimalloc called directly through `GlobalAlloc` on `mimalloc::MiMalloc`.
//! - [`Seed`]: the seed `attachable-slab-allocator` 0.1.0 with its `SpinLock` or `NoLock`,
//!   4 KiB slabs from the system allocator (its README's hooks).
//! - [`Heapless`]: a `heapless` 0.9 `box_pool!` (lock-free Treiber stack) over a block
//!   array given up front.
//! - [`Sharded`]: a `sharded_slab::Slab` (insert / remove by key).
//! - [`ObjPool`]: an `object_pool::Pool` of boxes (pull / drop).
//! - [`Floor`]: a bare single-threaded intrusive free list, the floor.
//! - [`OursRuntime`]: handles of a runtime `slab_core::SlabCache` in a `static`, each with
//!   its own magazine (`alloc_mut` / `free`).
//! - [`OursMacro`]: `T::new_boxed` on the `#[slab_cached]` types [`Cached64`] and [`CachedPacket`].
//!
//! Every `alloc` writes the whole object (`Obj::make`); every `free` returns it.

use core::alloc::{GlobalAlloc, Layout};
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::{self, NonNull};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use slab_core::{SlabBox, SlabCache, SpinLock};

pub mod shared;

// Where slab-core takes slab memory: the hooks a user gets by default (Rust's global
// allocator, here the system allocator).
slab_core::slab_hooks!(global);

/// A 64-byte object.
pub type Obj64 = [u64; 8];
/// A 1500-byte packet, 4-byte aligned (the seed rejects 1-byte-aligned types; 1500 is a
/// multiple of 4, so the size stays 1500 for every implementation).
#[repr(C, align(4))]
pub struct Packet(pub [u8; 1500]);

const _: () = assert!(size_of::<Packet>() == 1500);

/// An object the benchmarks allocate: how to build one from a counter.
pub trait Obj: Send + Sync + Sized + 'static {
    /// Short name used in benchmark ids ("64B", "packet").
    const NAME: &'static str;
    /// A value derived from `i`; building it writes every byte of the object.
    fn make(i: usize) -> Self;
    /// The one `sharded_slab::Slab` of this type (shared by every scenario).
    fn sharded_slab() -> &'static sharded_slab::Slab<Self>;
    /// The one `object_pool::Pool` of this type (shared by every scenario).
    fn object_pool() -> &'static object_pool::Pool<Box<Self>>;
}

macro_rules! shared_peers {
    ($t:ty) => {
        fn sharded_slab() -> &'static sharded_slab::Slab<$t> {
            static S: OnceLock<sharded_slab::Slab<$t>> = OnceLock::new();
            S.get_or_init(sharded_slab::Slab::new)
        }
        fn object_pool() -> &'static object_pool::Pool<Box<$t>> {
            static P: OnceLock<object_pool::Pool<Box<$t>>> = OnceLock::new();
            P.get_or_init(|| object_pool::Pool::new(0, || Box::new(<$t>::make(0))))
        }
    };
}

impl Obj for Obj64 {
    const NAME: &'static str = "64B";
    #[inline(always)]
    fn make(i: usize) -> Self {
        [i as u64; 8]
    }
    shared_peers!(Obj64);
}

impl Obj for Packet {
    const NAME: &'static str = "packet";
    #[inline(always)]
    fn make(i: usize) -> Self {
        Packet([i as u8; 1500])
    }
    shared_peers!(Packet);
}

/// One implementation under test: allocate-and-write, and free.
///
/// Multi-threaded scenarios give each thread its own `clone()` of a `Sync` implementation
/// (for most that is a unit or a `&'static`; for the seed it is a cache handle clone).
pub trait Imp<T> {
    /// What the user holds for a live object (a box, a key, a raw pointer).
    type Handle;
    /// Allocates an object holding `value`.
    fn alloc(&mut self, value: T) -> Self::Handle;
    /// Frees an object allocated by this implementation (or a clone of it).
    fn free(&mut self, h: Self::Handle);
}

// ---------------------------------------------------------------------------------------
// Box on glibc.

/// `Box<T>` on the system allocator.
#[derive(Clone, Copy, Default)]
pub struct SysBox;

impl<T> Imp<T> for SysBox {
    type Handle = Box<T>;
    #[inline(always)]
    fn alloc(&mut self, value: T) -> Box<T> {
        Box::new(value)
    }
    #[inline(always)]
    fn free(&mut self, h: Box<T>) {
        drop(h);
    }
}

// ---------------------------------------------------------------------------------------
// mimalloc through GlobalAlloc.

/// A box whose memory comes from `mimalloc::MiMalloc` through `GlobalAlloc`.
pub struct MiBox<T>(NonNull<T>);

// SAFETY: `MiBox<T>` owns its `T` like `Box<T>`, and mimalloc frees from any thread.
unsafe impl<T: Send> Send for MiBox<T> {}
// SAFETY: shared access only hands out `&T`, like `Box<T>`.
unsafe impl<T: Sync> Sync for MiBox<T> {}

impl<T> MiBox<T> {
    /// Allocates from mimalloc and moves `value` in.
    #[inline(always)]
    pub fn new(value: T) -> Self {
        let layout = Layout::new::<T>();
        // SAFETY: every `T` benchmarked here has a non-zero size.
        let p = unsafe { mimalloc::MiMalloc.alloc(layout) }.cast::<T>();
        let Some(p) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(layout)
        };
        // SAFETY: `p` is fresh, aligned and sized for `T`.
        unsafe { p.write(value) };
        MiBox(p)
    }
}

impl<T> Drop for MiBox<T> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the box owns an initialised `T`.
        unsafe { ptr::drop_in_place(self.0.as_ptr()) };
        // SAFETY: the memory came from `MiMalloc.alloc` with this layout.
        unsafe { mimalloc::MiMalloc.dealloc(self.0.as_ptr().cast(), Layout::new::<T>()) };
    }
}

/// mimalloc through `GlobalAlloc`.
#[derive(Clone, Copy, Default)]
pub struct Mi;

impl<T> Imp<T> for Mi {
    type Handle = MiBox<T>;
    #[inline(always)]
    fn alloc(&mut self, value: T) -> MiBox<T> {
        MiBox::new(value)
    }
    #[inline(always)]
    fn free(&mut self, h: MiBox<T>) {
        drop(h);
    }
}

// ---------------------------------------------------------------------------------------
// The seed: attachable-slab-allocator 0.1.0.

/// The seed's link-time hooks: 4 KiB slabs from the system allocator, as in its README.
/// Its symbols differ from slab-core's, so both sets coexist in one binary.
mod seed_hooks {
    #![allow(missing_docs, unreachable_pub)]
    use attachable_slab_allocator::{Result, define_allocation_hooks};
    use core::alloc::Layout;
    use core::ptr::NonNull;

    fn seed_alloc(layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: the seed asks for whole slabs, never a zero-sized layout.
        NonNull::new(unsafe { std::alloc::alloc(layout) })
    }

    fn seed_free(ptr: NonNull<u8>, layout: Layout) -> Result<()> {
        // SAFETY: the seed returns slabs it took from `seed_alloc` with the same layout.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
        Ok(())
    }

    define_allocation_hooks!(seed_alloc, seed_free);
}

pub use attachable_slab_allocator::locks::{NoLock as SeedNoLock, SpinLock as SeedSpinLock};

/// The seed's slab size in these benchmarks (the size its README uses).
pub const SEED_SLAB: usize = 4096;

/// A seed cache handle (4 KiB slabs); `clone()` shares the master slab.
pub struct Seed<T, L: attachable_slab_allocator::locks::LockTrait>(
    attachable_slab_allocator::SlabCache<T, L, SEED_SLAB>,
);

impl<T, L: attachable_slab_allocator::locks::LockTrait> Seed<T, L> {
    /// A new seed cache (takes its master slab from the hook now).
    pub fn new() -> Self {
        Seed(attachable_slab_allocator::SlabCache::new().expect("seed SlabCache::new"))
    }
}

impl<T, L: attachable_slab_allocator::locks::LockTrait> Default for Seed<T, L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, L: attachable_slab_allocator::locks::LockTrait> Clone for Seed<T, L> {
    fn clone(&self) -> Self {
        Seed(self.0.clone())
    }
}

impl<T, L: attachable_slab_allocator::locks::LockTrait> Imp<T> for Seed<T, L> {
    type Handle = attachable_slab_allocator::SlabBox<T, L, SEED_SLAB>;
    #[inline(always)]
    fn alloc(&mut self, value: T) -> Self::Handle {
        let b = self.0.alloc().expect("seed alloc");
        // SAFETY: the seed hands out an uninitialised slot, aligned and sized for `T`;
        // writing (not assigning) initialises it without dropping garbage.
        unsafe { b.as_ptr().write(value) };
        b
    }
    #[inline(always)]
    fn free(&mut self, h: Self::Handle) {
        drop(h);
    }
}

// ---------------------------------------------------------------------------------------
// heapless box_pool!.

/// The heapless pools, one per object type.
mod heapless_pools {
    #![allow(missing_docs, unreachable_pub)]
    heapless::box_pool!(Pool64: super::Obj64);
    heapless::box_pool!(PoolPacket: super::Packet);
}
pub use heapless_pools::{Pool64 as HeaplessPool64, PoolPacket as HeaplessPoolPacket};

use heapless::pool::boxed::{BoxBlock, BoxPool};

/// Blocks given to each heapless pool so far (index 0: 64 B, 1: packets).
static HEAPLESS_BLOCKS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

fn heapless_grow<P: BoxPool>(slot: usize, blocks: usize) {
    let have = HEAPLESS_BLOCKS[slot].load(Ordering::Acquire);
    if have >= blocks {
        return;
    }
    let more = blocks - have;
    let v: Vec<BoxBlock<P::Data>> = (0..more).map(|_| BoxBlock::new()).collect();
    for block in Vec::leak(v) {
        P::manage(block);
    }
    HEAPLESS_BLOCKS[slot].fetch_add(more, Ordering::AcqRel);
}

/// A heapless `box_pool!`; the pool is fixed-capacity, so [`Heapless::with_blocks`]
/// gives it memory first (a leaked block array standing in for a `static`).
pub struct Heapless<P>(PhantomData<fn() -> P>);

impl<P> Clone for Heapless<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for Heapless<P> {}

impl Heapless<HeaplessPool64> {
    /// The 64-byte pool, holding at least `blocks` blocks. Call from one thread.
    pub fn with_blocks(blocks: usize) -> Self {
        heapless_grow::<HeaplessPool64>(0, blocks);
        Heapless(PhantomData)
    }
}

impl Heapless<HeaplessPoolPacket> {
    /// The packet pool, holding at least `blocks` blocks. Call from one thread.
    pub fn with_blocks(blocks: usize) -> Self {
        heapless_grow::<HeaplessPoolPacket>(1, blocks);
        Heapless(PhantomData)
    }
}

impl<P: BoxPool> Imp<P::Data> for Heapless<P> {
    type Handle = heapless::pool::boxed::Box<P>;
    #[inline(always)]
    fn alloc(&mut self, value: P::Data) -> Self::Handle {
        match P::alloc(value) {
            Ok(b) => b,
            Err(_) => panic!("heapless pool exhausted: give it more blocks"),
        }
    }
    #[inline(always)]
    fn free(&mut self, h: Self::Handle) {
        drop(h);
    }
}

// ---------------------------------------------------------------------------------------
// sharded-slab.

/// A `sharded_slab::Slab<T>` shared by all threads; handles are keys.
pub struct Sharded<T: 'static>(&'static sharded_slab::Slab<T>);

impl<T> Clone for Sharded<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Sharded<T> {}

impl<T: Obj> Sharded<T> {
    /// The slab of `T` ([`Obj::sharded_slab`]).
    pub fn new() -> Self {
        Sharded(T::sharded_slab())
    }
}

impl<T: Obj> Default for Sharded<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + Sync + 'static> Imp<T> for Sharded<T> {
    type Handle = usize;
    #[inline(always)]
    fn alloc(&mut self, value: T) -> usize {
        self.0.insert(value).expect("sharded-slab full")
    }
    #[inline(always)]
    fn free(&mut self, h: usize) {
        let removed = self.0.remove(h);
        debug_assert!(removed);
    }
}

// ---------------------------------------------------------------------------------------
// object-pool.

/// An `object_pool::Pool<Box<T>>` (objects stay put; a pull moves one pointer). It
/// starts empty: a pull on an empty pool makes a new box, and a dropped handle returns
/// its box to the pool.
pub struct ObjPool<T: 'static>(&'static object_pool::Pool<Box<T>>);

impl<T> Clone for ObjPool<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ObjPool<T> {}

impl<T: Obj> ObjPool<T> {
    /// The pool of `T` ([`Obj::object_pool`]).
    pub fn new() -> Self {
        ObjPool(T::object_pool())
    }
}

impl<T: Obj> Default for ObjPool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Obj> Imp<T> for ObjPool<T> {
    type Handle = object_pool::Reusable<'static, Box<T>>;
    #[inline(always)]
    fn alloc(&mut self, value: T) -> Self::Handle {
        let mut r = self.0.pull(|| Box::new(T::make(0)));
        **r = value;
        r
    }
    #[inline(always)]
    fn free(&mut self, h: Self::Handle) {
        drop(h);
    }
}

// ---------------------------------------------------------------------------------------
// The floor: a bare single-threaded intrusive free list.

/// A free slot holds the link; a used one holds the value (the union gives the size and
/// alignment of both).
union Slot<T> {
    _next: *mut Slot<T>,
    _value: ManuallyDrop<MaybeUninit<T>>,
}

/// The floor: one load to pop, one store to push, on an intrusive singly linked list of
/// slots carved from 64 KiB chunks. Single-threaded; handles are raw pointers.
pub struct Floor<T> {
    head: *mut Slot<T>,
    chunks: Vec<(NonNull<u8>, Layout)>,
}

impl<T> Floor<T> {
    /// An empty free list (chunks are taken on demand).
    pub fn new() -> Self {
        Floor {
            head: ptr::null_mut(),
            chunks: Vec::new(),
        }
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        let n = (65536 / size_of::<Slot<T>>()).max(16);
        let layout = Layout::array::<Slot<T>>(n).expect("chunk layout");
        // SAFETY: `n >= 16` slots of a non-zero-sized type: a non-zero size.
        let base = unsafe { std::alloc::alloc(layout) }.cast::<Slot<T>>();
        let Some(base) = NonNull::new(base) else {
            std::alloc::handle_alloc_error(layout)
        };
        self.chunks.push((base.cast(), layout));
        for i in (0..n).rev() {
            // SAFETY: `i < n`: inside the chunk.
            let s = unsafe { base.as_ptr().add(i) };
            // SAFETY: `s` is in bounds, and aligned for the link (a field of `Slot<T>`).
            unsafe { s.cast::<*mut Slot<T>>().write(self.head) };
            self.head = s;
        }
    }
}

impl<T> Default for Floor<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for Floor<T> {
    fn drop(&mut self) {
        for &(p, layout) in &self.chunks {
            // SAFETY: each chunk came from `alloc` with this layout. Objects still out
            // are the caller's leak (the benchmarks free everything first).
            unsafe { std::alloc::dealloc(p.as_ptr(), layout) };
        }
    }
}

impl<T> Imp<T> for Floor<T> {
    type Handle = NonNull<T>;
    #[inline(always)]
    fn alloc(&mut self, value: T) -> NonNull<T> {
        if self.head.is_null() {
            self.refill();
        }
        let s = self.head;
        // SAFETY: `s` is a free slot of one of our chunks; its link is initialised.
        self.head = unsafe { s.cast::<*mut Slot<T>>().read() };
        let p = s.cast::<T>();
        // SAFETY: the slot is ours now, aligned and sized for `T` (a union field).
        unsafe { p.write(value) };
        // SAFETY: `s` was non-null.
        unsafe { NonNull::new_unchecked(p) }
    }
    #[inline(always)]
    fn free(&mut self, h: NonNull<T>) {
        // SAFETY: `h` came from `alloc` and holds an initialised `T`.
        unsafe { ptr::drop_in_place(h.as_ptr()) };
        let s = h.as_ptr().cast::<Slot<T>>();
        // SAFETY: the slot is free now, aligned for the link; writing it.
        unsafe { s.cast::<*mut Slot<T>>().write(self.head) };
        self.head = s;
    }
}

// ---------------------------------------------------------------------------------------
// Ours: a runtime SlabCache.

/// Slab size of the runtime cache of 64-byte objects (the size `#[slab_cached]` picks for them).
pub const OURS_SLAB_64: usize = 16384;
/// Slab size of the runtime cache of packets (the size `#[slab_cached]` picks for them).
pub const OURS_SLAB_PACKET: usize = 131_072;

/// The runtime cache of 64-byte objects.
pub static OURS_64: SlabCache<Obj64, SpinLock, OURS_SLAB_64> = SlabCache::new();
/// The runtime cache of packets.
pub static OURS_PACKET: SlabCache<Packet, SpinLock, OURS_SLAB_PACKET> = SlabCache::new();

/// A handle of a `static` runtime `SlabCache`, using its own magazine
/// (`cache.alloc_mut(v)` / `cache.free(b)`); each thread clones its own handle.
pub struct OursRuntime<T: 'static, const SIZE: usize>(SlabCache<T, SpinLock, SIZE>);

impl<T, const SIZE: usize> Clone for OursRuntime<T, SIZE> {
    fn clone(&self) -> Self {
        OursRuntime(self.0.clone())
    }
}

impl OursRuntime<Obj64, OURS_SLAB_64> {
    /// A handle of [`OURS_64`].
    pub fn new() -> Self {
        OursRuntime(OURS_64.clone())
    }
}

impl Default for OursRuntime<Obj64, OURS_SLAB_64> {
    fn default() -> Self {
        Self::new()
    }
}

impl OursRuntime<Packet, OURS_SLAB_PACKET> {
    /// A handle of [`OURS_PACKET`].
    pub fn new() -> Self {
        OursRuntime(OURS_PACKET.clone())
    }
}

impl Default for OursRuntime<Packet, OURS_SLAB_PACKET> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static, const SIZE: usize> Imp<T> for OursRuntime<T, SIZE> {
    type Handle = SlabBox<T, SlabCache<T, SpinLock, SIZE>>;
    #[inline(always)]
    fn alloc(&mut self, value: T) -> Self::Handle {
        self.0.alloc_mut(value)
    }
    #[inline(always)]
    fn free(&mut self, h: Self::Handle) {
        self.0.free(h);
    }
}

// ---------------------------------------------------------------------------------------
// The call shapes of a large value (issue 17, item 1).

/// The header of [`HdrPacket`].
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Header {
    /// Sequence number.
    pub seq: u32,
    /// Payload length.
    pub len: u16,
    /// Flags.
    pub flags: u16,
    /// Source port.
    pub src: u32,
    /// Destination port.
    pub dst: u32,
}

/// A 1500-byte packet built the way network code builds one: a 16-byte header, a zeroed
/// payload and one byte stored into it (4-byte aligned, like [`Packet`]).
#[repr(C)]
pub struct HdrPacket {
    /// The header.
    pub hdr: Header,
    /// The payload.
    pub payload: [u8; 1484],
}

const _: () = assert!(size_of::<HdrPacket>() == 1500);

impl HdrPacket {
    /// The header of packet `i`.
    #[inline(always)]
    pub fn header(i: usize) -> Header {
        Header {
            seq: i as u32,
            len: 1484,
            flags: 0,
            src: 9,
            dst: 53,
        }
    }

    /// Packet `i`: its header, a zeroed payload, and byte 0 of the payload set to `i`
    /// (an `#[inline(always)]` constructor).
    #[inline(always)]
    pub fn make(i: usize) -> Self {
        let mut p = HdrPacket {
            hdr: Self::header(i),
            payload: [0; 1484],
        };
        p.payload[0] = i as u8;
        p
    }

    /// The same, with the byte stored at a place known only at run time (`i % 1484`):
    /// a value no optimiser builds in place once it is built apart from its slot.
    #[inline(always)]
    pub fn make_dyn(i: usize) -> Self {
        let mut p = HdrPacket {
            hdr: Self::header(i),
            payload: [0; 1484],
        };
        p.payload[i % 1484] = 1;
        p
    }
}

/// [`HdrPacket`]'s fields as a `#[slab_cached]` struct of its own (the struct-literal and
/// constructor shapes).
#[slab_core::slab_cached]
pub struct CachedHdr {
    /// The header.
    pub hdr: Header,
    /// The payload.
    pub payload: [u8; 1484],
}

impl CachedHdr {
    /// Packet `i`, as [`HdrPacket::make`] builds it.
    #[inline(always)]
    pub fn make(i: usize) -> Self {
        let mut p = CachedHdr {
            hdr: HdrPacket::header(i),
            payload: [0; 1484],
        };
        p.payload[0] = i as u8;
        p
    }

    /// Packet `i`, as [`HdrPacket::make_dyn`] builds it.
    #[inline(always)]
    pub fn make_dyn(i: usize) -> Self {
        let mut p = CachedHdr {
            hdr: HdrPacket::header(i),
            payload: [0; 1484],
        };
        p.payload[i % 1484] = 1;
        p
    }
}

/// A newtype around [`HdrPacket`], `#[slab_cached]` (the newtype and closure shapes).
#[slab_core::slab_cached]
pub struct WrapHdr(pub HdrPacket);

/// The runtime cache of [`HdrPacket`]s (the handle and `&self` shapes).
pub static OURS_HDR: SlabCache<HdrPacket, SpinLock, OURS_SLAB_PACKET> = SlabCache::new();

/// The runtime cache of 64-byte objects shared through `&self` (`ours-shared`).
pub static OURS_SHARED_64: SlabCache<Obj64, SpinLock, OURS_SLAB_64> = SlabCache::new();
/// The runtime cache of packets shared through `&self` (`ours-shared`).
pub static OURS_SHARED_PACKET: SlabCache<Packet, SpinLock, OURS_SLAB_PACKET> = SlabCache::new();

/// A `static` runtime `SlabCache` used through `&self`, as the crate docs' first example
/// does: `POOL.alloc(v)`, and a plain drop of the box (the calling thread's magazines of
/// the cache); every thread shares the one `static`.
pub struct OursShared<T: 'static, const SIZE: usize>(&'static SlabCache<T, SpinLock, SIZE>);

impl<T, const SIZE: usize> Clone for OursShared<T, SIZE> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, const SIZE: usize> Copy for OursShared<T, SIZE> {}

impl OursShared<Obj64, OURS_SLAB_64> {
    /// [`OURS_SHARED_64`].
    pub fn new() -> Self {
        OursShared(&OURS_SHARED_64)
    }
}

impl Default for OursShared<Obj64, OURS_SLAB_64> {
    fn default() -> Self {
        Self::new()
    }
}

impl OursShared<Packet, OURS_SLAB_PACKET> {
    /// [`OURS_SHARED_PACKET`].
    pub fn new() -> Self {
        OursShared(&OURS_SHARED_PACKET)
    }
}

impl Default for OursShared<Packet, OURS_SLAB_PACKET> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static, const SIZE: usize> Imp<T> for OursShared<T, SIZE> {
    type Handle = SlabBox<T, SlabCache<T, SpinLock, SIZE>>;
    #[inline(always)]
    fn alloc(&mut self, value: T) -> Self::Handle {
        self.0.alloc(value)
    }
    #[inline(always)]
    fn free(&mut self, h: Self::Handle) {
        drop(h);
    }
}

/// The fragmented-refill scenario's caches of `u64` (issue 17, item 3): 16 KiB slabs.
pub static REFILL_16K: SlabCache<u64, SpinLock, { 1 << 14 }> = SlabCache::new();
/// The same with 1 MiB slabs.
pub static REFILL_1M: SlabCache<u64, SpinLock, { 1 << 20 }> = SlabCache::new();
/// The same with 16 MiB slabs.
pub static REFILL_16M: SlabCache<u64, SpinLock, { 1 << 24 }> = SlabCache::new();

// ---------------------------------------------------------------------------------------
// Ours: `T::new_boxed` on `#[slab_cached]` types.

/// The 64-byte object as a `#[slab_cached]` type (default lock and slab size).
#[slab_core::slab_cached]
pub struct Cached64(pub Obj64);

/// The packet as a `#[slab_cached]` type (default lock and slab size).
#[slab_core::slab_cached]
pub struct CachedPacket(pub Packet);

/// `T::new_boxed` on the `#[slab_cached]` newtype `W` of the object.
pub struct OursMacro<W>(PhantomData<fn() -> W>);

impl<W> OursMacro<W> {
    /// The type's own cache (a hidden `static`).
    pub fn new() -> Self {
        OursMacro(PhantomData)
    }
}

impl<W> Default for OursMacro<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> Clone for OursMacro<W> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<W> Copy for OursMacro<W> {}

macro_rules! ours_macro {
    ($t:ty, $w:ident) => {
        impl Imp<$t> for OursMacro<$w> {
            type Handle = slab_core::Boxed<$w>;
            #[inline(always)]
            fn alloc(&mut self, value: $t) -> Self::Handle {
                $w::new_boxed($w(value))
            }
            #[inline(always)]
            fn free(&mut self, h: Self::Handle) {
                drop(h);
            }
        }
    };
}
ours_macro!(Obj64, Cached64);
ours_macro!(Packet, CachedPacket);

// ---------------------------------------------------------------------------------------
// Naming.

/// Implementation ids, in report order, with display names.
pub const IMPLS: &[(&str, &str)] = &[
    ("box", "Box (glibc)"),
    ("mimalloc", "mimalloc (GlobalAlloc)"),
    ("seed-spin", "seed SpinLock"),
    ("seed-nolock", "seed NoLock"),
    ("heapless", "heapless box_pool"),
    ("sharded-slab", "sharded-slab"),
    ("object-pool", "object-pool"),
    ("floor", "floor (free list)"),
    ("ours-macro", "ours #[slab_cached]"),
    ("ours-runtime", "ours SlabCache"),
    ("ours-shared", "ours SlabCache &self"),
];

/// Bytes of the calling process's resident set (`VmRSS` in `/proc/self/status`).
pub fn vm_rss_bytes() -> usize {
    let s = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kb: usize = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("VmRSS value");
    kb * 1024
}

/// A fixed pseudo-random permutation of `0..n` (xorshift + Fisher-Yates), the same in
/// every run and for every implementation.
pub fn shuffled(n: usize) -> &'static [usize] {
    static CACHE: OnceLock<std::sync::Mutex<Vec<&'static [usize]>>> = OnceLock::new();
    let m = CACHE.get_or_init(Default::default);
    let mut cache = m.lock().expect("permutation cache");
    if let Some(p) = cache.iter().find(|p| p.len() == n) {
        return p;
    }
    let mut v: Vec<usize> = (0..n).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = (x % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    let p: &'static [usize] = Vec::leak(v);
    cache.push(p);
    p
}

/// The identity permutation of `0..n`.
pub fn in_order(n: usize) -> &'static [usize] {
    static CACHE: OnceLock<std::sync::Mutex<Vec<&'static [usize]>>> = OnceLock::new();
    let m = CACHE.get_or_init(Default::default);
    let mut cache = m.lock().expect("permutation cache");
    if let Some(p) = cache.iter().find(|p| p.len() == n) {
        return p;
    }
    let p: &'static [usize] = Vec::leak((0..n).collect());
    cache.push(p);
    p
}
