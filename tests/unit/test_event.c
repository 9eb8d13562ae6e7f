/* event: hand-written canonical lines of every type round-trip byte for byte and decode to the
 * values cJSON (an independent JSON parser) reads from them; every kind of non-canonical or
 * invalid line is refused naming the key; the hash chain (hashes from mbedTLS directly) finds
 * the first broken link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "event.h"
#include "rc.h"
#include "timeutil.h"
#include "uuid.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID "01936c1e-7f3a-7b2c-8d4e-5f6a7b8c9d0e"
#define BOOT "3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c3"
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"
#define PREV "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define TRAINEE "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
#define HEAD(seq, prev, type)                                                                      \
    "{\"id\":\"" ID "\",\"device\":\"kiosk-01\",\"seq\":" seq ",\"prev\":\"" prev                  \
    "\",\"type\":\"" type "\",\"ts\":\"2026-11-02T00:55:12.345Z\",\"boot\":\"" BOOT                \
    "\",\"mono_ms\":123456"

/* One or more hand-written canonical lines per type. */
static const char *const good_lines[] = {
    /* 0: signin with every optional key */
    HEAD("1", ZEROS, "signin") ",\"trainee\":\"" TRAINEE "\",\"trainee_masked\":\"1201**********"
                               "123X\",\"class\":\"TJ-2026-AI-0001\",\"session\":\"S01\",\"fix\":"
                               "{\"lat\":39.12345678,\"lon\":117.20000000,\"eph\":3.50,\"mode\":"
                               "3,\"sats\":12,\"time\":\"2026-11-02T00:55:11.000Z\",\"source\":"
                               "\"gnss\"},\"fence\":\"hexi-centre\",\"verdict\":\"inside\","
                               "\"distance_m\":-12.345}",
    /* 1: signout without a fix */
    HEAD("2", PREV, "signout") ",\"trainee\":\"" TRAINEE "\",\"trainee_masked\":\"1201**********"
                               "1234\",\"class\":\"c.1_x\",\"fence\":\"f\",\"verdict\":\"no_fix\"}",
    /* 2: signin, surveyed fix at the limits */
    HEAD("9007199254740991", PREV,
         "signin") ",\"trainee\":\"" TRAINEE "\",\"trainee_masked\":\"0000**********0000\","
                   "\"class\":\"C\",\"fix\":{\"lat\":-90.00000000,\"lon\":-180.00000000,\"mode\":0,"
                   "\"source\":\"surveyed\"},\"fence\":\"F\",\"verdict\":\"uncertain\","
                   "\"distance_m\":0.000}",
    /* 3: signout outside */
    HEAD("3", PREV, "signout") ",\"trainee\":\"" TRAINEE "\",\"trainee_masked\":\"1201**********"
                               "9999\",\"class\":\"C\",\"session\":\"S\",\"fix\":{\"lat\":"
                               "90.00000000,\"lon\":180.00000000,\"eph\":0.00,\"mode\":2,\"sats\":"
                               "0,\"source\":\"gnss\"},\"fence\":\"F\",\"verdict\":\"outside\","
                               "\"distance_m\":1234567.890}",
    /* 4: rec_start */
    HEAD("4", PREV, "rec_start") ",\"class\":\"C\",\"session\":\"S01\",\"camera\":\"cam-1\","
                                 "\"start\":\"2026-11-02T01:00:00.000Z\"}",
    /* 5: rec_stop minimal */
    HEAD("5", PREV, "rec_stop") ",\"camera\":\"cam-1\",\"end\":\"2026-11-02T04:00:00.000Z\"}",
    /* 6: rec_stop full, with non-ASCII and every escape in the file name */
    HEAD("6", PREV, "rec_stop") ",\"class\":\"C\",\"session\":\"S01\",\"camera\":\"cam-1\","
                                "\"file\":\"/录像/课堂 \\\"一\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f"
                                "\x7f😀.mp4\",\"end\":\"2026-11-02T04:00:00.000Z\"}",
    /* 7: rec_file */
    HEAD("7", PREV,
         "rec_file") ",\"class\":\"C\",\"session\":\"S01\",\"camera\":\"cam-1\",\"file\":\"/var/"
                     "rec/a.mp4\",\"bytes\":0,\"sha256\":\"" TRAINEE "\",\"start\":\"2026-11-02T01:"
                     "00:00.000Z\",\"end\":\"2026-11-02T04:00:00.000Z\"}",
    /* 8: heartbeat minimal */
    HEAD("8", PREV, "heartbeat") "}",
    /* 9: heartbeat with fix and queue */
    HEAD("9", PREV, "heartbeat") ",\"fix\":{\"lat\":-0.00000001,\"lon\":0.00000000,\"mode\":1,"
                                 "\"source\":\"gnss\"},\"queue\":9007199254740991}",
    /* 10: gnss */
    HEAD("10", PREV, "gnss") ",\"fix\":{\"lat\":1.00000000,\"lon\":2.00000000,\"eph\":"
                             "9999999.99,\"mode\":3,\"sats\":255,\"time\":\"9999-12-31T23:59:59."
                             "999Z\",\"source\":\"gnss\"},\"kind\":\"fix_lost\",\"detail\":\"\"}",
    /* 11: clock, negative skew */
    HEAD("11", PREV, "clock") ",\"kind\":\"skew\",\"detail\":\"gnss vs rtc\",\"skew_ms\":"
                              "-9007199254740991}",
    /* 12: clock minimal */
    HEAD("12", PREV, "clock") ",\"kind\":\"step\",\"skew_ms\":0}",
    /* 13: tamper */
    HEAD("13", PREV, "tamper") ",\"kind\":\"case_open\",\"detail\":\"lid switch 开\"}",
    /* 14: signin an operator let through past the kiosk's roster check */
    HEAD("14", PREV, "signin") ",\"trainee\":\"" TRAINEE "\",\"trainee_masked\":\"1201**********"
                               "123X\",\"class\":\"C\",\"fence\":\"F\",\"verdict\":\"no_fix\","
                               "\"override\":\"roster\"}",
    /* 15: rollcall: a random roll-call opened, its window in start..end */
    HEAD("15", PREV, "rollcall") ",\"class\":\"C\",\"session\":\"S01\",\"rollcall\":\"R1\","
                                 "\"start\":\"2026-11-02T01:20:00.000Z\",\"end\":\"2026-11-02T01:"
                                 "30:00.000Z\"}",
    /* 16: rollcall_confirm, with a fix */
    HEAD("16", PREV, "rollcall_confirm") ",\"trainee\":\"" TRAINEE "\",\"trainee_masked\":"
                                         "\"1201**********123X\",\"class\":\"C\",\"session\":"
                                         "\"S01\",\"rollcall\":\"R1\",\"fix\":{\"lat\":"
                                         "39.12345678,\"lon\":117.20000000,\"mode\":3,\"source\":"
                                         "\"gnss\"},\"fence\":\"F\",\"verdict\":\"inside\","
                                         "\"distance_m\":-1.000}",
    /* 17: signin from the kiosk screen with its photo */
    HEAD("17", PREV, "signin") ",\"trainee\":\"" TRAINEE "\",\"trainee_masked\":\"1201**********"
                               "123X\",\"class\":\"C\",\"fence\":\"F\",\"verdict\":\"no_fix\","
                               "\"photo_sha256\":\"" TRAINEE "\"}",
    /* 18: signout from the kiosk screen without a camera */
    HEAD("18", PREV, "signout") ",\"trainee\":\"" TRAINEE "\",\"trainee_masked\":\"1201******"
                                "****123X\",\"class\":\"C\",\"fence\":\"F\",\"verdict\":\"no_"
                                "fix\",\"override\":\"roster\",\"no_photo\":\"no_camera\"}",
};
enum { GOOD_COUNT = sizeof good_lines / sizeof good_lines[0] };

static const char *str_item(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double num_item(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(it));
    return it->valuedouble;
}

