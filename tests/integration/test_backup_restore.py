#!/usr/bin/python3
# labels: collector
"""`rollcall-server backup` while real kiosks (rollcall-agent sync) upload, and `restore`:
the backup is one consistent snapshot (each device's events are seq 1..head with the chain
head stored beside them), it carries a digest sha256sum(1) accepts, restore refuses while a
collector serves the database, refuses a damaged file, a file whose digest does not match, a
file that is not a database and one from a newer program, each leaving the database as it was;
a restored database holds exactly the backup's rows, and the kiosks, which had been
acknowledged beyond it, send the missing events again (409 expected_seq) until the collector
holds every event once, byte for byte. Real HTTPS over loopback; no timing assertions."""

import fcntl
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipe_harness as ph  # noqa: E402

SYNC_TIMEOUT_S = 60


def rows(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
    try:
        ev = con.execute("SELECT device, seq, raw, hash FROM events ORDER BY device, seq").fetchall()
        heads = dict(con.execute("SELECT device, seq FROM chain_heads").fetchall())
        return ev, heads
    finally:
        con.close()


def sync_ok(k):
    r = k.run("sync", "--json", "--timeout", str(SYNC_TIMEOUT_S), timeout=SYNC_TIMEOUT_S + 30)
    assert r.code == 0, r
    return r.json()


def refused(col, f, why):
    before = rows(col.db_path)
    r = col.cmd("restore", "--from", f)
    assert r.returncode == 1, r
    assert why in r.stderr and "nothing was replaced" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert rows(col.db_path) == before, "a refused restore changed the database"
    assert not os.path.exists(col.db_path + ".restoring")


def write_digest(f):
    with open(f, "rb") as src:
        h = hashlib.sha256(src.read()).hexdigest()
    with open(f + ".sha256", "w") as out:
        out.write("%s  %s\n" % (h, os.path.basename(f)))


def main():
    with tempfile.TemporaryDirectory(prefix="rc-backup-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.start()
        try:
            kiosks = [ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-B%d" % i, batch_max_events=3)
                      for i in range(2)]
            for k in kiosks:
                k.enroll(col.token("enroll", "enroll-" + k.device_id))
                k.signins(30)
            # Uploads under way: both kiosks sync in the background; back up once the
            # collector holds some of their events.
            procs = [subprocess.Popen([ph.AGENT, "--config", k.config, "sync", "--json",
                                       "--timeout", str(SYNC_TIMEOUT_S)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for k in kiosks]
            deadline = time.monotonic() + 60
            while col.head(kiosks[0].device_id) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            backup = os.path.join(w, "nightly.db")
            r = col.cmd("backup", "--out", backup)
            assert r.returncode == 0, r
            assert "schema version" in r.stdout, r.stdout
            for p in procs:
                out, err = p.communicate(timeout=SYNC_TIMEOUT_S + 30)
                assert p.returncode == 0, (out, err)
            # The digest is sha256sum's own format.
            c = subprocess.run(["sha256sum", "-c", "nightly.db.sha256"], cwd=w,
                               capture_output=True, text=True)
            assert c.returncode == 0 and "nightly.db: OK" in c.stdout, c
            assert os.stat(backup).st_mode & 0o077 == 0, "the backup holds trainee data: 0600"
            # A consistent snapshot: every device's events are 1..head, chained.
            b_events, b_heads = rows(backup)
            assert b_heads.get(kiosks[0].device_id, 0) >= 1, b_heads
            for dev, head in b_heads.items():
                seqs = [s for d, s, _, _ in b_events if d == dev]
                assert seqs == list(range(1, head + 1)), (dev, head, seqs)
            # More sign-ins after the backup, acknowledged by the collector: a restore will
            # lose them on the collector's side, never on the kiosks'.
            for k in kiosks:
                k.signins(6)
                assert sync_ok(k)["pending"] == 0
                ph.check_exactly_once(k, col)
            full_events, _ = rows(col.db_path)
            assert len(full_events) == 72 and len(b_events) < len(full_events)

            # Refused while a collector serves the database.
            refused(col, backup, "a collector is serving")
        finally:
            col.stop()

        # Refusals with the collector stopped, each leaving the database as it was.
        bad = os.path.join(w, "bad.db")
        with open(backup, "rb") as f:
            data = bytearray(f.read())
        with open(bad, "wb") as f:
            f.write(data[:-1] + bytes([data[-1] ^ 1]))
        with open(backup + ".sha256") as f:
            with open(bad + ".sha256", "w") as g:
                g.write(f.read().replace("nightly.db", "bad.db"))
        refused(col, bad, "does not match its digest")
        os.unlink(bad + ".sha256")
        refused(col, bad, "no digest")
        with open(bad, "wb") as f:
            f.write(b"SQLite format 3\0" + b"\x55" * 8192)
        write_digest(bad)
        refused(col, bad, "restore: ")
        newer = os.path.join(w, "newer.db")
        with open(newer, "wb") as f:
            f.write(data)
        con = sqlite3.connect(newer)
        con.execute("INSERT INTO schema_migrations(version, name, applied_at) "
                    "VALUES (999, 'from the future', 0)")
        con.commit()
        con.close()
        write_digest(newer)
        refused(col, newer, "newer than this program's")

        # The real restore: exactly the backup's rows; the old database kept beside.
        r = col.cmd("restore", "--from", backup)
        assert r.returncode == 0, r
        assert "previous database is kept as" in r.stdout, r.stdout
        kept = r.stdout.strip().split("kept as ")[1]
        assert rows(kept)[0] == full_events
        assert rows(col.db_path) == (b_events, b_heads)
        assert os.stat(col.db_path).st_mode & 0o077 == 0

        # The kiosks resume without loss: the collector's head went back, it answers 409
        # expected_seq, they send again what it no longer has, and each event is stored once.
        col.start()
        try:
            for k in kiosks:
                k.signins(2)
                ans = sync_ok(k)
                lost = 36 - b_heads.get(k.device_id, 0)
                # The counts are the answers this pass read (SYNC.md): with batches in
                # flight, one the collector stored after the pass stopped waiting for its
                # answer is counted nowhere, and one sent again counts as duplicates. What
                # must hold is on the collector's side: every event back, once.
                assert ans["ack_seq"] == 38 and ans["pending"] == 0, (ans, lost)
                assert 1 <= ans["accepted"] <= lost + 2, (ans, lost)
                assert ans["accepted"] + ans["duplicates"] <= lost + 2, (ans, lost)
                ph.check_exactly_once(k, col)
                assert col.head(k.device_id) == 38
        finally:
            col.stop()
        # While a restore holds the database (its exclusive flock, taken here as restore
        # takes it), a collector refuses to start rather than serve a file about to go.
        fd = os.open(col.db_path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            r = subprocess.run([ph.SERVER, "--db", col.db, "serve", "--listen", "127.0.0.1:0",
                                "--plain-http"], capture_output=True, text=True, timeout=60)
            assert r.returncode == 1 and "is being restored" in r.stderr, r
        finally:
            os.close(fd)
    print("backup and restore: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
