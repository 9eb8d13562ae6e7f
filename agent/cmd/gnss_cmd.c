/* `rollcall-agent gnss`: watch gpsd and print every new fix and quality finding, for
 * installers checking a kiosk's receiver and for the integration tests. */
#include "cmd/commands.h"
#include "gnss.h"
#include "rc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TIME_TEXT_LEN = 32, MAX_COUNT = 1000000, MAX_TIMEOUT_S = 7 * 24 * 3600 };

/* Defaults for a stationary kiosk; a profile's values replace them in the daemon. */
#define DEF_STALE_S 5.0
#define DEF_NO_FIX_S 60.0
#define DEF_FROZEN_S 300.0
#define DEF_MAX_SPEED 50.0
#define DEF_MAX_SKEW_S 10.0
#define DEF_ASSUMED_EPH 50.0

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rollcall-agent gnss [--gpsd HOST:PORT] [--count N] [--timeout S] [--json]\n"
            "                           [--stale-after S] [--no-fix-alert S] [--frozen-after S]\n"
            "                           [--max-speed M/S] [--max-skew S] [--surveyed LAT,LON,EPH]\n"
            "\n"
            "Watches gpsd and prints each new fix and each quality finding (no_fix, frozen,\n"
            "zero_eph, time_skew, impossible_speed), one per line; NDJSON with --json.\n"
            "\n"
            "  --gpsd HOST:PORT    gpsd to watch (default localhost:2947)\n"
            "  --count N           stop after N fixes with a position (default: no limit)\n"
            "  --timeout S         stop after S seconds (default 30)\n"
            "  --json              NDJSON: "
            "{\"lat\",\"lon\",\"eph\",\"mode\",\"sats\",\"time\",\"source\"}\n"
            "                      per fix, {\"finding\",\"detail\"} per finding\n"
            "  --stale-after S     a fix older than S seconds is stale (default %.0f)\n"
            "  --no-fix-alert S    no_fix after S seconds without a fix (default %.0f; 0 off)\n"
            "  --frozen-after S    frozen after S seconds of identical coordinates (default %.0f)\n"
            "  --max-speed M/S     impossible_speed above this speed (default %.0f)\n"
            "  --max-skew S        time_skew when GNSS time and the system clock differ by more\n"
            "                      than S seconds (default %.0f)\n"
            "  --surveyed LAT,LON,EPH  the profile's surveyed position: printed (source\n"
            "                      surveyed) at the end when no GNSS fix came\n"
            "\n"
            "Exit status: 0 done, 1 gpsd unreachable for the whole timeout, 2 usage error.\n",
            DEF_STALE_S, DEF_NO_FIX_S, DEF_FROZEN_S, DEF_MAX_SPEED, DEF_MAX_SKEW_S);
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return RC_INVAL;
    *out = v;
    return 0;
}

static int parse_seconds_ms(const char *s, int64_t *out_ms)
{
    double v;
    if (parse_double(s, 0, MAX_TIMEOUT_S, &v))
        return RC_INVAL;
    *out_ms = (int64_t)llround(v * 1000.0);
    return 0;
}

/* HOST:PORT or [V6ADDR]:PORT into host and port buffers. */
static int parse_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(s, ':');
    if (!colon || !colon[1])
        return RC_INVAL;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        h = s + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen)
        return RC_INVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%s", colon + 1);
    char *end = NULL;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (errno || *end || p < 1 || p > 65535)
        return RC_INVAL;
    return 0;
}

static int parse_surveyed(const char *s, struct gnss_surveyed *sv)
{
    char buf[128];
    if (strlen(s) >= sizeof(buf))
        return RC_INVAL;
    snprintf(buf, sizeof(buf), "%s", s);
    char *save = NULL;
    char *a = strtok_r(buf, ",", &save);
    char *b = a ? strtok_r(NULL, ",", &save) : NULL;
    char *c = b ? strtok_r(NULL, ",", &save) : NULL;
    if (!c || strtok_r(NULL, ",", &save))
        return RC_INVAL;
    if (parse_double(a, -90, 90, &sv->lat) || parse_double(b, -180, 180, &sv->lon) ||
        parse_double(c, 0, 1e5, &sv->eph_m))
        return RC_INVAL;
    sv->set = true;
    return 0;
}

