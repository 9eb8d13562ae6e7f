#!/usr/bin/python3
"""A kiosk whose disk fills recovers by itself once the collector acknowledges.

End to end, with a real collector (rollcall-server serve over HTTPS on loopback) and the
real agent daemon (its periodic `sync` children), the kiosk's data directory on a 2 MiB
tmpfs (the test mounts it, so it needs root: without root, or if the mount is refused,
it fails; it never passes without running):

1. the collector is down; sign-ins through the daemon until the disk is full and one is
   refused ("nothing recorded");
2. `status` (the daemon's, and `status` / `status --json` on the command line) says plainly
   that storage is full and since when, Chinese first;
3. the collector comes back; with no hand on the kiosk the daemon's sync uploads, records the
   acknowledgement (the reserve makes room for it), prunes what was acknowledged, and
   sign-ins are answered "recorded" again; `status` no longer says full;
4. nothing answered is lost: every sign-in the agent answered as recorded reaches the
   collector exactly once, the collector's chain is seq 1..N with each prev the SHA-256 of
   the previous line, and the bytes of the events the kiosk still stores match the
   collector's.
5. Another file fills the disk while every stored event is acknowledged: the next sign-in
   prunes them (spending the reserve, refilled at once) and is recorded, no sync needed.
Standard library only.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pipe_harness as ph  # noqa: E402

for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

MAX_SIGNINS = 20000
RECOVER_S = int(os.environ.get("RECOVER_S", "180"))
AFTER = 30  # sign-ins after the recovery


class Signer:
    """Sign-ins through the daemon's control socket; keeps the ids answered "recorded"."""

    def __init__(self, k):
        self.k = k
        self.i = 0
        self.answered = []

    def one(self):
        r = self.k.control({"cmd": "signin", "trainee": ph.id_number(self.i),
                            "class": "TJ-2026-AI-0001", "session": "S01"})
        self.i += 1
        if r["ok"]:
            self.answered.append(r["result"]["event_id"])
        return r


def wait_for(pred, timeout, what, k):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError("%s not within %d s\n%s" % (what, timeout, k.daemon_log()))


@contextmanager
def small_disk(tc, kiosk):
    """A work directory, a running collector and the kiosk's data directory on a 2 MiB tmpfs;
    yields (wd, col, pki, data). Fails the test (never skips it) when the tmpfs cannot be
    mounted."""
    if os.geteuid() != 0:
        tc.fail("the full-disk test mounts a tmpfs and so must run as root (the test command does)")
    with tempfile.TemporaryDirectory(prefix="rollcall-diskfull-") as wd:
        data = os.path.join(wd, kiosk, "data")
        os.makedirs(data)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", data],
                           capture_output=True, text=True)
        if m.returncode != 0:
            tc.fail("mounting a 2 MiB tmpfs refused: %s" % m.stderr.strip())
        pki = ph.make_pki(wd)
        col = ph.Collector(wd, pki)
        try:
            col.start()
            yield wd, col, pki, data
        finally:
            col.stop()
            subprocess.run(["umount", "-l", data], capture_output=True)


