/* The kiosk's outbox: every event the agent records, in a SQLite database (WAL,
 * synchronous=FULL), as the exact canonical bytes that are hashed, chained and uploaded.
 *
 * Invariants:
 * - an event is appended with its seq and prev in one transaction, and is on disk (fsync'd)
 *   when outbox_append returns 0: a sign-in answered "recorded" survives a power cut;
 * - seq is 1, 2, 3 ... without gaps; prev is the SHA-256 of the previous event's bytes;
 * - the outbox never deletes an unacknowledged event: over the size cap it prunes
 *   acknowledged events oldest first, and when nothing is left to prune a new event is refused
 *   (RC_FULL) rather than lost;
 * - the acknowledged position only moves forward;
 * - an acknowledgement can always be recorded: PATH-reserve holds OUTBOX_RESERVE_BYTES of
 *   disk that only acknowledgements, pruning and the storage-full mark may spend (a slice at
 *   a time, when SQLite reports the disk full); appends never do. When storage is full (an
 *   event was refused), the next acknowledgement prunes every acknowledged event, gives the
 *   space back (incremental vacuum, WAL truncated) and refills the reserve;
 * - a database that fails PRAGMA quick_check is moved aside, reported, never replaced.
 * One outbox handle is used by one thread at a time; several handles (processes or threads)
 * may share a database file: appends serialise on SQLite's write lock. */
#ifndef ROLLCALL_OUTBOX_H
#define ROLLCALL_OUTBOX_H

#include "event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct outbox outbox;

enum {
    OUTBOX_SCHEMA_VERSION = 2,
    OUTBOX_SCHEDULE_MAX = 4 << 20,     /* bytes of a stored schedule */
    OUTBOX_SCHEDULE_VERSION_MAX = 64,  /* its version: a SHA-256 in hex */
    OUTBOX_BUSY_TIMEOUT_MS = 10000,    /* wait this long for another writer */
    OUTBOX_STATE_VALUE_MAX = 512,      /* bytes of one state value */
    OUTBOX_MIN_CAP_BYTES = 64 * 1024,  /* the smallest size cap accepted */
    OUTBOX_RESERVE_BYTES = 256 * 1024, /* PATH-reserve: space kept for acknowledgements */
    OUTBOX_RESERVE_SLICE = 32 * 1024,  /* given back per write that found the disk full */
    OUTBOX_FULL_HEADROOM = 16 * 1024,  /* room that ends "storage full" after a prune */
};

struct outbox_options {
    int64_t max_bytes; /* size cap of the database's used pages; 0 means no cap */
};

/* Opens (creating if missing, with mode 0600) the outbox at path and migrates its schema.
 * An existing database is checked with PRAGMA quick_check first; a corrupt one is renamed to
 * PATH.corrupt-<UTC time> (with its -wal/-shm) and RC_CORRUPT is returned, err naming where it
 * went. Returns 0 and *out (free with outbox_close), RC_DB, RC_IO, RC_CORRUPT or RC_NOMEM. */
int outbox_open(const char *path, const struct outbox_options *opt, outbox **out, char *err);
/* Closes the database; NULL is ignored. */
void outbox_close(outbox *ob);

/* Appends ev: assigns ev->seq and ev->prev from the chain head, serialises it, stores the
 * bytes and advances the head, in one durable transaction. The caller fills every other
 * field (device, id, ts ...). If line is not NULL, the canonical bytes are copied there (cap
 * EVENT_LINE_MAX + 1) with *len. On a full disk, prunes acknowledged events and tries once
 * more. Returns 0 (and clears the storage-full mark); RC_INVAL (the event is invalid:
 * nothing stored); RC_FULL (over the cap or the disk full with nothing acknowledged left to
 * prune: nothing stored, storage marked full since now unless already marked); RC_DB. */
int outbox_append(outbox *ob, struct event *ev, char *line, size_t *len, char *err);

