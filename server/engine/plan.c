/* Import of class plans, online records and assessments (see plan.h and docs/IMPORTS.md).
 *
 * Both formats go through the same path: a JSON object, or a CSV row turned into a JSON object
 * by its column names, is loaded by cfgmap into a "raw" struct (strings as written), then
 * checked and converted into the public structs. Identity numbers never enter cfgmap: they
 * are taken out of the JSON tree (or CSV row) into buffers this module wipes. */
#include "engine/plan.h"

#include "cfgmap.h"
#include "jsonin.h"
#include "rc.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <mbedtls/platform_util.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    WHERE_LEN = 160,
    RAW_ID_LEN = TRAINEE_ID_LEN + 1, /* buffer for a clear id_number (+1: detect too long) */
};

/* ---- raw structs, as loaded by cfgmap -------------------------------------------------- */

struct raw_header {
    char id[PLAN_ID_MAX + 1];
    char institution[PLAN_ID_MAX + 1];
    char district[PLAN_DISTRICT_LEN + 1];
    char occupation[CATALOGUE_CODE_MAX + 1];
    int level;
    char applied_on[TS_DATE_LEN + 1];
    int64_t rollcalls;
    int64_t rollcall_window_min;
};

struct raw_session {
    char id[PLAN_ID_MAX + 1];
    char start[TS_RFC3339_MAX + 1];
    char end[TS_RFC3339_MAX + 1];
    int mode;
    char fence[PLAN_ID_MAX + 1];
};

struct raw_trainee {
    char name[PLAN_NAME_MAX + 1];
    bool student;
};

struct raw_plan {
    struct raw_header h;
    size_t n_sessions;
    struct raw_session sessions[PLAN_SESSIONS_MAX];
    size_t n_roster;
    struct raw_trainee roster[PLAN_ROSTER_MAX];
};

/* Where each element came from, and the clear id numbers (wiped after use). */
struct raw_extra {
    unsigned header_line;
    unsigned session_line[PLAN_SESSIONS_MAX];
    unsigned roster_line[PLAN_ROSTER_MAX];
    char ids[PLAN_ROSTER_MAX][RAW_ID_LEN + 1];
};

struct raw_online {
    char class_id[PLAN_ID_MAX + 1];
    char start[TS_RFC3339_MAX + 1];
    char end[TS_RFC3339_MAX + 1];
    char platform[PLAN_TEXT_MAX + 1];
};

struct raw_assessment {
    char class_id[PLAN_ID_MAX + 1];
    bool passed;
    char assessed_on[TS_DATE_LEN + 1];
    char certificate[PLAN_TEXT_MAX + 1];
};

/* level: the accepted names; index % 3 is the catalogue level. */
static const char *const level_names[] = {"junior", "intermediate", "senior", "初级",
                                          "中级",   "高级",         NULL};
static const char *const mode_names[] = {"offline", "online", NULL};

static const char *check_district(const char *v)
{
    /* Tianjin's district-level divisions since 2016 (GB/T 2260): 120101..120106 and
     * 120110..120119. */
    static const char *const codes[] = {"120101", "120102", "120103", "120104", "120105", "120106",
                                        "120110", "120111", "120112", "120113", "120114", "120115",
                                        "120116", "120117", "120118", "120119", NULL};
    for (size_t i = 0; codes[i]; i++) {
        if (strcmp(v, codes[i]) == 0)
            return NULL;
    }
    return "a Tianjin district code (120101..120106, 120110..120119)";
}

static const char *check_text(const char *v)
{
    (void)v;
    return NULL;
}

#define HEADER_ENTRIES(ST, P)                                                                      \
    {.key = "id",                                                                                  \
     CFGMAP_F_STRING(ST, P id),                                                                    \
     .required = true,                                                                             \
     .check = cfgmap_check_id,                                                                     \
     .help = "class id"},                                                                          \
        {.key = "institution",                                                                     \
         CFGMAP_F_STRING(ST, P institution),                                                       \
         .required = true,                                                                         \
         .check = cfgmap_check_id,                                                                 \
         .help = "training institution id"},                                                       \
        {.key = "district",                                                                        \
         CFGMAP_F_STRING(ST, P district),                                                          \
         .required = true,                                                                         \
         .check = check_district,                                                                  \
         .help = "district code"},                                                                 \
        {.key = "occupation",                                                                      \
         CFGMAP_F_STRING(ST, P occupation),                                                        \
         .required = true,                                                                         \
         .help = "occupation code in the catalogue"},                                              \
        {.key = "level",                                                                           \
         CFGMAP_F_ENUM(ST, P level, level_names),                                                  \
         .required = true,                                                                         \
         .help = "junior, intermediate or senior"},                                                \
        {.key = "applied_on",                                                                      \
         CFGMAP_F_STRING(ST, P applied_on),                                                        \
         .required = true,                                                                         \
         .help = "date the class was applied for"},                                                \
        {.key = "rollcalls",                                                                       \
         CFGMAP_F_INT(ST, P rollcalls),                                                            \
         .imin = 0,                                                                                \
         .imax = PLAN_ROLLCALLS_MAX,                                                               \
         .idef = 0,                                                                                \
         .help = "random roll-calls per offline session"},                                         \
    {                                                                                              \
        .key = "rollcall_window_min", CFGMAP_F_INT(ST, P rollcall_window_min), .imin = 1,          \
        .imax = PLAN_ROLLCALL_WINDOW_MAX_MIN, .idef = PLAN_ROLLCALL_WINDOW_DEFAULT_MIN,            \
        .unit = "min", .help = "minutes to confirm a roll-call"                                    \
    }

static const struct cfgmap_entry header_entries[] = {
    HEADER_ENTRIES(struct raw_header, ),
    {.key = NULL},
};
static const struct cfgmap_table header_table = {header_entries, sizeof(struct raw_header)};

static const struct cfgmap_entry session_entries[] = {
    {.key = "id",
     CFGMAP_F_STRING(struct raw_session, id),
     .required = true,
     .check = cfgmap_check_id,
     .help = "session id"},
    {.key = "start",
     CFGMAP_F_STRING(struct raw_session, start),
     .required = true,
     .help = "RFC 3339 start"},
    {.key = "end", CFGMAP_F_STRING(struct raw_session, end), .required = true, .help = "end"},
    {.key = "mode",
     CFGMAP_F_ENUM(struct raw_session, mode, mode_names),
     .required = true,
     .help = "offline or online"},
    {.key = "fence",
     CFGMAP_F_STRING(struct raw_session, fence),
     .check = cfgmap_check_id,
     .help = "venue fence id (offline)"},
    {.key = NULL},
};
static const struct cfgmap_table session_table = {session_entries, sizeof(struct raw_session)};

static const struct cfgmap_entry trainee_entries[] = {
    {.key = "name",
     CFGMAP_F_STRING(struct raw_trainee, name),
     .required = true,
     .check = check_text,
     .help = "name"},
    {.key = "student",
     CFGMAP_F_BOOL(struct raw_trainee, student),
     .bdef = false,
     .help = "full-time student"},
    {.key = NULL},
};
static const struct cfgmap_table trainee_table = {trainee_entries, sizeof(struct raw_trainee)};

