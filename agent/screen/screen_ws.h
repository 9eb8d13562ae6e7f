/* The kiosk screen's WebSocket (RFC 6455): one connection the page keeps open to its server
 * for the calls a trainee waits on (lookup, sign-in, sign-out, roll-call confirmation). In
 * Chromium a message on an open WebSocket comes back in well under a millisecond where each
 * XMLHttpRequest or fetch to the same loopback server costs about 3 ms (docs/PERFORMANCE.md
 * "Kiosk screen"). The framing is libwslay's (Debian libwslay-dev); the handshake's accept key
 * and the upgrade itself are done here and by libmicrohttpd (MHD_ALLOW_UPGRADE).
 *
 * Invariants:
 * - only text messages of at most max_msg bytes are read; a binary or larger message closes
 *   the connection (1003, 1009), a close from the page is answered and ends it;
 * - each text message is handed to the caller's function in order and its reply sent before
 *   the next is read: a page's calls are answered in the order it made them;
 * - a message's buffer is wiped after the call (it may carry a clear ID number). */
#ifndef ROLLCALL_AGENT_SCREEN_WS_H
#define ROLLCALL_AGENT_SCREEN_WS_H

#include <stddef.h>

enum {
    WS_ACCEPT_LEN = 28, /* base64 of a SHA-1, without NUL */
};

/* Sec-WebSocket-Accept for the request's Sec-WebSocket-Key (base64 of 16 bytes, else
 * RC_INVAL): base64(SHA-1(key + the RFC's GUID)). */
int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1]);

/* The reply (malloc'd, NUL-terminated text) to one message, or NULL to close the connection. */
typedef char *(*ws_message_fn)(void *cls, const char *msg, size_t len);

/* Serves one upgraded connection until the page closes it, an error, or stop_fd becomes
 * readable; extra_in is what the HTTP server read past the request's headers. It blocks (the
 * screen's server runs a thread per connection) and closes nothing: the caller owns sock. */
void ws_serve(int sock, const char *extra_in, size_t extra_len, size_t max_msg, ws_message_fn fn,
              void *cls, int stop_fd);

#endif
