/* auth: role grammar, token shape and hash (checked against SHA-256 values computed with
 * Python's hashlib), bearer authentication and its refusals, and that no token is stored in
 * clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/auth.h"
#include "rc.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void valid_roles_parse_and_format(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum auth_role_kind kind;
        const char *scope;
    } ok[] = {
        {"admin", AUTH_ROLE_ADMIN, ""},
        {"enroll", AUTH_ROLE_ENROLL, ""}, /* legacy, stored before the binding: parses */
        {"enroll:INST-0001", AUTH_ROLE_ENROLL, "INST-0001"},
        {"evaluator", AUTH_ROLE_EVALUATOR, ""},
        {"institution:INST-0001", AUTH_ROLE_INSTITUTION, "INST-0001"},
        {"district:120103", AUTH_ROLE_DISTRICT, "120103"},
        {"device:K-01", AUTH_ROLE_DEVICE, "K-01"},
        {"device:kiosk.hexi_02", AUTH_ROLE_DEVICE, "kiosk.hexi_02"},
        {"assessor:PJ-01", AUTH_ROLE_ASSESSOR, "PJ-01"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct auth_role r;
        char err[ERR_LEN] = "";
        char back[STORE_ROLE_MAX + 1];
        assert_int_equal(auth_role_parse(ok[i].text, &r, err), RC_OK);
        assert_int_equal(r.kind, ok[i].kind);
        assert_string_equal(r.scope, ok[i].scope);
        auth_role_format(&r, back, sizeof back);
        assert_string_equal(back, ok[i].text);
    }
}

static void invalid_roles_are_refused(void **state)
{
    (void)state;
    char long_id[100];
    snprintf(long_id, sizeof long_id, "device:%065d", 1); /* 65-character id */
    const char *bad[] = {
        "",
        "root",
        "Admin",
        "admin:x",
        "enroll:",
        "evaluator:1",
        "district",
        "district:",
        "district:12345",
        "district:1234567",
        "district:12a456",
        "device",
        "device:",
        "device:K 01",
        "device:K/01",
        "device:K:01",
        "institution:",
        "institution:é",
        "assessor",
        "assessor:",
        long_id,
        " admin",
        "admin ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct auth_role r;
        char err[ERR_LEN] = "";
        assert_int_equal(auth_role_parse(bad[i], &r, err), RC_INVAL);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
    }
}

static void names_and_ids(void **state)
{
    (void)state;
    assert_true(auth_id_valid("K-01"));
    assert_false(auth_id_valid(""));
    assert_false(auth_id_valid("a b"));
    assert_true(auth_name_valid("ops@district:120103"));
    assert_false(auth_name_valid("ops\nFAKE LOG LINE"));
    assert_false(auth_name_valid("'quoted'"));
    assert_false(auth_name_valid(""));
}

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void tokens_have_the_documented_shape(void **state)
{
    (void)state;
    char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
    char ha[STORE_HASH_HEX_LEN + 1], hb[STORE_HASH_HEX_LEN + 1], check[STORE_HASH_HEX_LEN + 1];
    char err[ERR_LEN];
    assert_int_equal(auth_token_generate(a, ha, err), RC_OK);
    assert_int_equal(auth_token_generate(b, hb, err), RC_OK);
    assert_int_equal(strlen(a), 46);
    assert_memory_equal(a, "rc_", 3);
    for (size_t i = 3; i < 46; i++)
        assert_true(b64url_char(a[i]));
    /* 32 bytes = 256 bits: the 43rd character carries only 4 bits, its low 2 are zero. */
    assert_non_null(strchr("AEIMQUYcgkosw048", a[45]));
    assert_string_not_equal(a, b);
    assert_string_not_equal(ha, hb);
    assert_int_equal(auth_token_hash(a, check, err), RC_OK);
    assert_string_equal(check, ha);
}

