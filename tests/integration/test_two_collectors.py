#!/usr/bin/env python3
# labels: pg
"""Two `rollcall-server serve` processes on one PostgreSQL database, one kiosk whose batches
go to either (a load balancer that does not stick): batches alternate between them, the same
batch is sent to both at once, gaps are refused by both, and collectors are SIGKILLed at
random points mid-request and restarted, the kiosk re-sending what was not acknowledged as an
agent does. At the end every event is stored exactly once with its exact bytes, the chain
head is the kiosk's, and both collectors answer the same for the device list, the findings and
the class's figures (one of them having cached them midway); a token revoked through one
collector is refused by both at once.
The database is read back with psql."""

import hashlib
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingestlib import (Device, Server, circle, make_pki, post_batch, request,  # noqa: E402
                       run, tls_context, token)
import pglib  # noqa: E402
import test_figures as tf  # noqa: E402

CENTRE = (39.1, 117.2)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


CLASS = "TJ-2026-AI-0001"  # the class Device.signin names


def attendance(srv, ctx, tok):
    st, ans = request(srv.port, ctx, "GET", "/v1/classes/%s/attendance" % CLASS, None,
                      {"Authorization": "Bearer " + tok})
    check(st == 200, "attendance: %r %r" % (st, ans))
    return json.dumps(ans, sort_keys=True)


def seq_of(line):
    return int(line.split(b'"seq":')[1].split(b",")[0])


def batch(dev, n):
    out = []
    for i in range(n):
        if i % 2:
            out.append(dev.heartbeat(i))
        else:
            out.append(dev.signin(CENTRE[0], CENTRE[1], "inside", 3.0))
    return out


