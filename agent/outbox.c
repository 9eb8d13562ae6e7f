#include "outbox.h"

#include "rc.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

enum {
    PRUNE_CHUNK = 64,         /* acknowledged events deleted per step over the cap */
    ROW_OVERHEAD_BYTES = 160, /* a row's size beyond its line: id, hash, record header */
    PATH_MAX_LEN = 4096,      /* database path */
    /* pages: keeps the WAL small on a kiosk's flash, and bounds what a checkpoint must add to
     * the database when the disk fills (the reserve covers it: OUTBOX_RESERVE_BYTES) */
    WAL_AUTOCHECKPOINT = 32,
    JOURNAL_SIZE_LIMIT = 4 << 20, /* bytes a checkpointed WAL is truncated to */
    VACUUM_STEP_PAGES = 8,        /* pages returned to the filesystem per step */
    RESERVE_BLOCK = 4096,         /* the reserve grows back by this much per step */
    CHECKPOINT_BUSY_MS = 1000,    /* wait this long for readers before a truncating checkpoint */
    INT_TEXT_LEN = 32,            /* an int64 as decimal text */
};

/* The state key of the storage-full mark (UTC ms of the first refusal). */
#define FULL_SINCE_KEY "outbox.full_since_ms"

/* The genesis prev: 64 zeros. */
#define ZERO_HASH_SQL                                                                              \
    "'"                                                                                            \
    "00000000000000000000000000000000"                                                             \
    "00000000000000000000000000000000"                                                             \
    "'"

/* Schema migrations, applied in order; index i takes user_version i to i + 1. */
static const char *const MIGRATIONS[] = {
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  type TEXT NOT NULL,"
    "  ts_ms INTEGER NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  line BLOB NOT NULL);"
    /* head: the last appended event; base: the prune point (events up to base_seq are gone,
     * all of them acknowledged); ack: what the server holds. */
    "CREATE TABLE chain ("
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  head_seq INTEGER NOT NULL, head_hash TEXT NOT NULL,"
    "  base_seq INTEGER NOT NULL, base_hash TEXT NOT NULL,"
    "  ack_seq INTEGER NOT NULL);"
    "INSERT INTO chain VALUES (1, 0, " ZERO_HASH_SQL ", 0, " ZERO_HASH_SQL ", 0);"
    "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 2: the last schedule the collector sent (agent/schedule.h): its bytes, version, when
     * they arrived (fetched) and when the collector last said they are current (checked). */
    "CREATE TABLE schedule ("
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  version TEXT NOT NULL,"
    "  body BLOB NOT NULL,"
    "  fetched_ms INTEGER NOT NULL,"
    "  checked_ms INTEGER NOT NULL);",
};

struct outbox {
    sqlite3 *db;
    char path[PATH_MAX_LEN];
    char reserve[PATH_MAX_LEN + 16]; /* PATH-reserve */
    int64_t max_bytes;
    sqlite3_stmt *head;
    sqlite3_stmt *insert;
    sqlite3_stmt *advance;
};

static int db_fail(outbox *ob, char *err, const char *what)
{
    int code = sqlite3_errcode(ob->db);
    int rc = (code == SQLITE_FULL) ? RC_FULL : RC_DB;
    return rc_fail(err, rc, "outbox: %s: %s", what, sqlite3_errmsg(ob->db));
}

