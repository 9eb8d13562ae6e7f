/* Canonical event lines: validation, serialisation, a strict recogniser, the hash chain.
 * See event.h for the invariants and docs/WIRE-FORMAT.md for the format. */
#include "event.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "rc.h"
#include "timeutil.h"
#include "utf8.h"

#define H(f) EVENT_HAS(EVENT_F_##f)
#define BASE_FIELDS (H(ID) | H(DEVICE) | H(SEQ) | H(PREV) | H(TYPE) | H(TS) | H(BOOT) | H(MONO_MS))

static const char *const field_names[EVENT_F_COUNT] = {
    "id",           "device",   "seq",     "prev",           "type",       "ts",
    "boot",         "mono_ms",  "trainee", "trainee_masked", "class",      "session",
    "rollcall",     "fix",      "fence",   "verdict",        "distance_m", "override",
    "photo_sha256", "no_photo", "camera",  "file",           "bytes",      "sha256",
    "start",        "end",      "kind",    "detail",         "skew_ms",    "queue",
};

static const char *const type_names[] = {
    [EVENT_SIGNIN] = "signin",
    [EVENT_SIGNOUT] = "signout",
    [EVENT_REC_START] = "rec_start",
    [EVENT_REC_STOP] = "rec_stop",
    [EVENT_REC_FILE] = "rec_file",
    [EVENT_HEARTBEAT] = "heartbeat",
    [EVENT_GNSS] = "gnss",
    [EVENT_CLOCK] = "clock",
    [EVENT_TAMPER] = "tamper",
    [EVENT_ROLLCALL] = "rollcall",
    [EVENT_ROLLCALL_CONFIRM] = "rollcall_confirm",
};
enum { TYPE_COUNT = sizeof type_names / sizeof type_names[0] };

static const char *const verdict_names[] = {
    [EVENT_INSIDE] = "inside",
    [EVENT_OUTSIDE] = "outside",
    [EVENT_UNCERTAIN] = "uncertain",
    [EVENT_NO_FIX] = "no_fix",
};
enum { VERDICT_COUNT = sizeof verdict_names / sizeof verdict_names[0] };

static const char *const source_names[] = {
    [EVENT_SOURCE_GNSS] = "gnss",
    [EVENT_SOURCE_SURVEYED] = "surveyed",
};
enum { SOURCE_COUNT = sizeof source_names / sizeof source_names[0] };

/* Which per-type keys each type requires and which it also allows. */
static const struct {
    uint32_t required, allowed;
} type_rules[TYPE_COUNT] = {
    [EVENT_SIGNIN] = {H(TRAINEE) | H(TRAINEE_MASKED) | H(CLASS) | H(FENCE) | H(VERDICT),
                      H(SESSION) | H(FIX) | H(DISTANCE_M) | H(OVERRIDE) | H(PHOTO_SHA256) |
                          H(NO_PHOTO)},
    [EVENT_SIGNOUT] = {H(TRAINEE) | H(TRAINEE_MASKED) | H(CLASS) | H(FENCE) | H(VERDICT),
                       H(SESSION) | H(FIX) | H(DISTANCE_M) | H(OVERRIDE) | H(PHOTO_SHA256) |
                           H(NO_PHOTO)},
    [EVENT_REC_START] = {H(CAMERA) | H(CLASS) | H(START), H(SESSION)},
    [EVENT_REC_STOP] = {H(CAMERA) | H(END), H(CLASS) | H(SESSION) | H(FILE)},
    [EVENT_REC_FILE] = {H(CAMERA) | H(FILE) | H(BYTES) | H(SHA256) | H(START) | H(END),
                        H(CLASS) | H(SESSION)},
    [EVENT_HEARTBEAT] = {0, H(FIX) | H(QUEUE)},
    [EVENT_GNSS] = {H(KIND) | H(DETAIL), H(FIX)},
    [EVENT_CLOCK] = {H(KIND) | H(SKEW_MS), H(DETAIL)},
    [EVENT_TAMPER] = {H(KIND) | H(DETAIL), 0},
    /* The roll-call's window: it opens at start and closes at end. */
    [EVENT_ROLLCALL] = {H(CLASS) | H(SESSION) | H(ROLLCALL) | H(START) | H(END), 0},
    [EVENT_ROLLCALL_CONFIRM] = {H(TRAINEE) | H(TRAINEE_MASKED) | H(CLASS) | H(SESSION) |
                                    H(ROLLCALL) | H(FENCE) | H(VERDICT),
                                H(FIX) | H(DISTANCE_M) | H(PHOTO_SHA256) | H(NO_PHOTO)},
};

enum fix_field { FIX_LAT, FIX_LON, FIX_EPH, FIX_MODE, FIX_SATS, FIX_TIME, FIX_SOURCE, FIX_COUNT };
static const char *const fix_names[FIX_COUNT] = {"lat",  "lon",  "eph",   "mode",
                                                 "sats", "time", "source"};
#define FIX_REQUIRED ((1u << FIX_LAT) | (1u << FIX_LON) | (1u << FIX_MODE) | (1u << FIX_SOURCE))

/* The values of "override": which kiosk check an operator overrode. */
static bool is_override(const char *s)
{
    return strcmp(s, "roster") == 0;
}

/* The values of "no_photo": why the kiosk screen has no photo of a sign-in. */
static bool is_no_photo(const char *s)
{
    return strcmp(s, "no_camera") == 0 || strcmp(s, "refused") == 0 || strcmp(s, "failed") == 0;
}

