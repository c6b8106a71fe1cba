#!/usr/bin/python3
"""Conversion benchmarks for `slaf convert` (issue targets), with the peers measured in the same run.

  1. h5ad (uncompressed, the peers harness's synth_50k): slaf convert end to end, in M nonzeros/s,
     against anndata.read_h5ad of the same file alone.
  2. 10x MTX.gz (the bundled pbmc3k): slaf convert against `gzip -dc` of the matrix alone.
  3. Bounded memory: a generated 1M-cell h5ad, CSR and CSC (CSC goes through the external sort),
     converted with peak RSS measured by /usr/bin/time.

Usage: bench/convert_bench.py [--slaf build/slaf] [--synth PATH.h5ad] [--big-cells 1000000]
                              [--out bench/results/convert.md] [--skip-big]
Each timing is the best of --repeat runs (default 3) with a warm page cache.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best_of(n, fn):
    best = None
    for _ in range(n):
        t = fn()
        best = t if best is None or t < best else best
    return best


def run_timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def peak_rss_kib(cmd):
    r = subprocess.run(["/usr/bin/time", "-f", "RSS %M WALL %e"] + cmd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    m = re.search(r"RSS (\d+) WALL ([\d.]+)", r.stderr)
    return int(m.group(1)), float(m.group(2))


def convert(slaf, src, out, extra=()):
    shutil.rmtree(out, ignore_errors=True)
    return run_timed([slaf, "convert", src, out, "--quiet", *extra])


def nnz_of(slaf, ds):
    info = subprocess.run([slaf, "info", ds, "--json"], check=True, capture_output=True, text=True).stdout
    return int(re.search(r'"nnz":\s*(\d+)', info).group(1))


def write_big_h5ad(path, n_cells, n_genes, per_cell, csc, seed=7):
    """A counts h5ad in anndata 0.8's encoding, written with h5py chunk by chunk (no scipy matrix)."""
    import h5py
    import numpy as np
    rng = np.random.default_rng(seed)
    nnz = n_cells * per_cell
    with h5py.File(path, "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        x = f.create_group("X")
        x.attrs["encoding-type"] = "csc_matrix" if csc else "csr_matrix"
        x.attrs["encoding-version"] = "0.1.0"
        x.attrs["shape"] = np.array([n_cells, n_genes], dtype=np.int64)
        major = n_genes if csc else n_cells
        minor = n_cells if csc else n_genes
        per_major = nnz // major
        data = x.create_dataset("data", (per_major * major,), dtype=np.float32)
        idx = x.create_dataset("indices", (per_major * major,), dtype=np.int32)
        x.create_dataset("indptr", data=np.arange(0, per_major * major + 1, per_major, dtype=np.int64))
        step = max(1, (1 << 22) // per_major)
        for a in range(0, major, step):
            b = min(major, a + step)
            rows = b - a
            # per_major distinct, increasing minor ids per row: a random offset plus a fixed stride.
            stride = max(1, minor // per_major)
            ids = rng.integers(0, stride, size=(rows, 1)) + np.arange(per_major)[None, :] * stride
            idx[a * per_major:b * per_major] = ids.reshape(-1).astype(np.int32)
            data[a * per_major:b * per_major] = rng.geometric(0.5, size=rows * per_major).astype(np.float32)
        for name, n, key in (("obs", n_cells, "cell"), ("var", n_genes, "gene")):
            g = f.create_group(name)
            g.attrs["encoding-type"] = "dataframe"
            g.attrs["encoding-version"] = "0.2.0"
            g.attrs["_index"] = "_index"
            g.attrs["column-order"] = np.array([], dtype=np.float64)
            names = np.array([f"{key}{i}" for i in range(n)], dtype=object)
            d = g.create_dataset("_index", data=names, dtype=h5py.string_dtype())
            d.attrs["encoding-type"] = "string-array"
            d.attrs["encoding-version"] = "0.2.0"
    return per_major * major


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slaf", default=os.path.join(ROOT, "build", "slaf"))
    ap.add_argument("--synth", default=os.path.join(ROOT, "..", "shared", "peers", "data", "synth_50k", "synth_50k.h5ad"))
    ap.add_argument("--mtx-dir", default=os.path.join(ROOT, "demo", "pbmc3k", "filtered_gene_bc_matrices"))
    ap.add_argument("--big-cells", type=int, default=1_000_000)
    ap.add_argument("--big-genes", type=int, default=2000)
    ap.add_argument("--big-per-cell", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "convert.md"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="slaf-convert-bench-", dir=os.path.join(ROOT, "build"))
    lines = ["# slaf convert benchmarks", "", f"`{' '.join(sys.argv)}`, best of {a.repeat}, warm page cache, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores.", ""]
    try:
        if os.path.exists(a.synth):
            out = os.path.join(tmp, "synth.slaf")
            t_slaf = best_of(a.repeat, lambda: convert(a.slaf, a.synth, out))
            nnz = nnz_of(a.slaf, out)
            code = ("import anndata,sys; anndata.read_h5ad(sys.argv[1])")
            t_ad = best_of(a.repeat, lambda: run_timed(["/usr/bin/python3", "-c", code, a.synth]))
            code_load = "import anndata"  # interpreter + import, subtracted to time read_h5ad alone
            t_imp = best_of(a.repeat, lambda: run_timed(["/usr/bin/python3", "-c", code_load]))
            t_input = best_of(a.repeat, lambda: convert(a.slaf, a.synth, out + "i", ("--gene-order", "input")))
            size_freq = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
            size_input = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out + "i") for f in fs)
            shutil.rmtree(out + "i", ignore_errors=True)
            rss, _ = peak_rss_kib([a.slaf, "convert", a.synth, out + "2", "--quiet"])
            shutil.rmtree(out + "2", ignore_errors=True)
            lines += ["## h5ad (synth_50k, uncompressed CSR float32)", "",
                      f"- file: `{a.synth}` ({os.path.getsize(a.synth) / 1e6:.0f} MB, {nnz:,} nonzeros)",
                      f"- slaf convert, end to end: **{t_slaf:.2f} s = {nnz / t_slaf / 1e6:.0f} M nonzeros/s**, peak RSS {rss / 1024:.0f} MiB",
                      f"- anndata.read_h5ad alone (process time minus `import anndata`): {t_ad - t_imp:.2f} s "
                      f"(whole process {t_ad:.2f} s)",
                      f"- ratio slaf convert / read_h5ad: **{t_slaf / (t_ad - t_imp):.2f}x**",
                      f"- with `--gene-order input` (no frequency renumbering): **{t_input:.2f} s = "
                      f"{nnz / t_input / 1e6:.0f} M nonzeros/s**, ratio to read_h5ad {t_input / (t_ad - t_imp):.2f}x; "
                      f"output {size_input / nnz:.3f} B/nnz vs {size_freq / nnz:.3f} B/nnz with the default frequency order", ""]
        else:
            lines += [f"(h5ad benchmark skipped: {a.synth} not found; make it with ../shared/peers/run.py gen synth_50k)", ""]
        mtx = os.path.join(a.mtx_dir, "hg19", "matrix.mtx.gz")
        out = os.path.join(tmp, "pbmc.slaf")
        t_slaf = best_of(max(5, a.repeat), lambda: convert(a.slaf, a.mtx_dir, out))
        t_gz = best_of(max(5, a.repeat), lambda: run_timed(["sh", "-c", f"gzip -dc '{mtx}' > /dev/null"]))
        nnz = nnz_of(a.slaf, out)
        lines += ["## 10x MTX.gz (bundled pbmc3k)", "",
                  f"- slaf convert: **{t_slaf:.3f} s** ({nnz / t_slaf / 1e6:.1f} M nonzeros/s)",
                  f"- gzip -dc of matrix.mtx.gz alone: {t_gz:.3f} s",
                  f"- ratio: **{t_slaf / t_gz:.2f}x** (target <= 1.5x)", ""]
        if not a.skip_big:
            lines += [f"## Bounded memory: generated {a.big_cells:,}-cell h5ad", ""]
            for csc in (False, True):
                path = os.path.join(tmp, "big_csc.h5ad" if csc else "big_csr.h5ad")
                nnz = write_big_h5ad(path, a.big_cells, a.big_genes, a.big_per_cell, csc)
                out = os.path.join(tmp, "big.slaf")
                shutil.rmtree(out, ignore_errors=True)
                rss, wall = peak_rss_kib([a.slaf, "convert", path, out, "--quiet"])
                lines.append(f"- {'CSC (external sort, default 512 MiB budget)' if csc else 'CSR'}: {a.big_cells:,} cells x "
                             f"{a.big_genes:,} genes, {nnz:,} nonzeros ({os.path.getsize(path) / 1e6:.0f} MB): "
                             f"**peak RSS {rss / 1024:.0f} MiB**, {wall:.1f} s")
                if csc:
                    shutil.rmtree(out, ignore_errors=True)
                    rss, wall = peak_rss_kib([a.slaf, "convert", path, out, "--quiet", "--memory", "64"])
                    lines.append(f"- CSC with `--memory 64`: **peak RSS {rss / 1024:.0f} MiB**, {wall:.1f} s")
                os.remove(path)
                shutil.rmtree(out, ignore_errors=True)
            lines.append("")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
