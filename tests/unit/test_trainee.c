/* trainee: GB 11643-1999 identity numbers against the standard's own example and check
 * characters worked out by hand below; pseudonyms against Python's hmac and openssl
 * (`printf %s ID | openssl dgst -sha256 -hmac KEY`).
 *
 * Check character = "10X98765432"[sum(digit_i * w_i) mod 11], w = 7 9 10 5 8 4 2 1 6 3 7 9 10
 * 5 8 4 2:
 *   11010519491231002X (GB 11643 example): 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167,
 *     167 mod 11 = 2 -> X
 *   120103199001011231: 7+18+0+5+0+12+2+9+54+0+0+9+0+5+8+8+6 = 143, mod 11 = 0 -> 1
 *   440308199901101512: 28+36+0+15+0+32+2+9+54+27+0+9+10+0+8+20+2 = 252, mod 11 = 10 -> 2
 *   120104200002290019 (29 Feb 2000): 7+18+0+5+0+16+4+0+0+0+0+18+20+45+0+0+2 = 135,
 *     mod 11 = 3 -> 9
 *   810000198001010022 (Hong Kong resident's permit): 56+9+0+0+0+0+2+9+48+0+0+9+0+5+0+0+4
 *     = 142, mod 11 = 10 -> 2
 *   120102202603020010: 7+18+0+5+0+8+4+0+12+18+0+27+0+10+0+0+2 = 111, mod 11 = 1 -> 0
 *   120102202603030016: the same +5 (day 02 -> 03 at weight 5) = 116, mod 11 = 6 -> 6 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc.h"
#include "trainee.h"

#include <string.h>

/* 2026-03-01T16:30:00Z: already 2 March in Asia/Shanghai. */
static const time_t now = 1772382600;
/* 2026-03-01T15:59:59Z: still 1 March in Asia/Shanghai. */
static const time_t before_midnight = 1772380799;

static void expect_ok(const char *in, const char *want)
{
    char out[TRAINEE_ID_LEN + 1], err[ERR_LEN] = "";
    int rc = trainee_id_normalise(in, now, out, err);
    if (rc != RC_OK)
        fail_msg("%s refused: %s", in, err);
    assert_string_equal(out, want);
}

/* Refused, with an error message containing why. */
static void expect_refused(const char *in, time_t when, const char *why)
{
    char out[TRAINEE_ID_LEN + 1], err[ERR_LEN] = "";
    assert_int_equal(trainee_id_normalise(in, when, out, err), RC_INVAL);
    if (!strstr(err, why))
        fail_msg("%s: error \"%s\" does not say \"%s\"", in, err, why);
}

static void valid_numbers(void **state)
{
    (void)state;
    expect_ok("11010519491231002X", "11010519491231002X");
    expect_ok("11010519491231002x", "11010519491231002X"); /* lower-case x normalised */
    expect_ok("120103199001011231", "120103199001011231");
    expect_ok("440308199901101512", "440308199901101512");
    expect_ok("120104200002290019", "120104200002290019");
    expect_ok("810000198001010022", "810000198001010022");
    /* Born today in Shanghai, though it is still yesterday in UTC. */
    expect_ok("120102202603020010", "120102202603020010");
}

static void wrong_check_character(void **state)
{
    (void)state;
    expect_refused("110105194912310021", now, "is 1, expected X");
    expect_refused("120103199001011232", now, "is 2, expected 1");
    expect_refused("12010319900101123X", now, "is X, expected 1");
    expect_refused("440308199901101511", now, "expected 2");
    /* Two digits swapped keep the length and the date but not the check. */
    expect_refused("120130199001011231", now, "expected");
}

static void bad_dates(void **state)
{
    (void)state;
    expect_refused("120104200002300013", now, "birth date"); /* 30 Feb */
    expect_refused("120104190002290011", now, "birth date"); /* 1900 was not a leap year */
    expect_refused("120104199913010012", now, "birth date"); /* month 13 */
    expect_refused("120104199900010012", now, "birth date"); /* month 0 */
    expect_refused("120104199901000012", now, "birth date"); /* day 0 */
    expect_refused("120104199904310012", now, "birth date"); /* 31 April */
    expect_refused("120104189912310012", now, "before 1900-01-01");
    expect_refused("120102202603030016", now, "future");             /* tomorrow */
    expect_refused("120102202603020010", before_midnight, "future"); /* not yet born */
    expect_refused("120102210001010012", now, "future");
}

