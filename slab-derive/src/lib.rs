//! Procedural macros of [`slab-core`]: `#[slab_cached]` gives a type its own `static`
//! slab cache, and `slab_hooks!` tells slab-core where slab memory comes from.
//!
//! Do not depend on this crate directly: depend on `slab-core` (its `derive` feature, on
//! by default, re-exports both macros) and write `slab_core::slab_cached` and
//! `slab_core::slab_hooks`. The generated code names `slab_core` and its hidden
//! `__private` module, which is why the two crates are released together and
//! `slab-core` pins this one with `=`.
//!
//! ```
//! use slab_core::{Boxed, slab_cached};
//!
//! slab_core::slab_hooks!(global); // once per program
//!
//! #[slab_cached]
//! #[derive(Debug)]
//! struct Particle {
//!     pos: [f32; 3],
//!     ttl: u16,
//! }
//!
//! let p: Boxed<Particle> = Particle::new_boxed(Particle { pos: [0.0; 3], ttl: 60 });
//! assert_eq!(p.ttl, 60);
//! assert_eq!(Particle::slab_cache().stats().in_use, 1);
//! ```
//!
//! # How the macros are built
//! `lib.rs` holds the entry points only. `#[slab_cached]` is `pipeline.rs`, which runs
//! `args.rs` (parse the attribute) → `ast.rs` (the item) → `valid.rs` (checks the input
//! alone decides) → `expand.rs` (code generation, with `const` checks and trait bounds
//! for what the type's layout and traits decide), or `fallback.rs` when the input is
//! wrong. Every stage records its mistakes in the collector of `errors.rs` and goes on, so
//! all the mistakes of one attribute are reported in one compile, each spanned at the
//! user's token that causes it. `hooks.rs` is `slab_hooks!`. Each file imports only the
//! stages before it. The expansion snapshot tests (`snapshots.rs`, expected text in
//! `tests/expand/`) show what both macros emit.
//!
//! [`slab-core`]: https://docs.rs/slab-core
#![forbid(unsafe_code)]

mod args;
mod ast;
mod errors;
mod expand;
mod fallback;
mod hooks;
mod pipeline;
#[cfg(test)]
mod snapshots;
mod valid;

