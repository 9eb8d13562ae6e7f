/* Photos of sign-ins, stored content-addressed in a directory (see photo_api.h). */
#include "http/photo_api.h"

#include "crypto.h"
#include "event.h"
#include "file.h"
#include "http/scope.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { DIR_MAX_LEN = 1024, PATH_MAX_LEN = DIR_MAX_LEN + 80 };

#define PURGE_EVERY_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)

/* Set by photo_api_init before the first request, read by request threads afterwards. */
static char photo_dir[DIR_MAX_LEN];
static int64_t retention_ms;
static _Atomic int64_t last_purge_ms;
/* One upload at a time writes parts: two kiosks never upload for one event, and a retry of
 * the same device must not interleave with its earlier attempt. */
static pthread_mutex_t part_lock = PTHREAD_MUTEX_INITIALIZER;

int photo_api_init(const char *dir, int64_t retention_days, char *err)
{
    photo_dir[0] = '\0';
    retention_ms = retention_days * DAY_MS;
    if (!dir || !dir[0])
        return RC_OK;
    if (strlen(dir) >= sizeof photo_dir)
        return rc_fail(err, RC_INVAL, "--photo-dir: path too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return rc_fail(err, RC_IO, "--photo-dir %s: %s", dir, strerror(errno));
    snprintf(photo_dir, sizeof photo_dir, "%s", dir);
    int n = photo_api_purge(ts_now_ms(), err);
    if (n < 0)
        return n;
    if (n > 0)
        log_msg(LOG_LVL_INFO, "photos: %d older than %" PRId64 " days deleted", n, retention_days);
    return RC_OK;
}

int photo_api_purge(int64_t now_ms, char *err)
{
    if (!photo_dir[0])
        return 0;
    atomic_store(&last_purge_ms, now_ms);
    DIR *d = opendir(photo_dir);
    if (!d)
        return rc_fail(err, RC_IO, "%s: %s", photo_dir, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        bool ours = len == 68 || len == 69; /* <64 hex>.jpg or .part */
        if (!ours || e->d_name[0] == '.')
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        int64_t mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
        if (now_ms - mtime_ms > retention_ms && unlinkat(dirfd(d), e->d_name, 0) == 0)
            n++;
    }
    closedir(d);
    return n;
}

bool photo_api_allow_put(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return auth_is(who, AUTH_ROLE_DEVICE);
}

bool photo_api_allow_get(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    /* Personal data: the readers of the institution's events, not an evaluator. */
    return who && !auth_is(who, AUTH_ROLE_EVALUATOR) && !auth_is(who, AUTH_ROLE_DEVICE) &&
           scope_role_may(who, SCOPE_READ);
}

/* The event {id} and the photo hash it names. 0, or an answer has been set. */
static int event_photo(struct http_request *req, struct http_response *res,
                       struct store_event_ref *ref, char hex[EVENT_HEX_LEN + 1])
{
    char err[ERR_LEN];
    int rc = store_event_find(req->db, req->params[0], ref, err);
    if (rc == RC_NOTFOUND) {
        http_reply_error(res, 404, "no event %s", req->params[0]);
        return rc;
    }
    if (rc != RC_OK) {
        http_reply_error(res, rc == RC_CONFLICT ? 409 : 503, "%s", err);
        return rc;
    }
    char *line = malloc(EVENT_LINE_MAX + 1);
    struct event *ev = malloc(sizeof *ev);
    size_t len = 0;
    if (!line || !ev) {
        rc = RC_NOMEM;
        http_reply_error(res, 500, "internal error");
        goto out;
    }
    rc = store_event_raw(req->db, ref->device, ref->seq, line, EVENT_LINE_MAX + 1, &len, err);
    if (rc == RC_OK)
        rc = event_parse(line, len, ev, err);
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "photo: event %s: %s", req->params[0], err);
        http_reply_error(res, 500, "internal error");
        goto out;
    }
    if (!(ev->has & EVENT_HAS(EVENT_F_PHOTO_SHA256))) {
        rc = RC_NOTFOUND;
        http_reply_error(res, 404, "event %s names no photo", req->params[0]);
        goto out;
    }
    snprintf(hex, EVENT_HEX_LEN + 1, "%s", ev->photo_sha256);
out:
    free(line);
    free(ev);
    return rc;
}

static void photo_path(char *out, size_t cap, const char *hex, const char *suffix)
{
    snprintf(out, cap, "%s/%s.%s", photo_dir, hex, suffix);
}

/* Parses "bytes A-B/TOTAL". */
static bool parse_range(const char *s, int64_t *a, int64_t *b, int64_t *total)
{
    long long x, y, t;
    char tail;
    if (sscanf(s, "bytes %lld-%lld/%lld%c", &x, &y, &t, &tail) != 3 || x < 0 || y < x || t <= y ||
        t > PHOTO_API_MAX_BYTES)
        return false;
    *a = x;
    *b = y;
    *total = t;
    return true;
}

static int append_file(const char *path, const uint8_t *data, size_t len, bool create)
{
    int fd =
        open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_TRUNC : 0),
             0600);
    if (fd < 0)
        return RC_IO;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return RC_IO;
        }
        data += n;
        len -= (size_t)n;
    }
    int rc = fsync(fd) == 0 ? RC_OK : RC_IO;
    return close(fd) == 0 ? rc : RC_IO;
}

