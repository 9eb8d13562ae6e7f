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
