/* PostgreSQL back-end: tokens, devices and enrolment, chain heads, events, findings, fences,
 * batch signatures and signing keys (store.h; invariants in store_pg.c). */
#include "rc.h"
#include "store/store.h"
#include "store/store_pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_token_insert(store *st, const struct store_token *t, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, t->hash);
    pgp_text(&p, t->name);
    pgp_text(&p, t->role);
    pgp_i64(&p, t->created_at_ms);
    pgp_opt(&p, t->created_by);
    int rc = pg_exec(pg_of(st),
                     "INSERT INTO tokens(hash, name, role, created_at, created_by) "
                     "VALUES ($1, $2, $3, $4, $5)",
                     &p, NULL, err, "storing a token");
    if (rc == RC_CONFLICT)
        rc = rc_fail(err, RC_CONFLICT, "a token named '%s' exists already", t->name);
    return rc;
}

int pg_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    pgp_text(&p, hash_hex);
    int rc = pg_run(pg_of(st),
                    "SELECT id, hash, name, role, created_at FROM tokens "
                    "WHERE hash = $1 AND revoked_at IS NULL",
                    &p, false, &r, err, "looking up a token");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = rc_fail(err, RC_NOTFOUND, "unknown token");
    else if ((rc = pg_col_text(r, 0, 1, out->hash, sizeof out->hash, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 2, out->name, sizeof out->name, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 3, out->role, sizeof out->role, err)) == RC_OK) {
        out->id = pg_col_i64(r, 0, 0);
        out->created_at_ms = pg_col_i64(r, 0, 4);
    }
    PQclear(r);
    return rc;
}

