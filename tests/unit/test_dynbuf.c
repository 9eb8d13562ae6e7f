/* core/dynbuf: a buffer that carries its maximum. Growth up to the maximum works byte for
 * byte; one byte past it is RC_LIMIT and leaves the content as it was; text stays
 * NUL-terminated; reset keeps memory, free and take hand it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dynbuf.h"
#include "rc.h"

#include <stdlib.h>
#include <string.h>

static void empty_buffer(void **state)
{
    (void)state;
    struct dynbuf b;
    dynbuf_init(&b, 10);
    assert_string_equal(dynbuf_ptr(&b), "");
    assert_int_equal(dynbuf_len(&b), 0);
    assert_int_equal(dynbuf_add(&b, "", 0), RC_OK);
    assert_string_equal(dynbuf_ptr(&b), "");
    dynbuf_free(&b);
    size_t len = 99;
    char *p = dynbuf_take(&b, &len);
    assert_non_null(p);
    assert_string_equal(p, "");
    assert_int_equal(len, 0);
    free(p);
}

static void grows_to_the_max_and_not_past(void **state)
{
    (void)state;
    struct dynbuf b;
    dynbuf_init(&b, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(dynbuf_add(&b, "x", 1), RC_OK);
    assert_int_equal(dynbuf_len(&b), 1000);
    assert_true(b.cap <= 1001);
    assert_int_equal(dynbuf_add(&b, "y", 1), RC_LIMIT);
    assert_int_equal(dynbuf_addf(&b, "%d", 7), RC_LIMIT);
    assert_int_equal(dynbuf_len(&b), 1000);
    assert_int_equal(strlen(dynbuf_ptr(&b)), 1000);
    assert_int_equal(dynbuf_add(&b, "", 0), RC_OK); /* nothing more is still fine */
    dynbuf_free(&b);

    /* One add larger than the maximum, and one that would wrap size_t. */
    dynbuf_init(&b, 4);
    assert_int_equal(dynbuf_adds(&b, "abcde"), RC_LIMIT);
    assert_int_equal(dynbuf_adds(&b, "abcd"), RC_OK);
    assert_int_equal(dynbuf_add(&b, "z", SIZE_MAX), RC_LIMIT);
    assert_string_equal(dynbuf_ptr(&b), "abcd");
    dynbuf_free(&b);
}

static void formatted_text(void **state)
{
    (void)state;
    struct dynbuf b;
    dynbuf_init(&b, 20);
    assert_int_equal(dynbuf_addf(&b, "%s=%d;", "a", 1), RC_OK);
    assert_int_equal(dynbuf_addf(&b, "%s=%d;", "b", 22), RC_OK);
    assert_string_equal(dynbuf_ptr(&b), "a=1;b=22;");
    /* 9 held, 12 more would make 21 > 20: refused, content unchanged and terminated. */
    assert_int_equal(dynbuf_addf(&b, "%s", "123456789012"), RC_LIMIT);
    assert_string_equal(dynbuf_ptr(&b), "a=1;b=22;");
    assert_int_equal(dynbuf_addf(&b, "%s", "12345678901"), RC_OK); /* exactly 20 */
    assert_int_equal(dynbuf_len(&b), 20);
    assert_string_equal(dynbuf_ptr(&b), "a=1;b=22;12345678901");
    dynbuf_free(&b);

    /* Longer than the first allocation: the second vsnprintf pass. */
    dynbuf_init(&b, 100000);
    char big[5000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(dynbuf_addf(&b, "<%s>", big), RC_OK);
    assert_int_equal(dynbuf_len(&b), sizeof big + 1);
    assert_int_equal(dynbuf_ptr(&b)[0], '<');
    assert_int_equal(dynbuf_ptr(&b)[sizeof big], '>');
    dynbuf_free(&b);
}

static void reset_and_take(void **state)
{
    (void)state;
    struct dynbuf b;
    dynbuf_init(&b, 64);
    assert_int_equal(dynbuf_adds(&b, "hello"), RC_OK);
    char *mem = b.buf;
    dynbuf_reset(&b);
    assert_string_equal(dynbuf_ptr(&b), "");
    assert_ptr_equal(b.buf, mem); /* memory kept */
    assert_int_equal(dynbuf_adds(&b, "bytes\0with nul"), RC_OK);
    assert_int_equal(dynbuf_add(&b, "a\0b", 3), RC_OK);
    size_t len = 0;
    char *p = dynbuf_take(&b, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(p, "bytesa\0b", 9);
    assert_null(b.buf);
    assert_int_equal(dynbuf_len(&b), 0);
    assert_int_equal(b.max, 64);
    free(p);
}

/* dyntext: the first failure sticks (later adds do nothing, even ones that would fit) and
 * take reports it naming the text and its maximum; without a failure take hands it over. */
static void dyntext_failure_sticks(void **state)
{
    (void)state;
    char err[ERR_LEN] = "", *buf = NULL;
    size_t len = 0;
    struct dyntext t;
    dyntext_init(&t, 8);
    assert_true(dyntext_printf(&t, "%s", "abcd"));
    assert_false(dyntext_printf(&t, "%s", "efghij")); /* 10 > 8 */
    assert_false(dyntext_printf(&t, "%s", "e"));      /* would fit, but the text is spoilt */
    assert_int_equal(dyntext_take(&t, "demo text", &buf, &len, err), RC_LIMIT);
    assert_null(buf);
    assert_string_equal(err, "demo text over 8 bytes");
    dyntext_init(&t, 8);
    assert_true(dyntext_printf(&t, "%d-%d", 12, 34));
    assert_int_equal(dyntext_take(&t, "demo text", &buf, &len, err), RC_OK);
    assert_string_equal(buf, "12-34");
    assert_int_equal(len, 5);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_buffer),           cmocka_unit_test(grows_to_the_max_and_not_past),
        cmocka_unit_test(formatted_text),         cmocka_unit_test(reset_and_take),
        cmocka_unit_test(dyntext_failure_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
