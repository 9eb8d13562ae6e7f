#!/usr/bin/python3
# labels: collector
"""The kiosk screen's photos on the kiosk, without a browser: `rollcall-agent screen` and the
real daemon (gpsd via gpsfake), requests as the page sends them.

- photos are content-addressed: a sign-in records photo P; the same bytes stored again for a
  sign-in the daemon refuses leave P in place (the earlier event names it and it is not
  uploaded yet; the screen used to delete it);
- the orphan sweep (at the screen's start, then every minute): a still no event names, stored
  more than 10 minutes ago, is removed, and so is a left-over temporary file; P, named by an
  event not uploaded yet, stays however old; a recent still stays;
- storing the same bytes again renews the still's time, so a sweep cannot remove a still that
  a sign-in is about to name;
- sync uploads P and deletes it on the kiosk.
"""

import hashlib
import json
import os
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
ON = ph.id_number(30)
BAD = ON[:17] + ("0" if ON[17] != "0" else "1")  # a wrong check digit: the daemon refuses
HOUR = 3600


def jpeg(tag):
    return b"\xff\xd8\xff\xe0" + tag.encode() * 200 + b"\xff\xd9"


def scenarios(w, col, pki):
    fake = gpsd_harness.Gpsfake.from_scenario(
        {"segments": [{"at": list(ks.C), "fixes": 3000, "jitter_m": 0.3, "eph_m": 4.0}]}, w)
    k = ks.ScreenKiosk(w, col.url, pki["ca"], fake.port)
    try:
        k.enroll_with(col)
        k.start_daemon()
        k.wait_gnss()
        k.start_screen()
        port = k.port
        hdr = {"Host": "127.0.0.1:%d" % port, "Origin": "http://127.0.0.1:%d" % port}

        def photo(data):
            st, body = ks.http_post(port, "/api/photo", data,
                                    dict(hdr, **{"Content-Type": "image/jpeg"}))
            rep = json.loads(body)
            check(st == 200 and rep["ok"], (st, rep))
            check(rep["photo_sha256"] == hashlib.sha256(data).hexdigest(), rep)
            return rep["photo_sha256"]

        def signin(trainee, h):
            st, body = ks.http_post(port, "/api/signin", json.dumps(
                {"trainee": trainee, "class": "TJ-2026-PH-0001", "session": "S01",
                 "photo_sha256": h}), dict(hdr, **{"Content-Type": "application/json"}))
            check(st == 200, (st, body))
            return json.loads(body)

        print("-- a refused sign-in naming a photo an earlier event names leaves it", flush=True)
        p = photo(jpeg("same"))
        rep = signin(ON, p)
        check(rep.get("ok") is True, rep)
        check(k.last_event().get("photo_sha256") == p, k.last_event())
        check(photo(jpeg("same")) == p, "content-addressed")
        n = len(k.events())
        rep = signin(BAD, p)
        check(rep.get("ok") is False, rep)
        check(len(k.events()) == n, "a refused sign-in recorded something")
        check(os.path.exists(k.photo_path(p)),
              "the photo of a recorded, not yet uploaded event was deleted")
        with open(k.photo_path(p), "rb") as f:
            check(f.read() == jpeg("same"), "the photo changed")

        print("-- the orphan sweep: old stills no event names go, named ones stay", flush=True)
        orphan = photo(jpeg("orphan"))
        recent = photo(jpeg("recent"))
        refused = photo(jpeg("refused"))
        check(signin(BAD, refused).get("ok") is False, "refused")
        tmp = os.path.join(k.data, "photos", "ab" * 32 + ".jpg.tmp")
        with open(tmp, "wb") as f:
            f.write(b"\xff\xd8\xff half")
        other = os.path.join(k.data, "photos", "notes.txt")  # not a photo's name: not touched
        with open(other, "w") as f:
            f.write("x")
        old = time.time() - HOUR
        for path in (k.photo_path(p), k.photo_path(orphan), k.photo_path(refused), tmp, other):
            os.utime(path, (old, old))
        check(k.stop_screen() == 0, "screen did not stop")
        k.screen_lines.clear()
        k.start_screen()
        port = k.port
        hdr = {"Host": "127.0.0.1:%d" % port, "Origin": "http://127.0.0.1:%d" % port}
        check(not os.path.exists(k.photo_path(orphan)), "an old orphan still was kept")
        check(not os.path.exists(k.photo_path(refused)), "an old refused still was kept")
        check(not os.path.exists(tmp), "an old temporary file was kept")
        check(os.path.exists(k.photo_path(p)), "the sweep removed a photo an event names")
        check(os.path.exists(k.photo_path(recent)), "the sweep removed a recent still")
        check(os.path.exists(other), "the sweep removed a file that is not a photo")
        check(any("photo sweep: 3 still(s)" in x for x in k.screen_lines), k.screen_lines)

        print("-- the same bytes stored again renew the time", flush=True)
        os.utime(k.photo_path(recent), (old, old))
        check(photo(jpeg("recent")) == recent, "content-addressed")
        check(time.time() - os.stat(k.photo_path(recent)).st_mtime < 60,
              "storing the same bytes again kept the old time")

        print("-- sync uploads the named photo and deletes it here", flush=True)
        r = k.run("sync", "--json", "--timeout", "120")
        check(r.code == 0 and r.json()["photos_uploaded"] == 1, r)
        check(not os.path.exists(k.photo_path(p)), "an uploaded photo stayed on the kiosk")
        with open(os.path.join(col.photo_dir, p + ".jpg"), "rb") as f:
            check(f.read() == jpeg("same"), "the collector's photo differs")
    except Exception:
        print("screen log (tail):\n" + "".join(k.screen_lines[-40:]))
        print("daemon log (tail):\n" + k.daemon_log()[-2000:])
        raise
    finally:
        k.stop_screen()
        k.close()
        fake.stop()


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="rc-screen-ph-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.photo_dir = os.path.join(w, "photos")
        col.extra_args = ["--photo-dir", col.photo_dir]
        col.start()
        try:
            scenarios(w, col, pki)
        except Exception:  # noqa: BLE001 - print the collector's log with the failure
            failures.append("photos")
            traceback.print_exc()
            print("collector log (tail):\n" + "".join(col.lines[-30:]))
        finally:
            col.stop()
    if failures:
        print("FAILED")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