int pg_device_count_seen(store *st, int64_t *n, char *err)
{
    PGresult *r = NULL;
    int rc = pg_run(pg_of(st), "SELECT count(*) FROM devices WHERE last_seen_at IS NOT NULL", NULL,
                    false, &r, err, "counting devices");
    if (rc == RC_OK)
        *n = pg_col_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

int pg_device_list(store *st, const char *institution, const char *district, size_t limit,
                   int (*fn)(const struct store_device *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    pgp_text(&p, institution);
    pgp_text(&p, district);
    int rc = pg_run(pg_of(st),
                    "SELECT d.id, d.institution, d.enrolled_at, coalesce(d.last_seen_at, 0), "
                    "coalesce(h.seq, 0), coalesce(d.profile, ''), coalesce(d.fence, ''), "
                    "d.status_queue, d.status_skew_ms, coalesce(d.status_gnss, ''), "
                    "d.status_fix_mode, d.status_fix_ts "
                    "FROM devices d LEFT JOIN chain_heads h ON h.device = d.id "
                    "WHERE ($2::text IS NULL OR d.institution = $2) AND ($3::text IS NULL OR "
                    "d.institution IN (SELECT id FROM institutions WHERE district = $3)) "
                    "ORDER BY d.id LIMIT $1",
                    &p, false, &r, err, "listing devices");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_device d = {0};
        if ((rc = pg_col_text(r, i, 0, d.id, sizeof d.id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 1, d.institution, sizeof d.institution, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 5, d.profile, sizeof d.profile, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 6, d.fence, sizeof d.fence, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 9, d.status.gnss, sizeof d.status.gnss, err)) != RC_OK)
            break;
        d.enrolled_at_ms = pg_col_i64(r, i, 2);
        d.last_seen_at_ms = pg_col_i64(r, i, 3);
        d.head_seq = pg_col_i64(r, i, 4);
        d.status.has_queue = !pg_col_null(r, i, 7);
        d.status.queue = pg_col_i64(r, i, 7);
        d.status.has_skew = !pg_col_null(r, i, 8);
        d.status.clock_skew_ms = pg_col_i64(r, i, 8);
        d.status.has_fix = !pg_col_null(r, i, 10);
        d.status.fix_mode = (int)pg_col_i64(r, i, 10);
        d.status.fix_ts_ms = pg_col_i64(r, i, 11);
        if ((rc = fn(&d, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_enrolment_get(store *st, const char *id, struct store_enrolment *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    pgp_text(&p, id);
    int rc = pg_run(pg_of(st),
                    "SELECT id, institution, public_key_pem, coalesce(profile, ''), "
                    "coalesce(fence, ''), coalesce(assumed_eph_m, 0), enrolled_at, "
                    "coalesce(enrolled_by, '') FROM devices WHERE id = $1",
                    &p, false, &r, err, "reading a device");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", id);
    else if ((rc = pg_col_text(r, 0, 0, out->id, sizeof out->id, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 1, out->institution, sizeof out->institution, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 2, out->public_key_pem, sizeof out->public_key_pem, err)) ==
                 RC_OK &&
             (rc = pg_col_text(r, 0, 3, out->profile, sizeof out->profile, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 4, out->fence, sizeof out->fence, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 7, out->enrolled_by, sizeof out->enrolled_by, err)) == RC_OK) {
        out->assumed_eph_m = pg_col_dbl(r, 0, 5);
        out->enrolled_at_ms = pg_col_i64(r, 0, 6);
    }
    PQclear(r);
    return rc;
}

int pg_enrolment_insert(store *st, const struct store_enrolment *e, char *err)
{
    struct store_pg *s = pg_of(st);
    struct pg_params p = {0};
    pgp_text(&p, e->id);
    pgp_text(&p, e->institution);
    pgp_text(&p, e->public_key_pem);
    pgp_opt(&p, e->profile);
    pgp_opt(&p, e->fence);
    pgp_dbl(&p, e->assumed_eph_m);
    pgp_i64(&p, e->enrolled_at_ms);
    pgp_opt(&p, e->enrolled_by);
    int rc = pg_exec(s,
                     "INSERT INTO devices(id, institution, public_key_pem, profile, fence, "
                     "assumed_eph_m, enrolled_at, enrolled_by) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                     &p, NULL, err, "enrolling a device");
    if (rc == RC_CONFLICT) {
        if (strcmp(s->sqlstate, "23503") == 0) /* foreign_key_violation */
            return rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", e->institution);
        return rc_fail(err, RC_CONFLICT, "device '%s' is enrolled already", e->id);
    }
    return rc;
}

int pg_enrolment_update(store *st, const struct store_enrolment *e, char *err)
{
    struct pg_params p = {0};
    int64_t changed = 0;
    pgp_text(&p, e->id);
    pgp_opt(&p, e->profile);
    pgp_opt(&p, e->fence);
    pgp_dbl(&p, e->assumed_eph_m);
    int rc = pg_exec(pg_of(st),
                     "UPDATE devices SET profile = $2, fence = $3, assumed_eph_m = $4 "
                     "WHERE id = $1",
                     &p, &changed, err, "updating a device");
    if (rc == RC_OK && changed != 1)
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", e->id);
    return rc;
}

int pg_institution_key(store *st, const char *id, const uint8_t *candidate, int64_t now_ms,
                       uint8_t *key, bool *created, char *err)
{
    struct store_pg *s = pg_of(st);
    struct pg_params p = {0};
    PGresult *r = NULL;
    int64_t changed = 0;
    *created = false;
    pgp_text(&p, id);
    pgp_bytes(&p, candidate, STORE_INSTITUTION_KEY_LEN);
    pgp_i64(&p, now_ms);
    int rc = pg_exec(s,
                     "INSERT INTO institutions(id, pseudonym_key, created_at) "
                     "VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                     &p, &changed, err, "creating an institution");
    if (rc != RC_OK)
        return rc;
    *created = changed == 1;
    struct pg_params q = {0};
    pgp_text(&q, id);
    rc = pg_run(s, "SELECT pseudonym_key FROM institutions WHERE id = $1", &q, true, &r, err,
                "reading an institution");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) != 1)
        rc = rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", id);
    else if (PQgetlength(r, 0, 0) != STORE_INSTITUTION_KEY_LEN)
        rc = rc_fail(err, RC_CORRUPT, "institution '%s' has a key of the wrong length", id);
    else
        memcpy(key, PQgetvalue(r, 0, 0), STORE_INSTITUTION_KEY_LEN);
    PQclear(r);
    return rc;
}

int pg_head_get(store *st, const char *device, struct store_head *out, char *err)
{
    struct store_pg *s = pg_of(st);
    struct pg_params p = {0};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    memset(out->hash, '0', STORE_HASH_HEX_LEN);
    pgp_text(&p, device);
    int rc;
    /* In a write transaction the device's row is locked first, until commit: a second
     * collector applying a batch of this device waits here, then (a new statement, a new
     * snapshot under READ COMMITTED) reads the head the first one left. */
    if (s->writing) {
        rc = pg_exec(s, "SELECT 1 FROM devices WHERE id = $1 FOR UPDATE", &p, NULL, err,
                     "locking a device's chain");
        if (rc != RC_OK)
            return rc;
    }
    rc = pg_run(s,
                "SELECT h.seq, h.hash, e.seq, e.ts, e.mono_ms, e.boot FROM chain_heads h "
                "LEFT JOIN events e ON e.device = h.device AND e.seq = h.seq WHERE h.device = $1",
                &p, false, &r, err, "reading a chain head");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 1) {
        out->seq = pg_col_i64(r, 0, 0);
        rc = pg_col_text(r, 0, 1, out->hash, sizeof out->hash, err);
        if (rc == RC_OK && strlen(out->hash) != STORE_HASH_HEX_LEN)
            rc = rc_fail(err, RC_CORRUPT, "chain head of '%s' has a malformed hash", device);
        if (rc == RC_OK && !pg_col_null(r, 0, 2)) {
            out->has_event = true;
            out->ts_ms = pg_col_i64(r, 0, 3);
            out->mono_ms = pg_col_i64(r, 0, 4);
            rc = pg_col_text(r, 0, 5, out->boot, sizeof out->boot, err);
        }
    }
    PQclear(r);
    return rc;
}

int pg_head_advance(store *st, const char *device, int64_t seq, const char *hash, int64_t now_ms,
                    char *err)
{
    struct pg_params p = {0};
    int64_t changed = 0;
    pgp_text(&p, device);
    pgp_i64(&p, seq);
    pgp_text(&p, hash);
    pgp_i64(&p, now_ms);
    /* The WHERE makes a backwards move change nothing, which is then reported. */
    int rc = pg_exec(pg_of(st),
                     "INSERT INTO chain_heads(device, seq, hash, updated_at) "
                     "VALUES ($1, $2, $3, $4) ON CONFLICT (device) DO UPDATE SET "
                     "seq = excluded.seq, hash = excluded.hash, updated_at = excluded.updated_at "
                     "WHERE excluded.seq > chain_heads.seq",
                     &p, &changed, err, "advancing a chain head");
    if (rc == RC_OK && changed != 1)
        rc = rc_fail(err, RC_CONFLICT, "chain head of '%s' is at or beyond seq %lld already",
                     device, (long long)seq);
    return rc;
}

static void i64_or_null(struct pg_params *p, bool has, int64_t v)
{
    if (has)
        pgp_i64(p, v);
    else
        pgp_null(p);
}

void pgp_event_fix(struct pg_params *p, const struct store_event *e)
{
    if (!e->has_fix) {
        for (int i = 0; i < 6; i++)
            pgp_null(p);
        return;
    }
    pgp_dbl(p, e->fix_lat);
    pgp_dbl(p, e->fix_lon);
    if (e->has_eph)
        pgp_dbl(p, e->fix_eph);
    else
        pgp_null(p);
    pgp_i64(p, e->fix_mode);
    i64_or_null(p, e->has_fix_time, e->fix_time_ms);
    pgp_opt(p, e->fix_source);
}

void pgp_event_pack(struct pg_params *p, const struct store_event *e,
                    unsigned char buf[STORE_PACK_MAX])
{
    size_t n = store_event_pack(e, buf, STORE_PACK_MAX);
    if (n)
        pgp_bytes(p, buf, n);
    else
        pgp_null(p);
}

void pgp_event_late(struct pg_params *p, const struct store_event *e)
{
    pgp_opt(p, e->camera);
    pgp_opt(p, e->file);
    i64_or_null(p, e->has_start, e->start_ms);
    i64_or_null(p, e->has_end, e->end_ms);
    pgp_opt(p, e->kind);
    pgp_opt(p, e->rollcall);
    i64_or_null(p, e->has_skew, e->skew_ms);
    i64_or_null(p, e->has_fix && e->has_sats, e->fix_sats);
}

/* The 37 parameters of one events row, in EVENT_COLUMNS' order; its pack in pack. */
static void event_params(struct pg_params *p, const struct store_event *e,
                         unsigned char pack[STORE_PACK_MAX])
{
    p->n = 0;
    pgp_text(p, e->device);
    pgp_i64(p, e->seq);
    pgp_text(p, e->event_id);
    pgp_bytes(p, e->raw, e->raw_len);
    pgp_text(p, e->hash);
    pgp_text(p, e->prev);
    pgp_text(p, e->type);
    pgp_i64(p, e->ts_ms);
    pgp_opt(p, e->trainee);
    pgp_opt(p, e->trainee_masked);
    pgp_opt(p, e->class_id);
    pgp_opt(p, e->session);
    pgp_opt(p, e->verdict);
    pgp_opt(p, e->server_verdict);
    if (e->has_distance)
        pgp_dbl(p, e->distance_m);
    else
        pgp_null(p);
    pgp_opt(p, e->fence);
    pgp_i64(p, e->received_at_ms);
    pgp_opt(p, e->boot);
    pgp_i64(p, e->mono_ms);
    pgp_event_fix(p, e);
    if (e->has_server_distance)
        pgp_dbl(p, e->server_distance_m);
    else
        pgp_null(p);
    if (e->server_fence_version > 0)
        pgp_i64(p, e->server_fence_version);
    else
        pgp_null(p);
    pgp_event_late(p, e);
    if (e->cols)
        pgp_i64(p, 1);
    else
        pgp_null(p);
    pgp_event_pack(p, e, pack);
}

#define EVENT_COLUMNS                                                                              \
    "device, seq, event_id, raw, hash, prev, type, ts, trainee, trainee_masked, class, session, "  \
    "verdict, server_verdict, distance_m, fence, received_at, boot, mono_ms, fix_lat, fix_lon, "   \
    "fix_eph, fix_mode, fix_time, fix_source, server_distance_m, server_fence_version, camera, "   \
    "file, start_ts, end_ts, kind, rollcall, skew_ms, fix_sats, cols, pack"
enum { EVENT_PARAMS = 37 };

/* "INSERT INTO events(...) VALUES ($1, ..., $32), ($33, ...)" for 1 to PG_ROWS_MAX rows, made
 * once; each text stays at its address, which keys the connection's prepared statement. */
static char *insert_sql[PG_ROWS_MAX + 1];
static pthread_once_t insert_sql_once = PTHREAD_ONCE_INIT;

static void insert_sql_make(void)
{
    static const char head[] = "INSERT INTO events(" EVENT_COLUMNS ") VALUES ";
    for (int k = 1; k <= PG_ROWS_MAX; k++) {
        size_t cap = sizeof head + (size_t)k * EVENT_PARAMS * 8 + 1;
        char *q = malloc(cap);
        if (!q)
            return; /* pg_events_insert answers RC_NOMEM */
        size_t at = (size_t)snprintf(q, cap, "%s", head);
        for (int r = 0; r < k; r++)
            for (int c = 0; c < EVENT_PARAMS; c++)
                at +=
                    (size_t)snprintf(q + at, cap - at, "%s$%d%s", c == 0 ? (r ? ", (" : "(") : "",
                                     r * EVENT_PARAMS + c + 1, c == EVENT_PARAMS - 1 ? ")" : ", ");
        insert_sql[k] = q;
    }
}

int pg_events_insert(store *st, const struct store_event *rows, size_t n, char *err)
{
    struct store_pg *s = pg_of(st);
    pthread_once(&insert_sql_once, insert_sql_make);
    if (pg_rows_ready(s, err) != RC_OK)
        return RC_NOMEM;
    for (size_t at = 0; at < n;) {
        size_t k = n - at < PG_ROWS_MAX ? n - at : PG_ROWS_MAX;
        if (!insert_sql[k])
            return rc_fail(err, RC_NOMEM, "out of memory");
        for (size_t i = 0; i < k; i++)
            event_params(&s->rows[i], &rows[at + i], s->packs[i]);
        int rc = pg_exec_rows(s, insert_sql[k], s->rows, k, NULL, err, "storing events");
        if (rc == RC_CONFLICT && k == 1)
            return rc_fail(err, RC_CONFLICT, "event %lld of '%s' is stored already",
                           (long long)rows[at].seq, rows[at].device);
        if (rc == RC_CONFLICT)
            return rc_fail(
                err, RC_CONFLICT, "an event of '%s' from seq %lld to %lld is stored already",
                rows[at].device, (long long)rows[at].seq, (long long)rows[at + k - 1].seq);
        if (rc != RC_OK)
            return rc;
        at += k;
    }
    return RC_OK;
}

int pg_event_raw(store *st, const char *device, int64_t seq, char *buf, size_t cap, size_t *len,
                 char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, device);
    pgp_i64(&p, seq);
    int rc = pg_run(pg_of(st), "SELECT raw FROM events WHERE device = $1 AND seq = $2", &p, true,
                    &r, err, "reading an event");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 0) {
        rc = rc_fail(err, RC_NOTFOUND, "no event %lld of '%s'", (long long)seq, device);
    } else {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        if (n >= cap) {
            rc = rc_fail(err, RC_LIMIT, "stored event %lld of '%s' is over %zu bytes",
                         (long long)seq, device, cap - 1);
        } else {
            memcpy(buf, PQgetvalue(r, 0, 0), n);
            buf[n] = '\0';
            *len = n;
        }
    }
    PQclear(r);
    return rc;
}

/* $1 the device, $2 now_ms, $3 .. $10 its status, for DEVICE_SEEN_SET. */
static void device_seen_params(struct pg_params *p, const char *device, int64_t now_ms,
                               const struct store_device_status *s)
{
    pgp_text(p, device);
    pgp_i64(p, now_ms);
    pgp_text(p, s->has_queue ? "t" : "f");
    pgp_i64(p, s->queue);
    pgp_text(p, s->has_skew ? "t" : "f");
    pgp_i64(p, s->clock_skew_ms);
    pgp_opt(p, s->gnss);
    pgp_text(p, s->has_fix ? "t" : "f");
    pgp_i64(p, s->fix_mode);
    pgp_i64(p, s->fix_ts_ms);
}

/* The devices row's update from device_seen_params: fields not reported keep their values. */
#define DEVICE_SEEN_SET                                                                            \
    "UPDATE devices SET last_seen_at = $2::bigint, "                                               \
    "status_queue = CASE WHEN $3::boolean THEN $4::bigint ELSE status_queue END, "                 \
    "status_skew_ms = CASE WHEN $5::boolean THEN $6::bigint ELSE status_skew_ms END, "             \
    "status_gnss = coalesce($7::text, status_gnss), "                                              \
    "status_fix_mode = CASE WHEN $8::boolean THEN $9::bigint ELSE status_fix_mode END, "           \
    "status_fix_ts = CASE WHEN $8::boolean THEN $10::bigint ELSE status_fix_ts END "

int pg_device_seen(store *st, const char *device, const struct store_device_status *s,
                   int64_t now_ms, char *err)
{
    struct pg_params p = {0};
    int64_t changed = 0;
    device_seen_params(&p, device, now_ms, s);
    int rc =
        pg_exec(pg_of(st), DEVICE_SEEN_SET "WHERE id = $1", &p, &changed, err, "updating a device");
    if (rc == RC_OK && changed != 1)
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", device);
    return rc;
}

int pg_finding_insert(store *st, const struct store_finding *f, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, f->kind);
    pgp_text(&p, f->severity);
    pgp_opt(&p, f->device);
    if (f->seq > 0)
        pgp_i64(&p, f->seq);
    else
        pgp_null(&p);
    pgp_opt(&p, f->institution);
    pgp_opt(&p, f->class_id);
    pgp_opt(&p, f->trainee);
    pgp_text(&p, f->detail ? f->detail : "");
    pgp_i64(&p, f->created_at_ms);
    pgp_i64(&p, STORE_DETAIL_MAX);
    pgp_opt(&p, f->detail_code);
    pgp_opt(&p, f->detail_args);
    /* substr counts characters; SQLite's counts them too for text. The detail is cut to
     * STORE_DETAIL_MAX characters, then to as many bytes by the readers' buffers. */
    return pg_exec(pg_of(st),
                   "INSERT INTO findings(kind, severity, device, seq, institution, class, trainee, "
                   "detail, created_at, detail_code, detail_args) VALUES ($1, $2, $3, $4, $5, "
                   "$6, $7, substr($8, 1, $10::int), $9, $11, $12)",
                   &p, NULL, err, "recording a finding");
}

/* Reads the one fence row sql selects (id, version, geojson, sha256, created_at) into *out;
 * RC_NOTFOUND with missing (a format taking id and version) when there is none. */
static int fence_row(store *st, const char *sql, const char *id, int version,
                     struct store_fence *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    pgp_text(&p, id);
    if (version > 0)
        pgp_i64(&p, version);
    int rc = pg_run(pg_of(st), sql, &p, false, &r, err, "reading a fence");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 0) {
        if (version > 0)
            rc = rc_fail(err, RC_NOTFOUND, "no fence '%s' version %d", id, version);
        else
            rc = rc_fail(err, RC_NOTFOUND, "no fence '%s'", id);
        goto out;
    }
    if ((rc = pg_col_text(r, 0, 0, out->id, sizeof out->id, err)) != RC_OK ||
        (rc = pg_col_text(r, 0, 3, out->sha256, sizeof out->sha256, err)) != RC_OK)
        goto out;
    out->version = (int)pg_col_i64(r, 0, 1);
    out->created_at_ms = pg_col_i64(r, 0, 4);
    size_t n = (size_t)PQgetlength(r, 0, 2);
    out->geojson = malloc(n + 1);
    if (!out->geojson) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    memcpy(out->geojson, PQgetvalue(r, 0, 2), n);
    out->geojson[n] = '\0';
out:
    PQclear(r);
    return rc;
}

int pg_fence_current(store *st, const char *id, struct store_fence *out, char *err)
{
    return fence_row(st,
                     "SELECT id, version, geojson, sha256, created_at FROM fences "
                     "WHERE id = $1 AND superseded_at IS NULL",
                     id, 0, out, err);
}

int pg_fence_version(store *st, const char *id, int version, struct store_fence *out, char *err)
{
    if (version < 1) {
        memset(out, 0, sizeof *out);
        return rc_fail(err, RC_NOTFOUND, "no fence '%s' version %d", id, version);
    }
    return fence_row(st,
                     "SELECT id, version, geojson, sha256, created_at FROM fences "
                     "WHERE id = $1 AND version = $2",
                     id, version, out, err);
}

static int fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                     const char *created_by, int64_t now_ms, bool replace,
                     enum store_fence_outcome *outcome, int *version, char *err)
{
    struct store_pg *s = pg_of(st);
    struct store_fence cur;
    /* Two kiosks of one venue enrolling at once (or two imports) would both find no fence
     * and both insert version 1, the second then failing on the key: so the fence's id is
     * locked for the transaction first, and the second reads what the first committed (a new
     * statement, a new snapshot under READ COMMITTED). */
    struct pg_params l = {0};
    pgp_text(&l, id);
    int rc = pg_exec(s, "SELECT pg_advisory_xact_lock(" PG_FENCE_LOCK_CLASS ", hashtext($1))", &l,
                     NULL, err, "locking a fence");
    if (rc != RC_OK)
        return rc;
    rc = pg_fence_current(st, id, &cur, err);
    int next = 1;
    if (rc == RC_OK) {
        bool same = strcmp(cur.sha256, sha256) == 0;
        int v = cur.version;
        store_fence_clear(&cur);
        if (same) {
            *outcome = STORE_FENCE_SAME;
            *version = v;
            return RC_OK;
        }
        if (!replace)
            return rc_fail(err, RC_CONFLICT,
                           "fence '%s' is stored with another geometry (version %d); an admin "
                           "replaces it with 'rollcall-server import fences'",
                           id, v);
        struct pg_params p = {0};
        pgp_text(&p, id);
        pgp_i64(&p, now_ms);
        if ((rc = pg_exec(s,
                          "UPDATE fences SET superseded_at = $2 "
                          "WHERE id = $1 AND superseded_at IS NULL",
                          &p, NULL, err, "replacing a fence")) != RC_OK)
            return rc;
        next = v + 1;
    } else if (rc != RC_NOTFOUND) {
        return rc;
    }
    struct pg_params p = {0};
    pgp_text(&p, id);
    pgp_i64(&p, next);
    pgp_text(&p, geojson);
    pgp_text(&p, sha256);
    pgp_i64(&p, now_ms);
    pgp_text(&p, created_by);
    rc = pg_exec(s,
                 "INSERT INTO fences(id, version, geojson, sha256, created_at, created_by) "
                 "VALUES ($1, $2, $3, $4, $5, $6)",
                 &p, NULL, err, "storing a fence");
    if (rc != RC_OK)
        return rc;
    *outcome = next == 1 ? STORE_FENCE_NEW : STORE_FENCE_REPLACED;
    *version = next;
    return RC_OK;
}

