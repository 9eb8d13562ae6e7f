/* The collector's storage interface. One `store` is one connection to one database, chosen
 * by URL: `sqlite:PATH` (store_sqlite.c) or `postgresql://...` / `postgres://...`
 * (store_pg*.c, libpq), both implementing the function table of store_backend.h and held to
 * one contract suite (tests/unit/test_store_contract.c). No SQL appears outside a back-end
 * file (and store_copy.c, which moves a database from one back-end to the other).
 *
 * Invariants:
 * - A store handle is used by one thread at a time; it is not itself locked. Threads share
 *   handles through a store_pool (mutex + condition variable), never by passing one handle
 *   around concurrently. SQLite in WAL mode lets the pool's connections read in parallel and
 *   serialises writers (BEGIN IMMEDIATE, busy timeout).
 * - The schema only moves forward, by numbered migrations; each one is applied in its own
 *   transaction together with the row recording its number, so a database is always exactly
 *   at some version. A program refuses a database whose version is not the one it was built
 *   for (store_check_schema): older means "run migrate", newer means "upgrade the program".
 * - Tokens are stored as the SHA-256 of the token, never in clear.
 * - (device, seq) is unique among stored events; stored events are never overwritten.
 *
 * Functions returning int give 0 or a negative rc (rc.h) with one line in err. */
#ifndef ROLLCALL_SERVER_STORE_H
#define ROLLCALL_SERVER_STORE_H

#include "crypto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_pool store_pool;

enum {
    STORE_URL_MAX = 4096,
    STORE_ID_MAX = 64,              /* device, institution, fence, class ids */
    STORE_TOKEN_NAME_MAX = 64,      /* a token's name, as shown in logs */
    STORE_ROLE_MAX = 80,            /* "institution:" + an id */
    STORE_HASH_HEX_LEN = 64,        /* SHA-256 in hex, without NUL */
    STORE_POOL_MAX = 256,           /* connections in one pool */
    STORE_PROFILE_MAX = 128,        /* a kiosk's profile (model) name */
    STORE_PEM_MAX = 512,            /* a P-256 SubjectPublicKeyInfo PEM, with its NUL */
    STORE_KIND_MAX = 32,            /* a finding's or an event's kind */
    STORE_INSTITUTION_KEY_LEN = 32, /* bytes of an institution's pseudonym key */
    STORE_DETAIL_MAX = 512,         /* bytes of a finding's detail */
    STORE_DETAIL_CODE_MAX = 48,     /* bytes of a finding's detail template code */
    STORE_DETAIL_ARGS_MAX = 1024,   /* bytes of its arguments (a JSON object of strings) */
    STORE_BOOT_LEN = 36,            /* an event's boot id (a UUID) */
};

/* Flags for store_open. */
enum {
    STORE_OPEN_CREATE = 1, /* create the database if it does not exist (migrate does) */
    /* Commits never move the log into the database (SQLite: no WAL auto-checkpoint); the
     * caller does it with store_checkpoint at a moment when nobody waits for it. */
    STORE_OPEN_MANUAL_CHECKPOINT = 2,
};

/* What a device's latest uploads said about its health; has_* false when never reported. */
struct store_device_status {
    bool has_queue;
    int64_t queue; /* events waiting in the kiosk's outbox (latest heartbeat) */
    bool has_skew;
    int64_t clock_skew_ms;         /* latest clock event: device clock minus reference */
    char gnss[STORE_KIND_MAX + 1]; /* kind of the latest gnss event, "" when none */
    bool has_fix;
    int fix_mode;      /* gpsd mode of the latest fix carried by any event */
    int64_t fix_ts_ms; /* device time of that event */
};

/* A bearer token as stored: its hash, never the token itself. */
struct store_token {
    int64_t id;
    char hash[STORE_HASH_HEX_LEN + 1];
    char name[STORE_TOKEN_NAME_MAX + 1];
    char role[STORE_ROLE_MAX + 1];
    int64_t created_at_ms; /* UTC */
    bool revoked;
    char created_by[STORE_TOKEN_NAME_MAX + 1]; /* who made it: token name, "user:NAME" or
                                                  "cli:LOGIN"; "" when not known (older) */
    int64_t revoked_at_ms;                     /* 0: live */
    char revoked_by[STORE_TOKEN_NAME_MAX + 1]; /* who revoked it; "" when live */
};

/* An enrolled kiosk, as GET /v1/devices lists it. The status fields come from the latest
 * events of their kind the device uploaded (heartbeat queue, clock skew, gnss, fixes). */
struct store_device {
    char id[STORE_ID_MAX + 1];
    char institution[STORE_ID_MAX + 1];
    int64_t enrolled_at_ms;
    int64_t last_seen_at_ms; /* 0: never uploaded */
    int64_t head_seq;        /* last stored seq; 0: none */
    char profile[STORE_PROFILE_MAX + 1];
    char fence[STORE_ID_MAX + 1];
    struct store_device_status status;
};

/* Parses a URL and opens a connection (flags: STORE_OPEN_*). Returns 0 and *out (free with
 * store_close), RC_INVAL for a malformed or unknown URL, RC_STATE for a back-end this build
 * cannot serve yet, RC_NOTFOUND when the database does not exist and CREATE is not set,
 * RC_DB otherwise. */
int store_open(const char *url, unsigned flags, store **out, char *err);
/* Opens another connection to st's database, as store_open(url, 0) with the URL st was opened
 * with (a second connection for another thread). */
int store_open_again(const store *st, store **out, char *err);
/* Closes the connection (rolling back an open transaction) and frees st. NULL is a no-op. */
void store_close(store *st);
/* The back-end's name ("sqlite", "postgresql"); static. */
const char *store_backend(const store *st);

/* The schema version this program's back-end defines (its last migration's number). */
int store_schema_latest(const store *st);
/* The database's schema version into *version (0: empty database). */
int store_schema_version(store *st, int *version, char *err);
/* Applies every migration above the database's version, in order, one transaction each.
 * *from and *to (either may be NULL) receive the versions before and after. Running it on an
 * up-to-date database changes nothing. RC_STATE when the database is newer than this program. */
int store_migrate(store *st, int *from, int *to, char *err);
/* Like store_migrate but stops at version target (for staged upgrades and tests). */
int store_migrate_to(store *st, int target, int *from, int *to, char *err);
/* 0 when the database is exactly at store_schema_latest; RC_STATE with advice otherwise. */
int store_check_schema(store *st, char *err);

/* Writes a consistent copy of the whole database into dest_path, a file that must not exist
 * (created 0600), while other connections keep reading and writing (SQLite's online backup
 * API; the copy is a standalone file, not in WAL mode). On failure dest_path is removed.
 * RC_STATE for a back-end that has none (PostgreSQL: pg_dump, docs/OPERATIONS.md). */
int store_backup(store *st, const char *dest_path, char *err);
/* The back-end's full consistency check (SQLite: PRAGMA integrity_check). 0, RC_CORRUPT with
 * the first complaint, RC_STATE for a back-end that has none. */
