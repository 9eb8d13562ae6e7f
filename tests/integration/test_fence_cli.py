#!/usr/bin/python3
"""rollcall-agent fence check / convert: exit codes, outputs and refusals, driving the built
program on the repository's sample fences and on files written here."""
import json
import math
import os
import subprocess
import sys
import tempfile

AGENT = os.environ["ROLLCALL_AGENT"]
SRC = os.environ["ROLLCALL_SOURCE_DIR"]
FENCES = os.path.join(SRC, "geofences")
failures = []


def run(*args, stdin=None):
    p = subprocess.run([AGENT, *args], input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def expect(args, code, what, stdin=None):
    rc, out, err = run(*args, stdin=stdin)
    check(rc == code, f"{what}: exit {rc}, expected {code} (stderr {err.strip()!r})")
    if code != 0:
        check(out == "", f"{what}: nothing on stdout when refused, got {out!r}")
        check(err.count("\n") == 1, f"{what}: one line on stderr, got {err!r}")
    return out, err


# binhai-twin (WGS-84): building A spans x -90..-20 m, B 20..95 m east of the origin below,
# so the origin lies in the 40 m gap, 20 m from both.
LAT0, LON0 = 39.043120, 117.705310
KX = 111320.0 * math.cos(math.radians(LAT0))
KY = 111032.0
TWIN = os.path.join(FENCES, "binhai-twin.geojson")
IN_A = (LAT0 - 10 / KY, LON0 - 55 / KX)
GAP = (LAT0, LON0)

for args in (["fence", "--help"], ["fence", "check", "--help"], ["fence", "convert", "--help"]):
    out, _ = expect(args, 0, " ".join(args))
    check(out.startswith("usage:"), f"{args}: usage text")
expect(["fence"], 2, "no subcommand")
expect(["fence", "frobnicate"], 2, "unknown subcommand")

# Single points.
out, _ = expect(["fence", "check", "--fence", TWIN, "--lat", str(IN_A[0]), "--lon", str(IN_A[1])],
                0, "point inside A")
check(out.startswith("inside"), f"inside A: {out!r}")
out, _ = expect(["fence", "check", "--fence", TWIN, "--lat", str(GAP[0]), "--lon", str(GAP[1]),
                 "--json"], 0, "point in the gap")
v = json.loads(out)
check(set(v) == {"lat", "lon", "eph", "verdict", "distance_m", "fence"}, f"fields {sorted(v)}")
check(v["verdict"] == "outside" and 19.0 < v["distance_m"] < 21.0, f"gap verdict {v}")
check(v["fence"] == "binhai-twin" and v["eph"] == 0, f"gap fence/eph {v}")
out, _ = expect(["fence", "check", "--fence", TWIN, "--lat", str(GAP[0]), "--lon", str(GAP[1]),
                 "--eph", "25", "--json"], 0, "gap with 25 m accuracy")
check(json.loads(out)["verdict"] == "uncertain", f"uncertain: {out!r}")

# Usage and refused values.
expect(["fence", "check", "--fence", TWIN, "--lat", "39.04"], 2, "--lat without --lon")
expect(["fence", "check", "--lat", "39.04", "--lon", "117.7"], 2, "no --fence")
expect(["fence", "check", "--fence", TWIN, "--lat", "abc", "--lon", "117.7"], 2, "non-number")
expect(["fence", "check", "--fence", TWIN, "--lat", "nan", "--lon", "117.7"], 1, "NaN latitude")
expect(["fence", "check", "--fence", TWIN, "--lat", "91", "--lon", "117.7"], 1, "latitude 91")
expect(["fence", "check", "--fence", TWIN, "--lat", "39", "--lon", "117.7", "--eph", "-1"], 1,
       "negative eph")
expect(["fence", "check", "--fence", "/nonexistent.geojson", "--lat", "39", "--lon", "117"], 1,
       "missing fence file")

with tempfile.TemporaryDirectory() as tmp:
    # Batch: header, rows with and without eph, a blank line.
    pts = os.path.join(tmp, "points.csv")
    with open(pts, "w") as f:
        f.write("lat,lon,eph\r\n%.9f,%.9f\n\n%.9f,%.9f,25\n%.9f, %.9f ,\n" %
                (IN_A[0], IN_A[1], GAP[0], GAP[1], GAP[0], GAP[1]))
    out, _ = expect(["fence", "check", "--fence", TWIN, "--points", pts], 0, "batch")
    rows = [json.loads(line) for line in out.splitlines()]
    check([r["verdict"] for r in rows] == ["inside", "uncertain", "outside"],
          f"batch verdicts {rows}")
    check(rows[1]["eph"] == 25 and rows[2]["eph"] == 0, f"batch eph {rows}")
    out, _ = expect(["fence", "check", "--fence", TWIN, "--points", "-"], 0, "batch on stdin",
                    stdin="%.9f,%.9f\n" % IN_A)
    check(json.loads(out)["verdict"] == "inside", f"stdin batch {out!r}")
    # A bad row refuses the whole batch, naming its line.
    with open(pts, "w") as f:
        f.write("lat,lon\n39.04,117.70\n39.04,east\n")
    _, err = expect(["fence", "check", "--fence", TWIN, "--points", pts], 1, "bad row")
    check("line 3" in err, f"bad row line number: {err!r}")
    with open(pts, "w") as f:
        f.write("39.04,117.70,1,2\n")
    _, err = expect(["fence", "check", "--fence", TWIN, "--points", pts], 1, "four columns")
    check("line 1" in err, f"four columns: {err!r}")
    expect(["fence", "check", "--fence", TWIN, "--points", pts, "--lat", "1"], 2,
           "--points with --lat")

    # Several fences in one file: --id required.
    two = os.path.join(tmp, "two.geojson")
    with open(os.path.join(FENCES, "heping-circle.geojson")) as f:
        circle = json.load(f)["features"][0]
    with open(TWIN) as f:
        twin = json.load(f)["features"][0]
    with open(two, "w") as f:
        json.dump({"type": "FeatureCollection", "features": [circle, twin]}, f)
    expect(["fence", "check", "--fence", two, "--lat", "39", "--lon", "117"], 2, "no --id")
    out, _ = expect(["fence", "check", "--fence", two, "--id", "binhai-twin", "--lat",
                     str(IN_A[0]), "--lon", str(IN_A[1]), "--json"], 0, "--id")
    check(json.loads(out)["fence"] == "binhai-twin", f"--id fence {out!r}")
    expect(["fence", "check", "--fence", two, "--id", "nope", "--lat", "39", "--lon", "117"], 1,
           "unknown --id")

    # A malformed fence file is refused with the feature index and the reason.
    bad = os.path.join(tmp, "bad.geojson")
    twin_bad = json.loads(json.dumps(twin))
    twin_bad["properties"]["id"] = "other"
    twin_bad["geometry"]["coordinates"][1][0][-1] = [117.8, 39.1]
    with open(bad, "w") as f:
        json.dump({"type": "FeatureCollection", "features": [circle, twin_bad]}, f)
    _, err = expect(["fence", "check", "--fence", bad, "--id", "heping-circle", "--lat", "39",
                     "--lon", "117"], 1, "malformed fence")
    check(f"{bad}: feature 1: polygon 1 ring 0 is not closed" in err, f"malformed: {err!r}")

    # Points between datums; the inverse gets the point back.
    out, _ = expect(["fence", "convert", "--from", "GCJ-02", "--to", "WGS-84", "--lat", "39.1",
                     "--lon", "117.2"], 0, "convert point")
    lat_s, lon_s = out.split()
    check(len(lat_s.split(".")[1]) >= 9 and len(lon_s.split(".")[1]) >= 9, f"decimals {out!r}")
    check(abs(float(lat_s) - 39.1) > 1e-4, f"GCJ-02 moved the point: {out!r}")
    out, _ = expect(["fence", "convert", "--from", "WGS-84", "--to", "GCJ-02", "--lat", lat_s,
                     "--lon", lon_s, "--json"], 0, "convert back")
    back = json.loads(out)
    check(abs(back["lat"] - 39.1) < 1e-8 and abs(back["lon"] - 117.2) < 1e-8, f"back {back}")
    expect(["fence", "convert", "--from", "MARS", "--to", "WGS-84", "--lat", "39", "--lon",
            "117"], 2, "unknown datum")
    expect(["fence", "convert", "--from", "GCJ-02", "--to", "WGS-84", "--lat", "95", "--lon",
            "117"], 1, "latitude 95")
    expect(["fence", "convert", "--from", "GCJ-02", "--to", "WGS-84"], 2, "nothing to convert")

    # A whole file: BD-09 campus to WGS-84; the converted file judges points the same.
    campus = os.path.join(FENCES, "nankai-campus.geojson")
    out, _ = expect(["fence", "convert", "--from", "BD-09", "--to", "WGS-84", "--file", campus],
                    0, "convert file")
    conv = json.loads(out)
    check(conv["features"][0]["properties"]["datum"] == "WGS-84", "datum updated")
    wgs = os.path.join(tmp, "campus-wgs84.geojson")
    with open(wgs, "w") as f:
        f.write(out)
    shell = conv["features"][0]["geometry"]["coordinates"][0]
    probe = (sum(p[1] for p in shell[:-1]) / (len(shell) - 1) + 0.001,
             sum(p[0] for p in shell[:-1]) / (len(shell) - 1))
    a = json.loads(expect(["fence", "check", "--fence", campus, "--lat", str(probe[0]), "--lon",
                           str(probe[1]), "--json"], 0, "check original")[0])
    b = json.loads(expect(["fence", "check", "--fence", wgs, "--lat", str(probe[0]), "--lon",
                           str(probe[1]), "--json"], 0, "check converted")[0])
    check(a["verdict"] == b["verdict"] and abs(a["distance_m"] - b["distance_m"]) < 1e-6,
          f"converted file judges alike: {a} {b}")
    _, err = expect(["fence", "convert", "--from", "GCJ-02", "--to", "WGS-84", "--file", campus],
                    1, "wrong --from for the file")
    check("declares datum BD-09" in err, f"datum mismatch: {err!r}")

if failures:
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("fence CLI: all checks passed")
