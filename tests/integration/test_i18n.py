#!/usr/bin/python3
# labels: collector
"""The API's languages over HTTPS against a real collector (docs/API.md "Languages"): error
bodies carry a stable code beside the technical line and the code's text in the language
Accept-Language asks for (Chinese by default, English for en), with Content-Language and
Vary; the technical line and the code do not change with the language; finding titles in
GET /v1/findings follow the same rule. Standard library only."""

import http.client
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402
from ingestlib import make_pki, ndjson, request  # noqa: E402
from test_figures import DAY1, World  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def get(w, path, lang=None, token=None):
    """GET with an optional Accept-Language; (status, headers, parsed body)."""
    h = {}
    if lang is not None:
        h["Accept-Language"] = lang
    if token:
        h["Authorization"] = "Bearer " + token
    conn = http.client.HTTPSConnection("127.0.0.1", w.port, context=w.ctx, timeout=30)
    try:
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        data = r.read()
        headers = {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()
    openapi_check.check("GET", path, r.status, headers.get("content-type"), data, headers)
    return r.status, headers, json.loads(data)


def main():
    d = tempfile.mkdtemp(prefix="rollcall-i18n-")
    try:
        make_pki(d)
        w = World(d, "i18n")
        try:
            walk(w)
        finally:
            check(w.stop() == 0, "server exits 0")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


def walk(w):
    zh_401 = "未登录或令牌无效"
    en_401 = "Not logged in, or the token is not valid"
    seen = []
    for lang, want, tag in [(None, zh_401, "zh-CN"), ("zh-CN", zh_401, "zh-CN"),
                            ("en", en_401, "en"), ("en-US,en;q=0.9", en_401, "en"),
                            ("fr, en;q=0.5", en_401, "en"), ("zh-CN,en;q=0.9", zh_401, "zh-CN"),
                            ("fr", zh_401, "zh-CN"), ("en;q=0", zh_401, "zh-CN")]:
        st, h, body = get(w, "/v1/devices", lang)
        check(st == 401 and body.get("code") == "unauthorized" and body.get("message") == want,
              "401 in %r: %r" % (lang, body))
        check(h.get("content-language") == tag and "accept-language" in h.get("vary", "").lower(),
              "Content-Language %s and Vary for %r: %r" % (tag, lang, h))
        seen.append(body.get("error"))
    check(len(set(seen)) == 1 and seen[0] == "missing bearer token",
          "the technical line does not change with the language: %r" % set(seen))
    st, _, body = get(w, "/no/such/path", "en")
    check(st == 404 and body == {"error": "not found", "code": "not_found",
                                 "message": "Not found"}, "404 in English: %r" % body)
    st, _, body = get(w, "/no/such/path")
    check(st == 404 and body.get("message") == "未找到", "404 in Chinese: %r" % body)
    st, _, body = get(w, "/v1/devices", "en", w.tok["evaluator"])
    check(st == 403 and body.get("code") == "forbidden" and body.get("message") == "Not allowed",
          "403 in English: %r" % body)
    st, _, body = get(w, "/v1/devices?district=120104", "en", w.tok["district-d"])
    check(st == 403 and body.get("code") == "out_of_scope" and
          body.get("message") == "Outside your scope", "out of scope: %r" % body)
    st, _, body = get(w, "/healthz", "en")
    check(st == 200 and "code" not in body, "a success carries no error code: %r" % body)

    # A stored finding (a forged batch signature) is titled in the asked language, and its
    # detail (migration 17: stored with its template code) follows it too.
    ka, forger = w.enrol("K-A1", "INST-A"), w.enrol("K-X", "INST-A")
    lines = [ka.heartbeat_at(DAY1 + i * 60000) for i in range(2)]
    st, body = request(w.port, w.ctx, "POST", "/v1/batches", ndjson(lines),
                       {"Authorization": "Bearer " + ka.token,
                        "Content-Type": "application/x-ndjson",
                        "Rollcall-Signature": forger.sign_lines(lines), "Accept-Language": "en"})
    check(st == 400 and body.get("code") == "bad_signature" and
          body.get("message") == "Batch signature invalid" and body.get("error") == "bad signature",
          "a refused batch in English: %r" % body)
    titles, details = {}, {}
    for lang in (None, "en"):
        st, _, body = get(w, "/v1/findings", lang, w.tok["admin"])
        rows = [f for f in body.get("findings", []) if f.get("kind") == "bad_signature"]
        check(st == 200 and len(rows) == 1, "the finding listed: %r" % body)
        titles[lang] = rows[0].get("title") if rows else None
        details[lang] = ((rows[0].get("detail"), rows[0].get("detail_code"),
                          rows[0].get("detail_args")) if rows else None)
    check(titles == {None: "批次签名无效", "en": "Batch signature invalid"},
          "finding titles: %r" % titles)
    check(details == {None: ("批次签名验证失败", "bad_signature", {}),
                      "en": ("bad signature", "bad_signature", {})},
          "finding details: %r" % details)


if __name__ == "__main__":
    sys.exit(main())