static int64_t ts_item(const cJSON *o, const char *key)
{
    const char *s = str_item(o, key);
    assert_non_null(s);
    int64_t ms;
    assert_int_equal(ts_parse_rfc3339(s, &ms, NULL), RC_OK);
    return ms;
}

/* Compares the parsed struct with cJSON's reading of the same line. Doubles are exact for the
 * integers up to 2^53 and close to within rounding for the decimals. */
static void check_against_cjson(const char *line, const struct event *ev)
{
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    int keys = cJSON_GetArraySize(j);
    int present = 0;
    for (int f = 0; f < EVENT_F_COUNT; f++)
        present += f < EVENT_F_TRAINEE || (ev->has & EVENT_HAS(f));
    assert_int_equal(keys, present);
    assert_string_equal(str_item(j, "id"), ev->id);
    assert_string_equal(str_item(j, "device"), ev->device);
    assert_true(num_item(j, "seq") == (double)ev->seq);
    assert_string_equal(str_item(j, "prev"), ev->prev);
    assert_string_equal(str_item(j, "type"), event_type_name(ev->type));
    assert_int_equal(ts_item(j, "ts"), ev->ts_ms);
    assert_string_equal(str_item(j, "boot"), ev->boot);
    assert_true(num_item(j, "mono_ms") == (double)ev->mono_ms);
    static const struct {
        int field;
        size_t offset;
    } strs[] = {
        {EVENT_F_TRAINEE, offsetof(struct event, trainee)},
        {EVENT_F_TRAINEE_MASKED, offsetof(struct event, trainee_masked)},
        {EVENT_F_CLASS, offsetof(struct event, class_id)},
        {EVENT_F_SESSION, offsetof(struct event, session)},
        {EVENT_F_ROLLCALL, offsetof(struct event, rollcall)},
        {EVENT_F_FENCE, offsetof(struct event, fence)},
        {EVENT_F_CAMERA, offsetof(struct event, camera)},
        {EVENT_F_FILE, offsetof(struct event, file)},
        {EVENT_F_SHA256, offsetof(struct event, sha256)},
        {EVENT_F_KIND, offsetof(struct event, kind)},
        {EVENT_F_DETAIL, offsetof(struct event, detail)},
        {EVENT_F_OVERRIDE, offsetof(struct event, override_check)},
        {EVENT_F_PHOTO_SHA256, offsetof(struct event, photo_sha256)},
        {EVENT_F_NO_PHOTO, offsetof(struct event, no_photo)},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        const char *name = event_field_name(strs[i].field);
        if (ev->has & EVENT_HAS(strs[i].field))
            assert_string_equal(str_item(j, name), (const char *)ev + strs[i].offset);
        else
            assert_null(cJSON_GetObjectItemCaseSensitive(j, name));
    }
    if (ev->has & EVENT_HAS(EVENT_F_VERDICT))
        assert_string_equal(str_item(j, "verdict"), event_verdict_name(ev->verdict));
    if (ev->has & EVENT_HAS(EVENT_F_DISTANCE_M))
        assert_true(llround(num_item(j, "distance_m") * 1000) == ev->distance_mm);
    if (ev->has & EVENT_HAS(EVENT_F_BYTES))
        assert_true(num_item(j, "bytes") == (double)ev->bytes);
    if (ev->has & EVENT_HAS(EVENT_F_START))
        assert_int_equal(ts_item(j, "start"), ev->start_ms);
    if (ev->has & EVENT_HAS(EVENT_F_END))
        assert_int_equal(ts_item(j, "end"), ev->end_ms);
    if (ev->has & EVENT_HAS(EVENT_F_SKEW_MS))
        assert_true(num_item(j, "skew_ms") == (double)ev->skew_ms);
    if (ev->has & EVENT_HAS(EVENT_F_QUEUE))
        assert_true(num_item(j, "queue") == (double)ev->queue);
    const cJSON *fix = cJSON_GetObjectItemCaseSensitive(j, "fix");
    if (ev->has & EVENT_HAS(EVENT_F_FIX)) {
        assert_true(cJSON_IsObject(fix));
        assert_true(llround(num_item(fix, "lat") * 1e8) == ev->fix.lat_e8);
        assert_true(llround(num_item(fix, "lon") * 1e8) == ev->fix.lon_e8);
        assert_true(num_item(fix, "mode") == ev->fix.mode);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(fix, "eph") != NULL, ev->fix.has_eph);
        if (ev->fix.has_eph)
            assert_true(llround(num_item(fix, "eph") * 100) == ev->fix.eph_cm);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(fix, "sats") != NULL, ev->fix.has_sats);
        if (ev->fix.has_sats)
            assert_true(num_item(fix, "sats") == ev->fix.sats);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(fix, "time") != NULL, ev->fix.has_time);
        if (ev->fix.has_time)
            assert_int_equal(ts_item(fix, "time"), ev->fix.time_ms);
        assert_string_equal(str_item(fix, "source"),
                            ev->fix.source == EVENT_SOURCE_GNSS ? "gnss" : "surveyed");
    } else {
        assert_null(fix);
    }
    cJSON_Delete(j);
}

static void good_lines_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < GOOD_COUNT; i++) {
        struct event ev;
        char err[ERR_LEN] = "";
        const char *line = good_lines[i];
        int rc = event_parse(line, strlen(line), &ev, err);
        if (rc != RC_OK)
            fail_msg("good line %zu refused: %s", i, err);
        char buf[EVENT_LINE_MAX + 1];
        size_t len = 0;
        assert_int_equal(event_serialise(&ev, buf, sizeof buf, &len, err), RC_OK);
        assert_int_equal(len, strlen(line));
        assert_string_equal(buf, line);
        check_against_cjson(line, &ev);
        struct event stored;
        assert_int_equal(event_parse_stored(line, strlen(line), &stored, err), RC_OK);
        assert_memory_equal(&stored, &ev, sizeof ev);
    }
}

/* A struct filled by hand serialises to the line written by hand. */
static void struct_serialises_to_expected_bytes(void **state)
{
    (void)state;
    struct event ev = {0};
    snprintf(ev.id, sizeof ev.id, "%s", ID);
    snprintf(ev.device, sizeof ev.device, "kiosk-01");
    ev.seq = 1;
    snprintf(ev.prev, sizeof ev.prev, "%s", ZEROS);
    ev.type = EVENT_SIGNIN;
    ev.ts_ms = INT64_C(1793580912345); /* 2026-11-02T00:55:12.345Z (date -u -d) */
    snprintf(ev.boot, sizeof ev.boot, "%s", BOOT);
    ev.mono_ms = 123456;
    ev.has = EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_TRAINEE_MASKED) |
             EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) | EVENT_HAS(EVENT_F_FIX) |
             EVENT_HAS(EVENT_F_FENCE) | EVENT_HAS(EVENT_F_VERDICT) | EVENT_HAS(EVENT_F_DISTANCE_M);
    snprintf(ev.trainee, sizeof ev.trainee, "%s", TRAINEE);
    snprintf(ev.trainee_masked, sizeof ev.trainee_masked, "1201**********123X");
    snprintf(ev.class_id, sizeof ev.class_id, "TJ-2026-AI-0001");
    snprintf(ev.session, sizeof ev.session, "S01");
    assert_int_equal(event_decimal(39.12345678, 8, &ev.fix.lat_e8), RC_OK);
    assert_int_equal(event_decimal(117.2, 8, &ev.fix.lon_e8), RC_OK);
    ev.fix.has_eph = true;
    assert_int_equal(event_decimal(3.5, 2, &ev.fix.eph_cm), RC_OK);
    ev.fix.mode = 3;
    ev.fix.has_sats = true;
    ev.fix.sats = 12;
    ev.fix.has_time = true;
    ev.fix.time_ms = INT64_C(1793580911000);
    ev.fix.source = EVENT_SOURCE_GNSS;
    snprintf(ev.fence, sizeof ev.fence, "hexi-centre");
    ev.verdict = EVENT_INSIDE;
    assert_int_equal(event_decimal(-12.345, 3, &ev.distance_mm), RC_OK);
    char buf[EVENT_LINE_MAX + 1], err[ERR_LEN];
    size_t len;
    assert_int_equal(event_serialise(&ev, buf, sizeof buf, &len, err), RC_OK);
    assert_string_equal(buf, good_lines[0]);
    /* too small a buffer is a clean RC_LIMIT */
    char small[100];
    assert_int_equal(event_serialise(&ev, small, sizeof small, &len, err), RC_LIMIT);
    assert_string_equal(small, "");
    /* negative zero never appears */
    ev.distance_mm = 0;
    ev.fix.lat_e8 = -1;
    assert_int_equal(event_serialise(&ev, buf, sizeof buf, &len, err), RC_OK);
    assert_non_null(strstr(buf, "\"lat\":-0.00000001,"));
    assert_non_null(strstr(buf, "\"distance_m\":0.000}"));
    /* a field the type does not allow is refused by name */
    ev.has |= EVENT_HAS(EVENT_F_CAMERA);
    snprintf(ev.camera, sizeof ev.camera, "cam");
    assert_int_equal(event_serialise(&ev, buf, sizeof buf, &len, err), RC_INVAL);
    assert_non_null(strstr(err, "\"camera\""));
}

