/* SQLite: the engine alerts' keys (store.h store_engine_alerts_record), kept apart from
 * store_sqlite.c, which holds the ops table that calls it. */
#ifndef ROLLCALL_SERVER_STORE_SQLITE_WARM_H
#define ROLLCALL_SERVER_STORE_SQLITE_WARM_H

#include "store/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* Records one engine alert key on db, inside the caller's write transaction: when the key is
 * new, inserts it, then the findings row (severity high; its trigger fills the outbox), then
 * links the two; *added says whether it was new. 0, RC_DB or RC_CONFLICT with err. */
int sqlite_warm_engine_alert(sqlite3 *db, const char *class_id, const char *institution,
                             const struct store_engine_alert *a, int64_t now_ms, bool *added,
                             char *err);

#endif
