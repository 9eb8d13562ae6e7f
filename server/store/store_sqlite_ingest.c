/* The SQLite back-end (store_sqlite.c): devices, enrolments, institution keys, chain heads, events, findings, fences. */
#include "store/store_sqlite_int.h"

#include "rc.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite_device_count_seen(store *st, int64_t *n, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM devices WHERE last_seen_at IS NOT NULL", -1,
                           &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        rc = db_fail(db, err, "counting devices");
    else
        *n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc;
}

int sqlite_device_list(store *st, const char *institution, const char *district, size_t limit,
                       int (*fn)(const struct store_device *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT d.id, d.institution, d.enrolled_at, "
                           "coalesce(d.last_seen_at, 0), coalesce(h.seq, 0), "
                           "coalesce(d.profile, ''), coalesce(d.fence, ''), d.status_queue, "
                           "d.status_skew_ms, coalesce(d.status_gnss, ''), d.status_fix_mode, "
                           "d.status_fix_ts "
                           "FROM devices d LEFT JOIN chain_heads h ON h.device = d.id "
                           "WHERE (?2 IS NULL OR d.institution = ?2) AND (?3 IS NULL OR "
                           "d.institution IN (SELECT id FROM institutions WHERE district = ?3)) "
                           "ORDER BY d.id LIMIT ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "listing devices");
    sqlite3_bind_int64(q, 1, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
    if (institution)
        sqlite3_bind_text(q, 2, institution, -1, SQLITE_STATIC);
    if (district)
        sqlite3_bind_text(q, 3, district, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_device d = {0};
        if ((rc = column_text(q, 0, d.id, sizeof d.id, err)) != RC_OK ||
            (rc = column_text(q, 1, d.institution, sizeof d.institution, err)) != RC_OK ||
            (rc = column_text(q, 5, d.profile, sizeof d.profile, err)) != RC_OK ||
            (rc = column_text(q, 6, d.fence, sizeof d.fence, err)) != RC_OK ||
            (rc = column_text(q, 9, d.status.gnss, sizeof d.status.gnss, err)) != RC_OK)
            goto out;
        d.enrolled_at_ms = sqlite3_column_int64(q, 2);
        d.last_seen_at_ms = sqlite3_column_int64(q, 3);
        d.head_seq = sqlite3_column_int64(q, 4);
        d.status.has_queue = sqlite3_column_type(q, 7) != SQLITE_NULL;
        d.status.queue = sqlite3_column_int64(q, 7);
        d.status.has_skew = sqlite3_column_type(q, 8) != SQLITE_NULL;
        d.status.clock_skew_ms = sqlite3_column_int64(q, 8);
        d.status.has_fix = sqlite3_column_type(q, 10) != SQLITE_NULL;
        d.status.fix_mode = sqlite3_column_int(q, 10);
        d.status.fix_ts_ms = sqlite3_column_int64(q, 11);
        if ((rc = fn(&d, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing devices");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_enrolment_get(store *st, const char *id, struct store_enrolment *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    rc = cached(sq(st), STMT_ENROLMENT_GET,
                "SELECT id, institution, public_key_pem, coalesce(profile, ''), "
                "coalesce(fence, ''), coalesce(assumed_eph_m, 0), enrolled_at, "
                "coalesce(enrolled_by, '') FROM devices WHERE id = ?1",
                &q, err, "reading a device");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", id);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading a device");
        goto out;
    }
    if ((rc = column_text(q, 0, out->id, sizeof out->id, err)) != RC_OK ||
        (rc = column_text(q, 1, out->institution, sizeof out->institution, err)) != RC_OK ||
        (rc = column_text(q, 2, out->public_key_pem, sizeof out->public_key_pem, err)) != RC_OK ||
        (rc = column_text(q, 3, out->profile, sizeof out->profile, err)) != RC_OK ||
        (rc = column_text(q, 4, out->fence, sizeof out->fence, err)) != RC_OK ||
        (rc = column_text(q, 7, out->enrolled_by, sizeof out->enrolled_by, err)) != RC_OK)
        goto out;
    out->assumed_eph_m = sqlite3_column_double(q, 5);
    out->enrolled_at_ms = sqlite3_column_int64(q, 6);
out:
    cached_done(q);
    return rc;
}

int sqlite_enrolment_insert(store *st, const struct store_enrolment *e, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO devices(id, institution, public_key_pem, profile, fence, "
                           "assumed_eph_m, enrolled_at, enrolled_by) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "enrolling a device");
    sqlite3_bind_text(q, 1, e->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, e->institution, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, e->public_key_pem, -1, SQLITE_STATIC);
    bind_text_or_null(q, 4, e->profile);
    bind_text_or_null(q, 5, e->fence);
    sqlite3_bind_double(q, 6, e->assumed_eph_m);
    sqlite3_bind_int64(q, 7, e->enrolled_at_ms);
    bind_text_or_null(q, 8, e->enrolled_by);
    int rc = step_done(db, q, err, "enrolling a device");
    if (rc == RC_CONFLICT) {
        /* Either the id is taken or the institution does not exist (foreign key). */
        int ext = sqlite3_extended_errcode(db);
        if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            return rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", e->institution);
        return rc_fail(err, RC_CONFLICT, "device '%s' is enrolled already", e->id);
    }
    return rc;
}

int sqlite_enrolment_update(store *st, const struct store_enrolment *e, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "UPDATE devices SET profile = ?2, fence = ?3, assumed_eph_m = ?4 "
                           "WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "updating a device");
    sqlite3_bind_text(q, 1, e->id, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, e->profile);
    bind_text_or_null(q, 3, e->fence);
    sqlite3_bind_double(q, 4, e->assumed_eph_m);
    int rc = step_done(db, q, err, "updating a device");
    if (rc == RC_OK && sqlite3_changes(db) != 1)
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", e->id);
    return rc;
}

int sqlite_institution_key(store *st, const char *id, const uint8_t *candidate, int64_t now_ms,
                           uint8_t *key, bool *created, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    *created = false;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO institutions(id, pseudonym_key, created_at) "
                           "VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "creating an institution");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, candidate, STORE_INSTITUTION_KEY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_ms);
    rc = step_done(db, q, err, "creating an institution");
    if (rc != RC_OK)
        return rc;
    *created = sqlite3_changes(db) == 1;
    q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT pseudonym_key FROM institutions WHERE id = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return db_fail(db, err, "reading an institution");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(db, err, "reading an institution");
        goto out;
    }
    if (sqlite3_column_bytes(q, 0) != STORE_INSTITUTION_KEY_LEN) {
        rc = rc_fail(err, RC_CORRUPT, "institution '%s' has a key of the wrong length", id);
        goto out;
    }
    memcpy(key, sqlite3_column_blob(q, 0), STORE_INSTITUTION_KEY_LEN);
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_head_get(store *st, const char *device, struct store_head *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    memset(out->hash, '0', STORE_HASH_HEX_LEN);
    rc = cached(sq(st), STMT_HEAD_GET,
                "SELECT h.seq, h.hash, e.seq, e.ts, e.mono_ms, e.boot FROM chain_heads h "
                "LEFT JOIN events e ON e.device = h.device AND e.seq = h.seq WHERE h.device = ?1",
                &q, err, "reading a chain head");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        out->seq = sqlite3_column_int64(q, 0);
        rc = column_text(q, 1, out->hash, sizeof out->hash, err);
        if (rc == RC_OK && strlen(out->hash) != STORE_HASH_HEX_LEN)
            rc = rc_fail(err, RC_CORRUPT, "chain head of '%s' has a malformed hash", device);
        if (rc == RC_OK && sqlite3_column_type(q, 2) != SQLITE_NULL) {
            out->has_event = true;
            out->ts_ms = sqlite3_column_int64(q, 3);
            out->mono_ms = sqlite3_column_int64(q, 4);
            rc = column_text(q, 5, out->boot, sizeof out->boot, err);
        }
    } else if (step != SQLITE_DONE) {
        rc = db_fail(db, err, "reading a chain head");
    }
    cached_done(q);
    return rc;
}

int sqlite_head_advance(store *st, const char *device, int64_t seq, const char *hash,
                        int64_t now_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    /* The WHERE makes a backwards move change nothing, which is then reported. */
    int rc = cached(sq(st), STMT_HEAD_ADVANCE,
                    "INSERT INTO chain_heads(device, seq, hash, updated_at) "
                    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(device) DO UPDATE SET "
                    "seq = excluded.seq, hash = excluded.hash, "
                    "updated_at = excluded.updated_at WHERE excluded.seq > chain_heads.seq",
                    &q, err, "advancing a chain head");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, seq);
    sqlite3_bind_text(q, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now_ms);
    rc = step_cached(db, q, err, "advancing a chain head");
    if (rc == RC_OK && sqlite3_changes(db) != 1)
        rc = rc_fail(err, RC_CONFLICT, "chain head of '%s' is at or beyond seq %lld already",
                     device, (long long)seq);
    return rc;
}

void sqlite_bind_event_fix(sqlite3_stmt *q, int i, const struct store_event *e)
{
    if (!e->has_fix)
        return;
    sqlite3_bind_double(q, i, e->fix_lat);
    sqlite3_bind_double(q, i + 1, e->fix_lon);
    if (e->has_eph)
        sqlite3_bind_double(q, i + 2, e->fix_eph);
    sqlite3_bind_int(q, i + 3, e->fix_mode);
    if (e->has_fix_time)
        sqlite3_bind_int64(q, i + 4, e->fix_time_ms);
    bind_text_or_null(q, i + 5, e->fix_source);
}

void sqlite_bind_event_pack(sqlite3_stmt *q, int i, const struct store_event *e,
                            unsigned char buf[STORE_PACK_MAX])
{
    size_t n = store_event_pack(e, buf, STORE_PACK_MAX);
    if (n)
        sqlite3_bind_blob(q, i, buf, (int)n, SQLITE_STATIC);
}

void sqlite_bind_event_late(sqlite3_stmt *q, int j, const struct store_event *e)
{
    bind_text_or_null(q, j, e->camera);
    bind_text_or_null(q, j + 1, e->file);
    if (e->has_start)
        sqlite3_bind_int64(q, j + 2, e->start_ms);
    if (e->has_end)
        sqlite3_bind_int64(q, j + 3, e->end_ms);
    bind_text_or_null(q, j + 4, e->kind);
    bind_text_or_null(q, j + 5, e->rollcall);
    if (e->has_skew)
        sqlite3_bind_int64(q, j + 6, e->skew_ms);
    if (e->has_fix && e->has_sats)
        sqlite3_bind_int(q, j + 7, e->fix_sats);
}

static int event_insert(store *st, const struct store_event *e, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc =
        cached(sq(st), STMT_EVENT_INSERT,
               "INSERT INTO events(device, seq, event_id, raw, hash, prev, type, ts, trainee, "
               "trainee_masked, class, session, verdict, server_verdict, distance_m, fence, "
               "received_at, boot, mono_ms, fix_lat, fix_lon, fix_eph, fix_mode, fix_time, "
               "fix_source, server_distance_m, server_fence_version, camera, file, start_ts, "
               "end_ts, kind, rollcall, skew_ms, fix_sats, cols, pack) VALUES (?1, ?2, ?3, ?4, ?5, "
               "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, "
               "?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37)",
               &q, err, "storing an event");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, e->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, e->seq);
    sqlite3_bind_text(q, 3, e->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(q, 4, e->raw, e->raw_len, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, e->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, e->prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, e->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, e->ts_ms);
    bind_text_or_null(q, 9, e->trainee);
    bind_text_or_null(q, 10, e->trainee_masked);
    bind_text_or_null(q, 11, e->class_id);
    bind_text_or_null(q, 12, e->session);
    bind_text_or_null(q, 13, e->verdict);
    bind_text_or_null(q, 14, e->server_verdict);
    if (e->has_distance)
        sqlite3_bind_double(q, 15, e->distance_m);
    bind_text_or_null(q, 16, e->fence);
    sqlite3_bind_int64(q, 17, e->received_at_ms);
    bind_text_or_null(q, 18, e->boot);
    sqlite3_bind_int64(q, 19, e->mono_ms);
    sqlite_bind_event_fix(q, 20, e);
    if (e->has_server_distance)
        sqlite3_bind_double(q, 26, e->server_distance_m);
    if (e->server_fence_version > 0)
        sqlite3_bind_int(q, 27, e->server_fence_version);
    sqlite_bind_event_late(q, 28, e);
    if (e->cols)
        sqlite3_bind_int(q, 36, 1);
    unsigned char pack[STORE_PACK_MAX];
    sqlite_bind_event_pack(q, 37, e, pack);
    rc = step_cached(db, q, err, "storing an event");
    if (rc == RC_CONFLICT)
        rc = rc_fail(err, RC_CONFLICT, "event %lld of '%s' is stored already", (long long)e->seq,
                     e->device);
    return rc;
}

int sqlite_events_insert(store *st, const struct store_event *rows, size_t n, char *err)
{
    int rc = RC_OK;
    for (size_t i = 0; rc == RC_OK && i < n; i++)
        rc = event_insert(st, &rows[i], err);
    return rc;
}

int sqlite_event_raw(store *st, const char *device, int64_t seq, char *buf, size_t cap, size_t *len,
                     char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    rc = cached(sq(st), STMT_EVENT_RAW, "SELECT raw FROM events WHERE device = ?1 AND seq = ?2", &q,
                err, "reading an event");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, seq);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no event %lld of '%s'", (long long)seq, device);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading an event");
        goto out;
    }
    const void *raw = sqlite3_column_blob(q, 0);
    size_t n = (size_t)sqlite3_column_bytes(q, 0);
    if (n >= cap) {
        rc = rc_fail(err, RC_LIMIT, "stored event %lld of '%s' is over %zu bytes", (long long)seq,
                     device, cap - 1);
        goto out;
    }
    if (n)
        memcpy(buf, raw, n);
    buf[n] = '\0';
    *len = n;
