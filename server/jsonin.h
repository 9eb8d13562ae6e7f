/* Reading JSON in a threaded server. cJSON 1.7.15 writes a process-wide error variable
 * (global_error) on every cJSON_Parse*, a data race when MHD's worker threads parse request
 * bodies at once; core/fence.c parses GeoJSON with cJSON too. Every parse the server makes
 * goes through this module, which serialises them on one mutex. Printing and reading parsed
 * trees touch no global state and need no lock.
 *
 * Invariant: no code under server/ calls cJSON_Parse* or fence_set_parse directly. */
#ifndef ROLLCALL_SERVER_JSONIN_H
#define ROLLCALL_SERVER_JSONIN_H

#include "fence.h"

#include <cJSON.h>
#include <stddef.h>

/* Parses exactly len bytes (need not be NUL-terminated) as one JSON value with nothing but
 * whitespace after it, whose member names and strings all pass utf8_check_json (strict UTF-8,
 * no escaped U+0000). Returns 0 and *out (free with cJSON_Delete), or RC_INVAL naming the
 * byte offset or the member ("reason: contains U+0000"), RC_NOMEM. */
int jsonin_parse(const char *text, size_t len, cJSON **out, char *err);

/* fence_set_parse under the same lock; same contract. */
int jsonin_fence_parse(const char *data, size_t len, const char *label, fence_set **out, char *err);

#endif
