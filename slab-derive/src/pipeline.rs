//! `#[slab_cached(..)]` from end to end: `args` (parse the attribute) → `ast` (the item)
//! → `valid` (the checks the input alone decides) → `expand` (code generation), or
//! `fallback` with every error found. Each stage records its mistakes in `errors` and
//! goes on.

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::{args, ast, expand, fallback, valid};

/// `#[slab_cached(..)]`: parses, validates and expands, or falls back with every error.
pub(crate) fn slab_cached(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let mut args = args::parse(args, &mut errors);
    if let Some(lit) = &args.size
        && valid::check_size(lit, &mut errors).is_none()
    {
        args.size = None;
    }
    let parsed = ast::parse(item.clone(), &mut errors);
    if let Some(parsed) = &parsed {
        valid::check_item(parsed, &mut errors);
    }
    match errors.finish() {
        Ok(()) => parsed.map_or(item, |parsed| expand::expand(&parsed, &args)),
        Err(errors) => fallback::slab_cached(item, parsed.as_ref(), &args, &errors),
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenTree;
    use quote::quote;

    use super::*;

    fn idents(tokens: TokenStream, out: &mut Vec<String>) {
        for tt in tokens {
            match tt {
                TokenTree::Ident(i) => out.push(i.to_string()),
                TokenTree::Group(g) => idents(g.stream(), out),
                _ => {}
            }
        }
    }

    #[test]
    fn crate_path_replaces_every_mention_of_slab_core() {
        let out = slab_cached(
            quote!(size = 4096, crate = my_slab),
            quote!(
                pub struct Packet([u8; 64]);
            ),
        );
        let mut names = Vec::new();
        idents(out, &mut names);
        assert!(names.iter().any(|n| n == "my_slab"));
        assert!(!names.iter().any(|n| n == "slab_core"), "{names:?}");
        assert!(!names.iter().any(|n| n == "compile_error"), "{names:?}");
    }

    #[test]
    fn generated_code_has_no_unsafe() {
        let out = slab_cached(
            quote!(lock = SpinLock),
            quote!(
                #[derive(Debug)]
                enum Shape {
                    A,
                    B(u8),
                }
            ),
        );
        let mut names = Vec::new();
        idents(out, &mut names);
        assert!(!names.iter().any(|n| n == "unsafe"));
        assert!(names.iter().any(|n| n == "slab_cached_impl"));
    }

    #[test]
    fn a_bad_argument_still_expands_with_the_default() {
        let out = slab_cached(
            quote!(size = 1000),
            quote!(
                struct Packet([u8; 64]);
            ),
        );
        let mut names = Vec::new();
        idents(out, &mut names);
        assert!(names.iter().any(|n| n == "compile_error"));
        assert!(names.iter().any(|n| n == "auto_slab_size"));
        assert!(names.iter().any(|n| n == "new_boxed"));
    }
}
