#define ZLIB_CONST
#include "sync.h"

#include "crypto.h"
#include "event.h"
#include "file.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"
#include "version.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum {
    JSON_INT_MAX_DIGITS = 16, /* 2^53 - 1 has 16 digits */
    HEADER_LEN = 64 + SYNC_TOKEN_MAX,
    /* zlib level for batch bodies: on NDJSON events level 1 deflates about 3x faster than the
     * default 6 for about 13 % more bytes (docs/PERFORMANCE.md, "Pipe"). */
    SYNC_GZIP_LEVEL = 1,
};

/* ---- pure pieces ------------------------------------------------------------------------- */

int64_t sync_backoff_ms(int64_t base_ms, int64_t cap_ms, unsigned attempt, uint64_t r)
{
    if (base_ms <= 0 || cap_ms <= 0)
        return 0;
    int64_t ceiling = cap_ms;
    /* base * 2^attempt without overflow: stop doubling once it passes the cap. */
    if (base_ms < cap_ms) {
        int64_t v = base_ms;
        for (unsigned i = 0; i < attempt && v < cap_ms; i++)
            v = v > INT64_MAX / 2 ? INT64_MAX : v * 2;
        ceiling = v < cap_ms ? v : cap_ms;
    }
    return (int64_t)(r % ((uint64_t)ceiling + 1));
}

int sync_retry_after_parse(const char *value, int64_t now_ms, int64_t *delay_ms)
{
    char buf[SYNC_RETRY_AFTER_LEN];
    const int64_t max_ms = (int64_t)SYNC_RETRY_AFTER_MAX_S * 1000;
    if (!value)
        return RC_INVAL;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r' ||
                     value[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= sizeof buf)
        return RC_INVAL;
    memcpy(buf, value, n);
    buf[n] = '\0';
    if (isdigit((unsigned char)buf[0])) {
        size_t i = 0;
        while (isdigit((unsigned char)buf[i]))
            i++;
        if (buf[i] == '\0') {
            /* delay-seconds: 1*DIGIT; anything past a day is clamped, so long runs of digits
             * need no arithmetic. */
            if (n > 9) {
                *delay_ms = max_ms;
                return RC_OK;
            }
            errno = 0;
            long long s = strtoll(buf, NULL, 10);
            if (errno != 0 || s < 0)
                return RC_INVAL;
            *delay_ms = s * 1000 > max_ms ? max_ms : s * 1000;
            return RC_OK;
        }
    }
    /* An HTTP-date starts with a day name; libcurl's parser reads all three RFC 9110 forms
     * (and some other spellings, which is harmless for a delay hint). */
    if (!isalpha((unsigned char)buf[0]))
        return RC_INVAL;
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1)
        return RC_INVAL;
    int64_t at = (int64_t)t;
    if (at > INT64_MAX / 1000 - 1)
        at = INT64_MAX / 1000 - 1;
    int64_t d = at * 1000 - now_ms;
    *delay_ms = d < 0 ? 0 : d > max_ms ? max_ms : d;
    return RC_OK;
}

/* A JSON number that is a non-negative integer up to 2^53 - 1, read from its text. */
static bool json_count(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(int64_t)d)
        return false;
    *out = (int64_t)d;
    return true;
}

/* Keeps a server message on one printable line. */
static void copy_message(char *out, size_t cap, const char *s)
{
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 1 < cap; i++)
        out[j++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
    out[j] = '\0';
}

void sync_parse_answer(long status, const char *body, size_t len, struct sync_answer *out)
{
    memset(out, 0, sizeof *out);
    out->status = status;
    if (!body || len == 0)
        return;
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j))
        goto out;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsString(e))
        copy_message(out->error, sizeof out->error, e->valuestring);
    out->has_ack = json_count(j, "accepted", &out->accepted) &&
                   json_count(j, "duplicates", &out->duplicates) &&
                   json_count(j, "ack_seq", &out->ack_seq);
    out->has_expected = json_count(j, "expected_seq", &out->expected_seq) && out->expected_seq >= 1;
out:
    cJSON_Delete(j);
}

enum sync_outcome sync_classify(CURLcode curl_code, const struct sync_answer *a, int64_t first_seq,
                                int64_t last_seq)
{
    (void)first_seq;
    if (curl_code != CURLE_OK || !a || a->status == 0) {
        switch (curl_code) {
        /* The server's identity cannot be trusted, or this build/config cannot talk to it:
         * the same request will fail the same way until someone acts. */
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_NOT_BUILT_IN:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE: return SYNC_OUT_STOP;
        default: return SYNC_OUT_RETRY;
        }
    }
    long s = a->status;
    if (s >= 200 && s <= 299) {
        if (!a->has_ack)
            return SYNC_OUT_RETRY; /* garbled (a middlebox?): the server is idempotent */
        return a->ack_seq >= last_seq ? SYNC_OUT_ACK : SYNC_OUT_STOP;
    }
    if (s == 409)
        return a->has_expected ? SYNC_OUT_RESUME : SYNC_OUT_STOP;
    if (s == 408 || s == 429 || s >= 500)
        return SYNC_OUT_RETRY;
    return SYNC_OUT_STOP; /* 400, 401, 403, 413, other 4xx, and 1xx/3xx (not followed) */
}

