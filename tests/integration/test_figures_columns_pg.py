#!/usr/bin/env python3
# labels: pg
"""The figures' columns on PostgreSQL (schema 18): `bench_figures --check` generates a small
city into a new database on the test server (each event stored through store_event_from,
as ingest stores it), then compares every class's engine input, read from the columns, with
a reference that parses every stored line, and the two reports' JSON; then clears the
columns' marker, as on events stored before schema 18, and compares again (each line parsed),
and once more after store_events_backfill (what `migrate` runs) filled them in again.
ctest's figures/cold-input-equivalence runs the same check on SQLite."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402


def main():
    binary = os.path.join(os.environ["ROLLCALL_BINARY_DIR"], "tests", "bench_figures")
    url = pglib.fresh_db("rc_figures_columns")
    r = subprocess.run([binary, "--trainees", "100", "--events", "20000", "--rollcalls", "2",
                        "--check", "--db", url], capture_output=True, text=True, timeout=540)
    print(r.stdout, end="")
    print(r.stderr, end="", file=sys.stderr)
    assert r.returncode == 0, "bench_figures --check exited %d" % r.returncode
    lines = r.stdout.splitlines()
    assert any(line.startswith("check: 2 classes, each one's input and report equal")
               for line in lines), lines
    assert any(line.startswith("check: 2 classes without the figures' columns, equal")
               for line in lines), lines
    assert any(line.startswith("check: 2 classes after the backfill of ") for line in lines), \
        lines
    # the generated events filled the new columns (roll-calls), and after the backfill every
    # one carries the marker again
    rows = pglib.psql(url, "SELECT count(*), count(cols), count(rollcall) FROM events")
    total, marked, rollcalls = (int(x) for x in rows[0])
    assert total > 10000 and marked == total and rollcalls > 0, rows
    pglib.psql(pglib.base_url(), "DROP DATABASE rc_figures_columns WITH (FORCE)")
    print("figures' columns on PostgreSQL: 2 classes equal from columns and from lines")


if __name__ == "__main__":
    main()
