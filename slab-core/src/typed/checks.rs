//! The compile-time checks `#[slab_cached]` emits into the user's crate: the layout check
//! with a message formatted at compile time (naming the type, the numbers and the fix), the
//! slab size the attribute picks when none is given, and the trait-bound checks for `Send`
//! values and thread-safe locks. Reached through `__private`; nothing here is `unsafe`.

use crate::control::{class_of, class_with};
use crate::geometry::{LayoutError, MAX_SLAB_SIZE, MIN_SLAB_SIZE};
use crate::lock::LockTrait;
use crate::source::{DefaultSource, SlabSource};

/// A message formatted at compile time (const fns cannot format numbers with `panic!`).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct ConstMsg {
    buf: [u8; 480],
    len: usize,
}

impl ConstMsg {
    const fn new() -> Self {
        ConstMsg {
            buf: [0; 480],
            len: 0,
        }
    }

    const fn s(mut self, s: &str) -> Self {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && self.len < self.buf.len() {
            self.buf[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn n(mut self, mut n: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while k > 0 && self.len < self.buf.len() {
            k -= 1;
            self.buf[self.len] = digits[k];
            self.len += 1;
        }
        self
    }

    /// The message.
    pub const fn as_str(&self) -> &str {
        let (head, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(head) {
            Ok(s) => s,
            Err(_) => "slab_core: layout check failed",
        }
    }
}

/// The smallest valid slab size above `from` for `T`, `L` and `S`, or 0.
const fn smallest_valid<T, L, S: SlabSource>(mut from: usize) -> usize {
    if from < MIN_SLAB_SIZE {
        from = MIN_SLAB_SIZE;
    }
    let mut s = from.next_power_of_two();
    while s <= MAX_SLAB_SIZE {
        if class_of::<T, L, S>(s).is_ok() {
            return s;
        }
        s *= 2;
    }
    0
}

/// The smallest slab size `#[slab_cached]` picks on its own. Not 4096: a 64-byte object
/// then shares its slab with 254 others instead of 62, so a cache has a quarter of the
/// slabs, headers and control overhead per object, and refills and flushes run four times
/// longer before they cross to another slab. Header colouring (`geometry::Colours`) keeps the
/// fewer, larger slabs' headers apart in the caches; without it, 16 KiB-aligned headers
/// would fall into a quarter of the cache sets 4 KiB ones do.
pub(crate) const AUTO_MIN_SLAB: usize = 16384;

/// The slab size `#[slab_cached]` uses when `size` is not given: the smallest power of two
/// from `AUTO_MIN_SLAB` (16384) up whose slabs hold at least 8 objects and waste at most
/// 1/64 of their bytes (16384 for 64-byte objects, 131072 for a 1500-byte packet: 87 per
/// slab, about 1507 bytes each); failing that, the smallest size that holds two. Untouched
/// slab pages are not resident, so a large slab costs little until it fills.
#[doc(hidden)]
pub const fn auto_slab_size<T, L, S: SlabSource>() -> usize {
    let mut s = AUTO_MIN_SLAB;
    while s <= 1 << 24 {
        // Release geometry: the size must not change with the build profile.
        if let Ok(c) = class_with::<T, L, S>(s, false) {
            let waste = s - c.slave_slots * c.stride;
            if c.master_slots >= 8 && waste * 64 <= s {
                return s;
            }
        }
        s *= 2;
    }
    match smallest_valid::<T, L, S>(4096) {
        0 => 4096,
        s => s,
    }
}

/// Checks that `T` can live in `size`-byte slabs guarded by `L` from source `S`, with a message that
/// names the type, the numbers and the fix.
#[doc(hidden)]
#[allow(
    clippy::result_large_err,
    reason = "the error is a message built in const evaluation, where nothing can be boxed \
              (no allocator in const fns, and this crate is `no_std`), and `#[slab_cached]` \
              only ever calls this in a `const` item, so the size costs nothing at run time"
)]
pub const fn check_layout<T, L, S: SlabSource>(
    type_name: &'static str,
    lock_name: &'static str,
    size: usize,
) -> Result<(), ConstMsg> {
    let m = ConstMsg::new();
    match class_of::<T, L, S>(size) {
        Ok(_) => Ok(()),
        Err(LayoutError::BadSlabSize) => Err(m
            .s("`size = ")
            .n(size)
            .s("` for `")
            .s(type_name)
            .s("` is not a power of two from 512 to 1073741824 (1 << 30)")),
        Err(LayoutError::ZeroSized) => Err(m
            .s("`")
            .s(type_name)
            .s("` is zero-sized: a slab cache of zero-sized values needs no memory; remove `#[slab_cached]`")),
        Err(LayoutError::LockTooLarge) => Err(m
            .s("the lock `")
            .s(lock_name)
            .s("` of `")
            .s(type_name)
            .s("` is ")
            .n(size_of::<L>())
            .s(" bytes; a slab lock must be at most 16 bytes: store a pointer to a larger lock")),
        Err(LayoutError::AlignTooLarge) => {
            let better = smallest_valid::<T, L, S>(align_of::<T>() * 4);
            let m = m
                .s("`")
                .s(type_name)
                .s("` needs alignment ")
                .n(align_of::<T>())
                .s("; a ")
                .n(size)
                .s("-byte slab allows at most ")
                .n(size / 4);
            Err(if better == 0 {
                m.s(": no slab size fits it")
            } else {
                m.s(": use size = ").n(better)
            })
        }
        Err(LayoutError::TooLarge) => {
            let better = smallest_valid::<T, L, S>(size * 2);
            let m = m
                .s("`")
                .s(type_name)
                .s("` is ")
                .n(size_of::<T>())
                .s(" bytes; a ")
                .n(size)
                .s("-byte slab must hold at least two");
            Err(if better == 0 {
                m.s(": no slab size up to 1 GiB does; allocate it with `Box` instead")
            } else {
                m.s(": use size = ").n(better)
            })
        }
    }
}

/// Implemented for every `Send` type: the values of a shared `static` cache.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be `#[slab_cached]`: its cache is a `static` shared by every thread, so the type must be `Send`",
    label = "`{Self}` is not `Send`",
    note = "use a runtime `SlabCache<T, NoLock>` owned by one thread for values that are not `Send`"
)]
pub trait SendValue {}
impl<T: Send> SendValue for T {}

