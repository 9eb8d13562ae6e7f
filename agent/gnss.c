/* GNSS from gpsd over libgps (JSON watch), and the quality analyser. See gnss.h for the
 * invariants. libgps 3.22 notes that shape this file:
 * - gps_read() clears only PACKET_SET, so gpsdata.set is zeroed before every read and a TPV
 *   is recognised by MODE_SET from that read alone;
 * - gpsd sends several TPVs per epoch while it learns the receiver's cycle: fixes are
 *   deduplicated by fix time;
 * - gps_open() connects synchronously (immediate on localhost); afterwards the socket is
 *   made non-blocking, and gps_read() reports EAGAIN as "nothing yet", not as a failure. */
#include "gnss.h"

#include "geodesy.h"

#include "log.h"
#include "rc.h"

#include <errno.h>
#include <fcntl.h>
#include <gps.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    DEFAULT_BACKOFF_MIN_MS = 500,
    DEFAULT_BACKOFF_MAX_MS = 30000,
    MAX_THRESHOLD_MS = 7 * 24 * 3600 * 1000, /* a week: anything longer is a typo */
};

struct gnss_watcher {
    char host[GNSS_HOST_LEN];
    char port[GNSS_PORT_LEN];
    struct gnss_config cfg; /* host/port point into the arrays above */
    struct gps_data_t gd;
    bool connected;
    int64_t next_connect_mono;
    int64_t backoff_ms;
    int sats; /* satellites used from the last SKY, -1 before one */
    bool have_time;
    int64_t last_time_ms; /* fix time of the last TPV delivered (dedupe) */
    bool have_fix;
    bool lost; /* the receiver reported no fix after `last` */
    struct gnss_fix last;
    struct gnss_quality q;
    struct gnss_fix fixq[GNSS_QUEUE_LEN];
    int fix_head, fix_count;
    struct gnss_finding findq[GNSS_QUEUE_LEN];
    int find_head, find_count;
    struct gnss_status st;
};

/* ---------------------------------------------------------------- clocks */

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gnss_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

int64_t gnss_real_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

/* ---------------------------------------------------------------- pure helpers */

const char *gnss_finding_name(enum gnss_finding_kind kind)
{
    switch (kind) {
    case GNSS_FIND_NO_FIX: return "no_fix";
    case GNSS_FIND_FROZEN: return "frozen";
    case GNSS_FIND_ZERO_EPH: return "zero_eph";
    case GNSS_FIND_TIME_SKEW: return "time_skew";
    case GNSS_FIND_IMPOSSIBLE_SPEED: return "impossible_speed";
    case GNSS_FIND_COUNT_: break;
    }
    return "unknown";
}

bool gnss_finding_is_clock(enum gnss_finding_kind kind)
{
    return kind == GNSS_FIND_TIME_SKEW;
}

const char *gnss_source_name(enum gnss_source source)
{
    switch (source) {
    case GNSS_SRC_GNSS: return "gnss";
    case GNSS_SRC_SURVEYED: return "surveyed";
    case GNSS_SRC_NONE: break;
    }
    return "none";
}

double gnss_fix_accuracy(const struct gnss_fix *fix, double assumed_eph_m)
{
    if (isfinite(fix->eph) && fix->eph >= 0)
        return fix->eph;
    return assumed_eph_m;
}

bool gnss_fix_usable(const struct gnss_fix *fix)
{
    return fix->mode >= MODE_2D && isfinite(fix->lat) && isfinite(fix->lon) &&
           fabs(fix->lat) <= 90.0 && fabs(fix->lon) <= 180.0;
}

static bool thresholds_ok(const struct gnss_thresholds *t)
{
    return t->no_fix_alert_ms >= 0 && t->no_fix_alert_ms <= MAX_THRESHOLD_MS &&
           t->frozen_after_ms >= 0 && t->frozen_after_ms <= MAX_THRESHOLD_MS &&
           t->max_time_skew_ms >= 0 && t->max_time_skew_ms <= MAX_THRESHOLD_MS &&
           isfinite(t->max_speed_mps) && t->max_speed_mps >= 0 && t->max_speed_mps < 1e7;
}

