#!/usr/bin/python3
"""A dataset read with the format-spec reference readers only (no slaf code).

Shared by the Python tests that need an oracle independent of the C++
library: the manifest of a version is parsed with the json module
(format-spec/dataset.md), segments are decoded with
format-spec/reference/read_seg.py and table files with read_tbl.py.

  m = manifest(ds)                     # the highest version, or manifest(ds, 3)
  x = decode_matrix(ds, m)             # X as scipy CSR (float64 data)
  x = decode_matrix(ds, m, "counts")   # a layer
  t = decode_table(ds, m, "obs")       # Table: index name, [(column name, Column)]

Decoded files are cached by path (files are immutable, so a cache entry
stays valid across versions of one dataset).
"""

import glob
import json
import os
import sys

import numpy as np
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "format-spec", "reference"))
import read_seg  # noqa: E402
import read_tbl  # noqa: E402

_decoded = {}


def _cached(read, path):
    if path not in _decoded:
        _decoded[path] = read(path)
    return _decoded[path]


def clear_cache():
    _decoded.clear()


def versions(ds):
    """The version numbers that have a manifest, ascending."""
    keys = sorted(glob.glob(os.path.join(ds, "_versions", "[0-9]" * 20 + ".json")))
    return [int(os.path.basename(k)[:20]) for k in keys]


def manifest(ds, version=None):
    """The manifest of `version` (default: the highest), parsed with json."""
    vs = versions(ds)
    assert vs, "no manifests in " + ds
    v = vs[-1] if version is None else version
    with open(os.path.join(ds, "_versions", "%020d.json" % v), "rb") as f:
        return json.load(f)


def matrix_entry(m, layer=None):
    return m["X"] if layer is None else m["layers"][layer]


def decode_matrix(ds, m, layer=None):
    """X (or a layer) of manifest m as a scipy CSR matrix with float64 data and
    sorted indices, decoded by read_seg.py. The manifest's value_type says
    whether the values are counts (uint32) or float32."""
    n_cells, n_genes = m["shape"]
    entry = matrix_entry(m, layer)
    parts, next_cell = [], 0
    for s in entry["segments"]:
        assert s["first_cell"] == next_cell, "segment coverage: first_cell %d, expected %d" % (s["first_cell"], next_cell)
        seg = _cached(read_seg.read_segment, os.path.join(ds, s["path"]))
        assert (seg.n_rows, seg.n_cols, seg.nnz) == (s["n_cells"], n_genes, s["nnz"]), \
            "segment %s: footer disagrees with manifest" % s["path"]
        assert seg.value_type == entry["value_type"], \
            "segment %s: value type %s, manifest %s" % (s["path"], seg.value_type, entry["value_type"])
        parts.append(sp.csr_matrix((seg.values.astype(np.float64), seg.indices.astype(np.int64), seg.indptr.astype(np.int64)),
                                   shape=(seg.n_rows, n_genes)))
        next_cell += s["n_cells"]
    assert next_cell == n_cells, "segments cover %d cells of %d" % (next_cell, n_cells)
    x = sp.vstack(parts).tocsr() if parts else sp.csr_matrix((n_cells, n_genes))
    x.sort_indices()
    return x


class Column:
    """One obs/var column: its slaf type (int64, float64, bool, string,
    categorical), values (None = null; categoricals as their strings) and,
    for categoricals, the manifest's categories."""

    def __init__(self, type, values, categories=None):
        self.type, self.values, self.categories = type, values, categories


class Table:
    def __init__(self, index, columns):
        self.index = index      # name of the index column
        self.columns = columns  # [(name, Column)] in schema order

    def names(self):
        return [n for n, _ in self.columns]

    def __getitem__(self, name):
        for n, c in self.columns:
            if n == name:
                return c
        raise KeyError(name)


def decode_table(ds, m, which):
    """obs or var of manifest m as a Table (categorical values as strings)."""
    t = m[which]
    cols, files = [], {}
    for col in t["columns"]:
        values = []
        for fi in col["files"]:
            f = t["files"][fi]
            if f["path"] not in files:
                files[f["path"]] = _cached(read_tbl.read_table, os.path.join(ds, f["path"]))
            (c,) = [c for c in files[f["path"]].columns if c.name.decode() == col["name"]]
            assert c.type == col["type"], "%s column %s: file type %s, manifest %s" % (which, col["name"], c.type, col["type"])
            if c.type == "categorical":
                cats = [x.decode() for x in c.categories]
                values.extend(None if v is None else cats[v] for v in c.values)
            elif c.type == "string":
                values.extend(None if v is None else v.decode() for v in c.values)
            elif c.type == "bool":
                values.extend(None if v is None else bool(v) for v in c.values)
            else:
                values.extend(c.values)
        assert len(values) == t["n_rows"], "%s column %s: %d values, %d rows" % (which, col["name"], len(values), t["n_rows"])
        cols.append((col["name"], Column(col["type"], values, col.get("categories"))))
    return Table(t["index"], cols)
