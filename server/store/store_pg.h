/* Internals shared by the PostgreSQL back-end's files (store_pg*.c); nothing outside
 * server/store/ includes this. Every statement goes through pg_run: prepared on a connection's
 * first use of its SQL text (keyed by the literal's address) and kept until the connection
 * closes. Parameters travel as text, except bytea ones (binary); results are text unless a
 * caller asks for binary (the raw event lines, read without an escaping round trip). */
#ifndef ROLLCALL_SERVER_STORE_PG_H
#define ROLLCALL_SERVER_STORE_PG_H

#include "store/store_backend.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* The first key of the transaction-scoped advisory locks taking turns on one fence id (the
 * second is the id's hashtext); the two-key space does not meet the migrations' one-key lock. */
#define PG_FENCE_LOCK_CLASS "1380140102"

enum {
    PG_PARAMS_MAX = 40, /* parameters of one statement (events take 37) */
    PG_STMTS_MAX = 192, /* distinct statements one connection prepares */
    PG_ROWS_MAX = 16,   /* rows of one multi-row statement (pg_exec_rows) */
};

struct store_pg {
    struct store base; /* first: store.c sees only this */
    PGconn *conn;
    bool writing;     /* a write transaction is open (store_begin, not begin_read) */
    char sqlstate[6]; /* of the last failed statement, "" after a success */
    int nprep;        /* statements prepared on this connection */
    const char *prep[PG_STMTS_MAX];
    struct pg_params *rows; /* PG_ROWS_MAX rows' parameters for pg_exec_rows, made at first use */
    unsigned char (*packs)[STORE_PACK_MAX]; /* the packs those rows' parameters point at */
    struct pg_read_buf *read_buf;           /* the packed event reads' rows (store_pg_figures.c) */
};

/* Frees what a connection's packed event reads kept (NULL: nothing). */
void pg_read_buf_free(struct pg_read_buf *b);

/* One statement's parameters; numbers are formatted into num, so do not copy a pg_params. */
struct pg_params {
    int n;
    const char *v[PG_PARAMS_MAX];
    int len[PG_PARAMS_MAX];
    int fmt[PG_PARAMS_MAX];
    char num[PG_PARAMS_MAX][32];
};

struct store_pg *pg_of(store *st);
void pgp_text(struct pg_params *p, const char *s); /* NULL: SQL NULL */
void pgp_opt(struct pg_params *p, const char *s);  /* NULL or "": SQL NULL */
void pgp_i64(struct pg_params *p, int64_t v);
void pgp_dbl(struct pg_params *p, double v);
void pgp_bytes(struct pg_params *p, const void *b, size_t n);
void pgp_null(struct pg_params *p);
/* An events row's fix: fix_lat, fix_lon, fix_eph, fix_mode, fix_time, fix_source (6). */
void pgp_event_fix(struct pg_params *p, const struct store_event *e);
/* An events row's camera, file, start_ts, end_ts, kind, rollcall, skew_ms, fix_sats (8). */
void pgp_event_late(struct pg_params *p, const struct store_event *e);
/* An events row's pack (store_event_pack) into buf, which must outlive the statement, or
 * NULL when it has none (1). */
void pgp_event_pack(struct pg_params *p, const struct store_event *e,
                    unsigned char buf[STORE_PACK_MAX]);
/* Makes s->rows and s->packs at their first use: RC_OK or RC_NOMEM. */
int pg_rows_ready(struct store_pg *s, char *err);

/* Runs sql with p (NULL: none); *res (PQclear it) holds the rows. binary: results in binary
 * format. A failure returns RC_CONFLICT for a constraint violation, RC_FULL for a full disk,
 * RC_DB otherwise, with "what: the server's message" in err and the SQLSTATE in s->sqlstate. */
int pg_run(struct store_pg *s, const char *sql, const struct pg_params *p, bool binary,
           PGresult **res, char *err, const char *what);
/* pg_run for a statement whose rows are not needed; *changed (may be NULL): rows it changed. */
int pg_exec(struct store_pg *s, const char *sql, const struct pg_params *p, int64_t *changed,
            char *err, const char *what);
/* pg_exec for a multi-row statement: the parameters of rows[0..n) one after the other
 * (1 <= n <= PG_ROWS_MAX, each row at most PG_PARAMS_MAX). */
int pg_exec_rows(struct store_pg *s, const char *sql, const struct pg_params *rows, size_t n,
                 int64_t *changed, char *err, const char *what);
/* A one-off statement without parameters, not prepared (transaction control, DDL). */
int pg_simple(struct store_pg *s, const char *sql, char *err, const char *what);

/* Text-format column readers: NULL reads as "" / 0. pg_col_text: RC_CORRUPT when the value
 * does not fit n bytes with its NUL. */
