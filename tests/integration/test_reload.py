#!/usr/bin/python3
# labels: systemd collector
"""`systemctl reload` of the collector (SIGHUP): a connection open across the reload keeps
working on the certificate it started with; a new handshake gets the new certificate; a bad
new certificate (not PEM, or a key that does not belong to it) is refused with one log line
and the old one keeps serving. The manager sees RELOADING=1 then READY=1 on NOTIFY_SOCKET.
Real HTTPS over loopback, certificates made with the openssl CLI; no timing assertions."""

import http.client
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingestlib as il  # noqa: E402

WAIT = 30


class Notify:
    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.fields = []
        self.cond = threading.Condition()
        self.done = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cond:
                self.fields += data.decode().split("\n")
                self.cond.notify_all()

    def wait_count(self, field, n):
        with self.cond:
            return self.cond.wait_for(lambda: self.fields.count(field) >= n, WAIT)

    def close(self):
        self.done = True
        self.sock.close()


def new_leaf(d, name):
    """Another certificate for localhost signed by the same test CA, with its own key."""
    il.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=localhost " + name,
               cwd=d)
    il.openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
               "-CAcreateserial", "-out", name + ".pem", "-days", "30", "-extfile", "ext.cnf",
               cwd=d)


def der_of(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def peer_der(conn):
    return conn.sock.getpeercert(binary_form=True)


def fresh_handshake(port, ctx):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=WAIT)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    r.read()
    der = peer_der(conn)
    conn.close()
    return r.status, der


def wait_log(srv, text, n):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if srv.log().count(text) >= n:
            return True
        time.sleep(0.05)
    return False


class Reload(unittest.TestCase):
    def test_reload_replaces_certificate_without_dropping_connections(self):
        with tempfile.TemporaryDirectory() as d:
            il.make_pki(d)
            new_leaf(d, "second")
            new_leaf(d, "third")
            db = "sqlite:" + os.path.join(d, "s.db")
            self.assertEqual(il.run("migrate", db=db).returncode, 0)
            first = der_of(os.path.join(d, "server.pem"))
            second = der_of(os.path.join(d, "second.pem"))
            notify = Notify(d)
            os.environ["NOTIFY_SOCKET"] = notify.path
            try:
                srv = il.Server(db, d)
            finally:
                del os.environ["NOTIFY_SOCKET"]
            try:
                self.assertTrue(notify.wait_count("READY=1", 1))
                ctx = il.tls_context(d)
                # A keep-alive connection made before the reload.
                old = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx,
                                                  timeout=WAIT)
                old.request("GET", "/healthz")
                r = old.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                self.assertEqual(peer_der(old), first)
                sock_before = old.sock

                shutil.copy(os.path.join(d, "second.pem"), os.path.join(d, "server.pem"))
                shutil.copy(os.path.join(d, "second.key"), os.path.join(d, "server.key"))
                srv.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_log(srv, "reload: new certificate", 1), srv.log())
                self.assertTrue(notify.wait_count("RELOADING=1", 1))
                self.assertTrue(notify.wait_count("READY=1", 2))

                # The old connection is the same socket, still answering, on the old cert.
                old.request("GET", "/healthz")
                r = old.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                self.assertIs(old.sock, sock_before)
                self.assertEqual(peer_der(old), first)
                # A new handshake sees the new certificate.
                status, der = fresh_handshake(srv.port, ctx)
                self.assertEqual((status, der), (200, second))

                # A key that does not belong to the certificate: refused, one line.
                shutil.copy(os.path.join(d, "third.pem"), os.path.join(d, "server.pem"))
                srv.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_log(srv, "reload refused", 1), srv.log())
                refused = [ln for ln in srv.log().splitlines() if "reload refused" in ln]
                self.assertEqual(len(refused), 1, srv.log())
                self.assertIn("does not belong to the certificate", refused[0])
                self.assertEqual(fresh_handshake(srv.port, ctx), (200, second))

                # Not a PEM file at all: refused, the second certificate still serves.
                with open(os.path.join(d, "server.pem"), "w") as f:
                    f.write("not a certificate\n")
                srv.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_log(srv, "reload refused", 2), srv.log())
                self.assertIn("is not a PEM file", srv.log().splitlines()[-1])
                self.assertEqual(fresh_handshake(srv.port, ctx), (200, second))

                old.request("GET", "/healthz")
                r = old.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                self.assertIs(old.sock, sock_before)
                old.close()
                self.assertEqual(srv.stop(), 0, srv.log())
            finally:
                if srv.proc.poll() is None:
                    srv.stop()
                notify.close()


if __name__ == "__main__":
    unittest.main()
