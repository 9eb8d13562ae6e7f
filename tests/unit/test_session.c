/* session: authentication by cookie against a real SQLite store (sessions inserted with past
 * times, so no test sleeps), idle and absolute expiry, a disabled user and a new password
 * ending sessions at once, CSRF tokens tied to their session, the failed-login records, the
 * person's-role rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "http/session.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char path[128];
    char url[160];
    store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[ERR_LEN];
    snprintf(f->dir, sizeof f->dir, "/tmp/rc-session-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/server.db", f->dir);
    snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
    if (store_open(f->url, STORE_OPEN_CREATE, &f->st, err) != RC_OK ||
        store_migrate(f->st, NULL, NULL, err) != RC_OK)
        return -1;
    struct store_user u = {.name = "alice",
                           .role = "institution:INST-A",
                           .password_hash = "$argon2id$v=19$m=65536,t=3,p=1$x$y",
                           .created_at_ms = 1,
                           .password_changed_at_ms = 1};
    if (store_user_insert(f->st, &u, err) != RC_OK)
        return -1;
    session_init(&(struct session_config){.idle_s = 60, .max_s = 600});
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    session_fini();
    store_close(f->st);
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

/* Stores a session of user created at created_ms with lifetimes idle_ms, max_ms; its cookie
 * value into id. */
static void new_session_for(store *st, const char *user, int64_t created_ms, int64_t idle_ms,
                            int64_t max_ms, char *id)
{
    char err[ERR_LEN] = "";
    uint8_t raw[SESSION_ID_BYTES];
    assert_int_equal(crypto_random_bytes(raw, sizeof raw, err), RC_OK);
    auth_base64url(raw, sizeof raw, id);
    char hash[STORE_HASH_HEX_LEN + 1];
    crypto_sha256_hex(id, SESSION_ID_LEN, hash);
    assert_int_equal(store_session_insert(st, hash, user, created_ms, idle_ms, max_ms, err), RC_OK);
}

/* A session as this fixture's collector makes them (idle 60 s, max 600 s). */
static void new_session(store *st, const char *user, int64_t created_ms, char *id)
{
    new_session_for(st, user, created_ms, 60 * 1000, 600 * 1000, id);
}

/* A session keeps the lifetimes it was made with: a collector with shorter settings on the same
 * database neither refuses it nor purges it early, and purges what has expired by its own. */
static void lifetimes_belong_to_the_session(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN] = "";
    struct auth_principal who;
    int64_t now = ts_now_ms();
    char lasting[SESSION_ID_LEN + 1], brief[SESSION_ID_LEN + 1];
    new_session_for(f->st, "alice", now - 30 * 1000, 60 * 1000, 600 * 1000, lasting);
    new_session_for(f->st, "alice", now - 30 * 1000, 10 * 1000, 20 * 1000, brief);
    session_init(&(struct session_config){.idle_s = 5, .max_s = 10}); /* another collector */
    assert_int_equal(store_session_purge(f->st, now, err), RC_OK);
    char hash[STORE_HASH_HEX_LEN + 1];
    struct store_session s;
    crypto_sha256_hex(brief, SESSION_ID_LEN, hash);
    assert_int_equal(store_session_lookup(f->st, hash, &s, err), RC_NOTFOUND);
    crypto_sha256_hex(lasting, SESSION_ID_LEN, hash);
    assert_int_equal(store_session_lookup(f->st, hash, &s, err), RC_OK);
    assert_int_equal(s.idle_ms, 60 * 1000);
    assert_int_equal(s.max_ms, 600 * 1000);
    assert_int_equal(session_authenticate(f->st, lasting, &who, err), RC_OK);
    session_init(&(struct session_config){.idle_s = 60, .max_s = 600});
    /* Lifetimes are checked where they enter. */
    assert_int_equal(store_session_insert(f->st, hash, "alice", now, 0, 1000, err), RC_INVAL);
    assert_int_equal(store_session_insert(f->st, hash, "alice", now, 2000, 1000, err), RC_INVAL);
}

