"""Servers on 127.0.0.1 for the remote tests and benchmarks: free ports and a
throw-away nginx serving a directory (Debian's nginx-light, started by the
caller's process and stopped with it)."""
import os
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit("%s exited at startup (code %s)" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("%s did not listen on port %d" % (what, port))


def make_tls_cert(work):
    """A self-signed certificate for 127.0.0.1 (openssl CLI): (cert, key) paths.
    The certificate is its own CA: pass it as SLAF_HTTP_CA_FILE."""
    cert, key = os.path.join(work, "tls-cert.pem"), os.path.join(work, "tls-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def start_nginx(root, work, tls=None, extra=""):
    """nginx serving `root` on a free port (plain HTTP, or HTTPS with tls =
    (cert, key)); `extra` is added to the server block. Returns (process, port)."""
    port = free_port()
    tag = "tls" if tls else "plain"
    conf = os.path.join(work, "nginx-%s.conf" % tag)
    user = "user root;\n" if os.geteuid() == 0 else ""
    listen = "listen 127.0.0.1:%d%s;" % (port, " ssl" if tls else "")
    if tls:
        listen += " ssl_certificate %s; ssl_certificate_key %s;" % tls
    with open(conf, "w") as f:
        f.write("""%sworker_processes 1;
daemon off;
pid %s/nginx-%s.pid;
error_log %s/nginx-error.log;
events { worker_connections 256; }
http {
  access_log %s/nginx-access.log;
  client_body_temp_path %s/nginx-body;
  proxy_temp_path %s/nginx-proxy;
  fastcgi_temp_path %s/nginx-fastcgi;
  uwsgi_temp_path %s/nginx-uwsgi;
  scgi_temp_path %s/nginx-scgi;
  keepalive_requests 100000;
  server { %s root %s; location / { } %s }
}
""" % (user, work, tag, work, work, work, work, work, work, work, listen, root, extra))
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc, "nginx")
    return proc, port
