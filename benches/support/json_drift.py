#!/usr/bin/env python3
"""Compares every number of every JSON file under two result trees (a reference and a new
run of the baseline check) and reports what changed: integers, booleans and strings must be
equal; for floats it prints the largest relative changes |a - b| / max(|a|, |b|) with their
file and key path, and how many floats changed at all.

    python3 benches/support/json_drift.py /work/baseline/ref4 /tmp/settle-check [top]
"""
import json
import math
import pathlib
import sys


def walk(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out["structure"].append(f"{path}.{k} only in {'new' if k in b else 'ref'}")
                continue
            walk(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out["structure"].append(f"{path}: lengths {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", out)
    elif isinstance(a, float) or isinstance(b, float):
        out["floats"] += 1
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            out["structure"].append(f"{path}: {a!r} vs {b!r}")
            return
        if a == b or (math.isnan(a) and math.isnan(b)):
            return
        rel = abs(a - b) / max(abs(a), abs(b))
        out["changed"].append((rel, path, a, b))
    elif a != b:
        out["exact"].append(f"{path}: {a!r} vs {b!r}")


def main():
    ref, new = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    out = {"structure": [], "exact": [], "changed": [], "floats": 0}
    files = sorted(p.relative_to(ref) for p in ref.rglob("*.json"))
    for f in files:
        walk(json.loads((ref / f).read_text()), json.loads((new / f).read_text()), str(f), out)
    print(f"{len(files)} files, {out['floats']} floats, {len(out['changed'])} changed")
    for line in out["structure"] + out["exact"]:
        print("NOT EQUAL", line)
    for rel, path, a, b in sorted(out["changed"], reverse=True)[:top]:
        print(f"{rel:.3e}  {path}  {a!r} -> {b!r}")
    sys.exit(1 if out["structure"] or out["exact"] else 0)


if __name__ == "__main__":
    main()
