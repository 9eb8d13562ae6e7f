#!/usr/bin/python3
# labels: collector
"""The kiosk's schedule end to end, with the real collector (HTTPS on loopback) and the real
agent: before any class is declared, an empty schedule checks nothing; then a class declared
at the collector for the kiosk's venue, running now; `sync` fetches
the schedule (classes, sessions, rosters with masked names) and stores it in the outbox; a
second sync gets 304 and keeps it; `status` shows its version and age. Sign-ins are checked
against it: a trainee not on the roster is refused (exit 4, nothing recorded), one on it is
recorded, a class not running now is refused, an operator's --override-roster is recorded
with "override":"roster" and becomes a roster_override finding at the collector; through the
daemon, the control socket answers the refusal with its own code. With the collector down the
last schedule stays in force. Another device's schedule is 403. Every answer of the schedule
route is validated against docs/openapi.yaml (openapi_check: python3-yaml, python3-jsonschema).
"""

import hashlib
import http.client
import json
import os
import sqlite3
import ssl
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402
import pipe_harness as ph  # noqa: E402

for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

CLASS = "TJ-2026-AI-0001"
ON = ph.id_number(0)   # on the roster
OFF = ph.id_number(1)  # not on it
NAME = "张三伟"
MASKED_NAME = "张*伟"
H = 3600

failures = []


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def plan(fence):
    now = int(time.time())
    return {"id": CLASS, "institution": "INST-0001", "district": "120103",
            "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-10-01",
            "sessions": [
                # running now
                {"id": "S01", "start": iso(now - H), "end": iso(now + 2 * H), "mode": "offline",
                 "fence": fence},
                # the day after tomorrow, elsewhere: not in this kiosk's schedule
                {"id": "S02", "start": iso(now + 2 * 86400), "end": iso(now + 2 * 86400 + H),
                 "mode": "offline", "fence": "another-venue"}],
            "roster": [{"id_number": ON, "name": NAME, "student": False}]}


def get(col, pki, path, token, headers=None):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    conn = http.client.HTTPSConnection("127.0.0.1", col.port, context=ctx, timeout=60)
    try:
        h = {"Authorization": "Bearer " + token}
        h.update(headers or {})
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        data = r.read()
        # every answer must be what docs/openapi.yaml describes
        openapi_check.check("GET", path, r.status, r.getheader("Content-Type"), data,
                            dict(r.getheaders()))
        return r.status, r.getheader("ETag"), data
    finally:
        conn.close()


