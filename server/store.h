/* The collector's storage interface. One `store` is one connection to one database, chosen
 * by URL: `sqlite:PATH` (store_sqlite.c) or `postgresql://...` (recognised; its back-end is a
 * later file implementing the same function table). No SQL appears outside a back-end file.
 *
 * Invariants:
 * - A store handle is used by one thread at a time; it is not itself locked. Threads share
 *   handles through a store_pool (mutex + condition variable), never by passing one handle
 *   around concurrently. SQLite in WAL mode lets the pool's connections read in parallel and
 *   serialises writers (BEGIN IMMEDIATE, busy timeout).
 * - The schema only moves forward, by numbered migrations; each one is applied in its own
 *   transaction together with the row recording its number, so a database is always exactly
 *   at some version. A program refuses a database whose version is not the one it was built
 *   for (store_check_schema): older means "run migrate", newer means "upgrade the program".
 * - Tokens are stored as the SHA-256 of the token, never in clear.
 * - (device, seq) is unique among stored events; stored events are never overwritten.
 *
 * Functions returning int give 0 or a negative rc (rc.h) with one line in err. */
#ifndef ROLLCALL_SERVER_STORE_H
#define ROLLCALL_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_pool store_pool;

enum {
    STORE_URL_MAX = 4096,
    STORE_ID_MAX = 64,         /* device, institution, fence, class ids */
    STORE_TOKEN_NAME_MAX = 64, /* a token's name, as shown in logs */
    STORE_ROLE_MAX = 80,       /* "institution:" + an id */
    STORE_HASH_HEX_LEN = 64,   /* SHA-256 in hex, without NUL */
    STORE_POOL_MAX = 256,      /* connections in one pool */
};

/* Flags for store_open. */
enum {
    STORE_OPEN_CREATE = 1, /* create the database if it does not exist (migrate does) */
};

/* A bearer token as stored: its hash, never the token itself. */
struct store_token {
    int64_t id;
    char hash[STORE_HASH_HEX_LEN + 1];
    char name[STORE_TOKEN_NAME_MAX + 1];
    char role[STORE_ROLE_MAX + 1];
    int64_t created_at_ms; /* UTC */
    bool revoked;
};

/* An enrolled kiosk, as GET /v1/devices lists it. */
struct store_device {
    char id[STORE_ID_MAX + 1];
    char institution[STORE_ID_MAX + 1];
    int64_t enrolled_at_ms;
    int64_t last_seen_at_ms; /* 0: never uploaded */
    int64_t head_seq;        /* last stored seq; 0: none */
};

/* Parses a URL and opens a connection (flags: STORE_OPEN_*). Returns 0 and *out (free with
 * store_close), RC_INVAL for a malformed or unknown URL, RC_STATE for a back-end this build
 * cannot serve yet, RC_NOTFOUND when the database does not exist and CREATE is not set,
 * RC_DB otherwise. */
int store_open(const char *url, unsigned flags, store **out, char *err);
/* Closes the connection (rolling back an open transaction) and frees st. NULL is a no-op. */
void store_close(store *st);
/* The back-end's name ("sqlite", "postgresql"); static. */
const char *store_backend(const store *st);

/* The schema version this program's back-end defines (its last migration's number). */
int store_schema_latest(const store *st);
/* The database's schema version into *version (0: empty database). */
int store_schema_version(store *st, int *version, char *err);
/* Applies every migration above the database's version, in order, one transaction each.
 * *from and *to (either may be NULL) receive the versions before and after. Running it on an
 * up-to-date database changes nothing. RC_STATE when the database is newer than this program. */
int store_migrate(store *st, int *from, int *to, char *err);
/* Like store_migrate but stops at version target (for staged upgrades and tests). */
int store_migrate_to(store *st, int target, int *from, int *to, char *err);
/* 0 when the database is exactly at store_schema_latest; RC_STATE with advice otherwise. */
int store_check_schema(store *st, char *err);

/* Transactions. begin takes the write lock at once (SQLite: BEGIN IMMEDIATE) so two writers
 * never deadlock upgrading a read lock. Nested begin is RC_STATE. */
int store_begin(store *st, char *err);
int store_commit(store *st, char *err);
/* Rolls back the open transaction; a no-op without one. Cannot fail in a way callers can act
 * on, so it returns nothing. */
void store_rollback(store *st);

/* Stores a token (t->hash, name, role, created_at_ms; id is ignored). RC_CONFLICT when the
 * name or hash is taken. */
int store_token_insert(store *st, const struct store_token *t, char *err);
/* Finds the unrevoked token whose hash is hash_hex. RC_NOTFOUND when none. */
int store_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err);

/* Number of devices that have uploaded at least once. */
int store_device_count_seen(store *st, int64_t *n, char *err);
/* Calls fn for each enrolled device in id order, at most limit of them; fn returning non-zero
 * stops the walk and that value is returned. */
int store_device_list(store *st, size_t limit, int (*fn)(const struct store_device *d, void *ctx),
                      void *ctx, char *err);

/* The schema also holds institutions (with their pseudonym key), devices (public key PEM,
 * institution, profile, fence), events (unique (device, seq), raw bytes, hash, parsed columns),
 * chain heads per device, findings, and fences with their history. Their functions arrive with
 * enrolment and ingest: one wrapper here, one slot in struct store_ops (store_backend.h), one
 * implementation per back-end; a back-end whose slot is NULL answers RC_STATE. */

/* A pool of n connections to one database, for a thread pool: acquire blocks until one is
 * free. Returns 0 and *out (free with store_pool_close after every connection is released). */
int store_pool_open(const char *url, size_t n, store_pool **out, char *err);
/* Takes a connection; waits at most timeout_ms. Returns NULL on timeout. */
store *store_pool_acquire(store_pool *p, int timeout_ms);
/* Returns a connection to the pool (rolling back any transaction left open). */
void store_pool_release(store_pool *p, store *st);
/* Closes every connection and frees p. NULL is a no-op. */
void store_pool_close(store_pool *p);

#endif