/// Gives a struct or enum its own `static` slab cache and constructors that allocate
/// from it.
///
/// ```
/// use slab_core::{AllocError, Boxed, SpinLock, slab_cached};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached(size = 16384, lock = SpinLock)]
/// pub struct Packet {
///     len: u16,
///     data: [u8; 1500],
/// }
///
/// let p: Boxed<Packet> = Packet::new_boxed(Packet { len: 3, data: [0; 1500] });
/// let q: Result<Boxed<Packet>, AllocError<Packet>> =
///     Packet::try_new_boxed(Packet { len: 4, data: [1; 1500] });
/// assert_eq!(p.len + q.unwrap().len, 7);
/// assert_eq!(Packet::slab_cache().stats().in_use, 1);
/// ```
///
/// # Arguments
/// All optional, in any order, each at most once:
///
/// | argument | default | meaning |
/// |---|---|---|
/// | `size = 4096` | chosen per type (below) | bytes per slab: an integer literal, a power of two from 512 to 1073741824 (`1 << 30`) |
/// | `lock = SpinLock` | `slab_core::SpinLock` | the lock of the cache's depot: any path to a type implementing `slab_core::LockTrait` that is `Send + Sync` (`SpinLock`, `TicketLock`, your own) |
/// | `recycle` | off | an object cache: the type implements `slab_core::Recycle`, and instead of `new_boxed` it gets `T::take() -> slab_core::Recycled<T>` (a kept object, reset when dropped, not dropped), `T::try_take()` and `T::object_cache()` |
/// | `source = Global` | `slab_core::Hooks` (the program's `slab_hooks!`) | where the cache's slabs come from: any type implementing `slab_core::DefaultSource` (`slab_core::Global` for Rust's global allocator, which needs no `slab_hooks!`; your own `unsafe impl SlabSource`) |
/// | `crate = path` | `slab_core` | where slab-core is, for a renamed dependency: `crate = my_slab` or `crate = "my_slab"` |
///
/// Without `size`, slab-core picks the smallest power of two from 16384 up whose slabs
/// hold at least 8 values and waste at most 1/64 of their bytes (16384 for 64-byte values,
/// 131072 for a 1500-byte packet), or failing that the smallest size that holds two.
/// `<T as SlabCached>::SLAB_SIZE` (or `T::SLAB_SIZE` with `slab_core::SlabCached` in
/// scope) is the size a type got.
///
/// **On a small target, give `size`.** Every slab is one block from the allocation hook,
/// as large as the slab and aligned to it, so the default asks the hook for at least 16
/// KiB at a time. A hook that cannot give that (an arena of 1 KiB pages, a few KiB of RAM)
/// returns `None`, and `new_boxed` panics with a message that names the slab size and
/// `size =`; `#[slab_cached(size = 1024)]` (any power of two from 512 that holds two
/// values) fits such a hook.
///
/// `lock = SpinLock` resolves like any type in the module, so `use slab_core::SpinLock;`
/// (or a full path) is all it needs.
///
/// # What it generates
/// The item itself, unchanged (derives and other attributes before or after the
/// attribute keep working), and in a `const _: () = { .. };` block next to it:
/// - `unsafe impl slab_core::SlabCached for T` (the one implementation slab-core trusts), whose `slab_cache()` holds one hidden `static`
///   `SlabCache<T, L, SIZE>`. Nothing is allocated before the first box.
/// - Inherent functions, with the visibility of the type:
///   - `T::new_boxed(value: T) -> Boxed<T>`: allocates like `Box::new`, panicking when
///     the allocation hook has no memory;
///   - `T::try_new_boxed(value: T) -> Result<Boxed<T>, AllocError<T>>`: hands the value
///     back on failure;
///   - `T::new_uninit_boxed() -> UninitBoxed<T>` and `T::try_new_uninit_boxed() ->
///     Result<UninitBoxed<T>, SlabError>`: an uninitialised slot, to build a large value
///     in place (`SlabBox::write`);
///   - `T::slab_cache() -> &'static <T as SlabCached>::Cache`: the cache, for `stats`,
///     `reserve` and `shrink`.
///
/// `slab_core::Boxed<T>` and `slab_core::UninitBoxed<T>` name the box types. The type
/// must not define functions with these names itself.
///
/// The generated code contains no `unsafe` (it compiles under
/// `#![forbid(unsafe_code)]`), names slab-core only by absolute paths (it compiles under
/// `#![no_implicit_prelude]`), and is warning-free under `#![deny(warnings)]` and
/// `clippy::pedantic`. It works in `#![no_std]` crates.
///
/// # Compile-time checks
/// Spanned at the token at fault:
/// - arguments: unknown, duplicate or valueless keys; `size` not an integer literal,
///   zero, not a power of two (the message names the nearest two), below 512 or above
///   `1 << 30`;
/// - the item: not a struct or enum (unions are not supported), generic or with
///   lifetime or const parameters (one `static` cache holds one `'static` type);
/// - the layout, by a `const` item in your crate whose message names the type, the size
///   and the fix: zero-sized type, fewer than two values per slab, alignment over a
///   quarter of the slab, a lock over 16 bytes;
/// - the traits: a type that is not `Send`, a lock that is not a `LockTrait`, or a lock
///   that cannot be shared across threads (`NoLock`): the cache is a `static`, shared by
///   every thread; a `source` that is not a `SlabSource` with a `DefaultSource` value.
#[proc_macro_attribute]
pub fn slab_cached(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    pipeline::slab_cached(args.into(), item.into()).into()
}

