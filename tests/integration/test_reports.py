#!/usr/bin/python3
# labels: collector
"""The report outputs end to end (docs/REPORTS.md), on the data of test_figures.py: the one
summary JSON (the CLI's `report attendance --institution|--district --format json` and
GET /v1/summary give the same bytes); the text summary's institution and district rows count
pending reviews; CSV and XLSX downloads name their file (Content-Disposition); the XLSX read
back with openpyxl (Debian's python3-openpyxl): real date-time cells shown in Asia/Shanghai
with a date-time format, and columns fitted to their content."""

import datetime as dt
import http.client
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402
import test_figures as tf  # noqa: E402
from ingestlib import make_pki, run  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def get(w, who, path):
    """GET returning status, headers (lower-case names) and the raw bytes."""
    conn = http.client.HTTPSConnection("127.0.0.1", w.port, context=w.ctx, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + w.tok[who]})
        r = conn.getresponse()
        data = r.read()
        openapi_check.check("GET", path, r.status, r.getheader("Content-Type"), data,
                            dict(r.getheaders()))
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def setup(w):
    k = w.enrol("K-A1", "INST-A")
    st, _ = w.req("inst-a", "PUT", "/v1/classes/C-A", tf.plan())
    assert st == 201, st
    st, _ = w.req("inst-a", "PUT", "/v1/classes/C-A2", tf.plan("C-A2"))
    assert st == 201, st
    st, _ = w.req("admin", "PUT", "/v1/classes/C-B", tf.plan("C-B", "INST-B", "120104"))
    assert st == 201, st
    assert tf.upload(w.port, w.ctx, k, tf.class_events(k, k.key_hex), [7, 50])


def one_summary_json(w):
    for query, args in (("district=120103", ("--district", "120103")),
                        ("institution=INST-A", ("--institution", "INST-A")),
                        ("district=120103&from=2026-11-01&to=2026-11-30",
                         ("--district", "120103", "--from", "2026-11-01", "--to", "2026-11-30"))):
        st, _, body = get(w, "admin", "/v1/summary?" + query)
        r = run("report", "attendance", *args, "--format", "json", db=w.db)
        check(st == 200 and r.returncode == 0 and r.stdout.encode() == body,
              "CLI summary JSON equals GET /v1/summary?%s:\n  http %s\n  cli  %s %s"
              % (query, body[:300], r.stdout[:300], r.stderr))
    st, s = w.req("admin", "GET", "/v1/summary?district=120103")
    pending = sum(c["pending_reviews"] for c in s["classes"])
    check(pending > 0 and s["institutions"][0]["pending_reviews"] == pending
          and s["districts"][0]["pending_reviews"] == pending,
          "the summary's rows carry the pending reviews: %s" % s)
    # the text summary: the institution and district rows show them too (last column)
    r = run("report", "attendance", "--district", "120103", db=w.db)
    lines = r.stdout.splitlines()
    inst = [ln for ln in lines if ln.startswith("INST-A ")]
    dist = [ln for ln in lines if ln.startswith("120103 ")]
    check(r.returncode == 0 and inst and dist and inst[0].split()[-1] == str(pending)
          and dist[0].split()[-1] == str(pending),
          "text summary rows count %d pending reviews: %s" % (pending, r.stdout))
    # a class text report: the list of findings stored by ingest says "none" when empty (C-A2
    # has no events), and lists them otherwise
    r = run("report", "attendance", "--class", "C-A2", db=w.db)
    tail = r.stdout[r.stdout.find("findings stored by ingest"):].splitlines()
    check(r.returncode == 0 and len(tail) >= 2 and tail[1].strip() == "none",
          "an empty stored-findings list says none: %r" % tail[:3])