int sync_gzip(const void *in, size_t len, unsigned char **out, size_t *outlen, char *err)
{
    *out = NULL;
    *outlen = 0;
    if (len > UINT_MAX / 2)
        return rc_fail(err, RC_LIMIT, "sync: a batch of %zu bytes is too large to compress", len);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, SYNC_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return rc_fail(err, RC_NOMEM, "sync: zlib: %s", zs.msg ? zs.msg : "cannot initialise");
    int rc = RC_OK;
    uLong bound = deflateBound(&zs, (uLong)len);
    unsigned char *buf = malloc(bound);
    if (!buf) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    zs.next_in = in;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        free(buf);
        rc = rc_fail(err, RC_NOMEM, "sync: zlib: %s", zs.msg ? zs.msg : "deflate failed");
        goto out;
    }
    *out = buf;
    *outlen = (size_t)zs.total_out;
out:
    deflateEnd(&zs);
    return rc;
}

/* ---- HTTP client ------------------------------------------------------------------------- */

int sync_global_init(char *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return rc_fail(err, RC_NOMEM, "libcurl cannot initialise");
    return RC_OK;
}

int sync_url(const struct config_agent *cfg, const char *path, char *out, size_t cap, char *err)
{
    size_t n = strlen(cfg->server);
    while (n > 0 && cfg->server[n - 1] == '/')
        n--;
    int w = snprintf(out, cap, "%.*s%s", (int)n, cfg->server, path);
    if (w < 0 || (size_t)w >= cap)
        return rc_fail(err, RC_LIMIT, "the server URL is too long");
    return RC_OK;
}

int sync_curl_new(const struct config_agent *cfg, CURL **out, char *err)
{
    *out = NULL;
    CURL *h = curl_easy_init();
    if (!h)
        return rc_fail(err, RC_NOMEM, "libcurl cannot create a handle");
    int rc = RC_OK;
    const struct config_sync *sp = &cfg->profile.sync;
    long timeout = (long)sp->timeout_s;
    long connect = timeout < SYNC_CONNECT_TIMEOUT_MAX_S ? timeout : SYNC_CONNECT_TIMEOUT_MAX_S;
    const char *protocols = cfg->allow_plain_http ? "http,https" : "https";
    CURLcode c = CURLE_OK;
    /* Each setopt below is a libcurl call that only fails for an unknown option or no
     * memory; the first failure is kept. */
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (c == CURLE_OK)                                                                         \
            c = curl_easy_setopt(h, opt, val);                                                     \
    } while (0)
    SET(CURLOPT_PROTOCOLS_STR, protocols);
    SET(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT, timeout);
    SET(CURLOPT_CONNECTTIMEOUT, connect);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_USERAGENT, "rollcall-agent/" ROLLCALL_VERSION);
    if (cfg->ca_file[0])
        SET(CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->pin_sha256[0]) {
        uint8_t pin[CRYPTO_SHA256_LEN];
        char pinstr[CRYPTO_PIN_LEN + 1] = "sha256//";
        if (crypto_unhex(cfg->pin_sha256, pin, sizeof pin) != RC_OK ||
            crypto_base64_encode(pin, sizeof pin, pinstr + 8, sizeof pinstr - 8, NULL) != RC_OK) {
            rc = rc_fail(err, RC_INVAL, "pin_sha256 is not 64 hex digits");
            goto out;
        }
        SET(CURLOPT_PINNEDPUBLICKEY, pinstr);
    }
#undef SET
    if (c != CURLE_OK) {
        rc = rc_fail(err, RC_NOMEM, "libcurl: %s", curl_easy_strerror(c));
        goto out;
    }
    *out = h;
    h = NULL;
out:
    if (h)
        curl_easy_cleanup(h);
    return rc;
}

int sync_read_token(const struct config_agent *cfg, char *out, size_t cap, char *err)
{
    if (!cfg->token_file[0])
        return rc_fail(err, RC_STATE,
                       "this kiosk is not enrolled (no token_file): run `rollcall-agent enroll`");
    const char *path = cfg->token_file;
    char *buf = NULL;
    size_t size = 0;
    int rc = file_read_private(path, SYNC_TOKEN_MAX, &buf, &size, err);
    if (rc != RC_OK)
        return rc;
    size_t len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    if (len == 0 || len + 1 > cap) {
        rc = rc_fail(err, RC_INVAL, "%s: expected one token line of 1 to %zu characters", path,
                     cap - 1);
        goto out;
    }
    for (size_t i = 0; i < len; i++) {
        /* The token goes into an HTTP header: visible ASCII only. */
        if (buf[i] <= ' ' || buf[i] > '~') {
            rc = rc_fail(err, RC_INVAL, "%s: the token holds a character that is not visible ASCII",
                         path);
            goto out;
        }
    }
    memcpy(out, buf, len + 1);
out:
    explicit_bzero(buf, size);
    free(buf);
    return rc;
}

/* ---- one pass ------------------------------------------------------------------------------ */