int store_integrity_check(store *st, char *err);
/* Holds the database named by url against `restore` (shared) or against every server and
 * restore (exclusive) until store_release_hold(*fd): an flock(2) on the SQLite file, which
 * SQLite's own fcntl locks ignore. Nothing to hold for PostgreSQL (*fd = -1). RC_STATE when
 * the other side holds it, RC_NOTFOUND when the file does not exist. */
int store_hold(const char *url, bool exclusive, int *fd, char *err);
void store_release_hold(int fd);

/* Transactions. begin takes the write lock at once (SQLite: BEGIN IMMEDIATE) so two writers
 * never deadlock upgrading a read lock; on PostgreSQL (READ COMMITTED) store_head_get in a
 * write transaction locks the device's row instead, which is what keeps two writers (two
 * collectors) from both accepting one seq. Nested begin is RC_STATE. */
int store_begin(store *st, char *err);
int store_commit(store *st, char *err);
/* Rolls back the open transaction; a no-op without one. Cannot fail in a way callers can act
 * on, so it returns nothing. */
void store_rollback(store *st);

/* Savepoints inside an open transaction (name: [a-z_]{1,32}): a part of the transaction that
 * can be undone alone. rollback_to undoes everything since the savepoint and keeps it open;
 * release forgets it (its changes stay, to be committed with the transaction). */
int store_savepoint(store *st, const char *name, char *err);
int store_rollback_to(store *st, const char *name, char *err);
int store_release(store *st, const char *name, char *err);

/* Outside a transaction: moves committed data from the back-end's log into the database when
 * the log has grown past the back-end's threshold (SQLite: a PASSIVE WAL checkpoint once the
 * WAL holds 1000 pages, as auto-checkpoint would), else does nothing. *done (may be NULL)
 * tells whether one ran or was started. For connections opened with
 * STORE_OPEN_MANUAL_CHECKPOINT. SQLite runs it on a thread and connection of the store's own,
 * so the caller goes on writing while it runs (the caller waits only when the WAL has grown
 * to 8 times the threshold: then it checkpoints itself, as before). */
int store_checkpoint(store *st, bool *done, char *err);

/* Stores a token (t->hash, name, role, created_at_ms, created_by; id is ignored). RC_CONFLICT
 * when the name or hash is taken. */
int store_token_insert(store *st, const struct store_token *t, char *err);
/* Finds the unrevoked token whose hash is hash_hex. RC_NOTFOUND when none. */
int store_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err);
/* Calls fn for every token, revoked ones included, by name; the hash is never read (t->hash is
 * ""). fn returning non-zero stops the walk and that value is returned. */
int store_token_list(store *st, int (*fn)(const struct store_token *t, void *ctx), void *ctx,
                     char *err);
/* Revokes the live token named name at now_ms, recording by (who revoked it): lookups refuse
 * it from then on, on every collector of the database. RC_NOTFOUND when no token has that
 * name, RC_CONFLICT when it is revoked already. */
int store_token_revoke(store *st, const char *name, const char *by, int64_t now_ms, char *err);

/* Number of devices that have uploaded at least once. */
int store_device_count_seen(store *st, int64_t *n, char *err);
/* Calls fn for each enrolled device in id order, at most limit of them; fn returning non-zero
 * stops the walk and that value is returned. */
int store_device_list(store *st, size_t limit, int (*fn)(const struct store_device *d, void *ctx),
                      void *ctx, char *err);

/* Calls fn for each enrolled device of institution (NULL: any) whose institution is in district
 * (NULL: any; the institutions' registered district) in id order, at most limit of them; as
 * store_device_list otherwise. */
int store_device_list_scoped(store *st, const char *institution, const char *district, size_t limit,
                             int (*fn)(const struct store_device *d, void *ctx), void *ctx,
                             char *err);

/* Enrolment: what the collector knows about a device to check its uploads. */
struct store_enrolment {
    char id[STORE_ID_MAX + 1];
    char institution[STORE_ID_MAX + 1];
    char public_key_pem[STORE_PEM_MAX]; /* SubjectPublicKeyInfo PEM, NUL-terminated */
    char profile[STORE_PROFILE_MAX + 1];
    char fence[STORE_ID_MAX + 1]; /* the venue fence id it was enrolled with */
    double assumed_eph_m;         /* accuracy assumed for fixes without eph */
    int64_t enrolled_at_ms;
    char enrolled_by[STORE_TOKEN_NAME_MAX + 1]; /* the enrol token's name ("" when not known:
                                                 * enrolled before schema 9); set on insert, kept
                                                 * by a re-enrolment */
};

/* Reads device id's enrolment. RC_NOTFOUND when it is not enrolled. */
int store_enrolment_get(store *st, const char *id, struct store_enrolment *out, char *err);
/* Enrols a new device (every field of e). RC_CONFLICT when the id exists; RC_NOTFOUND when
 * e->institution does not exist (create it first with store_institution_key). */
int store_enrolment_insert(store *st, const struct store_enrolment *e, char *err);
/* Updates an enrolled device's profile, fence and assumed_eph_m (a re-enrolment with the same
 * key); id, institution and key never change. RC_NOTFOUND when not enrolled. */
int store_enrolment_update(store *st, const struct store_enrolment *e, char *err);

/* The pseudonym key of institution id into key. When the institution is new it is created
 * with candidate as its key (*created true). Call inside a transaction so two enrolments of
 * a new institution agree on one key. */
int store_institution_key(store *st, const char *id,
                          const uint8_t candidate[STORE_INSTITUTION_KEY_LEN], int64_t now_ms,
                          uint8_t key[STORE_INSTITUTION_KEY_LEN], bool *created, char *err);

/* A device's chain head: its last stored seq (0: none) and that event's line hash (64 zeros
 * when none), read with that event's clock columns (ingest's clock-jump check across batches
 * needs them): has_event false when there is no head, or its event is missing (corrupt). */
struct store_head {
    int64_t seq;
    char hash[STORE_HASH_HEX_LEN + 1];
    bool has_event;
    int64_t ts_ms, mono_ms;
    char boot[STORE_BOOT_LEN + 1]; /* "" when the event has none */
};
int store_head_get(store *st, const char *device, struct store_head *out, char *err);
/* Moves device's head to (seq, hash). Only forward: RC_CONFLICT when seq is not above the
 * stored head's. */
int store_head_advance(store *st, const char *device, int64_t seq, const char *hash, int64_t now_ms,
                       char *err);

/* One stored event: the received line and the columns reports query. Strings are "" and
 * has_* false when the event has no such field. */
