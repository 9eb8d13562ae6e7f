/* The daemon's periodic-sync hook: the one place where `run` hands over to the uploader.
 * agent/sync_hook.c calls the uploader (agent/sync.h) with a time budget; the retry schedule
 * after a failure comes from the outbox state. */
#ifndef ROLLCALL_AGENT_SYNC_HOOK_H
#define ROLLCALL_AGENT_SYNC_HOOK_H

#include "kiosk.h"

#include <stdint.h>

/* Called by the daemon every profile sync.interval_s (and once at start). Uploads what is
 * pending, records the outcome in the outbox state (keys "sync.last_ok_ms", "sync.last_error")
 * and may ask for an earlier or later next call through *next_ms (milliseconds from now;
 * left unchanged means the profile's interval; a backoff after a failure goes here). Must not
 * block longer than the profile's sync.timeout_s. Returns 0, or an rc with err (logged by the
 * daemon, which keeps running). */
int sync_hook_run(struct kiosk *k, int64_t *next_ms, char *err);

#endif
