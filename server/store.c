/* URL parsing, dispatch to the back-end, and the connection pool. No SQL here. */
#include "store.h"

#include "rc.h"
#include "store_backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOT_IMPLEMENTED(st, err, what)                                                             \
    rc_fail(err, RC_STATE, "the %s back-end does not implement %s yet", (st)->ops->name, what)

int store_open(const char *url, unsigned flags, store **out, char *err)
{
    *out = NULL;
    if (!url || !*url)
        return rc_fail(err, RC_INVAL, "empty database URL");
    if (strlen(url) > STORE_URL_MAX)
        return rc_fail(err, RC_INVAL, "database URL longer than %d bytes", STORE_URL_MAX);
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (!*path)
            return rc_fail(err, RC_INVAL, "database URL 'sqlite:' names no file");
        return store_sqlite_ops.open(path, flags, out, err);
    }
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return rc_fail(err, RC_STATE, "PostgreSQL back-end not available yet");
    return rc_fail(err, RC_INVAL,
                   "unknown database URL (expected sqlite:PATH or postgresql://...)");
}

void store_close(store *st)
{
    if (!st)
        return;
    st->ops->close(st);
}

const char *store_backend(const store *st)
{
    return st->ops->name;
}

int store_schema_latest(const store *st)
{
    return st->ops->latest;
}

int store_schema_version(store *st, int *version, char *err)
{
    return st->ops->schema_version(st, version, err);
}

int store_migrate_to(store *st, int target, int *from, int *to, char *err)
{
    if (st->in_tx)
        return rc_fail(err, RC_STATE, "migrate inside an open transaction");
    if (target < 0 || target > st->ops->latest)
        return rc_fail(err, RC_INVAL, "no schema version %d (latest is %d)", target,
                       st->ops->latest);
    int dummy_from, dummy_to;
    return st->ops->migrate_to(st, target, from ? from : &dummy_from, to ? to : &dummy_to, err);
}

int store_migrate(store *st, int *from, int *to, char *err)
{
    return store_migrate_to(st, st->ops->latest, from, to, err);
}

int store_check_schema(store *st, char *err)
{
    int v = 0;
    int rc = st->ops->schema_version(st, &v, err);
    if (rc != RC_OK)
        return rc;
    if (v < st->ops->latest)
        return rc_fail(err, RC_STATE,
                       "database schema is at version %d, this program needs %d: run "
                       "'rollcall-server migrate'",
                       v, st->ops->latest);
    if (v > st->ops->latest)
        return rc_fail(err, RC_STATE,
                       "database schema is at version %d, newer than this program's %d: "
                       "upgrade rollcall-server",
                       v, st->ops->latest);
    return RC_OK;
}

int store_begin(store *st, char *err)
{
    if (st->in_tx)
        return rc_fail(err, RC_STATE, "a transaction is already open");
    int rc = st->ops->begin(st, err);
    if (rc == RC_OK)
        st->in_tx = true;
    return rc;
}

int store_commit(store *st, char *err)
{
    if (!st->in_tx)
        return rc_fail(err, RC_STATE, "commit without a transaction");
    int rc = st->ops->commit(st, err);
    if (rc != RC_OK)
        st->ops->rollback(st);
    st->in_tx = false;
    return rc;
}

void store_rollback(store *st)
{
    if (!st->in_tx)
        return;
    st->ops->rollback(st);
    st->in_tx = false;
}

