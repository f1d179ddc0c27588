//! Code generation for `#[slab_cached]`, the last stage of the pipeline (`pipeline.rs`),
//! and the two helpers every expansion uses (`allows`, `crate_decl`).
//!
//! Everything is emitted inside `const _: () = { .. };` next to the user's item, names
//! slab-core only through `_slab_core::..` (see [`crate_decl`]), and contains no
//! `unsafe`. Checks that depend on the type are `const` items and trait
//! bounds spanned at the user's tokens, so the compiler reports them there.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, LitInt, Path, Type};

use crate::args::Args;
use crate::ast::Item;

/// The lints that generated code allows, each with its reason. Applied to the
/// `const _` block that holds everything the macros generate.
pub(crate) fn allows() -> TokenStream {
    quote! {
        #[allow(dead_code, reason = "the program need not call every generated constructor")]
        #[allow(unreachable_pub, reason = "the constructors take the visibility of the type")]
        #[allow(
            unused_qualifications,
            reason = "absolute paths keep the expansion independent of the caller's scope"
        )]
        #[allow(
            clippy::used_underscore_binding,
            reason = "private names of generated code start with `__`"
        )]
        #[allow(
            clippy::result_large_err,
            reason = "`try_new_boxed` hands the value back in its error, by design"
        )]
        #[allow(
            clippy::absolute_paths,
            reason = "absolute paths keep the expansion independent of the caller's scope"
        )]
        #[allow(
            clippy::same_name_method,
            reason = "`T::slab_cache()` works without importing `SlabCached`"
        )]
        #[allow(
            clippy::arbitrary_source_item_ordering,
            reason = "generated items are ordered by use, not by name"
        )]
        #[allow(
            clippy::decimal_literal_representation,
            reason = "the `size` literal is the user's, repeated in generated code"
        )]
    }
}

