#!/usr/bin/python3
# labels: collector
"""Clock nonsense, foreign classes and late recordings against the real collector (docs/
ATTENDANCE.md "Findings"): events stamped 1970 and 2100 and a kiosk clock that jumps decades
and back are stored with clock_implausible / clock_jump findings; a sign-in naming an unknown
class or another institution's class is stored with unknown_class / foreign_class and leaves
the other class's report alone (no kiosk_silent for a kiosk that was never its); a recording
registered a week after the class counts for the interval it recorded, with a late_recording
finding. Standard library only."""

import os
import shutil
import sqlite3
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import make_pki  # noqa: E402
from test_figures import (DAY, DAY1, H, IDS, LAT, World, check, failures, near, plan,  # noqa: E402
                          pseudonym, upload)

M = 60000
YEAR = 365 * DAY
EN = {"Accept-Language": "en"}  # the findings' details in English (docs/API.md "Languages")


def db_rows(w, sql, *args):
    con = sqlite3.connect(w.db[len("sqlite:"):])
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def stored_findings(w, device, kind):
    return db_rows(w, "SELECT seq, class, detail FROM findings WHERE device = ? AND kind = ? "
                   "ORDER BY seq, id", device, kind)


def heartbeats(k, start, end):
    """Heartbeats every 4 minutes from start to end, boot clock in step with the device clock."""
    out = []
    t = start
    while t <= end:
        out.append(k.heartbeat_at(t))
        t += 4 * M
    return out


def finding(rep, kind):
    return [f for f in rep["findings"] if f["kind"] == kind]


def late_recording(w, k):
    """A rec_file registered a week after the class, covering all of S01 (3 h)."""
    lines = heartbeats(k, DAY1 - 30 * M, DAY1 + 3 * H + 10 * M)
    lines += heartbeats(k, DAY1 + DAY - 30 * M, DAY1 + DAY + 3 * H + 10 * M)
    week = DAY1 + 7 * DAY
    k.mono += week - (DAY1 + DAY + 3 * H)  # the boot clock ran the week too: no clock jump
    lines.append(k.rec_file(week, DAY1, DAY1 + 3 * H, "S01"))
    rec_id = lines[-1].split(b'"id":"')[1].split(b'"')[0].decode()
    if not upload(w.port, w.ctx, k, lines, [100]):
        return
    # the details in English (Accept-Language; Chinese by default: docs/API.md "Languages")
    st, rep = w.req("inst-a", "GET", "/v1/classes/C-A/attendance", headers=EN)
    if not check(st == 200, "attendance of C-A: %s %s" % (st, rep)):
        return
    s01 = [s for s in rep["sessions"] if s["id"] == "S01"][0]
    check(near(s01["recorded_hours"], 3.0),
          "a recording registered a week later counts for S01: %s" % s01)
    check(near(rep["recording_coverage"], 0.5), "coverage 3 of 6 h: %s" % rep["recording_coverage"])
    late = finding(rep, "late_recording")
    check(len(late) == 1 and late[0]["session"] == "S01" and late[0]["evidence"] == [rec_id] and
          "registered" in late[0]["detail"],
          "a late_recording finding names the late registration: %s" % late)
    check(not stored_findings(w, k.id, "clock_jump"), "a late registration is no clock jump")


def clocks(w, k):
    """1970 and 2100 on their own boots (no jump to compare), then one boot whose clock jumps
    30 years forward and back."""
    base = DAY1 + 8 * DAY
    lines = []
    first = k.seq
    for when in (0, 4102444800000):  # 1970-01-01, 2100-01-01
        k.boot = str(uuid.uuid4())
        lines.append(k.heartbeat_at(when))
    k.boot = str(uuid.uuid4())
    lines.append(k.heartbeat_at(base))
    lines.append(k.heartbeat_at(base + 30 * YEAR))  # mono + 1 s, clock + 30 years
    lines.append(k.heartbeat_at(base + 2000))        # and back
    jump_seq = k.seq - 1
    if not upload(w.port, w.ctx, k, lines, [2, 3]):
        return
    stamps = [r[0] for r in db_rows(w, "SELECT ts FROM events WHERE device = ? AND seq > ? "
                                    "ORDER BY seq", k.id, first)]
    check(stamps[:2] == [0, 4102444800000] and len(stamps) == 5,
          "1970 and 2100 events are stored, not dropped: %s" % stamps)
    imp = stored_findings(w, k.id, "clock_implausible")
    check([r[0] for r in imp] == [first + 1, first + 2, jump_seq] and
          "1970-01-01" in imp[0][2] and "2100-01-01" in imp[1][2],
          "clock_implausible for 1970, 2100 and the jumped event: %s" % imp)
    jumps = stored_findings(w, k.id, "clock_jump")
    check([r[0] for r in jumps] == [jump_seq, jump_seq + 1] and "forward" in jumps[0][2] and
          "back" in jumps[1][2], "clock_jump forward and back, one boot: %s" % jumps)
    st, fl = w.req("admin", "GET", "/v1/findings")
    kinds = [f["kind"] for f in fl.get("findings", [])] if st == 200 else []
    check("clock_implausible" in kinds and "clock_jump" in kinds,
          "GET /v1/findings lists the clock findings: %s %s" % (st, kinds))


