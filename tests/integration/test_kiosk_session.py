#!/usr/bin/python3
# labels: collector browser
"""The kiosk session KIOSK.md tells a vendor to set up, run for real: cage (Debian's package, a
Wayland kiosk compositor) running Chromium with exactly the ExecStart of
agent/screen/session/rollcall-kiosk-ui.service, the Chromium policy
agent/screen/session/rollcall-kiosk.json in /etc/chromium/policies/managed/, and the screen at
the doc's address http://127.0.0.1:8480/ (the daemon on a real gpsd, the class from a real
collector).

What differs from a kiosk, and why (nothing else does):
- cage runs on wlroots' headless backend (WLR_BACKENDS=headless, WLR_RENDERER=pixman,
  WLR_LIBINPUT_NO_DEVICES=1): there is no screen, GPU or input device here; systemd is not
  PID 1 in the test's container, so the unit's User=, PAMName= and TTY lines are not applied:
  the session runs as `nobody` (cage refuses root, as a kiosk-ui login would not be) with
  XDG_RUNTIME_DIR made by the test (logind makes it on a kiosk);
- the session, the screen and the policy live in a network and mount namespace of their own,
  so the doc's fixed port 8480 and /etc/chromium/policies/managed/ touch nothing outside;
- Chromium gets three flags more: --use-fake-device-for-media-stream (a camera to open: the
  policy, not a prompt or --use-fake-ui-for-media-stream, must grant it),
  --remote-debugging-port and --user-data-dir (the test reads the page and taps 签到 through
  them; a kiosk must never open a debugging port).

It proves:
- the unit's ExecStart starts and stays up (Debian 12's cage 0.1.4 needs the xwayland package;
  `--kiosk` with `--app=URL` made Chromium 156 die at start, so the unit gives `--kiosk URL`);
- the page is the unit's URL, reached its ready state, with the kiosk id, the class and GNSS;
- the policy grants the camera to this origin without a prompt (permission "granted", the
  preview playing: there is no --use-fake-ui-for-media-stream);
- cage's output (grim) has the size of the page's window and screen (full screen, no frame) and
  Chromium's window on it; its pixels are not compared with the page's: on the headless backend
  cage repaints them unreliably (output_shows_window);
- a card reader's burst (digits and Enter, through Chromium's input over CDP: cage 0.1.4 has no
  virtual keyboard protocol, so wtype cannot type into it, which the test also checks) shows
  the masked roster name; a tap on 签到 records the sign-in: the answer on screen, the event in
  the outbox with the photo's hash and the photo's bytes in DATA_DIR/photos.
The grim screenshot of the answer goes to $ROLLCALL_SCREENSHOTS (docs/kiosk/) when set:
18-session-cage-signin-1280x720.png (taken from a run where cage showed the whole frame).
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402
import pipe_harness as ph  # noqa: E402
import test_kiosk_screen as tks  # noqa: E402

SESSION = os.path.join(ah.SRC, "agent", "screen", "session")
UNIT = os.path.join(SESSION, "rollcall-kiosk-ui.service")
POLICY = os.path.join(SESSION, "rollcall-kiosk.json")
KIOSK_MD = os.path.join(ah.SRC, "docs", "KIOSK.md")
LISTEN = "127.0.0.1:8480"  # the doc's address (the unit's URL, the policy's origin)
DEBUG_PORT = 9222
WAIT_S = 60
check = tks.check


def unit_service():
    """The [Service] section of the unit: (Environment pairs, ExecStart argv)."""
    env, execstart, section = {}, None, None
    with open(UNIT) as f:
        text = f.read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line.startswith("Environment="):
            k, v = line[len("Environment="):].split("=", 1)
            env[k] = v
        elif section == "[Service]" and line.startswith("ExecStart="):
            execstart = shlex.split(line[len("ExecStart="):])
    check(execstart, "no ExecStart in " + UNIT)
    return env, execstart


def doc_matches_files():
    """KIOSK.md shows the files as they are: the policy and the unit's [Unit]..[Install]."""
    with open(KIOSK_MD) as f:
        doc = f.read()
    with open(POLICY) as f:
        policy = f.read()
    with open(UNIT) as f:
        unit = f.read()
    body = unit[unit.index("[Unit]"):]
    check(body.strip() in doc, "KIOSK.md does not show rollcall-kiosk-ui.service as it is")
    check(policy.strip() in doc, "KIOSK.md does not show rollcall-kiosk.json as it is")
    json.loads(policy)
    check("agent/screen/session/rollcall-kiosk-ui.service" in doc and
          "agent/screen/session/rollcall-kiosk.json" in doc, "KIOSK.md does not name the files")


