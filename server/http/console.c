/* The console's static files (see console.h). */
#include "http/console.h"

#include "crypto.h"
#include "file.h"
#include "rc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef ROLLCALL_CONSOLE_WEBDIR
#define ROLLCALL_CONSOLE_WEBDIR "/usr/share/rollcall/console"
#endif
#ifndef ROLLCALL_BUILD_CONSOLE_WEBDIR
#define ROLLCALL_BUILD_CONSOLE_WEBDIR ""
#endif

#define CONSOLE_NAME_MAX 128
#define TILES_META "name=\"rollcall-tiles\" content=\""

struct console_file {
    char path[CONSOLE_NAME_MAX + 16]; /* "/" or "/assets/NAME" */
    char *data;
    size_t len;
    const char *type;
    char etag[CRYPTO_SHA256_HEX_LEN + 3];
};

/* Written by console_init before the server starts, only read by request threads after. */
static struct console_file files[CONSOLE_FILES_MAX + 1];
static size_t nfiles;
static char csp[CONSOLE_CSP_MAX];
static char where_buf[4096];

static const char *type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".woff2", "font/woff2"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* The origin ("https://host:port") of a tile URL template, checked: http(s), a host, {z},
 * {x} and {y}, nothing that could break out of a header or an HTML attribute. */
static int tiles_origin(const char *t, char *origin, size_t n, char *err)
{
    if (strlen(t) > CONSOLE_TILES_MAX)
        return rc_fail(err, RC_INVAL, "--tiles: at most %d bytes", CONSOLE_TILES_MAX);
    for (const char *p = t; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("\"'<>;,\\`", *p))
            return rc_fail(err, RC_INVAL,
                           "--tiles: '%c' is not allowed in the URL template (ASCII without "
                           "spaces, quotes, <, >, ; or ,)",
                           *p > ' ' ? *p : '?');
    size_t skip = strncmp(t, "https://", 8) == 0 ? 8 : strncmp(t, "http://", 7) == 0 ? 7 : 0;
    if (!skip)
        return rc_fail(err, RC_INVAL,
                       "--tiles: the URL template must start with https:// or "
                       "http://");
    size_t host = strcspn(t + skip, "/?#");
    if (host == 0 || !strstr(t, "{z}") || !strstr(t, "{x}") || !strstr(t, "{y}"))
        return rc_fail(err, RC_INVAL,
                       "--tiles: the URL template needs a host and {z}, {x} and "
                       "{y} (https://tiles.example/{z}/{x}/{y}.png)");
    if (strstr(t + skip, "{s}") && strstr(t + skip, "{s}") < t + skip + host)
        return rc_fail(err, RC_INVAL, "--tiles: {s} subdomains are not supported: name one host");
    if (skip + host + 1 > n)
        return rc_fail(err, RC_INVAL, "--tiles: host too long");
    memcpy(origin, t, skip + host);
    origin[skip + host] = '\0';
    return RC_OK;
}

static int add_file(const char *url, char *data, size_t len, const char *type, char *err)
{
    if (nfiles >= CONSOLE_FILES_MAX + 1) {
        free(data);
        return rc_fail(err, RC_LIMIT, "console: more than %d files", CONSOLE_FILES_MAX);
    }
    struct console_file *f = &files[nfiles++];
    snprintf(f->path, sizeof f->path, "%s", url);
    f->data = data;
    f->len = len;
    f->type = type;
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(data, len, hex);
    snprintf(f->etag, sizeof f->etag, "\"%.32s\"", hex);
    return RC_OK;
}

