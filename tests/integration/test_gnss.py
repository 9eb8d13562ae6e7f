"""`rollcall-agent gnss` against a real gpsd (gpsfake replaying generated NMEA).

Each scenario gets its own gpsfake on a private port; the scenarios run side by side to keep
the suite short. Nothing here depends on timing: gpsfake may replay slower on a loaded
machine, so every wait is a generous deadline and every assertion is about content.

References: positions are what the generated sentences say (nmea_gen reports them after
rounding to the sentence's 6 decimals of minutes); accuracy follows gpsd 3.22's error model
for NMEA receivers, eph = HDOP x 19.0 m (P_UERE_NO_DGPS in gpsd's libgpsd_core.c), because
gpsd 3.22 does not take TPV eph from $GPGST.
"""

import datetime as dt
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

SRC = os.environ.get("ROLLCALL_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AGENT = os.environ.get("ROLLCALL_AGENT", os.path.join(SRC, "build", "rel", "rollcall-agent"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
import gpsd_harness  # noqa: E402
import nmea_gen  # noqa: E402

P_UERE_NO_DGPS = 19.0  # gpsd 3.22 libgpsd_core.c: eph = hdop * p_uere for a plain GPS fix
RUN_TIMEOUT_S = 150    # per agent run; the replay is ~1 fix/s, each run needs < 40 fixes
QUIET = ["--frozen-after", "0", "--max-skew", "0", "--max-speed", "0", "--no-fix-alert", "0"]

# Tianjin (Hexi district) and a point 50 km north-east of it.
HEXI = (39.0901234, 117.2012345)
FAR = (39.4, 117.6)


def iso_to_s(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_agent(address, *args, timeout=RUN_TIMEOUT_S):
    """Runs `rollcall-agent gnss --json` and returns (exit status, parsed lines, stderr)."""
    cmd = [AGENT, "gnss", "--gpsd", address, "--json", "--timeout", str(timeout - 20)]
    cmd += list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return p.returncode, lines, p.stderr


def fixes_of(lines):
    return [l for l in lines if "finding" not in l]


def findings_of(lines, kind=None):
    return [l for l in lines if "finding" in l and (kind is None or l["finding"] == kind)]


def with_fake(scenario, args):
    """Starts gpsfake for scenario, runs the agent with args, stops gpsfake."""
    with tempfile.TemporaryDirectory() as d:
        with gpsd_harness.Gpsfake.from_scenario(scenario, d) as fake:
            rc, lines, err = run_agent(fake.address, *args)
            return {"rc": rc, "lines": lines, "stderr": err, "fixes": fake.fixes}


SCENARIOS = {
    # a straight walk, then a jittery stationary kiosk: positions and accuracy
    "track": ({"segments": [
        {"from": [HEXI[0], HEXI[1]], "to": [HEXI[0] + 0.0004, HEXI[1] + 0.0006], "fixes": 30,
         "eph_m": 4.0},
        {"at": [HEXI[0] + 0.0004, HEXI[1] + 0.0006], "fixes": 30, "eph_m": 12.0,
         "jitter_m": 0.8, "sats": 6}]},
        ["--count", "20"] + QUIET),
    # indoors: no fix at all
    "nofix": ({"segments": [{"nofix": True, "fixes": 60}]},
              ["--count", "1", "--no-fix-alert", "4", "--timeout", "20"]),
    "nofix_surveyed": ({"segments": [{"nofix": True, "fixes": 60}]},
                       ["--count", "1", "--timeout", "12", "--surveyed", "39.1,117.2,3"]),
    # a replayed position: coordinates stop changing while fixes keep coming
    "frozen": ({"segments": [
        {"from": [HEXI[0], HEXI[1]], "to": [HEXI[0] + 0.0001, HEXI[1]], "fixes": 4},
        {"frozen": True, "fixes": 70}]},
        ["--count", "25", "--frozen-after", "5", "--max-skew", "3600", "--max-speed", "50",
         "--no-fix-alert", "0"]),
    # the receiver clock jumps an hour ahead
    "timejump": ({"segments": [
        {"at": [HEXI[0], HEXI[1]], "fixes": 15, "jitter_m": 0.5},
        {"jump_s": 3600},
        {"at": [HEXI[0], HEXI[1]], "fixes": 45, "jitter_m": 0.5}]},
        ["--count", "30", "--max-skew", "600", "--frozen-after", "0", "--max-speed", "50",
         "--no-fix-alert", "0"]),
    # a receiver claiming perfect accuracy
    "zero_eph": ({"segments": [
        {"at": [HEXI[0], HEXI[1]], "fixes": 10, "jitter_m": 0.5, "eph_m": 5.0},
        {"at": [HEXI[0], HEXI[1]], "fixes": 50, "jitter_m": 0.5, "eph_m": 0.0}]},
        ["--count", "25"] + QUIET),
    # a teleport of 50 km between two fixes
    "teleport": ({"segments": [
        {"at": [HEXI[0], HEXI[1]], "fixes": 15, "jitter_m": 0.5},
        {"at": [FAR[0], FAR[1]], "fixes": 45, "jitter_m": 0.5}]},
        ["--count", "30", "--max-speed", "50", "--frozen-after", "0", "--max-skew", "600",
         "--no-fix-alert", "0"]),
}

RESULTS = {}


def setUpModule():
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as ex:
        futs = {name: ex.submit(with_fake, sc, args) for name, (sc, args) in SCENARIOS.items()}
        for name, fut in futs.items():
            RESULTS[name] = fut.result()


class Scenarios(unittest.TestCase):
    def result(self, name):
        r = RESULTS[name]
        self.assertEqual(r["rc"], 0, "%s: agent failed: %s" % (name, r["stderr"]))
        return r

    def assert_no_other_findings(self, r, allowed):
        kinds = [f["finding"] for f in findings_of(r["lines"])]
        self.assertEqual([k for k in kinds if k not in allowed], [], kinds)

    def test_positions_and_accuracy_match_the_log(self):
        r = self.result("track")
        by_time = {round(f["t"]): f for f in r["fixes"]}
        fixes = fixes_of(r["lines"])
        self.assertEqual(len(fixes), 20)
        with_eph = same_sats = 0
        for f in fixes:
            ref = by_time.get(round(iso_to_s(f["time"])))
            self.assertIsNotNone(ref, "fix time %s is not in the log" % f["time"])
            self.assertEqual(f["source"], "gnss")
            self.assertEqual(f["mode"], 3)
            self.assertAlmostEqual(f["lat"], ref["lat"], delta=1e-6)
            self.assertAlmostEqual(f["lon"], ref["lon"], delta=1e-6)
            if f["eph"] is not None:  # gpsd's first TPV of a session may lack eph
                with_eph += 1
                self.assertAlmostEqual(f["eph"], ref["hdop"] * P_UERE_NO_DGPS, delta=0.01)
            if f["sats"] == ref["sats"]:
                same_sats += 1
        self.assertGreaterEqual(with_eph, 15)
        # satellites come from gpsd's SKY, which can lag a segment change or a (re)connect
        self.assertGreaterEqual(same_sats, 15)
        self.assert_no_other_findings(r, ())

    def test_no_fix(self):
        r = self.result("nofix")
        # gpsd 3.22 sends TPVs without a time while the receiver has no fix: the agent has no
        # epoch to report, only the finding once the alert delay has passed
        for f in fixes_of(r["lines"]):
            self.assertEqual(f["mode"], 1)
            self.assertIsNone(f["lat"])
            self.assertEqual(f["source"], "gnss")
        self.assertEqual(len(findings_of(r["lines"], "no_fix")), 1, r["lines"])
        self.assert_no_other_findings(r, ("no_fix",))

    def test_no_fix_falls_back_to_surveyed_only_when_declared(self):
        r = self.result("nofix_surveyed")
        fixes = fixes_of(r["lines"])
        surveyed = [f for f in fixes if f["source"] == "surveyed"]
        self.assertEqual(len(surveyed), 1)
        self.assertIs(fixes[-1], surveyed[0])
        self.assertEqual((surveyed[0]["lat"], surveyed[0]["lon"], surveyed[0]["eph"]),
                         (39.1, 117.2, 3))
        self.assertIsNone(surveyed[0]["time"])
        self.assertTrue(all(f["mode"] == 1 for f in fixes[:-1]))

    def test_frozen_coordinates(self):
        r = self.result("frozen")
        self.assertEqual(len(findings_of(r["lines"], "frozen")), 1, r["lines"])
        self.assert_no_other_findings(r, ("frozen",))

    def test_time_jump_is_a_clock_finding(self):
        r = self.result("timejump")
        skew = findings_of(r["lines"], "time_skew")
        self.assertEqual(len(skew), 1, r["lines"])
        self.assertTrue(skew[0]["clock"])
        # an hour ahead, give or take how far the replay drifted (far less than 10 min)
        self.assertAlmostEqual(skew[0]["skew_ms"], 3600 * 1000, delta=600 * 1000)
        self.assert_no_other_findings(r, ("time_skew",))

    def test_zero_accuracy(self):
        r = self.result("zero_eph")
        self.assertEqual(len(findings_of(r["lines"], "zero_eph")), 1, r["lines"])
        self.assertTrue(any(f["eph"] == 0 for f in fixes_of(r["lines"])))
        self.assert_no_other_findings(r, ("zero_eph",))

    def test_impossible_speed(self):
        r = self.result("teleport")
        found = findings_of(r["lines"], "impossible_speed")
        self.assertEqual(len(found), 1, r["lines"])
        self.assert_no_other_findings(r, ("impossible_speed",))
        lats = [f["lat"] for f in fixes_of(r["lines"])]
        self.assertTrue(any(abs(l - FAR[0]) < 1e-4 for l in lats))


class Reconnect(unittest.TestCase):
    def test_gpsd_restart_mid_run(self):
        scenario = {"segments": [{"from": [HEXI[0], HEXI[1]], "to": [HEXI[0] + 0.001, HEXI[1]],
                                  "fixes": 150, "jitter_m": 0.3}]}
        with tempfile.TemporaryDirectory() as d, \
                gpsd_harness.Gpsfake.from_scenario(scenario, d) as fake:
            p = subprocess.Popen([AGENT, "gnss", "--gpsd", fake.address, "--json",
                                  "--timeout", "240"] + QUIET,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lines = queue.Queue()
            threading.Thread(target=lambda: [lines.put(l) for l in p.stdout], daemon=True).start()

            def positions(n, deadline_s=90):
                got, end = [], time.monotonic() + deadline_s
                while len(got) < n and time.monotonic() < end:
                    try:
                        msg = json.loads(lines.get(timeout=1))
                    except queue.Empty:
                        continue
                    if msg.get("lat") is not None:
                        got.append(msg)
                return got

            try:
                before = positions(3)
                self.assertEqual(len(before), 3)
                fake.restart()  # gpsd gone, then back on the same port
                after = positions(5)
                self.assertEqual(len(after), 5, "no fixes after gpsd restarted")
                self.assertIsNone(p.poll(), "the agent exited when gpsd went away")
            finally:
                p.kill()
                _, err = p.communicate(timeout=30)
            self.assertIn("connection lost", err)
            self.assertGreaterEqual(err.count(": connected"), 2, err)


class Usage(unittest.TestCase):
    def test_unreachable_gpsd_is_one_line_and_exit_1(self):
        port = gpsd_harness.free_port()
        p = subprocess.run([AGENT, "gnss", "--gpsd", "127.0.0.1:%d" % port, "--timeout", "2"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("cannot reach gpsd", p.stderr)

    def test_usage_errors_exit_2(self):
        for args in (["--count", "0"], ["--count", "x"], ["--timeout", "-1"],
                     ["--gpsd", "nohost"], ["--gpsd", "h:70000"], ["--surveyed", "91,0,1"],
                     ["--max-speed", "nan"], ["stray"], ["--bogus"]):
            p = subprocess.run([AGENT, "gnss"] + args, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "", args)
            self.assertTrue(p.stderr.strip(), args)

    def test_help(self):
        p = subprocess.run([AGENT, "gnss", "--help"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: rollcall-agent gnss", p.stdout)


class Generator(unittest.TestCase):
    """nmea_gen itself: checksums and coordinates, against independent arithmetic."""

    def test_checksums_and_coordinates(self):
        text, fixes = nmea_gen.generate({"segments": [
            {"at": [-33.8688, 151.2093], "fixes": 2, "eph_m": 7.6},
            {"nofix": True, "fixes": 1}]}, start="2026-03-01T23:59:59Z")
        lines = [l for l in text.split("\r\n") if l.startswith("$")]
        for line in lines:
            body, cs = line[1:].split("*")
            x = 0
            for ch in body:
                x ^= ord(ch)
            self.assertEqual(int(cs, 16), x, line)
        rmc = [l for l in lines if l.startswith("$GPRMC")]
        # 33.8688 S = 33 deg 52.128000 min; 151.2093 E = 151 deg 12.558000 min
        self.assertIn(",A,3352.128000,S,15112.558000,E,", rmc[0])
        self.assertIn(",235959.00,", rmc[0])
        self.assertIn(",010326,", rmc[0])        # date of the first fix
        self.assertIn(",000000.00,", rmc[1])     # the next second is midnight ...
        self.assertIn(",020326,", rmc[1])        # ... of the next day
        self.assertIn(",V,", rmc[2])
        self.assertEqual(fixes[0]["hdop"], 0.4)  # 7.6 m / 19 m
        self.assertEqual(len(fixes), 3)
        self.assertFalse(fixes[2]["fix"])

    def test_refuses_bad_scenarios(self):
        for sc in ({"segments": []}, {"segments": [{"at": [91, 0], "fixes": 1}]},
                   {"segments": [{"frozen": True, "fixes": 2}]},
                   {"segments": [{"at": [0, 0], "fixes": 0}]},
                   {"segments": [{"at": [0, 0], "fixes": 1, "eph_m": -1}]}):
            with self.assertRaises(ValueError):
                nmea_gen.generate(sc)


if __name__ == "__main__":
    unittest.main(verbosity=2)
