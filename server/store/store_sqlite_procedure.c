/* The SQLite back-end (store_sqlite.c): the subsidy procedure's steps. */
#include "store/store_sqlite_int.h"

#include "rc.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite_step_insert(store *st, struct store_step *s, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    /* Inserted only when prev is the chain's last step; the unique index refuses a second
     * step after the same one. */
    int rc = prepare(db,
                     "INSERT INTO procedure_steps(prev, kind, subject, action, state, finding, "
                     "on_date, by_whom, recorded_at, reason, data) SELECT ?1, ?2, ?3, ?4, ?5, "
                     "?6, ?7, ?8, ?9, ?10, ?11 WHERE (SELECT coalesce(max(id), 0) FROM "
                     "procedure_steps WHERE kind = ?2 AND subject = ?3) = ?1",
                     &q, err, "storing a procedure step");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_int64(q, 1, s->prev);
    sqlite3_bind_text(q, 2, s->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, s->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, s->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, s->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, s->finding, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, s->on_ms);
    sqlite3_bind_text(q, 8, s->by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, s->at_ms);
    sqlite3_bind_text(q, 10, s->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 11, s->data, -1, SQLITE_STATIC);
    rc = step_done(db, q, err, "storing a procedure step");
    if (rc == RC_OK && sqlite3_changes(db) == 0)
        rc = RC_CONFLICT;
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_CONFLICT, "%s of %s changed meanwhile: read it again", s->kind,
                       s->subject);
    if (rc == RC_OK)
        s->id = sqlite3_last_insert_rowid(db);
    return rc;
}

int sqlite_step_list(store *st, const char *kind, const char *subject,
                     int (*fn)(const struct store_step *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT id, prev, kind, subject, action, state, finding, on_date, by_whom, "
                     "recorded_at, reason, data FROM procedure_steps WHERE kind = ?1 AND "
                     "(?2 IS NULL OR subject = ?2) ORDER BY id",
                     &q, err, "reading procedure steps");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, subject);
    struct store_step *v = malloc(sizeof *v);
    if (!v) {
        sqlite3_finalize(q);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        memset(v, 0, sizeof *v);
        if ((rc = column_text(q, 2, v->kind, sizeof v->kind, err)) != RC_OK ||
            (rc = column_text(q, 3, v->subject, sizeof v->subject, err)) != RC_OK ||
            (rc = column_text(q, 4, v->action, sizeof v->action, err)) != RC_OK ||
            (rc = column_text(q, 5, v->state, sizeof v->state, err)) != RC_OK ||
            (rc = column_text(q, 6, v->finding, sizeof v->finding, err)) != RC_OK ||
            (rc = column_text(q, 8, v->by, sizeof v->by, err)) != RC_OK ||
            (rc = column_text(q, 10, v->reason, sizeof v->reason, err)) != RC_OK ||
            (rc = column_text(q, 11, v->data, sizeof v->data, err)) != RC_OK)
            goto out;
        v->id = sqlite3_column_int64(q, 0);
        v->prev = sqlite3_column_int64(q, 1);
        v->on_ms = sqlite3_column_int64(q, 7);
        v->at_ms = sqlite3_column_int64(q, 9);
        if ((rc = fn(v, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading procedure steps");
out:
    free(v);
    sqlite3_finalize(q);
    return rc;
}
