#!/usr/bin/python3
"""Runs the reference readers (read_seg.py, read_tbl.py, read_dense.py) over
every golden vector.

Valid vectors (format-spec/golden/*.seg) must decode, with every checksum
verified, to exactly the contents of the matching .json: n_rows, n_cols,
value_type, nnz, indptr, indices and values (float32 compared bit for bit
after rounding the JSON number to float32). Invalid vectors
(format-spec/golden/invalid/*.seg) must be rejected, and the error must
contain the text the matching .txt documents. A vector using a codec this
Python lacks is skipped, not failed.

Tables (*.tbl) must decode to the .json columns (name, type, null_count,
categories, values or codes with null for null rows; float64 bit for bit,
NaN as any NaN; strings as UTF-8 bytes), dense files (*.dense) to n_rows,
n_cols, value_type and the row-major values. Their invalid vectors also name
the error kind ("expected error kind: Corruption" or NotSupported), which
must be the class of the exception raised.

Prints one line per vector, then "N passed, M failed, K skipped"; exits 1 if
anything failed or no vector was found. Registered with ctest as
reference_reader_golden (tests/CMakeLists.txt).
"""

import glob
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.path.dirname(HERE), "golden")
sys.path.insert(0, HERE)
import read_dense  # noqa: E402
import read_seg  # noqa: E402
import read_tbl  # noqa: E402

READERS = {".seg": read_seg.read_segment, ".tbl": read_tbl.read_table, ".dense": read_dense.read_dense}


def compare(seg, doc):
    """Returns a list of differences between a decoded segment and its JSON."""
    diffs = []
    for key in ("n_rows", "n_cols", "nnz", "value_type"):
        if getattr(seg, key) != doc[key]:
            diffs.append("%s: decoded %r, expected %r" % (key, getattr(seg, key), doc[key]))
    if not np.array_equal(seg.indptr, np.array(doc["indptr"], dtype=np.uint64)):
        diffs.append("indptr differs")
    if not np.array_equal(seg.indices, np.array(doc["indices"], dtype=np.uint32)):
        diffs.append("indices differ")
    if doc["value_type"] == "uint32":
        if not np.array_equal(seg.values, np.array(doc["values"], dtype=np.uint32)):
            diffs.append("values differ")
    else:
        want = np.array(doc["values"], dtype=np.float64).astype(np.float32)
        got = seg.values.astype(np.float32)
        if want.shape != got.shape or not np.array_equal(want.view(np.uint32), got.view(np.uint32)):
            diffs.append("float32 values differ")
    return diffs


def same_f64(got, want):
    """JSON NaN matches any NaN; everything else bit for bit (-0.0 != 0.0)."""
    if want == "NaN":
        return isinstance(got, float) and math.isnan(got)
    if want in ("Infinity", "-Infinity"):
        want = float("inf") if want == "Infinity" else float("-inf")
    return isinstance(got, float) and struct.pack("<d", got) == struct.pack("<d", float(want))


def compare_table(t, doc):
    diffs = []
    if t.n_rows != doc["n_rows"]:
        diffs.append("n_rows: decoded %d, expected %d" % (t.n_rows, doc["n_rows"]))
    if len(t.columns) != len(doc["columns"]):
        return diffs + ["%d columns decoded, %d expected" % (len(t.columns), len(doc["columns"]))]
    for col, want in zip(t.columns, doc["columns"]):
        name = want["name"]
        if col.name != name.encode("utf-8") or col.type != want["type"] or col.null_count != want["null_count"]:
            diffs.append("column %r: name, type or null_count differ" % name)
            continue
        if col.type == "categorical":
            if col.categories != [x.encode("utf-8") for x in want["categories"]]:
                diffs.append("column %r: categories differ" % name)
            expected = want["codes"]
        else:
            expected = want["values"]
        if len(col.values) != len(expected):
            diffs.append("column %r: %d values, expected %d" % (name, len(col.values), len(expected)))
            continue
        for r, (got, exp) in enumerate(zip(col.values, expected)):
            if exp is None or got is None:
                ok = got is None and exp is None
            elif col.type == "float64":
                ok = same_f64(got, exp)
            elif col.type == "string":
                ok = got == exp.encode("utf-8")
            elif col.type == "bool":
                ok = got is exp
            else:
                ok = got == exp and type(exp) is int
            if not ok:
                diffs.append("column %r row %d: decoded %r, expected %r" % (name, r, got, exp))
                break
    return diffs


