#!/usr/bin/python3
# labels: collector browser
"""The kiosk screen end to end, as a trainee uses it: headless Debian chromium (playwright-core,
tests/browser/kiosk_driver.mjs) with a fake camera, `rollcall-agent screen`, the real daemon
reading a real gpsd (gpsfake), and the real collector (HTTPS on loopback) whose class and
roster the kiosk received with its schedule.

- the start screen shows the kiosk id, the class running now, GNSS state and the collector link;
- an ID typed on the keypad: the check digit checked as typed (a wrong one refused on screen,
  the buttons stay off), the roster's masked name shown, sign-in recorded "在场地内" with the
  photo's SHA-256 in the event, the photo stored as DATA_DIR/photos/<sha256>.jpg (0600) with
  those bytes;
- an ID typed as a card reader does (a burst and Enter): sign-out recorded with its photo;
- a trainee not on the roster: refused on screen, why and what to do, nothing recorded;
- sync uploads the photos after their events: the collector's copies match, the kiosk's are
  deleted; an institution reads one (GET /v1/events/{id}/photo), an evaluator may not; a photo
  that is not the event's is refused (422), an upload resumes at the collector's offset (409);
- the collector down: a warning on screen, sign-ins still recorded, synced once it is back;
- a screen sign-in without a photo (no_photo) is a no_photo finding at the collector;
- a photo older than the collector's retention is purged (404 afterwards);
- the position outside the fence / with a poor accuracy: recorded, "不在场地内" / "位置不确定";
- English by the switch, 1080x1920 portrait and 1280x800 landscape, the keyboard alone (Tab,
  Enter);
- the page's calls go over its WebSocket (none among its HTTP requests), by XMLHttpRequest
  when the WebSocket does not open, and over it again once the screen is back from a
  restart; the WebSocket answers calls as HTTP does, closes on a binary, non-UTF-8 or
  oversized message, and refuses other origins and bad handshakes;
- the screen's server refuses other origins (Host, Origin, Sec-Fetch-Site) and a non-loopback
  --listen.
Screenshots of each state go to $ROLLCALL_SCREENSHOTS (docs/kiosk/ in the repository) when set.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402
import openapi_check  # noqa: E402
import pipe_harness as ph  # noqa: E402

for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

DRIVER = os.path.join(ah.SRC, "tests", "browser", "kiosk_driver.mjs")
CLASS = "TJ-2026-AI-0001"
ON = ph.id_number(0)
ON2 = ph.id_number(2)
OFF = ph.id_number(1)
NAME, MASKED_NAME = "张三伟", "张*伟"
NAME2, MASKED_NAME2 = "李四", "李*"
H = 3600
C = ah.CENTRE
OUTSIDE = (ah.LAT_N + 0.0027, C[1])  # about 300 m north of the fence
EDGE = (ah.LAT_N, C[1])              # on the north edge: uncertain with any accuracy
WAIT_S = 60


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def plan():
    now = int(time.time())
    return {"id": CLASS, "institution": "INST-0001", "district": "120103",
            "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-10-01",
            "sessions": [{"id": "S01", "start": iso(now - H), "end": iso(now + 2 * H),
                          "mode": "offline", "fence": ah.FENCE_ID}],
            "roster": [{"id_number": ON, "name": NAME, "student": False},
                       {"id_number": ON2, "name": NAME2, "student": False}]}


def put(col, pki, path, token, body):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    conn = http.client.HTTPSConnection("127.0.0.1", col.port, context=ctx, timeout=60)
    try:
        conn.request("PUT", path, body=json.dumps(body, ensure_ascii=False).encode(),
                     headers={"Authorization": "Bearer " + token,
                              "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class ScreenKiosk(ph.PipeKiosk):
    """A kiosk reading gpsd on gpsd_port (PipeKiosk's helpers, not its GNSS-less profile),
    initialised against the collector."""

    def __init__(self, workdir, server_url, ca, gpsd_port):
        over = ph.profile_over()
        over.pop("gnss")
        over.pop("surveyed")
        over["gnss"] = {"stale_after_s": 5}
        ah.Kiosk.__init__(self, workdir, gpsd_port=gpsd_port, name="kiosk", init=False,
                          profile_over=over, device_id="KIOSK-SCREEN")
        r = self.run("init", "--profile", self.profile_path, "--fence", self.fence_path,
                     "--device-id", self.device_id, "--institution", "INST-0001",
                     "--server", server_url, "--ca", ca, "--dir", self.data)
        check(r.code == 0, r)
        self.screen = None
        self.screen_lines = []
        self.port = None

    def start_screen(self, port=0):
        ready = threading.Event()
        self.port = None
        self.screen = subprocess.Popen(
            [ah.AGENT, "--config", self.config, "screen", "--listen", "127.0.0.1:%d" % port],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)

        def read():
            for line in self.screen.stderr:
                self.screen_lines.append(line)
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()
        threading.Thread(target=read, daemon=True).start()
        ready.wait(WAIT_S)
        check(self.port, "screen did not start: " + "".join(self.screen_lines))
        return "http://127.0.0.1:%d/" % self.port

    def stop_screen(self):
        if self.screen and self.screen.poll() is None:
            self.screen.terminate()
            code = self.screen.wait(WAIT_S)
            self.screen = None
            return code
        return None

    def last_event(self):
        return self.events()[-1][1]

    def photo_path(self, h):
        return os.path.join(self.data, "photos", h + ".jpg")


class Browser:
    """kiosk_driver.mjs in a node process: one JSON line each way."""

    def __init__(self):
        self.proc = subprocess.Popen(["node", DRIVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=sys.stderr, text=True,
                                     cwd=ah.SRC)
        first = json.loads(self.proc.stdout.readline() or "{}")
        check(first.get("ready"), "browser driver did not start (scripts/install-npm.sh?)")

    def __call__(self, op, **kw):
        kw["op"] = op
        self.proc.stdin.write(json.dumps(kw, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        check(line, "browser driver died during %s" % op)
        r = json.loads(line)
        check(r.get("ok"), "%s: %s" % (op, r.get("error")))
        return r

    def close(self):
        try:
            self.proc.stdin.write('{"op":"quit"}\n')
            self.proc.stdin.flush()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class Shots:
    def __init__(self, b, workdir):
        self.b = b
        self.dir = os.environ.get("ROLLCALL_SCREENSHOTS") or os.path.join(workdir, "shots")
        os.makedirs(self.dir, exist_ok=True)

    def __call__(self, name):
        self.b("screenshot", path=os.path.join(self.dir, name + ".png"))


def http_get(port, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def http_post(port, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class WsClient:
    """A WebSocket client (RFC 6455) over a plain socket: the handshake and masked frames, to
    check the screen's server as a browser and as something else would speak to it."""
    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port, headers=None):
        import base64
        import socket as so
        self.key = base64.b64encode(os.urandom(16)).decode()
        hdrs = {"Host": "127.0.0.1:%d" % port, "Origin": "http://127.0.0.1:%d" % port,
                "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": self.key}
        hdrs.update(headers or {})
        self.s = so.create_connection(("127.0.0.1", port), timeout=30)
        req = "GET /api/ws HTTP/1.1\r\n" + "".join(
            "%s: %s\r\n" % (k, v) for k, v in hdrs.items() if v is not None) + "\r\n"
        self.s.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in
                        (x.split(":", 1) for x in lines[1:] if ":" in x)}
        expect = base64.b64encode(hashlib.sha1((self.key + self.GUID).encode()).digest()).decode()
        self.accepted = self.status == 101 and self.headers.get("sec-websocket-accept") == expect

    def send(self, payload, opcode=1):
        if isinstance(payload, str):
            payload = payload.encode()
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """(opcode, payload) of the next frame from the server."""
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._read(2), "big")
        elif n == 127:
            n = int.from_bytes(self._read(8), "big")
        return b0 & 0x0F, self._read(n)

    def call(self, msg):
        self.send(json.dumps(msg))
        op, data = self.recv()
        assert op == 1, (op, data)
        return json.loads(data)

    def close(self):
        self.s.close()


