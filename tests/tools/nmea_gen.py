#!/usr/bin/python3
"""Generate NMEA 0183 logs for gpsfake from coordinates (stdlib only).

A scenario is a start time and a list of segments; every fix is one second (1 Hz) and is
written as GSA, GSV (one per 4 satellites), GGA, GST and RMC, each with its checksum. Segments:

  {"at": [lat, lon], "fixes": N}                      stationary receiver
  {"from": [lat, lon], "to": [lat, lon], "fixes": N}  straight path (linear in lat/lon),
                                                      first fix at "from", last at "to"
  {"frozen": true, "fixes": N}                        repeats the previous position exactly
  {"nofix": true, "fixes": N}                         receiver without a fix (RMC V, GGA 0)
  {"jump_s": S}                                       the receiver clock jumps S seconds
                                                      (may be negative); no fixes

Position segments also take "eph_m" (the horizontal accuracy gpsd will report, metres;
default 5.0), "hdop" (overrides the HDOP derived from eph_m), "sats" (satellites used,
default 8) and "jitter_m" (deterministic noise added to every fix of an "at" segment, metres;
default 0). A "frozen" segment keeps the accuracy of the segment before it unless it sets its
own.

Accuracy: gpsd 3.22's NMEA driver does not take TPV `eph` from $GPGST; it computes
eph = HDOP x 19.0 m (P_UERE_NO_DGPS in gpsd's libgpsd_core.c, for a GGA quality 1 fix). So the
generator writes HDOP = eph_m / 19.0 (two decimals) in GGA and GSA, and a GST whose 1-sigma
latitude/longitude errors are eph_m / 2.4477 (the 95 % radius of a circular normal), as a
receiver would. Each epoch is written GSA, GGA, GST, RMC: gpsd reports the TPV when RMC ends
the cycle, so the epoch's own DOP is already in (with RMC first, eph lags one fix behind).

As a module: `generate(scenario)` returns (text, fixes) where fixes lists what was written
(`{"t": unix_seconds, "fix": bool, "lat", "lon", "hdop", "eph", "sats"}`, eph being
HDOP x 19.0 as gpsd 3.22 computes it), so a test compares what
gpsd reports with what the log says. As a CLI: `nmea_gen.py SCENARIO.json [-o LOG]
[--start ISO8601|now] [--fixes-out JSON]`.

Coordinates are written with 6 decimals of minutes (1.7e-8 degree), so a position survives the
round trip through gpsd to better than 1e-7 degree.
"""

import argparse
import datetime as dt
import json
import math
import random
import sys

DEFAULT_EPH_M = 5.0
GPSD_P_UERE_M = 19.0  # gpsd 3.22 libgpsd_core.c P_UERE_NO_DGPS: eph = HDOP x 19 m
SIGMA_PER_95 = 2.4477  # sqrt(-2 ln 0.05): 95 % radius / 1-sigma, circular normal
DEFAULT_SATS = 8
METRES_PER_DEG_LAT = 111320.0


def checksum(body):
    """XOR of the characters between '$' and '*' (NMEA 0183)."""
    c = 0
    for ch in body.encode("ascii"):
        c ^= ch
    return c


def sentence(body):
    return "$%s*%02X" % (body, checksum(body))


def _angle(value, deg_digits, pos, neg):
    """ddmm.mmmmmm (or dddmm.mmmmmm) and the hemisphere letter, rounded in micro-minutes."""
    hemi = pos if value >= 0 else neg
    micro_min = round(abs(value) * 60e6)
    deg, rem = divmod(micro_min, 60_000_000)
    whole_min, frac = divmod(rem, 1_000_000)
    return "%0*d%02d.%06d" % (deg_digits, deg, whole_min, frac), hemi


def fmt_lat(lat):
    return _angle(lat, 2, "N", "S")


def fmt_lon(lon):
    return _angle(lon, 3, "E", "W")


def parse_angle(text, hemi):
    """Inverse of fmt_lat/fmt_lon (for tests of the generator itself)."""
    dot = text.index(".")
    deg = int(text[: dot - 2])
    minutes = float(text[dot - 2:])
    v = deg + minutes / 60.0
    return -v if hemi in ("S", "W") else v


def hdop_for(eph_m):
    """The HDOP (two decimals, as written) for which gpsd 3.22 reports about eph_m."""
    return round(eph_m / GPSD_P_UERE_M, 2)


def gpsd_eph(hdop):
    """The eph gpsd 3.22 reports for a plain GPS fix with this HDOP."""
    return round(hdop, 2) * GPSD_P_UERE_M


