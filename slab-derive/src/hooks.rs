//! `slab_hooks!(unsafe my_alloc, my_free)` and `slab_hooks!(global)`: define the two link-time
//! symbols through which slab-core takes and returns slab memory.
//!
//! The user's functions are first bound to `AllocHook`/`FreeHook` variables spanned at
//! the user's tokens, so a wrong signature is a type error there, not a link error; the
//! exported functions then forward to them. The symbol names must stay byte-identical to
//! `slab_core::__private::{ALLOC_SYMBOL, FREE_SYMBOL}` (every program that links proves
//! it). Parsing, checks and expansion of this small macro live together in this file.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, LitStr, Path, Token};

use crate::errors::Errors;
use crate::expand::crate_decl;

/// Must equal `slab_core::__private::ALLOC_SYMBOL`.
const ALLOC_SYMBOL: &str = "slab_core_0_1__alloc_hook__define_it_once_with_slab_hooks_macro";
/// Must equal `slab_core::__private::FREE_SYMBOL`.
const FREE_SYMBOL: &str = "slab_core_0_1__free_hook__define_it_once_with_slab_hooks_macro";

const USAGE: &str = "`slab_hooks!` takes two functions after the word `unsafe`, \
                     `slab_hooks!(unsafe my_alloc, my_free)`, or the one word `global` for Rust's \
                     global allocator: `slab_hooks!(global)`";

/// Why a user's hooks need the user's `unsafe`.
const PROMISE: &str = "every block the allocation hook returns must be `layout.size()` bytes \
                       aligned to `layout.align()`, used by nothing else until the free hook \
                       gets it back: a promise only you can make";

