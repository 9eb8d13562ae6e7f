/* labels: collector pg */
/* The storage contract: every op of store.h against every back-end, through store.h only
 * (the raw helpers below touch the database directly only for what no op can do or show: a
 * schema from the future, a revoked token, the migrations' own rows, a constraint of the
 * schema, the history an assessment leaves). SQLite always; PostgreSQL too when ROLLCALL_TEST_PG is a postgresql://
 * URL (scripts/pg-test-server.sh starts one; ctest's `pg` fixture sets it), in a database of
 * its own there (rc_store_contract). Each test gets an empty database: a fresh SQLite file, or
 * that database's public schema dropped and re-created. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/figures.h"
#include "engine/plan.h"
#include "event.h"
#include "rc.h"
#include "store/store.h"
#include "store/store_backend.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HASH_B "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HASH_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"
#define TRAINEE1 "1111111111111111111111111111111111111111111111111111111111111111"
#define TRAINEE2 "2222222222222222222222222222222222222222222222222222222222222222"
#define TRAINEE3 "3333333333333333333333333333333333333333333333333333333333333333"
#define CITY1 "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"

/* The back-end under test: "sqlite" or "postgresql", and its URL for the current test. */
static const char *backend;
static char pg_base[1024];
static char url[1200];
static char sqlite_dir[64];

static bool is_pg(void)
{
    return strcmp(backend, "postgresql") == 0;
}

/* Runs sql on the database directly (not through the store). */
static void raw_exec(const char *sql)
{
    if (is_pg()) {
        PGconn *c = PQconnectdb(url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(url + 7, &db), SQLITE_OK);
        char *msg = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
            fail_msg("%s: %s", sql, msg);
        sqlite3_close(db);
    }
}

/* A one-value integer query on the database directly (-1 when it returns no row). */
static long long raw_int(const char *sql)
{
    long long v = -1;
    if (is_pg()) {
        PGconn *c = PQconnectdb(url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        if (PQntuples(r) == 1)
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db = NULL;
        sqlite3_stmt *q = NULL;
        assert_int_equal(sqlite3_open(url + 7, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
        if (sqlite3_step(q) == SQLITE_ROW)
            v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
    }
    return v;
}

/* Runs sql directly and wants the database to refuse it (a constraint of the schema). */
static void raw_exec_fails(const char *sql)
{
    if (is_pg()) {
        PGconn *c = PQconnectdb(url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(url + 7, &db), SQLITE_OK);
        assert_int_not_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
}

static bool raw_table_exists(const char *table)
{
    char sql[200];
    if (is_pg())
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                 "AND table_name = '%s'",
                 table);
    else
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'", table);
    return raw_int(sql) == 1;
}

static int setup(void **state)
{
    (void)state;
    if (is_pg()) {
        snprintf(url, sizeof url, "%s", pg_base);
        raw_exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS public CASCADE; "
                 "CREATE SCHEMA public");
    } else {
        snprintf(sqlite_dir, sizeof sqlite_dir, "/tmp/rc-contract-XXXXXX");
        if (!mkdtemp(sqlite_dir))
            return -1;
        snprintf(url, sizeof url, "sqlite:%s/server.db", sqlite_dir);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!is_pg()) {
        char p[128];
        const char *suffix[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s/server.db%s", sqlite_dir, suffix[i]);
            unlink(p);
        }
        rmdir(sqlite_dir);
    }
    return 0;
}

/* A migrated store on the test's database. */
static store *open_migrated(void)
{
    char err[ERR_LEN];
    store *st = NULL;
    if (store_open(url, STORE_OPEN_CREATE, &st, err) != RC_OK)
        fail_msg("open %s: %s", url, err);
    if (store_migrate(st, NULL, NULL, err) != RC_OK)
        fail_msg("migrate: %s", err);
    assert_string_equal(store_backend(st), backend);
    return st;
}

/* ---- Migrations ---- */

static void migrations_idempotent_staged_and_newer_refused(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = NULL;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    int v = -1, from = -1, to = -1;
    assert_int_equal(store_schema_version(st, &v, err), RC_OK);
    assert_int_equal(v, 0);
    assert_int_equal(store_check_schema(st, err), RC_STATE);
    assert_int_equal(store_migrate_to(st, 3, &from, &to, err), RC_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, 3);
    assert_int_equal(store_migrate(st, &from, &to, err), RC_OK);
    assert_int_equal(from, 3);
    assert_int_equal(to, store_schema_latest(st));
    assert_int_equal(store_migrate(st, &from, &to, err), RC_OK);
    assert_int_equal(from, to);
    assert_int_equal(store_check_schema(st, err), RC_OK);
    assert_int_equal(store_migrate_to(st, 99, NULL, NULL, err), RC_INVAL);
    raw_exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (99, 'x', 0)");
    assert_int_equal(store_check_schema(st, err), RC_STATE);
    assert_non_null(strstr(err, "newer"));
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_STATE);
    store_close(st);
}

/* ---- Tokens ---- */

static void tokens(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    struct store_token t = {.created_at_ms = 1700000000123};
    snprintf(t.hash, sizeof t.hash, "%s", HASH_A);
    snprintf(t.name, sizeof t.name, "admin-1");
    snprintf(t.role, sizeof t.role, "admin");
    assert_int_equal(store_token_insert(st, &t, err), RC_OK);
    assert_int_equal(store_token_insert(st, &t, err), RC_CONFLICT);
    struct store_token got;
    assert_int_equal(store_token_lookup(st, HASH_A, &got, err), RC_OK);
    assert_string_equal(got.name, "admin-1");
    assert_string_equal(got.role, "admin");
    assert_int_equal(got.created_at_ms, 1700000000123);
    assert_int_equal(store_token_lookup(st, HASH_B, &got, err), RC_NOTFOUND);
    assert_int_equal(store_token_lookup(st, "abc", &got, err), RC_INVAL);
    store_close(st);
}

/* Appends "name:role:created_by:revoked_at:revoked_by:hash," to the 512-byte ctx. */
static int collect_tokens(const struct store_token *t, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s:%s:%s:%lld:%s:%s:%d,", t->name, t->role, t->created_by,
             (long long)t->revoked_at_ms, t->revoked_by, t->hash, t->revoked);
    return 0;
}

static int stop_at_first_token(const struct store_token *t, void *ctx)
{
    (void)t;
    (*(int *)ctx)++;
    return 7;
}

/* Tokens listed for the console (never their hash) and revoked: a revoked token is refused by
 * the next lookup, on this connection and on another one to the same database. */
static void tokens_list_and_revoke(void **state)
{
    (void)state;
    char err[ERR_LEN], list[512] = "";
    store *st = open_migrated(), *other = open_migrated();
    struct store_token t = {.created_at_ms = 100};
    snprintf(t.hash, sizeof t.hash, "%s", HASH_A);
    snprintf(t.name, sizeof t.name, "b-enrol");
    snprintf(t.role, sizeof t.role, "enroll:I-1");
    snprintf(t.created_by, sizeof t.created_by, "user:boss");
    assert_int_equal(store_token_insert(st, &t, err), RC_OK);
    struct store_token u = {.created_at_ms = 200};
    snprintf(u.hash, sizeof u.hash, "%s", HASH_B);
    snprintf(u.name, sizeof u.name, "a-admin");
    snprintf(u.role, sizeof u.role, "admin");
    assert_int_equal(store_token_insert(st, &u, err), RC_OK); /* created_by "": not known */
    assert_int_equal(store_token_list(st, collect_tokens, list, err), RC_OK);
    assert_string_equal(list, "a-admin:admin::0:::0,b-enrol:enroll:I-1:user:boss:0:::0,");
    int calls = 0;
    assert_int_equal(store_token_list(st, stop_at_first_token, &calls, err), 7);
    assert_int_equal(calls, 1);

    struct store_token got;
    assert_int_equal(store_token_lookup(other, HASH_A, &got, err), RC_OK);
    assert_int_equal(store_token_revoke(st, "b-enrol", "user:boss", 300, err), RC_OK);
    assert_int_equal(store_token_lookup(st, HASH_A, &got, err), RC_NOTFOUND);
    assert_int_equal(store_token_lookup(other, HASH_A, &got, err), RC_NOTFOUND);
    assert_int_equal(store_token_lookup(other, HASH_B, &got, err), RC_OK);
    assert_int_equal(store_token_revoke(other, "b-enrol", "a-admin", 400, err), RC_CONFLICT);
    assert_non_null(strstr(err, "revoked already"));
    assert_int_equal(store_token_revoke(st, "nobody", "a-admin", 400, err), RC_NOTFOUND);
    assert_int_equal(store_token_revoke(st, "", "a-admin", 400, err), RC_INVAL);
    list[0] = '\0';
    assert_int_equal(store_token_list(other, collect_tokens, list, err), RC_OK);
    assert_string_equal(list,
                        "a-admin:admin::0:::0,b-enrol:enroll:I-1:user:boss:300:user:boss::1,");
    /* The name stays taken: a revoked token's name is not handed out again. */
    snprintf(t.hash, sizeof t.hash, "%s", HASH_C);
    assert_int_equal(store_token_insert(st, &t, err), RC_CONFLICT);
    store_close(other);
    store_close(st);
}

/* ---- Institutions, enrolment, devices ---- */

static void enrol(store *st, const char *inst, const char *id, const char *fence)
{
    char err[ERR_LEN];
    uint8_t cand[STORE_INSTITUTION_KEY_LEN], key[STORE_INSTITUTION_KEY_LEN];
    bool created;
    memset(cand, inst[0], sizeof cand);
    cand[0] = 0; /* a NUL byte must survive as a byte */
    assert_int_equal(store_institution_key(st, inst, cand, 1, key, &created, err), RC_OK);
    struct store_enrolment e = {.assumed_eph_m = 7.5, .enrolled_at_ms = 1700000000000};
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.institution, sizeof e.institution, "%s", inst);
    snprintf(e.public_key_pem, sizeof e.public_key_pem, "-----BEGIN PUBLIC KEY-----\nX\n");
    snprintf(e.profile, sizeof e.profile, "x86-kiosk");
    snprintf(e.fence, sizeof e.fence, "%s", fence);
    if (store_enrolment_insert(st, &e, err) != RC_OK)
        fail_msg("enrol %s: %s", id, err);
}

static int collect_devices(const struct store_device *d, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s@%lld,", d->id, (long long)d->head_seq);
    return 0;
}

static void institutions_and_enrolment(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    uint8_t a[32], b[32], key[32];
    bool created = false;
    memset(a, 0xa5, sizeof a);
    memset(b, 0x5a, sizeof b);
    a[3] = 0;
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_institution_key(st, "I-1", a, 5, key, &created, err), RC_OK);
    assert_true(created);
    assert_memory_equal(key, a, 32);
    assert_int_equal(store_institution_key(st, "I-1", b, 6, key, &created, err), RC_OK);
    assert_false(created);
    assert_memory_equal(key, a, 32); /* the first key stays */
    assert_int_equal(store_commit(st, err), RC_OK);

    struct store_enrolment e = {.assumed_eph_m = 4.25, .enrolled_at_ms = 42};
    snprintf(e.id, sizeof e.id, "K-1");
    snprintf(e.institution, sizeof e.institution, "I-NONE");
    snprintf(e.public_key_pem, sizeof e.public_key_pem, "PEM");
    assert_int_equal(store_enrolment_insert(st, &e, err), RC_NOTFOUND);
    snprintf(e.institution, sizeof e.institution, "I-1");
    assert_int_equal(store_enrolment_insert(st, &e, err), RC_OK);
    assert_int_equal(store_enrolment_insert(st, &e, err), RC_CONFLICT);
    struct store_enrolment got;
    assert_int_equal(store_enrolment_get(st, "K-1", &got, err), RC_OK);
    assert_string_equal(got.institution, "I-1");
    assert_string_equal(got.profile, "");
    assert_string_equal(got.enrolled_by, ""); /* enrolled by no named token */
    assert_true(got.assumed_eph_m == 4.25);
    struct store_enrolment named = e;
    snprintf(named.id, sizeof named.id, "K-5");
    snprintf(named.enrolled_by, sizeof named.enrolled_by, "enrol-海河");
    assert_int_equal(store_enrolment_insert(st, &named, err), RC_OK);
    assert_int_equal(store_enrolment_get(st, "K-5", &got, err), RC_OK);
    assert_string_equal(got.enrolled_by, "enrol-海河");
    assert_int_equal(got.enrolled_at_ms, 42);
    snprintf(e.profile, sizeof e.profile, "arm");
    snprintf(e.fence, sizeof e.fence, "F-1");
    e.assumed_eph_m = 9;
    assert_int_equal(store_enrolment_update(st, &e, err), RC_OK);
    assert_int_equal(store_enrolment_get(st, "K-1", &got, err), RC_OK);
    assert_string_equal(got.profile, "arm");
    assert_string_equal(got.fence, "F-1");
    assert_int_equal(store_enrolment_get(st, "K-2", &got, err), RC_NOTFOUND);
    snprintf(e.id, sizeof e.id, "K-2");
    assert_int_equal(store_enrolment_update(st, &e, err), RC_NOTFOUND);

    /* districts */
    char district[STORE_DISTRICT_LEN + 1];
    assert_int_equal(store_institution_district(st, "I-1", district, err), RC_OK);
    assert_string_equal(district, "");
    assert_int_equal(store_institution_register(st, "I-1", "120103", err), RC_OK);
    assert_int_equal(store_institution_register(st, "I-1", "120103", err), RC_OK);
    assert_int_equal(store_institution_register(st, "I-1", "120104", err), RC_CONFLICT);
    assert_int_equal(store_institution_district(st, "I-1", district, err), RC_OK);
    assert_string_equal(district, "120103");
    assert_int_equal(store_institution_district(st, "I-9", district, err), RC_NOTFOUND);

    /* devices, seen and listed */
    enrol(st, "I-2", "K-0", "F-2");
    int64_t n = -1;
    assert_int_equal(store_device_count_seen(st, &n, err), RC_OK);
    assert_int_equal(n, 0);
    struct store_device_status s = {.has_queue = true, .queue = 12, .gnss = "gnss_lost"};
    assert_int_equal(store_device_seen(st, "K-1", &s, 100, err), RC_OK);
    assert_int_equal(store_device_seen(st, "K-9", &s, 100, err), RC_NOTFOUND);
    struct store_device_status s2 = {
        .has_skew = true, .clock_skew_ms = -5, .has_fix = true, .fix_mode = 3, .fix_ts_ms = 99};
    assert_int_equal(store_device_seen(st, "K-1", &s2, 200, err), RC_OK);
    assert_int_equal(store_device_count_seen(st, &n, err), RC_OK);
    assert_int_equal(n, 1);
    char list[256] = "";
    assert_int_equal(store_device_list(st, 10, collect_devices, list, err), RC_OK);
    assert_string_equal(list, "K-0@0,K-1@0,K-5@0,");
    list[0] = '\0';
    assert_int_equal(store_device_list(st, 1, collect_devices, list, err), RC_OK);
    assert_string_equal(list, "K-0@0,");
    list[0] = '\0';
    assert_int_equal(store_device_list_scoped(st, NULL, "120103", 10, collect_devices, list, err),
                     RC_OK);
    assert_string_equal(list, "K-1@0,K-5@0,");
    list[0] = '\0';
    assert_int_equal(store_device_list_scoped(st, "I-2", NULL, 10, collect_devices, list, err),
                     RC_OK);
    assert_string_equal(list, "K-0@0,");
    store_close(st);
}

static int device_status(const struct store_device *d, void *ctx)
{
    if (strcmp(d->id, "K-1") == 0)
        *(struct store_device *)ctx = *d;
    return 0;
}

static void device_status_keeps_unreported_fields(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    struct store_device_status s = {.has_queue = true, .queue = 12, .gnss = "gnss_lost"};
    assert_int_equal(store_device_seen(st, "K-1", &s, 100, err), RC_OK);
    struct store_device_status s2 = {
        .has_skew = true, .clock_skew_ms = -5, .has_fix = true, .fix_mode = 3, .fix_ts_ms = 99};
    assert_int_equal(store_device_seen(st, "K-1", &s2, 200, err), RC_OK);
    struct store_device d;
    memset(&d, 0, sizeof d);
    assert_int_equal(store_device_list(st, 10, device_status, &d, err), RC_OK);
    assert_int_equal(d.last_seen_at_ms, 200);
    assert_true(d.status.has_queue);
    assert_int_equal(d.status.queue, 12);
    assert_true(d.status.has_skew);
    assert_int_equal(d.status.clock_skew_ms, -5);
    assert_string_equal(d.status.gnss, "gnss_lost");
    assert_true(d.status.has_fix);
    assert_int_equal(d.status.fix_mode, 3);
    assert_int_equal(d.status.fix_ts_ms, 99);
    store_close(st);
}

/* ---- Events and chain heads ---- */

static struct store_event event(const char *device, int64_t seq, const char *raw,
                                const char *class_id)
{
    struct store_event e = {
        .device = device,
        .seq = seq,
        .event_id = "0190a000-0000-7000-8000-000000000001",
        .raw = raw,
        .raw_len = strlen(raw),
        .hash = HASH_A,
        .prev = ZEROS,
        .type = "signin",
        .ts_ms = 1000 * seq,
        .class_id = class_id ? class_id : "",
        .trainee = "",
        .trainee_masked = "",
        .session = "",
        .fence = "",
        .verdict = "",
        .server_verdict = class_id ? "inside" : "",
        .boot = "",
        .fix_source = "",
        .camera = "",
        .file = "",
        .kind = "",
        .received_at_ms = 5000 + seq,
    };
    return e;
}

