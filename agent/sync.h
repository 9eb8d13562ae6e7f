/* sync: the uploader. Reads consecutive unacknowledged events from the outbox, sends them to
 * the collector as signed, gzip-compressed NDJSON batches (POST /v1/batches, see
 * PIPE-CONTRACT in docs/SYNC.md) over reused libcurl handles (a window of up to sync.inflight
 * batches in flight), and records the server's
 * acknowledgements. Also the HTTP client setup shared with `enroll`, and the pieces of the
 * retry policy as pure functions (backoff with full jitter, Retry-After, answer parsing,
 * outcome classification) so they can be tested without a network.
 *
 * Invariants:
 * - an event is marked acknowledged (outbox_ack) only up to the ack_seq of a 200 answer
 *   whose ack_seq is within the batch just sent; nothing else moves the acknowledged position;
 * - events are never dropped or rewritten here: a refused batch stays pending and is sent
 *   again, byte for byte, after the retry delay;
 * - TLS: https only unless the config sets allow_plain_http; the server certificate is
 *   checked (against ca_file when set) and, with pin_sha256, its public key must match;
 * - the sync state (sync_state below) lives in the outbox's state table, so `status` and a
 *   restarted daemon see the last result, the open finding and the next retry time. */
#ifndef ROLLCALL_AGENT_SYNC_H
#define ROLLCALL_AGENT_SYNC_H

#include "dynbuf.h"
#include "kiosk.h"
#include "outbox.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SYNC_ANSWER_MAX = 64 * 1024,     /* bytes of a server answer kept; more is an error */
    SYNC_TOKEN_MAX = 1024,           /* a device token (file contents) */
    SYNC_MESSAGE_LEN = 256,          /* a server error message or local finding kept */
    SYNC_RETRY_AFTER_MAX_S = 86400,  /* a longer Retry-After is clamped to this */
    SYNC_MAX_ATTEMPT = 62,           /* the attempt counter stops growing here */
    SYNC_CONNECT_TIMEOUT_MAX_S = 15, /* connect timeout: min(profile timeout_s, this) */
    SYNC_RETRY_AFTER_LEN = 128,      /* a Retry-After header value kept */
    SYNC_RESUME_MAX = 4,             /* consecutive 409 resumes without progress before giving up */
    SYNC_INFLIGHT_MAX = 16,          /* batches in flight at once (profile sync.inflight) */
};

/* What to do after one request. */
enum sync_outcome {
    SYNC_OUT_ACK = 0, /* 200 with a usable ack_seq: acknowledge, go on */
    SYNC_OUT_RESUME,  /* 409 gap with expected_seq: resend from there at once */
    SYNC_OUT_RETRY,   /* transient (network, 5xx, 429, 503, 408, garbled 200): back off */
    SYNC_OUT_STOP,    /* retrying the same bytes cannot help (400, 401, 403, 413, TLS trust,
                         ...): keep the events, raise a finding, retry after backoff_cap_ms */
};

/* A server answer, as read by sync_parse_answer. */
struct sync_answer {
    long status;      /* HTTP status; 0 when the transfer failed */
    bool has_ack;     /* 200 body had accepted, duplicates, ack_seq */
    int64_t accepted; /* events stored for the first time */
    int64_t duplicates;
    int64_t ack_seq;
    bool has_expected; /* 409 body had expected_seq */
    int64_t expected_seq;
    char error[SYNC_MESSAGE_LEN]; /* the body's "error", "" when none */
};

/* Parses the JSON body of an answer with the given status into *out (which is reset first).
 * Never fails: an unreadable body just leaves has_ack/has_expected false and error "". */
void sync_parse_answer(long status, const char *body, size_t len, struct sync_answer *out);

/* Classifies an answer. curl_code is the transfer's result (CURLE_OK when an HTTP answer
 * arrived); a == NULL or a failed transfer is classified by curl_code alone: TLS trust and
 * configuration errors STOP, everything else RETRY. first_seq/last_seq are the batch's. */
enum sync_outcome sync_classify(CURLcode curl_code, const struct sync_answer *a, int64_t first_seq,
                                int64_t last_seq);

/* Full-jitter exponential backoff: a delay uniform in [0, min(cap_ms, base_ms * 2^attempt)],
 * computed from the 64 random bits r (r % (ceiling + 1)). attempt 0 is the first retry.
 * Never overflows; returns 0 when base_ms or cap_ms is not positive. */
int64_t sync_backoff_ms(int64_t base_ms, int64_t cap_ms, unsigned attempt, uint64_t r);

