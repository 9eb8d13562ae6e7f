/* The collector's own signing key: ECDSA P-256 (core/crypto.h, as the kiosks' keys), which
 * signs the collector's manifests and publications (docs/SECURITY.md "The collector's signing
 * key").
 *
 * Invariants:
 * - The key is made only by signkey_create (`signing-key create`), never by migrate.
 * - The private key lives only in a PEM file of mode 0600 (default: beside a SQLite database
 *   as <db>.signing.key); a file readable or writable by group or others is refused, never
 *   fixed. The database holds every public key ever used, by key id, so a signature made
 *   before a rotation still verifies after it.
 * - A key id is the first SIGNKEY_ID_LEN hex digits of the SHA-256 of the key's DER
 *   SubjectPublicKeyInfo (the start of crypto_key_fingerprint).
 * - Exactly one key is current: the one in the file, which must match the database's current
 *   key or nothing is signed. A rotation writes the new key beside the file (FILE.new),
 *   records it in the database (retiring the old one), then renames it over the file: the old
 *   private key is gone, its public key stays.
 * - Signatures are exactly `openssl dgst -sha256 -sign FILE DATA | base64 -w0`. */
#ifndef ROLLCALL_SERVER_EVIDENCE_SIGNKEY_H
#define ROLLCALL_SERVER_EVIDENCE_SIGNKEY_H

#include "crypto.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

enum {
    SIGNKEY_ID_LEN = STORE_KEY_ID_LEN, /* hex digits, without NUL */
    SIGNKEY_PATH_MAX = 4096,           /* a key file's path, with NUL */
};

/* The key file beside the database of db_url ("sqlite:PATH" -> "PATH.signing.key") into out.
 * RC_INVAL (with err) for a database that is not a file: then --signing-key is required. */
int signkey_default_path(const char *db_url, char out[SIGNKEY_PATH_MAX], char *err);

/* key's id (SIGNKEY_ID_LEN lower-case hex digits) into out. */
int signkey_key_id(crypto_key *key, char out[SIGNKEY_ID_LEN + 1], char *err);

/* Creates the collector's first signing key: a new key pair saved at path (0600) and its
 * public key recorded in st as current (created at now_ms); *key_id gets its id.
 * RC_CONFLICT when st has a key already (rotate instead) or path exists. */
int signkey_create(store *st, const char *path, int64_t now_ms, char key_id[SIGNKEY_ID_LEN + 1],
                   char *err);
/* Replaces the current key by a new one (see the invariants); the old public key stays in st,
 * retired at now_ms. RC_NOTFOUND when st has no key yet (create first), RC_CONFLICT when
 * path.new is left from an interrupted rotation. */
int signkey_rotate(store *st, const char *path, int64_t now_ms, char key_id[SIGNKEY_ID_LEN + 1],
                   char *err);

/* The loaded current key. */
typedef struct signkey signkey;

/* Loads the private key at path into *out (free with signkey_free) after checking that it is
 * the current key in st. RC_AUTH for a file open to group or others (err names the chmod
 * command), RC_NOTFOUND when st or path has no key, RC_CONFLICT when the file's key is not
 * the current one. */
int signkey_load(store *st, const char *path, signkey **out, char *err);
/* Wipes and frees k; NULL is ignored. */
void signkey_free(signkey *k);
/* The loaded key's id (owned by k). */
const char *signkey_id(const signkey *k);
/* The loaded key's public key as PEM SubjectPublicKeyInfo into out (n bytes;
 * CRYPTO_PUBKEY_PEM_MAX is enough). */
int signkey_public_pem(signkey *k, char *out, size_t n, char *err);
/* Signs the SHA-256 of len bytes at data: base64 DER ECDSA into sig, the signing key's id into
 * key_id (may be NULL). Thread-safe. */
int signkey_sign(signkey *k, const void *data, size_t len, char sig[CRYPTO_SIG_B64_MAX + 1],
                 char key_id[SIGNKEY_ID_LEN + 1], char *err);

/* The public key key_id (current or retired) from st into *out (free with
 * crypto_key_destroy), its record into rec (may be NULL). RC_NOTFOUND when st has no such
 * key; RC_CORRUPT when the stored key does not load or does not have that id. */
int signkey_public(store *st, const char *key_id, crypto_key **out, struct store_signing_key *rec,
                   char *err);

#endif