static const struct cfgmap_entry plan_entries[] = {
    HEADER_ENTRIES(struct raw_plan, h.),
    {.key = "sessions",
     CFGMAP_F_ARRAY(struct raw_plan, sessions, n_sessions, &session_table),
     .required = true,
     .help = "sessions"},
    {.key = "roster",
     CFGMAP_F_ARRAY(struct raw_plan, roster, n_roster, &trainee_table),
     .required = true,
     .help = "trainees"},
    {.key = NULL},
};
static const struct cfgmap_table plan_table = {plan_entries, sizeof(struct raw_plan)};

static const struct cfgmap_entry online_entries[] = {
    {.key = "class",
     CFGMAP_F_STRING(struct raw_online, class_id),
     .required = true,
     .check = cfgmap_check_id,
     .help = "class id"},
    {.key = "start", CFGMAP_F_STRING(struct raw_online, start), .required = true, .help = "start"},
    {.key = "end", CFGMAP_F_STRING(struct raw_online, end), .required = true, .help = "end"},
    {.key = "platform", CFGMAP_F_STRING(struct raw_online, platform), .help = "platform"},
    {.key = NULL},
};
static const struct cfgmap_table online_table = {online_entries, sizeof(struct raw_online)};

static const struct cfgmap_entry assessment_entries[] = {
    {.key = "class",
     CFGMAP_F_STRING(struct raw_assessment, class_id),
     .required = true,
     .check = cfgmap_check_id,
     .help = "class id"},
    {.key = "passed",
     CFGMAP_F_BOOL(struct raw_assessment, passed),
     .required = true,
     .help = "passed"},
    {.key = "assessed_on",
     CFGMAP_F_STRING(struct raw_assessment, assessed_on),
     .required = true,
     .help = "date"},
    {.key = "certificate",
     CFGMAP_F_STRING(struct raw_assessment, certificate),
     .help = "certificate number"},
    {.key = NULL},
};
static const struct cfgmap_table assessment_table = {assessment_entries,
                                                     sizeof(struct raw_assessment)};

/* ---- helpers --------------------------------------------------------------------------- */

static void wipe(void *p, size_t n)
{
    if (p)
        mbedtls_platform_zeroize(p, n);
}

/* Zeroes every string of a cJSON tree before it is freed (id numbers live there). */
static void wipe_json(cJSON *j)
{
    for (; j; j = j->next) {
        if (j->valuestring)
            wipe(j->valuestring, strlen(j->valuestring));
        if (j->string)
            wipe(j->string, strlen(j->string));
        wipe_json(j->child);
    }
}

static void delete_json(cJSON *j)
{
    wipe_json(j);
    cJSON_Delete(j);
}

/* Location of an element for messages: "FILE: line N" (CSV) or "FILE: $[k].arr[i]". */
struct src {
    const char *origin;
    bool csv;
    bool array; /* JSON: the file is an array */
};

static void where_json(char out[WHERE_LEN], const struct src *s, size_t k, const char *arr,
                       size_t i)
{
    char top[32] = "$";
    if (s->array)
        snprintf(top, sizeof top, "$[%zu]", k);
    if (arr)
        snprintf(out, WHERE_LEN, "%s: %s.%s[%zu]", s->origin, top, arr, i);
    else
        snprintf(out, WHERE_LEN, "%s: %s", s->origin, top);
}

static void where_line(char out[WHERE_LEN], const struct src *s, unsigned line)
{
    snprintf(out, WHERE_LEN, "%s: line %u", s->origin, line);
}

static void where_of(char out[WHERE_LEN], const struct src *s, size_t k, const char *arr, size_t i,
                     unsigned line)
{
    if (s->csv)
        where_line(out, s, line);
    else
        where_json(out, s, k, arr, i);
}

static int field_fail(char *err, const char *where, bool csv, const char *field, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));
static int field_fail(char *err, const char *where, bool csv, const char *field, const char *fmt,
                      ...)
{
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!field)
        return rc_fail(err, RC_INVAL, "%s: %s", where, msg);
    return rc_fail(err, RC_INVAL, "%s%s%s: %s", where, csv ? ": column " : ".", field, msg);
}

static int parse_time(const char *s, int64_t *ms, const char *where, bool csv, const char *field,
                      char *err)
{
    char why[ERR_LEN];
    if (ts_parse_rfc3339(s, ms, why) != RC_OK)
        return field_fail(err, where, csv, field, "%s", why);
    if (*ms < PLAN_TIME_MIN_MS)
        return field_fail(err, where, csv, field, "before 2000-01-01");
    return RC_OK;
}

static int parse_date(const char *s, int64_t *ms, const char *where, bool csv, const char *field,
                      char *err)
{
    char why[ERR_LEN];
    if (ts_parse_date(s, ms, why) != RC_OK)
        return field_fail(err, where, csv, field, "%s", why);
    if (*ms < PLAN_TIME_MIN_MS)
        return field_fail(err, where, csv, field, "before 2000-01-01");
    return RC_OK;
}

/* Pseudonym and masked form of a clear number, then wipes it. */
static int pseudonymise_city(char id[RAW_ID_LEN + 1], const uint8_t *key, size_t keylen, time_t now,
                             char pseud[TRAINEE_PSEUDONYM_LEN + 1], char masked[TRAINEE_ID_LEN + 1],
                             const uint8_t *city_key, size_t city_keylen,
                             char city[TRAINEE_PSEUDONYM_LEN + 1], const char *where, bool csv,
                             char *err);

static int pseudonymise(char id[RAW_ID_LEN + 1], const uint8_t *key, size_t keylen, time_t now,
                        char pseud[TRAINEE_PSEUDONYM_LEN + 1], char masked[TRAINEE_ID_LEN + 1],
                        const char *where, bool csv, char *err)
{
    return pseudonymise_city(id, key, keylen, now, pseud, masked, NULL, 0, NULL, where, csv, err);
}

/* As pseudonymise, and the city-wide pseudonym under city_key when given. */
static int pseudonymise_city(char id[RAW_ID_LEN + 1], const uint8_t *key, size_t keylen, time_t now,
                             char pseud[TRAINEE_PSEUDONYM_LEN + 1], char masked[TRAINEE_ID_LEN + 1],
                             const uint8_t *city_key, size_t city_keylen,
                             char city[TRAINEE_PSEUDONYM_LEN + 1], const char *where, bool csv,
                             char *err)
{
    char norm[TRAINEE_ID_LEN + 1];
    char why[ERR_LEN];
    int rc = RC_OK;
    if (id[0] == '\0') {
        rc = field_fail(err, where, csv, "id_number", "missing");
        goto out;
    }
    if (trainee_id_normalise(id, now, norm, why) != RC_OK ||
        trainee_pseudonym(key, keylen, norm, pseud, why) != RC_OK ||
        (city_key && trainee_pseudonym(city_key, city_keylen, norm, city, why) != RC_OK) ||
        trainee_mask(norm, masked, why) != RC_OK) {
        rc = field_fail(err, where, csv, "id_number", "%s", why);
        goto out;
    }
out:
    wipe(norm, sizeof norm);
    wipe(id, RAW_ID_LEN + 1);
    return rc;
}

