"""A kiosk for integration tests: a test fence, a firmware profile pointing at a test gpsd,
`rollcall-agent init`, and helpers to run commands, start the daemon and talk to its control
socket (stdlib only).

    import agent_harness as ah
    with ah.Kiosk(workdir, gpsd_port=fake.port) as k:
        k.run("signin", "--trainee", ah.TRAINEE, "--class", "C1", "--json")
        k.start_daemon(); k.control({"cmd": "status"})

The test fence is a WGS-84 square of about 200 m x 200 m around a point in Tianjin, written
by the test itself, so edge positions can be computed exactly: its edges are straight lines in
longitude/latitude (RFC 7946), and the north edge is the parallel LAT_N between LON_W and
LON_E, so (LAT_N, any longitude between) lies on the boundary.
"""

import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import time

AGENT = os.environ.get("ROLLCALL_AGENT", "rollcall-agent")
SRC = os.environ.get("ROLLCALL_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# The square fence (WGS-84): centre and half-sizes of about 100 m.
CENTRE = (39.0875, 117.2214)
HALF_LAT = 0.0009   # 100.2 m
HALF_LON = 0.00116  # 100.3 m at 39 degrees
LAT_S, LAT_N = CENTRE[0] - HALF_LAT, CENTRE[0] + HALF_LAT
LON_W, LON_E = CENTRE[1] - HALF_LON, CENTRE[1] + HALF_LON
FENCE_ID = "test-square"

# Valid resident ID numbers (GB 11643 check characters): the standard's example and another.
TRAINEE = "11010519491231002X"
TRAINEE2 = "120103199001011231"
INST_KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

CMD_TIMEOUT_S = 120
DAEMON_READY_S = 60


def fence_geojson():
    ring = [[LON_W, LAT_S], [LON_E, LAT_S], [LON_E, LAT_N], [LON_W, LAT_N], [LON_W, LAT_S]]
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"id": FENCE_ID, "name": "integration test square", "datum": "WGS-84"},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]}


def profile(gpsd_port, **over):
    """A firmware profile for tests: short timeouts; `over` replaces top-level sections or
    keys inside them (gnss={...} merges)."""
    p = {
        "model": "test-kiosk",
        "description": "integration test kiosk",
        "gnss": {"source": "gpsd", "gpsd_host": "127.0.0.1", "gpsd_port": gpsd_port,
                 "fix_timeout_s": 4, "stale_after_s": 5, "assumed_eph_m": 25.0,
                 "no_fix_alert_s": 300, "frozen_after_s": 120, "max_speed_mps": 50,
                 "max_time_skew_s": 5},
        "storage": {"max_db_mb": 64},
        "sync": {"interval_s": 3600},
        "heartbeat": {"interval_s": 3600},
    }
    for key, val in over.items():
        if isinstance(val, dict) and isinstance(p.get(key), dict):
            p[key].update(val)
        elif val is None:
            p.pop(key, None)
        else:
            p[key] = val
    return p


