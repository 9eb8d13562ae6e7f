/* uuid: the RFC 9562 layout of version 7 ids, checked bit by bit, against the RFC's own
 * example, and by Python's uuid module as an independent parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc.h"
#include "uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static crypto_rng *rng;

static int setup(void **state)
{
    (void)state;
    return crypto_rng_create(&rng, NULL) == RC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    crypto_rng_destroy(rng);
    return 0;
}

static unsigned nibble(char c)
{
    return (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
}

/* RFC 9562 appendix A.6: 2022-02-22 14:22:22.00 -05:00 = 1645557742000 ms. */
static void rfc9562_example(void **state)
{
    (void)state;
    const char *ex = "017f22e2-79b0-7cc3-98c4-dc0c0c07398f";
    uint64_t ms = 0;
    char err[ERR_LEN];
    assert_true(uuid_is_valid(ex));
    assert_true(uuid_is_v7(ex));
    assert_int_equal(uuid_v7_time(ex, &ms, err), RC_OK);
    assert_int_equal(ms, UINT64_C(1645557742000));

    /* The same timestamp gives the same first 48 bits. */
    char id[UUID_STR_LEN + 1];
    assert_int_equal(uuid_v7(rng, UINT64_C(1645557742000), id, err), RC_OK);
    assert_memory_equal(id, "017f22e2-79b0-7", 15);

    /* RFC 9562 A.4's v4 example and the nil/max ids are valid UUIDs, not v7. */
    const char *v4 = "919108f7-52d1-4320-9bac-f847db4148a8";
    assert_true(uuid_is_valid(v4));
    assert_false(uuid_is_v7(v4));
    assert_int_equal(uuid_v7_time(v4, &ms, err), RC_INVAL);
    assert_true(uuid_is_valid("00000000-0000-0000-0000-000000000000"));
    assert_false(uuid_is_v7("00000000-0000-0000-0000-000000000000"));
    assert_true(uuid_is_valid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
    assert_false(uuid_is_v7("ffffffff-ffff-ffff-ffff-ffffffffffff"));
    /* Version 7 but the wrong variant (0b110 Microsoft, 0b0 NCS). */
    assert_false(uuid_is_v7("017f22e2-79b0-7cc3-c8c4-dc0c0c07398f"));
    assert_false(uuid_is_v7("017f22e2-79b0-7cc3-78c4-dc0c0c07398f"));
}

static void refuses_non_canonical_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "017F22E2-79B0-7CC3-98C4-DC0C0C07398F",   /* upper case */
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398",    /* 35 */
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398f0",  /* 37 */
        "017f22e279b07cc398c4dc0c0c07398f",       /* no hyphens */
        "{017f22e2-79b0-7cc3-98c4-dc0c0c07398f}", /* braces */
        "017f22e2_79b0-7cc3-98c4-dc0c0c07398f",   /* wrong separator */
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398g",   /* not hex */
        "017f22e-279b0-7cc3-98c4-dc0c0c07398f",   /* hyphen misplaced */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(uuid_is_valid(bad[i]));
        assert_false(uuid_is_v7(bad[i]));
    }
}

static void timestamp_limits(void **state)
{
    (void)state;
    char id[UUID_STR_LEN + 1], err[ERR_LEN];
    uint64_t ms = 1;
    assert_int_equal(uuid_v7(rng, 0, id, err), RC_OK);
    assert_memory_equal(id, "00000000-0000-7", 15);
    assert_int_equal(uuid_v7_time(id, &ms, err), RC_OK);
    assert_int_equal(ms, 0);
    assert_int_equal(uuid_v7(rng, UUID_V7_MAX_MS, id, err), RC_OK);
    assert_memory_equal(id, "ffffffff-ffff-7", 15);
    assert_int_equal(uuid_v7_time(id, &ms, err), RC_OK);
    assert_int_equal(ms, UUID_V7_MAX_MS);
    assert_int_equal(uuid_v7(rng, UUID_V7_MAX_MS + 1, id, err), RC_INVAL);
    assert_int_equal(uuid_v7(rng, UINT64_MAX, id, err), RC_INVAL);
}

enum { MANY = 100000 };

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* 100k ids in one ms: every one v7 with the given time; unique; each of the 74 random bits
 * takes both values (a stuck bit would show). */
