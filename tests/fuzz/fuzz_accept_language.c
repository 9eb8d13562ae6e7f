/* Fuzzes the two readers of untrusted text the alerts and the message catalogue added:
 * i18n_from_accept_language (a request header) and alert_mask_url (a URL an official typed).
 * Checks: the language is one of the two and does not depend on bytes past I18N_ACCEPT_MAX;
 * a masked URL is a NUL-terminated string within its buffer that holds no query value of the
 * input (every value of the form "=VALUE" with VALUE of 4+ bytes is gone). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "i18n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    enum i18n_lang l = i18n_from_accept_language(s);
    if (l != I18N_ZH && l != I18N_EN)
        abort();
    if (strlen(s) > I18N_ACCEPT_MAX) {
        char saved = s[I18N_ACCEPT_MAX];
        s[I18N_ACCEPT_MAX] = '\0';
        if (i18n_from_accept_language(s) != l)
            abort();
        s[I18N_ACCEPT_MAX] = saved;
    }
    char out[64];
    alert_mask_url(s, out, sizeof out);
    if (memchr(out, '\0', sizeof out) == NULL)
        abort();
    /* No value after '=' in the query survives (values of 4+ bytes of [A-Za-z0-9]): none of
     * them appears after an '=' in the output's query. */
    const char *q = strchr(s, '?');
    const char *hash = strchr(s, '#');
    const char *oq = strchr(out, '?');
    if (q && oq && (!hash || q < hash)) {
        for (const char *p = q; (p = strchr(p, '=')) != NULL && (!hash || p < hash); p++) {
            size_t n = strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789");
            if (n < 4)
                continue;
            char needle[6] = "=";
            memcpy(needle + 1, p + 1, 4);
            needle[5] = '\0';
            if (strstr(oq, needle))
                abort();
        }
    }
    free(s);
    return 0;
}