def wait_port(port, timeout=60):
    """Waits until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("nothing listens on port %d" % port)


def gpsfake_without_fixes(scenario, workdir, name="nofix"):
    """A started gpsfake whose log has no fix at all (gpsd then sends no TPV with a time, so
    gpsd_harness's readiness check cannot be used): waits for gpsd to accept clients and for
    a few sentences to have been replayed."""
    import gpsd_harness
    import nmea_gen
    path = os.path.join(workdir, name + ".nmea")
    fixes = nmea_gen.write_log(path, scenario)
    fake = gpsd_harness.Gpsfake(path, fixes=fixes)
    fake.start(wait=False)
    wait_port(fake.port)
    time.sleep(2)
    return fake


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "exit %s\nstdout: %s\nstderr: %s" % (self.code, self.out, self.err)


class Kiosk:
    """One initialised kiosk in workdir/NAME (config, data dir, fence, profile)."""

    def __init__(self, workdir, gpsd_port, name="kiosk", init=True, profile_over=None,
                 device_id="KIOSK-T1"):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "etc", "agent.json")
        self.data = os.path.join(self.dir, "data")
        self.fence_path = os.path.join(self.dir, "fence.geojson")
        self.profile_path = os.path.join(self.dir, "profile.json")
        self.key_path = os.path.join(self.dir, "inst.key")
        self.device_id = device_id
        self.daemon = None
        self._daemon_err = None
        write_json(self.fence_path, fence_geojson())
        write_json(self.profile_path, profile(gpsd_port, **(profile_over or {})))
        with open(self.key_path, "w") as f:
            f.write(INST_KEY_HEX + "\n")
        os.chmod(self.key_path, 0o600)
        if init:
            r = self.init()
            assert r.code == 0, r

    @property
    def db(self):
        return os.path.join(self.data, "outbox.db")

    @property
    def socket(self):
        return os.path.join(self.data, "control.sock")

    def init(self, *extra):
        return self.run("init", "--profile", self.profile_path, "--fence", self.fence_path,
                        "--device-id", self.device_id, "--institution", "INST-0001",
                        "--server", "https://collector.example", "--dir", self.data,
                        "--institution-key", self.key_path, *extra)

    def run(self, *args, timeout=CMD_TIMEOUT_S, config=True):
        argv = [AGENT] + (["--config", self.config] if config else []) + list(args)
        env = dict(os.environ)
        env.pop("ROLLCALL_AGENT_CONFIG", None)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        return Result(p)

    def signin(self, trainee=TRAINEE, klass="TJ-2026-AI-0001", session="S01", cmd="signin"):
        """Runs signin --json; returns (Result, parsed JSON or None)."""
        args = [cmd, "--trainee", trainee, "--class", klass, "--json"]
        if session:
            args += ["--session", session]
        r = self.run(*args)
        return r, (r.json() if r.code == 0 else None)

    # ---- the daemon

    def start_daemon(self, wait=True):
        env = dict(os.environ)
        env.pop("ROLLCALL_AGENT_CONFIG", None)
        self._daemon_err = open(os.path.join(self.dir, "daemon.log"), "ab")
        self.daemon = subprocess.Popen([AGENT, "--config", self.config, "--log-level", "debug",
                                        "run"], stdin=subprocess.DEVNULL,
                                       stdout=self._daemon_err, stderr=self._daemon_err, env=env)
        if wait:
            self.wait_daemon()
        return self.daemon

    def wait_daemon(self, timeout=DAEMON_READY_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("daemon exited with %s: %s"
                                   % (self.daemon.returncode, self.daemon_log()))
            try:
                if self.control({"cmd": "status"}, timeout=5).get("ok"):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError("daemon did not answer on %s: %s" % (self.socket, self.daemon_log()))

    def daemon_log(self):
        try:
            with open(os.path.join(self.dir, "daemon.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop_daemon(self, sig=signal.SIGTERM, timeout=30):
        if not self.daemon:
            return None
        if self.daemon.poll() is None:
            self.daemon.send_signal(sig)
        try:
            code = self.daemon.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            code = self.daemon.wait()
        self.daemon = None
        if self._daemon_err:
            self._daemon_err.close()
            self._daemon_err = None
        return code

    def control(self, request, timeout=30):
        """Sends one JSON request line to the daemon; returns the parsed reply."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.socket)
            s.sendall(json.dumps(request).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf)

    def status(self):
        r = self.control({"cmd": "status"})
        assert r.get("ok"), r
        return r["status"]

    def wait_gnss(self, states=("fresh",), timeout=60):
        """Waits until the daemon's GNSS state is one of states; returns the status."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.status()
            if st["gnss"]["state"] in states:
                return st
            time.sleep(0.2)
        raise TimeoutError("GNSS state stayed %s: %s" % (st and st["gnss"], self.daemon_log()))

    # ---- the outbox, read independently with Python's sqlite3

    def events(self, type_=None):
        """Every stored event as (seq, parsed JSON), in seq order (read-only)."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=30)
        try:
            rows = con.execute("SELECT seq, line FROM events ORDER BY seq").fetchall()
        finally:
            con.close()
        out = [(seq, json.loads(bytes(line))) for seq, line in rows]
        if type_:
            out = [e for e in out if e[1]["type"] == type_]
        return out

    def wait_event(self, pred, timeout=60, what="event"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, ev in self.events():
                if pred(ev):
                    return ev
            time.sleep(0.25)
        raise TimeoutError("no %s within %d s; events: %s\n%s"
                           % (what, timeout, [e for _, e in self.events()][-10:],
                              self.daemon_log()))

    def verify(self):
        return self.run("verify", "--json")

    def close(self):
        self.stop_daemon()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)
