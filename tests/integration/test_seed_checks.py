#!/usr/bin/python3
# labels: collector
"""More of the seed, checked end to end (issue 15) on a real collector: a kiosk's GNSS quality
reports become findings on the session they touch (docs/ATTENDANCE.md `gnss_quality`), and
venues are judged against Tianjin's built-in district boundaries (docs/BOUNDARIES.md): a
venue in Langfang (Hebei) is `venue_outside_region`, one in Hexi declared in Nankai is
`venue_outside_district` (INST-B, registered in Nankai, teaching at venue-a). The classes' evidence bundles verify offline: rollcall-verify
recomputes the same findings."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_figures as tf  # noqa: E402
from ingestlib import circle, make_pki, run  # noqa: E402

VERIFY = os.environ.get("ROLLCALL_VERIFY", "rollcall-verify")
LF_LAT, LF_LON = 39.5237, 116.7035  # Langfang city government, 7.8 km outside Wuqing
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def findings(w, cid):
    # the details in English (Accept-Language; Chinese by default: docs/API.md "Languages")
    st, r = w.req("admin", "GET", "/v1/classes/%s/attendance" % cid,
                  headers={"Accept-Language": "en"})
    assert st == 200, (st, r)
    return r["findings"]


def main():
    d = tempfile.mkdtemp(prefix="rollcall-seed-")
    try:
        make_pki(d)
        w = tf.World(d, "seed")
        try:
            k = w.enrol("K-HX", "INST-A")  # venue-a, in Hexi (120103)
            lf = tf.Kiosk(w.dir, "K-LF", "INST-A", fence="venue-lf")
            st, body = w.req("enroll", "POST", "/v1/devices",
                             lf.enrol_body(circle("venue-lf", LF_LON, LF_LAT, 100)).encode(),
                             {"Content-Type": "application/json"})
            assert st in (200, 201), (st, body)
            for who, plan in (("inst-a", tf.plan("C-G")),
                              ("inst-a", tf.plan("C-L", fence="venue-lf")),
                              ("admin", tf.plan("C-N", "INST-B", "120104"))):
                st, b = w.req(who, "PUT", "/v1/classes/" + plan["id"], plan)
                assert st == 201, (st, b)
            p = [tf.pseudonym(k.key_hex, i) for i in tf.IDS]
            m = 60000
            lines = [
                # S01 of C-G: the kiosk's receiver reports a frozen position at 09:05, then a
                # trainee signs in (09:10) and out (12:00) on its GNSS fixes: serious.
                k.line("gnss", tf.DAY1 + 5 * m, ['"kind":"frozen"',
                                                 '"detail":"same position for 300 s"']),
                k.sign("signin", tf.DAY1 + 10 * m, p[0], tf.IDS[0], "S01", tf.LAT, "inside",
                       cls="C-G"),
                k.sign("signout", tf.DAY1 + 3 * tf.H, p[0], tf.IDS[0], "S01", tf.LAT, "inside",
                       cls="C-G"),
                # S02: zero accuracy at 09:30 and no sign event after it: a warning.
                k.line("gnss", tf.DAY1 + tf.DAY + 30 * m, ['"kind":"zero_eph"',
                                                           '"detail":"eph 0 m"']),
            ]
            check(tf.upload(w.port, w.ctx, k, lines, [4]), "upload")
            g = [f for f in findings(w, "C-G") if f["kind"] == "gnss_quality"]
            by_session = {f["session"]: f for f in g}
            check(len(g) == 2 and set(by_session) == {"S01", "S02"},
                  "C-G: one gnss_quality finding per session: %s" % g)
            s1, s2 = by_session.get("S01", {}), by_session.get("S02", {})
            ids = [json.loads(x)["id"] for x in lines]
            check(s1.get("severity") == "serious" and s1.get("subject") == "K-HX" and
                  sorted(s1.get("evidence", [])) == sorted(ids[:3]) and
                  "frozen position 1 time" in s1.get("detail", "") and
                  "2 sign events of this class" in s1.get("detail", ""),
                  "S01: frozen, then a sign-in and a sign-out on GNSS fixes: serious, evidence "
                  "the report and both: %s" % s1)
            check(s2.get("severity") == "warning" and s2.get("evidence") == [ids[3]] and
                  "zero accuracy" in s2.get("detail", ""),
                  "S02: zero accuracy, nothing rests on it: warning: %s" % s2)
            # The venues.
            lf_f = [f for f in findings(w, "C-L") if f["kind"].startswith("venue_outside")]
            check(len(lf_f) == 1 and lf_f[0]["kind"] == "venue_outside_region" and
                  lf_f[0]["severity"] == "serious" and lf_f[0]["subject"] == "venue-lf" and
                  "7.8 km outside Tianjin" in lf_f[0]["detail"],
                  "C-L: a venue in Langfang is outside Tianjin: %s" % lf_f)
            n_f = [f for f in findings(w, "C-N") if f["kind"].startswith("venue_outside")]
            check(len(n_f) == 1 and n_f[0]["kind"] == "venue_outside_district" and
                  n_f[0]["severity"] == "warning" and
                  "declared district 120104 南开区 Nankai" in n_f[0]["detail"] and
                  "lies in 120103 河西区 Hexi" in n_f[0]["detail"],
                  "C-N: venue-a (Hexi) declared in Nankai: %s" % n_f)
            g_f = [f for f in findings(w, "C-G") if f["kind"].startswith("venue_outside")]
            check(g_f == [], "C-G: venue-a is in its declared district: %s" % g_f)
            # The bundles verify: the verifier recomputes these findings from the bundle.
            key = os.path.join(d, "signing.key")
            r = run("signing-key", "create", "--signing-key", key, db=w.db)
            check(r.returncode == 0, "signing-key create: %s" % r.stderr)
            for cid in ("C-G", "C-L", "C-N"):
                out = os.path.join(d, cid + ".tar")
                r = run("evidence", "--class", cid, "--out", out, "--signing-key", key, db=w.db)
                check(r.returncode == 0, "evidence %s: %s" % (cid, r.stderr))
                v = subprocess.run([VERIFY, "--json", out], capture_output=True, text=True,
                                   timeout=120)
                check(v.returncode == 0, "the bundle of %s verifies: %s%s"
                      % (cid, v.stdout[:500], v.stderr))
        finally:
            check(w.stop() == 0, "server exits 0 on SIGTERM")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    failures.extend(tf.failures)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
