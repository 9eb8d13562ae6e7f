/* Admin-only JSON routes the console's admin page needs where the command line had the only
 * way: GET /v1/users (the people's accounts, never a password hash), adding one with a
 * password the admin chose, disabling, enabling and setting a new password. Cookie writes
 * carry the CSRF token (http.c checks it for every route). */
#ifndef ROLLCALL_SERVER_HTTP_ADMIN_API_H
#define ROLLCALL_SERVER_HTTP_ADMIN_API_H

#include "http/http.h"

/* Allow function: admin only. */
bool admin_api_allow(const struct auth_principal *who, const struct http_request *req);
/* GET /v1/users: {"users": [{"name", "role", "created_at", "password_changed_at",
 * "disabled_at", "last_login_at"}]} by name. */
void admin_api_users(struct http_request *req, struct http_response *res);

enum { ADMIN_API_BODY_MAX = 8192 };

/* POST /v1/users {"name", "role", "password"}: 201 with the user as listed; 400 for a bad
 * name, role or password (password_check's rule), 409 when the name exists. */
void admin_api_user_add(struct http_request *req, struct http_response *res);
/* POST /v1/users/{name}/disable and /enable: 200 with the user; disabling ends their
 * sessions. 404 for no such user. */
void admin_api_user_disable(struct http_request *req, struct http_response *res);
void admin_api_user_enable(struct http_request *req, struct http_response *res);
/* POST /v1/users/{name}/password {"password"}: 200 with the user; ends their sessions and
 * clears their failed logins. */
void admin_api_user_password(struct http_request *req, struct http_response *res);
/* POST /v1/fences: a GeoJSON fence file (docs/FENCES.md) stored as `import fences` does, in
 * one transaction (a bad file stores nothing: 400 with the reason); each fence id new,
 * unchanged or replaced (a new version; the old one kept). 200 {"fences": [{"fence",
 * "version", "outcome", "sha256"}]}. */
void admin_api_fences_post(struct http_request *req, struct http_response *res);

#endif
