#!/usr/bin/python3
# labels: collector pg
"""The figures end to end over HTTPS: class plans, events from a simulated kiosk (canonical
lines made here and signed with the openssl CLI, uploaded through POST /v1/batches), online
records and assessments, then the attendance report checked against figures worked out by
hand in this file; a reviewer's approval changes the figures and the report says so; CSV
(BOM, Chinese headers) and XLSX (a zip with a sheet per level of detail); subsidy; the import
and report commands; every route walked with every role against the exact allowed set; and
the report's bytes unchanged when the same events arrive in other batches, orders and with
duplicates. Standard library only."""

import csv
import hashlib
import hmac
import io
import json
import re
import unicodedata
import os
import shutil
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402
import pglib  # noqa: E402
from ingestlib import (Device, Server, circle, make_pki, ndjson, request, run,  # noqa: E402
                       sha256_hex, tls_context, token, ts, uuid7, fix_json)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def near(a, b, eps=1e-9):
    return a is not None and b is not None and abs(a - b) <= eps


H = 3600000
# 2026-11-02T09:00:00+08:00 = 01:00Z
DAY1 = 1793581200000  # 2026-11-02T01:00:00.000Z
DAY = 24 * H
LAT, LON = 39.10000000, 117.20000000  # venue-a's centre
FAR_LAT = 39.11000000                 # about 1.1 km north: outside


def gb11643(first17):
    """The ISO 7064 MOD 11-2 check character of an identity number (GB 11643-1999)."""
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * x for c, x in zip(first17, w))
    return "10X98765432"[s % 11]


def idnum(first17):
    return first17 + gb11643(first17)


def masked(n):
    return n[:4] + "*" * 10 + n[-4:]


IDS = [idnum("12010319900101123"), idnum("12010219920202234"), idnum("12010119950303345")]
NAMES = ["张三", "李四", "王五"]


