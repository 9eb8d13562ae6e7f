/* The one lock around cJSON's parser (see jsonin.h for why). */
#include "jsonin.h"

#include "rc.h"
#include "utf8.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

/* Zeroes every string of a refused tree before it is freed: import bodies carry clear ID
 * numbers (server/engine/plan.c wipes its own trees the same way). */
static void wipe_strings(cJSON *j)
{
    for (; j; j = j->next) {
        if (j->valuestring)
            memset(j->valuestring, 0, strlen(j->valuestring));
        wipe_strings(j->child);
    }
}

int jsonin_parse(const char *text, size_t len, cJSON **out, char *err)
{
    *out = NULL;
    const char *end = NULL;
    pthread_mutex_lock(&parse_lock);
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    pthread_mutex_unlock(&parse_lock);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        return rc_fail(err, RC_INVAL, "not valid JSON (near byte %zu)", at);
    }
    /* Only whitespace may follow the value. */
    size_t used = (size_t)(end - text);
    for (size_t i = used; i < len; i++) {
        char c = text[i];
        if (c == '\0' && i == len - 1)
            break;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            cJSON_Delete(root);
            return rc_fail(err, RC_INVAL, "unexpected data after the JSON value at byte %zu", i);
        }
    }
    /* One text validator for every body the server reads: strict UTF-8 names and strings,
     * no escaped U+0000 (cJSON would cut the string there). */
    if (utf8_check_json(root, text, len, err) != RC_OK) {
        wipe_strings(root);
        cJSON_Delete(root);
        return RC_INVAL;
    }
    *out = root;
    return RC_OK;
}

int jsonin_fence_parse(const char *data, size_t len, const char *label, fence_set **out, char *err)
{
    pthread_mutex_lock(&parse_lock);
    int rc = fence_set_parse(data, len, label, out, err);
    pthread_mutex_unlock(&parse_lock);
    return rc;
}
