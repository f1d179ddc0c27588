//! One slab: a `SIZE`-byte block aligned to `SIZE`: a header, then slots, rotated by the
//! slab's colour (see [`Colours`]).
//!
//! Free slots form a singly linked list threaded through the slots themselves (the link
//! is stored unaligned, so byte buffers need no padding beyond pointer size); slots that
//! were never handed out are taken from a bump index, so a new slab costs O(1) however
//! many slots it has. Pop and push are O(1).
//!
//! This module knows nothing of locks or caches: every function takes raw pointers whose
//! exclusive access the caller (`cache`) guarantees by holding the master's lock.
//!
//! # Invariants
//! - A live slab's header stores `MAGIC ^ header_address`; the value is cleared when the
//!   slab goes back to the free hook. Any object address masked with `!(SIZE - 1)` finds
//!   its slab's base, and the base's colour offset its header ([`header_of`]).
//! - `first + capacity * stride <= SIZE`; slot `i` is at `first + i * stride` in the
//!   unrotated layout, which starts at the header and wraps around the end of the block
//!   ([`at_offset`]); no slot straddles the wrap.
//! - Every slot index is in exactly one of: handed out (`in_use` counts them), on the
//!   free list, or at or above `bump` in bump order (never used; see `SlabState::rot`).

use core::ptr::{self, NonNull};

use crate::debug;

/// The header magic of a live slab (XORed with the header's address).
pub(crate) const MAGIC: usize = 0x5ab1_c0de_u32 as usize;

/// Which list of the depot a slab is on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum ListId {
    /// Some slots free, some in use.
    Partial = 0,
    /// No slot free.
    Full = 1,
    /// No slot in use.
    Empty = 2,
}

/// The header of every slab, at the slab's colour offset ([`Colours`]).
///
/// # Aliasing
/// `magic` and `master` are read without the depot lock: a free reads `master` to find
/// its cache before locking, and the hardening checks read `magic` of a header reached by
/// masking a slot address. So while a cache is shared, no reference to a whole
/// `SlabHeader` may be mutable, and these two fields are only ever accessed through raw
/// pointers. Everything else is in [`SlabState`], which is touched only with the lock held
/// (or by the slab's sole owner before it is published or after it is retired), so code
/// holding the lock may take a `&mut SlabState`.
#[repr(C)]
pub(crate) struct SlabHeader {
    /// `MAGIC ^ header address` while the slab is live, 0 once it is released.
    pub(crate) magic: usize,
    /// The cache's control block, inside the master slab. Written once, by [`init`].
    pub(crate) master: NonNull<u8>,
    /// The lock-guarded rest of the header.
    pub(crate) state: SlabState,
}

/// The part of a [`SlabHeader`] guarded by the depot lock (see its aliasing note).
///
/// `#[repr(C)]` and nested at offset 16, so every field sits where it would in a flat
/// header: the whole header is still one 64-byte cache line.
#[repr(C)]
pub(crate) struct SlabState {
    /// Head of the free list of previously used slots, or null.
    pub(crate) free: *mut u8,
    /// Neighbours on the depot list named by `list`.
    pub(crate) next: *mut SlabHeader,
    pub(crate) prev: *mut SlabHeader,
    /// Slots handed out of this slab (to boxes, raw pointers or magazines).
    pub(crate) in_use: u32,
    /// Slots at or above this index (in bump order, see `rot`) have never been handed out.
    pub(crate) bump: u32,
    /// The slot index that bump index 0 names: bump index `b` is slot `(b + rot) %
    /// capacity`. The slots that the colour rotation wrapped to the start of the block come
    /// first, so fresh slots are handed out in address order (hardware prefetchers follow
    /// ascending addresses; a wrap in the middle of a slab restarts them).
    pub(crate) rot: u32,
    /// Number of slots in this slab.
    pub(crate) capacity: u32,
    /// Offset of slot 0 from the header, in the unrotated layout ([`at_offset`]).
    pub(crate) first: u32,
    pub(crate) list: ListId,
    /// Whether this slab is the master (holds the control block).
    pub(crate) is_master: bool,
}

/// Smallest supported slab size.
pub const MIN_SLAB_SIZE: usize = 512;
/// Largest supported slab size (1 GiB), small enough for `u32` slot indices.
pub const MAX_SLAB_SIZE: usize = 1 << 30;