static int exec(outbox *ob, const char *sql, char *err)
{
    char *msg = NULL;
    if (sqlite3_exec(ob->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int code = sqlite3_errcode(ob->db);
        rc_fail(err, code == SQLITE_FULL ? RC_FULL : RC_DB, "outbox: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return code == SQLITE_FULL ? RC_FULL : RC_DB;
    }
    return RC_OK;
}

static void rollback(outbox *ob)
{
    sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
}

static int64_t pragma_int(outbox *ob, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int64_t used_bytes(outbox *ob)
{
    int64_t pages = pragma_int(ob, "PRAGMA page_count");
    int64_t free_pages = pragma_int(ob, "PRAGMA freelist_count");
    int64_t size = pragma_int(ob, "PRAGMA page_size");
    if (pages < 0 || free_pages < 0 || size < 0)
        return -1;
    return (pages - free_pages) * size;
}

/* ---- the reserve -------------------------------------------------------------------------
 * PATH-reserve is a file of OUTBOX_RESERVE_BYTES of allocated blocks that only the outbox's
 * own bookkeeping may spend: when recording an acknowledgement, pruning acknowledged events
 * or marking storage full fails for want of space (SQLITE_FULL), one slice of the reserve is
 * given back to the filesystem (ftruncate) and the write is tried again. Appends never spend
 * it, so however the disk filled, the next acknowledgement can be recorded and the events it
 * covers pruned. It is refilled (fallocate, fsync) when the outbox opens and after a prune.
 * A power cut at any point leaves a shorter reserve at worst, refilled at the next open. */

/* Gives one slice of the reserve back to the filesystem. false when nothing is left. */
static bool reserve_release(outbox *ob)
{
    int fd = open(ob->reserve, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    bool released = false;
    if (fd < 0)
        return false;
    if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
        off_t size = sb.st_size > OUTBOX_RESERVE_SLICE ? sb.st_size - OUTBOX_RESERVE_SLICE : 0;
        released = ftruncate(fd, size) == 0;
        fsync(fd);
    }
    close(fd);
    return released;
}

/* Grows the reserve back towards OUTBOX_RESERVE_BYTES, a block at a time while the
 * filesystem has room (so that what a bookkeeping write left of a released slice goes back
 * into the reserve, not to the next append). Returns its size (0 when it cannot be made). */
static int64_t reserve_fill(outbox *ob)
{
    int fd = open(ob->reserve, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat sb;
    if (fd < 0)
        return 0;
    int64_t size = fstat(fd, &sb) == 0 ? (int64_t)sb.st_size : 0;
    bool grown = false;
    while (size < OUTBOX_RESERVE_BYTES) {
        int64_t want = (size / RESERVE_BLOCK + 1) * RESERVE_BLOCK;
        if (want > OUTBOX_RESERVE_BYTES)
            want = OUTBOX_RESERVE_BYTES;
        if (posix_fallocate(fd, 0, (off_t)want) != 0) {
            /* drop a partial allocation; at its old size the reserve is still usable */
            int ignored = ftruncate(fd, (off_t)size);
            (void)ignored;
            break;
        }
        size = want;
        grown = true;
    }
    if (grown)
        fsync(fd);
    close(fd);
    return size;
}

/* Free bytes the outbox could still use: the filesystem's free space plus the database's
 * free pages, within the size cap. -1 when unknown. */
static int64_t room_bytes(outbox *ob)
{
    int64_t free_pages = pragma_int(ob, "PRAGMA freelist_count");
    int64_t page = pragma_int(ob, "PRAGMA page_size");
    struct statvfs vs;
    if (free_pages < 0 || page < 0 || statvfs(ob->path, &vs) != 0)
        return -1;
    int64_t room = (int64_t)vs.f_bavail * (int64_t)vs.f_frsize + free_pages * page;
    if (ob->max_bytes > 0) {
        int64_t used = used_bytes(ob);
        int64_t cap_room = used < 0 ? 0 : ob->max_bytes - used;
        if (cap_room < room)
            room = cap_room;
    }
    return room;
}

/* Moves a corrupt database (and its WAL and shared-memory files) aside. */
static int move_aside(const char *path, char *err, const char *why)
{
    char stamp[TS_UTC_LEN + 1];
    ts_format_utc(ts_now_ms(), stamp);
    char dest[PATH_MAX_LEN];
    int n = snprintf(dest, sizeof dest, "%s.corrupt-%s", path, stamp);
    if (n < 0 || (size_t)n >= sizeof dest)
        return rc_fail(err, RC_IO, "outbox: path too long: %s", path);
    if (rename(path, dest) != 0)
        return rc_fail(err, RC_IO, "outbox: %s is corrupt (%s) and could not be moved aside: %s",
                       path, why, strerror(errno));
    static const char *const suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char from[PATH_MAX_LEN], to[PATH_MAX_LEN + 8];
        snprintf(from, sizeof from, "%s%s", path, suffixes[i]);
        snprintf(to, sizeof to, "%s%s", dest, suffixes[i]);
        if (rename(from, to) != 0 && errno != ENOENT)
            return rc_fail(err, RC_IO, "outbox: cannot move %s aside: %s", from, strerror(errno));
    }
    return rc_fail(err, RC_CORRUPT,
                   "outbox %s failed its integrity check (%s); moved to %s; nothing was replaced: "
                   "restore it or re-initialise the kiosk under a new device id",
                   path, why, dest);
}

/* Runs PRAGMA quick_check; 0 when "ok", else RC_CORRUPT with the first problem in why. */
static int quick_check(sqlite3 *db, char *why, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = RC_CORRUPT;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, cap, "%s", sqlite3_errmsg(db));
        goto out;
    }
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        snprintf(why, cap, "%s", sqlite3_errmsg(db));
        goto out;
    }
    const char *res = (const char *)sqlite3_column_text(st, 0);
    if (res && strcmp(res, "ok") == 0)
        rc = RC_OK;
    else
        snprintf(why, cap, "%s", res ? res : "no answer");
out:
    sqlite3_finalize(st);
    return rc;
}

/* Copies the outbox to PATH.pre-migrate-vN (0600; replacing an older such copy) before an
 * upgrade changes it in place: an agent rolled back to the previous release can use it. */
