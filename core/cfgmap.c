#include "cfgmap.h"

#include "file.h"
#include "rc.h"
#include "utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The JSON path of the value being looked at, kept as text for error messages. */
struct jpath {
    char buf[CFGMAP_PATH_LEN];
    size_t len;
};

struct ctx {
    const char *origin;
    char *err;
    struct jpath path;
    int depth;
};

static void path_set(struct jpath *p, const char *root)
{
    int n = snprintf(p->buf, sizeof p->buf, "%s", root);
    p->len = n < 0 ? 0 : ((size_t)n < sizeof p->buf ? (size_t)n : sizeof p->buf - 1);
    p->buf[p->len] = '\0';
}

static void path_append(struct jpath *p, const char *text)
{
    size_t room = sizeof p->buf - p->len;
    int n = snprintf(p->buf + p->len, room, "%s", text);
    if (n < 0)
        return;
    p->len += (size_t)n < room ? (size_t)n : room - 1;
}

static bool plain_key(const char *k)
{
    if (!*k)
        return false;
    for (const char *c = k; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return false;
    }
    return true;
}

/* Appends ".key", or ["key"] with unprintable bytes and quotes shown as '?' so that a
 * hostile key cannot break the one-line error. Returns the previous length for path_pop. */
static size_t path_push_key(struct jpath *p, const char *key)
{
    size_t old = p->len;
    if (plain_key(key)) {
        path_append(p, ".");
        path_append(p, key);
        return old;
    }
    char safe[48];
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)key; *c && n < sizeof safe - 4; c++)
        safe[n++] = (*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\') ? '?' : (char)*c;
    if (key[n] != '\0' && n >= sizeof safe - 4) {
        memcpy(safe + n, "...", 3);
        n += 3;
    }
    safe[n] = '\0';
    path_append(p, "[\"");
    path_append(p, safe);
    path_append(p, "\"]");
    return old;
}

static size_t path_push_index(struct jpath *p, size_t i)
{
    size_t old = p->len;
    char idx[32];
    snprintf(idx, sizeof idx, "[%zu]", i);
    path_append(p, idx);
    return old;
}

static void path_pop(struct jpath *p, size_t old)
{
    p->len = old;
    p->buf[old] = '\0';
}

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rc_fail(c->err, RC_INVAL, "%s: %s: %s", c->origin, c->path.buf, msg);
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF) and no control
 * characters: configuration text ends up in logs, paths and HTTP headers. */
static bool text_ok(const char *s)
{
    size_t len = strlen(s);
    if (!utf8_valid(s, len, NULL))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x20 || b == 0x7f)
            return false;
        if (b == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
            return false; /* C1 controls U+0080..U+009F */
    }
    return true;
}

static unsigned char *field(void *base, size_t off)
{
    return (unsigned char *)base + off;
}

static const unsigned char *cfield(const void *base, size_t off)
{
    return (const unsigned char *)base + off;
}

/* --- value checks shared by load and serialise ------------------------------------------ */

static int check_string(struct ctx *c, const struct cfgmap_entry *e, const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len >= e->size)
        return fail(c, "expected a non-empty string of at most %zu bytes", e->size - 1);
    if (!text_ok(s))
        return fail(c, "expected UTF-8 text without control characters");
    if (e->check) {
        const char *why = e->check(s);
        if (why)
            return fail(c, "expected %s", why);
    }
    return RC_OK;
}

static int fail_int(struct ctx *c, const struct cfgmap_entry *e)
{
    return fail(c, "expected an integer from %" PRId64 " to %" PRId64, e->imin, e->imax);
}

static int check_int(struct ctx *c, const struct cfgmap_entry *e, int64_t v)
{
    if (v < e->imin || v > e->imax)
        return fail_int(c, e);
    return RC_OK;
}

