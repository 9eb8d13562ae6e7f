#!/usr/bin/python3
"""Regenerates server/engine/regions.geojson: Tianjin's 16 districts from the npm package
echarts 4.9.0 (map/json/province/tianjin.json), the last ECharts release that shipped its map
data (docs/BOUNDARIES.md says what the data is, its licence, datum and accuracy).

    npm pack echarts@4.9.0 && tar xzf echarts-4.9.0.tgz
    tools/tianjin-boundaries.py package/map/json/province/tianjin.json \
        > server/engine/regions.geojson

ECharts stores coordinates quantised to 1/1024 degree, zig-zag and delta encoded as UTF-16
characters ("UTF8Encoding"); this decodes them exactly as ECharts' own parseGeoJson does,
drops the repeated closing vertex and consecutive duplicates, and writes one Feature per
district with its GB/T 2260 code (1201xx) as id. Stdlib only."""
import json
import sys

# GB/T 2260 codes of Tianjin's districts (民政部 2016 list; 蓟州区 replaced 蓟县 in 2016).
CODES = {
    "和平区": "120101", "河东区": "120102", "河西区": "120103", "南开区": "120104",
    "河北区": "120105", "红桥区": "120106", "东丽区": "120110", "西青区": "120111",
    "津南区": "120112", "北辰区": "120113", "武清区": "120114", "宝坻区": "120115",
    "滨海新区": "120116", "宁河区": "120117", "静海区": "120118", "蓟州区": "120119",
}
ENGLISH = {
    "120101": "Heping", "120102": "Hedong", "120103": "Hexi", "120104": "Nankai",
    "120105": "Hebei", "120106": "Hongqiao", "120110": "Dongli", "120111": "Xiqing",
    "120112": "Jinnan", "120113": "Beichen", "120114": "Wuqing", "120115": "Baodi",
    "120116": "Binhai", "120117": "Ninghe", "120118": "Jinghai", "120119": "Jizhou",
}


def decode_ring(text, offsets, scale):
    """ECharts' decodePolygon: zig-zag deltas from the ring's offsets, / scale."""
    out = []
    px, py = offsets[0], offsets[1]
    for i in range(0, len(text), 2):
        x = ord(text[i]) - 64
        y = ord(text[i + 1]) - 64
        x = (x >> 1) ^ (-(x & 1))
        y = (y >> 1) ^ (-(y & 1))
        px += x
        py += y
        out.append([px / scale, py / scale])
    return out


def clean(ring, scale):
    """Drops repeated and collinear vertices. The quantised rings sometimes go out and back
    along one line (a spike, or a fold back over the previous edge), which the fence loader
    rightly refuses as a self-intersection; a collinear vertex adds nothing to the shape. The
    test is exact: positions are integers over scale."""
    r = []
    for p in ring:
        if not r or r[-1] != p:
            r.append(p)
    while len(r) > 1 and r[0] == r[-1]:
        r.pop()
    q = [(round(x * scale), round(y * scale)) for x, y in r]
    changed = True
    while changed and len(q) > 3:
        changed = False
        i = 0
        while i < len(q) and len(q) > 3:
            a, b, c = q[i - 1], q[i], q[(i + 1) % len(q)]
            cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
            if a == b or cross == 0:
                del q[i]
                changed = True
            else:
                i += 1
    q = unloop(simplify(q, scale))
    r = [[x / scale, y / scale] for x, y in q]
    r.append(list(r[0]))  # GeoJSON closes rings
    return r


SIMPLIFY_M = 100.0  # Douglas-Peucker tolerance, metres (the data's own step is ~100 m)


def simplify(q, scale):
    """Douglas-Peucker on the closed ring (split at vertex 0 and the vertex farthest from it),
    distances in metres on a local plane at 39 N. Fewer vertices make loading the boundaries
    (the fence loader's topology check and distance grid) proportionally faster."""
    import math
    kx = 111320.0 * math.cos(math.radians(39.0)) / scale
    ky = 110950.0 / scale

    def dist(p, a, b):
        px, py = (p[0] - a[0]) * kx, (p[1] - a[1]) * ky
        bx, by = (b[0] - a[0]) * kx, (b[1] - a[1]) * ky
        ll = bx * bx + by * by
        t = 0.0 if ll == 0 else max(0.0, min(1.0, (px * bx + py * by) / ll))
        return math.hypot(px - t * bx, py - t * by)

    def dp(pts):
        keep = [False] * len(pts)
        keep[0] = keep[-1] = True
        stack = [(0, len(pts) - 1)]
        while stack:
            i, j = stack.pop()
            best, at = 0.0, None
            for k in range(i + 1, j):
                d = dist(pts[k], pts[i], pts[j])
                if d > best:
                    best, at = d, k
            if at is not None and best > SIMPLIFY_M:
                keep[at] = True
                stack += [(i, at), (at, j)]
        return [p for p, k in zip(pts, keep) if k]

    far = max(range(len(q)), key=lambda k: dist(q[k], q[0], q[0]))
    a = dp(q[:far + 1])
    b = dp(q[far:] + [q[0]])
    out = a[:-1] + b[:-1]
    return out if len(out) >= 3 else q


