/* SQLite: the engine alerts' keys (store_sqlite_warm.h). The caller holds the write lock
 * (BEGIN IMMEDIATE), so the key's check and its insert cannot interleave with another
 * writer's. */
#include "store/store_sqlite_warm.h"

#include "rc.h"

#include <stdio.h>

static int fail(sqlite3 *db, char *err, const char *what)
{
    int code = sqlite3_extended_errcode(db) & 0xff;
    return rc_fail(err, code == SQLITE_CONSTRAINT ? RC_CONFLICT : RC_DB, "%s: %s", what,
                   sqlite3_errmsg(db));
}

/* Runs sql with its text parameters (NULL binds NULL) and one integer as the last one. */
static int run(sqlite3 *db, const char *sql, const char *const *text, int n_text, int64_t num,
               char *err, const char *what)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return fail(db, err, what);
    for (int i = 0; i < n_text; i++) {
        if (text[i])
            sqlite3_bind_text(q, i + 1, text[i], -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(q, n_text + 1, num);
    int rc = sqlite3_step(q) == SQLITE_DONE ? RC_OK : fail(db, err, what);
    sqlite3_finalize(q);
    return rc;
}

int sqlite_warm_engine_alert(sqlite3 *db, const char *class_id, const char *institution,
                             const struct store_engine_alert *a, int64_t now_ms, bool *added,
                             char *err)
{
    *added = false;
    const char *key[] = {class_id, a->kind, a->subject, a->session};
    int rc = run(db,
                 "INSERT INTO engine_alerts(class, kind, subject, session, created_at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                 key, 4, now_ms, err, "recording an engine alert");
    if (rc != RC_OK || sqlite3_changes(db) == 0)
        return rc;
    const char *row[] = {a->kind, institution, class_id, a->trainee[0] ? a->trainee : NULL,
                         a->detail};
    if ((rc = run(db,
                  "INSERT INTO findings(kind, severity, institution, class, trainee, detail, "
                  "created_at) VALUES (?1, 'high', ?2, ?3, ?4, ?5, ?6)",
                  row, 5, now_ms, err, "storing an engine finding")) != RC_OK)
        return rc;
    if ((rc = run(db,
                  "UPDATE engine_alerts SET finding = ?5 WHERE class = ?1 AND kind = ?2 AND "
                  "subject = ?3 AND session = ?4",
                  key, 4, sqlite3_last_insert_rowid(db), err, "recording an engine alert")) !=
        RC_OK)
        return rc;
    *added = true;
    return RC_OK;
}
