#!/usr/bin/python3
# labels: collector pg
"""The subsidy procedure end to end through the CLI (docs/SUBSIDY.md), on SQLite and on
PostgreSQL: applications on both sides of the 15-day line; reviews on both sides of the
5-working-day line across 春节 2026 with its 调休 Saturday (2026-02-14), shown on the city's
queue; a return with its reason and a resubmission that restarts the clock; a claim refused
before approval; claims on day 30 and day 31 after the assessment; the notice period (公示)
holding back the payment; the payment recorded; a later assessment upload that would change a
claim's frozen figures reported as a finding; bad input refused in one line, changing nothing.
Each outcome is asserted with the finding it names."""

import json
import os
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
from ingestlib import Server, make_pki, request, tls_context, token, run  # noqa: E402

VERIFY = os.environ.get("ROLLCALL_VERIFY", "build/release/rollcall-verify")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def gb11643(first17):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * x for c, x in zip(first17, w)) % 11]


IDS = [gb11643("12010319900101123"), gb11643("12010219920202234"),
       gb11643("12010119950303345")]


def plan(cid, start_date):
    """A class of INST-A whose first (online) session is on start_date, 09:00-12:00."""
    return {"id": cid, "institution": "INST-A", "district": "120103",
            "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-01-05",
            "sessions": [{"id": "S01", "start": start_date + "T09:00:00+08:00",
                          "end": start_date + "T12:00:00+08:00", "mode": "online"}],
            "roster": [{"id_number": IDS[i], "name": "学员%d" % i, "student": False}
                       for i in range(3)]}


def step(db, *args):
    r = run("subsidy", *args, db=db)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def ok_step(db, what, *args):
    rc, out, err = step(db, *args)
    check(rc == 0, "%s: %s" % (what, err))
    return out


def status(db, cid):
    r = run("subsidy", "status", cid, db=db)
    check(r.returncode == 0, "status %s: %s" % (cid, r.stderr))
    return json.loads(r.stdout) if r.returncode == 0 else {}


def assessments(d, db, cid, rows):
    path = os.path.join(d, "assess-%s.json" % cid)
    with open(path, "w") as f:
        json.dump([{"class": cid, "id_number": IDS[i], "passed": passed,
                    "assessed_on": on, **({"certificate": cert} if passed else {})}
                   for i, passed, on, cert in rows], f, ensure_ascii=False)
    r = run("import", "assessments", path, db=db)
    check(r.returncode == 0, "import assessments %s: %s" % (cid, r.stderr))


