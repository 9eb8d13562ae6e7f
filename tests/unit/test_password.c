/* password: the length and text rules (characters, not bytes), Argon2id PHC strings with the
 * documented parameters, verification, a fresh salt each time, refusal of a stored string
 * that is not Argon2id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/password.h"
#include "rc.h"

#include <string.h>

static void rules(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    assert_int_equal(password_check("eleven-char", 11, err), RC_INVAL);
    assert_non_null(strstr(err, "at least 12 characters"));
    assert_int_equal(password_check("twelve-chars", 12, err), RC_OK);
    /* 11 Chinese characters are 33 bytes but still too short; 12 are enough. */
    static const char zh11[] = "评估员的密码很长很长很";
    static const char zh12[] = "评估员的密码很长很长很长";
    assert_int_equal(password_check(zh11, strlen(zh11), err), RC_INVAL);
    assert_int_equal(password_check(zh12, strlen(zh12), err), RC_OK);
    assert_int_equal(password_check("tab\there-long-enough", 20, err), RC_INVAL);
    assert_non_null(strstr(err, "control character"));
    assert_int_equal(password_check("bad\xff utf-8 password", 20, err), RC_INVAL);
    assert_non_null(strstr(err, "UTF-8"));
    static char big[PASSWORD_MAX_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    assert_int_equal(password_check(big, PASSWORD_MAX_BYTES, err), RC_OK);
    assert_int_equal(password_check(big, PASSWORD_MAX_BYTES + 1, err), RC_INVAL);
}

static void hash_and_verify(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    char a[PASSWORD_ENCODED_MAX + 1], b[PASSWORD_ENCODED_MAX + 1];
    static const char pw[] = "correct horse battery";
    assert_int_equal(password_hash(pw, strlen(pw), a, err), RC_OK);
    assert_int_equal(strncmp(a, "$argon2id$v=19$m=65536,t=3,p=1$", 31), 0);
    assert_null(strstr(a, pw));
    assert_int_equal(password_hash(pw, strlen(pw), b, err), RC_OK);
    assert_string_not_equal(a, b); /* a fresh salt each time */
    assert_int_equal(password_verify(a, pw, strlen(pw), err), RC_OK);
    assert_int_equal(password_verify(b, pw, strlen(pw), err), RC_OK);
    assert_int_equal(password_verify(a, "correct horse batterY", strlen(pw), err), RC_AUTH);
    assert_int_equal(password_verify(a, pw, strlen(pw) - 1, err), RC_AUTH);
    /* Not Argon2id (an argon2i string, garbage): corrupt, never a match. */
    char i_variant[PASSWORD_ENCODED_MAX + 1];
    memcpy(i_variant, "$argon2i$", 9);
    memcpy(i_variant + 9, a + 10, strlen(a + 10) + 1);
    assert_int_equal(password_verify(i_variant, pw, strlen(pw), err), RC_CORRUPT);
    assert_int_equal(password_verify("$argon2id$v=19$garbage", pw, strlen(pw), err), RC_CORRUPT);
    /* Over the length bound: refused as a mismatch, like any wrong password. */
    static char big[PASSWORD_MAX_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    assert_int_equal(password_verify(a, big, PASSWORD_MAX_BYTES + 1, err), RC_AUTH);
    password_waste(pw, strlen(pw)); /* runs, returns nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules),
        cmocka_unit_test(hash_and_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