static int savepoint_op(store *st, const char *verb, const char *name, char *err)
{
    if (!st->ops->savepoint)
        return NOT_IMPLEMENTED(st, err, "savepoints");
    if (!st->in_tx)
        return rc_fail(err, RC_STATE, "%s outside a transaction", verb);
    size_t n = strlen(name);
    if (n == 0 || n > 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz_") != n)
        return rc_fail(err, RC_INVAL, "savepoint names are 1..32 of [a-z_]");
    return st->ops->savepoint(st, verb, name, err);
}

int store_savepoint(store *st, const char *name, char *err)
{
    return savepoint_op(st, "SAVEPOINT", name, err);
}

int store_rollback_to(store *st, const char *name, char *err)
{
    return savepoint_op(st, "ROLLBACK TO", name, err);
}

int store_release(store *st, const char *name, char *err)
{
    return savepoint_op(st, "RELEASE", name, err);
}

int store_checkpoint(store *st, bool *done, char *err)
{
    bool ran = false;
    int rc = RC_OK;
    if (st->in_tx)
        return rc_fail(err, RC_STATE, "checkpoint inside a transaction");
    if (st->ops->checkpoint)
        rc = st->ops->checkpoint(st, &ran, err);
    if (done)
        *done = ran;
    return rc;
}

int store_token_insert(store *st, const struct store_token *t, char *err)
{
    if (!st->ops->token_insert)
        return NOT_IMPLEMENTED(st, err, "tokens");
    return st->ops->token_insert(st, t, err);
}

int store_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err)
{
    if (!st->ops->token_lookup)
        return NOT_IMPLEMENTED(st, err, "tokens");
    if (strlen(hash_hex) != STORE_HASH_HEX_LEN)
        return rc_fail(err, RC_INVAL, "token hash is not %d hex digits", STORE_HASH_HEX_LEN);
    return st->ops->token_lookup(st, hash_hex, out, err);
}

int store_device_count_seen(store *st, int64_t *n, char *err)
{
    if (!st->ops->device_count_seen)
        return NOT_IMPLEMENTED(st, err, "devices");
    return st->ops->device_count_seen(st, n, err);
}

int store_device_list(store *st, size_t limit, int (*fn)(const struct store_device *d, void *ctx),
                      void *ctx, char *err)
{
    return store_device_list_scoped(st, NULL, limit, fn, ctx, err);
}

int store_device_list_scoped(store *st, const char *institution, size_t limit,
                             int (*fn)(const struct store_device *d, void *ctx), void *ctx,
                             char *err)
{
    if (!st->ops->device_list)
        return NOT_IMPLEMENTED(st, err, "devices");
    return st->ops->device_list(st, institution, limit, fn, ctx, err);
}

/* The wrappers below check what every back-end would otherwise check again. */
#define NEED(op, what)                                                                             \
    do {                                                                                           \
        if (!st->ops->op)                                                                          \
            return NOT_IMPLEMENTED(st, err, what);                                                 \
    } while (0)

int store_enrolment_get(store *st, const char *id, struct store_enrolment *out, char *err)
{
    NEED(enrolment_get, "enrolment");
    return st->ops->enrolment_get(st, id, out, err);
}

int store_enrolment_insert(store *st, const struct store_enrolment *e, char *err)
{
    NEED(enrolment_insert, "enrolment");
    return st->ops->enrolment_insert(st, e, err);
}

int store_enrolment_update(store *st, const struct store_enrolment *e, char *err)
{
    NEED(enrolment_update, "enrolment");
    return st->ops->enrolment_update(st, e, err);
}

int store_institution_key(store *st, const char *id,
                          const uint8_t candidate[STORE_INSTITUTION_KEY_LEN], int64_t now_ms,
                          uint8_t key[STORE_INSTITUTION_KEY_LEN], bool *created, char *err)
{
    NEED(institution_key, "institutions");
    bool dummy;
    return st->ops->institution_key(st, id, candidate, now_ms, key, created ? created : &dummy,
                                    err);
}

int store_head_get(store *st, const char *device, struct store_head *out, char *err)
{
    NEED(head_get, "chain heads");
    return st->ops->head_get(st, device, out, err);
}

int store_head_advance(store *st, const char *device, int64_t seq, const char *hash, int64_t now_ms,
                       char *err)
{
    NEED(head_advance, "chain heads");
    if (seq < 1 || strlen(hash) != STORE_HASH_HEX_LEN)
        return rc_fail(err, RC_INVAL, "chain head needs seq >= 1 and a 64-digit hash");
    return st->ops->head_advance(st, device, seq, hash, now_ms, err);
}

