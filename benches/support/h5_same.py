#!/usr/bin/env python3
"""Do two trees of result files hold the same content, whatever HDF5 encoder wrote them?

Usage: h5_same.py <reference dir> <new dir>

For every file under the reference directory: a `.json`/`.csv`/`.toml` file must be
byte-identical in the new directory; an `.h5` file must hold the same content: the same groups
and datasets (values, dtype and shape equal; NaN equal to NaN), the same attributes on every
object (values and dtypes equal; a string attribute a scalar `str` in both; `DIMENSION_LIST`
resolved to the names of the scales it points at, `REFERENCE_LIST` to the names and dimension
indexes of the datasets). Prints one line per difference and a summary; exit status 1 if any.
Needs h5py and numpy (the CI venv has both).
"""

import sys
from pathlib import Path

import h5py
import numpy as np


def attr_value(obj, name):
    """An attribute as a comparable Python value."""
    if name == "DIMENSION_LIST":
        return [[obj.file[r].name for r in dim] for dim in obj.attrs[name]]
    if name == "REFERENCE_LIST":
        return [(obj.file[r].name, int(i)) for r, i in obj.attrs[name]]
    value = obj.attrs[name]
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, bytes):
        return ("bytes", value)
    arr = np.asarray(value)
    return (str(arr.dtype), arr.shape, arr.tobytes())


def contents(path):
    """Every object of the file: path -> (kind, dtype, shape, values, attributes)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attrs = {n: attr_value(obj, n) for n in obj.attrs}
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                out[name] = ("dataset", str(obj.dtype), obj.shape, np.asarray(data), attrs)
            else:
                out[name] = ("group", None, None, None, attrs)
        out["/"] = ("group", None, None, None, {n: attr_value(f, n) for n in f.attrs})
        f.visititems(visit)
    return out


def same_values(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def compare_h5(ref, new, rel, problems):
    a, b = contents(ref), contents(new)
    for name in sorted(set(a) | set(b)):
        if name not in b:
            problems.append(f"{rel}: {name} missing in the new file")
            continue
        if name not in a:
            problems.append(f"{rel}: {name} only in the new file")
            continue
        ka, da, sa, va, aa = a[name]
        kb, db, sb, vb, ab = b[name]
        if (ka, da, sa) != (kb, db, sb):
            problems.append(f"{rel}: {name}: {ka} {da} {sa} vs {kb} {db} {sb}")
        elif va is not None and not same_values(va, vb):
            problems.append(f"{rel}: {name}: values differ")
        for attr in sorted(set(aa) | set(ab)):
            if aa.get(attr) != ab.get(attr):
                problems.append(f"{rel}: {name} attribute {attr}: {aa.get(attr)!r:.80} vs {ab.get(attr)!r:.80}")
    return len(a)


def main():
    ref_dir, new_dir = Path(sys.argv[1]), Path(sys.argv[2])
    problems, files, objects = [], 0, 0
    for ref in sorted(p for p in ref_dir.rglob("*") if p.is_file()):
        rel = ref.relative_to(ref_dir)
        new = new_dir / rel
        if ref.suffix not in (".json", ".csv", ".toml", ".h5"):
            continue
        files += 1
        if not new.exists():
            problems.append(f"{rel}: missing")
        elif ref.suffix == ".h5":
            objects += compare_h5(ref, new, rel, problems)
        elif ref.read_bytes() != new.read_bytes():
            problems.append(f"{rel}: bytes differ")
    for p in problems:
        print("DIFF", p)
    print(f"compared {files} files ({objects} HDF5 objects): {len(problems)} differences")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
