/* sync [--once] [--json] [--timeout S]: upload what is pending now. Without --once, keeps
 * retrying with the profile's backoff until everything pending is acknowledged (or --timeout
 * seconds pass, or SIGINT/SIGTERM). */
#include "cmd/commands.h"
#include "kiosk.h"
#include "log.h"
#include "photo_upload.h"
#include "rc.h"
#include "schedule_fetch.h"
#include "sync.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    SYNC_CMD_TIMEOUT_MAX_S = 7 * 86400,
    SLEEP_SLICE_MS = 200, /* how often a backoff sleep looks at the stop flag */
};

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t timed_out;

static void on_signal(int sig)
{
    if (sig == SIGALRM)
        timed_out = 1;
    stop_flag = 1;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: rollcall-agent [--config FILE] sync [--once] [--json] [--timeout S]\n"
        "\n"
        "Uploads the events not yet acknowledged by the collector, as signed batches, and\n"
        "prints how many it accepted, how many it already had (duplicates) and how many are\n"
        "still pending. Without --once, failed uploads are retried with exponential backoff\n"
        "(the profile's sync.backoff_base_ms .. backoff_cap_ms) until nothing is pending.\n"
        "Then fetches the kiosk's schedule (classes and rosters at its venue); a failure there\n"
        "is printed but does not change the exit status, and the last schedule stays in force.\n"
        "\n"
        "  --once       one pass: stop at the first failure\n"
        "  --timeout S  give up after S seconds (default: never)\n"
        "  --json       print {\"accepted\",\"duplicates\",\"pending\",\"ack_seq\",\"batches\",\n"
        "               \"error\",\"schedule\",\"schedule_version\",\"schedule_error\"} as one\n"
        "               JSON object\n"
        "Exit status: 0 nothing left pending, 1 events still pending (the reason is\n"
        "printed), 2 usage.\n");
}

