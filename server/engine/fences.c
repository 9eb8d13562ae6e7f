/* Fence digests, fence files split into storable features, and the parsed-fence cache. */
#include "engine/fences.h"

#include "crypto.h"
#include "http/auth.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds one formatted line (from snprintf's return n) to the digest. */
static void feed(struct crypto_sha256 *h, const char *buf, int n, size_t cap)
{
    if (n > 0)
        crypto_sha256_update(h, buf, (size_t)n < cap ? (size_t)n : cap - 1);
}

/* Nine decimals of a degree is 0.1 mm: finer than any survey, coarser than the last bits of a
 * double, so one geometry has one digest on every machine. */
void fences_digest(const struct fence *f, char out[STORE_HASH_HEX_LEN + 1])
{
    struct crypto_sha256 h;
    char b[128];
    crypto_sha256_init(&h);
    feed(&h, b, snprintf(b, sizeof b, "tolerance %.3f\n", fence_tolerance_m(f)), sizeof b);
    if (fence_kind_of(f) == FENCE_CIRCLE) {
        double lat = 0, lon = 0, r = 0;
        fence_circle(f, &lat, &lon, &r);
        feed(&h, b, snprintf(b, sizeof b, "circle %.9f %.9f %.3f\n", lat, lon, r), sizeof b);
    } else {
        size_t np = fence_polygon_count(f);
        for (size_t p = 0; p < np; p++) {
            size_t nr = fence_ring_count(f, p);
            for (size_t r = 0; r < nr; r++) {
                size_t nv = 0;
                const double *v = fence_ring(f, p, r, &nv);
                feed(&h, b, snprintf(b, sizeof b, "ring %zu %zu\n", p, r), sizeof b);
                for (size_t i = 0; i < nv; i++)
                    feed(&h, b, snprintf(b, sizeof b, "%.9f %.9f\n", v[2 * i], v[2 * i + 1]),
                         sizeof b);
            }
        }
    }
    uint8_t d[CRYPTO_SHA256_LEN];
    crypto_sha256_final(&h, d);
    crypto_hex(d, sizeof d, out);
}

void fences_items_free(struct fences_item *items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        free(items[i].feature);
    free(items);
}

/* properties.id of a Feature, or NULL. */
static const char *feature_id(const cJSON *feature)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(feature, "properties");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(props, "id");
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

int fences_split(const char *data, size_t len, const char *label, const char *only_id,
                 struct fences_item **items, size_t *n, char *err)
{
    fence_set *set = NULL;
    cJSON *root = NULL;
    struct fences_item *out = NULL;
    size_t count = 0;
    *items = NULL;
    *n = 0;
    /* fence_set_parse validates everything (and names the feature); cJSON then gives us each
     * feature's own text to store. */
    int rc = jsonin_fence_parse(data, len, label, &set, err);
    if (rc != RC_OK)
        goto out;
    /* RFC 7946 §6.1: foreign members and our-unknown properties are read past; say which. */
    for (size_t i = 0; i < fence_set_ignored_count(set) && i < FENCE_MAX_NOTES; i++)
        log_msg(LOG_LVL_DEBUG, "%s: ignored %s (not part of a fence)", label,
                fence_set_ignored(set, i));
    if (fence_set_ignored_count(set) > FENCE_MAX_NOTES)
        log_msg(LOG_LVL_DEBUG, "%s: ignored %zu more", label,
                fence_set_ignored_count(set) - FENCE_MAX_NOTES);
    rc = jsonin_parse(data, len, &root, err);
    if (rc != RC_OK)
        goto out;
    const cJSON *features = cJSON_GetObjectItemCaseSensitive(root, "features");
    size_t total = cJSON_IsArray(features) ? (size_t)cJSON_GetArraySize(features) : 1;
    out = calloc(total, sizeof *out);
    if (!out) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < total; i++) {
        const cJSON *feat = cJSON_IsArray(features) ? cJSON_GetArrayItem(features, (int)i) : root;
        const char *id = feature_id(feat);
        const struct fence *f = id ? fence_set_find(set, id) : NULL;
        if (!f || !auth_id_valid(id)) {
            rc = rc_fail(err, RC_INVAL,
                         "%s: feature %zu: properties.id must be 1..%d of [A-Za-z0-9._-] (events "
                         "name fences so)",
                         label, i, STORE_ID_MAX);
            goto out;
        }
        if (only_id && strcmp(id, only_id) != 0)
            continue;
        struct fences_item *it = &out[count];
        memcpy(it->id, id, strlen(id) + 1);
        it->feature = cJSON_PrintUnformatted(feat);
        if (!it->feature) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        count++;
        fences_digest(f, it->sha256);
    }
    if (only_id && count == 0) {
        rc = rc_fail(err, RC_NOTFOUND, "%s: no fence with id '%s'", label, only_id);
        goto out;
    }
    *items = out;
    *n = count;
    out = NULL;
