/* plan: class plans, online records and assessments from JSON and CSV (docs/IMPORTS.md).
 *
 * References: the masked forms and check characters are worked out by hand (see
 * test_trainee.c); pseudonyms come from trainee_pseudonym, tested against Python's hmac there.
 * GB18030 bytes are from the GB 18030 code table (GB 2312 rows for the common characters):
 * 张 D5C5, 三 C8FD, 李 C0EE, 四 CBC4, 是 CAC7, 否 B7F1, and the four-byte U+20000 𠀀 95 32 82 36;
 * Python agrees (`'张三'.encode('gb18030').hex()` is d5c5c8fd). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/catalogue.h"
#include "engine/plan.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-10-01T00:00:00Z */
static const time_t now = 1790812800;
static const uint8_t key1[32] = "institution-0001-key-32-bytes!!";
static struct catalogue *cat;

static int lookup(void *arg, const char *institution, const char *class_id, const uint8_t **key,
                  size_t *keylen)
{
    (void)arg;
    if ((institution && strcmp(institution, "INST-0001") == 0) ||
        (!institution && strncmp(class_id, "TJ-", 3) == 0)) {
        *key = key1;
        *keylen = sizeof key1;
        return 0;
    }
    return -1;
}

static const struct plan_keys keys = {.lookup = lookup, .arg = NULL, .now = now};

