#!/usr/bin/python3
"""`rollcall-server check-config [serve options]`: with everything in order it prints one ok
line per area and exits 0; each problem (no database, a database not migrated, a key that
does not belong to the certificate, a missing certificate file, a certificate expiring within
14 days, no signing key, a photo directory open to others, a bad listen address) is exactly
one line on stderr naming its area, plus a count, and exit 1. Certificates made with the
openssl CLI; the command binds nothing."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingestlib as il  # noqa: E402


def leaf(d, name, days):
    il.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=localhost", cwd=d)
    il.openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
               "-CAcreateserial", "-out", name + ".pem", "-days", str(days), "-extfile",
               "ext.cnf", cwd=d)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def check(db, *args):
    r = il.run("check-config", *args, db=db)
    return r.returncode, r.stdout, [ln for ln in r.stderr.splitlines() if ln]


def main():
    with tempfile.TemporaryDirectory() as d:
        il.make_pki(d)
        good_cert, good_key = leaf(d, "good", 90)
        soon_cert, soon_key = leaf(d, "soon", 2)
        db = "sqlite:" + os.path.join(d, "s.db")
        assert il.run("migrate", db=db).returncode == 0
        assert il.run("signing-key", "create", db=db).returncode == 0
        photos = os.path.join(d, "photos")
        os.mkdir(photos, 0o700)
        tls = ["--tls-cert", good_cert, "--tls-key", good_key]

        code, out, err = check(db, *tls, "--photo-dir", photos, "--listen", "0.0.0.0:8443")
        assert code == 0 and err == [], (code, out, err)
        assert out.splitlines()[-1] == "ok" and out.count("ok: ") == 5, out
        assert "ok: TLS certificate and key match, valid until" in out, out
        # Plain HTTP has no TLS files to check.
        code, out, err = check(db, "--plain-http")
        assert code == 0 and "ok: plain HTTP" in out, (code, out, err)

        def one(args, area, text, db=db):
            code, out, err = check(db, *args)
            assert code == 1, (args, code, out, err)
            assert len(err) == 2 and err[1] == "check-config: 1 problem", (args, err)
            assert err[0].startswith("check-config: %s: " % area) and text in err[0], (args, err)

        one(["--tls-cert", good_cert, "--tls-key", soon_key], "tls",
            "the private key does not belong to the certificate")
        one(["--tls-cert", os.path.join(d, "missing.pem"), "--tls-key", good_key], "tls-cert",
            "cannot open")
        one(["--tls-cert", soon_cert, "--tls-key", soon_key], "tls-cert",
            "renew it, then systemctl reload rollcall-server")
        os.chmod(photos, 0o755)
        one(tls + ["--photo-dir", photos], "photo-dir", "chmod 700")
        os.chmod(photos, 0o700)
        one(tls + ["--listen", "127.0.0.1:70000"], "listen", "0..65535")
        one(tls + ["--signing-key", os.path.join(d, "none.key")], "signing-key", "")
        one(tls, "database", "run 'rollcall-server migrate'",
            db="sqlite:" + os.path.join(d, "nothing-here.db"))
        old = "sqlite:" + os.path.join(d, "old.db")
        assert il.run("migrate", "--to", "3", db=old).returncode == 0
        code, out, err = check(old, *tls, "--signing-key", os.path.join(d, "s.db.signing.key"))
        assert code == 1 and any(e.startswith("check-config: database: ") and
                                 "rollcall-server migrate" in e for e in err), err
        # Several problems: one line each, and the count.
        code, out, err = check(db, "--tls-cert", good_cert, "--tls-key", soon_key,
                               "--listen", "nohost", "--signing-key", os.path.join(d, "x.key"))
        assert code == 1 and err[-1] == "check-config: 3 problems", err
        assert len(err) == 4, err
        # Usage errors are serve's: exit 2.
        r = il.run("check-config", "--threads", "0", db=db)
        assert r.returncode == 2, r
    print("check-config: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