static void events_exactly_once_and_heads_forward_only(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    struct store_head h;
    assert_int_equal(store_head_get(st, "K-1", &h, err), RC_OK);
    assert_int_equal(h.seq, 0);
    assert_string_equal(h.hash, ZEROS);

    const char *line = "{\"seq\":1,\"name\":\"张三\",\"x\":\"\\u0000\"}";
    assert_int_equal(store_begin(st, err), RC_OK);
    struct store_event e = event("K-1", 1, line, NULL);
    assert_int_equal(store_event_insert(st, &e, err), RC_OK);
    assert_int_equal(store_head_advance(st, "K-1", 1, HASH_B, 10, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);

    /* (device, seq) is unique: the same seq again is refused, never overwritten */
    struct store_event again = event("K-1", 1, "{\"other\":true}", NULL);
    assert_int_equal(store_event_insert(st, &again, err), RC_CONFLICT);
    char buf[256];
    size_t len = 0;
    assert_int_equal(store_event_raw(st, "K-1", 1, buf, sizeof buf, &len, err), RC_OK);
    assert_int_equal(len, strlen(line));
    assert_memory_equal(buf, line, len);
    assert_int_equal(store_event_raw(st, "K-1", 1, buf, 8, &len, err), RC_LIMIT);
    assert_int_equal(store_event_raw(st, "K-1", 2, buf, sizeof buf, &len, err), RC_NOTFOUND);

    assert_int_equal(store_head_get(st, "K-1", &h, err), RC_OK);
    assert_int_equal(h.seq, 1);
    assert_string_equal(h.hash, HASH_B);
    /* with the head, its event's clock columns */
    assert_true(h.has_event);
    assert_int_equal(h.ts_ms, 1000);
    assert_int_equal(h.mono_ms, 0);
    assert_string_equal(h.boot, "");
    assert_int_equal(store_head_advance(st, "K-1", 1, HASH_C, 11, err), RC_CONFLICT);
    assert_int_equal(store_head_advance(st, "K-1", 3, HASH_C, 11, err), RC_OK);
    assert_int_equal(store_head_advance(st, "K-1", 2, HASH_A, 12, err), RC_CONFLICT);
    assert_int_equal(store_head_get(st, "K-1", &h, err), RC_OK);
    assert_int_equal(h.seq, 3);
    assert_false(h.has_event); /* no event 3 (yet): the head alone */

    /* a rolled-back transaction leaves nothing */
    assert_int_equal(store_begin(st, err), RC_OK);
    struct store_event e2 = event("K-1", 2, "{\"seq\":2}", NULL);
    assert_int_equal(store_event_insert(st, &e2, err), RC_OK);
    store_rollback(st);
    assert_int_equal(store_event_raw(st, "K-1", 2, buf, sizeof buf, &len, err), RC_NOTFOUND);

    /* savepoints: undo part of a transaction */
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_savepoint(st, "batch", err), RC_OK);
    assert_int_equal(store_event_insert(st, &e2, err), RC_OK);
    assert_int_equal(store_rollback_to(st, "batch", err), RC_OK);
    assert_int_equal(store_release(st, "batch", err), RC_OK);
    assert_int_equal(store_savepoint(st, "Bad!", err), RC_INVAL);
    struct store_event e4 = event("K-1", 4, "{\"seq\":4}", NULL);
    assert_int_equal(store_savepoint(st, "batch", err), RC_OK);
    assert_int_equal(store_event_insert(st, &e4, err), RC_OK);
    assert_int_equal(store_release(st, "batch", err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(store_event_raw(st, "K-1", 2, buf, sizeof buf, &len, err), RC_NOTFOUND);
    assert_int_equal(store_event_raw(st, "K-1", 4, buf, sizeof buf, &len, err), RC_OK);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_begin(st, err), RC_STATE);
    store_rollback(st);
    assert_int_equal(store_commit(st, err), RC_STATE);
    assert_int_equal(store_savepoint(st, "batch", err), RC_STATE);

    int64_t count = 0, sum = 0;
    assert_int_equal(store_events_scan(st, &count, &sum, err), RC_OK);
    assert_int_equal(count, 2);
    assert_int_equal(sum, 1000 + 4000);
    store_close(st);
}

/* Two connections applying batches of one device: the second's write transaction must see
 * the first's head once it may go on (SQLite: the write lock; PostgreSQL: the device row
 * locked by store_head_get). Without that both would read head 0 and both "accept" seq 1. */
struct racer {
    store *st;
    pthread_mutex_t *m;
    pthread_cond_t *cv;
    bool *first_has_head;
    int64_t seen_seq;
    int rc;
};

static void *second_writer(void *arg)
{
    struct racer *r = arg;
    char err[ERR_LEN];
    pthread_mutex_lock(r->m);
    while (!*r->first_has_head)
        pthread_cond_wait(r->cv, r->m);
    pthread_mutex_unlock(r->m);
    struct store_head h;
    r->rc = store_begin(r->st, err);
    if (r->rc == RC_OK)
        r->rc = store_head_get(r->st, "K-1", &h, err);
    if (r->rc == RC_OK)
        r->seen_seq = h.seq;
    store_rollback(r->st);
    return NULL;
}

static void concurrent_writers_take_turns_on_a_device(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *a = open_migrated();
    enrol(a, "I-1", "K-1", "F-1");
    store *b = NULL;
    assert_int_equal(store_open(url, 0, &b, err), RC_OK);
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    bool first_has_head = false;
    struct racer r = {
        .st = b, .m = &m, .cv = &cv, .first_has_head = &first_has_head, .seen_seq = -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, second_writer, &r), 0);
    struct store_head h;
    assert_int_equal(store_begin(a, err), RC_OK);
    assert_int_equal(store_head_get(a, "K-1", &h, err), RC_OK);
    assert_int_equal(h.seq, 0);
    pthread_mutex_lock(&m);
    first_has_head = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
    usleep(200 * 1000); /* gives the second writer time to reach its read; not asserted */
    struct store_event e = event("K-1", 1, "{\"seq\":1}", NULL);
    assert_int_equal(store_event_insert(a, &e, err), RC_OK);
    assert_int_equal(store_head_advance(a, "K-1", 1, HASH_B, 1, err), RC_OK);
    assert_int_equal(store_commit(a, err), RC_OK);
    pthread_join(t, NULL);
    assert_int_equal(r.rc, RC_OK);
    assert_int_equal(r.seen_seq, 1);
    store_close(b);
    store_close(a);
}

/* Two connections putting the same new fence at once (two kiosks of one venue enrolling
 * together): the second takes its turn and finds the first's version 1 the same, instead of
 * inserting version 1 too and failing on the key (PostgreSQL: the fence id's advisory lock;
 * SQLite: the write lock). */
struct fence_racer {
    store *st;
    pthread_mutex_t *m;
    pthread_cond_t *cv;
    bool *go;
    enum store_fence_outcome outcome;
    int version, rc;
    char err[ERR_LEN];
};

static void *second_fence_put(void *arg)
{
    struct fence_racer *r = arg;
    pthread_mutex_lock(r->m);
    while (!*r->go)
        pthread_cond_wait(r->cv, r->m);
    pthread_mutex_unlock(r->m);
    r->rc = store_begin(r->st, r->err);
    if (r->rc == RC_OK)
        r->rc = store_fence_put(r->st, "F-NEW", "{}", HASH_C, "enrol:K-2", 2, false, &r->outcome,
                                &r->version, r->err);
    if (r->rc == RC_OK)
        r->rc = store_commit(r->st, r->err);
    else
        store_rollback(r->st);
    return NULL;
}

static void concurrent_puts_of_a_new_fence_agree(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *a = open_migrated();
    store *b = NULL;
    assert_int_equal(store_open(url, 0, &b, err), RC_OK);
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    bool go = false;
    struct fence_racer r = {.st = b, .m = &m, .cv = &cv, .go = &go, .rc = -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, second_fence_put, &r), 0);
    enum store_fence_outcome o;
    int v = 0;
    assert_int_equal(store_begin(a, err), RC_OK);
    assert_int_equal(store_fence_put(a, "F-NEW", "{}", HASH_C, "enrol:K-1", 1, false, &o, &v, err),
                     RC_OK);
    assert_true(o == STORE_FENCE_NEW && v == 1);
    pthread_mutex_lock(&m);
    go = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
    usleep(200 * 1000); /* gives the second time to reach its put; not asserted */
    assert_int_equal(store_commit(a, err), RC_OK);
    pthread_join(t, NULL);
    if (r.rc != RC_OK)
        fail_msg("the second put: %s", r.err);
    assert_true(r.outcome == STORE_FENCE_SAME && r.version == 1);
    /* outside a transaction of the caller's too */
    assert_int_equal(store_fence_put(b, "F-NEW", "{}", HASH_C, "adm", 3, false, &o, &v, err),
                     RC_OK);
    assert_true(o == STORE_FENCE_SAME && v == 1);
    store_close(b);
    store_close(a);
}

/* ---- Findings and fences ---- */

static int collect_findings(const struct store_finding_row *w, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s/%s/%lld/%s/%zu,", w->kind, w->device, (long long)w->seq,
             w->class_id, strlen(w->detail));
    return 0;
}

static int collect_conflicts(const char *device, int64_t seq, const char *event_id, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s:%lld:%s,", device, (long long)seq, event_id);
    return 0;
}

static void findings_and_fences(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    assert_int_equal(store_institution_register(st, "I-1", "120103", err), RC_OK);
    struct store_event e = event("K-1", 1, "{\"seq\":1}", NULL);
    assert_int_equal(store_event_insert(st, &e, err), RC_OK);
    char long_detail[STORE_DETAIL_MAX + 100];
    memset(long_detail, 'x', sizeof long_detail - 1);
    long_detail[sizeof long_detail - 1] = '\0';
    struct store_finding f1 = {.kind = "chain_conflict",
                               .severity = "high",
                               .device = "K-1",
                               .seq = 1,
                               .institution = "I-1",
                               .class_id = "",
                               .detail = long_detail,
                               .created_at_ms = 10};
    struct store_finding f2 = {.kind = "bad_event",
                               .severity = "low",
                               .device = "K-1",
                               .institution = "I-1",
                               .class_id = "C-1",
                               .detail = "d",
                               .created_at_ms = 20};
    assert_int_equal(store_finding_insert(st, &f1, err), RC_OK);
    assert_int_equal(store_finding_insert(st, &f2, err), RC_OK);
    char list[512] = "";
    assert_int_equal(store_finding_list(st, NULL, 10, collect_findings, list, err), RC_OK);
    char want[512];
    snprintf(want, sizeof want, "bad_event/K-1/0/C-1/1,chain_conflict/K-1/1//%d,",
             STORE_DETAIL_MAX);
    assert_string_equal(list, want);
    list[0] = '\0';
    struct store_finding_filter flt = {.district = "120103", .since_ms = 15};
    assert_int_equal(store_finding_list(st, &flt, 10, collect_findings, list, err), RC_OK);
    assert_string_equal(list, "bad_event/K-1/0/C-1/1,");
    list[0] = '\0';
    struct store_finding_filter other = {.district = "120199"};
    assert_int_equal(store_finding_list(st, &other, 10, collect_findings, list, err), RC_OK);
    assert_string_equal(list, "");
    assert_int_equal(store_device_conflicts(st, "K-1", collect_conflicts, list, err), RC_OK);
    assert_string_equal(list, "K-1:1:0190a000-0000-7000-8000-000000000001,");

    enum store_fence_outcome o;
    int v = 0;
    assert_int_equal(
        store_fence_put(st, "F-1", "{\"type\":\"Feature\"}", HASH_A, "adm", 1, false, &o, &v, err),
        RC_OK);
    assert_int_equal(o, STORE_FENCE_NEW);
    assert_int_equal(v, 1);
    assert_int_equal(store_fence_put(st, "F-1", "{}", HASH_A, "adm", 2, false, &o, &v, err), RC_OK);
    assert_int_equal(o, STORE_FENCE_SAME);
    assert_int_equal(store_fence_put(st, "F-1", "{}", HASH_B, "adm", 3, false, &o, &v, err),
                     RC_CONFLICT);
    assert_int_equal(store_fence_put(st, "F-1", "{\"v\":2}", HASH_B, "adm", 4, true, &o, &v, err),
                     RC_OK);
    assert_int_equal(o, STORE_FENCE_REPLACED);
    assert_int_equal(v, 2);
    struct store_fence cur;
    assert_int_equal(store_fence_current(st, "F-1", &cur, err), RC_OK);
    assert_int_equal(cur.version, 2);
    assert_string_equal(cur.geojson, "{\"v\":2}");
    assert_string_equal(cur.sha256, HASH_B);
    store_fence_clear(&cur);
    assert_int_equal(store_fence_current(st, "F-9", &cur, err), RC_NOTFOUND);
    store_close(st);
}

static int collect_detail_codes(const struct store_finding_row *w, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 1024 - n, "%s|%s|%s|%s;", w->kind, w->detail, w->detail_code, w->detail_args);
    return 0;
}

/* A finding's detail template code and arguments (migration 17) come back as stored; one
 * without (NULL, as every row before the migration) lists "" for both and keeps its detail;
 * arguments over STORE_DETAIL_ARGS_MAX (or a code without arguments) store neither. */
static void finding_detail_codes(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    struct store_finding coded = {.kind = "fence_unknown",
                                  .severity = "medium",
                                  .device = "K-1",
                                  .seq = 1,
                                  .institution = "I-1",
                                  .class_id = "C-1",
                                  .detail = "signin names fence 'F-9', which this server does "
                                            "not have",
                                  .detail_code = "fence_unknown",
                                  .detail_args = "{\"event\":\"@event_signin\",\"fence\":\"F-9\"}",
                                  .created_at_ms = 10};
    struct store_finding plain = coded, big = coded, half = coded;
    plain.kind = "bad_signature";
    plain.detail = "bad signature";
    plain.detail_code = plain.detail_args = NULL;
    plain.created_at_ms = 20;
    char args[STORE_DETAIL_ARGS_MAX + 32];
    int w = snprintf(args, sizeof args, "{\"fence\":\"");
    memset(args + w, 'x', STORE_DETAIL_ARGS_MAX);
    snprintf(args + w + STORE_DETAIL_ARGS_MAX, sizeof args - (size_t)w - STORE_DETAIL_ARGS_MAX,
             "\"}");
    big.kind = "big";
    big.detail_args = args;
    big.created_at_ms = 30;
    half.kind = "half";
    half.detail_args = NULL;
    half.created_at_ms = 40;
    assert_int_equal(store_finding_insert(st, &coded, err), RC_OK);
    assert_int_equal(store_finding_insert(st, &plain, err), RC_OK);
    assert_int_equal(store_finding_insert(st, &big, err), RC_OK);
    assert_int_equal(store_finding_insert(st, &half, err), RC_OK);
    char list[1024] = "";
    assert_int_equal(store_finding_list(st, NULL, 10, collect_detail_codes, list, err), RC_OK);
    assert_string_equal(list,
                        "half|signin names fence 'F-9', which this server does not have||;"
                        "big|signin names fence 'F-9', which this server does not have||;"
                        "bad_signature|bad signature||;"
                        "fence_unknown|signin names fence 'F-9', which this server does not "
                        "have|fence_unknown|{\"event\":\"@event_signin\",\"fence\":\"F-9\"};");
    store_close(st);
}

/* Appends "id@version:sha(first 4):created_at:created_by:superseded_at:devices," to ctx. */
static int collect_fences(const struct store_fence_info *f, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s@%d:%.4s:%lld:%s:%lld:%lld,", f->id, f->version, f->sha256,
             (long long)f->created_at_ms, f->created_by, (long long)f->superseded_at_ms,
             (long long)f->devices);
    return 0;
}

/* Every version of every fence, by id then newest first, with how many devices name it. */
static void fences_listed_with_versions_and_devices(void **state)
{
    (void)state;
    char err[ERR_LEN], list[512] = "";
    store *st = open_migrated();
    assert_int_equal(store_fence_list(st, collect_fences, list, err), RC_OK);
    assert_string_equal(list, "");
    enrol(st, "I-1", "K-1", "F-b");
    enrol(st, "I-1", "K-2", "F-b");
    enrol(st, "I-1", "K-3", "F-other");
    enum store_fence_outcome o;
    int v = 0;
    assert_int_equal(store_fence_put(st, "F-b", "{}", HASH_A, "adm", 10, false, &o, &v, err),
                     RC_OK);
    assert_int_equal(store_fence_put(st, "F-b", "{}", HASH_B, "user:boss", 20, true, &o, &v, err),
                     RC_OK);
    assert_int_equal(store_fence_put(st, "F-a", "{}", HASH_C, "adm", 30, false, &o, &v, err),
                     RC_OK);
    assert_int_equal(store_fence_list(st, collect_fences, list, err), RC_OK);
    assert_string_equal(list, "F-a@1:cccc:30:adm:0:0,F-b@2:e3b0:20:user:boss:0:2,"
                              "F-b@1:ba78:10:adm:20:2,");
    store_close(st);
}

/* ---- Classes, inputs, the generation and the figures cache ---- */

static struct plan *make_plan(const char *id, const char *inst)
{
    struct plan *p = calloc(1, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->institution, sizeof p->institution, "%s", inst);
    snprintf(p->district, sizeof p->district, "120103");
    snprintf(p->occupation, sizeof p->occupation, "4-01-02-01");
    p->level = CATALOGUE_INTERMEDIATE;
    p->applied_on_ms = 1790000000000;
    p->n_sessions = 2;
    snprintf(p->sessions[0].id, sizeof p->sessions[0].id, "S1");
    p->sessions[0].start_ms = 1790000000000;
    p->sessions[0].end_ms = 1790003600000;
    p->sessions[0].mode = PLAN_OFFLINE;
    snprintf(p->sessions[0].fence, sizeof p->sessions[0].fence, "F-1");
    snprintf(p->sessions[1].id, sizeof p->sessions[1].id, "S2");
    p->sessions[1].start_ms = 1790086400000;
    p->sessions[1].end_ms = 1790090000000;
    p->sessions[1].mode = PLAN_ONLINE;
    p->n_roster = 2;
    snprintf(p->roster[0].pseudonym, sizeof p->roster[0].pseudonym, TRAINEE1);
    snprintf(p->roster[0].masked, sizeof p->roster[0].masked, "120101********123X");
    snprintf(p->roster[0].name, sizeof p->roster[0].name, "张三");
    p->roster[0].student = true;
    snprintf(p->roster[1].pseudonym, sizeof p->roster[1].pseudonym, TRAINEE2);
    snprintf(p->roster[1].masked, sizeof p->roster[1].masked, "120101********4567");
    snprintf(p->roster[1].name, sizeof p->roster[1].name, "李四");
    return p;
}

static int64_t gen_of(store *st, const char *id)
{
    char err[ERR_LEN];
    struct store_class c;
    if (store_class_get(st, id, &c, err) != RC_OK)
        fail_msg("class_get: %s", err);
    return c.gen;
}

static int count_cb(const void *row, void *ctx)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static int count_online(const struct plan_online *o, void *ctx)
{
    return count_cb(o, ctx);
}
static int count_assess(const struct plan_assessment *a, void *ctx)
{
    return count_cb(a, ctx);
}
static int count_raw(const struct store_raw_event *e, void *ctx)
{
    assert_true(e->raw_len > 0);
    return count_cb(e, ctx);
}
static int count_reviews(const struct store_review *r, void *ctx)
{
    assert_string_equal(r->reason, "照片清楚 clear photo");
    return count_cb(r, ctx);
}
static int count_classes(const struct store_class *c, void *ctx)
{
    return count_cb(c, ctx);
}
static int count_devices(const char *d, const char *f, void *ctx)
{
    (void)f;
    return count_cb(d, ctx);
}
static int count_past(const struct store_subsidy_past *p, void *ctx)
{
    assert_string_equal(p->class_id, "C-OLD");
    return count_cb(p, ctx);
}

static int list_past(const struct store_subsidy_past *p, void *ctx)
{
    char *list = ctx;
    size_t n = strlen(list);
    snprintf(list + n, 256 - n, "%s,", p->class_id);
    return 0;
}

/* Migration 10's columns: the roll-call settings travel with the plan; a bad one is refused
 * and changes nothing. */
