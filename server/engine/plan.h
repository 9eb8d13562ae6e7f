/* Class plans, online-platform records and assessment results: the import formats of
 * INTERFACES.md "Import formats", from JSON or CSV (docs/IMPORTS.md).
 *
 * Invariants:
 * - An import is all or nothing: either every record of the file is valid and *out holds them
 *   all, or the file is refused with one line naming the file, the CSV line or JSON path, and
 *   the reason, and *out is untouched.
 * - The structs below never hold a clear identity number: a roster or record's id_number is
 *   checked (GB 11643), turned into the institution's pseudonym and the masked form, and the
 *   clear text is wiped from every buffer this module allocated. Error messages never repeat it.
 * - CSV text may be UTF-8 (with or without a BOM) or GB18030 (what Excel in China writes); JSON
 *   is UTF-8 (RFC 8259), a BOM tolerated. Everything stored is UTF-8.
 * - A plan's sessions are sorted by start and do not overlap; its occupation and level are in
 *   the catalogue it was checked against. */
#ifndef ROLLCALL_PLAN_H
#define ROLLCALL_PLAN_H

#include "engine/catalogue.h"
#include "timeutil.h"
#include "trainee.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum {
    PLAN_ID_MAX = 64,            /* class, institution, session, fence ids: [A-Za-z0-9._-] */
    PLAN_NAME_MAX = 96,          /* bytes of UTF-8 in a trainee's name */
    PLAN_TEXT_MAX = 64,          /* bytes of a platform name or certificate number */
    PLAN_DISTRICT_LEN = 6,       /* administrative division code, 1201xx */
    PLAN_SESSIONS_MAX = 256,     /* sessions of one class */
    PLAN_ROSTER_MAX = 500,       /* trainees of one class */
    PLAN_FILE_MAX = 8 << 20,     /* bytes of an import file */
    PLAN_FILE_CLASSES_MAX = 200, /* classes in one import file */
    PLAN_RECORDS_MAX = 100000,   /* online records or assessments in one import file */
    PLAN_CSV_FIELDS_MAX = 32,    /* columns of a CSV file */
    PLAN_CSV_RECORD_MAX = 4096,  /* bytes of one CSV record */
    PLAN_ROLLCALLS_MAX = 8,      /* random roll-calls per offline session */
    PLAN_ROLLCALL_WINDOW_DEFAULT_MIN = 10, /* minutes to confirm a roll-call, by default */
    PLAN_ROLLCALL_WINDOW_MAX_MIN = 60,     /* the longest confirmation window */
};

#define PLAN_SESSION_MAX_MS INT64_C(43200000)  /* a session lasts at most 12 h */
#define PLAN_RECORD_MAX_MS INT64_C(86400000)   /* an online record spans at most 24 h */
#define PLAN_TIME_MIN_MS INT64_C(946656000000) /* 2000-01-01T00:00:00+08:00: earliest time */

enum plan_mode { PLAN_OFFLINE = 0, PLAN_ONLINE = 1 };
enum plan_format { PLAN_FORMAT_AUTO = 0, PLAN_FORMAT_JSON, PLAN_FORMAT_CSV };

struct plan_session {
    char id[PLAN_ID_MAX + 1];
    int64_t start_ms, end_ms; /* UTC ms; end > start */
    enum plan_mode mode;
    char fence[PLAN_ID_MAX + 1]; /* venue fence id; "" for an online session */
};

struct plan_trainee {
    char pseudonym[TRAINEE_PSEUDONYM_LEN + 1]; /* HMAC-SHA-256 under the institution's key */
    /* HMAC-SHA-256 under the collector-only city key (the same person in every institution,
     * for the city-wide subsidy limits); "" when the import had no city key */
    char city[TRAINEE_PSEUDONYM_LEN + 1];
    char masked[TRAINEE_ID_LEN + 1]; /* 1201**********123X */
    char name[PLAN_NAME_MAX + 1];
    bool student; /* a full-time student (院校学生): one subsidy a year */
};

