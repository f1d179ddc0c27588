//! Expansion snapshots: what `#[slab_cached]` and `slab_hooks!` emit for a few inputs,
//! compared with the checked-in text of `tests/expand/<case>.expanded.txt`.
//!
//! A change to the expansion shows up here as a diff to read. After an intended change,
//! `SNAPSHOTS=overwrite cargo test -p slab-derive` rewrites the files; read the diff
//! before committing it. The text is the token stream laid out by [`pretty`] (a line per
//! item and statement, nested blocks indented), so it needs no formatter dependency.

use std::path::PathBuf;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::quote;

/// The inputs, each with its case name: `#[slab_cached]` attribute arguments and item, or
/// `slab_hooks!` arguments.
fn cases() -> Vec<(&'static str, TokenStream)> {
    vec![
        (
            "slab_cached_defaults",
            crate::pipeline::slab_cached(
                quote!(),
                quote! {
                    #[derive(Debug)]
                    pub struct Packet {
                        len: u16,
                        data: [u8; 1500],
                    }
                },
            ),
        ),
        (
            "slab_cached_size_lock_crate",
            crate::pipeline::slab_cached(
                quote!(size = 16384, lock = slab_core::TicketLock, crate = my_slab),
                quote! {
                    pub(crate) enum Shape {
                        Circle(f32),
                        Square(f32),
                    }
                },
            ),
        ),
        (
            "slab_cached_source",
            crate::pipeline::slab_cached(
                quote!(source = slab_core::Global),
                quote! {
                    struct Frame([u8; 256]);
                },
            ),
        ),
        (
            "slab_cached_recycle",
            crate::pipeline::slab_cached(
                quote!(recycle, size = 16384),
                quote! {
                    pub struct Frame(Vec<u8>);
                },
            ),
        ),
        (
            "slab_cached_bad_size_falls_back",
            crate::pipeline::slab_cached(
                quote!(size = 1000),
                quote!(
                    struct Bullet([f32; 4]);
                ),
            ),
        ),
        (
            "slab_cached_generic_gets_stubs",
            crate::pipeline::slab_cached(
                quote!(),
                quote!(
                    struct Wrapper<T>(T);
                ),
            ),
        ),
        (
            "slab_hooks_user_functions",
            crate::hooks::expand(quote!(unsafe my_alloc, my_free)).unwrap(),
        ),
        (
            "slab_hooks_global_renamed_crate",
            crate::hooks::expand(quote!(global, crate = my_slab)).unwrap(),
        ),
    ]
}

#[test]
fn expansions_match_their_snapshots() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let overwrite = std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite");
    let mut stale = Vec::new();
    for (name, tokens) in cases() {
        let path = dir.join(format!("{name}.expanded.txt"));
        let got = pretty(tokens);
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got == want {
            continue;
        }
        if overwrite {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &got).unwrap();
        } else {
            stale.push(format!(
                "{} differs; got:\n{got}",
                path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap()
                    .display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n(rerun with SNAPSHOTS=overwrite after an intended change)",
        stale.join("\n")
    );
}

/// Lays out a token stream: a line per statement, item, field and attribute, `{ .. }`
/// blocks indented by four spaces, and the spacing rustfmt would give most tokens (`a::b`,
/// `f(x)`, `T<U>`, `x: T`, `m!(..)`, `&'a`).
pub(crate) fn pretty(tokens: TokenStream) -> String {
    let mut p = Printer {
        out: String::new(),
        depth: 0,
        glued: true,
        last: String::new(),
    };
    p.stream(tokens, true);
    let mut out = String::new();
    for line in p.out.lines() {
        let line = line.trim_end();
        if !line.trim().is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

struct Printer {
    out: String,
    depth: usize,
    /// The next token follows the previous one without a space.
    glued: bool,
    /// The text of the previous token.
    last: String,
}

/// Words after which `(` or `[` opens an expression, not a call or an index.
const KEYWORDS: &[&str] = &[
    "if", "in", "match", "return", "as", "let", "else", "while", "use",
];

impl Printer {
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        self.glued = true;
    }

    fn token(&mut self, text: &str) {
        if !self.glued {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.glued = false;
        self.last = text.to_string();
    }

    /// Whether the previous token was a name (an identifier other than a keyword), a
    /// closing `>` or `!`: what a call's `(`, a generic's `<` or an index's `[` follows.
    fn after_name(&self) -> bool {
        let word =
            self.last.chars().all(|c| c.is_alphanumeric() || c == '_') && !self.last.is_empty();
        (word && !KEYWORDS.contains(&self.last.as_str())) || self.last == ">" || self.last == "!"
    }

    /// Prints `tokens`; `block`: they are the inside of `{ .. }` (or the top level), where
    /// `;` and `,` end lines.
    fn stream(&mut self, tokens: TokenStream, block: bool) {
        let mut angles = 0usize;
        let mut tokens = tokens.into_iter().peekable();
        while let Some(token) = tokens.next() {
            match token {
                TokenTree::Group(group) => match group.delimiter() {
                    Delimiter::Brace => {
                        self.token("{");
                        self.depth += 1;
                        self.newline();
                        self.stream(group.stream(), true);
                        self.depth -= 1;
                        self.newline();
                        self.token("}");
                        let follows = matches!(tokens.peek(), Some(TokenTree::Punct(p)) if matches!(p.as_char(), ';' | ',' | '.'));
                        if block && !follows {
                            self.newline();
                        }
                    }
                    Delimiter::Parenthesis | Delimiter::Bracket => {
                        let attribute =
                            self.last == "#" || self.last == "!" && self.out.ends_with("#!");
                        if attribute || self.after_name() {
                            self.glued = true;
                        }
                        let bracket = group.delimiter() == Delimiter::Bracket;
                        self.token(if bracket { "[" } else { "(" });
                        self.glued = true;
                        self.stream(group.stream(), false);
                        self.glued = true;
                        self.token(if bracket { "]" } else { ")" });
                        if attribute && block {
                            self.newline();
                        }
                    }
                    Delimiter::None => self.stream(group.stream(), block),
                },
                TokenTree::Punct(punct) => {
                    let c = punct.as_char();
                    let joint = punct.spacing() == Spacing::Joint;
                    let path = c == ':'
                        && (joint
                            && matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                            || self.last == ":" && self.out.ends_with(':'));
                    let generic = c == '<' && (self.after_name() || self.out.ends_with("::"));
                    let closes = c == '>'
                        && angles > 0
                        && !self.out.ends_with('-')
                        && !self.out.ends_with('=');
                    match c {
                        ',' | ';' | '.' | '?' => self.glued = true,
                        ':' if !path || self.after_name() => self.glued = true,
                        '!' if self.after_name() => self.glued = true,
                        _ if generic || closes => self.glued = true,
                        _ => {}
                    }
                    if generic {
                        angles += 1;
                    }
                    if closes {
                        angles -= 1;
                    }
                    self.token(&c.to_string());
                    let macro_call = c == '!' && matches!(tokens.peek(), Some(TokenTree::Group(_)));
                    if block && angles == 0 && (c == ';' || c == ',') {
                        self.newline();
                    } else if joint
                        || path
                        || generic
                        || macro_call
                        || matches!(c, '.' | '#' | '&' | '$')
                    {
                        self.glued = true;
                    }
                }
                TokenTree::Ident(ident) => self.token(&ident.to_string()),
                TokenTree::Literal(literal) => self.token(&literal.to_string()),
            }
        }
    }
}