int store_event_insert(store *st, const struct store_event *e, char *err)
{
    NEED(event_insert, "events");
    return st->ops->event_insert(st, e, err);
}

int store_event_raw(store *st, const char *device, int64_t seq, char *buf, size_t cap, size_t *len,
                    char *err)
{
    NEED(event_raw, "events");
    return st->ops->event_raw(st, device, seq, buf, cap, len, err);
}

int store_device_seen(store *st, const char *device, const struct store_device_status *s,
                      int64_t now_ms, char *err)
{
    NEED(device_seen, "devices");
    return st->ops->device_seen(st, device, s, now_ms, err);
}

int store_finding_insert(store *st, const struct store_finding *f, char *err)
{
    NEED(finding_insert, "findings");
    return st->ops->finding_insert(st, f, err);
}

int store_fence_current(store *st, const char *id, struct store_fence *out, char *err)
{
    NEED(fence_current, "fences");
    return st->ops->fence_current(st, id, out, err);
}

void store_fence_clear(struct store_fence *f)
{
    if (!f)
        return;
    free(f->geojson);
    f->geojson = NULL;
}

int store_fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                    const char *created_by, int64_t now_ms, bool replace,
                    enum store_fence_outcome *outcome, int *version, char *err)
{
    NEED(fence_put, "fences");
    enum store_fence_outcome o;
    int v;
    return st->ops->fence_put(st, id, geojson, sha256, created_by, now_ms, replace,
                              outcome ? outcome : &o, version ? version : &v, err);
}

/* The pool: a fixed array of connections and a stack of free ones. */
struct store_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    size_t n;
    size_t nfree;
    store **all;
    store **free_stack;
};

int store_pool_open(const char *url, size_t n, store_pool **out, char *err)
{
    int rc = RC_OK;
    *out = NULL;
    if (n == 0 || n > STORE_POOL_MAX)
        return rc_fail(err, RC_INVAL, "pool size %zu outside 1..%d", n, STORE_POOL_MAX);
    store_pool *p = calloc(1, sizeof *p);
    if (!p)
        return rc_fail(err, RC_NOMEM, "out of memory");
    p->all = calloc(n, sizeof *p->all);
    p->free_stack = calloc(n, sizeof *p->free_stack);
    if (!p->all || !p->free_stack) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = store_open(url, 0, &p->all[i], err);
        if (rc != RC_OK)
            goto out;
        p->n++;
        p->free_stack[p->nfree++] = p->all[i];
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        rc = rc_fail(err, RC_NOMEM, "cannot create the pool's mutex");
        goto out;
    }
    /* The condition variable waits on CLOCK_MONOTONIC so a clock step cannot stall it. */
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        pthread_mutex_destroy(&p->lock);
        rc = rc_fail(err, RC_NOMEM, "cannot create the pool's condition variable");
        goto out;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int crc = pthread_cond_init(&p->freed, &ca);
    pthread_condattr_destroy(&ca);
    if (crc != 0) {
        pthread_mutex_destroy(&p->lock);
        rc = rc_fail(err, RC_NOMEM, "cannot create the pool's condition variable");
        goto out;
    }
    *out = p;
    return RC_OK;
out:
    for (size_t i = 0; i < p->n; i++)
        store_close(p->all[i]);
    free(p->all);
    free(p->free_stack);
    free(p);
    return rc;
}

store *store_pool_acquire(store_pool *p, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    store *st = NULL;
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0) {
        if (pthread_cond_timedwait(&p->freed, &p->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (p->nfree > 0)
        st = p->free_stack[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return st;
}

void store_pool_release(store_pool *p, store *st)
{
    if (!st)
        return;
    store_rollback(st);
    pthread_mutex_lock(&p->lock);
    p->free_stack[p->nfree++] = st;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

void store_pool_close(store_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        store_close(p->all[i]);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    free(p->all);
    free(p->free_stack);
    free(p);
}
