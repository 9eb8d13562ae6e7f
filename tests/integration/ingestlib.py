"""Shared by the ingest integration test and the ingest load script: a test CA made with the
openssl CLI, a running `rollcall-server serve`, HTTPS requests, and simulated kiosks that
build canonical event lines by string formatting (docs/WIRE-FORMAT.md) and sign batches with
`openssl dgst -sha256 -sign` (docs/SECURITY.md). Standard library only; nothing here uses the
code under test to make its inputs."""

import base64
import gzip
import hashlib
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time
import uuid

import openapi_check

SERVER = os.environ.get("ROLLCALL_SERVER", "build/rel/rollcall-server")
WAIT = 30
ZERO = "0" * 64


def openssl(*args, cwd=None, input=None):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, input=input,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout


def make_pki(d):
    """A test CA and a server certificate for 127.0.0.1 / localhost (ECDSA P-256)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=rollcall test CA",
            cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "30", "-extfile", "ext.cnf", cwd=d)


def run(*args, db=None, input=None):
    cmd = [SERVER]
    if db:
        cmd += ["--db", db]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=120)


def token(db, role, name):
    r = run("token", "create", "--role", role, "--name", name, db=db)
    if r.returncode != 0:
        raise RuntimeError("token create: " + r.stderr)
    return r.stdout.strip()


class Server:
    """A running `rollcall-server serve` over HTTPS; its stderr is collected by a thread."""

    def __init__(self, db, d, *args):
        self.proc = subprocess.Popen(
            [SERVER, "--db", db, "--log-level", "info", "serve", "--listen", "127.0.0.1:0",
             "--tls-cert", os.path.join(d, "server.pem"), "--tls-key",
             os.path.join(d, "server.key"), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready.wait(WAIT)
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("server did not start: " + "".join(self.lines))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r"listening on https://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.ready.set()
        self.ready.set()

    def log(self):
        return "".join(self.lines)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(WAIT)


def tls_context(d):
    return ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))


def request(port, ctx, method, path, body=None, headers=None):
    """One HTTPS request; returns (status, parsed JSON or raw bytes). The answer must be one
    docs/openapi.yaml describes (openapi_check)."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=WAIT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
    finally:
        conn.close()
    openapi_check.check(method, path, r.status, r.getheader("Content-Type"), data,
                        dict(r.getheaders()))
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, data


