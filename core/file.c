/* Bounded whole-file reads (see file.h). One open (non-blocking, so opening a FIFO cannot
 * hang), one fstat that decides (regular file, size within max, mode), one read loop into a
 * buffer of exactly the size fstat gave. */
#include "file.h"

#include "rc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_bounded(const char *path, size_t max, bool private_file, char **out, size_t *len,
                        char *err)
{
    int rc = RC_OK;
    char *buf = NULL;
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (private_file ? O_NOFOLLOW : 0);
    int fd = open(path, flags);
    if (fd < 0 && private_file && errno == ELOOP) {
        rc = rc_fail(err, RC_INVAL, "%s: a symbolic link: give the file itself", path);
        goto out;
    }
    if (fd < 0) {
        rc = rc_fail(err, errno == ENOENT ? RC_NOTFOUND : RC_IO, "%s: cannot open: %s", path,
                     strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = rc_fail(err, RC_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = rc_fail(err, RC_INVAL, "%s: not a regular file", path);
        goto out;
    }
    if (private_file && (st.st_mode & 077) != 0) {
        rc = rc_fail(err, RC_AUTH,
                     "%s: accessible by group or others (mode %04o): run chmod 600 on it", path,
                     (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > (unsigned long long)max) {
        rc = rc_fail(err, RC_LIMIT, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    /* One byte more than fstat said, to notice a file that grows while we read it. */
    buf = malloc(size + 2);
    if (!buf) {
        rc = rc_fail(err, RC_NOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t used = 0;
    while (used < size + 1) {
        ssize_t n = read(fd, buf + used, size + 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = rc_fail(err, RC_IO, "%s: cannot read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (used != size) {
        rc = rc_fail(err, RC_IO, "%s: changed size while being read", path);
        goto out;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

int file_read_bounded(const char *path, size_t max, char **buf, size_t *len, char *err)
{
    return read_bounded(path, max, false, buf, len, err);
}

int file_read_private(const char *path, size_t max, char **buf, size_t *len, char *err)
{
    return read_bounded(path, max, true, buf, len, err);
}
