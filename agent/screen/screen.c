/* The kiosk screen's server: libmicrohttpd on loopback, the page's files, a local JSON API that
 * forwards sign-ins to the daemon's control socket, the same calls over a WebSocket
 * (screen_ws.h). See screen.h for the invariants. */
#include "screen/screen.h"

#include "control.h"
#include "dynbuf.h"
#include "file.h"
#include "kiosk.h"
#include "log.h"
#include "photo.h"
#include "photo_upload.h"
#include "rc.h"
#include "schedule.h"
#include "screen/screen_ws.h"
#include "timeutil.h"
#include "trainee.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

enum {
    STATE_REPLY_MAX = 4 * CONTROL_LINE_MAX, /* the daemon's status answer */
    HOST_MAX = 64,
    SESSIONS_SHOWN_MAX = 16, /* sessions listed on the start screen */
};

/* A strict policy: this origin's files only; the camera preview is a MediaStream, the still a
 * blob URL. */
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "        \
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; "                   \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct static_file {
    const char *path; /* URL path */
    const char *file; /* under web_dir */
    const char *type;
    char *body;
    size_t len;
};

struct screen {
    struct kiosk *k; /* config, outbox (the schedule) and the institution key when enrolled */
    pthread_mutex_t lock;
    /* photo stores and sign-ins (read) against the orphan sweep (write): a sweep never sees a
     * still between its store and the event that names it */
    pthread_rwlock_t photo_lock;
    char host_ip[HOST_MAX];   /* "127.0.0.1:8480" */
    char host_name[HOST_MAX]; /* "localhost:8480" */
    struct static_file files[4];
    int stop[2]; /* a pipe: readable once the server stops, ending every WebSocket */
};

/* One request's body, collected across calls of the access handler. */
struct req_body {
    struct dynbuf buf;
    bool too_large;
};

/* ---------- answers ---------- */

/* One call's answer, made once and sent either way: as an HTTP response or as a WebSocket
 * message. */
struct reply {
    unsigned status;
    char *json; /* malloc'd (cJSON's allocator is malloc) */
};

static void reply_json(struct reply *r, unsigned status, const char *json)
{
    r->status = status;
    r->json = strdup(json);
}

static void reply_cjson(struct reply *r, unsigned status, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (s) {
        r->status = status;
        r->json = s;
    } else {
        reply_json(r, 500, "{\"ok\":false,\"error\":\"out of memory\"}");
    }
}

static void reply_error(struct reply *r, unsigned status, const char *code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 0);
    cJSON_AddStringToObject(o, "error", msg);
    if (code)
        cJSON_AddStringToObject(o, "code", code);
    reply_cjson(r, status, o);
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type,
                              const void *body, size_t len, bool cache)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, "Cache-Control", cache ? "max-age=60" : "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, const char *json)
{
    return answer(c, status, "application/json; charset=utf-8", json, strlen(json), false);
}

/* Sends r over HTTP and frees it. */
static enum MHD_Result answer_reply(struct MHD_Connection *c, struct reply r)
{
    enum MHD_Result ret = r.json ? answer_json(c, r.status, r.json) : MHD_NO;
    free(r.json);
    return ret;
}

static enum MHD_Result answer_error(struct MHD_Connection *c, unsigned status, const char *code,
                                    const char *msg)
{
    struct reply r = {0};
    reply_error(&r, status, code, msg);
    return answer_reply(c, r);
}

/* ---------- where a request comes from ---------- */

/* Host must be this server's address or localhost with its port: a DNS name rebound to
 * 127.0.0.1 by another site arrives with that site's name and is refused. A POST must carry
 * this origin; a browser's Sec-Fetch-Site other than same-origin or none is refused. */
static bool same_origin(const struct screen *s, struct MHD_Connection *c, bool post)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!host || (strcmp(host, s->host_ip) != 0 && strcmp(host, s->host_name) != 0))
        return false;
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return false;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return !post;
    return strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, host) == 0;
}

