/* Admin-only JSON routes the console's admin page needs where the command line had the only
 * way: GET /v1/users (the people's accounts, never a password hash). */
#ifndef ROLLCALL_SERVER_HTTP_ADMIN_API_H
#define ROLLCALL_SERVER_HTTP_ADMIN_API_H

#include "http/http.h"

/* Allow function: admin only. */
bool admin_api_allow(const struct auth_principal *who, const struct http_request *req);
/* GET /v1/users: {"users": [{"name", "role", "created_at", "password_changed_at",
 * "disabled_at", "last_login_at"}]} by name. */
void admin_api_users(struct http_request *req, struct http_response *res);

#endif