static void class_rollcall_settings(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    struct plan *p = make_plan("C-1", "I-1");
    struct plan *back = calloc(1, sizeof *back);
    bool created = false;
    p->rollcalls = 3;
    p->rollcall_window_min = 7;
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, p, "{}", "adm", 2, &created, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(store_class_plan(st, "C-1", back, err), RC_OK);
    assert_int_equal(back->rollcalls, 3);
    assert_int_equal(back->rollcall_window_min, 7);
    p->rollcalls = -1;
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_not_equal(store_class_put(st, p, "{}", "adm", 2, &created, err), RC_OK);
    store_rollback(st);
    assert_int_equal(store_class_plan(st, "C-1", back, err), RC_OK);
    assert_int_equal(back->rollcalls, 3);
    assert_int_equal(gen_of(st, "C-1"), 1);
    p->rollcalls = 0;
    p->rollcall_window_min = 0; /* unset: the default window */
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, p, "{}", "adm", 2, &created, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(store_class_plan(st, "C-1", back, err), RC_OK);
    assert_int_equal(back->rollcalls, 0);
    assert_int_equal(back->rollcall_window_min, PLAN_ROLLCALL_WINDOW_DEFAULT_MIN);
    assert_int_equal(gen_of(st, "C-1"), 2);
    free(p);
    free(back);
    store_close(st);
}

static void classes_inputs_and_generations(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    enrol(st, "I-2", "K-2", "F-9");
    struct plan *p = make_plan("C-1", "I-1");
    bool created = false;
    assert_int_equal(store_class_put(st, p, "{}", "adm", 1, &created, err), RC_STATE);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, p, "{}", "adm", 1, &created, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_true(created);
    struct store_class c;
    assert_int_equal(store_class_get(st, "C-1", &c, err), RC_OK);
    assert_int_equal(c.gen, 1);
    assert_int_equal(c.n_sessions, 2);
    assert_int_equal(c.n_roster, 2);
    assert_int_equal(c.level, CATALOGUE_INTERMEDIATE);
    assert_int_equal(c.start_ms, 1790000000000);
    assert_int_equal(c.end_ms, 1790090000000);
    assert_int_equal(store_class_get(st, "C-9", &c, err), RC_NOTFOUND);

    struct plan *back = calloc(1, sizeof *back);
    assert_int_equal(store_class_plan(st, "C-1", back, err), RC_OK);
    assert_int_equal(back->rollcalls, 0); /* none asked: none, and the default window */
    assert_int_equal(back->rollcall_window_min, PLAN_ROLLCALL_WINDOW_DEFAULT_MIN);
    assert_int_equal(back->n_sessions, 2);
    assert_string_equal(back->sessions[0].fence, "F-1");
    assert_int_equal(back->sessions[1].mode, PLAN_ONLINE);
    assert_string_equal(back->roster[0].name, "张三");
    assert_true(back->roster[0].student);
    assert_false(back->roster[1].student);

    /* another institution cannot take the class; a new plan bumps the generation */
    struct plan *q = make_plan("C-1", "I-2");
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, q, "{}", "adm", 2, &created, err), RC_CONFLICT);
    store_rollback(st);
    p->n_roster = 1;
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, p, "{}", "adm", 2, &created, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_false(created);
    assert_int_equal(gen_of(st, "C-1"), 2);
    assert_int_equal(store_class_get(st, "C-1", &c, err), RC_OK);
    assert_int_equal(c.n_roster, 1);

    /* every input bumps it, in the same transaction */
    struct store_event e = event("K-1", 1, "{\"class\":\"C-1\"}", "C-1");
    assert_int_equal(store_event_insert(st, &e, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 3);
    struct store_event nc = event("K-1", 2, "{\"hb\":1}", NULL);
    assert_int_equal(store_event_insert(st, &nc, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 3);
    struct plan_online o = {.start_ms = 1790086400000, .end_ms = 1790088000000};
    snprintf(o.class_id, sizeof o.class_id, "C-1");
    snprintf(o.trainee, sizeof o.trainee, TRAINEE1);
    snprintf(o.masked, sizeof o.masked, "120101********123X");
    snprintf(o.platform, sizeof o.platform, "zhijiao");
    bool dup = true;
    assert_int_equal(store_online_insert(st, &o, "adm", 3, &dup, err), RC_OK);
    assert_false(dup);
    assert_int_equal(gen_of(st, "C-1"), 4);
    assert_int_equal(store_online_insert(st, &o, "adm", 3, &dup, err), RC_OK);
    assert_true(dup);
    assert_int_equal(gen_of(st, "C-1"), 4);
    snprintf(o.class_id, sizeof o.class_id, "C-9");
    assert_int_equal(store_online_insert(st, &o, "adm", 3, &dup, err), RC_NOTFOUND);
    struct plan_assessment a = {.passed = true, .assessed_on_ms = 1790100000000};
    snprintf(a.class_id, sizeof a.class_id, "C-1");
    snprintf(a.trainee, sizeof a.trainee, TRAINEE1);
    snprintf(a.masked, sizeof a.masked, "120101********123X");
    snprintf(a.certificate, sizeof a.certificate, "CERT-1");
    assert_int_equal(store_assessment_put(st, &a, "ev", 4, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 5);
    assert_int_equal(store_assessment_put(st, &a, "ev", 5, err), RC_OK); /* identical */
    assert_int_equal(gen_of(st, "C-1"), 5);
    a.passed = false;
    a.certificate[0] = '\0';
    assert_int_equal(store_assessment_put(st, &a, "ev", 6, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 6);
    snprintf(a.class_id, sizeof a.class_id, "C-9");
    assert_int_equal(store_assessment_put(st, &a, "ev", 6, err), RC_NOTFOUND);
    struct store_review rv = {.seq = 1, .approved = true, .reviewed_at_ms = 7};
    snprintf(rv.device, sizeof rv.device, "K-1");
    snprintf(rv.event_id, sizeof rv.event_id, "%s", e.event_id);
    snprintf(rv.class_id, sizeof rv.class_id, "C-1");
    snprintf(rv.reason, sizeof rv.reason, "照片清楚 clear photo");
    snprintf(rv.reviewer, sizeof rv.reviewer, "district-1");
    assert_int_equal(store_review_insert(st, &rv, err), RC_OK);
    assert_true(rv.id > 0);
    int64_t first_id = rv.id;
    assert_int_equal(store_review_insert(st, &rv, err), RC_OK);
    assert_true(rv.id > first_id);
    assert_int_equal(gen_of(st, "C-1"), 8);
    rv.seq = 99; /* no such event */
    assert_int_equal(store_review_insert(st, &rv, err), RC_CONFLICT);

    int n = 0;
    assert_int_equal(store_online_list(st, "C-1", count_online, &n, err), RC_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_assessment_list(st, "C-1", count_assess, &n, err), RC_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_review_list(st, "C-1", count_reviews, &n, err), RC_OK);
    assert_int_equal(n, 1); /* the latest review per event */
    n = 0;
    assert_int_equal(store_class_events(st, "C-1", "I-1", count_raw, &n, err), RC_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_class_events(st, "C-1", "I-2", count_raw, &n, err), RC_OK);
    assert_int_equal(n, 0);
    n = 0;
    assert_int_equal(store_device_events(st, "K-1", 0, 10000, count_raw, &n, err), RC_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_class_devices(st, "C-1", "I-1", count_devices, &n, err), RC_OK);
    assert_int_equal(n, 1);
    n = 0;
    struct store_class_filter flt = {.institution = "I-1", .from_ms = 1790000000001};
    assert_int_equal(store_class_list(st, &flt, 10, count_classes, &n, err), RC_OK);
    assert_int_equal(n, 1);
    n = 0;
    struct store_class_filter late = {.from_ms = 1800000000000};
    assert_int_equal(store_class_list(st, &late, 10, count_classes, &n, err), RC_OK);
    assert_int_equal(n, 0);

    struct store_event_ref ref;
    assert_int_equal(store_event_find(st, e.event_id, &ref, err), RC_CONFLICT); /* seq 1 and 2 */
    struct store_event e3 = event("K-2", 1, "{\"x\":1}", NULL);
    e3.event_id = "0190a000-0000-7000-8000-00000000000f";
    assert_int_equal(store_event_find(st, e3.event_id, &ref, err), RC_NOTFOUND);
    assert_int_equal(store_event_insert(st, &e3, err), RC_OK);
    assert_int_equal(store_event_find(st, e3.event_id, &ref, err), RC_OK);
    assert_string_equal(ref.device, "K-2");
    assert_string_equal(ref.institution, "I-2");

    /* the figures cache: fresh only at its generation and before valid_until */
    struct store_figures fig = {.valid_until_ms = 1000,
                                .minutes_per_hour = 45,
                                .enrolled = 2,
                                .findings = {1, 2, 3},
                                .findings_pending = 4};
    bool found = true;
    struct store_figures got;
    int64_t g = gen_of(st, "C-1");
    assert_int_equal(store_figures_get(st, "C-1", "default", g, 10, &got, &found, err), RC_OK);
    assert_false(found);
    assert_int_equal(store_figures_put(st, "C-1", "default", g, &fig, 10, err), RC_OK);
    assert_int_equal(store_figures_get(st, "C-1", "default", g, 10, &got, &found, err), RC_OK);
    assert_true(found);
    assert_memory_equal(&got, &fig, sizeof fig);
    assert_int_equal(store_figures_get(st, "C-1", "default", g, 1000, &got, &found, err), RC_OK);
    assert_false(found); /* expired */
    assert_int_equal(store_figures_put(st, "C-1", "default", g - 1, &fig, 10, err), RC_OK);
    assert_int_equal(store_figures_get(st, "C-1", "default", g, 10, &got, &found, err), RC_OK);
    assert_true(found); /* a stale put stored nothing */
    assert_int_equal(store_figures_get(st, "C-1", "default", g - 1, 10, &got, &found, err), RC_OK);
    assert_false(found);
    /* many at once: each as store_figures_get would answer it, across a batch boundary, and
     * ids that need quoting in an array literal */
    {
        enum { N = STORE_FIGURES_BATCH + 3 };
        const char **ids = calloc(N, sizeof *ids);
        int64_t *gens = calloc(N, sizeof *gens);
        struct store_figures *many = calloc(N, sizeof *many);
        bool *hit = calloc(N, sizeof *hit);
        assert_non_null(ids);
        assert_non_null(gens);
        assert_non_null(many);
        assert_non_null(hit);
        for (size_t i = 0; i < N; i++) {
            ids[i] = i % 2 ? "C-\"quoted\\,{x}" : "C-none";
            gens[i] = g;
        }
        ids[0] = ids[STORE_FIGURES_BATCH + 1] = "C-1";
        ids[5] = "C-1";
        gens[5] = g - 1; /* another generation: not fresh */
        assert_int_equal(store_figures_get_many(st, ids, gens, N, "default", 10, many, hit, err),
                         RC_OK);
        for (size_t i = 0; i < N; i++) {
            bool want = i == 0 || i == STORE_FIGURES_BATCH + 1;
            if (hit[i] != want)
                fail_msg("class %zu (%s at %lld): found %d", i, ids[i], (long long)gens[i], hit[i]);
            if (want)
                assert_memory_equal(&many[i], &fig, sizeof fig);
        }
        assert_int_equal(store_figures_get_many(st, ids, gens, N, "default", 1000, many, hit, err),
                         RC_OK);
        for (size_t i = 0; i < N; i++)
            assert_false(hit[i]); /* expired */
        assert_int_equal(store_figures_get_many(st, ids, gens, N, "other", 10, many, hit, err),
                         RC_OK);
        assert_false(hit[0]); /* another policy */
        assert_int_equal(store_figures_get_many(st, ids, gens, 0, "default", 10, many, hit, err),
                         RC_OK);
        free(ids);
        free(gens);
        free(many);
        free(hit);
    }
    assert_int_equal(store_figures_clear(st, err), RC_OK);
    assert_int_equal(store_figures_get(st, "C-1", "default", g, 10, &got, &found, err), RC_OK);
    assert_false(found);

    /* subsidy history: a passed assessment of another class of the institution */
    struct plan *old = make_plan("C-OLD", "I-1");
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, old, "{}", "adm", 1, NULL, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    struct plan_assessment pa = {.passed = true, .assessed_on_ms = 1700000000000};
    snprintf(pa.class_id, sizeof pa.class_id, "C-OLD");
    snprintf(pa.trainee, sizeof pa.trainee, TRAINEE2);
    snprintf(pa.masked, sizeof pa.masked, "120101********4567");
    snprintf(pa.certificate, sizeof pa.certificate, "CERT-OLD");
    assert_int_equal(store_assessment_put(st, &pa, "ev", 1, err), RC_OK);
    n = 0;
    assert_int_equal(store_subsidy_history(st, "I-1", TRAINEE2, "C-1", count_past, &n, err), RC_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_subsidy_history(st, "I-1", TRAINEE2, "C-OLD", count_past, &n, err),
                     RC_OK);
    assert_int_equal(n, 0);

    /* city-wide: another institution's class whose roster holds the same city pseudonym */
    struct plan *a2 = make_plan("C-A2", "I-1"), *cb = make_plan("C-B", "I-2");
    a2->n_roster = cb->n_roster = 1;
    snprintf(a2->roster[0].city, sizeof a2->roster[0].city, CITY1);
    snprintf(cb->roster[0].pseudonym, sizeof cb->roster[0].pseudonym, TRAINEE3);
    snprintf(cb->roster[0].city, sizeof cb->roster[0].city, CITY1);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, a2, "{}", "adm", 1, NULL, err), RC_OK);
    assert_int_equal(store_class_put(st, cb, "{}", "adm", 1, NULL, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    struct plan_assessment pb = {.passed = true, .assessed_on_ms = 1700000000000};
    snprintf(pb.class_id, sizeof pb.class_id, "C-B");
    snprintf(pb.trainee, sizeof pb.trainee, TRAINEE3);
    snprintf(pb.masked, sizeof pb.masked, "120101********123X");
    snprintf(pb.certificate, sizeof pb.certificate, "CERT-OLD"); /* C-OLD's */
    assert_int_equal(store_assessment_put(st, &pb, "ev", 1, err), RC_CONFLICT);
    assert_non_null(strstr(err, "unique city-wide"));
    snprintf(pb.certificate, sizeof pb.certificate, "CERT-B");
    assert_int_equal(store_assessment_put(st, &pb, "ev", 1, err), RC_OK);
    char past[256] = "";
    assert_int_equal(store_subsidy_history(st, "I-1", TRAINEE1, "C-A2", list_past, past, err),
                     RC_OK);
    assert_non_null(strstr(past, "C-B,"));
    past[0] = '\0';
    /* C-1's roster has no city pseudonym: only its institution's history */
    assert_int_equal(store_subsidy_history(st, "I-1", TRAINEE1, "C-1", list_past, past, err),
                     RC_OK);
    assert_null(strstr(past, "C-B,"));
    free(a2);
    free(cb);

    /* a read transaction is one snapshot */
    assert_int_equal(store_begin_read(st, err), RC_OK);
    assert_true(store_in_transaction(st));
    assert_int_equal(store_class_get(st, "C-1", &c, err), RC_OK);
    store_rollback(st);
    assert_false(store_in_transaction(st));
    free(old);
    free(back);
    free(q);
    free(p);
    store_close(st);
}

/* ---- Accounts ---- */

static int count_users(const struct store_user *u, void *ctx)
{
    return count_cb(u, ctx);
}

static void accounts(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    struct store_user u = {.created_at_ms = 1, .password_changed_at_ms = 1};
    snprintf(u.name, sizeof u.name, "wang.li");
    snprintf(u.role, sizeof u.role, "district:120103");
    snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$v=19$m=65536,t=3,p=1$x$y");
    assert_int_equal(store_user_insert(st, &u, err), RC_OK);
    assert_int_equal(store_user_insert(st, &u, err), RC_CONFLICT);
    struct store_user got;
    assert_int_equal(store_user_get(st, "wang.li", &got, err), RC_OK);
    assert_string_equal(got.role, "district:120103");
    assert_int_equal(got.last_login_at_ms, 0);
    assert_int_equal(store_user_get(st, "nobody", &got, err), RC_NOTFOUND);
    int n = 0;
    assert_int_equal(store_user_list(st, count_users, &n, err), RC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_user_logged_in(st, "wang.li", 50, err), RC_OK);
    assert_int_equal(store_user_get(st, "wang.li", &got, err), RC_OK);
    assert_int_equal(got.last_login_at_ms, 50);

    assert_int_equal(store_session_insert(st, HASH_A, "wang.li", 100, 10, 100, err), RC_OK);
    assert_int_equal(store_session_insert(st, HASH_B, "nobody", 100, 10, 100, err), RC_NOTFOUND);
    assert_int_equal(store_session_insert(st, HASH_B, "wang.li", 100, 0, 100, err), RC_INVAL);
    struct store_session s;
    assert_int_equal(store_session_lookup(st, HASH_A, &s, err), RC_OK);
    assert_string_equal(s.user, "wang.li");
    assert_int_equal(s.idle_ms, 10);
    assert_int_equal(store_session_touch(st, HASH_A, 105, err), RC_OK);
    assert_int_equal(store_session_touch(st, HASH_A, 103, err), RC_OK); /* never backwards */
    assert_int_equal(store_session_lookup(st, HASH_A, &s, err), RC_OK);
    assert_int_equal(s.last_seen_at_ms, 105);
    assert_int_equal(store_session_purge(st, 114, err), RC_OK);
    assert_int_equal(store_session_lookup(st, HASH_A, &s, err), RC_OK);
    assert_int_equal(store_session_purge(st, 115, err), RC_OK);
    assert_int_equal(store_session_lookup(st, HASH_A, &s, err), RC_NOTFOUND);
    assert_int_equal(store_session_delete(st, HASH_A, err), RC_OK);

    /* disabling ends sessions and hides the user's sessions; a new password too */
    assert_int_equal(store_session_insert(st, HASH_A, "wang.li", 200, 10, 100, err), RC_OK);
    assert_int_equal(store_user_set_disabled(st, "wang.li", true, 201, err), RC_OK);
    assert_int_equal(store_session_lookup(st, HASH_A, &s, err), RC_NOTFOUND);
    assert_int_equal(store_session_insert(st, HASH_A, "wang.li", 202, 10, 100, err), RC_NOTFOUND);
    assert_int_equal(store_user_set_disabled(st, "wang.li", false, 203, err), RC_OK);
    assert_int_equal(store_user_set_disabled(st, "nobody", true, 203, err), RC_NOTFOUND);
    assert_int_equal(store_session_insert(st, HASH_A, "wang.li", 204, 10, 100, err), RC_OK);
    assert_int_equal(store_user_set_password(st, "wang.li", "$argon2id$new", 205, err), RC_OK);
    assert_int_equal(store_session_lookup(st, HASH_A, &s, err), RC_NOTFOUND);
    assert_int_equal(store_user_get(st, "wang.li", &got, err), RC_OK);
    assert_string_equal(got.password_hash, "$argon2id$new");
    assert_int_equal(got.password_changed_at_ms, 205);
    assert_int_equal(store_user_set_password(st, "nobody", "x", 205, err), RC_NOTFOUND);

    struct store_login_failures lf = {
        .failures = 3, .first_at_ms = 10, .last_at_ms = 20, .locked_until_ms = 0};
    struct store_login_failures lg;
    assert_int_equal(store_login_failures_get(st, HASH_C, &lg, err), RC_OK);
    assert_int_equal(lg.failures, 0);
    assert_int_equal(store_login_failures_put(st, HASH_C, &lf, 0, err), RC_OK);
    assert_int_equal(store_login_failures_put(st, HASH_B, &lf, 0, err), RC_OK);
    assert_int_equal(store_login_failures_get(st, HASH_C, &lg, err), RC_OK);
    assert_int_equal(lg.failures, 3);
    assert_int_equal(lg.last_at_ms, 20);
    lf.failures = 4;
    lf.last_at_ms = 30;
    assert_int_equal(store_login_failures_put(st, HASH_C, &lf, 25, err), RC_OK);
    assert_int_equal(store_login_failures_get(st, HASH_B, &lg, err), RC_OK);
    assert_int_equal(lg.failures, 0); /* forgotten: last tried before 25 */
    assert_int_equal(store_login_failures_clear(st, HASH_C, err), RC_OK);
    assert_int_equal(store_login_failures_get(st, HASH_C, &lg, err), RC_OK);
    assert_int_equal(lg.failures, 0);
    store_close(st);
}

/* ---- Evidence ---- */

static int collect_sigs(const struct store_batch_sig *b, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 128 - n, "%lld-%lld,", (long long)b->first_seq, (long long)b->last_seq);
    return 0;
}

static int count_keys(const struct store_signing_key *k, void *ctx)
{
    return count_cb(k, ctx);
}

/* "seq:raw:verdict:distance|-:fence version:received," per event; raw holds no NUL here
 * but may hold an escaped one, which must come back as the same six bytes. */
static int collect_records(const struct store_event_record *e, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    char dist[32] = "-";
    if (e->has_server_distance)
        snprintf(dist, sizeof dist, "%g", e->server_distance_m);
    snprintf(out + n, 512 - n, "%lld:%.*s:%s:%s:%d:%lld,", (long long)e->seq, (int)e->raw_len,
             e->raw, e->server_verdict, dist, e->server_fence_version,
             (long long)e->received_at_ms);
    return 0;
}

static int stop_after_one(const struct store_event_record *e, void *ctx)
{
    (void)e;
    ++*(int *)ctx;
    return 7;
}

static void evidence(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    struct store_batch_sig b = {.first_seq = 1, .last_seq = 5, .received_at_ms = 9};
    snprintf(b.device, sizeof b.device, "K-1");
    snprintf(b.last_hash, sizeof b.last_hash, HASH_A);
    snprintf(b.signature, sizeof b.signature, "MEUCIQ==");
    assert_int_equal(store_batch_sig_insert(st, &b, err), RC_OK);
    b.first_seq = 6;
    b.last_seq = 9;
    assert_int_equal(store_batch_sig_insert(st, &b, err), RC_OK);
    snprintf(b.device, sizeof b.device, "K-404");
    assert_int_equal(store_batch_sig_insert(st, &b, err), RC_CONFLICT);
    b.first_seq = 0;
    assert_int_equal(store_batch_sig_insert(st, &b, err), RC_INVAL);
    char list[128] = "";
    assert_int_equal(store_batch_sig_list(st, "K-1", 5, 6, collect_sigs, list, err), RC_OK);
    assert_string_equal(list, "1-5,6-9,");
    list[0] = '\0';
    assert_int_equal(store_batch_sig_list(st, "K-1", 7, 100, collect_sigs, list, err), RC_OK);
    assert_string_equal(list, "6-9,");

    struct store_signing_key k = {.created_at_ms = 100}, got;
    assert_int_equal(store_signing_key_current(st, &got, err), RC_NOTFOUND);
    snprintf(k.key_id, sizeof k.key_id, "0123456789abcdef");
    snprintf(k.public_key_pem, sizeof k.public_key_pem, "PEM-1");
    assert_int_equal(store_signing_key_add(st, &k, err), RC_OK);
    assert_int_equal(store_signing_key_add(st, &k, err), RC_CONFLICT);
    assert_int_equal(store_signing_key_current(st, &got, err), RC_OK); /* rolled back: kept */
    assert_string_equal(got.key_id, "0123456789abcdef");
    snprintf(k.key_id, sizeof k.key_id, "fedcba9876543210");
    k.created_at_ms = 200;
    assert_int_equal(store_signing_key_add(st, &k, err), RC_OK);
    assert_int_equal(store_signing_key_current(st, &got, err), RC_OK);
    assert_string_equal(got.key_id, "fedcba9876543210");
    assert_int_equal(store_signing_key_get(st, "0123456789abcdef", &got, err), RC_OK);
    assert_int_equal(got.retired_at_ms, 200);
    assert_int_equal(store_signing_key_get(st, "0000000000000000", &got, err), RC_NOTFOUND);
    int n = 0;
    assert_int_equal(store_signing_key_list(st, count_keys, &n, err), RC_OK);
    assert_int_equal(n, 2);

    /* the events of a range, with what the collector judged, by seq */
    const char *line2 = "{\"seq\":2,\"name\":\"张三\",\"x\":\"\\u0000\"}";
    struct store_event e1 = event("K-1", 1, "{\"seq\":1}", NULL);
    struct store_event e2 = event("K-1", 2, line2, NULL);
    e2.server_verdict = "inside";
    e2.has_server_distance = true;
    e2.server_distance_m = 12.625;
    e2.server_fence_version = 3;
    struct store_event e3 = event("K-1", 3, "{\"seq\":3}", NULL);
    assert_int_equal(store_event_insert(st, &e3, err), RC_OK);
    assert_int_equal(store_event_insert(st, &e1, err), RC_OK);
    assert_int_equal(store_event_insert(st, &e2, err), RC_OK);
    char range[512] = "";
    assert_int_equal(store_event_range(st, "K-1", 2, 9, collect_records, range, err), RC_OK);
    char want[512];
    snprintf(want, sizeof want, "2:%s:inside:12.625:3:5002,3:{\"seq\":3}::-:0:5003,", line2);
    assert_string_equal(range, want);
    range[0] = '\0';
    assert_int_equal(store_event_range(st, "K-1", 4, 9, collect_records, range, err), RC_OK);
    assert_string_equal(range, "");
    assert_int_equal(store_event_range(st, "K-404", 1, 9, collect_records, range, err), RC_OK);
    assert_string_equal(range, "");
    int stop = 0;
    assert_int_equal(store_event_range(st, "K-1", 1, 9, stop_after_one, &stop, err), 7);
    assert_int_equal(stop, 1);

    /* a fence's every version stays readable */
    enum store_fence_outcome o;
    int v = 0;
    assert_int_equal(store_fence_put(st, "F-1", "{\"v\":1}", HASH_A, "adm", 1, false, &o, &v, err),
                     RC_OK);
    assert_int_equal(store_fence_put(st, "F-1", "{\"v\":2}", HASH_B, "adm", 2, true, &o, &v, err),
                     RC_OK);
    struct store_fence f;
    assert_int_equal(store_fence_version(st, "F-1", 1, &f, err), RC_OK);
    assert_int_equal(f.version, 1);
    assert_string_equal(f.geojson, "{\"v\":1}");
    assert_string_equal(f.sha256, HASH_A);
    assert_int_equal(f.created_at_ms, 1);
    store_fence_clear(&f);
    assert_int_equal(store_fence_version(st, "F-1", 2, &f, err), RC_OK);
    assert_string_equal(f.geojson, "{\"v\":2}");
    store_fence_clear(&f);
    assert_int_equal(store_fence_version(st, "F-1", 3, &f, err), RC_NOTFOUND);
    assert_int_equal(store_fence_version(st, "F-9", 1, &f, err), RC_NOTFOUND);

    /* a publication is frozen: stored once, read back byte for byte */
    char body1[] = "{\"年\":2030}\n", body2[] = "{\"other\":1}";
    struct store_publication pub = {.year = 2030, .body = body1, .published_at_ms = 77};
    snprintf(pub.key_id, sizeof pub.key_id, "fedcba9876543210");
    snprintf(pub.signature, sizeof pub.signature, "MEUCIQ==");
    struct store_publication back;
    assert_int_equal(store_publication_get(st, 2030, &back, err), RC_NOTFOUND);
    assert_int_equal(store_publication_put(st, &pub, err), RC_OK);
    pub.body = body2;
    assert_int_equal(store_publication_put(st, &pub, err), RC_CONFLICT);
    assert_int_equal(store_publication_get(st, 2030, &back, err), RC_OK);
    assert_int_equal(back.year, 2030);
    assert_string_equal(back.body, "{\"年\":2030}\n");
    assert_string_equal(back.key_id, "fedcba9876543210");
    assert_string_equal(back.signature, "MEUCIQ==");
    assert_int_equal(back.published_at_ms, 77);
    free(back.body);
    assert_int_equal(store_publication_get(st, 2031, &back, err), RC_NOTFOUND);
    store_close(st);
}

/* ---- The subsidy procedure ---- */

static int collect_steps(const struct store_step *s, void *ctx)
{
    char *list = ctx;
    size_t n = strlen(list);
    snprintf(list + n, 512 - n, "%s/%s:%s>%s[%s]%s;", s->kind, s->subject, s->action, s->state,
             s->finding, s->reason);
    return 0;
}

static struct store_step step(const char *kind, const char *subject, int64_t prev,
                              const char *action, const char *state, const char *finding)
{
    struct store_step s;
    memset(&s, 0, sizeof s);
    s.prev = prev;
    snprintf(s.kind, sizeof s.kind, "%s", kind);
    snprintf(s.subject, sizeof s.subject, "%s", subject);
    snprintf(s.action, sizeof s.action, "%s", action);
    snprintf(s.state, sizeof s.state, "%s", state);
    snprintf(s.finding, sizeof s.finding, "%s", finding);
    snprintf(s.by, sizeof s.by, "user:wang (admin)");
    s.on_ms = 1770000000000;
    s.at_ms = 1770000000123;
    return s;
}

static void procedure_steps(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    struct store_step a = step("application", "C-1", 0, "submit", "submitted", "late_application");
    assert_int_equal(store_step_insert(st, &a, err), RC_OK);
    assert_true(a.id > 0);
    struct store_step b = step("application", "C-1", a.id, "return", "returned", "");
    snprintf(b.reason, sizeof b.reason, "缺少考核计划 no assessment plan");
    assert_int_equal(store_step_insert(st, &b, err), RC_OK);
    /* A second step after the same one, or after a step that is no longer the last: refused. */
    struct store_step c = step("application", "C-1", a.id, "approve", "approved", "");
    assert_int_equal(store_step_insert(st, &c, err), RC_CONFLICT);
    assert_non_null(strstr(err, "changed meanwhile"));
    struct store_step first = step("application", "C-1", 0, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &first, err), RC_CONFLICT);
    struct store_step d = step("application", "C-1", b.id, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &d, err), RC_OK);
    /* Chains are per kind and subject. */
    struct store_step e = step("application", "C-2", 0, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &e, err), RC_OK);
    struct store_step f = step("claim", "C-1", 0, "submit", "submitted", "late_claim");
    snprintf(f.data, sizeof f.data, "{\"total_yuan\":4026}");
    assert_int_equal(store_step_insert(st, &f, err), RC_OK);
    struct store_step bad = step("living", "C-1", 0, "submit", "submitted", "");
    assert_int_not_equal(store_step_insert(st, &bad, err), RC_OK);
    /* The living allowance (migration 13): one chain per city-wide pseudonym. */
    const char *city = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
    struct store_step g = step("allowance", city, 0, "submit", "submitted", "");
    snprintf(g.data, sizeof g.data, "{\"class\":\"C-1\"}");
    assert_int_equal(store_step_insert(st, &g, err), RC_OK);
    struct store_step again = step("allowance", city, 0, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &again, err), RC_CONFLICT);
    char list[512] = "";
    assert_int_equal(store_step_list(st, "application", "C-1", collect_steps, list, err), RC_OK);
    assert_string_equal(list, "application/C-1:submit>submitted[late_application];"
                              "application/C-1:return>returned[]缺少考核计划 no assessment plan;"
                              "application/C-1:submit>submitted[];");
    list[0] = '\0';
    assert_int_equal(store_step_list(st, "application", NULL, collect_steps, list, err), RC_OK);
    assert_non_null(strstr(list, "application/C-2:submit>submitted[];"));
    assert_null(strstr(list, "claim/"));
    list[0] = '\0';
    assert_int_equal(store_step_list(st, "claim", "C-1", collect_steps, list, err), RC_OK);
    assert_string_equal(list, "claim/C-1:submit>submitted[late_claim];");
    list[0] = '\0';
    assert_int_equal(store_step_list(st, "allowance", NULL, collect_steps, list, err), RC_OK);
    char want[160];
    snprintf(want, sizeof want, "allowance/%s:submit>submitted[];", city);
    assert_string_equal(list, want);
    store_close(st);
}