static int setup(void **state)
{
    (void)state;
    char err[ERR_LEN];
    cat = calloc(1, sizeof *cat);
    if (!cat ||
        catalogue_load(ROLLCALL_SOURCE_DIR "/server/engine/catalogue.json", cat, err) != RC_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(cat);
    return 0;
}

static void pseud(const char *id, char out[TRAINEE_PSEUDONYM_LEN + 1])
{
    char err[ERR_LEN];
    assert_int_equal(trainee_pseudonym(key1, sizeof key1, id, out, err), RC_OK);
}

/* The clear number must not appear anywhere in what the import returns. */
static void assert_no_clear(const void *p, size_t n, const char *id)
{
    const char *b = p;
    size_t m = strlen(id);
    for (size_t i = 0; i + m <= n; i++) {
        if (memcmp(b + i, id, m) == 0)
            fail_msg("clear id number %s found in the imported structs", id);
    }
}

static struct plan *classes_ok(const char *text, size_t len, enum plan_format fmt, size_t *n)
{
    struct plan *p = NULL;
    char err[ERR_LEN] = "";
    int rc = plan_import_classes(text, len, "t", fmt, cat, &keys, &p, n, err);
    if (rc != RC_OK)
        fail_msg("refused: %s", err);
    return p;
}

static void classes_refused(const char *text, size_t len, enum plan_format fmt, const char *why)
{
    struct plan *p = (struct plan *)(uintptr_t)1;
    size_t n = 99;
    char err[ERR_LEN] = "";
    int rc = plan_import_classes(text, len, "t", fmt, cat, &keys, &p, &n, err);
    if (rc == RC_OK)
        fail_msg("accepted, expected \"%s\"", why);
    if (!strstr(err, why))
        fail_msg("error \"%s\" does not say \"%s\"", err, why);
    assert_ptr_equal(p, (struct plan *)(uintptr_t)1); /* untouched: all or nothing */
    assert_int_equal(n, 99);
    assert_null(strchr(err, '\n'));
    assert_null(strstr(err, "120103199001011231"));
}

#define JSON_EXAMPLE                                                                               \
    "{\"id\": \"TJ-2026-AI-0001\", \"institution\": \"INST-0001\", \"district\": \"120103\",\n"    \
    " \"occupation\": \"2-02-10-09\", \"level\": \"junior\", \"applied_on\": \"2026-10-01\",\n"    \
    " \"sessions\": [{\"id\": \"S02\", \"start\": \"2026-11-03T19:00:00+08:00\",\n"                \
    "               \"end\": \"2026-11-03T21:00:00+08:00\", \"mode\": \"online\"},\n"              \
    "              {\"id\": \"S01\", \"start\": \"2026-11-02T09:00:00+08:00\",\n"                  \
    "               \"end\": \"2026-11-02T12:00:00+08:00\", \"mode\": \"offline\", \"fence\": "    \
    "\"hexi-centre\"}],\n"                                                                         \
    " \"roster\": [{\"id_number\": \"120103199001011231\", \"name\": \"张三\", \"student\": "    \
    "false},\n"                                                                                    \
    "            {\"id_number\": \"11010519491231002x\", \"name\": \"李四\", \"student\": true}]}"

static void json_example(void **state)
{
    (void)state;
    size_t n = 0;
    const char *t = JSON_EXAMPLE;
    struct plan *p = classes_ok(t, strlen(t), PLAN_FORMAT_AUTO, &n);
    assert_int_equal(n, 1);
    assert_string_equal(p->id, "TJ-2026-AI-0001");
    assert_string_equal(p->institution, "INST-0001");
    assert_string_equal(p->district, "120103");
    assert_string_equal(p->occupation, "2-02-10-09");
    assert_int_equal(p->level, CATALOGUE_JUNIOR);
    /* 2026-10-01T00:00+08:00 = 2026-09-30T16:00Z = 1790784000 s */
    assert_int_equal(p->applied_on_ms, INT64_C(1790784000000));
    assert_int_equal(p->n_sessions, 2);
    /* sorted by start: S01 first; 2026-11-02T01:00Z = 1793581200 s */
    assert_string_equal(p->sessions[0].id, "S01");
    assert_int_equal(p->sessions[0].start_ms, INT64_C(1793581200000));
    assert_int_equal(p->sessions[0].end_ms - p->sessions[0].start_ms, 3 * 3600000);
    assert_int_equal(p->sessions[0].mode, PLAN_OFFLINE);
    assert_string_equal(p->sessions[0].fence, "hexi-centre");
    assert_string_equal(p->sessions[1].id, "S02");
    assert_int_equal(p->sessions[1].mode, PLAN_ONLINE);
    assert_string_equal(p->sessions[1].fence, "");
    assert_int_equal(p->n_roster, 2);
    char ps[TRAINEE_PSEUDONYM_LEN + 1];
    pseud("120103199001011231", ps);
    assert_string_equal(p->roster[0].pseudonym, ps);
    assert_string_equal(p->roster[0].masked, "1201**********1231");
    assert_string_equal(p->roster[0].name, "张三");
    assert_false(p->roster[0].student);
    pseud("11010519491231002X", ps);
    assert_string_equal(p->roster[1].pseudonym, ps);
    assert_string_equal(p->roster[1].masked, "1101**********002X");
    assert_true(p->roster[1].student);
    assert_int_equal(plan_find_trainee(p, ps), 1);
    assert_non_null(plan_find_session(p, "S02"));
    assert_no_clear(p, sizeof *p, "120103199001011231");
    assert_no_clear(p, sizeof *p, "11010519491231002");
    free(p);
}

/* With the collector's city key, each roster entry also carries the city-wide pseudonym:
 * HMAC under that key, unlike the institution's; without it, none. A missing city key refuses
 * the import. */
static const uint8_t city_key[32] = "collector-only-city-key-32bytes";

static int city_lookup(void *arg, const uint8_t **key, size_t *keylen)
{
    if (arg)
        return -1;
    *key = city_key;
    *keylen = sizeof city_key;
    return 0;
}

static void city_pseudonym(void **state)
{
    (void)state;
    struct plan_keys with_city = keys;
    with_city.city = city_lookup;
    struct plan *p = NULL;
    size_t n = 0;
    char err[ERR_LEN] = "", want[TRAINEE_PSEUDONYM_LEN + 1];
    const char *t = JSON_EXAMPLE;
    assert_int_equal(
        plan_import_classes(t, strlen(t), "t", PLAN_FORMAT_AUTO, cat, &with_city, &p, &n, err),
        RC_OK);
    assert_int_equal(trainee_pseudonym(city_key, sizeof city_key, "120103199001011231", want, err),
                     RC_OK);
    assert_string_equal(p->roster[0].city, want);
    assert_string_not_equal(p->roster[0].city, p->roster[0].pseudonym);
    assert_int_equal(trainee_pseudonym(city_key, sizeof city_key, "11010519491231002X", want, err),
                     RC_OK);
    assert_string_equal(p->roster[1].city, want);
    assert_no_clear(p, sizeof *p, "120103199001011231");
    free(p);
    p = classes_ok(t, strlen(t), PLAN_FORMAT_AUTO, &n);
    assert_string_equal(p->roster[0].city, "");
    free(p);
    with_city.arg = &with_city; /* city_lookup fails */
    p = NULL;
    assert_int_not_equal(
        plan_import_classes(t, strlen(t), "t", PLAN_FORMAT_AUTO, cat, &with_city, &p, &n, err),
        RC_OK);
    assert_non_null(strstr(err, "no city-wide pseudonym key"));
    assert_null(p);
}

static void json_array_and_levels(void **state)
{
    (void)state;
    const char *t =
        "\xef\xbb\xbf[{\"id\":\"A\",\"institution\":\"INST-0001\",\"district\":\"120116\","
        "\"occupation\":\"2-02-30-11\",\"level\":\"高级\",\"applied_on\":\"2026-01-01\","
        "\"sessions\":[{\"id\":\"s\",\"start\":\"2026-02-01T09:00:00+08:00\","
        "\"end\":\"2026-02-01T10:00:00+08:00\",\"mode\":\"offline\",\"fence\":\"f\"}],"
        "\"roster\":[]},"
        "{\"id\":\"B\",\"institution\":\"INST-0001\",\"district\":\"120101\","
        "\"occupation\":\"2-02-10-15\",\"level\":\"中级\",\"applied_on\":\"2026-01-01\","
        "\"sessions\":[{\"id\":\"s\",\"start\":\"2026-02-01T09:00:00Z\","
        "\"end\":\"2026-02-01T10:00:00Z\",\"mode\":\"online\"}],\"roster\":[]}]";
    size_t n = 0;
    struct plan *p = classes_ok(t, strlen(t), PLAN_FORMAT_JSON, &n);
    assert_int_equal(n, 2);
    assert_int_equal(p[0].level, CATALOGUE_SENIOR);
    assert_int_equal(p[1].level, CATALOGUE_INTERMEDIATE);
    assert_string_equal(p[1].id, "B");
    free(p);
}

/* Builds a plan JSON with one field replaced. */
static void json_refused(const char *from, const char *to, const char *why)
{
    const char *base = JSON_EXAMPLE;
    const char *at = strstr(base, from);
    assert_non_null(at);
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof buf);
    classes_refused(buf, (size_t)n, PLAN_FORMAT_AUTO, why);
}

