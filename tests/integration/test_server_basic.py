#!/usr/bin/python3
# labels: collector
"""rollcall-server over real sockets: migrate, token create, serve over HTTPS with a test CA
made here with the openssl CLI; health, metrics, authentication and authorisation, body caps
(Content-Length, chunked, gzip bomb), 404/405/415, idle connections cut off, TLS 1.1 refused,
per-address connection limit, clean shutdown on SIGTERM and SIGINT. Standard library only."""

import gzip
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402

SERVER = os.environ.get("ROLLCALL_SERVER", "build/rel/rollcall-server")
MAX_BODY = 65536
CONN_TIMEOUT = 2
PER_IP = 12
WAIT = 30  # generous upper bound for anything that should happen "soon"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def run(*args, db=None, input=None):
    cmd = [SERVER]
    if db:
        cmd += ["--db", db]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=60)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """A test CA and a server certificate for 127.0.0.1 / localhost (ECDSA P-256)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=rollcall test CA",
            cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "30", "-extfile", "ext.cnf", cwd=d)


class Server:
    """A running `rollcall-server serve`; its stderr is collected by a thread."""

    def __init__(self, db, *args):
        self.proc = subprocess.Popen([SERVER, "--db", db, "--log-level", "debug", "serve",
                                      "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready.wait(WAIT)
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("server did not start: " + "".join(self.lines))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.ready.set()
        self.ready.set()

    def log(self):
        return "".join(self.lines)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def tls_context(d):
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    return ctx


def request(srv, ctx, method, path, body=None, headers=None):
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=WAIT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        openapi_check.check(method, path, r.status, r.getheader("Content-Type"), data,
                            dict(r.getheaders()))
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
    finally:
        conn.close()


def raw_tls(srv, ctx):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT)
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")


def read_response(sock):
    """Reads one HTTP response (status, body) from a raw socket until close or full length."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"content-length:\s*(\d+)", head, re.I)
            if m and len(body) >= int(m.group(1)):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(m.group(1)) if m else None), body


def error_body(body):
    try:
        o = json.loads(body)
    except ValueError:
        return None
    if isinstance(o, dict) and list(o) == ["error", "code", "message"] \
            and all(isinstance(o[k], str) and "\n" not in o[k] for k in o):
        return o["error"]
    return None


# The Prometheus text exposition format 0.0.4, line by line.
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$"
                    % (METRIC_NAME, LABEL, LABEL))
COMMENT = re.compile(r"^# (HELP|TYPE) (%s) (.*)$" % METRIC_NAME)


def parse_metrics(text):
    """Returns {(name, labels-string): value}; raises ValueError on a malformed line."""
    types = {}
    samples = {}
    if not text.endswith("\n"):
        raise ValueError("exposition does not end with a newline")
    for line in text.splitlines():
        if line.startswith("#"):
            m = COMMENT.match(line)
            if not m:
                raise ValueError("bad comment line: " + line)
            if m.group(1) == "TYPE":
                if m.group(3) not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError("bad type: " + line)
                types[m.group(2)] = m.group(3)
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("bad sample line: " + line)
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and base not in types:
            raise ValueError("sample before its TYPE: " + line)
        samples[(name, m.group(2) or "")] = float(m.group(3))
    return samples


