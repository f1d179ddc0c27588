//! Hardening: the checks that catch misuse of the unsafe API and memory corruption.
//!
//! Active when [`CHECKS`] is true: in debug builds (`debug_assertions`) and with the
//! `debug-checks` feature in release builds. Release fast paths compile to nothing here.
//!
//! - **Canary**: when a slot has room (see `Class::canary`), a word after the object holds
//!   `LIVE ^ address` while the slot is handed out and `FREE ^ address` while it is free.
//!   Freeing a free slot is a double free; a word that is neither was overwritten by a write
//!   past the end of the object (into its neighbour's red zone). The state is decided from
//!   the canary alone: the canary lies past the object, so it is the allocator's in every
//!   state, while the slot's first word belongs to the value whenever the slot is live (it
//!   may be padding or an unused enum payload, which must never be read; I7 of
//!   `IMPLEMENTATION.md`).
//! - **Poison**: freed object bytes are filled with [`POISON`]; a slot handed out again must
//!   still hold it, or something wrote to it after it was freed.
//! - **Encoded links**: free-list links are stored XORed with a key derived from the slot's
//!   address (provenance kept: `map_addr`), and checked when decoded, so a stray write to a
//!   free slot is reported instead of handing out a wild pointer.
//! - **ASan** (`asan-poison` feature): free slots are poisoned for AddressSanitizer, which
//!   otherwise sees a live slab as one allocation. Compiled under `cfg(slab_asan)`, which
//!   `build.rs` sets only when the target is built with `-Zsanitizer=address` (elsewhere
//!   the ASan functions do not exist and the program would not link).
//!
//! This module talks to `geometry` only: it knows a slot's layout, not slabs or caches.

use core::ptr::NonNull;

use crate::geometry::Class;

/// Whether the hardening checks run.
pub(crate) const CHECKS: bool = cfg!(any(debug_assertions, feature = "debug-checks"));

const LIVE: usize = 0x1ab0_11fe_u32 as usize;
const FREE: usize = 0xf4ee_5107_u32 as usize;
const LINK_KEY: usize = 0x5bd1_e995_u32 as usize;
/// The byte freed objects are filled with.
pub(crate) const POISON: u8 = 0xde;

const W: usize = size_of::<usize>();

/// What a slot's canary says about it.
#[derive(PartialEq, Eq, Debug, Clone, Copy)]
pub(crate) enum SlotState {
    Live,
    Free,
    Smashed,
    /// The class has no canary.
    Unknown,
}

#[inline]
fn canary_ptr(slot: NonNull<u8>, class: &Class) -> NonNull<usize> {
    // SAFETY: `canary + W <= stride`, so the word lies inside the slot (`Class::new`, I1).
    unsafe { slot.add(class.canary) }.cast()
}

/// Reads the canary of a slot. Reads nothing but the canary word, which lies past the
/// object and so is never a byte of the user's value.
///
/// # Safety
/// `slot` is a slot of a live slab of geometry `class`.
pub(crate) unsafe fn state(slot: NonNull<u8>, class: &Class) -> SlotState {
    if class.canary == 0 {
        return SlotState::Unknown;
    }
    // SAFETY: the canary word lies inside the slot past the object (`canary_ptr`), inside
    // a live slab (contract), so it is readable; the allocator initialised it when the slot
    // was first handed out or made free (`on_fresh`, `set_state`), and no value's bytes lie
    // there, so it is initialised in every state; the read is unaligned and every bit
    // pattern is a `usize` (I1, I7).
    let c = unsafe { canary_ptr(slot, class).read_unaligned() };
    let a = slot.addr().get();
    if c == LIVE ^ a {
        SlotState::Live
    } else if c == FREE ^ a {
        SlotState::Free
    } else {
        SlotState::Smashed
    }
}

/// Sets the canary: live, or free.
///
/// # Safety
/// As [`state`], and the caller owns the slot.
unsafe fn set_state(slot: NonNull<u8>, class: &Class, live: bool) {
    if class.canary != 0 {
        let v = if live { LIVE } else { FREE } ^ slot.addr().get();
        // SAFETY: the canary word lies inside the slot (`canary_ptr`), which the caller
        // owns, and past the object, so the write touches no byte of a value (I2, I7).
        unsafe { canary_ptr(slot, class).write_unaligned(v) };
    }
}

/// Stores the free-list link of a free slot (encoded with a key of the slot's address) and,
/// with hardening checks, marks the slot free in its canary.
///
/// # Safety
/// `slot` is a free slot of geometry `class` owned by the caller, holding no value.
#[inline(always)]
pub(crate) unsafe fn write_link(slot: NonNull<u8>, next: *mut u8, class: &Class) {
    // SAFETY: slots are at least a pointer wide (I5), and the slot is free and owned by
    // the caller, so its first word is the allocator's link word, not a value's byte.
    unsafe {
        slot.cast::<*mut u8>()
            .write_unaligned(encode(slot.as_ptr(), next))
    };
    if CHECKS {
        // SAFETY: a slot of a live slab of geometry `class`, owned by the caller (I2).
        unsafe { set_state(slot, class, false) };
    }
}

