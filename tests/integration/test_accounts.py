#!/usr/bin/python3
# labels: collector
"""People's accounts on a real collector over HTTPS: the user command (add, list, disable,
passwd; the password from stdin, refused on the command line), POST /v1/login (cookie
attributes, one answer for an unknown user and a wrong password, throttling and lockout),
a session on scoped routes answering exactly as a bearer token of the same role, CSRF on a
session's writes, logout, idle and absolute expiry, a disabled user's session refused at
once, GET /v1/me. Standard library only."""

import hashlib
import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402
from ingestlib import SERVER, WAIT, Server, make_pki, run, tls_context, token  # noqa: E402
from test_figures import plan  # noqa: E402

failures = []
lock = threading.Lock()

PW = {"alice": "correct horse battery", "root": "staple-staple-staple",
      "eve": "评估员的密码很长很长很长", "carol": "carol's long password",
      "dave": "dave's first password", "lock": "lock's long password"}


def check(cond, what):
    if not cond:
        with lock:
            failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


class Client:
    """HTTPS (or plain HTTP) requests that keep the whole answer: status, headers, body."""

    def __init__(self, port, ctx=None):
        self.port = port
        self.ctx = ctx

    def req(self, method, path, body=None, headers=None, cookie=None, csrf=None, bearer=None):
        h = dict(headers or {})
        if cookie:
            h["Cookie"] = "rollcall_session=" + cookie
        if csrf:
            h["X-CSRF-Token"] = csrf
        if bearer:
            h["Authorization"] = "Bearer " + bearer
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode()
            h.setdefault("Content-Type", "application/json")
        if self.ctx:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                               timeout=WAIT)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            headers = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        openapi_check.check(method, path, r.status, headers.get("content-type"), data, headers)
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = data
        return r.status, headers, parsed

    def login(self, user, password):
        return self.req("POST", "/v1/login", {"user": user, "password": password})


def cookie_of(headers):
    """The session id from a Set-Cookie header, and the header's attributes (lower case)."""
    sc = headers.get("set-cookie", "")
    parts = [p.strip() for p in sc.split(";")]
    m = re.match(r"rollcall_session=(.*)$", parts[0]) if parts else None
    return (m.group(1) if m else None), {p.split("=")[0].lower(): p for p in parts[1:]}


def session(c, user):
    st, h, body = c.login(user, PW[user])
    check(st == 200, "login %s: %s %s" % (user, st, body))
    cookie, _ = cookie_of(h)
    return cookie, body.get("csrf_token") if isinstance(body, dict) else None


def user_cmd(db, *args, password=None):
    return run("user", *args, db=db, input=None if password is None else password + "\n")


