#include "http/metrics.h"

#include "dynbuf.h"
#include "rc.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    STATUS_MIN = 100,
    STATUS_SLOTS = 501, /* 100..599, then one slot for anything else */
    ROUTE_SLOTS = METRICS_ROUTES_MAX + 1,
};

static const char *const refusal_names[METRICS_REFUSAL_REASONS] = {
    [METRICS_REFUSED_UNAUTHENTICATED] = "unauthenticated",
    [METRICS_REFUSED_FORBIDDEN] = "forbidden",
    [METRICS_REFUSED_TOO_LARGE] = "too_large",
    [METRICS_REFUSED_BAD_ENCODING] = "bad_encoding",
    [METRICS_REFUSED_MALFORMED] = "malformed",
    [METRICS_REFUSED_BAD_SIGNATURE] = "bad_signature",
    [METRICS_REFUSED_CHAIN_GAP] = "chain_gap",
    [METRICS_REFUSED_CHAIN_BREAK] = "chain_break",
    [METRICS_REFUSED_UNKNOWN_DEVICE] = "unknown_device",
    [METRICS_REFUSED_UNAVAILABLE] = "unavailable",
};

static const double latency_bounds[METRICS_LATENCY_NBUCKETS] = METRICS_LATENCY_BUCKETS;

struct metrics {
    char routes[METRICS_ROUTES_MAX][METRICS_ROUTE_NAME_MAX + 1];
    int nroutes;
    /* requests[route][status]; the last route slot is "unmatched". */
    atomic_uint_fast64_t requests[ROUTE_SLOTS][STATUS_SLOTS];
    atomic_uint_fast64_t accepted;
    atomic_uint_fast64_t duplicates;
    atomic_uint_fast64_t refusals[METRICS_REFUSAL_REASONS];
    /* Per-bucket (not cumulative) counts; the last is +Inf. Rendering accumulates. */
    atomic_uint_fast64_t latency[METRICS_LATENCY_NBUCKETS + 1];
    atomic_uint_fast64_t latency_sum_ns;
    atomic_int_fast64_t devices_seen;
};

metrics *metrics_new(void)
{
    /* calloc gives all-zero bytes, which is a valid zero for lock-free atomics on every
     * platform we build for (C11 7.17.2 leaves it implementation-defined; glibc/gcc agree). */
    return calloc(1, sizeof(struct metrics));
}

void metrics_free(metrics *m)
{
    free(m);
}

int metrics_route_register(metrics *m, const char *name)
{
    size_t n = strlen(name);
    if (m->nroutes >= METRICS_ROUTES_MAX || n == 0 || n > METRICS_ROUTE_NAME_MAX)
        return -1;
    memcpy(m->routes[m->nroutes], name, n + 1);
    return m->nroutes++;
}

void metrics_request(metrics *m, int route, unsigned status)
{
    size_t r = (route < 0 || route >= m->nroutes) ? METRICS_ROUTES_MAX : (size_t)route;
    size_t s = (status >= STATUS_MIN && status < STATUS_MIN + STATUS_SLOTS - 1)
                   ? status - STATUS_MIN
                   : STATUS_SLOTS - 1;
    atomic_fetch_add_explicit(&m->requests[r][s], 1, memory_order_relaxed);
}

void metrics_events_accepted(metrics *m, uint64_t n)
{
    atomic_fetch_add_explicit(&m->accepted, n, memory_order_relaxed);
}

void metrics_events_duplicate(metrics *m, uint64_t n)
{
    atomic_fetch_add_explicit(&m->duplicates, n, memory_order_relaxed);
}

void metrics_refused(metrics *m, enum metrics_refusal reason)
{
    if ((unsigned)reason >= METRICS_REFUSAL_REASONS)
        return;
    atomic_fetch_add_explicit(&m->refusals[reason], 1, memory_order_relaxed);
}

void metrics_ingest_latency(metrics *m, double seconds)
{
    if (!(seconds > 0)) /* NaN and negatives */
        seconds = 0;
    size_t b = 0;
    while (b < METRICS_LATENCY_NBUCKETS && seconds > latency_bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->latency[b], 1, memory_order_relaxed);
    /* Sum in nanoseconds; anything over ~584 years saturates the one observation. */
    double ns = seconds * 1e9;
    uint64_t add = ns >= 1.8e19 ? UINT64_MAX / 2 : (uint64_t)llround(ns);
    atomic_fetch_add_explicit(&m->latency_sum_ns, add, memory_order_relaxed);
}

