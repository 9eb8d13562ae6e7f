/* A background thread with a stop flag and a wake-up (bgthread.h). */
#include "bgthread.h"

#include "rc.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int bgthread_start(struct bgthread *t, void *(*fn)(void *), void *arg, const char *what, char *err)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    t->stop = false;
    int e = pthread_create(&t->thread, NULL, fn, arg);
    if (e != 0) {
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        return rc_fail(err, RC_STATE, "cannot start %s: %s", what, strerror(e));
    }
    return RC_OK;
}

bool bgthread_stopping(struct bgthread *t)
{
    pthread_mutex_lock(&t->lock);
    bool stop = t->stop;
    pthread_mutex_unlock(&t->lock);
    return stop;
}

void bgthread_nap(struct bgthread *t, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (!t->stop && pthread_cond_timedwait(&t->wake, &t->lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&t->lock);
}

void bgthread_stop(struct bgthread *t)
{
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
}
