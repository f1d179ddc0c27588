//! The layers of `slab-core/src` and the imports each may make: every import points down.
//!
//! The test reads every source file under `slab-core/src`, finds each path it names through
//! `crate::` (in `use` items, groups included, and inline in code; comments and doc
//! comments are skipped, and a name the crate root re-exports counts as the module that
//! defines it), and fails when a file names a module its row of [`LAYERS`] does not allow,
//! when the table itself allows an upward import (each row may only name rows above it,
//! so the graph has no cycle), when a file belongs to no row, or when a row allows an
//! import that no file makes (so the table stays the real graph). `IMPLEMENTATION.md`
//! describes the layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every layer, bottom up, and the layers it may import. A layer is one file of `src/`,
/// or a folder (`depot/`). `lib.rs` (the root, which declares and re-exports the modules)
/// and `tests.rs` (the unit tests) sit above every layer and are not listed.
const LAYERS: &[&str] = &[
    "sync:",
    "error:",
    "stats:",
    "lock:",
    "pages:",
    "registry:     stats",
    "geometry:     sync",
    "source:       geometry error pages",
    "hardening:    geometry",
    "slab:         geometry hardening",
    "chain:        geometry hardening",
    "depot:        chain slab geometry hardening source stats sync",
    "control:      depot slab geometry hardening source registry lock error stats sync",
    "magazine:     control depot chain geometry hardening source lock error sync",
    "handle:       magazine control depot chain geometry hardening source lock error sync",
    "thread_table: handle magazine control depot chain slab geometry hardening source lock error sync",
    "boxed:        handle slab geometry hardening lock",
    "cache:        thread_table boxed handle magazine control depot slab geometry hardening source registry lock error stats sync",
    "objcache:     boxed handle control geometry hardening slab source lock error stats",
    "thread_cache: handle magazine control depot chain slab geometry source lock error sync",
    "typed:        thread_cache objcache handle boxed magazine chain control geometry hardening source lock error",
    "inplace:      typed boxed handle source lock error",
    "bulk:         typed thread_table boxed handle magazine chain control slab geometry hardening source lock error sync",
    "scan:         handle control depot slab geometry hardening source lock sync",
    "coerce:       boxed",
    "clone:        typed boxed handle control slab hardening source lock error",
    "arc:          clone coerce typed boxed handle control geometry source lock error sync",
    "buf:          boxed",
];

