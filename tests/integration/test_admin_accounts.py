#!/usr/bin/python3
# labels: collector
"""The admin's account routes on a real collector over HTTPS (the console's admin page calls
them): POST /v1/users adds an account with a password the admin chose, POST
/v1/users/{name}/disable and /enable, POST /v1/users/{name}/password. Admin only (every other
role 403, by token and by session), CSRF on a session's writes, bad input refused with the
rule and nothing stored, a disabled account's session and login refused at once, a new
password ending the sessions; no password or hash in an answer or the log. Every answer is
validated against docs/openapi.yaml. Standard library only."""

import json
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import Server, make_pki, run, tls_context, token  # noqa: E402
from test_accounts import Client, cookie_of  # noqa: E402

failures = []
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEO = {"Content-Type": "application/geo+json"}

ROOT_PW = "the admin's long password"
FRANK_PW = "弗兰克的初始口令很长很长"
FRANK_PW2 = "frank's second password"


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def login(c, user, password):
    st, h, body = c.login(user, password)
    cookie, _ = cookie_of(h)
    return st, cookie, body.get("csrf_token") if isinstance(body, dict) else None


def walk(c, db, tok, srv):
    st, root, root_csrf = login(c, "root", ROOT_PW)
    check(st == 200, "admin logs in: %s" % st)
    st, alice, alice_csrf = login(c, "alice", ROOT_PW + " alice")
    check(st == 200, "alice logs in: %s" % st)
    add = {"name": "frank", "role": "district:120103", "password": FRANK_PW}

    # Every other role is refused, by token and by session, whatever the route.
    routes = [("POST", "/v1/users", add), ("POST", "/v1/users/root/disable", None),
              ("POST", "/v1/users/root/enable", None),
              ("POST", "/v1/users/root/password", {"password": FRANK_PW2}),
              ("GET", "/v1/users", None)]
    for method, path, body in routes:
        for who in ("inst-a", "district", "evaluator", "enroll"):
            st, _, ans = c.req(method, path, body, bearer=tok[who])
            check(st == 403, "%s %s as %s: %s %s" % (method, path, who, st, ans))
        st, _, ans = c.req(method, path, body, cookie=alice, csrf=alice_csrf)
        check(st == 403, "%s %s as alice's session: %s %s" % (method, path, st, ans))
        st, _, ans = c.req(method, path, body)
        check(st == 401, "%s %s anonymous: %s" % (method, path, st))
    st, _, _ = c.login("root", FRANK_PW2)
    check(st == 401, "root's password unchanged by the refused calls")

    # A session's write needs its CSRF token.
    st, _, ans = c.req("POST", "/v1/users", add, cookie=root)
    check(st == 403 and "X-CSRF-Token" in ans.get("error", ""), "no CSRF: %s %s" % (st, ans))

    # Bad input: one clear error, nothing stored.
    bad = [({"name": "frank", "role": "admin", "password": "short"}, "characters"),
           ({"name": "fr ank", "role": "admin", "password": FRANK_PW}, "name"),
           ({"name": "frank", "role": "mayor", "password": FRANK_PW}, "role"),
           ({"name": "frank", "role": "admin"}, "password"),
           ({"name": "frank", "role": "admin", "password": FRANK_PW, "x": 1}, "'x'"),
           ([1, 2], "object")]
    for body, says in bad:
        st, _, ans = c.req("POST", "/v1/users", body, cookie=root, csrf=root_csrf)
        check(st == 400 and says in ans.get("error", ""), "bad %s: %s %s" % (body, st, ans))
    st, _, ans = c.req("POST", "/v1/users", b"{", headers={"Content-Type": "application/json"},
                       cookie=root, csrf=root_csrf)
    check(st == 400 and ans.get("code") == "invalid_json", "not JSON: %s %s" % (st, ans))
    st, _, ans = c.req("POST", "/v1/users",
                       {"name": "frank", "role": "admin", "password": "x" * 9000},
                       cookie=root, csrf=root_csrf)
    check(st == 413, "body too large: %s %s" % (st, ans))
    st, _, users = c.req("GET", "/v1/users", bearer=tok["admin"])
    check(st == 200 and sorted(u["name"] for u in users["users"]) == ["alice", "root"],
          "nothing stored by bad input: %s" % users)

    # Added by the admin's session: the answer is the account as listed, no hash.
    st, _, ans = c.req("POST", "/v1/users", add, cookie=root, csrf=root_csrf)
    check(st == 201 and ans.get("name") == "frank" and ans.get("role") == "district:120103"
          and ans.get("disabled_at") is None and "password_hash" not in ans,
          "add frank: %s %s" % (st, ans))
    st, _, ans = c.req("POST", "/v1/users", dict(add, role="admin"), bearer=tok["admin"])
    check(st == 409, "frank again: %s %s" % (st, ans))
    st, _, users = c.req("GET", "/v1/users", bearer=tok["admin"])
    frank = [u for u in users["users"] if u["name"] == "frank"]
    check(frank and frank[0]["role"] == "district:120103", "frank listed: %s" % users)
    with sqlite3.connect(db[len("sqlite:"):]) as con:
        row = con.execute("SELECT password_hash FROM users WHERE name='frank'").fetchone()
    check(row and row[0].startswith("$argon2id$") and FRANK_PW not in row[0],
          "frank's password stored as Argon2id only")

    # frank logs in, sees his district; disabled, his session and login stop at once.
    st, frank_s, _ = login(c, "frank", FRANK_PW)
    check(st == 200, "frank logs in: %s" % st)
    st, _, me = c.req("GET", "/v1/me", cookie=frank_s)
    check(st == 200 and me.get("role") == "district:120103", "frank's session: %s %s" % (st, me))
    st, _, ans = c.req("POST", "/v1/users/frank/disable", cookie=root, csrf=root_csrf)
    check(st == 200 and ans.get("name") == "frank" and ans.get("disabled_at"),
          "disable frank: %s %s" % (st, ans))
    st, _, _ = c.req("GET", "/v1/me", cookie=frank_s)
    check(st == 401, "disabled frank's session refused: %s" % st)
    st, _, _ = c.login("frank", FRANK_PW)
    check(st == 401, "disabled frank's login refused: %s" % st)
    st, _, ans = c.req("POST", "/v1/users/frank/enable", bearer=tok["admin"])
    check(st == 200 and ans.get("disabled_at") is None, "enable frank: %s %s" % (st, ans))
    st, frank_s, _ = login(c, "frank", FRANK_PW)
    check(st == 200, "enabled frank logs in: %s" % st)

    # A new password set by the admin ends frank's sessions; the old one stops working.
    st, _, ans = c.req("POST", "/v1/users/frank/password", {"password": "short"},
                       cookie=root, csrf=root_csrf)
    check(st == 400 and "characters" in ans.get("error", ""), "short new password: %s %s"
          % (st, ans))
    st, _, ans = c.req("POST", "/v1/users/frank/password", {"password": FRANK_PW2},
                       cookie=root, csrf=root_csrf)
    check(st == 200 and ans.get("name") == "frank" and ans.get("password_changed_at"),
          "new password: %s %s" % (st, ans))
    st, _, _ = c.req("GET", "/v1/me", cookie=frank_s)
    check(st == 401, "session after the new password: %s" % st)
    st, _, _ = c.login("frank", FRANK_PW)
    check(st == 401, "old password refused: %s" % st)
    st, _, _, = c.login("frank", FRANK_PW2)
    check(st == 200, "new password works: %s" % st)

    # Unknown accounts are 404 and nothing is created.
    for path in ("/v1/users/ghost/disable", "/v1/users/ghost/enable"):
        st, _, ans = c.req("POST", path, bearer=tok["admin"])
        check(st == 404 and "ghost" in ans.get("error", ""), "%s: %s %s" % (path, st, ans))
    st, _, ans = c.req("POST", "/v1/users/ghost/password", {"password": FRANK_PW2},
                       bearer=tok["admin"])
    check(st == 404, "password of ghost: %s %s" % (st, ans))
    st, _, ans = c.req("POST", "/v1/users/gh%20ost/disable", bearer=tok["admin"])
    check(st == 404, "a name that cannot be: %s %s" % (st, ans))
    st, _, users = c.req("GET", "/v1/users", bearer=tok["admin"])
    check(sorted(u["name"] for u in users["users"]) == ["alice", "frank", "root"],
          "no ghost created: %s" % users)

    fences(c, db, tok, root, root_csrf, srv)

    log = srv.log()
    check("added user 'frank' with role district:120103 (by 'user:root')" in log,
          "the addition logged with who")
    check("user 'frank' disabled by 'user:root'" in log, "the disabling logged with who")
    check(not any(p in log for p in (FRANK_PW, FRANK_PW2, ROOT_PW)), "no password in the log")


