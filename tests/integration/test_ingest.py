#!/usr/bin/python3
# labels: collector pg
"""Enrolment and verified, exactly-once batch ingest over real HTTPS on loopback (a test CA
made here), and `import batches|fences`. Inputs are built independently of the code under test:
canonical lines by string formatting, keys and signatures by the openssl CLI, hashes by
hashlib; stored rows are read back with python's sqlite3. After everything, every event each
simulated kiosk recorded and the server accepted is stored exactly once, byte for byte, and
its chain verifies from the database. Standard library only."""

import base64
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
from ingestlib import (Device, Server, circle, make_pki, ndjson, post_batch, post_raw, request, run,
                       sha256_hex, tls_context, token, ZERO)

failures = []
CENTRE = (39.1, 117.2)  # lat, lon of the test venue (WGS-84)
MAX_BODY = 1 << 20


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def err_is(ans, error, code, **extra):
    """An error body: this technical line and code, and the code's text (Chinese by default:
    the request asked for no language)."""
    return (isinstance(ans, dict) and ans.get("error") == error and ans.get("code") == code and
            isinstance(ans.get("message"), str) and ans["message"] != error and
            set(ans) == {"error", "code", "message", *extra} and
            all(ans.get(k) == v for k, v in extra.items()))


def q(path, sql, *args):
    return pglib.query(path, sql, *args)


def stored(path, dev):
    return q(path, "SELECT seq, raw, hash, prev FROM events WHERE device = ? ORDER BY seq", dev)


def findings(path, dev, kind):
    return q(path, "SELECT seq, detail FROM findings WHERE device = ? AND kind = ?", dev, kind)


def chain_ok(path, dev, expect_lines):
    """The stored chain of dev is exactly expect_lines, linked and hashed."""
    rows = stored(path, dev)
    ok = check(len(rows) == len(expect_lines),
               "%s: %d rows stored, %d expected" % (dev, len(rows), len(expect_lines)))
    head = ZERO
    for i, (seq, raw, h, prev) in enumerate(rows):
        ok = check(seq == i + 1, "%s: seq %d at row %d" % (dev, seq, i)) and ok
        ok = check(i < len(expect_lines) and bytes(raw) == expect_lines[i],
                   "%s: seq %d bytes differ from what the kiosk recorded" % (dev, seq)) and ok
        ok = check(h == sha256_hex(bytes(raw)), "%s: seq %d stored hash wrong" % (dev, seq)) and ok
        ok = check(prev == head, "%s: seq %d does not link" % (dev, seq)) and ok
        head = h
    hr = q(path, "SELECT seq, hash FROM chain_heads WHERE device = ?", dev)
    if rows:
        ok = check(hr == [(len(rows), head)], "%s: chain head %r" % (dev, hr)) and ok
    return ok


def batch_sigs(path, dev, d):
    """The (first_seq, last_seq) of every batch signature stored for dev, in order, after
    checking each row: last_hash is the hash of the stored line last_seq, and the signature
    verifies over that stored hash with the device's public key (openssl pkeyutl takes the
    digest itself, so nothing is re-hashed from the line here)."""
    rows = q(path, "SELECT first_seq, last_seq, last_hash, signature, received_at "
             "FROM batch_signatures WHERE device = ? ORDER BY id", dev.id)
    pub = os.path.join(d, "%s.pub" % dev.id)
    with open(pub, "w") as f:
        f.write(dev.public_pem)
    for first, last, h, sig, received in rows:
        raw = q(path, "SELECT raw FROM events WHERE device = ? AND seq = ?", dev.id, last)
        check(raw and sha256_hex(bytes(raw[0][0])) == h,
              "%s: batch %d..%d last_hash is not the stored line's hash" % (dev.id, first, last))
        check(received > 1790000000000, "%s: batch %d..%d received_at %r" % (
            dev.id, first, last, received))
        digest = os.path.join(d, "digest.bin")
        der = os.path.join(d, "sig.der")
        with open(digest, "wb") as f:
            f.write(bytes.fromhex(h))
        with open(der, "wb") as f:
            f.write(base64.b64decode(sig, validate=True))
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-in",
                            digest, "-sigfile", der], capture_output=True, text=True)
        check(r.returncode == 0 and "Signature Verified Successfully" in r.stdout,
              "%s: batch %d..%d signature does not verify: %r" % (dev.id, first, last, r))
    return [(first, last) for first, last, _, _, _ in rows]


