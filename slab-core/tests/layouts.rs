//! The layout zoo: values whose bytes include padding, unused enum payloads and
//! `MaybeUninit` fields (often in their first word, where a free slot keeps its link),
//! through every way to allocate and free. Run under Miri (Stacked and Tree Borrows, with
//! and without the hardening checks, see `.ci/run`): the allocator must never read a byte
//! of a live value, so Miri must find no read of uninitialised memory.
//!
//! Before the fix, every test here failed under Miri in debug builds with
//! `reading memory at alloc…[0x0..0x8], but memory is uninitialized at [0x1..0x4]` inside
//! `slab_core::debug::state`: the hardening check read the slot's first word to decide
//! whether the slot was live.

use core::mem::MaybeUninit;

use slab_core::{Boxed, SlabBox, SlabCache, SlabCached, SpinLock, flush_thread_cache, slab_cached};

slab_core::slab_hooks!(global);

/// A value of the zoo, and how to compare the bytes of it that are initialised.
trait Zoo: Sized + Send + 'static {
    fn make(seed: u8) -> Self;
    fn same(&self, seed: u8) -> bool;
}

/// Padding at bytes 1..4, inside the first word.
#[repr(C)]
struct Header {
    kind: u8,
    len: u32,
}
impl Zoo for Header {
    fn make(seed: u8) -> Self {
        Header {
            kind: seed,
            len: u32::from(seed) * 1000,
        }
    }
    fn same(&self, seed: u8) -> bool {
        self.kind == seed && self.len == u32::from(seed) * 1000
    }
}

/// `None` leaves the payload (bytes 4..8) uninitialised.
impl Zoo for Option<u32> {
    fn make(_: u8) -> Self {
        None
    }
    fn same(&self, _: u8) -> bool {
        self.is_none()
    }
}

/// One byte of value, 127 of padding (also: an alignment above the link word's).
#[repr(align(128))]
struct Line(u8);
impl Zoo for Line {
    fn make(seed: u8) -> Self {
        Line(seed)
    }
    fn same(&self, seed: u8) -> bool {
        self.0 == seed
    }
}

/// The unit variant leaves the `u64` payload uninitialised.
enum Event {
    Tick,
    #[allow(
        dead_code,
        reason = "the variant gives the enum its uninitialised payload"
    )]
    Data(u64),
}
impl Zoo for Event {
    fn make(_: u8) -> Self {
        Event::Tick
    }
    fn same(&self, _: u8) -> bool {
        matches!(self, Event::Tick)
    }
}

/// A scratch field that is never written.
struct Scratch {
    tag: u8,
    scratch: MaybeUninit<[u8; 16]>,
}
impl Zoo for Scratch {
    fn make(seed: u8) -> Self {
        Scratch {
            tag: seed,
            scratch: MaybeUninit::uninit(),
        }
    }
    fn same(&self, seed: u8) -> bool {
        let _ = &self.scratch;
        self.tag == seed
    }
}

/// No padding at all: five bytes, every one of them initialised.
#[repr(C, packed)]
struct Packed {
    a: u8,
    b: u32,
}
impl Zoo for Packed {
    fn make(seed: u8) -> Self {
        Packed {
            a: seed,
            b: u32::from(seed) << 8,
        }
    }
    fn same(&self, seed: u8) -> bool {
        let (a, b) = (self.a, self.b);
        a == seed && b == u32::from(seed) << 8
    }
}

impl Zoo for u8 {
    fn make(seed: u8) -> Self {
        seed
    }
    fn same(&self, seed: u8) -> bool {
        *self == seed
    }
}

impl Zoo for [u8; 1] {
    fn make(seed: u8) -> Self {
        [seed]
    }
    fn same(&self, seed: u8) -> bool {
        *self == [seed]
    }
}

/// A tuple with one byte of padding between its fields.
impl Zoo for (u8, u16) {
    fn make(seed: u8) -> Self {
        (seed, u16::from(seed) + 1)
    }
    fn same(&self, seed: u8) -> bool {
        *self == (seed, u16::from(seed) + 1)
    }
}

/// Fully initialised, no padding: the control group.
impl Zoo for [u64; 2] {
    fn make(seed: u8) -> Self {
        [u64::from(seed); 2]
    }
    fn same(&self, seed: u8) -> bool {
        *self == [u64::from(seed); 2]
    }
}

