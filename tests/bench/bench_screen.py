#!/usr/bin/python3
"""The kiosk screen's latency and memory (docs/PERFORMANCE.md, "Kiosk screen"). Prints; never
fails on a figure.

A kiosk enrolled at a real collector whose class (running now, ROUNDS trainees on its
roster) it received with its schedule, a real gpsd (gpsfake replaying a fix inside the fence),
the daemon (`rollcall-agent run`) and the screen (`rollcall-agent screen`), headless Debian
chromium with the fake camera (tests/browser/kiosk_driver.mjs). In the same run, alternating
(each trainee once each way, so both paths check the same roster):

- socket: one sign-in through the daemon's control socket (connect, request, reply), the
  baseline, photo included as on the page: it names a still (the page's JPEG of the fake
  camera, made unique) stored beforehand through the screen, and the daemon checks its bytes
  against the hash; the storing is timed apart (the page does it before the click);
- screen: the page's request without the browser, POST /api/signin from Python on a kept-alive
  connection (another trainee, a stored still): the screen program's share;
- page: the time from the click on 签到 to the answer on the screen, measured in the page
  (performance.now() around the click, a MutationObserver on the answer): the still taken
  from the camera, encoded as JPEG, posted and stored (fsync), the sign-in sent to the daemon
  through the screen's server, the answer drawn; split by the page's performance marks;
- fetch: no-op round trips from the page to its server (GET /healthz) with fetch and with
  XMLHttpRequest, a no-op message on a WebSocket to it (a call it does not know), a lookup
  each of these three ways, and the no-op from Python on a kept-alive connection (the
  server's share).
The page's time is also given to the end of the frame that first draws the answer
(requestAnimationFrame, then a task), for what the browser's own drawing adds.

Then the screen program's resident memory after IDLE seconds with the page polling it.

    /usr/bin/python3 tests/bench/bench_screen.py [--rounds N] [--idle S]
(ROLLCALL_AGENT: the rollcall-agent to use, default build/release/rollcall-agent.)
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("ROLLCALL_AGENT", os.path.join(SRC, "build", "release", "rollcall-agent"))
os.environ.setdefault("ROLLCALL_SERVER", os.path.join(SRC, "build", "release", "rollcall-server"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402
import pipe_harness as ph  # noqa: E402
import test_kiosk_screen as tks  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def page_still(b):
    """A still as the page takes it (the fake camera, 640x480, JPEG at the page's quality)."""
    import base64
    v = b("eval", js="(async () => { const v = document.getElementById('camera'); "
                     "const c = document.createElement('canvas'); c.width = 640; c.height = 480; "
                     "c.getContext('2d').drawImage(v, 0, 0, 640, 480); "
                     "return c.toDataURL('image/jpeg', 0.85); })()")["value"]
    return base64.b64decode(v.split(",", 1)[1])


def store_photo(port, still):
    """Stores a still (made unique by its last bytes) through the screen; returns its hash."""
    body = still[:-2] + os.urandom(8) + still[-2:]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/photo", body=body, headers={
            "Host": "127.0.0.1:%d" % port, "Origin": "http://127.0.0.1:%d" % port,
            "Content-Type": "image/jpeg"})
        r = conn.getresponse()
        j = json.loads(r.read())
        assert j.get("ok"), j
        return j["photo_sha256"]
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument("--think-ms", type=int, default=-1,
                    help="click this long after the masked name is shown (a person reading "
                         "it); default -1: as soon as the button is enabled")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rc-bench-screen-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.start()
        fake = gpsd_harness.Gpsfake.from_scenario(
            {"segments": [{"at": list(ah.CENTRE), "fixes": 5000, "jitter_m": 0.3}]}, w)
        k = tks.ScreenKiosk(w, col.url, pki["ca"], fake.port)
        b = None
        try:
            k.enroll_with(col)
            plan = tks.plan()
            plan["roster"] = [{"id_number": ph.id_number(i), "name": "学员%d" % i,
                               "student": False} for i in range(2 * args.rounds)]
            inst = col.token("institution:INST-0001", "inst-bench")
            st_, body = tks.put(col, pki, "/v1/classes/" + tks.CLASS, inst, plan)
            assert st_ in (200, 201), body
            assert k.run("sync", "--timeout", "120").code == 0
            k.start_daemon()
            k.wait_gnss()
            url = k.start_screen()
            b = tks.Browser()
            b("open", url=url, width=1080, height=1920)
            b("waitText", selector="#session-list", contains=tks.CLASS)
            sock, store, page, parts, noop, noop_xhr, frame = [], [], [], {}, [], [], []
            still = page_still(b)
            via_screen, look_fetch, look_xhr, look_ws, noop_ws = [], [], [], [], []
            hdrs = {"Host": "127.0.0.1:%d" % k.port, "Origin": "http://127.0.0.1:%d" % k.port,
                    "Content-Type": "application/json"}
            conn = http.client.HTTPConnection("127.0.0.1", k.port, timeout=30)
            for i in range(args.rounds):
                trainee = ph.id_number(i)
                # photo included on both sides: the page's click sends the hash of a still it
                # stored before the click (when the number became complete), so the socket
                # sign-in names a still of the same size stored the same way (POST /api/photo,
                # untimed) and the daemon checks its bytes against the hash for both
                h = store_photo(k.port, still)
                t0 = time.perf_counter()
                r = k.control({"cmd": "signin", "trainee": trainee, "class": tks.CLASS,
                               "session": "S01", "photo_sha256": h})
                sock.append((time.perf_counter() - t0) * 1000)
                assert r.get("ok"), r
                # the same with storing the still timed too (what the page does before the click)
                t0 = time.perf_counter()
                h = store_photo(k.port, still)
                store.append((time.perf_counter() - t0) * 1000)
                # the page's request without the browser: POST /api/signin from Python on a
                # kept-alive connection (another trainee): the screen program's share
                body = json.dumps({"trainee": ph.id_number(args.rounds + i), "class": tks.CLASS,
                                   "session": "S01", "photo_sha256": h})
                t0 = time.perf_counter()
                conn.request("POST", "/api/signin", body=body, headers=hdrs)
                r = json.loads(conn.getresponse().read())
                via_screen.append((time.perf_counter() - t0) * 1000)
                assert r.get("ok"), r
                r = b("timeSignin", id=trainee, action="signout",
                      readName=args.think_ms >= 0, thinkMs=max(args.think_ms, 0))
                assert r["answer"]["ok"], r
                page.append(r["ms"])
                frame.append(r["frame"])
                prev = 0.0
                for name in ("photo", "reply", "shown"):
                    at = r["marks"].get(name)
                    if at is not None:
                        parts.setdefault(name, []).append(at - prev)
                        prev = at
                noop += b("timeFetch", n=3)["ms"]
                noop_xhr += b("timeFetch", n=3, xhr=True)["ms"]
                lk = {"trainee": trainee, "class": tks.CLASS, "session": "S01"}
                look_fetch += b("timeFetch", n=3, lookup=lk)["ms"]
                look_xhr += b("timeFetch", n=3, lookup=lk, xhr=True)["ms"]
                look_ws += b("timeFetch", n=3, lookup=lk, ws=True)["ms"]
                noop_ws += b("timeFetch", n=3, ws=True)["ms"]
            # the same no-op round trip without a browser: the server's share of the floor
            direct = []
            for _ in range(200):
                t0 = time.perf_counter()
                conn.request("GET", "/healthz", headers={"Host": "127.0.0.1:%d" % k.port})
                conn.getresponse().read()
                direct.append((time.perf_counter() - t0) * 1000)
            conn.close()
            photos = len(os.listdir(os.path.join(k.data, "photos")))
            time.sleep(args.idle)
            rss = rss_kib(k.screen.pid)
        finally:
            if b:
                b.close()
            k.stop_screen()
            k.close()
            fake.stop()
            col.stop()
    med_s, med_p = statistics.median(sock), statistics.median(page)
    print("rounds %d (alternating), photos stored %d, click %s" % (
        args.rounds, photos, "as soon as enabled" if args.think_ms < 0 else
        "%d ms after the name is shown" % args.think_ms))
    print("still: %d bytes (the page's JPEG of the fake camera)" % len(still))
    print("control socket sign-in naming a stored still: median %.1f ms, p90 %.1f ms" %
          (med_s, statistics.quantiles(sock, n=10)[-1]))
    print("  storing that still through the screen (POST /api/photo, Python): median %.1f ms, "
          "p90 %.1f ms" % (statistics.median(store), statistics.quantiles(store, n=10)[-1]))
    print("screen sign-in from Python (POST /api/signin naming a stored still, kept alive): "
          "median %.1f ms, p90 %.1f ms" % (statistics.median(via_screen),
                                            statistics.quantiles(via_screen, n=10)[-1]))
    print("page sign-in (click to answer, photo included): median %.1f ms, p90 %.1f ms" %
          (med_p, statistics.quantiles(page, n=10)[-1]))
    print("ratio page / socket (medians): %.2f (goal <= 1.5)" % (med_p / med_s))
    print("  to the end of the frame that draws it (rAF, then a task): median %.1f ms, p90 %.1f ms"
          % (statistics.median(frame), statistics.quantiles(frame, n=10)[-1]))
    print("difference (medians): %.1f ms" % (med_p - med_s))
    what = {"photo": "click -> the still's hash in hand", "reply": "-> the daemon's reply",
            "shown": "-> the answer drawn"}
    for name, xs in parts.items():
        print("  page part %-36s median %.1f ms, p90 %.1f ms" %
              (what[name], statistics.median(xs), statistics.quantiles(xs, n=10)[-1]))
    print("no-op fetch round trip from the page (GET /healthz, %d): median %.1f ms, p90 %.1f ms"
          % (len(noop), statistics.median(noop), statistics.quantiles(noop, n=10)[-1]))
    print("no-op XMLHttpRequest round trip from the page (GET /healthz, %d): median %.1f ms, "
          "p90 %.1f ms" % (len(noop_xhr), statistics.median(noop_xhr),
                           statistics.quantiles(noop_xhr, n=10)[-1]))
    print("no-op WebSocket round trip from the page (a call the screen does not know, %d): "
          "median %.1f ms, p90 %.1f ms" % (len(noop_ws), statistics.median(noop_ws),
                                           statistics.quantiles(noop_ws, n=10)[-1]))
    for name, xs in (("fetch", look_fetch), ("XMLHttpRequest", look_xhr),
                     ("WebSocket", look_ws)):
        print("lookup from the page by %s (%d): median %.1f ms, p90 %.1f ms" % (
            name, len(xs), statistics.median(xs), statistics.quantiles(xs, n=10)[-1]))
    print("no-op round trip from Python (http.client, kept alive, 200): median %.2f ms, p90 %.2f ms"
          % (statistics.median(direct), statistics.quantiles(direct, n=10)[-1]))
    print("screen program idle VmRSS: %d KiB" % rss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