out:
    fences_items_free(out, count);
    cJSON_Delete(root);
    fence_set_free(set);
    return rc;
}

/* The cache: a fixed array, appended to under a lock, never shrunk. */
struct cache_entry {
    char id[STORE_ID_MAX + 1];
    char sha256[STORE_HASH_HEX_LEN + 1];
    int version;
    fence_set *set;
};

static pthread_mutex_t cache_lock;
static struct cache_entry cache[FENCES_CACHE_MAX];
static size_t cache_n;
static bool cache_ready;

int fences_init(char *err)
{
    if (cache_ready)
        return RC_OK;
    int e = pthread_mutex_init(&cache_lock, NULL);
    if (e != 0)
        return rc_fail(err, RC_NOMEM, "fence cache: pthread_mutex_init: %s", strerror(e));
    cache_n = 0;
    cache_ready = true;
    return RC_OK;
}

void fences_fini(void)
{
    if (!cache_ready)
        return;
    for (size_t i = 0; i < cache_n; i++)
        fence_set_free(cache[i].set);
    memset(cache, 0, sizeof cache);
    cache_n = 0;
    pthread_mutex_destroy(&cache_lock);
    cache_ready = false;
}

static const struct fence *cache_find(const char *id, const char *sha256, int *version)
{
    const struct fence *f = NULL;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache_n && !f; i++) {
        if (strcmp(cache[i].id, id) == 0 && strcmp(cache[i].sha256, sha256) == 0) {
            f = fence_set_find(cache[i].set, id);
            *version = cache[i].version;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return f;
}

int fences_get(store *st, const char *id, struct fences_ref *ref, char *err)
{
    memset(ref, 0, sizeof *ref);
    if (!cache_ready)
        return rc_fail(err, RC_STATE, "fence cache: fences_init was not called");
    struct store_fence sf;
    int rc = store_fence_current(st, id, &sf, err);
    if (rc != RC_OK)
        return rc;
    ref->fence = cache_find(id, sf.sha256, &ref->version);
    if (ref->fence)
        goto out;
    fence_set *set = NULL;
    char label[STORE_ID_MAX + 32];
    snprintf(label, sizeof label, "stored fence %s", id);
    rc = jsonin_fence_parse(sf.geojson, strlen(sf.geojson), label, &set, err);
    if (rc != RC_OK) {
        rc =
            rc_fail(err, RC_CORRUPT, "stored fence '%s' version %d does not parse", id, sf.version);
        goto out;
    }
    const struct fence *f = fence_set_find(set, id);
    if (!f) {
        fence_set_free(set);
        rc = rc_fail(err, RC_CORRUPT, "stored fence '%s' has another id inside", id);
        goto out;
    }
    ref->fence = f;
    ref->version = sf.version;
    pthread_mutex_lock(&cache_lock);
    bool cached = false;
    if (cache_n < FENCES_CACHE_MAX) {
        struct cache_entry *e = &cache[cache_n++];
        memcpy(e->id, id, strlen(id) + 1);
        memcpy(e->sha256, sf.sha256, sizeof e->sha256);
        e->version = sf.version;
        e->set = set;
        cached = true;
    }
    pthread_mutex_unlock(&cache_lock);
    if (!cached)
        ref->owned = set;
out:
    store_fence_clear(&sf);
    return rc;
}

void fences_release(struct fences_ref *ref)
{
    fence_set_free(ref->owned);
    memset(ref, 0, sizeof *ref);
}
