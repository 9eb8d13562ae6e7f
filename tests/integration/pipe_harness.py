"""The kiosk-to-collector pipe for integration tests and the pipe benchmark (stdlib only):
a test CA and server certificate made with the openssl CLI, a migrated collector database,
`rollcall-server serve` over HTTPS on loopback (restartable on the same port), enrolment
tokens, kiosks initialised against it with a surveyed position (gnss.source none) inside the
test fence, valid resident ID numbers, and the exactly-once + chain checks on both sides.

    import pipe_harness as ph
    pki = ph.make_pki(workdir)
    col = ph.Collector(workdir, pki); col.start()
    k = ph.PipeKiosk(workdir, col, "KIOSK-A"); k.enroll()
    k.signins(20); k.run("sync", "--json")
    ph.check_exactly_once(k, col)    # raises AssertionError with the reason
"""

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

import agent_harness as ah  # noqa: E402

SERVER = os.environ.get("ROLLCALL_SERVER", "rollcall-server")
AGENT = ah.AGENT
WAIT_S = 60
ZEROS = "0" * 64


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """A test CA and a server certificate for 127.0.0.1 / localhost (ECDSA P-256); returns
    {"ca", "cert", "key", "pin"} paths and the server key's hex SHA-256 (SPKI DER) pin."""
    d = os.path.join(d, "pki")
    os.makedirs(d, exist_ok=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=rollcall test CA",
            cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "30", "-extfile", "ext.cnf", cwd=d)
    spki = subprocess.run(["openssl", "pkey", "-in", "server.key", "-pubout", "-outform", "DER"],
                          cwd=d, check=True, capture_output=True, timeout=60).stdout
    return {"ca": os.path.join(d, "ca.pem"), "cert": os.path.join(d, "server.pem"),
            "key": os.path.join(d, "server.key"), "pin": hashlib.sha256(spki).hexdigest()}