/// How the expansion names slab-core: `use ::slab_core as _slab_core;`, or
/// `use <path> as _slab_core;` for `crate = path`.
///
/// A `use` of the extern-prelude path rather than `extern crate slab_core as _slab_core;`:
/// both resolve the same way under `#![no_implicit_prelude]`, but with an `extern crate`
/// item in the user's crate rustc prints slab-core's paths in error messages as
/// `_::_slab_core::SlabCached`, while with `use` they read `slab_core::SlabCached`.
pub(crate) fn crate_decl(krate: Option<&Path>) -> TokenStream {
    match krate {
        None => quote! { use ::slab_core as _slab_core; },
        Some(path) => quote! { use #path as _slab_core; },
    }
}

/// The expansion of a valid `#[slab_cached]` item (or of an invalid one whose bad
/// arguments were dropped, see `fallback.rs`).
pub(crate) fn expand(item: &Item, args: &Args) -> TokenStream {
    let ident = item.ident();
    let tokens = &item.tokens;
    let allows = allows();
    let krate = crate_decl(args.krate.as_ref());
    let user_lock = args.lock.as_ref();
    let lock_span = user_lock.map_or_else(|| ident.span(), Spanned::span);
    let lock_name = user_lock.map_or_else(|| "SpinLock".to_owned(), type_name);
    let lock_type = user_lock.map_or_else(|| quote!(_slab_core::SpinLock), Type::to_token_stream);
    // The lock is named once, so a path that does not resolve is reported once.
    let lock = quote_spanned!(lock_span=> __SlabCachedLock);
    let lock_alias = quote_spanned!(lock_span=> type #lock = #lock_type;);
    let user_source = args.source.as_ref();
    let source_span = user_source.map_or_else(|| ident.span(), Spanned::span);
    let source_type = user_source.map_or_else(|| quote!(_slab_core::Hooks), Type::to_token_stream);
    // Named once too, and checked at the user's token: `DefaultSource` says what to do.
    let source = quote_spanned!(source_span=> __SlabCachedSource);
    let source_alias = quote_spanned!(source_span=> type #source = #source_type;);
    let source_check = user_source.map(|_| {
        quote_spanned! {source_span=>
            const _: () = _slab_core::__private::assert_source::<#source>();
        }
    });
    let recycle = args.recycle;
    let size = size_expr(ident, &lock, &source, args.size.as_ref(), recycle.is_some());
    let size_span = args
        .size
        .as_ref()
        .map_or_else(|| ident.span(), LitInt::span);
    let type_name = ident.unraw().to_string();

    // `recycle`: an object cache of kept slots, checked and laid out as such.
    // Spanned as the rest of their calls, so errors inside the expansion land where they
    // did before `recycle` existed.
    let (impl_macro, check_fn) = if recycle.is_some() {
        (
            quote_spanned!(ident.span()=> object_cached_impl),
            quote_spanned!(size_span=> check_object_layout),
        )
    } else {
        (
            quote_spanned!(ident.span()=> slab_cached_impl),
            quote_spanned!(size_span=> check_layout),
        )
    };
    let impl_call = quote_spanned! {ident.span()=>
        _slab_core::__private::#impl_macro!(#ident, #lock, #size, #source);
    };
    // The arc cache (`T::new_arc`) beside the box cache, from the same source; an object
    // cache's values are taken and given back, not shared, so it has none.
    let arc_call = recycle.is_none().then(|| {
        quote_spanned! {ident.span()=>
            _slab_core::__private::slab_arc_impl!(#ident, #lock, #size, #source);
        }
    });
    let recycle_check = recycle.map(|span| {
        quote_spanned! {span=>
            const _: () = _slab_core::__private::assert_recycle::<#ident>();
        }
    });
    let layout_check = quote_spanned! {size_span=>
        const _: () = if let _slab_core::__private::core::result::Result::Err(__m) =
            _slab_core::__private::#check_fn::<#ident, #lock, #source>(#type_name, #lock_name, #size)
        {
            _slab_core::__private::core::panic!("{}", __m.as_str())
        };
    };
    let send_check = quote_spanned! {ident.span()=>
        const _: () = _slab_core::__private::assert_send_value::<#ident>();
    };
    let lock_check = quote_spanned! {lock_span=>
        const _: () = _slab_core::__private::assert_lock::<#lock>();
        const _: () = _slab_core::__private::assert_thread_safe_lock::<#lock>();
    };
    let functions = if recycle.is_some() {
        object_functions(ident, item.vis(), lock_span)
    } else {
        functions(ident, item.vis(), lock_span)
    };
    quote! {
        #tokens

        #allows
        const _: () = {
            #krate
            #lock_alias
            #source_alias
            #lock_check
            #source_check
            #recycle_check
            #send_check
            #layout_check
            #impl_call
            #arc_call
            #functions
        };
    }
}

/// The slab size: the literal as written, or slab-core's choice for the type.
fn size_expr(
    ident: &Ident,
    lock: &TokenStream,
    source: &TokenStream,
    size: Option<&LitInt>,
    recycle: bool,
) -> TokenStream {
    let auto = if recycle {
        quote_spanned!(ident.span()=> auto_object_slab_size)
    } else {
        quote_spanned!(ident.span()=> auto_slab_size)
    };
    match size {
        Some(lit) => lit.to_token_stream(),
        None => quote_spanned! {ident.span()=>
            _slab_core::__private::#auto::<#ident, #lock, #source>()
        },
    }
}

/// The inherent functions of a `#[slab_cached(recycle)]` type.
fn object_functions(ident: &Ident, vis: &syn::Visibility, lock_span: Span) -> TokenStream {
    let name = ident.unraw().to_string();
    let recycled = quote_spanned!(lock_span=> _slab_core::Recycled<Self>);
    let cache = quote_spanned!(lock_span=> &'static <Self as _slab_core::ObjectCached>::Cache);
    let private = quote_spanned!(lock_span=> _slab_core::__private);
    let get_cache = quote_spanned!(lock_span=> <Self as _slab_core::ObjectCached>::object_cache());
    let take_doc = format!(
        "Takes a `{name}` from its `static` object cache: one kept from an earlier use \
         (reset by `Recycle::reset`), or a fresh one (`Recycle::fresh`) the first time its \
         slot is used.\n\n\
         Generated by `#[slab_cached(recycle)]`. The box is `slab_core::Recycled<{name}>`; \
         dropping it resets the value and keeps it in the cache, from any thread.\n\n\
         # Panics\n\
         When the memory source has no memory for a new slab; `{name}::try_take` returns \
         an error instead."
    );
    let try_take_doc = format!(
        "Takes a `{name}` from its `static` object cache, or says why it cannot; see \
         `{name}::take`.\n\n\
         Generated by `#[slab_cached(recycle)]`.\n\n\
         # Errors\n\
         `SlabError::OutOfMemory` when the memory source has no memory for a new slab."
    );
    let cache_doc = format!(
        "The `static` object cache of `{name}`: its statistics (`stats`), pre-allocation \
         (`reserve`) and the release of empty slabs with the objects they keep \
         (`shrink`).\n\n\
         Generated by `#[slab_cached(recycle)]`. Nothing is allocated before the first take."
    );
    quote_spanned! {lock_span=>
        impl #ident {
            #[doc = #take_doc]
            #[inline]
            #[must_use]
            #vis fn take() -> #recycled {
                #private::take::<Self>()
            }

            #[doc = #try_take_doc]
            #[inline]
            #vis fn try_take() -> _slab_core::__private::core::result::Result<
                #recycled,
                _slab_core::SlabError,
            > {
                #private::try_take::<Self>()
            }

            #[doc = #cache_doc]
            #[inline]
            #[must_use]
            #vis fn object_cache() -> #cache {
                #get_cache
            }
        }
    }
}

/// The inherent functions on the type, each forwarding to `_slab_core::__private`.
/// The box and cache types are spanned at the lock: a lock that is not a `LockTrait`
/// makes them ill-formed, and the error belongs there.
fn functions(ident: &Ident, vis: &syn::Visibility, lock_span: Span) -> TokenStream {
    let name = ident.unraw().to_string();
    let boxed = quote_spanned!(lock_span=> _slab_core::Boxed<Self>);
    let uninit = quote_spanned!(lock_span=> _slab_core::UninitBoxed<Self>);
    let cache = quote_spanned!(lock_span=> &'static <Self as _slab_core::SlabCached>::Cache);
    let arc = quote_spanned!(lock_span=> _slab_core::CachedArc<Self>);
    let pinned = quote_spanned!(lock_span=> _slab_core::__private::core::pin::Pin<#boxed>);
    let arc_cache = quote_spanned!(lock_span=> &'static <Self as _slab_core::ArcCached>::ArcCache);
    let get_arc_cache = quote_spanned!(lock_span=> <Self as _slab_core::ArcCached>::arc_cache());
    // The bodies too (their types are checked again), but not the parameter name, whose
    // hygiene must match the signature's.
    let value = quote!(value);
    let private = quote_spanned!(lock_span=> _slab_core::__private);
    let get_cache = quote_spanned!(lock_span=> <Self as _slab_core::SlabCached>::slab_cache());
    let new_doc = format!(
        "Moves `value` into a slot of the `static` slab cache of `{name}` and returns the \
         owning box, like `Box::new`.\n\n\
         Generated by `#[slab_cached]`. The box is `slab_core::Boxed<{name}>`; dropping it \
         returns the slot to the cache, from any thread.\n\n\
         # Panics\n\
         When the allocation hook has no memory for a new slab; \
         `{name}::try_new_boxed` hands the value back instead."
    );
    let try_new_doc = format!(
        "Moves `value` into a slot of the `static` slab cache of `{name}`, or hands it \
         back.\n\n\
         Generated by `#[slab_cached]`.\n\n\
         # Errors\n\
         When the allocation hook has no memory for a new slab; the error holds `value` \
         (`AllocError::into_inner`)."
    );
    let with_doc = format!(
        "Takes a slot of the `static` slab cache of `{name}` and moves the value `make` \
         returns into it, like `new_boxed(make())` but with `make` called once the slot is \
         known, so a large value is built next to its write into the slot (see \
         `slab_core::SlabBox::init_with` for one patched in place).\n\n\
         Generated by `#[slab_cached]`. If `make` panics, the slot goes back to the cache.\n\n\
         # Panics\n\
         When the allocation hook has no memory for a new slab (`make` is not called); \
         `{name}::try_new_boxed_with` returns an error instead."
    );
    let try_with_doc = format!(
        "Like `{name}::new_boxed_with`, or says why there is no slot (and does not call \
         `make`).\n\n\
         Generated by `#[slab_cached]`.\n\n\
         # Errors\n\
         `SlabError::OutOfMemory` when the allocation hook has no memory for a new slab."
    );
    let uninit_doc = format!(
        "Takes an uninitialised slot from the `static` slab cache of `{name}`, to build a \
         large value in place instead of moving it through the stack: fill it with \
         `SlabBox::write` (or through `SlabBox::as_mut_ptr`, then `assume_init`).\n\n\
         Generated by `#[slab_cached]`. The box is `slab_core::UninitBoxed<{name}>`.\n\n\
         # Panics\n\
         When the allocation hook has no memory for a new slab; \
         `{name}::try_new_uninit_boxed` returns an error instead."
    );
    let try_uninit_doc = format!(
        "Takes an uninitialised slot from the `static` slab cache of `{name}`, or says why \
         it cannot; see `{name}::new_uninit_boxed`.\n\n\
         Generated by `#[slab_cached]`.\n\n\
         # Errors\n\
         `SlabError::OutOfMemory` when the allocation hook has no memory for a new slab."
    );
    let cache_doc = format!(
        "The `static` slab cache of `{name}`: its statistics (`stats`), pre-allocation \
         (`reserve`) and the release of empty slabs (`shrink`).\n\n\
         Generated by `#[slab_cached]`. Nothing is allocated before the first box."
    );
    let pin_doc = format!(
        "Moves `value` into a slot of the `static` slab cache of `{name}` and returns it \
         pinned, like `Box::pin`: slab slots never move, so pinning costs nothing.\n\n\
         Generated by `#[slab_cached]`.\n\n\
         # Panics\n\
         When the allocation hook has no memory for a new slab."
    );
    let arc_doc = format!(
        "Moves `value` into a slot of the `static` arc cache of `{name}` and returns a \
         shared, thread-safe reference-counted pointer, like `Arc::new`.\n\n\
         Generated by `#[slab_cached]`. The arc is `slab_core::CachedArc<{name}>`, with \
         `downgrade`, `get_mut`, `make_mut`, `try_unwrap`; the slot holds the counts and \
         the value, and goes back to the cache when the last `CachedArc` and `CachedWeak` \
         are gone, from any thread. The arc cache is separate from the box cache (its \
         slots are larger) and allocates nothing before the first arc.\n\n\
         # Panics\n\
         When the allocation hook has no memory for a new slab; \
         `{name}::try_new_arc` hands the value back instead."
    );
    let try_arc_doc = format!(
        "Moves `value` into a slot of the `static` arc cache of `{name}`, or hands it \
         back; see `{name}::new_arc`.\n\n\
         Generated by `#[slab_cached]`.\n\n\
         # Errors\n\
         When the allocation hook has no memory for a new slab; the error holds `value` \
         (`AllocError::into_inner`)."
    );
    let arc_cache_doc = format!(
        "The `static` slab cache of the arcs of `{name}` (`{name}::new_arc`): its \
         statistics, `reserve` and `shrink`.\n\n\
         Generated by `#[slab_cached]`. Nothing is allocated before the first arc."
    );
    quote_spanned! {lock_span=>
        impl #ident {
            #[doc = #pin_doc]
            #[inline]
            #[must_use]
            #vis fn pin_boxed(#value: Self) -> #pinned {
                _slab_core::Boxed::<Self>::pin(#value)
            }

            #[doc = #arc_doc]
            #[inline]
            #[must_use]
            #vis fn new_arc(#value: Self) -> #arc {
                _slab_core::CachedArc::<Self>::new(#value)
            }

            #[doc = #try_arc_doc]
            #[inline]
            #vis fn try_new_arc(
                #value: Self,
            ) -> _slab_core::__private::core::result::Result<#arc, _slab_core::AllocError<Self>> {
                _slab_core::CachedArc::<Self>::try_new(#value)
            }

            #[doc = #arc_cache_doc]
            #[inline]
            #[must_use]
            #vis fn arc_cache() -> #arc_cache {
                #get_arc_cache
            }

            #[doc = #new_doc]
            #[inline]
            #[must_use]
            #vis fn new_boxed(#value: Self) -> #boxed {
                #private::new_boxed::<Self>(#value)
            }

            #[doc = #try_new_doc]
            #[inline]
            #vis fn try_new_boxed(
                #value: Self,
            ) -> _slab_core::__private::core::result::Result<
                #boxed,
                _slab_core::AllocError<Self>,
            > {
                #private::try_new_boxed::<Self>(#value)
            }

            #[doc = #with_doc]
            #[inline]
            #[must_use]
            #vis fn new_boxed_with(
                make: impl _slab_core::__private::core::ops::FnOnce() -> Self,
            ) -> #boxed {
                #private::new_boxed_with::<Self>(make)
            }

            #[doc = #try_with_doc]
            #[inline]
            #vis fn try_new_boxed_with(
                make: impl _slab_core::__private::core::ops::FnOnce() -> Self,
            ) -> _slab_core::__private::core::result::Result<#boxed, _slab_core::SlabError> {
                #private::try_new_boxed_with::<Self>(make)
            }

            #[doc = #uninit_doc]
            #[inline]
            #[must_use]
            #vis fn new_uninit_boxed() -> #uninit {
                #private::new_uninit_boxed::<Self>()
            }

            #[doc = #try_uninit_doc]
            #[inline]
            #vis fn try_new_uninit_boxed() -> _slab_core::__private::core::result::Result<
                #uninit,
                _slab_core::SlabError,
            > {
                #private::try_new_uninit_boxed::<Self>()
            }

            #[doc = #cache_doc]
            #[inline]
            #[must_use]
            #vis fn slab_cache() -> #cache {
                #get_cache
            }
        }
    }
}

/// A type as the user wrote it, for messages: `slab_core::SpinLock`, not
/// `slab_core :: SpinLock`.
fn type_name(ty: &Type) -> String {
    let spaced = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(spaced.len());
    let chars: Vec<char> = spaced.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
        let prev = chars.get(i.wrapping_sub(1));
        if c == ' ' && prev != Some(&',') && !(word(prev) && word(chars.get(i + 1))) {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_the_spaces_of_token_streams() {
        let ty: Type = syn::parse_quote!(slab_core::SpinLock);
        assert_eq!(type_name(&ty), "slab_core::SpinLock");
        let ty: Type = syn::parse_quote!(my::Lock<dyn Trait, u8>);
        assert_eq!(type_name(&ty), "my::Lock<dyn Trait, u8>");
    }
}