out:
    cached_done(q);
    return rc;
}

int sqlite_device_seen(store *st, const char *device, const struct store_device_status *s,
                       int64_t now_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = cached(sq(st), STMT_DEVICE_SEEN,
                    "UPDATE devices SET last_seen_at = ?2, "
                    "status_queue = CASE WHEN ?3 THEN ?4 ELSE status_queue END, "
                    "status_skew_ms = CASE WHEN ?5 THEN ?6 ELSE status_skew_ms END, "
                    "status_gnss = coalesce(?7, status_gnss), "
                    "status_fix_mode = CASE WHEN ?8 THEN ?9 ELSE status_fix_mode END, "
                    "status_fix_ts = CASE WHEN ?8 THEN ?10 ELSE status_fix_ts END "
                    "WHERE id = ?1",
                    &q, err, "updating a device");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now_ms);
    sqlite3_bind_int(q, 3, s->has_queue);
    sqlite3_bind_int64(q, 4, s->queue);
    sqlite3_bind_int(q, 5, s->has_skew);
    sqlite3_bind_int64(q, 6, s->clock_skew_ms);
    bind_text_or_null(q, 7, s->gnss);
    sqlite3_bind_int(q, 8, s->has_fix);
    sqlite3_bind_int(q, 9, s->fix_mode);
    sqlite3_bind_int64(q, 10, s->fix_ts_ms);
    rc = step_cached(db, q, err, "updating a device");
    if (rc == RC_OK && sqlite3_changes(db) != 1)
        rc = rc_fail(err, RC_NOTFOUND, "device '%s' is not enrolled", device);
    return rc;
}

