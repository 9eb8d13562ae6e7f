/* Admin-only JSON routes for bearer tokens, so the console does what `rollcall-server token
 * create|list|revoke` does: list them (never a token or its hash), create one (the token is in
 * that one answer only), revoke one (every collector of the database refuses it from its next
 * request on; who revoked it is recorded and logged). Allowed by admin_api_allow. */
#ifndef ROLLCALL_SERVER_HTTP_TOKENS_API_H
#define ROLLCALL_SERVER_HTTP_TOKENS_API_H

#include "http/http.h"

enum { TOKENS_API_BODY_MAX = 1024 };

/* GET /v1/tokens: {"tokens": [{"name", "role", "created_at", "created_by", "revoked_at",
 * "revoked_by"}]} by name, revoked ones included. */
void tokens_api_list(struct http_request *req, struct http_response *res);
/* POST /v1/tokens {"name", "role"}: 201 with the token as listed plus "token" (shown once);
 * 400 for a bad name or role (a bare enroll included: enroll:ID), 409 for a taken name. */
void tokens_api_create(struct http_request *req, struct http_response *res);
/* POST /v1/tokens/{name}/revoke: 200 with the token as listed; 404 no such token, 409 revoked
 * already. */
void tokens_api_revoke(struct http_request *req, struct http_response *res);

#endif
