#!/usr/bin/python3
# labels: collector browser
"""Random roll-calls (随机点名) on the kiosk screen, end to end: headless Debian chromium
(playwright-core, tests/browser/kiosk_driver.mjs) with a fake camera, `rollcall-agent screen`,
the real daemon reading a real gpsd (gpsfake) and drawing the class's two roll-calls quickly
(the test-only ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S, docs/AGENT.md), and the real collector.

- A signs in on the keypad; roll-call R1 opens: the banner appears (Chinese, then English by
  the switch); A types the ID on the keypad and presses 确认点名: "点名确认已记录", and the
  rollcall_confirm event carries the photo's SHA-256 (the file stored, its bytes hashing to it);
- B signs in first on a kiosk without a camera (landscape 1280x800; no_photo "no_camera") and
  answers R1 on the control socket; R2 opens while R1 is still open: the banner shows R2, the
  newest; B confirms it on that screen; A misses R2;
- two classes share the venue at that time: the page asks which, sign-in stays off until one
  is chosen; gpsd gone: the stale-fix warning;
- at the collector, through the institution's API: the attendance report shows two roll-calls
  held for each, one missed by A, the rollcall_missed finding with the R2 event as evidence;
  GET /v1/findings lists that finding and B's no_photo finding (a missing camera is a finding
  the institution sees), and so does the class report (`ingest_findings`, severity low, in the
  API, `report attendance --format json` and its text), apart from the engine's `findings`.
Screenshots of the banner and a confirmed roll-call (both sizes) go to $ROLLCALL_SCREENSHOTS.
"""

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402
import pipe_harness as ph  # noqa: E402
import test_kiosk_screen as ks  # noqa: E402
from test_schedule import get  # noqa: E402

for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

CLASS = "TJ-2026-RC-SCREEN"
CLASS2 = "TJ-2026-RC-OTHER"
A = ph.id_number(20)
B = ph.id_number(21)
MASKED_A, MASKED_B = "王*明", "赵*"
OFFSETS = (15, 45)   # seconds after the daemon's draw: R1, R2
SESSION_LEFT_S = 110  # the session ends this long after the class is declared
check = ks.check


def masked_id(i):
    return i[:4] + "*" * 10 + i[-4:]


def plan(start, end):
    return {"id": CLASS, "institution": "INST-0001", "district": "120103",
            "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-10-01",
            "rollcalls": 2, "rollcall_window_min": 1,
            "sessions": [{"id": "S01", "start": ks.iso(start), "end": ks.iso(end),
                          "mode": "offline", "fence": ah.FENCE_ID}],
            "roster": [{"id_number": A, "name": "王小明", "student": False},
                       {"id_number": B, "name": "赵六", "student": False}]}


def plan_other(start, end):
    """Another class at the same venue at the same time, without roll-calls."""
    p = plan(start, end)
    p.update(id=CLASS2, rollcalls=0)
    p["roster"] = p["roster"][:1]
    return p


def choose(b, cls):
    """Several classes at the venue: the page asks, the trainee taps theirs."""
    b("waitText", selector="#session-list", contains="请选择您的课程")
    b("waitText", selector="#session-list", contains=CLASS2)
    b("eval", js="document.querySelector('#session-list [data-class=\"%s\"]').click()" % cls)
    check(b("eval", js="document.querySelector('[aria-checked=true]').dataset.class")["value"]
          == cls, "the class was not chosen")


def wait_banner(b, rid):
    # the page polls the daemon's roll-calls every 10 s
    b("waitText", selector="#rollcall:not([hidden]) #rollcall-text", contains=rid)