static char *replace(const char *base, const char *from, const char *to)
{
    const char *at = strstr(base, from);
    if (!at)
        fail_msg("test bug: \"%s\" not in base line", from);
    size_t n = strlen(base) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
    return out;
}

/* line (len bytes) must be refused with rc and an error mentioning `mention`. */
static void refuse_n(const char *line, size_t len, int want_rc, const char *mention)
{
    struct event ev;
    char err[ERR_LEN] = "";
    int rc = event_parse(line, len, &ev, err);
    if (rc != want_rc)
        fail_msg("expected %s, got %s for: %.*s (%s)", rc_str(want_rc), rc_str(rc), (int)len, line,
                 err);
    if (mention && !strstr(err, mention))
        fail_msg("error \"%s\" does not mention %s", err, mention);
    assert_int_equal(ev.seq, 0); /* nothing half-filled */
    /* the stored-line parse refuses it too: its missing canonical check never decides */
    char err2[ERR_LEN] = "";
    assert_int_equal(event_parse_stored(line, len, &ev, err2), want_rc);
    assert_string_equal(err2, err);
    assert_int_equal(ev.seq, 0);
}

static void refuse_variant(int base, const char *from, const char *to, const char *mention)
{
    char *line = replace(good_lines[base], from, to);
    refuse_n(line, strlen(line), RC_INVAL, mention);
    free(line);
}

/* "override" names a known kiosk check, sits after distance_m and only in sign events. */
static void override_key_checked(void **state)
{
    (void)state;
    refuse_variant(14, "\"override\":\"roster\"", "\"override\":\"fence\"", "\"override\"");
    refuse_variant(14, "\"override\":\"roster\"", "\"override\":\"\"", "\"override\"");
    refuse_variant(14, "\"override\":\"roster\"", "\"override\":true", "\"override\"");
    /* before "verdict": out of order */
    refuse_variant(14, ",\"verdict\":\"no_fix\",\"override\":\"roster\"}",
                   ",\"override\":\"roster\",\"verdict\":\"no_fix\"}", "order");
    refuse_variant(8, "\"mono_ms\":123456}", "\"mono_ms\":123456,\"override\":\"roster\"}",
                   "\"override\"");
    struct event ev;
    char err[ERR_LEN];
    assert_int_equal(event_parse(good_lines[14], strlen(good_lines[14]), &ev, err), RC_OK);
    assert_true(ev.has & EVENT_HAS(EVENT_F_OVERRIDE));
    assert_string_equal(ev.override_check, "roster");
    assert_string_equal(event_field_name(EVENT_F_OVERRIDE), "override");
}

/* "rollcall" sits after "session", names a roll-call, and only in roll-call events; a
 * roll-call closes after it opens; a confirmation needs the roll-call and a verdict. */
static void rollcall_keys_checked(void **state)
{
    (void)state;
    refuse_variant(15, "\"rollcall\":\"R1\"", "\"rollcall\":\"R 1\"", "\"rollcall\"");
    refuse_variant(15, ",\"rollcall\":\"R1\"", "", "\"rollcall\"");
    refuse_variant(15, "\"end\":\"2026-11-02T01:30:00.000Z\"",
                   "\"end\":\"2026-11-02T01:20:00.000Z\"", "\"end\"");
    refuse_variant(15, ",\"session\":\"S01\",\"rollcall\":\"R1\"",
                   ",\"rollcall\":\"R1\",\"session\":\"S01\"", "order");
    refuse_variant(16, ",\"rollcall\":\"R1\"", "", "\"rollcall\"");
    refuse_variant(16, ",\"fence\":\"F\",\"verdict\":\"inside\",\"distance_m\":-1.000",
                   ",\"fence\":\"F\",\"distance_m\":-1.000", "\"verdict\"");
    refuse_variant(0, "\"session\":\"S01\"", "\"session\":\"S01\",\"rollcall\":\"R1\"",
                   "\"rollcall\"");
    struct event ev;
    char err[ERR_LEN];
    assert_int_equal(event_parse(good_lines[16], strlen(good_lines[16]), &ev, err), RC_OK);
    assert_int_equal(ev.type, EVENT_ROLLCALL_CONFIRM);
    assert_string_equal(ev.rollcall, "R1");
    assert_string_equal(event_field_name(EVENT_F_ROLLCALL), "rollcall");
}

/* "photo_sha256" is a hash, "no_photo" a known reason, never both, only in sign events, after
 * "override". */
static void photo_keys_checked(void **state)
{
    (void)state;
    refuse_variant(17, "\"photo_sha256\":\"" TRAINEE "\"", "\"photo_sha256\":\"ABC\"",
                   "\"photo_sha256\"");
    refuse_variant(17, "\"photo_sha256\":\"" TRAINEE "\"",
                   "\"photo_sha256\":\"" TRAINEE "\",\"no_photo\":\"failed\"", "\"no_photo\"");
    refuse_variant(18, "\"no_photo\":\"no_camera\"", "\"no_photo\":\"camera_shy\"", "\"no_photo\"");
    refuse_variant(18, "\"override\":\"roster\",\"no_photo\":\"no_camera\"",
                   "\"no_photo\":\"no_camera\",\"override\":\"roster\"", "order");
    refuse_variant(8, "\"mono_ms\":123456}", "\"mono_ms\":123456,\"no_photo\":\"refused\"}",
                   "\"no_photo\"");
    struct event ev;
    char err[ERR_LEN];
    assert_int_equal(event_parse(good_lines[17], strlen(good_lines[17]), &ev, err), RC_OK);
    assert_string_equal(ev.photo_sha256, TRAINEE);
    assert_int_equal(event_parse(good_lines[18], strlen(good_lines[18]), &ev, err), RC_OK);
    assert_string_equal(ev.no_photo, "no_camera");
    assert_false(ev.has & EVENT_HAS(EVENT_F_PHOTO_SHA256));
}

static void truncated_lines_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < GOOD_COUNT; i++) {
        size_t n = strlen(good_lines[i]);
        for (size_t k = 0; k < n; k++) {
            struct event ev;
            char err[ERR_LEN];
            if (event_parse(good_lines[i], k, &ev, err) == RC_OK)
                fail_msg("prefix %zu of line %zu accepted", k, i);
        }
    }
    refuse_n("", 0, RC_INVAL, "empty");
}

