/* The canonical event: one JSON object per NDJSON line, hashed as its exact bytes (no
 * newline), chained per device by seq and prev. docs/WIRE-FORMAT.md is the normative text.
 *
 * Invariants:
 * - there is exactly one byte form per event: event_parse accepts a line only if
 *   event_serialise of the parsed struct gives the same bytes, so serialise(parse(b)) == b
 *   and an event's hash is a function of its content;
 * - keys appear in the fixed global order of enum event_field, each at most once; optional
 *   keys are omitted when absent; which keys a type requires or allows is fixed (wire format);
 * - event_parse and event_serialise never write outside the caller's buffers, keep no state
 *   and are thread-safe; on failure *ev / the output buffer hold nothing usable.
 * Decimals are kept as scaled integers (lat_e8 = degrees * 10^8, eph_cm, distance_mm) so that
 * parse and serialise are exact; event_decimal converts a double for producers.
 * The parser is a strict recogniser of the canonical form rather than a general JSON parser
 * (cJSON resets a process-wide error variable on every parse, numbers go through double, and
 * it accepts many spellings of one value); the tests check it against cJSON. */
#ifndef ROLLCALL_EVENT_H
#define ROLLCALL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_INT_MAX INT64_C(9007199254740991) /* 2^53 - 1: exact in every JSON reader */

enum {
    EVENT_LINE_MAX = 8192,  /* bytes of one canonical line, without a newline */
    EVENT_UUID_LEN = 36,    /* id and boot: 8-4-4-4-12 lower-case hex */
    EVENT_NAME_MAX = 64,    /* device, class, session, fence, camera: [A-Za-z0-9._-]{1,64} */
    EVENT_HEX_LEN = 64,     /* prev, trainee, sha256: lower-case hex SHA-256 */
    EVENT_MASKED_LEN = 18,  /* trainee_masked: 1201**********123X */
    EVENT_TS_LEN = 24,      /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    EVENT_FILE_MAX = 1024,  /* bytes of UTF-8 in file (at least 1) */
    EVENT_DETAIL_MAX = 512, /* bytes of UTF-8 in detail (may be empty) */
    EVENT_KIND_MAX = 32,    /* kind: [a-z_]{1,32} */
    EVENT_SATS_MAX = 255,
    EVENT_MODE_MAX = 3,
    EVENT_NDJSON_MAX_LINES = 100000, /* lines event_chain_verify looks at */
};

/* Bounds of the scaled decimals (inclusive). eph up to 10,000 km and |distance| up to
 * 100,000 km are far beyond anything real and keep every value exact in a double. */
#define EVENT_LAT_E8_MAX INT64_C(9000000000)
#define EVENT_LON_E8_MAX INT64_C(18000000000)
#define EVENT_EPH_CM_MAX INT64_C(1000000000)
#define EVENT_DISTANCE_MM_MAX INT64_C(100000000000)

enum event_type {
    EVENT_SIGNIN = 1,
    EVENT_SIGNOUT,
    EVENT_REC_START,
    EVENT_REC_STOP,
    EVENT_REC_FILE,
    EVENT_HEARTBEAT,
    EVENT_GNSS,
    EVENT_CLOCK,
    EVENT_TAMPER,
    EVENT_ROLLCALL,         /* a random roll-call opened (随机点名) */
    EVENT_ROLLCALL_CONFIRM, /* a trainee answered one */
};

enum event_verdict {
    EVENT_INSIDE = 1,
    EVENT_OUTSIDE,
    EVENT_UNCERTAIN,
    EVENT_NO_FIX,
};

enum event_fix_source {
    EVENT_SOURCE_GNSS = 1,
    EVENT_SOURCE_SURVEYED,
};

