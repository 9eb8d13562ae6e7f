/* GNSS: the kiosk's position from gpsd (libgps, JSON watch) and the quality findings drawn
 * from the sequence of fixes.
 *
 * Invariants:
 * - A fix is delivered once per receiver epoch: TPV reports repeating the last fix time are
 *   dropped (gpsd may send several TPVs per epoch, and libgps keeps old *_SET flags).
 * - eph is NaN when gpsd gives none; 0 means the receiver claimed zero error (a finding), never
 *   "unknown".
 * - The watcher never blocks in gnss_process(); it reconnects to gpsd with capped exponential
 *   backoff whenever the connection drops, and a lost gpsd counts as "no fix".
 * - A surveyed position is returned only when the configuration declares one, and always
 *   with source GNSS_SRC_SURVEYED; a GNSS fix is never relabelled.
 * - Each finding fires once per episode: it fires again only after the condition has
 *   cleared (a fix, moving coordinates, non-zero eph, an agreeing clock, a plausible step).
 * - The quality analyser (gnss_quality_*) and gnss_select() are pure: no I/O, no clock, no
 *   globals; every time is passed in. */
#ifndef ROLLCALL_AGENT_GNSS_H
#define ROLLCALL_AGENT_GNSS_H

#include <stdbool.h>
#include <stdint.h>

enum {
    GNSS_HOST_LEN = 256,      /* gpsd host name, with its NUL */
    GNSS_PORT_LEN = 8,        /* gpsd port as text, with its NUL */
    GNSS_DETAIL_LEN = 160,    /* a finding's human-readable detail */
    GNSS_QUEUE_LEN = 32,      /* fixes and findings kept until popped (oldest dropped) */
    GNSS_READS_PER_CALL = 64, /* gpsd messages handled per gnss_process() call */
};

enum gnss_source { GNSS_SRC_NONE = 0, GNSS_SRC_GNSS = 1, GNSS_SRC_SURVEYED = 2 };

/* One position report. mode follows gpsd: 0 not seen, 1 no fix, 2 2D, 3 3D. */
struct gnss_fix {
    double lat, lon;    /* degrees WGS-84; NaN without a fix */
    double eph;         /* horizontal error estimate in metres (gpsd eph); NaN when unknown */
    int mode;           /* gpsd fix mode */
    int sats;           /* satellites used; -1 when unknown */
    int64_t time_ms;    /* GNSS time, Unix ms UTC; 0 when unknown */
    int64_t rx_real_ms; /* system clock (CLOCK_REALTIME) when received, Unix ms */
    int64_t rx_mono_ms; /* CLOCK_MONOTONIC when received, ms */
    enum gnss_source source;
};

/* A position declared in the kiosk's firmware profile (fixed terminals). */
struct gnss_surveyed {
    bool set;
    double lat, lon, eph_m;
};

/* Quality thresholds; 0 disables a check. */
struct gnss_thresholds {
    int64_t no_fix_alert_ms;  /* no usable fix for longer than this */
    int64_t frozen_after_ms;  /* bit-identical coordinates for at least this long */
    double max_speed_mps;     /* implied speed between consecutive fixes */
    int64_t max_time_skew_ms; /* |GNSS time - system clock| above this */
};

struct gnss_config {
    const char *host;       /* gpsd host; NULL means "localhost" */
    const char *port;       /* gpsd port; NULL means "2947" */
    int64_t stale_after_ms; /* a fix older than this is stale (> 0) */
    double assumed_eph_m;   /* accuracy to assume when gpsd gives no eph (> 0) */
    struct gnss_surveyed surveyed;
    struct gnss_thresholds q;
    int64_t backoff_min_ms; /* first reconnect delay; 0 means 500 */
    int64_t backoff_max_ms; /* reconnect delay cap; 0 means 30000 */
};

enum gnss_finding_kind {
    GNSS_FIND_NO_FIX = 0,
    GNSS_FIND_FROZEN = 1,
    GNSS_FIND_ZERO_EPH = 2,
    GNSS_FIND_TIME_SKEW = 3,
    GNSS_FIND_IMPOSSIBLE_SPEED = 4,
    GNSS_FIND_COUNT_ = 5,
};

struct gnss_finding {
    enum gnss_finding_kind kind;
    int64_t at_mono_ms; /* when it was raised */
    int64_t skew_ms;    /* time_skew only: GNSS time minus system clock */
    double value;       /* no_fix/frozen: seconds; impossible_speed: m/s; else 0 */
    char detail[GNSS_DETAIL_LEN];
};

/* The analyser's state. Initialise with gnss_quality_init(); fields are private. */
struct gnss_quality {
    struct gnss_thresholds t;
    bool started;
    int64_t last_good_mono; /* last usable fix, or the first observation */
    bool have_prev;
    struct gnss_fix prev; /* previous usable fix */
    int64_t frozen_since_mono;
    bool active[GNSS_FIND_COUNT_]; /* an episode is open */
};

enum gnss_state {
    GNSS_STATE_NONE = 0,     /* no fix ever (and no surveyed position) */
    GNSS_STATE_STALE = 1,    /* the last fix is too old, or the receiver has lost its fix */
    GNSS_STATE_FRESH = 2,    /* a current GNSS fix */
    GNSS_STATE_SURVEYED = 3, /* no fresh GNSS fix: the profile's surveyed position */
};

