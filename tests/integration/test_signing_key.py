#!/usr/bin/python3
# labels: collector
"""The collector's signing key through `rollcall-server signing-key create|rotate|check|list`:
the key file (default beside the database, mode 0600 whatever the umask), the key id (checked
here against openssl's own DER of the public key), one create only, a rotation that keeps the
old public key so a signature made before it still verifies (openssl signs and verifies
here, independently of the code under test), list as text and JSON, and the refusal of a key
file open to group or others with the chmod command. Standard library only."""

import base64
import hashlib
import json
import os
import sqlite3
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import openssl, run  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def one_line(r):
    return r.stderr.count("\n") == 1 and r.stderr.endswith("\n")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def key_id(keyfile):
    der = openssl("pkey", "-in", keyfile, "-pubout", "-outform", "DER")
    return hashlib.sha256(der).hexdigest()[:16]


def keys(dbpath):
    con = sqlite3.connect(dbpath)
    try:
        return con.execute("SELECT key_id, public_key_pem, created_at, retired_at "
                           "FROM signing_keys ORDER BY created_at, key_id").fetchall()
    finally:
        con.close()


def listed(db):
    r = run("signing-key", "list", "--json", db=db)
    check(r.returncode == 0, "list --json: %r" % (r,))
    return json.loads(r.stdout)["signing_keys"]


def verifies(d, pem, data, sig_b64):
    """openssl dgst -sha256 -verify of data with a public key PEM."""
    paths = [os.path.join(d, n) for n in ("v.pub", "v.sig", "v.msg")]
    for p, content in zip(paths, (pem.encode(), base64.b64decode(sig_b64), data)):
        with open(p, "wb") as f:
            f.write(content)
    try:
        openssl("dgst", "-sha256", "-verify", paths[0], "-signature", paths[1], paths[2])
        return True
    except RuntimeError:
        return False