/* ---------- the page's data ---------- */

/* The sessions whose sign-in or sign-out window holds now, from the stored schedule. */
static void add_sessions(struct screen *s, cJSON *o)
{
    char err[ERR_LEN];
    struct schedule *sch = NULL;
    struct outbox_schedule_meta meta;
    cJSON *arr = cJSON_AddArrayToObject(o, "sessions");
    int rc = schedule_load(s->k->ob, &sch, &meta, err);
    cJSON_AddBoolToObject(o, "schedule", rc == RC_OK);
    if (rc != RC_OK) {
        if (rc != RC_NOTFOUND)
            log_msg(LOG_LVL_WARN, "schedule: %s", err);
        return;
    }
    int64_t now = ts_now_ms();
    int shown = 0;
    for (size_t i = 0; i < sch->n_classes && shown < SESSIONS_SHOWN_MAX; i++) {
        const struct schedule_class *cl = &sch->classes[i];
        for (size_t j = 0; j < cl->n_sessions && shown < SESSIONS_SHOWN_MAX; j++) {
            const struct schedule_session *se = &cl->sessions[j];
            if (now < se->start_ms - sch->early_window_ms || now > se->end_ms + sch->leave_grace_ms)
                continue;
            char a[TS_UTC_LEN + 1], b[TS_UTC_LEN + 1];
            if (ts_format_utc(se->start_ms, a) != RC_OK || ts_format_utc(se->end_ms, b) != RC_OK)
                continue;
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "class", cl->id);
            cJSON_AddStringToObject(x, "session", se->id);
            cJSON_AddStringToObject(x, "start", a);
            cJSON_AddStringToObject(x, "end", b);
            cJSON_AddBoolToObject(x, "signin_open", now < se->end_ms);
            cJSON_AddItemToArray(arr, x);
            shown++;
        }
    }
    schedule_free(sch);
}

/* GET /api/state: the kiosk, the clock, the daemon's status, the sessions running now. */
static void api_state(struct screen *s, struct reply *r)
{
    char err[ERR_LEN];
    char *reply = malloc(STATE_REPLY_MAX);
    cJSON *o = cJSON_CreateObject();
    if (!reply || !o) {
        free(reply);
        cJSON_Delete(o);
        reply_error(r, 500, NULL, "out of memory");
        return;
    }
    char now[TS_UTC_LEN + 1] = "";
    (void)ts_format_utc(ts_now_ms(), now);
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "device", s->k->cfg.device_id);
    cJSON_AddStringToObject(o, "now", now);
    int rc = control_request(s->k->cfg.control_socket, "{\"cmd\":\"status\"}", reply,
                             STATE_REPLY_MAX, CONTROL_TIMEOUT_MS, err);
    cJSON *st = rc == RC_OK ? cJSON_Parse(reply) : NULL;
    cJSON *status = st ? cJSON_DetachItemFromObjectCaseSensitive(st, "status") : NULL;
    cJSON_Delete(st);
    cJSON_AddBoolToObject(o, "daemon", status != NULL);
    if (status)
        cJSON_AddItemToObject(o, "status", status);
    else
        cJSON_AddNullToObject(o, "status");
    if (rc != RC_OK)
        cJSON_AddStringToObject(o, "daemon_error", err);
    free(reply);
    pthread_mutex_lock(&s->lock);
    add_sessions(s, o);
    pthread_mutex_unlock(&s->lock);
    reply_cjson(r, 200, o);
}

