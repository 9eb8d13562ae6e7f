"""PostgreSQL for the integration tests: ROLLCALL_TEST_PG (a postgresql:// URL, set by ctest's
`pg` fixture, scripts/pg-test-server.sh) names a throwaway server; each test makes its own
database there and reads it back with psql, not with the code under test."""

import os
import re
import subprocess


def base_url():
    url = os.environ.get("ROLLCALL_TEST_PG", "")
    if not url.startswith("postgresql://"):
        raise SystemExit("ROLLCALL_TEST_PG is not set: run this test through ctest "
                         "(its pg fixture starts PostgreSQL) or scripts/pg-test-server.sh")
    return url


def with_db(url, name):
    """url with its database replaced by name."""
    m = re.match(r"^(postgresql://[^/]*)/([^?]*)(\?.*)?$", url)
    if not m:
        raise ValueError("unexpected URL " + url)
    return m.group(1) + "/" + name + (m.group(3) or "")


def psql(url, sql):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql, r.stderr))
    return [tuple(line.split("|")) for line in r.stdout.splitlines()]


def fresh_db(name):
    """A new empty database called name on the test server; returns its URL."""
    base = base_url()
    psql(base, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    psql(base, "CREATE DATABASE %s" % name)
    return with_db(base, name)


def backends():
    """The back-ends a parametrized test runs on: SQLite always, PostgreSQL when the test
    server is given (ctest's pg fixture gives it to tests labelled pg)."""
    return ["sqlite"] + (["postgresql"] if os.environ.get("ROLLCALL_TEST_PG") else [])


def new_db(backend, directory, name, template=None):
    """A new empty database for backend: a file in directory, or a PostgreSQL database called
    name (a copy of the database template when given: a file URL or a PostgreSQL URL)."""
    if backend == "sqlite":
        path = os.path.join(directory, name + ".db")
        if template:
            import shutil
            src = template.split(":", 1)[1]
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(src + suffix):
                    shutil.copy(src + suffix, path + suffix)
        return "sqlite:" + path
    if not template:
        return fresh_db(name)
    base = base_url()
    src = re.match(r"^postgresql://[^/]*/([^?]*)", template).group(1)
    psql(base, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    import time
    for _ in range(50):  # the template's last sessions may still be closing
        try:
            psql(base, "CREATE DATABASE %s TEMPLATE %s" % (name, src))
            break
        except RuntimeError:
            time.sleep(0.1)
    else:
        psql(base, "CREATE DATABASE %s TEMPLATE %s" % (name, src))
    return with_db(base, name)


def query(db, sql, *args):
    """Rows of sql (? placeholders) on db: a sqlite: URL, a file path, or a postgresql:// URL;
    bytea and blobs come back as bytes."""
    if db.startswith("postgresql://"):
        import psycopg2
        con = psycopg2.connect(pg_dsn(db))
        try:
            cur = con.cursor()
            cur.execute(sql.replace("?", "%s"), args)
            rows = cur.fetchall() if cur.description else []
            con.commit()
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                    for r in rows]
        finally:
            con.close()
    import sqlite3
    con = sqlite3.connect(db.split(":", 1)[1] if db.startswith("sqlite:") else db)
    try:
        rows = con.execute(sql, args).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def pg_dsn(url):
    """psycopg2 takes libpq's URLs as they are."""
    return url
