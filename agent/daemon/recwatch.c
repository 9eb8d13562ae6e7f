#include "daemon/recwatch.h"
#include "event.h"

#include "log.h"
#include "rc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    READ_BUF = 4096,
    CHECK_MS = 1000, /* a settling file is looked at again this often */
};

struct pending {
    int camera;
    char path[EVENT_FILE_MAX + 1];
    int64_t first_seen_real_ms;
    int64_t next_check_mono;
    int64_t size;
    int64_t mtime_ms;
    bool settled;             /* final: start_ms and end_ms hold its times */
    int64_t start_ms, end_ms; /* UTC ms, once settled */
};

struct recwatch {
    const struct config_camera *cameras; /* the profile's, n_cameras of them */
    recwatch_start_fn start;
    void *start_ctx;
    pid_t child;       /* the child recording a file, 0 when none */
    size_t child_slot; /* its index in pending */
    int fd;
    size_t n_cameras;
    int wd[CONFIG_MAX_CAMERAS];
    int64_t retry_mono;
    size_t n_pending;
    struct pending *pending; /* RECWATCH_PENDING_MAX, allocated on first use */
};

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_watches(recwatch *w, int64_t now)
{
    bool missing = false;
    for (size_t i = 0; i < w->n_cameras; i++) {
        if (w->wd[i] >= 0)
            continue;
        const struct config_camera *c = &w->cameras[i];
        w->wd[i] = inotify_add_watch(w->fd, c->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR);
        if (w->wd[i] < 0) {
            missing = true;
            log_msg(LOG_LVL_WARN, "camera %s: cannot watch %s: %s (retrying every %d s)", c->id,
                    c->dir, strerror(errno), RECWATCH_RETRY_MS / 1000);
        } else {
            log_msg(LOG_LVL_INFO, "camera %s: watching %s for *%s", c->id, c->dir, c->suffix);
        }
    }
    w->retry_mono = missing ? now + RECWATCH_RETRY_MS : -1;
}

int recwatch_create(const struct config_camera *cameras, size_t n_cameras, recwatch_start_fn start,
                    void *ctx, recwatch **out, char *err)
{
    *out = NULL;
    recwatch *w = calloc(1, sizeof *w);
    if (!w)
        return rc_fail(err, RC_NOMEM, "out of memory");
    w->cameras = cameras;
    w->start = start;
    w->start_ctx = ctx;
    w->fd = -1;
    w->retry_mono = -1;
    w->n_cameras = n_cameras;
    for (size_t i = 0; i < CONFIG_MAX_CAMERAS; i++)
        w->wd[i] = -1;
    if (w->n_cameras > 0) {
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0) {
            int e = errno;
            free(w);
            return rc_fail(err, RC_IO, "inotify: %s", strerror(e));
        }
        add_watches(w, 0);
    }
    *out = w;
    return RC_OK;
}

void recwatch_destroy(recwatch *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->pending);
    free(w);
}

int recwatch_fd(const recwatch *w)
{
    return w->fd;
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0 && name[0] != '.';
}

static void note_file(recwatch *w, int camera, const char *name, int64_t now)
{
    const struct config_camera *c = &w->cameras[camera];
    char path[EVENT_FILE_MAX + 1];
    int n = snprintf(path, sizeof path, "%s/%s", c->dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        log_msg(LOG_LVL_WARN, "camera %s: file name too long, not recorded", c->id);
        return;
    }
    for (size_t i = 0; i < w->n_pending; i++) {
        if (strcmp(w->pending[i].path, path) == 0) {
            /* Written again: settle again (unless its child is already hashing it). */
            if (!(w->child && w->child_slot == i)) {
                w->pending[i].settled = false;
                w->pending[i].next_check_mono = now + c->settle_s * 1000;
            }
            return;
        }
    }
    if (!w->pending && !(w->pending = calloc(RECWATCH_PENDING_MAX, sizeof *w->pending))) {
        log_msg(LOG_LVL_ERROR, "camera %s: out of memory: %s not recorded", c->id, path);
        return;
    }
    if (w->n_pending == RECWATCH_PENDING_MAX) {
        log_msg(LOG_LVL_WARN,
                "camera %s: %d files already waiting: %s not recorded (use record add)", c->id,
                RECWATCH_PENDING_MAX, path);
        return;
    }
    struct pending *p = &w->pending[w->n_pending++];
    memset(p, 0, sizeof *p);
    p->camera = camera;
    snprintf(p->path, sizeof p->path, "%s", path);
    p->first_seen_real_ms = real_ms();
    p->next_check_mono = now + c->settle_s * 1000;
    p->size = -1;
    p->mtime_ms = -1;
}

void recwatch_read(recwatch *w, int64_t now_mono_ms)
{
    if (w->fd < 0)
        return;
    char buf[READ_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t len = read(w->fd, buf, sizeof buf);
        if (len <= 0)
            return; /* EAGAIN: drained */
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW)
                log_msg(LOG_LVL_WARN, "recording watch: inotify queue overflowed; files may "
                                      "need `record add`");
            if (ev->mask & IN_IGNORED) {
                for (size_t i = 0; i < w->n_cameras; i++)
                    if (w->wd[i] == ev->wd) {
                        w->wd[i] = -1; /* the directory went away: retry later */
                        w->retry_mono = now_mono_ms + RECWATCH_RETRY_MS;
                    }
                continue;
            }
            if (!ev->len || !(ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
                continue;
            for (size_t i = 0; i < w->n_cameras; i++) {
                if (w->wd[i] == ev->wd && has_suffix(ev->name, w->cameras[i].suffix))
                    note_file(w, (int)i, ev->name, now_mono_ms);
            }
        }
    }
}