int pg_col_text(const PGresult *r, int row, int col, char *out, size_t n, char *err);
int64_t pg_col_i64(const PGresult *r, int row, int col);
double pg_col_dbl(const PGresult *r, int row, int col);
bool pg_col_null(const PGresult *r, int row, int col);
/* Binary-format int8 column (NULL reads as 0). */
int64_t pg_col_bin_i64(const PGresult *r, int row, int col);
/* A binary-format float8 column; 0 when NULL. */
double pg_col_bin_dbl(const PGresult *r, int row, int col);

/* Begins a write transaction of its own when the caller holds none (*own true), for ops
 * that are one transaction "unless the caller holds one"; pg_own_end commits or rolls back. */
int pg_own_begin(store *st, bool *own, char *err);
int pg_own_end(store *st, bool own, int rc, char *err);

/* The ops, by concern. */
int pg_token_insert(store *st, const struct store_token *t, char *err);
int pg_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err);
int pg_device_count_seen(store *st, int64_t *n, char *err);
int pg_device_list(store *st, const char *institution, const char *district, size_t limit,
                   int (*fn)(const struct store_device *, void *), void *ctx, char *err);
int pg_enrolment_get(store *st, const char *id, struct store_enrolment *out, char *err);
int pg_enrolment_insert(store *st, const struct store_enrolment *e, char *err);
int pg_enrolment_update(store *st, const struct store_enrolment *e, char *err);
int pg_institution_key(store *st, const char *id, const uint8_t *candidate, int64_t now_ms,
                       uint8_t *key, bool *created, char *err);
int pg_head_get(store *st, const char *device, struct store_head *out, char *err);
int pg_head_advance(store *st, const char *device, int64_t seq, const char *hash, int64_t now_ms,
                    char *err);
int pg_events_insert(store *st, const struct store_event *rows, size_t n, char *err);
int pg_event_raw(store *st, const char *device, int64_t seq, char *buf, size_t cap, size_t *len,
                 char *err);
int pg_device_seen(store *st, const char *device, const struct store_device_status *s,
                   int64_t now_ms, char *err);
int pg_finding_insert(store *st, const struct store_finding *f, char *err);
int pg_fence_current(store *st, const char *id, struct store_fence *out, char *err);
int pg_fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                 const char *created_by, int64_t now_ms, bool replace,
                 enum store_fence_outcome *outcome, int *version, char *err);
int pg_batch_sig_insert(store *st, const struct store_batch_sig *s, char *err);
int pg_batch_close(store *st, const struct store_batch_sig *sig,
                   const struct store_device_status *s, int64_t now_ms, char *err);
int pg_batch_sig_list(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                      int (*fn)(const struct store_batch_sig *, void *), void *ctx, char *err);
int pg_event_range(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                   int (*fn)(const struct store_event_record *, void *), void *ctx, char *err);
int pg_fence_version(store *st, const char *id, int version, struct store_fence *out, char *err);
int pg_publication_put(store *st, const struct store_publication *p, char *err);
int pg_publication_get(store *st, int year, struct store_publication *out, char *err);
int pg_signing_key_add(store *st, const struct store_signing_key *k, char *err);
int pg_signing_key_get(store *st, const char *key_id, struct store_signing_key *out, char *err);
int pg_signing_key_current(store *st, struct store_signing_key *out, char *err);
int pg_signing_key_list(store *st, int (*fn)(const struct store_signing_key *, void *), void *ctx,
                        char *err);
int pg_alert_sub_insert(store *st, struct store_alert_sub *s, char *err);
int pg_alert_sub_list(store *st, const char *district,
                      int (*fn)(const struct store_alert_sub *, void *), void *ctx, char *err);
int pg_alert_sub_get(store *st, int64_t id, struct store_alert_sub *out, char *err);
int pg_alert_sub_remove(store *st, int64_t id, int64_t now_ms, char *err);
int pg_alert_deliveries(store *st, const struct store_alert_filter *f, size_t limit,
                        int (*fn)(const struct store_alert_delivery *, void *), void *ctx,
                        char *err);
int pg_alert_claim(store *st, int64_t id, int64_t seen_next_at_ms, int64_t lease_until_ms,
                   bool *claimed, char *err);
int pg_alert_record(store *st, int64_t id, const struct store_alert_attempt *a, char *err);

int pg_institution_district(store *st, const char *id, char *district, char *err);
int pg_institution_register(store *st, const char *id, const char *district, char *err);
int pg_class_put(store *st, const struct store_plan_rows *p, const char *plan_json, const char *by,
                 int64_t now_ms, bool *created, char *err);
int pg_class_get(store *st, const char *id, struct store_class_row *out, char *err);
int pg_class_plan(store *st, const char *id, struct store_plan_rows *out, char *err);
int pg_class_list(store *st, const struct store_class_filter *f, size_t limit,
                  int (*fn)(const struct store_class_row *, void *), void *ctx, char *err);
