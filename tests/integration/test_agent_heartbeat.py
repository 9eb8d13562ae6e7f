"""rollcall-agent heartbeat: one heartbeat event now, as the daemon writes one each interval
(for a kiosk run without the daemon, and the demo's staged day), read back with Python's
sqlite3; refusals leave the outbox as it was."""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402


class Heartbeat(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rollcall-hb-")
        # no gpsd at this port: the heartbeat reads no fix, so it does not wait for one
        self.k = ah.Kiosk(self.tmp.name, gpsd_harness.free_port(),
                          profile_over={"gnss": {"fix_timeout_s": 30}})

    def tearDown(self):
        self.tmp.cleanup()

    def test_records_one_heartbeat(self):
        before = len(self.k.events())
        r = self.k.run("heartbeat", "--json", timeout=20)
        self.assertEqual(r.code, 0, r)
        out = r.json()
        beats = self.k.events("heartbeat")
        self.assertEqual(len(beats), 1)
        seq, ev = beats[0]
        self.assertEqual(out["seq"], seq)
        self.assertEqual(ev["queue"], before)
        self.assertEqual(out["queue"], before)
        self.assertEqual(ev["device"], "KIOSK-T1")
        self.assertNotIn("fix", ev)
        r = self.k.run("heartbeat")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out.strip(), "heartbeat #%d recorded" % (seq + 1))
        self.assertEqual(len(self.k.events("heartbeat")), 2)
        self.assertEqual(self.k.verify().code, 0)

    def test_refusals(self):
        before = self.k.events()
        r = self.k.run("heartbeat", "now")
        self.assertEqual(r.code, 2, r)
        r = self.k.run("heartbeat", "--bogus")
        self.assertEqual(r.code, 2, r)
        r = self.k.run("--config", os.path.join(self.tmp.name, "missing.json"), "heartbeat",
                       config=False)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r)
        self.assertEqual(self.k.events(), before)


if __name__ == "__main__":
    unittest.main()
