/* rollcall-server copy --from sqlite:PATH --to postgresql://...: moves a whole collector from
 * SQLite to PostgreSQL (store_copy.h), then shows that nothing changed: rows and a digest per
 * table on both sides, and the figures of every class computed afresh from each database. */
#include "cmd/commands.h"
#include "engine/figures.h"
#include "rc.h"
#include "store/store.h"
#include "store/store_copy.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server copy --from sqlite:PATH --to postgresql://...\n"
            "\n"
            "Copies every table of a SQLite collector database into a new PostgreSQL database\n"
            "(migrated here; it must be empty), in one transaction, then compares rows and a\n"
            "digest per table and the figures of every class on both sides. Stop the\n"
            "collectors using the SQLite file first. 把 SQLite 采集库整体迁移到 PostgreSQL。\n");
}

static void print_table(const struct store_copy_table *t, void *ctx)
{
    (void)ctx;
    bool ok = t->rows_from == t->rows_to && strcmp(t->digest_from, t->digest_to) == 0;
    printf("%-20s %10lld rows  %.16s  %s\n", t->name, (long long)t->rows_to, t->digest_to,
           ok ? "same" : "DIFFERENT");
}

/* The summary of every class, computed without the cache, as JSON into *out. */
static int summary(const char *url, int64_t now, char **out, size_t *n, char *err)
{
    store *st = NULL;
    struct figures_summary *s = NULL;
    struct store_class_filter f;
    memset(&f, 0, sizeof f);
    *out = NULL;
    int rc = store_open(url, 0, &st, err);
    if (rc == RC_OK)
        rc = figures_summary(st, &f, now, false, &s, err);
    if (rc == RC_OK) {
        *n = s->n;
        rc = figures_summary_json(s, &f, out, err);
    }
    figures_summary_free(s);
    store_close(st);
    return rc;
}

int cmd_copy(int argc, char **argv, const struct server_globals *g)
{
    (void)g;
    const char *from = NULL, *to = NULL;
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server copy: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server copy: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || !from || !to) {
        fprintf(stderr, "rollcall-server copy: give --from sqlite:PATH and --to "
                        "postgresql://... (see --help)\n");
        return EXIT_USAGE;
    }
    char err[ERR_LEN];
    store *src = NULL, *dst = NULL;
    char *before = NULL, *after = NULL;
    size_t classes = 0, classes_after = 0;
    int status = EXIT_REFUSED;
    /* The source at this program's version, the target brought to it. */
    if (strncmp(from, "sqlite:", 7) != 0 ||
        (strncmp(to, "postgresql://", 13) != 0 && strncmp(to, "postgres://", 11) != 0)) {
        snprintf(err, sizeof err, "copy goes from sqlite:PATH to postgresql://...");
        goto out;
    }
    if (store_open(from, 0, &src, err) != RC_OK || store_check_schema(src, err) != RC_OK ||
        store_open(to, 0, &dst, err) != RC_OK || store_migrate(dst, NULL, NULL, err) != RC_OK)
        goto out;
    store_close(src);
    store_close(dst);
    src = dst = NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (summary(from, now, &before, &classes, err) != RC_OK)
        goto out;
    printf("%-20s %10s  %-16s\n", "table", "rows", "digest");
    if (store_copy_sqlite_to_pg(from, to, print_table, NULL, err) != RC_OK)
        goto out;
    if (summary(to, now, &after, &classes_after, err) != RC_OK)
        goto out;
    if (classes != classes_after || strcmp(before, after) != 0) {
        snprintf(err, sizeof err,
                 "the figures differ after the copy (%zu classes before, %zu after): do not "
                 "switch the collectors over",
                 classes, classes_after);
        goto out;
    }
    printf("figures of %zu classes identical on both sides; switch the collectors to --db %s\n",
           classes, "postgresql://...");
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server copy: %s\n", err);
    free(before);
    free(after);
    store_close(src);
    store_close(dst);
    return status;
}
