#!/usr/bin/python3
"""Import/export tests of `slaf convert` and `slaf export` over real data.

Usage: interop_test.py PATH/TO/slaf PATH/TO/shared/data [unittest args]

Every h5ad, 10x HDF5 and 10x MTX dataset under the shared data directory
(the table DATASETS; test_table_covers_shared_data fails when a file there is
not listed) is converted, and the result is compared with an oracle that is
independent of the C++ code:

  - the inputs are read with anndata.read_h5ad (h5ad), h5py (10x HDF5, plain
    HDF5 with a dense /X), scipy.io.mmread + pandas (10x MTX);
  - the converted dataset is read with the Python reference readers of
    format-spec/reference (read_seg.py, read_tbl.py, read_dense.py, written
    from the spec) and the manifest with the json module;
  - exports are read back with anndata.read_h5ad and scipy.io.mmread + pandas.

Each dataset's shape, nnz and (for counts) total sum are also listed in the
table as given by ../shared/data/README.md, so a wrong oracle cannot agree
with a wrong converter unnoticed. test_comparisons_detect_perturbations feeds
perturbed oracles to the comparison functions and requires them to fail.

The content contract checked (the converter's, see docs/interop.md):
  - X and layers: integer-valued input of any dtype is stored as uint32, any
    other as float32 equal to the source cast to float32; stored zeros are
    dropped;
  - 10x: obs index cell_id = barcodes; var index gene_id = feature ids,
    gene_symbol = names, feature_type (v3) and genome (v3 h5, multi-genome
    v2 h5) categorical;
  - h5ad: index columns named after the `_index` attribute (cell_id/gene_id
    when it is "_index"), columns with their types, categoricals with the
    same categories in the same order, layers, raw.X as layer "raw" when raw
    has var's genes and as the nested dataset raw/ (its X, var and cell names)
    otherwise, obsm/varm, uns scalars, strings and small 1-D arrays; export
    writes raw/ back as AnnData's raw;
  - plain HDF5 with a dense /X: cells and genes named "0".."n-1".
Failures name the dataset and the check, with expected and actual values.

If the shared data directory is missing, the test prints why and exits 77
(registered as SKIP_RETURN_CODE in tests/CMakeLists.txt).
"""

import contextlib
import copy
import glob
import gzip
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
import warnings

import numpy as np
import scipy.io
import scipy.sparse as sp

warnings.filterwarnings("ignore")
import anndata  # noqa: E402
import h5py  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "format-spec", "reference"))
import read_dense  # noqa: E402
import read_seg  # noqa: E402
import read_tbl  # noqa: E402

SLAF = None   # set in main
DATA = None   # set in main
SKIP = 77

# Every h5ad / 10x HDF5 / 10x MTX input under ../shared/data.
#   name, path relative to the data dir, kind,
#   (n_cells, n_genes, nnz, sum of X or None, value type) from ../shared/data/README.md
#   (h5ad files as stored: tabula_muris files have genes as obs),
#   substrings expected among the "not carried over" lines on stderr.
DATASETS = [
    ("pbmc3k_mtx_v2", "pbmc3k/filtered_gene_bc_matrices", "mtx",
     (2700, 32738, 2286884, 6390631, "uint32"), []),
    ("scanpy_1.2.0_h5", "scanpy_10x_testdata/1.2.0/filtered_gene_bc_matrices_h5.h5", "10x-h5",
     (12, 343, 12, 12, "uint32"), []),
    ("scanpy_1.2.0_multiple_genomes_h5", "scanpy_10x_testdata/1.2.0/multiple_genomes.h5", "10x-h5",
     (12, 686, 24, 25, "uint32"), []),
    ("scanpy_3.0.0_h5", "scanpy_10x_testdata/3.0.0/filtered_feature_bc_matrix.h5", "10x-h5",
     (1107, 507, 23866, 41549, "uint32"), []),
    ("scanpy_1.2.0_mtx", "scanpy_10x_testdata/1.2.0/filtered_gene_bc_matrices", "mtx",
     (12, 343, 12, 12, "uint32"), []),
    ("scanpy_3.0.0_mtx", "scanpy_10x_testdata/3.0.0/filtered_feature_bc_matrix", "mtx",
     (1107, 507, 23866, 41549, "uint32"), []),
    ("mouse_brain_10k_subset", "mouse_brain_10k_subset/10x-10k-subset.counts.h5ad", "h5ad",
     (10000, 1000, 691914, 1597698, "uint32"), []),
    ("pbmc68k_reduced", "pbmc68k_reduced/10x_pbmc68k_reduced.h5ad", "h5ad",
     (700, 765, 535433, None, "float32"), ["obsp/connectivities", "obsp/distances", "rank_genes_groups/names"]),
    ("scvelo_dentategyrus_100obs", "scvelo_dentategyrus_100obs/dentategyrus_100obs.h5ad", "h5ad",
     (100, 13913, 139156, 288220, "uint32"), []),
    ("pbmc_small", "pbmc_small_h5ad/pbmc-small.h5ad", "h5ad",
     (80, 20, 1600, None, "float32"), ["obsp/distances"]),
    ("kang2018_ctrl", "kang2018_pbmc_ifnb_2k/pbmc_ctrl.counts.h5ad", "h5ad",
     (1000, 9015, 558407, 1475025, "uint32"), []),
    ("kang2018_stim", "kang2018_pbmc_ifnb_2k/pbmc_stim.counts.h5ad", "h5ad",
     (1000, 9015, 571399, 1606802, "uint32"), []),
    ("pbmc_1k_v2_raw", "pbmc_1k_10x_v2_v3/1k_PBMC_v2_raw.counts.h5ad", "h5ad",
     (996, 33538, 1102741, 3524098, "uint32"), []),
    ("pbmc_1k_v3_filt", "pbmc_1k_10x_v2_v3/1k_PBMC_v3_filt.counts.h5ad", "h5ad",
     (906, 14688, 1604642, 5451564, "uint32"), []),
    ("pbmc_5prime_1k", "pbmc_1k_10x_v2_v3/5prime_PBMC_filt_1kcells.counts.h5ad", "h5ad",
     (1000, 17890, 1650531, 4733811, "uint32"), []),
    ("tabula_muris_bladder", "tabula_muris_droplet_unnamed/Bladder-10X_P4_3-matrix.h5ad", "h5ad",
     (23433, 149, 511746, 2336805, "uint32"), []),
    ("tabula_muris_liver_0", "tabula_muris_droplet_unnamed/Liver-10X_P7_0-matrix.h5ad", "h5ad",
     (23433, 596, 933372, 3073636, "uint32"), []),
    ("tabula_muris_liver_1", "tabula_muris_droplet_unnamed/Liver-10X_P7_1-matrix.h5ad", "h5ad",
     (23433, 322, 468681, 1486746, "uint32"), []),
    ("scdcc_mouse_bladder", "scdcc_unnamed_counts/mouse_bladder_cell_select_2100.h5", "dense-h5",
     (2100, 20670, 2214875, 4528297, "uint32"), ["/Y"]),
    ("scdcc_cite_cbmc", "scdcc_unnamed_counts/CITE_CBMC_counts_top2000.h5", "dense-h5",
     (8617, 2000, 1160796, 7817205, "uint32"), ["/ADT_X", "/Y"]),
    ("scdcc_worm_neuron", "scdcc_unnamed_counts/worm_neuron_cell.h5", "dense-h5",
     (4186, 13488, 780212, 1376141, "uint32"), ["/Y"]),
]

# h5ad inputs also exported to MTX (float values: a "real" MatrixMarket file).
MTX_EXPORT_TOO = ("pbmc68k_reduced", "pbmc_small")

# Inputs under the data dir that are not h5ad / 10x HDF5 / 10x MTX (or are
# parts of one listed above).
NOT_INPUTS = ("mouse_brain_10k_subset/10x-10k-subset.zarr/",)


