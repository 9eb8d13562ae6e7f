/* i18n: the message catalogue is complete (every finding kind the engine and ingest produce,
 * every error code the HTTP layer answers, in Chinese and English, one line each, strict
 * UTF-8), sorted for its binary search, and Accept-Language picks the language RFC 9110 says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine/procedure.h"
#include "http/http.h"
#include "i18n.h"
#include "ingest/ingest.h"
#include "rc.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

/* Both languages of prefix.name exist, differ, are one line of UTF-8; zh is not ASCII. */
static void both(const char *prefix, const char *name)
{
    char err[ERR_LEN];
    const char *zh = i18n_text2(prefix, name, I18N_ZH);
    const char *en = i18n_text2(prefix, name, I18N_EN);
    if (!zh || !en)
        fail_msg("%s.%s lacks %s", prefix, name, !zh ? "zh_CN" : "en");
    assert_true(*zh && *en);
    assert_string_not_equal(zh, en);
    assert_int_equal(utf8_check(zh, strlen(zh), "zh", err), RC_OK);
    assert_null(strchr(zh, '\n'));
    assert_null(strchr(en, '\n'));
    bool wide = false;
    for (const unsigned char *p = (const unsigned char *)zh; *p; p++)
        wide = wide || *p >= 0x80;
    if (!wide)
        fail_msg("%s.%s: the Chinese text is ASCII: %s", prefix, name, zh);
}

static void every_finding_kind_has_both_languages(void **state)
{
    (void)state;
    for (int k = 0; k < ENGINE_F_KIND_COUNT; k++)
        both("finding", engine_finding_name((enum engine_finding_kind)k));
    /* what ingest stores (docs/ATTENDANCE.md "Findings stored by ingest") */
    static const char *const stored[] = {
        "verdict_mismatch", "fence_unknown",   "clock_implausible", "clock_jump",  "unknown_class",
        "foreign_class",    "roster_override", "chain_conflict",    "chain_break", "bad_signature",
        "bad_event",        "foreign_events",  "no_photo"};
    for (size_t i = 0; i < sizeof stored / sizeof stored[0]; i++)
        both("finding", stored[i]);
    for (int f = INGEST_FINDING_NONE + 1; f <= INGEST_FINDING_FOREIGN_EVENTS; f++)
        both("finding", ingest_finding_name((enum ingest_finding)f));
    /* the subsidy procedure's (docs/SUBSIDY.md) */
    for (int f = PROC_F_NONE + 1; f <= PROC_F_LATE_CLAIM; f++)
        both("finding", procedure_finding_name((enum procedure_finding)f));
    both("finding", "claim_figures_changed");
}

/* Each {name} of text, appended to out as "name," (out holds 512 bytes). False when a brace
 * is unbalanced. */
static bool placeholders(const char *text, char *out)
{
    out[0] = '\0';
    for (const char *p = text; (p = strchr(p, '{'));) {
        const char *close = strchr(p, '}');
        if (!close || memchr(p + 1, '{', (size_t)(close - p - 1)))
            return false;
        size_t n = strlen(out);
        snprintf(out + n, 512 - n, "%.*s,", (int)(close - p - 1), p + 1);
        p = close + 1;
    }
    return !strchr(text, '}') || strchr(text, '{');
}

/* Every detail template (detail.<code>) and word (word.<w>) in both languages; a Chinese
 * template uses only arguments the English one has (the English may use more: plural endings),
 * and every code the engine's findings name is there. */
