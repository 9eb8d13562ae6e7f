/* labels: collector */
/* http: route pattern matching ({id} captures, exact literal segments, no trailing slash, no
 * empty or oversized or odd-character captures). The daemon itself is exercised by
 * tests/integration/test_server_basic.py over real sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"
#include "rc.h"

#include <string.h>

static void literal_and_captured_segments(void **state)
{
    (void)state;
    const char *params[HTTP_PARAMS_MAX];
    size_t n = 99;
    char seg[HTTP_PARAMS_MAX * (HTTP_SEGMENT_MAX + 1)];
    assert_true(http_route_match("/healthz", "/healthz", params, &n, seg));
    assert_int_equal(n, 0);
    assert_true(http_route_match("/v1/classes/{id}/attendance",
                                 "/v1/classes/TJ-2026-AI-0001/attendance", params, &n, seg));
    assert_int_equal(n, 1);
    assert_string_equal(params[0], "TJ-2026-AI-0001");
    assert_true(http_route_match("/a/{x}/b/{y}", "/a/1/b/two.2", params, &n, seg));
    assert_int_equal(n, 2);
    assert_string_equal(params[0], "1");
    assert_string_equal(params[1], "two.2");
}

static void mismatches(void **state)
{
    (void)state;
    const char *params[HTTP_PARAMS_MAX];
    size_t n;
    char seg[HTTP_PARAMS_MAX * (HTTP_SEGMENT_MAX + 1)];
    const char *p = "/v1/classes/{id}/attendance";
    const char *bad[] = {
        "/v1/classes//attendance",
        "/v1/classes/X/attendance/",
        "/v1/classes/X",
        "/v1/classes/X/attendancex",
        "/v1/classes/X/Attendance",
        "/v1/classes/a b/attendance",
        "/v1/classes/a%2Fb/attendance",
        "v1/classes/X/attendance",
        "",
        "/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(http_route_match(p, bad[i], params, &n, seg));
    assert_false(http_route_match("/healthz", "/healthz/", params, &n, seg));
    assert_false(http_route_match("/healthz", "/healthzz", params, &n, seg));
    assert_false(http_route_match("/healthz", "//healthz", params, &n, seg));
    char longpath[HTTP_SEGMENT_MAX + 20] = "/x/";
    memset(longpath + 3, 'a', HTTP_SEGMENT_MAX + 1);
    longpath[HTTP_SEGMENT_MAX + 4] = '\0';
    assert_false(http_route_match("/x/{id}", longpath, params, &n, seg));
    longpath[HTTP_SEGMENT_MAX + 3] = '\0';
    assert_true(http_route_match("/x/{id}", longpath, params, &n, seg));
    assert_int_equal(strlen(params[0]), HTTP_SEGMENT_MAX);
}

/* Content-Disposition (RFC 6266): a plain name as is; anything else gets an ASCII fallback and
 * the exact name as filename* (RFC 8187); a name too long for the header sets nothing. */
static void download_names(void **state)
{
    (void)state;
    struct http_response res;
    memset(&res, 0, sizeof res);
    assert_int_equal(http_set_download(&res, "attendance-C-A.csv"), RC_OK);
    assert_string_equal(res.disposition, "attachment; filename=\"attendance-C-A.csv\"");
    assert_int_equal(http_set_download(&res, "出勤-C 1\"x\".csv"), RC_OK);
    assert_string_equal(res.disposition, "attachment; filename=\"______-C 1_x_.csv\"; "
                                         "filename*=UTF-8''%E5%87%BA%E5%8B%A4-C%201%22x%22.csv");
    char longname[HTTP_DISPOSITION_MAX];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char before[sizeof res.disposition];
    memcpy(before, res.disposition, sizeof before);
    assert_int_equal(http_set_download(&res, longname), RC_LIMIT);
    assert_string_equal(res.disposition, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_and_captured_segments),
        cmocka_unit_test(mismatches),
        cmocka_unit_test(download_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
