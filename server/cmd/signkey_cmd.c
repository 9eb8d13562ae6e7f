/* rollcall-server signing-key create|rotate|list: the collector's own ECDSA P-256 key, which
 * signs its manifests and publications (evidence/signkey.h). The private key stays in its
 * 0600 file; the database keeps every public key, so old signatures stay verifiable. */
#include "cmd/commands.h"
#include "cmd/listing.h"
#include "evidence/signkey.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-server [--db URL] signing-key create|rotate|check [--signing-key "
            "FILE]\n"
            "       rollcall-server [--db URL] signing-key list [--json]\n"
            "\n"
            "The collector's signing key (ECDSA P-256) for the evidence it publishes. The\n"
            "private key is a PEM file of mode 0600; the database keeps every public key with\n"
            "its key id (the first %d hex digits of the SHA-256 of the public key's DER), so\n"
            "signatures made before a rotation still verify after it.\n"
            "\n"
            "  create               make the first key (refused when there is one: rotate)\n"
            "  rotate               replace the current key by a new one; the old private key\n"
            "                       is overwritten, its public key stays in the database\n"
            "  check                load the key file as the collector will (mode 0600, the\n"
            "                       database's current key), sign and verify a test message\n"
            "  list [--json]        every key: id, state, created, retired (and with --json\n"
            "                       the public key PEM)\n"
            "  --signing-key FILE   the private key file (default: beside a SQLite database,\n"
            "                       <db>.signing.key)\n"
            "  --db URL             database (overrides the global --db)\n",
            SIGNKEY_ID_LEN);
}

struct listing {
    bool json;
    cJSON *arr;
};

static int list_one(const struct store_signing_key *k, void *ctx)
{
    struct listing *l = ctx;
    char created[TS_UTC_LEN + 1], retired[TS_UTC_LEN + 1];
    listing_time(k->created_at_ms, created);
    listing_time(k->retired_at_ms, retired);
    const char *state = k->retired_at_ms ? "retired" : "current";
    if (!l->json) {
        printf("%-16s  %-7s  %-24s  %s\n", k->key_id, state, created, retired);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(l->arr, o)) {
        cJSON_Delete(o);
        return RC_NOMEM;
    }
    if (!cJSON_AddStringToObject(o, "key_id", k->key_id) ||
        !cJSON_AddStringToObject(o, "state", state) ||
        !cJSON_AddStringToObject(o, "created_at", created) ||
        !cJSON_AddItemToObject(
            o, "retired_at", k->retired_at_ms ? cJSON_CreateString(retired) : cJSON_CreateNull()) ||
        !cJSON_AddStringToObject(o, "public_key_pem", k->public_key_pem))
        return RC_NOMEM;
    return 0;
}

static int list(store *st, bool json, char *err)
{
    struct listing l = {.json = json};
    int rc = RC_OK;
    if (json && !(l.arr = cJSON_CreateArray()))
        return rc_fail(err, RC_NOMEM, "out of memory");
    if (!json)
        printf("%-16s  %-7s  %-24s  %s\n", "KEY ID", "STATE", "CREATED", "RETIRED");
    rc = store_signing_key_list(st, list_one, &l, err);
    if (rc == RC_NOMEM)
        rc = rc_fail(err, RC_NOMEM, "out of memory");
    if (rc != RC_OK || !json)
        goto out;
    cJSON *arr = l.arr;
    l.arr = NULL;
    rc = listing_print_json("signing_keys", arr, err);
out:
    cJSON_Delete(l.arr);
    return rc;
}

/* Loads the key as a signer would, signs a test message, verifies it with the public key
 * looked up by the returned id. */
static int check(store *st, const char *path, char id[SIGNKEY_ID_LEN + 1], char *err)
{
    static const char msg[] = "rollcall signing-key check";
    signkey *k = NULL;
    crypto_key *pub = NULL;
    char sig[CRYPTO_SIG_B64_MAX + 1];
    uint8_t digest[CRYPTO_SHA256_LEN];
    int rc;
    if ((rc = signkey_load(st, path, &k, err)) != RC_OK ||
        (rc = signkey_sign(k, msg, sizeof msg - 1, sig, id, err)) != RC_OK ||
        (rc = signkey_public(st, id, &pub, NULL, err)) != RC_OK)
        goto out;
    crypto_sha256(msg, sizeof msg - 1, digest);
    rc = crypto_key_verify(pub, digest, sig, err);
out:
    crypto_key_destroy(pub);
    signkey_free(k);
    return rc;
}

int cmd_signing_key(int argc, char **argv, const struct server_globals *g)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "create") != 0 && strcmp(sub, "rotate") != 0 && strcmp(sub, "check") != 0 &&
        strcmp(sub, "list") != 0) {
        fprintf(stderr,
                "rollcall-server signing-key: unknown subcommand '%s' (create, rotate, check, "
                "list)\n",
                sub);
        return EXIT_USAGE;
    }
    const char *db_url = g->db_url, *file = NULL;
    bool json = false;
    static const struct option opts[] = {
        {"signing-key", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    argc--;
    argv++;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'k': file = optarg; break;
        case 'j': json = true; break;
        case 'd': db_url = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rollcall-server signing-key %s: %s needs a value\n", sub,
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "rollcall-server signing-key %s: unknown option '%s' (see --help)\n",
                    sub, argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-server signing-key %s: unexpected argument '%s'\n", sub,
                argv[optind]);
        return EXIT_USAGE;
    }
    bool listing = strcmp(sub, "list") == 0;
    if (json && !listing) {
        fprintf(stderr, "rollcall-server signing-key %s: --json goes with list only\n", sub);
        return EXIT_USAGE;
    }
    if (file && listing) {
        fprintf(stderr, "rollcall-server signing-key list: --signing-key is not used by list\n");
        return EXIT_USAGE;
    }
    char err[ERR_LEN] = "";
    char path[SIGNKEY_PATH_MAX];
    char id[SIGNKEY_ID_LEN + 1];
    int status = EXIT_REFUSED;
    store *st = NULL;
    if (!listing) {
        if (file && strlen(file) >= sizeof path) {
            rc_fail(err, RC_LIMIT, "--signing-key path longer than %d bytes", SIGNKEY_PATH_MAX - 1);
            goto out;
        }
        if (file)
            snprintf(path, sizeof path, "%s", file);
        else if (signkey_default_path(db_url, path, err) != RC_OK)
            goto out;
    }
    if (store_open(db_url, 0, &st, err) != RC_OK || store_check_schema(st, err) != RC_OK)
        goto out;
    if (listing) {
        if (list(st, json, err) != RC_OK)
            goto out;
    } else if (strcmp(sub, "create") == 0) {
        if (signkey_create(st, path, ts_now_ms(), id, err) != RC_OK)
            goto out;
        printf("created signing key %s in %s (mode 0600): back this file up with the database\n",
               id, path);
        log_msg(LOG_LVL_INFO, "signing key %s created", id);
    } else if (strcmp(sub, "check") == 0) {
        if (check(st, path, id, err) != RC_OK)
            goto out;
        printf("signing key %s in %s: private (0600), current, signs and verifies\n", id, path);
    } else {
        if (signkey_rotate(st, path, ts_now_ms(), id, err) != RC_OK)
            goto out;
        printf("rotated: signing key %s is now current in %s; the old public key stays in the "
               "database\n",
               id, path);
        log_msg(LOG_LVL_INFO, "signing key rotated, %s is current", id);
    }
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "rollcall-server signing-key %s: %s\n", sub, err);
    store_close(st);
    return status;
}