def classes(w, ka, kf, kb):
    """K-A1 (INST-A) signs in for an unknown class; K-A2, INST-A's kiosk standing in C-B's venue
    (a shared hall), signs in for INST-B's C-B. C-B's own kiosk is busy all along, so C-B's
    report has nothing to say about K-A2 (not silent: it was never C-B's kiosk)."""
    p = pseudonym(ka.key_hex, IDS[0])
    ka.boot = str(uuid.uuid4())  # after the jumps above: a new boot, nothing to compare
    lines = [ka.sign("signin", DAY1 + 5 * M, p, IDS[0], "S01", LAT, "inside", cls="C-NOPE")]
    if not upload(w.port, w.ctx, ka, lines, [1]):
        return
    unk = stored_findings(w, ka.id, "unknown_class")
    check(len(unk) == 1 and unk[0][1] == "C-NOPE" and "C-NOPE" in unk[0][2],
          "unknown_class names the class: %s" % unk)
    lines = [kf.heartbeat_at(DAY1 - 40 * M),
             kf.sign("signin", DAY1 + 6 * M, p, IDS[0], "S01", LAT, "inside", cls="C-B")]
    if not upload(w.port, w.ctx, kf, lines, [2]):
        return
    foreign = stored_findings(w, kf.id, "foreign_class")
    check(len(foreign) == 1 and foreign[0][1] == "C-B" and "INST-B" in foreign[0][2] and
          "INST-A" in foreign[0][2], "foreign_class names both institutions: %s" % foreign)
    n = db_rows(w, "SELECT count(*) FROM events WHERE class IN ('C-NOPE', 'C-B')")[0][0]
    check(n == 2, "both sign-ins are stored: %s" % n)
    check(not stored_findings(w, ka.id, "foreign_class") and
          not stored_findings(w, kf.id, "unknown_class"), "one finding each, no more")
    # The class's own institution sees nothing of the other's kiosk in its findings either.
    st, fl = w.req("inst-b", "GET", "/v1/findings")
    check(st == 200 and not [f for f in fl["findings"] if kf.id in str(f)],
          "INST-B's findings list nothing of INST-A's kiosk: %s %s" % (st, fl))
    hb = heartbeats(kb, DAY1 - 30 * M, DAY1 + 3 * H + 10 * M)
    hb += heartbeats(kb, DAY1 + DAY - 30 * M, DAY1 + DAY + 3 * H + 10 * M)
    if not upload(w.port, w.ctx, kb, hb, [200]):
        return
    st, rep = w.req("admin", "GET", "/v1/classes/C-B/attendance", headers=EN)
    if not check(st == 200, "attendance of C-B: %s %s" % (st, rep)):
        return
    about_a = [f for f in rep["findings"] if f["subject"] == kf.id or kf.id in f["detail"]]
    check(not about_a and not finding(rep, "kiosk_silent"),
          "C-B's report says nothing of INST-A's kiosk: %s" % about_a)
    s01 = [s for s in rep["sessions"] if s["id"] == "S01"][0]
    check(s01["present"] == 0, "the foreign sign-in counts nothing for C-B: %s" % s01)


def main():
    d = tempfile.mkdtemp(prefix="rollcall-clocks-")
    try:
        make_pki(d)
        w = World(d, "main")
        try:
            st, body = w.req("inst-a", "PUT", "/v1/classes/C-A", plan())
            check(st == 201, "PUT C-A: %s %s" % (st, body))
            st, body = w.req("admin", "PUT", "/v1/classes/C-B",
                             plan("C-B", "INST-B", "120104", fence="venue-b"))
            check(st == 201, "PUT C-B: %s %s" % (st, body))
            ka = w.enrol("K-A1", "INST-A")
            kb = w.enrol("K-B1", "INST-B", fence="venue-b")
            kf = w.enrol("K-A2", "INST-A", fence="venue-b")
            late_recording(w, ka)
            clocks(w, ka)
            classes(w, ka, kf, kb)
        finally:
            code = w.stop()
            check(code == 0, "server exits 0 on SIGTERM, got %s" % code)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
