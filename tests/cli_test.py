#!/usr/bin/python3
"""End-to-end tests of the `slaf` command-line tool over datasets.

Usage: cli_test.py PATH/TO/slaf

The oracle is independent of the C++ library: manifests are parsed with the
json module, segments are decoded with format-spec/reference/read_seg.py and
table files with format-spec/reference/read_tbl.py (both written from the
spec only). Every command's output is checked against that reading.
"""

import csv
import glob
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "format-spec", "reference"))
import read_seg  # noqa: E402
import read_tbl  # noqa: E402

SLAF = None  # set in main
N_CELLS, N_GENES = 3000, 2000
COMMANDS = ["generate", "info", "versions", "verify", "append", "vacuum", "cells", "filter", "scan", "query"]


def run(*args, check=None):
    """Runs slaf; returns (exit status, stdout, stderr)."""
    p = subprocess.run([SLAF] + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    if check is not None and p.returncode != check:
        raise AssertionError("slaf %s: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), p.returncode, check, p.stdout[-2000:], p.stderr[-2000:]))
    return p.returncode, p.stdout, p.stderr


# --- the independent oracle --------------------------------------------------------

def manifest(ds, version=None):
    """The manifest of `version` (default: the highest), parsed with json."""
    keys = sorted(glob.glob(os.path.join(ds, "_versions", "[0-9]" * 20 + ".json")))
    assert keys, "no manifests in " + ds
    path = keys[-1] if version is None else os.path.join(ds, "_versions", "%020d.json" % version)
    with open(path, "rb") as f:
        return json.load(f)


def decode_matrix(ds, m, layer=None):
    """X (or a layer) of manifest m as a scipy CSR matrix, decoded by read_seg.py."""
    n_cells, n_genes = m["shape"]
    entry = m["X"] if layer is None else m["layers"][layer]
    parts = []
    next_cell = 0
    for s in entry["segments"]:
        assert s["first_cell"] == next_cell
        seg = read_seg.read_segment(os.path.join(ds, s["path"]))
        assert seg.n_rows == s["n_cells"] and seg.n_cols == n_genes and seg.nnz == s["nnz"]
        parts.append(sp.csr_matrix((seg.values.astype(np.float64), seg.indices.astype(np.int64), seg.indptr.astype(np.int64)),
                                   shape=(seg.n_rows, n_genes)))
        next_cell += s["n_cells"]
    assert next_cell == n_cells
    if not parts:
        return sp.csr_matrix((0, n_genes))
    return sp.vstack(parts).tocsr()


_tables = {}


def read_table_file(path):
    if path not in _tables:
        _tables[path] = read_tbl.read_table(path)
    return _tables[path]


def decode_table(ds, m, which):
    """obs or var of manifest m: {column: (type, list of values)}, categoricals as strings."""
    t = m[which]
    out = {}
    for col in t["columns"]:
        values = []
        for fi in col["files"]:
            f = t["files"][fi]
            tf = read_table_file(os.path.join(ds, f["path"]))
            (c,) = [c for c in tf.columns if c.name.decode() == col["name"]]
            assert c.type == col["type"]
            if c.type == "categorical":
                cats = [x.decode() for x in c.categories]
                assert set(cats) <= set(col["categories"])
                values.extend(None if v is None else cats[v] for v in c.values)
            elif c.type == "string":
                values.extend(None if v is None else v.decode() for v in c.values)
            else:
                values.extend(c.values)
        assert len(values) == t["n_rows"]
        out[col["name"]] = (col["type"], values)
    return out


def data_files(m):
    files = [s for s in m["X"]["segments"]]
    for layer in m["layers"].values():
        files += layer["segments"]
    # Gene-major copies (format-spec §9.9, dataset format 1.1).
    for matrix in [m["X"]] + list(m["layers"].values()):
        files += matrix.get("gene_index", {}).get("segments", [])
    files += m["obs"]["files"] + m["var"]["files"]
    files += list(m["obsm"].values()) + list(m["varm"].values())
    return files


def parse_cells(text):
    """`slaf cells` output -> [(cell name, row, {gene: value})]."""
    out = []
    for line in text.splitlines():
        head, _, pairs = line.partition("):")
        name, _, rest = head.partition(" (row ")
        row = int(rest.split(",")[0])
        values = {}
        for pair in pairs.split():
            gene, _, v = pair.rpartition(":")
            values[gene] = float(v)
        count = int(rest.split(", ")[1].split()[0])
        assert count == len(values), line[:200]
        out.append((name, row, values))
    return out


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="slaf-cli-test-")
        cls.ds = os.path.join(cls.tmp, "base.slaf")
        # The appended source shares the genes (same seed: gene names follow
        # the seed's gene weights) but not the cells (other density, size).
        cls.src = os.path.join(cls.tmp, "src.slaf")
        run("generate", cls.ds, "--cells", N_CELLS, "--genes", N_GENES, "--density", 0.05, "--seed", 7, "--quiet", check=0)
        run("generate", cls.src, "--cells", 1000, "--genes", N_GENES, "--density", 0.03, "--seed", 7, "--gene-order", "frequency",
            "--chunk-bytes", 4096, check=0)
        cls.m = manifest(cls.ds)
        cls.x = decode_matrix(cls.ds, cls.m)
        cls.obs = decode_table(cls.ds, cls.m, "obs")
        cls.var = decode_table(cls.ds, cls.m, "var")
        cls.genes = cls.var["gene_id"][1]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def copy(self, name):
        dst = os.path.join(self.tmp, name)
        shutil.copytree(self.ds, dst)
        return dst

    def info(self, ds, *extra):
        return json.loads(run("info", ds, "--json", *extra, check=0)[1])

    # ---- oracle sanity: the generator's obs agree with X

    def test_oracle_obs_matches_matrix(self):
        x = self.x
        np.testing.assert_array_equal(np.asarray(x.sum(axis=1)).ravel(), np.array(self.obs["total_counts"][1], dtype=np.float64))
        np.testing.assert_array_equal(np.diff(x.indptr), np.array(self.obs["n_genes_by_counts"][1]))
        self.assertEqual(self.obs["cell_id"][1][17], "cell_0000017")

    # ---- generate

    def test_generate_summary_and_refusal(self):
        out = os.path.join(self.tmp, "gen.slaf")
        rc, stdout, _ = run("generate", out, "--cells", 100, "--genes", 50, "--seed", 3, check=0)
        m = manifest(out)
        x = decode_matrix(out, m)
        self.assertEqual(m["shape"], [100, 50])
        self.assertIn("100 cells x 50 genes, nnz %d" % x.nnz, stdout)
        size = sum(os.path.getsize(os.path.join(out, f["path"])) for f in data_files(m))
        self.assertIn("%d bytes on disk" % size, stdout)
        self.assertIn("version 1", stdout)
        self.assertEqual(stdout.count("\n"), 1)
        rc, _, err = run("generate", out, "--cells", 10, check=1)
        self.assertIn("already holds a dataset", err)
        self.assertEqual(len(glob.glob(os.path.join(out, "_versions", "*.json"))), 1)

    # ---- info, versions

    def test_info_json(self):
        j = self.info(self.ds)
        m, x = self.m, self.x
        self.assertEqual((j["n_cells"], j["n_genes"]), (N_CELLS, N_GENES))
        self.assertEqual(j["nnz"], x.nnz)
        self.assertEqual(j["value_type"], "uint32")
        self.assertEqual((j["version"], j["latest_version"], j["operation"]), (1, 1, m["operation"]))
        self.assertEqual(j["timestamp_ms"], m["timestamp_ms"])
        files = data_files(m)
        self.assertEqual(j["files"], len(files))
        self.assertEqual(j["bytes_on_disk"], sum(os.path.getsize(os.path.join(self.ds, f["path"])) for f in files))
        x_bytes = sum(os.path.getsize(os.path.join(self.ds, s["path"])) for s in m["X"]["segments"])
        self.assertEqual(j["x_bytes"], x_bytes)
        self.assertAlmostEqual(j["x_bytes_per_nnz"], x_bytes / x.nnz)
        self.assertEqual(j["segments"], len(m["X"]["segments"]))
        chunks = sum(len(read_seg.read_segment(os.path.join(self.ds, s["path"])).chunks) for s in m["X"]["segments"])
        self.assertEqual(j["chunks"], chunks)
        for which, oracle in (("obs", self.obs), ("var", self.var)):
            cols = j[which]["columns"]
            self.assertEqual([c["name"] for c in cols], list(oracle))
            self.assertEqual(j[which]["n_rows"], N_CELLS if which == "obs" else N_GENES)
            for c in cols:
                typ, values = oracle[c["name"]]
                self.assertEqual(c["type"], typ)
                self.assertEqual(c["null_count"], sum(v is None for v in values))
                if typ == "categorical":
                    mc = [mc for mc in m[which]["columns"] if mc["name"] == c["name"]][0]
                    self.assertEqual(c["categories"], mc["categories"])
                    self.assertEqual(c["n_categories"], len(mc["categories"]))
        self.assertEqual(j["obs"]["index"], "cell_id")
        self.assertEqual(j["var"]["index"], "gene_id")
        self.assertEqual((j["layers"], j["obsm"], j["varm"]), ({}, {}, {}))
        self.assertEqual(j["uns"], m["uns"])

    def test_info_text_and_versions(self):
        _, out, _ = run("info", self.ds, check=0)
        self.assertIn("%d cells x %d genes, uint32" % (N_CELLS, N_GENES), out)
        self.assertIn("cell_type", out)
        _, out, _ = run("versions", self.ds, check=0)
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[1].split()[0] == "1" and "%d x %d" % (N_CELLS, N_GENES) in lines[1])
        j = json.loads(run("versions", self.ds, "--json", check=0)[1])
        self.assertEqual([v["version"] for v in j["versions"]], [1])
        self.assertEqual(j["versions"][0]["nnz"], self.x.nnz)

    # ---- scan, cells, filter

    def test_scan(self):
        _, out, _ = run("scan", self.ds, check=0)
        self.assertIn("%d cells, nnz %d, sum %d," % (N_CELLS, self.x.nnz, int(self.x.sum())), out)

    def test_cells_by_name_and_row(self):
        rows = [0, 17, 1234, N_CELLS - 1, 17]
        names = [self.obs["cell_id"][1][r] for r in rows]
        _, out, _ = run("cells", self.ds, *names, check=0)
        got = parse_cells(out)
        self.assertEqual(len(got), len(rows))
        for (name, row, values), r in zip(got, rows):
            self.assertEqual((name, row), (self.obs["cell_id"][1][r], r))
            xr = self.x.getrow(r)
            self.assertEqual(values, {self.genes[g]: v for g, v in zip(xr.indices, xr.data)})
        _, out2, _ = run("cells", self.ds, "--rows", *rows, check=0)
        self.assertEqual(out2, out)

    def test_cells_gene_subset(self):
        r = 42
        xr = self.x.getrow(r).toarray().ravel()
        nz, zero = np.flatnonzero(xr), np.flatnonzero(xr == 0)
        pick = [int(nz[3]), int(zero[0]), int(nz[0]), int(nz[-1])]
        _, out, _ = run("cells", self.ds, r, "--rows", "--genes", ",".join(self.genes[g] for g in pick), check=0)
        ((_, row, values),) = parse_cells(out)
        self.assertEqual(row, r)
        self.assertEqual(values, {self.genes[g]: xr[g] for g in pick if xr[g] != 0})
        self.assertEqual(run("cells", self.ds, "no_such_cell", check=1)[2].count("no_such_cell"), 1)
        self.assertIn("NOPE", run("cells", self.ds, "--rows", 1, "--genes", "NOPE", check=1)[2])

    def test_filter_counts(self):
        o = {k: np.array(v[1], dtype=object) for k, v in self.obs.items()}
        tc = o["total_counts"].astype(np.int64)
        pct = o["pct_counts_mt"].astype(np.float64)
        cases = [
            ("cell_type = 'B_cell' and total_counts > 300", (o["cell_type"] == "B_cell") & (tc > 300)),
            ("batch in ('batch_0', 'batch_2') or pct_counts_mt < 10", np.isin(o["batch"], ["batch_0", "batch_2"]) | (pct < 10)),
            ("not (leiden = '3') and n_genes_by_counts >= 150", (o["leiden"] != "3") & (o["n_genes_by_counts"].astype(np.int64) >= 150)),
        ]
        for expr, mask in cases:
            self.assertGreater(mask.sum(), 0, expr)
            _, out, _ = run("filter", self.ds, expr, "--count", check=0)
            self.assertEqual(int(out), int(mask.sum()), expr)
        v = {k: np.array(val[1], dtype=object) for k, val in self.var.items()}
        _, out, _ = run("filter", self.ds, "highly_variable = true and mt = false", "--genes", "--count", check=0)
        self.assertEqual(int(out), int(((v["highly_variable"] == 1) & (v["mt"] == 0)).sum()))

    def test_filter_rows_csv_and_table(self):
        expr = "cell_type = 'NK' and total_counts > 250"
        _, out, _ = run("filter", self.ds, expr, "--format", "csv", "--columns", "total_counts,pct_counts_mt,cell_type", check=0)
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(rows[0], ["cell_id", "total_counts", "pct_counts_mt", "cell_type"])
        o = self.obs
        want = [i for i in range(N_CELLS) if o["cell_type"][1][i] == "NK" and o["total_counts"][1][i] > 250]
        self.assertEqual(len(rows) - 1, len(want))
        for row, i in zip(rows[1:], want):
            self.assertEqual(row, [o["cell_id"][1][i], str(o["total_counts"][1][i]), row[2], "NK"])
            self.assertEqual(float(row[2]), o["pct_counts_mt"][1][i])  # shortest round-trip text
        _, out, _ = run("filter", self.ds, expr, "--limit", 3, check=0)
        lines = out.strip().splitlines()
        self.assertEqual(lines[0].split(), list(o))  # all columns, index first
        self.assertEqual([ln.split()[0] for ln in lines[1:4]], [o["cell_id"][1][i] for i in want[:3]])
        self.assertIn("3 of %d matching cells" % len(want), lines[4])

    # ---- query (the language itself: tests/sql_diff_test.py against SQLite)

    def test_query_formats_file_stdin_and_errors(self):
        sql = "SELECT cell_type, COUNT(*) AS n, SUM(total_counts) AS umis FROM cells GROUP BY cell_type ORDER BY n DESC, cell_type"
        o = self.obs
        want = {}
        for t, c in zip(o["cell_type"][1], o["total_counts"][1]):
            n, u = want.get(t, (0, 0))
            want[t] = (n + 1, u + c)
        want_rows = sorted(([t, n, u] for t, (n, u) in want.items()), key=lambda r: (-r[1], r[0]))
        _, out, _ = run("query", self.ds, sql, "--format", "json", check=0)
        j = json.loads(out)
        self.assertEqual([c["name"] for c in j["columns"]], ["cell_type", "n", "umis"])
        self.assertEqual([c["type"] for c in j["columns"]], ["string", "int64", "int64"])
        self.assertEqual(j["rows"], want_rows)
        _, out, _ = run("query", self.ds, sql, "--format", "csv", check=0)
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(rows[0], ["cell_type", "n", "umis"])
        self.assertEqual(rows[1:], [[t, str(n), str(u)] for t, n, u in want_rows])
        _, out, _ = run("query", self.ds, sql, check=0)  # aligned table
        self.assertEqual(out.splitlines()[0].split(), ["cell_type", "n", "umis"])
        self.assertIn("(%d rows)" % len(want_rows), out)
        # SQL from a file and from stdin.
        path = os.path.join(self.tmp, "q.sql")
        with open(path, "w") as f:
            f.write("-- per cell type\n" + sql + ";\n")
        self.assertEqual(json.loads(run("query", self.ds, "--file", path, "--format", "json", check=0)[1])["rows"], want_rows)
        p = subprocess.run([SLAF, "query", self.ds, "-", "--format", "json"], input=sql, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["rows"], want_rows)
        # One cell's nonzeros, with the plan: the id is pushed into the scan.
        _, out, _ = run("query", self.ds, "SELECT gene_integer_id, value FROM expression WHERE cell_integer_id = 17 ORDER BY 1",
                        "--explain", check=0)
        self.assertIn("pushed: WHERE cell_integer_id = 17", out)
        row = self.x[17]
        self.assertIn("(%d rows)" % row.nnz, out)
        # Errors: position, caret, exit 1; usage errors exit 2.
        rc, _, err = run("query", self.ds, "SELECT cell_typo\nFROM cells", check=1)
        self.assertIn("SQL error at 1:8: unknown column 'cell_typo'; did you mean 'cell_type'?", err)
        self.assertIn("  SELECT cell_typo\n         ^", err)
        rc, _, err = run("query", self.ds, "SELECT 1 FROM cells WHERE", check=1)
        self.assertIn("SQL error at 1:26: expected an expression", err)
        run("query", self.ds, "SELECT 1", "--format", "xml", check=2)
        run("query", self.ds, check=2)
        rc, _, err = run("query", os.path.join(self.tmp, "missing.slaf"), "SELECT 1", check=1)

    # ---- append

    def test_append(self):
        ds = self.copy("append.slaf")
        sm = manifest(self.src)
        sx = decode_matrix(self.src, sm)
        sobs = decode_table(self.src, sm, "obs")
        _, out, err = run("append", ds, self.src, "--quiet", check=0)
        self.assertIn("version 2 with %d cells" % (N_CELLS + 1000), out)
        self.assertIn("already exist", err)  # both generated datasets name cells cell_0000000...
        j = json.loads(run("versions", ds, "--json", check=0)[1])["versions"]
        self.assertEqual([(v["version"], v["n_cells"]) for v in j], [(1, N_CELLS), (2, N_CELLS + 1000)])
        self.assertEqual(j[1]["nnz"], self.x.nnz + sx.nnz)
        self.assertEqual(j[1]["operation"], "append")
        self.assertEqual(self.info(ds)["n_cells"], N_CELLS + 1000)
        old = self.info(ds, "--version", 1)
        self.assertEqual((old["n_cells"], old["nnz"], old["version"], old["latest_version"]), (N_CELLS, self.x.nnz, 1, 2))
        m2 = manifest(ds, 2)
        x2 = decode_matrix(ds, m2)
        self.assertEqual((x2[:N_CELLS] != self.x).nnz, 0)
        self.assertEqual((x2[N_CELLS:] != sx).nnz, 0)
        obs2 = decode_table(ds, m2, "obs")
        for name, (typ, values) in sobs.items():
            self.assertEqual(obs2[name][1][N_CELLS:], values, name)
            self.assertEqual(obs2[name][1][:N_CELLS], self.obs[name][1], name)
        # The CLI reads the appended rows, and time travel still sees version 1.
        _, out, _ = run("cells", ds, "--rows", N_CELLS + 5, check=0)
        ((_, _, values),) = parse_cells(out)
        xr = sx.getrow(5)
        self.assertEqual(values, {self.genes[g]: v for g, v in zip(xr.indices, xr.data)})
        _, out, _ = run("scan", ds, check=0)
        self.assertIn("nnz %d, sum %d," % (x2.nnz, int(x2.sum())), out)
        expr = "total_counts > 100"
        n_old = int(run("filter", ds, expr, "--count", "--version", 1, check=0)[1])
        n_new = int(run("filter", ds, expr, "--count", check=0)[1])
        self.assertEqual(n_old, sum(v > 100 for v in self.obs["total_counts"][1]))
        self.assertEqual(n_new, n_old + sum(v > 100 for v in sobs["total_counts"][1]))
        # --cell-id-prefix keeps names distinct.
        _, out, err = run("append", ds, self.src, "--cell-id-prefix", "b_", check=0)
        self.assertNotIn("already exist", err)
        ((name, row, _),) = parse_cells(run("cells", ds, "b_cell_0000009", check=0)[1])
        self.assertEqual((name, row), ("b_cell_0000009", N_CELLS + 1000 + 9))
        run("verify", ds, check=0)

    def test_concurrent_appends_rebase(self):
        ds = self.copy("concurrent.slaf")
        procs = [subprocess.Popen([SLAF, "append", ds, self.src, "--quiet", "--cell-id-prefix", "p%d_" % i],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        j = json.loads(run("versions", ds, "--json", check=0)[1])["versions"]
        self.assertEqual([v["n_cells"] for v in j], [N_CELLS + 1000 * k for k in range(4)])
        names = decode_table(ds, manifest(ds), "obs")["cell_id"][1]
        self.assertEqual(sorted(n[:3] for n in names[N_CELLS::1000]), ["p0_", "p1_", "p2_"])
        run("verify", ds, check=0)

    def test_append_rejects_other_genes(self):
        other = os.path.join(self.tmp, "other_genes.slaf")
        run("generate", other, "--cells", 50, "--genes", N_GENES, "--seed", 8, "--gene-prefix", "OTHER", check=0)
        ogenes = decode_table(other, manifest(other), "var")["gene_id"][1]
        first = next(i for i in range(N_GENES) if ogenes[i] != self.genes[i])
        ds = self.copy("reject.slaf")
        _, _, err = run("append", ds, other, check=1)
        self.assertIn("position %d" % first, err)
        self.assertIn('"%s"' % self.genes[first], err)
        self.assertIn('"%s"' % ogenes[first], err)
        self.assertEqual(len(glob.glob(os.path.join(ds, "_versions", "*.json"))), 1)
        fewer = os.path.join(self.tmp, "fewer_genes.slaf")
        run("generate", fewer, "--cells", 50, "--genes", N_GENES - 1, "--seed", 7, check=0)
        _, _, err = run("append", ds, fewer, check=1)
        self.assertIn("genes differ", err)
        self.assertIn("DATASET has %d genes, SOURCE %d" % (N_GENES, N_GENES - 1), err)

    # ---- verify, vacuum

    def test_verify(self):
        ds = self.copy("verify.slaf")
        _, out, _ = run("verify", ds, check=0)
        self.assertIn("checked %d files" % len(data_files(self.m)), out)
        seg = self.m["X"]["segments"][0]["path"]
        p = os.path.join(ds, seg)
        with open(p, "r+b") as f:
            f.seek(os.path.getsize(p) // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0x10]))
        _, out, err = run("verify", ds, check=1)
        self.assertIn(seg, out)
        self.assertIn("1 damaged or missing file", err)
        tbl = self.m["var"]["files"][0]["path"]
        os.remove(os.path.join(ds, tbl))
        _, out, err = run("verify", ds, check=1)
        self.assertIn(seg, out)
        self.assertIn(tbl, out)
        self.assertIn("2 damaged or missing files", err)

    def test_vacuum(self):
        ds = self.copy("vacuum.slaf")
        old_orphan, young_orphan = os.path.join(ds, "X", "0123456789abcdef.seg"), os.path.join(ds, "obs", "fedcba9876543210.tbl")
        for p in (old_orphan, young_orphan):
            with open(p, "wb") as f:
                f.write(b"x" * 1000)
        past = time.time() - 7200
        os.utime(old_orphan, (past, past))
        _, out, _ = run("vacuum", ds, "--dry-run", check=0)
        self.assertIn("would remove X/0123456789abcdef.seg", out)
        self.assertNotIn("fedcba9876543210", out)
        self.assertIn("1 data files (1000 bytes", out)
        self.assertTrue(os.path.exists(old_orphan))
        _, out, _ = run("vacuum", ds, check=0)
        self.assertIn("removed X/0123456789abcdef.seg", out)
        self.assertFalse(os.path.exists(old_orphan))
        self.assertTrue(os.path.exists(young_orphan))
        _, out, _ = run("vacuum", ds, "--min-age", 0, check=0)
        self.assertFalse(os.path.exists(young_orphan))
        run("verify", ds, check=0)
        # Dropping versions: after an append, --keep-last 1 removes manifest 1.
        run("append", ds, self.src, "--quiet", check=0)
        _, out, _ = run("vacuum", ds, "--keep-last", 1, "--min-age", 0, check=0)
        self.assertIn("removed _versions/%020d.json" % 1, out)
        self.assertEqual([v["version"] for v in json.loads(run("versions", ds, "--json", check=0)[1])["versions"]], [2])
        self.assertIn("version 1 does not exist", run("info", ds, "--version", 1, check=1)[2])
        run("verify", ds, check=0)

    # ---- command-line contract

    def test_help_and_usage_errors(self):
        _, out, _ = run("--help", check=0)
        for c in COMMANDS:
            self.assertIn(c, out)
            _, out_c, _ = run(c, "--help", check=0)
            self.assertTrue(out_c.startswith("usage: slaf " + c), c)
            _, _, err = run(c, self.ds, "--no-such-option", check=2)
            self.assertIn("unknown option --no-such-option", err)
        run(check=2)
        run("frobnicate", check=2)
        run("info", check=2)
        run("info", self.ds, "--version", 0, check=2)
        run("info", self.ds, "--version", 99, check=1)
        run("info", os.path.join(self.tmp, "missing.slaf"), check=1)
        run("filter", self.ds, "total_counts >", check=2)
        self.assertIn("no column", run("filter", self.ds, "nope = 1", "--count", check=1)[2])
        run("cells", self.ds, "--rows", "x1", check=2)
        run("vacuum", self.ds, "--keep-from", 1, "--keep-last", 1, check=2)
        run("generate", os.path.join(self.tmp, "g.slaf"), "--density", 2, check=2)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "g.slaf")))
        run("scan", self.ds, "--layer", "spliced", check=1)


def main():
    global SLAF
    if len(sys.argv) < 2:
        sys.stderr.write("usage: cli_test.py PATH/TO/slaf [unittest args]\n")
        return 64
    SLAF = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