def main():
    os.umask(0o022)  # a usual umask: the key must still come out 0600
    with tempfile.TemporaryDirectory(prefix="rc-signkey-") as d:
        dbpath = os.path.join(d, "server.db")
        db = "sqlite:" + dbpath
        keyfile = dbpath + ".signing.key"
        r = run("migrate", db=db)
        if not check(r.returncode == 0, "migrate: %r" % (r,)):
            return 1

        # Nothing yet: an empty list, check tells what to run. migrate makes no key.
        check(not os.path.exists(keyfile) and keys(dbpath) == [], "migrate made no key")
        r = run("signing-key", "list", db=db)
        check(r.returncode == 0 and r.stdout.split() == ["KEY", "ID", "STATE", "CREATED",
                                                         "RETIRED"], "empty list: %r" % (r,))
        check(listed(db) == [], "empty list --json")
        r = run("signing-key", "check", db=db)
        check(r.returncode == 1 and one_line(r) and "signing-key create" in r.stderr,
              "check before create: %r" % (r,))
        r = run("signing-key", "rotate", db=db)
        check(r.returncode == 1 and one_line(r) and "create" in r.stderr and
              not os.path.exists(keyfile), "rotate before create: %r" % (r,))

        # create: the file beside the database, 0600, its public key and id in the database.
        r = run("signing-key", "create", db=db)
        check(r.returncode == 0 and keyfile in r.stdout, "create: %r" % (r,))
        check(os.path.isfile(keyfile) and mode(keyfile) == 0o600,
              "key file mode %o" % (mode(keyfile) if os.path.exists(keyfile) else -1))
        id1 = key_id(keyfile)
        pem1 = openssl("pkey", "-in", keyfile, "-pubout").decode()
        rows = keys(dbpath)
        check(len(rows) == 1 and rows[0][0] == id1 and rows[0][1] == pem1 and rows[0][3] is None,
              "stored key: %r, openssl id %s" % (rows, id1))
        check(id1 in r.stdout, "create prints the key id: %r" % (r.stdout,))
        before = open(keyfile, "rb").read()
        # Signed before the rotation, by openssl with the key file.
        msg = b'{"manifest":1}\n'
        with open(os.path.join(d, "m"), "wb") as f:
            f.write(msg)
        old_sig = base64.b64encode(openssl("dgst", "-sha256", "-sign", keyfile,
                                           os.path.join(d, "m"))).decode()

        # A second create is refused, into the same or another file, and changes nothing.
        r = run("signing-key", "create", db=db)
        check(r.returncode == 1 and one_line(r) and "rotate" in r.stderr and id1 in r.stderr,
              "second create refused: %r" % (r,))
        other = os.path.join(d, "other.key")
        r = run("signing-key", "create", "--signing-key", other, db=db)
        check(r.returncode == 1 and not os.path.exists(other), "second create elsewhere: %r" % (r,))
        check(open(keyfile, "rb").read() == before and len(keys(dbpath)) == 1,
              "refused creates changed nothing")
        r = run("signing-key", "check", db=db)
        check(r.returncode == 0 and id1 in r.stdout, "check: %r" % (r,))

        # rotate: a new key in the same file (0600), the old public key kept, retired.
        r = run("signing-key", "rotate", db=db)
        check(r.returncode == 0, "rotate: %r" % (r,))
        id2 = key_id(keyfile)
        check(id2 != id1 and id2 in r.stdout and mode(keyfile) == 0o600 and
              not os.path.exists(keyfile + ".new"), "rotated file: %s %o" % (id2, mode(keyfile)))
        rows = keys(dbpath)
        check([x[0] for x in rows] == [id1, id2] and rows[0][1] == pem1 and
              rows[0][3] == rows[1][2] and rows[1][3] is None, "keys after rotate: %r" % (rows,))
        js = listed(db)
        check([(k["key_id"], k["state"]) for k in js] == [(id1, "retired"), (id2, "current")] and
              js[0]["retired_at"] and js[1]["retired_at"] is None and
              js[0]["public_key_pem"] == pem1, "list --json after rotate: %r" % (js,))
        check(verifies(d, js[0]["public_key_pem"], msg, old_sig),
              "a signature made before the rotation verifies with the kept public key")
        check(not verifies(d, js[1]["public_key_pem"], msg, old_sig),
              "the new key does not verify the old signature")
        r = run("signing-key", "list", db=db)
        lines = r.stdout.splitlines()
        check(r.returncode == 0 and len(lines) == 3 and lines[1].split()[:2] == [id1, "retired"]
              and lines[2].split()[:2] == [id2, "current"], "list text: %r" % (r.stdout,))
        r = run("signing-key", "check", db=db)
        check(r.returncode == 0 and id2 in r.stdout, "check after rotate: %r" % (r,))

        # A key file readable by others is refused with the command that fixes it.
        os.chmod(keyfile, 0o644)
        r = run("signing-key", "check", db=db)
        check(r.returncode == 1 and one_line(r) and "chmod 600 %s" % keyfile in r.stderr and
              "0644" in r.stderr, "0644 key refused: %r" % (r,))
        os.chmod(keyfile, 0o640)
        r = run("signing-key", "check", db=db)
        check(r.returncode == 1 and "chmod 600" in r.stderr, "0640 key refused: %r" % (r,))
        os.chmod(keyfile, 0o600)
        # Another valid key in the file is not the current one.
        stray = os.path.join(d, "stray.key")
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", stray)
        os.chmod(stray, 0o600)
        r = run("signing-key", "check", "--signing-key", stray, db=db)
        check(r.returncode == 1 and one_line(r) and id2 in r.stderr, "stray key: %r" % (r,))

        # --signing-key FILE with another database; a database that is not a file needs it.
        db2 = "sqlite:" + os.path.join(d, "two.db")
        check(run("migrate", db=db2).returncode == 0, "migrate two.db")
        f2 = os.path.join(d, "keys", "collector.key")
        os.mkdir(os.path.dirname(f2))
        r = run("signing-key", "create", "--signing-key", f2, db=db2)
        check(r.returncode == 0 and mode(f2) == 0o600 and
              not os.path.exists(os.path.join(d, "two.db.signing.key")),
              "create --signing-key: %r" % (r,))
        check([k["key_id"] for k in listed(db2)] == [key_id(f2)], "two.db's key")
        r = run("signing-key", "create", db="postgresql://db.example/rollcall")
        check(r.returncode == 1 and one_line(r) and "--signing-key" in r.stderr,
              "no default path without SQLite: %r" % (r,))

        # Usage errors.
        for args in (["signing-key"], ["signing-key", "burn"], ["signing-key", "create", "--json"],
                     ["signing-key", "list", "--signing-key", f2], ["signing-key", "list", "x"]):
            r = run(*args, db=db)
            check(r.returncode == 2, "usage %r: %r" % (args, r))
        r = run("signing-key", "--help")
        check(r.returncode == 0 and "rotate" in r.stdout, "--help: %r" % (r,))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