static void wrong_types_refused(void **state)
{
    (void)state;
    refuse_variant(0, "\"seq\":1", "\"seq\":\"1\"", "\"seq\"");
    refuse_variant(0, "\"seq\":1", "\"seq\":null", "\"seq\"");
    refuse_variant(0, "\"seq\":1", "\"seq\":true", "\"seq\"");
    refuse_variant(0, "\"seq\":1", "\"seq\":[1]", "\"seq\"");
    refuse_variant(0, "\"mono_ms\":123456", "\"mono_ms\":123456.0", "\"mono_ms\"");
    refuse_variant(0, "\"class\":\"TJ-2026-AI-0001\"", "\"class\":5", "\"class\"");
    refuse_variant(0, "\"verdict\":\"inside\"", "\"verdict\":true", "\"verdict\"");
    refuse_variant(0, "\"verdict\":\"inside\"", "\"verdict\":\"INSIDE\"", "\"verdict\"");
    refuse_variant(0, "\"type\":\"signin\"", "\"type\":\"sign_in\"", "\"type\"");
    refuse_variant(0, "\"fix\":{", "\"fix\":[{", "\"fix\"");
    refuse_variant(0, "\"mode\":3", "\"mode\":\"3\"", "\"fix.mode\"");
    refuse_variant(0, "\"lat\":39.12345678", "\"lat\":\"39.12345678\"", "\"fix.lat\"");
    refuse_variant(0, "\"source\":\"gnss\"", "\"source\":\"glonass\"", "\"fix.source\"");
    refuse_variant(0, "\"distance_m\":-12.345", "\"distance_m\":\"-12.345\"", "\"distance_m\"");
    refuse_variant(7, "\"bytes\":0", "\"bytes\":{}", "\"bytes\"");
    refuse_n("[]", 2, RC_INVAL, NULL);
    refuse_n("null", 4, RC_INVAL, NULL);
    refuse_n("{}", 2, RC_INVAL, "\"id\"");
}