struct plan {
    char id[PLAN_ID_MAX + 1];
    char institution[PLAN_ID_MAX + 1];
    char district[PLAN_DISTRICT_LEN + 1];
    char occupation[CATALOGUE_CODE_MAX + 1];
    enum catalogue_level level;
    int64_t applied_on_ms;       /* local midnight of the application date */
    int64_t rollcalls;           /* random roll-calls per offline session (随机点名), 0.. */
    int64_t rollcall_window_min; /* minutes a trainee has to confirm one */
    size_t n_sessions;           /* 1.. */
    struct plan_session sessions[PLAN_SESSIONS_MAX]; /* sorted by start, disjoint */
    size_t n_roster;
    struct plan_trainee roster[PLAN_ROSTER_MAX]; /* file order; pseudonyms unique */
};

/* One participation on the online platform. */
struct plan_online {
    char class_id[PLAN_ID_MAX + 1];
    char trainee[TRAINEE_PSEUDONYM_LEN + 1];
    char masked[TRAINEE_ID_LEN + 1];
    int64_t start_ms, end_ms;
    char platform[PLAN_TEXT_MAX + 1]; /* "" when not given */
};

/* One assessment result. */
struct plan_assessment {
    char class_id[PLAN_ID_MAX + 1];
    char trainee[TRAINEE_PSEUDONYM_LEN + 1];
    char masked[TRAINEE_ID_LEN + 1];
    bool passed;
    int64_t assessed_on_ms;              /* local midnight of the assessment date */
    char certificate[PLAN_TEXT_MAX + 1]; /* present exactly when passed */
};

/* How identity numbers are pseudonymised. lookup gives the key of an institution (plans:
 * institution set) or of the institution running a class (records: institution NULL); the
 * key stays the caller's. Returns 0, or nonzero when there is none (the import is refused).
 * now bounds birth dates (trainee_id_normalise). */
struct plan_keys {
    int (*lookup)(void *arg, const char *institution, const char *class_id, const uint8_t **key,
                  size_t *keylen);
    void *arg;
    time_t now;
    /* Optional: the collector-only city key (docs/SECURITY.md); rosters then carry each
     * trainee's city-wide pseudonym. Returns 0, or nonzero when there is none (refused). */
    int (*city)(void *arg, const uint8_t **key, size_t *keylen);
};

/* Imports class plans (one JSON object, a JSON array of them, or a CSV file) of len bytes;
 * origin (a file name) starts every error. Checks every plan against cat. On success *out is a
 * new array of *count plans (caller frees with free()). Returns 0, RC_INVAL, RC_LIMIT or
 * RC_NOMEM with err. */
int plan_import_classes(const char *data, size_t len, const char *origin, enum plan_format fmt,
                        const struct catalogue *cat, const struct plan_keys *keys,
                        struct plan **out, size_t *count, char *err);

/* Imports online-platform records; as plan_import_classes (array freed with free()). */
int plan_import_online(const char *data, size_t len, const char *origin, enum plan_format fmt,
                       const struct plan_keys *keys, struct plan_online **out, size_t *count,
                       char *err);

/* Imports assessment results; as plan_import_classes (array freed with free()). */
int plan_import_assessments(const char *data, size_t len, const char *origin, enum plan_format fmt,
                            const struct plan_keys *keys, struct plan_assessment **out,
                            size_t *count, char *err);

/* Turns import text into NUL-terminated UTF-8: a UTF-8 BOM is dropped; UTF-16 is refused;
 * text that is not UTF-8 is converted from GB18030 when allow_gb18030, else refused; NUL bytes
 * are refused. *out (caller frees with free()) and *outlen on success. Returns 0, RC_INVAL,
 * RC_LIMIT (over PLAN_FILE_MAX) or RC_NOMEM. */
int plan_decode_text(const char *data, size_t len, const char *origin, bool allow_gb18030,
                     char **out, size_t *outlen, char *err);

/* "offline" or "online"; NULL for anything else. Static storage. */
const char *plan_mode_name(enum plan_mode m);

/* The session with this id in p, or NULL. */
const struct plan_session *plan_find_session(const struct plan *p, const char *id);

/* Index of the roster entry with this pseudonym, or -1. */
long plan_find_trainee(const struct plan *p, const char *pseudonym);

#endif
