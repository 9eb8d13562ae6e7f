/* The SQLite back-end (store_sqlite.c): institutions, classes and plans, online records, assessments, reviews, the figures cache, finding lists, subsidy history. */
#include "store/store_sqlite_int.h"

#include "rc.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite_begin_read(store *st, char *err)
{
    return exec(sq(st)->db, "BEGIN DEFERRED", err, "begin");
}

int sqlite_institution_district(store *st, const char *id, char *district, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    district[0] = '\0';
    int rc = prepare(db, "SELECT coalesce(district, '') FROM institutions WHERE id = ?1", &q, err,
                     "reading an institution");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = column_text(q, 0, district, STORE_DISTRICT_LEN + 1, err);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", id);
    else
        rc = db_fail(db, err, "reading an institution");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_institution_register(store *st, const char *id, const char *district, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char have[STORE_DISTRICT_LEN + 1];
    int rc = sqlite_institution_district(st, id, have, err);
    if (rc != RC_OK)
        return rc;
    if (have[0])
        return strcmp(have, district) == 0
                   ? RC_OK
                   : rc_fail(err, RC_CONFLICT, "institution '%s' is registered in district %s", id,
                             have);
    rc = prepare(db,
                 "UPDATE institutions SET district = ?2 "
                 "WHERE id = ?1 AND district IS NULL",
                 &q, err, "registering an institution");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, district, -1, SQLITE_STATIC);
    return step_done(db, q, err, "registering an institution");
}

