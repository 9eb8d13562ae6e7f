/* PostgreSQL back-end: users, login sessions, failed logins (store.h). */
#include "rc.h"
#include "store/store.h"
#include "store/store_pg.h"

#include <string.h>

int pg_user_insert(store *st, const struct store_user *u, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, u->name);
    pgp_text(&p, u->role);
    pgp_text(&p, u->password_hash);
    pgp_i64(&p, u->created_at_ms);
    pgp_i64(&p, u->password_changed_at_ms);
    int rc = pg_exec(pg_of(st),
                     "INSERT INTO users(name, role, password_hash, created_at, "
                     "password_changed_at) VALUES ($1, $2, $3, $4, $5)",
                     &p, NULL, err, "storing a user");
    if (rc == RC_CONFLICT)
        rc = rc_fail(err, RC_CONFLICT, "a user named '%s' exists already", u->name);
    return rc;
}

#define USER_COLUMNS                                                                               \
    "name, role, password_hash, created_at, password_changed_at, coalesce(disabled_at, 0), "       \
    "coalesce(last_login_at, 0)"

static int user_row(const PGresult *r, int i, struct store_user *out, char *err)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = pg_col_text(r, i, 0, out->name, sizeof out->name, err)) != RC_OK ||
        (rc = pg_col_text(r, i, 1, out->role, sizeof out->role, err)) != RC_OK ||
        (rc = pg_col_text(r, i, 2, out->password_hash, sizeof out->password_hash, err)) != RC_OK)
        return rc;
    out->created_at_ms = pg_col_i64(r, i, 3);
    out->password_changed_at_ms = pg_col_i64(r, i, 4);
    out->disabled_at_ms = pg_col_i64(r, i, 5);
    out->last_login_at_ms = pg_col_i64(r, i, 6);
    return RC_OK;
}

int pg_user_get(store *st, const char *name, struct store_user *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, name);
    int rc = pg_run(pg_of(st), "SELECT " USER_COLUMNS " FROM users WHERE name = $1", &p, false, &r,
                    err, "reading a user");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 1)
        rc = user_row(r, 0, out, err);
    else
        rc = rc_fail(err, RC_NOTFOUND, "no user named '%s'", name);
    PQclear(r);
    return rc;
}

