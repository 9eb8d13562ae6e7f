#!/usr/bin/python3
# labels: collector
"""The pipe end to end over real HTTPS on loopback (a test CA made here with openssl):
enrolment, sign-ins, sync, and the rows read back from the collector's database; a refused
token raising a finding in `status`; export and `import batches`; a collector restored from
a backup (409 gap, resume from expected_seq); collector restarts (SIGKILL and SIGTERM) in the
middle of a sync; `sync` killed with SIGKILL at random moments over many rounds; syncing
through a fault-injecting TCP proxy (drops, delays, resets mid-request and mid-response,
truncation); several batches in flight (sync.inflight) seen at a counting proxy; the daemon's
periodic sync; the window, restarts and kills again against `serve --http-mode pool` (the
default is per-connection). After each: every event the agent recorded is stored
exactly once, byte for byte, and the chain verifies on both sides. Standard library only."""

import base64
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipe_harness as ph  # noqa: E402
import faultproxy  # noqa: E402  (tests/tools, put on the path by pipe_harness)

SEED = int(os.environ.get("ROLLCALL_TEST_SEED", "20261102"))
SYNC_TIMEOUT_S = 240

# libcurl honours proxy variables: the loopback collector must be reached directly.
for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(var, None)

failures = []


def scenario(fn):
    def run(*args):
        print("--", fn.__name__, flush=True)
        t = time.monotonic()
        try:
            fn(*args)
            print("   ok (%.1f s)" % (time.monotonic() - t), flush=True)
        except Exception:  # noqa: BLE001 - report every scenario, then fail
            failures.append(fn.__name__)
            traceback.print_exc()
    return run


def sync_ok(k, *extra):
    r = k.run("sync", "--json", "--timeout", str(SYNC_TIMEOUT_S), *extra,
              timeout=SYNC_TIMEOUT_S + 30)
    assert r.code == 0, r
    return r.json()


@scenario
def basic(w, col, pki):
    tok = col.token("enroll", "enroll-basic")
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-BASIC")
    # Not enrolled yet: sync refuses with the reason.
    r = k.run("sync", "--once")
    assert r.code == 1 and "not enrolled" in r.err, r
    # A wrong enrolment token is refused by the server; nothing is written.
    r = k.run("enroll", "--token", "rc_not-a-token")
    assert r.code == 1 and "401" in r.err, r
    assert "token_file" not in k.config_json() or not k.config_json()["token_file"]
    k.enroll(tok)
    cfg = k.config_json()
    for key in ("token_file", "institution_key_file"):
        assert cfg.get(key), cfg
        assert ph.ah.mode(cfg[key]) == 0o600, (key, oct(ph.ah.mode(cfg[key])))
    with open(cfg["institution_key_file"]) as f:
        local_key = f.read().strip()
    assert len(local_key) == 64, local_key
    # Enrolling again with the same key is idempotent (a new token that works).
    with open(cfg["token_file"]) as f:
        first_token = f.read()
    k.enroll(tok)
    with open(cfg["token_file"]) as f:
        assert f.read() != first_token
    with open(cfg["institution_key_file"]) as f:
        assert f.read().strip() == local_key
    k.signins(30)
    ans = sync_ok(k)
    assert ans["accepted"] == 30 and ans["duplicates"] == 0 and ans["pending"] == 0, ans
    assert ph.check_exactly_once(k, col) == 30
    # The server re-judged every sign-in from the raw fix: the surveyed point is inside.
    rows = col.rows(k.device_id)
    assert all(r[6] == "inside" for r in rows if r[5] in ("signin", "signout")), rows[:3]
    # Nothing pending: no upload, nothing changes.
    ans = sync_ok(k, "--once")
    assert ans["accepted"] == 0 and ans["pending"] == 0, ans
    st = json.loads(k.run("status", "--json").out)
    assert st["last_sync"] and st["sync_finding"] is None and st["queue"] == 0, st
    assert abs(st["server_clock_skew_ms"]) < 5000, st


@scenario
def refused_token_raises_finding(w, col, pki):
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-401")
    k.enroll(col.token("enroll", "enroll-401"))
    token_file = k.config_json()["token_file"]
    with open(token_file) as f:
        good = f.read()
    with open(token_file, "w") as f:
        f.write("rc_revoked-or-wrong\n")
    k.signins(4)
    r = k.run("sync", "--once", "--json")
    assert r.code == 1 and "401" in r.err, r
    assert r.json()["pending"] == 4, r
    st = json.loads(k.run("status", "--json").out)
    assert st["sync_finding"] and "401" in st["sync_finding"], st
    assert st["next_sync_retry"], st
    assert st["queue"] == 4 and st["chain"]["ack_seq"] == 0, st
    with open(token_file, "w") as f:
        f.write(good)
    ans = sync_ok(k)
    assert ans["accepted"] == 4, ans
    st = json.loads(k.run("status", "--json").out)
    assert st["sync_finding"] is None and st["last_sync_error"] is None, st
    ph.check_exactly_once(k, col)