def id_number(i):
    """The i-th valid GB 11643 resident ID number (Tianjin Hexi 120103, born 1980 + i days)."""
    base = time.mktime((1980, 1, 1, 12, 0, 0, 0, 0, -1))
    t = time.localtime(base + (i // 900) * 86400)
    body = "120103%04d%02d%02d%03d" % (t.tm_year, t.tm_mon, t.tm_mday, 100 + i % 900)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w for c, w in zip(body, weights))
    return body + "10X98765432"[s % 11]


class Collector:
    """rollcall-server with its own SQLite database, served over HTTPS on loopback."""

    def __init__(self, workdir, pki, name="collector"):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.db_path = os.path.join(self.dir, "server.db")
        self.db = "sqlite:" + self.db_path
        self.pki = pki
        self.proc = None
        self.port = None
        self.lines = []
        self.extra_args = []  # more `serve` options (e.g. --photo-dir)
        r = self.cmd("migrate")
        assert r.returncode == 0, r

    def cmd(self, *args, input=None):
        return subprocess.run([SERVER, "--db", self.db, *args], capture_output=True, text=True,
                              input=input, timeout=WAIT_S)

    def token(self, role, name):
        # An enroll token is bound to the institution the kiosks here enrol for.
        extra = ("--institution", "INST-0001") if role == "enroll" else ()
        r = self.cmd("token", "create", "--role", role, *extra, "--name", name)
        assert r.returncode == 0, r
        return r.stdout.strip().split()[-1]

    def start(self, threads=4):
        listen = "127.0.0.1:%d" % (self.port or 0)
        self.lines = []
        ready = threading.Event()
        deadline = time.monotonic() + WAIT_S
        while True:
            self.proc = subprocess.Popen(
                [SERVER, "--db", self.db, "serve", "--listen", listen, "--tls-cert",
                 self.pki["cert"], "--tls-key", self.pki["key"], "--threads", str(threads),
                 "--per-ip-limit", "0", *self.extra_args],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            ready.clear()
            threading.Thread(target=self._read, args=(self.proc, ready), daemon=True).start()
            ready.wait(WAIT_S)
            if self.proc.poll() is None and self.port:
                return self.port
            # The old port may still be held for a moment after a kill: try again.
            if time.monotonic() > deadline:
                raise RuntimeError("collector did not start: " + "".join(self.lines))
            time.sleep(0.3)

    def _read(self, proc, ready):
        for line in proc.stderr:
            self.lines.append(line)
            m = re.search(r"listening on https://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                ready.set()
        ready.set()

    def stop(self, sig=signal.SIGTERM):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def rows(self, device):
        """(seq, raw bytes, hash, prev, event_id, type, server_verdict) of device, by seq."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=30)
        try:
            return con.execute("SELECT seq, raw, hash, prev, event_id, type, server_verdict "
                               "FROM events WHERE device = ? ORDER BY seq", (device,)).fetchall()
        finally:
            con.close()

    def head(self, device):
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=30)
        try:
            r = con.execute("SELECT seq FROM chain_heads WHERE device = ?", (device,)).fetchone()
            return r[0] if r else 0
        finally:
            con.close()


def profile_over(**sync):
    s = {"interval_s": 3600, "batch_max_events": 50, "backoff_base_ms": 100,
         "backoff_cap_ms": 1000, "timeout_s": 10}
    s.update(sync)
    return {"gnss": {"source": "none"},
            "surveyed": {"lat": ah.CENTRE[0], "lon": ah.CENTRE[1], "datum": "WGS-84",
                         "eph_m": 5.0},
            "sync": s}


class PipeKiosk(ah.Kiosk):
    """An agent_harness kiosk initialised against a Collector (or any URL), not yet enrolled."""

    def __init__(self, workdir, server_url, ca, device_id, name=None, **sync):
        super().__init__(workdir, gpsd_port=2947, name=name or device_id.lower(), init=False,
                         profile_over=profile_over(**sync), device_id=device_id)
        r = self.run("init", "--profile", self.profile_path, "--fence", self.fence_path,
                     "--device-id", device_id, "--institution", "INST-0001",
                     "--server", server_url, "--ca", ca, "--dir", self.data)
        assert r.code == 0, r
        self.n_signins = 0

    def set_server(self, url):
        """Points the kiosk at another URL (a proxy) by editing its config file."""
        with open(self.config, encoding="utf-8") as f:
            cfg = json.load(f)
        cfg["server"] = url
        ah.write_json(self.config, cfg)

    def config_json(self):
        with open(self.config, encoding="utf-8") as f:
            return json.load(f)

    def enroll(self, token, tries=1):
        r = None
        for _ in range(tries):
            r = self.run("enroll", "--token", token)
            if r.code == 0:
                return r
            time.sleep(0.2)
        raise AssertionError("enroll failed: %r" % (r,))

    def signins(self, n):
        """n one-shot sign-ins/sign-outs (alternating) of different trainees."""
        for _ in range(n):
            i = self.n_signins
            self.n_signins += 1
            r = self.run("signin" if i % 2 == 0 else "signout", "--trainee", id_number(i // 2),
                         "--class", "TJ-2026-AI-0001", "--session", "S01")
            assert r.code == 0, r

    def lines(self):
        """{seq: exact line bytes} of the outbox, read with Python's sqlite3."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=30)
        try:
            return {seq: bytes(line) for seq, line in
                    con.execute("SELECT seq, line FROM events ORDER BY seq")}
        finally:
            con.close()

    def chain(self):
        """(head_seq, ack_seq) from the outbox."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=30)
        try:
            return con.execute("SELECT head_seq, ack_seq FROM chain").fetchone()
        finally:
            con.close()


def check_exactly_once(kiosk, collector, expect_acked=True):
    """Every event the kiosk recorded is stored once by the collector, byte for byte, and both
    chains verify: the agent's own `verify`, and the server rows' seq 1..N with each prev the
    SHA-256 of the previous raw line (computed here, independently of either program)."""
    v = kiosk.verify()
    assert v.code == 0, "agent verify: %r" % (v,)
    local = kiosk.lines()
    head, ack = kiosk.chain()
    rows = collector.rows(kiosk.device_id)
    seqs = [r[0] for r in rows]
    assert seqs == list(range(1, len(rows) + 1)), "server seqs not 1..N: %s" % seqs[:20]
    assert len(rows) == head, "server holds %d events, the kiosk recorded %d" % (len(rows), head)
    assert collector.head(kiosk.device_id) == head
    ids = set()
    prev = ZEROS
    for seq, raw, h, p, event_id, _type, _verdict in rows:
        raw = bytes(raw)
        assert raw == local[seq], "seq %d differs from the kiosk's bytes" % seq
        assert hashlib.sha256(raw).hexdigest() == h, "seq %d: stored hash is wrong" % seq
        assert p == prev, "seq %d: prev does not link" % seq
        assert json.loads(raw)["prev"] == prev
        assert event_id not in ids, "event id %s twice" % event_id
        ids.add(event_id)
        prev = h
    if expect_acked:
        assert ack == head, "kiosk acknowledged %d of %d" % (ack, head)
    return len(rows)
