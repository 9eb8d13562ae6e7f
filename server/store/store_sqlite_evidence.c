/* The SQLite back-end (store_sqlite.c): batch signatures, event ranges, fence versions, signing keys, publications. */
#include "store/store_sqlite_int.h"

#include "rc.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite_batch_sig_insert(store *st, const struct store_batch_sig *b, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = cached(sq(st), STMT_BATCH_SIG_INSERT,
                    "INSERT INTO batch_signatures(device, first_seq, last_seq, last_hash, "
                    "signature, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &q, err, "storing a batch signature");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, b->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, b->first_seq);
    sqlite3_bind_int64(q, 3, b->last_seq);
    sqlite3_bind_text(q, 4, b->last_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, b->signature, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, b->received_at_ms);
    return step_cached(db, q, err, "storing a batch signature");
}

int sqlite_batch_sig_list(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                          int (*fn)(const struct store_batch_sig *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT device, first_seq, last_seq, last_hash, signature, received_at "
                           "FROM batch_signatures WHERE device = ?1 AND last_seq >= ?2 AND "
                           "first_seq <= ?3 ORDER BY first_seq, last_seq, id",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading batch signatures");
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, from_seq);
    sqlite3_bind_int64(q, 3, to_seq);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_batch_sig b;
        memset(&b, 0, sizeof b);
        if ((rc = column_text(q, 0, b.device, sizeof b.device, err)) != RC_OK ||
            (rc = column_text(q, 3, b.last_hash, sizeof b.last_hash, err)) != RC_OK ||
            (rc = column_text(q, 4, b.signature, sizeof b.signature, err)) != RC_OK)
            goto out;
        b.first_seq = sqlite3_column_int64(q, 1);
        b.last_seq = sqlite3_column_int64(q, 2);
        b.received_at_ms = sqlite3_column_int64(q, 5);
        if ((rc = fn(&b, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading batch signatures");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_event_range(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                       int (*fn)(const struct store_event_record *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, raw, coalesce(server_verdict, ''), server_distance_m, "
                           "coalesce(server_fence_version, 0), received_at FROM events "
                           "WHERE device = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading events");
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, from_seq);
    sqlite3_bind_int64(q, 3, to_seq);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_event_record e = {
            .seq = sqlite3_column_int64(q, 0),
            .raw = sqlite3_column_blob(q, 1),
            .raw_len = (size_t)sqlite3_column_bytes(q, 1),
            .server_verdict = (const char *)sqlite3_column_text(q, 2),
            .has_server_distance = sqlite3_column_type(q, 3) != SQLITE_NULL,
            .server_distance_m = sqlite3_column_double(q, 3),
            .server_fence_version = sqlite3_column_int(q, 4),
            .received_at_ms = sqlite3_column_int64(q, 5),
        };
        if (!e.raw)
            e.raw = "";
        if (!e.server_verdict)
            e.server_verdict = "";
        if ((rc = fn(&e, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading events");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_fence_version(store *st, const char *id, int version, struct store_fence *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT id, version, geojson, sha256, created_at FROM fences "
                           "WHERE id = ?1 AND version = ?2",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading a fence");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, version);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no fence '%s' version %d", id, version);
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
    if (!(out->geojson = malloc(n + 1))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (n)
        memcpy(out->geojson, text, n);
    out->geojson[n] = '\0';
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_signing_key_add(store *st, const struct store_signing_key *k, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    bool own = !st->in_tx;
    int rc = RC_OK;
    if (own && (rc = sqlite_begin(st, err)) != RC_OK)
        return rc;
    rc = write1(db, "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL", NULL, NULL,
                NULL, k->created_at_ms, NULL, err, "retiring the signing key");
    if (rc != RC_OK)
        goto out;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO signing_keys(key_id, public_key_pem, created_at) "
                           "VALUES (?1, ?2, ?3)",
                           -1, &q, NULL) != SQLITE_OK) {
        rc = db_fail(db, err, "storing a signing key");
        goto out;
    }
    sqlite3_bind_text(q, 1, k->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, k->public_key_pem, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, k->created_at_ms);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing a signing key");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "a signing key with id %s exists already", k->key_id);
    }
out:
    sqlite3_finalize(q);
    if (own) {
        if (rc == RC_OK)
            rc = sqlite_commit(st, err);
        if (rc != RC_OK)
            sqlite_rollback(st);
    }
    return rc;
}

#define SIGNING_KEY_COLUMNS "key_id, public_key_pem, created_at, coalesce(retired_at, 0)"

/* Runs a SELECT of SIGNING_KEY_COLUMNS (key bound to ?1 when given), calling fn per row. */
static int signing_keys_walk(store *st, const char *sql, const char *key,
                             int (*fn)(const struct store_signing_key *, void *), void *ctx,
                             char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading signing keys");
    if (key)
        sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_signing_key k;
        memset(&k, 0, sizeof k);
        if ((rc = column_text(q, 0, k.key_id, sizeof k.key_id, err)) != RC_OK ||
            (rc = column_text(q, 1, k.public_key_pem, sizeof k.public_key_pem, err)) != RC_OK)
            goto out;
        k.created_at_ms = sqlite3_column_int64(q, 2);
        k.retired_at_ms = sqlite3_column_int64(q, 3);
        if ((rc = fn(&k, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading signing keys");
out:
    sqlite3_finalize(q);
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

int sqlite_signing_key_get(store *st, const char *key_id, struct store_signing_key *out, char *err)
{
    char missing[ERR_LEN];
    snprintf(missing, sizeof missing, "no signing key with id '%.32s'", key_id);
    return one_signing_key(st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys WHERE key_id = ?1",
                           key_id, out, err, missing);
}

int sqlite_signing_key_current(store *st, struct store_signing_key *out, char *err)
{
    return one_signing_key(
        st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys WHERE retired_at IS NULL", NULL, out,
        err,
        "the collector has no signing key yet: run 'rollcall-server "
        "signing-key create'");
}

int sqlite_signing_key_list(store *st, int (*fn)(const struct store_signing_key *, void *),
                            void *ctx, char *err)
{
    return signing_keys_walk(
        st, "SELECT " SIGNING_KEY_COLUMNS " FROM signing_keys ORDER BY created_at, key_id", NULL,
        fn, ctx, err);
}

int sqlite_publication_put(store *st, const struct store_publication *p, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO publications(year, body, key_id, signature, published_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a publication");
    sqlite3_bind_int(q, 1, p->year);
    sqlite3_bind_text(q, 2, p->body, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, p->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, p->signature, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, p->published_at_ms);
    int step = sqlite3_step(q);
    int rc = RC_OK;
    if (step == SQLITE_CONSTRAINT)
        rc =
            rc_fail(err, RC_CONFLICT, "%d is published already (a publication is frozen)", p->year);
    else if (step != SQLITE_DONE)
        rc = db_fail(db, err, "storing a publication");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_publication_get(store *st, int year, struct store_publication *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT body, key_id, signature, published_at FROM publications "
                           "WHERE year = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading a publication");
    sqlite3_bind_int(q, 1, year);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "nothing is published for %d", year);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "reading a publication");
        goto out;
    }
    out->year = year;
    if ((rc = column_text(q, 1, out->key_id, sizeof out->key_id, err)) != RC_OK ||
        (rc = column_text(q, 2, out->signature, sizeof out->signature, err)) != RC_OK)
        goto out;
    out->published_at_ms = sqlite3_column_int64(q, 3);
    size_t n = (size_t)sqlite3_column_bytes(q, 0);
    const unsigned char *text = sqlite3_column_text(q, 0);
    char *body = malloc(n + 1);
    if (!body) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (n)
        memcpy(body, text, n);
    body[n] = '\0';
    out->body = body;
out:
    sqlite3_finalize(q);
    return rc;
}

/* SQLite statements cost no round trip: the three writes one after the other. */
int sqlite_batch_close(store *st, const struct store_batch_sig *sig,
                       const struct store_device_status *s, int64_t now_ms, char *err)
{
    int rc = sqlite_head_advance(st, sig->device, sig->last_seq, sig->last_hash, now_ms, err);
    if (rc == RC_OK)
        rc = sqlite_batch_sig_insert(st, sig, err);
    if (rc == RC_OK)
        rc = sqlite_device_seen(st, sig->device, s, now_ms, err);
    return rc;
}
