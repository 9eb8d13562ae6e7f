/* Benchmark (not a test): SHA-256 of a file with crypto_sha256_file, and ECDSA P-256
 * sign/verify rates. Usage: bench_crypto FILE [ROUNDS]. Compare the file figure with
 * `time sha256sum FILE` on the same warm page cache (docs/SECURITY.md has the commands). */
#include "crypto.h"
#include "rc.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char err[ERR_LEN];
    if (argc < 2) {
        fprintf(stderr, "usage: bench_crypto FILE [ROUNDS]\n");
        return 2;
    }
    long rounds = 2000;
    if (argc > 2) {
        char *end = NULL;
        rounds = strtol(argv[2], &end, 10);
        if (!end || *end || rounds < 1 || rounds > 1000000) {
            fprintf(stderr, "bench_crypto: ROUNDS must be 1..1000000\n");
            return 2;
        }
    }
    uint8_t h[CRYPTO_SHA256_LEN];
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    uint64_t bytes = 0;
    double t0 = seconds();
    if (crypto_sha256_file(argv[1], h, &bytes, err) != RC_OK) {
        fprintf(stderr, "bench_crypto: %s\n", err);
        return 1;
    }
    double dt = seconds() - t0;
    crypto_hex(h, sizeof h, hex);
    printf("%s  %s\n", hex, argv[1]);
    printf("sha256_file: %llu bytes in %.3f s = %.1f MiB/s\n", (unsigned long long)bytes, dt,
           (double)bytes / dt / 1048576.0);

    crypto_rng *rng = NULL;
    crypto_key *key = NULL;
    if (crypto_rng_create(&rng, err) != RC_OK || crypto_key_generate(rng, &key, err) != RC_OK) {
        fprintf(stderr, "bench_crypto: %s\n", err);
        return 1;
    }
    char sig[CRYPTO_SIG_B64_MAX + 1];
    t0 = seconds();
    for (long i = 0; i < rounds; i++) {
        h[0] = (uint8_t)i;
        if (crypto_key_sign(key, rng, h, sig, err) != RC_OK) {
            fprintf(stderr, "bench_crypto: %s\n", err);
            return 1;
        }
    }
    double sign_s = seconds() - t0;
    t0 = seconds();
    for (long i = 0; i < rounds; i++) {
        if (crypto_key_verify(key, h, sig, err) != RC_OK) {
            fprintf(stderr, "bench_crypto: %s\n", err);
            return 1;
        }
    }
    double verify_s = seconds() - t0;
    printf("ecdsa p-256: %.0f signs/s, %.0f verifies/s (%ld rounds)\n", (double)rounds / sign_s,
           (double)rounds / verify_s, rounds);
    crypto_key_destroy(key);
    crypto_rng_destroy(rng);
    return 0;
}
