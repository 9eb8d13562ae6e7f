#!/usr/bin/python3
# labels: collector browser
"""The console's subsidy pages (web/console/subsidy.js; docs/CONSOLE.md "补贴流程") in headless
Debian chromium (tests/browser/console_driver.mjs, as test_console.py), against a real
collector over HTTPS, as the officials use them:

- the institution submits its class's application in the browser; the city (role city) sees
  it in its review queue and returns it with a reason; a return without a reason and a date
  that is not one are refused on the page and change nothing (the API's state unchanged);
- the institution resubmits, the city approves; the evaluation institution (assessor:ID)
  uploads the assessments over the API; the institution claims; the city audits, publishes
  (the server's notice period), is refused a payment before the notice period ends (the API's
  one-line error shown, nothing changed) and pays; the institution claims a trainee's living
  allowance from the masked-ID picker (one for a trainee without a certificate refused, the
  rule named, nothing recorded) and the city audits it;
- after every step the page shows the state and the steps the API reports
  (GET /v1/classes/{id}/procedure), and the step's finding by the catalogue's title
  (po/zh_CN.po), its code beside;
- the queue flags an overdue application and one reviewed late; each row links to the class's
  procedure; the class page links to its procedure;
- the admin sees the same queue and may act for the city;
- a district user sees the steps read only (no form, no button); an evaluator has no subsidy
  page (not in the menu, the hash leads back to the overview) and the API refuses it;
- no console errors beyond those the pages expect, no request to another host.
Screenshots (1366x768, 1920x1080) of the queue and of a class's procedure go to
$ROLLCALL_SCREENSHOTS when set (docs/console/)."""

import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import make_pki, run  # noqa: E402
from test_console import Browser, Session, expected_error  # noqa: E402
from test_figures import IDS, NAMES, World  # noqa: E402

for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PW = {"root": "root's long password", "shiju": "市人社局审核口令 2026",
      "school": "institution password!", "bureau": "区人社局的口令 2026",
      "pinggu": "evaluator password?"}
ROLES = {"root": "admin", "shiju": "city", "school": "institution:INST-A",
         "bureau": "district:120103", "pinggu": "evaluator"}
CLS = "C-S"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def masked(n):
    return n[:4] + "*" * 10 + n[-4:]


def plan(cid, inst, district, day):
    """A class whose one (online) session was on day, 09:00-12:00 Beijing time."""
    return {"id": cid, "institution": inst, "district": district,
            "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-08-20",
            "sessions": [{"id": "S01", "start": day + "T09:00:00+08:00",
                          "end": day + "T12:00:00+08:00", "mode": "online"}],
            "roster": [{"id_number": IDS[i], "name": NAMES[i], "student": False}
                       for i in range(3)]}


def po_title(lang, kind):
    """The collector's catalogue title of a finding (po/LANG.po, msgid finding.KIND)."""
    with open(os.path.join(SRC, "po", "%s.po" % lang), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'msgid "finding\.%s"\nmsgstr "([^"]*)"' % re.escape(kind), text)
    return m.group(1) if m else None