def main_on(backend):
    with tempfile.TemporaryDirectory(prefix="rc-subsidy-") as d:
        db = pglib.new_db(backend, d, "rc_subsidy")
        r = run("migrate", db=db)
        if not check(r.returncode == 0, "migrate: %s" % r.stderr):
            return
        path = os.path.join(d, "plans.json")
        with open(path, "w") as f:
            json.dump([plan("C-1", "2026-03-16"), plan("C-2", "2026-03-16"),
                       plan("C-3", "2026-03-16"), plan("C-4", "2026-03-16"),
                       plan("C-5", "2027-01-20"), plan("C-6", "2026-03-16")], f,
                      ensure_ascii=False)
        r = run("import", "classes", path, db=db)
        if not check(r.returncode == 0, "import classes: %s" % r.stderr):
            return

        # 15 days before 2026-03-16 is in time; 14 is late_application.
        out = ok_step(db, "apply C-1", "apply", "C-1", "--by", "inst-a", "--on", "2026-03-01")
        check(out == "application of C-1: submitted", "C-1 in time: %r" % out)
        out = ok_step(db, "apply C-2", "apply", "C-2", "--by", "inst-a", "--on", "2026-03-02")
        check(out.endswith("finding late_application"), "C-2 late_application: %r" % out)

        # Submitted Tue 2026-02-10: the fifth working day is Tue 2026-02-24 (Wed 11, Thu 12,
        # Fri 13, Sat 14 worked, 春节 15-23 off, Tue 24).
        for cid in ("C-3", "C-4"):
            ok_step(db, "apply " + cid, "apply", cid, "--by", "inst-a", "--on", "2026-02-10")
        r = run("subsidy", "queue", "--on", "2026-02-26", db=db)
        queue = {q["class"]: q for q in json.loads(r.stdout)} if r.returncode == 0 else {}
        check(queue.get("C-3", {}).get("review_due") == "2026-02-24" and
              queue["C-3"]["late_review"] and queue["C-3"]["state"] == "submitted",
              "queue: C-3 waiting past its due date is late: %r" % queue)
        out = ok_step(db, "approve C-3", "approve", "C-3", "--by", "city-li", "--on",
                      "2026-02-24")
        check(out == "application of C-3: approved", "C-3 reviewed on day 5: %r" % out)
        out = ok_step(db, "approve C-4", "approve", "C-4", "--by", "city-li", "--on",
                      "2026-02-25")
        check(out == "application of C-4: approved — finding late_review",
              "C-4 reviewed on day 6: late_review: %r" % out)
        r = run("subsidy", "queue", "--on", "2026-03-01", db=db)
        queue = {q["class"]: q for q in json.loads(r.stdout)} if r.returncode == 0 else {}
        check("C-3" not in queue and queue.get("C-4", {}).get("late_review") is True and
              queue["C-4"]["reviewed_on"] == "2026-02-25",
              "the bureau's queue keeps the late review of C-4 only: %r" % queue)

        # Return with a reason; the resubmission restarts the clock.
        rc, out, err = step(db, "return", "C-1", "--by", "city-li", "--on", "2026-03-03")
        check(rc == 2 or (rc == 1 and "reason" in err), "a return needs a reason: %r" % err)
        ok_step(db, "return C-1", "return", "C-1", "--by", "city-li", "--on", "2026-03-03",
                "--reason", "缺少考核计划 no assessment plan")
        rc, out, err = step(db, "claim", "C-1", "--by", "inst-a", "--on", "2026-03-04")
        check(rc == 1 and "not approved" in err and err.count("\n") == 0,
              "a claim before approval is refused in one line: %r" % err)
        ok_step(db, "resubmit C-1", "apply", "C-1", "--by", "inst-a", "--on", "2026-03-04")
        out = ok_step(db, "approve C-1", "approve", "C-1", "--by", "city-li", "--on",
                      "2026-03-11")
        check(out == "application of C-1: approved",
              "5 working days from the resubmission (03-04 -> 03-11): %r" % out)
        s = status(db, "C-1")
        steps = s.get("application", {}).get("steps", [])
        check([x["action"] for x in steps] == ["submit", "return", "submit", "approve"] and
              steps[1]["reason"] == "缺少考核计划 no assessment plan" and
              steps[1]["by"] == "cli:city-li" and steps[3]["data"]["review_due"] == "2026-03-11",
              "every transition with who, when and why: %r" % steps)

        # Claims: assessed 2026-04-10; day 30 (05-10) is in time, day 31 (05-11) late_claim.
        assessments(d, db, "C-1", [(0, True, "2026-04-10", "TJ2026-0001"),
                                   (1, True, "2026-04-10", "TJ2026-0002"),
                                   (2, False, "2026-04-10", None)])
        assessments(d, db, "C-3", [(0, True, "2026-04-10", "TJ2026-0101")])
        out = ok_step(db, "claim C-1", "claim", "C-1", "--by", "inst-a", "--on", "2026-05-10")
        check(out == "claim of C-1: submitted", "claim on day 30 is in time: %r" % out)
        out = ok_step(db, "claim C-3", "claim", "C-3", "--by", "inst-a", "--on", "2026-05-11")
        check(out == "claim of C-3: submitted — finding late_claim",
              "claim on day 31: late_claim: %r" % out)
        # The engine's findings take the claim's date: late_claim on C-3 only.
        for cid, want in (("C-3", True), ("C-1", False)):
            r = run("report", "findings", "--class", cid, "--since", "2026-01-01", "--format",
                    "json", db=db)
            kinds = [f["kind"] for f in json.loads(r.stdout)["findings"]] \
                if r.returncode == 0 else None
            check(kinds is not None and ("late_claim" in kinds) == want,
                  "report findings %s: late_claim %s: %r %s" % (cid, want, kinds, r.stderr))
        # ...and late_application takes the application's latest submit step, not the plan's
        # applied_on (2026-01-05, in time for all): C-2 submitted 03-02 (14 days), C-1
        # resubmitted 03-04 (12 days) after its return, C-3 submitted 02-10.
        for cid, want in (("C-2", True), ("C-1", True), ("C-3", False)):
            r = run("report", "findings", "--class", cid, "--since", "2026-01-01", "--format",
                    "json", db=db)
            fs = [f for f in json.loads(r.stdout)["findings"] if f["kind"] == "late_application"] \
                if r.returncode == 0 else None
            check(fs is not None and bool(fs) == want,
                  "report findings %s: late_application %s: %r %s" % (cid, want, fs, r.stderr))
            if fs:
                day = {"C-2": "2026-03-02", "C-1": "2026-03-04"}[cid]
                check(day in fs[0].get("detail", ""),
                      "late_application of %s dated by its submission %s: %r" % (cid, day, fs))
        # The claim's date is an input of the figures: a bundle carries it and the offline
        # verifier recomputes late_claim from it.
        key = os.path.join(d, "signing.key")
        if not os.path.exists(key):
            r = run("signing-key", "create", "--signing-key", key, db=db)
            check(r.returncode == 0, "signing-key create: %s" % r.stderr)
        for cid in ("C-3", "C-1"):
            out = os.path.join(d, "%s-%s.tar" % (backend, cid))
            r = run("evidence", "--class", cid, "--out", out, "--signing-key", key, db=db)
            check(r.returncode == 0, "evidence %s: %s" % (cid, r.stderr))
            v = subprocess.run([VERIFY, out], capture_output=True, text=True, timeout=120)
            check(v.returncode == 0, "the bundle of %s verifies: %s%s" % (cid, v.stdout, v.stderr))
            if cid == "C-1" and r.returncode == 0:
                with tarfile.open(out) as tar:
                    meta = json.load(tar.extractfile("bundle.json"))
                check(meta.get("applied_ms") == 1772553600000,
                      "C-1's bundle carries its resubmission date (2026-03-04 00:00 +08:00): %r"
                      % meta.get("applied_ms"))
        s = status(db, "C-1")
        frozen = s["claim"]["steps"][0]["data"]
        check(frozen.get("certified") == 2 and len(frozen.get("figures_sha256", "")) == 64 and
              frozen.get("assessed_until") == "2026-04-10" and
              frozen.get("days_after_assessment") == 30 and
              s["claim"]["figures_changed"] is False and s["claim"]["finding"] is None,
              "the claim freezes its figures: %r" % frozen)

        # Audit, notice period, payment.
        ok_step(db, "audit", "audit", "C-1", "--by", "city-li", "--on", "2026-05-11")
        ok_step(db, "publish", "publish", "C-1", "--by", "city-li", "--on", "2026-05-12",
                "--notice-days", "5")
        rc, out, err = step(db, "pay", "C-1", "--by", "city-li", "--on", "2026-05-18",
                            "--amount", "5440", "--reference", "TJCZ-2026-0518")
        check(rc == 1 and "公示" in err and "2026-05-19" in err,
              "no payment before the notice period ends (5 working days: 05-19): %r" % err)
        rc, out, err = step(db, "pay", "C-1", "--by", "city-li", "--on", "2026-05-19",
                            "--amount", "5440")
        check(rc == 1 and "reference" in err, "a payment needs a reference: %r" % err)
        out = ok_step(db, "pay", "pay", "C-1", "--by", "city-li", "--on", "2026-05-19",
                      "--amount", "5440", "--reference", "TJCZ-2026-0519")
        check(out == "claim of C-1: paid", "paid: %r" % out)
        s = status(db, "C-1")
        pay = s["claim"]["steps"][-1]
        check(s["claim"]["state"] == "paid" and pay["data"] == {
            "amount_yuan": 5440, "paid_on": "2026-05-19", "reference": "TJCZ-2026-0519"},
            "the payment's amount, date and reference: %r" % pay)
        rc, out, err = step(db, "pay", "C-1", "--by", "city-li", "--on", "2026-05-20",
                            "--amount", "1", "--reference", "x")
        check(rc == 1 and "cannot pay in state paid" in err, "paid once: %r" % err)

        allowance(db)

        # A later upload that would change the frozen figures is a finding, not a change.
        assessments(d, db, "C-1", [(2, True, "2026-04-20", "TJ2026-0003")])
        s = status(db, "C-1")
        check(s["claim"]["figures_changed"] is True and
              s["claim"]["finding"] == "claim_figures_changed" and
              s["claim"]["steps"][0]["data"]["certified"] == 2,
              "claim_figures_changed after a later upload: %r" % s.get("claim"))

        # City-wide limits: the same person certified through another institution (INST-B,
        # another district) for the same occupation and level is recognised by the city-wide
        # pseudonym, and the refusal names the earlier class.
        b1 = dict(plan("B-1", "2026-01-20"), institution="INST-B", district="120104")
        with open(path, "w") as f:
            json.dump([b1], f, ensure_ascii=False)
        r = run("import", "classes", path, db=db)
        check(r.returncode == 0, "import B-1: %s" % r.stderr)
        assessments(d, db, "B-1", [(1, True, "2026-02-01", "TJ2026-B001")])
        r = run("report", "subsidy", "--class", "C-1", "--claim", "2026-05-10", "--format",
                "json", db=db)
        rep = json.loads(r.stdout) if r.returncode == 0 else {}
        by_masked = {t.get("trainee_masked"): t for t in rep.get("trainees", [])}
        t0 = [by_masked[m] for m in [IDS[1][:4] + "*" * 10 + IDS[1][-4:]] if m in by_masked]
        rules = {x["rule"]: x for x in t0[0]["refused"]} if t0 else {}
        check(rules.get("limit_same_occupation_level", {}).get("collides_with") == "B-1",
              "city-wide: the earlier subsidy at INST-B is found: %r" % (t0,))
        # Counting by the claim's year (B-1 was never claimed: its assessment's date counts).
        r = run("report", "subsidy", "--class", "C-1", "--claim", "2026-05-10", "--format",
                "json", "--subsidy-year", "claim", db=db)
        byc = {t["trainee_masked"]: t for t in json.loads(r.stdout)["trainees"]} \
            if r.returncode == 0 else {}
        rules_c = {x["rule"]: x for x in byc.get(masked(1), {}).get("refused", [])}
        check(rules_c.get("limit_same_occupation_level", {}).get("collides_with") == "B-1",
              "report subsidy --subsidy-year claim: %s %r" % (r.stderr, byc.get(masked(1))))
        r = run("report", "subsidy", "--class", "C-1", "--subsidy-year", "calendar", db=db)
        check(r.returncode == 2 and "--subsidy-year must be assessment or claim" in r.stderr and
              len(r.stderr.splitlines()) == 1 and r.stdout == "",
              "report --subsidy-year calendar refused in one line: %s %r"
              % (r.returncode, r.stderr))
        t1 = [by_masked[m] for m in [IDS[2][:4] + "*" * 10 + IDS[2][-4:]] if m in by_masked]
        check(t1 and not any(x["rule"].startswith("limit_") for x in t1[0]["refused"]),
              "city-wide: a trainee without an earlier subsidy is not limited: %r" % (t1,))
        # No clear identity number is stored; the city pseudonym differs from the
        # institution's.
        rows = pglib.query(db if backend != "sqlite" else db.split(":", 1)[1],
                           "SELECT trainee, city FROM roster WHERE class = ?", "C-1")
        check(rows and all(len(c or "") == 64 and c != t for t, c in rows),
              "roster rows carry a city-wide pseudonym: %r" % (rows,))
        if backend == "sqlite":
            with open(db.split(":", 1)[1], "rb") as f:
                raw = f.read()
            check(not any(i.encode() in raw for i in IDS), "no clear ID number in the database")

        # Bad input: one line, nothing changed.
        rc, out, err = step(db, "apply", "C-404", "--by", "inst-a", "--on", "2026-03-01")
        check(rc == 1 and err.count("\n") == 0 and "C-404" in err, "unknown class: %r" % err)
        rc, out, err = step(db, "approve", "C-2", "--by", "city-li", "--on", "2026-13-01")
        check(rc == 2, "bad date refused: %r" % err)
        check(status(db, "C-2")["application"]["state"] == "submitted", "C-2 unchanged")
        # A review whose 5 working days run into 2027, a year the calendar does not hold:
        # refused, not guessed; with the fallback, weekends only and flagged on the step.
        ok_step(db, "apply C-5", "apply", "C-5", "--by", "inst-a", "--on", "2026-12-28")
        rc, out, err = step(db, "approve", "C-5", "--by", "city-li", "--on", "2027-01-05")
        check(rc == 1 and "2027 is not in the working-day calendar" in err,
              "a review outside the calendar is refused, not guessed: %r" % err)
        a5 = status(db, "C-5")["application"]
        check(a5["state"] == "submitted" and a5["review_due"] is None and
              "2027" in a5.get("review_due_unknown", ""),
              "C-5 unchanged, its deadline shown as unknown with the reason: %r" % a5)
        out = ok_step(db, "fallback", "approve", "C-5", "--by", "city-li", "--on",
                      "2027-01-05", "--weekend-fallback")
        check(out.endswith("finding late_review"), "fallback review flagged: %r" % out)
        last = status(db, "C-5")["application"]["steps"][-1]
        check(last["data"] == {"review_due": "2027-01-04", "calendar_fallback": True},
              "the fallback is flagged on the step: %r" % last)

        budget(d, db)
        api(d, db)


