#!/usr/bin/env python3
"""Schema 18's columns and schema 20's pack on a collector whose events were stored before
them. test_figures' world (a class with sign-ins, sign-outs, recordings, reviews and records,
on SQLite) is built through a real collector; its attendance report is the reference. Then
every event's marker and pack are cleared and the figures cache emptied, as after an upgrade
from schema 17: a collector serving that database answers the same report bytes (each stored
line parsed). `rollcall-server migrate` then fills the columns and pack of every event from
its line and says how many; the report is again the same bytes, now read from the pack. A
second `migrate` fills nothing. A database of schema 19 (columns, no pack) is packed by
migrate. A schema 17 backup holding these events is restored, migrated and filled."""

import hashlib
import os
import re
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_figures as tf  # noqa: E402
from ingestlib import make_pki, run  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def forget(path):
    """Events as stored before schema 18 (no columns, no pack), and no cached figures."""
    con = sqlite3.connect(path)
    con.execute("UPDATE events SET cols = NULL, pack = NULL")
    con.execute("DELETE FROM class_figures")
    con.commit()
    con.close()


def report(w):
    """The class's attendance report from a collector started for it, then stopped."""
    w.start()
    try:
        return w.raw("admin", "/v1/classes/C-A/attendance")
    finally:
        w.stop()


def count(path, sql):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def main():
    d = tempfile.mkdtemp(prefix="rollcall-backfill-")
    try:
        make_pki(d)
        tf.BACKEND = "sqlite"
        w = tf.World(d, "src")
        try:
            tf.figures_in(w)
            st, _, before = w.raw("admin", "/v1/classes/C-A/attendance")
            check(st == 200 and b'"class"' in before, "the report from the columns: %s" % st)
        finally:
            w.stop()
        check(not tf.failures, "the world was built: %r" % tf.failures)
        path = w.db.split(":", 1)[1]
        events = count(path, "SELECT count(*) FROM events")
        check(events > 10 and count(path, "SELECT count(*) FROM events WHERE cols = 1 AND "
                                    "pack IS NOT NULL") == events,
              "ingest stored every one of %d events with its columns and pack" % events)

        forget(path)
        st, _, parsed = report(w)
        check(st == 200 and parsed == before,
              "without the columns (each line parsed) the same report bytes")

        r = run("migrate", db=w.db)
        check(r.returncode == 0, "migrate: %r" % (r,))
        m = re.search(r"^figures' columns and pack filled for (\d+) events stored before "
                      r"schema version 20$", r.stdout, re.M)
        check(m and int(m.group(1)) == events, "migrate says it filled all %d: %s" %
              (events, r.stdout))
        check("left without" not in r.stdout, "no event left without: %s" % r.stdout)
        check(count(path, "SELECT count(*) FROM events WHERE cols = 1 AND pack IS NOT NULL")
              == events, "every event has its columns and pack again")
        con = sqlite3.connect(path)
        con.execute("DELETE FROM class_figures")
        con.commit()
        con.close()
        st, _, filled = report(w)
        check(st == 200 and filled == before,
              "after the backfill (read from the columns) the same report bytes")
        r = run("migrate", db=w.db)
        check(r.returncode == 0 and "filled" not in r.stdout and "already at schema version"
              in r.stdout, "a second migrate fills nothing: %r" % (r,))

        # A database of schema 19 migrated to 20: columns, and no pack yet.
        con = sqlite3.connect(path)
        con.execute("UPDATE events SET pack = NULL")
        con.execute("DELETE FROM class_figures")
        con.commit()
        con.close()
        st, _, unpacked = report(w)
        check(st == 200 and unpacked == before, "without the pack the same report bytes")
        r = run("migrate", db=w.db)
        m = re.search(r"^figures' columns and pack filled for (\d+) events", r.stdout, re.M)
        check(r.returncode == 0 and m and int(m.group(1)) == events,
              "migrate packs the %d events of schema 19: %r" % (events, r))

        # A backup from schema 17 (the fixture, holding these events as 17 stored them) is
        # restored: migrated, and its events given their columns.
        old = os.path.join(d, "v17.db")
        con = sqlite3.connect(old)
        with open(os.path.join(os.environ["ROLLCALL_SOURCE_DIR"], "tests", "fixtures",
                               "server-schema-v17.sql")) as f:
            con.executescript(f.read())
        con.execute("ATTACH DATABASE ? AS w", (path,))
        cols = [c[1] for c in con.execute("PRAGMA main.table_info(events)")]
        check("cols" not in cols and "rollcall" not in cols, "schema 17's events: %r" % cols)
        con.execute("INSERT INTO main.events(%s) SELECT %s FROM w.events" %
                    (", ".join(cols), ", ".join(cols)))
        con.commit()
        con.close()
        with open(old, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with open(old + ".sha256", "w") as f:
            f.write("%s  v17.db\n" % digest)  # sha256sum's form, as `backup` writes it
        target = os.path.join(d, "restored.db")
        r = run("restore", "--from", old, db="sqlite:" + target)
        latest = count(path, "SELECT max(version) FROM schema_migrations")
        check(r.returncode == 0 and "schema version 17, migrated to %d" % latest in r.stdout and
              ", the figures' columns and pack filled for %d events" % events in r.stdout,
              "restoring a schema 17 backup fills its events' columns: %r" % (r,))
        check(count(target, "SELECT count(*) FROM events WHERE cols = 1 AND "
                    "pack IS NOT NULL") == events, "every restored event has its columns and pack")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