static int batch_add(void *ctx, int64_t seq, const char *line, size_t len)
{
    struct sync_batch *b = ctx;
    size_t off = dynbuf_len(&b->lines);
    int rc = dynbuf_add(&b->lines, line, len);
    if (rc == RC_OK)
        rc = dynbuf_add(&b->lines, "\n", 1);
    if (rc != RC_OK)
        return rc;
    if (b->count == 0)
        b->first_seq = seq;
    b->last_seq = seq;
    b->last_off = off;
    b->count++;
    return 0;
}

/* Empties b for a batch of at most max_bytes, or one event when that alone is larger
 * (outbox_pending's rule). */
static void batch_begin(struct sync_batch *b, size_t max_bytes)
{
    size_t max =
        max_bytes < SIZE_MAX - EVENT_LINE_MAX - 1 ? max_bytes + EVENT_LINE_MAX + 1 : SIZE_MAX - 1;
    if (b->lines.max != max) {
        dynbuf_free(&b->lines);
        dynbuf_init(&b->lines, max);
    }
    dynbuf_reset(&b->lines);
    b->count = 0;
}

int sync_batch_read(outbox *ob, int64_t after_seq, size_t max_events, size_t max_bytes,
                    struct sync_batch *b, char *err)
{
    size_t visited = 0;
    batch_begin(b, max_bytes);
    b->last_off = 0;
    b->first_seq = b->last_seq = 0;
    int rc = outbox_pending(ob, after_seq, max_events, max_bytes, batch_add, b, &visited, err);
    if (rc == RC_NOMEM)
        return rc_fail(err, RC_NOMEM, "out of memory");
    return rc;
}

int sync_batch_sign(struct kiosk *k, const struct sync_batch *b, char sig[CRYPTO_SIG_B64_MAX + 1],
                    char *err)
{
    uint8_t hash[CRYPTO_SHA256_LEN];
    if (b->count == 0)
        return rc_fail(err, RC_STATE, "an empty batch cannot be signed");
    crypto_sha256(b->lines.buf + b->last_off, b->lines.len - b->last_off - 1, hash);
    return crypto_key_sign(k->key, k->rng, hash, sig, err);
}

void sync_batch_free(struct sync_batch *b)
{
    dynbuf_free(&b->lines);
    memset(b, 0, sizeof *b);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct sync_reply *x = ctx;
    size_t n = size * nmemb;
    if (x->len + n > sizeof x->body - 1) {
        x->overflow = true;
        return 0; /* aborts the transfer */
    }
    memcpy(x->body + x->len, data, n);
    x->len += n;
    x->body[x->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct sync_reply *x = ctx;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    static const char date[] = "date:";
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        size_t v = n - (sizeof name - 1);
        if (v >= sizeof x->retry_after)
            v = sizeof x->retry_after - 1;
        memcpy(x->retry_after, data + sizeof name - 1, v);
        x->retry_after[v] = '\0';
    } else if (n > sizeof date - 1 && n < SYNC_RETRY_AFTER_LEN &&
               strncasecmp(data, date, sizeof date - 1) == 0) {
        char v[SYNC_RETRY_AFTER_LEN];
        memcpy(v, data + sizeof date - 1, n - (sizeof date - 1));
        v[n - (sizeof date - 1)] = '\0';
        v[strcspn(v, "\r\n")] = '\0';
        time_t t = curl_getdate(v, NULL);
        if (t != (time_t)-1 && t > 0 && t < (time_t)(INT64_MAX / 1000 - 1000)) {
            x->date_ms = (int64_t)t * 1000;
            x->received_ms = ts_now_ms();
        }
    }
    return n;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    const struct sync_reply *x = ctx;
    return x->stop && *x->stop ? 1 : 0;
}

/* Builds the header list (the given lines plus "Expect:") into *out. 0 or RC_NOMEM. */
static int post_headers(const char *const *headers, size_t n_headers, struct curl_slist **out,
                        char *err)
{
    struct curl_slist *hdr = NULL, *t;
    *out = NULL;
    for (size_t i = 0; i < n_headers; i++) {
        if (!(t = curl_slist_append(hdr, headers[i])))
            goto nomem;
        hdr = t;
    }
    if (!(t = curl_slist_append(hdr, "Expect:"))) /* no 100-continue round trip */
        goto nomem;
    *out = t;
    return RC_OK;
nomem:
    curl_slist_free_all(hdr);
    return rc_fail(err, RC_NOMEM, "out of memory");
}

/* Sets h up to POST body with hdr into rep (which is reset, its stop field kept). */
static void post_setup(CURL *h, const char *url, struct curl_slist *hdr, const void *body,
                       size_t len, struct sync_reply *rep)
{
    rep->code = CURLE_OK;
    rep->status = 0;
    rep->len = 0;
    rep->body[0] = '\0';
    rep->overflow = false;
    rep->retry_after[0] = '\0';
    rep->curl_err[0] = '\0';
    rep->date_ms = 0;
    rep->received_ms = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rep);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rep);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, rep->curl_err);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, rep);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, rep->stop ? 0L : 1L);
}