static void json_refusals(void **state)
{
    (void)state;
    json_refused("2-02-10-09", "2-02-10-99", "t: $.occupation: 2-02-10-99 is not in the subsidy");
    json_refused("\"junior\"", "\"expert\"", "$.level");
    json_refused("\"120103\"", "\"110105\"", "$.district");
    json_refused("2026-10-01\"", "2026-13-01\"", "$.applied_on");
    json_refused("2026-11-02T12:00:00+08:00", "2026-11-02T08:00:00+08:00",
                 "$.sessions[1].end: not after start");
    json_refused("2026-11-02T12:00:00+08:00", "2026-11-02T21:00:01+08:00",
                 "$.sessions[1].end: a session lasts at most 12 hours");
    json_refused("2026-11-02T09:00:00+08:00", "2026-11-02T09:00:00", "$.sessions[1].start");
    json_refused(", \"fence\": \"hexi-centre\"", "", "$.sessions[1].fence: an offline session");
    json_refused("\"mode\": \"online\"", "\"mode\": \"online\", \"fence\": \"x\"",
                 "$.sessions[0].fence: an online session");
    json_refused("\"mode\": \"online\"", "\"mode\": \"hybrid\"", "$.sessions[0].mode");
    json_refused("\"id\": \"S01\"", "\"id\": \"S02\"", "duplicate session id S02");
    /* S01 moved onto S02's evening: 19:30..22:00 overlaps 19:00..21:00 */
    json_refused("\"start\": \"2026-11-02T09:00:00+08:00\",\n               \"end\": "
                 "\"2026-11-02T12:00:00+08:00\"",
                 "\"start\": \"2026-11-03T19:30:00+08:00\", \"end\": \"2026-11-03T22:00:00+08:00\"",
                 "sessions S02 and S01 overlap");
    json_refused("120103199001011231", "120103199001011232", "$.roster[0].id_number");
    json_refused("120103199001011231", "1201031990010112", "$.roster[0].id_number");
    json_refused("120103199001011231\"", "120103199001011231000\"",
                 "$.roster[0].id_number: expected a string of 18");
    json_refused("11010519491231002x", "120103199001011231",
                 "$.roster[1].id_number: the same person as $.roster[0]");
    json_refused("\"student\": true", "\"student\": \"yes\"", "$.roster[1].student");
    json_refused("\"name\": \"李四\", ", "", "$.roster[1].name");
    /* An escaped U+0000 would cut the name at cJSON's NUL: refused by name, never truncated. */
    json_refused("\"name\": \"李四\"", "\"name\": \"李\\u0000四\"", "name: contains U+0000");
    json_refused("\"applied_on\"", "\"extra\": 1, \"applied_on\"", "extra");
    json_refused("INST-0001", "INST-0002", "no pseudonym key for institution INST-0002");
    json_refused("\"sessions\": [", "\"sessions\": [], \"x\": [", "x");
    classes_refused("[]", 2, PLAN_FORMAT_AUTO, "empty array");
    classes_refused("[1]", 3, PLAN_FORMAT_AUTO, "$[0]: expected an object");
    classes_refused("{\"id\":", 6, PLAN_FORMAT_AUTO, "not valid JSON");
    classes_refused("\"x\"", 3, PLAN_FORMAT_JSON, "expected an object or an array");
    /* A plan with no sessions. */
    const char *t = "{\"id\":\"A\",\"institution\":\"INST-0001\",\"district\":\"120116\","
                    "\"occupation\":\"2-02-30-11\",\"level\":\"senior\","
                    "\"applied_on\":\"2026-01-01\",\"sessions\":[],\"roster\":[]}";
    classes_refused(t, strlen(t), PLAN_FORMAT_AUTO, "$.sessions: a class needs at least one");
    /* The same class twice in one file. */
    char two[2048];
    int n = snprintf(two, sizeof two, "[%s,%s]", JSON_EXAMPLE, JSON_EXAMPLE);
    classes_refused(two, (size_t)n, PLAN_FORMAT_AUTO,
                    "$[1].id: class TJ-2026-AI-0001 appears twice");
    /* JSON must be UTF-8: a GB18030 name is refused. */
    const char *gb = "{\"id\":\"A\",\"name\":\"\xd5\xc5\xc8\xfd\"}";
    classes_refused(gb, strlen(gb), PLAN_FORMAT_AUTO, "not valid UTF-8");
}