int pg_fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                 const char *created_by, int64_t now_ms, bool replace,
                 enum store_fence_outcome *outcome, int *version, char *err)
{
    bool own;
    int rc = pg_own_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    rc = fence_put(st, id, geojson, sha256, created_by, now_ms, replace, outcome, version, err);
    return pg_own_end(st, own, rc, err);
}

int pg_batch_sig_insert(store *st, const struct store_batch_sig *b, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, b->device);
    pgp_i64(&p, b->first_seq);
    pgp_i64(&p, b->last_seq);
    pgp_text(&p, b->last_hash);
    pgp_text(&p, b->signature);
    pgp_i64(&p, b->received_at_ms);
    return pg_exec(pg_of(st),
                   "INSERT INTO batch_signatures(device, first_seq, last_seq, last_hash, "
                   "signature, received_at) VALUES ($1, $2, $3, $4, $5, $6)",
                   &p, NULL, err, "storing a batch signature");
}

/* The head, the signature and the device's status in one statement: the other two run only
 * when the head moved (a head at or beyond last_seq already writes nothing; the signature is
 * then inserted from the head's one row), and the counts tell which part found nothing. */
int pg_batch_close(store *st, const struct store_batch_sig *sig,
                   const struct store_device_status *s, int64_t now_ms, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    device_seen_params(&p, sig->device, now_ms, s);
    pgp_i64(&p, sig->last_seq);
    pgp_text(&p, sig->last_hash);
    pgp_i64(&p, sig->first_seq);
    pgp_text(&p, sig->signature);
    pgp_i64(&p, sig->received_at_ms);
    int rc = pg_run(
        pg_of(st),
        "WITH h AS (INSERT INTO chain_heads(device, seq, hash, updated_at) "
        "VALUES ($1::text, $11::bigint, $12::text, $2::bigint) ON CONFLICT (device) DO UPDATE "
        "SET seq = excluded.seq, hash = excluded.hash, updated_at = excluded.updated_at "
        "WHERE excluded.seq > chain_heads.seq RETURNING 1), "
        "b AS (INSERT INTO batch_signatures(device, first_seq, last_seq, last_hash, signature, "
        "received_at) SELECT $1::text, $13::bigint, $11::bigint, $12::text, $14::text, "
        "$15::bigint FROM h RETURNING 1), "
        "d AS (" DEVICE_SEEN_SET "WHERE id = $1::text AND EXISTS (SELECT 1 FROM h) RETURNING 1) "
        "SELECT (SELECT count(*) FROM h), (SELECT count(*) FROM d)",
        &p, false, &r, err, "closing a batch");
    if (rc != RC_OK)
        return rc;
    int64_t heads = pg_col_i64(r, 0, 0), devs = pg_col_i64(r, 0, 1);
    PQclear(r);
    if (heads != 1)
        return rc_fail(err, RC_CONFLICT, "chain head of '%s' is at or beyond seq %lld already",
                       sig->device, (long long)sig->last_seq);
    if (devs != 1)
        return rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", sig->device);
    return RC_OK;
}

