#!/usr/bin/python3
# labels: systemd collector
"""sd_notify for real, as systemd would see it: `rollcall-server serve` and `rollcall-agent run`
(rollcall-agentd) started with NOTIFY_SOCKET naming a Unix datagram socket made here. READY=1
arrives once the port (the control socket) answers, WATCHDOG=1 arrives while WATCHDOG_USEC is
set for this very pid (not when WATCHDOG_PID names another), STOPPING=1 on SIGTERM. With
JOURNAL_STREAM naming stderr's device and inode, log lines start with their syslog priority
("<6>" info, "<4>" warning, "<3>" error); with it unset or naming another stream, they are
plain. No timing assertions: every wait is a generous upper bound."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402

SERVER = os.environ.get("ROLLCALL_SERVER", "build/rel/rollcall-server")
WAIT = 30  # upper bound for anything that should happen "soon"


class Notify:
    """The manager's end: a bound AF_UNIX SOCK_DGRAM socket; a thread collects datagrams."""

    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.cond = threading.Condition()
        self.done = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cond:
                self.msgs.append(data.decode())
                self.cond.notify_all()

    def wait_for(self, field, count=1, timeout=WAIT):
        """Waits until count datagrams carry the line field (e.g. "READY=1"); returns whether."""
        with self.cond:
            return self.cond.wait_for(lambda: self.count(field) >= count, timeout)

    def count(self, field):
        return sum(1 for m in self.msgs if field in m.split("\n"))

    def fields(self):
        with self.cond:
            return [f for m in self.msgs for f in m.split("\n")]

    def close(self):
        self.done = True
        self.sock.close()


class Stderr:
    """A pipe for the program's stderr whose (device, inode) can be named in JOURNAL_STREAM."""

    def __init__(self):
        self.r, self.w = os.pipe()
        st = os.fstat(self.w)
        self.journal_stream = "%d:%d" % (st.st_dev, st.st_ino)
        self.lines = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        with os.fdopen(self.r, "r", errors="replace") as f:
            for line in f:
                with self.lock:
                    self.lines.append(line.rstrip("\n"))

    def after_spawn(self):
        os.close(self.w)  # the child holds its copy; EOF when it exits

    def text(self):
        with self.lock:
            return "\n".join(self.lines)