struct store_event {
    const char *device;
    int64_t seq;
    const char *event_id;
    const char *raw; /* the line's exact bytes, without newline */
    size_t raw_len;
    const char *hash; /* hex SHA-256 of raw */
    const char *prev;
    const char *type;
    int64_t ts_ms;
    const char *boot;
    int64_t mono_ms;
    const char *trainee, *trainee_masked, *class_id, *session, *fence;
    const char *verdict; /* the kiosk's */
    bool has_distance;
    double distance_m; /* the kiosk's */
    bool has_fix;
    double fix_lat, fix_lon;
    bool has_eph;
    double fix_eph;
    int fix_mode;
    bool has_fix_time;
    int64_t fix_time_ms;
    const char *fix_source;
    const char *server_verdict; /* re-judged here; "" when not judged */
    bool has_server_distance;
    double server_distance_m;
    int server_fence_version; /* version of the fence that judged it, 0 when none */
    const char *camera, *file;
    bool has_start, has_end;
    int64_t start_ms, end_ms;
    const char *kind;
    int64_t received_at_ms;
    /* Schema 18: the rest of what the figures read of an event, so that they need not parse
     * the line. cols says that every column above and below was filled from the line's event
     * (store_event_from); rows made otherwise (cols false) are stored with the marker NULL and
     * read back by parsing their line. */
    bool cols;
    const char *rollcall;
    bool has_skew;
    int64_t skew_ms;
    bool has_sats;
    int fix_sats;
};

struct event;
/* Fills r (zeroed first) with the row of ev, whose canonical line is raw (raw_len bytes) with
 * hex SHA-256 hash: every column the event gives, cols true. Strings point into ev, raw and
 * hash. The caller adds what the server decides: server_verdict (""), the server's distance
 * and fence version, received_at_ms. */
void store_event_from(const struct event *ev, const char *raw, size_t raw_len, const char *hash,
                      struct store_event *r);

/* Stores one event. RC_CONFLICT when (device, seq) is stored already (never overwritten). */
int store_event_insert(store *st, const struct store_event *e, char *err);
/* Stores n events (rows in order, n >= 1) as store_event_insert would one by one, all or none:
 * in a transaction of its own when the caller holds none; in the caller's, a failure leaves
 * that transaction (or its savepoint) to be rolled back, as after any failed op. PostgreSQL
 * sends them as multi-row statements, one round trip for up to 16 rows. */
int store_events_insert(store *st, const struct store_event *rows, size_t n, char *err);
/* The stored line of (device, seq) into buf (cap bytes, NUL-terminated), *len its length.
 * RC_NOTFOUND when none, RC_LIMIT when it does not fit. */
int store_event_raw(store *st, const char *device, int64_t seq, char *buf, size_t cap, size_t *len,
                    char *err);
/* Records what a device's last batch said about its health, and that it was seen at now_ms.
 * Fields whose has_* is false (gnss "") keep their stored values. */
int store_device_seen(store *st, const char *device, const struct store_device_status *s,
                      int64_t now_ms, char *err);

/* A finding: something a reviewer should look at. seq 0 means none; strings may be "". */
struct store_finding {
    const char *kind;     /* chain_conflict, chain_break, bad_signature, bad_event, ... */
    const char *severity; /* high, medium, low */
    const char *device;
    int64_t seq;
    const char *institution;
    const char *class_id;
    const char *trainee;
    const char *detail; /* one line, at most STORE_DETAIL_MAX bytes (longer is cut) */
    /* The catalogue's template detail.<detail_code> and its arguments (a JSON object of
     * strings), from which a reader renders detail in its own language; detail is its English
     * text. NULL (or a code or arguments over their limits): none, detail is all there is. */
    const char *detail_code;
    const char *detail_args;
    int64_t created_at_ms;
};
int store_finding_insert(store *st, const struct store_finding *f, char *err);

/* A venue fence as stored: one GeoJSON Feature per version; sha256 identifies its geometry
 * (see fences.h). */
struct store_fence {
    char id[STORE_ID_MAX + 1];
    int version;
    char *geojson; /* malloc'd, NUL-terminated; free with store_fence_clear */
    char sha256[STORE_HASH_HEX_LEN + 1];
    int64_t created_at_ms;
};
/* The current version of fence id. RC_NOTFOUND when none. */
int store_fence_current(store *st, const char *id, struct store_fence *out, char *err);
/* Frees out->geojson. */
void store_fence_clear(struct store_fence *f);

enum store_fence_outcome {
    STORE_FENCE_NEW,      /* first version stored */
    STORE_FENCE_SAME,     /* the current version has this sha256: nothing changed */
    STORE_FENCE_REPLACED, /* replace: the current version superseded by a new one */
};
/* Stores geojson (a Feature) as fence id with geometry digest sha256. A known id with another
 * sha256 is RC_CONFLICT unless replace, which supersedes the current version (kept as history)
 * with version + 1. *outcome and *version (either may be NULL) say what happened. Writers
 * putting one id at once take turns (the second sees the first's version once it commits):
 * two kiosks of a new venue enrolling together both succeed. */
int store_fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                    const char *created_by, int64_t now_ms, bool replace,
                    enum store_fence_outcome *outcome, int *version, char *err);

/* ---- Figures: class plans, online records, assessments, reviews, the figures cache. ----
 * A class's plan is stored as parsed columns (classes, sessions, roster; the roster keeps the
 * pseudonym, the masked number and the name, never the clear number) plus the pseudonymised
 * plan as JSON. Every input a class's figures depend on (its plan, its events, online records,
 * assessments, reviews, claim steps) bumps the class's generation (classes.gen) inside the
 * same transaction: store.c does it, on every back-end, once per class when the writing
 * transaction commits (a write outside a transaction gets one of its own); a write that
 * changes nothing (a duplicate, an identical re-upload) bumps nothing. Inside the writing
 * transaction the generation is still the old one. The figures cache (class_figures) holds
 * figures computed at one generation and is fresh only while the generation is unchanged.
 * The cache is derived: dropping it changes no figure. */

struct plan;
struct plan_online;
struct plan_assessment;

enum {
    STORE_DISTRICT_LEN = 6,
    STORE_EVENT_TYPE_MAX = 16,
    STORE_VERDICT_MAX = 16,
    STORE_UUID_LEN = 36,
    STORE_PSEUDONYM_LEN = 64,
    STORE_MASKED_LEN = 18,
    STORE_REASON_MAX = 256, /* bytes of a reviewer's reason (ENGINE_REASON_MAX) */
    STORE_POLICY_MAX = 32,  /* a policy's name */
    STORE_CODE_MAX = 15,    /* an occupation code */
    STORE_TEXT_MAX = 64,    /* a platform name, a certificate number */
};

/* A class's parsed columns, and the district its institution is registered in. */
struct store_class {
    char id[STORE_ID_MAX + 1];
    char institution[STORE_ID_MAX + 1];
    char district[STORE_DISTRICT_LEN + 1]; /* the plan's (equal to the institution's) */
    char occupation[STORE_CODE_MAX + 1];
    int level;                /* enum catalogue_level */
    int64_t applied_on_ms;    /* local midnight */
    int64_t start_ms, end_ms; /* first session's start, last session's end */
    int64_t n_sessions, n_roster;
    int64_t gen; /* inputs generation */
    int64_t updated_at_ms;
};

/* Which classes a list covers: every non-empty field narrows it; from/to (0: open) keep the
 * classes whose sessions overlap [from_ms, to_ms). */
struct store_class_filter {
    const char *institution;
    const char *district; /* the institution's registered district */
    int64_t from_ms, to_ms;
};

