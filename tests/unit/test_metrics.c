/* labels: collector */
/* metrics: the exact Prometheus text exposition (format 0.0.4: HELP and TYPE lines, one
 * sample per line, cumulative histogram buckets ending at +Inf with _sum and _count), written
 * out by hand from the format's rules, and exact totals under concurrent updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/metrics.h"
#include "rc.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPECTED_TAIL(accepted, dup, refusals, buckets, sum, count, seen)                          \
    "# HELP rollcall_events_accepted_total Events stored for the first time.\n"                    \
    "# TYPE rollcall_events_accepted_total counter\n"                                              \
    "rollcall_events_accepted_total " accepted "\n"                                                \
    "# HELP rollcall_events_duplicate_total Events received again with the same bytes.\n"          \
    "# TYPE rollcall_events_duplicate_total counter\n"                                             \
    "rollcall_events_duplicate_total " dup "\n"                                                    \
    "# HELP rollcall_refusals_total Refused requests and events by reason.\n"                      \
    "# TYPE rollcall_refusals_total counter\n" refusals                                            \
    "# HELP rollcall_ingest_latency_seconds Time to verify and store one batch.\n"                 \
    "# TYPE rollcall_ingest_latency_seconds histogram\n" buckets                                   \
    "rollcall_ingest_latency_seconds_sum " sum "\n"                                                \
    "rollcall_ingest_latency_seconds_count " count "\n"                                            \
    "# HELP rollcall_devices_seen Enrolled devices that have uploaded at least once.\n"            \
    "# TYPE rollcall_devices_seen gauge\n"                                                         \
    "rollcall_devices_seen " seen "\n"

#define REQUESTS_HEAD                                                                              \
    "# HELP rollcall_http_requests_total HTTP requests by route and status.\n"                     \
    "# TYPE rollcall_http_requests_total counter\n"

#define B(le, n) "rollcall_ingest_latency_seconds_bucket{le=\"" le "\"} " n "\n"
#define R(reason, n) "rollcall_refusals_total{reason=\"" reason "\"} " n "\n"

static char *render(metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    char err[ERR_LEN];
    assert_int_equal(metrics_render(m, &text, &len, err), RC_OK);
    assert_int_equal(strlen(text), len);
    return text;
}

static void fresh_counters_render_exactly(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    assert_non_null(m);
    char *text = render(m);
    const char *expected = REQUESTS_HEAD EXPECTED_TAIL(
        "0", "0",
        R("unauthenticated", "0") R("forbidden", "0") R("too_large", "0") R("bad_encoding", "0")
            R("malformed", "0") R("bad_signature", "0") R("chain_gap", "0") R("chain_break", "0")
                R("unknown_device", "0") R("unavailable", "0"),
        B("0.001", "0") B("0.0025", "0") B("0.005", "0") B("0.01", "0") B("0.025", "0")
            B("0.05", "0") B("0.1", "0") B("0.25", "0") B("0.5", "0") B("1", "0") B("2.5", "0")
                B("5", "0") B("10", "0") B("+Inf", "0"),
        "0", "0", "0");
    assert_string_equal(text, expected);
    free(text);
    metrics_free(m);
}

static void counts_render_exactly(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    assert_int_equal(metrics_route_register(m, "GET /healthz"), 0);
    assert_int_equal(metrics_route_register(m, "POST /v1/batches"), 1);
    metrics_request(m, 0, 200);
    metrics_request(m, 0, 200);
    metrics_request(m, 1, 413);
    metrics_request(m, 1, 200);
    metrics_request(m, -1, 404);
    metrics_request(m, 7, 404); /* unregistered index: unmatched */
    metrics_request(m, 0, 999);
    metrics_events_accepted(m, 120);
    metrics_events_accepted(m, 3);
    metrics_events_duplicate(m, 5);
    metrics_refused(m, METRICS_REFUSED_TOO_LARGE);
    metrics_refused(m, METRICS_REFUSED_TOO_LARGE);
    metrics_refused(m, METRICS_REFUSED_CHAIN_GAP);
    metrics_refused(m, (enum metrics_refusal)99); /* ignored */
    /* Bucket bounds are inclusive upper bounds ("le"). */
    metrics_ingest_latency(m, 0.0005);
    metrics_ingest_latency(m, 0.001);
    metrics_ingest_latency(m, 0.003);
    metrics_ingest_latency(m, 0.2);
    metrics_ingest_latency(m, 20.0);
    metrics_ingest_latency(m, NAN);  /* counts as 0 */
    metrics_ingest_latency(m, -1.0); /* counts as 0 */
    metrics_devices_seen(m, 12);
    char *text = render(m);
    const char *expected = REQUESTS_HEAD
        "rollcall_http_requests_total{route=\"GET /healthz\",status=\"200\"} 2\n"
        "rollcall_http_requests_total{route=\"GET /healthz\",status=\"other\"} 1\n"
        "rollcall_http_requests_total{route=\"POST /v1/batches\",status=\"200\"} 1\n"
        "rollcall_http_requests_total{route=\"POST /v1/batches\",status=\"413\"} 1\n"
        "rollcall_http_requests_total{route=\"unmatched\",status=\"404\"} 2\n" EXPECTED_TAIL(
            "123", "5",
            R("unauthenticated", "0") R("forbidden", "0") R("too_large", "2") R("bad_encoding", "0")
                R("malformed", "0") R("bad_signature", "0") R("chain_gap", "1")
                    R("chain_break", "0") R("unknown_device", "0") R("unavailable", "0"),
            B("0.001", "4") B("0.0025", "4") B("0.005", "5") B("0.01", "5") B("0.025", "5")
                B("0.05", "5") B("0.1", "5") B("0.25", "6") B("0.5", "6") B("1", "6") B("2.5", "6")
                    B("5", "6") B("10", "6") B("+Inf", "7"),
            "20.2045", "7", "12");
    assert_string_equal(text, expected);
    free(text);
    metrics_free(m);
}