def migrate(d):
    db = "sqlite:" + os.path.join(d, "s.db")
    r = subprocess.run([SERVER, "--db", db, "migrate"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return db


def start_server(db, env, err, watchdog_pid_self=True):
    """Runs serve through `sh -c 'exec ...'` so WATCHDOG_PID can name the server's own pid."""
    argv = [SERVER, "--db", db, "--log-level", "info", "serve", "--listen", "127.0.0.1:0",
            "--plain-http"]
    script = ('WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"' if watchdog_pid_self
              else 'exec "$@"')
    p = subprocess.Popen(["/bin/sh", "-c", script, "sh", *argv], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err.w, env=env)
    err.after_spawn()
    return p


def port_of(err):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", err.text())
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    return None


def base_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")}
    env.update(extra)
    return env


class Collector(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rollcall-notify-")
        self.d = self.tmp.name
        self.db = migrate(self.d)
        self.n = Notify(self.d)
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.n.close()
        self.tmp.cleanup()

    def test_ready_watchdog_stopping_and_priorities(self):
        err = Stderr()
        env = base_env(NOTIFY_SOCKET=self.n.path, WATCHDOG_USEC="1000000",
                       JOURNAL_STREAM=err.journal_stream)
        self.proc = start_server(self.db, env, err)
        self.assertTrue(self.n.wait_for("READY=1"), self.n.fields())
        # READY=1 is sent after the port listens: it answers now, and the log already says so.
        port = port_of(err)
        self.assertIsNotNone(port, err.text())
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT):
            pass
        self.assertIn("STATUS=listening on port %d" % port, self.n.fields())
        self.assertTrue(self.n.wait_for("WATCHDOG=1", count=3), self.n.fields())
        self.assertEqual(self.n.count("STOPPING=1"), 0)
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(WAIT), 0, err.text())
        self.assertTrue(self.n.wait_for("STOPPING=1"), self.n.fields())
        self.assertEqual(self.n.count("READY=1"), 1)
        err.t.join(WAIT)
        lines = err.text().splitlines()
        self.assertTrue(lines, "no log lines")
        self.assertTrue(any(re.match(r"<6>rollcall-server: info: listening on ", ln)
                            for ln in lines), lines)
        self.assertTrue(all(re.match(r"<[3467]>rollcall-server: ", ln) for ln in lines), lines)

    def test_watchdog_for_another_pid_is_not_pinged(self):
        # WATCHDOG_PID names the shell's parent here, not the server: systemd meant it for
        # another process, so the server must not ping (and must still say READY and STOPPING).
        err = Stderr()
        env = base_env(NOTIFY_SOCKET=self.n.path, WATCHDOG_USEC="200000",
                       WATCHDOG_PID=str(os.getpid()))
        self.proc = start_server(self.db, env, err, watchdog_pid_self=False)
        self.assertTrue(self.n.wait_for("READY=1"), self.n.fields())
        self.assertIsNotNone(port_of(err), err.text())
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(WAIT), 0, err.text())
        self.assertTrue(self.n.wait_for("STOPPING=1"), self.n.fields())
        # Only datagrams sent before STOPPING=1 matter; after it the process is gone.
        self.assertEqual(self.n.count("WATCHDOG=1"), 0, self.n.fields())

    def test_plain_logs_without_the_journal(self):
        # Without NOTIFY_SOCKET the server runs as before; JOURNAL_STREAM naming another
        # stream (inherited by a child whose stderr was redirected) leaves lines plain.
        err = Stderr()
        self.proc = start_server(self.db, base_env(JOURNAL_STREAM="1:1"), err)
        port = port_of(err)
        self.assertIsNotNone(port, err.text())
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(WAIT), 0, err.text())
        err.t.join(WAIT)
        lines = err.text().splitlines()
        self.assertTrue(any(ln.startswith("rollcall-server: info: listening on ")
                            for ln in lines), lines)
        self.assertFalse([ln for ln in lines if ln.startswith("<")], lines)
        self.assertEqual(self.n.fields(), [])


class KioskDaemon(unittest.TestCase):
    def test_ready_watchdog_stopping_and_priorities(self):
        with tempfile.TemporaryDirectory(prefix="rollcall-notify-") as wd:
            n = Notify(wd)
            scenario = {"segments": [{"at": list(ah.CENTRE), "fixes": 600, "jitter_m": 0.5}]}
            try:
                with gpsd_harness.Gpsfake.from_scenario(scenario, wd) as fake:
                    k = ah.Kiosk(wd, fake.port)
                    with k:
                        err = Stderr()
                        env = base_env(NOTIFY_SOCKET=n.path, WATCHDOG_USEC="1000000",
                                       JOURNAL_STREAM=err.journal_stream)
                        env.pop("ROLLCALL_AGENT_CONFIG", None)
                        # `run` execs rollcall-agentd in the same pid, as under the unit.
                        p = subprocess.Popen(
                            ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"',
                             "sh", ah.AGENT, "--config", k.config, "run"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err.w,
                            env=env)
                        err.after_spawn()
                        try:
                            self.assertTrue(n.wait_for("READY=1"), (n.fields(), err.text()))
                            # READY=1 comes once the control socket listens.
                            self.assertTrue(k.control({"cmd": "status"}, timeout=WAIT)["ok"])
                            self.assertIn("STATUS=kiosk %s running" % k.device_id, n.fields())
                            self.assertTrue(n.wait_for("WATCHDOG=1", count=3), n.fields())
                            self.assertEqual(n.count("STOPPING=1"), 0)
                            p.send_signal(signal.SIGTERM)
                            self.assertEqual(p.wait(WAIT), 0, err.text())
                        finally:
                            if p.poll() is None:
                                p.kill()
                                p.wait()
                        self.assertTrue(n.wait_for("STOPPING=1"), n.fields())
                        self.assertEqual(n.count("READY=1"), 1)
                        err.t.join(WAIT)
                        lines = err.text().splitlines()
                        self.assertTrue(any(re.match(r"<6>rollcall-agentd: info: kiosk ", ln)
                                            for ln in lines), lines)
                        self.assertFalse([ln for ln in lines
                                          if ln.startswith("rollcall-agentd: ")], lines)
            finally:
                n.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
