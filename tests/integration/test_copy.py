#!/usr/bin/env python3
# labels: pg
"""`rollcall-server copy --from sqlite:PATH --to postgresql://...`: a SQLite collector with a
class, kiosks, events, reviews, records and assessments (test_figures' world) is moved to a
new PostgreSQL database. The command's own verdict is checked, then independently: the rows
of every table read with sqlite3 and psycopg2 are equal, and a collector serving the copy
answers the class's attendance report with the same bytes as one serving the original.
Copying into a database that holds data is refused and changes nothing."""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
import test_figures as tf  # noqa: E402
from ingestlib import Server, make_pki, run  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def norm(v):
    return round(v, 9) if isinstance(v, float) else v


def main():
    d = tempfile.mkdtemp(prefix="rollcall-copy-")
    try:
        make_pki(d)
        tf.BACKEND = "sqlite"
        w = tf.World(d, "src")
        try:
            tf.figures_in(w)
            # A class with roll-calls (migration 10's columns, not their defaults).
            pc = tf.plan("C-R", "INST-A")
            pc.update(rollcalls=2, rollcall_window_min=7)
            st, body = w.req("inst-a", "PUT", "/v1/classes/C-R", pc)
            check(st == 201, "PUT a class with roll-calls: %s %s" % (st, body))
            st, _, before = w.raw("admin", "/v1/classes/C-A/attendance")
            check(st == 200, "attendance on SQLite: %s" % st)
        finally:
            w.stop()
        check(not tf.failures, "the source world was built: %r" % tf.failures)
        src = w.db
        # Migration 8 and 9's tables hold rows: signing keys and a frozen publication.
        r = run("signing-key", "create", db=src)
        check(r.returncode == 0, "signing-key create: %s" % r.stderr)
        r = run("publish", "--year", "2026", db=src)
        check(r.returncode == 0, "publish 2026: %s %s" % (r.stdout, r.stderr))
        dst = pglib.fresh_db("rc_copy")

        r = run("copy", "--from", src, "--to", dst)
        check(r.returncode == 0, "copy: %r" % (r,))
        check("DIFFERENT" not in r.stdout and "identical on both sides" in r.stdout,
              "copy reports every table the same: %s" % r.stdout)
        tables = [t for (t,) in pglib.query(src, "SELECT name FROM sqlite_master WHERE "
                                                 "type = 'table' AND name NOT LIKE 'sqlite_%' "
                                                 "AND name <> 'schema_migrations'")]
        check(len(tables) >= 20, "tables: %r" % tables)
        for t in tables:
            cols = [c for (_, c, *_) in pglib.query(src, "PRAGMA table_info(%s)" % t)]
            sql = "SELECT %s FROM %s ORDER BY %s" % (
                ", ".join(cols), t, ", ".join(str(i + 1) for i in range(len(cols))))
            a = [tuple(norm(v) for v in row) for row in pglib.query(src, sql)]
            b = [tuple(norm(v) for v in row) for row in pglib.query(dst, sql)]
            check(sorted(a, key=repr) == sorted(b, key=repr),
                  "table %s: %d rows on SQLite, %d on PostgreSQL, equal" % (t, len(a), len(b)))
        check(pglib.query(dst, "SELECT count(*) FROM events")[0][0] > 0, "events were copied")
        for t in ("publications", "signing_keys", "batch_signatures"):
            check(t in tables and "%s " % t in r.stdout, "%s is copied and checked" % t)
        check(pglib.query(dst, "SELECT count(*) FROM publications")[0][0] == 1,
              "the publication was copied")
        check(pglib.query(dst, "SELECT DISTINCT enrolled_by FROM devices") == [("enroll",)],
              "who enrolled each kiosk was copied")
        check(pglib.query(dst, "SELECT rollcalls, rollcall_window_min FROM classes "
                               "WHERE id = 'C-R'") == [(2, 7)], "the roll-call settings were copied")
        # New rows continue after the copied ids.
        n = pglib.query(dst, "SELECT max(id) FROM tokens")[0][0]
        pglib.query(dst, "INSERT INTO tokens(hash, name, role, created_at) "
                         "VALUES (repeat('a', 64), 'sequence-test', 'admin', 1)")
        check(n > 1 and pglib.query(dst, "SELECT max(id) FROM tokens")[0][0] == n + 1,
              "id sequences continue after the copy")
        pglib.query(dst, "DELETE FROM tokens WHERE name = 'sequence-test'")

        srv = Server(dst, w.dir)
        try:
            import ssl
            import http.client
            ctx = ssl.create_default_context(cafile=os.path.join(w.dir, "ca.pem"))
            conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=30)
            conn.request("GET", "/v1/classes/C-A/attendance",
                         headers={"Authorization": "Bearer " + w.tok["admin"]})
            resp = conn.getresponse()
            after = resp.read()
            conn.close()
            check(resp.status == 200 and after == before,
                  "the attendance report is the same bytes from the copy")
        finally:
            srv.stop()

        # Into a database with data: refused, one line, nothing changed.
        count = pglib.query(dst, "SELECT count(*) FROM events")[0][0]
        r = run("copy", "--from", src, "--to", dst)
        check(r.returncode == 1 and "already holds data" in r.stderr and
              r.stderr.count("\n") == 1, "copy into a used database refused: %r" % (r,))
        check(pglib.query(dst, "SELECT count(*) FROM events")[0][0] == count, "nothing changed")
        r = run("copy", "--from", dst, "--to", src)
        check(r.returncode == 1 and "sqlite:PATH to postgresql://" in r.stderr,
              "copy the wrong way refused: %r" % (r,))
        r = run("copy", "--from", src)
        check(r.returncode == 2, "copy without --to is a usage error: %r" % (r,))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