static void bad_region(void **state)
{
    (void)state;
    static const char *const codes[] = {"00", "10", "16", "20", "24", "30", "38", "40", "47",
                                        "49", "55", "60", "66", "70", "72", "80", "84", "99"};
    char id[TRAINEE_ID_LEN + 1] = "120103199001011231";
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        memcpy(id, codes[i], 2);
        expect_refused(id, now, "province code");
    }
}

static void bad_shape(void **state)
{
    (void)state;
    expect_refused("", now, "must have 18 characters, not 0");
    expect_refused("12010319900101123", now, "not 17");
    expect_refused("1201031990010112310", now, "more than 18");
    expect_refused("120103900101123", now, "not 15"); /* first-generation 15-digit number */
    expect_refused("12010319900101123A", now, "digit or X");
    expect_refused("1201031990010112X1", now, "character 17 is not a digit");
    expect_refused("X20103199001011231", now, "character 1 is not a digit");
    expect_refused("120103 99001011231", now, "character 7 is not a digit");
    expect_refused("１２0103199001011231", now, "must have 18"); /* full-width digits */
    /* Errors never repeat the number. */
    char out[TRAINEE_ID_LEN + 1], err[ERR_LEN];
    assert_int_equal(trainee_id_normalise("120103199001011232", now, out, err), RC_INVAL);
    assert_null(strstr(err, "12010319900101123"));
}

static void pseudonyms(void **state)
{
    (void)state;
    char p[TRAINEE_PSEUDONYM_LEN + 1], q[TRAINEE_PSEUDONYM_LEN + 1], err[ERR_LEN];
    const char *key = "institution-key-0001";
    assert_int_equal(
        trainee_pseudonym((const uint8_t *)key, strlen(key), "120103199001011231", p, err), RC_OK);
    assert_string_equal(p, "28b7f8a2a9c49976f1ce2d5d1126b42181e929bfdc05e8577b2585eee3d9c366");

    uint8_t k32[32];
    for (size_t i = 0; i < sizeof k32; i++)
        k32[i] = (uint8_t)i;
    assert_int_equal(trainee_pseudonym(k32, sizeof k32, "11010519491231002X", p, err), RC_OK);
    assert_string_equal(p, "a66755453b106dcea0cfa264214ae59ff1e8b067f3e5f3aa8085e1d8757880eb");
    /* Lower-case x names the same person. */
    assert_int_equal(trainee_pseudonym(k32, sizeof k32, "11010519491231002x", q, err), RC_OK);
    assert_string_equal(p, q);
    /* Another institution's key gives an unrelated pseudonym. */
    k32[0] ^= 1;
    assert_int_equal(trainee_pseudonym(k32, sizeof k32, "11010519491231002X", q, err), RC_OK);
    assert_string_not_equal(p, q);

    assert_int_equal(trainee_pseudonym(k32, TRAINEE_KEY_MIN - 1, "11010519491231002X", q, err),
                     RC_INVAL);
    assert_non_null(strstr(err, "key"));
    assert_int_equal(trainee_pseudonym(k32, sizeof k32, "110105194912310021", q, err), RC_INVAL);
    assert_non_null(strstr(err, "expected X"));
}

static void masks(void **state)
{
    (void)state;
    char m[TRAINEE_ID_LEN + 1], err[ERR_LEN];
    assert_int_equal(trainee_mask("120103199001011231", m, err), RC_OK);
    assert_string_equal(m, "1201**********1231");
    assert_int_equal(trainee_mask("11010519491231002x", m, err), RC_OK);
    assert_string_equal(m, "1101**********002X");
    assert_int_equal(trainee_mask("1201031990010112", m, err), RC_INVAL);
    assert_int_equal(trainee_mask("120103199001011230", m, err), RC_INVAL);
}

static void name_masks(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"张三伟", "张*伟"}, {"张伟", "张*"},    {"欧阳中锋", "欧**锋"},
        {"王", "*"},         {"Li Na", "L***a"}, {"Zé", "Z*"},
    };
    char out[64], err[ERR_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(trainee_name_mask(cases[i].in, out, sizeof out, err), RC_OK);
        assert_string_equal(out, cases[i].out);
    }
    assert_int_equal(trainee_name_mask("", out, sizeof out, err), RC_INVAL);
    assert_int_equal(trainee_name_mask("\xe5\xbc", out, sizeof out, err), RC_INVAL);
    assert_string_equal(out, "");
    assert_int_equal(trainee_name_mask("张三伟", out, 4, err), RC_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_numbers), cmocka_unit_test(wrong_check_character),
        cmocka_unit_test(bad_dates),     cmocka_unit_test(bad_region),
        cmocka_unit_test(bad_shape),     cmocka_unit_test(pseudonyms),
        cmocka_unit_test(masks),         cmocka_unit_test(name_masks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
