//! Parses the attribute arguments `size = 4096, lock = SpinLock, source = Global, crate = path`.
//!
//! Syntax only: each key at most once, each with a value of the right shape. Every
//! mistake is recorded (spanned at its token) and parsing goes on, so one compile reports
//! them all; what the numbers mean is checked in `valid.rs`. Talks to `errors` only.

use proc_macro2::{TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::{Parser, discouraged::Speculative};
use syn::{LitInt, LitStr, Path, Token, Type};

use crate::errors::Errors;

/// The keys `#[slab_cached]` accepts, for messages.
const EXPECTED: &str = "expected `size`, `lock`, `source`, `recycle` or `crate`";

/// The arguments as written; `None` where a key is absent (or was malformed).
#[derive(Default)]
pub(crate) struct Args {
    /// `size = <integer literal>`.
    pub(crate) size: Option<LitInt>,
    /// `lock = <type>`.
    pub(crate) lock: Option<Type>,
    /// `source = <type>`.
    pub(crate) source: Option<Type>,
    /// `recycle`: an object cache (the type implements `slab_core::Recycle`).
    pub(crate) recycle: Option<proc_macro2::Span>,
    /// `crate = path` or `crate = "path"`.
    pub(crate) krate: Option<Path>,
}

/// Parses the attribute's arguments, recording every mistake in `errors`.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
    let tokens = drop_positional(tokens, errors);
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        let key = if let Some(ident) = meta.path.get_ident() {
            ident.to_string()
        } else {
            errors.push(syn::Error::new_spanned(
                &meta.path,
                format_args!("`slab_cached` arguments are single words: {EXPECTED}"),
            ));
            return skip_value(&meta);
        };
        match key.as_str() {
            "size" => one(&mut args.size, &meta, errors, "size = 4096", parse_size),
            "lock" => one(&mut args.lock, &meta, errors, "lock = SpinLock", parse_lock),
            "recycle" => {
                if meta.input.peek(Token![=]) {
                    errors.push(syn::Error::new_spanned(
                        &meta.path,
                        "`recycle` takes no value: write `#[slab_cached(recycle)]`",
                    ));
                    return skip_value(&meta);
                }
                if args.recycle.is_some() {
                    errors.push(syn::Error::new_spanned(
                        &meta.path,
                        "`recycle` is given twice; keep one",
                    ));
                }
                args.recycle = Some(syn::spanned::Spanned::span(&meta.path));
                Ok(())
            }
            "source" => one(
                &mut args.source,
                &meta,
                errors,
                "source = slab_core::Global",
                parse_source,
            ),
            "crate" => one(
                &mut args.krate,
                &meta,
                errors,
                "crate = slab_core",
                parse_crate,
            ),
            _ => {
                errors.push(meta.error(format_args!(
                    "unknown `slab_cached` argument `{key}`, {EXPECTED}"
                )));
                skip_value(&meta)
            }
        }
    });
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    args
}

/// Removes (and reports) arguments without a key, such as `#[slab_cached(4096)]`, which
/// `syn::meta::parser` would reject with a message that does not say what to write.
fn drop_positional(tokens: TokenStream, errors: &mut Errors) -> TokenStream {
    let mut kept = TokenStream::new();
    let mut segment: Vec<TokenTree> = Vec::new();
    // Commas inside `lock = Lock<A, 3>` do not end an argument.
    let mut angle_depth = 0_usize;
    let mut tokens = tokens.into_iter().peekable();
    while let Some(tt) = tokens.next() {
        let mut comma = false;
        if let TokenTree::Punct(p) = &tt {
            match p.as_char() {
                '<' => angle_depth += 1,
                '>' => angle_depth = angle_depth.saturating_sub(1),
                ',' => comma = angle_depth == 0,
                _ => {}
            }
        }
        segment.push(tt);
        if comma || tokens.peek().is_none() {
            if let Some(TokenTree::Literal(lit)) = segment.first() {
                let example = if lit.to_string().parse::<u64>().is_ok() {
                    format!("size = {lit}")
                } else {
                    "size = 4096".to_owned()
                };
                errors.push(syn::Error::new(
                    lit.span(),
                    format_args!(
                        "`slab_cached` arguments are `key = value` pairs: write `{example}`"
                    ),
                ));
            } else {
                kept.extend(segment.iter().cloned());
            }
            segment.clear();
        }
    }
    kept
}

