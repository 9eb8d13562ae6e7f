"""Full storage: a sign-in that cannot be stored is refused ("nothing recorded", exit 1 for
the CLI, {"ok":false} on the socket), and nothing already recorded is lost: every sign-in
answered "recorded" is still in the outbox and the chain verifies.

1. The size cap (profile storage.max_db_mb, smallest allowed: 16 MiB) with every stored
   event unacknowledged. Appending 16 MiB of real events one fsync at a time would take
   minutes, so a filler table written into the outbox file with Python's sqlite3 stands in
   for older unsent data: the cap counts every used page of the database.
2. A really full filesystem: the data directory on a 1 MiB tmpfs (needs root to mount;
   where mounting is not permitted this part reports so and only part 1 runs). After the
   refusal, space is freed and the next sign-in is recorded again.
"""
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402

MAX_SIGNINS = 20000


def stream_until_refused(k):
    """Sign-ins through the daemon until one is refused; returns (answered ids, refusal)."""
    answered = []
    for i in range(MAX_SIGNINS):
        r = k.control({"cmd": "signin", "trainee": (ah.TRAINEE, ah.TRAINEE2)[i % 2],
                       "class": "TJ-FULL"})
        if not r["ok"]:
            return answered, r
        answered.append(r["result"]["event_id"])
    raise AssertionError("no refusal after %d sign-ins" % MAX_SIGNINS)


def stored_ids(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return [r[0] for r in con.execute("SELECT id FROM events ORDER BY seq")]
    finally:
        con.close()


class FullStorage(unittest.TestCase):
    def check_refusal(self, k, answered, refusal, why):
        self.assertIn("nothing recorded", refusal["error"])
        self.assertIn(why, refusal["error"])
        ids = stored_ids(k.db)
        for eid in answered:
            self.assertIn(eid, ids)
        self.assertEqual(len(set(ids)), len(ids))
        v = k.verify()
        self.assertEqual(v.code, 0, v)
        # the CLI says so too, exit 1, and still nothing is half-written. On a full filesystem
        # a refusal may be followed by room for a few more events (a checkpoint that completes
        # lets the WAL start over; whether it does depends on the database's page layout), so
        # sign in until the CLI is refused: every sign-in it answers "recorded" must be kept.
        head = len(ids)
        for _ in range(50):
            r = k.run("signin", "--trainee", ah.TRAINEE, "--class", "TJ-FULL", "--json")
            if r.code != 0:
                break
            answered.append(r.json()["event_id"])
            head += 1
        self.assertEqual(r.code, 1, r)
        self.assertIn("nothing recorded", r.err)
        self.assertEqual(len(stored_ids(k.db)), head)
        # a recording's file: exit 3, "not recorded for now" (the daemon's recording watch
        # keeps such a file and tries again later)
        fd, clip = tempfile.mkstemp(suffix=".mp4")  # not on the full filesystem
        self.addCleanup(os.unlink, clip)
        with os.fdopen(fd, "wb") as f:
            f.write(b"x" * 1000)
        r = k.run("record", "add", "--camera", "front", "--file", clip,
                  "--start", "2026-11-02T09:00:00+08:00", "--end", "2026-11-02T09:45:00+08:00")
        self.assertEqual(r.code, 3, r)
        self.assertIn("full", r.err)
        self.assertEqual(len(stored_ids(k.db)), head)
        self.assertEqual(k.verify().code, 0)

    def test_size_cap_refuses_and_keeps_everything(self):
        with tempfile.TemporaryDirectory(prefix="rollcall-full-") as wd:
            k = ah.Kiosk(wd, gpsd_harness.free_port(), profile_over={
                "storage": {"max_db_mb": 16}, "gnss": {"fix_timeout_s": 1}})
            con = sqlite3.connect(k.db)
            con.execute("CREATE TABLE filler (b BLOB)")
            for _ in range(63):
                con.execute("INSERT INTO filler VALUES (zeroblob(256 * 1024))")
            con.commit()
            con.close()
            with k:
                k.start_daemon()
                answered, refusal = stream_until_refused(k)
                self.assertGreater(len(answered), 0)
                self.check_refusal(k, answered, refusal, "outbox full")
                st = k.status()
                self.assertEqual(st["queue"], len(stored_ids(k.db)))
                self.assertEqual(k.stop_daemon(), 0)

    def test_full_filesystem(self):
        if os.geteuid() != 0:
            print("full filesystem part not run: mounting a tmpfs needs root; the size-cap "
                  "test covers the refusal", file=sys.stderr)
            return
        with tempfile.TemporaryDirectory(prefix="rollcall-fullfs-") as wd:
            data = os.path.join(wd, "kiosk", "data")
            os.makedirs(data)
            m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", data],
                               capture_output=True, text=True)
            if m.returncode != 0:
                print("full filesystem part not run: mount refused (%s)" % m.stderr.strip(),
                      file=sys.stderr)
                return
            try:
                k = ah.Kiosk(wd, gpsd_harness.free_port(), profile_over={
                    "gnss": {"fix_timeout_s": 1}})
                spacer = os.path.join(data, "spacer")
                with open(spacer, "wb") as f:
                    f.write(b"\0" * 200 * 1024)
                with k:
                    k.start_daemon()
                    answered, refusal = stream_until_refused(k)
                    self.assertGreater(len(answered), 0)
                    self.check_refusal(k, answered, refusal, "full")
                    os.unlink(spacer)
                    r = k.control({"cmd": "signin", "trainee": ah.TRAINEE, "class": "TJ-FULL"})
                    self.assertTrue(r["ok"], r)
                    self.assertEqual(k.stop_daemon(), 0)
                ids = stored_ids(k.db)
                self.assertIn(r["result"]["event_id"], ids)
                for eid in answered:
                    self.assertIn(eid, ids)
                self.assertEqual(k.verify().code, 0)
            finally:
                subprocess.run(["umount", "-l", data], capture_output=True)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
