/* libmicrohttpd glue. The access handler is called several times per request: once when the
 * headers are in (route, authentication, Content-Length and Content-Encoding checks, each of
 * which may answer at once), once per piece of body (counted and, for gzip, inflated against
 * the cap), and once more at the end (the route's handler). State between calls lives in a
 * struct request_state freed by MHD's request-completed callback. */
#include "http/http.h"

#include "dynbuf.h"
#include "http/session.h"
#include "http/tlscert.h"
#include "i18n.h"
#include "log.h"
#include "rc.h"
#include "utf8.h"

#include <cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum {
    LISTEN_MAX = 300,
    ERROR_LINE_MAX = 300,
    INFLATE_CHUNK = 16 << 10,
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_config cfg;
    int route_metric[METRICS_ROUTES_MAX];
    unsigned port;
    struct sockaddr_storage addr;
};

struct request_state {
    const struct http_route *route;
    int route_index; /* -1: unmatched */
    bool early;      /* a response was queued before the body: ignore the rest */
    bool overflow;   /* body over the cap while streaming: answer 413 at the end */
    unsigned overflow_status;
    bool gzip;
    bool z_ready;
    bool z_done;
    z_stream z;
    struct dynbuf body; /* decoded body, at most cfg.max_body bytes */
    size_t raw_len;
    struct auth_principal who;
    bool authenticated;
    struct http_request req;
    char seg_buf[HTTP_PARAMS_MAX * (HTTP_SEGMENT_MAX + 1)];
    char overflow_msg[ERROR_LINE_MAX];
};

bool http_anyone(const struct auth_principal *who, const struct http_request *req)
{
    (void)who;
    (void)req;
    return true;
}

static bool segment_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("._~:@-", c) != NULL;
}

bool http_route_match(const char *pattern, const char *path, const char **params, size_t *nparams,
                      char *seg_buf)
{
    const char *p = pattern;
    const char *u = path;
    size_t np = 0;
    char *buf = seg_buf;
    while (*p && *u) {
        if (*p != '/' || *u != '/')
            return false;
        p++;
        u++;
        const char *pe = strchr(p, '/');
        const char *ue = strchr(u, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t ul = ue ? (size_t)(ue - u) : strlen(u);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (ul == 0 || ul > HTTP_SEGMENT_MAX || np >= HTTP_PARAMS_MAX)
                return false;
            for (size_t i = 0; i < ul; i++) {
                if (!segment_char(u[i]))
                    return false;
            }
            memcpy(buf, u, ul);
            buf[ul] = '\0';
            params[np++] = buf;
            buf += ul + 1;
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return false;
        }
        p += pl;
        u += ul;
    }
    if (*p || *u)
        return false;
    *nparams = np;
    return true;
}

const char *http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_GET_ARGUMENT_KIND,
                                       name);
}

int http_set_download(struct http_response *res, const char *filename)
{
    char v[HTTP_DISPOSITION_MAX + 1];
    size_t n = 0;
    bool plain = true;
    static const char lead[] = "attachment; filename=\"";
    memcpy(v, lead, sizeof lead - 1);
    n = sizeof lead - 1;
    for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
        bool ok = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
        plain = plain && ok;
        if (n + 2 > sizeof v - 1)
            return RC_LIMIT;
        v[n++] = ok ? (char)*p : '_';
    }
    v[n++] = '"';
    if (!plain) {
        /* RFC 8187 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else %XX. */
        static const char keep[] = "!#$&+-.^_`|~";
        static const char hex[] = "0123456789ABCDEF";
        static const char star[] = "; filename*=UTF-8''";
        if (n + sizeof star - 1 > sizeof v - 1)
            return RC_LIMIT;
        memcpy(v + n, star, sizeof star - 1);
        n += sizeof star - 1;
        for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
            bool attr = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                        (*p >= '0' && *p <= '9') || (*p < 0x80 && strchr(keep, *p));
            if (n + (attr ? 1 : 3) > sizeof v - 1)
                return RC_LIMIT;
            if (attr) {
                v[n++] = (char)*p;
            } else {
                v[n++] = '%';
                v[n++] = hex[*p >> 4];
                v[n++] = hex[*p & 15];
            }
        }
    }
    v[n] = '\0';
    memcpy(res->disposition, v, n + 1);
    return RC_OK;
}