def masked(i):
    return IDS[i][:4] + "*" * 10 + IDS[i][-4:]


def allowance(db):
    """The living allowance (生活费补贴) of C-1's trainees (its training ended 2026-03-16, its
    claim paid for trainees 0 and 1): refused for the uncertified trainee 2, for a class whose
    claim is not paid, after 13 months; paid after 11 months through audit, 公示 and payment;
    a second one refused. Each refusal names its rule and changes nothing."""
    def refused(rule, *args):
        rc, out, err = step(db, "allowance-claim", *args, "--by", "inst-a")
        check(rc == 1 and err.count("\n") == 0 and "(%s)" % rule in err,
              "allowance refused by %s: %s %r" % (rule, rc, err))
        return err

    refused("allowance_no_training_subsidy", "C-1", "--trainee", masked(2), "--on", "2027-02-16")
    err = refused("allowance_no_training_subsidy", "C-3", "--trainee", masked(0), "--on",
                  "2026-06-01")
    check("not paid (state submitted)" in err, "C-3's claim is not paid yet: %r" % err)
    err = refused("allowance_too_late", "C-1", "--trainee", masked(0), "--on", "2027-04-16")
    check("ended on 2026-03-16 (last day 2027-03-16)" in err, "the window's last day: %r" % err)
    check(status(db, "C-1").get("allowances") == [], "refusals changed nothing")
    rc, out, err = step(db, "allowance-claim", "C-1", "--by", "inst-a", "--on", "2027-02-16")
    check(rc == 2 and "--trainee" in err, "allowance-claim needs --trainee: %r" % err)
    rc, out, err = step(db, "allowance-claim", "C-1", "--trainee", IDS[0], "--by", "inst-a",
                        "--on", "2027-02-16")
    check(rc == 1 and "no such trainee" in err and IDS[0] not in err,
          "a clear ID number is not a roster key and is not echoed: %r" % err)
    # 11 months after the training: claimed, audited, published, paid (1,000 yuan).
    out = ok_step(db, "allowance C-1/0", "allowance-claim", "C-1", "--trainee", masked(0),
                  "--by", "inst-a", "--on", "2027-02-16")
    check(out == "allowance of %s (class C-1): submitted" % masked(0), "submitted: %r" % out)
    ok_step(db, "allowance audit", "allowance-audit", "C-1", "--trainee", masked(0), "--by",
            "city-li", "--on", "2027-02-18")
    ok_step(db, "allowance publish", "allowance-publish", "C-1", "--trainee", masked(0), "--by",
            "city-li", "--on", "2027-02-22", "--notice-days", "5", "--weekend-fallback")
    rc, out, err = step(db, "allowance-pay", "C-1", "--trainee", masked(0), "--by", "city-li",
                        "--on", "2027-02-26", "--reference", "TJCZ-2027-SH01")
    check(rc == 1 and "公示" in err and "2027-03-01" in err,
          "no allowance payment during the notice period: %r" % err)
    out = ok_step(db, "allowance pay", "allowance-pay", "C-1", "--trainee", masked(0), "--by",
                  "city-li", "--on", "2027-03-01", "--reference", "TJCZ-2027-SH01")
    check(out == "allowance of %s (class C-1): paid" % masked(0), "paid: %r" % out)
    al = status(db, "C-1").get("allowances", [])
    check(len(al) == 1 and al[0]["trainee"] == masked(0) and al[0]["state"] == "paid" and
          [x["action"] for x in al[0]["steps"]] == ["submit", "audit", "publish", "pay"] and
          al[0]["steps"][0]["data"] == {"class": "C-1", "trainee": masked(0),
                                        "training_end": "2026-03-16",
                                        "last_day": "2027-03-16", "amount_yuan": 1000} and
          al[0]["steps"][-1]["data"] == {"class": "C-1", "amount_yuan": 1000,
                                         "paid_on": "2027-03-01",
                                         "reference": "TJCZ-2027-SH01"},
          "the allowance's record: %r" % al)
    err = refused("allowance_once", "C-1", "--trainee", masked(0), "--on", "2027-03-02")
    check("already paid" in err and "class C-1" in err, "once names the earlier one: %r" % err)


