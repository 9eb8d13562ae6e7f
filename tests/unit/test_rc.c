/* rc: every code has a distinct name, and rc_fail formats into the caller's buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc.h"

#include <string.h>

static void every_code_has_a_distinct_name(void **state)
{
    (void)state;
    for (int a = RC_STATE; a <= RC_OK; a++) {
        assert_string_not_equal(rc_str(a), "unknown error");
        for (int b = a + 1; b <= RC_OK; b++)
            assert_string_not_equal(rc_str(a), rc_str(b));
    }
    assert_string_equal(rc_str(-999), "unknown error");
}

static void fail_formats_and_returns_code(void **state)
{
    (void)state;
    char err[ERR_LEN];
    assert_int_equal(rc_fail(err, RC_INVAL, "bad %s at %d", "seq", 7), RC_INVAL);
    assert_string_equal(err, "bad seq at 7");
    assert_int_equal(rc_fail(NULL, RC_IO, "ignored"), RC_IO);
    char longer[600];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    rc_fail(err, RC_LIMIT, "%s", longer);
    assert_int_equal(strlen(err), ERR_LEN - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_a_distinct_name),
        cmocka_unit_test(fail_formats_and_returns_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