static void sleep_ms(int64_t ms)
{
    while (ms > 0 && !stop_flag) {
        int64_t slice = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
        struct timespec ts = {.tv_sec = (time_t)(slice / 1000),
                              .tv_nsec = (long)(slice % 1000) * 1000000};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

/* JSON string body for an error message: escapes quotes, backslashes and controls. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int cmd_sync(int argc, char **argv, const struct agent_globals *g)
{
    bool once = false, json = false;
    long timeout_s = 0;
    static const struct option opts[] = {
        {"once", no_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': once = true; break;
        case 'j': json = true; break;
        case 't': {
            char *end;
            errno = 0;
            timeout_s = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || timeout_s < 1 ||
                timeout_s > SYNC_CMD_TIMEOUT_MAX_S) {
                fprintf(stderr, "rollcall-agent: sync: --timeout must be 1 to %d seconds\n",
                        SYNC_CMD_TIMEOUT_MAX_S);
                return EXIT_USAGE;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall-agent: sync: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }

    char err[ERR_LEN] = "";
    struct kiosk *k = NULL;
    int rc = sync_global_init(err);
    if (rc == RC_OK)
        rc = kiosk_open(g->config_path, KIOSK_OUTBOX | KIOSK_KEY, &k, err);
    if (rc != RC_OK) {
        fprintf(stderr, "rollcall-agent: %s\n", err);
        return EXIT_REFUSED;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    if (timeout_s > 0)
        alarm((unsigned)timeout_s);

    struct sync_options opt = {.gzip = true, .stop = &stop_flag};
    struct sync_result total = {0}, r;
    char last[ERR_LEN] = "";
    for (;;) {
        rc = sync_run_once(k, &opt, &r, err);
        total.accepted += r.accepted;
        total.duplicates += r.duplicates;
        total.batches += r.batches;
        total.ack_seq = r.ack_seq;
        total.pending = r.pending;
        if (rc == RC_OK || once || stop_flag)
            break;
        /* Local trouble (not enrolled, database, memory) does not heal by waiting. */
        if (rc != RC_NET && rc != RC_AUTH && rc != RC_INVAL && rc != RC_CONFLICT && rc != RC_LIMIT)
            break;
        snprintf(last, sizeof last, "%s", err);
        log_msg(LOG_LVL_INFO, "sync: %lld pending; retrying in %.1f s", (long long)r.pending,
                (double)r.retry_in_ms / 1000.0);
        sleep_ms(r.retry_in_ms);
        if (stop_flag)
            break;
    }
    /* The schedule comes after the batches, so it never delays an upload; a collector that
     * could not be reached for them is not asked again. */
    enum schedule_fetch_outcome sched = SCHEDULE_FETCH_FAILED;
    char sched_version[65] = "", sched_err[ERR_LEN] = "";
    bool sched_tried = !stop_flag && rc != RC_NET && rc != RC_TIMEOUT && rc != RC_STATE;
    if (sched_tried && schedule_fetch(k, &stop_flag, &sched, sched_version, sched_err) != RC_OK)
        log_msg(LOG_LVL_WARN, "sync: %s; the last schedule stays in force", sched_err);
    else if (!sched_tried)
        snprintf(sched_err, sizeof sched_err,
                 "not fetched: the upload did not reach the collector");
    /* Then the photos of acknowledged events: after the batches and the schedule, so they
     * never delay either; a failure here leaves them for the next sync. */
    struct photo_upload_result ph = {0};
    char photo_err[ERR_LEN] = "";
    bool photo_ok = false;
    if (sched_tried && !stop_flag) {
        if (photo_upload_pending(k, &stop_flag, &ph, photo_err) == RC_OK)
            photo_ok = true;
        else
            log_msg(LOG_LVL_WARN, "sync: photos: %s; they stay for the next sync", photo_err);
    }
    alarm(0);
    if (rc != RC_OK && timed_out) {
        if (!last[0])
            snprintf(last, sizeof last, "%s", err);
        snprintf(err, sizeof err, "gave up after %ld s; last failure: %.200s", timeout_s, last);
    } else if (rc == RC_TIMEOUT && stop_flag) {
        snprintf(err, sizeof err, "interrupted");
    }

    if (json) {
        printf("{\"accepted\":%lld,\"duplicates\":%lld,\"pending\":%lld,\"ack_seq\":%lld,"
               "\"batches\":%lld",
               (long long)total.accepted, (long long)total.duplicates, (long long)total.pending,
               (long long)total.ack_seq, (long long)total.batches);
        if (rc != RC_OK) {
            printf(",\"error\":");
            print_json_string(err);
        }
        printf(",\"schedule\":\"%s\",\"schedule_version\":", schedule_fetch_outcome_name(sched));
        if (sched_version[0])
            print_json_string(sched_version);
        else
            printf("null");
        if (sched == SCHEDULE_FETCH_FAILED) {
            printf(",\"schedule_error\":");
            print_json_string(sched_err);
        }
        printf(",\"photos_uploaded\":%lld", (long long)ph.uploaded);
        if (!photo_ok && photo_err[0]) {
            printf(",\"photos_error\":");
            print_json_string(photo_err);
        }
        printf("}\n");
    } else {
        printf("accepted %lld, duplicates %lld, pending %lld (acknowledged up to seq %lld)\n",
               (long long)total.accepted, (long long)total.duplicates, (long long)total.pending,
               (long long)total.ack_seq);
        if (sched == SCHEDULE_FETCH_FAILED)
            printf("schedule: not updated (%s)\n", sched_err);
        else
            printf("schedule: %s (version %.12s)\n", schedule_fetch_outcome_name(sched),
                   sched_version);
    }
    if (rc != RC_OK)
        fprintf(stderr, "rollcall-agent: sync: %s\n", err);
    kiosk_close(k);
    return rc == RC_OK ? 0 : EXIT_REFUSED;
}
