/* Evidence bundles: one class's proof, portable (docs/EVIDENCE.md). The collector gathers
 * everything the class's report is computed from (the event lines exactly as received with the
 * kiosks' batch signatures and the chain links that tie them together, the kiosks' keys and
 * enrolments, the fence versions, the policy, the catalogue, the plan, online records,
 * assessments, reviews), adds the report, lists every member with its SHA-256 in a manifest and
 * signs the manifest with its own key. rollcall-verify checks it all without the collector.
 *
 * Invariants:
 * - The bundle's report is computed from exactly the inputs it carries, read in one snapshot.
 * - Each device's event lines are one contiguous run of its chain, from the first event the
 *   report reads to the end of the signed batch holding the last one, so an event inside the
 *   run cannot be left out or reordered unnoticed. Lines of the run that the report does not
 *   read (other classes at the same kiosk) are included whole: a proof needs their bytes.
 * - Without names, the roster's names are blank in plan.json and report.json; event lines
 *   never carry names (pseudonyms and masked numbers only). */
#ifndef ROLLCALL_SERVER_EVIDENCE_EVIDENCE_H
#define ROLLCALL_SERVER_EVIDENCE_EVIDENCE_H

#include "crypto.h"
#include "engine/engine.h"
#include "evidence/signkey.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bundle (a ustar archive) of class_id at now_ms, signed with key: *out (free()) of *len
 * bytes; manifest_sha256 (may be NULL) receives the hex SHA-256 of its manifest.json; *report
 * (report may be NULL) the bundled report (engine_report_free). names: include the roster's
 * names. Returns 0, RC_NOTFOUND (no such class), RC_LIMIT (over
 * BUNDLE_MAX), RC_DB, RC_CORRUPT or RC_NOMEM with err. */
int evidence_class_bundle(store *st, signkey *key, const char *class_id, int64_t now_ms, bool names,
                          char **out, size_t *len, char manifest_sha256[CRYPTO_SHA256_HEX_LEN + 1],
                          struct engine_report **report, char *err);

#endif