def enrol(port, ctx, tok, dev, feature, **kw):
    return request(port, ctx, "POST", "/v1/devices", dev.enrol_body(feature, **kw),
                   {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})


def test_enrolment(port, ctx, tokens, d, dbpath, venue):
    a = Device(d, "kiosk-a", "INST-A")
    st, ans = enrol(port, ctx, tokens["enroll"], a, venue)
    check(st == 201, "enrol new: %r %r" % (st, ans))
    check(isinstance(ans, dict) and set(ans) == {"device", "institution", "institution_key",
                                                 "device_token", "server_time"},
          "enrol answer members: %r" % (ans,))
    check(re.fullmatch(r"[0-9a-f]{64}", ans.get("institution_key", "")), "institution key hex")
    check(re.fullmatch(r"rc_[A-Za-z0-9_-]{43}", ans.get("device_token", "")), "device token")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ans.get("server_time", "")),
          "server_time RFC 3339 UTC ms: %r" % ans.get("server_time"))
    key_a = ans["institution_key"]
    a.token = ans["device_token"]
    row = q(dbpath, "SELECT pseudonym_key FROM institutions WHERE id = 'INST-A'")
    check([(r[0].hex(),) for r in row] == [(key_a,)], "institution key stored as answered")
    row = q(dbpath, "SELECT institution, profile, fence, assumed_eph_m FROM devices "
            "WHERE id = 'kiosk-a'")
    check(row == [("INST-A", "x86-kiosk-ublox", "test-venue", 5.0)], "device row: %r" % row)
    # The stored key is the same key: compare DER fingerprints made by openssl.
    pem = q(dbpath, "SELECT public_key_pem FROM devices WHERE id = 'kiosk-a'")[0][0]
    from ingestlib import openssl
    fp_stored = sha256_hex(openssl("pkey", "-pubin", "-outform", "DER", input=pem.encode()))
    fp_sent = sha256_hex(openssl("pkey", "-pubin", "-outform", "DER",
                                 input=a.public_pem.encode()))
    check(fp_stored == fp_sent, "stored public key is the enrolled one")

    # Idempotent: same id, same key: 200, same institution key, a new token; both work.
    st, again = enrol(port, ctx, tokens["enroll"], a, venue)
    check(st == 200 and again.get("institution_key") == key_a and
          again.get("device_token") not in (None, a.token), "re-enrol same key: %r %r" % (st, again))
    # Another key under the same id: a clone or a re-imaged kiosk.
    clone = Device(d, "kiosk-a-clone", "INST-A")
    clone.id = "kiosk-a"
    st, ans = enrol(port, ctx, tokens["enroll"], clone, venue)
    check(st == 409 and err_is(ans, "device already enrolled with another key", "conflict"),
          "cloned key refused: %r %r" % (st, ans))
    # Another device of the institution gets the same key; another institution another one.
    b = Device(d, "kiosk-b", "INST-A")
    st, ans = enrol(port, ctx, tokens["enroll"], b, venue)
    check(st == 201 and ans.get("institution_key") == key_a, "same institution, same key")
    b.token = ans.get("device_token")
    c = Device(d, "kiosk-c", "INST-C")
    st, ans = enrol(port, ctx, tokens["enroll-c"], c, venue)
    check(st == 201 and ans.get("institution_key") not in (None, key_a),
          "other institution, other key: %r" % (ans,))
    c.token = ans.get("device_token")
    # An enroll token is bound to one institution: INST-A's may not enrol a device of INST-C
    # (and so never hands out INST-C's key), nor create INST-Q; a token stored before the
    # binding (role "enroll" alone) enrols nothing and says how to make a new one.
    for dev, what in ((Device(d, "kiosk-c2", "INST-C"), "an existing institution"),
                      (Device(d, "kiosk-q", "INST-Q"), "a new institution")):
        st, ans = enrol(port, ctx, tokens["enroll"], dev, venue)
        check(st == 403 and err_is(ans, "this enroll token enrols devices of institution "
                                        "'INST-A', not '%s'" % dev.institution, "forbidden"),
              "enroll token of INST-A for %s refused: %r %r" % (what, st, ans))
        check("institution_key" not in ans, "no key handed out: %r" % (ans,))
    st, ans = enrol(port, ctx, tokens["legacy"], Device(d, "kiosk-l", "INST-A"), venue)
    check(st == 403 and "bound to no institution" in ans.get("error", "") and
          "--role enroll --institution INST-A" in ans.get("error", ""),
          "legacy enroll token refused with how to re-create: %r %r" % (st, ans))
    check(q(dbpath, "SELECT count(*) FROM devices WHERE id IN ('kiosk-c2', 'kiosk-q', "
            "'kiosk-l')") == [(0,)] and
          q(dbpath, "SELECT count(*) FROM institutions WHERE id = 'INST-Q'") == [(0,)],
          "refused enrolments left nothing")
    # A different geometry under a known fence id is refused, and nothing is enrolled.
    x = Device(d, "kiosk-x", "INST-X")
    st, ans = enrol(port, ctx, tokens["enroll-x"], x, circle("test-venue", CENTRE[1], CENTRE[0], 150))
    check(st == 409 and "another geometry" in ans.get("error", ""), "fence conflict: %r" % (ans,))
    check(q(dbpath, "SELECT count(*) FROM devices WHERE id = 'kiosk-x'") == [(0,)] and
          q(dbpath, "SELECT count(*) FROM institutions WHERE id = 'INST-X'") == [(0,)],
          "refused enrolment left nothing")
    # The same geometry spelled differently (a collection, a name, other whitespace) is fine.
    coll = {"type": "FeatureCollection", "features": [
        circle("other", 117.0, 39.0, 50),
        {"type": "Feature", "properties": {"name": "renamed", "id": "test-venue",
                                           "radius_m": 100.0},
         "geometry": {"coordinates": [CENTRE[1], CENTRE[0]], "type": "Point"}}]}
    y = Device(d, "kiosk-y", "INST-A")
    st, ans = enrol(port, ctx, tokens["enroll"], y, coll)
    check(st == 201, "same geometry in another spelling accepted: %r %r" % (st, ans))
    check(q(dbpath, "SELECT count(*) FROM fences WHERE id = 'test-venue'") == [(1,)],
          "one fence version kept")
    # Bad requests.
    hdr = {"Authorization": "Bearer " + tokens["enroll"]}
    for body, what in [(b"{", "not valid JSON"), (b"[]", "the body must be a JSON object"),
                       (json.dumps({"device": "k"}).encode(), "missing"),
                       (y.enrol_body(venue).replace("kiosk-y", "bad id!").encode(), "device"),
                       (y.enrol_body(venue).replace("BEGIN PUBLIC KEY", "BEGIN PUBLIK KEY")
                        .encode(), "public_key"),
                       (json.dumps(dict(json.loads(y.enrol_body(venue)), extra=1)).encode(),
                        "unknown member"),
                       (json.dumps(dict(json.loads(y.enrol_body(venue)), assumed_eph_m=-1))
                        .encode(), "assumed_eph_m"),
                       (json.dumps(dict(json.loads(y.enrol_body(venue)), fence_id="nope"))
                        .encode(), "no fence with id")]:
        st, ans = request(port, ctx, "POST", "/v1/devices", body, hdr)
        check(st == 400 and what in ans.get("error", ""), "enrol refused (%s): %r %r"
              % (what, st, ans))
    st, _ = request(port, ctx, "POST", "/v1/devices", a.enrol_body(venue),
                    {"Authorization": "Bearer " + a.token})
    check(st == 403, "a device token may not enrol: %r" % st)
    st, _ = request(port, ctx, "POST", "/v1/devices", a.enrol_body(venue))
    check(st == 401, "enrol without a token: %r" % st)
    return a, b, c


