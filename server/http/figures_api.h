/* HTTP handlers of the figures (docs/API.md): class plans, online records, assessments,
 * attendance reports, summaries, findings, subsidy, reviews. Each checks the caller's scope on
 * the resource it touches through scope.h (the route's allow function has already checked
 * that the role may call the route at all). */
#ifndef ROLLCALL_SERVER_FIGURES_API_H
#define ROLLCALL_SERVER_FIGURES_API_H

#include "http/http.h"

enum {
    FIGURES_API_QUERY_MAX = 128,  /* bytes of one query-string value */
    FIGURES_API_DETAIL_MAX = 600, /* bytes of a finding's detail in another language */
    FIGURES_API_LIST_MAX = 10000, /* findings in one GET /v1/findings answer */
};

/* PUT /v1/classes/{id}: a class plan (JSON, or CSV with Content-Type text/csv). */
void figures_api_put_class(struct http_request *req, struct http_response *res);
/* POST /v1/classes/{id}/assessments: assessment results of that class. */
void figures_api_post_assessments(struct http_request *req, struct http_response *res);
/* POST /v1/online-records: online-platform records. */
void figures_api_post_online(struct http_request *req, struct http_response *res);
/* GET /v1/classes/{id}/attendance[?format=json|csv|xlsx&table=...]: the class's report. */
void figures_api_attendance(struct http_request *req, struct http_response *res);
/* GET /v1/summary?district=&institution=&from=&to=: per class, institution and district. */
void figures_api_summary(struct http_request *req, struct http_response *res);
/* GET /v1/evaluation/{year}?district=&institution=&format=json|csv: the yearly quality
 * evaluation per institution in scope, with the year before beside it. */
void figures_api_evaluation(struct http_request *req, struct http_response *res);
/* GET /v1/findings?district=&institution=&class=&from=&to=&since=: findings in scope. */
void figures_api_findings(struct http_request *req, struct http_response *res);
/* GET /v1/classes/{id}/subsidy[?claim=YYYY-MM-DD&format=json|csv]: eligibility and amounts. */
void figures_api_subsidy(struct http_request *req, struct http_response *res);
/* POST /v1/findings/{id}/review: {"decision": "approve"|"reject", "reason": "..."} on the
 * flagged sign-in or sign-out whose event id is {id}. */
void figures_api_review(struct http_request *req, struct http_response *res);

/* The collector's signing key file the evidence route signs with (serve sets it before serving;
 * "" or never set: the route answers 503). */
void figures_api_set_signing_key(const char *path);
/* GET /v1/classes/{id}/evidence: the class's signed evidence bundle (application/x-tar), names
 * only for a role that may see them (docs/EVIDENCE.md). */
void figures_api_evidence(struct http_request *req, struct http_response *res);

/* GET /public/evaluation/{year} (no login): the year's signed publication as JSON, or CSV with
 * ?format=csv or a {year} of the form YYYY.csv. */
void figures_api_publication(struct http_request *req, struct http_response *res);

#endif