void http_reply_json(struct http_response *res, unsigned status, const char *json)
{
    free(res->body);
    res->status = status;
    res->code = NULL;
    res->content_type = NULL;
    res->disposition[0] = '\0';
    res->len = strlen(json);
    res->body = malloc(res->len + 1);
    if (!res->body) {
        res->status = 500;
        res->len = 0;
        return;
    }
    memcpy(res->body, json, res->len + 1);
}

const char *http_error_name(enum http_error e, unsigned status)
{
    static const char *const names[HTTP_E_COUNT] = {
        [HTTP_E_INVALID_JSON] = "invalid_json",     [HTTP_E_LOGIN_FAILED] = "login_failed",
        [HTTP_E_OUT_OF_SCOPE] = "out_of_scope",     [HTTP_E_CSRF_MISSING] = "csrf_missing",
        [HTTP_E_BAD_SIGNATURE] = "bad_signature",   [HTTP_E_CHAIN_GAP] = "chain_gap",
        [HTTP_E_CHAIN_CONFLICT] = "chain_conflict", [HTTP_E_CHAIN_BREAK] = "chain_break",
        [HTTP_E_BAD_EVENT] = "bad_event",           [HTTP_E_FOREIGN_EVENTS] = "foreign_events",
    };
    if (e > HTTP_E_STATUS && e < HTTP_E_COUNT)
        return names[e];
    switch (status) {
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 429: return "too_many_requests";
    case 431: return "headers_too_large";
    case 503: return "unavailable";
    case 505: return "http_version";
    default: return status >= 500 ? "internal" : "bad_request";
    }
}

/* (Re)builds res's error body from its code and line, in lang. */
static void render_error(struct http_response *res, enum i18n_lang lang)
{
    free(res->body);
    res->body = NULL;
    res->len = 0;
    const char *message = i18n_text2("error", res->code, lang);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "error", res->error_line) &&
        cJSON_AddStringToObject(o, "code", res->code) &&
        cJSON_AddStringToObject(o, "message", message ? message : res->error_line) &&
        (res->expected_seq <= 0 ||
         cJSON_AddNumberToObject(o, "expected_seq", (double)res->expected_seq)))
        res->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (res->body) {
        res->len = strlen(res->body);
    } else {
        res->status = 500;
        res->code = NULL;
    }
}

static void reply_error_v(struct http_response *res, unsigned status, enum http_error e,
                          const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void reply_error_v(struct http_response *res, unsigned status, enum http_error e,
                          const char *fmt, va_list ap)
{
    vsnprintf(res->error_line, sizeof res->error_line, fmt, ap);
    for (char *c = res->error_line; *c; c++) {
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    }
    res->content_type = NULL;
    res->disposition[0] = '\0';
    res->etag = res->cache_control = NULL; /* an error is never cached */
    res->status = status;
    res->code = http_error_name(e, status);
    render_error(res, I18N_ZH);
}

void http_reply_error(struct http_response *res, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(res, status, HTTP_E_STATUS, fmt, ap);
    va_end(ap);
}

void http_reply_coded(struct http_response *res, unsigned status, enum http_error e,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(res, status, e, fmt, ap);
    va_end(ap);
}

static void client_address(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "?");
    if (!ci || !ci->client_addr)
        return;
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out, n, "?");
}

void http_release_db(struct http_request *req)
{
    if (req->db && req->pool)
        store_pool_release(req->pool, req->db);
    req->db = NULL;
}

