/* geodesy: distances against GeographicLib's GeodSolve (Debian geographiclib-tools), an
 * independent implementation of Karney's algorithm, run as a separate program.
 *
 * Point-to-edge reference: the edge (straight in lon/lat) is sampled densely, GeodSolve gives
 * every sample's geodesic distance in one batch, and the search is refined around the minimum
 * for several rounds until the spacing is far below a millimetre. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "geodesy.h"
#include "rc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    SAMPLES = 41,      /* points per edge and refinement round */
    ROUNDS = 6,        /* spacing 5 km/40 = 125 m, then /20 a round: 6 m ... 0.04 mm */
    NEAR_CASES = 1000, /* points within 100 m of the edge */
    FAR_CASES = 400,   /* points 100 m to 10 km away */
    VERY_FAR = 40,     /* 10 to 40 km: exercises the geod_inverse branch */
    PAIRS = 3000,      /* random distance pairs around Tianjin */
};

/* Deterministic generator (xorshift64*), so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static double uniform(double lo, double hi)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 0x2545F4914F6CDD1Du;
    return lo + (hi - lo) * ((double)(r >> 11) / 9007199254740992.0);
}

/* Runs GeodSolve -i -p 9 on n "lat1 lon1 lat2 lon2" rows; out[i] = s12 in metres. */
static void geodsolve(const double (*in)[4], size_t n, double *out)
{
    char path[] = "/tmp/test_geodesy_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.17g %.17g %.17g %.17g\n", in[i][0], in[i][1], in[i][2], in[i][3]);
    assert_int_equal(fclose(f), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "GeodSolve -i -p 9 < %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256];
    size_t got = 0;
    while (got < n && fgets(line, sizeof line, p)) {
        double azi1, azi2, s12;
        assert_int_equal(sscanf(line, "%lf %lf %lf", &azi1, &azi2, &s12), 3);
        out[got++] = s12;
    }
    assert_int_equal(pclose(p), 0);
    unlink(path);
    assert_int_equal(got, n);
}

static void distance_matches_geodsolve(void **state)
{
    (void)state;
    size_t n = PAIRS + 8;
    double(*in)[4] = calloc(n, sizeof *in);
    double *ref = calloc(n, sizeof *ref);
    assert_non_null(in);
    assert_non_null(ref);
    for (size_t i = 0; i < PAIRS; i++) {
        in[i][0] = uniform(39.0, 39.4);
        in[i][1] = uniform(116.9, 117.9);
        in[i][2] = uniform(39.0, 39.4);
        in[i][3] = uniform(116.9, 117.9);
    }
    /* Global: long, near-antipodal, polar and equatorial lines. */
    static const double glob[8][4] = {
        {40.64, -73.78, 1.36, 103.99}, {0.0, 0.0, 0.5, 179.7},        {-30.0, 0.0, 29.9, 179.8},
        {89.9, 10.0, -89.9, -170.0},   {0.0, 0.0, 0.0, 90.0},         {51.5, -0.13, 39.9, 116.4},
        {39.1, 117.2, 39.1, 117.2},    {-45.0, 170.0, -45.0, -170.0},
    };
    memcpy(in[PAIRS], glob, sizeof glob);
    geodsolve((const double(*)[4])in, n, ref);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = geodesy_distance(in[i][0], in[i][1], in[i][2], in[i][3]);
        double e = fabs(d - ref[i]);
        worst = e > worst ? e : worst;
        assert_true(e < 1e-6);
    }
    printf("geodesy_distance vs GeodSolve: %zu pairs, worst %.3g m\n", n, worst);
    /* geodesy_point_distance: the mid-latitude formula up to GEODESY_SHORT_M (relative error
     * measured below 1e-6; the fence tests see the same), Karney beyond; the Tianjin pairs
     * span 0 to about 90 km. */
    double worst_rel = 0.0;
    size_t short_pairs = 0;
    for (size_t i = 0; i < PAIRS; i++) {
        double d = geodesy_point_distance(in[i][0], in[i][1], in[i][2], in[i][3]);
        double e = fabs(d - ref[i]);
        if (ref[i] <= GEODESY_SHORT_M) {
            short_pairs++;
            worst_rel = ref[i] > 0 && e / ref[i] > worst_rel ? e / ref[i] : worst_rel;
        }
        assert_true(e < 2e-6 * ref[i] + 1e-6);
    }
    assert_true(short_pairs > 0 && short_pairs < PAIRS);
    printf("geodesy_point_distance vs GeodSolve: %d pairs (%zu short), worst relative %.3g\n",
           (int)PAIRS, short_pairs, worst_rel);
    free(in);
    free(ref);
}

struct edge_case {
    double p[2], a[2], b[2];
    double lo, hi; /* current bracket of the reference search, in edge parameter t */
    double ref;    /* reference distance */
};

