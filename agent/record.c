/* Recording metadata. File hashing uses OpenSSL's libcrypto (EVP) rather than mbedTLS:
 * mbedTLS 2.28's SHA-256 is portable C, only at parity with coreutils' sha256sum, while
 * OpenSSL picks the CPU's SHA extensions (x86 SHA-NI, ARMv8 SHA2) at run time and hashes a
 * classroom recording several times faster (docs/PERFORMANCE.md). libcrypto is on every
 * kiosk anyway: libcurl (OpenSSL flavour) links it. Events and signatures stay on mbedTLS. */
#include "record.h"

#include "rc.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { STATE_KEY_LEN = 8 + EVENT_NAME_MAX + 1 };

int record_hash_file(const char *path, char hex[EVENT_HEX_LEN + 1], int64_t *bytes, char *err)
{
    int rc = RC_OK;
    unsigned char *buf = NULL;
    EVP_MD_CTX *ctx = NULL;
    int64_t total = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return rc_fail(err, errno == ENOENT ? RC_NOTFOUND : RC_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        rc = rc_fail(err, RC_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = rc_fail(err, RC_INVAL, "%s: not a regular file", path);
        goto out;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf = malloc(RECORD_HASH_BUF);
    ctx = EVP_MD_CTX_new();
    if (!buf || !ctx) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = rc_fail(err, RC_CRYPTO, "SHA-256 unavailable in libcrypto");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, RECORD_HASH_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = rc_fail(err, RC_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            rc = rc_fail(err, RC_CRYPTO, "SHA-256 failed");
            goto out;
        }
        total += n;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
        rc = rc_fail(err, RC_CRYPTO, "SHA-256 failed");
        goto out;
    }
    crypto_hex(md, 32, hex);
    *bytes = total;
out:
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return rc;
}

struct record_env record_env_of(struct kiosk *k)
{
    return (struct record_env){.ob = k->ob,
                               .stamp = kiosk_stamp_of(k),
                               .cameras = k->cfg.profile.cameras,
                               .n_cameras = k->cfg.profile.n_cameras};
}

int record_check_camera(const struct record_env *e, const char *camera, char *err)
{
    int rc = kiosk_check_name("camera", camera, err);
    if (rc != RC_OK)
        return rc;
    if (e->n_cameras == 0)
        return RC_OK;
    for (size_t i = 0; i < e->n_cameras; i++)
        if (strcmp(e->cameras[i].id, camera) == 0)
            return RC_OK;
    char list[CONFIG_MAX_CAMERAS * (CONFIG_ID_LEN + 2)] = "";
    size_t used = 0;
    for (size_t i = 0; i < e->n_cameras && used < sizeof list; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", e->cameras[i].id);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return rc_fail(err, RC_INVAL, "unknown camera '%s' (this kiosk's profile lists: %s)", camera,
                   list);
}

static int check_ids(const char *class_id, const char *session, char *err)
{
    int rc = RC_OK;
    if (class_id && class_id[0])
        rc = kiosk_check_name("class", class_id, err);
    if (rc == RC_OK && session && session[0])
        rc = kiosk_check_name("session", session, err);
    return rc;
}

static void put_ids(struct event *ev, const char *class_id, const char *session)
{
    if (class_id && class_id[0]) {
        snprintf(ev->class_id, sizeof ev->class_id, "%s", class_id);
        ev->has |= EVENT_HAS(EVENT_F_CLASS);
    }
    if (session && session[0]) {
        snprintf(ev->session, sizeof ev->session, "%s", session);
        ev->has |= EVENT_HAS(EVENT_F_SESSION);
    }
}

static void state_key(const char *camera, char key[STATE_KEY_LEN])
{
    snprintf(key, STATE_KEY_LEN, "rec.%s", camera);
}

/* The open recording's state: "START_MS CLASS [SESSION]". */
static int parse_open(const char *value, int64_t *start_ms, char *class_id, char *session)
{
    char *end = NULL;
    errno = 0;
    long long ms = strtoll(value, &end, 10);
    if (errno || end == value || *end != ' ' || ms < 0)
        return RC_INVAL;
    const char *c = end + 1;
    const char *sp = strchr(c, ' ');
    size_t clen = sp ? (size_t)(sp - c) : strlen(c);
    if (clen == 0 || clen > EVENT_NAME_MAX)
        return RC_INVAL;
    memcpy(class_id, c, clen);
    class_id[clen] = '\0';
    session[0] = '\0';
    if (sp) {
        if (strlen(sp + 1) > EVENT_NAME_MAX)
            return RC_INVAL;
        snprintf(session, EVENT_NAME_MAX + 1, "%s", sp + 1);
    }
    *start_ms = ms;
    return RC_OK;
}

/* Absolute path of a file for the event (the file as the kiosk knows it). */
static int file_name(const char *path, char out[EVENT_FILE_MAX + 1], char *err)
{
    char *abs = realpath(path, NULL);
    if (!abs)
        return rc_fail(err, errno == ENOENT ? RC_NOTFOUND : RC_IO, "%s: %s", path, strerror(errno));
    int rc = RC_OK;
    if (strlen(abs) > EVENT_FILE_MAX)
        rc = rc_fail(err, RC_LIMIT, "%s: path longer than %d bytes", path, EVENT_FILE_MAX);
    else
        snprintf(out, EVENT_FILE_MAX + 1, "%s", abs);
    free(abs);
    return rc;
}

/* Fills a rec_file event for path (hashing it) between start_ms and end_ms. */
static int file_event(const struct record_env *e, struct event *ev, const char *camera,
                      const char *path, int64_t start_ms, int64_t end_ms, char *err)
{
    int rc;
    char name[EVENT_FILE_MAX + 1];
    char hex[EVENT_HEX_LEN + 1];
    int64_t bytes = 0;
    if ((rc = file_name(path, name, err)) != RC_OK ||
        (rc = record_hash_file(name, hex, &bytes, err)) != RC_OK)
        return rc;
    if ((rc = kiosk_stamp_event(&e->stamp, ev, EVENT_REC_FILE, err)) != RC_OK)
        return rc;
    snprintf(ev->camera, sizeof ev->camera, "%s", camera);
    snprintf(ev->file, sizeof ev->file, "%s", name);
    snprintf(ev->sha256, sizeof ev->sha256, "%s", hex);
    ev->bytes = bytes;
    ev->start_ms = start_ms;
    ev->end_ms = end_ms;
    ev->has |= EVENT_HAS(EVENT_F_CAMERA) | EVENT_HAS(EVENT_F_FILE) | EVENT_HAS(EVENT_F_BYTES) |
               EVENT_HAS(EVENT_F_SHA256) | EVENT_HAS(EVENT_F_START) | EVENT_HAS(EVENT_F_END);
    return RC_OK;
}

static void note(struct record_result *res, const struct event *ev)
{
    res->seq = ev->seq;
    res->events++;
    if (ev->type == EVENT_REC_FILE) {
        res->bytes = ev->bytes;
        snprintf(res->sha256, sizeof res->sha256, "%s", ev->sha256);
        snprintf(res->file, sizeof res->file, "%s", ev->file);
    }
}

int record_start(const struct record_env *e, const char *camera, const char *class_id,
                 const char *session, struct record_result *res, char *err)
{
    int rc;
    struct event ev;
    char key[STATE_KEY_LEN], value[OUTBOX_STATE_VALUE_MAX + 1];
    memset(res, 0, sizeof *res);
    if ((rc = record_check_camera(e, camera, err)) != RC_OK)
        return rc;
    if (!class_id || !class_id[0])
        return rc_fail(err, RC_INVAL, "record start needs a class");
    if ((rc = check_ids(class_id, session, err)) != RC_OK)
        return rc;
    state_key(camera, key);
    rc = outbox_state_get(e->ob, key, value, sizeof value, err);
    if (rc == RC_OK)
        return rc_fail(err, RC_STATE,
                       "camera %s is already recording (record stop --camera %s first)", camera,
                       camera);
    if (rc != RC_NOTFOUND)
        return rc;
    if ((rc = kiosk_stamp_event(&e->stamp, &ev, EVENT_REC_START, err)) != RC_OK)
        return rc;
    snprintf(ev.camera, sizeof ev.camera, "%s", camera);
    ev.start_ms = ev.ts_ms;
    ev.has |= EVENT_HAS(EVENT_F_CAMERA) | EVENT_HAS(EVENT_F_START);
    put_ids(&ev, class_id, session);
    if ((rc = outbox_append(e->ob, &ev, NULL, NULL, err)) != RC_OK)
        return rc;
    note(res, &ev);
    snprintf(value, sizeof value, "%lld %s%s%s", (long long)ev.start_ms, class_id,
             session && session[0] ? " " : "", session && session[0] ? session : "");
    return outbox_state_set(e->ob, key, value, err);
}

int record_stop(const struct record_env *e, const char *camera, const char *file,
                struct record_result *res, char *err)
{
    int rc;
    struct event stop, fev;
    char key[STATE_KEY_LEN], value[OUTBOX_STATE_VALUE_MAX + 1];
    char class_id[EVENT_NAME_MAX + 1], session[EVENT_NAME_MAX + 1];
    int64_t start_ms = 0;
    memset(res, 0, sizeof *res);
    if ((rc = record_check_camera(e, camera, err)) != RC_OK)
        return rc;
    state_key(camera, key);
    rc = outbox_state_get(e->ob, key, value, sizeof value, err);
    if (rc == RC_NOTFOUND)
        return rc_fail(err, RC_STATE, "camera %s has no open recording (record start first)",
                       camera);
    if (rc != RC_OK)
        return rc;
    if (parse_open(value, &start_ms, class_id, session) != RC_OK)
        return rc_fail(err, RC_CORRUPT, "the open recording of camera %s is unreadable", camera);
    if ((rc = kiosk_stamp_event(&e->stamp, &stop, EVENT_REC_STOP, err)) != RC_OK)
        return rc;
    snprintf(stop.camera, sizeof stop.camera, "%s", camera);
    stop.end_ms = stop.ts_ms < start_ms ? start_ms : stop.ts_ms;
    stop.has |= EVENT_HAS(EVENT_F_CAMERA) | EVENT_HAS(EVENT_F_END);
    put_ids(&stop, class_id, session);
    if (file) {
        /* Hash first: a bad file refuses the whole stop with nothing recorded. */
        if ((rc = file_event(e, &fev, camera, file, start_ms, stop.end_ms, err)) != RC_OK)
            return rc;
        put_ids(&fev, class_id, session);
        snprintf(stop.file, sizeof stop.file, "%s", fev.file);
        stop.has |= EVENT_HAS(EVENT_F_FILE);
    }
    if ((rc = outbox_append(e->ob, &stop, NULL, NULL, err)) != RC_OK)
        return rc;
    note(res, &stop);
    if (file) {
        if ((rc = outbox_append(e->ob, &fev, NULL, NULL, err)) != RC_OK)
            return rc;
        note(res, &fev);
    }
    return outbox_state_delete(e->ob, key, err);
}

int record_add(const struct record_env *e, const char *camera, const char *class_id,
               const char *session, const char *file, int64_t start_ms, int64_t end_ms,
               struct record_result *res, char *err)
{
    int rc;
    struct event ev;
    memset(res, 0, sizeof *res);
    if ((rc = record_check_camera(e, camera, err)) != RC_OK ||
        (rc = check_ids(class_id, session, err)) != RC_OK)
        return rc;
    if (start_ms < TS_MIN_MS || end_ms > TS_MAX_MS || end_ms < start_ms)
        return rc_fail(err, RC_INVAL, "the recording must end at or after its start");
    if ((rc = file_event(e, &ev, camera, file, start_ms, end_ms, err)) != RC_OK)
        return rc;
    put_ids(&ev, class_id, session);
    if ((rc = outbox_append(e->ob, &ev, NULL, NULL, err)) != RC_OK)
        return rc;
    note(res, &ev);
    return RC_OK;
}

int record_add_watched(const struct record_env *e, const char *camera, const char *file,
                       int64_t start_ms, int64_t end_ms, struct record_result *res, char *err)
{
    char key[STATE_KEY_LEN], value[OUTBOX_STATE_VALUE_MAX + 1];
    char class_id[EVENT_NAME_MAX + 1] = "", session[EVENT_NAME_MAX + 1] = "";
    int64_t open_ms = 0;
    state_key(camera, key);
    int rc = outbox_state_get(e->ob, key, value, sizeof value, err);
    if (rc == RC_OK && parse_open(value, &open_ms, class_id, session) != RC_OK)
        class_id[0] = session[0] = '\0';
    else if (rc != RC_OK && rc != RC_NOTFOUND)
        return rc;
    if (end_ms < start_ms)
        start_ms = end_ms;
    return record_add(e, camera, class_id, session, file, start_ms, end_ms, res, err);
}