static void detail_templates_complete(void **state)
{
    (void)state;
    size_t templates = 0;
    for (size_t i = 0; i < i18n_table_len; i++) {
        const char *code = i18n_table[i].code;
        bool detail = strncmp(code, "detail.", 7) == 0, word = strncmp(code, "word.", 5) == 0;
        if (!detail && !word)
            continue;
        both(detail ? "detail" : "word", code + (detail ? 7 : 5));
        if (!detail)
            continue;
        templates++;
        char zh[512], en[512];
        assert_true(placeholders(i18n_table[i].text[I18N_ZH], zh));
        assert_true(placeholders(i18n_table[i].text[I18N_EN], en));
        for (char *p = zh, *comma; (comma = strchr(p, ',')); p = comma + 1) {
            char name[64];
            snprintf(name, sizeof name, ",%.*s,", (int)(comma - p), p);
            char en_list[520];
            snprintf(en_list, sizeof en_list, ",%s", en);
            if (!strstr(en_list, name))
                fail_msg("%s: the Chinese text's {%.*s} is not an argument of the English one",
                         code, (int)(comma - p), p);
        }
    }
    static const char *const engine_codes[] = {"sign_judged",
                                               "rollcall_missed",
                                               "no_signout",
                                               "not_on_roster",
                                               "no_session",
                                               "recording_gap",
                                               "recording_late",
                                               "kiosk_silent",
                                               "clock",
                                               "gnss_quality",
                                               "impossible_travel",
                                               "chain_conflict",
                                               "venue_outside_region",
                                               "venue_outside_district",
                                               "venue_not_in_region",
                                               "late_application",
                                               "late_subsidy",
                                               "online_share_trainee",
                                               "online_share_plan",
                                               "attendance_low"};
    /* ingest's stored findings (server/ingest/ingest.c, detail_set) */
    static const char *const ingest_codes[] = {
        "roster_override",     "no_photo",          "fence_unknown",  "verdict_mismatch",
        "verdict_mismatch_at", "clock_implausible", "clock_jump",     "unknown_class",
        "foreign_class",       "bad_signature",     "batch_conflict", "batch_break"};
    for (size_t i = 0; i < sizeof engine_codes / sizeof engine_codes[0]; i++)
        both("detail", engine_codes[i]);
    for (size_t i = 0; i < sizeof ingest_codes / sizeof ingest_codes[0]; i++)
        both("detail", ingest_codes[i]);
    assert_int_equal(templates, sizeof engine_codes / sizeof engine_codes[0] +
                                    sizeof ingest_codes / sizeof ingest_codes[0]);
}

/* ingest's templates in English are, word for word, the texts ingest stored before migration
 * 17 (its words word.event_*, verdict_*, ... are the event's own values); in Chinese they are
 * whole Chinese sentences, the arguments filled in. */