/* Random roll-calls: default none with a 10-minute window; set, bounded, and the window must
 * fit in every offline session; CSV carries them as optional class columns. */
static void rollcall_settings(void **state)
{
    (void)state;
    size_t n = 0;
    const char *t = JSON_EXAMPLE;
    struct plan *p = classes_ok(t, strlen(t), PLAN_FORMAT_AUTO, &n);
    assert_int_equal(p->rollcalls, 0);
    assert_int_equal(p->rollcall_window_min, PLAN_ROLLCALL_WINDOW_DEFAULT_MIN);
    assert_int_equal(PLAN_ROLLCALL_WINDOW_DEFAULT_MIN, 10);
    free(p);
    const char *from = "\"applied_on\": \"2026-10-01\",";
    char buf[4096];
    const char *at = strstr(t, from);
    assert_non_null(at);
    snprintf(buf, sizeof buf, "%.*s%s \"rollcalls\": 2, \"rollcall_window_min\": 15,%s",
             (int)(at - t), t, from, at + strlen(from));
    p = classes_ok(buf, strlen(buf), PLAN_FORMAT_AUTO, &n);
    assert_int_equal(p->rollcalls, 2);
    assert_int_equal(p->rollcall_window_min, 15);
    free(p);
    json_refused("\"applied_on\": \"2026-10-01\",",
                 "\"applied_on\": \"2026-10-01\", \"rollcalls\": 9,", "$.rollcalls");
    json_refused("\"applied_on\": \"2026-10-01\",",
                 "\"applied_on\": \"2026-10-01\", \"rollcalls\": -1,", "$.rollcalls");
    json_refused("\"applied_on\": \"2026-10-01\",",
                 "\"applied_on\": \"2026-10-01\", \"rollcalls\": \"2\",", "$.rollcalls");
    json_refused("\"applied_on\": \"2026-10-01\",",
                 "\"applied_on\": \"2026-10-01\", \"rollcall_window_min\": 0,",
                 "$.rollcall_window_min");
    json_refused("\"applied_on\": \"2026-10-01\",",
                 "\"applied_on\": \"2026-10-01\", \"rollcall_window_min\": 61,",
                 "$.rollcall_window_min");
    /* S01 lasts 3 h: a 60-minute window fits; shortened to 1 h it does not. */
    snprintf(buf, sizeof buf, "%.*s%s \"rollcalls\": 1, \"rollcall_window_min\": 60,%s",
             (int)(at - t), t, from, at + strlen(from));
    p = classes_ok(buf, strlen(buf), PLAN_FORMAT_AUTO, &n);
    free(p);
    char *b2 = strstr(buf, "2026-11-02T12:00:00+08:00");
    assert_non_null(b2);
    memcpy(b2, "2026-11-02T10:00:00+08:00", 25);
    classes_refused(buf, strlen(buf), PLAN_FORMAT_AUTO,
                    "$.sessions[1].end: the session is not longer than rollcall_window_min (60");
    /* CSV */
    const char *csv = "kind,class,institution,district,occupation,level,applied_on,rollcalls,"
                      "rollcall_window_min,session,start,end,mode,fence,id_number,name,student\r\n"
                      "class,TJ-1,INST-0001,120103,2-02-10-09,初级,2026-10-01,3,5,,,,,,,,\r\n"
                      "session,TJ-1,,,,,,,,S01,2026-11-02T09:00:00+08:00,2026-11-02T12:00:00+08:00,"
                      "offline,hexi-centre,,,\r\n";
    p = classes_ok(csv, strlen(csv), PLAN_FORMAT_CSV, &n);
    assert_int_equal(p->rollcalls, 3);
    assert_int_equal(p->rollcall_window_min, 5);
    free(p);
    char bad[1024];
    snprintf(bad, sizeof bad, "%s", csv);
    char *x = strstr(bad, ",3,5,");
    assert_non_null(x);
    x[1] = 'x';
    classes_refused(bad, strlen(bad), PLAN_FORMAT_CSV,
                    "line 2: column rollcalls: expected a whole number");
}

