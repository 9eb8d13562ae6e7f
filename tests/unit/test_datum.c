/* datum: WGS-84 / GCJ-02 / BD-09 against published vectors of two independent public
 * implementations, exact round trips over China and Tianjin, out-of-China identity, refusals.
 *
 * References (numbers copied, not code):
 *  [E] googollee/eviltransform, go/transform_test.go (same table in javascript/test.js and
 *      python/test.py): WGS-84 -> GCJ-02 for Shanghai, Shenzhen and Beijing.
 *  [W] wandergis/coordtransform, test/app.js: the four conversions of (116.404, 39.915).
 * Both publish the forward GCJ-02 and BD-09 formulas' full double output, which this code must
 * reproduce. Their inverses are the usual one-step approximations (eviltransform's README:
 * "accuracy is 1m to 2m"), so for inverses the test checks agreement within that error and
 * then that our inverse is exact: forward(inverse(p)) == p. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "datum.h"
#include "rc.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* 1e-9 degree is 0.11 mm of latitude: the promised inverse accuracy. */
static const double INV_TOL_DEG = 1e-9;
/* Published doubles printed with 16-17 significant digits; libm differences stay far below. */
static const double VEC_TOL_DEG = 1e-11;

/* cmocka 1.1 has no double assertion; this one prints both values on failure. */
#define assert_near(a, b, tol) assert_near_impl((a), (b), (tol), __FILE__, __LINE__)
static void assert_near_impl(double a, double b, double tol, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        fprintf(stderr, "%s:%d: %.17g != %.17g (tolerance %g)\n", file, line, a, b, tol);
        fail();
    }
}

/* Metres between two nearby points (local flat approximation; ample for mm checks). */
static double metres(double lat1, double lon1, double lat2, double lon2)
{
    double k = 111319.49;
    double dx = (lon2 - lon1) * k * cos(lat1 * M_PI / 180.0);
    double dy = (lat2 - lat1) * k;
    return sqrt(dx * dx + dy * dy);
}

static void conv(enum datum from, enum datum to, double lat, double lon, double *olat, double *olon)
{
    char err[ERR_LEN] = "";
    int rc = datum_convert(from, to, lat, lon, olat, olon, err);
    if (rc != 0)
        fprintf(stderr, "convert %s->%s %.12f %.12f: %s\n", datum_name(from), datum_name(to), lat,
                lon, err);
    assert_int_equal(rc, 0);
}

static void eviltransform_vectors(void **state)
{
    (void)state;
    /* [E] wgsLat, wgsLng, gcjLat, gcjLng */
    static const double v[][4] = {
        {31.1774276, 121.5272106, 31.17530398364597, 121.531541859215}, /* shanghai */
        {22.543847, 113.912316, 22.540796131694766, 113.9171764808363}, /* shenzhen */
        {39.911954, 116.377817, 39.91334545536069, 116.38404722455657}, /* beijing */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        double lat, lon;
        conv(DATUM_WGS84, DATUM_GCJ02, v[i][0], v[i][1], &lat, &lon);
        assert_near(lat, v[i][2], VEC_TOL_DEG);
        assert_near(lon, v[i][3], VEC_TOL_DEG);
        /* eviltransform's exact inverse promises 0.5 m; ours recovers the input exactly. */
        conv(DATUM_GCJ02, DATUM_WGS84, v[i][2], v[i][3], &lat, &lon);
        assert_near(lat, v[i][0], INV_TOL_DEG);
        assert_near(lon, v[i][1], INV_TOL_DEG);
    }
}

