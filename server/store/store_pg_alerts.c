/* PostgreSQL: alert subscriptions and their outbox (store.h "Alerts"); the same contract as
 * store_sqlite.c's, held to tests/unit/test_store_contract.c. */
#include "rc.h"
#include "store/store_pg.h"

#include <stdio.h>
#include <string.h>

#define ALERT_SUB_COLUMNS                                                                          \
    "s.id, s.name, coalesce(s.district, ''), s.format, s.url, coalesce(s.ca_file, ''), "           \
    "s.created_by, s.created_at"

static int sub_row(const PGresult *r, int row, int first, struct store_alert_sub *s, char *err)
{
    int rc;
    memset(s, 0, sizeof *s);
    s->id = pg_col_i64(r, row, first);
    if ((rc = pg_col_text(r, row, first + 1, s->name, sizeof s->name, err)) != RC_OK ||
        (rc = pg_col_text(r, row, first + 2, s->district, sizeof s->district, err)) != RC_OK ||
        (rc = pg_col_text(r, row, first + 3, s->format, sizeof s->format, err)) != RC_OK ||
        (rc = pg_col_text(r, row, first + 4, s->url, sizeof s->url, err)) != RC_OK ||
        (rc = pg_col_text(r, row, first + 5, s->ca_file, sizeof s->ca_file, err)) != RC_OK ||
        (rc = pg_col_text(r, row, first + 6, s->created_by, sizeof s->created_by, err)) != RC_OK)
        return rc;
    s->created_at_ms = pg_col_i64(r, row, first + 7);
    return RC_OK;
}

int pg_alert_sub_insert(store *st, struct store_alert_sub *s, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, s->name);
    pgp_opt(&p, s->district);
    pgp_text(&p, s->format);
    pgp_text(&p, s->url);
    pgp_opt(&p, s->ca_file);
    pgp_text(&p, s->created_by);
    pgp_i64(&p, s->created_at_ms);
    int rc = pg_run(pg_of(st),
                    "INSERT INTO alert_subscriptions(name, district, format, url, ca_file, "
                    "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &p, false, &r, err, "storing an alert subscription");
    if (rc == RC_CONFLICT)
        return rc_fail(err, RC_CONFLICT, "an alert subscription named '%s' exists already",
                       s->name);
    if (rc != RC_OK)
        return rc;
    s->id = pg_col_i64(r, 0, 0);
    PQclear(r);
    return RC_OK;
}

int pg_alert_sub_list(store *st, const char *district,
                      int (*fn)(const struct store_alert_sub *, void *), void *ctx, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, district);
    int rc = pg_run(pg_of(st),
                    "SELECT " ALERT_SUB_COLUMNS " FROM alert_subscriptions s "
                    "WHERE s.removed_at IS NULL AND ($1::text IS NULL OR s.district = $1) "
                    "ORDER BY s.id",
                    &p, false, &r, err, "reading alert subscriptions");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == RC_OK; i++) {
        struct store_alert_sub s;
        if ((rc = sub_row(r, i, 0, &s, err)) == RC_OK)
            rc = fn(&s, ctx);
    }
    PQclear(r);
    return rc;
}

