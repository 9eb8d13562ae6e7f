#include "control.h"

#include "rc.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int make_addr(const char *path, struct sockaddr_un *addr, char *err)
{
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr->sun_path)
        return rc_fail(err, RC_INVAL, "control socket path too long: %s", path);
    memcpy(addr->sun_path, path, strlen(path) + 1);
    return RC_OK;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - ts_mono_ms();
        if (left <= 0)
            return RC_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return RC_OK;
        if (n < 0 && errno != EINTR)
            return RC_IO;
    }
}

int control_write_line(int fd, const char *line, int timeout_ms, char *err)
{
    int64_t deadline = ts_mono_ms() + timeout_ms;
    size_t len = strlen(line);
    for (int part = 0; part < 2; part++) {
        const char *p = part == 0 ? line : "\n";
        size_t left = part == 0 ? len : 1;
        while (left > 0) {
            ssize_t n = send(fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                p += n;
                left -= (size_t)n;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (wait_fd(fd, POLLOUT, deadline) != RC_OK)
                    return rc_fail(err, RC_IO, "control socket: write timed out");
                continue;
            }
            return rc_fail(err, RC_IO, "control socket: %s", strerror(errno));
        }
    }
    return RC_OK;
}

int control_read_line(int fd, char *buf, size_t cap, int timeout_ms, char *err)
{
    int64_t deadline = ts_mono_ms() + timeout_ms;
    size_t used = 0;
    for (;;) {
        if (used + 1 >= cap)
            return rc_fail(err, RC_LIMIT, "control socket: line longer than %zu bytes", cap - 1);
        ssize_t n = recv(fd, buf + used, cap - 1 - used, MSG_DONTWAIT);
        if (n > 0) {
            char *nl = memchr(buf + used, '\n', (size_t)n);
            used += (size_t)n;
            if (nl) {
                *nl = '\0';
                return RC_OK;
            }
            continue;
        }
        if (n == 0) {
            buf[used] = '\0';
            if (used > 0)
                return RC_OK; /* a last line without a newline */
            return rc_fail(err, RC_IO, "control socket: closed without a line");
        }
        if (errno == EAGAIN || errno == EINTR) {
            int rc = wait_fd(fd, POLLIN, deadline);
            if (rc == RC_TIMEOUT)
                return rc_fail(err, RC_TIMEOUT, "control socket: no answer in time");
            if (rc != RC_OK)
                return rc_fail(err, RC_IO, "control socket: %s", strerror(errno));
            continue;
        }
        return rc_fail(err, RC_IO, "control socket: %s", strerror(errno));
    }
}

int control_request(const char *path, const char *request, char *reply, size_t cap, int timeout_ms,
                    char *err)
{
    struct sockaddr_un addr;
    int rc = make_addr(path, &addr, err);
    if (rc != RC_OK)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return rc_fail(err, RC_IO, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        close(fd);
        if (e == ENOENT || e == ECONNREFUSED)
            return rc_fail(err, RC_NOTFOUND, "no agent daemon at %s", path);
        return rc_fail(err, RC_IO, "%s: %s", path, strerror(e));
    }
    if ((rc = control_write_line(fd, request, timeout_ms, err)) == RC_OK)
        rc = control_read_line(fd, reply, cap, timeout_ms, err);
    close(fd);
    return rc;
}

int control_listen(const char *path, const char *group, int *out, char *err)
{
    struct sockaddr_un addr;
    int rc = make_addr(path, &addr, err);
    if (rc != RC_OK)
        return rc;
    /* A socket file may be left by a crash; remove it only if nobody answers there. */
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode))
            return rc_fail(err, RC_CONFLICT, "%s exists and is not a socket", path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
            close(fd);
            return rc_fail(err, RC_CONFLICT, "another agent daemon is running on %s", path);
        }
        if (fd >= 0)
            close(fd);
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return rc_fail(err, RC_IO, "socket: %s", strerror(errno));
    mode_t old = umask(0117); /* the socket is born 0660 */
    int b = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old);
    if (b != 0) {
        rc = rc_fail(err, RC_IO, "bind %s: %s", path, strerror(errno));
        goto fail;
    }
    if (group && group[0]) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            rc = rc_fail(err, RC_INVAL, "control group '%s' does not exist", group);
            goto fail;
        }
        if (chown(path, (uid_t)-1, gr->gr_gid) != 0) {
            rc = rc_fail(err, RC_IO, "chown %s: %s", path, strerror(errno));
            goto fail;
        }
    }
    if (chmod(path, 0660) != 0 || listen(fd, CONTROL_BACKLOG) != 0) {
        rc = rc_fail(err, RC_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    *out = fd;
    return RC_OK;
fail:
    close(fd);
    unlink(path);
    return rc;
}