static void ingest_templates_english_unchanged(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        const char *pairs[13];
        const char *en;
        const char *zh;
    } cases[] = {
        {"roster_override",
         {"event", "@event_signin", "trainee", "**********1234", "class", "C-1", "check",
          "@override_roster", NULL},
         "signin of **********1234 for class C-1 recorded by an operator's override of the "
         "kiosk's roster check",
         "签到（**********1234，班级 C-1）经操作员越过终端的花名册检查后记录"},
        {"no_photo",
         {"event", "@event_signout", "trainee", "T", "class", "C-1", "why", "@no_photo_refused",
          NULL},
         "signout of T for class C-1 has no photo (refused)",
         "签退（T，班级 C-1）没有照片（学员拒绝拍照）"},
        {"fence_unknown",
         {"event", "@event_rollcall_confirm", "fence", "F-9", NULL},
         "rollcall_confirm names fence 'F-9', which this server does not have",
         "点名确认引用的围栏“F-9”在本服务器上不存在"},
        {"verdict_mismatch_at",
         {"kiosk", "@verdict_inside", "server", "@verdict_outside", "metres", "12.500", "fence",
          "F-1", "version", "2", NULL},
         "kiosk said inside, the server judged outside (d = 12.500 m from fence 'F-1' version 2)",
         "终端判定为围栏内，服务器判定为围栏外（距围栏“F-1”第 2 版 12.500 米）"},
        {"verdict_mismatch",
         {"kiosk", "@verdict_uncertain", "server", "@verdict_no_fix", NULL},
         "kiosk said uncertain, the server judged no_fix",
         "终端判定为无法确定，服务器判定为无定位"},
        {"clock_jump",
         {"direction", "@jump_back", "seconds", "90", "seq_a", "3", "time_a",
          "2026-11-02T01:00:00.000Z", "seq_b", "4", "time_b", "2026-11-02T00:59:00.000Z", NULL},
         "device clock jumped back 90 s between seq 3 (2026-11-02T01:00:00.000Z) and seq 4 "
         "(2026-11-02T00:59:00.000Z) of one boot",
         "同一次启动内，终端时钟在序号 3（2026-11-02T01:00:00.000Z）与序号 4"
         "（2026-11-02T00:59:00.000Z）之间向后跳变 90 秒"},
        {"batch_break",
         {"line", "2", "seq", "8", "stored", "7", NULL},
         "line 2: prev of seq 8 is not the hash of the stored seq 7",
         "第 2 行：序号 8 的 prev 不是已存储序号 7 的哈希（事件链断开）"},
        {"batch_conflict",
         {"seq", "5", NULL},
         "conflict at seq 5: different bytes than stored",
         "序号 5 冲突：与已存储的事件字节不同"},
        {"foreign_class",
         {"event", "@event_signin", "class", "C-2", "owner", "I-B", "institution", "I-A", NULL},
         "signin names class 'C-2' of institution 'I-B', but the device belongs to 'I-A'; not "
         "counted for that class",
         "签到引用的班级“C-2”属于机构“I-B”，但该终端属于“I-A”；不计入该班级"},
    };
    char out[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(i18n_render_pairs(cases[i].code, I18N_EN, cases[i].pairs, out, sizeof out),
                         0);
        assert_string_equal(out, cases[i].en);
        assert_int_equal(i18n_render_pairs(cases[i].code, I18N_ZH, cases[i].pairs, out, sizeof out),
                         0);
        assert_string_equal(out, cases[i].zh);
    }
    /* every event type and verdict has its word, whose English is the value itself */
    for (int t = 1; event_type_name((enum event_type)t); t++) {
        char code[64];
        snprintf(code, sizeof code, "event_%s", event_type_name((enum event_type)t));
        const char *en = i18n_text2("word", code, I18N_EN);
        if (!en || strcmp(en, event_type_name((enum event_type)t)) != 0)
            fail_msg("word.%s: %s", code, en ? en : "missing");
    }
    for (int v = 1; event_verdict_name((enum event_verdict)v); v++) {
        char code[64];
        snprintf(code, sizeof code, "verdict_%s", event_verdict_name((enum event_verdict)v));
        const char *en = i18n_text2("word", code, I18N_EN);
        if (!en || strcmp(en, event_verdict_name((enum event_verdict)v)) != 0)
            fail_msg("word.%s: %s", code, en ? en : "missing");
    }
    /* an argument missing: no text */
    const char *none[] = {"event", "@event_signin", NULL};
    assert_int_equal(i18n_render_pairs("unknown_class", I18N_ZH, none, out, sizeof out), -1);
}

static const char *sample_arg(const char *name, void *ctx)
{
    (void)ctx;
    static const char *const args[][2] = {{"event", "@signin"},
                                          {"time", "2026-11-02 09:00:00"},
                                          {"device", "K-1"},
                                          {"why", "@why_outside"},
                                          {"counted", "@not_counted"}};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        if (strcmp(args[i][0], name) == 0)
            return args[i][1];
    return NULL;
}

