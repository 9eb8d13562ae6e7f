#!/usr/bin/python3
"""The end-to-end demo (README's first command; scripts/demo.sh builds, then runs this).

A collector on its embedded SQLite default with a self-signed certificate, two gpsd (one per
kiosk) fed NMEA at a sample Tianjin venue, two enrolled kiosk agents (the classroom kiosk, and
a mobile check-in terminal that is 400 m away), and a teaching day played in seconds:
libfaketime sets each agent command's clock to the moment of the day, so no agent has, or
needs, a back-dating option. Then online records and assessment results, a sync, and the class
report with its findings.

The day is staged so that the findings are exactly its deliberate problems (DELIBERATE): the
GNSS receivers report the moment of the day each command runs at (the feed follows the faked
clock, so the collector sees no clock disagreement), and each kiosk writes the heartbeats its
daemon would write through the sessions (`rollcall-agent heartbeat`, every four minutes), so
that neither looks silent. The demo checks its findings and exits 1 when they differ.

Everything runs under one work directory (default build/demo) on loopback, and every process
started here is stopped on the way out. With --console (what scripts/demo.sh passes) the
collector then keeps serving the console (docs/CONSOLE.md) with the day's data until Ctrl-C,
and the demo prints its address and a district bureau's demo account with a fresh password.
"""

import argparse
import datetime as dt
import secrets
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "tools"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import nmea_gen  # noqa: E402
from gpsd_harness import watch_tpv  # noqa: E402

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# Five weeks ago: over, so its report is final; recent, so findings listings include it.
DAY = dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=35)
HEARTBEAT_MIN = 4   # minutes between heartbeats (the collector calls 5 minutes silent)
# The day's deliberate problems, as the collector reports them: the mobile terminal 400 m away
# (a sign-in and a sign-out outside the venue), a trainee who never signs out, and a 20-minute
# gap in the morning's recording. The late arrivals and early leavers show in the hours.
DELIBERATE = {"signin_outside": 2, "signin_without_signout": 1, "recording_gap": 1}
CLASS_ID = "TJ-2026-AI-0001"
INSTITUTION = "INST-0001"
DISTRICT = "120103"
FENCE_FILE = os.path.join(TOP, "geofences", "hexi-centre.geojson")
FENCE_ID = "hexi-centre"
PROFILE = os.path.join(TOP, "firmware-profiles", "x86-kiosk-ublox.json")


def say(msg):
    print(msg, flush=True)


def at(hh, mm, ss=0):
    """An instant of the teaching day, Asia/Shanghai."""
    return dt.datetime(DAY.year, DAY.month, DAY.day, hh, mm, ss, tzinfo=SHANGHAI)


def iso(t):
    return t.isoformat(timespec="seconds")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resident_id(n):
    """A well-formed GB 11643 number: Hexi district, born 1990-2003, check by ISO 7064."""
    body = "120103%04d%02d%02d%03d" % (1990 + n % 14, 1 + n % 12, 1 + n % 28, 100 + n)
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body, weights))
    return body + "10X98765432"[total % 11]


