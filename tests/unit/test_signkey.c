/* labels: collector */
/* evidence/signkey: the collector's signing key against a real SQLite store and key files in a
 * temporary directory. A signature made by the module verifies with crypto_key_verify (the
 * public key looked up by the returned key id) and with `openssl dgst -sha256 -verify`; the key
 * id is the start of the public key's fingerprint; create refuses a second key, rotate keeps
 * the old public key and the old signatures verifiable; a key file open to group or others,
 * or not the database's current key, is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "evidence/signkey.h"
#include "rc.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSG "{\"manifest\":1,\"events\":42}\n"
#define T0 INT64_C(1793580912345)

struct fx {
    char dir[64], db[128], url[160], key[192], file[192];
    store *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[ERR_LEN];
    snprintf(f->dir, sizeof f->dir, "/tmp/rc-signkey-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/server.db", f->dir);
    snprintf(f->url, sizeof f->url, "sqlite:%s", f->db);
    snprintf(f->key, sizeof f->key, "%s.signing.key", f->db);
    if (store_open(f->url, STORE_OPEN_CREATE, &f->st, err) != RC_OK ||
        store_migrate(f->st, NULL, NULL, err) != RC_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* openssl dgst -sha256 -verify over MSG with the public key PEM and the base64 signature. */
static int openssl_verifies(struct fx *f, const char *pem, const char *sig_b64)
{
    char pub[256], sig[256], msg[256], cmd[1200], err[ERR_LEN];
    uint8_t der[CRYPTO_SIG_DER_MAX];
    size_t n = 0;
    snprintf(pub, sizeof pub, "%s/pub.pem", f->dir);
    snprintf(sig, sizeof sig, "%s/sig.der", f->dir);
    snprintf(msg, sizeof msg, "%s/msg", f->dir);
    write_file(pub, pem, strlen(pem));
    assert_int_equal(crypto_base64_decode(sig_b64, der, sizeof der, &n, err), RC_OK);
    write_file(sig, der, n);
    write_file(msg, MSG, strlen(MSG));
    snprintf(cmd, sizeof cmd, "openssl dgst -sha256 -verify '%s' -signature '%s' '%s' >/dev/null",
             pub, sig, msg);
    return system(cmd);
}

static void default_path_is_beside_the_database(void **state)
{
    (void)state;
    char p[SIGNKEY_PATH_MAX], err[ERR_LEN];
    assert_int_equal(signkey_default_path("sqlite:/var/lib/rollcall/server.db", p, err), RC_OK);
    assert_string_equal(p, "/var/lib/rollcall/server.db.signing.key");
    assert_int_equal(signkey_default_path("postgresql://db/rollcall", p, err), RC_INVAL);
    assert_non_null(strstr(err, "--signing-key"));
    assert_int_equal(signkey_default_path("sqlite:", p, err), RC_INVAL);
}