static const char genesis[EVENT_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* ---------- names ---------- */

const char *event_type_name(enum event_type t)
{
    return t > 0 && (size_t)t < TYPE_COUNT ? type_names[t] : NULL;
}

bool event_is_located(enum event_type t)
{
    return t == EVENT_SIGNIN || t == EVENT_SIGNOUT || t == EVENT_ROLLCALL_CONFIRM;
}

int event_type_parse(const char *s, enum event_type *t)
{
    for (size_t i = 1; s && i < TYPE_COUNT; i++) {
        /* the first letter first: the figures parse a type per stored event */
        if (s[0] == type_names[i][0] && strcmp(s, type_names[i]) == 0) {
            *t = (enum event_type)i;
            return RC_OK;
        }
    }
    return RC_INVAL;
}

const char *event_verdict_name(enum event_verdict v)
{
    return v > 0 && (size_t)v < VERDICT_COUNT ? verdict_names[v] : NULL;
}

int event_verdict_parse(const char *s, enum event_verdict *v)
{
    for (size_t i = 1; s && i < VERDICT_COUNT; i++) {
        if (strcmp(s, verdict_names[i]) == 0) {
            *v = (enum event_verdict)i;
            return RC_OK;
        }
    }
    return RC_INVAL;
}

const char *event_source_name(enum event_fix_source s)
{
    return s > 0 && (size_t)s < SOURCE_COUNT ? source_names[s] : NULL;
}

int event_source_parse(const char *s, enum event_fix_source *out)
{
    for (size_t i = 1; s && i < SOURCE_COUNT; i++) {
        if (strcmp(s, source_names[i]) == 0) {
            *out = (enum event_fix_source)i;
            return RC_OK;
        }
    }
    return RC_INVAL;
}

const char *event_field_name(enum event_field f)
{
    return (int)f >= 0 && (int)f < EVENT_F_COUNT ? field_names[f] : NULL;
}

/* ---------- validation ---------- */

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_uuid(const char *s, bool v7)
{
    if (strlen(s) != EVENT_UUID_LEN)
        return false;
    for (size_t i = 0; i < EVENT_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_lower_hex(s[i]))
            return false;
    }
    return !v7 || (s[14] == '7' && strchr("89ab", s[19]) != NULL);
}

static bool is_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > EVENT_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != EVENT_HEX_LEN)
        return false;
    for (size_t i = 0; i < EVENT_HEX_LEN; i++)
        if (!is_lower_hex(s[i]))
            return false;
    return true;
}

static bool is_masked(const char *s)
{
    if (strlen(s) != EVENT_MASKED_LEN)
        return false;
    for (size_t i = 0; i < EVENT_MASKED_LEN; i++) {
        char c = s[i];
        bool ok = i < 4 || (i >= 14 && i < 17) ? (c >= '0' && c <= '9')
                  : i < 14                     ? c == '*'
                                               : ((c >= '0' && c <= '9') || c == 'X');
        if (!ok)
            return false;
    }
    return true;
}

static bool is_kind(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > EVENT_KIND_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return false;
    return true;
}

/* Valid UTF-8 of min..max bytes (the terminating NUL ends it). */
static int check_text(const char *key, const char *s, size_t min, size_t max, char *err)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return rc_fail(err, RC_INVAL, "\"%s\": length %zu outside %zu..%zu bytes", key, n, min,
                       max);
    for (size_t i = 0; i < n;) {
        const char *why = "";
        size_t k = utf8_seq((const unsigned char *)s + i, n - i, &why);
        if (k == 0)
            return rc_fail(err, RC_INVAL, "\"%s\": invalid UTF-8 (%s) at string byte %zu", key, why,
                           i);
        i += k;
    }
    return RC_OK;
}

static int check_range(const char *key, int64_t v, int64_t min, int64_t max, char *err)
{
    if (v < min || v > max)
        return rc_fail(err, RC_INVAL, "\"%s\": %lld outside %lld..%lld", key, (long long)v,
                       (long long)min, (long long)max);
    return RC_OK;
}

static int check_ts(const char *key, int64_t ms, char *err)
{
    return check_range(key, ms, TS_MIN_MS, TS_MAX_MS, err);
}

/* Checks a fixed-format string field that must be NUL-terminated in its array. */
#define FORMAT(field, name, test, what)                                                            \
    do {                                                                                           \
        if (!terminated(field, sizeof field) || !(test))                                           \
            return rc_fail(err, RC_INVAL, "\"%s\": must be %s", name, what);                       \
    } while (0)

static int validate_fix(const struct event_fix *f, char *err)
{
    int rc;
    if ((rc = check_range("fix.lat", f->lat_e8, -EVENT_LAT_E8_MAX, EVENT_LAT_E8_MAX, err)) ||
        (rc = check_range("fix.lon", f->lon_e8, -EVENT_LON_E8_MAX, EVENT_LON_E8_MAX, err)))
        return rc;
    if (f->has_eph && (rc = check_range("fix.eph", f->eph_cm, 0, EVENT_EPH_CM_MAX, err)))
        return rc;
    if ((rc = check_range("fix.mode", f->mode, 0, EVENT_MODE_MAX, err)))
        return rc;
    if (f->has_sats && (rc = check_range("fix.sats", f->sats, 0, EVENT_SATS_MAX, err)))
        return rc;
    if (f->has_time && (rc = check_ts("fix.time", f->time_ms, err)))
        return rc;
    if ((int)f->source <= 0 || (size_t)f->source >= SOURCE_COUNT)
        return rc_fail(err, RC_INVAL, "\"fix.source\": must be gnss or surveyed");
    return RC_OK;
}

