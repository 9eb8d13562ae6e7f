/* The photo step of sync (see photo_upload.h). */
#include "photo_upload.h"

#include "event.h"
#include "file.h"
#include "log.h"
#include "outbox.h"
#include "photo.h"
#include "rc.h"
#include "sync.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct wanted {
    int64_t seq;
    char id[EVENT_UUID_LEN + 1];
    char hex[EVENT_HEX_LEN + 1];
};

struct visit {
    struct event ev;
    struct wanted *list;
    size_t n;
    int64_t last_seq;
};

static int collect(void *ctx, int64_t seq, const char *line, size_t len)
{
    struct visit *v = ctx;
    char err[ERR_LEN];
    v->last_seq = seq;
    /* Most events carry no photo: a line without the key is passed over unparsed. The test
     * is exact: in JSON the key's closing quote right after its name cannot occur inside a
     * string value (a quote there is escaped), so a line holding a photo_sha256 member
     * always holds this text. */
    static const char key[] = "\"photo_sha256\"";
    if (!memmem(line, len, key, sizeof key - 1))
        return RC_OK;
    if (event_parse(line, len, &v->ev, err) != RC_OK ||
        !(v->ev.has & EVENT_HAS(EVENT_F_PHOTO_SHA256)))
        return RC_OK;
    struct wanted *w = &v->list[v->n++];
    w->seq = seq;
    snprintf(w->id, sizeof w->id, "%s", v->ev.id);
    snprintf(w->hex, sizeof w->hex, "%s", v->ev.photo_sha256);
    return RC_OK;
}

static int64_t expected_offset(const struct sync_reply *rep)
{
    cJSON *j = cJSON_ParseWithLength(rep->body, rep->len);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "expected_offset");
    int64_t off = cJSON_IsNumber(o) && o->valuedouble >= 0 ? (int64_t)o->valuedouble : -1;
    cJSON_Delete(j);
    return off;
}

/* Uploads one photo. 0 stored, RC_NOTFOUND refused for good (not this device's, no such
 * event), RC_NET, RC_NOMEM. */
static int upload_one(struct kiosk *k, CURL *h, const char *auth, const struct wanted *w,
                      const char *data, size_t len, struct sync_reply *rep, char *err)
{
    char path[64 + EVENT_UUID_LEN], url[CONFIG_URL_LEN + 96], range[96];
    snprintf(path, sizeof path, "/v1/events/%s/photo", w->id);
    int rc = sync_url(&k->cfg, path, url, sizeof url, err);
    if (rc != RC_OK)
        return rc;
    size_t off = 0;
    for (int round = 0; round < 64; round++) {
        size_t n = len - off < PHOTO_UPLOAD_CHUNK ? len - off : PHOTO_UPLOAD_CHUNK;
        snprintf(range, sizeof range, "Content-Range: bytes %zu-%zu/%zu", off, off + n - 1, len);
        const char *hdrs[] = {auth, "Content-Type: image/jpeg", range};
        if ((rc = sync_http_post(h, url, hdrs, 3, data + off, n, rep, err)) != RC_OK)
            return rc;
        if (rep->code != CURLE_OK || rep->status >= 500 || rep->status == 429 || rep->status == 0) {
            char why[ERR_LEN];
            sync_reply_describe(rep, why, sizeof why);
            return rc_fail(err, RC_NET, "photo %.12s: %s", w->hex, why);
        }
        if (rep->status == 200 || rep->status == 201)
            return RC_OK;
        if (rep->status == 202) {
            off += n;
            continue;
        }
        if (rep->status == 409) {
            int64_t e = expected_offset(rep);
            if (e < 0 || (size_t)e >= len)
                return rc_fail(err, RC_NET, "photo %.12s: a 409 without a usable offset", w->hex);
            off = (size_t)e;
            continue;
        }
        char why[ERR_LEN];
        sync_reply_describe(rep, why, sizeof why);
        return rc_fail(err, RC_NOTFOUND, "photo %.12s refused: %s", w->hex, why);
    }
    return rc_fail(err, RC_NET, "photo %.12s: no progress", w->hex);
}