def fences(c, db, tok, root, root_csrf, srv):
    """POST /v1/fences: a GeoJSON fence file stored as `import fences` does."""
    with open(os.path.join(SRC, "geofences", "hexi-centre.geojson"), "rb") as f:
        hexi = f.read()
    for who in ("inst-a", "district", "evaluator", "enroll"):
        st, _, ans = c.req("POST", "/v1/fences", hexi, headers=GEO, bearer=tok[who])
        check(st == 403, "POST /v1/fences as %s: %s %s" % (who, st, ans))
    st, _, ans = c.req("POST", "/v1/fences", hexi, headers=GEO, cookie=root)
    check(st == 403, "fence upload without CSRF: %s" % st)
    bad = json.loads(hexi)
    bad["features"][0]["geometry"]["coordinates"] = [[[117.2, 39.1], [117.3, 39.1]]]
    st, _, ans = c.req("POST", "/v1/fences", json.dumps(bad).encode(), headers=GEO,
                       cookie=root, csrf=root_csrf)
    check(st == 400 and ans.get("error"), "a bad fence refused: %s %s" % (st, ans))
    check(stored_fences(db) == [], "nothing stored by the bad file")
    st, _, ans = c.req("POST", "/v1/fences", hexi, headers=GEO, cookie=root, csrf=root_csrf)
    got = ans.get("fences", []) if isinstance(ans, dict) else []
    check(st == 200 and [(x["fence"], x["version"], x["outcome"]) for x in got] ==
          [("hexi-centre", 1, "new")], "fence uploaded: %s %s" % (st, ans))
    st, _, ans = c.req("POST", "/v1/fences", hexi, headers=GEO, bearer=tok["admin"])
    check(st == 200 and [x["outcome"] for x in ans["fences"]] == ["unchanged"],
          "the same fence again: %s %s" % (st, ans))
    moved = json.loads(hexi)
    ring = moved["features"][0]["geometry"]["coordinates"][0]
    moved["features"][0]["geometry"]["coordinates"][0] = [[x + 0.001, y] for x, y in ring]
    st, _, ans = c.req("POST", "/v1/fences", json.dumps(moved).encode(), headers=GEO,
                       bearer=tok["admin"])
    check(st == 200 and [(x["version"], x["outcome"]) for x in ans["fences"]] ==
          [(2, "replaced")], "a moved fence is version 2: %s %s" % (st, ans))
    check(stored_fences(db) == [("hexi-centre", 1), ("hexi-centre", 2)],
          "both versions kept: %s" % stored_fences(db))
    check("fence 'hexi-centre' new (version 1) by 'user:root'" in srv.log(),
          "the upload logged with who")