static const char *str_item(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Wipes the clear ID number a request body carried. */
static void wipe_trainee(cJSON *req)
{
    cJSON *t = req ? cJSON_GetObjectItemCaseSensitive(req, "trainee") : NULL;
    if (cJSON_IsString(t))
        memset(t->valuestring, 0, strlen(t->valuestring));
}

/* POST /api/lookup {"trainee","class","session","type"}: the roster's masked name for the
 * confirmation screen, or why the daemon would refuse. Nothing is recorded. */
static void api_lookup(struct screen *s, const cJSON *req, struct reply *r)
{
    char err[ERR_LEN], id[TRAINEE_ID_LEN + 1], pseudo[TRAINEE_PSEUDONYM_LEN + 1],
        masked[TRAINEE_ID_LEN + 1];
    const char *trainee = str_item(req, "trainee"), *class_id = str_item(req, "class");
    const char *session = str_item(req, "session"), *type = str_item(req, "type");
    enum event_type et = type && strcmp(type, "signout") == 0 ? EVENT_SIGNOUT : EVENT_SIGNIN;
    if (!trainee || !class_id) {
        reply_error(r, 400, "bad_request", "the request needs trainee and class");
        return;
    }
    if (trainee_id_normalise(trainee, time(NULL), id, err) != RC_OK) {
        reply_error(r, 200, "bad_id", err);
        return;
    }
    int rc = trainee_mask(id, masked, err);
    if (rc == RC_OK && s->k->has_inst_key)
        rc = trainee_pseudonym(s->k->inst_key, sizeof s->k->inst_key, id, pseudo, err);
    memset(id, 0, sizeof id);
    if (rc != RC_OK) {
        reply_error(r, 200, "bad_id", err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "trainee_masked", masked);
    if (!s->k->has_inst_key) {
        cJSON_AddBoolToObject(o, "ok", 1);
        cJSON_AddBoolToObject(o, "checked", 0);
        reply_cjson(r, 200, o);
        return;
    }
    pthread_mutex_lock(&s->lock);
    struct schedule *sch = NULL;
    rc = schedule_load(s->k->ob, &sch, NULL, err);
    if (rc == RC_OK) {
        struct schedule_match m;
        enum schedule_verdict v =
            schedule_check(sch, class_id, session, pseudo, et, ts_now_ms(), &m);
        cJSON_AddBoolToObject(o, "ok", v == SCHEDULE_OK);
        cJSON_AddBoolToObject(o, "checked", m.trainee != NULL || v != SCHEDULE_OK);
        if (v != SCHEDULE_OK)
            cJSON_AddStringToObject(o, "code", schedule_verdict_name(v));
        if (m.trainee)
            cJSON_AddStringToObject(o, "name", m.trainee->name);
    } else {
        cJSON_AddBoolToObject(o, "ok", 1);
        cJSON_AddBoolToObject(o, "checked", 0);
    }
    schedule_free(sch);
    pthread_mutex_unlock(&s->lock);
    reply_cjson(r, 200, o);
}

/* POST /api/signin|signout|confirm and GET /api/rollcall: the request for the daemon is built
 * here from the known keys only, sent over the control socket, and its answer passed on. */
static void api_forward(struct screen *s, const char *cmd, const cJSON *req, struct reply *r)
{
    static const char *const keys[] = {"trainee",      "class",    "session",
                                       "photo_sha256", "no_photo", "rollcall"};
    char err[ERR_LEN];
    const char *photo = str_item(req, "photo_sha256");
    if (photo && photo[0] && !photo_hex_ok(photo)) {
        reply_error(r, 400, "bad_request", "photo_sha256 must be 64 lower-case hex");
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "cmd", cmd);
    for (size_t i = 0; req && i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = str_item(req, keys[i]);
        if (v && v[0])
            cJSON_AddStringToObject(out, keys[i], v);
    }
    char *line = cJSON_PrintUnformatted(out);
    wipe_trainee(out);
    cJSON_Delete(out);
    char *reply = malloc(STATE_REPLY_MAX);
    if (!line || !reply) {
        if (line)
            memset(line, 0, strlen(line));
        cJSON_free(line);
        free(reply);
        reply_error(r, 500, NULL, "out of memory");
        return;
    }
    pthread_rwlock_rdlock(&s->photo_lock);
    int rc = control_request(s->k->cfg.control_socket, line, reply, STATE_REPLY_MAX,
                             CONTROL_TIMEOUT_MS, err);
    pthread_rwlock_unlock(&s->photo_lock);
    memset(line, 0, strlen(line));
    cJSON_free(line);
    if (rc != RC_OK) {
        log_msg(LOG_LVL_WARN, "%s: daemon: %s", cmd, err);
        reply_error(r, 503, "no_daemon", err);
    } else {
        r->status = 200;
        r->json = reply; /* the daemon's line, as it is */
        return;
    }
    free(reply);
}

/* The JSON calls, by name (the URL's last part; the WebSocket message's "call"). GET calls
 * take no body. */
static void api_call(struct screen *s, const char *call, const cJSON *req, struct reply *r)
{
    if (strcmp(call, "state") == 0)
        api_state(s, r);
    else if (strcmp(call, "rollcall") == 0)
        api_forward(s, "rollcall", NULL, r);
    else if (!cJSON_IsObject(req))
        reply_error(r, 400, "bad_request", "the body is not a JSON object");
    else if (strcmp(call, "lookup") == 0)
        api_lookup(s, req, r);
    else if (strcmp(call, "signin") == 0 || strcmp(call, "signout") == 0 ||
             strcmp(call, "confirm") == 0)
        api_forward(s, call, req, r);
    else
        reply_error(r, 404, "not_found", "no such call");
}

/* POST /api/photo (image/jpeg): stores the still under DATA_DIR/photos, answers its hash. */
static void api_photo(struct screen *s, struct MHD_Connection *c, const struct req_body *b,
                      struct reply *r)
{
    char err[ERR_LEN], hex[CRYPTO_SHA256_HEX_LEN + 1];
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncmp(type, "image/jpeg", 10) != 0) {
        reply_error(r, 415, "bad_request", "a photo is sent as image/jpeg");
        return;
    }
    pthread_rwlock_rdlock(&s->photo_lock);
    int rc = photo_store(s->k->cfg.data_dir, b->buf.buf, b->buf.len, hex, err);
    pthread_rwlock_unlock(&s->photo_lock);
    if (rc != RC_OK) {
        log_msg(LOG_LVL_WARN, "photo not stored: %s", err);
        reply_error(r, rc == RC_INVAL ? 400 : 507, "photo_failed", err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "photo_sha256", hex);
    reply_cjson(r, 200, o);
}

/* ---------- the WebSocket ---------- */

/* One message of the page's WebSocket: {"id":N,"call":NAME,"body":{...}}, NAME one of the
 * JSON calls (api_call), answered {"id":N,"status":S,"body":{...}} with what the HTTP call
 * would have answered (S its status). The page matches answers to calls by id. */
static char *ws_message(void *cls, const char *msg, size_t len)
{
    struct screen *s = cls;
    struct reply r = {0};
    cJSON *m = cJSON_ParseWithLength(msg, len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    cJSON *body = cJSON_GetObjectItemCaseSensitive(m, "body");
    const char *call = str_item(m, "call");
    bool id_ok = cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble <= 9.0e15 &&
                 id->valuedouble == (double)(int64_t)id->valuedouble;
    if (!cJSON_IsObject(m) || !id_ok || !call)
        reply_error(&r, 400, "bad_request", "a message is {\"id\":N,\"call\":NAME,\"body\":{}}");
    else
        api_call(s, call, body, &r);
    char idtext[24] = "null";
    if (id_ok)
        snprintf(idtext, sizeof idtext, "%lld", (long long)id->valuedouble);
    wipe_trainee(body);
    cJSON_Delete(m);
    if (!r.json)
        return NULL;
    size_t n = strlen(r.json) + sizeof idtext + 48;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "{\"id\":%s,\"status\":%u,\"body\":%s}", idtext, r.status, r.json);
    free(r.json);
    return out;
}

static void ws_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    (void)c;
    (void)con_cls;
    struct screen *s = cls;
    ws_serve(sock, extra_in, extra_in_size, SCREEN_JSON_MAX, ws_message, s, s->stop[0]);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* Whether the comma-separated header value v lists token t (any case). */
static bool has_token(const char *v, const char *t)
{
    size_t tl = strlen(t);
    while (v && *v) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, " \t,");
        if (n == tl && strncasecmp(v, t, n) == 0)
            return true;
        v += n;
    }
    return false;
}

