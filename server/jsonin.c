/* The one lock around cJSON's parser (see jsonin.h for why). */
#include "jsonin.h"

#include "rc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

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