static void token_hash_matches_reference(void **state)
{
    (void)state;
    char h[STORE_HASH_HEX_LEN + 1];
    char err[ERR_LEN];
    /* python3 -c "import hashlib; print(hashlib.sha256(b'rc_' + b'A' * 43).hexdigest())" */
    assert_int_equal(auth_token_hash("rc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", h, err),
                     RC_OK);
    assert_string_equal(h, "5a924d33d4cd1addc82505819e9f7dc74d8a48ad7055245e13d2c7fad1f67550");
    assert_int_equal(auth_token_hash("rc_abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE", h, err),
                     RC_OK);
    assert_string_equal(h, "34206ee549a44b7735d69ac5a47f882dfe92ac92840fd57c8c7904d3067c4396");
    const char *bad[] = {
        "",
        "rc_",
        "rc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 */
        "rc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
        "xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "rc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "rc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "rc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(auth_token_hash(bad[i], h, err), RC_AUTH);
}

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
    snprintf(f->dir, sizeof f->dir, "/tmp/rc-auth-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/server.db", f->dir);
    snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
    if (store_open(f->url, STORE_OPEN_CREATE, &f->st, err) != RC_OK ||
        store_migrate(f->st, NULL, NULL, err) != RC_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
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

static void bearer_authentication(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    char tok[AUTH_TOKEN_LEN + 1];
    char header[128];
    struct auth_principal who;
    assert_int_equal(auth_token_create(f->st, "device:K-01", "kiosk-1", tok, err), RC_OK);

    snprintf(header, sizeof header, "Bearer %s", tok);
    assert_int_equal(auth_authenticate(f->st, header, &who, err), RC_OK);
    assert_string_equal(who.name, "kiosk-1");
    assert_int_equal(who.role.kind, AUTH_ROLE_DEVICE);
    assert_string_equal(who.role.scope, "K-01");
    assert_true(auth_is(&who, AUTH_ROLE_DEVICE));
    assert_false(auth_is(&who, AUTH_ROLE_ADMIN));
    assert_true(auth_is_device(&who, "K-01"));
    assert_false(auth_is_device(&who, "K-010"));
    assert_false(auth_is_device(&who, "K-0"));
    assert_false(auth_is(NULL, AUTH_ROLE_ADMIN));
    /* The scheme is case-insensitive (RFC 7235 §2.1). */
    snprintf(header, sizeof header, "bearer  %s", tok);
    assert_int_equal(auth_authenticate(f->st, header, &who, err), RC_OK);

    /* Refusals: all RC_AUTH, and no message ever repeats the token. */
    char wrong[AUTH_TOKEN_LEN + 1];
    memcpy(wrong, tok, sizeof wrong);
    wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
    char h_wrong[128], h_basic[128], h_short[128], h_trailing[128];
    snprintf(h_wrong, sizeof h_wrong, "Bearer %s", wrong);
    snprintf(h_basic, sizeof h_basic, "Basic %s", tok);
    snprintf(h_short, sizeof h_short, "Bearer %.20s", tok);
    snprintf(h_trailing, sizeof h_trailing, "Bearer %s x", tok);
    const char *refused[] = {NULL, "", "Bearer", "Bearer ", h_wrong, h_basic, h_short, h_trailing};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        err[0] = '\0';
        assert_int_equal(auth_authenticate(f->st, refused[i], &who, err), RC_AUTH);
        assert_null(strstr(err, tok + 3));
        assert_null(strstr(err, wrong + 3));
    }
    char huge[AUTH_HEADER_MAX + 20];
    memset(huge, 'A', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    memcpy(huge, "Bearer ", 7);
    assert_int_equal(auth_authenticate(f->st, huge, &who, err), RC_AUTH);
}

static void create_validates_and_never_stores_the_token(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    char tok[AUTH_TOKEN_LEN + 1];
    assert_int_equal(auth_token_create(f->st, "superuser", "x", tok, err), RC_INVAL);
    assert_int_equal(auth_token_create(f->st, "admin", "bad name", tok, err), RC_INVAL);
    assert_int_equal(auth_token_create(f->st, "admin", "ops", tok, err), RC_OK);
    char again[AUTH_TOKEN_LEN + 1];
    assert_int_equal(auth_token_create(f->st, "enroll:INST-1", "ops", again, err), RC_CONFLICT);
    /* An enroll token is bound to one institution: one without is never made. */
    assert_int_equal(auth_token_create(f->st, "enroll", "unbound", again, err), RC_INVAL);
    assert_non_null(strstr(err, "--institution"));
    /* The audit's names of people and of the command line are not for tokens. */
    assert_int_equal(auth_token_create(f->st, "admin", "user:root", again, err), RC_INVAL);
    assert_int_equal(auth_token_create_by(f->st, "admin", "cli:ops", "user:root", again, err),
                     RC_INVAL);
    assert_non_null(strstr(err, "reserved"));
    assert_int_equal(auth_token_create_by(f->st, "admin", "ops-2", "user:root", again, err), RC_OK);
    store_close(f->st); /* checkpoints the WAL into the file */
    f->st = NULL;

    /* Search every byte of the database files for the token and for its random part. */
    const char *suffix[] = {"", "-wal"};
    for (int s = 0; s < 2; s++) {
        char p[200];
        snprintf(p, sizeof p, "%s%s", f->path, suffix[s]);
        FILE *fp = fopen(p, "rb");
        if (!fp)
            continue;
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        assert_true(n < sizeof buf);
        assert_null(memmem(buf, n, tok + 3, AUTH_TOKEN_LEN - 3));
    }
    char err2[ERR_LEN];
    assert_int_equal(store_open(f->url, 0, &f->st, err2), RC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_roles_parse_and_format),
        cmocka_unit_test(invalid_roles_are_refused),
        cmocka_unit_test(names_and_ids),
        cmocka_unit_test(tokens_have_the_documented_shape),
        cmocka_unit_test(token_hash_matches_reference),
        cmocka_unit_test_setup_teardown(bearer_authentication, setup, teardown),
        cmocka_unit_test_setup_teardown(create_validates_and_never_stores_the_token, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
