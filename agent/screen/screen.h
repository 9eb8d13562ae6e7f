/* The kiosk screen's server (`rollcall-agent screen`): a small HTTP server on loopback for the
 * kiosk's browser. It serves the page (web/kiosk: HTML, CSS, JavaScript, read once at start)
 * and a local JSON API the page calls, and talks to the daemon over its control socket: the
 * daemon stays lean (no HTTP server, no image code).
 *
 * Invariants:
 * - it listens on a loopback address only, and answers only requests whose Host is that
 *   address (or localhost) with its port; a POST and the WebSocket's handshake (screen_ws.h)
 *   must come from the same origin (Origin), and
 *   a request a browser marks as cross-site (Sec-Fetch-Site) is refused: another web page the
 *   kiosk's browser might open cannot drive it;
 * - every answer carries a strict Content-Security-Policy (only this origin's scripts and
 *   styles, the camera stream as a blob) and no caching of the API;
 * - a clear ID number in a request body is wiped after use and never logged;
 * - photos are written as DATA_DIR/photos/<sha256>.jpg (photo.h) before the sign-in that names
 *   them is sent to the daemon; a refused sign-in deletes no photo (byte-identical stills share
 *   one file an earlier event may name): a still no event names is removed by the orphan sweep
 *   (photo_sweep) once it is SCREEN_PHOTO_ORPHAN_S old, at start and every
 *   SCREEN_PHOTO_SWEEP_S, never while a photo is being stored or a sign-in sent. */
#ifndef ROLLCALL_AGENT_SCREEN_H
#define ROLLCALL_AGENT_SCREEN_H

#include <stdint.h>

enum {
    SCREEN_PORT_DEFAULT = 8480,
    SCREEN_JSON_MAX = 4096,      /* a JSON request body */
    SCREEN_CONNECTIONS_MAX = 32, /* concurrent connections */
    SCREEN_STATIC_MAX = 512 * 1024,
    SCREEN_PHOTO_SWEEP_S = 60,   /* how often the orphan sweep runs */
    SCREEN_PHOTO_ORPHAN_S = 600, /* a still no event names is removed this long after it was
                                    stored (the page re-takes one older than 5 s) */
};

struct screen_options {
    const char *config_path; /* the agent config */
    const char *listen;      /* "127.0.0.1:PORT" (PORT 0: any free port) */
    const char *web_dir;     /* the page's files */
};

/* Runs the screen server until SIGTERM or SIGINT. Prints "listening on http://ADDR:PORT/" at
 * info level once it accepts connections (and tells systemd READY=1). Returns 0 after a clean
 * stop, or an rc with err (bad --listen, config, web files, bind). */
int screen_run(const struct screen_options *opt, char *err);

/* Parses "A.B.C.D:PORT" with A.B.C.D a loopback address (127.0.0.0/8) and PORT 0..65535.
 * 0, or RC_INVAL with err. */
int screen_parse_listen(const char *s, uint32_t *addr_host_order, uint16_t *port, char *err);

#endif