int sqlite_finding_insert(store *st, const struct store_finding *f, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = cached(sq(st), STMT_FINDING_INSERT,
                    "INSERT INTO findings(kind, severity, device, seq, institution, class, "
                    "trainee, detail, created_at, detail_code, detail_args) VALUES (?1, ?2, ?3, "
                    "?4, ?5, ?6, ?7, substr(?8, 1, ?10), ?9, ?11, ?12)",
                    &q, err, "recording a finding");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, f->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, f->severity, -1, SQLITE_STATIC);
    bind_text_or_null(q, 3, f->device);
    if (f->seq > 0)
        sqlite3_bind_int64(q, 4, f->seq);
    bind_text_or_null(q, 5, f->institution);
    bind_text_or_null(q, 6, f->class_id);
    bind_text_or_null(q, 7, f->trainee);
    sqlite3_bind_text(q, 8, f->detail ? f->detail : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, f->created_at_ms);
    sqlite3_bind_int(q, 10, STORE_DETAIL_MAX);
    bind_text_or_null(q, 11, f->detail_code);
    bind_text_or_null(q, 12, f->detail_args);
    return step_cached(db, q, err, "recording a finding");
}

int sqlite_fence_current(store *st, const char *id, struct store_fence *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    rc = cached(sq(st), STMT_FENCE_CURRENT,
                "SELECT id, version, geojson, sha256, created_at FROM fences "
                "WHERE id = ?1 AND superseded_at IS NULL",
                &q, err, "reading a fence");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no fence '%s'", id);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading a fence");
        goto out;
    }
    if ((rc = column_text(q, 0, out->id, sizeof out->id, err)) != RC_OK ||
        (rc = column_text(q, 3, out->sha256, sizeof out->sha256, err)) != RC_OK)
        goto out;
    out->version = sqlite3_column_int(q, 1);
    out->created_at_ms = sqlite3_column_int64(q, 4);
    size_t n = (size_t)sqlite3_column_bytes(q, 2);
    const unsigned char *text = sqlite3_column_text(q, 2);
    out->geojson = malloc(n + 1);
    if (!out->geojson) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (n)
        memcpy(out->geojson, text, n);
    out->geojson[n] = '\0';