int photo_upload_pending(struct kiosk *k, const volatile sig_atomic_t *stop,
                         struct photo_upload_result *res, char *err)
{
    char token[SYNC_TOKEN_MAX + 1] = "", auth[64 + SYNC_TOKEN_MAX] = "", buf[32];
    struct visit *v = calloc(1, sizeof *v);
    struct sync_reply *rep = calloc(1, sizeof *rep);
    CURL *h = NULL;
    int64_t head = 0, ack = 0, cursor = 0;
    size_t visited = 0;
    int rc;
    memset(res, 0, sizeof *res);
    if (!v || !rep || !(v->list = calloc(PHOTO_UPLOAD_EVENTS_MAX, sizeof *v->list))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    rc = outbox_state_get(k->ob, PHOTO_KEY_SEQ, buf, sizeof buf, err);
    if (rc == RC_OK)
        cursor = strtoll(buf, NULL, 10);
    else if (rc != RC_NOTFOUND)
        goto out;
    if ((rc = outbox_seqs(k->ob, &head, &ack, err)) != RC_OK)
        goto out;
    res->seq = cursor;
    if (cursor >= ack) {
        rc = RC_OK;
        goto out;
    }
    if ((rc = sync_read_token(&k->cfg, token, sizeof token, err)) != RC_OK ||
        (rc = sync_curl_new(&k->cfg, &h, err)) != RC_OK)
        goto out;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    rep->stop = stop;
    while (cursor < ack) {
        v->n = 0;
        v->last_seq = cursor;
        size_t max = (size_t)(ack - cursor);
        rc = outbox_pending(k->ob, cursor,
                            max < PHOTO_UPLOAD_EVENTS_MAX ? max : PHOTO_UPLOAD_EVENTS_MAX,
                            SIZE_MAX / 2, collect, v, &visited, err);
        if (rc == RC_NOTFOUND || (rc == RC_OK && visited == 0)) {
            /* pruned before their photos went: nothing left to find */
            cursor = ack;
            rc = RC_OK;
            break;
        }
        if (rc != RC_OK)
            goto out;
        for (size_t i = 0; i < v->n; i++) {
            const struct wanted *w = &v->list[i];
            char photo[PHOTO_PATH_MAX], *data = NULL;
            size_t len = 0;
            if (stop && *stop) {
                rc = rc_fail(err, RC_TIMEOUT, "interrupted");
                goto save;
            }
            if (photo_path(k->cfg.data_dir, w->hex, photo, sizeof photo, err) != RC_OK ||
                file_read_bounded(photo, PHOTO_MAX_BYTES, &data, &len, err) != RC_OK) {
                res->skipped++;
                cursor = w->seq;
                continue;
            }
            rc = upload_one(k, h, auth, w, data, len, rep, err);
            free(data);
            if (rc == RC_OK) {
                res->uploaded++;
                if (unlink(photo) != 0)
                    log_msg(LOG_LVL_WARN, "photo %s: %s", photo, strerror(errno));
            } else if (rc == RC_NOTFOUND) {
                log_msg(LOG_LVL_WARN, "%s", err);
                res->skipped++;
            } else {
                goto save;
            }
            cursor = w->seq;
        }
        cursor = v->last_seq;
    }
    rc = RC_OK;
save:;
    char e2[ERR_LEN];
    snprintf(buf, sizeof buf, "%" PRId64, cursor);
    if (outbox_state_set(k->ob, PHOTO_KEY_SEQ, buf, e2) != RC_OK && rc == RC_OK)
        rc = rc_fail(err, RC_DB, "%s", e2);
    res->seq = cursor;
out:
    if (h)
        curl_easy_cleanup(h);
    if (v)
        free(v->list);
    free(v);
    free(rep);
    memset(token, 0, sizeof token);
    memset(auth, 0, sizeof auth);
    return rc;
}

/* ---------- the orphan sweep ---------- */

enum { SWEEP_CANDIDATES_MAX = 1024 }; /* old files looked at per sweep; the rest next time */

struct candidate {
    char name[CRYPTO_SHA256_HEX_LEN + 16]; /* "<hex>.jpg" or "<hex>.jpg.tmp" */
    bool named;                            /* an event still to upload names it */
};

struct sweep {
    struct event ev;
    struct candidate *c;
    size_t n;
    int64_t last_seq;
};

static int mark_named(void *ctx, int64_t seq, const char *line, size_t len)
{
    struct sweep *sw = ctx;
    char err[ERR_LEN];
    sw->last_seq = seq;
    if (event_parse(line, len, &sw->ev, err) != RC_OK ||
        !(sw->ev.has & EVENT_HAS(EVENT_F_PHOTO_SHA256)))
        return RC_OK;
    for (size_t i = 0; i < sw->n; i++)
        if (strncmp(sw->c[i].name, sw->ev.photo_sha256, CRYPTO_SHA256_HEX_LEN) == 0 &&
            strcmp(sw->c[i].name + CRYPTO_SHA256_HEX_LEN, ".jpg") == 0)
            sw->c[i].named = true;
    return RC_OK;
}

/* "<64 hex>.jpg" or "<64 hex>.jpg.tmp": the only names photo_store writes. */
static bool photo_file_name(const char *name)
{
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    if (strlen(name) < CRYPTO_SHA256_HEX_LEN)
        return false;
    memcpy(hex, name, CRYPTO_SHA256_HEX_LEN);
    hex[CRYPTO_SHA256_HEX_LEN] = '\0';
    const char *rest = name + CRYPTO_SHA256_HEX_LEN;
    return photo_hex_ok(hex) && (strcmp(rest, ".jpg") == 0 || strcmp(rest, ".jpg.tmp") == 0);
}

int photo_sweep(struct kiosk *k, int64_t now_ms, int64_t min_age_ms, size_t *removed, char *err)
{
    char dir[PHOTO_PATH_MAX], path[PHOTO_PATH_MAX + 80], buf[32];
    struct sweep *sw = calloc(1, sizeof *sw);
    DIR *d = NULL;
    int64_t cursor = 0, head = 0, ack = 0;
    int rc = RC_OK;
    *removed = 0;
    int n = snprintf(dir, sizeof dir, "%s/photos", k->cfg.data_dir);
    if (!sw || !(sw->c = calloc(SWEEP_CANDIDATES_MAX, sizeof *sw->c))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (n < 0 || (size_t)n >= sizeof dir) {
        rc = rc_fail(err, RC_LIMIT, "photo path too long under %s", k->cfg.data_dir);
        goto out;
    }
    if (!(d = opendir(dir))) {
        if (errno != ENOENT)
            rc = rc_fail(err, RC_IO, "%s: %s", dir, strerror(errno));
        goto out;
    }
    const struct dirent *de;
    while ((de = readdir(d)) && sw->n < SWEEP_CANDIDATES_MAX) {
        struct stat sb;
        if (!photo_file_name(de->d_name))
            continue;
        size_t len = strlen(de->d_name); /* photo_file_name: at most 64 + 8 */
        int m = snprintf(path, sizeof path, "%s/%.*s", dir, (int)len, de->d_name);
        if (m < 0 || (size_t)m >= sizeof path || len >= sizeof sw->c[0].name)
            continue;
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        int64_t mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
        if (now_ms - mtime_ms < min_age_ms)
            continue;
        memcpy(sw->c[sw->n++].name, de->d_name, len + 1);
    }
    if (sw->n == 0)
        goto out;
    /* Which of them an event still to upload names: every event after the photo position,
     * acknowledged or not. */
    rc = outbox_state_get(k->ob, PHOTO_KEY_SEQ, buf, sizeof buf, err);
    if (rc == RC_OK)
        cursor = strtoll(buf, NULL, 10);
    else if (rc != RC_NOTFOUND)
        goto out;
    if ((rc = outbox_seqs(k->ob, &head, &ack, err)) != RC_OK)
        goto out;
    while (cursor < head) {
        size_t visited = 0;
        sw->last_seq = cursor;
        rc = outbox_pending(k->ob, cursor, PHOTO_UPLOAD_EVENTS_MAX, SIZE_MAX / 2, mark_named, sw,
                            &visited, err);
        if (rc == RC_NOTFOUND || (rc == RC_OK && visited == 0))
            break; /* pruned: nothing further names a photo */
        if (rc != RC_OK)
            goto out;
        cursor = sw->last_seq;
    }
    rc = RC_OK;
    for (size_t i = 0; i < sw->n; i++) {
        if (sw->c[i].named)
            continue;
        int m = snprintf(path, sizeof path, "%s/%s", dir, sw->c[i].name);
        if (m < 0 || (size_t)m >= sizeof path)
            continue;
        if (unlink(path) == 0)
            (*removed)++;
        else if (errno != ENOENT)
            log_msg(LOG_LVL_WARN, "photo sweep: %s: %s", path, strerror(errno));
    }
out:
    if (d)
        closedir(d);
    if (sw)
        free(sw->c);
    free(sw);
    return rc;
}
