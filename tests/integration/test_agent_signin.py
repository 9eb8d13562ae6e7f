"""Located sign-in without a daemon: `rollcall-agent signin` reads a real gpsd (gpsfake
replaying NMEA that nmea_gen writes from coordinates) and judges the fix against a test
fence. Verdicts are checked against distances computed here from the fence's coordinates
(meridian arc length per degree of latitude, independent of the agent's geodesy), and every
answer is checked against what the outbox holds (read with Python's sqlite3).

Scenarios: inside, outside, exactly on the edge (uncertain, eph > 0), poor accuracy
(uncertain), no fix (no_fix after the profile's timeout), gpsd absent (no_fix), gpsd absent
with a surveyed position in the profile (source surveyed).
"""
import math
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402

FIXES = 400  # longer than any test here: gpsfake's loop never wraps during a test


def m_per_deg_lat(lat):
    """Length of one degree of latitude on WGS-84 (standard series, better than 1 cm)."""
    p = math.radians(lat)
    return 111132.954 - 559.822 * math.cos(2 * p) + 1.175 * math.cos(4 * p)


def at(lat, lon, eph):
    return {"segments": [{"at": [lat, lon], "fixes": FIXES, "eph_m": eph}]}


class SigninOneShot(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rollcall-signin-")
        self.wd = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def one_shot(self, scenario, fixes=True, **profile_over):
        """Starts gpsfake with scenario, inits a kiosk, signs in once; returns (result, json,
        kiosk, fixes). Without fixes in the log, waits only for gpsd to accept clients."""
        if fixes:
            fake = gpsd_harness.Gpsfake.from_scenario(scenario, self.wd)
        else:
            fake = ah.gpsfake_without_fixes(scenario, self.wd)
        with fake:
            k = ah.Kiosk(self.wd, fake.port, profile_over=profile_over)
            r, j = k.signin()
            return r, j, k, fake.fixes

    def check_stored(self, k, j):
        evs = k.events("signin")
        self.assertEqual(len(evs), 1)
        seq, ev = evs[0]
        self.assertEqual(ev["id"], j["event_id"])
        self.assertEqual(seq, j["seq"])
        self.assertEqual(ev["verdict"], j["verdict"])
        self.assertEqual(ev["fence"], ah.FENCE_ID)
        self.assertEqual(ev["trainee_masked"], "1101**********002X")
        for path in (k.db, k.db + "-wal"):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNotIn(ah.TRAINEE.encode(), f.read(), path)
        self.assertEqual(k.verify().code, 0)
        return ev

    def test_inside(self):
        r, j, k, fixes = self.one_shot(at(ah.CENTRE[0], ah.CENTRE[1], 5.0))
        self.assertEqual(r.code, 0, r)
        self.assertEqual(j["verdict"], "inside")
        # nearest edges: north and south, HALF_LAT away
        expect = -ah.HALF_LAT * m_per_deg_lat(ah.CENTRE[0])
        self.assertAlmostEqual(j["distance_m"], expect, delta=0.5)
        self.assertAlmostEqual(j["fix"]["lat"], ah.CENTRE[0], places=6)
        self.assertAlmostEqual(j["fix"]["lon"], ah.CENTRE[1], places=6)
        self.assertEqual(j["fix"]["source"], "gnss")
        self.assertAlmostEqual(j["fix"]["eph"], fixes[0]["eph"], delta=0.02)
        ev = self.check_stored(k, j)
        self.assertEqual(ev["fix"]["source"], "gnss")
        self.assertEqual(ev["session"], "S01")

    def test_outside(self):
        lat = ah.LAT_N + 0.0045
        r, j, k, _ = self.one_shot(at(lat, ah.CENTRE[1], 5.0))
        self.assertEqual(r.code, 0, r)
        self.assertEqual(j["verdict"], "outside")
        self.assertAlmostEqual(j["distance_m"], 0.0045 * m_per_deg_lat(lat), delta=1.0)
        self.check_stored(k, j)
        # the one-shot text form says it is flagged
        self.assertEqual(self.one_text(k), 0)

    def one_text(self, k):
        # without gpsd any more: no_fix, recorded and flagged
        r = k.run("signin", "--trainee", ah.TRAINEE2, "--class", "C1")
        self.assertIn("recorded, flagged for review", r.out)
        self.assertIn("NO position fix", r.out)
        return r.code

    def test_on_the_edge_is_uncertain(self):
        # (LAT_N, centre longitude) lies on the north edge, a parallel between two vertices
        r, j, k, _ = self.one_shot(at(ah.LAT_N, ah.CENTRE[1], 5.0))
        self.assertEqual(r.code, 0, r)
        self.assertEqual(j["verdict"], "uncertain")
        self.assertGreater(j["fix"]["eph"], 0)
        self.assertLess(abs(j["distance_m"]), 0.05)
        ev = self.check_stored(k, j)
        self.assertGreater(ev["fix"]["eph"], 0)

    def test_poor_accuracy_is_uncertain(self):
        # 50 m inside the north edge, but the receiver claims only 150 m accuracy
        lat = ah.LAT_N - 50.0 / m_per_deg_lat(ah.LAT_N)
        r, j, k, fixes = self.one_shot(at(lat, ah.CENTRE[1], 150.0))
        self.assertEqual(r.code, 0, r)
        self.assertEqual(j["verdict"], "uncertain")
        self.assertAlmostEqual(j["distance_m"], -50.0, delta=0.5)
        self.assertAlmostEqual(j["fix"]["eph"], fixes[0]["eph"], delta=0.1)
        self.assertGreater(j["fix"]["eph"], 100)
        self.check_stored(k, j)

    def test_no_fix(self):
        r, j, k, _ = self.one_shot({"segments": [{"nofix": True, "fixes": FIXES}]}, fixes=False)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(j["verdict"], "no_fix")
        self.assertIsNone(j["fix"])
        self.assertIsNone(j["distance_m"])
        self.assertIn("no GNSS fix", r.err)
        ev = self.check_stored(k, j)
        self.assertNotIn("fix", ev)
        self.assertNotIn("distance_m", ev)

    def test_gpsd_absent_is_recorded_as_no_fix(self):
        k = ah.Kiosk(self.wd, gpsd_harness.free_port())
        r, j = k.signin()
        self.assertEqual(r.code, 0, r)
        self.assertEqual(j["verdict"], "no_fix")
        self.assertIn("unreachable", r.err)
        self.check_stored(k, j)

    def test_surveyed_fallback_only_when_declared(self):
        lat, lon = ah.CENTRE[0] + 0.0001, ah.CENTRE[1]
        k = ah.Kiosk(self.wd, gpsd_harness.free_port(), profile_over={
            "surveyed": {"lat": lat, "lon": lon, "datum": "WGS-84", "eph_m": 3.0}})
        r, j = k.signin()
        self.assertEqual(r.code, 0, r)
        self.assertEqual(j["verdict"], "inside")
        self.assertEqual(j["fix"]["source"], "surveyed")
        self.assertAlmostEqual(j["fix"]["lat"], lat, places=8)
        self.assertAlmostEqual(j["fix"]["eph"], 3.0, places=2)
        ev = self.check_stored(k, j)
        self.assertEqual(ev["fix"]["source"], "surveyed")
        self.assertNotIn("time", ev["fix"])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
