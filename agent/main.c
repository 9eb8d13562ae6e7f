/* rollcall-agent: the kiosk program. Global options, then one command from the table. */
#include "cmd/commands.h"
#include "log.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv, const struct agent_globals *g);
    const char *summary;
};

static const struct command commands[] = {
    {"init", cmd_init, "set this machine up as a kiosk from a firmware profile"},
    {"enroll", cmd_enroll, "register this kiosk with the collector (--token TOKEN)"},
    {"signin", cmd_signin, "record a trainee's located sign-in"},
    {"signout", cmd_signin, "record a trainee's located sign-out"},
    {"rollcall", cmd_rollcall, "list the random roll-calls (随机点名) open now"},
    {"confirm", cmd_signin, "record a trainee's answer to an open roll-call"},
    {"record", cmd_record, "record start|stop|add: classroom recording metadata"},
    {"sync", cmd_sync, "upload pending events as signed batches"},
    {"heartbeat", cmd_heartbeat, "record one heartbeat now (what the daemon does each interval)"},
    {"run", cmd_run, "the daemon: gpsd watch, heartbeats, sync, recordings, control socket"},
    {"screen", cmd_screen, "serve the kiosk screen (trainees sign in there) on loopback"},
    {"status", cmd_status, "queue, last sync, GNSS state, chain head, clock skew"},
    {"verify", cmd_verify, "check the local hash chain end to end"},
    {"export", cmd_export, "write pending events as signed batches to a file (USB)"},
    {"fence", cmd_fence, "check a point against a fence, convert datums"},
    {"gnss", cmd_gnss, "watch gpsd and print fixes and quality findings"},
    {"check-config", cmd_check_config, "validate the config (or --profile FILE) and exit"},
    {"profile-doc", cmd_profile_doc, "print the firmware-profile key reference (markdown)"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: rollcall-agent [--config FILE] [--log-level LEVEL] COMMAND [ARGS]\n"
                 "\n"
                 "The Rollcall kiosk agent: located sign-in, recordings, signed sync.\n"
                 "\n"
                 "Options:\n"
                 "  --config FILE      agent configuration (default $ROLLCALL_AGENT_CONFIG, "
                 "else " AGENT_DEFAULT_CONFIG ")\n"
                 "  --log-level LEVEL  error, warn, info (default) or debug\n"
                 "  --help             this text; COMMAND --help for a command's\n"
                 "  --version          print the version\n"
                 "\n"
                 "Commands:\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(out, "  %-13s %s\n", c->name, c->summary);
}

int main(int argc, char **argv)
{
    struct agent_globals g = {0};
    enum log_level level = LOG_LVL_INFO;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    /* "+" stops at the command name so its own options are left for it. */
    while ((ch = getopt_long(argc, argv, "+c:l:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': g.config_path = optarg; break;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "rollcall-agent: unknown log level '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("rollcall-agent %s\n", ROLLCALL_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    log_setup("rollcall-agent", level);
    g.config_path = agent_config_path(g.config_path);
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    int cmd_argc = argc - optind;
    char **cmd_argv = argv + optind;
    for (const struct command *c = commands; c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            optind = 0; /* glibc: re-initialise getopt for the command's own options */
            return c->run(cmd_argc, cmd_argv, &g);
        }
    }
    fprintf(stderr, "rollcall-agent: unknown command '%s' (see --help)\n", name);
    return EXIT_USAGE;
}