/// The slot geometry of one cache: computed at compile time from `T`, the control block
/// and `SIZE`.
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
pub struct Class {
    pub(crate) slab_size: usize,
    pub(crate) obj_size: usize,
    pub(crate) stride: usize,
    /// Offset of the hardening canary inside a slot, or 0 when the slot has none.
    pub(crate) canary: usize,
    pub(crate) control_offset: usize,
    /// Offset (in the master) of the first of the [`HANDLE_COUNTERS`] handle-magazine
    /// counters, and the distance between them: a cache line each where the master has
    /// room (handles on different threads write them on every operation), packed
    /// otherwise.
    pub(crate) counters_offset: usize,
    pub(crate) counters_stride: usize,
    pub(crate) master_first: usize,
    pub(crate) master_slots: usize,
    pub(crate) slave_first: usize,
    pub(crate) slave_slots: usize,
    /// Header colouring (see [`Colours`]).
    pub(crate) colours: Colours,
}

/// Where in its slab the header of a slab lies: `first + i * step` bytes from the base for
/// colour `i < count`, the colour taken from the slab's address (see [`header_of`]).
///
/// Slabs are aligned to their size, so a header at offset 0 of every slab would put all
/// headers in the same few cache sets (every 4 KiB slab's header in one L1 set, every
/// 128 KiB slab's in one L2 set), and a workload that frees objects of many slabs would
/// miss on every header. A slab's contents are therefore *rotated* by its colour: the
/// unrotated layout (header, control block, slots) starts at the header and wraps around
/// the end of the block to its base. The cut falls only where the unrotated layout has a
/// slot boundary or unused space, so no slot, header or control block is ever split, and
/// every offset is a multiple of the slot, header and control block alignments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Colours {
    pub(crate) first: usize,
    pub(crate) step: usize,
    pub(crate) count: usize,
}

/// Slab index bits that pick a colour: consecutive slabs take consecutive colours.
const COLOUR_BITS: u32 = 6;

impl Colours {
    /// The header offset of the slab whose index (its address over the slab size) ends in
    /// `index`, `index < 1 << COLOUR_BITS`: the 64 indices spread evenly over the colours.
    #[inline(always)]
    const fn offset(&self, index: usize) -> usize {
        self.first + ((index * self.count) >> COLOUR_BITS) * self.step
    }
}

/// Handle-magazine counters in a master slab (handles of one cache that can hold a
/// magazine at once).
pub(crate) const HANDLE_COUNTERS: usize = 8;
/// Bytes of one counter (an `AtomicU32`; larger under loom, whose atomics are objects).
const COUNTER: usize = size_of::<crate::sync::AtomicU32>();
/// The spacing of the counters when the master has room: one cache line each.
const PADDED: usize = if COUNTER > 64 { COUNTER } else { 64 };

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

const fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// The master's first slot offset: on the lattice `first + k * stride` at or after
/// `control_end` when the master still holds two slots there, else just after the control
/// block (aligned): very large objects keep their second slot at the cost of an exact
/// interior-pointer check.
const fn lattice(
    first: usize,
    control_end: usize,
    stride: usize,
    align: usize,
    slab: usize,
) -> usize {
    let on = if control_end <= first {
        first
    } else {
        first + (control_end - first).div_ceil(stride) * stride
    };
    if on < slab && (slab - on) / stride >= 2 {
        on
    } else {
        round_up(control_end, align)
    }
}

/// Why a (type, slab size) pair cannot form a cache. Shared by the runtime checks in
/// `SlabCache::new` and the checks `#[slab_cached]` emits into the user's crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// `SIZE` is not a power of two in `MIN_SLAB_SIZE..=MAX_SLAB_SIZE`.
    BadSlabSize,
    /// `T` is zero-sized.
    ZeroSized,
    /// `align_of::<T>()` exceeds `SIZE / 4`.
    AlignTooLarge,
    /// Fewer than two slots fit in the master slab.
    TooLarge,
    /// The lock type is over 16 bytes.
    LockTooLarge,
}