static void authenticates_a_live_session(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN] = "";
    char id[SESSION_ID_LEN + 1];
    new_session(f->st, "alice", ts_now_ms(), id);
    struct auth_principal who;
    assert_int_equal(session_authenticate(f->st, id, &who, err), RC_OK);
    assert_true(who.session);
    assert_string_equal(who.name, "user:alice");
    assert_string_equal(who.user, "alice");
    assert_int_equal(who.role.kind, AUTH_ROLE_INSTITUTION);
    assert_string_equal(who.role.scope, "INST-A");
    assert_int_equal(strlen(who.csrf), AUTH_CSRF_LEN);
    char hash[STORE_HASH_HEX_LEN + 1];
    crypto_sha256_hex(id, SESSION_ID_LEN, hash);
    assert_string_equal(who.session_hash, hash);

    /* Malformed or unknown cookies. */
    assert_int_equal(session_authenticate(f->st, "", &who, err), RC_AUTH);
    assert_int_equal(session_authenticate(f->st, "short", &who, err), RC_AUTH);
    char other[SESSION_ID_LEN + 1];
    memcpy(other, id, sizeof other);
    other[0] = other[0] == 'A' ? 'B' : 'A';
    assert_int_equal(session_authenticate(f->st, other, &who, err), RC_AUTH);
    char bad[SESSION_ID_LEN + 1];
    memcpy(bad, id, sizeof bad);
    bad[5] = '+'; /* not base64url */
    assert_int_equal(session_authenticate(f->st, bad, &who, err), RC_AUTH);
}

static void expiry_idle_and_absolute(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN] = "";
    struct auth_principal who;
    int64_t now = ts_now_ms();
    char idle[SESSION_ID_LEN + 1], old[SESSION_ID_LEN + 1], fresh[SESSION_ID_LEN + 1];
    new_session(f->st, "alice", now - 61 * 1000, idle); /* idle 60 s */
    assert_int_equal(session_authenticate(f->st, idle, &who, err), RC_AUTH);
    assert_non_null(strstr(err, "expired"));
    /* An expired session is deleted, not merely refused. */
    char hash[STORE_HASH_HEX_LEN + 1];
    crypto_sha256_hex(idle, SESSION_ID_LEN, hash);
    struct store_session s;
    assert_int_equal(store_session_lookup(f->st, hash, &s, err), RC_NOTFOUND);

    /* Active (seen just now) but created over max (600 s) ago. */
    new_session(f->st, "alice", now - 601 * 1000, old);
    crypto_sha256_hex(old, SESSION_ID_LEN, hash);
    assert_int_equal(store_session_touch(f->st, hash, now, err), RC_OK);
    assert_int_equal(session_authenticate(f->st, old, &who, err), RC_AUTH);

    /* Seen 20 s ago (past idle / 4): authenticating marks it seen now. */
    new_session(f->st, "alice", now - 20 * 1000, fresh);
    assert_int_equal(session_authenticate(f->st, fresh, &who, err), RC_OK);
    crypto_sha256_hex(fresh, SESSION_ID_LEN, hash);
    assert_int_equal(store_session_lookup(f->st, hash, &s, err), RC_OK);
    assert_true(s.last_seen_at_ms >= now);
    assert_int_equal(s.created_at_ms, now - 20 * 1000);
}

static void disable_and_passwd_end_sessions(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN] = "";
    struct auth_principal who;
    char a[SESSION_ID_LEN + 1], b[SESSION_ID_LEN + 1];
    new_session(f->st, "alice", ts_now_ms(), a);
    assert_int_equal(store_user_set_disabled(f->st, "alice", true, ts_now_ms(), err), RC_OK);
    assert_int_equal(session_authenticate(f->st, a, &who, err), RC_AUTH);
    /* No new session for a disabled user either. */
    char hash[STORE_HASH_HEX_LEN + 1];
    crypto_sha256_hex("x", 1, hash);
    assert_int_equal(store_session_insert(f->st, hash, "alice", ts_now_ms(), 1000, 2000, err),
                     RC_NOTFOUND);
    assert_int_equal(store_user_set_disabled(f->st, "alice", false, ts_now_ms(), err), RC_OK);
    /* Enabling again does not bring the ended session back. */
    assert_int_equal(session_authenticate(f->st, a, &who, err), RC_AUTH);

    new_session(f->st, "alice", ts_now_ms(), b);
    assert_int_equal(session_authenticate(f->st, b, &who, err), RC_OK);
    assert_int_equal(store_user_set_password(f->st, "alice", "$argon2id$new", ts_now_ms(), err),
                     RC_OK);
    assert_int_equal(session_authenticate(f->st, b, &who, err), RC_AUTH);
    assert_int_equal(store_user_set_password(f->st, "nobody", "$argon2id$new", 1, err),
                     RC_NOTFOUND);
    assert_int_equal(store_user_set_disabled(f->st, "nobody", true, 1, err), RC_NOTFOUND);
}

