#!/usr/bin/python3
"""A small HTTP server that misbehaves on purpose, for io/http_test.cc.

Serves the files under ROOT as /<mode>/<path>, on 127.0.0.1 and a free port
(printed as "PORT <n>" on stdout). <mode> picks the fault; "once" faults hit
only the first request for each (path, Range) and then behave, so a client
that retries succeeds:

  ok             byte ranges (206, Content-Range, ETag, If-Match)
  503-once       503 with Retry-After: 0, then ok       503-always
  no-range       answers a Range request with 200 and an endless body
  no-range-late  the same after the first 2 requests (the open)
  etag-change    the ETag changes after the first 2 requests; If-Match honoured (412)
  etag-lie       like etag-change but ignores If-Match (sends the new ETag)
  truncated-once sends half the promised body, then closes   truncated-always
  stall-once     sends the headers, then nothing for 30 s    stall-always
  badrange-once  Content-Range for a different range          badrange-always
  redirect       302 to the same path under /ok/
  redirect-loop  302 to itself, forever

PUT (any mode) writes the file, honouring If-None-Match: * (412 if it
exists); in mode put-lost the first PUT of a key is stored and then the
connection is dropped without an answer, in put-lost-other another writer's
bytes are stored instead. GET /_auth/<mode> says whether any request to that
mode carried an Authorization or x-amz-* header ("yes"/"no").
"""
import http.server
import os
import re
import sys
import threading
import time

ROOT = sys.argv[1]
seen = set()
seen_lock = threading.Lock()
counts = {}
auth_seen = set()


def first_time(key):
    with seen_lock:
        if key in seen:
            return False
        seen.add(key)
        return True


def count(mode):
    with seen_lock:
        counts[mode] = counts.get(mode, 0) + 1
        return counts[mode]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        if self.path.startswith("/_auth/"):
            return self.plain(200, b"yes" if self.path[7:] in auth_seen else b"no")
        self.serve(head=False)

    def do_PUT(self):
        parts = self.path.split("/", 2)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if len(parts) < 3:
            return self.plain(404)
        mode, rel = parts[1], parts[2]
        self.note_auth(mode)
        path = os.path.join(ROOT, rel)
        if self.headers.get("If-None-Match") == "*" and os.path.exists(path):
            return self.plain(412, b"<Error><Code>PreconditionFailed</Code></Error>")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        once = first_time((mode, rel, "PUT"))
        with open(path, "wb") as f:
            f.write(b"someone else's bytes" if mode == "put-lost-other" and once else body)
        if mode in ("put-lost", "put-lost-other") and once:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.plain(200, headers=[("ETag", '"v1"')])

    def note_auth(self, mode):
        if any(k.lower() == "authorization" or k.lower().startswith("x-amz-") for k in self.headers.keys()):
            with seen_lock:
                auth_seen.add(mode)

    def plain(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def serve(self, head):
        parts = self.path.split("/", 2)
        if len(parts) < 3:
            return self.plain(404)
        mode, rel = parts[1], parts[2]
        self.note_auth(mode)
        n = count(mode)
        key = (mode, rel, self.headers.get("Range"))
        once = first_time(key)
        if mode == "redirect":
            return self.plain(302, headers=[("Location", "/ok/" + rel)])
        if mode == "redirect-loop":
            return self.plain(302, headers=[("Location", self.path)])
        if mode == "503-always" or (mode == "503-once" and once):
            return self.plain(503, b"busy", [("Retry-After", "0")])
        path = os.path.join(ROOT, rel)
        if not os.path.isfile(path):
            return self.plain(404, b"no such file")
        data = open(path, "rb").read()
        etag = '"v1"'
        if mode in ("etag-change", "etag-lie") and n > 2:
            etag = '"v2"'
        if mode == "etag-change":
            want = self.headers.get("If-Match")
            if want is not None and want != etag:
                return self.plain(412, b"precondition failed")
        rng = self.headers.get("Range")
        if rng and (mode == "no-range" or (mode == "no-range-late" and n > 2)):
            # 200 with no length: the body never ends (but starts with the
            # file's bytes).
            self.send_response(200)
            self.send_header("ETag", etag)
            self.end_headers()
            try:
                self.wfile.write(data)
                chunk = b"x" * 65536
                for _ in range(100000):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        if not rng:
            return self.plain(200, data, [("ETag", etag)])
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng)
        if not m:
            return self.plain(416, headers=[("Content-Range", "bytes */%d" % len(data))])
        size = len(data)
        if m.group(1) == "":
            length = min(int(m.group(2)), size)
            a, b = size - length, size - 1
        else:
            a = int(m.group(1))
            b = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
        if a >= size or b < a:
            return self.plain(416, headers=[("Content-Range", "bytes */%d" % size)])
        if mode == "badrange-always" or (mode == "badrange-once" and once):
            # The same length, one byte off.
            a2, b2 = (a - 1, b - 1) if a > 0 else (a + 1, b + 1)
            if b2 >= size:
                a2, b2 = a, b - 1
            body = data[a2:b2 + 1]
            return self.plain(206, body, [("Content-Range", "bytes %d-%d/%d" % (a2, b2, size)), ("ETag", etag)])
        body = data[a:b + 1]
        self.send_response(206)
        self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, size))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        if head:
            return
        if mode == "truncated-always" or (mode == "truncated-once" and once):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "stall-always" or (mode == "stall-once" and once):
            self.wfile.flush()
            time.sleep(30)
            self.close_connection = True
            return
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
