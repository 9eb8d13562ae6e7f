"""The daemon (`rollcall-agent run`) against a real gpsd (gpsfake replaying generated NMEA):

- GNSS quality findings become events: frozen coordinates, zero accuracy, impossible speed
  and no fix for long as `gnss` events, a GNSS time far from the system clock as a `clock`
  event (kind time_skew, skew_ms);
- sign-ins through the control socket (JSON lines) and through the CLI (which finds the
  daemon) use the daemon's fresh fix; heartbeats carry the fix and the queue depth;
- gpsd restarted mid-run: the daemon reconnects, a sign-in during the outage is recorded as
  no_fix, and after it the fix is fresh again;
- the recording watch turns finished files of a profile camera into rec_file events (size
  and SHA-256 checked with hashlib);
- the control socket is 0660, SIGTERM stops the daemon with exit 0 and removes the socket;
  the chain verifies;
- the daemon process is rollcall-agentd and maps neither libcurl nor OpenSSL nor PROJ while
  it watches gpsd, serves sign-ins and records files (its sync and hashing run in
  `rollcall-agent` children); a sign-in 30 km from the fence loads PROJ on demand and its
  distance matches GeographicLib's GeodSolve; rollcall-agentd's own refusals.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402

C = ah.CENTRE
FAR = (C[0] + 0.045, C[1])  # 5 km north


class DaemonFindings(unittest.TestCase):
    def test_quality_findings_become_events(self):
        segments = [
            {"at": list(C), "fixes": 6, "jitter_m": 1.0},
            {"frozen": True, "fixes": 8},                        # frozen_after_s 4
            {"at": list(C), "fixes": 4, "jitter_m": 1.0, "eph_m": 0.0},  # zero accuracy
            {"at": list(C), "fixes": 3, "jitter_m": 1.0},
            {"at": list(FAR), "fixes": 3, "jitter_m": 1.0},       # 5 km in a second
            {"jump_s": 3600},                                     # GNSS clock an hour ahead
            {"at": list(FAR), "fixes": 5, "jitter_m": 1.0},
            {"nofix": True, "fixes": 10},                         # no_fix_alert_s 4
            {"at": list(FAR), "fixes": 400, "jitter_m": 1.0},
        ]
        with tempfile.TemporaryDirectory(prefix="rollcall-daemon-") as wd, \
                gpsd_harness.Gpsfake.from_scenario({"segments": segments}, wd) as fake:
            k = ah.Kiosk(wd, fake.port, profile_over={"gnss": {
                "frozen_after_s": 4, "no_fix_alert_s": 4, "max_speed_mps": 50,
                "max_time_skew_s": 600}})
            with k:
                k.start_daemon()
                k.wait_event(lambda e: e["type"] == "gnss" and e["kind"] == "no_fix",
                             timeout=120, what="no_fix finding")
                k.wait_event(lambda e: e["type"] == "clock", timeout=60, what="clock event")
                self.assertEqual(k.stop_daemon(), 0)
            gnss = {}
            for _, e in k.events("gnss"):
                gnss.setdefault(e["kind"], e)
                self.assertTrue(e["detail"])
            for kind in ("frozen", "zero_eph", "impossible_speed", "no_fix"):
                self.assertIn(kind, gnss, [e for _, e in k.events()])
            self.assertEqual(gnss["frozen"]["fix"]["source"], "gnss")
            self.assertIn("fix", gnss["impossible_speed"])
            self.assertNotIn("fix", gnss["no_fix"])
            clocks = [e for _, e in k.events("clock")]
            self.assertTrue(clocks)
            self.assertEqual(clocks[0]["kind"], "time_skew")
            # an hour ahead, give or take the replay's start-up delay
            self.assertAlmostEqual(clocks[0]["skew_ms"], 3600 * 1000, delta=120 * 1000)
            self.assertFalse([e for _, e in k.events("gnss") if e["kind"] == "time_skew"])
            self.assertEqual(k.verify().code, 0, k.verify())


class DaemonService(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rollcall-daemon-")
        self.wd = self.tmp.name
        self.rec = os.path.join(self.wd, "rec", "front")
        os.makedirs(self.rec)
        scenario = {"segments": [{"at": list(C), "fixes": 600, "jitter_m": 0.5}]}
        self.fake = gpsd_harness.Gpsfake.from_scenario(scenario, self.wd)
        self.k = ah.Kiosk(self.wd, self.fake.port, profile_over={
            "heartbeat": {"interval_s": 10},
            "cameras": [{"id": "front", "dir": self.rec, "suffix": ".mp4", "settle_s": 1}]})

    def tearDown(self):
        self.k.close()
        self.fake.stop()
        self.tmp.cleanup()

    def test_control_socket_signin_status_and_shutdown(self):
        k = self.k
        k.start_daemon()
        self.assertEqual(ah.mode(k.socket), 0o660)
        st = k.wait_gnss()
        self.assertTrue(st["daemon"])
        self.assertTrue(st["gnss"]["connected"])
        for key in ("queue", "oldest_unsent_age_s", "last_sync", "chain", "clock_skew_ms"):
            self.assertIn(key, st)

        r = k.control({"cmd": "signin", "trainee": ah.TRAINEE, "class": "TJ-1", "session": "S1"})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["verdict"], "inside")
        self.assertEqual(r["result"]["fix"]["source"], "gnss")
        self.assertIn("recorded", r["text"])
        # the CLI goes through the daemon: same fresh fix, no gpsd wait
        cli, j = k.signin(cmd="signout")
        self.assertEqual(cli.code, 0, cli)
        self.assertEqual(j["type"], "signout")
        self.assertEqual(j["verdict"], "inside")
        self.assertEqual(cli.err, "")  # the one-shot path would log its gpsd connection

        # refusals through the socket: nothing recorded
        before = len(k.events())
        for req, word in (({"cmd": "signin", "trainee": "110105194912310021", "class": "C"},
                           "nothing recorded"),
                          ({"cmd": "signin", "trainee": ah.TRAINEE, "class": "bad class"},
                           "class"),
                          ({"cmd": "signin", "class": "C"}, "trainee"),
                          ({"cmd": "reboot"}, "unknown cmd"),
                          ("not json", "not a request")):
            if isinstance(req, str):
                import socket
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(k.socket)
                    s.sendall(req.encode() + b"\n")
                    ans = s.makefile().readline()
                import json
                r = json.loads(ans)
            else:
                r = k.control(req)
            self.assertFalse(r["ok"], (req, r))
            self.assertIn(word, r["error"])
        self.assertEqual(len(k.events()), before)

        st = k.run("status", "--json").json()
        self.assertEqual(st["queue"], len(k.events()))
        self.assertEqual(st["chain"]["head_seq"], len(k.events()))

        # a heartbeat with the fix and the queue depth (the first one may precede the fix)
        hb = k.wait_event(lambda e: e["type"] == "heartbeat" and "fix" in e, timeout=60,
                          what="heartbeat with a fix")
        self.assertIn("queue", hb)
        self.assertEqual(hb["fix"]["source"], "gnss")

        self.assertEqual(k.stop_daemon(), 0)
        self.assertFalse(os.path.exists(k.socket))
        self.assertEqual(k.verify().code, 0)
        # without the daemon, status still answers from the outbox
        st = k.run("status", "--json").json()
        self.assertFalse(st["daemon"])
        self.assertEqual(st["gnss"]["state"], "not_running")

    def test_gpsd_restart_mid_run(self):
        k = self.k
        k.start_daemon()
        k.wait_gnss()
        r = k.control({"cmd": "signin", "trainee": ah.TRAINEE, "class": "C1"})
        self.assertEqual(r["result"]["verdict"], "inside")
        fixes_before = k.status()["gnss"]["fixes"]

        self.fake.stop()
        k.wait_gnss(states=("stale", "none"), timeout=60)
        r = k.control({"cmd": "signin", "trainee": ah.TRAINEE, "class": "C1"})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["verdict"], "no_fix")

        self.fake.restart()
        st = k.wait_gnss(timeout=120)
        self.assertGreaterEqual(st["gnss"]["connects"], 2)
        # the replay starts over (its times repeat), but these are new fixes from the new gpsd
        self.assertGreater(st["gnss"]["fixes"], fixes_before)
        r = k.control({"cmd": "signin", "trainee": ah.TRAINEE, "class": "C1"})
        self.assertEqual(r["result"]["verdict"], "inside")
        self.assertEqual(r["result"]["fix"]["source"], "gnss")
        self.assertEqual(k.stop_daemon(), 0)
        self.assertEqual([e["verdict"] for _, e in k.events("signin")],
                         ["inside", "no_fix", "inside"])
        self.assertEqual(k.verify().code, 0)

    def test_recording_watch(self):
        k = self.k
        r = k.run("record", "start", "--camera", "front", "--class", "TJ-9", "--session", "S2")
        self.assertEqual(r.code, 0, r)
        k.start_daemon()
        data1 = os.urandom(3 * 1024 * 1024 + 17)
        data2 = os.urandom(1000)
        # moved in (IN_MOVED_TO) ...
        part = os.path.join(self.wd, "lesson1.mp4.part")
        with open(part, "wb") as f:
            f.write(data1)
        shutil.move(part, os.path.join(self.rec, "lesson1.mp4"))
        # ... and written in place (IN_CLOSE_WRITE); other suffixes are ignored
        with open(os.path.join(self.rec, "lesson2.mp4"), "wb") as f:
            f.write(data2)
        with open(os.path.join(self.rec, "notes.txt"), "wb") as f:
            f.write(b"not a recording")
        for name, data in (("lesson1.mp4", data1), ("lesson2.mp4", data2)):
            path = os.path.join(self.rec, name)
            ev = k.wait_event(lambda e, p=path: e["type"] == "rec_file" and e["file"] == p,
                              timeout=60, what="rec_file for " + name)
            self.assertEqual(ev["bytes"], len(data))
            self.assertEqual(ev["sha256"], hashlib.sha256(data).hexdigest())
            self.assertEqual(ev["camera"], "front")
            self.assertEqual((ev["class"], ev["session"]), ("TJ-9", "S2"))
            self.assertLessEqual(ev["start"], ev["end"])
        self.assertEqual(k.stop_daemon(), 0)
        files = [e["file"] for _, e in k.events("rec_file")]
        self.assertEqual(len(files), 2, files)
        self.assertEqual(k.verify().code, 0)


def mapped_libraries(pid):
    """The file names of the shared objects mapped into pid."""
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(line.split()[5]) for line in f if len(line.split()) > 5}


HEAVY = ("libcurl", "libssl", "libcrypto.so", "libproj", "libnghttp2", "libz.so")


class DaemonProcess(unittest.TestCase):
    def heavy(self, pid):
        return sorted(lib for lib in mapped_libraries(pid) if lib.startswith(HEAVY))

    def test_daemon_maps_only_what_it_needs(self):
        with tempfile.TemporaryDirectory(prefix="rollcall-daemon-") as wd:
            rec = os.path.join(wd, "rec")
            os.makedirs(rec)
            scenario = {"segments": [{"at": list(C), "fixes": 600, "jitter_m": 0.5}]}
            with gpsd_harness.Gpsfake.from_scenario(scenario, wd) as fake:
                k = ah.Kiosk(wd, fake.port, profile_over={
                    "cameras": [{"id": "front", "dir": rec, "suffix": ".mp4", "settle_s": 1}]})
                with k:
                    k.start_daemon()
                    pid = k.daemon.pid
                    self.assertEqual(os.path.basename(os.readlink("/proc/%d/exe" % pid)),
                                     "rollcall-agentd")
                    k.wait_gnss()
                    for i in range(5):
                        r = k.control({"cmd": "signin", "trainee": ah.TRAINEE, "class": "C1"})
                        self.assertEqual(r["result"]["verdict"], "inside", r)
                    data = os.urandom(200000)
                    with open(os.path.join(rec, "a.mp4"), "wb") as f:
                        f.write(data)
                    ev = k.wait_event(lambda e: e["type"] == "rec_file", timeout=60,
                                      what="rec_file")
                    self.assertEqual(ev["sha256"], hashlib.sha256(data).hexdigest())
                    libs = mapped_libraries(pid)
                    self.assertTrue(any(lib.startswith("libgps") for lib in libs), libs)
                    self.assertEqual(self.heavy(pid), [])
                    self.assertEqual(k.stop_daemon(), 0)
                    self.assertEqual(k.verify().code, 0)

    def test_far_signin_loads_proj_on_demand(self):
        far = (C[0] + 0.27, C[1])  # about 30 km north of the square
        with tempfile.TemporaryDirectory(prefix="rollcall-daemon-") as wd:
            k = ah.Kiosk(wd, gpsd_harness.free_port(), profile_over={
                "gnss": {"source": "none"},
                "surveyed": {"lat": far[0], "lon": far[1], "datum": "WGS-84", "eph_m": 5}})
            with k:
                k.start_daemon()
                pid = k.daemon.pid
                r = k.control({"cmd": "signin", "trainee": ah.TRAINEE, "class": "C1"})
                self.assertTrue(r["ok"], r)
                self.assertEqual(r["result"]["verdict"], "outside")
                # due north of the square: the nearest point is on the north edge, same meridian
                ref = subprocess.run(["GeodSolve", "-i", "-p", "6"], input="%r %r %r %r\n" % (
                    ah.LAT_N, far[1], far[0], far[1]), capture_output=True, text=True, check=True)
                expect = float(ref.stdout.split()[2])
                self.assertGreater(expect, 20000)
                self.assertAlmostEqual(r["result"]["distance_m"], expect, delta=0.01)
                self.assertTrue(any(lib.startswith("libproj") for lib in mapped_libraries(pid)))
                self.assertEqual(k.stop_daemon(), 0)


class AgentdCommand(unittest.TestCase):
    def test_refusals(self):
        agentd = os.path.join(os.path.dirname(ah.AGENT), "rollcall-agentd")
        r = subprocess.run([agentd, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: rollcall-agentd", r.stdout)
        r = subprocess.run([agentd, "--bogus"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([agentd, "extra"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([agentd, "--log-level", "loud"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown log level", r.stderr)
        with tempfile.TemporaryDirectory(prefix="rollcall-agentd-") as wd:
            r = subprocess.run([agentd, "--cli", os.path.join(wd, "none"), "--config",
                                os.path.join(wd, "agent.json")], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot run", r.stderr)
            r = subprocess.run([agentd, "--config", os.path.join(wd, "agent.json")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("agent.json", r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