/* The handle outlives one request's header list and body. */
static void post_done(CURL *h)
{
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
}

int sync_http_post(CURL *h, const char *url, const char *const *headers, size_t n_headers,
                   const void *body, size_t len, struct sync_reply *rep, char *err)
{
    struct curl_slist *hdr = NULL;
    int rc = post_headers(headers, n_headers, &hdr, err);
    if (rc != RC_OK)
        return rc;
    post_setup(h, url, hdr, body, len, rep);
    rep->code = curl_easy_perform(h);
    if (rep->code == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rep->status);
    post_done(h);
    curl_slist_free_all(hdr);
    return rc;
}

void sync_reply_describe(const struct sync_reply *rep, char *out, size_t cap)
{
    struct sync_answer a;
    if (rep->code == CURLE_WRITE_ERROR && rep->overflow) {
        snprintf(out, cap, "the server's answer is longer than %d bytes", SYNC_ANSWER_MAX);
        return;
    }
    if (rep->code != CURLE_OK) {
        snprintf(out, cap, "network: %.200s",
                 rep->curl_err[0] ? rep->curl_err : curl_easy_strerror(rep->code));
        return;
    }
    sync_parse_answer(rep->status, rep->body, rep->len, &a);
    if (a.error[0])
        snprintf(out, cap, "HTTP %ld: %.200s", a.status, a.error);
    else if (a.status >= 200 && a.status <= 299)
        snprintf(out, cap, "HTTP %ld with an answer that is not an acknowledgement", a.status);
    else
        snprintf(out, cap, "HTTP %ld", a.status);
}

static int stop_rc(CURLcode cc, long status)
{
    if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT || cc == CURLE_NOT_BUILT_IN)
        return RC_INVAL; /* the configuration cannot work */
    if (cc != CURLE_OK)
        return RC_AUTH; /* the server's identity is not trusted */
    switch (status) {
    case 401:
    case 403: return RC_AUTH;
    case 409: return RC_CONFLICT;
    case 413: return RC_LIMIT;
    default: return RC_INVAL;
    }
}

/* One request of the window: its own handle (so its own kept-alive connection), the batch,
 * the compressed body and headers it sends, and its answer (large: on the heap). */
struct slot {
    CURL *h;
    struct sync_batch b;
    struct sync_reply *x;
    struct curl_slist *hdr;
    unsigned char *z;
    int64_t sent_after; /* the acknowledged position when it was sent */
    bool busy;          /* added to the multi handle, no answer read yet */
    bool done;          /* the transfer finished: x holds its result */
};

/* One pass's working state, shared by its steps. Up to `inflight` batches are sent at once,
 * in seq order, each on its slot; answers are taken in the order the batches were sent, so
 * the acknowledged position only moves through the window from its start (q[0] is the
 * oldest batch in flight). */
struct pass {
    struct kiosk *k;
    const struct sync_options *opt;
    struct sync_result *res;
    struct sync_state old, st; /* as loaded, and as the pass leaves it */
    struct slot slots[SYNC_INFLIGHT_MAX];
    int q[SYNC_INFLIGHT_MAX]; /* slots in flight, oldest first */
    int nq, window;
    CURLM *m;
    int b_slot;                 /* the slot whose answer is being handled */
    const struct sync_batch *b; /* its batch */
    int64_t b_sent_after;       /* the acknowledged position when it was sent */
    struct sync_reply *x;       /* its answer */
    char token[SYNC_TOKEN_MAX + 1];
    char url[CONFIG_URL_LEN + 16];
    char msg[SYNC_MESSAGE_LEN]; /* why the pass failed, for the state and the log */
    struct sync_answer ans;
    enum sync_outcome outcome;
    int64_t after;  /* the acknowledged position: where a resend after a failure starts */
    int64_t next;   /* the seq the next batch read follows (after + what is in flight) */
    bool exhausted; /* nothing more to read (or the budget is spent) */
    int64_t started_mono;
    int resumes; /* consecutive 409 resumes without progress */
    bool progress;
    int rc;
};

/* What a step leaves the pass to do next. */
enum step {
    STEP_NEXT,  /* go on: the next step, or the next batch */
    STEP_END,   /* the pass is over (p->rc says how): record its result */
    STEP_ABORT, /* cut short locally (stop, database, memory, not enrolled): record nothing */
};

static enum step step_fail(struct pass *p, enum step s, int rc)
{
    p->rc = rc;
    return s;
}