def iso(ms):
    """An instant as Asia/Shanghai RFC 3339 (what a plan file carries)."""
    import time
    t = time.gmtime((ms + 8 * H) // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", t)


def plan(class_id="C-A", institution="INST-A", district="120103", fence="venue-a"):
    return {"id": class_id, "institution": institution, "district": district,
            "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-10-01",
            "sessions": [
                {"id": "S01", "start": iso(DAY1), "end": iso(DAY1 + 3 * H), "mode": "offline",
                 "fence": fence},
                {"id": "S02", "start": iso(DAY1 + DAY), "end": iso(DAY1 + DAY + 3 * H),
                 "mode": "offline", "fence": fence},
                {"id": "S03", "start": iso(DAY1 + 2 * DAY + 10 * H),
                 "end": iso(DAY1 + 2 * DAY + 12 * H), "mode": "online"}],
            "roster": [{"id_number": IDS[i], "name": NAMES[i], "student": False}
                       for i in range(3)]}


class Kiosk(Device):
    """A Device whose events carry the times the test chooses."""

    def line(self, typ, ms, fields):
        self.seq += 1
        self.mono += 1000
        head = ('{"id":"%s","device":"%s","seq":%d,"prev":"%s","type":"%s","ts":"%s",'
                '"boot":"%s","mono_ms":%d' % (uuid7(ms), self.id, self.seq, self.head, typ,
                                               ts(ms), self.boot, self.mono))
        line = (head + "".join(",%s" % f for f in fields) + "}").encode()
        self.head = sha256_hex(line)
        self.lines.append(line)
        return line

    def sign(self, typ, ms, pseudo, idn, session, lat, verdict, cls="C-A", extra=()):
        dist = -20.0 if verdict == "inside" else 1000.0
        return self.line(typ, ms, ['"trainee":"%s"' % pseudo, '"trainee_masked":"%s"' % masked(idn),
                                   '"class":"%s"' % cls, '"session":"%s"' % session,
                                   '"fix":%s' % fix_json(lat, LON, 3.5, fix_ms=ms),
                                   '"fence":"%s"' % self.fence, '"verdict":"%s"' % verdict,
                                   '"distance_m":%.3f' % dist] + list(extra))

    def rec_file(self, ms, start, end, session, cls="C-A"):
        return self.line("rec_file", ms, ['"class":"%s"' % cls, '"session":"%s"' % session,
                                          '"camera":"cam-1"', '"file":"/rec/%d.mp4"' % start,
                                          '"bytes":1000', '"sha256":"%s"' % ("ab" * 32),
                                          '"start":"%s"' % ts(start), '"end":"%s"' % ts(end)])

    def heartbeat_at(self, ms):
        return self.line("heartbeat", ms, ['"queue":0'])


def pseudonym(key_hex, idn):
    return hmac.new(bytes.fromhex(key_hex), idn.encode(), hashlib.sha256).hexdigest()


def class_events(k, key_hex):
    """The kiosk's events for class C-A (see the figures worked out in main)."""
    p = [pseudonym(key_hex, i) for i in IDS]
    m = 60000
    ev = []
    # heartbeats every 4 minutes through both offline sessions: the kiosk is never silent
    beats = [DAY1 - 30 * m + i * 4 * m for i in range(0, 60)]
    beats += [DAY1 + DAY - 30 * m + i * 4 * m for i in range(0, 60)]
    planned = [
        # S01: T1 in 08:50..12:05; T2 in 09:30..12:00; T3 in 09:00, never out
        (DAY1 - 10 * m, "signin", 0, "S01", LAT, "inside"),
        (DAY1, "signin", 2, "S01", LAT, "inside"),
        (DAY1 + 30 * m, "signin", 1, "S01", LAT, "inside"),
        (DAY1 + 3 * H, "signout", 1, "S01", LAT, "inside"),
        (DAY1 + 3 * H + 5 * m, "signout", 0, "S01", LAT, "inside"),
        # S02: T1 in 09:10..11:50 (graces: counts 3 h); T2 signs in outside, out inside
        (DAY1 + DAY, "signin", 1, "S02", FAR_LAT, "outside"),
        (DAY1 + DAY + 10 * m, "signin", 0, "S02", LAT, "inside"),
        (DAY1 + DAY + 3 * H - 10 * m, "signout", 0, "S02", LAT, "inside"),
        (DAY1 + DAY + 3 * H, "signout", 1, "S02", LAT, "inside"),
    ]
    items = [(t, "hb", None) for t in beats] + [(x[0], "sign", x) for x in planned]
    items.append((DAY1 + 3 * H + 1, "rec", (DAY1, DAY1 + 3 * H, "S01")))
    items.append((DAY1 + DAY + 3 * H + 1, "rec", (DAY1 + DAY, DAY1 + DAY + 90 * m, "S02")))
    items.sort(key=lambda x: (x[0], x[1]))
    for t, kind, x in items:
        if kind == "hb":
            ev.append(k.heartbeat_at(t))
        elif kind == "sign":
            _, typ, who, sess, lat, verdict = x
            ev.append(k.sign(typ, t, p[who], IDS[who], sess, lat, verdict))
        else:
            ev.append(k.rec_file(t, x[0], x[1], x[2]))
    return ev


def upload(port, ctx, k, lines, sizes):
    """Uploads lines (already in seq order) in batches of the given sizes (cycled)."""
    i = 0
    j = 0
    while i < len(lines):
        n = sizes[j % len(sizes)]
        j += 1
        batch = lines[i:i + n]
        st, body = request(port, ctx, "POST", "/v1/batches", ndjson(batch),
                           {"Authorization": "Bearer " + k.token,
                            "Content-Type": "application/x-ndjson",
                            "Rollcall-Signature": k.sign_lines(batch)})
        if not check(st == 200, "batch upload: %s %s" % (st, body)):
            return False
        i += n
    return True


def sign_lines(self, lines):
    return Device.sign(self, lines)


Kiosk.sign_lines = sign_lines


class World:
    """A fresh database, tokens, a running server, enrolled kiosks."""

    def __init__(self, d, name, base=None):
        self.dir = os.path.join(d, name)
        os.makedirs(self.dir)
        for f in ("ca.pem", "server.pem", "server.key"):
            shutil.copy(os.path.join(d, f), self.dir)
        self.db = pglib.new_db(BACKEND, self.dir, "rc_fig_" + name.replace("-", "_"),
                               template=base.db if base else None)
        if base:
            self.tok = dict(base.tok)
            self.start()
            return
        r = run("migrate", db=self.db)
        assert r.returncode == 0, r.stderr
        self.tok = {}
        for role, nm in [("admin", "admin"), ("enroll:INST-A", "enroll"),
                         ("enroll:INST-B", "enroll-b"),
                         ("institution:INST-A", "inst-a"), ("institution:INST-B", "inst-b"),
                         ("district:120103", "district-d"), ("district:120104", "district-other"),
                         ("evaluator", "evaluator"), ("assessor:PJ-01", "assessor"),
                         ("city", "city")]:
            self.tok[nm] = token(self.db, role, nm)
        self.start()

    def start(self):
        self.srv = Server(self.db, self.dir)
        self.ctx = tls_context(self.dir)
        self.port = self.srv.port

    def req(self, who, method, path, body=None, headers=None):
        h = dict(headers or {})
        if who:
            h["Authorization"] = "Bearer " + self.tok[who]
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode()
            h.setdefault("Content-Type", "application/json")
        return request(self.port, self.ctx, method, path, body, h)

    def raw(self, who, path):
        """GET returning the raw bytes and the content type."""
        import http.client
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=60)
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + self.tok[who]})
            r = conn.getresponse()
            data = r.read()
            openapi_check.check("GET", path, r.status, r.getheader("Content-Type"), data,
                                dict(r.getheaders()))
            return r.status, r.getheader("Content-Type"), data
        finally:
            conn.close()

    def enrol(self, device_id, institution, fence="venue-a"):
        k = Kiosk(self.dir, device_id, institution, fence=fence)
        # An enroll token enrols the devices of one institution.
        who = "enroll" if institution == "INST-A" else "enroll-b"
        st, body = self.req(who, "POST", "/v1/devices",
                            k.enrol_body(circle(fence, LON, LAT, 100)).encode(),
                            {"Content-Type": "application/json"})
        assert st in (200, 201), (st, body)
        k.token = body["device_token"]
        k.key_hex = body["institution_key"]
        return k

    def stop(self):
        return self.srv.stop()


