/* URL parsing, dispatch to the back-end, and the connection pool. No SQL here. */
#include "store/store.h"

#include "rc.h"
#include "store/store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define NOT_IMPLEMENTED(st, err, what)                                                             \
    rc_fail(err, RC_STATE, "the %s back-end does not implement %s yet", (st)->ops->name, what)

int store_open(const char *url, unsigned flags, store **out, char *err)
{
    *out = NULL;
    if (!url || !*url)
        return rc_fail(err, RC_INVAL, "empty database URL");
    if (strlen(url) > STORE_URL_MAX)
        return rc_fail(err, RC_INVAL, "database URL longer than %d bytes", STORE_URL_MAX);
    int rc;
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (!*path)
            return rc_fail(err, RC_INVAL, "database URL 'sqlite:' names no file");
        rc = store_sqlite_ops.open(path, flags, out, err);
    } else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        rc = store_pg_ops.open(url, flags, out, err);
    } else {
        return rc_fail(err, RC_INVAL,
                       "unknown database URL (expected sqlite:PATH or postgresql://...)");
    }
    if (rc != RC_OK)
        return rc;
    if (!((*out)->url = strdup(url))) {
        store_close(*out);
        *out = NULL;
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    return RC_OK;
}

int store_open_again(const store *st, store **out, char *err)
{
    *out = NULL;
    if (!st->url)
        return rc_fail(err, RC_STATE, "this connection was not opened by URL");
    return store_open(st->url, 0, out, err);
}

int store_ops_complete(const struct store_ops *ops, char *err)
{
    typedef int (*any_op)(void);
    const unsigned char *base = (const unsigned char *)ops;
    size_t first = offsetof(struct store_ops, open);
    for (size_t off = first; off + sizeof(any_op) <= sizeof *ops; off += sizeof(any_op)) {
        if (off == offsetof(struct store_ops, checkpoint))
            continue;
        any_op f;
        memcpy(&f, base + off, sizeof f);
        if (!f)
            return rc_fail(err, RC_STATE,
                           "the %s back-end leaves op %zu of store_backend.h (counting from "
                           "'open' as 0) NULL",
                           ops->name, (off - first) / sizeof(any_op));
    }
    return RC_OK;
}

void store_close(store *st)
{
    if (!st)
        return;
    free(st->url); /* the back-end frees st itself */
    st->url = NULL;
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
    st->n_changed = 0;
    int rc = st->ops->begin(st, err);
    if (rc == RC_OK)
        st->in_tx = true;
    return rc;
}

int store_commit(store *st, char *err)
{
    if (!st->in_tx)
        return rc_fail(err, RC_STATE, "commit without a transaction");
    int rc = RC_OK;
    /* The generations of the classes whose inputs changed, once each, in the transaction
     * that changed them: a figure cached at the old generation is stale from this commit on. */
    for (size_t i = 0; i < st->n_changed && rc == RC_OK; i++)
        rc = st->ops->class_bump(st, st->changed[i], err);
    st->n_changed = 0;
    if (rc == RC_OK)
        rc = st->ops->commit(st, err);
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
    st->n_changed = 0;
}

int store_write_begin(store *st, bool *own, char *err)
{
    *own = !st->in_tx;
    return *own ? store_begin(st, err) : RC_OK;
}

int store_class_changed(store *st, const char *class_id, char *err)
{
    if (!class_id || !*class_id)
        return RC_OK;
    for (size_t i = 0; i < st->n_changed; i++)
        if (strcmp(st->changed[i], class_id) == 0)
            return RC_OK;
    if (st->n_changed < STORE_CHANGED_MAX && strlen(class_id) <= STORE_ID_MAX) {
        memcpy(st->changed[st->n_changed++], class_id, strlen(class_id) + 1);
        return RC_OK;
    }
    return st->ops->class_bump(st, class_id, err); /* no room: now, in the same transaction */
}