def scenarios(w, col, pki, b, shots):
    fake = gpsd_harness.Gpsfake.from_scenario(
        {"segments": [{"at": list(ks.C), "fixes": 3000, "jitter_m": 0.3, "eph_m": 4.0}]}, w)
    k = ks.ScreenKiosk(w, col.url, pki["ca"], fake.port)
    try:
        k.enroll_with(col)
        inst = col.token("institution:INST-0001", "inst-rc-screen")
        now = int(time.time())
        start, end = now - 120, now + SESSION_LEFT_S
        st_, body = ks.put(col, pki, "/v1/classes/" + CLASS, inst, plan(start, end))
        check(st_ in (200, 201), "PUT class: %s %s" % (st_, body))
        st_, body = ks.put(col, pki, "/v1/classes/" + CLASS2, inst, plan_other(start, end))
        check(st_ in (200, 201), "PUT class: %s %s" % (st_, body))
        r = k.run("sync", "--json", "--timeout", "120")
        check(r.code == 0 and r.json()["schedule"] == "updated", r)
        os.environ["ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S"] = ",".join(map(str, OFFSETS))
        try:
            k.start_daemon()
        finally:
            del os.environ["ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S"]
        k.wait_gnss()
        url = k.start_screen()

        print("-- a kiosk without a camera (landscape): B signs in, no photo", flush=True)
        b("open", url=url, width=1280, height=800, noCamera=True)
        b("card", id=B)
        check(b("eval", js="document.querySelector('[data-action=signin]').disabled")["value"],
              "sign-in enabled before a class is chosen")
        choose(b, CLASS)
        b("key", key="clear")
        b("card", id=B)
        b("waitText", selector="#who", contains=MASKED_B)
        b("click", action="signin")
        a = b("answer")["answer"]
        check(a["ok"], a)
        ev = k.last_event()
        check(ev["type"] == "signin" and ev.get("no_photo") == "no_camera", ev)

        print("-- A signs in on the keypad (portrait, camera); no roll-call yet", flush=True)
        b("open", url=url, width=1080, height=1920)
        choose(b, CLASS)
        b("keypad", id=A)
        b("waitText", selector="#who", contains=MASKED_A)
        b("click", action="signin")
        a = b("answer")["answer"]
        check(a["ok"] and "签到已记录" in a["title"], a)
        b("click", action="done")

        print("-- R1 opens: the banner, in Chinese then English", flush=True)
        wait_banner(b, "R1")
        text = b("text", selector="#rollcall-text")["text"]
        check(text.startswith("随机点名 R1") and "确认" in text, text)
        check("确认点名" in b("text", selector="[data-action=confirm]")["text"], "button")
        check(b("eval", js="document.querySelector('[data-action=confirm]').disabled")["value"],
              "confirm enabled without an ID")
        b("click", action="lang")
        b("waitText", selector="#rollcall-text", contains="Roll-call R1")
        b("waitText", selector="[data-action=confirm]", contains="Confirm roll-call")
        b("click", action="lang")
        b("waitText", selector="#rollcall-text", contains="随机点名 R1")
        b("keypad", id=A)
        b("waitText", selector="#who", contains=MASKED_A)
        shots("14-rollcall-1080x1920")

        print("-- A confirms R1 through the page, with a photo", flush=True)
        n0 = len(k.events())
        b("click", action="confirm")
        a = b("answer")["answer"]
        check(a["ok"] and "点名确认已记录" in a["title"] and a["verdict"] == "inside", a)
        check("在场地内" in a["where"] and MASKED_A in a["who"], a)
        shots("15-rollcall-confirmed-1080x1920")
        evs = [e for _, e in k.events()[n0:]]
        conf = [e for e in evs if e["type"] == "rollcall_confirm"]
        check(len(conf) == 1 and conf[0]["rollcall"] == "R1" and conf[0]["class"] == CLASS and
              conf[0]["session"] == "S01", evs)
        h_conf = ks.signed_photo(k, conf[0])
        b("click", action="done")
        rep = k.control({"cmd": "confirm", "trainee": B, "class": CLASS, "session": "S01",
                         "rollcall": "R1", "no_photo": "no_camera"})
        check(rep.get("ok") is True, rep)

        print("-- R2 opens while R1 is open: the banner shows R2", flush=True)
        wait_banner(b, "R2")
        rep = k.control({"cmd": "rollcall"})
        check([x["rollcall"] for x in rep["rollcalls"]] == ["R1", "R2"], rep)

        print("-- landscape, no camera: B confirms R2; A misses it", flush=True)
        b("open", url=url, width=1280, height=800, noCamera=True)
        choose(b, CLASS)
        wait_banner(b, "R2")
        b("card", id=B)
        b("waitText", selector="#who", contains=MASKED_B)
        shots("14-rollcall-1280x800")
        b("waitText", selector="#who", contains=MASKED_B)
        b("click", action="confirm")
        a = b("answer")["answer"]
        check(a["ok"] and "点名确认已记录" in a["title"], a)
        shots("15-rollcall-confirmed-1280x800")
        ev = k.last_event()
        check(ev["type"] == "rollcall_confirm" and ev["rollcall"] == "R2" and
              ev.get("no_photo") == "no_camera", ev)
        b("click", action="done")
        errs = b("errors")["errors"]
        check(not errs, "page errors: %s" % errs)

        for t in (A, B):
            rep = k.control({"cmd": "signout", "trainee": t, "class": CLASS, "session": "S01",
                             "no_photo": "no_camera"})
            check(rep.get("ok") is True, rep)

        print("-- gpsd gone: the stale-fix warning", flush=True)
        fake.stop()
        b("waitText", selector="#warnings", contains="定位已过期")

        print("-- at the collector, after the session ends", flush=True)
        left = end - time.time() + 1
        if left > 0:
            time.sleep(left)
        r = k.run("sync", "--json", "--timeout", "120")
        check(r.code == 0, r)
        ph.check_exactly_once(k, col)
        raws = [bytes(x[1]).decode() for x in col.rows("KIOSK-SCREEN")]
        check(any('"rollcall_confirm"' in x and h_conf in x for x in raws),
              "the confirmation's photo hash is not at the collector")
        with open(os.path.join(col.photo_dir, h_conf + ".jpg"), "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == h_conf, "confirmation photo differs")
        rolls = [e for _, e in k.events() if e["type"] == "rollcall"]
        check([e["rollcall"] for e in rolls] == ["R1", "R2"], rolls)

        st_, _, body = get(col, pki, "/v1/classes/%s/attendance" % CLASS, inst)
        check(st_ == 200, (st_, body))
        rep = json.loads(body)
        by = {t["trainee_masked"]: t for t in rep["trainees"]}
        ta, tb = by[masked_id(A)], by[masked_id(B)]
        check(ta["rollcalls_held"] == 2 and ta["rollcalls_missed"] == 1, ta)
        check(tb["rollcalls_held"] == 2 and tb["rollcalls_missed"] == 0, tb)
        missed = [f for f in rep["findings"] if f["kind"] == "rollcall_missed"]
        check(len(missed) == 1 and missed[0]["evidence"] == [rolls[1]["id"]], missed)
        check([f["kind"] for f in ta["findings"]].count("rollcall_missed") == 1, ta["findings"])
        # the class report shows what ingest stored too, on its own scale, beside the engine's
        ing = rep["ingest_findings"]
        check(rep["ingest_findings_truncated"] is False, rep["ingest_findings_truncated"])
        check(all(f["source"] == "ingest" and f["class"] == CLASS for f in ing), ing)
        rep_nop = [f for f in ing if f["kind"] == "no_photo"]
        check(rep_nop and all(f["severity"] == "low" and f["subject"] == "KIOSK-SCREEN"
                              for f in rep_nop), ing)
        # The detail from its catalogue template, in the default language (Chinese), with its
        # code and arguments beside it (docs/API.md "Languages").
        check(any(f.get("detail_code") == "no_photo" and
                  f["detail_args"].get("why") == "@no_photo_no_camera" and
                  "无摄像头" in f["detail"] and masked_id(B) in f["detail"] for f in rep_nop),
              rep_nop)
        check(not any(f["kind"] == "no_photo" for f in rep["findings"]),
              "an ingest finding among the engine's")

        q = urllib.parse.urlencode({"class": CLASS})
        st_, _, body = get(col, pki, "/v1/findings?" + q, inst)
        check(st_ == 200, (st_, body))
        fs = json.loads(body)["findings"]
        check([f["kind"] for f in fs].count("rollcall_missed") == 1, fs)
        nop = [f for f in fs if f["kind"] == "no_photo"]
        check(nop and all(f["source"] == "ingest" and f["class"] == CLASS for f in nop), fs)
        check(any(f.get("detail_args", {}).get("event") == "@event_signin" and
                  "签到" in f["detail"] and "无摄像头" in f["detail"] and
                  masked_id(B) in f["detail"] for f in nop), nop)
        r = col.cmd("report", "findings", "--class", CLASS, "--format", "json")
        check(r.returncode == 0, r.stderr)
        kinds = [f["kind"] for f in json.loads(r.stdout)["findings"]]
        check("no_photo" in kinds and "rollcall_missed" in kinds, kinds)
        check(len(nop) == len(rep_nop), (nop, rep_nop))  # the class report misses none
        r = col.cmd("report", "attendance", "--class", CLASS, "--format", "json")
        check(r.returncode == 0, r.stderr)
        cli = json.loads(r.stdout)["ingest_findings"]
        check([f["id"] for f in cli] == [f["id"] for f in ing], (cli, ing))
        r = col.cmd("report", "attendance", "--class", CLASS)
        check(r.returncode == 0, r.stderr)
        text = r.stdout[r.stdout.index("findings stored by ingest"):]
        check(re.search(r"\n  low +no_photo +KIOSK-SCREEN#\d+ .*no_camera", text), text)
        for line in k.screen_lines + [k.daemon_log()]:
            for idn in (A, B):
                check(idn not in line, "a clear ID number in a log")
    except Exception:
        print("screen log (tail):\n" + "".join(k.screen_lines[-60:]))
        print("daemon log (tail):\n" + k.daemon_log()[-3000:])
        raise
    finally:
        k.stop_screen()
        k.close()
        fake.stop()


def main():
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("FAILED: needs node and Debian's chromium (scripts/install-deps.sh)")
        return 1
    failures = []
    with tempfile.TemporaryDirectory(prefix="rc-screen-rc-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.photo_dir = os.path.join(w, "photos")
        col.extra_args = ["--photo-dir", col.photo_dir, "--photo-retention-days", "30"]
        col.start()
        b = ks.Browser()
        try:
            scenarios(w, col, pki, b, ks.Shots(b, w))
        except Exception:  # noqa: BLE001 - print the logs with the failure
            failures.append("rollcall screen")
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
