/* fence: loading, validation, containment, distance and verdicts, against independent
 * references.
 *
 * - Containment: GEOS (GEOSPreparedContains_r on the same rings in longitude/latitude, the
 *   planar semantics of RFC 7946 edges) on 13,000 random points per sample fence, crowded near
 *   the boundary; every point farther than 5 cm from the boundary (at least 10,000) must agree.
 * - Distance: GeodSolve (GeographicLib) geodesic distances to points sampled along each edge
 *   (straight in lon/lat) and refined by zooming in on the minimum; circles: GeodSolve distance
 *   to the centre minus the radius. Within 1 cm up to 100 m from the boundary, 0.1 % beyond.
 *   A second, looser check on all 13,000 points: GEOS planar distance in a metric frame.
 * - Validation: a malformed file for every refusal, with the feature index and reason; GEOS
 *   agrees the topologically bad ones are invalid and the samples valid.
 * - Verdicts: the rule of INTERFACES.md at its edges (the <= on the boundary, tolerance,
 *   accuracy, no_fix). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "datum.h"
#include "fence.h"
#include "fence_ref.h"
#include "rc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_RANDOM = 13000, N_NEAR_REF = 300, N_FAR_REF = 60, REF_ROUNDS = 9 };
#define REF_SAMPLES ((size_t)9)

static const char *const SAMPLES[] = {"hexi-centre", "nankai-campus", "binhai-twin",
                                      "heping-circle"};
enum { N_SAMPLES = sizeof SAMPLES / sizeof SAMPLES[0] };

#define assert_near(a, b, tol) assert_near_impl((a), (b), (tol), __FILE__, __LINE__)
static void assert_near_impl(double a, double b, double tol, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        fprintf(stderr, "%s:%d: %.17g != %.17g (tolerance %g)\n", file, line, a, b, tol);
        fail();
    }
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void sample_path(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/geofences/%s.geojson", ROLLCALL_SOURCE_DIR, name);
}

static fence_set *load_sample(const char *name)
{
    char path[512], err[ERR_LEN] = "";
    sample_path(name, path, sizeof path);
    fence_set *set = NULL;
    int rc = fence_set_load(path, &set, err);
    if (rc)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return set;
}

static fence_set *parse_ok(const char *json)
{
    char err[ERR_LEN] = "";
    fence_set *set = NULL;
    int rc = fence_set_parse(json, strlen(json), "t.geojson", &set, err);
    if (rc)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return set;
}

static void geos_notice(const char *fmt, ...)
{
    (void)fmt;
}

/* ---------------------------------------------------------------------------------------- */

static void samples_load_with_declared_datums(void **state)
{
    (void)state;
    static const enum datum datums[N_SAMPLES] = {DATUM_GCJ02, DATUM_BD09, DATUM_WGS84, DATUM_GCJ02};
    static const enum fence_kind kinds[N_SAMPLES] = {FENCE_AREA, FENCE_AREA, FENCE_AREA,
                                                     FENCE_CIRCLE};
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSContext_setErrorHandler_r(h, geos_notice);
    for (size_t i = 0; i < N_SAMPLES; i++) {
        fence_set *set = load_sample(SAMPLES[i]);
        assert_int_equal(fence_set_count(set), 1);
        const struct fence *f = fence_set_at(set, 0);
        assert_string_equal(fence_id(f), SAMPLES[i]);
        assert_ptr_equal(fence_set_find(set, SAMPLES[i]), f);
        assert_null(fence_set_find(set, "nope"));
        assert_int_equal(fence_datum(f), datums[i]);
        assert_int_equal(fence_kind_of(f), kinds[i]);
        /* Every sample is in Tianjin (WGS-84 after conversion). */
        double y0, x0, y1, x1;
        fence_bbox(f, &y0, &x0, &y1, &x1);
        assert_true(y0 > 38.5 && y1 < 40.3 && x0 > 116.7 && x1 < 118.1);
        GEOSGeometry *g = ref_geos_fence(h, f);
        assert_non_null(g);
        assert_int_equal(GEOSisValid_r(h, g), 1);
        GEOSGeom_destroy_r(h, g);
        fence_set_free(set);
    }
    /* The required shapes: a courtyard (hole), two buildings, a concave outline. */
    fence_set *campus = load_sample("nankai-campus");
    assert_int_equal(fence_ring_count(fence_set_at(campus, 0), 0), 2);
    fence_set_free(campus);
    fence_set *twin = load_sample("binhai-twin");
    assert_int_equal(fence_polygon_count(fence_set_at(twin, 0)), 2);
    fence_set_free(twin);
    GEOS_finish_r(h);
}

/* The loaded WGS-84 vertices are the file's positions through datum_convert (and the file's
 * closing position is not a vertex of its own). */
static void conversion_happens_once_at_load(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        char path[512];
        size_t len;
        sample_path(SAMPLES[i], path, sizeof path);
        char *text = slurp(path, &len);
        cJSON *root = cJSON_Parse(text);
        assert_non_null(root);
        cJSON *feat = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "features"), 0);
        cJSON *coords = cJSON_GetObjectItem(cJSON_GetObjectItem(feat, "geometry"), "coordinates");
        fence_set *set = load_sample(SAMPLES[i]);
        const struct fence *f = fence_set_at(set, 0);
        enum datum d = fence_datum(f);
        double lat, lon;
        if (fence_kind_of(f) == FENCE_CIRCLE) {
            double clat, clon, r;
            assert_int_equal(fence_circle(f, &clat, &clon, &r), 0);
            assert_int_equal(
                datum_convert(d, DATUM_WGS84, cJSON_GetArrayItem(coords, 1)->valuedouble,
                              cJSON_GetArrayItem(coords, 0)->valuedouble, &lat, &lon, NULL),
                0);
            assert_near(clat, lat, 0);
            assert_near(clon, lon, 0);
        } else {
            cJSON *ring0 =
                fence_polygon_count(f) > 1 ? cJSON_GetArrayItem(coords, 0)->child : coords->child;
            size_t n;
            const double *v = fence_ring(f, 0, 0, &n);
            assert_int_equal(n, (size_t)cJSON_GetArraySize(ring0) - 1);
            size_t k = 0;
            for (cJSON *pos = ring0->child; k < n; pos = pos->next, k++) {
                assert_int_equal(datum_convert(d, DATUM_WGS84, pos->child->next->valuedouble,
                                               pos->child->valuedouble, &lat, &lon, NULL),
                                 0);
                assert_near(v[2 * k], lon, 0);
                assert_near(v[2 * k + 1], lat, 0);
            }
        }
        fence_set_free(set);
        cJSON_Delete(root);
        free(text);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* GEOS agreement on 13,000 points per sample fence (10,000+ compared). */

struct frame {
    double lat0, lon0, kx, ky;
};

static int to_metres(double *x, double *y, void *arg)
{
    const struct frame *fr = arg;
    *x = (*x - fr->lon0) * fr->kx;
    *y = (*y - fr->lat0) * fr->ky;
    return 1;
}

/* Metres per degree on the WGS-84 ellipsoid (radii of curvature; textbook formulas). */
static void ellipsoid_scale(double lat, double *kx, double *ky)
{
    const double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f);
    double s = sin(lat * M_PI / 180), w = 1 - e2 * s * s;
    *kx = a / sqrt(w) * cos(lat * M_PI / 180) * M_PI / 180;
    *ky = a * (1 - e2) / (w * sqrt(w)) * M_PI / 180;
}