impl Class {
    /// Computes the geometry, or says which constraint fails.
    #[allow(
        clippy::too_many_arguments,
        reason = "a const fn over plain layout numbers"
    )]
    pub(crate) const fn new(
        obj_size: usize,
        obj_align: usize,
        slab_size: usize,
        control_size: usize,
        control_align: usize,
        lock_size: usize,
        checks: bool,
    ) -> Result<Class, LayoutError> {
        if !slab_size.is_power_of_two() || slab_size < MIN_SLAB_SIZE || slab_size > MAX_SLAB_SIZE {
            return Err(LayoutError::BadSlabSize);
        }
        if obj_size == 0 {
            return Err(LayoutError::ZeroSized);
        }
        if lock_size > 16 {
            return Err(LayoutError::LockTooLarge);
        }
        if obj_align > slab_size / 4 {
            return Err(LayoutError::AlignTooLarge);
        }
        let link = size_of::<*mut u8>();
        let min = if obj_size > link { obj_size } else { link };
        let header = size_of::<SlabHeader>();
        let control_offset = round_up(header, control_align);
        let slave_first = round_up(header, obj_align);
        let stride = round_up(min, obj_align);
        // The handle counters follow the control block: a cache line each if the master
        // still holds two slots after them, else packed (so no type is rejected for them).
        let padded_offset = round_up(control_offset + control_size, PADDED);
        let padded_end = padded_offset + HANDLE_COUNTERS * PADDED;
        let padded_first = lattice(slave_first, padded_end, stride, obj_align, slab_size);
        let (counters_offset, counters_stride) =
            if padded_first < slab_size && (slab_size - padded_first) / stride >= 2 {
                (padded_offset, PADDED)
            } else {
                (
                    round_up(
                        control_offset + control_size,
                        align_of::<crate::sync::AtomicU32>(),
                    ),
                    COUNTER,
                )
            };
        let control_end = counters_offset + HANDLE_COUNTERS * counters_stride;
        // The master's first slot sits on the slaves' slot lattice (`slave_first + k *
        // stride`), so "is this the start of a slot" is exact from the address alone in a
        // master and a slave alike. It costs the master at most one slot.
        let master_first = lattice(slave_first, control_end, stride, obj_align, slab_size);
        if master_first >= slab_size || (slab_size - master_first) / stride < 2 {
            return Err(LayoutError::TooLarge);
        }
        // Hardening: a canary word after the object, where two slots still fit with it
        // (so debug and release builds accept exactly the same types).
        let mut canary = 0;
        let mut stride = stride;
        let mut master_first = master_first;
        if checks {
            let at = if obj_size > link { obj_size } else { link };
            let wide = round_up(at + link, obj_align);
            let wide_first = lattice(slave_first, control_end, wide, obj_align, slab_size);
            if wide_first < slab_size && (slab_size - wide_first) / wide >= 2 {
                canary = at;
                stride = wide;
                master_first = wide_first;
            }
        }
        let mut class = Class {
            slab_size,
            obj_size,
            stride,
            canary,
            control_offset,
            counters_offset,
            counters_stride,
            master_first,
            master_slots: (slab_size - master_first) / stride,
            slave_first,
            slave_slots: (slab_size - slave_first) / stride,
            colours: Colours {
                first: 0,
                step: 64,
                count: 1,
            },
        };
        class.colours = class.colours(control_align, obj_align);
        Ok(class)
    }

    /// The header colours of this geometry: the arithmetic progression of header offsets
    /// (with the most members) at which the rotated layout cuts no slot and keeps every
    /// alignment, preferring offsets on a cache line.
    const fn colours(&self, control_align: usize, obj_align: usize) -> Colours {
        let master_end = self.master_first + self.master_slots * self.stride;
        let slave_end = self.slave_first + self.slave_slots * self.stride;
        let used_end = max(master_end, slave_end);
        let on_lattice = self.master_first >= self.slave_first
            && (self.master_first - self.slave_first).is_multiple_of(self.stride);
        // Coarse: header on a cache line. Fine: the least alignment that is still sound.
        let coarse = max(64, max(obj_align, control_align));
        let fine = max(align_of::<SlabHeader>(), max(obj_align, control_align));
        let mut best = Colours {
            first: 0,
            step: coarse,
            count: 1,
        };
        // Cuts in the unused tail: the rotation moves nothing but that space.
        let tail = (self.slab_size - used_end) / coarse + 1;
        if tail > best.count {
            best.count = tail;
        }
        // Cuts at slot boundaries `slave_first + k * stride`, for slaves and a master on
        // the same lattice alike (at or after `master_first`, so the master's control
        // block is never cut). The offset is `slab_size - cut`, a multiple of `align` when
        // `k` is a multiple of `align / gcd(stride, align)` (`slab_size` and `slave_first`
        // are multiples of it already). `k = 0` cuts at the header's end, so it starts at
        // 1; the fine alignment counts only if it gives twice the colours.
        if on_lattice {
            let k0 = (self.master_first - self.slave_first) / self.stride;
            let mut pass = 0;
            while pass < 2 {
                let align = if pass == 0 { coarse } else { fine };
                pass += 1;
                if !self.slave_first.is_multiple_of(align) {
                    continue;
                }
                let period = align / gcd(self.stride, align);
                let lo = max(k0, 1).div_ceil(period);
                let hi = self.slave_slots / period;
                if hi < lo {
                    continue;
                }
                let count = hi - lo + 1;
                let wanted = if align == coarse {
                    best.count + 1
                } else {
                    2 * best.count
                };
                if count >= wanted {
                    best = Colours {
                        first: self.slab_size - self.slave_first - hi * period * self.stride,
                        step: period * self.stride,
                        count,
                    };
                }
            }
        }
        best
    }

    /// End of the bytes poisoned in a free slot (the object, at least a link wide).
    pub(crate) const fn poison_end(&self) -> usize {
        if self.canary != 0 {
            self.canary
        } else if self.obj_size > size_of::<usize>() {
            self.obj_size
        } else {
            size_of::<usize>()
        }
    }

    /// Whether `offset` (from a slab base) starts a slot of a master or a slave slab.
    pub(crate) const fn is_slot_offset(&self, offset: usize) -> bool {
        let in_master = offset >= self.master_first
            && (offset - self.master_first).is_multiple_of(self.stride)
            && (offset - self.master_first) / self.stride < self.master_slots;
        let in_slave = offset >= self.slave_first
            && (offset - self.slave_first).is_multiple_of(self.stride)
            && (offset - self.slave_first) / self.stride < self.slave_slots;
        in_master || in_slave
    }

    /// The layout handed to the hooks: size and alignment both the slab size.
    pub(crate) const fn layout(&self) -> core::alloc::Layout {
        match core::alloc::Layout::from_size_align(self.slab_size, self.slab_size) {
            Ok(l) => l,
            Err(_) => panic!("slab size is a checked power of two"),
        }
    }
}

