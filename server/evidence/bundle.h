/* The evidence bundle's members as data (docs/EVIDENCE.md): what the collector writes and what
 * the offline verifier (verify/) reads back, in one file so the two never disagree on the
 * format. The bundle holds everything a class's report is computed from; the verifier rebuilds
 * the engine's input from it and nothing else.
 *
 * Invariants:
 * - Every time in the input members is an integer: UTC milliseconds since the epoch (names end
 *   in _ms); every figure is recomputed, never read from an input member.
 * - The JSON is compact (cJSON_PrintUnformatted) and members list their rows in a fixed order
 *   (devices by id, batches by device then first_seq, judgements by device then seq), so the
 *   same stored data gives the same bytes.
 * - Parsing refuses a member whose shape differs (a missing or mistyped key, a string over its
 *   limit), naming the member and the row; unknown keys are ignored (a later format may add
 *   some; the manifest's signature already binds every byte). */
#ifndef ROLLCALL_SERVER_EVIDENCE_BUNDLE_H
#define ROLLCALL_SERVER_EVIDENCE_BUNDLE_H

#include "crypto.h"
#include "engine/engine.h"
#include "engine/plan.h"

#include <cJSON.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUNDLE_FORMAT "rollcall-evidence/1"
#define BUNDLE_SIG_ALGORITHM "ECDSA-P256-SHA256"

/* Member names. Event lines are in BUNDLE_EVENTS_DIR "<device>.ndjson". */
#define BUNDLE_M_MANIFEST "manifest.json"
#define BUNDLE_M_SIGNATURE "manifest.sig"
#define BUNDLE_M_BUNDLE "bundle.json"
#define BUNDLE_M_PLAN "plan.json"
#define BUNDLE_M_POLICY "policy.json"
#define BUNDLE_M_CATALOGUE "catalogue.json"
#define BUNDLE_M_FENCES "fences.json"
#define BUNDLE_M_DEVICES "devices.json"
#define BUNDLE_M_BATCHES "batches.json"
#define BUNDLE_M_JUDGEMENTS "judgements.json"
#define BUNDLE_M_ONLINE "online.json"
#define BUNDLE_M_ASSESSMENTS "assessments.json"
#define BUNDLE_M_REVIEWS "reviews.json"
#define BUNDLE_M_CONFLICTS "conflicts.json"
#define BUNDLE_M_REPORT "report.json"
#define BUNDLE_EVENTS_DIR "events/"

enum {
    BUNDLE_MAX = 512 << 20,        /* bytes of one bundle file */
    BUNDLE_MEMBER_MAX = 256 << 20, /* bytes of one member */
    BUNDLE_FENCE_MAX = 4 << 20,    /* bytes of one fence version's GeoJSON */
    BUNDLE_PEM_MAX = CRYPTO_PUBKEY_PEM_MAX,
};

/* One fence version the collector judged with (or the current one, for the venues). */
struct bundle_fence {
    char id[EVENT_NAME_MAX + 1];
    int version;
    char sha256[EVENT_HEX_LEN + 1];
    char *geojson; /* malloc'd, NUL-terminated: the stored Feature exactly */
};

/* An enrolled kiosk: its public key and enrolment record. */
struct bundle_device {
    char id[EVENT_NAME_MAX + 1];
    char institution[EVENT_NAME_MAX + 1];
    char public_key[BUNDLE_PEM_MAX]; /* SubjectPublicKeyInfo PEM */
    char profile[EVENT_NAME_MAX * 2 + 1];
    char fence[EVENT_NAME_MAX + 1];
    double assumed_eph_m;
    int64_t enrolled_at_ms;
    char enrolled_by[EVENT_NAME_MAX + 1]; /* the enrol token's name; "" when not recorded */
};

/* A kept batch signature (store_batch_sig). */
struct bundle_batch {
    char device[EVENT_NAME_MAX + 1];
    int64_t first_seq, last_seq;
    char last_hash[EVENT_HEX_LEN + 1];
    char signature[CRYPTO_SIG_B64_MAX + 1];
    int64_t received_at_ms;
};

