/* Helpers of the pipe benchmark (tests/bench/bench_pipe.py drives them; see
 * docs/PERFORMANCE.md, "Pipe"):
 *
 *   bench_pipe fill CONFIG N
 *       records N sign-ins/sign-outs in the kiosk's outbox through signin_record (each one a
 *       durable transaction, as in production), located at the profile's surveyed position;
 *   bench_pipe insert SERVER_DB OUT_DB DEVICE BATCH
 *       the baseline: copies the events table's definition from the collector's database into
 *       a new database with the collector's settings (WAL, synchronous=FULL) and inserts the
 *       same rows of DEVICE (every column but the rowid) again, BATCH rows per transaction, with
 *       one prepared statement; prints {"rows","seconds","rows_per_s"}. The table alone: its
 *       primary key is its only index;
 *   bench_pipe insert-indexed SERVER_DB OUT_DB DEVICE BATCH
 *       the same with the events table's secondary indexes too, as the collector keeps them.
 * Not a test: nothing is asserted about time. */
#include "gnss.h"
#include "kiosk.h"
#include "rc.h"
#include "signin.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The i-th valid GB 11643 ID number: area 120103, born 1980-01-01 + i/900 days. */
static void id_number(long i, char out[19])
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    struct tm tm = {.tm_year = 80, .tm_mon = 0, .tm_mday = 1 + (int)(i / 900), .tm_hour = 12};
    time_t t = timegm(&tm);
    struct tm d;
    gmtime_r(&t, &d);
    char buf[64];
    snprintf(buf, sizeof buf, "120103%04d%02d%02d%03ld", d.tm_year + 1900, d.tm_mon + 1, d.tm_mday,
             100 + i % 900);
    memcpy(out, buf, 17);
    int s = 0;
    for (int k = 0; k < 17; k++)
        s += (out[k] - '0') * w[k];
    out[17] = check[s % 11];
    out[18] = '\0';
}

static int fill(const char *config, long n)
{
    char err[ERR_LEN];
    struct kiosk *k = NULL;
    if (kiosk_open(config, KIOSK_OUTBOX | KIOSK_FENCE | KIOSK_INST_KEY, &k, err) != RC_OK) {
        fprintf(stderr, "bench_pipe: %s\n", err);
        return 1;
    }
    struct gnss_config gc;
    kiosk_gnss_config(k, &gc);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        struct gnss_fix fix;
        gnss_select(NULL, true, gnss_mono_ms(), gc.stale_after_ms, &gc.surveyed, gnss_real_ms(),
                    &fix);
        char id[19];
        id_number(i / 2, id);
        struct signin_request req = {.type = i % 2 ? EVENT_SIGNOUT : EVENT_SIGNIN,
                                     .trainee = id,
                                     .class_id = "TJ-2026-AI-0001",
                                     .session = "S01"};
        struct signin_result res;
        if (signin_record(k, &req, &fix, &res, err) != RC_OK) {
            fprintf(stderr, "bench_pipe: event %ld: %s\n", i, err);
            kiosk_close(k);
            return 1;
        }
    }
    double dt = now_s() - t0;
    printf("{\"events\":%ld,\"seconds\":%.3f,\"events_per_s\":%.1f}\n", n, dt, (double)n / dt);
    kiosk_close(k);
    return 0;
}

