/* crypto: known-answer vectors from the standards (FIPS 180-2, RFC 4231, RFC 4648, RFC 6979)
 * and interoperation with the openssl, sha256sum and base64 command-line tools, run at test
 * time in a scratch directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "rc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PATH_LEN = 512, CMD_LEN = 2048 };

static char tmpdir[] = "/tmp/rollcall-test-crypto-XXXXXX";
static crypto_rng *rng;

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    char err[ERR_LEN];
    return crypto_rng_create(&rng, err) == RC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    crypto_rng_destroy(rng);
    char cmd[CMD_LEN];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Path of name inside the scratch directory. */
static const char *tmp(const char *name)
{
    static char paths[8][PATH_LEN];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, PATH_LEN, "%s/%s", tmpdir, name);
    return p;
}

/* Runs a shell command (cwd = scratch dir, output silenced); returns its exit status. */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char body[CMD_LEN], cmd[CMD_LEN + PATH_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && { %s ; } >/dev/null 2>&1", tmpdir, body);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Reads a whole small file into buf as a string (trailing newlines removed). */
static void read_text(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
}

static void unhex_into(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(crypto_unhex(hex, out, n), RC_OK);
}

/* ---- SHA-256 (FIPS 180-2 appendix B) ----------------------------------------------------- */

static const char *const abc_hash =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *const two_block_msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char *const two_block_hash =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
static const char *const million_a_hash =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void sha256_fips_vectors(void **state)
{
    (void)state;
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, abc_hash);
    crypto_sha256_hex(two_block_msg, strlen(two_block_msg), hex);
    assert_string_equal(hex, two_block_hash);

    enum { MILLION = 1000000 };
    char *a = malloc(MILLION);
    assert_non_null(a);
    memset(a, 'a', MILLION);
    crypto_sha256_hex(a, MILLION, hex);
    assert_string_equal(hex, million_a_hash);

    /* Incremental, in uneven pieces that straddle the 64-byte blocks. */
    struct crypto_sha256 s;
    uint8_t h[CRYPTO_SHA256_LEN];
    crypto_sha256_init(&s);
    size_t off = 0, piece = 1;
    while (off < MILLION) {
        size_t n = piece < MILLION - off ? piece : MILLION - off;
        crypto_sha256_update(&s, a + off, n);
        off += n;
        piece = piece * 7 % 1013 + 1;
    }
    crypto_sha256_final(&s, h);
    crypto_hex(h, sizeof h, hex);
    assert_string_equal(hex, million_a_hash);
    free(a);

    crypto_sha256_init(&s);
    crypto_sha256_update(&s, "", 0);
    crypto_sha256_final(&s, h);
    crypto_hex(h, sizeof h, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void sha256_file_matches_sha256sum(void **state)
{
    (void)state;
    char err[ERR_LEN];
    /* 5 MiB + 12345 bytes: several read buffers and a partial last one. */
    const size_t size = 5 * 1024 * 1024 + 12345;
    uint8_t *data = malloc(size);
    assert_non_null(data);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (uint8_t)x;
    }
    write_file(tmp("big.bin"), data, size);
    free(data);
    assert_int_equal(sh("sha256sum big.bin | cut -c1-64 > big.sum"), 0);
    char want[128];
    read_text(tmp("big.sum"), want, sizeof want);

    uint8_t h[CRYPTO_SHA256_LEN];
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    uint64_t bytes = 0;
    assert_int_equal(crypto_sha256_file(tmp("big.bin"), h, &bytes, err), RC_OK);
    crypto_hex(h, sizeof h, hex);
    assert_string_equal(hex, want);
    assert_int_equal(bytes, size);

    write_file(tmp("empty.bin"), "", 0);
    assert_int_equal(crypto_sha256_file(tmp("empty.bin"), h, &bytes, err), RC_OK);
    crypto_hex(h, sizeof h, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(bytes, 0);

    assert_int_equal(crypto_sha256_file(tmp("missing.bin"), h, &bytes, err), RC_NOTFOUND);
    assert_int_equal(crypto_sha256_file(tmpdir, h, &bytes, err), RC_INVAL);
    assert_non_null(strstr(err, "not a regular file"));
}

/* ---- HMAC-SHA-256 (RFC 4231 section 4) --------------------------------------------------- */

static void hmac_rfc4231(void **state)
{
    (void)state;
    char err[ERR_LEN];
    uint8_t key[131], data[152], mac[CRYPTO_SHA256_LEN];
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    struct {
        size_t keylen;
        int keybyte; /* -1: 0x01, 0x02, ... (case 4); -2: "Jefe" */
        size_t datalen;
        int databyte; /* -1: the text in `text` */
        const char *text;
        const char *mac; /* case 5 is truncated to 128 bits */
    } cases[] = {
        {20, 0x0b, 0, -1, "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {4, -2, 0, -1, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {20, 0xaa, 50, 0xdd, NULL,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {25, -1, 50, 0xcd, NULL,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {20, 0x0c, 0, -1, "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
        {131, 0xaa, 0, -1, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {131, 0xaa, 0, -1,
         "This is a test using a larger than block-size key and a larger than block-size "
         "data. The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t i = 0; i < cases[c].keylen; i++)
            key[i] = cases[c].keybyte >= 0 ? (uint8_t)cases[c].keybyte : (uint8_t)(i + 1);
        if (cases[c].keybyte == -2)
            memcpy(key, "Jefe", 4);
        size_t datalen = cases[c].datalen;
        if (cases[c].text) {
            datalen = strlen(cases[c].text);
            memcpy(data, cases[c].text, datalen);
        } else {
            memset(data, cases[c].databyte, datalen);
        }
        assert_int_equal(crypto_hmac_sha256(key, cases[c].keylen, data, datalen, mac, err), RC_OK);
        crypto_hex(mac, sizeof mac, hex);
        size_t want = strlen(cases[c].mac);
        hex[want] = '\0';
        assert_string_equal(hex, cases[c].mac);
    }
}

/* ---- base64 (RFC 4648 section 10) -------------------------------------------------------- */

static void base64_rfc4648(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char err[ERR_LEN], out[16];
    uint8_t bin[16];
    size_t n = 99;
    for (size_t i = 0; i < 7; i++) {
        size_t len = strlen(plain[i]);
        assert_int_equal(crypto_base64_size(len), strlen(coded[i]) + 1);
        assert_int_equal(crypto_base64_encode((const uint8_t *)plain[i], len, out, sizeof out, err),
                         RC_OK);
        assert_string_equal(out, coded[i]);
        assert_int_equal(crypto_base64_decode(coded[i], bin, sizeof bin, &n, err), RC_OK);
        assert_int_equal(n, len);
        assert_memory_equal(bin, plain[i], len);
    }
    /* All 64 characters of the alphabet, one byte string each. */
    assert_int_equal(crypto_base64_decode("+/+/", bin, sizeof bin, &n, err), RC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(bin[0], 0xfb);
    assert_int_equal(bin[1], 0xff);
    assert_int_equal(bin[2], 0xbf);

    static const char *const bad[] = {
        "Zg",                                            /* missing padding */
        "Zg=",                                           /* short padding */
        "Zg===",                                         /* too much padding */
        "Z===",                                          /* three '=' */
        "====",                                          /* only padding */
        "=Zg=",                                          /* leading '=' */
        "Zg==Zm8=",                                      /* padding in the middle */
        "Zm9v\n",                                        /* line break */
        "Zm9v\r\nZg==", "Zm 9v",       " Zm9v", "Zm9v ", /* whitespace */
        "Zm-v",                                          /* base64url alphabet */
        "Zm_v",         "Zm9\xc3\xa9", "Zh==",           /* "f" with non-zero padding bits */
        "Zm9=",                                          /* "fo" with non-zero padding bits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(crypto_base64_decode(bad[i], bin, sizeof bin, &n, err), RC_INVAL);
        assert_true(strlen(err) > 0);
    }
    /* Output too small. */
    assert_int_equal(crypto_base64_decode("Zm9vYmFy", bin, 5, &n, err), RC_LIMIT);
    assert_int_equal(crypto_base64_encode((const uint8_t *)"foobar", 6, out, 8, err), RC_LIMIT);
}

/* ---- random generator -------------------------------------------------------------------- */

enum { RNG_THREADS = 4, RNG_DRAWS = 2000 };

static void *draw_many(void *arg)
{
    uint8_t *out = arg;
    for (int i = 0; i < RNG_DRAWS; i++)
        if (crypto_rng_bytes(rng, out + (size_t)i * 16, 16, NULL) != RC_OK)
            return arg;
    return NULL;
}

static int cmp16(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

static void rng_is_distinct_across_threads_and_fork(void **state)
{
    (void)state;
    char err[ERR_LEN];
    /* More than one CTR-DRBG request (1024 bytes) in a call. */
    enum { BIG = 5000 };
    uint8_t *a = calloc(1, BIG), *b = calloc(1, BIG);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(crypto_rng_bytes(rng, a, BIG, err), RC_OK);
    assert_int_equal(crypto_rng_bytes(rng, b, BIG, err), RC_OK);
    assert_memory_not_equal(a, b, BIG);
    /* The tail was filled too (all zero has probability 2^-8000). */
    static const uint8_t zero[1024];
    assert_memory_not_equal(a + BIG - 1024, zero, 1024);
    free(a);
    free(b);

    /* Concurrent callers never get the same 16 bytes. */
    uint8_t *all = malloc((size_t)RNG_THREADS * RNG_DRAWS * 16);
    assert_non_null(all);
    pthread_t t[RNG_THREADS];
    for (int i = 0; i < RNG_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, draw_many, all + (size_t)i * RNG_DRAWS * 16),
                         0);
    for (int i = 0; i < RNG_THREADS; i++) {
        void *res = &res;
        assert_int_equal(pthread_join(t[i], &res), 0);
        assert_null(res);
    }
    qsort(all, (size_t)RNG_THREADS * RNG_DRAWS, 16, cmp16);
    for (size_t i = 1; i < (size_t)RNG_THREADS * RNG_DRAWS; i++)
        assert_memory_not_equal(all + (i - 1) * 16, all + i * 16, 16);
    free(all);

    /* A forked child does not replay the parent's stream. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t c[32];
        int ok = crypto_rng_bytes(rng, c, sizeof c, NULL) == RC_OK &&
                 write(fds[1], c, sizeof c) == (ssize_t)sizeof c;
        _exit(ok ? 0 : 1);
    }
    uint8_t p[32], c[32];
    assert_int_equal(crypto_rng_bytes(rng, p, sizeof p, err), RC_OK);
    assert_int_equal(read(fds[0], c, sizeof c), (ssize_t)sizeof c);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fds[0]);
    close(fds[1]);
    assert_memory_not_equal(p, c, sizeof p);
}

/* ---- ECDSA P-256 --------------------------------------------------------------------------- */

static const char message[] = "{\"id\":\"017f22e2-79b0-7cc3-98c4-dc0c0c07398f\",\"seq\":42}";

static void flip_last_bit(const char *b64, char out[CRYPTO_SIG_B64_MAX + 1])
{
    uint8_t der[CRYPTO_SIG_DER_MAX];
    size_t n = 0;
    assert_int_equal(crypto_base64_decode(b64, der, sizeof der, &n, NULL), RC_OK);
    der[n - 1] ^= 0x01; /* inside s: the DER stays well-formed */
    assert_int_equal(crypto_base64_encode(der, n, out, CRYPTO_SIG_B64_MAX + 1, NULL), RC_OK);
}

static void openssl_signature_verifies_here(void **state)
{
    (void)state;
    char err[ERR_LEN], sig[256], pem[CRYPTO_PUBKEY_PEM_MAX];
    uint8_t hash[CRYPTO_SHA256_LEN];
    write_file(tmp("msg.bin"), message, strlen(message));
    crypto_sha256(message, strlen(message), hash);
    assert_int_equal(sh("openssl ecparam -name prime256v1 -genkey -noout -out ossl.pem && "
                        "chmod 600 ossl.pem && openssl ec -in ossl.pem -pubout -out ossl.pub && "
                        "openssl dgst -sha256 -sign ossl.pem -out ossl.sig msg.bin && "
                        "base64 -w0 ossl.sig > ossl.sig.b64"),
                     0);
    read_text(tmp("ossl.sig.b64"), sig, sizeof sig);
    read_text(tmp("ossl.pub"), pem, sizeof pem);

    crypto_key *pub = NULL, *priv = NULL, *other = NULL;
    assert_int_equal(crypto_key_from_public_pem(pem, &pub, err), RC_OK);
    assert_false(crypto_key_has_private(pub));
    assert_int_equal(crypto_key_verify(pub, hash, sig, err), RC_OK);

    /* The private key file openssl wrote loads, and its public half is the same key. */
    assert_int_equal(crypto_key_load(tmp("ossl.pem"), &priv, err), RC_OK);
    char mine[CRYPTO_PUBKEY_PEM_MAX];
    assert_int_equal(crypto_key_public_pem(priv, mine, sizeof mine, err), RC_OK);
    while (strlen(mine) > 0 && mine[strlen(mine) - 1] == '\n')
        mine[strlen(mine) - 1] = '\0';
    assert_string_equal(mine, pem);
    assert_int_equal(crypto_key_verify(priv, hash, sig, err), RC_OK);

    /* Fingerprint and libcurl pin against openssl's own encoding of the key. */
    assert_int_equal(sh("openssl pkey -pubin -in ossl.pub -outform DER > ossl.pub.der && "
                        "sha256sum ossl.pub.der | cut -c1-64 > ossl.fp && "
                        "openssl dgst -sha256 -binary ossl.pub.der | base64 -w0 > ossl.pin"),
                     0);
    char want[128], fp[CRYPTO_SHA256_HEX_LEN + 1], pin[CRYPTO_PIN_LEN + 1];
    read_text(tmp("ossl.fp"), want, sizeof want);
    assert_int_equal(crypto_key_fingerprint(pub, fp, err), RC_OK);
    assert_string_equal(fp, want);
    read_text(tmp("ossl.pin"), want, sizeof want);
    assert_int_equal(crypto_key_pin(pub, pin, err), RC_OK);
    assert_int_equal(strlen(pin), CRYPTO_PIN_LEN);
    assert_memory_equal(pin, "sha256//", 8);
    assert_string_equal(pin + 8, want);

    /* Refusals: a flipped bit, another message, another key. */
    char flipped[CRYPTO_SIG_B64_MAX + 1];
    flip_last_bit(sig, flipped);
    assert_int_equal(crypto_key_verify(pub, hash, flipped, err), RC_CRYPTO);
    uint8_t other_hash[CRYPTO_SHA256_LEN];
    memcpy(other_hash, hash, sizeof hash);
    other_hash[0] ^= 0x80;
    assert_int_equal(crypto_key_verify(pub, other_hash, sig, err), RC_CRYPTO);
    assert_string_equal(err, "signature does not verify");
    assert_int_equal(crypto_key_generate(rng, &other, err), RC_OK);
    assert_int_equal(crypto_key_verify(other, hash, sig, err), RC_CRYPTO);

    /* Malformed signatures: bad base64, truncated DER, trailing bytes, empty, line breaks. */
    uint8_t der[CRYPTO_SIG_DER_MAX + 3];
    size_t n = 0;
    char b64[CRYPTO_SIG_B64_MAX + 8];
    assert_int_equal(crypto_base64_decode(sig, der, sizeof der, &n, err), RC_OK);
    assert_int_equal(crypto_base64_encode(der, n - 1, b64, sizeof b64, err), RC_OK);
    assert_int_equal(crypto_key_verify(pub, hash, b64, err), RC_INVAL);
    der[n] = 0x00;
    assert_int_equal(crypto_base64_encode(der, n + 1, b64, sizeof b64, err), RC_OK);
    assert_int_equal(crypto_key_verify(pub, hash, b64, err), RC_INVAL);
    assert_int_equal(crypto_key_verify(pub, hash, "", err), RC_INVAL);
    assert_int_equal(crypto_key_verify(pub, hash, "not base64!", err), RC_INVAL);
    char lined[CRYPTO_SIG_B64_MAX + 8];
    snprintf(lined, sizeof lined, "%.40s\n%.60s", sig, sig + 40);
    assert_int_equal(crypto_key_verify(pub, hash, lined, err), RC_INVAL);
    char huge[200];
    memset(huge, 'A', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(crypto_key_verify(pub, hash, huge, err), RC_INVAL);

    crypto_key_destroy(pub);
    crypto_key_destroy(priv);
    crypto_key_destroy(other);
}

/* The order n of P-256 (SEC 2 version 2, section 2.4.2; FIPS 186-4 D.1.2.3). */
static const uint8_t P256_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* r and s of a DER signature (SEQUENCE of two INTEGERs, as crypto_key_sign writes it) as
 * 32-byte big-endian numbers. */
static void der_split(const uint8_t *der, size_t n, uint8_t r[32], uint8_t s[32])
{
    assert_true(n > 6 && der[0] == 0x30 && der[1] == n - 2);
    size_t at = 2;
    uint8_t *out[2] = {r, s};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(der[at], 0x02);
        size_t len = der[at + 1];
        const uint8_t *v = der + at + 2;
        while (len > 32) {
            assert_int_equal(*v, 0);
            v++;
            len--;
        }
        memset(out[i], 0, 32);
        memcpy(out[i] + 32 - len, v, len);
        at += 2 + der[at + 1];
    }
    assert_int_equal(at, n);
}

/* Appends an INTEGER of the 32-byte value v: minimal (pad 1: a 0x00 before a set top bit), or
 * with pad extra zero bytes in front (pad 2: one too many), or none (pad 0). */
static size_t put_int(uint8_t *out, const uint8_t v[32], int pad)
{
    size_t skip = 0;
    while (skip < 31 && v[skip] == 0)
        skip++;
    size_t zeros = pad == 2 ? 1 + (v[skip] & 0x80 ? 1 : 0) : pad == 1 && (v[skip] & 0x80) ? 1 : 0;
    size_t len = zeros + 32 - skip;
    out[0] = 0x02;
    out[1] = (uint8_t)len;
    memset(out + 2, 0, zeros);
    memcpy(out + 2 + zeros, v + skip, 32 - skip);
    return 2 + len;
}

/* base64 of SEQUENCE { INTEGER r, INTEGER s, tail } (INTEGER forms as put_int). */
static void sig_b64(const uint8_t r[32], int rpad, const uint8_t s[32], const uint8_t *tail,
                    size_t tail_len, char out[CRYPTO_SIG_B64_MAX + 1])
{
    uint8_t der[CRYPTO_SIG_DER_MAX + 8];
    size_t n = 2;
    n += put_int(der + n, r, rpad);
    n += put_int(der + n, s, 1);
    if (tail_len)
        memcpy(der + n, tail, tail_len);
    n += tail_len;
    der[0] = 0x30;
    der[1] = (uint8_t)(n - 2);
    assert_int_equal(crypto_base64_encode(der, n, out, CRYPTO_SIG_B64_MAX + 1, NULL), RC_OK);
}

/* out = a - b for 32-byte big-endian numbers, a >= b. */
static void sub256(const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = a[i] - b[i] - borrow;
        borrow = d < 0;
        out[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

/* Which encodings of (r, s) verify: both s and n - s (ECDSA does not fix the sign of s; openssl
 * agrees), INTEGERs with a superfluous or a missing 0x00 (read as unsigned magnitudes), not r or
 * s outside [1, n - 1]; bytes after s inside the SEQUENCE are refused once the signature is
 * checked, and a wrong signature stays "does not verify" whatever follows it. */
static void signature_encodings(void **state)
{
    (void)state;
    char err[ERR_LEN], sig[CRYPTO_SIG_B64_MAX + 1], b64[CRYPTO_SIG_B64_MAX + 1];
    char pem[CRYPTO_PUBKEY_PEM_MAX];
    uint8_t hash[CRYPTO_SHA256_LEN], der[CRYPTO_SIG_DER_MAX], r[32], s[32], x[32];
    size_t n = 0;
    crypto_key *k = NULL;
    assert_int_equal(crypto_key_generate(rng, &k, err), RC_OK);
    /* A message whose r has its top bit set (the canonical r carries a 0x00) and s not, so that
     * every form below fits the 72 bytes of the longest canonical signature. */
    for (unsigned i = 0;; i++) {
        assert_true(i < 64);
        char msg[32];
        snprintf(msg, sizeof msg, "encodings %u", i);
        crypto_sha256(msg, strlen(msg), hash);
        assert_int_equal(crypto_key_sign(k, rng, hash, sig, err), RC_OK);
        assert_int_equal(crypto_base64_decode(sig, der, sizeof der, &n, err), RC_OK);
        der_split(der, n, r, s);
        if ((r[0] & 0x80) && !(s[0] & 0x80))
            break;
    }
    sig_b64(r, 1, s, NULL, 0, b64);
    assert_string_equal(b64, sig); /* the helpers rebuild the canonical form */
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_OK);

    /* s and n - s: both verify, here and in openssl. */
    uint8_t high[32];
    sub256(P256_N, s, high);
    sig_b64(r, 1, high, NULL, 0, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_OK);
    assert_int_equal(crypto_key_public_pem(k, pem, sizeof pem, err), RC_OK);
    write_file(tmp("enc.pub"), pem, strlen(pem));
    write_file(tmp("enc.hash"), hash, sizeof hash);
    uint8_t hder[CRYPTO_SIG_DER_MAX];
    size_t hn = 0;
    assert_int_equal(crypto_base64_decode(b64, hder, sizeof hder, &hn, err), RC_OK);
    write_file(tmp("enc.sig"), hder, hn);
    assert_int_equal(sh("openssl pkeyutl -verify -pubin -inkey enc.pub -in enc.hash "
                        "-sigfile enc.sig > /dev/null"),
                     0);

    /* r with one 0x00 too many, and r without its 0x00 (a negative DER INTEGER). */
    sig_b64(r, 2, s, NULL, 0, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_OK);
    sig_b64(r, 0, s, NULL, 0, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_OK);

    /* r or s of 0 or n, r + n (the same value mod n): out of range. */
    memset(x, 0, sizeof x);
    sig_b64(x, 1, s, NULL, 0, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_CRYPTO);
    assert_string_equal(err, "signature does not verify");
    sig_b64(r, 1, x, NULL, 0, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_CRYPTO);
    sig_b64(P256_N, 1, s, NULL, 0, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_CRYPTO);
    sig_b64(r, 1, P256_N, NULL, 0, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_CRYPTO);

    /* A byte after s inside the SEQUENCE (r without its 0x00 to stay within 72 bytes): refused
     * as trailing once the signature checks out. */
    static const uint8_t extra[] = {0x00};
    sig_b64(r, 0, s, extra, sizeof extra, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_INVAL);
    assert_string_equal(err, "trailing bytes after the DER signature");
    sig_b64(r, 0, high, extra, sizeof extra, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_INVAL);
    assert_string_equal(err, "trailing bytes after the DER signature");
    sig_b64(x, 1, s, extra, sizeof extra, b64);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_CRYPTO);
    assert_string_equal(err, "signature does not verify");

    /* Not INTEGERs, or a SEQUENCE shorter than its content: malformed. */
    assert_int_equal(crypto_base64_decode(sig, der, sizeof der, &n, err), RC_OK);
    der[2] = 0x03;
    assert_int_equal(crypto_base64_encode(der, n, b64, sizeof b64, err), RC_OK);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_INVAL);
    assert_non_null(strstr(err, "malformed DER signature"));
    assert_int_equal(crypto_base64_decode(sig, der, sizeof der, &n, err), RC_OK);
    der[1] = (uint8_t)(der[1] - 1);
    assert_int_equal(crypto_base64_encode(der, n, b64, sizeof b64, err), RC_OK);
    assert_int_equal(crypto_key_verify(k, hash, b64, err), RC_INVAL);
    assert_non_null(strstr(err, "malformed DER signature"));
    crypto_key_destroy(k);
}

static void our_signature_verifies_in_openssl(void **state)
{
    (void)state;
    char err[ERR_LEN], sig[CRYPTO_SIG_B64_MAX + 1], sig2[CRYPTO_SIG_B64_MAX + 1];
    char pem[CRYPTO_PUBKEY_PEM_MAX];
    uint8_t hash[CRYPTO_SHA256_LEN];
    write_file(tmp("msg2.bin"), message, strlen(message));
    crypto_sha256(message, strlen(message), hash);

    crypto_key *k = NULL;
    assert_int_equal(crypto_key_generate(rng, &k, err), RC_OK);
    assert_true(crypto_key_has_private(k));
    assert_int_equal(crypto_key_sign(k, rng, hash, sig, err), RC_OK);
    /* RFC 6979: the same key and hash give the same signature. */
    assert_int_equal(crypto_key_sign(k, rng, hash, sig2, err), RC_OK);
    assert_string_equal(sig, sig2);
    assert_int_equal(crypto_key_verify(k, hash, sig, err), RC_OK);

    assert_int_equal(crypto_key_public_pem(k, pem, sizeof pem, err), RC_OK);
    write_file(tmp("ours.pub"), pem, strlen(pem));
    write_file(tmp("ours.sig.b64"), sig, strlen(sig));
    assert_int_equal(crypto_key_save(k, tmp("ours.pem"), err), RC_OK);
    assert_int_equal(sh("base64 -d ours.sig.b64 > ours.sig && "
                        "openssl dgst -sha256 -verify ours.pub -signature ours.sig msg2.bin"),
                     0);
    /* openssl reads the private key file we wrote, and what it signs verifies here. */
    assert_int_equal(sh("openssl dgst -sha256 -sign ours.pem -out ours2.sig msg2.bin && "
                        "base64 -w0 ours2.sig > ours2.sig.b64"),
                     0);
    char osig[256];
    read_text(tmp("ours2.sig.b64"), osig, sizeof osig);
    assert_int_equal(crypto_key_verify(k, hash, osig, err), RC_OK);

    /* openssl refuses a flipped bit too (a check on the test itself). */
    char flipped[CRYPTO_SIG_B64_MAX + 1];
    flip_last_bit(sig, flipped);
    write_file(tmp("flip.sig.b64"), flipped, strlen(flipped));
    assert_int_not_equal(sh("base64 -d flip.sig.b64 > flip.sig && "
                            "openssl dgst -sha256 -verify ours.pub -signature flip.sig msg2.bin"),
                         0);

    /* A public-only key cannot sign or be saved. */
    crypto_key *pub = NULL;
    assert_int_equal(crypto_key_from_public_pem(pem, &pub, err), RC_OK);
    assert_int_equal(crypto_key_sign(pub, rng, hash, sig2, err), RC_STATE);
    assert_int_equal(crypto_key_save(pub, tmp("pub-only.pem"), err), RC_STATE);
    assert_int_equal(access(tmp("pub-only.pem"), F_OK), -1);
    crypto_key_destroy(pub);
    crypto_key_destroy(k);
}

/* RFC 6979 A.2.5: P-256, SHA-256. */
static const char *const rfc6979_x =
    "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
static const char *const rfc6979_ux =
    "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
static const char *const rfc6979_uy =
    "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
static const struct {
    const char *msg, *r, *s;
} rfc6979_sigs[] = {
    {"sample", "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716",
     "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"},
    {"test", "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367",
     "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083"},
};

/* DER INTEGER of a 32-byte big-endian unsigned value at p; returns bytes written. */
static size_t der_int(uint8_t *p, const uint8_t v[32])
{
    size_t skip = 0;
    while (skip < 31 && v[skip] == 0 && !(v[skip + 1] & 0x80))
        skip++;
    size_t pad = (v[skip] & 0x80) ? 1 : 0;
    size_t len = 32 - skip + pad;
    p[0] = 0x02;
    p[1] = (uint8_t)len;
    if (pad)
        p[2] = 0;
    memcpy(p + 2 + pad, v + skip, 32 - skip);
    return 2 + len;
}

/* PEM text of a DER blob under a label. */
static void pem_of(const char *label, const uint8_t *der, size_t n, char *out, size_t size)
{
    char b64[512];
    assert_int_equal(crypto_base64_encode(der, n, b64, sizeof b64, NULL), RC_OK);
    size_t o = (size_t)snprintf(out, size, "-----BEGIN %s-----\n", label);
    for (size_t i = 0; i < strlen(b64); i += 64)
        o += (size_t)snprintf(out + o, size - o, "%.64s\n", b64 + i);
    snprintf(out + o, size - o, "-----END %s-----\n", label);
}

static void rfc6979_p256_sha256(void **state)
{
    (void)state;
    char err[ERR_LEN];
    /* SEC 1 ECPrivateKey { version 1, privateKey x, parameters prime256v1 }, no public key:
     * the loader derives it. */
    uint8_t sec1[51] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
    unhex_into(rfc6979_x, sec1 + 7, 32);
    static const uint8_t params[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                     0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    memcpy(sec1 + 39, params, sizeof params);
    char pem[1024];
    pem_of("EC PRIVATE KEY", sec1, sizeof sec1, pem, sizeof pem);
    write_file(tmp("rfc6979.pem"), pem, strlen(pem));
    assert_int_equal(chmod(tmp("rfc6979.pem"), 0600), 0);

    /* SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 } with the published point U. */
    uint8_t spki[91] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                        0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
    unhex_into(rfc6979_ux, spki + 27, 32);
    unhex_into(rfc6979_uy, spki + 59, 32);
    char pubpem[CRYPTO_PUBKEY_PEM_MAX];
    pem_of("PUBLIC KEY", spki, sizeof spki, pubpem, sizeof pubpem);

    crypto_key *k = NULL, *pub = NULL;
    assert_int_equal(crypto_key_load(tmp("rfc6979.pem"), &k, err), RC_OK);
    assert_int_equal(crypto_key_from_public_pem(pubpem, &pub, err), RC_OK);
    char derived[CRYPTO_PUBKEY_PEM_MAX];
    assert_int_equal(crypto_key_public_pem(k, derived, sizeof derived, err), RC_OK);
    assert_string_equal(derived, pubpem);

    for (size_t i = 0; i < sizeof rfc6979_sigs / sizeof rfc6979_sigs[0]; i++) {
        uint8_t hash[CRYPTO_SHA256_LEN], r[32], s[32], der[CRYPTO_SIG_DER_MAX];
        crypto_sha256(rfc6979_sigs[i].msg, strlen(rfc6979_sigs[i].msg), hash);
        unhex_into(rfc6979_sigs[i].r, r, 32);
        unhex_into(rfc6979_sigs[i].s, s, 32);
        size_t n = 2;
        n += der_int(der + n, r);
        n += der_int(der + n, s);
        der[0] = 0x30;
        der[1] = (uint8_t)(n - 2);
        char want[CRYPTO_SIG_B64_MAX + 1], got[CRYPTO_SIG_B64_MAX + 1];
        assert_int_equal(crypto_base64_encode(der, n, want, sizeof want, err), RC_OK);

        assert_int_equal(crypto_key_verify(pub, hash, want, err), RC_OK);
        assert_int_equal(crypto_key_sign(k, rng, hash, got, err), RC_OK);
        assert_string_equal(got, want);
    }
    crypto_key_destroy(k);
    crypto_key_destroy(pub);
}

static void key_files(void **state)
{
    (void)state;
    char err[ERR_LEN];
    crypto_key *k = NULL, *back = NULL, *other = NULL;
    assert_int_equal(crypto_key_generate(rng, &k, err), RC_OK);
    const char *path = tmp("device.pem");
    assert_int_equal(crypto_key_save(k, path, err), RC_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_true(S_ISREG(st.st_mode));

    /* Round trip: the loaded key is the same key. */
    assert_int_equal(crypto_key_load(path, &back, err), RC_OK);
    char fa[CRYPTO_SHA256_HEX_LEN + 1], fb[CRYPTO_SHA256_HEX_LEN + 1];
    assert_int_equal(crypto_key_fingerprint(k, fa, err), RC_OK);
    assert_int_equal(crypto_key_fingerprint(back, fb, err), RC_OK);
    assert_string_equal(fa, fb);
    uint8_t hash[CRYPTO_SHA256_LEN];
    crypto_sha256("x", 1, hash);
    char sig[CRYPTO_SIG_B64_MAX + 1];
    assert_int_equal(crypto_key_sign(back, rng, hash, sig, err), RC_OK);
    assert_int_equal(crypto_key_verify(k, hash, sig, err), RC_OK);
    /* openssl agrees it is a valid P-256 private key. */
    assert_int_equal(sh("openssl ec -in device.pem -check -noout"), 0);

    /* Never overwrite: not the file, not through a symlink (even a dangling one). */
    assert_int_equal(crypto_key_generate(rng, &other, err), RC_OK);
    assert_int_equal(crypto_key_save(other, path, err), RC_CONFLICT);
    assert_non_null(strstr(err, "refusing to overwrite"));
    crypto_key_destroy(back);
    back = NULL;
    assert_int_equal(crypto_key_load(path, &back, err), RC_OK);
    assert_int_equal(crypto_key_fingerprint(back, fb, err), RC_OK);
    assert_string_equal(fa, fb);
    assert_int_equal(symlink(tmp("nowhere.pem"), tmp("link.pem")), 0);
    assert_int_not_equal(crypto_key_save(other, tmp("link.pem"), err), RC_OK);
    assert_int_equal(access(tmp("nowhere.pem"), F_OK), -1);
    assert_int_equal(crypto_key_save(other, tmp("no-such-dir/k.pem"), err), RC_IO);

    /* Group- or other-accessible private keys are refused, as ssh does. */
    crypto_key_destroy(back);
    back = NULL;
    static const mode_t loose[] = {0640, 0604, 0660, 0644, 0620};
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        assert_int_equal(chmod(path, loose[i]), 0);
        assert_int_equal(crypto_key_load(path, &back, err), RC_AUTH);
        assert_non_null(strstr(err, "chmod 600"));
        assert_null(back);
    }
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(crypto_key_load(path, &back, err), RC_OK);

    /* Not keys, or not P-256 keys. */
    crypto_key *none = NULL;
    assert_int_equal(crypto_key_load(tmp("absent.pem"), &none, err), RC_NOTFOUND);
    assert_int_equal(crypto_key_load(tmpdir, &none, err), RC_INVAL);
    write_file(tmp("junk.pem"), "hello\n", 6);
    assert_int_equal(chmod(tmp("junk.pem"), 0600), 0);
    assert_int_equal(crypto_key_load(tmp("junk.pem"), &none, err), RC_INVAL);
    assert_int_equal(
        sh("umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 "
           "-out p384.pem && openssl pkey -in p384.pem -pubout -out p384.pub && "
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.pem && "
           "openssl pkey -in rsa.pem -pubout -out rsa.pub && "
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out pk8.pem && "
           "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
           "-aes-128-cbc -pass pass:secret -out enc.pem"),
        0);
    assert_int_equal(crypto_key_load(tmp("p384.pem"), &none, err), RC_INVAL);
    assert_non_null(strstr(err, "not P-256"));
    assert_int_equal(crypto_key_load(tmp("rsa.pem"), &none, err), RC_INVAL);
    assert_non_null(strstr(err, "not an ECDSA P-256 key"));
    assert_int_equal(crypto_key_load(tmp("enc.pem"), &none, err), RC_INVAL);
    assert_non_null(strstr(err, "encrypted"));
    assert_null(none);
    /* PKCS#8 from openssl genpkey is accepted. */
    assert_int_equal(crypto_key_load(tmp("pk8.pem"), &none, err), RC_OK);
    crypto_key_destroy(none);
    none = NULL;

    char pem[4096];
    read_text(tmp("p384.pub"), pem, sizeof pem);
    assert_int_equal(crypto_key_from_public_pem(pem, &none, err), RC_INVAL);
    read_text(tmp("rsa.pub"), pem, sizeof pem);
    assert_int_equal(crypto_key_from_public_pem(pem, &none, err), RC_INVAL);
    assert_int_equal(crypto_key_from_public_pem("", &none, err), RC_INVAL);
    assert_int_equal(crypto_key_from_public_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n"
                                                "-----END PUBLIC KEY-----\n",
                                                &none, err),
                     RC_INVAL);
    /* A point not on the curve: the published U with its last byte changed. */
    uint8_t spki[91] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                        0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
    unhex_into(rfc6979_ux, spki + 27, 32);
    unhex_into(rfc6979_uy, spki + 59, 32);
    spki[90] ^= 1;
    pem_of("PUBLIC KEY", spki, sizeof spki, pem, sizeof pem);
    assert_int_equal(crypto_key_from_public_pem(pem, &none, err), RC_INVAL);
    assert_null(none);

    crypto_key_destroy(back);
    crypto_key_destroy(other);
    crypto_key_destroy(k);
}

/* crypto_random_bytes: the kernel's bytes, the whole length, different each call. */
static void random_bytes_from_the_kernel(void **state)
{
    (void)state;
    uint8_t a[4096], b[4096], zero[4096] = {0};
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    char err[ERR_LEN] = "";
    assert_int_equal(crypto_random_bytes(a, sizeof a, err), RC_OK);
    assert_int_equal(crypto_random_bytes(b, sizeof b, err), RC_OK);
    assert_memory_not_equal(a, b, sizeof a);
    /* the last 64 bytes were written too (all zero by chance: 2^-512) */
    assert_memory_not_equal(a + sizeof a - 64, zero, 64);
    assert_int_equal(crypto_random_bytes(a, 0, err), RC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_fips_vectors),
        cmocka_unit_test(sha256_file_matches_sha256sum),
        cmocka_unit_test(hmac_rfc4231),
        cmocka_unit_test(base64_rfc4648),
        cmocka_unit_test(rng_is_distinct_across_threads_and_fork),
        cmocka_unit_test(openssl_signature_verifies_here),
        cmocka_unit_test(our_signature_verifies_in_openssl),
        cmocka_unit_test(signature_encodings),
        cmocka_unit_test(rfc6979_p256_sha256),
        cmocka_unit_test(key_files),
        cmocka_unit_test(random_bytes_from_the_kernel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