/* The file's birth time (statx), or -1 when the filesystem does not keep one. */
static int64_t birth_ms(const char *path)
{
    struct statx sx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) != 0 ||
        !(sx.stx_mask & STATX_BTIME))
        return -1;
    return (int64_t)sx.stx_btime.tv_sec * 1000 + sx.stx_btime.tv_nsec / 1000000;
}

/* Looks at a candidate: 1 gone (drop it), 0 otherwise (settled, or look again later). */
static int check_pending(recwatch *w, struct pending *p, int64_t now)
{
    const struct config_camera *c = &w->cameras[p->camera];
    struct stat sb;
    if (stat(p->path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 1;
    int64_t mtime = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
    int64_t age = real_ms() - mtime;
    if (c->settle_s > 0) {
        /* Final once two looks agree and the last write is settle_s old. */
        bool changed = (int64_t)sb.st_size != p->size || mtime != p->mtime_ms;
        p->size = (int64_t)sb.st_size;
        p->mtime_ms = mtime;
        if (changed || age < c->settle_s * 1000) {
            p->next_check_mono = now + CHECK_MS;
            return 0;
        }
    }
    p->start_ms = birth_ms(p->path);
    if (p->start_ms < 0)
        p->start_ms = p->first_seen_real_ms;
    p->end_ms = mtime; /* a start after it is clamped by `record add` (record_add_watched) */
    p->settled = true;
    return 0;
}

static void drop(recwatch *w, size_t i)
{
    w->pending[i] = w->pending[--w->n_pending];
    if (w->child && w->child_slot == w->n_pending)
        w->child_slot = i; /* the moved entry is the one a child is recording */
}

/* Starts a child for the first settled file that is due, when none is running. */
static void start_next(recwatch *w, int64_t now)
{
    if (w->child)
        return;
    for (size_t i = 0; i < w->n_pending; i++) {
        struct pending *p = &w->pending[i];
        if (!p->settled || now < p->next_check_mono)
            continue;
        const struct config_camera *c = &w->cameras[p->camera];
        char err[ERR_LEN];
        pid_t pid = 0;
        if (w->start(w->start_ctx, c->id, p->path, p->start_ms, p->end_ms, &pid, err) != RC_OK) {
            log_msg(LOG_LVL_ERROR, "camera %s: %s not recorded yet: %s (retrying in %d s)", c->id,
                    p->path, err, RECWATCH_RETRY_MS / 1000);
            p->next_check_mono = now + RECWATCH_RETRY_MS;
            continue;
        }
        w->child = pid;
        w->child_slot = i;
        return;
    }
}

bool recwatch_child_exited(recwatch *w, pid_t pid, enum recwatch_outcome outcome, int64_t now)
{
    if (!w->child || pid != w->child)
        return false;
    size_t i = w->child_slot;
    struct pending *p = &w->pending[i];
    const struct config_camera *c = &w->cameras[p->camera];
    w->child = 0;
    if (outcome == RECWATCH_RETRY) {
        /* The outbox was full or busy: storage may recover, the file is kept. */
        log_msg(LOG_LVL_WARN, "camera %s: %s not recorded yet (retrying in %d s)", c->id, p->path,
                RECWATCH_RETRY_MS / 1000);
        p->next_check_mono = now + RECWATCH_RETRY_MS;
    } else {
        if (outcome == RECWATCH_REFUSED)
            log_msg(LOG_LVL_ERROR, "camera %s: %s not recorded (refused, see above)", c->id,
                    p->path);
        drop(w, i);
    }
    start_next(w, now);
    return true;
}

int recwatch_tick(recwatch *w, int64_t now_mono_ms)
{
    int started = 0;
    if (w->retry_mono >= 0 && now_mono_ms >= w->retry_mono)
        add_watches(w, now_mono_ms);
    for (size_t i = 0; i < w->n_pending;) {
        struct pending *p = &w->pending[i];
        if (p->settled || now_mono_ms < p->next_check_mono) {
            i++;
            continue;
        }
        if (check_pending(w, p, now_mono_ms))
            drop(w, i);
        else
            i++;
    }
    pid_t before = w->child;
    start_next(w, now_mono_ms);
    if (w->child && w->child != before)
        started++;
    return started;
}

int64_t recwatch_timeout_ms(const recwatch *w, int64_t now_mono_ms)
{
    int64_t t = -1;
    if (w->retry_mono >= 0)
        t = w->retry_mono - now_mono_ms;
    for (size_t i = 0; i < w->n_pending; i++) {
        const struct pending *p = &w->pending[i];
        if (p->settled && w->child)
            continue; /* waits for the running child (its exit wakes the daemon) */
        int64_t d = p->next_check_mono - now_mono_ms;
        if (t < 0 || d < t)
            t = d;
    }
    if (t != -1 && t < 0)
        t = 0;
    return t;
}

pid_t recwatch_child(const recwatch *w)
{
    return w->child;
}
