/* rollcall-server token create|list|revoke: create makes a bearer token, stores only its
 * SHA-256 with the name and role, and prints the token once on stdout (nothing else goes to
 * stdout); list shows every token (never a hash); revoke refuses one from the next request on,
 * recording who revoked it. */
#include "cmd/commands.h"
#include "cmd/listing.h"
#include "http/auth.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] token create --role ROLE [--institution ID]\n"
            "                          --name NAME [--db URL]\n"
            "       rollcall-server [--db URL] token list [--json]\n"
            "       rollcall-server [--db URL] token revoke NAME\n"
            "\n"
            "create makes a bearer token and prints it once; only its hash is stored.\n"
            "list shows every token: name, role, created, by whom, revoked (never a hash).\n"
            "revoke refuses the token NAME from the next request on, on every collector of\n"
            "the database; who revoked it (cli:LOGIN) is recorded.\n"
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

/* "cli:LOGIN" (the effective user's login name, "cli:UID" without one) into by: who made or
 * revoked a token from the command line. */
static void cli_who(char by[STORE_TOKEN_NAME_MAX + 1])
{
    struct passwd pw, *found = NULL;
    char buf[1024];
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &found) == 0 && found && found->pw_name &&
        strlen(found->pw_name) <= STORE_TOKEN_NAME_MAX - 4)
        snprintf(by, STORE_TOKEN_NAME_MAX + 1, "cli:%s", found->pw_name);
    else
        snprintf(by, STORE_TOKEN_NAME_MAX + 1, "cli:%lu", (unsigned long)geteuid());
}

struct listing {
    bool json;
    cJSON *arr;
};

static int list_one(const struct store_token *t, void *ctx)
{
    struct listing *l = ctx;
    char created[TS_UTC_LEN + 1], revoked[TS_UTC_LEN + 1];
    listing_time(t->created_at_ms, created);
    listing_time(t->revoked_at_ms, revoked);
    if (!l->json) {
        printf("%-24s %-24s %-25s %-24s %s%s%s\n", t->name, t->role, created,
               t->created_by[0] ? t->created_by : "-", t->revoked ? revoked : "-",
               t->revoked ? " by " : "", t->revoked ? t->revoked_by : "");
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(l->arr, o)) {
        cJSON_Delete(o);
        return RC_NOMEM;
    }
    if (!cJSON_AddStringToObject(o, "name", t->name) ||
        !cJSON_AddStringToObject(o, "role", t->role) ||
        !cJSON_AddStringToObject(o, "created_at", created) ||
        !cJSON_AddItemToObject(o, "created_by",
                               t->created_by[0] ? cJSON_CreateString(t->created_by)
                                                : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(o, "revoked_at",
                               t->revoked ? cJSON_CreateString(revoked) : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(o, "revoked_by",
                               t->revoked ? cJSON_CreateString(t->revoked_by) : cJSON_CreateNull()))
        return RC_NOMEM;
    return 0;
}

static int token_list(int argc, char **argv, const struct server_globals *g)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "rollcall-server token list: unexpected argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    char err[ERR_LEN] = "";
    store *st = NULL;
    int status = EXIT_REFUSED;
    struct listing l = {.json = json};
    if (store_open(g->db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK)
        goto out;
    if (json && !(l.arr = cJSON_CreateArray())) {
        rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (!json)
        printf("%-24s %-24s %-25s %-24s %s\n", "NAME", "ROLE", "CREATED", "CREATED BY", "REVOKED");
    int rc = store_token_list(st, list_one, &l, err);
    if (rc == RC_NOMEM)
        rc_fail(err, RC_NOMEM, "out of memory");
    if (rc != RC_OK)
        goto out;
    if (json) {
        cJSON *arr = l.arr;
        l.arr = NULL;
        if (listing_print_json("tokens", arr, err) != RC_OK)
            goto out;
    }
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server token list: %s\n", err);
    cJSON_Delete(l.arr);
    store_close(st);
    return status;
}

static int token_revoke(int argc, char **argv, const struct server_globals *g)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || !auth_name_valid(argv[1])) {
        fprintf(stderr,
                "rollcall-server token revoke: expected one NAME (1..%d of "
                "[A-Za-z0-9._:@-])\n",
                STORE_TOKEN_NAME_MAX);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    char err[ERR_LEN] = "", by[STORE_TOKEN_NAME_MAX + 1];
    cli_who(by);
    store *st = NULL;
    int status = EXIT_REFUSED;
    if (store_open(g->db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK ||
        store_token_revoke(st, name, by, ts_now_ms(), err) != RC_OK)
        goto out;
    log_msg(LOG_LVL_INFO, "token '%s' revoked by '%s'", name, by);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server token revoke: %s\n", err);
    store_close(st);
    return status;
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
    char by[STORE_TOKEN_NAME_MAX + 1];
    cli_who(by);
    if (store_open(db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK ||
        auth_token_create_by(st, role, name, by, token, err) != RC_OK)
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
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return token_list(argc - 1, argv + 1, g);
    if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
        return token_revoke(argc - 1, argv + 1, g);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "rollcall-server token: expected 'token create --role ROLE --name NAME', "
                    "'token list' or 'token revoke NAME'\n");
    return EXIT_USAGE;
}