/* Opens what the pass needs: the chain position, the state, the token, the handles. */
static enum step pass_open(struct pass *p, char *err)
{
    struct kiosk *k = p->k;
    int64_t head_seq = 0, ack_seq = 0;
    int rc;
    if (!k->ob || !k->key)
        return step_fail(p, STEP_ABORT,
                         rc_fail(err, RC_STATE, "sync needs the outbox and the device key open"));
    if ((rc = outbox_seqs(k->ob, &head_seq, &ack_seq, err)) != RC_OK)
        return step_fail(p, STEP_ABORT, rc);
    p->res->ack_seq = ack_seq;
    p->res->pending = head_seq - ack_seq;
    if ((rc = sync_state_load(k->ob, &p->old, err)) != RC_OK)
        return step_fail(p, STEP_ABORT, rc);
    p->st = p->old;
    if ((rc = sync_read_token(&k->cfg, p->token, sizeof p->token, err)) != RC_OK ||
        (rc = sync_url(&k->cfg, "/v1/batches", p->url, sizeof p->url, err)) != RC_OK)
        return step_fail(p, STEP_ABORT, rc);
    int64_t w = k->cfg.profile.sync.inflight;
    p->window = w < 1 ? 1 : w > SYNC_INFLIGHT_MAX ? SYNC_INFLIGHT_MAX : (int)w;
    if (!(p->m = curl_multi_init()))
        return step_fail(p, STEP_ABORT, rc_fail(err, RC_NOMEM, "libcurl cannot create a handle"));
    /* One connection per slot, each kept alive for the pass (no HTTP/1.1 pipelining). */
    curl_multi_setopt(p->m, CURLMOPT_MAXCONNECTS, (long)p->window);
    for (int i = 0; i < p->window; i++) {
        struct slot *sl = &p->slots[i];
        if (!(sl->x = calloc(1, sizeof *sl->x)))
            return step_fail(p, STEP_ABORT, rc_fail(err, RC_NOMEM, "out of memory"));
        sl->x->stop = p->opt->stop;
        if ((rc = sync_curl_new(&k->cfg, &sl->h, err)) != RC_OK)
            return step_fail(p, STEP_ABORT, rc);
        curl_easy_setopt(sl->h, CURLOPT_PRIVATE, (char *)sl);
    }
    p->after = p->next = ack_seq;
    p->started_mono = ts_mono_ms();
    return STEP_NEXT;
}

/* Reads the next batch after p->next into b; sets p->exhausted when nothing is pending or
 * the budget is spent; the pass ends when the server asked for events this kiosk pruned. */
static enum step read_batch(struct pass *p, struct sync_batch *b, char *err)
{
    const struct config_sync *sp = &p->k->cfg.profile.sync;
    if (p->opt->stop && *p->opt->stop)
        return step_fail(p, STEP_ABORT, rc_fail(err, RC_TIMEOUT, "sync stopped"));
    batch_begin(b, (size_t)sp->batch_max_bytes);
    size_t visited = 0;
    int rc = outbox_pending(p->k->ob, p->next, (size_t)sp->batch_max_events,
                            (size_t)sp->batch_max_bytes, batch_add, b, &visited, err);
    if (rc == RC_NOMEM)
        return step_fail(p, STEP_ABORT, rc_fail(err, RC_NOMEM, "out of memory"));
    if (rc == RC_NOTFOUND) {
        /* The server asked (409) for events this kiosk pruned after an earlier ack. */
        snprintf(p->msg, sizeof p->msg,
                 "the server expects seq %lld, which this kiosk no longer "
                 "stores (pruned after an earlier acknowledgement)",
                 (long long)(p->next + 1));
        p->outcome = SYNC_OUT_STOP;
        return step_fail(p, STEP_END, rc_fail(err, RC_CONFLICT, "%s", p->msg));
    }
    if (rc != RC_OK)
        return step_fail(p, STEP_ABORT, rc);
    if (b->count == 0) {
        p->exhausted = true;
        return STEP_NEXT;
    }
    if (p->opt->budget_ms > 0 && p->progress &&
        ts_mono_ms() - p->started_mono >= p->opt->budget_ms) {
        p->res->budget_spent = true;
        p->exhausted = true;
        b->count = 0;
    }
    return STEP_NEXT;
}

/* Signs and compresses the slot's batch and adds its request to the multi handle. */
static int start_batch(struct pass *p, struct slot *sl, char *err)
{
    char sig[CRYPTO_SIG_B64_MAX + 1];
    char auth[HEADER_LEN], sighdr[64 + CRYPTO_SIG_B64_MAX];
    size_t zlen = 0;
    bool gzip = p->opt->gzip;
    int rc;
    if ((rc = sync_batch_sign(p->k, &sl->b, sig, err)) != RC_OK)
        return rc;
    free(sl->z);
    sl->z = NULL;
    if (gzip && (rc = sync_gzip(sl->b.lines.buf, sl->b.lines.len, &sl->z, &zlen, err)) != RC_OK)
        return rc;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", p->token);
    snprintf(sighdr, sizeof sighdr, "Rollcall-Signature: %s", sig);
    const char *hdr[] = {auth, sighdr, "Content-Type: application/x-ndjson",
                         "Content-Encoding: gzip"};
    curl_slist_free_all(sl->hdr);
    sl->hdr = NULL;
    rc = post_headers(hdr, gzip ? 4 : 3, &sl->hdr, err);
    explicit_bzero(auth, sizeof auth);
    if (rc != RC_OK)
        return rc;
    post_setup(sl->h, p->url, sl->hdr, gzip ? (const void *)sl->z : sl->b.lines.buf,
               gzip ? zlen : sl->b.lines.len, sl->x);
    if (curl_multi_add_handle(p->m, sl->h) != CURLM_OK)
        return rc_fail(err, RC_NOMEM, "libcurl cannot start a request");
    sl->busy = true;
    sl->done = false;
    sl->sent_after = p->after;
    p->st.last_attempt_ms = ts_now_ms();
    return RC_OK;
}

