/* run: replaces this process with rollcall-agentd, the daemon (agent/daemon.c), found beside
 * this program. The daemon is a program of its own so that it maps only what it needs
 * (libgps, SQLite, mbedTLS, cJSON), not libcurl, OpenSSL or PROJ, which this program links for
 * its other commands. The pid stays the same (systemd's unit runs `rollcall-agent run`). */
#include "cmd/commands.h"
#include "daemon/child.h"
#include "log.h"
#include "rc.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent [--config FILE] [--log-level LEVEL] run\n"
            "\n"
            "The kiosk daemon: watches gpsd (findings become gnss and clock events), writes\n"
            "heartbeats at the profile's interval, syncs periodically (a `sync` child), records\n"
            "finished files of the profile's cameras (rec_file, a `record add` child per file),\n"
            "and serves the control socket (config control_socket, mode 0660) for signin,\n"
            "signout and status as JSON lines. SIGTERM or SIGINT shut it down cleanly (exit 0).\n"
            "This process becomes rollcall-agentd, installed beside rollcall-agent. See\n"
            "docs/AGENT.md.\n");
}

int cmd_run(int argc, char **argv, const struct agent_globals *g)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char self[PATH_MAX], daemon[PATH_MAX], err[ERR_LEN];
    if (child_program_path(NULL, self, sizeof self, err) != RC_OK ||
        child_program_path("rollcall-agentd", daemon, sizeof daemon, err) != RC_OK) {
        fprintf(stderr, "rollcall-agent: run: %s\n", err);
        return EXIT_REFUSED;
    }
    const char *args[] = {daemon,
                          "--config",
                          g->config_path,
                          "--log-level",
                          log_level_name(log_level_current()),
                          "--cli",
                          self,
                          NULL};
    /* execv's argv is char *const[] for historical reasons; it does not write to it. */
    execv(daemon, (char *const *)(uintptr_t)args);
    fprintf(stderr, "rollcall-agent: run: cannot start %s: %s\n", daemon, strerror(errno));
    return EXIT_REFUSED;
}
