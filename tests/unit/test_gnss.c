/* gnss: the quality analyser over synthetic fix sequences (each finding fires once per
 * episode, never on a clean track), freshness and the surveyed fallback, configuration
 * checks, and the watcher against a scripted gpsd on a loopback socket (deduplication by fix
 * time, reconnect after gpsd closes, unreachable gpsd). Distances are checked against the
 * WGS-84 meridian arc: 0.001 degree of latitude at the equator is 110.574 m. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gnss.h"
#include "log.h"
#include "rc.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { T0_REAL = 1790000000000LL / 1000 }; /* a Unix second in 2026 */

static const struct gnss_thresholds TH = {
    .no_fix_alert_ms = 30000,
    .frozen_after_ms = 60000,
    .max_speed_mps = 100.0,
    .max_time_skew_ms = 10000,
};

/* A usable fix at second i of a track: GNSS time, system clock and monotonic clock agree. */
static struct gnss_fix at(int64_t i, double lat, double lon, double eph)
{
    struct gnss_fix f = {0};
    f.lat = lat;
    f.lon = lon;
    f.eph = eph;
    f.mode = 3;
    f.sats = 8;
    f.time_ms = ((int64_t)T0_REAL + i) * 1000;
    f.rx_real_ms = f.time_ms + 150; /* gpsd delivers a little after the epoch */
    f.rx_mono_ms = 5000000 + i * 1000;
    f.source = GNSS_SRC_GNSS;
    return f;
}

static struct gnss_fix nofix(int64_t i)
{
    struct gnss_fix f = at(i, NAN, NAN, NAN);
    f.mode = 1;
    return f;
}

/* Feeds f and returns the number of findings; the kinds go to kinds[] (may be NULL). */
static int feed(struct gnss_quality *q, const struct gnss_fix *f, struct gnss_finding *out)
{
    struct gnss_finding tmp[GNSS_FIND_COUNT_];
    return gnss_quality_observe(q, f, out ? out : tmp, GNSS_FIND_COUNT_);
}

/* A kiosk-like clean track: slow drift with 0.2 m noise-like steps, eph 6 m. */
static double clean_lat(int64_t i)
{
    return 39.1 + 2e-6 * sin((double)i * 0.7) + 1e-7 * (double)(i % 7);
}

static void clean_track_raises_nothing(void **state)
{
    (void)state;
    struct gnss_quality q;
    gnss_quality_init(&q, &TH);
    for (int64_t i = 0; i < 600; i++) {
        struct gnss_fix f = at(i, clean_lat(i), 117.2 + 1e-7 * (double)(i % 5), 6.0);
        assert_int_equal(feed(&q, &f, NULL), 0);
    }
    struct gnss_finding out[2];
    assert_int_equal(gnss_quality_tick(&q, 5000000 + 600 * 1000, out, 2), 0);
}

static void no_fix_fires_once_per_episode(void **state)
{
    (void)state;
    struct gnss_quality q;
    gnss_quality_init(&q, &TH);
    struct gnss_finding out[GNSS_FIND_COUNT_];
    int64_t i = 0;
    for (; i < 10; i++) {
        struct gnss_fix f = at(i, clean_lat(i), 117.2, 5.0);
        assert_int_equal(feed(&q, &f, NULL), 0);
    }
    /* last fix at i = 9; no-fix reports from 10 on: the alert is due after 9 + 30 s */
    int total = 0;
    for (; i < 100; i++) {
        struct gnss_fix f = nofix(i);
        int n = feed(&q, &f, out);
        if (n) {
            assert_int_equal(n, 1);
            assert_int_equal(out[0].kind, GNSS_FIND_NO_FIX);
            assert_string_equal(gnss_finding_name(out[0].kind), "no_fix");
            assert_int_equal(i, 40); /* first report more than 30 s after the last fix */
            assert_true(out[0].value > 30.0);
        }
        total += n;
    }
    assert_int_equal(total, 1);
    /* gpsd silent too: still the same episode */
    assert_int_equal(gnss_quality_tick(&q, 5000000 + 200 * 1000, out, 1), 0);
    /* a fix ends the episode; a second outage is a second finding */
    struct gnss_fix f = at(100, clean_lat(100), 117.2, 5.0);
    assert_int_equal(feed(&q, &f, NULL), 0);
    assert_int_equal(gnss_quality_tick(&q, 5000000 + 120 * 1000, out, 1), 0);
    assert_int_equal(gnss_quality_tick(&q, 5000000 + 131 * 1000, out, 1), 1);
    assert_int_equal(out[0].kind, GNSS_FIND_NO_FIX);
    assert_int_equal(gnss_quality_tick(&q, 5000000 + 500 * 1000, out, 1), 0);
}