/// Stores one `key = value` argument, or records why it cannot (duplicate, no value).
fn one<T>(
    slot: &mut Option<T>,
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
    example: &str,
    parse_value: impl FnOnce(&ParseNestedMeta<'_>) -> syn::Result<T>,
) -> syn::Result<()> {
    let key = &meta.path;
    let name = quote::quote!(#key).to_string();
    if !meta.input.peek(Token![=]) {
        errors.push(syn::Error::new_spanned(
            key,
            format_args!("`{name}` needs a value: write `{example}`"),
        ));
        return skip_value(meta);
    }
    if slot.is_some() {
        errors.push(syn::Error::new_spanned(
            key,
            format_args!("`{name}` is given twice; keep one `{name} = ..`"),
        ));
        return skip_value(meta);
    }
    match parse_value(meta) {
        Ok(value) => *slot = Some(value),
        Err(e) => {
            errors.push(e);
            skip_value(meta)?;
        }
    }
    Ok(())
}

/// `size = 4096`: an integer literal (its value is checked in `valid.rs`).
fn parse_size(meta: &ParseNestedMeta<'_>) -> syn::Result<LitInt> {
    let value = meta.value()?;
    if value.peek(LitInt) && (value.peek2(Token![,]) || is_last_token(value)) {
        return value.parse();
    }
    Err(syn::Error::new_spanned(
        skip_tokens(value)?,
        "`size` must be an integer literal, the slab size in bytes: a power of two from \
         512 to 1073741824 (1 << 30), such as `size = 4096`",
    ))
}

/// `lock = SpinLock`: any type (checked against `LockTrait` in the expansion).
fn parse_lock(meta: &ParseNestedMeta<'_>) -> syn::Result<Type> {
    let value = meta.value()?;
    let fork = value.fork();
    if let Ok(ty) = fork.parse::<Type>()
        && (fork.is_empty() || fork.peek(Token![,]))
    {
        value.advance_to(&fork);
        return Ok(ty);
    }
    Err(syn::Error::new_spanned(
        skip_tokens(value)?,
        "`lock` takes the type of a lock, such as `lock = SpinLock` or `lock = slab_core::TicketLock`",
    ))
}

/// `source = Global`: any type (checked against `DefaultSource` in the expansion).
fn parse_source(meta: &ParseNestedMeta<'_>) -> syn::Result<Type> {
    let value = meta.value()?;
    let fork = value.fork();
    if let Ok(ty) = fork.parse::<Type>()
        && (fork.is_empty() || fork.peek(Token![,]))
    {
        value.advance_to(&fork);
        return Ok(ty);
    }
    Err(syn::Error::new_spanned(
        skip_tokens(value)?,
        "`source` takes the type of a memory source, such as `source = slab_core::Global` or \
         `source = MyDeviceMemory`",
    ))
}

/// `crate = path` or `crate = "path"`: where `slab_core` is, for a renamed dependency.
fn parse_crate(meta: &ParseNestedMeta<'_>) -> syn::Result<Path> {
    let value = meta.value()?;
    let tokens = skip_tokens(value)?;
    let parsed = match syn::parse2::<LitStr>(tokens.clone()) {
        Ok(lit) => lit.parse_with(Path::parse_mod_style),
        Err(_) => Path::parse_mod_style.parse2(tokens.clone()),
    };
    parsed.map_err(|_| {
        syn::Error::new_spanned(
            tokens,
            "`crate` takes the path of the `slab_core` crate, such as `crate = my_slab` or `crate = \"my_slab\"`",
        )
    })
}

/// Whether exactly one token is left.
fn is_last_token(input: syn::parse::ParseStream<'_>) -> bool {
    let fork = input.fork();
    fork.parse::<TokenTree>().is_ok() && fork.is_empty()
}

/// Consumes the rest of the current argument (up to the next top-level comma).
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    skip_tokens(meta.input).map(drop)
}

/// Consumes tokens up to the next comma outside `<..>`.
fn skip_tokens(input: syn::parse::ParseStream<'_>) -> syn::Result<TokenStream> {
    let mut skipped = TokenStream::new();
    let mut angle_depth = 0_usize;
    while !(input.is_empty() || angle_depth == 0 && input.peek(Token![,])) {
        let tt = input.parse::<TokenTree>()?;
        if let TokenTree::Punct(p) = &tt {
            match p.as_char() {
                '<' => angle_depth += 1,
                '>' => angle_depth = angle_depth.saturating_sub(1),
                _ => {}
            }
        }
        skipped.extend([tt]);
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn messages(tokens: TokenStream) -> (Args, Vec<String>) {
        let mut errors = Errors::default();
        let args = parse(tokens, &mut errors);
        let messages = errors
            .finish()
            .err()
            .map_or_else(Vec::new, |e| e.into_iter().map(|e| e.to_string()).collect());
        (args, messages)
    }

    #[test]
    fn every_key_in_any_order() {
        let (args, errors) = messages(quote!(
            lock = my::Lock,
            crate = "my_slab",
            source = my::Dma,
            size = 8192
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.size.unwrap().base10_digits(), "8192");
        assert!(args.lock.is_some());
        assert!(args.source.is_some());
        assert!(args.krate.unwrap().is_ident("my_slab"));
        let (args, errors) = messages(quote!(recycle, size = 4096));
        assert!(errors.is_empty() && args.recycle.is_some(), "{errors:?}");
        let (_, errors) = messages(quote!(recycle = true, recycle, recycle));
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn every_mistake_is_reported_and_parsing_goes_on() {
        let (args, errors) = messages(quote!(
            sise = 4096,
            lock,
            size = "x",
            size = 4096,
            size = 8192,
            lock = L
        ));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("unknown `slab_cached` argument `sise`"));
        assert!(errors[1].starts_with("`lock` needs a value"));
        assert!(errors[2].starts_with("`size` must be an integer literal"));
        assert!(errors[3].starts_with("`size` is given twice"));
        assert_eq!(args.size.unwrap().base10_digits(), "4096");
        assert!(args.lock.is_some());
    }

    #[test]
    fn a_value_without_a_key_is_reported_and_the_rest_parsed() {
        let (args, errors) = messages(quote!(4096, lock = L<u8, 3>, "x"));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].ends_with("write `size = 4096`"), "{errors:?}");
        assert!(args.lock.is_some());
    }
}