static void containment_agrees_with_geos(void **state)
{
    (void)state;
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSContext_setErrorHandler_r(h, geos_notice);
    double *lat = malloc(N_RANDOM * sizeof *lat), *lon = malloc(N_RANDOM * sizeof *lon);
    assert_true(lat && lon);
    for (size_t i = 0; i < N_SAMPLES; i++) {
        fence_set *set = load_sample(SAMPLES[i]);
        const struct fence *f = fence_set_at(set, 0);
        GEOSGeometry *g = ref_geos_fence(h, f);
        assert_non_null(g);
        const GEOSPreparedGeometry *pg = GEOSPrepare_r(h, g);
        double y0, x0, y1, x1;
        fence_bbox(f, &y0, &x0, &y1, &x1);
        struct frame fr = {0.5 * (y0 + y1), 0.5 * (x0 + x1), 0, 0};
        ellipsoid_scale(fr.lat0, &fr.kx, &fr.ky);
        GEOSGeometry *gm = GEOSGeom_transformXY_r(h, g, to_metres, &fr);
        GEOSGeometry *bm = GEOSBoundary_r(h, gm);
        assert_non_null(bm);
        ref_points(f, N_RANDOM, 1000 + i, lat, lon);
        size_t compared = 0, close = 0, inside = 0;
        for (size_t k = 0; k < N_RANDOM; k++) {
            GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, lon[k], lat[k]);
            double x = lon[k], y = lat[k], dm = 0;
            to_metres(&x, &y, &fr);
            GEOSGeometry *ptm = GEOSGeom_createPointFromXY_r(h, x, y);
            assert_int_equal(GEOSDistance_r(h, bm, ptm, &dm), 1);
            char geos_in = GEOSPreparedContains_r(h, pg, pt);
            double sd = fence_signed_distance(f, lat[k], lon[k]);
            /* The frame's scale is off by < 1e-4 relative this close to its centre. */
            if (!(fabs(fabs(sd) - dm) <= 1e-4 * dm + 1e-3)) {
                fprintf(stderr, "%s: point %.9f %.9f: distance %.6f, GEOS frame %.6f\n", SAMPLES[i],
                        lat[k], lon[k], sd, dm);
                fail();
            }
            if (dm > 0.05 * 1.001) {
                compared++;
                inside += geos_in == 1;
                if ((sd < 0) != (geos_in == 1)) {
                    fprintf(stderr, "%s: point %.9f %.9f: ours %.6f, GEOS contains %d\n",
                            SAMPLES[i], lat[k], lon[k], sd, geos_in);
                    fail();
                }
            } else {
                close++;
            }
            GEOSGeom_destroy_r(h, pt);
            GEOSGeom_destroy_r(h, ptm);
        }
        /* The comparison covered both sides and most points. */
        assert_true(compared >= 10000);
        assert_true(inside > N_RANDOM / 5 && inside < compared - N_RANDOM / 5);
        fprintf(stderr, "%s: %zu points agree with GEOS (%zu inside), %zu within 5 cm skipped\n",
                SAMPLES[i], compared, inside, close);
        GEOSGeom_destroy_r(h, bm);
        GEOSGeom_destroy_r(h, gm);
        GEOSPreparedGeom_destroy_r(h, pg);
        GEOSGeom_destroy_r(h, g);
        fence_set_free(set);
    }
    free(lat);
    free(lon);
    GEOS_finish_r(h);
}

/* ---------------------------------------------------------------------------------------- */
/* GeodSolve distance reference. */

struct task {
    size_t point, edge;
    double lo, hi, best, best_t;
};

struct refjob {
    const double *plat, *plon;
    size_t npts;
    double *segs; /* alat, alon, blat, blon per edge */
    size_t nseg;
    struct task *tasks;
    size_t ntasks;
    double *out; /* one distance per line */
};

static void task_point(const struct refjob *j, const struct task *t, double u, double *lat,
                       double *lon)
{
    const double *s = j->segs + 4 * t->edge;
    *lat = s[0] + u * (s[2] - s[0]);
    *lon = s[1] + u * (s[3] - s[1]);
}

static double sample_t(const struct task *t, size_t k)
{
    return t->lo + (t->hi - t->lo) * (double)k / (REF_SAMPLES - 1);
}

static void job_line(size_t i, char *buf, size_t len, void *arg)
{
    const struct refjob *j = arg;
    const struct task *t = &j->tasks[i / REF_SAMPLES];
    double lat, lon;
    task_point(j, t, sample_t(t, i % REF_SAMPLES), &lat, &lon);
    snprintf(buf, len, "%.15f %.15f %.15f %.15f", j->plat[t->point], j->plon[t->point], lat, lon);
}

static void job_parse(size_t i, const char *text, void *arg)
{
    struct refjob *j = arg;
    double a1, a2, s = NAN;
    if (sscanf(text, "%lf %lf %lf", &a1, &a2, &s) != 3)
        s = NAN;
    j->out[i] = s;
}

/* Runs one GeodSolve round over every task; each task keeps its best sample and narrows its
 * interval to the two neighbouring samples. */
static void job_round(struct refjob *j)
{
    j->out = malloc(j->ntasks * REF_SAMPLES * sizeof *j->out);
    assert_non_null(j->out);
    assert_int_equal(ref_geodsolve("-i -p 9", j->ntasks * REF_SAMPLES, job_line, job_parse, j), 0);
    for (size_t i = 0; i < j->ntasks; i++) {
        struct task *t = &j->tasks[i];
        size_t bk = 0;
        for (size_t k = 0; k < REF_SAMPLES; k++) {
            double d = j->out[i * REF_SAMPLES + k];
            if (isnan(d))
                fail();
            if (d < t->best) {
                t->best = d;
                t->best_t = sample_t(t, k);
            }
            if (d <= j->out[i * REF_SAMPLES + bk])
                bk = k;
        }
        double step = (t->hi - t->lo) / (REF_SAMPLES - 1), c = sample_t(t, bk);
        t->lo = fmax(0.0, c - step);
        t->hi = fmin(1.0, c + step);
    }
    free(j->out);
}

/* Reference unsigned distances from each point to the fence's edges. */
static void reference_distances(const struct fence *f, const double *plat, const double *plon,
                                size_t n, double *ref)
{
    struct refjob j = {plat, plon, n, NULL, 0, NULL, 0, NULL};
    for (size_t p = 0; p < fence_polygon_count(f); p++)
        for (size_t r = 0; r < fence_ring_count(f, p); r++) {
            size_t k;
            fence_ring(f, p, r, &k);
            j.nseg += k;
        }
    j.segs = malloc(4 * j.nseg * sizeof *j.segs);
    size_t e = 0;
    for (size_t p = 0; p < fence_polygon_count(f); p++)
        for (size_t r = 0; r < fence_ring_count(f, p); r++) {
            size_t k;
            const double *v = fence_ring(f, p, r, &k);
            for (size_t i = 0; i < k; i++, e++) {
                j.segs[4 * e] = v[2 * i + 1];
                j.segs[4 * e + 1] = v[2 * i];
                j.segs[4 * e + 2] = v[2 * ((i + 1) % k) + 1];
                j.segs[4 * e + 3] = v[2 * ((i + 1) % k)];
            }
        }
    /* Round 1: every edge of every point, coarsely. */
    j.ntasks = n * j.nseg;
    j.tasks = malloc(j.ntasks * sizeof *j.tasks);
    assert_true(j.segs && j.tasks);
    for (size_t i = 0; i < j.ntasks; i++)
        j.tasks[i] = (struct task){i / j.nseg, i % j.nseg, 0, 1, INFINITY, 0};
    job_round(&j);
    /* Keep the edges that can hold the minimum: a sampled minimum overstates the true one by
     * at most half the sample spacing. */
    size_t kept = 0;
    for (size_t p = 0; p < n; p++) {
        double g = INFINITY;
        for (size_t s = 0; s < j.nseg; s++)
            g = fmin(g, j.tasks[p * j.nseg + s].best);
        for (size_t s = 0; s < j.nseg; s++) {
            struct task t = j.tasks[p * j.nseg + s];
            const double *sg = j.segs + 4 * s;
            double kx, ky;
            ref_scale(sg[0], &kx, &ky);
            double len = hypot((sg[3] - sg[1]) * kx, (sg[2] - sg[0]) * ky);
            if (t.best - 0.6 * len / (REF_SAMPLES - 1) - 0.01 <= g)
                j.tasks[kept++] = t;
        }
    }
    j.ntasks = kept;
    for (int r = 1; r < REF_ROUNDS; r++)
        job_round(&j);
    for (size_t p = 0; p < n; p++)
        ref[p] = INFINITY;
    for (size_t i = 0; i < j.ntasks; i++)
        ref[j.tasks[i].point] = fmin(ref[j.tasks[i].point], j.tasks[i].best);
    free(j.tasks);
    free(j.segs);
}

