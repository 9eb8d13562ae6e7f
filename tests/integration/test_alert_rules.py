#!/usr/bin/python3
"""docs/prometheus/rollcall.rules.yml against a real collector: every rollcall_* metric an
alert's expression names is one the collector exports on /metrics (scraped here, with one
enrolled kiosk so the per-device gauge is present), and the four alerts issue 17 asks for are
there. promtool does not know our metrics: the form of the file, its PromQL and templates, and
each alert firing on a synthetic series are checked by `promtool check rules` and `promtool test
rules` (scripts/check-alert-rules.sh, ctest docs/alert-rules)."""

import os
import re
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingestlib as il  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = os.path.join(ROOT, "docs", "prometheus", "rollcall.rules.yml")


def main():
    with open(RULES, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    rules = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
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
