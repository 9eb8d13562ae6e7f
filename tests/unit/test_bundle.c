/* evidence/bundle: the manifest and signature members and every input member written and read
 * back to the same data; a member of the wrong shape is refused naming the member and the row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "evidence/bundle.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void manifest_round_trip(void **state)
{
    (void)state;
    struct bundle_manifest_row rows[2] = {{"plan.json", 12, ""}, {"events/K-1.ndjson", 0, ""}};
    memset(rows[0].sha256, 'a', 64);
    memset(rows[1].sha256, 'b', 64);
    char *text = NULL, err[ERR_LEN], cls[65];
    assert_int_equal(bundle_manifest_json("C-A", rows, 2, &text, err), RC_OK);
    struct bundle_manifest_row *back = NULL;
    size_t n = 0;
    assert_int_equal(bundle_manifest_parse(text, strlen(text), &back, &n, cls, sizeof cls, err),
                     RC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(cls, "C-A");
    assert_string_equal(back[1].name, "events/K-1.ndjson");
    assert_int_equal(back[0].size, 12);
    assert_string_equal(back[0].sha256, rows[0].sha256);
    free(back);
    /* another format */
    char *bad = strdup(text);
    char *f = strstr(bad, "evidence/1");
    f[strlen("evidence/")] = '2';
    assert_int_equal(bundle_manifest_parse(bad, strlen(bad), &back, &n, cls, sizeof cls, err),
                     RC_INVAL);
    assert_non_null(strstr(err, "manifest.json"));
    free(bad);
    free(text);
}

static void signature_round_trip(void **state)
{
    (void)state;
    struct bundle_signature s = {.algorithm = BUNDLE_SIG_ALGORITHM,
                                 .key_id = "0123456789abcdef",
                                 .public_key = "-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC "
                                               "KEY-----\n",
                                 .signature = "MEUCIQ=="},
                            back;
    char *text = NULL, err[ERR_LEN];
    assert_int_equal(bundle_signature_json(&s, &text, err), RC_OK);
    assert_int_equal(bundle_signature_parse(text, strlen(text), &back, err), RC_OK);
    assert_memory_equal(&s, &back, sizeof s);
    free(text);
    const char *other = "{\"algorithm\":\"RSA\",\"key_id\":\"x\",\"public_key\":\"x\","
                        "\"signature\":\"x\"}";
    assert_int_equal(bundle_signature_parse(other, strlen(other), &back, err), RC_INVAL);
    assert_non_null(strstr(err, "algorithm"));
}

static void inputs_round_trip(void **state)
{
    (void)state;
    struct bundle_inputs b = {0}, r = {0};
    char err[ERR_LEN];
    snprintf(b.class_id, sizeof b.class_id, "C-A");
    b.as_of_ms = 1793592000000;
    engine_policy_default(&b.policy);
    b.plan = calloc(1, sizeof *b.plan);
    snprintf(b.plan->id, sizeof b.plan->id, "C-A");
    snprintf(b.plan->institution, sizeof b.plan->institution, "INST-A");
    snprintf(b.plan->district, sizeof b.plan->district, "120103");
    snprintf(b.plan->occupation, sizeof b.plan->occupation, "2-02-10-09");
    b.plan->n_sessions = 1;
    snprintf(b.plan->sessions[0].id, sizeof b.plan->sessions[0].id, "S01");
    b.plan->sessions[0].start_ms = 1793581200000;
    b.plan->sessions[0].end_ms = 1793592000000;
    snprintf(b.plan->sessions[0].fence, sizeof b.plan->sessions[0].fence, "venue-a");
    b.plan->n_roster = 1;
    memset(b.plan->roster[0].pseudonym, 'c', 64);
    snprintf(b.plan->roster[0].masked, sizeof b.plan->roster[0].masked, "1201**********123X");
    snprintf(b.plan->roster[0].name, sizeof b.plan->roster[0].name, "张三");
    b.names = false; /* names are blanked on the way out */
    struct bundle_judgement j = {.device = "K-1",
                                 .seq = 7,
                                 .received_at_ms = 5,
                                 .verdict = "inside",
                                 .has_distance = true,
                                 .distance_m = -12.345678,
                                 .fence_version = 2};
    b.judgements = &j;
    b.n_judgements = 1;
    struct engine_review rv = {.event_id = "01936c1e-7f3a-7b2c-8d4e-5f6a7b8c9d0e",
                               .approve = true,
                               .reason = "相机 / camera",
                               .reviewer = "district-d",
                               .decided_ms = 9};
    b.reviews = &rv;
    b.n_reviews = 1;
    static const char *const members[] = {BUNDLE_M_BUNDLE, BUNDLE_M_PLAN, BUNDLE_M_POLICY,
                                          BUNDLE_M_JUDGEMENTS, BUNDLE_M_REVIEWS};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        char *text = NULL;
        assert_int_equal(bundle_member_json(&b, members[i], &text, err), RC_OK);
        assert_int_equal(bundle_member_parse(&r, members[i], text, strlen(text), err), RC_OK);
        free(text);
    }
    assert_string_equal(r.class_id, "C-A");
    assert_int_equal(r.as_of_ms, b.as_of_ms);
    assert_memory_equal(&r.policy, &b.policy, sizeof r.policy);
    assert_string_equal(r.plan->roster[0].name, "");
    assert_string_equal(r.plan->roster[0].masked, "1201**********123X");
    assert_int_equal(r.plan->sessions[0].end_ms, 1793592000000);
    assert_int_equal(r.n_judgements, 1);
    assert_true(r.judgements[0].distance_m == -12.345678);
    assert_int_equal(r.judgements[0].fence_version, 2);
    assert_string_equal(r.reviews[0].reason, "相机 / camera");
    assert_true(r.reviews[0].approve);
    /* a row of the wrong shape names the member and the row */
    const char *bad =
        "[{\"device\":\"K-1\",\"seq\":7,\"received_at_ms\":5,\"verdict\":null,"
        "\"distance_m\":null,\"fence_version\":0},{\"device\":\"K-1\",\"seq\":\"8\"}]";
    assert_int_equal(bundle_member_parse(&r, BUNDLE_M_JUDGEMENTS, bad, strlen(bad), err), RC_INVAL);
    assert_non_null(strstr(err, "judgements.json: row 2: \"seq\""));
    const char *pol = "{\"name\":\"default\"}";
    assert_int_equal(bundle_member_parse(&r, BUNDLE_M_POLICY, pol, strlen(pol), err), RC_INVAL);
    assert_non_null(strstr(err, "policy.json"));
    free(b.plan);
    bundle_inputs_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manifest_round_trip),
        cmocka_unit_test(signature_round_trip),
        cmocka_unit_test(inputs_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