class Namespace:
    """A holder process in a new network namespace (its own loopback, so 127.0.0.1:8480 is
    ours) and mount namespace (its /etc/chromium a directory of the test's)."""

    def __init__(self, etc_chromium, log):
        self.proc = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c",
             'ip link set lo up && mount --bind "$1" /etc/chromium && echo up && exec sleep 100000',
             "sh", etc_chromium],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "up":
            log.seek(0)
            raise AssertionError("namespace: %r %s" % (line, log.read()))

    def enter(self, argv):
        return ["nsenter", "--target", str(self.proc.pid), "--net", "--mount", "--"] + argv

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Session:
    """The unit's ExecStart (cage + Chromium) as an unprivileged user in the namespace."""

    def __init__(self, ns, w):
        self.home = os.path.join(w, "kiosk-ui")
        self.runtime = os.path.join(w, "run")
        self.profile = os.path.join(self.home, "profile")
        for d in (self.home, self.runtime):
            os.mkdir(d, 0o700)
            shutil.chown(d, "nobody", "nogroup")
        env_unit, argv = unit_service()
        check(argv[0] == "/usr/bin/cage" and "--" in argv, argv)
        chromium = argv.index("--") + 1
        check(argv[chromium] == "/usr/bin/chromium", argv)
        self.app = [a for a in argv[chromium + 1:] if not a.startswith("-")][0]
        argv = argv + ["--use-fake-device-for-media-stream",
                       "--remote-debugging-port=%d" % DEBUG_PORT,
                       "--user-data-dir=" + self.profile]
        env = ["PATH=/usr/bin:/bin", "HOME=" + self.home, "XDG_RUNTIME_DIR=" + self.runtime,
               "WLR_BACKENDS=headless", "WLR_RENDERER=pixman", "WLR_LIBINPUT_NO_DEVICES=1"]
        env += ["%s=%s" % kv for kv in env_unit.items()]
        self.log = open(os.path.join(w, "session.log"), "w")
        self.proc = subprocess.Popen(
            ns.enter(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                      "env", "-i"] + env + argv),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.display = None

    def wait_up(self):
        """Waits for cage's Wayland socket and Chromium's debugging port."""
        deadline = time.monotonic() + WAIT_S
        log = os.path.join(os.path.dirname(self.home), "session.log")
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, "the session ended: %s" % self.proc.returncode)
            socks = [n for n in os.listdir(self.runtime) if re.fullmatch(r"wayland-\d+", n)]
            with open(log, errors="replace") as f:
                devtools = "DevTools listening on ws://127.0.0.1:%d/" % DEBUG_PORT in f.read()
            if socks and devtools:
                self.display = socks[0]
                return
            time.sleep(0.2)
        raise AssertionError("the session did not come up: %s %s" % (
            os.listdir(self.runtime), os.listdir(self.profile) if os.path.isdir(self.profile)
            else "no " + self.profile))

    def wayland_env(self):
        return {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": self.runtime,
                "WAYLAND_DISPLAY": self.display}

    def as_user(self, argv):
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + argv

    def grim(self, path):
        """A PNG of cage's output, the frame the screen shows."""
        r = subprocess.run(self.as_user(["grim", "-"]), env=self.wayland_env(),
                           capture_output=True, timeout=WAIT_S)
        check(r.returncode == 0 and r.stdout[:8] == b"\x89PNG\r\n\x1a\n",
              "grim: %s" % r.stderr.decode(errors="replace"))
        with open(path, "wb") as f:
            f.write(r.stdout)
        return Image.open(path).convert("RGB")

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.log.close()