struct circle_job {
    const double *plat, *plon;
    double clat, clon;
    double *out;
};

static void circle_line(size_t i, char *buf, size_t len, void *arg)
{
    const struct circle_job *c = arg;
    snprintf(buf, len, "%.15f %.15f %.15f %.15f", c->plat[i], c->plon[i], c->clat, c->clon);
}

static void circle_parse(size_t i, const char *text, void *arg)
{
    struct circle_job *c = arg;
    double a1, a2, s = NAN;
    if (sscanf(text, "%lf %lf %lf", &a1, &a2, &s) != 3)
        s = NAN;
    c->out[i] = s;
}

static void distances_agree_with_geodsolve(void **state)
{
    (void)state;
    enum { N = N_NEAR_REF + N_FAR_REF, POOL = 2000 };
    double *plat = malloc(POOL * sizeof *plat), *plon = malloc(POOL * sizeof *plon);
    double lat[N], lon[N], ref[N];
    assert_true(plat && plon);
    for (size_t i = 0; i < N_SAMPLES; i++) {
        fence_set *set = load_sample(SAMPLES[i]);
        const struct fence *f = fence_set_at(set, 0);
        /* Near points: the generator's near-boundary ones (every 5th point set is uniform). */
        ref_points(f, POOL, 7000 + i, plat, plon);
        size_t n = 0;
        for (size_t k = 0; k < POOL && n < N_NEAR_REF; k++)
            if (k % 5 >= 2) {
                lat[n] = plat[k];
                lon[n++] = plon[k];
            }
        assert_int_equal(n, N_NEAR_REF);
        /* Far points: 100 m to 20 km (fast path), then to 60 km (far path). */
        double y0, x0, y1, x1, kx, ky;
        fence_bbox(f, &y0, &x0, &y1, &x1);
        ref_scale(y0, &kx, &ky);
        uint64_t s = 99 + i;
        for (size_t k = 0; k < N_FAR_REF; k++, n++) {
            double d = k < 2 * N_FAR_REF / 3 ? 100 + 20000 * ref_uniform(&s)
                                             : 20000 + 40000 * ref_uniform(&s);
            double az = 2 * M_PI * ref_uniform(&s);
            lat[n] = 0.5 * (y0 + y1) + d * cos(az) / ky;
            lon[n] = 0.5 * (x0 + x1) + d * sin(az) / kx;
        }
        if (fence_kind_of(f) == FENCE_CIRCLE) {
            double r;
            struct circle_job c = {lat, lon, 0, 0, ref};
            fence_circle(f, &c.clat, &c.clon, &r);
            assert_int_equal(ref_geodsolve("-i -p 9", N, circle_line, circle_parse, &c), 0);
            for (size_t k = 0; k < N; k++)
                ref[k] = fabs(ref[k] - r);
        } else {
            reference_distances(f, lat, lon, N, ref);
        }
        double worst_near = 0, worst_far = 0;
        size_t within100 = 0;
        for (size_t k = 0; k < N; k++) {
            double ours = fabs(fence_signed_distance(f, lat[k], lon[k]));
            double tol = ref[k] <= 100 ? 0.01 : 1e-3 * ref[k];
            if (!(fabs(ours - ref[k]) <= tol)) {
                fprintf(stderr, "%s: point %.9f %.9f: ours %.6f, GeodSolve %.6f\n", SAMPLES[i],
                        lat[k], lon[k], ours, ref[k]);
                fail();
            }
            if (ref[k] <= 100) {
                within100++;
                worst_near = fmax(worst_near, fabs(ours - ref[k]));
            } else {
                worst_far = fmax(worst_far, fabs(ours - ref[k]) / ref[k]);
            }
        }
        assert_true(within100 >= N_NEAR_REF * 9 / 10);
        fprintf(stderr, "%s: %zu points within 100 m: worst %.2e m; beyond: worst %.2e relative\n",
                SAMPLES[i], within100, worst_near, worst_far);
        fence_set_free(set);
    }
    free(plat);
    free(plon);
}

/* ---------------------------------------------------------------------------------------- */
/* Verdicts. */

/* A 0.002 x 0.002 degree square (about 170 x 220 m) with tolerance 10 m, and one without. */
static const char SQUARE[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"id\":\"sq\"},\"geometry\":{\"type\":\"Polygon\","
    "\"coordinates\":[[[117.2,39.1],[117.202,39.1],[117.202,39.102],[117.2,39.102],[117.2,39.1]]]}}"
    ","
    "{\"type\":\"Feature\",\"properties\":{\"id\":\"sq10\",\"tolerance_m\":10},\"geometry\":{"
    "\"type\":\"Polygon\",\"coordinates\":[[[117.2,39.1],[117.202,39.1],[117.202,39.102],"
    "[117.2,39.102],[117.2,39.1]]]}}]}";

static struct fence_judgement judge(const struct fence *f, double lat, double lon, double eph)
{
    struct fence_fix fix = {true, lat, lon, eph};
    struct fence_judgement j;
    char err[ERR_LEN];
    assert_int_equal(fence_judge(f, &fix, 7.0, &j, err), 0);
    return j;
}

static void boundary_is_inside_with_zero_accuracy(void **state)
{
    (void)state;
    fence_set *set = parse_ok(SQUARE);
    const struct fence *f = fence_set_find(set, "sq");
    /* Vertices, points on the horizontal and vertical edges: d = 0, so d + 0 <= 0. */
    static const double on[][2] = {{39.1, 117.2},      {39.102, 117.202}, {39.1, 117.2013},
                                   {39.102, 117.2007}, {39.1011, 117.2},  {39.1005, 117.202}};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
        struct fence_judgement j = judge(f, on[i][0], on[i][1], 0.0);
        assert_int_equal(j.verdict, FENCE_INSIDE);
        assert_true(j.distance_m == 0.0);
        /* Any accuracy > 0 makes it uncertain. */
        assert_int_equal(judge(f, on[i][0], on[i][1], 0.001).verdict, FENCE_UNCERTAIN);
    }
    /* The circle's boundary: a GeodSolve point at exactly the radius is within a micrometre. */
    fence_set *c = load_sample("heping-circle");
    double clat, clon, r;
    fence_circle(fence_set_at(c, 0), &clat, &clon, &r);
    assert_near(r, 100.0, 0);
    fence_set_free(c);
    fence_set_free(set);
}