/* Parses a Retry-After header value (RFC 9110 10.2.3): delay-seconds, or an HTTP-date
 * (IMF-fixdate and the two obsolete forms) taken relative to now_ms. Surrounding whitespace
 * is allowed. *delay_ms gets the delay, clamped to [0, SYNC_RETRY_AFTER_MAX_S s] (a date in
 * the past is 0). Returns 0, or RC_INVAL for anything else (the header is then ignored). */
int sync_retry_after_parse(const char *value, int64_t now_ms, int64_t *delay_ms);

/* gzip-compresses len bytes at in (RFC 1952 wrapper, zlib) into a new buffer *out of *outlen
 * bytes that the caller frees. Returns 0, RC_NOMEM or RC_LIMIT (input over 4 GiB). */
int sync_gzip(const void *in, size_t len, unsigned char **out, size_t *outlen, char *err);

/* Calls curl_global_init once; call it at program start, before any thread. Returns 0 or
 * RC_NOMEM. */
int sync_global_init(char *err);

/* A libcurl easy handle set up for the collector of cfg: protocols (https, plus http with
 * allow_plain_http), CA file, public-key pin, timeouts from the profile, no signals, a
 * User-Agent, proxies from the environment (libcurl's default). The caller sets the URL and
 * the request, and frees the handle with curl_easy_cleanup. Returns 0 and *out, RC_NOMEM, or
 * RC_INVAL (pin_sha256 unusable). */
int sync_curl_new(const struct config_agent *cfg, CURL **out, char *err);

/* Builds "<server without trailing slashes><path>" into out (cap bytes). 0 or RC_LIMIT. */
int sync_url(const struct config_agent *cfg, const char *path, char *out, size_t cap, char *err);

/* Reads the device token file (one line; refused when group or other can read it) into out
 * (cap bytes). RC_STATE when the config names no token file (not enrolled), RC_NOTFOUND,
 * RC_AUTH, RC_INVAL, RC_IO. */
int sync_read_token(const struct config_agent *cfg, char *out, size_t cap, char *err);

/* The answer to one request made with sync_http_post. */
struct sync_reply {
    CURLcode code;              /* CURLE_OK when an HTTP answer arrived */
    long status;                /* HTTP status, 0 without an answer */
    char body[SYNC_ANSWER_MAX]; /* NUL-terminated */
    size_t len;
    bool overflow;                          /* the body was longer than SYNC_ANSWER_MAX - 1 */
    char retry_after[SYNC_RETRY_AFTER_LEN]; /* the Retry-After header's value, "" when absent */
    char curl_err[CURL_ERROR_SIZE];         /* libcurl's detail for a failed transfer */
    int64_t date_ms;                        /* the answer's Date header (UTC ms), 0 when absent */
    int64_t received_ms;                    /* local UTC ms when that header arrived */
    const volatile sig_atomic_t *stop;      /* set by the caller: abort when *stop != 0 */
};

/* POSTs len bytes of body to url on h with the given extra header lines ("Name: value") and
 * fills *rep (its stop field is kept). The handle keeps its connection for the next request.
 * Returns 0 whether or not the server answered (see rep->code / rep->status); RC_NOMEM. */
int sync_http_post(CURL *h, const char *url, const char *const *headers, size_t n_headers,
                   const void *body, size_t len, struct sync_reply *rep, char *err);

/* The one-line description of a failed request: "network: ...", "HTTP 401: <error>". */
void sync_reply_describe(const struct sync_reply *rep, char *out, size_t cap);

/* Consecutive pending events read from the outbox, as the NDJSON body of one batch. */
struct sync_batch {
    /* the lines, each ending in a newline (sync_batch_free); at most max_bytes, or one event
     * when that alone is larger (EVENT_LINE_MAX + 1) */
    struct dynbuf lines;
    size_t last_off; /* where the last line starts */
    int64_t first_seq, last_seq;
    size_t count; /* 0: nothing pending after the given seq */
};

/* Reads the events after after_seq (at most max_events, at most max_bytes but at least one)
 * into b, replacing what it held. Returns 0 (b->count may be 0), RC_NOTFOUND (after_seq + 1
 * was pruned), RC_NOMEM, RC_DB. */
int sync_batch_read(outbox *ob, int64_t after_seq, size_t max_events, size_t max_bytes,
                    struct sync_batch *b, char *err);
/* The batch signature: base64 DER ECDSA over SHA-256 of the last line's bytes (no newline),
 * with the kiosk's device key. Returns 0 or an rc from crypto_key_sign. */
int sync_batch_sign(struct kiosk *k, const struct sync_batch *b, char sig[CRYPTO_SIG_B64_MAX + 1],
                    char *err);
/* Frees the batch's buffer and zeroes it. */
void sync_batch_free(struct sync_batch *b);

/* The persistent sync state (outbox state table keys "sync.*": last_attempt_ms, last_ok_ms,
 * last_error, last_error_ms, finding, next_retry_ms, attempt, server_skew_ms; `status` reads
 * them); times are UTC ms, 0 = never. */