/* ---- Flat rows: what the back-ends store and read for the figures' inputs. ----
 * The back-ends see these only, never the engine's types (struct plan, plan_online,
 * plan_assessment, enum catalogue_level): store_map.c maps between the two, once for every
 * back-end, and checks that the sizes agree. */
enum {
    STORE_LEVEL_MAX = 15,     /* a level by name ("junior", "intermediate", "senior") */
    STORE_MODE_MAX = 7,       /* a session's mode ("offline", "online") */
    STORE_NAME_MAX = 96,      /* bytes of a trainee's name (PLAN_NAME_MAX) */
    STORE_SESSIONS_MAX = 256, /* sessions of one class (PLAN_SESSIONS_MAX) */
    STORE_ROSTER_MAX = 500,   /* trainees of one class (PLAN_ROSTER_MAX) */
};

/* A row of classes as a back-end reads it: struct store_class with the level by name. */
struct store_class_row {
    char id[STORE_ID_MAX + 1];
    char institution[STORE_ID_MAX + 1];
    char district[STORE_DISTRICT_LEN + 1];
    char occupation[STORE_CODE_MAX + 1];
    char level[STORE_LEVEL_MAX + 1];
    int64_t applied_on_ms;
    int64_t start_ms, end_ms;
    int64_t n_sessions, n_roster;
    int64_t gen;
    int64_t updated_at_ms;
};

struct store_session_row {
    char id[STORE_ID_MAX + 1];
    int64_t start_ms, end_ms;
    char mode[STORE_MODE_MAX + 1];
    char fence[STORE_ID_MAX + 1]; /* "" for an online session */
};

struct store_roster_row {
    char trainee[STORE_PSEUDONYM_LEN + 1];
    char city[STORE_PSEUDONYM_LEN + 1]; /* the city-wide pseudonym, "" when none */
    char masked[STORE_MASKED_LEN + 1];
    char name[STORE_NAME_MAX + 1];
    bool student;
};

/* A class plan as rows (classes, sessions, roster). Large: allocate it. level "" when the
 * plan's level has no name (the back-end refuses it, after checking the class's owner). */
struct store_plan_rows {
    char id[STORE_ID_MAX + 1];
    char institution[STORE_ID_MAX + 1];
    char district[STORE_DISTRICT_LEN + 1];
    char occupation[STORE_CODE_MAX + 1];
    char level[STORE_LEVEL_MAX + 1];
    int64_t applied_on_ms;
    int64_t rollcalls;
    int64_t rollcall_window_min; /* as stored: store_map.c puts the default in for 0 */
    size_t n_sessions;
    struct store_session_row sessions[STORE_SESSIONS_MAX]; /* by start */
    size_t n_roster;
    struct store_roster_row roster[STORE_ROSTER_MAX]; /* in roster order */
};

struct store_online_row {
    char class_id[STORE_ID_MAX + 1];
    char trainee[STORE_PSEUDONYM_LEN + 1];
    char masked[STORE_MASKED_LEN + 1];
    int64_t start_ms, end_ms;
    char platform[STORE_TEXT_MAX + 1];
};

struct store_assessment_row {
    char class_id[STORE_ID_MAX + 1];
    char trainee[STORE_PSEUDONYM_LEN + 1];
    char masked[STORE_MASKED_LEN + 1];
    bool passed;
    int64_t assessed_on_ms;
    char certificate[STORE_TEXT_MAX + 1];
};

/* A passed assessment of the subsidy history as a back-end reads it (store_subsidy_past,
 * level by name). */
struct store_subsidy_past_row {
    char class_id[STORE_ID_MAX + 1];
    char occupation[STORE_CODE_MAX + 1];
    char level[STORE_LEVEL_MAX + 1];
    int64_t assessed_on_ms;
};

/* The district institution id is registered in, into district ("" when unregistered).
 * RC_NOTFOUND when the institution does not exist. */
int store_institution_district(store *st, const char *id, char district[STORE_DISTRICT_LEN + 1],
                               char *err);
/* Registers institution id in district (it must exist). Registering again in the same district
 * is a no-op; another district is RC_CONFLICT. */
int store_institution_register(store *st, const char *id, const char *district, char *err);

/* Stores plan p (pseudonymised; plan_json is its JSON without clear numbers), replacing the
 * sessions and roster of an existing class of the same institution. RC_CONFLICT when the class
 * belongs to another institution. *created (may be NULL) says whether it is new. Call in a
 * transaction. */
int store_class_put(store *st, const struct plan *p, const char *plan_json, const char *by,
                    int64_t now_ms, bool *created, char *err);
/* The parsed columns of class id. RC_NOTFOUND when there is none. */
int store_class_get(store *st, const char *id, struct store_class *out, char *err);
/* The plan of class id rebuilt from its tables into *out (the caller's; large: allocate it),
 * each trainee with the city-wide pseudonym ("" for a roster stored without one).
 * RC_NOTFOUND when there is none. */
int store_class_plan(store *st, const char *id, struct plan *out, char *err);
/* Calls fn for each class matching f, by institution then start then id; at most limit. */
int store_class_list(store *st, const struct store_class_filter *f, size_t limit,
                     int (*fn)(const struct store_class *c, void *ctx), void *ctx, char *err);

/* Stores one online record. The same record again (class, trainee, start, end, platform) is
 * a duplicate: nothing changes and *duplicate (may be NULL) is true. RC_NOTFOUND when the
 * class does not exist. */
int store_online_insert(store *st, const struct plan_online *r, const char *by, int64_t now_ms,
                        bool *duplicate, char *err);
/* Calls fn for each online record of class_id, by trainee then start. */
int store_online_list(store *st, const char *class_id,
                      int (*fn)(const struct plan_online *r, void *ctx), void *ctx, char *err);
/* Stores a trainee's assessment result in a class; a later result replaces an earlier one
 * (the history stays in assessment_history). RC_NOTFOUND when the class does not exist. */
int store_assessment_put(store *st, const struct plan_assessment *a, const char *by, int64_t now_ms,
                         char *err);
/* Calls fn for each current assessment result of class_id, by trainee. */
int store_assessment_list(store *st, const char *class_id,
                          int (*fn)(const struct plan_assessment *a, void *ctx), void *ctx,
                          char *err);

/* An event as the figures read it: the server's verdict of its fix ("" when it did not judge
 * one), when the server first stored it, and row, its columns as store_event_from made them.
 * raw, the stored line, only for a row without the columns (row->cols false: stored before
 * schema 18, or not from its line), whose line must be parsed instead; for the others raw is
 * "" (store_event_raw reads it). Pointers are valid during the callback only. */
struct store_raw_event {
    const char *raw;
    size_t raw_len;
    const char *server_verdict;
    int64_t received_at_ms;
    const struct store_event *row;
};

/* Calls fn for each event naming class_id uploaded by a device of institution (other
 * institutions' devices cannot speak for its classes), whatever its device time (a recording
 * registered late, a kiosk clock that was wrong), by (device, seq). */
int store_class_events(store *st, const char *class_id, const char *institution,
                       int (*fn)(const struct store_raw_event *e, void *ctx), void *ctx, char *err);