/* Takes a slot out of the multi handle (aborting its transfer if it still runs: whatever
 * the server did with it, the batch is sent again later and counted once there). */
static void slot_release(struct pass *p, struct slot *sl)
{
    if (sl->busy)
        curl_multi_remove_handle(p->m, sl->h);
    post_done(sl->h);
    sl->busy = sl->done = false;
}

/* Drops every batch in flight behind the oldest (after a failure or a partial
 * acknowledgement): the next batch read starts after the acknowledged position again. */
static void window_cancel(struct pass *p)
{
    for (int i = 0; i < p->nq; i++)
        slot_release(p, &p->slots[p->q[i]]);
    p->nq = 0;
    p->next = p->after;
    p->exhausted = false;
}

/* Fills the window with batches read after p->next. */
static enum step window_fill(struct pass *p, char *err)
{
    while (p->nq < p->window && !p->exhausted) {
        int free_slot = -1;
        for (int i = 0; i < p->window && free_slot < 0; i++)
            if (!p->slots[i].busy && !p->slots[i].done) /* done: answered, not yet taken */
                free_slot = i;
        if (free_slot < 0) /* cannot happen: nq < window leaves a slot free */
            return step_fail(p, STEP_ABORT, rc_fail(err, RC_STATE, "sync: no free slot"));
        struct slot *sl = &p->slots[free_slot];
        enum step s = read_batch(p, &sl->b, err);
        if (s != STEP_NEXT)
            return s;
        if (sl->b.count == 0)
            break;
        int rc = start_batch(p, sl, err);
        if (rc != RC_OK)
            return step_fail(p, STEP_ABORT, rc);
        p->q[p->nq++] = free_slot;
        p->next = sl->b.last_seq;
    }
    return STEP_NEXT;
}

/* Runs the transfers until the oldest batch in flight has its answer. */
static enum step window_wait(struct pass *p, char *err)
{
    struct slot *oldest = &p->slots[p->q[0]];
    if (!oldest->busy && !oldest->done)
        return step_fail(p, STEP_ABORT, rc_fail(err, RC_STATE, "sync: a batch in flight was lost"));
    while (!oldest->done) {
        if (p->opt->stop && *p->opt->stop)
            return step_fail(p, STEP_ABORT, rc_fail(err, RC_TIMEOUT, "sync stopped"));
        int running = 0;
        CURLMcode mc = curl_multi_perform(p->m, &running);
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(p->m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *sl = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            sl->x->code = msg->data.result;
            if (sl->x->code == CURLE_OK)
                curl_easy_getinfo(sl->h, CURLINFO_RESPONSE_CODE, &sl->x->status);
            curl_multi_remove_handle(p->m, sl->h);
            sl->busy = false;
            sl->done = true;
        }
        if (oldest->done)
            break;
        if (mc == CURLM_OK)
            mc = curl_multi_poll(p->m, NULL, 0, 200, NULL);
        if (mc != CURLM_OK)
            return step_fail(p, STEP_ABORT,
                             rc_fail(err, RC_NOMEM, "libcurl: %s", curl_multi_strerror(mc)));
    }
    return STEP_NEXT;
}

/* Takes the oldest batch's answer out of the window and classifies it into p->outcome. */
static enum step take_answer(struct pass *p, char *err)
{
    p->b_slot = p->q[0];
    struct slot *sl = &p->slots[p->b_slot];
    memmove(p->q, p->q + 1, (size_t)(p->nq - 1) * sizeof p->q[0]);
    p->nq--;
    post_done(sl->h);
    sl->done = false;
    p->b = &sl->b;
    p->b_sent_after = sl->sent_after;
    p->x = sl->x;
    struct sync_reply *x = sl->x;
    sync_parse_answer(x->status, x->body, x->len, &p->ans);
    p->res->last_status = x->status;
    if (x->date_ms > 0) {
        /* Date has whole seconds: the server's clock was, on average, half a second on. */
        p->st.server_skew_ms = x->received_ms - (x->date_ms + 500);
        p->st.has_server_skew = true;
    }
    if (x->code == CURLE_ABORTED_BY_CALLBACK && p->opt->stop && *p->opt->stop)
        return step_fail(p, STEP_ABORT, rc_fail(err, RC_TIMEOUT, "sync stopped"));
    p->outcome = sync_classify(x->code, &p->ans, sl->b.first_seq, sl->b.last_seq);
    return STEP_NEXT;
}

/* 200: records the acknowledgement and goes on after it, unless the server holds more of this
 * device's chain than the kiosk ever made (another kiosk with this device id). */
