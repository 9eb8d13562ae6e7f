/* Device enrolment (POST /v1/devices, PIPE-CONTRACT "Enrolment"): registers a kiosk's device
 * id, institution, public key, profile and venue fence, and answers with the institution's
 * pseudonym key and a device token.
 *
 * Invariants:
 * - A device id is bound to one public key forever: the same key again is idempotent (a new
 *   token each time), another key is refused (409), so a cloned or re-imaged kiosk needs a new
 *   id and can never write into another device's chain.
 * - An institution's pseudonym key is made once (32 bytes from the OS random source) on the
 *   first enrolment naming it, in the same transaction, and never changes.
 * - A fence id has one geometry; enrolment never changes a stored fence (only `import fences`
 *   does, keeping history). */
#ifndef ROLLCALL_SERVER_ENROLL_H
#define ROLLCALL_SERVER_ENROLL_H

#include "http/auth.h"
#include "http/http.h"
#include "rc.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define ENROLL_EPH_MAX_M 10000000.0 /* assumed_eph_m in [0, this], as an event's eph */

struct enroll_answer {
    unsigned status; /* 201 new, 200 known device and key; 400, 409 refused */
    char reason[ERR_LEN];
    char device[STORE_ID_MAX + 1];
    char institution[STORE_ID_MAX + 1];
    char institution_key[2 * STORE_INSTITUTION_KEY_LEN + 1]; /* hex */
    char device_token[AUTH_TOKEN_LEN + 1];
};

/* Enrols from a request body (JSON, len bytes) at now_ms, for a caller whose enrol token is
 * bound to institution `bound` ("" for a legacy token bound to none, which is refused: 403, as
 * is a request for another institution) and named `by` (recorded as who enrolled the device).
 * Returns 0 with *ans filled (accepted or refused), or a negative rc with err when the store
 * failed. */
int enroll_device(store *st, const char *bound, const char *by, const char *body, size_t len,
                  int64_t now_ms, struct enroll_answer *ans, char *err);

/* The POST /v1/devices handler. */
void enroll_http_post(struct http_request *req, struct http_response *res);

#endif
