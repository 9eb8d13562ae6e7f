/* rollcall-server check-config [serve options]: checks what `serve` with the same options
 * would need, without serving: the database reachable and at this program's schema, the TLS
 * certificate and key readable, matching and not expiring within CHECK_CERT_WARN_DAYS, the
 * signing key present and current, the photo directory usable, the listen address valid. Every
 * problem is one line on stderr ("check-config: AREA: what, how to fix"); stdout gets one "ok"
 * line per area that passed. Exit 0 without problems, 1 with any. Reads and writes nothing
 * else (it does not bind the port: a serving collector holds it). */
#include "cmd/check_config.h"

#include "evidence/signkey.h"
#include "http/tlscert.h"
#include "rc.h"
#include "store/store.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int problems;

static void problem(const char *area, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(const char *area, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "check-config: %s: ", area);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    problems++;
}

static void check_database(const struct check_config_input *in, store **st)
{
    char err[ERR_LEN];
    int v = 0;
    if (store_open(in->db_url, 0, st, err) != RC_OK) {
        problem("database", "%s", err);
        return;
    }
    if (store_check_schema(*st, err) != RC_OK) {
        problem("database", "%s", err);
        return;
    }
    store_schema_version(*st, &v, err);
    printf("ok: database (%s, schema version %d)\n", store_backend(*st), v);
}

static void check_tls(const struct check_config_input *in)
{
    char err[ERR_LEN];
    if (in->plain) {
        printf("ok: plain HTTP (TLS ends at the proxy in front)\n");
        return;
    }
    char *cert = check_config_read_pem(in->cert_path, err);
    if (!cert) {
        problem("tls-cert", "%s", err);
        return;
    }
    char *key = check_config_read_pem(in->key_path, err);
    if (!key) {
        problem("tls-key", "%s", err);
        free(cert);
        return;
    }
    tlscert *c = NULL;
    if (tlscert_parse(cert, key, &c, err) != RC_OK) {
        problem("tls", "%s and %s: %s", in->cert_path, in->key_path, err);
    } else {
        time_t now = time(NULL);
        int64_t left = tlscert_not_after(c) - (int64_t)now;
        char when[32];
        time_t na = (time_t)tlscert_not_after(c);
        struct tm tm;
        gmtime_r(&na, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
        if (left <= 0)
            problem("tls-cert", "%s expired on %s: renew it, then systemctl reload rollcall-server",
                    in->cert_path, when);
        else if (left < (int64_t)CHECK_CERT_WARN_DAYS * 86400)
            problem("tls-cert",
                    "%s expires on %s, in %lld days: renew it, then systemctl reload "
                    "rollcall-server",
                    in->cert_path, when, (long long)(left / 86400));
        else
            printf("ok: TLS certificate and key match, valid until %s\n", when);
    }
    tlscert_free(c);
    explicit_bzero(key, strlen(key));
    free(key);
    free(cert);
}

static void check_signing_key(const struct check_config_input *in, store *st)
{
    char path[SIGNKEY_PATH_MAX] = "", err[ERR_LEN];
    if (in->signing_key)
        snprintf(path, sizeof path, "%s", in->signing_key);
    else if (signkey_default_path(in->db_url, path, err) != RC_OK) {
        problem("signing-key", "no --signing-key and %s: evidence bundles answer 503", err);
        return;
    }
    if (!st)
        return; /* the database problem is reported; the key is checked against it */
    signkey *k = NULL;
    int rc = signkey_load(st, path, &k, err);
    if (rc == RC_OK)
        printf("ok: signing key %s (key id %s)\n", path, signkey_id(k));
    else if (rc == RC_NOTFOUND)
        problem("signing-key", "%s (until then evidence bundles answer 503)", err);
    else
        problem("signing-key", "%s", err);
    signkey_free(k);
}

static void check_photo_dir(const struct check_config_input *in)
{
    struct stat sb;
    if (!in->photo_dir || !*in->photo_dir) {
        printf("ok: no --photo-dir (the photo routes answer 503)\n");
        return;
    }
    if (stat(in->photo_dir, &sb) != 0) {
        if (errno != ENOENT) {
            problem("photo-dir", "%s: %s", in->photo_dir, strerror(errno));
            return;
        }
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", in->photo_dir);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        else
            snprintf(parent, sizeof parent, ".");
        if (access(parent, W_OK | X_OK) != 0)
            problem("photo-dir", "%s does not exist and %s is not writable: create it (0700)",
                    in->photo_dir, parent);
        else
            printf("ok: photo directory %s (created 0700 at start)\n", in->photo_dir);
        return;
    }
    if (!S_ISDIR(sb.st_mode))
        problem("photo-dir", "%s is not a directory", in->photo_dir);
    else if (access(in->photo_dir, W_OK | X_OK) != 0)
        problem("photo-dir", "%s is not writable by this user", in->photo_dir);
    else if (sb.st_mode & (S_IRWXG | S_IRWXO))
        problem("photo-dir", "%s has mode %04o: sign-in photos are private, chmod 700 it",
                in->photo_dir, (unsigned)(sb.st_mode & 07777));
    else
        printf("ok: photo directory %s\n", in->photo_dir);
}

static void check_listen(const struct check_config_input *in)
{
    const char *colon = strrchr(in->listen, ':');
    if (!colon || colon == in->listen) {
        problem("listen", "'%s' is not HOST:PORT", in->listen);
        return;
    }
    char host[256];
    const char *h = in->listen;
    size_t hl = (size_t)(colon - h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof host) {
        problem("listen", "host in '%s' is too long", in->listen);
        return;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || !*(colon + 1) || *end || port < 0 || port > 65535) {
        problem("listen", "port in '%s' must be 0..65535", in->listen);
        return;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gr = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &res);
    if (gr != 0) {
        problem("listen", "%s: %s", in->listen, gai_strerror(gr));
        return;
    }
    freeaddrinfo(res);
    printf("ok: listen address %s\n", in->listen);
}

int check_config_run(const struct check_config_input *in)
{
    store *st = NULL;
    problems = 0;
    check_listen(in);
    check_database(in, &st);
    check_tls(in);
    check_signing_key(in, st);
    check_photo_dir(in);
    store_close(st);
    if (problems) {
        fprintf(stderr, "check-config: %d problem%s\n", problems, problems == 1 ? "" : "s");
        return 1;
    }
    printf("ok\n");
    return 0;
}