static void csrf_is_tied_to_the_session(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN] = "";
    char a[SESSION_ID_LEN + 1], b[SESSION_ID_LEN + 1];
    new_session(f->st, "alice", ts_now_ms(), a);
    new_session(f->st, "alice", ts_now_ms(), b);
    struct auth_principal wa, wb;
    assert_int_equal(session_authenticate(f->st, a, &wa, err), RC_OK);
    assert_int_equal(session_authenticate(f->st, b, &wb, err), RC_OK);
    assert_string_not_equal(wa.csrf, wb.csrf);
    /* The same session gives the same token each time. */
    struct auth_principal again;
    assert_int_equal(session_authenticate(f->st, a, &again, err), RC_OK);
    assert_string_equal(again.csrf, wa.csrf);

    assert_true(session_csrf_ok(&wa, "GET", NULL));
    assert_true(session_csrf_ok(&wa, "HEAD", NULL));
    const char *writes[] = {"POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < 4; i++) {
        assert_false(session_csrf_ok(&wa, writes[i], NULL));
        assert_false(session_csrf_ok(&wa, writes[i], ""));
        assert_false(session_csrf_ok(&wa, writes[i], wb.csrf));
        assert_true(session_csrf_ok(&wa, writes[i], wa.csrf));
    }
    char longer[AUTH_CSRF_LEN + 2];
    snprintf(longer, sizeof longer, "%sx", wa.csrf);
    assert_false(session_csrf_ok(&wa, "POST", longer));
    /* A bearer token's requests carry no CSRF token. */
    struct auth_principal token = {.name = "inst-a"};
    assert_true(session_csrf_ok(&token, "POST", NULL));
}

static void failed_login_records(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN] = "";
    char k1[STORE_HASH_HEX_LEN + 1], k2[STORE_HASH_HEX_LEN + 1];
    crypto_sha256_hex("alice", 5, k1);
    crypto_sha256_hex("nobody", 6, k2);
    struct store_login_failures got;
    assert_int_equal(store_login_failures_get(f->st, k1, &got, err), RC_OK);
    assert_int_equal(got.failures, 0);
    struct store_login_failures a = {3, 1000, 2000, 0}, b = {10, 1000, 5000, 900000};
    assert_int_equal(store_login_failures_put(f->st, k1, &a, 0, err), RC_OK);
    assert_int_equal(store_login_failures_put(f->st, k2, &b, 0, err), RC_OK);
    assert_int_equal(store_login_failures_get(f->st, k1, &got, err), RC_OK);
    assert_int_equal(got.failures, 3);
    assert_int_equal(got.last_at_ms, 2000);
    /* Forgetting old records keeps a locked one until its lock ends. */
    a.failures = 4;
    assert_int_equal(store_login_failures_put(f->st, k1, &a, 600000, err), RC_OK);
    assert_int_equal(store_login_failures_get(f->st, k2, &got, err), RC_OK);
    assert_int_equal(got.failures, 10);
    assert_int_equal(store_login_failures_put(f->st, k1, &a, 1000000, err), RC_OK);
    assert_int_equal(store_login_failures_get(f->st, k2, &got, err), RC_OK);
    assert_int_equal(got.failures, 0);
    assert_int_equal(store_login_failures_clear(f->st, k1, err), RC_OK);
    assert_int_equal(store_login_failures_get(f->st, k1, &got, err), RC_OK);
    assert_int_equal(got.failures, 0);
}

static void names_and_roles(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    assert_true(session_user_name_valid("alice"));
    assert_true(session_user_name_valid("zhang.san@hrss-tj"));
    assert_false(session_user_name_valid(""));
    assert_false(session_user_name_valid("bad name"));
    assert_false(session_user_name_valid("a:b"));
    char long_name[STORE_USER_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_false(session_user_name_valid(long_name));
    assert_int_equal(session_user_role_check("admin", err), RC_OK);
    assert_int_equal(session_user_role_check("evaluator", err), RC_OK);
    assert_int_equal(session_user_role_check("district:120103", err), RC_OK);
    assert_int_equal(session_user_role_check("institution:INST-A", err), RC_OK);
    assert_int_equal(session_user_role_check("device:K-01", err), RC_INVAL);
    assert_int_equal(session_user_role_check("enroll:INST-A", err), RC_INVAL);
    assert_int_equal(session_user_role_check("root", err), RC_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(authenticates_a_live_session, setup, teardown),
        cmocka_unit_test_setup_teardown(expiry_idle_and_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(lifetimes_belong_to_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(disable_and_passwd_end_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(csrf_is_tied_to_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_login_records, setup, teardown),
        cmocka_unit_test(names_and_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