static void no_fix_from_start_when_gpsd_is_silent(void **state)
{
    (void)state;
    struct gnss_quality q;
    gnss_quality_init(&q, &TH);
    struct gnss_finding out[1];
    assert_int_equal(gnss_quality_tick(&q, 1000, out, 1), 0);  /* starts the clock */
    assert_int_equal(gnss_quality_tick(&q, 31000, out, 1), 0); /* exactly 30 s: not over */
    assert_int_equal(gnss_quality_tick(&q, 31001, out, 1), 1);
    assert_int_equal(out[0].kind, GNSS_FIND_NO_FIX);
    assert_int_equal(gnss_quality_tick(&q, 90000, out, 1), 0);
}

static void frozen_fires_once_per_episode(void **state)
{
    (void)state;
    struct gnss_quality q;
    gnss_quality_init(&q, &TH);
    struct gnss_finding out[GNSS_FIND_COUNT_];
    int64_t i = 0;
    for (; i < 5; i++) {
        struct gnss_fix f = at(i, clean_lat(i), 117.2, 5.0);
        assert_int_equal(feed(&q, &f, NULL), 0);
    }
    /* identical coordinates from i = 5: held 60 s at i = 65 */
    int total = 0;
    for (; i < 200; i++) {
        struct gnss_fix f = at(i, 39.2, 117.3, 5.0);
        if (i == 5) { /* a 14 km step in 1 s is also impossible; that finding is not ours */
            struct gnss_finding o[GNSS_FIND_COUNT_];
            int n = feed(&q, &f, o);
            assert_int_equal(n, 1);
            assert_int_equal(o[0].kind, GNSS_FIND_IMPOSSIBLE_SPEED);
            continue;
        }
        int n = feed(&q, &f, out);
        if (n) {
            assert_int_equal(n, 1);
            assert_int_equal(out[0].kind, GNSS_FIND_FROZEN);
            assert_int_equal(i, 65);
        }
        total += n;
    }
    assert_int_equal(total, 1);
    /* the position moves (by 0.1 m): episode over; frozen again for 60 s: a new finding */
    total = 0;
    for (; i < 400; i++) {
        struct gnss_fix f = at(i, 39.2 + 1e-6, 117.3, 5.0);
        total += feed(&q, &f, out);
    }
    assert_int_equal(total, 1);
    assert_int_equal(out[0].kind, GNSS_FIND_FROZEN);
}

static void frozen_needs_the_full_duration(void **state)
{
    (void)state;
    struct gnss_quality q;
    gnss_quality_init(&q, &TH);
    for (int64_t i = 0; i < 1000; i++) {
        /* 59 s identical, then a change: never 60 s */
        double lat = 39.2 + 1e-6 * (double)(i / 59);
        struct gnss_fix f = at(i, lat, 117.3, 5.0);
        assert_int_equal(feed(&q, &f, NULL), 0);
    }
}

static void zero_eph_fires_once_per_episode(void **state)
{
    (void)state;
    struct gnss_quality q;
    gnss_quality_init(&q, &TH);
    struct gnss_finding out[GNSS_FIND_COUNT_];
    int total = 0;
    for (int64_t i = 0; i < 60; i++) {
        double eph = (i >= 10 && i < 20) || (i >= 40 && i < 45) ? 0.0 : 4.0;
        struct gnss_fix f = at(i, clean_lat(i), 117.2, eph);
        int n = feed(&q, &f, out);
        if (n) {
            assert_int_equal(n, 1);
            assert_int_equal(out[0].kind, GNSS_FIND_ZERO_EPH);
            assert_true(i == 10 || i == 40);
        }
        total += n;
    }
    assert_int_equal(total, 2);
    /* unknown eph (NaN) is not zero */
    gnss_quality_init(&q, &TH);
    for (int64_t i = 0; i < 20; i++) {
        struct gnss_fix f = at(i, clean_lat(i), 117.2, NAN);
        assert_int_equal(feed(&q, &f, NULL), 0);
    }
}