static enum step on_ack(struct pass *p, char *err)
{
    int64_t head_seq = 0, ack_seq = 0, ack = p->ans.ack_seq;
    int rc = outbox_seqs(p->k->ob, &head_seq, &ack_seq, err);
    if (rc != RC_OK)
        return step_fail(p, STEP_ABORT, rc);
    if (ack > head_seq) {
        if ((rc = outbox_ack(p->k->ob, p->b->last_seq, err)) != RC_OK)
            return step_fail(p, STEP_ABORT, rc);
        p->res->accepted += p->ans.accepted;
        p->res->duplicates += p->ans.duplicates;
        snprintf(p->msg, sizeof p->msg,
                 "the server's chain for this device reaches seq %lld, "
                 "beyond this kiosk's head %lld: is another kiosk using device id %s?",
                 (long long)ack, (long long)head_seq, p->k->cfg.device_id);
        p->outcome = SYNC_OUT_STOP;
        return step_fail(p, STEP_END, rc_fail(err, RC_CONFLICT, "%s", p->msg));
    }
    if ((rc = outbox_ack(p->k->ob, ack, err)) != RC_OK)
        return step_fail(p, STEP_ABORT, rc);
    p->res->accepted += p->ans.accepted;
    p->res->duplicates += p->ans.duplicates;
    p->res->batches++;
    p->progress = true;
    p->resumes = 0;
    log_msg(LOG_LVL_DEBUG, "sync: batch %lld..%lld: %lld accepted, %lld duplicates",
            (long long)p->b->first_seq, (long long)p->b->last_seq, (long long)p->ans.accepted,
            (long long)p->ans.duplicates);
    if (ack < p->b->last_seq) {
        /* Acknowledged short of the batch's end: the batches behind it do not follow the
         * server's head, so they are dropped and the window starts again after it. */
        p->after = ack;
        window_cancel(p);
        return STEP_NEXT;
    }
    /* At the batch's end, or past it (a batch of duplicates is answered with the server's
     * head): the batches still in flight continue the chain the server holds (those it
     * already has come back as duplicates, their answers read and counted), so they are
     * kept; the next batch read starts after the furthest of the two. */
    if (ack > p->after)
        p->after = ack;
    if (p->after > p->next)
        p->next = p->after;
    return STEP_NEXT;
}

/* Sends the batch whose 409 was just read again at the head of the window. Behind it, the
 * batches still waiting for their answer stay in flight (they wait at the collector for it);
 * from the first one already refused on, they are dropped and read again, to go out at once
 * rather than one 409 after another. */
static enum step resend_oldest(struct pass *p, char *err)
{
    struct slot *sl = &p->slots[p->b_slot];
    for (int i = 0; i < p->nq; i++) {
        const struct slot *behind = &p->slots[p->q[i]];
        if (behind->done && !(behind->x->code == CURLE_OK && behind->x->status == 200)) {
            for (int j = i; j < p->nq; j++)
                slot_release(p, &p->slots[p->q[j]]);
            p->nq = i;
            p->next = i > 0 ? p->slots[p->q[i - 1]].b.last_seq : sl->b.last_seq;
            p->exhausted = false;
            break;
        }
    }
    int rc = start_batch(p, sl, err);
    if (rc != RC_OK)
        return step_fail(p, STEP_ABORT, rc);
    memmove(p->q + 1, p->q, (size_t)p->nq * sizeof p->q[0]);
    p->q[0] = p->b_slot;
    p->nq++;
    return STEP_NEXT;
}

/* 409 gap: resends from the server's expected_seq at once, a few times at most. */
static enum step on_resume(struct pass *p, char *err)
{
    int64_t head_seq = 0, ack_seq = 0, want = p->ans.expected_seq - 1;
    int rc = outbox_seqs(p->k->ob, &head_seq, &ack_seq, err);
    if (rc != RC_OK)
        return step_fail(p, STEP_ABORT, rc);
    if (want > head_seq || ++p->resumes > SYNC_RESUME_MAX) {
        snprintf(p->msg, sizeof p->msg,
                 want > head_seq ? "the server expects seq %lld, beyond this kiosk's head %lld"
                                 : "the server keeps asking for seq %lld (head %lld): giving up",
                 (long long)p->ans.expected_seq, (long long)head_seq);
        p->outcome = SYNC_OUT_STOP;
        return step_fail(p, STEP_END, rc_fail(err, RC_CONFLICT, "%s", p->msg));
    }
    if (want < p->after && p->b_sent_after < p->after) {
        /* The batch went out before the answers that acknowledged up to p->after and may
         * have reached the collector before them: its 409 can be older than those acks. Send
         * it again from the acknowledged position; a collector that really lost events
         * answers that resend 409 too, and then the kiosk goes back. */
        want = p->after;
        if (p->b->first_seq == want + 1) {
            /* Most often the collector stopped waiting for the batch before it (its answer
             * was on its way): send this one again alone, the others stay in flight. */
            log_msg(LOG_LVL_DEBUG, "sync: batch %lld..%lld sent again after a stale 409",
                    (long long)p->b->first_seq, (long long)p->b->last_seq);
            return resend_oldest(p, err);
        }
    }
    if (want < ack_seq)
        log_msg(LOG_LVL_WARN,
                "sync: the server expects seq %lld although it acknowledged up to %lld; "
                "sending again from there",
                (long long)p->ans.expected_seq, (long long)ack_seq);
    p->after = want;
    window_cancel(p);
    return STEP_NEXT;
}