def evaluation(w):
    """The yearly evaluation (四(三)): per institution, 2026 beside 2025, from the summary's
    figures; the CLI's JSON is the API's; scope narrows it; CSV names both years."""
    prev = tf.plan("C-A-2025")
    for s in prev["sessions"]:
        for k in ("start", "end"):
            s[k] = s[k].replace("2026-", "2025-")
    prev["applied_on"] = "2025-10-01"
    st, _ = w.req("inst-a", "PUT", "/v1/classes/C-A-2025", prev)
    assert st == 201, st
    st, _, body = get(w, "admin", "/v1/evaluation/2026")
    r = run("report", "evaluation", "--year", "2026", "--format", "json", db=w.db)
    check(st == 200 and r.returncode == 0 and r.stdout.encode() == body,
          "CLI evaluation JSON equals GET /v1/evaluation/2026:\n  http %s\n  cli  %s %s"
          % (body[:300], r.stdout[:300], r.stderr))
    ev = json.loads(body)
    rows = {x["institution"]: x for x in ev["institutions"]}
    check(ev["year"] == 2026 and ev["previous_year"] == 2025 and sorted(rows) == ["INST-A", "INST-B"],
          "evaluation of 2026 beside 2025, both institutions: %s" % ev)
    for year in (2026, 2025):
        st, summ = w.req("admin", "GET", "/v1/summary?from=%d-01-01&to=%d-12-31" % (year, year))
        want = {x["institution"]: x for x in summ["institutions"]}
        for inst, row in rows.items():
            got = row["year" if year == 2026 else "previous"]
            s = want.get(inst)
            if s is None:
                check(got["classes"] == 0 and got["attendance_rate"] is None
                      and got["pass_rate_assessed"] is None,
                      "%s had no class in %d: 0 classes, null rates: %s" % (inst, year, got))
                continue
            check(got["classes"] == s["classes"] and got["trainees"] == s["enrolled"]
                  and got["attendance_rate"] == s["attendance_rate"]
                  and got["pass_rate_assessed"] == s["pass_rate_assessed"]
                  and got["pass_rate_enrolled"] == s["pass_rate_enrolled"],
                  "%s %d matches the summary: %s vs %s" % (inst, year, got, s))
    check(rows["INST-A"]["year"]["classes"] == 2 and rows["INST-A"]["previous"]["classes"] == 1
          and rows["INST-A"]["previous"]["attendance_rate"] == 0
          and rows["INST-B"]["previous"]["classes"] == 0,
          "INST-A: 2 classes in 2026, the 2025 class unattended (0, not null): %s" % rows)
    # an institution sees its own row only
    st, own = w.req("inst-a", "GET", "/v1/evaluation/2026")
    check(st == 200 and [x["institution"] for x in own["institutions"]] == ["INST-A"],
          "inst-a sees its own evaluation only: %s %s" % (st, own))
    st, hdr, data = get(w, "admin", "/v1/evaluation/2026?format=csv")
    text = data.decode("utf-8-sig")
    check(st == 200 and "evaluation-2026-2025.csv" in hdr.get("content-disposition", "")
          and "2026 出勤率% attendance" in text and "2025 出勤率% attendance" in text
          and len(text.strip().split("\r\n")) == 3,
          "evaluation CSV: both years' columns, a row per institution: %s %s" % (st, text[:400]))
    st, _, _ = get(w, "admin", "/v1/evaluation/1999")
    check(st == 400, "year 1999 refused: %s" % st)
    r = run("report", "evaluation", "--year", "20x6", db=w.db)
    check(r.returncode == 2 and "--year must be a year" in r.stderr and r.stdout == "",
          "CLI refuses a bad year in one line: %s %r" % (r.returncode, r.stderr))
    r = run("report", "evaluation", "--year", "2026", db=w.db)
    check(r.returncode == 0 and "INST-A" in r.stdout and "yearly evaluation 2026" in r.stdout,
          "text evaluation: %s %s" % (r.returncode, r.stdout[:400]))


