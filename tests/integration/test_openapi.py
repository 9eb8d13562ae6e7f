#!/usr/bin/python3
# labels: openapi
"""docs/openapi.yaml against the code and a real collector:
- every route of the route table in server/http/api.c is an operation of the document, and
  every operation of the document is a route (method and path);
- `GET /openapi.json` answers without login the document (the same data as the YAML), with an
  ETag and a Cache-Control; `If-None-Match` with that ETag is 304 without a body;
- every route answers a caller without credentials as the document says (401 or the public
  answer), validated by openapi_check;
- openapi_check itself refuses what the document does not describe: an undocumented status,
  Content-Type, a body off the schema, a wrong method or path, and a real answer checked
  against a deliberately wrong schema.
Debian packages: python3-yaml, python3-jsonschema."""

import copy
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402
from ingestlib import Server, make_pki, request, run, tls_context  # noqa: E402

SRC = openapi_check.SRC
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def table_routes():
    """(METHOD, pattern) of every entry of the route table in server/http/api.c."""
    with open(os.path.join(SRC, "server", "http", "api.c"), encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("static const struct http_route routes[]"):]
    table = table[:table.index("};")]
    return set(re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)"', table))


def doc_routes(doc):
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item
            if m in openapi_check.METHODS}


def refuses(checker, what, *args):
    try:
        checker.check(*args)
    except openapi_check.Undocumented as e:
        return check(True, what) and str(e)
    check(False, "the checker accepted " + what)
    return None


def checker_refuses(doc):
    c = openapi_check.Checker(doc)
    ok = (b'{"status":"ok","schema":3,"problems":[],"checks":{"database":true,'
          b'"ingest_queue_depth":0,"ingest_queue_oldest_ms":0}}')
    c.check("GET", "/healthz", 200, "application/json", ok)  # accepted
    refuses(c, "an undocumented status", "GET", "/healthz", 201, "application/json", ok)
    refuses(c, "an undocumented Content-Type", "GET", "/healthz", 200, "text/html", ok)
    refuses(c, "a body missing a required member", "GET", "/healthz", 200, "application/json",
            b'{"status":"ok"}')
    refuses(c, "a member of the wrong type", "GET", "/healthz", 200, "application/json",
            ok.replace(b'"schema":3', b'"schema":"3"'))
    refuses(c, "a member the schema does not have", "GET", "/v1/me", 200, "application/json",
            b'{"name":"n","role":"admin","via":"token","extra":1}')
    refuses(c, "a body that is not JSON", "GET", "/healthz", 200, "application/json", b"ok")
    refuses(c, "an error body that is not {\"error\", \"code\", \"message\"}", "GET", "/v1/me",
            401, "application/json", b'{"message":"no"}')
    refuses(c, "an error body without its code", "GET", "/v1/me", 401, "application/json",
            b'{"error":"no","message":"no"}')
    refuses(c, "a $ref'd schema violated (Device.head_seq)", "GET", "/v1/devices", 200,
            "application/json", json.dumps({"devices": [{
                "id": "k", "institution": "I", "profile": "p", "fence": "f",
                "enrolled_at": None, "last_seen": None, "head_seq": "x",
                "gnss": {"last_event": None, "fix_mode": None, "fix_at": None},
                "queue": None, "clock_skew_ms": None}]}).encode())
    refuses(c, "200 for a path not in the document", "GET", "/v2/nothing", 200,
            "application/json", b"{}")
    refuses(c, "200 for a method not in the document", "DELETE", "/v1/devices", 200,
            "application/json", b"{}")
    refuses(c, "a 401 without its required WWW-Authenticate", "GET", "/v1/me", 401,
            "application/json", b'{"error":"no","code":"unauthorized","message":"n"}',
            {"Content-Type": "application/json"})
    c.check("GET", "/v1/me", 401, "application/json",
            b'{"error":"no","code":"unauthorized","message":"n"}',
            {"www-authenticate": 'Bearer realm="rollcall"'})
    c.check("GET", "/v2/nothing", 404, "application/json",
            b'{"error":"not found","code":"not_found","message":"n"}')
    c.check("DELETE", "/v1/devices", 405, "application/json",
            b'{"error":"method not allowed","code":"method_not_allowed","message":"n"}')
    c.check("GET", "/v1/classes/C-A/attendance?format=csv", 200, "text/csv; charset=utf-8",
            b"\xef\xbb\xbf...")


