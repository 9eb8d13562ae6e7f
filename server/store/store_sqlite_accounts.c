/* The SQLite back-end (store_sqlite.c): users, sessions, login failures, device tokens. */
#include "store/store_sqlite_int.h"

#include "rc.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite_token_insert(store *st, const struct store_token *t, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO tokens(hash, name, role, created_at, created_by) "
                           "VALUES (?1, ?2, ?3, ?4, nullif(?5, ''))",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a token");
    sqlite3_bind_text(q, 1, t->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, t->role, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, t->created_at_ms);
    sqlite3_bind_text(q, 5, t->created_by, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing a token");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "a token named '%s' exists already", t->name);
    }
    sqlite3_finalize(q);
    return rc;
}

int sqlite_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    rc = cached(sq(st), STMT_TOKEN_LOOKUP,
                "SELECT id, hash, name, role, created_at FROM tokens "
                "WHERE hash = ?1 AND revoked_at IS NULL",
                &q, err, "looking up a token");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, hash_hex, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "unknown token");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "looking up a token");
        goto out;
    }
    out->id = sqlite3_column_int64(q, 0);
    if ((rc = column_text(q, 1, out->hash, sizeof out->hash, err)) != RC_OK ||
        (rc = column_text(q, 2, out->name, sizeof out->name, err)) != RC_OK ||
        (rc = column_text(q, 3, out->role, sizeof out->role, err)) != RC_OK)
        goto out;
    out->created_at_ms = sqlite3_column_int64(q, 4);
out:
    cached_done(q);
    return rc;
}

int sqlite_user_insert(store *st, const struct store_user *u, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO users(name, role, password_hash, created_at, "
                           "password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a user");
    sqlite3_bind_text(q, 1, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, u->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, u->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, u->created_at_ms);
    sqlite3_bind_int64(q, 5, u->password_changed_at_ms);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing a user");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "a user named '%s' exists already", u->name);
    }
    sqlite3_finalize(q);
    return rc;
}

#define USER_COLUMNS                                                                               \
    "name, role, password_hash, created_at, password_changed_at, coalesce(disabled_at, 0), "       \
    "coalesce(last_login_at, 0)"

static int user_row(sqlite3_stmt *q, struct store_user *out, char *err)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = column_text(q, 0, out->name, sizeof out->name, err)) != RC_OK ||
        (rc = column_text(q, 1, out->role, sizeof out->role, err)) != RC_OK ||
        (rc = column_text(q, 2, out->password_hash, sizeof out->password_hash, err)) != RC_OK)
        return rc;
    out->created_at_ms = sqlite3_column_int64(q, 3);
    out->password_changed_at_ms = sqlite3_column_int64(q, 4);
    out->disabled_at_ms = sqlite3_column_int64(q, 5);
    out->last_login_at_ms = sqlite3_column_int64(q, 6);
    return RC_OK;
}

