/* alert: URL checks and masking (secrets never shown), the backoff schedule, and the bodies
 * (plain JSON, WeCom markdown and text within WeCom's byte limits, Chinese first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alert/alert.h"
#include "jsonin.h"
#include "rc.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void masked(const char *url, const char *want)
{
    char out[ALERT_MASKED_URL_MAX + 1];
    alert_mask_url(url, out, sizeof out);
    assert_string_equal(out, want);
}

static void masks_secrets(void **state)
{
    (void)state;
    masked("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0",
           "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***");
    masked("https://user:pa55@hooks.example:8443/a/b?x=1&y=2&flag",
           "https://***@hooks.example:8443/a/b?x=***&y=***&flag");
    masked("http://10.0.0.5/hook", "http://10.0.0.5/hook");
    masked("https://h/p?token=abc#frag", "https://h/p?token=***"); /* a fragment is dropped */
    masked("https://h/p#secret", "https://h/p");
    masked("h/p?key=SECRET&next=https://x", "h/p?key=***&next=***"); /* no scheme to skip */
    /* too long to show whole: nothing of it at all */
    char small[24];
    alert_mask_url("https://hooks.example/?key=SECRETSECRETSECRET", small, sizeof small);
    assert_null(strstr(small, "SECRET"));
    assert_null(strstr(small, "hooks"));
    alert_mask_url("https://hooks.example/a/b/c/d/e/f", small, sizeof small);
    assert_null(strstr(small, "hooks"));
}

static void checks_urls(void **state)
{
    (void)state;
    char err[ERR_LEN];
    assert_int_equal(alert_url_check("https://h/x?key=S3CRET", err), RC_OK);
    assert_int_equal(alert_url_check("http://127.0.0.1:9/", err), RC_OK);
    const char *bad[] = {"",
                         "ftp://h/?key=S3CRET",
                         "https://",
                         "https:///x?key=S3CRET",
                         "https://h/x?key=S3 CRET",
                         "https://h/x?key=S3CRET#f",
                         "https://h/\xe4\xb8\xad?key=S3CRET",
                         "h/x?key=S3CRET"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(alert_url_check(bad[i], err), RC_INVAL);
        assert_null(strstr(err, "S3CRET"));
        assert_null(strchr(err, '\n'));
    }
    char *huge = malloc(STORE_ALERT_URL_MAX + 2);
    assert_non_null(huge);
    memset(huge, 'a', STORE_ALERT_URL_MAX + 1);
    memcpy(huge, "https://", 8);
    huge[STORE_ALERT_URL_MAX + 1] = '\0';
    assert_int_equal(alert_url_check(huge, err), RC_INVAL);
    huge[STORE_ALERT_URL_MAX] = '\0';
    assert_int_equal(alert_url_check(huge, err), RC_OK);
    free(huge);
    assert_true(alert_format_valid("json") && alert_format_valid("wecom-markdown") &&
                alert_format_valid("wecom-text"));
    assert_false(alert_format_valid("wecom") || alert_format_valid("") || alert_format_valid(NULL));
}

static void backs_off_exponentially_with_a_cap(void **state)
{
    (void)state;
    assert_int_equal(alert_backoff_ms(1, 10000, 3600000), 10000);
    assert_int_equal(alert_backoff_ms(2, 10000, 3600000), 20000);
    assert_int_equal(alert_backoff_ms(3, 10000, 3600000), 40000);
    assert_int_equal(alert_backoff_ms(9, 10000, 3600000), 2560000);
    assert_int_equal(alert_backoff_ms(10, 10000, 3600000), 3600000);
    assert_int_equal(alert_backoff_ms(1000, 10000, 3600000), 3600000);
    assert_int_equal(alert_backoff_ms(INT64_MAX, 1, INT64_MAX), INT64_MAX);
}

static struct store_alert_delivery delivery(const char *format, const char *detail)
{
    struct store_alert_delivery d;
    memset(&d, 0, sizeof d);
    d.id = 9;
    d.sub.id = 4;
    snprintf(d.sub.name, sizeof d.sub.name, "d-robot");
    snprintf(d.sub.format, sizeof d.sub.format, "%s", format);
    snprintf(d.sub.url, sizeof d.sub.url, "https://qyapi.weixin.qq.com/x?key=SECRET");
    d.finding.id = 17;
    snprintf(d.finding.kind, sizeof d.finding.kind, "bad_signature");
    snprintf(d.finding.severity, sizeof d.finding.severity, "high");
    snprintf(d.finding.device, sizeof d.finding.device, "K-01");
    d.finding.seq = 12;
    snprintf(d.finding.institution, sizeof d.finding.institution, "INST-A");
    snprintf(d.finding.detail, sizeof d.finding.detail, "%s", detail);
    d.finding.created_at_ms = 1764547200000; /* 2025-12-01T00:00:00.000Z */
    snprintf(d.district, sizeof d.district, "120103");
    return d;
}

static cJSON *body_of(const struct store_alert_delivery *d)
{
    char err[ERR_LEN];
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(alert_body(d, &body, &len, err), RC_OK);
    assert_int_equal(len, strlen(body));
    assert_null(strstr(body, "SECRET"));
    cJSON *o = NULL;
    assert_int_equal(jsonin_parse(body, len, &o, err), RC_OK);
    free(body);
    return o;
}

