/* rollcall-server evidence: a class's evidence bundle, or one per class of an institution's
 * year, signed with the collector's key (evidence/evidence.h, docs/EVIDENCE.md). */
#include "cmd/commands.h"
#include "evidence/evidence.h"
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
#include <sys/stat.h>
#include <unistd.h>

enum { EVIDENCE_CLASSES_MAX = 10000 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] evidence --class ID --out FILE [--names]\n"
            "                       [--signing-key FILE]\n"
            "       rollcall-server [--db URL] evidence --institution ID --year YYYY --out DIR\n"
            "                       [--names] [--signing-key FILE]\n"
            "\n"
            "Writes the evidence bundle of a class (a tar file: the event lines as the kiosks\n"
            "signed them, batch signatures, kiosk keys, fences, policy, catalogue, plan, online\n"
            "records, assessments, reviews and the report, listed with their SHA-256 in a\n"
            "manifest signed by the collector's key). rollcall-verify checks it offline.\n"
            "With --institution and --year, one bundle per class whose sessions overlap that\n"
            "year (Asia/Shanghai) is written into DIR as <class>.tar. Prints one line per\n"
            "bundle: class, the SHA-256 of its manifest, the file.\n"
            "\n"
            "  --names              include the trainees' names (default: pseudonyms and masked\n"
            "                       numbers only, as the evaluator sees them)\n"
            "  --signing-key FILE   the collector's key (default <db>.signing.key)\n"
            "  --db URL             database (overrides the global --db)\n");
}

/* Writes len bytes to path through path.tmp and a rename. */
static int write_file(const char *path, const char *data, size_t len, char *err)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return rc_fail(err, RC_LIMIT, "path too long: %s", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return rc_fail(err, RC_IO, "cannot write %s: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return rc_fail(err, RC_IO, "cannot write %s", path);
    }
    return RC_OK;
}

static int one(store *st, signkey *key, const char *class_id, bool names, const char *path,
               char *err)
{
    char *tar = NULL, sha[CRYPTO_SHA256_HEX_LEN + 1];
    size_t len = 0;
    int rc =
        evidence_class_bundle(st, key, class_id, ts_now_ms(), names, &tar, &len, sha, NULL, err);
    if (rc == RC_OK)
        rc = write_file(path, tar, len, err);
    free(tar);
    if (rc == RC_OK) {
        printf("%s %s %s\n", class_id, sha, path);
        log_msg(LOG_LVL_INFO, "evidence bundle of class %s written (%zu bytes, manifest %s)",
                class_id, len, sha);
    }
    return rc;
}

struct ids {
    char (*id)[STORE_ID_MAX + 1];
    size_t n;
};

static int add_id(const struct store_class *c, void *ctx)
{
    struct ids *ids = ctx;
    snprintf(ids->id[ids->n++], STORE_ID_MAX + 1, "%s", c->id);
    return 0;
}

static int year(store *st, signkey *key, const char *institution, long y, bool names,
                const char *dir, char *err)
{
    char from[32], to[32]; /* any long year fits */
    int64_t from_ms, to_ms;
    snprintf(from, sizeof from, "%04ld-01-01", y);
    snprintf(to, sizeof to, "%04ld-01-01", y + 1);
    if (ts_parse_date(from, &from_ms, err) != RC_OK || ts_parse_date(to, &to_ms, err) != RC_OK)
        return RC_INVAL;
    struct store_class_filter f = {.institution = institution, .from_ms = from_ms, .to_ms = to_ms};
    struct ids ids = {.id = calloc(EVIDENCE_CLASSES_MAX, sizeof *ids.id)};
    if (!ids.id)
        return rc_fail(err, RC_NOMEM, "out of memory");
    int rc = store_class_list(st, &f, EVIDENCE_CLASSES_MAX, add_id, &ids, err);
    if (rc == RC_OK && ids.n == 0)
        rc = rc_fail(err, RC_NOTFOUND, "institution %s has no class in %ld", institution, y);
    if (rc == RC_OK && mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = rc_fail(err, RC_IO, "cannot create %s: %s", dir, strerror(errno));
    for (size_t i = 0; rc == RC_OK && i < ids.n; i++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s.tar", dir, ids.id[i]) >= (int)sizeof path)
            rc = rc_fail(err, RC_LIMIT, "path too long in %s", dir);
        else
            rc = one(st, key, ids.id[i], names, path, err);
    }
    free(ids.id);
    return rc;
}

int cmd_evidence(int argc, char **argv, const struct server_globals *g)
{
    const char *db_url = g->db_url, *file = NULL, *class_id = NULL, *institution = NULL,
               *year_s = NULL, *out = NULL;
    bool names = false;
    static const struct option opts[] = {
        {"class", required_argument, NULL, 'c'},
        {"institution", required_argument, NULL, 'i'},
        {"year", required_argument, NULL, 'y'},
        {"out", required_argument, NULL, 'o'},
        {"names", no_argument, NULL, 'n'},
        {"signing-key", required_argument, NULL, 'k'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': class_id = optarg; break;
        case 'i': institution = optarg; break;
        case 'y': year_s = optarg; break;
        case 'o': out = optarg; break;
        case 'n': names = true; break;
        case 'k': file = optarg; break;
        case 'd': db_url = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server evidence: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server evidence: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-server evidence: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!out || (class_id && (institution || year_s)) || (!class_id && (!institution || !year_s))) {
        fprintf(stderr, "rollcall-server evidence: give --class ID --out FILE, or --institution ID "
                        "--year YYYY --out DIR\n");
        return EXIT_USAGE;
    }
    long y = 0;
    if (year_s) {
        char *end = NULL;
        errno = 0;
        y = strtol(year_s, &end, 10);
        if (errno || !end || *end || end == year_s || y < 2000 || y > 9998) {
            fprintf(stderr, "rollcall-server evidence: --year must be a year 2000..9998\n");
            return EXIT_USAGE;
        }
    }
    char err[ERR_LEN] = "";
    char path[SIGNKEY_PATH_MAX];
    int status = EXIT_REFUSED;
    store *st = NULL;
    signkey *key = NULL;
    if (file && strlen(file) >= sizeof path) {
        rc_fail(err, RC_LIMIT, "--signing-key path longer than %d bytes", SIGNKEY_PATH_MAX - 1);
        goto done;
    }
    if (file)
        snprintf(path, sizeof path, "%s", file);
    else if (signkey_default_path(db_url, path, err) != RC_OK)
        goto done;
    if (store_open(db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK ||
        signkey_load(st, path, &key, err) != RC_OK)
        goto done;
    if (class_id ? one(st, key, class_id, names, out, err) != RC_OK
                 : year(st, key, institution, y, names, out, err) != RC_OK)
        goto done;
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "rollcall-server evidence: %s\n", err);
    signkey_free(key);
    store_close(st);
    return status;
}