static int backup_before_migrate(outbox *ob, int64_t version, char *err)
{
    char path[PATH_MAX_LEN + 32];
    snprintf(path, sizeof path, "%s.pre-migrate-v%lld", ob->path, (long long)version);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return rc_fail(err, RC_IO, "outbox: cannot create %s: %s", path, strerror(errno));
    close(fd);
    sqlite3 *dst = NULL;
    int code = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL);
    if (code == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", ob->db, "main");
        code = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(dst);
        if (b)
            sqlite3_backup_finish(b);
        if (code == SQLITE_DONE)
            code = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
    }
    if (sqlite3_close(dst) != SQLITE_OK && code == SQLITE_OK)
        code = SQLITE_ERROR;
    if (code != SQLITE_OK) {
        unlink(path);
        return rc_fail(err, code == SQLITE_FULL ? RC_FULL : RC_DB,
                       "outbox: backup before the upgrade into %s: %s", path, sqlite3_errstr(code));
    }
    return RC_OK;
}

static int migrate(outbox *ob, char *err)
{
    int64_t version = pragma_int(ob, "PRAGMA user_version");
    size_t count = sizeof MIGRATIONS / sizeof MIGRATIONS[0];
    if (version < 0)
        return db_fail(ob, err, "reading the schema version");
    if ((size_t)version > count)
        return rc_fail(err, RC_STATE,
                       "outbox %s has schema version %lld, newer than this agent's %zu: upgrade "
                       "rollcall-agent",
                       ob->path, (long long)version, count);
    if (version > 0 && (size_t)version < count) {
        int rc = backup_before_migrate(ob, version, err);
        if (rc != RC_OK)
            return rc;
    }
    for (size_t v = (size_t)version; v < count; v++) {
        int rc = exec(ob, "BEGIN IMMEDIATE", err);
        if (rc != RC_OK)
            return rc;
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %zu", v + 1);
        if ((rc = exec(ob, MIGRATIONS[v], err)) != RC_OK || (rc = exec(ob, bump, err)) != RC_OK) {
            rollback(ob);
            return rc;
        }
        if ((rc = exec(ob, "COMMIT", err)) != RC_OK) {
            rollback(ob);
            return rc;
        }
    }
    return RC_OK;
}

