/* Health checks for /healthz and /metrics; see health.h. */
#include "http/health.h"

#include "dynbuf.h"
#include "http/tlscert.h"
#include "rc.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

static char data_dir[4096];
static uint64_t disk_min_bytes;
static bool with_tls;
static ingest_writer *writer;

void health_init(const char *dir, uint64_t disk_min_mb, bool tls, ingest_writer *w)
{
    snprintf(data_dir, sizeof data_dir, "%s", dir ? dir : "");
    disk_min_bytes = disk_min_mb * 1024 * 1024;
    with_tls = tls;
    writer = w;
}

static void add(struct health_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add(struct health_report *r, const char *fmt, ...)
{
    if (r->nproblems >= HEALTH_PROBLEMS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->problems[r->nproblems++], HEALTH_PROBLEM_LEN, fmt, ap);
    va_end(ap);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void health_check(store *st, struct health_report *r)
{
    char err[ERR_LEN];
    memset(r, 0, sizeof *r);
    r->db_ok = st && store_schema_version(st, &r->schema, err) == RC_OK;
    if (!r->db_ok)
        add(r, "database: not answering");
    struct statvfs vs;
    if (data_dir[0] && statvfs(data_dir, &vs) == 0 && vs.f_blocks > 0) {
        r->disk_known = true;
        r->disk_free_bytes = (uint64_t)vs.f_bavail * vs.f_frsize;
        r->disk_free_ratio = (double)vs.f_bavail / (double)vs.f_blocks;
        if (r->disk_free_bytes < disk_min_bytes ||
            r->disk_free_ratio * 100.0 < HEALTH_DISK_MIN_PERCENT)
            add(r, "disk: %llu MiB free (%.1f%%) where the data is, below %llu MiB or %d%%",
                (unsigned long long)(r->disk_free_bytes >> 20), r->disk_free_ratio * 100.0,
                (unsigned long long)(disk_min_bytes >> 20), HEALTH_DISK_MIN_PERCENT);
    } else if (data_dir[0]) {
        add(r, "disk: cannot read the free space where the data is");
    }
    r->tls = with_tls;
    if (with_tls) {
        r->cert_expiry_s = tlscert_current_not_after() - (int64_t)time(NULL);
        if (r->cert_expiry_s <= 0)
            add(r, "certificate: expired");
        else if (r->cert_expiry_s < (int64_t)HEALTH_CERT_MIN_DAYS * 86400)
            add(r, "certificate: expires in %lld days (renew, then systemctl reload)",
                (long long)(r->cert_expiry_s / 86400));
    }
    ingest_writer_queue(writer, wall_ms(), &r->queue_depth, &r->queue_oldest_ms);
    if (r->queue_oldest_ms > HEALTH_QUEUE_STALL_MS)
        add(r, "ingest: %zu batches waiting, the oldest for %lld s", r->queue_depth,
            (long long)(r->queue_oldest_ms / 1000));
}

char *health_json(const struct health_report *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *checks = NULL, *problems = NULL;
    char *text = NULL;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "status", r->nproblems ? "unhealthy" : "ok");
    if (r->db_ok)
        cJSON_AddNumberToObject(o, "schema", r->schema);
    problems = cJSON_AddArrayToObject(o, "problems");
    checks = cJSON_AddObjectToObject(o, "checks");
    if (!problems || !checks)
        goto out;
    for (size_t i = 0; i < r->nproblems; i++)
        cJSON_AddItemToArray(problems, cJSON_CreateString(r->problems[i]));
    cJSON_AddBoolToObject(checks, "database", r->db_ok);
    if (r->disk_known) {
        cJSON_AddNumberToObject(checks, "disk_free_bytes", (double)r->disk_free_bytes);
        cJSON_AddNumberToObject(checks, "disk_free_ratio", r->disk_free_ratio);
    }
    if (r->tls)
        cJSON_AddNumberToObject(checks, "certificate_expires_in_s", (double)r->cert_expiry_s);
    cJSON_AddNumberToObject(checks, "ingest_queue_depth", (double)r->queue_depth);
    cJSON_AddNumberToObject(checks, "ingest_queue_oldest_ms", (double)r->queue_oldest_ms);
    text = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return text;
}

char *health_gauges(const struct health_report *r)
{
    enum { GAUGES_MAX = 2048 };
    char *t = malloc(GAUGES_MAX);
    if (!t)
        return NULL;
    int n =
        snprintf(t, GAUGES_MAX,
                 "# HELP rollcall_healthy 1 when /healthz reports no problem.\n"
                 "# TYPE rollcall_healthy gauge\n"
                 "rollcall_healthy %d\n"
                 "# HELP rollcall_database_up 1 when the database answers.\n"
                 "# TYPE rollcall_database_up gauge\n"
                 "rollcall_database_up %d\n"
                 "# HELP rollcall_ingest_queue_depth Batches waiting for the ingest writer.\n"
                 "# TYPE rollcall_ingest_queue_depth gauge\n"
                 "rollcall_ingest_queue_depth %zu\n"
                 "# HELP rollcall_ingest_queue_oldest_seconds How long the oldest waiting "
                 "batch has waited.\n"
                 "# TYPE rollcall_ingest_queue_oldest_seconds gauge\n"
                 "rollcall_ingest_queue_oldest_seconds %.3f\n",
                 r->nproblems == 0, r->db_ok, r->queue_depth, (double)r->queue_oldest_ms / 1000.0);
    if (r->disk_known && n > 0 && n < GAUGES_MAX)
        n += snprintf(t + n, GAUGES_MAX - (size_t)n,
                      "# HELP rollcall_disk_free_bytes Free bytes on the data's file system.\n"
                      "# TYPE rollcall_disk_free_bytes gauge\n"
                      "rollcall_disk_free_bytes %llu\n"
                      "# HELP rollcall_disk_free_ratio Free share of the data's file system.\n"
                      "# TYPE rollcall_disk_free_ratio gauge\n"
                      "rollcall_disk_free_ratio %.4f\n",
                      (unsigned long long)r->disk_free_bytes, r->disk_free_ratio);
    if (r->tls && n > 0 && n < GAUGES_MAX)
        n += snprintf(t + n, GAUGES_MAX - (size_t)n,
                      "# HELP rollcall_tls_cert_expiry_seconds Seconds until the serving "
                      "certificate expires.\n"
                      "# TYPE rollcall_tls_cert_expiry_seconds gauge\n"
                      "rollcall_tls_cert_expiry_seconds %lld\n",
                      (long long)r->cert_expiry_s);
    if (n < 0 || n >= GAUGES_MAX) {
        free(t);
        return NULL;
    }
    return t;
}

static int device_line(const struct store_device *d, void *ctx)
{
    return dynbuf_addf(ctx,
                       "rollcall_device_last_seen_timestamp_seconds{device=\"%s\","
                       "institution=\"%s\"} %lld\n",
                       d->id, d->institution, (long long)(d->last_seen_at_ms / 1000));
}

char *health_device_gauges(store *st)
{
    struct dynbuf b;
    char err[ERR_LEN];
    dynbuf_init(&b, (size_t)HEALTH_DEVICES_MAX * 256);
    if (dynbuf_adds(&b, "# HELP rollcall_device_last_seen_timestamp_seconds When the device "
                        "last uploaded (0: never).\n"
                        "# TYPE rollcall_device_last_seen_timestamp_seconds gauge\n") != RC_OK ||
        store_device_list(st, HEALTH_DEVICES_MAX, device_line, &b, err) != RC_OK) {
        dynbuf_free(&b);
        return NULL;
    }
    size_t len = 0;
    return dynbuf_take(&b, &len);
}
