/* GET /v1/devices/{id}/schedule: what a kiosk needs to check sign-ins offline. The classes of
 * the device's institution whose offline sessions use the fence the device was enrolled with,
 * from the start of yesterday to the end of the seventh day ahead (Asia/Shanghai days):
 * sessions and rosters (pseudonym, masked ID number, masked name: "张*伟", never the full
 * name), plus the policy's sign-in windows.
 *
 * Invariants:
 * - only the device's own token reads its schedule (any other caller: 403);
 * - the answer's bytes are a function of the stored plans, the device's enrolment and the
 *   window: its SHA-256 is its version, sent as a strong ETag; If-None-Match with that ETag
 *   gets 304 without a body. */
#ifndef ROLLCALL_SERVER_SCHEDULE_API_H
#define ROLLCALL_SERVER_SCHEDULE_API_H

#include "http/http.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    SCHEDULE_API_CLASSES_MAX = 200, /* classes at one venue in the window; more is refused */
    SCHEDULE_API_DAYS_BACK = 1,     /* the window starts at the start of yesterday */
    SCHEDULE_API_DAYS_AHEAD = 7,    /* and ends at the end of the seventh day ahead */
};

/* The window [*from_ms, *to_ms) for now_ms: whole Asia/Shanghai days. Cannot fail. */
void schedule_api_window(int64_t now_ms, int64_t *from_ms, int64_t *to_ms);

/* Who may call the route: a device token (which device is checked by the handler: 403). */
bool schedule_api_allow(const struct auth_principal *who, const struct http_request *req);

/* The handler. */
void schedule_api_get(struct http_request *req, struct http_response *res);

#endif
