/* rollcall-server publish: freezes and signs a year's evaluation results per institution
 * (evidence/publication.h, docs/EVIDENCE.md "Publication"). */
#include "cmd/commands.h"
#include "evidence/publication.h"
#include "evidence/signkey.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] publish --year YYYY [--out DIR]\n"
            "                       [--signing-key FILE]\n"
            "\n"
            "Freezes the year's evaluation results (per institution: classes, trainees,\n"
            "attendance and pass rates; no personal data), each row naming the evidence\n"
            "bundles of its classes by the SHA-256 of their manifests, signs them with the\n"
            "collector's key and stores them: GET /public/evaluation/YYYY serves them from then\n"
            "on, unchanged. A year is published once. With --out, the bundles are written into\n"
            "DIR as <class>.tar (rollcall-verify --publication checks them against it).\n"
            "\n"
            "  --signing-key FILE   the collector's key (default <db>.signing.key)\n"
            "  --db URL             database (overrides the global --db)\n");
}

int cmd_publish(int argc, char **argv, const struct server_globals *g)
{
    const char *db_url = g->db_url, *file = NULL, *year_s = NULL, *dir = NULL;
    static const struct option opts[] = {
        {"year", required_argument, NULL, 'y'},
        {"out", required_argument, NULL, 'o'},
        {"signing-key", required_argument, NULL, 'k'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'y': year_s = optarg; break;
        case 'o': dir = optarg; break;
        case 'k': file = optarg; break;
        case 'd': db_url = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server publish: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server publish: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || !year_s) {
        fprintf(stderr, "rollcall-server publish: give --year YYYY (see --help)\n");
        return EXIT_USAGE;
    }
    char *end = NULL;
    errno = 0;
    long y = strtol(year_s, &end, 10);
    if (errno || !end || *end || end == year_s || y < 2000 || y > 9998) {
        fprintf(stderr, "rollcall-server publish: --year must be a year 2000..9998\n");
        return EXIT_USAGE;
    }
    char err[ERR_LEN] = "";
    char path[SIGNKEY_PATH_MAX];
    int status = EXIT_REFUSED;
    store *st = NULL;
    signkey *key = NULL;
    size_t classes = 0;
    if (file && strlen(file) >= sizeof path) {
        rc_fail(err, RC_LIMIT, "--signing-key path longer than %d bytes", SIGNKEY_PATH_MAX - 1);
        goto done;
    }
    if (file)
        snprintf(path, sizeof path, "%s", file);
    else if (signkey_default_path(db_url, path, err) != RC_OK)
        goto done;
    if (store_open(db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK ||
        signkey_load(st, path, &key, err) != RC_OK ||
        publication_publish(st, key, (int)y, ts_now_ms(), dir, &classes, err) != RC_OK)
        goto done;
    printf("published %ld: %zu classes, signed by %s; served at GET /public/evaluation/%ld\n", y,
           classes, signkey_id(key), y);
    log_msg(LOG_LVL_INFO, "evaluation results of %ld published (%zu classes)", y, classes);
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "rollcall-server publish: %s\n", err);
    signkey_free(key);
    store_close(st);
    return status;
}
