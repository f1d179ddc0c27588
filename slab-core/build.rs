//! Turns the `asan-poison` feature on only where AddressSanitizer is linked in.
//!
//! The feature calls `__asan_poison_memory_region`, which exists only in programs built
//! with `-Zsanitizer=address`; elsewhere the program would fail to link. So the calls are
//! compiled under `cfg(slab_asan)`, which this script sets when the feature is on *and*
//! the target is built with the address sanitizer. Anywhere else the feature is a no-op,
//! and `--all-features` builds link on stable.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(slab_asan)");
    if env::var_os("CARGO_FEATURE_ASAN_POISON").is_some() && address_sanitizer() {
        println!("cargo::rustc-cfg=slab_asan");
    }
}

/// Whether the crate is compiled with `-Zsanitizer=address` (cargo reports the target's
/// `sanitize` cfg, and the flags themselves; either one is enough).
fn address_sanitizer() -> bool {
    let cfg = env::var("CARGO_CFG_SANITIZE").unwrap_or_default();
    if cfg.split(',').any(|s| s == "address") {
        return true;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags: Vec<&str> = flags.split('\x1f').collect();
    flags.iter().enumerate().any(|(i, f)| {
        let value = match f.strip_prefix("-Z") {
            Some("") => flags.get(i + 1).copied().unwrap_or(""),
            Some(v) => v,
            None => return false,
        };
        value
            .strip_prefix("sanitizer=")
            .is_some_and(|list| list.split(',').any(|s| s == "address"))
    })
}
