/* schedule_api: the schedule's window is whole Asia/Shanghai days, from the start of
 * yesterday to the end of the seventh day ahead, and moves exactly at local midnight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/schedule_api.h"
#include "rc.h"
#include "timeutil.h"

static int64_t at(const char *t)
{
    int64_t ms;
    assert_int_equal(ts_parse_rfc3339(t, &ms, NULL), RC_OK);
    return ms;
}

static void window_is_whole_shanghai_days(void **state)
{
    (void)state;
    int64_t from, to;
    /* 2026-12-06 23:59:59.999 in Shanghai */
    schedule_api_window(at("2026-12-06T15:59:59.999Z"), &from, &to);
    assert_int_equal(from, at("2026-12-05T00:00:00+08:00"));
    assert_int_equal(to, at("2026-12-14T00:00:00+08:00"));
    /* one millisecond later it is 7 December there: the window moves by a day */
    schedule_api_window(at("2026-12-06T16:00:00.000Z"), &from, &to);
    assert_int_equal(from, at("2026-12-06T00:00:00+08:00"));
    assert_int_equal(to, at("2026-12-15T00:00:00+08:00"));
    /* early morning UTC is already the next day in Shanghai */
    schedule_api_window(at("2026-12-07T00:30:00.000Z"), &from, &to);
    assert_int_equal(from, at("2026-12-06T00:00:00+08:00"));
    /* the epoch is 08:00 in Shanghai; its local midnight was 8 h before */
    schedule_api_window(0, &from, &to);
    assert_int_equal(from, -INT64_C(8) * 3600000 - INT64_C(86400000));
    assert_int_equal(to, -INT64_C(8) * 3600000 + 8 * INT64_C(86400000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_is_whole_shanghai_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
