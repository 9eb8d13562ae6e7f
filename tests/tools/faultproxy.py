#!/usr/bin/python3
"""A fault-injecting TCP proxy for loopback tests (stdlib only).

Every accepted connection gets one fault drawn from a seeded schedule (so a failing run can be
repeated with the same --seed), and the bytes are otherwise relayed unchanged (TLS passes
through end to end):

  pass        relay untouched
  drop        close the client's connection at once, before connecting upstream
  delay       wait before connecting upstream, then relay with a small pause per chunk
  slow        relay with a pause of CHUNK_DELAY_MAX_S per chunk (answers take a while)
  reset_req   relay until N bytes went upstream (client to server), then reset both sides (RST);
              N is drawn from 1..--max-up
  reset_resp  relay until N bytes came back downstream, then reset both sides; N from
              1..--max-down
  truncate    relay until N bytes came back downstream, then close both sides cleanly (FIN)

Use it as a program:
  faultproxy.py --target 127.0.0.1:8443 [--listen 127.0.0.1:0] [--seed 1] [--duration 60]
                [--mix pass=3,drop=1,delay=1,reset_req=1,reset_resp=1,truncate=1]
                [--max-up 30000] [--max-down 4000] [--port-file FILE]
It prints the port it listens on ("listening 127.0.0.1:PORT"), runs until --duration seconds
pass (or SIGINT/SIGTERM), then prints a JSON summary line: connections per fault, bytes
relayed each way, the most connections open at once (max_open) and the most waiting for an
answer at once (max_awaiting: bytes went upstream and none came back yet). Or import it: FaultProxy(target, seed=..., mix=...).start() / .stop().
"""

import argparse
import json
import random
import signal
import socket
import struct
import sys
import threading
import time

FAULTS = ("pass", "drop", "delay", "slow", "reset_req", "reset_resp", "truncate")
CHUNK = 16384
DELAY_MAX_S = 1.5  # the longest wait before connecting upstream
CHUNK_DELAY_MAX_S = 0.05


def parse_mix(text):
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in FAULTS:
            raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(FAULTS)))
        w = int(weight)
        if w < 0:
            raise ValueError("weight of %s must be >= 0" % name)
        mix[name] = w
    if not any(mix.values()):
        raise ValueError("every weight is 0")
    return mix


