/* Counters for GET /metrics, rendered in the Prometheus text exposition format (version
 * 0.0.4). All updates are lock-free C11 atomics, safe from any thread; rendering reads each
 * counter once, so a scrape is consistent per counter, not across counters (as Prometheus
 * expects). Nothing here is persisted: counters start at 0 with the process.
 *
 * Invariants: label values come from fixed tables (route names registered at start-up, status
 * codes, refusal reasons), never from request input, so the series count is bounded. */
#ifndef ROLLCALL_SERVER_METRICS_H
#define ROLLCALL_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics;

enum {
    METRICS_ROUTES_MAX = 64, /* registered routes, plus one "unmatched" slot */
    METRICS_ROUTE_NAME_MAX = 64,
    METRICS_TEXT_MAX = 1 << 16, /* a rendered scrape is refused beyond this */
};

/* Why a request or an event was refused; each is one label value of
 * rollcall_refusals_total{reason=...}. */
enum metrics_refusal {
    METRICS_REFUSED_UNAUTHENTICATED, /* 401 */
    METRICS_REFUSED_FORBIDDEN,       /* 403 */
    METRICS_REFUSED_TOO_LARGE,       /* 413: body or decompressed body over the cap */
    METRICS_REFUSED_BAD_ENCODING,    /* 400/415: unsupported or corrupt Content-Encoding */
    METRICS_REFUSED_MALFORMED,       /* 400: the body does not parse */
    METRICS_REFUSED_BAD_SIGNATURE,   /* batch signature does not verify */
    METRICS_REFUSED_CHAIN_GAP,       /* 409: seq does not follow the stored head */
    METRICS_REFUSED_CHAIN_BREAK,     /* prev does not match the stored hash */
    METRICS_REFUSED_UNKNOWN_DEVICE,  /* not enrolled */
    METRICS_REFUSED_UNAVAILABLE,     /* 503: no database connection in time */
    METRICS_REFUSAL_REASONS
};

/* Ingest latency buckets (seconds, upper bounds; +Inf is implicit). */
#define METRICS_LATENCY_BUCKETS                                                                    \
    {                                                                                              \
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0               \
    }
enum { METRICS_LATENCY_NBUCKETS = 13 };

/* Allocates a zeroed set of counters. NULL when out of memory. Free with metrics_free. */
metrics *metrics_new(void);
void metrics_free(metrics *m);

/* Registers a route label (e.g. "GET /v1/devices") before serving starts (not thread-safe);
 * returns its index for metrics_request, or -1 when the table is full or name too long. */
int metrics_route_register(metrics *m, const char *name);
/* Counts one finished request; route -1 means "unmatched". Status outside 100..599 is "other". */
void metrics_request(metrics *m, int route, unsigned status);
void metrics_events_accepted(metrics *m, uint64_t n);
void metrics_events_duplicate(metrics *m, uint64_t n);
void metrics_refused(metrics *m, enum metrics_refusal reason);
/* Records one ingest request's latency in seconds (negative or NaN counts as 0). */
void metrics_ingest_latency(metrics *m, double seconds);
/* Sets the devices-seen gauge (read from the store when scraped: shared by all collectors). */
void metrics_devices_seen(metrics *m, int64_t n);

/* Renders every metric into a new NUL-terminated string (*out, caller frees) of *len bytes.
 * Returns 0, RC_NOMEM, or RC_LIMIT past METRICS_TEXT_MAX. */
int metrics_render(metrics *m, char **out, size_t *len, char *err);
/* The label value for a refusal reason ("unauthenticated", ...); static. */
const char *metrics_refusal_name(enum metrics_refusal reason);

#endif
