#!/usr/bin/python3
"""docs/prometheus/rollcall.rules.yml, checked without promtool (Debian's prometheus package
installs 96 MB for it, too much for the test machine; `promtool check rules` is the check to
run where it is installed): the file is a Prometheus rule file in form (groups of rules, each
with alert, expr, labels.severity and annotations.summary, `for` a duration), the four alerts
issue 17 asks for are there, parentheses and braces balance in every expression, and every
rollcall_* metric an expression names is one a real collector exports on /metrics (scraped
here, with one enrolled kiosk so the per-device gauge is present)."""

import os
import re
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingestlib as il  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = os.path.join(ROOT, "docs", "prometheus", "rollcall.rules.yml")
DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d|w|y)$")


def balanced(expr):
    depth = {"(": 0, "{": 0, "[": 0}
    close = {")": "(", "}": "{", "]": "["}
    in_str = False
    for ch in expr:
        if ch == '"':
            in_str = not in_str
        elif not in_str and ch in depth:
            depth[ch] += 1
        elif not in_str and ch in close:
            depth[close[ch]] -= 1
            if depth[close[ch]] < 0:
                return False
    return not in_str and all(v == 0 for v in depth.values())


def main():
    with open(RULES, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert set(doc) == {"groups"}, doc.keys()
    rules = []
    for g in doc["groups"]:
        assert set(g) <= {"name", "interval", "rules"} and g["name"], g
        for r in g["rules"]:
            assert set(r) <= {"alert", "expr", "for", "labels", "annotations"}, r
            assert r["alert"] and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", r["alert"]), r
            assert isinstance(r["expr"], str) and balanced(r["expr"]), r["expr"]
            assert "for" not in r or DURATION.match(r["for"]), r
            assert r["labels"]["severity"] in ("warning", "critical"), r
            assert r["annotations"]["summary"], r
            rules.append(r)
    names = {r["alert"] for r in rules}
    assert len(names) == len(rules), "duplicate alert names"
    for want in ("RollcallCollectorDown", "RollcallKioskSilent", "RollcallIngestRefusals",
                 "RollcallCertificateExpiring"):
        assert want in names, want

    with tempfile.TemporaryDirectory() as d:
        il.make_pki(d)
        db = "sqlite:" + os.path.join(d, "s.db")
        assert il.run("migrate", db=db).returncode == 0
        r = il.run("token", "create", "--role", "enroll", "--institution", "INST-A", "--name",
                   "e", db=db)
        assert r.returncode == 0, r
        enroll = r.stdout.strip().split()[-1]
        srv = il.Server(db, d)
        try:
            ctx = il.tls_context(d)
            dev = il.Device(d, "kiosk-a", "INST-A")
            st, ans = il.request(srv.port, ctx, "POST", "/v1/devices",
                                 dev.enrol_body(il.circle("test-venue", 117.2, 39.1, 100)),
                                 {"Authorization": "Bearer " + enroll,
                                  "Content-Type": "application/json"})
            assert st == 201, (st, ans)
            st, body = il.request(srv.port, ctx, "GET", "/metrics")
            assert st == 200
            exported = set(re.findall(r"^# TYPE (rollcall_[a-z_]+) ", body.decode(), re.M))
            assert 'rollcall_device_last_seen_timestamp_seconds{device="kiosk-a",' \
                   'institution="INST-A"} 0' in body.decode(), body
        finally:
            srv.stop()
    for r in rules:
        for m in re.findall(r"\b(rollcall_[a-z_]+)", r["expr"]):
            assert m in exported, "%s uses %s, which /metrics does not export" % (r["alert"], m)
    print("alert rules: %d rules, every metric exported" % len(rules))
    return 0


if __name__ == "__main__":
    sys.exit(main())
