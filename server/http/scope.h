/* Who may read or write what: the one place that knows the reader roles' scopes
 * (docs/API.md "Scopes"). Route allow functions ask scope_role_may (may this role call this
 * kind of route at all); handlers ask scope_may once they know which institution a resource
 * belongs to, and narrow listings with scope_narrow. A refusal is answered by scope_refuse,
 * which logs the token's name.
 *
 * Scopes:
 *   admin              everything (city HRSS: approves subsidies, corrects data)
 *   institution:ID     its own classes: plans, rosters with names, online records,
 *                      assessments, reports, subsidy
 *   district:CODE      the institutions registered in district CODE: reports, findings,
 *                      subsidy, and reviews of their flagged sign-ins (masked identities)
 *   evaluator          figures and findings of every institution, masked identities only;
 *                      uploads assessment results for any class
 *   assessor:ID        an evaluation institution (评价机构): uploads assessment results with
 *                      certificate numbers for any class; reads nothing
 *   enroll, device:ID  none of these routes */
#ifndef ROLLCALL_SERVER_SCOPE_H
#define ROLLCALL_SERVER_SCOPE_H

#include "http/auth.h"
#include "http/http.h"

#include <stdbool.h>

enum scope_action {
    SCOPE_READ,             /* attendance, summary, findings */
    SCOPE_READ_SUBSIDY,     /* subsidy eligibility and amounts */
    SCOPE_WRITE_PLAN,       /* PUT /v1/classes/{id} */
    SCOPE_WRITE_ONLINE,     /* POST /v1/online-records */
    SCOPE_WRITE_ASSESSMENT, /* POST /v1/classes/{id}/assessments */
    SCOPE_REVIEW,           /* POST /v1/findings/{id}/review */
};

/* How much of a trainee's identity a caller sees. */
enum scope_identity {
    SCOPE_MASKED, /* pseudonym and masked number */
    SCOPE_NAMES,  /* also the name on the roster */
};

/* True when who's role may perform a at all, for some resource (route-level gate). */
bool scope_role_may(const struct auth_principal *who, enum scope_action a);
/* True when who may perform a on a resource of institution, registered in district ("" when
 * unregistered). */
bool scope_may(const struct auth_principal *who, enum scope_action a, const char *institution,
               const char *district);
/* How much identity who sees of institution's trainees. */
enum scope_identity scope_identity_for(const struct auth_principal *who, const char *institution);
/* Narrows a listing to who's scope: want_* (NULL or "": not asked) are what the caller asked
 * for; *institution and *district receive the filter to apply (NULL: no narrowing), pointing
 * into want_* or who. Every filter asked for must lie inside the scope: an institution token's
 * district filter must be its institution's district, a district token's institution filter
 * an institution registered in its district (looked up in db). Returns 0, RC_AUTH with err
 * saying what lies outside, or a store error. */
int scope_narrow(store *db, const struct auth_principal *who, const char *want_institution,
                 const char *want_district, const char **institution, const char **district,
                 char *err);

/* Answers 403 and logs the refusal with the token's name, role and what was asked. */
void scope_refuse(const struct http_request *req, struct http_response *res, const char *what);

/* Route allow functions (http_allow) for each action. */
bool scope_allow_read(const struct auth_principal *who, const struct http_request *req);
bool scope_allow_read_subsidy(const struct auth_principal *who, const struct http_request *req);
bool scope_allow_write_plan(const struct auth_principal *who, const struct http_request *req);
bool scope_allow_write_online(const struct auth_principal *who, const struct http_request *req);
bool scope_allow_write_assessment(const struct auth_principal *who, const struct http_request *req);
bool scope_allow_review(const struct auth_principal *who, const struct http_request *req);

#endif