/// The first slot (by index) that the colour rotation of the slab at `base` with header `h`
/// wrapped to the start of the block, or 0 if none was.
fn first_wrapped(
    base: NonNull<u8>,
    h: NonNull<SlabHeader>,
    first: usize,
    capacity: usize,
    class: &Class,
) -> usize {
    // The unrotated offset that lands on the block's base.
    let cut = class.slab_size - (h.addr().get() - base.addr().get());
    let k = cut.saturating_sub(first).div_ceil(class.stride);
    if k >= capacity { 0 } else { k }
}

/// The address of the slot with bump index `b` (`b < capacity`) of slab `h`.
#[inline(always)]
fn bump_slot(h: NonNull<SlabHeader>, st: &SlabState, b: usize, class: &Class) -> NonNull<u8> {
    let mut i = b + st.rot as usize;
    if i >= st.capacity as usize {
        i -= st.capacity as usize;
    }
    at_offset(h, st.first as usize + i * class.stride, class)
}

/// Finds the header of the slab holding `p` (any address inside the slab): masks the
/// address to the slab's base and adds the base's colour offset ([`Colours`]).
///
/// The result keeps `p`'s provenance (strict provenance: no integer-to-pointer cast).
#[inline(always)]
pub(crate) fn header_of(p: NonNull<u8>, class: &Class) -> NonNull<SlabHeader> {
    let mask = class.slab_size - 1;
    p.map_addr(|a| {
        let base = a.get() & !mask;
        let index = (base >> class.slab_size.trailing_zeros()) & ((1 << COLOUR_BITS) - 1);
        let offset = class.colours.offset(index);
        // A slab's base is aligned to `slab_size` and non-null, so it is at least
        // `slab_size`, and the header lies inside the slab: the sum is non-zero.
        core::num::NonZeroUsize::new(base + offset).unwrap_or(a)
    })
    .cast()
}