def main():
    doc = openapi_check.load()
    table = table_routes()
    documented = doc_routes(doc)
    check(len(table) >= 16, "route table parsed: %r" % sorted(table))
    for r in sorted(table - documented):
        check(False, "route %s %s of server/http/api.c is not in docs/openapi.yaml" % r)
    for r in sorted(documented - table):
        check(False, "docs/openapi.yaml documents %s %s, which is not a route" % r)
    check(("GET", "/openapi.json") in table, "GET /openapi.json is a route")

    checker_refuses(doc)

    d = tempfile.mkdtemp(prefix="rollcall-openapi-")
    try:
        make_pki(d)
        db = "sqlite:" + os.path.join(d, "c.db")
        r = run("migrate", db=db)
        assert r.returncode == 0, r.stderr
        srv = Server(db, d)
        ctx = tls_context(d)
        try:
            served(srv, ctx, doc, d)
            anonymous(srv, ctx, table)
            wrong_schema(srv, ctx, doc)
        finally:
            srv.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("docs/openapi.yaml matches the route table and the served answers")


def raw_get(srv, ctx, path, headers=None):
    import http.client
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        openapi_check.check("GET", path, r.status, r.getheader("Content-Type"), data,
                            dict(r.getheaders()))
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def served(srv, ctx, doc, d):
    st, h, data = raw_get(srv, ctx, "/openapi.json")
    if not check(st == 200, "GET /openapi.json without login: %s %r" % (st, data[:200])):
        return
    check(h.get("content-type", "").startswith("application/json"), "JSON: %r" % h)
    check(json.loads(data) == doc, "/openapi.json is docs/openapi.yaml as JSON")
    etag = h.get("etag", "")
    check(re.fullmatch(r'"[0-9a-f]{16,64}"', etag) is not None, "a strong ETag: %r" % etag)
    check("no-store" not in h.get("cache-control", "") and h.get("cache-control"),
          "cacheable: Cache-Control %r" % h.get("cache-control"))
    st2, h2, data2 = raw_get(srv, ctx, "/openapi.json", {"If-None-Match": etag})
    check(st2 == 304 and data2 == b"" and h2.get("etag") == etag,
          "If-None-Match with the ETag: 304 without a body (%s %r %r)" % (st2, data2[:80], h2))
    st3, _, data3 = raw_get(srv, ctx, "/openapi.json", {"If-None-Match": '"other", ' + etag})
    check(st3 == 304, "the ETag in a list of If-None-Match: 304 (%s)" % st3)
    st4, _, data4 = raw_get(srv, ctx, "/openapi.json", {"If-None-Match": '"stale"'})
    check(st4 == 200 and data4 == data, "another ETag: 200 with the document (%s)" % st4)
    st5, body5 = request(srv.port, ctx, "POST", "/openapi.json", b"{}",
                         {"Content-Type": "application/json"})
    check(st5 == 405, "POST /openapi.json: 405 (%s %r)" % (st5, body5))


def anonymous(srv, ctx, table):
    """Every route without credentials: the public ones answer, the others 401, and each
    answer is one the document describes (request() validates it)."""
    public = {("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/openapi.json"),
              ("POST", "/v1/login"), ("GET", "/public/evaluation/{year}")}
    for method, pattern in sorted(table):
        path = re.sub(r"\{[a-z]+\}", "X-1", pattern.replace("{year}", "2026"))
        body = b"{}" if method != "GET" else None
        try:
            st, answer = request(srv.port, ctx, method, path, body,
                                 {"Content-Type": "application/json"} if body else {})
        except openapi_check.Undocumented as e:
            check(False, str(e))
            continue
        if (method, pattern) in public:
            check(st != 401, "%s %s is public: %s" % (method, pattern, st))
        else:
            check(st == 401, "%s %s without credentials: 401, got %s %r"
                  % (method, pattern, st, answer))
    openapi_check.FAILURES.clear()  # reported above as failures of this test


def wrong_schema(srv, ctx, doc):
    """A real answer checked against a deliberately wrong document must be refused: the
    checks can fail."""
    bad = copy.deepcopy(doc)
    schema = bad["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]
    schema["schema"]["allOf"][1]["properties"]["schema"] = {"type": "string"}
    import http.client
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=30)
    try:
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        data = r.read()
    finally:
        conn.close()
    openapi_check.Checker(doc).check("GET", "/healthz", r.status, r.getheader("Content-Type"),
                                     data)
    refuses(openapi_check.Checker(bad), "a real /healthz answer against a wrong schema", "GET",
            "/healthz", r.status, r.getheader("Content-Type"), data)


if __name__ == "__main__":
    main()