int gnss_config_check(const struct gnss_config *cfg, char *err)
{
    if (!cfg)
        return rc_fail(err, RC_INVAL, "gnss: no configuration");
    if (cfg->host && (!*cfg->host || strlen(cfg->host) >= GNSS_HOST_LEN))
        return rc_fail(err, RC_INVAL, "gnss: gpsd host is empty or longer than %d bytes",
                       GNSS_HOST_LEN - 1);
    if (cfg->port) {
        char *end = NULL;
        errno = 0;
        long p = strtol(cfg->port, &end, 10);
        if (errno || end == cfg->port || *end || p < 1 || p > 65535)
            return rc_fail(err, RC_INVAL, "gnss: gpsd port '%.16s' is not 1..65535", cfg->port);
    }
    if (cfg->stale_after_ms <= 0 || cfg->stale_after_ms > MAX_THRESHOLD_MS)
        return rc_fail(err, RC_INVAL, "gnss: stale_after must be positive and at most a week");
    if (!isfinite(cfg->assumed_eph_m) || cfg->assumed_eph_m <= 0 || cfg->assumed_eph_m > 1e5)
        return rc_fail(err, RC_INVAL, "gnss: assumed_eph_m must be in (0, 100000] metres");
    if (!thresholds_ok(&cfg->q))
        return rc_fail(err, RC_INVAL,
                       "gnss: quality thresholds must be finite, non-negative and at most a week");
    if (cfg->backoff_min_ms < 0 || cfg->backoff_max_ms < 0 ||
        cfg->backoff_min_ms > MAX_THRESHOLD_MS || cfg->backoff_max_ms > MAX_THRESHOLD_MS ||
        (cfg->backoff_max_ms && cfg->backoff_min_ms > cfg->backoff_max_ms))
        return rc_fail(err, RC_INVAL, "gnss: reconnect backoff must satisfy 0 <= min <= max");
    const struct gnss_surveyed *s = &cfg->surveyed;
    if (s->set && (!isfinite(s->lat) || !isfinite(s->lon) || fabs(s->lat) > 90.0 ||
                   fabs(s->lon) > 180.0 || !isfinite(s->eph_m) || s->eph_m < 0 || s->eph_m > 1e5))
        return rc_fail(err, RC_INVAL,
                       "gnss: surveyed position needs latitude in [-90,90], longitude in "
                       "[-180,180] and eph_m in [0,100000]");
    return 0;
}

static void fix_clear(struct gnss_fix *f)
{
    memset(f, 0, sizeof(*f));
    f->lat = NAN;
    f->lon = NAN;
    f->eph = NAN;
    f->sats = -1;
    f->source = GNSS_SRC_NONE;
}

enum gnss_state gnss_select(const struct gnss_fix *last, bool lost, int64_t now_mono_ms,
                            int64_t stale_after_ms, const struct gnss_surveyed *surveyed,
                            int64_t now_real_ms, struct gnss_fix *out)
{
    bool usable = last && gnss_fix_usable(last);
    if (usable && !lost && now_mono_ms - last->rx_mono_ms <= stale_after_ms) {
        *out = *last;
        return GNSS_STATE_FRESH;
    }
    if (surveyed && surveyed->set) {
        fix_clear(out);
        out->lat = surveyed->lat;
        out->lon = surveyed->lon;
        out->eph = surveyed->eph_m;
        out->mode = MODE_2D; /* a horizontal position, not from a receiver */
        out->rx_real_ms = now_real_ms;
        out->rx_mono_ms = now_mono_ms;
        out->source = GNSS_SRC_SURVEYED;
        return GNSS_STATE_SURVEYED;
    }
    if (usable) {
        *out = *last;
        return GNSS_STATE_STALE;
    }
    fix_clear(out);
    return GNSS_STATE_NONE;
}

/* ---------------------------------------------------------------- quality analyser */

void gnss_quality_init(struct gnss_quality *q, const struct gnss_thresholds *t)
{
    memset(q, 0, sizeof(*q));
    q->t = *t;
    fix_clear(&q->prev);
}

/* Opens an episode of kind (if none is open) and writes the finding; returns 1 if written. */
static int open_episode(struct gnss_quality *q, enum gnss_finding_kind kind, int64_t now,
                        double value, int64_t skew_ms, struct gnss_finding *out, int max, int n,
                        const char *fmt, ...) __attribute__((format(printf, 9, 10)));

static int open_episode(struct gnss_quality *q, enum gnss_finding_kind kind, int64_t now,
                        double value, int64_t skew_ms, struct gnss_finding *out, int max, int n,
                        const char *fmt, ...)
{
    if (q->active[kind])
        return 0;
    q->active[kind] = true;
    if (n >= max)
        return 0;
    struct gnss_finding *f = &out[n];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->at_mono_ms = now;
    f->value = value;
    f->skew_ms = skew_ms;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
    va_end(ap);
    return 1;
}