/* A stored event's row id and line, as store_events_uncolumned gives it. */
struct store_event_line {
    int64_t id;
    const char *raw;
    size_t raw_len;
};
/* Calls fn for up to limit events stored without the figures' columns (cols NULL: stored
 * before schema 18, or by hand) with row id > after_id, by id. */
int store_events_uncolumned(store *st, int64_t after_id, size_t limit,
                            int (*fn)(const struct store_event_line *e, void *ctx), void *ctx,
                            char *err);
/* Writes the figures' columns of event rows ids[0..n) from rows[0..n) (each store_event_from
 * of that row's line; a row with cols false: RC_INVAL, nothing written), the columns that no
 * index holds: the keys (device, seq, id, type, ts, class, trainee) stay as stored. A row that
 * has its columns already, or no longer exists, is left; *changed (may be NULL): the rows
 * written. PostgreSQL sends up to 16 rows a statement. */
int store_event_columns_fill(store *st, const int64_t *ids, const struct store_event *rows,
                             size_t n, int64_t *changed, char *err);
/* Fills the figures' columns of every event stored without them, chunk rows (>= 1) a
 * transaction: each line is parsed and mapped by store_event_from, as ingest does. A line that
 * does not parse as a canonical event is left as it was and counted in *unparsed (the figures
 * read it as before). *filled: the rows filled. Resumable: a row filled stays filled. */
int store_events_backfill(store *st, size_t chunk, int64_t *filled, int64_t *unparsed, char *err);
/* Calls fn for each event of device that names no class, with ts in [from_ms, to_ms)
 * (heartbeats, clock and GNSS reports, tamper alarms), by ts, then seq (the order of the index
 * that holds them: a kiosk whose clock stepped back has a later seq before an earlier one). */
int store_device_events(store *st, const char *device, int64_t from_ms, int64_t to_ms,
                        int (*fn)(const struct store_raw_event *e, void *ctx), void *ctx,
                        char *err);
/* The kiosks' own events of a whole class in one call: for each device store_class_devices
 * lists for class_id and institution (by id), for each of the class's offline sessions (by
 * start, id: the plan's order), calls fn for each event of the device that names no class with
 * ts in [start - early_ms, end + grace_ms), by ts, then seq; exactly what store_device_events
 * gives window by window (an event in two windows comes twice). */
int store_class_device_events(store *st, const char *class_id, const char *institution,
                              int64_t early_ms, int64_t grace_ms,
                              int (*fn)(const struct store_raw_event *e, void *ctx), void *ctx,
                              char *err);
/* Calls fn (device id, its enrolled fence or "") for each device of institution that stands
 * at a venue of one of class_id's offline sessions or uploaded events naming class_id, by id. */
int store_class_devices(store *st, const char *class_id, const char *institution,
                        int (*fn)(const char *device, const char *fence, void *ctx), void *ctx,
                        char *err);
/* Calls fn (device, seq, the stored event's id) for each chain_conflict finding of device. */
int store_device_conflicts(store *st, const char *device,
                           int (*fn)(const char *device, int64_t seq, const char *event_id,
                                     void *ctx),
                           void *ctx, char *err);

/* A stored event found by its event id, with the class and institution it belongs to. */
struct store_event_ref {
    char device[STORE_ID_MAX + 1];
    int64_t seq;
    char event_id[STORE_UUID_LEN + 1];
    char type[STORE_EVENT_TYPE_MAX + 1];
    char class_id[STORE_ID_MAX + 1];            /* "" when the event names none */
    char institution[STORE_ID_MAX + 1];         /* the uploading device's */
    char district[STORE_DISTRICT_LEN + 1];      /* that institution's registration, "" when none */
    char server_verdict[STORE_VERDICT_MAX + 1]; /* "" when the server judged no fix */
};
/* Finds the event whose id is event_id. RC_NOTFOUND when none; RC_CONFLICT when two devices
 * sent the same id (then it cannot be reviewed by id). */
int store_event_find(store *st, const char *event_id, struct store_event_ref *out, char *err);

/* A reviewer's decision on a flagged event. */
struct store_review {
    int64_t id;
    char device[STORE_ID_MAX + 1];
    int64_t seq;
    char event_id[STORE_UUID_LEN + 1];
    char class_id[STORE_ID_MAX + 1];
    bool approved;
    char reason[STORE_REASON_MAX + 1];
    char reviewer[STORE_TOKEN_NAME_MAX + 1]; /* the token's name */
    int64_t reviewed_at_ms;
};
/* Stores a review (id is assigned into r->id). Reviews are never changed or deleted; a later
 * review of the same event supersedes an earlier one. */
int store_review_insert(store *st, struct store_review *r, char *err);
/* Calls fn for the latest review of each reviewed event of class_id, by (device, seq). */
int store_review_list(store *st, const char *class_id,
                      int (*fn)(const struct store_review *r, void *ctx), void *ctx, char *err);

/* A class's figures as cached: the sums institutions and districts aggregate hours-weighted
 * (DOMAIN.md), and counts; the fields of engine_total for one class. */
struct store_figures {
    int64_t valid_until_ms;   /* the first unheld session's end (INT64_MAX: all held) */
    int64_t minutes_per_hour; /* of the policy */
    int64_t scheduled_ms;     /* one trainee's scheduled (held) time */
    int64_t planned_ms, online_planned_ms;
    int64_t offline_held_ms, recorded_ms;
    int64_t roster_scheduled_ms, roster_attended_ms, roster_online_ms;
    int64_t enrolled, assessed, passed;
    int64_t findings[3];      /* by severity: info, warning, serious */
    int64_t findings_pending; /* flagged sign-ins/outs not reviewed yet */
};
/* The cached figures of class_id under policy, fresh only when computed at generation gen and
 * still valid at now_ms. *found false when there is no fresh entry. */
int store_figures_get(store *st, const char *class_id, const char *policy, int64_t gen,
                      int64_t now_ms, struct store_figures *out, bool *found, char *err);
/* store_figures_get for n classes at once (ids[i] at generation gens[i]): out[i] and found[i]
 * as store_figures_get would give them. One statement per STORE_FIGURES_BATCH classes on a
 * server back-end, so a summary of cached classes costs a round trip, not one per class. */
enum { STORE_FIGURES_BATCH = 1000 };
int store_figures_get_many(store *st, const char *const *ids, const int64_t *gens, size_t n,
                           const char *policy, int64_t now_ms, struct store_figures *out,
                           bool *found, char *err);
/* Caches figures of class_id under policy computed at generation gen; stores nothing when the
 * class has moved past gen meanwhile (the next reader recomputes). */
int store_figures_put(store *st, const char *class_id, const char *policy, int64_t gen,
                      const struct store_figures *f, int64_t now_ms, char *err);
/* Drops every cached figure (the cache is derived; tests compare cached with recomputed). */
int store_figures_clear(store *st, char *err);

/* A serious finding of the engine, computed on read (never stored as such), as the alert
 * outbox learns of it. Its key (class, kind, subject, session) is stable across recomputation:
 * the same finding computed again, by this collector or another, is the same key. */
