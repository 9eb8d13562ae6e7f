/* The collector's HTTP API: the route table (method, path, handler, who may call it) that
 * http.c serves. Routes of later work (classes, reports, enrolment, ingest) join this table. */
#ifndef ROLLCALL_SERVER_API_H
#define ROLLCALL_SERVER_API_H

#include "http.h"

#include <stddef.h>

enum {
    API_DEVICES_LIST_MAX = 10000, /* GET /v1/devices answers at most this many */
};

/* The route table (static storage) and its length in *n. */
const struct http_route *api_routes(size_t *n);

#endif