def downloads(w):
    for path, name in (("/v1/classes/C-A/attendance?format=csv", "attendance-C-A.csv"),
                       ("/v1/classes/C-A/attendance?format=csv&table=sessions",
                        "attendance-C-A-sessions.csv"),
                       ("/v1/classes/C-A/attendance?format=xlsx", "attendance-C-A.xlsx"),
                       ("/v1/classes/C-A/subsidy?format=csv", "subsidy-C-A.csv"),
                       ("/v1/classes/C-A/subsidy?format=xlsx", "subsidy-C-A.xlsx")):
        st, h, _ = get(w, "admin", path)
        check(st == 200 and h.get("content-disposition") == 'attachment; filename="%s"' % name,
              "%s: Content-Disposition %r" % (path, h.get("content-disposition")))
    st, h, _ = get(w, "admin", "/v1/classes/C-A/attendance")
    check(st == 200 and "content-disposition" not in h, "JSON is no download: %s" % h)
    st, h, _ = get(w, "admin", "/v1/classes/NOPE/attendance?format=csv")
    check(st == 404 and "content-disposition" not in h, "an error is no download: %s %s"
          % (st, h))


def width_of(text):
    """Excel column units of text: a CJK (wide) character counts two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def xlsx(w):
    import openpyxl
    st, _, data = get(w, "admin", "/v1/classes/C-A/attendance?format=xlsx")
    path = os.path.join(w.dir, "a.xlsx")
    with open(path, "wb") as f:
        f.write(data)
    out = os.path.join(w.dir, "d.xlsx")
    r = run("report", "attendance", "--district", "120103", "--format", "xlsx", "--out", out,
            db=w.db)
    check(st == 200 and r.returncode == 0, "XLSX over HTTP and CLI: %s %s" % (st, r.stderr))
    for p in (path, out):
        wb = openpyxl.load_workbook(p)
        ws = wb["场次"]
        head = [c.value for c in ws[1]]
        s01 = [c for c in ws[2]]
        start = s01[head.index("开始")]
        end = s01[head.index("结束")]
        # S01 of C-A: 2026-11-02 09:00 to 12:00 Asia/Shanghai, as date-time cells
        check(start.is_date and start.value == dt.datetime(2026, 11, 2, 9, 0)
              and end.is_date and end.value == dt.datetime(2026, 11, 2, 12, 0),
              "%s: session times are date-time cells in Asia/Shanghai: %r %r (%s)"
              % (p, start.value, end.value, start.data_type))
        check("yy" in start.number_format and "hh:mm" in start.number_format,
              "%s: a date-time number format: %r" % (p, start.number_format))
        fs = wb["问题"]
        fhead = [c.value for c in fs[1]]
        at = [row[fhead.index("时间")] for row in fs.iter_rows(min_row=2) if
              row[fhead.index("时间")].value is not None]
        check(at and all(c.is_date for c in at), "%s: finding times are date-time cells" % p)
        # columns fitted to their content as shown (CJK counts double), capped at 60
        for name in wb.sheetnames:
            sh = wb[name]
            widths = []
            for col in sh.iter_cols():
                letter = col[0].column_letter
                longest = max(shown_width(c) for c in col if c.value is not None)
                want = min(max(longest + 2, 6), 60)
                got = sh.column_dimensions[letter].width
                widths.append(got)
                # libxlsxwriter adds Excel's padding (under one unit) to the width it is given
                check(got is not None and want <= got <= want + 1,
                      "%s %s column %s (%r) width %s fits content %d"
                      % (p, name, letter, col[0].value, got, longest))
            check(len(set(widths)) > 1, "%s %s: columns differ in width: %s"
                  % (p, name, widths))


def shown_width(cell):
    """The width of a cell as a spreadsheet shows it."""
    v = cell.value
    if cell.is_date:
        return len("2026-11-02 09:00:00")
    if isinstance(v, (int, float)):
        if cell.number_format == "0.00%":
            return len("%.2f%%" % (v * 100))
        if cell.number_format == "0.00":
            return len("%.2f" % v)
        return len("%.0f" % v)
    return width_of(v)


def main():
    d = tempfile.mkdtemp(prefix="rollcall-reports-")
    try:
        make_pki(d)
        w = tf.World(d, "reports")
        try:
            setup(w)
            one_summary_json(w)
            downloads(w)
            xlsx(w)
            evaluation(w)
        finally:
            check(w.stop() == 0, "server exits 0 on SIGTERM")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    failures.extend(tf.failures)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
