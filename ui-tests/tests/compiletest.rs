//! The trybuild runner: every `tests/ui/<category>/<mistake>.rs` must fail to compile
//! with exactly its `.stderr`, and every `tests/pass/*.rs` must compile and run.
//!
//! After changing a message: `TRYBUILD=overwrite cargo test -p ui-tests --test compiletest`,
//! then read every changed `.stderr` (see `ui-tests/README.md`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/**/*.rs");
    t.pass("tests/pass/*.rs");
}
