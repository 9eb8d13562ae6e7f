/* The contract between store.c (URL parsing, dispatch, pooling, the figures' generations),
 * store_map.c (the engine's types to flat rows) and each storage back-end (store_sqlite*.c,
 * store_pg*.c). A back-end allocates a struct whose first member is a `struct store`
 * (zeroed) pointing at its ops table; store.c never sees SQL, a back-end never sees an
 * engine type. Every op follows the matching store_* function's contract in store.h; a NULL
 * op answers RC_STATE.
 *
 * Generations: a back-end does not bump classes.gen when an op writes a class's inputs (no
 * triggers since schema 15); store.c does, once per class per transaction, through
 * class_bump just before the commit. Only class_put bumps by itself (its upsert). */
#ifndef ROLLCALL_SERVER_STORE_BACKEND_H
#define ROLLCALL_SERVER_STORE_BACKEND_H

#include "store/store.h"

struct store_ops {
    const char *name;
    int latest; /* the schema version this back-end's migrations reach */
    /* location: the URL without its scheme for sqlite (a path), the whole URL otherwise. */
    int (*open)(const char *location, unsigned flags, store **out, char *err);
    void (*close)(store *st);
    int (*schema_version)(store *st, int *version, char *err);
    int (*migrate_to)(store *st, int target, int *from, int *to, char *err);
    int (*begin)(store *st, char *err);
    int (*commit)(store *st, char *err);
    void (*rollback)(store *st);
    /* verb: "SAVEPOINT", "ROLLBACK TO", "RELEASE"; name checked by store.c */
    int (*savepoint)(store *st, const char *verb, const char *name, char *err);
    int (*checkpoint)(store *st, bool *done, char *err); /* NULL: nothing to do */
    int (*backup)(store *st, const char *dest_path, char *err);
    int (*integrity_check)(store *st, char *err);
    int (*token_insert)(store *st, const struct store_token *t, char *err);
    int (*token_lookup)(store *st, const char *hash_hex, struct store_token *out, char *err);
    int (*device_count_seen)(store *st, int64_t *n, char *err);
    /* institution, district NULL: any */
    int (*device_list)(store *st, const char *institution, const char *district, size_t limit,
                       int (*fn)(const struct store_device *, void *), void *ctx, char *err);
    int (*enrolment_get)(store *st, const char *id, struct store_enrolment *out, char *err);
    int (*enrolment_insert)(store *st, const struct store_enrolment *e, char *err);
    int (*enrolment_update)(store *st, const struct store_enrolment *e, char *err);
    int (*institution_key)(store *st, const char *id, const uint8_t *candidate, int64_t now_ms,
                           uint8_t *key, bool *created, char *err);
    int (*head_get)(store *st, const char *device, struct store_head *out, char *err);
    int (*head_advance)(store *st, const char *device, int64_t seq, const char *hash,
                        int64_t now_ms, char *err);
    /* n >= 1 rows in order; on a failure the caller's transaction is rolled back */
    int (*events_insert)(store *st, const struct store_event *rows, size_t n, char *err);
    int (*event_raw)(store *st, const char *device, int64_t seq, char *buf, size_t cap, size_t *len,
                     char *err);
    int (*device_seen)(store *st, const char *device, const struct store_device_status *s,
                       int64_t now_ms, char *err);
    int (*finding_insert)(store *st, const struct store_finding *f, char *err);
    int (*fence_current)(store *st, const char *id, struct store_fence *out, char *err);
    int (*fence_put)(store *st, const char *id, const char *geojson, const char *sha256,
                     const char *created_by, int64_t now_ms, bool replace,
                     enum store_fence_outcome *outcome, int *version, char *err);
    /* figures */
    int (*begin_read)(store *st, char *err);
    int (*institution_district)(store *st, const char *id, char *district, char *err);
    int (*institution_register)(store *st, const char *id, const char *district, char *err);
    /* the plan, online records, assessments and the subsidy history travel as the flat rows
     * of store.h; store_map.c maps the engine's types to and from them */
    int (*class_put)(store *st, const struct store_plan_rows *p, const char *plan_json,
                     const char *by, int64_t now_ms, bool *created, char *err);
    int (*class_get)(store *st, const char *id, struct store_class_row *out, char *err);
    int (*class_plan)(store *st, const char *id, struct store_plan_rows *out, char *err);
    int (*class_list)(store *st, const struct store_class_filter *f, size_t limit,
                      int (*fn)(const struct store_class_row *, void *), void *ctx, char *err);
    int (*online_insert)(store *st, const struct store_online_row *r, const char *by,
                         int64_t now_ms, bool *duplicate, char *err);
    int (*online_list)(store *st, const char *class_id,
                       int (*fn)(const struct store_online_row *, void *), void *ctx, char *err);
    /* *changed: the row was stored or changed (an identical re-upload changes nothing) */
    int (*assessment_put)(store *st, const struct store_assessment_row *a, const char *by,
                          int64_t now_ms, bool *changed, char *err);
    int (*assessment_list)(store *st, const char *class_id,
                           int (*fn)(const struct store_assessment_row *, void *), void *ctx,
                           char *err);
    int (*class_events)(store *st, const char *class_id, const char *institution,
                        int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err);
    int (*device_events)(store *st, const char *device, int64_t from_ms, int64_t to_ms,
                         int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err);
    int (*class_device_events)(store *st, const char *class_id, const char *institution,
                               int64_t early_ms, int64_t grace_ms,
                               int (*fn)(const struct store_raw_event *, void *), void *ctx,
                               char *err);
    int (*class_devices)(store *st, const char *class_id, const char *institution,
                         int (*fn)(const char *, const char *, void *), void *ctx, char *err);
    int (*events_uncolumned)(store *st, int64_t after_id, size_t limit,
                             int (*fn)(const struct store_event_line *, void *), void *ctx,
                             char *err);
    int (*event_columns_fill)(store *st, const int64_t *ids, const struct store_event *rows,
                              size_t n, int64_t *changed, char *err);
    int (*device_conflicts)(store *st, const char *device,
                            int (*fn)(const char *, int64_t, const char *, void *), void *ctx,
                            char *err);
    int (*event_find)(store *st, const char *event_id, struct store_event_ref *out, char *err);
    int (*review_insert)(store *st, struct store_review *r, char *err);
    int (*review_list)(store *st, const char *class_id,
                       int (*fn)(const struct store_review *, void *), void *ctx, char *err);
    int (*figures_get)(store *st, const char *class_id, const char *policy, int64_t gen,
                       int64_t now_ms, struct store_figures *out, bool *found, char *err);
    int (*figures_get_many)(store *st, const char *const *ids, const int64_t *gens, size_t n,
                            const char *policy, int64_t now_ms, struct store_figures *out,
                            bool *found, char *err);
    int (*figures_put)(store *st, const char *class_id, const char *policy, int64_t gen,
                       const struct store_figures *f, int64_t now_ms, char *err);
    int (*figures_clear)(store *st, char *err);
    /* Adds one to class_id's generation (classes.gen); no such class: nothing. store.c calls
     * it, in the writing transaction, for every class whose inputs that transaction changed. */
    int (*class_bump)(store *st, const char *class_id, char *err);
    int (*finding_list)(store *st, const struct store_finding_filter *f, size_t limit,
                        int (*fn)(const struct store_finding_row *, void *), void *ctx, char *err);
    int (*subsidy_history)(store *st, const char *institution, const char *trainee,
                           const char *except_class,
                           int (*fn)(const struct store_subsidy_past_row *, void *), void *ctx,
                           char *err);
    int (*events_scan)(store *st, int64_t *count, int64_t *sum, char *err);
    /* one key, inside the caller's transaction: *added true when it was new */
    int (*engine_alert_record)(store *st, const char *class_id, const char *institution,
                               const struct store_engine_alert *a, int64_t now_ms, bool *added,
                               char *err);
    /* the subsidy procedure */
    int (*step_insert)(store *st, struct store_step *s, char *err);
    int (*step_list)(store *st, const char *kind, const char *subject,
                     int (*fn)(const struct store_step *, void *), void *ctx, char *err);
    /* accounts */
    int (*user_insert)(store *st, const struct store_user *u, char *err);
    int (*user_get)(store *st, const char *name, struct store_user *out, char *err);
    int (*user_list)(store *st, int (*fn)(const struct store_user *, void *), void *ctx, char *err);
    int (*user_set_disabled)(store *st, const char *name, bool disabled, int64_t now_ms, char *err);
    int (*user_set_password)(store *st, const char *name, const char *hash, int64_t now_ms,
                             char *err);
    int (*user_logged_in)(store *st, const char *name, int64_t now_ms, char *err);
    int (*session_insert)(store *st, const char *hash, const char *name, int64_t now_ms,
                          int64_t idle_ms, int64_t max_ms, char *err);
    int (*session_lookup)(store *st, const char *hash, struct store_session *out, char *err);
    int (*session_touch)(store *st, const char *hash, int64_t now_ms, char *err);
    int (*session_delete)(store *st, const char *hash, char *err);
    int (*session_purge)(store *st, int64_t now_ms, char *err);
    int (*login_failures_get)(store *st, const char *key, struct store_login_failures *out,
                              char *err);
    int (*login_failures_put)(store *st, const char *key, const struct store_login_failures *f,
                              int64_t forget_before_ms, char *err);
    int (*login_failures_clear)(store *st, const char *key, char *err);
    /* evidence */
    int (*batch_sig_insert)(store *st, const struct store_batch_sig *s, char *err);
    int (*batch_close)(store *st, const struct store_batch_sig *sig,
                       const struct store_device_status *s, int64_t now_ms, char *err);
    int (*batch_sig_list)(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                          int (*fn)(const struct store_batch_sig *, void *), void *ctx, char *err);
    int (*event_range)(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                       int (*fn)(const struct store_event_record *, void *), void *ctx, char *err);
    int (*fence_version)(store *st, const char *id, int version, struct store_fence *out,
                         char *err);
    int (*publication_put)(store *st, const struct store_publication *p, char *err);
    int (*publication_get)(store *st, int year, struct store_publication *out, char *err);
    int (*signing_key_add)(store *st, const struct store_signing_key *k, char *err);
    int (*signing_key_get)(store *st, const char *key_id, struct store_signing_key *out, char *err);
    int (*signing_key_current)(store *st, struct store_signing_key *out, char *err);
    int (*signing_key_list)(store *st, int (*fn)(const struct store_signing_key *, void *),
                            void *ctx, char *err);
    /* alerts */
    int (*alert_sub_insert)(store *st, struct store_alert_sub *s, char *err);
    int (*alert_sub_list)(store *st, const char *district,
                          int (*fn)(const struct store_alert_sub *, void *), void *ctx, char *err);
    int (*alert_sub_get)(store *st, int64_t id, struct store_alert_sub *out, char *err);
    int (*alert_sub_remove)(store *st, int64_t id, int64_t now_ms, char *err);
    int (*alert_deliveries)(store *st, const struct store_alert_filter *f, size_t limit,
                            int (*fn)(const struct store_alert_delivery *, void *), void *ctx,
                            char *err);
    int (*alert_claim)(store *st, int64_t id, int64_t seen_next_at_ms, int64_t lease_until_ms,
                       bool *claimed, char *err);
    int (*alert_record)(store *st, int64_t id, const struct store_alert_attempt *a, char *err);
    /* admin: tokens and fences as the console lists them */
    int (*token_list)(store *st, int (*fn)(const struct store_token *, void *), void *ctx,
                      char *err);
    int (*token_revoke)(store *st, const char *name, const char *by, int64_t now_ms, char *err);
    int (*fence_list)(store *st, int (*fn)(const struct store_fence_info *, void *), void *ctx,
                      char *err);
};

