/* record_hash_file: streamed SHA-256 of files against FIPS 180-2 vectors (empty, "abc",
 * the 448-bit message, one million 'a'), a file of several read buffers against mbedTLS, and
 * its refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "rc.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rollcall-record-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_repeated(const char *path, const char *chunk, size_t len, size_t times)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < times; i++)
        assert_int_equal(fwrite(chunk, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void check(const char *chunk, size_t len, size_t times, const char *want)
{
    char path[128], hex[EVENT_HEX_LEN + 1], err[ERR_LEN];
    int64_t bytes = -1;
    snprintf(path, sizeof path, "%s/f.bin", dir);
    write_repeated(path, chunk, len, times);
    assert_int_equal(record_hash_file(path, hex, &bytes, err), RC_OK);
    assert_string_equal(hex, want);
    assert_int_equal(bytes, (int64_t)(len * times));
}

static void test_fips_vectors(void **state)
{
    (void)state;
    check("", 0, 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", 3, 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 1,
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a(void **state)
{
    (void)state;
    /* 1,000,000 bytes: many small writes, read back in one short read */
    check("aaaaaaaaaaaaaaaaaaaaaaaaa", 25, 40000,
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Several read buffers and a short last one: against mbedTLS, the other implementation. */
static void test_multi_buffer_matches_mbedtls(void **state)
{
    (void)state;
    char path[128], hex[EVENT_HEX_LEN + 1], ref[CRYPTO_SHA256_HEX_LEN + 1], err[ERR_LEN];
    uint8_t md[CRYPTO_SHA256_LEN];
    uint64_t n = 0;
    int64_t bytes = 0;
    snprintf(path, sizeof path, "%s/big.bin", dir);
    size_t len = 2 * RECORD_HASH_BUF + 12345;
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    write_repeated(path, (const char *)buf, len, 1);
    free(buf);
    assert_int_equal(record_hash_file(path, hex, &bytes, err), RC_OK);
    assert_int_equal(crypto_sha256_file(path, md, &n, err), RC_OK);
    crypto_hex(md, CRYPTO_SHA256_LEN, ref);
    assert_string_equal(hex, ref);
    assert_int_equal(bytes, (int64_t)len);
    assert_int_equal(n, len);
}

static void test_refusals(void **state)
{
    (void)state;
    char path[128], hex[EVENT_HEX_LEN + 1], err[ERR_LEN];
    int64_t bytes = 0;
    snprintf(path, sizeof path, "%s/missing.bin", dir);
    assert_int_equal(record_hash_file(path, hex, &bytes, err), RC_NOTFOUND);
    assert_non_null(strstr(err, "missing.bin"));
    assert_int_equal(record_hash_file(dir, hex, &bytes, err), RC_INVAL);
    assert_non_null(strstr(err, "not a regular file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_multi_buffer_matches_mbedtls),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