int store_write_end(store *st, bool own, int rc, char *err)
{
    if (!own)
        return rc;
    if (rc != RC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st, err);
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

int store_backup(store *st, const char *dest_path, char *err)
{
    if (!st->ops->backup)
        return NOT_IMPLEMENTED(st, err, "an online backup (use pg_dump)");
    if (st->in_tx)
        return rc_fail(err, RC_STATE, "backup inside a transaction");
    return st->ops->backup(st, dest_path, err);
}

int store_integrity_check(store *st, char *err)
{
    if (!st->ops->integrity_check)
        return NOT_IMPLEMENTED(st, err, "an integrity check");
    return st->ops->integrity_check(st, err);
}

int store_hold(const char *url, bool exclusive, int *fd, char *err)
{
    *fd = -1;
    if (strncmp(url, "sqlite:", 7) != 0)
        return RC_OK;
    const char *path = url + 7;
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0)
        return rc_fail(err, errno == ENOENT ? RC_NOTFOUND : RC_IO, "cannot open %s: %s", path,
                       strerror(errno));
    if (flock(f, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        int e = errno;
        close(f);
        if (e == EWOULDBLOCK)
            return rc_fail(err, RC_STATE,
                           exclusive ? "a collector is serving %s: stop it first (systemctl stop "
                                       "rollcall-server)"
                                     : "%s is being restored: start the collector when that ends",
                           path);
        return rc_fail(err, RC_IO, "cannot lock %s: %s", path, strerror(e));
    }
    *fd = f;
    return RC_OK;
}

void store_release_hold(int fd)
{
    if (fd >= 0)
        close(fd); /* after every SQLite connection to the file closed: see store_hold */
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

int store_token_list(store *st, int (*fn)(const struct store_token *t, void *ctx), void *ctx,
                     char *err)
{
    if (!st->ops->token_list)
        return NOT_IMPLEMENTED(st, err, "tokens");
    return st->ops->token_list(st, fn, ctx, err);
}

int store_token_revoke(store *st, const char *name, const char *by, int64_t now_ms, char *err)
{
    if (!st->ops->token_revoke)
        return NOT_IMPLEMENTED(st, err, "tokens");
    if (!name || !*name || strlen(name) > STORE_TOKEN_NAME_MAX || !by ||
        strlen(by) > STORE_TOKEN_NAME_MAX)
        return rc_fail(err, RC_INVAL, "a token name and who revokes it are 1..%d bytes",
                       STORE_TOKEN_NAME_MAX);
    return st->ops->token_revoke(st, name, by, now_ms, err);
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
    return store_device_list_scoped(st, NULL, NULL, limit, fn, ctx, err);
}

int store_device_list_scoped(store *st, const char *institution, const char *district, size_t limit,
                             int (*fn)(const struct store_device *d, void *ctx), void *ctx,
                             char *err)
{
    if (!st->ops->device_list)
        return NOT_IMPLEMENTED(st, err, "devices");
    return st->ops->device_list(st, institution, district, limit, fn, ctx, err);
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
    return store_events_insert(st, e, 1, err);
}

int store_events_insert(store *st, const struct store_event *rows, size_t n, char *err)
{
    NEED(events_insert, "events");
    if (n == 0)
        return RC_OK;
    bool own;
    int rc = store_write_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    rc = st->ops->events_insert(st, rows, n, err);
    for (size_t i = 0; rc == RC_OK && i < n; i++)
        rc = store_class_changed(st, rows[i].class_id, err);
    return store_write_end(st, own, rc, err);
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
    /* A code or arguments that would not fit a reader's row are not stored (cutting JSON would
     * break it): the English detail stands alone, as on the rows before migration 17. */
    struct store_finding g = *f;
    if (!g.detail_code || !g.detail_args || !*g.detail_code ||
        strlen(g.detail_code) > STORE_DETAIL_CODE_MAX ||
        strlen(g.detail_args) > STORE_DETAIL_ARGS_MAX)
        g.detail_code = g.detail_args = NULL;
    return st->ops->finding_insert(st, &g, err);
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

/* Figures. */

#define NEED(op, what)                                                                             \
    do {                                                                                           \
        if (!st->ops->op)                                                                          \
            return NOT_IMPLEMENTED(st, err, what);                                                 \
    } while (0)

bool store_in_transaction(const store *st)
{
    return st->in_tx;
}

int store_begin_read(store *st, char *err)
{
    NEED(begin_read, "read transactions");
    if (st->in_tx)
        return rc_fail(err, RC_STATE, "a transaction is already open");
    int rc = st->ops->begin_read(st, err);
    if (rc == RC_OK)
        st->in_tx = true;
    return rc;
}

int store_institution_district(store *st, const char *id, char district[STORE_DISTRICT_LEN + 1],
                               char *err)
{
    NEED(institution_district, "institutions");
    return st->ops->institution_district(st, id, district, err);
}

int store_institution_register(store *st, const char *id, const char *district, char *err)
{
    NEED(institution_register, "institutions");
    if (strlen(district) != STORE_DISTRICT_LEN)
        return rc_fail(err, RC_INVAL, "a district code has %d digits", STORE_DISTRICT_LEN);
    return st->ops->institution_register(st, id, district, err);
}

int store_class_events(store *st, const char *class_id, const char *institution,
                       int (*fn)(const struct store_raw_event *e, void *ctx), void *ctx, char *err)
{
    NEED(class_events, "events");
    return st->ops->class_events(st, class_id, institution, fn, ctx, err);
}

int store_device_events(store *st, const char *device, int64_t from_ms, int64_t to_ms,
                        int (*fn)(const struct store_raw_event *e, void *ctx), void *ctx, char *err)
{
    NEED(device_events, "events");
    return st->ops->device_events(st, device, from_ms, to_ms, fn, ctx, err);
}

int store_class_device_events(store *st, const char *class_id, const char *institution,
                              int64_t early_ms, int64_t grace_ms,
                              int (*fn)(const struct store_raw_event *e, void *ctx), void *ctx,
                              char *err)
{
    NEED(class_device_events, "events");
    return st->ops->class_device_events(st, class_id, institution, early_ms, grace_ms, fn, ctx,
                                        err);
}

int store_events_uncolumned(store *st, int64_t after_id, size_t limit,
                            int (*fn)(const struct store_event_line *e, void *ctx), void *ctx,
                            char *err)
{
    NEED(events_uncolumned, "events");
    return st->ops->events_uncolumned(st, after_id, limit, fn, ctx, err);
}

int store_event_columns_fill(store *st, const int64_t *ids, const struct store_event *rows,
                             size_t n, int64_t *changed, char *err)
{
    NEED(event_columns_fill, "events");
    int64_t none;
    if (!changed)
        changed = &none;
    *changed = 0;
    for (size_t i = 0; i < n; i++)
        if (!rows[i].cols)
            return rc_fail(err, RC_INVAL, "event row %lld: no columns to fill", (long long)ids[i]);
    return n ? st->ops->event_columns_fill(st, ids, rows, n, changed, err) : RC_OK;
}

int store_class_devices(store *st, const char *class_id, const char *institution,
                        int (*fn)(const char *device, const char *fence, void *ctx), void *ctx,
                        char *err)
{
    NEED(class_devices, "devices");
    return st->ops->class_devices(st, class_id, institution, fn, ctx, err);
}

int store_device_conflicts(store *st, const char *device,
                           int (*fn)(const char *device, int64_t seq, const char *event_id,
                                     void *ctx),
                           void *ctx, char *err)
{
    NEED(device_conflicts, "findings");
    return st->ops->device_conflicts(st, device, fn, ctx, err);
}

int store_event_find(store *st, const char *event_id, struct store_event_ref *out, char *err)
{
    NEED(event_find, "events");
    return st->ops->event_find(st, event_id, out, err);
}

int store_review_insert(store *st, struct store_review *r, char *err)
{
    NEED(review_insert, "reviews");
    bool own;
    int rc = store_write_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    if ((rc = st->ops->review_insert(st, r, err)) == RC_OK)
        rc = store_class_changed(st, r->class_id, err);
    return store_write_end(st, own, rc, err);
}

int store_review_list(store *st, const char *class_id,
                      int (*fn)(const struct store_review *r, void *ctx), void *ctx, char *err)
{
    NEED(review_list, "reviews");
    return st->ops->review_list(st, class_id, fn, ctx, err);
}

int store_figures_get(store *st, const char *class_id, const char *policy, int64_t gen,
                      int64_t now_ms, struct store_figures *out, bool *found, char *err)
{
    NEED(figures_get, "the figures cache");
    return st->ops->figures_get(st, class_id, policy, gen, now_ms, out, found, err);
}

int store_figures_get_many(store *st, const char *const *ids, const int64_t *gens, size_t n,
                           const char *policy, int64_t now_ms, struct store_figures *out,
                           bool *found, char *err)
{
    NEED(figures_get_many, "the figures cache");
    for (size_t i = 0; i < n; i++) {
        found[i] = false;
        memset(&out[i], 0, sizeof out[i]);
    }
    return n ? st->ops->figures_get_many(st, ids, gens, n, policy, now_ms, out, found, err) : RC_OK;
}

int store_figures_put(store *st, const char *class_id, const char *policy, int64_t gen,
                      const struct store_figures *f, int64_t now_ms, char *err)
{
    NEED(figures_put, "the figures cache");
    return st->ops->figures_put(st, class_id, policy, gen, f, now_ms, err);
}

int store_figures_clear(store *st, char *err)
{
    NEED(figures_clear, "the figures cache");
    return st->ops->figures_clear(st, err);
}

int store_engine_alerts_record(store *st, const char *class_id, const char *institution,
                               const struct store_engine_alert *a, size_t n, int64_t now_ms,
                               size_t *added, char *err)
{
    NEED(engine_alert_record, "engine alerts");
    size_t count = 0;
    if (added)
        *added = 0;
    if (n == 0)
        return RC_OK;
    bool own_tx = !store_in_transaction(st);
    int rc = own_tx ? store_begin(st, err) : RC_OK;
    for (size_t i = 0; rc == RC_OK && i < n; i++) {
        bool is_new = false;
        rc = st->ops->engine_alert_record(st, class_id, institution, &a[i], now_ms, &is_new, err);
        count += is_new;
    }
    if (own_tx) {
        if (rc == RC_OK)
            rc = store_commit(st, err);
        if (rc != RC_OK)
            store_rollback(st);
    }
    if (rc == RC_OK && added)
        *added = count;
    return rc;
}

int store_finding_list(store *st, const struct store_finding_filter *f, size_t limit,
                       int (*fn)(const struct store_finding_row *r, void *ctx), void *ctx,
                       char *err)
{
    NEED(finding_list, "findings");
    return st->ops->finding_list(st, f, limit, fn, ctx, err);
}

int store_step_insert(store *st, struct store_step *s, char *err)
{
    NEED(step_insert, "the subsidy procedure");
    bool own;
    int rc = store_write_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    /* a claim's date is an input of its class's findings (late_claim); an application's
     * and an allowance's are not */
    if ((rc = st->ops->step_insert(st, s, err)) == RC_OK && strcmp(s->kind, "claim") == 0)
        rc = store_class_changed(st, s->subject, err);
    return store_write_end(st, own, rc, err);
}

int store_step_list(store *st, const char *kind, const char *subject,
                    int (*fn)(const struct store_step *s, void *ctx), void *ctx, char *err)
{
    NEED(step_list, "the subsidy procedure");
    return st->ops->step_list(st, kind, subject, fn, ctx, err);
}

int store_events_scan(store *st, int64_t *count, int64_t *sum, char *err)
{
    NEED(events_scan, "events");
    return st->ops->events_scan(st, count, sum, err);
}

/* Accounts. Hashes and keys are SHA-256 hex; a wrong length is the caller's bug. */
static int hex_key(const char *k, char *err)
{
    if (strlen(k) != STORE_HASH_HEX_LEN)
        return rc_fail(err, RC_INVAL, "key is not %d hex digits", STORE_HASH_HEX_LEN);
    return RC_OK;
}

int store_user_insert(store *st, const struct store_user *u, char *err)
{
    NEED(user_insert, "accounts");
    return st->ops->user_insert(st, u, err);
}

int store_user_get(store *st, const char *name, struct store_user *out, char *err)
{
    NEED(user_get, "accounts");
    return st->ops->user_get(st, name, out, err);
}

int store_user_list(store *st, int (*fn)(const struct store_user *u, void *ctx), void *ctx,
                    char *err)
{
    NEED(user_list, "accounts");
    return st->ops->user_list(st, fn, ctx, err);
}

int store_user_set_disabled(store *st, const char *name, bool disabled, int64_t now_ms, char *err)
{
    NEED(user_set_disabled, "accounts");
    return st->ops->user_set_disabled(st, name, disabled, now_ms, err);
}

int store_user_set_password(store *st, const char *name, const char *password_hash, int64_t now_ms,
                            char *err)
{
    NEED(user_set_password, "accounts");
    return st->ops->user_set_password(st, name, password_hash, now_ms, err);
}

int store_user_logged_in(store *st, const char *name, int64_t now_ms, char *err)
{
    NEED(user_logged_in, "accounts");
    return st->ops->user_logged_in(st, name, now_ms, err);
}

int store_session_insert(store *st, const char *hash_hex, const char *name, int64_t now_ms,
                         int64_t idle_ms, int64_t max_ms, char *err)
{
    NEED(session_insert, "sessions");
    if (idle_ms <= 0 || max_ms < idle_ms)
        return rc_fail(err, RC_INVAL, "session lifetimes: need 0 < idle (%lld ms) <= max (%lld ms)",
                       (long long)idle_ms, (long long)max_ms);
    int rc = hex_key(hash_hex, err);
    return rc != RC_OK ? rc
                       : st->ops->session_insert(st, hash_hex, name, now_ms, idle_ms, max_ms, err);
}

int store_session_lookup(store *st, const char *hash_hex, struct store_session *out, char *err)
{
    NEED(session_lookup, "sessions");
    int rc = hex_key(hash_hex, err);
    return rc != RC_OK ? rc : st->ops->session_lookup(st, hash_hex, out, err);
}

int store_session_touch(store *st, const char *hash_hex, int64_t now_ms, char *err)
{
    NEED(session_touch, "sessions");
    int rc = hex_key(hash_hex, err);
    return rc != RC_OK ? rc : st->ops->session_touch(st, hash_hex, now_ms, err);
}

int store_session_delete(store *st, const char *hash_hex, char *err)
{
    NEED(session_delete, "sessions");
    int rc = hex_key(hash_hex, err);
    return rc != RC_OK ? rc : st->ops->session_delete(st, hash_hex, err);
}

int store_session_purge(store *st, int64_t now_ms, char *err)
{
    NEED(session_purge, "sessions");
    return st->ops->session_purge(st, now_ms, err);
}

int store_login_failures_get(store *st, const char *key, struct store_login_failures *out,
                             char *err)
{
    NEED(login_failures_get, "accounts");
    int rc = hex_key(key, err);
    return rc != RC_OK ? rc : st->ops->login_failures_get(st, key, out, err);
}

int store_login_failures_put(store *st, const char *key, const struct store_login_failures *f,
                             int64_t forget_before_ms, char *err)
{
    NEED(login_failures_put, "accounts");
    int rc = hex_key(key, err);
    return rc != RC_OK ? rc : st->ops->login_failures_put(st, key, f, forget_before_ms, err);
}

int store_login_failures_clear(store *st, const char *key, char *err)
{
    NEED(login_failures_clear, "accounts");
    int rc = hex_key(key, err);
    return rc != RC_OK ? rc : st->ops->login_failures_clear(st, key, err);
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

/* Evidence. */
/* RC_INVAL unless s has a seq range, a 64-digit hash and a signature. */
static int batch_sig_check(const struct store_batch_sig *s, char *err)
{
    if (s->first_seq < 1 || s->last_seq < s->first_seq ||
        strlen(s->last_hash) != STORE_HASH_HEX_LEN || !*s->signature)
        return rc_fail(err, RC_INVAL, "malformed batch signature record of '%s'", s->device);
    return RC_OK;
}

int store_batch_sig_insert(store *st, const struct store_batch_sig *s, char *err)
{
    NEED(batch_sig_insert, "batch signatures");
    int rc = batch_sig_check(s, err);
    return rc != RC_OK ? rc : st->ops->batch_sig_insert(st, s, err);
}

int store_batch_close(store *st, const struct store_batch_sig *sig,
                      const struct store_device_status *s, int64_t now_ms, char *err)
{
    NEED(batch_close, "batch signatures");
    int rc = batch_sig_check(sig, err);
    return rc != RC_OK ? rc : st->ops->batch_close(st, sig, s, now_ms, err);
}

int store_batch_sig_list(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                         int (*fn)(const struct store_batch_sig *s, void *ctx), void *ctx,
                         char *err)
{
    NEED(batch_sig_list, "batch signatures");
    return st->ops->batch_sig_list(st, device, from_seq, to_seq, fn, ctx, err);
}

int store_event_range(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                      int (*fn)(const struct store_event_record *e, void *ctx), void *ctx,
                      char *err)
{
    NEED(event_range, "events");
    return st->ops->event_range(st, device, from_seq, to_seq, fn, ctx, err);
}

int store_fence_version(store *st, const char *id, int version, struct store_fence *out, char *err)
{
    NEED(fence_version, "fences");
    return st->ops->fence_version(st, id, version, out, err);
}

int store_fence_list(store *st, int (*fn)(const struct store_fence_info *f, void *ctx), void *ctx,
                     char *err)
{
    NEED(fence_list, "fences");
    return st->ops->fence_list(st, fn, ctx, err);
}

int store_publication_put(store *st, const struct store_publication *p, char *err)
{
    NEED(publication_put, "publications");
    if (!p->body || !*p->body || strlen(p->key_id) != STORE_KEY_ID_LEN || !*p->signature)
        return rc_fail(err, RC_INVAL, "malformed publication of %d", p->year);
    return st->ops->publication_put(st, p, err);
}

int store_publication_get(store *st, int year, struct store_publication *out, char *err)
{
    NEED(publication_get, "publications");
    return st->ops->publication_get(st, year, out, err);
}

int store_signing_key_add(store *st, const struct store_signing_key *k, char *err)
{
    NEED(signing_key_add, "signing keys");
    if (strlen(k->key_id) != STORE_KEY_ID_LEN || !*k->public_key_pem)
        return rc_fail(err, RC_INVAL, "malformed signing key record");
    return st->ops->signing_key_add(st, k, err);
}

int store_signing_key_get(store *st, const char *key_id, struct store_signing_key *out, char *err)
{
    NEED(signing_key_get, "signing keys");
    return st->ops->signing_key_get(st, key_id, out, err);
}

int store_signing_key_current(store *st, struct store_signing_key *out, char *err)
{
    NEED(signing_key_current, "signing keys");
    return st->ops->signing_key_current(st, out, err);
}

int store_signing_key_list(store *st, int (*fn)(const struct store_signing_key *k, void *ctx),
                           void *ctx, char *err)
{
    NEED(signing_key_list, "signing keys");
    return st->ops->signing_key_list(st, fn, ctx, err);
}

int store_alert_sub_insert(store *st, struct store_alert_sub *s, char *err)
{
    NEED(alert_sub_insert, "alerts");
    if (!*s->name || !*s->url || !*s->format)
        return rc_fail(err, RC_INVAL, "malformed alert subscription");
    return st->ops->alert_sub_insert(st, s, err);
}

int store_alert_sub_list(store *st, const char *district,
                         int (*fn)(const struct store_alert_sub *s, void *ctx), void *ctx,
                         char *err)
{
    NEED(alert_sub_list, "alerts");
    return st->ops->alert_sub_list(st, district, fn, ctx, err);
}

int store_alert_sub_get(store *st, int64_t id, struct store_alert_sub *out, char *err)
{
    NEED(alert_sub_get, "alerts");
    return st->ops->alert_sub_get(st, id, out, err);
}

int store_alert_sub_remove(store *st, int64_t id, int64_t now_ms, char *err)
{
    NEED(alert_sub_remove, "alerts");
    return st->ops->alert_sub_remove(st, id, now_ms, err);
}

int store_alert_deliveries(store *st, const struct store_alert_filter *f, size_t limit,
                           int (*fn)(const struct store_alert_delivery *d, void *ctx), void *ctx,
                           char *err)
{
    NEED(alert_deliveries, "alerts");
    return st->ops->alert_deliveries(st, f, limit, fn, ctx, err);
}

int store_alert_claim(store *st, int64_t id, int64_t seen_next_at_ms, int64_t lease_until_ms,
                      bool *claimed, char *err)
{
    NEED(alert_claim, "alerts");
    *claimed = false;
    return st->ops->alert_claim(st, id, seen_next_at_ms, lease_until_ms, claimed, err);
}

int store_alert_record(store *st, int64_t id, const struct store_alert_attempt *a, char *err)
{
    NEED(alert_record, "alerts");
    return st->ops->alert_record(st, id, a, err);
}
