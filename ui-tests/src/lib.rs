//! Tests of `#[slab_cached]` and `slab_hooks!`: the trybuild cases under `tests/ui` (each
//! mistake and its message) and `tests/pass` (each accepted form, compiled and run), and
//! this small library of annotated types, which `tests/cross_crate.rs` boxes and frees
//! from another crate.
//!
//! The library is what a real user crate looks like: `#![no_std]`, no unsafe code at all
//! (the hooks are defined once by the program that links it), and clean under
//! `clippy::pedantic` (`cargo clippy -p ui-tests` lints the expansions here).
#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::pedantic)]

use slab_core::{SpinLock, TicketLock, slab_cached};

/// A network packet: 1500 bytes of payload, ten to a 16 KiB slab.
#[slab_cached(size = 16384, lock = SpinLock)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Bytes used in `data`.
    pub len: u16,
    /// The payload.
    pub data: [u8; 1500],
}

/// A shape, with the default lock and slab size.
#[slab_cached]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A circle of radius `r`.
    Circle {
        /// The radius.
        r: f32,
    },
    /// A square of side `0`.
    Square(f32),
}

/// A crate-private type: its constructors are `pub(crate)`.
#[slab_cached(lock = TicketLock)]
pub(crate) struct Counter(u64);

/// Boxes a crate-private value and unboxes it again, to show the `pub(crate)`
/// constructors at work.
#[must_use]
pub fn count_through_a_box(n: u64) -> u64 {
    slab_core::SlabBox::into_inner(Counter::new_boxed(Counter(n))).0
}