static void tolerance_and_accuracy_follow_the_rule(void **state)
{
    (void)state;
    fence_set *set = parse_ok(SQUARE);
    const struct fence *sq = fence_set_find(set, "sq"), *sq10 = fence_set_find(set, "sq10");
    /* South of the south edge by a GeodSolve-measured distance: due south along the meridian
     * 117.201, the nearest boundary point is (39.1, 117.201). Reference distances:
     * GeodSolve -i: 39.1 117.201 39.09995 117.201 -> 5.54994... m (computed below). */
    double lat5 = 39.1 - 5.0 / 110996.0; /* about 5 m south */
    struct circle_job cj;
    double dref = 0;
    double plat[1] = {lat5}, plon[1] = {117.201};
    cj = (struct circle_job){plat, plon, 39.1, 117.201, &dref};
    assert_int_equal(ref_geodsolve("-i -p 9", 1, circle_line, circle_parse, &cj), 0);
    assert_true(dref > 4.9 && dref < 5.1);

    struct fence_judgement j = judge(sq, lat5, 117.201, 0.0);
    assert_int_equal(j.verdict, FENCE_OUTSIDE);
    assert_near(j.distance_m, dref, 1e-3);
    assert_near(j.eph_m, 0.0, 0);
    /* e = 6 > d: uncertain; e = 4 < d: still outside. */
    assert_int_equal(judge(sq, lat5, 117.201, dref + 1.0).verdict, FENCE_UNCERTAIN);
    assert_int_equal(judge(sq, lat5, 117.201, dref - 1.0).verdict, FENCE_OUTSIDE);
    /* Tolerance 10 m widens the fence: d = dref - 10 < 0. */
    j = judge(sq10, lat5, 117.201, 0.0);
    assert_int_equal(j.verdict, FENCE_INSIDE);
    assert_near(j.distance_m, dref - 10.0, 1e-3);
    assert_int_equal(judge(sq10, lat5, 117.201, 10.0 - dref - 1.0).verdict, FENCE_INSIDE);
    assert_int_equal(judge(sq10, lat5, 117.201, 10.0 - dref + 1.0).verdict, FENCE_UNCERTAIN);
    /* Inside by the same amount (north of the south edge): negative distance. */
    j = judge(sq, 39.1 + (39.1 - lat5), 117.201, 0.0);
    assert_int_equal(j.verdict, FENCE_INSIDE);
    assert_true(j.distance_m < -4.9 && j.distance_m > -5.1);
    /* No accuracy from the receiver: the assumed 7 m is used. */
    j = judge(sq, lat5, 117.201, NAN);
    assert_near(j.eph_m, 7.0, 0);
    assert_int_equal(j.verdict, FENCE_UNCERTAIN);
    fence_set_free(set);
}