/// Zero-padded: the padding bytes of `Header` are written (a `Header` made from zeroed
/// memory), so its first word is fully initialised.
struct ZeroedHeader(Header);
impl Zoo for ZeroedHeader {
    fn make(seed: u8) -> Self {
        let mut h = MaybeUninit::<Header>::zeroed();
        let p = h.as_mut_ptr();
        // SAFETY: `p` points to one `Header` (in bounds, aligned), so the projection stays
        // in bounds; no reference is created.
        let kind = unsafe { &raw mut (*p).kind };
        // SAFETY: as for `kind`, the projection to `len` stays inside the `Header`.
        let len = unsafe { &raw mut (*p).len };
        // SAFETY: `kind` is a field of `h`: valid for writes, aligned, not referenced. The
        // padding next to it stays zero.
        unsafe { kind.write(seed) };
        // SAFETY: `len` is a field of `h`: valid for writes, aligned for `u32`, not
        // referenced.
        unsafe { len.write(u32::from(seed) * 1000) };
        // SAFETY: both fields were written above.
        ZeroedHeader(unsafe { h.assume_init() })
    }
    fn same(&self, seed: u8) -> bool {
        self.0.same(seed)
    }
}

/// Every way to allocate from a runtime cache: `alloc` + drop, `try_alloc` +
/// `into_inner`, `alloc_uninit` + `write`, a handle's `alloc_mut` + `free` (and a drop),
/// `into_raw` + `from_raw`; each slot freed and reused, so every state change of a slot
/// that held such a value runs.
fn runtime_cache_round_trips<T: Zoo, const SIZE: usize>()
where
    slab_core::SlabSize<SIZE>: slab_core::ValidSlabSize,
{
    let cache: SlabCache<T, SpinLock, SIZE> = SlabCache::new();
    for round in 0..3u8 {
        let b = cache.alloc(T::make(round));
        assert!(b.same(round));
        drop(b);

        let b = cache
            .try_alloc(T::make(round + 1))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(SlabBox::into_inner(b).same(round + 1));

        let b = SlabBox::write(cache.alloc_uninit(), T::make(round + 2));
        assert!(b.same(round + 2));
        drop(b);

        let mut handle = cache.clone();
        let b = handle.alloc_mut(T::make(round + 3));
        assert!(b.same(round + 3));
        handle.free(b);
        let b = handle.alloc_mut(T::make(round + 4));
        assert!(b.same(round + 4));
        drop(b);
        drop(handle);

        let raw = SlabBox::into_raw(cache.alloc(T::make(round + 5)));
        // SAFETY: `raw` came from `into_raw` of a box of this very type, once.
        let b: SlabBox<T, SlabCache<T, SpinLock, SIZE>> = unsafe { SlabBox::from_raw(raw) };
        assert!(b.same(round + 5));
        drop(b);
    }
    assert_eq!(cache.stats().in_use, 0);
}

/// Every way to allocate a `#[slab_cached]` type: `new_boxed`, `try_new_boxed`,
/// `new_uninit_boxed` + `write`, `into_raw` + `from_raw`, and a flush of the thread's
/// magazines back to the depot.
fn slab_cached_round_trips<W: SlabCached, T: Zoo>(wrap: fn(T) -> W, get: fn(&W) -> &T) {
    for round in 0..3u8 {
        let b = Boxed::new(wrap(T::make(round)));
        assert!(get(&b).same(round));
        drop(b);

        let b = Boxed::try_new(wrap(T::make(round + 1))).unwrap_or_else(|e| panic!("{e}"));
        assert!(get(&SlabBox::into_inner(b)).same(round + 1));

        let raw = SlabBox::into_raw(Boxed::new(wrap(T::make(round + 2))));
        // SAFETY: `raw` came from `into_raw` of a `Boxed<W>`, once.
        let b: Boxed<W> = unsafe { SlabBox::from_raw(raw) };
        assert!(get(&b).same(round + 2));
        drop(b);
    }
    flush_thread_cache::<W>();
}

macro_rules! zoo {
    ($($name:ident: $ty:ty => $cached:ident,)*) => {$(
        #[slab_cached]
        struct $cached($ty);

        mod $name {
            use super::*;

            #[test]
            fn runtime_caches_never_read_the_value() {
                runtime_cache_round_trips::<$ty, 4096>();
                // A small slab too: a master whose handle counters are packed.
                runtime_cache_round_trips::<$ty, 1024>();
            }

            #[test]
            fn slab_cached_types_never_read_the_value() {
                slab_cached_round_trips::<$cached, $ty>($cached, |w| &w.0);
                let b = $cached::new_uninit_boxed();
                let b = SlabBox::write(b, $cached(<$ty>::make(9)));
                assert!(b.0.same(9));
                drop(b);
                flush_thread_cache::<$cached>();
                assert_eq!($cached::slab_cache().stats().in_use, 0);
            }
        }
    )*};
}

zoo! {
    padded_header: Header => CachedHeader,
    option_none: Option<u32> => CachedOption,
    aligned_line: Line => CachedLine,
    enum_unit_variant: Event => CachedEvent,
    maybe_uninit_field: Scratch => CachedScratch,
    packed: Packed => CachedPacked,
    one_byte: u8 => CachedByte,
    byte_array: [u8; 1] => CachedByteArray,
    padded_tuple: (u8, u16) => CachedTuple,
    full_words: [u64; 2] => CachedWords,
    zero_padded: ZeroedHeader => CachedZeroed,
}
