/* The HTTP(S) front end on libmicrohttpd: a thread pool on epoll, TLS 1.2+ (GnuTLS through
 * MHD) or plain HTTP behind a proxy, a route table, authentication, bounded bodies.
 *
 * Invariants:
 * - Every route names who may call it (http_route.allow, never NULL; http_anyone for public
 *   routes). A request reaches a handler only after its route matched (else 404/405), its
 *   caller was authenticated by a bearer token or a login session (401; a session's writes
 *   also need its CSRF token, else 403) and allowed (403), and its whole body arrived within
 *   max_body bytes both as sent and after gzip decoding (else 413).
 * - Error bodies are {"error": "<one line>", "code": "<stable code>", "message": "<the code's
 *   text in the language Accept-Language asks for>"} (docs/API.md "Errors", "Languages"); a
 *   token never appears in a log line.
 * - Handlers run on MHD's worker threads (a pool, or one per connection with
 *   thread_per_connection), concurrently; each gets its own pooled store connection for the
 *   request and must not keep it (it may give it back early with http_release_db). */
#ifndef ROLLCALL_SERVER_HTTP_H
#define ROLLCALL_SERVER_HTTP_H

#include "http/auth.h"
#include "http/metrics.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct http_server http_server;

enum {
    HTTP_PARAMS_MAX = 4,    /* {id} segments in one route pattern */
    HTTP_SEGMENT_MAX = 128, /* bytes of one captured path segment */
    HTTP_DEFAULT_MAX_BODY = 8 << 20,
    HTTP_DEFAULT_THREADS = 4,
    HTTP_DEFAULT_CONN_TIMEOUT_S = 30,
    HTTP_DEFAULT_PER_IP_LIMIT = 64,
    HTTP_DEFAULT_MAX_CONNECTIONS = 1024,
    HTTP_DEFAULT_CONN_MEMORY = 64 << 10, /* per connection: request line + headers + buffers */
    HTTP_THREADS_MAX = 128,
    HTTP_STORE_WAIT_MS = 5000, /* longer without a database connection: 503 */
    HTTP_DRAIN_MS = 3000,      /* on shutdown, time given to requests in flight */
};

/* The GnuTLS priority string for HTTPS: TLS 1.3 and 1.2 only; AEAD ciphers only (AES-GCM,
 * ChaCha20-Poly1305); forward-secret ECDHE key exchange for TLS 1.2; server's order. */
#define HTTP_TLS_PRIORITIES                                                                        \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"         \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

struct http_request {
    const char *method; /* "GET", "POST", ... (HEAD is served as GET) */
    const char *path;
    const char *params[HTTP_PARAMS_MAX]; /* the {id} segments, in pattern order */
    size_t nparams;
    const struct auth_principal *who; /* NULL on http_anyone routes */
    const uint8_t *body;              /* decoded body, NUL-terminated; "" when none */
    size_t body_len;
    store *db;        /* this request's pooled connection (NULL after http_release_db) */
    store_pool *pool; /* where db came from */
    metrics *metrics;
    void *conn; /* the MHD connection, for http_header */
    bool tls;   /* served over HTTPS (a cookie set in the answer gets Secure) */
};

/* Error codes beside the text of an error (docs/API.md "Errors"). HTTP_E_STATUS: the code of
 * the status (400 bad_request, 404 not_found, ...); the others name one refusal. Each has
 * "error.<name>" in both languages of the catalogue (tests/unit/test_i18n.c). */
enum http_error {
    HTTP_E_STATUS = 0,
    HTTP_E_INVALID_JSON,
    HTTP_E_LOGIN_FAILED,
    HTTP_E_OUT_OF_SCOPE,
    HTTP_E_CSRF_MISSING,
    HTTP_E_BAD_SIGNATURE,
    HTTP_E_CHAIN_GAP,
    HTTP_E_CHAIN_CONFLICT,
    HTTP_E_CHAIN_BREAK,
    HTTP_E_BAD_EVENT,
    HTTP_E_FOREIGN_EVENTS,
    HTTP_E_COUNT
};

/* The code of e, or for HTTP_E_STATUS the code of status ("bad_request" for an unknown 4xx,
 * "internal" for an unknown 5xx). Static. */
const char *http_error_name(enum http_error e, unsigned status);

/* What a handler answers. body is malloc'd (or NULL) and is freed by http.c. */
enum {
    HTTP_ERROR_LINE_MAX = 300,  /* the "error" text of an error body */
    HTTP_DISPOSITION_MAX = 512, /* a Content-Disposition header value */
    HTTP_COOKIE_MAX = 256,      /* a Set-Cookie header value */
    HTTP_ETAG_MAX = 80,         /* an ETag header value */
};

