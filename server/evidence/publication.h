/* The signed publication of a year's evaluation results (docs/EVIDENCE.md "Publication"): per
 * institution, its classes' totals (classes, trainees, attendance, pass rates; no personal
 * data), each row naming its classes' evidence bundles by the SHA-256 of their manifests, so
 * anyone holding a bundle can tie a published figure to the kiosks' signed bytes.
 *
 * Invariants:
 * - A publication is frozen: made once per year by `rollcall-server publish`, stored with its
 *   signature, served byte for byte ever after (a later signing-key rotation changes nothing:
 *   the public key is served with it and kept in the database).
 * - The signature covers the exact bytes of the publication text, which the served JSON
 *   carries as a string (so no re-serialisation can change what was signed). */
#ifndef ROLLCALL_SERVER_EVIDENCE_PUBLICATION_H
#define ROLLCALL_SERVER_EVIDENCE_PUBLICATION_H

#include "engine/engine.h"
#include "evidence/signkey.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUBLICATION_FORMAT "rollcall-publication/1"

enum {
    PUBLICATION_CLASSES_MAX = 10000, /* classes of one year */
    PUBLICATION_MAX = 16 << 20,      /* bytes of a publication */
};

/* Builds, signs and stores the publication of year (classes whose sessions overlap that year,
 * Asia/Shanghai): each class's bundle is made (without names) for its manifest hash; when dir
 * is not NULL the bundles are written there as <class>.tar. RC_CONFLICT when year is
 * published already, RC_NOTFOUND when it has no class. *classes (may be NULL) gets the count. */
int publication_publish(store *st, signkey *key, int year, int64_t now_ms, const char *dir,
                        size_t *classes, char *err);

/* The served JSON of year's publication: {"format", "publication": "<the signed text>",
 * "signature": {"algorithm", "key_id", "public_key", "signature"}}. *out is the caller's.
 * RC_NOTFOUND when year is not published. */
int publication_json(store *st, int year, char **out, char *err);

/* The same rows as CSV (UTF-8 with BOM, CRLF, Chinese headers; unsigned: the JSON is the
 * proof). *out (caller's) of *len bytes. */
int publication_csv(store *st, int year, char **out, size_t *len, char *err);

/* One published row, parsed (for the verifier). */
struct publication_row {
    char institution[EVENT_NAME_MAX + 1];
    size_t classes;
    int64_t scheduled_ms, attended_ms;
    int64_t enrolled, assessed, passed;
    size_t n_bundles;
    char (*bundles)[2][CRYPTO_SHA256_HEX_LEN + 1]; /* [class, manifest sha256] */
};
/* Parses a publication text (the signed string) into *rows (*n of them; publication_rows_free).
 * *year receives its year. RC_INVAL with err. */
int publication_parse(const char *text, size_t len, int *year, struct publication_row **rows,
                      size_t *n, char *err);
void publication_rows_free(struct publication_row *rows, size_t n);

#endif