struct outbox_stats {
    int64_t head_seq;                  /* last appended seq, 0 when empty */
    char head_hash[EVENT_HEX_LEN + 1]; /* its hash (64 zeros when empty) */
    int64_t ack_seq;                   /* highest seq the server acknowledged */
    int64_t queue;                     /* events not yet acknowledged */
    int64_t oldest_unsent_ts_ms;       /* ts of the oldest unacknowledged event, 0 if none */
    int64_t stored;                    /* events kept in the database */
    int64_t used_bytes;                /* bytes of used database pages */
    int64_t max_bytes;                 /* the cap in force (0: none) */
    int64_t full_since_ms;             /* storage full: UTC ms of the first refusal, else 0 */
    int64_t reserve_bytes;             /* size of the reserve file now */
};

/* Fills *st. Returns 0 or RC_DB. */
int outbox_stats(outbox *ob, struct outbox_stats *st, char *err);
/* The chain's head seq and acknowledged seq only: unlike outbox_stats it reads one row, not
 * the pending events (what a sync checks after every batch). Returns 0 or RC_DB. */
int outbox_seqs(outbox *ob, int64_t *head_seq, int64_t *ack_seq, char *err);

/* Called for each pending event in seq order; return non-zero to stop early (that value is
 * returned by outbox_pending). line is valid only during the call. */
typedef int (*outbox_line_fn)(void *ctx, int64_t seq, const char *line, size_t len);

/* Visits consecutive stored events with seq > after_seq, at most max_events of them and
 * at most max_bytes of lines (newlines counted; at least one event is visited even if it
 * alone is larger). *visited gets the count. Returns 0, RC_DB, or the callback's value. */
int outbox_pending(outbox *ob, int64_t after_seq, size_t max_events, size_t max_bytes,
                   outbox_line_fn fn, void *ctx, size_t *visited, char *err);

/* Records that the server holds every event up to ack_seq, spending the reserve if the disk
 * is full. A lower value than the current one is ignored; a value beyond the head is refused
 * (RC_INVAL). When storage is full (or the reserve was spent), then prunes every
 * acknowledged event, returns the space to the filesystem, refills the reserve and, with
 * room again, clears the storage-full mark. Returns 0, RC_INVAL, RC_FULL (no reserve left
 * either), RC_DB. */
int outbox_ack(outbox *ob, int64_t ack_seq, char *err);

/* Re-reads every stored event and checks the chain from the oldest kept one (after pruning,
 * from the recorded prune point) to the head, and that the head matches. *count gets the
 * events checked. Returns 0, RC_CONFLICT / RC_INVAL with brk and err set at the first broken
 * link, or RC_DB. */
int outbox_verify(outbox *ob, int64_t *count, struct event_chain_break *brk, char *err);

/* Small persistent key/value state (last sync time, last sync error, open recordings ...).
 * outbox_state_get copies the value into out (cap bytes); RC_NOTFOUND when unset. Writes are
 * durable. Keys and values are bounded by OUTBOX_STATE_VALUE_MAX. */
int outbox_state_get(outbox *ob, const char *key, char *out, size_t cap, char *err);
int outbox_state_set(outbox *ob, const char *key, const char *value, char *err);
int outbox_state_delete(outbox *ob, const char *key, char *err);

/* The last schedule received from the collector (agent/schedule.h), kept beside the events
 * (schema version 2): it stays in force until a newer one arrives. */
struct outbox_schedule_meta {
    char version[OUTBOX_SCHEDULE_VERSION_MAX + 1];
    int64_t fetched_ms; /* UTC ms when these bytes arrived */
    int64_t checked_ms; /* UTC ms when the collector last confirmed them (200 or 304) */
    size_t bytes;
};
/* Replaces the stored schedule with len bytes of body (at most OUTBOX_SCHEDULE_MAX; else
 * RC_LIMIT) and its version; fetched and checked become now_ms. 0, RC_LIMIT, RC_FULL, RC_DB. */
int outbox_schedule_put(outbox *ob, const char *version, const char *body, size_t len,
                        int64_t now_ms, char *err);
/* Records that the collector confirmed the stored schedule (304) at now_ms. RC_NOTFOUND when
 * none is stored. */
int outbox_schedule_touch(outbox *ob, int64_t now_ms, char *err);
/* Reads the stored schedule: *meta, and when body is not NULL a malloc'd NUL-terminated copy
 * (caller frees) of its *len bytes. RC_NOTFOUND when none was ever received; RC_DB. */
int outbox_schedule_get(outbox *ob, struct outbox_schedule_meta *meta, char **body, size_t *len,
                        char *err);

#endif
