#!/usr/bin/python3
# labels: collector
"""Every error is JSON, also those libmicrohttpd answers itself before any handler runs
(malformed request 400, Content-Length too large 413, URI too long 414, headers too large
431, HTTP version not supported 505): raw requests over a TLS socket against a real
collector; each answer has the right status, Content-Type application/json and a JSON body
{"error": "..."}. Standard library only."""

import json
import os
import re
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import WAIT, Server, make_pki, run, tls_context  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def raw(port, ctx, data):
    """Sends data as is and reads until the server closes (it does after every error here).
    Returns (status, Content-Type, body after the last header block, number of status lines)."""
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=WAIT),
                        server_hostname="127.0.0.1")
    got = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # answered and closed while we were still sending: read what it said
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    head = got.partition(b"\r\n\r\n")[0]
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    ctype = re.search(rb"\r\ncontent-type:\s*([^\r]*)", head, re.I)
    body = got.rpartition(b"\r\n\r\n")[2]
    return (int(m.group(1)) if m else None, ctype.group(1).decode() if ctype else None, body,
            len(re.findall(rb"(?:^|\r\n)HTTP/1\.[01] \d{3} ", got)))


CASES = [
    # (what, request bytes, status)
    ("a request line with four parts", b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
    ("a header line without a colon",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400),
    ("a Content-Length that is not a number",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n", 400),
    ("a Content-Length past 2^64",
     b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
     413),
    ("a Content-Length over --max-body",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n", 413),
    ("a 200 KB URI", b"GET /healthz?x=" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("a 200 KB header",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200000 + b"\r\n\r\n", 431),
    ("HTTP/2.0", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("HTTP/3.0", b"GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    ("HTTP/0.9", b"GET /healthz HTTP/0.9\r\nHost: x\r\n\r\n", 505),
]

# MHD's own refusals of a Content-Length header: it sends their header block twice.
MHD_TWICE = {"a Content-Length that is not a number", "a Content-Length past 2^64"}


def main():
    d = tempfile.mkdtemp(prefix="rollcall-http-errors-")
    srv = None
    try:
        make_pki(d)
        db = "sqlite:" + os.path.join(d, "server.db")
        r = run("migrate", db=db)
        assert r.returncode == 0, r.stderr
        srv = Server(db, d)
        ctx = tls_context(d)
        for what, data, want in CASES:
            st, ctype, body, answers = raw(srv.port, ctx, data)
            # libmicrohttpd 0.9.75 writes the header block of its own Content-Length refusals
            # twice (docs/API.md "Errors"); every other answer is one response.
            twice = what in MHD_TWICE
            check(answers == 1 or (twice and answers == 2),
                  "%s: %d responses on the wire" % (what, answers))
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            check(st == want, "%s: status %s, want %d" % (what, st, want))
            check(ctype is not None and ctype.startswith("application/json"),
                  "%s: Content-Type %r, want application/json" % (what, ctype))
            check(isinstance(parsed, dict) and isinstance(parsed.get("error"), str) and
                  parsed["error"] and "<" not in parsed["error"],
                  "%s: body %r, want {\"error\": \"...\"}" % (what, body[:120]))
        # The server still serves after all of that.
        st, ctype, body, _ = raw(srv.port, ctx, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
        check(st == 200 and json.loads(body).get("status") == "ok", "healthz after: %s" % st)
    finally:
        if srv:
            check(srv.stop() == 0, "server exits 0")
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