static void coordtransform_vectors(void **state)
{
    (void)state;
    double lat, lon, blat, blon;
    /* [W] wgs84togcj02(116.404, 39.915) = [116.41024449916938, 39.91640428150164] */
    conv(DATUM_WGS84, DATUM_GCJ02, 39.915, 116.404, &lat, &lon);
    assert_near(lat, 39.91640428150164, VEC_TOL_DEG);
    assert_near(lon, 116.41024449916938, VEC_TOL_DEG);
    /* [W] gcj02tobd09(116.404, 39.915) = [116.41036949371029, 39.92133699351021] */
    conv(DATUM_GCJ02, DATUM_BD09, 39.915, 116.404, &lat, &lon);
    assert_near(lat, 39.92133699351021, VEC_TOL_DEG);
    assert_near(lon, 116.41036949371029, VEC_TOL_DEG);
    /* [W] bd09togcj02(116.404, 39.915) = [116.39762729119315, 39.90865673957631], a one-step
     * approximation: agree within 0.1 m, and ours maps back onto the input exactly. */
    conv(DATUM_BD09, DATUM_GCJ02, 39.915, 116.404, &lat, &lon);
    assert_true(metres(lat, lon, 39.90865673957631, 116.39762729119315) < 0.1);
    conv(DATUM_GCJ02, DATUM_BD09, lat, lon, &blat, &blon);
    assert_near(blat, 39.915, INV_TOL_DEG);
    assert_near(blon, 116.404, INV_TOL_DEG);
    /* [W] gcj02towgs84(116.404, 39.915) = [116.39775550083061, 39.91359571849836], one-step
     * (metres off in general): agree within 2 m, and ours is exact. */
    conv(DATUM_GCJ02, DATUM_WGS84, 39.915, 116.404, &lat, &lon);
    assert_true(metres(lat, lon, 39.91359571849836, 116.39775550083061) < 2.0);
    conv(DATUM_WGS84, DATUM_GCJ02, lat, lon, &blat, &blon);
    assert_near(blat, 39.915, INV_TOL_DEG);
    assert_near(blon, 116.404, INV_TOL_DEG);
    /* WGS-84 -> BD-09 is the composition of the two published forward formulas. */
    conv(DATUM_WGS84, DATUM_GCJ02, 39.915, 116.404, &lat, &lon);
    conv(DATUM_GCJ02, DATUM_BD09, lat, lon, &lat, &lon);
    conv(DATUM_WGS84, DATUM_BD09, 39.915, 116.404, &blat, &blon);
    assert_near(blat, lat, 1e-13);
    assert_near(blon, lon, 1e-13);
}

struct grid_stats {
    double worst_m;
    long points;
};

/* Every forward must be undone by the inverse, and every inverse (GCJ->WGS, BD->GCJ, BD->WGS)
 * must map back through the forward onto its input, to better than 1 mm. The second holds
 * only for points that are images of points in the rectangle: not for the last ~700 m
 * inside its edges (GCJ-02 offsets are up to that), so the caller says which apply. */
static void check_point(double lat, double lon, bool inverse_first, struct grid_stats *st)
{
    static const enum datum pairs[][2] = {
        {DATUM_WGS84, DATUM_GCJ02}, {DATUM_WGS84, DATUM_BD09}, {DATUM_GCJ02, DATUM_BD09},
        {DATUM_GCJ02, DATUM_WGS84}, {DATUM_BD09, DATUM_WGS84}, {DATUM_BD09, DATUM_GCJ02},
    };
    size_t n = inverse_first ? 6 : 3;
    for (size_t i = 0; i < n; i++) {
        double a, b, c, d;
        conv(pairs[i][0], pairs[i][1], lat, lon, &a, &b);
        conv(pairs[i][1], pairs[i][0], a, b, &c, &d);
        double m = metres(lat, lon, c, d);
        if (m > st->worst_m)
            st->worst_m = m;
        if (!(m < 1e-3))
            fprintf(stderr, "%s->%s->back at %.9f %.9f: %.3g m\n", datum_name(pairs[i][0]),
                    datum_name(pairs[i][1]), lat, lon, m);
        assert_true(m < 1e-3);
    }
    st->points++;
}

static void round_trips_over_china(void **state)
{
    (void)state;
    struct grid_stats st = {0.0, 0};
    /* The whole rectangle on a 0.25 degree grid (includes lon 105, the formula's cusp)... */
    for (double lat = 0.8293; lat <= 55.8271; lat += 0.25) {
        for (double lon = 72.004; lon <= 137.8347; lon += 0.25) {
            bool inner = lat > 0.8293 + 0.02 && lat < 55.8271 - 0.02 && lon > 72.004 + 0.02 &&
                         lon < 137.8347 - 0.02;
            check_point(lat, lon, inner, &st);
        }
    }
    /* ... its exact corners and the cusp line ... */
    check_point(0.8293, 72.004, false, &st);
    check_point(55.8271, 137.8347, false, &st);
    for (double lat = 20.0; lat < 50.0; lat += 0.37)
        check_point(lat, 105.0, true, &st);
    /* ... and Tianjin on a ~550 m grid. */
    for (double lat = 38.55; lat <= 40.25; lat += 0.005)
        for (double lon = 116.70; lon <= 118.05; lon += 0.005)
            check_point(lat, lon, true, &st);
    printf("round trips: %ld points x 6 directions, worst %.3g m\n", st.points, st.worst_m);
}