static int prepare(outbox *ob, sqlite3_stmt **st, const char *sql, char *err)
{
    if (sqlite3_prepare_v3(ob->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_fail(ob, err, "preparing a statement");
    return RC_OK;
}

int outbox_open(const char *path, const struct outbox_options *opt, outbox **out, char *err)
{
    int rc = RC_OK;
    *out = NULL;
    if (opt && opt->max_bytes != 0 && opt->max_bytes < OUTBOX_MIN_CAP_BYTES)
        return rc_fail(err, RC_INVAL, "outbox: size cap %lld is below the minimum %d bytes",
                       (long long)opt->max_bytes, OUTBOX_MIN_CAP_BYTES);
    outbox *ob = calloc(1, sizeof *ob);
    if (!ob)
        return rc_fail(err, RC_NOMEM, "outbox: out of memory");
    ob->max_bytes = opt ? opt->max_bytes : 0;
    if (snprintf(ob->path, sizeof ob->path, "%s", path) >= (int)sizeof ob->path) {
        rc = rc_fail(err, RC_INVAL, "outbox: path too long: %s", path);
        goto fail;
    }
    snprintf(ob->reserve, sizeof ob->reserve, "%s-reserve", path);

    struct stat sb;
    int existed = stat(path, &sb) == 0 && sb.st_size > 0;
    if (!existed) {
        /* Create the file ourselves so that it is private from the first byte. */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            rc = rc_fail(err, RC_IO, "outbox: cannot create %s: %s", path, strerror(errno));
            goto fail;
        }
        close(fd);
    }
    if (sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        rc = rc_fail(err, RC_DB, "outbox: cannot open %s: %s", path,
                     ob->db ? sqlite3_errmsg(ob->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(ob->db, OUTBOX_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(ob->db, 0);
    if (existed) {
        char why[ERR_LEN];
        if (quick_check(ob->db, why, sizeof why) != RC_OK) {
            sqlite3_close(ob->db);
            ob->db = NULL;
            rc = move_aside(path, err, why);
            goto fail;
        }
    }
    char pragmas[320];
    /* A new database returns pruned pages to the filesystem (incremental vacuum after a
     * prune, see recover_space): set before its first table. Temporary tables stay in memory,
     * so a full disk cannot stop a query. */
    snprintf(pragmas, sizeof pragmas,
             "%sPRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
             "PRAGMA wal_autocheckpoint = %d; PRAGMA journal_size_limit = %d;"
             "PRAGMA cache_size = -512; PRAGMA temp_store = MEMORY;",
             existed ? "" : "PRAGMA auto_vacuum = INCREMENTAL; ", WAL_AUTOCHECKPOINT,
             JOURNAL_SIZE_LIMIT);
    if ((rc = exec(ob, pragmas, err)) != RC_OK)
        goto fail;
    if ((rc = migrate(ob, err)) != RC_OK)
        goto fail;
    if ((rc = prepare(ob, &ob->head, "SELECT head_seq, head_hash FROM chain", err)) != RC_OK ||
        (rc = prepare(ob, &ob->insert,
                      "INSERT INTO events (seq, id, type, ts_ms, hash, line) VALUES (?,?,?,?,?,?)",
                      err)) != RC_OK ||
        (rc = prepare(ob, &ob->advance, "UPDATE chain SET head_seq = ?, head_hash = ?", err)) !=
            RC_OK)
        goto fail;
    /* Best effort: on a disk already full the reserve is made after the next prune. */
    reserve_fill(ob);
    *out = ob;
    return RC_OK;
fail:
    outbox_close(ob);
    return rc;
}

void outbox_close(outbox *ob)
{
    if (!ob)
        return;
    sqlite3_finalize(ob->head);
    sqlite3_finalize(ob->insert);
    sqlite3_finalize(ob->advance);
    sqlite3_close(ob->db);
    free(ob);
}

/* Deletes up to PRUNE_CHUNK of the oldest acknowledged events (never the head, never an
 * unacknowledged one) and records the newest deleted one as the chain's base, so verify can
 * start there. Runs inside the caller's transaction. *pruned gets how many went (0: none
 * left to prune). Returns 0, RC_FULL or RC_DB. */
static int prune_step(outbox *ob, int64_t *pruned, char *err)
{
    sqlite3_stmt *st = NULL;
    int64_t last = 0, n = 0;
    char hash[EVENT_HEX_LEN + 1] = "";
    *pruned = 0;
    if (sqlite3_prepare_v2(ob->db,
                           "SELECT seq, hash FROM events WHERE seq <= (SELECT ack_seq FROM "
                           "chain) AND seq < (SELECT head_seq FROM chain) ORDER BY seq LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ob, err, "choosing events to prune");
    sqlite3_bind_int(st, 1, PRUNE_CHUNK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        snprintf(hash, sizeof hash, "%s", (const char *)sqlite3_column_text(st, 1));
        n++;
    }
    sqlite3_finalize(st);
    if (last == 0)
        return RC_OK;
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM events WHERE seq <= %lld", (long long)last);
    int rc = exec(ob, sql, err);
    if (rc != RC_OK)
        return rc;
    if (sqlite3_prepare_v2(ob->db, "UPDATE chain SET base_seq = ?, base_hash = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(ob, err, "recording the prune point");
    sqlite3_bind_int64(st, 1, last);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return db_fail(ob, err, "recording the prune point");
    *pruned = n;
    return RC_OK;
}

/* Deletes acknowledged events oldest first until `need` more bytes fit under the cap.
 * Called inside the append transaction. RC_FULL when the cap cannot be met. */
static int make_room(outbox *ob, int64_t need, char *err)
{
    for (;;) {
        int64_t used = used_bytes(ob);
        if (used < 0)
            return db_fail(ob, err, "measuring the database");
        if (used + need <= ob->max_bytes)
            return RC_OK;
        int64_t pruned = 0;
        int rc = prune_step(ob, &pruned, err);
        if (rc != RC_OK)
            return rc;
        if (pruned == 0)
            return rc_fail(err, RC_FULL,
                           "outbox full: %lld of %lld bytes used and every stored event is still "
                           "waiting for upload; nothing was recorded",
                           (long long)used, (long long)ob->max_bytes);
    }
}

static bool checkpoint(outbox *ob, bool spend);

/* Runs one write (fn) in its own transaction; when it fails for want of space and spend is
 * set, gives a slice of the reserve back and tries again, until the reserve is spent (then
 * once more after emptying the WAL). */
static int with_reserve(outbox *ob, bool spend, int (*fn)(outbox *, void *, char *), void *arg,
                        char *err)
{
    bool checkpointed = false, released = false;
    for (;;) {
        int rc = exec(ob, "BEGIN IMMEDIATE", err);
        if (rc == RC_OK && (rc = fn(ob, arg, err)) == RC_OK)
            rc = exec(ob, "COMMIT", err);
        if (rc == RC_OK) {
            if (released)
                reserve_fill(ob); /* take back what the write did not need */
            return RC_OK;
        }
        rollback(ob);
        if (rc == RC_DB && sqlite3_errcode(ob->db) == SQLITE_FULL)
            rc = RC_FULL;
        if (rc != RC_FULL)
            return rc;
        if (spend && reserve_release(ob)) {
            released = true;
        } else {
            /* No reserve left (or none could be made): an emptied WAL may still make room. */
            if (checkpointed)
                return rc;
            checkpointed = true;
            checkpoint(ob, false);
        }
    }
}

static int full_mark_fn(outbox *ob, void *arg, char *err)
{
    char v[INT_TEXT_LEN];
    snprintf(v, sizeof v, "%lld", (long long)*(const int64_t *)arg);
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    /* The first refusal is "since when": a later one leaves the mark alone. */
    if (sqlite3_prepare_v2(ob->db, "INSERT OR IGNORE INTO state (key, value) VALUES (?, ?)", -1, &q,
                           NULL) != SQLITE_OK)
        return db_fail(ob, err, "marking storage full");
    sqlite3_bind_text(q, 1, FULL_SINCE_KEY, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, v, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(ob, err, "marking storage full");
    sqlite3_finalize(q);
    return rc;
}

static int full_clear_fn(outbox *ob, void *arg, char *err)
{
    (void)arg;
    return exec(ob, "DELETE FROM state WHERE key = '" FULL_SINCE_KEY "'", err);
}

static int prune_fn(outbox *ob, void *arg, char *err)
{
    return prune_step(ob, (int64_t *)arg, err);
}

/* The storage-full mark: UTC ms of the first refusal, 0 when storage is not full. */
static int64_t full_since(outbox *ob)
{
    char v[INT_TEXT_LEN];
    if (outbox_state_get(ob, FULL_SINCE_KEY, v, sizeof v, NULL) != RC_OK)
        return 0;
    char *end;
    errno = 0;
    long long ms = strtoll(v, &end, 10);
    return errno == 0 && end != v && *end == '\0' && ms > 0 ? ms : 0;
}

/* Copies the WAL into the database and truncates it. A WAL that holds pages beyond the
 * database's end needs room to grow the database: with spend, slices of the reserve are given
 * back until it fits (the truncated WAL then frees more than that). true when done. */
static bool checkpoint(outbox *ob, bool spend)
{
    bool done = false;
    /* Another process reading (a sync child, status) must not stall a sign-in for long: the
     * next prune tries again. */
    sqlite3_busy_timeout(ob->db, CHECKPOINT_BUSY_MS);
    for (;;) {
        int rc = sqlite3_wal_checkpoint_v2(ob->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        if (rc == SQLITE_OK) {
            done = true;
            break;
        }
        if (!spend || (rc & 0xff) != SQLITE_FULL || !reserve_release(ob))
            break;
    }
    sqlite3_busy_timeout(ob->db, OUTBOX_BUSY_TIMEOUT_MS);
    return done;
}

/* Gives pruned pages back to the filesystem (a database made with auto_vacuum=incremental)
 * and empties the WAL, a few pages at a time so that each step needs little free space.
 * Best effort: what cannot be done now is done after the next prune. */
static void release_space(outbox *ob, bool spend)
{
    for (int i = 0; i < 100000; i++) {
        if (!checkpoint(ob, spend) || pragma_int(ob, "PRAGMA auto_vacuum") != 2 ||
            pragma_int(ob, "PRAGMA freelist_count") <= 0)
            return;
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", VACUUM_STEP_PAGES);
        if (exec(ob, sql, NULL) != RC_OK && !(spend && reserve_release(ob)))
            return;
    }
}

/* Makes room: empties the WAL, prunes every acknowledged event, gives the space back to the
 * filesystem, refills the reserve, and clears the full mark when there is room again. Only
 * with spend (after an acknowledgement, or with acknowledged events to prune) may the reserve
 * be used to get there; otherwise it stays for the next acknowledgement. Returns how many
 * events were pruned. */
static int64_t recover_space(outbox *ob, bool spend)
{
    int64_t total = 0;
    checkpoint(ob, spend);
    for (;;) {
        int64_t pruned = 0;
        if (with_reserve(ob, spend, prune_fn, &pruned, NULL) != RC_OK || pruned == 0)
            break;
        total += pruned;
    }
    release_space(ob, spend);
    int64_t reserve = reserve_fill(ob);
    int64_t room = room_bytes(ob);
    if (reserve >= OUTBOX_RESERVE_BYTES && room >= OUTBOX_FULL_HEADROOM && full_since(ob) > 0)
        with_reserve(ob, true, full_clear_fn, NULL, NULL);
    return total;
}

static int append_once(outbox *ob, struct event *ev, char *line_out, size_t *len_out, char *err)
{
    char line[EVENT_LINE_MAX + 1];
    char hash[EVENT_HEX_LEN + 1];
    size_t len = 0;
    int64_t saved_seq = ev->seq;
    char saved_prev[EVENT_HEX_LEN + 1];
    memcpy(saved_prev, ev->prev, sizeof saved_prev);

    int rc = exec(ob, "BEGIN IMMEDIATE", err);
    if (rc != RC_OK)
        return rc;
    sqlite3_reset(ob->head);
    if (sqlite3_step(ob->head) != SQLITE_ROW) {
        rc = db_fail(ob, err, "reading the chain head");
        goto fail;
    }
    ev->seq = sqlite3_column_int64(ob->head, 0) + 1;
    snprintf(ev->prev, sizeof ev->prev, "%s", (const char *)sqlite3_column_text(ob->head, 1));
    sqlite3_reset(ob->head);

    if ((rc = event_serialise(ev, line, sizeof line, &len, err)) != RC_OK)
        goto fail;
    event_hash_hex(line, len, hash);
    if (ob->max_bytes > 0 && (rc = make_room(ob, (int64_t)len + ROW_OVERHEAD_BYTES, err)) != RC_OK)
        goto fail;

    sqlite3_reset(ob->insert);
    sqlite3_bind_int64(ob->insert, 1, ev->seq);
    sqlite3_bind_text(ob->insert, 2, ev->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ob->insert, 3, event_type_name(ev->type), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ob->insert, 4, ev->ts_ms);
    sqlite3_bind_text(ob->insert, 5, hash, -1, SQLITE_STATIC);
    sqlite3_bind_blob(ob->insert, 6, line, (int)len, SQLITE_STATIC);
    if (sqlite3_step(ob->insert) != SQLITE_DONE) {
        rc = db_fail(ob, err, "storing the event");
        sqlite3_reset(ob->insert);
        goto fail;
    }
    sqlite3_reset(ob->insert);
    sqlite3_reset(ob->advance);
    sqlite3_bind_int64(ob->advance, 1, ev->seq);
    sqlite3_bind_text(ob->advance, 2, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(ob->advance) != SQLITE_DONE) {
        rc = db_fail(ob, err, "advancing the chain head");
        sqlite3_reset(ob->advance);
        goto fail;
    }
    sqlite3_reset(ob->advance);
    if ((rc = exec(ob, "COMMIT", err)) != RC_OK)
        goto fail;
    if (line_out) {
        memcpy(line_out, line, len + 1);
        *len_out = len;
    }
    return RC_OK;
fail:
    rollback(ob);
    ev->seq = saved_seq;
    memcpy(ev->prev, saved_prev, sizeof saved_prev);
    if (rc == RC_DB && sqlite3_errcode(ob->db) == SQLITE_FULL)
        rc = RC_FULL;
    return rc;
}

static int64_t reserve_size(outbox *ob)
{
    struct stat sb;
    return stat(ob->reserve, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* Whether acknowledged events are stored that a prune may delete. */
static bool prunable(outbox *ob)
{
    return pragma_int(ob, "SELECT EXISTS (SELECT 1 FROM events WHERE seq <= (SELECT ack_seq FROM "
                          "chain) AND seq < (SELECT head_seq FROM chain))") == 1;
}

int outbox_append(outbox *ob, struct event *ev, char *line, size_t *len, char *err)
{
    int rc = append_once(ob, ev, line, len, err);
    if (rc == RC_FULL) {
        /* Acknowledged events (kept while there was room) and an emptied WAL may make room.
         * Pruning gives back more than it costs, so with something to prune the reserve may
         * be spent on it (it is refilled from what the prune frees, before the retry);
         * without, it is kept for the next acknowledgement. */
        recover_space(ob, prunable(ob));
        rc = append_once(ob, ev, line, len, err);
    }
    if (rc == RC_FULL) {
        int64_t now = ts_now_ms();
        if (full_since(ob) == 0) /* the mark is small: it may spend a slice, refilled after */
            with_reserve(ob, true, full_mark_fn, &now, NULL);
        return rc;
    }
    if (rc == RC_OK && full_since(ob) > 0)
        with_reserve(ob, true, full_clear_fn, NULL, NULL); /* sign-ins are recorded again */
    return rc;
}

int outbox_stats(outbox *ob, struct outbox_stats *st, char *err)
{
    memset(st, 0, sizeof *st);
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(ob->db,
                           "SELECT c.head_seq, c.head_hash, c.ack_seq,"
                           " (SELECT count(*) FROM events WHERE seq > c.ack_seq),"
                           " (SELECT min(ts_ms) FROM events WHERE seq > c.ack_seq),"
                           " (SELECT count(*) FROM events) FROM chain c",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(ob, err, "reading statistics");
        goto out;
    }
    st->head_seq = sqlite3_column_int64(q, 0);
    snprintf(st->head_hash, sizeof st->head_hash, "%s", (const char *)sqlite3_column_text(q, 1));
    st->ack_seq = sqlite3_column_int64(q, 2);
    st->queue = sqlite3_column_int64(q, 3);
    st->oldest_unsent_ts_ms = sqlite3_column_int64(q, 4);
    st->stored = sqlite3_column_int64(q, 5);
    st->used_bytes = used_bytes(ob);
    st->max_bytes = ob->max_bytes;
    st->full_since_ms = full_since(ob);
    st->reserve_bytes = reserve_size(ob);
out:
    sqlite3_finalize(q);
    return rc;
}

int outbox_seqs(outbox *ob, int64_t *head_seq, int64_t *ack_seq, char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(ob->db, "SELECT head_seq, ack_seq FROM chain", -1, &q, NULL) !=
            SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(ob, err, "reading the chain head");
        goto out;
    }
    *head_seq = sqlite3_column_int64(q, 0);
    *ack_seq = sqlite3_column_int64(q, 1);
out:
    sqlite3_finalize(q);
    return rc;
}

int outbox_pending(outbox *ob, int64_t after_seq, size_t max_events, size_t max_bytes,
                   outbox_line_fn fn, void *ctx, size_t *visited, char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    size_t count = 0, bytes = 0;
    *visited = 0;
    if (sqlite3_prepare_v2(ob->db,
                           "SELECT seq, line FROM events WHERE seq > ? ORDER BY seq LIMIT ?", -1,
                           &q, NULL) != SQLITE_OK)
        return db_fail(ob, err, "reading pending events");
    sqlite3_bind_int64(q, 1, after_seq);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)max_events);
    int step;
    int64_t expect = after_seq + 1;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(q, 0);
        const char *line = sqlite3_column_blob(q, 1);
        size_t len = (size_t)sqlite3_column_bytes(q, 1);
        if (seq != expect) {
            rc = rc_fail(err, RC_NOTFOUND,
                         "outbox: event %lld is no longer stored (pruned after acknowledgement)",
                         (long long)expect);
            goto out;
        }
        if (count > 0 && bytes + len + 1 > max_bytes)
            break;
        bytes += len + 1;
        count++;
        expect++;
        rc = fn(ctx, seq, line, len);
        if (rc != 0)
            goto out;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = db_fail(ob, err, "reading pending events");
out:
    *visited = count;
    sqlite3_finalize(q);
    return rc;
}

static int ack_fn(outbox *ob, void *arg, char *err)
{
    int64_t ack_seq = *(const int64_t *)arg;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(ob->db,
                           "UPDATE chain SET ack_seq = max(ack_seq, ?1) WHERE ?1 <= head_seq", -1,
                           &q, NULL) != SQLITE_OK)
        return db_fail(ob, err, "recording an acknowledgement");
    sqlite3_bind_int64(q, 1, ack_seq);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(ob, err, "recording an acknowledgement");
    else if (sqlite3_changes(ob->db) == 0)
        rc = rc_fail(err, RC_INVAL, "outbox: acknowledgement of seq %lld is beyond the chain head",
                     (long long)ack_seq);
    sqlite3_finalize(q);
    return rc;
}

int outbox_ack(outbox *ob, int64_t ack_seq, char *err)
{
    int rc = with_reserve(ob, true, ack_fn, &ack_seq, err);
    if (rc != RC_OK)
        return rc;
    /* Storage filled (or the reserve was spent): what the server now holds makes room. */
    if (full_since(ob) > 0 || reserve_size(ob) < OUTBOX_RESERVE_BYTES)
        recover_space(ob, true);
    return RC_OK;
}

int outbox_verify(outbox *ob, int64_t *count, struct event_chain_break *brk, char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    int64_t head_seq = 0, base_seq = 0;
    char head_hash[EVENT_HEX_LEN + 1], base_hash[EVENT_HEX_LEN + 1];
    struct event_chain chain;
    struct event ev;
    int first = 1;
    *count = 0;
    if (sqlite3_prepare_v2(ob->db, "SELECT head_seq, head_hash, base_seq, base_hash FROM chain", -1,
                           &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = db_fail(ob, err, "reading the chain head");
        goto out;
    }
    head_seq = sqlite3_column_int64(q, 0);
    snprintf(head_hash, sizeof head_hash, "%s", (const char *)sqlite3_column_text(q, 1));
    base_seq = sqlite3_column_int64(q, 2);
    snprintf(base_hash, sizeof base_hash, "%s", (const char *)sqlite3_column_text(q, 3));
    sqlite3_finalize(q);
    q = NULL;

    event_chain_init(&chain);
    if (sqlite3_prepare_v2(ob->db, "SELECT seq, hash, line FROM events ORDER BY seq", -1, &q,
                           NULL) != SQLITE_OK) {
        rc = db_fail(ob, err, "reading events");
        goto out;
    }
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(q, 0);
        const char *stored_hash = (const char *)sqlite3_column_text(q, 1);
        const char *line = sqlite3_column_blob(q, 2);
        size_t len = (size_t)sqlite3_column_bytes(q, 2);
        if (brk) {
            brk->line = (size_t)(*count + 1);
            brk->seq = seq;
        }
        if (first && base_seq > 0) {
            /* Resume from the prune point, for the device that wrote the first kept event. */
            if ((rc = event_parse(line, len, &ev, err)) != RC_OK)
                goto out;
            if ((rc = event_chain_resume(&chain, ev.device, base_seq, base_hash, err)) != RC_OK)
                goto out;
        }
        first = 0;
        if ((rc = event_chain_step(&chain, line, len, &ev, err)) != RC_OK)
            goto out;
        if (ev.seq != seq || strcmp(stored_hash, chain.head) != 0) {
            rc = rc_fail(err, RC_CONFLICT,
                         "outbox: event %lld: stored hash or seq disagrees "
                         "with its bytes",
                         (long long)seq);
            goto out;
        }
        (*count)++;
    }
    if (step != SQLITE_DONE) {
        rc = db_fail(ob, err, "reading events");
        goto out;
    }
    int64_t end_seq = first ? base_seq : chain.seq;
    const char *end_hash = first ? base_hash : chain.head;
    if (end_seq != head_seq || strcmp(end_hash, head_hash) != 0) {
        if (brk) {
            brk->line = (size_t)(*count + 1);
            brk->seq = end_seq + 1;
        }
        rc = rc_fail(err, RC_CONFLICT,
                     "outbox: chain ends at seq %lld but the recorded head is seq %lld",
                     (long long)end_seq, (long long)head_seq);
    }
out:
    sqlite3_finalize(q);
    return rc;
}

int outbox_state_get(outbox *ob, const char *key, char *out, size_t cap, char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(ob->db, "SELECT value FROM state WHERE key = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return db_fail(ob, err, "reading state");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
    else if (step == SQLITE_DONE)
        rc = RC_NOTFOUND;
    else
        rc = db_fail(ob, err, "reading state");
    sqlite3_finalize(q);
    return rc;
}

static int state_write(outbox *ob, const char *sql, const char *key, const char *value, char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (strlen(key) > OUTBOX_STATE_VALUE_MAX || (value && strlen(value) > OUTBOX_STATE_VALUE_MAX))
        return rc_fail(err, RC_LIMIT, "outbox: state entry '%.32s' is too long", key);
    if (sqlite3_prepare_v2(ob->db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(ob, err, "writing state");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    if (value)
        sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(ob, err, "writing state");
    sqlite3_finalize(q);
    return rc;
}

int outbox_state_set(outbox *ob, const char *key, const char *value, char *err)
{
    return state_write(ob, "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", key, value,
                       err);
}

int outbox_state_delete(outbox *ob, const char *key, char *err)
{
    return state_write(ob, "DELETE FROM state WHERE key = ?", key, NULL, err);
}

/* ---------------------------------------------------------------- the schedule */

struct schedule_put {
    const char *version;
    const char *body;
    size_t len;
    int64_t now_ms;
};

static int schedule_put_fn(outbox *ob, void *arg, char *err)
{
    const struct schedule_put *p = arg;
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(ob->db,
                           "INSERT OR REPLACE INTO schedule (one, version, body, fetched_ms, "
                           "checked_ms) VALUES (1, ?, ?, ?, ?)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(ob, err, "storing the schedule");
    sqlite3_bind_text(q, 1, p->version, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(q, 2, p->body, (sqlite3_uint64)p->len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, p->now_ms);
    sqlite3_bind_int64(q, 4, p->now_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(ob, err, "storing the schedule");
    sqlite3_finalize(q);
    return rc;
}

int outbox_schedule_put(outbox *ob, const char *version, const char *body, size_t len,
                        int64_t now_ms, char *err)
{
    if (len > OUTBOX_SCHEDULE_MAX || strlen(version) > OUTBOX_SCHEDULE_VERSION_MAX)
        return rc_fail(err, RC_LIMIT, "outbox: a schedule over %d bytes is refused",
                       OUTBOX_SCHEDULE_MAX);
    struct schedule_put p = {.version = version, .body = body, .len = len, .now_ms = now_ms};
    return with_reserve(ob, false, schedule_put_fn, &p, err);
}

static int schedule_touch_fn(outbox *ob, void *arg, char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    if (sqlite3_prepare_v2(ob->db, "UPDATE schedule SET checked_ms = ? WHERE one = 1", -1, &q,
                           NULL) != SQLITE_OK)
        return db_fail(ob, err, "updating the schedule");
    sqlite3_bind_int64(q, 1, *(const int64_t *)arg);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_fail(ob, err, "updating the schedule");
    else if (sqlite3_changes(ob->db) == 0)
        rc = rc_fail(err, RC_NOTFOUND, "outbox: no schedule stored");
    sqlite3_finalize(q);
    return rc;
}

int outbox_schedule_touch(outbox *ob, int64_t now_ms, char *err)
{
    return with_reserve(ob, false, schedule_touch_fn, &now_ms, err);
}

int outbox_schedule_get(outbox *ob, struct outbox_schedule_meta *meta, char **body, size_t *len,
                        char *err)
{
    sqlite3_stmt *q = NULL;
    int rc = RC_OK;
    memset(meta, 0, sizeof *meta);
    if (body)
        *body = NULL;
    if (sqlite3_prepare_v2(ob->db,
                           "SELECT version, fetched_ms, checked_ms, length(body), body "
                           "FROM schedule WHERE one = 1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(ob, err, "reading the schedule");
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {
        rc = rc_fail(err, RC_NOTFOUND, "no schedule received yet");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(ob, err, "reading the schedule");
        goto out;
    }
    snprintf(meta->version, sizeof meta->version, "%s", (const char *)sqlite3_column_text(q, 0));
    meta->fetched_ms = sqlite3_column_int64(q, 1);
    meta->checked_ms = sqlite3_column_int64(q, 2);
    sqlite3_int64 n = sqlite3_column_int64(q, 3);
    if (n < 0 || n > OUTBOX_SCHEDULE_MAX) {
        rc = rc_fail(err, RC_CORRUPT, "outbox: the stored schedule has %lld bytes", (long long)n);
        goto out;
    }
    meta->bytes = (size_t)n;
    if (body) {
        const void *b = sqlite3_column_blob(q, 4);
        if (!(*body = malloc((size_t)n + 1))) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        if (n > 0)
            memcpy(*body, b, (size_t)n);
        (*body)[n] = '\0';
        *len = (size_t)n;
    }
out:
    sqlite3_finalize(q);
    return rc;
}
