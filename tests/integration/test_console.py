#!/usr/bin/python3
# labels: collector browser
"""The console (web/console/, served by `rollcall-server serve` at / and /assets/) in headless
Debian chromium (playwright-core, tests/browser/console_driver.mjs), as officials use it, over
HTTPS against a real collector with a class whose second session is running now:

- static serving: index no-cache with an ETag (304 on If-None-Match), hashed assets immutable,
  the strict Content-Security-Policy on both; a bad --tiles template refused at start, a good
  one's host added to img-src and handed to the page;
- for every role (admin, city, district:CODE, institution:ID, evaluator): log in through the form
  (fields user and password), open every page its menu offers, and check the figures shown
  against the API's answers to the same session (overview cards and tables, the class's
  figures and map points, the review queue, kiosks, exports);
- a district approves a flagged sign-in with a reason from the keyboard: the page says the class
  rate went from A to B, and B is the API's new figure; the review is listed with who and when;
- the live page updates without a reload when the kiosk uploads a sign-in;
- log out: the old cookie is refused; a session past its idle time is refused and the page
  shows the login form; a write without the CSRF token is refused (403);
- no console errors; no request to any host other than the collector.
Screenshots of every page (1366x768 and 1920x1080) go to $ROLLCALL_SCREENSHOTS when set
(docs/console/ in the repository)."""

import hashlib
import http.client
import io
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

import openpyxl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingestlib  # noqa: E402
from ingestlib import SERVER, Server, make_pki, run  # noqa: E402
from ingestlib import circle  # noqa: E402
from test_figures import IDS, LAT, LON, FAR_LAT, NAMES, World, pseudonym, upload  # noqa: E402

for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(SRC, "tests", "browser", "console_driver.mjs")
H = 3600 * 1000
M = 60 * 1000
PW = {"root": "root's long password", "bureau": "区人社局的口令 2026",
      "school": "institution password!", "assessor": "evaluator password?",
      "city": "市人社局 city password"}