static void no_fix_and_bad_fixes(void **state)
{
    (void)state;
    fence_set *set = parse_ok(SQUARE);
    const struct fence *f = fence_set_at(set, 0);
    char err[ERR_LEN] = "";
    struct fence_judgement j;
    struct fence_fix none = {false, NAN, NAN, NAN};
    assert_int_equal(fence_judge(f, &none, 5.0, &j, err), 0);
    assert_int_equal(j.verdict, FENCE_NO_FIX);
    assert_true(isnan(j.distance_m));
    assert_string_equal(fence_verdict_name(j.verdict), "no_fix");
    assert_string_equal(fence_verdict_name(FENCE_INSIDE), "inside");
    assert_string_equal(fence_verdict_name(FENCE_OUTSIDE), "outside");
    assert_string_equal(fence_verdict_name(FENCE_UNCERTAIN), "uncertain");
    static const struct fence_fix bad[] = {
        {true, NAN, 117.2, 1}, {true, 39.1, INFINITY, 1}, {true, 91, 117.2, 1},
        {true, 39.1, -181, 1}, {true, 39.1, 117.2, -1},   {true, 39.1, 117.2, INFINITY},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(fence_judge(f, &bad[i], 5.0, &j, err), RC_INVAL);
    struct fence_fix ok = {true, 39.101, 117.201, NAN};
    assert_int_equal(fence_judge(f, &ok, NAN, &j, err), RC_INVAL);
    assert_int_equal(fence_judge(f, &ok, -1, &j, err), RC_INVAL);
    fence_set_free(set);
}

/* ---------------------------------------------------------------------------------------- */
/* Refusals. */

#define GOOD_FEATURE                                                                               \
    "{\"type\":\"Feature\",\"properties\":{\"id\":\"good\"},\"geometry\":{\"type\":\"Polygon\","   \
    "\"coordinates\":[[[117.2,39.1],[117.21,39.1],[117.21,39.11],[117.2,39.11],[117.2,39.1]]]}}"
#define FEATURE(props, type, coords)                                                               \
    "{\"type\":\"Feature\",\"properties\":{" props "},\"geometry\":{\"type\":\"" type              \
    "\",\"coordinates\":" coords "}}"
#define COLL(second) "{\"type\":\"FeatureCollection\",\"features\":[" GOOD_FEATURE "," second "]}"
#define SQ(x0, y0, x1, y1)                                                                         \
    "[[" #x0 "," #y0 "],[" #x1 "," #y0 "],[" #x1 "," #y1 "],[" #x0 "," #y1 "],[" #x0 "," #y0 "]]"

struct bad_case {
    const char *json;
    int rc;
    const char *reason;
    bool geos_invalid; /* GEOS must also call this geometry invalid */
};

static const struct bad_case BAD[] = {
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[[[117.2,39.1],[117.21,39.1],[117.21,39.11],[117.2,39.11]]]")),
     RC_INVAL, "feature 1: ring 0 is not closed", true},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon", "[[[117.2,39.1],[117.21,39.1],[117.2,39.1]]]")),
     RC_INVAL, "feature 1: ring 0 has 3 positions, fewer than 4", true},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[[[117.2,39.1],[117.21,39.1],[117.21,39.1],[117.2,39.1]]]")),
     RC_INVAL, "feature 1: ring 0 has fewer than 3 distinct positions", true},
    /* a bow tie */
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[[[117.2,39.1],[117.21,39.11],[117.21,39.1],[117.2,39.11],[117.2,39.1]]]")),
     RC_INVAL, "feature 1: ring 0 intersects itself", true},
    /* a ring touching itself at a vertex (figure eight through one point) */
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[[[117.2,39.1],[117.21,39.1],[117.205,39.105],[117.21,39.11],[117.2,39.11],"
                  "[117.205,39.105],[117.2,39.1]]]")),
     RC_INVAL, "feature 1: ring 0 intersects itself", true},
    /* a spike: the ring goes out and back along one line */
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[[[117.2,39.1],[117.21,39.1],[117.22,39.1],[117.21,39.1],[117.21,39.11],"
                  "[117.2,39.11],[117.2,39.1]]]")),
     RC_INVAL, "feature 1: ring 0 intersects itself", true},
    /* collinear: no area */
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[[[117.2,39.1],[117.21,39.1],[117.22,39.1],[117.2,39.1]]]")),
     RC_INVAL, "feature 1: ring 0 intersects itself", true},
    /* a hole crossing the shell */
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[" SQ(117.2, 39.1, 117.21, 39.11) "," SQ(117.205, 39.105, 117.215, 39.108) "]")),
     RC_INVAL, "feature 1: ring 0 and ring 1 of the polygon intersect", true},
    /* a hole touching the shell */
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[" SQ(117.2, 39.1, 117.21, 39.11) ",[[117.2,39.105],[117.205,39.104],"
                                                     "[117.205,39.106],[117.2,39.105]]]")),
     RC_INVAL, "feature 1: ring 0 and ring 1 of the polygon intersect", false},
    /* a hole outside the shell */
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[" SQ(117.2, 39.1, 117.21, 39.11) "," SQ(117.22, 39.1, 117.23, 39.11) "]")),
     RC_INVAL, "feature 1: ring 1 (a hole) is not inside ring 0", true},
    /* a hole inside another hole */
    {COLL(
         FEATURE("\"id\":\"b\"", "Polygon",
                 "[" SQ(117.2, 39.1, 117.21, 39.11) "," SQ(117.201, 39.101, 117.209, 39.109) "," SQ(
                     117.202, 39.102, 117.203, 39.103) "]")),
     RC_INVAL, "(a hole) lies inside hole", true},
    /* overlapping polygons */
    {COLL(FEATURE(
         "\"id\":\"b\"", "MultiPolygon",
         "[[" SQ(117.2, 39.1, 117.21, 39.11) "],[" SQ(117.205, 39.105, 117.215, 39.115) "]]")),
     RC_INVAL, "feature 1: polygon 0 and polygon 1 intersect", true},
    /* a polygon inside another */
    {COLL(FEATURE(
         "\"id\":\"b\"", "MultiPolygon",
         "[[" SQ(117.2, 39.1, 117.21, 39.11) "],[" SQ(117.202, 39.102, 117.203, 39.103) "]]")),
     RC_INVAL, "feature 1: polygon 1 lies inside polygon 0", true},
    /* an unclosed ring in the second polygon of a MultiPolygon */
    {COLL(FEATURE("\"id\":\"b\"", "MultiPolygon",
                  "[[" SQ(117.2, 39.1, 117.21, 39.11) "],[[[117.3,39.1],[117.31,39.1],[117.31,"
                                                      "39.11],[117.3,39.11],[117.3,39.12]]]]")),
     RC_INVAL, "feature 1: polygon 1 ring 0 is not closed", true},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon", "[" SQ(117.2, 39.1, 117.21, 91) "]")), RC_INVAL,
     "feature 1: ring 0 position 2 is out of range", false},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon", "[" SQ(117.2, 39.1, 181, 39.11) "]")), RC_INVAL,
     "feature 1: ring 0 position 1 is out of range", false},
    {COLL(FEATURE("\"id\":\"b\",\"radius_m\":50", "Point", "[117.2, -90.5]")), RC_INVAL,
     "feature 1: position 0 is out of range", false},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon", "[" SQ(117.2, 39.1, 1e999, 39.11) "]")), RC_INVAL,
     "feature 1: ring 0 position 1 holds a non-finite", false},
    {COLL(FEATURE("\"id\":\"b\",\"datum\":\"CGCS2000\"", "Polygon",
                  "[" SQ(117.2, 39.1, 117.21, 39.11) "]")),
     RC_INVAL, "feature 1: unknown datum 'CGCS2000'", false},
    {COLL(FEATURE("\"id\":\"good\"", "Polygon", "[" SQ(117.3, 39.1, 117.31, 39.11) "]")), RC_INVAL,
     "feature 1: duplicate id 'good' (also feature 0)", false},
    {COLL(FEATURE("\"id\":\"b\",\"radius_m\":0", "Point", "[117.2, 39.1]")), RC_INVAL,
     "feature 1: property 'radius_m' is 0, outside (0, 20000]", false},
    {COLL(FEATURE("\"id\":\"b\",\"radius_m\":-5", "Point", "[117.2, 39.1]")), RC_INVAL,
     "feature 1: property 'radius_m' is -5", false},
    {COLL(FEATURE("\"id\":\"b\",\"radius_m\":1e999", "Point", "[117.2, 39.1]")), RC_INVAL,
     "feature 1: property 'radius_m' is inf", false},
    {COLL(FEATURE("\"id\":\"b\"", "Point", "[117.2, 39.1]")), RC_INVAL,
     "feature 1: a Point fence needs property 'radius_m'", false},
    {COLL(FEATURE("\"id\":\"b\",\"radius_m\":50", "Polygon",
                  "[" SQ(117.3, 39.1, 117.31, 39.11) "]")),
     RC_INVAL, "feature 1: property 'radius_m' applies to a Point only", false},
    /* NaN is not JSON: refused as such, whole file */
    {COLL(FEATURE("\"id\":\"b\",\"radius_m\":NaN", "Point", "[117.2, 39.1]")), RC_INVAL,
     "t.geojson: not valid JSON", false},
    {COLL(FEATURE("\"id\":\"b\"", "Point", "[NaN, 39.1]")), RC_INVAL, "not valid JSON", false},
    {COLL(FEATURE("\"id\":\"b\",\"tolerance_m\":-1", "Polygon",
                  "[" SQ(117.3, 39.1, 117.31, 39.11) "]")),
     RC_INVAL, "feature 1: property 'tolerance_m' is -1", false},
    {COLL(FEATURE("\"name\":\"x\"", "Polygon", "[" SQ(117.3, 39.1, 117.31, 39.11) "]")), RC_INVAL,
     "feature 1: property 'id' is missing", false},
    {COLL(FEATURE("\"id\":7", "Polygon", "[" SQ(117.3, 39.1, 117.31, 39.11) "]")), RC_INVAL,
     "feature 1: property 'id' must be a string", false},
    {COLL(FEATURE("\"id\":\"\"", "Polygon", "[" SQ(117.3, 39.1, 117.31, 39.11) "]")), RC_INVAL,
     "feature 1: property 'id' must be 1 to 64 bytes", false},
    {COLL(FEATURE("\"id\":\"b\",\"id\":\"c\"", "Polygon", "[" SQ(117.3, 39.1, 117.31, 39.11) "]")),
     RC_INVAL, "feature 1: duplicate property 'id'", false},
    {COLL(FEATURE("\"id\":\"b\"", "LineString", "[[117.2,39.1],[117.21,39.1]]")), RC_INVAL,
     "feature 1: geometry type 'LineString' is not a fence", false},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[[[117.2,39.1],[117.21],[117.21,39.11],[117.2,39.1]]]")),
     RC_INVAL, "feature 1: ring 0 position 1 must be [longitude, latitude]", false},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon",
                  "[[[117.2,39.1],[117.21,\"39.1\"],[117.21,39.11],[117.2,39.1]]]")),
     RC_INVAL, "feature 1: ring 0 position 1 holds a non-finite or non-number", false},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon", "[" SQ(117.2, 39.1, 117.8, 39.11) "]")), RC_LIMIT,
     "feature 1: spans more than 0.5 degrees", false},
    {COLL(FEATURE("\"id\":\"b\"", "Polygon", "[" SQ(179.9, 39.1, -179.9, 39.11) "]")), RC_LIMIT,
     "feature 1: spans more than 0.5 degrees (or crosses the antimeridian)", false},
    /* A crs that changes what the numbers mean: named, and what to do said. */
    {COLL("{\"type\":\"Feature\",\"properties\":{\"id\":\"b\"},\"geometry\":{\"type\":"
          "\"Polygon\",\"coordinates\":[" SQ(117.3, 39.1, 117.31, 39.11) "]},\"crs\":{}}"),
     RC_INVAL, "feature 1: crs without a name is not WGS-84", false},
    {COLL("{\"type\":\"Feature\",\"properties\":{\"id\":\"b\"},\"geometry\":{\"type\":"
          "\"Polygon\",\"coordinates\":[" SQ(
              117.3, 39.1, 117.31,
              39.11) "],\"crs\":{\"type\":"
                     "\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::4490\"}}}}"),
     RC_INVAL, "feature 1: crs 'urn:ogc:def:crs:EPSG::4490' is not WGS-84", false},
    {"{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":"
     "\"urn:ogc:def:crs:EPSG::3857\"}},\"features\":[" GOOD_FEATURE "]}",
     RC_INVAL,
     "t.geojson: crs 'urn:ogc:def:crs:EPSG::3857' is not WGS-84 longitude/latitude: reproject to "
     "EPSG:4326 (ogr2ogr -t_srs EPSG:4326), or for GCJ-02/BD-09 drop the crs and declare "
     "properties.datum",
     false},
    {COLL("{\"type\":\"Feature\",\"properties\":{\"id\":\"b\"},\"geometry\":{\"type\":"
          "\"GeometryCollection\",\"geometries\":[{\"type\":\"Polygon\",\"coordinates\":[" SQ(
              117.3, 39.1, 117.31, 39.11) "]}]}}"),
     RC_INVAL,
     "feature 1: a GeometryCollection is not a fence: make each polygon a feature of its own, or "
     "join them in one MultiPolygon",
     false},
    {COLL("{\"type\":\"Feature\",\"properties\":{\"id\":\"b\",\"stroke\":\"#f00\"},"
          "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[117.3,39.1],[117.31],[117.31,"
          "39.11],[117.3,39.1]]]}}"),
     RC_INVAL, "feature 1: ring 0 position 1 must be [longitude, latitude]", false},
    {COLL("{\"type\":\"Feature\",\"properties\":{\"id\":\"b\"}}"), RC_INVAL,
     "feature 1: geometry must be an object", false},
    {"{\"type\":\"FeatureCollection\",\"features\":[]}", RC_INVAL,
     "'features' must be a non-empty array", false},
    {"{\"type\":\"Polygon\",\"coordinates\":[]}", RC_INVAL,
     "not a GeoJSON FeatureCollection or Feature", false},
    {"{\"type\":\"FeatureCollection\",\"features\":[" GOOD_FEATURE "", RC_INVAL, "not valid JSON",
     false},
};