int event_validate(const struct event *ev, char *err)
{
    int rc;
    FORMAT(ev->id, "id", is_uuid(ev->id, true), "a lower-case UUIDv7");
    FORMAT(ev->device, "device", is_name(ev->device), "1..64 of [A-Za-z0-9._-]");
    if ((rc = check_range("seq", ev->seq, 1, EVENT_INT_MAX, err)))
        return rc;
    FORMAT(ev->prev, "prev", is_hex64(ev->prev), "64 lower-case hex digits");
    if ((ev->seq == 1) != (strcmp(ev->prev, genesis) == 0))
        return rc_fail(err, RC_INVAL, "\"prev\": must be 64 zeros exactly when seq is 1");
    const char *tname = event_type_name(ev->type);
    if (!tname)
        return rc_fail(err, RC_INVAL, "\"type\": unknown type %d", (int)ev->type);
    if ((rc = check_ts("ts", ev->ts_ms, err)))
        return rc;
    FORMAT(ev->boot, "boot", is_uuid(ev->boot, false), "a lower-case UUID");
    if ((rc = check_range("mono_ms", ev->mono_ms, 0, EVENT_INT_MAX, err)))
        return rc;

    uint32_t has = ev->has & ~(uint32_t)BASE_FIELDS;
    uint32_t required = type_rules[ev->type].required;
    uint32_t allowed = required | type_rules[ev->type].allowed;
    bool located = event_is_located(ev->type);
    bool no_fix = located && (has & H(VERDICT)) && ev->verdict == EVENT_NO_FIX;
    if (located && (has & H(VERDICT))) {
        if (no_fix)
            allowed &= ~(uint32_t)(H(FIX) | H(DISTANCE_M));
        else
            required |= H(FIX) | H(DISTANCE_M);
    }
    for (int f = EVENT_F_TRAINEE; f < EVENT_F_COUNT; f++) {
        uint32_t bit = EVENT_HAS(f);
        if ((has & bit) && !(allowed & bit))
            return rc_fail(
                err, RC_INVAL, "\"%s\": not allowed in a %s event%s", field_names[f], tname,
                no_fix && (f == EVENT_F_FIX || f == EVENT_F_DISTANCE_M) ? " with verdict no_fix"
                                                                        : "");
        if ((required & bit) && !(has & bit))
            return rc_fail(err, RC_INVAL, "\"%s\": required in a %s event", field_names[f], tname);
    }
    if (has & H(TRAINEE))
        FORMAT(ev->trainee, "trainee", is_hex64(ev->trainee), "64 lower-case hex digits");
    if (has & H(TRAINEE_MASKED))
        FORMAT(ev->trainee_masked, "trainee_masked", is_masked(ev->trainee_masked),
               "4 digits, 10 '*', 3 digits and a digit or X");
    if (has & H(CLASS))
        FORMAT(ev->class_id, "class", is_name(ev->class_id), "1..64 of [A-Za-z0-9._-]");
    if (has & H(SESSION))
        FORMAT(ev->session, "session", is_name(ev->session), "1..64 of [A-Za-z0-9._-]");
    if (has & H(ROLLCALL))
        FORMAT(ev->rollcall, "rollcall", is_name(ev->rollcall), "1..64 of [A-Za-z0-9._-]");
    if ((has & H(FIX)) && (rc = validate_fix(&ev->fix, err)))
        return rc;
    if (has & H(FENCE))
        FORMAT(ev->fence, "fence", is_name(ev->fence), "1..64 of [A-Za-z0-9._-]");
    if ((has & H(VERDICT)) && !event_verdict_name(ev->verdict))
        return rc_fail(err, RC_INVAL, "\"verdict\": must be inside, outside, uncertain or no_fix");
    if ((has & H(DISTANCE_M)) &&
        (rc = check_range("distance_m", ev->distance_mm, -EVENT_DISTANCE_MM_MAX,
                          EVENT_DISTANCE_MM_MAX, err)))
        return rc;
    if (has & H(OVERRIDE))
        FORMAT(ev->override_check, "override", is_override(ev->override_check), "\"roster\"");
    if ((has & H(PHOTO_SHA256)) && (has & H(NO_PHOTO)))
        return rc_fail(err, RC_INVAL, "\"no_photo\": not allowed beside photo_sha256");
    if (has & H(PHOTO_SHA256))
        FORMAT(ev->photo_sha256, "photo_sha256", is_hex64(ev->photo_sha256),
               "64 lower-case hex digits");
    if (has & H(NO_PHOTO))
        FORMAT(ev->no_photo, "no_photo", is_no_photo(ev->no_photo), "no_camera, refused or failed");
    if (has & H(CAMERA))
        FORMAT(ev->camera, "camera", is_name(ev->camera), "1..64 of [A-Za-z0-9._-]");
    if (has & H(FILE)) {
        FORMAT(ev->file, "file", true, "NUL-terminated");
        if ((rc = check_text("file", ev->file, 1, EVENT_FILE_MAX, err)))
            return rc;
    }
    if ((has & H(BYTES)) && (rc = check_range("bytes", ev->bytes, 0, EVENT_INT_MAX, err)))
        return rc;
    if (has & H(SHA256))
        FORMAT(ev->sha256, "sha256", is_hex64(ev->sha256), "64 lower-case hex digits");
    if ((has & H(START)) && (rc = check_ts("start", ev->start_ms, err)))
        return rc;
    if ((has & H(END)) && (rc = check_ts("end", ev->end_ms, err)))
        return rc;
    if (ev->type == EVENT_ROLLCALL && ev->end_ms <= ev->start_ms)
        return rc_fail(err, RC_INVAL, "\"end\": a roll-call must close after it opens");
    if (has & H(KIND))
        FORMAT(ev->kind, "kind", is_kind(ev->kind), "1..32 of [a-z_]");
    if (has & H(DETAIL)) {
        FORMAT(ev->detail, "detail", true, "NUL-terminated");
        if ((rc = check_text("detail", ev->detail, 0, EVENT_DETAIL_MAX, err)))
            return rc;
    }
    if ((has & H(SKEW_MS)) &&
        (rc = check_range("skew_ms", ev->skew_ms, -EVENT_INT_MAX, EVENT_INT_MAX, err)))
        return rc;
    if ((has & H(QUEUE)) && (rc = check_range("queue", ev->queue, 0, EVENT_INT_MAX, err)))
        return rc;
    return RC_OK;
}

/* ---------- serialisation ---------- */

struct out {
    char *buf;
    size_t cap; /* bytes available for the line, without the NUL */
    size_t len;
    bool over;
    size_t at[EVENT_F_COUNT]; /* where each key's text begins */
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->over || n > o->cap - o->len) {
        o->over = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_c(struct out *o, char c)
{
    put(o, &c, 1);
}

static void put_key(struct out *o, int field, const char *name, bool first)
{
    if (field >= 0)
        o->at[field] = o->len;
    put_c(o, first ? '{' : ',');
    put_c(o, '"');
    put(o, name, strlen(name));
    put(o, "\":", 2);
}

static void put_uint(struct out *o, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i, sizeof tmp - i);
}