/* Takes obj's "id_number" (a string) out of the tree into id; absent gives "". */
static int take_id_number(cJSON *obj, char id[RAW_ID_LEN + 1], const char *where, char *err)
{
    id[0] = '\0';
    if (!cJSON_IsObject(obj))
        return RC_OK; /* cfgmap refuses it with its path */
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(obj, "id_number");
    if (!v)
        return RC_OK;
    int rc = RC_OK;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > RAW_ID_LEN)
        rc = field_fail(err, where, false, "id_number", "expected a string of 18 characters");
    else
        snprintf(id, RAW_ID_LEN + 1, "%s", v->valuestring);
    delete_json(v);
    return rc;
}

static int get_key(const struct plan_keys *keys, const char *institution, const char *class_id,
                   const uint8_t **key, size_t *keylen, const char *where, char *err)
{
    if (!keys || !keys->lookup ||
        keys->lookup(keys->arg, institution, class_id, key, keylen) != 0 || !*key ||
        *keylen < TRAINEE_KEY_MIN) {
        if (institution)
            return rc_fail(err, RC_INVAL, "%s: no pseudonym key for institution %s", where,
                           institution);
        return rc_fail(err, RC_INVAL, "%s: no pseudonym key for the institution of class %s", where,
                       class_id);
    }
    return RC_OK;
}

/* ---- text decoding ----------------------------------------------------------------------- */

static int from_gb18030(const char *in, size_t len, const char *origin, char **out, size_t *outlen,
                        char *err)
{
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1)
        return rc_fail(err, RC_INVAL, "%s: GB18030 conversion is not available", origin);
    int rc = RC_OK;
    size_t cap = len * 2 + 16; /* a GB18030 character of n bytes is at most 2n UTF-8 bytes */
    char *buf = malloc(cap);
    if (!buf) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
        goto out;
    }
    char *ip = (char *)(uintptr_t)in; /* iconv's prototype is not const-correct */
    size_t il = len, ol = cap - 1;
    char *op = buf;
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
        rc = rc_fail(err, RC_INVAL, "%s: byte %zu: the file is neither UTF-8 nor GB18030 (%s)",
                     origin, (size_t)(ip - in),
                     errno == EINVAL ? "truncated character" : "invalid bytes");
        wipe(buf, cap);
        free(buf);
        goto out;
    }
    *op = '\0';
    *out = buf;
    *outlen = (size_t)(op - buf);
out:
    iconv_close(cd);
    return rc;
}

int plan_decode_text(const char *data, size_t len, const char *origin, bool allow_gb18030,
                     char **out, size_t *outlen, char *err)
{
    if (len > PLAN_FILE_MAX)
        return rc_fail(err, RC_LIMIT, "%s: larger than %d bytes", origin, PLAN_FILE_MAX);
    if (len >= 2 && ((unsigned char)data[0] == 0xff && (unsigned char)data[1] == 0xfe))
        return rc_fail(err, RC_INVAL, "%s: UTF-16 text is not accepted (save as UTF-8 or GB18030)",
                       origin);
    if (len >= 2 && ((unsigned char)data[0] == 0xfe && (unsigned char)data[1] == 0xff))
        return rc_fail(err, RC_INVAL, "%s: UTF-16 text is not accepted (save as UTF-8 or GB18030)",
                       origin);
    const char *nul = memchr(data, '\0', len);
    if (nul)
        return rc_fail(err, RC_INVAL, "%s: byte %zu: NUL byte", origin, (size_t)(nul - data));
    bool bom = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0;
    if (bom) {
        data += 3;
        len -= 3;
    }
    size_t bad = 0;
    if (utf8_valid(data, len, &bad)) {
        char *buf = malloc(len + 1);
        if (!buf)
            return rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
        memcpy(buf, data, len);
        buf[len] = '\0';
        *out = buf;
        *outlen = len;
        return RC_OK;
    }
    if (bom || !allow_gb18030)
        return rc_fail(err, RC_INVAL, "%s: byte %zu: not valid UTF-8", origin, bad + (bom ? 3 : 0));
    int rc = from_gb18030(data, len, origin, out, outlen, err);
    /* What the conversion produced passes the same validator as UTF-8 input. */
    if (rc == RC_OK && !utf8_valid(*out, *outlen, &bad)) {
        rc = rc_fail(err, RC_INVAL, "%s: byte %zu after GB18030 conversion: not valid UTF-8",
                     origin, bad);
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- CSV reader (RFC 4180; fields may be quoted; CRLF or LF) --------------------------- */

struct csv {
    const char *p, *end;
    unsigned line; /* line of the next character */
    const char *origin;
};

struct csv_row {
    unsigned line; /* where the record starts */
    size_t n;
    char *f[PLAN_CSV_FIELDS_MAX];
    char buf[PLAN_CSV_RECORD_MAX + PLAN_CSV_FIELDS_MAX];
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads one record. Returns 1 with a row, 0 at the end, or a negative rc. */
static int csv_next(struct csv *c, struct csv_row *r, char *err)
{
    if (c->p >= c->end)
        return 0;
    r->line = c->line;
    r->n = 0;
    size_t used = 0;
    for (;;) {
        if (r->n == PLAN_CSV_FIELDS_MAX)
            return rc_fail(err, RC_LIMIT, "%s: line %u: more than %d fields", c->origin, r->line,
                           PLAN_CSV_FIELDS_MAX);
        r->f[r->n++] = r->buf + used;
        size_t start = used;
        bool quoted = false;
        while (c->p < c->end && is_blank(*c->p))
            c->p++;
        if (c->p < c->end && *c->p == '"') {
            quoted = true;
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return rc_fail(err, RC_INVAL, "%s: line %u: unterminated quoted field",
                                   c->origin, r->line);
                char ch = *c->p++;
                if (ch == '"') {
                    if (c->p < c->end && *c->p == '"') {
                        c->p++;
                    } else {
                        break;
                    }
                }
                if (ch == '\n')
                    c->line++;
                if (used >= PLAN_CSV_RECORD_MAX)
                    return rc_fail(err, RC_LIMIT, "%s: line %u: record longer than %d bytes",
                                   c->origin, r->line, PLAN_CSV_RECORD_MAX);
                r->buf[used++] = ch;
            }
            while (c->p < c->end && is_blank(*c->p))
                c->p++;
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
                if (*c->p == '"')
                    return rc_fail(err, RC_INVAL, "%s: line %u: quote inside an unquoted field",
                                   c->origin, c->line);
                if (used >= PLAN_CSV_RECORD_MAX)
                    return rc_fail(err, RC_LIMIT, "%s: line %u: record longer than %d bytes",
                                   c->origin, r->line, PLAN_CSV_RECORD_MAX);
                r->buf[used++] = *c->p++;
            }
            while (used > start && is_blank(r->buf[used - 1]))
                used--;
        }
        r->buf[used++] = '\0';
        if (c->p >= c->end)
            return 1;
        char ch = *c->p++;
        if (ch == ',')
            continue;
        if (ch == '\r' && c->p < c->end && *c->p == '\n')
            c->p++;
        if (ch == '\r' || ch == '\n') {
            c->line++;
            return 1;
        }
        (void)quoted;
        return rc_fail(err, RC_INVAL, "%s: line %u: text after a closing quote", c->origin,
                       c->line);
    }
}

static bool row_empty(const struct csv_row *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->f[i][0])
            return false;
    }
    return true;
}

