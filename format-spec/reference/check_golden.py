#!/usr/bin/python3
"""Runs the reference reader (read_seg.py) over every golden vector.

Valid vectors (format-spec/golden/*.seg) must decode, with every checksum
verified, to exactly the contents of the matching .json: n_rows, n_cols,
value_type, nnz, indptr, indices and values (float32 compared bit for bit
after rounding the JSON number to float32). Invalid vectors
(format-spec/golden/invalid/*.seg) must be rejected, and the error must
contain the text the matching .txt documents. A vector using a codec this
Python lacks is skipped, not failed.

Prints one line per vector, then "N passed, M failed, K skipped"; exits 1 if
anything failed or no vector was found. Registered with ctest as
reference_reader_golden (tests/CMakeLists.txt).
"""

import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.path.dirname(HERE), "golden")
sys.path.insert(0, HERE)
import read_seg  # noqa: E402


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


def check_valid(path):
    stem = os.path.splitext(path)[0]
    if not os.path.exists(stem + ".json"):
        return "FAIL", "no expected contents %s.json" % os.path.basename(stem)
    with open(stem + ".json") as f:
        doc = json.load(f)
    try:
        seg = read_seg.read_segment(path)
    except read_seg.Unavailable as e:
        return "SKIP", str(e)
    except read_seg.SegmentError as e:
        return "FAIL", "rejected a valid file: %s" % e
    diffs = compare(seg, doc)
    if diffs:
        return "FAIL", "; ".join(diffs)
    return "PASS", "%d rows, nnz %d, %d chunks" % (seg.n_rows, seg.nnz, len(seg.chunks))


def check_invalid(path):
    expected = None
    txt = os.path.splitext(path)[0] + ".txt"
    if os.path.exists(txt):
        for line in open(txt):
            if line.startswith("expected error contains: "):
                expected = line[len("expected error contains: "):].rstrip("\n")
    if expected is None:
        return "FAIL", "no 'expected error contains:' line in %s" % os.path.basename(txt)
    try:
        read_seg.read_segment(path)
    except read_seg.Unavailable as e:
        return "SKIP", str(e)
    except read_seg.SegmentError as e:
        if expected not in str(e):
            return "FAIL", "rejected, but the error lacks %r: %s" % (expected, e)
        return "PASS", "%s: %s" % (type(e).__name__, e)
    return "FAIL", "accepted an invalid file"


def main():
    results = []
    for path in sorted(glob.glob(os.path.join(GOLDEN, "*.seg"))):
        results.append((os.path.basename(path),) + check_valid(path))
    for path in sorted(glob.glob(os.path.join(GOLDEN, "invalid", "*.seg"))):
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
