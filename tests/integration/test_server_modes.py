#!/usr/bin/python3
"""The collector's files are private: `migrate` under umask 022 creates the database and its
-wal/-shm files 0600, a report written with --out is 0600, and every command that opens the
database (serve, migrate, token, report) refuses one that group or others can read or write,
with one line naming the fix (`chmod 600 FILE`) and nothing changed. Standard library only."""

import os
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ingestlib as il  # noqa: E402


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def run_umask(mask, *args, db=None):
    """Runs rollcall-server with the given umask."""
    cmd = [il.SERVER] + (["--db", db] if db else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.umask(mask))


class Modes(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rollcall-modes-")
        self.d = self.tmp.name
        self.path = os.path.join(self.d, "server.db")
        self.db = "sqlite:" + self.path

    def tearDown(self):
        self.tmp.cleanup()

    def test_migrate_creates_private_files(self):
        r = run_umask(0o022, "migrate", db=self.db)
        self.assertEqual(r.returncode, 0, r.stderr)
        # a second connection keeps -wal and -shm on disk while we look at them
        r = run_umask(0o022, "token", "create", "--role", "admin", "--name", "modes", db=self.db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(mode(self.path), 0o600)
        import sqlite3
        con = sqlite3.connect(self.path)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE IF NOT EXISTS modes_probe (x)")
            con.commit()
            for suffix in ("-wal", "-shm"):
                self.assertTrue(os.path.exists(self.path + suffix), suffix)
                self.assertEqual(mode(self.path + suffix), 0o600, suffix)
        finally:
            con.close()
        # a report written to a file holds names: private too
        out = os.path.join(self.d, "findings.json")
        r = run_umask(0o022, "report", "findings", "--format", "json", "--out", out, db=self.db)
        if r.returncode == 0:
            self.assertEqual(mode(out), 0o600)

    def refused(self, r, f):
        self.assertNotEqual(r.returncode, 0, r)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("chmod 600 " + f, lines[0])
        self.assertIn("group or others", lines[0])

    def test_open_database_refused(self):
        r = run_umask(0o077, "migrate", db=self.db)
        self.assertEqual(r.returncode, 0, r.stderr)
        os.chmod(self.path, 0o644)
        before = open(self.path, "rb").read()
        pki = os.path.join(self.d, "pki")
        os.makedirs(pki)
        il.make_pki(pki)
        try:
            p = subprocess.run([il.SERVER, "--db", self.db, "serve", "--listen", "127.0.0.1:0",
                                "--tls-cert", os.path.join(pki, "server.pem"), "--tls-key",
                                os.path.join(pki, "server.key")],
                               capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("serve started on a database that others can read")
        self.refused(p, self.path)
        for args in (("migrate",), ("token", "create", "--role", "admin", "--name", "x"),
                     ("report", "findings", "--format", "json")):
            self.refused(run_umask(0o022, *args, db=self.db), self.path)
        self.assertEqual(mode(self.path), 0o644)  # not "fixed" behind the operator's back
        self.assertEqual(open(self.path, "rb").read(), before)
        # group-writable only is refused as well; 0600 is served again
        os.chmod(self.path, 0o620)
        self.refused(run_umask(0o022, "migrate", db=self.db), self.path)
        os.chmod(self.path, 0o600)
        r = run_umask(0o022, "migrate", db=self.db)
        self.assertEqual(r.returncode, 0, r.stderr)
        # a world-readable WAL left by a copy is refused too, named
        open(self.path + "-wal", "wb").close()
        os.chmod(self.path + "-wal", 0o644)
        self.refused(run_umask(0o022, "migrate", db=self.db), self.path + "-wal")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