/* A copy of s for an error message: control characters become '?', at most n - 1 bytes. */
static void printable(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    out[i] = '\0';
}

struct csv_header {
    size_t n;
    char names[PLAN_CSV_FIELDS_MAX][32];
};

/* Reads the header row: known column names, each once; required ones present. */
static int csv_header(struct csv *c, struct csv_row *r, struct csv_header *h,
                      const char *const *known, const char *const *required, char *err)
{
    int got;
    do {
        got = csv_next(c, r, err);
        if (got < 0)
            return got;
        if (got == 0)
            return rc_fail(err, RC_INVAL, "%s: empty file (no header row)", c->origin);
    } while (row_empty(r));
    h->n = r->n;
    for (size_t i = 0; i < r->n; i++) {
        size_t k;
        for (k = 0; known[k]; k++) {
            if (strcmp(r->f[i], known[k]) == 0)
                break;
        }
        if (!known[k]) {
            char shown[41];
            printable(r->f[i], shown, sizeof shown);
            return rc_fail(err, RC_INVAL, "%s: line %u: unknown column '%s'", c->origin, r->line,
                           shown);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(h->names[j], r->f[i]) == 0)
                return rc_fail(err, RC_INVAL, "%s: line %u: column '%s' appears twice", c->origin,
                               r->line, r->f[i]);
        }
        snprintf(h->names[i], sizeof h->names[i], "%s", r->f[i]);
    }
    for (size_t k = 0; required[k]; k++) {
        size_t i;
        for (i = 0; i < h->n; i++) {
            if (strcmp(h->names[i], required[k]) == 0)
                break;
        }
        if (i == h->n)
            return rc_fail(err, RC_INVAL, "%s: line %u: missing column '%s'", c->origin, r->line,
                           required[k]);
    }
    return RC_OK;
}

/* Next data row (skipping empty ones) with as many fields as the header. 1, 0 or rc. */
static int csv_data(struct csv *c, struct csv_row *r, const struct csv_header *h, char *err)
{
    int got;
    do {
        got = csv_next(c, r, err);
        if (got <= 0)
            return got;
    } while (row_empty(r));
    if (r->n != h->n)
        return rc_fail(err, RC_INVAL, "%s: line %u: %zu fields, the header has %zu", c->origin,
                       r->line, r->n, h->n);
    return 1;
}

static const char *cell(const struct csv_row *r, const struct csv_header *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->names[i], name) == 0)
            return r->f[i];
    }
    return "";
}

/* true/false spellings a spreadsheet may hold. */
static int parse_bool(const char *s, bool *v)
{
    static const char *const yes[] = {"true", "TRUE", "True", "yes", "1", "是", NULL};
    static const char *const no[] = {"false", "FALSE", "False", "no", "0", "否", NULL};
    for (size_t i = 0; yes[i]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *v = true;
            return RC_OK;
        }
    }
    for (size_t i = 0; no[i]; i++) {
        if (strcmp(s, no[i]) == 0) {
            *v = false;
            return RC_OK;
        }
    }
    return RC_INVAL;
}

/* A column of a row and the JSON key it fills. */
struct colmap {
    const char *column, *key;
    bool boolean;
};

/* The columns holding a whole number: the cell's digits become a JSON number. */
static bool integer_column(const char *column)
{
    return strcmp(column, "rollcalls") == 0 || strcmp(column, "rollcall_window_min") == 0;
}

/* Builds the JSON object of a CSV row from the columns in map (empty cells are absent). */
static int row_object(const struct csv_row *r, const struct csv_header *h, const struct colmap *map,
                      const char *where, cJSON **out, char *err)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return rc_fail(err, RC_NOMEM, "out of memory");
    for (const struct colmap *m = map; m->column; m++) {
        const char *v = cell(r, h, m->column);
        if (!*v)
            continue;
        cJSON *item;
        if (m->boolean) {
            bool b;
            if (parse_bool(v, &b) != RC_OK) {
                delete_json(o);
                return field_fail(err, where, true, m->column,
                                  "expected true or false (or 1/0, yes/no, 是/否)");
            }
            item = cJSON_CreateBool(b);
        } else if (integer_column(m->column)) {
            char *end = NULL;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno || end == v || *end || n < 0 || n > 1000000) {
                delete_json(o);
                return field_fail(err, where, true, m->column, "expected a whole number");
            }
            item = cJSON_CreateNumber((double)n);
        } else {
            item = cJSON_CreateString(v);
        }
        if (!item || !cJSON_AddItemToObject(o, m->key, item)) {
            cJSON_Delete(item);
            delete_json(o);
            return rc_fail(err, RC_NOMEM, "out of memory");
        }
    }
    *out = o;
    return RC_OK;
}

/* Rewrites cfgmap's "$.key" in err into "column COLUMN" for a CSV row. */
static void csv_err_fix(char *err, const struct colmap *map)
{
    char *p = strstr(err, ": $.");
    if (!p)
        return;
    const char *key = p + 4;
    size_t klen = strcspn(key, ":[.");
    const char *column = NULL;
    for (const struct colmap *m = map; m->column; m++) {
        if (strlen(m->key) == klen && strncmp(m->key, key, klen) == 0)
            column = m->column;
    }
    if (!column)
        return;
    char tail[ERR_LEN];
    snprintf(tail, sizeof tail, "%s", key + klen);
    snprintf(p, ERR_LEN - (size_t)(p - err), ": column %s%s", column, tail);
}

/* Columns of a row that must be empty for its kind. */
static int only_columns(const struct csv_row *r, const struct csv_header *h,
                        const char *const *allowed, const char *kind, const char *where, char *err)
{
    for (size_t i = 0; i < h->n; i++) {
        if (!r->f[i][0])
            continue;
        size_t k;
        for (k = 0; allowed[k]; k++) {
            if (strcmp(h->names[i], allowed[k]) == 0)
                break;
        }
        if (!allowed[k])
            return rc_fail(err, RC_INVAL,
                           "%s: column %s is not used by a '%s' row (leave it empty)", where,
                           h->names[i], kind);
    }
    return RC_OK;
}

/* ---- format detection and JSON top level --------------------------------------------------- */

/* The format of raw import bytes: JSON when the first significant byte (after a UTF-8 BOM)
 * opens an object or array; ASCII is the same in UTF-8 and GB18030. */
static enum plan_format detect(const char *data, size_t len, enum plan_format fmt)
{
    if (fmt != PLAN_FORMAT_AUTO)
        return fmt;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        data += 3;
        len -= 3;
    }
    while (len && (*data == ' ' || *data == '\t' || *data == '\r' || *data == '\n')) {
        data++;
        len--;
    }
    return (len && (*data == '{' || *data == '[')) ? PLAN_FORMAT_JSON : PLAN_FORMAT_CSV;
}

/* Parses JSON text into a tree whose top level is an object or an array of at most max
 * objects; *array says which. */