def main():
    db = pglib.fresh_db("rc_two_collectors")
    rnd = random.Random(12)  # a fixed seed: the same kill points every run
    with tempfile.TemporaryDirectory(prefix="rc-two-") as d:
        make_pki(d)
        r = run("migrate", db=db)
        check(r.returncode == 0, "migrate: %r" % (r,))
        enroller = token(db, "enroll:INST-A", "enroller")
        admin = token(db, "admin", "admin")
        inst = token(db, "institution:INST-A", "inst-a")
        ctx = tls_context(d)
        srv = [Server(db, d), Server(db, d)]
        try:
            k = Device(d, "kiosk-1", "INST-A")
            venue = circle("test-venue", CENTRE[1], CENTRE[0], 100)
            st, ans = request(srv[0].port, ctx, "POST", "/v1/devices", k.enrol_body(venue),
                              {"Authorization": "Bearer " + enroller,
                               "Content-Type": "application/json"})
            check(st == 201, "enrol on collector 0: %r %r" % (st, ans))
            k.token = ans["device_token"]

            # The class the kiosk's sign-ins name, stored through collector 1, with a session
            # around the kiosk's clock.
            plan = tf.plan(class_id=CLASS, fence="test-venue")
            start = 1795000000000 - 3600000
            for i, sess in enumerate(plan["sessions"]):
                sess["start"] = tf.iso(start + i * tf.DAY)
                sess["end"] = tf.iso(start + i * tf.DAY + 3 * tf.H)
            st, ans = request(srv[1].port, ctx, "PUT", "/v1/classes/" + CLASS,
                              json.dumps(plan).encode(),
                              {"Authorization": "Bearer " + inst,
                               "Content-Type": "application/json"})
            check(st == 201, "class stored through collector 1: %r %r" % (st, ans))

            # 1. batches alternate between the collectors
            for i in range(10):
                lines = batch(k, 3)
                st, ans = post_batch(srv[i % 2].port, ctx, k.token, lines, k.sign(lines))
                check(st == 200 and ans == {"accepted": 3, "duplicates": 0, "ack_seq": k.seq},
                      "alternating batch %d: %r %r" % (i, st, ans))

            # Figures computed (and cached) by collector 0 now; later events arrive through
            # both, so its cache must not outlive them.
            midway = attendance(srv[0], ctx, admin)

            # 2. the same batch to both at once: one stores it, the other sees duplicates
            for i in range(10):
                lines = batch(k, 4)
                sig = k.sign(lines)
                got = [None, None]

                def send(j):
                    got[j] = post_batch(srv[j].port, ctx, k.token, lines, sig)
                ts = [threading.Thread(target=send, args=(j,)) for j in (0, 1)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                ok = all(g and g[0] == 200 and g[1]["ack_seq"] == k.seq for g in got)
                acc = sorted(g[1].get("accepted") for g in got) if ok else None
                check(ok and acc == [0, 4] and
                      sorted(g[1].get("duplicates") for g in got) == [0, 4],
                      "concurrent duplicate %d: %r" % (i, got))

            # 3. a gap is refused by either collector, and nothing of it is stored
            lines = batch(k, 3)
            for j in (0, 1):
                st, ans = post_batch(srv[j].port, ctx, k.token, lines[1:], k.sign(lines[1:]))
                check(st == 409 and ans.get("expected_seq") == k.seq - 2,
                      "gap refused by collector %d: %r %r" % (j, st, ans))
            st, ans = post_batch(srv[1].port, ctx, k.token, lines, k.sign(lines))
            check(st == 200 and ans.get("ack_seq") == k.seq, "gap filled: %r %r" % (st, ans))

            # 4. SIGKILL at random points in the middle of uploads; the kiosk re-sends what
            #    was not acknowledged, to whichever collector is up
            acked = k.seq
            pending = []  # lines sent but not acknowledged, in seq order
            lock = threading.Lock()
            kills_mid_request = 0
            for round_ in range(8):
                victim = round_ % 2
                stop = threading.Event()
                state = {"in_flight": False, "died_in_flight": False}

                def stream():
                    # Batch after batch to the victim, each waiting for its answer, as the
                    # agent does, until the victim dies under it.
                    nonlocal acked, pending
                    while not stop.is_set():
                        with lock:
                            pending += batch(k, 5)
                            lines = list(pending)
                        sig = k.sign(lines)
                        state["in_flight"] = True
                        try:
                            st, ans = post_batch(srv[victim].port, ctx, k.token, lines, sig)
                        except Exception:  # the connection died with the collector
                            state["died_in_flight"] = True
                            return
                        finally:
                            state["in_flight"] = False
                        if st != 200:
                            return
                        with lock:
                            acked = ans["ack_seq"]
                            pending = [ln for ln in pending if seq_of(ln) > acked]
                t = threading.Thread(target=stream)
                t.start()
                time.sleep(rnd.uniform(0.02, 0.3))
                srv[victim].proc.send_signal(signal.SIGKILL)
                srv[victim].proc.wait(30)
                stop.set()
                t.join(60)
                kills_mid_request += state["died_in_flight"]
                other = srv[1 - victim]
                with lock:
                    lines = list(pending)
                if lines:
                    st, ans = post_batch(other.port, ctx, k.token, lines, k.sign(lines))
                    check(st == 200 and ans.get("ack_seq") == k.seq and
                          ans.get("accepted") + ans.get("duplicates") == len(lines),
                          "re-send after kill %d: %r %r" % (round_, st, ans))
                    if st == 200:
                        acked = ans["ack_seq"]
                        pending = []
                srv[victim] = Server(db, d)
            print("collectors killed with a request in flight: %d of 8" % kills_mid_request)
            check(acked == k.seq and not pending, "everything acknowledged")

            # 5. both collectors tell the same story
            answers = []
            for s in srv:
                st1, devs = request(s.port, ctx, "GET", "/v1/devices", None,
                                    {"Authorization": "Bearer " + admin})
                st2, finds = request(s.port, ctx, "GET", "/v1/findings", None,
                                     {"Authorization": "Bearer " + admin})
                check(st1 == 200 and st2 == 200, "lists: %r %r" % (st1, st2))
                answers.append((devs, finds))
            check(answers[0] == answers[1], "both collectors answer alike: %r" % (answers,))
            final = [attendance(s, ctx, admin) for s in srv]
            check(final[0] == final[1], "the class's figures are the same from either collector")
            check(final[0] != midway, "the figures moved on since the first collector cached them")

            # 6. a token revoked through one collector is refused by the other from its next
            # request on: no collector keeps tokens in memory.
            auth = lambda t: {"Authorization": "Bearer " + t}  # noqa: E731
            st, made = request(srv[0].port, ctx, "POST", "/v1/tokens",
                               json.dumps({"name": "reader", "role": "institution:INST-A"}).encode(),
                               dict(auth(admin), **{"Content-Type": "application/json"}))
            check(st == 201, "token made through collector 0: %r %r" % (st, made))
            reader = made.get("token", "") if st == 201 else ""
            st, _ = request(srv[1].port, ctx, "GET", "/v1/summary", None, auth(reader))
            check(st == 200, "collector 1 takes it: %r" % st)
            st, ans = request(srv[0].port, ctx, "POST", "/v1/tokens/reader/revoke", None,
                              auth(admin))
            check(st == 200 and ans.get("revoked_by") == "admin", "revoked: %r %r" % (st, ans))
            for i, s in enumerate(srv):
                st, _ = request(s.port, ctx, "GET", "/v1/summary", None, auth(reader))
                check(st == 401, "collector %d refuses the revoked token: %r" % (i, st))
        finally:
            for s in srv:
                if s.proc.poll() is None:
                    s.stop()
            if failures:
                print(srv[0].log()[-3000:])
                print(srv[1].log()[-3000:])

    # Exactly once, every byte, the head where the kiosk's chain ends.
    rows = pglib.psql(db, "SELECT seq, encode(sha256(raw), 'hex') FROM events "
                          "WHERE device = 'kiosk-1' ORDER BY seq")
    want = [(str(i + 1), hashlib.sha256(line).hexdigest()) for i, line in enumerate(k.lines)]
    check(rows == want, "events stored exactly once with their bytes (%d rows, %d lines)" %
          (len(rows), len(k.lines)))
    head = pglib.psql(db, "SELECT seq, hash FROM chain_heads WHERE device = 'kiosk-1'")
    check(head == [(str(k.seq), k.head)], "chain head %r, kiosk at %d" % (head, k.seq))
    dup = pglib.psql(db, "SELECT count(*) FROM findings WHERE kind IN ('chain_conflict', "
                         "'chain_break')")
    check(dup == [("0",)], "no conflict or break findings: %r" % (dup,))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
