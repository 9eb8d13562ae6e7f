/* Reading the persistent sync state (sync.h): apart from sync.c so that the kiosk daemon,
 * which schedules `rollcall-agent sync` children from this state, does not link libcurl. */
#include "rc.h"
#include "sync.h"

#include <errno.h>
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

int64_t sync_due_ms(const struct sync_state *st, int64_t interval_ms)
{
    int64_t due = st->last_attempt_ms + interval_ms;
    return st->next_retry_ms > due ? st->next_retry_ms : due;
}
