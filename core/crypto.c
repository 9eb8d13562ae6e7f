#include "crypto.h"

#include "crypto_key.h"
#include "file.h"

#include "rc.h"

#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- SHA-256, HMAC, hex ---------------------------------------------------------------- */

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
    /* Only fails on a hardware-accelerator error, which the software build cannot raise. */
    (void)mbedtls_sha256_ret(data, len, out, 0);
}

void crypto_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN + 1])
{
    uint8_t h[CRYPTO_SHA256_LEN];
    crypto_sha256(data, len, h);
    crypto_hex(h, sizeof h, out);
}

void crypto_sha256_init(struct crypto_sha256 *s)
{
    mbedtls_sha256_init(&s->ctx);
    (void)mbedtls_sha256_starts_ret(&s->ctx, 0);
}

void crypto_sha256_update(struct crypto_sha256 *s, const void *data, size_t len)
{
    (void)mbedtls_sha256_update_ret(&s->ctx, data, len);
}

void crypto_sha256_final(struct crypto_sha256 *s, uint8_t out[CRYPTO_SHA256_LEN])
{
    (void)mbedtls_sha256_finish_ret(&s->ctx, out);
    mbedtls_sha256_free(&s->ctx);
}

int crypto_sha256_file(const char *path, uint8_t out[CRYPTO_SHA256_LEN], uint64_t *bytes, char *err)
{
    int rc = RC_OK;
    uint8_t *buf = NULL;
    uint64_t total = 0;
    struct crypto_sha256 s;
    int started = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = rc_fail(err, errno == ENOENT ? RC_NOTFOUND : RC_IO, "cannot open %s: %s", path,
                     strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = rc_fail(err, RC_IO, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    /* A FIFO or device could block forever or never end. */
    if (!S_ISREG(st.st_mode)) {
        rc = rc_fail(err, RC_INVAL, "%s is not a regular file", path);
        goto out;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf = malloc(CRYPTO_FILE_BUF);
    if (!buf) {
        rc = rc_fail(err, RC_NOMEM, "out of memory hashing %s", path);
        goto out;
    }
    crypto_sha256_init(&s);
    started = 1;
    for (;;) {
        ssize_t n = read(fd, buf, CRYPTO_FILE_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = rc_fail(err, RC_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        crypto_sha256_update(&s, buf, (size_t)n);
        total += (uint64_t)n;
    }
    crypto_sha256_final(&s, out);
    started = 0;
    if (bytes)
        *bytes = total;
out:
    if (started)
        mbedtls_sha256_free(&s.ctx);
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       uint8_t out[CRYPTO_SHA256_LEN], char *err)
{
    static const uint8_t empty[1] = {0};
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    int ret = mbedtls_md_hmac(md, key ? key : empty, keylen, data ? data : empty, len, out);
    if (ret == MBEDTLS_ERR_MD_ALLOC_FAILED)
        return rc_fail(err, RC_NOMEM, "out of memory computing HMAC");
    if (ret != 0)
        return rc_fail(err, RC_CRYPTO, "HMAC-SHA-256 failed (mbedtls -0x%04x)", (unsigned)-ret);
    return RC_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int crypto_unhex(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return RC_INVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return RC_INVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return RC_OK;
}

/* ---- base64 ------------------------------------------------------------------------------ */

size_t crypto_base64_size(size_t n)
{
    return 4 * ((n + 2) / 3) + 1;
}

int crypto_base64_encode(const uint8_t *in, size_t n, char *out, size_t outsz, char *err)
{
    if (n > (SIZE_MAX / 4 - 1) || outsz < crypto_base64_size(n))
        return rc_fail(err, RC_LIMIT, "base64 of %zu bytes does not fit in %zu bytes", n, outsz);
    size_t olen = 0;
    out[0] = '\0'; /* mbedTLS writes nothing at all for n == 0 */
    int ret = mbedtls_base64_encode((unsigned char *)out, outsz, &olen, in, n);
    if (ret != 0)
        return rc_fail(err, RC_LIMIT, "base64 encoding failed (mbedtls -0x%04x)", (unsigned)-ret);
    return RC_OK;
}

/* Value of a base64 alphabet character, -1 otherwise. */
static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int crypto_base64_decode(const char *in, uint8_t *out, size_t outsz, size_t *outlen, char *err)
{
    size_t len = strnlen(in, (size_t)CRYPTO_B64_MAX_IN + 1);
    if (len > CRYPTO_B64_MAX_IN)
        return rc_fail(err, RC_LIMIT, "base64 text longer than %d characters", CRYPTO_B64_MAX_IN);
    /* mbedTLS skips line breaks and spaces and tolerates missing padding; we do not. */
    if (len % 4 != 0)
        return rc_fail(err, RC_INVAL, "base64 length %zu is not a multiple of 4", len);
    size_t pad = 0;
    if (len >= 1 && in[len - 1] == '=')
        pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
    for (size_t i = 0; i < len - pad; i++) {
        if (b64val(in[i]) < 0) {
            if (in[i] == '=')
                return rc_fail(err, RC_INVAL, "misplaced '=' at offset %zu in base64", i);
            return rc_fail(err, RC_INVAL, "invalid base64 character 0x%02x at offset %zu",
                           (unsigned)(unsigned char)in[i], i);
        }
    }
    /* The bits after the last byte must be zero, so each byte string has one encoding. */
    if (pad == 1 && (b64val(in[len - 2]) & 0x03) != 0)
        return rc_fail(err, RC_INVAL, "non-zero padding bits in base64");
    if (pad == 2 && (b64val(in[len - 3]) & 0x0f) != 0)
        return rc_fail(err, RC_INVAL, "non-zero padding bits in base64");
    size_t need = len / 4 * 3 - pad;
    if (need > outsz)
        return rc_fail(err, RC_LIMIT, "base64 decodes to %zu bytes, over the %zu allowed", need,
                       outsz);
    size_t olen = 0;
    int ret = mbedtls_base64_decode(out, outsz, &olen, (const unsigned char *)in, len);
    if (ret != 0 || olen != need)
        return rc_fail(err, RC_INVAL, "invalid base64 (mbedtls -0x%04x)", (unsigned)-ret);
    *outlen = olen;
    return RC_OK;
}

/* ---- random generator -------------------------------------------------------------------- */

struct crypto_rng {
    pthread_mutex_t mu;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    pid_t pid; /* a forked child must not repeat its parent's stream */
};

int crypto_rng_create(crypto_rng **out, char *err)
{
    static const char pers[] = "rollcall crypto_rng";
    int rc = RC_OK;
    crypto_rng *r = calloc(1, sizeof *r);
    if (!r)
        return rc_fail(err, RC_NOMEM, "out of memory creating the random generator");
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        mbedtls_ctr_drbg_free(&r->drbg);
        mbedtls_entropy_free(&r->entropy);
        free(r);
        return rc_fail(err, RC_NOMEM, "cannot create the random generator's mutex");
    }
    int ret = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                                    (const unsigned char *)pers, sizeof pers - 1);
    if (ret != 0) {
        rc = rc_fail(err, RC_CRYPTO,
                     "cannot seed the random generator from the OS (mbedtls -0x%04x)",
                     (unsigned)-ret);
        crypto_rng_destroy(r);
        return rc;
    }
    r->pid = getpid();
    *out = r;
    return RC_OK;
}

void crypto_rng_destroy(crypto_rng *rng)
{
    if (!rng)
        return;
    mbedtls_ctr_drbg_free(&rng->drbg);
    mbedtls_entropy_free(&rng->entropy);
    pthread_mutex_destroy(&rng->mu);
    mbedtls_platform_zeroize(rng, sizeof *rng);
    free(rng);
}

int crypto_random_bytes(void *out, size_t n, char *err)
{
    uint8_t *p = out;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return rc_fail(err, RC_IO, "getrandom: %s", strerror(errno));
        }
        got += (size_t)r;
    }
    return RC_OK;
}

int crypto_rng_bytes(crypto_rng *rng, void *buf, size_t n, char *err)
{
    int ret = 0;
    unsigned char *p = buf;
    pthread_mutex_lock(&rng->mu);
    pid_t pid = getpid();
    if (pid != rng->pid) {
        ret = mbedtls_ctr_drbg_reseed(&rng->drbg, NULL, 0);
        if (ret == 0)
            rng->pid = pid;
    }
    while (ret == 0 && n > 0) {
        size_t chunk = n < MBEDTLS_CTR_DRBG_MAX_REQUEST ? n : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        ret = mbedtls_ctr_drbg_random(&rng->drbg, p, chunk);
        p += chunk;
        n -= chunk;
    }
    pthread_mutex_unlock(&rng->mu);
    if (ret != 0)
        return rc_fail(err, RC_CRYPTO, "random generator failed (mbedtls -0x%04x)", (unsigned)-ret);
    return RC_OK;
}

/* mbedTLS's f_rng callback over a crypto_rng. */
static int rng_cb(void *ctx, unsigned char *buf, size_t len)
{
    return crypto_rng_bytes(ctx, buf, len, NULL) == RC_OK
               ? 0
               : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

/* ---- ECDSA P-256 keys -------------------------------------------------------------------- */

static int key_new(crypto_key **out, char *err)
{
    crypto_key *k = calloc(1, sizeof *k);
    if (!k)
        return rc_fail(err, RC_NOMEM, "out of memory creating a key");
    if (pthread_mutex_init(&k->mu, NULL) != 0) {
        free(k);
        return rc_fail(err, RC_NOMEM, "cannot create a key's mutex");
    }
    mbedtls_pk_init(&k->pk);
    *out = k;
    return RC_OK;
}

void crypto_key_destroy(crypto_key *key)
{
    if (!key)
        return;
    mbedtls_pk_free(&key->pk);
    if (key->verifier)
        key->verifier_free(key->verifier);
    pthread_mutex_destroy(&key->mu);
    mbedtls_platform_zeroize(key, sizeof *key);
    free(key);
}

int crypto_key_has_private(crypto_key *key)
{
    return key->has_private;
}

/* Refuses anything but an EC key on P-256. */
static int check_p256(mbedtls_pk_context *pk, const char *what, char *err)
{
    if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY)
        return rc_fail(err, RC_INVAL, "%s is a %s key, not an ECDSA P-256 key", what,
                       mbedtls_pk_get_name(pk));
    if (mbedtls_pk_ec(*pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        const mbedtls_ecp_curve_info *ci =
            mbedtls_ecp_curve_info_from_grp_id(mbedtls_pk_ec(*pk)->grp.id);
        return rc_fail(err, RC_INVAL, "%s is on curve %s, not P-256 (secp256r1)", what,
                       ci ? ci->name : "unknown");
    }
    return RC_OK;
}

int crypto_key_generate(crypto_rng *rng, crypto_key **out, char *err)
{
    crypto_key *k = NULL;
    int rc = key_new(&k, err);
    if (rc != RC_OK)
        return rc;
    int ret = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret == 0)
        ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk), rng_cb, rng);
    if (ret != 0) {
        rc = rc_fail(err, ret == MBEDTLS_ERR_PK_ALLOC_FAILED ? RC_NOMEM : RC_CRYPTO,
                     "cannot generate a P-256 key (mbedtls -0x%04x)", (unsigned)-ret);
        crypto_key_destroy(k);
        return rc;
    }
    k->has_private = 1;
    *out = k;
    return RC_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync the directory holding path so the new name survives a power cut. */
static void sync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1; /* "/key.pem" */
        if (n >= sizeof dir)
            return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

int crypto_key_save(crypto_key *key, const char *path, char *err)
{
    enum { PEM_MAX = 1024 }; /* a SEC 1 P-256 private key PEM is about 230 bytes */
    unsigned char pem[PEM_MAX];
    int rc = RC_OK;
    int fd = -1;
    int created = 0;
    if (!key->has_private)
        return rc_fail(err, RC_STATE, "cannot save %s: the key has no private part", path);
    pthread_mutex_lock(&key->mu);
    int ret = mbedtls_pk_write_key_pem(&key->pk, pem, sizeof pem);
    pthread_mutex_unlock(&key->mu);
    if (ret != 0) {
        rc = rc_fail(err, RC_CRYPTO, "cannot encode the private key (mbedtls -0x%04x)",
                     (unsigned)-ret);
        goto out;
    }
    /* O_EXCL refuses an existing file and (with O_CREAT) a symlink, even a dangling one. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            rc = rc_fail(err, RC_CONFLICT, "refusing to overwrite existing %s", path);
        else
            rc = rc_fail(err, RC_IO, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    created = 1;
    /* The umask could only narrow 0600; fchmod makes the mode exact. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, (const char *)pem, strlen((const char *)pem)) != 0 ||
        fsync(fd) != 0) {
        rc = rc_fail(err, RC_IO, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = rc_fail(err, RC_IO, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    sync_parent(path);
out:
    if (fd >= 0)
        close(fd);
    if (rc != RC_OK && created)
        unlink(path);
    mbedtls_platform_zeroize(pem, sizeof pem);
    return rc;
}

int crypto_key_load(const char *path, crypto_key **out, char *err)
{
    int rc = RC_OK;
    char *buf = NULL;
    size_t len = 0;
    crypto_key *k = NULL;
    rc = file_read_private(path, CRYPTO_KEY_FILE_MAX, &buf, &len, err);
    if (rc == RC_LIMIT)
        rc = rc_fail(err, RC_INVAL, "%s is larger than %d bytes: not a key file", path,
                     CRYPTO_KEY_FILE_MAX);
    if (rc != RC_OK)
        goto out;
    if (memchr(buf, '\0', len) || !strstr(buf, "-----BEGIN ")) {
        rc = rc_fail(err, RC_INVAL, "%s is not a PEM file", path);
        goto out;
    }
    rc = key_new(&k, err);
    if (rc != RC_OK)
        goto out;
    int ret = mbedtls_pk_parse_key(&k->pk, (const unsigned char *)buf, len + 1, NULL, 0);
    if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
        rc = rc_fail(err, RC_INVAL, "%s is encrypted: only unencrypted keys are supported", path);
        goto out;
    }
    if (ret != 0) {
        rc = rc_fail(err, RC_INVAL, "%s holds no valid private key (mbedtls -0x%04x)", path,
                     (unsigned)-ret);
        goto out;
    }
    rc = check_p256(&k->pk, path, err);
    if (rc != RC_OK)
        goto out;
    k->has_private = 1;
    *out = k;
    k = NULL;
out:
    crypto_key_destroy(k);
    if (buf) {
        mbedtls_platform_zeroize(buf, len + 1);
        free(buf);
    }
    return rc;
}

int crypto_key_public_pem(crypto_key *key, char *out, size_t outsz, char *err)
{
    pthread_mutex_lock(&key->mu);
    int ret = mbedtls_pk_write_pubkey_pem(&key->pk, (unsigned char *)out, outsz);
    pthread_mutex_unlock(&key->mu);
    if (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
        return rc_fail(err, RC_LIMIT, "public key PEM does not fit in %zu bytes", outsz);
    if (ret != 0)
        return rc_fail(err, RC_CRYPTO, "cannot encode the public key (mbedtls -0x%04x)",
                       (unsigned)-ret);
    return RC_OK;
}

int crypto_key_from_public_pem(const char *pem, crypto_key **out, char *err)
{
    static const char begin[] = "-----BEGIN PUBLIC KEY-----";
    crypto_key *k = NULL;
    size_t len = strnlen(pem, CRYPTO_PUBKEY_PEM_MAX);
    if (len >= CRYPTO_PUBKEY_PEM_MAX)
        return rc_fail(err, RC_INVAL, "public key PEM longer than %d bytes",
                       CRYPTO_PUBKEY_PEM_MAX - 1);
    /* mbedTLS would also take DER or an "RSA PUBLIC KEY"; we take one SubjectPublicKeyInfo. */
    if (strncmp(pem, begin, sizeof begin - 1) != 0)
        return rc_fail(err, RC_INVAL, "public key does not start with %s", begin);
    int rc = key_new(&k, err);
    if (rc != RC_OK)
        return rc;
    int ret = mbedtls_pk_parse_public_key(&k->pk, (const unsigned char *)pem, len + 1);
    if (ret != 0) {
        rc = rc_fail(err, RC_INVAL, "invalid public key PEM (mbedtls -0x%04x)", (unsigned)-ret);
        goto out;
    }
    rc = check_p256(&k->pk, "public key", err);
    if (rc != RC_OK)
        goto out;
    *out = k;
    k = NULL;
out:
    crypto_key_destroy(k);
    return rc;
}

int crypto_key_sign(crypto_key *key, crypto_rng *rng, const uint8_t hash[CRYPTO_SHA256_LEN],
                    char out[CRYPTO_SIG_B64_MAX + 1], char *err)
{
    unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t siglen = 0;
    if (!key->has_private)
        return rc_fail(err, RC_STATE, "cannot sign with a public key");
    /* With MBEDTLS_ECDSA_DETERMINISTIC (Debian's build) k comes from RFC 6979; rng only
     * blinds the scalar multiplication. */
    pthread_mutex_lock(&key->mu);
    int ret = mbedtls_pk_sign(&key->pk, MBEDTLS_MD_SHA256, hash, CRYPTO_SHA256_LEN, sig, &siglen,
                              rng_cb, rng);
    pthread_mutex_unlock(&key->mu);
    if (ret != 0)
        return rc_fail(err, RC_CRYPTO, "ECDSA signing failed (mbedtls -0x%04x)", (unsigned)-ret);
    if (siglen > CRYPTO_SIG_DER_MAX)
        return rc_fail(err, RC_CRYPTO, "unexpected signature length %zu", siglen);
    return crypto_base64_encode(sig, siglen, out, CRYPTO_SIG_B64_MAX + 1, err);
}

/* SHA-256 of the key's SubjectPublicKeyInfo DER. */
static int spki_hash(crypto_key *key, uint8_t h[CRYPTO_SHA256_LEN], char *err)
{
    unsigned char der[CRYPTO_PUBKEY_PEM_MAX];
    pthread_mutex_lock(&key->mu);
    int n = mbedtls_pk_write_pubkey_der(&key->pk, der, sizeof der);
    pthread_mutex_unlock(&key->mu);
    if (n <= 0)
        return rc_fail(err, RC_CRYPTO, "cannot encode the public key (mbedtls -0x%04x)",
                       (unsigned)-n);
    /* mbedTLS writes DER backwards, at the end of the buffer. */
    crypto_sha256(der + sizeof der - (size_t)n, (size_t)n, h);
    return RC_OK;
}

int crypto_key_fingerprint(crypto_key *key, char out[CRYPTO_SHA256_HEX_LEN + 1], char *err)
{
    uint8_t h[CRYPTO_SHA256_LEN];
    int rc = spki_hash(key, h, err);
    if (rc == RC_OK)
        crypto_hex(h, sizeof h, out);
    return rc;
}

int crypto_key_pin(crypto_key *key, char out[CRYPTO_PIN_LEN + 1], char *err)
{
    static const char prefix[] = "sha256//";
    uint8_t h[CRYPTO_SHA256_LEN];
    int rc = spki_hash(key, h, err);
    if (rc != RC_OK)
        return rc;
    memcpy(out, prefix, sizeof prefix - 1);
    return crypto_base64_encode(h, sizeof h, out + sizeof prefix - 1,
                                CRYPTO_PIN_LEN + 1 - (sizeof prefix - 1), err);
}
