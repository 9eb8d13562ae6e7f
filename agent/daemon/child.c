#include "daemon/child.h"

#include "rc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int child_start(const struct child_cli *cli, const char *const *args, pid_t *pid, char *err)
{
    const char *argv[CHILD_ARGS_MAX + 6];
    size_t n = 0;
    argv[n++] = cli->program;
    argv[n++] = "--config";
    argv[n++] = cli->config;
    argv[n++] = "--log-level";
    argv[n++] = cli->log_level;
    for (size_t i = 0; args[i]; i++) {
        if (i == CHILD_ARGS_MAX)
            return rc_fail(err, RC_INVAL, "too many arguments for a child command");
        argv[n++] = args[i];
    }
    argv[n] = NULL;

    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    /* The daemon blocks these (signalfd) or ignores SIGPIPE; exec keeps both. */
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&dfl, sigs[i]);
    int e = posix_spawnattr_init(&attr);
    if (e != 0)
        return rc_fail(err, RC_IO, "cannot start %s: %s", cli->program, strerror(e));
    e = posix_spawn_file_actions_init(&fa);
    if (e != 0) {
        posix_spawnattr_destroy(&attr);
        return rc_fail(err, RC_IO, "cannot start %s: %s", cli->program, strerror(e));
    }
    if (!(e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) &&
        !(e = posix_spawnattr_setsigmask(&attr, &none)) &&
        !(e = posix_spawnattr_setsigdefault(&attr, &dfl)) &&
        !(e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
        /* libgps's socket and SQLite's files are not all close-on-exec. */
        !(e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)))
        e = posix_spawn(pid, cli->program, &fa, &attr, (char *const *)(uintptr_t)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (e != 0)
        return rc_fail(err, RC_IO, "cannot start %s: %s", cli->program, strerror(e));
    return RC_OK;
}

int child_program_path(const char *name, char *out, size_t cap, char *err)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return rc_fail(err, RC_IO, "cannot find this program (/proc/self/exe): %s",
                       strerror(errno));
    self[n] = '\0';
    int m;
    if (!name) {
        m = snprintf(out, cap, "%s", self);
    } else {
        const char *slash = strrchr(self, '/');
        m = snprintf(out, cap, "%.*s/%s", slash ? (int)(slash - self) : 0, self, name);
    }
    if (m < 0 || (size_t)m >= cap)
        return rc_fail(err, RC_LIMIT, "path of %s too long", name ? name : "this program");
    return RC_OK;
}

void child_status_text(int status, char out[CHILD_STATUS_LEN])
{
    if (WIFEXITED(status))
        snprintf(out, CHILD_STATUS_LEN, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, CHILD_STATUS_LEN, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, CHILD_STATUS_LEN, "wait status 0x%x", (unsigned)status);
}