/* Migration 13 widens the kinds of step (SQLite rebuilds the table): the steps stored before
 * keep their ids, chains and texts, the chain index still refuses a fork, and an allowance
 * can be stored after it, not before. */
static void procedure_steps_kept_by_migration_13(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = NULL;
    int from = -1, to = -1;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate_to(st, 12, NULL, NULL, err), RC_OK);
    struct store_step a = step("application", "C-1", 0, "submit", "submitted", "late_application");
    assert_int_equal(store_step_insert(st, &a, err), RC_OK);
    struct store_step b = step("application", "C-1", a.id, "return", "returned", "");
    snprintf(b.reason, sizeof b.reason, "缺少考核计划");
    assert_int_equal(store_step_insert(st, &b, err), RC_OK);
    const char *city = "abababababababababababababababababababababababababababababababab";
    struct store_step early = step("allowance", city, 0, "submit", "submitted", "");
    assert_int_not_equal(store_step_insert(st, &early, err), RC_OK);
    assert_int_equal(store_migrate(st, &from, &to, err), RC_OK);
    assert_int_equal(from, 12);
    assert_int_equal(to, store_schema_latest(st));
    char list[512] = "";
    assert_int_equal(store_step_list(st, "application", "C-1", collect_steps, list, err), RC_OK);
    assert_string_equal(list, "application/C-1:submit>submitted[late_application];"
                              "application/C-1:return>returned[]缺少考核计划;");
    struct store_step fork = step("application", "C-1", a.id, "approve", "approved", "");
    assert_int_equal(store_step_insert(st, &fork, err), RC_CONFLICT);
    struct store_step c = step("application", "C-1", b.id, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &c, err), RC_OK);
    assert_true(c.id > b.id);
    struct store_step g = step("allowance", city, 0, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &g, err), RC_OK);
    store_close(st);
}

/* A migrated store with device K-1 of I-1 enrolled and class C-1 (*p, free it) stored. */
static store *open_with_class(struct plan **p)
{
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    *p = make_plan("C-1", "I-1");
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, *p, "{}", "adm", 1, NULL, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    return st;
}

static struct store_batch_sig batch_sig(const char *device, int64_t first, int64_t last,
                                        const char *hash, int64_t at)
{
    struct store_batch_sig b = {.first_seq = first, .last_seq = last, .received_at_ms = at};
    snprintf(b.device, sizeof b.device, "%s", device);
    snprintf(b.last_hash, sizeof b.last_hash, "%s", hash);
    snprintf(b.signature, sizeof b.signature, "MEUCIQ%lld", (long long)last);
    return b;
}

/* store_batch_close: head, signature and the device's status together (one statement on
 * PostgreSQL); a head at or beyond the batch's end is RC_CONFLICT, and an unknown device
 * fails too, neither leaving anything once the caller rolls back; a malformed signature
 * record is RC_INVAL. */
