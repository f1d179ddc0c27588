#!/usr/bin/env python3
"""Reads the machine code of the S1 call-shape loops (issue 17, item 1) in the bench binary
and says, for each, how the 1500-byte packet reaches its slot.

Each shape is an `#[inline(never)]` function `alloc::shape_*` of `benches/benches/alloc.rs`.
A shape that builds the packet in its slot zeroes the payload there (one `memset` call, or
an inline fill) and copies nothing; one that builds it on the stack first calls `memcpy`
(or copies with `rep movs`) for every packet. Prints one line per shape, and exits 1 if a
shape listed in IN_PLACE copies.

Usage (after `cargo bench -p slab-bench --bench alloc --no-run`):
  python3 benches/asm_check.py [path/to/alloc-binary] [--json out.json]

Standard library and binutils' objdump only.
"""

import glob
import json
import os
import re
import subprocess
import sys
from pathlib import Path

# Shapes that must build the packet in place (the dyn shapes other than init store a byte
# at a run-time index into a value built apart from the slot: they copy, as the floor does).
IN_PLACE = [
    "shape_floor", "shape_macro_literal", "shape_macro_ctor", "shape_macro_newtype",
    "shape_macro_closure", "shape_macro_init", "shape_runtime", "shape_runtime_closure",
    "shape_shared", "shape_shared_closure", "shape_dyn_macro_init",
]


def find_binary(root):
    target = root / "target" / "release" / "deps"
    cands = [p for p in glob.glob(str(target / "alloc-*")) if os.access(p, os.X_OK) and not p.endswith(".d")]
    if not cands:
        sys.exit("no bench binary: run `cargo bench -p slab-bench --bench alloc --no-run` first")
    return max(cands, key=os.path.getmtime)


def functions(binary):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", binary],
                         capture_output=True, text=True, check=True).stdout
    funcs, name, body = {}, None, []
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            if name:
                funcs[name] = body
            name, body = m.group(1), []
        elif name and line.strip():
            body.append(line)
    if name:
        funcs[name] = body
    return funcs


def callee(line, regs):
    """The libc function a `call` line reaches: named in the line (`call *..(%rip) #
    <memset@..>`), or through a register loaded with its address earlier in the function
    (`mov ..(%rip),%rbp # <memset@..>` ... `call *%rbp`)."""
    for f in ("memcpy", "memmove", "memset"):
        if f in line:
            return f
    m = re.search(r"call\s+\*%(\w+)\s*$", line)
    if m:
        return regs.get(m.group(1))
    return None


def classify(body):
    regs = {}
    for l in body:
        m = re.search(r"mov\s+\S+\(%rip\),%(\w+)\s+#.*<(memcpy|memmove|memset)@", l)
        if m:
            regs[m.group(1)] = m.group(2)
    calls = [callee(l, regs) for l in body if re.search(r"\bcall", l)]
    memcpy = sum(1 for c in calls if c in ("memcpy", "memmove"))
    memset = sum(1 for c in calls if c == "memset")
    rep_movs = sum(1 for l in body if re.search(r"\brep movs", l))
    rep_stos = sum(1 for l in body if re.search(r"\brep stos", l))
    copies = memcpy + rep_movs
    return {
        "memcpy": memcpy, "memset": memset, "rep_movs": rep_movs, "rep_stos": rep_stos,
        "in_place": copies == 0,
    }


def main():
    root = Path(__file__).resolve().parent.parent
    args = sys.argv[1:]
    out_json = None
    if "--json" in args:
        i = args.index("--json")
        out_json = args[i + 1]
        del args[i:i + 2]
    binary = args[0] if args else find_binary(root)
    funcs = functions(binary)
    shapes = {}
    for full, body in funcs.items():
        m = re.match(r"^alloc::(shape_\w+)$", full)
        if m:
            shapes[m.group(1)] = classify(body)
    if not shapes:
        sys.exit("no `alloc::shape_*` functions in %s" % binary)
    bad = []
    for name in sorted(shapes):
        r = shapes[name]
        how = "in place" if r["in_place"] else "built apart, then copied"
        print("%-26s %-26s memset %d  memcpy %d  rep stos %d  rep movs %d"
              % (name, how, r["memset"], r["memcpy"], r["rep_stos"], r["rep_movs"]))
        if name in IN_PLACE and not r["in_place"]:
            bad.append(name)
    for name in IN_PLACE:
        if name not in shapes:
            # Merged by LLVM with a function of the same code (its symbol is gone):
            # make the shape's code differ, or this check reads nothing for it.
            print("%-26s missing from the binary (merged with an identical function?)" % name)
            bad.append(name)
    if out_json:
        Path(out_json).write_text(json.dumps(shapes, indent=1))
    if bad:
        print("copied or missing, but expected in place: " + ", ".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
