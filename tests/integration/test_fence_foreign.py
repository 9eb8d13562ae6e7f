#!/usr/bin/python3
"""Fence files as other tools write them (RFC 7946 §6.1 foreign members, free-form
properties): GDAL 3.6 (files ogr2ogr writes here: -f GeoJSON, and with -lco RFC7946=YES) and geojson.io, are read by `rollcall-agent fence check|convert` and `rollcall-server import fences`;
what was ignored is said at debug level; a crs other than WGS-84 and a GeometryCollection are
still refused with one line that says what to do."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

AGENT = os.environ["ROLLCALL_AGENT"]
SERVER = os.environ["ROLLCALL_SERVER"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(prog, *args):
    p = subprocess.run([prog, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


# GDAL's own output, made here with Debian 12's ogr2ogr (gdal-bin, GDAL 3.6) from a CSV with a
# WKT column: a "name" and (with -a_srs EPSG:4326) a CRS84 "crs" foreign member, the source's
# clockwise rings kept, free-form properties (WKT, 地址, kind); with -lco RFC7946=YES no crs and
# counterclockwise rings.
VENUES_CSV = (
    'WKT,id,name,地址,kind,tolerance_m\n'
    '"POLYGON ((117.17 39.1,117.17 39.101,117.171 39.101,117.171 39.1,117.17 39.1))",'
    'hall-a,礼堂,卫津路94号,hall,\n'
    '"POLYGON ((117.172 39.1,117.172 39.101,117.173 39.101,117.173 39.1,117.172 39.1))",'
    'yard,,,yard,5.0\n')


def ogr2ogr(d, out, *options):
    src = os.path.join(d, "venues.csv")
    with open(src, "w", encoding="utf-8") as f:
        f.write(VENUES_CSV)
    path = os.path.join(d, out)
    p = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "-a_srs", "EPSG:4326", "-oo",
                        "AUTODETECT_TYPE=YES", *options, path, src],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        sys.exit(f"ogr2ogr failed ({p.returncode}): {p.stderr}")
    with open(path, encoding="utf-8") as f:
        return f.read()


# geojson.io (Save > GeoJSON) after drawing a polygon and adding the id row: simplestyle
# properties, geometry members in that order, a numeric feature id, two-space indentation.
GEOJSON_IO = json.dumps({
    "type": "FeatureCollection",
    "features": [{
        "type": "Feature",
        "properties": {"stroke": "#555555", "stroke-width": 2, "stroke-opacity": 1,
                       "fill": "#555555", "fill-opacity": 0.5, "id": "hall-a"},
        "geometry": {"coordinates": [[[117.17, 39.1], [117.171, 39.1], [117.171, 39.101],
                                      [117.17, 39.101], [117.17, 39.1]]],
                     "type": "Polygon"},
        "id": 0}]}, indent=2)

INSIDE = ("39.1005", "117.1705")
OUTSIDE = ("39.1005", "117.1685")  # about 130 m west of hall-a

with tempfile.TemporaryDirectory() as d:
    GDAL_DEFAULT = ogr2ogr(d, "gdal-made.geojson")
    GDAL_RFC7946 = ogr2ogr(d, "gdal-rfc7946-made.geojson", "-lco", "RFC7946=YES")
    check('"crs"' in GDAL_DEFAULT and '"name": "venues"' in GDAL_DEFAULT,
          f"GDAL's default output has the foreign members this test is about: {GDAL_DEFAULT!r}")
    files = {}
    for name, text in (("gdal.geojson", GDAL_DEFAULT), ("gdal-rfc7946.geojson", GDAL_RFC7946),
                       ("geojson-io.geojson", GEOJSON_IO)):
        files[name] = os.path.join(d, name)
        with open(files[name], "w", encoding="utf-8") as f:
            f.write(text)

    # The agent judges against each file as against our own spelling of the fence.
    for name, path in files.items():
        for (lat, lon), want in ((INSIDE, "inside"), (OUTSIDE, "outside")):
            rc, out, err = run(AGENT, "fence", "check", "--fence", path, "--id", "hall-a",
                               "--lat", lat, "--lon", lon, "--json")
            check(rc == 0 and err == "", f"{name}: fence check exit {rc}, stderr {err!r}")
            if rc == 0:
                v = json.loads(out)
                check(v["verdict"] == want, f"{name}: ({lat}, {lon}) is {v['verdict']}, "
                      f"expected {want}")
    # At debug level it says what it ignored; at the default level, nothing.
    rc, out, err = run(AGENT, "--log-level", "debug", "fence", "check", "--fence",
                       files["gdal.geojson"], "--id", "yard", "--lat", INSIDE[0], "--lon",
                       INSIDE[1])
    check(rc == 0, f"debug fence check: exit {rc} {err!r}")
    for note in ("ignored member 'name'", "ignored member 'crs'",
                 "ignored feature 0: property '地址'", "ignored feature 1: property 'kind'"):
        check(note in err, f"debug log names {note!r}: {err!r}")
    check("debug" in err and "gdal.geojson" in err, f"debug lines name the file: {err!r}")
    rc, out, err = run(AGENT, "--log-level", "debug", "fence", "check", "--fence",
                       files["geojson-io.geojson"], "--lat", INSIDE[0], "--lon", INSIDE[1])
    check(rc == 0 and "property 'stroke'" in err and "feature 0: member 'id'" in err,
          f"geojson.io debug notes: {rc} {err!r}")

    # Converting a GDAL file to GCJ-02 drops the now wrong crs, keeps the rest.
    rc, out, err = run(AGENT, "fence", "convert", "--from", "WGS-84", "--to", "GCJ-02", "--file",
                       files["gdal.geojson"])
    check(rc == 0, f"convert GDAL file: exit {rc} {err!r}")
    if rc == 0:
        conv = json.loads(out)
        check("crs" not in conv and conv.get("name") == "venues",
              f"converted file: crs dropped, name kept: {sorted(conv)}")
        check(all(f["properties"]["datum"] == "GCJ-02" for f in conv["features"]),
              "converted file declares GCJ-02")
        check(conv["features"][0]["properties"].get("地址") == "卫津路94号",
              "converted file keeps foreign properties")

    # The server imports them too (stored features keep their text).
    db = os.path.join(d, "server.db")
    rc, out, err = run(SERVER, "--db", "sqlite:" + db, "migrate")
    check(rc == 0, f"migrate: {rc} {err!r}")
    for name in ("gdal.geojson", "gdal-rfc7946.geojson", "geojson-io.geojson"):
        rc, out, err = run(SERVER, "--db", "sqlite:" + db, "--log-level", "debug", "import",
                           "fences", files[name], "--json")
        check(rc == 0, f"import {name}: exit {rc} {err!r}")
        check("ignored" in err and "debug" in err, f"import {name}: debug notes {err!r}")
        outcomes = [json.loads(x) for x in out.splitlines()]
        check("hall-a" in [o["fence"] for o in outcomes], f"import {name}: {outcomes}")
    # GDAL's RFC 7946 file and geojson.io's hold the same ring (counterclockwise, same start):
    # the second is "unchanged". (GDAL's default file keeps the shapefile's clockwise ring; the
    # digest counts vertex order, so that one is another version.)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT version FROM fences WHERE id = 'hall-a' ORDER BY version").fetchall()
    con.close()
    check(rows == [(1,), (2,)], f"hall-a: GDAL default v1, RFC 7946 v2, geojson.io same: {rows}")
    check('"outcome":"unchanged"' in out, f"geojson.io import after RFC 7946 one: {out!r}")

    # Still refused, one line, nothing on stdout, nothing stored: what changes the meaning.
    crs3857 = GDAL_DEFAULT.replace("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::3857")
    gc = json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"id": "gc"},
        "geometry": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "coordinates": [[[117.17, 39.1], [117.171, 39.1],
                                                 [117.171, 39.101], [117.17, 39.1]]]}]}}]})
    badpos = GDAL_RFC7946.replace("[ 117.171, 39.1 ]", "[ 117.171, 99.1 ]")
    for name, text, reason in (
            ("crs3857.geojson", crs3857,
             "crs 'urn:ogc:def:crs:EPSG::3857' is not WGS-84 longitude/latitude: reproject to "
             "EPSG:4326"),
            ("gc.geojson", gc, "feature 0: a GeometryCollection is not a fence: make each "
             "polygon a feature of its own, or join them in one MultiPolygon"),
            ("badpos.geojson", badpos, "feature 0: ring 0 position 1 is out of range")):
        path = os.path.join(d, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        rc, out, err = run(AGENT, "fence", "check", "--fence", path, "--lat", INSIDE[0], "--lon",
                           INSIDE[1])
        check(rc == 1 and out == "" and err.count("\n") == 1 and reason in err,
              f"{name}: agent refuses: {rc} {out!r} {err!r}")
        rc, out, err = run(SERVER, "--db", "sqlite:" + db, "import", "fences", path)
        check(rc != 0 and out == "" and reason in err, f"{name}: server refuses: {rc} {err!r}")
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM fences WHERE id = 'gc'").fetchone()[0]
    con.close()
    check(n == 0, "a refused file stores nothing")

if failures:
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("ok")
