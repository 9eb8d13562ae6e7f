#!/usr/bin/python3
# labels: collector
"""Role x list route x filter over HTTPS against a real collector: every GET list route of
the route table in server/http/api.c, for the roles admin, district:CODE, institution:ID,
evaluator and enroll, with each scope filter (district, institution, class) set inside and
outside the token's scope. An out-of-scope filter is 403 (docs/API.md "Scopes"), never 200
with an empty list; an in-scope one is 200 with exactly the rows the admin sees for that
filter inside the token's scope. Standard library only."""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import make_pki  # noqa: E402
from test_figures import World, class_events, iso, plan, upload  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


SRC = os.environ.get("ROLLCALL_SOURCE_DIR",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# The scope filters each list route takes. A new list route in api.c fails the test until it
# is listed here, so it cannot escape the matrix.
FILTERS = {
    "/v1/devices": ["district", "institution"],
    "/v1/summary": ["district", "institution"],
    "/v1/live": ["district", "institution"],
    "/v1/findings": ["district", "institution", "class"],
    "/v1/review-queue": [],  # the city's own queue (docs/SUBSIDY.md): city and admin, no filter
}
# GET routes without {id} that list nothing: GET /v1/me answers who the caller is
# (test_accounts.py); GET /v1/users lists accounts, admin only, nothing scoped
# (test_console.py). The alert listings take no scope filter (a district sees its own
# district's subscriptions and deliveries, admin all): test_alerts.py walks their scopes.
# GET /v1/tokens and GET /v1/fences are the admin's, nothing scoped (walked below and in
# test_console.py).
NOT_LISTS = {"/v1/me", "/v1/users", "/v1/alerts/subscriptions", "/v1/alerts/deliveries",
             "/v1/tokens", "/v1/fences"}
DISTRICT_OF = {"INST-A": "120103", "INST-B": "120104"}
CLASS_OF = {"C-A": "INST-A", "C-B": "INST-B"}
# The walked tokens (names from test_figures.World) and what each one's scope holds.
ROLES = {
    "admin": lambda inst: True,
    "district-d": lambda inst: DISTRICT_OF.get(inst) == "120103",   # district:120103
    "inst-a": lambda inst: inst == "INST-A",                        # institution:INST-A
    "evaluator": lambda inst: True,
    "city": lambda inst: True,                                      # city (市人社局)
    "enroll": None,
}
# Who may call each route at all (route level; else 403 whatever the filter).
CALLERS = {
    "/v1/devices": {"admin", "district-d", "inst-a", "city"},
    "/v1/summary": {"admin", "district-d", "inst-a", "evaluator", "city"},
    "/v1/live": {"admin", "district-d", "inst-a", "evaluator", "city"},
    "/v1/findings": {"admin", "district-d", "inst-a", "evaluator", "city"},
    "/v1/review-queue": {"admin", "city"},
}
# One value inside district-d's and inst-a's scopes and one outside, per filter.
VALUES = {"district": ("120103", "120104"), "institution": ("INST-A", "INST-B"),
          "class": ("C-A", "C-B")}


def list_routes():
    with open(os.path.join(SRC, "server", "http", "api.c"), encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("static const struct http_route routes[]"):]
    pats = re.findall(r'\{\s*"GET",\s*"([^"]+)"', table)
    return sorted(p for p in pats
                  if "{" not in p and p.startswith("/v1/") and p not in NOT_LISTS)


def rows(route, body, inst_of_device):
    """(institution, identity) of each row of a listing."""
    if route == "/v1/devices":
        return [(r["institution"], r["id"]) for r in body["devices"]]
    if route == "/v1/summary":
        return [(r["institution"], r["class"]) for r in body["classes"]]
    if route == "/v1/review-queue":
        return [(CLASS_OF.get(r["class"], ""), r["class"]) for r in body["applications"]]
    if route == "/v1/live":
        return [(r["institution"], r["class"] + "/" + r["session"]) for r in body["sessions"]]
    out = []
    for r in body["findings"]:
        inst = r.get("institution") or inst_of_device.get(r.get("device"), "")
        key = json.dumps({k: v for k, v in r.items() if k != "trainee_name"}, sort_keys=True)
        out.append((inst, key))
    return out


def matches(flt, value, inst, ident, route):
    if flt == "district":
        return DISTRICT_OF.get(inst) == value
    if flt == "institution":
        return inst == value
    # class: only findings take it; a finding's class is in its row
    return json.loads(ident).get("class") == value


def main():
    d = tempfile.mkdtemp(prefix="rollcall-scope-")
    try:
        make_pki(d)
        w = World(d, "m")
        try:
            walk(w)
        finally:
            check(w.stop() == 0, "server exits 0")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


def walk(w):
    routes = list_routes()
    check(routes == sorted(FILTERS), "list routes of api.c %s are the ones this matrix knows %s"
          % (routes, sorted(FILTERS)))
    ka = w.enrol("K-A1", "INST-A")
    w.enrol("K-B1", "INST-B")
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A", plan())
    check(st == 201, "PUT C-A: %s %s" % (st, body))
    st, body = w.req("inst-b", "PUT", "/v1/classes/C-B",
                     plan("C-B", "INST-B", "120104"))
    check(st == 201, "PUT C-B: %s %s" % (st, body))
    # A class of each institution with a session running now, for GET /v1/live.
    now = int(time.time() * 1000)
    for cid, inst, dist in (("C-LA", "INST-A", "120103"), ("C-LB", "INST-B", "120104")):
        p = plan(cid, inst, dist)
        p["sessions"] = [{"id": "S01", "start": iso(now - 3600000), "end": iso(now + 3600000),
                          "mode": "offline", "fence": "venue-a"}]
        st, body = w.req("inst-a" if inst == "INST-A" else "inst-b", "PUT",
                         "/v1/classes/" + cid, p)
        check(st == 201, "PUT %s: %s %s" % (cid, st, body))
    upload(w.port, w.ctx, ka, class_events(ka, ka.key_hex), [200])
    st, devs = w.req("admin", "GET", "/v1/devices")
    inst_of_device = {x["id"]: x["institution"] for x in devs["devices"]}
    seen_rows = set()
    for route in routes:
        st, everything = w.req("admin", "GET", route)
        if not check(st == 200, "%s as admin: %s" % (route, st)):
            continue
        all_rows = rows(route, everything, inst_of_device)
        check({i for i, _ in all_rows} >= {"INST-A", "INST-B"} or
              route in ("/v1/findings", "/v1/review-queue"),
              "%s lists both institutions for admin: %s" % (route, all_rows))
        for role, scope in ROLES.items():
            allowed = role in CALLERS[route]
            st, body = w.req(role, "GET", route)
            check(st == (200 if allowed else 403), "%s as %s: %s" % (route, role, st))
            for flt in FILTERS[route]:
                for value, inside in zip(VALUES[flt], (True, False)):
                    path = "%s?%s=%s" % (route, flt, urllib.parse.quote(value))
                    st, body = w.req(role, "GET", path)
                    if not allowed:
                        want = 403
                    elif role in ("admin", "evaluator", "city") or inside:
                        want = 200
                    else:
                        want = 403
                    if not check(st == want, "GET %s as %s: want %d, got %s %s"
                                 % (path, role, want, st, body)):
                        continue
                    if st == 403:
                        check(isinstance(body, dict) and
                              ("outside" in body.get("error", "") or not allowed),
                              "GET %s as %s: 403 says why: %s" % (path, role, body))
                        continue
                    got = sorted(rows(route, body, inst_of_device))
                    expect = sorted((i, k) for i, k in all_rows
                                    if scope(i) and matches(flt, value, i, k, route))
                    seen_rows.update((route, flt) for _ in got)
                    check(got == expect, "GET %s as %s: rows %s, want %s"
                          % (path, role, got, expect))
    # The admin's account, token and fence routes (the console's admin page): every other
    # role 403, nothing changed (test_admin_accounts.py walks them with sessions too).
    acct = [("POST", "/v1/users", {"name": "mallory", "role": "admin",
                                   "password": "a long enough password"}),
            ("POST", "/v1/users/mallory/disable", None), ("POST", "/v1/users/mallory/enable", None),
            ("POST", "/v1/users/mallory/password", {"password": "a long enough password"}),
            ("GET", "/v1/users", None),
            # tokens and fences (the console's admin tabs)
            ("GET", "/v1/tokens", None), ("POST", "/v1/tokens", {"name": "m", "role": "admin"}),
            ("POST", "/v1/tokens/admin/revoke", None), ("GET", "/v1/fences", None),
            ("GET", "/v1/fences/venue-a", None)]
    for method, path, body in acct:
        for role in ROLES:
            if role == "admin":
                continue
            st, ans = w.req(role, method, path, body)
            check(st == 403, "%s %s as %s: want 403, got %s %s" % (method, path, role, st, ans))
    st, users = w.req("admin", "GET", "/v1/users")
    check(st == 200 and users["users"] == [], "no account made by the refused calls: %s" % users)
    st, toks = w.req("admin", "GET", "/v1/tokens")
    check(st == 200 and "m" not in [t["name"] for t in toks["tokens"]]
          and all(t["revoked_at"] is None for t in toks["tokens"]),
          "no token made or revoked by the refused calls: %s" % toks)
    # The in-scope answers were not all empty: the rows check compared real rows.
    for route in routes:
        for flt in FILTERS[route]:
            check((route, flt) in seen_rows, "some in-scope %s?%s= answer had rows" % (route, flt))


if __name__ == "__main__":
    sys.exit(main())
