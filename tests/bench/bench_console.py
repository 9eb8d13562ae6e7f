#!/usr/bin/python3
"""The console's benchmarks (docs/PERFORMANCE.md, "Console"). Prints; never fails on a figure.

1. Overview over a big city: a database made by bench_figures (`--db PATH --keep`: 200
   classes of 50 trainees, 10,000 trainees, in the default year), served by a real collector
   (HTTPS on loopback); headless Debian chromium (tests/browser/console_driver.mjs) logged in
   as admin. Timed in the page: from navigation start (performance.now() = 0) to the overview's
   first figure card attached (index.html, the bundle from the browser's cache, /v1/summary
   answered and drawn), beside the same browser loading an all but empty page of the same
   collector (GET /healthz, a few bytes of JSON Chromium shows as text: the cost of a
   navigation and a request over the same TLS connection) in the same run, alternating,
   median of ROUNDS. One load first fills the figures cache (the cold cost is printed).
2. Live page with 50 sessions running now (50 classes of 30 trainees, each with a kiosk that
   uploaded its sign-ins), made here over HTTP: navigation to the live table drawn, and
   GET /v1/live alone (curl-like, from Python), median of ROUNDS.

    /usr/bin/python3 tests/bench/bench_console.py --year-db /tmp/year.db [--rounds N]
(ROLLCALL_SERVER: default build/release/rollcall-server.)
"""
import argparse
import json
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
from ingestlib import Server, make_pki, run, tls_context  # noqa: E402
from test_console import Browser  # noqa: E402
from test_figures import IDS, LAT, World, idnum, pseudonym, upload  # noqa: E402

H = 3600 * 1000
M = 60 * 1000
PW = "bench admin password"


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def overview(d, year_db, rounds, b):
    db = "sqlite:" + year_db
    run("user", "add", "bench-admin", "--role", "admin", db=db, input=PW + "\n")
    srv = Server(db, d)
    try:
        origin = "https://127.0.0.1:%d" % srv.port
        ctx = tls_context(d)
        b("open", origin=origin, width=1366, height=768)
        t0 = time.time()
        b("login", user="bench-admin", password=PW)  # the overview: fills the figures cache
        print("log in and first overview (figures cache filled as needed): %.0f ms" %
              ((time.time() - t0) * 1000))
        cookie = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"][0]
        api = []
        for _ in range(rounds):
            t = time.time()
            st, body = ingestlib.request(srv.port, ctx, "GET", "/v1/summary", None,
                                         {"Cookie": "rollcall_session=" + cookie["value"]})
            api.append((time.time() - t) * 1000)
        print("GET /v1/summary (warm, %d classes, %d bytes): median %.1f ms"
              % (len(body["classes"]), len(json.dumps(body)), med(api)))
        page, base = [], []
        for _ in range(rounds):
            page.append(b("time", hash="#/overview",
                          selector='[data-figure="attendance_rate"]')["ms"])
            base.append(b("timeUrl", url=origin + "/healthz", selector="body")["ms"])
        print("navigation to first figures: overview median %.0f ms (min %.0f, max %.0f); "
              "static page median %.0f ms; ratio %.1f" % (med(page), min(page), max(page),
                                                         med(base), med(page) / med(base)))
    finally:
        srv.stop()


def live(d, rounds, b):
    w = World(d, "live")
    try:
        r = run("user", "add", "bench-admin", "--role", "admin", db=w.db, input=PW + "\n")
        assert r.returncode == 0, r.stderr
        now = int(time.time() * 1000)
        k = w.enrol("K-L", "INST-A")
        for c in range(50):
            roster = [idnum("12010319900%d%02d%03d" % (1 + c // 28, 1 + c % 28, i))
                      for i in range(30)]
            plan = {"id": "L-%02d" % c, "institution": "INST-A", "district": "120103",
                    "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-10-01",
                    "sessions": [{"id": "S01", "start": iso8(now - H), "end": iso8(now + 2 * H),
                                  "mode": "offline", "fence": "venue-a"}],
                    "roster": [{"id_number": n, "name": "学员%d" % i, "student": False}
                               for i, n in enumerate(roster)]}
            st, body = w.req("inst-a", "PUT", "/v1/classes/L-%02d" % c, plan)
            assert st == 201, (st, body)
            ev = [k.sign("signin", now - 50 * M + i * 1000, pseudonym(k.key_hex, n), n, "S01",
                         LAT, "inside", cls="L-%02d" % c) for i, n in enumerate(roster[:27])]
            upload(w.port, w.ctx, k, ev, [len(ev)])
        origin = "https://127.0.0.1:%d" % w.port
        b("open", origin=origin, width=1366, height=768)
        b("login", user="bench-admin", password=PW)
        cookie = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"][0]
        api, page, base = [], [], []
        for _ in range(rounds):
            t = time.time()
            st, body = ingestlib.request(w.port, w.ctx, "GET", "/v1/live", None,
                                         {"Cookie": "rollcall_session=" + cookie["value"]})
            api.append((time.time() - t) * 1000)
            page.append(b("time", hash="#/live", selector="#live-table tbody tr")["ms"])
            n = b("eval", js="document.querySelectorAll('#live-table tbody tr').length")["value"]
            base.append(b("timeUrl", url=origin + "/healthz", selector="body")["ms"])
        print("live page, %d sessions running (%d shown): GET /v1/live median %.1f ms; "
              "navigation to the table median %.0f ms (min %.0f, max %.0f); static page "
              "median %.0f ms" % (len(body["sessions"]), n, med(api), med(page), min(page),
                                  max(page), med(base)))
    finally:
        w.stop()


def iso8(ms):
    t = time.gmtime((ms + 8 * H) // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--year-db", help="a database bench_figures made (--db PATH --keep)")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="rollcall-bench-console-")
    b = None
    try:
        make_pki(d)
        b = Browser()
        if args.year_db:
            overview(d, args.year_db, args.rounds, b)
        live(d, args.rounds, b)
    finally:
        if b:
            b.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