struct http_response {
    unsigned status;
    char *body;
    size_t len;
    const char *content_type;                   /* static; NULL means application/json */
    char disposition[HTTP_DISPOSITION_MAX + 1]; /* Content-Disposition; "" for none */
    char set_cookie[HTTP_COOKIE_MAX + 1];       /* Set-Cookie; "" for none */
    unsigned retry_after_s;                     /* Retry-After (with 429 or 503); 0 for none */
    const char *etag; /* static or etag_buf; ETag (with 200 or 304), NULL for none */
    char etag_buf[HTTP_ETAG_MAX + 1]; /* a computed ETag: set etag to point here */
    const char *cache_control;        /* static; NULL means "no-store" */
    /* Set by http_reply_error/coded: the body is rendered again in the caller's language. */
    const char *code;                         /* static; NULL: not an error body */
    char error_line[HTTP_ERROR_LINE_MAX + 1]; /* the "error" text */
    int64_t expected_seq;                     /* > 0: also in the error body (409 gap) */
    const char *csp;                          /* static; Content-Security-Policy, NULL for none */
};

typedef void (*http_handler)(struct http_request *req, struct http_response *res);
/* Returns true when who (NULL: no token given) may call this route for this request. */
typedef bool (*http_allow)(const struct auth_principal *who, const struct http_request *req);

struct http_route {
    const char *method;
    const char *pattern; /* "/v1/classes/{id}/attendance": literal segments and {name} */
    http_handler handler;
    http_allow allow;
};

struct http_config {
    const char *listen;   /* HOST:PORT or [V6]:PORT; port 0 picks a free one */
    const char *tls_cert; /* PEM text (certificate chain) or NULL for plain HTTP */
    const char *tls_key;  /* PEM text, unencrypted */
    unsigned threads;     /* MHD's worker pool; with thread_per_connection, the store pool only */
    bool thread_per_connection; /* a thread per connection (handlers may block) */
    size_t max_body;
    unsigned conn_timeout_s;
    unsigned per_ip_limit; /* 0: unlimited (behind a proxy every client has its address) */
    unsigned max_connections;
    size_t conn_memory;
    const struct http_route *routes;
    size_t nroutes;
    store_pool *pool;
    metrics *metrics;
    /* GET (and HEAD) of a path no route matches: when set and it returns true, res is the
     * answer (the console's static files, no authentication); else 404. Runs without a
     * database connection (req->db and req->who are NULL). */
    bool (*fallback)(struct http_request *req, struct http_response *res);
};

/* The allow function of public routes: skips authentication entirely. */
bool http_anyone(const struct auth_principal *who, const struct http_request *req);

/* Starts serving (threads run until http_stop). Returns 0 and *out, RC_INVAL for a bad
 * configuration, RC_NET when the address cannot be bound or MHD refuses to start. */
int http_start(const struct http_config *cfg, http_server **out, char *err);
/* Replaces the TLS certificate chain and key (PEM text) for every later handshake; connections
 * already established keep theirs. Returns 0, or RC_INVAL with one line in err for a bad or
 * mismatched pair, which leaves the current pair serving. Only for a server started with TLS. */
int http_reload_tls(const char *cert_pem, const char *key_pem, char *err);
/* The bound port (useful with port 0). */
unsigned http_port(const http_server *s);
/* Stops accepting, gives requests in flight up to HTTP_DRAIN_MS, then stops every thread and
 * frees s. NULL is a no-op. */
void http_stop(http_server *s);

/* Gives the request's database connection back to the pool before the handler returns
 * (a handler that goes on to wait for something else, such as the ingest writer, so that
 * waiting requests do not hold every pooled connection); req->db is NULL afterwards. */
void http_release_db(struct http_request *req);

/* The caller's address as text ("127.0.0.1", "?" when unknown) into out. */
void http_client_address(const struct http_request *req, char *out, size_t n);
/* Looks up a request header (case-insensitive); NULL when absent. */
const char *http_header(const struct http_request *req, const char *name);
/* Looks up a query-string argument ("?format=csv"), decoded; NULL when absent. */
const char *http_query(const struct http_request *req, const char *name);
/* Makes res a download named filename (RFC 6266): `attachment; filename="..."`, with
 * non-ASCII bytes, quotes and backslashes replaced by '_' there, plus filename*=UTF-8''... (RFC
 * 8187 percent-encoding) when the name is not plain ASCII. Returns 0, or RC_LIMIT (and sets
 * nothing) when the header would exceed HTTP_DISPOSITION_MAX. */
int http_set_download(struct http_response *res, const char *filename);
/* Sets res to status with a copy of the JSON text. */
void http_reply_json(struct http_response *res, unsigned status, const char *json);
/* Sets res to status with {"error": "<formatted one line>", "code", "message"}, the code
 * being the status's. */
void http_reply_error(struct http_response *res, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with the code of e. */
void http_reply_coded(struct http_response *res, unsigned status, enum http_error e,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Matches path against a route pattern, capturing {..} segments into params (pointers into
 * seg_buf, which must hold HTTP_PARAMS_MAX * (HTTP_SEGMENT_MAX + 1) bytes). Returns true on a
 * match. Captured segments must be 1..HTTP_SEGMENT_MAX bytes of [A-Za-z0-9._~:@-]. */
bool http_route_match(const char *pattern, const char *path, const char **params, size_t *nparams,
                      char *seg_buf);

/* True when an If-None-Match header value (a comma-separated list of entity tags, weak ones
 * compared by their opaque part as RFC 9110 says, or "*") matches etag. NULL: false. */
bool http_etag_matches(const char *if_none_match, const char *etag);

#endif