def check_websocket(k, port):
    """The page's WebSocket (GET /api/ws): the handshake, calls answered as over HTTP, bad
    messages closing it, other origins and malformed handshakes refused."""
    w = WsClient(port)
    try:
        check(w.accepted, (w.status, w.headers))
        r = w.call({"id": 7, "call": "lookup",
                    "body": {"trainee": ON, "class": CLASS, "session": "S01"}})
        check(r["id"] == 7 and r["status"] == 200 and r["body"].get("name") == MASKED_NAME, r)
        r = w.call({"id": 8, "call": "state", "body": {}})
        check(r["id"] == 8 and r["status"] == 200 and r["body"]["device"] == "KIOSK-SCREEN", r)
        r = w.call({"id": 9, "call": "nothing", "body": {}})
        check(r["id"] == 9 and r["status"] == 404, r)
        r = w.call({"call": "lookup", "body": {}})
        check(r["id"] is None and r["status"] == 400, r)
        r = w.call({"id": 10, "call": "signin", "body": "not an object"})
        check(r["id"] == 10 and r["status"] == 400, r)
        n = len(k.events())
        r = w.call({"id": 11, "call": "signin", "body": {
            "trainee": ON2, "class": CLASS, "session": "S01", "photo_sha256": "x"}})
        check(r["status"] == 400 and len(k.events()) == n, r)
        w.send(b"\x00\x01", opcode=2)  # binary: closed with 1003
        op, data = w.recv()
        check(op == 8 and int.from_bytes(data[:2], "big") == 1003, (op, data))
    finally:
        w.close()
    for payload, code in ((b"\xff\xfe{}", 1007), ("x" * 5000, 1009)):
        w = WsClient(port)
        try:
            w.send(payload)
            op, data = w.recv()
            check(op == 8 and int.from_bytes(data[:2], "big") == code, (payload[:4], op, data))
        finally:
            w.close()
    for hdrs, status in (({"Origin": "http://evil.example"}, 403), ({"Origin": None}, 403),
                         ({"Host": "evil.example:%d" % port}, 403),
                         ({"Sec-WebSocket-Key": "short"}, 400),
                         ({"Sec-WebSocket-Version": "8"}, 400), ({"Upgrade": None}, 400)):
        w = WsClient(port, hdrs)
        w.close()
        check(w.status == status and not w.accepted, (hdrs, w.status))