int pg_alert_sub_get(store *st, int64_t id, struct store_alert_sub *out, char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_i64(&p, id);
    int rc = pg_run(pg_of(st),
                    "SELECT " ALERT_SUB_COLUMNS " FROM alert_subscriptions s "
                    "WHERE s.id = $1 AND s.removed_at IS NULL",
                    &p, false, &r, err, "reading an alert subscription");
    if (rc != RC_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = rc_fail(err, RC_NOTFOUND, "no alert subscription %lld", (long long)id);
    else
        rc = sub_row(r, 0, 0, out, err);
    PQclear(r);
    return rc;
}

int pg_alert_sub_remove(store *st, int64_t id, int64_t now_ms, char *err)
{
    struct store_pg *s = pg_of(st);
    bool own;
    int rc = pg_own_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    struct pg_params p = {0};
    pgp_i64(&p, id);
    pgp_i64(&p, now_ms);
    int64_t changed = 0;
    rc = pg_exec(s,
                 "UPDATE alert_subscriptions SET removed_at = $2 "
                 "WHERE id = $1 AND removed_at IS NULL",
                 &p, &changed, err, "removing an alert subscription");
    if (rc == RC_OK && changed != 1)
        rc = rc_fail(err, RC_NOTFOUND, "no alert subscription %lld", (long long)id);
    if (rc == RC_OK)
        rc = pg_exec(s,
                     "UPDATE alert_outbox SET state = 'cancelled', last_at = $2 "
                     "WHERE subscription = $1 AND state = 'pending'",
                     &p, NULL, err, "cancelling alert deliveries");
    return pg_own_end(st, own, rc, err);
}

#define DELIVERY_SELECT                                                                            \
    "SELECT " ALERT_SUB_COLUMNS ", o.id, o.state, o.attempts, o.next_at, "                         \
    "coalesce(o.last_status, 0), coalesce(o.last_error, ''), coalesce(o.last_at, 0), "             \
    "coalesce(o.delivered_at, 0), o.created_at, f.id, f.kind, f.severity, "                        \
    "coalesce(f.device, ''), coalesce(f.seq, 0), coalesce(f.institution, ''), "                    \
    "coalesce(f.class, ''), f.detail, f.created_at, coalesce(i.district, ''), "                    \
    "coalesce(f.detail_code, ''), coalesce(f.detail_args, '') "                                    \
    "FROM alert_outbox o JOIN alert_subscriptions s ON s.id = o.subscription "                     \
    "JOIN findings f ON f.id = o.finding LEFT JOIN institutions i ON i.id = f.institution "        \
    "WHERE ($1::text IS NULL OR s.district = $1) AND ($2::bigint = 0 OR s.id = $2) "

int pg_alert_deliveries(store *st, const struct store_alert_filter *f, size_t limit,
                        int (*fn)(const struct store_alert_delivery *, void *), void *ctx,
                        char *err)
{
    struct pg_params p = {0};
    PGresult *r = NULL;
    pgp_text(&p, f->district);
    pgp_i64(&p, f->subscription);
    pgp_i64(&p, f->due_at_ms);
    pgp_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int rc =
        pg_run(pg_of(st),
               f->due_at_ms > 0 ? DELIVERY_SELECT "AND o.state = 'pending' AND o.next_at <= $3 "
                                                  "ORDER BY o.next_at, o.id LIMIT $4"
                                : DELIVERY_SELECT "AND $3::bigint = 0 ORDER BY o.id DESC LIMIT $4",
               &p, false, &r, err, "reading alert deliveries");
    if (rc != RC_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == RC_OK; i++) {
        struct store_alert_delivery d;
        memset(&d, 0, sizeof d);
        struct store_finding_row *fr = &d.finding;
        if ((rc = sub_row(r, i, 0, &d.sub, err)) != RC_OK)
            break;
        d.id = pg_col_i64(r, i, 8);
        if ((rc = pg_col_text(r, i, 9, d.state, sizeof d.state, err)) != RC_OK)
            break;
        d.attempts = pg_col_i64(r, i, 10);
        d.next_at_ms = pg_col_i64(r, i, 11);
        d.last_status = pg_col_i64(r, i, 12);
        if ((rc = pg_col_text(r, i, 13, d.last_error, sizeof d.last_error, err)) != RC_OK)
            break;
        d.last_at_ms = pg_col_i64(r, i, 14);
        d.delivered_at_ms = pg_col_i64(r, i, 15);
        d.created_at_ms = pg_col_i64(r, i, 16);
        fr->id = pg_col_i64(r, i, 17);
        if ((rc = pg_col_text(r, i, 18, fr->kind, sizeof fr->kind, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 19, fr->severity, sizeof fr->severity, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 20, fr->device, sizeof fr->device, err)) != RC_OK)
            break;
        fr->seq = pg_col_i64(r, i, 21);
        if ((rc = pg_col_text(r, i, 22, fr->institution, sizeof fr->institution, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 23, fr->class_id, sizeof fr->class_id, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 24, fr->detail, sizeof fr->detail, err)) != RC_OK)
            break;
        fr->created_at_ms = pg_col_i64(r, i, 25);
        if ((rc = pg_col_text(r, i, 26, d.district, sizeof d.district, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 27, fr->detail_code, sizeof fr->detail_code, err)) != RC_OK ||
            (rc = pg_col_text(r, i, 28, fr->detail_args, sizeof fr->detail_args, err)) != RC_OK)
            break;
        rc = fn(&d, ctx);
    }
    PQclear(r);
    return rc;
}

int pg_alert_claim(store *st, int64_t id, int64_t seen_next_at_ms, int64_t lease_until_ms,
                   bool *claimed, char *err)
{
    struct pg_params p = {0};
    pgp_i64(&p, id);
    pgp_i64(&p, seen_next_at_ms);
    pgp_i64(&p, lease_until_ms);
    int64_t changed = 0;
    int rc = pg_exec(pg_of(st),
                     "UPDATE alert_outbox SET next_at = $3 "
                     "WHERE id = $1 AND next_at = $2 AND state = 'pending'",
                     &p, &changed, err, "claiming an alert delivery");
    if (rc == RC_OK)
        *claimed = changed == 1;
    return rc;
}

int pg_alert_record(store *st, int64_t id, const struct store_alert_attempt *a, char *err)
{
    struct pg_params p = {0};
    pgp_i64(&p, id);
    pgp_text(&p, a->state);
    pgp_i64(&p, a->attempts);
    pgp_i64(&p, a->next_at_ms);
    pgp_i64(&p, a->status);
    pgp_text(&p, a->error ? a->error : "");
    pgp_i64(&p, a->at_ms);
    pgp_i64(&p, STORE_ALERT_ERROR_MAX);
    return pg_exec(pg_of(st),
                   "UPDATE alert_outbox SET state = $2, attempts = $3, next_at = $4, "
                   "last_status = $5, last_error = left($6, $8::int), last_at = $7::bigint, "
                   "delivered_at = CASE WHEN $2::text = 'delivered' THEN $7::bigint END "
                   "WHERE id = $1 AND state = 'pending'",
                   &p, NULL, err, "recording an alert delivery");
}
