#!/usr/bin/python3
"""Upgrades from the schema fixtures in tests/fixtures (SQL text made by
make-schema-fixtures.sh: collector schema versions 1, 9, 10, 13, 17 and 18 and outbox
versions 1 and 2): each collector database older than this program is
refused by `token create` (a command that needs the exact version) with "run migrate", then
`migrate` backs it up first (the copy has the old version and passes sha256sum -c), upgrades
it in place and keeps its rows (without the generation triggers schema 15 drops); a database
one version newer than this program is refused by migrate, token create and serve with one
clear line and left unchanged. A kiosk's outbox at version 1 (the fixture's schema holding a
real kiosk's events) is upgraded in place by the next command with a copy of version 1 kept
beside it, and its chain still verifies; an outbox from a newer agent is refused by name."""

import glob
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_harness as ah  # noqa: E402
import ingestlib as il  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


def load(sql_path, db_path):
    os.close(os.open(db_path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    con = sqlite3.connect(db_path)
    with open(sql_path) as f:
        con.executescript(f.read())
    con.close()


def query(db_path, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def version(db_path):
    return query(db_path, "SELECT max(version) FROM schema_migrations")[0][0]


def file_bytes(p):
    with open(p, "rb") as f:
        return f.read()


def latest(d):
    db = os.path.join(d, "latest.db")
    r = il.run("migrate", db="sqlite:" + db)
    assert r.returncode == 0, r
    return version(db)


def server_fixture(d, path, newest):
    n = int(re.search(r"v(\d+)\.sql$", path).group(1))
    db = os.path.join(d, "v%d.db" % n)
    url = "sqlite:" + db
    load(path, db)
    assert version(db) == n
    # A finding stored before migration 17 (findings came with 2): its English detail, no
    # template code.
    old_finding = n >= 2
    con = sqlite3.connect(db)
    if old_finding:
        con.execute("INSERT INTO findings(kind, severity, device, seq, detail, created_at) "
                    "VALUES ('bad_signature', 'high', 'K-OLD', 3, 'bad signature', 1)")
        # an event stored before migration 18 (events came with 2)
        con.execute("INSERT INTO events(device, seq, event_id, raw, hash, prev, type, ts, "
                    "received_at) VALUES ('K-OLD', 1, 'e-old', x'7b7d', ?, ?, 'heartbeat', 1, "
                    "2)", ("a" * 64, "0" * 64))
    con.commit()
    con.close()
    if n < newest:
        r = il.run("token", "create", "--role", "admin", "--name", "x", db=url)
        assert r.returncode == 1 and "rollcall-server migrate" in r.stderr, r
    r = il.run("migrate", db=url)
    assert r.returncode == 0, r
    if n < newest:
        m = re.search(r"backed up schema version %d to (\S+)" % n, r.stdout)
        assert m, r.stdout
        copy = m.group(1)
        assert version(copy) == n
        c = subprocess.run(["sha256sum", "-c", os.path.basename(copy) + ".sha256"],
                           cwd=os.path.dirname(copy), capture_output=True, text=True)
        assert c.returncode == 0, c
        assert "migrated from schema version %d to %d" % (n, newest) in r.stdout, r.stdout
        # the old event's line is no canonical event: left without columns, and said so
        if old_finding:
            assert re.search(r"stored events left without the figures' columns .*: 1$",
                             r.stdout, re.M), r.stdout
    else:
        assert "already at schema version %d" % n in r.stdout, r.stdout
        assert not glob.glob(db + ".pre-migrate-*")
    assert version(db) == newest
    # Schema 15: no trigger bumps a class's generation any more (the store does, at commit);
    # the assessments' history and the alerts' outbox stay triggers.
    triggers = sorted(r[0] for r in query(db, "SELECT name FROM sqlite_master WHERE type = "
                                              "'trigger'"))
    assert triggers == ["assessments_history", "findings_alert"], triggers
    # Schema 17: a finding's detail template code and arguments, NULL on the older rows.
    cols = [r[1] for r in query(db, "PRAGMA table_info(findings)")]
    assert cols[-2:] == ["detail_code", "detail_args"], cols
    assert query(db, "SELECT detail, detail_code, detail_args FROM findings WHERE device = "
                     "'K-OLD'") == ([("bad signature", None, None)] if old_finding else [])
    # Schema 18: the rest of the figures' columns and their marker; schema 20: their pack;
    # all empty on older events whose stored line is no canonical event (the figures parse it).
    cols = [r[1] for r in query(db, "PRAGMA table_info(events)")]
    assert cols[-5:] == ["rollcall", "skew_ms", "fix_sats", "cols", "pack"], cols
    assert query(db, "SELECT seq, rollcall, skew_ms, fix_sats, cols, pack FROM events WHERE "
                     "device = 'K-OLD'") == ([(1, None, None, None, None, None)]
                                             if old_finding else [])
    # Schema 19: the events' indexes are the two covering ones the figures read (each event in
    # one of them), the event id's, and (device, seq)'s; no other.
    idx = sorted(r[0] for r in query(db, "SELECT name FROM sqlite_master WHERE type = 'index' "
                                         "AND tbl_name = 'events'"))
    assert idx == ["events_class_read", "events_device_read", "events_event_id",
                   "sqlite_autoindex_events_1"], idx
    # Schema 20: the two read indexes carry the pack, not the columns.
    for name in ("events_class_read", "events_device_read"):
        sql = query(db, "SELECT sql FROM sqlite_master WHERE name = ?", (name,))[0][0]
        assert "pack" in sql and "fix_lat" not in sql, sql
    assert query(db, "SELECT seq FROM events INDEXED BY events_device_read WHERE device = "
                     "'K-OLD' AND ts >= 0 AND class IS NULL") == ([(1,)] if old_finding else [])
    # The fixture's rows came through, and the upgraded database is usable.
    assert query(db, "SELECT name, role FROM tokens WHERE name = 'fixture-admin'") == [
        ("fixture-admin", "admin")]
    assert query(db, "SELECT id, district FROM institutions") == [("INST-0001", "120101")]
    r = il.run("token", "create", "--role", "admin", "--name", "after-upgrade", db=url)
    assert r.returncode == 0, r
    print("collector schema %d: upgraded to %d" % (n, newest))


def newer_refused(d, newest):
    db = os.path.join(d, "newer.db")
    url = "sqlite:" + db
    load(os.path.join(FIXTURES, "server-schema-v10.sql"), db)
    r = il.run("migrate", db=url)
    assert r.returncode == 0, r
    backups = set(glob.glob(db + ".pre-migrate-*"))  # the upgrade to the newest made one
    con = sqlite3.connect(db)
    con.execute("INSERT INTO schema_migrations VALUES (?, 'a later release', 0)", (newest + 1,))
    con.commit()
    con.close()
    before = file_bytes(db)
    want = "newer than this program's %d" % newest
    for args in (["migrate"], ["token", "create", "--role", "admin", "--name", "y"],
                 ["serve", "--listen", "127.0.0.1:0", "--plain-http"]):
        r = il.run(*args, db=url)
        assert r.returncode == 1, (args, r)
        assert want in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    assert file_bytes(db) == before
    assert set(glob.glob(db + ".pre-migrate-*")) == backups  # a refusal backs nothing up


def outbox_upgrade(d):
    import pipe_harness as ph
    # A kiosk with a surveyed position (no gpsd) and its institution key: it records offline.
    k = ah.Kiosk(d, gpsd_port=2947, name="old-kiosk", init=False,
                 profile_over=ph.profile_over(), device_id="KIOSK-OLD")
    r = k.init()
    assert r.code == 0, r
    for i in range(3):
        r = k.run("signin", "--trainee", ph.id_number(i), "--class", "TJ-2026-AI-0001",
                  "--session", "S01")
        assert r.code == 0, r
    real = k.db
    # The kiosk's outbox at version 1: the fixture's schema, the kiosk's own rows.
    v1 = real + ".v1"
    con = sqlite3.connect(v1)
    with open(os.path.join(FIXTURES, "outbox-schema-v1.sql")) as f:
        con.executescript(f.read())
    con.execute("ATTACH ? AS cur", (real,))
    con.execute("DELETE FROM chain")
    for t in ("events", "chain", "state"):
        con.execute("INSERT INTO main.%s SELECT * FROM cur.%s" % (t, t))
    con.commit()
    con.execute("DETACH cur")
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'schedule'").fetchone()[0] == 0
    con.close()
    for sfx in ("", "-wal", "-shm"):
        if os.path.exists(real + sfx):
            os.unlink(real + sfx)
    os.rename(v1, real)
    os.chmod(real, 0o600)
    before = query(real, "SELECT seq, line FROM events ORDER BY seq")
    assert len(before) == 3
    v = k.verify()
    assert v.code == 0, v
    assert query(real, "PRAGMA user_version") == [(2,)]
    assert query(real, "SELECT seq, line FROM events ORDER BY seq") == before
    kept = real + ".pre-migrate-v1"
    assert query(kept, "PRAGMA user_version") == [(1,)], "no copy of version 1 kept"
    assert query(kept, "SELECT seq, line FROM events ORDER BY seq") == before
    assert os.stat(kept).st_mode & 0o077 == 0
    print("outbox schema 1: upgraded to 2, copy kept")

    # An outbox from a newer agent: refused by name, unchanged.
    con = sqlite3.connect(real)
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    before = file_bytes(real)
    v = k.verify()
    assert v.code != 0 and "newer than this agent's 2: upgrade rollcall-agent" in v.err, v
    assert file_bytes(real) == before
    print("outbox schema 3: refused")


def main():
    with tempfile.TemporaryDirectory(prefix="rc-upgrade-") as d:
        newest = latest(d)
        fixtures = sorted(glob.glob(os.path.join(FIXTURES, "server-schema-v*.sql")))
        assert len(fixtures) >= 3, fixtures
        for path in fixtures:
            server_fixture(d, path, newest)
        newer_refused(d, newest)
        outbox_upgrade(d)
    print("upgrades: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
