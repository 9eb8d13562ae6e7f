/* PostgreSQL: the engine alerts' keys (store.h store_engine_alerts_record); the same contract
 * as store_sqlite_warm.c's, held to tests/unit/test_store_contract.c. The key's insert comes
 * first: a second collector inserting the same key waits on the first one's uncommitted row
 * (the primary key) and, once it commits, inserts nothing, so the finding and its outbox rows
 * are written once. */
#include "rc.h"
#include "store/store_pg.h"

#include <string.h>

int pg_engine_alert_record(store *st, const char *class_id, const char *institution,
                           const struct store_engine_alert *a, int64_t now_ms, bool *added,
                           char *err)
{
    struct pg_params k = {0};
    int64_t changed = 0;
    *added = false;
    pgp_text(&k, class_id);
    pgp_text(&k, a->kind);
    pgp_text(&k, a->subject);
    pgp_text(&k, a->session);
    pgp_i64(&k, now_ms);
    int rc = pg_exec(pg_of(st),
                     "INSERT INTO engine_alerts(class, kind, subject, session, created_at) "
                     "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                     &k, &changed, err, "recording an engine alert");
    if (rc != RC_OK || changed == 0)
        return rc;
    struct pg_params f = {0};
    PGresult *r = NULL;
    pgp_text(&f, a->kind);
    pgp_text(&f, institution);
    pgp_text(&f, class_id);
    pgp_opt(&f, a->trainee);
    pgp_text(&f, a->detail);
    pgp_i64(&f, now_ms);
    if ((rc = pg_run(pg_of(st),
                     "INSERT INTO findings(kind, severity, institution, class, trainee, detail, "
                     "created_at) VALUES ($1, 'high', $2, $3, $4, $5, $6) RETURNING id",
                     &f, false, &r, err, "storing an engine finding")) != RC_OK)
        return rc;
    int64_t id = pg_col_i64(r, 0, 0);
    PQclear(r);
    struct pg_params u = {0};
    pgp_text(&u, class_id);
    pgp_text(&u, a->kind);
    pgp_text(&u, a->subject);
    pgp_text(&u, a->session);
    pgp_i64(&u, id);
    if ((rc = pg_exec(pg_of(st),
                      "UPDATE engine_alerts SET finding = $5 WHERE class = $1 AND kind = $2 AND "
                      "subject = $3 AND session = $4",
                      &u, NULL, err, "recording an engine alert")) != RC_OK)
        return rc;
    *added = true;
    return RC_OK;
}
