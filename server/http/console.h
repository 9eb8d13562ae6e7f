/* The console's static files (web/console/, bundled by scripts/build-console.mjs): `/` and
 * `/assets/...` on the API's listener, without authentication (the page logs in through
 * POST /v1/login and reads only the documented API).
 *
 * Invariants:
 * - Every file is read once at start (console_init) and served from memory; a later change
 *   on disk needs a restart. Only index.html and regular files directly in assets/ are served.
 * - Every answer carries the same strict Content-Security-Policy (scripts, styles, fonts and
 *   connections from the collector only; images also from the operator's tile host).
 * - Asset names carry a content hash (the bundler's), so they are cached for a year as
 *   immutable; index.html is revalidated on every load (no-cache, ETag). */
#ifndef ROLLCALL_SERVER_HTTP_CONSOLE_H
#define ROLLCALL_SERVER_HTTP_CONSOLE_H

#include "http/http.h"

#include <stdbool.h>

enum {
    CONSOLE_FILES_MAX = 64,      /* files in assets/ */
    CONSOLE_FILE_MAX = 16 << 20, /* bytes of one file */
    CONSOLE_TILES_MAX = 512,     /* bytes of the --tiles URL template */
    CONSOLE_CSP_MAX = 1024,      /* bytes of the Content-Security-Policy value */
};

/* Loads the console from dir (NULL: the installed share/rollcall/console, else the build
 * tree's console/). tiles: the base-map URL template ("https://host/{z}/{x}/{y}.png") or NULL
 * for none. Returns 0; RC_NOTFOUND when dir (or, with NULL, neither default) holds no
 * index.html; RC_INVAL for a bad template; RC_IO, RC_LIMIT, RC_NOMEM. Sets *where to the
 * folder used (static storage). */
int console_init(const char *dir, const char *tiles, const char **where, char *err);
/* Frees what console_init loaded. */
void console_fini(void);
/* The http_config.fallback: answers GET / and /assets/NAME; false for any other path. */
bool console_serve(struct http_request *req, struct http_response *res);
/* The Content-Security-Policy the console's answers carry (valid after console_init). */
const char *console_csp(void);

#endif
