/* catalogue: the shipped server/engine/catalogue.json against annex 3 of 津人社办发〔2022〕94号
 * (数字经济技术技能人才培训补贴标准目录), whose rows are copied by hand below in the document's
 * order: name, code, then 学时 and 补贴金额 for 初级, 中级, 高级. And the loader's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/catalogue.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
    const char *name, *code;
    int64_t h[3], yuan[3];
};

/* Annex 3, row by row. */
static const struct row annex3[] = {
    {"大数据工程技术人员", "2-02-10-11", {128, 128, 160}, {3519, 4031, 5838}},
    {"区块链工程技术人员", "2-02-10-15", {80, 64, 64}, {2465, 2759, 4679}},
    {"智能制造工程技术人员", "2-02-07-13", {90, 90, 80}, {2778, 3678, 4482}},
    {"云计算工程技术人员", "2-02-10-12", {160, 160, 192}, {3353, 3993, 5452}},
    {"物联网工程技术人员", "2-02-10-10", {128, 128, 160}, {3002, 3258, 4937}},
    {"人工智能工程技术人员", "2-02-10-09", {64, 80, 80}, {2720, 4026, 4506}},
    {"数字化管理师", "2-02-30-11", {60, 90, 120}, {2102, 3258, 4654}},
    {"工业互联网工程技术人员", "2-02-10-13", {90, 120, 120}, {2507, 3663, 4383}},
    {"虚拟现实工程技术人员", "2-02-10-14", {120, 100, 100}, {3350, 3890, 4890}},
    {"集成电路工程技术人员", "2-02-09-06", {128, 128, 160}, {3022, 3278, 4637}},
};

static struct catalogue *load_shipped(void)
{
    struct catalogue *c = calloc(1, sizeof *c);
    char err[ERR_LEN] = "";
    assert_non_null(c);
    int rc = catalogue_load(ROLLCALL_SOURCE_DIR "/server/engine/catalogue.json", c, err);
    if (rc != RC_OK)
        fail_msg("%s", err);
    return c;
}

static void shipped_matches_annex3(void **state)
{
    (void)state;
    struct catalogue *c = load_shipped();
    assert_int_equal(c->count, 10);
    assert_int_equal(c->minutes_per_hour, 45);
    assert_non_null(strstr(c->source, "津人社办发〔2022〕94号"));
    for (size_t i = 0; i < sizeof annex3 / sizeof annex3[0]; i++) {
        const struct catalogue_occupation *o = &c->occupations[i];
        assert_string_equal(o->name, annex3[i].name);
        assert_string_equal(o->code, annex3[i].code);
        assert_ptr_equal(catalogue_find(c, annex3[i].code), o);
        for (int lv = 0; lv < CATALOGUE_LEVELS; lv++) {
            const struct catalogue_grade *g = catalogue_grade_of(o, (enum catalogue_level)lv);
            assert_int_equal(g->hours, annex3[i].h[lv]);
            assert_int_equal(g->amount_yuan, annex3[i].yuan[lv]);
        }
    }
    /* 人工智能 初级: 64 学时 x 45 min = 2880 min. */
    assert_int_equal(
        catalogue_required_minutes(c, catalogue_find(c, "2-02-10-09"), CATALOGUE_JUNIOR), 2880);
    assert_null(catalogue_find(c, "2-02-10-16"));
    free(c);
}

static void default_path_uses_source_tree(void **state)
{
    (void)state;
    struct catalogue *c = calloc(1, sizeof *c);
    char err[ERR_LEN] = "";
    assert_non_null(c);
    assert_non_null(strstr(catalogue_installed_path(), "/catalogue.json"));
    /* ctest sets ROLLCALL_SOURCE_DIR; set it here too so the test runs by hand. */
    setenv("ROLLCALL_SOURCE_DIR", ROLLCALL_SOURCE_DIR, 0);
    int rc = catalogue_load(NULL, c, err);
    if (rc != RC_OK)
        fail_msg("%s", err);
    assert_int_equal(c->count, 10);
    assert_int_equal(catalogue_load("/nonexistent/catalogue.json", c, err), RC_NOTFOUND);
    free(c);
}

