#!/usr/bin/python3
# labels: collector
"""/healthz and the health gauges of /metrics, over real HTTPS: healthy with a certificate
valid for 30 days (200, every check's figure present, no problem); after a reload to a
certificate expiring in 5 days, 503 naming the certificate, and rollcall_healthy 0 with the
expiry as a gauge; a collector whose data disk has less room than --health-disk-min-mb, 503
naming the disk. Every answer is checked against docs/openapi.yaml. Not covered here: a
database that stops answering and a stalled ingest writer (both need a fault injected into
the database; the figures they report are checked above)."""

import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingestlib as il  # noqa: E402


def gauges(port, ctx):
    st, body = il.request(port, ctx, "GET", "/metrics")
    assert st == 200, st
    text = body.decode() if isinstance(body, bytes) else body
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(rollcall_[a-z_]+) ([-0-9.e+]+)$", text, re.M)}


def leaf(d, name, days):
    il.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=localhost", cwd=d)
    il.openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
               "-CAcreateserial", "-out", name + ".pem", "-days", str(days), "-extfile",
               "ext.cnf", cwd=d)


def main():
    with tempfile.TemporaryDirectory() as d:
        il.make_pki(d)  # 30 days
        leaf(d, "short", 5)
        db = "sqlite:" + os.path.join(d, "s.db")
        assert il.run("migrate", db=db).returncode == 0
        ctx = il.tls_context(d)
        srv = il.Server(db, d)
        try:
            st, h = il.request(srv.port, ctx, "GET", "/healthz")
            assert st == 200 and h["status"] == "ok" and h["problems"] == [], (st, h)
            c = h["checks"]
            assert c["database"] is True and h["schema"] >= 1, h
            assert c["disk_free_bytes"] > 0 and 0 < c["disk_free_ratio"] <= 1, c
            assert 29 * 86400 < c["certificate_expires_in_s"] <= 30 * 86400, c
            assert c["ingest_queue_depth"] == 0 and c["ingest_queue_oldest_ms"] == 0, c
            g = gauges(srv.port, ctx)
            assert g["rollcall_healthy"] == 1 and g["rollcall_database_up"] == 1, g
            assert g["rollcall_disk_free_bytes"] > 0 and g["rollcall_ingest_queue_depth"] == 0, g
            assert 29 * 86400 < g["rollcall_tls_cert_expiry_seconds"] <= 30 * 86400, g

            shutil.copy(os.path.join(d, "short.pem"), os.path.join(d, "server.pem"))
            shutil.copy(os.path.join(d, "short.key"), os.path.join(d, "server.key"))
            srv.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            while "reload: new certificate" not in srv.log() and time.monotonic() < deadline:
                time.sleep(0.05)
            st, h = il.request(srv.port, ctx, "GET", "/healthz")
            assert st == 503 and h["status"] == "unhealthy", (st, h)
            assert len(h["problems"]) == 1 and re.fullmatch(
                r"certificate: expires in [45] days \(renew, then systemctl reload\)",
                h["problems"][0]), h
            assert h["checks"]["certificate_expires_in_s"] < 14 * 86400, h
            g = gauges(srv.port, ctx)
            assert g["rollcall_healthy"] == 0 and g["rollcall_database_up"] == 1, g
            assert 4 * 86400 < g["rollcall_tls_cert_expiry_seconds"] <= 5 * 86400, g
            assert srv.stop() == 0, srv.log()
        finally:
            if srv.proc.poll() is None:
                srv.stop()

        il.make_pki(d)  # a fresh CA and 30-day certificate again
        ctx = il.tls_context(d)
        srv = il.Server(db, d, "--health-disk-min-mb", str(1 << 30))  # 1 PiB: never there
        try:
            st, h = il.request(srv.port, ctx, "GET", "/healthz")
            assert st == 503 and len(h["problems"]) == 1, (st, h)
            assert h["problems"][0].startswith("disk: ") and "below 1073741824 MiB" in \
                h["problems"][0], h
            g = gauges(srv.port, ctx)
            assert g["rollcall_healthy"] == 0, g
            assert srv.stop() == 0, srv.log()
        finally:
            if srv.proc.poll() is None:
                srv.stop()
    print("health: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
