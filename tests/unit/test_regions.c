/* regions: Tianjin's built-in district boundaries (server/engine/regions.geojson) and the
 * engine's venue checks against them (venue_outside_region, venue_outside_district).
 *
 * Test points are well-known places, each at least 5 km from the dataset's boundary (the
 * distances below are what the data gives), far beyond its accuracy (docs/BOUNDARIES.md: about
 * 1 km, the engine's margin):
 *   Wuqing district government, 杨村 (39.3840 N, 117.0440 E): 8.9 km inside Wuqing (120114);
 *   Langfang city government, Hebei (39.5237 N, 116.7035 E): 7.8 km outside Wuqing, outside
 *     Tianjin;
 *   Jizhou district government (40.0457 N, 117.4081 E): 11.3 km inside Jizhou (120119);
 *   Pinggu district government, Beijing (40.1406 N, 117.1215 E): 9.1 km outside Jizhou;
 *   Tanggu, Binhai (39.0200 N, 117.6500 E): 8.4 km inside Binhai (120116);
 *   Bohai Bay (38.9000 N, 117.9500 E): 5.7 km off Binhai's coast, at sea. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine/regions.h"
#include "geodesy.h"
#include "rc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY0 INT64_C(1793548800000) /* 2026-11-02T00:00:00+08:00 */
#define HOUR INT64_C(3600000)

struct place {
    const char *what;
    double lat, lon;
    const char *district; /* the district it lies in, NULL: outside Tianjin */
    const char *near;     /* the district whose border it is near */
    double km;            /* signed distance to that district's boundary, as the data gives */
};

static const struct place places[] = {
    {"Wuqing government", 39.3840, 117.0440, "120114", "120114", -8.9},
    {"Langfang government (Hebei)", 39.5237, 116.7035, NULL, "120114", 7.8},
    {"Jizhou government", 40.0457, 117.4081, "120119", "120119", -11.3},
    {"Pinggu government (Beijing)", 40.1406, 117.1215, NULL, "120119", 9.1},
    {"Tanggu, Binhai", 39.0200, 117.6500, "120116", "120116", -8.4},
    {"Bohai Bay", 38.9000, 117.9500, NULL, "120116", 5.7},
};

static fence_set *set;

static int setup(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    if (geodesy_init(err) != RC_OK || regions_parse(&set, err) != RC_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fence_set_free(set);
    geodesy_fini();
    return 0;
}

/* The data holds exactly Tianjin's 16 districts by their GB/T 2260 codes, with names. */
static void sixteen_districts(void **state)
{
    (void)state;
    static const char *const codes[] = {"120101", "120102", "120103", "120104", "120105", "120106",
                                        "120110", "120111", "120112", "120113", "120114", "120115",
                                        "120116", "120117", "120118", "120119"};
    assert_int_equal(fence_set_count(set), 16);
    for (size_t i = 0; i < 16; i++) {
        const struct fence *f = fence_set_find(set, codes[i]);
        assert_non_null(f);
        assert_true(strlen(fence_name(f)) > 0);
    }
    assert_string_equal(fence_name(fence_set_find(set, "120114")), "武清区 Wuqing");
    assert_string_equal(fence_name(fence_set_find(set, "120119")), "蓟州区 Jizhou");
    /* A venue fence of this size would be refused: only the region loader admits it. */
    fence_set *narrow = NULL;
    char err[ERR_LEN] = "";
    assert_int_equal(fence_set_parse(regions_geojson, regions_geojson_len, "r", &narrow, err),
                     RC_LIMIT);
    assert_non_null(strstr(err, "spans more than 0.5 degrees"));
    assert_null(narrow);
}

/* Each place is on its side of the border, by the distance the header gives (to 0.1 km), and
 * inside no other district. */
static void points_both_sides(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        const struct place *p = &places[i];
        double d = fence_signed_distance(fence_set_find(set, p->near), p->lat, p->lon);
        if (fabs(d / 1000.0 - p->km) > 0.05)
            fail_msg("%s: %.3f km from %s, want %.1f", p->what, d / 1000.0, p->near, p->km);
        for (size_t k = 0; k < fence_set_count(set); k++) {
            const struct fence *f = fence_set_at(set, k);
            bool in = fence_signed_distance(f, p->lat, p->lon) < 0;
            bool want = p->district && strcmp(fence_id(f), p->district) == 0;
            if (in != want)
                fail_msg("%s: inside %s is %d", p->what, fence_id(f), in);
        }
    }
}

/* A class with one venue at (lat, lon), declared in district, run through the engine with or
 * without the boundaries; returns the report. */
static struct engine_report *run_venue(double lat, double lon, const char *district,
                                       const fence_set *regions)
{
    static struct plan p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "V");
    snprintf(p.institution, sizeof p.institution, "INST-1");
    snprintf(p.district, sizeof p.district, "%s", district);
    snprintf(p.occupation, sizeof p.occupation, "2-02-10-09");
    p.level = CATALOGUE_JUNIOR;
    p.applied_on_ms = DAY0 - 30 * 24 * HOUR;
    struct plan_session *s = &p.sessions[p.n_sessions++];
    snprintf(s->id, sizeof s->id, "S1");
    snprintf(s->fence, sizeof s->fence, "F");
    s->mode = PLAN_OFFLINE;
    s->start_ms = DAY0 + 9 * HOUR;
    s->end_ms = DAY0 + 12 * HOUR;
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct engine_venue v = {"F", lat - 0.001, lon - 0.001, lat + 0.001, lon + 0.001, lat, lon};
    struct engine_input in = {
        .plan = &p, .policy = &pol, .venues = &v, .n_venues = 1, .regions = regions};
    struct engine_report *r = NULL;
    char err[ERR_LEN] = "";
    if (engine_run(&in, &r, err) != RC_OK)
        fail_msg("engine_run: %s", err);
    return r;
}

