/* rollcall-verify: checks an evidence bundle offline (verify.h, verify/rollcall-verify.1,
 * docs/EVIDENCE.md). Exit 0 when everything holds, 1 with one line per problem, 2 on usage. */
#include "verify.h"

#include "engine/regions.h"
#include "evidence/bundle.h"
#include "evidence/publication.h"
#include "file.h"
#include "geodesy.h"
#include "rc.h"
#include "version.h"

#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_PROBLEMS = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-verify [--json] [--key FILE] BUNDLE\n"
            "       rollcall-verify [--json] [--key FILE] --publication FILE BUNDLE...\n"
            "\n"
            "Checks a Rollcall evidence bundle without the collector, a database or a network:\n"
            "the manifest and the collector's signature, every kiosk batch signature and hash\n"
            "chain link, every fix re-judged against the bundled fence, every figure recomputed\n"
            "under the bundled policy and compared with the bundled report.\n"
            "\n"
            "  --key FILE   the collector's public key (PEM) the manifest must be signed with;\n"
            "               without it the bundle's own key is used and its id printed\n"
            "  --json       one JSON object on stdout instead of text\n"
            "  --publication FILE  a year's publication (GET /public/evaluation/YYYY): its\n"
            "               signature, every BUNDLE named by a row, and each row whose\n"
            "               bundles are all given recomputed from them\n"
            "\n"
            "Exit status: 0 everything holds, 1 problems (one line each, naming the member),\n"
            "2 usage error or unreadable file.\n");
}

static int print_json(const struct verify_result *r)
{
    cJSON *o = cJSON_CreateObject(), *c, *a;
    if (!o || !cJSON_AddBoolToObject(o, "ok", r->n_problems == 0) ||
        !cJSON_AddStringToObject(o, "class", r->class_id) ||
        !cJSON_AddStringToObject(o, "manifest_sha256", r->manifest_sha256) ||
        !cJSON_AddStringToObject(o, "key_id", r->key_id) ||
        !cJSON_AddBoolToObject(o, "key_pinned", r->key_pinned) ||
        !(c = cJSON_AddObjectToObject(o, "checked")) ||
        !cJSON_AddNumberToObject(c, "members", (double)r->members) ||
        !cJSON_AddNumberToObject(c, "events", (double)r->events) ||
        !cJSON_AddNumberToObject(c, "batch_signatures", (double)r->batches) ||
        !cJSON_AddNumberToObject(c, "fixes", (double)r->fixes) ||
        !cJSON_AddNumberToObject(c, "trainees", (double)r->figures) ||
        !(a = cJSON_AddArrayToObject(o, "problems")) ||
        !cJSON_AddNumberToObject(o, "problems_not_listed", (double)r->dropped))
        goto fail;
    for (size_t i = 0; i < r->n_problems; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p || !cJSON_AddItemToArray(a, p) ||
            !cJSON_AddStringToObject(p, "member", r->problems[i].member) ||
            !cJSON_AddStringToObject(p, "problem", r->problems[i].text))
            goto fail;
    }
    char *text = cJSON_PrintUnformatted(o);
    if (!text)
        goto fail;
    puts(text);
    free(text);
    cJSON_Delete(o);
    return 0;
fail:
    cJSON_Delete(o);
    fprintf(stderr, "rollcall-verify: out of memory\n");
    return -1;
}