def budget(d, db):
    """report budget (五(一)): 2026's claims (C-1, C-3), approval and payment (C-1) from the
    procedure's own steps, by each dimension; the forecast of 2027 from C-5 (applied for,
    starting 2027-01-20) at the catalogue amount times 2026's certified/enrolled, against the
    trend (nothing paid in 2025: the 2026 payment)."""
    figures = {}
    for cid in ("C-1", "C-3"):
        sub = [x for x in status(db, cid)["claim"]["steps"] if x["action"] == "submit"][-1]
        figures[cid] = sub["data"]["total_yuan"] + sub["data"]["living_allowance_yuan"]
    with open(os.path.join(os.environ["ROLLCALL_SOURCE_DIR"], "server/engine/catalogue.json"),
              encoding="utf-8") as f:
        amount = [o for o in json.load(f)["occupations"]
                  if o["code"] == "2-02-10-09"][0]["junior"]["amount_yuan"]
    r = run("report", "budget", "--year", "2026", "--format", "json", db=db)
    b = json.loads(r.stdout) if r.returncode == 0 else {}
    claimed = figures["C-1"] + figures["C-3"]
    check(b.get("claimed") == {"classes": 2, "yuan": claimed} and
          b.get("approved") == {"classes": 1, "yuan": figures["C-1"]} and
          b.get("paid") == {"classes": 1, "yuan": 5440} and
          b.get("paid_previous_year") == {"classes": 0, "yuan": 0},
          "budget 2026: claimed C-1 + C-3, approved C-1, paid 5440: %r %s" % (b, r.stderr))
    want_row = {"claimed": {"classes": 2, "yuan": claimed},
                "approved": {"classes": 1, "yuan": figures["C-1"]},
                "paid": {"classes": 1, "yuan": 5440}}
    for dim, key in (("occupation", "2-02-10-09"), ("level", "junior"), ("district", "120103"),
                     ("institution", "INST-A")):
        check(b.get("by", {}).get(dim) == [dict(want_row, key=key)],
              "budget by %s: one row %s: %r" % (dim, key, b.get("by", {}).get(dim)))
    # 2026's claims: C-1 certified 2 of 3, C-3 1 of 3; C-5's 3 trainees at the catalogue amount.
    from_apps = (3 * amount * 3 * 2 + 6) // (2 * 6)
    check(b.get("forecast") == {
        "year": 2027, "applied_classes": 1, "applied_trainees": 3,
        "applied_catalogue_yuan": 3 * amount, "claimed_certified": 3, "claimed_enrolled": 6,
        "from_applications_yuan": from_apps, "from_trend_yuan": 5440,
        "proposal_yuan": max(from_apps, 5440)},
        "budget forecast 2027 from C-5 and the trend: %r" % b.get("forecast"))
    r = run("report", "budget", "--year", "2025", "--format", "json", db=db)
    b25 = json.loads(r.stdout) if r.returncode == 0 else {}
    # 2025: nothing claimed or paid; C-1..C-4 (starting 2026-03-16) are applied for 2026, and
    # without any 2025 claim every trainee is taken to be certified (rate 1, the safe side).
    check(b25.get("claimed") == {"classes": 0, "yuan": 0} and b25.get("forecast") == {
        "year": 2026, "applied_classes": 4, "applied_trainees": 12,
        "applied_catalogue_yuan": 12 * amount, "claimed_certified": 0, "claimed_enrolled": 0,
        "from_applications_yuan": 12 * amount, "from_trend_yuan": 0,
        "proposal_yuan": 12 * amount},
        "budget 2025: nothing claimed; 2026's forecast from C-1..C-4 at rate 1: %r" % b25)
    r = run("report", "budget", "--year", "2026", "--format", "csv", db=db)
    lines = r.stdout.lstrip("\ufeff").splitlines()
    check(r.returncode == 0 and lines[1].startswith("职业 occupation,申报班级 classes claimed") and
          "合计 total,2,%d,1,%d,1,5440" % (claimed, figures["C-1"]) in lines and
          "建议预算(元) proposal yuan,%d" % max(from_apps, 5440) in lines,
          "budget CSV: sections, totals and the proposal: %r" % lines[:12])
    xlsx = os.path.join(d, "budget.xlsx")
    r = run("report", "budget", "--year", "2026", "--format", "xlsx", "--out", xlsx, db=db)
    try:
        import openpyxl
        wb = openpyxl.load_workbook(xlsx) if r.returncode == 0 else None
        inst = [[c.value for c in row] for row in wb["机构"].iter_rows()] if wb else []
        fc = {row[0].value: row[1].value for row in wb["预测"].iter_rows()} if wb else {}
        check(wb is not None and wb.sheetnames == ["职业", "等级", "区", "机构", "预测"] and
              inst[1] == ["INST-A", 2, claimed, 1, figures["C-1"], 1, 5440] and
              inst[2] == ["合计 total", 2, claimed, 1, figures["C-1"], 1, 5440] and
              fc.get("建议预算(元) proposal yuan") == max(from_apps, 5440),
              "budget XLSX: a sheet per dimension and the forecast: %s %r %r %s"
              % (wb and wb.sheetnames, inst, fc, r.stderr))
    finally:
        if os.path.exists(xlsx):
            os.unlink(xlsx)
    r = run("report", "budget", db=db)
    check(r.returncode == 2 and "--year YYYY is required" in r.stderr and r.stdout == "",
          "budget without --year: usage error in one line: %s %r" % (r.returncode, r.stderr))

