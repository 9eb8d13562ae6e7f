/* Independent references for fence tests and the fence benchmark: the same fence as a GEOS
 * geometry (planar in longitude/latitude, as RFC 7946 edges are), geodesic distances from
 * GeodSolve (GeographicLib's command-line tool, Debian geographiclib-tools) run in batches,
 * and a reproducible random point generator that crowds points near the boundary.
 * Nothing here calls this project's geometry code. */
#ifndef ROLLCALL_TEST_FENCE_REF_H
#define ROLLCALL_TEST_FENCE_REF_H

#include "fence.h"

#include <geos_c.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { REF_CIRCLE_VERTICES = 1440 };

/* splitmix64: a fixed seed gives the same points on every run. */
static inline uint64_t ref_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline double ref_uniform(uint64_t *s)
{
    return (double)(ref_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Runs GeodSolve with args on n input lines built by line(i, buf), reading one output line per
 * input into parse(i, text). Returns 0 on success. */
static inline int ref_geodsolve(const char *args, size_t n,
                                void (*line)(size_t i, char *buf, size_t len, void *arg),
                                void (*parse)(size_t i, const char *text, void *arg), void *arg)
{
    char in[] = "/tmp/rollcall-geodsolve-XXXXXX";
    int fd = mkstemp(in);
    if (fd < 0)
        return -1;
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        close(fd);
        unlink(in);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        line(i, buf, sizeof buf, arg);
        fputs(buf, fp);
        fputc('\n', fp);
    }
    fclose(fp);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "GeodSolve %s < %s", args, in);
    FILE *p = popen(cmd, "r");
    size_t got = 0;
    if (p) {
        char buf[256];
        while (got < n && fgets(buf, sizeof buf, p))
            parse(got++, buf, arg);
        pclose(p);
    }
    unlink(in);
    return got == n ? 0 : -1;
}

struct ref_circle_arg {
    double lat, lon, r;
    double *xy; /* REF_CIRCLE_VERTICES lon,lat pairs */
};

static inline void ref_circle_line(size_t i, char *buf, size_t len, void *arg)
{
    const struct ref_circle_arg *a = arg;
    snprintf(buf, len, "%.15f %.15f %.15f %.9f", a->lat, a->lon,
             360.0 * (double)i / REF_CIRCLE_VERTICES, a->r);
}

static inline void ref_circle_parse(size_t i, const char *text, void *arg)
{
    struct ref_circle_arg *a = arg;
    double lat = NAN, lon = NAN;
    if (sscanf(text, "%lf %lf", &lat, &lon) == 2) {
        a->xy[2 * i] = lon;
        a->xy[2 * i + 1] = lat;
    }
}

static inline GEOSGeometry *ref_ring(GEOSContextHandle_t h, const double *xy, size_t n)
{
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(h, (unsigned)n + 1, 2);
    for (size_t i = 0; i <= n; i++)
        GEOSCoordSeq_setXY_r(h, cs, (unsigned)i, xy[2 * (i % n)], xy[2 * (i % n) + 1]);
    return GEOSGeom_createLinearRing_r(h, cs);
}

/* The fence as a GEOS geometry in lon/lat: its WGS-84 rings, or for a circle a polygon through
 * REF_CIRCLE_VERTICES points at the radius's geodesic distance (GeodSolve direct). NULL on
 * failure. */
