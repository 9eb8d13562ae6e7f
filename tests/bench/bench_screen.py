#!/usr/bin/python3
"""The kiosk screen's latency and memory (docs/PERFORMANCE.md, "Kiosk screen"). Prints; never
fails on a figure.

A kiosk enrolled at a real collector whose class (running now, ROUNDS trainees on its
roster) it received with its schedule, a real gpsd (gpsfake replaying a fix inside the fence),
the daemon (`rollcall-agent run`) and the screen (`rollcall-agent screen`), headless Debian
chromium with the fake camera (tests/browser/kiosk_driver.mjs). In the same run, alternating
(each trainee once each way, so both paths check the same roster):

- socket: one sign-in through the daemon's control socket (connect, request, reply), the
  baseline;
- page: the time from the click on 签到 to the answer on the screen, measured in the page
  (performance.now() around the click, a MutationObserver on the answer): the still taken
  from the camera, encoded as JPEG, posted and stored (fsync), the sign-in sent to the daemon
  through the screen's server, the answer drawn; split by the page's performance marks;
- fetch: no-op round trips from the page to its server (GET /healthz), and the same from
  Python on a kept-alive connection (the server's share).

Then the screen program's resident memory after IDLE seconds with the page polling it.

    /usr/bin/python3 tests/bench/bench_screen.py [--rounds N] [--idle S]
(ROLLCALL_AGENT: the rollcall-agent to use, default build/release/rollcall-agent.)
"""
import argparse
import http.client
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
                               "student": False} for i in range(args.rounds)]
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
            sock, page, parts, noop = [], [], {}, []
            for i in range(args.rounds):
                trainee = ph.id_number(i)
                t0 = time.perf_counter()
                r = k.control({"cmd": "signin", "trainee": trainee, "class": tks.CLASS,
                               "session": "S01"})
                sock.append((time.perf_counter() - t0) * 1000)
                assert r.get("ok"), r
                r = b("timeSignin", id=trainee, action="signout",
                      readName=args.think_ms >= 0, thinkMs=max(args.think_ms, 0))
                assert r["answer"]["ok"], r
                page.append(r["ms"])
                prev = 0.0
                for name in ("photo", "reply", "shown"):
                    at = r["marks"].get(name)
                    if at is not None:
                        parts.setdefault(name, []).append(at - prev)
                        prev = at
                noop += b("timeFetch", n=3)["ms"]
            # the same no-op round trip without a browser: the server's share of the floor
            conn = http.client.HTTPConnection("127.0.0.1", k.port, timeout=30)
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
    print("control socket sign-in: median %.1f ms, p90 %.1f ms" %
          (med_s, statistics.quantiles(sock, n=10)[-1]))
    print("page sign-in (click to answer, photo included): median %.1f ms, p90 %.1f ms" %
          (med_p, statistics.quantiles(page, n=10)[-1]))
    print("ratio page / socket (medians): %.2f (goal <= 1.5)" % (med_p / med_s))
    print("difference (medians): %.1f ms" % (med_p - med_s))
    what = {"photo": "click -> the still's hash in hand", "reply": "-> the daemon's reply",
            "shown": "-> the answer drawn"}
    for name, xs in parts.items():
        print("  page part %-36s median %.1f ms, p90 %.1f ms" %
              (what[name], statistics.median(xs), statistics.quantiles(xs, n=10)[-1]))
    print("no-op fetch round trip from the page (GET /healthz, %d): median %.1f ms, p90 %.1f ms"
          % (len(noop), statistics.median(noop), statistics.quantiles(noop, n=10)[-1]))
    print("no-op round trip from Python (http.client, kept alive, 200): median %.2f ms, p90 %.2f ms"
          % (statistics.median(direct), statistics.quantiles(direct, n=10)[-1]))
    print("screen program idle VmRSS: %d KiB" % rss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
