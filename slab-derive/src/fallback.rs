//! What `#[slab_cached]` emits when the input is wrong: the errors, the user's item
//! unchanged, and functions under the usual names, so that one mistake is reported once
//! and does not cascade into "no function named `new_boxed`" at every call site.
//!
//! - Wrong arguments on a valid type: the real expansion, with each bad argument replaced
//!   by its default (the errors still fail the build).
//! - A type that cannot have a cache (generic, union): stubs with the same names whose
//!   bodies panic; they are never run because the build fails.
//! - Not a type at all: the item alone.

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::Args;
use crate::ast::Item;
use crate::expand;

/// The output of a failed `#[slab_cached]`.
pub(crate) fn slab_cached(
    tokens: TokenStream,
    item: Option<&Item>,
    args: &Args,
    errors: &syn::Error,
) -> TokenStream {
    let errors = errors.to_compile_error();
    let rest = match item {
        None => tokens,
        Some(item) if item.can_be_cached() => expand::expand(item, args),
        Some(item) => stubs(item, args),
    };
    quote!(#errors #rest)
}

/// The item with placeholder constructors (typed without the `SlabCached` impl).
fn stubs(item: &Item, args: &Args) -> TokenStream {
    let tokens = &item.tokens;
    let ident = item.ident();
    let vis = item.vis();
    let (impl_generics, ty_generics, where_clause) = item.generics().split_for_impl();
    let allows = expand::allows();
    let krate = expand::crate_decl(args.krate.as_ref());
    let panic = quote! {
        _slab_core::__private::core::panic!("`#[slab_cached]` failed to expand")
    };
    quote! {
        #tokens

        #allows
        const _: () = {
            #krate
            impl #impl_generics #ident #ty_generics #where_clause {
                #[doc(hidden)]
                #vis fn new_boxed(_: Self) -> _slab_core::SlabBox<Self> { #panic }
                #[doc(hidden)]
                #vis fn try_new_boxed(
                    _: Self,
                ) -> _slab_core::__private::core::result::Result<
                    _slab_core::SlabBox<Self>,
                    _slab_core::AllocError<Self>,
                > {
                    #panic
                }
                #[doc(hidden)]
                #vis fn new_boxed_with(
                    _: impl _slab_core::__private::core::ops::FnOnce() -> Self,
                ) -> _slab_core::SlabBox<Self> {
                    #panic
                }
                #[doc(hidden)]
                #vis fn try_new_boxed_with(
                    _: impl _slab_core::__private::core::ops::FnOnce() -> Self,
                ) -> _slab_core::__private::core::result::Result<
                    _slab_core::SlabBox<Self>,
                    _slab_core::SlabError,
                > {
                    #panic
                }
                #[doc(hidden)]
                #vis fn new_uninit_boxed() -> _slab_core::SlabBox<
                    _slab_core::__private::core::mem::MaybeUninit<Self>,
                > {
                    #panic
                }
                #[doc(hidden)]
                #vis fn try_new_uninit_boxed() -> _slab_core::__private::core::result::Result<
                    _slab_core::SlabBox<_slab_core::__private::core::mem::MaybeUninit<Self>>,
                    _slab_core::SlabError,
                > {
                    #panic
                }
                #[doc(hidden)]
                #vis fn pin_boxed(_: Self) -> _slab_core::__private::core::pin::Pin<
                    _slab_core::SlabBox<Self>,
                > {
                    #panic
                }
                #[doc(hidden)]
                #vis fn new_arc(_: Self) -> _slab_core::SlabArc<Self> {
                    #panic
                }
                #[doc(hidden)]
                #vis fn try_new_arc(
                    _: Self,
                ) -> _slab_core::__private::core::result::Result<
                    _slab_core::SlabArc<Self>,
                    _slab_core::AllocError<Self>,
                > {
                    #panic
                }
                #[doc(hidden)]
                #vis fn slab_cache() -> &'static _slab_core::SlabCache<Self>
                where
                    Self: 'static,
                {
                    #panic
                }
            }
        };
    }
}
