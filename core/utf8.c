/* The one text validator (see utf8.h). */
#include "utf8.h"

#include "rc.h"

#include <stdio.h>
#include <string.h>

size_t utf8_seq(const unsigned char *s, size_t n, const char **why)
{
    unsigned char b = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b == 0) {
        *why = "NUL byte";
        return 0;
    }
    if (b < 0x80)
        return 1;
    if (b < 0xC0) {
        *why = "bare continuation byte";
        return 0;
    }
    if (b < 0xC2) {
        *why = "overlong encoding";
        return 0;
    }
    if (b < 0xE0) {
        need = 1;
    } else if (b < 0xF0) {
        need = 2;
        if (b == 0xE0)
            lo = 0xA0; /* below is overlong */
        if (b == 0xED)
            hi = 0x9F; /* above is a surrogate */
    } else if (b < 0xF5) {
        need = 3;
        if (b == 0xF0)
            lo = 0x90; /* below is overlong */
        if (b == 0xF4)
            hi = 0x8F; /* above is beyond U+10FFFF */
    } else {
        *why = "byte beyond U+10FFFF";
        return 0;
    }
    if (n < need + 1) {
        *why = "truncated sequence";
        return 0;
    }
    if (s[1] < lo || s[1] > hi) {
        if (s[1] < 0x80 || s[1] > 0xBF)
            *why = "missing continuation byte";
        else if (b == 0xED)
            *why = "surrogate";
        else if (b == 0xF4)
            *why = "code point beyond U+10FFFF";
        else
            *why = "overlong encoding";
        return 0;
    }
    for (size_t i = 2; i <= need; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            *why = "missing continuation byte";
            return 0;
        }
    }
    return need + 1;
}

bool utf8_valid(const char *s, size_t len, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        const char *why = "";
        size_t k = utf8_seq(p + i, len - i, &why);
        if (k == 0) {
            if (bad)
                *bad = i;
            return false;
        }
        i += k;
    }
    return true;
}

int utf8_check(const char *s, size_t len, const char *field, char *err)
{
    size_t bad = 0;
    if (utf8_valid(s, len, &bad))
        return RC_OK;
    if (s[bad] == '\0')
        return rc_fail(err, RC_INVAL, "%s: contains U+0000", field);
    return rc_fail(err, RC_INVAL, "%s: not valid UTF-8 (byte %zu)", field, bad);
}

#define SHOWN_MAX 48

/* The first len bytes of name (valid UTF-8) as an error may show them: at most SHOWN_MAX bytes,
 * cut at a character boundary, control characters as '?', so the error stays one line. */
static void show_name(char shown[SHOWN_MAX + 1], const char *name, size_t len)
{
    size_t k = len > SHOWN_MAX ? SHOWN_MAX : len;
    while (k > 0 && k < len && ((unsigned char)name[k] & 0xC0) == 0x80)
        k--;
    for (size_t i = 0; i < k; i++)
        shown[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    shown[k] = '\0';
}

/* Appends a member name or an index to a path, truncating with "..." past UTF8_PATH_LEN. */
static void path_push(char *path, size_t at, const char *name, int index)
{
    size_t room = UTF8_PATH_LEN - at;
    int n;
    if (name) {
        /* The name itself may be the bad text: show only its valid prefix. */
        size_t len = strlen(name), ok = len;
        (void)utf8_valid(name, len, &ok);
        char shown[SHOWN_MAX + 1];
        show_name(shown, name, ok);
        n = snprintf(path + at, room, "%s%s", at ? "." : "", shown);
    } else {
        n = snprintf(path + at, room, "[%d]", index);
    }
    if (n < 0 || (size_t)n >= room)
        memcpy(path + UTF8_PATH_LEN - 4, "...", 4);
}

static int walk(const cJSON *node, char *path, size_t at, int depth, char *err)
{
    if (depth > 64)
        return rc_fail(err, RC_INVAL, "%s: nested too deeply", at ? path : "$");
    int index = 0;
    for (const cJSON *c = node->child; c; c = c->next, index++) {
        path[at] = '\0';
        if (node->type & cJSON_Object) {
            const char *name = c->string ? c->string : "";
            path_push(path, at, name, 0);
            if (utf8_check(name, strlen(name), path, err) != RC_OK)
                return RC_INVAL;
        } else {
            path_push(path, at, NULL, index);
        }
        if (cJSON_IsString(c) && c->valuestring &&
            utf8_check(c->valuestring, strlen(c->valuestring), path, err) != RC_OK)
            return RC_INVAL;
        if (c->child && walk(c, path, strlen(path), depth + 1, err) != RC_OK)
            return RC_INVAL;
    }
    path[at] = '\0';
    return RC_OK;
}

/* Scans JSON text for an escaped U+0000 inside a string. On a hit, *key is the nearest member
 * name before it (raw text, not unescaped) or the string itself when it is a member name. */
static bool find_escaped_nul(const char *s, size_t len, const char **key, size_t *keylen)
{
    const char *last = NULL, *start = NULL;
    size_t lastlen = 0;
    bool in = false, hit = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!in) {
            if (c == '"') {
                in = true;
                start = s + i + 1;
            }
            continue;
        }
        if (c == '\\') {
            if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                hit = true;
            i++; /* the escaped character (the hex digits of \u are plain characters) */
            continue;
        }
        if (c != '"')
            continue;
        in = false;
        size_t slen = (size_t)(s + i - start), j = i + 1;
        while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
            j++;
        bool is_key = j < len && s[j] == ':';
        if (hit) {
            *key = is_key ? NULL : last;
            *keylen = is_key ? 0 : lastlen;
            return true;
        }
        if (is_key) {
            last = start;
            lastlen = slen;
        }
    }
    return false;
}

int utf8_check_json(const cJSON *root, const char *raw, size_t rawlen, char *err)
{
    char path[UTF8_PATH_LEN + 1] = "";
    if (!root)
        return RC_OK;
    if (cJSON_IsString(root) && root->valuestring &&
        utf8_check(root->valuestring, strlen(root->valuestring), "$", err) != RC_OK)
        return RC_INVAL;
    if (walk(root, path, 0, 0, err) != RC_OK)
        return RC_INVAL;
    const char *key = NULL;
    size_t keylen = 0;
    if (raw && find_escaped_nul(raw, rawlen, &key, &keylen)) {
        if (!key)
            return rc_fail(err, RC_INVAL, "a member name contains U+0000");
        char shown[SHOWN_MAX + 1];
        show_name(shown, key, keylen);
        return rc_fail(err, RC_INVAL, "%s: contains U+0000", shown);
    }
    return RC_OK;
}