@scenario
def export_and_import(w, col, pki):
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-USB", batch_max_events=10)
    k.enroll(col.token("enroll", "enroll-usb"))
    k.signins(25)
    out = os.path.join(k.dir, "usb", "export.ndjson")
    os.makedirs(os.path.dirname(out))
    r = k.run("export", "--out", out)
    assert r.code == 0, r
    assert ph.ah.mode(out) == 0o600
    with open(out, "rb") as f:
        lines = f.read().split(b"\n")
    assert lines[-1] == b""
    head = json.loads(lines[0])
    assert head["rollcall_export"] == 1 and head["device"] == "KIOSK-USB", head
    # Batches of at most 10, each header followed by exactly its lines, covering 1..25.
    i, seq, batches = 1, 1, []
    local = k.lines()
    while i < len(lines) - 1:
        b = json.loads(lines[i])["batch"]
        assert b["first_seq"] == seq and 1 <= b["count"] <= 10, b
        body = lines[i + 1:i + 1 + b["count"]]
        for j, line in enumerate(body):
            assert line == local[seq + j]
        batches.append((b, body))
        seq += b["count"]
        i += 1 + b["count"]
    assert seq == 26 and len(batches) == 3, (seq, len(batches))
    # Each signature verifies with OpenSSL over the last line's bytes (SECURITY.md).
    pub = os.path.join(k.dir, "device.pub")
    subprocess.run(["openssl", "pkey", "-in", os.path.join(k.data, "device.key"), "-pubout",
                    "-out", pub], check=True, capture_output=True)
    for b, body in batches:
        last, sig = os.path.join(k.dir, "last.bin"), os.path.join(k.dir, "sig.der")
        with open(last, "wb") as f:
            f.write(body[-1])
        with open(sig, "wb") as f:
            f.write(base64.b64decode(b["signature"]))
        v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig,
                            last], capture_output=True, text=True)
        assert v.returncode == 0 and "Verified OK" in v.stdout, v
    # Never overwrites.
    before = open(out, "rb").read()
    r = k.run("export", "--out", out)
    assert r.code == 1 and "overwrite" in r.err, r
    assert open(out, "rb").read() == before
    # Carried to the collector: imported, then the kiosk's own upload finds duplicates only.
    r = col.cmd("import", "batches", out, "--json")
    assert r.returncode == 0, r
    res = [json.loads(x) for x in r.stdout.splitlines()]
    assert sum(x["accepted"] for x in res) == 25 and res[-1]["ack_seq"] == 25, res
    r = col.cmd("import", "batches", out, "--json")
    assert r.returncode == 0 and sum(json.loads(x)["duplicates"] for x in r.stdout.splitlines()) == 25, r
    ans = sync_ok(k)
    # The three batches (1..10, 11..20, 21..25) go out at once and meet duplicates only: the
    # first answer's ack_seq (25) covers them all, and the window keeps the two behind it in
    # flight, their answers read (duplicates, nothing sent twice).
    assert ans["accepted"] == 0 and ans["duplicates"] == 25 and ans["ack_seq"] == 25, ans
    assert ans["pending"] == 0 and ans["batches"] == 3, ans
    ph.check_exactly_once(k, col)


@scenario
def collector_restored_from_backup(w, col, pki):
    """The collector loses its last batches (restored from a backup): it answers 409 with
    expected_seq and the kiosk sends again from there, although it had been acknowledged."""
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-GAP", batch_max_events=7)
    k.enroll(col.token("enroll", "enroll-gap"))
    k.signins(10)
    sync_ok(k)
    backup = col.db_path + ".bak"
    src = sqlite3.connect(col.db_path)
    dst = sqlite3.connect(backup)
    src.backup(dst)
    src.close()
    dst.close()
    k.signins(15)
    sync_ok(k)
    col.stop()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(col.db_path + suffix):
            os.unlink(col.db_path + suffix)
    shutil.copyfile(backup, col.db_path)
    os.chmod(col.db_path, 0o600)  # as docs/OPERATIONS.md restores it: serve refuses others' reads
    col.start()
    assert col.head(k.device_id) == 10
    k.signins(5)
    ans = sync_ok(k)
    # 20 new to the server again (11..25 resent), 5 new ones. The counts are the answers the
    # pass read (SYNC.md); with batches in flight some may go unread, so the collector's
    # rows are what is checked: 1..30, each once, byte for byte.
    assert ans["ack_seq"] == 30 and ans["pending"] == 0, ans
    assert 1 <= ans["accepted"] <= 20 and ans["accepted"] + ans["duplicates"] <= 20, ans
    assert ph.check_exactly_once(k, col) == 30


