/* PostgreSQL back-end: institutions' districts, class plans, online records, assessments,
 * the events the figures read, reviews, the figures cache and findings (store.h). Plans and
 * records arrive as store.h's flat rows (store_map.c maps them); classes.gen is bumped by
 * store.c through pg_class_bump. */
#include "dynbuf.h"
#include "rc.h"
#include "store/store.h"
#include "store/store_pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_institution_district(store *st, const char *id, char *district, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    district[0] = '\0';
    pgp_text(&p, id);
    int rc = pg_run(pg_of(st), "SELECT coalesce(district, '') FROM institutions WHERE id = $1", &p,
                    false, &r, err, "reading an institution");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 1)
        rc = pg_col_text(r, 0, 0, district, STORE_DISTRICT_LEN + 1, err);
    else
        rc = rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", id);
    PQclear(r);
    return rc;
}

int pg_institution_register(store *st, const char *id, const char *district, char *err)
{
    char have[STORE_DISTRICT_LEN + 1];
    int rc = pg_institution_district(st, id, have, err);
    if (rc != RC_OK)
        return rc;
    if (have[0])
        return strcmp(have, district) == 0
                   ? RC_OK
                   : rc_fail(err, RC_CONFLICT, "institution '%s' is registered in district %s", id,
                             have);
    struct pg_params p = {0};
    pgp_text(&p, id);
    pgp_text(&p, district);
    return pg_exec(pg_of(st),
                   "UPDATE institutions SET district = $2 WHERE id = $1 AND district IS NULL", &p,
                   NULL, err, "registering an institution");
}

int pg_class_put(store *st, const struct store_plan_rows *p, const char *plan_json, const char *by,
                 int64_t now, bool *created, char *err)
{
    struct store_pg *s = pg_of(st);
    PGresult *r = NULL;
    char owner[STORE_ID_MAX + 1] = "";
    struct pg_params q = {0};
    pgp_text(&q, p->id);
    /* FOR UPDATE: two collectors storing the same class take turns. */
    int rc = pg_run(s, "SELECT institution FROM classes WHERE id = $1 FOR UPDATE", &q, false, &r,
                    err, "reading a class");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 1)
        rc = pg_col_text(r, 0, 0, owner, sizeof owner, err);
    PQclear(r);
    if (rc != RC_OK)
        return rc;
    if (owner[0] && strcmp(owner, p->institution) != 0)
        return rc_fail(err, RC_CONFLICT, "class '%s' belongs to another institution", p->id);
    *created = owner[0] == '\0';
    if (!p->level[0] || p->n_sessions == 0)
        return rc_fail(err, RC_INVAL, "class '%s' has no level or no sessions", p->id);
    struct pg_params c = {0};
    pgp_text(&c, p->id);
    pgp_text(&c, p->institution);
    pgp_text(&c, p->district);
    pgp_text(&c, p->occupation);
    pgp_text(&c, p->level);
    pgp_i64(&c, p->applied_on_ms);
    pgp_i64(&c, p->sessions[0].start_ms);
    pgp_i64(&c, p->sessions[p->n_sessions - 1].end_ms);
    pgp_text(&c, plan_json);
    pgp_i64(&c, now);
    pgp_text(&c, by);
    pgp_i64(&c, p->rollcalls);
    pgp_i64(&c, p->rollcall_window_min);
    rc = pg_exec(s,
                 "INSERT INTO classes(id, institution, district, occupation, level, applied_on, "
                 "start_at, end_at, plan_json, created_at, updated_at, updated_by, rollcalls, "
                 "rollcall_window_min) VALUES "
                 "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13) "
                 "ON CONFLICT (id) DO UPDATE "
                 "SET district = excluded.district, occupation = excluded.occupation, "
                 "level = excluded.level, applied_on = excluded.applied_on, "
                 "start_at = excluded.start_at, end_at = excluded.end_at, "
                 "rollcalls = excluded.rollcalls, "
                 "rollcall_window_min = excluded.rollcall_window_min, "
                 "plan_json = excluded.plan_json, updated_at = excluded.updated_at, "
                 "updated_by = excluded.updated_by, gen = classes.gen + 1",
                 &c, NULL, err, "storing a class");
    if (rc == RC_CONFLICT && strcmp(s->sqlstate, "23503") == 0)
        rc = rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", p->institution);
    if (rc != RC_OK)
        return rc;
    if ((rc = pg_exec(s, "DELETE FROM sessions WHERE class = $1", &q, NULL, err,
                      "replacing sessions")) != RC_OK ||
        (rc = pg_exec(s, "DELETE FROM roster WHERE class = $1", &q, NULL, err,
                      "replacing the roster")) != RC_OK)
        return rc;
    for (size_t i = 0; i < p->n_sessions && rc == RC_OK; i++) {
        const struct store_session_row *ps = &p->sessions[i];
        struct pg_params v = {0};
        pgp_text(&v, p->id);
        pgp_text(&v, ps->id);
        pgp_i64(&v, ps->start_ms);
        pgp_i64(&v, ps->end_ms);
        pgp_text(&v, ps->mode);
        pgp_opt(&v, ps->fence);
        rc = pg_exec(s,
                     "INSERT INTO sessions(class, id, start_at, end_at, mode, fence) "
                     "VALUES ($1, $2, $3, $4, $5, $6)",
                     &v, NULL, err, "storing sessions");
    }
    for (size_t i = 0; i < p->n_roster && rc == RC_OK; i++) {
        const struct store_roster_row *t = &p->roster[i];
        struct pg_params v = {0};
        pgp_text(&v, p->id);
        pgp_text(&v, t->trainee);
        pgp_text(&v, t->masked);
        pgp_text(&v, t->name);
        pgp_i64(&v, t->student ? 1 : 0);
        pgp_i64(&v, (int64_t)i);
        pgp_opt(&v, t->city);
        rc = pg_exec(s,
                     "INSERT INTO roster(class, trainee, masked, name, student, position, city) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     &v, NULL, err, "storing the roster");
    }
    return rc;
}

#define CLASS_COLUMNS                                                                              \
    "c.id, c.institution, c.district, c.occupation, c.level, c.applied_on, c.start_at, "           \
    "c.end_at, (SELECT count(*) FROM sessions s WHERE s.class = c.id), "                           \
    "(SELECT count(*) FROM roster r WHERE r.class = c.id), c.gen, c.updated_at"

