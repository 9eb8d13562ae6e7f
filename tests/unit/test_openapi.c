/* openapi: If-None-Match matching (lists, weak tags, "*", near misses) and the built-in
 * document (JSON of an OpenAPI 3.1 document, its ETag a quoted hash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"
#include "http/openapi.h"

#include <cJSON.h>
#include <string.h>

static void etag_matching(void **state)
{
    (void)state;
    const char *e = "\"abc123\"";
    assert_true(http_etag_matches("\"abc123\"", e));
    assert_true(http_etag_matches("W/\"abc123\"", e));
    assert_true(http_etag_matches("\"x\", \"abc123\"", e));
    assert_true(http_etag_matches("\"x\",\"abc123\" ", e));
    assert_true(http_etag_matches("*", e));
    assert_false(http_etag_matches(NULL, e));
    assert_false(http_etag_matches("", e));
    assert_false(http_etag_matches(" , ,", e));
    assert_false(http_etag_matches("\"abc12\"", e));
    assert_false(http_etag_matches("\"abc1234\"", e));
    assert_false(http_etag_matches("abc123", e));
    assert_false(http_etag_matches("\"x\", W/\"abc\"", e));
}

static void built_in_document(void **state)
{
    (void)state;
    assert_int_equal(strlen(openapi_json), openapi_json_len);
    cJSON *doc = cJSON_ParseWithLength(openapi_json, openapi_json_len);
    assert_non_null(doc);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "openapi");
    assert_true(cJSON_IsString(v) && strncmp(v->valuestring, "3.1", 3) == 0);
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(paths, "/openapi.json"));
    cJSON_Delete(doc);
    size_t n = strlen(openapi_etag);
    assert_int_equal(n, 34);
    assert_true(openapi_etag[0] == '"' && openapi_etag[n - 1] == '"');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(etag_matching),
        cmocka_unit_test(built_in_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