def uuid7(ms):
    r = os.urandom(10)
    b = ms.to_bytes(6, "big") + bytes([0x70 | (r[0] & 0x0F), r[1], 0x80 | (r[2] & 0x3F)]) + r[3:]
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def ts(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def fix_json(lat, lon, eph=None, mode=3, sats=9, fix_ms=None):
    parts = ['"lat":%.8f' % lat, '"lon":%.8f' % lon]
    if eph is not None:
        parts.append('"eph":%.2f' % eph)
    parts.append('"mode":%d' % mode)
    parts.append('"sats":%d' % sats)
    if fix_ms is not None:
        parts.append('"time":"%s"' % ts(fix_ms))
    parts.append('"source":"gnss"')
    return "{" + ",".join(parts) + "}"


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


class Device:
    """A simulated kiosk: an ECDSA P-256 key (openssl), its hash chain, canonical lines."""

    def __init__(self, d, device_id, institution, fence="test-venue", key_dir=None):
        self.id = device_id
        self.institution = institution
        self.fence = fence
        kd = key_dir or d
        self.key = os.path.join(kd, "%s.key" % device_id)
        if not os.path.exists(self.key):
            openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.key)
        self.public_pem = openssl("pkey", "-in", self.key, "-pubout").decode()
        self.seq = 0
        self.head = ZERO
        self.boot = str(uuid.uuid4())
        self.mono = 1000
        self.clock = 1795000000000  # 2026-11-18, device clock in ms
        self.lines = []  # every line this device recorded, in seq order (bytes, no newline)
        self.token = None

    def _line(self, typ, fields):
        self.seq += 1
        self.clock += 1234
        self.mono += 1234
        head = ('{"id":"%s","device":"%s","seq":%d,"prev":"%s","type":"%s","ts":"%s",'
                '"boot":"%s","mono_ms":%d' % (uuid7(self.clock), self.id, self.seq, self.head,
                                               typ, ts(self.clock), self.boot, self.mono))
        line = (head + "".join(",%s" % f for f in fields) + "}").encode()
        self.head = sha256_hex(line)
        self.lines.append(line)
        return line

    def heartbeat(self, queue=0):
        return self._line("heartbeat", ['"queue":%d' % queue])

    def signin(self, lat, lon, verdict, distance, eph=3.5, trainee=None, typ="signin"):
        trainee = trainee or sha256_hex(b"trainee-%d" % self.seq)
        return self._line(typ, ['"trainee":"%s"' % trainee,
                                '"trainee_masked":"1201**********123X"',
                                '"class":"TJ-2026-AI-0001"', '"session":"S01"',
                                '"fix":%s' % fix_json(lat, lon, eph, fix_ms=self.clock),
                                '"fence":"%s"' % self.fence, '"verdict":"%s"' % verdict,
                                '"distance_m":%.3f' % distance])

    def clock_event(self, skew):
        return self._line("clock", ['"kind":"ntp"', '"skew_ms":%d' % skew])

    def sign(self, lines, key=None):
        """base64 DER ECDSA over SHA-256 of the last line's bytes, made by openssl."""
        der = openssl("dgst", "-sha256", "-sign", key or self.key, input=lines[-1])
        return base64.b64encode(der).decode()

    def enrol_body(self, fence_feature, profile="x86-kiosk-ublox", eph=5.0):
        return json.dumps({"device": self.id, "institution": self.institution,
                           "public_key": self.public_pem, "profile": profile,
                           "assumed_eph_m": eph, "fence": fence_feature,
                           "fence_id": self.fence})


def ndjson(lines):
    return b"".join(l + b"\n" for l in lines)


def post_batch(port, ctx, tok, lines, sig, gz=False, extra=None):
    body = ndjson(lines)
    headers = {"Authorization": "Bearer " + tok, "Content-Type": "application/x-ndjson",
               "Rollcall-Signature": sig}
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    headers.update(extra or {})
    return request(port, ctx, "POST", "/v1/batches", body, headers)


def circle(fence_id, lon, lat, radius):
    return {"type": "Feature", "properties": {"id": fence_id, "radius_m": radius},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def vm_hwm_kb(pid):
    """Peak resident set (VmHWM) of a process, in kB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def post_raw(port, ctx, path, headers, body):
    """POST over a raw TLS socket that still reads the answer when the server refuses the
    body early and stops reading it (413 on Content-Length): returns (status, JSON or None)."""
    import socket
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=WAIT),
                        server_hostname="127.0.0.1")
    try:
        head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n" % (path, len(body))
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(head.encode())
        try:
            s.sendall(body)
        except (ssl.SSLError, OSError):
            pass  # the server answered and closed: read what it said
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
            hdr, sep, rest = data.partition(b"\r\n\r\n")
            m = re.search(rb"content-length:\s*(\d+)", hdr, re.I)
            if sep and m and len(rest) >= int(m.group(1)):
                break
    finally:
        s.close()
    hdr, _, rest = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", hdr)
    if m:
        fields = dict((k.strip().lower(), v.strip()) for k, _, v in
                      (ln.decode("latin-1").partition(":") for ln in hdr.split(b"\r\n")[1:]))
        openapi_check.check("POST", path, int(m.group(1)), fields.get("content-type"), rest,
                            fields)
    try:
        parsed = json.loads(rest)
    except ValueError:
        parsed = None
    return (int(m.group(1)) if m else None), parsed
