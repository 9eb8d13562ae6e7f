/* rollcall-server token create: makes a bearer token, stores only its SHA-256 with the name
 * and role, and prints the token once on stdout (nothing else goes to stdout). */
#include "cmd/commands.h"
#include "http/auth.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] token create --role ROLE [--institution ID]\n"
            "                          --name NAME [--db URL]\n"
            "\n"
            "Creates a bearer token and prints it once; only its hash is stored.\n"
            "\n"
            "  --role ROLE         admin | enroll | evaluator | institution:ID | district:CODE |\n"
            "                      assessor:ID\n"
            "                      (6 digits) | device:ID   (IDs: 1..64 of [A-Za-z0-9._-])\n"
            "  --institution ID    with --role enroll (required): the one institution whose\n"
            "                      devices the token may enrol (stored as role enroll:ID); it\n"
            "                      hands out that institution's pseudonym key only. An enroll\n"
            "                      token made without one (older versions) enrols nothing:\n"
            "                      create a new one.\n"
            "  --name NAME         unique name shown in logs (1..64 of [A-Za-z0-9._:@-])\n");
}

static int token_create(int argc, char **argv, const struct server_globals *g)
{
    const char *db_url = g->db_url;
    const char *role = NULL;
    const char *name = NULL;
    const char *institution = NULL;
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'}, {"institution", required_argument, NULL, 'i'},
        {"name", required_argument, NULL, 'n'}, {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': role = optarg; break;
        case 'n': name = optarg; break;
        case 'i': institution = optarg; break;
        case 'd': db_url = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server token create: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server token create: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-server token create: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!role || !name) {
        fprintf(stderr, "rollcall-server token create: --role and --name are required\n");
        return EXIT_USAGE;
    }
    /* --role enroll --institution ID is the role enroll:ID; the institution goes with
     * nothing else. */
    char bound[STORE_ROLE_MAX + 1];
    if (institution) {
        if (strcmp(role, "enroll") != 0) {
            fprintf(stderr, "rollcall-server token create: --institution goes with --role "
                            "enroll only (other roles carry their scope: institution:ID)\n");
            return EXIT_USAGE;
        }
        if (!auth_id_valid(institution)) {
            fprintf(stderr,
                    "rollcall-server token create: --institution must be 1..%d of "
                    "[A-Za-z0-9._-]\n",
                    AUTH_SCOPE_MAX);
            return EXIT_USAGE;
        }
        snprintf(bound, sizeof bound, "enroll:%s", institution);
        role = bound;
    } else if (strcmp(role, "enroll") == 0) {
        fprintf(stderr, "rollcall-server token create: --role enroll needs --institution ID "
                        "(an enroll token enrols the devices of one institution)\n");
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    char token[AUTH_TOKEN_LEN + 1];
    store *st = NULL;
    int status = EXIT_REFUSED;
    if (store_open(db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK ||
        auth_token_create(st, role, name, token, err) != RC_OK)
        goto out;
    printf("%s\n", token);
    fflush(stdout);
    explicit_bzero(token, sizeof token);
    log_msg(LOG_LVL_INFO, "created token '%s' with role %s (store it now: it is not shown again)",
            name, role);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server token create: %s\n", err);
    store_close(st);
    return status;
}

int cmd_token(int argc, char **argv, const struct server_globals *g)
{
    if (argc >= 2 && strcmp(argv[1], "create") == 0)
        return token_create(argc - 1, argv + 1, g);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "rollcall-server token: expected 'token create --role ROLE --name NAME'\n");
    return EXIT_USAGE;
}
