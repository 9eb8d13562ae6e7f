/* rollcall-verify: checks an evidence bundle offline (verify.h, verify/rollcall-verify.1,
 * docs/EVIDENCE.md). Exit 0 when everything holds, 1 with one line per problem, 2 on usage. */
#include "verify.h"

#include "evidence/bundle.h"
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
            "\n"
            "Checks a Rollcall evidence bundle without the collector, a database or a network:\n"
            "the manifest and the collector's signature, every kiosk batch signature and hash\n"
            "chain link, every fix re-judged against the bundled fence, every figure recomputed\n"
            "under the bundled policy and compared with the bundled report.\n"
            "\n"
            "  --key FILE   the collector's public key (PEM) the manifest must be signed with;\n"
            "               without it the bundle's own key is used and its id printed\n"
            "  --json       one JSON object on stdout instead of text\n"
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

int main(int argc, char **argv)
{
    const char *key_path = NULL;
    bool json = false;
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'k': key_path = optarg; break;
        case 'j': json = true; break;
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
    if (argc - optind != 1) {
        fprintf(stderr, "rollcall-verify: give one BUNDLE (see --help)\n");
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
    if (file_read_bounded(path, BUNDLE_MAX, &data, &len, err) != RC_OK) {
        fprintf(stderr, "rollcall-verify: %s: %s\n", path, err);
        free(pem);
        return EXIT_USAGE;
    }
    /* Distances are measured with PROJ's geodesic, as at the collector. */
    if (geodesy_init(err) != RC_OK) {
        fprintf(stderr, "rollcall-verify: %s\n", err);
        free(pem);
        free(data);
        return EXIT_USAGE;
    }
    struct verify_result *r = malloc(sizeof *r);
    int status = EXIT_PROBLEMS;
    if (!r || verify_bundle(data, len, pem, r) != RC_OK) {
        fprintf(stderr, "rollcall-verify: out of memory\n");
        goto out;
    }
    if (json) {
        if (print_json(r) != 0)
            goto out;
    } else {
        for (size_t i = 0; i < r->n_problems; i++)
            printf("%s: %s\n", r->problems[i].member, r->problems[i].text);
        if (r->dropped)
            printf("bundle: %zu more problems not listed\n", r->dropped);
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
