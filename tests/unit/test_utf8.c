/* utf8: the one text validator, against the classes of Markus Kuhn's UTF-8 decoder stress
 * test (https://www.cl.cam.ac.uk/~mgk25/ucs/examples/UTF-8-test.txt), and the JSON walker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

#define LIT(s) s, sizeof s - 1

static void ok(const char *s, size_t n)
{
    char err[ERR_LEN] = "";
    size_t bad = 99;
    assert_true(utf8_valid(s, n, &bad));
    assert_int_equal(utf8_check(s, n, "f", err), RC_OK);
}

static void bad_at(const char *s, size_t n, size_t at)
{
    char err[ERR_LEN] = "";
    size_t bad = 99;
    assert_false(utf8_valid(s, n, &bad));
    assert_int_equal(bad, at);
    assert_int_equal(utf8_check(s, n, "reason", err), RC_INVAL);
    assert_non_null(strstr(err, "reason: "));
}

/* Kuhn 1, 2.1-2.3: correct text, first and last sequences of each length, boundaries. */
static void kuhn_1_2_valid(void **state)
{
    (void)state;
    ok(LIT(""));
    ok(LIT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));     /* κόσμε */
    ok(LIT("\xe7\xbc\xba\xe5\x8b\xa4\xe5\x8e\x9f\xe5\x9b\xa0")); /* 缺勤原因 */
    ok(LIT("\x01\x7f"));                                         /* U+0001, U+007F */
    ok(LIT("\xc2\x80\xdf\xbf"));                                 /* U+0080, U+07FF */
    ok(LIT("\xe0\xa0\x80\xef\xbf\xbf"));                         /* U+0800, U+FFFF */
    ok(LIT("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));                 /* U+10000, U+10FFFF */
    ok(LIT("\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd"));             /* U+D7FF, U+E000, U+FFFD */
    ok(LIT("\xef\xbf\xbe"));                                     /* 5.3 noncharacters are valid */
}

/* Kuhn 2.1/2.2 for 5 and 6 bytes and code points past U+10FFFF. */
static void kuhn_2_beyond_unicode(void **state)
{
    (void)state;
    bad_at(LIT("\xf8\x88\x80\x80\x80"), 0);
    bad_at(LIT("\xfc\x84\x80\x80\x80\x80"), 0);
    bad_at(LIT("a\xf4\x90\x80\x80"), 1); /* U+110000 */
    bad_at(LIT("\xf7\xbf\xbf\xbf"), 0);
}

/* Kuhn 3: unexpected continuation bytes, lonely start bytes, missing last bytes,
 * impossible bytes. */
static void kuhn_3_malformed(void **state)
{
    (void)state;
    bad_at(LIT("\x80"), 0);
    bad_at(LIT("ab\xbf"), 2);
    bad_at(LIT("\xc0 "), 0);
    bad_at(LIT("\xe0 "), 0);
    bad_at(LIT("\xf0 "), 0);
    bad_at(LIT("\xc3"), 0);         /* 3.3 last byte missing */
    bad_at(LIT("x\xe7\xbc"), 1);    /* truncated 3-byte */
    bad_at(LIT("\xf0\x90\x80"), 0); /* truncated 4-byte */
    bad_at(LIT("\xe7\xbc"
               "A"),
           0);              /* continuation replaced by ASCII */
    bad_at(LIT("\xfe"), 0); /* 3.5 impossible bytes */
    bad_at(LIT("ok\xff"), 2);
}

/* Kuhn 4: overlong sequences, including the overlong '/' and overlong NUL. */
static void kuhn_4_overlong(void **state)
{
    (void)state;
    bad_at(LIT("\xc0\xaf"), 0);
    bad_at(LIT("\xe0\x80\xaf"), 0);
    bad_at(LIT("\xf0\x80\x80\xaf"), 0);
    bad_at(LIT("\xc1\xbf"), 0);
    bad_at(LIT("\xe0\x9f\xbf"), 0);
    bad_at(LIT("\xf0\x8f\xbf\xbf"), 0);
    bad_at(LIT("\xc0\x80"), 0);
}

/* Kuhn 5: UTF-16 surrogates encoded in UTF-8, single and paired. */
static void kuhn_5_surrogates(void **state)
{
    (void)state;
    bad_at(LIT("\xed\xa0\x80"), 0);
    bad_at(LIT("a\xed\xad\xbf"), 1);
    bad_at(LIT("\xed\xbf\xbf"), 0);
    bad_at(LIT("\xed\xa0\x80\xed\xb0\x80"), 0);
}

static void nul_is_refused_by_name(void **state)
{
    (void)state;
    char err[ERR_LEN];
    assert_int_equal(utf8_check(LIT("ab\0cd"), "reason", err), RC_INVAL);
    assert_string_equal(err, "reason: contains U+0000");
    assert_int_equal(utf8_check(LIT("ab\xff"), "reason", err), RC_INVAL);
    assert_string_equal(err, "reason: not valid UTF-8 (byte 2)");
}

static int check_json(const char *text, char *err)
{
    cJSON *root = cJSON_ParseWithLength(text, strlen(text));
    assert_non_null(root);
    int rc = utf8_check_json(root, text, strlen(text), err);
    cJSON_Delete(root);
    return rc;
}

static void json_walker_names_the_member(void **state)
{
    (void)state;
    char err[ERR_LEN];
    assert_int_equal(check_json("{\"decision\":\"reject\",\"reason\":\"\xe7\xbc\xba\"}", err),
                     RC_OK);
    assert_int_equal(check_json("{\"reason\":\"ab\xed\xa0\x80\"}", err), RC_INVAL);
    assert_string_equal(err, "reason: not valid UTF-8 (byte 2)");
    assert_int_equal(check_json("{\"a\":[1,{\"name\":\"\xc0\xaf\"}]}", err), RC_INVAL);
    assert_string_equal(err, "a[1].name: not valid UTF-8 (byte 0)");
    assert_int_equal(check_json("{\"k\xff\":1}", err), RC_INVAL);
    assert_string_equal(err, "k: not valid UTF-8 (byte 1)");
    assert_int_equal(check_json("[\"\xff\"]", err), RC_INVAL);
    assert_string_equal(err, "[0]: not valid UTF-8 (byte 0)");
    assert_int_equal(check_json("\"\xff\"", err), RC_INVAL);
}

/* A member name shown in an error keeps the error one line of valid UTF-8: control characters
 * as '?', cut at a character boundary (found by fuzz_config: a key holding a raw newline). */
static void json_walker_shows_names_safely(void **state)
{
    (void)state;
    char err[ERR_LEN];
    assert_int_equal(check_json("{\"m\no\":{\"source\":\"gp\xdfsd\"}}", err), RC_INVAL);
    assert_string_equal(err, "m?o.source: not valid UTF-8 (byte 2)");
    /* 47 ASCII bytes and a 3-byte character: the 48-byte cut falls inside it, so it is left out */
    char text[128];
    snprintf(text, sizeof text, "{\"%s\xe7\xbc\xba\":\"\xff\"}",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(check_json(text, err), RC_INVAL);
    assert_string_equal(
        err, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: not valid UTF-8 (byte 0)");
}

static void json_walker_refuses_escaped_nul(void **state)
{
    (void)state;
    char err[ERR_LEN];
    assert_int_equal(check_json("{\"decision\":\"x\",\"reason\":\"ab\\u0000cd\"}", err), RC_INVAL);
    assert_string_equal(err, "reason: contains U+0000");
    assert_int_equal(check_json("{\"a\\u0000b\":1}", err), RC_INVAL);
    assert_string_equal(err, "a member name contains U+0000");
    /* An escaped backslash followed by "u0000" is text, not NUL. */
    assert_int_equal(check_json("{\"reason\":\"\\\\u0000\"}", err), RC_OK);
    assert_int_equal(check_json("{\"reason\":\"\\u0001\"}", err), RC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kuhn_1_2_valid),
        cmocka_unit_test(kuhn_2_beyond_unicode),
        cmocka_unit_test(kuhn_3_malformed),
        cmocka_unit_test(kuhn_4_overlong),
        cmocka_unit_test(kuhn_5_surrogates),
        cmocka_unit_test(nul_is_refused_by_name),
        cmocka_unit_test(json_walker_names_the_member),
        cmocka_unit_test(json_walker_shows_names_safely),
        cmocka_unit_test(json_walker_refuses_escaped_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
