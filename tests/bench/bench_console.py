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
   Then the overview GAP seconds after CHANGED classes' inputs changed (their generations
   bumped as an upload's trigger does), with the figures warmer off and on.
2. Live page with 50 sessions running now (50 classes of 30 trainees, each with a kiosk that
   uploaded its sign-ins), made here over HTTP: navigation to the live table drawn, and
   GET /v1/live alone (curl-like, from Python), median of ROUNDS.

    /usr/bin/python3 tests/bench/bench_console.py --year-db /tmp/year.db [--rounds N]
        [--changed N] [--gap S] [--no-live]
(ROLLCALL_SERVER: default build/release/rollcall-server.)
"""
import argparse
import json
import os
import shutil
import sqlite3
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


def overview(d, year_db, rounds, b, changed, gap):
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
    for interval in ("0", "1000"):
        after_change(d, year_db, rounds, b, changed, gap, interval)


def after_change(d, year_db, rounds, b, changed, gap, interval):
    """The overview `gap` seconds after `changed` classes' inputs changed (a day's uploads):
    their generations bumped exactly as the events' trigger does on an upload's commit (the
    bench_figures year has no enrolled kiosks to upload with), with the figures warmer off
    (--warm-interval-ms 0: the reader recomputes them) and on."""
    db = "sqlite:" + year_db
    srv = Server(db, d, "--warm-interval-ms", interval)
    con = sqlite3.connect(year_db, timeout=60)
    ids = [r[0] for r in con.execute("SELECT id FROM classes ORDER BY id")]
    try:
        origin = "https://127.0.0.1:%d" % srv.port
        b("open", origin=origin, width=1366, height=768)
        b("login", user="bench-admin", password=PW)  # a full cache to start from
        cookie = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"][0]
        ctx = tls_context(d)
        n = 0

        def change():
            nonlocal n
            pick = [ids[(n * changed + k) % len(ids)] for k in range(changed)]
            n += 1
            with con:
                con.executemany("UPDATE classes SET gen = gen + 1 WHERE id = ?",
                                [(c,) for c in pick])
            time.sleep(gap)

        api, page = [], []
        for i in range(rounds):
            change()
            t = time.time()
            st, _ = ingestlib.request(srv.port, ctx, "GET", "/v1/summary", None,
                                      {"Cookie": "rollcall_session=" + cookie["value"]})
            api.append((time.time() - t) * 1000)
            # off the page first: a goto to the same URL and hash would not load it again
            b("timeUrl", url=origin + "/healthz", selector="body")
            change()
            page.append(b("time", hash="#/overview",
                          selector='[data-figure="attendance_rate"]')["ms"])
            time.sleep(gap)  # the page's trend (six more summaries) done before the next change
        warmer = "off" if interval == "0" else "every %s ms" % interval
        print("%.1f s after %d classes changed, warmer %s: GET /v1/summary median %.0f ms "
              "(min %.0f, max %.0f); overview median %.0f ms (min %.0f, max %.0f)"
              % (gap, changed, warmer, med(api), min(api), max(api), med(page), min(page),
                 max(page)))
    finally:
        con.close()
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
    ap.add_argument("--changed", type=int, default=20,
                    help="classes whose inputs change before each overview after a change")
    ap.add_argument("--gap", type=float, default=3.0,
                    help="seconds between the change and opening the overview")
    ap.add_argument("--no-live", action="store_true", help="skip the live page")
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="rollcall-bench-console-")
    b = None
    try:
        make_pki(d)
        b = Browser()
        if args.year_db:
            overview(d, args.year_db, args.rounds, b, args.changed, args.gap)
        if not args.no_live:
            live(d, args.rounds, b)
    finally:
        if b:
            b.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