/// Reads the free-list link of a free slot, or `None` if the slot is not marked free or
/// its link does not decode to a slot (hardening checks only; `Some` otherwise).
///
/// # Safety
/// `slot` is a free slot of geometry `class` on a list the caller owns.
#[inline(always)]
pub(crate) unsafe fn try_read_link(slot: NonNull<u8>, class: &Class) -> Option<*mut u8> {
    // The canary first: a slot that is not marked free may hold a value, whose first word
    // must not be read (I7).
    if CHECKS {
        // SAFETY: `slot` is a slot of a live slab of geometry `class` (this function's
        // contract), which is what `state` needs (I1; it reads only the canary, I7).
        let state = unsafe { state(slot, class) };
        if !matches!(state, SlotState::Free | SlotState::Unknown) {
            return None;
        }
    }
    // SAFETY: a free slot (contract) holds its successor's encoded address in its first
    // word, written by `write_link` (I5).
    let stored = unsafe { slot.cast::<*mut u8>().read_unaligned() };
    let next = decode(slot.as_ptr(), stored);
    if CHECKS && !plausible_slot(next, class) {
        return None;
    }
    Some(next)
}

/// [`try_read_link`], panicking on a corrupted link.
///
/// # Safety
/// As [`try_read_link`].
#[inline(always)]
pub(crate) unsafe fn read_link(slot: NonNull<u8>, class: &Class, name: &str) -> *mut u8 {
    // SAFETY: this function's contract is `try_read_link`'s: a free slot of geometry
    // `class` on a list the caller owns (I2, I5).
    match unsafe { try_read_link(slot, class) } {
        Some(next) => next,
        None => corrupted_link(slot.as_ptr(), name),
    }
}

/// A slot taken from a slab's bump region (never used): poison it and mark it free, so
/// every slot on a free list or in a magazine looks the same.
///
/// # Safety
/// `slot` is a fresh slot of a live slab, owned by the caller.
pub(crate) unsafe fn on_fresh(slot: NonNull<u8>, class: &Class) {
    if CHECKS {
        // SAFETY: `poison_end() <= stride`, so the bytes lie inside the slot, which the
        // caller owns and which holds no value (I2, I3).
        unsafe { slot.as_ptr().write_bytes(POISON, class.poison_end()) };
        // SAFETY: a free slot of geometry `class`, owned by the caller, holding no value
        // (I2, I5).
        unsafe { write_link(slot, core::ptr::null_mut(), class) };
    }
}

/// A free slot leaves the pool for a user: it must still be free and poisoned.
///
/// # Safety
/// `slot` is a free slot of a live slab of geometry `class`, owned by the caller.
pub(crate) unsafe fn on_handout(slot: NonNull<u8>, class: &Class, name: &str) {
    asan_unpoison(slot, class);
    if !CHECKS {
        return;
    }
    // SAFETY: `slot` is a slot of a live slab of geometry `class` (contract, I1); `state`
    // reads only its canary (I7).
    match unsafe { state(slot, class) } {
        SlotState::Free | SlotState::Unknown => {}
        SlotState::Live => panic!(
            "slab_core: the free list of `{name}` handed out {slot:p}, which is in use: the free list is corrupted"
        ),
        SlotState::Smashed => panic!(
            "slab_core: the free slot {slot:p} of `{name}` was overwritten (its link or red zone changed after it was freed)"
        ),
    }
    let end = class.poison_end();
    // SAFETY: `W <= poison_end() <= stride` (a slot is at least a link wide, I5), so the
    // offset stays inside the slot.
    let rest = unsafe { slot.as_ptr().add(W) };
    // SAFETY: `rest..rest + (end - W)` lies inside the slot, which the caller owns (I2: no
    // one writes it while the slice lives); the slot is free, so these are allocator bytes
    // (I7), every one initialised with `POISON` when the slot was freed or taken fresh
    // (`on_release`, `on_fresh`), and `u8` has no invalid values.
    let bytes = unsafe { core::slice::from_raw_parts(rest, end.saturating_sub(W)) };
    if let Some(i) = bytes.iter().position(|&b| b != POISON) {
        panic!(
            "slab_core: a freed `{name}` at {slot:p} was written after it was freed (byte {} changed)",
            i + W
        );
    }
    // SAFETY: a slot of a live slab of geometry `class`, owned by the caller (contract,
    // I2).
    unsafe { set_state(slot, class, true) };
}