void http_client_address(const struct http_request *req, char *out, size_t n)
{
    client_address((struct MHD_Connection *)req->conn, out, n);
}

/* libmicrohttpd 0.9.75 answers some requests itself, before any access handler runs: a
 * malformed request line or header (400), a Content-Length past 2^64 (413), a request line or
 * headers over MHD_OPTION_CONNECTION_MEMORY_LIMIT (414, 431), an HTTP version other than 1.x
 * (505), with fixed HTML pages and no Content-Type; its API has no hook for them. The server
 * links MHD from its static archive with -Wl,--wrap=MHD_create_response_from_buffer
 * (CMakeLists.txt), so every response MHD makes passes through here: one of MHD's HTML error
 * pages becomes {"error": "<its title>"} with Content-Type application/json (MHD then queues
 * it with its status); every other response goes through untouched. */
struct MHD_Response *__real_MHD_create_response_from_buffer(size_t size, void *buffer,
                                                            enum MHD_ResponseMemoryMode mode);
struct MHD_Response *__wrap_MHD_create_response_from_buffer(size_t size, void *buffer,
                                                            enum MHD_ResponseMemoryMode mode);

struct MHD_Response *__wrap_MHD_create_response_from_buffer(size_t size, void *buffer,
                                                            enum MHD_ResponseMemoryMode mode)
{
    static const char open[] = "<html><head><title>";
    const char *b = buffer;
    /* MHD's own error pages are static strings (MHD_RESPMEM_PERSISTENT); the pages the console
     * will serve are not, so they are never rewritten. */
    if (mode != MHD_RESPMEM_PERSISTENT || !b || size < sizeof open - 1 ||
        memcmp(b, open, sizeof open - 1) != 0)
        return __real_MHD_create_response_from_buffer(size, buffer, mode);
    /* The page's title as one line of text ("Request malformed"; &quot; as '"'). */
    char title[128];
    size_t n = 0;
    for (size_t i = sizeof open - 1; i < size && b[i] != '<' && n + 1 < sizeof title;) {
        if (size - i >= 6 && memcmp(b + i, "&quot;", 6) == 0) {
            title[n++] = '"';
            i += 6;
        } else {
            title[n++] = b[i++];
        }
    }
    title[n] = '\0';
    if (n == 0)
        snprintf(title, sizeof title, "request refused");
    if (title[0] >= 'A' && title[0] <= 'Z' && !(title[1] >= 'A' && title[1] <= 'Z'))
        title[0] = (char)(title[0] - 'A' + 'a');
    struct http_response res = {0};
    http_reply_error(&res, 400, "%s", title);
    if (!res.body)
        return NULL;
    struct MHD_Response *r =
        __real_MHD_create_response_from_buffer(res.len, res.body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(res.body);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    return r;
}

/* Queues res (taking its body) and counts it. Returns MHD's verdict. */
static enum MHD_Result respond(struct http_server *s, struct MHD_Connection *c,
                               struct request_state *st, struct http_response *res)
{
    if (!res->body && res->status >= 400)
        http_reply_error(res, res->status, "%s", res->status == 404 ? "not found" : "error");
    enum i18n_lang lang = I18N_ZH;
    if (res->code && res->status < 400)
        res->code = NULL; /* a handler that answered after all */
    if (res->code) {
        lang = i18n_from_accept_language(
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
        if (lang != I18N_ZH)
            render_error(res, lang);
    }
    struct MHD_Response *r;
    if (res->body)
        r = MHD_create_response_from_buffer(res->len, res->body, MHD_RESPMEM_MUST_FREE);
    else
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(res->body);
        res->body = NULL;
        return MHD_NO;
    }
    res->body = NULL; /* MHD owns it now */
    /* A 304 has no body, so no type. */
    if (res->status != MHD_HTTP_NOT_MODIFIED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                res->content_type ? res->content_type : "application/json");
    if (res->disposition[0] && res->status == MHD_HTTP_OK)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, res->disposition);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            res->cache_control ? res->cache_control : "no-store");
    if (res->etag && (res->status == MHD_HTTP_OK || res->status == MHD_HTTP_NOT_MODIFIED))
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, res->etag);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (res->code) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_LANGUAGE, i18n_tag(lang));
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
    }
    if (res->csp) {
        MHD_add_response_header(r, "Content-Security-Policy", res->csp);
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    }
    if (res->set_cookie[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, res->set_cookie);
    if (res->retry_after_s) {
        char after[24];
        snprintf(after, sizeof after, "%u", res->retry_after_s);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, after);
    }
    if (res->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"rollcall\"");
    if (res->status == MHD_HTTP_METHOD_NOT_ALLOWED && st && st->req.path) {
        /* List the methods this path does answer. */
        char allow[128] = "";
        size_t used = 0;
        for (size_t i = 0; i < s->cfg.nroutes; i++) {
            const char *params[HTTP_PARAMS_MAX];
            size_t np;
            char seg[HTTP_PARAMS_MAX * (HTTP_SEGMENT_MAX + 1)];
            if (!http_route_match(s->cfg.routes[i].pattern, st->req.path, params, &np, seg))
                continue;
            int w = snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
                             s->cfg.routes[i].method);
            if (w < 0 || (size_t)w >= sizeof allow - used)
                break;
            used += (size_t)w;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    }
    enum MHD_Result ok = MHD_queue_response(c, res->status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES)
        metrics_request(s->cfg.metrics, st ? st->route_index : -1, res->status);
    if (st && st->req.method) {
        char ip[64];
        client_address(c, ip, sizeof ip);
        log_msg(LOG_LVL_DEBUG, "%s %s %u from %s%s%s", st->req.method, st->req.path, res->status,
                ip, st->authenticated ? " token " : "", st->authenticated ? st->who.name : "");
    }
    return ok;
}

