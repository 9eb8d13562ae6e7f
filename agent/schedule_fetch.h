/* Fetching the kiosk's schedule from the collector (GET /v1/devices/{id}/schedule, with
 * If-None-Match), after each sync's batches. Kept apart from schedule.c, which the daemon
 * links: only the `sync` command makes HTTP requests.
 *
 * Invariant: a schedule is stored only when its bytes hash to the ETag the collector sent and
 * parse as a schedule; anything else leaves the stored one in force. */
#ifndef ROLLCALL_AGENT_SCHEDULE_FETCH_H
#define ROLLCALL_AGENT_SCHEDULE_FETCH_H

#include "kiosk.h"

#include <signal.h>
#include <stdint.h>

enum schedule_fetch_outcome {
    SCHEDULE_FETCH_FAILED = 0,
    SCHEDULE_FETCH_UPDATED,   /* 200: a new schedule stored */
    SCHEDULE_FETCH_UNCHANGED, /* 304: the stored one is current */
};

/* Fetches the schedule over a new libcurl handle for k's collector and stores it in k->ob
 * (k needs KIOSK_OUTBOX). *outcome says what happened; *version (65 bytes) gets the version
 * in force afterwards ("" when none). Returns 0, or an rc with a one-line err (network, HTTP
 * status, a bad answer, the database); the stored schedule is then unchanged. */
int schedule_fetch(struct kiosk *k, const volatile sig_atomic_t *stop,
                   enum schedule_fetch_outcome *outcome, char version[65], char *err);

/* "updated", "unchanged", "failed". */
const char *schedule_fetch_outcome_name(enum schedule_fetch_outcome o);

#endif
