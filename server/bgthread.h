/* A background thread of `serve` (the alert sender, the figures warmer): started once, woken
 * early only to stop, and stopped by setting a flag under a lock and joining. Each user
 * embeds a struct bgthread and passes its own state to the thread's function. */
#ifndef ROLLCALL_SERVER_BGTHREAD_H
#define ROLLCALL_SERVER_BGTHREAD_H

#include <pthread.h>
#include <stdbool.h>

struct bgthread {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC */
    bool stop;           /* under lock */
};

/* Initialises t and starts fn(arg) on a new thread. RC_OK, or RC_STATE naming what (e.g.
 * "the alert sender") with nothing left to clean up. */
int bgthread_start(struct bgthread *t, void *(*fn)(void *), void *arg, const char *what, char *err);
/* Whether bgthread_stop was called. */
bool bgthread_stopping(struct bgthread *t);
/* Waits ms milliseconds, or less when bgthread_stop is called. */
void bgthread_nap(struct bgthread *t, unsigned ms);
/* Asks the thread to stop, wakes it, joins it and frees t's lock and condition. */
void bgthread_stop(struct bgthread *t);

#endif
