/* rollcall-verify's checks: an evidence bundle (docs/EVIDENCE.md) against itself, with no
 * database and no network. Every problem found is one row naming the bundle member it is in;
 * the checks go on after a problem wherever what follows does not depend on it.
 *
 * What is checked, in order: the archive; the manifest (every member present with its size and
 * SHA-256, nothing else) and the collector's signature over it (against the pinned key when one
 * is given); each device's event lines (canonical, one unbroken hash chain) and the kiosks' batch
 * signatures over them (with the keys in devices.json), every line covered by one; the
 * collector's record of each line (judgements.json): every fix re-judged against the bundled
 * fence version with the collector's own fence code; then the report recomputed by the
 * collector's engine from the bundled inputs under the bundled policy and compared, value by
 * value, with report.json. */
#ifndef ROLLCALL_VERIFY_H
#define ROLLCALL_VERIFY_H

#include "crypto.h"
#include "engine/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    VERIFY_PROBLEMS_MAX = 200, /* problems kept; more are counted */
    VERIFY_TEXT_MAX = 480,     /* bytes of one problem's text */
};

struct verify_problem {
    char member[100];
    char text[VERIFY_TEXT_MAX];
};

struct verify_result {
    char class_id[65];
    char manifest_sha256[CRYPTO_SHA256_HEX_LEN + 1];
    char key_id[CRYPTO_SHA256_HEX_LEN + 1];
    bool key_pinned; /* the signature was checked against a pinned key */
    size_t members, events, batches, fixes, figures; /* what was checked */
    size_t n_problems, dropped;
    struct verify_problem problems[VERIFY_PROBLEMS_MAX];
};

/* Checks the bundle of len bytes at data; pinned_pem (NUL-terminated PEM, may be NULL) is the
 * collector's public key to require. Fills *res (the caller's; large). *report (report may be
 * NULL) receives the recomputed report when the figures were recomputed, else NULL
 * (engine_report_free). Returns 0 when the checks ran (res->n_problems says whether everything
 * holds) or RC_NOMEM. */
int verify_bundle(const char *data, size_t len, const char *pinned_pem, struct verify_result *res,
                  struct engine_report **report);

/* Checks a publication (the JSON GET /public/evaluation/{year} serves, len bytes) against the
 * bundles already verified: its signature (against pinned_pem when given), that each bundle's
 * manifest hash is named by a row, and each row whose bundles were all given against the sums
 * of their recomputed reports. Problems go to res (member "publication"); *rows_checked counts
 * the rows recomputed. Returns 0 or RC_NOMEM. */
int verify_publication(const char *data, size_t len, const char *pinned_pem,
                       const char *const *manifests, const struct engine_report *const *reports,
                       size_t n, struct verify_result *res, size_t *rows_checked);

#endif
