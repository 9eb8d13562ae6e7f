/* Alerts: webhooks told about serious findings (docs/OPERATIONS.md "Alerts").
 *
 * The store's trigger writes one outbox row per (live subscription, stored finding of severity
 * high) in the same statement as the finding; this module sends those rows. A sender thread in
 * `serve` walks the due rows, claims each (a lease in the database, so two collectors on one
 * database do not both send it), POSTs its body with libcurl and records the outcome: a 2xx
 * (and, for WeCom, errcode 0) marks it delivered and it is never sent again; anything else is
 * retried after base * 2^(attempts-1), capped, until max_attempts, then marked failed.
 *
 * Invariants:
 * - A row is marked delivered only after its receiver answered 2xx; a collector stopped between
 *   that answer and the commit sends it once more on restart, with the same idempotency key
 *   (at-least-once; receivers deduplicate by the key).
 * - A webhook URL never reaches a log line, an error message or a listing in clear: only
 *   alert_mask_url's form does (its query values and user information are masked). */
#ifndef ROLLCALL_SERVER_ALERT_H
#define ROLLCALL_SERVER_ALERT_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct alert_sender alert_sender;

enum {
    ALERT_BODY_MAX = 16 << 10,       /* a body we send */
    ALERT_RESPONSE_MAX = 4 << 10,    /* a receiver's answer we read (WeCom's errcode) */
    ALERT_WECOM_TEXT_MAX = 2048,     /* WeCom text.content, bytes */
    ALERT_WECOM_MARKDOWN_MAX = 4096, /* WeCom markdown.content, bytes */
    ALERT_BATCH = 16,                /* due rows taken per pass */
    /* A claimed row waits twice the attempt's timeout plus this before another try: longer
     * than any attempt in flight can last, so two collectors never send it at once, and short
     * enough that a collector killed mid-attempt delays its row by well under a minute. */
    ALERT_LEASE_MARGIN_MS = 5000,
    ALERT_DEFAULT_POLL_MS = 1000,   /* how often the sender looks for due rows */
    ALERT_DEFAULT_BASE_MS = 10000,  /* first retry after a failure */
    ALERT_DEFAULT_CAP_MS = 3600000, /* retries at most this far apart */
    ALERT_DEFAULT_ATTEMPTS = 48,    /* then the row is marked failed */
    ALERT_DEFAULT_TIMEOUT_S = 15,   /* one POST, connection included */
    ALERT_MASKED_URL_MAX = STORE_ALERT_URL_MAX,
    ALERT_KEY_MAX = 64, /* an idempotency key */
};

struct alert_config {
    unsigned poll_ms;
    int64_t base_ms;
    int64_t cap_ms;
    unsigned max_attempts;
    unsigned timeout_s;
};

/* Fills c with the defaults above. */
void alert_config_default(struct alert_config *c);

/* True when f is a body format: "json", "wecom-markdown", "wecom-text". */
bool alert_format_valid(const char *f);
/* Checks a webhook URL: http:// or https://, a host, 1..STORE_ALERT_URL_MAX printable ASCII
 * bytes without spaces. RC_INVAL with the reason (which never quotes the URL). */
int alert_url_check(const char *url, char *err);
/* The URL as it may be shown: user information and every query value replaced by "***", a
 * fragment dropped ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"); a URL too
 * long for n bytes is not shown at all. */
void alert_mask_url(const char *url, char *out, size_t n);
/* The delay before the next try after `attempts` failed ones (>= 1): base * 2^(attempts-1),
 * at most cap. */
int64_t alert_backoff_ms(int64_t attempts, int64_t base_ms, int64_t cap_ms);
/* The idempotency key of a delivery: "rollcall-alert-<subscription>-F<finding>". */
void alert_key(const struct store_alert_delivery *d, char *out, size_t n);
/* The body for d in its subscription's format. Returns 0 and *body (malloc'd, NUL-terminated,
 * caller frees) with *len, or RC_NOMEM / RC_INVAL (unknown format). */
int alert_body(const struct store_alert_delivery *d, char **body, size_t *len, char *err);

/* Sends every due row once (now_ms: the clock) through st and records the outcomes; *sent and
 * *failed (may be NULL) count the attempts that succeeded and failed. Returns 0 or a store
 * error. Logs each outcome (masked URL). */
int alert_deliver_due(store *st, const struct alert_config *cfg, int64_t now_ms, size_t *sent,
                      size_t *failed, char *err);

/* Starts the sender thread on its own connection to db_url. curl_global_init must have run.
 * Returns 0 and *out, or RC_NOMEM / RC_STATE. */
int alert_sender_start(const char *db_url, const struct alert_config *cfg, alert_sender **out,
                       char *err);
/* Stops the thread (an attempt in flight finishes, at most timeout_s) and frees s. NULL: no-op. */
void alert_sender_stop(alert_sender *s);

#endif