/// Implemented for locks that can guard a cache shared across threads.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot guard a `#[slab_cached]` cache: the cache is a `static` shared by every thread",
    label = "this lock is not `Send + Sync`",
    note = "use `lock = SpinLock` or `lock = TicketLock`; `NoLock` is for a runtime `SlabCache` owned by one thread"
)]
pub trait ThreadSafeLock {}
impl<L: Send + Sync> ThreadSafeLock for L {}

/// Compile-time check that `T` is `Send` (reported at the caller's span).
#[doc(hidden)]
pub const fn assert_send_value<T: SendValue>() {}
/// Compile-time check that `L` can guard a shared cache.
#[doc(hidden)]
pub const fn assert_thread_safe_lock<L: ThreadSafeLock>() {}
/// Compile-time check that `L` is a lock.
#[doc(hidden)]
pub const fn assert_lock<L: LockTrait>() {}
/// Compile-time check that `S` is a source a `static` cache can name by its type.
#[doc(hidden)]
pub const fn assert_source<S: DefaultSource>() {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hooks, SpinLock};

    #[test]
    fn auto_size_starts_at_16_kib_and_wastes_little_on_packets() {
        assert_eq!(auto_slab_size::<[u64; 8], SpinLock, Hooks>(), AUTO_MIN_SLAB);
        assert_eq!(auto_slab_size::<u8, SpinLock, Hooks>(), AUTO_MIN_SLAB);
        // Mid-sized objects too: 16 KiB already wastes at most 1/64 of the slab on them.
        assert_eq!(
            auto_slab_size::<[u8; 256], SpinLock, Hooks>(),
            AUTO_MIN_SLAB
        );
        assert_eq!(auto_slab_size::<[u8; 1500], SpinLock, Hooks>(), 131_072);
        let big = auto_slab_size::<[u8; 100_000], SpinLock, Hooks>();
        assert!(class_of::<[u8; 100_000], SpinLock, Hooks>(big).is_ok());
    }

    #[test]
    fn layout_messages_name_the_type_and_the_fix() {
        let e =
            check_layout::<[u8; 5000], SpinLock, Hooks>("Packet", "SpinLock", 4096).unwrap_err();
        assert_eq!(
            e.as_str(),
            "`Packet` is 5000 bytes; a 4096-byte slab must hold at least two: use size = 16384"
        );
        let e = check_layout::<(), SpinLock, Hooks>("Unit", "SpinLock", 4096).unwrap_err();
        assert!(e.as_str().starts_with("`Unit` is zero-sized"));
        let e = check_layout::<u8, [u64; 3], Hooks>("Byte", "Big", 4096).unwrap_err();
        assert!(
            e.as_str().contains("the lock `Big` of `Byte` is 24 bytes"),
            "{}",
            e.as_str()
        );
        assert!(check_layout::<u64, SpinLock, Hooks>("Word", "SpinLock", 4096).is_ok());
    }
}