/// The base address of the slab whose header is `h` (the block the hooks handed out).
#[inline(always)]
pub(crate) fn base_of(h: NonNull<SlabHeader>, class: &Class) -> NonNull<u8> {
    let mask = class.slab_size - 1;
    // A slab's base is non-null (see `header_of`).
    h.cast::<u8>()
        .map_addr(|a| core::num::NonZeroUsize::new(a.get() & !mask).unwrap_or(a))
}

/// The address `offset` bytes into the unrotated layout of the slab whose header is `h`:
/// `h + offset`, wrapped around the end of the slab to its base.
///
/// The result keeps `h`'s provenance, which covers the whole slab; `offset < slab_size`.
#[inline(always)]
pub(crate) fn at_offset(h: NonNull<SlabHeader>, offset: usize, class: &Class) -> NonNull<u8> {
    let mask = class.slab_size - 1;
    h.cast::<u8>().map_addr(|a| {
        let wrapped = (a.get() & !mask) | (a.get().wrapping_add(offset) & mask);
        // Non-null: the base part is non-null (see `header_of`).
        core::num::NonZeroUsize::new(wrapped).unwrap_or(a)
    })
}

/// The offset of `p` in the unrotated layout of the slab whose header is `h` (the
/// inverse of [`at_offset`]; nothing is read).
#[inline(always)]
pub(crate) fn offset_in(h: NonNull<SlabHeader>, p: usize, class: &Class) -> usize {
    p.wrapping_sub(h.addr().get()) & (class.slab_size - 1)
}

/// Writes a fresh header into the slab at `base` (at its colour offset, see
/// [`header_of`]) and returns it.
///
/// # Safety
/// `base` is a block of `class.slab_size` bytes, aligned to that size, owned exclusively
/// by the caller; `master` is the control block this slab will belong to.
pub(crate) unsafe fn init(
    base: NonNull<u8>,
    class: &Class,
    master: NonNull<u8>,
    is_master: bool,
) -> NonNull<SlabHeader> {
    let (first, capacity) = if is_master {
        (class.master_first, class.master_slots)
    } else {
        (class.slave_first, class.slave_slots)
    };
    let h = header_of(base, class);
    // SAFETY:
    // - `h` lies at a colour offset `c` of the block with `c + size_of::<SlabHeader>() <=
    //   slab_size` (the cut of the rotated layout is past the header, see `Colours`), so
    //   it is valid for writes of a header; `c` is a multiple of the header's alignment
    //   and so is the block's base;
    // - `first` and `capacity` fit `u32` because `slab_size <= MAX_SLAB_SIZE = 2^30`.
    unsafe {
        h.write(SlabHeader {
            magic: MAGIC ^ h.addr().get(),
            master,
            state: SlabState {
                free: ptr::null_mut(),
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                in_use: 0,
                bump: 0,
                rot: first_wrapped(base, h, first, capacity, class) as u32,
                capacity: capacity as u32,
                first: first as u32,
                list: ListId::Empty,
                is_master,
            },
        })
    };
    h
}

/// Whether the header's magic says the slab is live.
///
/// # Safety
/// `h` points to readable memory of at least a header's size.
#[inline]
pub(crate) unsafe fn is_live(h: NonNull<SlabHeader>) -> bool {
    // SAFETY: readable by the caller's contract; `magic` is a plain `usize`.
    let magic = unsafe { (*h.as_ptr()).magic };
    magic == MAGIC ^ h.addr().get()
}

/// Unlinks the head of the slab's free list (with hardening checks, after checking that
/// its link stays inside the slab); `None` if the list is empty. Does not count the slot.
///
/// # Safety
/// `st` is the state of the live slab `h`, and the caller holds its lock.
#[inline(always)]
unsafe fn take_free(
    st: &mut SlabState,
    h: NonNull<SlabHeader>,
    class: &Class,
    name: &str,
) -> Option<NonNull<u8>> {
    let slot = NonNull::new(st.free)?;
    // SAFETY: `slot` is the head of this slab's free list: a free slot of this slab whose
    // first word holds the (possibly null, encoded) next link written by `push`; the lock
    // makes the list, and so the slot, ours.
    let next = unsafe { debug::read_link(slot, class, name) };
    if debug::CHECKS
        && !(next.is_null()
            || next.addr() & !(class.slab_size - 1) == base_of(h, class).addr().get())
    {
        debug::corrupted_link(slot.as_ptr(), name);
    }
    st.free = next;
    Some(slot)
}

