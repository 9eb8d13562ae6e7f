/* The collector's HTTP API: the route table (method, path, handler, who may call it) that
 * http.c serves. Routes of later work (classes, reports, enrolment, ingest) join this table. */
#ifndef ROLLCALL_SERVER_API_H
#define ROLLCALL_SERVER_API_H

#include "http/http.h"
#include "ingest/ingest.h"

#include <stddef.h>

enum {
    API_DEVICES_LIST_MAX = 10000, /* GET /v1/devices answers at most this many */
};

/* Sets up the API's process-wide state: hands POST /v1/batches the collector's group
 * committer (serve does, after creating it and before serving; NULL: each batch commits on its
 * request's own connection). */
void api_init(ingest_writer *w);
/* Ends it (serve, after the last request, before destroying the committer). */
void api_fini(void);

/* The route table (static storage) and its length in *n. */
const struct http_route *api_routes(size_t *n);

#endif
