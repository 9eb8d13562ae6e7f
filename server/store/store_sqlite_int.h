/* Internals shared by the SQLite back-end's files (store_sqlite*.c); nothing outside
 * server/store/ includes this. store_sqlite.c holds the connection, its pragmas, the
 * migrations and the ops table; the ops live in one file per concern, like the PostgreSQL
 * back-end's. */
#ifndef ROLLCALL_SERVER_STORE_SQLITE_INT_H
#define ROLLCALL_SERVER_STORE_SQLITE_INT_H

#include "rc.h"
#include "store/store_backend.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Statements of the hot paths (authentication, ingest), prepared on a connection's first use
 * and kept until it closes: parsing SQL costs more than running these statements. A cached
 * statement is reset and its bindings cleared after every use (cached_done), so it never
 * holds a read transaction open nor points at a caller's strings. */
enum stmt_id {
    STMT_TOKEN_LOOKUP,
    STMT_ENROLMENT_GET,
    STMT_HEAD_GET,
    STMT_HEAD_ADVANCE,
    STMT_EVENT_INSERT,
    STMT_EVENT_RAW,
    STMT_DEVICE_SEEN,
    STMT_FINDING_INSERT,
    STMT_FENCE_CURRENT,
    STMT_SESSION_LOOKUP,
    STMT_BATCH_SIG_INSERT,
    STMT_EVENT_COLUMNS_FILL,
    STMT_COUNT
};

struct store_sqlite {
    struct store base; /* first: store.c sees only this */
    sqlite3 *db;
    bool writing;                   /* holds write_lock (between begin and commit/rollback) */
    sqlite3_stmt *stmt[STMT_COUNT]; /* cached statements, NULL until first used */
    int wal_frames; /* STORE_OPEN_MANUAL_CHECKPOINT: WAL frames after the last commit */
    struct sqlite_checkpointer *ck; /* its checkpoints' own thread and connection, or NULL */
};

static inline struct store_sqlite *sq(store *st)
{
    return (struct store_sqlite *)st;
}

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int db_fail(sqlite3 *db, char *err, const char *what)
{
    int code = sqlite3_extended_errcode(db);
    if ((code & 0xff) == SQLITE_CONSTRAINT)
        return rc_fail(err, RC_CONFLICT, "%s: %s", what, sqlite3_errmsg(db));
    if ((code & 0xff) == SQLITE_FULL)
        return rc_fail(err, RC_FULL, "%s: %s", what, sqlite3_errmsg(db));
    return rc_fail(err, RC_DB, "%s: %s", what, sqlite3_errmsg(db));
}

static inline int exec(sqlite3 *db, const char *sql, char *err, const char *what)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, err, what);
    return RC_OK;
}

/* The cached statement id, prepared from sql on its first use, into *q. */
static inline int cached(struct store_sqlite *s, enum stmt_id id, const char *sql, sqlite3_stmt **q,
                         char *err, const char *what)
{
    if (!s->stmt[id] && sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id],
                                           NULL) != SQLITE_OK)
        return db_fail(s->db, err, what);
    *q = s->stmt[id];
    return RC_OK;
}

/* Ends a use of a cached statement: reset, bindings cleared (unbound parameters are NULL). */
static inline void cached_done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

/* Copies a text column into a fixed buffer; RC_CORRUPT when it does not fit. */
static inline int column_text(sqlite3_stmt *q, int col, char *out, size_t n, char *err)
{
    const unsigned char *s = sqlite3_column_text(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);
    if (!s) {
        out[0] = '\0';
        return RC_OK;
    }
    if (len >= n)
        return rc_fail(err, RC_CORRUPT, "stored value in column %d longer than %zu bytes", col,
                       n - 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return RC_OK;
}

/* Binds s, or NULL when s is NULL or "". */
static inline void bind_text_or_null(sqlite3_stmt *q, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

/* Runs a statement that returns no rows, then finalizes it; what names it in errors. */
static inline int step_done(sqlite3 *db, sqlite3_stmt *q, char *err, const char *what)
{
    int rc = RC_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, what);
    sqlite3_finalize(q);
    return rc;
}

/* Runs a cached statement that returns no rows, then ends its use (cached_done). */
static inline int step_cached(sqlite3 *db, sqlite3_stmt *q, char *err, const char *what)
{
    int rc = RC_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, what); /* before the reset, which keeps the message anyway */
    cached_done(q);
    return rc;
}

