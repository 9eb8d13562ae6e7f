/* GET /openapi.json (see openapi.h). */
#include "http/openapi.h"

#include <stdlib.h>
#include <string.h>

/* Revalidate on every use (cheap: a 304), so a client never runs on a stale contract after
 * the collector is upgraded. */
#define OPENAPI_CACHE_CONTROL "no-cache"

void openapi_http_get(struct http_request *req, struct http_response *res)
{
    if (http_etag_matches(http_header(req, "If-None-Match"), openapi_etag)) {
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
