/* rollcall-server user add|list|disable|enable|passwd: people's accounts for logging in
 * (http/session.h). A password is read from stdin (one line) or, on a terminal, asked twice
 * without echo; never from the command line, where ps and shell history would show it. */
#include "cmd/commands.h"
#include "cmd/listing.h"
#include "crypto.h"
#include "http/password.h"
#include "http/session.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] user add NAME --role ROLE\n"
            "       rollcall-server [--db URL] user list [--json]\n"
            "       rollcall-server [--db URL] user disable|enable NAME\n"
            "       rollcall-server [--db URL] user passwd NAME\n"
            "\n"
            "Accounts of people who log in to the API (POST /v1/login); scripts and kiosks use\n"
            "bearer tokens (token create). The password is read from stdin (one line) or, on a\n"
            "terminal, asked twice without echo; it is never taken on the command line.\n"
            "\n"
            "  add NAME --role ROLE  new user; ROLE: admin | district:CODE | institution:ID |\n"
            "                        evaluator | assessor:ID. NAME: 1..%d of [A-Za-z0-9._@-]\n"
            "  list [--json]         every user: name, role, state, created, last login\n"
            "                        (never the password hash)\n"
            "  disable NAME          refuse the user's logins and end their sessions at once\n"
            "  enable NAME           allow logins again\n"
            "  passwd NAME           set a new password; ends the user's sessions\n"
            "  --db URL              database (overrides the global --db)\n"
            "\n"
            "Passwords: at least %d characters, at most %d bytes, hashed with Argon2id.\n",
            STORE_USER_NAME_MAX, PASSWORD_MIN_CHARS, PASSWORD_MAX_BYTES);
}

/* Reads one line (without its newline) into buf (cap bytes); RC_LIMIT when longer, RC_IO at
 * end of input before any byte. */
static int read_line(FILE *in, char *buf, size_t cap, size_t *len)
{
    if (!fgets(buf, (int)cap, in))
        return RC_IO;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (!feof(in))
        return RC_LIMIT;
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    *len = n;
    return RC_OK;
}

/* Asks on the terminal without echo. */
static int prompt(const char *question, char *buf, size_t cap, size_t *len)
{
    struct termios old, quiet;
    bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    fputs(question, stderr);
    fflush(stderr);
    int rc = read_line(stdin, buf, cap, len);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    return rc;
}

/* The new password into pw (PASSWORD_MAX_BYTES + 2 bytes), checked against the rules. */
static int read_password(char *pw, size_t *len, char *err)
{
    const size_t cap = PASSWORD_MAX_BYTES + 2;
    int rc;
    if (isatty(STDIN_FILENO)) {
        char again[PASSWORD_MAX_BYTES + 2];
        size_t n2 = 0;
        rc = prompt("New password: ", pw, cap, len);
        if (rc == RC_OK)
            rc = prompt("Again: ", again, sizeof again, &n2);
        bool same = rc == RC_OK && n2 == *len && memcmp(pw, again, n2) == 0;
        explicit_bzero(again, sizeof again);
        if (rc == RC_OK && !same)
            return rc_fail(err, RC_INVAL, "the two passwords differ");
    } else {
        rc = read_line(stdin, pw, cap, len);
    }
    if (rc == RC_IO)
        return rc_fail(err, RC_INVAL, "no password on stdin (give it as one line)");
    if (rc == RC_LIMIT)
        return rc_fail(err, RC_INVAL, "password longer than %d bytes", PASSWORD_MAX_BYTES);
    return password_check(pw, *len, err);
}

/* Parses NAME and the options of one subcommand; --password is refused with the reason.
 * Returns 0 or an exit status. */
static int parse(const char *sub, int argc, char **argv, const char **name, const char **role,
                 bool *json, const char **db_url)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"db", required_argument, NULL, 'd'},   {"password", optional_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': *role = optarg; break;
        case 'j': *json = true; break;
        case 'd': *db_url = optarg; break;
        case 'p':
            fprintf(stderr,
                    "rollcall-server user %s: a password is never taken on the command "
                    "line (ps and shell history show it): give it on stdin\n",
                    sub);
            return EXIT_USAGE;
        case 'h': usage(stdout); return -1;
        case ':':
            fprintf(stderr, "rollcall-server user %s: %s needs a value\n", sub, argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server user %s: unknown option '%s' (see --help)\n", sub,
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    bool wants_name = strcmp(sub, "list") != 0;
    if (wants_name) {
        if (optind >= argc) {
            fprintf(stderr, "rollcall-server user %s: which user? (user %s NAME)\n", sub, sub);
            return EXIT_USAGE;
        }
        *name = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-server user %s: unexpected argument '%s'%s\n", sub, argv[optind],
                wants_name ? " (a password is read from stdin, never from the command line)" : "");
        return EXIT_USAGE;
    }
    if (*role && strcmp(sub, "add") != 0) {
        fprintf(stderr, "rollcall-server user %s: --role goes with user add only\n", sub);
        return EXIT_USAGE;
    }
    if (*json && strcmp(sub, "list") != 0) {
        fprintf(stderr, "rollcall-server user %s: --json goes with user list only\n", sub);
        return EXIT_USAGE;
    }
    if (*name && !session_user_name_valid(*name)) {
        fprintf(stderr, "rollcall-server user %s: NAME must be 1..%d of [A-Za-z0-9._@-]\n", sub,
                STORE_USER_NAME_MAX);
        return EXIT_USAGE;
    }
    return 0;
}

struct listing {
    bool json;
    cJSON *arr;
};