@scenario
def collector_restarts_mid_sync(w, col, pki):
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-RESTART", batch_max_events=5)
    k.enroll(col.token("enroll", "enroll-restart"))
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGKILL):
        k.signins(120)
        head = k.chain()[0]
        start_head = col.head(k.device_id)
        p = subprocess.Popen([ph.AGENT, "--config", k.config, "sync", "--json", "--timeout",
                              str(SYNC_TIMEOUT_S)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        # Kill the collector once the upload is under way (some batches stored, not all).
        deadline = time.monotonic() + 60
        while col.head(k.device_id) <= start_head and time.monotonic() < deadline:
            time.sleep(0.01)
        col.stop(sig)
        time.sleep(0.5)
        col.start()
        out, err = p.communicate(timeout=SYNC_TIMEOUT_S + 30)
        assert p.returncode == 0, (out, err)
        assert json.loads(out)["pending"] == 0, out
        assert col.head(k.device_id) == head
        ph.check_exactly_once(k, col)


@scenario
def sync_killed_at_random_moments(w, col, pki):
    rng = random.Random(SEED)
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-KILL", batch_max_events=4)
    k.enroll(col.token("enroll", "enroll-kill"))
    rounds, killed = 30, 0
    for _ in range(rounds):
        k.signins(rng.randint(3, 12))
        p = subprocess.Popen([ph.AGENT, "--config", k.config, "sync", "--timeout", "60"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.15))
        if p.poll() is None:
            p.kill()
            killed += 1
        p.wait()
        # Whatever happened, the outbox and the server's chain stay consistent.
        v = k.verify()
        assert v.code == 0, v
        assert col.head(k.device_id) <= k.chain()[0]
    print("   %d of %d sync runs killed" % (killed, rounds), flush=True)
    assert killed > 0
    sync_ok(k)
    ph.check_exactly_once(k, col)


@scenario
def through_fault_proxy(w, col, pki):
    """Each fault in turn (three connections in four get it), then all of them mixed; rounds
    of sign-ins and a sync until the fault has hit at least twice."""
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-FAULT", batch_max_events=5, timeout_s=5)
    k.enroll(col.token("enroll", "enroll-fault"))
    mixes = [{f: 3, "pass": 1} for f in ("drop", "delay", "reset_req", "reset_resp", "truncate")]
    mixes.append({"pass": 2, "drop": 1, "delay": 1, "reset_req": 2, "reset_resp": 2,
                  "truncate": 2})
    for n, mix in enumerate(mixes):
        proxy = faultproxy.FaultProxy(("127.0.0.1", col.port), seed=SEED + n, mix=mix,
                                      max_up=8000, max_down=3000)
        port = proxy.start()
        k.set_server("https://127.0.0.1:%d" % port)
        try:
            for _ in range(10):
                k.signins(10)
                sync_ok(k)
                ph.check_exactly_once(k, col)
                s = proxy.summary()
                hits = sum(s["connections"][f] if f in ("drop", "delay") else s["faults_fired"][f]
                           for f in mix if f != "pass")
                if hits >= 2:
                    break
        finally:
            summary = proxy.stop()
        print("   %s: %s" % ("+".join(f for f in mix if f != "pass"), json.dumps(summary)),
              flush=True)
        assert hits >= 2, summary


@scenario
def several_batches_in_flight(w, col, pki):
    """sync.inflight: through a proxy that slows every chunk a little (so an answer takes a
    while) and counts the connections waiting for an answer at the same moment. With
    inflight 4 the agent has several requests out at once; with inflight 1 never more than
    one, give or take the closing of one connection overlapping the opening of the next (the
    schedule is fetched on a handle of its own after the batches): so at least 3 against at
    most 2. Either way every event is stored once.

    The answer's accepted and duplicates count only the answers the agent read. When a batch
    waits out the collector's reorder wait behind a slow one (as under TSan), its 409 makes the
    agent drop the transfers behind it; the collector may have stored those, and the resend
    then meets duplicates or was counted by no answer at all. So the counts are bounded here,
    and exactly-once is checked on the collector's rows."""
    for inflight, want in ((4, lambda n: n >= 3), (1, lambda n: n <= 2)):
        k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-WINDOW-%d" % inflight,
                         batch_max_events=3, inflight=inflight)
        k.enroll(col.token("enroll", "enroll-window-%d" % inflight))
        k.signins(60)  # 20 batches
        proxy = faultproxy.FaultProxy(("127.0.0.1", col.port), seed=SEED, mix={"slow": 1})
        port = proxy.start()
        k.set_server("https://127.0.0.1:%d" % port)
        try:
            res = sync_ok(k)
        finally:
            summary = proxy.stop()
        print("   inflight %d: %s, %s" % (inflight, json.dumps(res), json.dumps(summary)),
              flush=True)
        assert res["pending"] == 0 and res["ack_seq"] == 60, res
        assert 0 < res["accepted"] and res["accepted"] + res["duplicates"] <= 60, res
        assert want(summary["max_awaiting"]), summary
        assert col.head(k.device_id) == k.chain()[0]
        ph.check_exactly_once(k, col)


@scenario
def stale_409_sends_one_batch_again(w, col, pki):
    """The first of four connections is held 1.5 s by the proxy before it reaches the
    collector, so the batches behind its batch arrive first and are answered 409 (the
    collector does not wait for a batch it has not seen). Once the held batch is
    acknowledged those 409s are stale: the agent sends the next batch again alone at the head
    of the window (its debug log says so) and the batches already refused behind it again at
    once. Nothing is cancelled while the collector may still store it, so the counts are
    exact: every event accepted once, no duplicates."""
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-STALE", batch_max_events=3, inflight=4)
    k.enroll(col.token("enroll", "enroll-stale"))
    k.signins(30)  # 10 batches
    proxy = faultproxy.FaultProxy(("127.0.0.1", col.port), seed=SEED, mix={"pass": 1},
                                  hold_first_s=1.5)
    port = proxy.start()
    k.set_server("https://127.0.0.1:%d" % port)
    try:
        r = k.run("--log-level", "debug", "sync", "--json", "--timeout", str(SYNC_TIMEOUT_S),
                  timeout=SYNC_TIMEOUT_S + 30)
    finally:
        summary = proxy.stop()
    assert r.code == 0, r
    res = r.json()
    print("   held first connection: %s, %s" % (json.dumps(res), json.dumps(summary)), flush=True)
    assert summary["connections"].get("hold") == 1, summary
    assert "sent again after a stale 409" in r.err, r.err[-2000:]
    assert res["accepted"] == 30 and res["duplicates"] == 0, res
    assert res["ack_seq"] == 30 and res["pending"] == 0, res
    assert ph.check_exactly_once(k, col) == 30


@scenario
def daemon_syncs_periodically(w, col, pki):
    k = ph.PipeKiosk(w, col.url, pki["ca"], "KIOSK-DAEMON", interval_s=5)
    k.enroll(col.token("enroll", "enroll-daemon"))
    k.signins(5)
    k.start_daemon()
    try:
        k.signins(5)  # through the daemon's control socket
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = k.status()
            if st["queue"] == 0 and st["chain"]["head_seq"] >= 10:
                break
            time.sleep(0.5)
        assert st["queue"] == 0 and st["last_sync"], (st, k.daemon_log())
    finally:
        k.stop_daemon()
    ph.check_exactly_once(k, col)


def main():
    print("seed", SEED, flush=True)
    with tempfile.TemporaryDirectory(prefix="rc-pipe-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        col.start()
        try:
            for fn in (basic, refused_token_raises_finding, export_and_import,
                       collector_restored_from_backup, collector_restarts_mid_sync,
                       sync_killed_at_random_moments, through_fault_proxy,
                       several_batches_in_flight, stale_409_sends_one_batch_again,
                       daemon_syncs_periodically):
                fn(w, col, pki)
        finally:
            col.stop()
        if failures:
            print("collector log (tail):\n" + "".join(col.lines[-40:]))
        # The same window, restarts and kills against a collector whose few workers serve
        # every connection (serve --http-mode pool; the default is a thread per connection).
        print("-- collector with --http-mode pool", flush=True)
        tpc = ph.Collector(w, pki, name="collector-pool")
        tpc.extra_args = ["--http-mode", "pool"]
        tpc.start()
        before = len(failures)
        w2 = os.path.join(w, "tpc")  # the kiosks' directories again, apart
        os.makedirs(w2)
        try:
            for fn in (several_batches_in_flight, collector_restarts_mid_sync,
                       sync_killed_at_random_moments):
                fn(w2, tpc, pki)
        finally:
            tpc.stop()
        if len(failures) > before:
            print("collector log (tail):\n" + "".join(tpc.lines[-40:]))
    if failures:
        print("FAILED:", ", ".join(failures))
        return 1
    print("all pipe scenarios passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
