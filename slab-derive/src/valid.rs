//! Checks that the input alone decides: the value of `size` and the shape of the item.
//!
//! Per-argument checks (`check_size`) are kept apart from checks on the item
//! (`check_item`); checks that depend on the type's layout or traits cannot be done here
//! and go into the expansion as `const` assertions and trait bounds (`expand.rs`).
//! Every check records its error in [`Errors`] and goes on. Talks to `ast` and `errors`.

use syn::LitInt;

use crate::ast::Item;
use crate::errors::Errors;

/// The smallest slab size, `slab_core::MIN_SLAB_SIZE`.
pub(crate) const MIN_SLAB_SIZE: u64 = 512;
/// The largest slab size, `slab_core::MAX_SLAB_SIZE`.
pub(crate) const MAX_SLAB_SIZE: u64 = 1 << 30;

/// Checks the value of `size = N` (spanned at `N`), returning the size if it is valid.
pub(crate) fn check_size(lit: &LitInt, errors: &mut Errors) -> Option<u64> {
    let Ok(n) = lit.base10_parse::<u64>() else {
        errors.push(syn::Error::new_spanned(
            lit,
            format_args!("`size` is too large: the largest slab size is {MAX_SLAB_SIZE} (1 << 30)"),
        ));
        return None;
    };
    let message = if !matches!(lit.suffix(), "" | "usize") {
        format!(
            "`size` is a `usize`: write `size = {n}` without the `{}` suffix",
            lit.suffix()
        )
    } else if n == 0 {
        "`size` cannot be 0: it is the size in bytes of each slab, a power of two from 512 \
         to 1073741824 (1 << 30); leave `size` out to let slab_core choose"
            .to_owned()
    } else if n < MIN_SLAB_SIZE {
        format!(
            "`size = {n}` is too small: slabs are at least {MIN_SLAB_SIZE} bytes; use \
             `size = 512` or more, or leave `size` out to let slab_core choose"
        )
    } else if n > MAX_SLAB_SIZE {
        format!(
            "`size = {n}` is too large: slabs are at most {MAX_SLAB_SIZE} bytes (1 << 30); \
             use `size = {MAX_SLAB_SIZE}` or less"
        )
    } else if !n.is_power_of_two() {
        let below = 1 << (63 - n.leading_zeros());
        let above = below * 2;
        format!("`size = {n}` is not a power of two: use `size = {below}` or `size = {above}`")
    } else {
        return Some(n);
    };
    errors.push(syn::Error::new_spanned(lit, message));
    None
}

/// Checks that the item can have a `static` cache: a struct or enum without generics.
/// Item kinds that cannot are rejected while parsing (`ast.rs`).
pub(crate) fn check_item(item: &Item, errors: &mut Errors) {
    let generics = item.generics();
    if let Some(lifetime) = generics.lifetimes().next() {
        errors.push(syn::Error::new_spanned(
            lifetime,
            format_args!(
                "`#[slab_cached]` types cannot have lifetime parameters: `{}` gets one `static` \
                 cache, which can only hold `'static` values; use a runtime \
                 `slab_core::SlabCache` for borrowing types",
                item.ident(),
            ),
        ));
    }
    if let Some(param) = generics.type_params().next() {
        errors.push(syn::Error::new_spanned(
            param,
            format_args!(
                "`#[slab_cached]` types cannot be generic: `{}` gets one `static` cache, which \
                 holds values of one type; annotate each concrete type (a newtype such as \
                 `struct Foo(Bar<u32>);`), or use a runtime `slab_core::SlabCache<T>`",
                item.ident(),
            ),
        ));
    }
    if let Some(param) = generics.const_params().next() {
        errors.push(syn::Error::new_spanned(
            param,
            format_args!(
                "`#[slab_cached]` types cannot have const parameters: `{}` gets one `static` \
                 cache, which holds values of one type; annotate a concrete newtype, or use a \
                 runtime `slab_core::SlabCache<T>`",
                item.ident(),
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(size: &str) -> Option<String> {
        let lit: LitInt = syn::parse_str(size).unwrap();
        let mut errors = Errors::default();
        check_size(&lit, &mut errors);
        errors.finish().err().map(|e| e.to_string())
    }

    #[test]
    fn the_size_bounds_are_slab_cores() {
        assert_eq!(MIN_SLAB_SIZE, slab_core::MIN_SLAB_SIZE as u64);
        assert_eq!(MAX_SLAB_SIZE, slab_core::MAX_SLAB_SIZE as u64);
    }

    #[test]
    fn valid_sizes_pass() {
        for size in ["512", "4096", "0x1000", "65_536", "4096usize", "1073741824"] {
            assert_eq!(message(size), None, "{size}");
        }
    }

    #[test]
    fn a_size_that_is_not_a_power_of_two_names_the_two_nearest() {
        assert_eq!(
            message("1000").unwrap(),
            "`size = 1000` is not a power of two: use `size = 512` or `size = 1024`"
        );
        assert!(
            message("5000")
                .unwrap()
                .contains("`size = 4096` or `size = 8192`")
        );
    }

    #[test]
    fn sizes_out_of_bounds_say_the_bound() {
        assert!(message("0").unwrap().starts_with("`size` cannot be 0"));
        assert!(message("256").unwrap().contains("at least 512 bytes"));
        assert!(
            message("2147483648")
                .unwrap()
                .contains("at most 1073741824")
        );
        assert!(
            message("99999999999999999999999")
                .unwrap()
                .contains("too large")
        );
        assert!(
            message("4096u32")
                .unwrap()
                .contains("without the `u32` suffix")
        );
    }
}