static void time_skew_is_a_clock_finding_once_per_episode(void **state)
{
    (void)state;
    struct gnss_quality q;
    gnss_quality_init(&q, &TH);
    struct gnss_finding out[GNSS_FIND_COUNT_];
    int total = 0;
    for (int64_t i = 0; i < 100; i++) {
        struct gnss_fix f = at(i, clean_lat(i), 117.2, 5.0);
        if (i >= 20 && i < 50)
            f.time_ms += 3600 * 1000; /* receiver clock jumps an hour ahead */
        if (i >= 70 && i < 80)
            f.time_ms -= 11 * 1000; /* then 11 s behind: over the 10 s limit */
        int n = feed(&q, &f, out);
        if (n) {
            assert_int_equal(n, 1);
            assert_int_equal(out[0].kind, GNSS_FIND_TIME_SKEW);
            assert_true(gnss_finding_is_clock(out[0].kind));
            if (i == 20)
                assert_int_equal(out[0].skew_ms, 3600 * 1000 - 150);
            else
                assert_int_equal(i, 70);
        }
        total += n;
    }
    assert_int_equal(total, 2);
    for (int k = 0; k < GNSS_FIND_COUNT_; k++)
        assert_int_equal(gnss_finding_is_clock((enum gnss_finding_kind)k),
                         k == GNSS_FIND_TIME_SKEW);
    /* 9.8 s behind is within the limit */
    gnss_quality_init(&q, &TH);
    for (int64_t i = 0; i < 20; i++) {
        struct gnss_fix f = at(i, clean_lat(i), 117.2, 5.0);
        f.time_ms -= 9650;
        assert_int_equal(feed(&q, &f, NULL), 0);
    }
}

static void impossible_speed_against_meridian_arc(void **state)
{
    (void)state;
    /* 0.001 degree of latitude at the equator = 110.574 m (WGS-84 meridian arc); 1 s apart */
    struct gnss_thresholds t = TH;
    struct gnss_finding out[GNSS_FIND_COUNT_];
    struct gnss_quality q;

    t.max_speed_mps = 110.0;
    gnss_quality_init(&q, &t);
    struct gnss_fix a = at(0, 0.0, 10.0, NAN), b = at(1, 0.001, 10.0, NAN);
    assert_int_equal(feed(&q, &a, NULL), 0);
    assert_int_equal(feed(&q, &b, out), 1);
    assert_int_equal(out[0].kind, GNSS_FIND_IMPOSSIBLE_SPEED);
    assert_true(fabs(out[0].value - 110.574) < 0.01);

    t.max_speed_mps = 111.0;
    gnss_quality_init(&q, &t);
    assert_int_equal(feed(&q, &a, NULL), 0);
    assert_int_equal(feed(&q, &b, NULL), 0);

    /* the error circles (10 m each) explain 20 m of the step: 90.574 m/s remains */
    t.max_speed_mps = 90.0;
    gnss_quality_init(&q, &t);
    a.eph = 10.0;
    b.eph = 10.0;
    assert_int_equal(feed(&q, &a, NULL), 0);
    assert_int_equal(feed(&q, &b, out), 1);
    assert_true(fabs(out[0].value - 90.574) < 0.01);
    t.max_speed_mps = 91.0;
    gnss_quality_init(&q, &t);
    assert_int_equal(feed(&q, &a, NULL), 0);
    assert_int_equal(feed(&q, &b, NULL), 0);
}

static void impossible_speed_once_per_episode(void **state)
{
    (void)state;
    struct gnss_quality q;
    gnss_quality_init(&q, &TH);
    struct gnss_finding out[GNSS_FIND_COUNT_];
    int total = 0;
    for (int64_t i = 0; i < 60; i++) {
        /* at 10 and 11 the track teleports 50 km and back; at 40 it jumps for good */
        double lat = (i == 10) ? 39.55 : (i >= 40 ? 39.6 : 39.1);
        struct gnss_fix f = at(i, lat + 1e-7 * (double)(i % 3), 117.2, 5.0);
        int n = feed(&q, &f, out);
        if (n) {
            assert_int_equal(n, 1);
            assert_int_equal(out[0].kind, GNSS_FIND_IMPOSSIBLE_SPEED);
            assert_true(i == 10 || i == 40);
        }
        total += n;
    }
    assert_int_equal(total, 2);
    /* a jump over an hour of GNSS time (time jump) is not a speed problem: 50 km in 3600 s */
    gnss_quality_init(&q, &TH);
    struct gnss_fix a = at(0, 39.1, 117.2, 5.0), b = at(1, 39.55, 117.2, 5.0);
    b.time_ms += 3599 * 1000;
    b.rx_real_ms = b.time_ms + 150;
    assert_int_equal(feed(&q, &a, NULL), 0);
    assert_int_equal(feed(&q, &b, NULL), 0);
}