/// A user gives a slot back (its value already dropped or moved out): detect a double free
/// or an overflow, poison the bytes, mark it free.
///
/// # Safety
/// `slot` is a slot of a live slab of geometry `class`; the caller gives up its ownership.
pub(crate) unsafe fn on_release(slot: NonNull<u8>, class: &Class, name: &str) {
    if !CHECKS {
        return;
    }
    // SAFETY: `slot` is a slot of a live slab of geometry `class` (contract, I1); `state`
    // reads only its canary (I7).
    check_live(unsafe { state(slot, class) }, slot, name, "freed");
    // SAFETY: `poison_end() <= stride`, so the bytes lie inside the slot, which holds no
    // value any more (I3) and is ours until it is pushed (I2).
    unsafe { slot.as_ptr().write_bytes(POISON, class.poison_end()) };
    // SAFETY: a free slot of geometry `class`, ours, holding no value (I2, I3): its first
    // word is the allocator's link word (I5).
    unsafe { write_link(slot, core::ptr::null_mut(), class) };
}

/// Panics unless `state` says the slot is handed out.
pub(crate) fn check_live(state: SlotState, slot: NonNull<u8>, name: &str, what: &str) {
    match state {
        SlotState::Live | SlotState::Unknown => {}
        SlotState::Free => panic!(
            "slab_core: double free of a `{name}` at {slot:p}: the slot was {what} while already free"
        ),
        SlotState::Smashed => panic!(
            "slab_core: a write past the end of the `{name}` at {slot:p} overwrote its red zone (heap overflow into the neighbouring slot)"
        ),
    }
}

/// Encodes a free-list link stored in `slot`.
#[inline(always)]
fn encode(slot: *mut u8, next: *mut u8) -> *mut u8 {
    if CHECKS {
        next.map_addr(|a| a ^ key(slot))
    } else {
        next
    }
}

/// Decodes a free-list link stored in `slot`.
#[inline(always)]
pub(crate) fn decode(slot: *mut u8, stored: *mut u8) -> *mut u8 {
    if CHECKS {
        stored.map_addr(|a| a ^ key(slot))
    } else {
        stored
    }
}

#[inline(always)]
fn key(slot: *mut u8) -> usize {
    (slot.addr() >> 3).rotate_left(16) ^ LINK_KEY
}

/// Whether `p` is null or the start of a slot of some slab of geometry `class` (by
/// address arithmetic only: nothing is read).
pub(crate) fn plausible_slot(p: *mut u8, class: &Class) -> bool {
    p.is_null() || class.starts_slot(p.addr())
}

/// Panics: a decoded link is not a slot.
#[cold]
#[track_caller]
pub(crate) fn corrupted_link(slot: *mut u8, name: &str) -> ! {
    panic!(
        "slab_core: the free list of `{name}` is corrupted at {slot:p}: its link does not point to a slot (a write after free?)"
    )
}

#[cfg(slab_asan)]
unsafe extern "C" {
    fn __asan_poison_memory_region(addr: *const u8, size: usize);
    fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
}

/// Marks a free slot's object bytes past the link as unaddressable for AddressSanitizer
/// (the link and the canary stay readable for the allocator's own checks).
#[inline(always)]
#[allow(unused_variables, reason = "a no-op without `cfg(slab_asan)`")]
pub(crate) fn asan_poison(slot: NonNull<u8>, class: &Class) {
    #[cfg(slab_asan)]
    {
        // SAFETY: `W <= stride` (I5), so the offset stays inside the slot.
        let rest = unsafe { slot.as_ptr().add(W) };
        // SAFETY: `rest..rest + stride - W` lies inside the slot, in a live slab (I1);
        // poisoning only changes ASan's shadow memory.
        unsafe { __asan_poison_memory_region(rest, class.poison_end() - W) };
    }
}

/// Makes a whole slot addressable again for AddressSanitizer.
#[inline(always)]
#[allow(unused_variables, reason = "a no-op without `cfg(slab_asan)`")]
pub(crate) fn asan_unpoison(slot: NonNull<u8>, class: &Class) {
    #[cfg(slab_asan)]
    // SAFETY: the slot's `stride` bytes lie inside a live slab (I1); unpoisoning only
    // changes ASan's shadow memory.
    unsafe {
        __asan_unpoison_memory_region(slot.as_ptr(), class.stride)
    };
}

/// Makes a whole slab addressable before it goes back to the free hook.
#[inline(always)]
#[allow(unused_variables, reason = "a no-op without `cfg(slab_asan)`")]
pub(crate) fn asan_unpoison_slab(base: NonNull<u8>, class: &Class) {
    #[cfg(slab_asan)]
    // SAFETY: the slab is `slab_size` bytes from the hook (I1, I6); unpoisoning only
    // changes ASan's shadow memory.
    unsafe {
        __asan_unpoison_memory_region(base.as_ptr(), class.slab_size)
    };
}