static void batch_close_moves_head_signs_and_sees(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    struct store_device_status s = {.has_queue = true, .queue = 7, .gnss = "gnss_fix"};
    struct store_batch_sig b = batch_sig("K-1", 1, 5, HASH_B, 300);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_batch_close(st, &b, &s, 300, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    struct store_head h;
    assert_int_equal(store_head_get(st, "K-1", &h, err), RC_OK);
    assert_int_equal(h.seq, 5);
    assert_string_equal(h.hash, HASH_B);
    char list[128] = "";
    assert_int_equal(store_batch_sig_list(st, "K-1", 1, 100, collect_sigs, list, err), RC_OK);
    assert_string_equal(list, "1-5,");
    struct store_device d;
    memset(&d, 0, sizeof d);
    assert_int_equal(store_device_list(st, 10, device_status, &d, err), RC_OK);
    assert_int_equal(d.last_seen_at_ms, 300);
    assert_true(d.status.has_queue && d.status.queue == 7 && !d.status.has_skew);
    assert_string_equal(d.status.gnss, "gnss_fix");

    /* the head is at 5: a batch ending at 5 again, or before, changes nothing */
    struct store_device_status s2 = {.has_skew = true, .clock_skew_ms = 9};
    struct store_batch_sig again = batch_sig("K-1", 4, 5, HASH_C, 400);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_batch_close(st, &again, &s2, 400, err), RC_CONFLICT);
    assert_non_null(strstr(err, "K-1"));
    store_rollback(st);
    assert_int_equal(store_head_get(st, "K-1", &h, err), RC_OK);
    assert_true(h.seq == 5 && strcmp(h.hash, HASH_B) == 0);
    list[0] = '\0';
    assert_int_equal(store_batch_sig_list(st, "K-1", 1, 100, collect_sigs, list, err), RC_OK);
    assert_string_equal(list, "1-5,");
    memset(&d, 0, sizeof d);
    assert_int_equal(store_device_list(st, 10, device_status, &d, err), RC_OK);
    assert_true(d.last_seen_at_ms == 300 && !d.status.has_skew);

    /* the next batch: the head moves on, a second signature, the skew recorded, the queue
     * kept (not reported this time) */
    struct store_batch_sig next = batch_sig("K-1", 6, 8, HASH_C, 500);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_batch_close(st, &next, &s2, 500, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(store_head_get(st, "K-1", &h, err), RC_OK);
    assert_true(h.seq == 8 && strcmp(h.hash, HASH_C) == 0);
    list[0] = '\0';
    assert_int_equal(store_batch_sig_list(st, "K-1", 1, 100, collect_sigs, list, err), RC_OK);
    assert_string_equal(list, "1-5,6-8,");
    memset(&d, 0, sizeof d);
    assert_int_equal(store_device_list(st, 10, device_status, &d, err), RC_OK);
    assert_int_equal(d.last_seen_at_ms, 500);
    assert_true(d.status.has_queue && d.status.queue == 7);
    assert_true(d.status.has_skew && d.status.clock_skew_ms == 9);

    /* an unknown device, a malformed record */
    struct store_batch_sig stranger = batch_sig("K-9", 1, 1, HASH_A, 600);
    assert_int_equal(store_begin(st, err), RC_OK);
    int rc = store_batch_close(st, &stranger, &s, 600, err);
    store_rollback(st);
    assert_int_not_equal(rc, RC_OK);
    assert_int_equal(store_head_get(st, "K-9", &h, err), RC_OK);
    assert_int_equal(h.seq, 0);
    struct store_batch_sig bad = batch_sig("K-1", 9, 8, HASH_A, 700);
    assert_int_equal(store_batch_close(st, &bad, &s, 700, err), RC_INVAL);
    store_close(st);
}

/* store_events_insert: 40 rows in one call (PostgreSQL: statements of 16, 16 and 8 rows), each
 * line's bytes and ts back as given; a set with one stored seq stores none of its
 * rows (inside a savepoint, which the caller rolls back), and its error names the device; each
 * class written is bumped once. */
static void events_inserted_many_at_once(void **state)
{
    (void)state;
    char err[ERR_LEN];
    struct plan *p = NULL;
    store *st = open_with_class(&p);
    int64_t gen = gen_of(st, "C-1");
    enum { N = 40 };
    static char raw[N][64];
    struct store_event rows[N];
    for (int i = 0; i < N; i++) {
        snprintf(raw[i], sizeof raw[i], "{\"seq\":%d,\"t\":\"签到 %d\"}", i + 1, i * 7);
        rows[i] = event("K-1", i + 1, raw[i], i % 3 == 0 ? "C-1" : NULL);
        rows[i].has_fix = i % 2 == 0;
        rows[i].fix_lat = 39.1 + i * 1e-6;
        rows[i].fix_lon = 117.2;
        rows[i].fix_mode = 3;
    }
    rows[N - 1].boot = "3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3";
    rows[N - 1].mono_ms = 123456;
    /* no transaction of the caller's: one of its own */
    assert_int_equal(store_events_insert(st, rows, N, err), RC_OK);
    assert_int_equal(store_head_advance(st, "K-1", N, HASH_B, 10, err), RC_OK);
    struct store_head h;
    assert_int_equal(store_head_get(st, "K-1", &h, err), RC_OK);
    assert_true(h.has_event && h.seq == N && h.ts_ms == 1000 * N && h.mono_ms == 123456);
    assert_string_equal(h.boot, "3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3");
    assert_int_equal(gen_of(st, "C-1"), gen + 1);
    char buf[128];
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(store_event_raw(st, "K-1", i + 1, buf, sizeof buf, &len, err), RC_OK);
        assert_int_equal(len, strlen(raw[i]));
        assert_memory_equal(buf, raw[i], len);
    }
    int64_t count = 0, sum = 0;
    assert_int_equal(store_events_scan(st, &count, &sum, err), RC_OK);
    assert_int_equal(count, N);
    assert_int_equal(sum, 1000LL * N * (N + 1) / 2);

    /* 41..60 with 40 among them (the third statement's rows on PostgreSQL hold it): none of
     * 41..60 stays once the savepoint is rolled back, and 61.. go in afterwards */
    static char more_raw[30][64];
    struct store_event more[30];
    for (int i = 0; i < 30; i++) {
        snprintf(more_raw[i], sizeof more_raw[i], "{\"seq\":%d}", 41 + i);
        more[i] = event("K-1", 41 + i, more_raw[i], NULL);
    }
    more[20].seq = 40; /* stored already */
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_savepoint(st, "batch", err), RC_OK);
    assert_int_equal(store_events_insert(st, more, 30, err), RC_CONFLICT);
    assert_non_null(strstr(err, "K-1"));
    assert_int_equal(store_rollback_to(st, "batch", err), RC_OK);
    assert_int_equal(store_release(st, "batch", err), RC_OK);
    assert_int_equal(store_events_insert(st, &more[21], 9, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(store_event_raw(st, "K-1", 41, buf, sizeof buf, &len, err), RC_NOTFOUND);
    assert_int_equal(store_event_raw(st, "K-1", 60, buf, sizeof buf, &len, err), RC_NOTFOUND);
    assert_int_equal(store_event_raw(st, "K-1", 62, buf, sizeof buf, &len, err), RC_OK);
    assert_int_equal(store_events_scan(st, &count, &sum, err), RC_OK);
    assert_int_equal(count, N + 9);
    /* outside a transaction a failing set stores none of its rows either */
    assert_int_equal(store_events_insert(st, more, 21, err), RC_CONFLICT);
    assert_int_equal(store_event_raw(st, "K-1", 41, buf, sizeof buf, &len, err), RC_NOTFOUND);
    assert_int_equal(store_events_insert(st, more, 0, err), RC_OK);
    free(p);
    store_close(st);
}

/* The store bumps a class's generation once per transaction that changed its inputs, at
 * commit (store.c; no back-end trigger since schema 15): every kind of input write (events,
 * online records, assessments, reviews, claim steps) counts, a write that changes nothing
 * (a duplicate online record, an identical assessment, an event naming no class, an
 * application step) does not, a rolled-back transaction leaves it, and a transaction touching
 * more classes than store.c remembers still bumps each of them. */
static void generations_bumped_by_the_store(void **state)
{
    (void)state;
    char err[ERR_LEN];
    struct plan *p = NULL;
    store *st = open_with_class(&p);
    assert_int_equal(gen_of(st, "C-1"), 1);

    /* each kind of write, alone (a transaction of its own): one bump each */
    struct store_event e1 = event("K-1", 1, "{\"class\":\"C-1\"}", "C-1");
    assert_int_equal(store_event_insert(st, &e1, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 2);
    assert_int_equal(store_event_insert(st, &e1, err), RC_CONFLICT); /* stored already */
    assert_int_equal(gen_of(st, "C-1"), 2);
    struct store_step app = step("application", "C-1", 0, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &app, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 2); /* not an input of the figures */
    struct store_step claim = step("claim", "C-1", 0, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &claim, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 3);
    struct store_step refused = step("claim", "C-1", 0, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &refused, err), RC_CONFLICT);
    assert_int_equal(gen_of(st, "C-1"), 3);

    /* many writes in one transaction: one bump, at commit */
    assert_int_equal(store_begin(st, err), RC_OK);
    struct store_event e2 = event("K-1", 2, "{\"class\":\"C-1\"}", "C-1");
    struct store_event e3 = event("K-1", 3, "{\"class\":\"C-1\"}", "C-1");
    struct store_event hb = event("K-1", 4, "{\"hb\":1}", NULL);
    assert_int_equal(store_event_insert(st, &e2, err), RC_OK);
    assert_int_equal(store_event_insert(st, &e3, err), RC_OK);
    assert_int_equal(store_event_insert(st, &hb, err), RC_OK);
    struct plan_online o = {.start_ms = 1790086400000, .end_ms = 1790088000000};
    snprintf(o.class_id, sizeof o.class_id, "C-1");
    snprintf(o.trainee, sizeof o.trainee, TRAINEE1);
    snprintf(o.masked, sizeof o.masked, "120101********123X");
    snprintf(o.platform, sizeof o.platform, "zhijiao");
    assert_int_equal(store_online_insert(st, &o, "adm", 3, NULL, err), RC_OK);
    struct plan_assessment a = {.passed = true, .assessed_on_ms = 1790100000000};
    snprintf(a.class_id, sizeof a.class_id, "C-1");
    snprintf(a.trainee, sizeof a.trainee, TRAINEE1);
    snprintf(a.masked, sizeof a.masked, "120101********123X");
    snprintf(a.certificate, sizeof a.certificate, "CERT-G");
    assert_int_equal(store_assessment_put(st, &a, "ev", 4, err), RC_OK);
    struct store_review rv = {.seq = 2, .approved = true, .reviewed_at_ms = 7};
    snprintf(rv.device, sizeof rv.device, "K-1");
    snprintf(rv.event_id, sizeof rv.event_id, "%s", e2.event_id);
    snprintf(rv.class_id, sizeof rv.class_id, "C-1");
    snprintf(rv.reason, sizeof rv.reason, "照片清楚 clear photo");
    snprintf(rv.reviewer, sizeof rv.reviewer, "district-1");
    if (store_review_insert(st, &rv, err) != RC_OK)
        fail_msg("review: %s", err);
    assert_int_equal(gen_of(st, "C-1"), 3); /* not yet: the transaction is open */
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 4);

    /* writes that change nothing: no bump */
    bool dup = false;
    assert_int_equal(store_online_insert(st, &o, "adm", 5, &dup, err), RC_OK);
    assert_true(dup);
    assert_int_equal(store_assessment_put(st, &a, "ev", 6, err), RC_OK); /* identical */
    assert_int_equal(store_event_insert(st, &hb, err), RC_CONFLICT);
    assert_int_equal(gen_of(st, "C-1"), 4);
    a.passed = false; /* a changed result: one bump */
    a.certificate[0] = '\0';
    assert_int_equal(store_assessment_put(st, &a, "ev", 7, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 5);

    /* a rolled-back transaction bumps nothing */
    assert_int_equal(store_begin(st, err), RC_OK);
    struct store_event e5 = event("K-1", 5, "{\"class\":\"C-1\"}", "C-1");
    assert_int_equal(store_event_insert(st, &e5, err), RC_OK);
    store_rollback(st);
    assert_int_equal(gen_of(st, "C-1"), 5);
    assert_int_equal(store_begin(st, err), RC_OK);
    store_rollback(st); /* and the next transaction does not inherit its classes */
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 5);

    /* more classes in one transaction than store.c remembers: each is bumped once anyway */
    enum { N = STORE_CHANGED_MAX + 8 };
    char id[N][16];
    assert_int_equal(store_begin(st, err), RC_OK);
    for (int i = 0; i < N; i++) {
        snprintf(id[i], sizeof id[i], "M-%02d", i);
        snprintf(p->id, sizeof p->id, "M-%02d", i);
        assert_int_equal(store_class_put(st, p, "{}", "adm", 1, NULL, err), RC_OK);
    }
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(store_begin(st, err), RC_OK);
    for (int i = 0; i < N; i++) {
        struct store_event e = event("K-1", 10 + i, "{\"class\":\"M\"}", id[i]);
        assert_int_equal(store_event_insert(st, &e, err), RC_OK);
        struct store_event again = event("K-1", 100 + i, "{\"class\":\"M\"}", id[i]);
        assert_int_equal(store_event_insert(st, &again, err), RC_OK);
    }
    assert_int_equal(store_commit(st, err), RC_OK);
    for (int i = 0; i < N; i++) {
        int64_t g = gen_of(st, id[i]);
        /* remembered classes: once; the ones past the list: at each write */
        if (i < STORE_CHANGED_MAX)
            assert_int_equal(g, 2);
        else
            assert_int_equal(g, 3);
    }
    free(p);
    store_close(st);
}

/* Schema 15 drops the back-ends' generation triggers: a database upgraded from 13 gets
 * exactly one bump per changing write (a surviving trigger would add a second), and a changed
 * assessment still keeps the result it replaced (the history trigger stays). */
static void generations_once_after_migration_15(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = NULL;
    int from = -1, to = -1;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate_to(st, 13, NULL, NULL, err), RC_OK);
    enrol(st, "I-1", "K-1", "F-1");
    struct plan *p = make_plan("C-1", "I-1");
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, p, "{}", "adm", 1, NULL, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(store_migrate(st, &from, &to, err), RC_OK);
    assert_int_equal(from, 13);
    assert_int_equal(to, store_schema_latest(st));
    assert_int_equal(gen_of(st, "C-1"), 1);
    struct store_event e = event("K-1", 1, "{\"class\":\"C-1\"}", "C-1");
    assert_int_equal(store_event_insert(st, &e, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 2);
    struct plan_online o = {.start_ms = 1790086400000, .end_ms = 1790088000000};
    snprintf(o.class_id, sizeof o.class_id, "C-1");
    snprintf(o.trainee, sizeof o.trainee, TRAINEE1);
    snprintf(o.masked, sizeof o.masked, "120101********123X");
    assert_int_equal(store_online_insert(st, &o, "adm", 3, NULL, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 3);
    struct plan_assessment a = {.passed = true, .assessed_on_ms = 1790100000000};
    snprintf(a.class_id, sizeof a.class_id, "C-1");
    snprintf(a.trainee, sizeof a.trainee, TRAINEE1);
    snprintf(a.masked, sizeof a.masked, "120101********123X");
    snprintf(a.certificate, sizeof a.certificate, "CERT-14");
    assert_int_equal(store_assessment_put(st, &a, "ev", 4, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 4);
    a.passed = false;
    a.certificate[0] = '\0';
    assert_int_equal(store_assessment_put(st, &a, "ev", 5, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 5);
    struct store_review rv = {.seq = 1, .approved = true, .reviewed_at_ms = 7};
    snprintf(rv.device, sizeof rv.device, "K-1");
    snprintf(rv.event_id, sizeof rv.event_id, "%s", e.event_id);
    snprintf(rv.class_id, sizeof rv.class_id, "C-1");
    snprintf(rv.reason, sizeof rv.reason, "照片清楚 clear photo");
    snprintf(rv.reviewer, sizeof rv.reviewer, "district-1");
    if (store_review_insert(st, &rv, err) != RC_OK)
        fail_msg("review: %s", err);
    assert_int_equal(gen_of(st, "C-1"), 6);
    struct store_step claim = step("claim", "C-1", 0, "submit", "submitted", "");
    assert_int_equal(store_step_insert(st, &claim, err), RC_OK);
    assert_int_equal(gen_of(st, "C-1"), 7);
    store_close(st);
    /* the replaced result is in the history (read directly: no op lists it) */
    if (is_pg()) {
        PGconn *c = PQconnectdb(url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, "SELECT certificate FROM assessment_history WHERE class = 'C-1'");
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(r), 1);
        assert_string_equal(PQgetvalue(r, 0, 0), "CERT-14");
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db = NULL;
        sqlite3_stmt *q = NULL;
        assert_int_equal(sqlite3_open(url + 7, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT certificate FROM assessment_history WHERE "
                                            "class = 'C-1'",
                                            -1, &q, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(q, 0), "CERT-14");
        assert_int_equal(sqlite3_step(q), SQLITE_DONE);
        sqlite3_finalize(q);
        sqlite3_close(db);
    }
    free(p);
}

/* ---- Moved from test_store_sqlite.c: migrations, tokens, signing keys, batch signatures,
 * transactions, now run on every back-end ---- */

static void migrations_are_recorded_and_idempotent(void **state)
{
    (void)state;
    store *st = NULL;
    char err[ERR_LEN];
    int from = -1, to = -1, v = -1;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    int latest = store_schema_latest(st);
    assert_true(latest >= 2);
    assert_int_equal(store_schema_version(st, &v, err), RC_OK);
    assert_int_equal(v, 0);
    assert_int_equal(store_check_schema(st, err), RC_STATE);
    assert_non_null(strstr(err, "run 'rollcall-server migrate'"));

    assert_int_equal(store_migrate(st, &from, &to, err), RC_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, latest);
    assert_int_equal(store_check_schema(st, err), RC_OK);
    /* One row per migration, numbered 1..latest. */
    assert_int_equal(raw_int("SELECT count(*) FROM schema_migrations"), latest);
    assert_int_equal(raw_int("SELECT min(version) FROM schema_migrations"), 1);
    assert_int_equal(raw_int("SELECT max(version) FROM schema_migrations"), latest);
    for (const char *const *t = (const char *const[]){"tokens", "institutions", "devices", "fences",
                                                      "events", "chain_heads", "findings", NULL};
         *t; t++)
        assert_true(raw_table_exists(*t));

    /* Again: nothing changes. */
    assert_int_equal(store_migrate(st, &from, &to, err), RC_OK);
    assert_int_equal(from, latest);
    assert_int_equal(to, latest);
    assert_int_equal(raw_int("SELECT count(*) FROM schema_migrations"), latest);
    store_close(st);

    /* A fresh connection to the same file sees the same version. */
    assert_int_equal(store_open(url, 0, &st, err), RC_OK);
    assert_int_equal(store_schema_version(st, &v, err), RC_OK);
    assert_int_equal(v, latest);
    store_close(st);
}

static void migrations_can_be_staged(void **state)
{
    (void)state;
    store *st = NULL;
    char err[ERR_LEN];
    int from = -1, to = -1;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate_to(st, 1, &from, &to, err), RC_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, 1);
    assert_true(raw_table_exists("tokens"));
    assert_false(raw_table_exists("events"));
    assert_int_equal(store_check_schema(st, err), RC_STATE);
    assert_int_equal(store_migrate(st, &from, &to, err), RC_OK);
    assert_int_equal(from, 1);
    assert_int_equal(to, store_schema_latest(st));
    assert_true(raw_table_exists("events"));
    assert_int_equal(store_migrate_to(st, 99, NULL, NULL, err), RC_INVAL);
    store_close(st);
}

static void newer_database_is_refused(void **state)
{
    (void)state;
    store *st = NULL;
    char err[ERR_LEN];
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    raw_exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (99, 'from the "
             "future', 0)");
    assert_int_equal(store_check_schema(st, err), RC_STATE);
    assert_non_null(strstr(err, "newer"));
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_STATE);
    assert_int_equal(raw_int("SELECT max(version) FROM schema_migrations"), 99);
    store_close(st);
}

static struct store_token token(const char *hash, const char *name, const char *role)
{
    struct store_token t = {0};
    snprintf(t.hash, sizeof t.hash, "%s", hash);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "%s", role);
    t.created_at_ms = 1790000000123;
    return t;
}

static void tokens_round_trip(void **state)
{
    (void)state;
    store *st = NULL;
    char err[ERR_LEN];
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    struct store_token t = token(HASH_A, "ops", "admin");
    assert_int_equal(store_token_insert(st, &t, err), RC_OK);
    struct store_token got;
    assert_int_equal(store_token_lookup(st, HASH_A, &got, err), RC_OK);
    assert_string_equal(got.hash, HASH_A);
    assert_string_equal(got.name, "ops");
    assert_string_equal(got.role, "admin");
    assert_true(got.created_at_ms == 1790000000123);
    assert_int_equal(store_token_lookup(st, HASH_B, &got, err), RC_NOTFOUND);
    assert_int_equal(store_token_lookup(st, "abc", &got, err), RC_INVAL);
    /* Names and hashes are unique. */
    struct store_token same_name = token(HASH_B, "ops", "enroll");
    assert_int_equal(store_token_insert(st, &same_name, err), RC_CONFLICT);
    struct store_token same_hash = token(HASH_A, "other", "enroll");
    assert_int_equal(store_token_insert(st, &same_hash, err), RC_CONFLICT);
    /* A revoked token is not found. */
    raw_exec("UPDATE tokens SET revoked_at = 1 WHERE name = 'ops'");
    assert_int_equal(store_token_lookup(st, HASH_A, &got, err), RC_NOTFOUND);
    store_close(st);
}