class Officer:
    """One user in the browser (a fresh context), with the page's session for the API."""

    def __init__(self, b, w, origin, user):
        self.b, self.w, self.user = b, w, user
        b("open", origin=origin, width=1366, height=768)
        r = b("login", user=user, password=PW[user])
        check("error" not in r, "%s logs in: %s" % (user, r))
        self.nav = r.get("nav", [])
        cookie = [c for c in b("cookies")["cookies"] if c["name"] == "rollcall_session"][0]
        csrf = b("eval", js="fetch('/v1/me').then(r => r.json()).then(j => j.csrf_token)")["value"]
        self.s = Session(w.port, w.ctx, cookie["value"], csrf)

    def procedure(self, cid=CLS):
        st, p = self.s.req("GET", "/v1/classes/%s/procedure" % cid)
        check(st == 200, "%s reads %s's procedure: %s %s" % (self.user, cid, st, p))
        return p if st == 200 else {}

    def open_procedure(self, cid=CLS):
        self.b("goto", hash="#/subsidy/%s" % cid, ready="procedure")

    def act(self, kind, action, fields, trainee=None):
        """Fills the chain's form and presses the action's button; the page's notice (done)
        or error line."""
        form = 'form.act[data-kind="%s"]%s' % (
            kind, '[data-trainee="%s"]' % trainee if trainee else ":not([data-trainee])")
        for name, value in fields.items():
            if name == "trainee":
                self.b("eval", js="document.querySelector('%s [name=trainee]').value = %r"
                       % (form, value))
            else:
                self.b("fill", selector='%s [name="%s"]' % (form, name), value=value)
        self.b("eval", js="delete document.body.dataset.ready")
        self.b("click", selector='%s button[data-action="%s"]' % (form, action))
        self.b("waitFor", selector='#subsidy-done, #subsidy-error')
        err = self.b("eval", js="document.getElementById('subsidy-error')?.textContent ?? null"
                     )["value"]
        if err is None:
            self.b("waitFor", selector='body[data-ready="procedure"]')
            return "done", self.b("text", selector="#subsidy-done")["text"]
        return "error", err

    def shows_api(self, what, cid=CLS):
        """The page's states and steps against the API's answer to the same session."""
        p = self.procedure(cid)
        shown = self.b("eval", js="""({
          app: document.querySelector('.card[data-chain=application]').dataset.state,
          claim: document.querySelector('.card[data-chain=claim]').dataset.state,
          a: [...document.querySelectorAll('#steps-application li')].map(l => [l.dataset.action, l.dataset.state, l.querySelector('.on').textContent, l.querySelector('.by').textContent]),
          c: [...document.querySelectorAll('#steps-claim li')].map(l => [l.dataset.action, l.dataset.state]),
          al: [...document.querySelectorAll('#allowances section')].map(s => [s.dataset.trainee, [...s.querySelectorAll('li')].map(l => l.dataset.state)]),
          f: [...document.querySelectorAll('#steps-application li, #steps-claim li')].map(l => l.querySelector('[data-finding]')?.dataset.finding ?? null)
        })""")["value"]
        if not p:
            return p
        want_a = [[s["action"], s["state"], s["on"], s["by"]] for s in p["application"]["steps"]]
        got_a = [[a, s, on.split()[-1], by.split()[-1]] for a, s, on, by in shown["a"]]
        check(shown["app"] == p["application"]["state"] and shown["claim"] == p["claim"]["state"],
              "%s: the page shows the states %s/%s, API %s/%s" % (
                  what, shown["app"], shown["claim"], p["application"]["state"],
                  p["claim"]["state"]))
        check(got_a == want_a, "%s: application steps %s, API %s" % (what, got_a, want_a))
        want_c = [[s["action"], s["state"]] for s in p["claim"]["steps"]]
        check(shown["c"] == want_c, "%s: claim steps %s, API %s" % (what, shown["c"], want_c))
        want_al = [[x["trainee"], [s["state"] for s in x["steps"]]] for x in p["allowances"]]
        check(shown["al"] == want_al, "%s: allowances %s, API %s" % (what, shown["al"], want_al))
        want_f = [s["finding"] for s in p["application"]["steps"] + p["claim"]["steps"]]
        check(shown["f"] == want_f, "%s: findings %s, API %s" % (what, shown["f"], want_f))
        return p


def setup(w):
    for user, role in ROLES.items():
        r = run("user", "add", user, "--role", role, db=w.db, input=PW[user] + "\n")
        check(r.returncode == 0, "user add %s: %s" % (user, r.stderr))
    r = run("signing-key", "create", db=w.db)  # the class page's evidence bundle
    check(r.returncode == 0, "signing-key create: %s" % r.stderr)
    for cid, inst, dist, who in ((CLS, "INST-A", "120103", "inst-a"),
                                 ("C-T", "INST-B", "120104", "inst-b"),
                                 ("C-U", "INST-B", "120104", "inst-b"),
                                 ("C-V", "INST-B", "120104", "inst-b")):
        st, body = w.req(who, "PUT", "/v1/classes/" + cid, plan(cid, inst, dist, "2026-10-20"))
        check(st == 201, "PUT %s: %s %s" % (cid, st, body))
    # INST-B's applications for the queue: C-T reviewed late (on the 14th working day), C-U
    # waiting long after its due date (overdue today, 2026-12-06 or later), C-V submitted today
    # (in time, when the calendar holds this year).
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    for cid, who, body in (("C-T", "inst-b", {"action": "submit", "on": "2026-09-01"}),
                           ("C-T", "city", {"action": "approve", "on": "2026-09-18"}),
                           ("C-U", "inst-b", {"action": "submit", "on": "2026-09-07"}),
                           ("C-V", "inst-b", {"action": "submit", "on": today})):
        st, r = w.req(who, "POST", "/v1/classes/%s/procedure" % cid,
                      dict(body, kind="application"))
        check(st == 200, "%s %s %s: %s %s" % (who, body["action"], cid, st, r))