static void invalid_utf8_refused(void **state)
{
    (void)state;
    static const struct {
        const char *bytes, *why;
    } bad[] = {
        {"\xc0\xaf", "overlong"},
        {"\xc1\xbf", "overlong"},
        {"\xe0\x80\xaf", "overlong"},
        {"\xe0\x9f\xbf", "overlong"},
        {"\xf0\x80\x80\xaf", "overlong"},
        {"\xf0\x8f\xbf\xbf", "overlong"},
        {"\xed\xa0\x80", "surrogate"},
        {"\xed\xbf\xbf", "surrogate"},
        {"\xf4\x90\x80\x80", "U+10FFFF"},
        {"\xf5\x80\x80\x80", "U+10FFFF"},
        {"\xff", "U+10FFFF"},
        {"\x80", "continuation"},
        {"\xbf", "continuation"},
        {"\xe4\xb8", "continuation"},
        {"\xe4", "continuation"},
        {"\xf0\x9f\x98", "continuation"},
        {"\xc3(", "continuation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char with[64];
        snprintf(with, sizeof with, "/var/rec/%s.mp4", bad[i].bytes);
        char *line = replace(good_lines[7], "/var/rec/a.mp4", with);
        refuse_n(line, strlen(line), RC_INVAL, bad[i].why);
        refuse_n(line, strlen(line), RC_INVAL, "\"file\"");
        free(line);
    }
    /* a raw NUL byte and an escaped one */
    char *line = replace(good_lines[7], "/var/rec/a.mp4", "/var/rec/a.mp4X");
    char *x = strstr(line, "a.mp4X");
    x[5] = '\0';
    size_t n = strlen(x + 6) + (size_t)(x + 6 - line);
    refuse_n(line, n, RC_INVAL, "\"file\"");
    free(line);
    refuse_variant(7, "a.mp4", "a\\u0000.mp4", "NUL");
    /* invalid UTF-8 outside strings */
    refuse_variant(0, "\"seq\":1", "\"seq\":\xd9\xa1", "\"seq\"");
    refuse_n("\xef\xbb\xbf{}", 5, RC_INVAL, NULL); /* a byte order mark */
}

static void numbers_refused(void **state)
{
    (void)state;
    static const char *const bad_seq[] = {
        "1e400",
        "1E2",
        "9223372036854775808",
        "9007199254740992",
        "18446744073709551616",
        "-0",
        "-1",
        "0",
        "01",
        "+1",
        "1.0",
        "1.",
        ".5",
        "NaN",
        "Infinity",
        "-Infinity",
        "0x10",
        "1_000",
        "１",
    };
    for (size_t i = 0; i < sizeof bad_seq / sizeof bad_seq[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"seq\":%s", bad_seq[i]);
        refuse_variant(0, "\"seq\":1", to, "\"seq\"");
    }
    refuse_variant(0, "\"mono_ms\":123456", "\"mono_ms\":-0", "\"mono_ms\"");
    refuse_variant(0, "\"mono_ms\":123456", "\"mono_ms\":9007199254740992", "\"mono_ms\"");
    refuse_variant(0, "\"mono_ms\":123456", "\"mono_ms\":-1", "\"mono_ms\"");
    refuse_variant(11, "\"skew_ms\":-9007199254740991", "\"skew_ms\":-9007199254740992",
                   "\"skew_ms\"");
    refuse_variant(12, "\"skew_ms\":0", "\"skew_ms\":-0", "\"skew_ms\"");
    refuse_variant(9, "\"queue\":9007199254740991", "\"queue\":9007199254740992", "\"queue\"");
    refuse_variant(9, "\"queue\":9007199254740991", "\"queue\":1e400", "\"queue\"");
    static const char *const bad_lat[] = {
        "39.1234567",
        "39.123456789",
        "39",
        "3.912345678e1",
        "039.12345678",
        "+39.12345678",
        "-0.00000000",
        "90.00000001",
        "-90.00000001",
        "NaN",
        "39.12345678e0",
        "1e400",
        "39,12345678",
        "-",
        "-.12345678",
    };
    for (size_t i = 0; i < sizeof bad_lat / sizeof bad_lat[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"lat\":%s", bad_lat[i]);
        refuse_variant(0, "\"lat\":39.12345678", to, "\"fix.lat\"");
    }
    refuse_variant(0, "\"lon\":117.20000000", "\"lon\":180.00000001", "\"fix.lon\"");
    refuse_variant(0, "\"lon\":117.20000000", "\"lon\":117.2", "\"fix.lon\"");
    refuse_variant(0, "\"eph\":3.50", "\"eph\":3.5", "\"fix.eph\"");
    refuse_variant(0, "\"eph\":3.50", "\"eph\":-3.50", "\"fix.eph\"");
    refuse_variant(0, "\"eph\":3.50", "\"eph\":10000000.01", "\"fix.eph\"");
    refuse_variant(0, "\"mode\":3", "\"mode\":4", "\"fix.mode\"");
    refuse_variant(0, "\"sats\":12", "\"sats\":256", "\"fix.sats\"");
    refuse_variant(0, "\"distance_m\":-12.345", "\"distance_m\":-0.000", "\"distance_m\"");
    refuse_variant(0, "\"distance_m\":-12.345", "\"distance_m\":-12.34", "\"distance_m\"");
    refuse_variant(0, "\"distance_m\":-12.345", "\"distance_m\":-12.3450", "\"distance_m\"");
    refuse_variant(0, "\"distance_m\":-12.345", "\"distance_m\":-1.2345e1", "\"distance_m\"");
    refuse_variant(0, "\"distance_m\":-12.345", "\"distance_m\":100000000.001", "\"distance_m\"");
    refuse_variant(7, "\"bytes\":0", "\"bytes\":00", "\"bytes\"");
}

static void structure_refused(void **state)
{
    (void)state;
    /* duplicate keys, top level and in fix */
    refuse_variant(0, "\"seq\":1,", "\"seq\":1,\"seq\":1,", "duplicate");
    refuse_variant(0, "\"mode\":3,", "\"mode\":3,\"mode\":3,", "duplicate");
    refuse_variant(0, "\"verdict\":\"inside\"", "\"verdict\":\"inside\",\"verdict\":\"inside\"",
                   "duplicate");
    /* unknown keys */
    refuse_variant(0, "\"distance_m\":-12.345}", "\"distance_m\":-12.345,\"foo\":1}",
                   "unknown key \"foo\"");
    refuse_variant(0, "\"seq\":1", "\"Seq\":1", "unknown key");
    refuse_variant(0, "\"source\":\"gnss\"}", "\"source\":\"gnss\",\"alt\":3}", "\"alt\"");
    refuse_variant(0, "\"trainee\":", "\"trainee_id\":", "unknown key");
    refuse_variant(0, "\"seq\":1", "\"s\\u0065q\":1", "unknown key");
    /* wrong order */
    char *swapped = replace(good_lines[8], "{\"id\":\"" ID "\",\"device\":\"kiosk-01\",",
                            "{\"device\":\"kiosk-01\",\"id\":\"" ID "\",");
    refuse_n(swapped, strlen(swapped), RC_INVAL, "out of order");
    free(swapped);
    refuse_variant(0, "\"lat\":39.12345678,\"lon\":117.20000000",
                   "\"lon\":117.20000000,\"lat\":39.12345678", "out of order");
    refuse_variant(11, "\"detail\":\"gnss vs rtc\",\"skew_ms\":-9007199254740991",
                   "\"skew_ms\":-9007199254740991,\"detail\":\"gnss vs rtc\"", "out of order");
    /* whitespace anywhere */
    refuse_variant(0, "{\"id\"", "{ \"id\"", "whitespace");
    refuse_variant(0, "\"seq\":1", "\"seq\": 1", "whitespace");
    refuse_variant(0, "\"seq\":1", "\"seq\" :1", NULL);
    refuse_variant(0, ",\"prev\"", ",\n\"prev\"", "whitespace");
    refuse_variant(0, "\"gnss\"}", "\"gnss\" }", "whitespace");
    refuse_variant(0, "-12.345}", "-12.345}\n", NULL);
    refuse_variant(0, "-12.345}", "-12.345} ", NULL);
    refuse_variant(0, "-12.345}", "-12.345}\r", NULL);
    refuse_variant(0, "-12.345}", "-12.345}{}", "after the object");
    refuse_variant(8, "{\"id\"", "\t{\"id\"", NULL);
    /* missing required and forbidden keys per type */
    refuse_variant(0, ",\"fence\":\"hexi-centre\"", "", "\"fence\"");
    refuse_variant(0, ",\"trainee_masked\":\"1201**********123X\"", "", "\"trainee_masked\"");
    refuse_variant(0, ",\"distance_m\":-12.345", "", "\"distance_m\"");
    refuse_variant(0, "\"verdict\":\"inside\"", "\"verdict\":\"no_fix\"", "no_fix");
    refuse_variant(1, "\"verdict\":\"no_fix\"", "\"verdict\":\"outside\"", "\"fix\"");
    refuse_variant(1, "\"verdict\":\"no_fix\"}", "\"verdict\":\"no_fix\",\"distance_m\":1.000}",
                   "\"distance_m\"");
    refuse_variant(4, ",\"start\":\"2026-11-02T01:00:00.000Z\"", "", "\"start\"");
    refuse_variant(4, "\"camera\":\"cam-1\",", "\"camera\":\"cam-1\",\"file\":\"x\",", "\"file\"");
    refuse_variant(5, "\"camera\":\"cam-1\",", "", "\"camera\"");
    refuse_variant(7, ",\"sha256\":\"" TRAINEE "\"", "", "\"sha256\"");
    refuse_variant(8, "\"mono_ms\":123456}", "\"mono_ms\":123456,\"kind\":\"x\"}", "\"kind\"");
    refuse_variant(8, "\"mono_ms\":123456}", "\"mono_ms\":123456,\"camera\":\"c\"}", "\"camera\"");
    refuse_variant(10, ",\"detail\":\"\"", "", "\"detail\"");
    refuse_variant(12, ",\"skew_ms\":0", "", "\"skew_ms\"");
    refuse_variant(13, "\"kind\":\"case_open\",",
                   "\"fix\":{\"lat\":1.00000000,\"lon\":1.00000000,"
                   "\"mode\":0,\"source\":\"gnss\"},\"kind\":"
                   "\"case_open\",",
                   "\"fix\"");
    refuse_variant(0, "\"mode\":3,", "", "missing \"mode\"");
    refuse_variant(0, ",\"source\":\"gnss\"", "", "missing \"source\"");
    refuse_variant(0, ",\"mono_ms\":123456", "", "\"mono_ms\"");
    refuse_variant(8, "{\"id\":\"" ID "\",", "{", "\"id\"");
}

static void strings_refused(void **state)
{
    (void)state;
    /* needless or wrong escapes */
    refuse_variant(7, "/var/rec/a.mp4", "\\/var/rec/a.mp4", "needless escape");
    refuse_variant(7, "a.mp4", "\\u0061.mp4", "needless \\u");
    refuse_variant(7, "a.mp4", "\\u00e9.mp4", "needless \\u");
    refuse_variant(7, "a.mp4", "\\u4e2d.mp4", "needless \\u");
    refuse_variant(7, "a.mp4", "\\ud83d\\ude00.mp4", "needless \\u");
    refuse_variant(7, "a.mp4", "\\u001F.mp4", "upper-case");
    refuse_variant(7, "a.mp4", "\\u000a.mp4", "short escape");
    refuse_variant(7, "a.mp4", "\\u0009.mp4", "short escape");
    refuse_variant(7, "a.mp4", "\\u0022.mp4", "needless \\u");
    refuse_variant(7, "a.mp4", "\\u005c.mp4", "needless \\u");
    refuse_variant(7, "a.mp4", "\\x41.mp4", "invalid escape");
    refuse_variant(7, "a.mp4", "\\'.mp4", "invalid escape");
    refuse_variant(7, "a.mp4", "\\u00g1.mp4", "invalid \\u");
    refuse_variant(7, "a.mp4", "a\n.mp4", "control");
    refuse_variant(7, "a.mp4", "a\t.mp4", "control");
    refuse_variant(7, "a.mp4", "a\x1f.mp4", "control");
    /* upper-case hex and bad fixed formats */
    refuse_variant(0, ZEROS, "000000000000000000000000000000000000000000000000000000000000000A",
                   "\"prev\"");
    refuse_variant(0, TRAINEE, "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE",
                   "\"trainee\"");
    refuse_variant(7, TRAINEE "\",\"start",
                   "2C26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a"
                   "5e886266e7ae\",\"start",
                   "\"sha256\"");
    refuse_variant(0, ID, "01936C1E-7F3A-7B2C-8D4E-5F6A7B8C9D0E", "\"id\"");
    refuse_variant(0, ID, "01936c1e-7f3a-4b2c-8d4e-5f6a7b8c9d0e", "\"id\""); /* version 4 */
    refuse_variant(0, ID, "01936c1e-7f3a-7b2c-cd4e-5f6a7b8c9d0e", "\"id\""); /* variant 110 */
    refuse_variant(0, ID, "01936c1e7f3a-7b2c-8d4e-5f6a7b8c9d0e0", "\"id\"");
    refuse_variant(0, BOOT, "3F2B8C1A-9D4E-4F5A-B6C7-D8E9F0A1B2C3", "\"boot\"");
    refuse_variant(0, BOOT, "3f2b8c1a-9d4e-4f5a-b6c7-d8e9f0a1b2c", "\"boot\"");
    refuse_variant(0, "1201**********123X", "1201**********123x", "\"trainee_masked\"");
    refuse_variant(0, "1201**********123X", "120103199001011231", "\"trainee_masked\"");
    refuse_variant(0, "1201**********123X", "1201*********1123X", "\"trainee_masked\"");
    refuse_variant(0, "\"device\":\"kiosk-01\"", "\"device\":\"kiosk 01\"", "\"device\"");
    refuse_variant(0, "\"device\":\"kiosk-01\"", "\"device\":\"\"", "\"device\"");
    refuse_variant(0, "\"device\":\"kiosk-01\"", "\"device\":\"kiosk/01\"", "\"device\"");
    refuse_variant(0, "\"session\":\"S01\"", "\"session\":\"S01\\n\"", "\"session\"");
    refuse_variant(4, "\"camera\":\"cam-1\"", "\"camera\":\"摄像头\"", "\"camera\"");
    refuse_variant(13, "\"kind\":\"case_open\"", "\"kind\":\"Case_open\"", "\"kind\"");
    refuse_variant(13, "\"kind\":\"case_open\"", "\"kind\":\"\"", "\"kind\"");
    refuse_variant(7, "\"file\":\"/var/rec/a.mp4\"", "\"file\":\"\"", "\"file\"");
    /* genesis prev exactly for seq 1 */
    refuse_variant(0, ZEROS, PREV, "\"prev\"");
    refuse_variant(1, PREV, ZEROS, "\"prev\"");
    /* times */
    refuse_variant(0, "2026-11-02T00:55:12.345Z", "2026-02-30T00:55:12.345Z", "\"ts\"");
    refuse_variant(0, "2026-11-02T00:55:12.345Z", "2026-11-02T24:00:00.000Z", "\"ts\"");
    refuse_variant(0, "2026-11-02T00:55:12.345Z", "2026-11-02T00:55:12Z", "\"ts\"");
    refuse_variant(0, "2026-11-02T00:55:12.345Z", "2026-11-02T00:55:12.3450Z", "\"ts\"");
    refuse_variant(0, "2026-11-02T00:55:12.345Z", "2026-11-02T08:55:12.345+08:00", "\"ts\"");
    refuse_variant(0, "2026-11-02T00:55:12.345Z", "2026-11-02t00:55:12.345z", "\"ts\"");
    refuse_variant(0, "2026-11-02T00:55:11.000Z", "2026-11-02 00:55:11.000Z", "\"fix.time\"");
    refuse_variant(4, "2026-11-02T01:00:00.000Z", "1969-12-31T23:59:59.999Z", "\"start\"");
    refuse_variant(4, "\"start\":\"2026-11-02T01:00:00.000Z\"", "\"start\":1792976400000",
                   "\"start\"");
}

static void limits_refused(void **state)
{
    (void)state;
    /* strings one byte over their limits, and exactly at them */
    char big[EVENT_FILE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    refuse_variant(7, "/var/rec/a.mp4", big, "\"file\"");
    big[EVENT_FILE_MAX] = '\0';
    char *line = replace(good_lines[7], "/var/rec/a.mp4", big);
    struct event ev;
    char err[ERR_LEN];
    assert_int_equal(event_parse(line, strlen(line), &ev, err), RC_OK);
    free(line);
    /* 513 bytes of detail, made of three-byte characters, is refused; 512 accepted */
    char det[EVENT_DETAIL_MAX + 4] = "";
    for (int i = 0; i < 170; i++)
        memcpy(det + 3 * i, "开", 3);
    memcpy(det + 510, "ab", 3);
    line = replace(good_lines[13], "lid switch 开", det);
    assert_int_equal(event_parse(line, strlen(line), &ev, err), RC_OK);
    free(line);
    memcpy(det + 510, "abc", 4);
    refuse_variant(13, "lid switch 开", det, "\"detail\"");
    char name[EVENT_NAME_MAX + 2];
    memset(name, 'd', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char to[128];
    snprintf(to, sizeof to, "\"device\":\"%s\"", name);
    refuse_variant(8, "\"device\":\"kiosk-01\"", to, "\"device\"");
    refuse_variant(13, "\"kind\":\"case_open\"", "\"kind\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                   "\"kind\"");
    /* a line over EVENT_LINE_MAX is RC_LIMIT before anything else */
    char *huge = malloc(EVENT_LINE_MAX + 2);
    assert_non_null(huge);
    memset(huge, ' ', EVENT_LINE_MAX + 1);
    huge[EVENT_LINE_MAX + 1] = '\0';
    refuse_n(huge, EVENT_LINE_MAX + 1, RC_LIMIT, "8192");
    free(huge);
    /* an event whose escapes push it over the limit cannot be serialised */
    memset(&ev, 0, sizeof ev);
    assert_int_equal(event_parse(good_lines[7], strlen(good_lines[7]), &ev, err), RC_OK);
    memset(ev.file, '\x01', EVENT_FILE_MAX);
    ev.file[EVENT_FILE_MAX] = '\0';
    ev.has |= EVENT_HAS(EVENT_F_FILE);
    char buf[EVENT_LINE_MAX + 1];
    size_t len;
    assert_int_equal(event_serialise(&ev, buf, sizeof buf, &len, err), RC_OK); /* 6 KiB + */
    ev.type = EVENT_REC_STOP;
    ev.has &= ~(EVENT_HAS(EVENT_F_BYTES) | EVENT_HAS(EVENT_F_SHA256) | EVENT_HAS(EVENT_F_START));
    assert_int_equal(event_serialise(&ev, buf, sizeof buf, &len, err), RC_OK);
    assert_int_equal(event_parse(buf, len, &ev, err), RC_OK);
}

/* Random events (random values, strings of random code points and controls) serialise to
 * JSON that cJSON reads back to the same values, and parse back to the same bytes. */
static uint64_t rng = UINT64_C(12345);
static uint64_t rnd(void)
{
    uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
static int64_t rnd_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static void rnd_text(char *out, size_t max)
{
    size_t n = 0, want = (size_t)rnd_in(0, (int64_t)max);
    while (n < want) {
        uint32_t cp;
        switch (rnd() % 5) {
        case 0: cp = (uint32_t)rnd_in(1, 0x1f); break;
        case 1: cp = (uint32_t)rnd_in(0x20, 0x7f); break;
        case 2: cp = (uint32_t)rnd_in(0x80, 0x7ff); break;
        case 3: cp = (uint32_t)rnd_in(0x800, 0xffff); break;
        default: cp = (uint32_t)rnd_in(0x10000, 0x10ffff); break;
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        unsigned char b[4];
        size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (n + k > want)
            break;
        if (k == 1) {
            b[0] = (unsigned char)cp;
        } else if (k == 2) {
            b[0] = (unsigned char)(0xc0 | (cp >> 6));
            b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        } else if (k == 3) {
            b[0] = (unsigned char)(0xe0 | (cp >> 12));
            b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
            b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        } else {
            b[0] = (unsigned char)(0xf0 | (cp >> 18));
            b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
            b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        }
        memcpy(out + n, b, k);
        n += k;
    }
    out[n] = '\0';
}

static void random_events_agree_with_cjson(void **state)
{
    (void)state;
    for (int round = 0; round < 3000; round++) {
        struct event ev = {0};
        char err[ERR_LEN];
        uint8_t b[UUID_LEN];
        for (int i = 0; i < UUID_LEN; i++)
            b[i] = (uint8_t)rnd();
        uuid_v7_layout((uint64_t)rnd_in(0, TS_MAX_MS), b);
        uuid_format(b, ev.id);
        snprintf(ev.device, sizeof ev.device, "dev-%d", (int)rnd_in(0, 99999));
        ev.seq = rnd_in(1, EVENT_INT_MAX);
        snprintf(ev.prev, sizeof ev.prev, "%s", ev.seq == 1 ? ZEROS : PREV);
        ev.type = (enum event_type)rnd_in(EVENT_SIGNIN, EVENT_TAMPER);
        ev.ts_ms = rnd_in(0, TS_MAX_MS);
        snprintf(ev.boot, sizeof ev.boot, "%s", BOOT);
        ev.mono_ms = rnd_in(0, EVENT_INT_MAX);
        snprintf(ev.trainee, sizeof ev.trainee, "%s", TRAINEE);
        snprintf(ev.trainee_masked, sizeof ev.trainee_masked, "1201**********%03dX",
                 (int)rnd_in(0, 999));
        snprintf(ev.class_id, sizeof ev.class_id, "C%d", (int)rnd_in(0, 9));
        snprintf(ev.session, sizeof ev.session, "S.%d", (int)rnd_in(0, 9));
        snprintf(ev.fence, sizeof ev.fence, "F_%d", (int)rnd_in(0, 9));
        snprintf(ev.camera, sizeof ev.camera, "cam%d", (int)rnd_in(0, 9));
        ev.fix.lat_e8 = rnd_in(-EVENT_LAT_E8_MAX, EVENT_LAT_E8_MAX);
        ev.fix.lon_e8 = rnd_in(-EVENT_LON_E8_MAX, EVENT_LON_E8_MAX);
        ev.fix.has_eph = rnd() & 1;
        ev.fix.eph_cm = rnd_in(0, EVENT_EPH_CM_MAX);
        ev.fix.mode = (int)rnd_in(0, 3);
        ev.fix.has_sats = rnd() & 1;
        ev.fix.sats = (int)rnd_in(0, 255);
        ev.fix.has_time = rnd() & 1;
        ev.fix.time_ms = rnd_in(0, TS_MAX_MS);
        ev.fix.source = (enum event_fix_source)rnd_in(1, 2);
        ev.verdict = (enum event_verdict)rnd_in(1, 3);
        ev.distance_mm = rnd_in(-EVENT_DISTANCE_MM_MAX, EVENT_DISTANCE_MM_MAX);
        snprintf(ev.override_check, sizeof ev.override_check, "roster");
        snprintf(ev.photo_sha256, sizeof ev.photo_sha256, "%s", TRAINEE);
        snprintf(ev.no_photo, sizeof ev.no_photo, "%s", rnd() & 1 ? "refused" : "failed");
        do
            rnd_text(ev.file, 300);
        while (!ev.file[0]);
        ev.bytes = rnd_in(0, EVENT_INT_MAX);
        snprintf(ev.sha256, sizeof ev.sha256, "%s", TRAINEE);
        ev.start_ms = rnd_in(0, TS_MAX_MS);
        ev.end_ms = rnd_in(0, TS_MAX_MS);
        snprintf(ev.kind, sizeof ev.kind, "k_%c", (char)('a' + rnd() % 26));
        rnd_text(ev.detail, 300);
        ev.skew_ms = rnd_in(-EVENT_INT_MAX, EVENT_INT_MAX);
        ev.queue = rnd_in(0, EVENT_INT_MAX);
        /* every allowed key, each optional one present half the time */
        static const uint32_t base = 0xff;
        for (int f = 0; f < EVENT_F_COUNT; f++)
            ev.has |= EVENT_HAS(f) & (uint32_t)rnd();
        ev.has |= base;
        char buf[EVENT_LINE_MAX + 1];
        size_t len;
        /* keep only what the type allows: try, and drop the key the error names */
        for (int tries = 0; tries < EVENT_F_COUNT * 2; tries++) {
            int rc = event_serialise(&ev, buf, sizeof buf, &len, err);
            if (rc == RC_OK)
                break;
            for (int f = EVENT_F_TRAINEE; f < EVENT_F_COUNT; f++) {
                char quoted[40];
                snprintf(quoted, sizeof quoted, "\"%s\"", event_field_name(f));
                if (strstr(err, quoted) && strstr(err, "not allowed"))
                    ev.has &= ~EVENT_HAS(f);
                if (strstr(err, quoted) && strstr(err, "required"))
                    ev.has |= EVENT_HAS(f);
            }
        }
        assert_int_equal(event_serialise(&ev, buf, sizeof buf, &len, err), RC_OK);
        struct event back;
        if (event_parse(buf, len, &back, err) != RC_OK)
            fail_msg("own output refused: %s\n%s", err, buf);
        check_against_cjson(buf, &back);
        char again[EVENT_LINE_MAX + 1];
        size_t len2;
        assert_int_equal(event_serialise(&back, again, sizeof again, &len2, err), RC_OK);
        assert_int_equal(len2, len);
        assert_memory_equal(again, buf, len);
    }
}

static void names_and_helpers(void **state)
{
    (void)state;
    static const char *const names[] = {
        "signin", "signout", "rec_start", "rec_stop", "rec_file",        "heartbeat",
        "gnss",   "clock",   "tamper",    "rollcall", "rollcall_confirm"};
    for (int i = 0; i < 11; i++) {
        enum event_type t;
        assert_int_equal(event_type_parse(names[i], &t), RC_OK);
        assert_int_equal(t, EVENT_SIGNIN + i);
        assert_string_equal(event_type_name(t), names[i]);
    }
    enum event_type t;
    assert_int_equal(event_type_parse("Signin", &t), RC_INVAL);
    assert_int_equal(event_type_parse("", &t), RC_INVAL);
    assert_int_equal(event_type_parse(NULL, &t), RC_INVAL);
    assert_null(event_type_name((enum event_type)0));
    assert_null(event_type_name((enum event_type)12));
    enum event_verdict v;
    assert_int_equal(event_verdict_parse("no_fix", &v), RC_OK);
    assert_int_equal(v, EVENT_NO_FIX);
    assert_int_equal(event_verdict_parse("maybe", &v), RC_INVAL);
    assert_string_equal(event_field_name(EVENT_F_TRAINEE_MASKED), "trainee_masked");
    assert_null(event_field_name(EVENT_F_COUNT));

    /* SHA-256("abc") from FIPS 180-2 appendix B.1 */
    char h[EVENT_HEX_LEN + 1];
    event_hash_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    int64_t x;
    assert_int_equal(event_decimal(39.123456785, 8, &x), RC_OK);
    assert_true(x == INT64_C(3912345678) || x == INT64_C(3912345679));
    assert_int_equal(event_decimal(-12.3455, 3, &x), RC_OK);
    assert_true(x == -12345 || x == -12346);
    assert_int_equal(event_decimal(0.5, 0, &x), RC_OK);
    assert_int_equal(x, 1);
    assert_int_equal(event_decimal(-0.5, 0, &x), RC_OK);
    assert_int_equal(x, -1);
    assert_int_equal(event_decimal(-0.0, 3, &x), RC_OK);
    assert_int_equal(x, 0);
    assert_int_equal(event_decimal(NAN, 3, &x), RC_INVAL);
    assert_int_equal(event_decimal(INFINITY, 3, &x), RC_INVAL);
    assert_int_equal(event_decimal(-INFINITY, 3, &x), RC_INVAL);
    assert_int_equal(event_decimal(1e300, 3, &x), RC_INVAL);
    assert_int_equal(event_decimal(1.0, 10, &x), RC_INVAL);
}

/* ---------- hash chain ---------- */

enum { CHAIN_LEN = 6 };

static void sha_hex(const char *s, size_t n, char out[65])
{
    unsigned char d[32];
    assert_int_equal(mbedtls_sha256_ret((const unsigned char *)s, n, d, 0), 0);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Heartbeats 1..CHAIN_LEN written from a template, each prev the mbedTLS hash of the line
 * before, joined as NDJSON with a final newline. */
static void make_chain(char lines[CHAIN_LEN][512], char *ndjson, size_t cap)
{
    char prev[65] = ZEROS;
    size_t used = 0;
    for (int i = 0; i < CHAIN_LEN; i++) {
        snprintf(lines[i], 512,
                 "{\"id\":\"01936c1e-7f3a-7b2c-8d4e-5f6a7b8c9d%02d\",\"device\":\"kiosk-01\","
                 "\"seq\":%d,\"prev\":\"%s\",\"type\":\"heartbeat\",\"ts\":\"2026-11-02T00:5%d:"
                 "00.000Z\",\"boot\":\"" BOOT "\",\"mono_ms\":%d,\"queue\":%d}",
                 i, i + 1, prev, i, 1000 * i, i);
        sha_hex(lines[i], strlen(lines[i]), prev);
        used += (size_t)snprintf(ndjson + used, cap - used, "%s\n", lines[i]);
    }
}

static size_t join(char *out, size_t cap, char lines[][512], const int *order, int n)
{
    size_t used = 0;
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s\n", lines[order[i]]);
    return used;
}

static void expect_break(const char *ndjson, size_t len, size_t line, int64_t seq, int rc,
                         const char *mention)
{
    struct event_chain c;
    event_chain_init(&c);
    struct event_chain_break brk = {0, 0};
    size_t count = 99;
    char err[ERR_LEN] = "";
    assert_int_equal(event_chain_verify(&c, ndjson, len, &count, &brk, err), rc);
    assert_int_equal(brk.line, line);
    assert_int_equal(brk.seq, seq);
    assert_int_equal(count, line - 1);
    assert_int_equal(c.seq, seq - 1);
    if (mention && !strstr(err, mention))
        fail_msg("error \"%s\" does not mention %s", err, mention);
}

static void chain_good_and_broken(void **state)
{
    (void)state;
    char lines[CHAIN_LEN][512], nd[8192];
    make_chain(lines, nd, sizeof nd);
    struct event_chain c;
    event_chain_init(&c);
    assert_int_equal(c.seq, 0);
    assert_string_equal(c.head, ZEROS);
    size_t count;
    char err[ERR_LEN];
    assert_int_equal(event_chain_verify(&c, nd, strlen(nd), &count, NULL, err), RC_OK);
    assert_int_equal(count, CHAIN_LEN);
    assert_int_equal(c.seq, CHAIN_LEN);
    char want[65];
    sha_hex(lines[CHAIN_LEN - 1], strlen(lines[CHAIN_LEN - 1]), want);
    assert_string_equal(c.head, want);
    assert_string_equal(c.device, "kiosk-01");
    /* without the final newline, too */
    event_chain_init(&c);
    assert_int_equal(event_chain_verify(&c, nd, strlen(nd) - 1, &count, NULL, err), RC_OK);
    assert_int_equal(count, CHAIN_LEN);
    /* an empty input is an empty chain */
    event_chain_init(&c);
    assert_int_equal(event_chain_verify(&c, "", 0, &count, NULL, err), RC_OK);
    assert_int_equal(count, 0);

    char bad[8192];
    /* altered byte in event 3 that keeps it an event: event 4's prev no longer matches */
    snprintf(bad, sizeof bad, "%s", nd);
    char *q = strstr(bad, "\"queue\":2}");
    assert_non_null(q);
    q[8] = '7';
    expect_break(bad, strlen(bad), 4, 4, RC_CONFLICT, "prev");
    /* altered byte that breaks event 3 itself */
    snprintf(bad, sizeof bad, "%s", nd);
    q = strstr(bad, "\"queue\":2}");
    q[1] = 'Q';
    expect_break(bad, strlen(bad), 3, 3, RC_INVAL, "unknown key");
    /* altered last event: the chain cannot see it (the batch signature covers the head) */
    snprintf(bad, sizeof bad, "%s", nd);
    q = strstr(bad, "\"queue\":5}");
    q[8] = '6';
    event_chain_init(&c);
    assert_int_equal(event_chain_verify(&c, bad, strlen(bad), &count, NULL, err), RC_OK);
    assert_string_not_equal(c.head, want);
    /* deleted event 3 */
    static const int deleted[] = {0, 1, 3, 4, 5};
    size_t n = join(bad, sizeof bad, lines, deleted, 5);
    expect_break(bad, n, 3, 3, RC_CONFLICT, "seq 4 where 3");
    /* reordered 3 and 4 */
    static const int swapped[] = {0, 1, 3, 2, 4, 5};
    n = join(bad, sizeof bad, lines, swapped, 6);
    expect_break(bad, n, 3, 3, RC_CONFLICT, "seq 4 where 3");
    /* duplicated event 2 */
    static const int dup[] = {0, 1, 1, 2};
    n = join(bad, sizeof bad, lines, dup, 4);
    expect_break(bad, n, 3, 3, RC_CONFLICT, "seq 2 where 3");
    /* starting mid-chain without resuming */
    static const int tail[] = {2, 3};
    n = join(bad, sizeof bad, lines, tail, 2);
    expect_break(bad, n, 1, 1, RC_CONFLICT, "seq 3 where 1");
    /* wrong genesis prev: event 1 claiming a predecessor */
    snprintf(bad, sizeof bad, "%s", nd);
    memcpy(strstr(bad, ZEROS), PREV, 64);
    expect_break(bad, strlen(bad), 1, 1, RC_INVAL, "\"prev\"");
    /* an empty line in the middle */
    static const int two[] = {0, 1};
    n = join(bad, sizeof bad, lines, two, 2);
    memmove(bad + strlen(lines[0]) + 2, bad + strlen(lines[0]) + 1, n - strlen(lines[0]));
    bad[strlen(lines[0]) + 1] = '\n';
    expect_break(bad, n + 1, 2, 2, RC_INVAL, "empty line");
    /* CRLF line ends are not canonical */
    snprintf(bad, sizeof bad, "%s\r\n%s\r\n", lines[0], lines[1]);
    expect_break(bad, strlen(bad), 1, 1, RC_INVAL, NULL);
}

static void chain_resume_and_device(void **state)
{
    (void)state;
    char lines[CHAIN_LEN][512], nd[8192];
    make_chain(lines, nd, sizeof nd);
    char head3[65], err[ERR_LEN];
    sha_hex(lines[2], strlen(lines[2]), head3);
    struct event_chain c;
    assert_int_equal(event_chain_resume(&c, "kiosk-01", 3, head3, err), RC_OK);
    static const int rest[] = {3, 4, 5};
    char buf[4096];
    size_t n = join(buf, sizeof buf, lines, rest, 3), count;
    assert_int_equal(event_chain_verify(&c, buf, n, &count, NULL, err), RC_OK);
    assert_int_equal(count, 3);
    assert_int_equal(c.seq, 6);
    /* a chain of another device refuses these events */
    assert_int_equal(event_chain_resume(&c, "kiosk-02", 3, head3, err), RC_OK);
    struct event ev;
    assert_int_equal(event_chain_step(&c, lines[3], strlen(lines[3]), &ev, err), RC_CONFLICT);
    assert_non_null(strstr(err, "kiosk-02"));
    assert_int_equal(c.seq, 3); /* unchanged */
    assert_string_equal(c.head, head3);
    /* step fills the event for the caller */
    assert_int_equal(event_chain_resume(&c, "kiosk-01", 3, head3, err), RC_OK);
    assert_int_equal(event_chain_step(&c, lines[3], strlen(lines[3]), &ev, err), RC_OK);
    assert_int_equal(ev.seq, 4);
    assert_int_equal(ev.type, EVENT_HEARTBEAT);
    assert_int_equal(ev.queue, 3);
    /* resume refuses nonsense */
    assert_int_equal(event_chain_resume(&c, "kiosk-01", 0, head3, err), RC_INVAL);
    assert_int_equal(event_chain_resume(&c, "kiosk-01", 3, ZEROS, err), RC_INVAL);
    assert_int_equal(event_chain_resume(&c, "kiosk 01", 3, head3, err), RC_INVAL);
    assert_int_equal(event_chain_resume(&c, "kiosk-01", -1, head3, err), RC_INVAL);
    assert_int_equal(event_chain_resume(&c, "kiosk-01", 3, "ABC", err), RC_INVAL);
    assert_int_equal(event_chain_resume(&c, "kiosk-01", 0, ZEROS, err), RC_OK);
    assert_int_equal(event_chain_step(&c, lines[0], strlen(lines[0]), NULL, err), RC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_lines_round_trip),
        cmocka_unit_test(struct_serialises_to_expected_bytes),
        cmocka_unit_test(rollcall_keys_checked),
        cmocka_unit_test(truncated_lines_refused),
        cmocka_unit_test(override_key_checked),
        cmocka_unit_test(photo_keys_checked),
        cmocka_unit_test(wrong_types_refused),
        cmocka_unit_test(invalid_utf8_refused),
        cmocka_unit_test(numbers_refused),
        cmocka_unit_test(structure_refused),
        cmocka_unit_test(strings_refused),
        cmocka_unit_test(limits_refused),
        cmocka_unit_test(random_events_agree_with_cjson),
        cmocka_unit_test(names_and_helpers),
        cmocka_unit_test(chain_good_and_broken),
        cmocka_unit_test(chain_resume_and_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
