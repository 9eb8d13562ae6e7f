/* Verified, exactly-once ingest of a device's signed batch of events (docs/API.md
 * "POST /v1/batches", PIPE-CONTRACT). One function serves the HTTP route and
 * `rollcall-server import batches`, so both apply the same checks.
 *
 * A batch is NDJSON: 1..INGEST_LINES_MAX canonical event lines of one device, consecutive seq,
 * each ending in '\n', signed (ECDSA P-256, base64 DER) over the SHA-256 of the last line.
 *
 * Invariants:
 * - A batch is stored whole or not at all: every line is parsed and hashed as received, the
 *   lines must link to each other (seq + 1, prev = hash of the line before) and to the stored
 *   chain head, and the signature must verify with the device's enrolled key, before one
 *   transaction stores the new lines, advances the head and commits. The answer is given only
 *   after the commit.
 * - An accepted batch that stores at least one new line also stores its signature, as received,
 *   with the batch's whole seq range and last hash (store_batch_sig_insert), in the same
 *   transaction; a batch of duplicates only stores none.
 * - Stored events are never overwritten: a line at a stored seq is a duplicate when its bytes
 *   equal the stored ones and refuses the batch otherwise.
 * - Accepted events are stored whatever they say; what is wrong with them is a stored finding
 *   next to them (verdict_mismatch, fence_unknown, clock_implausible, clock_jump,
 *   unknown_class, foreign_class), never a silent drop.
 * - A refused batch leaves nothing of itself; the finding it causes (chain_conflict,
 *   chain_break, bad_signature, bad_event, foreign_events) is committed in a transaction of
 *   its own, after the batch's was rolled back.
 * - What does not depend on stored state (parsing, hashing, the signature against the key,
 *   which never changes after enrolment, and re-judging fixes) happens before the write
 *   transaction, so the database's write lock is never held across ECDSA. */
#ifndef ROLLCALL_SERVER_INGEST_H
#define ROLLCALL_SERVER_INGEST_H

#include "event.h"
#include "rc.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

enum {
    INGEST_LINES_MAX = 1000, /* lines in one batch; more is 413 */
    INGEST_GROUP_MAX = 256,  /* batches committed together by the ingest writer */
    INGEST_PG_WRITERS = 4,   /* writer threads (connections) on PostgreSQL; SQLite has one */
    /* A batch that starts at most INGEST_REORDER_SPAN seqs past the device's head + 1 waits up
     * to INGEST_REORDER_WAIT_MS for the batches before it (a kiosk's window of batches in
     * flight on several connections) before it is answered 409 gap (docs/SYNC.md). */
    INGEST_REORDER_SPAN = 16 * INGEST_LINES_MAX,
    INGEST_REORDER_WAIT_MS = 1000,
};

/* Plausible device times, relative to the server's receipt: an event stamped earlier than
 * INGEST_CLOCK_PAST_MS before it (1970) or later than INGEST_CLOCK_AHEAD_MS after it (2100)
 * is stored with a clock_implausible finding. Within one boot, a device clock that moves
 * more than INGEST_CLOCK_JUMP_MS away from the boot clock between two consecutive events is a
 * clock_jump finding (a jump and its way back are two). */
#define INGEST_CLOCK_PAST_MS (INT64_C(400) * 86400000)
#define INGEST_CLOCK_AHEAD_MS INT64_C(86400000)
#define INGEST_CLOCK_JUMP_MS INT64_C(86400000)

/* The finding a refused batch records for its device. */
enum ingest_finding {
    INGEST_FINDING_NONE,
    INGEST_FINDING_CHAIN_CONFLICT, /* other bytes than stored at a seq */
    INGEST_FINDING_CHAIN_BREAK,    /* seq or prev does not link */
    INGEST_FINDING_BAD_SIGNATURE,
    INGEST_FINDING_BAD_EVENT,      /* a line is not a canonical event */
    INGEST_FINDING_FOREIGN_EVENTS, /* events of another device under this device's token */
};

