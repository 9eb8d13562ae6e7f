/* The daemon's recording watch: the profile's camera directories under inotify. A file with
 * the camera's suffix that is closed after writing (IN_CLOSE_WRITE) or moved in (IN_MOVED_TO)
 * becomes a candidate; once it has not changed for the camera's settle_s it is hashed and
 * recorded as a rec_file event (start: the file's birth time, else when it was first seen;
 * end: its last modification).
 *
 * Invariants:
 * - at most RECWATCH_PENDING_MAX candidates wait at a time (further ones are logged and
 *   dropped: `record add` can still record them);
 * - a directory that cannot be watched (missing, unreadable) is retried every
 *   RECWATCH_RETRY_MS; the daemon keeps running. */
#ifndef ROLLCALL_AGENT_RECWATCH_H
#define ROLLCALL_AGENT_RECWATCH_H

#include "kiosk.h"

#include <stdint.h>

enum {
    RECWATCH_PENDING_MAX = 256,
    RECWATCH_RETRY_MS = 60000,
};

typedef struct recwatch recwatch;

/* Creates the watch for k's cameras (none: a watch that does nothing). 0 and *out (free with
 * recwatch_destroy) or RC_IO / RC_NOMEM. */
int recwatch_create(struct kiosk *k, recwatch **out, char *err);
/* Frees the watch; NULL is ignored. */
void recwatch_destroy(recwatch *w);
/* The inotify descriptor to poll() for reading, or -1 when no camera is configured. */
int recwatch_fd(const recwatch *w);
/* Reads pending inotify events (non-blocking) and notes candidate files. */
void recwatch_read(recwatch *w, int64_t now_mono_ms);
/* Records the candidates that have settled, and retries unwatched directories. Returns the
 * number of rec_file events appended. */
int recwatch_tick(recwatch *w, int64_t now_mono_ms);
/* Milliseconds until recwatch_tick has work, or -1 for none. */
int64_t recwatch_timeout_ms(const recwatch *w, int64_t now_mono_ms);

#endif
