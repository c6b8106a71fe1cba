#!/usr/bin/python3
"""Differential test of `slaf query` against SQLite on the same rows.

Usage: sql_diff_test.py PATH/TO/slaf [SHARED_DATA_DIR] [--seed S] [--count N]
                        [--pbmc-count N] [--h5-count N] [--small-count N]
                        [--only gen,pbmc,h5,small] [--no-corpus] [--sqlite-only]
                        [--dump FILE] [--keep] [--jobs N] [-v]

Datasets (built in a temporary directory):
  gen   `slaf generate` (3000 cells x 400 genes, 4 KiB chunks: version 1),
        `slaf index` (the gene-major copy: version 2), then `slaf append` of
        600 more generated cells (a second segment the index does not cover:
        version 3). Queried at versions 3, 1 and 2.
  pbmc  the bundled 10x pbmc3k (2,700 x 32,738, 2.3 M nonzeros), converted
        with --gene-index.
  h5    an h5ad written here with anndata: float32 X, layers `counts`
        (uint32), `scaled` (float32, another sparsity pattern) and `offset`
        (X + 1000), obs/var columns of every type with nulls, index columns
        named barcode/symbol, empty cells and genes, awkward strings.
  small (optional) SHARED_DATA_DIR/pbmc_small_h5ad/pbmc-small.h5ad: real
        processed data (float X, negative values, dotted column names).

The oracle is independent of the C++ library: every version's manifest,
segments and tables are decoded with the format-spec reference readers
(tests/dataset_reader.py) and loaded into an in-memory SQLite database with
the same tables (cells, genes, expression, layer_<name>), configured to the
semantics slaf's SQL chose (docs/sql.md): integer division, x/0 -> NULL,
case-sensitive LIKE, sample STDDEV/VARIANCE as two-pass Python aggregates,
LOG/LOG10 as log10; ROUND is SQLite's own, which slaf reproduces.

Queries: a fixed corpus (tests/sql_corpus.sql, with per-dataset placeholders)
and a seeded random generator (QueryGen) of typed queries: projections,
joins (ids, other columns, both orders, comma and JOIN), WHERE trees with
three-valued logic, GROUP BY/HAVING, DISTINCT, ORDER BY + LIMIT/OFFSET, CTEs,
derived tables, UNION ALL, IN (subquery), window functions; SQL text spelled
variously (case, comments, != and ==). Each query runs in one
`slaf query DATASET SQL --format json` process (every fifth with
--threads 1) and in SQLite; results are compared as multisets, or as
sequences when the query has a top-level ORDER BY (the generator makes that
a total order). Integers and strings exactly, bool as 0/1, doubles to 1e-9
relative (1e-12 absolute), NULL = NULL; NaN/inf count as NULL. Also: each
table's columns and types against the manifest, and malformed SQL, unknown
names and type errors (exit 1, "SQL error at LINE:COL").

Exit status: 0 pass, 1 fail (each failing query printed with both results),
77 skip (slaf has no `query` command, or numpy/scipy are missing).
"""

import argparse
import concurrent.futures
import json
import math
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib

try:
    import numpy as np
    import dataset_reader as dr
except ImportError as e:  # pragma: no cover
    print("SKIP: %s" % e)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SLAF = None
DEFAULT_SEED = 20251125


def log(msg=""):
    print(msg, flush=True)


def run_slaf(*args, stdin=None, timeout=300):
    p = subprocess.run([SLAF] + [str(a) for a in args], input=stdin, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_slaf_checked(*args, timeout=300):
    rc, out, err = run_slaf(*args, timeout=timeout)
    if rc != 0:
        raise RuntimeError("slaf %s: exit %d\n%s%s" % (" ".join(map(str, args)), rc, out[-2000:], err[-2000:]))
    return out


# --- SQLite configured like slaf's SQL ---------------------------------------------

class _Moments:
    """Sample/population variance and standard deviation, two-pass with fsum."""
    sample, root = True, False

    def __init__(self):
        self.xs = []

    def step(self, x):
        if x is not None:
            self.xs.append(float(x))

    def finalize(self):
        n = len(self.xs)
        if n < (2 if self.sample else 1):
            return None
        if min(self.xs) == max(self.xs):
            return 0.0  # identical values: exactly 0 (fsum(xs) / n may differ from x in the last bit)
        mean = math.fsum(self.xs) / n
        ss = math.fsum((x - mean) * (x - mean) for x in self.xs)
        v = ss / (n - 1 if self.sample else n)
        return math.sqrt(v) if self.root else v


def _moments(sample, root):
    return type("M", (_Moments,), {"sample": sample, "root": root})


def _log10(x):
    """LOG(x) and LOG10(x): SQLite 3.40 computes ln(x)/ln(10) (LOG(1000) =
    2.9999999999999996); slaf uses log10, exact at powers of ten."""
    if x is None:
        return None
    x = float(x)
    return math.log10(x) if x > 0 else None


def sqlite_connect():
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA case_sensitive_like = ON")
    for name, sample, root in (("STDDEV", True, True), ("STDDEV_SAMP", True, True), ("VARIANCE", True, False),
                               ("VAR_SAMP", True, False), ("STDDEV_POP", False, True), ("VAR_POP", False, False)):
        conn.create_aggregate(name, 1, _moments(sample, root))
    conn.create_function("LOG", 1, _log10, deterministic=True)
    conn.create_function("LOG10", 1, _log10, deterministic=True)
    return conn


SQL_TYPES = {"int64": "INTEGER", "float64": "REAL", "bool": "INTEGER", "string": "TEXT", "categorical": "TEXT"}
GEN_TYPES = {"int64": "int", "float64": "float", "bool": "bool", "string": "str", "categorical": "str"}


def qident(name):
    """An identifier as SQL text: bare when the tokenizer keeps it as is."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in KEYWORDS:
        return name
    return '"%s"' % name.replace('"', '""')


KEYWORDS = set("""select from where group by having order limit offset union all distinct as on join inner
left right full cross and or not in is null like between case when then else end cast with over partition
asc desc nulls first last true false exists using natural outer values""".split())


class ColInfo:
    """What the generator knows about one column: its type and sample values."""

    def __init__(self, name, type, values=None, nullable=False):
        self.name, self.type, self.nullable = name, type, nullable
        self.samples, self.distinct, self.lo, self.hi, self.numstr = [], None, None, None, False
        if values is not None:
            nn = [v for v in values if v is not None]
            self.nullable = len(nn) < len(values)
            rng = random.Random(len(values) * 7919 + len(name))
            self.samples = rng.sample(nn, min(60, len(nn))) if nn else []
            if type in ("int", "float") and nn:
                arr = np.asarray(nn, dtype=np.float64)
                self.lo, self.hi = float(arr.min()), float(arr.max())
            if type == "str":
                ds = sorted(set(nn))
                if len(ds) <= 40:
                    self.distinct = ds
                self.numstr = bool(nn) and all(re.fullmatch(r"-?[0-9]{1,9}", v) for v in (ds if self.distinct else self.samples))
            if type == "bool":
                self.distinct = [False, True]


class Loaded:
    """One dataset version: its path, the SQLite copy and what the generator needs."""

    def __init__(self, name, path, version, conn, tables, value_types, m, cell_nnz, gene_nnz, layer_names, names):
        self.name, self.path, self.version, self.conn = name, path, version, conn
        self.names = names              # (table, string column) -> all values, for selective predicates
        self.tables = tables            # table name -> [ColInfo] in slaf's column order
        self.value_types = value_types  # matrix table name -> "int" | "float"
        self.manifest = m
        self.cell_nnz, self.gene_nnz = cell_nnz, gene_nnz
        self.layer_names = layer_names
        self.n_cells, self.n_genes = m["shape"]
        self.nnz = int(cell_nnz.sum())


def load_dataset(name, path, version=None):
    """Decodes a dataset version with the reference readers into SQLite."""
    m = dr.manifest(path, version)
    conn = sqlite_connect()
    tables, names = {}, {}
    for which, table, id_name in (("obs", "cells", "cell_integer_id"), ("var", "genes", "gene_integer_id")):
        t = dr.decode_table(path, m, which)
        n = m[which]["n_rows"]
        cols = [ColInfo(id_name, "int", list(range(n)))]
        ddl = ["%s INTEGER PRIMARY KEY" % id_name]
        data = [range(n)]
        for cname, c in t.columns:
            cols.append(ColInfo(cname, GEN_TYPES[c.type], c.values))
            ddl.append("%s %s" % (qident(cname), SQL_TYPES[c.type]))
            data.append([None if v is None else int(v) for v in c.values] if c.type == "bool" else c.values)
        conn.execute("CREATE TABLE %s (%s)" % (table, ", ".join(ddl)))
        conn.executemany("INSERT INTO %s VALUES (%s)" % (table, ",".join("?" * len(ddl))), zip(*data))
        for cname, c in t.columns:
            if c.type in ("string", "categorical"):
                names[(table, cname)] = c.values
                conn.execute("CREATE INDEX %s_%d ON %s (%s)" % (table, len(tables) * 100 + t.names().index(cname), table, qident(cname)))
        tables[table] = cols
    value_types = {}
    layer_names = sorted(m["layers"])
    cell_nnz = gene_nnz = None
    for layer in [None] + layer_names:
        table = "expression" if layer is None else "layer_" + layer
        entry = dr.matrix_entry(m, layer)
        vt = "int" if entry["value_type"] == "uint32" else "float"
        value_types[table] = vt
        x = dr.decode_matrix(path, m, layer)
        conn.execute("CREATE TABLE %s (cell_integer_id INTEGER NOT NULL, gene_integer_id INTEGER NOT NULL, value %s, "
                     "PRIMARY KEY (cell_integer_id, gene_integer_id)) WITHOUT ROWID" % (table, "INTEGER" if vt == "int" else "REAL"))
        counts = np.diff(x.indptr)
        cells = np.repeat(np.arange(x.shape[0], dtype=np.int64), counts)
        vals = x.data.astype(np.int64).tolist() if vt == "int" else x.data.tolist()
        conn.executemany("INSERT INTO %s VALUES (?,?,?)" % table, zip(cells.tolist(), x.indices.tolist(), vals))
        conn.execute("CREATE INDEX %s_gene ON %s (gene_integer_id, value)" % (table, table))
        if layer is None:
            cell_nnz = counts.astype(np.int64)
            gene_nnz = np.bincount(x.indices, minlength=x.shape[1]).astype(np.int64)
        vinfo = ColInfo("value", vt)
        if x.nnz:
            sample = x.data[np.random.default_rng(1).integers(0, x.nnz, 60)]
            vinfo.samples = [int(v) for v in sample] if vt == "int" else [float(v) for v in sample]
            vinfo.lo, vinfo.hi = float(x.data.min()), float(x.data.max())
        tables[table] = [ColInfo("cell_integer_id", "int"), ColInfo("gene_integer_id", "int"), vinfo]
        tables[table][0].lo, tables[table][0].hi = 0.0, float(x.shape[0] - 1)
        tables[table][1].lo, tables[table][1].hi = 0.0, float(x.shape[1] - 1)
        tables[table][0].samples = list(range(0, x.shape[0], max(1, x.shape[0] // 60)))
        tables[table][1].samples = list(range(0, x.shape[1], max(1, x.shape[1] // 60)))
    conn.execute("ANALYZE")
    conn.commit()
    return Loaded(name, path, version, conn, tables, value_types, m, cell_nnz, gene_nnz, layer_names, names)


def sqlite_run(conn, sql, limit_s=30.0):
    """(rows, error text): rows as lists with NaN/inf as None."""
    deadline = time.monotonic() + limit_s
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 100000)
    try:
        cur = conn.execute(sql)
        rows = cur.fetchall()
    except Exception as e:  # noqa: BLE001
        return None, "%s: %s" % (type(e).__name__, e)
    finally:
        conn.set_progress_handler(None, 0)
    out = []
    for r in rows:
        out.append([None if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v for v in r])
    return out, None


# --- comparison --------------------------------------------------------------------

def same_value(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, bool):
        a = int(a)
    if isinstance(b, bool):
        b = int(b)
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    a, b = float(a), float(b)
    if a == b:
        return True
    return abs(a - b) <= max(1e-12, 1e-9 * max(abs(a), abs(b)))


def same_row(r, s):
    return len(r) == len(s) and all(same_value(a, b) for a, b in zip(r, s))


def sort_key(row):
    """For printing: NULLs, then numbers, then strings."""
    key = []
    for v in row:
        if v is None:
            key.append((0, 0.0, ""))
        elif isinstance(v, str):
            key.append((2, 0.0, v))
        else:
            key.append((1, float(v), ""))
    return key


def exact_key(row):
    """The row's exactly comparable part: NULLs, strings and integral numbers
    (bool and int and 2.0 alike); other doubles only as placeholders."""
    key = []
    for v in row:
        if v is None:
            key.append(("n",))
        elif isinstance(v, str):
            key.append(("s", v))
        else:
            f = float(v)
            key.append(("i", int(f)) if f == int(f) and abs(f) < 2.0 ** 53 else ("f",))
    return tuple(key)


def float_key(row):
    return tuple(float(v) for v in row if v is not None and not isinstance(v, str))


def greedy_match(a, b):
    """Removes tolerance-equal pairs; returns the unmatched rows of a and b."""
    rest = list(b)
    left = []
    for r in a:
        for i, s in enumerate(rest):
            if same_row(r, s):
                del rest[i]
                break
        else:
            left.append(r)
    return left, rest


def merge_match(a, b):
    """Pairs tolerance-equal rows of two lists sorted by float_key (a merge
    walk); returns the unmatched rows of each."""
    i = j = 0
    left_a, left_b = [], []
    while i < len(a) and j < len(b):
        if same_row(a[i], b[j]):
            i += 1
            j += 1
        elif float_key(a[i]) < float_key(b[j]):
            left_a.append(a[i])
            i += 1
        else:
            left_b.append(b[j])
            j += 1
    return left_a + a[i:], left_b + b[j:]


def same_multiset(exp, got):
    if len(exp) != len(got):
        return False
    ga, gb = {}, {}
    for r in exp:
        ga.setdefault(exact_key(r), []).append(r)
    for r in got:
        gb.setdefault(exact_key(r), []).append(r)
    left_a, left_b = [], []
    for k in set(ga) | set(gb):
        a, b = sorted(ga.get(k, []), key=float_key), sorted(gb.get(k, []), key=float_key)
        if len(a) == len(b) and all(same_row(r, s) for r, s in zip(a, b)):
            continue
        la, lb = merge_match(a, b)
        left_a += la
        left_b += lb
    # What is left: values tolerance-equal on either side of an integer
    # (78641.0 against 78640.99999999999), or near-ties the walk missed.
    if len(left_a) != len(left_b) or len(left_a) * len(left_b) > 4_000_000:
        return False
    la, lb = greedy_match(left_a, left_b)
    return not la and not lb


def cmp_values(a, b):
    """-1/0/1 in slaf's ORDER BY order (NULL smallest), tolerance-equal = 0."""
    if a is None or b is None:
        return 0 if a is None and b is None else (-1 if a is None else 1)
    if same_value(a, b):
        return 0
    if isinstance(a, str):
        return -1 if a < b else 1
    return -1 if float(a) < float(b) else 1


def sorted_by(rows, order):
    """Whether rows follow `order` ([(column, desc, nulls_first)]) up to tolerance."""
    for r, s in zip(rows, rows[1:]):
        for col, desc, nulls_first in order:
            a, b = r[col], s[col]
            if (a is None) != (b is None):
                if (a is None) != nulls_first:
                    return False
                break
            c = cmp_values(a, b)
            if c == 0:
                if a == b or isinstance(a, str):
                    continue
                break  # tolerance-equal doubles: their order is the engine's to choose
            if (c > 0) != desc:
                return False
            break
    return True


def compare(exp, got, ordered, order_spec=None):
    if not ordered:
        return same_multiset(exp, got)
    if len(exp) == len(got) and all(same_row(r, s) for r, s in zip(exp, got)):
        return True
    # Near-ties of computed doubles may legitimately swap rows.
    return order_spec is not None and same_multiset(exp, got) and sorted_by(got, order_spec)


def top_level_order_by(sql):
    """Whether the statement has an ORDER BY outside every parenthesis."""
    depth, text = 0, re.sub(r"'(?:[^']|'')*'", "''", sql)
    text = re.sub(r"--[^\n]*", "", text)
    for tok in re.finditer(r"\(|\)|\border\s+by\b", text, re.I):
        t = tok.group(0)
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
        elif depth == 0:
            return True
    return False


def parse_slaf_json(text):
    j = json.loads(text)
    types = [c["type"] for c in j["columns"]]
    rows = []
    for r in j["rows"]:
        row = []
        for v, t in zip(r, types):
            if v is not None and t == "float64":
                v = float(v)
            row.append(v)
        rows.append(row)
    return types, rows


def short(rows, limit=12):
    if rows is None:
        return "None"
    s = "\n".join("      " + json.dumps(r) for r in rows[:limit])
    if len(rows) > limit:
        s += "\n      ... (%d rows)" % len(rows)
    return s or "      (no rows)"


# --- the random query generator -----------------------------------------------------

class E:
    """A generated SQL expression: slaf text `s`, SQLite text `l` (the same
    unless a construct needs spelling differently), type int|float|bool|str."""
    __slots__ = ("s", "l", "t")

    def __init__(self, s, t, l=None):
        self.s, self.t, self.l = s, t, (s if l is None else l)


def mk(t, fmt, *args, lfmt=None):
    return E(fmt % tuple(a.s for a in args), t, (lfmt or fmt) % tuple(a.l for a in args))


def lit(v):
    if v is None:
        return E("NULL", "null")
    if isinstance(v, bool):
        return E("TRUE" if v else "FALSE", "bool")
    if isinstance(v, int):
        return E(str(v), "int")
    if isinstance(v, float):
        r = repr(v)
        if "e" in r or "n" in r:
            r = "%.6f" % v
        if "." not in r:
            r += ".0"
        return E(r, "float")
    return E("'%s'" % v.replace("'", "''"), "str")


class Ref:
    """A column visible in a scope: its expression and what is known of it."""

    def __init__(self, e, info):
        self.e, self.info = e, info


class Rel:
    """A FROM item: table name (or a derived table), alias, columns."""

    def __init__(self, table, alias, cols, sql=None, lsql=None):
        self.table, self.alias, self.cols = table, alias, cols
        self.sql = sql or table         # text in FROM (slaf)
        self.lsql = lsql or self.sql    # text in FROM (SQLite)

    def refs(self, qualify=True, rng=None):
        out = []
        for c in self.cols:
            name = qident(c.name)
            if rng is not None and name != c.name and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c.name) \
                    and c.name.lower() not in KEYWORDS and rng.random() < 0.4:
                name = c.name  # unquoted: matched case-insensitively
            text = ("%s.%s" % (self.alias, name)) if qualify and self.alias else name
            out.append(Ref(E(text, c.type), c))
        return out