static int insert(const char *server_db, const char *out_db, const char *device, long batch,
                  bool indexed)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_stmt *sel = NULL, *ins = NULL, *schema = NULL;
    int status = 1;
    long rows = 0;
    double t0 = 0, dt = 0;
    if (sqlite3_open_v2(server_db, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open(out_db, &dst) != SQLITE_OK)
        goto out;
    if (sqlite3_exec(dst, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL) !=
        SQLITE_OK)
        goto out;
    /* The same table, without the foreign key to devices (a bare insert). */
    if (sqlite3_prepare_v2(src, "SELECT sql FROM sqlite_master WHERE name = 'events'", -1, &schema,
                           NULL) != SQLITE_OK ||
        sqlite3_step(schema) != SQLITE_ROW)
        goto out;
    char ddl[4096];
    snprintf(ddl, sizeof ddl, "%s", (const char *)sqlite3_column_text(schema, 0));
    char *fk = strstr(ddl, " REFERENCES devices(id)");
    if (fk)
        memmove(fk, fk + strlen(" REFERENCES devices(id)"),
                strlen(fk + strlen(" REFERENCES devices(id)")) + 1);
    if (sqlite3_exec(dst, ddl, NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if (indexed) {
        sqlite3_stmt *ix = NULL;
        if (sqlite3_prepare_v2(src,
                               "SELECT sql FROM sqlite_master WHERE type = 'index' AND "
                               "tbl_name = 'events' AND sql IS NOT NULL",
                               -1, &ix, NULL) != SQLITE_OK)
            goto out;
        while (sqlite3_step(ix) == SQLITE_ROW)
            if (sqlite3_exec(dst, (const char *)sqlite3_column_text(ix, 0), NULL, NULL, NULL) !=
                SQLITE_OK) {
                sqlite3_finalize(ix);
                goto out;
            }
        sqlite3_finalize(ix);
    }
    /* Every column the collector fills (all but the rowid alias). */
    char cols[2048] = "", marks[512] = "";
    int ncols = 0;
    sqlite3_stmt *info = NULL;
    if (sqlite3_prepare_v2(src, "SELECT name FROM pragma_table_info('events') WHERE name != 'id'",
                           -1, &info, NULL) != SQLITE_OK)
        goto out;
    while (sqlite3_step(info) == SQLITE_ROW) {
        size_t cl = strlen(cols), ml = strlen(marks);
        snprintf(cols + cl, sizeof cols - cl, "%s%s", ncols ? ", " : "",
                 (const char *)sqlite3_column_text(info, 0));
        snprintf(marks + ml, sizeof marks - ml, "%s?", ncols ? "," : "");
        ncols++;
    }
    sqlite3_finalize(info);
    char sql[4096];
    snprintf(sql, sizeof sql, "SELECT %s FROM events WHERE device = ?1 ORDER BY seq", cols);
    if (sqlite3_prepare_v2(src, sql, -1, &sel, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(sel, 1, device, -1, SQLITE_STATIC);
    snprintf(sql, sizeof sql, "INSERT INTO events (%s) VALUES (%s)", cols, marks);
    if (sqlite3_prepare_v2(dst, sql, -1, &ins, NULL) != SQLITE_OK)
        goto out;
    t0 = now_s();
    sqlite3_exec(dst, "BEGIN", NULL, NULL, NULL);
    while (sqlite3_step(sel) == SQLITE_ROW) {
        for (int c = 0; c < ncols; c++)
            sqlite3_bind_value(ins, c + 1, sqlite3_column_value(sel, c));
        if (sqlite3_step(ins) != SQLITE_DONE)
            goto out;
        sqlite3_reset(ins);
        if (++rows % batch == 0) {
            sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL);
            sqlite3_exec(dst, "BEGIN", NULL, NULL, NULL);
        }
    }
    sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL);
    dt = now_s() - t0;
    printf("{\"rows\":%ld,\"seconds\":%.3f,\"rows_per_s\":%.1f}\n", rows, dt,
           dt > 0 ? (double)rows / dt : 0.0);
    status = 0;
out:
    if (status)
        fprintf(stderr, "bench_pipe: %s\n", dst ? sqlite3_errmsg(dst) : "cannot open");
    sqlite3_finalize(schema);
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sqlite3_close(src);
    sqlite3_close(dst);
    return status;
}

static long count_arg(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v < 1 || v > 100000000 ? -1 : v;
}

int main(int argc, char **argv)
{
    long n = argc >= 4 ? count_arg(argv[argc - 1]) : -1;
    if (argc == 4 && strcmp(argv[1], "fill") == 0 && n > 0)
        return fill(argv[2], n);
    if (argc == 6 && strcmp(argv[1], "insert") == 0 && n > 0)
        return insert(argv[2], argv[3], argv[4], n, false);
    if (argc == 6 && strcmp(argv[1], "insert-indexed") == 0 && n > 0)
        return insert(argv[2], argv[3], argv[4], n, true);
    fprintf(stderr, "usage: bench_pipe fill CONFIG N | insert[-indexed] SERVER_DB OUT_DB DEVICE "
                    "BATCH\n");
    return 2;
}