def compare_dense(m, doc):
    diffs = []
    for key in ("n_rows", "n_cols", "value_type"):
        if getattr(m, key) != doc[key]:
            diffs.append("%s: decoded %r, expected %r" % (key, getattr(m, key), doc[key]))
    want = [float("nan") if x == "NaN" else float("inf") if x == "Infinity" else float("-inf") if x == "-Infinity" else float(x) for x in doc["values"]]
    got = m.values.reshape(-1)
    if len(want) != got.size:
        return diffs + ["%d values decoded, %d expected" % (got.size, len(want))]
    if doc["value_type"] == "float32":
        w = np.array(want, dtype=np.float64).astype(np.float32)
        g = got.astype(np.float32)
        bits_w, bits_g = w.view(np.uint32), g.view(np.uint32)
    else:
        w = np.array(want, dtype=np.float64)
        g = got.astype(np.float64)
        bits_w, bits_g = w.view(np.uint64), g.view(np.uint64)
    same = (bits_w == bits_g) | (np.isnan(w) & np.isnan(g))
    if not same.all():
        diffs.append("values differ first at %d" % int(np.argmin(same)))
    return diffs


def check_valid(path):
    stem = os.path.splitext(path)[0]
    if not os.path.exists(stem + ".json"):
        return "FAIL", "no expected contents %s.json" % os.path.basename(stem)
    with open(stem + ".json") as f:
        doc = json.load(f)
    ext = os.path.splitext(path)[1]
    try:
        got = READERS[ext](path)
    except read_seg.Unavailable as e:
        return "SKIP", str(e)
    except read_seg.SegmentError as e:
        return "FAIL", "rejected a valid file: %s" % e
    if ext == ".tbl":
        diffs = compare_table(got, doc)
        summary = "%d rows, %d columns, %d chunks" % (got.n_rows, len(got.columns), sum(len(c.chunks) for c in got.columns))
    elif ext == ".dense":
        diffs = compare_dense(got, doc)
        summary = "%d x %d %s, %d chunks" % (got.n_rows, got.n_cols, got.value_type, len(got.chunks))
    else:
        diffs = compare(got, doc)
        summary = "%d rows, nnz %d, %d chunks" % (got.n_rows, got.nnz, len(got.chunks))
    if diffs:
        return "FAIL", "; ".join(diffs)
    return "PASS", summary


def check_invalid(path):
    expected = kind = None
    txt = os.path.splitext(path)[0] + ".txt"
    if os.path.exists(txt):
        for line in open(txt):
            if line.startswith("expected error contains: "):
                expected = line[len("expected error contains: "):].rstrip("\n")
            if line.startswith("expected error kind: "):
                kind = line[len("expected error kind: "):].rstrip("\n")
    if expected is None:
        return "FAIL", "no 'expected error contains:' line in %s" % os.path.basename(txt)
    try:
        READERS[os.path.splitext(path)[1]](path)
    except read_seg.Unavailable as e:
        return "SKIP", str(e)
    except read_seg.SegmentError as e:
        if expected not in str(e):
            return "FAIL", "rejected, but the error lacks %r: %s" % (expected, e)
        if kind is not None and type(e).__name__ != kind:
            return "FAIL", "rejected as %s, expected %s: %s" % (type(e).__name__, kind, e)
        return "PASS", "%s: %s" % (type(e).__name__, e)
    return "FAIL", "accepted an invalid file"


def main():
    results = []
    for ext in READERS:
        for path in sorted(glob.glob(os.path.join(GOLDEN, "*" + ext))):
            results.append((os.path.basename(path),) + check_valid(path))
    for ext in READERS:
        for path in sorted(glob.glob(os.path.join(GOLDEN, "invalid", "*" + ext))):
            results.append(("invalid/" + os.path.basename(path),) + check_invalid(path))
    for name, status, detail in results:
        print("%-4s %-36s %s" % (status, name, detail))
    passed = sum(1 for r in results if r[1] == "PASS")
    failed = sum(1 for r in results if r[1] == "FAIL")
    skipped = sum(1 for r in results if r[1] == "SKIP")
    if not results:
        print("no golden vectors found under %s" % GOLDEN)
        failed = 1
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