static int check_no_fix(struct gnss_quality *q, int64_t now, struct gnss_finding *out, int max,
                        int n)
{
    int64_t gap = now - q->last_good_mono;
    if (q->t.no_fix_alert_ms > 0 && gap > q->t.no_fix_alert_ms)
        return open_episode(q, GNSS_FIND_NO_FIX, now, (double)gap / 1000.0, 0, out, max, n,
                            "no usable fix for %.0f s (alert after %.0f s)", (double)gap / 1000.0,
                            (double)q->t.no_fix_alert_ms / 1000.0);
    return 0;
}

static double eph_or_zero(const struct gnss_fix *f)
{
    return isfinite(f->eph) && f->eph > 0 ? f->eph : 0.0;
}

int gnss_quality_observe(struct gnss_quality *q, const struct gnss_fix *fix,
                         struct gnss_finding *out, int max)
{
    int n = 0;
    int64_t now = fix->rx_mono_ms;
    if (!q->started) {
        q->started = true;
        q->last_good_mono = now;
    }
    if (!gnss_fix_usable(fix))
        return check_no_fix(q, now, out, max, n);

    q->active[GNSS_FIND_NO_FIX] = false;
    q->last_good_mono = now;

    if (isfinite(fix->eph) && fix->eph <= 0.0)
        n += open_episode(q, GNSS_FIND_ZERO_EPH, now, 0.0, 0, out, max, n,
                          "receiver reports a horizontal error of 0 m");
    else
        q->active[GNSS_FIND_ZERO_EPH] = false;

    if (q->t.max_time_skew_ms > 0 && fix->time_ms != 0) {
        int64_t skew = fix->time_ms - fix->rx_real_ms;
        if (skew > q->t.max_time_skew_ms || -skew > q->t.max_time_skew_ms)
            n += open_episode(q, GNSS_FIND_TIME_SKEW, now, 0.0, skew, out, max, n,
                              "GNSS time is %+.1f s from the system clock (limit %.0f s)",
                              (double)skew / 1000.0, (double)q->t.max_time_skew_ms / 1000.0);
        else
            q->active[GNSS_FIND_TIME_SKEW] = false;
    }

    if (q->have_prev && fix->lat == q->prev.lat && fix->lon == q->prev.lon) {
        int64_t held = now - q->frozen_since_mono;
        if (q->t.frozen_after_ms > 0 && held >= q->t.frozen_after_ms)
            n += open_episode(q, GNSS_FIND_FROZEN, now, (double)held / 1000.0, 0, out, max, n,
                              "coordinates unchanged for %.0f s while fixes keep arriving",
                              (double)held / 1000.0);
    } else {
        q->frozen_since_mono = now;
        q->active[GNSS_FIND_FROZEN] = false;
    }

    if (q->have_prev && q->t.max_speed_mps > 0) {
        /* The receiver's own clock spaces its fixes; the receive times only when it does not
         * advance (a replayed or stuck clock). */
        double dt = 0;
        if (fix->time_ms != 0 && q->prev.time_ms != 0 && fix->time_ms > q->prev.time_ms)
            dt = (double)(fix->time_ms - q->prev.time_ms) / 1000.0;
        else if (fix->rx_mono_ms > q->prev.rx_mono_ms)
            dt = (double)(fix->rx_mono_ms - q->prev.rx_mono_ms) / 1000.0;
        if (dt > 0) {
            double d = geodesy_point_distance(q->prev.lat, q->prev.lon, fix->lat, fix->lon);
            /* Only the part of the step the two error circles cannot explain counts. */
            double excess = d - eph_or_zero(&q->prev) - eph_or_zero(fix);
            double speed = excess / dt;
            if (speed > q->t.max_speed_mps)
                n += open_episode(q, GNSS_FIND_IMPOSSIBLE_SPEED, now, speed, 0, out, max, n,
                                  "%.0f m in %.1f s between consecutive fixes (%.0f m/s beyond "
                                  "accuracy; limit %.0f m/s)",
                                  d, dt, speed, q->t.max_speed_mps);
            else
                q->active[GNSS_FIND_IMPOSSIBLE_SPEED] = false;
        }
    }