def main():
    with tempfile.TemporaryDirectory(prefix="rc-server-") as d:
        make_pki(d)
        db = "sqlite:" + os.path.join(d, "server.db")
        ctx = tls_context(d)

        # Commands before the database exists.
        r = run("serve", "--listen", "127.0.0.1:0", "--plain-http", db=db)
        check(r.returncode == 1 and "migrate" in r.stderr, "serve on a missing database: %r" % (r,))
        r = run("token", "create", "--role", "admin", "--name", "x", db=db)
        check(r.returncode == 1 and "migrate" in r.stderr, "token create before migrate: %r" % (r,))
        r = run("migrate", db="postgresql://127.0.0.1:1/rollcall")  # nothing listens there
        check(r.returncode == 1 and "cannot connect to PostgreSQL" in r.stderr and
              r.stderr.count("\n") == 1,
              "postgresql URL: %r" % (r,))

        # migrate twice.
        r = run("migrate", db=db)
        check(r.returncode == 0 and "from schema version 0 to" in r.stdout, "first migrate: %r" % (r,))
        r = run("migrate", db=db)
        check(r.returncode == 0 and "already at schema version" in r.stdout,
              "second migrate: %r" % (r,))
        r = run("migrate", "--help")
        check(r.returncode == 0 and "usage:" in r.stdout, "migrate --help")

        # Tokens: printed once, nothing else on stdout.
        tokens = {}
        for role, name in (("admin", "ops"), ("device:K-01", "k01"), ("enroll:INST-A", "enroller")):
            r = run("token", "create", "--role", role, "--name", name, db=db)
            ok = check(r.returncode == 0 and re.fullmatch(r"rc_[A-Za-z0-9_-]{43}\n", r.stdout),
                       "token create %s: %r" % (role, r))
            tokens[name] = r.stdout.strip() if ok else ""
        r = run("token", "create", "--role", "superuser", "--name", "y", db=db)
        check(r.returncode == 1 and r.stdout == "" and "unknown role" in r.stderr,
              "bad role refused: %r" % (r,))
        r = run("token", "create", "--role", "district:12345", "--name", "y", db=db)
        check(r.returncode == 1 and "6 digits" in r.stderr, "bad district refused: %r" % (r,))
        r = run("token", "create", "--role", "admin", "--name", "ops", db=db)
        check(r.returncode == 1 and r.stdout == "", "duplicate name refused: %r" % (r,))
        r = run("token", "create", "--role", "admin", db=db)
        check(r.returncode == 2, "token create without --name is a usage error")
        r = run("token", "create", "--help")
        check(r.returncode == 0 and "--role" in r.stdout, "token create --help")
        with open(os.path.join(d, "server.db"), "rb") as f:
            stored = f.read()
        check(all(t[3:].encode() not in stored for t in tokens.values()),
              "no token stored in clear")

        # serve refuses to run without TLS unless told.
        r = run("serve", "--listen", "127.0.0.1:0", db=db)
        check(r.returncode == 2 and "TLS" in r.stderr, "serve without TLS refused: %r" % (r,))
        r = run("serve", "--help")
        check(r.returncode == 0 and "--plain-http" in r.stdout, "serve --help")
        r = run("serve", "--threads", "0", "--plain-http", db=db)
        check(r.returncode == 2, "serve --threads 0 is a usage error")

        srv = Server(db, "--tls-cert", os.path.join(d, "server.pem"),
                     "--tls-key", os.path.join(d, "server.key"), "--threads", "2",
                     "--max-body", str(MAX_BODY), "--conn-timeout", str(CONN_TIMEOUT),
                     "--per-ip-limit", str(PER_IP))
        try:
            exercise(srv, ctx, tokens, d)
        finally:
            code = srv.stop(signal.SIGTERM)
        check(code == 0, "SIGTERM: exit status %r" % (code,))
        log = srv.log()
        check("SIGTERM: shutting down" in log, "shutdown logged")
        check(all(t[3:] not in log for t in tokens.values() if t), "no token in the log")
        check(re.search(r"403 GET /v1/devices .*token 'k01'", log) is not None,
              "403 logged with the token's name")

        # Plain HTTP behind a proxy; SIGINT stops it too.
        srv = Server(db, "--plain-http")
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=WAIT)
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        openapi_check.check("GET", "/healthz", resp.status, resp.getheader("Content-Type"),
                            resp.read())
        check(resp.status == 200, "plain HTTP healthz")
        conn.close()
        code = srv.stop(signal.SIGINT)
        check(code == 0, "SIGINT: exit status %r" % (code,))

    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all server checks passed")