/* The file's bytes, or NULL after a one-line message. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    char err[ERR_LEN], *data = NULL;
    if (file_read_bounded(path, max, &data, len, err) != RC_OK) {
        fprintf(stderr, "rollcall-verify: %s\n", err);
        return NULL;
    }
    return data;
}

static void print_problems(const struct verify_result *r, const char *prefix)
{
    for (size_t i = 0; i < r->n_problems; i++)
        printf("%s%s%s: %s\n", prefix ? prefix : "", prefix ? ": " : "", r->problems[i].member,
               r->problems[i].text);
    if (r->dropped)
        printf("%s%sbundle: %zu more problems not listed\n", prefix ? prefix : "",
               prefix ? ": " : "", r->dropped);
}

/* --publication FILE BUNDLE...: every bundle verified, then the publication against them. */
static int publication_mode(const char *pub_path, char **paths, int n, const char *pem, bool json)
{
    size_t pub_len = 0, problems = 0, rows = 0;
    char *pub = slurp(pub_path, PUBLICATION_MAX, &pub_len);
    char(*sha)[CRYPTO_SHA256_HEX_LEN + 1] = calloc((size_t)n, sizeof *sha);
    const char **shas = calloc((size_t)n, sizeof *shas);
    struct engine_report **reports = calloc((size_t)n, sizeof *reports);
    struct verify_result *r = malloc(sizeof *r);
    int status = EXIT_USAGE;
    cJSON *o = json ? cJSON_CreateObject() : NULL, *arr = NULL;
    if (!pub)
        goto out;
    if (!sha || !shas || !reports || !r ||
        (json && (!o || !(arr = cJSON_AddArrayToObject(o, "problems"))))) {
        fprintf(stderr, "rollcall-verify: out of memory\n");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        char *data = slurp(paths[i], BUNDLE_MAX, &len);
        if (!data)
            goto out;
        int rc = verify_bundle(data, len, pem, r, &reports[i]);
        free(data);
        if (rc != RC_OK) {
            fprintf(stderr, "rollcall-verify: out of memory\n");
            goto out;
        }
        snprintf(sha[i], sizeof sha[i], "%s", r->manifest_sha256);
        shas[i] = sha[i];
        problems += r->n_problems + r->dropped;
        if (!json)
            print_problems(r, paths[i]);
        for (size_t k = 0; json && k < r->n_problems; k++) {
            cJSON *p = cJSON_CreateObject();
            if (!p || !cJSON_AddItemToArray(arr, p) ||
                !cJSON_AddStringToObject(p, "bundle", paths[i]) ||
                !cJSON_AddStringToObject(p, "member", r->problems[k].member) ||
                !cJSON_AddStringToObject(p, "problem", r->problems[k].text))
                goto out;
        }
    }
    if (verify_publication(pub, pub_len, pem, shas, (const struct engine_report *const *)reports,
                           (size_t)n, r, &rows) != RC_OK) {
        fprintf(stderr, "rollcall-verify: out of memory\n");
        goto out;
    }
    problems += r->n_problems;
    if (!json)
        print_problems(r, pub_path);
    for (size_t k = 0; json && k < r->n_problems; k++) {
        cJSON *p = cJSON_CreateObject();
        if (!p || !cJSON_AddItemToArray(arr, p) ||
            !cJSON_AddStringToObject(p, "bundle", pub_path) ||
            !cJSON_AddStringToObject(p, "member", r->problems[k].member) ||
            !cJSON_AddStringToObject(p, "problem", r->problems[k].text))
            goto out;
    }
    if (json) {
        if (!cJSON_AddBoolToObject(o, "ok", problems == 0) ||
            !cJSON_AddNumberToObject(o, "bundles", n) ||
            !cJSON_AddNumberToObject(o, "rows_checked", (double)rows))
            goto out;
        char *text = cJSON_PrintUnformatted(o);
        if (!text)
            goto out;
        puts(text);
        free(text);
    } else if (problems == 0) {
        printf("OK publication %s: %d bundles verified, %zu institution rows recomputed from "
               "them\n",
               pub_path, n, rows);
    }
    status = problems ? EXIT_PROBLEMS : 0;
out:
    for (int i = 0; reports && i < n; i++)
        engine_report_free(reports[i]);
    cJSON_Delete(o);
    free(reports);
    free(shas);
    free(sha);
    free(r);
    free(pub);
    return status;
}

int main(int argc, char **argv)
{
    const char *key_path = NULL, *pub_path = NULL;
    bool json = false;
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},         {"json", no_argument, NULL, 'j'},
        {"publication", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},           {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'k': key_path = optarg; break;
        case 'j': json = true; break;
        case 'p': pub_path = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("rollcall-verify %s\n", ROLLCALL_VERSION); return 0;
        case ':':
            fprintf(stderr, "rollcall-verify: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-verify: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (pub_path ? argc - optind < 1 : argc - optind != 1) {
        fprintf(stderr, "rollcall-verify: give one BUNDLE, or --publication FILE and its BUNDLEs "
                        "(see --help)\n");
        return EXIT_USAGE;
    }
    const char *path = argv[optind];
    char err[ERR_LEN];
    char *pem = NULL, *data = NULL;
    size_t pem_len = 0, len = 0;
    if (key_path && file_read_bounded(key_path, BUNDLE_PEM_MAX - 1, &pem, &pem_len, err) != RC_OK) {
        fprintf(stderr, "rollcall-verify: --key %s: %s\n", key_path, err);
        return EXIT_USAGE;
    }
    if (pub_path) {
        if (geodesy_init(err) != RC_OK || regions_init(err) != RC_OK) {
            fprintf(stderr, "rollcall-verify: %s\n", err);
            free(pem);
            return EXIT_USAGE;
        }
        int st = publication_mode(pub_path, argv + optind, argc - optind, pem, json);
        free(pem);
        return st;
    }
    if (file_read_bounded(path, BUNDLE_MAX, &data, &len, err) != RC_OK) {
        fprintf(stderr, "rollcall-verify: %s: %s\n", path, err);
        free(pem);
        return EXIT_USAGE;
    }
    /* Distances are measured with PROJ's geodesic, as at the collector. */
    if (geodesy_init(err) != RC_OK || regions_init(err) != RC_OK) {
        fprintf(stderr, "rollcall-verify: %s\n", err);
        free(pem);
        free(data);
        return EXIT_USAGE;
    }
    struct verify_result *r = malloc(sizeof *r);
    int status = EXIT_PROBLEMS;
    if (!r || verify_bundle(data, len, pem, r, NULL) != RC_OK) {
        fprintf(stderr, "rollcall-verify: out of memory\n");
        goto out;
    }
    if (json) {
        if (print_json(r) != 0)
            goto out;
    } else {
        print_problems(r, NULL);
        if (r->n_problems == 0)
            printf("OK class %s: %zu members, %zu events, %zu batch signatures, %zu fixes "
                   "re-judged, the report of %zu trainees recomputed; manifest %s signed by %s%s\n",
                   r->class_id, r->members, r->events, r->batches, r->fixes, r->figures,
                   r->manifest_sha256, r->key_id,
                   r->key_pinned
                       ? " (pinned)"
                       : " (not pinned: compare it with the collector's published key id)");
    }
    status = r->n_problems ? EXIT_PROBLEMS : 0;
out:
    free(r);
    free(pem);
    free(data);
    return status;
}