class Driver(tks.Browser):
    """kiosk_driver.mjs reaching the session's Chromium over its debugging port, run inside
    the namespace (the port is on its loopback)."""

    def __init__(self, ns):  # noqa: D107 - no super().__init__: another command line
        env = dict(os.environ, ROLLCALL_CDP="http://127.0.0.1:%d" % DEBUG_PORT)
        self.proc = subprocess.Popen(ns.enter(["node", tks.DRIVER]), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=sys.stderr, text=True,
                                     cwd=ah.SRC, env=env)
        first = json.loads(self.proc.stdout.readline() or "{}")
        check(first.get("ready"), "browser driver did not connect (scripts/install-npm.sh?)")


def output_shows_window(session, path, win, what):
    """cage's output (grim) has the size the page was given as its window and its screen (the
    whole output: no browser frame or bar) and has Chromium's window drawn on it. Chromium
    draws its first frame onto the output some time after the page is ready: under load (the
    suite runs two tests at once, under TSan too) the output was once still cage's black
    background when the page's elements were already there, so the capture is taken again
    until something is drawn, for up to WAIT_S seconds, and then asserted.
    Not asserted: that the output's pixels are the page's. On wlroots' headless backend cage
    0.1.4's output commits fail ("Basic output test failed for HEADLESS-1" in its log) and it
    repaints only what it takes as damaged, misplaced: the output shows Chromium's first blank
    frame, a patchwork of old and new frames, or (in about half the runs, on the answer, which
    replaces the whole page) exactly the page. KIOSK.md, "Tests"."""
    deadline = time.monotonic() + WAIT_S
    while True:
        shot = session.grim(path)
        box = shot.getbbox()  # what is not cage's black background
        if (box and box[:2] == (0, 0)) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    check(list(shot.size) == win[:2] == win[2:],
          "%s: output %s, page window and screen %s: not full screen" % (what, shot.size, win))
    check(box and box[:2] == (0, 0), "%s: no window on the output: %s" % (what, box))