static int check_double(struct ctx *c, const struct cfgmap_entry *e, double v)
{
    if (!isfinite(v) || v < e->dmin || v > e->dmax)
        return fail(c, "expected a number from %.15g to %.15g", e->dmin, e->dmax);
    return RC_OK;
}

static size_t enum_count(const struct cfgmap_entry *e)
{
    size_t n = 0;
    while (e->names[n])
        n++;
    return n;
}

static int fail_enum(struct ctx *c, const struct cfgmap_entry *e)
{
    char list[ERR_LEN / 2];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; e->names[i] && used < sizeof list; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "", e->names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return fail(c, "expected one of %s", list);
}

/* --- defaults ----------------------------------------------------------------------------- */

static void defaults(const struct cfgmap_table *t, void *base)
{
    for (const struct cfgmap_entry *e = t->entries; e->key; e++) {
        unsigned char *f = field(base, e->offset);
        switch (e->type) {
        case CFGMAP_STRING:
            memset(f, 0, e->size);
            if (e->sdef)
                snprintf((char *)f, e->size, "%s", e->sdef);
            break;
        case CFGMAP_INT: memcpy(f, &e->idef, sizeof e->idef); break;
        case CFGMAP_DOUBLE: memcpy(f, &e->ddef, sizeof e->ddef); break;
        case CFGMAP_BOOL: memcpy(f, &e->bdef, sizeof e->bdef); break;
        case CFGMAP_ENUM: {
            int v = (int)e->idef;
            memcpy(f, &v, sizeof v);
            break;
        }
        case CFGMAP_OBJECT:
            memset(f, 0, e->size);
            defaults(e->sub, f);
            if (e->optional_obj) {
                bool no = false;
                memcpy(field(base, e->present_offset), &no, sizeof no);
            }
            break;
        case CFGMAP_ARRAY: {
            size_t zero = 0;
            memset(f, 0, e->size);
            memcpy(field(base, e->count_offset), &zero, sizeof zero);
            break;
        }
        }
    }
}

void cfgmap_defaults(const struct cfgmap_table *t, void *out)
{
    memset(out, 0, t->size);
    defaults(t, out);
}

/* --- load --------------------------------------------------------------------------------- */

static int load_object(struct ctx *c, const struct cfgmap_table *t, const cJSON *obj, void *base);

