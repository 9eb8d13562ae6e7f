#!/usr/bin/python3
"""The pipe benchmark (docs/PERFORMANCE.md, "Pipe"): end-to-end events per second from the
kiosk's outbox to the collector's database over TLS on loopback, against a bare SQLite
insert of the same rows (the events table alone, its primary key its only index; WAL,
synchronous=FULL, the same rows per transaction) in the same run ("ratio", the issue's goal),
and against the same with the table's secondary indexes as the collector keeps them
("ratio_indexed"); the agent's and the collector's CPU during the upload, and the agent's
peak memory.

    python3 tests/bench/bench_pipe.py [--build build/rel] [--events 20000] [--batch 500]
                                      [--runs 3] [--threads 4]

Each run: a fresh kiosk is enrolled with a collector over HTTPS (a test CA), N sign-ins are
recorded into its outbox (bench_pipe fill), then `rollcall-agent sync` uploads them all
(timed: process start to exit; peak RSS = its VmHWM sampled every 5 ms); then bench_pipe insert re-inserts the
rows the collector stored into a new database. Prints one JSON line per run (with the sync's
own `batches` and `duplicates` as sync_batches and sync_duplicates: batches the window sent
again show there) and a summary.
Timing only: nothing here passes or fails on speed."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_s(pid):
    """User + system CPU seconds of pid and its threads so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build", "rel"))
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--inflight", type=int, default=4, help="the kiosk's sync.inflight")
    ap.add_argument("--http-mode", default="per-connection",
                    help="the collector's serve --http-mode (default serve's own)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    os.environ["ROLLCALL_AGENT"] = os.path.join(build, "rollcall-agent")
    os.environ["ROLLCALL_SERVER"] = os.path.join(build, "rollcall-server")
    for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(var, None)
    sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
    import pipe_harness as ph
    helper = os.path.join(build, "tests", "bench_pipe")

    results = []
    with tempfile.TemporaryDirectory(prefix="rc-bench-pipe-") as w:
        pki = ph.make_pki(w)
        col = ph.Collector(w, pki)
        # The class the kiosk's sign-ins name (bench_pipe fill), imported as a real
        # deployment has it: without it every event would also store an unknown_class finding.
        plans = os.path.join(w, "classes.json")
        with open(plans, "w") as f:
            json.dump([{"id": "TJ-2026-AI-0001", "institution": "INST-0001", "district": "120103",
                        "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-11-01",
                        "sessions": [{"id": "S01", "start": "2026-11-18T08:00:00+08:00",
                                      "end": "2026-11-18T18:00:00+08:00", "mode": "offline",
                                      "fence": "venue-1"}],
                        "roster": []}], f)
        r = col.cmd("import", "classes", plans)
        assert r.returncode == 0, r
        col.extra_args = ["--http-mode", args.http_mode]
        col.start(threads=args.threads)
        try:
            for run in range(args.runs):
                k = ph.PipeKiosk(w, col.url, pki["ca"], "BENCH-%d" % run,
                                 batch_max_events=args.batch, batch_max_bytes=16777216,
                                 inflight=args.inflight,
                                 timeout_s=120)
                k.enroll(col.token("enroll", "bench-%d" % run))
                fill = subprocess.run([helper, "fill", k.config, str(args.events)],
                                      capture_output=True, text=True, check=True)
                col_cpu0 = cpu_s(col.proc.pid)
                t0 = time.monotonic()
                p = subprocess.Popen([ph.AGENT, "--config", k.config, "sync", "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                # Peak RSS: the process's VmHWM, sampled until it exits (wait4's ru_maxrss
                # would include this Python process's RSS, carried over by fork and exec;
                # its CPU times are the agent's own).
                hwm = 0
                while True:
                    hwm = max(hwm, vm_hwm_kib(p.pid))
                    pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                    if pid:
                        break
                    time.sleep(0.005)
                dt = time.monotonic() - t0
                col_cpu = cpu_s(col.proc.pid) - col_cpu0
                p.returncode = os.waitstatus_to_exitcode(status)
                out = p.stdout.read()
                p.stdout.close()
                p.stderr.close()
                out = out.decode()
                assert p.returncode == 0, out
                # Every event acknowledged (the counts of accepted and duplicate events may
                # differ from N: a batch whose transfer the window cancelled can still be
                # stored, and its resend then answers as duplicates); stored exactly once:
                res = json.loads(out)
                assert res["ack_seq"] == args.events and res["pending"] == 0, out
                ph.check_exactly_once(k, col)
                base = subprocess.run([helper, "insert", col.db_path,
                                       os.path.join(w, "bare-%d.db" % run), k.device_id,
                                       str(args.batch)],
                                      capture_output=True, text=True, check=True)
                b = json.loads(base.stdout)
                base = subprocess.run([helper, "insert-indexed", col.db_path,
                                       os.path.join(w, "indexed-%d.db" % run), k.device_id,
                                       str(args.batch)],
                                      capture_output=True, text=True, check=True)
                bi = json.loads(base.stdout)
                r = {"run": run, "events": args.events, "batch": args.batch,
                     "fill_events_per_s": json.loads(fill.stdout)["events_per_s"],
                     "sync_seconds": round(dt, 3), "pipe_events_per_s": round(args.events / dt, 1),
                     "agent_cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
                     "collector_cpu_s": round(col_cpu, 3),
                     "bare_rows": b["rows"], "bare_rows_per_s": b["rows_per_s"],
                     "indexed_rows_per_s": bi["rows_per_s"],
                     "agent_max_rss_kib": hwm,
                     "sync_batches": res["batches"], "sync_duplicates": res["duplicates"]}
                r["ratio"] = round(r["pipe_events_per_s"] / r["bare_rows_per_s"], 3)
                r["ratio_indexed"] = round(r["pipe_events_per_s"] / r["indexed_rows_per_s"], 3)
                results.append(r)
                print(json.dumps(r), flush=True)
        finally:
            col.stop()
    summary = {"runs": len(results),
               "pipe_events_per_s_median": statistics.median(r["pipe_events_per_s"] for r in results),
               "bare_rows_per_s_median": statistics.median(r["bare_rows_per_s"] for r in results),
               "ratio_median": statistics.median(r["ratio"] for r in results),
               "indexed_rows_per_s_median": statistics.median(r["indexed_rows_per_s"]
                                                              for r in results),
               "ratio_indexed_median": statistics.median(r["ratio_indexed"] for r in results),
               "agent_max_rss_kib_max": max(r["agent_max_rss_kib"] for r in results)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
