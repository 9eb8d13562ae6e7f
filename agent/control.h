/* The daemon's control socket: a Unix stream socket where a kiosk UI (or the agent's own
 * commands) sends one JSON request line and reads one JSON reply line per connection.
 * The socket is mode 0660, owned by the agent's user and the configured group, so only the
 * kiosk user (and root) can use it. Requests carry clear ID numbers: they never leave this
 * host and are never logged. */
#ifndef ROLLCALL_AGENT_CONTROL_H
#define ROLLCALL_AGENT_CONTROL_H

#include <stddef.h>

enum {
    CONTROL_LINE_MAX = 4096,    /* one request or reply line, newline included */
    CONTROL_TIMEOUT_MS = 15000, /* a client waits this long for the daemon's reply */
    CONTROL_BACKLOG = 16,
};

/* Client: sends request (one line, no newline) to the daemon at path and reads its one-line
 * reply into reply (cap bytes, newline stripped). RC_NOTFOUND when no daemon listens there
 * (no socket, or connection refused); RC_TIMEOUT; RC_IO; RC_LIMIT. */
int control_request(const char *path, const char *request, char *reply, size_t cap, int timeout_ms,
                    char *err);

/* Daemon: creates the listening socket at path (removing a stale one left by a crash, but
 * refusing when another daemon answers there), mode 0660, group `group` when not empty.
 * Returns 0 and *fd (non-blocking, close-on-exec), or an rc with err. */
int control_listen(const char *path, const char *group, int *fd, char *err);

/* Daemon: reads one request line from a connected client within timeout_ms into buf.
 * Returns 0, RC_LIMIT (line too long), RC_TIMEOUT or RC_IO. */
int control_read_line(int fd, char *buf, size_t cap, int timeout_ms, char *err);

/* Writes all of line plus a newline to fd (blocking, bounded by timeout_ms). 0 or RC_IO. */
int control_write_line(int fd, const char *line, int timeout_ms, char *err);

#endif