static void put_int(struct out *o, int64_t v)
{
    if (v < 0) {
        put_c(o, '-');
        put_uint(o, (uint64_t)0 - (uint64_t)v);
    } else {
        put_uint(o, (uint64_t)v);
    }
}

static const int64_t pow10_table[] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};

/* v / 10^digits with exactly `digits` fraction digits; never "-0.00". */
static void put_dec(struct out *o, int64_t v, int digits)
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t scale = (uint64_t)pow10_table[digits];
    if (v < 0)
        put_c(o, '-');
    put_uint(o, a / scale);
    put_c(o, '.');
    char tmp[16];
    uint64_t frac = a % scale;
    for (int i = digits - 1; i >= 0; i--) {
        tmp[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    put(o, tmp, (size_t)digits);
}

static void put_str(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put_c(o, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[6];
        switch (*p) {
        case '"': put(o, "\\\"", 2); break;
        case '\\': put(o, "\\\\", 2); break;
        case '\b': put(o, "\\b", 2); break;
        case '\f': put(o, "\\f", 2); break;
        case '\n': put(o, "\\n", 2); break;
        case '\r': put(o, "\\r", 2); break;
        case '\t': put(o, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
                put(o, esc, 6);
            } else {
                put_c(o, (char)*p);
            }
        }
    }
    put_c(o, '"');
}

static void put_ts(struct out *o, int64_t ms)
{
    char t[TS_UTC_LEN + 1];
    ts_format_utc(ms, t); /* validated before */
    put_c(o, '"');
    put(o, t, TS_UTC_LEN);
    put_c(o, '"');
}

static void put_fix(struct out *o, const struct event_fix *f)
{
    put_key(o, -1, "lat", true);
    put_dec(o, f->lat_e8, 8);
    put_key(o, -1, "lon", false);
    put_dec(o, f->lon_e8, 8);
    if (f->has_eph) {
        put_key(o, -1, "eph", false);
        put_dec(o, f->eph_cm, 2);
    }
    put_key(o, -1, "mode", false);
    put_int(o, f->mode);
    if (f->has_sats) {
        put_key(o, -1, "sats", false);
        put_int(o, f->sats);
    }
    if (f->has_time) {
        put_key(o, -1, "time", false);
        put_ts(o, f->time_ms);
    }
    put_key(o, -1, "source", false);
    put_str(o, source_names[f->source]);
    put_c(o, '}');
}

/* Writes a validated event. */
static void write_event(struct out *o, const struct event *ev)
{
    uint32_t has = ev->has | BASE_FIELDS;
    for (int f = 0; f < EVENT_F_COUNT; f++) {
        if (!(has & EVENT_HAS(f)))
            continue;
        put_key(o, f, field_names[f], f == EVENT_F_ID);
        switch ((enum event_field)f) {
        case EVENT_F_ID: put_str(o, ev->id); break;
        case EVENT_F_DEVICE: put_str(o, ev->device); break;
        case EVENT_F_SEQ: put_int(o, ev->seq); break;
        case EVENT_F_PREV: put_str(o, ev->prev); break;
        case EVENT_F_TYPE: put_str(o, type_names[ev->type]); break;
        case EVENT_F_TS: put_ts(o, ev->ts_ms); break;
        case EVENT_F_BOOT: put_str(o, ev->boot); break;
        case EVENT_F_MONO_MS: put_int(o, ev->mono_ms); break;
        case EVENT_F_TRAINEE: put_str(o, ev->trainee); break;
        case EVENT_F_TRAINEE_MASKED: put_str(o, ev->trainee_masked); break;
        case EVENT_F_CLASS: put_str(o, ev->class_id); break;
        case EVENT_F_SESSION: put_str(o, ev->session); break;
        case EVENT_F_ROLLCALL: put_str(o, ev->rollcall); break;
        case EVENT_F_FIX: put_fix(o, &ev->fix); break;
        case EVENT_F_FENCE: put_str(o, ev->fence); break;
        case EVENT_F_VERDICT: put_str(o, verdict_names[ev->verdict]); break;
        case EVENT_F_DISTANCE_M: put_dec(o, ev->distance_mm, 3); break;
        case EVENT_F_OVERRIDE: put_str(o, ev->override_check); break;
        case EVENT_F_PHOTO_SHA256: put_str(o, ev->photo_sha256); break;
        case EVENT_F_NO_PHOTO: put_str(o, ev->no_photo); break;
        case EVENT_F_CAMERA: put_str(o, ev->camera); break;
        case EVENT_F_FILE: put_str(o, ev->file); break;
        case EVENT_F_BYTES: put_int(o, ev->bytes); break;
        case EVENT_F_SHA256: put_str(o, ev->sha256); break;
        case EVENT_F_START: put_ts(o, ev->start_ms); break;
        case EVENT_F_END: put_ts(o, ev->end_ms); break;
        case EVENT_F_KIND: put_str(o, ev->kind); break;
        case EVENT_F_DETAIL: put_str(o, ev->detail); break;
        case EVENT_F_SKEW_MS: put_int(o, ev->skew_ms); break;
        case EVENT_F_QUEUE: put_int(o, ev->queue); break;
        case EVENT_F_COUNT: break;
        }
    }
    put_c(o, '}');
}

int event_serialise(const struct event *ev, char *buf, size_t cap, size_t *len, char *err)
{
    if (cap > 0)
        buf[0] = '\0';
    int rc = event_validate(ev, err);
    if (rc)
        return rc;
    if (cap == 0)
        return rc_fail(err, RC_LIMIT, "no room for the line");
    struct out o = {.buf = buf, .cap = cap - 1 < EVENT_LINE_MAX ? cap - 1 : EVENT_LINE_MAX};
    write_event(&o, ev);
    if (o.over) {
        buf[0] = '\0';
        return rc_fail(err, RC_LIMIT, "event longer than %zu bytes", o.cap);
    }
    buf[o.len] = '\0';
    *len = o.len;
    return RC_OK;
}

/* ---------- parsing ---------- */

enum { KEY_MAX = 16 }; /* longer than every key name */

struct parser {
    const char *s;
    size_t len, pos;
    char *err;
};

static int perr(struct parser *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, const char *key, const char *fmt, ...)
{
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key)
        return rc_fail(p->err, RC_INVAL, "\"%s\": %s at byte %zu", key, msg, p->pos);
    return rc_fail(p->err, RC_INVAL, "%s at byte %zu", msg, p->pos);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Consumes the structural character c or explains what is there instead. */
static int expect(struct parser *p, const char *key, char c)
{
    if (p->pos >= p->len)
        return perr(p, key, "truncated line, expected '%c'", c);
    char got = p->s[p->pos];
    if (got == c) {
        p->pos++;
        return RC_OK;
    }
    if (is_ws(got))
        return perr(p, key, "whitespace is not canonical");
    return perr(p, key, "expected '%c'", c);
}

/* A canonical JSON string into out (max bytes plus NUL); only the escapes the canonical form
 * writes are accepted, and the raw bytes must be valid UTF-8 without controls. */
static int parse_string(struct parser *p, const char *key, char *out, size_t max)
{
    if (p->pos >= p->len)
        return perr(p, key, "truncated line, expected a string");
    if (p->s[p->pos] != '"')
        return perr(p, key, "must be a string");
    p->pos++;
    size_t n = 0;
    for (;;) {
        if (p->pos >= p->len)
            return perr(p, key, "truncated string");
        unsigned char c = (unsigned char)p->s[p->pos];
        char dec;
        size_t k = 1;
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c == '\\') {
            if (p->len - p->pos < 2)
                return perr(p, key, "truncated escape");
            switch (p->s[p->pos + 1]) {
            case '"': dec = '"'; break;
            case '\\': dec = '\\'; break;
            case 'b': dec = '\b'; break;
            case 'f': dec = '\f'; break;
            case 'n': dec = '\n'; break;
            case 'r': dec = '\r'; break;
            case 't': dec = '\t'; break;
            case 'u': {
                if (p->len - p->pos < 6)
                    return perr(p, key, "truncated \\u escape");
                const char *h = p->s + p->pos + 2;
                int v = 0;
                for (int i = 0; i < 4; i++) {
                    char d = h[i];
                    int x = d >= '0' && d <= '9'   ? d - '0'
                            : d >= 'a' && d <= 'f' ? d - 'a' + 10
                            : d >= 'A' && d <= 'F' ? -2
                                                   : -1;
                    if (x == -2)
                        return perr(p, key, "upper-case hex in \\u escape");
                    if (x < 0)
                        return perr(p, key, "invalid \\u escape");
                    v = v * 16 + x;
                }
                if (v == 0)
                    return perr(p, key, "NUL (\\u0000) is not allowed");
                if (v >= 0x20)
                    return perr(p, key, "needless \\u escape: write the character itself");
                if (v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
                    return perr(p, key, "\\u%04x must be written as its short escape", v);
                dec = (char)v;
                k = 6;
                break;
            }
            case '/': return perr(p, key, "needless escape \\/");
            default: return perr(p, key, "invalid escape");
            }
            if (k == 1)
                k = 2;
            if (n + 1 > max)
                return perr(p, key, "longer than %zu bytes", max);
            out[n++] = dec;
            p->pos += k;
            continue;
        }
        if (c < 0x20)
            return perr(p, key, "control character 0x%02x must be escaped", c);
        const char *why = "";
        k = utf8_seq((const unsigned char *)p->s + p->pos, p->len - p->pos, &why);
        if (k == 0)
            return perr(p, key, "invalid UTF-8 (%s)", why);
        if (n + k > max)
            return perr(p, key, "longer than %zu bytes", max);
        memcpy(out + n, p->s + p->pos, k);
        n += k;
        p->pos += k;
    }
    out[n] = '\0';
    return RC_OK;
}

/* Reads the digits of a canonical unsigned integer: no leading zeros, at most 16 digits. */
static int parse_digits(struct parser *p, const char *key, int64_t *v)
{
    size_t start = p->pos;
    if (p->pos >= p->len)
        return perr(p, key, "truncated number");
    if (p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return perr(p, key, "must be a number");
    int64_t acc = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        if (p->pos - start >= 16)
            return perr(p, key, "number out of range");
        acc = acc * 10 + (p->s[p->pos] - '0');
        p->pos++;
    }
    if (p->s[start] == '0' && p->pos - start > 1) {
        p->pos = start;
        return perr(p, key, "leading zero");
    }
    *v = acc;
    return RC_OK;
}

/* A number ends at ',' or '}' (or the end of a truncated line, reported by the caller). */
static int after_number(struct parser *p, const char *key)
{
    if (p->pos >= p->len || p->s[p->pos] == ',' || p->s[p->pos] == '}')
        return RC_OK;
    if (is_ws(p->s[p->pos]))
        return perr(p, key, "whitespace is not canonical");
    return perr(p, key, "invalid number");
}

/* The value must start right after the ':'. */
static int no_ws(struct parser *p, const char *key)
{
    if (p->pos < p->len && is_ws(p->s[p->pos]))
        return perr(p, key, "whitespace is not canonical");
    return RC_OK;
}

static int parse_int(struct parser *p, const char *key, int64_t min, int64_t max, int64_t *out)
{
    size_t start = p->pos;
    bool neg = p->pos < p->len && p->s[p->pos] == '-';
    if (neg)
        p->pos++;
    int64_t v;
    int rc = parse_digits(p, key, &v);
    if (rc) {
        if (p->pos < p->len && p->s[p->pos] == '"')
            return perr(p, key, "must be an integer, not a string");
        return rc;
    }
    if (p->pos < p->len && strchr(".eE", p->s[p->pos]))
        return perr(p, key, "must be an integer without fraction or exponent");
    if ((rc = after_number(p, key)))
        return rc;
    if (neg && v == 0) {
        p->pos = start;
        return perr(p, key, "-0 is not canonical");
    }
    v = neg ? -v : v;
    if (v < min || v > max) {
        p->pos = start;
        return perr(p, key, "%lld outside %lld..%lld", (long long)v, (long long)min,
                    (long long)max);
    }
    *out = v;
    return RC_OK;
}

/* A decimal with exactly `digits` fraction digits into v * 10^digits. */
static int parse_dec(struct parser *p, const char *key, int digits, int64_t min, int64_t max,
                     int64_t *out)
{
    size_t start = p->pos;
    bool neg = p->pos < p->len && p->s[p->pos] == '-';
    if (neg)
        p->pos++;
    int64_t ip, fp = 0;
    int rc = parse_digits(p, key, &ip);
    if (rc) {
        if (p->pos < p->len && p->s[p->pos] == '"')
            return perr(p, key, "must be a number, not a string");
        return rc;
    }
    if (ip > EVENT_INT_MAX / pow10_table[digits]) {
        p->pos = start;
        return perr(p, key, "number out of range");
    }
    if (p->pos >= p->len || p->s[p->pos] != '.')
        return perr(p, key, "needs exactly %d fraction digits", digits);
    p->pos++;
    for (int i = 0; i < digits; i++, p->pos++) {
        if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return perr(p, key, "needs exactly %d fraction digits", digits);
        fp = fp * 10 + (p->s[p->pos] - '0');
    }
    if (p->pos < p->len && strchr("0123456789eE", p->s[p->pos]))
        return perr(p, key, "needs exactly %d fraction digits and no exponent", digits);
    if ((rc = after_number(p, key)))
        return rc;
    int64_t v = ip * pow10_table[digits] + fp;
    if (neg && v == 0) {
        p->pos = start;
        return perr(p, key, "negative zero is not canonical");
    }
    v = neg ? -v : v;
    if (v < min || v > max) {
        p->pos = start;
        return perr(p, key, "out of range");
    }
    *out = v;
    return RC_OK;
}

/* A key: '"', [a-z0-9_]{1,KEY_MAX}, '"', ':'. Returns its index in names or explains. */
/* Reads a key among names[0..count). The search starts at names[from] and wraps around:
 * keys come in the names' order (key_order), so the key after the one at `last` is found
 * after a few comparisons instead of half the list; the result and every error are the same
 * whatever `from` is (names are distinct). */
static int parse_key(struct parser *p, const char *const *names, int count, int from,
                     const char *where, int *index)
{
    *index = -1; /* set on every path: GCC 12 -O2/-O3 cannot see that perr never returns 0 */
    size_t start = p->pos;
    int rc = expect(p, NULL, '"');
    if (rc)
        return rc;
    char name[KEY_MAX + 1];
    size_t n = 0;
    while (p->pos < p->len && p->s[p->pos] != '"') {
        char c = p->s[p->pos];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') || n == KEY_MAX) {
            p->pos = start;
            return perr(p, NULL, "unknown key%s%s", where[0] ? " in " : "", where);
        }
        name[n++] = c;
        p->pos++;
    }
    name[n] = '\0';
    if (p->pos >= p->len)
        return perr(p, NULL, "truncated key");
    p->pos++;
    if (from < 0 || from >= count)
        from = 0;
    for (int k = 0; k < count; k++) {
        int i = from + k < count ? from + k : from + k - count;
        if (strcmp(name, names[i]) == 0) {
            *index = i;
            return expect(p, names[i], ':');
        }
    }
    p->pos = start;
    return perr(p, NULL, "unknown key \"%s\"%s%s", name, where[0] ? " in " : "", where);
}

