/* The subsidy procedure over HTTP (docs/SUBSIDY.md, docs/openapi.yaml): a class's
 * application and claim (GET and POST /v1/classes/{id}/procedure) and the city's review queue
 * (GET /v1/review-queue). The engine is engine/flow.c; this module parses, scopes and answers.
 *
 * Who: reading a class's procedure is scoped like its subsidy (the institution its own, the
 * district its institutions', admin and evaluator all); an institution submits its own
 * application and claim; admin (the city bureau, 市人社局) reviews, audits, publishes and pays;
 * the review queue, with the bureau's own late reviews, is the city's (admin). */
#ifndef ROLLCALL_SERVER_SUBSIDY_API_H
#define ROLLCALL_SERVER_SUBSIDY_API_H

#include "http/http.h"

#include <stdint.h>

enum { SUBSIDY_API_BODY_MAX = 4096 }; /* bytes of a POST body */

void subsidy_api_get(struct http_request *req, struct http_response *res);
void subsidy_api_post(struct http_request *req, struct http_response *res);
void subsidy_api_queue(struct http_request *req, struct http_response *res);

/* The notice period (公示, working days) of a publish step whose body names none: the serve
 * setting --notice-days (default FLOW_NOTICE_WORKDAYS_DEFAULT). Call before serving. */
void subsidy_api_set_notice_workdays(int64_t days);

/* Route gates: POST for institution and admin tokens; the queue for admin. */
bool subsidy_api_allow_post(const struct auth_principal *who, const struct http_request *req);
bool subsidy_api_allow_queue(const struct auth_principal *who, const struct http_request *req);

#endif