/* The outcome of one batch: accepted (status 200) or refused (4xx, reason set). */
struct ingest_result {
    unsigned status;      /* 200, 400, 403, 409, 413 */
    int64_t accepted;     /* lines newly stored */
    int64_t duplicates;   /* lines equal to stored ones */
    int64_t ack_seq;      /* the device's chain head after the batch */
    int64_t expected_seq; /* on 409: the seq the next batch must start at */
    enum ingest_finding finding;
    int64_t finding_seq;  /* the seq the finding is about, 0 when none */
    char reason[ERR_LEN]; /* one line, for {"error": ...} */
};

/* One received line: its bytes (pointing into the body), hash and parsed event. */
struct ingest_line {
    const char *bytes;
    size_t len;
    char hash[EVENT_HEX_LEN + 1];
    struct event ev;
};

struct ingest_parsed {
    struct ingest_line *lines;
    size_t n;
};

/* The stateless step: splits body (len bytes) into lines, parses and hashes each, and checks
 * that every event is device's (NULL: the first line's device) and that the lines link to
 * each other. Returns 0 and *out (free with ingest_parsed_free); on a refusal RC_INVAL (or
 * RC_LIMIT) with res->status, reason and finding set; RC_NOMEM. */
int ingest_parse(const uint8_t *body, size_t len, const char *device, struct ingest_parsed *out,
                 struct ingest_result *res);
void ingest_parsed_free(struct ingest_parsed *p);

/* Applies one batch from device (the authenticated device id) with its base64 signature
 * (NULL when none was sent) at server time now_ms. Returns 0 with *res filled, whether the
 * batch was accepted or refused (a refusal's finding is already recorded); a negative rc
 * (RC_DB, RC_NOMEM, ...) with err when the store failed and nothing was decided. */
int ingest_batch(store *st, const char *device, const uint8_t *body, size_t len,
                 const char *signature, int64_t now_ms, struct ingest_result *res, char *err);

/* The collector's group committer: a thread and a connection (SQLite: one; PostgreSQL:
 * INGEST_PG_WRITERS of them on one queue) that apply batches from every request thread, those
 * waiting at once in one transaction (one savepoint each, one fsync for all), and answer each
 * only after that commit. */
typedef struct ingest_writer ingest_writer;
/* Opens the writers' connections to db_url and starts their threads. */
int ingest_writer_start(const char *db_url, ingest_writer **out, char *err);
/* Finishes the queued batches, stops the thread and frees w (after the last request thread
 * is done with it). NULL is a no-op. */
void ingest_writer_stop(ingest_writer *w);
/* ingest_batch through the writer: parsing, signature and re-judging happen on the calling
 * thread with st (reads only), the write in the writer's next group. Same contract; a
 * refused batch's finding is inserted after its savepoint is rolled back, so it is committed
 * without anything of the batch. A batch refused for a gap of at most INGEST_REORDER_SPAN
 * seqs is tried again each time another batch is stored, for up to INGEST_REORDER_WAIT_MS,
 * before the 409 is answered (batches of one kiosk arriving out of order). */
int ingest_batch_grouped(ingest_writer *w, store *st, const char *device, const uint8_t *body,
                         size_t len, const char *signature, int64_t now_ms,
                         struct ingest_result *res, char *err);
/* ingest_batch_grouped that calls done_with_st(ctx) as soon as it no longer needs st (after
 * parsing, verifying and re-judging, before it queues the batch and waits for the writer), so
 * the caller can give a pooled connection back while the batch waits; st is not used after
 * that call. done_with_st may be NULL. */
int ingest_batch_grouped_release(ingest_writer *w, store *st, const char *device,
                                 const uint8_t *body, size_t len, const char *signature,
                                 int64_t now_ms, struct ingest_result *res,
                                 void (*done_with_st)(void *ctx), void *ctx, char *err);

/* For /healthz and /metrics: batches queued for the writer and not yet taken into a group
 * (*depth), and how long the oldest of them has waited since its request's now_ms
 * (*oldest_ms, 0 when none). w NULL: both 0. */
void ingest_writer_queue(ingest_writer *w, int64_t now_ms, size_t *depth, int64_t *oldest_ms);

/* The finding's kind as stored ("chain_conflict", ...); "" for none. Static. */
const char *ingest_finding_name(enum ingest_finding f);

#endif
