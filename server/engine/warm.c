/* The figures cache warmer thread (warm.h). */
#include "engine/warm.h"

#include "engine/figures.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct warm {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop; /* under lock */
    char *db_url;
    unsigned interval_ms;
};

static bool stopping(void *ctx)
{
    warm *w = ctx;
    pthread_mutex_lock(&w->lock);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->lock);
    return stop;
}

/* Waits ms, or until stopped. */
static void nap(warm *w, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->stop && pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&w->lock);
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
            nap(w, w->interval_ms);
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
            nap(w, w->interval_ms);
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
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&w->thread, NULL, warm_main, w);
    if (e != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w->db_url);
        free(w);
        return rc_fail(err, RC_STATE, "cannot start the figures warmer: %s", strerror(e));
    }
    *out = w;
    return RC_OK;
}

void warm_stop(warm *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w->db_url);
    free(w);
}
