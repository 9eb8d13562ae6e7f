"""Crash safety: the daemon is killed with SIGKILL at random moments while a client streams
sign-ins through its control socket, round after round. After every round, read
independently with Python's sqlite3:

- every sign-in that was answered "recorded" is in the outbox, exactly once, under the
  event id and seq it was answered with;
- no event is duplicated: ids are unique, seqs run 1..head without a gap, and there are no
  more sign-ins than requests sent;
- `rollcall-agent verify` passes (the hash chain is intact end to end).
A restarted daemon takes over the socket the killed one left behind.
"""
import json
import os
import random
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402

ROUNDS = 8
SEED = int(os.environ.get("ROLLCALL_CRASH_SEED", "20261127"))


class Streamer(threading.Thread):
    """Sends sign-ins one after another until the daemon stops answering."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.sent = 0
        self.answered = []  # (event_id, seq)
        self.refused = []

    def run(self):
        trainees = (ah.TRAINEE, ah.TRAINEE2)
        while True:
            req = {"cmd": "signin", "trainee": trainees[self.sent % 2], "class": "TJ-CRASH",
                   "session": "S%02d" % (self.sent % 7)}
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(30)
                    s.connect(self.path)
                    self.sent += 1
                    s.sendall(json.dumps(req).encode() + b"\n")
                    buf = b""
                    while not buf.endswith(b"\n"):
                        chunk = s.recv(4096)
                        if not chunk:
                            return  # killed before answering: not counted as recorded
                        buf += chunk
            except OSError:
                return
            ans = json.loads(buf)
            if ans.get("ok"):
                self.answered.append((ans["result"]["event_id"], ans["result"]["seq"]))
            else:
                self.refused.append(ans)


class CrashSafety(unittest.TestCase):
    def test_sigkill_during_signins(self):
        rng = random.Random(SEED)
        scenario = {"segments": [{"at": list(ah.CENTRE), "fixes": 900, "jitter_m": 0.5}]}
        with tempfile.TemporaryDirectory(prefix="rollcall-crash-") as wd, \
                gpsd_harness.Gpsfake.from_scenario(scenario, wd) as fake:
            k = ah.Kiosk(wd, fake.port)
            answered = {}
            sent = 0
            for rnd in range(ROUNDS):
                k.start_daemon()
                st = Streamer(k.socket)
                st.start()
                time.sleep(rng.uniform(0.05, 1.5))
                k.daemon.send_signal(signal.SIGKILL)
                self.assertEqual(k.stop_daemon(), -signal.SIGKILL)
                st.join(60)
                self.assertFalse(st.is_alive())
                self.assertEqual(st.refused, [])
                sent += st.sent
                for eid, seq in st.answered:
                    self.assertNotIn(eid, answered)
                    answered[eid] = seq

                con = sqlite3.connect(k.db, timeout=30)
                try:
                    rows = con.execute("SELECT seq, id, type, line FROM events ORDER BY seq")
                    rows = rows.fetchall()
                    head = con.execute("SELECT head_seq FROM chain").fetchone()[0]
                finally:
                    con.close()
                seqs = [r[0] for r in rows]
                ids = [r[1] for r in rows]
                self.assertEqual(seqs, list(range(1, len(rows) + 1)), "round %d" % rnd)
                self.assertEqual(head, len(rows))
                self.assertEqual(len(set(ids)), len(ids), "duplicated event id")
                by_id = {r[1]: r for r in rows}
                for eid, seq in answered.items():
                    self.assertIn(eid, by_id, "answered recorded but missing (round %d)" % rnd)
                    self.assertEqual(by_id[eid][0], seq)
                    self.assertEqual(json.loads(bytes(by_id[eid][3]))["id"], eid)
                signins = sum(1 for r in rows if r[2] == "signin")
                self.assertLessEqual(signins, sent)
                self.assertGreaterEqual(signins, len(answered))
                v = k.verify()
                self.assertEqual(v.code, 0, "round %d: %s" % (rnd, v))
            # the rounds did exercise the path
            self.assertGreater(len(answered), ROUNDS)
            print("crash test: %d rounds, %d sign-ins sent, %d answered recorded, all present"
                  % (ROUNDS, sent, len(answered)), file=sys.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