static int json_top(const char *text, size_t len, const char *origin, size_t max, cJSON **out,
                    bool *array, char *err)
{
    cJSON *root = NULL;
    char why[ERR_LEN];
    int rc = jsonin_parse(text, len, &root, why);
    if (rc != RC_OK)
        return rc_fail(err, rc, "%s: %s", origin, why);
    if (cJSON_IsObject(root)) {
        *array = false;
    } else if (cJSON_IsArray(root)) {
        *array = true;
        int n = cJSON_GetArraySize(root);
        if (n == 0)
            rc = rc_fail(err, RC_INVAL, "%s: $: empty array", origin);
        else if ((size_t)n > max)
            rc = rc_fail(err, RC_LIMIT, "%s: $: more than %zu entries", origin, max);
        size_t i = 0;
        for (cJSON *e = root->child; rc == RC_OK && e; e = e->next, i++) {
            if (!cJSON_IsObject(e))
                rc = rc_fail(err, RC_INVAL, "%s: $[%zu]: expected an object", origin, i);
        }
    } else {
        rc = rc_fail(err, RC_INVAL, "%s: $: expected an object or an array of objects", origin);
    }
    if (rc != RC_OK) {
        delete_json(root);
        return rc;
    }
    *out = root;
    return RC_OK;
}

/* ---- class plans ------------------------------------------------------------------------ */

/* Checks a raw plan and converts it into *p; wipes the clear numbers in x either way. */
static int convert_plan(struct raw_plan *r, struct raw_extra *x, const struct src *s, size_t k,
                        const struct catalogue *cat, const struct plan_keys *keys, struct plan *p,
                        char *err)
{
    char where[WHERE_LEN];
    int rc = RC_OK;
    const uint8_t *key = NULL;
    size_t keylen = 0;
    memset(p, 0, sizeof *p);
    where_of(where, s, k, NULL, 0, x->header_line);

    snprintf(p->id, sizeof p->id, "%s", r->h.id);
    snprintf(p->institution, sizeof p->institution, "%s", r->h.institution);
    snprintf(p->district, sizeof p->district, "%s", r->h.district);
    const struct catalogue_occupation *occ = catalogue_find(cat, r->h.occupation);
    if (!occ) {
        rc = field_fail(err, where, s->csv, "occupation", "%s is not in the subsidy catalogue",
                        r->h.occupation);
        goto out;
    }
    snprintf(p->occupation, sizeof p->occupation, "%s", occ->code);
    p->level = (enum catalogue_level)(r->h.level % CATALOGUE_LEVELS);
    rc = parse_date(r->h.applied_on, &p->applied_on_ms, where, s->csv, "applied_on", err);
    if (rc)
        goto out;
    p->rollcalls = r->h.rollcalls;
    p->rollcall_window_min = r->h.rollcall_window_min;

    if (r->n_sessions == 0) {
        rc = field_fail(err, where, s->csv, s->csv ? NULL : "sessions",
                        "a class needs at least one session");
        goto out;
    }
    for (size_t i = 0; i < r->n_sessions; i++) {
        const struct raw_session *rs = &r->sessions[i];
        struct plan_session *ps = &p->sessions[i];
        where_of(where, s, k, "sessions", i, x->session_line[i]);
        snprintf(ps->id, sizeof ps->id, "%s", rs->id);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->sessions[j].id, ps->id) == 0) {
                rc = field_fail(err, where, s->csv, s->csv ? "session" : "id",
                                "duplicate session id %s", ps->id);
                goto out;
            }
        }
        if ((rc = parse_time(rs->start, &ps->start_ms, where, s->csv, "start", err)) != RC_OK ||
            (rc = parse_time(rs->end, &ps->end_ms, where, s->csv, "end", err)) != RC_OK)
            goto out;
        if (ps->end_ms <= ps->start_ms) {
            rc = field_fail(err, where, s->csv, "end", "not after start");
            goto out;
        }
        if (ps->end_ms - ps->start_ms > PLAN_SESSION_MAX_MS) {
            rc = field_fail(err, where, s->csv, "end", "a session lasts at most 12 hours");
            goto out;
        }
        ps->mode = rs->mode == 1 ? PLAN_ONLINE : PLAN_OFFLINE;
        if (ps->mode == PLAN_OFFLINE && !rs->fence[0]) {
            rc =
                field_fail(err, where, s->csv, "fence", "an offline session needs its venue fence");
            goto out;
        }
        if (ps->mode == PLAN_ONLINE && rs->fence[0]) {
            rc = field_fail(err, where, s->csv, "fence", "an online session has no venue fence");
            goto out;
        }
        snprintf(ps->fence, sizeof ps->fence, "%s", rs->fence);
        /* A roll-call opens at a random time in [start, end - window] (docs/ATTENDANCE.md):
         * the window must fit inside every offline session. */
        if (ps->mode == PLAN_OFFLINE && p->rollcalls > 0 &&
            ps->end_ms - ps->start_ms <= p->rollcall_window_min * 60000) {
            rc = field_fail(err, where, s->csv, "end",
                            "the session is not longer than rollcall_window_min (%" PRId64
                            " minutes): no room for a roll-call",
                            p->rollcall_window_min);
            goto out;
        }
    }
    p->n_sessions = r->n_sessions;
    /* Sort by start (insertion: at most PLAN_SESSIONS_MAX), then refuse overlaps. */
    for (size_t i = 1; i < p->n_sessions; i++) {
        struct plan_session tmp = p->sessions[i];
        size_t j = i;
        while (j > 0 && p->sessions[j - 1].start_ms > tmp.start_ms) {
            p->sessions[j] = p->sessions[j - 1];
            j--;
        }
        p->sessions[j] = tmp;
    }
    for (size_t i = 1; i < p->n_sessions; i++) {
        if (p->sessions[i].start_ms < p->sessions[i - 1].end_ms) {
            where_of(where, s, k, NULL, 0, x->header_line);
            rc = rc_fail(err, RC_INVAL, "%s: sessions %s and %s overlap", where,
                         p->sessions[i - 1].id, p->sessions[i].id);
            goto out;
        }
    }

    where_of(where, s, k, NULL, 0, x->header_line);
    rc = get_key(keys, p->institution, p->id, &key, &keylen, where, err);
    if (rc)
        goto out;
    const uint8_t *city_key = NULL;
    size_t city_keylen = 0;
    if (keys->city && (keys->city(keys->arg, &city_key, &city_keylen) != 0 || !city_key ||
                       city_keylen < TRAINEE_KEY_MIN)) {
        rc = rc_fail(err, RC_INVAL, "%s: no city-wide pseudonym key", where);
        goto out;
    }
    for (size_t i = 0; i < r->n_roster; i++) {
        struct plan_trainee *t = &p->roster[i];
        where_of(where, s, k, "roster", i, x->roster_line[i]);
        rc = pseudonymise_city(x->ids[i], key, keylen, keys->now, t->pseudonym, t->masked, city_key,
                               city_keylen, t->city, where, s->csv, err);
        if (rc)
            goto out;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->roster[j].pseudonym, t->pseudonym) == 0) {
                char other[WHERE_LEN];
                where_of(other, s, k, "roster", j, x->roster_line[j]);
                rc = field_fail(err, where, s->csv, "id_number", "the same person as %s",
                                other + strlen(s->origin) + 2);
                goto out;
            }
        }
        snprintf(t->name, sizeof t->name, "%s", r->roster[i].name);
        t->student = r->roster[i].student;
    }
    p->n_roster = r->n_roster;