def test_batches(port, ctx, tokens, d, dbpath, a, b):
    # seq 1..3: accepted.
    l1 = [a.heartbeat(5), a.signin(CENTRE[0], CENTRE[1], "inside", -100.0), a.clock_event(-42)]
    st, ans = post_batch(port, ctx, a.token, l1, a.sign(l1))
    check(st == 200 and ans == {"accepted": 3, "duplicates": 0, "ack_seq": 3},
          "first batch: %r %r" % (st, ans))
    check(chain_ok(dbpath, "kiosk-a", a.lines), "rows after the first batch")
    check(batch_sigs(dbpath, a, d) == [(1, 3)], "first batch's signature kept")
    # The same batch again: duplicates, head unchanged.
    st, ans = post_batch(port, ctx, a.token, l1, a.sign(l1))
    check(st == 200 and ans == {"accepted": 0, "duplicates": 3, "ack_seq": 3},
          "same batch twice: %r %r" % (st, ans))
    # Overlap: 2..5, gzip-encoded.
    l2 = l1[1:] + [a.heartbeat(3), a.heartbeat(2)]
    st, ans = post_batch(port, ctx, a.token, l2, a.sign(l2), gz=True)
    check(st == 200 and ans == {"accepted": 2, "duplicates": 2, "ack_seq": 5},
          "overlapping gzip batch: %r %r" % (st, ans))
    check(chain_ok(dbpath, "kiosk-a", a.lines), "rows after the overlap")
    # The duplicate batch added no signature; the overlap's is kept with its full range.
    check(batch_sigs(dbpath, a, d) == [(1, 3), (2, 5)], "overlap's signature kept whole")

    # A gap: 7..8 while 6 is missing.
    pending = [a.heartbeat(1)]
    gap = [a.heartbeat(1), a.heartbeat(1)]
    st, ans = post_batch(port, ctx, a.token, gap, a.sign(gap))
    check(st == 409 and err_is(ans, "gap: expected seq 6", "chain_gap", expected_seq=6),
          "gap: %r %r" % (st, ans))
    check(len(stored(dbpath, "kiosk-a")) == 5, "gap stored nothing")
    good = pending + gap  # 6..8, what the kiosk really recorded

    # A tampered line: seq 7 altered after 8 was chained to it.
    bad = [good[0], good[1].replace(b'"queue":1', b'"queue":9'), good[2]]
    st, ans = post_batch(port, ctx, a.token, bad, a.sign(bad))
    check(st == 400 and "prev" in ans.get("error", ""), "tampered line: %r %r" % (st, ans))
    check(len(stored(dbpath, "kiosk-a")) == 5, "tampered batch stored nothing")
    check(len(findings(dbpath, "kiosk-a", "chain_break")) == 1, "chain_break finding recorded")
    # Other bytes at a stored seq, re-chained and properly signed: a conflict.
    forged = [l2[-1].replace(b'"queue":2', b'"queue":7')]
    st, ans = post_batch(port, ctx, a.token, forged, a.sign(forged))
    check(st == 400 and err_is(ans, "conflict at seq 5: different bytes than stored", "chain_conflict"),
          "conflict at a stored seq: %r %r" % (st, ans))
    check(findings(dbpath, "kiosk-a", "chain_conflict") ==
          [(5, "conflict at seq 5: different bytes than stored")], "chain_conflict finding")
    # its template (docs/API.md "Languages"), whose English is that reason; the break found
    # inside the batch (the parser's own reason) has none
    check(q(dbpath, "SELECT detail_code, detail_args FROM findings WHERE device = ? AND "
            "kind = ?", "kiosk-a", "chain_conflict") == [("batch_conflict", '{"seq":"5"}')]
          and q(dbpath, "SELECT detail_code FROM findings WHERE device = ? AND kind = ?",
                "kiosk-a", "chain_break") == [(None,)], "the refusals' templates")
    # A forged signature (another key).
    other = Device(d, "forger", "INST-A")
    st, ans = post_batch(port, ctx, a.token, good, other.sign(good))
    check(st == 400 and err_is(ans, "bad signature", "bad_signature"), "forged signature: %r %r" % (st, ans))
    check(len(findings(dbpath, "kiosk-a", "bad_signature")) == 1, "bad_signature finding")
    # Garbage instead of a signature, and none at all.
    st, ans = post_batch(port, ctx, a.token, good, "bm90IGEgc2lnbmF0dXJl")
    check(st == 400 and err_is(ans, "bad signature", "bad_signature"), "garbage signature: %r" % (ans,))
    st, ans = post_batch(port, ctx, a.token, good, "")
    check(st == 400, "no signature: %r %r" % (st, ans))
    # A device token for another device's events (b's token, a's properly signed events).
    st, ans = post_batch(port, ctx, b.token, good, a.sign(good))
    check(st == 403 and "kiosk-a" in ans.get("error", ""), "foreign events: %r %r" % (st, ans))
    check(len(findings(dbpath, "kiosk-b", "foreign_events")) == 1, "foreign_events finding")
    check(stored(dbpath, "kiosk-b") == [], "nothing stored for b")
    # A non-canonical line (a space after a colon) is refused, never repaired.
    nc = [good[0].replace(b'"queue":1', b'"queue": 1')]
    st, ans = post_batch(port, ctx, a.token, nc, a.sign(nc))
    check(st == 400 and ans.get("error", "").startswith("line 1: "),
          "non-canonical line: %r %r" % (st, ans))
    check(len(findings(dbpath, "kiosk-a", "bad_event")) == 1, "bad_event finding")
    # Framing: no final newline, CRLF, wrong content type.
    st, ans = request(port, ctx, "POST", "/v1/batches", ndjson(good)[:-1],
                      {"Authorization": "Bearer " + a.token,
                       "Content-Type": "application/x-ndjson", "Rollcall-Signature": a.sign(good)})
    check(st == 400 and "newline" in ans.get("error", ""), "no final newline: %r" % (ans,))
    st, ans = post_batch(port, ctx, a.token, good, a.sign(good),
                         extra={"Content-Type": "application/json"})
    check(st == 415, "wrong content type: %r %r" % (st, ans))
    check(len(stored(dbpath, "kiosk-a")) == 5, "no refused batch stored anything")

    # Oversized: a body over --max-body, and a batch over the line cap.
    big = ndjson(good) * (MAX_BODY // len(ndjson(good)) + 1)
    st, ans = post_raw(port, ctx, "/v1/batches", {
        "Authorization": "Bearer " + a.token, "Content-Type": "application/x-ndjson",
        "Rollcall-Signature": "x"}, big)
    check(st == 413, "oversized body: %r %r" % (st, ans))
    many = ndjson([good[0]] * 1001)
    st, ans = request(port, ctx, "POST", "/v1/batches", many,
                      {"Authorization": "Bearer " + a.token,
                       "Content-Type": "application/x-ndjson", "Rollcall-Signature": "x"})
    check(st == 413 and "1000 lines" in ans.get("error", ""), "line cap: %r %r" % (st, ans))

    # The real 6..8 now go through, and the chain verifies.
    st, ans = post_batch(port, ctx, a.token, good, a.sign(good))
    check(st == 200 and ans == {"accepted": 3, "duplicates": 0, "ack_seq": 8},
          "resumed batch: %r %r" % (st, ans))

    # Verdicts are re-judged: a fix ~1.1 km north claimed "inside" is stored outside.
    lie = [a.signin(CENTRE[0] + 0.01, CENTRE[1], "inside", -50.0)]
    st, ans = post_batch(port, ctx, a.token, lie, a.sign(lie))
    check(st == 200 and ans.get("ack_seq") == 9, "re-judged batch accepted: %r" % (ans,))
    row = q(dbpath, "SELECT verdict, server_verdict, server_distance_m, fix_lat, fix_eph "
            "FROM events WHERE device = 'kiosk-a' AND seq = 9")
    # Geodesic distance from the centre to 0.01 deg north at 39.1 N is ~1110.9 m (WGS-84
    # meridian arc); minus the 100 m radius.
    check(row and row[0][0] == "inside" and row[0][1] == "outside" and
          abs(row[0][2] - (1110.9 - 100)) < 2.0 and row[0][3] == 39.11 and row[0][4] == 3.5,
          "server verdict stored: %r" % (row,))
    check(len(findings(dbpath, "kiosk-a", "verdict_mismatch")) == 1, "verdict mismatch finding")
    row = q(dbpath, "SELECT server_verdict, server_distance_m FROM events "
            "WHERE device = 'kiosk-a' AND seq = 2")
    check(row and row[0][0] == "inside" and abs(row[0][1] + 100.0) < 0.01,
          "centre judged inside at -100 m: %r" % (row,))
    check(chain_ok(dbpath, "kiosk-a", a.lines), "rows after the batches")
    # Refused batches kept no signature.
    sigs = batch_sigs(dbpath, a, d)
    check(sigs == [(1, 3), (2, 5), (6, 8), (9, 9)], "kiosk-a's batch signatures: %r" % (sigs,))
    check(batch_sigs(dbpath, b, d) == [], "no signature for b")


def test_devices_list(port, ctx, tokens):
    st, ans = request(port, ctx, "GET", "/v1/devices", headers={
        "Authorization": "Bearer " + tokens["admin"]})
    ids = [x["id"] for x in ans.get("devices", [])] if st == 200 else []
    check(ids == ["kiosk-a", "kiosk-b", "kiosk-c", "kiosk-y"], "admin sees all: %r" % (ids,))
    a = next((x for x in ans.get("devices", []) if x["id"] == "kiosk-a"), {})
    check(a.get("head_seq") == 9 and a.get("queue") == 1 and a.get("clock_skew_ms") == -42 and
          a.get("gnss", {}).get("fix_mode") == 3 and a.get("last_seen") and
          a.get("profile") == "x86-kiosk-ublox", "kiosk-a status: %r" % (a,))
    st, ans = request(port, ctx, "GET", "/v1/devices", headers={
        "Authorization": "Bearer " + tokens["inst-c"]})
    ids = [x["id"] for x in ans.get("devices", [])] if st == 200 else []
    check(ids == ["kiosk-c"], "institution sees its own: %r %r" % (st, ids))
    st, _ = request(port, ctx, "GET", "/v1/devices", headers={
        "Authorization": "Bearer " + tokens["enroll"]})
    check(st == 403, "enroll token may not list devices: %r" % st)


def test_restarts(srv, dbpath, d, ctx, a, db):
    # A clean restart between batches.
    check(srv.stop() == 0, "server stops on SIGTERM")
    srv = Server(db, d, "--max-body", str(MAX_BODY))
    l = [a.heartbeat(0)]
    st, ans = post_batch(srv.port, ctx, a.token, l, a.sign(l))
    check(st == 200 and ans == {"accepted": 1, "duplicates": 0, "ack_seq": 10},
          "after restart: %r %r" % (st, ans))
    # A crash (SIGKILL) while a sync is in flight: whatever the timing, resending gives each
    # event exactly once.
    batch = [a.heartbeat(i) for i in range(300)]
    sig = a.sign(batch)
    result = {}

    def send():
        try:
            result["r"] = post_batch(srv.port, ctx, a.token, batch, sig)
        except Exception as e:  # the connection dies with the server
            result["e"] = e
    t = threading.Thread(target=send)
    t.start()
    time.sleep(0.02)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(30)
    t.join(30)
    srv = Server(db, d, "--max-body", str(MAX_BODY))
    st, ans = post_batch(srv.port, ctx, a.token, batch, sig)
    check(st == 200 and ans.get("ack_seq") == 310 and
          ans.get("accepted", 0) + ans.get("duplicates", 0) == 300 and
          (ans.get("accepted") == 300 or ans.get("duplicates") == 300),
          "resend after a crash: %r %r (first try: %r)" % (st, ans, result))
    check(chain_ok(dbpath, "kiosk-a", a.lines), "exactly once after a crash")
    return srv


def write_export(path, dev, batches):
    with open(path, "wb") as f:
        f.write(json.dumps({"rollcall_export": 1, "device": dev.id,
                            "created": "2026-11-20T08:00:00.000Z"}).encode() + b"\n")
        for lines in batches:
            hdr = {"batch": {"first_seq": int(re.search(rb'"seq":(\d+)', lines[0]).group(1)),
                             "count": len(lines), "signature": dev.sign(lines)}}
            f.write(json.dumps(hdr).encode() + b"\n" + ndjson(lines))


def test_import(srv, ctx, d, dbpath, db, c):
    # kiosk-c never meets the network: its batches come on a USB stick.
    b1 = [c.heartbeat(2), c.signin(CENTRE[0], CENTRE[1] + 0.02, "outside", 1600.0)]
    b2 = [c.heartbeat(1), c.heartbeat(0)]
    path = os.path.join(d, "c.export")
    write_export(path, c, [b1, b2])
    r = run("import", "batches", path, "--json", db=db)
    out = [json.loads(x) for x in r.stdout.splitlines()]
    check(r.returncode == 0 and [(o["accepted"], o["duplicates"], o["ack_seq"]) for o in out]
          == [(2, 0, 2), (2, 0, 4)], "import: %r" % (r,))
    check(chain_ok(dbpath, "kiosk-c", c.lines), "imported rows")
    check(batch_sigs(dbpath, c, d) == [(1, 2), (3, 4)], "imported batches' signatures kept")
    r = run("import", "batches", path, db=db)
    check(r.returncode == 0 and r.stdout.count("accepted 0, duplicates 2") == 2,
          "re-import gives duplicates: %r" % (r,))
    # The same batch uploaded afterwards is a duplicate too (same checks, same store).
    st, ans = post_batch(srv.port, ctx, c.token, b2, c.sign(b2))
    check(st == 200 and ans == {"accepted": 0, "duplicates": 2, "ack_seq": 4},
          "upload after import: %r" % (ans,))
    # A tampered batch stops the import; the batch before it stays.
    b3 = [c.heartbeat(0)]
    b4 = [c.heartbeat(0), c.heartbeat(0)]
    path2 = os.path.join(d, "c2.export")
    write_export(path2, c, [b3, b4])
    data = open(path2, "rb").read().replace(b'"queue":0}\n{"batch"', b'"queue":5}\n{"batch"')
    open(path2, "wb").write(data)
    r = run("import", "batches", path2, db=db)
    check(r.returncode == 1 and "bad signature" in r.stderr and "batch 1" in r.stderr,
          "tampered import refused: %r" % (r,))
    write_export(path2, c, [b3, b4])
    r = run("import", "batches", path2, db=db)
    check(r.returncode == 0, "good import after a refused one: %r" % (r,))
    check(chain_ok(dbpath, "kiosk-c", c.lines), "import exactly once")
    # Re-import and upload of duplicates added none; the tampered batch none either.
    sigs = batch_sigs(dbpath, c, d)
    check(sigs == [(1, 2), (3, 4), (5, 5), (6, 7)], "kiosk-c's batch signatures: %r" % (sigs,))
    # Not an export file, a truncated one, a gap.
    open(path2, "w").write('{"hello":1}\n')
    r = run("import", "batches", path2, db=db)
    check(r.returncode == 1 and "not a Rollcall export" in r.stderr, "bad header: %r" % (r,))
    skipped = c.heartbeat(0)  # seq 8: recorded, never delivered
    late = [c.heartbeat(0)]  # seq 9
    write_export(path2, c, [late])
    r = run("import", "batches", path2, db=db)
    check(r.returncode == 1 and "gap: expected seq 8" in r.stderr, "import gap: %r" % (r,))
    c.lines.remove(skipped)
    c.lines.remove(late[0])
    check(chain_ok(dbpath, "kiosk-c", c.lines), "nothing stored by the refused import")
    check(len(batch_sigs(dbpath, c, d)) == 4, "no signature kept by the refused import")
    r = run("import", "widgets", path2, db=db)
    check(r.returncode == 2, "unknown import kind: %r" % (r,))


def test_import_fences(srv, ctx, d, dbpath, db, tokens):
    path = os.path.join(d, "venues.geojson")
    with open(path, "w") as f:
        json.dump({"type": "FeatureCollection", "features": [
            circle("test-venue", CENTRE[1], CENTRE[0], 150),
            circle("new-venue", 117.3, 39.2, 80)]}, f)
    r = run("import", "fences", path, "--json", db=db)
    out = [json.loads(x) for x in r.stdout.splitlines()]
    check(r.returncode == 0 and [(o["fence"], o["version"], o["outcome"]) for o in out] ==
          [("test-venue", 2, "replaced"), ("new-venue", 1, "new")], "import fences: %r" % (r,))
    rows = q(dbpath, "SELECT version, superseded_at IS NULL FROM fences WHERE id = 'test-venue' "
             "ORDER BY version")
    check(rows == [(1, 0), (2, 1)], "fence history kept: %r" % rows)
    r = run("import", "fences", path, db=db)
    check(r.returncode == 0 and "fence test-venue: unchanged (version 2)" in r.stdout,
          "re-import unchanged: %r" % (r,))
    # Enrolment now agrees with version 2 and refuses version 1's geometry.
    z = Device(d, "kiosk-z", "INST-A")
    st, ans = enrol(srv.port, ctx, tokens["enroll"], z, circle("test-venue", CENTRE[1],
                                                                   CENTRE[0], 100))
    check(st == 409, "old geometry refused after replacement: %r %r" % (st, ans))
    st, ans = enrol(srv.port, ctx, tokens["enroll"], z, circle("test-venue", CENTRE[1],
                                                                   CENTRE[0], 150))
    check(st == 201, "current geometry accepted: %r %r" % (st, ans))
    # New sign-ins are judged with version 2 (150 m): 120 m north is now inside.
    z.token = ans.get("device_token")
    l = [z.signin(CENTRE[0] + 0.00108, CENTRE[1], "outside", 20.0, eph=1.0)]
    st, ans = post_batch(srv.port, ctx, z.token, l, z.sign(l))
    row = q(dbpath, "SELECT server_verdict, server_fence_version FROM events "
            "WHERE device = 'kiosk-z'")
    check(st == 200 and row == [("inside", 2)], "judged with the replacement: %r %r" % (ans, row))
    bad = os.path.join(d, "bad.geojson")
    open(bad, "w").write('{"type":"Feature","properties":{"id":"x"},"geometry":{"type":"Point",'
                         '"coordinates":[117,39]}}')
    r = run("import", "fences", bad, db=db)
    check(r.returncode == 1 and r.stderr.count("\n") == 1, "bad fence file refused: %r" % (r,))
    return z


def main():
    for backend in pglib.backends():
        print("== back-end: %s" % backend, flush=True)
        code = main_on(backend)
        if code:
            return code
    return 0


def main_on(backend):
    with tempfile.TemporaryDirectory(prefix="rc-ingest-") as d:
        make_pki(d)
        db = pglib.new_db(backend, d, "rc_ingest")
        # The tests read the database back themselves: a file path or a PostgreSQL URL.
        dbpath = db.split(":", 1)[1] if backend == "sqlite" else db
        r = run("migrate", db=db)
        if r.returncode != 0:
            print("migrate failed:", r.stderr)
            return 1
        # token create: an enroll token needs its institution; --institution goes with
        # enroll only.
        r = run("token", "create", "--role", "enroll", "--name", "unbound", db=db)
        check(r.returncode == 2 and r.stdout == "" and "--institution" in r.stderr and
              r.stderr.count("\n") == 1, "enroll token without institution refused: %r" % (r,))
        r = run("token", "create", "--role", "admin", "--institution", "INST-A", "--name", "x",
                db=db)
        check(r.returncode == 2 and "enroll only" in r.stderr, "--institution with admin: %r" % (r,))
        r = run("token", "create", "--role", "enroll", "--institution", "bad id!", "--name", "x",
                db=db)
        check(r.returncode == 2 and "--institution must be" in r.stderr, "bad institution: %r" % (r,))
        r = run("token", "create", "--role", "enroll", "--institution", "INST-A", "--name",
                "enroller", db=db)
        check(r.returncode == 0 and q(dbpath, "SELECT role FROM tokens WHERE name = 'enroller'") ==
              [("enroll:INST-A",)], "enroll token bound to INST-A: %r" % (r,))
        enroller = r.stdout.strip()
        r2 = run("token", "create", "--role", "enroll", "--institution", "INST-A", "--name",
                 "legacy", db=db)
        check(r2.returncode == 0, "second enroll token: %r" % (r2,))
        # As an older version stored it: role "enroll" with no institution.
        q(dbpath, "UPDATE tokens SET role = 'enroll' WHERE name = 'legacy'")
        r = run("token", "create", "--help")
        check(r.returncode == 0 and "--institution ID" in r.stdout, "token --help: %r" % (r,))
        tokens = {"enroll": enroller,
                  "legacy": r2.stdout.strip(),
                  "enroll-c": token(db, "enroll:INST-C", "enroller-c"),
                  "enroll-x": token(db, "enroll:INST-X", "enroller-x"),
                  "admin": token(db, "admin", "admin"),
                  "inst-c": token(db, "institution:INST-C", "inst-c"),
                  "ghost": token(db, "device:ghost", "ghost")}
        ctx = tls_context(d)
        srv = Server(db, d, "--max-body", str(MAX_BODY))
        try:
            venue = circle("test-venue", CENTRE[1], CENTRE[0], 100)
            a, b, c = test_enrolment(srv.port, ctx, tokens, d, dbpath, venue)
            ghost = Device(d, "ghost", "INST-G")
            gl = [ghost.heartbeat(0)]
            st, ans = post_batch(srv.port, ctx, tokens["ghost"], gl, ghost.sign(gl))
            check(st == 403 and "not enrolled" in ans.get("error", ""),
                  "unenrolled device: %r %r" % (st, ans))
            test_batches(srv.port, ctx, tokens, d, dbpath, a, b)
            test_devices_list(srv.port, ctx, tokens)
            srv = test_restarts(srv, dbpath, d, ctx, a, db)
            test_import(srv, ctx, d, dbpath, db, c)
            z = test_import_fences(srv, ctx, d, dbpath, db, tokens)
            # Every event each kiosk recorded and delivered is stored once; chains verify.
            for dev in (a, b, c, z):
                check(chain_ok(dbpath, dev.id, dev.lines), "final chain of %s" % dev.id)
            check(q(dbpath, "SELECT count(*) FROM (SELECT device, seq FROM events "
                    "GROUP BY device, seq HAVING count(*) > 1) AS d") == [(0,)], "no duplicates")
        finally:
            code = srv.stop()
            if failures:
                print(srv.log()[-4000:])
        check(code == 0, "server exit status %r" % code)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