static void disabled_thresholds_raise_nothing(void **state)
{
    (void)state;
    struct gnss_thresholds off = {0};
    struct gnss_quality q;
    gnss_quality_init(&q, &off);
    for (int64_t i = 0; i < 300; i++) {
        struct gnss_fix f = i % 50 < 10 ? nofix(i) : at(i, 39.0 + (double)(i % 2), 117.0, 5.0);
        f.time_ms += 100000;
        assert_int_equal(feed(&q, &f, NULL), 0);
    }
    struct gnss_finding out[1];
    assert_int_equal(gnss_quality_tick(&q, 99999999, out, 1), 0);
}

static void freshness_and_surveyed_fallback(void **state)
{
    (void)state;
    struct gnss_fix last = at(0, 39.1, 117.2, 5.0), out;
    struct gnss_surveyed none = {0};
    struct gnss_surveyed sv = {.set = true, .lat = 39.12, .lon = 117.21, .eph_m = 3.0};
    int64_t t = last.rx_mono_ms;

    assert_int_equal(gnss_select(&last, false, t + 5000, 5000, &none, 42, &out), GNSS_STATE_FRESH);
    assert_true(out.lat == 39.1 && out.source == GNSS_SRC_GNSS);
    assert_int_equal(gnss_select(&last, false, t + 5001, 5000, &none, 42, &out), GNSS_STATE_STALE);
    assert_true(out.lat == 39.1 && out.source == GNSS_SRC_GNSS);
    /* the receiver said "no fix" since: not fresh even if recent */
    assert_int_equal(gnss_select(&last, true, t + 10, 5000, &none, 42, &out), GNSS_STATE_STALE);
    assert_int_equal(gnss_select(NULL, false, t, 5000, &none, 42, &out), GNSS_STATE_NONE);
    assert_true(isnan(out.lat) && isnan(out.eph) && out.source == GNSS_SRC_NONE);

    /* a fresh GNSS fix wins over the surveyed position */
    assert_int_equal(gnss_select(&last, false, t + 1000, 5000, &sv, 42, &out), GNSS_STATE_FRESH);
    assert_int_equal(out.source, GNSS_SRC_GNSS);
    /* stale, lost or absent: the surveyed position, marked as such */
    enum gnss_state st[3] = {
        gnss_select(&last, false, t + 6000, 5000, &sv, 42, &out),
        gnss_select(&last, true, t + 10, 5000, &sv, 42, &out),
        gnss_select(NULL, false, t, 5000, &sv, 42, &out),
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(st[i], GNSS_STATE_SURVEYED);
    assert_int_equal(out.source, GNSS_SRC_SURVEYED);
    assert_true(out.lat == 39.12 && out.lon == 117.21 && out.eph == 3.0);
    assert_int_equal(out.rx_real_ms, 42);
    assert_string_equal(gnss_source_name(out.source), "surveyed");
    /* a no-fix report is not a position */
    struct gnss_fix nf = nofix(0);
    assert_int_equal(gnss_select(&nf, false, nf.rx_mono_ms, 5000, &none, 42, &out),
                     GNSS_STATE_NONE);
}

static void accuracy_uses_assumed_only_when_unknown(void **state)
{
    (void)state;
    struct gnss_fix f = at(0, 39.1, 117.2, NAN);
    assert_true(gnss_fix_accuracy(&f, 25.0) == 25.0);
    f.eph = 0.0;
    assert_true(gnss_fix_accuracy(&f, 25.0) == 0.0);
    f.eph = 7.5;
    assert_true(gnss_fix_accuracy(&f, 25.0) == 7.5);
}

static struct gnss_config good_config(void)
{
    struct gnss_config c = {.host = "127.0.0.1",
                            .port = "2947",
                            .stale_after_ms = 5000,
                            .assumed_eph_m = 30.0,
                            .q = TH};
    return c;
}

static void config_check_refuses_bad_values(void **state)
{
    (void)state;
    char err[ERR_LEN];
    struct gnss_config c = good_config();
    assert_int_equal(gnss_config_check(&c, err), 0);
    struct gnss_config bad[12];
    for (int i = 0; i < 12; i++)
        bad[i] = good_config();
    bad[0].port = "0";
    bad[1].port = "65536";
    bad[2].port = "29x";
    bad[3].stale_after_ms = 0;
    bad[4].assumed_eph_m = NAN;
    bad[5].q.max_speed_mps = INFINITY;
    bad[6].q.frozen_after_ms = -1;
    bad[7].surveyed = (struct gnss_surveyed){.set = true, .lat = 91, .lon = 0, .eph_m = 1};
    bad[8].surveyed = (struct gnss_surveyed){.set = true, .lat = 0, .lon = NAN, .eph_m = 1};
    bad[9].surveyed = (struct gnss_surveyed){.set = true, .lat = 0, .lon = 0, .eph_m = -1};
    bad[10].host = "";
    bad[11].backoff_min_ms = 5000;
    bad[11].backoff_max_ms = 1000;
    for (int i = 0; i < 12; i++) {
        err[0] = '\0';
        assert_int_equal(gnss_config_check(&bad[i], err), RC_INVAL);
        assert_true(strlen(err) > 0);
        gnss_watcher *w = NULL;
        assert_int_equal(gnss_create(&bad[i], &w, err), RC_INVAL);
        assert_null(w);
    }
}

/* A listening socket on 127.0.0.1 with a kernel-chosen port. */
static int listen_any(char *port, size_t len)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 4), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    snprintf(port, len, "%u", (unsigned)ntohs(a.sin_port));
    return s;
}