int sqlite_class_put(store *st, const struct store_plan_rows *p, const char *plan_json,
                     const char *by, int64_t now, bool *created, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char owner[STORE_ID_MAX + 1] = "";
    int rc =
        prepare(db, "SELECT institution FROM classes WHERE id = ?1", &q, err, "reading a class");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = column_text(q, 0, owner, sizeof owner, err);
    else if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading a class");
    sqlite3_finalize(q);
    q = NULL;
    if (rc != RC_OK)
        return rc;
    if (owner[0] && strcmp(owner, p->institution) != 0)
        return rc_fail(err, RC_CONFLICT, "class '%s' belongs to another institution", p->id);
    *created = owner[0] == '\0';
    if (!p->level[0] || p->n_sessions == 0)
        return rc_fail(err, RC_INVAL, "class '%s' has no level or no sessions", p->id);
    rc = prepare(db,
                 "INSERT INTO classes(id, institution, district, occupation, level, applied_on, "
                 "start_at, end_at, plan_json, created_at, updated_at, updated_by, rollcalls, "
                 "rollcall_window_min) VALUES "
                 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13) "
                 "ON CONFLICT(id) DO UPDATE "
                 "SET district = excluded.district, occupation = excluded.occupation, "
                 "level = excluded.level, applied_on = excluded.applied_on, "
                 "start_at = excluded.start_at, end_at = excluded.end_at, "
                 "rollcalls = excluded.rollcalls, "
                 "rollcall_window_min = excluded.rollcall_window_min, "
                 "plan_json = excluded.plan_json, updated_at = excluded.updated_at, "
                 "updated_by = excluded.updated_by, gen = classes.gen + 1",
                 &q, err, "storing a class");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, p->institution, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, p->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, p->occupation, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, p->level, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, p->applied_on_ms);
    sqlite3_bind_int64(q, 7, p->sessions[0].start_ms);
    sqlite3_bind_int64(q, 8, p->sessions[p->n_sessions - 1].end_ms);
    sqlite3_bind_text(q, 9, plan_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 10, now);
    sqlite3_bind_text(q, 11, by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 12, p->rollcalls);
    sqlite3_bind_int64(q, 13, p->rollcall_window_min);
    rc = step_done(db, q, err, "storing a class");
    if (rc == RC_CONFLICT)
        rc = rc_fail(err, RC_NOTFOUND, "institution '%s' does not exist", p->institution);
    if (rc != RC_OK)
        return rc;
    q = NULL;
    if ((rc = prepare(db, "DELETE FROM sessions WHERE class = ?1", &q, err,
                      "replacing sessions")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
    if ((rc = step_done(db, q, err, "replacing sessions")) != RC_OK)
        return rc;
    if ((rc = prepare(db, "DELETE FROM roster WHERE class = ?1", &q, err,
                      "replacing the roster")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
    if ((rc = step_done(db, q, err, "replacing the roster")) != RC_OK)
        return rc;
    if ((rc = prepare(db,
                      "INSERT INTO sessions(class, id, start_at, end_at, mode, fence) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      &q, err, "storing sessions")) != RC_OK)
        return rc;
    for (size_t i = 0; i < p->n_sessions && rc == RC_OK; i++) {
        const struct store_session_row *s = &p->sessions[i];
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, s->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, s->start_ms);
        sqlite3_bind_int64(q, 4, s->end_ms);
        sqlite3_bind_text(q, 5, s->mode, -1, SQLITE_STATIC);
        bind_text_or_null(q, 6, s->fence);
        if (sqlite3_step(q) != SQLITE_DONE)
            rc = db_fail(db, err, "storing sessions");
    }
    sqlite3_finalize(q);
    q = NULL;
    if (rc != RC_OK)
        return rc;
    if ((rc = prepare(db,
                      "INSERT INTO roster(class, trainee, masked, name, student, position, "
                      "city) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      &q, err, "storing the roster")) != RC_OK)
        return rc;
    for (size_t i = 0; i < p->n_roster && rc == RC_OK; i++) {
        const struct store_roster_row *t = &p->roster[i];
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, p->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, t->trainee, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, t->masked, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 5, t->student ? 1 : 0);
        sqlite3_bind_int64(q, 6, (sqlite3_int64)i);
        bind_text_or_null(q, 7, t->city[0] ? t->city : NULL);
        if (sqlite3_step(q) != SQLITE_DONE)
            rc = db_fail(db, err, "storing the roster");
    }
    sqlite3_finalize(q);
    return rc;
}

static const char CLASS_COLUMNS[] =
    "c.id, c.institution, c.district, c.occupation, c.level, c.applied_on, c.start_at, c.end_at, "
    "(SELECT count(*) FROM sessions s WHERE s.class = c.id), "
    "(SELECT count(*) FROM roster r WHERE r.class = c.id), c.gen, c.updated_at";

static int class_row(sqlite3_stmt *q, struct store_class_row *c, char *err)
{
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = column_text(q, 0, c->id, sizeof c->id, err)) != RC_OK ||
        (rc = column_text(q, 1, c->institution, sizeof c->institution, err)) != RC_OK ||
        (rc = column_text(q, 2, c->district, sizeof c->district, err)) != RC_OK ||
        (rc = column_text(q, 3, c->occupation, sizeof c->occupation, err)) != RC_OK ||
        (rc = column_text(q, 4, c->level, sizeof c->level, err)) != RC_OK)
        return rc;
    c->applied_on_ms = sqlite3_column_int64(q, 5);
    c->start_ms = sqlite3_column_int64(q, 6);
    c->end_ms = sqlite3_column_int64(q, 7);
    c->n_sessions = sqlite3_column_int64(q, 8);
    c->n_roster = sqlite3_column_int64(q, 9);
    c->gen = sqlite3_column_int64(q, 10);
    c->updated_at_ms = sqlite3_column_int64(q, 11);
    return RC_OK;
}

int sqlite_class_get(store *st, const char *id, struct store_class_row *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM classes c WHERE c.id = ?1", CLASS_COLUMNS);
    int rc = prepare(db, sql, &q, err, "reading a class");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = class_row(q, out, err);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "no class '%s'", id);
    else
        rc = db_fail(db, err, "reading a class");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_class_plan(store *st, const char *id, struct store_plan_rows *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    struct store_class_row c;
    int rc = sqlite_class_get(st, id, &c, err);
    if (rc != RC_OK)
        return rc;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", c.id);
    snprintf(out->institution, sizeof out->institution, "%s", c.institution);
    snprintf(out->district, sizeof out->district, "%s", c.district);
    snprintf(out->occupation, sizeof out->occupation, "%s", c.occupation);
    snprintf(out->level, sizeof out->level, "%s", c.level);
    out->applied_on_ms = c.applied_on_ms;
    if ((rc = prepare(db, "SELECT rollcalls, rollcall_window_min FROM classes WHERE id = ?1", &q,
                      err, "reading a class")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        out->rollcalls = sqlite3_column_int64(q, 0);
        out->rollcall_window_min = sqlite3_column_int64(q, 1);
    } else {
        rc = db_fail(db, err, "reading a class");
    }
    sqlite3_finalize(q);
    q = NULL;
    if (rc != RC_OK)
        return rc;
    if ((rc = prepare(db,
                      "SELECT id, start_at, end_at, mode, coalesce(fence, '') FROM sessions "
                      "WHERE class = ?1 ORDER BY start_at, id",
                      &q, err, "reading sessions")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (out->n_sessions >= STORE_SESSIONS_MAX) {
            rc =
                rc_fail(err, RC_CORRUPT, "class '%s' has over %d sessions", id, STORE_SESSIONS_MAX);
            goto out;
        }
        struct store_session_row *s = &out->sessions[out->n_sessions++];
        if ((rc = column_text(q, 0, s->id, sizeof s->id, err)) != RC_OK ||
            (rc = column_text(q, 3, s->mode, sizeof s->mode, err)) != RC_OK ||
            (rc = column_text(q, 4, s->fence, sizeof s->fence, err)) != RC_OK)
            goto out;
        s->start_ms = sqlite3_column_int64(q, 1);
        s->end_ms = sqlite3_column_int64(q, 2);
    }
    if (step != SQLITE_DONE) {
        rc = db_fail(db, err, "reading sessions");
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;
    if ((rc = prepare(db,
                      "SELECT trainee, masked, name, student, coalesce(city, '') FROM roster "
                      "WHERE class = ?1 ORDER BY position",
                      &q, err, "reading the roster")) != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (out->n_roster >= STORE_ROSTER_MAX) {
            rc = rc_fail(err, RC_CORRUPT, "class '%s' has over %d trainees", id, STORE_ROSTER_MAX);
            goto out;
        }
        struct store_roster_row *t = &out->roster[out->n_roster++];
        if ((rc = column_text(q, 0, t->trainee, sizeof t->trainee, err)) != RC_OK ||
            (rc = column_text(q, 1, t->masked, sizeof t->masked, err)) != RC_OK ||
            (rc = column_text(q, 2, t->name, sizeof t->name, err)) != RC_OK ||
            (rc = column_text(q, 4, t->city, sizeof t->city, err)) != RC_OK)
            goto out;
        t->student = sqlite3_column_int(q, 3) != 0;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading the roster");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_class_list(store *st, const struct store_class_filter *f, size_t limit,
                      int (*fn)(const struct store_class_row *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM classes c WHERE (?1 IS NULL OR c.institution = ?1) "
             "AND (?2 IS NULL OR c.district = ?2) AND (?3 = 0 OR c.end_at > ?3) "
             "AND (?4 = 0 OR c.start_at < ?4) ORDER BY c.institution, c.start_at, c.id "
             "LIMIT ?5",
             CLASS_COLUMNS);
    int rc = prepare(db, sql, &q, err, "listing classes");
    if (rc != RC_OK)
        return rc;
    bind_text_or_null(q, 1, f ? f->institution : NULL);
    bind_text_or_null(q, 2, f ? f->district : NULL);
    sqlite3_bind_int64(q, 3, f ? f->from_ms : 0);
    sqlite3_bind_int64(q, 4, f ? f->to_ms : 0);
    sqlite3_bind_int64(q, 5, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_class_row c;
        if ((rc = class_row(q, &c, err)) != RC_OK || (rc = fn(&c, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing classes");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_online_insert(store *st, const struct store_online_row *r, const char *by, int64_t now,
                         bool *duplicate, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "INSERT INTO online_records(class, trainee, masked, start_at, end_at, "
                     "platform, recorded_at, recorded_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                     "ON CONFLICT(class, trainee, start_at, end_at, platform) DO NOTHING",
                     &q, err, "storing an online record");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, r->class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->trainee, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, r->masked, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, r->start_ms);
    sqlite3_bind_int64(q, 5, r->end_ms);
    sqlite3_bind_text(q, 6, r->platform, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, now);
    sqlite3_bind_text(q, 8, by, -1, SQLITE_STATIC);
    rc = step_done(db, q, err, "storing an online record");
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_NOTFOUND, "no class '%s'", r->class_id);
    if (rc == RC_OK)
        *duplicate = sqlite3_changes(db) == 0;
    return rc;
}

int sqlite_online_list(store *st, const char *class_id,
                       int (*fn)(const struct store_online_row *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT class, trainee, masked, start_at, end_at, platform FROM "
                     "online_records WHERE class = ?1 ORDER BY trainee, start_at, end_at, platform",
                     &q, err, "reading online records");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_online_row r;
        memset(&r, 0, sizeof r);
        if ((rc = column_text(q, 0, r.class_id, sizeof r.class_id, err)) != RC_OK ||
            (rc = column_text(q, 1, r.trainee, sizeof r.trainee, err)) != RC_OK ||
            (rc = column_text(q, 2, r.masked, sizeof r.masked, err)) != RC_OK ||
            (rc = column_text(q, 5, r.platform, sizeof r.platform, err)) != RC_OK)
            goto out;
        r.start_ms = sqlite3_column_int64(q, 3);
        r.end_ms = sqlite3_column_int64(q, 4);
        if ((rc = fn(&r, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading online records");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_assessment_put(store *st, const struct store_assessment_row *a, const char *by,
                          int64_t now, bool *changed, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    /* The WHERE keeps an identical re-upload from touching the row (and the history). */
    int rc = prepare(db,
                     "INSERT INTO assessments(class, trainee, masked, passed, assessed_on, "
                     "certificate, recorded_at, recorded_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                     "?8) ON CONFLICT(class, trainee) DO UPDATE SET masked = excluded.masked, "
                     "passed = excluded.passed, assessed_on = excluded.assessed_on, "
                     "certificate = excluded.certificate, recorded_at = excluded.recorded_at, "
                     "recorded_by = excluded.recorded_by WHERE passed IS NOT excluded.passed OR "
                     "assessed_on IS NOT excluded.assessed_on OR "
                     "certificate IS NOT excluded.certificate",
                     &q, err, "storing an assessment");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, a->class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, a->trainee, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, a->masked, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, a->passed ? 1 : 0);
    sqlite3_bind_int64(q, 5, a->assessed_on_ms);
    sqlite3_bind_text(q, 6, a->certificate, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, now);
    sqlite3_bind_text(q, 8, by, -1, SQLITE_STATIC);
    rc = step_done(db, q, err, "storing an assessment");
    if (rc == RC_OK)
        *changed = sqlite3_changes(db) > 0;
    if (rc == RC_CONFLICT && strstr(err, "UNIQUE"))
        return rc_fail(err, RC_CONFLICT,
                       "certificate %s is already recorded for another trainee or class "
                       "(certificate numbers are unique city-wide)",
                       a->certificate);
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_NOTFOUND, "no class '%s'", a->class_id);
    return rc;
}

int sqlite_assessment_list(store *st, const char *class_id,
                           int (*fn)(const struct store_assessment_row *, void *), void *ctx,
                           char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT class, trainee, masked, passed, assessed_on, certificate FROM "
                     "assessments WHERE class = ?1 ORDER BY trainee",
                     &q, err, "reading assessments");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_assessment_row a;
        memset(&a, 0, sizeof a);
        if ((rc = column_text(q, 0, a.class_id, sizeof a.class_id, err)) != RC_OK ||
            (rc = column_text(q, 1, a.trainee, sizeof a.trainee, err)) != RC_OK ||
            (rc = column_text(q, 2, a.masked, sizeof a.masked, err)) != RC_OK ||
            (rc = column_text(q, 5, a.certificate, sizeof a.certificate, err)) != RC_OK)
            goto out;
        a.passed = sqlite3_column_int(q, 3) != 0;
        a.assessed_on_ms = sqlite3_column_int64(q, 4);
        if ((rc = fn(&a, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading assessments");
out:
    sqlite3_finalize(q);
    return rc;
}

static const char *text_or_empty(sqlite3_stmt *q, int col)
{
    const char *t = (const char *)sqlite3_column_text(q, col);
    return t ? t : "";
}

/* The line of a row read without its columns, by (device, seq), into *raw and *len: valid
 * until line is stepped again. *line is prepared at the first such row: a statement of its
 * own, not sqlite_event_raw's cached one, which fn may use while *raw is still read. */
static int row_line(sqlite3 *db, sqlite3_stmt **line, sqlite3_stmt *q, const char **raw,
                    size_t *len, char *err)
{
    if (!*line && sqlite3_prepare_v2(db, "SELECT raw FROM events WHERE device = ?1 AND seq = ?2",
                                     -1, line, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading an event's line");
    sqlite3_reset(*line);
    if (sqlite3_bind_value(*line, 1, sqlite3_column_value(q, SER_DEVICE)) != SQLITE_OK ||
        sqlite3_bind_int64(*line, 2, sqlite3_column_int64(q, SER_SEQ)) != SQLITE_OK)
        return db_fail(db, err, "reading an event's line");
    int step = sqlite3_step(*line);
    if (step != SQLITE_ROW)
        return step == SQLITE_DONE ? rc_fail(err, RC_DB, "an event's line vanished while read")
                                   : db_fail(db, err, "reading an event's line");
    *raw = sqlite3_column_blob(*line, 0);
    *len = (size_t)sqlite3_column_bytes(*line, 0);
    if (!*raw)
        *raw = "";
    return RC_OK;
}

/* Steps q (STORE_EVENT_READ_COLUMNS) to its end and calls fn per row; *line as row_line's.
 * Finalizes neither. */
static int each_event(sqlite3 *db, sqlite3_stmt *q, sqlite3_stmt **line,
                      int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err,
                      const char *what)
{
    int rc = RC_OK;
    int step;
    struct store_event row;
    struct store_pack_text text;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_raw_event e = {
            .raw = "",
            .server_verdict = text_or_empty(q, SER_SERVER_VERDICT),
            .received_at_ms = sqlite3_column_int64(q, SER_RECEIVED_AT),
            .row = &row,
        };
        const void *pack = sqlite3_column_blob(q, SER_PACK);
        if (!pack ||
            store_event_unpack(pack, (size_t)sqlite3_column_bytes(q, SER_PACK), &row, &text)) {
            memset(&row, 0, sizeof row); /* no pack, or not one of ours: the line says it */
            if ((rc = row_line(db, line, q, &e.raw, &e.raw_len, err)) != RC_OK)
                return rc;
        }
        if ((rc = fn(&e, ctx)) != 0)
            return rc;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, what);
    return rc;
}

/* each_event, then finalizes q. */
static int raw_events(sqlite3 *db, sqlite3_stmt *q,
                      int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err,
                      const char *what)
{
    sqlite3_stmt *line = NULL;
    int rc = each_event(db, q, &line, fn, ctx, err, what);
    sqlite3_finalize(line);
    sqlite3_finalize(q);
    return rc;
}

int sqlite_class_events(store *st, const char *class_id, const char *institution,
                        int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    /* events_class_read holds the class's events in this order with every column read (a
     * covering index: the rows themselves are not read; INDEXED BY keeps the planner to it).
     * No window on ts: an event's device time says when the kiosk registered it, not whether
     * it belongs to the class (a recording exported a week later, a wrong kiosk clock). The
     * device join keeps other institutions' kiosks out. */
    int rc = prepare(
        db,
        "SELECT " STORE_EVENT_READ_COLUMNS("e.") " FROM events e INDEXED BY events_class_read "
                                                 "JOIN devices d ON d.id = e.device "
                                                 "WHERE e.class = ?1 AND d.institution = ?2 "
                                                 "ORDER BY e.device, e.seq",
        &q, err, "reading a class's events");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, institution, -1, SQLITE_STATIC);
    return raw_events(db, q, fn, ctx, err, "reading a class's events");
}

/* A kiosk's events naming no class in [?2, ?3): events_device_read holds them in this order
 * with every column read, so nothing is sorted and no row is read. */
#define DEVICE_WINDOW_SQL                                                                          \
    "SELECT " STORE_EVENT_READ_COLUMNS("") " FROM events INDEXED BY events_device_read "           \
                                           "WHERE device = ?1 AND ts >= ?2 AND ts < ?3 AND "       \
                                           "class IS NULL ORDER BY ts, seq"

int sqlite_device_events(store *st, const char *device, int64_t from, int64_t to,
                         int (*fn)(const struct store_raw_event *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db, DEVICE_WINDOW_SQL, &q, err, "reading a device's events");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, from);
    sqlite3_bind_int64(q, 3, to);
    return raw_events(db, q, fn, ctx, err, "reading a device's events");
}

/* The devices and offline sessions whose windows sqlite_class_device_events reads. */
struct class_windows {
    char (*dev)[STORE_ID_MAX + 1];
    size_t n_dev, cap_dev;
    int64_t (*win)[2]; /* start, end */
    size_t n_win, cap_win;
};

/* v (capacity *cap items of size bytes, n used) with room for one more: v itself, or v moved
 * to twice the room (*cap updated); NULL when out of memory (v unchanged). */
static void *room_for_one(void *v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return v;
    size_t want = *cap ? 2 * *cap : 16;
    void *p = realloc(v, want * size);
    if (p)
        *cap = want;
    return p;
}

static int add_window_device(const char *device, const char *fence, void *ctx)
{
    (void)fence;
    struct class_windows *w = ctx;
    void *dev = room_for_one(w->dev, &w->cap_dev, w->n_dev, sizeof *w->dev);
    if (!dev)
        return RC_NOMEM;
    w->dev = dev;
    snprintf(w->dev[w->n_dev++], sizeof w->dev[0], "%s", device);
    return 0;
}

/* The offline sessions of class_id by (start, id): the plan's order. */
static int class_windows_sessions(sqlite3 *db, const char *class_id, struct class_windows *w,
                                  char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT start_at, end_at FROM sessions WHERE class = ?1 "
                     "AND mode = 'offline' ORDER BY start_at, id",
                     &q, err, "reading a class's sessions");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        void *win = room_for_one(w->win, &w->cap_win, w->n_win, sizeof *w->win);
        if (!win) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        w->win = win;
        w->win[w->n_win][0] = sqlite3_column_int64(q, 0);
        w->win[w->n_win++][1] = sqlite3_column_int64(q, 1);
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading a class's sessions");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_class_device_events(store *st, const char *class_id, const char *institution,
                               int64_t early_ms, int64_t grace_ms,
                               int (*fn)(const struct store_raw_event *, void *), void *ctx,
                               char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL, *line = NULL;
    struct class_windows w = {0};
    /* The devices of sqlite_class_devices x the offline sessions in the plan's order, one
     * window at a time through one statement (events_device_read gives each window in order:
     * no sort, where one statement over all windows sorted every row), all in one read
     * transaction (the caller's, or one of its own). */
    bool own = sqlite3_get_autocommit(db) != 0;
    int rc = own ? sqlite_begin_read(st, err) : RC_OK;
    if (rc != RC_OK)
        return rc;
    if ((rc = sqlite_class_devices(st, class_id, institution, add_window_device, &w, err)) != 0) {
        if (rc == RC_NOMEM)
            rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (w.n_dev == 0 || (rc = class_windows_sessions(db, class_id, &w, err)) != RC_OK ||
        w.n_win == 0)
        goto out;
    if ((rc = prepare(db, DEVICE_WINDOW_SQL, &q, err, "reading a class's devices' events")) !=
        RC_OK)
        goto out;
    for (size_t d = 0; d < w.n_dev && rc == RC_OK; d++) {
        for (size_t i = 0; i < w.n_win && rc == RC_OK; i++) {
            sqlite3_reset(q);
            sqlite3_bind_text(q, 1, w.dev[d], -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 2, w.win[i][0] - early_ms);
            sqlite3_bind_int64(q, 3, w.win[i][1] + grace_ms);
            rc = each_event(db, q, &line, fn, ctx, err, "reading a class's devices' events");
        }
    }
out:
    sqlite3_finalize(line);
    sqlite3_finalize(q);
    if (own)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); /* reads only: nothing to keep */
    free(w.dev);
    free(w.win);
    return rc;
}

int sqlite_events_uncolumned(store *st, int64_t after_id, size_t limit,
                             int (*fn)(const struct store_event_line *, void *), void *ctx,
                             char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT id, raw FROM events WHERE (cols IS NULL OR pack IS NULL) AND id > ?1 "
                     "ORDER BY id "
                     "LIMIT ?2",
                     &q, err, "reading events without their columns");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_event_line e = {
            .id = sqlite3_column_int64(q, 0),
            .raw = sqlite3_column_blob(q, 1),
            .raw_len = (size_t)sqlite3_column_bytes(q, 1),
        };
        if (!e.raw)
            e.raw = "";
        if ((rc = fn(&e, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading events without their columns");
out:
    sqlite3_finalize(q);
    return rc;
}

static int fill_one(struct store_sqlite *s, int64_t id, const struct store_event *r,
                    int64_t *changed, char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = cached(s, STMT_EVENT_COLUMNS_FILL,
                    "UPDATE events SET trainee_masked = ?2, session = ?3, fence = ?4, "
                    "verdict = ?5, distance_m = ?6, boot = ?7, mono_ms = ?8, fix_lat = ?9, "
                    "fix_lon = ?10, fix_eph = ?11, fix_mode = ?12, fix_time = ?13, "
                    "fix_source = ?14, camera = ?15, file = ?16, start_ts = ?17, end_ts = ?18, "
                    "kind = ?19, rollcall = ?20, skew_ms = ?21, fix_sats = ?22, cols = 1, "
                    "pack = ?23 WHERE id = ?1 AND (cols IS NULL OR pack IS NULL)",
                    &q, err, "filling an event's columns");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_int64(q, 1, id);
    bind_text_or_null(q, 2, r->trainee_masked);
    bind_text_or_null(q, 3, r->session);
    bind_text_or_null(q, 4, r->fence);
    bind_text_or_null(q, 5, r->verdict);
    if (r->has_distance)
        sqlite3_bind_double(q, 6, r->distance_m);
    bind_text_or_null(q, 7, r->boot);
    sqlite3_bind_int64(q, 8, r->mono_ms);
    sqlite_bind_event_fix(q, 9, r);
    sqlite_bind_event_late(q, 15, r);
    unsigned char pack[STORE_PACK_MAX];
    sqlite_bind_event_pack(q, 23, r, pack);
    rc = step_cached(s->db, q, err, "filling an event's columns");
    if (rc == RC_OK)
        *changed += sqlite3_changes(s->db);
    return rc;
}

int sqlite_event_columns_fill(store *st, const int64_t *ids, const struct store_event *rows,
                              size_t n, int64_t *changed, char *err)
{
    int rc = RC_OK;
    for (size_t i = 0; rc == RC_OK && i < n; i++)
        rc = fill_one(sq(st), ids[i], &rows[i], changed, err);
    return rc;
}

int sqlite_class_devices(store *st, const char *class_id, const char *institution,
                         int (*fn)(const char *, const char *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT d.id, coalesce(d.fence, '') FROM devices d WHERE d.institution = ?2 "
                     "AND (d.fence IN (SELECT fence FROM sessions WHERE class = ?1 "
                     "AND mode = 'offline') OR d.id IN (SELECT DISTINCT device FROM events "
                     "WHERE class = ?1)) ORDER BY d.id",
                     &q, err, "reading a class's devices");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, institution, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        char id[STORE_ID_MAX + 1], fence[STORE_ID_MAX + 1];
        if ((rc = column_text(q, 0, id, sizeof id, err)) != RC_OK ||
            (rc = column_text(q, 1, fence, sizeof fence, err)) != RC_OK ||
            (rc = fn(id, fence, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading a class's devices");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_device_conflicts(store *st, const char *device,
                            int (*fn)(const char *, int64_t, const char *, void *), void *ctx,
                            char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT f.seq, coalesce(e.event_id, '') FROM findings f LEFT JOIN events e "
                     "ON e.device = f.device AND e.seq = f.seq WHERE f.device = ?1 "
                     "AND f.kind = 'chain_conflict' AND f.seq IS NOT NULL ORDER BY f.seq, f.id",
                     &q, err, "reading a device's conflicts");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, device, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        char id[STORE_UUID_LEN + 1];
        if ((rc = column_text(q, 1, id, sizeof id, err)) != RC_OK ||
            (rc = fn(device, sqlite3_column_int64(q, 0), id, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading a device's conflicts");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_event_find(store *st, const char *event_id, struct store_event_ref *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    memset(out, 0, sizeof *out);
    int rc = prepare(
        db,
        "SELECT e.device, e.seq, e.event_id, e.type, coalesce(e.class, ''), "
        "d.institution, coalesce(i.district, ''), coalesce(e.server_verdict, '') FROM events e "
        "JOIN devices d ON d.id = e.device "
        "LEFT JOIN institutions i ON i.id = d.institution "
        "WHERE e.event_id = ?1 LIMIT 2",
        &q, err, "finding an event");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, event_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no event '%s'", event_id);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "finding an event");
        goto out;
    }
    if ((rc = column_text(q, 0, out->device, sizeof out->device, err)) != RC_OK ||
        (rc = column_text(q, 2, out->event_id, sizeof out->event_id, err)) != RC_OK ||
        (rc = column_text(q, 3, out->type, sizeof out->type, err)) != RC_OK ||
        (rc = column_text(q, 4, out->class_id, sizeof out->class_id, err)) != RC_OK ||
        (rc = column_text(q, 5, out->institution, sizeof out->institution, err)) != RC_OK ||
        (rc = column_text(q, 6, out->district, sizeof out->district, err)) != RC_OK ||
        (rc = column_text(q, 7, out->server_verdict, sizeof out->server_verdict, err)) != RC_OK)
        goto out;
    out->seq = sqlite3_column_int64(q, 1);
    step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = rc_fail(err, RC_CONFLICT, "two devices sent event id '%s'", event_id);
    else if (step != SQLITE_DONE)
        rc = db_fail(db, err, "finding an event");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_review_insert(store *st, struct store_review *r, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "INSERT INTO reviews(device, seq, event_id, class, decision, reason, "
                     "reviewer, reviewed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                     &q, err, "storing a review");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, r->device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, r->seq);
    sqlite3_bind_text(q, 3, r->event_id, -1, SQLITE_STATIC);
    bind_text_or_null(q, 4, r->class_id);
    sqlite3_bind_text(q, 5, r->approved ? "approve" : "reject", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, r->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, r->reviewer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, r->reviewed_at_ms);
    rc = step_done(db, q, err, "storing a review");
    if (rc == RC_OK)
        r->id = sqlite3_last_insert_rowid(db);
    return rc;
}

int sqlite_review_list(store *st, const char *class_id,
                       int (*fn)(const struct store_review *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT r.id, r.device, r.seq, r.event_id, coalesce(r.class, ''), "
                     "r.decision, r.reason, r.reviewer, r.reviewed_at FROM reviews r "
                     "WHERE r.class = ?1 AND r.id = (SELECT max(id) FROM reviews l "
                     "WHERE l.device = r.device AND l.seq = r.seq) ORDER BY r.device, r.seq",
                     &q, err, "reading reviews");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_review r;
        char decision[16];
        memset(&r, 0, sizeof r);
        if ((rc = column_text(q, 1, r.device, sizeof r.device, err)) != RC_OK ||
            (rc = column_text(q, 3, r.event_id, sizeof r.event_id, err)) != RC_OK ||
            (rc = column_text(q, 4, r.class_id, sizeof r.class_id, err)) != RC_OK ||
            (rc = column_text(q, 5, decision, sizeof decision, err)) != RC_OK ||
            (rc = column_text(q, 6, r.reason, sizeof r.reason, err)) != RC_OK ||
            (rc = column_text(q, 7, r.reviewer, sizeof r.reviewer, err)) != RC_OK)
            goto out;
        r.id = sqlite3_column_int64(q, 0);
        r.seq = sqlite3_column_int64(q, 2);
        r.approved = strcmp(decision, "approve") == 0;
        r.reviewed_at_ms = sqlite3_column_int64(q, 8);
        if ((rc = fn(&r, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading reviews");
out:
    sqlite3_finalize(q);
    return rc;
}

/* The cached columns, in the order of figures_values. */
static const char FIGURES_COLUMNS[] =
    "valid_until, minutes_per_hour, scheduled_ms, planned_ms, online_planned_ms, offline_held_ms, "
    "recorded_ms, roster_scheduled_ms, roster_attended_ms, roster_online_ms, enrolled, assessed, "
    "passed, findings_info, findings_warning, findings_serious, findings_pending";
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

int sqlite_figures_get(store *st, const char *class_id, const char *policy, int64_t gen,
                       int64_t now, struct store_figures *out, bool *found, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char sql[1024];
    *found = false;
    memset(out, 0, sizeof *out);
    snprintf(sql, sizeof sql,
             "SELECT %s FROM class_figures WHERE class = ?1 AND policy = ?2 AND gen = ?3 "
             "AND valid_until > ?4",
             FIGURES_COLUMNS);
    int rc = prepare(db, sql, &q, err, "reading cached figures");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, policy, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, gen);
    sqlite3_bind_int64(q, 4, now);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        int64_t *v[FIGURES_NCOL];
        figures_values(out, v);
        for (int i = 0; i < FIGURES_NCOL; i++)
            *v[i] = sqlite3_column_int64(q, i);
        *found = true;
    } else if (step != SQLITE_DONE) {
        rc = db_fail(db, err, "reading cached figures");
    }
    sqlite3_finalize(q);
    return rc;
}

/* SQLite reads its own pages: one cached statement per class costs microseconds. */
int sqlite_figures_get_many(store *st, const char *const *ids, const int64_t *gens, size_t n,
                            const char *policy, int64_t now, struct store_figures *out, bool *found,
                            char *err)
{
    int rc = RC_OK;
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        rc = sqlite_figures_get(st, ids[i], policy, gens[i], now, &out[i], &found[i], err);
    return rc;
}

int sqlite_figures_put(store *st, const char *class_id, const char *policy, int64_t gen,
                       const struct store_figures *f, int64_t now, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    char sql[1024];
    /* The WHERE stores nothing when the class has moved past gen since it was read. */
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO class_figures(class, policy, gen, computed_at, %s) "
             "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
             "?18, ?19, ?20, ?21 FROM classes WHERE id = ?1 AND gen = ?3",
             FIGURES_COLUMNS);
    int rc = prepare(db, sql, &q, err, "caching figures");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, policy, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, gen);
    sqlite3_bind_int64(q, 4, now);
    struct store_figures copy = *f;
    int64_t *v[FIGURES_NCOL];
    figures_values(&copy, v);
    for (int i = 0; i < FIGURES_NCOL; i++)
        sqlite3_bind_int64(q, 5 + i, *v[i]);
    return step_done(db, q, err, "caching figures");
}

int sqlite_class_bump(store *st, const char *class_id, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db, "UPDATE classes SET gen = gen + 1 WHERE id = ?1", &q, err,
                     "bumping a class's generation");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, class_id, -1, SQLITE_STATIC);
    return step_done(db, q, err, "bumping a class's generation");
}

int sqlite_figures_clear(store *st, char *err)
{
    return exec(sq(st)->db, "DELETE FROM class_figures", err, "clearing the figures cache");
}

int sqlite_finding_list(store *st, const struct store_finding_filter *f, size_t limit,
                        int (*fn)(const struct store_finding_row *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT f.id, f.kind, f.severity, coalesce(f.device, ''), "
                     "coalesce(f.seq, 0), coalesce(f.institution, ''), coalesce(f.class, ''), "
                     "f.detail, f.created_at, coalesce(f.detail_code, ''), "
                     "coalesce(f.detail_args, '') FROM findings f "
                     "LEFT JOIN institutions i ON i.id = f.institution "
                     "WHERE (?1 IS NULL OR f.institution = ?1) AND (?2 IS NULL OR i.district = ?2) "
                     "AND (?3 IS NULL OR f.class = ?3) AND f.created_at >= ?4 "
                     "AND NOT EXISTS (SELECT 1 FROM engine_alerts k WHERE k.finding = f.id) "
                     "ORDER BY f.id DESC LIMIT ?5",
                     &q, err, "listing findings");
    if (rc != RC_OK)
        return rc;
    bind_text_or_null(q, 1, f ? f->institution : NULL);
    bind_text_or_null(q, 2, f ? f->district : NULL);
    bind_text_or_null(q, 3, f ? f->class_id : NULL);
    sqlite3_bind_int64(q, 4, f ? f->since_ms : 0);
    sqlite3_bind_int64(q, 5, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_finding_row r;
        memset(&r, 0, sizeof r);
        if ((rc = column_text(q, 1, r.kind, sizeof r.kind, err)) != RC_OK ||
            (rc = column_text(q, 2, r.severity, sizeof r.severity, err)) != RC_OK ||
            (rc = column_text(q, 3, r.device, sizeof r.device, err)) != RC_OK ||
            (rc = column_text(q, 5, r.institution, sizeof r.institution, err)) != RC_OK ||
            (rc = column_text(q, 6, r.class_id, sizeof r.class_id, err)) != RC_OK ||
            (rc = column_text(q, 7, r.detail, sizeof r.detail, err)) != RC_OK ||
            (rc = column_text(q, 9, r.detail_code, sizeof r.detail_code, err)) != RC_OK ||
            (rc = column_text(q, 10, r.detail_args, sizeof r.detail_args, err)) != RC_OK)
            goto out;
        r.id = sqlite3_column_int64(q, 0);
        r.seq = sqlite3_column_int64(q, 4);
        r.created_at_ms = sqlite3_column_int64(q, 8);
        if ((rc = fn(&r, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing findings");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_subsidy_history(store *st, const char *institution, const char *trainee,
                           const char *except_class,
                           int (*fn)(const struct store_subsidy_past_row *, void *), void *ctx,
                           char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db,
                     "SELECT c.id, c.occupation, c.level, a.assessed_on FROM assessments a "
                     "JOIN classes c ON c.id = a.class WHERE a.passed = 1 AND c.id <> ?3 AND "
                     "((a.trainee = ?1 AND c.institution = ?2) OR EXISTS (SELECT 1 FROM "
                     "roster r WHERE r.class = a.class AND r.trainee = a.trainee AND r.city = "
                     "(SELECT r2.city FROM roster r2 WHERE r2.class = ?3 AND r2.trainee = ?1))) "
                     "ORDER BY a.assessed_on, c.id",
                     &q, err, "reading the subsidy history");
    if (rc != RC_OK)
        return rc;
    sqlite3_bind_text(q, 1, trainee, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, institution, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, except_class ? except_class : "", -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_subsidy_past_row p;
        memset(&p, 0, sizeof p);
        if ((rc = column_text(q, 0, p.class_id, sizeof p.class_id, err)) != RC_OK ||
            (rc = column_text(q, 1, p.occupation, sizeof p.occupation, err)) != RC_OK ||
            (rc = column_text(q, 2, p.level, sizeof p.level, err)) != RC_OK)
            goto out;
        p.assessed_on_ms = sqlite3_column_int64(q, 3);
        if ((rc = fn(&p, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading the subsidy history");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_events_scan(store *st, int64_t *count, int64_t *sum, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = prepare(db, "SELECT count(*), coalesce(sum(ts), 0) FROM events NOT INDEXED", &q, err,
                     "scanning events");
    if (rc != RC_OK)
        return rc;
    if (sqlite3_step(q) == SQLITE_ROW) {
        *count = sqlite3_column_int64(q, 0);
        *sum = sqlite3_column_int64(q, 1);
    } else {
        rc = db_fail(db, err, "scanning events");
    }
    sqlite3_finalize(q);
    return rc;
}