/// Defines where slab memory comes from: the two allocation hooks of slab-core, once per
/// program.
///
/// ```
/// // Slab memory from Rust's global allocator (needs slab-core's `alloc` feature, which
/// // `std`, on by default, implies):
/// slab_core::slab_hooks!(global);
///
/// fn main() {
///     let cache: slab_core::SlabCache<u64> = slab_core::SlabCache::new();
///     assert_eq!(*cache.alloc(7), 7);
/// }
/// ```
///
/// ```
/// use core::alloc::Layout;
/// use core::ptr::NonNull;
///
/// /// # Safety
/// /// `layout` has a non-zero size.
/// unsafe fn my_alloc(layout: Layout) -> Option<NonNull<u8>> {
///     // SAFETY: slab layouts are never zero-sized.
///     NonNull::new(unsafe { std::alloc::alloc(layout) })
/// }
///
/// /// # Safety
/// /// `ptr` came from `my_alloc` with this `layout`.
/// unsafe fn my_free(ptr: NonNull<u8>, layout: Layout) {
///     // SAFETY: this function's contract: `ptr` came from `my_alloc` with `layout`.
///     unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
/// }
///
/// // SAFETY: `my_alloc` returns fresh global-allocator blocks of the layout asked for (size
/// // and alignment are the slab size), each once; `my_free` takes each back once.
/// slab_core::slab_hooks!(unsafe my_alloc, my_free);
///
/// fn main() {
///     let cache: slab_core::SlabCache<u64> = slab_core::SlabCache::new();
///     assert_eq!(*cache.alloc(7), 7);
/// }
/// ```
///
/// # Forms
/// - `slab_hooks!(unsafe my_alloc, my_free)`: your `unsafe` is your promise that the hooks
///   keep the contract below (slab-core cannot check it; a hook that returns one block
///   twice would hand one slot to two owners). Put a `// SAFETY:` comment above the call,
///   as for any `unsafe` block; under `deny(unsafe_code)` the lint points at that token.
///   The functions are any two expressions that coerce to
///   `slab_core::AllocHook` (`unsafe fn(Layout) -> Option<NonNull<u8>>`) and
///   `slab_core::FreeHook` (`unsafe fn(NonNull<u8>, Layout)`): `fn` or `unsafe fn` items,
///   paths into other modules, non-capturing closures. The allocation hook returns a
///   block of `layout.size()` bytes aligned to `layout.align()` (both the slab size), or
///   `None` when memory is exhausted; the free hook takes back such a block with the same
///   layout.
/// - `slab_hooks!(global)`: Rust's global allocator (`alloc::alloc`); works in `no_std`
///   crates that have `alloc`.
/// - Either form with `crate = path` last, for a renamed dependency:
///   `slab_hooks!(global, crate = my_slab)`.
///
/// # Errors
/// - A function with the wrong signature is a type error (`mismatched types`) at its
///   name, not a link error.
/// - Another number of arguments is an error at the arguments.
/// - Your own hooks without `unsafe` are an error that says what to write;
///   `slab_hooks!(unsafe global)` is an error too (the library's hooks need no promise).
/// - Calling the macro nowhere in a program is a link error. Past the linker's command
///   line, the lines that matter name the symbol, which says what to do:
///   ```text
///   rust-lld: error: undefined symbol: slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro
///   rust-lld: error: undefined symbol: slab_core_0_1__free_hook__define_it_once_with_slab_hooks_macro
///   ```
///   (GNU `ld`: ``undefined reference to `slab_core_0_1__alloc_hook__…'``). Add
///   `slab_core::slab_hooks!(global);` to the binary; doctests and each file in `tests/`
///   are programs of their own and need it too.
/// - Calling it twice in one crate is a compile error at the second call, ``symbol
///   `slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro` is already
///   defined``; in two crates of one program (a library and the binary), a link error,
///   `rust-lld: error: duplicate symbol: slab_core_0_1__alloc_hook__…`. Keep one call, in
///   the binary: a library calls `slab_hooks!` only under `#[cfg(test)]`, for its own unit
///   tests (see slab-core's crate documentation, "Slab memory").
///
/// # `forbid(unsafe_code)`
/// Exporting a symbol is `unsafe`, so the expansion carries
/// `#[allow(unsafe_code)]`; that works under `deny(unsafe_code)` but not under a
/// crate-wide `#![forbid(unsafe_code)]`, which nothing can lift. A crate that forbids
/// unsafe code calls `slab_hooks!` in another crate of the program (the binary, or a
/// small crate of its own), or forbids unsafe code per module instead
/// (`#![forbid(unsafe_code)]` at the top of every module but the one with the hooks).
/// `#[slab_cached]` itself generates no unsafe code.
#[proc_macro]
pub fn slab_hooks(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    hooks::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
