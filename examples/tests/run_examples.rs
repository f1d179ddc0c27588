//! Runs every example binary in quick mode (`SLAB_EXAMPLES_QUICK=1`) and checks that it
//! exits successfully, in time, and prints its report.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slab_core::SlabStats;

/// How long one example may run in quick mode (debug build, loaded CI machine).
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Runs `exe` in quick mode and returns its standard output; panics on failure or timeout.
fn run(name: &str, exe: &str) -> String {
    let started = Instant::now();
    let mut child = Command::new(exe)
        .env(examples::QUICK_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({exe}): {e}"));
    // Drain stdout on a thread so a chatty example never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} did not finish within {TIME_LIMIT:?} in quick mode");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader
        .join()
        .expect("stdout reader panicked")
        .expect("stdout is UTF-8");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(
        status.success(),
        "{name} failed with {status}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
    );
    println!("{name}: {:.2} s", started.elapsed().as_secs_f64());
    out
}

/// Checks that `out` contains every line fragment of `expected`.
fn assert_has(name: &str, out: &str, expected: &[&str]) {
    for e in expected {
        assert!(out.contains(e), "{name}: no {e:?} in its output:\n{out}");
    }
}

/// The lines every example's closing report has.
const REPORT: [&str; 3] = ["== report ==", SlabStats::HEADER, "in use 0 across"];

#[test]
fn demo() {
    let out = run("demo", env!("CARGO_BIN_EXE_demo"));
    assert_has("demo", &out, &REPORT);
    assert_has(
        "demo",
        &out,
        &[
            "#[slab_cached] struct Session",
            "freed on another thread: in use 1,",
            "Session::try_new_boxed -> Ok",
            "cargo run -p examples --release --bin game",
        ],
    );
}

#[test]
fn game() {
    let out = run("game", env!("CARGO_BIN_EXE_game"));
    assert_has("game", &out, &REPORT);
    assert_has(
        "game",
        &out,
        &[
            "time per frame",
            "#[slab_cached]",
            "mixed scene: one Vec<SlabBox<dyn Entity, Erased>> of 3 types",
            "Box",
            "Projectile   in use 0,",
            "Particle     in use 0,",
            "Npc          in use 0,",
        ],
    );
}

#[test]
fn packets() {
    let out = run("packets", env!("CARGO_BIN_EXE_packets"));
    assert_has("packets", &out, &REPORT);
    assert_has(
        "packets",
        &out,
        &[
            "packets/s",
            "dropped",
            "corrupt 0",
            "Packet       in use 0,",
        ],
    );
}

#[test]
fn tokio_udp() {
    let out = run("tokio_udp", env!("CARGO_BIN_EXE_tokio_udp"));
    assert_has("tokio_udp", &out, &REPORT);
    assert_has(
        "tokio_udp",
        &out,
        &[
            "(loopback only)",
            "datagrams/s",
            "corrupt 0",
            "handed to tasks as Bytes",
            "Datagram     in use 0,",
        ],
    );
}

#[test]
fn arena() {
    let out = run("arena", env!("CARGO_BIN_EXE_arena"));
    assert_has("arena", &out, &REPORT);
    assert_has(
        "arena",
        &out,
        &[
            "try_new_boxed -> Err(OutOfMemory)",
            "into_inner() handed frame",
            "Ok while device memory is full",
            "Frame        in use 0,",
            "Task         in use 0,",
        ],
    );
}

#[test]
fn runtime() {
    let out = run("runtime", env!("CARGO_BIN_EXE_runtime"));
    assert_has("runtime", &out, &REPORT);
    assert_has(
        "runtime",
        &out,
        &[
            "nothing is allocated before first use\n      bytes held from the hooks: 0 ",
            "every handle dropped",
            "bytes from the hooks 0 (0 B)",
        ],
    );
}