#define CSV_HEADER                                                                                 \
    "kind,class,institution,district,occupation,level,applied_on,session,start,end,mode,fence,"    \
    "id_number,name,student\r\n"
#define CSV_CLASS "class,TJ-1,INST-0001,120103,2-02-10-09,初级,2026-10-01,,,,,,,,\r\n"
#define CSV_S01                                                                                    \
    "session,TJ-1,,,,,,S01,2026-11-02T09:00:00+08:00,2026-11-02T12:00:00+08:00,offline,"           \
    "hexi-centre,,,\r\n"
#define CSV_S02                                                                                    \
    "session,TJ-1,,,,,,S02,2026-11-03T19:00:00+08:00,2026-11-03T21:00:00+08:00,online,,,,\r\n"
#define CSV_T1 "trainee,TJ-1,,,,,,,,,,,120103199001011231,张三,否\r\n"
#define CSV_T2 "trainee,TJ-1,,,,,,,,,,,440308199901101512,\"Li, \"\"Si\"\"\",1\r\n"

static void check_csv_plan(const struct plan *p)
{
    assert_string_equal(p->id, "TJ-1");
    assert_int_equal(p->level, CATALOGUE_JUNIOR);
    assert_int_equal(p->n_sessions, 2);
    assert_string_equal(p->sessions[0].id, "S01");
    assert_string_equal(p->sessions[1].id, "S02");
    assert_int_equal(p->sessions[1].mode, PLAN_ONLINE);
    assert_int_equal(p->n_roster, 2);
    assert_string_equal(p->roster[0].masked, "1201**********1231");
    assert_false(p->roster[0].student);
    assert_string_equal(p->roster[1].masked, "4403**********1512");
    assert_true(p->roster[1].student);
    assert_no_clear(p, sizeof *p, "120103199001011231");
    assert_no_clear(p, sizeof *p, "440308199901101512");
}

static void csv_utf8_bom_gb18030(void **state)
{
    (void)state;
    size_t n = 0;
    /* Rows in any order: the trainee before the class row. */
    const char *t = CSV_HEADER CSV_T1 CSV_CLASS CSV_S02 CSV_S01 CSV_T2;
    struct plan *p = classes_ok(t, strlen(t), PLAN_FORMAT_AUTO, &n);
    assert_int_equal(n, 1);
    check_csv_plan(p);
    assert_string_equal(p->roster[0].name, "张三");
    assert_string_equal(p->roster[1].name, "Li, \"Si\"");
    free(p);

    /* With a UTF-8 BOM and LF line ends, trailing empty rows as Excel writes them. */
    const char *b =
        "\xef\xbb\xbf" CSV_HEADER CSV_CLASS CSV_S01 CSV_S02 CSV_T1 CSV_T2 ",,,,,,,,,,,,,,\r\n\r\n";
    p = classes_ok(b, strlen(b), PLAN_FORMAT_CSV, &n);
    check_csv_plan(p);
    assert_string_equal(p->roster[0].name, "张三");
    free(p);

    /* GB18030: level 初级 is C1 F5 BC B6, names 张三 and 𠀀李 (a four-byte sequence). */
    const char *g = CSV_HEADER
        "class,TJ-1,INST-0001,120103,2-02-10-09,\xb3\xf5\xbc\xb6,2026-10-01,,,,,,,,\r\n" CSV_S01
            CSV_S02 "trainee,TJ-1,,,,,,,,,,,120103199001011231,\xd5\xc5\xc8\xfd,\xb7\xf1\r\n"
        "trainee,TJ-1,,,,,,,,,,,440308199901101512,\x95\x32\x82\x36\xc0\xee,\xca\xc7\r\n";
    p = classes_ok(g, strlen(g), PLAN_FORMAT_AUTO, &n);
    check_csv_plan(p);
    assert_string_equal(p->roster[0].name, "张三");
    assert_string_equal(p->roster[1].name, "𠀀李");
    free(p);
}

static void csv_refused(const char *text, const char *why)
{
    classes_refused(text, strlen(text), PLAN_FORMAT_AUTO, why);
}