static void format_time(int64_t ms, char *buf, size_t len)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&sec, &tm)) {
        snprintf(buf, len, "-");
        return;
    }
    char day[24];
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", day, (int)(ms % 1000));
}

/* Prints one line for a fix; 0 or RC_NOMEM. */
static int print_fix(const struct gnss_fix *f, bool json)
{
    char t[TIME_TEXT_LEN];
    format_time(f->time_ms, t, sizeof(t));
    bool pos = gnss_fix_usable(f);
    if (!json) {
        if (pos)
            printf("fix %s mode %d lat %.9f lon %.9f eph %s%.1f m sats %d source %s\n", t, f->mode,
                   f->lat, f->lon, isfinite(f->eph) ? "" : "(unknown) ",
                   isfinite(f->eph) ? f->eph : 0.0, f->sats, gnss_source_name(f->source));
        else
            printf("nofix %s mode %d source %s\n", t, f->mode, gnss_source_name(f->source));
        fflush(stdout);
        return 0;
    }
    int rc = RC_NOMEM;
    char *text = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        goto out;
    if (!(pos ? cJSON_AddNumberToObject(o, "lat", f->lat) : cJSON_AddNullToObject(o, "lat")) ||
        !(pos ? cJSON_AddNumberToObject(o, "lon", f->lon) : cJSON_AddNullToObject(o, "lon")) ||
        !(pos && isfinite(f->eph) ? cJSON_AddNumberToObject(o, "eph", f->eph)
                                  : cJSON_AddNullToObject(o, "eph")) ||
        !cJSON_AddNumberToObject(o, "mode", f->mode) ||
        !(f->sats >= 0 ? cJSON_AddNumberToObject(o, "sats", f->sats)
                       : cJSON_AddNullToObject(o, "sats")) ||
        !(f->time_ms > 0 ? cJSON_AddStringToObject(o, "time", t)
                         : cJSON_AddNullToObject(o, "time")) ||
        !cJSON_AddStringToObject(o, "source", gnss_source_name(f->source)))
        goto out;
    text = cJSON_PrintUnformatted(o);
    if (!text)
        goto out;
    printf("%s\n", text);
    fflush(stdout);
    rc = 0;
out:
    cJSON_free(text);
    cJSON_Delete(o);
    return rc;
}

static int print_finding(const struct gnss_finding *f, bool json)
{
    if (!json) {
        printf("finding %s%s: %s\n", gnss_finding_name(f->kind),
               gnss_finding_is_clock(f->kind) ? " (clock)" : "", f->detail);
        fflush(stdout);
        return 0;
    }
    int rc = RC_NOMEM;
    char *text = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "finding", gnss_finding_name(f->kind)) ||
        !cJSON_AddStringToObject(o, "detail", f->detail))
        goto out;
    if (gnss_finding_is_clock(f->kind) &&
        (!cJSON_AddBoolToObject(o, "clock", 1) ||
         !cJSON_AddNumberToObject(o, "skew_ms", (double)f->skew_ms)))
        goto out;
    text = cJSON_PrintUnformatted(o);
    if (!text)
        goto out;
    printf("%s\n", text);
    fflush(stdout);
    rc = 0;
out:
    cJSON_free(text);
    cJSON_Delete(o);
    return rc;
}

