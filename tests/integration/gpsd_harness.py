"""A real gpsd for integration tests: gpsd's own gpsfake replaying a generated NMEA log.

Usage from another test (stdlib only):

    sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
    sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
    import gpsd_harness, nmea_gen

    with gpsd_harness.Gpsfake.from_scenario(scenario, workdir) as fake:
        fake.fixes            # what the log says, fix by fix (nmea_gen.generate)
        fake.address          # "127.0.0.1:PORT" for `rollcall-agent gnss --gpsd`
        fake.restart()        # stop and start again on the same port

gpsfake runs in loop mode on a private port (never 2947), started as
`/usr/bin/python3 /usr/bin/gpsfake -q -c DELAY -P PORT LOG` in its own process group so that
stopping it also stops the gpsd it spawned. DELAY is chosen so that one fix takes about
`fix_interval` seconds (gpsfake's -c is per sentence, not per fix). In loop mode the log starts
over at its end: the wrap looks like a time jump backwards (and gpsd may date the first fix
after it a day ahead), so tests read fewer fixes than the log holds.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

GPSFAKE = ["/usr/bin/python3", "/usr/bin/gpsfake"]
READY_TIMEOUT_S = 60.0
START_ATTEMPTS = 3
STOP_TIMEOUT_S = 10.0

_TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
if _TOOLS not in sys.path:
    sys.path.insert(0, _TOOLS)
import nmea_gen  # noqa: E402  (tests/tools)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sentences_per_fix(log_path):
    """Sentences per RMC in an NMEA log (what gpsfake's per-sentence delay is divided by)."""
    total = rmc = 0
    with open(log_path, "rb") as f:
        for line in f:
            if line.startswith(b"$"):
                total += 1
                if line[3:6] == b"RMC":
                    rmc += 1
    return total / rmc if rmc else max(total, 1)


def watch_tpv(port, timeout=READY_TIMEOUT_S, want=1, host="127.0.0.1", need_time=False):
    """Connects to gpsd, enables the JSON watch and returns the first `want` TPVs (with
    need_time, only TPVs that carry a time: gpsd 3.22 sends none while the receiver has no
    fix); raises TimeoutError when they do not come within timeout seconds."""
    deadline = time.monotonic() + timeout
    got = []
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.sendall(b'?WATCH={"enable":true,"json":true};\n')
                buf = b""
                while time.monotonic() < deadline:
                    s.settimeout(max(0.1, min(2.0, deadline - time.monotonic())))
                    try:
                        chunk = s.recv(65536)
                    except socket.timeout:
                        continue
                    if not chunk:
                        break
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        try:
                            msg = json.loads(line)
                        except ValueError:
                            continue
                        if msg.get("class") == "TPV" and (msg.get("time") or not need_time):
                            got.append(msg)
                            if len(got) >= want:
                                return got
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("gpsd on port %d sent no TPV within %.0f s" % (port, timeout))


class Gpsfake:
    """One gpsfake (and its gpsd) replaying log_path in a loop on a private port."""

    def __init__(self, log_path, port=None, fix_interval=1.0, fixes=None):
        self.log_path = log_path
        self.port = port or free_port()
        self.fix_interval = fix_interval
        self.delay = fix_interval / sentences_per_fix(log_path)
        self.fixes = fixes
        self.proc = None
        self._errlog = None

    @classmethod
    def from_scenario(cls, scenario, workdir, name="track", start=None, **kw):
        """Generates workdir/NAME.nmea from a nmea_gen scenario and returns a started
        Gpsfake (already serving TPVs) whose .fixes lists the generated fixes."""
        path = os.path.join(workdir, name + ".nmea")
        fixes = nmea_gen.write_log(path, scenario, start)
        # Starting the fixture is retried (on a fresh port unless one was asked for): on a
        # loaded machine gpsfake occasionally never gets its gpsd to serve (seen once under
        # ASan with several gpsfakes starting at once). What the tests assert is not retried.
        for attempt in range(START_ATTEMPTS):
            fake = cls(path, fixes=fixes, **kw)
            try:
                fake.start()
                return fake
            except TimeoutError as e:
                if attempt + 1 == START_ATTEMPTS:
                    raise
                print("gpsd_harness: gpsfake start %d of %d failed, retrying: %s"
                      % (attempt + 1, START_ATTEMPTS, str(e)[:300]), file=sys.stderr)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self, wait=True, timeout=READY_TIMEOUT_S):
        """Starts gpsfake; with wait, returns once gpsd sends a TPV (else stops it and
        raises TimeoutError)."""
        if self.proc is not None:
            raise RuntimeError("gpsfake already running")
        env = dict(os.environ)
        env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin:" + env.get("PATH", "")
        self._errlog = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            GPSFAKE + ["-q", "-c", "%.4f" % self.delay, "-P", str(self.port), self.log_path],
            stdin=subprocess.DEVNULL, stdout=self._errlog, stderr=self._errlog,
            start_new_session=True, env=env)
        if wait:
            try:
                self.wait_ready(timeout)
            except Exception:
                out = self.output()
                self.stop()
                raise TimeoutError("gpsfake did not serve fixes on port %d; its output: %s"
                                   % (self.port, out.strip()[-2000:]))

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        """Waits until gpsd on our port sends a TPV with a time."""
        if self.proc.poll() is not None:
            raise RuntimeError("gpsfake exited with %s" % self.proc.returncode)
        return watch_tpv(self.port, timeout)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        """What gpsfake and gpsd wrote so far (for failure messages)."""
        if not self._errlog:
            return ""
        self._errlog.seek(0)
        return self._errlog.read().decode("utf-8", "replace")

    def _signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, hard=False):
        """Stops gpsfake and its gpsd: SIGTERM to the process group (SIGKILL with hard, or
        when SIGTERM is not enough). Safe to call twice."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        # The group may outlive its leader briefly (gpsd); make sure nothing keeps the port.
        self._signal_group(signal.SIGKILL)
        self.proc = None
        if self._errlog:
            self._errlog.close()
            self._errlog = None

    def restart(self, wait=True, timeout=READY_TIMEOUT_S, hard=False):
        """Stops and starts again on the same port (waits for the port to be free)."""
        self.stop(hard=hard)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", self.port))
                    break
                except OSError:
                    time.sleep(0.2)
        self.start(wait=wait, timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