int pg_batch_sig_list(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                      int (*fn)(const struct store_batch_sig *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, device);
    pgp_i64(&p, from_seq);
    pgp_i64(&p, to_seq);
    int rc = pg_run(pg_of(st),
                    "SELECT device, first_seq, last_seq, last_hash, signature, received_at "
                    "FROM batch_signatures WHERE device = $1 AND last_seq >= $2 AND "
                    "first_seq <= $3 ORDER BY first_seq, last_seq, id",
                    &p, false, &r, err, "reading batch signatures");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_batch_sig b;
        memset(&b, 0, sizeof b);
        if ((rc = pg_col_text(r, i, 0, b.device, sizeof b.device, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 3, b.last_hash, sizeof b.last_hash, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 4, b.signature, sizeof b.signature, err)) != RC_OK)
            break;
        b.first_seq = pg_col_i64(r, i, 1);
        b.last_seq = pg_col_i64(r, i, 2);
        b.received_at_ms = pg_col_i64(r, i, 5);
        if ((rc = fn(&b, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_signing_key_add(store *st, const struct store_signing_key *k, char *err)
{
    struct store_pg *s = pg_of(st);
    bool own;
    int rc = pg_own_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    struct pg_params p = {0};
    pgp_i64(&p, k->created_at_ms);
    rc = pg_exec(s, "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL", &p, NULL,
                 err, "retiring the signing key");
    if (rc == RC_OK) {
        struct pg_params q = {0};
        pgp_text(&q, k->key_id);
        pgp_text(&q, k->public_key_pem);
        pgp_i64(&q, k->created_at_ms);
        rc = pg_exec(s,
                     "INSERT INTO signing_keys(key_id, public_key_pem, created_at) "
                     "VALUES ($1, $2, $3)",
                     &q, NULL, err, "storing a signing key");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "a signing key with id %s exists already", k->key_id);
    }
    return pg_own_end(st, own, rc, err);
}

#define SIGNING_KEY_COLUMNS "key_id, public_key_pem, created_at, coalesce(retired_at, 0)"

static int signing_keys_walk(store *st, const char *sql, const char *key,
                             int (*fn)(const struct store_signing_key *, void *), void *ctx,
                             char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    if (key)
        pgp_text(&p, key);
    int rc = pg_run(pg_of(st), sql, &p, false, &r, err, "reading signing keys");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_signing_key k;
        memset(&k, 0, sizeof k);
        if ((rc = pg_col_text(r, i, 0, k.key_id, sizeof k.key_id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 1, k.public_key_pem, sizeof k.public_key_pem, err)) != RC_OK)
            break;
        k.created_at_ms = pg_col_i64(r, i, 2);
        k.retired_at_ms = pg_col_i64(r, i, 3);
        if ((rc = fn(&k, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

static int copy_signing_key(const struct store_signing_key *k, void *ctx)
{
    *(struct store_signing_key *)ctx = *k;
    return 1;
}

static int one_signing_key(store *st, const char *sql, const char *key,
                           struct store_signing_key *out, char *err, const char *missing)
{
    int rc = signing_keys_walk(st, sql, key, copy_signing_key, out, err);
    if (rc == 1)
        return RC_OK;
    if (rc == RC_OK)
        return rc_fail(err, RC_NOTFOUND, "%s", missing);
    return rc;
}

int pg_signing_key_get(store *st, const char *key_id, struct store_signing_key *out, char *err)
{
    char missing[ERR_LEN];
    snprintf(missing, sizeof missing, "no signing key with id '%.32s'", key_id);
    return one_signing_key(st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys WHERE key_id = $1",
                           key_id, out, err, missing);
}

int pg_signing_key_current(store *st, struct store_signing_key *out, char *err)
{
    return one_signing_key(
        st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys WHERE retired_at IS NULL", NULL, out,
        err, "the collector has no signing key yet: run 'rollcall-server signing-key create'");
}

int pg_signing_key_list(store *st, int (*fn)(const struct store_signing_key *, void *), void *ctx,
                        char *err)
{
    return signing_keys_walk(
        st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys ORDER BY created_at, key_id", NULL,
        fn, ctx, err);
}

int pg_event_range(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                   int (*fn)(const struct store_event_record *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, device);
    pgp_i64(&p, from_seq);
    pgp_i64(&p, to_seq);
    /* Binary results: the raw lines as stored, without bytea's text escaping. */
    int rc = pg_run(pg_of(st),
                    "SELECT seq, raw, coalesce(server_verdict, ''), server_distance_m, "
                    "coalesce(server_fence_version, 0), received_at FROM events "
                    "WHERE device = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
                    &p, true, &r, err, "reading events");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_event_record e = {
            .seq = pg_col_bin_i64(r, i, 0),
            .raw = PQgetvalue(r, i, 1),
            .raw_len = (size_t)PQgetlength(r, i, 1),
            .server_verdict = PQgetvalue(r, i, 2),
            .has_server_distance = !PQgetisnull(r, i, 3),
            .server_distance_m = PQgetisnull(r, i, 3) ? 0 : pg_col_bin_dbl(r, i, 3),
            .server_fence_version = (int)pg_col_bin_i64(r, i, 4),
            .received_at_ms = pg_col_bin_i64(r, i, 5),
        };
        if ((rc = fn(&e, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_publication_put(store *st, const struct store_publication *pub, char *err)
{
    struct store_pg *s = pg_of(st);
    struct pg_params p = {0};
    pgp_i64(&p, pub->year);
    pgp_text(&p, pub->body);
    pgp_text(&p, pub->key_id);
    pgp_text(&p, pub->signature);
    pgp_i64(&p, pub->published_at_ms);
    int rc = pg_exec(s,
                     "INSERT INTO publications(year, body, key_id, signature, published_at) "
                     "VALUES ($1, $2, $3, $4, $5)",
                     &p, NULL, err, "storing a publication");
    if (rc == RC_CONFLICT)
        rc = rc_fail(err, RC_CONFLICT, "%d is published already (a publication is frozen)",
                     pub->year);
    return rc;
}

int pg_publication_get(store *st, int year, struct store_publication *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    pgp_i64(&p, year);
    int rc = pg_run(pg_of(st),
                    "SELECT body, key_id, signature, published_at FROM publications "
                    "WHERE year = $1",
                    &p, false, &r, err, "reading a publication");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 0) {
        rc = rc_fail(err, RC_NOTFOUND, "nothing is published for %d", year);
        goto out;
    }
    out->year = year;
    if ((rc = pg_col_text(r, 0, 1, out->key_id, sizeof out->key_id, err)) != RC_OK ||
        (rc = pg_col_text(r, 0, 2, out->signature, sizeof out->signature, err)) != RC_OK)
        goto out;
    out->published_at_ms = pg_col_i64(r, 0, 3);
    size_t n = (size_t)PQgetlength(r, 0, 0);
    if (!(out->body = malloc(n + 1))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    memcpy(out->body, PQgetvalue(r, 0, 0), n);
    out->body[n] = '\0';
out:
    PQclear(r);
    return rc;
}