class DiskFull(unittest.TestCase):
    def test_full_disk_recovers_without_a_hand(self):
        with small_disk(self, "kiosk-disk") as (wd, col, pki, _):
            self.scenario(wd, col, pki)

    def scenario(self, wd, col, pki):
        k = ph.PipeKiosk(wd, col.url, pki["ca"], "KIOSK-DISK", name="kiosk-disk",
                         interval_s=5, backoff_cap_ms=1000)
        k.enroll(col.token("enroll", "enroll-disk"))
        col.stop()  # offline while the disk fills
        s = Signer(k)
        with k:
            k.start_daemon()
            # 1. fill the disk: until sign-ins are refused several times in a row (a refusal
            # may first empty the WAL and make room for a few more)
            refusal, refused = None, 0
            for _ in range(MAX_SIGNINS):
                r = s.one()
                refused = 0 if r["ok"] else refused + 1
                if refused:
                    refusal = r
                if refused == 5:
                    break
            self.assertEqual(refused, 5, "no lasting refusal")
            self.assertGreater(len(s.answered), 20)
            self.assertIn("nothing recorded", refusal["error"])
            # 2. status says so, and since when
            st = k.status()
            self.assertTrue(st["storage"]["full"], st["storage"])
            since = st["storage"]["full_since"]
            self.assertRegex(since or "", r"^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d")
            self.assertGreater(st["queue"], 0)
            r = k.run("status", "--json")
            self.assertEqual(r.code, 0, r)
            self.assertTrue(r.json()["storage"]["full"])
            self.assertEqual(r.json()["storage"]["full_since"], since)
            r = k.run("status")
            self.assertEqual(r.code, 0, r)
            first = r.out.splitlines()[0]
            self.assertIn("存储已满", first)
            self.assertIn("storage full", first)
            self.assertLess(first.index("存储已满"), first.index("storage full"))
            self.assertIn(since, first)
            # still refused while the collector is away (nothing half-written)
            self.assertFalse(s.one()["ok"])
            self.assertTrue(k.status()["storage"]["full"])
            # 3. the collector comes back: no hand on the kiosk from here
            col.start()
            wait_for(lambda: s.one()["ok"], RECOVER_S, "a sign-in recorded again", k)
            for _ in range(AFTER):
                r = s.one()
                self.assertTrue(r["ok"], r)
            wait_for(lambda: k.status()["queue"] == 0, RECOVER_S, "everything acknowledged", k)
            st = k.status()
            self.assertFalse(st["storage"]["full"], st["storage"])
            self.assertIsNone(st["storage"]["full_since"])
            self.assertNotIn("存储已满", k.run("status").out)
            self.assertEqual(k.stop_daemon(), 0)
        # 4. nothing answered is lost
        self.assertEqual(k.verify().code, 0, k.verify())
        rows = col.rows(k.device_id)
        head, ack = k.chain()
        self.assertEqual(ack, head)
        self.assertEqual([r[0] for r in rows], list(range(1, head + 1)))
        prev = ph.ZEROS
        ids = []
        local = k.lines()
        for seq, raw, h, p, event_id, _type, _verdict in rows:
            raw = bytes(raw)
            self.assertEqual(hashlib.sha256(raw).hexdigest(), h)
            self.assertEqual(p, prev)
            self.assertEqual(json.loads(raw)["prev"], prev)
            if seq in local:
                self.assertEqual(local[seq], raw)
            prev = h
            ids.append(event_id)
        self.assertEqual(len(ids), len(set(ids)))
        server_ids = set(ids)
        for eid in s.answered:
            self.assertIn(eid, server_ids)
        # the acknowledged events were pruned to make room (the kiosk keeps fewer than it sent)
        self.assertLess(len(local), head)

    def test_acknowledged_events_make_room_at_once(self):
        """The disk fills (another file grows) while every stored event is acknowledged: the
        next sign-in prunes them and is recorded, with no sync needed."""
        with small_disk(self, "kiosk-acked") as (wd, col, pki, data):
            k = ph.PipeKiosk(wd, col.url, pki["ca"], "KIOSK-ACKED", name="kiosk-acked")
            k.enroll(col.token("enroll", "enroll-acked"))
            k.signins(300)
            r = k.run("sync", "--json", "--timeout", "120", timeout=150)
            self.assertEqual(r.code, 0, r)
            self.assertEqual(r.json()["pending"], 0)
            before = len(k.lines())
            # something else fills the disk to the last byte
            fd = os.open(os.path.join(data, "spacer"), os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"\0" * 4096) > 0:
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            k.signins(5)  # asserts each one is recorded
            self.assertLess(len(k.lines()), before)
            self.assertEqual(k.verify().code, 0)
            r = k.run("status", "--json")
            self.assertFalse(r.json()["storage"]["full"], r)
            r = k.run("sync", "--json", "--timeout", "120", timeout=150)
            self.assertEqual(r.code, 0, r)
            rows = col.rows(k.device_id)
            self.assertEqual([x[0] for x in rows], list(range(1, 306)))
            local = k.lines()
            for seq, raw, *_ in rows:
                if seq in local:
                    self.assertEqual(local[seq], bytes(raw))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
