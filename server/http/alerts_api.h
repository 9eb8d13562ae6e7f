/* The alert routes (docs/API.md "Alerts"): webhook subscriptions to serious findings and their
 * delivery log. Who may: admin (the city) every subscription, for every district or one;
 * district:CODE its own district's only (its institutions' findings); no other role (an
 * institution is not told about itself, an evaluator assesses after the fact). A subscription's
 * URL is shown masked; a CA file is set by operators only (rollcall-server alert add). */
#ifndef ROLLCALL_SERVER_ALERTS_API_H
#define ROLLCALL_SERVER_ALERTS_API_H

#include "http/http.h"

#include <cJSON.h>

enum {
    ALERTS_API_BODY_MAX = 8 << 10, /* a subscription's JSON body */
    ALERTS_API_LIST_MAX = 1000,    /* deliveries answered at most (?limit=, default 100) */
    ALERTS_API_LIST_DEFAULT = 100,
};

/* admin or district:CODE. */
bool alerts_api_allow(const struct auth_principal *who, const struct http_request *req);
/* GET /v1/alerts/subscriptions */
void alerts_api_list(struct http_request *req, struct http_response *res);
/* POST /v1/alerts/subscriptions: {"name", "url", "format", "district"?} */
void alerts_api_create(struct http_request *req, struct http_response *res);
/* DELETE /v1/alerts/subscriptions/{id} */
void alerts_api_delete(struct http_request *req, struct http_response *res);
/* GET /v1/alerts/deliveries?subscription=&limit= */
void alerts_api_deliveries(struct http_request *req, struct http_response *res);

/* The JSON object shown for a subscription (masked URL); NULL when out of memory. */
cJSON *alerts_api_sub_json(const struct store_alert_sub *s);

#endif
