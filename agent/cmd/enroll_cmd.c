/* enroll --token TOKEN: registers this kiosk with the collector (POST /v1/devices): its id,
 * institution, public key, profile model and assumed_eph_m, and the venue fence. Stores the
 * institution's pseudonym key and the device token the server answers with (0600, atomic
 * writes) and records both files in the config (config_save). Enrolling again with the same
 * key is idempotent on the server and just refreshes the token. */
#include "cmd/commands.h"
#include "fence.h"
#include "file.h"
#include "kiosk.h"
#include "log.h"
#include "rc.h"
#include "sync.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent [--config FILE] enroll --token TOKEN\n"
            "\n"
            "Registers this kiosk (device id, institution, public key, profile, venue fence)\n"
            "with the collector named in the config, using an enrolment token (role enroll;\n"
            "`--token -` reads it from standard input). Stores the institution's pseudonym key\n"
            "and this device's upload token in DATA_DIR (mode 0600) and records them in the\n"
            "config. Enrolling again with the same key refreshes the token.\n"
            "Exit status: 0 enrolled, 1 refused or failed (the reason is printed), 2 usage.\n");
}

/* Reads the whole fence file (bounded) and returns the Feature with properties.id == id
 * (detached, caller deletes), or NULL with err. */
static cJSON *venue_feature(const char *path, const char *id, char *err)
{
    cJSON *root = NULL, *found = NULL;
    char *data = NULL;
    size_t n = 0;
    if (file_read_bounded(path, FENCE_MAX_FILE_BYTES, &data, &n, err) != RC_OK)
        return NULL;
    root = cJSON_ParseWithLength(data, n);
    if (!root) {
        rc_fail(err, RC_INVAL, "%s: not JSON", path);
        goto out;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "Feature") == 0) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(root, "properties");
        const cJSON *fid = cJSON_GetObjectItemCaseSensitive(props, "id");
        if (cJSON_IsString(fid) && strcmp(fid->valuestring, id) == 0) {
            found = root;
            root = NULL;
        }
    } else {
        cJSON *features = cJSON_GetObjectItemCaseSensitive(root, "features");
        cJSON *ft;
        int i = 0;
        cJSON_ArrayForEach(ft, features)
        {
            const cJSON *props = cJSON_GetObjectItemCaseSensitive(ft, "properties");
            const cJSON *fid = cJSON_GetObjectItemCaseSensitive(props, "id");
            if (cJSON_IsString(fid) && strcmp(fid->valuestring, id) == 0) {
                found = cJSON_DetachItemFromArray(features, i);
                break;
            }
            i++;
        }
    }
    if (!found)
        rc_fail(err, RC_NOTFOUND, "%s: no feature with id '%s'", path, id);
out:
    cJSON_Delete(root);
    free(data);
    return found;
}

/* Writes text (plus a newline) to path, mode 0600, atomically: temporary file, fsync,
 * rename, fsync of the directory. */
static int write_secret(const char *path, const char *text, char *err)
{
    char tmp[CONFIG_PATH_LEN + 16], dir[CONFIG_PATH_LEN];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return rc_fail(err, RC_INVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return rc_fail(err, RC_IO, "%s: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    int ok = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len &&
             write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return rc_fail(err, RC_IO, "%s: %s", path, strerror(e));
    }
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return RC_OK;
}

static int data_path(const struct config_agent *c, const char *set, const char *name, char *out,
                     char *err)
{
    int n = set[0] ? snprintf(out, CONFIG_PATH_LEN, "%s", set)
                   : snprintf(out, CONFIG_PATH_LEN, "%s/%s", c->data_dir, name);
    if (n < 0 || n >= CONFIG_PATH_LEN)
        return rc_fail(err, RC_LIMIT, "the path of %s is too long", name);
    return RC_OK;
}

/* A token goes into an HTTP header and a one-line file: 1..SYNC_TOKEN_MAX visible ASCII. */
static bool token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > SYNC_TOKEN_MAX)
        return false;
    for (const char *p = t; *p; p++)
        if (*p <= ' ' || *p > '~')
            return false;
    return true;
}

