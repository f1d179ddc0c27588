#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md and docs/benchmarks.svg from scratch:
#   1. `cargo bench -p slab-bench` (criterion: S1-S4, S6, S7, the S1 call shapes, bulk and
#      refill rows of issue 17, the Arc and Bytes rows of issue 18; every implementation, one
#      run; the std Arc row on mimalloc in its own binary), and `benches/asm_check.py` on the
#      call shapes' machine code,
#   2. S5: `slab-rss <impl> <object>` once per implementation and object, each in a fresh
#      process,
#   3. `python3 benches/report.py`.
#
# Usage:
#   bash benches/run.sh                        full run (about 5 minutes on 2 cores)
#   bash benches/run.sh --report               only step 3, from the results on disk
#   SLAB_BENCH_PRIORITY=1 bash benches/run.sh  on a shared machine: run in a session of
#                                              its own whose scheduler autogroup gets
#                                              nice -15 (needs root), so other jobs take
#                                              less of the cores (the report says so)
# Environment: SLAB_BENCH_S2_N, SLAB_BENCH_S2_PACKETS (S2 sizes, see benches/alloc.rs).
# Run it on a quiet machine: every figure is a ratio within one run, but a busy core
# moves them all (multi-thread scenarios most).
set -euo pipefail
cd "$(dirname "$0")/.."

priority="none"
if [[ "${SLAB_BENCH_PRIORITY:-0}" == 1 && "${1:-}" != "--report" ]]; then
    if [[ -z "${SLAB_BENCH_IN_SESSION:-}" ]]; then
        # A new session is a new autogroup: raising it touches only this run's processes.
        exec env SLAB_BENCH_IN_SESSION=1 setsid --wait bash "$0" "$@"
    fi
    if echo -15 2>/dev/null >/proc/self/autogroup; then
        priority="autogroup nice -15"
    else
        echo "warning: could not raise the autogroup priority (needs root)" >&2
    fi
fi

root=$(pwd)
target=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out="$target/slab-bench"
mkdir -p "$out"

if [[ "${1:-}" != "--report" ]]; then
    load1=$(cut -d' ' -f1 /proc/loadavg)
    if python3 -c "import sys; sys.exit(0 if float('$load1') > 0.7 else 1)"; then
        echo "warning: 1-minute load average is $load1 on $(nproc) cores: other work will skew" \
             "the figures (multi-thread scenarios most); the report records it" >&2
    fi
    # Stale groups (renamed or removed benchmarks) must not reach the report.
    rm -rf "$target/criterion"
    rm -f "$out/s5.jsonl" "$out/meta.json" "$out/asm.json"

    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    # Busy CPU time of the whole machine (user, nice, system, irq, softirq, steal), so the
    # report can tell how much of it was not this run.
    busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
    busy_start=$(busy)
    start=$(date +%s.%N)
    start_iso=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    cargo bench -p slab-bench --bench alloc 2>&1 | tee "$out/bench.log"
    # std::sync::Arc with mimalloc as the global allocator (a process has one).
    cargo bench -p slab-bench --bench arc_mimalloc 2>&1 | tee -a "$out/bench.log"
    end=$(date +%s.%N)
    # The machine code of the S1 call shapes (issue 17): in place, or built apart and copied.
    python3 benches/asm_check.py --json "$out/asm.json" || true

    # S5, one fresh process per implementation and object (same profile as the bench).
    cargo build --profile bench -p slab-bench --bin slab-rss
    s5_start=$(date +%s.%N)
    impls=$("$target/release/slab-rss" --list)
    for obj in 64B packet; do
        for imp in $impls; do
            if line=$("$target/release/slab-rss" "$imp" "$obj"); then
                echo "$line" | tee -a "$out/s5.jsonl"
            else
                echo "S5: $imp $obj unavailable in this build" >&2
            fi
        done
    done
    s5_end=$(date +%s.%N)
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    busy_end=$(busy)
    # CPU seconds of this run's own processes (the children this shell waited for).
    times >"$out/times.txt" # in this shell: a `$(times)` subshell would see no children
    ours_cpu=$(tail -1 "$out/times.txt" | python3 -c '
import re, sys
t = 0.0
for m, s in re.findall(r"(\d+)m([\d.]+)s", sys.stdin.read()):
    t += int(m) * 60 + float(s)
print(t)')

    python3 - "$out/meta.json" "$start" "$end" "$s5_start" "$s5_end" "$start_iso" \
        "$load_start" "$load_end" "$priority" "$busy_start" "$busy_end" "$ours_cpu" \
        "$(getconf CLK_TCK)" "$(nproc)" <<'EOF'
import json, sys
path, start, end, s5s, s5e, iso, l0, l1, prio, b0, b1, ours, hz, ncpu = sys.argv[1:]
wall = float(s5e) - float(start)
machine_cpu = (int(b1) - int(b0)) / int(hz)
others = max(0.0, machine_cpu - float(ours))
json.dump({
    "bench_wall_s": float(end) - float(start),
    "s5_wall_s": float(s5e) - float(s5s),
    "started": iso,
    "loadavg_start": l0,
    "loadavg_end": l1,
    "priority": prio,
    "others_cpu_share": others / (wall * int(ncpu)),
}, open(path, "w"), indent=1)
EOF
fi

python3 "$root/benches/report.py" --target "$target" --out "$root/docs"