    q->prev = *fix;
    q->have_prev = true;
    return n;
}

int gnss_quality_tick(struct gnss_quality *q, int64_t now_mono_ms, struct gnss_finding *out,
                      int max)
{
    if (!q->started) {
        q->started = true;
        q->last_good_mono = now_mono_ms;
    }
    return check_no_fix(q, now_mono_ms, out, max, 0);
}

/* ---------------------------------------------------------------- watcher */

int gnss_create(const struct gnss_config *cfg, gnss_watcher **out, char *err)
{
    int rc = gnss_config_check(cfg, err);
    if (rc)
        return rc;
    gnss_watcher *w = calloc(1, sizeof(*w));
    if (!w)
        return rc_fail(err, RC_NOMEM, "gnss: out of memory");
    w->cfg = *cfg;
    snprintf(w->host, sizeof(w->host), "%s", cfg->host ? cfg->host : "localhost");
    snprintf(w->port, sizeof(w->port), "%s", cfg->port ? cfg->port : DEFAULT_GPSD_PORT);
    w->cfg.host = w->host;
    w->cfg.port = w->port;
    if (!w->cfg.backoff_min_ms)
        w->cfg.backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
    if (!w->cfg.backoff_max_ms)
        w->cfg.backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
    if (w->cfg.backoff_min_ms > w->cfg.backoff_max_ms)
        w->cfg.backoff_min_ms = w->cfg.backoff_max_ms;
    w->backoff_ms = w->cfg.backoff_min_ms;
    w->sats = -1;
    w->gd.gps_fd = -1;
    fix_clear(&w->last);
    gnss_quality_init(&w->q, &w->cfg.q);
    *out = w;
    return 0;
}

static void disconnect(gnss_watcher *w, int64_t now, const char *why)
{
    /* A lost connection is worth a warning; each failed retry after it is not. */
    enum log_level lvl = w->connected ? LOG_LVL_WARN : LOG_LVL_DEBUG;
    if (w->connected) {
        (void)gps_close(&w->gd);
        w->connected = false;
    }
    memset(&w->gd, 0, sizeof(w->gd));
    w->gd.gps_fd = -1;
    snprintf(w->st.last_error, sizeof(w->st.last_error), "%s", why);
    w->next_connect_mono = now + w->backoff_ms;
    log_msg(lvl, "gpsd %s:%s: %s; retrying in %lld ms", w->host, w->port, why,
            (long long)w->backoff_ms);
    w->backoff_ms =
        w->backoff_ms * 2 > w->cfg.backoff_max_ms ? w->cfg.backoff_max_ms : w->backoff_ms * 2;
}

void gnss_destroy(gnss_watcher *w)
{
    if (!w)
        return;
    if (w->connected)
        (void)gps_close(&w->gd);
    free(w);
}

int gnss_fd(const gnss_watcher *w)
{
    return w->connected ? (int)w->gd.gps_fd : -1;
}