/* GET /api/ws: the WebSocket handshake (RFC 6455 section 4.2); the origin was checked. */
static enum MHD_Result ws_upgrade(struct screen *s, struct MHD_Connection *c)
{
    const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    const char *conn = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
    const char *version = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    char accept[WS_ACCEPT_LEN + 1];
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0 || !has_token(conn, "upgrade"))
        return answer_error(c, 400, "bad_request", "/api/ws is a WebSocket (Upgrade: websocket)");
    if (!version || strcmp(version, "13") != 0)
        return answer_error(c, 400, "bad_request", "WebSocket version 13 only");
    if (ws_accept_key(key, accept) != RC_OK)
        return answer_error(c, 400, "bad_request", "bad Sec-WebSocket-Key");
    struct MHD_Response *r = MHD_create_response_for_upgrade(ws_upgraded, s);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Upgrade", "websocket");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---------- dispatch ---------- */

/* The calls that take a JSON body: POST /api/NAME. */
static bool body_call(const char *name)
{
    static const char *const names[] = {"lookup", "signin", "signout", "confirm"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    struct screen *s = cls;
    bool post = strcmp(method, "POST") == 0;
    bool ws = strcmp(url, "/api/ws") == 0;
    if (!*con_cls) {
        struct req_body *b = calloc(1, sizeof *b);
        if (!b)
            return MHD_NO;
        bool photo = strcmp(url, "/api/photo") == 0;
        dynbuf_init(&b->buf, photo ? PHOTO_MAX_BYTES : SCREEN_JSON_MAX);
        *con_cls = b;
        return MHD_YES;
    }
    struct req_body *b = *con_cls;
    if (*upload_size > 0) {
        if (!b->too_large && dynbuf_add(&b->buf, upload, *upload_size) != RC_OK)
            b->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    /* a WebSocket is opened by a script: it must carry this origin, as a POST */
    if (!same_origin(s, c, post || ws))
        return answer_error(c, 403, "forbidden", "only this kiosk's own page may call it");
    if (b->too_large)
        return answer_error(c, 413, "too_large", "request body too large");
    struct reply r = {0};
    if (ws && strcmp(method, "GET") == 0)
        return ws_upgrade(s, c);
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        const char *path = strcmp(url, "/") == 0 ? "/index.html" : url;
        for (size_t i = 0; i < sizeof s->files / sizeof s->files[0]; i++)
            if (strcmp(path, s->files[i].path) == 0)
                return answer(c, 200, s->files[i].type, s->files[i].body, s->files[i].len, false);
        if (strcmp(url, "/healthz") == 0)
            return answer_json(c, 200, "{\"ok\":true}");
        if (strcmp(url, "/api/state") == 0 || strcmp(url, "/api/rollcall") == 0)
            api_call(s, url + 5, NULL, &r);
        else
            reply_error(&r, 404, "not_found", "no such page");
        return answer_reply(c, r);
    }
    if (!post)
        return answer_error(c, 405, "method", "GET or POST only");
    if (strcmp(url, "/api/photo") == 0) {
        api_photo(s, c, b, &r);
        return answer_reply(c, r);
    }
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncmp(type, "application/json", 16) != 0)
        return answer_error(c, 415, "bad_request", "send application/json");
    cJSON *req = cJSON_ParseWithLength(dynbuf_ptr(&b->buf), b->buf.len);
    if (!cJSON_IsObject(req))
        reply_error(&r, 400, "bad_request", "the body is not a JSON object");
    else if (strncmp(url, "/api/", 5) == 0 && body_call(url + 5))
        api_call(s, url + 5, req, &r);
    else
        reply_error(&r, 404, "not_found", "no such call");
    wipe_trainee(req);
    cJSON_Delete(req);
    return answer_reply(c, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    struct req_body *b = *con_cls;
    if (!b)
        return;
    if (b->buf.buf) /* it may have held a clear ID number */
        memset(b->buf.buf, 0, b->buf.len);
    dynbuf_free(&b->buf);
    free(b);
    *con_cls = NULL;
}

/* ---------- setup ---------- */

int screen_parse_listen(const char *s, uint32_t *addr, uint16_t *port, char *err)
{
    char host[HOST_MAX];
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return rc_fail(err, RC_INVAL, "--listen: expected 127.0.0.1:PORT");
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1)
        return rc_fail(err, RC_INVAL, "--listen: '%s' is not an IPv4 address", host);
    uint32_t h = ntohl(a.s_addr);
    if ((h >> 24) != 127)
        return rc_fail(err, RC_INVAL, "--listen: %s is not a loopback address (127.0.0.0/8)", host);
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 0 || p > 65535)
        return rc_fail(err, RC_INVAL, "--listen: bad port '%s'", colon + 1);
    *addr = h;
    *port = (uint16_t)p;
    return RC_OK;
}