void metrics_devices_seen(metrics *m, int64_t n)
{
    atomic_store_explicit(&m->devices_seen, n, memory_order_relaxed);
}

const char *metrics_refusal_name(enum metrics_refusal reason)
{
    if ((unsigned)reason >= METRICS_REFUSAL_REASONS)
        return "unknown";
    return refusal_names[reason];
}

/* The exposition text, at most METRICS_TEXT_MAX bytes; the first failure sticks. */
struct text {
    struct dynbuf b;
    int rc;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    if (t->rc != RC_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    t->rc = dynbuf_vaddf(&t->b, fmt, ap);
    va_end(ap);
}

/* A label value from our own tables may still hold '"' or '\\' in principle; escape them as
 * the exposition format requires. */
static void put_label(struct text *t, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            put(t, "\\%c", *p);
        else if (*p == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *p);
    }
}

static uint64_t load(atomic_uint_fast64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

int metrics_render(metrics *m, char **out, size_t *len, char *err)
{
    struct text t = {.rc = RC_OK};
    *out = NULL;
    *len = 0;
    dynbuf_init(&t.b, METRICS_TEXT_MAX);

    put(&t, "# HELP rollcall_http_requests_total HTTP requests by route and status.\n"
            "# TYPE rollcall_http_requests_total counter\n");
    for (size_t r = 0; r < ROUTE_SLOTS; r++) {
        if (r >= (size_t)m->nroutes && r != METRICS_ROUTES_MAX)
            continue;
        const char *name = r == METRICS_ROUTES_MAX ? "unmatched" : m->routes[r];
        for (size_t s = 0; s < STATUS_SLOTS; s++) {
            uint64_t v = load(&m->requests[r][s]);
            if (!v)
                continue;
            put(&t, "rollcall_http_requests_total{route=\"");
            put_label(&t, name);
            if (s == STATUS_SLOTS - 1)
                put(&t, "\",status=\"other\"} %llu\n", (unsigned long long)v);
            else
                put(&t, "\",status=\"%zu\"} %llu\n", s + STATUS_MIN, (unsigned long long)v);
        }
    }
    put(&t,
        "# HELP rollcall_events_accepted_total Events stored for the first time.\n"
        "# TYPE rollcall_events_accepted_total counter\n"
        "rollcall_events_accepted_total %llu\n"
        "# HELP rollcall_events_duplicate_total Events received again with the same bytes.\n"
        "# TYPE rollcall_events_duplicate_total counter\n"
        "rollcall_events_duplicate_total %llu\n"
        "# HELP rollcall_refusals_total Refused requests and events by reason.\n"
        "# TYPE rollcall_refusals_total counter\n",
        (unsigned long long)load(&m->accepted), (unsigned long long)load(&m->duplicates));
    for (size_t i = 0; i < METRICS_REFUSAL_REASONS; i++)
        put(&t, "rollcall_refusals_total{reason=\"%s\"} %llu\n", refusal_names[i],
            (unsigned long long)load(&m->refusals[i]));
    put(&t, "# HELP rollcall_ingest_latency_seconds Time to verify and store one batch.\n"
            "# TYPE rollcall_ingest_latency_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= METRICS_LATENCY_NBUCKETS; b++) {
        cumulative += load(&m->latency[b]);
        if (b < METRICS_LATENCY_NBUCKETS)
            put(&t, "rollcall_ingest_latency_seconds_bucket{le=\"%g\"} %llu\n", latency_bounds[b],
                (unsigned long long)cumulative);
        else
            put(&t, "rollcall_ingest_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                (unsigned long long)cumulative);
    }
    put(&t,
        "rollcall_ingest_latency_seconds_sum %.9g\n"
        "rollcall_ingest_latency_seconds_count %llu\n"
        "# HELP rollcall_devices_seen Enrolled devices that have uploaded at least once.\n"
        "# TYPE rollcall_devices_seen gauge\n"
        "rollcall_devices_seen %lld\n",
        (double)load(&m->latency_sum_ns) / 1e9, (unsigned long long)cumulative,
        (long long)atomic_load_explicit(&m->devices_seen, memory_order_relaxed));
    if (t.rc == RC_OK && !(*out = dynbuf_take(&t.b, len)))
        t.rc = RC_NOMEM;
    if (t.rc != RC_OK) {
        dynbuf_free(&t.b);
        return rc_fail(err, t.rc, "rendering metrics: %s", rc_str(t.rc));
    }
    return RC_OK;
}
