/* The collector's signing key: file, database record, signing. See signkey.h. */
#include "evidence/signkey.h"

#include "rc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct signkey {
    crypto_key *key;
    crypto_rng *rng;
    char id[SIGNKEY_ID_LEN + 1];
};

int signkey_default_path(const char *db_url, char out[SIGNKEY_PATH_MAX], char *err)
{
    if (!db_url || strncmp(db_url, "sqlite:", 7) != 0 || !db_url[7])
        return rc_fail(err, RC_INVAL,
                       "the database is not a SQLite file: give the key file with "
                       "--signing-key FILE");
    int n = snprintf(out, SIGNKEY_PATH_MAX, "%s.signing.key", db_url + 7);
    if (n < 0 || n >= SIGNKEY_PATH_MAX)
        return rc_fail(err, RC_LIMIT, "database path too long for a key file beside it");
    return RC_OK;
}

int signkey_key_id(crypto_key *key, char out[SIGNKEY_ID_LEN + 1], char *err)
{
    char fp[CRYPTO_SHA256_HEX_LEN + 1];
    int rc = crypto_key_fingerprint(key, fp, err);
    if (rc != RC_OK)
        return rc;
    memcpy(out, fp, SIGNKEY_ID_LEN);
    out[SIGNKEY_ID_LEN] = '\0';
    return RC_OK;
}

/* Refuses a key file open to group or others with the command that fixes it (crypto_key_load
 * refuses it too, but this names the file and the command as the database check does). */