static void send_all(int fd, const char *text)
{
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
}

static const char GPSD_HELLO[] =
    "{\"class\":\"VERSION\",\"release\":\"3.22\",\"rev\":\"3.22\",\"proto_major\":3,"
    "\"proto_minor\":14}\n";
/* gpsd's partial first TPV (no time), three TPVs of one epoch, a SKY, the next epoch. */
static const char GPSD_EPOCHS[] =
    "{\"class\":\"TPV\",\"device\":\"/dev/pts/1\",\"mode\":3,\"eph\":19.000}\n"
    "{\"class\":\"TPV\",\"device\":\"/dev/pts/1\",\"mode\":3,\"time\":\"2026-11-27T17:17:04."
    "000Z\",\"lat\":39.090123400,\"lon\":117.201234500,\"eph\":4.940}\n"
    "{\"class\":\"TPV\",\"device\":\"/dev/pts/1\",\"mode\":3,\"time\":\"2026-11-27T17:17:04."
    "000Z\",\"lat\":39.090123400,\"lon\":117.201234500,\"eph\":4.940}\n"
    "{\"class\":\"TPV\",\"device\":\"/dev/pts/1\",\"mode\":3,\"time\":\"2026-11-27T17:17:04."
    "000Z\",\"lat\":39.090123400,\"lon\":117.201234500,\"eph\":4.940}\n"
    "{\"class\":\"SKY\",\"device\":\"/dev/pts/1\",\"satellites\":[{\"PRN\":1,\"used\":true},"
    "{\"PRN\":2,\"used\":true},{\"PRN\":3,\"used\":false}]}\n"
    "{\"class\":\"TPV\",\"device\":\"/dev/pts/1\",\"mode\":3,\"time\":\"2026-11-27T17:17:05."
    "000Z\",\"lat\":39.090223400,\"lon\":117.201234500}\n";

static int process_until(gnss_watcher *w, int want_fixes)
{
    int got = 0;
    for (int i = 0; i < 200 && got < want_fixes; i++)
        got += gnss_poll_once(w, 20);
    return got;
}