/* Checks order and uniqueness of key i given the keys seen so far. */
static int key_order(struct parser *p, const char *const *names, int i, uint32_t seen, int last)
{
    if (seen & (UINT32_C(1) << i))
        return perr(p, names[i], "duplicate key");
    if (i < last)
        return perr(p, names[i], "key out of order: must come before \"%s\"", names[last]);
    return RC_OK;
}

static int parse_ts_value(struct parser *p, const char *key, int64_t *ms)
{
    char t[EVENT_TS_LEN + 1];
    size_t at = p->pos;
    int rc = parse_string(p, key, t, EVENT_TS_LEN);
    if (rc)
        return rc;
    if (!ts_is_canonical_utc(t)) {
        p->pos = at;
        return perr(p, key, "must be a valid YYYY-MM-DDTHH:MM:SS.mmmZ time");
    }
    return ts_parse_rfc3339(t, ms, p->err);
}

static int parse_fix(struct parser *p, struct event_fix *f)
{
    int rc = expect(p, "fix", '{');
    if (rc) {
        if (p->pos < p->len && p->s[p->pos] != '{' && !is_ws(p->s[p->pos]))
            return perr(p, "fix", "must be an object");
        return rc;
    }
    uint32_t seen = 0;
    int last = -1;
    for (;;) {
        if (seen && p->pos < p->len && p->s[p->pos] == '}')
            break;
        if (seen && (rc = expect(p, "fix", ',')))
            return rc;
        int i;
        if ((rc = parse_key(p, fix_names, FIX_COUNT, last + 1, "fix", &i)) ||
            (rc = key_order(p, fix_names, i, seen, last)))
            return rc;
        int64_t v = 0;
        char src[16];
        if ((rc = no_ws(p, "fix")))
            return rc;
        switch ((enum fix_field)i) {
        case FIX_LAT:
            rc = parse_dec(p, "fix.lat", 8, -EVENT_LAT_E8_MAX, EVENT_LAT_E8_MAX, &f->lat_e8);
            break;
        case FIX_LON:
            rc = parse_dec(p, "fix.lon", 8, -EVENT_LON_E8_MAX, EVENT_LON_E8_MAX, &f->lon_e8);
            break;
        case FIX_EPH:
            rc = parse_dec(p, "fix.eph", 2, 0, EVENT_EPH_CM_MAX, &f->eph_cm);
            f->has_eph = true;
            break;
        case FIX_MODE:
            rc = parse_int(p, "fix.mode", 0, EVENT_MODE_MAX, &v);
            f->mode = (int)v;
            break;
        case FIX_SATS:
            rc = parse_int(p, "fix.sats", 0, EVENT_SATS_MAX, &v);
            f->sats = (int)v;
            f->has_sats = true;
            break;
        case FIX_TIME:
            rc = parse_ts_value(p, "fix.time", &f->time_ms);
            f->has_time = true;
            break;
        case FIX_SOURCE: {
            size_t at = p->pos;
            rc = parse_string(p, "fix.source", src, sizeof src - 1);
            if (rc == RC_OK && event_source_parse(src, &f->source) != RC_OK) {
                p->pos = at;
                rc = perr(p, "fix.source", "must be gnss or surveyed");
            }
            break;
        }
        case FIX_COUNT: break;
        }
        if (rc)
            return rc;
        seen |= UINT32_C(1) << i;
        last = i;
    }
    for (int i = 0; i < FIX_COUNT; i++)
        if ((FIX_REQUIRED & (1u << i)) && !(seen & (1u << i)))
            return perr(p, "fix", "missing \"%s\"", fix_names[i]);
    p->pos++; /* the '}' */
    return RC_OK;
}