static enum MHD_Result respond_error(struct http_server *s, struct MHD_Connection *c,
                                     struct request_state *st, unsigned status, const char *msg)
{
    struct http_response res = {0};
    http_reply_error(&res, status, "%s", msg);
    return respond(s, c, st, &res);
}

static void state_free(struct request_state *st)
{
    if (!st)
        return;
    if (st->z_ready)
        inflateEnd(&st->z);
    dynbuf_free(&st->body);
    free(st);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    state_free(*con_cls);
    *con_cls = NULL;
}

/* Appends n bytes of decoded body; false when the cap would be passed (or out of memory). */
static bool body_append(struct request_state *st, const uint8_t *data, size_t n)
{
    return dynbuf_add(&st->body, data, n) == RC_OK;
}

/* Takes one piece of the body as sent. Returns 0, or the status to answer with (413, 400),
 * with the reason in st->overflow_msg. */
static unsigned body_feed(struct http_server *s, struct request_state *st, const char *data,
                          size_t n)
{
    size_t cap = s->cfg.max_body;
    if (n > cap - st->raw_len) {
        snprintf(st->overflow_msg, sizeof st->overflow_msg, "request body over %zu bytes", cap);
        return MHD_HTTP_CONTENT_TOO_LARGE;
    }
    st->raw_len += n;
    if (!st->gzip) {
        if (!body_append(st, (const uint8_t *)data, n)) {
            snprintf(st->overflow_msg, sizeof st->overflow_msg, "request body over %zu bytes", cap);
            return MHD_HTTP_CONTENT_TOO_LARGE;
        }
        return 0;
    }
    if (st->z_done) {
        if (n == 0)
            return 0;
        snprintf(st->overflow_msg, sizeof st->overflow_msg, "data after the end of the gzip body");
        return MHD_HTTP_BAD_REQUEST;
    }
    uint8_t out[INFLATE_CHUNK];
    st->z.next_in = (Bytef *)(uintptr_t)data;
    st->z.avail_in = (uInt)n;
    do {
        st->z.next_out = out;
        st->z.avail_out = sizeof out;
        int zr = inflate(&st->z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            snprintf(st->overflow_msg, sizeof st->overflow_msg, "corrupt gzip body");
            return MHD_HTTP_BAD_REQUEST;
        }
        size_t got = sizeof out - st->z.avail_out;
        if (!body_append(st, out, got)) {
            snprintf(st->overflow_msg, sizeof st->overflow_msg,
                     "request body over %zu bytes after decompression", cap);
            return MHD_HTTP_CONTENT_TOO_LARGE;
        }
        if (zr == Z_STREAM_END) {
            st->z_done = true;
            if (st->z.avail_in > 0) {
                snprintf(st->overflow_msg, sizeof st->overflow_msg,
                         "data after the end of the gzip body");
                return MHD_HTTP_BAD_REQUEST;
            }
            break;
        }
        if (zr == Z_BUF_ERROR && st->z.avail_in == 0)
            break;
    } while (st->z.avail_in > 0 || st->z.avail_out == 0);
    return 0;
}