out:
    wipe(x->ids, sizeof x->ids);
    return rc;
}

static int plans_json(const char *text, size_t len, const char *origin, const struct catalogue *cat,
                      const struct plan_keys *keys, struct plan **out, size_t *count, char *err)
{
    cJSON *root = NULL;
    struct raw_plan *raw = NULL;
    struct raw_extra *x = NULL;
    struct plan *plans = NULL;
    bool array = false;
    int rc = json_top(text, len, origin, PLAN_FILE_CLASSES_MAX, &root, &array, err);
    if (rc)
        return rc;
    size_t n = array ? (size_t)cJSON_GetArraySize(root) : 1;
    struct src s = {.origin = origin, .csv = false, .array = array};
    raw = malloc(sizeof *raw);
    x = calloc(1, sizeof *x);
    plans = calloc(n, sizeof *plans);
    if (!raw || !x || !plans) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
        goto out;
    }
    size_t k = 0;
    for (cJSON *o = array ? root->child : root; o && rc == RC_OK; o = array ? o->next : NULL, k++) {
        char where[WHERE_LEN], rootpath[32];
        memset(x, 0, sizeof *x);
        cJSON *roster = cJSON_GetObjectItemCaseSensitive(o, "roster");
        if (cJSON_IsArray(roster)) {
            if (cJSON_GetArraySize(roster) > PLAN_ROSTER_MAX) {
                where_json(where, &s, k, NULL, 0);
                rc = rc_fail(err, RC_LIMIT, "%s.roster: more than %d trainees", where,
                             PLAN_ROSTER_MAX);
                break;
            }
            size_t i = 0;
            for (cJSON *t = roster->child; t && rc == RC_OK; t = t->next, i++) {
                where_json(where, &s, k, "roster", i);
                rc = take_id_number(t, x->ids[i], where, err);
            }
            if (rc)
                break;
        }
        snprintf(rootpath, sizeof rootpath, array ? "$[%zu]" : "$", k);
        rc = cfgmap_load_json(&plan_table, o, origin, rootpath, raw, err);
        if (rc)
            break;
        rc = convert_plan(raw, x, &s, k, cat, keys, &plans[k], err);
        if (rc)
            break;
        for (size_t j = 0; j < k; j++) {
            if (strcmp(plans[j].id, plans[k].id) == 0) {
                where_json(where, &s, k, NULL, 0);
                rc = rc_fail(err, RC_INVAL, "%s.id: class %s appears twice", where, plans[k].id);
            }
        }
    }
out:
    if (x)
        wipe(x, sizeof *x);
    free(x);
    free(raw);
    delete_json(root);
    if (rc == RC_OK) {
        *out = plans;
        *count = n;
    } else {
        free(plans);
    }
    return rc;
}

static const char *const class_columns[] = {
    "kind",       "class",     "institution",         "district", "occupation", "level",
    "applied_on", "rollcalls", "rollcall_window_min", "session",  "start",      "end",
    "mode",       "fence",     "id_number",           "name",     "student",    NULL};
static const char *const class_required[] = {"kind", "class", NULL};
static const struct colmap header_map[] = {{"class", "id", false},
                                           {"institution", "institution", false},
                                           {"district", "district", false},
                                           {"occupation", "occupation", false},
                                           {"level", "level", false},
                                           {"applied_on", "applied_on", false},
                                           {"rollcalls", "rollcalls", false},
                                           {"rollcall_window_min", "rollcall_window_min", false},
                                           {NULL, NULL, false}};
static const struct colmap session_map[] = {{"session", "id", false},  {"start", "start", false},
                                            {"end", "end", false},     {"mode", "mode", false},
                                            {"fence", "fence", false}, {NULL, NULL, false}};
static const struct colmap trainee_map[] = {
    {"name", "name", false}, {"student", "student", true}, {NULL, NULL, false}};
static const char *const header_cols[] = {
    "kind",       "class",     "institution",         "district", "occupation", "level",
    "applied_on", "rollcalls", "rollcall_window_min", NULL};
static const char *const session_cols[] = {"kind", "class", "session", "start",
                                           "end",  "mode",  "fence",   NULL};
static const char *const trainee_cols[] = {"kind", "class", "id_number", "name", "student", NULL};

struct csv_class {
    bool has_header;
    struct raw_plan raw;
    struct raw_extra x;
};

/* Loads one row's object into dst with table t (errors in CSV terms). */
static int load_row(const struct cfgmap_table *t, const struct csv_row *row,
                    const struct csv_header *h, const struct colmap *map, const char *origin,
                    void *dst, char *err)
{
    char where[WHERE_LEN];
    cJSON *o = NULL;
    snprintf(where, sizeof where, "%s: line %u", origin, row->line);
    int rc = row_object(row, h, map, where, &o, err);
    if (rc)
        return rc;
    rc = cfgmap_load_json(t, o, where, "$", dst, err);
    if (rc)
        csv_err_fix(err, map);
    delete_json(o);
    return rc;
}