static int collect_key(const struct store_signing_key *k, void *ctx)
{
    struct store_signing_key *keys = ctx;
    for (int i = 0; i < 4; i++) {
        if (!keys[i].key_id[0]) {
            keys[i] = *k;
            return 0;
        }
    }
    return 1;
}

/* Signing keys: one current at a time, the old ones kept with their retirement time. */
static void signing_keys_rotate_and_stay(void **state)
{
    (void)state;
    store *st = NULL;
    char err[ERR_LEN];
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    struct store_signing_key k = {
        .key_id = "0123456789abcdef", .public_key_pem = "PEM-A", .created_at_ms = 1000};
    struct store_signing_key got;
    assert_int_equal(store_signing_key_current(st, &got, err), RC_NOTFOUND);
    assert_non_null(strstr(err, "signing-key create"));
    assert_int_equal(store_signing_key_add(st, &k, err), RC_OK);
    assert_int_equal(store_signing_key_current(st, &got, err), RC_OK);
    assert_string_equal(got.key_id, "0123456789abcdef");
    assert_int_equal(got.retired_at_ms, 0);
    /* The same id again is refused and changes nothing. */
    k.created_at_ms = 1500;
    assert_int_equal(store_signing_key_add(st, &k, err), RC_CONFLICT);
    assert_int_equal(store_signing_key_current(st, &got, err), RC_OK);
    assert_true(got.created_at_ms == 1000 && got.retired_at_ms == 0);
    /* A malformed id is the caller's bug. */
    struct store_signing_key bad = {.key_id = "abc", .public_key_pem = "P", .created_at_ms = 1};
    assert_int_equal(store_signing_key_add(st, &bad, err), RC_INVAL);
    struct store_signing_key k2 = {
        .key_id = "fedcba9876543210", .public_key_pem = "PEM-B", .created_at_ms = 2000};
    assert_int_equal(store_signing_key_add(st, &k2, err), RC_OK);
    assert_int_equal(store_signing_key_current(st, &got, err), RC_OK);
    assert_string_equal(got.key_id, "fedcba9876543210");
    assert_int_equal(store_signing_key_get(st, "0123456789abcdef", &got, err), RC_OK);
    assert_string_equal(got.public_key_pem, "PEM-A");
    assert_true(got.created_at_ms == 1000 && got.retired_at_ms == 2000);
    assert_int_equal(store_signing_key_get(st, "0000000000000000", &got, err), RC_NOTFOUND);
    struct store_signing_key keys[4];
    memset(keys, 0, sizeof keys);
    assert_int_equal(store_signing_key_list(st, collect_key, keys, err), RC_OK);
    assert_string_equal(keys[0].key_id, "0123456789abcdef");
    assert_string_equal(keys[1].key_id, "fedcba9876543210");
    assert_int_equal(keys[1].retired_at_ms, 0);
    assert_int_equal(keys[2].key_id[0], 0);
    /* The schema itself refuses a second current key. */
    raw_exec_fails("UPDATE signing_keys SET retired_at = NULL");
    store_close(st);
}

/* Batch signature records: malformed ones are refused before SQL, and one for a device that
 * is not enrolled is refused by the schema; nothing is stored either way. */
static void batch_signatures_are_checked(void **state)
{
    (void)state;
    store *st = NULL;
    char err[ERR_LEN];
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    struct store_batch_sig b = {.device = "kiosk-01",
                                .first_seq = 1,
                                .last_seq = 3,
                                .last_hash = HASH_A,
                                .signature = "MEUCIQ==",
                                .received_at_ms = 5};
    struct store_batch_sig bad = b;
    bad.first_seq = 0;
    assert_int_equal(store_batch_sig_insert(st, &bad, err), RC_INVAL);
    bad = b;
    bad.last_seq = 0;
    assert_int_equal(store_batch_sig_insert(st, &bad, err), RC_INVAL);
    bad = b;
    bad.last_hash[10] = '\0';
    assert_int_equal(store_batch_sig_insert(st, &bad, err), RC_INVAL);
    bad = b;
    bad.signature[0] = '\0';
    assert_int_equal(store_batch_sig_insert(st, &bad, err), RC_INVAL);
    assert_int_equal(store_batch_sig_insert(st, &b, err), RC_CONFLICT); /* not enrolled */
    assert_int_equal(raw_int("SELECT count(*) FROM batch_signatures"), 0);
    store_close(st);
}

static void transactions_commit_and_roll_back(void **state)
{
    (void)state;
    store *st = NULL;
    char err[ERR_LEN];
    struct store_token got;
    assert_int_equal(store_open(url, STORE_OPEN_CREATE, &st, err), RC_OK);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_OK);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_begin(st, err), RC_STATE);
    assert_int_equal(store_migrate(st, NULL, NULL, err), RC_STATE);
    struct store_token a = token(HASH_A, "a", "admin");
    assert_int_equal(store_token_insert(st, &a, err), RC_OK);
    store_rollback(st);
    assert_int_equal(store_token_lookup(st, HASH_A, &got, err), RC_NOTFOUND);
    assert_int_equal(store_commit(st, err), RC_STATE);
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_token_insert(st, &a, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    assert_int_equal(raw_int("SELECT count(*) FROM tokens"), 1);
    store_rollback(st); /* without a transaction: no-op */
    store_close(st);
}

/* The contract's own database on the server ROLLCALL_TEST_PG names, made afresh, into pg_base.
 * Its tests drop the public schema and end every other session of the database they run in
 * (kill_other_sessions): that must not be the database where other tests, run beside this
 * one by ctest, connect to make theirs. */