static void levels(void **state)
{
    (void)state;
    enum catalogue_level lv;
    assert_int_equal(catalogue_level_parse("junior", &lv), RC_OK);
    assert_int_equal(lv, CATALOGUE_JUNIOR);
    assert_int_equal(catalogue_level_parse("中级", &lv), RC_OK);
    assert_int_equal(lv, CATALOGUE_INTERMEDIATE);
    assert_int_equal(catalogue_level_parse("高级", &lv), RC_OK);
    assert_int_equal(lv, CATALOGUE_SENIOR);
    assert_int_equal(catalogue_level_parse("expert", &lv), RC_INVAL);
    assert_int_equal(catalogue_level_parse("Junior", &lv), RC_INVAL);
    assert_string_equal(catalogue_level_name(CATALOGUE_SENIOR), "senior");
    assert_string_equal(catalogue_level_name_zh(CATALOGUE_JUNIOR), "初级");
    assert_null(catalogue_level_name((enum catalogue_level)3));
}

static void expect_refused(const char *json, const char *why)
{
    struct catalogue *c = calloc(1, sizeof *c);
    char err[ERR_LEN] = "";
    assert_non_null(c);
    c->count = 77;
    int rc = catalogue_load_buffer(json, strlen(json), "t.json", c, err);
    if (rc == RC_OK)
        fail_msg("accepted: %s", json);
    if (!strstr(err, why))
        fail_msg("error \"%s\" does not say \"%s\"", err, why);
    assert_int_equal(c->count, 77); /* unchanged */
    free(c);
}

#define G "{\"hours\":1,\"amount_yuan\":2}"
#define OCC(name, code)                                                                            \
    "{\"name\":\"" name "\",\"code\":\"" code "\",\"junior\":" G ",\"intermediate\":" G            \
    ",\"senior\":" G "}"

static void refusals(void **state)
{
    (void)state;
    expect_refused("{\"source\":\"x\",\"occupations\":[]}", "at least one");
    expect_refused("{\"source\":\"x\",\"occupations\":[" OCC("a", "2-02-10-9") "]}",
                   "$.occupations[0].code");
    expect_refused("{\"source\":\"x\",\"occupations\":[" OCC("a", "2-02-10-09") "," OCC(
                       "b", "2-02-10-09") "]}",
                   "$.occupations[1].code: duplicate");
    expect_refused("{\"source\":\"x\",\"occupations\":[" OCC("a", "2-02-10-09") "," OCC(
                       "a", "2-02-10-10") "]}",
                   "$.occupations[1].name: duplicate");
    expect_refused("{\"source\":\"x\",\"occupations\":[{\"name\":\"a\",\"code\":\"2-02-10-09\","
                   "\"junior\":" G ",\"intermediate\":" G "}]}",
                   "senior");
    expect_refused("{\"source\":\"x\",\"occupations\":[{\"name\":\"a\",\"code\":\"2-02-10-09\","
                   "\"junior\":{\"hours\":0,\"amount_yuan\":2},\"intermediate\":" G ",\"senior\":" G
                   "}]}",
                   "$.occupations[0].junior.hours");
    expect_refused(
        "{\"source\":\"x\",\"minutes_per_hour\":0,\"occupations\":[" OCC("a", "2-02-10-09") "]}",
        "minutes_per_hour");
    expect_refused("{\"source\":\"x\",\"extra\":1,\"occupations\":[" OCC("a", "2-02-10-09") "]}",
                   "extra");
    expect_refused("{\"occupations\":[" OCC("a", "2-02-10-09") "]}", "source");
    expect_refused("[1]", "t.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_matches_annex3),
        cmocka_unit_test(default_path_uses_source_tree),
        cmocka_unit_test(levels),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
