/* Admin-only reads of the venue fences for the console's admin page (uploading is
 * admin_api_fences_post): every fence with its versions and how many kiosks use it, and one
 * version's GeoJSON Feature to draw. Allowed by admin_api_allow. */
#ifndef ROLLCALL_SERVER_HTTP_FENCES_API_H
#define ROLLCALL_SERVER_HTTP_FENCES_API_H

#include "http/http.h"

/* GET /v1/fences: {"fences": [{"id", "version" (current), "sha256", "created_at",
 * "created_by", "devices", "versions": [{"version", "sha256", "created_at", "created_by",
 * "superseded_at"}] (newest first)}]} by id. */
void fences_api_list(struct http_request *req, struct http_response *res);
/* GET /v1/fences/{id}[?version=N]: the version's GeoJSON Feature as stored (the current one
 * without ?version), application/geo+json. 404 for no such fence or version, 400 for a
 * version that is not a positive integer. */
void fences_api_get(struct http_request *req, struct http_response *res);

#endif