out:
    cached_done(q);
    return rc;
}

int sqlite_fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                     const char *created_by, int64_t now_ms, bool replace,
                     enum store_fence_outcome *outcome, int *version, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    struct store_fence cur;
    int rc = sqlite_fence_current(st, id, &cur, err);
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
        if (sqlite3_prepare_v2(db,
                               "UPDATE fences SET superseded_at = ?2 "
                               "WHERE id = ?1 AND superseded_at IS NULL",
                               -1, &q, NULL) != SQLITE_OK)
            return db_fail(db, err, "replacing a fence");
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, now_ms);
        if ((rc = step_done(db, q, err, "replacing a fence")) != RC_OK)
            return rc;
        q = NULL;
        next = v + 1;
    } else if (rc != RC_NOTFOUND) {
        return rc;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO fences(id, version, geojson, sha256, created_at, "
                           "created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a fence");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, next);
    sqlite3_bind_text(q, 3, geojson, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, now_ms);
    sqlite3_bind_text(q, 6, created_by, -1, SQLITE_STATIC);
    rc = step_done(db, q, err, "storing a fence");
    if (rc != RC_OK)
        return rc;
    *outcome = next == 1 ? STORE_FENCE_NEW : STORE_FENCE_REPLACED;
    *version = next;
    return RC_OK;
}
