//! Slab geometry: where the header, the master's control block and the slots of a slab lie,
//! and which address belongs to which slab. Pure arithmetic on sizes and addresses: nothing
//! here reads or writes memory, so nothing here is `unsafe`.
//!
//! A [`Class`] is computed once per cache type, at compile time, from a [`Spec`] (the sizes
//! and alignments of the object, the slab header and the control block). The address
//! functions ([`Class::header_addr`], [`Class::base_addr`], ...) work on plain `usize`
//! addresses; `slab` wraps them in pointer operations that keep provenance.
//!
//! The layout a class describes is the one invariant I1 of `IMPLEMENTATION.md` states: a
//! slab is `slab_size` bytes aligned to `slab_size`; its unrotated layout (header, control
//! block and counters in a master, then slots) starts at the header, which lies at the
//! slab's colour offset ([`Colours`]), and wraps around the end of the block to its base;
//! `first + capacity * stride <= slab_size`, and no slot straddles the wrap.
//!
//! This module talks to `sync` only (for the size of a handle counter).

use core::alloc::Layout;
use core::ptr::NonNull;

/// Smallest supported slab size.
pub const MIN_SLAB_SIZE: usize = 512;
/// Largest supported slab size (1 GiB), small enough for `u32` slot indices.
pub const MAX_SLAB_SIZE: usize = 1 << 30;

/// The bytes of a free-list link (the first word of a free slot, I5).
const LINK: usize = size_of::<*mut u8>();

/// What a geometry is computed from: the layouts of what a slab holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spec {
    /// The object type `T`.
    pub(crate) object: Layout,
    /// The slab size `SIZE`.
    pub(crate) slab_size: usize,
    /// The slab header (`slab::SlabHeader`).
    pub(crate) header: Layout,
    /// The master's control block (`control::Control<L>`).
    pub(crate) control: Layout,
    /// The lock inside the control block (`L`).
    pub(crate) lock_size: usize,
    /// Whether to give each slot a hardening canary where two slots still fit with it.
    pub(crate) checks: bool,
    /// For an object cache, what its slots keep between uses (see [`Kept`]).
    pub(crate) kept: Option<Kept>,
}

/// The slots of an object cache keep a constructed value between uses (I21): a free slot
/// is the allocator's in its first word only (the link, I5), and the rest is the value
/// and its "constructed" word. The two functions know the slot's layout:
///
/// Not public API: `pub` because `SlabSource::__KEPT` names it, in a module no one outside
/// the crate can reach.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Kept {
    /// Marks a slot that was never handed out as holding no value. Runs no user code.
    pub(crate) fresh: unsafe fn(NonNull<u8>),
    /// Drops the value of a free slot, if it holds one, before its slab goes back. May
    /// run user code (a `Drop`), which may panic.
    pub(crate) retire: unsafe fn(NonNull<u8>),
    /// The kept value's type name and size, for the cache's statistics.
    pub(crate) name: fn() -> &'static str,
    pub(crate) value_size: usize,
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

/// The message of a compile-time layout check that fails for a runtime `SlabCache`.
pub(crate) const fn layout_message(e: LayoutError) -> &'static str {
    match e {
        LayoutError::BadSlabSize => {
            "slab_core: SlabCache<T, L, SIZE>: SIZE must be a power of two from 512 to 1 GiB (1 << 30)"
        }
        LayoutError::ZeroSized => {
            "slab_core: SlabCache<T, L, SIZE>: T is zero-sized; a pool of zero-sized values needs no memory, use the value itself"
        }
        LayoutError::AlignTooLarge => {
            "slab_core: SlabCache<T, L, SIZE>: align_of::<T>() is over SIZE / 4; use a larger SIZE"
        }
        LayoutError::TooLarge => {
            "slab_core: SlabCache<T, L, SIZE>: two values of T do not fit in one SIZE-byte slab; use a SIZE of at least the next power of two above 2 * size_of::<T>() + 512"
        }
        LayoutError::LockTooLarge => {
            "slab_core: SlabCache<T, L, SIZE>: the lock type L is over 16 bytes; keep the lock small or store a pointer to a larger one"
        }
    }
}

impl Spec {
    /// The constraints on the inputs alone, before any layout is tried.
    const fn check(&self) -> Result<(), LayoutError> {
        let slab_size = self.slab_size;
        if !slab_size.is_power_of_two() || slab_size < MIN_SLAB_SIZE || slab_size > MAX_SLAB_SIZE {
            return Err(LayoutError::BadSlabSize);
        }
        if self.object.size() == 0 {
            return Err(LayoutError::ZeroSized);
        }
        if self.lock_size > 16 {
            return Err(LayoutError::LockTooLarge);
        }
        if self.object.align() > slab_size / 4 {
            return Err(LayoutError::AlignTooLarge);
        }
        Ok(())
    }
}

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
    /// For an object cache, what its slots keep between uses (I21).
    pub(crate) kept: Option<Kept>,
}