static int load_value(struct ctx *c, const struct cfgmap_entry *e, const cJSON *v, void *base)
{
    unsigned char *f = field(base, e->offset);
    switch (e->type) {
    case CFGMAP_STRING: {
        if (!cJSON_IsString(v) || !v->valuestring)
            return fail(c, "expected a non-empty string of at most %zu bytes", e->size - 1);
        int rc = check_string(c, e, v->valuestring);
        if (rc)
            return rc;
        memset(f, 0, e->size);
        memcpy(f, v->valuestring, strlen(v->valuestring));
        return RC_OK;
    }
    case CFGMAP_INT: {
        if (!cJSON_IsNumber(v))
            return fail_int(c, e);
        double d = v->valuedouble;
        /* Range first (as doubles: the bounds are within 2^53, so exact), then integrality,
         * so the conversion below is always defined. */
        if (!isfinite(d) || d < (double)e->imin || d > (double)e->imax || d != floor(d))
            return fail_int(c, e);
        int64_t i = (int64_t)d;
        memcpy(f, &i, sizeof i);
        return RC_OK;
    }
    case CFGMAP_DOUBLE: {
        if (!cJSON_IsNumber(v))
            return fail(c, "expected a number from %.15g to %.15g", e->dmin, e->dmax);
        int rc = check_double(c, e, v->valuedouble);
        if (rc)
            return rc;
        memcpy(f, &v->valuedouble, sizeof(double));
        return RC_OK;
    }
    case CFGMAP_BOOL: {
        if (!cJSON_IsBool(v))
            return fail(c, "expected true or false");
        bool b = cJSON_IsTrue(v);
        memcpy(f, &b, sizeof b);
        return RC_OK;
    }
    case CFGMAP_ENUM: {
        if (!cJSON_IsString(v) || !v->valuestring)
            return fail_enum(c, e);
        for (int i = 0; e->names[i]; i++) {
            if (strcmp(e->names[i], v->valuestring) == 0) {
                memcpy(f, &i, sizeof i);
                return RC_OK;
            }
        }
        return fail_enum(c, e);
    }
    case CFGMAP_OBJECT: {
        if (!cJSON_IsObject(v))
            return fail(c, "expected an object");
        int rc = load_object(c, e->sub, v, f);
        if (rc)
            return rc;
        if (e->optional_obj) {
            bool yes = true;
            memcpy(field(base, e->present_offset), &yes, sizeof yes);
        }
        return RC_OK;
    }
    case CFGMAP_ARRAY: {
        if (!cJSON_IsArray(v) || (size_t)cJSON_GetArraySize(v) > e->max_items)
            return fail(c, "expected an array of at most %zu objects", e->max_items);
        size_t n = 0;
        for (const cJSON *el = v->child; el; el = el->next, n++) {
            size_t old = path_push_index(&c->path, n);
            unsigned char *slot = f + n * e->elem_size;
            int rc;
            if (!cJSON_IsObject(el)) {
                rc = fail(c, "expected an object");
            } else {
                memset(slot, 0, e->elem_size);
                defaults(e->sub, slot);
                rc = load_object(c, e->sub, el, slot);
            }
            if (rc)
                return rc;
            path_pop(&c->path, old);
        }
        memcpy(field(base, e->count_offset), &n, sizeof n);
        return RC_OK;
    }
    }
    return fail(c, "unsupported entry type");
}