static void detail_rendered_in_each_language(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(i18n_render("sign_judged", I18N_EN, sample_arg, NULL, out, sizeof out), 0);
    assert_string_equal(out, "sign-in at 2026-11-02 09:00:00 on K-1: outside the venue fence; not "
                             "counted");
    assert_int_equal(i18n_render("sign_judged", I18N_ZH, sample_arg, NULL, out, sizeof out), 0);
    assert_string_equal(out, "2026-11-02 09:00:00 在 K-1 签到：在场地围栏外；不计入学时");
    /* cut to fit, never inside a UTF-8 sequence */
    for (size_t n = 1; n < 40; n++) {
        assert_int_equal(i18n_render("sign_judged", I18N_ZH, sample_arg, NULL, out, n), 0);
        assert_true(strlen(out) < n);
        assert_true(utf8_valid(out, strlen(out), NULL));
    }
    /* a missing template or argument: -1, the caller keeps its text */
    assert_int_equal(i18n_render("no_such_template", I18N_ZH, sample_arg, NULL, out, sizeof out),
                     -1);
    assert_int_equal(i18n_render("recording_gap", I18N_ZH, sample_arg, NULL, out, sizeof out), -1);
}

static void every_error_code_has_both_languages(void **state)
{
    (void)state;
    for (int e = HTTP_E_STATUS + 1; e < HTTP_E_COUNT; e++)
        both("error", http_error_name((enum http_error)e, 400));
    for (unsigned s = 400; s < 600; s++)
        both("error", http_error_name(HTTP_E_STATUS, s));
}

static void table_sorted_and_unique(void **state)
{
    (void)state;
    assert_true(i18n_table_len > 40);
    for (size_t i = 1; i < i18n_table_len; i++)
        assert_true(strcmp(i18n_table[i - 1].code, i18n_table[i].code) < 0);
    for (size_t i = 0; i < i18n_table_len; i++)
        assert_ptr_equal(i18n_text(i18n_table[i].code, I18N_EN), i18n_table[i].text[I18N_EN]);
    assert_null(i18n_text("finding.no_such_kind", I18N_ZH));
    assert_null(i18n_text(NULL, I18N_ZH));
    assert_string_equal(i18n_text("error.not_found", I18N_EN), "Not found");
    assert_string_equal(i18n_text("error.not_found", I18N_ZH), "未找到");
}

static void accept_language(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        enum i18n_lang want;
    } cases[] = {
        {NULL, I18N_ZH},
        {"", I18N_ZH},
        {"*", I18N_ZH},
        {"en", I18N_EN},
        {"EN-us", I18N_EN},
        {"en-GB,en;q=0.9", I18N_EN},
        {"zh-CN", I18N_ZH},
        {"zh-CN,zh;q=0.9,en;q=0.8", I18N_ZH},
        {"en;q=0.8, zh-Hans;q=0.9", I18N_ZH},
        {"zh;q=0.5, en", I18N_EN},
        {"fr, en;q=0.1", I18N_EN},
        {"fr, de", I18N_ZH},
        {"en;q=0", I18N_ZH},
        {"en;q=0.000", I18N_ZH},
        {"en;q=2", I18N_ZH},       /* malformed q: ignored */
        {"eng, english", I18N_ZH}, /* not the tag en */
        {"en;q=0.5, zh;q=0.5", I18N_ZH},
        {" en ; q=1.0 ", I18N_EN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (i18n_from_accept_language(cases[i].header) != cases[i].want)
            fail_msg("Accept-Language %s: want %s", cases[i].header ? cases[i].header : "(none)",
                     i18n_tag(cases[i].want));
    }
    /* past I18N_ACCEPT_MAX bytes nothing more is read */
    char big[I18N_ACCEPT_MAX + 16];
    memset(big, ' ', sizeof big);
    memcpy(big + I18N_ACCEPT_MAX, "en", 3);
    assert_int_equal(i18n_from_accept_language(big), I18N_ZH);
    assert_string_equal(i18n_tag(I18N_ZH), "zh-CN");
    assert_string_equal(i18n_tag(I18N_EN), "en");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_finding_kind_has_both_languages),
        cmocka_unit_test(every_error_code_has_both_languages),
        cmocka_unit_test(detail_templates_complete),
        cmocka_unit_test(ingest_templates_english_unchanged),
        cmocka_unit_test(detail_rendered_in_each_language),
        cmocka_unit_test(table_sorted_and_unique),
        cmocka_unit_test(accept_language),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