/* Distinct classes a transaction remembers to bump at commit; beyond them, store.c bumps at
 * once (in the same transaction: correct, only slower). */
enum { STORE_CHANGED_MAX = 32 };

struct store {
    const struct store_ops *ops;
    char *url;  /* maintained by store.c: the URL it was opened with (store_open_again) */
    bool in_tx; /* maintained by store.c */
    /* maintained by store.c: the classes whose inputs the open transaction changed */
    size_t n_changed;
    char changed[STORE_CHANGED_MAX][STORE_ID_MAX + 1];
};

/* Every member of struct store_ops from `open` to the end is a function pointer, so a
 * back-end that leaves one NULL is found by walking them all (a member added later is
 * covered without listing it anywhere). Returns RC_OK, or RC_STATE naming ops->name and the
 * member's position counted from `open` (0) in err. `checkpoint` may be NULL (it says
 * "nothing to do"); no other op may. */
int store_ops_complete(const struct store_ops *ops, char *err);

/* For store.c and store_map.c, around an op that writes a class's inputs. store_write_begin
 * opens a transaction of the write's own when the caller holds none (*own true);
 * store_class_changed remembers class_id ("" or NULL: none) for the bump at commit;
 * store_write_end commits (with the bumps) or rolls back the own transaction and returns rc,
 * or the commit's failure. */