/* Anything else: the pass ends with the answer described (retry later, or stop). */
static enum step on_failure(struct pass *p, char *err)
{
    window_cancel(p);
    sync_reply_describe(p->x, p->msg, sizeof p->msg);
    int rc = p->outcome == SYNC_OUT_RETRY ? RC_NET : stop_rc(p->x->code, p->x->status);
    return step_fail(p, STEP_END, rc_fail(err, rc, "%s", p->msg));
}

/* The pass is over: its result (success, or the error, the finding and the next retry time
 * from the backoff) goes into the sync state. */
static void record_result(struct pass *p, char *err)
{
    const struct config_sync *sp = &p->k->cfg.profile.sync;
    struct sync_state *st = &p->st;
    int64_t now = ts_now_ms();
    if (p->outcome == SYNC_OUT_ACK) {
        if (!p->res->budget_spent)
            st->last_ok_ms = now;
        st->last_error[0] = '\0';
        st->finding[0] = '\0';
        st->next_retry_ms = 0;
        st->attempt = 0;
    } else {
        int64_t attempt = p->progress ? 0 : st->attempt;
        int64_t delay;
        if (p->outcome == SYNC_OUT_STOP) {
            delay = sp->backoff_cap_ms;
            snprintf(st->finding, sizeof st->finding, "%s", p->msg);
        } else {
            uint64_t r = 0;
            if (crypto_rng_bytes(p->k->rng, &r, sizeof r, NULL) != RC_OK)
                r = (uint64_t)now;
            delay = sync_backoff_ms(sp->backoff_base_ms, sp->backoff_cap_ms, (unsigned)attempt, r);
            int64_t ra;
            if ((p->ans.status == 429 || p->ans.status == 503) && p->x &&
                sync_retry_after_parse(p->x->retry_after, now, &ra) == RC_OK && ra > delay)
                delay = ra;
        }
        st->attempt = attempt < SYNC_MAX_ATTEMPT ? attempt + 1 : SYNC_MAX_ATTEMPT;
        snprintf(st->last_error, sizeof st->last_error, "%s", p->msg);
        st->last_error_ms = now;
        st->next_retry_ms = now + delay;
        p->res->retry_in_ms = delay;
        log_msg(LOG_LVL_WARN, "sync: %s; next try in %lld ms", p->msg, (long long)delay);
    }
    char serr[ERR_LEN];
    int src = sync_state_save(p->k->ob, &p->old, st, serr);
    if (src != RC_OK && p->rc == RC_OK)
        p->rc = rc_fail(err, src, "%s", serr);
}

/* Fills the result's chain position and frees what the pass held. */
static int pass_close(struct pass *p)
{
    int64_t head_seq = 0, ack_seq = 0;
    if (p->k->ob && outbox_seqs(p->k->ob, &head_seq, &ack_seq, NULL) == RC_OK) {
        p->res->ack_seq = ack_seq;
        p->res->pending = head_seq - ack_seq;
    }
    /* A pass cut short locally (stop, database, not enrolled) is not a success either. */
    p->res->outcome = p->rc != RC_OK && p->outcome == SYNC_OUT_ACK ? SYNC_OUT_RETRY : p->outcome;
    for (int i = 0; i < SYNC_INFLIGHT_MAX; i++) {
        struct slot *sl = &p->slots[i];
        if (sl->h) {
            if (sl->busy && p->m)
                curl_multi_remove_handle(p->m, sl->h);
            curl_easy_cleanup(sl->h);
        }
        curl_slist_free_all(sl->hdr);
        free(sl->z);
        free(sl->x);
        sync_batch_free(&sl->b);
    }
    if (p->m)
        curl_multi_cleanup(p->m);
    explicit_bzero(p->token, sizeof p->token);
    return p->rc;
}

int sync_run_once(struct kiosk *k, const struct sync_options *opt, struct sync_result *res,
                  char *err)
{
    struct pass p = {.k = k, .opt = opt, .res = res, .outcome = SYNC_OUT_ACK};
    memset(res, 0, sizeof *res);
    res->outcome = SYNC_OUT_RETRY; /* until the pass ends */
    enum step s = pass_open(&p, err);
    while (s == STEP_NEXT) {
        if ((s = window_fill(&p, err)) != STEP_NEXT)
            break;
        if (p.nq == 0) {
            /* Nothing pending after the acknowledged position, or the budget is spent. */
            p.outcome = SYNC_OUT_ACK;
            s = step_fail(&p, STEP_END, RC_OK);
            break;
        }
        if ((s = window_wait(&p, err)) != STEP_NEXT || (s = take_answer(&p, err)) != STEP_NEXT)
            break;
        switch (p.outcome) {
        case SYNC_OUT_ACK: s = on_ack(&p, err); break;
        case SYNC_OUT_RESUME: s = on_resume(&p, err); break;
        case SYNC_OUT_RETRY:
        case SYNC_OUT_STOP: s = on_failure(&p, err); break;
        }
    }
    if (s == STEP_END)
        record_result(&p, err);
    return pass_close(&p);
}