/* The part is complete: name it by its hash when it matches. */
static void finish(struct http_response *res, const char *part, const char *final, const char *hex,
                   int64_t bytes)
{
    uint8_t sum[CRYPTO_SHA256_LEN];
    char got[CRYPTO_SHA256_HEX_LEN + 1], err[ERR_LEN];
    if (crypto_sha256_file(part, sum, NULL, err) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "photo %s: %s", hex, err);
        http_reply_error(res, 500, "internal error");
        return;
    }
    crypto_hex(sum, sizeof sum, got);
    if (strcmp(got, hex) != 0) {
        unlink(part);
        http_reply_error(res, 422, "the photo's SHA-256 is not the event's photo_sha256");
        return;
    }
    if (rename(part, final) != 0) {
        log_msg(LOG_LVL_ERROR, "photo %s: rename: %s", hex, strerror(errno));
        http_reply_error(res, 500, "internal error");
        return;
    }
    char body[160];
    snprintf(body, sizeof body, "{\"stored\":true,\"bytes\":%" PRId64 ",\"sha256\":\"%s\"}", bytes,
             hex);
    http_reply_json(res, 201, body);
}

void photo_api_put(struct http_request *req, struct http_response *res)
{
    struct store_event_ref ref;
    char hex[EVENT_HEX_LEN + 1], part[PATH_MAX_LEN], final[PATH_MAX_LEN], body[160];
    if (!photo_dir[0]) {
        http_reply_error(res, 503, "this collector keeps no photos (serve --photo-dir)");
        return;
    }
    if (event_photo(req, res, &ref, hex) != RC_OK)
        return;
    if (!auth_is_device(req->who, ref.device)) {
        http_reply_error(res, 403, "a device uploads only the photos of its own events");
        return;
    }
    photo_path(final, sizeof final, hex, "jpg");
    photo_path(part, sizeof part, hex, "part");
    int64_t now = ts_now_ms();
    if (now - atomic_load(&last_purge_ms) > PURGE_EVERY_MS) {
        char err[ERR_LEN];
        if (photo_api_purge(now, err) < 0)
            log_msg(LOG_LVL_WARN, "photos: purge: %s", err);
    }
    struct stat sb;
    pthread_mutex_lock(&part_lock);
    if (stat(final, &sb) == 0) {
        snprintf(body, sizeof body, "{\"stored\":true,\"bytes\":%lld,\"sha256\":\"%s\"}",
                 (long long)sb.st_size, hex);
        http_reply_json(res, 200, body);
        goto out;
    }
    const char *range = http_header(req, "Content-Range");
    int64_t a = 0, b = (int64_t)req->body_len - 1, total = (int64_t)req->body_len;
    if (range && !parse_range(range, &a, &b, &total)) {
        http_reply_error(res, 400, "Content-Range: expected bytes A-B/TOTAL (TOTAL at most %d)",
                         PHOTO_API_MAX_BYTES);
        goto out;
    }
    if (req->body_len == 0 || total > PHOTO_API_MAX_BYTES) {
        http_reply_error(res, 400, "a photo of 1 to %d bytes", PHOTO_API_MAX_BYTES);
        goto out;
    }
    if ((int64_t)req->body_len != b - a + 1) {
        http_reply_error(res, 400, "Content-Range does not match the body's %zu bytes",
                         req->body_len);
        goto out;
    }
    int64_t have = stat(part, &sb) == 0 ? (int64_t)sb.st_size : 0;
    if (a != have && a != 0) {
        snprintf(body, sizeof body, "{\"error\":\"resume at byte %lld\",\"expected_offset\":%lld}",
                 (long long)have, (long long)have);
        http_reply_json(res, 409, body);
        goto out;
    }
    if (append_file(part, req->body, req->body_len, a == 0) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "photo %s: %s: %s", hex, part, strerror(errno));
        http_reply_error(res, 507, "the photo could not be stored");
        goto out;
    }
    if (b + 1 < total) {
        snprintf(body, sizeof body, "{\"stored\":false,\"expected_offset\":%lld}",
                 (long long)(b + 1));
        http_reply_json(res, 202, body);
        goto out;
    }
    finish(res, part, final, hex, total);
out:
    pthread_mutex_unlock(&part_lock);
}

void photo_api_get(struct http_request *req, struct http_response *res)
{
    struct store_event_ref ref;
    char hex[EVENT_HEX_LEN + 1], path[PATH_MAX_LEN], err[ERR_LEN];
    if (!photo_dir[0]) {
        http_reply_error(res, 503, "this collector keeps no photos (serve --photo-dir)");
        return;
    }
    if (event_photo(req, res, &ref, hex) != RC_OK)
        return;
    if (!scope_may(req->who, SCOPE_READ, ref.institution, ref.district)) {
        char what[ERR_LEN];
        snprintf(what, sizeof what, "photo of an event of institution %s", ref.institution);
        scope_refuse(req, res, what);
        return;
    }
    photo_path(path, sizeof path, hex, "jpg");
    char *data = NULL;
    size_t len = 0;
    int rc = file_read_bounded(path, PHOTO_API_MAX_BYTES, &data, &len, err);
    if (rc == RC_NOTFOUND) {
        http_reply_error(res, 404, "the photo of event %s has not arrived or was purged",
                         req->params[0]);
        return;
    }
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "photo %s: %s", hex, err);
        http_reply_error(res, 500, "internal error");
        return;
    }
    res->status = 200;
    res->body = data;
    res->len = len;
    res->content_type = "image/jpeg";
    snprintf(res->etag_buf, sizeof res->etag_buf, "\"%s\"", hex);
    res->etag = res->etag_buf;
}