def _reset(sock):
    """Closes with an RST instead of a FIN (SO_LINGER on, timeout 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Conn:
    def __init__(self, proxy, client, fault, limit, delay):
        """limit: the byte count at which a reset or truncation fault fires."""
        self.proxy = proxy
        self.client = client
        self.upstream = None
        self.fault = fault
        self.limit = limit
        self.delay = delay
        self.up_bytes = 0
        self.down_bytes = 0
        self.lock = threading.Lock()
        self.done = False
        self.awaiting = False  # bytes went upstream since the last ones came back

    def finish(self, how):
        with self.lock:
            if self.done:
                return
            self.done = True
        for s in (self.client, self.upstream):
            if s is None:
                continue
            if how == "reset":
                _reset(s)
            else:
                _close(s)

    def run(self):
        self.proxy.count_open(1)
        try:
            self._run()
        finally:
            self.proxy.count_open(-1)
            self.proxy.set_awaiting(self, False)

    def _run(self):
        if self.fault == "drop":
            self.finish("close")
            return
        if self.fault in ("delay", "hold"):
            time.sleep(self.delay)
        try:
            self.upstream = socket.create_connection(self.proxy.target, timeout=10)
            self.upstream.settimeout(None)
        except OSError:
            self.finish("close")
            return
        t = threading.Thread(target=self.pump, args=(self.client, self.upstream, True), daemon=True)
        t.start()
        self.pump(self.upstream, self.client, False)
        t.join()

    def pump(self, src, dst, upstream):
        while True:
            try:
                data = src.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                if upstream:
                    self.proxy.set_awaiting(self, False)  # the client is done asking
                # One side finished: pass the half-close on, then end the other direction.
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                if not upstream:
                    self.finish("close")
                return
            if self.fault == "delay":
                time.sleep(self.proxy.rng_uniform(0, CHUNK_DELAY_MAX_S))
            elif self.fault == "slow":
                time.sleep(CHUNK_DELAY_MAX_S)
            count = self.up_bytes if upstream else self.down_bytes
            cut = None
            if upstream and self.fault == "reset_req" and count + len(data) >= self.limit:
                cut = ("reset", self.limit - count)
            elif not upstream and self.fault in ("reset_resp", "truncate") and \
                    count + len(data) >= self.limit:
                cut = ("reset" if self.fault == "reset_resp" else "close", self.limit - count)
            if cut is not None:
                part = data[:max(cut[1], 0)]
                try:
                    if part:
                        dst.sendall(part)
                except OSError:
                    pass
                self.proxy.count_bytes(upstream, len(part))
                self.proxy.count_fired(self.fault)
                self.finish(cut[0])
                return
            try:
                dst.sendall(data)
            except OSError:
                self.finish("close")
                return
            if upstream:
                self.up_bytes += len(data)
            else:
                self.down_bytes += len(data)
            self.proxy.count_bytes(upstream, len(data))
            self.proxy.set_awaiting(self, upstream)


class FaultProxy:
    """A seeded fault-injecting TCP proxy; start() binds and returns the listening port."""

    def __init__(self, target, listen=("127.0.0.1", 0), seed=1, mix=None, max_up=30000,
                 max_down=4000, hold_first_s=0.0):
        """hold_first_s: the first connection accepted waits that long before it connects
        upstream and then relays untouched (the others as the mix draws)."""
        self.target = target
        self.hold_first_s = hold_first_s
        self.accepted = 0
        self.listen = listen
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self.mix = mix or {"pass": 3, "drop": 1, "delay": 1, "reset_req": 1, "reset_resp": 1,
                           "truncate": 1}
        self.max_up = max_up
        self.max_down = max_down
        self.stats = {f: 0 for f in FAULTS}
        self.fired = {f: 0 for f in FAULTS}
        self.bytes_up = 0
        self.bytes_down = 0
        self.open = self.max_open = 0  # connections open at once
        self.awaiting = self.max_awaiting = 0  # connections waiting for an answer at once
        self.stats_lock = threading.Lock()
        self.sock = None
        self.port = None
        self.stopping = threading.Event()
        self.thread = None

    def rng_uniform(self, a, b):
        with self.rng_lock:
            return self.rng.uniform(a, b)

    def count_bytes(self, upstream, n):
        with self.stats_lock:
            if upstream:
                self.bytes_up += n
            else:
                self.bytes_down += n

    def count_open(self, d):
        with self.stats_lock:
            self.open += d
            self.max_open = max(self.max_open, self.open)

    def set_awaiting(self, conn, flag):
        """A connection sent bytes upstream (flag) or got bytes back: the most connections
        with a request out and no answer yet at the same moment are in the summary."""
        with self.stats_lock:
            if conn.awaiting != flag:
                conn.awaiting = flag
                self.awaiting += 1 if flag else -1
                self.max_awaiting = max(self.max_awaiting, self.awaiting)

    def count_fired(self, fault):
        with self.stats_lock:
            self.fired[fault] += 1

    def _draw(self):
        with self.rng_lock:
            names = [f for f in FAULTS if self.mix.get(f, 0) > 0]
            weights = [self.mix[f] for f in names]
            fault = self.rng.choices(names, weights)[0]
            limit = self.rng.randint(1, self.max_up if fault == "reset_req" else self.max_down)
            delay = self.rng.uniform(0, DELAY_MAX_S)
        return fault, limit, delay

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(self.listen)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()
        return self.port

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            client.settimeout(None)
            fault, limit, delay = self._draw()
            self.accepted += 1
            if self.accepted == 1 and self.hold_first_s > 0:
                fault, delay = "hold", self.hold_first_s
            with self.stats_lock:
                self.stats[fault] = self.stats.get(fault, 0) + 1
            conn = _Conn(self, client, fault, limit, delay)
            threading.Thread(target=conn.run, daemon=True).start()

    def stop(self):
        self.stopping.set()
        if self.thread:
            self.thread.join()
        if self.sock:
            self.sock.close()
        return self.summary()

    def summary(self):
        with self.stats_lock:
            return {"connections": dict(self.stats), "faults_fired": dict(self.fired),
                    "bytes_up": self.bytes_up, "bytes_down": self.bytes_down,
                    "max_open": self.max_open, "max_awaiting": self.max_awaiting}


def _hostport(text):
    host, _, port = text.rpartition(":")
    return (host or "127.0.0.1", int(port))


def main():
    ap = argparse.ArgumentParser(description="fault-injecting TCP proxy for loopback tests")
    ap.add_argument("--target", required=True, help="HOST:PORT to relay to")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds to run (max 3600)")
    ap.add_argument("--mix", default="pass=3,drop=1,delay=1,reset_req=1,reset_resp=1,truncate=1")
    ap.add_argument("--max-up", type=int, default=30000,
                    help="reset_req fires after 1..this many bytes sent upstream")
    ap.add_argument("--max-down", type=int, default=4000,
                    help="reset_resp and truncate fire after 1..this many bytes sent back")
    ap.add_argument("--port-file", help="write the listening port here")
    args = ap.parse_args()
    if not 0 < args.duration <= 3600:
        ap.error("--duration must be in (0, 3600]")
    if args.max_up < 1 or args.max_down < 1:
        ap.error("--max-up and --max-down must be at least 1")
    try:
        mix = parse_mix(args.mix)
    except ValueError as e:
        ap.error(str(e))
    proxy = FaultProxy(_hostport(args.target), _hostport(args.listen), args.seed, mix,
                       args.max_up, args.max_down)
    port = proxy.start()
    print("listening %s:%d" % (proxy.listen[0], port), flush=True)
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write("%d\n" % port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait(args.duration)
    print(json.dumps(proxy.stop()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