/// Takes one free slot out of the slab, or `None` if it is full.
///
/// # Safety
/// `h` is a live slab header and the caller has exclusive access to it (holds the lock).
#[inline]
pub(crate) unsafe fn pop(h: NonNull<SlabHeader>, class: &Class, name: &str) -> Option<NonNull<u8>> {
    // SAFETY: `h` points to a live, initialised header (caller's contract), so the place
    // `state` is in bounds and aligned. The caller holds the lock, and `SlabState` is only
    // accessed under it (see `SlabHeader`), so no other thread reads or writes these bytes
    // while `st` lives; this function makes no other reference to this header.
    let st = unsafe { &mut (*h.as_ptr()).state };
    // SAFETY: `st` is `h`'s state, guarded by the lock the caller holds.
    if let Some(slot) = unsafe { take_free(st, h, class, name) } {
        st.in_use += 1;
        return Some(slot);
    }
    if st.bump < st.capacity {
        let index = st.bump as usize;
        st.bump += 1;
        st.in_use += 1;
        // `index < capacity` and `first + capacity * stride <= slab_size` (the header
        // invariant), so the slot lies inside the slab's block.
        let slot = bump_slot(h, st, index, class);
        // SAFETY: `slot` starts slot `index` of this live slab; it was at or above `bump`,
        // so it was never handed out and nothing else refers to it: it is ours now.
        unsafe { debug::on_fresh(slot, class) };
        return Some(slot);
    }
    None
}

/// Takes up to `max` free slots out of the slab onto the front of the chain `head`
/// (free slots linked through their first word, as [`debug::write_link`] stores them) and
/// returns how many it took: the free list first, then never-used slots, linked in address
/// order in one tight loop (no per-slot header update, and no reads of cold memory).
///
/// # Safety
/// As [`pop`]; `head` is null or heads a chain of free slots owned by the caller.
pub(crate) unsafe fn pop_batch(
    h: NonNull<SlabHeader>,
    class: &Class,
    name: &str,
    max: u32,
    head: &mut *mut u8,
) -> u32 {
    // SAFETY: as in `pop`: a live header, its state guarded by the lock the caller holds;
    // the slots written below lie past the header in the unrotated layout (`first >=
    // size_of::<SlabHeader>()`), so they never overlap `st`.
    let st = unsafe { &mut (*h.as_ptr()).state };
    prefetch_free_list(h, st, class, max);
    let mut taken = 0;
    while taken < max {
        // SAFETY: `st` is `h`'s state, guarded by the lock the caller holds.
        let Some(slot) = (unsafe { take_free(st, h, class, name) }) else {
            break;
        };
        // SAFETY: `slot` left the free list above: a free slot, ours, holding no value.
        unsafe { debug::write_link(slot, *head, class) };
        *head = slot.as_ptr();
        taken += 1;
    }
    let fresh = (max - taken).min(st.capacity - st.bump);
    if fresh > 0 {
        // `bump + fresh <= capacity` and `first + capacity * stride <= slab_size` (the
        // header invariant), so slots `bump..bump + fresh` lie inside the slab.
        let bump = st.bump as usize;
        let slot_at = |i: usize| bump_slot(h, st, bump + i, class);
        for i in 0..fresh as usize {
            let slot = slot_at(i);
            let next = if i + 1 < fresh as usize {
                slot_at(i + 1).as_ptr()
            } else {
                *head
            };
            // SAFETY: a never-used slot at or above `bump`: nothing refers to it, ours now.
            unsafe { debug::on_fresh(slot, class) };
            // SAFETY: the same never-used slot, ours and holding no value, so its first
            // word is the allocator's link word (I5).
            unsafe { debug::write_link(slot, next, class) };
        }
        *head = slot_at(0).as_ptr();
        st.bump += fresh;
        taken += fresh;
    }
    st.in_use += taken;
    taken
}

