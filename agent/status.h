/* The kiosk's status (`status`, and the control socket's {"cmd":"status"}): queue depth,
 * oldest unsent event, last sync, GNSS state, chain head, clock skew. Built from the outbox
 * and, inside the daemon, from its GNSS watcher. */
#ifndef ROLLCALL_AGENT_STATUS_H
#define ROLLCALL_AGENT_STATUS_H

#include "gnss.h"
#include "kiosk.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* What the status needs from the kiosk: its outbox, device id and GNSS settings (pointers
 * into the kiosk: valid while it is open). */
struct status_env {
    outbox *ob;
    const char *device;
    bool gpsd; /* the profile reads a receiver through gpsd */
    struct gnss_config gnss;
};

/* k's status settings. */
struct status_env status_env_of(struct kiosk *k);

/* Builds the status object into *out (caller cJSON_Deletes). in_daemon: the caller is the
 * running daemon, gw its watcher (NULL when the profile has no receiver), uptime_ms its age.
 * Outside the daemon the GNSS state is "not_running". Returns 0, RC_DB or RC_NOMEM. */
int status_build(const struct status_env *e, bool in_daemon, const gnss_watcher *gw,
                 int64_t uptime_ms, cJSON **out, char *err);

/* Prints a status object as aligned "key: value" lines. */
void status_print_text(const cJSON *st);

/* "none", "stale", "fresh", "surveyed"; static storage. */
const char *status_gnss_state_name(enum gnss_state s);

#endif
