/* The SQLite back-end (store_sqlite.c): alert subscriptions and deliveries. */
#include "store/store_sqlite_int.h"

#include "rc.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERT_SUB_COLUMNS                                                                          \
    "s.id, s.name, coalesce(s.district, ''), s.format, s.url, coalesce(s.ca_file, ''), "           \
    "s.created_by, s.created_at"

/* Reads ALERT_SUB_COLUMNS from column first on. */
static int alert_sub_row(sqlite3_stmt *q, int first, struct store_alert_sub *s, char *err)
{
    int rc;
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(q, first);
    if ((rc = column_text(q, first + 1, s->name, sizeof s->name, err)) != RC_OK ||
        (rc = column_text(q, first + 2, s->district, sizeof s->district, err)) != RC_OK ||
        (rc = column_text(q, first + 3, s->format, sizeof s->format, err)) != RC_OK ||
        (rc = column_text(q, first + 4, s->url, sizeof s->url, err)) != RC_OK ||
        (rc = column_text(q, first + 5, s->ca_file, sizeof s->ca_file, err)) != RC_OK ||
        (rc = column_text(q, first + 6, s->created_by, sizeof s->created_by, err)) != RC_OK)
        return rc;
    s->created_at_ms = sqlite3_column_int64(q, first + 7);
    return RC_OK;
}

int sqlite_alert_sub_insert(store *st, struct store_alert_sub *s, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO alert_subscriptions(name, district, format, url, ca_file, "
                           "created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing an alert subscription");
    sqlite3_bind_text(q, 1, s->name, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, s->district);
    sqlite3_bind_text(q, 3, s->format, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, s->url, -1, SQLITE_STATIC);
    bind_text_or_null(q, 5, s->ca_file);
    sqlite3_bind_text(q, 6, s->created_by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, s->created_at_ms);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing an alert subscription");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "an alert subscription named '%s' exists already",
                         s->name);
    } else {
        s->id = sqlite3_last_insert_rowid(db);
    }
    sqlite3_finalize(q);
    return rc;
}