static int check_mode(const char *path, char *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return rc_fail(err, RC_NOTFOUND,
                           "no signing key file at %s: run 'rollcall-server signing-key create'",
                           path);
        return rc_fail(err, RC_IO, "cannot read %s: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode))
        return rc_fail(err, RC_INVAL, "signing key %s is not a regular file", path);
    if (sb.st_mode & (S_IRWXG | S_IRWXO))
        return rc_fail(err, RC_AUTH,
                       "signing key file %s has mode %04o: group or others can read or write "
                       "it; run 'chmod 600 %s' (and consider rotating the key)",
                       path, (unsigned)(sb.st_mode & 07777), path);
    return RC_OK;
}

/* Makes a rename in path's directory durable. */
static int sync_dir(const char *path, char *err)
{
    char copy[SIGNKEY_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return rc_fail(err, RC_IO, "cannot open the directory of %s: %s", path, strerror(errno));
    int rc = RC_OK;
    if (fsync(fd) != 0)
        rc = rc_fail(err, RC_IO, "cannot sync the directory of %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* A new key pair saved at path, recorded in st as current; the file is removed again when the
 * database refuses it. */
static int new_key(store *st, const char *path, int64_t now_ms, char key_id[SIGNKEY_ID_LEN + 1],
                   char *err)
{
    crypto_rng *rng = NULL;
    crypto_key *key = NULL;
    bool saved = false;
    struct store_signing_key rec = {.created_at_ms = now_ms};
    int rc = crypto_rng_create(&rng, err);
    if (rc != RC_OK)
        goto out;
    if ((rc = crypto_key_generate(rng, &key, err)) != RC_OK ||
        (rc = signkey_key_id(key, rec.key_id, err)) != RC_OK ||
        (rc = crypto_key_public_pem(key, rec.public_key_pem, sizeof rec.public_key_pem, err)) !=
            RC_OK)
        goto out;
    rc = crypto_key_save(key, path, err);
    if (rc == RC_CONFLICT)
        rc = rc_fail(err, RC_CONFLICT, "%s exists already: move it away first (it may be a key)",
                     path);
    if (rc != RC_OK)
        goto out;
    saved = true;
    if ((rc = store_signing_key_add(st, &rec, err)) != RC_OK)
        goto out;
    memcpy(key_id, rec.key_id, sizeof rec.key_id);
out:
    if (rc != RC_OK && saved)
        unlink(path);
    crypto_key_destroy(key);
    crypto_rng_destroy(rng);
    return rc;
}

int signkey_create(store *st, const char *path, int64_t now_ms, char key_id[SIGNKEY_ID_LEN + 1],
                   char *err)
{
    struct store_signing_key cur;
    int rc = store_signing_key_current(st, &cur, err);
    if (rc == RC_OK)
        return rc_fail(err, RC_CONFLICT,
                       "the collector has a signing key already (id %s): 'signing-key rotate' "
                       "replaces it",
                       cur.key_id);
    if (rc != RC_NOTFOUND)
        return rc;
    return new_key(st, path, now_ms, key_id, err);
}

int signkey_rotate(store *st, const char *path, int64_t now_ms, char key_id[SIGNKEY_ID_LEN + 1],
                   char *err)
{
    struct store_signing_key cur;
    int rc = store_signing_key_current(st, &cur, err);
    if (rc == RC_NOTFOUND)
        return rc_fail(err, RC_NOTFOUND,
                       "the collector has no signing key to rotate: run 'signing-key create'");
    if (rc != RC_OK)
        return rc;
    char next[SIGNKEY_PATH_MAX];
    int n = snprintf(next, sizeof next, "%s.new", path);
    if (n < 0 || (size_t)n >= sizeof next)
        return rc_fail(err, RC_LIMIT, "key file path too long");
    struct stat sb;
    if (lstat(next, &sb) == 0)
        return rc_fail(err, RC_CONFLICT,
                       "%s exists (left by an interrupted rotation?): 'signing-key list' shows "
                       "the current key; remove %s if it is not that key, then rotate again",
                       next, next);
    rc = new_key(st, next, now_ms, key_id, err);
    if (rc != RC_OK)
        return rc;
    /* The database now says the new key is current; the file follows. */
    if (rename(next, path) != 0)
        return rc_fail(err, RC_IO,
                       "key %s is recorded but %s could not be renamed to %s: %s; rename it by "
                       "hand",
                       key_id, next, path, strerror(errno));
    return sync_dir(path, err);
}

int signkey_load(store *st, const char *path, signkey **out, char *err)
{
    *out = NULL;
    struct store_signing_key cur;
    struct signkey *k = calloc(1, sizeof *k);
    if (!k)
        return rc_fail(err, RC_NOMEM, "out of memory");
    int rc;
    if ((rc = store_signing_key_current(st, &cur, err)) != RC_OK ||
        (rc = check_mode(path, err)) != RC_OK ||
        (rc = crypto_key_load(path, &k->key, err)) != RC_OK ||
        (rc = signkey_key_id(k->key, k->id, err)) != RC_OK)
        goto out;
    if (strcmp(k->id, cur.key_id) != 0) {
        rc = rc_fail(err, RC_CONFLICT,
                     "signing key file %s holds key %s, but the database's current key is %s "
                     "(an interrupted rotation leaves the new key in %s.new)",
                     path, k->id, cur.key_id, path);
        goto out;
    }
    if ((rc = crypto_rng_create(&k->rng, err)) != RC_OK)
        goto out;
    *out = k;
    k = NULL;
out:
    signkey_free(k);
    return rc;
}

void signkey_free(signkey *k)
{
    if (!k)
        return;
    crypto_key_destroy(k->key);
    crypto_rng_destroy(k->rng);
    free(k);
}

const char *signkey_id(const signkey *k)
{
    return k->id;
}

int signkey_sign(signkey *k, const void *data, size_t len, char sig[CRYPTO_SIG_B64_MAX + 1],
                 char key_id[SIGNKEY_ID_LEN + 1], char *err)
{
    uint8_t digest[CRYPTO_SHA256_LEN];
    crypto_sha256(data, len, digest);
    int rc = crypto_key_sign(k->key, k->rng, digest, sig, err);
    if (rc == RC_OK && key_id)
        memcpy(key_id, k->id, SIGNKEY_ID_LEN + 1);
    return rc;
}

int signkey_public(store *st, const char *key_id, crypto_key **out, struct store_signing_key *rec,
                   char *err)
{
    *out = NULL;
    struct store_signing_key r;
    int rc = store_signing_key_get(st, key_id, &r, err);
    if (rc != RC_OK)
        return rc;
    crypto_key *key = NULL;
    char id[SIGNKEY_ID_LEN + 1];
    if (crypto_key_from_public_pem(r.public_key_pem, &key, err) != RC_OK ||
        signkey_key_id(key, id, err) != RC_OK || strcmp(id, r.key_id) != 0) {
        crypto_key_destroy(key);
        return rc_fail(err, RC_CORRUPT, "stored signing key %s does not load or has another id",
                       r.key_id);
    }
    if (rec)
        *rec = r;
    *out = key;
    return RC_OK;
}

int signkey_public_pem(signkey *k, char *out, size_t n, char *err)
{
    return crypto_key_public_pem(k->key, out, n, err);
}