def wait_fix_at(k, lat, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = k.status()
        fix = st["gnss"].get("fix")
        if st["gnss"]["state"] == "fresh" and fix and abs(fix["lat"] - lat) < 0.0002:
            return st
        time.sleep(0.3)
    raise TimeoutError("no fresh fix at %s: %s" % (lat, st and st["gnss"]))


def get_photo(col, pki, event_id, token):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    conn = http.client.HTTPSConnection("127.0.0.1", col.port, context=ctx, timeout=60)
    try:
        path = "/v1/events/%s/photo" % event_id
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        data = r.read()
        openapi_check.check("GET", path, r.status, r.getheader("Content-Type"), data,
                            dict(r.getheaders()))
        return r.status, data
    finally:
        conn.close()


def put_photo(col, pki, event_id, token, body, content_range=None):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    conn = http.client.HTTPSConnection("127.0.0.1", col.port, context=ctx, timeout=60)
    try:
        path = "/v1/events/%s/photo" % event_id
        h = {"Authorization": "Bearer " + token, "Content-Type": "image/jpeg"}
        if content_range:
            h["Content-Range"] = content_range
        conn.request("PUT", path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        openapi_check.check("PUT", path, r.status, r.getheader("Content-Type"), data,
                            dict(r.getheaders()))
        return r.status, data
    finally:
        conn.close()


def findings(col, device, kind):
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % col.db_path, uri=True, timeout=30)
    try:
        return con.execute("SELECT seq, detail FROM findings WHERE device = ? AND kind = ? "
                           "ORDER BY seq", (device, kind)).fetchall()
    finally:
        con.close()


def signed_photo(k, ev):
    """The event's photo exists, 0600, and its bytes hash to the event's photo_sha256."""
    h = ev.get("photo_sha256")
    check(h and re.fullmatch("[0-9a-f]{64}", h), ev)
    p = k.photo_path(h)
    with open(p, "rb") as f:
        data = f.read()
    check(hashlib.sha256(data).hexdigest() == h, "photo bytes do not match " + h)
    check(data[:3] == b"\xff\xd8\xff", "the photo is not a JPEG")
    check(stat.S_IMODE(os.stat(p).st_mode) == 0o600, "photo mode %o" % os.stat(p).st_mode)
    return h


def move_gps(fake, k, w, at, eph=None, name="track"):
    fake.stop()
    seg = {"at": list(at), "fixes": 3000, "jitter_m": 0.3}
    if eph is not None:
        seg["eph_m"] = eph
    new = gpsd_harness.Gpsfake.from_scenario({"segments": [seg]}, w, name=name, port=fake.port)
    wait_fix_at(k, at[0], timeout=90)
    return new


def scenarios(w, col, pki, b, shots):
    fake = gpsd_harness.Gpsfake.from_scenario(
        {"segments": [{"at": list(C), "fixes": 3000, "jitter_m": 0.3, "eph_m": 4.0}]}, w)
    k = ScreenKiosk(w, col.url, pki["ca"], fake.port)
    try:
        k.enroll_with(col)
        inst = col.token("institution:INST-0001", "inst-screen")
        st_, body = put(col, pki, "/v1/classes/" + CLASS, inst, plan())
        check(st_ in (200, 201), "PUT class: %s %s" % (st_, body))
        r = k.run("sync", "--json", "--timeout", "120")
        check(r.code == 0 and r.json()["schedule"] == "updated", r)
        k.start_daemon()
        k.wait_gnss()
        url = k.start_screen()

        print("-- the start screen (portrait)", flush=True)
        b("open", url=url, width=1080, height=1920)
        b("waitText", selector="#kiosk-id", contains="KIOSK-SCREEN")
        b("waitText", selector="#session-list", contains=CLASS)
        b("waitText", selector="#gnss", contains="定位正常")
        b("waitText", selector=".photo-note", contains="拍摄")
        # this daemon knows no roll-call command: the banner stays hidden
        check(b("eval", js="document.getElementById('rollcall').hidden")["value"],
              "a roll-call banner without roll-calls")
        shots("01-start-1080x1920")

        print("-- keypad: check digit, masked name, sign-in with photo", flush=True)
        n0 = len(k.events())
        wrong = ON[:17] + ("0" if ON[17] != "0" else "1")
        b("keypad", id=wrong)
        b("waitText", selector="#check", contains="校验位不对")
        check(b("eval", js="document.querySelector('[data-action=signin]').disabled")["value"],
              "sign-in enabled with a wrong check digit")
        b("click", action="lang")  # nothing typed is lost by the switch
        b("click", action="lang")
        b("key", key="clear")
        v = b("keypad", id=ON[:17])["value"]
        check(v == ON[:17], v)
        shots("02-keypad-1080x1920")
        b("keypad", id=ON[17])
        b("waitText", selector="#who", contains=MASKED_NAME)
        b("waitText", selector="#check", contains="✓")
        shots("03-confirm-name-1080x1920")
        b("click", action="signin")
        a = b("answer")["answer"]
        check(a["ok"] and a["verdict"] == "inside" and "签到已记录" in a["title"], a)
        check("在场地内" in a["where"] and MASKED_NAME in a["who"], a)
        shots("04-recorded-inside-1080x1920")
        ev = k.last_event()
        check(ev["type"] == "signin" and ev["class"] == CLASS and ev["session"] == "S01", ev)
        h1 = signed_photo(k, ev)
        check(len(k.events()) == n0 + 1, "one event for one sign-in")
        # back to the start by itself
        check(b("eval", js="new Promise(r => setTimeout(() => "
                           "r(document.getElementById('answer').hidden), 7500))")["value"],
              "the answer did not return to the start")
        check(b("eval", js="document.querySelector('input[name=trainee]').value")["value"] == "",
              "the ID stayed on the screen")

        print("-- card reader: a burst of digits and Enter, sign-out", flush=True)
        v = b("card", id=ON2)["value"]
        check(v == ON2, v)
        b("waitText", selector="#who", contains=MASKED_NAME2)
        b("click", action="signout")
        a = b("answer")["answer"]
        check(a["ok"] and "签退已记录" in a["title"], a)
        ev = k.last_event()
        check(ev["type"] == "signout", ev)
        h2 = signed_photo(k, ev)
        b("click", action="done")

        print("-- not on the roster: refused, why and what to do", flush=True)
        n1 = len(k.events())
        b("keypad", id=OFF)
        b("waitText", selector="#who", contains="不在本班花名册")
        b("click", action="signin")
        a = b("answer")["answer"]
        check(not a["ok"] and a["code"] == "not_on_roster", a)
        check("不在本班花名册" in a["who"] and "联系工作人员" in a["todo"], a)
        shots("05-refused-not-on-roster-1080x1920")
        check(len(k.events()) == n1, "a refusal recorded something")
        b("click", action="done")

        print("-- sync: the events reach the collector, then their photos", flush=True)
        photos = {}
        for h in (h1, h2):
            with open(k.photo_path(h), "rb") as f:
                photos[h] = f.read()
        r = k.run("sync", "--json", "--timeout", "120")
        check(r.code == 0 and r.json()["photos_uploaded"] == 2, r)
        ph.check_exactly_once(k, col)
        for h, data in photos.items():
            check(not os.path.exists(k.photo_path(h)), "an uploaded photo stayed on the kiosk")
            p = os.path.join(col.photo_dir, h + ".jpg")
            with open(p, "rb") as f:
                check(f.read() == data, "the collector's photo differs from the kiosk's")
            check(stat.S_IMODE(os.stat(p).st_mode) == 0o600, "collector photo mode")
        ev1 = [e for _, e in k.events() if e.get("photo_sha256") == h1][0]
        st_, data = get_photo(col, pki, ev1["id"], inst)
        check(st_ == 200 and hashlib.sha256(data).hexdigest() == h1, st_)
        st_, _ = get_photo(col, pki, ev1["id"], col.token("evaluator", "eval-screen"))
        check(st_ == 403, "an evaluator read a photo: %s" % st_)
        # resumable and checked: a wrong photo for an event is refused, a resumed one stored
        dev = k.config_json()["token_file"]
        with open(dev) as f:
            dtok = f.read().strip()
        fake_jpeg = b"\xff\xd8\xff" + b"x" * 1000
        st_, _ = put_photo(col, pki, ev1["id"], dtok, b"\xff\xd8\xffnot-it")
        check(st_ == 200, "an already stored photo: %s" % st_)  # stored: nothing to do
        ev2 = [e for _, e in k.events() if e.get("photo_sha256") == h2][0]
        os.unlink(os.path.join(col.photo_dir, h2 + ".jpg"))
        st_, body = put_photo(col, pki, ev2["id"], dtok, fake_jpeg)
        check(st_ == 422, "a photo not matching its event: %s %s" % (st_, body))
        d2 = photos[h2]
        half = len(d2) // 2
        st_, body = put_photo(col, pki, ev2["id"], dtok, d2[:half],
                              "bytes 0-%d/%d" % (half - 1, len(d2)))
        check(st_ == 202 and json.loads(body)["expected_offset"] == half, (st_, body))
        st_, body = put_photo(col, pki, ev2["id"], dtok, d2[half + 1:],
                              "bytes %d-%d/%d" % (half + 1, len(d2) - 1, len(d2)))
        check(st_ == 409 and json.loads(body)["expected_offset"] == half, (st_, body))
        st_, body = put_photo(col, pki, ev2["id"], dtok, d2[half:],
                              "bytes %d-%d/%d" % (half, len(d2) - 1, len(d2)))
        check(st_ == 201, (st_, body))
        with open(os.path.join(col.photo_dir, h2 + ".jpg"), "rb") as f:
            check(f.read() == d2, "the resumed photo differs")
        rows = col.rows("KIOSK-SCREEN")
        raws = [bytes(x[1]).decode() for x in rows]
        check(any('"photo_sha256":"%s"' % h1 in x for x in raws), "photo hash not at the collector")
        check(any('"photo_sha256":"%s"' % h2 in x for x in raws), "second photo hash not there")

        print("-- the collector down: warned, still recorded, synced later", flush=True)
        col.stop()
        b("keypad", id=ON)
        b("waitText", selector="#who", contains=MASKED_NAME)
        b("click", action="signout")
        a = b("answer")["answer"]
        check(a["ok"], a)
        h3 = signed_photo(k, k.last_event())
        b("click", action="done")
        r = k.run("sync", "--json", "--timeout", "30")
        check(r.code != 0, r)
        b("waitText", selector="#warnings", contains="采集端暂时无法连接")
        b("waitText", selector="#link", contains="采集端未连接")
        b("keypad", id=ON2)
        b("waitText", selector="#who", contains=MASKED_NAME2)
        shots("06-collector-down-1080x1920")
        b("click", action="signin")
        a = b("answer")["answer"]
        check(a["ok"], a)
        h4 = signed_photo(k, k.last_event())
        b("click", action="done")
        col.start()
        r = k.run("sync", "--json", "--timeout", "120")
        check(r.code == 0 and r.json()["photos_uploaded"] == 2, r)
        ph.check_exactly_once(k, col)
        raws = [bytes(x[1]).decode() for x in col.rows("KIOSK-SCREEN")]
        check(any(h3 in x for x in raws) and any(h4 in x for x in raws), "offline photos lost")
        for h in (h3, h4):
            check(os.path.exists(os.path.join(col.photo_dir, h + ".jpg")), "offline photo lost")

        print("-- a screen sign-in without a photo is a finding", flush=True)
        port = k.port
        origin = {"Host": "127.0.0.1:%d" % port, "Origin": "http://127.0.0.1:%d" % port,
                  "Content-Type": "application/json"}
        s_, body = http_post(port, "/api/signin", json.dumps(
            {"trainee": ON2, "class": CLASS, "session": "S01", "no_photo": "refused"}), origin)
        rep = json.loads(body)
        check(s_ == 200 and rep.get("ok") and rep["result"].get("no_photo") == "refused", rep)
        check(k.last_event().get("no_photo") == "refused", k.last_event())
        # a photo_sha256 that names no stored photo records nothing
        n2 = len(k.events())
        s_, body = http_post(port, "/api/signin", json.dumps(
            {"trainee": ON2, "class": CLASS, "session": "S01", "photo_sha256": "0" * 64}), origin)
        rep = json.loads(body)
        check(rep.get("ok") is False and "no stored photo" in rep.get("error", ""), rep)
        check(len(k.events()) == n2, "a sign-in with a missing photo was recorded")
        r = k.run("sync", "--json", "--timeout", "120")
        check(r.code == 0, r)
        f = findings(col, "KIOSK-SCREEN", "no_photo")
        check(len(f) == 1 and "refused" in f[0][1], f)

        print("-- photos are kept for the retention (30 days here), then purged", flush=True)
        col.stop()
        old_p = os.path.join(col.photo_dir, h3 + ".jpg")
        t = time.time() - 31 * 86400
        os.utime(old_p, (t, t))
        col.start()
        check(not os.path.exists(old_p), "a photo past its retention was kept")
        check(os.path.exists(os.path.join(col.photo_dir, h4 + ".jpg")), "a recent photo purged")
        ev3 = [e for _, e in k.events() if e.get("photo_sha256") == h3][0]
        st_, _ = get_photo(col, pki, ev3["id"], inst)
        check(st_ == 404, "a purged photo answered %s" % st_)

        print("-- outside the fence, and an uncertain position", flush=True)
        fake = move_gps(fake, k, w, OUTSIDE, name="outside")
        b("keypad", id=ON)
        b("waitText", selector="#who", contains=MASKED_NAME)
        b("click", action="signin")
        a = b("answer")["answer"]
        check(a["ok"] and a["verdict"] == "outside" and "不在场地内" in a["where"], a)
        check(re.search(r"距场地 \d+ 米", a["where"]), a)
        shots("08-recorded-outside-1080x1920")
        b("click", action="done")
        fake = move_gps(fake, k, w, EDGE, eph=40.0, name="edge")
        b("keypad", id=ON)
        b("waitText", selector="#who", contains=MASKED_NAME)
        b("click", action="signin")
        a = b("answer")["answer"]
        check(a["ok"] and a["verdict"] == "uncertain" and "位置不确定" in a["where"], a)
        shots("07-recorded-uncertain-1080x1920")
        b("click", action="done")
        fake = move_gps(fake, k, w, C, eph=4.0, name="back")

        print("-- English, and landscape 1280x800", flush=True)
        b("click", action="lang")
        b("waitText", selector="[data-action=signin]", contains="Sign in")
        b("waitText", selector=".photo-note", contains="photo is taken")
        shots("09-english-1080x1920")
        b("open", url=url, width=1280, height=800)
        b("waitText", selector="#session-list", contains=CLASS)
        shots("10-start-1280x800")
        b("card", id=ON)
        b("waitText", selector="#who", contains=MASKED_NAME)
        shots("11-confirm-name-1280x800")
        # keyboard only: Tab from the ID field reaches 签到, Enter presses it
        f = b("press", key="Tab")["focused"]
        check(f == "signin", "Tab from the ID field went to %r" % f)
        b("press", key="Enter")
        a = b("answer")["answer"]
        check(a["ok"] and a["verdict"] == "inside", a)
        shots("12-recorded-inside-1280x800")
        b("click", action="done")
        b("click", action="lang")
        b("waitText", selector="[data-action=signout]", contains="Sign out")
        shots("13-english-1280x800")
        # the page's calls went over its WebSocket: none of them is among its requests
        sent = b("eval", js="performance.getEntriesByType('resource').map((e) => e.name)")
        check(not [u for u in sent["value"] if re.search(r"/api/(lookup|sign|confirm)", u)],
              sent)
        errs = b("errors")["errors"]
        check(not errs, "page errors: %s" % errs)

        print("-- the screen restarted: the page opens its WebSocket again", flush=True)
        port = k.port
        check(k.stop_screen() == 0, "screen did not stop cleanly")
        k.start_screen(port)
        # each try looks a number up through the page; an XMLHttpRequest among its requests
        # means the WebSocket is not open yet (the page retries after 0.5, 1, 2, then 5 s)
        deadline, via_socket = time.monotonic() + 20, False
        while not via_socket and time.monotonic() < deadline:
            b("key", key="clear")
            b("eval", js="performance.clearResourceTimings()")
            b("card", id=ON)
            b("waitText", selector="#who", contains=MASKED_NAME)
            sent = b("eval", js="performance.getEntriesByType('resource').map((e) => e.name)")
            via_socket = not [u for u in sent["value"] if u.endswith("/api/lookup")]
            if not via_socket:
                time.sleep(0.5)
        check(via_socket, "the page did not open its WebSocket again after the restart")
        n5 = len(k.events())
        b("click", action="signout")
        a = b("answer")["answer"]
        check(a["ok"] and len(k.events()) == n5 + 1, (a, len(k.events()), n5))
        sent = b("eval", js="performance.getEntriesByType('resource').map((e) => e.name)")
        check(not [u for u in sent["value"] if u.endswith("/api/signout")], sent)
        b("click", action="done")

        print("-- without the WebSocket, the page's calls go by XMLHttpRequest", flush=True)
        b("open", url=url, width=1280, height=800, noSocket=True)
        b("waitText", selector="#session-list", contains=CLASS)
        n4 = len(k.events())
        b("card", id=ON)
        b("waitText", selector="#who", contains=MASKED_NAME)
        b("click", action="signout")
        a = b("answer")["answer"]
        check(a["ok"] and len(k.events()) == n4 + 1, (a, len(k.events()), n4))
        sent = b("eval", js="performance.getEntriesByType('resource').map((e) => e.name)")
        check(any(u.endswith("/api/signout") for u in sent["value"]) and
              any(u.endswith("/api/lookup") for u in sent["value"]), sent)
        b("click", action="done")
        # the answer's button has the keyboard's focus once the answer is drawn; Enter closes it
        b("card", id=ON)
        b("waitText", selector="#who", contains=MASKED_NAME)
        b("click", action="signin")
        b("answer")
        b("eval", js="new Promise((r) => { const w = () => document.activeElement?.id === "
                     "'answer-done' ? r(true) : setTimeout(w, 20); w(); })")
        b("press", key="Enter")
        b("eval", js="new Promise((r) => { const w = () => document.getElementById('answer')"
                     ".hidden ? r(true) : setTimeout(w, 20); w(); })")
        errs = b("errors")["errors"]
        check(not errs, "page errors: %s" % errs)

        print("-- the WebSocket", flush=True)
        check_websocket(k, port)

        print("-- other origins are refused", flush=True)
        good = {"Host": "127.0.0.1:%d" % port}
        s_, hd, _ = http_get(port, "/", good)
        check(s_ == 200 and "default-src 'none'" in hd.get("Content-Security-Policy", ""), hd)
        s_, _, _ = http_get(port, "/api/state", {"Host": "evil.example:%d" % port})
        check(s_ == 403, s_)
        s_, _, _ = http_get(port, "/api/state", dict(good, **{"Sec-Fetch-Site": "cross-site"}))
        check(s_ == 403, s_)
        n3 = len(k.events())
        for hdrs in ({"Host": good["Host"], "Content-Type": "application/json"},
                     {"Host": good["Host"], "Origin": "http://evil.example",
                      "Content-Type": "application/json"}):
            s_, _ = http_post(port, "/api/signin", json.dumps(
                {"trainee": ON, "class": CLASS, "session": "S01"}), hdrs)
            check(s_ == 403, s_)
        s_, _ = http_post(port, "/api/photo", b"not a jpeg",
                          dict(origin, **{"Content-Type": "image/jpeg"}))
        check(s_ == 400, s_)
        check(len(k.events()) == n3, "a refused request recorded something")
        r = k.run("screen", "--listen", "0.0.0.0:0")
        check(r.code == 2 and "not a loopback address" in r.err, r)
        # it stops promptly with a WebSocket open, and closes it
        w = WsClient(port)
        check(w.accepted and w.call({"id": 1, "call": "state", "body": {}})["status"] == 200, w)
        t0 = time.monotonic()
        check(k.stop_screen() == 0, "screen did not stop cleanly: " + "".join(k.screen_lines))
        check(time.monotonic() - t0 < 10, "the screen took %.1f s to stop with a WebSocket open"
              % (time.monotonic() - t0))
        try:
            w.s.settimeout(10)
            closed = w.s.recv(1) == b""
        except OSError:
            closed = True
        w.close()
        check(closed, "the WebSocket stayed open after the screen stopped")
        for line in k.screen_lines + [k.daemon_log()]:
            for idn in (ON, ON2, OFF):
                check(idn not in line, "a clear ID number in a log")
    except Exception:
        print("screen log (tail):\n" + "".join(k.screen_lines[-60:]))
        print("daemon log (tail):\n" + k.daemon_log()[-2000:])
        raise
    finally:
        k.stop_screen()
        k.close()
        fake.stop()


def enroll_with(self, col):
    r = self.run("enroll", "--token", col.token("enroll", "enroll-screen"))
    check(r.code == 0, r)


ScreenKiosk.enroll_with = enroll_with


def main():
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("FAILED: needs node and Debian's chromium (scripts/install-deps.sh)")
        return 1
    failures = []
    with tempfile.TemporaryDirectory(prefix="rc-screen-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.photo_dir = os.path.join(w, "photos")
        col.extra_args = ["--photo-dir", col.photo_dir, "--photo-retention-days", "30"]
        col.start()
        b = Browser()
        try:
            scenarios(w, col, pki, b, Shots(b, w))
        except Exception:  # noqa: BLE001 - print the logs with the failure
            failures.append("screen")
            traceback.print_exc()
            print("collector log (tail):\n" + "".join(col.lines[-30:]))
        finally:
            b.close()
            col.stop()
    if failures:
        print("FAILED")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