/* Reads a string value into a fixed char array. */
#define STR_INTO(field) parse_string(p, name, field, sizeof field - 1)

static int parse_field(struct parser *p, int f, struct event *ev)
{
    const char *name = field_names[f];
    char tmp[24]; /* the longest type or verdict name ("rollcall_confirm") and more */
    size_t at = p->pos;
    int rc = no_ws(p, name);
    if (rc)
        return rc;
    switch ((enum event_field)f) {
    case EVENT_F_ID: return STR_INTO(ev->id);
    case EVENT_F_DEVICE: return STR_INTO(ev->device);
    case EVENT_F_SEQ: return parse_int(p, name, 1, EVENT_INT_MAX, &ev->seq);
    case EVENT_F_PREV: return STR_INTO(ev->prev);
    case EVENT_F_TYPE:
        if ((rc = STR_INTO(tmp)))
            return rc;
        if (event_type_parse(tmp, &ev->type)) {
            p->pos = at;
            return perr(p, name, "unknown event type");
        }
        return RC_OK;
    case EVENT_F_TS: return parse_ts_value(p, name, &ev->ts_ms);
    case EVENT_F_BOOT: return STR_INTO(ev->boot);
    case EVENT_F_MONO_MS: return parse_int(p, name, 0, EVENT_INT_MAX, &ev->mono_ms);
    case EVENT_F_TRAINEE: return STR_INTO(ev->trainee);
    case EVENT_F_TRAINEE_MASKED: return STR_INTO(ev->trainee_masked);
    case EVENT_F_CLASS: return STR_INTO(ev->class_id);
    case EVENT_F_SESSION: return STR_INTO(ev->session);
    case EVENT_F_ROLLCALL: return STR_INTO(ev->rollcall);
    case EVENT_F_FIX: return parse_fix(p, &ev->fix);
    case EVENT_F_FENCE: return STR_INTO(ev->fence);
    case EVENT_F_VERDICT:
        if ((rc = STR_INTO(tmp)))
            return rc;
        if (event_verdict_parse(tmp, &ev->verdict)) {
            p->pos = at;
            return perr(p, name, "must be inside, outside, uncertain or no_fix");
        }
        return RC_OK;
    case EVENT_F_DISTANCE_M:
        return parse_dec(p, name, 3, -EVENT_DISTANCE_MM_MAX, EVENT_DISTANCE_MM_MAX,
                         &ev->distance_mm);
    case EVENT_F_OVERRIDE: return STR_INTO(ev->override_check);
    case EVENT_F_PHOTO_SHA256: return STR_INTO(ev->photo_sha256);
    case EVENT_F_NO_PHOTO: return STR_INTO(ev->no_photo);
    case EVENT_F_CAMERA: return STR_INTO(ev->camera);
    case EVENT_F_FILE: return STR_INTO(ev->file);
    case EVENT_F_BYTES: return parse_int(p, name, 0, EVENT_INT_MAX, &ev->bytes);
    case EVENT_F_SHA256: return STR_INTO(ev->sha256);
    case EVENT_F_START: return parse_ts_value(p, name, &ev->start_ms);
    case EVENT_F_END: return parse_ts_value(p, name, &ev->end_ms);
    case EVENT_F_KIND: return STR_INTO(ev->kind);
    case EVENT_F_DETAIL: return STR_INTO(ev->detail);
    case EVENT_F_SKEW_MS: return parse_int(p, name, -EVENT_INT_MAX, EVENT_INT_MAX, &ev->skew_ms);
    case EVENT_F_QUEUE: return parse_int(p, name, 0, EVENT_INT_MAX, &ev->queue);
    case EVENT_F_COUNT: break;
    }
    return perr(p, name, "internal: no parser");
}