static void route_table_is_bounded(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    char name[METRICS_ROUTE_NAME_MAX + 2];
    for (int i = 0; i < METRICS_ROUTES_MAX; i++) {
        snprintf(name, sizeof name, "GET /r%d", i);
        assert_int_equal(metrics_route_register(m, name), i);
    }
    assert_int_equal(metrics_route_register(m, "GET /one-too-many"), -1);
    metrics_free(m);
    m = metrics_new();
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(metrics_route_register(m, name), -1);
    assert_int_equal(metrics_route_register(m, ""), -1);
    assert_string_equal(metrics_refusal_name(METRICS_REFUSED_FORBIDDEN), "forbidden");
    metrics_free(m);
}

enum { THREADS = 4, ROUNDS = 100000 };

static void *hammer(void *arg)
{
    metrics *m = arg;
    for (int i = 0; i < ROUNDS; i++) {
        metrics_request(m, 0, 200);
        metrics_events_accepted(m, 2);
        metrics_ingest_latency(m, 0.004);
    }
    return NULL;
}

static void concurrent_updates_are_not_lost(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    assert_int_equal(metrics_route_register(m, "POST /v1/batches"), 0);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, m), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    char *text = render(m);
    assert_non_null(strstr(
        text, "rollcall_http_requests_total{route=\"POST /v1/batches\",status=\"200\"} 400000\n"));
    assert_non_null(strstr(text, "rollcall_events_accepted_total 800000\n"));
    assert_non_null(strstr(text, B("0.0025", "0") B("0.005", "400000")));
    assert_non_null(strstr(text, "rollcall_ingest_latency_seconds_sum 1600\n"));
    assert_non_null(strstr(text, "rollcall_ingest_latency_seconds_count 400000\n"));
    free(text);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_counters_render_exactly),
        cmocka_unit_test(counts_render_exactly),
        cmocka_unit_test(route_table_is_bounded),
        cmocka_unit_test(concurrent_updates_are_not_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