/* What the collector recorded about one bundled event: when it first received it and its own
 * fence judgement (verdict "" when it judged none). */
struct bundle_judgement {
    char device[EVENT_NAME_MAX + 1];
    int64_t seq;
    int64_t received_at_ms;
    char verdict[16];
    bool has_distance;
    double distance_m;
    int fence_version; /* 0: none */
};

/* A venue fence of the class's sessions and the version its venue (box and point) came from. */
struct bundle_venue {
    char fence[EVENT_NAME_MAX + 1];
    int version;
};

/* Every input member, parsed. Arrays are malloc'd (bundle_inputs_clear frees them). */
struct bundle_inputs {
    /* bundle.json */
    char format[32];
    char class_id[EVENT_NAME_MAX + 1];
    int64_t as_of_ms;   /* the report's as_of; also the archive's time stamps */
    int64_t claimed_ms; /* the date of the class's latest subsidy claim step (late_claim); 0 none */
    /* the date of the class application's latest submit step (late_application); 0: none, the
     * plan's applied_on counts (also when a bundle made before this field has none) */
    int64_t applied_ms;
    bool names;                   /* the roster's names are included (else blank) */
    struct engine_device *kiosks; /* the kiosks whose own events the engine read */
    size_t n_kiosks;
    struct bundle_venue *venues; /* the venues the engine placed the sessions at */
    size_t n_venues;
    struct plan *plan;
    struct engine_policy policy;
    struct bundle_fence *fences;
    size_t n_fences;
    struct bundle_device *devices;
    size_t n_devices;
    struct bundle_batch *batches;
    size_t n_batches;
    struct bundle_judgement *judgements;
    size_t n_judgements;
    struct plan_online *online;
    size_t n_online;
    struct plan_assessment *assessments;
    size_t n_assessments;
    struct engine_review *reviews;
    size_t n_reviews;
    struct engine_conflict *conflicts;
    size_t n_conflicts;
};

/* Frees every array of b and zeroes it. */
void bundle_inputs_clear(struct bundle_inputs *b);

/* The JSON text of one input member (a BUNDLE_M_* name other than manifest, signature,
 * catalogue and report) from b; *out is the caller's (free()). RC_INVAL for another name. */
int bundle_member_json(const struct bundle_inputs *b, const char *member, char **out, char *err);
/* Parses one input member into b (replacing what b held for it). RC_INVAL with err naming the
 * member and the row. */
int bundle_member_parse(struct bundle_inputs *b, const char *member, const char *data, size_t len,
                        char *err);

/* The policy as its JSON object (every parameter), for policy.json. NULL when out of memory. */
cJSON *bundle_policy_object(const struct engine_policy *p);

/* One manifest row. */
struct bundle_manifest_row {
    char name[100];
    size_t size;
    char sha256[CRYPTO_SHA256_HEX_LEN + 1];
};
/* manifest.json for class_id and rows; *out is the caller's. */
int bundle_manifest_json(const char *class_id, const struct bundle_manifest_row *rows, size_t n,
                         char **out, char *err);
/* Parses manifest.json into *rows (new array, free()) and *n; class_id (cap bytes) receives the
 * class. */
int bundle_manifest_parse(const char *data, size_t len, struct bundle_manifest_row **rows,
                          size_t *n, char *class_id, size_t cap, char *err);

/* The collector's signature over manifest.json's bytes. */
struct bundle_signature {
    char algorithm[32];
    char key_id[CRYPTO_SHA256_HEX_LEN + 1];
    char public_key[BUNDLE_PEM_MAX];
    char signature[CRYPTO_SIG_B64_MAX + 1];
};
int bundle_signature_json(const struct bundle_signature *s, char **out, char *err);
int bundle_signature_parse(const char *data, size_t len, struct bundle_signature *s, char *err);

#endif