def walk(w, b):
    origin = "https://127.0.0.1:%d" % w.port
    setup(w)
    shots_dir = os.environ.get("ROLLCALL_SCREENSHOTS")

    # The institution: the class page links to the procedure; nothing submitted yet.
    school = Officer(b, w, origin, "school")
    check("subsidy" in school.nav, "the institution's menu has 补贴: %s" % school.nav)
    b("goto", hash="#/class/%s" % CLS, ready="class")
    href = b("attr", selector="#to-procedure", name="href")["value"]
    check(href == "#/subsidy/%s" % CLS, "the class page links to its procedure: %s" % href)
    b("goto", hash="#/subsidy", ready="subsidy")
    b("waitFor", selector='#subsidy-classes[data-states="ready"]')
    rows = b("eval", js="[...document.querySelectorAll('#subsidy-classes tbody tr')]"
             ".map(r => [r.dataset.class, r.cells[3].textContent, r.cells[4].textContent])")["value"]
    check(rows == [[CLS, "未提交", "未提交"]], "the institution lists its own class only, "
          "nothing submitted: %s" % rows)
    check(not b("eval", js="!!document.getElementById('review-queue')")["value"],
          "the institution has no review queue")
    school.open_procedure()
    school.shows_api("before any step")
    # A date typed wrong is refused on the page; nothing is sent.
    r = school.act("application", "submit", {"on": "2026-02-30"})
    check(r[0] == "error" and "YYYY-MM-DD" in r[1], "a date that is not one: %s" % (r,))
    check(school.procedure()["application"]["state"] == "none", "nothing submitted")
    r = school.act("application", "submit", {"on": "2026-09-01"})
    check(r[0] == "done" and "已提交" in r[1], "the institution submits: %s" % (r,))
    p = school.shows_api("submitted")
    check(p.get("application", {}).get("state") == "submitted"
          and p["application"]["steps"][-1]["by"] == "user:school",
          "the API has the submission by user:school: %s" % p.get("application"))
    check(not b("eval", js="!!document.querySelector('button[data-action=approve]')")["value"],
          "the institution has no approve button")
    due = p.get("application", {}).get("review_due")
    shown = b("text", selector="#deadline-now")["text"]
    check(due and due in shown, "the deadline now is the review's %s: %s" % (due, shown))

    # The city: the queue (C-S waiting, C-U overdue, C-T reviewed late), each row a link.
    city = Officer(b, w, origin, "shiju")
    check("subsidy" in city.nav and "admin" not in city.nav, "the city's menu: %s" % city.nav)
    b("goto", hash="#/subsidy", ready="subsidy")
    st, q = city.s.req("GET", "/v1/review-queue")
    shown = b("eval", js="[...document.querySelectorAll('#review-queue tbody tr')].map(r => "
              "[r.dataset.class, r.dataset.state, r.dataset.late, r.cells[1].textContent, "
              "r.cells[2].textContent, r.cells[3].textContent, r.cells[6].textContent])")["value"]
    want = [[a["class"], a["state"], "true" if a["late_review"] else "false"]
            for a in q.get("applications", [])]
    check(st == 200 and [x[:3] for x in shown] == want,
          "the queue shown %s, API %s" % (shown, want))
    byc = {x[0]: x for x in shown}
    # C-S was submitted on 2026-09-01 and waits today: overdue, as C-U.
    for cid in (CLS, "C-U"):
        check(cid in byc and byc[cid][2] == "true" and "已超期" in byc[cid][6]
              and "开班申请审核超过5个工作日" in byc[cid][6], "%s overdue: %s" % (cid, byc.get(cid)))
    check(byc.get(CLS, [])[3:6] == ["INST-A", "2026-09-01", due],
          "C-S's institution, submission and due date (%s): %s" % (due, byc.get(CLS)))
    v = [a for a in q.get("applications", []) if a["class"] == "C-V"]
    check(len(v) == 1 and "C-V" in byc and (
        "期限内" in byc["C-V"][6] if not v[0]["late_review"] else "已超期" in byc["C-V"][6])
        and (v[0]["review_due"] or v[0].get("review_due_unknown")) in byc["C-V"][5],
        "C-V submitted today as the API says %s: %s" % (v, byc.get("C-V")))
    check("C-T" in byc and byc["C-T"][1] == "approved" and "逾期审核" in byc["C-T"][6],
          "C-T reviewed late: %s" % byc.get("C-T"))
    late_rows = b("eval", js="[...document.querySelectorAll('#review-queue tr.late')]"
                  ".map(r => r.dataset.class)")["value"]
    want = sorted(a["class"] for a in q.get("applications", []) if a["late_review"])
    check(sorted(late_rows) == want and set(want) >= {CLS, "C-T", "C-U"},
          "late rows highlighted: %s, API %s" % (late_rows, want))
    b("waitFor", selector='#subsidy-classes[data-states="ready"]')
    states = b("eval", js="Object.fromEntries([...document.querySelectorAll('#subsidy-classes "
               "tbody tr')].map(r => [r.dataset.class, r.cells[3].textContent]))")["value"]
    check(states == {"C-S": "已提交", "C-T": "已批准", "C-U": "已提交", "C-V": "已提交"},
          "the city's class list with the application states: %s" % states)
    if shots_dir:
        shots(b, shots_dir, "subsidy-queue")
    b("eval", js="delete document.body.dataset.ready")
    b("click", selector='#review-queue tr[data-class="%s"] a' % CLS)
    b("waitFor", selector='body[data-ready="procedure"]')
    city.shows_api("the city opens C-S from the queue")

    # A return without a reason: refused on the page, nothing changed.
    r = city.act("application", "return", {"on": "2026-09-02", "reason": "  "})
    check(r[0] == "error" and "理由" in r[1], "a return without a reason: %s" % (r,))
    p = city.shows_api("after the refused return")
    check(p.get("application", {}).get("state") == "submitted"
          and len(p["application"]["steps"]) == 1, "the refused return changed nothing")
    reason = "培训计划缺少实操课时安排，请补充后重新提交"
    r = city.act("application", "return", {"on": "2026-09-02", "reason": reason})
    check(r[0] == "done" and "已退回" in r[1], "the city returns it: %s" % (r,))
    p = city.shows_api("returned")
    check(p.get("application", {}).get("state") == "returned"
          and p["application"]["steps"][-1]["reason"] == reason
          and p["application"]["steps"][-1]["by"] == "user:shiju",
          "the API has the return with its reason: %s" % p.get("application"))
    shown = b("text", selector="#steps-application li:last-child .reason")["text"]
    check(reason in shown, "the reason shown: %s" % shown)

    # The institution resubmits; the city approves in time.
    school = Officer(b, w, origin, "school")
    school.open_procedure()
    r = school.act("application", "submit", {"on": "2026-09-03"})
    check(r[0] == "done", "the institution resubmits: %s" % (r,))
    school.shows_api("resubmitted")
    city = Officer(b, w, origin, "shiju")
    city.open_procedure()
    r = city.act("application", "approve", {"on": "2026-09-04"})
    check(r[0] == "done" and "已批准" in r[1], "the city approves: %s" % (r,))
    p = city.shows_api("approved")
    check(p.get("application", {}).get("state") == "approved", "approved in the API")

    # A late review's finding by its catalogue title (C-T, approved on the 14th working day).
    city.open_procedure("C-T")
    city.shows_api("C-T", "C-T")
    title = b("text", selector='#steps-application [data-finding="late_review"]')["text"]
    check(po_title("zh_CN", "late_review") and title.startswith(po_title("zh_CN", "late_review"))
          and "late_review" in title, "late_review by its catalogue title: %s" % title)

    # The evaluation institution uploads the assessments (two certified, one failed).
    rows = [{"class": CLS, "id_number": IDS[i], "passed": ok, "assessed_on": "2026-10-25",
             **({"certificate": "TJ2026-S%03d" % i} if ok else {})}
            for i, ok in ((0, True), (1, True), (2, False))]
    st, body = w.req("assessor", "POST", "/v1/classes/%s/assessments" % CLS, rows)
    check(st == 200, "the assessor uploads the results: %s %s" % (st, body))

    # The institution claims; the frozen figures are shown.
    school = Officer(b, w, origin, "school")
    school.open_procedure()
    r = school.act("claim", "submit", {"on": "2026-11-10"})
    check(r[0] == "done", "the institution claims: %s" % (r,))
    p = school.shows_api("claimed")
    sub = p.get("claim", {}).get("steps", [{}])[-1].get("data", {})
    shown = b("eval", js="Object.fromEntries([...document.querySelectorAll('#steps-claim li:last-child "
              ".kv')].map(k => [k.dataset.key, k.title]))")["value"]
    check(sub.get("certified") == 2 and shown.get("certified") == "2"
          and shown.get("total_yuan") == str(sub.get("total_yuan"))
          and shown.get("assessed_until") == "2026-10-25",
          "the frozen figures shown %s, API %s" % (shown, sub))

    # The city audits, publishes with the server's notice period, is refused an early
    # payment, pays.
    city = Officer(b, w, origin, "shiju")
    city.open_procedure()
    r = city.act("claim", "audit", {"on": "2026-11-12"})
    check(r[0] == "done", "the city audits: %s" % (r,))
    city.shows_api("audited")
    r = city.act("claim", "publish", {"on": "2026-11-13"})
    check(r[0] == "done", "the city publishes: %s" % (r,))
    p = city.shows_api("published")
    pub = p.get("claim", {}).get("steps", [{}])[-1].get("data", {})
    check(pub.get("notice_workdays") == 5 and pub.get("notice_until") == "2026-11-20",
          "the server's notice period (5 working days): %s" % pub)
    shown = b("text", selector="#deadline-now")["text"]
    check("2026-11-20" in shown, "the deadline now is the notice's end: %s" % shown)
    amount = b("eval", js="document.querySelector('form.act[data-kind=claim] [name=amount_yuan]')"
               ".value")["value"]
    total = sub.get("total_yuan")
    check(amount == (str(total) if total else ""), "the amount defaults to the claim's total %s: %r"
          % (total, amount))
    r = city.act("claim", "pay", {"on": "2026-11-20", "amount_yuan": "0",
                                  "reference": "TJCZ-2026-1120-01"})
    check(r[0] == "error" and "金额" in r[1], "an amount of 0 refused on the page: %s" % (r,))
    r = city.act("claim", "pay", {"on": "2026-11-19", "amount_yuan": "3200",
                                  "reference": "TJCZ-2026-1119"})
    # The same request from the page's session: refused again (nothing changed in between),
    # its error line and message are what the page shows.
    st, e = city.s.req("POST", "/v1/classes/%s/procedure" % CLS, {
        "kind": "claim", "action": "pay", "on": "2026-11-19", "amount_yuan": 3200,
        "reference": "TJCZ-2026-1119"})
    check(st == 400 and r[0] == "error" and "2026-11-20" in r[1] and len(r[1].splitlines()) == 1
          and e.get("error", "?") in r[1] and e.get("message", "?") in r[1],
          "a payment before the notice ends: the API's line %s shown: %s" % (e, r))
    print("the page on the refused payment: %s" % r[1])
    p = city.shows_api("after the refused payment")
    check(p.get("claim", {}).get("state") == "published" and len(p["claim"]["steps"]) == 3,
          "the refused payment changed nothing: %s" % p.get("claim", {}).get("state"))
    r = city.act("claim", "pay", {"on": "2026-11-20", "amount_yuan": "3200",
                                  "reference": "TJCZ-2026-1120-01"})
    check(r[0] == "done" and "已拨付" in r[1], "the city pays: %s" % (r,))
    p = city.shows_api("paid")
    paid = p.get("claim", {}).get("steps", [{}])[-1].get("data", {})
    check(p.get("claim", {}).get("state") == "paid" and paid.get("reference") == "TJCZ-2026-1120-01"
          and paid.get("amount_yuan") == 3200 and paid.get("paid_on") == "2026-11-20",
          "the API has the payment: %s" % paid)

    # The living allowance: the institution picks a certified trainee by the masked ID.
    school = Officer(b, w, origin, "school")
    school.open_procedure()
    b("waitFor", selector='#figures-box[data-ready]')  # the picker comes with the figures
    opts = b("eval", js="[...document.querySelectorAll('form.act[data-kind=allowance] "
             "select option')].map(o => o.value).filter(Boolean)")["value"]
    check(masked(IDS[0]) in opts and all(len(o) == 18 and "*" in o for o in opts),
          "the picker offers masked IDs only: %s" % opts)
    # Trainee 2 failed the assessment: not in the paid claim. The page shows the rule the
    # collector names, and nothing is recorded.
    r = school.act("allowance", "submit", {"trainee": masked(IDS[2]), "on": "2026-11-25"})
    check(r[0] == "error" and "allowance_no_training_subsidy" in r[1],
          "an allowance refused names its rule: %s" % (r,))
    check(school.procedure().get("allowances") == [], "the refused allowance recorded nothing")
    b("waitFor", selector='#figures-box[data-ready]')
    r = school.act("allowance", "submit", {"trainee": masked(IDS[0]), "on": "2026-11-25"})
    check(r[0] == "done", "the institution claims the allowance: %s" % (r,))
    school.shows_api("allowance claimed")
    city = Officer(b, w, origin, "shiju")
    city.open_procedure()
    r = city.act("allowance", "audit", {"on": "2026-11-26"}, trainee=masked(IDS[0]))
    check(r[0] == "done", "the city audits the allowance: %s" % (r,))
    p = city.shows_api("allowance audited")
    check([x["state"] for x in p.get("allowances", [])] == ["audited"],
          "the allowance audited in the API: %s" % p.get("allowances"))
    b("waitFor", selector='#figures-box[data-ready]')
    shown = b("eval", js="[...document.querySelectorAll('#subsidy-figures tbody tr')]"
              ".map(r => [r.dataset.trainee, r.cells[3].textContent])")["value"]
    st, fig = city.s.req("GET", "/v1/classes/%s/subsidy" % CLS)
    check(st == 200 and shown == [[x["trainee_masked"], str(x["amount_yuan"])]
                                  for x in fig["trainees"]],
          "the figures shown %s, API %s" % (shown, fig))
    if shots_dir:
        shots(b, shots_dir, "subsidy-procedure")

    # The district reads the steps, takes none.
    bureau = Officer(b, w, origin, "bureau")
    check("subsidy" in bureau.nav, "the district's menu has 补贴: %s" % bureau.nav)
    bureau.open_procedure()
    bureau.shows_api("the district's view")
    n = b("eval", js="document.querySelectorAll('#main form, #main button, #main input, "
          "#main select').length")["value"]
    check(n == 0, "the district's view is read only: %d controls" % n)
    note = b("text", selector="#no-action")["text"]
    check("只读" in note, "the page says read only: %s" % note)

    # The admin may act for the city: the same queue, the city's forms.
    root = Officer(b, w, origin, "root")
    b("goto", hash="#/subsidy", ready="subsidy")
    rows = b("eval", js="[...document.querySelectorAll('#review-queue tbody tr')]"
             ".map(r => r.dataset.class)")["value"]
    st, q = root.s.req("GET", "/v1/review-queue")
    check(st == 200 and rows == [a["class"] for a in q["applications"]],
          "the admin's queue %s, API %s" % (rows, q))
    root.open_procedure("C-U")
    acts = b("eval", js="[...document.querySelectorAll('#subsidy-actions button')]"
             ".map(x => x.dataset.action)")["value"]
    check(acts == ["approve", "return"], "the admin may approve or return C-U: %s" % acts)

    # The evaluator: no subsidy page, and the API says no.
    ev = Officer(b, w, origin, "pinggu")
    check("subsidy" not in ev.nav, "no subsidy page in the evaluator's menu: %s" % ev.nav)
    b("goto", hash="#/subsidy/%s" % CLS, ready="overview")
    check(b("eval", js="location.hash")["value"] == "#/overview",
          "the evaluator's #/subsidy leads to the overview")
    st, _ = ev.s.req("GET", "/v1/classes/%s/procedure" % CLS)
    check(st == 403, "the API refuses the evaluator the procedure: %s" % st)


def expected(e):
    """test_console's expected errors, and the 400 of the payment refused on purpose (the
    page shows the API's line)."""
    return expected_error(e) or (e["url"].endswith("/v1/classes/%s/procedure" % CLS)
                                 and "400" in e["text"])


def shots(b, out, name):
    for wd, ht in ((1366, 768), (1920, 1080)):
        b("viewport", width=wd, height=ht)
        b("screenshot", path=os.path.join(out, "%s-%dx%d.png" % (name, wd, ht)))
    b("viewport", width=1366, height=768)


def main():
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        print("FAILED: needs node and Debian's chromium (scripts/install-deps.sh)")
        return 1
    d = tempfile.mkdtemp(prefix="rollcall-console-subsidy-")
    b = None
    try:
        make_pki(d)
        w = World(d, "s")
        try:
            b = Browser()
            walk(w, b)
        finally:
            if b:
                errs = [e for e in b("errors")["errors"] if not expected(e)]
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


if __name__ == "__main__":
    sys.exit(main())
