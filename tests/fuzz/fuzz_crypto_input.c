/* Fuzzes the readers of untrusted text in crypto, uuid and trainee: the first byte picks one
 * (0 base64, 1 public key PEM, 2 batch signature, 3 ID number, 4 UUID), the rest is its input.
 * Checks that a decoded value re-encodes to the same text, and that whatever an ID check
 * accepts has a well-formed pseudonym and mask. */
#include "crypto.h"
#include "rc.h"
#include "trainee.h"
#include "uuid.h"

#include <stdlib.h>
#include <string.h>

enum { FUZZ_MAX = 4096 };

/* RFC 6979 A.2.5's P-256 public key. */
static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7\n"
                              "Yfps5mliLmDyn7Z5A/4QCLi8maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==\n"
                              "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static crypto_key *pub;
    if (size < 1 || size > FUZZ_MAX)
        return 0;
    if (!pub && crypto_key_from_public_pem(pub_pem, &pub, NULL) != RC_OK)
        abort();
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char err[ERR_LEN];
    switch (data[0] % 5) {
    case 0: {
        uint8_t out[FUZZ_MAX];
        size_t n = 0;
        if (crypto_base64_decode(text, out, sizeof out, &n, err) == RC_OK) {
            char back[FUZZ_MAX * 2];
            if (crypto_base64_encode(out, n, back, sizeof back, err) != RC_OK ||
                strcmp(back, text) != 0)
                abort(); /* strict decoding means one text per byte string */
        }
        break;
    }
    case 1: {
        crypto_key *k = NULL;
        if (crypto_key_from_public_pem(text, &k, err) == RC_OK) {
            char fp[CRYPTO_SHA256_HEX_LEN + 1];
            if (crypto_key_has_private(k) || crypto_key_fingerprint(k, fp, err) != RC_OK)
                abort();
            crypto_key_destroy(k);
        }
        break;
    }
    case 2: {
        uint8_t hash[CRYPTO_SHA256_LEN];
        crypto_sha256("sample", 6, hash);
        (void)crypto_key_verify(pub, hash, text, err);
        break;
    }
    case 3: {
        char id[TRAINEE_ID_LEN + 1], mask[TRAINEE_ID_LEN + 1], p[TRAINEE_PSEUDONYM_LEN + 1];
        static const uint8_t key[TRAINEE_KEY_MIN] = {1};
        if (trainee_id_normalise(text, 1772382600, id, err) == RC_OK) {
            if (strlen(id) != TRAINEE_ID_LEN || trainee_mask(text, mask, err) != RC_OK ||
                trainee_pseudonym(key, sizeof key, text, p, err) != RC_OK ||
                strlen(p) != TRAINEE_PSEUDONYM_LEN)
                abort();
        }
        break;
    }
    default: {
        uint64_t ms = 0;
        int v7 = uuid_is_v7(text);
        if (v7 && !uuid_is_valid(text))
            abort();
        if ((uuid_v7_time(text, &ms, err) == RC_OK) != v7 || (v7 && ms > UUID_V7_MAX_MS))
            abort();
        break;
    }
    }
    free(text);
    return 0;
}