static int plans_csv(const char *text, size_t len, const char *origin, const struct catalogue *cat,
                     const struct plan_keys *keys, struct plan **out, size_t *count, char *err)
{
    struct csv c = {.p = text, .end = text + len, .line = 1, .origin = origin};
    struct csv_row *row = malloc(sizeof *row);
    struct csv_header *h = malloc(sizeof *h);
    struct csv_class **cls = NULL;
    struct plan *plans = NULL;
    size_t n = 0;
    int rc = RC_OK;
    if (!row || !h) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
        goto out;
    }
    rc = csv_header(&c, row, h, class_columns, class_required, err);
    if (rc)
        goto out;
    cls = calloc(PLAN_FILE_CLASSES_MAX, sizeof *cls);
    if (!cls) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
        goto out;
    }
    for (;;) {
        int got = csv_data(&c, row, h, err);
        if (got < 0) {
            rc = got;
            goto out;
        }
        if (got == 0)
            break;
        char where[WHERE_LEN];
        snprintf(where, sizeof where, "%s: line %u", origin, row->line);
        const char *kind = cell(row, h, "kind");
        const char *cid = cell(row, h, "class");
        if (!*cid || cfgmap_check_id(cid)) {
            rc = field_fail(err, where, true, "class", "expected a class id ([A-Za-z0-9._-])");
            goto out;
        }
        size_t k;
        for (k = 0; k < n; k++) {
            if (strcmp(cls[k]->raw.h.id, cid) == 0)
                break;
        }
        if (k == n) {
            if (n == PLAN_FILE_CLASSES_MAX) {
                rc = rc_fail(err, RC_LIMIT, "%s: more than %d classes", where,
                             PLAN_FILE_CLASSES_MAX);
                goto out;
            }
            cls[n] = calloc(1, sizeof **cls);
            if (!cls[n]) {
                rc = rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
                goto out;
            }
            snprintf(cls[n]->raw.h.id, sizeof cls[n]->raw.h.id, "%s", cid);
            n++;
        }
        struct csv_class *cc = cls[k];
        if (strcmp(kind, "class") == 0) {
            if (cc->has_header) {
                rc = rc_fail(err, RC_INVAL, "%s: a second 'class' row for %s (first at line %u)",
                             where, cid, cc->x.header_line);
                goto out;
            }
            if ((rc = only_columns(row, h, header_cols, kind, where, err)) != RC_OK ||
                (rc = load_row(&header_table, row, h, header_map, origin, &cc->raw.h, err)) !=
                    RC_OK)
                goto out;
            cc->has_header = true;
            cc->x.header_line = row->line;
        } else if (strcmp(kind, "session") == 0) {
            if (cc->raw.n_sessions == PLAN_SESSIONS_MAX) {
                rc = rc_fail(err, RC_LIMIT, "%s: more than %d sessions in class %s", where,
                             PLAN_SESSIONS_MAX, cid);
                goto out;
            }
            size_t i = cc->raw.n_sessions;
            if ((rc = only_columns(row, h, session_cols, kind, where, err)) != RC_OK ||
                (rc = load_row(&session_table, row, h, session_map, origin, &cc->raw.sessions[i],
                               err)) != RC_OK)
                goto out;
            cc->x.session_line[i] = row->line;
            cc->raw.n_sessions++;
        } else if (strcmp(kind, "trainee") == 0) {
            if (cc->raw.n_roster == PLAN_ROSTER_MAX) {
                rc = rc_fail(err, RC_LIMIT, "%s: more than %d trainees in class %s", where,
                             PLAN_ROSTER_MAX, cid);
                goto out;
            }
            size_t i = cc->raw.n_roster;
            const char *idn = cell(row, h, "id_number");
            if (strlen(idn) > RAW_ID_LEN) {
                rc = field_fail(err, where, true, "id_number", "expected 18 characters");
                goto out;
            }
            if ((rc = only_columns(row, h, trainee_cols, kind, where, err)) != RC_OK ||
                (rc = load_row(&trainee_table, row, h, trainee_map, origin, &cc->raw.roster[i],
                               err)) != RC_OK)
                goto out;
            snprintf(cc->x.ids[i], sizeof cc->x.ids[i], "%s", idn);
            cc->x.roster_line[i] = row->line;
            cc->raw.n_roster++;
        } else {
            rc = field_fail(err, where, true, "kind", "expected class, session or trainee");
            goto out;
        }
        wipe(row->buf, sizeof row->buf);
    }
    if (n == 0) {
        rc = rc_fail(err, RC_INVAL, "%s: no classes", origin);
        goto out;
    }
    plans = calloc(n, sizeof *plans);
    if (!plans) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
        goto out;
    }
    struct src s = {.origin = origin, .csv = true};
    for (size_t k = 0; k < n; k++) {
        if (!cls[k]->has_header) {
            unsigned line =
                cls[k]->raw.n_sessions ? cls[k]->x.session_line[0] : cls[k]->x.roster_line[0];
            rc = rc_fail(err, RC_INVAL, "%s: line %u: class %s has no 'class' row", origin, line,
                         cls[k]->raw.h.id);
            goto out;
        }
        rc = convert_plan(&cls[k]->raw, &cls[k]->x, &s, k, cat, keys, &plans[k], err);
        if (rc)
            goto out;
    }
out:
    if (cls) {
        for (size_t k = 0; k < n; k++) {
            wipe(cls[k], sizeof *cls[k]);
            free(cls[k]);
        }
    }
    free(cls);
    if (row)
        wipe(row, sizeof *row);
    free(row);
    free(h);
    if (rc == RC_OK) {
        *out = plans;
        *count = n;
    } else {
        free(plans);
    }
    return rc;
}

int plan_import_classes(const char *data, size_t len, const char *origin, enum plan_format fmt,
                        const struct catalogue *cat, const struct plan_keys *keys,
                        struct plan **out, size_t *count, char *err)
{
    char *text = NULL;
    size_t tlen = 0;
    enum plan_format f = detect(data, len, fmt);
    int rc = plan_decode_text(data, len, origin, f == PLAN_FORMAT_CSV, &text, &tlen, err);
    if (rc)
        return rc;
    if (f == PLAN_FORMAT_JSON)
        rc = plans_json(text, tlen, origin, cat, keys, out, count, err);
    else
        rc = plans_csv(text, tlen, origin, cat, keys, out, count, err);
    wipe(text, tlen);
    free(text);
    return rc;
}

/* ---- online records and assessments ------------------------------------------------------ */

enum rec_kind { REC_ONLINE, REC_ASSESSMENT };

static const char *const online_columns[] = {"class", "id_number", "start",
                                             "end",   "platform",  NULL};
static const char *const online_required[] = {"class", "id_number", "start", "end", NULL};
static const struct colmap online_map[] = {{"class", "class", false},
                                           {"start", "start", false},
                                           {"end", "end", false},
                                           {"platform", "platform", false},
                                           {NULL, NULL, false}};
static const char *const assessment_columns[] = {"class",       "id_number",   "passed",
                                                 "assessed_on", "certificate", NULL};
static const char *const assessment_required[] = {"class", "id_number", "passed", "assessed_on",
                                                  NULL};
static const struct colmap assessment_map[] = {{"class", "class", false},
                                               {"passed", "passed", true},
                                               {"assessed_on", "assessed_on", false},
                                               {"certificate", "certificate", false},
                                               {NULL, NULL, false}};

struct recs {
    enum rec_kind kind;
    size_t n, cap;
    void *items; /* struct plan_online or struct plan_assessment */
};

static size_t rec_size(enum rec_kind k)
{
    return k == REC_ONLINE ? sizeof(struct plan_online) : sizeof(struct plan_assessment);
}

/* Converts one loaded raw record (where: its location) and appends it. */
static int rec_add(struct recs *rs, const void *raw, char id[RAW_ID_LEN + 1],
                   const struct plan_keys *keys, const char *where, bool csv, char *err)
{
    int rc = RC_OK;
    if (rs->n == PLAN_RECORDS_MAX) {
        rc = rc_fail(err, RC_LIMIT, "%s: more than %d records", where, PLAN_RECORDS_MAX);
        goto out;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        void *p = realloc(rs->items, cap * rec_size(rs->kind));
        if (!p) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        rs->items = p;
        rs->cap = cap;
    }
    const uint8_t *key = NULL;
    size_t keylen = 0;
    if (rs->kind == REC_ONLINE) {
        const struct raw_online *r = raw;
        struct plan_online *o = (struct plan_online *)rs->items + rs->n;
        memset(o, 0, sizeof *o);
        snprintf(o->class_id, sizeof o->class_id, "%s", r->class_id);
        snprintf(o->platform, sizeof o->platform, "%s", r->platform);
        if ((rc = parse_time(r->start, &o->start_ms, where, csv, "start", err)) != RC_OK ||
            (rc = parse_time(r->end, &o->end_ms, where, csv, "end", err)) != RC_OK)
            goto out;
        if (o->end_ms <= o->start_ms) {
            rc = field_fail(err, where, csv, "end", "not after start");
            goto out;
        }
        if (o->end_ms - o->start_ms > PLAN_RECORD_MAX_MS) {
            rc = field_fail(err, where, csv, "end", "a record spans at most 24 hours");
            goto out;
        }
        if ((rc = get_key(keys, NULL, o->class_id, &key, &keylen, where, err)) != RC_OK ||
            (rc = pseudonymise(id, key, keylen, keys->now, o->trainee, o->masked, where, csv,
                               err)) != RC_OK)
            goto out;
    } else {
        const struct raw_assessment *r = raw;
        struct plan_assessment *a = (struct plan_assessment *)rs->items + rs->n;
        memset(a, 0, sizeof *a);
        snprintf(a->class_id, sizeof a->class_id, "%s", r->class_id);
        a->passed = r->passed;
        if ((rc = parse_date(r->assessed_on, &a->assessed_on_ms, where, csv, "assessed_on", err)) !=
            RC_OK)
            goto out;
        if (a->passed && !r->certificate[0]) {
            rc = field_fail(err, where, csv, "certificate", "a pass needs its certificate number");
            goto out;
        }
        if (!a->passed && r->certificate[0]) {
            rc = field_fail(err, where, csv, "certificate", "a fail has no certificate");
            goto out;
        }
        snprintf(a->certificate, sizeof a->certificate, "%s", r->certificate);
        if ((rc = get_key(keys, NULL, a->class_id, &key, &keylen, where, err)) != RC_OK ||
            (rc = pseudonymise(id, key, keylen, keys->now, a->trainee, a->masked, where, csv,
                               err)) != RC_OK)
            goto out;
        for (size_t j = 0; j < rs->n; j++) {
            const struct plan_assessment *b = (const struct plan_assessment *)rs->items + j;
            if (strcmp(a->class_id, b->class_id) == 0 && strcmp(a->trainee, b->trainee) == 0 &&
                a->assessed_on_ms == b->assessed_on_ms) {
                rc = field_fail(err, where, csv, NULL,
                                "a second result for the same trainee, class and date");
                goto out;
            }
        }
    }
    rs->n++;
out:
    wipe(id, RAW_ID_LEN + 1);
    return rc;
}