ROLES = {"root": "admin", "bureau": "district:120103", "school": "institution:INST-A",
         "assessor": "evaluator", "city": "city"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def iso8(ms):
    t = time.gmtime((ms + 8 * H) // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", t)


def pct(r):
    return "—" if r is None else "%.1f%%" % (r * 100)


def live_plan(now, cid="C-A", inst="INST-A", district="120103"):
    """Class C-A: S01 yesterday (finished), S02 running now (started an hour ago)."""
    y = now - 24 * H - 2 * H
    return {"id": cid, "institution": inst, "district": district,
            "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-10-01",
            "sessions": [
                {"id": "S01", "start": iso8(y), "end": iso8(y + 2 * H), "mode": "offline",
                 "fence": "venue-a"},
                {"id": "S02", "start": iso8(now - H), "end": iso8(now + 2 * H),
                 "mode": "offline", "fence": "venue-a"}],
            "roster": [{"id_number": IDS[i], "name": NAMES[i], "student": False}
                       for i in range(3)]}


class Browser:
    """console_driver.mjs in a node process: one JSON line each way."""

    def __init__(self):
        self.proc = subprocess.Popen(["node", DRIVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=sys.stderr, text=True,
                                     cwd=SRC)
        first = json.loads(self.proc.stdout.readline() or "{}")
        if not first.get("ready"):
            raise AssertionError("browser driver did not start (scripts/install-npm.sh?)")

    def __call__(self, op, **kw):
        kw["op"] = op
        self.proc.stdin.write(json.dumps(kw, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("browser driver died during %s" % op)
        r = json.loads(line)
        if "error" in r and op != "login":
            raise AssertionError("%s %s: %s" % (op, kw, r["error"]))
        return r

    def close(self):
        try:
            self.proc.stdin.write('{"op":"quit"}\n')
            self.proc.stdin.flush()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class Session:
    """The API as the page's session sees it: the same cookie, the same answers."""

    def __init__(self, port, ctx, cookie, csrf=None):
        self.port, self.ctx, self.cookie, self.csrf = port, ctx, cookie, csrf

    def req(self, method, path, body=None, csrf=True):
        h = {"Cookie": "rollcall_session=" + self.cookie}
        if body is not None:
            body = json.dumps(body, ensure_ascii=False).encode()
            h["Content-Type"] = "application/json"
        if csrf and self.csrf and method != "GET":
            h["X-CSRF-Token"] = self.csrf
        return ingestlib.request(self.port, self.ctx, method, path, body, h)


def raw_get(port, ctx, path, headers=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def headline(summary):
    """What the overview's cards show (app.js headline)."""
    ds = summary["districts"]
    if len(ds) == 1:
        return ds[0]
    s = lambda k: sum(r.get(k) or 0 for r in ds)  # noqa: E731
    sched, att = s("scheduled_hours"), s("attended_hours")
    return {"attendance_rate": att / sched if sched else None,
            "pass_rate_enrolled": s("passed") / s("enrolled") if s("enrolled") else None}


def setup(w, now):
    for user, role in ROLES.items():
        r = run("user", "add", user, "--role", role, db=w.db, input=PW[user] + "\n")
        check(r.returncode == 0, "user add %s: %s" % (user, r.stderr))
    r = run("signing-key", "create", db=w.db)
    check(r.returncode == 0, "signing-key create: %s" % r.stderr)
    k = w.enrol("K-A1", "INST-A")
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A", live_plan(now))
    check(st == 201, "PUT C-A: %s %s" % (st, body))
    # C-B of another institution and district: nobody signed in (0 %), so the city's figures
    # are hours-weighted over two districts and the sorting has something to sort.
    st, body = w.req("inst-b", "PUT", "/v1/classes/C-B", live_plan(now, "C-B", "INST-B", "120104"))
    check(st == 201, "PUT C-B: %s %s" % (st, body))
    p = [pseudonym(k.key_hex, i) for i in IDS]
    y = now - 24 * H - 2 * H
    ev = [k.heartbeat_at(y - 10 * M),
          k.sign("signin", y - 5 * M, p[0], IDS[0], "S01", LAT, "inside"),
          k.sign("signin", y, p[1], IDS[1], "S01", FAR_LAT, "outside"),
          k.sign("signout", y + 2 * H, p[0], IDS[0], "S01", LAT, "inside"),
          k.sign("signout", y + 2 * H + M, p[1], IDS[1], "S01", LAT, "inside"),
          k.rec_file(y + 2 * H + 2 * M, y, y + 2 * H, "S01"),
          # no photo of this sign-in: ingest stores a no_photo finding (finding_details)
          k.sign("signin", now - H, p[0], IDS[0], "S02", LAT, "inside",
                 extra=['"no_photo":"refused"']),
          k.heartbeat_at(now - 2 * M)]
    upload(w.port, w.ctx, k, ev, [len(ev)])
    return k, p


def walk_role(b, w, user, shots, origin):
    """Logs in as user, opens every page of the menu and compares with the API. Returns the
    page's session (cookie and CSRF token)."""
    b("open", origin=origin, width=1366, height=768)
    shots(b, "login", user)
    r = b("login", user=user, password=PW[user])
    check("error" not in r, "%s logs in: %s" % (user, r))
    nav = r.get("nav", [])
    want = ["overview", "live", "klass", "review", "subsidy", "kiosks", "exports"]
    if ROLES[user] == "evaluator":
        want.remove("kiosks")
        want.remove("subsidy")  # the subsidy procedure is not the evaluator's
    if ROLES[user] == "admin":
        want.append("admin")
    check(nav == want, "%s's menu: %s, want %s" % (user, nav, want))
    cookie = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"]
    check(len(cookie) == 1 and cookie[0]["httpOnly"] and cookie[0]["sameSite"] == "Strict"
          and cookie[0]["secure"], "%s: the session cookie is HttpOnly, Strict, Secure: %s"
          % (user, cookie))
    csrf = b("eval", js="fetch('/v1/me').then(r => r.json()).then(j => j.csrf_token)")["value"]
    s = Session(w.port, w.ctx, cookie[0]["value"], csrf)

    # Overview: the cards and every table row against the summary.
    st, summary = s.req("GET", "/v1/summary")
    check(st == 200, "%s summary: %s" % (user, st))
    h = headline(summary)
    shown = b("text", selector='[data-figure="attendance_rate"] .v')["text"]
    check(shown == pct(h["attendance_rate"]), "%s overview attendance %s, API %s"
          % (user, shown, pct(h["attendance_rate"])))
    shown = b("text", selector='[data-figure="pass_rate_enrolled"] .v')["text"]
    check(shown == pct(h["pass_rate_enrolled"]), "%s overview pass rate %s, API %s"
          % (user, shown, pct(h["pass_rate_enrolled"])))
    for table, key in (("districts", "district"), ("institutions", "institution"),
                       ("classes", "class")):
        keys = b("eval", js="[...document.querySelectorAll('table[data-table=%s] tbody tr')]"
                 ".map(r => r.dataset.key)" % table)["value"]
        check(keys == [r[key] for r in summary[table]], "%s overview %s: %s vs %s"
              % (user, table, keys, [r[key] for r in summary[table]]))
        rates = b("texts", selector="table[data-table=%s] tbody td.rate" % table)["texts"]
        check(rates == [pct(r["attendance_rate"]) for r in summary[table]],
              "%s overview %s rates %s" % (user, table, rates))
        # Coloured by the policy's thresholds (GET /v1/summary "policy"), not the page's own.
        pol = summary["policy"]
        colours = b("eval", js="[...document.querySelectorAll('table[data-table=%s] tbody td.rate')]"
                    ".map(td => td.classList.contains('bad') ? 'bad' : "
                    "td.classList.contains('warn') ? 'warn' : '')" % table)["value"]
        want = ["" if r["attendance_rate"] is None else
                "bad" if r["attendance_rate"] < pol["attendance_serious"] else
                "warn" if r["attendance_rate"] < pol["attendance_warning"] else ""
                for r in summary[table]]
        check(colours == want, "%s overview %s colours %s, want %s" % (user, table, colours, want))
    legend = b("eval", js="Object.assign({}, document.getElementById('thresholds').dataset)")["value"]
    pol = summary["policy"]
    check(legend == {"warn": str(pol["attendance_warning"]),
                     "serious": str(pol["attendance_serious"]),
                     "onlineMax": str(pol["online_share_max"])}
          and pct(pol["attendance_serious"]) in b("text", selector="#thresholds")["text"],
          "%s: the thresholds shown are the policy's %s: %s" % (user, pol, legend))
    shots(b, "overview", user)
    # The overview's three tables as XLSX (the page's link), the figures as the API's.
    href = b("attr", selector="#summary-xlsx", name="href")["value"]
    check(href == "/v1/summary?format=xlsx", "%s: the XLSX link %s" % (user, href))
    st, hd, data = raw_get(w.port, w.ctx, href, {"Cookie": "rollcall_session=" + s.cookie})
    check(st == 200 and hd.get("content-type", "").startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        and 'filename="summary.xlsx"' in hd.get("content-disposition", ""),
        "%s: summary XLSX %s %s" % (user, st, hd))
    if st == 200:
        wb = openpyxl.load_workbook(io.BytesIO(data))
        check(wb.sheetnames == ["区", "机构", "班级"], "%s: XLSX sheets %s" % (user, wb.sheetnames))
        for sheet, table, key in (("区", "districts", "district"),
                                  ("机构", "institutions", "institution"),
                                  ("班级", "classes", "class")):
            rows = list(wb[sheet].iter_rows(values_only=True))
            head = list(rows[0]) if rows else []
            got = [(r[0], None if r[head.index("出勤率")] is None
                    else round(r[head.index("出勤率")], 6)) for r in rows[1:]]
            want = [(r[key], None if r["attendance_rate"] is None
                     else round(r["attendance_rate"], 6)) for r in summary[table]]
            check(head[:1] == [sheet] and "出勤率" in head and got == want,
                  "%s: XLSX sheet %s %s, API %s" % (user, sheet, got, want))
    st, hd, data = raw_get(w.port, w.ctx, "/v1/summary?format=csv",
                           {"Cookie": "rollcall_session=" + s.cookie})
    check(st == 400 and b"json or xlsx" in data, "%s: summary CSV refused: %s %s"
          % (user, st, data))
    # The districts table as CSV, named for what it holds, the figures as shown.
    dl = b("download", selector="button.csv")  # the first: above the districts table
    lines = dl["text"].lstrip("\ufeff").splitlines()
    check(dl["name"] == "summary-districts.csv" and len(lines) == 1 + len(summary["districts"])
          and lines[1].split(",")[0] == summary["districts"][0]["district"]
          and pct(summary["districts"][0]["attendance_rate"]) in lines[1],
          "%s: districts CSV %s %s" % (user, dl["name"], lines))
    if user == "root":
        # Sortable: the classes table by attendance rate, ascending on the first click (the
        # listing's own order is by institution, so C-B moves first).
        b("click", selector="table[data-table=classes] thead th:nth-child(6)")
        keys = b("eval", js="[...document.querySelectorAll('table[data-table=classes] tbody tr')]"
                 ".map(r => r.dataset.key)")["value"]
        want = [r["class"] for r in sorted(summary["classes"],
                                           key=lambda r: r["attendance_rate"] or 0)]
        check(keys == want and keys != [r["class"] for r in summary["classes"]],
              "classes sorted by rate: %s vs %s" % (keys, want))

    # Class: the figures and the map's points against the report and the evidence bundle.
    b("goto", hash="#/class/C-A", ready="class")
    st, rep = s.req("GET", "/v1/classes/C-A/attendance")
    check(st == 200, "%s attendance: %s" % (user, st))
    shown = b("text", selector='[data-figure="attendance_rate"] .v')["text"]
    check(shown == pct(rep["class_attendance_rate"]), "%s class rate %s, API %s"
          % (user, shown, pct(rep["class_attendance_rate"])))
    b("waitFor", selector="#map[data-points]")
    pts = b("attr", selector="#map", name="data-points")["value"]
    check(pts == "5", "%s: the map shows the 5 sign-in/out fixes: %s" % (user, pts))
    outside = b("eval", js="document.querySelectorAll('#map path.fix-outside').length")["value"]
    check(outside == 1, "%s: one fix drawn as outside: %s" % (user, outside))
    names = [t.get("name", "") for t in rep["trainees"]]
    shown_names = b("eval", js="[...document.querySelectorAll('#trainees tbody tr')]"
                    ".map(r => r.cells[1].textContent)")["value"]
    check(shown_names == names, "%s: names as the API gives them: %s vs %s"
          % (user, shown_names, names))
    shots(b, "class", user)
    if user == "root":  # the findings tables, below the map
        b("eval", js="document.getElementById('class-findings').scrollIntoView(), true")
        shots(b, "class", user, "class-findings")
    b("goto", hash="#/class", ready="class-pick")

    # Review queue: the flagged sign-ins the API lists for this caller.
    b("goto", hash="#/review", ready="review")
    st, fl = s.req("GET", "/v1/findings")
    queue = [f["id"] for f in fl["findings"] if f["reviewable"] and not f.get("reviewed")]
    shown = b("eval", js="[...document.querySelectorAll('.queue tbody tr')].map(r => r.dataset.id)"
              )["value"]
    check(shown == queue, "%s review queue %s, API %s" % (user, shown, queue))
    if queue:
        det = b("text", selector="#evidence .detail")["text"]
        check(det == fl["findings"][[f["id"] for f in fl["findings"]].index(queue[0])]["detail"],
              "%s: the evidence shows the finding's detail: %s" % (user, det))
        # the kind in the official's language: the catalogue's title (zh-CN), its code beside
        first = fl["findings"][[f["id"] for f in fl["findings"]].index(queue[0])]
        pill = b("text", selector=".queue tbody tr .pill")["text"]
        check(pill == first["title"] and first["title"] != first["kind"],
              "%s: the queue names the kind in Chinese: %s (%s)" % (user, pill, first["kind"]))
    if queue:
        # No photo at this collector (no --photo-dir: 503): the image stays hidden.
        hidden = b("eval", js="new Promise(r => setTimeout(() => "
                   "r(document.getElementById('photo-box')?.hidden ?? true), 500))")["value"]
        check(hidden, "%s: no photo, no image shown" % user)
    shots(b, "review", user)

    b("goto", hash="#/live", ready="live")
    shots(b, "live", user)
    if "kiosks" in nav:
        b("goto", hash="#/kiosks", ready="kiosks")
        st, devs = s.req("GET", "/v1/devices")
        ids = b("eval", js="[...document.querySelectorAll('#devices tbody tr')]"
                ".map(r => r.dataset.id)")["value"]
        check(ids == [d["id"] for d in devs["devices"]], "%s kiosks %s" % (user, ids))
        shots(b, "kiosks", user)
    b("goto", hash="#/exports", ready="exports")
    links = b("eval", js="[...document.querySelectorAll('#exports a')].map(a => a.getAttribute('href'))"
              )["value"]
    check(len(links) >= 3, "%s export links: %s" % (user, links))
    for href in links:
        st, hd, _ = raw_get(w.port, w.ctx, href, {"Cookie": "rollcall_session=" + s.cookie})
        check(st == 200 and "attachment" in hd.get("content-disposition", ""),
              "%s export %s: %s %s" % (user, href, st, hd.get("content-disposition")))
    shots(b, "exports", user)
    if "admin" in nav:
        b("goto", hash="#/admin", ready="admin")
        st, users = s.req("GET", "/v1/users")
        shown = b("eval", js="[...document.querySelectorAll('#users tbody tr')]"
                  ".map(r => [r.dataset.user, r.cells[1].textContent])")["value"]
        check(st == 200 and shown == [[x["name"], x["role"]] for x in users["users"]]
              and sorted(x["name"] for x in users["users"]) == sorted(ROLES),
              "admin page lists the accounts: %s %s" % (shown, users))
        check(all("password" not in json.dumps(x).replace("password_changed_at", "")
                  for x in users["users"]), "no password hash listed")
        shots(b, "admin", user)
    else:
        st, body = s.req("GET", "/v1/users")
        check(st == 403, "%s may not list accounts: %s" % (user, st))
        # Tokens and fences are the admin's: 403 on every route, no page (the hash falls back
        # to the overview, the menu has no admin entry).
        for method, path, body in (("GET", "/v1/tokens", None),
                                   ("POST", "/v1/tokens", {"name": "x", "role": "evaluator"}),
                                   ("POST", "/v1/tokens/inst-a/revoke", None),
                                   ("GET", "/v1/fences", None),
                                   ("GET", "/v1/fences/venue-a", None)):
            st, ans = s.req(method, path, body)
            check(st == 403, "%s: %s %s is 403: %s %s" % (user, method, path, st, ans))
        for h in ("#/admin/tokens", "#/admin/fences"):
            b("goto", hash=h, ready="overview")
            check(not b("eval", js="!!document.querySelector('#tokens, #fences, #admin-tabs')")
                  ["value"], "%s does not see %s" % (user, h))
    b("goto", hash="#/overview", ready="overview")
    if user == "root":
        # English by the switch: the same figures, the page texts in English.
        b("click", selector="#lang")
        b("waitText", selector="#nav", contains="Overview")
        b("waitFor", selector='body[data-ready="overview"]')
        shown = b("text", selector='[data-figure="attendance_rate"] .l')["text"]
        check(shown == "Attendance (hours-weighted)", "English labels: %s" % shown)
        shots(b, "overview", user, "overview-en")
        b("click", selector="#lang")
        b("waitText", selector="#nav", contains="总览")
        period_dates(b, s, origin, shots)
    return s


def period_dates(b, s, origin, shots):
    """The overview's period: dates typed and shown as YYYY-MM-DD whatever the browser's
    locale (an <input type=date> shows mm/dd/yyyy in an en-US browser); a date in another
    form, or one that does not exist, is refused with the reason in the page's language and
    the period stays as it was."""
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    first = today[:8] + "01"
    b("goto", hash="#/overview", ready="overview")
    for bad in ("11/02/2026", "2026-02-30"):
        b("fill", selector='#period [name="from"]', value=bad)
        b("click", selector="#period button")
        b("waitText", selector="#period-error", contains=bad)
        err = b("text", selector="#period-error")["text"]
        check("YYYY-MM-DD" in err and "日期" in err, "a bad date %s refused in Chinese: %s"
              % (bad, err))
        check(b("eval", js="location.hash")["value"] == "#/overview"
              and b("attr", selector='#period [name="from"]', name="aria-invalid")["value"]
              == "true", "the period unchanged by %s" % bad)
    shots(b, "overview", "root", "overview-date-error")
    b("fill", selector='#period [name="from"]', value=first)
    b("fill", selector='#period [name="to"]', value=today)
    b("click", selector="#period button")
    b("waitFor", selector='body[data-ready="overview"]')
    check(b("eval", js="location.hash")["value"] == "#/overview?from=%s&to=%s" % (first, today),
          "a good period applied: %s" % b("eval", js="location.hash")["value"])
    st, summary = s.req("GET", "/v1/summary?from=%s&to=%s" % (first, today))
    shown = b("text", selector='[data-figure="attendance_rate"] .v')["text"]
    check(st == 200 and shown == pct(headline(summary)["attendance_rate"]),
          "the period's figures: %s %s" % (shown, st))
    # An en-US browser shows and takes the same YYYY-MM-DD text.
    cookie = s.cookie
    b("open", origin=origin, width=1366, height=768, locale="en-US",
      hash="#/overview?from=%s&to=%s" % (first, today), ready=None)
    r = b("login", user="root", password=PW["root"])
    check("error" not in r, "root logs in in an en-US browser: %s" % r)
    b("goto", hash="#/overview?from=%s&to=%s" % (first, today), ready="overview")
    field = b("eval", js="[...document.querySelectorAll('#period input')].map(i => "
              "[i.type, i.value, i.placeholder])")["value"]
    check(field == [["text", first, "YYYY-MM-DD"], ["text", today, "YYYY-MM-DD"]],
          "en-US: the dates as YYYY-MM-DD: %s" % field)
    shots(b, "overview", "root", "overview-period")
    s.cookie = cookie


class Shots:
    """Screenshots of the admin's pages at 1366x768 and 1920x1080 into out (when set)."""

    def __init__(self, out):
        self.out = out

    def __call__(self, b, page, user, name=None):
        if not self.out or user != "root":
            return
        for wd, ht in ((1366, 768), (1920, 1080)):
            b("viewport", width=wd, height=ht)
            b("screenshot", path=os.path.join(self.out, "%s-%dx%d.png" % (name or page, wd, ht)))
        b("viewport", width=1366, height=768)


def expected_error(e):
    """Chromium logs every answer >= 400 to a fetch as a console error. Those the page expects
    and handles are not errors: a photo not (yet) at the collector (404, or 503 without
    --photo-dir: the image stays hidden), a year not published yet (404: the public page says
    so), and the 401 of a session that ended (the page shows the login form)."""
    if not e["text"].startswith("Failed to load resource"):
        return False
    url = e["url"]
    if "/photo" in url and ("404" in e["text"] or "503" in e["text"]):
        return True
    if url.endswith("/v1/login") and "401" in e["text"]:
        return True  # the deliberately wrong password: the form says why
    if "/public/evaluation/" in url and "404" in e["text"]:
        return True  # a year not published yet: the public page says so
    if url.endswith("/v1/tokens") and "400" in e["text"]:
        return True  # the deliberately bare enroll role: the admin page says why
    return url.endswith("/v1/me") and "401" in e["text"]


def main():
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("FAILED: needs node and Debian's chromium (scripts/install-deps.sh)")
        return 1
    d = tempfile.mkdtemp(prefix="rollcall-console-")
    b = None
    try:
        make_pki(d)
        w = World(d, "c")
        try:
            b = Browser()
            walk(w, b, d)
        finally:
            if b:
                errs = [e for e in b("errors")["errors"] if not expected_error(e)]
                check(errs == [], "no console errors: %s" % errs)
                foreign = b("foreign")["foreign"]
                check(foreign == [], "no request to another host: %s" % foreign)
                b.close()
            check(w.stop() == 0, "server exits 0")
            if failures:
                print(w.srv.log()[-4000:])
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


def walk(w, b, d):
    now = int(time.time() * 1000)
    k, p = setup(w, now)
    origin = "https://127.0.0.1:%d" % w.port
    static_checks(w)
    shots = Shots(os.environ.get("ROLLCALL_SCREENSHOTS"))

    sessions = {}
    for user in ("root", "bureau", "school", "assessor", "city"):
        sessions[user] = walk_role(b, w, user, shots, origin)

    admin_accounts(b, w, origin, shots)
    finding_details(b, w, origin, shots)

    # A write without the CSRF token is refused, with it accepted (below, by the page).
    s = sessions["bureau"]
    st, fl = s.req("GET", "/v1/findings?class=C-A")
    fid = [f["id"] for f in fl["findings"] if f["reviewable"] and not f.get("reviewed")][0]
    st, body = s.req("POST", "/v1/findings/%s/review" % fid,
                     {"decision": "approve", "reason": "no token"}, csrf=False)
    check(st == 403, "a write without the CSRF token: %s %s" % (st, body))

    # The district approves the flagged sign-in from the keyboard; the rate changes and says so.
    b("open", origin=origin, width=1366, height=768)
    b("login", user="bureau", password=PW["bureau"])
    st, before = s.req("GET", "/v1/classes/C-A/attendance")
    b("goto", hash="#/review", ready="review")
    b("press", key="f")
    b("fill", selector="#reason", value="监控录像显示学员在教室内（复核：王科长）")
    b("press", key="Escape")
    b("press", key="a")
    b("waitFor", selector="#review-result")
    st, after = s.req("GET", "/v1/classes/C-A/attendance")
    note = b("text", selector="#review-result")["text"]
    check(after["class_attendance_rate"] != before["class_attendance_rate"],
          "approving changes the class rate: %s -> %s" % (before["class_attendance_rate"],
                                                           after["class_attendance_rate"]))
    check(pct(before["class_attendance_rate"]) in note and
          pct(after["class_attendance_rate"]) in note,
          "the page says the rate changed %s -> %s: %s" % (
              pct(before["class_attendance_rate"]), pct(after["class_attendance_rate"]), note))
    check(len(after["reviews"]) == 1 and after["reviews"][0]["reviewer"] == "user:bureau"
          and after["reviews"][0]["decided_at"], "audited who and when: %s" % after["reviews"])
    b("goto", hash="#/class/C-A", ready="class")
    rv = b("text", selector="#reviews tbody")["text"]
    check("user:bureau" in rv and "王科长" in rv, "the class page lists the review: %s" % rv)
    shown = b("text", selector='[data-figure="attendance_rate"] .v')["text"]
    check(shown == pct(after["class_attendance_rate"]), "class page shows the new rate %s" % shown)

    # Live: the running session, then a sign-in uploaded by the kiosk shows without a reload.
    b("goto", hash="#/live", ready="live")
    row = 'tr[data-class="C-A"][data-session="S02"] td.present'
    first = b("text", selector=row)["text"]
    check(first == "1 / 3", "live: 1 of 3 signed in: %s" % first)
    b("eval", js="window.__marker = 1")
    ev = [k.sign("signin", int(time.time() * 1000) - 2000, p[2], IDS[2], "S02", LAT, "inside"),
          k.sign("signin", int(time.time() * 1000) - 1000, p[1], IDS[1], "S02", FAR_LAT,
                 "outside")]
    t0 = time.time()
    upload(w.port, w.ctx, k, ev, [2])
    b("waitText", selector=row, contains="3 / 3", timeout=5000)
    check(b("eval", js="window.__marker")["value"] == 1, "live updated without a reload")
    print("live page updated %.1f s after the upload" % (time.time() - t0))
    st, live = s.req("GET", "/v1/live")
    ses = [x for x in live.get("sessions", []) if x["class"] == "C-A"]
    masked1 = IDS[1][:4] + "*" * 10 + IDS[1][-4:]
    check(st == 200 and len(ses) == 1 and ses[0]["session"] == "S02" and ses[0]["signed_in"] == 3
          and ses[0]["roster"] == 3 and ses[0]["outside"] == [masked1],
          "GET /v1/live: S02 with 3 of 3 in, one outside: %s" % live)
    shown = b("text", selector='tr[data-class="C-A"] td.outside')["text"]
    check(shown == "1" + masked1, "the live page names who is outside: %s" % shown)

    # Log out: the page shows the login form; the old cookie is refused.
    cookie = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"][0]["value"]
    b("click", selector="#logout")
    b("waitFor", selector="form#login-form")
    st, body = Session(w.port, w.ctx, cookie).req("GET", "/v1/me")
    check(st == 401, "the cookie after logout: %s %s" % (st, body))
    r = b("login", user="bureau", password="wrong", fails=True)
    check("wrong user name or password" in r.get("error", ""), "a wrong password says so: %s" % r)

    # Expiry: a collector with a 1 s idle time on the same database.
    srv = Server(w.db, w.dir, "--session-idle", "1", "--session-max", "1")
    try:
        o2 = "https://127.0.0.1:%d" % srv.port
        b("open", origin=o2, width=1366, height=768)
        b("login", user="school", password=PW["school"])
        c2 = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"][0]["value"]
        time.sleep(2.2)
        st, body = Session(srv.port, w.ctx, c2).req("GET", "/v1/me")
        check(st == 401 and "expired" in body.get("error", ""), "an expired cookie: %s %s"
              % (st, body))
        b("reload")  # the login form again
    finally:
        srv.stop()

    # The public evaluation page (docs/EVIDENCE.md "Signed publication"): no login; the rows
    # shown are the signed publication's.
    year = time.gmtime((now - 26 * H) / 1000 + 8 * 3600).tm_year
    b("open", origin=origin, hash="#/public/%d" % year, ready="public")
    none = b("text", selector="#public-none")["text"]
    check(str(year) in none and "尚未发布" in none, "before publishing: %s" % none)
    r = run("publish", "--year", str(year), db=w.db)
    check(r.returncode == 0, "publish: %s" % r.stderr)
    st, _, raw = raw_get(w.port, w.ctx, "/public/evaluation/%d" % year)
    pub = json.loads(json.loads(raw)["publication"]) if st == 200 else {}
    rows = sorted(pub.get("institutions", []), key=lambda x: x["institution"])
    check(st == 200 and len(rows) == 2, "the publication: %s %s" % (st, raw[:300]))
    b("goto", hash="#/public/%d" % year, ready="public")
    insts = sorted(b("texts", selector="#public-table tbody tr td:first-child")["texts"])
    check(insts == [x["institution"] for x in rows], "public rows: %s" % insts)
    for x in rows:
        cells = b("texts", selector='#public-table tr[data-institution="%s"] td'
                  % x["institution"])["texts"]
        check(cells[4] == pct(x["attendance_rate"]) and cells[2] == str(x["classes"]),
              "public row %s: %s vs %s" % (x["institution"], cells, x))
        check(all(bd["manifest_sha256"][:12] in cells[7] for bd in x["bundles"]),
              "public row %s names its bundles: %s" % (x["institution"], cells[7]))
    signed = b("text", selector="#public-body p")["text"]
    check(json.loads(raw)["signature"]["key_id"] in signed, "the key id is shown: %s" % signed)
    shots(b, "public", "root")
    admin_tokens(b, w, origin, shots)


def admin_accounts(b, w, origin, shots):
    """The admin adds an account on the admin page (password typed twice), its owner logs in
    in a second browser, the admin disables it: the owner's page falls back to the login
    form and the login is refused; a new password set by the admin works."""
    frank_pw = "弗兰克的口令 2026 长长长"
    b("open", origin=origin, width=1366, height=768)
    b("login", user="root", password=PW["root"])
    b("goto", hash="#/admin", ready="admin")
    b("fill", selector='#add-user [name="name"]', value="frank")
    b("fill", selector='#add-user [name="role"]', value="district:120103")
    b("fill", selector='#add-user [name="password"]', value=frank_pw)
    b("fill", selector='#add-user [name="password2"]', value=frank_pw + "x")
    b("click", selector='#add-user button')
    b("waitFor", selector="#admin-error")
    check(not b("eval", js="!!document.querySelector('tr[data-user=\"frank\"]')")["value"],
          "passwords that differ add nothing")
    b("fill", selector='#add-user [name="password2"]', value=frank_pw)
    b("click", selector='#add-user button')
    b("waitFor", selector='tr[data-user="frank"]')
    note = b("text", selector="#admin-done")["text"]
    check("frank" in note and frank_pw not in note, "the page says frank was added: %s" % note)
    shots(b, "admin", "root", "admin-accounts")
    s = Session(w.port, w.ctx, [c for c in b("cookies")["cookies"]
                                if c["name"] == "rollcall_session"][0]["value"])
    st, users = s.req("GET", "/v1/users")
    check([u["role"] for u in users["users"] if u["name"] == "frank"] == ["district:120103"],
          "frank stored with his role: %s" % users)

    b2 = Browser()
    try:
        b2("open", origin=origin, width=1366, height=768)
        r = b2("login", user="frank", password=frank_pw)
        check("overview" in r.get("nav", []), "frank logs in in a second browser: %s" % r)
        b("click", selector='tr[data-user="frank"] button[data-act="disable"]')
        b("waitFor", selector='tr[data-user="frank"] button[data-act="enable"]')
        b2("reload")  # his session ended: the login form again
        r = b2("login", user="frank", password=frank_pw, fails=True)
        check("wrong user name or password" in r.get("error", ""),
              "a disabled account's login is refused: %s" % r)
        b("click", selector='tr[data-user="frank"] button[data-act="enable"]')
        b("waitFor", selector='tr[data-user="frank"] button[data-act="disable"]')
        b("click", selector='tr[data-user="frank"] button[data-act="password"]')
        b("fill", selector='#set-password [name="password"]', value=frank_pw + " new")
        b("fill", selector='#set-password [name="password2"]', value=frank_pw + " new")
        b("click", selector='#set-password button.primary')
        b("waitText", selector="#admin-done", contains="新密码")  # not the notice before
        b2("reload")  # a fresh form: no error text left from the attempt before
        r = b2("login", user="frank", password=frank_pw, fails=True)
        check("wrong user name or password" in r.get("error", ""), "old password refused: %s" % r)
        b2("reload")
        r = b2("login", user="frank", password=frank_pw + " new")
        check("overview" in r.get("nav", []), "the new password works: %s" % r)
        errs = [e for e in b2("errors")["errors"] if not expected_error(e)]
        check(errs == [], "no console errors in frank's browser: %s" % errs)
        check(b2("foreign")["foreign"] == [], "no foreign request in frank's browser")
    finally:
        b2.close()
    check(frank_pw not in w.srv.log(), "frank's password not in the log")

    # A fence uploaded on the admin's fences page (venue-a, 150 m now) is listed with both
    # versions and drawn, and is the class map's fence.
    st, before = s.req("GET", "/v1/fences")
    check(st == 200 and [(f["id"], f["version"], f["devices"]) for f in before["fences"]]
          == [("venue-a", 1, 1)], "GET /v1/fences before the upload: %s %s" % (st, before))
    path = os.path.join(w.dir, "venue-a.geojson")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": [circle("venue-a", LON, LAT, 150)]}, f)
    b("goto", hash="#/admin/fences", ready="admin-fences")
    b("setFiles", selector='#fence-upload [name="file"]', path=path)
    b("click", selector="#fence-upload button")
    b("waitText", selector="#admin-done", contains="venue-a")
    b("waitFor", selector='body[data-ready="admin-fences"]')
    note = b("text", selector="#admin-done")["text"]
    check("已替换" in note and "第 2 版" in note, "the page says venue-a was replaced: %s" % note)
    st, after = s.req("GET", "/v1/fences")
    fence = after["fences"][0] if st == 200 and after["fences"] else {}
    rows = b("eval", js="[...document.querySelectorAll('#fences tbody tr')].map(r => "
             "[...r.cells].map(c => c.textContent.trim()))")["value"]
    check(fence.get("version") == 2 and [v["version"] for v in fence.get("versions", [])] == [2, 1]
          and rows and rows[0][0] == "venue-a" and rows[0][1] == "2" and rows[0][5] == "1"
          and rows[0][4] == fence["sha256"][:12] + "…" and rows[0][3] == "user:root",
          "the fence list shows venue-a version 2, its digest, uploader and one kiosk: %s %s"
          % (rows, after))
    check(b("attr", selector="#fence-map", name="data-fence")["value"] == "venue-a@2"
          and b("eval", js="document.querySelectorAll('#fence-map path.leaflet-interactive, "
                "#fence-map svg path').length")["value"] >= 1,
          "the new version drawn on the fences map")
    vers = b("texts", selector="#fence-versions tbody tr td:last-child")["texts"]
    check(len(vers) == 2 and vers[0] == "当前版本" and vers[1] != "当前版本",
          "both versions listed, the first current: %s" % vers)
    b("eval", js="window.scrollTo(0, 0)")  # the upload scrolled the page: the top for the shot
    shots(b, "admin-fences", "root", "admin-fences")
    b("click", selector='#fence-versions tr[data-version="1"] a')
    b("waitFor", selector='#fence-map[data-fence="venue-a@1"]')
    st, _, v1 = raw_get(w.port, w.ctx, "/v1/fences/venue-a?version=1",
                     {"Cookie": "rollcall_session=" + s.cookie})
    check(st == 200 and json.loads(v1).get("type") == "Feature",
          "GET /v1/fences/venue-a?version=1: %s" % st)
    st, _ = s.req("GET", "/v1/fences/venue-a?version=3")
    check(st == 404, "no version 3: %s" % st)
    st, _ = s.req("GET", "/v1/fences/venue-a?version=x")
    check(st == 400, "version x refused: %s" % st)
    b("goto", hash="#/class/C-A", ready="class")
    # the page is ready before its map: the map waits for the class's evidence bundle
    b("waitFor", selector="#map[data-fences]")
    shown = b("attr", selector="#map", name="data-fences")["value"]
    # (beside version 1, which judged the sign-ins already stored)
    check(shown.split() == ["venue-a@1", "venue-a@2"],
          "the class map draws the uploaded fence: %s" % shown)


CJK = re.compile(r"[\u4e00-\u9fff]")


def finding_details(b, w, origin, shots):
    """A finding's detail follows the page's language (docs/API.md "Languages"): GET
    /v1/findings and the class report in Chinese by default and for zh-CN, in English for en,
    from the same template code and arguments; the zh console shows the Chinese details on the
    class page and in the review queue, for every kind of engine finding the class has."""
    b("open", origin=origin, width=1366, height=768)
    b("login", user="root", password=PW["root"])
    cookie = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"][0]["value"]
    h = lambda lang: {"Cookie": "rollcall_session=" + cookie, "Accept-Language": lang}  # noqa
    got = {}
    for lang in ("en", "zh-CN"):
        st, body = ingestlib.request(w.port, w.ctx, "GET", "/v1/findings?class=C-A", None, h(lang))
        check(st == 200, "findings in %s: %s" % (lang, st))
        got[lang] = [f for f in body.get("findings", []) if f["source"] == "engine"]
    en, zh = got["en"], got["zh-CN"]
    kinds = sorted({f["kind"] for f in zh})
    check(len(en) == len(zh) and len(kinds) >= 2, "engine findings of C-A: %s" % kinds)
    for e, z in zip(en, zh):
        check(e["kind"] == z["kind"] and e["detail_code"] == z["detail_code"]
              and e["detail_args"] == z["detail_args"], "same code and arguments: %s %s" % (e, z))
        check(not CJK.search(e["detail"]) and CJK.search(z["detail"])
              and "{" not in z["detail"] and "@" not in z["detail"],
              "%s: English %r, Chinese %r" % (e["kind"], e["detail"], z["detail"]))
    report = {}
    for lang in ("en", "zh-CN"):
        st, body = ingestlib.request(w.port, w.ctx, "GET", "/v1/classes/C-A/attendance", None,
                                     h(lang))
        report[lang] = sorted((f["kind"], f["detail"]) for f in body.get("findings", []))
    check(report["en"] == sorted((f["kind"], f["detail"]) for f in en)
          and report["zh-CN"] == sorted((f["kind"], f["detail"]) for f in zh),
          "the class report's details as the list's: %s" % report)
    # The class page (zh): every engine finding's detail in Chinese, as the API gives it.
    b("goto", hash="#/class/C-A", ready="class")
    rows = b("eval", js="[...document.querySelectorAll('#class-findings tbody tr')].map(r => "
             "[r.dataset.kind, r.cells[3].textContent, r.cells[0].textContent])")["value"]
    check(sorted(r[:2] for r in rows) == sorted([f["kind"], f["detail"]] for f in zh)
          and len({r[0] for r in rows if CJK.search(r[1])}) >= 2,
          "the class page shows the Chinese details: %s" % rows)
    # ... and each kind by its Chinese name, as the review queue names it (GET /v1/findings).
    titles = {f["kind"]: f["title"] for f in zh}
    check(all(r[2] == titles[r[0]] and CJK.search(r[2]) for r in rows),
          "the class page names the kinds in Chinese: %s (%s)" % (rows, titles))
    # The review queue (zh): the selected finding's detail in Chinese.
    b("goto", hash="#/review", ready="review")
    shown = b("text", selector="#evidence dd.detail")["text"]
    check(CJK.search(shown) and shown in [f["detail"] for f in zh],
          "the review queue shows the Chinese detail: %r" % shown)
    shots(b, "review", "root", "review-detail")
    stored_details(b, w, h)


def stored_details(b, w, h):
    """A finding ingest stored (the sign-in without a photo, setup) has its detail from a
    template too (migration 17): the same code and arguments in both languages, the English the
    text ingest always stored, the Chinese a Chinese sentence; the class report's
    ingest_findings likewise, and the class page shows it in the page's language."""
    m0 = IDS[0][:4] + "*" * 10 + IDS[0][-4:]
    want = {"en": "signin of %s for class C-A has no photo (refused)" % m0,
            "zh-CN": "签到（%s，班级 C-A）没有照片（学员拒绝拍照）" % m0}
    args = {"event": "@event_signin", "trainee": m0, "class": "C-A", "why": "@no_photo_refused"}
    title = {}
    for lang in ("en", "zh-CN"):
        st, body = ingestlib.request(w.port, w.ctx, "GET", "/v1/findings?class=C-A", None, h(lang))
        got = [f for f in body.get("findings", []) if f["source"] == "ingest"
               and f["kind"] == "no_photo"]
        check(st == 200 and len(got) == 1 and got[0]["detail"] == want[lang]
              and got[0].get("detail_code") == "no_photo" and got[0].get("detail_args") == args,
              "the stored no_photo finding in %s: %s %s" % (lang, st, got))
        st, body = ingestlib.request(w.port, w.ctx, "GET", "/v1/classes/C-A/attendance", None,
                                     h(lang))
        got = [(f["detail"], f.get("title")) for f in body.get("ingest_findings", [])
               if f["kind"] == "no_photo"]
        check(st == 200 and [d for d, _ in got] == [want[lang]]
              and bool(CJK.search(got[0][1] or "")) == (lang == "zh-CN"),
              "the class report's stored finding in %s: %s %s" % (lang, st, got))
        title[lang] = got[0][1]
    js = ("[...document.querySelectorAll('#class-ingest-findings tbody tr')].map(r => "
          "[r.dataset.kind, r.cells[3].textContent, r.cells[0].textContent])")
    b("goto", hash="#/class/C-A", ready="class")
    rows = b("eval", js=js)["value"]
    check(["no_photo", want["zh-CN"], title["zh-CN"]] in rows, "the class page (zh) shows %s" % rows)
    b("goto", hash="#/overview", ready="overview")
    b("click", selector="#lang")
    b("waitText", selector="#nav", contains="Overview")
    b("goto", hash="#/class/C-A", ready="class")
    rows = b("eval", js=js)["value"]
    check(["no_photo", want["en"], title["en"]] in rows, "the class page (en) shows %s" % rows)
    b("goto", hash="#/overview", ready="overview")
    b("click", selector="#lang")
    b("waitText", selector="#nav", contains="总览")


def admin_tokens(b, w, origin, shots):
    """The admin sees every token (never a hash), creates one in the browser (shown once,
    it works at once), and revokes one made on the command line: that token is refused with 401
    from the next request on; the list says who revoked it."""
    b("open", origin=origin, width=1366, height=768)
    b("login", user="root", password=PW["root"])
    s = Session(w.port, w.ctx, [c for c in b("cookies")["cookies"]
                                if c["name"] == "rollcall_session"][0]["value"])
    s.csrf = b("eval", js="fetch('/v1/me').then(r => r.json()).then(j => j.csrf_token)")["value"]
    st, body = w.req("inst-a", "GET", "/v1/summary")
    check(st == 200, "inst-a's token works before: %s" % st)
    b("goto", hash="#/admin/tokens", ready="admin-tokens")
    st, listed = s.req("GET", "/v1/tokens")
    shown = b("eval", js="[...document.querySelectorAll('#tokens tbody tr')].map(r => "
              "[r.dataset.token, r.cells[1].textContent, r.cells[3].textContent])")["value"]
    check(st == 200 and [x[0] for x in shown] == [t["name"] for t in listed["tokens"]]
          and "inst-a" in [x[0] for x in shown]
          and all(x[2] == ("enroll" if x[1] == "device:K-A1" else "cli:" + pwd.getpwuid(os.geteuid()).pw_name)
                  for x in shown),
          "the page lists the tokens with their makers: %s %s" % (shown, listed))
    text = json.dumps(listed)
    check(all(tok not in text and hashlib.sha256(tok.encode()).hexdigest() not in text
              for tok in w.tok.values()), "no token or hash in GET /v1/tokens")
    page_text = b("text", selector="#main")["text"]
    check(all(tok not in page_text for tok in w.tok.values()), "no token on the page")

    # A bare enroll role is refused with the reason; nothing is added.
    b("fill", selector='#add-token [name="name"]', value="enrol-c")
    b("fill", selector='#add-token [name="role"]', value="enroll")
    b("click", selector="#add-token button")
    b("waitFor", selector="#admin-error")
    check("institution" in b("text", selector="#admin-error")["text"]
          and not b("eval", js="!!document.querySelector('tr[data-token=\"enrol-c\"]')")["value"],
          "a bare enroll role is refused")
    b("fill", selector='#add-token [name="name"]', value="school-b")
    b("fill", selector='#add-token [name="role"]', value="institution:INST-B")
    b("click", selector="#add-token button")
    b("waitFor", selector="#token-value")
    made = b("text", selector="#token-value")["text"]
    check(re.fullmatch(r"rc_[A-Za-z0-9_-]{43}", made) is not None, "the new token shown: %r" % made)
    row = b("eval", js="[...document.querySelector('tr[data-token=\"school-b\"]').cells]"
            ".map(c => c.textContent.trim())")["value"]
    check(row[1] == "institution:INST-B" and row[3] == "user:root" and row[4] == "有效",
          "school-b listed, made by user:root: %s" % row)
    st, body = ingestlib.request(w.port, w.ctx, "GET", "/v1/summary", None,
                                 {"Authorization": "Bearer " + made})
    check(st == 200 and body["classes"]
          and all(c["institution"] == "INST-B" for c in body["classes"]),
          "the new token works at once, in its scope: %s %s" % (st, body))
    b("click", selector="#token-copy")
    b("waitText", selector="#token-copied", contains="复制")
    check(b("text", selector="#token-copied")["text"] in ("已复制", "已选中，请按 Ctrl+C 复制"),
          "the copy button says what it did")
    shots(b, "admin-tokens", "root", "admin-tokens-new")
    b("goto", hash="#/admin/fences", ready="admin-fences")
    b("goto", hash="#/admin/tokens", ready="admin-tokens")
    check(made not in b("text", selector="#main")["text"], "the token is shown once only")

    # Revoke inst-a (made on the command line): asked once more, then refused by the API.
    b("click", selector='tr[data-token="inst-a"] button[data-act="revoke"]')
    check("inst-a" in b("text", selector="#revoke-what")["text"], "the page asks about inst-a")
    shots(b, "admin-tokens", "root", "admin-tokens")
    b("click", selector='#revoke-confirm button[type="submit"]')
    b("waitText", selector="#admin-done", contains="inst-a")
    st, body = w.req("inst-a", "GET", "/v1/summary")
    check(st == 401, "the revoked token is refused: %s %s" % (st, body))
    state = b("text", selector='tr[data-token="inst-a"] td:nth-child(5)')["text"]
    check("已吊销" in state and "user:root" in state
          and not b("eval", js="!!document.querySelector('tr[data-token=\"inst-a\"] button')")
          ["value"], "the list says inst-a was revoked by user:root: %s" % state)
    st, body = s.req("POST", "/v1/tokens/inst-a/revoke")
    check(st == 409, "revoking it again: %s %s" % (st, body))
    st, body = s.req("POST", "/v1/tokens/nobody/revoke")
    check(st == 404, "revoking no token: %s %s" % (st, body))
    st, body = s.req("POST", "/v1/tokens", {"name": "school-b", "role": "evaluator"})
    check(st == 409, "a taken name: %s %s" % (st, body))
    st, body = s.req("POST", "/v1/tokens", {"name": "x", "role": "evaluator", "extra": 1})
    check(st == 400, "an unknown member: %s %s" % (st, body))
    st, body = s.req("POST", "/v1/tokens/school-b/revoke", csrf=False)
    check(st == 403, "a revoke without the CSRF token: %s %s" % (st, body))
    log = w.srv.log()
    check("token 'inst-a' revoked by 'user:root'" in log, "the revocation is logged with who")
    check(made not in log and all(tok not in log for tok in w.tok.values()), "no token logged")
    r = run("token", "list", "--json", db=w.db)
    rows = {t["name"]: t for t in json.loads(r.stdout)["tokens"]} if r.returncode == 0 else {}
    check(rows.get("inst-a", {}).get("revoked_by") == "user:root"
          and rows.get("school-b", {}).get("created_by") == "user:root",
          "token list shows who made and who revoked: %s %s" % (r.stdout, r.stderr))


def static_checks(w):
    st, h, body = raw_get(w.port, w.ctx, "/")
    check(st == 200 and h.get("content-type", "").startswith("text/html"), "GET /: %s %s"
          % (st, h))
    check(h.get("cache-control") == "no-cache" and h.get("etag"), "index no-cache + ETag: %s" % h)
    csp = h.get("content-security-policy", "")
    for part in ("default-src 'self'", "script-src 'self'", "img-src 'self';",
                 "connect-src 'self'", "frame-ancestors 'none'"):
        check(part in csp, "CSP has %s: %s" % (part, csp))
    check("unsafe-inline" not in csp and "unsafe-eval" not in csp, "CSP strict: %s" % csp)
    st2, _, _ = raw_get(w.port, w.ctx, "/", {"If-None-Match": h.get("etag", "x")})
    check(st2 == 304, "index revalidates: %s" % st2)
    html = body.decode()
    check("<script>" not in html and "style=" not in html, "no inline script or style")

    assets = re.findall(r'(/assets/app-[A-Z0-9]+\.(?:js|css))', html)
    check(len(assets) == 2, "index names two hashed assets: %s" % assets)
    for a in assets:
        st, h2, _ = raw_get(w.port, w.ctx, a)
        check(st == 200 and "immutable" in h2.get("cache-control", "")
              and h2.get("content-security-policy") == csp, "%s: %s %s" % (a, st, h2))
    st, _, _ = raw_get(w.port, w.ctx, "/assets/nothing-here.js")
    check(st == 404, "unknown asset 404: %s" % st)
    st, _, _ = raw_get(w.port, w.ctx, "/assets/../index.html")
    check(st in (400, 404), "no way out of assets/: %s" % st)
    # --tiles: a bad template refused at start with one line, a good one's host in img-src.
    r = subprocess.run([SERVER, "--db", w.db, "serve", "--plain-http", "--listen",
                        "127.0.0.1:0", "--tiles", "ftp://x/{z}/{x}/{y}.png"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and "--tiles" in r.stderr and r.stderr.count("\n") == 1,
          "a bad --tiles refused: %s %r" % (r.returncode, r.stderr))
    srv = Server(w.db, w.dir, "--tiles", "https://tiles.bureau.example:8080/{z}/{x}/{y}.png?a=1&b=2")
    try:
        st, h, body = raw_get(srv.port, w.ctx, "/")
        check("img-src 'self' https://tiles.bureau.example:8080;" in
              h.get("content-security-policy", ""), "tile host in img-src: %s" % h)
        check(b'content="https://tiles.bureau.example:8080/{z}/{x}/{y}.png?a=1&amp;b=2"' in body,
              "the page gets the template")
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