static enum metrics_refusal refusal_for(unsigned status)
{
    return status == MHD_HTTP_CONTENT_TOO_LARGE ? METRICS_REFUSED_TOO_LARGE
                                                : METRICS_REFUSED_BAD_ENCODING;
}

/* Every query argument's name and decoded value through the one text validator; the first
 * refusal goes into cls (an ERR_LEN buffer) and stops the walk. */
static enum MHD_Result query_arg_check(void *cls, enum MHD_ValueKind kind, const char *key,
                                       size_t key_size, const char *value, size_t value_size)
{
    char *err = cls;
    (void)kind;
    if (utf8_check(key, key_size, "query argument name", err) != RC_OK)
        return MHD_NO;
    char field[96];
    snprintf(field, sizeof field, "query argument %.64s", key);
    if (value && utf8_check(value, value_size, field, err) != RC_OK)
        return MHD_NO;
    return MHD_YES;
}

/* First call: route, authentication, query text, declared size and encoding. Returns MHD_YES with or
 * without a response queued (st->early tells), or MHD_NO to drop the connection. */
static enum MHD_Result first_call(struct http_server *s, struct MHD_Connection *c,
                                  struct request_state *st, const char *url, const char *method)
{
    const char *m = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 ? MHD_HTTP_METHOD_GET : method;
    st->req.method = m;
    st->req.path = url;
    st->req.conn = c;
    st->req.tls = s->cfg.tls_cert != NULL;
    st->req.metrics = s->cfg.metrics;
    st->req.body = (const uint8_t *)"";
    st->route_index = -1;
    bool path_known = false;
    for (size_t i = 0; i < s->cfg.nroutes; i++) {
        const struct http_route *r = &s->cfg.routes[i];
        size_t np = 0;
        if (!http_route_match(r->pattern, url, st->req.params, &np, st->seg_buf))
            continue;
        path_known = true;
        if (strcmp(r->method, m) == 0) {
            st->route = r;
            st->route_index = s->route_metric[i];
            st->req.nparams = np;
            break;
        }
    }
    if (!st->route) {
        st->early = true;
        if (!path_known && strcmp(m, MHD_HTTP_METHOD_GET) == 0 && s->cfg.fallback) {
            struct http_response res = {0};
            if (s->cfg.fallback(&st->req, &res))
                return respond(s, c, st, &res);
            free(res.body);
        }
        if (path_known)
            return respond_error(s, c, st, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
        return respond_error(s, c, st, MHD_HTTP_NOT_FOUND, "not found");
    }

    if (st->route->allow != http_anyone) {
        store *db = store_pool_acquire(s->cfg.pool, HTTP_STORE_WAIT_MS);
        if (!db) {
            st->early = true;
            metrics_refused(s->cfg.metrics, METRICS_REFUSED_UNAVAILABLE);
            return respond_error(s, c, st, MHD_HTTP_SERVICE_UNAVAILABLE, "database busy");
        }
        char err[ERR_LEN];
        const char *authz =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        /* A bearer token when one is given; else a login session's cookie. */
        const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
        int rc = !authz && cookie ? session_authenticate(db, cookie, &st->who, err)
                                  : auth_authenticate(db, authz, &st->who, err);
        store_pool_release(s->cfg.pool, db);
        char ip[64];
        if (rc == RC_AUTH) {
            st->early = true;
            client_address(c, ip, sizeof ip);
            log_msg(LOG_LVL_INFO, "401 %s %s from %s: %s", m, url, ip, err);
            metrics_refused(s->cfg.metrics, METRICS_REFUSED_UNAUTHENTICATED);
            return respond_error(s, c, st, MHD_HTTP_UNAUTHORIZED, err);
        }
        if (rc != RC_OK) {
            st->early = true;
            log_msg(LOG_LVL_ERROR, "authenticating %s %s: %s", m, url, err);
            return respond_error(s, c, st, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        }
        st->authenticated = true;
        st->req.who = &st->who;
        if (!session_csrf_ok(&st->who, m,
                             MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token"))) {
            client_address(c, ip, sizeof ip);
            log_msg(LOG_LVL_WARN, "403 %s %s from %s: %s without its CSRF token", m, url, ip,
                    st->who.name);
            st->early = true;
            metrics_refused(s->cfg.metrics, METRICS_REFUSED_FORBIDDEN);
            struct http_response res = {0};
            http_reply_coded(&res, MHD_HTTP_FORBIDDEN, HTTP_E_CSRF_MISSING,
                             "a session's request that changes data needs the session's "
                             "X-CSRF-Token header");
            return respond(s, c, st, &res);
        }
        if (!st->route->allow(&st->who, &st->req)) {
            char role[STORE_ROLE_MAX + 1];
            auth_role_format(&st->who.role, role, sizeof role);
            client_address(c, ip, sizeof ip);
            log_msg(LOG_LVL_WARN, "403 %s %s from %s: token '%s' (role %s) may not call this", m,
                    url, ip, st->who.name, role);
            st->early = true;
            metrics_refused(s->cfg.metrics, METRICS_REFUSED_FORBIDDEN);
            return respond_error(s, c, st, MHD_HTTP_FORBIDDEN,
                                 "this token's role may not call this route");
        }
    }

    char qerr[ERR_LEN] = "";
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, query_arg_check, qerr);
    if (qerr[0]) {
        st->early = true;
        metrics_refused(s->cfg.metrics, METRICS_REFUSED_MALFORMED);
        return respond_error(s, c, st, MHD_HTTP_BAD_REQUEST, qerr);
    }

    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno == ERANGE || (end && *end == '\0' && cl[0] != '-' && v > s->cfg.max_body)) {
            char msg[ERROR_LINE_MAX];
            snprintf(msg, sizeof msg, "request body over %zu bytes", s->cfg.max_body);
            st->early = true;
            metrics_refused(s->cfg.metrics, METRICS_REFUSED_TOO_LARGE);
            return respond_error(s, c, st, MHD_HTTP_CONTENT_TOO_LARGE, msg);
        }
    }
    const char *ce =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (ce && (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)) {
        st->gzip = true;
        /* 15 + 16: a gzip wrapper only (RFC 1952), the largest window. */
        if (inflateInit2(&st->z, 15 + 16) != Z_OK) {
            st->early = true;
            return respond_error(s, c, st, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        }
        st->z_ready = true;
    } else if (ce && strcasecmp(ce, "identity") != 0) {
        st->early = true;
        metrics_refused(s->cfg.metrics, METRICS_REFUSED_BAD_ENCODING);
        return respond_error(s, c, st, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                             "unsupported Content-Encoding (gzip or identity)");
    }
    return MHD_YES;
}

static enum MHD_Result last_call(struct http_server *s, struct MHD_Connection *c,
                                 struct request_state *st)
{
    if (st->gzip && st->raw_len > 0 && !st->z_done) {
        metrics_refused(s->cfg.metrics, METRICS_REFUSED_BAD_ENCODING);
        return respond_error(s, c, st, MHD_HTTP_BAD_REQUEST, "truncated gzip body");
    }
    if (st->body.buf)
        st->req.body = (const uint8_t *)st->body.buf;
    st->req.body_len = dynbuf_len(&st->body);
    store *db = store_pool_acquire(s->cfg.pool, HTTP_STORE_WAIT_MS);
    if (!db) {
        metrics_refused(s->cfg.metrics, METRICS_REFUSED_UNAVAILABLE);
        return respond_error(s, c, st, MHD_HTTP_SERVICE_UNAVAILABLE, "database busy");
    }
    st->req.db = db;
    st->req.pool = s->cfg.pool;
    struct http_response res = {.status = MHD_HTTP_INTERNAL_SERVER_ERROR};
    st->route->handler(&st->req, &res);
    http_release_db(&st->req);
    return respond(s, c, st, &res);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct request_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        dynbuf_init(&st->body, s->cfg.max_body);
        *con_cls = st;
        return first_call(s, c, st, url, method);
    }
    if (st->early) {
        /* Answered already (MHD closes the connection after the response). */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->overflow) {
            /* Still arriving after we decided to refuse: drop the connection once the
             * excess is as large again as the cap rather than read an endless body. */
            if (n > s->cfg.max_body - st->raw_len)
                return MHD_NO;
            st->raw_len += n;
            return MHD_YES;
        }
        unsigned status = body_feed(s, st, upload_data, n);
        if (status) {
            metrics_refused(s->cfg.metrics, refusal_for(status));
            /* MHD 0.9.75 cannot queue a response while the body is still arriving: remember
             * the refusal, discard the rest, answer at the end. */
            st->overflow = true;
            st->overflow_status = status;
            st->raw_len = 0;
            dynbuf_free(&st->body);
        }
        return MHD_YES;
    }
    if (st->overflow)
        return respond_error(s, c, st, st->overflow_status, st->overflow_msg);
    return last_call(s, c, st);
}