static int list_one(const struct store_user *u, void *ctx)
{
    struct listing *l = ctx;
    char created[TS_UTC_LEN + 1], last[TS_UTC_LEN + 1];
    listing_time(u->created_at_ms, created);
    listing_time(u->last_login_at_ms, last);
    const char *state = u->disabled_at_ms ? "disabled" : "active";
    if (!l->json) {
        printf("%-24s %-24s %-9s %-25s %s\n", u->name, u->role, state, created, last);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(l->arr, o)) {
        cJSON_Delete(o);
        return RC_NOMEM;
    }
    if (!cJSON_AddStringToObject(o, "name", u->name) ||
        !cJSON_AddStringToObject(o, "role", u->role) ||
        !cJSON_AddBoolToObject(o, "disabled", u->disabled_at_ms != 0) ||
        !cJSON_AddStringToObject(o, "created_at", created) ||
        !cJSON_AddItemToObject(o, "last_login_at",
                               u->last_login_at_ms ? cJSON_CreateString(last) : cJSON_CreateNull()))
        return RC_NOMEM;
    return 0;
}

int cmd_user(int argc, char **argv, const struct server_globals *g)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "disable") != 0 &&
        strcmp(sub, "enable") != 0 && strcmp(sub, "passwd") != 0) {
        fprintf(stderr,
                "rollcall-server user: unknown subcommand '%s' (add, list, disable, "
                "enable, passwd)\n",
                sub);
        return EXIT_USAGE;
    }
    const char *name = NULL, *role = NULL, *db_url = g->db_url;
    bool json = false;
    int st_parse = parse(sub, argc - 1, argv + 1, &name, &role, &json, &db_url);
    if (st_parse != 0)
        return st_parse < 0 ? 0 : st_parse;

    char err[ERR_LEN] = "";
    char role_err[ERR_LEN];
    if (strcmp(sub, "add") == 0) {
        if (!role) {
            fprintf(stderr, "rollcall-server user add: --role is required\n");
            return EXIT_USAGE;
        }
        if (session_user_role_check(role, role_err) != RC_OK) {
            fprintf(stderr, "rollcall-server user add: %s\n", role_err);
            return EXIT_USAGE;
        }
    }
    int status = EXIT_REFUSED;
    store *st = NULL;
    char pw[PASSWORD_MAX_BYTES + 2];
    size_t pwlen = 0;
    struct listing l = {.json = json};
    if (store_open(db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK)
        goto out;
    int64_t now = ts_now_ms();
    if (strcmp(sub, "list") == 0) {
        if (json && !(l.arr = cJSON_CreateArray())) {
            rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        if (!json)
            printf("%-24s %-24s %-9s %-25s %s\n", "NAME", "ROLE", "STATE", "CREATED", "LAST LOGIN");
        int rc = store_user_list(st, list_one, &l, err);
        if (rc == RC_NOMEM)
            rc_fail(err, RC_NOMEM, "out of memory");
        if (rc != RC_OK)
            goto out;
        if (json) {
            cJSON *arr = l.arr;
            l.arr = NULL;
            if (listing_print_json("users", arr, err) != RC_OK)
                goto out;
        }
        status = 0;
        goto out;
    }
    if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
        bool off = strcmp(sub, "disable") == 0;
        if (store_user_set_disabled(st, name, off, now, err) != RC_OK)
            goto out;
        log_msg(LOG_LVL_INFO, "user '%s' %s%s", name, off ? "disabled" : "enabled",
                off ? "; their sessions have ended" : "");
        status = 0;
        goto out;
    }
    /* add, passwd: a user that exists (passwd) or not (add) before asking for a password. */
    struct store_user u = {0};
    int rc = store_user_get(st, name, &u, err);
    if (strcmp(sub, "add") == 0 && rc == RC_OK) {
        rc_fail(err, RC_CONFLICT, "a user named '%s' exists already", name);
        goto out;
    }
    if ((strcmp(sub, "add") == 0 && rc != RC_NOTFOUND) ||
        (strcmp(sub, "passwd") == 0 && rc != RC_OK))
        goto out;
    char hash[PASSWORD_ENCODED_MAX + 1];
    if (read_password(pw, &pwlen, err) != RC_OK || password_hash(pw, pwlen, hash, err) != RC_OK)
        goto out;
    if (strcmp(sub, "add") == 0) {
        memset(&u, 0, sizeof u);
        snprintf(u.name, sizeof u.name, "%s", name);
        snprintf(u.role, sizeof u.role, "%s", role);
        snprintf(u.password_hash, sizeof u.password_hash, "%s", hash);
        u.created_at_ms = u.password_changed_at_ms = now;
        if (store_user_insert(st, &u, err) != RC_OK)
            goto out;
        log_msg(LOG_LVL_INFO, "added user '%s' with role %s", name, role);
    } else {
        char key[STORE_HASH_HEX_LEN + 1];
        crypto_sha256_hex(name, strlen(name), key);
        if (store_user_set_password(st, name, hash, now, err) != RC_OK ||
            store_login_failures_clear(st, key, err) != RC_OK)
            goto out;
        log_msg(LOG_LVL_INFO, "new password for user '%s'; their sessions have ended", name);
    }
    explicit_bzero(hash, sizeof hash);
    status = 0;
out:
    explicit_bzero(pw, sizeof pw);
    if (status != 0)
        fprintf(stderr, "rollcall-server user %s: %s\n", sub, err);
    cJSON_Delete(l.arr);
    store_close(st);
    return status;
}
