/* Internal to the SQLite back-end: the ops of store_sqlite_admin.c (tokens and fences as the
 * console lists them), wired into store_sqlite_ops by store_sqlite.c. */
#ifndef ROLLCALL_SERVER_STORE_SQLITE_ADMIN_H
#define ROLLCALL_SERVER_STORE_SQLITE_ADMIN_H

#include "store/store.h"

#include <sqlite3.h>

/* The connection of a SQLite store (owned by it). */
sqlite3 *sqlite_store_db(store *st);

int sqlite_token_list(store *st, int (*fn)(const struct store_token *, void *), void *ctx,
                      char *err);
int sqlite_token_revoke(store *st, const char *name, const char *by, int64_t now_ms, char *err);
int sqlite_fence_list(store *st, int (*fn)(const struct store_fence_info *, void *), void *ctx,
                      char *err);

#endif