static const struct engine_finding *only(const struct engine_report *r, enum engine_finding_kind k)
{
    const struct engine_finding *got = NULL;
    size_t n = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        if (r->findings[i].kind == ENGINE_F_VENUE_OUTSIDE_REGION ||
            r->findings[i].kind == ENGINE_F_VENUE_OUTSIDE_DISTRICT) {
            n++;
            got = &r->findings[i];
        }
    }
    if (k == ENGINE_F_KIND_COUNT) {
        if (n)
            fail_msg("unexpected finding: %s", got->detail);
        return NULL;
    }
    assert_int_equal(n, 1);
    assert_int_equal(got->kind, k);
    assert_string_equal(got->subject, "F");
    return got;
}

/* Outside Tianjin is serious, outside the declared district a warning naming where the venue
 * lies, on both sides of each border. */
static void engine_venues(void **state)
{
    (void)state;
    struct engine_report *r;
    const struct engine_finding *f;
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        const struct place *p = &places[i];
        /* Declared in the district it is in (or near): */
        r = run_venue(p->lat, p->lon, p->near, set);
        if (p->district) {
            only(r, ENGINE_F_KIND_COUNT);
        } else {
            f = only(r, ENGINE_F_VENUE_OUTSIDE_REGION);
            assert_int_equal(f->severity, ENGINE_SERIOUS);
            assert_non_null(strstr(f->detail, "outside Tianjin (nearest district"));
            assert_non_null(strstr(f->detail, p->near));
        }
        engine_report_free(r);
    }
    /* Wuqing's government declared in Beichen (120113): a warning, naming Wuqing. */
    r = run_venue(39.3840, 117.0440, "120113", set);
    f = only(r, ENGINE_F_VENUE_OUTSIDE_DISTRICT);
    assert_int_equal(f->severity, ENGINE_WARNING);
    assert_non_null(strstr(f->detail, "outside the declared district 120113 北辰区 Beichen"));
    assert_non_null(strstr(f->detail, "lies in 120114 武清区 Wuqing"));
    engine_report_free(r);
    /* Langfang declared in Wuqing is outside Tianjin: the serious finding only. */
    r = run_venue(39.5237, 116.7035, "120114", set);
    only(r, ENGINE_F_VENUE_OUTSIDE_REGION);
    engine_report_free(r);
    /* The Bohai Bay and Pinggu points are inside the old bounding box: without the
     * boundaries nothing was found there (Langfang, west of 116.717 E, was outside it). */
    r = run_venue(38.9000, 117.9500, "120116", NULL);
    only(r, ENGINE_F_KIND_COUNT);
    engine_report_free(r);
    r = run_venue(40.1406, 117.1215, "120119", NULL);
    only(r, ENGINE_F_KIND_COUNT);
    engine_report_free(r);
    r = run_venue(39.5237, 116.7035, "120114", NULL);
    only(r, ENGINE_F_VENUE_OUTSIDE_REGION);
    engine_report_free(r);
    /* A code the data does not hold is not judged against a district. */
    r = run_venue(39.3840, 117.0440, "120199", set);
    only(r, ENGINE_F_KIND_COUNT);
    engine_report_free(r);
    assert_string_equal(engine_finding_name(ENGINE_F_VENUE_OUTSIDE_DISTRICT),
                        "venue_outside_district");
}

/* The region loader skips the distance grid; its answers are the grid's. Heping (120101) is
 * small enough for the venue loader too: both load its feature, and the signed distances of
 * a 41 x 41 lattice over and around it agree to a millimetre (the grid measures near edges in its own frame). */
static void no_grid_same_answers(void **state)
{
    (void)state;
    const char *at =
        strstr(regions_geojson, "{\"type\":\"Feature\",\"properties\":{\"id\":\"120101\"");
    assert_non_null(at);
    const char *end = strchr(at, '\n');
    assert_non_null(end);
    while (end > at && end[-1] == ',')
        end--;
    char *text = NULL;
    size_t len = (size_t)(end - at);
    assert_non_null(text = malloc(len + 1));
    memcpy(text, at, len);
    text[len] = 0;
    fence_set *grid = NULL, *plain = NULL;
    char err[ERR_LEN] = "";
    assert_int_equal(fence_set_parse(text, len, "heping", &grid, err), RC_OK);
    assert_int_equal(fence_set_parse_region(text, len, "heping", &plain, err), RC_OK);
    const struct fence *g = fence_set_at(grid, 0), *p = fence_set_at(plain, 0);
    double min_lat, min_lon, max_lat, max_lon;
    fence_bbox(g, &min_lat, &min_lon, &max_lat, &max_lon);
    size_t in = 0;
    for (int i = 0; i <= 40; i++) {
        for (int j = 0; j <= 40; j++) {
            double lat = min_lat - 0.01 + (max_lat - min_lat + 0.02) * i / 40.0;
            double lon = min_lon - 0.01 + (max_lon - min_lon + 0.02) * j / 40.0;
            double a = fence_signed_distance(g, lat, lon), b = fence_signed_distance(p, lat, lon);
            if (fabs(a - b) > 1e-3)
                fail_msg("(%.6f, %.6f): grid %.9f, no grid %.9f", lat, lon, a, b);
            in += a < 0;
        }
    }
    assert_true(in > 100); /* the lattice does cover the district */
    fence_set_free(grid);
    fence_set_free(plain);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sixteen_districts),
        cmocka_unit_test(points_both_sides),
        cmocka_unit_test(engine_venues),
        cmocka_unit_test(no_grid_same_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