static void try_connect(gnss_watcher *w, int64_t now)
{
    char why[GNSS_DETAIL_LEN];
    memset(&w->gd, 0, sizeof(w->gd));
    errno = 0;
    if (gps_open(w->host, w->port, &w->gd) != 0) {
        snprintf(why, sizeof(why), "cannot connect: %s", gps_errstr(errno));
        disconnect(w, now, why);
        return;
    }
    w->connected = true;
    if (gps_stream(&w->gd, WATCH_ENABLE | WATCH_JSON, NULL) != 0) {
        disconnect(w, now, "cannot start the JSON watch");
        return;
    }
    int fl = fcntl((int)w->gd.gps_fd, F_GETFL);
    if (fl < 0 || fcntl((int)w->gd.gps_fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        snprintf(why, sizeof(why), "cannot make the socket non-blocking: %s", strerror(errno));
        disconnect(w, now, why);
        return;
    }
    /* A freshly restarted gpsd may replay the last epoch; dedupe starts over. */
    w->have_time = false;
    w->st.connected = true;
    w->st.ever_connected = true;
    w->st.connects++;
    log_msg(LOG_LVL_INFO, "gpsd %s:%s: connected", w->host, w->port);
}

static void push_finding(gnss_watcher *w, const struct gnss_finding *f)
{
    if (w->find_count == GNSS_QUEUE_LEN) {
        w->find_head = (w->find_head + 1) % GNSS_QUEUE_LEN;
        w->find_count--;
    }
    w->findq[(w->find_head + w->find_count) % GNSS_QUEUE_LEN] = *f;
    w->find_count++;
}

static void push_fix(gnss_watcher *w, const struct gnss_fix *f)
{
    if (w->fix_count == GNSS_QUEUE_LEN) {
        w->fix_head = (w->fix_head + 1) % GNSS_QUEUE_LEN;
        w->fix_count--;
    }
    w->fixq[(w->fix_head + w->fix_count) % GNSS_QUEUE_LEN] = *f;
    w->fix_count++;
}

static void observe(gnss_watcher *w, const struct gnss_fix *f)
{
    struct gnss_finding found[GNSS_FIND_COUNT_];
    int n = gnss_quality_observe(&w->q, f, found, GNSS_FIND_COUNT_);
    for (int i = 0; i < n; i++)
        push_finding(w, &found[i]);
}

/* gpsd's first TPV of a session can precede the epoch's GSA (mode 2, no eph); a later TPV for
 * the same time that knows more replaces it in `last` and, if not yet popped, in the queue.
 * It is not a new epoch: nothing is delivered twice and the analyser is not fed again. */
static void refine_epoch(gnss_watcher *w, const struct gnss_fix *f)
{
    if (!gnss_fix_usable(f) || !w->have_fix || w->lost || w->last.time_ms != f->time_ms)
        return;
    bool better = f->mode > w->last.mode || (isnan(w->last.eph) && isfinite(f->eph));
    if (!better)
        return;
    struct gnss_fix upd = *f;
    upd.rx_mono_ms = w->last.rx_mono_ms;
    upd.rx_real_ms = w->last.rx_real_ms;
    w->last = upd;
    if (w->fix_count) {
        struct gnss_fix *tail = &w->fixq[(w->fix_head + w->fix_count - 1) % GNSS_QUEUE_LEN];
        if (tail->time_ms == f->time_ms)
            *tail = upd;
    }
}

/* Handles one TPV; returns 1 when it is a new report queued for the caller. */
static int handle_tpv(gnss_watcher *w, int64_t now_mono, int64_t now_real)
{
    const struct gps_fix_t *g = &w->gd.fix;
    struct gnss_fix f;
    fix_clear(&f);
    f.mode = g->mode;
    f.time_ms = (int64_t)g->time.tv_sec * 1000 + g->time.tv_nsec / 1000000;
    f.rx_mono_ms = now_mono;
    f.rx_real_ms = now_real;
    f.sats = w->sats;
    f.source = GNSS_SRC_GNSS;
    if (g->mode >= MODE_2D) {
        f.lat = g->latitude;
        f.lon = g->longitude;
        f.eph = isfinite(g->eph) && g->eph >= 0 ? g->eph : NAN;
    }
    bool usable = gnss_fix_usable(&f);
    if (f.time_ms <= 0) {
        /* No time: a receiver that has nothing yet (still a "no fix" report), or gpsd's
         * partial first TPV of a session (skipped). */
        if (!usable && g->mode != MODE_NOT_SEEN) {
            w->lost = true;
            observe(w, &f);
        }
        return 0;
    }
    if (w->have_time && f.time_ms == w->last_time_ms) {
        refine_epoch(w, &f);
        return 0;
    }
    w->have_time = true;
    w->last_time_ms = f.time_ms;
    if (usable) {
        w->last = f;
        w->have_fix = true;
        w->lost = false;
    } else {
        w->lost = true;
    }
    observe(w, &f);
    push_fix(w, &f);
    w->st.fixes++;
    return 1;
}

static int read_available(gnss_watcher *w, int64_t now_mono, int64_t now_real)
{
    int fresh = 0;
    for (int i = 0; i < GNSS_READS_PER_CALL && w->connected; i++) {
        if (!gps_waiting(&w->gd, 0))
            break;
        w->gd.set = 0;
        errno = 0;
        int n = gps_read(&w->gd, NULL, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            char why[GNSS_DETAIL_LEN];
            snprintf(why, sizeof(why), "connection lost (%s)",
                     errno ? strerror(errno) : "closed by gpsd");
            disconnect(w, now_mono, why);
            break;
        }
        if (n == 0)
            break;
        w->backoff_ms = w->cfg.backoff_min_ms; /* gpsd talks: the next drop starts afresh */
        if (w->gd.set & SATELLITE_SET)
            w->sats = w->gd.satellites_used;
        if (w->gd.set & MODE_SET)
            fresh += handle_tpv(w, now_mono, now_real);
    }
    return fresh;
}

int gnss_process(gnss_watcher *w, int64_t now_mono_ms, int64_t now_real_ms)
{
    int fresh = 0;
    if (!w->connected && now_mono_ms >= w->next_connect_mono)
        try_connect(w, now_mono_ms);
    if (w->connected)
        fresh = read_available(w, now_mono_ms, now_real_ms);
    w->st.connected = w->connected;
    struct gnss_finding f;
    if (gnss_quality_tick(&w->q, now_mono_ms, &f, 1) == 1)
        push_finding(w, &f);
    return fresh;
}

int64_t gnss_timeout_ms(const gnss_watcher *w, int64_t now_mono_ms)
{
    int64_t t = -1;
    if (!w->connected) {
        t = w->next_connect_mono - now_mono_ms;
        if (t < 0)
            t = 0;
    } else if (gps_waiting(&w->gd, 0)) {
        return 0; /* lines already buffered inside libgps: poll() would not see them */
    }
    if (w->q.t.no_fix_alert_ms > 0 && !w->q.active[GNSS_FIND_NO_FIX]) {
        int64_t base = w->q.started ? w->q.last_good_mono : now_mono_ms;
        int64_t due = base + w->q.t.no_fix_alert_ms + 1 - now_mono_ms;
        if (due < 0)
            due = 0;
        if (t < 0 || due < t)
            t = due;
    }
    return t;
}

int gnss_poll_once(gnss_watcher *w, int timeout_ms)
{
    int64_t now = gnss_mono_ms();
    int64_t t = timeout_ms < 0 ? 0 : timeout_ms;
    int64_t due = gnss_timeout_ms(w, now);
    if (due >= 0 && due < t)
        t = due;
    if (t > 0) {
        if (w->connected) {
            struct pollfd p = {.fd = (int)w->gd.gps_fd, .events = POLLIN};
            (void)poll(&p, 1, (int)t);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(t / 1000),
                                  .tv_nsec = (long)(t % 1000) * 1000000L};
            (void)nanosleep(&ts, NULL);
        }
    }
    return gnss_process(w, gnss_mono_ms(), gnss_real_ms());
}