/* MHD's own messages (TLS handshake failures, resource limits) into our log at debug level:
 * they are about clients, and a busy server would otherwise log every port scan. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(line, sizeof line, fmt, ap);
#pragma GCC diagnostic pop
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_msg(LOG_LVL_DEBUG, "microhttpd: %s", line);
}

static int parse_listen(const char *listen, struct sockaddr_storage *out, char *err)
{
    char host[LISTEN_MAX];
    const char *colon = strrchr(listen, ':');
    if (!colon || strlen(listen) >= sizeof host)
        return rc_fail(err, RC_INVAL, "--listen wants HOST:PORT, got '%s'", listen);
    size_t hl = (size_t)(colon - listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *h = host;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        h = host + 1;
    }
    const char *port = colon + 1;
    char *end = NULL;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (!*port || *end || errno || p < 0 || p > 65535)
        return rc_fail(err, RC_INVAL, "--listen port must be 0..65535, got '%s'", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gr = getaddrinfo(*h ? h : NULL, port, &hints, &res);
    if (gr != 0)
        return rc_fail(err, RC_INVAL, "--listen %s: %s", listen, gai_strerror(gr));
    memset(out, 0, sizeof *out);
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return RC_OK;
}

int http_start(const struct http_config *cfg, http_server **out, char *err)
{
    int rc = RC_OK;
    *out = NULL;
    if (cfg->threads == 0 || cfg->threads > HTTP_THREADS_MAX)
        return rc_fail(err, RC_INVAL, "--threads must be 1..%d", HTTP_THREADS_MAX);
    if (cfg->max_body == 0)
        return rc_fail(err, RC_INVAL, "--max-body must be positive");
    if (cfg->conn_timeout_s == 0)
        return rc_fail(err, RC_INVAL, "--conn-timeout must be positive");
    if (cfg->nroutes > METRICS_ROUTES_MAX)
        return rc_fail(err, RC_INVAL, "more than %d routes", METRICS_ROUTES_MAX);
    if (!cfg->tls_cert != !cfg->tls_key)
        return rc_fail(err, RC_INVAL, "TLS needs both a certificate and a key");
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return rc_fail(err, RC_NOMEM, "out of memory");
    s->cfg = *cfg;
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct http_route *r = &cfg->routes[i];
        if (!r->allow || !r->handler || !r->method || !r->pattern || r->pattern[0] != '/') {
            rc = rc_fail(err, RC_INVAL,
                         "route %zu is incomplete (every route says who may "
                         "call it)",
                         i);
            goto out;
        }
        char name[METRICS_ROUTE_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s %s", r->method, r->pattern);
        s->route_metric[i] = metrics_route_register(cfg->metrics, name);
    }
    rc = parse_listen(cfg->listen, &s->addr, err);
    if (rc != RC_OK)
        goto out;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (s->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cfg->tls_cert)
        flags |= MHD_USE_TLS;
    /* TLS options travel in an array (empty without TLS); the rest as typed varargs. */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_END, 0, NULL},
        {MHD_OPTION_END, 0, NULL},
        {MHD_OPTION_END, 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (cfg->tls_cert) {
        /* The pair is handed over per handshake (tlscert.h), so http_reload_tls can replace
         * it while serving. */
        rc = http_reload_tls(cfg->tls_cert, cfg->tls_key, err);
        if (rc != RC_OK)
            goto out;
        tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, tlscert_callback()};
        tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                         (void *)(uintptr_t)HTTP_TLS_PRIORITIES};
    }
    /* Handlers block (a batch waits for its group commit, a gap for its predecessor): in a
     * pool each worker thread serves many connections, so one waiting handler stalls its
     * other connections, TLS handshakes included; with a thread per connection only its own
     * (docs/PERFORMANCE.md, "Kept-alive connections, the threading mode and the writer"). libmicrohttpd has no epoll in that mode. */
    if (cfg->thread_per_connection)
        flags = (flags & ~(unsigned)MHD_USE_EPOLL) | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->addr, MHD_OPTION_THREAD_POOL_SIZE,
        cfg->thread_per_connection ? 0U : cfg->threads, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->conn_timeout_s, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_limit,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        cfg->conn_memory, MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL, MHD_OPTION_ARRAY,
        tls, MHD_OPTION_END);
    if (!s->daemon) {
        rc = rc_fail(err, RC_NET,
                     "cannot serve on %s (address in use, bad certificate or key, or no "
                     "permission)",
                     cfg->listen);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    *out = s;
    return RC_OK;
out:
    tlscert_fini();
    free(s);
    return rc;
}

int http_reload_tls(const char *cert_pem, const char *key_pem, char *err)
{
    tlscert *c = NULL;
    int rc = tlscert_parse(cert_pem, key_pem, &c, err);
    if (rc != RC_OK)
        return rc;
    return tlscert_install(c, err);
}

unsigned http_port(const http_server *s)
{
    return s->port;
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    MHD_socket ls = MHD_quiesce_daemon(s->daemon);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    for (int waited = 0; waited < HTTP_DRAIN_MS; waited += 50) {
        const union MHD_DaemonInfo *di =
            MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!di || di->num_connections == 0)
            break;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->daemon);
    tlscert_fini();
    free(s);
}

bool http_etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match)
        return false;
    size_t elen = strlen(etag);
    const char *p = if_none_match;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        const char *tag = p;
        if (n >= 2 && strncmp(tag, "W/", 2) == 0) {
            tag += 2;
            n -= 2;
        }
        if ((n == 1 && *tag == '*') || (n == elen && memcmp(tag, etag, elen) == 0))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}
