/* Random roll-calls (随机点名) at the kiosk: a class asks for N of them per session, with a
 * confirmation window (the schedule's rollcalls and rollcall_window_min); the daemon draws
 * their times, records a rollcall event when each opens and announces the open ones on the
 * control socket; trainees confirm through signin.c (EVENT_ROLLCALL_CONFIRM).
 *
 * Invariants:
 * - a session's roll-call times are drawn once, uniformly in [max(start, now), end - window],
 *   the first time the daemon sees the session (from its early window on), and kept in the
 *   outbox's state (key "rollcall/CLASS/SESSION"): a restart does not draw again;
 * - roll-calls are named R1, R2 ... in the order they open;
 * - each roll-call is recorded (a rollcall event in the hash chain, start = opening, end =
 *   closing) when it opens, once: the state counts the roll-calls handled. A crash between the
 *   event and the count records it twice; the collector counts one per (device, session, id);
 * - a roll-call whose whole window passed while no daemon ran is skipped, never recorded late;
 * - a roll-call is open from its opening to its closing, and only once recorded.
 * Test-only: ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S="2,4" replaces the random draw by roll-calls
 * opening that many seconds after the draw (docs/AGENT.md); never set it on a kiosk. */
#ifndef ROLLCALL_AGENT_ROLLCALL_H
#define ROLLCALL_AGENT_ROLLCALL_H

#include "crypto.h"
#include "event.h"
#include "kiosk.h"
#include "outbox.h"
#include "schedule.h"

#include <stddef.h>
#include <stdint.h>

enum {
    ROLLCALL_ID_MAX = 12,    /* "R1".."R8"; room for any "R%d" */
    ROLLCALL_LIST_MAX = 32,  /* open roll-calls listed at once */
    ROLLCALL_IDLE_MS = 60000 /* rollcall_tick asks to be called again within this */
};

/* A roll-call as announced: its class, session, id and window (UTC ms). */
struct rollcall_open {
    char class_id[EVENT_NAME_MAX + 1];
    char session[EVENT_NAME_MAX + 1];
    char id[ROLLCALL_ID_MAX + 1];
    int64_t opens_ms, closes_ms;
};

/* One session's draw, as stored. */
struct rollcall_draw {
    int n;       /* roll-calls drawn */
    int handled; /* the first `handled` ones are recorded or skipped */
    int64_t window_ms;
    int64_t opens_ms[SCHEDULE_ROLLCALLS_MAX]; /* ascending */
};

/* Draws the roll-calls of session s of class c at now_ms into *out (see the invariants; none
 * when the window no longer fits). Returns 0, RC_INVAL (a bad test setting) or RC_IO (rng). */
int rollcall_draw(crypto_rng *rng, const struct schedule_class *c, const struct schedule_session *s,
                  int64_t now_ms, struct rollcall_draw *out, char *err);

/* Makes sure every session of sched that is due (now within [start - early window, end)) has
 * its draw (kept in ob, drawn with stamp's generator), and records the roll-calls that opened by now_ms. *next_ms gets when to call again
 * (UTC ms: the next opening, at most ROLLCALL_IDLE_MS away). Returns 0 or the first error
 * (RC_DB, RC_FULL: the roll-call is tried again on the next call). */
int rollcall_tick(outbox *ob, const struct kiosk_stamp *stamp, const struct schedule *sched,
                  int64_t now_ms, int64_t *next_ms, char *err);

/* Lists the roll-calls of sched open at now_ms (recorded, window holding now) into out (cap
 * entries), in order of opening. Returns 0 with *n, or RC_DB. */
int rollcall_list(outbox *ob, const struct schedule *sched, int64_t now_ms,
                  struct rollcall_open *out, size_t cap, size_t *n, char *err);

enum rollcall_status {
    ROLLCALL_IS_OPEN = 0,
    ROLLCALL_UNKNOWN, /* no such roll-call announced (not drawn, not yet open, or no class) */
    ROLLCALL_CLOSED,  /* its window has passed */
};

/* Looks up roll-call id of class_id / session at now_ms: *st, and *out when it exists. Returns 0
 * or RC_DB. */
int rollcall_lookup(outbox *ob, const char *class_id, const char *session, const char *id,
                    int64_t now_ms, struct rollcall_open *out, enum rollcall_status *st, char *err);

#endif