class Select:
    """A generated query: texts, whether its order is defined, and the ORDER BY
    as [(output column, desc, nulls_first)] for the tolerance check."""

    def __init__(self, s, l, types, ordered=False, order_spec=None, kind=""):
        self.s, self.l, self.types = s, l, types
        self.ordered, self.order_spec, self.kind = ordered, order_spec, kind
        self.cols = []  # [ColInfo] named by alias, when used as a derived table


CMP_OPS = ["=", "<>", "<", "<=", ">", ">="]
ALT_OPS = {"<>": "!=", "=": "=="}  # other spellings slaf accepts (SQLite too)


class QueryGen:
    def __init__(self, ds, rng, big):
        """big: keep SQLite's work small (pbmc3k): every matrix scan gets a
        selective id predicate; budgets are matrix rows per query."""
        self.ds, self.rng, self.big = ds, rng, big
        self.budget_proj = 3000 if big else 4000
        self.budget_agg = 40000 if big else 25000
        self.budget_sub = 20000 if big else None
        self.alias_n = 0

    # ---- small helpers

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, xs):
        return xs[self.rng.randrange(len(xs))]

    def wpick(self, pairs):
        total = sum(w for w, _ in pairs)
        x = self.rng.random() * total
        for w, v in pairs:
            x -= w
            if x < 0:
                return v
        return pairs[-1][1]

    def new_alias(self, base):
        self.alias_n += 1
        return "%s%d" % (base, self.alias_n)

    # ---- literals

    def int_lit(self, info=None):
        if info is not None and info.samples and self.chance(0.7):
            v = self.pick(info.samples)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return lit(int(v) + self.pick([0, 0, 0, 1, -1]))
        return lit(self.pick([0, 1, 2, 3, 5, 7, 10, -1, -3, 25, 100]))

    def float_lit(self, info=None):
        if info is not None and info.samples and self.chance(0.7):
            v = float(self.pick(info.samples))
            return lit(round(round(v, self.pick([0, 1, 2, 3])) + self.pick([0.0, 0.0, 0.5, 0.001]), 3))
        return lit(self.pick([0.5, 1.5, 2.0, 0.25, -1.5, 10.0, 0.001, 3.75, 100.0]))

    def str_lit(self, info=None):
        if info is not None and info.samples and self.chance(0.85):
            return lit(self.pick(info.distinct or info.samples))
        return lit(self.pick(["zz", "a", "", "B_cell", "x_1", "MT-"]))

    def lit_of(self, t, info=None):
        if t == "int":
            return self.int_lit(info)
        if t == "float":
            return self.float_lit(info)
        if t == "str":
            return self.str_lit(info)
        return lit(self.chance(0.5))

    # ---- scalar expressions

    def col(self, scope, t):
        refs = [r for r in scope if r.e.t == t]
        return self.pick(refs) if refs else None

    def expr(self, t, scope, depth=2):
        """An expression of type t over the columns in scope."""
        r = self.col(scope, t)
        if depth <= 0 or self.chance(0.35):
            if self.chance(0.02):
                return E("NULL", t)  # a typeless NULL where a value of type t goes
            if r is not None and self.chance(0.85):
                return r.e
            if r is None and self.chance(0.8):
                # No column of that type: derive one from another column.
                ints = self.col(scope, "int")
                if t == "float" and ints is not None:
                    return mk("float", self.pick(["(%s * 0.5)", "CAST(%s AS DOUBLE)", "(%s / 4.0)"]), ints.e)
                if t == "str" and ints is not None:
                    return mk("str", self.pick(["CAST(%s AS TEXT)", "('g' || %s)"]), ints.e)
            return self.lit_of(t, r.info if r else None)
        return getattr(self, "expr_" + t)(scope, depth - 1)

    def numeric(self, scope, depth):
        return self.expr(self.pick(["int", "int", "float"]) if self.col(scope, "float") else "int", scope, depth)

    def case_expr(self, t, scope, depth):
        if self.chance(0.3):
            # Simple CASE over a column.
            r = self.pick([r for r in scope if r.e.t in ("int", "str")] or scope)
            if r.e.t not in ("int", "str"):
                return self.expr(t, scope, depth)
            whens = " ".join("WHEN %s THEN %s" for _ in range(self.rng.randint(1, 3)))
            args = []
            for _ in range(whens.count("WHEN")):
                args += [self.lit_of(r.e.t, r.info), self.expr(t, scope, depth)]
            tail = self.chance(0.7)
            fmt = "CASE %s " + whens + (" ELSE %s END" if tail else " END")
            args = [r.e] + args + ([self.expr(t, scope, depth)] if tail else [])
            return mk(t, fmt, *args)
        n = self.rng.randint(1, 3)
        parts, args = [], []
        for _ in range(n):
            parts.append("WHEN %s THEN %s")
            args += [self.pred(scope, depth), self.expr(t, scope, depth)]
        if self.chance(0.75):
            parts.append("ELSE %s")
            args.append(self.expr(t, scope, depth) if self.chance(0.85) else lit(None))
        return mk(t, "CASE " + " ".join(parts) + " END", *args)

    def expr_int(self, scope, depth):
        k = self.wpick([(4, "arith"), (2, "mul"), (2, "div"), (1, "mod"), (1, "abs"), (1, "neg"), (2, "case"),
                        (1, "coalesce"), (1, "castf"), (1, "castb"), (1, "casts"), (1, "ifnull"), (1, "nullif"),
                        (1, "length"), (1, "boolarith")])
        a = self.expr("int", scope, depth)
        if k == "ifnull":
            return mk("int", "IFNULL(%s, %s)", a, self.expr("int", scope, depth))
        if k == "nullif":
            r = self.col(scope, "int")
            return mk("int", "NULLIF(%s, %s)", a, self.int_lit(r.info if r else None))
        if k == "length":
            return mk("int", "LENGTH(%s)", self.expr("str", scope, depth))
        if k == "boolarith":
            # Booleans count as 0/1 in arithmetic.
            return mk("int", "(%s " + self.pick(["+", "*", "-"]) + " %s)", self.pred(scope, 0), a)
        if k == "arith":
            return mk("int", "(%s " + self.pick(["+", "-"]) + " %s)", a, self.expr("int", scope, depth))
        if k == "mul":
            return mk("int", "(%s * %s)", a, lit(self.pick([2, 3, -2, 10, 0, 7])))
        if k == "div":
            b = self.expr("int", scope, depth) if self.chance(0.3) else lit(self.pick([2, 3, -4, 7, 0, 10, 1]))
            return mk("int", "(%s / %s)", a, b)
        if k == "mod":
            b = self.expr("int", scope, 0) if self.chance(0.2) else lit(self.pick([2, 3, 5, -4, 0, 10]))
            return mk("int", "(%s %% %s)", a, b)
        if k == "abs":
            return mk("int", "ABS(%s)", a)
        if k == "neg":
            return mk("int", "(- %s)", a)
        if k == "case":
            return self.case_expr("int", scope, depth)
        if k == "coalesce":
            return mk("int", "COALESCE(%s, %s)", self.expr("int", scope, depth), self.expr("int", scope, depth))
        if k == "castf":
            f = self.bounded_float(scope, depth)
            return mk("int", "CAST(%s AS " + self.pick(["INTEGER", "BIGINT"]) + ")", f)
        if k == "castb":
            b = self.pred(scope, depth)
            return mk("int", "CAST(%s AS INTEGER)", b)
        # casts: a numeric string column (leiden) to INTEGER
        refs = [r for r in scope if r.e.t == "str" and r.info is not None and r.info.numstr]
        if refs:
            return mk("int", "CAST(%s AS INTEGER)", self.pick(refs).e)
        return a

    def bounded_float(self, scope, depth):
        """A float expression whose magnitude stays far from int64 limits."""
        refs = [r for r in scope if r.e.t in ("int", "float")]
        if not refs:
            return self.float_lit()
        r = self.pick(refs)
        k = self.pick(["div", "ln", "sqrt", "plain"])
        if k == "div":
            return mk("float", "(%s / %s)", r.e, self.float_lit())
        if k == "ln":
            return mk("float", "LN(%s)", r.e)
        if k == "sqrt":
            return mk("float", "SQRT(%s)", r.e)
        return mk("float", "(%s * 1.5)", r.e) if r.e.t == "int" else r.e

    def exp_arg(self, scope):
        refs = [r for r in scope if r.e.t in ("int", "float") and r.info is not None and r.info.hi is not None]
        if not refs:
            return lit(self.pick([0.5, 1.0, -2.0]))
        r = self.pick(refs)
        m = max(abs(r.info.lo), abs(r.info.hi), 1.0)
        return mk("float", "(%s / %s)", r.e, lit(float(math.ceil(m / 8.0))))

    def expr_float(self, scope, depth):
        k = self.wpick([(4, "arith"), (2, "div"), (1, "ln"), (1, "log"), (1, "log2"), (1, "sqrt"), (1, "exp"), (1, "abs"),
                        (2, "round"), (1, "cast"), (2, "case"), (1, "coalesce"), (1, "neg"), (1, "floor"), (1, "power"),
                        (1, "log10"), (1, "ifnull")])
        if k == "floor":
            return mk("float", self.pick(["FLOOR", "CEIL"]) + "(%s)", self.expr("float", scope, depth))
        if k == "power":
            a = self.numeric(scope, depth)
            if self.chance(0.5):
                return mk("float", "POWER(%s, %s)", a, lit(self.pick([2, 0, 1, 3, -1, 0.5])))
            return mk("float", "POWER(%s, %s)", lit(self.pick([2, 2.0, 0.5, 10])), self.exp_arg(scope))
        if k == "log10":
            return mk("float", "LOG10(%s)", self.numeric(scope, depth))
        if k == "ifnull":
            return mk("float", "IFNULL(%s, %s)", self.expr("float", scope, depth), self.float_lit())
        if k == "arith":
            a, b = self.numeric(scope, depth), self.numeric(scope, depth)
            if a.t == "int" and b.t == "int":
                b = self.expr("float", scope, depth)
            return mk("float", "(%s " + self.pick(["+", "-", "*"]) + " %s)", a, b)
        if k == "div":
            a = self.numeric(scope, depth)
            b = self.expr("float", scope, depth) if self.chance(0.6) else self.float_lit()
            if self.chance(0.1):
                b = lit(0.0)
            return mk("float", "(%s / %s)", a, b)
        if k in ("ln", "log", "sqrt"):
            return mk("float", {"ln": "LN(%s)", "log": "LOG(%s)", "sqrt": "SQRT(%s)"}[k], self.numeric(scope, depth))
        if k == "log2":
            return mk("float", "LOG(%s, %s)", lit(self.pick([2, 10, 2.0])), self.numeric(scope, depth))
        if k == "exp":
            return mk("float", "EXP(%s)", self.exp_arg(scope))
        if k == "abs":
            return mk("float", "ABS(%s)", self.expr("float", scope, depth))
        if k == "round":
            if self.chance(0.3):
                return mk("float", "ROUND(%s)", self.numeric(scope, depth))
            return mk("float", "ROUND(%s, %s)", self.numeric(scope, depth), lit(self.pick([0, 1, 2, 3])))
        if k == "cast":
            return mk("float", "CAST(%s AS " + self.pick(["DOUBLE", "REAL"]) + ")", self.expr("int", scope, depth))
        if k == "case":
            return self.case_expr("float", scope, depth)
        if k == "coalesce":
            return mk("float", "COALESCE(%s, %s)", self.expr("float", scope, depth), self.expr("float", scope, depth))
        return mk("float", "(- %s)", self.expr("float", scope, depth))

    def expr_str(self, scope, depth):
        k = self.wpick([(2, "lower"), (1, "upper"), (3, "concat"), (2, "concat_int"), (1, "cast"), (2, "case"), (1, "coalesce"),
                        (1, "nullif")])
        if k == "nullif":
            r = self.col(scope, "str")
            return mk("str", "NULLIF(%s, %s)", self.expr("str", scope, depth), self.str_lit(r.info if r else None))
        if k in ("lower", "upper"):
            return mk("str", k.upper() + "(%s)", self.expr("str", scope, depth))
        if k == "concat":
            return mk("str", "(%s || %s)", self.expr("str", scope, depth), self.expr("str", scope, depth))
        if k == "concat_int":
            a, b = self.expr("str", scope, depth), self.expr("int", scope, depth)
            return mk("str", "(%s || %s)", *((a, b) if self.chance(0.5) else (b, a)))
        if k == "cast":
            return mk("str", "CAST(%s AS " + self.pick(["TEXT", "VARCHAR"]) + ")", self.expr("int", scope, depth))
        if k == "case":
            return self.case_expr("str", scope, depth)
        return mk("str", "COALESCE(%s, %s)", self.expr("str", scope, depth), self.str_lit())

    def expr_bool(self, scope, depth):
        return self.pred(scope, depth)

    # ---- predicates (three-valued)

    def pred(self, scope, depth=2):
        if depth <= 0:
            return self.atom(scope, 0)
        k = self.wpick([(6, "atom"), (2, "and"), (2, "or"), (1, "not")])
        if k == "atom":
            return self.atom(scope, depth - 1)
        if k == "not":
            return mk("bool", "(NOT %s)", self.pred(scope, depth - 1))
        return mk("bool", "(%s " + k.upper() + " %s)", self.pred(scope, depth - 1), self.pred(scope, depth - 1))

    def atom(self, scope, depth):
        k = self.wpick([(5, "cmp"), (2, "cmpcol"), (1, "boolcol"), (1, "isnull"), (2, "in"), (2, "between"), (2, "like"),
                        (1, "castbool"), (1, "booleq")])
        if k in ("cmp", "cmpcol", "between", "in"):
            t = self.pick(["int", "int", "float", "str"])
            if self.col(scope, t) is None:
                t = "int"
            r = self.col(scope, t)
            a = r.e if (r is not None and self.chance(0.7)) else self.expr(t, scope, depth)
            info = r.info if r is not None else None
            if k == "cmp":
                return mk("bool", "(%s " + self.pick(CMP_OPS) + " %s)", a, self.lit_of(t, info))
            if k == "cmpcol":
                t2 = self.pick(["int", "float"]) if t in ("int", "float") else "str"
                return mk("bool", "(%s " + self.pick(CMP_OPS) + " %s)", a, self.expr(t2, scope, depth))
            neg = " NOT" if self.chance(0.25) else ""
            if k == "between":
                lo, hi = self.lit_of(t, info), self.lit_of(t, info)
                if self.chance(0.8) and t != "str" and float(lo.s) > float(hi.s):
                    lo, hi = hi, lo
                return mk("bool", "(%s" + neg + " BETWEEN %s AND %s)", a, lo, hi)
            items = [self.lit_of(t, info) for _ in range(self.rng.randint(1, 5))]
            if self.chance(0.15):
                items.append(lit(None))
            return mk("bool", "(%s" + neg + " IN (" + ", ".join(["%s"] * len(items)) + "))", a, *items)
        if k == "boolcol":
            r = self.col(scope, "bool")
            if r is not None:
                return r.e
            return self.atom(scope, depth)
        if k == "booleq":
            r = self.col(scope, "bool")
            if r is None:
                return self.atom(scope, depth)
            return mk("bool", "(%s " + self.pick(["=", "<>"]) + " %s)", r.e, self.pick([lit(True), lit(False), self.pred(scope, 0)]))
        if k == "isnull":
            t = self.pick(["int", "float", "str", "bool"])
            e = self.expr(t, scope, depth) if self.col(scope, t) is not None or t != "bool" else self.pred(scope, 0)
            return mk("bool", "(%s IS " + self.pick(["", "NOT "]) + "NULL)", e)
        if k == "like":
            r = self.col(scope, "str")
            if r is None:
                return self.atom(scope, depth)
            return mk("bool", "(%s " + self.pick(["LIKE", "LIKE", "NOT LIKE"]) + " %s)", r.e if self.chance(0.8) else self.expr("str", scope, depth),
                      lit(self.like_pattern(r.info)))
        # castbool: CAST(numeric AS BOOLEAN) is x <> 0 (SQLite would keep the number).
        a = self.numeric(scope, depth)
        return E("CAST(%s AS BOOLEAN)" % a.s, "bool", "(%s <> 0)" % a.l)

    def like_pattern(self, info):
        v = self.pick(info.samples) if info is not None and info.samples else "abc"
        k = self.pick(["prefix", "suffix", "mid", "under", "exact", "lower", "all"])
        if k == "prefix":
            return v[: self.rng.randint(0, len(v))] + "%"
        if k == "suffix":
            return "%" + v[self.rng.randint(0, len(v)):]
        if k == "mid" and len(v) > 2:
            i = self.rng.randint(1, len(v) - 1)
            return "%" + v[i:i + 2] + "%"
        if k == "under" and v:
            i = self.rng.randrange(len(v))
            return v[:i] + "_" + v[i + 1:]
        if k == "lower":
            return v.lower()[:3] + "%"
        if k == "all":
            return "%"
        return v

    # ---- FROM clauses, and predicates that keep SQLite's work small

    def rel(self, table, qualified):
        """A base table in FROM: bare, `t a` or `t AS a`."""
        cols = self.ds.tables[table]
        form = self.pick(["alias", "alias", "as", "bare"]) if qualified else self.pick(["bare", "bare", "alias"])
        if form == "bare":
            return Rel(table, table if qualified else None, cols, table)
        a = self.new_alias(table[0] if not table.startswith("layer_") else "l")
        return Rel(table, a, cols, "%s %s%s" % (table, "AS " if form == "as" else "", a))

    def matrix_table(self):
        mats = ["expression"] + ["layer_" + n for n in self.ds.layer_names]
        return mats[0] if self.chance(0.7) or len(mats) == 1 else self.pick(mats[1:])

    def source(self, kind, budget):
        """(FROM text slaf, FROM text SQLite, rels, conjuncts) for kind cells |
        genes | expr | expr+cells | expr+genes | expr+cells+genes."""
        if kind == "cells" or kind == "genes":
            r = self.rel(kind, qualified=self.chance(0.5))
            conj = []
            n = self.ds.n_cells if kind == "cells" else self.ds.n_genes
            if budget is not None and n > budget and self.chance(0.9):
                # Keep big obs/var tables' results small.
                start = self.rng.randrange(n)
                conj.append(E("%s BETWEEN %d AND %d" % (self.q(r, kind[:-1] + "_integer_id"), start, start + budget // 4), "bool"))
            return r.sql, r.sql, [r], conj
        e = self.rel(self.matrix_table(), qualified=kind != "expr" or self.chance(0.5))
        rels = [e]
        joins = []
        for other, key in (("cells", "cell_integer_id"), ("genes", "gene_integer_id")):
            if other in kind:
                o = self.rel(other, qualified=True)
                rels.append(o)
                a, b = "%s.%s" % (e.alias, key), "%s.%s" % (o.alias, key)
                joins.append((o, "%s = %s" % ((a, b) if self.chance(0.5) else (b, a))))
        conj = []
        if not joins:
            text = e.sql
        else:
            # A comma list first, then JOIN ... ON (slaf's FROM grammar); a
            # matrix table not in the comma list is the first one joined.
            order = [e] + [o for o, _ in joins]
            self.rng.shuffle(order)
            k = self.rng.randint(1, len(order))
            if e not in order[:k]:
                order.remove(e)
                order.insert(k, e)
            on = {o.table: c for o, c in joins}
            text = ", ".join(r.sql for r in order[:k])
            seen = {r.table for r in order[:k]}
            for t in seen:
                if t in on and e.table in seen:
                    conj.append(E(on[t], "bool"))
            for r in order[k:]:
                if r.table == e.table:
                    conds = [on[t] for t in on if t in seen]
                else:
                    conds = [on[r.table]]
                text += " %s %s ON %s" % (self.pick(["JOIN", "JOIN", "INNER JOIN"]), r.sql, " AND ".join(conds))
                seen.add(r.table)
        d = self.driver(e, next((o for o in rels if o.table == "cells"), None), next((o for o in rels if o.table == "genes"), None), budget)
        if d is not None:
            conj.append(d)
        return text, text, rels, conj

    def q(self, rel, col):
        return "%s.%s" % (rel.alias, col) if rel.alias else col

    def cell_span(self, budget):
        n = self.ds.n_cells
        start = self.rng.randrange(n)
        total, end = 0, start
        limit = min(budget, self.ds.nnz // 3 + 1)
        while end < n and end - start < 300 and total + self.ds.cell_nnz[end] <= limit:
            total += int(self.ds.cell_nnz[end])
            end += 1
        return start, max(start, end - 1)

    def some_genes(self, budget, k):
        nz = np.flatnonzero(self.ds.gene_nnz)
        out, total = [], 0
        for _ in range(k * 3):
            g = int(self.pick(nz)) if len(nz) and self.chance(0.85) else self.rng.randrange(self.ds.n_genes)
            if g in out or total + self.ds.gene_nnz[g] > budget:
                continue
            out.append(g)
            total += int(self.ds.gene_nnz[g])
            if len(out) == k:
                break
        return out or [self.rng.randrange(self.ds.n_genes)]

    def some_cells(self, budget, k):
        out, total = [], 0
        for _ in range(k * 3):
            c = self.rng.randrange(self.ds.n_cells)
            if c in out or total + self.ds.cell_nnz[c] > budget:
                continue
            out.append(c)
            total += int(self.ds.cell_nnz[c])
            if len(out) == k:
                break
        return out or [self.rng.randrange(self.ds.n_cells)]

    def name_col(self, table):
        cols = [c.name for c in self.ds.tables[table] if (table, c.name) in self.ds.names and c.distinct is None]
        return self.pick(cols) if cols else None

    def driver(self, e, c, g, budget):
        """A conjunct limiting the matrix rows to about `budget` (None: any)."""
        small = budget is None
        if not small and budget >= 20000 and not self.big and self.chance(0.1):
            return None  # a whole small dataset now and then
        if small:
            if self.chance(0.45):
                return None
            budget = max(2000, self.ds.nnz // 4)
        opts = ["crange", "crange", "clist", "ceq", "glist", "glist", "grange"]
        if c is not None:
            opts += ["cname", "cname"] + (["cpred"] if small else [])
        if g is not None:
            opts += ["gname", "gname", "glike"] + (["gpred"] if small else [])
        k = self.pick(opts)
        cq = self.pick([e, c]) if c is not None else e
        gq = self.pick([e, g]) if g is not None else e
        if k == "crange":
            a, b = self.cell_span(budget)
            return E("%s BETWEEN %d AND %d" % (self.q(cq, "cell_integer_id"), a, b), "bool")
        if k == "ceq":
            return E("%s = %d" % (self.q(cq, "cell_integer_id"), self.some_cells(budget, 1)[0]), "bool")
        if k == "clist":
            cells = self.some_cells(budget, self.rng.randint(1, 8) if self.chance(0.9) else 300)
            return E("%s IN (%s)" % (self.q(cq, "cell_integer_id"), ", ".join(map(str, cells))), "bool")
        if k == "glist":
            genes = self.some_genes(budget, self.rng.randint(1, 10) if self.chance(0.9) else 400)
            if len(genes) == 1 and self.chance(0.5):
                return E("%s = %d" % (self.q(gq, "gene_integer_id"), genes[0]), "bool")
            return E("%s IN (%s)" % (self.q(gq, "gene_integer_id"), ", ".join(map(str, genes))), "bool")
        if k == "grange":
            start = self.rng.randrange(self.ds.n_genes)
            end, total = start, 0
            while end < self.ds.n_genes and end - start < 400 and total + self.ds.gene_nnz[end] <= budget:
                total += int(self.ds.gene_nnz[end])
                end += 1
            return E("%s BETWEEN %d AND %d" % (self.q(gq, "gene_integer_id"), start, max(start, end - 1)), "bool")
        if k == "cname":
            col = self.name_col("cells")
            if col is None:
                return self.driver(e, None, g, budget if not small else None)
            vals = self.ds.names[("cells", col)]
            cells = self.some_cells(budget, self.rng.randint(1, 5))
            names = sorted({vals[i] for i in cells if vals[i] is not None}) or ["nope"]
            return mk("bool", "%s IN (" + ", ".join(["%s"] * len(names)) + ")", E(self.q(c, qident(col)), "str"), *map(lit, names))
        if k == "gname":
            col = self.name_col("genes")
            if col is None:
                return self.driver(e, c, None, budget if not small else None)
            vals = self.ds.names[("genes", col)]
            genes = self.some_genes(budget, self.rng.randint(1, 6))
            names = sorted({vals[i] for i in genes if vals[i] is not None}) or ["nope"]
            # Names may repeat (gene symbols): bound the rows of every gene of that name.
            est = sum(int(self.ds.gene_nnz[i]) for i, v in enumerate(vals) if v in set(names)) if len(vals) < 50000 else 0
            if est > budget * 2:
                names = names[:1]
            if len(names) == 1 and self.chance(0.5):
                return mk("bool", "%s = %s", E(self.q(g, qident(col)), "str"), lit(names[0]))
            return mk("bool", "%s IN (" + ", ".join(["%s"] * len(names)) + ")", E(self.q(g, qident(col)), "str"), *map(lit, names))
        if k == "glike":
            col = self.name_col("genes")
            if col is None:
                return self.driver(e, c, None, budget if not small else None)
            vals = self.ds.names[("genes", col)]
            i = int(self.pick(np.flatnonzero(self.ds.gene_nnz))) if self.ds.nnz else 0
            name = vals[i] or "x"
            for n in range(2, len(name) + 1):
                pre = name[:n]
                est = sum(int(self.ds.gene_nnz[j]) for j, v in enumerate(vals) if v is not None and v.startswith(pre))
                if est <= budget:
                    break
            else:
                pre = name
            pat = pre.replace("%", "") + "%"
            return mk("bool", "%s LIKE %s", E(self.q(g, qident(col)), "str"), lit(pat))
        # small datasets: any predicate over cells or genes
        rel = c if k == "cpred" else g
        return self.pred(rel.refs(), 1)

    # ---- aggregates

    def agg(self, t, scope):
        """An aggregate, or an expression over aggregates, of type t."""
        def arg(tt, depth=1):
            for _ in range(5):
                e = self.expr(tt, scope, depth if self.chance(0.4) else 0)
                if e.s != "NULL":
                    return e  # MIN(NULL) has no type (slaf calls it BIGINT)
            return e

        def d():
            return "DISTINCT " if self.chance(0.12) else ""

        if t == "int":
            k = self.wpick([(3, "count_star"), (2, "count"), (2, "count_distinct"), (3, "sum"), (2, "minmax"), (1, "combo"),
                            (1, "coalesce")])
            if k == "count_star":
                return E("COUNT(*)", "int")
            if k == "count":
                return mk("int", "COUNT(%s)", arg(self.pick(["int", "float", "str", "bool"])))
            if k == "count_distinct":
                return mk("int", "COUNT(DISTINCT %s)", arg(self.pick(["int", "float", "str", "bool"])))
            if k == "sum":
                if self.chance(0.1):
                    return mk("int", "SUM(%s)", self.pred(scope, 0))  # booleans count as 0/1
                return mk("int", "SUM(" + d() + "%s)", arg("int"))
            if k == "minmax":
                return mk("int", self.pick(["MIN", "MAX"]) + "(" + d() + "%s)", arg("int"))
            if k == "coalesce":
                return mk("int", "COALESCE(%s, %s)", mk("int", "SUM(%s)", arg("int")), self.int_lit())
            op = self.pick(["+", "-", "/", "*"])
            return mk("int", "(%s " + op + " %s)", self.agg("int", scope),
                      self.agg("int", scope) if op != "*" and self.chance(0.6) else lit(self.pick([2, 3, 0])))
        if t == "float":
            k = self.wpick([(3, "avg"), (2, "sum"), (2, "minmax"), (2, "moment"), (1, "round"), (1, "ratio"), (1, "combo")])
            if k == "avg":
                return mk("float", "AVG(" + d() + "%s)", arg(self.pick(["int", "float"])))
            if k == "sum":
                return mk("float", "SUM(" + d() + "%s)", arg("float"))
            if k == "minmax":
                return mk("float", self.pick(["MIN", "MAX"]) + "(" + d() + "%s)", arg("float"))
            if k == "moment":
                fn = self.pick(["STDDEV", "VARIANCE", "STDDEV_POP", "VAR_POP", "STDDEV_SAMP", "VAR_SAMP"])
                return mk("float", fn + "(" + d() + "%s)", arg(self.pick(["int", "float"])))
            if k == "round":
                # Of an exact aggregate only: a sum of doubles depends on the order of
                # addition, and ROUND turns its last bit into a visible difference.
                a = self.pick([mk("float", "AVG(%s)", arg("int")), mk("float", "(SUM(%s) * 1.0 / COUNT(*))", arg("int"))])
                return mk("float", "ROUND(%s, %s)", a, lit(self.pick([0, 1, 2, 4])))
            if k == "ratio":
                return mk("float", "(%s * 1.0 / %s)", self.agg("int", scope), self.agg("int", scope))
            return mk("float", "(%s " + self.pick(["+", "-", "*"]) + " %s)", self.agg("float", scope), self.agg(self.pick(["int", "float"]), scope))
        if t == "str":
            if self.chance(0.25):
                return mk("str", "CASE WHEN %s THEN 'many' ELSE 'few' END", self.having(scope, 0))
            return mk("str", self.pick(["MIN", "MAX"]) + "(%s)", arg("str"))
        return self.having(scope, 0)

    def having(self, scope, depth=1, keys=()):
        """A predicate over aggregates (and group keys)."""
        if depth > 0 and self.chance(0.35):
            op = self.pick(["AND", "OR", "NOT"])
            if op == "NOT":
                return mk("bool", "(NOT %s)", self.having(scope, depth - 1, keys))
            return mk("bool", "(%s " + op + " %s)", self.having(scope, depth - 1, keys), self.having(scope, depth - 1, keys))
        if keys and self.chance(0.2):
            k = self.pick(keys)
            return mk("bool", "(%s IS NOT NULL)", k) if k.t == "bool" else mk("bool", "(%s " + self.pick(CMP_OPS) + " %s)", k, self.lit_of(k.t))
        t = self.pick(["int", "int", "float"])
        a = self.agg(t, scope)
        if self.chance(0.15):
            return mk("bool", "(%s IS " + self.pick(["", "NOT "]) + "NULL)", a)
        # Doubles against irregular constants: a variance or average of small integers is
        # often exactly 2.0 or 0.25, and either engine may land one ulp off it.
        v = lit(self.pick([0, 1, 2, 3, 5, 10, 20, 50, 100])) if t == "int" else lit(self.pick([0.37, 1.73, 2.19, 3.71, 11.3, 0.013, 57.1]))
        if self.chance(0.2):
            return mk("bool", "(%s BETWEEN %s AND %s)", a, v, lit(self.pick([10, 100, 1000])))
        return mk("bool", "(%s " + self.pick(CMP_OPS[2:] + ["<>"]) + " %s)", a, v)

    # ---- select lists and ORDER BY

    def items(self, scope, n):
        out = []
        for _ in range(n):
            if self.chance(0.04):
                e = self.in_subquery(scope)
            elif self.chance(0.55):
                e = self.pick(scope).e
            else:
                e = self.expr(self.pick(["int", "int", "float", "float", "str", "bool"]), scope, self.rng.randint(1, 3))
            out.append(e)
        return out

    def order_by(self, items, aliases, positions_only=False):
        """ORDER BY over every output column (a total order of the rows)."""
        cols = list(range(len(items)))
        self.rng.shuffle(cols)
        parts_s, parts_l, spec = [], [], []
        for j in cols:
            desc = self.chance(0.4)
            nulls = self.pick([None, None, "FIRST", "LAST"])
            nulls_first = (nulls == "FIRST") if nulls else not desc
            form = "pos" if positions_only else self.pick(["pos", "alias", "expr"])
            if form == "alias" and aliases[j]:
                ts, tl = aliases[j], aliases[j]
            elif form == "expr" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\"]*", items[j].s):
                ts, tl = items[j].s, items[j].l
            else:
                ts = tl = str(j + 1)
            suffix = (" DESC" if desc else self.pick(["", " ASC"])) + (" NULLS " + nulls if nulls else "")
            parts_s.append(ts + suffix)
            parts_l.append(tl + suffix)
            spec.append((j, desc, nulls_first))
        return " ORDER BY " + ", ".join(parts_s), " ORDER BY " + ", ".join(parts_l), spec

    def limit(self):
        if self.chance(0.5):
            return ""
        n = self.pick([1, 3, 5, 10, 20, 100])
        return " LIMIT %d" % n + (" OFFSET %d" % self.pick([0, 1, 2, 5, 50]) if self.chance(0.4) else "")

    # ---- query shapes

    SOURCES = ["cells", "genes", "expr", "expr+cells", "expr+genes", "expr+cells+genes"]

    def base_source(self, budget):
        kind = self.pick(self.SOURCES + ["expr", "expr+cells", "expr+genes", "meta"])
        if kind == "meta":
            return self.meta_join_source
        return lambda: self.source(kind, budget)

    def id_window(self, rel, table, width):
        n = self.ds.n_cells if table == "cells" else self.ds.n_genes
        start = self.rng.randrange(max(1, n - width // 2))
        return E("%s BETWEEN %d AND %d" % (self.q(rel, table[:-1] + "_integer_id"), start, start + width), "bool")

    def meta_join_source(self):
        """cells/genes joined with cells/genes on equal non-id columns (many to
        many; int = double too), both sides limited to a window of ids."""
        t1, t2 = self.pick(["cells", "genes"]), self.pick(["cells", "genes"])
        r1 = self.rel(t1, True)
        r2 = self.rel(t2, True)
        if r1.alias == r2.alias:
            a = self.new_alias(t2[0])
            r2 = Rel(t2, a, self.ds.tables[t2], "%s %s" % (t2, a))
        c1, c2 = r1.refs(True), r2.refs(True)
        pairs = []
        for x in c1[1:]:
            for y in c2[1:]:
                if x.e.t == y.e.t or {x.e.t, y.e.t} == {"int", "float"}:
                    pairs.append((x, y))
        if not pairs:
            pairs = [(c1[0], c2[0])]
        x, y = self.pick(pairs)
        conds = ["%s = %s" % ((x.e.s, y.e.s) if self.chance(0.5) else (y.e.s, x.e.s))]
        if self.chance(0.15):
            more = [(a, b) for a, b in pairs if a.e.t == b.e.t and (a, b) != (x, y)]
            if more:
                a, b = self.pick(more)
                conds.append("%s = %s" % (a.e.s, b.e.s))
        conj = [self.id_window(r1, t1, self.pick([40, 100, 150])), self.id_window(r2, t2, self.pick([40, 100, 150]))]
        if self.chance(0.5):
            fs = "%s JOIN %s ON %s" % (r1.sql, r2.sql, " AND ".join(conds))
        else:
            fs = "%s, %s" % (r1.sql, r2.sql)
            conj += [E(c, "bool") for c in conds]
        return fs, fs, [r1, r2], conj

    def scope_of(self, rels):
        qualify = len(rels) > 1 or self.chance(0.6)
        out = []
        for r in rels:
            out += r.refs(qualify, self.rng)
        return out

    def where(self, conj, scope, p=0.7, allow_sub=True):
        parts = list(conj)
        if self.chance(p):
            parts.append(self.pred(scope, self.rng.randint(1, 3)))
        if allow_sub and self.chance(0.12):
            parts.append(self.in_subquery(scope))
        self.rng.shuffle(parts)
        if not parts:
            return "", ""
        return " WHERE " + " AND ".join(p.s for p in parts), " WHERE " + " AND ".join(p.l for p in parts)

    def out_info(self, e, scope, name):
        for r in scope:
            if r.e.s == e.s and r.info is not None:
                c = ColInfo(name, e.t)
                for a in ("samples", "distinct", "lo", "hi", "numstr", "nullable"):
                    setattr(c, a, getattr(r.info, a))
                c.idkind = getattr(r.info, "idkind", None) or (r.info.name if r.info.name in ("cell_integer_id", "gene_integer_id") else None)
                c.origin = getattr(r.info, "origin", None) or r.info
                return c
        return ColInfo(name, e.t)

    def finish(self, core_s, core_l, sel, ctx, shape, scope, distinct=False, positions_only=False):
        """ORDER BY/LIMIT and the Select object; sel = [(E, alias)]."""
        types = [e.t for e, _ in sel]
        aliases = [a for _, a in sel]
        ordered = False
        spec = None
        tail_s = tail_l = ""
        if (ctx == "top" and self.chance(0.5)) or (ctx == "inner" and self.chance(0.3)):
            os_, ol, spec = self.order_by([e for e, _ in sel], aliases, positions_only=positions_only or (distinct and self.chance(0.5)))
            lim = self.limit() if ctx == "top" else " LIMIT %d" % self.pick([1, 5, 10, 50])
            tail_s, tail_l = os_ + lim, ol + lim
            ordered = True
        q = Select(core_s + tail_s, core_l + tail_l, types, ordered and ctx == "top", spec, shape)
        q.cols = [self.out_info(e, scope, a or "col%d" % i) for i, (e, a) in enumerate(sel)]
        return q

    def select_list(self, sel):
        s = ", ".join(e.s + (" AS %s" % a if a else "") for e, a in sel)
        l = ", ".join(e.l + (" AS %s" % a if a else "") for e, a in sel)
        return s, l

    def aliases_for(self, exprs, ctx):
        base = self.new_alias("o")
        return [("%s_%d" % (base, i)) if (ctx == "inner" or self.chance(0.4)) else None for i in range(len(exprs))]

    def q_proj(self, ctx="top", src=None, types=None):
        fs, fl, rels, conj = (src or self.base_source(self.budget_proj))()
        scope = self.scope_of(rels)
        distinct = self.chance(0.15)
        if types is None and ctx == "top" and len(rels) == 1 and self.chance(0.08) and not distinct:
            sel_s = sel_l = "*"
            sel = [(r.e, None) for r in scope]
        elif types is None and ctx == "top" and len(rels) > 1 and self.chance(0.06) and not distinct:
            r = self.pick(rels)
            sel_s = sel_l = "%s.*" % r.alias
            sel = [(x.e, None) for x in r.refs(True)]
        else:
            if types is None:
                exprs = self.items(scope, self.rng.randint(1, 5))
            else:
                exprs = [(self.col(scope, t).e if self.col(scope, t) and self.chance(0.6) else self.expr(t, scope, 2)) for t in types]
            sel = list(zip(exprs, self.aliases_for(exprs, ctx)))
            sel_s, sel_l = self.select_list(sel)
        ws, wl = self.where(conj, scope)
        d = "DISTINCT " if distinct else ""
        core_s = "SELECT %s%s FROM %s%s" % (d, sel_s, fs, ws)
        core_l = "SELECT %s%s FROM %s%s" % (d, sel_l, fl, wl)
        if ctx == "top" and not distinct and self.chance(0.2):
            uniq = self.row_keys(rels, scope)
            if uniq:
                keys = [self.pick(scope).e for _ in range(self.rng.randint(0, 2))] + uniq
                ob = ", ".join(k.s + self.pick(["", " DESC", " ASC"]) + self.pick(["", "", " NULLS FIRST", " NULLS LAST"]) for k in keys)
                lim = self.limit()
                return Select(core_s + " ORDER BY " + ob + lim, core_l + " ORDER BY " + ob + lim, [e.t for e, _ in sel], True, None,
                              "proj")
        if ctx == "union":
            return Select(core_s, core_l, [e.t for e, _ in sel], kind="proj")
        return self.finish(core_s, core_l, sel, ctx, "proj", scope, distinct)

    def group_key(self, scope):
        for _ in range(5):
            k = self.group_key1(scope)
            # A literal key would be a position in SQLite's GROUP BY.
            if re.search(r'[a-z"]', re.sub(r"'(?:[^']|'')*'", "", k.s)):
                return k
        return self.pick(scope).e

    def group_key1(self, scope):
        if self.chance(0.02):
            return self.in_subquery(scope)
        r = self.pick(scope)
        if self.chance(0.6):
            return r.e
        k = self.pick(["bucket", "mod", "div", "lower", "round", "pred", "expr"])
        num = self.col(scope, "int") or self.col(scope, "float")
        if k == "bucket" and num is not None:
            a, b = sorted([self.lit_of(num.e.t, num.info), self.lit_of(num.e.t, num.info)], key=lambda x: float(x.s))
            return mk("str", "CASE WHEN %s < %s THEN 'low' WHEN %s < %s THEN 'mid' ELSE 'high' END", num.e, a, num.e, b)
        if k in ("mod", "div") and self.col(scope, "int") is not None:
            return mk("int", "(%s " + ("%%" if k == "mod" else "/") + " %s)", self.col(scope, "int").e, lit(self.pick([2, 3, 5, 10, 100])))
        if k == "lower" and self.col(scope, "str") is not None:
            return mk("str", "LOWER(%s)", self.col(scope, "str").e)
        if k == "round" and self.col(scope, "float") is not None:
            return mk("float", "ROUND(%s, %s)", self.col(scope, "float").e, lit(self.pick([0, 1])))
        if k == "pred":
            return self.pred(scope, 0)
        return self.expr(self.pick(["int", "str", "bool"]), scope, 1)

    def q_agg(self, ctx="top", src=None, types=None):
        fs, fl, rels, conj = (src or self.base_source(self.budget_agg))()
        scope = self.scope_of(rels)
        nkeys = self.wpick([(2, 0), (5, 1), (3, 2), (1, 3)])
        keys, seen = [], set()
        for _ in range(nkeys):
            k = self.group_key(scope)
            if k.s not in seen:
                seen.add(k.s)
                keys.append(k)
        if types is None:
            exprs = [k for k in keys if self.chance(0.9)]
            exprs += [self.agg(self.pick(["int", "int", "float", "float", "str", "bool"]), scope) for _ in range(self.rng.randint(1, 4))]
            self.rng.shuffle(exprs)
        else:
            exprs = []
            for t in types:
                ks = [k for k in keys if k.t == t]
                exprs.append(self.pick(ks) if ks and self.chance(0.5) else self.agg(t, scope))
        sel = list(zip(exprs, self.aliases_for(exprs, ctx)))
        if types is None and keys and ctx == "top" and self.chance(0.12):
            # A window over the groups: ranks by an integer aggregate (exact ties).
            k = self.pick(keys)
            a = self.pick([E("COUNT(*)", "int"), self.agg("int", scope)])
            fn = self.pick(["RANK", "DENSE_RANK"])
            part = ("PARTITION BY %s " % k.s) if len(keys) > 1 and self.chance(0.5) else ""
            lpart = ("PARTITION BY %s " % k.l) if part else ""
            sel.append((E("%s() OVER (%sORDER BY %s DESC)" % (fn, part, a.s), "int",
                          "%s() OVER (%sORDER BY %s DESC)" % (fn, lpart, a.l)), self.new_alias("wr")))
        sel_s, sel_l = self.select_list(sel)
        ws, wl = self.where(conj, scope, p=0.5)
        gs = gl = hs = hl = ""
        if keys:
            # Each key as its expression, or its select-list alias or position.
            gparts = []
            for k in keys:
                at = [i for i, (e, _) in enumerate(sel) if e is k]
                form = self.pick(["expr", "expr", "expr", "alias", "pos"]) if at else "expr"
                if form == "alias" and sel[at[0]][1]:
                    gparts.append((sel[at[0]][1], sel[at[0]][1]))
                elif form in ("alias", "pos"):
                    gparts.append((str(at[0] + 1), str(at[0] + 1)))
                else:
                    gparts.append((k.s, k.l))
            gs = " GROUP BY " + ", ".join(a for a, _ in gparts)
            gl = " GROUP BY " + ", ".join(b for _, b in gparts)
            if self.chance(0.3):
                h = self.having(scope, 1, keys)
                hs, hl = " HAVING " + h.s, " HAVING " + h.l
        elif self.chance(0.15):
            h = self.having(scope, 0)
            hs, hl = " HAVING " + h.s, " HAVING " + h.l
        core_s = "SELECT %s FROM %s%s%s%s" % (sel_s, fs, ws, gs, hs)
        core_l = "SELECT %s FROM %s%s%s%s" % (sel_l, fl, wl, gl, hl)
        if ctx == "union":
            return Select(core_s, core_l, [e.t for e, _ in sel], kind="agg")
        return self.finish(core_s, core_l, sel, ctx, "agg", scope)

    def inner_query(self):
        return (self.q_agg if self.chance(0.55) else self.q_proj)("inner")

    def star_inner(self):
        """SELECT * FROM one table (the derived table keeps its column names)."""
        table = self.pick(["cells", "genes", "expr"])
        fs, fl, rels, conj = self.source(table, self.budget_agg if table == "expr" else None)
        scope = self.scope_of(rels)
        ws, wl = self.where(conj, scope, p=0.6, allow_sub=False)
        q = Select("SELECT * FROM %s%s" % (fs, ws), "SELECT * FROM %s%s" % (fl, wl), [c.type for c in rels[0].cols], kind="star")
        for c in rels[0].cols:
            d = ColInfo(c.name, c.type)
            for a in ("samples", "distinct", "lo", "hi", "numstr", "nullable"):
                setattr(d, a, getattr(c, a))
            d.idkind = c.name if c.name in ("cell_integer_id", "gene_integer_id") else None
            d.origin = c
            q.cols.append(d)
        return q

    def derived_source(self, cte):
        """A CTE or derived table, maybe joined with cells or genes on an id column."""
        inner = self.star_inner() if self.chance(0.15) else self.inner_query()
        name = self.new_alias("t")
        if cte:
            rel = Rel(name, name, inner.cols, name)
            with_s, with_l = "WITH %s AS (%s) " % (name, inner.s), "WITH %s AS (%s) " % (name, inner.l)
            if self.chance(0.3):
                # A second CTE over the first.
                first = rel
                inner = (self.q_agg if self.chance(0.5) else self.q_proj)("inner", src=lambda: (first.sql, first.lsql, [first], []))
                name = self.new_alias("t")
                rel = Rel(name, name, inner.cols, name)
                with_s = with_s[:-1] + ", %s AS (%s) " % (name, inner.s)
                with_l = with_l[:-1] + ", %s AS (%s) " % (name, inner.l)
        else:
            rel = Rel(name, name, inner.cols, "(%s) AS %s" % (inner.s, name), "(%s) AS %s" % (inner.l, name))
            with_s = with_l = ""
        ids = [c for c in inner.cols if getattr(c, "idkind", None)]
        # Columns that came from a cells/genes column: joinable on it (string keys, many to many).
        named = []
        for c in inner.cols:
            o = getattr(c, "origin", None)
            if o is not None and c.type == "str" and o.distinct is not None:
                for table in ("cells", "genes"):
                    if any(x is o for x in self.ds.tables[table]):
                        named.append((c, table, o.name))

        def src():
            rels, conj = [rel], []
            fs, fl = rel.sql, rel.lsql
            if named and self.chance(0.35):
                c, table, col = self.pick(named)
                o = self.rel(table, qualified=True)
                cond = "%s.%s = %s.%s" % (rel.alias, qident(c.name), o.alias, qident(col))
                fs += " JOIN %s ON %s" % (o.sql, cond)
                fl += " JOIN %s ON %s" % (o.sql, cond)
                conj.append(self.id_window(o, table, 120))
                rels.append(o)
            elif cte and ids and inner.kind == "agg" and self.chance(0.12):
                # The CTE joined with itself.
                c = self.pick(ids)
                a2 = self.new_alias("s")
                r2 = Rel(rel.table, a2, rel.cols, "%s %s" % (rel.sql, a2))
                cond = "%s.%s = %s.%s" % (rel.alias, qident(c.name), a2, qident(c.name))
                fs += " JOIN %s ON %s" % (r2.sql, cond)
                fl += " JOIN %s ON %s" % (r2.sql, cond)
                rels.append(r2)
            elif ids and self.chance(0.6):
                c = self.pick(ids)
                other = "cells" if c.idkind == "cell_integer_id" else "genes"
                o = self.rel(other, qualified=True)
                cond = "%s.%s = %s.%s" % (rel.alias, qident(c.name), o.alias, c.idkind)
                if self.chance(0.5):
                    fs += " JOIN %s ON %s" % (o.sql, cond)
                    fl += " JOIN %s ON %s" % (o.sql, cond)
                else:
                    fs, fl = o.sql + ", " + fs, o.sql + ", " + fl
                    conj.append(E(cond, "bool"))
                rels.append(o)
            return fs, fl, rels, conj
        return with_s, with_l, src

    def q_with(self, cte):
        with_s, with_l, src = self.derived_source(cte)
        outer = (self.q_agg if self.chance(0.5) else self.q_proj)("top", src=src)
        outer.s, outer.l = with_s + outer.s, with_l + outer.l
        outer.kind = "cte" if cte else "derived"
        return outer

    def q_union(self):
        first = (self.q_agg if self.chance(0.4) else self.q_proj)("union")
        cores_s, cores_l = [first.s], [first.l]
        for _ in range(self.rng.randint(1, 2)):
            c = (self.q_agg if self.chance(0.4) else self.q_proj)("union", types=first.types)
            cores_s.append(c.s)
            cores_l.append(c.l)
        s, l = " UNION ALL ".join(cores_s), " UNION ALL ".join(cores_l)
        q = Select(s, l, first.types, kind="union")
        if self.chance(0.5):
            os_, ol, spec = self.order_by([E("x", t) for t in first.types], [None] * len(first.types), positions_only=True)
            lim = self.limit()
            q.s, q.l, q.ordered, q.order_spec = s + os_ + lim, l + ol + lim, True, spec
        return q

    def in_subquery(self, scope):
        cands = [r for r in scope if r.e.t in ("int", "str")]
        if not cands:
            return self.pred(scope, 1)
        ids = [r for r in cands if r.info is not None and r.info.name in ("cell_integer_id", "gene_integer_id")]
        r = self.pick(ids) if ids and self.chance(0.6) else self.pick(cands)
        neg = "NOT " if self.chance(0.3) else ""
        if r.info is not None and r.info.name in ("cell_integer_id", "gene_integer_id") and self.chance(0.7):
            kind = self.pick(["expr", "cells" if r.info.name == "cell_integer_id" else "genes"])
            fs, fl, rels, conj = self.source(kind, self.budget_sub if kind == "expr" else None)
            sub_scope = self.scope_of(rels)
            y = next(x for x in sub_scope if x.info.name == r.info.name).e
        else:
            kind = self.pick(["cells", "genes", "expr"])
            fs, fl, rels, conj = self.source(kind, self.budget_sub if kind == "expr" else None)
            sub_scope = self.scope_of(rels)
            y = self.col(sub_scope, r.e.t).e if self.col(sub_scope, r.e.t) and self.chance(0.8) else self.expr(r.e.t, sub_scope, 1)
        ws, wl = self.where(conj, sub_scope, p=0.8, allow_sub=False)
        d = "DISTINCT " if self.chance(0.3) else ""
        if self.chance(0.15):
            # ... IN (SELECT ... UNION ALL SELECT ...)
            kind2 = self.pick(["cells", "genes", "expr"])
            fs2, fl2, rels2, conj2 = self.source(kind2, self.budget_sub if kind2 == "expr" else None)
            sc2 = self.scope_of(rels2)
            y2 = self.col(sc2, r.e.t).e if self.col(sc2, r.e.t) else self.expr(r.e.t, sc2, 1)
            ws2, wl2 = self.where(conj2, sc2, p=0.8, allow_sub=False)
            return E("(%s %sIN (SELECT %s FROM %s%s UNION ALL SELECT %s FROM %s%s))" % (r.e.s, neg, y.s, fs, ws, y2.s, fs2, ws2), "bool",
                     "(%s %sIN (SELECT %s FROM %s%s UNION ALL SELECT %s FROM %s%s))" % (r.e.l, neg, y.l, fl, wl, y2.l, fl2, wl2))
        return E("(%s %sIN (SELECT %s%s FROM %s%s))" % (r.e.s, neg, d, y.s, fs, ws), "bool",
                 "(%s %sIN (SELECT %s%s FROM %s%s))" % (r.e.l, neg, d, y.l, fl, wl))

    def row_keys(self, rels, scope):
        """Plain columns that identify a row of the FROM clause (empty if unknown)."""
        keys = []
        for r in rels:
            if r.table in self.ds.value_types:
                want = ("cell_integer_id", "gene_integer_id")
            elif r.table in ("cells", "genes"):
                want = (r.table[:-1] + "_integer_id",)
            else:
                return []
            found = [x.e for x in scope if any(x.info is c for c in r.cols) and x.info.name in want
                     and (x.e.s.startswith("%s." % r.alias) or "." not in x.e.s)]
            if len(found) != len(want):
                return []
            keys += found
        return keys

    def unique_keys(self, rels, scope):
        """Expressions that identify a row of the FROM clause."""
        keys = self.row_keys(rels, scope)
        if keys:
            return keys
        for r in rels:
            if r.table in self.ds.value_types:
                return [x.e for x in scope if any(x.info is c for c in r.cols) and x.info.name in ("cell_integer_id", "gene_integer_id")
                        and (x.e.s.startswith("%s." % r.alias) or "." not in x.e.s)]
        r = rels[0]
        key = "cell_integer_id" if r.table == "cells" else "gene_integer_id"
        return [x.e for x in scope if x.info is not None and x.info.name == key][:1]

    def window_spec(self, scope, uniq, fn):
        parts = []
        if self.chance(0.8):
            cands = [r.e for r in scope if (r.info is not None and r.info.distinct) or r.e.t == "bool"]
            keys = [self.pick(cands) if cands and self.chance(0.8) else self.group_key(scope) for _ in range(self.rng.randint(1, 2))]
            parts.append("PARTITION BY " + ", ".join("%s" for _ in keys))
        else:
            keys = []
        order = []
        for _ in range(self.rng.randint(1, 2)):
            e = self.pick(scope).e
            order.append((e, self.pick(["", " DESC", " ASC"]) + self.pick(["", "", " NULLS FIRST", " NULLS LAST"])))
        if fn == "ROW_NUMBER":
            order += [(u, self.pick(["", " DESC"])) for u in uniq]
        parts.append("ORDER BY " + ", ".join("%s" + suf for _, suf in order))
        return mk("int", fn + "() OVER (" + " ".join(parts) + ")", *(keys + [e for e, _ in order]))

    def q_window(self):
        if self.chance(0.4):
            return self.q_topk()
        fs, fl, rels, conj = self.base_source(self.budget_proj)()
        scope = self.scope_of(rels)
        uniq = self.unique_keys(rels, scope)
        fn = self.pick(["ROW_NUMBER", "ROW_NUMBER", "RANK", "DENSE_RANK"])
        w = self.window_spec(scope, uniq, fn)
        exprs = self.items(scope, self.rng.randint(1, 3))
        name = self.new_alias("rn")
        sel = [(e, a) for e, a in zip(exprs, self.aliases_for(exprs, "inner"))] + [(w, name)]
        if self.chance(0.3):
            fn2 = self.pick(["ROW_NUMBER", "RANK", "DENSE_RANK"])
            sel.append((self.window_spec(scope, uniq, fn2), self.new_alias("rn")))
        self.rng.shuffle(sel)
        sel_s, sel_l = self.select_list(sel)
        ws, wl = self.where(conj, scope, p=0.5)
        core_s = "SELECT %s FROM %s%s" % (sel_s, fs, ws)
        core_l = "SELECT %s FROM %s%s" % (sel_l, fl, wl)
        wrapped = self.chance(0.5)
        if wrapped:
            # Keep the first rows of each partition.
            t = self.new_alias("w")
            k = self.pick([1, 2, 3, 5])
            core_s = "SELECT * FROM (%s) AS %s WHERE %s.%s <= %d" % (core_s, t, t, name, k)
            core_l = "SELECT * FROM (%s) AS %s WHERE %s.%s <= %d" % (core_l, t, t, name, k)
        return self.finish(core_s, core_l, sel, "top", "window", scope, positions_only=wrapped)

    def q_topk(self):
        """Top-k per group: grouped CTE, then ROW_NUMBER/RANK over it."""
        fs, fl, rels, conj = self.source(self.pick(["expr+cells", "expr+genes", "expr+cells+genes", "expr"]), self.budget_agg)
        scope = self.scope_of(rels)
        part = self.group_key(scope)
        ents = [r.e for r in scope if r.info is not None and r.info.name in ("cell_integer_id", "gene_integer_id")]
        ent = self.pick(ents + [r.e for r in scope if r.info is not None and r.info.distinct is None and r.e.t == "str"])
        # Ranked by an exactly computed value: an integer aggregate, or MIN/MAX of a
        # double (sums of doubles depend on the order of addition: near-ties).
        fcol = self.col(scope, "float")
        if fcol is not None and self.chance(0.3):
            val = mk("float", self.pick(["MIN", "MAX"]) + "(%s)", fcol.e)
        else:
            val = self.agg("int", scope)
        t, w = self.new_alias("t"), self.new_alias("w")
        ws, wl = self.where(conj, scope, p=0.4, allow_sub=False)
        inner_s = "SELECT %s AS p, %s AS k, %s AS v FROM %s%s GROUP BY %s, %s" % (part.s, ent.s, val.s, fs, ws, part.s, ent.s)
        inner_l = "SELECT %s AS p, %s AS k, %s AS v FROM %s%s GROUP BY %s, %s" % (part.l, ent.l, val.l, fl, wl, part.l, ent.l)
        fn = self.pick(["ROW_NUMBER", "ROW_NUMBER", "RANK", "DENSE_RANK"])
        desc = self.pick([" DESC", "", " DESC NULLS LAST"])
        over = "PARTITION BY p ORDER BY v%s%s" % (desc, ", k" if fn == "ROW_NUMBER" else "")
        k = self.pick([1, 2, 3, 5])
        tail = "SELECT p, k, v, r FROM (SELECT p, k, v, %s() OVER (%s) AS r FROM %s) AS %s WHERE r <= %d" % (fn, over, t, w, k)
        s = "WITH %s AS (%s) %s" % (t, inner_s, tail)
        l = "WITH %s AS (%s) %s" % (t, inner_l, tail)
        q = Select(s, l, [part.t, ent.t, val.t, "int"], kind="topk")
        if self.chance(0.5):
            os_, ol, spec = self.order_by([E("p", part.t), E("k", ent.t), E("v", val.t), E("r", "int")], ["p", "k", "v", "r"])
            q.s, q.l, q.ordered, q.order_spec = s + os_, l + ol, True, spec
        return q

    def q_limit_count(self):
        """COUNT(*) of a query with LIMIT but no ORDER BY: min(n, rows) either way."""
        inner = (self.q_proj if self.chance(0.6) else self.q_agg)("union")
        n = self.pick([0, 1, 5, 50, 1000])
        off = " OFFSET %d" % self.pick([0, 3, 100]) if self.chance(0.3) else ""
        t = self.new_alias("t")
        s = "SELECT COUNT(*) FROM (%s LIMIT %d%s) AS %s" % (inner.s, n, off, t)
        l = "SELECT COUNT(*) FROM (%s LIMIT %d%s) AS %s" % (inner.l, n, off, t)
        return Select(s, l, ["int"], kind="limitcount")

    def q_selfjoin(self):
        e1, e2 = self.new_alias("e"), self.new_alias("e")
        on_cell = self.chance(0.7)
        key, other = ("cell_integer_id", "gene_integer_id") if on_cell else ("gene_integer_id", "cell_integer_id")
        bud = (self.budget_agg or self.ds.nnz) // 2
        n = self.ds.n_genes if on_cell else self.ds.n_cells
        ids = self.some_genes(bud, 2) if on_cell else self.some_cells(bud, 2)
        a = ids[0]
        b = ids[1] if len(ids) > 1 else (a + 1) % n
        frm = "expression %s JOIN expression %s ON %s.%s = %s.%s" % (e1, e2, e1, key, e2, key)
        cond = "%s.%s = %d AND %s.%s = %d" % (e1, other, a, e2, other, b)
        v1, v2 = E("%s.value" % e1, self.ds.value_types["expression"]), E("%s.value" % e2, self.ds.value_types["expression"])
        if self.chance(0.5):
            body = "SELECT %s.%s, %s, %s FROM %s WHERE %s" % (e1, key, v1.s, v2.s, frm, cond)
            return Select(body, body, ["int", v1.t, v2.t], kind="selfjoin")
        aggs = ["COUNT(*)", "SUM(%s * %s)" % (v1.s, v2.s), "AVG(%s - %s)" % (v1.s, v2.s), "MAX(%s)" % v2.s]
        body = "SELECT %s FROM %s WHERE %s" % (", ".join(aggs), frm, cond)
        return Select(body, body, ["int", v1.t, "float", v2.t], kind="selfjoin")

    def query(self):
        q = self.query1()
        if self.chance(0.12):
            q.s = self.scramble(q.s)
        return q

    def scramble(self, text):
        """The same statement spelled differently: keyword and identifier case,
        != and ==, line breaks, tabs, comments, a trailing ';'."""
        out, i = [], 0
        for m in re.finditer(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[A-Za-z_][A-Za-z0-9_]*|<>|=|[ ]", text):
            out.append(text[i:m.start()])
            tok = m.group(0)
            if tok[0] in "'\"":
                pass
            elif tok == " ":
                tok = self.pick([" ", " ", " ", " ", "\n", "\t", "  ", " /* c */ ", "\n-- note\n"])
            elif tok in ALT_OPS:
                if self.chance(0.3) and text[m.start() - 1:m.start()] == " " and text[m.end():m.end() + 1] == " ":
                    tok = ALT_OPS[tok]
            else:
                tok = self.pick([tok, tok.lower(), tok.upper()])
            out.append(tok)
            i = m.end()
        out.append(text[i:])
        return "".join(out) + self.pick(["", ";", " ;", "\n"])

    def query1(self):
        k = self.wpick([(20, "proj"), (25, "agg"), (9, "cte"), (6, "derived"), (8, "union"), (10, "window"), (3, "selfjoin"),
                        (2, "limitcount")])
        self.alias_n = 0
        if k == "proj":
            return self.q_proj()
        if k == "agg":
            return self.q_agg()
        if k in ("cte", "derived"):
            return self.q_with(k == "cte")
        if k == "union":
            return self.q_union()
        if k == "window":
            return self.q_window()
        if k == "limitcount":
            return self.q_limit_count()
        return self.q_selfjoin()


def generate_queries(ds, seed, count, big):
    g = QueryGen(ds, random.Random("%s/%d" % (ds.name, seed)), big)
    return [g.query() for _ in range(count)]


# --- the corpus ---------------------------------------------------------------------

# Which columns play which part in each dataset's corpus queries.
ROLES = {
    "gen": dict(ctype="cell_type", cat2="batch", cnum="total_counts", cfloat="pct_counts_mt", gbool="highly_variable",
                gfloat="dispersion", gint="n_cells_by_counts", numcat="leiden", cellname="cell_id", gname="gene_id"),
    "pbmc": dict(cellname="cell_id", gname="gene_symbol"),
    "h5": dict(ctype="grp", cat2="label", cnum="n_counts", cfloat="score", cnull="age", cbool="doublet", gbool="hv", gfloat="w",
               layer="layer_counts", layerf="layer_scaled", layer_offset="layer_offset", cellname="barcode", gname="symbol"),
    "small": dict(cellname="cell_id", gname="gene_id", ctype="groups", cnum="nFeature_RNA", cfloat="nCount_RNA", gfloat="vst.mean",
                  gint="vst.variable"),
}


def corpus_placeholders(ds, role_name):
    """{placeholder: text} for one dataset, values taken from its data."""
    roles = ROLES[role_name]
    conn = ds.conn
    p = {k: qident(v) if not v.startswith("layer_") else v for k, v in roles.items()}
    p["mt"] = "MT-%"
    if not ds.n_genes > 20000:
        p["notbig"] = ""  # queries too slow for SQLite's Python aggregates on pbmc3k

    def one(sql, *args):
        return conn.execute(sql, args).fetchone()[0]

    def num(v, t):
        return str(int(v)) if t == "int" else repr(round(float(v), 3))

    vt = ds.value_types["expression"]
    n, ng = ds.n_cells, ds.n_genes
    cell, gene = p["cellname"], p["gname"]
    if "ctype" in roles:
        top = conn.execute("SELECT %s FROM cells WHERE %s IS NOT NULL GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 2" % (p["ctype"], p["ctype"])).fetchall()
        p["ctype_a"], p["ctype_b"] = top[0][0], top[-1][0]
    cids = [7 % n, n // 2, n - 1]
    p.update(cid_a=str(cids[0]), cid_b=str(cids[1]), cid_c=str(cids[2]), cid_hi=str(min(n - 1, 40)))
    p["cell_a"] = one("SELECT %s FROM cells WHERE cell_integer_id = ?" % cell, n // 3)
    p["cell_b"] = one("SELECT %s FROM cells WHERE cell_integer_id = ?" % cell, (2 * n) // 3)
    p["cell_like"] = p["cell_a"][:-2] + "_" + p["cell_a"][-1:]
    rank = np.argsort(-ds.gene_nnz, kind="stable")
    gids = [int(rank[min(i, ng - 1)]) for i in (0, 5, 30, 150)]
    for k, g in zip("abcd", gids):
        p["gid_" + k] = str(g)
        p["gene_" + k] = one("SELECT %s FROM genes WHERE gene_integer_id = ?" % gene, g)
    p["gid_lo"], p["gid_hi"] = str(ng // 2), str(min(ng - 1, ng // 2 + 50))
    p["gprefix"] = p["gene_a"][:3] + "%"
    p["gid_cell_a"] = str(one("SELECT MIN(gene_integer_id) FROM expression WHERE cell_integer_id = ?", cids[0]))
    sums = np.array([r[0] for r in conn.execute("SELECT SUM(value) FROM expression GROUP BY cell_integer_id")])
    p["tc"] = num(np.median(sums), vt)
    p["ng"] = str(int(np.median(ds.cell_nnz)))
    p["ng_hi"] = str(int(np.percentile(ds.cell_nnz, 90)))
    p["ncells"] = str(int(np.median(ds.gene_nnz[ds.gene_nnz > 0])))
    vals = np.array([r[0] for r in conn.execute("SELECT value FROM expression WHERE cell_integer_id < 300")])
    p["vhi"], p["vmid"] = num(np.percentile(vals, 95), vt), num(np.median(vals), vt)
    if "cnum" in roles:
        v = np.array([r[0] for r in conn.execute("SELECT %s FROM cells WHERE %s IS NOT NULL" % (p["cnum"], p["cnum"]))])
        p["cnum_q1"], p["cnum_q3"] = str(int(np.percentile(v, 25))), str(int(np.percentile(v, 75)))
    if "cfloat" in roles:
        v = np.array([r[0] for r in conn.execute("SELECT %s FROM cells" % p["cfloat"])])
        p["cfloat_lo"], p["cfloat_hi"] = repr(round(float(np.percentile(v, 20)), 3)), repr(round(float(np.percentile(v, 60)), 3))
    if "cnull" in roles:
        p["cnull_mid"] = str(int(one("SELECT %s FROM cells WHERE %s IS NOT NULL ORDER BY 1 LIMIT 1 OFFSET ?" % (p["cnull"], p["cnull"]),
                                     one("SELECT COUNT(%s) FROM cells" % p["cnull"]) // 2)))
    if "gfloat" in roles:
        v = np.array([r[0] for r in conn.execute("SELECT %s FROM genes" % p["gfloat"])])
        p["gfloat_mid"] = repr(round(float(np.median(v)), 3))
    return {k: str(v).replace("'", "''") for k, v in p.items()}


def read_corpus(path):
    """[(id, description, sql with placeholders)] from sql_corpus.sql."""
    out, cur = [], None
    with open(path) as f:
        for line in f:
            m = re.match(r"--\s*(q\d+):\s*(.*)", line)
            if m:
                cur = [m.group(1), m.group(2).strip(), ""]
                out.append(cur)
            elif cur is not None and not line.startswith("--"):
                cur[2] += line
    return [(i, d, s.strip().rstrip(";").strip()) for i, d, s in out]


def fill(sql, placeholders):
    """The query with its placeholders filled, or None if one is missing."""
    missing = [k for k in re.findall(r"\{(\w+)\}", sql) if k not in placeholders]
    if missing:
        return None
    return re.sub(r"\{(\w+)\}", lambda m: placeholders[m.group(1)], sql)


# --- datasets -------------------------------------------------------------------------

def build_h5ad(path):
    """A small h5ad with float32 X, integer and float layers and obs/var
    columns of every type, several with nulls; named index columns (barcode,
    symbol), empty cells and genes, a layer with another sparsity pattern and
    one far from zero (variance by sums of squares would cancel), strings with
    quotes, LIKE wildcards and non-ASCII letters."""
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp
    rng = np.random.default_rng(5)
    n, g = 700, 300
    counts = sp.random(n, g, density=0.1, format="lil", random_state=1,
                       data_rvs=lambda k: rng.integers(1, 60, k)).astype(np.int32)
    counts[10:15, :] = 0  # cells without nonzeros
    counts[:, 290:] = 0   # genes without nonzeros
    counts = counts.tocsr()
    counts.eliminate_zeros()
    big = counts.astype(np.int64)
    big.data[7] = 4_000_000_000  # near the top of uint32 (layer counts only)
    counts.eliminate_zeros()
    x = counts.astype(np.float32)
    x.data = np.log1p(x.data / np.float32(2)).astype(np.float32)
    obs = pd.DataFrame(index=pd.Index(["c%04d_%s" % (i, "AB"[i % 2]) for i in range(n)], name="barcode"))
    obs["grp"] = pd.Categorical(rng.choice(["alpha", "beta", "gamma", None], n), categories=["alpha", "beta", "gamma", "delta"])
    obs["age"] = pd.array([None if rng.random() < 0.2 else int(rng.integers(-5, 80)) for _ in range(n)], dtype="Int64")
    obs["doublet"] = pd.array([None if rng.random() < 0.15 else bool(rng.random() < 0.3) for _ in range(n)], dtype="boolean")
    labels = ["L%d" % i for i in range(5)] + ["L'q", "50%_x", "", "\u00df-Zelle", "\u00c9t\u00e9"]
    obs["label"] = [None if rng.random() < 0.1 else labels[rng.integers(0, len(labels))] for _ in range(n)]
    obs["score"] = np.round(rng.normal(0, 2, n), 4)
    obs["n_counts"] = np.asarray(counts.sum(1)).ravel().astype(np.int64)
    obs["ok"] = rng.random(n) < 0.5
    obs["nGenes"] = np.diff(counts.indptr).astype(np.int64)
    obs["order"] = rng.integers(-3, 4, n)  # a keyword as a column name
    var = pd.DataFrame(index=pd.Index(["MT-%d" % i if i < 5 else ("Gene%03d" % i if i % 7 else "gene%03d" % i) for i in range(g)],
                                      name="symbol"))
    var["chrom"] = pd.Categorical(rng.choice(["chr1", "chr2", "chrX"], g))
    var["hv"] = rng.random(g) < 0.2
    var["w"] = rng.random(g)
    scaled = sp.random(n, g, density=0.08, format="csr", random_state=2, dtype=np.float32)
    scaled.data = (scaled.data * np.float32(4) - np.float32(2)).astype(np.float32)
    scaled.data[scaled.data == 0] = np.float32(0.5)
    offset = x.copy()
    offset.data = (offset.data + np.float32(1000)).astype(np.float32)
    a = ad.AnnData(X=x, obs=obs, var=var, layers={"counts": big, "scaled": scaled, "offset": offset})
    a.write_h5ad(path)


class Built:
    def __init__(self, name, path, big, versions=(None,)):
        self.name, self.path, self.big, self.versions = name, path, big, versions


def build_datasets(tmp, shared, only):
    out = []
    if "gen" in only:
        gen = os.path.join(tmp, "gen.slaf")
        # Small chunks (zone maps, chunk boundaries); the gene index (version 2) covers
        # the first 3000 cells only once 600 more are appended (version 3, two segments).
        run_slaf_checked("generate", gen, "--cells", 3000, "--genes", 400, "--density", 0.07, "--seed", 11, "--chunk-bytes", 4096,
                         "--quiet")
        run_slaf_checked("index", gen)
        src = os.path.join(tmp, "gen_src.slaf")
        run_slaf_checked("generate", src, "--cells", 600, "--genes", 400, "--density", 0.05, "--seed", 11, "--quiet")
        run_slaf_checked("append", gen, src, "--cell-id-prefix", "b_", "--quiet")
        out.append(Built("gen", gen, False, (None, 1, 2)))
    if "pbmc" in only:
        pbmc = os.path.join(tmp, "pbmc3k.slaf")
        # With the gene-major copy: gene selections read it (gen at version 1/2 has none).
        run_slaf_checked("convert", os.path.join(ROOT, "demo", "pbmc3k", "filtered_gene_bc_matrices", "hg19"), pbmc, "--quiet",
                         "--gene-index")
        out.append(Built("pbmc", pbmc, True))
    if "h5" in only:
        try:
            h5 = os.path.join(tmp, "typed.h5ad")
            build_h5ad(h5)
        except ImportError as e:
            log("note: no anndata (%s): the typed h5ad dataset is skipped" % e)
        else:
            ds = os.path.join(tmp, "typed.slaf")
            run_slaf_checked("convert", h5, ds, "--quiet")
            out.append(Built("h5", ds, False))
    if "small" in only:
        small = os.path.join(shared, "pbmc_small_h5ad", "pbmc-small.h5ad")
        if os.path.exists(small):
            ds = os.path.join(tmp, "pbmc_small.slaf")
            run_slaf_checked("convert", small, ds, "--quiet")
            out.append(Built("small", ds, False))
        else:
            log("note: %s not found: the real float dataset is skipped" % small)
    return out


# --- running and comparing ------------------------------------------------------------

class Job:
    def __init__(self, ds, qid, s, l, ordered, spec=None):
        self.ds, self.qid, self.s, self.l, self.ordered, self.spec = ds, qid, s, l, ordered, spec
        # Every fifth query runs inline (--threads 1), the others on slaf's default 2 threads.
        self.threads = 1 if zlib_crc(qid + s) % 5 == 0 else None
        # Every seventh runs with --explain: the same rows on stdout, the plan on stderr.
        self.explain = zlib_crc(qid + s) % 7 == 3
        self.exp = self.exp_err = self.got = self.got_err = None
        self.types = None
        self.sqlite_s = 0.0


def zlib_crc(text):
    return zlib.crc32(text.encode())


def slaf_query(job):
    args = [SLAF, "query", job.ds.path, job.s, "--format", "json"]
    if job.ds.version is not None:
        args += ["--version", str(job.ds.version)]
    if job.threads is not None:
        args += ["--threads", str(job.threads)]
    if job.explain:
        args.append("--explain")
    t = time.monotonic()
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, "timeout after 120 s", time.monotonic() - t
    dt = time.monotonic() - t
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, p.stderr.strip()[-1500:]), dt
    if job.explain and "->" not in p.stderr:
        return None, "--explain printed no plan on stderr: %r" % p.stderr[:300], dt
    if len(p.stdout) > (64 << 20):
        # Every query is meant to return a small result: don't parse a runaway one.
        return None, "output of %d bytes (more than 64 MiB; a runaway result)" % len(p.stdout), dt
    try:
        types, rows = parse_slaf_json(p.stdout)
    except (ValueError, KeyError, TypeError) as e:
        return None, "bad JSON (%s): %s" % (e, p.stdout[:500]), dt
    return (types, rows), None, dt


def run_jobs(jobs, sqlite_only, workers):
    """Runs every job in SQLite (this thread) and in slaf (a pool of processes)."""
    futures = {}
    pool = None
    if not sqlite_only:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        for j in jobs:
            futures[id(j)] = pool.submit(slaf_query, j)
    for j in jobs:
        t = time.monotonic()
        j.exp, j.exp_err = sqlite_run(j.ds.conn, j.l)
        j.sqlite_s = time.monotonic() - t
    slaf_s = 0.0
    if pool is not None:
        for j in jobs:
            res, err, dt = futures[id(j)].result()
            slaf_s += dt
            if res is not None:
                j.types, j.got = res
            j.got_err = err
        pool.shutdown()
    return slaf_s


def check_job(j, sqlite_only):
    """None if it passes, else a description of the failure."""
    if j.exp_err is not None:
        return "SQLite rejected the query (a test bug): %s" % j.exp_err
    if sqlite_only:
        return None
    if j.got_err is not None:
        return "slaf failed: %s" % j.got_err
    if compare(j.exp, j.got, j.ordered, j.spec):
        return None
    return "results differ (%s%d rows expected, %d got)" % ("ordered, " if j.ordered else "", len(j.exp), len(j.got))


def describe(j, why):
    v = ("" if j.ds.version is None else " --version %d" % j.ds.version) + ("" if j.threads is None else " --threads %d" % j.threads) + \
        (" --explain" if j.explain else "")
    s = ["--- %s%s %s: %s" % (j.ds.name, v, j.qid, why), "    SQL:    %s" % j.s.replace("\n", "\n            ")]
    if j.l != j.s:
        s.append("    SQLite: %s" % j.l)
    if j.exp is not None:
        s.append("    expected (SQLite):\n" + short(sorted(j.exp, key=sort_key) if not j.ordered else j.exp))
    if j.got is not None:
        s.append("    got (slaf, %s):\n" % ",".join(j.types or []) + short(sorted(j.got, key=sort_key) if not j.ordered else j.got))
        if j.exp is not None and not j.ordered and len(j.exp) == len(j.got):
            a, b = sorted(j.exp, key=sort_key), sorted(j.got, key=sort_key)
            diff = [(r, t) for r, t in zip(a, b) if not same_row(r, t)]
            if diff:
                s.append("    first differing row: expected %s, got %s" % (json.dumps(diff[0][0]), json.dumps(diff[0][1])))
    return "\n".join(s)


# --- negative checks ------------------------------------------------------------------

NEGATIVE = [
    ("syntax", "SELEC cell_id FROM cells", None),
    ("syntax", "SELECT cell_id FORM cells", None),
    ("syntax", "SELECT cell_id FROM cells WHERE", None),
    ("syntax", "SELECT (1 + 2 FROM cells", None),
    ("syntax", "SELECT 'unterminated FROM cells", None),
    ("syntax", "SELECT * FROM cells LEFT JOIN genes ON 1 = 1", None),
    ("table", "SELECT * FROM cell", "did you mean"),
    ("table", "SELECT COUNT(*) FROM expresion", "did you mean"),
    ("column", "SELECT cel_id FROM cells", "did you mean"),
    ("column", "SELECT c.cell_typ FROM cells c", "did you mean"),
    ("column", "SELECT gene_integer_id FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id", None),
    ("type", "SELECT cell_id + 1 FROM cells", None),
    ("type", "SELECT * FROM cells WHERE cell_id > 5", None),
    ("type", "SELECT SUM(cell_id) FROM cells", None),
    ("type", "SELECT * FROM cells WHERE cell_type IN (1, 2)", None),
    ("agg", "SELECT cell_type, COUNT(*) FROM cells", None),
    ("agg", "SELECT cell_id FROM cells GROUP BY cell_type", None),
    ("agg", "SELECT * FROM cells WHERE COUNT(*) > 1", None),
    ("function", "SELECT NO_SUCH_FN(cell_integer_id) FROM cells", None),
    ("order", "SELECT cell_id FROM cells ORDER BY 3", None),
    ("union", "SELECT cell_id FROM cells UNION ALL SELECT gene_id, 1 FROM genes", None),
    ("limit", "SELECT cell_id FROM cells LIMIT 'x'", None),
]


def negative_checks(gen_path, failures):
    """Malformed SQL, unknown names, type errors: exit 1 with the position."""
    n = 0
    for kind, sql, want in NEGATIVE:
        n += 1
        rc, out, err = run_slaf("query", gen_path, sql, "--format", "json", timeout=60)
        problems = []
        if rc != 1:
            problems.append("exit %s, expected 1%s" % (rc, " (killed by a signal)" if rc < 0 else ""))
        if not re.search(r"SQL error at \d+:\d+: ", err):
            problems.append("stderr lacks 'SQL error at LINE:COL: '")
        if want and want not in err:
            problems.append("stderr lacks %r" % want)
        if problems:
            failures.append("--- negative check (%s): %s\n    SQL: %s\n    stderr: %s" % (kind, "; ".join(problems), sql, err.strip()[-600:]))
    # The position is the offending token's: line 2, column 8 here.
    n += 1
    rc, out, err = run_slaf("query", gen_path, "SELECT cell_id\nFROM cellz", "--format", "json")
    if rc != 1 or "SQL error at 2:6" not in err:
        failures.append("--- negative check (position): expected exit 1 and 'SQL error at 2:6'\n    stderr: %s" % err.strip()[-600:])
    # --file and stdin give the same result as the argument.
    sql = "SELECT cell_type, COUNT(*) FROM cells GROUP BY cell_type ORDER BY 1"
    n += 1
    want = run_slaf("query", gen_path, sql, "--format", "json")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("-- a comment\n" + sql + ";\n")
    got_file = run_slaf("query", gen_path, "--file", f.name, "--format", "json")
    got_stdin = run_slaf("query", gen_path, "-", "--format", "json", stdin=sql)
    os.unlink(f.name)
    if not (want[0] == 0 and got_file[:2] == want[:2] and got_stdin[:2] == want[:2]):
        failures.append("--- --file / stdin: results differ from the argument's\n    arg: %r\n    file: %r\n    stdin: %r" % (
            want[:3], got_file[:3], got_stdin[:3]))
    return n


def schema_checks(ds, failures):
    """Each table's columns (names and types, in order) as the manifest says;
    the obs/var index also reachable as cell_id/gene_id."""
    n = 0
    m = ds.manifest
    slaf_type = {"int64": "int64", "float64": "float64", "bool": "bool", "string": "string", "categorical": "string"}
    want = {}
    for which, table, id_name in (("obs", "cells", "cell_integer_id"), ("var", "genes", "gene_integer_id")):
        want[table] = [(id_name, "int64")] + [(c["name"], slaf_type[c["type"]]) for c in m[which]["columns"]]
    for table, vt in ds.value_types.items():
        want[table] = [("cell_integer_id", "int64"), ("gene_integer_id", "int64"), ("value", "int64" if vt == "int" else "float64")]
    version = [] if ds.version is None else ["--version", str(ds.version)]
    for table, cols in want.items():
        n += 1
        rc, out, err = run_slaf("query", ds.path, "SELECT * FROM %s LIMIT 0" % table, "--format", "json", *version)
        got = [(c["name"], c["type"]) for c in json.loads(out)["columns"]] if rc == 0 else None
        if got != cols:
            failures.append("--- %s schema of %s: expected %s\n    got %s %s" % (ds.name, table, cols, got, err.strip()[-300:]))
    for which, table, alias in (("obs", "cells", "cell_id"), ("var", "genes", "gene_id")):
        index = m[which]["index"]
        if index == alias:
            continue
        n += 1
        a = run_slaf("query", ds.path, "SELECT %s FROM %s ORDER BY 1" % (alias, table), "--format", "csv", *version)
        b = run_slaf("query", ds.path, "SELECT %s FROM %s ORDER BY 1" % (qident(index), table), "--format", "csv", *version)
        if a[0] != 0 or b[0] != 0 or a[1].splitlines()[1:] != b[1].splitlines()[1:]:
            failures.append("--- %s: %s.%s (the index column %s under its usual name) differs from %s:\n    %r\n    %r" % (
                ds.name, table, alias, index, index, a[:3], b[:3]))
    return n


# --- main -------------------------------------------------------------------------------

def main():
    global SLAF
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("slaf")
    ap.add_argument("shared", nargs="?", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--count", type=int, default=1000, help="random queries on the generated dataset")
    ap.add_argument("--pbmc-count", type=int, default=300)
    ap.add_argument("--h5-count", type=int, default=300)
    ap.add_argument("--small-count", type=int, default=100)
    ap.add_argument("--only", default="gen,pbmc,h5,small", help="datasets to use")
    ap.add_argument("--no-corpus", action="store_true")
    ap.add_argument("--sqlite-only", action="store_true", help="only check that SQLite runs every query (no slaf query)")
    ap.add_argument("--dump", help="write every query (slaf text) to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary datasets")
    ap.add_argument("--jobs", type=int, default=2, help="slaf processes at a time")
    ap.add_argument("--max-failures", type=int, default=40, help="failures printed in full")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    SLAF = os.path.abspath(args.slaf)
    only = set(args.only.split(","))
    t0 = time.monotonic()
    if not os.access(SLAF, os.X_OK):
        log("SKIP: %s is not an executable" % SLAF)
        return 77
    if not args.sqlite_only:
        rc, out, err = run_slaf("query", "--help")
        if rc != 0 or "usage: slaf query" not in out:
            log("SKIP: this slaf has no 'query' command (slaf query --help: exit %d)" % rc)
            return 77
    log("sql_diff_test: seed %d (--seed to change), random queries: gen %d, pbmc %d, h5 %d, small %d" % (
        args.seed, args.count, args.pbmc_count, args.h5_count, args.small_count))
    tmp = tempfile.mkdtemp(prefix="slaf-sql-diff-")
    try:
        return run_all(args, only, tmp, t0)
    finally:
        if args.keep:
            log("datasets kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_all(args, only, tmp, t0):
    built = build_datasets(tmp, args.shared, only)
    log("datasets built (%.1f s)" % (time.monotonic() - t0))
    corpus = read_corpus(os.path.join(HERE, "sql_corpus.sql"))
    counts = {"gen": args.count, "pbmc": args.pbmc_count, "h5": args.h5_count, "small": args.small_count}
    failures, summary, dump = [], [], []
    total_sqlite = total_slaf = 0.0
    n_schema_checks = 0
    all_jobs = []
    for b in built:
        for version in b.versions:
            t = time.monotonic()
            ds = load_dataset(b.name if version is None else "%s@v%d" % (b.name, version), b.path, version)
            t_load = time.monotonic() - t
            jobs = []
            ph = corpus_placeholders(ds, b.name)
            n_corpus = 0
            if not args.no_corpus:
                for qid, desc, sql in corpus:
                    text = fill(sql, ph)
                    if text is not None:
                        jobs.append(Job(ds, qid, text, text, top_level_order_by(text)))
                        n_corpus += 1
            n_random = 0
            n = counts[b.name] if version is None else counts[b.name] // 8
            if n:
                for i, q in enumerate(generate_queries(ds, args.seed, n, b.big)):
                    jobs.append(Job(ds, "r%04d/%s" % (i, q.kind), q.s, q.l, q.ordered, q.order_spec))
                    n_random += 1
            dump += ["-- %s %s\n%s;\n" % (ds.name, j.qid, j.s) for j in jobs]
            t = time.monotonic()
            slaf_s = run_jobs(jobs, args.sqlite_only, args.jobs)
            wall = time.monotonic() - t
            sqlite_s = sum(j.sqlite_s for j in jobs)
            total_sqlite += sqlite_s
            total_slaf += slaf_s
            failed = 0
            for j in jobs:
                why = check_job(j, args.sqlite_only)
                if why is not None:
                    failed += 1
                    failures.append(describe(j, why))
            summary.append((ds.name, n_corpus, n_random, len(jobs) - failed, failed, t_load, sqlite_s, slaf_s, wall))
            log("%-8s %3d corpus + %4d random queries: %4d passed, %3d failed (load %.1f s, SQLite %.1f s, slaf %.1f s, wall %.1f s)" % (
                ds.name, n_corpus, n_random, len(jobs) - failed, failed, t_load, sqlite_s, slaf_s, wall))
            all_jobs += [(j.ds.name, j.qid, j.sqlite_s) for j in jobs]
            before = len(failures)
            n_schema = schema_checks(ds, failures) if not args.sqlite_only else 0
            n_schema_checks += n_schema
            if len(failures) > before:
                log("%-8s schema checks: %d failed" % (ds.name, len(failures) - before))
            ds.conn.close()
    if args.dump:
        with open(args.dump, "w") as f:
            f.writelines(dump)
    n_neg = 0
    gen = next((b for b in built if b.name == "gen"), None)
    if gen is not None and not args.sqlite_only:
        before = len(failures)
        n_neg = negative_checks(gen.path, failures)
        log("negative  %d checks: %d passed, %d failed" % (n_neg, n_neg - (len(failures) - before), len(failures) - before))
    if args.verbose:
        for name, qid, s in sorted(all_jobs, key=lambda x: -x[2])[:10]:
            log("slow in SQLite: %s %s %.2f s" % (name, qid, s))
    for f in failures[:args.max_failures]:
        log(f)
    if len(failures) > args.max_failures:
        log("... and %d more failures (--max-failures)" % (len(failures) - args.max_failures))
    n_total = sum(s[1] + s[2] for s in summary)
    n_failed = sum(s[4] for s in summary)
    log("summary: %d queries on %d dataset versions, %d passed, %d failed; %d schema and %d negative checks; "
        "%d failures in all; SQLite %.1f s, slaf %.1f s, total %.1f s (seed %d)" % (
            n_total, len(summary), n_total - n_failed, n_failed, n_schema_checks, n_neg, len(failures), total_sqlite, total_slaf,
            time.monotonic() - t0, args.seed))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