int pg_online_insert(store *st, const struct store_online_row *r, const char *by, int64_t now_ms,
                     bool *duplicate, char *err);
int pg_online_list(store *st, const char *class_id,
                   int (*fn)(const struct store_online_row *, void *), void *ctx, char *err);
int pg_assessment_put(store *st, const struct store_assessment_row *a, const char *by,
                      int64_t now_ms, bool *changed, char *err);
int pg_assessment_list(store *st, const char *class_id,
                       int (*fn)(const struct store_assessment_row *, void *), void *ctx,
                       char *err);
int pg_class_events(store *st, const char *class_id, const char *institution,
                    int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err);
int pg_events_uncolumned(store *st, int64_t after_id, size_t limit,
                         int (*fn)(const struct store_event_line *, void *), void *ctx, char *err);
int pg_event_columns_fill(store *st, const int64_t *ids, const struct store_event *rows, size_t n,
                          int64_t *changed, char *err);
int pg_class_device_events(store *st, const char *class_id, const char *institution,
                           int64_t early_ms, int64_t grace_ms,
                           int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err);
int pg_device_events(store *st, const char *device, int64_t from_ms, int64_t to_ms,
                     int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err);
int pg_class_devices(store *st, const char *class_id, const char *institution,
                     int (*fn)(const char *, const char *, void *), void *ctx, char *err);
int pg_device_conflicts(store *st, const char *device,
                        int (*fn)(const char *, int64_t, const char *, void *), void *ctx,
                        char *err);
int pg_event_find(store *st, const char *event_id, struct store_event_ref *out, char *err);
int pg_review_insert(store *st, struct store_review *r, char *err);
int pg_review_list(store *st, const char *class_id, int (*fn)(const struct store_review *, void *),
                   void *ctx, char *err);
int pg_figures_get(store *st, const char *class_id, const char *policy, int64_t gen, int64_t now_ms,
                   struct store_figures *out, bool *found, char *err);
int pg_figures_get_many(store *st, const char *const *ids, const int64_t *gens, size_t n,
                        const char *policy, int64_t now_ms, struct store_figures *out, bool *found,
                        char *err);
int pg_figures_put(store *st, const char *class_id, const char *policy, int64_t gen,
                   const struct store_figures *f, int64_t now_ms, char *err);
int pg_figures_clear(store *st, char *err);
int pg_class_bump(store *st, const char *class_id, char *err);
int pg_engine_alert_record(store *st, const char *class_id, const char *institution,
                           const struct store_engine_alert *a, int64_t now_ms, bool *added,
                           char *err);
int pg_finding_list(store *st, const struct store_finding_filter *f, size_t limit,
                    int (*fn)(const struct store_finding_row *, void *), void *ctx, char *err);
/* store_pg_procedure.c */
int pg_step_insert(store *st, struct store_step *s, char *err);
int pg_step_list(store *st, const char *kind, const char *subject,
                 int (*fn)(const struct store_step *, void *), void *ctx, char *err);
int pg_subsidy_history(store *st, const char *institution, const char *trainee,
                       const char *except_class,
                       int (*fn)(const struct store_subsidy_past_row *, void *), void *ctx,
                       char *err);
int pg_events_scan(store *st, int64_t *count, int64_t *sum, char *err);

/* store_pg_admin.c: tokens and fences as the console lists them */
int pg_token_list(store *st, int (*fn)(const struct store_token *, void *), void *ctx, char *err);
int pg_token_revoke(store *st, const char *name, const char *by, int64_t now_ms, char *err);
int pg_fence_list(store *st, int (*fn)(const struct store_fence_info *, void *), void *ctx,
                  char *err);
int pg_user_insert(store *st, const struct store_user *u, char *err);
int pg_user_get(store *st, const char *name, struct store_user *out, char *err);
int pg_user_list(store *st, int (*fn)(const struct store_user *, void *), void *ctx, char *err);
int pg_user_set_disabled(store *st, const char *name, bool disabled, int64_t now_ms, char *err);
int pg_user_set_password(store *st, const char *name, const char *hash, int64_t now_ms, char *err);
int pg_user_logged_in(store *st, const char *name, int64_t now_ms, char *err);
int pg_session_insert(store *st, const char *hash, const char *name, int64_t now_ms,
                      int64_t idle_ms, int64_t max_ms, char *err);
int pg_session_lookup(store *st, const char *hash, struct store_session *out, char *err);
int pg_session_touch(store *st, const char *hash, int64_t now_ms, char *err);
int pg_session_delete(store *st, const char *hash, char *err);
int pg_session_purge(store *st, int64_t now_ms, char *err);
int pg_login_failures_get(store *st, const char *key, struct store_login_failures *out, char *err);
int pg_login_failures_put(store *st, const char *key, const struct store_login_failures *f,
                          int64_t forget_before_ms, char *err);
int pg_login_failures_clear(store *st, const char *key, char *err);

#endif