class GnssFeed:
    """gpsd reading NMEA from a TCP source this class serves: fixes at one point whose time is
    the moment of the day the demo is at (set by at_moment) plus the real time since, so a
    GNSS receiver and an agent under libfaketime at that moment agree."""

    def __init__(self, work, name, point):
        self.point = point
        self.moment = None
        self.since = time.monotonic()
        self.stopping = False
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = free_port()
        self.log = open(os.path.join(work, name + "-gpsd.log"), "w")
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        gpsd = shutil.which("gpsd") or "/usr/sbin/gpsd"
        self.proc = subprocess.Popen(
            [gpsd, "-N", "-n", "-b", "-S", str(self.port),
             "tcp://127.0.0.1:%d" % self.listener.getsockname()[1]],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        watch_tpv(self.port, need_time=True)

    def at_moment(self, when):
        self.moment = when
        self.since = time.monotonic()

    def serve(self):
        eph = 4.0
        hdop = nmea_gen.hdop_for(eph)
        try:
            conn, _ = self.listener.accept()
            with conn:
                while not self.stopping:
                    base = self.moment or dt.datetime.now(dt.timezone.utc)
                    when = base + dt.timedelta(seconds=time.monotonic() - self.since)
                    text = nmea_gen._fix_sentences(
                        when.astimezone(dt.timezone.utc), self.point[0], self.point[1],
                        eph / nmea_gen.SIGMA_PER_95, hdop, 9, 0.0, 0.0)
                    conn.sendall(("\r\n".join(text) + "\r\n").encode())
                    time.sleep(0.1)
        except OSError:
            pass

    def stop(self):
        self.stopping = True
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.listener.close()
        self.log.close()


class Demo:
    def __init__(self, work, build):
        self.work = work
        self.build = build
        self.agent = os.path.join(build, "rollcall-agent")
        self.server = os.path.join(build, "rollcall-server")
        self.procs = []
        self.gps = []
        self.env = dict(os.environ, ROLLCALL_DB="sqlite:" + os.path.join(work, "server.db"))

    # ---- plumbing ------------------------------------------------------------------------
    def run(self, args, env=None, check=True, quiet=True, input=None):
        r = subprocess.run(args, env=env or self.env, capture_output=True, text=True,
                           input=input)
        if check and r.returncode != 0:
            raise SystemExit("demo: %s failed (%d): %s" % (" ".join(args[:3]), r.returncode,
                                                           (r.stderr or r.stdout).strip()))
        if not quiet and r.stdout:
            print(r.stdout, end="")
        return r

    def srv(self, *args, **kw):
        return self.run([self.server] + list(args), **kw)

    def agent_cmd(self, config, *args, when=None, check=True):
        env = dict(self.env)
        if when is not None:
            # libfaketime: this one process sees the teaching day's clock.
            env["FAKETIME"] = "@" + when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            env["TZ"] = "UTC"
            env["LD_PRELOAD"] = self.faketime_lib
        return self.run([self.agent, "--config", config] + list(args), env=env, check=check)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for g in self.gps:
            g.stop()

    # ---- the pieces ------------------------------------------------------------------------
    def find_faketime(self):
        for base in ("/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/aarch64-linux-gnu/faketime",
                     "/usr/lib/faketime"):
            lib = os.path.join(base, "libfaketime.so.1")
            if os.path.exists(lib):
                self.faketime_lib = lib
                return
        raise SystemExit("demo: libfaketime not found (apt-get install faketime)")

    def certificate(self):
        self.cert = os.path.join(self.work, "collector.crt")
        self.key = os.path.join(self.work, "collector.key")
        # 90 days: the collector's health check calls a certificate expiring within 14 days a
        # problem, and the console would show the demo's collector as unhealthy.
        self.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-days", "90", "-subj", "/CN=localhost",
                  "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                  "-keyout", self.key, "-out", self.cert])

    def collector(self):
        self.srv("migrate")
        self.enroll_token = self.srv("token", "create", "--role", "enroll", "--institution",
                                     INSTITUTION, "--name", "demo-installer").stdout.strip()
        self.port = free_port()
        log = open(os.path.join(self.work, "collector.log"), "w")
        p = subprocess.Popen([self.server, "serve", "--listen", "127.0.0.1:%d" % self.port,
                              "--tls-cert", self.cert, "--tls-key", self.key],
                             env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if p.poll() is not None:
                    raise SystemExit("demo: the collector exited: see %s" % log.name)
                time.sleep(0.1)
        raise SystemExit("demo: the collector did not start")

    def venue_points(self):
        """A WGS-84 point well inside the venue, and one about 400 m east of it."""
        with open(FENCE_FILE) as f:
            ring = json.load(f)["features"][0]["geometry"]["coordinates"][0]
        lons = [p[0] for p in ring]
        lats = [p[1] for p in ring]
        rows = []
        for i in range(1, 10):
            for j in range(1, 10):
                lat = min(lats) + (max(lats) - min(lats)) * i / 10
                lon = min(lons) + (max(lons) - min(lons)) * j / 10
                # The fence is drawn in GCJ-02; GNSS reports WGS-84.
                r = self.agent_cmd("/dev/null", "fence", "convert", "--from", "GCJ-02", "--to",
                                   "WGS-84", "--lat", repr(lat), "--lon", repr(lon), "--json")
                p = json.loads(r.stdout)
                rows.append("%.9f,%.9f,5" % (p["lat"], p["lon"]))
        csv = os.path.join(self.work, "candidates.csv")
        with open(csv, "w") as f:
            f.write("\n".join(rows) + "\n")
        r = self.agent_cmd("/dev/null", "fence", "check", "--fence", FENCE_FILE, "--points", csv)
        best = min((json.loads(l) for l in r.stdout.splitlines()), key=lambda v: v["distance_m"])
        self.inside = (best["lat"], best["lon"])
        self.outside = (best["lat"], best["lon"] + 400 / (111320 * 0.777))

    def gpsd(self, name, point):
        g = GnssFeed(self.work, name, point)
        self.gps.append(g)
        return g

    def kiosk(self, name, device, gps):
        d = os.path.join(self.work, name)
        config = os.path.join(self.work, name + ".json")
        with open(PROFILE) as f:
            profile = json.load(f)
        profile["gnss"]["gpsd_port"] = gps.port
        profile["cameras"] = [{"id": "cam-101", "dir": os.path.join(d, "rec"),
                               "suffix": ".mp4", "settle_s": 5}] if name == "kiosk" else []
        pfile = os.path.join(self.work, name + "-profile.json")
        with open(pfile, "w") as f:
            json.dump(profile, f, ensure_ascii=False, indent=2)
        self.agent_cmd(config, "init", "--profile", pfile, "--fence", FENCE_FILE,
                       "--device-id", device, "--institution", INSTITUTION,
                       "--server", "https://127.0.0.1:%d" % self.port, "--ca", self.cert,
                       "--dir", d)
        self.agent_cmd(config, "enroll", "--token", self.enroll_token)
        return config

    # ---- the teaching day --------------------------------------------------------------------
    def plan(self):
        self.trainees = [resident_id(n) for n in range(30)]
        names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴昊",
                 "徐丽", "孙涛", "胡军", "朱琳", "高峰", "林霞", "何勇", "郭玲", "马超", "罗燕",
                 "梁斌", "宋佳", "郑凯", "谢雪", "韩冰", "唐亮", "冯瑶", "于洋", "董明", "萧然"]
        plan = {"id": CLASS_ID, "institution": INSTITUTION, "district": DISTRICT,
                "occupation": "2-02-10-09", "level": "junior",
                "applied_on": (DAY - dt.timedelta(days=25)).isoformat(),
                "sessions": [
                    {"id": "S01", "start": iso(at(9, 0)), "end": iso(at(12, 0)),
                     "mode": "offline", "fence": FENCE_ID},
                    {"id": "S02", "start": iso(at(14, 0)), "end": iso(at(17, 0)),
                     "mode": "offline", "fence": FENCE_ID},
                    {"id": "S03", "start": iso(at(19, 0)), "end": iso(at(21, 0)),
                     "mode": "online"}],
                "roster": [{"id_number": t, "name": names[i], "student": i % 7 == 0}
                           for i, t in enumerate(self.trainees)]}
        path = os.path.join(self.work, "class.json")
        with open(path, "w") as f:
            json.dump(plan, f, ensure_ascii=False, indent=1)
        self.srv("import", "classes", path)

    def schedule(self):
        """(time, command, trainee index, session, device) for the whole day."""
        acts = []
        for i in range(30):
            in1, out1 = at(8, 40 + i % 18), at(12, 0, 30 + i)
            in2, out2 = at(13, 45 + i % 14), at(17, 1, i)
            if i == 3:
                in1 = at(9, 10)            # late, within the 15-minute grace: counts from 9:00
            if i == 4:
                in1 = at(9, 40)            # late: counts from 9:40
            if i == 5:
                out1 = at(11, 20)          # leaves early: counts to 11:20
            if i == 6:
                out1 = at(11, 50)          # leaves within the grace: counts to 12:00
            acts.append((in1, "signin", i, "S01", "kiosk"))
            acts.append((out1, "signout", i, "S01", "kiosk"))
            if i == 7:
                continue                   # absent in the afternoon
            if i == 8:
                acts.append((in2, "signin", i, "S02", "mobile"))  # 400 m away: outside
                acts.append((out2, "signout", i, "S02", "mobile"))
                continue
            acts.append((in2, "signin", i, "S02", "kiosk"))
            if i != 9:                     # trainee 9 never signs out
                acts.append((out2, "signout", i, "S02", "kiosk"))
        # What the kiosks' daemons would write through the sessions: heartbeats.
        for device in ("kiosk", "mobile"):
            for start, end in ((at(9, 0), at(12, 0)), (at(14, 0), at(17, 0))):
                t = start
                while t <= end:
                    acts.append((t, "heartbeat", -1, "", device))
                    t += dt.timedelta(minutes=HEARTBEAT_MIN)
        return sorted(acts)

    def play_day(self):
        verdicts = {}
        beats = 0
        for when, cmd, i, session, device in self.schedule():
            config = self.configs[device]
            if cmd == "heartbeat":
                self.agent_cmd(config, "heartbeat", when=when)
                beats += 1
                continue
            self.feeds[device].at_moment(when)
            r = self.agent_cmd(config, cmd, "--trainee", self.trainees[i], "--class", CLASS_ID,
                               "--session", session, "--json", when=when)
            res = json.loads(r.stdout)
            verdicts[res["verdict"]] = verdicts.get(res["verdict"], 0) + 1
        say("  %d sign-ins and sign-outs recorded: %s" % (
            sum(verdicts.values()), ", ".join("%d %s" % (n, v) for v, n in sorted(verdicts.items()))))
        say("  %d heartbeats written through the sessions (every %d minutes per kiosk)"
            % (beats, HEARTBEAT_MIN))

    def recordings(self):
        d = os.path.join(self.work, "kiosk", "rec")
        os.makedirs(d, exist_ok=True)
        # The morning has a twenty-minute gap (10:30-10:50) between two files.
        spans = [(at(8, 58), at(10, 30)), (at(10, 50), at(12, 1)), (at(13, 59), at(17, 2))]
        for k, (a, b) in enumerate(spans):
            path = os.path.join(d, "cam-101-%d.mp4" % k)
            with open(path, "wb") as f:
                f.write(os.urandom(256 * 1024))
            self.agent_cmd(self.configs["kiosk"], "record", "add", "--camera", "cam-101",
                           "--class", CLASS_ID, "--file", path, "--start", iso(a), "--end", iso(b),
                           when=b + dt.timedelta(minutes=1))
        say("  3 recordings added (a 20-minute gap in the morning)")

    def online_and_assessments(self):
        online = []
        for i, t in enumerate(self.trainees):
            if i % 10 == 9:
                continue                              # three trainees skip the online session
            end = at(21, 0) if i % 4 else at(20, 15)  # some leave the stream early
            online.append({"class": CLASS_ID, "id_number": t, "start": iso(at(19, 0)),
                           "end": iso(end), "platform": "天津继续教育网"})
        path = os.path.join(self.work, "online.json")
        with open(path, "w") as f:
            json.dump(online, f, ensure_ascii=False)
        self.srv("import", "online", path)
        results = []
        for i, t in enumerate(self.trainees):
            if i in (28, 29):
                continue                              # not assessed
            passed = i not in (4, 7)
            row = {"class": CLASS_ID, "id_number": t, "passed": passed,
                   "assessed_on": (DAY + dt.timedelta(days=18)).isoformat()}
            if passed:
                row["certificate"] = "TJ-DE-%d-%05d" % (DAY.year, i + 1)
            results.append(row)
        path = os.path.join(self.work, "assessments.json")
        with open(path, "w") as f:
            json.dump(results, f, ensure_ascii=False)
        self.srv("import", "assessments", path)
        say("  %d online records and %d assessment results imported" % (len(online), len(results)))

    def sync(self):
        for name, config in self.configs.items():
            r = self.agent_cmd(config, "sync", "--json", "--timeout", "60")
            say("  %s: %s" % (name, r.stdout.strip()))

    def reports(self):
        out = os.path.join(self.work, "out")
        os.makedirs(out, exist_ok=True)
        say("")
        self.srv("report", "attendance", "--class", CLASS_ID, quiet=False)
        for fmt in ("json", "csv", "xlsx"):
            self.srv("report", "attendance", "--class", CLASS_ID, "--format", fmt,
                     "--out", os.path.join(out, "attendance.%s" % fmt))
        say("")
        say("Reports: %s/attendance.json, attendance.csv, attendance.xlsx" % out)
        say("The collector's database is %s/server.db; the kiosks' outboxes are under %s/kiosk "
            "and %s/mobile." % (self.work, self.work, self.work))
        say("")
        say("The day's deliberate problems (trainees by the end of their masked numbers):\n"
            "...1032 and ...1045 arrive late (9:10, within the 15-minute grace, and 9:40),\n"
            "...1058 leaves at 11:20, ...1073 misses the afternoon, ...1086 signs in and out on\n"
            "the mobile terminal 400 m from the venue (outside: not counted), ...1090 never signs\n"
            "out, and the camera stops for 20 minutes at 10:30. `rollcall-server report findings`\n"
            "lists the findings for review.")
        self.check_findings()

    def check_findings(self):
        """The findings are exactly the deliberate ones: anything else is an artefact of the
        staging (or a regression), and the demo says so and fails."""
        r = self.srv("report", "findings", "--class", CLASS_ID, "--format", "json",
                     "--since", (DAY - dt.timedelta(days=1)).isoformat())
        got = Counter(f["kind"] for f in json.loads(r.stdout)["findings"])
        if got != Counter(DELIBERATE):
            raise SystemExit("demo: the findings are not the day's deliberate ones: got %s, "
                             "want %s" % (dict(got), DELIBERATE))

    def main(self):
        t0 = time.time()
        self.find_faketime()
        say("Rollcall demo: a teaching day at %s, %s" % (FENCE_ID, DAY.isoformat()))
        self.certificate()
        self.collector()
        say("  collector on https://127.0.0.1:%d (SQLite %s/server.db)" % (self.port, self.work))
        self.venue_points()
        self.feeds = {"kiosk": self.gpsd("gnss-venue", self.inside),
                      "mobile": self.gpsd("gnss-away", self.outside)}
        say("  gpsd fed GNSS fixes at the venue and 400 m away")
        self.configs = {"kiosk": self.kiosk("kiosk", "TJ-KIOSK-0101", self.feeds["kiosk"]),
                        "mobile": self.kiosk("mobile", "TJ-MOBILE-0007", self.feeds["mobile"])}
        say("  two kiosks initialised and enrolled")
        self.plan()
        say("  class %s: 30 trainees, two classroom sessions and one online" % CLASS_ID)
        self.play_day()
        self.recordings()
        self.sync()
        self.online_and_assessments()
        self.reports()
        say("Done in %.0f s." % (time.time() - t0))

    def console(self):
        """Keeps the collector serving the console with the day's data until Ctrl-C: a signing
        key (the class page's map reads the evidence bundle) and a demo account of the class's
        district bureau, its password made here and printed once."""
        self.srv("signing-key", "create")
        password = secrets.token_urlsafe(12)
        self.srv("user", "add", "demo-bureau", "--role", "district:" + DISTRICT,
                 input=password + "\n")
        say("")
        say("控制台 The console is serving the demo's day (%s):" % DAY.isoformat())
        say("  open   https://127.0.0.1:%d/   (a self-signed certificate: accept the browser's"
            " warning," % self.port)
        say("         or import %s)" % self.cert)
        say("  user   demo-bureau   (区人社局 district:%s, reviews its institutions' sign-ins)"
            % DISTRICT)
        say("  password   %s" % password)
        say("  the class: https://127.0.0.1:%d/#/class/%s" % (self.port, CLASS_ID))
        say("More accounts: %s --db sqlite:%s/server.db user add NAME --role ROLE"
            % (self.server, self.work))
        say("Press Ctrl-C to stop.")
        try:
            while all(p.poll() is None for p in self.procs[:1]):
                time.sleep(1)
        except KeyboardInterrupt:
            say("")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(TOP, "build", "release"))
    ap.add_argument("--work", default=os.path.join(TOP, "build", "demo"))
    ap.add_argument("--console", action="store_true",
                    help="then keep serving the console with the day's data until Ctrl-C")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    demo = Demo(args.work, args.build)
    try:
        demo.main()
        if args.console:
            demo.console()
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