struct sync_state {
    int64_t last_attempt_ms;           /* last request */
    int64_t last_ok_ms;                /* last pass that left nothing pending */
    int64_t last_error_ms;             /* when last_error was recorded */
    char last_error[SYNC_MESSAGE_LEN]; /* last failure, "" when the last pass succeeded */
    char finding[SYNC_MESSAGE_LEN];    /* open local finding (a STOP), "" when none */
    int64_t next_retry_ms;             /* do not try before this, 0 = any time */
    int64_t attempt;                   /* consecutive failures */
    bool has_server_skew;              /* a server Date header was seen */
    int64_t server_skew_ms;            /* this clock minus the server's, to about 1 s */
};

/* Its keys in the outbox state table. */
#define SYNC_KEY_LAST_ATTEMPT "sync.last_attempt_ms"
#define SYNC_KEY_LAST_OK "sync.last_ok_ms"
#define SYNC_KEY_LAST_ERROR "sync.last_error"
#define SYNC_KEY_LAST_ERROR_MS "sync.last_error_ms"
#define SYNC_KEY_FINDING "sync.finding"
#define SYNC_KEY_NEXT_RETRY "sync.next_retry_ms"
#define SYNC_KEY_ATTEMPT "sync.attempt"
#define SYNC_KEY_SERVER_SKEW "sync.server_skew_ms"

/* Reads the sync state from the outbox (missing keys read as 0 / ""). Returns 0 or RC_DB. */
int sync_state_load(outbox *ob, struct sync_state *st, char *err);

/* Writes the keys whose value changed from old (as loaded), each a durable transaction; a
 * value that went back to 0 or "" is deleted (missing keys read as 0 / ""), so `status` shows
 * null. The server skew is rewritten only when it moved by a second or more. 0 or RC_DB. */
int sync_state_save(outbox *ob, const struct sync_state *old, const struct sync_state *st,
                    char *err);

/* (sync_state_load, sync_state_save and sync_due_ms live in agent/sync_state.c, which needs
 * no libcurl: the kiosk daemon reads the state to schedule its sync children.) */

/* When the daemon should next call sync_run_once: the later of last_attempt_ms + interval_ms
 * and next_retry_ms (UTC ms). */
int64_t sync_due_ms(const struct sync_state *st, int64_t interval_ms);

struct sync_options {
    bool gzip;                         /* send Content-Encoding: gzip bodies */
    const volatile sig_atomic_t *stop; /* non-NULL: abort soon after *stop becomes non-zero */
    int64_t budget_ms;                 /* > 0: start no new batch this long after the pass
                                          began (a daemon keeps serving sign-ins meanwhile) */
};

struct sync_result {
    bool budget_spent;         /* the pass stopped at opt->budget_ms with events still pending */
    int64_t accepted;          /* events the server stored for the first time in this pass */
    int64_t duplicates;        /* events it already had */
    int64_t batches;           /* batches it acknowledged */
    int64_t ack_seq;           /* acknowledged position at the end */
    int64_t pending;           /* events still unacknowledged at the end */
    enum sync_outcome outcome; /* SYNC_OUT_ACK when nothing was left pending */
    long last_status;          /* the last HTTP status (0: no answer) */
    int64_t retry_in_ms;       /* after a failure: the delay chosen before the next try */
};

/* One pass: uploads batches (the profile's batch_max_events / batch_max_bytes), up to
 * sync.inflight of them at once on as many kept-alive connections, answers taken in the order
 * the batches were sent (after a failure or a 409 the batches behind it are dropped and sent
 * again from the acknowledged position; a stale 409, one older than the acknowledgement just
 * before its batch, sends that batch again alone and keeps those behind it still in flight),
 * until nothing is pending, a request fails, or *opt->stop is set. A 409 gap resumes from the
 * server's expected_seq at once. On failure the state gets the error (and, for SYNC_OUT_STOP, the
 * finding) and next_retry_ms from the backoff (Retry-After honoured on 429/503; the cap for
 * STOP); on success both are cleared. k needs KIOSK_OUTBOX | KIOSK_KEY. Returns 0 when the
 * pass ended with nothing pending, or with every batch it sent acknowledged when the budget
 * ran out (res->budget_spent); RC_NET (retryable), RC_AUTH / RC_INVAL / RC_CONFLICT /
 * RC_LIMIT (stopped: see res->outcome and err), RC_STATE (not enrolled), RC_TIMEOUT
 * (stopped by opt->stop), RC_DB, RC_NOMEM; *res is filled in every case. */
int sync_run_once(struct kiosk *k, const struct sync_options *opt, struct sync_result *res,
                  char *err);

#endif
