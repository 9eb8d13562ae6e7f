/* What GET /healthz and the health gauges of GET /metrics report: the database answers, the
 * disk holding the data has room, the TLS certificate is not about to expire, the ingest
 * writer keeps up. Each check has a named limit; a report past any limit is unhealthy and
 * says which check failed in one line per problem.
 *
 * Invariants: set up once (health_init) before serving and only read afterwards; a check
 * never changes anything and never logs (the handler decides). */
#ifndef ROLLCALL_SERVER_HEALTH_H
#define ROLLCALL_SERVER_HEALTH_H

#include "ingest/ingest.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    HEALTH_CERT_MIN_DAYS = 14,         /* a certificate expiring sooner is a problem */
    HEALTH_DISK_MIN_MB_DEFAULT = 1024, /* less free space than this on the data's disk ... */
    HEALTH_DISK_MIN_PERCENT = 5,       /* ... or less than this share of it, is a problem */
    HEALTH_QUEUE_STALL_MS = 10000,     /* a batch waiting longer for the writer is a problem */
    HEALTH_PROBLEMS_MAX = 4,
    HEALTH_PROBLEM_LEN = 160,
    HEALTH_DEVICES_MAX = 20000, /* devices listed in /metrics */
};

struct health_report {
    bool db_ok;
    int schema;
    bool disk_known;
    uint64_t disk_free_bytes;
    double disk_free_ratio;
    bool tls;              /* serving HTTPS */
    int64_t cert_expiry_s; /* notAfter minus now, seconds (negative: expired) */
    size_t queue_depth;    /* batches waiting for the ingest writer */
    int64_t queue_oldest_ms;
    size_t nproblems;
    char problems[HEALTH_PROBLEMS_MAX][HEALTH_PROBLEM_LEN];
};

/* data_dir: the directory whose file system is checked (NULL: none); disk_min_mb: the free
 * space limit; tls: whether the certificate is checked (tlscert.h holds it); w: the writer. */
void health_init(const char *data_dir, uint64_t disk_min_mb, bool tls, ingest_writer *w);
/* Fills r from st and the state above. Healthy exactly when r->nproblems == 0. */
void health_check(store *st, struct health_report *r);
/* The report as /healthz's JSON (malloc'd, NULL when out of memory). */
char *health_json(const struct health_report *r);
/* The report as Prometheus gauges (malloc'd text, NULL when out of memory). */
char *health_gauges(const struct health_report *r);
/* rollcall_device_last_seen_timestamp_seconds{device,institution} for every enrolled device
 * (at most HEALTH_DEVICES_MAX; never uploaded: 0), for the "kiosk silent" alert. Label values
 * are enrolled ids (checked at enrolment), not request input. malloc'd text or NULL. */
char *health_device_gauges(store *st);

#endif