static void csv_refusals(void **state)
{
    (void)state;
    csv_refused("", "empty file");
    csv_refused("kind,class,colour\r\n", "t: line 1: unknown column 'colour'");
    csv_refused("kind,name\r\n", "missing column 'class'");
    csv_refused("kind,class,class\r\n", "column 'class' appears twice");
    csv_refused(CSV_HEADER "class,TJ-1\r\n", "t: line 2: 2 fields, the header has 15");
    csv_refused(CSV_HEADER CSV_CLASS "lesson,TJ-1,,,,,,,,,,,,,\r\n",
                "t: line 3: column kind: expected class, session or trainee");
    csv_refused(CSV_HEADER CSV_CLASS CSV_S01 "session,TJ-1,,,,,,S02,2026-11-02T11:00:00+08:00,"
                                             "2026-11-02T13:00:00+08:00,offline,f,,,\r\n",
                "t: line 2: sessions S01 and S02 overlap");
    csv_refused(CSV_HEADER CSV_S01, "t: line 2: class TJ-1 has no 'class' row");
    csv_refused(CSV_HEADER CSV_CLASS CSV_CLASS, "t: line 3: a second 'class' row");
    csv_refused(CSV_HEADER
                "class,TJ-1,INST-0001,120103,2-02-10-99,初级,2026-10-01,,,,,,,,\r\n" CSV_S01,
                "t: line 2: column occupation: 2-02-10-99 is not in the subsidy catalogue");
    csv_refused(CSV_HEADER "class,TJ-1,INST-0001,120103,2-02-10-09,四级,2026-10-01,,,,,,,,\r\n",
                "t: line 2: column level: expected one of");
    csv_refused(CSV_HEADER "class,TJ-1,INST-0001,120103,2-02-10-09,初级,2026-10-01,S01,,,,,,,\r\n",
                "t: line 2: column session is not used by a 'class' row");
    csv_refused(CSV_HEADER CSV_CLASS
                "session,TJ-1,,,,,,S01,2026-11-02 09:00,2026-11-02T12:00:00+08:00,offline,f,,,\r\n",
                "t: line 3: column start:");
    csv_refused(CSV_HEADER CSV_CLASS "session,TJ-1,,,,,,S 1,2026-11-02T09:00:00+08:00,"
                                     "2026-11-02T12:00:00+08:00,offline,f,,,\r\n",
                "t: line 3: column session:");
    csv_refused(CSV_HEADER CSV_CLASS CSV_S01
                "trainee,TJ-1,,,,,,,,,,,120103199001011231,张三,maybe\r\n",
                "t: line 4: column student: expected true or false");
    csv_refused(CSV_HEADER CSV_CLASS CSV_S01 "trainee,TJ-1,,,,,,,,,,,120103199001011232,张三,0\r\n",
                "t: line 4: column id_number: ID number's check character is 2");
    csv_refused(CSV_HEADER CSV_CLASS CSV_S01 "trainee,TJ-1,,,,,,,,,,,,张三,0\r\n",
                "t: line 4: column id_number: missing");
    csv_refused(CSV_HEADER CSV_CLASS CSV_S01 CSV_T1 CSV_T1,
                "t: line 5: column id_number: the same person as line 4");
    /* A quoted field may span lines, but no text field holds a control character. */
    csv_refused(CSV_HEADER CSV_CLASS CSV_S01
                "trainee,TJ-1,,,,,,,,,,,120103199001011231,\"A\nB\",0\r\n"
                "trainee,TJ-1,,,,,,,,,,,120103199001011232,C,0\r\n",
                "t: line 4: column name: expected UTF-8 text");
    csv_refused(CSV_HEADER CSV_CLASS "trainee,TJ-1,,,,,,,,,,,\"120103199001011231,x,0\r\n",
                "t: line 3: unterminated quoted field");
    csv_refused(CSV_HEADER CSV_CLASS "trainee,TJ-1,,,,,,,,,,,12010\"3,x,0\r\n",
                "t: line 3: quote inside an unquoted field");
    csv_refused(CSV_HEADER CSV_CLASS "trainee,TJ-1,,,,,,,,,,,\"1\"x,x,0\r\n",
                "t: line 3: text after a closing quote");
    /* Neither UTF-8 nor GB18030: 0x81 0x20 is no GB18030 character. */
    csv_refused(CSV_HEADER "class,TJ-1,INST-0001,120103,2-02-10-09,\x81\x20,2026-10-01,,,,,,,,\r\n",
                "neither UTF-8 nor GB18030");
    /* After a UTF-8 BOM the text must be UTF-8. */
    csv_refused("\xef\xbb\xbf" CSV_HEADER
                "class,TJ-1,INST-0001,120103,2-02-10-09,\xb3\xf5\xbc\xb6,2026-10-01,,,,,,,,\r\n",
                "not valid UTF-8");
    csv_refused("\xff\xfek\0i\0", "UTF-16");
    classes_refused("kind,class\r\nx\0y", 15, PLAN_FORMAT_CSV, "NUL byte");
    /* A record over the limit. */
    size_t big = PLAN_CSV_RECORD_MAX + 100;
    char *long_row = malloc(big + 64);
    assert_non_null(long_row);
    int n = snprintf(long_row, 64, "kind,class\r\nclass,");
    memset(long_row + n, 'a', big);
    long_row[(size_t)n + big] = '\0';
    classes_refused(long_row, strlen(long_row), PLAN_FORMAT_CSV, "longer than 4096 bytes");
    free(long_row);
}

