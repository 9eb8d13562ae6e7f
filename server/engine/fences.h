/* Venue fences as the collector keeps them: one GeoJSON Feature per fence id and version in
 * the store, identified by a digest of its geometry, and a process-wide cache of parsed fences
 * for re-judging verdicts at ingest.
 *
 * Invariants:
 * - Two fences have the same digest exactly when they judge every fix the same: kind, WGS-84
 *   vertices (or circle centre and radius) and tolerance_m, after datum conversion. Names and
 *   other properties do not count, nor does the JSON spelling.
 * - The cache exists between fences_init and fences_fini (called from main); fences_get
 *   before fences_init is RC_STATE, not a hidden lazy start.
 * - A cache entry is keyed by (id, digest), so a fence replaced by `import fences` (in this or
 *   another process) is re-read, never served stale; entries are immutable and live until
 *   the process ends; the cache is bounded (FENCES_CACHE_MAX), and past it a fence is parsed
 *   for one use and freed. */
#ifndef ROLLCALL_SERVER_FENCES_H
#define ROLLCALL_SERVER_FENCES_H

#include "fence.h"
#include "store/store.h"

#include <stddef.h>

enum {
    FENCES_CACHE_MAX = 256,
};

/* One feature of a fence file, ready to store. */
struct fences_item {
    char id[STORE_ID_MAX + 1];
    char *feature; /* the Feature as compact JSON text, malloc'd */
    char sha256[STORE_HASH_HEX_LEN + 1];
};

/* The geometry digest of f (64 hex + NUL). */
void fences_digest(const struct fence *f, char out[STORE_HASH_HEX_LEN + 1]);

/* Validates a fence file (a Feature or FeatureCollection, INTERFACES.md "Fence files") held in
 * len bytes and splits it into *items (*n of them; free with fences_items_free). With only_id
 * non-NULL, only that fence is returned and RC_NOTFOUND says the file has none of that id.
 * label prefixes errors. RC_INVAL/RC_LIMIT for a refused file. */
int fences_split(const char *data, size_t len, const char *label, const char *only_id,
                 struct fences_item **items, size_t *n, char *err);
void fences_items_free(struct fences_item *items, size_t n);

/* Sets up the process-wide cache: from main, before any thread, after geodesy_init;
 * idempotent. RC_NOMEM (with err) if the lock cannot be made. */
int fences_init(char *err);
/* Frees every cached fence (main, at exit, once no thread holds a fences_ref). */
void fences_fini(void);

/* A fence borrowed from the cache (or parsed for this use only). */
struct fences_ref {
    const struct fence *fence;
    int version;      /* the stored version it came from */
    fence_set *owned; /* non-NULL when not cached: freed by fences_release */
};
/* Looks up the current version of fence id in st and returns it parsed in *ref. RC_NOTFOUND
 * when the store has no such fence; RC_CORRUPT when the stored text no longer parses. */
int fences_get(store *st, const char *id, struct fences_ref *ref, char *err);
/* Ends the use of a fence from fences_get. */
void fences_release(struct fences_ref *ref);

#endif
