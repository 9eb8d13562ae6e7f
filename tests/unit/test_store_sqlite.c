/* labels: collector */
/* What only the SQLite back-end has: its URLs and WAL journal, a data migration checked in
 * the file, the device list it reads from its own tables, its cached statements, manual WAL
 * checkpoints, and its connection pool under concurrent writers (busy handling). The
 * database is inspected with SQLite's own API, not through the module under test. What every
 * back-end must do (migrations, tokens, signing keys, batch signatures, transactions) is in
 * test_store_contract.c, which runs on SQLite and PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc.h"
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SHA-256("abc") (FIPS 180-2 appendix B.1) and ("") as stand-in token hashes. */
#define HASH_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HASH_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct fixture {
    char dir[64];
    char path[128];
    char url[160];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rc-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/server.db", f->dir);
    snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Runs a one-value integer query on the file directly. */
static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long v = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void raw_exec_fails(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void urls_are_parsed(void **state)
{
    struct fixture *f = *state;
    store *st = NULL;
    char err[ERR_LEN];
    /* PostgreSQL URLs go to store_pg.c (test_store_contract.c): nothing listens on port 1. */
    assert_int_equal(store_open("postgresql://rollcall@127.0.0.1:1/rollcall", 0, &st, err), RC_DB);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_null(st);
    assert_int_equal(store_open("postgres://127.0.0.1:1/x", 0, &st, err), RC_DB);
    assert_int_equal(store_open("mysql://x", 0, &st, err), RC_INVAL);
    assert_int_equal(store_open("sqlite:", 0, &st, err), RC_INVAL);
    assert_int_equal(store_open("", 0, &st, err), RC_INVAL);
    assert_int_equal(store_open("/var/lib/x.db", 0, &st, err), RC_INVAL);
    /* Without CREATE a missing database is not made, and the advice names migrate. */
    assert_int_equal(store_open(f->url, 0, &st, err), RC_NOTFOUND);
    assert_non_null(strstr(err, "migrate"));
    assert_int_not_equal(access(f->path, F_OK), 0);
    assert_int_equal(store_open(f->url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_string_equal(store_backend(st), "sqlite");
    store_close(st);
    /* WAL is set on the file itself. */
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* Migration 10 gives a class stored before random roll-calls none, with the default window. */
static void migration_10_defaults_rollcalls(void **state)
{
    struct fixture *f = *state;
    store *st = NULL;
    char err[ERR_LEN];
    assert_int_equal(store_open(f->url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate_to(st, 8, NULL, NULL, err), RC_OK);
    raw_exec(f->path, "INSERT INTO institutions(id, district, pseudonym_key, created_at) VALUES "
                      "('I', '120103', zeroblob(32), 1);"
                      "INSERT INTO classes(id, institution, district, occupation, level, "
                      "applied_on, start_at, end_at, plan_json, created_at, updated_at, "
                      "updated_by) VALUES ('C', 'I', '120103', '2-02-10-09', 'junior', 1, 2, 3, "
                      "'{}', 1, 1, 'test');");
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    assert_int_equal(raw_int(f->path, "SELECT rollcalls FROM classes WHERE id = 'C'"), 0);
    assert_int_equal(raw_int(f->path, "SELECT rollcall_window_min FROM classes WHERE id = 'C'"),
                     10);
    raw_exec_fails(f->path, "UPDATE classes SET rollcall_window_min = 0");
    raw_exec_fails(f->path, "UPDATE classes SET rollcalls = -1");
    store_close(st);
}

static void devices_empty_until_enrolment(void **state)
{
    struct fixture *f = *state;
    store *st = NULL;
    char err[ERR_LEN];
    int64_t n = -1;
    assert_int_equal(store_open(f->url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    assert_int_equal(store_device_count_seen(st, &n, err), RC_OK);
    assert_int_equal(n, 0);
    /* Enrolment is later work; put rows in directly to check the read side. */
    raw_exec(f->path,
             "INSERT INTO institutions VALUES ('INST-0001', '120103', zeroblob(32), 1);"
             "INSERT INTO devices(id, institution, public_key_pem, enrolled_at, last_seen_at) "
             "VALUES ('K-02', 'INST-0001', 'pem', 1000, NULL),"
             "       ('K-01', 'INST-0001', 'pem', 2000, 3000);"
             "INSERT INTO chain_heads VALUES ('K-01', 7, '" HASH_ABC "', 3000);");
    assert_int_equal(store_device_count_seen(st, &n, err), RC_OK);
    assert_int_equal(n, 1);
    store_close(st);
    /* Foreign keys are enforced: a device of an unknown institution is refused. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO devices(id, institution, public_key_pem, "
                                      "enrolled_at) VALUES ('K-9', 'NOPE', 'pem', 1)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    /* (device, seq) is unique among events. */
    const char *ev = "INSERT INTO events(device, seq, event_id, raw, hash, prev, type, ts, "
                     "received_at) VALUES ('K-01', 1, 'e', x'00', '" HASH_ABC "', '" HASH_ABC
                     "', 'heartbeat', 1, 1)";
    assert_int_equal(sqlite3_exec(db, ev, NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, ev, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A row with every optional column set, for event i of device K-01. */
static struct store_event full_event(int64_t seq, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"seq\":%lld}", (long long)seq);
    struct store_event e = {
        .device = "K-01",
        .seq = seq,
        .event_id = "e",
        .raw = buf,
        .raw_len = strlen(buf),
        .hash = HASH_ABC,
        .prev = HASH_EMPTY,
        .type = "signin",
        .ts_ms = 10,
        .boot = "b",
        .mono_ms = 5,
        .trainee = "t",
        .trainee_masked = "m",
        .class_id = "c",
        .session = "s",
        .fence = "f",
        .verdict = "inside",
        .has_distance = true,
        .distance_m = 1.5,
        .has_fix = true,
        .fix_lat = 39.1,
        .fix_lon = 117.2,
        .has_eph = true,
        .fix_eph = 3.0,
        .fix_mode = 3,
        .has_fix_time = true,
        .fix_time_ms = 9,
        .fix_source = "gnss",
        .server_verdict = "inside",
        .has_server_distance = true,
        .server_distance_m = 1.25,
        .server_fence_version = 2,
        .camera = "cam",
        .file = "file",
        .has_start = true,
        .has_end = true,
        .start_ms = 1,
        .end_ms = 2,
        .kind = "k",
        .received_at_ms = 20,
    };
    return e;
}

/* The hot statements are prepared once per connection and reused: a row without the optional
 * columns after a full one must store NULLs (no binding carried over), reads must not hold a
 * snapshot open (another connection's commit is seen), and errors still come through. */
static void repeated_ingest_statements_start_clean(void **state)
{
    struct fixture *f = *state;
    store *st = NULL, *other = NULL;
    char err[ERR_LEN], raw[64], raw2[64], got[64];
    size_t len = 0;
    struct store_head head;
    assert_int_equal(store_open(f->url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    raw_exec(f->path, "INSERT INTO institutions VALUES ('INST-0001', '120103', zeroblob(32), 1);"
                      "INSERT INTO devices(id, institution, public_key_pem, enrolled_at) "
                      "VALUES ('K-01', 'INST-0001', 'pem', 1000);");
    for (int round = 0; round < 2; round++) {
        int64_t seq = 1 + 2 * round;
        struct store_event full = full_event(seq, raw, sizeof raw);
        struct store_event bare = {.device = "K-01",
                                   .seq = seq + 1,
                                   .event_id = "e2",
                                   .raw = raw2,
                                   .hash = HASH_EMPTY,
                                   .prev = HASH_ABC,
                                   .type = "heartbeat",
                                   .ts_ms = 11,
                                   .received_at_ms = 21};
        snprintf(raw2, sizeof raw2, "{\"seq\":%lld}", (long long)(seq + 1));
        bare.raw_len = strlen(raw2);
        assert_int_equal(store_begin(st, err), RC_OK);
        assert_int_equal(store_event_insert(st, &full, err), RC_OK);
        assert_int_equal(store_event_insert(st, &bare, err), RC_OK);
        assert_int_equal(store_event_insert(st, &bare, err), RC_CONFLICT);
        assert_non_null(strstr(err, "stored already"));
        assert_int_equal(store_head_advance(st, "K-01", seq + 1, HASH_EMPTY, 30, err), RC_OK);
        assert_int_equal(store_head_advance(st, "K-01", seq, HASH_ABC, 30, err), RC_CONFLICT);
        assert_int_equal(store_commit(st, err), RC_OK);
        assert_int_equal(store_event_raw(st, "K-01", seq + 1, got, sizeof got, &len, err), RC_OK);
        assert_int_equal(len, strlen(raw2));
        assert_memory_equal(got, raw2, len);
        assert_int_equal(store_event_raw(st, "K-01", 99, got, sizeof got, &len, err), RC_NOTFOUND);
    }
    /* Every optional column of the bare rows is NULL, of the full rows set. */
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM events WHERE seq IN (2, 4) AND trainee IS NULL "
                             "AND distance_m IS NULL AND fix_lat IS NULL AND fix_mode IS NULL "
                             "AND fix_source IS NULL AND server_distance_m IS NULL "
                             "AND server_fence_version IS NULL AND camera IS NULL "
                             "AND start_ts IS NULL AND end_ts IS NULL AND kind IS NULL "
                             "AND boot IS NULL"),
                     2);
    assert_int_equal(raw_int(f->path,
                             "SELECT count(*) FROM events WHERE seq IN (1, 3) AND trainee = 't' "
                             "AND distance_m = 1.5 AND fix_lat = 39.1 AND fix_mode = 3 "
                             "AND fix_source = 'gnss' AND server_distance_m = 1.25 "
                             "AND server_fence_version = 2 AND camera = 'cam' AND start_ts = 1 "
                             "AND end_ts = 2 AND kind = 'k' AND boot = 'b'"),
                     2);
    /* Another connection advances the head: this one sees it (no snapshot left open). */
    assert_int_equal(store_head_get(st, "K-01", &head, err), RC_OK);
    assert_int_equal(head.seq, 4);
    assert_int_equal(store_open(f->url, 0, &other, err), RC_OK);
    assert_int_equal(store_begin(other, err), RC_OK);
    assert_int_equal(store_head_advance(other, "K-01", 5, HASH_ABC, 40, err), RC_OK);
    assert_int_equal(store_commit(other, err), RC_OK);
    store_close(other);
    assert_int_equal(store_head_get(st, "K-01", &head, err), RC_OK);
    assert_int_equal(head.seq, 5);
    assert_string_equal(head.hash, HASH_ABC);
    store_close(st);
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* With STORE_OPEN_MANUAL_CHECKPOINT commits leave the WAL alone (it grows past SQLite's
 * 1000-page auto-checkpoint) until store_checkpoint copies it into the database file. */
static void manual_checkpoint_moves_the_wal(void **state)
{
    struct fixture *f = *state;
    store *st = NULL;
    char err[ERR_LEN], wal[200], raw[64];
    bool done = true;
    static char big[3000];
    memset(big, 'x', sizeof big);
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(store_open(f->url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    store_close(st);
    raw_exec(f->path, "INSERT INTO institutions VALUES ('INST-0001', '120103', zeroblob(32), 1);"
                      "INSERT INTO devices(id, institution, public_key_pem, enrolled_at) "
                      "VALUES ('K-01', 'INST-0001', 'pem', 1000);");
    assert_int_equal(store_open(f->url, STORE_OPEN_MANUAL_CHECKPOINT, &st, err), RC_OK);
    assert_int_equal(store_checkpoint(st, &done, err), RC_OK);
    assert_false(done); /* nothing written yet */
    long long db_before = file_size(f->path);
    for (int64_t seq = 1; seq <= 1500; seq++) {
        if (seq % 500 == 1)
            assert_int_equal(store_begin(st, err), RC_OK);
        struct store_event e = full_event(seq, raw, sizeof raw);
        e.raw = big;
        e.raw_len = sizeof big;
        assert_int_equal(store_event_insert(st, &e, err), RC_OK);
        if (seq % 500 == 0) {
            assert_int_equal(store_checkpoint(st, &done, err), RC_STATE); /* in a transaction */
            assert_int_equal(store_commit(st, err), RC_OK);
        }
    }
    /* 4.5 MB in the WAL, over 1000 pages of 4 KiB: no commit checkpointed. */
    assert_true(file_size(wal) > 1000LL * 4096);
    assert_int_equal(file_size(f->path), db_before);
    assert_int_equal(store_checkpoint(st, &done, err), RC_OK);
    assert_true(done);
    /* The checkpoint runs on the store's own thread: wait for the file to grow (30 s at most;
     * it takes milliseconds). */
    for (int i = 0; i < 3000 && file_size(f->path) < db_before + 1500LL * 3000; i++)
        usleep(10000);
    assert_true(file_size(f->path) >= db_before + 1500LL * 3000);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM events WHERE length(raw) = 3000"),
                     1500);
    store_close(st);
}

struct walk {
    char ids[4][STORE_ID_MAX + 1];
    int64_t heads[4];
    int n;
};

static int collect(const struct store_device *d, void *ctx)
{
    struct walk *w = ctx;
    snprintf(w->ids[w->n], sizeof w->ids[0], "%s", d->id);
    w->heads[w->n] = d->head_seq;
    w->n++;
    return 0;
}

static void devices_are_listed_in_order(void **state)
{
    struct fixture *f = *state;
    store *st = NULL;
    char err[ERR_LEN];
    devices_empty_until_enrolment(state);
    assert_int_equal(store_open(f->url, 0, &st, err), RC_OK);
    struct walk w = {0};
    assert_int_equal(store_device_list(st, 10, collect, &w, err), RC_OK);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.ids[0], "K-01");
    assert_int_equal(w.heads[0], 7);
    assert_string_equal(w.ids[1], "K-02");
    assert_int_equal(w.heads[1], 0);
    struct walk one = {0};
    assert_int_equal(store_device_list(st, 1, collect, &one, err), RC_OK);
    assert_int_equal(one.n, 1);
    store_close(st);
}

enum { WRITERS = 4, WRITES_EACH = 25 };

struct writer {
    store_pool *pool;
    int id;
    int failures;
};

static void *write_tokens(void *arg)
{
    struct writer *w = arg;
    char err[ERR_LEN];
    for (int i = 0; i < WRITES_EACH; i++) {
        store *st = store_pool_acquire(w->pool, 60000);
        if (!st) {
            w->failures++;
            continue;
        }
        struct store_token t = {0};
        snprintf(t.hash, sizeof t.hash, "%064d", w->id * 1000 + i);
        snprintf(t.name, sizeof t.name, "w%d-%d", w->id, i);
        snprintf(t.role, sizeof t.role, "admin");
        if (store_begin(st, err) != RC_OK || store_token_insert(st, &t, err) != RC_OK ||
            store_commit(st, err) != RC_OK)
            w->failures++;
        store_pool_release(w->pool, st);
    }
    return NULL;
}

static void pool_serves_concurrent_writers(void **state)
{
    struct fixture *f = *state;
    store *st = NULL;
    char err[ERR_LEN];
    assert_int_equal(store_open(f->url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    store_close(st);

    store_pool *pool = NULL;
    assert_int_equal(store_pool_open(f->url, 0, &pool, err), RC_INVAL);
    assert_int_equal(store_pool_open(f->url, 2, &pool, err), RC_OK);
    store *a = store_pool_acquire(pool, 1000);
    store *b = store_pool_acquire(pool, 1000);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_null(store_pool_acquire(pool, 10)); /* both taken: gives up */
    /* A connection released with an open transaction comes back rolled back. */
    assert_int_equal(store_begin(a, err), RC_OK);
    store_pool_release(pool, a);
    store_pool_release(pool, b);
    store_pool_close(pool);

    assert_int_equal(store_pool_open(f->url, WRITERS, &pool, err), RC_OK);
    pthread_t th[WRITERS];
    struct writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){.pool = pool, .id = i + 1};
        assert_int_equal(pthread_create(&th[i], NULL, write_tokens, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    store_pool_close(pool);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tokens"), WRITERS * WRITES_EACH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(urls_are_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(migration_10_defaults_rollcalls, setup, teardown),
        cmocka_unit_test_setup_teardown(devices_empty_until_enrolment, setup, teardown),
        cmocka_unit_test_setup_teardown(devices_are_listed_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(pool_serves_concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(repeated_ingest_statements_start_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(manual_checkpoint_moves_the_wal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
