/* rollcall-server: the central collector. Global options, then one command from the table. */
#include "cmd/commands.h"
#include "engine/classes.h"
#include "engine/fences.h"
#include "engine/regions.h"
#include "geodesy.h"
#include "log.h"
#include "rc.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SERVER_DEFAULT_DB "sqlite:/var/lib/rollcall/server.db"

struct command {
    const char *name;
    int (*run)(int argc, char **argv, const struct server_globals *g);
    const char *summary;
    bool engine; /* needs the server-wide state of fences and figures (see run_command) */
};

static const struct command commands[] = {
    {"serve", cmd_serve, "serve the HTTP(S) API", true},
    {"check-config", cmd_check_config,
     "serve's options checked without serving: database, TLS, signing key", false},
    {"migrate", cmd_migrate, "create or upgrade the database schema", false},
    {"token", cmd_token, "bearer tokens: token create|list|revoke", false},
    {"alert", cmd_alert, "webhooks for serious findings: alert add|list|remove", false},
    {"user", cmd_user, "people's logins: user add|list|disable|enable|passwd", false},
    {"import", cmd_import,
     "import batches FILE (an agent's export) | fences FILE (admin) | classes|online|assessments "
     "FILE",
     true},
    {"signing-key", cmd_signing_key, "the collector's signing key: signing-key create|rotate|list",
     false},
    {"evidence", cmd_evidence,
     "evidence --class ID --out FILE: a signed bundle rollcall-verify checks", true},
    {"publish", cmd_publish, "publish --year YYYY: freeze and sign a year's evaluation results",
     true},
    {"report", cmd_report, "report attendance|subsidy|findings: figures as text, JSON, CSV, XLSX",
     true},
    {"subsidy", cmd_subsidy,
     "the subsidy procedure: subsidy apply|approve|return|claim|audit|publish|pay|status|queue",
     true},
    {"calendar", cmd_calendar, "working days: calendar is-workday DATE | add-workdays DATE N",
     false},
    {"backup", cmd_backup, "backup --out FILE: a consistent copy while serving, with its digest",
     false},
    {"restore", cmd_restore, "restore --from FILE: check a backup, then replace the database",
     false},
    {"copy", cmd_copy, "move a collector: copy --from sqlite:PATH --to postgresql://...", true},
    {NULL, NULL, NULL, false},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: rollcall-server [--db URL] [--log-level LEVEL] COMMAND [ARGS]\n"
                 "\n"
                 "The Rollcall collector: verified ingest, attendance figures, reports.\n"
                 "\n"
                 "Options:\n"
                 "  --db URL           sqlite:PATH or postgresql://... (default $ROLLCALL_DB, "
                 "else " SERVER_DEFAULT_DB ")\n"
                 "  --log-level LEVEL  error, warn, info (default) or debug\n"
                 "  --help             this text; COMMAND --help for a command's\n"
                 "  --version          print the version\n"
                 "\n"
                 "Commands:\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
}

/* Server-wide state, set up in dependency order before a command that judges fences or
 * computes figures runs (and before any thread), torn down in reverse after it returned:
 * geodesy (PROJ) <- the fence cache <- the subsidy catalogue. serve adds the API's state
 * (api_init/api_fini) around serving. Commands that only manage accounts, keys or the schema
 * load none of it (PROJ alone maps ~10 MiB). */
static int run_command(const struct command *c, int argc, char **argv,
                       const struct server_globals *g)
{
    if (!c->engine)
        return c->run(argc, argv, g);
    char err[ERR_LEN] = "";
    /* Without PROJ only distances beyond 20 km are unknown: say so and go on. */
    if (geodesy_init(err) != RC_OK)
        log_msg(LOG_LVL_ERROR, "%s", err);
    if (fences_init(err) != RC_OK)
        goto failed;
    if (classes_init(err) != RC_OK) {
        fences_fini();
        goto failed;
    }
    if (regions_init(err) != RC_OK) {
        classes_fini();
        fences_fini();
        goto failed;
    }
    int status = c->run(argc, argv, g);
    regions_fini();
    classes_fini();
    fences_fini();
    geodesy_fini();
    return status;
failed:
    fprintf(stderr, "rollcall-server: %s\n", err);
    geodesy_fini();
    return EXIT_REFUSED;
}

int main(int argc, char **argv)
{
    struct server_globals g = {0};
    enum log_level level = LOG_LVL_INFO;
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    /* Everything this program writes (the database and its -wal/-shm/-journal files, report
     * and export files) can hold trainee names or pseudonym keys: private whatever the
     * caller's umask. */
    umask(077);
    /* "+" stops at the command name so its own options are left for it. */
    while ((ch = getopt_long(argc, argv, "+d:l:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': g.db_url = optarg; break;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "rollcall-server: unknown log level '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("rollcall-server %s\n", ROLLCALL_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    log_setup("rollcall-server", level);
    if (!g.db_url)
        g.db_url = getenv("ROLLCALL_DB");
    if (!g.db_url || !*g.db_url)
        g.db_url = SERVER_DEFAULT_DB;
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
            return run_command(c, cmd_argc, cmd_argv, &g);
        }
    }
    fprintf(stderr, "rollcall-server: unknown command '%s' (see --help)\n", name);
    return EXIT_USAGE;
}