static int class_row(const PGresult *r, int i, struct store_class_row *c, char *err)
{
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = pg_col_text(r, i, 0, c->id, sizeof c->id, err)) != RC_OK ||
        (rc = pg_col_text(r, i, 1, c->institution, sizeof c->institution, err)) != RC_OK ||
        (rc = pg_col_text(r, i, 2, c->district, sizeof c->district, err)) != RC_OK ||
        (rc = pg_col_text(r, i, 3, c->occupation, sizeof c->occupation, err)) != RC_OK ||
        (rc = pg_col_text(r, i, 4, c->level, sizeof c->level, err)) != RC_OK)
        return rc;
    c->applied_on_ms = pg_col_i64(r, i, 5);
    c->start_ms = pg_col_i64(r, i, 6);
    c->end_ms = pg_col_i64(r, i, 7);
    c->n_sessions = pg_col_i64(r, i, 8);
    c->n_roster = pg_col_i64(r, i, 9);
    c->gen = pg_col_i64(r, i, 10);
    c->updated_at_ms = pg_col_i64(r, i, 11);
    return RC_OK;
}

int pg_class_get(store *st, const char *id, struct store_class_row *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, id);
    int rc = pg_run(pg_of(st), "SELECT " CLASS_COLUMNS " FROM classes c WHERE c.id = $1", &p, false,
                    &r, err, "reading a class");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 1)
        rc = class_row(r, 0, out, err);
    else
        rc = rc_fail(err, RC_NOTFOUND, "no class '%s'", id);
    PQclear(r);
    return rc;
}

int pg_class_plan(store *st, const char *id, struct store_plan_rows *out, char *err)
{
    struct store_pg *s = pg_of(st);
    struct store_class_row c;
    PGresult *r = NULL;
    int rc = pg_class_get(st, id, &c, err);
    if (rc != RC_OK)
        return rc;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", c.id);
    snprintf(out->institution, sizeof out->institution, "%s", c.institution);
    snprintf(out->district, sizeof out->district, "%s", c.district);
    snprintf(out->occupation, sizeof out->occupation, "%s", c.occupation);
    snprintf(out->level, sizeof out->level, "%s", c.level);
    out->applied_on_ms = c.applied_on_ms;
    struct pg_params p = {0};
    pgp_text(&p, id);
    if ((rc = pg_run(s, "SELECT rollcalls, rollcall_window_min FROM classes WHERE id = $1", &p,
                     false, &r, err, "reading a class")) != RC_OK)
        return rc;
    if (PQntuples(r) == 1) {
        out->rollcalls = pg_col_i64(r, 0, 0);
        out->rollcall_window_min = pg_col_i64(r, 0, 1);
    } else {
        rc = rc_fail(err, RC_NOTFOUND, "no class '%s'", id);
    }
    PQclear(r);
    r = NULL;
    if (rc != RC_OK)
        return rc;
    if ((rc = pg_run(s,
                     "SELECT id, start_at, end_at, mode, coalesce(fence, '') FROM sessions "
                     "WHERE class = $1 ORDER BY start_at, id",
                     &p, false, &r, err, "reading sessions")) != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        if (out->n_sessions >= STORE_SESSIONS_MAX) {
            rc =
                rc_fail(err, RC_CORRUPT, "class '%s' has over %d sessions", id, STORE_SESSIONS_MAX);
            goto out;
        }
        struct store_session_row *ps = &out->sessions[out->n_sessions++];
        if ((rc = pg_col_text(r, i, 0, ps->id, sizeof ps->id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 3, ps->mode, sizeof ps->mode, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 4, ps->fence, sizeof ps->fence, err)) != RC_OK)
            goto out;
        ps->start_ms = pg_col_i64(r, i, 1);
        ps->end_ms = pg_col_i64(r, i, 2);
    }
    PQclear(r);
    r = NULL;
    if ((rc = pg_run(s,
                     "SELECT trainee, masked, name, student, coalesce(city, '') FROM roster "
                     "WHERE class = $1 ORDER BY position",
                     &p, false, &r, err, "reading the roster")) != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        if (out->n_roster >= STORE_ROSTER_MAX) {
            rc = rc_fail(err, RC_CORRUPT, "class '%s' has over %d trainees", id, STORE_ROSTER_MAX);
            goto out;
        }
        struct store_roster_row *t = &out->roster[out->n_roster++];
        if ((rc = pg_col_text(r, i, 0, t->trainee, sizeof t->trainee, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 1, t->masked, sizeof t->masked, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 4, t->city, sizeof t->city, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 2, t->name, sizeof t->name, err)) != RC_OK)
            goto out;
        t->student = pg_col_i64(r, i, 3) != 0;
    }
out:
    PQclear(r);
    return rc;
}

