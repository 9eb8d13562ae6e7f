/* PostgreSQL back-end: the subsidy procedure's steps (store.h "store_step"; the table is
 * migration 11 in store_pg.c). */
#include "rc.h"
#include "store/store.h"
#include "store/store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_step_insert(store *st, struct store_step *s, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_i64(&p, s->prev);
    pgp_text(&p, s->kind);
    pgp_text(&p, s->subject);
    pgp_text(&p, s->action);
    pgp_text(&p, s->state);
    pgp_text(&p, s->finding);
    pgp_i64(&p, s->on_ms);
    pgp_text(&p, s->by);
    pgp_i64(&p, s->at_ms);
    pgp_text(&p, s->reason);
    pgp_text(&p, s->data);
    /* Inserted only when prev is the chain's last step; the unique index (kind, subject, prev)
     * refuses a concurrent second step after the same one. */
    int rc = pg_run(pg_of(st),
                    "INSERT INTO procedure_steps(prev, kind, subject, action, state, finding, "
                    "on_date, by_whom, recorded_at, reason, data) SELECT $1::bigint, $2::text, "
                    "$3::text, $4, $5, $6, $7, $8, $9, $10, $11 WHERE (SELECT coalesce(max(id), "
                    "0) FROM procedure_steps WHERE kind = $2::text AND subject = $3::text) = "
                    "$1::bigint RETURNING id",
                    &p, false, &r, err, "storing a procedure step");
    if (rc == RC_OK && PQntuples(r) != 1)
        rc = RC_CONFLICT;
    if (rc == RC_OK)
        s->id = pg_col_i64(r, 0, 0);
    PQclear(r);
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_CONFLICT, "%s of %s changed meanwhile: read it again", s->kind,
                       s->subject);
    return rc;
}

int pg_step_list(store *st, const char *kind, const char *subject,
                 int (*fn)(const struct store_step *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, kind);
    pgp_text(&p, subject);
    int rc = pg_run(pg_of(st),
                    "SELECT id, prev, kind, subject, action, state, finding, on_date, by_whom, "
                    "recorded_at, reason, data FROM procedure_steps WHERE kind = $1 AND "
                    "($2::text IS NULL OR subject = $2::text) ORDER BY id",
                    &p, false, &r, err, "reading procedure steps");
    if (rc != RC_OK)
        return rc;
    struct store_step *v = malloc(sizeof *v);
    if (!v) {
        PQclear(r);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    for (int i = 0; i < PQntuples(r); i++) {
        memset(v, 0, sizeof *v);
        if ((rc = pg_col_text(r, i, 2, v->kind, sizeof v->kind, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 3, v->subject, sizeof v->subject, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 4, v->action, sizeof v->action, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 5, v->state, sizeof v->state, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 6, v->finding, sizeof v->finding, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 8, v->by, sizeof v->by, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 10, v->reason, sizeof v->reason, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 11, v->data, sizeof v->data, err)) != RC_OK)
            break;
        v->id = pg_col_i64(r, i, 0);
        v->prev = pg_col_i64(r, i, 1);
        v->on_ms = pg_col_i64(r, i, 7);
        v->at_ms = pg_col_i64(r, i, 9);
        if ((rc = fn(v, ctx)) != 0)
            break;
    }
    free(v);
    PQclear(r);
    return rc;
}