static inline int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **q, char *err,
                          const char *what)
{
    if (sqlite3_prepare_v2(db, sql, -1, q, NULL) != SQLITE_OK)
        return db_fail(db, err, what);
    return RC_OK;
}

/* Runs a one-statement write with up to three text bindings (NULL: not bound) and an int64
 * bound last; *changed (may be NULL) gets the rows it changed. */
static inline int write1(sqlite3 *db, const char *sql, const char *a, const char *b, const char *c,
                         int64_t n, int *changed, char *err, const char *what)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, what);
    int i = 1;
    if (a)
        sqlite3_bind_text(q, i++, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(q, i++, b, -1, SQLITE_STATIC);
    if (c)
        sqlite3_bind_text(q, i++, c, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(q) >= i)
        sqlite3_bind_int64(q, i, n);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, what);
    else if (changed)
        *changed = sqlite3_changes(db);
    sqlite3_finalize(q);
    return rc;
}

/* store_sqlite.c: the write transaction some ops open of their own */
int sqlite_begin(store *st, char *err);
int sqlite_commit(store *st, char *err);
void sqlite_rollback(store *st);

/* store_sqlite_ingest.c */
int sqlite_device_count_seen(store *st, int64_t *n, char *err);
int sqlite_device_list(store *st, const char *institution, const char *district, size_t limit,
                       int (*fn)(const struct store_device *, void *), void *ctx, char *err);
int sqlite_enrolment_get(store *st, const char *id, struct store_enrolment *out, char *err);
int sqlite_enrolment_insert(store *st, const struct store_enrolment *e, char *err);
int sqlite_enrolment_update(store *st, const struct store_enrolment *e, char *err);
int sqlite_institution_key(store *st, const char *id, const uint8_t *candidate, int64_t now_ms,
                           uint8_t *key, bool *created, char *err);
int sqlite_head_get(store *st, const char *device, struct store_head *out, char *err);
int sqlite_head_advance(store *st, const char *device, int64_t seq, const char *hash,
                        int64_t now_ms, char *err);
int sqlite_events_insert(store *st, const struct store_event *rows, size_t n, char *err);
int sqlite_event_raw(store *st, const char *device, int64_t seq, char *buf, size_t cap, size_t *len,
                     char *err);
int sqlite_device_seen(store *st, const char *device, const struct store_device_status *s,
                       int64_t now_ms, char *err);
int sqlite_finding_insert(store *st, const struct store_finding *f, char *err);
int sqlite_fence_current(store *st, const char *id, struct store_fence *out, char *err);
int sqlite_fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                     const char *created_by, int64_t now_ms, bool replace,
                     enum store_fence_outcome *outcome, int *version, char *err);

/* store_sqlite_evidence.c */
int sqlite_batch_sig_insert(store *st, const struct store_batch_sig *b, char *err);
int sqlite_batch_close(store *st, const struct store_batch_sig *sig,
                       const struct store_device_status *s, int64_t now_ms, char *err);
int sqlite_batch_sig_list(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                          int (*fn)(const struct store_batch_sig *, void *), void *ctx, char *err);
int sqlite_event_range(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                       int (*fn)(const struct store_event_record *, void *), void *ctx, char *err);
int sqlite_fence_version(store *st, const char *id, int version, struct store_fence *out,
                         char *err);