int cmd_gnss(int argc, char **argv, const struct agent_globals *g)
{
    (void)g; /* thresholds come from options until the config loader provides them */
    char host[GNSS_HOST_LEN] = "localhost";
    char port[GNSS_PORT_LEN] = "2947";
    long count = 0;
    int64_t timeout_ms = 30000;
    bool json = false;
    struct gnss_config cfg = {
        .stale_after_ms = (int64_t)(DEF_STALE_S * 1000),
        .assumed_eph_m = DEF_ASSUMED_EPH,
        .q = {.no_fix_alert_ms = (int64_t)(DEF_NO_FIX_S * 1000),
              .frozen_after_ms = (int64_t)(DEF_FROZEN_S * 1000),
              .max_speed_mps = DEF_MAX_SPEED,
              .max_time_skew_ms = (int64_t)(DEF_MAX_SKEW_S * 1000)},
    };
    static const struct option opts[] = {
        {"gpsd", required_argument, NULL, 'g'},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"stale-after", required_argument, NULL, 's'},
        {"no-fix-alert", required_argument, NULL, 'N'},
        {"frozen-after", required_argument, NULL, 'F'},
        {"max-speed", required_argument, NULL, 'S'},
        {"max-skew", required_argument, NULL, 'K'},
        {"surveyed", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    int idx = -1;
    while ((ch = getopt_long(argc, argv, "+", opts, &idx)) != -1) {
        double d;
        bool bad = false;
        switch (ch) {
        case 'g': bad = parse_hostport(optarg, host, sizeof(host), port, sizeof(port)) != 0; break;
        case 'n':
            bad = parse_double(optarg, 1, MAX_COUNT, &d) != 0 || d != floor(d);
            if (!bad)
                count = (long)d;
            break;
        case 't': bad = parse_seconds_ms(optarg, &timeout_ms) != 0; break;
        case 'j': json = true; break;
        case 's':
            bad = parse_seconds_ms(optarg, &cfg.stale_after_ms) != 0 || cfg.stale_after_ms <= 0;
            break;
        case 'N': bad = parse_seconds_ms(optarg, &cfg.q.no_fix_alert_ms) != 0; break;
        case 'F': bad = parse_seconds_ms(optarg, &cfg.q.frozen_after_ms) != 0; break;
        case 'S': bad = parse_double(optarg, 0, 1e6, &cfg.q.max_speed_mps) != 0; break;
        case 'K': bad = parse_seconds_ms(optarg, &cfg.q.max_time_skew_ms) != 0; break;
        case 'P': bad = parse_surveyed(optarg, &cfg.surveyed) != 0; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "rollcall-agent gnss: bad value '%s' for --%s\n", optarg,
                    idx >= 0 ? opts[idx].name : "?");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-agent gnss: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    cfg.host = host;
    cfg.port = port;

    char err[ERR_LEN];
    gnss_watcher *w = NULL;
    int status = EXIT_REFUSED;
    if (gnss_create(&cfg, &w, err) != 0) {
        fprintf(stderr, "rollcall-agent gnss: %s\n", err);
        goto out;
    }
    int64_t deadline = gnss_mono_ms() + timeout_ms;
    long positions = 0;
    for (;;) {
        int64_t now = gnss_mono_ms();
        int64_t left = deadline - now;
        if (left <= 0 || (count > 0 && positions >= count))
            break;
        (void)gnss_poll_once(w, (int)(left < 1000 ? left : 1000));
        struct gnss_finding f;
        struct gnss_fix fix;
        while (gnss_pop_fix(w, &fix)) {
            if (print_fix(&fix, json) != 0)
                goto oom;
            if (gnss_fix_usable(&fix) && ++positions >= count && count > 0)
                break;
        }
        while (gnss_pop_finding(w, &f))
            if (print_finding(&f, json) != 0)
                goto oom;
    }
    struct gnss_status st;
    gnss_get_status(w, &st);
    if (!st.ever_connected) {
        fprintf(stderr, "rollcall-agent gnss: cannot reach gpsd at %s:%s within %.0f s: %s\n", host,
                port, (double)timeout_ms / 1000.0, st.last_error);
        goto out;
    }
    if (positions == 0 && cfg.surveyed.set) {
        struct gnss_fix fix;
        if (gnss_current(w, gnss_mono_ms(), &fix) == GNSS_STATE_SURVEYED &&
            print_fix(&fix, json) != 0)
            goto oom;
    }
    status = 0;
    goto out;
oom:
    fprintf(stderr, "rollcall-agent gnss: out of memory\n");
out:
    gnss_destroy(w);
    return status;
}