int pg_class_list(store *st, const struct store_class_filter *f, size_t limit,
                  int (*fn)(const struct store_class_row *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_opt(&p, f ? f->institution : NULL);
    pgp_opt(&p, f ? f->district : NULL);
    pgp_i64(&p, f ? f->from_ms : 0);
    pgp_i64(&p, f ? f->to_ms : 0);
    pgp_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int rc = pg_run(pg_of(st),
                    "SELECT " CLASS_COLUMNS " FROM classes c WHERE ($1::text IS NULL OR "
                    "c.institution = $1) AND ($2::text IS NULL OR c.district = $2) "
                    "AND ($3::bigint = 0 OR c.end_at > $3::bigint) "
                    "AND ($4::bigint = 0 OR c.start_at < $4::bigint) "
                    "ORDER BY c.institution, c.start_at, c.id LIMIT $5",
                    &p, false, &r, err, "listing classes");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_class_row c;
        if ((rc = class_row(r, i, &c, err)) != RC_OK || (rc = fn(&c, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_online_insert(store *st, const struct store_online_row *o, const char *by, int64_t now,
                     bool *duplicate, char *err)
{
    struct pg_params p = {0};
    int64_t changed = 0;
    pgp_text(&p, o->class_id);
    pgp_text(&p, o->trainee);
    pgp_text(&p, o->masked);
    pgp_i64(&p, o->start_ms);
    pgp_i64(&p, o->end_ms);
    pgp_text(&p, o->platform);
    pgp_i64(&p, now);
    pgp_text(&p, by);
    int rc = pg_exec(pg_of(st),
                     "INSERT INTO online_records(class, trainee, masked, start_at, end_at, "
                     "platform, recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                     "ON CONFLICT (class, trainee, start_at, end_at, platform) DO NOTHING",
                     &p, &changed, err, "storing an online record");
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_NOTFOUND, "no class '%s'", o->class_id);
    if (rc == RC_OK)
        *duplicate = changed == 0;
    return rc;
}

int pg_online_list(store *st, const char *class_id,
                   int (*fn)(const struct store_online_row *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, class_id);
    int rc = pg_run(pg_of(st),
                    "SELECT class, trainee, masked, start_at, end_at, platform FROM "
                    "online_records WHERE class = $1 ORDER BY trainee, start_at, end_at, platform",
                    &p, false, &r, err, "reading online records");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_online_row o;
        memset(&o, 0, sizeof o);
        if ((rc = pg_col_text(r, i, 0, o.class_id, sizeof o.class_id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 1, o.trainee, sizeof o.trainee, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 2, o.masked, sizeof o.masked, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 5, o.platform, sizeof o.platform, err)) != RC_OK)
            break;
        o.start_ms = pg_col_i64(r, i, 3);
        o.end_ms = pg_col_i64(r, i, 4);
        if ((rc = fn(&o, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_assessment_put(store *st, const struct store_assessment_row *a, const char *by, int64_t now,
                      bool *changed, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, a->class_id);
    pgp_text(&p, a->trainee);
    pgp_text(&p, a->masked);
    pgp_i64(&p, a->passed ? 1 : 0);
    pgp_i64(&p, a->assessed_on_ms);
    pgp_text(&p, a->certificate);
    pgp_i64(&p, now);
    pgp_text(&p, by);
    /* The WHERE keeps an identical re-upload from touching the row (and the history). */
    int64_t n = 0;
    int rc = pg_exec(pg_of(st),
                     "INSERT INTO assessments AS a(class, trainee, masked, passed, assessed_on, "
                     "certificate, recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                     "$8) ON CONFLICT (class, trainee) DO UPDATE SET masked = excluded.masked, "
                     "passed = excluded.passed, assessed_on = excluded.assessed_on, "
                     "certificate = excluded.certificate, recorded_at = excluded.recorded_at, "
                     "recorded_by = excluded.recorded_by WHERE a.passed IS DISTINCT FROM "
                     "excluded.passed OR a.assessed_on IS DISTINCT FROM excluded.assessed_on OR "
                     "a.certificate IS DISTINCT FROM excluded.certificate",
                     &p, &n, err, "storing an assessment");
    if (rc == RC_OK)
        *changed = n > 0;
    if (rc == RC_CONFLICT && strcmp(pg_of(st)->sqlstate, "23505") == 0)
        return rc_fail(err, RC_CONFLICT,
                       "certificate %s is already recorded for another trainee or class "
                       "(certificate numbers are unique city-wide)",
                       a->certificate);
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_NOTFOUND, "no class '%s'", a->class_id);
    return rc;
}

int pg_assessment_list(store *st, const char *class_id,
                       int (*fn)(const struct store_assessment_row *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, class_id);
    int rc = pg_run(pg_of(st),
                    "SELECT class, trainee, masked, passed, assessed_on, certificate FROM "
                    "assessments WHERE class = $1 ORDER BY trainee",
                    &p, false, &r, err, "reading assessments");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_assessment_row a;
        memset(&a, 0, sizeof a);
        if ((rc = pg_col_text(r, i, 0, a.class_id, sizeof a.class_id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 1, a.trainee, sizeof a.trainee, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 2, a.masked, sizeof a.masked, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 5, a.certificate, sizeof a.certificate, err)) != RC_OK)
            break;
        a.passed = pg_col_i64(r, i, 3) != 0;
        a.assessed_on_ms = pg_col_i64(r, i, 4);
        if ((rc = fn(&a, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

static const char *text_or_empty(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

/* Calls fn per row of a binary result of STORE_EVENT_READ_COLUMNS, in the order of order[]
 * (row numbers; NULL: the result's). A row without a pack (rare: stored before schema 20 and
 * left by the backfill) has its line read by (device, seq) first, one query each. Clears r. */
static int raw_events(store *st, PGresult *r, const int *order,
                      int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err)
{
    int rc = RC_OK;
    struct store_event row;
    struct store_pack_text text;
    for (int k = 0; k < PQntuples(r); k++) {
        int i = order ? order[k] : k;
        PGresult *line = NULL;
        struct store_raw_event e = {
            .raw = "",
            .server_verdict = text_or_empty(r, i, SER_SERVER_VERDICT),
            .received_at_ms = pg_col_bin_i64(r, i, SER_RECEIVED_AT),
            .row = &row,
        };
        if (PQgetisnull(r, i, SER_PACK) ||
            store_event_unpack(PQgetvalue(r, i, SER_PACK), (size_t)PQgetlength(r, i, SER_PACK),
                               &row, &text) != RC_OK) {
            memset(&row, 0, sizeof row); /* no pack, or not one of ours: the line says it */
            struct pg_params p = {0};
            pgp_text(&p, PQgetvalue(r, i, SER_DEVICE));
            pgp_i64(&p, pg_col_bin_i64(r, i, SER_SEQ));
            if ((rc = pg_run(pg_of(st), "SELECT raw FROM events WHERE device = $1 AND seq = $2", &p,
                             true, &line, err, "reading an event's line")) != RC_OK)
                break;
            if (PQntuples(line) != 1) {
                PQclear(line);
                rc = rc_fail(err, RC_DB, "an event's line vanished while read");
                break;
            }
            e.raw = PQgetvalue(line, 0, 0);
            e.raw_len = (size_t)PQgetlength(line, 0, 0);
        }
        rc = fn(&e, ctx);
        PQclear(line);
        if (rc != 0)
            break;
    }
    PQclear(r);
    return rc;
}

/* The sort key of a row of an events read: device, then a, session, b, c (see row_order). */
struct row_key {
    const char *device, *session;
    int64_t a, b, c;
    int row;
};

static int cmp_i64(int64_t x, int64_t y)
{
    return (x > y) - (x < y);
}

static int cmp_row_key(const void *x, const void *y)
{
    const struct row_key *p = x, *q = y;
    int c = strcmp(p->device, q->device);
    if (!c)
        c = cmp_i64(p->a, q->a);
    if (!c)
        c = strcmp(p->session, q->session);
    if (!c)
        c = cmp_i64(p->b, q->b);
    if (!c)
        c = cmp_i64(p->c, q->c);
    return c ? c : cmp_i64(p->row, q->row);
}

/* Sorts k[0..n) by cmp_row_key unless it is in that order already, as the server mostly sends
 * the rows (an index's order, under a collation that orders like the bytes): one pass to see
 * it saves the sort. True when it sorted. */
static bool sort_row_keys(struct row_key *k, int n)
{
    bool sorted = true;
    for (int i = 1; i < n && sorted; i++)
        sorted = cmp_row_key(&k[i - 1], &k[i]) < 0;
    if (!sorted)
        qsort(k, (size_t)n, sizeof *k, cmp_row_key);
    return !sorted;
}

/* The rows of r in the order the store promises, sorted here rather than by the server:
 * by device (bytes, as SQLite's BINARY, whatever the database's collation), then the
 * int8 column a_col, the text column session_col (-1: none), the int8 columns b_col and
 * c_col (-1: none). The server's sort under a libc collation cost more than the whole
 * read (docs/PERFORMANCE.md "A packed event"). *order: malloc'd row numbers, NULL when
 * the rows are in that order already (or there are none). */
static int row_order(const PGresult *r, int a_col, int session_col, int b_col, int c_col,
                     int **order, char *err)
{
    *order = NULL;
    int n = PQntuples(r);
    if (n == 0)
        return RC_OK;
    struct row_key *k = malloc((size_t)n * sizeof *k);
    int *o = malloc((size_t)n * sizeof *o);
    if (!k || !o) {
        free(k);
        free(o);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++)
        k[i] = (struct row_key){
            .device = PQgetvalue(r, i, SER_DEVICE),
            .session = session_col < 0 ? "" : PQgetvalue(r, i, session_col),
            .a = pg_col_bin_i64(r, i, a_col),
            .b = b_col < 0 ? 0 : pg_col_bin_i64(r, i, b_col),
            .c = c_col < 0 ? 0 : pg_col_bin_i64(r, i, c_col),
            .row = i,
        };
    if (!sort_row_keys(k, n)) {
        free(k);
        free(o);
        return RC_OK;
    }
    for (int i = 0; i < n; i++)
        o[i] = k[i].row;
    free(k);
    *order = o;
    return RC_OK;
}

/* raw_events in row_order's order; clears r. */
static int sorted_events(store *st, PGresult *r, int a_col, int session_col, int b_col, int c_col,
                         int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err)
{
    int *order = NULL;
    int rc = row_order(r, a_col, session_col, b_col, c_col, &order, err);
    if (rc != RC_OK) {
        PQclear(r);
        return rc;
    }
    rc = raw_events(st, r, order, fn, ctx, err);
    free(order);
    return rc;
}

/* The rows of a packed read (below), kept on their connection from one read to the next up to
 * READ_BUF_KEEP rows (a larger read allocates its own): a cold summary makes two reads a
 * class, and fresh blocks of megabytes each time cost page faults and unmaps on every core
 * (docs/PERFORMANCE.md "The collector's own CPU in a cold class"). */
enum { READ_BUF_KEEP = 16384 };
struct pg_read_buf {
    struct store_event *ev;
    struct store_pack_text *text;
    struct row_key *key;
    size_t cap;
    bool busy;
};

void pg_read_buf_free(struct pg_read_buf *b)
{
    if (!b)
        return;
    free(b->ev);
    free(b->text);
    free(b->key);
    free(b);
}

/* Room for n rows: the connection's kept buffer when it is free and n fits what it keeps, else
 * *own (malloc'd here, for the caller to free with pg_read_buf_free). */
static struct pg_read_buf *read_buf(struct store_pg *s, size_t n, struct pg_read_buf **own)
{
    *own = NULL;
    struct pg_read_buf *b = s->read_buf;
    bool keep = n <= READ_BUF_KEEP && !(b && b->busy);
    if (keep && !b && !(b = s->read_buf = calloc(1, sizeof *b)))
        return NULL;
    if (!keep && !(b = *own = calloc(1, sizeof *b)))
        return NULL;
    if (b->cap < n) {
        size_t cap = keep ? (n < 1024 ? 1024 : n) : n;
        if (keep && cap < 2 * b->cap)
            cap = 2 * b->cap > READ_BUF_KEEP ? READ_BUF_KEEP : 2 * b->cap;
        free(b->ev);
        free(b->text);
        free(b->key);
        b->ev = malloc(cap * sizeof *b->ev);
        b->text = malloc(cap * sizeof *b->text);
        b->key = malloc(cap * sizeof *b->key);
        b->cap = b->ev && b->text && b->key ? cap : 0;
        if (!b->cap)
            return NULL;
    }
    b->busy = true;
    return b;
}

/* The packed reads of a class (pg_class_events, pg_class_device_events): the server sends a
 * row's server verdict, receipt time and pack (and a window's session start and id), not its
 * device, seq and time, which its pack holds; so every row of r is unpacked first, then
 * ordered as row_order orders (by device, then start_col's value or seq, session_col's,
 * time, seq), then given to fn. *all false when a row has no pack or one that does not
 * unpack (rare: stored before schema 20 and left so by the backfill): then fn saw nothing
 * and the caller reads the rows again with their keys. Leaves r to the caller. */
static int packed_events(struct store_pg *s, PGresult *r, int start_col, int session_col, bool *all,
                         int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err)
{
    int n = PQntuples(r);
    *all = true;
    if (n == 0)
        return RC_OK;
    struct pg_read_buf *own = NULL, *b = read_buf(s, (size_t)n, &own);
    if (!b) {
        pg_read_buf_free(own);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    struct store_event *ev = b->ev;
    struct row_key *k = b->key;
    int rc = RC_OK;
    bool window = start_col >= 0;
    for (int i = 0; i < n; i++) {
        if (PQgetisnull(r, i, SER_PACK) ||
            store_event_unpack(PQgetvalue(r, i, SER_PACK), (size_t)PQgetlength(r, i, SER_PACK),
                               &ev[i], &b->text[i]) != RC_OK) {
            *all = false;
            goto out;
        }
        k[i] = (struct row_key){
            .device = ev[i].device,
            .session = window ? PQgetvalue(r, i, session_col) : "",
            .a = window ? pg_col_bin_i64(r, i, start_col) : ev[i].seq,
            .b = window ? ev[i].ts_ms : 0,
            .c = window ? ev[i].seq : 0,
            .row = i,
        };
    }
    sort_row_keys(k, n);
    for (int j = 0; j < n && rc == 0; j++) {
        int i = k[j].row;
        struct store_raw_event e = {
            .raw = "",
            .server_verdict = text_or_empty(r, i, SER_SERVER_VERDICT),
            .received_at_ms = pg_col_bin_i64(r, i, SER_RECEIVED_AT),
            .row = &ev[i],
        };
        rc = fn(&e, ctx);
    }
out:
    b->busy = false;
    pg_read_buf_free(own);
    return rc;
}

int pg_class_events(store *st, const char *class_id, const char *institution,
                    int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, class_id);
    pgp_text(&p, institution);
    /* by (device, seq): packed first, and read again with the keys when a row wants its line */
#define CLASS_FROM                                                                                 \
    " FROM events e JOIN devices d ON d.id = e.device WHERE e.class = $1 AND d.institution = $2"
    bool all = false;
    int rc = pg_run(pg_of(st), "SELECT e.server_verdict, e.received_at, e.pack" CLASS_FROM, &p,
                    true, &r, err, "reading a class's events");
    if (rc == RC_OK)
        rc = packed_events(pg_of(st), r, -1, -1, &all, fn, ctx, err);
    PQclear(r);
    if (rc != RC_OK || all)
        return rc;
    rc = pg_run(pg_of(st), "SELECT " STORE_EVENT_READ_COLUMNS("e.") CLASS_FROM, &p, true, &r, err,
                "reading a class's events");
#undef CLASS_FROM
    return rc != RC_OK ? rc : sorted_events(st, r, SER_SEQ, -1, -1, -1, fn, ctx, err);
}

int pg_device_events(store *st, const char *device, int64_t from, int64_t to,
                     int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, device);
    pgp_i64(&p, from);
    pgp_i64(&p, to);
    int rc = pg_run(pg_of(st),
                    "SELECT " STORE_EVENT_READ_COLUMNS(
                        "") " FROM events WHERE device = $1 "
                            "AND ts >= $2 AND ts < $3 AND class IS NULL ORDER BY ts, seq",
                    &p, true, &r, err, "reading a device's events");
    return rc != RC_OK ? rc : raw_events(st, r, NULL, fn, ctx, err);
}

int pg_class_device_events(store *st, const char *class_id, const char *institution,
                           int64_t early_ms, int64_t grace_ms,
                           int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, class_id);
    pgp_text(&p, institution);
    pgp_i64(&p, early_ms);
    pgp_i64(&p, grace_ms);
    /* The devices of pg_class_devices x the offline sessions in the order of the class's plan;
     * events_device_read (partial: class IS NULL) finds each window and holds every column
     * read. Ordered here by (device, session start, session id, ts, seq): packed first (the
     * device, ts and seq from the pack), and read again with the keys when a row wants its
     * line. */
#define WINDOWS_FROM                                                                               \
    " FROM devices d JOIN sessions s ON s.class = $1 AND s.mode = 'offline' "                      \
    "CROSS JOIN LATERAL (SELECT "
#define WINDOWS_WHERE                                                                              \
    " FROM events e WHERE e.device = d.id AND e.ts >= s.start_at - $3 "                            \
    "AND e.ts < s.end_at + $4 AND e.class IS NULL) w WHERE d.institution = $2 AND (d.fence IN "    \
    "(SELECT fence FROM sessions WHERE class = $1 AND mode = 'offline') OR d.id IN "               \
    "(SELECT DISTINCT device FROM events WHERE class = $1))"
    enum { PACKED_START = SER_PACK + 1, PACKED_SESSION };
    bool all = false;
    int rc = pg_run(pg_of(st),
                    "SELECT w.server_verdict, w.received_at, w.pack, s.start_at, s.id" WINDOWS_FROM
                    "e.server_verdict, e.received_at, e.pack" WINDOWS_WHERE,
                    &p, true, &r, err, "reading a class's devices' events");
    if (rc == RC_OK)
        rc = packed_events(pg_of(st), r, PACKED_START, PACKED_SESSION, &all, fn, ctx, err);
    PQclear(r);
    if (rc != RC_OK || all)
        return rc;
    enum { COL_START = SER_SEQ + 1, COL_SESSION, COL_TS };
    rc = pg_run(pg_of(st),
                "SELECT " STORE_EVENT_READ_COLUMNS("w.") ", s.start_at, s.id, w.ts" WINDOWS_FROM
                    STORE_EVENT_READ_COLUMNS("e.") ", e.ts" WINDOWS_WHERE,
                &p, true, &r, err, "reading a class's devices' events");
#undef WINDOWS_FROM
#undef WINDOWS_WHERE
    return rc != RC_OK
               ? rc
               : sorted_events(st, r, COL_START, COL_SESSION, COL_TS, SER_SEQ, fn, ctx, err);
}

int pg_events_uncolumned(store *st, int64_t after_id, size_t limit,
                         int (*fn)(const struct store_event_line *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_i64(&p, after_id);
    pgp_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int rc = pg_run(pg_of(st),
                    "SELECT id, raw FROM events WHERE (cols IS NULL OR pack IS NULL) AND id > $1 "
                    "ORDER BY id "
                    "LIMIT $2",
                    &p, true, &r, err, "reading events without their columns");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_event_line e = {
            .id = pg_col_bin_i64(r, i, 0),
            .raw = PQgetvalue(r, i, 1),
            .raw_len = (size_t)PQgetlength(r, i, 1),
        };
        if ((rc = fn(&e, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

/* The parameters of one row of pg_event_columns_fill, in FILL_VALUES' order; its pack in pack. */
static void fill_params(struct pg_params *p, int64_t id, const struct store_event *r,
                        unsigned char pack[STORE_PACK_MAX])
{
    p->n = 0;
    pgp_i64(p, id);
    pgp_opt(p, r->trainee_masked);
    pgp_opt(p, r->session);
    pgp_opt(p, r->fence);
    pgp_opt(p, r->verdict);
    if (r->has_distance)
        pgp_dbl(p, r->distance_m);
    else
        pgp_null(p);
    pgp_opt(p, r->boot);
    pgp_i64(p, r->mono_ms);
    pgp_event_fix(p, r);
    pgp_event_late(p, r);
    pgp_event_pack(p, r, pack);
}

/* Each row's values and their types, in fill_params' order. */
static const char *const fill_types[] = {"bigint", "text",   "text",   "text",   "text",   "float8",
                                         "text",   "bigint", "float8", "float8", "float8", "bigint",
                                         "bigint", "text",   "text",   "text",   "bigint", "bigint",
                                         "text",   "text",   "bigint", "bigint", "bytea"};
enum { FILL_PARAMS = (int)(sizeof fill_types / sizeof fill_types[0]) };
_Static_assert((int)FILL_PARAMS <= (int)PG_PARAMS_MAX, "a row's parameters");

/* "UPDATE events ... FROM (VALUES ($1::bigint, ...), ...) ..." for 1 to PG_ROWS_MAX rows, made
 * once; each text stays at its address, which keys the connection's prepared statement. */
static char *fill_sql[PG_ROWS_MAX + 1];
static pthread_once_t fill_sql_once = PTHREAD_ONCE_INIT;

static void fill_sql_make(void)
{
    static const char head[] =
        "UPDATE events e SET trainee_masked = v.tm, session = v.ses, fence = v.fence, "
        "verdict = v.verdict, distance_m = v.dist, boot = v.boot, mono_ms = v.mono, "
        "fix_lat = v.lat, fix_lon = v.lon, fix_eph = v.eph, fix_mode = v.mode, "
        "fix_time = v.ftime, fix_source = v.fsrc, camera = v.camera, file = v.file, "
        "start_ts = v.st, end_ts = v.en, kind = v.kind, rollcall = v.rollcall, "
        "skew_ms = v.skew, fix_sats = v.sats, cols = 1, pack = v.pack FROM (VALUES ";
    static const char tail[] =
        ") AS v(id, tm, ses, fence, verdict, dist, boot, mono, lat, lon, eph, mode, ftime, fsrc, "
        "camera, file, st, en, kind, rollcall, skew, sats, pack) WHERE e.id = v.id "
        "AND (e.cols IS NULL OR e.pack IS NULL)";
    for (int k = 1; k <= PG_ROWS_MAX; k++) {
        size_t cap = sizeof head + sizeof tail + (size_t)k * FILL_PARAMS * 16 + 1;
        char *q = malloc(cap);
        if (!q)
            return; /* pg_event_columns_fill answers RC_NOMEM */
        size_t at = (size_t)snprintf(q, cap, "%s", head);
        for (int r = 0; r < k; r++)
            for (int c = 0; c < FILL_PARAMS; c++)
                at += (size_t)snprintf(q + at, cap - at, "%s$%d::%s%s",
                                       c == 0 ? (r ? ", (" : "(") : "", r * FILL_PARAMS + c + 1,
                                       fill_types[c], c == FILL_PARAMS - 1 ? ")" : ", ");
        snprintf(q + at, cap - at, "%s", tail);
        fill_sql[k] = q;
    }
}

int pg_event_columns_fill(store *st, const int64_t *ids, const struct store_event *rows, size_t n,
                          int64_t *changed, char *err)
{
    struct store_pg *s = pg_of(st);
    pthread_once(&fill_sql_once, fill_sql_make);
    if (pg_rows_ready(s, err) != RC_OK)
        return RC_NOMEM;
    for (size_t at = 0; at < n;) {
        size_t k = n - at < PG_ROWS_MAX ? n - at : PG_ROWS_MAX;
        if (!fill_sql[k])
            return rc_fail(err, RC_NOMEM, "out of memory");
        for (size_t i = 0; i < k; i++)
            fill_params(&s->rows[i], ids[at + i], &rows[at + i], s->packs[i]);
        int64_t done = 0;
        int rc = pg_exec_rows(s, fill_sql[k], s->rows, k, &done, err, "filling events' columns");
        if (rc != RC_OK)
            return rc;
        *changed += done;
        at += k;
    }
    return RC_OK;
}

int pg_class_devices(store *st, const char *class_id, const char *institution,
                     int (*fn)(const char *, const char *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, class_id);
    pgp_text(&p, institution);
    int rc = pg_run(pg_of(st),
                    "SELECT d.id, coalesce(d.fence, '') FROM devices d WHERE d.institution = $2 "
                    "AND (d.fence IN (SELECT fence FROM sessions WHERE class = $1 "
                    "AND mode = 'offline') OR d.id IN (SELECT DISTINCT device FROM events "
                    "WHERE class = $1)) ORDER BY d.id",
                    &p, false, &r, err, "reading a class's devices");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        char id[STORE_ID_MAX + 1], fence[STORE_ID_MAX + 1];
        if ((rc = pg_col_text(r, i, 0, id, sizeof id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 1, fence, sizeof fence, err)) != RC_OK ||
            (rc = fn(id, fence, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_device_conflicts(store *st, const char *device,
                        int (*fn)(const char *, int64_t, const char *, void *), void *ctx,
                        char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, device);
    int rc = pg_run(pg_of(st),
                    "SELECT f.seq, coalesce(e.event_id, '') FROM findings f LEFT JOIN events e "
                    "ON e.device = f.device AND e.seq = f.seq WHERE f.device = $1 "
                    "AND f.kind = 'chain_conflict' AND f.seq IS NOT NULL ORDER BY f.seq, f.id",
                    &p, false, &r, err, "reading a device's conflicts");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        char id[STORE_UUID_LEN + 1];
        if ((rc = pg_col_text(r, i, 1, id, sizeof id, err)) != RC_OK ||
            (rc = fn(device, pg_col_i64(r, i, 0), id, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_event_find(store *st, const char *event_id, struct store_event_ref *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    pgp_text(&p, event_id);
    int rc = pg_run(pg_of(st),
                    "SELECT e.device, e.seq, e.event_id, e.type, coalesce(e.class, ''), "
                    "d.institution, coalesce(i.district, ''), coalesce(e.server_verdict, '') "
                    "FROM events e JOIN devices d ON d.id = e.device "
                    "LEFT JOIN institutions i ON i.id = d.institution "
                    "WHERE e.event_id = $1 LIMIT 2",
                    &p, false, &r, err, "finding an event");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = rc_fail(err, RC_NOTFOUND, "no event '%s'", event_id);
    else if (PQntuples(r) > 1)
        rc = rc_fail(err, RC_CONFLICT, "two devices sent event id '%s'", event_id);
    else if ((rc = pg_col_text(r, 0, 0, out->device, sizeof out->device, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 2, out->event_id, sizeof out->event_id, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 3, out->type, sizeof out->type, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 4, out->class_id, sizeof out->class_id, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 5, out->institution, sizeof out->institution, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 6, out->district, sizeof out->district, err)) == RC_OK &&
             (rc = pg_col_text(r, 0, 7, out->server_verdict, sizeof out->server_verdict, err)) ==
                 RC_OK)
        out->seq = pg_col_i64(r, 0, 1);
    PQclear(r);
    return rc;
}

int pg_review_insert(store *st, struct store_review *rv, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, rv->device);
    pgp_i64(&p, rv->seq);
    pgp_text(&p, rv->event_id);
    pgp_opt(&p, rv->class_id);
    pgp_text(&p, rv->approved ? "approve" : "reject");
    pgp_text(&p, rv->reason);
    pgp_text(&p, rv->reviewer);
    pgp_i64(&p, rv->reviewed_at_ms);
    int rc = pg_run(pg_of(st),
                    "INSERT INTO reviews(device, seq, event_id, class, decision, reason, "
                    "reviewer, reviewed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    &p, false, &r, err, "storing a review");
    if (rc == RC_OK)
        rv->id = pg_col_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

int pg_review_list(store *st, const char *class_id, int (*fn)(const struct store_review *, void *),
                   void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, class_id);
    int rc = pg_run(pg_of(st),
                    "SELECT r.id, r.device, r.seq, r.event_id, coalesce(r.class, ''), "
                    "r.decision, r.reason, r.reviewer, r.reviewed_at FROM reviews r "
                    "WHERE r.class = $1 AND r.id = (SELECT max(id) FROM reviews l "
                    "WHERE l.device = r.device AND l.seq = r.seq) ORDER BY r.device, r.seq",
                    &p, false, &r, err, "reading reviews");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_review v;
        char decision[16];
        memset(&v, 0, sizeof v);
        if ((rc = pg_col_text(r, i, 1, v.device, sizeof v.device, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 3, v.event_id, sizeof v.event_id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 4, v.class_id, sizeof v.class_id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 5, decision, sizeof decision, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 6, v.reason, sizeof v.reason, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 7, v.reviewer, sizeof v.reviewer, err)) != RC_OK)
            break;
        v.id = pg_col_i64(r, i, 0);
        v.seq = pg_col_i64(r, i, 2);
        v.approved = strcmp(decision, "approve") == 0;
        v.reviewed_at_ms = pg_col_i64(r, i, 8);
        if ((rc = fn(&v, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

#define FIGURES_COLUMNS                                                                            \
    "valid_until, minutes_per_hour, scheduled_ms, planned_ms, online_planned_ms, "                 \
    "offline_held_ms, recorded_ms, roster_scheduled_ms, roster_attended_ms, roster_online_ms, "    \
    "enrolled, assessed, passed, findings_info, findings_warning, findings_serious, "              \
    "findings_pending"
enum { FIGURES_NCOL = 17 };

static void figures_values(struct store_figures *f, int64_t *v[FIGURES_NCOL])
{
    int64_t *p[FIGURES_NCOL] = {&f->valid_until_ms,
                                &f->minutes_per_hour,
                                &f->scheduled_ms,
                                &f->planned_ms,
                                &f->online_planned_ms,
                                &f->offline_held_ms,
                                &f->recorded_ms,
                                &f->roster_scheduled_ms,
                                &f->roster_attended_ms,
                                &f->roster_online_ms,
                                &f->enrolled,
                                &f->assessed,
                                &f->passed,
                                &f->findings[0],
                                &f->findings[1],
                                &f->findings[2],
                                &f->findings_pending};
    memcpy(v, p, sizeof p);
}

int pg_figures_get(store *st, const char *class_id, const char *policy, int64_t gen, int64_t now,
                   struct store_figures *out, bool *found, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    *found = false;
    memset(out, 0, sizeof *out);
    pgp_text(&p, class_id);
    pgp_text(&p, policy);
    pgp_i64(&p, gen);
    pgp_i64(&p, now);
    int rc = pg_run(pg_of(st),
                    "SELECT " FIGURES_COLUMNS " FROM class_figures WHERE class = $1 AND "
                    "policy = $2 AND gen = $3 AND valid_until > $4",
                    &p, false, &r, err, "reading cached figures");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 1) {
        int64_t *v[FIGURES_NCOL];
        figures_values(out, v);
        for (int i = 0; i < FIGURES_NCOL; i++)
            *v[i] = pg_col_i64(r, 0, i);
        *found = true;
    }
    PQclear(r);
    return rc;
}

/* Appends ids[0..n) as a PostgreSQL array literal of quoted text elements. */
static int text_array(struct dynbuf *b, const char *const *ids, size_t n)
{
    int rc = dynbuf_add(b, "{", 1);
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        rc = dynbuf_adds(b, i ? ",\"" : "\"");
        for (const char *c = ids[i]; *c && rc == RC_OK; c++)
            rc = (*c == '"' || *c == '\\') ? dynbuf_addf(b, "\\%c", *c) : dynbuf_add(b, c, 1);
        if (rc == RC_OK)
            rc = dynbuf_add(b, "\"", 1);
    }
    return rc == RC_OK ? dynbuf_add(b, "}", 2) : rc; /* with its NUL */
}

static int int_array(struct dynbuf *b, const int64_t *v, size_t n)
{
    int rc = dynbuf_add(b, "{", 1);
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        rc = dynbuf_addf(b, "%s%lld", i ? "," : "", (long long)v[i]);
    return rc == RC_OK ? dynbuf_add(b, "}", 2) : rc;
}

int pg_figures_get_many(store *st, const char *const *ids, const int64_t *gens, size_t n,
                        const char *policy, int64_t now, struct store_figures *out, bool *found,
                        char *err)
{
    int rc = RC_OK;
    for (size_t at = 0; at < n && rc == RC_OK; at += STORE_FIGURES_BATCH) {
        size_t k = n - at < STORE_FIGURES_BATCH ? n - at : STORE_FIGURES_BATCH;
        struct dynbuf a, g;
        dynbuf_init(&a, (size_t)k * (2 * STORE_ID_MAX + 3) + 3);
        dynbuf_init(&g, (size_t)k * 21 + 3);
        if (text_array(&a, ids + at, k) != RC_OK || int_array(&g, gens + at, k) != RC_OK) {
            dynbuf_free(&a);
            dynbuf_free(&g);
            return rc_fail(err, RC_NOMEM, "out of memory");
        }
        struct pg_params p = {0};
        PGresult *r = NULL;
        pgp_text(&p, dynbuf_ptr(&a));
        pgp_text(&p, dynbuf_ptr(&g));
        pgp_text(&p, policy);
        pgp_i64(&p, now);
        /* w.i is the class's position (1-based) in this chunk. */
        rc = pg_run(pg_of(st),
                    "SELECT w.i, " FIGURES_COLUMNS " FROM unnest($1::text[], $2::bigint[]) "
                    "WITH ORDINALITY AS w(class, gen, i) JOIN class_figures f "
                    "ON f.class = w.class AND f.gen = w.gen "
                    "WHERE f.policy = $3 AND f.valid_until > $4",
                    &p, false, &r, err, "reading cached figures");
        dynbuf_free(&a);
        dynbuf_free(&g);
        if (rc != RC_OK)
            return rc;
        for (int row = 0; row < PQntuples(r); row++) {
            int64_t i = pg_col_i64(r, row, 0);
            if (i < 1 || (size_t)i > k)
                continue;
            int64_t *v[FIGURES_NCOL];
            figures_values(&out[at + (size_t)i - 1], v);
            for (int c = 0; c < FIGURES_NCOL; c++)
                *v[c] = pg_col_i64(r, row, c + 1);
            found[at + (size_t)i - 1] = true;
        }
        PQclear(r);
    }
    return rc;
}

int pg_figures_put(store *st, const char *class_id, const char *policy, int64_t gen,
                   const struct store_figures *f, int64_t now, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, class_id);
    pgp_text(&p, policy);
    pgp_i64(&p, gen);
    pgp_i64(&p, now);
    struct store_figures copy = *f;
    int64_t *v[FIGURES_NCOL];
    figures_values(&copy, v);
    for (int i = 0; i < FIGURES_NCOL; i++)
        pgp_i64(&p, *v[i]);
    /* The WHERE stores nothing when the class has moved past gen since it was read. */
    return pg_exec(pg_of(st),
                   "INSERT INTO class_figures(class, policy, gen, computed_at, " FIGURES_COLUMNS
                   ") SELECT $1, $2, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, "
                   "$8::bigint, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint, "
                   "$14::bigint, $15::bigint, $16::bigint, $17::bigint, $18::bigint, $19::bigint, "
                   "$20::bigint, $21::bigint FROM classes WHERE id = $1 AND gen = $3::bigint "
                   "ON CONFLICT (class, policy) DO UPDATE SET gen = excluded.gen, "
                   "computed_at = excluded.computed_at, valid_until = excluded.valid_until, "
                   "minutes_per_hour = excluded.minutes_per_hour, "
                   "scheduled_ms = excluded.scheduled_ms, planned_ms = excluded.planned_ms, "
                   "online_planned_ms = excluded.online_planned_ms, "
                   "offline_held_ms = excluded.offline_held_ms, "
                   "recorded_ms = excluded.recorded_ms, "
                   "roster_scheduled_ms = excluded.roster_scheduled_ms, "
                   "roster_attended_ms = excluded.roster_attended_ms, "
                   "roster_online_ms = excluded.roster_online_ms, enrolled = excluded.enrolled, "
                   "assessed = excluded.assessed, passed = excluded.passed, "
                   "findings_info = excluded.findings_info, "
                   "findings_warning = excluded.findings_warning, "
                   "findings_serious = excluded.findings_serious, "
                   "findings_pending = excluded.findings_pending",
                   &p, NULL, err, "caching figures");
}

int pg_class_bump(store *st, const char *class_id, char *err)
{
    struct pg_params p = {0};
    pgp_text(&p, class_id);
    return pg_exec(pg_of(st), "UPDATE classes SET gen = gen + 1 WHERE id = $1", &p, NULL, err,
                   "bumping a class's generation");
}

int pg_figures_clear(store *st, char *err)
{
    return pg_exec(pg_of(st), "DELETE FROM class_figures", NULL, NULL, err,
                   "clearing the figures cache");
}

int pg_finding_list(store *st, const struct store_finding_filter *f, size_t limit,
                    int (*fn)(const struct store_finding_row *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_opt(&p, f ? f->institution : NULL);
    pgp_opt(&p, f ? f->district : NULL);
    pgp_opt(&p, f ? f->class_id : NULL);
    pgp_i64(&p, f ? f->since_ms : 0);
    pgp_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int rc = pg_run(pg_of(st),
                    "SELECT f.id, f.kind, f.severity, coalesce(f.device, ''), coalesce(f.seq, 0), "
                    "coalesce(f.institution, ''), coalesce(f.class, ''), f.detail, f.created_at, "
                    "coalesce(f.detail_code, ''), coalesce(f.detail_args, '') FROM findings f LEFT "
                    "JOIN institutions i ON i.id = f.institution "
                    "WHERE ($1::text IS NULL OR f.institution = $1) AND ($2::text IS NULL OR "
                    "i.district = $2) AND ($3::text IS NULL OR f.class = $3) AND "
                    "f.created_at >= $4 AND NOT EXISTS (SELECT 1 FROM engine_alerts k "
                    "WHERE k.finding = f.id) ORDER BY f.id DESC LIMIT $5",
                    &p, false, &r, err, "listing findings");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_finding_row w;
        memset(&w, 0, sizeof w);
        if ((rc = pg_col_text(r, i, 1, w.kind, sizeof w.kind, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 2, w.severity, sizeof w.severity, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 3, w.device, sizeof w.device, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 5, w.institution, sizeof w.institution, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 6, w.class_id, sizeof w.class_id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 7, w.detail, sizeof w.detail, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 9, w.detail_code, sizeof w.detail_code, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 10, w.detail_args, sizeof w.detail_args, err)) != RC_OK)
            break;
        w.id = pg_col_i64(r, i, 0);
        w.seq = pg_col_i64(r, i, 4);
        w.created_at_ms = pg_col_i64(r, i, 8);
        if ((rc = fn(&w, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_subsidy_history(store *st, const char *institution, const char *trainee,
                       const char *except_class,
                       int (*fn)(const struct store_subsidy_past_row *, void *), void *ctx,
                       char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, trainee);
    pgp_text(&p, institution);
    pgp_text(&p, except_class ? except_class : "");
    int rc = pg_run(pg_of(st),
                    "SELECT c.id, c.occupation, c.level, a.assessed_on FROM assessments a "
                    "JOIN classes c ON c.id = a.class WHERE a.passed = 1 AND c.id <> $3 AND "
                    "((a.trainee = $1 AND c.institution = $2) OR EXISTS (SELECT 1 FROM roster r "
                    "WHERE r.class = a.class AND r.trainee = a.trainee AND r.city = (SELECT "
                    "r2.city FROM roster r2 WHERE r2.class = $3 AND r2.trainee = $1))) ORDER BY "
                    "a.assessed_on, c.id",
                    &p, false, &r, err, "reading the subsidy history");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct store_subsidy_past_row s;
        memset(&s, 0, sizeof s);
        if ((rc = pg_col_text(r, i, 0, s.class_id, sizeof s.class_id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 1, s.occupation, sizeof s.occupation, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 2, s.level, sizeof s.level, err)) != RC_OK)
            break;
        s.assessed_on_ms = pg_col_i64(r, i, 3);
        if ((rc = fn(&s, ctx)) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

int pg_events_scan(store *st, int64_t *count, int64_t *sum, char *err)
{
    PGresult *r = NULL;
    int rc = pg_run(pg_of(st), "SELECT count(*), coalesce(sum(ts), 0)::bigint FROM events", NULL,
                    false, &r, err, "scanning events");
    if (rc == RC_OK) {
        *count = pg_col_i64(r, 0, 0);
        *sum = pg_col_i64(r, 0, 1);
    }
    PQclear(r);
    return rc;
}
