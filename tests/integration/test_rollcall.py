#!/usr/bin/python3
# labels: collector
"""Random roll-calls (随机点名) end to end, with the real collector (HTTPS on loopback) and the
real kiosk daemon: a class declared with two roll-calls per session and a one-minute window,
the schedule synced down, the daemon drawing them (made short and deterministic by the
test-only ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S, docs/AGENT.md), recording a rollcall event
as each opens and announcing it on the control socket and `rollcall-agent rollcall`; trainee
A answers R1 and misses R2, trainee B answers both; wrong confirmations are refused with their
own codes and record nothing. At the collector: the rollcall and rollcall_confirm events (the
confirmations judged by the server's fence), and the attendance report: B present for the
whole session, A until R2 opened (policy rollcall_missed_ends_presence), A's missed roll-call
as a rollcall_missed finding with the R2 event as evidence, and held/missed per trainee.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipe_harness as ph  # noqa: E402
from test_schedule import put  # noqa: E402

for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

VERIFY = os.environ.get("ROLLCALL_VERIFY", "build/release/rollcall-verify")
CLASS = "TJ-2026-RC-0001"
A = ph.id_number(10)
B = ph.id_number(11)
OFF = ph.id_number(12)  # not on the roster
OFFSETS = (2, 5)        # seconds after the draw: R1, R2
SESSION_LEFT_S = 24     # the session ends this long after the class is declared


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def parse(s):
    import calendar
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + int(s[20:23]) / 1000.0


def wait_rollcall(k, rid, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rep = k.control({"cmd": "rollcall"})
        check(rep.get("ok") is True, rep)
        for r in rep["rollcalls"]:
            if r["rollcall"] == rid:
                return r, rep
        time.sleep(0.2)
    raise AssertionError("roll-call %s never opened: %s" % (rid, k.daemon_log()))


def scenarios(w, col, pki):
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-RC")
    k.enroll(col.token("enroll", "enroll-rc"))
    inst = col.token("institution:INST-0001", "inst-rc")
    now = int(time.time())
    start, end = now - 120, now + SESSION_LEFT_S
    plan = {"id": CLASS, "institution": "INST-0001", "district": "120103",
            "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-10-01",
            "rollcalls": 2, "rollcall_window_min": 1,
            "sessions": [{"id": "S01", "start": iso(start), "end": iso(end), "mode": "offline",
                          "fence": ph.ah.FENCE_ID}],
            "roster": [{"id_number": A, "name": "张三", "student": False},
                       {"id_number": B, "name": "李四", "student": False}]}
    st, body = put(col, pki, "/v1/classes/" + CLASS, inst, plan)
    check(st in (200, 201), "PUT class: %s %s" % (st, body))
    bad = dict(plan, rollcalls=9)
    st, body = put(col, pki, "/v1/classes/" + CLASS, inst, bad)
    check(st == 400 and b"rollcalls" in body, "rollcalls 9 refused: %s %s" % (st, body))

    print("-- the schedule carries the roll-call settings", flush=True)
    r = k.run("sync", "--json", "--timeout", "120")
    check(r.code == 0 and r.json()["schedule"] == "updated", r)
    sched = json.loads(ph_schedule(k))
    c = sched["classes"][0]
    check(c["rollcalls"] == 2 and c["rollcall_window_min"] == 1, c)

    print("-- A and B sign in; the daemon draws and opens the roll-calls", flush=True)
    for t in (A, B):
        r = k.run("signin", "--trainee", t, "--class", CLASS, "--session", "S01", "--json")
        check(r.code == 0, r)
    os.environ["ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S"] = ",".join(str(x) for x in OFFSETS)
    try:
        k.start_daemon()
    finally:
        del os.environ["ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S"]
    try:
        r1, rep = wait_rollcall(k, "R1")
        check(r1["class"] == CLASS and r1["session"] == "S01", r1)
        check(abs(parse(r1["closes"]) - parse(r1["opens"]) - 60) < 0.01, r1)
        cli = k.run("rollcall")
        check(cli.code == 0 and CLASS in cli.out and " R1 " in cli.out, cli)
        cli = k.run("rollcall", "--json")
        check(cli.code == 0 and [x["rollcall"] for x in cli.json()] == ["R1"], cli)

        n = len(k.lines())
        # refusals, each with its own code, recording nothing
        rep = k.control({"cmd": "confirm", "trainee": B, "class": CLASS, "session": "S01",
                         "rollcall": "R7"})
        check(rep.get("ok") is False and rep.get("code") == "no_rollcall", rep)
        rep = k.control({"cmd": "confirm", "trainee": OFF, "class": CLASS, "session": "S01",
                         "rollcall": "R1"})
        check(rep.get("ok") is False and rep.get("code") == "not_on_roster", rep)
        rep = k.control({"cmd": "confirm", "trainee": B, "class": CLASS, "rollcall": "R1"})
        check(rep.get("ok") is False and "session" in rep["error"], rep)
        r = k.run("confirm", "--trainee", B, "--class", CLASS, "--session", "S01",
                  "--rollcall", "R7")
        check(r.code == 4 and "no roll-call R7" in r.err and "现在没有点名" in r.err, r)
        r = k.run("confirm", "--trainee", A, "--class", CLASS, "--rollcall", "R1")
        check(r.code == 2, r)
        check(len(k.lines()) == n, "a refused confirmation recorded something")

        # A answers R1 through the command line, B through the control socket
        r = k.run("confirm", "--trainee", A, "--class", CLASS, "--session", "S01",
                  "--rollcall", "R1", "--json")
        check(r.code == 0, r)
        res = r.json()
        check(res["type"] == "rollcall_confirm" and res["rollcall"] == "R1" and
              res["session"] == "S01" and res["verdict"] == "inside" and res["name"] == "张*", res)
        rep = k.control({"cmd": "confirm", "trainee": B, "class": CLASS, "session": "S01",
                         "rollcall": "R1"})
        check(rep.get("ok") is True and rep["result"]["rollcall"] == "R1", rep)

        r2, rep = wait_rollcall(k, "R2")
        check([x["rollcall"] for x in rep["rollcalls"]] == ["R1", "R2"], rep)
        rep = k.control({"cmd": "confirm", "trainee": B, "class": CLASS, "session": "S01",
                         "rollcall": "R2"})
        check(rep.get("ok") is True, rep)
        # A does not answer R2.
        for t in (A, B):
            rep = k.control({"cmd": "signout", "trainee": t, "class": CLASS, "session": "S01"})
            check(rep.get("ok") is True, rep)
    finally:
        k.stop_daemon()

    print("-- the events in the outbox: two roll-calls, three confirmations", flush=True)
    evs = [json.loads(x) for x in k.lines().values()]
    rolls = [e for e in evs if e["type"] == "rollcall"]
    confs = [e for e in evs if e["type"] == "rollcall_confirm"]
    check([e["rollcall"] for e in rolls] == ["R1", "R2"], rolls)
    check(all(e["class"] == CLASS and e["session"] == "S01" for e in rolls), rolls)
    check(rolls[0]["start"] == r1["opens"] and rolls[0]["end"] == r1["closes"], (rolls, r1))
    check(rolls[1]["start"] == r2["opens"], (rolls, r2))
    check(sorted(e["rollcall"] for e in confs) == ["R1", "R1", "R2"], confs)
    keys = list(confs[0].keys())
    check(keys.index("rollcall") == keys.index("session") + 1, keys)

    print("-- a restart does not draw again", flush=True)
    k.start_daemon()
    try:
        rep = k.control({"cmd": "rollcall"})
        check([x["rollcall"] for x in rep["rollcalls"]] == ["R1", "R2"], rep)
        check(rep["rollcalls"][0]["opens"] == r1["opens"], rep)
    finally:
        k.stop_daemon()
    check(len([e for e in (json.loads(x) for x in k.lines().values())
               if e["type"] == "rollcall"]) == 2, "a restart recorded the roll-calls again")

    print("-- at the collector, after the session ends", flush=True)
    left = end - time.time() + 1
    if left > 0:
        time.sleep(left)
    r = k.run("sync", "--json", "--timeout", "120")
    check(r.code == 0, r)
    ph.check_exactly_once(k, col)
    rows = col.rows("KIOSK-RC")
    check(sorted(row[5] for row in rows if row[5].startswith("rollcall")) ==
          ["rollcall", "rollcall", "rollcall_confirm", "rollcall_confirm", "rollcall_confirm"],
          rows)
    check(all(row[6] == "inside" for row in rows if row[5] == "rollcall_confirm"),
          "the server judges confirmations: %s" % [row[6] for row in rows])
    r = col.cmd("report", "attendance", "--class", CLASS, "--format", "json")
    check(r.returncode == 0, r.stderr)
    rep = json.loads(r.stdout)
    check(rep["policy"]["rollcall_missed_ends_presence"] is True, rep["policy"])
    by = {t["trainee_masked"]: t for t in rep["trainees"]}
    ta, tb = by[A[:4] + "*" * 10 + A[-4:]], by[B[:4] + "*" * 10 + B[-4:]]
    check(ta["rollcalls_held"] == 2 and ta["rollcalls_missed"] == 1, ta)
    check(tb["rollcalls_held"] == 2 and tb["rollcalls_missed"] == 0, tb)
    # B: signed in within the late grace, out within the leave grace: the whole session.
    session_h = (end - start) / 3600.0
    check(abs(tb["attended_hours"] - session_h) < 1e-6, (tb, session_h))
    # A: presence ends when R2 opens and nothing resumes it.
    a_h = (parse(rolls[1]["start"]) - start) / 3600.0
    check(abs(ta["attended_hours"] - a_h) < 1e-6, (ta, a_h))
    missed = [f for f in rep["findings"] if f["kind"] == "rollcall_missed"]
    check(len(missed) == 1 and missed[0]["evidence"] == [rolls[1]["id"]], missed)
    check("R2" in missed[0]["detail"] and missed[0]["severity"] == "warning", missed)
    check([f["kind"] for f in ta["findings"]].count("rollcall_missed") == 1, ta["findings"])
    r = col.cmd("report", "attendance", "--class", CLASS)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and any(x.startswith("trainee ") and " missed " in x for x in lines),
          r.stdout[:600] + r.stderr)
    row_a = next(x for x in lines if x.startswith(ta["trainee_masked"]))
    row_b = next(x for x in lines if x.startswith(tb["trainee_masked"]))
    check(row_a.split()[-2] == "1" and row_b.split()[-2] == "0", (row_a, row_b))
    r = col.cmd("report", "attendance", "--class", CLASS, "--format", "csv", "--table",
                "trainees")
    check(r.returncode == 0 and "未应点名" in r.stdout.splitlines()[0], r.stdout[:300] + r.stderr)

    print("-- the class's evidence bundle verifies offline, roll-calls included", flush=True)
    r = col.cmd("signing-key", "create")
    check(r.returncode == 0, r.stderr)
    bundle = os.path.join(w, "rollcall-class.tar")
    r = col.cmd("evidence", "--class", CLASS, "--out", bundle)
    check(r.returncode == 0, r.stderr)
    v = subprocess.run([VERIFY, "--json", bundle], capture_output=True, text=True, timeout=120)
    out = json.loads(v.stdout)
    check(v.returncode == 0 and out["ok"] is True, v.stdout + v.stderr)
    check(out["checked"]["fixes"] >= 5, out["checked"])


def ph_schedule(k):
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % k.db, uri=True, timeout=30)
    try:
        return bytes(con.execute("SELECT body FROM schedule").fetchone()[0])
    finally:
        con.close()


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="rc-rollcall-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.start()
        try:
            scenarios(w, col, pki)
        except Exception:  # noqa: BLE001 - print the collector's log with the failure
            failures.append("rollcall")
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
