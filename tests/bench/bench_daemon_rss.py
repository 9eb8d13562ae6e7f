#!/usr/bin/python3
"""Resident memory of the idle kiosk daemon (docs/PERFORMANCE.md, "Agent"). Prints; never fails
on a figure.

A kiosk made with `init`, a real gpsd (gpsfake replaying a fix inside the fence) and a camera
directory; the daemon started as `rollcall-agent run` (its sync child at start finds no
collector, fails and backs off); then ROUNDS sign-ins through its control socket, one
recording file (a `record add` child), and SETTLE seconds idle. Its /proc/PID/status and
smaps_rollup give VmRSS, RssAnon, RssFile and Pss.

Baselines measured in the same run, on the same machine: idle `pause()` programs linked
against (a) libc only, (b) exactly the shared libraries rollcall-agentd needs (readelf -d), and
(c) those rollcall-agent needs plus libproj: what the daemon mapped when it was
`rollcall-agent run` itself (before rollcall-agentd). The ratio daemon / (b) says how much of
the daemon's VmRSS is its own doing rather than the libraries'.

    /usr/bin/python3 tests/bench/bench_daemon_rss.py [--rounds N] [--settle S] [--runs R]
(ROLLCALL_AGENT: the rollcall-agent to use, default build/release/rollcall-agent.)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("ROLLCALL_AGENT", os.path.join(SRC, "build", "release", "rollcall-agent"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402

KEYS = ("VmRSS", "RssAnon", "RssFile")


def memory(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in KEYS:
                out[k] = int(v.split()[0])
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1])
    return out


def needed(binary):
    text = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                          check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", text)


def idle_program(wd, name, libs):
    """An idle pause() program linked (no-as-needed) against libs (sonames or paths)."""
    src = os.path.join(wd, "idle.c")
    with open(src, "w") as f:
        f.write("#include <unistd.h>\nint main(void) { pause(); return 0; }\n")
    exe = os.path.join(wd, name)
    args = ["cc", "-O2", "-fPIE", "-pie", src, "-o", exe, "-Wl,--no-as-needed",
            "-Wl,-z,relro,-z,now"]
    for lib in libs:
        args.append("-l:" + lib)
    subprocess.run(args, check=True)
    return exe


def measure_program(exe):
    p = subprocess.Popen([exe])
    try:
        time.sleep(0.5)
        return memory(p.pid)
    finally:
        p.kill()
        p.wait()


def soname_of(path):
    text = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[(.+?)\]", text)
    return m.group(1) if m else os.path.basename(path)


def daemon_run(wd, rounds, settle):
    rec = os.path.join(wd, "rec")
    os.makedirs(rec)
    scenario = {"segments": [{"at": list(ah.CENTRE), "fixes": 3600, "jitter_m": 0.5}]}
    with gpsd_harness.Gpsfake.from_scenario(scenario, wd) as fake:
        k = ah.Kiosk(wd, fake.port, profile_over={
            "heartbeat": {"interval_s": 3600}, "sync": {"interval_s": 3600},
            "cameras": [{"id": "front", "dir": rec, "suffix": ".mp4", "settle_s": 1}]})
        with k:
            k.start_daemon()
            pid = k.daemon.pid
            k.wait_gnss()
            start = memory(pid)
            for _ in range(rounds):
                r = k.control({"cmd": "signin", "trainee": ah.TRAINEE, "class": "C1"})
                assert r.get("ok"), r
            with open(os.path.join(rec, "lesson.mp4"), "wb") as f:
                f.write(os.urandom(8 * 1024 * 1024))
            k.wait_event(lambda e: e["type"] == "rec_file", timeout=120, what="rec_file")
            time.sleep(settle)
            idle = memory(pid)
            libs = sum(1 for line in open("/proc/%d/maps" % pid)
                       if ".so" in line and " r-xp " in line)
            k.stop_daemon()
    return start, idle, libs


def mib(kb):
    return "%.2f" % (kb / 1024.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    agent = os.environ["ROLLCALL_AGENT"]
    agentd = os.path.join(os.path.dirname(agent), "rollcall-agentd")
    proj = subprocess.run(["pkg-config", "--variable=libdir", "proj"], capture_output=True,
                          text=True, check=True).stdout.strip()
    proj_so = soname_of(os.path.realpath(os.path.join(proj, "libproj.so")))
    print("%-58s %8s %8s %8s %8s" % ("", "VmRSS", "RssAnon", "RssFile", "Pss"))
    print("%-58s %8s %8s %8s %8s" % ("(MiB)", "", "", "", ""))
    for run in range(a.runs):
        with tempfile.TemporaryDirectory(prefix="rollcall-rss-") as wd:
            rows = []
            rows.append(("idle program: libc only", measure_program(idle_program(wd, "a", []))))
            floor = measure_program(idle_program(wd, "b", needed(agentd)))
            rows.append(("idle program: rollcall-agentd's libraries", floor))
            rows.append(("idle program: rollcall-agent's libraries + libproj",
                         measure_program(idle_program(wd, "c", needed(agent) + [proj_so]))))
            start, idle, libs = daemon_run(os.path.join(wd, "kiosk"), a.rounds, a.settle)
            rows.append(("daemon, fresh fix, before any sign-in", start))
            rows.append(("daemon, idle after %d sign-ins, a recording, %gs" % (a.rounds, a.settle),
                         idle))
            print("run %d (daemon maps %d shared objects):" % (run + 1, libs))
            for name, m in rows:
                print("  %-56s %8s %8s %8s %8s" % (name, mib(m["VmRSS"]), mib(m["RssAnon"]),
                                                  mib(m["RssFile"]), mib(m.get("Pss", 0))))
            print("  idle daemon VmRSS / its libraries' floor: %.2fx; goal 4 MiB: %s"
                  % (idle["VmRSS"] / floor["VmRSS"], "met" if idle["VmRSS"] < 4096 else "not met"))


if __name__ == "__main__":
    if not shutil.which("gpsfake"):
        sys.exit("bench_daemon_rss: gpsfake not found (apt-get install gpsd-clients)")
    main()