def test_cli(db):
    r = user_cmd(db, "add", "alice", "--role", "institution:INST-A", password=PW["alice"])
    check(r.returncode == 0, "user add alice: %s" % r.stderr)
    for name, role in [("root", "admin"), ("eve", "evaluator"),
                       ("carol", "institution:INST-A"), ("dave", "institution:INST-A"),
                       ("lock", "admin")]:
        r = user_cmd(db, "add", name, "--role", role, password=PW[name])
        check(r.returncode == 0, "user add %s: %s" % (name, r.stderr))
    # The password never on the command line: an option or an argument is refused, nothing
    # is stored.
    r = user_cmd(db, "add", "mallory", "--role", "admin", "--password", "a very long password")
    check(r.returncode == 2 and "never taken on the command line" in r.stderr,
          "--password refused: %s %s" % (r.returncode, r.stderr))
    r = user_cmd(db, "add", "mallory", "--role", "admin", "--password=a very long password")
    check(r.returncode == 2, "--password= refused: %s" % r.returncode)
    r = user_cmd(db, "add", "mallory", "a-very-long-password", "--role", "admin")
    check(r.returncode == 2 and "unexpected argument" in r.stderr,
          "password as an argument refused: %s %s" % (r.returncode, r.stderr))
    r = user_cmd(db, "add", "mallory", "--role", "admin", password="short")
    check(r.returncode == 1 and "too short" in r.stderr and r.stderr.count("\n") == 1,
          "short password refused in one line: %s %r" % (r.returncode, r.stderr))
    r = user_cmd(db, "add", "mallory", "--role", "device:K-01", password="a very long password")
    check(r.returncode == 2 and "role" in r.stderr, "device role refused: %s" % r.stderr)
    r = user_cmd(db, "add", "mallory", "--role", "admin", password="")
    check(r.returncode == 1, "empty password refused: %s" % r.stderr)
    r = user_cmd(db, "add", "alice", "--role", "admin", password="another long password")
    check(r.returncode == 1 and "exists" in r.stderr, "duplicate refused: %s" % r.stderr)
    r = user_cmd(db, "add", "bad name", "--role", "admin", password="another long password")
    check(r.returncode == 2, "bad name refused: %s" % r.stderr)
    r = user_cmd(db, "disable", "nobody")
    check(r.returncode == 1 and "no user named 'nobody'" in r.stderr,
          "disable unknown: %s" % r.stderr)
    r = user_cmd(db, "list")
    check(r.returncode == 0 and re.search(r"^alice\s+institution:INST-A\s+active", r.stdout, re.M),
          "user list shows alice: %s" % r.stdout)
    check("mallory" not in r.stdout, "refused adds stored nothing: %s" % r.stdout)
    check("argon2" not in r.stdout and "$" not in r.stdout, "list shows no hash")
    r = user_cmd(db, "list", "--json")
    users = {u["name"]: u for u in json.loads(r.stdout)["users"]}
    check(set(users) == {"alice", "root", "eve", "carol", "dave", "lock"},
          "user list --json: %s" % sorted(users))
    check(users["eve"]["role"] == "evaluator" and users["eve"]["disabled"] is False and
          users["eve"]["last_login_at"] is None, "eve listed: %s" % users["eve"])
    check("argon2" not in r.stdout, "json list shows no hash")
    # Only the Argon2id string is stored.
    path = db[len("sqlite:"):]
    with sqlite3.connect(path) as con:
        hashes = [row[0] for row in con.execute("SELECT password_hash FROM users")]
    check(all(h.startswith("$argon2id$v=19$m=65536,t=3,p=1$") for h in hashes),
          "Argon2id hashes stored: %s" % hashes[:1])
    check(not any(PW["alice"] in h for h in hashes), "no password in the database")


def test_lockout(c, name, password):
    """Five failures answer 401, the next at once 429 with Retry-After; waiting out each delay
    the failures go on to ten, after which even the right password is refused."""
    for i in range(5):
        st, _, body = c.login(name, "wrong password %d" % i)
        check(st == 401, "%s failure %d: %s %s" % (name, i + 1, st, body))
    st, h, body = c.login(name, password)
    check(st == 429 and h.get("retry-after") == "1", "%s slowed after 5: %s %s %s" %
          (name, st, h.get("retry-after"), body))
    n = 5
    while n < 10:
        time.sleep(int(h.get("retry-after", "1")) + 0.2)
        st, h, body = c.login(name, "wrong again")
        check(st == 401, "%s failure %d after waiting: %s %s" % (name, n + 1, st, body))
        n += 1
        st, h, body = c.login(name, password)
        check(st == 429, "%s refused at once after %d failures: %s" % (name, n, st))
        if st != 429:
            return
    check(int(h.get("retry-after", "0")) > 800, "%s locked ~15 min: %s" %
          (name, h.get("retry-after")))
    check("too many failed logins" in body.get("error", ""), "429 says why: %s" % body)