static const struct cfgmap_entry *find(const struct cfgmap_table *t, const char *key)
{
    for (const struct cfgmap_entry *e = t->entries; e->key; e++) {
        if (strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

/* base already holds the table's defaults. */
static int load_object(struct ctx *c, const struct cfgmap_table *t, const cJSON *obj, void *base)
{
    if (++c->depth > CFGMAP_DEPTH_MAX)
        return fail(c, "nested more than %d levels", CFGMAP_DEPTH_MAX);
    for (const cJSON *kv = obj->child; kv; kv = kv->next) {
        const char *key = kv->string ? kv->string : "";
        size_t old = path_push_key(&c->path, key);
        for (const cJSON *prev = obj->child; prev != kv; prev = prev->next) {
            if (prev->string && strcmp(prev->string, key) == 0)
                return fail(c, "duplicate key");
        }
        const struct cfgmap_entry *e = find(t, key);
        if (!e)
            return fail(c, "unknown key");
        int rc = load_value(c, e, kv, base);
        if (rc)
            return rc;
        path_pop(&c->path, old);
    }
    for (const struct cfgmap_entry *e = t->entries; e->key; e++) {
        if (e->required && !cJSON_GetObjectItemCaseSensitive(obj, e->key)) {
            path_push_key(&c->path, e->key);
            return fail(c, "missing required key");
        }
    }
    c->depth--;
    return RC_OK;
}

int cfgmap_load_json(const struct cfgmap_table *t, const cJSON *obj, const char *origin,
                     const char *root, void *out, char *err)
{
    struct ctx c = {.origin = origin, .err = err};
    path_set(&c.path, root);
    if (!cJSON_IsObject(obj))
        return fail(&c, "expected an object");
    void *scratch = malloc(t->size);
    if (!scratch)
        return rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
    cfgmap_defaults(t, scratch);
    int rc = load_object(&c, t, obj, scratch);
    if (rc == RC_OK)
        memcpy(out, scratch, t->size);
    free(scratch);
    return rc;
}

static void line_col(const char *text, const char *at, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (const char *p = text; p < at && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int cfgmap_load_buffer(const struct cfgmap_table *t, const char *text, size_t len,
                       const char *origin, void *out, char *err)
{
    int rc = RC_OK;
    char *copy = NULL;
    cJSON *root = NULL;
    if (len > CFGMAP_FILE_MAX) {
        rc = rc_fail(err, RC_LIMIT, "%s: larger than %d bytes", origin, CFGMAP_FILE_MAX);
        goto out;
    }
    if (memchr(text, '\0', len)) {
        rc = rc_fail(err, RC_INVAL, "%s: contains a NUL byte", origin);
        goto out;
    }
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    /* cJSON's length-bounded parser wants the terminating NUL inside the length to accept a
     * document that ends there, so parse a NUL-terminated copy. */
    copy = malloc(len + 1);
    if (!copy) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
        goto out;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
    if (!root) {
        unsigned line, col;
        line_col(copy, end ? end : copy, &line, &col);
        rc = rc_fail(err, RC_INVAL, "%s: line %u column %u: not valid JSON", origin, line, col);
        goto out;
    }
    /* Every name and string, also of keys the table refuses, and no escaped U+0000 that
     * cJSON would cut a string at. */
    char why[ERR_LEN];
    if (utf8_check_json(root, copy, len, why) != RC_OK) {
        bool named = why[0] != '[' && strncmp(why, "a member", 8) != 0;
        rc = rc_fail(err, RC_INVAL, "%s: $%s%s", origin, named ? "." : (why[0] == '[' ? "" : ": "),
                     why);
        goto out;
    }
    rc = cfgmap_load_json(t, root, origin, "$", out, err);
out:
    cJSON_Delete(root);
    free(copy);
    return rc;
}

int cfgmap_read_file(const char *path, char **out, size_t *len, char *err)
{
    return file_read_bounded(path, CFGMAP_FILE_MAX, out, len, err);
}

int cfgmap_load_file(const struct cfgmap_table *t, const char *path, void *out, char *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cfgmap_read_file(path, &text, &len, err);
    if (rc == RC_OK)
        rc = cfgmap_load_buffer(t, text, len, path, out, err);
    free(text);
    return rc;
}

/* --- serialise ---------------------------------------------------------------------------- */

static int to_json(struct ctx *c, const struct cfgmap_table *t, const void *base, cJSON *obj);

static int nomem(struct ctx *c)
{
    return rc_fail(c->err, RC_NOMEM, "%s: out of memory", c->origin);
}

/* v as a JSON number that reads back as exactly v: the shortest of %.15g, %.16g and %.17g
 * that does (cJSON prints %.15g whenever that is within an epsilon, which can lose the last
 * bit: a saved config must load back to the same position). v is finite (checked). */
static cJSON *exact_number(double v)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

static int value_to_json(struct ctx *c, const struct cfgmap_entry *e, const void *base, cJSON **out)
{
    const unsigned char *f = cfield(base, e->offset);
    int rc = RC_OK;
    *out = NULL;
    switch (e->type) {
    case CFGMAP_STRING: {
        const char *s = (const char *)f;
        if (memchr(s, '\0', e->size) == NULL)
            return fail(c, "expected a non-empty string of at most %zu bytes", e->size - 1);
        if (!*s) {
            if (e->required)
                return fail(c, "missing required key");
            return RC_OK;
        }
        if ((rc = check_string(c, e, s)))
            return rc;
        *out = cJSON_CreateString(s);
        break;
    }
    case CFGMAP_INT: {
        int64_t v;
        memcpy(&v, f, sizeof v);
        if ((rc = check_int(c, e, v)))
            return rc;
        *out = cJSON_CreateNumber((double)v);
        break;
    }
    case CFGMAP_DOUBLE: {
        double v;
        memcpy(&v, f, sizeof v);
        if ((rc = check_double(c, e, v)))
            return rc;
        *out = exact_number(v);
        break;
    }
    case CFGMAP_BOOL: {
        bool v;
        memcpy(&v, f, sizeof v);
        *out = cJSON_CreateBool(v);
        break;
    }
    case CFGMAP_ENUM: {
        int v;
        memcpy(&v, f, sizeof v);
        if (v < 0 || (size_t)v >= enum_count(e))
            return fail_enum(c, e);
        *out = cJSON_CreateString(e->names[v]);
        break;
    }
    case CFGMAP_OBJECT: {
        if (e->optional_obj) {
            bool present;
            memcpy(&present, cfield(base, e->present_offset), sizeof present);
            if (!present)
                return RC_OK;
        }
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return nomem(c);
        if ((rc = to_json(c, e->sub, f, o))) {
            cJSON_Delete(o);
            return rc;
        }
        *out = o;
        return RC_OK;
    }
    case CFGMAP_ARRAY: {
        size_t n;
        memcpy(&n, cfield(base, e->count_offset), sizeof n);
        if (n > e->max_items)
            return fail(c, "expected an array of at most %zu objects", e->max_items);
        cJSON *a = cJSON_CreateArray();
        if (!a)
            return nomem(c);
        for (size_t i = 0; i < n; i++) {
            size_t old = path_push_index(&c->path, i);
            cJSON *o = cJSON_CreateObject();
            if (!o || !cJSON_AddItemToArray(a, o)) {
                cJSON_Delete(o);
                cJSON_Delete(a);
                return nomem(c);
            }
            if ((rc = to_json(c, e->sub, f + i * e->elem_size, o))) {
                cJSON_Delete(a);
                return rc;
            }
            path_pop(&c->path, old);
        }
        *out = a;
        return RC_OK;
    }
    }
    if (!*out)
        return nomem(c);
    return RC_OK;
}

static int to_json(struct ctx *c, const struct cfgmap_table *t, const void *base, cJSON *obj)
{
    for (const struct cfgmap_entry *e = t->entries; e->key; e++) {
        size_t old = path_push_key(&c->path, e->key);
        cJSON *v = NULL;
        int rc = value_to_json(c, e, base, &v);
        if (rc)
            return rc;
        if (v && !cJSON_AddItemToObject(obj, e->key, v)) {
            cJSON_Delete(v);
            return nomem(c);
        }
        path_pop(&c->path, old);
    }
    return RC_OK;
}

int cfgmap_to_json(const struct cfgmap_table *t, const void *in, cJSON **out, char *err)
{
    struct ctx c = {.origin = "struct", .err = err};
    path_set(&c.path, "$");
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return nomem(&c);
    int rc = to_json(&c, t, in, obj);
    if (rc) {
        cJSON_Delete(obj);
        return rc;
    }
    *out = obj;
    return RC_OK;
}

/* --- table self-check --------------------------------------------------------------------- */

static int check_table(const struct cfgmap_table *t, int depth, const char *where, char *err)
{
    if (depth > CFGMAP_DEPTH_MAX)
        return rc_fail(err, RC_INVAL, "table %s: nested more than %d levels", where,
                       CFGMAP_DEPTH_MAX);
    for (const struct cfgmap_entry *e = t->entries; e->key; e++) {
        if (e->offset + e->size > t->size)
            return rc_fail(err, RC_INVAL, "table %s.%s: field outside the struct", where, e->key);
        for (const struct cfgmap_entry *d = t->entries; d != e; d++) {
            if (strcmp(d->key, e->key) == 0)
                return rc_fail(err, RC_INVAL, "table %s.%s: key twice", where, e->key);
        }
        if (!e->help || !*e->help)
            return rc_fail(err, RC_INVAL, "table %s.%s: no help text", where, e->key);
        switch (e->type) {
        case CFGMAP_STRING:
            if (e->size < 2)
                return rc_fail(err, RC_INVAL, "table %s.%s: string buffer too small", where,
                               e->key);
            if (e->sdef &&
                (strlen(e->sdef) >= e->size || !*e->sdef || (e->check && e->check(e->sdef))))
                return rc_fail(err, RC_INVAL, "table %s.%s: default does not fit", where, e->key);
            break;
        case CFGMAP_INT:
            if (e->imin > e->imax || e->imin < -CFGMAP_INT_LIMIT || e->imax > CFGMAP_INT_LIMIT ||
                e->idef < e->imin || e->idef > e->imax)
                return rc_fail(err, RC_INVAL, "table %s.%s: bad bounds or default", where, e->key);
            break;
        case CFGMAP_DOUBLE:
            if (!(e->dmin <= e->dmax) || !isfinite(e->dmin) || !isfinite(e->dmax) ||
                !(e->ddef >= e->dmin && e->ddef <= e->dmax))
                return rc_fail(err, RC_INVAL, "table %s.%s: bad bounds or default", where, e->key);
            break;
        case CFGMAP_BOOL: break;
        case CFGMAP_ENUM:
            if (!e->names || !e->names[0] || enum_count(e) > CFGMAP_ENUM_MAX || e->idef < 0 ||
                (size_t)e->idef >= enum_count(e))
                return rc_fail(err, RC_INVAL, "table %s.%s: bad names or default", where, e->key);
            break;
        case CFGMAP_OBJECT:
        case CFGMAP_ARRAY: {
            size_t want = e->type == CFGMAP_OBJECT ? e->size : e->elem_size;
            if (!e->sub || e->sub->size != want ||
                (e->type == CFGMAP_ARRAY && (e->max_items == 0 || e->required)))
                return rc_fail(err, RC_INVAL, "table %s.%s: bad nested table", where, e->key);
            if (e->optional_obj && e->required)
                return rc_fail(err, RC_INVAL, "table %s.%s: optional and required", where, e->key);
            char sub_where[CFGMAP_PATH_LEN];
            int n = snprintf(sub_where, sizeof sub_where, "%s.%s", where, e->key);
            if (n < 0 || (size_t)n >= sizeof sub_where)
                return rc_fail(err, RC_INVAL, "table %s.%s: path too long", where, e->key);
            int rc = check_table(e->sub, depth + 1, sub_where, err);
            if (rc)
                return rc;
            break;
        }
        default: return rc_fail(err, RC_INVAL, "table %s.%s: unknown type", where, e->key);
        }
    }
    return RC_OK;
}

int cfgmap_table_check(const struct cfgmap_table *t, char *err)
{
    return check_table(t, 1, "$", err);
}

/* --- documentation ------------------------------------------------------------------------ */

struct doc {
    char *buf;
    size_t len;
    int rc;
};

static void doc_add(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void doc_add(struct doc *d, const char *fmt, ...)
{
    if (d->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->buf + d->len, CFGMAP_DOC_MAX + 1 - d->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= CFGMAP_DOC_MAX + 1 - d->len) {
        d->rc = RC_LIMIT;
        return;
    }
    d->len += (size_t)n;
}

/* Markdown table cells: a '|' would end the cell. */
static void doc_cell(struct doc *d, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            doc_add(d, "\\|");
        else
            doc_add(d, "%c", *p);
    }
}

static void doc_number(char *out, size_t n, double v)
{
    snprintf(out, n, "%.15g", v);
}

static void doc_rows(struct doc *d, const struct cfgmap_table *t, const char *prefix)
{
    for (const struct cfgmap_entry *e = t->entries; e->key; e++) {
        char key[CFGMAP_PATH_LEN];
        snprintf(key, sizeof key, "%s%s", prefix, e->key);
        char a[40], b[40];
        doc_add(d, "| `%s` | ", key);
        switch (e->type) {
        case CFGMAP_STRING: doc_add(d, "string, 1 to %zu bytes", e->size - 1); break;
        case CFGMAP_INT: doc_add(d, "integer, %" PRId64 " to %" PRId64, e->imin, e->imax); break;
        case CFGMAP_DOUBLE:
            doc_number(a, sizeof a, e->dmin);
            doc_number(b, sizeof b, e->dmax);
            doc_add(d, "number, %s to %s", a, b);
            break;
        case CFGMAP_BOOL: doc_add(d, "boolean"); break;
        case CFGMAP_ENUM:
            for (size_t i = 0; e->names[i]; i++)
                doc_add(d, "%s`\"%s\"`", i ? ", " : "", e->names[i]);
            break;
        case CFGMAP_OBJECT: doc_add(d, e->optional_obj ? "object, optional" : "object"); break;
        case CFGMAP_ARRAY: doc_add(d, "array of up to %zu objects", e->max_items); break;
        }
        doc_add(d, " | %s | ", e->unit ? e->unit : "");
        if (e->doc_default) {
            doc_cell(d, e->doc_default);
        } else if (e->required) {
            doc_add(d, "required");
        } else {
            switch (e->type) {
            case CFGMAP_STRING:
                if (e->sdef) {
                    doc_add(d, "`\"");
                    doc_cell(d, e->sdef);
                    doc_add(d, "\"`");
                } else {
                    doc_add(d, "unset");
                }
                break;
            case CFGMAP_INT: doc_add(d, "%" PRId64, e->idef); break;
            case CFGMAP_DOUBLE:
                doc_number(a, sizeof a, e->ddef);
                doc_add(d, "%s", a);
                break;
            case CFGMAP_BOOL: doc_add(d, "%s", e->bdef ? "true" : "false"); break;
            case CFGMAP_ENUM: doc_add(d, "`\"%s\"`", e->names[e->idef]); break;
            case CFGMAP_OBJECT: doc_add(d, e->optional_obj ? "absent" : "defaults below"); break;
            case CFGMAP_ARRAY: doc_add(d, "`[]`"); break;
            }
        }
        doc_add(d, " | ");
        doc_cell(d, e->help);
        doc_add(d, " |\n");
        if (e->type == CFGMAP_OBJECT || e->type == CFGMAP_ARRAY) {
            char sub[CFGMAP_PATH_LEN];
            int n = snprintf(sub, sizeof sub, "%s%s", key, e->type == CFGMAP_ARRAY ? "[]." : ".");
            if (n < 0 || (size_t)n >= sizeof sub) {
                d->rc = RC_LIMIT;
                return;
            }
            doc_rows(d, e->sub, sub);
        }
    }
}

int cfgmap_doc(const struct cfgmap_table *t, char **out, char *err)
{
    struct doc d = {.buf = malloc((size_t)CFGMAP_DOC_MAX + 1)};
    if (!d.buf)
        return rc_fail(err, RC_NOMEM, "documentation: out of memory");
    d.buf[0] = '\0';
    doc_add(&d, "| key | type | unit | default | meaning |\n| --- | --- | --- | --- | --- |\n");
    doc_rows(&d, t, "");
    if (d.rc) {
        free(d.buf);
        return rc_fail(err, d.rc, "documentation: longer than %d bytes", CFGMAP_DOC_MAX);
    }
    *out = d.buf;
    return RC_OK;
}

/* --- ready-made checks -------------------------------------------------------------------- */

const char *cfgmap_check_id(const char *value)
{
    static const char why[] = "letters, digits, '.', '_' or '-', starting with a letter or digit";
    for (const char *p = value; *p; p++) {
        bool alnum =
            (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (!alnum && (p == value || (*p != '.' && *p != '_' && *p != '-')))
            return why;
    }
    return NULL;
}

const char *cfgmap_check_abs_path(const char *value)
{
    return value[0] == '/' ? NULL : "an absolute path";
}

const char *cfgmap_check_hex64(const char *value)
{
    size_t n = 0;
    for (const char *p = value; *p; p++, n++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return "64 hex digits";
    }
    return n == 64 ? NULL : "64 hex digits";
}