int sqlite_user_get(store *st, const char *name, struct store_user *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, "SELECT " USER_COLUMNS " FROM users WHERE name = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return db_fail(db, err, "reading a user");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = user_row(q, out, err);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "no user named '%s'", name);
    else
        rc = db_fail(db, err, "reading a user");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_user_list(store *st, int (*fn)(const struct store_user *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, "SELECT " USER_COLUMNS " FROM users ORDER BY name", -1, &q, NULL) !=
        SQLITE_OK)
        return db_fail(db, err, "listing users");
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_user u;
        if ((rc = user_row(q, &u, err)) != RC_OK || (rc = fn(&u, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing users");
out:
    sqlite3_finalize(q);
    return rc;
}

/* Runs sql (a write of user name, with text bound first when given) and, when asked, ends
 * the user's sessions, in one transaction unless the caller holds one. */
static int user_change(store *st, const char *sql, const char *name, const char *text,
                       int64_t now_ms, bool end_sessions, char *err, const char *what)
{
    sqlite3 *db = sq(st)->db;
    bool own = !st->in_tx;
    int rc = RC_OK;
    if (own && (rc = sqlite_begin(st, err)) != RC_OK)
        return rc;
    int changed = 0;
    rc = text ? write1(db, sql, text, name, NULL, now_ms, &changed, err, what)
              : write1(db, sql, name, NULL, NULL, now_ms, &changed, err, what);
    if (rc == RC_OK && changed == 0)
        rc = rc_fail(err, RC_NOTFOUND, "no user named '%s'", name);
    if (rc == RC_OK && end_sessions)
        rc = write1(
            db, "DELETE FROM login_sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
            name, NULL, NULL, 0, NULL, err, what);
    if (own) {
        if (rc == RC_OK)
            rc = sqlite_commit(st, err);
        if (rc != RC_OK)
            sqlite_rollback(st);
    }
    return rc;
}

int sqlite_user_set_disabled(store *st, const char *name, bool disabled, int64_t now_ms, char *err)
{
    if (!disabled)
        return user_change(st, "UPDATE users SET disabled_at = NULL WHERE name = ?1", name, NULL,
                           now_ms, false, err, "enabling a user");
    return user_change(st,
                       "UPDATE users SET disabled_at = coalesce(disabled_at, ?2) WHERE name = ?1",
                       name, NULL, now_ms, true, err, "disabling a user");
}

int sqlite_user_set_password(store *st, const char *name, const char *hash, int64_t now_ms,
                             char *err)
{
    return user_change(st,
                       "UPDATE users SET password_hash = ?1, password_changed_at = ?3 "
                       "WHERE name = ?2",
                       name, hash, now_ms, true, err, "changing a password");
}

int sqlite_user_logged_in(store *st, const char *name, int64_t now_ms, char *err)
{
    return write1(sq(st)->db, "UPDATE users SET last_login_at = ?2 WHERE name = ?1", name, NULL,
                  NULL, now_ms, NULL, err, "recording a login");
}

int sqlite_session_insert(store *st, const char *hash, const char *name, int64_t now_ms,
                          int64_t idle_ms, int64_t max_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO login_sessions(hash, user_id, created_at, last_seen_at, "
                           "idle_ms, max_ms) SELECT ?1, id, ?3, ?3, ?4, ?5 FROM users "
                           "WHERE name = ?2 AND disabled_at IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a session");
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_ms);
    sqlite3_bind_int64(q, 4, idle_ms);
    sqlite3_bind_int64(q, 5, max_ms);
    int rc = RC_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "storing a session");
    else if (sqlite3_changes(db) == 0)
        rc = rc_fail(err, RC_NOTFOUND, "no enabled user named '%s'", name);
    sqlite3_finalize(q);
    return rc;
}

int sqlite_session_lookup(store *st, const char *hash, struct store_session *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    memset(out, 0, sizeof *out);
    int rc = cached(sq(st), STMT_SESSION_LOOKUP,
                    "SELECT u.name, u.role, s.created_at, s.last_seen_at, s.idle_ms, s.max_ms "
                    "FROM login_sessions s "
                    "JOIN users u ON u.id = s.user_id "
                    "WHERE s.hash = ?1 AND u.disabled_at IS NULL",
                    &q, err, "looking up a session");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "unknown session");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "looking up a session");
        goto out;
    }
    if ((rc = column_text(q, 0, out->user, sizeof out->user, err)) != RC_OK ||
        (rc = column_text(q, 1, out->role, sizeof out->role, err)) != RC_OK)
        goto out;
    out->created_at_ms = sqlite3_column_int64(q, 2);
    out->last_seen_at_ms = sqlite3_column_int64(q, 3);
    out->idle_ms = sqlite3_column_int64(q, 4);
    out->max_ms = sqlite3_column_int64(q, 5);
out:
    cached_done(q);
    return rc;
}

int sqlite_session_touch(store *st, const char *hash, int64_t now_ms, char *err)
{
    return write1(sq(st)->db,
                  "UPDATE login_sessions SET last_seen_at = max(last_seen_at, ?2) WHERE hash = ?1",
                  hash, NULL, NULL, now_ms, NULL, err, "touching a session");
}

int sqlite_session_delete(store *st, const char *hash, char *err)
{
    return write1(sq(st)->db, "DELETE FROM login_sessions WHERE hash = ?1", hash, NULL, NULL, 0,
                  NULL, err, "ending a session");
}

int sqlite_session_purge(store *st, int64_t now_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "DELETE FROM login_sessions "
                           "WHERE last_seen_at + idle_ms <= ?1 OR created_at + max_ms <= ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "ending expired sessions");
    sqlite3_bind_int64(q, 1, now_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "ending expired sessions");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_login_failures_get(store *st, const char *key, struct store_login_failures *out,
                              char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT failures, first_at, last_at, locked_until FROM login_failures "
                           "WHERE key = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading failed logins");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        out->failures = sqlite3_column_int64(q, 0);
        out->first_at_ms = sqlite3_column_int64(q, 1);
        out->last_at_ms = sqlite3_column_int64(q, 2);
        out->locked_until_ms = sqlite3_column_int64(q, 3);
    } else if (step != SQLITE_DONE) {
        rc = db_fail(db, err, "reading failed logins");
    }
    sqlite3_finalize(q);
    return rc;
}

int sqlite_login_failures_put(store *st, const char *key, const struct store_login_failures *f,
                              int64_t forget_before_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = write1(db, "DELETE FROM login_failures WHERE last_at < ?1 AND locked_until < ?1", NULL,
                    NULL, NULL, forget_before_ms, NULL, err, "forgetting failed logins");
    if (rc != RC_OK)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO login_failures(key, failures, first_at, last_at, "
                           "locked_until) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE "
                           "SET failures = ?2, first_at = ?3, last_at = ?4, locked_until = ?5",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "recording a failed login");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->failures);
    sqlite3_bind_int64(q, 3, f->first_at_ms);
    sqlite3_bind_int64(q, 4, f->last_at_ms);
    sqlite3_bind_int64(q, 5, f->locked_until_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "recording a failed login");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_login_failures_clear(store *st, const char *key, char *err)
{
    return write1(sq(st)->db, "DELETE FROM login_failures WHERE key = ?1", key, NULL, NULL, 0, NULL,
                  err, "clearing failed logins");
}
