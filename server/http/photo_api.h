/* Photos of sign-ins from the kiosk screen (personal data): PUT /v1/events/{id}/photo, the
 * device uploading the photo its event names; GET /v1/events/{id}/photo, a reader of that
 * event's institution (admin, the institution, its district; never an evaluator).
 *
 * Invariants:
 * - content-addressed: a photo is stored as PHOTO_DIR/<sha256>.jpg only when its bytes hash to
 *   the photo_sha256 of the event it is uploaded for, an event its own device sent (so only
 *   photos that a hash-chained event names are kept);
 * - resumable: a body with Content-Range (bytes A-B/TOTAL) continues PHOTO_DIR/<sha256>.part
 *   at exactly A (else 409 with expected_offset); the whole photo is hashed before it gets
 *   its name, a mismatch deletes the part;
 * - kept for the configured retention (by file time), purged at start and then at most
 *   hourly while uploads arrive; without a photo directory both routes answer 503. */
#ifndef ROLLCALL_SERVER_PHOTO_API_H
#define ROLLCALL_SERVER_PHOTO_API_H

#include "http/http.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    PHOTO_API_MAX_BYTES = 2 * 1024 * 1024, /* one photo (the kiosk's limit) */
    PHOTO_API_RETENTION_DAYS_DEFAULT = 90,
    PHOTO_API_RETENTION_DAYS_MAX = 3650,
};

/* Sets the photo directory (created 0700 when missing; NULL or "": photos off) and the
 * retention in days, and purges what is older. Call before serving. 0 or RC_IO with err. */
int photo_api_init(const char *dir, int64_t retention_days, char *err);

/* Deletes photos (and unfinished parts) older than the retention. Returns how many, or a
 * negative rc. */
int photo_api_purge(int64_t now_ms, char *err);

bool photo_api_allow_put(const struct auth_principal *who, const struct http_request *req);
bool photo_api_allow_get(const struct auth_principal *who, const struct http_request *req);
void photo_api_put(struct http_request *req, struct http_response *res);
void photo_api_get(struct http_request *req, struct http_response *res);

#endif