def api(d, db):
    """The same procedure over HTTPS, scoped per role; every answer checked against
    docs/openapi.yaml (ingestlib.request)."""
    make_pki(d)
    tok = {who: token(db, role, who) for who, role in (
        ("admin", "admin"), ("inst-a", "institution:INST-A"), ("inst-b", "institution:INST-B"),
        ("dist", "district:120103"), ("dist-other", "district:120104"),
        ("evaluator", "evaluator"), ("assessor", "assessor:PJ-01"), ("city", "city"))}
    r = run("serve", "--notice-days", "0", db=db)
    check(r.returncode == 2 and "--notice-days" in r.stderr and len(r.stderr.splitlines()) == 1,
          "serve --notice-days 0 refused in one line: %s %r" % (r.returncode, r.stderr))
    r = run("serve", "--subsidy-year", "calendar", db=db)
    check(r.returncode == 2 and "--subsidy-year" in r.stderr and len(r.stderr.splitlines()) == 1,
          "serve --subsidy-year calendar refused in one line: %s %r" % (r.returncode, r.stderr))
    # The notice period a publish step names none of is the server's setting (公示, 7 here).
    srv = Server(db, d, "--notice-days", "7", "--subsidy-year", "assessment")
    ctx = tls_context(d)

    def call(who, method, path, body=None):
        headers = {"Authorization": "Bearer " + tok[who]}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body, ensure_ascii=False).encode()
        return request(srv.port, ctx, method, path, body, headers)

    try:
        p = "/v1/classes/C-6/procedure"
        st, b = call("inst-a", "POST", p, {"kind": "application", "action": "submit",
                                          "on": "2026-02-27"})
        check(st == 200 and b["application"]["state"] == "submitted" and
              b["application"]["review_due"] == "2026-03-05" and
              b["application"]["steps"][0]["data"]["lead_days"] == 17 and
              b["application"]["steps"][0]["by"] == "inst-a",
              "API: the institution submits its own application: %s %r" % (st, b))
        st, b = call("inst-b", "POST", p, {"kind": "application", "action": "submit",
                                          "on": "2026-02-27"})
        check(st == 403, "API: another institution may not act on it: %s" % st)
        st, b = call("inst-a", "POST", p, {"kind": "application", "action": "approve",
                                          "on": "2026-03-02"})
        check(st == 400 and "the institution may not approve" in b.get("error", ""),
              "API: an institution cannot approve: %s %r" % (st, b))
        st, b = call("city", "GET", "/v1/review-queue?on=2026-03-06")
        row = [q for q in b.get("applications", []) if q["class"] == "C-6"] if st == 200 else []
        # Fri 02-27 + 5 working days: Sat 02-28 (调休上班), Mon 2 .. Thu 5.
        check(row and row[0]["late_review"] is True and row[0]["review_due"] == "2026-03-05",
              "API: the city's queue shows C-6 overdue: %s %r" % (st, b))
        for who in ("inst-a", "dist", "evaluator"):
            st, _ = call(who, "GET", "/v1/review-queue")
            check(st == 403, "API: the queue is the city's, not %s's: %s" % (who, st))
        st, b = call("city", "POST", p, {"kind": "application", "action": "approve",
                                        "on": "2026-03-06"})
        check(st == 200 and b["application"]["state"] == "approved" and
              b["application"]["steps"][-1]["finding"] == "late_review",
              "API: a review on the 6th working day is late_review: %s %r" % (st, b))
        st, b = call("admin", "POST", p, {"kind": "claim", "action": "submit",
                                         "on": "2026-04-01"})
        check(st == 400 and "the city bureau may not submit" in b.get("error", ""),
              "API: the city does not claim for an institution: %s %r" % (st, b))
        st, b = call("dist", "GET", p)
        check(st == 200 and b["application"]["state"] == "approved",
              "API: the district reads its institution's procedure: %s" % st)
        for who in ("dist-other", "evaluator", "inst-b"):
            st, _ = call(who, "GET", p)
            check(st == 403, "API: %s may not read it: %s" % (who, st))
        st, b = call("admin", "POST", p, {"kind": "claim", "action": "pay", "on": "2026-04-01",
                                         "extra": 1})
        check(st == 400 and "extra" in b.get("error", ""), "API: unknown key refused: %s" % st)
        st, b = call("admin", "POST", p, {"kind": "living", "action": "pay", "on": "2026-04-01"})
        check(st == 400, "API: bad kind refused: %s" % st)
        # The evaluation institution (assessor:ID) uploads results; certificate numbers are
        # unique city-wide; it reads nothing.
        a = "/v1/classes/C-6/assessments"
        row = {"class": "C-6", "id_number": IDS[0], "passed": True, "assessed_on": "2026-04-10"}
        st, b = call("assessor", "POST", a, [dict(row, certificate="TJ2026-0001")])
        check(st == 409 and "TJ2026-0001" in b.get("error", "") and
              "unique city-wide" in b["error"],
              "API: a certificate number already held in C-1 is refused: %s %r" % (st, b))
        st, b = call("assessor", "POST", a, [dict(row, certificate="TJ2026-0601")])
        check(st == 200, "API: the assessor uploads results: %s %r" % (st, b))
        st, _ = call("assessor", "GET", p)
        check(st == 403, "API: the assessor reads no procedure: %s" % st)
        # The third-party evaluator (第三方机构) is not the evaluation institution: it reads
        # figures for its yearly evaluation but uploads no results.
        st, b = call("evaluator", "POST", a, [dict(row, certificate="TJ2026-0602")])
        check(st == 403, "API: the third-party evaluator uploads no results: %s %r" % (st, b))
        # C-3's claim (submitted at the command line): audited and published over HTTPS with
        # no notice_workdays: the server's 7 working days, Wed 05-13 + 7 = Fri 05-22.
        p3 = "/v1/classes/C-3/procedure"
        st, b = call("city", "POST", p3, {"kind": "claim", "action": "audit", "on": "2026-05-12"})
        check(st == 200 and b["claim"]["state"] == "audited" and
              b["claim"]["steps"][-1]["by"] == "city",
              "API: the city bureau audits C-3: %s %r" % (st, b))
        st, b = call("admin", "POST", p3, {"kind": "claim", "action": "publish",
                                          "on": "2026-05-13"})
        last = b["claim"]["steps"][-1] if st == 200 else {}
        check(st == 200 and last.get("data", {}).get("notice_workdays") == 7 and
              last["data"].get("notice_until") == "2026-05-22",
              "API: publish without notice_workdays takes serve --notice-days 7: %s %r"
              % (st, last))
        # The living allowance over HTTPS: C-1's trainee 1 (listed in its paid claim).
        p1 = "/v1/classes/C-1/procedure"
        al = {"kind": "allowance", "action": "submit", "on": "2027-02-16", "trainee": masked(1)}
        st, b = call("inst-b", "POST", p1, al)
        check(st == 403, "API: another institution may not claim the allowance: %s" % st)
        st, b = call("inst-a", "POST", p1, {k: v for k, v in al.items() if k != "trainee"})
        check(st == 400 and "trainee" in b.get("error", ""), "API: trainee required: %s" % st)
        st, b = call("inst-a", "POST", p1, dict(al, on="2027-03-17"))
        check(st == 400 and "allowance_too_late" in b.get("error", ""),
              "API: the day after the window is allowance_too_late: %s %r" % (st, b))
        st, b = call("inst-a", "POST", p1, al)
        mine = [x for x in b.get("allowances", []) if x["trainee"] == masked(1)]
        check(st == 200 and mine and mine[0]["state"] == "submitted" and
              mine[0]["steps"][0]["by"] == "inst-a",
              "API: the institution claims the allowance: %s %r" % (st, b))
        st, b = call("admin", "POST", p1, {"kind": "allowance", "action": "audit",
                                          "on": "2027-02-17", "trainee": masked(1)})
        mine = [x for x in b.get("allowances", []) if x["trainee"] == masked(1)]
        check(st == 200 and mine and mine[0]["state"] == "audited",
              "API: the city audits it: %s %r" % (st, b))
        # Trainee 2's certificate (2026-04-20) came after the claim (assessed until
        # 2026-04-10): the paid claim does not list them.
        st, b = call("inst-a", "POST", p1, dict(al, trainee=masked(2)))
        check(st == 400 and "allowance_no_training_subsidy" in b.get("error", ""),
              "API: a certificate later than the paid claim is not in it: %s %r" % (st, b))
        st, b = call("inst-a", "POST", p1, al)
        check(st == 400 and "allowance_once" in b.get("error", ""),
              "API: a second allowance is allowance_once: %s %r" % (st, b))
        st, b = call("admin", "GET", "/v1/classes/C-404/procedure")
        check(st == 404, "API: unknown class: %s" % st)
    finally:
        srv.stop()


def main():
    for backend in pglib.backends():
        print("== back-end: %s" % backend, flush=True)
        main_on(backend)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