/// The macro input: the user's `unsafe`, hook expressions and an optional `crate = path`.
struct Input {
    unsafety: Option<Token![unsafe]>,
    hooks: Vec<Expr>,
    krate: Option<Path>,
    errors: Errors,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut parsed = Input {
            unsafety: input.parse()?,
            hooks: Vec::new(),
            krate: None,
            errors: Errors::default(),
        };
        while !input.is_empty() {
            if input.peek(Token![crate]) && input.peek2(Token![=]) {
                let key: Token![crate] = input.parse()?;
                input.parse::<Token![=]>()?;
                let path = if input.peek(LitStr) {
                    input.parse::<LitStr>()?.parse_with(Path::parse_mod_style)?
                } else {
                    Path::parse_mod_style(input)?
                };
                if parsed.krate.replace(path).is_some() {
                    parsed.errors.push(syn::Error::new(
                        key.span,
                        "`crate` is given twice; keep one `crate = ..`",
                    ));
                }
            } else {
                parsed.hooks.push(input.parse()?);
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(parsed)
    }
}

/// The hooks, as expressions to type-check, and the spans to report them at.
struct Hooks {
    /// The user's `unsafe` token (the library's own for `global`).
    unsafety: Token![unsafe],
    alloc: TokenStream,
    alloc_span: Span,
    free: TokenStream,
    free_span: Span,
}

fn hooks(input: &Input) -> syn::Result<Hooks> {
    match input.hooks.as_slice() {
        [Expr::Path(p)] if p.qself.is_none() && p.path.is_ident("global") => {
            let span = p.span();
            if let Some(u) = input.unsafety {
                return Err(syn::Error::new(
                    u.span,
                    "`slab_hooks!(global)` needs no `unsafe`: slab-core wrote those hooks and \
                     makes their promise itself; remove `unsafe`",
                ));
            }
            Ok(Hooks {
                unsafety: Token![unsafe](Span::call_site()),
                alloc: quote_spanned!(span=> _slab_core::__private::global::alloc),
                alloc_span: span,
                free: quote_spanned!(span=> _slab_core::__private::global::free),
                free_span: span,
            })
        }
        [alloc, free] => {
            let Some(unsafety) = input.unsafety else {
                return Err(syn::Error::new_spanned(
                    alloc,
                    format_args!(
                        "your own slab hooks need your `unsafe`: {PROMISE}; write \
                         `slab_hooks!(unsafe {}, {})`",
                        alloc.to_token_stream(),
                        free.to_token_stream()
                    ),
                ));
            };
            Ok(Hooks {
                unsafety,
                alloc: alloc.to_token_stream(),
                alloc_span: alloc.span(),
                free: free.to_token_stream(),
                free_span: free.span(),
            })
        }
        [] => Err(syn::Error::new(Span::call_site(), USAGE)),
        [one] => Err(syn::Error::new_spanned(
            one,
            format_args!(
                "{USAGE}; with one function, add the free function: \
                 `slab_hooks!(unsafe {}, my_free)`",
                one.to_token_stream()
            ),
        )),
        many => {
            let extra = &many[2..];
            Err(syn::Error::new_spanned(
                quote!(#(#extra),*),
                format_args!("{USAGE}; remove the extra arguments"),
            ))
        }
    }
}

/// Expands `slab_hooks!(..)`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let mut input: Input = syn::parse2(input)?;
    let mut errors = std::mem::take(&mut input.errors);
    let hooks = hooks(&input);
    if let Err(e) = &hooks {
        errors.push(e.clone());
    }
    errors.finish()?;
    let hooks = hooks?;
    let krate = crate_decl(input.krate.as_ref());
    let Hooks {
        unsafety,
        alloc,
        alloc_span,
        free,
        free_span,
    } = hooks;
    let alloc_check = quote_spanned!(alloc_span=> let __hook: _slab_core::AllocHook = #alloc;);
    let free_check = quote_spanned!(free_span=> let __hook: _slab_core::FreeHook = #free;);
    let u = unsafety.span;
    let call_alloc = quote_spanned!(u=> #unsafety { __hook(layout) });
    let call_free = quote_spanned!(u=> #unsafety { __hook(ptr, layout) });
    // The calls into the hooks sit in functions of their own, outside the `allow` that the
    // exported symbols need, in blocks opened by the user's `unsafe`: that token is where
    // the user vouches for the hooks, and where `deny(unsafe_code)` points.
    Ok(quote! {
        const _: () = {
            #krate

            #[inline(always)]
            #[allow(
                clippy::undocumented_unsafe_blocks,
                reason = "the promise is the user's `unsafe` token; clippy does not \
                          reliably see a comment above a macro call"
            )]
            fn __slab_core_call_alloc(
                layout: _slab_core::__private::core::alloc::Layout,
            ) -> _slab_core::__private::core::option::Option<
                _slab_core::__private::core::ptr::NonNull<u8>,
            > {
                #alloc_check
                // SAFETY: slab-core calls the hook with a valid slab layout, the contract of
                // `AllocHook` that the user's function promises to honour.
                #call_alloc
            }

            #[inline(always)]
            #[allow(
                clippy::undocumented_unsafe_blocks,
                reason = "the promise is the user's `unsafe` token; clippy does not \
                          reliably see a comment above a macro call"
            )]
            fn __slab_core_call_free(
                ptr: _slab_core::__private::core::ptr::NonNull<u8>,
                layout: _slab_core::__private::core::alloc::Layout,
            ) {
                #free_check
                // SAFETY: slab-core returns each block once, with the layout it was
                // allocated with: the contract of `FreeHook`.
                #call_free
            }

            #[allow(
                unsafe_code,
                reason = "exporting a symbol is unsafe; its signature is the one slab-core \
                          declares, and the user's function is checked against `AllocHook`"
            )]
            #[unsafe(export_name = #ALLOC_SYMBOL)]
            extern "Rust" fn __slab_core_alloc_hook(
                layout: _slab_core::__private::core::alloc::Layout,
            ) -> _slab_core::__private::core::option::Option<
                _slab_core::__private::core::ptr::NonNull<u8>,
            > {
                __slab_core_call_alloc(layout)
            }

            #[allow(
                unsafe_code,
                reason = "exporting a symbol is unsafe; its signature is the one slab-core \
                          declares, and the user's function is checked against `FreeHook`"
            )]
            #[unsafe(export_name = #FREE_SYMBOL)]
            extern "Rust" fn __slab_core_free_hook(
                ptr: _slab_core::__private::core::ptr::NonNull<u8>,
                layout: _slab_core::__private::core::alloc::Layout,
            ) {
                __slab_core_call_free(ptr, layout)
            }
        };
    })
}
