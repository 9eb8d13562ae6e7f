#!/usr/bin/python3
# labels: collector browser
"""The kiosk screen's two warnings nothing else makes happen, made to happen for real and read
on screen in headless Chromium (tests/browser/kiosk_driver.mjs), Chinese first, then English:

- the clock disagrees with GNSS: gpsfake replays a track whose GNSS time is one hour behind the
  system clock, so the daemon's `clock_skew_ms` (GNSS time minus the system clock at the last
  fix, docs/GNSS.md) is about -3,600,000 and the page says 本机时钟与卫星时间相差 -3600 秒;
- storage is low: the kiosk's data directory is a 2 MiB tmpfs (as test_agent_disk_full.py),
  a filler file takes the space left, sign-ins through the control socket are refused until
  `status` says `storage.full`, and the page says 存储空间不足.

Runs as root (it mounts a tmpfs; the test command does). Screenshots go to
$ROLLCALL_SCREENSHOTS (docs/kiosk/, 16 and 17) when set.
"""

import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpsd_harness  # noqa: E402
import pipe_harness as ph  # noqa: E402
import test_kiosk_screen as ks  # noqa: E402

for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

check = ks.check
SKEW_S = 3600        # GNSS time this far behind the system clock
MAX_SIGNINS = 5000   # sign-ins tried before storage must be full
WAIT_S = 90


def wait_status(k, pred, what):
    deadline = time.monotonic() + WAIT_S
    st = None
    while time.monotonic() < deadline:
        st = k.status()
        if pred(st):
            return st
        time.sleep(0.5)
    raise AssertionError("%s not within %d s: %s" % (what, WAIT_S, st))


def fill(path):
    """Writes path until the filesystem has no room left (ENOSPC ends it, even at the open:
    the daemon's writes may have taken the last block already)."""
    block = b"\0" * 4096
    try:
        with open(path, "wb") as f:
            while True:
                f.write(block)
                f.flush()
    except OSError as e:
        check(e.errno == errno.ENOSPC, "filling the disk: %s" % e)


def scenarios(w, col, pki, b, shots):
    fake = gpsd_harness.Gpsfake.from_scenario(
        {"segments": [{"at": list(ks.C), "fixes": 3000, "jitter_m": 0.3, "eph_m": 4.0}]}, w,
        start=int(time.time()) - SKEW_S)
    k = ks.ScreenKiosk(w, col.url, pki["ca"], fake.port)
    try:
        k.enroll_with(col)
        col.stop()  # the kiosk works offline; nothing here needs the collector any more
        k.start_daemon()
        st = wait_status(k, lambda s: isinstance(s.get("clock_skew_ms"), (int, float)),
                         "a GNSS fix with a time")
        skew = st["clock_skew_ms"]
        # the fix was read within a second of its GNSS time plus a few seconds of replay
        check(-(SKEW_S + 120) * 1000 < skew < -(SKEW_S - 120) * 1000, st)
        url = k.start_screen()

        print("-- the clock disagrees with GNSS: warned on screen", flush=True)
        b("open", url=url, width=1080, height=1920)
        b("waitText", selector="#warnings [data-warning=clock]", contains="本机时钟与卫星时间相差")
        text = b("text", selector="#warnings [data-warning=clock]")["text"]
        secs = int(text.split("相差")[1].split("秒")[0].strip())
        check(abs(secs + SKEW_S) < 120, "the seconds shown: %r" % text)
        check("请联系工作人员" in text, text)
        check("存储空间不足" not in b("text", selector="#warnings")["text"],
              "storage warned before it was low")
        shots("16-warning-clock-1080x1920")
        b("click", action="lang")
        b("waitText", selector="#warnings [data-warning=clock]", contains="s off GNSS time")
        text = b("text", selector="#warnings [data-warning=clock]")["text"]
        check("please ask the staff" in text and str(secs) in text, text)
        b("click", action="lang")

        print("-- storage is low: the outbox refuses, status says full, warned", flush=True)
        fill(os.path.join(k.data, "filler"))
        refused = 0
        for i in range(MAX_SIGNINS):
            r = k.control({"cmd": "signin", "trainee": ph.id_number(100 + i),
                           "class": ks.CLASS, "session": "S01"})
            refused = 0 if r["ok"] else refused + 1
            if refused == 5:
                break
        check(refused == 5, "no lasting refusal with the disk full: %s" % r)
        check(k.status()["storage"]["full"] is True, k.status()["storage"])
        b("waitText", selector="#warnings [data-warning=storage]", contains="存储空间不足")
        text = b("text", selector="#warnings")["text"]
        check("新的签到可能无法记录" in text, text)
        check("本机时钟与卫星时间相差" in text, "the clock warning went: " + text)
        shots("17-warning-storage-1080x1920")
        b("click", action="lang")
        b("waitText", selector="#warnings [data-warning=storage]", contains="Storage is low")
        errs = b("errors")["errors"]
        check(not errs, "page errors: %s" % errs)
    except Exception:
        print("screen log (tail):\n" + "".join(k.screen_lines[-40:]))
        print("daemon log (tail):\n" + k.daemon_log()[-2000:])
        raise
    finally:
        k.stop_screen()
        k.close()
        fake.stop()


def main():
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("FAILED: needs node and Debian's chromium (scripts/install-deps.sh)")
        return 1
    if os.geteuid() != 0:
        print("FAILED: mounts a tmpfs and so must run as root (the test command does)")
        return 1
    failures = []
    with tempfile.TemporaryDirectory(prefix="rc-screen-warn-") as w:
        data = os.path.join(w, "kiosk", "data")  # ScreenKiosk's data directory
        os.makedirs(data)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", data],
                           capture_output=True, text=True)
        if m.returncode != 0:
            print("FAILED: mounting a 2 MiB tmpfs refused: %s" % m.stderr.strip())
            return 1
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.start()
        b = ks.Browser()
        try:
            scenarios(w, col, pki, b, ks.Shots(b, w))
        except Exception:  # noqa: BLE001 - print the logs with the failure
            failures.append("warnings")
            traceback.print_exc()
            print("collector log (tail):\n" + "".join(col.lines[-30:]))
        finally:
            b.close()
            col.stop()
            subprocess.run(["umount", "-l", data], capture_output=True)
    if failures:
        print("FAILED")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
