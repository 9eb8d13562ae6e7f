/* GET /openapi.json: the public contract (docs/openapi.yaml) as JSON, public like /healthz.
 *
 * Invariants:
 * - The document is built into the program (cmake/openapi_json.py converts the YAML at build
 *   time), so the served contract is always the one of this binary, with no file to install
 *   or lose.
 * - The ETag is a hash of those bytes: it changes exactly when the document does. */
#ifndef ROLLCALL_SERVER_OPENAPI_H
#define ROLLCALL_SERVER_OPENAPI_H

#include "http/http.h"

#include <stddef.h>

/* The generated document (build/generated/openapi_json.c): NUL-terminated JSON, its length
 * without the NUL, and its strong ETag with the quotes ("\"<32 hex>\""). */
extern const char openapi_json[];
extern const size_t openapi_json_len;
extern const char openapi_etag[];

/* The handler of GET /openapi.json: 200 with the document, ETag and Cache-Control, or 304
 * without a body when If-None-Match names the ETag (or is "*"). */
void openapi_http_get(struct http_request *req, struct http_response *res);

#endif