/// Before a batch walks a long free list, asks the CPU to load the links of every slot
/// below `bump` (where all free-listed slots lie), so that the walk's dependent loads
/// (freed in any order, the list jumps around the slab) hit the cache instead of each
/// waiting for the one before.
#[inline(always)]
fn prefetch_free_list(h: NonNull<SlabHeader>, st: &SlabState, class: &Class, max: u32) {
    #[cfg(target_arch = "x86_64")]
    {
        // Saturating: a corrupted header is reported by the walk, not here.
        let listed = st.bump.saturating_sub(st.in_use);
        if st.free.is_null() || listed.min(max) < 16 {
            return;
        }
        for i in 0..st.bump as usize {
            let p = bump_slot(h, st, i, class).as_ptr();
            // SAFETY: a prefetch is a hint: it never faults and changes no memory.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (h, st, class, max);
}

/// Returns a slot to the slab's free list.
///
/// # Safety
/// `slot` was handed out by [`pop`] on this slab, is not handed out again until popped,
/// holds no value any more, and the caller has exclusive access to the header.
#[inline]
pub(crate) unsafe fn push(h: NonNull<SlabHeader>, slot: NonNull<u8>, class: &Class) {
    // SAFETY: `h` is a live header (its slot is outstanding), so `state` is in bounds and
    // aligned; the caller holds the lock, which guards every access to `SlabState`, and
    // this function makes no other reference to this header.
    let st = unsafe { &mut (*h.as_ptr()).state };
    // SAFETY: `slot` is a slot of this slab (at least a pointer wide: `stride >= link
    // size`) that holds no value and that the caller gives up, so nothing else reads or
    // writes it; it does not overlap the header.
    unsafe { debug::write_link(slot, st.free, class) };
    st.free = slot.as_ptr();
    st.in_use -= 1;
    debug::asan_poison(slot, class);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_pads_small_types_to_the_link_size() {
        let c = Class::new(1, 1, 4096, 128, 8, 1, false).unwrap();
        assert_eq!(c.stride, size_of::<*mut u8>());
        assert_eq!(c.slave_first, size_of::<SlabHeader>());
        assert!(c.master_first >= c.control_offset + 128);
    }

    #[test]
    fn geometry_keeps_byte_buffers_unpadded() {
        let c = Class::new(1500, 1, 65536, 128, 8, 1, false).unwrap();
        assert_eq!(c.stride, 1500);
        assert_eq!(c.slave_slots, (65536 - size_of::<SlabHeader>()) / 1500);
    }

    #[test]
    fn geometry_aligns_slots_to_the_type() {
        let c = Class::new(24, 64, 4096, 128, 8, 1, false).unwrap();
        assert_eq!(c.stride, 64);
        assert_eq!(c.slave_first % 64, 0);
        assert_eq!(c.master_first % 64, 0);
    }

    #[test]
    fn geometry_rejects_each_bad_input() {
        assert_eq!(
            Class::new(8, 8, 1000, 128, 8, 1, false).unwrap_err(),
            LayoutError::BadSlabSize
        );
        assert_eq!(
            Class::new(8, 8, 256, 128, 8, 1, false).unwrap_err(),
            LayoutError::BadSlabSize
        );
        assert_eq!(
            Class::new(0, 1, 4096, 128, 8, 1, false).unwrap_err(),
            LayoutError::ZeroSized
        );
        assert_eq!(
            Class::new(8, 2048, 4096, 128, 8, 1, false).unwrap_err(),
            LayoutError::AlignTooLarge
        );
        assert_eq!(
            Class::new(2000, 8, 4096, 128, 8, 1, false).unwrap_err(),
            LayoutError::TooLarge
        );
        assert_eq!(
            Class::new(8, 8, 4096, 128, 8, 17, false).unwrap_err(),
            LayoutError::LockTooLarge
        );
        assert!(Class::new(1900, 4, 4096, 128, 8, 16, false).is_ok());
    }

    #[test]
    fn hardening_adds_a_canary_only_where_two_slots_still_fit() {
        let c = Class::new(24, 8, 4096, 128, 8, 1, true).unwrap();
        assert_eq!((c.canary, c.stride), (24, 32));
        let c = Class::new(1, 1, 4096, 128, 8, 1, true).unwrap();
        assert_eq!(
            (c.canary, c.stride),
            (8, 16),
            "the canary never overlaps the link"
        );
        // 64 (header) + 128 (control) + 32 (packed handle counters) + 2 * 1930 = 4084:
        // two slots fit, two slots with a canary word (2 * 1938) would not.
        let tight = Class::new(1930, 2, 4096, 128, 8, 16, true).unwrap();
        assert_eq!(tight.canary, 0);
        assert_eq!(tight.stride, 1930);
        assert_eq!(
            tight.counters_stride, 4,
            "no room for a cache line per counter"
        );
        assert_eq!(c.counters_stride, 64, "room for a cache line per counter");
        assert!(c.is_slot_offset(c.slave_first + 3 * c.stride));
        assert!(!c.is_slot_offset(c.slave_first + 3 * c.stride + 1));
    }

    /// Checks every colour of a geometry: in the rotated layout of a master and of a
    /// slave, the header, the master's control block and counters, and every slot lie
    /// inside the block without wrapping, aligned, and pairwise disjoint; `offset_in`
    /// inverts the rotation and `is_slot_offset` accepts exactly the slot starts.
    fn check_colours(c: &Class, obj_align: usize, control_align: usize) {
        let size = c.slab_size;
        let control_end = c.counters_offset + HANDLE_COUNTERS * c.counters_stride;
        for i in 0..1 << COLOUR_BITS {
            let off = c.colours.offset(i);
            assert_eq!(off % align_of::<SlabHeader>(), 0, "{c:?}");
            assert_eq!(off % obj_align, 0, "{c:?}");
            assert_eq!(off % control_align, 0, "{c:?}");
            for master in [false, true] {
                let mut used = std::vec![false; size];
                let mut mark = |from: usize, len: usize| {
                    let at = (off + from) % size;
                    assert!(
                        at + len <= size,
                        "{from}+{len} wraps at colour {off}: {c:?}"
                    );
                    for b in &mut used[at..at + len] {
                        assert!(
                            !*b,
                            "overlap at {at} (colour {off}, master {master}): {c:?}"
                        );
                        *b = true;
                    }
                    at
                };
                if master {
                    mark(0, control_end);
                } else {
                    mark(0, size_of::<SlabHeader>());
                }
                let (first, slots) = if master {
                    (c.master_first, c.master_slots)
                } else {
                    (c.slave_first, c.slave_slots)
                };
                for k in 0..slots {
                    let at = mark(first + k * c.stride, c.stride);
                    assert_eq!(at % obj_align, 0, "{c:?}");
                    assert_eq!((at + size - off) % size, first + k * c.stride);
                    assert!(c.is_slot_offset(first + k * c.stride));
                }
            }
        }
    }

    // Pure arithmetic on the geometry (no unsafe code), and too slow for Miri's interpreter.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn every_colour_keeps_slots_whole_aligned_and_apart() {
        let cases = [
            (64, 8, 4096),
            (64, 8, 16384),
            (1500, 1, 131_072),
            (1500, 1, 65536),
            (24, 64, 4096),
            (1, 1, 512),
            (1930, 2, 4096),
            (100, 4, 512),
            (8, 1024, 4096),
            (3000, 8, 8192),
        ];
        for (size, align, slab) in cases {
            for checks in [false, true] {
                let c = Class::new(size, align, slab, 128, 8, 16, checks).unwrap();
                check_colours(&c, align, 8);
            }
        }
    }

    #[test]
    fn common_geometries_get_many_colours() {
        // 64-byte objects: a header on each of many cache lines.
        let c = Class::new(64, 8, 16384, 128, 8, 16, false).unwrap();
        assert!(c.colours.count >= 64, "{c:?}");
        assert_eq!(c.colours.step % 64, 0);
        // 1500-byte packets: no slot boundary is on a cache line often, so the header
        // moves by whole slots, 8-aligned.
        let c = Class::new(1500, 1, 131_072, 128, 8, 16, false).unwrap();
        assert!(c.colours.count >= 32, "{c:?}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 200,
            ..Default::default()
        })]
        #[test]
        #[cfg_attr(miri, ignore)]
        fn any_geometry_colours_soundly(
            size in 1usize..3000,
            align_log in 0u32..8,
            slab_log in 9u32..16,
            control_align_log in 2u32..5,
            checks: bool,
        ) {
            let (align, control_align) = (1 << align_log, 1 << control_align_log);
            if let Ok(c) = Class::new(size, align, 1 << slab_log, 128, control_align, 16, checks) {
                check_colours(&c, align, control_align);
            }
        }
    }

    #[test]
    fn header_fits_one_cache_line() {
        assert!(size_of::<SlabHeader>() <= 64);
    }
}