static int load_files(struct screen *s, const char *dir, char *err)
{
    static const struct static_file names[] = {
        {"/index.html", "index.html", "text/html; charset=utf-8", NULL, 0},
        {"/kiosk.css", "kiosk.css", "text/css; charset=utf-8", NULL, 0},
        {"/kiosk.js", "kiosk.js", "text/javascript; charset=utf-8", NULL, 0},
        {"/messages.js", "messages.js", "text/javascript; charset=utf-8", NULL, 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[CONFIG_PATH_LEN + 32];
        int n = snprintf(path, sizeof path, "%s/%s", dir, names[i].file);
        if (n < 0 || (size_t)n >= sizeof path)
            return rc_fail(err, RC_LIMIT, "web directory path too long");
        s->files[i] = names[i];
        int rc =
            file_read_bounded(path, SCREEN_STATIC_MAX, &s->files[i].body, &s->files[i].len, err);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

/* Removes the stills no event names that are SCREEN_PHOTO_ORPHAN_S old (photo_sweep). */
static void sweep_photos(struct screen *s)
{
    char err[ERR_LEN];
    size_t removed = 0;
    pthread_rwlock_wrlock(&s->photo_lock);
    pthread_mutex_lock(&s->lock); /* the outbox handle is shared with the request threads */
    int rc = photo_sweep(s->k, ts_now_ms(), (int64_t)SCREEN_PHOTO_ORPHAN_S * 1000, &removed, err);
    pthread_mutex_unlock(&s->lock);
    pthread_rwlock_unlock(&s->photo_lock);
    if (rc != RC_OK)
        log_msg(LOG_LVL_WARN, "photo sweep: %s", err);
    else if (removed)
        log_msg(LOG_LVL_INFO, "photo sweep: %zu still(s) no event names removed", removed);
}

/* The watchdog's proof of life: the server answers GET /healthz on loopback. */
static bool self_check(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[96], buf[16] = "";
    int n = snprintf(req, sizeof req, "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n\r\n", port);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              send(fd, req, (size_t)n, MSG_NOSIGNAL) == n && recv(fd, buf, sizeof buf - 1, 0) > 0 &&
              strncmp(buf, "HTTP/1.", 7) == 0 && strstr(buf, " 200") != NULL;
    close(fd);
    return ok;
}

int screen_run(const struct screen_options *opt, char *err)
{
    struct screen s = {.stop = {-1, -1}};
    uint32_t addr;
    uint16_t port;
    struct MHD_Daemon *d = NULL;
    int lfd = -1;
    int rc = screen_parse_listen(opt->listen, &addr, &port, err);
    if (rc != RC_OK)
        return rc;
    pthread_mutex_init(&s.lock, NULL);
    pthread_rwlock_init(&s.photo_lock, NULL);
    if (pipe2(s.stop, O_CLOEXEC) != 0) {
        rc = rc_fail(err, RC_IO, "pipe: %s", strerror(errno));
        goto out;
    }
    /* The institution key is optional: before enroll the page shows no roster names. */
    rc = kiosk_open(opt->config_path, KIOSK_OUTBOX | KIOSK_INST_KEY, &s.k, err);
    if (rc == RC_STATE)
        rc = kiosk_open(opt->config_path, KIOSK_OUTBOX, &s.k, err);
    if (rc != RC_OK)
        goto out;
    if ((rc = load_files(&s, opt->web_dir, err)) != RC_OK)
        goto out;

    /* Signals are taken by sigwait below; MHD's threads inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    /* The socket is bound here, before MHD's threads start, so the address the origin checks
     * compare with (its port may have been 0) is set before any request can arrive. */
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(addr)};
    socklen_t salen = sizeof sa;
    int one = 1;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
        rc = rc_fail(err, RC_IO, "cannot listen on %s: %s", opt->listen, strerror(errno));
        goto out;
    }
    unsigned bound = ntohs(sa.sin_port);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    snprintf(s.host_ip, sizeof s.host_ip, "%s:%u", ip, bound);
    snprintf(s.host_name, sizeof s.host_name, "localhost:%u", bound);
    sweep_photos(&s); /* before the first request: what an earlier run left */
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                             MHD_USE_POLL | MHD_ALLOW_UPGRADE,
                         0, NULL, NULL, handle, &s, MHD_OPTION_LISTEN_SOCKET, lfd,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)SCREEN_CONNECTIONS_MAX,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, completed,
                         NULL, MHD_OPTION_END);
    if (!d) {
        rc = rc_fail(err, RC_IO, "cannot serve on %s", opt->listen);
        goto out;
    }
    lfd = -1; /* MHD_stop_daemon closes it */
    log_msg(LOG_LVL_INFO, "listening on http://%s/ (kiosk %s, daemon at %s)", s.host_ip,
            s.k->cfg.device_id, s.k->cfg.control_socket);
    sd_notifyf(0, "READY=1\nSTATUS=kiosk screen on http://%s/", s.host_ip);
    uint64_t wd_usec = 0;
    bool wd = sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0;
    struct timespec tick = {.tv_sec = 1};
    if (wd) {
        tick.tv_sec = (time_t)(wd_usec / 2000000);
        tick.tv_nsec = (long)(wd_usec / 2 % 1000000) * 1000;
    }
    struct timespec last_sweep;
    clock_gettime(CLOCK_MONOTONIC, &last_sweep);
    for (;;) {
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (wd && self_check(bound))
            sd_notify(0, "WATCHDOG=1");
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - last_sweep.tv_sec >= SCREEN_PHOTO_SWEEP_S) {
            sweep_photos(&s);
            last_sweep = t;
        }
    }
    sd_notify(0, "STOPPING=1");
    log_msg(LOG_LVL_INFO, "stopping");
    rc = RC_OK;
out:
    /* the WebSockets end first: MHD waits for its connections' threads */
    if (s.stop[1] >= 0 && write(s.stop[1], "x", 1) != 1)
        log_msg(LOG_LVL_WARN, "stop pipe: %s", strerror(errno));
    if (d)
        MHD_stop_daemon(d);
    for (size_t i = 0; i < 2; i++)
        if (s.stop[i] >= 0)
            close(s.stop[i]);
    if (lfd >= 0)
        close(lfd); /* never handed to MHD */
    for (size_t i = 0; i < sizeof s.files / sizeof s.files[0]; i++)
        free(s.files[i].body);
    kiosk_close(s.k);
    pthread_rwlock_destroy(&s.photo_lock);
    pthread_mutex_destroy(&s.lock);
    return rc;
}