/// Where in its slab the header of a slab lies: `first + i * step` bytes from the base for
/// colour `i < count`, the colour taken from the slab's address (see
/// [`Class::header_addr`]).
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
pub(crate) const COLOUR_BITS: u32 = 6;

impl Colours {
    /// The header offset of the slab whose index (its address over the slab size) ends in
    /// `index`, `index < 1 << COLOUR_BITS`: the 64 indices spread evenly over the colours.
    #[inline(always)]
    pub(crate) const fn offset(&self, index: usize) -> usize {
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

/// Whether slots of `stride` bytes from offset `first` leave room for two in a slab.
const fn holds_two(first: usize, stride: usize, slab: usize) -> bool {
    first < slab && (slab - first) / stride >= 2
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
    if holds_two(on, stride, slab) {
        on
    } else {
        round_up(control_end, align)
    }
}

/// Where the handle counters go: after the control block, a cache line each if the master
/// still holds two slots after them, else packed (so no type is rejected for them).
/// Returns their offset and their spacing.
const fn counters(
    spec: &Spec,
    control_offset: usize,
    slave_first: usize,
    stride: usize,
) -> (usize, usize) {
    let control_end = control_offset + spec.control.size();
    let padded_offset = round_up(control_end, PADDED);
    let padded_end = padded_offset + HANDLE_COUNTERS * PADDED;
    let padded_first = lattice(
        slave_first,
        padded_end,
        stride,
        spec.object.align(),
        spec.slab_size,
    );
    if holds_two(padded_first, stride, spec.slab_size) {
        (padded_offset, PADDED)
    } else {
        (
            round_up(control_end, align_of::<crate::sync::AtomicU32>()),
            COUNTER,
        )
    }
}

/// Hardening: a canary word after the object, where two slots still fit with it (so debug
/// and release builds accept exactly the same types). Returns the canary offset (0 for
/// none), the stride and the master's first slot.
const fn canary(
    spec: &Spec,
    slave_first: usize,
    control_end: usize,
    stride: usize,
    master_first: usize,
) -> (usize, usize, usize) {
    let at = max(spec.object.size(), LINK);
    let wide = round_up(at + LINK, spec.object.align());
    let wide_first = lattice(
        slave_first,
        control_end,
        wide,
        spec.object.align(),
        spec.slab_size,
    );
    if holds_two(wide_first, wide, spec.slab_size) {
        (at, wide, wide_first)
    } else {
        (0, stride, master_first)
    }
}

impl Class {
    /// Computes the geometry, or says which constraint fails.
    pub(crate) const fn new(spec: Spec) -> Result<Class, LayoutError> {
        if let Err(e) = spec.check() {
            return Err(e);
        }
        let slab_size = spec.slab_size;
        let obj_align = spec.object.align();
        let control_offset = round_up(spec.header.size(), spec.control.align());
        let slave_first = round_up(spec.header.size(), obj_align);
        let stride = round_up(max(spec.object.size(), LINK), obj_align);
        let (counters_offset, counters_stride) =
            counters(&spec, control_offset, slave_first, stride);
        let control_end = counters_offset + HANDLE_COUNTERS * counters_stride;
        // The master's first slot sits on the slaves' slot lattice (`slave_first + k *
        // stride`), so "is this the start of a slot" is exact from the address alone in a
        // master and a slave alike. It costs the master at most one slot.
        let master_first = lattice(slave_first, control_end, stride, obj_align, slab_size);
        if !holds_two(master_first, stride, slab_size) {
            return Err(LayoutError::TooLarge);
        }
        let (canary, stride, master_first) = if spec.checks {
            canary(&spec, slave_first, control_end, stride, master_first)
        } else {
            (0, stride, master_first)
        };
        let mut class = Class {
            slab_size,
            obj_size: spec.object.size(),
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
            kept: spec.kept,
        };
        class.colours = class.colours(&spec);
        Ok(class)
    }

    /// The header colours of this geometry: the arithmetic progression of header offsets
    /// (with the most members) at which the rotated layout cuts no slot and keeps every
    /// alignment, preferring offsets on a cache line.
    const fn colours(&self, spec: &Spec) -> Colours {
        let (obj_align, control_align) = (spec.object.align(), spec.control.align());
        // Coarse: header on a cache line. Fine: the least alignment that is still sound.
        let coarse = max(64, max(obj_align, control_align));
        let fine = max(spec.header.align(), max(obj_align, control_align));
        // Cuts in the unused tail: the rotation moves nothing but that space.
        let master_end = self.master_first + self.master_slots * self.stride;
        let slave_end = self.slave_first + self.slave_slots * self.stride;
        let mut best = Colours {
            first: 0,
            step: coarse,
            count: (self.slab_size - max(master_end, slave_end)) / coarse + 1,
        };
        // Cuts at slot boundaries, coarse first; the fine alignment counts only if it
        // gives twice the colours.
        if let Some(c) = self.lattice_colours(coarse)
            && c.count > best.count
        {
            best = c;
        }
        if let Some(c) = self.lattice_colours(fine)
            && c.count >= 2 * best.count
        {
            best = c;
        }
        best
    }

    /// The colours whose cuts fall at slot boundaries `slave_first + k * stride` with
    /// offsets that are multiples of `align`, for slaves and a master on the same lattice
    /// alike (at or after `master_first`, so the master's control block is never cut);
    /// `None` if there are none.
    ///
    /// The offset is `slab_size - cut`, a multiple of `align` when `k` is a multiple of
    /// `align / gcd(stride, align)` (`slab_size` and `slave_first` are multiples of it
    /// already). `k = 0` cuts at the header's end, so it starts at 1.
    const fn lattice_colours(&self, align: usize) -> Option<Colours> {
        let on_lattice = self.master_first >= self.slave_first
            && (self.master_first - self.slave_first).is_multiple_of(self.stride);
        if !on_lattice || !self.slave_first.is_multiple_of(align) {
            return None;
        }
        let k0 = (self.master_first - self.slave_first) / self.stride;
        let period = align / gcd(self.stride, align);
        let lo = max(k0, 1).div_ceil(period);
        let hi = self.slave_slots / period;
        if hi < lo {
            return None;
        }
        Some(Colours {
            first: self.slab_size - self.slave_first - hi * period * self.stride,
            step: period * self.stride,
            count: hi - lo + 1,
        })
    }

    /// End of the bytes poisoned in a free slot (the object, at least a link wide; only
    /// the link of an object cache's slot, whose value is kept, I21).
    pub(crate) const fn poison_end(&self) -> usize {
        if self.kept.is_some() {
            size_of::<usize>()
        } else if self.canary != 0 {
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
    pub(crate) const fn layout(&self) -> Layout {
        match Layout::from_size_align(self.slab_size, self.slab_size) {
            Ok(l) => l,
            Err(_) => panic!("slab size is a checked power of two"),
        }
    }

    /// The base address of the slab holding address `a` (I1).
    #[inline(always)]
    pub(crate) const fn base_addr(&self, a: usize) -> usize {
        a & !(self.slab_size - 1)
    }

    /// The header address of the slab holding address `a`: its base plus the colour
    /// offset that the base's slab index picks ([`Colours`], I1).
    #[inline(always)]
    pub(crate) const fn header_addr(&self, a: usize) -> usize {
        let base = self.base_addr(a);
        let index = (base >> self.slab_size.trailing_zeros()) & ((1 << COLOUR_BITS) - 1);
        base + self.colours.offset(index)
    }

    /// The address `offset` bytes into the unrotated layout of the slab whose header is at
    /// `h`: `h + offset`, wrapped around the end of the slab to its base.
    #[inline(always)]
    pub(crate) const fn wrap(&self, h: usize, offset: usize) -> usize {
        let mask = self.slab_size - 1;
        (h & !mask) | (h.wrapping_add(offset) & mask)
    }

    /// The offset of address `a` in the unrotated layout of its slab (the inverse of
    /// [`wrap`](Self::wrap)).
    #[inline(always)]
    pub(crate) const fn offset_of(&self, a: usize) -> usize {
        // A header address of 0 (`a` lies in the first `slab_size` bytes of the address
        // space, where no slab can be) stands for `a` itself, as in `slab::header_of`,
        // which keeps pointers non-null: such an address is at offset 0, never a slot.
        let h = match self.header_addr(a) {
            0 => a,
            h => h,
        };
        a.wrapping_sub(h) & (self.slab_size - 1)
    }

    /// Whether address `a` is the start of a slot of a master or a slave slab of this
    /// geometry (by arithmetic alone: a slab need not be there).
    #[inline]
    pub(crate) const fn starts_slot(&self, a: usize) -> bool {
        self.is_slot_offset(self.offset_of(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slab header's layout on 64-bit targets (`slab::SlabHeader`, checked there).
    const HEADER: usize = 64;

    /// The geometry of `size`-byte, `align`-aligned objects in `slab`-byte slabs, with a
    /// 128-byte control block (8-aligned, or `control_align`) and a `lock`-byte lock.
    fn class(
        size: usize,
        align: usize,
        slab: usize,
        lock: usize,
        checks: bool,
    ) -> Result<Class, LayoutError> {
        class_with(size, align, slab, 8, lock, checks)
    }

    fn class_with(
        size: usize,
        align: usize,
        slab: usize,
        control_align: usize,
        lock: usize,
        checks: bool,
    ) -> Result<Class, LayoutError> {
        let layout = |size, align| Layout::from_size_align(size, align).unwrap();
        Class::new(Spec {
            object: layout(size, align),
            slab_size: slab,
            header: layout(HEADER, 8),
            control: layout(128, control_align),
            lock_size: lock,
            checks,
            kept: None,
        })
    }

    #[test]
    fn geometry_pads_small_types_to_the_link_size() {
        let c = class(1, 1, 4096, 1, false).unwrap();
        assert_eq!(c.stride, size_of::<*mut u8>());
        assert_eq!(c.slave_first, HEADER);
        assert!(c.master_first >= c.control_offset + 128);
    }

    #[test]
    fn geometry_keeps_byte_buffers_unpadded() {
        let c = class(1500, 1, 65536, 1, false).unwrap();
        assert_eq!(c.stride, 1500);
        assert_eq!(c.slave_slots, (65536 - HEADER) / 1500);
    }

    #[test]
    fn geometry_aligns_slots_to_the_type() {
        let c = class(24, 64, 4096, 1, false).unwrap();
        assert_eq!(c.stride, 64);
        assert_eq!(c.slave_first % 64, 0);
        assert_eq!(c.master_first % 64, 0);
    }

    #[test]
    fn geometry_rejects_each_bad_input() {
        assert_eq!(
            class(8, 8, 1000, 1, false).unwrap_err(),
            LayoutError::BadSlabSize
        );
        assert_eq!(
            class(8, 8, 256, 1, false).unwrap_err(),
            LayoutError::BadSlabSize
        );
        assert_eq!(
            class(0, 1, 4096, 1, false).unwrap_err(),
            LayoutError::ZeroSized
        );
        assert_eq!(
            class(8, 2048, 4096, 1, false).unwrap_err(),
            LayoutError::AlignTooLarge
        );
        assert_eq!(
            class(2000, 8, 4096, 1, false).unwrap_err(),
            LayoutError::TooLarge
        );
        assert_eq!(
            class(8, 8, 4096, 17, false).unwrap_err(),
            LayoutError::LockTooLarge
        );
        assert!(class(1900, 4, 4096, 16, false).is_ok());
    }

    #[test]
    fn hardening_adds_a_canary_only_where_two_slots_still_fit() {
        let c = class(24, 8, 4096, 1, true).unwrap();
        assert_eq!((c.canary, c.stride), (24, 32));
        let c = class(1, 1, 4096, 1, true).unwrap();
        assert_eq!(
            (c.canary, c.stride),
            (8, 16),
            "the canary never overlaps the link"
        );
        // 64 (header) + 128 (control) + 32 (packed handle counters) + 2 * 1930 = 4084:
        // two slots fit, two slots with a canary word (2 * 1938) would not.
        let tight = class(1930, 2, 4096, 16, true).unwrap();
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
    /// inside the block without wrapping, aligned, and pairwise disjoint; `offset_of`
    /// inverts the rotation and `is_slot_offset` accepts exactly the slot starts.
    fn check_colours(c: &Class, obj_align: usize, control_align: usize) {
        let size = c.slab_size;
        let control_end = c.counters_offset + HANDLE_COUNTERS * c.counters_stride;
        for i in 0..1 << COLOUR_BITS {
            let off = c.colours.offset(i);
            assert_eq!(off % 8, 0, "{c:?}");
            assert_eq!(off % obj_align, 0, "{c:?}");
            assert_eq!(off % control_align, 0, "{c:?}");
            // A slab whose index picks colour `i`, and its header.
            let base = (1 << 30) + i * size;
            let h = c.header_addr(base);
            assert_eq!(h, base + off);
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
                    mark(0, HEADER);
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
                    assert_eq!(c.wrap(h, first + k * c.stride), base + at);
                    assert_eq!(c.offset_of(base + at), first + k * c.stride);
                    assert!(c.starts_slot(base + at));
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
                let c = class(size, align, slab, 16, checks).unwrap();
                check_colours(&c, align, 8);
            }
        }
    }

    #[test]
    fn common_geometries_get_many_colours() {
        // 64-byte objects: a header on each of many cache lines.
        let c = class(64, 8, 16384, 16, false).unwrap();
        assert!(c.colours.count >= 64, "{c:?}");
        assert_eq!(c.colours.step % 64, 0);
        // 1500-byte packets: no slot boundary is on a cache line often, so the header
        // moves by whole slots, 8-aligned.
        let c = class(1500, 1, 131_072, 16, false).unwrap();
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
            if let Ok(c) = class_with(size, align, 1 << slab_log, control_align, 16, checks) {
                check_colours(&c, align, control_align);
            }
        }
    }
}