static void every_refusal_names_feature_and_reason(void **state)
{
    (void)state;
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSContext_setErrorHandler_r(h, geos_notice);
    GEOSGeoJSONReader *reader = GEOSGeoJSONReader_create_r(h);
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char err[ERR_LEN] = "";
        fence_set *set = (fence_set *)(uintptr_t)1; /* must stay untouched */
        int rc = fence_set_parse(BAD[i].json, strlen(BAD[i].json), "t.geojson", &set, err);
        if (rc != BAD[i].rc || !strstr(err, BAD[i].reason) || strncmp(err, "t.geojson: ", 11)) {
            fprintf(stderr, "case %zu: rc %d, err '%s', expected %d '%s'\n", i, rc, err, BAD[i].rc,
                    BAD[i].reason);
            fail();
        }
        assert_ptr_equal(set, (fence_set *)(uintptr_t)1);
        assert_null(strchr(err, '\n'));
        if (BAD[i].geos_invalid) {
            /* GEOS reads the same geometry and finds it invalid too. */
            cJSON *root = cJSON_Parse(BAD[i].json);
            cJSON *geom = cJSON_GetObjectItem(
                cJSON_GetArrayItem(cJSON_GetObjectItem(root, "features"), 1), "geometry");
            char *gj = cJSON_PrintUnformatted(geom);
            GEOSGeometry *g = GEOSGeoJSONReader_readGeometry_r(h, reader, gj);
            bool invalid = !g || GEOSisValid_r(h, g) != 1;
            if (!invalid)
                fprintf(stderr, "case %zu: GEOS finds it valid\n", i);
            assert_true(invalid);
            if (g)
                GEOSGeom_destroy_r(h, g);
            cJSON_free(gj);
            cJSON_Delete(root);
        }
    }
    GEOSGeoJSONReader_destroy_r(h, reader);
    GEOS_finish_r(h);
}

/* Limits: too large, too many features, too many positions. */
static void limits_are_refused(void **state)
{
    (void)state;
    char err[ERR_LEN];
    fence_set *set = NULL;
    size_t big = (size_t)FENCE_MAX_FILE_BYTES + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, ' ', big);
    assert_int_equal(fence_set_parse(buf, big, "t.geojson", &set, err), RC_LIMIT);
    assert_non_null(strstr(err, "larger than"));
    free(buf);
    /* Loading reads only a regular file (core/file): a directory or a device is refused before
     * any read, with one line. */
    assert_int_equal(fence_set_load("/dev/zero", &set, err), RC_INVAL);
    assert_string_equal(err, "/dev/zero: not a regular file");
    assert_int_equal(fence_set_load("/tmp", &set, err), RC_INVAL);
    assert_string_equal(err, "/tmp: not a regular file");
    assert_null(set);

    /* FENCE_MAX_FEATURES + 1 small features. */
    size_t cap = (FENCE_MAX_FEATURES + 2) * 200, len = 0;
    buf = malloc(cap);
    len += (size_t)snprintf(buf + len, cap - len, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (int i = 0; i <= FENCE_MAX_FEATURES; i++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "%s{\"type\":\"Feature\",\"properties\":{\"id\":\"f%d\"},"
                                "\"geometry\":{\"type\":\"Point\",\"coordinates\":[117,39]}}",
                                i ? "," : "", i);
    len += (size_t)snprintf(buf + len, cap - len, "]}");
    assert_int_equal(fence_set_parse(buf, len, "t.geojson", &set, err), RC_LIMIT);
    assert_non_null(strstr(err, "more than 1000 features"));
    free(buf);

    /* A ring of FENCE_MAX_FENCE_VERTICES + 1 positions (a fine circle). */
    cap = (size_t)(FENCE_MAX_FENCE_VERTICES + 10) * 48;
    buf = malloc(cap);
    len = (size_t)snprintf(buf, cap,
                           "{\"type\":\"Feature\",\"properties\":{\"id\":\"x\"},"
                           "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[");
    int n = FENCE_MAX_FENCE_VERTICES;
    for (int i = 0; i <= n; i++) {
        double a = 2 * M_PI * (i % n) / n;
        len += (size_t)snprintf(buf + len, cap - len, "%s[%.9f,%.9f]", i ? "," : "",
                                117.2 + 0.01 * cos(a), 39.1 + 0.01 * sin(a));
    }
    len += (size_t)snprintf(buf + len, cap - len, "]]}}");
    assert_int_equal(fence_set_parse(buf, len, "t.geojson", &set, err), RC_LIMIT);
    assert_non_null(strstr(err, "feature 0: more than 10000 positions"));
    free(buf);
}

/* A single Feature (not a collection) is a set of one; a file with several fences is found by
 * id; a large ring exercises the indexes (points checked against GEOS). */
