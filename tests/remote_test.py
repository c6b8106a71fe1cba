#!/usr/bin/python3
"""slaf over HTTP(S) and S3, on 127.0.0.1 only.

HTTP: a local nginx (started here on a free port with a generated config)
serves a converted copy of the bundled PBMC 3k demo; every read command run
on the URL must print exactly what it prints on the local directory, a
single-cell query must download a small fraction of the dataset, and an
export over HTTP must equal the original Matrix Market file read by scipy
(an independent oracle).

HTTPS: nginx with a self-signed certificate for 127.0.0.1: queries verified
against it as the CA file (SLAF_HTTP_CA_FILE) equal the local ones, without
it the connection is refused (verification is never off), and a redirect
from https to http is not followed.

S3: moto_server with signature checking on (INITIAL_NO_AUTH_ACTION_COUNT:
after the IAM setup every request must carry a valid SigV4 signature of the
key it created): convert to s3://, read back, refuse a second convert,
append (twice concurrently: one commit wins each If-None-Match race, the
other rebases), time travel to an older version, verify, vacuum --dry-run,
and a wrong secret rejected with a clear error.

usage: remote_test.py SLAF_BINARY SOURCE_DIR
Skips (exit 77) the S3 half when moto_server is not installed, and the
whole test when nginx is missing.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from local_servers import free_port, make_tls_cert, start_nginx, wait_port  # noqa: E402

SLAF, SRC = sys.argv[1], sys.argv[2]
DEMO = os.path.join(SRC, "demo", "pbmc3k", "filtered_gene_bc_matrices")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(args, env=None, expect=0):
    p = subprocess.run([SLAF] + args, capture_output=True, text=True, env=env, timeout=300)
    if expect is not None and p.returncode != expect:
        check(False, "%s exited %d (expected %d): %s" % (" ".join(args), p.returncode, expect, p.stderr.strip()[-600:]))
    return p


def stats_of(stderr):
    m = re.search(r"io: (\d+) requests \((\d+) retries\) in (\d+) round trips, ([\d.]+) (B|KiB|MiB) in", stderr)
    if not m:
        return None
    scale = {"B": 1, "KiB": 1024, "MiB": 1 << 20}[m.group(5)]
    return {"requests": int(m.group(1)), "round_trips": int(m.group(3)), "bytes_in": float(m.group(4)) * scale}


QUERIES = [
    "SELECT COUNT(*), SUM(value) FROM expression",
    "SELECT gene_integer_id, SUM(value) AS s FROM expression GROUP BY gene_integer_id ORDER BY s DESC LIMIT 10",
    "SELECT g.gene_symbol, AVG(e.value) AS m FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id "
    "WHERE g.gene_symbol IN ('MS4A1', 'CD3E', 'LYZ') GROUP BY g.gene_symbol ORDER BY g.gene_symbol",
    "SELECT cell_id FROM cells WHERE cell_integer_id BETWEEN 100 AND 104 ORDER BY cell_id",
    "SELECT * FROM expression WHERE cell_integer_id = 7 ORDER BY gene_integer_id",
]


def same_output(args_for, label):
    """Runs a command on the local copy and on the remote one; outputs must match."""
    a = run(args_for("LOCAL"))
    b = run(args_for("REMOTE"))
    check(a.stdout == b.stdout, "%s: remote output differs from local\n--- local\n%s\n--- remote\n%s" % (label, a.stdout[:800], b.stdout[:800]))


def http_half(work, local):
    proc, port = start_nginx(work, work)
    try:
        url = "http://127.0.0.1:%d/pbmc.slaf" % port

        def on(which):
            return local if which == "LOCAL" else url

        for q in QUERIES:
            same_output(lambda w: ["query", on(w), q], "query " + q)
        same_output(lambda w: ["cells", on(w), "AAACATACAACCAC-1", "TTTGCATGCCTCAC-1"], "cells")
        same_output(lambda w: ["genes", on(w), "MS4A1", "--limit", "5"], "genes")
        same_output(lambda w: ["stats", on(w), "--genes", "--top", "5"], "stats")
        same_output(lambda w: ["versions", on(w)], "versions")
        same_output(lambda w: ["query", on(w), "SELECT COUNT(*) FROM cells", "--version", "1"], "time travel")
        run(["verify", url])

        # slaf-inspect on a segment URL explains it as it does the local file.
        inspect = os.path.join(os.path.dirname(SLAF), "slaf-inspect")
        seg = sorted(os.listdir(os.path.join(local, "X")))[0]
        a = subprocess.run([inspect, os.path.join(local, "X", seg)], capture_output=True, text=True)
        b = subprocess.run([inspect, url + "/X/" + seg, "--stats"], capture_output=True, text=True)
        check(a.returncode == 0 and b.returncode == 0, "slaf-inspect exit codes %d %d: %s" % (a.returncode, b.returncode, b.stderr))
        check(a.stdout.replace(os.path.join(local, "X", seg), "F") == b.stdout.replace(url + "/X/" + seg, "F"),
              "slaf-inspect over HTTP differs:\n" + b.stdout[:600])
        check("io: " in b.stderr, "slaf-inspect --stats printed nothing")

        # Only what the query needs: one cell costs a few small requests.
        total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(local) for f in fs)
        p = run(["query", url, "SELECT * FROM expression WHERE cell_integer_id = 1234", "--stats"])
        st = stats_of(p.stderr)
        check(st is not None, "--stats printed no io line: " + p.stderr)
        if st:
            print("one cell over HTTP: %d requests, %d round trips, %.0f bytes of %d" % (st["requests"], st["round_trips"], st["bytes_in"], total))
            check(st["bytes_in"] < 0.25 * total, "one cell downloaded %.0f of %d bytes" % (st["bytes_in"], total))

        # Export over HTTP, compared with the original MTX by scipy.
        out = os.path.join(work, "exported.h5ad")
        run(["export", url, out, "--to", "h5ad", "--quiet"])
        import anndata
        import scipy.io
        ad = anndata.read_h5ad(out)
        import gzip
        mtx_dir = next(d for d, _, fs in os.walk(DEMO) if "matrix.mtx.gz" in fs)
        mtx = scipy.io.mmread(gzip.open(os.path.join(mtx_dir, "matrix.mtx.gz"))).T.tocsr()
        x = ad.X.tocsr()
        check(x.shape == mtx.shape, "export shape %s vs mtx %s" % (x.shape, mtx.shape))
        check((x != mtx).nnz == 0, "exported X differs from the MTX")
        barcodes = [l.strip() for l in open(os.path.join(mtx_dir, "barcodes.tsv"))]
        check(list(ad.obs_names) == barcodes, "exported cell ids differ from barcodes.tsv")

        # Errors: missing dataset, writes refused, quickly.
        t0 = time.time()
        p = run(["info", "http://127.0.0.1:%d/nope.slaf" % port], expect=1)
        check("not a slaf dataset" in p.stderr or "404" in p.stderr, "missing dataset message: " + p.stderr)
        p = run(["append", url, local], expect=1)
        check("read-only" in p.stderr, "append over HTTP message: " + p.stderr)
        p = run(["info", "http://127.0.0.1:%d/pbmc.slaf" % free_port()], expect=1)
        check("127.0.0.1" in p.stderr, "connection refused message: " + p.stderr)
        check(time.time() - t0 < 60, "error paths took %.1f s" % (time.time() - t0))
        return port
    finally:
        proc.terminate()
        proc.wait()


def tls_half(work, local, plain_port):
    """HTTPS: verified against a given CA file, refused without it, and an
    https URL never redirected down to http."""
    cert, key = make_tls_cert(work)
    redirect = "location /down/ { return 302 http://127.0.0.1:%d/pbmc.slaf/; }" % plain_port
    proc, port = start_nginx(work, work, tls=(cert, key), extra=redirect)
    try:
        url = "https://127.0.0.1:%d/pbmc.slaf" % port
        env = dict(os.environ, SLAF_HTTP_CA_FILE=cert)
        for q in QUERIES[:2]:
            a = run(["query", local, q])
            b = run(["query", url, q], env=env)
            check(a.stdout == b.stdout, "HTTPS query differs: " + q)
        p = run(["info", url], expect=1)
        check("certificate" in p.stderr.lower(), "unverified TLS message: " + p.stderr)
        p = run(["info", "https://127.0.0.1:%d/down" % port], env=env, expect=1)
        check("redirect" in p.stderr.lower() or "protocol" in p.stderr.lower(), "https->http redirect message: " + p.stderr)
    finally:
        proc.terminate()
        proc.wait()


def find_moto():
    for c in [shutil.which("moto_server"), "/root/.pyenv/shims/moto_server"]:
        if c and os.path.exists(c):
            return c
    return None


def iam_call(port, params):
    # The first INITIAL_NO_AUTH_ACTION_COUNT calls are not checked; the
    # Authorization header only routes them to IAM.
    import urllib.parse
    import urllib.request
    body = urllib.parse.urlencode(dict(params, Version="2010-05-08")).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/" % port, data=body, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        "Content-Type": "application/x-www-form-urlencoded"})
    return urllib.request.urlopen(req, timeout=30).read().decode()


def s3_half(work, local):
    moto = find_moto()
    if not moto:
        print("SKIP S3 half: moto_server not found (it comes with the image's Python; PATH or /root/.pyenv/shims)")
        return False
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_port(port, proc, "moto_server")
        iam_call(port, {"Action": "CreateUser", "UserName": "slaf"})
        key = iam_call(port, {"Action": "CreateAccessKey", "UserName": "slaf"})
        key_id = re.search(r"<AccessKeyId>([^<]+)", key).group(1)
        secret = re.search(r"<SecretAccessKey>([^<]+)", key).group(1)
        iam_call(port, {"Action": "PutUserPolicy", "UserName": "slaf", "PolicyName": "s3",
                        "PolicyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'})
        endpoint = "http://127.0.0.1:%d" % port
        mk = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--aws-sigv4", "aws:amz:us-east-1:s3",
                             "--user", "%s:%s" % (key_id, secret), "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", endpoint + "/bkt"],
                            capture_output=True, text=True)
        check(mk.stdout == "200", "creating the bucket: HTTP " + mk.stdout)
        senv = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION="us-east-1")
        s3 = "s3://bkt/datasets/pbmc.slaf"
        run(["convert", DEMO, s3, "--gene-index", "--quiet"], env=senv)
        p = run(["convert", DEMO, s3, "--quiet"], env=senv, expect=1)
        check("already exists" in p.stderr, "second convert message: " + p.stderr)
        for q in QUERIES:
            a = run(["query", local, q], env=senv)
            b = run(["query", s3, q], env=senv)
            check(a.stdout == b.stdout, "S3 query differs: %s\n%s\n%s" % (q, a.stdout[:400], b.stdout[:400]))
        run(["verify", s3], env=senv)

        # Two appends at once: both commit, one after rebasing.
        procs = [subprocess.Popen([SLAF, "append", s3, local, "--cell-id-prefix", p, "--quiet"], env=senv,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in ("a_", "b_")]
        for pr in procs:
            _, err = pr.communicate(timeout=300)
            check(pr.returncode == 0, "concurrent append failed: " + err)
        count = run(["query", s3, "SELECT COUNT(*) FROM cells", "--format", "csv"], env=senv).stdout.split()
        check(count[-1] == "8100", "cells after two appends: %s" % count)
        versions = run(["versions", s3], env=senv).stdout
        check(len(re.findall(r"^\s*\d+\s", versions, re.M)) >= 4, "versions after appends:\n" + versions)
        old = run(["query", s3, "SELECT COUNT(*) FROM cells", "--version", "2", "--format", "csv"], env=senv).stdout.split()
        check(old[-1] == "2700", "time travel to version 2: %s" % old)
        run(["vacuum", s3, "--dry-run"], env=senv)

        # A prefix that needs encoding in the signed path (space) and one
        # that must not be encoded ('~'). ('+' and non-ASCII are encoded as
        # AWS specifies, %2B and UTF-8 %XX, but moto's verifier decodes the
        # path before re-encoding it and refuses both, so they are not tested
        # here.)
        odd = "s3://bkt/odd dir~tilde/pbmc.slaf"
        run(["convert", DEMO, odd, "--quiet"], env=senv)
        a = run(["query", local, QUERIES[1]], env=senv)
        b = run(["query", odd, QUERIES[1]], env=senv)
        check(a.stdout == b.stdout, "S3 under an odd prefix differs")
        run(["vacuum", odd, "--dry-run"], env=senv)

        bad = dict(senv, AWS_SECRET_ACCESS_KEY="wrong")
        p = run(["info", s3], env=bad, expect=1)
        check("403" in p.stderr and ("SignatureDoesNotMatch" in p.stderr or "access denied" in p.stderr), "wrong secret message: " + p.stderr)
        return True
    finally:
        proc.terminate()
        proc.wait()


def main():
    if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
        print("SKIP: nginx not installed (scripts/setup.sh installs nginx-light)")
        sys.exit(77)
    os.environ["PATH"] += ":/usr/sbin"
    work = tempfile.mkdtemp(prefix="slaf-remote-")
    os.chmod(work, 0o755)
    try:
        local = os.path.join(work, "pbmc.slaf")
        run(["convert", DEMO, local, "--gene-index", "--quiet"])
        plain_port = http_half(work, local)
        tls_half(work, local, plain_port)
        did_s3 = s3_half(work, local)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("remote_test: HTTP ok, HTTPS ok%s" % (", S3 ok" if did_s3 else ", S3 skipped"))


if __name__ == "__main__":
    main()
