/* SQLite back-end: tokens and fences as the console's admin pages list them (store.h). A
 * token's hash is never selected here: listing tokens must not hand out what a lookup
 * matches. */
#include "store/store_sqlite_admin.h"
#include "rc.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int fail(sqlite3 *db, char *err, const char *what)
{
    int code = sqlite3_extended_errcode(db) & 0xff;
    return rc_fail(err,
                   code == SQLITE_CONSTRAINT ? RC_CONFLICT
                   : code == SQLITE_FULL     ? RC_FULL
                                             : RC_DB,
                   "%s: %s", what, sqlite3_errmsg(db));
}

/* A text column into a fixed buffer ("" for NULL); RC_CORRUPT when it does not fit. */
static int text_col(sqlite3_stmt *q, int col, char *out, size_t n, char *err)
{
    const unsigned char *s = sqlite3_column_text(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);
    out[0] = '\0';
    if (!s)
        return RC_OK;
    if (len >= n)
        return rc_fail(err, RC_CORRUPT, "stored value in column %d longer than %zu bytes", col,
                       n - 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return RC_OK;
}

int sqlite_token_list(store *st, int (*fn)(const struct store_token *, void *), void *ctx,
                      char *err)
{
    sqlite3 *db = sqlite_store_db(st);
    sqlite3_stmt *q = NULL;
    int rc = RC_OK, step = SQLITE_DONE;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, name, role, created_at, created_by, revoked_at, revoked_by "
                           "FROM tokens ORDER BY name",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(db, err, "listing tokens");
    while (rc == RC_OK && (step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_token t = {0};
        t.id = sqlite3_column_int64(q, 0);
        if ((rc = text_col(q, 1, t.name, sizeof t.name, err)) != RC_OK ||
            (rc = text_col(q, 2, t.role, sizeof t.role, err)) != RC_OK ||
            (rc = text_col(q, 4, t.created_by, sizeof t.created_by, err)) != RC_OK ||
            (rc = text_col(q, 6, t.revoked_by, sizeof t.revoked_by, err)) != RC_OK)
            break;
        t.created_at_ms = sqlite3_column_int64(q, 3);
        t.revoked_at_ms = sqlite3_column_int64(q, 5);
        t.revoked = sqlite3_column_type(q, 5) != SQLITE_NULL;
        rc = fn(&t, ctx);
    }
    if (rc == RC_OK && step != SQLITE_DONE)
        rc = fail(db, err, "listing tokens");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_token_revoke(store *st, const char *name, const char *by, int64_t now_ms, char *err)
{
    sqlite3 *db = sqlite_store_db(st);
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    /* One statement: of two admins revoking at once, one changes the row, the other finds it
     * revoked. */
    if (sqlite3_prepare_v2(db,
                           "UPDATE tokens SET revoked_at = ?2, revoked_by = ?3 "
                           "WHERE name = ?1 AND revoked_at IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(db, err, "revoking a token");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now_ms);
    sqlite3_bind_text(q, 3, by, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = fail(db, err, "revoking a token");
    else if (sqlite3_changes(db) == 0)
        rc = RC_NOTFOUND;
    sqlite3_finalize(q);
    if (rc != RC_NOTFOUND)
        return rc;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM tokens WHERE name = ?1", -1, &q, NULL) != SQLITE_OK)
        return fail(db, err, "revoking a token");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = rc_fail(err, RC_CONFLICT, "token '%s' is revoked already", name);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "no token named '%s'", name);
    else
        rc = fail(db, err, "revoking a token");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_fence_list(store *st, int (*fn)(const struct store_fence_info *, void *), void *ctx,
                      char *err)
{
    sqlite3 *db = sqlite_store_db(st);
    sqlite3_stmt *q = NULL;
    int rc = RC_OK, step = SQLITE_DONE;
    if (sqlite3_prepare_v2(db,
                           "SELECT f.id, f.version, f.sha256, f.created_at, f.created_by, "
                           "f.superseded_at, (SELECT count(*) FROM devices d WHERE d.fence = f.id) "
                           "FROM fences f ORDER BY f.id, f.version DESC",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(db, err, "listing fences");
    while (rc == RC_OK && (step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_fence_info f = {0};
        if ((rc = text_col(q, 0, f.id, sizeof f.id, err)) != RC_OK ||
            (rc = text_col(q, 2, f.sha256, sizeof f.sha256, err)) != RC_OK ||
            (rc = text_col(q, 4, f.created_by, sizeof f.created_by, err)) != RC_OK)
            break;
        f.version = sqlite3_column_int(q, 1);
        f.created_at_ms = sqlite3_column_int64(q, 3);
        f.superseded_at_ms = sqlite3_column_int64(q, 5);
        f.devices = sqlite3_column_int64(q, 6);
        rc = fn(&f, ctx);
    }
    if (rc == RC_OK && step != SQLITE_DONE)
        rc = fail(db, err, "listing fences");
    sqlite3_finalize(q);
    return rc;
}
