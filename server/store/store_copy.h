/* Moving a whole collector from SQLite to PostgreSQL: every table copied row for row in one
 * PostgreSQL transaction, then counted and digested on both sides. The only code that holds
 * both back-ends' connections at once; used by `rollcall-server copy`. */
#ifndef ROLLCALL_SERVER_STORE_COPY_H
#define ROLLCALL_SERVER_STORE_COPY_H

#include <stdbool.h>
#include <stdint.h>

/* One table after the copy: rows and digest on each side. The digest is the sum, modulo
 * 2^256, of the SHA-256 of each row's typed values (order-free, duplicates count), as hex. */
struct store_copy_table {
    const char *name;
    int64_t rows_from, rows_to;
    char digest_from[65], digest_to[65];
};

/* Copies the SQLite database at from_url ("sqlite:PATH", at this program's schema version)
 * into the PostgreSQL database at to_url (migrated here to the same version; it must hold no
 * rows), in one transaction: the triggers stay off during the copy so every generation and
 * id arrives as it was, and identity sequences continue after the copied ids. Then reads both
 * sides again and calls fn per table. RC_CONFLICT when the target holds data, RC_CORRUPT when
 * a count or digest differs (fn has been called for every table). */
int store_copy_sqlite_to_pg(const char *from_url, const char *to_url,
                            void (*fn)(const struct store_copy_table *t, void *ctx), void *ctx,
                            char *err);

#endif
