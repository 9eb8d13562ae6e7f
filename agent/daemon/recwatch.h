/* The daemon's recording watch: the profile's camera directories under inotify. A file with
 * the camera's suffix that is closed after writing (IN_CLOSE_WRITE) or moved in (IN_MOVED_TO)
 * becomes a candidate; once it has not changed for the camera's settle_s it is handed to the
 * start function (the daemon runs `rollcall-agent record add` as a child, which hashes it and
 * appends the rec_file event; start: the file's birth time, else when it was first seen; end:
 * its last modification). One child at a time; the others wait their turn.
 *
 * Invariants:
 * - at most RECWATCH_PENDING_MAX candidates wait at a time (further ones are logged and
 *   dropped: `record add` can still record them);
 * - a directory that cannot be watched (missing, unreadable) is retried every
 *   RECWATCH_RETRY_MS; the daemon keeps running. */
#ifndef ROLLCALL_AGENT_RECWATCH_H
#define ROLLCALL_AGENT_RECWATCH_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
    RECWATCH_PENDING_MAX = 256,
    RECWATCH_RETRY_MS = 60000,
};

typedef struct recwatch recwatch;

/* How a child recording a file ended. */
enum recwatch_outcome {
    RECWATCH_RECORDED, /* the rec_file event is in the outbox */
    RECWATCH_REFUSED,  /* refused for good (the child said why): the file is dropped */
    RECWATCH_RETRY,    /* the outbox was full or busy: tried again after RECWATCH_RETRY_MS */
};

/* Starts recording one settled file of camera (UTC ms times): 0 and *pid of the child doing
 * it, or an rc with err (retried after RECWATCH_RETRY_MS). */
typedef int (*recwatch_start_fn)(void *ctx, const char *camera, const char *path, int64_t start_ms,
                                 int64_t end_ms, pid_t *pid, char *err);

/* Creates the watch for k's cameras (none: a watch that does nothing), handing settled files
 * to start(ctx, ...). 0 and *out (free with recwatch_destroy) or RC_IO / RC_NOMEM. */
int recwatch_create(const struct config_camera *cameras, size_t n_cameras, recwatch_start_fn start,
                    void *ctx, recwatch **out, char *err);
/* Frees the watch; NULL is ignored. */
void recwatch_destroy(recwatch *w);
/* The inotify descriptor to poll() for reading, or -1 when no camera is configured. */
int recwatch_fd(const recwatch *w);
/* Reads pending inotify events (non-blocking) and notes candidate files. */
void recwatch_read(recwatch *w, int64_t now_mono_ms);
/* Looks at candidates that are due, starts a child for a settled one when none runs, and
 * retries unwatched directories. Returns the number of children started (0 or 1). */
int recwatch_tick(recwatch *w, int64_t now_mono_ms);
/* The daemon reaped pid: if it is the watch's child, applies outcome, starts the next one and
 * returns true; false for any other pid. */
bool recwatch_child_exited(recwatch *w, pid_t pid, enum recwatch_outcome outcome,
                           int64_t now_mono_ms);
/* The running child's pid, 0 when none. */
pid_t recwatch_child(const recwatch *w);
/* Milliseconds until recwatch_tick has work, or -1 for none. */
int64_t recwatch_timeout_ms(const recwatch *w, int64_t now_mono_ms);

#endif
