/* Fence verdicts per second against GEOS prepared containment, on the same points in the same
 * run (docs/PERFORMANCE.md, "Fences").
 *
 * For each sample fence in geofences/: N points (default 200,000; argv[1]) from the tests'
 * generator (40 % uniform over the bounding box widened by 20 % per side, 60 % within
 * 1 mm .. 100 m of the boundary). Timed: fence_judge (containment and signed geodesic
 * distance, the full verdict) per point, and GEOSPreparedContains_r per point on the same
 * fence as a GEOS polygon in lon/lat with the GEOS points created before timing. Each loop
 * runs 5 times; the fastest run counts. Prints one line per fence and the ratio. */
#include "fence.h"
#include "fence_ref.h"
#include "rc.h"

#include <geos_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { RUNS = 5, DEFAULT_POINTS = 200000 };

static const char *const SAMPLES[] = {"hexi-centre", "nankai-campus", "binhai-twin",
                                      "heping-circle"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t n = DEFAULT_POINTS;
    if (argc > 1) {
        char *end = NULL;
        long v = strtol(argv[1], &end, 10);
        if (!end || *end || v < 1000 || v > 100000000) {
            fprintf(stderr, "usage: bench_fence [POINTS (1000..1e8)]\n");
            return 2;
        }
        n = (size_t)v;
    }
    GEOSContextHandle_t h = GEOS_init_r();
    double *lat = malloc(n * sizeof *lat), *lon = malloc(n * sizeof *lon);
    GEOSGeometry **pts = malloc(n * sizeof *pts);
    if (!lat || !lon || !pts)
        return 1;
    printf("%-14s %6s %9s %16s %16s %7s\n", "fence", "edges", "points", "ours verdicts/s",
           "GEOS contains/s", "ratio");
    for (size_t s = 0; s < sizeof SAMPLES / sizeof SAMPLES[0]; s++) {
        char path[512], err[ERR_LEN] = "";
        snprintf(path, sizeof path, "%s/geofences/%s.geojson", ROLLCALL_SOURCE_DIR, SAMPLES[s]);
        fence_set *set = NULL;
        if (fence_set_load(path, &set, err) != 0) {
            fprintf(stderr, "bench_fence: %s\n", err);
            return 1;
        }
        const struct fence *f = fence_set_at(set, 0);
        GEOSGeometry *g = ref_geos_fence(h, f);
        if (!g) {
            fprintf(stderr, "bench_fence: cannot build the GEOS polygon (GeodSolve?)\n");
            return 1;
        }
        const GEOSPreparedGeometry *pg = GEOSPrepare_r(h, g);
        ref_points(f, n, 42 + s, lat, lon);
        for (size_t i = 0; i < n; i++)
            pts[i] = GEOSGeom_createPointFromXY_r(h, lon[i], lat[i]);
        size_t edges = 0;
        for (size_t p = 0; p < fence_polygon_count(f); p++)
            for (size_t r = 0; r < fence_ring_count(f, p); r++) {
                size_t k;
                fence_ring(f, p, r, &k);
                edges += k;
            }
        if (fence_kind_of(f) == FENCE_CIRCLE)
            edges = REF_CIRCLE_VERTICES; /* GEOS's polygon; ours is a centre and radius */

        double best_ours = 1e99, best_geos = 1e99;
        size_t in_ours = 0, in_geos = 0;
        for (int run = 0; run < RUNS; run++) {
            size_t inside = 0;
            double t0 = now();
            for (size_t i = 0; i < n; i++) {
                struct fence_fix fix = {true, lat[i], lon[i], 0.0};
                struct fence_judgement j;
                if (fence_judge(f, &fix, 0.0, &j, err) != 0)
                    return 1;
                inside += j.distance_m + fence_tolerance_m(f) < 0; /* contained */
            }
            double t1 = now();
            size_t contained = 0;
            for (size_t i = 0; i < n; i++)
                contained += GEOSPreparedContains_r(h, pg, pts[i]) == 1;
            double t2 = now();
            best_ours = t1 - t0 < best_ours ? t1 - t0 : best_ours;
            best_geos = t2 - t1 < best_geos ? t2 - t1 : best_geos;
            in_ours = inside;
            in_geos = contained;
        }
        double ours = (double)n / best_ours, geos = (double)n / best_geos;
        printf("%-14s %6zu %9zu %16.0f %16.0f %7.2f   (contained: ours %zu, GEOS %zu)\n",
               SAMPLES[s], edges, n, ours, geos, ours / geos, in_ours, in_geos);
        for (size_t i = 0; i < n; i++)
            GEOSGeom_destroy_r(h, pts[i]);
        GEOSPreparedGeom_destroy_r(h, pg);
        GEOSGeom_destroy_r(h, g);
        fence_set_free(set);
    }
    printf("ratio = ours verdicts/s over GEOS prepared containment/s (>= 1: the full verdict "
           "is at least as fast)\n");
    free(pts);
    free(lat);
    free(lon);
    GEOS_finish_r(h);
    return 0;
}