static void signatures_verify_with_crypto_and_openssl(void **state)
{
    struct fx *f = *state;
    char err[ERR_LEN], id[SIGNKEY_ID_LEN + 1], sig_id[SIGNKEY_ID_LEN + 1];
    char sig[CRYPTO_SIG_B64_MAX + 1];
    signkey *k = NULL;
    /* Nothing to load before create. */
    assert_int_equal(signkey_load(f->st, f->key, &k, err), RC_NOTFOUND);
    assert_int_equal(signkey_create(f->st, f->key, T0, id, err), RC_OK);
    struct stat sb;
    assert_int_equal(stat(f->key, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(strlen(id), SIGNKEY_ID_LEN);

    assert_int_equal(signkey_load(f->st, f->key, &k, err), RC_OK);
    assert_string_equal(signkey_id(k), id);
    assert_int_equal(signkey_sign(k, MSG, strlen(MSG), sig, sig_id, err), RC_OK);
    assert_string_equal(sig_id, id);
    signkey_free(k);

    /* The public key by id: verifies with crypto_key_verify, and the id is the start of its
     * fingerprint. */
    crypto_key *pub = NULL;
    struct store_signing_key rec;
    assert_int_equal(signkey_public(f->st, sig_id, &pub, &rec, err), RC_OK);
    uint8_t digest[CRYPTO_SHA256_LEN];
    crypto_sha256(MSG, strlen(MSG), digest);
    assert_int_equal(crypto_key_verify(pub, digest, sig, err), RC_OK);
    char fp[CRYPTO_SHA256_HEX_LEN + 1];
    assert_int_equal(crypto_key_fingerprint(pub, fp, err), RC_OK);
    assert_memory_equal(fp, id, SIGNKEY_ID_LEN);
    crypto_key_destroy(pub);
    assert_int_equal(rec.created_at_ms, T0);
    assert_int_equal(rec.retired_at_ms, 0);
    /* And with openssl, from the stored public key PEM; a changed message does not. */
    assert_int_equal(openssl_verifies(f, rec.public_key_pem, sig), 0);
    digest[0] ^= 1;
    assert_int_equal(signkey_public(f->st, sig_id, &pub, NULL, err), RC_OK);
    assert_int_equal(crypto_key_verify(pub, digest, sig, err), RC_CRYPTO);
    crypto_key_destroy(pub);
    assert_int_equal(signkey_public(f->st, "0000000000000000", &pub, NULL, err), RC_NOTFOUND);
    assert_null(pub);
}

static void create_once_rotate_keeps_old_keys(void **state)
{
    struct fx *f = *state;
    char err[ERR_LEN], id1[SIGNKEY_ID_LEN + 1], id2[SIGNKEY_ID_LEN + 1], other[192];
    char sig1[CRYPTO_SIG_B64_MAX + 1], sig2[CRYPTO_SIG_B64_MAX + 1], sid[SIGNKEY_ID_LEN + 1];
    signkey *k = NULL;
    assert_int_equal(signkey_rotate(f->st, f->key, T0, id1, err), RC_NOTFOUND);
    assert_non_null(strstr(err, "create"));
    assert_int_equal(signkey_create(f->st, f->key, T0, id1, err), RC_OK);
    assert_int_equal(signkey_load(f->st, f->key, &k, err), RC_OK);
    assert_int_equal(signkey_sign(k, MSG, strlen(MSG), sig1, NULL, err), RC_OK);
    signkey_free(k);
    /* A second create is refused, even into another file, and changes nothing. */
    snprintf(other, sizeof other, "%s/other.key", f->dir);
    assert_int_equal(signkey_create(f->st, other, T0 + 1, id2, err), RC_CONFLICT);
    assert_non_null(strstr(err, "rotate"));
    assert_int_equal(access(other, F_OK), -1);

    assert_int_equal(signkey_rotate(f->st, f->key, T0 + 1000, id2, err), RC_OK);
    assert_string_not_equal(id1, id2);
    struct stat sb;
    assert_int_equal(stat(f->key, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    char next[256];
    snprintf(next, sizeof next, "%s.new", f->key);
    assert_int_equal(access(next, F_OK), -1);
    assert_int_equal(signkey_load(f->st, f->key, &k, err), RC_OK);
    assert_int_equal(signkey_sign(k, MSG, strlen(MSG), sig2, sid, err), RC_OK);
    assert_string_equal(sid, id2);
    signkey_free(k);
    /* The old public key stays, retired at the rotation; the old signature still verifies. */
    crypto_key *pub = NULL;
    struct store_signing_key rec;
    uint8_t digest[CRYPTO_SHA256_LEN];
    crypto_sha256(MSG, strlen(MSG), digest);
    assert_int_equal(signkey_public(f->st, id1, &pub, &rec, err), RC_OK);
    assert_int_equal(rec.retired_at_ms, T0 + 1000);
    assert_int_equal(crypto_key_verify(pub, digest, sig1, err), RC_OK);
    assert_int_equal(crypto_key_verify(pub, digest, sig2, err), RC_CRYPTO);
    crypto_key_destroy(pub);
    assert_int_equal(openssl_verifies(f, rec.public_key_pem, sig1), 0);
    assert_int_not_equal(openssl_verifies(f, rec.public_key_pem, sig2), 0);

    /* A leftover FILE.new (an interrupted rotation) stops the next rotation. */
    write_file(next, "x", 1);
    assert_int_equal(signkey_rotate(f->st, f->key, T0 + 2000, id1, err), RC_CONFLICT);
    assert_non_null(strstr(err, ".new"));
    unlink(next);
}

static void open_or_foreign_key_files_are_refused(void **state)
{
    struct fx *f = *state;
    char err[ERR_LEN], id[SIGNKEY_ID_LEN + 1], stray[192];
    signkey *k = NULL;
    assert_int_equal(signkey_create(f->st, f->key, T0, id, err), RC_OK);
    assert_int_equal(chmod(f->key, 0644), 0);
    assert_int_equal(signkey_load(f->st, f->key, &k, err), RC_AUTH);
    assert_null(k);
    char want[300];
    snprintf(want, sizeof want, "run 'chmod 600 %s'", f->key);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "0644"));
    assert_int_equal(chmod(f->key, 0600), 0);
    assert_int_equal(signkey_load(f->st, f->key, &k, err), RC_OK);
    signkey_free(k);
    /* A valid key that is not the database's current one. */
    crypto_rng *rng = NULL;
    crypto_key *key = NULL;
    snprintf(stray, sizeof stray, "%s/stray.key", f->dir);
    assert_int_equal(crypto_rng_create(&rng, err), RC_OK);
    assert_int_equal(crypto_key_generate(rng, &key, err), RC_OK);
    assert_int_equal(crypto_key_save(key, stray, err), RC_OK);
    crypto_key_destroy(key);
    crypto_rng_destroy(rng);
    assert_int_equal(signkey_load(f->st, stray, &k, err), RC_CONFLICT);
    assert_non_null(strstr(err, id));
    /* A missing file. */
    assert_int_equal(unlink(f->key), 0);
    assert_int_equal(signkey_load(f->st, f->key, &k, err), RC_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_path_is_beside_the_database),
        cmocka_unit_test_setup_teardown(signatures_verify_with_crypto_and_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(create_once_rotate_keeps_old_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(open_or_foreign_key_files_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
