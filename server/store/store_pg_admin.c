/* PostgreSQL back-end: tokens and fences as the console's admin pages list them (store.h).
 * A token's hash is never selected here. Orders are by bytes (COLLATE "C"), as SQLite's. */
#include "rc.h"
#include "store/store.h"
#include "store/store_pg.h"

#include <string.h>

int pg_token_list(store *st, int (*fn)(const struct store_token *, void *), void *ctx, char *err)
{
    PGresult *r = NULL;
    int rc = pg_run(pg_of(st),
                    "SELECT id, name, role, created_at, created_by, revoked_at, revoked_by "
                    "FROM tokens ORDER BY name COLLATE \"C\"",
                    NULL, false, &r, err, "listing tokens");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_token t = {0};
        if ((rc = pg_col_text(r, i, 1, t.name, sizeof t.name, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 2, t.role, sizeof t.role, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 4, t.created_by, sizeof t.created_by, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 6, t.revoked_by, sizeof t.revoked_by, err)) != RC_OK)
            break;
        t.id = pg_col_i64(r, i, 0);
        t.created_at_ms = pg_col_i64(r, i, 3);
        t.revoked_at_ms = pg_col_i64(r, i, 5);
        t.revoked = !pg_col_null(r, i, 5);
        if ((rc = fn(&t, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_token_revoke(store *st, const char *name, const char *by, int64_t now_ms, char *err)
{
    struct pg_params p = {0};
    int64_t changed = 0;
    pgp_text(&p, name);
    pgp_i64(&p, now_ms);
    pgp_text(&p, by);
    /* One statement: of two collectors revoking at once, one changes the row, the other finds
     * it revoked. */
    int rc = pg_exec(pg_of(st),
                     "UPDATE tokens SET revoked_at = $2, revoked_by = $3 "
                     "WHERE name = $1 AND revoked_at IS NULL",
                     &p, &changed, err, "revoking a token");
    if (rc != RC_OK || changed > 0)
        return rc;
    struct pg_params q = {0};
    PGresult *r = NULL;
    pgp_text(&q, name);
    rc = pg_run(pg_of(st), "SELECT 1 FROM tokens WHERE name = $1", &q, false, &r, err,
                "revoking a token");
    if (rc != RC_OK)
        return rc;
    rc = PQntuples(r) > 0 ? rc_fail(err, RC_CONFLICT, "token '%s' is revoked already", name)
                          : rc_fail(err, RC_NOTFOUND, "no token named '%s'", name);
    PQclear(r);
    return rc;
}

int pg_fence_list(store *st, int (*fn)(const struct store_fence_info *, void *), void *ctx,
                  char *err)
{
    PGresult *r = NULL;
    int rc = pg_run(pg_of(st),
                    "SELECT f.id, f.version, f.sha256, f.created_at, f.created_by, "
                    "coalesce(f.superseded_at, 0), "
                    "(SELECT count(*) FROM devices d WHERE d.fence = f.id) "
                    "FROM fences f ORDER BY f.id COLLATE \"C\", f.version DESC",
                    NULL, false, &r, err, "listing fences");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_fence_info f = {0};
        if ((rc = pg_col_text(r, i, 0, f.id, sizeof f.id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 2, f.sha256, sizeof f.sha256, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 4, f.created_by, sizeof f.created_by, err)) != RC_OK)
            break;
        f.version = (int)pg_col_i64(r, i, 1);
        f.created_at_ms = pg_col_i64(r, i, 3);
        f.superseded_at_ms = pg_col_i64(r, i, 5);
        f.devices = pg_col_i64(r, i, 6);
        if ((rc = fn(&f, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}
