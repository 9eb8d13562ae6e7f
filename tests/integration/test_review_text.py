#!/usr/bin/python3
# labels: collector
"""One text validator at every entry (core/utf8.h), over HTTPS against a real collector:
review reasons holding raw 0xFF, an encoded surrogate (ED A0 80), an overlong form (C0 AF) or
an escaped \\u0000 are refused with 400 naming the field and store nothing; /v1/findings, the
class's attendance JSON, CSV and XLSX stay valid UTF-8; a Chinese reason is stored exactly.
Query strings, a class plan and an event line get the same treatment. Standard library only."""

import io
import json
import os
import shutil
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import make_pki, ndjson, request, ts  # noqa: E402
from test_figures import DAY1, H, World, class_events, plan, upload  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


GOOD = "卫星信号被楼体遮挡，监控录像显示学员在场（复核：张老师）"


def strict_json(w, who, path):
    """GET path; the body must be strict UTF-8 JSON."""
    st, ctype, raw = w.raw(who, path)
    try:
        return st, json.loads(raw.decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError) as e:
        check(False, "%s is not valid UTF-8 JSON: %s" % (path, e))
        return st, None


def outputs_valid(w, what):
    """Findings, attendance JSON, CSV and XLSX all decode as strict UTF-8."""
    st, fl = strict_json(w, "admin", "/v1/findings?class=C-A")
    check(st == 200 and fl is not None, "%s: findings readable: %s" % (what, st))
    st, rep = strict_json(w, "admin", "/v1/classes/C-A/attendance")
    check(st == 200 and rep is not None, "%s: attendance readable: %s" % (what, st))
    for table in ("findings", "trainees", "sessions", "classes"):
        st, _, raw = w.raw("admin", "/v1/classes/C-A/attendance?format=csv&table=" + table)
        try:
            raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            check(False, "%s: CSV %s is not UTF-8: %s" % (what, table, e))
    st, _, raw = w.raw("admin", "/v1/classes/C-A/attendance?format=xlsx")
    xml = ""
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        for n in z.namelist():
            if n.endswith(".xml") or n.endswith(".rels"):
                try:
                    xml += z.read(n).decode("utf-8", errors="strict")
                except UnicodeDecodeError as e:
                    check(False, "%s: XLSX part %s is not UTF-8: %s" % (what, n, e))
    return fl, rep, xml


def main():
    d = tempfile.mkdtemp(prefix="rollcall-text-")
    try:
        make_pki(d)
        w = World(d, "m")
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
    k = w.enrol("K-A1", "INST-A")
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A", plan())
    check(st == 201, "PUT C-A: %s %s" % (st, body))
    upload(w.port, w.ctx, k, class_events(k, k.key_hex), [200])
    st, fl = w.req("district-d", "GET", "/v1/findings?class=C-A")
    outside = [f for f in fl.get("findings", []) if f["kind"] == "signin_outside"]
    if not check(st == 200 and len(outside) == 1, "an outside sign-in to review: %s" % fl):
        return
    fid = outside[0]["id"]
    review = "/v1/findings/%s/review" % fid
    ctype = {"Content-Type": "application/json"}

    bad = [
        (b'{"decision":"reject","reason":"ab\xff"}', "reason: not valid UTF-8 (byte 2)"),
        (b'{"decision":"reject","reason":"ab\xed\xa0\x80"}', "reason: not valid UTF-8 (byte 2)"),
        (b'{"decision":"reject","reason":"ab\xc0\xaf"}', "reason: not valid UTF-8 (byte 2)"),
        (b'{"decision":"reject","reason":"ab\\u0000cd"}', "reason: contains U+0000"),
        (b'{"decision":"reject","reason":"\xe5\x8e\x9f\\u0000"}', "reason: contains U+0000"),
        (b'{"decision":"reject","rea\xffson":"x"}', "not valid UTF-8"),
    ]
    for raw, why in bad:
        st, body = w.req("district-d", "POST", review, raw, ctype)
        check(st == 400 and isinstance(body, dict) and why in body.get("error", ""),
              "review %r: want 400 %r, got %s %s" % (raw, why, st, body))
        fl, rep, _ = outputs_valid(w, "after %r" % raw)
        if rep is not None:
            check(rep.get("reviews") == [], "nothing stored after %r: %s" % (raw, rep.get("reviews")))

    # Query strings pass the same validator.
    for path, why in [("/v1/findings?class=C%FF", "query argument class: not valid UTF-8"),
                      ("/v1/findings?class=C%00A", "query argument class: contains U+0000"),
                      ("/v1/summary?district=%ED%A0%80", "query argument district: not valid"),
                      ("/v1/summary?x%C0%AF=1", "query argument name: not valid UTF-8"),
                      ("/v1/classes/C-A/attendance?format=csv%FF", "query argument format")]:
        st, body = w.req("admin", "GET", path)
        check(st == 400 and isinstance(body, dict) and why in body.get("error", ""),
              "GET %s: want 400 %r, got %s %s" % (path, why, st, body))

    # A class plan with an escaped U+0000 in a trainee's name: refused, not truncated.
    p = plan()
    text = json.dumps(p, ensure_ascii=False).replace("李四", "李\\u0000四")
    check("\\u0000" in text, "the plan carries the escape")
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A", text.encode(), ctype)
    check(st == 400 and "contains U+0000" in body.get("error", ""),
          "plan with U+0000: %s %s" % (st, body))
    st, rep = strict_json(w, "inst-a", "/v1/classes/C-A/attendance")
    check(rep and any(t.get("name") == "李四" for t in rep["trainees"]),
          "the stored roster is unchanged")

    # An event line with an escaped U+0000: the batch is refused, nothing stored.
    line = k.line("rec_file", DAY1 + 5 * 24 * H, [
        '"class":"C-A"', '"session":"S01"', '"camera":"cam-1"', '"file":"/rec/a\\u0000.mp4"',
        '"bytes":1000', '"sha256":"%s"' % ("ab" * 32), '"start":"%s"' % ts(DAY1),
        '"end":"%s"' % ts(DAY1 + H)])
    st, body = request(w.port, w.ctx, "POST", "/v1/batches", ndjson([line]),
                       {"Authorization": "Bearer " + k.token,
                        "Content-Type": "application/x-ndjson",
                        "Rollcall-Signature": k.sign_lines([line])})
    check(st == 400 and "NUL" in body.get("error", ""), "event line with U+0000: %s %s"
          % (st, body))

    # A valid Chinese reason is stored exactly and every output carries it intact.
    st, body = w.req("district-d", "POST", review,
                     json.dumps({"decision": "approve", "reason": GOOD},
                                ensure_ascii=False).encode(), ctype)
    check(st == 200, "a Chinese reason is accepted: %s %s" % (st, body))
    fl, rep, xml = outputs_valid(w, "after the good review")
    if rep is not None:
        check([r.get("reason") for r in rep.get("reviews", [])] == [GOOD],
              "attendance JSON carries the reason exactly: %s" % rep.get("reviews"))
    if fl is not None:
        check(any(f.get("review_reason") == GOOD for f in fl["findings"]),
              "findings carry the reason exactly")
    st, _, csvb = w.raw("admin", "/v1/classes/C-A/attendance?format=csv&table=findings")
    check(GOOD in csvb.decode("utf-8"), "the findings CSV carries the reason exactly")
    check(GOOD in xml, "the XLSX carries the reason exactly")


if __name__ == "__main__":
    sys.exit(main())
