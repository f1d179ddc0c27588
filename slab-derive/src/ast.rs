//! The item under `#[slab_cached]`: a struct or enum (a union is parsed, to attach stubs
//! to it, and rejected). Keeps the original tokens so the item is re-emitted unchanged.
//! Talks to `errors` only.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Generics, Ident, Visibility};

use crate::errors::Errors;

/// A type definition that `#[slab_cached]` can attach functions to.
pub(crate) struct Item {
    /// The item exactly as written, attributes and all.
    pub(crate) tokens: TokenStream,
    kind: Kind,
}

enum Kind {
    Struct(syn::ItemStruct),
    Enum(syn::ItemEnum),
    Union(syn::ItemUnion),
}

impl Item {
    pub(crate) fn ident(&self) -> &Ident {
        match &self.kind {
            Kind::Struct(s) => &s.ident,
            Kind::Enum(e) => &e.ident,
            Kind::Union(u) => &u.ident,
        }
    }

    pub(crate) fn vis(&self) -> &Visibility {
        match &self.kind {
            Kind::Struct(s) => &s.vis,
            Kind::Enum(e) => &e.vis,
            Kind::Union(u) => &u.vis,
        }
    }

    pub(crate) fn generics(&self) -> &Generics {
        match &self.kind {
            Kind::Struct(s) => &s.generics,
            Kind::Enum(e) => &e.generics,
            Kind::Union(u) => &u.generics,
        }
    }

    /// Whether the item can get its `static` cache (a struct or enum without parameters),
    /// so that a failed expansion can still emit the real functions.
    pub(crate) fn can_be_cached(&self) -> bool {
        !matches!(self.kind, Kind::Union(_)) && self.generics().params.is_empty()
    }
}

/// Parses the annotated item. Returns `None` (with an error recorded) when it is not a
/// type definition at all; a union is returned with an error recorded.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Option<Item> {
    let item = match syn::parse2::<syn::Item>(tokens.clone()) {
        Ok(item) => item,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let (what, span, hint) = match item {
        syn::Item::Struct(s) => {
            return Some(Item {
                tokens,
                kind: Kind::Struct(s),
            });
        }
        syn::Item::Enum(e) => {
            return Some(Item {
                tokens,
                kind: Kind::Enum(e),
            });
        }
        syn::Item::Union(u) => {
            let (union_token, ident) = (&u.union_token, &u.ident);
            errors.push(syn::Error::new_spanned(
                quote!(#union_token #ident),
                "`#[slab_cached]` does not support unions: wrap the union in a struct \
                 (`struct Wrapper(MyUnion);`) and annotate the struct",
            ));
            return Some(Item {
                tokens,
                kind: Kind::Union(u),
            });
        }
        syn::Item::Fn(f) => {
            let (fn_token, ident) = (&f.sig.fn_token, &f.sig.ident);
            ("a function", quote!(#fn_token #ident), "")
        }
        syn::Item::Trait(t) => {
            let (trait_token, ident) = (&t.trait_token, &t.ident);
            ("a trait", quote!(#trait_token #ident), "")
        }
        syn::Item::Impl(i) => {
            let (impl_token, self_ty) = (&i.impl_token, &i.self_ty);
            (
                "an impl block",
                quote!(#impl_token #self_ty),
                "; put it on the type's definition",
            )
        }
        syn::Item::Type(t) => {
            let (type_token, ident) = (&t.type_token, &t.ident);
            (
                "a type alias",
                quote!(#type_token #ident),
                "; put it on the type's definition",
            )
        }
        syn::Item::Static(s) => {
            let (static_token, ident) = (&s.static_token, &s.ident);
            ("a static", quote!(#static_token #ident), "")
        }
        syn::Item::Const(c) => {
            let (const_token, ident) = (&c.const_token, &c.ident);
            ("a constant", quote!(#const_token #ident), "")
        }
        syn::Item::Mod(m) => {
            let (mod_token, ident) = (&m.mod_token, &m.ident);
            ("a module", quote!(#mod_token #ident), "")
        }
        other => ("this item", quote!(#other), ""),
    };
    errors.push(syn::Error::new_spanned(
        span,
        format_args!("`#[slab_cached]` goes on a struct or enum definition, not on {what}{hint}"),
    ));
    None
}