def wait_for(cond, seconds=10):
    """The server's log is read by a thread: give it a moment."""
    import time
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def trainee(rep, idn):
    for t in rep["trainees"]:
        if t["trainee_masked"] == masked(idn):
            return t
    return None


BACKEND = "sqlite"


def main():
    global BACKEND
    for BACKEND in pglib.backends():
        print("== back-end: %s" % BACKEND, flush=True)
        d = tempfile.mkdtemp(prefix="rollcall-figures-")
        try:
            make_pki(d)
            figures(d)
            property_test(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


def figures(d):
    w = World(d, "main")
    try:
        figures_in(w)
    finally:
        code = w.stop()
        check(code == 0, "server exits 0 on SIGTERM, got %s" % code)


def figures_in(w):
    k = w.enrol("K-A1", "INST-A")
    # The plan arrives after the kiosk enrolled: same institution key, so the pseudonyms the
    # kiosk computes match the roster's.
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A", plan())
    check(st == 201 and body == {"class": "C-A", "created": True}, "PUT class: %s %s" % (st, body))
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A", plan())
    check(st == 200 and body["created"] is False, "PUT class again replaces: %s %s" % (st, body))
    # A class of institution B in district 120104, declared from a CSV-free JSON array by admin.
    st, body = w.req("admin", "PUT", "/v1/classes/C-B",
                     plan("C-B", "INST-B", "120104", fence="venue-b"))
    check(st == 201, "admin declares a class of INST-B: %s %s" % (st, body))
    # Refusals: another institution's class, a district that contradicts the registration,
    # a body for another class id.
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-B", plan("C-B", "INST-B", "120104"))
    check(st == 403, "institution A may not write B's class: %s %s" % (st, body))
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A2", plan("C-A2", district="120101"))
    check(st == 409 and "registered in district 120103" in body.get("error", ""),
          "district contradicting the registration: %s %s" % (st, body))
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A3", plan("C-A"))
    check(st == 400, "body for another class id: %s %s" % (st, body))
    bad = plan("C-A4")
    bad["roster"][1]["id_number"] = IDS[1][:-1] + ("0" if IDS[1][-1] != "0" else "1")
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A4", bad)
    check(st == 400 and IDS[1] not in json.dumps(body), "bad check digit refused: %s %s" % (st, body))
    st, _ = w.req("admin", "GET", "/v1/classes/C-A4/attendance")
    check(st == 404, "a refused plan leaves nothing (404): %s" % st)

    events = class_events(k, k.key_hex)
    upload(w.port, w.ctx, k, events, [7, 30, 1, 50])

    # Online: T1 19:00-21:00 on S03's day (2 h), T2 19:30-20:30 (1 h); and one record outside
    # the online session (counts nothing).
    s3 = DAY1 + 2 * DAY + 10 * H
    online = [{"class": "C-A", "id_number": IDS[0], "start": iso(s3), "end": iso(s3 + 2 * H),
               "platform": "学习通"},
              {"class": "C-A", "id_number": IDS[1], "start": iso(s3 + H // 2),
               "end": iso(s3 + 3 * H // 2), "platform": "学习通"}]
    st, body = w.req("inst-a", "POST", "/v1/online-records", online)
    check(st == 200 and body["stored"] == 2, "online records: %s %s" % (st, body))
    st, body = w.req("inst-a", "POST", "/v1/online-records", online)
    check(st == 200 and body["duplicates"] == 2 and body["stored"] == 0,
          "online records again are duplicates: %s %s" % (st, body))
    stranger = [{"class": "C-A", "id_number": idnum("12010419800101111"), "start": iso(s3),
                 "end": iso(s3 + H), "platform": "x"}]
    st, body = w.req("inst-a", "POST", "/v1/online-records", stranger)
    check(st == 400 and "not on the roster" in body.get("error", ""),
          "a trainee not on the roster is refused: %s %s" % (st, body))
    assessments = [{"class": "C-A", "id_number": IDS[0], "passed": True,
                    "assessed_on": "2026-11-20", "certificate": "CERT-0001"},
                   {"class": "C-A", "id_number": IDS[1], "passed": False,
                    "assessed_on": "2026-11-20"}]
    st, body = w.req("evaluator", "POST", "/v1/classes/C-A/assessments", assessments)
    check(st == 403, "the third-party evaluator does not upload assessments: %s %s" % (st, body))
    st, body = w.req("assessor", "POST", "/v1/classes/C-A/assessments", assessments)
    check(st == 200 and body["records"] == 2, "assessments by the assessor: %s %s" % (st, body))

    # Figures worked out by hand (default policy, INTERFACES.md):
    # scheduled per trainee: S01 3 h + S02 3 h + S03 2 h = 8 h; planned online share 2/8.
    # T1: S01 in 08:50 (counts from 09:00) out 12:05 (to 12:00) = 3 h; S02 in 09:10 (late
    #     grace: from 09:00) out 11:50 (leave grace: to 12:00) = 3 h; online 2 h -> 8 h, 100%,
    #     online share 2/8.
    # T2: S01 in 09:30 out 12:00 = 2.5 h; S02 signed in outside the fence -> 0 until approved;
    #     online 1 h -> 3.5 h (43.75%); after approval 6.5 h (81.25%).
    # T3: S01 signed in, never out -> 0 h.
    # class: 11.5 / 24 before the review, 14.5 / 24 after. Recording: S01 fully, S02 1.5 of
    # 3 h -> 4.5 / 6 = 0.75. Passed 1 of 2 assessed, 1 of 3 enrolled.
    st, rep = w.req("inst-a", "GET", "/v1/classes/C-A/attendance")
    if not check(st == 200, "attendance: %s %s" % (st, rep)):
        return
    check(near(rep["scheduled_hours"], 8.0), "scheduled_hours %s" % rep["scheduled_hours"])
    check(near(rep["online_share_planned"], 0.25), "online_share_planned %s" % rep["online_share_planned"])
    check(near(rep["class_attendance_rate"], 11.5 / 24), "class rate %s" % rep["class_attendance_rate"])
    check(near(rep["recording_coverage"], 0.75), "coverage %s" % rep["recording_coverage"])
    check(near(rep["pass_rate_assessed"], 0.5), "pass_rate_assessed %s" % rep["pass_rate_assessed"])
    check(near(rep["pass_rate_enrolled"], 1 / 3), "pass_rate_enrolled %s" % rep["pass_rate_enrolled"])
    t1, t2, t3 = (trainee(rep, i) for i in IDS)
    check(t1 and near(t1["attended_hours"], 8.0) and near(t1["attendance_rate"], 1.0) and
          near(t1["online_share"], 0.25) and near(t1["offline_hours"], 6.0), "T1 %s" % t1)
    check(t2 and near(t2["attended_hours"], 3.5) and near(t2["online_hours"], 1.0), "T2 %s" % t2)
    check(t3 and near(t3["attended_hours"], 0.0), "T3 %s" % t3)
    check(t1 and t1["name"] == "张三", "the institution sees names: %s" % (t1 or {}).get("name"))
    check(IDS[0] not in json.dumps(rep), "no clear identity number in the report")
    kinds = [f["kind"] for f in rep["findings"]]
    check("signin_outside" in kinds, "outside sign-in is a finding: %s" % kinds)
    check("signin_without_signout" in kinds, "sign-in without sign-out is a finding: %s" % kinds)
    check(rep["reviews_changed_figures"] is False, "no review yet: %s" % rep["reviews_changed_figures"])

    # Who sees names: the evaluator and the district see masked identities only.
    for who in ("evaluator", "district-d"):
        st, r2 = w.req(who, "GET", "/v1/classes/C-A/attendance")
        check(st == 200 and all(not t.get("name") for t in r2["trainees"]) and
              r2["class_attendance_rate"] == rep["class_attendance_rate"],
              "%s sees the figures, masked: %s" % (who, [t.get("name") for t in r2.get("trainees", [])]))

    # The summary (cached per class) agrees with the class report, and with itself recomputed.
    st, s1 = w.req("district-d", "GET", "/v1/summary")
    check(st == 200 and [c["class"] for c in s1["classes"]] == ["C-A"],
          "district summary covers its institutions only: %s %s" % (st, s1))
    if st == 200 and s1["classes"]:
        c = s1["classes"][0]
        check(near(c["attendance_rate"], 11.5 / 24) and near(c["recording_coverage"], 0.75) and
              near(c["pass_rate_assessed"], 0.5) and c["pending_reviews"] >= 1,
              "summary row: %s" % c)
        check(s1["districts"][0]["district"] == "120103" and
              near(s1["districts"][0]["attended_hours"], 11.5), "district totals %s" % s1["districts"])
    st, s2 = w.req("district-d", "GET", "/v1/summary")
    check(st == 200 and s2 == s1, "the cached summary equals the first one")

    # Findings: the outside sign-in is reviewable by its event id.
    st, fl = w.req("district-d", "GET", "/v1/findings?class=C-A")
    outside = [f for f in fl.get("findings", []) if f["kind"] == "signin_outside"]
    if not check(st == 200 and len(outside) == 1 and outside[0]["reviewable"],
                 "findings list the outside sign-in: %s %s" % (st, fl)):
        return
    fid = outside[0]["id"]
    st, body = w.req("district-other", "POST", "/v1/findings/%s/review" % fid,
                     {"decision": "approve", "reason": "x"})
    check(st == 403, "another district may not review: %s %s" % (st, body))
    check(wait_for(lambda: "token 'district-other'" in w.srv.log()),
          "the 403 is logged with the token's name")
    st, body = w.req("district-d", "POST", "/v1/findings/%s/review" % fid,
                     {"decision": "maybe", "reason": "x"})
    check(st == 400, "bad decision refused: %s %s" % (st, body))
    inside_id = json.loads(events[[i for i, l in enumerate(events) if b'"inside"' in l][0]])["id"]
    st, body = w.req("district-d", "POST", "/v1/findings/%s/review" % inside_id,
                     {"decision": "approve", "reason": "x"})
    check(st == 409, "an inside sign-in is not flagged: %s %s" % (st, body))
    st, body = w.req("district-d", "POST", "/v1/findings/%s/review" % fid,
                     {"decision": "approve", "reason": "GNSS multipath at the venue door; "
                      "camera shows the trainee in class"})
    check(st == 200 and body["decision"] == "approve" and body["reviewer"] == "district-d",
          "district approves: %s %s" % (st, body))
    st, rep2 = w.req("inst-a", "GET", "/v1/classes/C-A/attendance")
    t2b = trainee(rep2, IDS[1])
    check(near(rep2["class_attendance_rate"], 14.5 / 24), "approval raises the class rate: %s"
          % rep2["class_attendance_rate"])
    check(t2b and near(t2b["attended_hours"], 6.5) and near(t2b["review_effect_hours"], 3.0),
          "approval gives T2 3 h, and says so: %s" % t2b)
    check(rep2["reviews_changed_figures"] is True and len(rep2["reviews"]) == 1 and
          rep2["reviews"][0]["reviewer"] == "district-d", "the report names the review: %s"
          % rep2.get("reviews"))
    st, s3r = w.req("district-d", "GET", "/v1/summary")
    check(st == 200 and near(s3r["classes"][0]["attendance_rate"], 14.5 / 24),
          "the cached summary follows the review: %s" % s3r.get("classes"))

    # CSV: UTF-8 with BOM, Chinese headers; XLSX: a zip with the sheets.
    st, ctype, data = w.raw("inst-a", "/v1/classes/C-A/attendance?format=csv")
    check(st == 200 and ctype.startswith("text/csv") and data.startswith(b"\xef\xbb\xbf"),
          "CSV starts with a BOM: %s %s %r" % (st, ctype, data[:8]))
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    check(rows and "学员" in rows[0] and "出勤率" in rows[0] and len(rows) == 4,
          "CSV has Chinese headers and a row per trainee: %s" % rows[:1])
    check(b"\r\n" in data, "CSV lines end in CRLF")
    st, ctype, data = w.raw("inst-a", "/v1/classes/C-A/attendance?format=xlsx")
    ok = st == 200 and "spreadsheetml" in (ctype or "")
    sheets = []
    if ok:
        z = zipfile.ZipFile(io.BytesIO(data))
        wb = z.read("xl/workbook.xml").decode()
        sheets = [s for s in ("班级", "场次", "学员", "问题") if 'name="%s"' % s in wb]
    check(ok and len(sheets) == 4, "XLSX is a workbook with 班级/场次/学员/问题: %s %s" % (st, sheets))
    st, _ = w.req("inst-a", "GET", "/v1/classes/C-A/attendance?format=pdf")
    check(st == 400, "unknown format refused: %s" % st)

    # Subsidy: T1 passed and attended 8 h of 48 required (catalogue 2-02-10-09 junior:
    # 64 学时 of 45 min) -> not eligible for the hours; nobody is eligible.
    st, sub = w.req("inst-a", "GET", "/v1/classes/C-A/subsidy?claim=2026-11-25")
    check(st == 200 and len(sub["trainees"]) == 3 and sub["total_yuan"] == 0,
          "subsidy answers per trainee: %s %s" % (st, sub))
    if st == 200:
        s1t = [t for t in sub["trainees"] if t["trainee_masked"] == masked(IDS[0])][0]
        rules = [r["rule"] for r in s1t["refused"]]
        check("hours" in rules and "passed" not in rules, "T1 refused for hours only: %s" % rules)
    st, _ = w.req("evaluator", "GET", "/v1/classes/C-A/subsidy")
    check(st == 403, "the evaluator does not read subsidies: %s" % st)

    commands(w)
    role_walk(w, fid)


def commands(w):
    """import classes|online|assessments and report, against the same database."""
    d = w.dir
    path = os.path.join(d, "plans.json")
    with open(path, "w") as f:
        json.dump([plan("C-A5")], f, ensure_ascii=False)
    r = run("import", "classes", path, "--json", db=w.db)
    check(r.returncode == 0 and json.loads(r.stdout)["created"] == 1,
          "import classes: %s %s" % (r.stdout, r.stderr))
    # CSV online records with a BOM; one bad row refuses the whole file.
    path = os.path.join(d, "online.csv")
    good = "class,id_number,start,end,platform\r\nC-A5,%s,%s,%s,学习通\r\n" % (
        IDS[0], iso(DAY1 + 2 * DAY + 10 * H), iso(DAY1 + 2 * DAY + 11 * H))
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf" + (good + "C-A5,%s,bad,bad,x\r\n" % IDS[1]).encode())
    r = run("import", "online", path, db=w.db)
    check(r.returncode == 1 and "line 3" in r.stderr and IDS[1] not in r.stderr,
          "a bad CSV row refuses the file, naming the line: %s" % r.stderr)
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf" + good.encode())
    r = run("import", "online", path, "--json", db=w.db)
    check(r.returncode == 0 and json.loads(r.stdout)["stored"] == 1, "import online: %s %s"
          % (r.stdout, r.stderr))
    r = run("report", "attendance", "--class", "C-A", "--format", "json", db=w.db)
    ok = r.returncode == 0
    check(ok and near(json.loads(r.stdout)["class_attendance_rate"], 14.5 / 24),
          "report attendance --format json: %s" % r.stderr)
    r = run("report", "attendance", "--class", "C-A", db=w.db)
    check(r.returncode == 0 and "张三" in r.stdout and "60.4%" in r.stdout,
          "report attendance text shows the table: %s" % r.stdout[:400])
    # columns line up in a terminal: a Chinese character takes two columns
    lines = r.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("trainee "))
    rows = lines[head:head + 4]

    def cols(text):
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    # where the right-aligned "sched h" column ends, in terminal columns (the header's
    # "sched h" is two words)
    at = [cols(line[:list(re.finditer(r"\S+", line))[3 if i == 0 else 2].end()])
          for i, line in enumerate(rows)]
    check(len(set(at)) == 1 and any(cols(x) != len(x) for x in rows),
          "text table columns line up with Chinese names: %s %s" % (at, rows))
    r = run("report", "attendance", "--district", "120103", "--format", "csv", db=w.db)
    check(r.returncode == 0 and r.stdout.startswith("\ufeff") and "班级" in r.stdout,
          "district CSV: %s" % r.stderr)
    out = os.path.join(d, "d.xlsx")
    r = run("report", "attendance", "--district", "120103", "--format", "xlsx", "--out", out,
            db=w.db)
    if check(r.returncode == 0 and os.path.exists(out), "district XLSX: %s" % r.stderr):
        wb = zipfile.ZipFile(out).read("xl/workbook.xml").decode()
        check('name="机构"' in wb and 'name="区"' in wb, "district workbook has totals sheets")
    r = run("report", "subsidy", "--class", "C-A", "--format", "json", db=w.db)
    check(r.returncode == 0 and len(json.loads(r.stdout)["trainees"]) == 3,
          "report subsidy: %s" % r.stderr)
    r = run("report", "findings", "--district", "120103", "--since", "2026-10-01", db=w.db)
    check(r.returncode == 0 and "signin_outside" in r.stdout, "report findings: %s" % r.stderr)
    r = run("report", "attendance", db=w.db)
    check(r.returncode == 2, "report attendance without a scope is a usage error")
    # usage errors come before the database is opened: exit 2 whatever its state
    missing = "sqlite:/nonexistent/rollcall/no.db"
    for args in (("attendance",), ("subsidy",), ("findings", "--format", "csv")):
        r = run("report", *args, db=missing)
        check(r.returncode == 2 and r.stderr.count("\n") == 1,
              "report %s usage error before the database: %s %s" % (args, r.returncode,
                                                                    r.stderr))
    r = run("report", "attendance", "--class", "NOPE", db=w.db)
    check(r.returncode == 1 and "NOPE" in r.stderr, "unknown class: %s" % r.stderr)


def role_walk(w, fid):
    """Every route with every role: the exact set of roles allowed."""
    k2 = w.enrol("K-WALK", "INST-A")
    w.tok["device"] = k2.token
    roles = ["admin", "enroll", "inst-a", "inst-b", "district-d", "district-other",
             "evaluator", "assessor", "city", "device"]
    readers = {"admin", "inst-a", "inst-b", "district-d", "district-other", "evaluator", "city"}
    s3 = DAY1 + 2 * DAY + 10 * H
    online = [{"class": "C-A", "id_number": IDS[0], "start": iso(s3), "end": iso(s3 + 2 * H),
               "platform": "学习通"}]
    assess = [{"class": "C-A", "id_number": IDS[0], "passed": True, "assessed_on": "2026-11-20",
               "certificate": "CERT-0001"}]
    review = {"decision": "approve", "reason": "GNSS multipath at the venue door; camera shows "
              "the trainee in class"}
    walk = [
        ("GET", "/healthz", None, set(roles)),
        ("GET", "/metrics", None, set(roles)),
        ("GET", "/v1/devices", None, {"admin", "inst-a", "inst-b", "district-d",
                                      "district-other", "city"}),
        ("POST", "/v1/batches", b"", {"device"}),
        ("PUT", "/v1/classes/C-A", plan(), {"admin", "inst-a"}),
        ("POST", "/v1/classes/C-A/assessments", assess, {"admin", "inst-a", "assessor"}),
        ("POST", "/v1/online-records", online, {"admin", "inst-a"}),
        ("GET", "/v1/classes/C-A/attendance", None,
         {"admin", "inst-a", "district-d", "evaluator", "city"}),
        ("GET", "/v1/classes/C-A/attendance?format=csv", None,
         {"admin", "inst-a", "district-d", "evaluator", "city"}),
        ("GET", "/v1/classes/C-A/subsidy", None, {"admin", "inst-a", "district-d", "city"}),
        ("GET", "/v1/summary", None, readers),
        ("GET", "/v1/summary?district=120103", None, readers - {"district-other", "inst-b"}),
        ("GET", "/v1/summary?institution=INST-A", None, readers - {"inst-b", "district-other"}),
        ("GET", "/v1/findings", None, readers),
        ("GET", "/v1/findings?class=C-A", None,
         {"admin", "inst-a", "district-d", "evaluator", "city"}),
        ("POST", "/v1/findings/%s/review" % fid, review, {"admin", "district-d", "city"}),
    ]
    st, before = w.req("admin", "GET", "/v1/classes/C-A/attendance")
    for method, path, body, allowed in walk:
        for role in roles:
            st, answer = w.req(role, method, path, body)
            if role in allowed:
                check(st not in (401, 403) and st < 500,
                      "%s %s as %s should be allowed, got %s %s" % (method, path, role, st, answer))
            else:
                check(st == 403, "%s %s as %s should be 403, got %s %s" % (method, path, role,
                                                                          st, answer))
        if path not in ("/healthz", "/metrics"):
            st, answer = w.req(None, method, path, body)
            check(st == 401, "%s %s without a token should be 401, got %s" % (method, path, st))
    # GET /v1/devices: each reader sees its own institution's, or its district's, devices
    st, everything = w.req("admin", "GET", "/v1/devices")
    owner = {x["id"]: x["institution"] for x in everything["devices"]}
    district_of = dict(pglib.query(w.db, "SELECT id, district FROM institutions"))
    for role, keep in (("inst-a", lambda i: i == "INST-A"),
                       ("district-d", lambda i: district_of.get(i) == "120103"),
                       ("district-other", lambda i: district_of.get(i) == "120104")):
        st, ans = w.req(role, "GET", "/v1/devices")
        got = sorted(x["id"] for x in ans["devices"])
        check(got == sorted(d for d, i in owner.items() if keep(i)),
              "GET /v1/devices as %s: %r of %r" % (role, got, owner))
    check(any(district_of.get(i) == "120103" for i in owner.values()),
          "some device belongs to a district-120103 institution: %r %r" % (owner, district_of))
    # POST /v1/devices: enroll only (a new device id for the allowed call).
    for role in roles:
        kk = Kiosk(w.dir, "K-ROLE-%s" % role, "INST-A", fence="venue-a")
        st, _ = w.req(role, "POST", "/v1/devices", kk.enrol_body(circle("venue-a", LON, LAT, 100)))
        check((st in (200, 201)) if role == "enroll" else st == 403,
              "POST /v1/devices as %s: %s %s" % (role, st, _))
    # The walk re-sent identical plans, records and reviews: the figures did not move.
    st, after = w.req("admin", "GET", "/v1/classes/C-A/attendance")
    check(after["class_attendance_rate"] == before["class_attendance_rate"],
          "identical re-sends leave the figures alone")


def property_test(d):
    """The same events in other batchings, orders across kiosks and with duplicates give the
    same report, byte for byte (JSON and CSV). Every world starts from a copy of one database
    (same institution key, kiosks and plan), so the lines made once verify everywhere."""
    base = World(d, "prop-base")
    try:
        k1 = base.enrol("K-A1", "INST-A")
        k2 = base.enrol("K-A2", "INST-A")
        st, _ = base.req("inst-a", "PUT", "/v1/classes/C-A", plan())
        check(st == 201, "property base plan: %s" % st)
        ev1 = class_events(k1, k1.key_hex)
        ev2 = [k2.heartbeat_at(DAY1 + DAY + 10 * 60000),
               k2.rec_file(DAY1 + DAY + 3 * H + 2, DAY1 + DAY + 90 * 60000, DAY1 + DAY + 3 * H,
                           "S02")]
    finally:
        base.stop()
    outputs = []
    plans = [[5], [1, 2, 3], [200], [17, 1]]
    for n, sizes in enumerate(plans):
        w = World(d, "prop%d" % n, base=base)
        try:
            order = [(k1, ev1), (k2, ev2)] if n % 2 == 0 else [(k2, ev2), (k1, ev1)]
            for k, ev in order:
                upload(w.port, w.ctx, k, ev, sizes)
                if n >= 2:  # duplicates: the first batches again
                    upload(w.port, w.ctx, k, ev[:sizes[0]], sizes)
            st, _, js = w.raw("admin", "/v1/classes/C-A/attendance")
            st2, _, cs = w.raw("admin", "/v1/classes/C-A/attendance?format=csv")
            check(st == 200 and st2 == 200, "property world %d answers: %s %s" % (n, st, st2))
            outputs.append((js, cs))
        finally:
            w.stop()
    check(b'"class_attendance_rate"' in outputs[0][0], "property worlds give reports")
    for n in range(1, len(outputs)):
        check(outputs[n][0] == outputs[0][0], "JSON report bytes equal across batchings (%d)" % n)
        check(outputs[n][1] == outputs[0][1], "CSV report bytes equal across batchings (%d)" % n)


if __name__ == "__main__":
    sys.exit(main())