int pg_user_list(store *st, int (*fn)(const struct store_user *, void *), void *ctx, char *err)
{
    PGresult *r = NULL;
    int rc = pg_run(pg_of(st), "SELECT " USER_COLUMNS " FROM users ORDER BY name", NULL, false, &r,
                    err, "listing users");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_user u;
        if ((rc = user_row(r, i, &u, err)) != RC_OK || (rc = fn(&u, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

/* Runs sql (a write of user $1 with now at $2, text at $3 when given) and, when asked, ends
 * the user's sessions, in one transaction unless the caller holds one. */
static int user_change(store *st, const char *sql, const char *name, const char *text,
                       int64_t now_ms, bool end_sessions, char *err, const char *what)
{
    struct store_pg *s = pg_of(st);
    bool own;
    int rc = pg_own_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    struct pg_params p = {0};
    int64_t changed = 0;
    pgp_text(&p, name);
    pgp_i64(&p, now_ms);
    if (text)
        pgp_text(&p, text);
    rc = pg_exec(s, sql, &p, &changed, err, what);
    if (rc == RC_OK && changed == 0)
        rc = rc_fail(err, RC_NOTFOUND, "no user named '%s'", name);
    if (rc == RC_OK && end_sessions) {
        struct pg_params q = {0};
        pgp_text(&q, name);
        rc = pg_exec(s,
                     "DELETE FROM login_sessions WHERE user_id = "
                     "(SELECT id FROM users WHERE name = $1)",
                     &q, NULL, err, what);
    }
    return pg_own_end(st, own, rc, err);
}

int pg_user_set_disabled(store *st, const char *name, bool disabled, int64_t now_ms, char *err)
{
    if (!disabled)
        return user_change(st,
                           "UPDATE users SET disabled_at = NULL WHERE name = $1 AND "
                           "$2::bigint IS NOT NULL",
                           name, NULL, now_ms, false, err, "enabling a user");
    return user_change(st,
                       "UPDATE users SET disabled_at = coalesce(disabled_at, $2) WHERE name = $1",
                       name, NULL, now_ms, true, err, "disabling a user");
}

int pg_user_set_password(store *st, const char *name, const char *hash, int64_t now_ms, char *err)
{
    return user_change(st,
                       "UPDATE users SET password_hash = $3, password_changed_at = $2 "
                       "WHERE name = $1",
                       name, hash, now_ms, true, err, "changing a password");
}

int pg_user_logged_in(store *st, const char *name, int64_t now_ms, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, name);
    pgp_i64(&p, now_ms);
    return pg_exec(pg_of(st), "UPDATE users SET last_login_at = $2 WHERE name = $1", &p, NULL, err,
                   "recording a login");
}

int pg_session_insert(store *st, const char *hash, const char *name, int64_t now_ms,
                      int64_t idle_ms, int64_t max_ms, char *err)
{
    struct pg_params p = {0};
    int64_t changed = 0;
    pgp_text(&p, hash);
    pgp_text(&p, name);
    pgp_i64(&p, now_ms);
    pgp_i64(&p, idle_ms);
    pgp_i64(&p, max_ms);
    int rc = pg_exec(pg_of(st),
                     "INSERT INTO login_sessions(hash, user_id, created_at, last_seen_at, "
                     "idle_ms, max_ms) SELECT $1, id, $3::bigint, $3::bigint, $4::bigint, "
                     "$5::bigint FROM users WHERE name = $2 AND disabled_at IS NULL",
                     &p, &changed, err, "storing a session");
    if (rc == RC_OK && changed == 0)
        rc = rc_fail(err, RC_NOTFOUND, "no enabled user named '%s'", name);
    return rc;
}

int pg_session_lookup(store *st, const char *hash, struct store_session *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    pgp_text(&p, hash);
    int rc = pg_run(pg_of(st),
                    "SELECT u.name, u.role, s.created_at, s.last_seen_at, s.idle_ms, s.max_ms "
                    "FROM login_sessions s JOIN users u ON u.id = s.user_id "
                    "WHERE s.hash = $1 AND u.disabled_at IS NULL",
                    &p, false, &r, err, "looking up a session");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = rc_fail(err, RC_NOTFOUND, "unknown session");
    else if ((rc = pg_col_text(r, 0, 0, out->user, sizeof out->user, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 1, out->role, sizeof out->role, err)) == RC_OK) {
        out->created_at_ms = pg_col_i64(r, 0, 2);
        out->last_seen_at_ms = pg_col_i64(r, 0, 3);
        out->idle_ms = pg_col_i64(r, 0, 4);
        out->max_ms = pg_col_i64(r, 0, 5);
    }
    PQclear(r);
    return rc;
}

int pg_session_touch(store *st, const char *hash, int64_t now_ms, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, hash);
    pgp_i64(&p, now_ms);
    return pg_exec(pg_of(st),
                   "UPDATE login_sessions SET last_seen_at = greatest(last_seen_at, $2) "
                   "WHERE hash = $1",
                   &p, NULL, err, "touching a session");
}

int pg_session_delete(store *st, const char *hash, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, hash);
    return pg_exec(pg_of(st), "DELETE FROM login_sessions WHERE hash = $1", &p, NULL, err,
                   "ending a session");
}

int pg_session_purge(store *st, int64_t now_ms, char *err)
{
    struct pg_params p = {0};
    pgp_i64(&p, now_ms);
    return pg_exec(pg_of(st),
                   "DELETE FROM login_sessions "
                   "WHERE last_seen_at + idle_ms <= $1 OR created_at + max_ms <= $1",
                   &p, NULL, err, "ending expired sessions");
}

int pg_login_failures_get(store *st, const char *key, struct store_login_failures *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    pgp_text(&p, key);
    int rc = pg_run(pg_of(st),
                    "SELECT failures, first_at, last_at, locked_until FROM login_failures "
                    "WHERE key = $1",
                    &p, false, &r, err, "reading failed logins");
    if (rc == RC_OK && PQntuples(r) == 1) {
        out->failures = pg_col_i64(r, 0, 0);
        out->first_at_ms = pg_col_i64(r, 0, 1);
        out->last_at_ms = pg_col_i64(r, 0, 2);
        out->locked_until_ms = pg_col_i64(r, 0, 3);
    }
    PQclear(r);
    return rc;
}

int pg_login_failures_put(store *st, const char *key, const struct store_login_failures *f,
                          int64_t forget_before_ms, char *err)
{
    struct store_pg *s = pg_of(st);
    struct pg_params p = {0};
    pgp_i64(&p, forget_before_ms);
    int rc = pg_exec(s, "DELETE FROM login_failures WHERE last_at < $1 AND locked_until < $1", &p,
                     NULL, err, "forgetting failed logins");
    if (rc != RC_OK)
        return rc;
    struct pg_params q = {0};
    pgp_text(&q, key);
    pgp_i64(&q, f->failures);
    pgp_i64(&q, f->first_at_ms);
    pgp_i64(&q, f->last_at_ms);
    pgp_i64(&q, f->locked_until_ms);
    return pg_exec(s,
                   "INSERT INTO login_failures(key, failures, first_at, last_at, locked_until) "
                   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET failures = $2, "
                   "first_at = $3, last_at = $4, locked_until = $5",
                   &q, NULL, err, "recording a failed login");
}

int pg_login_failures_clear(store *st, const char *key, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, key);
    return pg_exec(pg_of(st), "DELETE FROM login_failures WHERE key = $1", &p, NULL, err,
                   "clearing failed logins");
}
