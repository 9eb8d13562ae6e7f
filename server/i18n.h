/* The server's one message catalogue: finding titles and API error messages in Chinese
 * (zh_CN, the default) and English, with stable codes (docs/API.md "Languages").
 *
 * The texts live in po/zh_CN.po and po/en.po (msgid: the code, "finding.<kind>",
 * "error.<code>", "detail.<template>" with {named} placeholders, "word.<word>"); the build compiles both into one table (cmake/po_table.py), failing when a
 * code lacks either language. A table rather than runtime gettext: the language is chosen per
 * request, on MHD's threads, and gettext picks it from the process's locale (setlocale, or
 * uselocale per thread), which needs the zh_CN and en locales installed on the host; a lookup
 * here is a binary search in read-only memory, shared by every thread without a lock.
 *
 * Invariant: every text is one line of UTF-8. */
#ifndef ROLLCALL_SERVER_I18N_H
#define ROLLCALL_SERVER_I18N_H

#include <stddef.h>

enum i18n_lang { I18N_ZH = 0, I18N_EN = 1 };

struct i18n_entry {
    const char *code;
    const char *text[2]; /* by enum i18n_lang */
};

/* The generated table, sorted by code (generated/i18n_table.c). */
extern const struct i18n_entry i18n_table[];
extern const size_t i18n_table_len;

enum { I18N_ACCEPT_MAX = 256 }; /* bytes of Accept-Language looked at */

/* The language an Accept-Language header asks for (RFC 9110 12.5.4: the highest q among
 * zh* and en*, zh on a tie; q=0 excludes). NULL, empty, "*" or neither: I18N_ZH. */
enum i18n_lang i18n_from_accept_language(const char *header);
/* The text of code in lang, NULL when the catalogue has no such code. */
const char *i18n_text(const char *code, enum i18n_lang lang);
/* The text of prefix + "." + name ("finding", "signin_outside"), NULL when absent. */
const char *i18n_text2(const char *prefix, const char *name, enum i18n_lang lang);
/* A finding's detail in lang from its template detail.<code> (e.g. detail.sign_judged:
 * "{event} at {time} on {device}: {why}; {counted}"): each {name} is replaced by arg(name, ctx);
 * a value "@w" by the catalogue's word.<w> in lang. The text is cut to fit out (n bytes with
 * its NUL, never inside a UTF-8 sequence). Returns 0, or -1 (out unusable) when the template,
 * an argument or a word is missing. */
int i18n_render(const char *code, enum i18n_lang lang,
                const char *(*arg)(const char *name, void *ctx), void *ctx, char *out, size_t n);
/* i18n_render with the arguments given as pairs: name, value, ..., NULL. */
int i18n_render_pairs(const char *code, enum i18n_lang lang, const char *const *pairs, char *out,
                      size_t n);
/* "zh-CN" or "en", for Content-Language. */
const char *i18n_tag(enum i18n_lang lang);

#endif