static void single_feature_and_large_ring(void **state)
{
    (void)state;
    size_t cap = 5000 * 48, len;
    char *buf = malloc(cap);
    len = (size_t)snprintf(buf, cap,
                           "{\"type\":\"Feature\",\"properties\":{\"id\":\"star\"},"
                           "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[");
    int n = 4000;
    for (int i = 0; i <= n; i++) {
        double a = 2 * M_PI * (i % n) / n, r = 0.01 * (1 + 0.3 * sin(37 * a));
        len += (size_t)snprintf(buf + len, cap - len, "%s[%.9f,%.9f]", i ? "," : "",
                                117.2 + r * cos(a), 39.1 + r * sin(a));
    }
    len += (size_t)snprintf(buf + len, cap - len, "]]}}");
    fence_set *set = parse_ok(buf);
    free(buf);
    const struct fence *f = fence_set_at(set, 0);
    assert_int_equal(fence_set_count(set), 1);
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSGeometry *g = ref_geos_fence(h, f);
    assert_int_equal(GEOSisValid_r(h, g), 1);
    const GEOSPreparedGeometry *pg = GEOSPrepare_r(h, g);
    double lat[2000], lon[2000];
    ref_points(f, 2000, 5, lat, lon);
    for (size_t k = 0; k < 2000; k++) {
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, lon[k], lat[k]);
        double sd = fence_signed_distance(f, lat[k], lon[k]);
        if (fabs(sd) > 0.05)
            assert_int_equal(sd < 0, GEOSPreparedContains_r(h, pg, pt) == 1);
        GEOSGeom_destroy_r(h, pt);
    }
    GEOSPreparedGeom_destroy_r(h, pg);
    GEOSGeom_destroy_r(h, g);
    GEOS_finish_r(h);
    fence_set_free(set);
}

/* ---------------------------------------------------------------------------------------- */
/* Whole-file conversion. */

static void file_conversion_round_trips(void **state)
{
    (void)state;
    char path[512], err[ERR_LEN] = "";
    size_t len;
    sample_path("hexi-centre", path, sizeof path);
    char *gcj = slurp(path, &len);
    char *wgs = NULL, *back = NULL;
    assert_int_equal(fence_convert_file(gcj, len, path, DATUM_GCJ02, DATUM_WGS84, &wgs, err), 0);
    fence_set *a = load_sample("hexi-centre");
    fence_set *b = parse_ok(wgs);
    const struct fence *fa = fence_set_at(a, 0), *fb = fence_set_at(b, 0);
    assert_int_equal(fence_datum(fb), DATUM_WGS84);
    assert_string_equal(fence_id(fb), "hexi-centre");
    assert_near(fence_tolerance_m(fb), 5.0, 0);
    size_t na, nb;
    const double *va = fence_ring(fa, 0, 0, &na), *vb = fence_ring(fb, 0, 0, &nb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < 2 * na; i++)
        assert_near(va[i], vb[i], 1e-13);
    /* And back to GCJ-02: the original positions (the inverse is exact to < 1 mm). */
    assert_int_equal(
        fence_convert_file(wgs, strlen(wgs), "w", DATUM_WGS84, DATUM_GCJ02, &back, err), 0);
    cJSON *orig = cJSON_Parse(gcj), *round = cJSON_Parse(back);
    cJSON *ro = cJSON_GetObjectItem(
                    cJSON_GetObjectItem(
                        cJSON_GetArrayItem(cJSON_GetObjectItem(orig, "features"), 0), "geometry"),
                    "coordinates")
                    ->child->child;
    cJSON *rr = cJSON_GetObjectItem(
                    cJSON_GetObjectItem(
                        cJSON_GetArrayItem(cJSON_GetObjectItem(round, "features"), 0), "geometry"),
                    "coordinates")
                    ->child->child;
    for (; ro && rr; ro = ro->next, rr = rr->next) {
        assert_near(ro->child->valuedouble, rr->child->valuedouble, 1e-8);
        assert_near(ro->child->next->valuedouble, rr->child->next->valuedouble, 1e-8);
    }
    assert_true(!ro && !rr);
    /* A file declaring GCJ-02 is refused as BD-09 input. */
    char *x = NULL;
    assert_int_equal(fence_convert_file(gcj, len, "h", DATUM_BD09, DATUM_WGS84, &x, err), RC_INVAL);
    assert_non_null(strstr(err, "h: feature 0: declares datum GCJ-02, not BD-09"));
    assert_null(x);
    cJSON_Delete(orig);
    cJSON_Delete(round);
    fence_set_free(a);
    fence_set_free(b);
    free(wgs);
    free(back);
    free(gcj);
}

/* What GDAL 3.6 writes (ogr2ogr -f GeoJSON, then with -lco RFC7946=YES) and what geojson.io
 * exports, byte for byte: foreign members ("name", a CRS84 "crs", a numeric feature "id") and
 * properties beyond ours are read past; the fences are the same as in our own spelling. */
static const char GDAL_DEFAULT[] =
    "{\n"
    "\"type\": \"FeatureCollection\",\n"
    "\"name\": \"venues\",\n"
    "\"crs\": { \"type\": \"name\", \"properties\": { \"name\": "
    "\"urn:ogc:def:crs:OGC:1.3:CRS84\" } },\n"
    "\"features\": [\n"
    "{ \"type\": \"Feature\", \"properties\": { \"id\": \"hall-a\", \"name\": \"礼堂\", "
    "\"地址\": \"卫津路94号\", \"kind\": \"hall\", \"tolerance_m\": null }, \"geometry\": { "
    "\"type\": \"Polygon\", \"coordinates\": [ [ [ 117.17, 39.1 ], [ 117.17, 39.101 ], [ "
    "117.171, 39.101 ], [ 117.171, 39.1 ], [ 117.17, 39.1 ] ] ] } },\n"
    "{ \"type\": \"Feature\", \"properties\": { \"id\": \"yard\", \"name\": null, "
    "\"地址\": null, \"kind\": \"yard\", \"tolerance_m\": 5.0 }, \"geometry\": { \"type\": "
    "\"Polygon\", \"coordinates\": [ [ [ 117.172, 39.1 ], [ 117.172, 39.101 ], [ 117.173, "
    "39.101 ], [ 117.173, 39.1 ], [ 117.172, 39.1 ] ] ] } }\n"
    "]\n"
    "}\n";
static const char GDAL_RFC7946[] =
    "{\n"
    "\"type\": \"FeatureCollection\",\n"
    "\"name\": \"venues\",\n"
    "\"features\": [\n"
    "{ \"type\": \"Feature\", \"properties\": { \"id\": \"hall-a\", \"name\": \"礼堂\", "
    "\"地址\": \"卫津路94号\", \"kind\": \"hall\", \"tolerance_m\": null }, \"geometry\": { "
    "\"type\": \"Polygon\", \"coordinates\": [ [ [ 117.17, 39.1 ], [ 117.171, 39.1 ], [ "
    "117.171, 39.101 ], [ 117.17, 39.101 ], [ 117.17, 39.1 ] ] ] } },\n"
    "{ \"type\": \"Feature\", \"properties\": { \"id\": \"yard\", \"name\": null, "
    "\"地址\": null, \"kind\": \"yard\", \"tolerance_m\": 5.0 }, \"geometry\": { \"type\": "
    "\"Polygon\", \"coordinates\": [ [ [ 117.172, 39.1 ], [ 117.173, 39.1 ], [ 117.173, "
    "39.101 ], [ 117.172, 39.101 ], [ 117.172, 39.1 ] ] ] } }\n"
    "]\n"
    "}\n";