def scenario(w, col, pki, shots_dir):
    fake = gpsd_harness.Gpsfake.from_scenario(
        {"segments": [{"at": list(ah.CENTRE), "fixes": 3000, "jitter_m": 0.3, "eph_m": 4.0}]}, w)
    k = tks.ScreenKiosk(w, col.url, pki["ca"], fake.port)
    ns = session = drv = screen = None
    try:
        k.enroll_with(col)
        inst = col.token("institution:INST-0001", "inst-session")
        st_, body = tks.put(col, pki, "/v1/classes/" + tks.CLASS, inst, tks.plan())
        check(st_ in (200, 201), "PUT class: %s %s" % (st_, body))
        check(k.run("sync", "--timeout", "120").code == 0, "sync")
        k.start_daemon()
        k.wait_gnss()

        print("-- the policy where Chromium reads it, the screen at the doc's address", flush=True)
        etc = os.path.join(w, "etc-chromium")
        os.makedirs(os.path.join(etc, "policies", "managed"))
        if os.path.exists("/etc/chromium/master_preferences"):
            shutil.copy("/etc/chromium/master_preferences", etc)
        shutil.copy(POLICY, os.path.join(etc, "policies", "managed", "rollcall-kiosk.json"))
        os.chmod(w, 0o711)  # the session's user reaches its own directories below
        ns = Namespace(etc, open(os.path.join(w, "namespace.log"), "w+"))
        lines = []
        up = threading.Event()
        screen = subprocess.Popen(
            ns.enter([ah.AGENT, "--config", k.config, "screen", "--listen", LISTEN]),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)

        def read():
            for line in screen.stderr:
                lines.append(line)
                if "listening on http://%s/" % LISTEN in line:
                    up.set()
            up.set()
        threading.Thread(target=read, daemon=True).start()
        up.wait(WAIT_S)
        check(screen.poll() is None and any(LISTEN in x for x in lines),
              "screen: " + "".join(lines))

        print("-- cage + Chromium as the unit runs them", flush=True)
        session = Session(ns, w)
        check(session.app == "http://%s/" % LISTEN, session.app)
        session.wait_up()
        drv = Driver(ns)
        r = drv("attach")
        check(r["url"] == session.app, "the page is %s, not the unit's URL" % r["url"])
        drv("waitText", selector="#kiosk-id", contains="KIOSK-SCREEN")
        drv("waitText", selector="#session-list", contains=tks.CLASS)
        drv("waitText", selector="#gnss", contains="定位正常")
        cam = drv("eval", js="navigator.permissions.query({name: 'camera'}).then(p => p.state)")
        check(cam["value"] == "granted", "the policy did not grant the camera: %s" % cam)
        check(drv("eval", js="document.getElementById('camera').readyState >= 2 && "
                             "!!document.getElementById('camera').srcObject")["value"],
              "the camera preview is not playing")

        print("-- the compositor's output (grim)", flush=True)
        win = drv("eval", js="[innerWidth, innerHeight, screen.width, screen.height]")["value"]
        out = shots_dir or w
        output_shows_window(session, os.path.join(w, "start.png"), win, "start")

        print("-- a card reader types the ID; a tap on 签到", flush=True)
        n0 = len(k.events())
        # wtype cannot: cage 0.1.4 has no virtual keyboard protocol ("Compositor does not
        # support the virtual keyboard protocol"); the keys go in through Chromium's input
        # pipeline over CDP instead, a burst of digits and Enter as a card reader types them
        r = subprocess.run(session.as_user(["wtype", "1"]), env=session.wayland_env(),
                           capture_output=True, text=True, timeout=WAIT_S)
        check(r.returncode != 0 and "virtual keyboard" in r.stderr,
              "wtype works now (cage has the virtual keyboard protocol): type with it: %s" % r)
        drv("card", id=tks.ON)
        drv("waitText", selector="#who", contains=tks.MASKED_NAME)
        v = drv("eval", js="document.querySelector('input[name=trainee]').value")["value"]
        check(v == tks.ON, "the field holds %r" % v)
        drv("click", action="signin")
        a = drv("answer")["answer"]
        check(a["ok"] and a["verdict"] == "inside" and "签到已记录" in a["title"], a)
        check(tks.MASKED_NAME in a["who"], a)
        output_shows_window(session, os.path.join(out, "18-session-cage-signin-1280x720.png"),
                            win, "answer")
        check(drv("eval", js="!document.getElementById('answer').hidden")["value"],
              "the answer left the screen before its screenshot")
        evs = k.events()
        check(len(evs) == n0 + 1, "one event for one sign-in: %d" % (len(evs) - n0))
        ev = evs[-1][1]
        check(ev["type"] == "signin" and ev["class"] == tks.CLASS and ev["session"] == "S01", ev)
        tks.signed_photo(k, ev)
        check(tks.ON not in "".join(lines), "the clear ID number in the screen's log")
    finally:
        if drv:
            drv.close()
        if session:
            session.close()
        if screen and screen.poll() is None:
            screen.terminate()
            screen.wait(WAIT_S)
        if ns:
            ns.close()
        k.close()
        fake.stop()


def main():
    for tool in ("node", "cage", "grim", "wtype", "unshare", "nsenter", "setpriv"):
        if not shutil.which(tool):
            print("FAILED: needs %s (scripts/install-deps.sh)" % tool)
            return 1
    if os.geteuid() != 0:
        print("FAILED: runs as root (namespaces, the session's user)")
        return 1
    shots_dir = os.environ.get("ROLLCALL_SCREENSHOTS")
    failed = False
    with tempfile.TemporaryDirectory(prefix="rc-session-") as w:
        try:
            doc_matches_files()
            pki = ph.make_pki(w)
            col = ph.Collector(w, pki)
            col.start()
            try:
                scenario(w, col, pki, shots_dir)
            finally:
                col.stop()
        except Exception:  # noqa: BLE001 - print the logs with the failure
            failed = True
            traceback.print_exc()
            log = os.path.join(w, "session.log")
            if os.path.exists(log):
                with open(log) as f:
                    print("session log (tail, dbus noise left out):\n" + "".join(
                        [x for x in f if "dbus" not in x][-30:]))
    print("FAILED" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