int store_write_begin(store *st, bool *own, char *err);
int store_class_changed(store *st, const char *class_id, char *err);
int store_write_end(store *st, bool own, int rc, char *err);

/* The columns class_events, device_events and class_device_events select, in this order,
 * each prefixed with a table alias ("e." or ""): a store_raw_event and its row, the row packed
 * (store_event_pack; schema 20). A row without a pack (NULL: stored before schema 18, or not
 * from its line) or with one that does not unpack has its line read apart, by (device, seq).
 * Three columns, not the row's 24: SQLite reads them from a covering index (migrations 19,
 * 20) in a third of the time, and PostgreSQL sends fewer bytes. */
#define STORE_EVENT_READ_COLUMNS(a)                                                                \
    a "server_verdict, " a "received_at, " a "pack, " a "device, " a "seq"
enum store_event_read_column {
    SER_SERVER_VERDICT,
    SER_RECEIVED_AT,
    SER_PACK,
    SER_DEVICE,
    SER_SEQ,
};

/* An event row's packed form: what the figures read of an event (every column of struct
 * store_event that STORE_EVENT_READ_COLUMNS used to select one by one) in one byte string,
 * stored beside the columns at ingest and by the backfill. Little-endian, the same on every
 * machine and back-end, so that copy and backup move it as bytes:
 *   version (1) | flags (2: has_fix, has_eph, has_sats, has_fix_time, has_start, has_end,
 *   has_skew, trainee binary, event id binary) | seq, ts (zigzag varints) | with a fix: lat,
 *   lon (IEEE 754 doubles), mode (varint), then eph (double), sats (varint), fix time
 *   (varint) each when it has one | start, end, skew (varints) each when it has one |
 *   device, event id, type, trainee, masked number, class, session, roll-call, fence,
 *   camera, kind, verdict, fix source: each a string ended by a NUL (NULL as ""), but the
 *   event id as its 16 bytes when it is a lower-case UUID and the trainee as 32 bytes when
 *   a lower-case hex pseudonym (the two longest strings, 100 characters, in 48 bytes).
 * STORE_PACK_MAX bytes hold any row store_event_from makes. */
enum {
    STORE_PACK_VERSION = 1,
    STORE_PACK_MAX = 1024,
    STORE_PACK_PSEUDONYM_LEN = 64,
    STORE_PACK_UUID_LEN = 36,
};
/* Where store_event_unpack writes the strings it rebuilds from bytes. */
struct store_pack_text {
    char trainee[STORE_PACK_PSEUDONYM_LEN + 1];
    char event_id[STORE_PACK_UUID_LEN + 1];
};
/* Packs r (cols true) into buf (cap bytes): the length, or 0 when r has no columns or its
 * pack would not fit (the row is then stored without one and read from its line). */
size_t store_event_pack(const struct store_event *r, unsigned char *buf, size_t cap);
/* Unpacks n bytes at p into r (zeroed first; cols true), its strings pointing into p and t:
 * RC_OK, or RC_CORRUPT for anything store_event_pack did not make (another version,
 * truncated, bytes left over), r then unusable. */
int store_event_unpack(const void *p, size_t n, struct store_event *r, struct store_pack_text *t);

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

#endif