typedef struct gnss_watcher gnss_watcher;

/* Status for `status` and the control socket. */
struct gnss_status {
    bool connected;
    bool ever_connected;
    int64_t connects; /* successful connections so far */
    int64_t fixes;    /* fixes delivered (deduplicated) */
    char last_error[GNSS_DETAIL_LEN];
};

/* ---- pure functions ---- */

/* Checks a configuration: ports, thresholds, surveyed position (finite, in range). 0 or
 * RC_INVAL with err. */
int gnss_config_check(const struct gnss_config *cfg, char *err);
/* "no_fix", "frozen", "zero_eph", "time_skew", "impossible_speed"; static storage. */
const char *gnss_finding_name(enum gnss_finding_kind kind);
/* True for findings that are also clock findings (time_skew). */
bool gnss_finding_is_clock(enum gnss_finding_kind kind);
/* "none", "gnss", "surveyed"; static storage. */
const char *gnss_source_name(enum gnss_source source);
/* The accuracy a verdict should use: fix->eph when known, else assumed_eph_m. */
double gnss_fix_accuracy(const struct gnss_fix *fix, double assumed_eph_m);
/* True when the fix has a position (mode >= 2, finite lat/lon in range). */
bool gnss_fix_usable(const struct gnss_fix *fix);

/* Picks what gnss_current() returns: the last usable GNSS fix (NULL if none) if it is at most
 * stale_after_ms old at now_mono_ms and the receiver has not since reported losing it
 * (lost); else the surveyed position when set; else the stale fix, or nothing. Fills *out
 * (zeroed with NaN position for GNSS_STATE_NONE). */
enum gnss_state gnss_select(const struct gnss_fix *last, bool lost, int64_t now_mono_ms,
                            int64_t stale_after_ms, const struct gnss_surveyed *surveyed,
                            int64_t now_real_ms, struct gnss_fix *out);

/* Starts an analyser with thresholds t (copied). */
void gnss_quality_init(struct gnss_quality *q, const struct gnss_thresholds *t);
/* Feeds one receiver report (usable fix or not), received at fix->rx_*_ms. Writes up to max
 * findings to out; returns how many. */
int gnss_quality_observe(struct gnss_quality *q, const struct gnss_fix *fix,
                         struct gnss_finding *out, int max);
/* Lets time pass without a report (gpsd silent or gone): raises no_fix when due. Returns the
 * number of findings written (0 or 1). */
int gnss_quality_tick(struct gnss_quality *q, int64_t now_mono_ms, struct gnss_finding *out,
                      int max);

/* ---- the gpsd watcher ---- */

/* Creates a watcher (not yet connected: the first gnss_process() connects). cfg is copied.
 * 0 and *out (caller destroys) or RC_INVAL/RC_NOMEM with err. */
int gnss_create(const struct gnss_config *cfg, gnss_watcher **out, char *err);
/* Closes the connection and frees the watcher; NULL is fine. */
void gnss_destroy(gnss_watcher *w);
/* The gpsd socket to poll() for reading, or -1 while disconnected. */
int gnss_fd(const gnss_watcher *w);
/* Milliseconds a poll() may sleep before gnss_process() has work (a reconnect or a no_fix
 * deadline) at now_mono_ms; -1 when only the socket matters. */
int64_t gnss_timeout_ms(const gnss_watcher *w, int64_t now_mono_ms);
/* Does what is due without blocking: connects when the backoff allows, reads what gpsd has
 * sent, runs the quality checks. Returns the number of new reports queued for gnss_pop_fix()
 * (>= 0): one per epoch, usable fixes and no-fix reports that carry a GNSS time. */
int gnss_process(gnss_watcher *w, int64_t now_mono_ms, int64_t now_real_ms);
/* Waits up to timeout_ms (poll() on the socket, or sleeps until the next reconnect) and then
 * calls gnss_process() with the current clocks. Returns the number of new fixes. */
int gnss_poll_once(gnss_watcher *w, int timeout_ms);
/* Pops the oldest undelivered report (check gnss_fix_usable()); false when none. */
bool gnss_pop_fix(gnss_watcher *w, struct gnss_fix *out);
/* Pops the oldest undelivered finding; false when none. */
bool gnss_pop_finding(gnss_watcher *w, struct gnss_finding *out);
/* The fix to use now (see gnss_select()). */
enum gnss_state gnss_current(const gnss_watcher *w, int64_t now_mono_ms, struct gnss_fix *out);
/* Connection state and counters. */
void gnss_get_status(const gnss_watcher *w, struct gnss_status *out);
/* One-shot: waits up to timeout_ms for a fresh GNSS fix. 0 with *out (source gnss, or
 * surveyed when none came and the config declares one), RC_TIMEOUT with err otherwise
 * (saying whether gpsd was reachable). */
int gnss_wait_fix(gnss_watcher *w, int timeout_ms, struct gnss_fix *out, char *err);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in ms. */
int64_t gnss_mono_ms(void);
int64_t gnss_real_ms(void);

#endif