int sqlite_alert_sub_list(store *st, const char *district,
                          int (*fn)(const struct store_alert_sub *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT " ALERT_SUB_COLUMNS " FROM alert_subscriptions s "
                           "WHERE s.removed_at IS NULL AND (?1 IS NULL OR s.district = ?1) "
                           "ORDER BY s.id",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading alert subscriptions");
    if (district)
        sqlite3_bind_text(q, 1, district, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_alert_sub s;
        if ((rc = alert_sub_row(q, 0, &s, err)) != RC_OK || (rc = fn(&s, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading alert subscriptions");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_alert_sub_get(store *st, int64_t id, struct store_alert_sub *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT " ALERT_SUB_COLUMNS " FROM alert_subscriptions s "
                           "WHERE s.id = ?1 AND s.removed_at IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading an alert subscription");
    sqlite3_bind_int64(q, 1, id);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        rc = alert_sub_row(q, 0, out, err);
    else if (step == SQLITE_DONE)
        rc = rc_fail(err, RC_NOTFOUND, "no alert subscription %lld", (long long)id);
    else
        rc = db_fail(db, err, "reading an alert subscription");
    sqlite3_finalize(q);
    return rc;
}

int sqlite_alert_sub_remove(store *st, int64_t id, int64_t now_ms, char *err)
{
    sqlite3 *db = sq(st)->db;
    bool own = !st->in_tx;
    int rc = RC_OK, changed = 0;
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    if (own && (rc = sqlite_begin(st, err)) != RC_OK)
        return rc;
    rc = write1(db,
                "UPDATE alert_subscriptions SET removed_at = ?2 "
                "WHERE id = CAST(?1 AS INTEGER) AND removed_at IS NULL",
                idtext, NULL, NULL, now_ms, &changed, err, "removing an alert subscription");
    if (rc == RC_OK && changed != 1)
        rc = rc_fail(err, RC_NOTFOUND, "no alert subscription %lld", (long long)id);
    if (rc == RC_OK)
        rc = write1(db,
                    "UPDATE alert_outbox SET state = 'cancelled', last_at = ?2 "
                    "WHERE subscription = CAST(?1 AS INTEGER) AND state = 'pending'",
                    idtext, NULL, NULL, now_ms, NULL, err, "cancelling alert deliveries");
    if (own) {
        if (rc == RC_OK)
            rc = sqlite_commit(st, err);
        if (rc != RC_OK)
            sqlite_rollback(st);
    }
    return rc;
}

int sqlite_alert_deliveries(store *st, const struct store_alert_filter *f, size_t limit,
                            int (*fn)(const struct store_alert_delivery *, void *), void *ctx,
                            char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    const char *sql =
        f->due_at_ms > 0
            ? "SELECT " ALERT_SUB_COLUMNS ", o.id, o.state, o.attempts, o.next_at, "
              "coalesce(o.last_status, 0), coalesce(o.last_error, ''), coalesce(o.last_at, 0), "
              "coalesce(o.delivered_at, 0), o.created_at, f.id, f.kind, f.severity, "
              "coalesce(f.device, ''), coalesce(f.seq, 0), coalesce(f.institution, ''), "
              "coalesce(f.class, ''), f.detail, f.created_at, coalesce(i.district, ''), "
              "coalesce(f.detail_code, ''), coalesce(f.detail_args, '') "
              "FROM alert_outbox o JOIN alert_subscriptions s ON s.id = o.subscription "
              "JOIN findings f ON f.id = o.finding "
              "LEFT JOIN institutions i ON i.id = f.institution "
              "WHERE (?1 IS NULL OR s.district = ?1) AND (?2 = 0 OR s.id = ?2) "
              "AND o.state = 'pending' AND o.next_at <= ?3 ORDER BY o.next_at, o.id LIMIT ?4"
            : "SELECT " ALERT_SUB_COLUMNS ", o.id, o.state, o.attempts, o.next_at, "
              "coalesce(o.last_status, 0), coalesce(o.last_error, ''), coalesce(o.last_at, 0), "
              "coalesce(o.delivered_at, 0), o.created_at, f.id, f.kind, f.severity, "
              "coalesce(f.device, ''), coalesce(f.seq, 0), coalesce(f.institution, ''), "
              "coalesce(f.class, ''), f.detail, f.created_at, coalesce(i.district, ''), "
              "coalesce(f.detail_code, ''), coalesce(f.detail_args, '') "
              "FROM alert_outbox o JOIN alert_subscriptions s ON s.id = o.subscription "
              "JOIN findings f ON f.id = o.finding "
              "LEFT JOIN institutions i ON i.id = f.institution "
              "WHERE (?1 IS NULL OR s.district = ?1) AND (?2 = 0 OR s.id = ?2) "
              "AND ?3 = 0 ORDER BY o.id DESC LIMIT ?4";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "reading alert deliveries");
    if (f->district)
        sqlite3_bind_text(q, 1, f->district, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->subscription);
    sqlite3_bind_int64(q, 3, f->due_at_ms);
    sqlite3_bind_int64(q, 4, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_alert_delivery d;
        memset(&d, 0, sizeof d);
        if ((rc = alert_sub_row(q, 0, &d.sub, err)) != RC_OK)
            goto out;
        d.id = sqlite3_column_int64(q, 8);
        if ((rc = column_text(q, 9, d.state, sizeof d.state, err)) != RC_OK)
            goto out;
        d.attempts = sqlite3_column_int64(q, 10);
        d.next_at_ms = sqlite3_column_int64(q, 11);
        d.last_status = sqlite3_column_int64(q, 12);
        if ((rc = column_text(q, 13, d.last_error, sizeof d.last_error, err)) != RC_OK)
            goto out;
        d.last_at_ms = sqlite3_column_int64(q, 14);
        d.delivered_at_ms = sqlite3_column_int64(q, 15);
        d.created_at_ms = sqlite3_column_int64(q, 16);
        struct store_finding_row *r = &d.finding;
        r->id = sqlite3_column_int64(q, 17);
        if ((rc = column_text(q, 18, r->kind, sizeof r->kind, err)) != RC_OK ||
            (rc = column_text(q, 19, r->severity, sizeof r->severity, err)) != RC_OK ||
            (rc = column_text(q, 20, r->device, sizeof r->device, err)) != RC_OK)
            goto out;
        r->seq = sqlite3_column_int64(q, 21);
        if ((rc = column_text(q, 22, r->institution, sizeof r->institution, err)) != RC_OK ||
            (rc = column_text(q, 23, r->class_id, sizeof r->class_id, err)) != RC_OK ||
            (rc = column_text(q, 24, r->detail, sizeof r->detail, err)) != RC_OK)
            goto out;
        r->created_at_ms = sqlite3_column_int64(q, 25);
        if ((rc = column_text(q, 26, d.district, sizeof d.district, err)) != RC_OK ||
            (rc = column_text(q, 27, r->detail_code, sizeof r->detail_code, err)) != RC_OK ||
            (rc = column_text(q, 28, r->detail_args, sizeof r->detail_args, err)) != RC_OK)
            goto out;
        if ((rc = fn(&d, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "reading alert deliveries");
out:
    sqlite3_finalize(q);
    return rc;
}

int sqlite_alert_claim(store *st, int64_t id, int64_t seen_next_at_ms, int64_t lease_until_ms,
                       bool *claimed, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "UPDATE alert_outbox SET next_at = ?3 "
                           "WHERE id = ?1 AND next_at = ?2 AND state = 'pending'",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "claiming an alert delivery");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, seen_next_at_ms);
    sqlite3_bind_int64(q, 3, lease_until_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "claiming an alert delivery");
    else
        *claimed = sqlite3_changes(db) == 1;
    sqlite3_finalize(q);
    return rc;
}

int sqlite_alert_record(store *st, int64_t id, const struct store_alert_attempt *a, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "UPDATE alert_outbox SET state = ?2, attempts = ?3, next_at = ?4, "
                           "last_status = ?5, last_error = substr(?6, 1, ?8), last_at = ?7, "
                           "delivered_at = CASE WHEN ?2 = 'delivered' THEN ?7 END "
                           "WHERE id = ?1 AND state = 'pending'",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "recording an alert delivery");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, a->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, a->attempts);
    sqlite3_bind_int64(q, 4, a->next_at_ms);
    sqlite3_bind_int64(q, 5, a->status);
    sqlite3_bind_text(q, 6, a->error ? a->error : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, a->at_ms);
    sqlite3_bind_int(q, 8, STORE_ALERT_ERROR_MAX);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, "recording an alert delivery");
    sqlite3_finalize(q);
    return rc;
}