def run(*args, check=None, timeout=300):
    """Runs slaf; returns (exit status, stdout, stderr)."""
    p = subprocess.run([SLAF] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError("slaf %s: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), p.returncode, check, p.stdout[-2000:], p.stderr[-2000:]))
    return p.returncode, p.stdout, p.stderr


# --- failure collection --------------------------------------------------------------

def short(x, limit=300):
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


class Failures:
    """Collects every failed check of one dataset, so one run reports all of them."""

    def __init__(self, where):
        self.where = where
        self.items = []
        self.stage_name = ""

    def fail(self, what, expected=None, got=None, detail=None):
        msg = "[%s] %s%s" % (self.where, self.stage_name + ": " if self.stage_name else "", what)
        if expected is not None or got is not None:
            msg += "\n      expected: %s\n      got:      %s" % (short(expected), short(got))
        if detail:
            msg += "\n      " + detail
        self.items.append(msg)

    def eq(self, what, expected, got):
        if expected != got:
            self.fail(what, expected, got)
            return False
        return True

    @contextlib.contextmanager
    def stage(self, name):
        """Runs one stage; an exception is recorded as a failure of that stage, and the next stages still run."""
        old, self.stage_name = self.stage_name, name
        try:
            yield
        except Exception as e:  # noqa: BLE001 -- reported, not swallowed
            self.fail("raised %s: %s" % (type(e).__name__, e), detail=traceback.format_exc().replace("\n", "\n      "))
        finally:
            self.stage_name = old

    def report(self):
        return "%d failed checks:\n  %s" % (len(self.items), "\n  ".join(self.items))


# --- oracle: the normalised content of an input ---------------------------------------

class Column:
    """One table column: slaf type, values (Python objects, None = null) and, for
    categoricals, the categories in order (None: order not specified by the contract)."""

    def __init__(self, type_, values, categories=None, ordered_categories=True):
        self.type = type_
        self.values = values
        self.categories = categories
        self.ordered_categories = ordered_categories

    def codes(self):
        pos = {c: i for i, c in enumerate(self.categories)}
        return [-1 if v is None else pos.get(v, -2) for v in self.values]


class Table:
    def __init__(self, index, columns):
        self.index = index      # name of the index column
        self.columns = columns  # list of (name, Column), the index column first


class Oracle:
    def __init__(self):
        self.X = None           # CSR, float64 data, canonical, no stored zeros
        self.value_type = None  # "uint32" or "float32"
        self.layers = {}        # name -> (CSR, value type)
        self.obs = None
        self.var = None
        self.obsm = {}          # name -> ndarray (float32 or float64)
        self.varm = {}
        self.uns = {}           # path tuple -> expected value (scalar or 1-D ndarray)
        self.raw = None         # (CSR, value type, var Table): raw with other genes than X


def normalise_matrix(m):
    """(CSR with float64 data, value type) as the contract stores matrix m."""
    m = sp.csr_matrix(m)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    d = m.data
    if d.dtype.kind in "iub":
        is_count = d.size == 0 or (d.min() >= 0 and d.max() < 2 ** 32)
    else:
        with np.errstate(invalid="ignore"):
            is_count = bool(np.all(np.isfinite(d)) and np.all(d >= 0) and np.all(d < 2.0 ** 32) and np.all(np.floor(d) == d))
    if is_count:
        data = d.astype(np.float64)
        vt = "uint32"
    else:
        data = d.astype(np.float32).astype(np.float64)
        vt = "float32"
    out = sp.csr_matrix((data, m.indices.astype(np.int64), m.indptr.astype(np.int64)), shape=m.shape)
    out.eliminate_zeros()  # values that became 0 in float32
    return out, vt


def series_column(s):
    """A pandas Series as the contract stores it: (slaf type, values, categories)."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        cats = [str(c) for c in dt.categories]
        codes = s.cat.codes.to_numpy()
        return Column("categorical", [None if c < 0 else cats[c] for c in codes], cats)
    if pd.api.types.is_bool_dtype(dt):
        return Column("bool", [None if v is pd.NA or v is None else bool(v) for v in s.tolist()])
    if pd.api.types.is_integer_dtype(dt):
        return Column("int64", [None if v is pd.NA or v is None else int(v) for v in s.tolist()])
    if pd.api.types.is_float_dtype(dt):
        return Column("float64", [float(v) for v in s.to_numpy(dtype=np.float64)])
    values = []
    for v in s.tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            values.append(None)
        elif isinstance(v, bytes):
            values.append(v.decode("utf-8"))
        else:
            values.append(str(v))
    return Column("string", values)


def table_from_df(df, default_index):
    index = df.index.name if df.index.name is not None else default_index
    cols = [(index, Column("string", [str(v) for v in df.index]))]
    for name in df.columns:
        cols.append((str(name), series_column(df[name])))
    return Table(index, cols)


def uns_leaves(d, path=()):
    """The members of an anndata uns the contract carries: path -> scalar or 1-D array."""
    out = {}
    for k, v in d.items():
        p = path + (str(k),)
        if isinstance(v, dict) or hasattr(v, "keys") and not isinstance(v, (pd.DataFrame,)):
            out.update(uns_leaves(dict(v), p))
        elif isinstance(v, (str, bool, int, float, np.generic)):
            if isinstance(v, np.generic) and v.dtype.kind not in "biufUS":
                continue
            out[p] = v
        elif isinstance(v, np.ndarray):
            if v.dtype.names is not None:
                continue  # record arrays are not carried
            if v.ndim == 0 and v.dtype.kind in "biufUSO":
                out[p] = v[()]
            elif v.ndim == 1 and v.size <= 100000 and v.dtype.kind in "biufUO":
                if v.dtype.kind == "O" and not all(isinstance(x, str) for x in v):
                    continue
                out[p] = v
    return out


def oracle_from_anndata(a, path):
    o = Oracle()
    o.X, o.value_type = normalise_matrix(a.X)
    for name in a.layers.keys():
        o.layers[name] = normalise_matrix(a.layers[name])
    if a.raw is not None and list(a.raw.var_names) == list(a.var_names):
        o.layers["raw"] = normalise_matrix(a.raw.X)
    elif a.raw is not None:
        # Other genes than X: the nested dataset raw/ (format-spec §9.1).
        rm, rvt = normalise_matrix(a.raw.X)
        o.raw = (rm, rvt, table_from_df(a.raw.var, "gene_id"))
    o.obs = table_from_df(a.obs, "cell_id")
    o.var = table_from_df(a.var, "gene_id")
    # Pre-0.7 files store obs/var as compound datasets whose first field is the index; anndata
    # wrote an unnamed index as the field "index", so that name (like "_index") means "unnamed":
    # cell_id / gene_id, as for the `_index` attribute of later layouts.
    with h5py.File(path, "r") as h:
        for key, t, default in (("obs", o.obs, "cell_id"), ("var", o.var, "gene_id")):
            if isinstance(h.get(key), h5py.Dataset) and t.index in ("index", "_index"):
                t.index = default
                t.columns[0] = (default, t.columns[0][1])
    for src, dst in ((a.obsm, o.obsm), (a.varm, o.varm)):
        for name in src.keys():
            v = src[name]
            if isinstance(v, np.ndarray) and v.ndim == 2 and v.dtype.kind in "biuf":
                dst[name] = v.astype(np.float32 if v.dtype == np.float32 else np.float64)
    o.uns = uns_leaves(dict(a.uns))
    return o


def dec(b):
    return b.decode("utf-8") if isinstance(b, bytes) else str(b)


def oracle_from_10x_h5(path):
    o = Oracle()
    with h5py.File(path, "r") as f:
        if "matrix" in f:
            g = f["matrix"]
            n_genes, n_cells = (int(x) for x in g["shape"][()])
            m = sp.csc_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=(n_genes, n_cells))
            fe = g["features"]
            ids = [dec(x) for x in fe["id"][()]]
            names = [dec(x) for x in fe["name"][()]]
            var = [("gene_id", Column("string", ids)), ("gene_symbol", Column("string", names))]
            if "feature_type" in fe:
                ft = [dec(x) for x in fe["feature_type"][()]]
                var.append(("feature_type", Column("categorical", ft, sorted(set(ft)), ordered_categories=False)))
            if "genome" in fe:
                gn = [dec(x) for x in fe["genome"][()]]
                var.append(("genome", Column("categorical", gn, sorted(set(gn)), ordered_categories=False)))
            barcodes = [dec(x) for x in g["barcodes"][()]]
            X = m.T
        else:
            genomes = [k for k in f.keys() if isinstance(f[k], h5py.Group) and "indptr" in f[k]]
            parts, ids, names, gn, barcodes = [], [], [], [], None
            for k in genomes:  # h5py lists groups in the file's link order
                g = f[k]
                n_genes, n_cells = (int(x) for x in g["shape"][()])
                parts.append(sp.csc_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=(n_genes, n_cells)).T)
                ids += [dec(x) for x in g["genes"][()]]
                names += [dec(x) for x in g["gene_names"][()]]
                gn += [k] * n_genes
                bc = [dec(x) for x in g["barcodes"][()]]
                assert barcodes is None or bc == barcodes, "oracle: genomes of %s have different barcodes" % path
                barcodes = bc
            X = sp.hstack(parts)
            var = [("gene_id", Column("string", ids)), ("gene_symbol", Column("string", names))]
            if len(genomes) > 1:
                var.append(("genome", Column("categorical", gn, genomes, ordered_categories=False)))
    o.X, o.value_type = normalise_matrix(X)
    o.obs = Table("cell_id", [("cell_id", Column("string", barcodes))])
    o.var = Table("gene_id", var)
    return o


def mtx_files(d):
    """(matrix, genes/features, barcodes) paths of a 10x MTX directory (or its one genome subfolder)."""
    def find(dd, names):
        for n in names:
            if os.path.exists(os.path.join(dd, n)):
                return os.path.join(dd, n)
        return None
    m = find(d, ("matrix.mtx.gz", "matrix.mtx"))
    if m is None:
        subs = [s for s in sorted(os.listdir(d)) if os.path.isdir(os.path.join(d, s))]
        assert len(subs) == 1, "oracle: %s has no matrix.mtx and not exactly one subfolder" % d
        d = os.path.join(d, subs[0])
        m = find(d, ("matrix.mtx.gz", "matrix.mtx"))
    return (m, find(d, ("features.tsv.gz", "genes.tsv.gz", "features.tsv", "genes.tsv")),
            find(d, ("barcodes.tsv.gz", "barcodes.tsv")))


def read_tsv(path):
    return pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False, quoting=3)


def oracle_from_mtx(d):
    o = Oracle()
    m_path, f_path, b_path = mtx_files(d)
    m = scipy.io.mmread(m_path)  # genes x cells
    feats = read_tsv(f_path)
    barcodes = list(read_tsv(b_path)[0])
    o.X, o.value_type = normalise_matrix(sp.csr_matrix(m).T)
    var = [("gene_id", Column("string", list(feats[0]))), ("gene_symbol", Column("string", list(feats[1])))]
    if feats.shape[1] >= 3:
        ft = list(feats[2])
        var.append(("feature_type", Column("categorical", ft, sorted(set(ft)), ordered_categories=False)))
    o.obs = Table("cell_id", [("cell_id", Column("string", barcodes))])
    o.var = Table("gene_id", var)
    return o


def oracle_from_dense_h5(path):
    o = Oracle()
    with h5py.File(path, "r") as f:
        x = f["X"][()]
    o.X, o.value_type = normalise_matrix(sp.csr_matrix(x))
    n_cells, n_genes = x.shape
    del x
    o.obs = Table("cell_id", [("cell_id", Column("string", [str(i) for i in range(n_cells)]))])
    o.var = Table("gene_id", [("gene_id", Column("string", [str(i) for i in range(n_genes)]))])
    return o


def make_oracle(kind, path):
    if kind == "h5ad":
        return oracle_from_anndata(anndata.read_h5ad(path), path)
    if kind == "10x-h5":
        return oracle_from_10x_h5(path)
    if kind == "mtx":
        return oracle_from_mtx(path)
    if kind == "dense-h5":
        return oracle_from_dense_h5(path)
    raise ValueError(kind)


# --- the converted dataset, read with the reference readers ---------------------------

# Decoded files by path, kept only while a test sets it to a dict (the perturbation test
# compares one dataset many times).
DECODED = None


def cached(read, path):
    if DECODED is None:
        return read(path)
    if path not in DECODED:
        DECODED[path] = read(path)
    return DECODED[path]


def manifest(ds):
    keys = sorted(glob.glob(os.path.join(ds, "_versions", "[0-9]" * 20 + ".json")))
    assert keys, "no manifests in " + ds
    with open(keys[-1], "rb") as f:
        return json.load(f)


def decode_matrix(ds, m, entry):
    """A matrix object of manifest m as CSR with float64 data, decoded by read_seg.py."""
    n_cells, n_genes = m["shape"]
    parts, next_cell = [], 0
    for s in entry["segments"]:
        assert s["first_cell"] == next_cell, "segment coverage: first_cell %d, expected %d" % (s["first_cell"], next_cell)
        seg = cached(read_seg.read_segment, os.path.join(ds, s["path"]))
        assert (seg.n_rows, seg.n_cols, seg.nnz) == (s["n_cells"], n_genes, s["nnz"]), "segment %s: footer disagrees with manifest" % s["path"]
        assert seg.value_type == entry["value_type"], "segment %s: value type %s, manifest %s" % (s["path"], seg.value_type, entry["value_type"])
        parts.append(sp.csr_matrix((seg.values.astype(np.float64), seg.indices.astype(np.int64), seg.indptr.astype(np.int64)),
                                   shape=(seg.n_rows, n_genes)))
        next_cell += s["n_cells"]
    assert next_cell == n_cells, "segments cover %d cells of %d" % (next_cell, n_cells)
    x = sp.vstack(parts).tocsr() if parts else sp.csr_matrix((n_cells, n_genes))
    x.sort_indices()
    return x


def decode_table(ds, m, which):
    """obs or var of manifest m as a Table (categorical values as strings, manifest categories)."""
    t = m[which]
    cols, cache = [], {}
    for col in t["columns"]:
        values = []
        for fi in col["files"]:
            f = t["files"][fi]
            if f["path"] not in cache:
                cache[f["path"]] = cached(read_tbl.read_table, os.path.join(ds, f["path"]))
            (c,) = [c for c in cache[f["path"]].columns if c.name.decode() == col["name"]]
            assert c.type == col["type"], "%s column %s: file type %s, manifest %s" % (which, col["name"], c.type, col["type"])
            if c.type == "categorical":
                cats = [x.decode() for x in c.categories]
                values.extend(None if v is None else cats[v] for v in c.values)
            elif c.type == "string":
                values.extend(None if v is None else v.decode() for v in c.values)
            else:
                values.extend(c.values)
        assert len(values) == t["n_rows"]
        cols.append((col["name"], Column(col["type"], values, col.get("categories"))))
    return Table(t["index"], cols)


def decode_dense(ds, entry):
    d = cached(read_dense.read_dense, os.path.join(ds, entry["path"]))
    assert d.value_type == entry["dtype"], "dense %s: file dtype %s, manifest %s" % (entry["path"], d.value_type, entry["dtype"])
    return d.values


# --- comparisons ---------------------------------------------------------------------

def triple_checksum(m):
    """SHA-256 (first 16 hex digits) of the (cell, gene, value) triples in (cell, gene) order."""
    m = sp.csr_matrix(m, dtype=np.float64)
    m.sort_indices()
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    h = hashlib.sha256()
    for a in (rows, m.indices.astype(np.int64), m.data.astype(np.float64)):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def compare_matrix(f, what, exp, got):
    """Shape, nnz, every value (exact), checksum of sorted triples, per-cell and per-gene sums."""
    if not f.eq(what + ": shape (cells, genes)", tuple(exp.shape), tuple(got.shape)):
        return
    exp, got = sp.csr_matrix(exp, dtype=np.float64), sp.csr_matrix(got, dtype=np.float64)
    f.eq(what + ": nnz", exp.nnz, got.nnz)
    ce, cg = triple_checksum(exp), triple_checksum(got)
    f.eq(what + ": checksum of sorted (cell, gene, value) triples", ce, cg)
    if ce != cg:
        diff = (exp != got).tocoo()
        n = diff.nnz
        shown = ["(cell %d, gene %d): expected %r, got %r" % (r, c, exp[r, c], got[r, c]) for r, c in list(zip(diff.row, diff.col))[:5]]
        f.fail(what + ": %d entries differ" % n, detail="; ".join(shown))
    for axis, name in ((1, "cell"), (0, "gene")):
        a, b = np.asarray(exp.sum(axis=axis)).ravel(), np.asarray(got.sum(axis=axis)).ravel()
        bad = np.flatnonzero(~np.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True))
        if bad.size:
            f.fail(what + ": per-%s sums differ for %d %ss" % (name, bad.size, name),
                   detail="; ".join("%s %d: expected %r, got %r" % (name, i, a[i], b[i]) for i in bad[:5]))


def same_value(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def compare_values(f, what, exp, got):
    if not f.eq(what + ": number of rows", len(exp), len(got)):
        return
    bad = [i for i, (a, b) in enumerate(zip(exp, got)) if not same_value(a, b)]
    if bad:
        f.fail(what + ": %d of %d rows differ" % (len(bad), len(exp)),
               detail="; ".join("row %d: expected %s, got %s" % (i, short(exp[i], 80), short(got[i], 80)) for i in bad[:5]))


def compare_table(f, what, exp, got, check_index_name=True):
    if check_index_name:
        f.eq(what + ": index column name", exp.index, got.index)
    f.eq(what + ": columns (name, type) in order", [(n, c.type) for n, c in exp.columns], [(n, c.type) for n, c in got.columns])
    got_cols = dict(got.columns)
    for name, ec in exp.columns:
        gc = got_cols.get(name)
        if gc is None or gc.type != ec.type:
            continue
        compare_values(f, "%s column %r values" % (what, name), ec.values, gc.values)
        if ec.type == "categorical":
            if ec.ordered_categories:
                if f.eq("%s column %r categories (in order)" % (what, name), ec.categories, gc.categories):
                    compare_values(f, "%s column %r codes" % (what, name), ec.codes(), gc.codes())
            else:
                f.eq("%s column %r categories (as a set)" % (what, name), sorted(set(ec.categories)), sorted(set(gc.categories or [])))


def compare_dense(f, what, exp, got):
    f.eq(what + ": dtype", str(exp.dtype), str(got.dtype))
    if not f.eq(what + ": shape", tuple(exp.shape), tuple(got.shape)):
        return
    if not np.array_equal(exp.astype(np.float64), got.astype(np.float64), equal_nan=True):
        bad = np.argwhere(~((exp == got) | (np.isnan(exp.astype(np.float64)) & np.isnan(got.astype(np.float64)))))
        f.fail(what + ": %d values differ" % len(bad),
               detail="; ".join("[%d, %d]: expected %r, got %r" % (i, j, exp[i, j], got[i, j]) for i, j in bad[:5]))


def to_py(v):
    if isinstance(v, np.ndarray):
        return [to_py(x) for x in v.tolist()] if v.ndim else to_py(v[()])
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return v


def same_uns(exp, got):
    e, g = to_py(exp), to_py(got)
    if isinstance(e, list):
        return isinstance(g, list) and len(e) == len(g) and all(same_uns(a, b) for a, b in zip(e, g))
    if isinstance(e, bool) or isinstance(g, bool):
        return isinstance(e, bool) and isinstance(g, bool) and e == g
    if isinstance(e, (int, float)):
        if not isinstance(g, (int, float)):
            return False
        if isinstance(e, int) and not isinstance(g, int) and not float(g).is_integer():
            return False
        return float(e) == float(g) or (math.isnan(float(e)) and math.isnan(float(g)))
    return e == g


def uns_get(d, path):
    for k in path:
        if not isinstance(d, dict) and not hasattr(d, "keys") or k not in d:
            return KeyError
        d = d[k]
    return d


def compare_uns(f, what, exp_leaves, got):
    for path, e in exp_leaves.items():
        g = uns_get(got, path)
        name = "%s[%s]" % (what, "][".join(repr(p) for p in path))
        if g is KeyError:
            f.fail(name + ": missing", to_py(e), "(absent)")
        elif not same_uns(e, g):
            f.fail(name, to_py(e), to_py(g))


def compare_dataset(f, o, ds):
    """The converted dataset at ds against oracle o."""
    m = manifest(ds)
    f.eq("manifest shape", list(o.X.shape), m["shape"])
    f.eq("X value_type", o.value_type, m["X"]["value_type"])
    compare_matrix(f, "X", o.X, decode_matrix(ds, m, m["X"]))
    f.eq("layer names", sorted(o.layers), sorted(m["layers"]))
    for name, (lm, vt) in sorted(o.layers.items()):
        if name in m["layers"]:
            f.eq("layer %r value_type" % name, vt, m["layers"][name]["value_type"])
            compare_matrix(f, "layer %r" % name, lm, decode_matrix(ds, m, m["layers"][name]))
    compare_table(f, "obs", o.obs, decode_table(ds, m, "obs"))
    compare_table(f, "var", o.var, decode_table(ds, m, "var"))
    for which, exp in (("obsm", o.obsm), ("varm", o.varm)):
        f.eq(which + " names", sorted(exp), sorted(m[which]))
        for name, arr in sorted(exp.items()):
            if name in m[which]:
                f.eq("%s %r manifest dtype" % (which, name), str(arr.dtype), m[which][name]["dtype"])
                compare_dense(f, "%s %r" % (which, name), arr, decode_dense(ds, m[which][name]))
    compare_uns(f, "uns", o.uns, m["uns"])
    raw_dir = os.path.join(ds, "raw")
    f.eq("nested raw/ dataset present", o.raw is not None, os.path.isdir(raw_dir))
    if o.raw is not None and os.path.isdir(raw_dir):
        rm, rvt, rvar = o.raw
        r = manifest(raw_dir)
        f.eq("raw shape", list(rm.shape), r["shape"])
        f.eq("raw X value_type", rvt, r["X"]["value_type"])
        compare_matrix(f, "raw X", rm, decode_matrix(raw_dir, r, r["X"]))
        compare_table(f, "raw var", rvar, decode_table(raw_dir, r, "var"))
        robs = decode_table(raw_dir, r, "obs")
        compare_values(f, "raw obs names", o.obs.columns[0][1].values, robs.columns[0][1].values)


def compare_export_h5ad(f, o, path):
    """The exported file (a path, or the AnnData read from it) against oracle o."""
    a = anndata.read_h5ad(path) if isinstance(path, str) else path
    x = a.X
    f.eq("X type", True, sp.issparse(x))
    want_dtype = "int32" if o.value_type == "uint32" else "float32"
    f.eq("X dtype", want_dtype, str(x.dtype))
    compare_matrix(f, "X", o.X, sp.csr_matrix(x))
    f.eq("layer names", sorted(o.layers), sorted(a.layers.keys()))
    for name, (lm, vt) in sorted(o.layers.items()):
        if name in a.layers:
            f.eq("layer %r dtype" % name, "int32" if vt == "uint32" else "float32", str(a.layers[name].dtype))
            compare_matrix(f, "layer %r" % name, lm, sp.csr_matrix(a.layers[name]))
    compare_values(f, "obs_names", o.obs.columns[0][1].values, list(a.obs_names))
    compare_values(f, "var_names", o.var.columns[0][1].values, list(a.var_names))
    for which, exp, df, default in (("obs", o.obs, a.obs, "cell_id"), ("var", o.var, a.var, "gene_id")):
        # String columns with nulls come back as "" (anndata 0.8 has no nullable strings).
        cols = [(n, Column(c.type, ["" if v is None else v for v in c.values], c.categories, c.ordered_categories)
                 if c.type == "string" else c) for n, c in exp.columns]
        compare_table(f, which, Table(exp.index, cols), table_from_df(df, default))
    for which, exp, got in (("obsm", o.obsm, a.obsm), ("varm", o.varm, a.varm)):
        f.eq(which + " names", sorted(exp), sorted(got.keys()))
        for name, arr in sorted(exp.items()):
            if name in got:
                compare_dense(f, "%s %r" % (which, name), arr, np.asarray(got[name]))
    compare_uns(f, "uns", o.uns, dict(a.uns))
    f.eq("raw present", o.raw is not None, a.raw is not None)
    if o.raw is not None and a.raw is not None:
        rm, rvt, rvar = o.raw
        f.eq("raw X dtype", "int32" if rvt == "uint32" else "float32", str(a.raw.X.dtype))
        compare_matrix(f, "raw X", rm, sp.csr_matrix(a.raw.X))
        compare_values(f, "raw var_names", rvar.columns[0][1].values, list(a.raw.var_names))
        compare_table(f, "raw var", rvar, table_from_df(a.raw.var, "gene_id"))


def compare_export_mtx(f, o, d):
    for n in ("matrix.mtx.gz", "features.tsv.gz", "barcodes.tsv.gz"):
        f.eq("%s exists" % n, True, os.path.exists(os.path.join(d, n)))
    field = scipy.io.mminfo(os.path.join(d, "matrix.mtx.gz"))[4]
    f.eq("MatrixMarket field", "integer" if o.value_type == "uint32" else "real", field)
    m = sp.csr_matrix(scipy.io.mmread(os.path.join(d, "matrix.mtx.gz")).T)  # the file is genes x cells
    if o.value_type == "float32":  # decimal text: it must read back as the same float32
        m.data = m.data.astype(np.float32).astype(np.float64)
    compare_matrix(f, "matrix.mtx.gz (transposed to cells x genes)", o.X, m)
    feats = read_tsv(os.path.join(d, "features.tsv.gz"))
    var = dict(o.var.columns)
    f.eq("features.tsv.gz columns", 3, feats.shape[1])
    ids = var[o.var.index].values
    compare_values(f, "features.tsv.gz id", ids, list(feats[0]))
    compare_values(f, "features.tsv.gz name", var["gene_symbol"].values if "gene_symbol" in var else ids, list(feats[1]))
    if feats.shape[1] >= 3:
        compare_values(f, "features.tsv.gz type", var["feature_type"].values if "feature_type" in var else ["Gene Expression"] * len(ids),
                       list(feats[2]))
    compare_values(f, "barcodes.tsv.gz", o.obs.columns[0][1].values, list(read_tsv(os.path.join(d, "barcodes.tsv.gz"))[0]))


# --- the tests -----------------------------------------------------------------------

def leftovers(parent, name):
    """Temporary directories a conversion to parent/name could leave."""
    return sorted(glob.glob(os.path.join(parent, "." + name + ".converting-*")))


class InteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="slaf-interop-test-")
        cls.t0 = time.time()

    @classmethod
    def tearDownClass(cls):
        sys.stderr.write("interop_test: %.1f s\n" % (time.time() - cls.t0))
        if os.environ.get("SLAF_KEEP_TMP"):
            sys.stderr.write("interop_test: kept %s\n" % cls.tmp)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def convert(self, f, src, out, *extra):
        rc, stdout, stderr = run("convert", src, out, *extra)
        if rc != 0:
            f.fail("slaf convert exit status %d" % rc, detail="stderr: " + stderr[-2000:])
        elif not os.path.isdir(out):
            f.fail("slaf convert exit 0 but %s is missing" % out)
        parent, name = os.path.split(out)
        f.eq("no temporary directory left beside the output", [], leftovers(parent, name))
        return rc, stdout, stderr

    def check_dataset(self, name, rel, kind, facts, notes):
        src = os.path.join(DATA, rel)
        if not os.path.exists(src):
            self.skipTest("%s: input %s is missing" % (name, src))
        f = Failures(name)
        t0 = time.time()
        o = make_oracle(kind, src)
        # The oracle against the facts from the data README.
        n_cells, n_genes, nnz, total, vt = facts
        for what, want, have in (("shape", (n_cells, n_genes), tuple(o.X.shape)), ("nnz", nnz, o.X.nnz), ("value type", vt, o.value_type)):
            if want != have:
                f.fail("ORACLE disagrees with ../shared/data/README.md on " + what, want, have)
        if total is not None and float(o.X.sum()) != float(total):
            f.fail("ORACLE disagrees with ../shared/data/README.md on the sum of X", total, float(o.X.sum()))
        ds = self.path(name + ".slaf")
        rc = None
        with f.stage("convert"):
            rc, _, stderr = self.convert(f, src, ds)
            for n in notes:
                if n not in stderr:
                    f.fail("stderr does not mention %r among the items not carried over" % n, detail="stderr: " + stderr[-1500:])
        if rc == 0:
            with f.stage("converted dataset"):
                compare_dataset(f, o, ds)
            with f.stage("slaf verify"):
                rc_v, _, err = run("verify", ds)
                f.eq("slaf verify exit status", 0, rc_v) or f.fail("verify stderr", detail=err[-1000:])
            out = self.path(name + ".export.h5ad")
            with f.stage("export --to h5ad"):
                rc_e, _, err = run("export", ds, out, "--to", "h5ad")
                if f.eq("slaf export --to h5ad exit status", 0, rc_e):
                    f.eq("no OUT.partial left", False, os.path.exists(out + ".partial"))
                    compare_export_h5ad(f, o, out)
                else:
                    f.fail("export stderr", detail=err[-1000:])
            if kind in ("mtx", "10x-h5") or name in MTX_EXPORT_TOO:
                out_mtx = self.path(name + ".export.mtx")
                rc_e = None
                with f.stage("export --to mtx"):
                    rc_e, _, err = run("export", ds, out_mtx, "--to", "mtx")
                    if f.eq("slaf export --to mtx exit status", 0, rc_e):
                        compare_export_mtx(f, o, out_mtx)
                    else:
                        f.fail("export stderr", detail=err[-1000:])
                if rc_e == 0 and o.X.nnz < 1000000:  # (pbmc3k: the same code paths as the others, 3 s more)
                    with f.stage("export --to mtx, then convert that MTX directory"):
                        back = self.path(name + ".back.slaf")
                        if self.convert(f, out_mtx, back)[0] == 0:
                            m = manifest(back)
                            f.eq("X value_type", o.value_type, m["X"]["value_type"])
                            compare_matrix(f, "X", o.X, decode_matrix(back, m, m["X"]))
                            obs_t, var_t = dict(decode_table(back, m, "obs").columns), dict(decode_table(back, m, "var").columns)
                            compare_values(f, "obs cell_id", o.obs.columns[0][1].values, obs_t["cell_id"].values)
                            compare_values(f, "var gene_id", o.var.columns[0][1].values, var_t["gene_id"].values)
                        shutil.rmtree(back, ignore_errors=True)
                shutil.rmtree(out_mtx, ignore_errors=True)
            if os.path.exists(out):
                os.remove(out)
        shutil.rmtree(ds, ignore_errors=True)
        sys.stderr.write("  %s: %.1f s ... " % (name, time.time() - t0))
        if f.items:
            self.fail(f.report())

    # ---- coverage of the shared data

    def test_table_covers_shared_data(self):
        listed = [os.path.join(DATA, rel) for _, rel, _, _, _ in DATASETS]
        found = []
        for p in sorted(glob.glob(os.path.join(DATA, "**", "*"), recursive=True)):
            rel = os.path.relpath(p, DATA)
            if any(rel.startswith(x) for x in NOT_INPUTS):
                continue
            base = os.path.basename(p)
            if base.endswith((".h5ad", ".h5")) or base.startswith("matrix.mtx"):
                found.append(p)
        unlisted = [p for p in found if not any(p == L or p.startswith(L + os.sep) for L in listed)]
        self.assertEqual([], [os.path.relpath(p, DATA) for p in unlisted],
                         "inputs under %s that DATASETS does not list" % DATA)

    # ---- the comparisons themselves can fail

    def test_comparisons_detect_perturbations(self):
        """Perturbed oracles must make compare_dataset / compare_export_h5ad report a failure."""
        src = os.path.join(DATA, "pbmc68k_reduced/10x_pbmc68k_reduced.h5ad")
        if not os.path.exists(src):
            self.skipTest("pbmc68k_reduced is missing")
        ds = self.path("perturb.slaf")
        out = self.path("perturb.h5ad")
        run("convert", src, ds, "--quiet", check=0)
        run("export", ds, out, "--to", "h5ad", "--quiet", check=0)

        global DECODED
        DECODED = {}
        self.addCleanup(globals().__setitem__, "DECODED", None)
        pristine = oracle_from_anndata(anndata.read_h5ad(src), src)
        exported = anndata.read_h5ad(out)

        def fresh():
            return copy.deepcopy(pristine)

        base = Failures("unperturbed")
        compare_dataset(base, fresh(), ds)
        compare_export_h5ad(base, fresh(), exported)
        self.assertEqual([], base.items, "the unperturbed oracle must pass: " + base.report())

        def value(o):
            o.X = o.X.copy()
            o.X.data[12345] = np.float64(np.float32(o.X.data[12345] + 0.5))

        def move(o):  # same values and sums per cell, one entry under another gene
            x = o.X.tolil()
            r = int(np.argmin(np.diff(o.X.indptr)))  # a cell that misses some genes
            cols = x.rows[r]
            c_from = cols[0]
            c_to = next(c for c in range(x.shape[1]) if c not in cols)
            x[r, c_to] = x[r, c_from]
            x[r, c_from] = 0
            o.X = sp.csr_matrix(x)
            o.X.eliminate_zeros()
            o.X.sort_indices()

        def swap_rows(o):  # per-gene sums and nnz unchanged
            x = o.X.tolil()
            x[[0, 1]] = x[[1, 0]]
            o.X = sp.csr_matrix(x)
            o.X.sort_indices()

        def layer(o):
            lm, vt = o.layers["raw"]
            lm = lm.copy()
            lm.data[-1] *= 2
            o.layers["raw"] = (lm, vt)

        def col(name, fn, which="obs"):
            def p(o):
                t = getattr(o, which)
                c = dict(t.columns)[name]
                c.values = list(c.values)
                fn(c)
            return p

        def float_col(c):
            c.values[7] = c.values[7] + 1e-6

        def cat_order(c):
            c.categories = list(reversed(c.categories))

        def cat_value(c):
            c.values[0] = c.categories[1] if c.values[0] != c.categories[1] else c.categories[0]

        def bool_col(c):
            c.values[5] = not c.values[5]

        def index_name(o):
            o.obs.index = "cell_id"
            o.obs.columns[0] = ("cell_id", o.obs.columns[0][1])

        def name_value(o):
            o.var.columns[0][1].values = list(o.var.columns[0][1].values)
            o.var.columns[0][1].values[10] += "x"

        def obsm(o):
            o.obsm["X_pca"] = o.obsm["X_pca"].copy()
            o.obsm["X_pca"][4, 4] += 1

        def varm_dtype(o):
            o.varm["PCs"] = o.varm["PCs"].astype(np.float32)

        def uns(o):
            o.uns[("neighbors", "params", "method")] = "gauss"

        def uns_array(o):
            o.uns[("pca", "variance")] = o.uns[("pca", "variance")].copy()
            o.uns[("pca", "variance")][3] *= 1.0000001

        def value_type(o):
            o.value_type = "uint32"

        perturbations = {
            "one X value": value, "one X entry moved to another gene": move, "two cells swapped": swap_rows,
            "one raw layer value": layer, "float obs column": col("percent_mito", float_col),
            "category order": col("louvain", cat_order), "categorical value": col("phase", cat_value),
            "bool var column": col("highly_variable", bool_col, "var"), "index column name": index_name,
            "a gene name": name_value, "obsm value": obsm, "varm dtype": varm_dtype, "uns string": uns,
            "uns array element": uns_array, "value type": value_type,
        }
        for what, fn in perturbations.items():
            for stage, compare, target in (("dataset", compare_dataset, ds), ("export", compare_export_h5ad, exported)):
                if stage == "export" and what in ("index column name",):
                    continue
                o = fresh()
                fn(o)
                f = Failures(what)
                compare(f, o, target)
                self.assertTrue(f.items, "perturbation %r not detected by compare_%s" % (what, stage))

    # ---- bad input: exit 1, a message naming the problem, no output, no temporary directory

    def bad_convert(self, name, src, want_words, *extra, out=None):
        d = self.path("bad", name)
        os.makedirs(d, exist_ok=True)
        out = out or os.path.join(d, "out.slaf")
        existed = os.path.exists(out)
        before = sorted(os.listdir(d))
        rc, stdout, stderr = run("convert", src, out, *extra)
        if os.environ.get("SLAF_SHOW_ERRORS"):
            sys.stderr.write("\n    %s: exit %d: %s" % (name, rc, stderr.strip()))
        problems = []
        if rc != 1:
            problems.append("exit status %d, expected 1" % rc)
        if not stderr.startswith("slaf: "):
            problems.append("stderr does not start with 'slaf: '")
        if not any(w.lower() in stderr.lower() for w in want_words):
            problems.append("message names none of %r" % (want_words,))
        named = os.path.basename(out) if existed else os.path.basename(os.path.normpath(src))
        if named not in stderr:
            problems.append("message does not name %r" % named)
        if not existed and os.path.exists(out):
            problems.append("output %s was created" % out)
        after = sorted(os.listdir(d))
        if after != before:
            problems.append("directory of the output changed: %r -> %r" % (before, after))
        left = leftovers(d, os.path.basename(out))
        if left:
            problems.append("temporary directories left: %r" % left)
        if problems:
            self.fail("bad input %r: %s\n  stdout: %s\n  stderr: %s" % (name, "; ".join(problems), stdout[-500:], stderr[-1500:]))
        return stderr

    def test_bad_inputs(self):
        w = self.path("inputs")
        os.makedirs(w, exist_ok=True)
        cases = []
        cases.append(("missing input", os.path.join(w, "missing.h5ad"), ["no such file", "not found"], []))
        txt = os.path.join(w, "notes.txt")
        with open(txt, "w") as f:
            f.write("gene\tcell\tcount\nCD3E\tAAAC\t3\n")
        cases.append(("text file", txt, ["not an HDF5", "unrecognised", "unrecognized", "unknown format", "cannot detect"], []))
        txt2 = os.path.join(w, "text.h5ad")
        shutil.copy(txt, txt2)
        cases.append(("text file named .h5ad", txt2, ["not an HDF5", "HDF5 signature"], []))
        mtx3 = os.path.join(DATA, "scanpy_10x_testdata/3.0.0/filtered_feature_bc_matrix")
        if os.path.isdir(mtx3):
            cases.append(("--format h5ad on an MTX directory", mtx3, ["not an HDF5", "is a directory", "not a file"], ["--format", "h5ad"]))
            # barcodes.tsv.gz one line short
            short_bc = os.path.join(w, "short_barcodes")
            shutil.copytree(mtx3, short_bc)
            with gzip.open(os.path.join(mtx3, "barcodes.tsv.gz"), "rt") as f:
                lines = f.readlines()
            with gzip.open(os.path.join(short_bc, "barcodes.tsv.gz"), "wt") as f:
                f.writelines(lines[:-1])
            cases.append(("MTX barcodes.tsv one line short", short_bc, ["mismatch", "1106"], []))
        hg19 = os.path.join(DATA, "pbmc3k/filtered_gene_bc_matrices/hg19")
        if os.path.isdir(hg19):
            trunc = os.path.join(w, "truncated_mtx")
            os.makedirs(trunc)
            for n in ("genes.tsv", "barcodes.tsv"):
                shutil.copy(os.path.join(hg19, n), trunc)
            with open(os.path.join(hg19, "matrix.mtx.gz"), "rb") as f:
                blob = f.read()
            with open(os.path.join(trunc, "matrix.mtx.gz"), "wb") as f:
                f.write(blob[:len(blob) // 2])
            cases.append(("truncated matrix.mtx.gz", trunc, ["truncated", "unexpected end"], []))
        mtx12 = os.path.join(DATA, "scanpy_10x_testdata/1.2.0/filtered_gene_bc_matrices/hg19_chr21")
        if os.path.isdir(mtx12):
            few = os.path.join(w, "too_few_entries")
            shutil.copytree(mtx12, few)
            with open(os.path.join(mtx12, "matrix.mtx")) as f:
                lines = f.readlines()
            with open(os.path.join(few, "matrix.mtx"), "w") as f:
                f.writelines(lines[:-3])
            cases.append(("matrix.mtx with fewer entries than its header says", few, ["truncated", "entries"], []))
        nox = os.path.join(w, "no_x.h5")
        with h5py.File(nox, "w") as h:
            h["Y"] = np.arange(10)
            h.create_group("obs").attrs["encoding-type"] = "dataframe"
        cases.append(("HDF5 file without X", nox, ["neither an X", "no X", "without X", "no matrix"], []))
        small = anndata.AnnData(X=sp.random(10, 5, density=0.5, format="csr", random_state=1, dtype=np.float32),
                                obs=pd.DataFrame(index=["c%d" % i for i in range(10)]),
                                var=pd.DataFrame(index=["g%d" % i for i in range(5)]))
        coo = os.path.join(w, "coo.h5ad")
        small.write_h5ad(coo)
        with h5py.File(coo, "a") as h:
            h["X"].attrs["encoding-type"] = "coo_matrix"
        cases.append(("h5ad with a coo_matrix X", coo, ["coo_matrix"], []))
        bad_shape = os.path.join(w, "bad_shape.h5ad")
        small.write_h5ad(bad_shape)
        with h5py.File(bad_shape, "a") as h:
            h["X"].attrs["shape"] = np.array([11, 5])
        cases.append(("h5ad whose X shape disagrees with obs", bad_shape, ["mismatch", "shape is"], []))
        for name, src, words, extra in cases:
            with self.subTest(name):
                self.bad_convert(name.replace(" ", "_").replace("/", "_"), src, words, *extra)
        # Output that already exists: a dataset directory and a file stay untouched.
        with self.subTest("output exists"):
            good = self.path("bad", "exists", "out.slaf")
            os.makedirs(os.path.dirname(good), exist_ok=True)
            run("convert", self.small_good(w), good, "--quiet", check=0)
            snap = sorted((p, os.path.getsize(p)) for p in glob.glob(os.path.join(good, "**"), recursive=True) if os.path.isfile(p))
            self.bad_convert("exists", self.small_good(w), ["already exists"], out=good)
            snap2 = sorted((p, os.path.getsize(p)) for p in glob.glob(os.path.join(good, "**"), recursive=True) if os.path.isfile(p))
            self.assertEqual(snap, snap2, "the existing dataset changed")
            file_out = self.path("bad", "exists_file", "out.slaf")
            os.makedirs(os.path.dirname(file_out), exist_ok=True)
            with open(file_out, "w") as fh:
                fh.write("keep me")
            self.bad_convert("exists_file", self.small_good(w), ["already exists"], out=file_out)
            with open(file_out) as fh:
                self.assertEqual("keep me", fh.read())

    def small_good(self, w):
        p = os.path.join(w, "good.h5ad")
        if not os.path.exists(p):
            anndata.AnnData(X=sp.csr_matrix(np.arange(12, dtype=np.int32).reshape(4, 3)),
                            obs=pd.DataFrame(index=["a", "b", "c", "d"]), var=pd.DataFrame(index=["x", "y", "z"])).write_h5ad(p)
        return p

    # ---- legacy and unusual layouts, built here; anndata 0.8 reads them as the oracle

    def convert_and_compare(self, name, src, oracle, *extra, export=True):
        f = Failures(name)
        ds = self.path(name + ".slaf")
        rc = None
        with f.stage("convert"):
            rc, _, _ = self.convert(f, src, ds, *extra)
        if rc == 0:
            with f.stage("converted dataset"):
                compare_dataset(f, oracle, ds)
            if export:
                out = self.path(name + ".export.h5ad")
                with f.stage("export --to h5ad"):
                    run("export", ds, out, "--to", "h5ad", "--quiet", check=0)
                    compare_export_h5ad(f, oracle, out)
        if f.items:
            self.fail(f.report())
        return ds

    def test_legacy_pre07_compound_dataframes(self):
        """obs/var as compound datasets (first field = index), categoricals as codes + uns/<col>_categories."""
        p = self.path("legacy_pre07.h5ad")
        rng = np.random.default_rng(5)
        n_obs, n_var = 40, 12
        x = rng.poisson(0.7, size=(n_obs, n_var)).astype(np.float32)
        obs = np.zeros(n_obs, dtype=[("index", "S8"), ("louvain", "<i4"), ("n_genes", "<i8"), ("percent_mito", "<f4"), ("batch", "i1")])
        obs["index"] = [b"cell%03d" % i for i in range(n_obs)]
        obs["louvain"] = rng.integers(0, 3, n_obs)
        obs["n_genes"] = (x > 0).sum(axis=1)
        obs["percent_mito"] = rng.random(n_obs).astype(np.float32)
        obs["batch"] = rng.integers(0, 2, n_obs)
        var = np.zeros(n_var, dtype=[("symbol", "S10"), ("gene_ids", "S15"), ("highly_variable", "?")])
        var["symbol"] = [b"GENE%d" % i for i in range(n_var)]
        var["gene_ids"] = [b"ENSG%011d" % i for i in range(n_var)]
        var["highly_variable"] = rng.random(n_var) < 0.5
        with h5py.File(p, "w") as h:
            h.create_dataset("X", data=x)
            h.create_dataset("obs", data=obs)
            h.create_dataset("var", data=var)
            h.create_dataset("uns/louvain_categories", data=np.array([b"B cells", b"T cells", b"NK"]))
            h.create_dataset("uns/batch_categories", data=np.array([b"ctrl", b"stim"]))
            h.create_dataset("uns/title", data="legacy file")
            h.create_dataset("obsm/X_pca", data=rng.standard_normal((n_obs, 3)).astype(np.float32))
        a = anndata.read_h5ad(p)
        self.assertEqual("category", str(a.obs["louvain"].dtype), "oracle: anndata did not read louvain as categorical")
        self.assertEqual(("index", "symbol"), (a.obs.index.name, a.var.index.name))
        o = oracle_from_anndata(a, p)
        # obs: the field "index" is anndata's unnamed index; var: a named one.
        self.assertEqual(["cell_id", "louvain", "n_genes", "percent_mito", "batch"], [n for n, _ in o.obs.columns])
        self.assertEqual(["symbol", "gene_ids", "highly_variable"], [n for n, _ in o.var.columns])
        self.assertEqual(["B cells", "T cells", "NK"], dict(o.obs.columns)["louvain"].categories)
        self.convert_and_compare("legacy_pre07", p, o)

    def test_legacy_07_categorical_references(self):
        """anndata 0.7 dataframes: categorical codes with an object-reference attribute to obs/__categories/<col>."""
        p = self.path("legacy_07.h5ad")
        rng = np.random.default_rng(7)
        n_obs, n_var = 30, 9
        x = sp.random(n_obs, n_var, density=0.4, format="csr", random_state=3)
        x.data = np.ceil(x.data * 20).astype(np.float32)
        s = h5py.string_dtype()
        with h5py.File(p, "w") as h:
            h.attrs["encoding-type"] = "anndata"
            h.attrs["encoding-version"] = "0.1.0"
            g = h.create_group("X")
            g.attrs["encoding-type"] = "csr_matrix"
            g.attrs["encoding-version"] = "0.1.0"
            g.attrs["shape"] = np.array(x.shape)
            g["data"], g["indices"], g["indptr"] = x.data, x.indices, x.indptr
            obs = h.create_group("obs")
            obs.attrs["encoding-type"] = "dataframe"
            obs.attrs["encoding-version"] = "0.1.0"
            obs.attrs["_index"] = "barcode"
            obs.attrs["column-order"] = np.array(["cell_type", "n_counts", "is_doublet", "sample"], dtype=object)
            obs.create_dataset("barcode", data=np.array(["AAAC-%d" % i for i in range(n_obs)], dtype=object), dtype=s)
            cats = obs.create_dataset("__categories/cell_type", data=np.array(["T", "B", "NK", "Mono"], dtype=object), dtype=s)
            codes = rng.integers(0, 4, n_obs).astype(np.int8)
            codes[[2, 9]] = -1  # nulls
            obs.create_dataset("cell_type", data=codes)
            obs["cell_type"].attrs["categories"] = cats.ref
            cats2 = obs.create_dataset("__categories/sample", data=np.array(["s2", "s1"], dtype=object), dtype=s)
            obs.create_dataset("sample", data=rng.integers(0, 2, n_obs).astype(np.int8))
            obs["sample"].attrs["categories"] = cats2.ref
            obs.create_dataset("n_counts", data=np.asarray(x.sum(axis=1)).ravel().astype(np.float32))
            obs.create_dataset("is_doublet", data=rng.random(n_obs) < 0.2)
            var = h.create_group("var")
            var.attrs["encoding-type"] = "dataframe"
            var.attrs["encoding-version"] = "0.1.0"
            var.attrs["_index"] = "_index"
            var.attrs["column-order"] = np.array(["gene_symbols"], dtype=object)
            var.create_dataset("_index", data=np.array(["ENSG%d" % i for i in range(n_var)], dtype=object), dtype=s)
            var.create_dataset("gene_symbols", data=np.array(["SYM%d" % i for i in range(n_var)], dtype=object), dtype=s)
        a = anndata.read_h5ad(p)
        self.assertEqual("category", str(a.obs["cell_type"].dtype), "oracle: anndata did not read cell_type as categorical")
        self.assertEqual(2, int(a.obs["cell_type"].isna().sum()))
        o = oracle_from_anndata(a, p)
        self.assertEqual("barcode", o.obs.index)
        self.assertEqual(["T", "B", "NK", "Mono"], dict(o.obs.columns)["cell_type"].categories)
        self.convert_and_compare("legacy_07", p, o)

    def test_modern_column_kinds(self):
        """anndata 0.8 encodings the shared files lack: nullable int/bool, categoricals with nulls and
        numeric categories, string columns, layers (dense, float), integer and float obsm/varm, uns kinds."""
        p = self.path("columns.h5ad")
        rng = np.random.default_rng(11)
        n_obs, n_var = 50, 20
        x = sp.random(n_obs, n_var, density=0.3, format="csr", random_state=9, dtype=np.float64)
        x.data = np.round(x.data * 50)  # integers stored as float64
        x.data[[0, 17]] = 0  # stored zeros, which the converter drops
        obs = pd.DataFrame(index=pd.Index(["c%02d" % i for i in range(n_obs)], name="barcodes"))
        obs["kind"] = pd.Categorical.from_codes(rng.integers(-1, 3, n_obs), ["alpha", "beta", "gamma"])
        obs["cluster"] = pd.Categorical.from_codes(rng.integers(0, 3, n_obs), [10, 2, 33])
        obs["count"] = pd.array([None if i % 7 == 0 else int(i * 1000003) for i in range(n_obs)], dtype="Int64")
        obs["flag"] = pd.array([None if i % 5 == 0 else bool(i % 2) for i in range(n_obs)], dtype="boolean")
        obs["plain_bool"] = rng.random(n_obs) < 0.5
        obs["big"] = rng.integers(-2 ** 62, 2 ** 62, n_obs)
        obs["u8"] = rng.integers(0, 255, n_obs).astype(np.uint8)
        score = rng.standard_normal(n_obs)
        score[3] = np.nan
        obs["score"] = score
        obs["note"] = ["n%d é" % i for i in range(n_obs)]
        var = pd.DataFrame(index=["G%d" % i for i in range(n_var)])
        var["mean"] = rng.random(n_var).astype(np.float32)
        a = anndata.AnnData(X=x, obs=obs, var=var, dtype=np.float64)
        a.layers["dense_float"] = rng.standard_normal((n_obs, n_var)).astype(np.float32)
        a.layers["counts_int"] = sp.csr_matrix(rng.poisson(0.4, (n_obs, n_var)).astype(np.int64))
        a.obsm["X_int"] = rng.integers(0, 9, (n_obs, 2))
        a.obsm["X_f32"] = rng.standard_normal((n_obs, 4)).astype(np.float32)
        a.varm["loadings"] = rng.standard_normal((n_var, 3))
        a.uns["title"] = "my data"
        a.uns["n"] = 42
        a.uns["neg"] = -7
        a.uns["ratio"] = 0.125
        a.uns["ok"] = True
        a.uns["colors"] = np.array(["#ff0000", "#00ff00"], dtype=object)
        a.uns["ints"] = np.array([1, -2, 3])
        a.uns["nested"] = {"params": {"k": 15, "method": "umap", "weights": np.array([0.5, 1.5])}}
        a.write_h5ad(p)
        b = anndata.read_h5ad(p)
        self.assertEqual("Int64", str(b.obs["count"].dtype), "oracle: anndata did not write a nullable integer")
        with h5py.File(p, "r") as h:
            self.assertGreaterEqual(int((h["X/data"][()] == 0).sum()), 2, "the file should hold stored zeros")
        o = oracle_from_anndata(b, p)
        self.assertEqual("uint32", o.value_type)
        self.convert_and_compare("modern_columns", p, o)

    def test_csc_x_and_unordered_mtx_through_the_external_sort(self):
        """Gene-major input goes through the external sort: a CSC X and a shuffled MTX file of 2 M
        entries with --memory 16 (the minimum) make it spill; the spill directory (--tmp) ends empty."""
        rng = np.random.default_rng(13)
        n_obs, n_var = 13400, 1500  # 2 M entries of 16 bytes: 32 MiB to sort in 16
        mask = rng.random((n_obs, n_var), dtype=np.float32) < 0.1
        x = sp.csc_matrix(mask.astype(np.int32))
        del mask
        x.data = rng.integers(1, 1000, x.nnz).astype(np.int32)
        self.assertGreater(x.nnz, 1900000)
        exp, vt = normalise_matrix(x)  # the oracle is the generated matrix itself
        spill = self.path("spill")
        os.makedirs(spill)
        obs = pd.DataFrame(index=["cell%d" % i for i in range(n_obs)])
        var = pd.DataFrame(index=["gene%d" % i for i in range(n_var)])

        def check(name, src, fmt):
            f = Failures(name)
            ds = self.path(name + ".slaf")
            rc, _, _ = self.convert(f, src, ds, "--memory", "16", "--tmp", spill)
            f.eq("spill directory empty after convert", [], os.listdir(spill))
            if rc == 0:
                m = manifest(ds)
                f.eq("X value_type", vt, m["X"]["value_type"])
                compare_matrix(f, "X", exp, decode_matrix(ds, m, m["X"]))
                obs_t, var_t = dict(decode_table(ds, m, "obs").columns), dict(decode_table(ds, m, "var").columns)
                compare_values(f, "obs index", list(obs.index), obs_t[m["obs"]["index"]].values)
                compare_values(f, "var index", list(var.index), var_t[m["var"]["index"]].values)
            shutil.rmtree(ds, ignore_errors=True)
            if f.items:
                self.fail(f.report())

        p = self.path("csc.h5ad")
        anndata.AnnData(X=x, obs=obs, var=var, dtype=np.int32).write_h5ad(p)
        with h5py.File(p, "r") as h:
            self.assertEqual("csc_matrix", h["X"].attrs["encoding-type"])
        check("csc_x_spilled", p, "h5ad")
        os.remove(p)

        d = self.path("unordered_mtx")
        os.makedirs(d)
        coo = x.tocoo()  # genes x cells in the file: row = gene, column = cell
        order = rng.permutation(coo.nnz)
        body = pd.DataFrame({"g": coo.col[order] + 1, "c": coo.row[order] + 1, "v": coo.data[order]})
        with open(os.path.join(d, "matrix.mtx"), "w") as fh:
            fh.write("%%%%MatrixMarket matrix coordinate integer general\n%%\n%d %d %d\n" % (n_var, n_obs, coo.nnz))
            body.to_csv(fh, sep=" ", header=False, index=False)
        del body
        with open(os.path.join(d, "genes.tsv"), "w") as fh:
            fh.writelines("%s\tSYM%d\n" % (g, i) for i, g in enumerate(var.index))
        with open(os.path.join(d, "barcodes.tsv"), "w") as fh:
            fh.writelines(c + "\n" for c in obs.index)
        check("unordered_mtx_spilled", d, "mtx")

    def test_csc_float_x(self):
        """A CSC X of non-integer values (float32, stored bit for bit)."""
        rng = np.random.default_rng(3)
        x = sp.random(500, 300, density=0.2, format="csc", random_state=4, dtype=np.float32)
        x.data = (rng.standard_normal(x.nnz) * 10).astype(np.float32)
        p = self.path("csc_float.h5ad")
        anndata.AnnData(X=x, obs=pd.DataFrame(index=["c%d" % i for i in range(500)]),
                        var=pd.DataFrame(index=["g%d" % i for i in range(300)]), dtype=np.float32).write_h5ad(p)
        o = oracle_from_anndata(anndata.read_h5ad(p), p)
        self.assertEqual("float32", o.value_type)
        self.convert_and_compare("csc_float", p, o)

    def test_mtx_not_in_cell_order(self):
        """A small MTX file whose entries are shuffled (not cell by cell), gzip and plain."""
        src = os.path.join(DATA, "scanpy_10x_testdata/3.0.0/filtered_feature_bc_matrix")
        if not os.path.isdir(src):
            self.skipTest("scanpy_10x_testdata 3.0.0 MTX is missing")
        with gzip.open(os.path.join(src, "matrix.mtx.gz"), "rt") as f:
            lines = f.readlines()
        head = 0
        while lines[head].startswith("%"):
            head += 1
        entries = lines[head + 1:]
        random.Random(17).shuffle(entries)
        o = oracle_from_mtx(src)
        for gz in (True, False):
            d = self.path("shuffled_mtx_" + ("gz" if gz else "plain"))
            os.makedirs(d)
            for n in ("features.tsv.gz", "barcodes.tsv.gz"):
                shutil.copy(os.path.join(src, n), d)
            opener = gzip.open if gz else open
            with opener(os.path.join(d, "matrix.mtx.gz" if gz else "matrix.mtx"), "wt") as f:
                f.writelines(lines[:head + 1] + entries)
            o_shuffled = oracle_from_mtx(d)  # scipy reads the shuffled file
            f0 = Failures("oracle of the shuffled file")
            compare_matrix(f0, "X", o.X, o_shuffled.X)
            self.assertEqual([], f0.items, f0.report())
            self.convert_and_compare("shuffled_mtx_" + ("gz" if gz else "plain"), d, o_shuffled)

    def test_multiple_genomes_one_genome(self):
        """--genome NAME takes one genome of a multi-genome 10x v2 file."""
        src = os.path.join(DATA, "scanpy_10x_testdata/1.2.0/multiple_genomes.h5")
        if not os.path.exists(src):
            self.skipTest("multiple_genomes.h5 is missing")
        with h5py.File(src, "r") as h:
            g = h["another_genome"]
            n_genes, n_cells = (int(v) for v in g["shape"][()])
            x = sp.csc_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=(n_genes, n_cells)).T
            ids = [dec(v) for v in g["genes"][()]]
            barcodes = [dec(v) for v in g["barcodes"][()]]
        f = Failures("multiple_genomes --genome another_genome")
        ds = self.path("one_genome.slaf")
        rc, _, _ = self.convert(f, src, ds, "--genome", "another_genome")
        if rc == 0:
            m = manifest(ds)
            exp, _ = normalise_matrix(x)
            compare_matrix(f, "X", exp, decode_matrix(ds, m, m["X"]))
            var = dict(decode_table(ds, m, "var").columns)
            compare_values(f, "var gene_id", ids, var["gene_id"].values if "gene_id" in var else [])
            compare_values(f, "obs cell_id", barcodes, dict(decode_table(ds, m, "obs").columns)["cell_id"].values)
        rc, _, err = run("convert", src, self.path("no_genome.slaf"), "--genome", "no_such_genome")
        if rc != 1 or "no_such_genome" not in err:
            f.fail("--genome no_such_genome: exit 1 with a message naming it", "1, message with no_such_genome", (rc, err[-300:]))
        if f.items:
            self.fail(f.report())


def add_dataset_tests():
    for name, rel, kind, facts, notes in DATASETS:
        def t(self, name=name, rel=rel, kind=kind, facts=facts, notes=notes):
            self.check_dataset(name, rel, kind, facts, notes)
        t.__doc__ = "%s (%s): convert, compare with the oracle, export h5ad%s" % (
            rel, kind, " and MTX" if kind in ("mtx", "10x-h5") or name in MTX_EXPORT_TOO else "")
        setattr(InteropTest, "test_dataset_" + name.replace(".", "_").replace("-", "_"), t)


add_dataset_tests()


def main():
    global SLAF, DATA
    if len(sys.argv) < 3:
        sys.stderr.write("usage: interop_test.py PATH/TO/slaf PATH/TO/shared/data [unittest args]\n")
        return 64
    SLAF = os.path.abspath(sys.argv[1])
    DATA = os.path.abspath(sys.argv[2])
    if not os.path.isdir(DATA):
        sys.stderr.write("interop_test: SKIPPED: shared data directory %s does not exist\n" % DATA)
        return SKIP
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[3:], exit=False, verbosity=2, warnings="ignore")
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