/* Refines every case's reference together: each round samples SAMPLES points of [lo, hi],
 * asks GeodSolve once for all of them, and narrows the bracket to the best sample's
 * neighbours. */
static void reference_distances(struct edge_case *c, size_t n)
{
    double(*in)[4] = calloc(n * SAMPLES, sizeof *in);
    double *s = calloc(n * SAMPLES, sizeof *s);
    assert_non_null(in);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        c[i].lo = 0.0;
        c[i].hi = 1.0;
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < SAMPLES; k++) {
                double t = c[i].lo + (c[i].hi - c[i].lo) * (double)k / (SAMPLES - 1);
                double *row = in[i * SAMPLES + k];
                row[0] = c[i].p[0];
                row[1] = c[i].p[1];
                row[2] = c[i].a[0] + t * (c[i].b[0] - c[i].a[0]);
                row[3] = c[i].a[1] + t * (c[i].b[1] - c[i].a[1]);
            }
        }
        geodsolve((const double(*)[4])in, n * SAMPLES, s);
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            for (size_t k = 1; k < SAMPLES; k++)
                if (s[i * SAMPLES + k] < s[i * SAMPLES + best])
                    best = k;
            double step = (c[i].hi - c[i].lo) / (SAMPLES - 1);
            double t = c[i].lo + step * (double)best;
            c[i].ref = s[i * SAMPLES + best];
            c[i].lo = fmax(0.0, t - step);
            c[i].hi = fmin(1.0, t + step);
        }
    }
    free(in);
    free(s);
}

/* A random edge up to max_len_m long near (lat0, lon0), and a point off it by up to off_m
 * (beyond the ends too). */
static void make_case(struct edge_case *c, double lat0, double lon0, double min_off_m,
                      double max_off_m)
{
    double mlat = 111132.0, mlon = 111320.0 * cos(lat0 * M_PI / 180.0);
    double len = uniform(1.0, 5000.0), az = uniform(0.0, 2.0 * M_PI);
    c->a[0] = lat0 + uniform(-0.1, 0.1);
    c->a[1] = lon0 + uniform(-0.25, 0.25);
    c->b[0] = c->a[0] + len * cos(az) / mlat;
    c->b[1] = c->a[1] + len * sin(az) / mlon;
    double t = uniform(-0.1, 1.1), off = uniform(min_off_m, max_off_m);
    double paz = uniform(0.0, 2.0 * M_PI);
    c->p[0] = c->a[0] + t * (c->b[0] - c->a[0]) + off * cos(paz) / mlat;
    c->p[1] = c->a[1] + t * (c->b[1] - c->a[1]) + off * sin(paz) / mlon;
}

static double edge_distance(const struct edge_case *c)
{
    return geodesy_point_edge_distance(c->p[0], c->p[1], c->a[0], c->a[1], c->b[0], c->b[1]);
}

static void point_edge_matches_geodsolve(void **state)
{
    (void)state;
    /* Centres: Tianjin mostly, plus the south and north of China. */
    static const double centres[][2] = {{39.2, 117.4}, {39.2, 117.4}, {18.3, 109.5}, {52.9, 122.5}};
    size_t m = NEAR_CASES + FAR_CASES + VERY_FAR, n = m + 4;
    struct edge_case *c = calloc(n, sizeof *c);
    assert_non_null(c);
    for (size_t i = 0; i < m; i++) {
        const double *o = centres[i % 4];
        if (i < NEAR_CASES)
            make_case(&c[i], o[0], o[1], 0.0, 100.0);
        else if (i < NEAR_CASES + FAR_CASES)
            make_case(&c[i], o[0], o[1], 100.0, 10000.0);
        else
            make_case(&c[i], o[0], o[1], 10000.0, 40000.0);
    }
    /* Exact cases: P at a vertex, P on the edge's interior, a zero-length edge. */
    size_t x = m;
    c[x] = (struct edge_case){{39.1, 117.2}, {39.1, 117.2}, {39.12, 117.23}, 0, 0, 0};
    c[x + 1] = (struct edge_case){{39.11, 117.215}, {39.1, 117.2}, {39.12, 117.23}, 0, 0, 0};
    c[x + 2] = (struct edge_case){{39.1, 117.2}, {39.1005, 117.2}, {39.1005, 117.2}, 0, 0, 0};
    c[x + 3] = (struct edge_case){{39.1, 117.2}, {39.1, 117.2001}, {39.1, 117.25}, 0, 0, 0};
    reference_distances(c, n);

    double worst_near = 0.0, worst_far_rel = 0.0, worst_slack_ratio = 0.0;
    size_t near = 0, far = 0;
    for (size_t i = 0; i < n; i++) {
        double d = edge_distance(&c[i]);
        double e = fabs(d - c[i].ref);
        if (c[i].ref <= 100.0) {
            near++;
            worst_near = fmax(worst_near, e);
            if (!(e < 1e-3))
                fprintf(stderr, "case %zu: %.6f vs reference %.6f\n", i, d, c[i].ref);
            assert_true(e < 1e-3); /* header: 1 mm (the issue asks 1 cm) */
        } else {
            far++;
            worst_far_rel = fmax(worst_far_rel, e / c[i].ref);
            assert_true(e < 1e-4 * c[i].ref); /* header: 0.01 % (the issue asks 0.1 %) */
        }
        /* The frame variants agree, and the cheap estimate stays within its slack. */
        struct geodesy_frame f;
        geodesy_frame_init(&f, c[i].p[0], c[i].p[1]);
        assert_true(geodesy_frame_edge_distance(&f, c[i].a[0], c[i].a[1], c[i].b[0], c[i].b[1]) ==
                    d);
        double ap = geodesy_frame_edge_approx(&f, c[i].a[0], c[i].a[1], c[i].b[0], c[i].b[1]);
        double slack = geodesy_frame_slack(&f, ap);
        worst_slack_ratio = fmax(worst_slack_ratio, fabs(ap - c[i].ref) / slack);
        assert_true(fabs(ap - c[i].ref) <= slack);
    }
    assert_true(near > NEAR_CASES / 2 && far > FAR_CASES / 2);
    assert_true(c[x].ref < 1e-6 && edge_distance(&c[x]) < 1e-9);
    assert_true(edge_distance(&c[x + 1]) < 1e-6);
    printf("point-edge vs GeodSolve: %zu within 100 m, worst %.3g m; %zu farther, worst "
           "relative %.3g; approx/slack worst %.2f\n",
           near, worst_near, far, worst_far_rel, worst_slack_ratio);
    free(c);
}

