#!/usr/bin/python3
"""The console's subsidy pages (docs/PERFORMANCE.md, "Console: subsidy pages"). Prints; never
fails on a figure.

A collector (HTTPS on loopback, release build) with CLASSES classes of 30 trainees, each
applied for and approved; every other class assessed (30 certificates) and its claim submitted (its figures frozen, so reading
it recomputes and compares them). Headless Debian chromium (tests/browser/console_driver.mjs)
logged in as a city user. Timed, alternating in the same run, median of ROUNDS:
- GET /v1/classes/{id}/procedure and GET /v1/classes/{id}/subsidy of a claimed class alone
  (from Python, the page's session);
- navigation to #/subsidy until the page is ready: /v1/summary and /v1/review-queue answered
  and drawn; then, on the page's button, every class's states (one procedure per class, two
  at a time) until the last is drawn (timed from Python: click to done);
- navigation to #/subsidy/ID (a claimed class) until ready (the procedure drawn), and until
  the class's subsidy figures are drawn below it;
- the same browser loading GET /healthz (the floor of a navigation over that connection);
  every timed navigation starts from that page, so each is a document load, never a hash
  change within the page.

    /usr/bin/python3 tests/bench/bench_console_subsidy.py [--classes 200] [--rounds 9]
(ROLLCALL_SERVER: default build/release/rollcall-server.)
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("ROLLCALL_SERVER", os.path.join(SRC, "build", "release", "rollcall-server"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
import ingestlib  # noqa: E402
from ingestlib import make_pki, run  # noqa: E402
from test_console import Browser  # noqa: E402
from test_figures import World, idnum  # noqa: E402

PW = "bench city password"


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--classes", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=9)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="rollcall-bench-subsidy-")
    b = None
    try:
        make_pki(d)
        w = World(d, "s")
        try:
            r = run("user", "add", "bench-city", "--role", "city", db=w.db, input=PW + "\n")
            assert r.returncode == 0, r.stderr
            t0 = time.time()
            for c in range(a.classes):
                cid = "B-%03d" % c
                roster = [idnum("1201031990%02d%02d%03d" % (1 + c // 28 % 12, 1 + c % 28, i))
                          for i in range(30)]
                plan = {"id": cid, "institution": "INST-A", "district": "120103",
                        "occupation": "2-02-10-09", "level": "junior",
                        "applied_on": "2026-08-20",
                        "sessions": [{"id": "S01", "start": "2026-10-20T09:00:00+08:00",
                                      "end": "2026-10-20T12:00:00+08:00", "mode": "online"}],
                        "roster": [{"id_number": n, "name": "学员%d" % i, "student": False}
                                   for i, n in enumerate(roster)]}
                st, body = w.req("inst-a", "PUT", "/v1/classes/" + cid, plan)
                assert st == 201, (st, body)
                p = "/v1/classes/%s/procedure" % cid
                steps = [("inst-a", "application", "submit", "2026-09-01"),
                         ("city", "application", "approve", "2026-09-02")]
                if c % 2 == 0:
                    st, body = w.req("assessor", "POST", "/v1/classes/%s/assessments" % cid, [
                        {"class": cid, "id_number": n, "passed": True, "assessed_on": "2026-10-25",
                         "certificate": "TJB-%03d-%02d" % (c, i)} for i, n in enumerate(roster)])
                    assert st == 200, (st, body)
                    steps.append(("inst-a", "claim", "submit", "2026-11-10"))
                for who, kind, action, on in steps:
                    st, body = w.req(who, "POST", p, {"kind": kind, "action": action, "on": on})
                    assert st == 200, (st, body)
            print("%d classes of 30 trainees made, applied, approved, half claimed: %.1f s"
                  % (a.classes, time.time() - t0))
            origin = "https://127.0.0.1:%d" % w.port
            b = Browser()
            b("open", origin=origin, width=1366, height=768)
            b("login", user="bench-city", password=PW)
            cookie = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"][0]
            one = "/v1/classes/B-000/procedure"
            api, sub, lst, states, proc, figs, base = [], [], [], [], [], [], []
            b("time", hash="#/subsidy", selector='body[data-ready="subsidy"]')  # warm
            for _ in range(a.rounds):
                t = time.time()
                st, body = ingestlib.request(w.port, w.ctx, "GET", one, None,
                                             {"Cookie": "rollcall_session=" + cookie["value"]})
                api.append((time.time() - t) * 1000)
                assert st == 200 and body["claim"]["state"] == "submitted", (st, body)
                t = time.time()
                st, body = ingestlib.request(w.port, w.ctx, "GET", "/v1/classes/B-000/subsidy",
                                             None, {"Cookie": "rollcall_session=" + cookie["value"]})
                sub.append((time.time() - t) * 1000)
                assert st == 200, (st, body)
                lst.append(b("time", hash="#/subsidy", selector='body[data-ready="subsidy"]')["ms"])
                t = time.time()
                if b("eval", js="!!document.getElementById('load-states')")["value"]:
                    b("click", selector="#load-states")
                b("eval", js="new Promise(r => { const f = () => document.querySelector("
                  "'#subsidy-classes[data-states=ready]') ? r(true) : setTimeout(f, 50); f(); })")
                states.append((time.time() - t) * 1000)
                n = b("eval", js="document.querySelectorAll('#subsidy-classes td.claim .pill')"
                      ".length")["value"]
                # (from another document: a hash change alone would not navigate)
                b("timeUrl", url=origin + "/healthz", selector="body")
                proc.append(b("time", hash="#/subsidy/B-000",
                              selector='body[data-ready="procedure"]')["ms"])
                b("timeUrl", url=origin + "/healthz", selector="body")
                figs.append(b("time", hash="#/subsidy/B-000",
                              selector='#figures-box[data-ready]')["ms"])
                base.append(b("timeUrl", url=origin + "/healthz", selector="body")["ms"])
            print("GET %s (claimed: figures recomputed and compared): median %.1f ms "
                  "(min %.1f, max %.1f)" % (one, med(api), min(api), max(api)))
            print("GET /v1/classes/B-000/subsidy (city-wide limits): median %.1f ms "
                  "(min %.1f, max %.1f)" % (med(sub), min(sub), max(sub)))
            print("navigation to #/subsidy ready: median %.0f ms (min %.0f, max %.0f); "
                  "then the %d classes' states: median %.0f ms (min %.0f, max %.0f)"
                  % (med(lst), min(lst), max(lst), n, med(states), min(states), max(states)))
            print("navigation to #/subsidy/B-000 ready: median %.0f ms (min %.0f, max %.0f); "
                  "to its figures drawn: median %.0f ms (min %.0f, max %.0f)"
                  % (med(proc), min(proc), max(proc), med(figs), min(figs), max(figs)))
            print("static page: median %.0f ms; ratios list %.1f, procedure %.1f"
                  % (med(base), med(lst) / med(base), med(proc) / med(base)))
        finally:
            if b:
                b.close()
            w.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