def main():
    d = tempfile.mkdtemp(prefix="rollcall-accounts-")
    servers = []
    try:
        make_pki(d)
        db = "sqlite:" + os.path.join(d, "server.db")
        r = run("migrate", db=db)
        assert r.returncode == 0, r.stderr
        tok = {"inst-a": token(db, "institution:INST-A", "inst-a"),
               "evaluator": token(db, "evaluator", "evaluator"),
               "admin": token(db, "admin", "admin")}
        test_cli(db)

        # Settings are checked before anything starts.
        r = run("serve", "--plain-http", "--session-idle", "10", "--session-max", "5", db=db)
        check(r.returncode == 2 and "--session-max" in r.stderr, "max < idle refused: %s" %
              r.stderr)
        r = run("serve", "--plain-http", "--session-idle", "0", db=db)
        check(r.returncode == 2, "idle 0 refused: %s" % r.stderr)
        r = run("serve", "--help")
        check("--session-idle" in r.stdout and "--session-max" in r.stdout, "serve --help")

        srv = Server(db, d)
        servers.append(srv)
        c = Client(srv.port, tls_context(d))

        locker = threading.Thread(target=test_lockout, args=(c, "lock", PW["lock"]))
        locker.start()

        # Login: the cookie and its attributes, the CSRF token.
        st, h, body = c.login("alice", PW["alice"])
        check(st == 200, "login alice: %s %s" % (st, body))
        cookie, attrs = cookie_of(h)
        check(cookie and re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie), "cookie value: %r" % cookie)
        check("httponly" in attrs and "secure" in attrs, "HttpOnly, Secure: %s" % attrs)
        check(attrs.get("samesite", "").lower() == "samesite=strict", "SameSite: %s" % attrs)
        check(attrs.get("path") == "Path=/", "Path=/: %s" % attrs)
        check(body.get("user") == "alice" and body.get("role") == "institution:INST-A" and
              re.fullmatch(r"[A-Za-z0-9_-]{43}", body.get("csrf_token", "")),
              "login answer: %s" % body)
        csrf = body["csrf_token"]
        check(PW["alice"] not in srv.log(), "no password in the log")
        # The database keeps only the session id's SHA-256.
        with sqlite3.connect(db[len("sqlite:"):]) as con:
            stored = [row[0] for row in con.execute("SELECT hash FROM login_sessions")]
        check(hashlib.sha256(cookie.encode()).hexdigest() in stored and cookie not in stored,
              "session stored as its hash only")

        st, _, me = c.req("GET", "/v1/me", cookie=cookie)
        check(st == 200 and me.get("user") == "alice" and me.get("via") == "session" and
              me.get("role") == "institution:INST-A" and me.get("csrf_token") == csrf,
              "GET /v1/me by session: %s %s" % (st, me))
        st, _, me = c.req("GET", "/v1/me", bearer=tok["inst-a"])
        check(st == 200 and me.get("via") == "token" and me.get("name") == "inst-a" and
              "csrf_token" not in me, "GET /v1/me by token: %s %s" % (st, me))
        st, _, me = c.req("GET", "/v1/me")
        check(st == 401, "GET /v1/me anonymous: %s" % st)
        st, _, me = c.req("GET", "/v1/me", cookie="A" * 43)
        check(st == 401, "forged cookie: %s %s" % (st, me))

        # One answer for a wrong password, an unknown user, a disabled user (below).
        wrong = c.login("alice", "not alice's password")
        unknown = c.login("nobody", "not alice's password")
        check(wrong[0] == 401 and (wrong[0], wrong[2]) == (unknown[0], unknown[2]),
              "wrong password and unknown user alike: %s / %s" % (wrong[::2], unknown[::2]))
        check("set-cookie" not in wrong[1], "no cookie on a failed login")
        st, _, body = c.req("POST", "/v1/login", {"user": "alice"})
        check(st == 400, "login without password: %s %s" % (st, body))
        st, _, body = c.req("POST", "/v1/login", {"user": "alice", "password": PW["alice"],
                                                  "remember": True})
        check(st == 400 and "remember" in body.get("error", ""), "unknown member: %s" % body)

        # A session on scoped routes answers exactly as a token of the same role.
        for path in ["/v1/devices?institution=INST-A", "/v1/summary?institution=INST-A",
                     "/v1/devices?institution=INST-B", "/v1/summary?institution=INST-B",
                     "/v1/findings?institution=INST-B"]:
            a = c.req("GET", path, cookie=cookie)
            b = c.req("GET", path, bearer=tok["inst-a"])
            check((a[0], a[2]) == (b[0], b[2]), "%s session %s == token %s" %
                  (path, a[::2], b[::2]))
            check(a[0] == (200 if "INST-A" in path else 403), "%s: %s" % (path, a[0]))
        eve, eve_csrf = session(c, "eve")
        a = c.req("GET", "/v1/devices", cookie=eve)
        b = c.req("GET", "/v1/devices", bearer=tok["evaluator"])
        check(a[0] == b[0] == 403, "evaluator may not list devices: %s %s" % (a[0], b[0]))

        # Writes of a session need its CSRF token; a token's do not.
        st, _, body = c.req("PUT", "/v1/classes/C-A", plan(), cookie=cookie)
        check(st == 403 and "X-CSRF-Token" in body.get("error", ""),
              "write without CSRF: %s %s" % (st, body))
        st, _, body = c.req("PUT", "/v1/classes/C-A", plan(), cookie=cookie, csrf=eve_csrf)
        check(st == 403, "write with another session's CSRF token: %s %s" % (st, body))
        st, _, body = c.req("PUT", "/v1/classes/C-A", plan(), cookie=cookie, csrf="x" * 43)
        check(st == 403, "write with a wrong CSRF token: %s" % st)
        st, _, body = c.req("PUT", "/v1/classes/C-A", plan(), cookie=cookie, csrf=csrf)
        check(st == 201, "write with CSRF: %s %s" % (st, body))
        st, _, body = c.req("PUT", "/v1/classes/C-B",
                            plan("C-B", "INST-B", "120104", "venue-b"), cookie=cookie, csrf=csrf)
        b = c.req("PUT", "/v1/classes/C-B", plan("C-B", "INST-B", "120104", "venue-b"),
                  bearer=tok["inst-a"])
        check(st == 403 and b[0] == 403, "write outside scope: session %s, token %s" %
              (st, b[0]))

        # Logout ends the session; its cookie is refused afterwards.
        st, _, body = c.req("POST", "/v1/logout", cookie=cookie)
        check(st == 403, "logout without CSRF: %s" % st)
        st, h, body = c.req("POST", "/v1/logout", cookie=cookie, csrf=csrf)
        check(st == 200, "logout: %s %s" % (st, body))
        check("max-age=0" in h.get("set-cookie", "").lower(), "logout clears the cookie: %s" %
              h.get("set-cookie"))
        st, _, body = c.req("GET", "/v1/me", cookie=cookie)
        check(st == 401, "cookie after logout: %s %s" % (st, body))
        st, _, body = c.req("POST", "/v1/logout", bearer=tok["admin"])
        check(st == 403, "logout is for sessions: %s" % st)

        # A disabled user's session stops at once; their right password is refused alike.
        carol, _ = session(c, "carol")
        st, _, _ = c.req("GET", "/v1/me", cookie=carol)
        check(st == 200, "carol's session works: %s" % st)
        r = user_cmd(db, "disable", "carol")
        check(r.returncode == 0, "user disable carol: %s" % r.stderr)
        st, _, body = c.req("GET", "/v1/me", cookie=carol)
        check(st == 401, "disabled user's session refused: %s %s" % (st, body))
        st, _, body = c.login("carol", PW["carol"])
        check((st, body) == (unknown[0], unknown[2]), "disabled login alike: %s %s" % (st, body))
        r = user_cmd(db, "list", "--json")
        check({u["name"]: u["disabled"] for u in json.loads(r.stdout)["users"]}["carol"],
              "carol listed as disabled")

        # A new password ends the sessions; the old password stops, the new one works.
        dave, _ = session(c, "dave")
        r = user_cmd(db, "passwd", "dave", "--password", "x")
        check(r.returncode == 2, "passwd --password refused: %s" % r.returncode)
        r = user_cmd(db, "passwd", "dave", password="dave's second password")
        check(r.returncode == 0, "user passwd dave: %s" % r.stderr)
        st, _, _ = c.req("GET", "/v1/me", cookie=dave)
        check(st == 401, "session after passwd: %s" % st)
        st, _, _ = c.login("dave", PW["dave"])
        check(st == 401, "old password after passwd: %s" % st)
        st, _, _ = c.login("dave", "dave's second password")
        check(st == 200, "new password after passwd: %s" % st)
        r = user_cmd(db, "passwd", "dave", password="short")
        check(r.returncode == 1 and "too short" in r.stderr, "passwd short: %s" % r.stderr)

        # An unknown name is throttled exactly like a known one (no enumeration that way).
        for i in range(5):
            st, _, _ = c.login("ghost", "guess %d" % i)
            check(st == 401, "ghost failure %d: %s" % (i + 1, st))
        st, h, _ = c.login("ghost", "guess")
        check(st == 429 and h.get("retry-after") == "1", "ghost slowed after 5: %s" % st)

        # A second collector on the same database with short lifetimes: sessions are shared
        # (the database holds them), and expire idle and in all.
        short = Server(db, d, "--session-idle", "3", "--session-max", "8")
        servers.append(short)
        s = Client(short.port, tls_context(d))
        root, _ = session(c, "root")
        st, _, me = s.req("GET", "/v1/me", cookie=root)
        check(st == 200 and me.get("user") == "root", "session shared by collectors: %s" % st)
        idle, _ = session(s, "alice")
        st, _, _ = s.req("GET", "/v1/me", cookie=idle)
        check(st == 200, "fresh session: %s" % st)
        time.sleep(4)
        st, _, body = s.req("GET", "/v1/me", cookie=idle)
        check(st == 401 and "expired" in body.get("error", ""), "idle session: %s %s" %
              (st, body))
        maxed, _ = session(s, "alice")
        t0 = time.monotonic()
        answers = []
        # Kept active every 0.5 s (well inside the 3 s idle limit, even on a loaded machine):
        # alive for the first 5 s after the login answered, ended by 8 s after it started.
        while time.monotonic() - t0 < 10:
            time.sleep(0.5)
            st, _, body = s.req("GET", "/v1/me", cookie=maxed)
            answers.append((time.monotonic() - t0, st))
            if st == 401:
                break
        check(all(st == 200 for t, st in answers if t < 5), "kept alive: %s" % answers)
        check(answers[-1][1] == 401, "ended after --session-max although active: %s" % answers)

        locker.join()

        # Over plain HTTP (behind a TLS proxy) the cookie has no Secure attribute.
        proc = subprocess.Popen([SERVER, "--db", db, "serve", "--listen", "127.0.0.1:0",
                                 "--plain-http"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            port = None
            for line in proc.stderr:
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m:
                    port = int(m.group(1))
                    break
            st, h, _ = Client(port).login("root", PW["root"])
            _, attrs = cookie_of(h)
            check(st == 200 and "secure" not in attrs and "httponly" in attrs,
                  "plain HTTP cookie: %s %s" % (st, attrs))
        finally:
            proc.terminate()
            proc.wait(WAIT)
        for srv_ in servers:
            check(srv_.stop() == 0, "clean stop")
        logs = "".join(x.log() for x in servers)
        check(not any(p in logs for p in PW.values()), "no password in any log")
        check("login failed from 127.0.0.1 for 'alice': wrong password" in logs,
              "failed login logged")
        # an unknown name may be a password typed into the wrong field: never logged
        check("unknown user name" in logs and "'ghost'" not in logs,
              "an unknown user name is not logged")
    finally:
        for srv_ in servers:
            if srv_.proc.poll() is None:
                srv_.proc.kill()
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
