/* The SQLite back-end of store.h: all of its SQL lives in this file.
 *
 * Each connection: WAL journal (readers never block the writer), synchronous=FULL (an
 * acknowledged batch survives a power cut: the agent may forget what the server acknowledged),
 * foreign keys on, a busy timeout so concurrent writers from the pool wait instead of failing.
 * Tables are STRICT so a wrong type is an error, not a silent conversion.
 *
 * Schema versions live in schema_migrations (one row per applied migration); the version is
 * its largest number, 0 when the table does not exist. */
#include "rc.h"
#include "store.h"
#include "store_backend.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum {
    SQLITE_BUSY_TIMEOUT_MS = 10000,
};

struct store_sqlite {
    struct store base; /* first: store.c sees only this */
    sqlite3 *db;
};

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* Numbered migrations, applied in order; never edit one that has shipped, add the next. */
static const struct migration migrations[] = {
    {1, "identities: tokens, institutions, fences, devices",
     "CREATE TABLE tokens ("
     "  id INTEGER PRIMARY KEY,"
     "  hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)," /* SHA-256 hex of the token */
     "  name TEXT NOT NULL UNIQUE,"
     "  role TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL," /* UTC ms */
     "  revoked_at INTEGER"
     ") STRICT;"
     "CREATE TABLE institutions ("
     "  id TEXT PRIMARY KEY,"
     "  district TEXT CHECK (district IS NULL OR length(district) = 6),"
     "  pseudonym_key BLOB NOT NULL CHECK (length(pseudonym_key) = 32)," /* HMAC-SHA-256 key */
     "  created_at INTEGER NOT NULL"
     ") STRICT;"
     /* Every version of every venue fence; the current one has superseded_at NULL. A fence
      * is replaced only by an admin (import fences); history is kept for re-judging. */
     "CREATE TABLE fences ("
     "  id TEXT NOT NULL,"
     "  version INTEGER NOT NULL CHECK (version >= 1),"
     "  geojson TEXT NOT NULL,"
     "  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
     "  created_at INTEGER NOT NULL,"
     "  created_by TEXT NOT NULL," /* token name */
     "  superseded_at INTEGER,"
     "  PRIMARY KEY (id, version)"
     ") STRICT;"
     "CREATE UNIQUE INDEX fences_current ON fences(id) WHERE superseded_at IS NULL;"
     "CREATE TABLE devices ("
     "  id TEXT PRIMARY KEY,"
     "  institution TEXT NOT NULL REFERENCES institutions(id),"
     "  public_key_pem TEXT NOT NULL,"
     "  profile TEXT,"
     "  fence TEXT," /* the venue fence id it was enrolled with */
     "  enrolled_at INTEGER NOT NULL,"
     "  last_seen_at INTEGER"
     ") STRICT;"
     "CREATE INDEX devices_institution ON devices(institution);"},
    {2, "evidence: events, chain heads, findings",
     /* Each event exactly as received (raw bytes, hashed as received) plus the columns
      * reports query. (device, seq) is unique: the same bytes again are a duplicate, other
      * bytes at a stored seq are a finding, never an overwrite. */
     "CREATE TABLE events ("
     "  id INTEGER PRIMARY KEY,"
     "  device TEXT NOT NULL REFERENCES devices(id),"
     "  seq INTEGER NOT NULL CHECK (seq >= 1),"
     "  event_id TEXT NOT NULL," /* UUIDv7 from the device */
     "  raw BLOB NOT NULL,"
     "  hash TEXT NOT NULL CHECK (length(hash) = 64),"
     "  prev TEXT NOT NULL CHECK (length(prev) = 64),"
     "  type TEXT NOT NULL,"
     "  ts INTEGER NOT NULL," /* device clock, UTC ms */
     "  trainee TEXT,"        /* pseudonym */
     "  trainee_masked TEXT,"
     "  class TEXT,"
     "  session TEXT,"
     "  verdict TEXT,"        /* the kiosk's advice */
     "  server_verdict TEXT," /* re-judged from the raw fix and the server's fence copy */
     "  distance_m REAL,"
     "  fence TEXT,"
     "  received_at INTEGER NOT NULL," /* server clock, UTC ms */
     "  UNIQUE (device, seq)"
     ") STRICT;"
     "CREATE INDEX events_class_ts ON events(class, ts);"
     "CREATE INDEX events_trainee_ts ON events(trainee, ts);"
     "CREATE TABLE chain_heads ("
     "  device TEXT PRIMARY KEY REFERENCES devices(id),"
     "  seq INTEGER NOT NULL CHECK (seq >= 1),"
     "  hash TEXT NOT NULL CHECK (length(hash) = 64),"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE findings ("
     "  id INTEGER PRIMARY KEY,"
     "  kind TEXT NOT NULL,"
     "  severity TEXT NOT NULL,"
     "  device TEXT,"
     "  seq INTEGER,"
     "  institution TEXT,"
     "  class TEXT,"
     "  trainee TEXT,"
     "  detail TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  reviewed_by TEXT,"
     "  reviewed_at INTEGER,"
     "  approved INTEGER CHECK (approved IS NULL OR approved IN (0, 1))"
     ") STRICT;"
     "CREATE INDEX findings_device_seq ON findings(device, seq);"
     "CREATE INDEX findings_class ON findings(class);"},
};

enum { MIGRATIONS = (int)(sizeof migrations / sizeof migrations[0]) };

static struct store_sqlite *sq(store *st)
{
    return (struct store_sqlite *)st;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int db_fail(sqlite3 *db, char *err, const char *what)
{
    int code = sqlite3_extended_errcode(db);
    if ((code & 0xff) == SQLITE_CONSTRAINT)
        return rc_fail(err, RC_CONFLICT, "%s: %s", what, sqlite3_errmsg(db));
    if ((code & 0xff) == SQLITE_FULL)
        return rc_fail(err, RC_FULL, "%s: %s", what, sqlite3_errmsg(db));
    return rc_fail(err, RC_DB, "%s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, char *err, const char *what)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, err, what);
    return RC_OK;
}

static void sqlite_close(store *st)
{
    struct store_sqlite *s = sq(st);
    sqlite3_close_v2(s->db);
    free(s);
}

static int sqlite_open(const char *path, unsigned flags, store **out, char *err)
{
    int rc = RC_OK;
    struct store_sqlite *s = NULL;
    struct stat sb;
    if (!(flags & STORE_OPEN_CREATE) && stat(path, &sb) != 0)
        return rc_fail(err, RC_NOTFOUND, "no database at %s: run 'rollcall-server migrate'", path);
    s = calloc(1, sizeof *s);
    if (!s)
        return rc_fail(err, RC_NOMEM, "out of memory");
    s->base.ops = &store_sqlite_ops;
    /* NOMUTEX: a handle is used by one thread at a time (store.h), so SQLite's own
     * per-connection mutex would only cost time. */
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (flags & STORE_OPEN_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
        rc = rc_fail(err, RC_DB, "cannot open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (sqlite3_busy_timeout(s->db, SQLITE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
        rc = db_fail(s->db, err, "busy timeout");
        goto out;
    }
    rc = exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
              err, path);
    if (rc != RC_OK)
        goto out;
    *out = &s->base;
    return RC_OK;
out:
    sqlite3_close_v2(s->db);
    free(s);
    return rc;
}

static int sqlite_schema_version(store *st, int *version, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    *version = 0;
    const char *sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                      "'schema_migrations'";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(db, err, "reading the schema version");
        goto out;
    }
    int exists = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (!exists)
        goto out;
    sql = "SELECT coalesce(max(version), 0) FROM schema_migrations";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(db, err, "reading the schema version");
        goto out;
    }
    *version = sqlite3_column_int(q, 0);
out:
    sqlite3_finalize(q);
    return rc;
}

/* Applies one migration in its own transaction, re-reading the version under the write lock
 * so two processes migrating at once apply each step exactly once. */
static int apply(sqlite3 *db, store *st, const struct migration *m, char *err)
{
    int rc = exec(db, "BEGIN IMMEDIATE", err, "starting a migration");
    if (rc != RC_OK)
        return rc;
    rc = exec(db,
              "CREATE TABLE IF NOT EXISTS schema_migrations ("
              "  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL"
              ") STRICT",
              err, "creating schema_migrations");
    if (rc != RC_OK)
        goto out;
    int v = 0;
    rc = sqlite_schema_version(st, &v, err);
    if (rc != RC_OK || v >= m->version)
        goto out;
    if (v != m->version - 1) {
        rc = rc_fail(err, RC_CORRUPT, "schema at version %d cannot take migration %d", v,
                     m->version);
        goto out;
    }
    char what[128];
    snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
    rc = exec(db, m->sql, err, what);
    if (rc != RC_OK)
        goto out;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO schema_migrations(version, name, applied_at) "
                           "VALUES (?1, ?2, ?3)",
                           -1, &q, NULL) != SQLITE_OK) {
        rc = db_fail(db, err, what);
        goto out;
    }
    sqlite3_bind_int(q, 1, m->version);
    sqlite3_bind_text(q, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_ms());
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(db, err, what);
    sqlite3_finalize(q);
