/* The photo step of sync: after the events, each photo an acknowledged event names goes to
 * the collector (PUT /v1/events/{id}/photo, docs/API.md "Photos"), in chunks with
 * Content-Range so an interrupted upload resumes where the collector's copy ends. A photo
 * the collector holds is deleted here; the position reached is kept in the outbox state
 * ("photo.seq"), so each event is looked at once.
 *
 * Invariants:
 * - never before its event: only events up to the acknowledged seq are visited;
 * - never blocks event sync: it runs after the batches, and a failure stops only this step
 *   (the position stays, the next sync retries);
 * - a photo is deleted here only after the collector answered that it stores it, or by the
 *   orphan sweep when no event still to upload names it. */
#ifndef ROLLCALL_AGENT_PHOTO_UPLOAD_H
#define ROLLCALL_AGENT_PHOTO_UPLOAD_H

#include "kiosk.h"

#include <signal.h>
#include <stdint.h>

enum {
    PHOTO_UPLOAD_CHUNK = 256 * 1024, /* bytes per request */
    PHOTO_UPLOAD_EVENTS_MAX = 256,   /* events looked at per pass */
};

#define PHOTO_KEY_SEQ "photo.seq"

struct photo_upload_result {
    int64_t uploaded; /* photos the collector now stores (and deleted here) */
    int64_t skipped;  /* events whose photo is not here any more, or that the collector refused */
    int64_t seq;      /* the position reached */
};

/* One pass (k needs KIOSK_OUTBOX). Returns 0, RC_NET (the collector could not be reached or
 * answered 5xx: try again later), RC_STATE (not enrolled), RC_TIMEOUT (*stop), RC_DB. */
int photo_upload_pending(struct kiosk *k, const volatile sig_atomic_t *stop,
                         struct photo_upload_result *res, char *err);

/* The orphan sweep (k needs KIOSK_OUTBOX): removes each file in DATA_DIR/photos, a photo or a
 * left-over temporary file, last written at least min_age_ms before now_ms that no event still
 * to upload (after the "photo.seq" position) names: a still stored for a sign-in that was
 * refused or never sent. A photo an event still names stays until sync has uploaded it.
 * *removed gets the count. The caller keeps photo_store and sign-ins out while it runs (a
 * photo stored again gets a new time, photo.h). Returns 0, RC_IO, RC_DB, RC_NOMEM. */
int photo_sweep(struct kiosk *k, int64_t now_ms, int64_t min_age_ms, size_t *removed, char *err);

#endif
