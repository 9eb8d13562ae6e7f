#!/usr/bin/python3
"""`rollcall-server calendar is-workday DATE` and `calendar add-workdays DATE N` (docs/SUBSIDY.md
"The working-day calendar") against the State Council's notices: 调休 Saturdays are working
days, holidays are not, a year the calendar does not hold is refused in one line (or counted by
weekends with the flag asked for), bad input is a usage error, a bad calendar file is named."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import run  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def cal(*args):
    r = run("calendar", *args)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def main():
    for date, want in (("2026-02-14", "yes"),   # 春节调休上班, a Saturday
                       ("2026-02-16", "no"),    # 春节
                       ("2026-10-10", "yes"),   # 国庆节调休上班, a Saturday
                       ("2025-01-01", "no"),    # 元旦, a Wednesday
                       ("2024-02-09", "yes"),   # 除夕 2024: only encouraged off, a Friday
                       ("2022-12-31", "no"),    # a Saturday, and 2023's 元旦
                       ("2026-12-07", "yes")):  # an ordinary Monday
        rc, out, err = cal("is-workday", date)
        check(rc == 0 and out == want, "is-workday %s: %s %r %r" % (date, want, out, err))
    for date, n, want in (("2026-02-10", "5", "2026-02-24"),
                          ("2026-02-27", "1", "2026-02-28"),
                          ("2026-09-30", "1", "2026-10-08"),
                          ("2022-12-30", "1", "2023-01-03"),
                          ("2026-12-07", "0", "2026-12-07")):
        rc, out, err = cal("add-workdays", date, n)
        check(rc == 0 and out == want, "add-workdays %s %s: %s %r %r" % (date, n, want, out, err))
    rc, out, err = cal("add-workdays", "2026-12-31", "1")
    check(rc == 1 and out == "" and err.count("\n") == 0 and
          "2027 is not in the working-day calendar (it holds 2022-2026)" in err,
          "outside the calendar: refused in one line: %r" % err)
    rc, out, err = cal("add-workdays", "2026-12-31", "1", "--weekend-fallback")
    check(rc == 0 and out == "2027-01-01 (weekend-only fallback)", "fallback flagged: %r" % out)
    rc, out, err = cal("is-workday", "2021-06-01")
    check(rc == 1 and "2021" in err, "before the calendar: refused: %r" % err)
    for args in (("is-workday", "2026-02-30"), ("add-workdays", "2026-02-10", "-1"),
                 ("add-workdays", "2026-02-10", "x"), ("is-workday",), ("nope", "2026-01-01")):
        rc, out, err = cal(*args)
        check(rc == 2 and out == "", "usage error for %r: %s %r" % (args, rc, err))
    with tempfile.TemporaryDirectory(prefix="rc-cal-") as d:
        bad = os.path.join(d, "workdays.json")
        with open(bad, "w") as f:
            f.write('{"source":"x","years":[{"year":2026,"source":"s","off":[],'
                    '"on":[{"date":"2026-02-16","name":"n"}]}]}')
        rc, out, err = cal("is-workday", "2026-02-16", "--file", bad)
        check(rc == 1 and bad in err and "$.years[0].on[0].date" in err,
              "a bad calendar file is named with the JSON path: %r" % err)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