static int parse_object(struct parser *p, struct event *ev)
{
    int rc = expect(p, NULL, '{');
    if (rc)
        return rc;
    uint32_t seen = 0;
    int last = -1;
    for (;;) {
        if (p->pos < p->len && p->s[p->pos] == '}')
            break;
        if (seen && (rc = expect(p, NULL, ',')))
            return rc;
        int f;
        if ((rc = parse_key(p, field_names, EVENT_F_COUNT, last + 1, "", &f)) ||
            (rc = key_order(p, field_names, f, seen, last)) || (rc = parse_field(p, f, ev)))
            return rc;
        seen |= EVENT_HAS(f);
        last = f;
    }
    p->pos++; /* the '}' */
    for (int f = 0; f < EVENT_F_TRAINEE; f++)
        if (!(seen & EVENT_HAS(f)))
            return rc_fail(p->err, RC_INVAL, "\"%s\": missing", field_names[f]);
    if (p->pos != p->len)
        return perr(p, NULL, "bytes after the object");
    ev->has = seen;
    return RC_OK;
}

int event_parse(const char *line, size_t len, struct event *ev, char *err)
{
    int rc;
    char again[EVENT_LINE_MAX + 1];
    memset(ev, 0, sizeof *ev);
    if (len > EVENT_LINE_MAX) {
        rc = rc_fail(err, RC_LIMIT, "line of %zu bytes exceeds %d", len, EVENT_LINE_MAX);
        goto out;
    }
    if (len == 0) {
        rc = rc_fail(err, RC_INVAL, "empty line");
        goto out;
    }
    struct parser p = {.s = line, .len = len, .pos = 0, .err = err};
    if ((rc = parse_object(&p, ev)) || (rc = event_validate(ev, err)))
        goto out;
    /* The recogniser only accepts canonical spellings, so this holds by construction; checking
     * it keeps the promise serialise(parse(b)) == b even if the two ever drift apart. */
    size_t n = 0;
    struct out o = {.buf = again, .cap = EVENT_LINE_MAX};
    write_event(&o, ev);
    n = o.len;
    if (o.over || n != len || memcmp(again, line, len) != 0) {
        size_t at = 0;
        while (at < n && at < len && again[at] == line[at])
            at++;
        int key = -1;
        for (int f = 0; f < EVENT_F_COUNT; f++)
            if (((ev->has | BASE_FIELDS) & EVENT_HAS(f)) && o.at[f] <= at)
                key = f;
        rc = rc_fail(err, RC_INVAL, "not canonical at byte %zu (in \"%s\")", at,
                     key >= 0 ? field_names[key] : "?");
        goto out;
    }
    rc = RC_OK;
out:
    if (rc)
        memset(ev, 0, sizeof *ev);
    return rc;
}