/* index.html with the tile template put into its <meta name="rollcall-tiles" content="">. */
static int load_index(const char *dir, const char *tiles, char *err)
{
    char path[4200];
    int n = snprintf(path, sizeof path, "%s/index.html", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return rc_fail(err, RC_LIMIT, "console folder name too long");
    char *html = NULL;
    size_t len = 0;
    int rc = file_read_bounded(path, CONSOLE_FILE_MAX, &html, &len, err);
    if (rc != RC_OK)
        return rc;
    if (tiles && tiles[0]) {
        char *at = strstr(html, TILES_META);
        if (!at) {
            free(html);
            return rc_fail(err, RC_INVAL, "%s has no <meta %s\">", path, TILES_META);
        }
        size_t head = (size_t)(at - html) + strlen(TILES_META), tl = 0;
        for (const char *p = tiles; *p; p++)
            tl += *p == '&' ? 5 : 1;
        char *out = malloc(len + tl + 1);
        if (!out) {
            free(html);
            return rc_fail(err, RC_NOMEM, "out of memory");
        }
        memcpy(out, html, head);
        size_t o = head;
        for (const char *p = tiles; *p; p++) {
            if (*p == '&') {
                memcpy(out + o, "&amp;", 5);
                o += 5;
            } else {
                out[o++] = *p;
            }
        }
        memcpy(out + o, html + head, len - head + 1);
        free(html);
        html = out;
        len += tl;
    }
    return add_file("/", html, len, "text/html; charset=utf-8", err);
}

static int load_assets(const char *dir, char *err)
{
    char path[4200];
    int n = snprintf(path, sizeof path, "%s/assets", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return rc_fail(err, RC_LIMIT, "console folder name too long");
    DIR *d = opendir(path);
    if (!d)
        return rc_fail(err, RC_IO, "cannot open %s", path);
    int rc = RC_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        const char *type = type_of(e->d_name);
        if (!type || strlen(e->d_name) > CONSOLE_NAME_MAX)
            continue; /* not something we serve */
        char file[4400], url[CONSOLE_NAME_MAX + 16];
        int fn = snprintf(file, sizeof file, "%s/%s", path, e->d_name),
            un = snprintf(url, sizeof url, "/assets/%s", e->d_name);
        if (fn < 0 || (size_t)fn >= sizeof file || un < 0 || (size_t)un >= sizeof url)
            continue; /* names are bounded above: cannot happen */
        char *data = NULL;
        size_t len = 0;
        rc = file_read_bounded(file, CONSOLE_FILE_MAX, &data, &len, err);
        if (rc == RC_INVAL) { /* a folder: not served */
            rc = RC_OK;
            continue;
        }
        if (rc != RC_OK || (rc = add_file(url, data, len, type, err)) != RC_OK)
            break;
    }
    closedir(d);
    return rc;
}

static bool has_index(const char *dir)
{
    char path[4200];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/index.html", dir);
    return n > 0 && (size_t)n < sizeof path && dir[0] && stat(path, &st) == 0 &&
           S_ISREG(st.st_mode);
}

int console_init(const char *dir, const char *tiles, const char **where, char *err)
{
    char origin[CONSOLE_TILES_MAX + 1] = "";
    int rc;
    console_fini();
    if (tiles && tiles[0] && (rc = tiles_origin(tiles, origin, sizeof origin, err)) != RC_OK)
        return rc;
    if (!dir) {
        if (has_index(ROLLCALL_CONSOLE_WEBDIR))
            dir = ROLLCALL_CONSOLE_WEBDIR;
        else if (has_index(ROLLCALL_BUILD_CONSOLE_WEBDIR))
            dir = ROLLCALL_BUILD_CONSOLE_WEBDIR;
        else
            return rc_fail(err, RC_NOTFOUND,
                           "no console in " ROLLCALL_CONSOLE_WEBDIR " nor in the build tree");
    } else if (!has_index(dir)) {
        return rc_fail(err, RC_NOTFOUND, "--console %s: no index.html there", dir);
    }
    snprintf(where_buf, sizeof where_buf, "%s", dir);
    if ((rc = load_index(dir, tiles, err)) != RC_OK || (rc = load_assets(dir, err)) != RC_OK) {
        console_fini();
        return rc;
    }
    /* No inline script or style, nothing from another host; Leaflet and ECharts set styles
     * through the CSSOM, which style-src does not govern. */
    snprintf(csp, sizeof csp,
             "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'%s%s; "
             "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
             "form-action 'self'; frame-ancestors 'none'",
             origin[0] ? " " : "", origin);
    *where = where_buf;
    return RC_OK;
}

void console_fini(void)
{
    for (size_t i = 0; i < nfiles; i++)
        free(files[i].data);
    memset(files, 0, sizeof files);
    nfiles = 0;
}

const char *console_csp(void)
{
    return csp;
}

bool console_serve(struct http_request *req, struct http_response *res)
{
    const char *path = req->path;
    if (strcmp(path, "/index.html") == 0)
        path = "/";
    for (size_t i = 0; i < nfiles; i++) {
        const struct console_file *f = &files[i];
        if (strcmp(f->path, path) != 0)
            continue;
        bool index = strcmp(path, "/") == 0;
        res->csp = csp;
        res->etag = f->etag;
        res->cache_control = index ? "no-cache" : "public, max-age=31536000, immutable";
        /* req->conn is NULL only in unit tests, which have no headers. */
        if (req->conn && http_etag_matches(http_header(req, "If-None-Match"), f->etag)) {
            res->status = 304;
            return true;
        }
        res->body = malloc(f->len ? f->len : 1);
        if (!res->body) {
            res->csp = NULL;
            res->etag = NULL;
            res->cache_control = NULL;
            http_reply_error(res, 500, "out of memory");
            return true;
        }
        memcpy(res->body, f->data, f->len);
        res->len = f->len;
        res->status = 200;
        res->content_type = f->type;
        return true;
    }
    return false;
}
