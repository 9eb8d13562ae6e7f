#!/usr/bin/python3
# labels: collector pg
"""Alerts for the engine's serious findings, end to end (docs/OPERATIONS.md "Alerts"): a real
collector over HTTPS with its figures warmer on, a webhook receiver socket in this process.
A class plan that puts more than half of its hours online is the engine's serious
online_share_plan finding, computed on read and never stored as an ingest finding: the warmer
computes it without anyone reading the class, and the webhook receives exactly one alert for it.
Changing the class (a new generation, a recomputation by a reader), restarting the collector,
and two collectors on one database computing the same new class send nothing twice. On SQLite,
and on PostgreSQL when ctest's `pg` fixture runs one. Standard library only."""

import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import Server, make_pki, request, tls_context  # noqa: E402
import pglib  # noqa: E402
import test_figures  # noqa: E402
from test_figures import DAY1, H, World, iso, plan  # noqa: E402

failures = []
ARGS = ["--alert-retry-ms", "100", "--alert-retry-max-ms", "400", "--alert-poll-ms", "50",
        "--alert-attempts", "1000", "--warm-interval-ms", "100"]


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def wait_for(cond, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class Receiver:
    """A webhook receiver that answers 200 to every POST and keeps the JSON bodies."""

    def __init__(self):
        self.bodies = []
        self.lock = threading.Lock()
        rcv = self

        class Hd(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                with rcv.lock:
                    rcv.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hd)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def of(self, cls, kind="online_share_plan"):
        with self.lock:
            return [b for b in self.bodies
                    if b["finding"]["class"] == cls and b["finding"]["kind"] == kind]

    def pairs(self):
        with self.lock:
            return [(b["finding"]["class"], b["finding"]["kind"]) for b in self.bodies]

    def stop(self):
        self.httpd.shutdown()


def online_plan(cid, note=""):
    """A plan whose online hours (10 h of 16 h) are over the policy's half: online_share_plan,
    severity serious. note changes a trainee's name: a new generation, the same finding."""
    p = plan(cid)
    p["sessions"][2]["end"] = iso(DAY1 + 2 * test_figures.DAY + 20 * H)
    p["roster"][0]["name"] += note
    return p


def main():
    for backend in pglib.backends():
        print("== back-end: %s" % backend, flush=True)
        test_figures.BACKEND = backend
        one_backend(backend)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


def one_backend(backend):
    d = tempfile.mkdtemp(prefix="rollcall-engine-alerts-")
    rcv = Receiver()
    try:
        make_pki(d)
        w = World(d, "engine_alerts_" + backend)
        check(w.stop() == 0, "first server exits 0")
        w.srv = Server(w.db, w.dir, *ARGS)
        w.port = w.srv.port
        try:
            scenario(w, rcv)
        finally:
            check(w.stop() == 0, "server exits 0")
    finally:
        rcv.stop()
        shutil.rmtree(d, ignore_errors=True)


def put_plan(w, body):
    st, ans = w.req("inst-a", "PUT", "/v1/classes/" + body["id"], body)
    check(st in (200, 201), "plan %s: %r %r" % (body["id"], st, ans))


def summary(w):
    st, body = w.req("district-d", "GET", "/v1/summary")
    check(st == 200, "summary: %r %r" % (st, body))
    return body


def serious(body, cls):
    return [c["findings"]["serious"] for c in body.get("classes", []) if c["class"] == cls]


def scenario(w, rcv):
    url = "http://127.0.0.1:%d/hook" % rcv.port
    st, sub = w.req("district-d", "POST", "/v1/alerts/subscriptions",
                    {"name": "d-json", "url": url, "format": "json"})
    check(st == 201, "district subscribes: %r %r" % (st, sub))

    # Nobody reads the class: the warmer computes it and the alert goes out, once.
    put_plan(w, online_plan("C-X"))
    check(wait_for(lambda: len(rcv.of("C-X")) >= 1), "the warmer's alert for C-X arrives")
    got = rcv.of("C-X")
    if got:
        f = got[0]["finding"]
        check(f["kind"] == "online_share_plan" and f["severity"] == "serious" and
              f["district"] == "120103" and f["institution"] == "INST-A",
              "the alert names the engine's finding: %r" % f)
        check(f["kind_zh"] and any(ord(ch) > 0x2e80 for ch in f["kind_zh"]),
              "the finding's Chinese title: %r" % f["kind_zh"])
        check("online" in f["detail"], "the engine's detail: %r" % f["detail"])
    body = summary(w)
    check(serious(body, "C-X") and serious(body, "C-X")[0] >= 1,
          "the summary counts C-X's serious findings: %r" % serious(body, "C-X"))
    # The engine's finding is listed as computed ("engine"), not a second time as stored.
    st, fl = w.req("district-d", "GET", "/v1/findings?class=C-X&from=2026-01-01")
    if check(st == 200, "findings: %r %r" % (st, fl)):
        kinds = [x.get("kind") for x in fl.get("findings", [])]
        check(kinds.count("online_share_plan") == 1, "online_share_plan listed once: %r" % kinds)

    # A new generation of C-X (a reader recomputes it), then another class: its alert is a
    # marker after which C-X's would have come had it been sent again.
    put_plan(w, online_plan("C-X", "甲"))
    summary(w)
    put_plan(w, online_plan("C-Y"))
    check(wait_for(lambda: len(rcv.of("C-Y")) == 1), "C-Y's alert arrives")

    # Restart: the cache survives, so change C-X again and read; then a third class.
    check(w.stop() == 0, "server stops")
    w.srv = Server(w.db, w.dir, *ARGS)
    w.port = w.srv.port
    put_plan(w, online_plan("C-X", "乙"))
    summary(w)
    put_plan(w, online_plan("C-Z"))
    check(wait_for(lambda: len(rcv.of("C-Z")) == 1), "C-Z's alert arrives after the restart")

    # Two collectors on one database, both warming: a new class is alerted once.
    second = Server(w.db, w.dir, *ARGS)
    try:
        put_plan(w, online_plan("C-W"))
        check(wait_for(lambda: len(rcv.of("C-W")) >= 1), "C-W's alert arrives")
        ctx = tls_context(w.dir)
        st, _ = request(second.port, ctx, "GET", "/v1/summary", None,
                        {"Authorization": "Bearer " + w.tok["district-d"]})
        check(st == 200, "the second collector's summary: %r" % st)
        put_plan(w, online_plan("C-V"))
        check(wait_for(lambda: len(rcv.of("C-V")) == 1), "C-V's alert arrives")
    finally:
        check(second.stop() == 0, "the second collector exits 0")
    # Each serious finding (a class's online_share_plan, and its attendance_low: its sessions
    # are over and nobody signed in) reached the receiver exactly once.
    pairs = rcv.pairs()
    for cls in ("C-X", "C-Y", "C-Z", "C-W", "C-V"):
        n = len(rcv.of(cls))
        check(n == 1, "exactly one online_share_plan alert for %s, got %d" % (cls, n))
    check(len(pairs) == len(set(pairs)), "no finding alerted twice: %r" % sorted(pairs))
    st, dl = w.req("district-d", "GET", "/v1/alerts/deliveries")
    if check(st == 200, "deliveries: %r" % st):
        kinds = [x["finding"]["kind"] for x in dl.get("deliveries", [])]
        check(kinds.count("online_share_plan") == 5, "five deliveries logged: %r" % kinds)


if __name__ == "__main__":
    sys.exit(main())