struct store_engine_alert {
    char kind[STORE_EVENT_TYPE_MAX * 2 + 1]; /* engine_finding_name */
    char subject[STORE_PSEUDONYM_LEN + 1];   /* class, session, pseudonym, device or fence id */
    char session[STORE_ID_MAX + 1];          /* "" when none */
    char trainee[STORE_PSEUDONYM_LEN + 1];   /* "" when none */
    char detail[STORE_DETAIL_MAX + 1];
};
/* Records the serious engine findings a[0..n) of class_id (of institution), in one transaction
 * (or the caller's): each whose key is new is stored as a finding of severity "high" (so the
 * outbox trigger queues it for every live subscription, exactly as an ingest finding) in the
 * same transaction as its key; a known key changes nothing. Two collectors recording the same
 * key store it once (the key is unique; the second waits and finds it). *added (may be NULL)
 * counts the new keys. The findings stored so are not listed by store_finding_list (they are
 * the engine's, listed as computed). */
int store_engine_alerts_record(store *st, const char *class_id, const char *institution,
                               const struct store_engine_alert *a, size_t n, int64_t now_ms,
                               size_t *added, char *err);

/* A stored finding (chain conflicts, bad signatures ...) as listed. */
struct store_finding_row {
    int64_t id;
    char kind[STORE_EVENT_TYPE_MAX * 2 + 1];
    char severity[16];
    char device[STORE_ID_MAX + 1];
    int64_t seq;
    char institution[STORE_ID_MAX + 1];
    char class_id[STORE_ID_MAX + 1];
    char detail[STORE_DETAIL_MAX + 1];           /* a detail cut to STORE_DETAIL_MAX fits */
    char detail_code[STORE_DETAIL_CODE_MAX + 1]; /* "" when none (rows before migration 17) */
    char detail_args[STORE_DETAIL_ARGS_MAX + 1]; /* JSON object; "" when no code */
    int64_t created_at_ms;
};
/* Which stored findings a list covers; empty fields do not narrow. */
struct store_finding_filter {
    const char *institution;
    const char *district;
    const char *class_id;
    int64_t since_ms; /* 0: all */
};
/* Calls fn for each stored finding matching f, newest first; at most limit. */
int store_finding_list(store *st, const struct store_finding_filter *f, size_t limit,
                       int (*fn)(const struct store_finding_row *r, void *ctx), void *ctx,
                       char *err);

/* A trainee's earlier certification (the subsidy history: a passed assessment of another
 * class of the same institution, whose pseudonyms identify the trainee, or of any
 * institution's class whose roster holds the same city-wide pseudonym). */
struct store_subsidy_past {
    char class_id[STORE_ID_MAX + 1];
    char occupation[STORE_CODE_MAX + 1];
    int level;
    int64_t assessed_on_ms;
};
/* Calls fn for each passed assessment of trainee in a class of institution other than
 * except_class, and of the person with the same city-wide pseudonym as trainee has on
 * except_class's roster in a class of any institution, by date. */
int store_subsidy_history(store *st, const char *institution, const char *trainee,
                          const char *except_class,
                          int (*fn)(const struct store_subsidy_past *p, void *ctx), void *ctx,
                          char *err);

/* One transition of the subsidy procedure (engine/procedure.h, docs/SUBSIDY.md): who did
 * what to which class's application or claim, when, on which business date and why. The steps
 * of one (kind, subject) form a chain: each names the step it follows (prev, 0 for the first),
 * and a second step after the same one is refused (RC_CONFLICT), so two people acting on the
 * same state at once cannot both succeed. Append-only. */
enum { STORE_STEP_WORD_MAX = 24, STORE_STEP_REASON_MAX = 500, STORE_STEP_DATA_MAX = 4096 };
struct store_step {
    int64_t id;                            /* set by the insert */
    int64_t prev;                          /* the step this one follows; 0 for the first */
    char kind[STORE_STEP_WORD_MAX + 1];    /* "application", "claim" */
    char subject[STORE_ID_MAX + 1];        /* the class id */
    char action[STORE_STEP_WORD_MAX + 1];  /* "submit", "approve", "return", ... */
    char state[STORE_STEP_WORD_MAX + 1];   /* the state after it */
    char finding[STORE_STEP_WORD_MAX + 1]; /* "late_application", "late_review", ... or "" */
    int64_t on_ms;                         /* the business date (local midnight) */
    char by[STORE_ROLE_MAX + 1];           /* who: token or user name with its role */
    int64_t at_ms;                         /* when it was recorded */
    char reason[STORE_STEP_REASON_MAX + 1];
    char data[STORE_STEP_DATA_MAX + 1]; /* JSON object: payment, frozen figures; "" for none */
};
/* Appends step s (s->id set). Returns 0, RC_CONFLICT (another step already follows s->prev,
 * or s->prev is not the chain's last), RC_INVAL with err. */
int store_step_insert(store *st, struct store_step *s, char *err);
/* Calls fn for each step of kind (and subject; NULL: every subject), oldest first. */
int store_step_list(store *st, const char *kind, const char *subject,
                    int (*fn)(const struct store_step *s, void *ctx), void *ctx, char *err);

/* True while a transaction (read or write) is open on st. */
bool store_in_transaction(const store *st);
/* Opens a read transaction: every read until store_rollback sees one snapshot. */
int store_begin_read(store *st, char *err);

/* The benchmarks' baseline: a plain full scan of the events table (count, sum of ts): the
 * table's rows, never an index that happens to hold ts (SQLite's NOT INDEXED; PostgreSQL has
 * no full index holding ts since schema 19). */
int store_events_scan(store *st, int64_t *count, int64_t *sum, char *err);

/* The schema also holds institutions (with their pseudonym key), devices (public key PEM,
 * institution, profile, fence), events (unique (device, seq), raw bytes, hash, parsed columns),
 * chain heads per device, findings, and fences with their history. Their functions arrive with
 * enrolment and ingest: one wrapper here, one slot in struct store_ops (store_backend.h), one
 * implementation per back-end; a back-end whose slot is NULL answers RC_STATE. */

/* ---- Accounts: people who log in with a password, their sessions, failed logins. ----
 * A user's password is stored only as an Argon2id PHC string (http/password.h); a session
 * only as the SHA-256 (hex) of its random id, so a copy of the database yields neither a
 * password nor a live session. Failed logins are counted per SHA-256 of the name as typed
 * (known or not), so throttling answers the same for every name. */

enum {
    STORE_USER_NAME_MAX = 48,      /* a login name: 1..48 of [A-Za-z0-9._@-] */
    STORE_PASSWORD_HASH_MAX = 160, /* an Argon2id PHC string, without NUL */
};

struct store_user {
    char name[STORE_USER_NAME_MAX + 1];
    char role[STORE_ROLE_MAX + 1];
    char password_hash[STORE_PASSWORD_HASH_MAX + 1];
    int64_t created_at_ms;
    int64_t password_changed_at_ms;
    int64_t disabled_at_ms;   /* 0: enabled */
    int64_t last_login_at_ms; /* 0: never */
};

