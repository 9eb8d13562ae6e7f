/* The collector's storage interface. One `store` is one connection to one database, chosen
 * by URL: `sqlite:PATH` (store_sqlite.c) or `postgresql://...` (recognised; its back-end is a
 * later file implementing the same function table). No SQL appears outside a back-end file.
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

/* Transactions. begin takes the write lock at once (SQLite: BEGIN IMMEDIATE) so two writers
 * never deadlock upgrading a read lock. Nested begin is RC_STATE. */
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
 * tells whether it ran. For connections opened with STORE_OPEN_MANUAL_CHECKPOINT. */
int store_checkpoint(store *st, bool *done, char *err);

/* Stores a token (t->hash, name, role, created_at_ms; id is ignored). RC_CONFLICT when the
 * name or hash is taken. */
int store_token_insert(store *st, const struct store_token *t, char *err);
/* Finds the unrevoked token whose hash is hash_hex. RC_NOTFOUND when none. */
int store_token_lookup(store *st, const char *hash_hex, struct store_token *out, char *err);

/* Number of devices that have uploaded at least once. */
int store_device_count_seen(store *st, int64_t *n, char *err);
/* Calls fn for each enrolled device in id order, at most limit of them; fn returning non-zero
 * stops the walk and that value is returned. */
int store_device_list(store *st, size_t limit, int (*fn)(const struct store_device *d, void *ctx),
                      void *ctx, char *err);

/* Calls fn for each enrolled device of institution (NULL: every device) in id order, at most
 * limit of them; as store_device_list otherwise. */
int store_device_list_scoped(store *st, const char *institution, size_t limit,
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
 * when none). */
struct store_head {
    int64_t seq;
    char hash[STORE_HASH_HEX_LEN + 1];
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
};

/* Stores one event. RC_CONFLICT when (device, seq) is stored already (never overwritten). */
int store_event_insert(store *st, const struct store_event *e, char *err);
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
 * with version + 1. *outcome and *version (either may be NULL) say what happened. */
int store_fence_put(store *st, const char *id, const char *geojson, const char *sha256,
                    const char *created_by, int64_t now_ms, bool replace,
                    enum store_fence_outcome *outcome, int *version, char *err);

/* The schema also holds institutions (with their pseudonym key), devices (public key PEM,
 * institution, profile, fence), events (unique (device, seq), raw bytes, hash, parsed columns),
 * chain heads per device, findings, and fences with their history. Their functions arrive with
 * enrolment and ingest: one wrapper here, one slot in struct store_ops (store_backend.h), one
 * implementation per back-end; a back-end whose slot is NULL answers RC_STATE. */

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