static void outside_china_unchanged(void **state)
{
    (void)state;
    static const double pts[][2] = {
        {35.6812, 139.7671},  /* Tokyo: east of the rectangle */
        {51.5074, -0.1278},   /* London */
        {40.7128, -74.0060},  /* New York */
        {-33.8688, 151.2093}, /* Sydney */
        {0.0, 0.0},           {90.0, 180.0},
        {-90.0, -180.0},      {39.0, 71.9}, /* west of the rectangle, beyond any offset's reach */
        {55.93, 120.0},                     /* north */
    };
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        assert_false(datum_in_china(pts[i][0], pts[i][1]));
        for (int from = DATUM_WGS84; from <= DATUM_BD09; from++) {
            for (int to = DATUM_WGS84; to <= DATUM_BD09; to++) {
                double lat, lon;
                conv((enum datum)from, (enum datum)to, pts[i][0], pts[i][1], &lat, &lon);
                if (lat != pts[i][0] || lon != pts[i][1])
                    fprintf(stderr, "%d->%d moved %.9f %.9f\n", from, to, pts[i][0], pts[i][1]);
                assert_near(lat, pts[i][0], 0.0);
                assert_near(lon, pts[i][1], 0.0);
            }
        }
    }
    assert_true(datum_in_china(39.1, 117.2));
}

/* Just outside the rectangle a GCJ-02 or BD-09 point can still be the image of a point inside
 * it; the inverse then returns that point (so the round trip stays exact) rather than the
 * input unchanged. */
static void edge_of_rectangle(void **state)
{
    (void)state;
    double lat, lon, flat, flon;
    conv(DATUM_BD09, DATUM_GCJ02, 55.83, 120.0, &lat, &lon);
    assert_true(datum_in_china(lat, lon));
    conv(DATUM_GCJ02, DATUM_BD09, lat, lon, &flat, &flon);
    assert_near(flat, 55.83, INV_TOL_DEG);
    assert_near(flon, 120.0, INV_TOL_DEG);
    /* WGS-84 55.8271 N is inside, its GCJ-02 image outside: the inverse still finds it. */
    conv(DATUM_WGS84, DATUM_GCJ02, 55.8271, 120.0, &lat, &lon);
    assert_false(datum_in_china(lat, lon));
    conv(DATUM_GCJ02, DATUM_WGS84, lat, lon, &flat, &flon);
    assert_near(flat, 55.8271, INV_TOL_DEG);
    assert_near(flon, 120.0, INV_TOL_DEG);
}

static void refusals(void **state)
{
    (void)state;
    static const double bad[][2] = {
        {NAN, 117.0},     {39.0, NAN},    {INFINITY, 117.0}, {39.0, -INFINITY},
        {90.0001, 117.0}, {-91.0, 117.0}, {39.0, 180.5},     {39.0, -181.0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[ERR_LEN] = "";
        double lat = 1.5, lon = 2.5;
        assert_int_equal(
            datum_convert(DATUM_GCJ02, DATUM_WGS84, bad[i][0], bad[i][1], &lat, &lon, err),
            RC_INVAL);
        assert_true(strlen(err) > 0);
        assert_true(lat == 1.5 && lon == 2.5); /* nothing changed */
    }
    char err[ERR_LEN] = "";
    double lat = 0.0, lon = 0.0;
    assert_int_equal(datum_convert((enum datum)7, DATUM_WGS84, 39.0, 117.0, &lat, &lon, err),
                     RC_INVAL);
    assert_int_equal(datum_convert(DATUM_WGS84, DATUM_BD09, 39.0, 117.0, NULL, &lon, err),
                     RC_INVAL);
}

static void names(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        enum datum d;
    } ok[] = {
        {"WGS-84", DATUM_WGS84}, {"wgs84", DATUM_WGS84}, {"GCJ-02", DATUM_GCJ02},
        {"gcj02", DATUM_GCJ02},  {"BD-09", DATUM_BD09},  {"Bd09", DATUM_BD09},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        enum datum d = DATUM_WGS84;
        assert_int_equal(datum_parse(ok[i].s, &d), 0);
        assert_int_equal(d, ok[i].d);
    }
    static const char *const bad[] = {"", "WGS-85", "GCJ", "BD-09 ", "EPSG:4326"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum datum d = DATUM_BD09;
        assert_int_equal(datum_parse(bad[i], &d), RC_INVAL);
        assert_int_equal(d, DATUM_BD09);
    }
    enum datum d;
    assert_int_equal(datum_parse(NULL, &d), RC_INVAL);
    assert_string_equal(datum_name(DATUM_WGS84), "WGS-84");
    assert_string_equal(datum_name(DATUM_GCJ02), "GCJ-02");
    assert_string_equal(datum_name(DATUM_BD09), "BD-09");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eviltransform_vectors),
        cmocka_unit_test(coordtransform_vectors),
        cmocka_unit_test(round_trips_over_china),
        cmocka_unit_test(outside_china_unchanged),
        cmocka_unit_test(edge_of_rectangle),
        cmocka_unit_test(refusals),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