int sqlite_signing_key_add(store *st, const struct store_signing_key *k, char *err);
int sqlite_signing_key_get(store *st, const char *key_id, struct store_signing_key *out, char *err);
int sqlite_signing_key_current(store *st, struct store_signing_key *out, char *err);
int sqlite_signing_key_list(store *st, int (*fn)(const struct store_signing_key *, void *),
                            void *ctx, char *err);
int sqlite_publication_put(store *st, const struct store_publication *p, char *err);
int sqlite_publication_get(store *st, int year, struct store_publication *out, char *err);

/* store_sqlite_figures.c */
int sqlite_begin_read(store *st, char *err);
int sqlite_institution_district(store *st, const char *id, char *district, char *err);
int sqlite_institution_register(store *st, const char *id, const char *district, char *err);
int sqlite_class_put(store *st, const struct store_plan_rows *p, const char *plan_json,
                     const char *by, int64_t now, bool *created, char *err);
int sqlite_class_get(store *st, const char *id, struct store_class_row *out, char *err);
int sqlite_class_plan(store *st, const char *id, struct store_plan_rows *out, char *err);
int sqlite_class_list(store *st, const struct store_class_filter *f, size_t limit,
                      int (*fn)(const struct store_class_row *, void *), void *ctx, char *err);
int sqlite_online_insert(store *st, const struct store_online_row *r, const char *by, int64_t now,
                         bool *duplicate, char *err);
int sqlite_online_list(store *st, const char *class_id,
                       int (*fn)(const struct store_online_row *, void *), void *ctx, char *err);
int sqlite_assessment_put(store *st, const struct store_assessment_row *a, const char *by,
                          int64_t now, bool *changed, char *err);
int sqlite_assessment_list(store *st, const char *class_id,
                           int (*fn)(const struct store_assessment_row *, void *), void *ctx,
                           char *err);
int sqlite_class_events(store *st, const char *class_id, const char *institution,
                        int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err);
/* Binds an events row's fix (fix_lat, fix_lon, fix_eph, fix_mode, fix_time, fix_source) to
 * parameters i..i+5, and its camera, file, start_ts, end_ts, kind, rollcall, skew_ms and
 * fix_sats to j..j+7; absent values stay unbound (NULL). */
void sqlite_bind_event_fix(sqlite3_stmt *q, int i, const struct store_event *e);
void sqlite_bind_event_late(sqlite3_stmt *q, int j, const struct store_event *e);
/* An events row's pack (store_event_pack) into buf, bound at parameter i without a copy (buf
 * must outlive the step); left unbound (NULL) when the row has none. */
void sqlite_bind_event_pack(sqlite3_stmt *q, int i, const struct store_event *e,
                            unsigned char buf[STORE_PACK_MAX]);
int sqlite_events_uncolumned(store *st, int64_t after_id, size_t limit,
                             int (*fn)(const struct store_event_line *, void *), void *ctx,
                             char *err);
int sqlite_event_columns_fill(store *st, const int64_t *ids, const struct store_event *rows,
                              size_t n, int64_t *changed, char *err);
int sqlite_class_device_events(store *st, const char *class_id, const char *institution,
                               int64_t early_ms, int64_t grace_ms,
                               int (*fn)(const struct store_raw_event *, void *), void *ctx,
                               char *err);
int sqlite_device_events(store *st, const char *device, int64_t from, int64_t to,
                         int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err);
int sqlite_class_devices(store *st, const char *class_id, const char *institution,
                         int (*fn)(const char *, const char *, void *), void *ctx, char *err);
int sqlite_device_conflicts(store *st, const char *device,
                            int (*fn)(const char *, int64_t, const char *, void *), void *ctx,
                            char *err);
int sqlite_event_find(store *st, const char *event_id, struct store_event_ref *out, char *err);
int sqlite_review_insert(store *st, struct store_review *r, char *err);
int sqlite_review_list(store *st, const char *class_id,
                       int (*fn)(const struct store_review *, void *), void *ctx, char *err);