static const char GEOJSON_IO[] = "{\n"
                                 "  \"type\": \"FeatureCollection\",\n"
                                 "  \"features\": [\n"
                                 "    {\n"
                                 "      \"type\": \"Feature\",\n"
                                 "      \"properties\": {\n"
                                 "        \"stroke\": \"#555555\",\n"
                                 "        \"stroke-width\": 2,\n"
                                 "        \"stroke-opacity\": 1,\n"
                                 "        \"fill\": \"#555555\",\n"
                                 "        \"fill-opacity\": 0.5,\n"
                                 "        \"id\": \"hall-a\"\n"
                                 "      },\n"
                                 "      \"geometry\": {\n"
                                 "        \"coordinates\": [\n"
                                 "          [\n"
                                 "            [\n"
                                 "              117.17,\n"
                                 "              39.1\n"
                                 "            ],\n"
                                 "            [\n"
                                 "              117.171,\n"
                                 "              39.1\n"
                                 "            ],\n"
                                 "            [\n"
                                 "              117.171,\n"
                                 "              39.101\n"
                                 "            ],\n"
                                 "            [\n"
                                 "              117.17,\n"
                                 "              39.101\n"
                                 "            ],\n"
                                 "            [\n"
                                 "              117.17,\n"
                                 "              39.1\n"
                                 "            ]\n"
                                 "          ]\n"
                                 "        ],\n"
                                 "        \"type\": \"Polygon\"\n"
                                 "      },\n"
                                 "      \"id\": 0\n"
                                 "    }\n"
                                 "  ]\n"
                                 "}";

static bool has_note(const fence_set *set, const char *note)
{
    for (size_t i = 0; i < fence_set_ignored_count(set) && i < FENCE_MAX_NOTES; i++)
        if (strcmp(fence_set_ignored(set, i), note) == 0)
            return true;
    return false;
}

static void foreign_geojson_is_read(void **state)
{
    (void)state;
    static const char OURS[] = COLL(FEATURE("\"id\":\"hall-a\",\"name\":\"礼堂\"", "Polygon",
                                            "[" SQ(117.17, 39.1, 117.171, 39.101) "]"));
    char err[ERR_LEN] = "";
    fence_set *ours = NULL;
    assert_int_equal(fence_set_parse(OURS, strlen(OURS), "ours", &ours, err), 0);
    assert_int_equal(fence_set_ignored_count(ours), 0);
    assert_null(fence_set_ignored(ours, 0));
    const struct fence *ref = fence_set_find(ours, "hall-a");
    assert_non_null(ref);
    const struct {
        const char *label, *text;
        size_t nfences, nignored;
        const char *notes[4];
    } FILES[] = {
        {"gdal.geojson",
         GDAL_DEFAULT,
         2,
         6,
         {"member 'name'", "member 'crs'", "feature 0: property '地址'",
          "feature 1: property 'kind'"}},
        {"gdal-rfc7946.geojson",
         GDAL_RFC7946,
         2,
         5,
         {"member 'name'", "feature 0: property 'kind'", "feature 1: property '地址'", NULL}},
        {"geojson-io.geojson",
         GEOJSON_IO,
         1,
         6,
         {"feature 0: property 'stroke'", "feature 0: property 'fill-opacity'",
          "feature 0: member 'id'", NULL}},
    };
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        fence_set *set = NULL;
        err[0] = '\0';
        int rc = fence_set_parse(FILES[i].text, strlen(FILES[i].text), FILES[i].label, &set, err);
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", FILES[i].label, err);
        assert_int_equal(rc, 0);
        assert_int_equal(fence_set_count(set), FILES[i].nfences);
        assert_int_equal(fence_set_ignored_count(set), FILES[i].nignored);
        for (size_t k = 0; k < 4 && FILES[i].notes[k]; k++) {
            if (!has_note(set, FILES[i].notes[k]))
                fprintf(stderr, "%s: no note '%s'\n", FILES[i].label, FILES[i].notes[k]);
            assert_true(has_note(set, FILES[i].notes[k]));
        }
        const struct fence *f = fence_set_find(set, "hall-a");
        assert_non_null(f);
        assert_int_equal(fence_datum(f), DATUM_WGS84);
        assert_true(fence_tolerance_m(f) == 0.0); /* null: left out */
        assert_string_equal(fence_name(f), FILES[i].nfences == 2 ? "礼堂" : "");
        /* The same fence as ours: every probe gets the same signed distance. */
        for (int k = 0; k < 9; k++) {
            double lat = 39.0995 + 0.00025 * k, lon = 117.1695 + 0.0003 * k;
            assert_near(fence_signed_distance(f, lat, lon), fence_signed_distance(ref, lat, lon),
                        1e-9);
        }
        if (FILES[i].nfences == 2) {
            const struct fence *y = fence_set_find(set, "yard");
            assert_non_null(y);
            assert_true(fence_tolerance_m(y) == 5.0);
            assert_string_equal(fence_name(y), "");
        }
        fence_set_free(set);
    }

    /* Converting a GDAL file drops its crs (the datum changes) and keeps the rest readable. */
    char *gcj = NULL;
    assert_int_equal(fence_convert_file(GDAL_DEFAULT, strlen(GDAL_DEFAULT), "gdal.geojson",
                                        DATUM_WGS84, DATUM_GCJ02, &gcj, err),
                     0);
    assert_null(strstr(gcj, "\"crs\""));
    assert_non_null(strstr(gcj, "\"地址\""));
    fence_set *back = NULL;
    assert_int_equal(fence_set_parse(gcj, strlen(gcj), "gcj", &back, err), 0);
    assert_int_equal(fence_datum(fence_set_find(back, "hall-a")), DATUM_GCJ02);
    fence_set_free(back);
    free(gcj);

    /* A crs of WGS-84 under another accepted name is ignored too; notes stop at the cap but the
     * count goes on. */
    char big[16384];
    int n;
    fence_set *capped = NULL;
    n = snprintf(big, sizeof big,
                 "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":"
                 "{\"name\":\"urn:ogc:def:crs:EPSG::4326\"}},\"features\":[{\"type\":"
                 "\"Feature\",\"properties\":{\"id\":\"x\",\"radius_m\":50");
    for (int k = 0; k < 40; k++)
        n += snprintf(big + n, sizeof big - (size_t)n, ",\"p%d\":%d", k, k);
    snprintf(big + n, sizeof big - (size_t)n,
             "},\"geometry\":{\"type\":\"Point\",\"coordinates\":[117.17,39.1]}}]}");
    assert_int_equal(fence_set_parse(big, strlen(big), "capped", &capped, err), 0);
    assert_int_equal(fence_set_ignored_count(capped), 41);
    assert_string_equal(fence_set_ignored(capped, 0), "member 'crs'");
    assert_string_equal(fence_set_ignored(capped, 1), "feature 0: property 'p0'");
    assert_non_null(fence_set_ignored(capped, FENCE_MAX_NOTES - 1));
    assert_null(fence_set_ignored(capped, FENCE_MAX_NOTES));
    fence_set_free(capped);
    fence_set_free(ours);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(samples_load_with_declared_datums),
        cmocka_unit_test(conversion_happens_once_at_load),
        cmocka_unit_test(containment_agrees_with_geos),
        cmocka_unit_test(distances_agree_with_geodsolve),
        cmocka_unit_test(boundary_is_inside_with_zero_accuracy),
        cmocka_unit_test(tolerance_and_accuracy_follow_the_rule),
        cmocka_unit_test(no_fix_and_bad_fixes),
        cmocka_unit_test(every_refusal_names_feature_and_reason),
        cmocka_unit_test(limits_are_refused),
        cmocka_unit_test(single_feature_and_large_ring),
        cmocka_unit_test(file_conversion_round_trips),
        cmocka_unit_test(foreign_geojson_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