static int own_database(const char *given)
{
    const char *q = strchr(given + strlen("postgresql://"), '/');
    if (!q) {
        fprintf(stderr, "ROLLCALL_TEST_PG names no database: %s\n", given);
        return -1;
    }
    const char *rest = strchr(q, '?');
    PGconn *c = PQconnectdb(given);
    int rc = PQstatus(c) == CONNECTION_OK ? 0 : -1;
    const char *sql[] = {"DROP DATABASE IF EXISTS rc_store_contract WITH (FORCE)",
                         "CREATE DATABASE rc_store_contract"};
    for (size_t i = 0; rc == 0 && i < sizeof sql / sizeof sql[0]; i++) {
        PGresult *r = PQexec(c, sql[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = -1;
        PQclear(r);
    }
    if (rc != 0)
        fprintf(stderr, "cannot make the contract's database on %s: %s", given, PQerrorMessage(c));
    PQfinish(c);
    snprintf(pg_base, sizeof pg_base, "%.*s/rc_store_contract%s", (int)(q - given), given,
             rest ? rest : "");
    return rc;
}

/* ---- A dropped connection ---- */

static void kill_other_sessions(void)
{
    if (is_pg()) /* the server ends every other session of this database, as a restart would */
        raw_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                 "current_database() AND pid <> pg_backend_pid()");
}

static void dropped_connection_is_reopened_between_transactions(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    struct store_token t = {.created_at_ms = 1}, got;
    snprintf(t.hash, sizeof t.hash, "%s", HASH_A);
    snprintf(t.name, sizeof t.name, "one");
    snprintf(t.role, sizeof t.role, "admin");
    assert_int_equal(store_token_insert(st, &t, err), RC_OK);
    assert_int_equal(store_token_lookup(st, HASH_A, &got, err), RC_OK);
    kill_other_sessions();
    /* between transactions: the next statement runs on a new connection */
    assert_int_equal(store_token_lookup(st, HASH_A, &got, err), RC_OK);
    kill_other_sessions();
    assert_int_equal(store_begin(st, err), RC_OK);
    snprintf(t.hash, sizeof t.hash, "%s", HASH_B);
    snprintf(t.name, sizeof t.name, "two");
    assert_int_equal(store_token_insert(st, &t, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    /* inside a transaction the loss is reported, and nothing of it stays */
    assert_int_equal(store_begin(st, err), RC_OK);
    snprintf(t.hash, sizeof t.hash, "%s", HASH_C);
    snprintf(t.name, sizeof t.name, "three");
    assert_int_equal(store_token_insert(st, &t, err), RC_OK);
    kill_other_sessions();
    int rc = store_commit(st, err);
    assert_int_equal(rc, is_pg() ? RC_DB : RC_OK);
    assert_int_equal(store_token_lookup(st, HASH_B, &got, err), RC_OK);
    assert_int_equal(store_token_lookup(st, HASH_C, &got, err), is_pg() ? RC_NOTFOUND : RC_OK);
    store_close(st);
}

/* ---- Every back-end implements every op ---- */

/* The raw lines a callback saw, in order. */
struct raw_list {
    char line[64][32];
    size_t n;
};

/* Lists each event by its line, or a packed one (read without its line) as "device/seq". */
static int list_raw(const struct store_raw_event *e, void *ctx)
{
    struct raw_list *l = ctx;
    assert_true(l->n < 64);
    if (e->row && e->row->cols) {
        assert_int_equal(e->raw_len, 0);
        snprintf(l->line[l->n], sizeof l->line[0], "%s/%lld", e->row->device,
                 (long long)e->row->seq);
    } else {
        assert_true(e->raw_len < sizeof l->line[0]);
        memcpy(l->line[l->n], e->raw, e->raw_len);
        l->line[l->n][e->raw_len] = '\0';
    }
    l->n++;
    return 0;
}

struct device_list {
    char id[4][STORE_ID_MAX + 1];
    size_t n;
};

static int list_device(const char *device, const char *fence, void *ctx)
{
    (void)fence;
    struct device_list *l = ctx;
    assert_true(l->n < 4);
    snprintf(l->id[l->n++], sizeof l->id[0], "%s", device);
    return 0;
}

/* store_class_device_events (one call per class) gives the figures exactly what
 * store_device_events gives them window by window: devices by id, the class's offline sessions
 * in the plan's order, within a window by ts then seq (a kiosk clock stepped back: a later seq
 * with an earlier ts comes first), an event in two windows twice, no class event, no other
 * institution's kiosk, nothing outside every window. */
/* packed: the rows carry the figures' columns and their pack, as ingest stores them, and are
 * read without their lines (listed as device/seq); else bare rows read from their lines. */
static void device_events_per_window(bool packed)
{
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    enrol(st, "I-1", "K-3", "F-3"); /* of the class by uploading an event naming it */
    enrol(st, "I-1", "K-4", "F-4"); /* neither: not the class's */
    enrol(st, "I-2", "K-2", "F-1"); /* at the venue, but another institution's */
    struct plan *p = make_plan("C-1", "I-1");
    const int64_t t = 1790000000000, h = 3600000, early = 1800000, grace = 900000;
    /* S0: an offline session starting after S1 in time but listed first; its window overlaps
     * S1's (S1 ends t + h, S0 starts t + h + 20 min) */
    p->n_sessions = 3;
    p->sessions[2] = p->sessions[0];
    snprintf(p->sessions[2].id, sizeof p->sessions[2].id, "S0");
    p->sessions[2].start_ms = t + h + 1200000;
    p->sessions[2].end_ms = t + 2 * h;
    bool created = false;
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_class_put(st, p, "{}", "adm", 1, &created, err), RC_OK);
    assert_int_equal(store_commit(st, err), RC_OK);
    struct {
        const char *device;
        int64_t ts;
        const char *class_id;
    } evs[] = {
        {"K-1", t - early - 1, NULL},         /* before every window */
        {"K-1", t - early, NULL},             /* S1's first instant */
        {"K-1", t + 60000, "C-1"},            /* the class's own: store_class_events' */
        {"K-1", t + 120000, NULL},            /* S1 */
        {"K-1", t + h + 100000, NULL},        /* S1 and S0: twice */
        {"K-1", t + 2 * h + grace - 1, NULL}, /* S0's last instant */
        {"K-1", t + 2 * h + grace, NULL},     /* after */
        {"K-1", t + 24 * h + 1, NULL},        /* during the online session S2 */
        {"K-2", t + 120000, NULL},            /* another institution's kiosk */
        {"K-3", t + 1, "C-1"},
        {"K-3", t - 1, NULL}, /* S1, a lower ts after a higher seq */
        {"K-3", t + 130000, NULL},
        {"K-3", t + 125000, NULL}, /* S1, the clock stepped back: before the one above */
        {"K-4", t + 120000, NULL},
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        char raw[32];
        snprintf(raw, sizeof raw, "{\"n\":%zu}", i);
        int64_t seq = (int64_t)i + 1;
        struct store_event e = event(evs[i].device, seq, raw, evs[i].class_id);
        e.ts_ms = evs[i].ts;
        e.type = evs[i].class_id ? "signin" : "heartbeat";
        e.cols = packed;
        assert_int_equal(store_event_insert(st, &e, err), RC_OK);
    }
    struct raw_list one = {0}, ref = {0};
    assert_int_equal(store_class_device_events(st, "C-1", "I-1", early, grace, list_raw, &one, err),
                     RC_OK);
    /* the reference: the per-window reads the figures made before */
    struct device_list devs = {0};
    assert_int_equal(store_class_devices(st, "C-1", "I-1", list_device, &devs, err), RC_OK);
    struct plan *back = calloc(1, sizeof *back);
    assert_int_equal(store_class_plan(st, "C-1", back, err), RC_OK);
    for (size_t d = 0; d < devs.n; d++)
        for (size_t i = 0; i < back->n_sessions; i++)
            if (back->sessions[i].mode == PLAN_OFFLINE)
                assert_int_equal(
                    store_device_events(st, devs.id[d], back->sessions[i].start_ms - early,
                                        back->sessions[i].end_ms + grace, list_raw, &ref, err),
                    RC_OK);
    const char *want[] = {"{\"n\":1}", "{\"n\":3}",  "{\"n\":4}",  "{\"n\":4}",
                          "{\"n\":5}", "{\"n\":10}", "{\"n\":12}", "{\"n\":11}"};
    const char *want_packed[] = {"K-1/2", "K-1/4",  "K-1/5",  "K-1/5",
                                 "K-1/6", "K-3/11", "K-3/13", "K-3/12"};
    assert_int_equal(ref.n, sizeof want / sizeof want[0]);
    assert_int_equal(one.n, ref.n);
    for (size_t i = 0; i < ref.n; i++) {
        assert_string_equal(ref.line[i], packed ? want_packed[i] : want[i]);
        assert_string_equal(one.line[i], ref.line[i]);
    }
    free(back);
    free(p);
    store_close(st);
}

static void class_device_events_equal_per_window_reads(void **state)
{
    (void)state;
    device_events_per_window(false);
}

/* The same read of rows with their pack: on PostgreSQL the device, seq and time that order
 * them come from the pack, not from the server (store_pg_figures.c packed_events). */
static void class_device_events_packed_equal_per_window_reads(void **state)
{
    (void)state;
    device_events_per_window(true);
}

/* A class's events come by device in the bytes' order, as SQLite's BINARY compares them,
 * whatever the database's collation: on PostgreSQL in a database whose ICU collation puts
 * "K-b" before "K-C" (the bytes put 'C' before 'b'), so figures computed on either back-end
 * see the same order. */
static void class_events_by_device_bytes(void **state)
{
    (void)state;
    char err[ERR_LEN];
    char saved[sizeof url];
    snprintf(saved, sizeof saved, "%s", url);
    if (is_pg()) {
        raw_exec("DROP DATABASE IF EXISTS rc_contract_icu");
        raw_exec("CREATE DATABASE rc_contract_icu LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                 "LOCALE 'C.UTF-8' TEMPLATE template0");
        const char *q = strchr(pg_base + strlen("postgresql://"), '/');
        assert_non_null(q);
        const char *rest = strchr(q, '?');
        snprintf(url, sizeof url, "%.*s/rc_contract_icu%s", (int)(q - pg_base), pg_base,
                 rest ? rest : "");
        assert_int_equal(raw_int("SELECT count(*) FROM (VALUES ('K-b'), ('K-C')) v(x) "
                                 "WHERE x < 'K-C' AND x = 'K-b'"),
                         1); /* the database's own order is not the bytes' */
    }
    store *st = open_migrated();
    enrol(st, "I-1", "K-b", "F-1");
    enrol(st, "I-1", "K-C", "F-1");
    const char *devices[] = {"K-b", "K-C", "K-b", "K-C"};
    static char raws[4][16];
    for (size_t i = 0; i < 4; i++) {
        snprintf(raws[i], sizeof raws[i], "{\"n\":%zu}", i);
        struct store_event e = event(devices[i], (int64_t)i / 2 + 1, raws[i], "C-1");
        assert_int_equal(store_event_insert(st, &e, err), RC_OK);
    }
    struct raw_list got = {0};
    assert_int_equal(store_class_events(st, "C-1", "I-1", list_raw, &got, err), RC_OK);
    const char *want[] = {"{\"n\":1}", "{\"n\":3}", "{\"n\":0}", "{\"n\":2}"};
    assert_int_equal(got.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(got.line[i], want[i]);
    /* and packed rows of another class, ordered by what their packs say */
    for (size_t i = 0; i < 4; i++) {
        struct store_event e = event(devices[i], (int64_t)i / 2 + 11, raws[i], "C-2");
        e.cols = true;
        assert_int_equal(store_event_insert(st, &e, err), RC_OK);
    }
    got = (struct raw_list){0};
    assert_int_equal(store_class_events(st, "C-2", "I-1", list_raw, &got, err), RC_OK);
    const char *want_packed[] = {"K-C/11", "K-C/12", "K-b/11", "K-b/12"};
    assert_int_equal(got.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(got.line[i], want_packed[i]);
    store_close(st);
    snprintf(url, sizeof url, "%s", saved);
    if (is_pg())
        raw_exec("DROP DATABASE rc_contract_icu");
}

struct seq_check {
    int64_t n, prev_seq;
    char prev_device[STORE_ID_MAX + 1];
};

/* Each packed event after the one before it in (device bytes, seq) order. */
static int check_seq_order(const struct store_raw_event *e, void *ctx)
{
    struct seq_check *c = ctx;
    assert_non_null(e->row);
    assert_true(e->row->cols);
    int d = strcmp(c->prev_device, e->row->device);
    assert_true(d < 0 || (d == 0 && c->prev_seq < e->row->seq));
    snprintf(c->prev_device, sizeof c->prev_device, "%s", e->row->device);
    c->prev_seq = e->row->seq;
    c->n++;
    return 0;
}

/* Reads of more packed rows than a PostgreSQL connection keeps room for between reads (16,384),
 * fewer, then more again on the same connection: every row once, in order. */
static void class_events_many_packed_rows(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    enrol(st, "I-1", "K-2", "F-1");
    enum { MANY = 17000, CHUNK = 500 };
    static struct store_event rows[CHUNK];
    assert_int_equal(store_begin(st, err), RC_OK);
    for (int at = 0; at < MANY; at += CHUNK) {
        for (int i = 0; i < CHUNK; i++) {
            int k = at + i; /* the two kiosks interleaved, each in seq order */
            rows[i] = event(k % 2 ? "K-1" : "K-2", k / 2 + 1, "{}", k < 100 ? "C-S" : "C-M");
            rows[i].cols = true;
        }
        assert_int_equal(store_events_insert(st, rows, CHUNK, err), RC_OK);
    }
    assert_int_equal(store_commit(st, err), RC_OK);
    const struct {
        const char *cls;
        int64_t n;
    } reads[] = {{"C-M", MANY - 100}, {"C-S", 100}, {"C-M", MANY - 100}, {"C-S", 100}};
    for (size_t r = 0; r < sizeof reads / sizeof reads[0]; r++) {
        struct seq_check c = {0};
        assert_int_equal(store_class_events(st, reads[r].cls, "I-1", check_seq_order, &c, err),
                         RC_OK);
        assert_int_equal(c.n, reads[r].n);
    }
    store_close(st);
}

/* ---- The figures' columns (schema 18) ---- */

struct col_check {
    store *st;
    size_t n, with_cols, lines;
    const char *device; /* the one row read without columns */
    int64_t seq;
};

/* The engine's event from the row's columns equals the one from the stored line. */
static int check_row(const struct store_raw_event *e, void *ctx)
{
    struct col_check *c = ctx;
    char err[ERR_LEN];
    static struct event parsed;
    static char line[EVENT_LINE_MAX + 1];
    assert_non_null(e->row);
    c->n++;
    if (!e->row->cols) { /* its line instead, read apart by (device, seq): the stored bytes */
        size_t len = 0;
        assert_int_equal(store_event_raw(c->st, c->device, c->seq, line, sizeof line, &len, err),
                         RC_OK);
        assert_int_equal(e->raw_len, len);
        assert_memory_equal(e->raw, line, len);
        c->lines++;
        return 0;
    }
    c->with_cols++;
    assert_int_equal(e->raw_len, 0); /* the figures read no line */
    size_t len = 0;
    assert_int_equal(
        store_event_raw(c->st, e->row->device, e->row->seq, line, sizeof line, &len, err), RC_OK);
    assert_int_equal(event_parse(line, len, &parsed, err), RC_OK);
    struct engine_ev want, got;
    engine_ev_from(&want, &parsed);
    memset(&got, 0x5a, sizeof got);
    if (figures_ev_from_row(e->row, &got, err) != RC_OK)
        fail_msg("%s", err);
    assert_string_equal(got.id, want.id);
    assert_int_equal(got.has, want.has);
    assert_int_equal(got.fix.lat_e8, want.fix.lat_e8);
    assert_memory_equal(&got, &want, sizeof got);
    return 0;
}

/* One event of every shape the figures read, at t = 1790000000000 (K-1's seq 1 to 10). */
static void event_shapes(struct event evs[10])
{
    const int64_t t = 1790000000000;
    memset(evs, 0, 10 * sizeof *evs);
    const char *trainee = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    for (size_t i = 0; i < 10; i++) {
        struct event *v = &evs[i];
        snprintf(v->id, sizeof v->id, "0190a000-0000-7000-8000-%012zu", i + 1);
        snprintf(v->device, sizeof v->device, "K-1");
        v->seq = (int64_t)i + 1;
        memset(v->prev, i ? 'a' : '0', EVENT_HEX_LEN);
        v->ts_ms = t + 60000 * (int64_t)i;
        snprintf(v->boot, sizeof v->boot, "3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3");
        v->mono_ms = 1000 + (int64_t)i;
    }
    const uint32_t who = EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_TRAINEE_MASKED) |
                         EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_FENCE) |
                         EVENT_HAS(EVENT_F_VERDICT);
    for (size_t i = 0; i < 4; i++) {
        snprintf(evs[i].trainee, sizeof evs[i].trainee, "%s", trainee);
        snprintf(evs[i].trainee_masked, sizeof evs[i].trainee_masked, "1201**********123X");
        snprintf(evs[i].class_id, sizeof evs[i].class_id, "C-1");
        snprintf(evs[i].fence, sizeof evs[i].fence, "F-1");
        evs[i].has = who;
    }
    /* a sign-in with every part of a fix, and a distance */
    evs[0].type = EVENT_SIGNIN;
    evs[0].has |=
        EVENT_HAS(EVENT_F_SESSION) | EVENT_HAS(EVENT_F_FIX) | EVENT_HAS(EVENT_F_DISTANCE_M);
    snprintf(evs[0].session, sizeof evs[0].session, "S1");
    evs[0].fix = (struct event_fix){.lat_e8 = 3912345678,
                                    .lon_e8 = 11720000001,
                                    .has_eph = true,
                                    .eph_cm = 351,
                                    .mode = 3,
                                    .has_sats = true,
                                    .sats = 12,
                                    .has_time = true,
                                    .time_ms = t - 1001,
                                    .source = EVENT_SOURCE_GNSS};
    evs[0].verdict = EVENT_INSIDE;
    evs[0].distance_mm = -12345;
    /* a sign-out without a fix */
    evs[1].type = EVENT_SIGNOUT;
    evs[1].verdict = EVENT_NO_FIX;
    /* a surveyed fix at the limits, without accuracy, satellites or time; overridden */
    evs[2].type = EVENT_SIGNIN;
    evs[2].has |=
        EVENT_HAS(EVENT_F_FIX) | EVENT_HAS(EVENT_F_DISTANCE_M) | EVENT_HAS(EVENT_F_OVERRIDE);
    evs[2].fix = (struct event_fix){
        .lat_e8 = -9000000000, .lon_e8 = -18000000000, .source = EVENT_SOURCE_SURVEYED};
    evs[2].verdict = EVENT_UNCERTAIN;
    snprintf(evs[2].override_check, sizeof evs[2].override_check, "roster");
    /* a roll-call confirmation */
    evs[3].type = EVENT_ROLLCALL_CONFIRM;
    evs[3].has |= EVENT_HAS(EVENT_F_SESSION) | EVENT_HAS(EVENT_F_ROLLCALL) |
                  EVENT_HAS(EVENT_F_FIX) | EVENT_HAS(EVENT_F_DISTANCE_M);
    snprintf(evs[3].session, sizeof evs[3].session, "S1");
    snprintf(evs[3].rollcall, sizeof evs[3].rollcall, "R2");
    evs[3].fix =
        (struct event_fix){.lat_e8 = -1, .lon_e8 = 0, .mode = 2, .source = EVENT_SOURCE_GNSS};
    evs[3].verdict = EVENT_OUTSIDE;
    /* a recording */
    evs[4].type = EVENT_REC_FILE;
    evs[4].has = EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) | EVENT_HAS(EVENT_F_CAMERA) |
                 EVENT_HAS(EVENT_F_FILE) | EVENT_HAS(EVENT_F_BYTES) | EVENT_HAS(EVENT_F_SHA256) |
                 EVENT_HAS(EVENT_F_START) | EVENT_HAS(EVENT_F_END);
    snprintf(evs[4].class_id, sizeof evs[4].class_id, "C-1");
    snprintf(evs[4].session, sizeof evs[4].session, "S1");
    snprintf(evs[4].camera, sizeof evs[4].camera, "cam-1");
    snprintf(evs[4].file, sizeof evs[4].file, "/rec/a.mp4");
    evs[4].bytes = 1000;
    memset(evs[4].sha256, 'b', EVENT_HEX_LEN);
    evs[4].start_ms = t - 3600000;
    evs[4].end_ms = t;
    /* a roll-call opened */
    evs[5].type = EVENT_ROLLCALL;
    evs[5].has = EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) |
                 EVENT_HAS(EVENT_F_ROLLCALL) | EVENT_HAS(EVENT_F_START) | EVENT_HAS(EVENT_F_END);
    snprintf(evs[5].class_id, sizeof evs[5].class_id, "C-1");
    snprintf(evs[5].session, sizeof evs[5].session, "S1");
    snprintf(evs[5].rollcall, sizeof evs[5].rollcall, "R1");
    evs[5].start_ms = t + 600000;
    evs[5].end_ms = t + 1200000;
    /* the kiosk's own: a clock skew, a GNSS report, a heartbeat, a tamper alarm */
    evs[6].type = EVENT_CLOCK;
    evs[6].has = EVENT_HAS(EVENT_F_KIND) | EVENT_HAS(EVENT_F_DETAIL) | EVENT_HAS(EVENT_F_SKEW_MS);
    snprintf(evs[6].kind, sizeof evs[6].kind, "skew");
    snprintf(evs[6].detail, sizeof evs[6].detail, "gnss vs rtc");
    evs[6].skew_ms = -9007199254740991;
    evs[7].type = EVENT_GNSS;
    evs[7].has = EVENT_HAS(EVENT_F_FIX) | EVENT_HAS(EVENT_F_KIND) | EVENT_HAS(EVENT_F_DETAIL);
    evs[7].fix = (struct event_fix){.lat_e8 = 100000000,
                                    .lon_e8 = 200000000,
                                    .has_eph = true,
                                    .eph_cm = 999999999,
                                    .mode = 3,
                                    .has_sats = true,
                                    .sats = 255,
                                    .has_time = true,
                                    .time_ms = t,
                                    .source = EVENT_SOURCE_GNSS};
    snprintf(evs[7].kind, sizeof evs[7].kind, "fix_lost");
    evs[8].type = EVENT_HEARTBEAT;
    evs[8].has = EVENT_HAS(EVENT_F_QUEUE);
    evs[8].queue = 7;
    evs[9].type = EVENT_TAMPER;
    evs[9].has = EVENT_HAS(EVENT_F_KIND) | EVENT_HAS(EVENT_F_DETAIL);
    snprintf(evs[9].kind, sizeof evs[9].kind, "case_open");
    snprintf(evs[9].detail, sizeof evs[9].detail, "lid switch");
}

/* One event of every shape, stored from its line by store_event_from, gives the engine the
 * same event from its pack as from its line, on every back-end; so does a row whose pack is
 * not one (read from its line instead); a row stored without its
 * columns (cols false) says so and is left to its line, until store_events_backfill fills them
 * from it (a line that is no event stays as it was). */
static void event_columns_give_the_engine_its_event(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    const int64_t t = 1790000000000;
    struct event evs[10];
    event_shapes(evs);
    static char lines[10][EVENT_LINE_MAX + 1];
    char hashes[10][EVENT_HEX_LEN + 1];
    for (size_t i = 0; i < 10; i++) {
        size_t len = 0;
        if (event_serialise(&evs[i], lines[i], sizeof lines[i], &len, err) != RC_OK)
            fail_msg("event %zu: %s", i, err);
        event_hash_hex(lines[i], len, hashes[i]);
        struct store_event row;
        store_event_from(&evs[i], lines[i], len, hashes[i], &row);
        row.received_at_ms = t + 5000;
        assert_true(row.cols);
        assert_int_equal(store_event_insert(st, &row, err), RC_OK);
    }
    /* a row made by hand: no columns for the figures but its keys, as before schema 18 */
    struct event old = evs[0];
    old.seq = 11;
    memset(old.prev, 'a', EVENT_HEX_LEN);
    snprintf(old.id, sizeof old.id, "0190a000-0000-7000-8000-%012d", 11);
    static char old_line[EVENT_LINE_MAX + 1];
    size_t old_len = 0;
    assert_int_equal(event_serialise(&old, old_line, sizeof old_line, &old_len, err), RC_OK);
    struct store_event bare = event("K-1", 11, old_line, "C-1");
    bare.event_id = old.id;
    bare.ts_ms = old.ts_ms;
    bare.trainee = old.trainee;
    assert_int_equal(store_event_insert(st, &bare, err), RC_OK);
    /* and one whose line is not an event at all (outside every window read below) */
    struct store_event junk = event("K-1", 12, "{\"n\":1}", NULL);
    assert_int_equal(store_event_insert(st, &junk, err), RC_OK);

    struct col_check c = {.st = st, .device = "K-1", .seq = 11};
    assert_int_equal(store_class_events(st, "C-1", "I-1", check_row, &c, err), RC_OK);
    assert_int_equal(c.n, 7);         /* six of the class, and the bare row */
    assert_int_equal(c.with_cols, 6); /* not the bare row */
    assert_int_equal(c.lines, 1);
    struct col_check k = {.st = st};
    assert_int_equal(store_device_events(st, "K-1", t - 1, t + 3600000, check_row, &k, err), RC_OK);
    assert_int_equal(k.n, 4);
    assert_int_equal(k.with_cols, 4);
    /* a kiosk's own event without columns comes with its line too (the junk, at 12 s) */
    k = (struct col_check){.st = st, .device = "K-1", .seq = 12};
    assert_int_equal(store_device_events(st, "K-1", 12000, 12001, check_row, &k, err), RC_OK);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.lines, 1);

    /* the backfill gives the hand-made row its columns from its line, and leaves the junk */
    int64_t filled = -1, unparsed = -1;
    assert_int_equal(store_events_backfill(st, 1, &filled, &unparsed, err), RC_OK);
    assert_int_equal(filled, 1);
    assert_int_equal(unparsed, 1);
    c = (struct col_check){.st = st};
    assert_int_equal(store_class_events(st, "C-1", "I-1", check_row, &c, err), RC_OK);
    assert_int_equal(c.n, 7);
    assert_int_equal(c.with_cols, 7); /* and equal to its line's */
    assert_int_equal(store_events_backfill(st, 1000, &filled, &unparsed, err), RC_OK);
    assert_int_equal(filled, 0); /* resumable: nothing filled twice */
    assert_int_equal(unparsed, 1);
    assert_int_equal(store_events_backfill(st, 0, &filled, &unparsed, err), RC_INVAL);
    /* a fill leaves a row that is gone or filled already; none without columns to give */
    struct store_event row[2];
    store_event_from(&old, old_line, old_len, "", &row[0]);
    row[1] = row[0];
    int64_t ids[2] = {999999, 11}, changed = -1;
    assert_int_equal(store_event_columns_fill(st, ids, row, 2, &changed, err), RC_OK);
    assert_int_equal(changed, 0);
    row[1].cols = false;
    assert_int_equal(store_event_columns_fill(st, ids, row, 2, &changed, err), RC_INVAL);

    /* a pack cut short is no pack: the row is read from its line, as the same event */
    raw_exec("UPDATE events SET pack = substr(pack, 1, length(pack) - 1) WHERE seq = 1");
    c = (struct col_check){.st = st, .device = "K-1", .seq = 1};
    assert_int_equal(store_class_events(st, "C-1", "I-1", check_row, &c, err), RC_OK);
    assert_int_equal(c.n, 7);
    assert_int_equal(c.with_cols, 6);
    assert_int_equal(c.lines, 1);
    store_close(st);
}

enum { READ_STRINGS = 12 };

/* The strings of a row the figures read, in one order, a NULL as "". */
static void read_strings(const struct store_event *r, const char *out[READ_STRINGS])
{
    const char *s[READ_STRINGS] = {r->device,         r->event_id, r->type,    r->trainee,
                                   r->trainee_masked, r->class_id, r->session, r->rollcall,
                                   r->fence,          r->camera,   r->kind,    r->verdict};
    for (size_t i = 0; i < READ_STRINGS; i++)
        out[i] = s[i] ? s[i] : "";
}

/* The fields of two rows as the figures read them. */
static void assert_same_read(const struct store_event *a, const struct store_event *b)
{
    const char *sa[READ_STRINGS], *sb[READ_STRINGS];
    read_strings(a, sa);
    read_strings(b, sb);
    for (size_t i = 0; i < READ_STRINGS; i++)
        assert_string_equal(sa[i], sb[i]);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->ts_ms, b->ts_ms);
    assert_int_equal(a->has_fix, b->has_fix);
    if (a->has_fix) {
        assert_memory_equal(&a->fix_lat, &b->fix_lat, sizeof a->fix_lat); /* bit for bit */
        assert_memory_equal(&a->fix_lon, &b->fix_lon, sizeof a->fix_lon);
        assert_int_equal(a->fix_mode, b->fix_mode);
        assert_int_equal(a->has_eph, b->has_eph);
        assert_true(!a->has_eph || a->fix_eph == b->fix_eph);
        assert_int_equal(a->has_sats, b->has_sats);
        assert_true(!a->has_sats || a->fix_sats == b->fix_sats);
        assert_int_equal(a->has_fix_time, b->has_fix_time);
        assert_true(!a->has_fix_time || a->fix_time_ms == b->fix_time_ms);
        assert_string_equal(a->fix_source ? a->fix_source : "", b->fix_source);
    } else {
        assert_null(b->fix_source);
    }
    assert_int_equal(a->has_start, b->has_start);
    assert_true(!a->has_start || a->start_ms == b->start_ms);
    assert_int_equal(a->has_end, b->has_end);
    assert_true(!a->has_end || a->end_ms == b->end_ms);
    assert_int_equal(a->has_skew, b->has_skew);
    assert_true(!a->has_skew || a->skew_ms == b->skew_ms);
}

/* store_event_pack and store_event_unpack (schema 20), without a database: every shape comes
 * back as it went in, with the pseudonym and the UUID in bytes when they are lower-case hex
 * and as text otherwise; nothing but a whole pack of this version unpacks; a pack that does
 * not fit, or a row without columns, gives none. */
static void event_pack_round_trip(void **state)
{
    (void)state;
    char err[ERR_LEN];
    struct event evs[10];
    event_shapes(evs);
    static char line[EVENT_LINE_MAX + 1];
    static unsigned char buf[STORE_PACK_MAX + 1];
    for (size_t i = 0; i < 10; i++) {
        size_t len = 0;
        assert_int_equal(event_serialise(&evs[i], line, sizeof line, &len, err), RC_OK);
        struct store_event row, back;
        struct store_pack_text text;
        store_event_from(&evs[i], line, len, "", &row);
        size_t n = store_event_pack(&row, buf, STORE_PACK_MAX);
        assert_true(n > 0);
        assert_int_equal(store_event_unpack(buf, n, &back, &text), RC_OK);
        assert_true(back.cols);
        assert_same_read(&row, &back);
        for (size_t k = 0; k < n; k++) /* every truncation, the empty one too */
            assert_int_equal(store_event_unpack(buf, k, &back, &text), RC_CORRUPT);
        buf[n] = 0;
        assert_int_equal(store_event_unpack(buf, n + 1, &back, &text), RC_CORRUPT);
        buf[0] = STORE_PACK_VERSION + 1;
        assert_int_equal(store_event_unpack(buf, n, &back, &text), RC_CORRUPT);
        assert_int_equal(store_event_pack(&row, buf, n - 1), 0); /* does not fit */
        assert_int_equal(store_event_pack(&row, buf, n), n);
        if (i == 0) {
            /* upper-case hex and a UUID missing a dash are kept as text: 33 and 20
             * bytes more than their bytes, and back exactly */
            char upper[STORE_PACK_PSEUDONYM_LEN + 1], undashed[STORE_PACK_UUID_LEN + 1];
            snprintf(upper, sizeof upper, "%s", row.trainee);
            upper[0] = 'C';
            snprintf(undashed, sizeof undashed, "%.8s%s", row.event_id, row.event_id + 9);
            struct store_event text_row = row;
            text_row.trainee = upper;
            text_row.event_id = undashed;
            size_t m = store_event_pack(&text_row, buf, STORE_PACK_MAX);
            assert_int_equal(m, n + 33 + 20);
            assert_int_equal(store_event_unpack(buf, m, &back, &text), RC_OK);
            assert_same_read(&text_row, &back);
            /* flags this version does not have */
            buf[2] = 0x80;
            assert_int_equal(store_event_unpack(buf, m, &back, &text), RC_CORRUPT);
        }
        row.cols = false;
        assert_int_equal(store_event_pack(&row, buf, STORE_PACK_MAX), 0);
    }
}