/// [`LAYERS`], parsed: each layer with the layers it may import.
fn layers(table: &[&'static str]) -> Vec<(&'static str, Vec<&'static str>)> {
    table
        .iter()
        .map(|row| {
            let (layer, allowed) = row.split_once(':').expect("`layer: imports`");
            (layer, allowed.split_whitespace().collect())
        })
        .collect()
}

/// Files above every layer: they may name anything.
const ROOTS: &[&str] = &["lib", "tests"];

#[test]
#[cfg_attr(
    miri,
    ignore = "reads the source files, which Miri's isolation forbids"
)]
fn every_import_points_down_the_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let reexports = reexports(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let layers = layers(LAYERS);
    let mut used: BTreeSet<(&str, String)> = BTreeSet::new();
    let mut problems = Vec::new();
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        if ROOTS.contains(&module.as_str()) {
            continue;
        }
        let Some((layer, allowed)) = layers.iter().find(|(name, _)| *name == module) else {
            problems.push(format!(
                "{}: module `{module}` is in no row of LAYERS",
                show(&file)
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, target) in crate_paths(&text, file.parent() != Some(src.as_path())) {
            let target = reexports.get(&target).cloned().unwrap_or(target);
            if target == *layer {
                continue;
            }
            if allowed.contains(&target.as_str()) {
                used.insert((layer, target));
            } else {
                problems.push(format!(
                    "{}:{line}: `{layer}` imports `{target}`, which is not below it in LAYERS",
                    show(&file)
                ));
            }
        }
    }
    problems.extend(table_problems(&layers));
    for (layer, allowed) in &layers {
        for &target in allowed {
            if !used.contains(&(*layer, target.to_string())) {
                problems.push(format!(
                    "LAYERS allows `{layer}` to import `{target}`, which it does not: remove it"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// The rows whose allowed imports are not all in rows above them (the table itself
/// pointing up, or sideways).
fn table_problems(layers: &[(&'static str, Vec<&'static str>)]) -> Vec<String> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut problems = Vec::new();
    for (layer, allowed) in layers {
        for target in allowed {
            if !seen.contains(target) {
                problems.push(format!(
                    "LAYERS lets `{layer}` import `{target}`, which is not in a row above it"
                ));
            }
        }
        seen.insert(layer);
    }
    problems
}

/// The module a file belongs to: `src/x.rs` is `x`, `src/x/...` is `x`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    first.trim_end_matches(".rs").to_string()
}

fn show(file: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// What the crate root re-exports, by name: `pub use lock::{LockTrait, SpinLock};` maps
/// `SpinLock` to `lock`.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let code = strip_comments(lib);
    for item in code.split(';') {
        let item = item.trim();
        let Some(rest) = item.strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        let names = names.trim().trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim();
            let name = name.rsplit("::").next().unwrap_or(name);
            let name = name.rsplit(" as ").next().unwrap_or(name).trim();
            if !name.is_empty() {
                map.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    map
}

/// Every module named through `crate::` in `text` (and through `super::super::` in a
/// folder's files), with its line number. In a group (`crate::{a, b::c}`) each member
/// counts.
fn crate_paths(text: &str, in_folder: bool) -> Vec<(usize, String)> {
    let code = strip_comments(text);
    let mut found = Vec::new();
    let prefixes: &[&str] = if in_folder {
        &["crate::", "super::super::"]
    } else {
        &["crate::"]
    };
    for prefix in prefixes {
        let mut from = 0;
        while let Some(at) = code[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            let before = code[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                continue; // `$crate::` (macro output, resolved in the caller) or a longer path
            }
            let line = code[..start].matches('\n').count() + 1;
            let rest = &code[from..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = matching_brace(group);
                for member in split_top_level(&group[..end]) {
                    if let Some(name) = first_ident(member) {
                        found.push((line, name));
                    }
                }
            } else if let Some(name) = first_ident(rest) {
                found.push((line, name));
            }
        }
    }
    found
}

/// The index of the `}` that closes a group whose `{` was just before `s`.
fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn first_ident(s: &str) -> Option<String> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0 && s != "self").then(|| s[..end].to_string())
}

/// `text` with its comments (line, doc and block) and the contents of its string literals
/// blanked out, line breaks kept (raw strings are not recognised; `src/` has none).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            // A string: its contents blanked, line breaks kept.
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let skip = if chars[i] == '\\' { 2 } else { 1 };
                for &c in &chars[i..(i + skip).min(chars.len())] {
                    out.push(if c == '\n' { '\n' } else { ' ' });
                }
                i += skip;
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && next == Some('"') && chars.get(i + 2) == Some(&'\'') {
            out.push_str("'\"'"); // the character literal of a double quote
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The checker finds an upward import in every form it reads, and none in comments, doc
/// comments, strings or macro output: it can fail.
#[test]
fn the_checker_sees_upward_imports() {
    let source = r#"
        //! Talks to `crate::cache` in a doc comment only.
        use crate::geometry::Class;
        use crate::{
            hardening,
            cache::{SlabCache, alloc_failed},
        };
        // crate::typed in a comment
        const S: &str = "crate::scan in a string";
        fn f() { crate::thread_cache::ThreadCache::new(); }
        macro_rules! m { () => { $crate::SlabCache::new() }; }
    "#;
    let names: Vec<String> = crate_paths(source, false)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["geometry", "hardening", "cache", "thread_cache"]);
    let nested = "use super::Depot; use super::super::cache::SlabCache;";
    let names: Vec<String> = crate_paths(nested, true)
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(names, ["cache"]);
    let lib = "pub use lock::{LockTrait, SpinLock};\npub use handle::SlabCache;";
    assert_eq!(reexports(lib)["SpinLock"], "lock");
    assert_eq!(reexports(lib)["SlabCache"], "handle");
    // A table row that allows an import from a row below it is reported.
    let upside_down = layers(&["slab: geometry", "geometry:"]);
    assert_eq!(table_problems(&upside_down).len(), 1);
}
