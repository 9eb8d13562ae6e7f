/* GET /openapi.json (see openapi.h). */
#include "http/openapi.h"

#include <stdlib.h>
#include <string.h>

/* Revalidate on every use (cheap: a 304), so a client never runs on a stale contract after
 * the collector is upgraded. */
#define OPENAPI_CACHE_CONTROL "no-cache"

bool openapi_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match)
        return false;
    size_t elen = strlen(etag);
    const char *p = if_none_match;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        const char *tag = p;
        if (n >= 2 && strncmp(tag, "W/", 2) == 0) {
            tag += 2;
            n -= 2;
        }
        if ((n == 1 && *tag == '*') || (n == elen && memcmp(tag, etag, elen) == 0))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

void openapi_http_get(struct http_request *req, struct http_response *res)
{
    if (openapi_etag_matches(http_header(req, "If-None-Match"), openapi_etag)) {
        res->status = 304;
    } else {
        char *copy = malloc(openapi_json_len + 1);
        if (!copy) {
            http_reply_error(res, 500, "out of memory");
            return;
        }
        memcpy(copy, openapi_json, openapi_json_len + 1);
        res->status = 200;
        res->body = copy;
        res->len = openapi_json_len;
    }
    res->etag = openapi_etag;
    res->cache_control = OPENAPI_CACHE_CONTROL;
}