/* The keys in their canonical order. The first eight are in every event. */
enum event_field {
    EVENT_F_ID,
    EVENT_F_DEVICE,
    EVENT_F_SEQ,
    EVENT_F_PREV,
    EVENT_F_TYPE,
    EVENT_F_TS,
    EVENT_F_BOOT,
    EVENT_F_MONO_MS,
    EVENT_F_TRAINEE,
    EVENT_F_TRAINEE_MASKED,
    EVENT_F_CLASS,
    EVENT_F_SESSION,
    EVENT_F_ROLLCALL,
    EVENT_F_FIX,
    EVENT_F_FENCE,
    EVENT_F_VERDICT,
    EVENT_F_DISTANCE_M,
    EVENT_F_OVERRIDE,
    EVENT_F_PHOTO_SHA256,
    EVENT_F_NO_PHOTO,
    EVENT_F_CAMERA,
    EVENT_F_FILE,
    EVENT_F_BYTES,
    EVENT_F_SHA256,
    EVENT_F_START,
    EVENT_F_END,
    EVENT_F_KIND,
    EVENT_F_DETAIL,
    EVENT_F_SKEW_MS,
    EVENT_F_QUEUE,
    EVENT_F_COUNT
};

/* Presence bit of an optional field in struct event.has. */
#define EVENT_HAS(field) (UINT32_C(1) << (field))

struct event_fix {
    int64_t lat_e8; /* degrees * 10^8, -90..90 */
    int64_t lon_e8; /* degrees * 10^8, -180..180 */
    bool has_eph;
    int64_t eph_cm; /* horizontal accuracy, metres * 100 */
    int mode;       /* gpsd fix mode 0..3 */
    bool has_sats;
    int sats; /* satellites used, 0..255 */
    bool has_time;
    int64_t time_ms; /* GNSS time of the fix, UTC ms */
    enum event_fix_source source;
};

/* One event. Fields id..mono_ms are always present; the others only when their EVENT_HAS bit
 * is set in has (bits of the first eight fields are ignored). Strings are NUL-terminated. */
struct event {
    uint32_t has;
    char id[EVENT_UUID_LEN + 1]; /* UUIDv7 */
    char device[EVENT_NAME_MAX + 1];
    int64_t seq;                  /* 1..EVENT_INT_MAX */
    char prev[EVENT_HEX_LEN + 1]; /* 64 zeros exactly when seq is 1 */
    enum event_type type;
    int64_t ts_ms;                 /* device UTC clock */
    char boot[EVENT_UUID_LEN + 1]; /* Linux boot_id */
    int64_t mono_ms;               /* CLOCK_BOOTTIME in that boot */
    char trainee[EVENT_HEX_LEN + 1];
    char trainee_masked[EVENT_MASKED_LEN + 1];
    char class_id[EVENT_NAME_MAX + 1]; /* key "class" */
    char session[EVENT_NAME_MAX + 1];
    char rollcall[EVENT_NAME_MAX + 1]; /* a roll-call's id within its session: R1, R2 ... */
    struct event_fix fix;
    char fence[EVENT_NAME_MAX + 1];
    enum event_verdict verdict;
    int64_t distance_mm; /* signed distance to the fence boundary, metres * 1000 */
    char override_check[EVENT_KIND_MAX + 1]; /* key "override": the kiosk check an operator
                                                overrode; only "roster" so far */
    char photo_sha256[EVENT_HEX_LEN + 1];    /* the kiosk screen's photo of this sign-in */
    char no_photo[EVENT_KIND_MAX + 1];       /* why there is none: no_camera, refused, failed */
    char camera[EVENT_NAME_MAX + 1];
    char file[EVENT_FILE_MAX + 1];
    int64_t bytes;
    char sha256[EVENT_HEX_LEN + 1];
    int64_t start_ms, end_ms;
    char kind[EVENT_KIND_MAX + 1];
    char detail[EVENT_DETAIL_MAX + 1];
    int64_t skew_ms;
    int64_t queue;
};

/* Validates ev and writes its canonical line to buf (cap bytes; EVENT_LINE_MAX + 1 always
 * suffices), NUL-terminated; *len gets the line length without the NUL. Returns 0, RC_INVAL
 * (a field is invalid or not allowed for the type; err names the key) or RC_LIMIT (the line
 * would exceed EVENT_LINE_MAX or cap - 1). */
int event_serialise(const struct event *ev, char *buf, size_t cap, size_t *len, char *err);

/* Parses exactly len bytes (one line, no newline) into *ev. Returns 0, RC_LIMIT for a line
 * over EVENT_LINE_MAX, or RC_INVAL for anything that is not a canonical event; err names the
 * key and byte offset. */