static void json_body(void **state)
{
    (void)state;
    struct store_alert_delivery d = delivery("json", "bad signature");
    char key[ALERT_KEY_MAX];
    alert_key(&d, key, sizeof key);
    assert_string_equal(key, "rollcall-alert-4-F17");
    cJSON *o = body_of(&d);
    assert_string_equal(cJSON_GetObjectItem(o, "idempotency_key")->valuestring, key);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "rollcall.finding");
    assert_string_equal(cJSON_GetObjectItem(o, "subscription")->valuestring, "d-robot");
    cJSON *f = cJSON_GetObjectItem(o, "finding");
    assert_string_equal(cJSON_GetObjectItem(f, "id")->valuestring, "F17");
    assert_string_equal(cJSON_GetObjectItem(f, "kind")->valuestring, "bad_signature");
    assert_string_equal(cJSON_GetObjectItem(f, "kind_zh")->valuestring, "批次签名无效");
    assert_string_equal(cJSON_GetObjectItem(f, "severity")->valuestring, "serious");
    assert_string_equal(cJSON_GetObjectItem(f, "district")->valuestring, "120103");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "class")));
    assert_int_equal(cJSON_GetObjectItem(f, "seq")->valuedouble, 12);
    assert_string_equal(cJSON_GetObjectItem(f, "created_at")->valuestring,
                        "2025-12-01T00:00:00.000Z");
    cJSON_Delete(o);
}

/* A stored finding with a template (migration 17): the json body keeps the English detail and
 * adds its code and arguments; WeCom (officials) shows the Chinese detail first, the English
 * beside it. Without a template (bodies above): the stored text once, as before. */
static void templated_detail(void **state)
{
    (void)state;
    const char *en = "signin names class 'C-2' of institution 'I-B', but the device belongs to "
                     "'I-A'; not counted for that class";
    struct store_alert_delivery d = delivery("json", en);
    snprintf(d.finding.kind, sizeof d.finding.kind, "foreign_class");
    snprintf(d.finding.detail_code, sizeof d.finding.detail_code, "foreign_class");
    snprintf(d.finding.detail_args, sizeof d.finding.detail_args,
             "{\"event\":\"@event_signin\",\"class\":\"C-2\",\"owner\":\"I-B\","
             "\"institution\":\"I-A\"}");
    cJSON *o = body_of(&d);
    cJSON *f = cJSON_GetObjectItem(o, "finding");
    assert_string_equal(cJSON_GetObjectItem(f, "detail")->valuestring, en);
    assert_string_equal(cJSON_GetObjectItem(f, "detail_code")->valuestring, "foreign_class");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(f, "detail_args"), "owner")->valuestring, "I-B");
    cJSON_Delete(o);

    snprintf(d.sub.format, sizeof d.sub.format, "wecom-markdown");
    o = body_of(&d);
    const char *c = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "markdown"), "content")->valuestring;
    const char *zh =
        strstr(c, "> 详情: 签到引用的班级“C-2”属于机构“I-B”，但该终端属于“I-A”；不计入该班级\n");
    const char *eng = strstr(c, "> Detail: signin names class 'C-2'");
    assert_non_null(zh);
    assert_non_null(eng);
    assert_true(zh < eng);
    cJSON_Delete(o);

    /* arguments that do not parse: the English alone, as for an older row */
    snprintf(d.finding.detail_args, sizeof d.finding.detail_args, "{");
    o = body_of(&d);
    c = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "markdown"), "content")->valuestring;
    assert_non_null(strstr(c, "> 详情 Detail: signin names class"));
    cJSON_Delete(o);
}

static void wecom_bodies(void **state)
{
    (void)state;
    struct store_alert_delivery d = delivery("wecom-markdown", "bad signature");
    cJSON *o = body_of(&d);
    assert_string_equal(o->child->string, "msgtype"); /* WeCom's documented order */
    assert_string_equal(cJSON_GetObjectItem(o, "msgtype")->valuestring, "markdown");
    const char *c = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "markdown"), "content")->valuestring;
    assert_non_null(strstr(c, "严重问题"));
    assert_true(strstr(c, "严重问题") < strstr(c, "Serious finding")); /* Chinese first */
    assert_non_null(strstr(c, "> 机构 Institution: INST-A\n"));
    assert_non_null(strstr(c, "rollcall-alert-4-F17"));
    assert_null(cJSON_GetObjectItem(o, "text"));
    cJSON_Delete(o);

    char err[ERR_LEN];
    /* text: WeCom takes at most 2048 bytes; a long Chinese detail is cut on a character */
    char detail[STORE_DETAIL_MAX + 1] = "";
    for (size_t n = 0; n + 3 <= STORE_DETAIL_MAX; n += 3)
        memcpy(detail + n, "签", 3);
    d = delivery("wecom-text", detail);
    o = body_of(&d);
    assert_string_equal(cJSON_GetObjectItem(o, "msgtype")->valuestring, "text");
    c = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "text"), "content")->valuestring;
    assert_true(strncmp(c, "【严重问题", strlen("【严重问题")) == 0);
    assert_true(strlen(c) <= ALERT_WECOM_TEXT_MAX);
    assert_int_equal(utf8_check(c, strlen(c), "content", err), RC_OK);
    cJSON_Delete(o);

    char *body = NULL;
    size_t len = 0;
    d = delivery("xml", "x");
    assert_int_equal(alert_body(&d, &body, &len, err), RC_INVAL);
    assert_null(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(masks_secrets),
        cmocka_unit_test(checks_urls),
        cmocka_unit_test(backs_off_exponentially_with_a_cap),
        cmocka_unit_test(json_body),
        cmocka_unit_test(wecom_bodies),
        cmocka_unit_test(templated_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