def orient(a, b, c):
    v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (v > 0) - (v < 0)


def on_segment(a, b, c):
    return (min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and
            min(a[1], b[1]) <= c[1] <= max(a[1], b[1]))


def meet(p1, p2, p3, p4):
    """Whether segments p1p2 and p3p4 touch or cross (exact, on integers)."""
    d1, d2 = orient(p3, p4, p1), orient(p3, p4, p2)
    d3, d4 = orient(p1, p2, p3), orient(p1, p2, p4)
    if d1 * d2 < 0 and d3 * d4 < 0:
        return True
    return ((d1 == 0 and on_segment(p3, p4, p1)) or (d2 == 0 and on_segment(p3, p4, p2)) or
            (d3 == 0 and on_segment(p1, p2, p3)) or (d4 == 0 and on_segment(p1, p2, p4)))


def unloop(q):
    """Cuts the small loops quantisation made (edge i meets edge j a few vertices on): the
    vertices between are dropped, joining vertex i to vertex j+1. Repeated until the ring is
    simple; each cut removes at most LOOP_MAX vertices, i.e. a few hundred metres of border."""
    LOOP_MAX = 8
    cuts = 0
    while True:
        n = len(q)
        hit = None
        for i in range(n):
            for k in range(2, min(LOOP_MAX + 2, n - 1)):
                j = (i + k) % n
                if meet(q[i], q[(i + 1) % n], q[j], q[(j + 1) % n]):
                    hit = (i, k)
                    break
            if hit:
                break
        if not hit:
            break
        i, k = hit
        drop = {(i + m) % n for m in range(1, k + 1)}
        q = [p for idx, p in enumerate(q) if idx not in drop]
        cuts += 1
    if cuts:
        sys.stderr.write("cut %d small loop%s\n" % (cuts, "" if cuts == 1 else "s"))
    return q


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tianjin-boundaries.py .../map/json/province/tianjin.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        src = json.load(f)
    scale = src.get("UTF8Scale", 1024)
    feats = []
    for ft in src["features"]:
        name = ft["properties"]["name"]
        code = CODES[name]
        g = ft["geometry"]
        if g["type"] == "Polygon":
            polys = [[clean(decode_ring(r, o, scale), scale)
                      for r, o in zip(g["coordinates"], g["encodeOffsets"])]]
        else:
            polys = [[clean(decode_ring(r, o, scale), scale) for r, o in zip(pr, po)]
                     for pr, po in zip(g["coordinates"], g["encodeOffsets"])]
        geom = ({"type": "Polygon", "coordinates": polys[0]} if len(polys) == 1
                else {"type": "MultiPolygon", "coordinates": polys})
        feats.append({"type": "Feature",
                      "properties": {"id": code, "name": name + " " + ENGLISH[code],
                                     "datum": "WGS-84"},
                      "geometry": geom})
    if sorted(f["properties"]["id"] for f in feats) != sorted(CODES.values()):
        sys.exit("tianjin.json does not hold exactly Tianjin's 16 districts")
    feats.sort(key=lambda f: f["properties"]["id"])
    out = {"type": "FeatureCollection",
           "source": "npm echarts 4.9.0, map/json/province/tianjin.json (Apache-2.0 package; "
                     "map data Baidu, BSD-3-Clause); decoded by tools/tianjin-boundaries.py",
           "features": feats}
    sys.stdout.write("{\"type\":\"FeatureCollection\",\"source\":" + json.dumps(out["source"],
                     ensure_ascii=False) + ",\"features\":[\n")
    sys.stdout.write(",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":"))
                                for f in feats))
    sys.stdout.write("\n]}\n")


if __name__ == "__main__":
    main()