static void watcher_dedupes_and_reconnects(void **state)
{
    (void)state;
    char port[GNSS_PORT_LEN];
    int ls = listen_any(port, sizeof(port));
    struct gnss_config c = good_config();
    c.port = port;
    c.backoff_min_ms = 50;
    c.backoff_max_ms = 200;
    char err[ERR_LEN];
    gnss_watcher *w = NULL;
    assert_int_equal(gnss_create(&c, &w, err), 0);
    assert_int_equal(gnss_fd(w), -1);

    /* connects (the listen backlog completes the TCP handshake), then we accept */
    assert_int_equal(gnss_process(w, gnss_mono_ms(), gnss_real_ms()), 0);
    assert_true(gnss_fd(w) >= 0);
    int cs = accept(ls, NULL, NULL);
    assert_true(cs >= 0);
    char watch[256] = {0};
    ssize_t wn = read(cs, watch, sizeof(watch) - 1);
    assert_true(wn > 0);
    assert_non_null(strstr(watch, "?WATCH={\"enable\":true,\"json\":true"));
    send_all(cs, GPSD_HELLO);
    send_all(cs, GPSD_EPOCHS);
    assert_int_equal(process_until(w, 2), 2);

    struct gnss_fix f;
    assert_true(gnss_pop_fix(w, &f));
    assert_true(f.lat == 39.0901234 && f.lon == 117.2012345);
    assert_true(fabs(f.eph - 4.94) < 1e-9);
    assert_int_equal(f.mode, 3);
    assert_int_equal(f.time_ms, 1795799824000LL); /* 2026-11-27T17:17:04Z */
    assert_int_equal(f.source, GNSS_SRC_GNSS);
    assert_true(gnss_pop_fix(w, &f));
    assert_int_equal(f.time_ms, 1795799825000LL);
    assert_int_equal(f.sats, 2); /* from the SKY: two satellites used */
    assert_true(isnan(f.eph));   /* absent in the TPV: unknown, not 0 */
    assert_false(gnss_pop_fix(w, &f));
    assert_int_equal(gnss_current(w, gnss_mono_ms(), &f), GNSS_STATE_FRESH);
    assert_true(f.lat == 39.0902234);

    /* gpsd goes away: the watcher notices, backs off, and reconnects */
    close(cs);
    for (int i = 0; i < 100 && gnss_fd(w) >= 0; i++)
        (void)gnss_poll_once(w, 20);
    assert_int_equal(gnss_fd(w), -1);
    struct gnss_status st;
    gnss_get_status(w, &st);
    assert_false(st.connected);
    assert_true(st.ever_connected);
    for (int i = 0; i < 100 && gnss_fd(w) < 0; i++)
        (void)gnss_poll_once(w, 20);
    assert_true(gnss_fd(w) >= 0);
    cs = accept(ls, NULL, NULL);
    assert_true(cs >= 0);
    send_all(cs, GPSD_HELLO);
    /* the same epochs again (a restarted gpsd replays): delivered again, once each */
    send_all(cs, GPSD_EPOCHS);
    assert_int_equal(process_until(w, 2), 2);
    gnss_get_status(w, &st);
    assert_int_equal(st.connects, 2);
    assert_int_equal(st.fixes, 4);
    close(cs);
    close(ls);
    gnss_destroy(w);
}

static void unreachable_gpsd_times_out_or_falls_back(void **state)
{
    (void)state;
    char port[GNSS_PORT_LEN];
    int ls = listen_any(port, sizeof(port));
    close(ls); /* nothing listens there now */
    struct gnss_config c = good_config();
    c.port = port;
    c.backoff_min_ms = 50;
    char err[ERR_LEN];
    gnss_watcher *w = NULL;
    struct gnss_fix f;
    assert_int_equal(gnss_create(&c, &w, err), 0);
    assert_int_equal(gnss_wait_fix(w, 300, &f, err), RC_TIMEOUT);
    assert_non_null(strstr(err, "unreachable"));
    assert_int_equal(f.source, GNSS_SRC_NONE);
    gnss_destroy(w);

    c.surveyed = (struct gnss_surveyed){.set = true, .lat = 39.1, .lon = 117.2, .eph_m = 2.0};
    assert_int_equal(gnss_create(&c, &w, err), 0);
    assert_int_equal(gnss_wait_fix(w, 300, &f, err), 0);
    assert_int_equal(f.source, GNSS_SRC_SURVEYED);
    assert_true(f.lat == 39.1 && f.lon == 117.2 && f.eph == 2.0);
    gnss_destroy(w);
    gnss_destroy(NULL);
}

int main(void)
{
    log_setup("test_gnss", LOG_LVL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_track_raises_nothing),
        cmocka_unit_test(no_fix_fires_once_per_episode),
        cmocka_unit_test(no_fix_from_start_when_gpsd_is_silent),
        cmocka_unit_test(frozen_fires_once_per_episode),
        cmocka_unit_test(frozen_needs_the_full_duration),
        cmocka_unit_test(zero_eph_fires_once_per_episode),
        cmocka_unit_test(time_skew_is_a_clock_finding_once_per_episode),
        cmocka_unit_test(impossible_speed_against_meridian_arc),
        cmocka_unit_test(impossible_speed_once_per_episode),
        cmocka_unit_test(disabled_thresholds_raise_nothing),
        cmocka_unit_test(freshness_and_surveyed_fallback),
        cmocka_unit_test(accuracy_uses_assumed_only_when_unknown),
        cmocka_unit_test(config_check_refuses_bad_values),
        cmocka_unit_test(watcher_dedupes_and_reconnects),
        cmocka_unit_test(unreachable_gpsd_times_out_or_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
