/* The figures cache warmer thread (warm.h). */
#include "engine/warm.h"

#include "bgthread.h"
#include "engine/figures.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct warm {
    struct bgthread bg;
    char *db_url;
    unsigned interval_ms;
};

/* figures_warm's stop callback */
static bool stopping(void *ctx)
{
    warm *w = ctx;
    return bgthread_stopping(&w->bg);
}

static void *warm_main(void *arg)
{
    warm *w = arg;
    store *st = NULL;
    char err[ERR_LEN];
    bool complained = false;
    /* Linux: a thread's nice value is its own; the request threads keep theirs. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WARM_NICE) != 0)
        log_msg(LOG_LVL_DEBUG, "warm: cannot lower the warmer's priority: %s", strerror(errno));
    while (!stopping(w)) {
        if (!st && store_open(w->db_url, 0, &st, err) != RC_OK) {
            st = NULL;
            if (!complained)
                log_msg(LOG_LVL_ERROR, "warm: %s", err);
            complained = true;
            bgthread_nap(&w->bg, w->interval_ms);
            continue;
        }
        struct figures_warm_result res;
        int rc = figures_warm(st, ts_now_ms(), WARM_PASS_MAX, stopping, w, &res, err);
        if (rc != RC_OK) {
            if (!complained)
                log_msg(LOG_LVL_ERROR, "warm: %s", err);
            complained = true;
            store_close(st);
            st = NULL;
        } else {
            complained = false;
            if (res.computed)
                log_msg(LOG_LVL_DEBUG, "warm: %zu classes recomputed, %zu left, %zu new alerts",
                        res.computed, res.left, res.alerted);
            if (res.alerted)
                log_msg(LOG_LVL_INFO, "warm: %zu new serious findings queued for alerts",
                        res.alerted);
        }
        /* classes left over (a full pass) are taken at once, else wait for the interval */
        if (rc != RC_OK || res.left == 0)
            bgthread_nap(&w->bg, w->interval_ms);
    }
    store_close(st);
    return NULL;
}

int warm_start(const char *db_url, unsigned interval_ms, warm **out, char *err)
{
    warm *w = calloc(1, sizeof *w);
    if (!w || !(w->db_url = strdup(db_url))) {
        free(w);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    w->interval_ms = interval_ms;
    int rc = bgthread_start(&w->bg, warm_main, w, "the figures warmer", err);
    if (rc != RC_OK) {
        free(w->db_url);
        free(w);
        return rc;
    }
    *out = w;
    return RC_OK;
}

void warm_stop(warm *w)
{
    if (!w)
        return;
    bgthread_stop(&w->bg);
    free(w->db_url);
    free(w);
}