def _fix_sentences(when, lat, lon, sigma_m, hdop, sats, speed_kn, course):
    hms = when.strftime("%H%M%S") + ".%02d" % (when.microsecond // 10000)
    date = when.strftime("%d%m%y")
    la, ns = fmt_lat(lat)
    lo, ew = fmt_lon(lon)
    rmc = "GPRMC,%s,A,%s,%s,%s,%s,%.2f,%.1f,%s,,,A" % (hms, la, ns, lo, ew, speed_kn, course, date)
    gga = "GPGGA,%s,%s,%s,%s,%s,1,%02d,%.2f,10.0,M,-2.5,M,," % (hms, la, ns, lo, ew, sats, hdop)
    prns = ",".join(["%02d" % (i + 1) for i in range(min(sats, 12))] + [""] * (12 - min(sats, 12)))
    gsa = "GPGSA,A,3,%s,%.2f,%.2f,%.2f" % (prns, hdop * 1.6, hdop, hdop * 1.2)
    gst = "GPGST,%s,%.1f,%.2f,%.2f,0.0,%.2f,%.2f,%.2f" % (
        hms, sigma_m, sigma_m, sigma_m, sigma_m, sigma_m, sigma_m * 1.5)
    return [sentence(s) for s in [gsa] + _gsv(sats) + [gga, gst, rmc]]


def _gsv(sats):
    """GSV sentences (4 satellites each) for PRNs 1..sats, all used in the solution; gpsd
    reports SKY (and libgps the number of satellites used) only when it gets GSV."""
    if sats == 0:
        return ["GPGSV,1,1,00"]
    total = (sats + 3) // 4
    out = []
    for m in range(total):
        body = "GPGSV,%d,%d,%02d" % (total, m + 1, sats)
        for prn in range(m * 4 + 1, min(sats, m * 4 + 4) + 1):
            body += ",%02d,%02d,%03d,%02d" % (prn, 20 + (prn * 7) % 60, (prn * 37) % 360, 40)
        out.append(body)
    return out


def _nofix_sentences(when):
    hms = when.strftime("%H%M%S") + ".%02d" % (when.microsecond // 10000)
    date = when.strftime("%d%m%y")
    rmc = "GPRMC,%s,V,,,,,,,%s,,,N" % (hms, date)
    gga = "GPGGA,%s,,,,,0,00,99.9,,M,,M,," % hms
    gsa = "GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"
    return [sentence(s) for s in (gsa, _gsv(0)[0], gga, rmc)]


def _distance_m(lat1, lon1, lat2, lon2):
    """Haversine on a 6371 km sphere: only used for the RMC speed field."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371000.0 * math.asin(min(1.0, math.sqrt(a)))


def _parse_start(start):
    if start is None or start == "now":
        now = dt.datetime.now(dt.timezone.utc)
        return now.replace(microsecond=0)
    if isinstance(start, (int, float)):
        return dt.datetime.fromtimestamp(int(start), dt.timezone.utc)
    text = start.replace("Z", "+00:00")
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError("start time needs an offset (or Z): %r" % start)
    return t.astimezone(dt.timezone.utc)


def _check_pos(p, what):
    if (not isinstance(p, (list, tuple)) or len(p) != 2
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in p)
            or not -90 <= p[0] <= 90 or not -180 <= p[1] <= 180):
        raise ValueError("%s must be [lat, lon] in degrees, got %r" % (what, p))
    return float(p[0]), float(p[1])


def generate(scenario, start=None):
    """Returns (nmea_text, fixes) for a scenario dict (see the module comment)."""
    segments = scenario.get("segments")
    if not isinstance(segments, list) or not segments:
        raise ValueError("scenario needs a non-empty 'segments' list")
    when = _parse_start(start if start is not None else scenario.get("start"))
    rng = random.Random(scenario.get("seed", 1))
    lines = ["# Name: %s" % scenario.get("name", "rollcall generated track"),
             "# Generated by tests/tools/nmea_gen.py, 1 Hz GSA GSV GGA GST RMC"]
    fixes = []
    last = None  # (lat, lon, eph_m, hdop, sats)
    for i, seg in enumerate(segments):
        if not isinstance(seg, dict):
            raise ValueError("segment %d is not an object" % i)
        if "jump_s" in seg:
            when += dt.timedelta(seconds=float(seg["jump_s"]))
            continue
        n = seg.get("fixes")
        if not isinstance(n, int) or n < 1:
            raise ValueError("segment %d needs 'fixes' >= 1" % i)
        inherit = bool(last and seg.get("frozen"))
        eph = float(seg.get("eph_m", last[2] if inherit else DEFAULT_EPH_M))
        if not math.isfinite(eph) or not 0 <= eph <= 99.99 * GPSD_P_UERE_M:
            raise ValueError("segment %d: bad eph_m" % i)
        if "hdop" in seg:
            hdop = float(seg["hdop"])
        elif inherit and "eph_m" not in seg:
            hdop = last[3]
        else:
            hdop = hdop_for(eph)
        if not math.isfinite(hdop) or not 0 <= hdop <= 99.99:
            raise ValueError("segment %d: bad hdop" % i)
        sigma = eph / SIGMA_PER_95
        sats = seg.get("sats", last[4] if inherit else DEFAULT_SATS)
        if not isinstance(sats, int) or not 1 <= sats <= 12:
            raise ValueError("segment %d: sats must be 1..12" % i)
        if seg.get("nofix"):
            for _ in range(n):
                lines.extend(_nofix_sentences(when))
                fixes.append({"t": when.timestamp(), "fix": False})
                when += dt.timedelta(seconds=1)
            continue
        if seg.get("frozen"):
            if last is None:
                raise ValueError("segment %d: 'frozen' needs a position before it" % i)
            points = [(last[0], last[1])] * n
        elif "at" in seg:
            lat, lon = _check_pos(seg["at"], "segment %d 'at'" % i)
            jit = float(seg.get("jitter_m", 0.0))
            points = []
            for _ in range(n):
                if jit > 0:
                    dn, de = rng.gauss(0, jit), rng.gauss(0, jit)
                    points.append((lat + dn / METRES_PER_DEG_LAT,
                                   lon + de / (METRES_PER_DEG_LAT * math.cos(math.radians(lat)))))
                else:
                    points.append((lat, lon))
        elif "from" in seg and "to" in seg:
            a = _check_pos(seg["from"], "segment %d 'from'" % i)
            b = _check_pos(seg["to"], "segment %d 'to'" % i)
            points = []
            for k in range(n):
                f = k / (n - 1) if n > 1 else 1.0
                points.append((a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f))
        else:
            raise ValueError("segment %d: needs at, from/to, frozen, nofix or jump_s" % i)
        prev = (last[0], last[1]) if last else None
        for lat, lon in points:
            # Round to what the sentence carries, so `fixes` is exactly what gpsd can see.
            la, ns = fmt_lat(lat)
            lo, ew = fmt_lon(lon)
            lat, lon = parse_angle(la, ns), parse_angle(lo, ew)
            speed_kn = 0.0
            if prev is not None and not seg.get("frozen"):
                speed_kn = _distance_m(prev[0], prev[1], lat, lon) / 0.514444
            lines.extend(_fix_sentences(when, lat, lon, sigma, hdop, sats, min(speed_kn, 99999.0), 0.0))
            fixes.append({"t": when.timestamp(), "fix": True, "lat": lat, "lon": lon,
                          "hdop": round(hdop, 2), "eph": gpsd_eph(hdop), "sats": sats})
            prev = (lat, lon)
            when += dt.timedelta(seconds=1)
        last = (prev[0], prev[1], eph, hdop, sats)
    return "\r\n".join(lines) + "\r\n", fixes


def write_log(path, scenario, start=None):
    """Writes the log for scenario to path; returns the fixes list."""
    text, fixes = generate(scenario, start)
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write(text)
    return fixes


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate an NMEA log (RMC GGA GSA GST, 1 Hz) "
                                             "from a JSON scenario, for gpsfake.")
    ap.add_argument("scenario", help="scenario JSON file ('-' for stdin)")
    ap.add_argument("-o", "--out", help="output log (default stdout)")
    ap.add_argument("--start", help="first fix time, ISO 8601 with offset, or 'now' "
                                     "(default: the scenario's 'start', else now)")
    ap.add_argument("--fixes-out", help="also write the generated fixes as JSON to this file")
    args = ap.parse_args(argv)
    try:
        if args.scenario == "-":
            scenario = json.load(sys.stdin)
        else:
            with open(args.scenario, encoding="utf-8") as f:
                scenario = json.load(f)
        text, fixes = generate(scenario, args.start)
    except (OSError, ValueError) as e:
        print("nmea_gen: %s" % e, file=sys.stderr)
        return 1
    if args.out:
        with open(args.out, "w", encoding="ascii", newline="") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.fixes_out:
        with open(args.fixes_out, "w", encoding="utf-8") as f:
            json.dump(fixes, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