static void layout_and_uniqueness(void **state)
{
    (void)state;
    char err[ERR_LEN];
    const uint64_t when = UINT64_C(1767225600123); /* 2026-01-01T00:00:00.123Z */
    char(*ids)[UUID_STR_LEN + 1] = malloc(sizeof *ids * MANY);
    assert_non_null(ids);
    uint8_t seen_one[UUID_LEN] = {0}, seen_zero[UUID_LEN] = {0};
    for (size_t i = 0; i < MANY; i++) {
        assert_int_equal(uuid_v7(rng, when, ids[i], err), RC_OK);
        const char *s = ids[i];
        assert_int_equal(strlen(s), UUID_STR_LEN);
        assert_true(uuid_is_valid(s));
        assert_true(uuid_is_v7(s));
        assert_int_equal(s[14], '7');
        assert_int_equal(nibble(s[19]) >> 2, 2);
        uint64_t ms = 0;
        assert_int_equal(uuid_v7_time(s, &ms, err), RC_OK);
        assert_int_equal(ms, when);
        uint8_t b[UUID_LEN];
        for (size_t j = 0, o = 0; j < UUID_LEN; j++, o += 2) {
            if (o == 8 || o == 13 || o == 18 || o == 23)
                o++;
            b[j] = (uint8_t)(nibble(s[o]) << 4 | nibble(s[o + 1]));
            seen_one[j] |= b[j];
            seen_zero[j] |= (uint8_t)~b[j];
        }
    }
    /* Random: the low nibble of byte 6, byte 7, the low 6 bits of byte 8, bytes 9-15. */
    assert_int_equal(seen_one[6] & seen_zero[6] & 0x0f, 0x0f);
    assert_int_equal(seen_one[7] & seen_zero[7], 0xff);
    assert_int_equal(seen_one[8] & seen_zero[8] & 0x3f, 0x3f);
    for (size_t j = 9; j < UUID_LEN; j++)
        assert_int_equal(seen_one[j] & seen_zero[j], 0xff);
    /* Fixed: the version and variant bits never vary. */
    assert_int_equal(seen_one[6] & 0xf0, 0x70);
    assert_int_equal(seen_zero[6] & 0xf0, 0x80);
    assert_int_equal(seen_one[8] & 0xc0, 0x80);
    assert_int_equal(seen_zero[8] & 0xc0, 0x40);

    qsort(ids, MANY, sizeof *ids, cmp_id);
    for (size_t i = 1; i < MANY; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

/* Python's uuid module reads our ids as RFC 4122/9562 variant, version 7, with our time. */
static void python_agrees(void **state)
{
    (void)state;
    char err[ERR_LEN], ids[5][UUID_STR_LEN + 1];
    static const uint64_t when[5] = {0, 1, UINT64_C(1645557742000), UINT64_C(1767225600123),
                                     UUID_V7_MAX_MS};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(uuid_v7(rng, when[i], ids[i], err), RC_OK);
    char cmd[1024];
    int n = snprintf(cmd, sizeof cmd,
                     "/usr/bin/python3 -c 'import sys, uuid\n"
                     "for a in sys.argv[1:]:\n"
                     "    s, ms = a.split(\"@\")\n"
                     "    u = uuid.UUID(s)\n"
                     "    assert str(u) == s and u.variant == uuid.RFC_4122, s\n"
                     "    assert (u.int >> 76) & 0xf == 7 and u.int >> 80 == int(ms), s\n'");
    for (size_t i = 0; i < 5; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s@%llu", ids[i],
                      (unsigned long long)when[i]);
    assert_true((size_t)n < sizeof cmd);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* uuid_v7_layout over the random bits of RFC 9562 appendix A.6 gives its example UUID. */
static void layout_matches_rfc9562(void **state)
{
    (void)state;
    uint8_t b[UUID_LEN] = {0,    0,    0,    0,    0,    0,    0x0c, 0xc3,
                           0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f};
    char id[UUID_STR_LEN + 1];
    uuid_v7_layout(UINT64_C(0x017F22E279B0), b);
    uuid_format(b, id);
    assert_string_equal(id, "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
    memset(b, 0xff, sizeof b);
    uuid_v7_layout(0, b);
    uuid_format(b, id);
    assert_string_equal(id, "00000000-0000-7fff-bfff-ffffffffffff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc9562_example),  cmocka_unit_test(refuses_non_canonical_text),
        cmocka_unit_test(timestamp_limits), cmocka_unit_test(layout_and_uniqueness),
        cmocka_unit_test(python_agrees),    cmocka_unit_test(layout_matches_rfc9562),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
