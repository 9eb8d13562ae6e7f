/* GET /v1/live: the sessions running now in the caller's scope, for the console's live page
 * (远程监控): per session the roster, who is signed in now, and who of them signed in outside
 * the fence, uncertain or without a fix, and the recording state. Read from the stored events
 * at each request (the figures are computed only once a session has ended). */
#ifndef ROLLCALL_SERVER_HTTP_LIVE_API_H
#define ROLLCALL_SERVER_HTTP_LIVE_API_H

#include "http/http.h"

enum {
    LIVE_API_CLASSES_MAX = 1000, /* classes with a session running now in one answer */
};

/* The handler; allowed as the figures' readers (scope_allow_read), narrowed to scope with
 * ?district= and ?institution= as the other listings. */
void live_api_get(struct http_request *req, struct http_response *res);

#endif