out:
    if (rc == RC_OK)
        rc = exec(db, "COMMIT", err, "committing a migration");
    if (rc != RC_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sqlite_migrate_to(store *st, int target, int *from, int *to, char *err)
{
    sqlite3 *db = sq(st)->db;
    int rc = sqlite_schema_version(st, from, err);
    if (rc != RC_OK)
        return rc;
    *to = *from;
    if (*from > MIGRATIONS)
        return rc_fail(err, RC_STATE,
                       "database schema is at version %d, newer than this program's %d: "
                       "upgrade rollcall-server",
                       *from, MIGRATIONS);
    for (int i = 0; i < MIGRATIONS && migrations[i].version <= target; i++) {
        rc = apply(db, st, &migrations[i], err);
        if (rc != RC_OK)
            break;
    }
    int rc2 = sqlite_schema_version(st, to, rc == RC_OK ? err : NULL);
    return rc != RC_OK ? rc : rc2;
}

static int sqlite_begin(store *st, char *err)
{
    return exec(sq(st)->db, "BEGIN IMMEDIATE", err, "begin");
}

static int sqlite_commit(store *st, char *err)
{
    return exec(sq(st)->db, "COMMIT", err, "commit");
}

static void sqlite_rollback(store *st)
{
    sqlite3_exec(sq(st)->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sqlite_token_insert(store *st, const struct store_token *t, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO tokens(hash, name, role, created_at) "
                           "VALUES (?1, ?2, ?3, ?4)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "storing a token");
    sqlite3_bind_text(q, 1, t->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, t->role, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, t->created_at_ms);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_fail(db, err, "storing a token");
        if (rc == RC_CONFLICT)
            rc = rc_fail(err, RC_CONFLICT, "a token named '%s' exists already", t->name);
    }
    sqlite3_finalize(q);
    return rc;
}

/* Copies a text column into a fixed buffer; RC_CORRUPT when it does not fit. */
static int column_text(sqlite3_stmt *q, int col, char *out, size_t n, char *err)
{
    const unsigned char *s = sqlite3_column_text(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);
    if (!s) {
        out[0] = '\0';
        return RC_OK;
    }
    if (len >= n)
        return rc_fail(err, RC_CORRUPT, "stored value in column %d longer than %zu bytes", col,
                       n - 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return RC_OK;
}

static int sqlite_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT id, hash, name, role, created_at FROM tokens "
                           "WHERE hash = ?1 AND revoked_at IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "looking up a token");
    sqlite3_bind_text(q, 1, hash_hex, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "unknown token");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(db, err, "looking up a token");
        goto out;
    }
    out->id = sqlite3_column_int64(q, 0);
    if ((rc = column_text(q, 1, out->hash, sizeof out->hash, err)) != RC_OK ||
        (rc = column_text(q, 2, out->name, sizeof out->name, err)) != RC_OK ||
        (rc = column_text(q, 3, out->role, sizeof out->role, err)) != RC_OK)
        goto out;
    out->created_at_ms = sqlite3_column_int64(q, 4);
out:
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_device_count_seen(store *st, int64_t *n, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM devices WHERE last_seen_at IS NOT NULL", -1,
                           &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW)
        rc = db_fail(db, err, "counting devices");
    else
        *n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc;
}

static int sqlite_device_list(store *st, size_t limit,
                              int (*fn)(const struct store_device *, void *), void *ctx, char *err)
{
    sqlite3 *db = sq(st)->db;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT d.id, d.institution, d.enrolled_at, "
                           "coalesce(d.last_seen_at, 0), coalesce(h.seq, 0) "
                           "FROM devices d LEFT JOIN chain_heads h ON h.device = d.id "
                           "ORDER BY d.id LIMIT ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(db, err, "listing devices");
    sqlite3_bind_int64(q, 1, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_device d = {0};
        if ((rc = column_text(q, 0, d.id, sizeof d.id, err)) != RC_OK ||
            (rc = column_text(q, 1, d.institution, sizeof d.institution, err)) != RC_OK)
            goto out;
        d.enrolled_at_ms = sqlite3_column_int64(q, 2);
        d.last_seen_at_ms = sqlite3_column_int64(q, 3);
        d.head_seq = sqlite3_column_int64(q, 4);
        if ((rc = fn(&d, ctx)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, "listing devices");
out:
    sqlite3_finalize(q);
    return rc;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .latest = MIGRATIONS,
    .open = sqlite_open,
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .migrate_to = sqlite_migrate_to,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .token_insert = sqlite_token_insert,
    .token_lookup = sqlite_token_lookup,
    .device_count_seen = sqlite_device_count_seen,
    .device_list = sqlite_device_list,
};