static void online_records(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    struct plan_online *o = NULL;
    size_t n = 0;
    const char *j = "[{\"class\":\"TJ-1\",\"id_number\":\"120103199001011231\","
                    "\"start\":\"2026-11-03T19:05:00+08:00\",\"end\":\"2026-11-03T20:00:00+08:00\","
                    "\"platform\":\"津云课堂\"},"
                    "{\"class\":\"TJ-1\",\"id_number\":\"440308199901101512\","
                    "\"start\":\"2026-11-03T11:00:00Z\",\"end\":\"2026-11-03T12:00:00Z\"}]";
    assert_int_equal(
        plan_import_online(j, strlen(j), "o.json", PLAN_FORMAT_AUTO, &keys, &o, &n, err), RC_OK);
    assert_int_equal(n, 2);
    char ps[TRAINEE_PSEUDONYM_LEN + 1];
    pseud("120103199001011231", ps);
    assert_string_equal(o[0].trainee, ps);
    assert_string_equal(o[0].masked, "1201**********1231");
    assert_int_equal(o[0].end_ms - o[0].start_ms, 55 * 60000);
    assert_string_equal(o[0].platform, "津云课堂");
    assert_string_equal(o[1].platform, "");
    /* 2026-11-03T11:00Z = 2026-11-03T19:00+08:00 */
    assert_int_equal(o[1].start_ms - o[0].start_ms, -5 * 60000);
    assert_no_clear(o, n * sizeof *o, "120103199001011231");
    free(o);

    const char *c =
        "\xef\xbb\xbf"
        "class,id_number,start,end,platform\n"
        "TJ-1,120103199001011231,2026-11-03T19:05:00+08:00,2026-11-03T20:00:00+08:00,\n";
    o = NULL;
    assert_int_equal(
        plan_import_online(c, strlen(c), "o.csv", PLAN_FORMAT_AUTO, &keys, &o, &n, err), RC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(o[0].trainee, ps);
    free(o);

    struct {
        const char *text, *why;
    } bad[] = {
        {"class,id_number,start\n", "missing column 'end'"},
        {"class,id_number,start,end\nTJ-1,120103199001011231,2026-11-03T19:05:00+08:00,"
         "2026-11-03T19:00:00+08:00\n",
         "o: line 2: column end: not after start"},
        {"class,id_number,start,end\nTJ-1,120103199001011231,2026-11-03T19:05:00+08:00,"
         "2026-11-04T19:06:00+08:00\n",
         "o: line 2: column end: a record spans at most 24 hours"},
        {"class,id_number,start,end\nXX-1,120103199001011231,2026-11-03T19:05:00+08:00,"
         "2026-11-03T20:00:00+08:00\n",
         "o: line 2: no pseudonym key for the institution of class XX-1"},
        {"class,id_number,start,end\n", "o: no records"},
        {"{\"class\":\"TJ-1\",\"id_number\":120103199001011231,\"start\":\"x\",\"end\":\"y\"}",
         "o: $.id_number: expected a string"},
        {"{\"class\":\"TJ-1\",\"id_number\":\"120103199001011231\","
         "\"start\":\"2026-11-03T19:05:00+08:00\"}",
         "o: $.end: missing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = (struct plan_online *)(uintptr_t)1;
        err[0] = '\0';
        assert_int_not_equal(plan_import_online(bad[i].text, strlen(bad[i].text), "o",
                                                PLAN_FORMAT_AUTO, &keys, &o, &n, err),
                             RC_OK);
        if (!strstr(err, bad[i].why))
            fail_msg("error \"%s\" does not say \"%s\"", err, bad[i].why);
        assert_ptr_equal(o, (struct plan_online *)(uintptr_t)1);
    }
}

static void assessments(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    struct plan_assessment *a = NULL;
    size_t n = 0;
    /* GB18030 CSV, 是/否 for passed. */
    const char *c = "class,id_number,passed,assessed_on,certificate\r\n"
                    "TJ-1,120103199001011231,\xca\xc7,2026-12-01,CERT-1\r\n"
                    "TJ-1,440308199901101512,\xb7\xf1,2026-12-01,\r\n";
    int rc = plan_import_assessments(c, strlen(c), "a.csv", PLAN_FORMAT_AUTO, &keys, &a, &n, err);
    if (rc != RC_OK)
        fail_msg("%s", err);
    assert_int_equal(n, 2);
    assert_true(a[0].passed);
    assert_string_equal(a[0].certificate, "CERT-1");
    assert_false(a[1].passed);
    assert_string_equal(a[1].masked, "4403**********1512");
    /* 2026-12-01T00:00+08:00 = 2026-11-30T16:00Z = 1796054400 s */
    assert_int_equal(a[0].assessed_on_ms, INT64_C(1796054400000));
    assert_no_clear(a, n * sizeof *a, "440308199901101512");
    free(a);

    const char *j = "{\"class\":\"TJ-1\",\"id_number\":\"120103199001011231\",\"passed\":true,"
                    "\"assessed_on\":\"2026-12-01\",\"certificate\":\"C-9\"}";
    a = NULL;
    assert_int_equal(
        plan_import_assessments(j, strlen(j), "a.json", PLAN_FORMAT_AUTO, &keys, &a, &n, err),
        RC_OK);
    assert_int_equal(n, 1);
    free(a);

    struct {
        const char *text, *why;
    } bad[] = {
        {"class,id_number,passed,assessed_on\nTJ-1,120103199001011231,true,2026-12-01\n",
         "a: line 2: column certificate: a pass needs its certificate number"},
        {"class,id_number,passed,assessed_on,certificate\nTJ-1,120103199001011231,false,"
         "2026-12-01,C\n",
         "a: line 2: column certificate: a fail has no certificate"},
        {"class,id_number,passed,assessed_on\nTJ-1,120103199001011231,passed,2026-12-01\n",
         "a: line 2: column passed: expected true or false"},
        {"class,id_number,passed,assessed_on\nTJ-1,120103199001011231,false,2026-12-1\n",
         "a: line 2: column assessed_on"},
        {"class,id_number,passed,assessed_on\nTJ-1,120103199001011231,false,2026-12-01\n"
         "TJ-1,120103199001011231,0,2026-12-01\n",
         "a: line 3: a second result for the same trainee, class and date"},
        {"[{\"class\":\"TJ-1\",\"id_number\":\"120103199001011231\",\"passed\":\"yes\","
         "\"assessed_on\":\"2026-12-01\"}]",
         "a: $[0].passed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = (struct plan_assessment *)(uintptr_t)1;
        err[0] = '\0';
        assert_int_not_equal(plan_import_assessments(bad[i].text, strlen(bad[i].text), "a",
                                                     PLAN_FORMAT_AUTO, &keys, &a, &n, err),
                             RC_OK);
        if (!strstr(err, bad[i].why))
            fail_msg("error \"%s\" does not say \"%s\"", err, bad[i].why);
        assert_ptr_equal(a, (struct plan_assessment *)(uintptr_t)1);
    }
}

static void decode(void **state)
{
    (void)state;
    char err[ERR_LEN];
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(plan_decode_text("\xef\xbb\xbf\xe5\xbc\xa0", 6, "d", true, &out, &n, err),
                     RC_OK);
    assert_string_equal(out, "张");
    assert_int_equal(n, 3);
    free(out);
    assert_int_equal(plan_decode_text("\xd5\xc5\xc8\xfd", 4, "d", true, &out, &n, err), RC_OK);
    assert_string_equal(out, "张三");
    free(out);
    assert_int_equal(plan_decode_text("\xd5\xc5", 2, "d", false, &out, &n, err), RC_INVAL);
    /* A truncated GB18030 sequence at the end. */
    assert_int_equal(plan_decode_text("ab\xd5", 3, "d", true, &out, &n, err), RC_INVAL);
    assert_non_null(strstr(err, "byte 2"));
    /* UTF-8 surrogates and overlongs are not UTF-8 (and not GB18030 either here). */
    assert_int_equal(plan_decode_text("\xed\xa0\x80", 3, "d", false, &out, &n, err), RC_INVAL);
    assert_int_equal(plan_decode_text("\xc0\xaf", 2, "d", false, &out, &n, err), RC_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_example),          cmocka_unit_test(city_pseudonym),
        cmocka_unit_test(json_array_and_levels), cmocka_unit_test(json_refusals),
        cmocka_unit_test(rollcall_settings),     cmocka_unit_test(csv_utf8_bom_gb18030),
        cmocka_unit_test(csv_refusals),          cmocka_unit_test(online_records),
        cmocka_unit_test(assessments),           cmocka_unit_test(decode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
