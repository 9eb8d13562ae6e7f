/* The contract between store.c (URL parsing, dispatch, pooling) and each storage back-end
 * (store_sqlite.c, later store_pg.c). A back-end allocates a struct whose first member is a
 * `struct store` pointing at its ops table; store.c never sees SQL. Every op follows the
 * matching store_* function's contract in store.h; a NULL op answers RC_STATE. */
#ifndef ROLLCALL_SERVER_STORE_BACKEND_H
#define ROLLCALL_SERVER_STORE_BACKEND_H

#include "store.h"

struct store_ops {
    const char *name;
    int latest; /* the schema version this back-end's migrations reach */
    /* location: the URL without its scheme for sqlite (a path), the whole URL otherwise. */
    int (*open)(const char *location, unsigned flags, store **out, char *err);
    void (*close)(store *st);
    int (*schema_version)(store *st, int *version, char *err);
    int (*migrate_to)(store *st, int target, int *from, int *to, char *err);
    int (*begin)(store *st, char *err);
    int (*commit)(store *st, char *err);
    void (*rollback)(store *st);
    /* verb: "SAVEPOINT", "ROLLBACK TO", "RELEASE"; name checked by store.c */
    int (*savepoint)(store *st, const char *verb, const char *name, char *err);
    int (*checkpoint)(store *st, bool *done, char *err); /* NULL: nothing to do */
    int (*token_insert)(store *st, const struct store_token *t, char *err);
    int (*token_lookup)(store *st, const char *hash_hex, struct store_token *out, char *err);
    int (*device_count_seen)(store *st, int64_t *n, char *err);
    /* institution NULL: every device */
    int (*device_list)(store *st, const char *institution, size_t limit,
                       int (*fn)(const struct store_device *, void *), void *ctx, char *err);
    int (*enrolment_get)(store *st, const char *id, struct store_enrolment *out, char *err);
    int (*enrolment_insert)(store *st, const struct store_enrolment *e, char *err);
    int (*enrolment_update)(store *st, const struct store_enrolment *e, char *err);
    int (*institution_key)(store *st, const char *id, const uint8_t *candidate, int64_t now_ms,
                           uint8_t *key, bool *created, char *err);
    int (*head_get)(store *st, const char *device, struct store_head *out, char *err);
    int (*head_advance)(store *st, const char *device, int64_t seq, const char *hash,
                        int64_t now_ms, char *err);
    int (*event_insert)(store *st, const struct store_event *e, char *err);
    int (*event_raw)(store *st, const char *device, int64_t seq, char *buf, size_t cap, size_t *len,
                     char *err);
    int (*device_seen)(store *st, const char *device, const struct store_device_status *s,
                       int64_t now_ms, char *err);
    int (*finding_insert)(store *st, const struct store_finding *f, char *err);
    int (*fence_current)(store *st, const char *id, struct store_fence *out, char *err);
    int (*fence_put)(store *st, const char *id, const char *geojson, const char *sha256,
                     const char *created_by, int64_t now_ms, bool replace,
                     enum store_fence_outcome *outcome, int *version, char *err);
};

struct store {
    const struct store_ops *ops;
    bool in_tx; /* maintained by store.c */
};

extern const struct store_ops store_sqlite_ops;

#endif