def stored_fences(db):
    with sqlite3.connect(db[len("sqlite:"):]) as con:
        return sorted(con.execute("SELECT id, version FROM fences").fetchall())


def main():
    d = tempfile.mkdtemp(prefix="rollcall-admin-accounts-")
    srv = None
    try:
        make_pki(d)
        db = "sqlite:" + os.path.join(d, "server.db")
        r = run("migrate", db=db)
        assert r.returncode == 0, r.stderr
        for name, role, pw in (("root", "admin", ROOT_PW),
                               ("alice", "institution:INST-A", ROOT_PW + " alice")):
            r = run("user", "add", name, "--role", role, db=db, input=pw + "\n")
            assert r.returncode == 0, r.stderr
        tok = {"admin": token(db, "admin", "admin"),
               "inst-a": token(db, "institution:INST-A", "inst-a"),
               "district": token(db, "district:120103", "district"),
               "evaluator": token(db, "evaluator", "evaluator")}
        r = run("token", "create", "--role", "enroll", "--institution", "INST-A", "--name",
                "enroll", db=db)
        assert r.returncode == 0, r.stderr
        tok["enroll"] = r.stdout.strip()
        srv = Server(db, d)
        walk(Client(srv.port, tls_context(d)), db, tok, srv)
        check(srv.stop() == 0, "clean stop")
    finally:
        if srv and srv.proc.poll() is None:
            srv.proc.kill()
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