/* The pruned polyline minimum equals the brute-force minimum of the (GeodSolve-checked)
 * per-edge distance: pruning never drops the nearest edge. */
static void polyline_minimum_is_exact(void **state)
{
    (void)state;
    enum { MAXV = 150 };
    double ring[2 * MAXV];
    for (int trial = 0; trial < 400; trial++) {
        size_t nv = (size_t)uniform(4.0, (double)MAXV); /* includes the closing vertex */
        double clat = uniform(18.0, 53.0), clon = uniform(75.0, 135.0);
        double radius = uniform(0.0005, 0.05); /* degrees: ~50 m to ~5 km */
        for (size_t i = 0; i + 1 < nv; i++) {
            double ang = 2.0 * M_PI * (double)i / (double)(nv - 1);
            double r = radius * uniform(0.3, 1.0);
            ring[2 * i] = clon + r * cos(ang) / cos(clat * M_PI / 180.0);
            ring[2 * i + 1] = clat + r * sin(ang);
        }
        ring[2 * (nv - 1)] = ring[0];
        ring[2 * (nv - 1) + 1] = ring[1];
        for (int k = 0; k < 20; k++) {
            struct geodesy_frame f;
            double spread = k < 10 ? radius * 1.3 : radius * 6.0;
            geodesy_frame_init(&f, clat + uniform(-spread, spread),
                               clon + uniform(-spread, spread) / cos(clat * M_PI / 180.0));
            double brute = INFINITY;
            for (size_t i = 0; i + 1 < nv; i++) {
                const double *v = ring + 2 * i;
                brute = fmin(brute, geodesy_frame_edge_distance(&f, v[1], v[0], v[3], v[2]));
            }
            size_t edge = SIZE_MAX;
            double d = geodesy_frame_polyline_distance(&f, ring, nv, &edge);
            assert_true(d == brute);
            assert_true(edge < nv - 1);
            const double *v = ring + 2 * edge;
            assert_true(geodesy_frame_edge_distance(&f, v[1], v[0], v[3], v[2]) == d);
        }
    }
    struct geodesy_frame f;
    geodesy_frame_init(&f, 39.1, 117.2);
    size_t edge = 7;
    assert_true(isinf(geodesy_frame_polyline_distance(&f, ring, 1, &edge)));
    assert_int_equal(edge, 0);
}

/* geodesy_init loads PROJ explicitly (as the server's main does); after geodesy_fini a
 * distance loads it again on demand (as the agent relies on); no error is pending. */
static void init_and_fini(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    assert_int_equal(geodesy_init(err), RC_OK);
    assert_int_equal(geodesy_init(err), RC_OK); /* idempotent */
    double d = geodesy_distance(39.0, 117.0, 40.0, 117.0);
    assert_true(d > 110000.0 && d < 112000.0);
    geodesy_fini();
    assert_int_equal(geodesy_status(err), RC_OK);
    assert_true(geodesy_distance(39.0, 117.0, 40.0, 117.0) == d);
    geodesy_fini();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_and_fini),
        cmocka_unit_test(distance_matches_geodsolve),
        cmocka_unit_test(point_edge_matches_geodsolve),
        cmocka_unit_test(polyline_minimum_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
