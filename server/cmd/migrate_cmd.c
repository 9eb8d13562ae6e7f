/* rollcall-server migrate: creates the database if needed and applies every pending schema
 * migration, each in its own transaction. Running it again changes nothing. Before it changes
 * an existing SQLite database it backs it up beside itself (store_backup). From schema 18 on
 * it fills the figures' columns and pack of events stored before (store_events_backfill). */
#include "cmd/commands.h"
#include "rc.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    MIGRATE_BACKUP_PATH_MAX = STORE_URL_MAX + 64,
    MIGRATE_COLUMNS_SCHEMA = 20, /* events have the figures' columns (18) and pack (20) */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: rollcall-server [--db URL] migrate [--db URL] [--to N] [--no-backup]\n"
                 "\n"
                 "Creates the database if it does not exist and brings its schema up to this\n"
                 "program's version. Safe to run again, and while collectors are serving.\n"
                 "Before it changes an existing SQLite database it copies it to\n"
                 "PATH.pre-migrate-vN-TIME (with a .sha256 digest; restore --from takes it).\n"
                 "Events stored before schema version 18 then get the columns the figures\n"
                 "read, from their stored lines (a thousand a transaction; resumable).\n"
                 "\n"
                 "  --to N       stop at schema version N (staged upgrades, test fixtures)\n"
                 "  --no-backup  skip the copy (you made one yourself)\n");
}

int cmd_migrate(int argc, char **argv, const struct server_globals *g)
{
    const char *db_url = g->db_url;
    long target = 0; /* 0: the latest */
    bool backup = true;
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"to", required_argument, NULL, 't'},
        {"no-backup", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': db_url = optarg; break;
        case 'n': backup = false; break;
        case 't': {
            char *end = NULL;
            errno = 0;
            target = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || target < 1 || target > 100000) {
                fprintf(stderr, "rollcall-server migrate: --to wants a schema version, got '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        }
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
    int now = 0;
    if (store_open(db_url, STORE_OPEN_CREATE, &st, err) != RC_OK ||
        store_schema_version(st, &now, err) != RC_OK)
        goto out;
    int goal = target ? (int)target : store_schema_latest(st);
    if (target && target > store_schema_latest(st)) {
        rc_fail(err, RC_INVAL, "--to %ld: this program's schema goes up to %d", target,
                store_schema_latest(st));
        goto out;
    }
    if (backup && now > 0 && now < goal && strncmp(db_url, "sqlite:", 7) == 0) {
        /* An upgrade changes the file in place: keep the version it had first. */
        char copy[MIGRATE_BACKUP_PATH_MAX], stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(copy, sizeof copy, "%s.pre-migrate-v%d-%s", db_url + 7, now, stamp);
        char hex[CRYPTO_SHA256_HEX_LEN + 1];
        uint64_t bytes = 0;
        if (backup_with_digest(st, copy, hex, &bytes, err) != RC_OK)
            goto out;
        printf("backed up schema version %d to %s\n", now, copy);
    }
    if ((target ? store_migrate_to(st, goal, &from, &to, err)
                : store_migrate(st, &from, &to, err)) != RC_OK)
        goto out;
    if (from == to)
        printf("%s database already at schema version %d\n", store_backend(st), to);
    else
        printf("%s database migrated from schema version %d to %d\n", store_backend(st), from, to);
    if (to >= MIGRATE_COLUMNS_SCHEMA) {
        /* Events stored before schema 18 get the figures' columns from their lines, and
         * those stored before 20 their pack, a thousand a transaction; an interrupted run
         * leaves the rest to the next one. */
        int64_t filled = 0, unparsed = 0;
        if (store_events_backfill(st, 1000, &filled, &unparsed, err) != RC_OK)
            goto out;
        if (filled)
            printf("figures' columns and pack filled for %lld events stored before schema "
                   "version %d\n",
                   (long long)filled, MIGRATE_COLUMNS_SCHEMA);
        if (unparsed)
            printf("stored events left without the figures' columns (their lines are not "
                   "canonical events; the figures read them as before): %lld\n",
                   (long long)unparsed);
    }
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server migrate: %s\n", err);
    store_close(st);
    return status;
}
