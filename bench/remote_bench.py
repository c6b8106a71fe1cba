#!/usr/bin/python3
"""Cloud I/O benchmark (issue 6): a dataset read from local disk, over HTTP
from a local nginx, and over HTTP through a proxy adding DELAY ms per request.

  remote_bench.py BUILD_DIR DATASET [--delay 25] [--sql SQL] [--seed S]

Runs BUILD_DIR/bench/slaf-remote-bench on each of the three and prints a
markdown table of requests, round trips, bytes and times per step, then the
targets: open <= 2 requests; one random cell <= 1 request once open (<= 2
cold); 100 random cells <= 8 round trips; bytes per random cell <= 2x its
chunk's stored size; full scan over loopback <= 1.5x the local time; and the
per-gene aggregate over B cells with `slaf query` through the proxy (time and
requests, next to DuckDB's local time from the peers harness).
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from local_servers import free_port, start_nginx, wait_port  # noqa: E402

B_CELL_SQL = ("SELECT e.gene_integer_id, SUM(e.value), AVG(e.value) FROM expression e JOIN cells c "
              "ON e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = 'B_cell' GROUP BY e.gene_integer_id")


def measure(build, uri, local, sql, seed):
    out = subprocess.run([os.path.join(build, "bench", "slaf-remote-bench"), uri, "--local", local, "--seed", str(seed), "--sql", sql],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        sys.exit("slaf-remote-bench %s failed: %s" % (uri, out.stderr))
    return {r["step"]: r for r in map(json.loads, out.stdout.splitlines())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("dataset")
    ap.add_argument("--delay", type=float, default=25)
    ap.add_argument("--sql", default=B_CELL_SQL)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    dataset = os.path.abspath(a.dataset)
    work = "/tmp/slaf-remote-bench-%d" % os.getpid()
    os.makedirs(work)
    nginx, port = start_nginx(os.path.dirname(dataset), work)
    pport = free_port()
    proxy = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)), "latency_proxy.py"),
                              str(pport), str(port), str(a.delay)], stdout=subprocess.DEVNULL)
    try:
        wait_port(pport, proxy, "latency proxy")
        name = os.path.basename(dataset)
        runs = {
            "local": dataset,
            "http": "http://127.0.0.1:%d/%s" % (port, name),
            "http +%g ms" % a.delay: "http://127.0.0.1:%d/%s" % (pport, name),
        }
        res = {k: measure(a.build, v, dataset, a.sql, a.seed) for k, v in runs.items()}
        steps = ["open", "cell_cold", "cell_warm", "cells_100", "cells_100_from_open", "scan_full", "sql_cold", "sql_warm"]
        print("| step | " + " | ".join("%s ms" % k for k in runs) + " | requests | round trips | bytes in | chunk bytes |")
        print("|---|" + "---:|" * (len(runs) + 4))
        remote = list(runs)[1]
        for st in steps:
            r = res[remote][st]
            print("| %s | %s | %d | %d | %d | %s |" % (st, " | ".join("%.1f" % res[k][st]["ms"] for k in runs), r["requests"], r["round_trips"],
                                                       r["bytes_in"], r.get("chunk_bytes", "")))
        slow = res[list(runs)[2]]
        h = res["http"]
        print()
        print("targets (requests and bytes from the direct HTTP run, times as noted):")
        print("- open: %d requests, %d round trips (target <= 2 requests)" % (h["open"]["requests"], h["open"]["round_trips"]))
        print("- one random cell: cold %d requests, warm %d (targets <= 2 cold, <= 1 warm)" % (h["cell_cold"]["requests"], h["cell_warm"]["requests"]))
        print("- 100 random cells, files open: %d round trips, %d requests, %.0f ms at +%g ms (target <= 8 round trips)" % (
            h["cells_100"]["round_trips"], h["cells_100"]["requests"], slow["cells_100"]["ms"], a.delay))
        per = [(h[s]["bytes_in"], h[s]["chunk_bytes"]) for s in ("cell_warm", "cells_100")]
        print("- bytes per random cell / its chunk's stored bytes: warm single %.2f, 100 cells %.2f (target <= 2)" % tuple(b / max(c, 1) for b, c in per))
        print("- full scan: local %.1f ms, HTTP loopback %.1f ms: %.2fx (target <= 1.5x)" % (
            res["local"]["scan_full"]["ms"], h["scan_full"]["ms"], h["scan_full"]["ms"] / res["local"]["scan_full"]["ms"]))
        # The CLI, end to end, through the proxy.
        t0 = time.time()
        cli = subprocess.run([os.path.join(a.build, "slaf"), "query", runs[list(runs)[2]], a.sql, "--stats", "--format", "csv"],
                             capture_output=True, text=True, timeout=600)
        wall = (time.time() - t0) * 1000
        io = [l for l in cli.stderr.splitlines() if l.startswith("io:")]
        print("- `slaf query` B-cell per-gene aggregate at +%g ms: %.0f ms wall (process start to exit), %s" % (a.delay, wall, io[0] if io else cli.stderr))
    finally:
        proxy.terminate()
        nginx.terminate()
        proxy.wait()
        nginx.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
