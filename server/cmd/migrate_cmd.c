/* rollcall-server migrate: creates the database if needed and applies every pending schema
 * migration, each in its own transaction. Running it again changes nothing. */
#include "cmd/commands.h"
#include "rc.h"
#include "store/store.h"

#include <getopt.h>
#include <stdio.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: rollcall-server [--db URL] migrate [--db URL]\n"
                 "\n"
                 "Creates the database if it does not exist and brings its schema up to this\n"
                 "program's version. Safe to run again, and while collectors are serving.\n");
}

int cmd_migrate(int argc, char **argv, const struct server_globals *g)
{
    const char *db_url = g->db_url;
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': db_url = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server migrate: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server migrate: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-server migrate: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    store *st = NULL;
    int from = 0, to = 0;
    int status = EXIT_REFUSED;
    if (store_open(db_url, STORE_OPEN_CREATE, &st, err) != RC_OK ||
        store_migrate(st, &from, &to, err) != RC_OK)
        goto out;
    if (from == to)
        printf("%s database already at schema version %d\n", store_backend(st), to);
    else
        printf("%s database migrated from schema version %d to %d\n", store_backend(st), from, to);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server migrate: %s\n", err);
    store_close(st);
    return status;
}
