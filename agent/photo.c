/* Content-addressed photo files under DATA_DIR/photos (see photo.h). */
#include "photo.h"

#include "rc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool photo_hex_ok(const char *s)
{
    if (!s || strlen(s) != CRYPTO_SHA256_HEX_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

bool photo_reason_ok(const char *s)
{
    return s &&
           (strcmp(s, "no_camera") == 0 || strcmp(s, "refused") == 0 || strcmp(s, "failed") == 0);
}

int photo_path(const char *data_dir, const char *hex, char *out, size_t cap, char *err)
{
    if (!photo_hex_ok(hex))
        return rc_fail(err, RC_INVAL, "photo_sha256 must be 64 lower-case hex digits");
    int n = snprintf(out, cap, "%s/photos/%s.jpg", data_dir, hex);
    if (n < 0 || (size_t)n >= cap)
        return rc_fail(err, RC_LIMIT, "photo path too long under %s", data_dir);
    return RC_OK;
}

int photo_check(const char *data_dir, const char *hex, char *err)
{
    char path[PHOTO_PATH_MAX];
    int rc = photo_path(data_dir, hex, path, sizeof path, err);
    if (rc != RC_OK)
        return rc;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return rc_fail(err, RC_NOTFOUND, "no stored photo %s", hex);
    if (!S_ISREG(sb.st_mode))
        return rc_fail(err, RC_INVAL, "photo %s is not a regular file", hex);
    if (sb.st_size > PHOTO_MAX_BYTES)
        return rc_fail(err, RC_LIMIT, "photo %s is larger than %d bytes", hex, PHOTO_MAX_BYTES);
    uint8_t sum[CRYPTO_SHA256_LEN];
    char got[CRYPTO_SHA256_HEX_LEN + 1];
    char why[ERR_LEN];
    if ((rc = crypto_sha256_file(path, sum, NULL, why)) != RC_OK)
        return rc_fail(err, rc == RC_NOTFOUND ? RC_NOTFOUND : RC_IO, "photo %s: %s", hex, why);
    crypto_hex(sum, sizeof sum, got);
    if (strcmp(got, hex) != 0)
        return rc_fail(err, RC_CONFLICT, "photo %s: its bytes do not match its name", hex);
    return RC_OK;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int photo_store(const char *data_dir, const void *jpeg, size_t len,
                char hex[CRYPTO_SHA256_HEX_LEN + 1], char *err)
{
    const unsigned char *b = jpeg;
    if (len < 4 || b[0] != 0xff || b[1] != 0xd8 || b[2] != 0xff)
        return rc_fail(err, RC_INVAL, "the photo is not a JPEG");
    if (len > PHOTO_MAX_BYTES)
        return rc_fail(err, RC_LIMIT, "the photo is larger than %d bytes", PHOTO_MAX_BYTES);
    crypto_sha256_hex(jpeg, len, hex);
    char dir[PHOTO_PATH_MAX], path[PHOTO_PATH_MAX], tmp[PHOTO_PATH_MAX + 8];
    int n = snprintf(dir, sizeof dir, "%s/photos", data_dir);
    if (n < 0 || (size_t)n >= sizeof dir)
        return rc_fail(err, RC_LIMIT, "photo path too long under %s", data_dir);
    int rc = photo_path(data_dir, hex, path, sizeof path, err);
    if (rc != RC_OK)
        return rc;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return rc_fail(err, RC_IO, "mkdir %s: %s", dir, strerror(errno));
    if (photo_check(data_dir, hex, err) == RC_OK) {
        /* The same bytes are already there: stored again now, so the orphan sweep
         * (photo_sweep) measures its age from this store. */
        if (utimensat(AT_FDCWD, path, NULL, 0) != 0)
            return rc_fail(err, RC_IO, "%s: %s", path, strerror(errno));
        return RC_OK;
    }
    n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return rc_fail(err, RC_LIMIT, "photo path too long under %s", data_dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return rc_fail(err, RC_IO, "%s: %s", tmp, strerror(errno));
    if (write_all(fd, b, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return rc_fail(err, e == ENOSPC || e == EDQUOT ? RC_FULL : RC_IO, "%s: %s", tmp,
                       strerror(e));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return rc_fail(err, RC_IO, "%s: %s", path, strerror(e));
    }
    /* the rename itself durable */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return RC_OK;
}