/* Reads the enrolment token given on the command line, or from stdin for "-". */
static int get_token(const char *arg, char *out, size_t cap, char *err)
{
    if (strcmp(arg, "-") == 0) {
        if (!fgets(out, (int)cap, stdin))
            return rc_fail(err, RC_INVAL, "no token on standard input");
        out[strcspn(out, "\r\n")] = '\0';
    } else {
        int n = snprintf(out, cap, "%s", arg);
        if (n < 0 || (size_t)n >= cap)
            return rc_fail(err, RC_INVAL, "the token is longer than %zu characters", cap - 1);
    }
    if (!token_ok(out))
        return rc_fail(err, RC_INVAL, "the token must be 1 to %d visible ASCII characters",
                       SYNC_TOKEN_MAX);
    return RC_OK;
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int cmd_enroll(int argc, char **argv, const struct agent_globals *g)
{
    const char *token_arg = NULL;
    static const struct option opts[] = {
        {"token", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (ch) {
        case 't': token_arg = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc || !token_arg) {
        fprintf(stderr, "rollcall-agent: enroll: %s\n",
                optind < argc ? "unexpected argument" : "--token TOKEN is required");
        return EXIT_USAGE;
    }

    char err[ERR_LEN] = "";
    char token[SYNC_TOKEN_MAX + 1], hdr_auth[SYNC_TOKEN_MAX + 32];
    char pem[CRYPTO_PUBKEY_PEM_MAX], url[CONFIG_URL_LEN + 16];
    char key_path[CONFIG_PATH_LEN], token_path[CONFIG_PATH_LEN];
    struct kiosk *k = NULL;
    struct config_agent *cfg = NULL;
    cJSON *req = NULL, *ans = NULL, *feature = NULL;
    char *body = NULL;
    CURL *h = NULL;
    struct sync_reply *rep = NULL;
    uint8_t inst_key[KIOSK_INST_KEY_LEN];
    int rc;

    if ((rc = get_token(token_arg, token, sizeof token, err)) != RC_OK ||
        (rc = sync_global_init(err)) != RC_OK ||
        (rc = kiosk_open(g->config_path, KIOSK_KEY, &k, err)) != RC_OK ||
        (rc = crypto_key_public_pem(k->key, pem, sizeof pem, err)) != RC_OK ||
        (rc = sync_url(&k->cfg, "/v1/devices", url, sizeof url, err)) != RC_OK)
        goto out;
    if (!(feature = venue_feature(k->cfg.fence_file, k->cfg.fence_id, err))) {
        rc = RC_INVAL;
        goto out;
    }
    req = cJSON_CreateObject();
    if (!req || !cJSON_AddStringToObject(req, "device", k->cfg.device_id) ||
        !cJSON_AddStringToObject(req, "institution", k->cfg.institution) ||
        !cJSON_AddStringToObject(req, "public_key", pem) ||
        !cJSON_AddStringToObject(req, "profile", k->cfg.profile.model) ||
        !cJSON_AddNumberToObject(req, "assumed_eph_m", k->cfg.profile.gnss.assumed_eph_m) ||
        !cJSON_AddItemToObject(req, "fence", feature)) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    feature = NULL; /* owned by req now */
    if (!cJSON_AddStringToObject(req, "fence_id", k->cfg.fence_id) ||
        !(body = cJSON_PrintUnformatted(req))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (!(rep = calloc(1, sizeof *rep))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = sync_curl_new(&k->cfg, &h, err)) != RC_OK)
        goto out;
    snprintf(hdr_auth, sizeof hdr_auth, "Authorization: Bearer %s", token);
    const char *hdrs[] = {hdr_auth, "Content-Type: application/json"};
    rc = sync_http_post(h, url, hdrs, 2, body, strlen(body), rep, err);
    memset(hdr_auth, 0, sizeof hdr_auth);
    if (rc != RC_OK)
        goto out;
    if (rep->code != CURLE_OK || rep->status < 200 || rep->status > 299) {
        char msg[SYNC_MESSAGE_LEN];
        sync_reply_describe(rep, msg, sizeof msg);
        rc = rc_fail(err, rep->code != CURLE_OK ? RC_NET : RC_AUTH, "enrolment refused: %s", msg);
        if (rep->code == CURLE_OK && (rep->status == 400 || rep->status == 409))
            rc = rc_fail(err, RC_CONFLICT, "enrolment refused: %s", msg);
        goto out;
    }

    /* The answer: check everything before writing anything. */
    ans = cJSON_ParseWithLength(rep->body, rep->len);
    const char *a_dev = json_str(ans, "device"), *a_inst = json_str(ans, "institution");
    const char *a_key = json_str(ans, "institution_key"), *a_tok = json_str(ans, "device_token");
    const char *a_time = json_str(ans, "server_time");
    if (!a_dev || !a_inst || !a_key || !a_tok) {
        rc = rc_fail(err, RC_INVAL, "the server's enrolment answer is incomplete");
        goto out;
    }
    if (strcmp(a_dev, k->cfg.device_id) != 0 || strcmp(a_inst, k->cfg.institution) != 0) {
        rc = rc_fail(err, RC_INVAL, "the server enrolled %.64s of %.64s, not this kiosk", a_dev,
                     a_inst);
        goto out;
    }
    if (strlen(a_key) != 2 * KIOSK_INST_KEY_LEN || crypto_unhex(a_key, inst_key, sizeof inst_key)) {
        rc = rc_fail(err, RC_INVAL, "the server's institution_key is not %d hex digits",
                     2 * KIOSK_INST_KEY_LEN);
        goto out;
    }
    if (!token_ok(a_tok)) {
        rc = rc_fail(err, RC_INVAL, "the server's device_token is unusable");
        goto out;
    }
    if ((rc = data_path(&k->cfg, k->cfg.institution_key_file, "institution.key", key_path, err)) ||
        (rc = data_path(&k->cfg, k->cfg.token_file, "device.token", token_path, err)))
        goto out;
    if (k->cfg.institution_key_file[0]) {
        /* A key given at init (offline kiosk) must be the institution's: pseudonyms already
         * recorded with it would not match the server's otherwise. */
        uint8_t old[KIOSK_INST_KEY_LEN];
        char kerr[ERR_LEN];
        if (kiosk_read_inst_key(key_path, old, kerr) == RC_OK &&
            memcmp(old, inst_key, sizeof old) != 0) {
            memset(old, 0, sizeof old);
            rc = rc_fail(err, RC_CONFLICT,
                         "%s holds a different institution key than the server's for %s; "
                         "nothing changed (pseudonyms made with it would not match)",
                         key_path, k->cfg.institution);
            goto out;
        }
        memset(old, 0, sizeof old);
    }
    if ((rc = kiosk_write_inst_key(key_path, inst_key, err)) != RC_OK ||
        (rc = write_secret(token_path, a_tok, err)) != RC_OK)
        goto out;
    if (!(cfg = malloc(sizeof *cfg))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    *cfg = k->cfg;
    snprintf(cfg->institution_key_file, sizeof cfg->institution_key_file, "%s", key_path);
    snprintf(cfg->token_file, sizeof cfg->token_file, "%s", token_path);
    if ((rc = config_save(k->config_path, cfg, err)) != RC_OK)
        goto out;

    int64_t server_ms;
    char terr[ERR_LEN];
    if (a_time && ts_parse_rfc3339(a_time, &server_ms, terr) == RC_OK) {
        int64_t skew = ts_now_ms() - server_ms;
        if (llabs(skew) > k->cfg.profile.clock.max_skew_s * 1000)
            log_msg(LOG_LVL_WARN, "this kiosk's clock is %+.1f s off the server's",
                    (double)skew / 1000.0);
    }
    printf("enrolled %s (%s) with %s; institution key in %s, device token in %s\n",
           k->cfg.device_id, k->cfg.institution, k->cfg.server, key_path, token_path);
out:
    memset(token, 0, sizeof token);
    memset(inst_key, 0, sizeof inst_key);
    if (rep)
        memset(rep->body, 0, sizeof rep->body); /* held the device token */
    free(rep);
    free(cfg);
    if (h)
        curl_easy_cleanup(h);
    if (body) {
        cJSON_free(body);
    }
    cJSON_Delete(ans);
    cJSON_Delete(req);
    cJSON_Delete(feature);
    kiosk_close(k);
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-agent: enroll: %s\n", err);
        return EXIT_REFUSED;
    }
    return 0;
}