int event_parse_stored(const char *line, size_t len, struct event *ev, char *err)
{
    int rc;
    memset(ev, 0, sizeof *ev);
    if (len > EVENT_LINE_MAX)
        rc = rc_fail(err, RC_LIMIT, "line of %zu bytes exceeds %d", len, EVENT_LINE_MAX);
    else if (len == 0)
        rc = rc_fail(err, RC_INVAL, "empty line");
    else {
        struct parser p = {.s = line, .len = len, .pos = 0, .err = err};
        if ((rc = parse_object(&p, ev)) == RC_OK)
            rc = event_validate(ev, err);
    }
    if (rc)
        memset(ev, 0, sizeof *ev);
    return rc;
}

/* ---------- helpers for producers ---------- */

int event_decimal(double v, int digits, int64_t *out)
{
    if (digits < 0 || digits > 9 || !isfinite(v))
        return RC_INVAL;
    double scaled = v * (double)pow10_table[digits];
    if (!(fabs(scaled) <= (double)EVENT_INT_MAX))
        return RC_INVAL;
    *out = (int64_t)llround(scaled);
    return RC_OK;
}

void event_hash_hex(const char *line, size_t len, char out[EVENT_HEX_LEN + 1])
{
    crypto_sha256_hex(line, len, out);
}

/* ---------- hash chain ---------- */

void event_chain_init(struct event_chain *c)
{
    c->seq = 0;
    memcpy(c->head, genesis, sizeof c->head);
    c->device[0] = '\0';
}

int event_chain_resume(struct event_chain *c, const char *device, int64_t seq, const char *head,
                       char *err)
{
    if (!device || !is_name(device))
        return rc_fail(err, RC_INVAL, "device must be 1..64 of [A-Za-z0-9._-]");
    if (seq < 0 || seq > EVENT_INT_MAX)
        return rc_fail(err, RC_INVAL, "seq %lld out of range", (long long)seq);
    if (!head || !is_hex64(head))
        return rc_fail(err, RC_INVAL, "head must be 64 lower-case hex digits");
    if ((seq == 0) != (strcmp(head, genesis) == 0))
        return rc_fail(err, RC_INVAL, "head must be 64 zeros exactly when seq is 0");
    c->seq = seq;
    memcpy(c->head, head, sizeof c->head);
    snprintf(c->device, sizeof c->device, "%s", device);
    return RC_OK;
}

int event_chain_step(struct event_chain *c, const char *line, size_t len, struct event *ev,
                     char *err)
{
    struct event local;
    if (!ev)
        ev = &local;
    int rc = event_parse(line, len, ev, err);
    if (rc)
        return rc;
    if (c->device[0] && strcmp(ev->device, c->device) != 0)
        return rc_fail(err, RC_CONFLICT, "device %s in a chain of device %s", ev->device,
                       c->device);
    if (ev->seq != c->seq + 1)
        return rc_fail(err, RC_CONFLICT, "seq %lld where %lld was expected", (long long)ev->seq,
                       (long long)(c->seq + 1));
    if (strcmp(ev->prev, c->head) != 0)
        return rc_fail(err, RC_CONFLICT, "prev of seq %lld is not the hash of seq %lld",
                       (long long)ev->seq, (long long)c->seq);
    event_hash_hex(line, len, c->head);
    c->seq = ev->seq;
    if (!c->device[0])
        snprintf(c->device, sizeof c->device, "%s", ev->device);
    return RC_OK;
}

int event_chain_verify(struct event_chain *c, const char *ndjson, size_t len, size_t *count,
                       struct event_chain_break *brk, char *err)
{
    size_t pos = 0, lineno = 0;
    int rc = RC_OK;
    *count = 0;
    while (pos < len) {
        const char *nl = memchr(ndjson + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - ndjson) : len;
        char why[ERR_LEN] = "";
        lineno++;
        if (lineno > EVENT_NDJSON_MAX_LINES) {
            rc = rc_fail(why, RC_LIMIT, "more than %d lines", EVENT_NDJSON_MAX_LINES);
        } else if (end == pos) {
            rc = rc_fail(why, RC_INVAL, "empty line");
        } else {
            rc = event_chain_step(c, ndjson + pos, end - pos, NULL, why);
        }
        if (rc) {
            if (brk) {
                brk->line = lineno;
                brk->seq = c->seq + 1;
            }
            rc_fail(err, rc, "line %zu (seq %lld expected): %s", lineno, (long long)(c->seq + 1),
                    why);
            return rc;
        }
        (*count)++;
        pos = end + 1;
    }
    return RC_OK;
}