/* A live session as looked up: its user's name and role (read from users at each lookup). */
struct store_session {
    char user[STORE_USER_NAME_MAX + 1];
    char role[STORE_ROLE_MAX + 1];
    int64_t created_at_ms;
    int64_t last_seen_at_ms;
    int64_t idle_ms; /* lifetimes fixed at login: ends idle_ms after last seen, */
    int64_t max_ms;  /* or max_ms after created, whichever comes first */
};

/* Failed logins of one name (as typed) within the current window; all 0 when none. */
struct store_login_failures {
    int64_t failures;
    int64_t first_at_ms;     /* start of the counting window */
    int64_t last_at_ms;      /* the latest attempt */
    int64_t locked_until_ms; /* 0: not locked */
};

/* Creates a user (every field but last_login_at_ms and disabled_at_ms). RC_CONFLICT when the
 * name is taken. */
int store_user_insert(store *st, const struct store_user *u, char *err);
/* Reads user name. RC_NOTFOUND when none. */
int store_user_get(store *st, const char *name, struct store_user *out, char *err);
/* Calls fn for each user in name order; fn returning non-zero stops the walk and that value
 * is returned. */
int store_user_list(store *st, int (*fn)(const struct store_user *u, void *ctx), void *ctx,
                    char *err);
/* Disables (disabled true; also ends every session of the user at once) or enables a user.
 * RC_NOTFOUND when none. */
int store_user_set_disabled(store *st, const char *name, bool disabled, int64_t now_ms, char *err);
/* Replaces a user's password hash and ends every session of the user. RC_NOTFOUND when none. */
int store_user_set_password(store *st, const char *name, const char *password_hash, int64_t now_ms,
                            char *err);
/* Records a successful login of user name at now_ms. */
int store_user_logged_in(store *st, const char *name, int64_t now_ms, char *err);

/* Stores a new session (hash_hex: SHA-256 of its id) of user name, created and seen at now_ms,
 * with its lifetimes (0 < idle_ms <= max_ms). */
int store_session_insert(store *st, const char *hash_hex, const char *name, int64_t now_ms,
                         int64_t idle_ms, int64_t max_ms, char *err);
/* Finds the session whose hash is hash_hex, if its user exists and is enabled. RC_NOTFOUND
 * otherwise. Expiry is the caller's decision (http/session.c). */
int store_session_lookup(store *st, const char *hash_hex, struct store_session *out, char *err);
/* Marks the session seen at now_ms. */
int store_session_touch(store *st, const char *hash_hex, int64_t now_ms, char *err);
/* Ends one session; no error when it is gone already. */
int store_session_delete(store *st, const char *hash_hex, char *err);
/* Ends every session that has expired by now_ms under its own lifetimes. */
int store_session_purge(store *st, int64_t now_ms, char *err);

/* The failed logins recorded under key (SHA-256 hex of a name as typed); zeros when none. */
int store_login_failures_get(store *st, const char *key, struct store_login_failures *out,
                             char *err);
/* Records f under key, and forgets every other record last tried before forget_before_ms and
 * not locked past it (so names tried once do not pile up). */
int store_login_failures_put(store *st, const char *key, const struct store_login_failures *f,
                             int64_t forget_before_ms, char *err);
/* Forgets key's failed logins (a successful login, a new password). */
int store_login_failures_clear(store *st, const char *key, char *err);

/* ---- Evidence: each accepted batch's signature, the collector's signing keys. ----
 * A batch signature is kept exactly as the device sent it (base64 DER ECDSA over the SHA-256
 * of the batch's last line), so anyone with the device's public key can check later that the
 * device sent the events first_seq..last_seq: last_hash is that line's hash, and the lines
 * before it are linked to it by their prev hashes. Rows are only ever added. */

enum {
    STORE_SIG_B64_MAX = CRYPTO_SIG_B64_MAX, /* base64 of a DER ECDSA P-256 signature */
    STORE_KEY_ID_LEN = 16,                  /* a signing key's id: hex digits, without NUL */
};

struct store_batch_sig {
    char device[STORE_ID_MAX + 1];
    int64_t first_seq;
    int64_t last_seq;
    char last_hash[STORE_HASH_HEX_LEN + 1]; /* SHA-256 hex of line last_seq */
    char signature[STORE_SIG_B64_MAX + 1];  /* base64, as received */
    int64_t received_at_ms;
};

/* Stores one accepted batch's signature (every field of s); call in the batch's transaction. */
int store_batch_sig_insert(store *st, const struct store_batch_sig *s, char *err);
/* What an accepted batch writes after its events, in one call (one statement on
 * PostgreSQL): the chain head moved to (sig->last_seq, sig->last_hash) as store_head_advance
 * does, the signature stored as store_batch_sig_insert does, and the device's status recorded
 * as store_device_seen does, all at now_ms. Call in the batch's transaction. Returns the first
 * failure of the three (RC_CONFLICT: the head is at or beyond last_seq already; a device that
 * is not enrolled fails too), after which the caller rolls its transaction back. */
int store_batch_close(store *st, const struct store_batch_sig *sig,
                      const struct store_device_status *s, int64_t now_ms, char *err);
/* Calls fn, in first_seq order, for each stored signature of device whose range overlaps
 * from_seq..to_seq; fn returning non-zero stops the walk and that value is returned. */
int store_batch_sig_list(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                         int (*fn)(const struct store_batch_sig *s, void *ctx), void *ctx,
                         char *err);

/* One stored event of a device as the evidence bundle needs it: the line as received and the
 * collector's own record of it (its fence judgement, when it first received it). */
struct store_event_record {
    int64_t seq;
    const char *raw; /* valid during the callback only */
    size_t raw_len;
    const char *server_verdict; /* "" when it judged no fix */
    bool has_server_distance;
    double server_distance_m;
    int server_fence_version; /* 0: none */
    int64_t received_at_ms;
};
/* Calls fn for each stored event of device with seq in from_seq..to_seq, by seq; fn returning
 * non-zero stops the walk and that value is returned. */
int store_event_range(store *st, const char *device, int64_t from_seq, int64_t to_seq,
                      int (*fn)(const struct store_event_record *e, void *ctx), void *ctx,
                      char *err);
/* Version version of fence id (current or superseded). RC_NOTFOUND when none. */
int store_fence_version(store *st, const char *id, int version, struct store_fence *out, char *err);
/* One stored version of a venue fence, without its GeoJSON, as the console lists them. */
struct store_fence_info {
    char id[STORE_ID_MAX + 1];
    int version;
    char sha256[STORE_HASH_HEX_LEN + 1];
    int64_t created_at_ms;
    char created_by[STORE_TOKEN_NAME_MAX + 1];
    int64_t superseded_at_ms; /* 0: the current version */
    int64_t devices;          /* enrolled devices naming this fence id (same for every version) */
};
/* Calls fn for every version of every fence, by id then newest version first. fn returning
 * non-zero stops the walk and that value is returned. */
int store_fence_list(store *st, int (*fn)(const struct store_fence_info *f, void *ctx), void *ctx,
                     char *err);