def put(col, pki, path, token, body):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    conn = http.client.HTTPSConnection("127.0.0.1", col.port, context=ctx, timeout=60)
    try:
        conn.request("PUT", path, body=json.dumps(body, ensure_ascii=False).encode(),
                     headers={"Authorization": "Bearer " + token,
                              "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def device_token(k):
    with open(k.config_json()["token_file"]) as f:
        return f.read().strip()


def outbox_schedule(k):
    con = sqlite3.connect("file:%s?mode=ro" % k.db, uri=True, timeout=30)
    try:
        return con.execute("SELECT version, body, fetched_ms, checked_ms FROM schedule").fetchone()
    finally:
        con.close()


def event_count(k):
    return len(k.lines())


def sign(k, trainee, cmd="signin", klass=CLASS, *extra):
    return k.run(cmd, "--trainee", trainee, "--class", klass, "--json", *extra)


def findings(col, device, kind):
    con = sqlite3.connect("file:%s?mode=ro" % col.db_path, uri=True, timeout=30)
    try:
        return con.execute("SELECT seq, detail FROM findings WHERE device = ? AND kind = ? "
                           "ORDER BY seq", (device, kind)).fetchall()
    finally:
        con.close()


def scenarios(w, col, pki):
    ka = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-SCHED")
    kb = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-OTHER")
    enrol = col.token("enroll", "enroll-sched")
    ka.enroll(enrol)
    kb.enroll(enrol)
    inst = col.token("institution:INST-0001", "inst-sched")

    print("-- before any schedule: sign-ins are accepted as before", flush=True)
    st = json.loads(ka.run("status", "--json").out)
    check(st["schedule"]["version"] is None and st["schedule"]["age_s"] is None, st)
    r = ka.run("status")
    check("no schedule received yet" in r.out and "尚未收到课表" in r.out, r)
    r = sign(ka, OFF)
    check(r.code == 0, r)
    # The collector knows no class at this venue yet: an empty schedule checks nothing.
    r = ka.run("sync", "--json", "--timeout", "120")
    check(r.code == 0, r)
    ans = r.json()
    check(ans["accepted"] == 1 and ans["schedule"] == "updated", ans)
    empty_version = ans["schedule_version"]
    st = json.loads(ka.run("status", "--json").out)
    check(st["schedule"]["version"] == empty_version and st["schedule"]["classes"] == 0, st)
    r = sign(ka, OFF)
    check(r.code == 0 and "name" not in r.json(), r)

    print("-- the class is declared; sync fetches the schedule", flush=True)
    st_, body = put(col, pki, "/v1/classes/" + CLASS, inst, plan(ph.ah.FENCE_ID))
    check(st_ in (200, 201), "PUT class: %s %s" % (st_, body))
    r = ka.run("sync", "--json", "--timeout", "120")
    check(r.code == 0, r)
    ans = r.json()
    check(ans["accepted"] == 1 and ans["schedule"] == "updated", ans)
    version = ans["schedule_version"]
    check(version != empty_version, ans)
    row = outbox_schedule(ka)
    check(row is not None and row[0] == version, row)
    stored = bytes(row[1])
    check(hashlib.sha256(stored).hexdigest() == version, "stored bytes do not hash to version")
    sched = json.loads(stored)
    check(sched["fence"] == ph.ah.FENCE_ID and sched["device"] == "KIOSK-SCHED", sched)
    check(sched["policy"] == {"early_window_min": 30, "leave_grace_min": 15}, sched)
    check([c["id"] for c in sched["classes"]] == [CLASS], sched)
    c = sched["classes"][0]
    check([s["id"] for s in c["sessions"]] == ["S01"] and c["sessions"][0]["mode"] == "offline",
          c)
    check(len(c["roster"]) == 1 and c["roster"][0]["name"] == MASKED_NAME, c)
    check(c["roster"][0]["masked"] == ON[:4] + "*" * 10 + ON[-4:], c)
    # The kiosk never holds the full name or the clear number.
    with open(ka.db, "rb") as f:
        raw = f.read()
    for p in (ka.db + "-wal",):
        if os.path.exists(p):
            with open(p, "rb") as f:
                raw += f.read()
    check(NAME.encode() not in raw and ON.encode() not in raw, "full name or ID in the outbox")

    print("-- the device reads its own schedule; a second sync gets 304", flush=True)
    tok = device_token(ka)
    s, etag, body = get(col, pki, "/v1/devices/KIOSK-SCHED/schedule", tok)
    check(s == 200 and etag == '"%s"' % version and body == stored, (s, etag))
    s, etag, body = get(col, pki, "/v1/devices/KIOSK-SCHED/schedule", tok,
                        {"If-None-Match": '"%s"' % version})
    check(s == 304 and body == b"" and etag == '"%s"' % version, (s, etag, body))
    checked_before = row[3]
    time.sleep(0.01)
    r = ka.run("sync", "--json", "--timeout", "120")
    check(r.code == 0, r)
    ans = r.json()
    check(ans["schedule"] == "unchanged" and ans["schedule_version"] == version, ans)
    row2 = outbox_schedule(ka)
    check(row2[0] == version and row2[2] == row[2] and row2[3] >= checked_before, (row, row2))
    st = json.loads(ka.run("status", "--json").out)
    sc = st["schedule"]
    check(sc["version"] == version and sc["classes"] == 1 and sc["fetched"], sc)
    check(isinstance(sc["age_s"], (int, float)) and 0 <= sc["age_s"] < 600, sc)
    r = ka.run("status")
    check("schedule.version" in r.out and version in r.out and "schedule.age_s" in r.out, r)

    print("-- another device's schedule is 403", flush=True)
    s, _, body = get(col, pki, "/v1/devices/KIOSK-OTHER/schedule", tok)
    check(s == 403, (s, body))
    s, _, body = get(col, pki, "/v1/devices/KIOSK-SCHED/schedule", device_token(kb))
    check(s == 403, (s, body))
    s, _, body = get(col, pki, "/v1/devices/KIOSK-SCHED/schedule", inst)
    check(s == 403, (s, body))

    print("-- sign-ins are checked against the roster", flush=True)
    n = event_count(ka)
    r = sign(ka, OFF)
    check(r.code == 4 and "不在班级" in r.err and "not on the roster" in r.err, r)
    check(OFF not in r.err, "the refusal quotes the ID number")
    r = sign(ka, OFF, "signout")
    check(r.code == 4, r)
    check(event_count(ka) == n, "a refused sign-in recorded something")
    r = sign(ka, ON)
    check(r.code == 0 and r.json()["name"] == MASKED_NAME, r)
    r = sign(ka, ON, "signin", "TJ-OTHER-CLASS")
    check(r.code == 4 and "no session at this venue now" in r.err, r)
    r = sign(ka, ON, "signin", CLASS, "--session", "S02")
    check(r.code == 4 and "no session" in r.err, r)
    check(event_count(ka) == n + 1, "expected exactly the on-roster sign-in")

    print("-- an operator's override is recorded, flagged and a finding", flush=True)
    r = sign(ka, OFF, "signin", CLASS, "--override-roster")
    check(r.code == 0 and r.json().get("override") == "roster", r)
    lines = ka.lines()
    last = max(lines)
    ev = json.loads(lines[last])
    check(ev["override"] == "roster" and ev["type"] == "signin", ev)
    keys = list(ev.keys())
    check(keys.index("override") == keys.index("distance_m") + 1, keys)
    r = ka.run("sync", "--json", "--timeout", "120")
    check(r.code == 0, r)
    f = findings(col, "KIOSK-SCHED", "roster_override")
    check([x[0] for x in f] == [last] and "override" in f[0][1], f)
    check(findings(col, "KIOSK-SCHED", "roster_override") and
          not [x for x in findings(col, "KIOSK-SCHED", "roster_override") if x[0] != last], f)
    ph.check_exactly_once(ka, col)

    print("-- through the daemon: the control socket's own refusal code", flush=True)
    ka.start_daemon()
    try:
        rep = ka.control({"cmd": "signin", "trainee": OFF, "class": CLASS})
        check(rep.get("ok") is False and rep.get("code") == "not_on_roster", rep)
        rep = ka.control({"cmd": "signin", "trainee": ON, "class": "TJ-OTHER-CLASS"})
        check(rep.get("ok") is False and rep.get("code") == "no_session", rep)
        r = sign(ka, OFF)
        check(r.code == 4 and "not on the roster" in r.err, r)
        r = sign(ka, OFF, "signin", CLASS, "--override-roster")
        check(r.code == 0 and r.json().get("override") == "roster", r)
        rep = ka.control({"cmd": "signin", "trainee": ON, "class": CLASS})
        check(rep.get("ok") is True and rep["result"]["name"] == MASKED_NAME, rep)
        rep = ka.control({"cmd": "signin", "trainee": ON, "class": CLASS, "override": "fence"})
        check(rep.get("ok") is False and "code" not in rep, rep)
    finally:
        ka.stop_daemon()

    print("-- the collector down: the last schedule stays in force", flush=True)
    col.stop()
    try:
        r = ka.run("sync", "--once", "--json")
        check(r.code == 1, r)
        check(outbox_schedule(ka)[0] == version, "the schedule changed while offline")
        st = json.loads(ka.run("status", "--json").out)
        check(st["schedule"]["version"] == version, st)
        n = event_count(ka)
        r = sign(ka, OFF)
        check(r.code == 4 and "not on the roster" in r.err, r)
        r = sign(ka, ON)
        check(r.code == 0, r)
        check(event_count(ka) == n + 1, "offline: expected exactly the on-roster sign-in")
    finally:
        col.start()
    r = ka.run("sync", "--json", "--timeout", "120")
    check(r.code == 0 and r.json()["schedule"] == "unchanged", r)
    ph.check_exactly_once(ka, col)


def main():
    with tempfile.TemporaryDirectory(prefix="rc-sched-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.start()
        try:
            scenarios(w, col, pki)
        except Exception:  # noqa: BLE001 - print the collector's log with the failure
            failures.append("schedule")
            traceback.print_exc()
            print("collector log (tail):\n" + "".join(col.lines[-40:]))
        finally:
            col.stop()
    if failures:
        print("FAILED")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
