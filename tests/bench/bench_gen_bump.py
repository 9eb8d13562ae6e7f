#!/usr/bin/python3
"""Benchmark (not a test): what bumping the figures' generation costs the ingest writer.

Applies 40 batches of 500 events naming one class to a collector database, as the writer does
(one transaction per batch), once at schema 13 (a trigger bumps classes.gen at every event)
and once at the latest schema (no trigger; one bump per batch, as store.c does at commit),
with SQLite's pragmas of the collector (WAL, synchronous=FULL, foreign keys). The classes row
carries a plan JSON of ROSTER trainees, because SQLite rewrites the whole row (overflow pages
too) at each bump. Prints the median time spent applying the 20,000 events over RUNS runs.
    tests/bench/bench_gen_bump.py build/release/rollcall-server [ROSTER] [RUNS]
docs/PERFORMANCE.md "Generations" has the figures."""

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

BATCHES, EVENTS = 40, 500


def database(server, d, version):
    db = os.path.join(d, "v%s.db" % version)
    args = [server, "--db", "sqlite:" + db, "migrate"] + (["--to", version] if version else [])
    subprocess.run(args, check=True, capture_output=True)
    return db


def run(db, roster, per_batch_bump):
    c = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        c.execute("PRAGMA " + pragma)
    c.execute("DELETE FROM events")
    c.execute("DELETE FROM classes")
    c.execute("DELETE FROM devices")
    c.execute("DELETE FROM institutions")
    c.execute("INSERT INTO institutions VALUES ('I-1', '120101', zeroblob(32), 0)")
    info = c.execute("PRAGMA table_info(devices)").fetchall()
    row = {n: (0 if t == "INTEGER" else "x") for _, n, t, nn, dflt, pk in info
           if nn and dflt is None and not pk}
    row.update(id="K-1", institution="I-1")
    c.execute("INSERT INTO devices(%s) VALUES (%s)" % (",".join(row), ",".join("?" * len(row))),
              list(row.values()))
    plan = '{"roster":[%s]}' % ",".join(
        '{"trainee":"%064d","name":"trainee","masked":"120101********123X"}' % i
        for i in range(roster))
    c.execute("INSERT INTO classes(id, institution, district, occupation, level, applied_on, "
              "start_at, end_at, plan_json, created_at, updated_at, updated_by) VALUES "
              "('C-1', 'I-1', '120101', '4-01-02-01', 'junior', 0, 0, 1, ?, 0, 0, 'a')", (plan,))
    seq, spent = 1, 0.0
    for _ in range(BATCHES):
        c.execute("BEGIN IMMEDIATE")
        t0 = time.perf_counter()
        for _ in range(EVENTS):
            c.execute("INSERT INTO events(device, seq, event_id, raw, hash, prev, type, ts, class, "
                      "received_at) VALUES ('K-1', ?, ?, ?, ?, ?, 'signin', ?, 'C-1', 0)",
                      (seq, "e%d" % seq, b"x" * 500, "a" * 64, "b" * 64, seq))
            seq += 1
        if per_batch_bump:
            c.execute("UPDATE classes SET gen = gen + 1 WHERE id = 'C-1'")
        spent += time.perf_counter() - t0
        c.execute("COMMIT")
    c.close()
    return spent


def main():
    server = sys.argv[1]
    roster = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with tempfile.TemporaryDirectory(prefix="rc-genbench-") as d:
        old, new = database(server, d, "13"), database(server, d, "")
        t13, t14 = [], []
        for _ in range(runs):
            t13.append(run(old, roster, False))
            t14.append(run(new, roster, True))
    print("roster %d, %d x %d events: schema 13 (trigger per event) %.3f s, latest (one bump "
          "per batch) %.3f s (medians of %d)" % (roster, BATCHES, EVENTS, statistics.median(t13),
                                                 statistics.median(t14), runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
