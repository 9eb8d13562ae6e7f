/* The message catalogue (i18n.h). */
#include "i18n.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int by_code(const void *key, const void *elem)
{
    return strcmp(key, ((const struct i18n_entry *)elem)->code);
}

const char *i18n_text(const char *code, enum i18n_lang lang)
{
    if (!code)
        return NULL;
    const struct i18n_entry *e =
        bsearch(code, i18n_table, i18n_table_len, sizeof i18n_table[0], by_code);
    return e ? e->text[lang == I18N_EN ? 1 : 0] : NULL;
}

const char *i18n_text2(const char *prefix, const char *name, enum i18n_lang lang)
{
    char code[128];
    int n = snprintf(code, sizeof code, "%s.%s", prefix, name ? name : "");
    if (n < 0 || (size_t)n >= sizeof code)
        return NULL;
    return i18n_text(code, lang);
}

const char *i18n_tag(enum i18n_lang lang)
{
    return lang == I18N_EN ? "en" : "zh-CN";
}

/* The q value of one list element's parameters (";q=0.5"); 1000 = 1.0, -1 when malformed. */
static int qvalue(const char *p, size_t n)
{
    int q = 1000;
    while (n > 0) {
        while (n > 0 && (*p == ';' || *p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        if (n >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            n -= 2;
            if (n == 0 || (*p != '0' && *p != '1'))
                return -1;
            q = (*p - '0') * 1000;
            p++;
            n--;
            if (n > 0 && *p == '.') {
                p++;
                n--;
                int scale = 100;
                while (n > 0 && *p >= '0' && *p <= '9' && scale > 0) {
                    q += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                    n--;
                }
            }
            if (q > 1000)
                return -1;
        }
        while (n > 0 && *p != ';') {
            p++;
            n--;
        }
    }
    return q;
}

enum i18n_lang i18n_from_accept_language(const char *header)
{
    if (!header)
        return I18N_ZH;
    size_t len = strnlen(header, I18N_ACCEPT_MAX);
    int best_zh = -1, best_en = -1;
    const char *p = header, *end = header + len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        size_t tag = 0;
        while (p + tag < e && p[tag] != ';' && p[tag] != ' ' && p[tag] != '\t')
            tag++;
        int q = qvalue(p + tag, (size_t)(e - p) - tag);
        bool zh = tag >= 2 && strncasecmp(p, "zh", 2) == 0 && (tag == 2 || p[2] == '-');
        bool en = tag >= 2 && strncasecmp(p, "en", 2) == 0 && (tag == 2 || p[2] == '-');
        if (zh && q > best_zh)
            best_zh = q;
        if (en && q > best_en)
            best_en = q;
        p = comma ? comma + 1 : end;
    }
    return best_en > 0 && best_en > best_zh ? I18N_EN : I18N_ZH;
}

int i18n_render(const char *code, enum i18n_lang lang,
                const char *(*arg)(const char *name, void *ctx), void *ctx, char *out, size_t n)
{
    const char *tpl = i18n_text2("detail", code, lang);
    size_t used = 0;
    if (!tpl || n == 0)
        return -1;
    out[0] = '\0';
    for (const char *p = tpl; *p;) {
        const char *piece = p;
        size_t len;
        char word[64];
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t nlen = close ? (size_t)(close - p - 1) : 0;
            char name[32];
            if (!close || nlen == 0 || nlen >= sizeof name)
                return -1;
            memcpy(name, p + 1, nlen);
            name[nlen] = '\0';
            piece = arg(name, ctx);
            if (!piece)
                return -1;
            /* "@word": a word of the catalogue (word.<word>) in lang, e.g. sign-in / 签到 */
            if (piece[0] == '@') {
                int w = snprintf(word, sizeof word, "%s", piece + 1);
                const char *text =
                    w > 0 && (size_t)w < sizeof word ? i18n_text2("word", word, lang) : NULL;
                if (!text)
                    return -1;
                piece = text;
            }
            len = strlen(piece);
            p = close + 1;
        } else {
            len = strcspn(p, "{"); /* the literal text up to the next argument */
            p += len;
        }
        if (used + len >= n) { /* cut at the limit, never inside a UTF-8 sequence */
            len = n - 1 - used;
            while (len > 0 && ((unsigned char)piece[len] & 0xc0) == 0x80)
                len--;
            memcpy(out + used, piece, len);
            out[used + len] = '\0';
            return 0;
        }
        memcpy(out + used, piece, len);
        used += len;
        out[used] = '\0';
    }
    return 0;
}

struct pairs {
    const char *const *p;
};

static const char *pair_arg(const char *name, void *ctx)
{
    const struct pairs *ps = ctx;
    for (const char *const *p = ps->p; p[0] && p[1]; p += 2) {
        if (strcmp(p[0], name) == 0)
            return p[1];
    }
    return NULL;
}

int i18n_render_pairs(const char *code, enum i18n_lang lang, const char *const *pairs, char *out,
                      size_t n)
{
    struct pairs ps = {pairs};
    return i18n_render(code, lang, pair_arg, &ps, out, n);
}
