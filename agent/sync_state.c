/* The persistent sync state (sync.h), loaded and saved here and nowhere else: apart from sync.c
 * so that the kiosk daemon, which schedules `rollcall-agent sync` children from this state,
 * does not link libcurl. */
#include "rc.h"
#include "sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    INT_TEXT_LEN = 32, /* an int64 as decimal text, with sign and NUL */
};

static int state_int(outbox *ob, const char *key, int64_t *out, char *err)
{
    char v[INT_TEXT_LEN];
    *out = 0;
    int rc = outbox_state_get(ob, key, v, sizeof v, err);
    if (rc == RC_NOTFOUND)
        return RC_OK;
    if (rc != RC_OK)
        return rc;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno == 0 && end != v && *end == '\0')
        *out = x;
    return RC_OK;
}

static int state_text(outbox *ob, const char *key, char *out, size_t cap, char *err)
{
    out[0] = '\0';
    int rc = outbox_state_get(ob, key, out, cap, err);
    if (rc == RC_NOTFOUND || rc == RC_LIMIT) {
        out[0] = '\0';
        return RC_OK;
    }
    return rc;
}

int sync_state_load(outbox *ob, struct sync_state *st, char *err)
{
    memset(st, 0, sizeof *st);
    int rc;
    if ((rc = state_int(ob, SYNC_KEY_LAST_ATTEMPT, &st->last_attempt_ms, err)) ||
        (rc = state_int(ob, SYNC_KEY_LAST_OK, &st->last_ok_ms, err)) ||
        (rc = state_int(ob, SYNC_KEY_LAST_ERROR_MS, &st->last_error_ms, err)) ||
        (rc = state_int(ob, SYNC_KEY_NEXT_RETRY, &st->next_retry_ms, err)) ||
        (rc = state_int(ob, SYNC_KEY_ATTEMPT, &st->attempt, err)) ||
        (rc = state_text(ob, SYNC_KEY_LAST_ERROR, st->last_error, sizeof st->last_error, err)) ||
        (rc = state_text(ob, SYNC_KEY_FINDING, st->finding, sizeof st->finding, err)))
        return rc;
    char v[INT_TEXT_LEN];
    if (outbox_state_get(ob, SYNC_KEY_SERVER_SKEW, v, sizeof v, NULL) == RC_OK) {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno == 0 && end != v && *end == '\0') {
            st->server_skew_ms = x;
            st->has_server_skew = true;
        }
    }
    return RC_OK;
}

static int put_int(outbox *ob, const char *key, int64_t v, char *err)
{
    char s[INT_TEXT_LEN];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return outbox_state_set(ob, key, s, err);
}

int sync_state_save(outbox *ob, const struct sync_state *old, const struct sync_state *st,
                    char *err)
{
    int rc = RC_OK;
#define PUT_INT(field, key)                                                                        \
    if (rc == RC_OK && st->field != old->field)                                                    \
    rc = st->field ? put_int(ob, key, st->field, err) : outbox_state_delete(ob, key, err)
#define PUT_TEXT(field, key)                                                                       \
    if (rc == RC_OK && strcmp(st->field, old->field) != 0)                                         \
    rc = st->field[0] ? outbox_state_set(ob, key, st->field, err)                                  \
                      : outbox_state_delete(ob, key, err)
    PUT_INT(last_attempt_ms, SYNC_KEY_LAST_ATTEMPT);
    PUT_INT(last_ok_ms, SYNC_KEY_LAST_OK);
    PUT_INT(last_error_ms, SYNC_KEY_LAST_ERROR_MS);
    PUT_INT(next_retry_ms, SYNC_KEY_NEXT_RETRY);
    PUT_INT(attempt, SYNC_KEY_ATTEMPT);
    PUT_TEXT(last_error, SYNC_KEY_LAST_ERROR);
    PUT_TEXT(finding, SYNC_KEY_FINDING);
    /* The skew is measured to a second (the Date header): rewrite it only when it moved. */
    if (rc == RC_OK && st->has_server_skew &&
        (!old->has_server_skew || llabs(st->server_skew_ms - old->server_skew_ms) >= 1000))
        rc = put_int(ob, SYNC_KEY_SERVER_SKEW, st->server_skew_ms, err);
#undef PUT_INT
#undef PUT_TEXT
    return rc;
}

int64_t sync_due_ms(const struct sync_state *st, int64_t interval_ms)
{
    int64_t due = st->last_attempt_ms + interval_ms;
    return st->next_retry_ms > due ? st->next_retry_ms : due;
}