int event_parse(const char *line, size_t len, struct event *ev, char *err);

/* event_parse for a line this program stored after event_parse accepted it (the figures read
 * thousands a class): the same result, without re-serialising *ev to compare it with the line
 * (the recogniser accepts only canonical spellings, so that check never fails: test_event
 * refuses every bad line with both). */
int event_parse_stored(const char *line, size_t len, struct event *ev, char *err);

/* Checks ev as event_serialise would, without writing. Returns 0 or RC_INVAL with err. */
int event_validate(const struct event *ev, char *err);

/* Returns the wire name of t ("signin", ...) or NULL if t is not a type. Static storage. */
const char *event_type_name(enum event_type t);
/* Looks up a wire name; returns 0 and *t, or RC_INVAL if s is not a type name. */
int event_type_parse(const char *s, enum event_type *t);

/* True for the types a kiosk stamps with a fix and judges against its fence: sign-in, sign-out
 * and a roll-call confirmation. */
bool event_is_located(enum event_type t);
/* Wire name of a verdict ("inside", ...) or NULL. Static storage. */
const char *event_verdict_name(enum event_verdict v);
/* Looks up a verdict name; returns 0 and *v, or RC_INVAL. */
int event_verdict_parse(const char *s, enum event_verdict *v);
/* Wire name of a fix source ("gnss", "surveyed") or NULL; and the lookup: 0 and *out, or
 * RC_INVAL. */
const char *event_source_name(enum event_fix_source s);
int event_source_parse(const char *s, enum event_fix_source *out);
/* Wire name of a field ("trainee_masked", ...) or NULL. Static storage. */
const char *event_field_name(enum event_field f);

/* Converts a double to a scaled integer with `digits` fraction digits (0..9): v * 10^digits
 * rounded to the nearest integer, halves away from zero (llround). Returns 0 and *out, or
 * RC_INVAL for NaN, infinities and results beyond +-EVENT_INT_MAX. */
int event_decimal(double v, int digits, int64_t *out);

/* SHA-256 of exactly len bytes of line as 64 lower-case hex + NUL: the next event's prev. */
void event_hash_hex(const char *line, size_t len, char out[EVENT_HEX_LEN + 1]);

/* A device's hash chain position: the last accepted seq and the hash of its line. */
struct event_chain {
    int64_t seq;                     /* 0 before the first event */
    char head[EVENT_HEX_LEN + 1];    /* hash of event seq's bytes; 64 zeros when seq is 0 */
    char device[EVENT_NAME_MAX + 1]; /* "" until the first event, then every event's device */
};

/* Starts a chain before seq 1 (genesis prev, any device). Cannot fail. */
void event_chain_init(struct event_chain *c);
/* Resumes a chain after event seq of device whose line hashed to head (64 lower-case hex).
 * seq 0 means genesis and then head must be 64 zeros. Returns 0 or RC_INVAL (c unchanged). */
int event_chain_resume(struct event_chain *c, const char *device, int64_t seq, const char *head,
                       char *err);
/* Parses line (len bytes, no newline) into *ev (ev may be NULL) and checks it extends c: same
 * device, seq == c->seq + 1, prev == c->head; then advances c to it. Returns 0, RC_INVAL or
 * RC_LIMIT (not a canonical event), or RC_CONFLICT (does not link); c is unchanged on failure. */
int event_chain_step(struct event_chain *c, const char *line, size_t len, struct event *ev,
                     char *err);

/* Where event_chain_verify found the first broken link. */
struct event_chain_break {
    size_t line; /* 1-based line number in the input */
    int64_t seq; /* the seq that should have come next (c->seq + 1 at the break) */
};

/* Walks NDJSON (lines separated by '\n', the last newline optional, no empty lines) through
 * event_chain_step from *c. *count gets the number of events that linked. Returns 0 when all
 * link; otherwise the first failure's rc, with *brk and err (naming line, seq and reason) set
 * and *c left at the last good event. brk may be NULL. Over EVENT_NDJSON_MAX_LINES: RC_LIMIT. */
int event_chain_verify(struct event_chain *c, const char *ndjson, size_t len, size_t *count,
                       struct event_chain_break *brk, char *err);

#endif