/* A year's signed publication of evaluation results (rollcall-server publish): the exact bytes
 * signed, the signing key's id and the signature. Frozen: never changed or deleted. */
struct store_publication {
    int year;
    char *body; /* NUL-terminated; from store_publication_get: malloc'd, free() it */
    char key_id[STORE_KEY_ID_LEN + 1];
    char signature[STORE_SIG_B64_MAX + 1];
    int64_t published_at_ms;
};
/* Stores p. RC_CONFLICT when the year is published already. */
int store_publication_put(store *st, const struct store_publication *p, char *err);
/* The publication of year into *out (free out->body). RC_NOTFOUND when none. */
int store_publication_get(store *st, int year, struct store_publication *out, char *err);

/* A public key the collector signs (or signed) with. The private key lives in a file, never
 * in the database (evidence/signkey.h); every public key stays, so old signatures verify. */
struct store_signing_key {
    char key_id[STORE_KEY_ID_LEN + 1];
    char public_key_pem[STORE_PEM_MAX]; /* SubjectPublicKeyInfo PEM, NUL-terminated */
    int64_t created_at_ms;
    int64_t retired_at_ms; /* 0: the current key */
};

/* Adds k (key_id, public_key_pem, created_at_ms) as the current signing key and retires the
 * current one (if any) at k->created_at_ms, in one transaction unless the caller holds one.
 * RC_CONFLICT when the key id exists already. */
int store_signing_key_add(store *st, const struct store_signing_key *k, char *err);
/* Reads the key key_id. RC_NOTFOUND when none. */
int store_signing_key_get(store *st, const char *key_id, struct store_signing_key *out, char *err);
/* Reads the current (not retired) key. RC_NOTFOUND when there is none yet. */
int store_signing_key_current(store *st, struct store_signing_key *out, char *err);
/* Calls fn for every key, oldest first; fn returning non-zero stops the walk and that value is
 * returned. */
int store_signing_key_list(store *st, int (*fn)(const struct store_signing_key *k, void *ctx),
                           void *ctx, char *err);

/* ---- Alerts: webhook subscriptions to serious findings, and their outbox ----
 * A subscription names a district (its institutions' findings) or none (every district: the
 * city). Every stored finding of severity high gets one outbox row per subscription live at
 * that moment that covers it, written by a trigger in the same statement as the finding, so
 * no finding is ever missed. Outbox rows are never deleted: they are the delivery log. A
 * webhook URL carries its secret (WeCom's key=...): it is never logged (alert_mask_url). */
enum {
    STORE_ALERT_URL_MAX = 2048,  /* a webhook URL */
    STORE_ALERT_PATH_MAX = 1024, /* a CA file's path */
    STORE_ALERT_ERROR_MAX = 200, /* the last error of a delivery, one line */
    STORE_ALERT_FORMAT_MAX = 15, /* "json", "wecom-markdown", "wecom-text" */
    STORE_ALERT_STATE_MAX = 15,  /* "pending", "delivered", "failed", "cancelled" */
};
struct store_alert_sub {
    int64_t id;
    char name[STORE_TOKEN_NAME_MAX + 1];
    char district[STORE_DISTRICT_LEN + 1]; /* "" for every district */
    char format[STORE_ALERT_FORMAT_MAX + 1];
    char url[STORE_ALERT_URL_MAX + 1];         /* with its secret */
    char ca_file[STORE_ALERT_PATH_MAX + 1];    /* "" for the system CA store */
    char created_by[STORE_TOKEN_NAME_MAX + 1]; /* token name or "user:NAME" */
    int64_t created_at_ms;
};
/* One outbox row: a finding to deliver to a subscription, and how that went so far. */
struct store_alert_delivery {
    int64_t id;
    struct store_alert_sub sub; /* as it is now (removed ones included) */
    struct store_finding_row finding;
    char district[STORE_DISTRICT_LEN + 1]; /* the finding's institution's district, "" if none */
    char state[STORE_ALERT_STATE_MAX + 1];
    int64_t attempts;
    int64_t next_at_ms;
    int64_t last_status; /* the receiver's HTTP status; 0 for none (transport error) */
    char last_error[STORE_ALERT_ERROR_MAX + 1];
    int64_t last_at_ms;      /* 0: never tried */
    int64_t delivered_at_ms; /* 0: not delivered */
    int64_t created_at_ms;
};
/* Which outbox rows a walk covers. */
struct store_alert_filter {
    const char *district; /* NULL: all; else subscriptions of exactly this district */
    int64_t subscription; /* 0: all */
    int64_t due_at_ms;    /* > 0: only pending rows with next_at <= due_at_ms, soonest first;
                             0: every row, newest first */
};
/* What one delivery attempt changes on an outbox row. */
struct store_alert_attempt {
    const char *state; /* "pending" (retry at next_at_ms), "delivered" or "failed" */
    int64_t attempts;
    int64_t next_at_ms;
    int64_t status;
    const char *error; /* "" when none; cut to STORE_ALERT_ERROR_MAX */
    int64_t at_ms;
};
/* Stores a subscription (id set on return). RC_CONFLICT when the name is taken. */
int store_alert_sub_insert(store *st, struct store_alert_sub *s, char *err);
/* Calls fn for every live subscription (of district only, unless NULL), oldest first. */
int store_alert_sub_list(store *st, const char *district,
                         int (*fn)(const struct store_alert_sub *s, void *ctx), void *ctx,
                         char *err);
/* Reads the live subscription id. RC_NOTFOUND when none (or removed). */
int store_alert_sub_get(store *st, int64_t id, struct store_alert_sub *out, char *err);
/* Removes the live subscription id at now_ms and cancels its pending deliveries, in one
 * transaction unless the caller holds one. RC_NOTFOUND when none. */
int store_alert_sub_remove(store *st, int64_t id, int64_t now_ms, char *err);
/* Calls fn for each outbox row matching f; at most limit. */
int store_alert_deliveries(store *st, const struct store_alert_filter *f, size_t limit,
                           int (*fn)(const struct store_alert_delivery *d, void *ctx), void *ctx,
                           char *err);
/* Takes the pending row id for one attempt: when its next_at is still seen_next_at_ms, moves
 * it to lease_until_ms (so a second collector on the same database leaves it alone) and sets
 * *claimed. */
int store_alert_claim(store *st, int64_t id, int64_t seen_next_at_ms, int64_t lease_until_ms,
                      bool *claimed, char *err);
/* Records the outcome of an attempt on row id. */
int store_alert_record(store *st, int64_t id, const struct store_alert_attempt *a, char *err);

/* A pool of n connections to one database, for a thread pool: acquire blocks until one is
 * free. Returns 0 and *out (free with store_pool_close after every connection is released). */
int store_pool_open(const char *url, size_t n, store_pool **out, char *err);
/* Takes a connection; waits at most timeout_ms. Returns NULL on timeout. */
store *store_pool_acquire(store_pool *p, int timeout_ms);
/* Returns a connection to the pool (rolling back any transaction left open). */
void store_pool_release(store_pool *p, store *st);
/* Closes every connection and frees p. NULL is a no-op. */
void store_pool_close(store_pool *p);

#endif