static int recs_json(const char *text, size_t len, const char *origin, struct recs *rs,
                     const struct plan_keys *keys, char *err)
{
    cJSON *root = NULL;
    bool array = false;
    int rc = json_top(text, len, origin, PLAN_RECORDS_MAX, &root, &array, err);
    if (rc)
        return rc;
    struct src s = {.origin = origin, .array = array};
    const struct cfgmap_table *t = rs->kind == REC_ONLINE ? &online_table : &assessment_table;
    union {
        struct raw_online o;
        struct raw_assessment a;
    } raw;
    char id[RAW_ID_LEN + 1];
    size_t k = 0;
    for (cJSON *o = array ? root->child : root; o && rc == RC_OK; o = array ? o->next : NULL, k++) {
        char where[WHERE_LEN], rootpath[32];
        where_json(where, &s, k, NULL, 0);
        snprintf(rootpath, sizeof rootpath, array ? "$[%zu]" : "$", k);
        if ((rc = take_id_number(o, id, where, err)) != RC_OK)
            break;
        if ((rc = cfgmap_load_json(t, o, origin, rootpath, &raw, err)) != RC_OK)
            break;
        rc = rec_add(rs, &raw, id, keys, where, false, err);
    }
    wipe(id, sizeof id);
    delete_json(root);
    return rc;
}

static int recs_csv(const char *text, size_t len, const char *origin, struct recs *rs,
                    const struct plan_keys *keys, char *err)
{
    struct csv c = {.p = text, .end = text + len, .line = 1, .origin = origin};
    struct csv_row *row = malloc(sizeof *row);
    struct csv_header *h = malloc(sizeof *h);
    bool online = rs->kind == REC_ONLINE;
    const struct colmap *map = online ? online_map : assessment_map;
    const struct cfgmap_table *t = online ? &online_table : &assessment_table;
    char id[RAW_ID_LEN + 1];
    union {
        struct raw_online o;
        struct raw_assessment a;
    } raw;
    int rc = RC_OK;
    if (!row || !h) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
        goto out;
    }
    rc = csv_header(&c, row, h, online ? online_columns : assessment_columns,
                    online ? online_required : assessment_required, err);
    if (rc)
        goto out;
    for (;;) {
        int got = csv_data(&c, row, h, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        char where[WHERE_LEN];
        snprintf(where, sizeof where, "%s: line %u", origin, row->line);
        const char *idn = cell(row, h, "id_number");
        if (strlen(idn) > RAW_ID_LEN) {
            rc = field_fail(err, where, true, "id_number", "expected 18 characters");
            break;
        }
        snprintf(id, sizeof id, "%s", idn);
        if ((rc = load_row(t, row, h, map, origin, &raw, err)) != RC_OK)
            break;
        if ((rc = rec_add(rs, &raw, id, keys, where, true, err)) != RC_OK)
            break;
        wipe(row->buf, sizeof row->buf);
    }
    if (rc == RC_OK && rs->n == 0)
        rc = rc_fail(err, RC_INVAL, "%s: no records", origin);
out:
    wipe(id, sizeof id);
    if (row)
        wipe(row, sizeof *row);
    free(row);
    free(h);
    return rc;
}

static int import_recs(const char *data, size_t len, const char *origin, enum plan_format fmt,
                       const struct plan_keys *keys, struct recs *rs, char *err)
{
    char *text = NULL;
    size_t tlen = 0;
    enum plan_format f = detect(data, len, fmt);
    int rc = plan_decode_text(data, len, origin, f == PLAN_FORMAT_CSV, &text, &tlen, err);
    if (rc)
        return rc;
    if (f == PLAN_FORMAT_JSON)
        rc = recs_json(text, tlen, origin, rs, keys, err);
    else
        rc = recs_csv(text, tlen, origin, rs, keys, err);
    wipe(text, tlen);
    free(text);
    if (rc) {
        free(rs->items);
        rs->items = NULL;
    }
    return rc;
}

int plan_import_online(const char *data, size_t len, const char *origin, enum plan_format fmt,
                       const struct plan_keys *keys, struct plan_online **out, size_t *count,
                       char *err)
{
    struct recs rs = {.kind = REC_ONLINE};
    int rc = import_recs(data, len, origin, fmt, keys, &rs, err);
    if (rc == RC_OK) {
        *out = rs.items;
        *count = rs.n;
    }
    return rc;
}

int plan_import_assessments(const char *data, size_t len, const char *origin, enum plan_format fmt,
                            const struct plan_keys *keys, struct plan_assessment **out,
                            size_t *count, char *err)
{
    struct recs rs = {.kind = REC_ASSESSMENT};
    int rc = import_recs(data, len, origin, fmt, keys, &rs, err);
    if (rc == RC_OK) {
        *out = rs.items;
        *count = rs.n;
    }
    return rc;
}

const char *plan_mode_name(enum plan_mode m)
{
    return m == PLAN_OFFLINE ? "offline" : m == PLAN_ONLINE ? "online" : NULL;
}

const struct plan_session *plan_find_session(const struct plan *p, const char *id)
{
    for (size_t i = 0; i < p->n_sessions; i++) {
        if (strcmp(p->sessions[i].id, id) == 0)
            return &p->sessions[i];
    }
    return NULL;
}

long plan_find_trainee(const struct plan *p, const char *pseudonym)
{
    for (size_t i = 0; i < p->n_roster; i++) {
        if (strcmp(p->roster[i].pseudonym, pseudonym) == 0)
            return (long)i;
    }
    return -1;
}