static inline GEOSGeometry *ref_geos_fence(GEOSContextHandle_t h, const struct fence *f)
{
    if (fence_kind_of(f) == FENCE_CIRCLE) {
        struct ref_circle_arg a;
        fence_circle(f, &a.lat, &a.lon, &a.r);
        a.xy = malloc(2 * REF_CIRCLE_VERTICES * sizeof *a.xy);
        if (!a.xy || ref_geodsolve("-p 12", REF_CIRCLE_VERTICES, ref_circle_line, ref_circle_parse,
                                   &a) != 0) {
            free(a.xy);
            return NULL;
        }
        GEOSGeometry *shell = ref_ring(h, a.xy, REF_CIRCLE_VERTICES);
        free(a.xy);
        return GEOSGeom_createPolygon_r(h, shell, NULL, 0);
    }
    size_t np = fence_polygon_count(f);
    GEOSGeometry **polys = calloc(np, sizeof *polys);
    for (size_t p = 0; p < np; p++) {
        size_t nr = fence_ring_count(f, p), n;
        GEOSGeometry **holes = calloc(nr, sizeof *holes);
        const double *v = fence_ring(f, p, 0, &n);
        GEOSGeometry *shell = ref_ring(h, v, n);
        for (size_t r = 1; r < nr; r++) {
            v = fence_ring(f, p, r, &n);
            holes[r - 1] = ref_ring(h, v, n);
        }
        polys[p] = GEOSGeom_createPolygon_r(h, shell, holes, (unsigned)(nr - 1));
        free(holes);
    }
    GEOSGeometry *g =
        np == 1 ? polys[0] : GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, polys, (unsigned)np);
    free(polys);
    return g;
}

/* Rough metres per degree (sphere), only to place test points; never a reference. */
static inline void ref_scale(double lat, double *kx, double *ky)
{
    *ky = 111195.0;
    *kx = 111195.0 * cos(lat * M_PI / 180.0);
}

/* n random points for fence f into lat[], lon[]: a share uniform over the bounding box widened
 * by 20 % on each side, the rest within 1 mm .. 100 m (log-uniform) of a random boundary
 * point, on either side. */
static inline void ref_points(const struct fence *f, size_t n, uint64_t seed, double *lat,
                              double *lon)
{
    double y0, x0, y1, x1;
    fence_bbox(f, &y0, &x0, &y1, &x1);
    double wy = y1 - y0, wx = x1 - x0;
    uint64_t s = seed;
    size_t nseg = 0;
    for (size_t p = 0; p < fence_polygon_count(f); p++)
        for (size_t r = 0; r < fence_ring_count(f, p); r++) {
            size_t k;
            fence_ring(f, p, r, &k);
            nseg += k;
        }
    for (size_t i = 0; i < n; i++) {
        if (i % 5 < 2) {
            lat[i] = y0 - 0.2 * wy + 1.4 * wy * ref_uniform(&s);
            lon[i] = x0 - 0.2 * wx + 1.4 * wx * ref_uniform(&s);
            continue;
        }
        double off = pow(10.0, -3.0 + 5.0 * ref_uniform(&s)) * (ref_uniform(&s) < 0.5 ? -1 : 1);
        double kx, ky;
        if (fence_kind_of(f) == FENCE_CIRCLE) {
            double clat, clon, r;
            fence_circle(f, &clat, &clon, &r);
            ref_scale(clat, &kx, &ky);
            double az = 2 * M_PI * ref_uniform(&s);
            lat[i] = clat + (r + off) * cos(az) / ky;
            lon[i] = clon + (r + off) * sin(az) / kx;
            continue;
        }
        size_t e = (size_t)(ref_uniform(&s) * (double)nseg), k = 0;
        const double *v = NULL;
        for (size_t p = 0; p < fence_polygon_count(f) && !v; p++)
            for (size_t r = 0; r < fence_ring_count(f, p) && !v; r++) {
                const double *ring = fence_ring(f, p, r, &k);
                if (e < k)
                    v = ring;
                else
                    e -= k;
            }
        double ax = v[2 * e], ay = v[2 * e + 1], bx = v[2 * ((e + 1) % k)],
               by = v[2 * ((e + 1) % k) + 1];
        double t = ref_uniform(&s);
        double px = ax + t * (bx - ax), py = ay + t * (by - ay);
        ref_scale(py, &kx, &ky);
        double dx = (bx - ax) * kx, dy = (by - ay) * ky, len = hypot(dx, dy);
        lat[i] = py + off * (dx / len) / ky;
        lon[i] = px - off * (dy / len) / kx;
    }
}

#endif