def exercise(srv, ctx, tokens, d):
    auth = lambda name: {"Authorization": "Bearer " + tokens[name]}

    status, headers, body = request(srv, ctx, "GET", "/healthz")
    check(status == 200 and json.loads(body).get("status") == "ok", "healthz: %r" % (body,))
    check(headers.get("content-type") == "application/json", "healthz content type")

    # 401: no token, unknown token, malformed token, wrong scheme.
    unknown = "rc_" + "A" * 43
    for hdrs, what in (({}, "no token"), ({"Authorization": "Bearer " + unknown}, "unknown token"),
                       ({"Authorization": "Bearer nope"}, "malformed token"),
                       ({"Authorization": "Basic " + tokens["ops"]}, "Basic scheme")):
        status, headers, body = request(srv, ctx, "GET", "/v1/devices", headers=hdrs)
        check(status == 401 and error_body(body) is not None, "401 with %s: %r" % (what, body))
        check(headers.get("www-authenticate", "").startswith("Bearer"), "WWW-Authenticate on 401")

    # 403: a device token on an admin route; the enroll token too.
    for name in ("k01", "enroller"):
        status, _, body = request(srv, ctx, "GET", "/v1/devices", headers=auth(name))
        check(status == 403 and error_body(body) is not None, "403 for %s: %r" % (name, body))
    status, _, body = request(srv, ctx, "GET", "/v1/devices", headers=auth("ops"))
    check(status == 200 and json.loads(body) == {"devices": []}, "admin lists devices: %r" % body)
    # An admin may not upload batches: only device tokens may.
    status, _, body = request(srv, ctx, "POST", "/v1/batches", body=b"{}", headers=auth("ops"))
    check(status == 403, "admin on POST /v1/batches: %r" % status)

    # 404 and 405.
    status, _, body = request(srv, ctx, "GET", "/nope")
    check(status == 404 and error_body(body) == "not found", "404: %r" % body)
    status, _, body = request(srv, ctx, "GET", "/v1/devices/")
    check(status == 404, "trailing slash is 404")
    status, headers, body = request(srv, ctx, "DELETE", "/v1/devices", headers=auth("ops"))
    check(status == 405 and error_body(body) is not None, "405: %r" % body)
    check(set(headers.get("allow", "").split(", ")) == {"GET", "POST"}, "Allow header: %r" % headers)

    # Bodies: under the cap they reach the handler (decoded); over it, 413.
    # (The batch handler parses the body before anything else: "line 1: ..." names the first
    # line of the decoded body; gzip bytes or a cut body would fail otherwise.)
    payload = b'{"seq":1}\n' * 100
    ndjson = {"Content-Type": "application/x-ndjson", "Rollcall-Signature": "x"}
    status, _, body = request(srv, ctx, "POST", "/v1/batches", body=payload,
                              headers=dict(auth("k01"), **ndjson))
    check(status == 400 and (error_body(body) or "").startswith("line 1: "),
          "plain body reaches the handler: %r" % body)
    hdrs = dict(auth("k01"), **{"Content-Encoding": "gzip"}, **ndjson)
    status, _, body = request(srv, ctx, "POST", "/v1/batches", body=gzip.compress(payload),
                              headers=hdrs)
    check(status == 400 and (error_body(body) or "").startswith("line 1: "),
          "gzip body decoded: %r" % body)
    status, _, body = request(srv, ctx, "POST", "/v1/batches", body=b"\x1f\x8b\x08garbage" * 10,
                              headers=hdrs)
    check(status == 400 and error_body(body) is not None, "corrupt gzip is 400: %r" % body)
    status, _, body = request(srv, ctx, "POST", "/v1/batches",
                              body=gzip.compress(payload)[:-8], headers=hdrs)
    check(status == 400, "truncated gzip is 400: %r" % body)
    status, _, body = request(srv, ctx, "POST", "/v1/batches", body=b"x",
                              headers=dict(auth("k01"), **{"Content-Encoding": "br"}))
    check(status == 415, "unknown Content-Encoding is 415: %r" % status)

    # 413 from Content-Length alone, before any body is sent.
    s = raw_tls(srv, ctx)
    s.sendall(("POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: 100000000\r\n\r\n" % tokens["k01"]).encode())
    status, body = read_response(s)
    s.close()
    check(status == 413 and error_body(body) is not None, "413 on Content-Length: %r" % status)

    # 413 while streaming a chunked body past the cap.
    s = raw_tls(srv, ctx)
    s.sendall(("POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" % tokens["k01"]).encode())
    chunk = b"a" * 8192
    try:
        for _ in range((MAX_BODY * 3 // 2) // len(chunk)):
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    status, body = read_response(s)
    s.close()
    check(status == 413, "413 on a chunked body over the cap: %r" % status)

    # A gzip bomb: small as sent, over the cap once inflated.
    bomb = gzip.compress(b"\0" * (MAX_BODY * 64))
    check(len(bomb) < MAX_BODY, "the bomb itself fits under the cap")
    status, _, body = request(srv, ctx, "POST", "/v1/batches", body=bomb, headers=hdrs)
    check(status == 413 and "decompression" in (error_body(body) or ""),
          "413 on a gzip bomb: %r %r" % (status, body))

    # An idle client, and one that stops half way through its headers, are cut off.
    for partial in (b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"):
        s = raw_tls(srv, ctx)
        if partial:
            s.sendall(partial)
        s.settimeout(CONN_TIMEOUT * 10)
        try:
            data = s.recv(1024)
            closed = data == b""
        except socket.timeout:
            closed = False
        except (ConnectionResetError, ssl.SSLError, OSError):
            closed = True
        s.close()
        check(closed, "connection timeout cuts off a slow client (%r)" % partial)

    # TLS: 1.2 and 1.3 work, 1.1 and 1.0 are refused (the client is allowed to offer them).
    # Under TLS 1.2 only AEAD suites: GCM is taken, CBC with HMAC refused.
    for ver, cipher, ok in (("-tls1_3", "DEFAULT", True), ("-tls1_2", "DEFAULT", True),
                            ("-tls1_1", "DEFAULT", False), ("-tls1", "DEFAULT", False),
                            ("-tls1_2", "ECDHE-ECDSA-AES128-GCM-SHA256", True),
                            ("-tls1_2", "ECDHE-ECDSA-AES128-SHA256", False),
                            ("-tls1_2", "ECDHE-ECDSA-AES256-SHA", False)):
        r = subprocess.run(["openssl", "s_client", ver, "-cipher", cipher + ":@SECLEVEL=0",
                            "-CAfile", os.path.join(d, "ca.pem"),
                            "-connect", "127.0.0.1:%d" % srv.port],
                           input="", capture_output=True, text=True, timeout=WAIT)
        established = (r.returncode == 0 and
                       re.search(r"(New, |Protocol\s*:\s*)TLSv1", r.stdout) is not None)
        check(established == ok,
              "openssl s_client %s %s %s" % (ver, cipher, "works" if ok else "refused"))

    # Metrics: a valid exposition that counted what happened above.
    status, headers, body = request(srv, ctx, "GET", "/metrics")
    check(status == 200 and headers.get("content-type", "").startswith("text/plain; version=0.0.4"),
          "metrics content type")
    try:
        m = parse_metrics(body.decode())
    except ValueError as e:
        check(False, "metrics parse: %s" % e)
        return
    get = lambda name, labels="": m.get((name, labels), -1)
    check(get("rollcall_http_requests_total", '{route="GET /healthz",status="200"}') >= 1,
          "healthz counted")
    check(get("rollcall_http_requests_total", '{route="GET /v1/devices",status="401"}') == 4,
          "401s counted")
    check(get("rollcall_http_requests_total", '{route="GET /v1/devices",status="403"}') == 2,
          "403s counted")
    check(get("rollcall_http_requests_total", '{route="unmatched",status="404"}') == 2,
          "404s counted as unmatched")
    check(get("rollcall_refusals_total", '{reason="unauthenticated"}') == 4, "refusals: 401")
    check(get("rollcall_refusals_total", '{reason="too_large"}') == 3, "refusals: 413")
    check(get("rollcall_ingest_latency_seconds_bucket", '{le="+Inf"}') ==
          get("rollcall_ingest_latency_seconds_count"), "histogram +Inf equals count")
    check(get("rollcall_devices_seen") == 0, "devices seen")
    check(get("rollcall_events_accepted_total") == 0, "events accepted")

    # Per-address connection limit: open connections (each completing a TLS handshake and a
    # request, so the server has surely accepted it) and hold them; the server must turn one
    # away by the time PER_IP are held. Last, as the server notices closes a little later.
    held = []
    turned_away = False
    for _ in range(PER_IP + 5):
        try:
            c = raw_tls(srv, ctx)
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _ = read_response(c)
        except (ssl.SSLError, ConnectionResetError, OSError):
            status = None
        if status is None:
            turned_away = True
            break
        held.append(c)
    for h in held:
        h.close()
    check(turned_away and len(held) <= PER_IP,
          "per-IP connection limit enforced (%d held)" % len(held))

if __name__ == "__main__":
    main()