bool gnss_pop_fix(gnss_watcher *w, struct gnss_fix *out)
{
    if (!w->fix_count)
        return false;
    *out = w->fixq[w->fix_head];
    w->fix_head = (w->fix_head + 1) % GNSS_QUEUE_LEN;
    w->fix_count--;
    return true;
}

bool gnss_pop_finding(gnss_watcher *w, struct gnss_finding *out)
{
    if (!w->find_count)
        return false;
    *out = w->findq[w->find_head];
    w->find_head = (w->find_head + 1) % GNSS_QUEUE_LEN;
    w->find_count--;
    return true;
}

enum gnss_state gnss_current(const gnss_watcher *w, int64_t now_mono_ms, struct gnss_fix *out)
{
    /* The surveyed fallback is stamped with the wall clock matching now_mono_ms. */
    int64_t real = gnss_real_ms() - (gnss_mono_ms() - now_mono_ms);
    return gnss_select(w->have_fix ? &w->last : NULL, w->lost, now_mono_ms, w->cfg.stale_after_ms,
                       &w->cfg.surveyed, real, out);
}

void gnss_get_status(const gnss_watcher *w, struct gnss_status *out)
{
    *out = w->st;
    out->connected = w->connected;
}

int gnss_wait_fix(gnss_watcher *w, int timeout_ms, struct gnss_fix *out, char *err)
{
    int64_t deadline = gnss_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int64_t now = gnss_mono_ms();
        if (gnss_current(w, now, out) == GNSS_STATE_FRESH)
            return 0;
        if (now >= deadline)
            break;
        int64_t left = deadline - now;
        (void)gnss_poll_once(w, (int)(left < 1000 ? left : 1000));
    }
    if (gnss_current(w, gnss_mono_ms(), out) == GNSS_STATE_SURVEYED)
        return 0;
    if (!w->st.ever_connected)
        return rc_fail(err, RC_TIMEOUT, "gpsd at %s:%s unreachable within %d s: %s", w->host,
                       w->port, timeout_ms / 1000, w->st.last_error);
    return rc_fail(err, RC_TIMEOUT, "no GNSS fix from gpsd within %d s", timeout_ms / 1000);
}