static void every_backend_implements_every_op(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    const struct store_ops *all[] = {&store_sqlite_ops, &store_pg_ops};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (store_ops_complete(all[i], err) != RC_OK)
            fail_msg("%s", err);
    /* the check finds a missing op, the last one too */
    struct store_ops lacking = store_pg_ops;
    lacking.signing_key_list = NULL;
    assert_int_equal(store_ops_complete(&lacking, err), RC_STATE);
    assert_non_null(strstr(err, "postgresql"));
    lacking = store_sqlite_ops;
    lacking.publication_get = NULL;
    assert_int_equal(store_ops_complete(&lacking, err), RC_STATE);
    lacking = store_sqlite_ops;
    lacking.open = NULL;
    assert_int_equal(store_ops_complete(&lacking, err), RC_STATE);
    assert_non_null(strstr(err, "op 0 "));
    /* checkpoint alone may be absent */
    lacking = store_sqlite_ops;
    lacking.checkpoint = NULL;
    assert_int_equal(store_ops_complete(&lacking, err), RC_OK);
}

/* ---- Opening ---- */

static void urls_and_connection_errors(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = NULL;
    assert_int_equal(store_open("", 0, &st, err), RC_INVAL);
    assert_int_equal(store_open("mysql://x", 0, &st, err), RC_INVAL);
    assert_int_equal(store_open("sqlite:", 0, &st, err), RC_INVAL);
    assert_int_equal(store_open("sqlite:/nonexistent/dir/x.db", 0, &st, err), RC_NOTFOUND);
    /* nothing listens on port 1: a clear refusal, one line */
    assert_int_equal(store_open("postgresql://127.0.0.1:1/rollcall?connect_timeout=5", 0, &st, err),
                     RC_DB);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_null(strchr(err, '\n'));
    if (is_pg()) {
        /* the same server, a database that does not exist */
        char bad[1300];
        const char *q = strchr(pg_base + strlen("postgresql://"), '/');
        assert_non_null(q);
        const char *rest = strchr(q, '?');
        snprintf(bad, sizeof bad, "%.*s/no_such_db%s", (int)(q - pg_base), pg_base,
                 rest ? rest : "");
        assert_int_equal(store_open(bad, 0, &st, err), RC_NOTFOUND);
        assert_non_null(strstr(err, "no_such_db"));
        assert_null(strchr(err, '\n'));
        /* a login the server does not know: refused, and said so */
        char who[1400];
        snprintf(who, sizeof who, "%s%cuser=no_such_role", pg_base, rest ? '&' : '?');
        assert_int_equal(store_open(who, 0, &st, err), RC_AUTH);
        assert_non_null(strstr(err, "refused the login"));
        assert_null(strchr(err, '\n'));
    }
}

/* ---- Alerts ---- */

static int collect_subs(const struct store_alert_sub *a, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s/%s/%s/%s,", a->name, a->district, a->format, a->ca_file);
    return 0;
}

static int collect_deliveries(const struct store_alert_delivery *d, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 1024 - n, "%s:%s:%s:%s:%lld,", d->sub.name, d->finding.kind,
             d->finding.institution, d->state, (long long)d->attempts);
    return 0;
}

static int first_delivery(const struct store_alert_delivery *d, void *ctx)
{
    *(struct store_alert_delivery *)ctx = *d;
    return 1;
}

static struct store_alert_sub alert_sub(const char *name, const char *district, const char *fmt)
{
    struct store_alert_sub a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.district, sizeof a.district, "%s", district);
    snprintf(a.format, sizeof a.format, "%s", fmt);
    snprintf(a.url, sizeof a.url, "https://hooks.example/%s?key=SECRET", name);
    snprintf(a.created_by, sizeof a.created_by, "admin");
    a.created_at_ms = 5;
    return a;
}

static void alerts_outbox(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    assert_int_equal(store_institution_register(st, "I-1", "120103", err), RC_OK);
    struct store_alert_sub city = alert_sub("city", "", "json");
    struct store_alert_sub d1 = alert_sub("d1", "120103", "wecom-markdown");
    struct store_alert_sub d2 = alert_sub("d2", "120104", "wecom-text");
    snprintf(city.ca_file, sizeof city.ca_file, "/etc/rollcall/intranet-ca.pem");
    assert_int_equal(store_alert_sub_insert(st, &city, err), RC_OK);
    assert_int_equal(store_alert_sub_insert(st, &d1, err), RC_OK);
    assert_int_equal(store_alert_sub_insert(st, &d2, err), RC_OK);
    assert_true(city.id > 0 && d1.id > city.id && d2.id > d1.id);
    struct store_alert_sub dup = alert_sub("d1", "", "json");
    assert_int_equal(store_alert_sub_insert(st, &dup, err), RC_CONFLICT);
    char list[1024] = "";
    assert_int_equal(store_alert_sub_list(st, NULL, collect_subs, list, err), RC_OK);
    assert_string_equal(list, "city//json//etc/rollcall/intranet-ca.pem,d1/120103/wecom-markdown/,"
                              "d2/120104/wecom-text/,");
    list[0] = '\0';
    assert_int_equal(store_alert_sub_list(st, "120103", collect_subs, list, err), RC_OK);
    assert_string_equal(list, "d1/120103/wecom-markdown/,");
    struct store_alert_sub got;
    assert_int_equal(store_alert_sub_get(st, d1.id, &got, err), RC_OK);
    assert_string_equal(got.url, "https://hooks.example/d1?key=SECRET");

    /* A serious finding of I-1 (district 120103): the city's and d1's rows, not d2's; one of
     * lower severity: none; one of an institution in no district: the city's only. */
    struct store_finding high = {.kind = "bad_signature",
                                 .severity = "high",
                                 .device = "K-1",
                                 .seq = 3,
                                 .institution = "I-1",
                                 .detail = "bad signature",
                                 .created_at_ms = 100};
    struct store_finding medium = high, nowhere = high;
    medium.severity = "medium";
    nowhere.institution = "I-unregistered";
    nowhere.created_at_ms = 200;
    assert_int_equal(store_finding_insert(st, &high, err), RC_OK);
    assert_int_equal(store_finding_insert(st, &medium, err), RC_OK);
    assert_int_equal(store_finding_insert(st, &nowhere, err), RC_OK);
    list[0] = '\0';
    struct store_alert_filter all = {0};
    assert_int_equal(store_alert_deliveries(st, &all, 10, collect_deliveries, list, err), RC_OK);
    assert_string_equal(list, "city:bad_signature:I-unregistered:pending:0,"
                              "d1:bad_signature:I-1:pending:0,city:bad_signature:I-1:pending:0,");
    list[0] = '\0';
    struct store_alert_filter mine = {.district = "120103"};
    assert_int_equal(store_alert_deliveries(st, &mine, 10, collect_deliveries, list, err), RC_OK);
    assert_string_equal(list, "d1:bad_signature:I-1:pending:0,");

    /* Due rows, soonest first; a claim is taken once. */
    struct store_alert_filter due = {.due_at_ms = 150};
    struct store_alert_delivery d;
    memset(&d, 0, sizeof d);
    assert_int_equal(store_alert_deliveries(st, &due, 10, first_delivery, &d, err), 1);
    assert_string_equal(d.sub.name, "city");
    assert_string_equal(d.district, "120103");
    assert_string_equal(d.finding.detail, "bad signature");
    assert_int_equal(d.finding.seq, 3);
    assert_int_equal(d.next_at_ms, 100);
    bool claimed = false;
    assert_int_equal(store_alert_claim(st, d.id, 100, 1000, &claimed, err), RC_OK);
    assert_true(claimed);
    assert_int_equal(store_alert_claim(st, d.id, 100, 1000, &claimed, err), RC_OK);
    assert_false(claimed);
    /* a failure, then a success; a delivered row is never changed again */
    struct store_alert_attempt a = {.state = "pending",
                                    .attempts = 1,
                                    .next_at_ms = 400,
                                    .status = 503,
                                    .error = "HTTP 503",
                                    .at_ms = 150};
    if (store_alert_record(st, d.id, &a, err) != RC_OK)
        fail_msg("%s", err);
    struct store_alert_filter later = {.due_at_ms = 399};
    list[0] = '\0';
    assert_int_equal(store_alert_deliveries(st, &later, 10, collect_deliveries, list, err), RC_OK);
    assert_string_equal(
        list, "d1:bad_signature:I-1:pending:0,city:bad_signature:I-unregistered:pending:0,");
    struct store_alert_attempt ok = {.state = "delivered",
                                     .attempts = 2,
                                     .next_at_ms = 500,
                                     .status = 200,
                                     .error = "",
                                     .at_ms = 500};
    assert_int_equal(store_alert_record(st, d.id, &ok, err), RC_OK);
    assert_int_equal(store_alert_record(st, d.id, &a, err), RC_OK);
    struct store_alert_filter city_only = {.subscription = city.id};
    memset(&d, 0, sizeof d);
    /* newest first: the I-unregistered row; then ours */
    list[0] = '\0';
    assert_int_equal(store_alert_deliveries(st, &city_only, 10, collect_deliveries, list, err),
                     RC_OK);
    assert_string_equal(list, "city:bad_signature:I-unregistered:pending:0,"
                              "city:bad_signature:I-1:delivered:2,");

    /* Removing d1 cancels its pending row and hides it; later findings skip it. */
    assert_int_equal(store_alert_sub_remove(st, d1.id, 600, err), RC_OK);
    assert_int_equal(store_alert_sub_remove(st, d1.id, 600, err), RC_NOTFOUND);
    assert_int_equal(store_alert_sub_get(st, d1.id, &got, err), RC_NOTFOUND);
    high.created_at_ms = 700;
    assert_int_equal(store_finding_insert(st, &high, err), RC_OK);
    list[0] = '\0';
    assert_int_equal(store_alert_deliveries(st, &mine, 10, collect_deliveries, list, err), RC_OK);
    assert_string_equal(list, "d1:bad_signature:I-1:cancelled:0,");
    list[0] = '\0';
    assert_int_equal(store_alert_deliveries(st, &all, 1, collect_deliveries, list, err), RC_OK);
    assert_string_equal(list, "city:bad_signature:I-1:pending:0,");
    store_close(st);
}

static struct store_engine_alert engine_alert(const char *kind, const char *subject,
                                              const char *session)
{
    struct store_engine_alert a;
    memset(&a, 0, sizeof a);
    snprintf(a.kind, sizeof a.kind, "%s", kind);
    snprintf(a.subject, sizeof a.subject, "%s", subject);
    snprintf(a.session, sizeof a.session, "%s", session);
    snprintf(a.trainee, sizeof a.trainee, "%s", strlen(subject) == 64 ? subject : "");
    snprintf(a.detail, sizeof a.detail, "%s over the limit", kind);
    return a;
}

static int count_findings(const struct store_finding_row *r, void *ctx)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

struct alert_racer {
    const struct store_engine_alert *a;
    size_t added;
    int rc;
};

/* A second collector recording the same key while the first holds it uncommitted. */
static void *second_recorder(void *arg)
{
    struct alert_racer *r = arg;
    char err[ERR_LEN];
    store *b = NULL;
    if (store_open(url, 0, &b, err) != RC_OK) {
        r->rc = RC_DB;
        return NULL;
    }
    r->rc = store_engine_alerts_record(b, "C-1", "I-1", r->a, 1, 900, &r->added, err);
    store_close(b);
    return NULL;
}

static void engine_alerts_once(void **state)
{
    (void)state;
    char err[ERR_LEN];
    store *st = open_migrated();
    enrol(st, "I-1", "K-1", "F-1");
    assert_int_equal(store_institution_register(st, "I-1", "120103", err), RC_OK);
    struct store_alert_sub city = alert_sub("city", "", "json");
    assert_int_equal(store_alert_sub_insert(st, &city, err), RC_OK);
    struct store_engine_alert a[3] = {
        engine_alert("online_share_trainee", TRAINEE1, ""),
        engine_alert("signin_outside", TRAINEE2, "S-1"),
        engine_alert("signin_outside", TRAINEE2, "S-2"),
    };
    /* new keys: one finding (severity high) and one outbox row each */
    size_t added = 99;
    if (store_engine_alerts_record(st, "C-1", "I-1", a, 2, 100, &added, err) != RC_OK)
        fail_msg("%s", err);
    assert_int_equal(added, 2);
    char list[1024] = "";
    struct store_alert_filter all = {0};
    assert_int_equal(store_alert_deliveries(st, &all, 10, collect_deliveries, list, err), RC_OK);
    assert_string_equal(list, "city:signin_outside:I-1:pending:0,"
                              "city:online_share_trainee:I-1:pending:0,");
    struct store_alert_delivery d;
    memset(&d, 0, sizeof d);
    assert_int_equal(store_alert_deliveries(st, &all, 10, first_delivery, &d, err), 1);
    assert_string_equal(d.finding.class_id, "C-1");
    assert_string_equal(d.finding.severity, "high");
    assert_string_equal(d.finding.detail, "signin_outside over the limit");
    assert_string_equal(d.district, "120103");
    /* the same keys again (a recomputation): nothing; one more key: only it */
    assert_int_equal(store_engine_alerts_record(st, "C-1", "I-1", a, 3, 200, &added, err), RC_OK);
    assert_int_equal(added, 1);
    /* the same kind and subject in another class is another key */
    assert_int_equal(store_engine_alerts_record(st, "C-2", "I-1", a, 1, 200, &added, err), RC_OK);
    assert_int_equal(added, 1);
    list[0] = '\0';
    assert_int_equal(store_alert_deliveries(st, &all, 10, collect_deliveries, list, err), RC_OK);
    assert_string_equal(list, "city:online_share_trainee:I-1:pending:0,"
                              "city:signin_outside:I-1:pending:0,"
                              "city:signin_outside:I-1:pending:0,"
                              "city:online_share_trainee:I-1:pending:0,");
    /* the engine's findings are listed as computed, not as stored ingest findings */
    int n = 0;
    assert_int_equal(store_finding_list(st, NULL, 100, count_findings, &n, err), RC_OK);
    assert_int_equal(n, 0);
    /* inside the caller's transaction: rolled back with it, recorded again afterwards */
    struct store_engine_alert late = engine_alert("gnss_quality", "K-1", "S-1");
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_engine_alerts_record(st, "C-1", "I-1", &late, 1, 300, &added, err),
                     RC_OK);
    assert_int_equal(added, 1);
    store_rollback(st);
    /* Two collectors at once: the second waits for the first's key and then adds nothing. */
    struct alert_racer r = {.a = &late, .added = 99, .rc = -1};
    assert_int_equal(store_begin(st, err), RC_OK);
    assert_int_equal(store_engine_alerts_record(st, "C-1", "I-1", &late, 1, 300, &added, err),
                     RC_OK);
    assert_int_equal(added, 1);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, second_recorder, &r), 0);
    usleep(200 * 1000); /* gives the second collector time to reach the key; not asserted */
    assert_int_equal(store_commit(st, err), RC_OK);
    pthread_join(t, NULL);
    assert_int_equal(r.rc, RC_OK);
    assert_int_equal(r.added, 0);
    n = 0;
    memset(&d, 0, sizeof d);
    list[0] = '\0';
    assert_int_equal(store_alert_deliveries(st, &all, 1, collect_deliveries, list, err), RC_OK);
    assert_string_equal(list, "city:gnss_quality:I-1:pending:0,");
    list[0] = '\0';
    assert_int_equal(store_alert_deliveries(st, &all, 10, collect_deliveries, list, err), RC_OK);
    assert_int_equal(strlen(list), strlen("city:gnss_quality:I-1:pending:0,") +
                                       strlen("city:online_share_trainee:I-1:pending:0,") * 2 +
                                       strlen("city:signin_outside:I-1:pending:0,") * 2);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_backend_implements_every_op, setup, teardown),
        cmocka_unit_test_setup_teardown(urls_and_connection_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(migrations_idempotent_staged_and_newer_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(tokens_list_and_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(fences_listed_with_versions_and_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(migrations_are_recorded_and_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(migrations_can_be_staged, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_database_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(tokens_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(signing_keys_rotate_and_stay, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_signatures_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(transactions_commit_and_roll_back, setup, teardown),
        cmocka_unit_test_setup_teardown(institutions_and_enrolment, setup, teardown),
        cmocka_unit_test_setup_teardown(device_status_keeps_unreported_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(events_exactly_once_and_heads_forward_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_take_turns_on_a_device, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_puts_of_a_new_fence_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(findings_and_fences, setup, teardown),
        cmocka_unit_test_setup_teardown(finding_detail_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(classes_inputs_and_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(class_rollcall_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(class_device_events_equal_per_window_reads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(class_device_events_packed_equal_per_window_reads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(class_events_by_device_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(class_events_many_packed_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(event_columns_give_the_engine_its_event, setup, teardown),
        cmocka_unit_test(event_pack_round_trip),
        cmocka_unit_test_setup_teardown(events_inserted_many_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_close_moves_head_signs_and_sees, setup, teardown),
        cmocka_unit_test_setup_teardown(generations_bumped_by_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(generations_once_after_migration_15, setup, teardown),
        cmocka_unit_test_setup_teardown(accounts, setup, teardown),
        cmocka_unit_test_setup_teardown(evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(procedure_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(procedure_steps_kept_by_migration_13, setup, teardown),
        cmocka_unit_test_setup_teardown(alerts_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(engine_alerts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(dropped_connection_is_reopened_between_transactions, setup,
                                        teardown),
    };
    backend = "sqlite";
    int failed = cmocka_run_group_tests_name("store contract: sqlite", tests, NULL, NULL);
    const char *pg = getenv("ROLLCALL_TEST_PG");
    if (pg && *pg) {
        if (strncmp(pg, "postgresql://", 13) != 0 || strlen(pg) >= sizeof pg_base) {
            fprintf(stderr, "ROLLCALL_TEST_PG must be a postgresql:// URL\n");
            return 1;
        }
        if (own_database(pg) != 0)
            return 1;
        backend = "postgresql";
        failed += cmocka_run_group_tests_name("store contract: postgresql", tests, NULL, NULL);
    } else {
        printf("store contract: ROLLCALL_TEST_PG not set, PostgreSQL not tested here "
               "(ctest -L pg runs it against a server of its own)\n");
    }
    return failed;
}