int sqlite_figures_get(store *st, const char *class_id, const char *policy, int64_t gen,
                       int64_t now, struct store_figures *out, bool *found, char *err);
int sqlite_figures_get_many(store *st, const char *const *ids, const int64_t *gens, size_t n,
                            const char *policy, int64_t now, struct store_figures *out, bool *found,
                            char *err);
int sqlite_figures_put(store *st, const char *class_id, const char *policy, int64_t gen,
                       const struct store_figures *f, int64_t now, char *err);
int sqlite_figures_clear(store *st, char *err);
int sqlite_class_bump(store *st, const char *class_id, char *err);
int sqlite_finding_list(store *st, const struct store_finding_filter *f, size_t limit,
                        int (*fn)(const struct store_finding_row *, void *), void *ctx, char *err);
int sqlite_subsidy_history(store *st, const char *institution, const char *trainee,
                           const char *except_class,
                           int (*fn)(const struct store_subsidy_past_row *, void *), void *ctx,
                           char *err);
int sqlite_events_scan(store *st, int64_t *count, int64_t *sum, char *err);

/* store_sqlite_accounts.c */
int sqlite_token_insert(store *st, const struct store_token *t, char *err);
int sqlite_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err);
int sqlite_user_insert(store *st, const struct store_user *u, char *err);
int sqlite_user_get(store *st, const char *name, struct store_user *out, char *err);
int sqlite_user_list(store *st, int (*fn)(const struct store_user *, void *), void *ctx, char *err);
int sqlite_user_set_disabled(store *st, const char *name, bool disabled, int64_t now_ms, char *err);
int sqlite_user_set_password(store *st, const char *name, const char *hash, int64_t now_ms,
                             char *err);
int sqlite_user_logged_in(store *st, const char *name, int64_t now_ms, char *err);
int sqlite_session_insert(store *st, const char *hash, const char *name, int64_t now_ms,
                          int64_t idle_ms, int64_t max_ms, char *err);
int sqlite_session_lookup(store *st, const char *hash, struct store_session *out, char *err);
int sqlite_session_touch(store *st, const char *hash, int64_t now_ms, char *err);
int sqlite_session_delete(store *st, const char *hash, char *err);
int sqlite_session_purge(store *st, int64_t now_ms, char *err);
int sqlite_login_failures_get(store *st, const char *key, struct store_login_failures *out,
                              char *err);
int sqlite_login_failures_put(store *st, const char *key, const struct store_login_failures *f,
                              int64_t forget_before_ms, char *err);
int sqlite_login_failures_clear(store *st, const char *key, char *err);

/* store_sqlite_alerts.c */
int sqlite_alert_sub_insert(store *st, struct store_alert_sub *s, char *err);
int sqlite_alert_sub_list(store *st, const char *district,
                          int (*fn)(const struct store_alert_sub *, void *), void *ctx, char *err);
int sqlite_alert_sub_get(store *st, int64_t id, struct store_alert_sub *out, char *err);
int sqlite_alert_sub_remove(store *st, int64_t id, int64_t now_ms, char *err);
int sqlite_alert_deliveries(store *st, const struct store_alert_filter *f, size_t limit,
                            int (*fn)(const struct store_alert_delivery *, void *), void *ctx,
                            char *err);
int sqlite_alert_claim(store *st, int64_t id, int64_t seen_next_at_ms, int64_t lease_until_ms,
                       bool *claimed, char *err);
int sqlite_alert_record(store *st, int64_t id, const struct store_alert_attempt *a, char *err);

/* store_sqlite_procedure.c */
int sqlite_step_insert(store *st, struct store_step *s, char *err);
int sqlite_step_list(store *st, const char *kind, const char *subject,
                     int (*fn)(const struct store_step *, void *), void *ctx, char *err);

#endif
