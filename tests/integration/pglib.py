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
